import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../helpers/run-cli.js';
import {
  api,
  git,
  issueToken,
  startTestServer,
  storeKinds,
  type TestServer,
  withToken,
} from '../helpers/test-server.js';

const kinds = await storeKinds();

/**
 * Approvals: into a workspace that requires N approvals, a promotion is a request, frozen at its
 * preview's commits, applied by the N-th approval of people other than its author who may
 * approve; a request whose source or target moved expires (409); an outsider sees none of it.
 */
describe.each(kinds)('promotion approvals (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let dev: { id: string; repositoryUrl: string; repositoryName: string };
  let prod: { id: string; repositoryName: string };
  const tokens: Record<'author' | 'approver' | 'writer' | 'outsider', string> = {
    author: '',
    approver: '',
    writer: '',
    outsider: '',
  };
  let change = 0;

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-approvals-'));
    dev = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Approvals dev' })).body;
    prod = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Approvals prod' })).body;
    expect(
      (await api(t.url, t.adminToken, 'PATCH', `/workspaces/${prod.id}`, { requiredApprovals: 2 })).status,
    ).toBe(200);
    const both = [dev.id, prod.id];
    tokens.author = await issueToken(t.url, t.adminToken, {
      name: 'author',
      workspaces: both,
      access: 'approve',
    });
    tokens.approver = await issueToken(t.url, t.adminToken, {
      name: 'approver',
      workspaces: both,
      access: 'approve',
    });
    tokens.writer = await issueToken(t.url, t.adminToken, {
      name: 'writer',
      workspaces: both,
      access: 'write',
    });
    tokens.outsider = await issueToken(t.url, t.adminToken, {
      name: 'outsider',
      workspaces: [dev.id],
      access: 'approve',
    });
    await git(work, ['clone', withToken(dev.repositoryUrl, t.adminToken), join(work, 'dev')]);
    await changeDev();
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** A new commit on dev's main. */
  async function changeDev() {
    const clone = join(work, 'dev');
    change++;
    writeFileSync(join(clone, `model_${change}.sql`), `select ${change}\n`);
    await git(clone, ['add', '.']);
    await git(clone, ['commit', '-m', `Model ${change}`]);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
  }
  const prodMain = async () =>
    (await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}`)).body.status.commit;
  const request = (token: string) =>
    api(t.url, token, 'POST', `/workspaces/${prod.id}/promotions`, { source: dev.id });
  const review = (token: string, id: string, verdict: string, comment?: string) =>
    api(t.url, token, 'POST', `/workspaces/${prod.id}/promotion-requests/${id}/reviews`, {
      verdict,
      comment,
    });

  it('applies a request only after two approvals by others who may approve, never the author or a writer', async () => {
    const before = await prodMain();
    const made = await request(tokens.author);
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    const id = made.body.request.id as string;
    expect(made.body.request).toMatchObject({ status: 'open', approvals: 0, requiredApprovals: 2 });
    expect(made.body.request.summary.files).toEqual([{ path: 'model_1.sql', status: 'added' }]);
    expect(await prodMain()).toBe(before);

    // Nobody but an admin turns approvals off to get around them.
    const bypass = await api(t.url, tokens.approver, 'PATCH', `/workspaces/${prod.id}`, {
      requiredApprovals: 0,
    });
    expect(bypass.status).toBe(403);
    const own = await review(tokens.author, id, 'approve');
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/You made this request/);
    const writer = await review(tokens.writer, id, 'approve');
    expect(writer.status).toBe(403);
    expect(writer.body.error.message).toMatch(/needs an admin token or an approve token/);
    expect((await review(tokens.writer, id, 'comment', 'Looks fine to me.')).status).toBe(201);

    const first = await review(tokens.approver, id, 'approve');
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.request).toMatchObject({ status: 'open', approvals: 1 });
    expect(first.body.promotion).toBeUndefined();
    expect((await review(tokens.approver, id, 'approve')).status).toBe(409);
    expect(await prodMain()).toBe(before);

    const second = await review(t.adminToken, id, 'approve');
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body.request).toMatchObject({ status: 'applied', approvals: 2 });
    expect(await prodMain()).toBe(second.body.promotion.resultCommit);
    const shown = await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}/promotion-requests/${id}`);
    expect(
      shown.body.reviews.map((r: { by: { name: string }; verdict: string }) => [r.by.name, r.verdict]),
    ).toEqual([
      ['writer', 'comment'],
      ['approver', 'approve'],
      [expect.stringMatching(/^admin/), 'approve'],
    ]);
    const audit = await api(t.url, t.adminToken, 'GET', `/audit?workspace=${prod.id}`);
    expect(
      audit.body.items
        .map((e: { action: string }) => e.action)
        .filter((a: string) => a.startsWith('promotion.')),
    ).toEqual([
      'promotion.request',
      'promotion.comment',
      'promotion.approve',
      'promotion.approve',
      'promotion.apply',
    ]);
  });

  it('refuses pushes to a workspace that requires approvals: they would bypass them', async () => {
    const clone = join(work, 'prod');
    await git(work, ['clone', withToken(`${t.url}/git/${prod.repositoryName}.git`, t.adminToken), clone]);
    writeFileSync(join(clone, 'hotfix.sql'), 'select 0\n');
    await git(clone, ['add', '.']);
    await git(clone, ['commit', '-m', 'Hotfix straight to prod']);
    const before = await prodMain();
    const pushed = await git(clone, ['push', 'origin', 'main']);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/requires 2 approvals for changes: pushes are refused/);
    expect(await prodMain()).toBe(before);
  });

  it('shows an outsider nothing of the requests (404)', async () => {
    const requests = await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}/promotion-requests`);
    const id = requests.body.items[0].id;
    expect(
      (await api(t.url, tokens.outsider, 'GET', `/workspaces/${prod.id}/promotion-requests`)).status,
    ).toBe(404);
    expect(
      (await api(t.url, tokens.outsider, 'GET', `/workspaces/${prod.id}/promotion-requests/${id}`)).status,
    ).toBe(404);
    const approve = await review(tokens.outsider, id, 'approve');
    expect(approve.status).toBe(404);
    expect(JSON.stringify(approve.body)).not.toContain('Approvals prod');
  });

  it('expires a request whose source moved since (409), and takes no review after a rejection', async () => {
    await changeDev();
    const stale = (await request(tokens.author)).body.request.id as string;
    await changeDev();
    const before = await prodMain();
    const refused = await review(tokens.approver, stale, 'approve');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/has expired: the source or the target moved/);
    expect(
      (await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}/promotion-requests/${stale}`)).body
        .status,
    ).toBe('expired');
    expect(await prodMain()).toBe(before);

    const rejected = (await request(tokens.author)).body.request.id as string;
    expect(
      (await review(tokens.approver, rejected, 'reject', 'Not before the release.')).body.request.status,
    ).toBe('rejected');
    expect((await review(t.adminToken, rejected, 'approve')).status).toBe(409);
    expect(await prodMain()).toBe(before);
  });

  it('works from the CLI: promote makes the request, approval list and approve apply it', async () => {
    await changeDev();
    const env = { SLUICE_URL: t.url, SLUICE_TOKEN: tokens.author };
    const made = await runCliAsync(['promote', dev.repositoryName, prod.repositoryName, '--yes'], work, env);
    expect(made.status, made.stderr).toBe(0);
    const id = /request (req_\w+) is waiting/.exec(made.stdout)?.[1] ?? '';
    expect(made.stdout).toMatch(/requires 2 approvals/);
    const listed = await runCliAsync(['approval', 'list', prod.repositoryName], work, env);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+open\\s+0/2`));
    for (const token of [tokens.approver, t.adminToken]) {
      const approved = await runCliAsync(['approval', 'approve', prod.repositoryName, id], work, {
        SLUICE_URL: t.url,
        SLUICE_TOKEN: token,
      });
      expect(approved.status, approved.stderr).toBe(0);
    }
    expect(
      (await api(t.url, t.adminToken, 'GET', `/workspaces/${prod.id}/promotion-requests/${id}`)).body.status,
    ).toBe('applied');
  });
});
