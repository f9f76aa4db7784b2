// Builds the CLI into one ES module (dist/cli/main.js): a single file starts faster than a tree
// of modules, which matters for a command people run many times a minute.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli/main.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // `yaml` is loaded lazily (only to locate an error); keep it out of the start-up path.
  external: ['yaml'],
  banner: { js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);" },
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
