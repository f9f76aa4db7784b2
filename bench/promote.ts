/**
 * Times a promotion through Sluice (preview, then apply, over the REST API) against the same merge
 * done by hand with stock git over Sluice's smart HTTP (clone the target, pull the source with
 * `-X theirs`, push), both measured here, in this run, interleaved so that machine load affects
 * both alike. The source has 2,000 files and 1,000 commits (built with `git fast-import`) and has
 * been promoted once, so that both sides share history; each timed promotion carries a fresh
 * commit of the source that changes 50 files. Target: Sluice no slower than the manual way.
 * Run: `node_modules/.bin/tsx bench/promote.ts` (BENCH_RUNS rounds, default 5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitIdentityEnv, runGit } from '../src/git/run-git.js';
import { startServer } from '../src/server/serve.js';
import { syntheticText } from './synthetic-files.js';

const FILES = 2000;
const COMMITS = 1000;
const FILES_PER_COMMIT = 8;
const CHANGED_FILES = 50;
const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const WARMUP = 1;
const ADMIN_TOKEN = 'bench-admin-token-for-the-promotion-benchmark';
const IDENTITY = gitIdentityEnv('Bench', 'bench@example.com');

const work = mkdtempSync(join(tmpdir(), 'sluice-bench-promote-'));
const local = join(work, 'source.git');

const { next, line, fileText } = syntheticText(42);
const pathOf = (i: number) =>
  `transform/group-${String(i % 40).padStart(2, '0')}/model-${String(i).padStart(4, '0')}.sql`;
const contents = Array.from({ length: FILES }, fileText);
let commits = 0;

/**
 * Appends commits to `main` of the local bare repository with `git fast-import`: the first of a
 * fresh history adds every file, the others each change one line in `perCommit` files.
 */
async function appendCommits(count: number, perCommit: number, addAll: boolean): Promise<void> {
  const parts: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  for (let c = 0; c < count; c++) {
    commits++;
    const when = 1_700_000_000 + commits * 3600;
    parts.push('commit refs/heads/main\n');
    parts.push(
      `author Bench <bench@example.com> ${when} +0000\ncommitter Bench <bench@example.com> ${when} +0000\n`,
    );
    parts.push(data(`Commit ${commits}`));
    if (c === 0) parts.push('from refs/heads/main^0\n');
    const changed = new Set<number>();
    if (addAll && c === 0) for (let i = 0; i < FILES; i++) changed.add(i);
    else while (changed.size < perCommit) changed.add(next() % FILES);
    for (const i of changed) {
      if (!(addAll && c === 0)) {
        const lines = (contents[i] ?? '').split('\n');
        lines[next() % 40] = line();
        contents[i] = lines.join('\n');
      }
      parts.push(`M 100644 inline ${pathOf(i)}\n${data(contents[i] ?? '')}`);
    }
  }
  parts.push('done\n');
  await runGit(['fast-import', '--quiet', '--done'], { gitDir: local, input: parts.join('') });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const elapsed = async (work: () => Promise<unknown>) => {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(work, 'data'),
  adminToken: ADMIN_TOKEN,
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  // biome-ignore lint/suspicious/noExplicitAny: the bench reads answers field by field
  return answer as any;
}

const withToken = (repositoryUrl: string) => {
  const url = new URL(repositoryUrl);
  url.username = 'bench';
  url.password = ADMIN_TOKEN;
  return url.toString();
};

try {
  const target = await call('POST', '/workspaces', { name: 'Bench prod' });
  const source = await call('POST', '/workspaces', { name: 'Bench dev' });
  const sourceUrl = withToken(source.repositoryUrl);
  const targetUrl = withToken(target.repositoryUrl);

  const built = process.hrtime.bigint();
  await runGit(['clone', '--quiet', '--bare', sourceUrl, local]);
  await appendCommits(1, 0, true);
  await appendCommits(COMMITS - 1, FILES_PER_COMMIT, false);
  await runGit(['push', '--quiet', 'origin', 'main'], { gitDir: local });
  const buildMs = Number(process.hrtime.bigint() - built) / 1e6;

  /** Preview, then apply what the preview saw: what a person does through the API or the CLI. */
  const promote = async () => {
    const preview = await call('POST', `/workspaces/${target.id}/promotions`, {
      source: source.id,
      dryRun: true,
    });
    const applied = await call('POST', `/workspaces/${target.id}/promotions`, {
      source: source.id,
      expectedSourceCommit: preview.sourceCommit,
      expectedTargetCommit: preview.targetCommit,
    });
    return { files: preview.files.length as number, applied };
  };
  const first = process.hrtime.bigint();
  const shared = await promote();
  const firstMs = Number(process.hrtime.bigint() - first) / 1e6;

  /** The same by hand: a fresh clone of the target, `git pull -X theirs` of the source, push. */
  const byHand = async () => {
    const dir = join(work, `manual-${process.hrtime.bigint()}`);
    await runGit(['clone', '--quiet', targetUrl, dir]);
    await runGit(['remote', 'add', 'src', sourceUrl], { cwd: dir });
    await runGit(
      [
        'pull',
        '--quiet',
        '--no-rebase',
        '--no-edit',
        '-X',
        'theirs',
        '--allow-unrelated-histories',
        'src',
        'main',
      ],
      { cwd: dir, env: IDENTITY },
    );
    await runGit(['push', '--quiet', 'origin', 'main'], { cwd: dir });
    return dir;
  };
  /** A new commit of the source changing CHANGED_FILES files, pushed: the next promotion's work. */
  const change = async () => {
    await appendCommits(1, CHANGED_FILES, false);
    await runGit(['push', '--quiet', 'origin', 'main'], { gitDir: local });
  };

  const samples = { sluice: [] as number[], manual: [] as number[] };
  const changedFiles: number[] = [];
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    // Alternate which goes first, so that neither always runs on a warmer machine.
    const order = round % 2 ? (['manual', 'sluice'] as const) : (['sluice', 'manual'] as const);
    for (const way of order) {
      await change();
      let dir = '';
      let files = 0;
      const ms = await elapsed(async () => {
        if (way === 'sluice') files = (await promote()).files;
        else dir = await byHand();
      });
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (way === 'sluice') changedFiles.push(files);
      if (round >= WARMUP) samples[way].push(ms);
    }
  }

  const sluice = median(samples.sluice);
  const manual = median(samples.manual);
  console.log(
    `source: ${FILES} files, ${COMMITS} commits (built and pushed in ${(buildMs / 1000).toFixed(1)} s; first promotion, ${shared.files} files, ${firstMs.toFixed(0)} ms); each promotion: one new source commit changing ${CHANGED_FILES} files (previews listed ${Math.min(...changedFiles)}-${Math.max(...changedFiles)} files); ${ROUNDS} rounds after ${WARMUP} warm-up, interleaved, medians`,
  );
  console.log(
    '| promotion | manual: clone + pull -X theirs + push, ms | Sluice: preview + apply, ms | ratio |',
  );
  console.log('|---|---:|---:|---:|');
  console.log(
    `| ${CHANGED_FILES} changed files | ${manual.toFixed(0)} | ${sluice.toFixed(0)} | ${(sluice / manual).toFixed(2)}x |`,
  );
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
