import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/serve.js';
import { testSandboxSettings } from '../helpers/sandbox.js';
import { api, createTestDatabase, git, issueToken, storeKinds, withToken } from '../helpers/test-server.js';

const clustered = (await storeKinds()).includes('postgres');

const PROJECT = `version: 1
default_environment: dev
plugins:
  extractors:
  - name: tap-csv
    config:
      files:
      - entity: people
        path: data/people.csv
        keys: [id]
  loaders:
  - name: target-jsonl
schedules:
- name: every-minute
  interval: '* * * * *'
  extractor: tap-csv
  loader: target-jsonl
environments:
- name: dev
- name: prod
`;

interface Scheduler {
  tick(now: Date): Promise<void>;
}

/**
 * Two `sluice serve` replicas in this process, on one PostgreSQL database and one repository
 * folder, neither running pipelines: what must be single (schedules, promotions into one
 * workspace) is decided in the database.
 */
describe.runIf(clustered)('two servers on one PostgreSQL and one repository folder', () => {
  const adminToken = `two-servers-${randomBytes(12).toString('hex')}`;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let root: string;
  const servers: RunningServer[] = [];
  let clones = 0;

  const call = (server: RunningServer, method: string, path: string, body?: unknown) =>
    api(server.url, adminToken, method, path, body);
  const [a, b] = [() => servers[0] as RunningServer, () => servers[1] as RunningServer];

  /** Commits `files` on top of the workspace's main (through server `via`) and pushes them. */
  async function push(via: RunningServer, repositoryName: string, files: Record<string, string>) {
    const dir = join(root, `clone-${++clones}`);
    const url = withToken(`${via.url}/git/${repositoryName}.git`, adminToken);
    expect((await git(root, ['clone', '-q', url, dir])).code).toBe(0);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '-qm', 'change']);
    const pushed = await git(dir, ['push', '-q', 'origin', 'main']);
    expect(pushed.code, pushed.stderr).toBe(0);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    root = mkdtempSync(join(tmpdir(), 'sluice-two-servers-'));
    const sandbox = await testSandboxSettings();
    for (const name of ['a', 'b']) {
      servers.push(
        await startServer({
          host: '127.0.0.1',
          port: 0,
          dataDir: join(root, name),
          reposDir: join(root, 'repos'),
          databaseUrl: database.url,
          adminToken,
          secretKey: '11'.repeat(32),
          schedulerTickMs: 24 * 3600 * 1000,
          sandbox,
          workers: 0,
        }),
      );
    }
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await database?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('fires a schedule once per minute over three minutes, however many servers tick', async () => {
    const workspace = (await call(a(), 'POST', '/workspaces', { name: 'Scheduled' })).body;
    expect(
      (await call(b(), 'PATCH', `/workspaces/${workspace.id}`, { activeEnvironment: 'prod' })).status,
    ).toBe(200);
    await push(b(), workspace.repositoryName, {
      'meltano.yml': PROJECT,
      'data/people.csv': 'id,name\n1,Ada\n',
    });
    const tickers = servers.map((s) => (s.app as unknown as { scheduler: Scheduler }).scheduler);
    const scheduled = async () =>
      (await call(a(), 'GET', `/workspaces/${workspace.id}/runs?limit=100`)).body.items.filter(
        (r: { trigger: string }) => r.trigger === 'schedule',
      );
    // Both servers tick at the same moments, twice a minute, for three simulated minutes.
    const start = Date.parse('2031-05-01T09:00:10Z');
    await Promise.all(tickers.map((t) => t.tick(new Date(start))));
    expect(await scheduled()).toEqual([]);
    for (let minute = 1; minute <= 3; minute++) {
      for (const second of [0, 30]) {
        const now = new Date(start + minute * 60_000 + second * 1000);
        await Promise.all(tickers.map((t) => t.tick(now)));
      }
      const runs = await scheduled();
      expect(runs, `minute ${minute}`).toHaveLength(minute);
      // Nothing executes runs here (--workers 0): the queued one is cancelled before the next slot.
      const queued = runs.filter((r: { status: string }) => r.status === 'queued');
      expect(queued).toHaveLength(1);
      const cancelled = await call(b(), 'POST', `/workspaces/${workspace.id}/runs/${queued[0].id}/cancel`);
      expect(cancelled.body.status).toBe('cancelled');
    }
    const runs = await scheduled();
    expect(runs.map((r: { status: string }) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('lists its workers to the admin only: a tenant token learns nothing of them', async () => {
    const workspace = (await call(a(), 'POST', '/workspaces', { name: 'Tenant' })).body;
    const tenant = await issueToken(a().url, adminToken, {
      name: 'tenant',
      workspaces: [workspace.id],
      access: 'write',
    });
    const answer = await api(b().url, tenant, 'GET', '/workers');
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.body)).not.toMatch(/wkr_|sluice serve|heartbeat/i);
    // These servers run no pipelines (--workers 0): no worker is registered at all.
    expect((await call(a(), 'GET', '/workers')).body).toEqual({ items: [] });
  });

  it('applies one of two promotions into one target sent to different servers; the other answers 409', async () => {
    const target = (await call(a(), 'POST', '/workspaces', { name: 'Race prod' })).body;
    const source = (await call(b(), 'POST', '/workspaces', { name: 'Race staging' })).body;
    await push(a(), target.repositoryName, { 'transform/target-only.sql': 'select 1\n' });
    await push(b(), source.repositoryName, { 'extract/new.sql': 'select 2\n' });
    const preview = await call(a(), 'POST', `/workspaces/${target.id}/promotions`, {
      source: source.id,
      dryRun: true,
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    const body = {
      source: source.id,
      expectedSourceCommit: preview.body.sourceCommit,
      expectedTargetCommit: preview.body.targetCommit,
    };
    const answers = await Promise.all(
      servers.map((server) => call(server, 'POST', `/workspaces/${target.id}/promotions`, body)),
    );
    expect(answers.map((x) => x.status).sort()).toEqual([201, 409]);
    const lost = answers.find((x) => x.status === 409)?.body;
    expect(lost.error.message).toMatch(/moved since the preview/);
    const [historyA, historyB] = await Promise.all(
      servers.map(async (s) => (await call(s, 'GET', `/workspaces/${target.id}/promotions`)).body.items),
    );
    expect(historyA).toEqual(historyB);
    expect(historyA.filter((p: { status: string }) => p.status === 'applied')).toHaveLength(1);
    // Both servers serve the promoted main.
    for (const server of servers) {
      const listed = await git(root, [
        'ls-remote',
        withToken(`${server.url}/git/${target.repositoryName}.git`, adminToken),
        'main',
      ]);
      expect(listed.stdout.split('\t')[0]).toBe(answers.find((x) => x.status === 201)?.body.resultCommit);
    }
  });
});
