// The layering of src/, checked by `npm run lint`. The data flows one way:
//
//   diag, procfs, owners, errors  (the kernel's facts: dumps, procfs, cgroups)
//     -> scan             (aggregating one dump of the table)
//     -> closed           (closed connections: destroy events, added up)
//     -> incidents        (what the aggregates mean)
//     -> collectors       (metric families, scrape sources, registry)
//     -> netns            (the other network namespaces, through the collectors)
//     -> http             (exposition, the server)
//     -> cli              (flags, wiring, the commands)
//
// A folder may import from its own layer and the ones above it in this
// list, never from below, and nothing may form a cycle (type-only imports
// included: they are the seams a later change would turn into calls).
const LAYERS = [
  'diag|procfs|owners|errors',
  'scan',
  'closed',
  'incidents',
  'collectors',
  'netns',
  'http',
  'cli',
];

const layerRules = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `layer-${layer.split('|')[0]}`,
  comment: `src/${layer} must not depend on a layer that builds on it`,
  severity: 'error',
  from: { path: `^src/(${layer})(/|\\.ts$)` },
  to: { path: `^src/(${LAYERS.slice(index + 1).join('|')})(/|\\.ts$)` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No cycles between modules.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-from-src',
      severity: 'error',
      comment: 'Production code never imports tests or benchmarks.',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-mixin-from-src',
      severity: 'error',
      comment:
        'The exporter never imports the monitoring mixin (dashboards and rules are build products).',
      from: { path: '^src/' },
      to: { path: '^grafana/' },
    },
    {
      name: 'mixin-reads-definitions-only',
      severity: 'error',
      comment:
        'grafana/mixin takes the incident definitions and thresholds from src/, nothing that loads the addon or reads the kernel.',
      from: { path: '^grafana/mixin/' },
      to: { path: '^src/', pathNot: '^src/incidents/(definitions|thresholds|types)\\.ts$' },
    },
    {
      name: 'no-deploy-from-src',
      severity: 'error',
      comment: 'The exporter never imports the Kubernetes manifests generator.',
      from: { path: '^(src|grafana)/' },
      to: { path: '^deploy/' },
    },
    {
      name: 'k8s-reads-mixin-only',
      severity: 'error',
      comment:
        'deploy/kubernetes takes the rules from the mixin (grafana/mixin), nothing from src/: the unit test ties the manifests to the exporter.',
      from: { path: '^deploy/kubernetes/' },
      to: { path: '^(src|test|bench|scripts)/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
