import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, git, startTestServer, storeKinds, type TestServer, withToken } from '../helpers/test-server.js';

const kinds = await storeKinds();

interface Workspace {
  readonly id: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
}

interface PromotionRecord {
  readonly id: string;
  readonly status: string;
  readonly sourceWorkspaceId: string;
  readonly resultCommit: string;
}

describe.each(kinds)('two applies into one target at once (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let clones = 0;

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-concurrency-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const call = (method: string, path: string, body?: unknown) => api(t.url, t.adminToken, method, path, body);
  const create = async (name: string): Promise<Workspace> =>
    (await call('POST', '/workspaces', { name })).body;
  const mainOf = async (workspace: Workspace) =>
    (
      await git(join(t.dataDir, 'repos', `${workspace.repositoryName}.git`), [
        'rev-parse',
        '--verify',
        'refs/heads/main',
      ])
    ).stdout.trim();
  const clone = async (workspace: Workspace) => {
    const dir = join(work, `clone-${++clones}`);
    const cloned = await git(work, [
      'clone',
      '--quiet',
      withToken(workspace.repositoryUrl, t.adminToken),
      dir,
    ]);
    expect(cloned.code, cloned.stderr).toBe(0);
    return dir;
  };
  /** Commits `files` on top of the workspace's main and pushes them. */
  const push = async (workspace: Workspace, files: Record<string, string>, message: string) => {
    const dir = await clone(workspace);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '--quiet', '-m', message]);
    const pushed = await git(dir, ['push', '--quiet', 'origin', 'main']);
    expect(pushed.code, pushed.stderr).toBe(0);
  };
  const promote = (target: Workspace, body: Record<string, unknown>) =>
    call('POST', `/workspaces/${target.id}/promotions`, body);
  const history = async (target: Workspace): Promise<PromotionRecord[]> =>
    (await call('GET', `/workspaces/${target.id}/promotions`)).body.items;

  it('lets one of two sources win with 201, answers every other apply 409 (the same preview sent twice too), and loses nothing', async () => {
    const target = await create('Race target');
    await push(target, { 'transform/target-only.sql': 'select 1\n' }, 'Target work');
    const sources = [await create('Race source one'), await create('Race source two')];
    await push(sources[0] as Workspace, { 'extract/one.sql': 'select 1\n' }, 'One');
    await push(sources[1] as Workspace, { 'extract/two.sql': 'select 2\n' }, 'Two');
    const previews = await Promise.all(
      sources.map((source) => promote(target, { source: source.id, dryRun: true })),
    );
    const before = await mainOf(target);
    for (const preview of previews) expect(preview.body.targetCommit).toBe(before);

    // Each preview applied twice at once (a double click, a client's retry): whichever goes in
    // first, its twin is one of the applies that must not go in a second time.
    const applies = [0, 1, 0, 1].map((i) => ({
      i,
      body: {
        source: sources[i]?.id,
        expectedSourceCommit: previews[i]?.body.sourceCommit,
        expectedTargetCommit: before,
      },
    }));
    const answers = await Promise.all(applies.map(({ body }) => promote(target, body)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
    const first = answers.findIndex((a) => a.status === 201);
    const winner = applies[first]?.i as number;
    const won = answers[first]?.body as PromotionRecord;
    for (const lost of answers.filter((a) => a.status === 409)) {
      expect(lost.body.error.code).toBe('conflict');
      expect(lost.body.error.message).toMatch(/moved since the preview/);
    }
    expect(await mainOf(target)).toBe(won.resultCommit);

    const recorded = await history(target);
    expect(recorded.filter((p) => p.status === 'applied').map((p) => p.id)).toEqual([won.id]);
    expect(recorded.filter((p) => p.status !== 'applied' && p.status !== 'failed')).toEqual([]);
    expect(recorded.length).toBeLessThanOrEqual(applies.length);

    const [winnerFile, loserFile] = winner === 0 ? ['one', 'two'] : ['two', 'one'];
    const dir = await clone(target);
    expect(readFileSync(join(dir, 'extract', `${winnerFile}.sql`), 'utf8')).not.toBe('');
    expect(existsSync(join(dir, 'extract', `${loserFile}.sql`))).toBe(false);
    expect(readFileSync(join(dir, 'transform', 'target-only.sql'), 'utf8')).toBe('select 1\n');
    const parents = await git(dir, ['log', '-1', '--format=%P']);
    expect(parents.stdout.trim().split(' ')[0]).toBe(before);
    // One merge on top of the old main, not two.
    expect((await git(dir, ['rev-list', '--count', '--merges', 'HEAD'])).stdout.trim()).toBe('1');

    // The loser previews again and goes in on top: both sources' work is there.
    const loser = sources[1 - winner] as Workspace;
    const again = await promote(target, { source: loser.id, dryRun: true });
    const applied = await promote(target, {
      source: loser.id,
      expectedSourceCommit: again.body.sourceCommit,
      expectedTargetCommit: again.body.targetCommit,
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    const after = await clone(target);
    for (const file of ['extract/one.sql', 'extract/two.sql', 'transform/target-only.sql'])
      expect(existsSync(join(after, file)), file).toBe(true);
    expect((await git(after, ['merge-base', '--is-ancestor', won.resultCommit, 'HEAD'])).code).toBe(0);
  });

  it('races an apply with a push into the target: exactly one goes in, and neither is half-done', async () => {
    const target = await create('Push race target');
    const source = await create('Push race source');
    await push(source, { 'extract/customers.sql': 'select * from customers\n' }, 'Customers');
    const preview = await promote(target, { source: source.id, dryRun: true });
    const before = preview.body.targetCommit as string;
    const local = await clone(target);
    writeFileSync(join(local, 'hotfix.sql'), 'select 42\n');
    await git(local, ['add', '-A']);
    await git(local, ['commit', '--quiet', '-m', 'Hotfix']);
    const hotfix = (await git(local, ['rev-parse', 'HEAD'])).stdout.trim();

    const [applied, pushed] = await Promise.all([
      promote(target, {
        source: source.id,
        expectedSourceCommit: preview.body.sourceCommit,
        expectedTargetCommit: before,
      }),
      git(local, ['push', '--quiet', 'origin', 'main']),
    ]);
    const main = await mainOf(target);
    const recorded = await history(target);
    if (applied.status === 201) {
      // The apply went first: the push, made on the old main, is refused rather than overwriting it.
      expect(pushed.code).not.toBe(0);
      expect(main).toBe(applied.body.resultCommit);
      expect(recorded.map((p) => p.status)).toEqual(['applied']);
    } else {
      expect(applied.status, JSON.stringify(applied.body)).toBe(409);
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(main).toBe(hotfix);
      expect(recorded.every((p) => p.status === 'failed')).toBe(true);
    }
    const fsck = await git(join(t.dataDir, 'repos', `${target.repositoryName}.git`), [
      'fsck',
      '--strict',
      '--no-dangling',
      '--no-progress',
    ]);
    expect(fsck.code, fsck.stderr).toBe(0);
  });
});
