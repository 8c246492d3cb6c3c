export * from './collector';
export { COLLECTORS } from './collectors';
export * from './diag';
export { parseFlags } from './flags';
export { CollectorRegistry } from './registry';
export { buildServer } from './server';
