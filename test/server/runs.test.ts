import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDuckdb } from '../helpers/duckdb.js';
import { processesWithEnv } from '../helpers/processes.js';
import { api, git, startTestServer, storeKinds, type TestServer, withToken } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

const SLOW_TAP = fileURLToPath(new URL('../fixtures/slow-tap/slow-tap', import.meta.url));
const TAP_NUMBERS = fileURLToPath(new URL('../fixtures/tap-numbers', import.meta.url));

/** One project for every test: tap-csv and target-duckdb configured per environment, and a slow external tap. */
const PROJECT = `version: 1
default_environment: dev
project_id: runs-test
plugins:
  extractors:
  - name: tap-csv
    config:
      files:
      - entity: people
        path: data/dev.csv
        keys: [id]
  - name: slow-tap
    namespace: slow_tap
    capabilities: [catalog, discover, state]
    executable: ${SLOW_TAP}
    config:
      count: 1000
      delay: 0.05
  - name: tap-numbers
    pip_url: --no-build-isolation ${TAP_NUMBERS}
    config:
      count: 4
  - name: tap-leaves-child
    namespace: tap_leaves_child
    capabilities: [catalog, discover, state]
    executable: ${SLOW_TAP}
    settings:
    - name: child_pid_file
    config:
      count: 2
  - name: tap-needs-token
    namespace: tap_needs_token
    capabilities: [catalog, discover, state]
    executable: ${SLOW_TAP}
    settings:
    - name: api_token
      kind: password
    settings_group_validation:
    - [api_token]
    config:
      count: 3
  loaders:
  - name: target-duckdb
    config:
      filepath: output/dev.duckdb
  - name: target-jsonl
    config:
      destination_path: output/jsonl
jobs:
- name: csv-to-duckdb
  tasks: tap-csv target-duckdb
- name: slow-job
  tasks: slow-tap target-jsonl
schedules:
- name: daily-csv
  interval: '@daily'
  extractor: tap-csv
  loader: target-jsonl
- name: hourly-job
  interval: '0 * * * *'
  job: csv-to-duckdb
environments:
- name: dev
- name: staging
  config:
    plugins:
      extractors:
      - name: tap-csv
        config:
          files:
          - entity: people
            path: data/staging.csv
            keys: [id]
      loaders:
      - name: target-duckdb
        config:
          filepath: output/staging.duckdb
- name: prod
`;

const kinds = await storeKinds();

describe.each(kinds)('pipeline runs on the server (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let dev: { id: string; repositoryUrl: string };
  let staging: { id: string; repositoryUrl: string };

  const call = (method: string, path: string, body?: unknown) => api(t.url, t.adminToken, method, path, body);
  const finished = (workspace: string, run: string) =>
    until(`run ${run} to end`, async () => {
      const answer = await call('GET', `/workspaces/${workspace}/runs/${run}`);
      return ['success', 'failed', 'cancelled'].includes(answer.body.status) ? answer.body : undefined;
    });
  const start = async (workspace: string, body: unknown) => {
    const answer = await call('POST', `/workspaces/${workspace}/runs`, body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as { id: string; status: string };
  };
  const workDir = (workspace: string) => join(t.dataDir, 'work', workspace);

  /** Pushes the test project (and a CSV per environment) to a workspace's main with stock git. */
  async function pushProject(workspace: { repositoryUrl: string }, folder: string) {
    const clone = join(work, folder);
    expect((await git(work, ['clone', withToken(workspace.repositoryUrl, t.adminToken), clone])).code).toBe(
      0,
    );
    writeFileSync(join(clone, 'meltano.yml'), PROJECT);
    mkdirSync(join(clone, 'data'), { recursive: true });
    writeFileSync(join(clone, 'data/dev.csv'), 'id,name\n1,dev-one\n2,dev-two\n');
    writeFileSync(
      join(clone, 'data/staging.csv'),
      'id,name\n10,staging-ten\n11,staging-eleven\n12,staging-twelve\n',
    );
    expect((await git(clone, ['add', '-A'])).code).toBe(0);
    expect((await git(clone, ['commit', '-m', 'Add the pipeline'])).code).toBe(0);
    const pushed = await git(clone, ['push', 'origin', 'main']);
    expect(pushed.code, pushed.stderr).toBe(0);
  }

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-runs-'));
    dev = (await call('POST', '/workspaces', { name: 'Runs (dev)' })).body;
    staging = (await call('POST', '/workspaces', { name: 'Runs (staging)' })).body;
    expect((await call('PATCH', `/workspaces/${staging.id}`, { activeEnvironment: 'staging' })).status).toBe(
      200,
    );
    await pushProject(dev, 'dev');
    await pushProject(staging, 'staging');
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("runs tap-csv -> target-duckdb in each workspace with its active environment's configuration", async () => {
    const runs = [
      await start(dev.id, { blocks: ['tap-csv', 'target-duckdb'] }),
      await start(staging.id, { job: 'csv-to-duckdb' }),
    ];
    const [devRun, stagingRun] = [
      await finished(dev.id, runs[0]?.id ?? ''),
      await finished(staging.id, runs[1]?.id ?? ''),
    ];
    expect(devRun, JSON.stringify(devRun)).toMatchObject({
      status: 'success',
      environment: 'dev',
      blocks: ['tap-csv', 'target-duckdb'],
      recordsByStream: { people: 2 },
      error: null,
    });
    expect(stagingRun).toMatchObject({
      status: 'success',
      environment: 'staging',
      job: 'csv-to-duckdb',
      recordsByStream: { people: 3 },
    });
    expect(devRun.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(devRun.durationMs).toBeGreaterThanOrEqual(0);

    // Relative paths resolve in each workspace's own folder; each database holds its environment's rows only.
    const devDb = join(workDir(dev.id), 'output/dev.duckdb');
    const stagingDb = join(workDir(staging.id), 'output/staging.duckdb');
    expect(await queryDuckdb(devDb, 'SELECT id, name FROM people ORDER BY id')).toEqual([
      { id: '1', name: 'dev-one' },
      { id: '2', name: 'dev-two' },
    ]);
    expect((await queryDuckdb(stagingDb, 'SELECT id FROM people ORDER BY id')).map((r) => r.id)).toEqual([
      '10',
      '11',
      '12',
    ]);
    expect(existsSync(join(workDir(dev.id), 'output/staging.duckdb'))).toBe(false);
    expect(existsSync(join(workDir(staging.id), 'output/dev.duckdb'))).toBe(false);

    // State is kept per workspace, under Meltano's state ID for its environment.
    const devStates = await call('GET', `/workspaces/${dev.id}/state`);
    expect(devStates.body.items.map((s: { stateId: string }) => s.stateId)).toEqual([
      'dev:tap-csv-to-target-duckdb',
    ]);
    const stagingStates = await call('GET', `/workspaces/${staging.id}/state`);
    expect(stagingStates.body.items.map((s: { stateId: string }) => s.stateId)).toEqual([
      'staging:tap-csv-to-target-duckdb',
    ]);

    const log = await fetch(`${t.url}/api/v1/workspaces/${dev.id}/runs/${devRun.id}/log`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    expect(log.status).toBe(200);
    const text = await log.text();
    expect(text).toContain("environment 'dev'");
    expect(text).toContain('Running tap-csv -> target-duckdb (state ID dev:tap-csv-to-target-duckdb)');
    expect(text).toContain('people: 2 records');

    const listed = await call('GET', `/workspaces/${dev.id}/runs?limit=1`);
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([devRun.id]);
  });

  it('streams the log live as server-sent events, ending with the status', async () => {
    const run = await start(dev.id, { blocks: ['slow-tap', 'target-jsonl'] });
    const response = await fetch(`${t.url}/api/v1/workspaces/${dev.id}/runs/${run.id}/log`, {
      headers: { authorization: `Bearer ${t.adminToken}`, accept: 'text/event-stream' },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body?.getReader();
    if (!reader) throw new Error('no body');
    let received = '';
    const decoder = new TextDecoder();
    // A line from the running tap arrives while the run is still running.
    while (!received.includes('slow-tap starting')) {
      const { value, done } = await reader.read();
      if (done) break;
      received += decoder.decode(value);
    }
    expect((await call('GET', `/workspaces/${dev.id}/runs/${run.id}`)).body.status).toBe('running');
    const cancelled = await call('POST', `/workspaces/${dev.id}/runs/${run.id}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received += decoder.decode(value);
    }
    expect(received).toMatch(/event: line\ndata: \{"seq":1,/);
    expect(received).toContain('event: end\ndata: {"status":"cancelled"}');
    const seqs = [...received.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    // Replayed after the end, from the stored log, and from a Last-Event-ID on.
    const replay = await fetch(`${t.url}/api/v1/workspaces/${dev.id}/runs/${run.id}/log`, {
      headers: { authorization: `Bearer ${t.adminToken}`, accept: 'text/event-stream', 'last-event-id': '2' },
    });
    const replayed = await replay.text();
    expect(replayed).not.toContain('"seq":2,');
    expect(replayed).toContain('"seq":3,');
    expect(replayed).toContain('event: end\ndata: {"status":"cancelled"}');
  });

  it('refuses a second run of the same pipeline (409) and cancels a run, stopping every process of it', async () => {
    // Inside the sandbox a plugin can write only in its workspace's folder, and the process ids it
    // sees are those of its own namespace: the test finds the host's processes by a unique variable.
    const marker = `SLOW_TAP_MARKER=${kind}-${Date.now()}`;
    const childPidFile = join(workDir(dev.id), 'child.pid');
    const clone = join(work, 'dev');
    const yml = PROJECT.replace(
      '      delay: 0.05\n',
      `      delay: 0.05\n      pid_file: tap.pid\n      child_pid_file: child.pid\n      marker: ${marker.split('=')[1]}\n`,
    );
    writeFileSync(join(clone, 'meltano.yml'), yml);
    expect((await git(clone, ['commit', '-am', 'Record the tap pids'])).code).toBe(0);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);

    const run = await start(dev.id, { blocks: ['slow-tap', 'target-jsonl'] });
    const second = await call('POST', `/workspaces/${dev.id}/runs`, { blocks: ['slow-tap', 'target-jsonl'] });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('conflict');
    expect(second.body.error.message).toContain(
      'would use state dev:slow-tap-to-target-jsonl, and a run using it is already queued or running',
    );
    // The same pipeline asked for as a job shares that state: refused too.
    const asJob = await call('POST', `/workspaces/${dev.id}/runs`, { job: 'slow-job' });
    expect(asJob.status).toBe(409);
    // A workspace with an active run cannot be deleted meanwhile.
    const deleting = await call('DELETE', `/workspaces/${dev.id}`);
    expect(deleting.status).toBe(409);
    expect(deleting.body.error.message).toContain('Cancel it (or wait)');
    // Another pipeline of the same workspace may run meanwhile.
    const other = await start(dev.id, { blocks: ['tap-csv', 'target-jsonl'] });
    expect((await finished(dev.id, other.id)).status).toBe('success');

    await until('the tap to start its child', () => (existsSync(childPidFile) ? true : undefined));
    // The tap and the `sleep` it started.
    expect(processesWithEnv(marker).length).toBeGreaterThanOrEqual(2);
    const cancelled = await call('POST', `/workspaces/${dev.id}/runs/${run.id}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { code: 'run_cancelled' } });
    await until('the processes to exit', () => (processesWithEnv(marker).length === 0 ? true : undefined));

    // Cancelling again is refused: it has ended. The pipeline may run again.
    expect((await call('POST', `/workspaces/${dev.id}/runs/${run.id}/cancel`)).status).toBe(409);
    const again = await start(dev.id, { blocks: ['slow-tap', 'target-jsonl'] });
    expect((await call('POST', `/workspaces/${dev.id}/runs/${again.id}/cancel`)).body.status).toBe(
      'cancelled',
    );
  });

  it('stops what a plugin left running when its step ends, after a successful run too', async () => {
    const marker = `left-child-${kind}-${Date.now()}`;
    // The file and the marker reach the tap as variables, the way secrets do; its child inherits them.
    await call('PUT', `/workspaces/${dev.id}/secrets/TAP_LEAVES_CHILD_CHILD_PID_FILE`, {
      value: 'left-child.pid',
    });
    await call('PUT', `/workspaces/${dev.id}/secrets/LEFT_CHILD_MARKER`, { value: marker });
    const run = await start(dev.id, { blocks: ['tap-leaves-child', 'target-jsonl'] });
    expect((await finished(dev.id, run.id)).status).toBe('success');
    expect(existsSync(join(workDir(dev.id), 'left-child.pid'))).toBe(true);
    await until('the child to be stopped', () =>
      processesWithEnv(`LEFT_CHILD_MARKER=${marker}`).length === 0 ? true : undefined,
    );
    await call('DELETE', `/workspaces/${dev.id}/secrets/TAP_LEAVES_CHILD_CHILD_PID_FILE`);
    await call('DELETE', `/workspaces/${dev.id}/secrets/LEFT_CHILD_MARKER`);
  });

  it('refuses a run whose plugin lacks a required setting, naming it and the environment', async () => {
    const answer = await call('POST', `/workspaces/${dev.id}/runs`, {
      blocks: ['tap-needs-token', 'target-jsonl'],
    });
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe('setting_required');
    expect(answer.body.error.message).toContain("tap-needs-token cannot run in environment 'dev'");
    expect(answer.body.error.message).toContain('api_token');
    expect(answer.body.error.message).toContain('TAP_NEEDS_TOKEN_API_TOKEN');
    expect(answer.body.error.details).toMatchObject({ environment: 'dev', settings: ['api_token'] });
  });

  it('gives a secret to the plugin as a variable, and hides its value in the log', async () => {
    const secret = 'tok-3f9c1d7e-very-secret';
    const set = await call('PUT', `/workspaces/${dev.id}/secrets/TAP_NEEDS_TOKEN_API_TOKEN`, {
      value: secret,
      environment: 'dev',
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const run = await start(dev.id, { blocks: ['tap-needs-token', 'target-jsonl'] });
    const ended = await finished(dev.id, run.id);
    expect(ended.status, JSON.stringify(ended.error)).toBe('success');
    expect(ended.recordsByStream).toEqual({ numbers: 3 });
    const log = await (
      await fetch(`${t.url}/api/v1/workspaces/${dev.id}/runs/${run.id}/log`, {
        headers: { authorization: `Bearer ${t.adminToken}` },
      })
    ).text();
    // The tap prints the token it was given on stderr: it got the secret, and the log shows ****.
    expect(log).toContain('tap-needs-token | slow-tap starting after id 0; token is ****');
    expect(log).not.toContain(secret);
    const events = await (
      await fetch(`${t.url}/api/v1/workspaces/${dev.id}/runs/${run.id}/log`, {
        headers: { authorization: `Bearer ${t.adminToken}`, accept: 'text/event-stream' },
      })
    ).text();
    expect(events).toContain('token is ****');
    expect(events).not.toContain(secret);
    // Only in dev: staging's run of the same plugin is refused before it starts.
    const refused = await call('POST', `/workspaces/${staging.id}/runs`, {
      blocks: ['tap-needs-token', 'target-jsonl'],
    });
    expect(refused.body.error.message).toContain("environment 'staging'");
    expect(
      (await call('DELETE', `/workspaces/${dev.id}/secrets/TAP_NEEDS_TOKEN_API_TOKEN?environment=dev`))
        .status,
    ).toBe(204);
  });

  // On one store only: the install (a virtualenv, then pip: seconds of CPU) happens in the runner,
  // and the store keeps only the run and its log lines, which the other tests check on both.
  it.runIf(kind === 'sqlite')(
    'installs a plugin with a pip_url into the workspace folder on its first run',
    async () => {
      const run = await start(staging.id, { blocks: ['tap-numbers', 'target-jsonl'] });
      const ended = await finished(staging.id, run.id);
      expect(ended.status, JSON.stringify(ended.error)).toBe('success');
      expect(ended.recordsByStream).toEqual({ numbers: 4 });
      expect(
        existsSync(join(workDir(staging.id), '.sluice/venvs/extractors/tap-numbers/bin/tap-numbers')),
      ).toBe(true);
      const log = await (
        await fetch(`${t.url}/api/v1/workspaces/${staging.id}/runs/${run.id}/log`, {
          headers: { authorization: `Bearer ${t.adminToken}` },
        })
      ).text();
      expect(log).toContain('Installing tap-numbers');
    },
  );

  it('fails a run that times out, after its retries, saying so in the error and the log', async () => {
    const run = await start(dev.id, {
      blocks: ['slow-tap', 'target-jsonl'],
      timeoutSeconds: 1,
      maxRetries: 1,
    });
    const ended = await finished(dev.id, run.id);
    expect(ended).toMatchObject({ status: 'failed', attempt: 2, maxRetries: 1, timeoutSeconds: 1 });
    expect(ended.error.message).toContain('timed out after 1 s');
    const log = await (
      await fetch(`${t.url}/api/v1/workspaces/${dev.id}/runs/${run.id}/log`, {
        headers: { authorization: `Bearer ${t.adminToken}` },
      })
    ).text();
    expect(log).toContain('Retrying (attempt 2 of 2)');
  });

  it('answers bad requests with 4xx and the error shape', async () => {
    const cases: [unknown, number, string][] = [
      [{}, 400, 'Give "blocks"'],
      [{ blocks: ['tap-csv', 'target-duckdb'], job: 'csv-to-duckdb' }, 400, 'not both'],
      [{ blocks: ['tap-nope', 'target-jsonl'] }, 404, "'tap-nope' is neither"],
      [{ blocks: ['tap-csv'] }, 400, 'has no loader after it'],
      [{ blocks: 'tap-csv' }, 400, ''],
      [{ blocks: ['tap-csv', 'target-jsonl'], timeoutSeconds: 0 }, 400, ''],
    ];
    for (const [body, status, words] of cases) {
      const answer = await call('POST', `/workspaces/${dev.id}/runs`, body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
      expect(answer.body.error.message).toContain(words);
    }
    expect((await call('GET', `/workspaces/${dev.id}/runs/run_nope`)).status).toBe(404);
    expect((await call('GET', `/workspaces/${dev.id}/state/dev:nope`)).status).toBe(404);
  });

  it('runs due schedules in workspaces whose schedules are on (off by default for dev)', async () => {
    const scheduler = (t.server.app as unknown as { scheduler: { tick(now: Date): Promise<void> } })
      .scheduler;
    expect((await call('GET', `/workspaces/${dev.id}`)).body.schedulesEnabled).toBe(false);
    expect((await call('GET', `/workspaces/${staging.id}`)).body.schedulesEnabled).toBe(true);
    const scheduled = async (workspace: string) =>
      (await call('GET', `/workspaces/${workspace}/runs?limit=200`)).body.items.filter(
        (r: { trigger: string }) => r.trigger === 'schedule',
      );
    const at = (iso: string) => scheduler.tick(new Date(iso));
    // First sight: nothing runs at once; the schedules wait for their next slot.
    await at('2030-01-01T10:30:00Z');
    expect(await scheduled(staging.id)).toEqual([]);
    // Two hourly slots passed (11:00, 12:00): the job runs once; the daily one is not due yet.
    await at('2030-01-01T12:30:00Z');
    const [hourly, ...others] = await scheduled(staging.id);
    expect(others).toEqual([]);
    expect(hourly).toMatchObject({
      scheduleName: 'hourly-job',
      job: 'csv-to-duckdb',
      environment: 'staging',
      createdBy: 'scheduler',
    });
    expect((await finished(staging.id, hourly.id)).status).toBe('success');
    await at('2030-01-01T12:40:00Z');
    expect(await scheduled(staging.id)).toHaveLength(1);
    // Past midnight: the extractor-loader schedule runs under its own state ID, prefixed by the environment.
    await at('2030-01-02T00:05:00Z');
    const daily = (await scheduled(staging.id)).find(
      (r: { scheduleName: string }) => r.scheduleName === 'daily-csv',
    );
    expect(daily).toMatchObject({ blocks: ['tap-csv', 'target-jsonl'] });
    expect((await finished(staging.id, daily.id)).status).toBe('success');
    expect((await call('GET', `/workspaces/${staging.id}/state/staging:daily-csv`)).status).toBe(200);
    // Nothing ran in dev, whose schedules are off; switched on, they run from then on.
    expect(await scheduled(dev.id)).toEqual([]);
    const on = await call('PATCH', `/workspaces/${dev.id}`, { schedulesEnabled: true });
    expect(on.body.schedulesEnabled).toBe(true);
    await at('2030-01-02T00:10:00Z');
    await at('2030-01-02T01:10:00Z');
    const devRuns = await scheduled(dev.id);
    expect(devRuns.map((r: { scheduleName: string }) => r.scheduleName)).toEqual(['hourly-job']);
    await finished(dev.id, devRuns[0].id);
    expect((await call('PATCH', `/workspaces/${dev.id}`, { schedulesEnabled: 'yes' })).status).toBe(400);
  });

  it('sets, copies and clears state through the API, per workspace', async () => {
    const id = encodeURIComponent('dev:tap-x-to-target-y');
    const put = await call('PUT', `/workspaces/${dev.id}/state/${id}`, {
      singer_state: { bookmarks: { a: 1 } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.value).toEqual({ singer_state: { bookmarks: { a: 1 } } });
    expect((await call('PUT', `/workspaces/${dev.id}/state/${id}`, { bookmarks: {} })).status).toBe(400);
    expect((await call('PUT', `/workspaces/${dev.id}/state/${id}`, { singer_state: 'str' })).status).toBe(
      400,
    );
    const copied = await call('POST', `/workspaces/${dev.id}/state/${id}/copy`, { to: 'dev:copy' });
    expect(copied.body).toMatchObject({
      stateId: 'dev:copy',
      value: { singer_state: { bookmarks: { a: 1 } } },
    });
    // Never shared: the other workspace has no such state.
    expect((await call('GET', `/workspaces/${staging.id}/state/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/workspaces/${dev.id}/state/${id}`)).status).toBe(204);
    expect((await call('GET', `/workspaces/${dev.id}/state/${id}`)).status).toBe(404);
  });
});
