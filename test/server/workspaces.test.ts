import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, git, startTestServer, storeKinds, type TestServer, withToken } from '../helpers/test-server.js';

const kinds = await storeKinds();

interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
  readonly activeEnvironment: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly status: {
    readonly commit: string | null;
    readonly lastGoodCommit: string | null;
    readonly error: {
      code: string;
      message: string;
      commit: string | null;
      file?: string;
      line?: number;
      column?: number;
    } | null;
  };
}

/** A project with one extractor whose `repository` differs per environment. */
function meltanoYml(environments: readonly string[]): string {
  return [
    'version: 1',
    'default_environment: dev',
    'project_id: 6c5d3f4e-workspaces-test',
    'environments:',
    ...environments.flatMap((name) => [
      `- name: ${name}`,
      '  config:',
      '    plugins:',
      '      extractors:',
      '      - name: tap-github',
      '        config:',
      `          repository: sluice/${name}`,
    ]),
    'plugins:',
    '  extractors:',
    '  - name: tap-github',
    '    variant: meltanolabs',
    '    config:',
    '      repository: sluice/base',
    '',
  ].join('\n');
}

/** Not YAML that loads: the environment on line 4 has its `name` key twice, the second at line 5, column 3. */
const BROKEN_YML = [
  'version: 1',
  'default_environment: dev',
  'environments:',
  '- name: dev',
  '  name: qa',
  'plugins: {}',
  '',
].join('\n');

describe.each(kinds)('workspaces over the API and Git (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let n = 0;
  const folder = () => join(work, `clone-${++n}`);

  const create = async (name: string): Promise<Workspace> => {
    const answer = await api(t.url, t.adminToken, 'POST', '/workspaces', { name });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body;
  };
  const get = async (ref: string): Promise<Workspace> => {
    const answer = await api(t.url, t.adminToken, 'GET', `/workspaces/${ref}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body;
  };
  const clone = async (url: string): Promise<string> => {
    const target = folder();
    const cloned = await git(work, ['clone', withToken(url, t.adminToken), target]);
    expect(cloned.code, cloned.stderr).toBe(0);
    return target;
  };
  /** Commits `meltano.yml` with the given text and pushes it to `main`; answers the new commit. */
  const pushMeltanoYml = async (dir: string, text: string, message: string): Promise<string> => {
    writeFileSync(join(dir, 'meltano.yml'), text);
    expect((await git(dir, ['commit', '-qam', message])).code).toBe(0);
    const pushed = await git(dir, ['push', 'origin', 'main']);
    expect(pushed.code, pushed.stderr).toBe(0);
    return (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-workspaces-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('creates a workspace with a repository that holds a new project, on the dev environment', async () => {
    const before = Date.now();
    const answer = await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Sales (dev)' });
    expect(answer.status).toBe(201);
    const ws: Workspace = answer.body;
    expect(ws).toEqual({
      id: expect.stringMatching(/^ws_/),
      name: 'Sales (dev)',
      repositoryName: expect.stringMatching(/^Sales-dev-[a-z]{7}$/),
      repositoryUrl: `${t.url}/git/${ws.repositoryName}.git`,
      activeEnvironment: 'dev',
      createdAt: ws.updatedAt,
      updatedAt: expect.any(String),
      protected: false,
      ownedKeys: ['project_id', 'default_environment'],
      schedulesEnabled: false,
      upstream: null,
      requiredApprovals: 0,
      status: {
        commit: expect.stringMatching(/^[0-9a-f]{40}$/),
        lastGoodCommit: ws.status.commit,
        error: null,
      },
    });
    expect(Date.parse(ws.createdAt)).toBeGreaterThanOrEqual(before - 1000);

    const dir = await clone(ws.repositoryUrl);
    expect(readFileSync(join(dir, 'meltano.yml'), 'utf8')).toMatch(
      /default_environment: dev[\s\S]*- name: dev\n- name: staging\n- name: prod\n/,
    );
    const environments = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.id}/environments`);
    expect(environments.body.items).toEqual([
      { name: 'dev', active: true, default: true },
      { name: 'staging', active: false, default: false },
      { name: 'prod', active: false, default: false },
    ]);
  });

  it.each([
    ['My Workspace (dev)', /^My-Workspace-dev-[a-z]{7}$/],
    ['  Finance -- EU / 2024  ', /^Finance-EU-2024-[a-z]{7}$/],
    ['Équipe données', /^Equipe-donnees-[a-z]{7}$/],
    ['データ 7', /^7-[a-z]{7}$/],
  ])(
    'names the repository of %j after its letters and digits, joined by dashes, plus 7 letters',
    async (name, pattern) => {
      const ws = await create(name);
      expect(ws.name).toBe(name.trim());
      expect(ws.repositoryName).toMatch(pattern);
    },
  );

  it('gives each workspace its own repository name, even for names that make the same one', async () => {
    // Names are unique (test/security/robust-names.test.ts), but `Twin` and `Twin!` both make `Twin-`.
    const [a, b] = [await create('Twin'), await create('Twin!')];
    expect(a.repositoryName).not.toBe(b.repositoryName);
    expect(a.id).not.toBe(b.id);
  });

  it('finds a workspace by id and by repository name', async () => {
    const ws = await create('Lookup');
    const byId = await get(ws.id);
    expect(byId).toMatchObject({ id: ws.id, name: 'Lookup', repositoryName: ws.repositoryName });
    expect(await get(ws.repositoryName)).toEqual(byId);
    expect(await get(`${ws.repositoryName}.git`)).toEqual(byId);
  });

  it('lists workspaces a page at a time, each once, in creation order', async () => {
    for (const name of ['Page 1', 'Page 2', 'Page 3']) await create(name);
    const all = (await api(t.url, t.adminToken, 'GET', '/workspaces?limit=200')).body;
    expect(all.nextCursor).toBeNull();
    expect(all.items.length).toBeGreaterThanOrEqual(5);

    const first = await api(t.url, t.adminToken, 'GET', '/workspaces?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const seen: Workspace[] = [...first.body.items];
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const page = await api(
        t.url,
        t.adminToken,
        'GET',
        `/workspaces?limit=2&cursor=${encodeURIComponent(cursor)}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeGreaterThan(0);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    expect(seen.map((w) => w.id)).toEqual(all.items.map((w: Workspace) => w.id));
    expect(new Set(seen.map((w) => w.id)).size).toBe(seen.length);
    expect(seen.map((w) => w.name).slice(-3)).toEqual(['Page 1', 'Page 2', 'Page 3']);
  });

  it('renames a workspace; the old clone URL keeps working for fetch and push', async () => {
    const ws = await create('Old Name');
    const dir = await clone(ws.repositoryUrl);

    const renamed = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, { name: 'New Name' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({
      id: ws.id,
      name: 'New Name',
      repositoryName: expect.stringMatching(/^New-Name-[a-z]{7}$/),
    });
    expect(renamed.body.repositoryUrl).toBe(`${t.url}/git/${renamed.body.repositoryName}.git`);
    expect(Date.parse(renamed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(ws.updatedAt));
    // The old repository name still finds the workspace.
    expect((await get(ws.repositoryName)).id).toBe(ws.id);

    // The clone made before the rename still fetches from and pushes to its (old) URL.
    expect((await git(dir, ['remote', 'get-url', 'origin'])).stdout).toContain(
      `/git/${ws.repositoryName}.git`,
    );
    const fetched = await git(dir, ['fetch', 'origin']);
    expect(fetched.code, fetched.stderr).toBe(0);
    const commit = await pushMeltanoYml(
      dir,
      meltanoYml(['dev', 'staging', 'prod']),
      'Push through the old URL',
    );
    expect((await get(ws.id)).status).toMatchObject({ commit, lastGoodCommit: commit, error: null });
    const fresh = await clone(renamed.body.repositoryUrl);
    expect((await git(fresh, ['rev-parse', 'HEAD'])).stdout.trim()).toBe(commit);

    // Renaming to the same name keeps the repository name.
    const same = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, { name: 'New Name' });
    expect(same.body.repositoryName).toBe(renamed.body.repositoryName);
  });

  it('deletes a workspace and its repository', async () => {
    const ws = await create('Short Lived');
    const oldName = ws.repositoryName;
    const renamed = (
      await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, { name: 'Very Short Lived' })
    ).body as Workspace;
    expect(readdirSync(join(t.dataDir, 'repos'))).toContain(`${renamed.repositoryName}.git`);

    expect(await api(t.url, t.adminToken, 'DELETE', `/workspaces/${ws.id}`)).toEqual({
      status: 204,
      body: undefined,
    });

    for (const ref of [ws.id, renamed.repositoryName, oldName]) {
      const answer = await api(t.url, t.adminToken, 'GET', `/workspaces/${ref}`);
      expect(answer.status, ref).toBe(404);
      expect(answer.body.error.code).toBe('workspace_not_found');
    }
    expect((await api(t.url, t.adminToken, 'DELETE', `/workspaces/${ws.id}`)).status).toBe(404);
    expect(readdirSync(join(t.dataDir, 'repos')).filter((entry) => entry.includes('Short-Lived'))).toEqual(
      [],
    );
    const listed = (await api(t.url, t.adminToken, 'GET', '/workspaces?limit=200')).body.items as Workspace[];
    expect(listed.map((w) => w.id)).not.toContain(ws.id);
    for (const url of [renamed.repositoryUrl, ws.repositoryUrl]) {
      const target = folder();
      const cloned = await git(work, ['clone', withToken(url, t.adminToken), target]);
      expect(cloned.code).not.toBe(0);
      expect(cloned.stderr).toMatch(/not found/);
      expect(existsSync(target)).toBe(false);
    }
  });

  it('accepts a push that breaks meltano.yml, reports where, keeps running the last good commit, and recovers on a fix', async () => {
    const ws = await create('Fragile');
    const dir = await clone(ws.repositoryUrl);
    const good = await pushMeltanoYml(dir, meltanoYml(['dev', 'staging', 'prod']), 'Add tap-github');
    expect(
      (await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, { activeEnvironment: 'staging' }))
        .status,
    ).toBe(200);

    const broken = await pushMeltanoYml(dir, BROKEN_YML, 'Break meltano.yml');
    const status = (await get(ws.id)).status;
    expect(status).toEqual({
      commit: broken,
      lastGoodCommit: good,
      error: {
        code: 'yaml_syntax',
        message: expect.stringMatching(/^meltano\.yml:5:3: .*duplicated mapping key/),
        commit: broken,
        file: 'meltano.yml',
        line: 5,
        column: 3,
      },
    });

    // The configuration views answer from the last good commit.
    const config = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.id}/plugins/tap-github/config`);
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      commit: good,
      environment: 'staging',
      config: { repository: 'sluice/staging' },
    });
    const environments = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.id}/environments`);
    expect(environments.body).toMatchObject({ commit: good, activeEnvironment: 'staging' });
    // So does the choice of environment: it is checked against the project that runs.
    expect(
      (await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, { activeEnvironment: 'prod' })).status,
    ).toBe(200);

    const fixed = await pushMeltanoYml(
      dir,
      meltanoYml(['dev', 'staging', 'prod']).replace('sluice/prod', 'sluice/production'),
      'Fix meltano.yml',
    );
    expect((await get(ws.id)).status).toEqual({ commit: fixed, lastGoodCommit: fixed, error: null });
    const after = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.id}/plugins/tap-github/config`);
    expect(after.body).toMatchObject({
      commit: fixed,
      environment: 'prod',
      config: { repository: 'sluice/production' },
    });
  });

  it('sets the active environment to one that a push added', async () => {
    const ws = await create('Growing');
    const refused = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, {
      activeEnvironment: 'qa',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('environment_not_found');

    const dir = await clone(ws.repositoryUrl);
    await pushMeltanoYml(dir, meltanoYml(['dev', 'qa', 'staging', 'prod']), 'Add a qa environment');
    const answer = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, {
      activeEnvironment: 'qa',
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.activeEnvironment).toBe('qa');
    expect((await get(ws.id)).activeEnvironment).toBe('qa');
    const config = await api(t.url, t.adminToken, 'GET', `/workspaces/${ws.id}/plugins/tap-github/config`);
    expect(config.body).toMatchObject({ environment: 'qa', config: { repository: 'sluice/qa' } });
  });
});
