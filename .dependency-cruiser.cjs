/**
 * The dependency rules of src/ (docs/architecture.md), checked by `npm run lint`:
 * no import cycles (type-only imports included), and the library never imports the CLI layer.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Nothing in src/ takes part in an import cycle, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'library-below-cli',
      severity: 'error',
      comment: 'The library (src/ minus src/cli.ts and src/commands/) never imports the CLI layer.',
      from: { path: '^src/', pathNot: '^src/(cli\\.ts|commands/)' },
      to: { path: '^src/(cli\\.ts|commands/)' },
    },
    {
      name: 'commands-do-not-import-commands',
      severity: 'error',
      comment:
        'A command is a thin layer over the library; what commands share lives in src/commands/context.ts, rules.ts or the library.',
      from: { path: '^src/commands/(?!(context|rules)\\.ts)' },
      to: { path: '^src/commands/(?!(context|rules)\\.ts)' },
    },
    {
      name: 'workers-do-not-import-their-pool',
      severity: 'error',
      comment: 'A worker-thread entry point imports only what it runs, never the module that spawns it.',
      from: { path: '(^|/)worker\\.ts$' },
      to: { path: '(^|/)pool\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js'],
    },
  },
};
