/**
 * The layering of src/ as an import matrix (docs/architecture.md): each layer may import only the
 * layers listed for it. Static imports, type-only imports (tsPreCompilationDeps) and dynamic
 * import() all count, and no module may be part of an import cycle. `npm run lint` runs it.
 *
 *   core     → (node built-ins only)
 *   wire     → packages
 *   kube     → core, packages
 *   stores   → core, kube, packages
 *   sidecar-client → core, wire, packages
 *   rotation-engine → core, stores, kube, sidecar-client, wire, packages
 *   sentry   → core, stores, kube, sidecar-client, wire, rotation-engine (auto-renew runs the one engine), packages
 *   fleet    → core, stores, kube, rotation-engine, packages
 *   monitor  → core, fleet, sentry (its bounded HTTP listener), packages
 *   cli      → everything
 */
const LAYERS = {
  core: [],
  wire: [],
  kube: ['core'],
  stores: ['core', 'kube'],
  'sidecar-client': ['core', 'wire'],
  'rotation-engine': ['core', 'stores', 'kube', 'sidecar-client', 'wire'],
  sentry: ['core', 'stores', 'kube', 'sidecar-client', 'wire', 'rotation-engine'],
  fleet: ['core', 'stores', 'kube', 'rotation-engine'],
  monitor: ['core', 'fleet', 'sentry'],
};

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may import only ${allowed.length === 0 ? 'itself' : `itself and ${allowed.join(', ')}`} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: '^src/', pathNot: [`^src/${layer}/`, ...allowed.map((l) => `^src/${l}/`)] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'core-node-builtins-only',
      comment: 'src/core uses node built-ins only: no packages (design §2)',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'monitor-page-self-contained',
      comment: 'src/monitor/page is one self-contained HTML document: core (WardenError) and itself only, no packages',
      severity: 'error',
      from: { path: '^src/monitor/page/' },
      to: { pathNot: ['^src/monitor/page/', '^src/core/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'sign-thread-without-grpc',
      comment: 'each signing thread loads what it imports into its own heap: @grpc/grpc-js costs ~5 MiB resident per thread (src/sentry/sign-status.ts)',
      severity: 'error',
      from: { path: '^src/sentry/sign-thread\\.ts$' },
      to: { path: '@grpc/grpc-js', reachable: true },
    },
    {
      name: 'no-circular',
      comment: 'import cycles (type-only and dynamic ones too) make the layers meaningless',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
