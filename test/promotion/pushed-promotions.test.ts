import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, git, issueToken, startTestServer, type TestServer, withToken } from '../helpers/test-server.js';

/**
 * A merge pushed to `main` that pulled another workspace's `main` (the product page's manual
 * promotion) is recorded in the target's History, once, as a promotion by git push; a merge that
 * names a workspace the pusher may not read, or a commit not on that workspace's main, is not.
 */
describe('promotions made with git pull and git push', () => {
  let t: TestServer;
  let work: string;
  const ws: Record<string, { id: string; repositoryUrl: string; repositoryName: string }> = {};

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    work = mkdtempSync(join(tmpdir(), 'sluice-pushed-promotions-'));
    for (const key of ['source', 'target', 'private']) {
      ws[key] = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: `Pushed ${key}` })).body;
    }
    for (const key of ['source', 'private']) {
      const clone = join(work, `${key}-edit`);
      await git(work, ['clone', withToken(ws[key]?.repositoryUrl ?? '', t.adminToken), clone]);
      writeFileSync(join(clone, `${key}.sql`), `select '${key}'\n`);
      await git(clone, ['add', '.']);
      await git(clone, ['commit', '-m', `Add ${key}.sql`]);
      await git(clone, ['push', 'origin', 'main']);
    }
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const historyOf = async (key: string) =>
    (await api(t.url, t.adminToken, 'GET', `/workspaces/${ws[key]?.id}/promotions`)).body.items as {
      via: string;
      sourceWorkspaceId: string;
      createdBy: string;
    }[];

  /** A clone of the target, with `pulled`'s main merged by `git pull` under `token`, pushed with `token`. */
  const pullAndPush = async (folder: string, pulled: string, token: string, fetchToken = token) => {
    const clone = join(work, folder);
    await git(work, ['clone', withToken(ws.target?.repositoryUrl ?? '', token), clone]);
    const merged = await git(clone, [
      'pull',
      '--no-rebase',
      '-X',
      'theirs',
      '--allow-unrelated-histories',
      '--no-edit',
      withToken(ws[pulled]?.repositoryUrl ?? '', fetchToken),
      'main',
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    return git(clone, ['push', 'origin', 'main']);
  };

  it("does not name a workspace the pusher may not read, even with that workspace's real commit", async () => {
    const scoped = await issueToken(t.url, t.adminToken, {
      name: 'target-only',
      workspaces: [ws.target?.id ?? ''],
      access: 'write',
    });
    // The private workspace's commits reached the pusher some other way (here: fetched as admin).
    const pushed = await pullAndPush('leaked', 'private', scoped, t.adminToken);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await historyOf('target')).toEqual([]);
  });

  it('records a pulled and pushed main once, by git push, with the pusher', async () => {
    const pusher = await issueToken(t.url, t.adminToken, {
      name: 'release-manager',
      workspaces: [ws.source?.id ?? '', ws.target?.id ?? ''],
      access: 'write',
    });
    const pushed = await pullAndPush('manual', 'source', pusher);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await historyOf('target')).toEqual([
      expect.objectContaining({
        via: 'git push',
        sourceWorkspaceId: ws.source?.id,
        createdBy: 'release-manager',
      }),
    ]);
    // The same history pushed again (from another clone, nothing new) records nothing more.
    const again = await pullAndPush('manual-again', 'source', pusher);
    expect(again.code, again.stderr).toBe(0);
    expect(await historyOf('target')).toHaveLength(1);
  });
});
