export * from './collectors/collector';
export { COLLECTORS } from './collectors';
export * from './diag';
export { parseFlags } from './cli/flags';
export { CollectorRegistry } from './collectors/registry';
export { buildServer } from './http/server';
