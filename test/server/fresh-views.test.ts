import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles } from '../../src/git/bare-repository.js';
import { type RunningServer, startServer } from '../../src/server/serve.js';
import { testSandboxSettings } from '../helpers/sandbox.js';
import {
  api,
  git,
  issueToken,
  startTestServer,
  storeKinds,
  type TestServer,
  withToken,
} from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

/**
 * The API's hot reads answer from what they remembered (a branch's head, a page of workspaces,
 * a configuration view of a commit) only while it still holds: these tests read every view,
 * change what it shows (a push, a promotion, a PATCH, a commit another server wrote), and expect
 * the very next read to show the change; a commit written beside every server (git by hand in the
 * repository folder) shows within a moment.
 */

const kinds = await storeKinds();

/** A project whose tap-github `repository` says which version and environment it comes from. */
function meltanoYml(version: string): string {
  return [
    'version: 1',
    'default_environment: dev',
    'project_id: 4a1c2e9d-fresh-views',
    'plugins:',
    '  extractors:',
    '  - name: tap-github',
    '    variant: meltanolabs',
    '    config:',
    `      repository: sluice/${version}-base`,
    'environments:',
    ...['dev', 'staging', 'prod'].flatMap((env) => [
      `- name: ${env}`,
      '  config:',
      '    plugins:',
      '      extractors:',
      '      - name: tap-github',
      '        config:',
      `          repository: sluice/${version}-${env}`,
    ]),
    '',
  ].join('\n');
}

interface Views {
  readonly commit: string | null;
  readonly listed: string | null;
  readonly listedEnvironment: string | null;
  readonly configCommit: string | undefined;
  /** tap-github's `repository` in the active environment and in prod. */
  readonly active: unknown;
  readonly prod: unknown;
  readonly environments: readonly string[];
}

/** Reads the three views of a workspace through a server, once each (the list first). */
async function views(base: string, token: string, id: string): Promise<Views> {
  // The list first: the other reads bring the workspace's state up to date, and it must not need them.
  const list = await api(base, token, 'GET', '/workspaces?limit=200');
  expect(list.status, JSON.stringify(list.body)).toBe(200);
  const item = list.body.items.find((w: { id: string }) => w.id === id);
  expect(item).toBeDefined();
  const one = await api(base, token, 'GET', `/workspaces/${id}`);
  expect(one.status, JSON.stringify(one.body)).toBe(200);
  // A project without tap-github (a new workspace's) answers 404: its value is then undefined.
  const repository = async (query: string) => {
    const view = await api(base, token, 'GET', `/workspaces/${id}/plugins/tap-github/config${query}`);
    expect([200, 404], JSON.stringify(view.body)).toContain(view.status);
    return view.status === 200 ? view.body : undefined;
  };
  const active = await repository('');
  const prod = await repository('?environment=prod');
  const environments = await api(base, token, 'GET', `/workspaces/${id}/environments`);
  expect(environments.status).toBe(200);
  return {
    commit: one.body.status.commit,
    listed: item.status.commit,
    listedEnvironment: item.activeEnvironment,
    configCommit: prod?.commit,
    active: active?.config.repository,
    prod: prod?.config.repository,
    environments: environments.body.items.map((e: { name: string }) => e.name),
  };
}

async function clone(work: string, repositoryUrl: string, token: string, name: string): Promise<string> {
  const dir = join(work, name);
  const cloned = await git(work, ['clone', withToken(repositoryUrl, token), dir]);
  expect(cloned.code, cloned.stderr).toBe(0);
  return dir;
}

/** Commits meltano.yml and pushes it to main with stock git; answers the new commit. */
async function push(dir: string, text: string): Promise<string> {
  writeFileSync(join(dir, 'meltano.yml'), text);
  expect((await git(dir, ['commit', '-qam', 'Change meltano.yml'])).code).toBe(0);
  const pushed = await git(dir, ['push', 'origin', 'main']);
  expect(pushed.code, pushed.stderr).toBe(0);
  return (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
}

describe.each(kinds)('views right after a change (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let source: { id: string; repositoryName: string; repositoryUrl: string };
  let target: { id: string };
  let dir: string;

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-fresh-'));
    source = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Fresh dev' })).body;
    target = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Fresh prod' })).body;
    dir = await clone(work, source.repositoryUrl, t.adminToken, 'dev');
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('shows a push in the workspace, the list and the configuration on the next request', async () => {
    const first = await push(dir, meltanoYml('v1'));
    expect(await views(t.url, t.adminToken, source.id)).toMatchObject({
      commit: first,
      listed: first,
      configCommit: first,
      active: 'sluice/v1-dev',
      prod: 'sluice/v1-prod',
    });
    // Everything above is remembered now; the next push must still show at once.
    const second = await push(dir, meltanoYml('v2'));
    expect(await views(t.url, t.adminToken, source.id)).toMatchObject({
      commit: second,
      listed: second,
      configCommit: second,
      active: 'sluice/v2-dev',
      prod: 'sluice/v2-prod',
    });
  });

  it('shows a promotion in the target on the next request', async () => {
    const before = await views(t.url, t.adminToken, target.id);
    expect(before.environments).toEqual(['dev', 'staging', 'prod']);
    const applied = await api(t.url, t.adminToken, 'POST', `/workspaces/${target.id}/promotions`, {
      source: source.id,
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    const result = applied.body.resultCommit;
    expect(result).toMatch(/^[0-9a-f]{40}$/);
    expect(result).not.toBe(before.commit);
    expect(await views(t.url, t.adminToken, target.id)).toMatchObject({
      commit: result,
      listed: result,
      configCommit: result,
      active: 'sluice/v2-dev',
      prod: 'sluice/v2-prod',
    });
  });

  it('shows a new active environment in the list and the configuration on the next request', async () => {
    await views(t.url, t.adminToken, source.id);
    const patched = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${source.id}`, {
      activeEnvironment: 'staging',
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(await views(t.url, t.adminToken, source.id)).toMatchObject({
      listedEnvironment: 'staging',
      active: 'sluice/v2-staging',
    });
  });

  it('shows a commit written to the repository by another hand, which no server recorded, within a moment', async () => {
    await views(t.url, t.adminToken, source.id);
    // What another server's push looks like to this one until that server has recorded it.
    const commit = await commitFiles(join(t.dataDir, 'repos', `${source.repositoryName}.git`), {
      branch: 'main',
      files: { 'meltano.yml': meltanoYml('v3') },
      message: 'Written beside the server',
      author: { name: 'Other', email: 'other@example.com' },
    });
    // The workspace and its configuration check main's ref, read again once the last read is a
    // moment old (a move no server recorded changes no row); the list shows what they recorded.
    await until('the commit written beside the server', async () => {
      const one = await api(t.url, t.adminToken, 'GET', `/workspaces/${source.id}`);
      return one.body.status.commit === commit ? true : undefined;
    });
    expect(await views(t.url, t.adminToken, source.id)).toMatchObject({
      commit,
      listed: commit,
      configCommit: commit,
      prod: 'sluice/v3-prod',
    });
  });

  it("answers a scoped token's list with its own workspaces, after an admin's list was remembered", async () => {
    const all = await api(t.url, t.adminToken, 'GET', '/workspaces?limit=200');
    expect(all.body.items.map((w: { id: string }) => w.id)).toEqual([source.id, target.id]);
    const token = await issueToken(t.url, t.adminToken, {
      name: 'target reader',
      workspaces: [target.id],
      access: 'read',
    });
    const mine = await api(t.url, token, 'GET', '/workspaces?limit=200');
    expect(mine.body.items.map((w: { id: string }) => w.id)).toEqual([target.id]);
    expect((await api(t.url, token, 'GET', `/workspaces/${source.id}`)).status).toBe(404);
    expect(
      (await api(t.url, token, 'GET', `/workspaces/${source.id}/plugins/tap-github/config`)).status,
    ).toBe(404);
  });
});

describe.runIf(kinds.includes('postgres'))('two servers on one database and one data folder', () => {
  let a: TestServer;
  let b: RunningServer;
  let work: string;

  beforeAll(async () => {
    a = await startTestServer('postgres');
    b = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: a.dataDir,
      databaseUrl: a.databaseUrl,
      adminToken: a.adminToken,
      schedulerTickMs: 24 * 3600 * 1000,
      sandbox: await testSandboxSettings(),
    });
    work = mkdtempSync(join(tmpdir(), 'sluice-fresh-pair-'));
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("shows a push and a promotion through one server in the other's views on the next request", async () => {
    const source = (await api(a.url, a.adminToken, 'POST', '/workspaces', { name: 'Pair dev' })).body;
    const target = (await api(b.url, a.adminToken, 'POST', '/workspaces', { name: 'Pair prod' })).body;
    const dir = await clone(work, source.repositoryUrl, a.adminToken, 'pair');
    const first = await push(dir, meltanoYml('v1'));
    // Both servers remember the views of the first push.
    for (const base of [a.url, b.url])
      expect(await views(base, a.adminToken, source.id)).toMatchObject({
        commit: first,
        prod: 'sluice/v1-prod',
      });
    await views(b.url, a.adminToken, target.id);

    // Pushed through A: B shows it on its next request, in every view.
    const second = await push(dir, meltanoYml('v2'));
    expect(await views(b.url, a.adminToken, source.id)).toMatchObject({
      commit: second,
      listed: second,
      configCommit: second,
      active: 'sluice/v2-dev',
      prod: 'sluice/v2-prod',
    });

    // Promoted through A: B shows the target's new commit and values.
    const applied = await api(a.url, a.adminToken, 'POST', `/workspaces/${target.id}/promotions`, {
      source: source.id,
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    expect(await views(b.url, a.adminToken, target.id)).toMatchObject({
      commit: applied.body.resultCommit,
      listed: applied.body.resultCommit,
      configCommit: applied.body.resultCommit,
      prod: 'sluice/v2-prod',
    });

    // A change of active environment through B: A's list and configuration follow.
    await views(a.url, a.adminToken, source.id);
    const patched = await api(b.url, a.adminToken, 'PATCH', `/workspaces/${source.id}`, {
      activeEnvironment: 'prod',
    });
    expect(patched.status).toBe(200);
    expect(await views(a.url, a.adminToken, source.id)).toMatchObject({
      listedEnvironment: 'prod',
      active: 'sluice/v2-prod',
    });
  });
});
