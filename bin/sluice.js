#!/usr/bin/env node
// Entry point for `npx sluice`: runs the bundled CLI (built by `npm run build`, which `npm ci` runs
// through `prepare`). It compiles the bundle with V8's code cache, kept in the user's cache folder
// and keyed by the bundle's size and time, so that repeated runs skip parsing and compiling it.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/cli/main.cjs', import.meta.url));
const stat = statSync(bundle);
const cacheDir = process.env.XDG_CACHE_HOME
  ? join(process.env.XDG_CACHE_HOME, 'sluice')
  : join(homedir() || tmpdir(), '.cache', 'sluice');
const cacheFile = join(cacheDir, `cli-${process.version}-${stat.size}-${Math.floor(stat.mtimeMs)}.v8`);

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const source = readFileSync(bundle, 'utf8');
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: bundle,
  cachedData,
});
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));

process.exitCode = await module.exports.main(process.argv.slice(2));

if (cachedData === undefined || script.cachedDataRejected) {
  // After the run, the cache also holds the functions this command compiled lazily.
  try {
    mkdirSync(cacheDir, { recursive: true });
    const temp = `${cacheFile}.${process.pid}`;
    writeFileSync(temp, script.createCachedData());
    renameSync(temp, cacheFile);
  } catch {
    // A cache we cannot write only costs speed.
  }
}
