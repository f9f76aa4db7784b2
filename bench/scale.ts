/**
 * How runs scale out over workers, and how fast a queued run starts.
 *
 * 1. Throughput: one `sluice serve --workers 0` on a fresh PostgreSQL database and 1, 2, then 3
 *    `sluice worker --concurrency 1` processes (all as real processes, the built CLI). Each round
 *    submits RUNS small runs (tap-csv -> target-duckdb, 50 rows, spread over workspaces and
 *    pipelines so none waits for another of its pipeline) and times the first submit to the last
 *    end: runs per minute, with the ratio to one worker.
 * 2. Latency: submit-to-start (a run's `startedAt - createdAt`) of runs submitted one at a time to
 *    an idle queue, on PostgreSQL with one worker against the embedded queue (SQLite, the server
 *    running the run itself): p50 and p99. Target: p99 <= 100 ms on the PostgreSQL queue.
 *
 * Run: `npm run build && node_modules/.bin/tsx bench/scale.ts` (PostgreSQL on
 * SLUICE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test; BENCH_RUNS, default 36;
 * BENCH_LATENCY_SAMPLES, default 40).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type ServerProcess, startServerProcess } from '../test/helpers/server-process.js';
import { api, git, withToken } from '../test/helpers/test-server.js';
import { startWorkerProcess, type WorkerProcess } from '../test/helpers/worker-process.js';

const ADMIN_URL = process.env.SLUICE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = Number(process.env.BENCH_RUNS ?? 36);
const SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 40);
const PAIRS = 6;
const WORKSPACES = Math.ceil(RUNS / PAIRS);
const ROWS = 50;
const adminToken = `bench-scale-${randomBytes(12).toString('hex')}`;
const secretKey = randomBytes(32).toString('hex');
const root = mkdtempSync(join(tmpdir(), 'sluice-bench-scale-'));

function project(): string {
  const pairs = Array.from({ length: PAIRS }, (_, i) => i + 1);
  const extractors = pairs.map(
    (n) =>
      `  - name: tap-csv-${n}\n    inherit_from: tap-csv\n    config:\n      files:\n      - entity: t${n}\n        path: data/${n}.csv\n        keys: [id]`,
  );
  const loaders = pairs.map(
    (n) =>
      `  - name: target-duckdb-${n}\n    inherit_from: target-duckdb\n    config:\n      filepath: output/${n}.duckdb`,
  );
  return `version: 1\ndefault_environment: dev\nplugins:\n  extractors:\n  - name: tap-csv\n${extractors.join('\n')}\n  loaders:\n  - name: target-duckdb\n${loaders.join('\n')}\nenvironments:\n- name: dev\n`;
}

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sluice_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Workspaces with the benchmark's project, created and pushed through `server`. */
async function workspaces(server: ServerProcess, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = (await api(server.url, adminToken, 'POST', '/workspaces', { name: `Bench ${i}` })).body;
    const clone = join(root, 'clones', created.id);
    await git(root, ['clone', '-q', withToken(created.repositoryUrl, adminToken), clone]);
    writeFileSync(join(clone, 'meltano.yml'), project());
    mkdirSync(join(clone, 'data'));
    for (let n = 1; n <= PAIRS; n++) {
      const rows = Array.from({ length: ROWS }, (_, r) => `${r + 1},row ${r + 1}`);
      writeFileSync(join(clone, 'data', `${n}.csv`), `id,name\n${rows.join('\n')}\n`);
    }
    await git(clone, ['add', '-A']);
    await git(clone, ['commit', '-qm', 'bench']);
    const pushed = await git(clone, ['push', '-q', 'origin', 'main']);
    if (pushed.code !== 0) throw new Error(pushed.stderr);
    ids.push(created.id);
  }
  return ids;
}

async function waitForEnd(server: ServerProcess, workspace: string, run: string) {
  for (;;) {
    const answer = await api(server.url, adminToken, 'GET', `/workspaces/${workspace}/runs/${run}`);
    if (['success', 'failed', 'cancelled'].includes(answer.body.status)) {
      if (answer.body.status !== 'success')
        throw new Error(`run ${run}: ${JSON.stringify(answer.body.error)}`);
      return answer.body;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function throughput(server: ServerProcess, ids: string[], runs = RUNS): Promise<number> {
  const begun = performance.now();
  const submitted: [string, string][] = [];
  for (let k = 0; k < runs; k++) {
    const workspace = ids[Math.floor(k / PAIRS)] as string;
    const n = (k % PAIRS) + 1;
    const answer = await api(server.url, adminToken, 'POST', `/workspaces/${workspace}/runs`, {
      blocks: [`tap-csv-${n}`, `target-duckdb-${n}`],
    });
    if (answer.status !== 201) throw new Error(JSON.stringify(answer.body));
    submitted.push([workspace, answer.body.id]);
  }
  for (const [workspace, run] of submitted) await waitForEnd(server, workspace, run);
  return (runs / (performance.now() - begun)) * 60_000;
}

async function latencies(server: ServerProcess, workspace: string): Promise<number[]> {
  const samples: number[] = [];
  for (let k = 0; k < SAMPLES + 3; k++) {
    const n = (k % PAIRS) + 1;
    const answer = await api(server.url, adminToken, 'POST', `/workspaces/${workspace}/runs`, {
      blocks: [`tap-csv-${n}`, `target-duckdb-${n}`],
    });
    const run = await waitForEnd(server, workspace, answer.body.id);
    // The first runs warm the worker's copies of the repository and folders.
    if (k >= 3) samples.push(Date.parse(run.startedAt) - Date.parse(run.createdAt));
  }
  return samples.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

const database = await createDatabase();
const workers: WorkerProcess[] = [];
const servers: ServerProcess[] = [];
try {
  const server = await startServerProcess({
    dataDir: join(root, 'server'),
    adminToken,
    databaseUrl: database.url,
    args: ['--workers', '0'],
    env: { SLUICE_SECRET_KEY: secretKey },
  });
  servers.push(server);
  const ids = await workspaces(server, WORKSPACES);
  const rates: number[] = [];
  for (let count = 1; count <= 3; count++) {
    while (workers.length < count) {
      workers.push(
        await startWorkerProcess({
          name: `bench-${workers.length + 1}`,
          dataDir: join(root, `worker-${workers.length + 1}`),
          databaseUrl: database.url,
          serverUrl: server.url,
          token: adminToken,
          secretKey,
          args: ['--concurrency', '1'],
        }),
      );
    }
    // A warm-up round per count: the new worker fetches the repositories and makes its folders.
    await throughput(server, ids, Math.min(RUNS, 12));
    rates.push(await throughput(server, ids));
  }
  for (const worker of workers.splice(1)) await worker.stop();
  const queued = await latencies(server, ids[0] as string);

  // The baseline for latency: the embedded queue (SQLite), the server running the run itself.
  const embedded = await startServerProcess({
    dataDir: join(root, 'embedded'),
    adminToken,
    args: ['--workers', '1'],
  });
  servers.push(embedded);
  const [local] = await workspaces(embedded, 1);
  const inProcess = await latencies(embedded, local as string);

  console.log(
    `\nRuns of tap-csv -> target-duckdb (${ROWS} rows), ${RUNS} per round, on ${cpus().length} cores`,
  );
  console.log('| workers (concurrency 1) | runs/min | ratio to 1 worker |');
  console.log('|---|---|---|');
  rates.forEach((rate, i) => {
    console.log(`| ${i + 1} | ${rate.toFixed(1)} | ${(rate / (rates[0] as number)).toFixed(2)}x |`);
  });
  console.log(`\nSubmit-to-start on an idle queue (${SAMPLES} runs, one at a time)`);
  console.log('| queue | p50 ms | p99 ms | p99 ratio to embedded |');
  console.log('|---|---|---|---|');
  const p99 = percentile(inProcess, 99);
  console.log(`| embedded (SQLite, in-process) | ${percentile(inProcess, 50)} | ${p99} | 1.00x |`);
  console.log(
    `| PostgreSQL (graphile-worker, sluice worker) | ${percentile(queued, 50)} | ${percentile(queued, 99)} | ${(percentile(queued, 99) / Math.max(p99, 1)).toFixed(2)}x |`,
  );
} finally {
  for (const worker of workers) await worker.stop().catch(() => undefined);
  for (const server of servers) await server.crash().catch(() => undefined);
  await database.drop();
  rmSync(root, { recursive: true, force: true });
}
