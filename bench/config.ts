/**
 * Times `sluice config print` on the largest corpus project against a bare `node -e ''` start,
 * both measured here, in this run, interleaved so that machine load affects both alike.
 * Target: the ratio of medians under 2x. Run: `npm run bench:config` (after `npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProject } from '../src/project/load.js';
import { folderSource } from '../src/project/project-source.js';

const CORPUS = fileURLToPath(new URL('../../shared/meltano-corpus/', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/sluice.js', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 25);

const projects = readdirSync(CORPUS)
  .filter((d) => statSync(join(CORPUS, d)).isDirectory())
  .map((d) => {
    const project = loadProject(folderSource(join(CORPUS, d)));
    const bytes = project.files.reduce((sum, f) => sum + statSync(join(CORPUS, d, f)).size, 0);
    return { name: d, project, bytes };
  })
  .sort((a, b) => b.bytes - a.bytes);
const largest = projects[0];
if (!largest) throw new Error(`no corpus projects in ${CORPUS}`);
const plugin = [...largest.project.plugins].sort(
  (a, b) => Object.keys(b.config).length - Object.keys(a.config).length,
)[0];
const environment = largest.project.environments[0]?.name;
if (!plugin) throw new Error('the largest project has no plugins');

const sluiceArgs = [
  BIN,
  'config',
  'print',
  plugin.name,
  '--plugin-type',
  plugin.type,
  '--project-root',
  join(CORPUS, largest.name),
];
if (environment) sluiceArgs.push('--environment', environment);
const commands = {
  "node -e ''": [process.execPath, '-e', ''],
  'sluice config print': [process.execPath, ...sluiceArgs],
} as const;

function timeOnce(argv: readonly string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
  return ms;
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (let i = 0; i < RUNS + 3; i++) {
  for (const [name, argv] of Object.entries(commands)) {
    const ms = timeOnce(argv);
    if (i >= 3) samples[name]?.push(ms); // the first runs warm the file cache
  }
}

const stat = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { min: sorted[0] ?? 0, median: at(0.5), p90: at(0.9) };
};
const baseline = stat(samples["node -e ''"] ?? []).median;
console.log(
  `project: ${largest.name} (${largest.project.files.length} files, ${largest.bytes} bytes); plugin: ${plugin.type}/${plugin.name}; environment: ${environment ?? 'none'}; ${RUNS} runs each`,
);
console.log('| command | min ms | median ms | p90 ms | ratio (median) |');
console.log('|---|---:|---:|---:|---:|');
for (const name of Object.keys(commands)) {
  const s = stat(samples[name] ?? []);
  console.log(
    `| ${name} | ${s.min.toFixed(1)} | ${s.median.toFixed(1)} | ${s.p90.toFixed(1)} | ${(s.median / baseline).toFixed(2)}x |`,
  );
}
