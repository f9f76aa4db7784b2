/**
 * Times `git clone` over Sluice's smart HTTP (`serveGitHttp` behind a plain node:http server on a
 * loopback port) against `git clone --no-local` of the same bare repository on disk, both measured
 * here, in this run, interleaved so that machine load affects both alike. The repository has
 * 2,000 files and 500 commits, built with `git fast-import`. Target: HTTP within 1.5x of the local
 * clone (DESIGN.md measured ~1.1x). Run: `node_modules/.bin/tsx bench/git.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBareRepository } from '../src/git/bare-repository.js';
import { runGit } from '../src/git/run-git.js';
import { isGitHttpPath, serveGitHttp } from '../src/server/git-http.js';
import { syntheticText } from './synthetic-files.js';

const FILES = 2000;
const COMMITS = 500;
const FILES_PER_COMMIT = 8;
const ROUNDS = Number(process.env.BENCH_RUNS ?? 7);
const WARMUP = 1;

const work = mkdtempSync(join(tmpdir(), 'sluice-bench-git-'));
const repo = join(work, 'bench.git');

const { next, line, fileText } = syntheticText(42);
const pathOf = (i: number) =>
  `conf/group-${String(i % 40).padStart(2, '0')}/file-${String(i).padStart(4, '0')}.yml`;

async function buildRepository(): Promise<{ bytes: number }> {
  await initBareRepository(repo);
  const parts: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const contents = Array.from({ length: FILES }, fileText);
  for (let c = 1; c <= COMMITS; c++) {
    const when = 1_700_000_000 + c * 3600;
    parts.push(`commit refs/heads/main\nmark :${c}\n`);
    parts.push(
      `author Bench <bench@example.com> ${when} +0000\ncommitter Bench <bench@example.com> ${when} +0000\n`,
    );
    parts.push(data(`Commit ${c}`));
    if (c > 1) parts.push(`from :${c - 1}\n`);
    const changed =
      c === 1 ? contents.map((_, i) => i) : Array.from({ length: FILES_PER_COMMIT }, () => next() % FILES);
    for (const i of changed) {
      if (c > 1) {
        const lines = (contents[i] ?? '').split('\n');
        lines[next() % 40] = line();
        contents[i] = lines.join('\n');
      }
      parts.push(`M 100644 inline ${pathOf(i)}\n${data(contents[i] ?? '')}`);
    }
  }
  parts.push('done\n');
  await runGit(['fast-import', '--quiet', '--done'], { gitDir: repo, input: parts.join('') });
  await runGit(['repack', '-a', '-d', '-f', '-q'], { gitDir: repo });
  const count = (await runGit(['count-objects', '-v'], { gitDir: repo })).toString('utf8');
  const kib = Number(/size-pack: (\d+)/.exec(count)?.[1] ?? 0);
  return { bytes: kib * 1024 };
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const match = /^\/git\/([a-z-]+\.git)(\/.*)$/.exec(url.pathname);
  if (!match?.[1] || !match[2] || !isGitHttpPath(match[2])) {
    response.writeHead(404).end();
    return;
  }
  void serveGitHttp(
    {
      method: request.method ?? 'GET',
      repoDir: join(work, match[1]),
      pathInfo: match[2],
      query: url.search.slice(1),
      headers: request.headers,
      body: request,
      remoteUser: 'bench',
      remoteAddr: request.socket.remoteAddress,
    },
    response,
  );
});

async function timeClone(source: string, extra: readonly string[]): Promise<number> {
  const target = join(work, `clone-${process.hrtime.bigint()}`);
  const start = process.hrtime.bigint();
  await runGit(['-c', 'protocol.version=2', 'clone', '--quiet', ...extra, source, target]);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(target, { recursive: true, force: true });
  return ms;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

try {
  const built = process.hrtime.bigint();
  const { bytes } = await buildRepository();
  const buildMs = Number(process.hrtime.bigint() - built) / 1e6;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const httpUrl = `http://127.0.0.1:${port}/git/bench.git`;

  const variants = [
    { name: 'clone (with checkout)', extra: [] },
    { name: 'clone --bare (transfer only)', extra: ['--bare'] },
  ] as const;
  const samples = variants.map(() => ({ local: [] as number[], http: [] as number[] }));
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    for (const [v, variant] of variants.entries()) {
      const local = await timeClone(repo, ['--no-local', ...variant.extra]);
      const http = await timeClone(httpUrl, variant.extra);
      if (round >= WARMUP) {
        samples[v]?.local.push(local);
        samples[v]?.http.push(http);
      }
    }
  }

  console.log(
    `repository: ${FILES} files, ${COMMITS} commits, pack ${(bytes / 1024 / 1024).toFixed(1)} MiB (built in ${(buildMs / 1000).toFixed(1)} s); ${ROUNDS} rounds, interleaved, medians`,
  );
  console.log('| clone | `--no-local` from disk, ms | HTTP via serveGitHttp, ms | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const [v, variant] of variants.entries()) {
    const local = median(samples[v]?.local ?? []);
    const http = median(samples[v]?.http ?? []);
    console.log(
      `| ${variant.name} | ${local.toFixed(0)} | ${http.toFixed(0)} | ${(http / local).toFixed(2)}x |`,
    );
  }
} finally {
  server.closeAllConnections();
  server.close();
  rmSync(work, { recursive: true, force: true });
}
