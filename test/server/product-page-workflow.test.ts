import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productPageMeltanoYml } from '../helpers/shared-paths.js';
import { api, git, startTestServer, storeKinds, type TestServer, withToken } from '../helpers/test-server.js';

/** The product page's tap-auth0 meltano.yml, taken from the page itself. */
const AUTH0_YML = productPageMeltanoYml();

const kinds = await storeKinds();

describe.each(kinds)('the product page workflow against a real server (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-work-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const config = async (id: string) => {
    const answer = await api(t.url, t.adminToken, 'GET', `/workspaces/${id}/plugins/tap-auth0/config`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as {
      environment: string;
      config: Record<string, string>;
      settings: { name: string; source: string }[];
    };
  };

  it('creates the workspaces, sets their environments, and promotes dev -> staging -> prod with stock git', async () => {
    // 1, 2, 4: three workspaces; each starts on `dev`, the scaffold's default environment.
    const created = [];
    for (const name of ['My Workspace (dev)', 'My Workspace (staging)', 'My Workspace']) {
      const answer = await api(t.url, t.adminToken, 'POST', '/workspaces', { name });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      expect(answer.body.activeEnvironment).toBe('dev');
      created.push(answer.body);
    }
    const [dev, staging, prod] = created;
    expect(dev.repositoryName).toMatch(/^My-Workspace-dev-[a-z]{7}$/);
    expect(staging.repositoryName).toMatch(/^My-Workspace-staging-[a-z]{7}$/);
    expect(prod.repositoryName).toMatch(/^My-Workspace-[a-z]{7}$/);
    expect(dev.repositoryUrl).toBe(`${t.url}/git/${dev.repositoryName}.git`);

    // 3, 5: the active environments, set through settings (PATCH), as read back from the server.
    for (const [ws, environment] of [
      [staging, 'staging'],
      [prod, 'prod'],
    ] as const) {
      const answer = await api(t.url, t.adminToken, 'PATCH', `/workspaces/${ws.id}`, {
        activeEnvironment: environment,
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.activeEnvironment).toBe(environment);
    }

    // 6: make a change in dev: clone, replace meltano.yml with the page's example, push.
    const devClone = join(work, 'dev');
    expect((await git(work, ['clone', withToken(dev.repositoryUrl, t.adminToken), devClone])).code).toBe(0);
    writeFileSync(join(devClone, 'meltano.yml'), AUTH0_YML);
    expect((await git(devClone, ['commit', '-am', 'Add tap-auth0'])).code).toBe(0);
    const pushed = await git(devClone, ['push', 'origin', 'main']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect((await config(dev.id)).config).toEqual({
      domain: 'matatika-staging.eu.auth0.com',
      client_id: '39Pu9tTomnTv594VAFYnmRvkEpSlI7a6',
    });

    // 7 and 8: in a fresh clone of the target, pull the source's main with the page's command, push.
    const promote = async (source: typeof dev, target: typeof dev, remote: string, folder: string) => {
      const clone = join(work, folder);
      expect((await git(work, ['clone', withToken(target.repositoryUrl, t.adminToken), clone])).code).toBe(0);
      expect(
        (await git(clone, ['remote', 'add', remote, withToken(source.repositoryUrl, t.adminToken)])).code,
      ).toBe(0);
      const pulled = await git(clone, [
        'pull',
        '--no-rebase',
        '-X',
        'theirs',
        '--allow-unrelated-histories',
        remote,
        'main',
      ]);
      expect(pulled.code, pulled.stderr + pulled.stdout).toBe(0);
      const result = await git(clone, ['push']);
      expect(result.code, result.stderr).toBe(0);
    };

    await promote(dev, staging, 'dev', 'staging');
    const stagingConfig = await config(staging.id);
    expect(stagingConfig.environment).toBe('staging');
    expect(stagingConfig.config).toEqual({
      domain: 'matatika-staging.eu.auth0.com',
      client_id: '4Zd5QXqHKNoKq4ySx8CP1UBm5eIUgh7t',
    });

    await promote(staging, prod, 'staging', 'prod');
    const prodConfig = await config(prod.id);
    expect(prodConfig.environment).toBe('prod');
    expect(prodConfig.config).toEqual({
      domain: 'matatika.eu.auth0.com',
      client_id: 'u4kcVHKUD9lkbUbXA3eXCt88scStaqHM',
    });
    expect(prodConfig.settings.map((s) => [s.name, s.source])).toEqual([
      ['domain', 'environment'],
      ['client_id', 'environment'],
    ]);

    // Both manual promotions are in their target's History, by git push, with the pusher's token.
    for (const [source, target] of [
      [dev, staging],
      [staging, prod],
    ] as const) {
      const history = await api(t.url, t.adminToken, 'GET', `/workspaces/${target.id}/promotions`);
      const head = (await api(t.url, t.adminToken, 'GET', `/workspaces/${target.id}`)).body.status.commit;
      expect(history.body.items).toEqual([
        expect.objectContaining({
          kind: 'promotion',
          status: 'applied',
          via: 'git push',
          sourceWorkspaceId: source.id,
          resultCommit: head,
          createdBy: expect.stringMatching(/^admin/),
        }),
      ]);
    }
  });
});
