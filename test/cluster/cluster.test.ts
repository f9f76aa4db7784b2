import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDuckdb } from '../helpers/duckdb.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { api, createTestDatabase, git, storeKinds, withToken } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const SLOW_TAP = fileURLToPath(new URL('../fixtures/slow-tap/slow-tap', import.meta.url));
/** Pipelines per workspace: each pair has its own state and DuckDB file, so all can run at once. */
const PAIRS = 6;
const WORKSPACES = 10;
const ROWS = 25;
/** The lease the cluster runs with (SLUICE_WORKER_LEASE_SECONDS), short so the test is. */
const LEASE_SECONDS = 5;

function project(): string {
  const pairs = Array.from({ length: PAIRS }, (_, i) => i + 1);
  return `version: 1
default_environment: dev
plugins:
  extractors:
  - name: tap-csv
${pairs
  .map(
    (n) => `  - name: tap-csv-${n}
    inherit_from: tap-csv
    config:
      files:
      - entity: t${n}
        path: data/${n}.csv
        keys: [id]`,
  )
  .join('\n')}
  - name: slow-tap
    namespace: slow_tap
    capabilities: [catalog, discover, state]
    executable: ${SLOW_TAP}
    config:
      count: 60
      delay: 0.1
  loaders:
  - name: target-duckdb
${pairs
  .map(
    (n) => `  - name: target-duckdb-${n}
    inherit_from: target-duckdb
    config:
      filepath: output/${n}.duckdb`,
  )
  .join('\n')}
  - name: target-duckdb-slow
    inherit_from: target-duckdb
    config:
      filepath: output/slow.duckdb
      batch_size_rows: 5
environments:
- name: dev
- name: prod
`;
}

const clustered = (await storeKinds()).includes('postgres');

describe.runIf(clustered)('a cluster: two servers (--workers 0) and three workers on one PostgreSQL', () => {
  const adminToken = `cluster-admin-${randomBytes(12).toString('hex')}`;
  const secretKey = randomBytes(32).toString('hex');
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let root: string;
  let reposDir: string;
  const servers: ServerProcess[] = [];
  const workers: WorkerProcess[] = [];
  const workspaces: { id: string; name: string; environment: string; repositoryUrl: string }[] = [];

  const call = (server: ServerProcess, method: string, path: string, body?: unknown) =>
    api(server.url, adminToken, method, path, body);
  const serverA = () => servers[0] as ServerProcess;
  const serverB = () => servers[1] as ServerProcess;
  const ended = (server: ServerProcess, workspace: string, run: string, ms = 120_000) =>
    until(
      `run ${run} to end`,
      async () => {
        const answer = await call(server, 'GET', `/workspaces/${workspace}/runs/${run}`);
        return ['success', 'failed', 'cancelled'].includes(answer.body?.status) ? answer.body : undefined;
      },
      ms,
    );

  async function startWorker(name: string, args: string[] = []): Promise<WorkerProcess> {
    const worker = await startWorkerProcess({
      name,
      dataDir: join(root, name),
      databaseUrl: database.url,
      serverUrl: serverA().url,
      token: adminToken,
      secretKey,
      args: ['--concurrency', '2', ...args],
      env: { SLUICE_WORKER_LEASE_SECONDS: String(LEASE_SECONDS) },
    });
    workers.push(worker);
    return worker;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    root = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
    reposDir = join(root, 'shared-repos');
    mkdirSync(reposDir);
    for (const name of ['server-a', 'server-b']) {
      servers.push(
        await startServerProcess({
          dataDir: join(root, name),
          adminToken,
          databaseUrl: database.url,
          args: ['--workers', '0', '--repos-dir', reposDir],
          env: { SLUICE_SECRET_KEY: secretKey, SLUICE_WORKER_LEASE_SECONDS: String(LEASE_SECONDS) },
        }),
      );
    }
    // Workspaces are created half through each server, into the one shared repository folder.
    for (let i = 0; i < WORKSPACES; i++) {
      const server = servers[i % 2] as ServerProcess;
      const created = await call(server, 'POST', '/workspaces', { name: `Cluster ${i}` });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const environment = i < 3 ? 'prod' : 'dev';
      if (environment === 'prod') {
        const patched = await call(server, 'PATCH', `/workspaces/${created.body.id}`, {
          activeEnvironment: 'prod',
        });
        expect(patched.status).toBe(200);
      }
      workspaces.push({ ...created.body, environment });
      const clone = join(root, 'clones', created.body.id);
      const cloned = await git(root, [
        'clone',
        '-q',
        withToken(created.body.repositoryUrl, adminToken),
        clone,
      ]);
      expect(cloned.code, cloned.stderr).toBe(0);
      writeFileSync(join(clone, 'meltano.yml'), project());
      mkdirSync(join(clone, 'data'));
      for (let n = 1; n <= PAIRS; n++) {
        const rows = Array.from({ length: ROWS }, (_, r) => `${r + 1},w${i}-t${n}-r${r + 1}`);
        writeFileSync(join(clone, 'data', `${n}.csv`), `id,name\n${rows.join('\n')}\n`);
      }
      expect((await git(clone, ['add', '-A'])).code).toBe(0);
      expect((await git(clone, ['commit', '-qm', 'The pipelines'])).code).toBe(0);
      const pushed = await git(clone, ['push', '-q', 'origin', 'main']);
      expect(pushed.code, pushed.stderr).toBe(0);
    }
    await startWorker('worker-1');
    await startWorker('worker-2');
    await startWorker('worker-prod', ['--environments', 'prod']);
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers) await worker.stop().catch(() => undefined);
    for (const server of servers) await server.crash().catch(() => undefined);
    await database?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('runs 60 runs submitted half to each server exactly once, logs alike from either server, rows once', async () => {
    const submitted: { workspace: string; run: string; pair: number; environment: string }[] = [];
    let i = 0;
    for (const workspace of workspaces) {
      for (let n = 1; n <= PAIRS; n++) {
        const server = servers[i++ % 2] as ServerProcess;
        const answer = await call(server, 'POST', `/workspaces/${workspace.id}/runs`, {
          blocks: [`tap-csv-${n}`, `target-duckdb-${n}`],
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        submitted.push({
          workspace: workspace.id,
          run: answer.body.id,
          pair: n,
          environment: workspace.environment,
        });
      }
    }
    expect(submitted).toHaveLength(60);
    const runs = [];
    for (const s of submitted) runs.push(await ended(serverB(), s.workspace, s.run));
    for (const run of runs) {
      expect(run.status, JSON.stringify(run.error)).toBe('success');
      expect(run.attempt).toBe(1);
    }
    // Every run on one of the workers; the prod-only worker took prod runs only.
    const byId = new Map(workers.map((w) => [w.id, w]));
    for (const [k, run] of runs.entries()) {
      const worker = byId.get(run.workerId);
      expect(worker, `run ${run.id}`).toBeDefined();
      if (worker?.name === 'worker-prod') expect(submitted[k]?.environment).toBe('prod');
    }
    expect(new Set(runs.map((r) => r.workerId)).size).toBeGreaterThan(1);
    // Each workspace lists its 6 runs, the same on both servers.
    for (const workspace of workspaces) {
      const [a, b] = await Promise.all(
        servers.map((s) => call(s, 'GET', `/workspaces/${workspace.id}/runs?limit=100`)),
      );
      expect(a?.body.items.map((r: { id: string }) => r.id).sort()).toEqual(
        b?.body.items.map((r: { id: string }) => r.id).sort(),
      );
      expect(a?.body.items).toHaveLength(PAIRS);
    }
    // A run's log reads the same from either server.
    for (const s of submitted) {
      const [a, b] = await Promise.all(
        servers.map((server) =>
          fetch(`${server.url}/api/v1/workspaces/${s.workspace}/runs/${s.run}/log`, {
            headers: { authorization: `Bearer ${adminToken}` },
          }).then((r) => r.text()),
        ),
      );
      expect(a).toContain(`t${s.pair}: ${ROWS} records`);
      expect(b).toBe(a);
    }
    // Each table holds each row once, in the folder of the one worker that ran it.
    for (const [k, s] of submitted.entries()) {
      const worker = byId.get(runs[k].workerId) as WorkerProcess;
      const file = join(root, worker.name, 'work', s.workspace, 'output', `${s.pair}.duckdb`);
      expect(existsSync(file), file).toBe(true);
      const [count] = await queryDuckdb(
        file,
        `SELECT count(*) AS n, count(DISTINCT id) AS d FROM t${s.pair}`,
      );
      expect(count).toEqual({ n: String(ROWS), d: String(ROWS) });
    }
  }, 240_000);

  it('a prod-only worker never takes a dev run, with both kinds queued', async () => {
    // Both kinds wait together: the other workers are stopped until both are queued.
    const [w1, w2] = workers as [WorkerProcess, WorkerProcess];
    await Promise.all([w1.stop(), w2.stop()]);
    const dev = workspaces.find((w) => w.environment === 'dev') as (typeof workspaces)[number];
    const prod = workspaces.find((w) => w.environment === 'prod') as (typeof workspaces)[number];
    const devRun = (
      await call(serverA(), 'POST', `/workspaces/${dev.id}/runs`, {
        blocks: ['tap-csv-1', 'target-duckdb-1'],
      })
    ).body;
    const prodRun = (
      await call(serverB(), 'POST', `/workspaces/${prod.id}/runs`, {
        blocks: ['tap-csv-1', 'target-duckdb-1'],
      })
    ).body;
    const prodDone = await ended(serverA(), prod.id, prodRun.id);
    expect(prodDone.status).toBe('success');
    expect(prodDone.workerId).toBe(workers[2]?.id);
    // The dev run waited the whole time, untouched by the prod worker.
    const devNow = (await call(serverA(), 'GET', `/workspaces/${dev.id}/runs/${devRun.id}`)).body;
    expect(devNow.status).toBe('queued');
    expect(devNow.workerId).toBeNull();
    const listed = (await call(serverA(), 'GET', '/workers')).body.items;
    expect(listed.map((w: { name: string }) => w.name)).toEqual(['worker-prod']);
    expect(listed[0].labels).toEqual({ environments: ['prod'], workspaces: null });
    // A worker that takes dev runs starts it (two, so that one can be lost below).
    await Promise.all([startWorker('worker-3'), startWorker('worker-4')]);
    expect((await ended(serverB(), dev.id, devRun.id)).status).toBe('success');
  }, 120_000);

  it('SIGKILL of a worker mid-run: its run is retried within the lease and resumes from the saved state', async () => {
    const workspace = workspaces[5] as (typeof workspaces)[number];
    const started = await call(serverA(), 'POST', `/workspaces/${workspace.id}/runs`, {
      blocks: ['slow-tap', 'target-duckdb-slow'],
      maxRetries: 1,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const runId = started.body.id;
    // Followed live from the other server: the worker's log lines and progress reach it as they come.
    const stream = await fetch(`${serverB().url}/api/v1/workspaces/${workspace.id}/runs/${runId}/log`, {
      headers: { authorization: `Bearer ${adminToken}`, accept: 'text/event-stream' },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let events = '';
    await until('a progress line in the event stream', async () => {
      const { value } = await reader.read();
      events += new TextDecoder().decode(value);
      return /target-duckdb-slow: \d+ records so far \(numbers \d+\), \d+ rows\/s/.test(events)
        ? true
        : undefined;
    });
    await reader.cancel();
    expect(events).toContain('event: line');
    // Running, with some state saved: the loader has confirmed a few rows.
    const holder = await until(
      'the run to save state',
      async () => {
        const run = (await call(serverB(), 'GET', `/workspaces/${workspace.id}/runs/${runId}`)).body;
        const states = (await call(serverB(), 'GET', `/workspaces/${workspace.id}/state`)).body;
        const saved = states.items.some((e: { stateId: string }) => e.stateId.includes('slow-tap'));
        return run.status === 'running' && saved && run.recordsByStream.numbers > 0
          ? run.workerId
          : undefined;
      },
      60_000,
    );
    const victim = workers.find((w) => w.id === holder) as WorkerProcess;
    await victim.crash();
    const killedAt = Date.now();
    const retried = await until(
      'the run to be taken over',
      async () => {
        const run = (await call(serverB(), 'GET', `/workspaces/${workspace.id}/runs/${runId}`)).body;
        return run.attempt === 2 ? run : undefined;
      },
      60_000,
    );
    // Settled within the lease and the look-ups that notice it (a third of a lease apart).
    expect(Date.now() - killedAt).toBeLessThan((LEASE_SECONDS * 2 + 5) * 1000);
    expect(retried.workerId).not.toBe(holder);
    const done = await ended(serverA(), workspace.id, runId);
    expect(done.status, JSON.stringify(done.error)).toBe('success');
    const log = await fetch(`${serverB().url}/api/v1/workspaces/${workspace.id}/runs/${runId}/log`, {
      headers: { authorization: `Bearer ${adminToken}` },
    }).then((r) => r.text());
    expect(log).toContain('stopped sending heartbeats');
    // The second attempt started after the last saved id, not from the beginning.
    const resumedAfter = [...log.matchAll(/slow-tap starting after id (\d+)/g)].map((m) => Number(m[1]));
    expect(resumedAfter[0]).toBe(0);
    expect(resumedAfter.at(-1)).toBeGreaterThan(0);
    // The rows of the second attempt landed once, in the new worker's folder.
    const worker = workers.find((w) => w.id === done.workerId) as WorkerProcess;
    const file = join(root, worker.name, 'work', workspace.id, 'output', 'slow.duckdb');
    const [rows] = await queryDuckdb(file, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM numbers');
    expect(rows?.n).toBe(rows?.d);
    const gone = (await call(serverA(), 'GET', '/workers')).body.items.map((w: { id: string }) => w.id);
    expect(gone).not.toContain(holder);
  }, 120_000);

  it('SIGKILL of one server: the other serves the API, Git and runs, and no run fails because of it', async () => {
    const before = new Map<string, string>();
    for (const workspace of workspaces) {
      for (const run of (await call(serverA(), 'GET', `/workspaces/${workspace.id}/runs?limit=100`)).body
        .items)
        before.set(run.id, run.status);
    }
    await serverB().crash();
    const workspace = workspaces[7] as (typeof workspaces)[number];
    expect((await call(serverA(), 'GET', `/workspaces/${workspace.id}`)).status).toBe(200);
    // Its URL names server B, which created it: a load balancer's would name both.
    const url = workspace.repositoryUrl.replace(serverB().url, serverA().url);
    const cloned = await git(root, ['clone', '-q', withToken(url, adminToken), join(root, 'after-kill')]);
    expect(cloned.code, cloned.stderr).toBe(0);
    const run = await call(serverA(), 'POST', `/workspaces/${workspace.id}/runs`, {
      blocks: ['tap-csv-2', 'target-duckdb-2'],
    });
    expect(run.status).toBe(201);
    expect((await ended(serverA(), workspace.id, run.body.id)).status).toBe('success');
    // Past a lease: nothing that was settled changed, nothing failed.
    await new Promise((resolve) => setTimeout(resolve, LEASE_SECONDS * 1000 + 500));
    for (const workspace of workspaces) {
      for (const r of (await call(serverA(), 'GET', `/workspaces/${workspace.id}/runs?limit=100`)).body
        .items) {
        expect(r.status, `run ${r.id}`).not.toBe('failed');
        if (before.has(r.id)) expect(r.status).toBe(before.get(r.id));
      }
    }
  }, 120_000);
});
