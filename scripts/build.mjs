// Builds the CLI into one CommonJS file (dist/cli/main.cjs), and beside it the entry of the
// server's project worker threads (dist/cli/project-worker.cjs). One file starts faster than a tree
// of modules, and bin/sluice.js can keep V8's compiled code for it between runs (see there): the
// CLI starts on every invocation, so start-up time is most of what a user waits for.
import { build } from 'esbuild';

const bundle = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  // Loaded lazily from node_modules: `yaml` only to locate an error or edit, the server's packages
  // only by `sluice serve`. Keeping them out of the bundle keeps the start-up path short.
  external: [
    'yaml',
    'fastify',
    '@fastify/swagger',
    'ajv',
    'kysely',
    'better-sqlite3',
    'pg',
    'graphile-worker',
    '@duckdb/node-api',
  ],
  define: { 'import.meta.url': '__sluiceModuleUrl' },
  banner: { js: "const __sluiceModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};
await build({ ...bundle, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli/main.cjs' });
// The entry of the server's project worker threads (src/workspaces/project-workers.ts starts them
// from the file beside the CLI's bundle).
await build({
  ...bundle,
  entryPoints: ['src/workspaces/project-worker.ts'],
  outfile: 'dist/cli/project-worker.cjs',
});

// The web UI (web/, React + Vite) into dist/web, which `sluice serve` serves at `/`.
const { build: viteBuild } = await import('vite');
await viteBuild({ configFile: new URL('../web/vite.config.ts', import.meta.url).pathname });
