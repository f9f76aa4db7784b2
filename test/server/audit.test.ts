import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-log.js';
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

type Entry = AuditEntry;

/**
 * The audit log: each change made through the API or Git is one entry with who made it, and
 * nobody (admins included) can change or delete an entry, through the API or the database.
 */
describe.each(kinds)('the audit log (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let dev: { id: string; repositoryUrl: string; repositoryName: string };
  let prod: { id: string; repositoryUrl: string; repositoryName: string };
  let writer: string;
  const SECRET_VALUE = 'hunter2-never-in-the-audit-log';

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-audit-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const entries = async (token: string, query = '') => {
    const answer = await api(t.url, token, 'GET', `/audit${query}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.items as Entry[];
  };

  it('records each change once, with its actor, and never a secret or token value', async () => {
    dev = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Audited dev' })).body;
    prod = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Audited prod' })).body;
    const created = await api(t.url, t.adminToken, 'POST', '/tokens', {
      name: 'writer',
      workspaces: [dev.id, prod.id],
      access: 'write',
    });
    writer = created.body.token;
    const writerId = created.body.id;

    expect(
      (await api(t.url, writer, 'PATCH', `/workspaces/${prod.id}`, { activeEnvironment: 'prod' })).status,
    ).toBe(200);
    expect(
      (
        await api(t.url, writer, 'PUT', `/workspaces/${dev.id}/secrets/TAP_AUTH0_CLIENT_SECRET`, {
          value: SECRET_VALUE,
        })
      ).status,
    ).toBe(200);
    expect(
      (await api(t.url, writer, 'DELETE', `/workspaces/${dev.id}/secrets/TAP_AUTH0_CLIENT_SECRET`)).status,
    ).toBe(204);
    const clone = join(work, 'dev');
    await git(work, ['clone', withToken(dev.repositoryUrl, writer), clone]);
    writeFileSync(join(clone, 'model.sql'), 'select 1\n');
    await git(clone, ['add', '.']);
    await git(clone, ['commit', '-m', 'Add a model']);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    const pushedTo = (await git(clone, ['rev-parse', 'HEAD'])).stdout.trim();
    const promoted = await api(t.url, writer, 'POST', `/workspaces/${prod.id}/promotions`, {
      source: dev.id,
    });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(201);
    const reverted = await api(
      t.url,
      writer,
      'POST',
      `/workspaces/${prod.id}/promotions/${promoted.body.id}/revert`,
    );
    expect(reverted.status).toBe(201);
    expect((await api(t.url, t.adminToken, 'DELETE', `/tokens/${writerId}`)).status).toBe(204);

    const all = await entries(t.adminToken);
    const byWriter = { tokenId: writerId, name: 'writer' };
    const admin = expect.objectContaining({ name: expect.stringMatching(/^admin/) });
    expect(all.map((e) => [e.action, e.workspaceId, e.subject])).toEqual([
      ['workspace.create', dev.id, null],
      ['workspace.create', prod.id, null],
      ['token.create', null, writerId],
      ['workspace.update', prod.id, null],
      ['secret.set', dev.id, 'TAP_AUTH0_CLIENT_SECRET'],
      ['secret.remove', dev.id, 'TAP_AUTH0_CLIENT_SECRET'],
      ['git.push', dev.id, 'refs/heads/main'],
      ['promotion.apply', prod.id, promoted.body.id],
      ['promotion.revert', prod.id, promoted.body.id],
      ['token.revoke', null, writerId],
    ]);
    expect(all.map((e) => e.actor)).toEqual([
      admin,
      admin,
      admin,
      byWriter,
      byWriter,
      byWriter,
      byWriter,
      byWriter,
      byWriter,
      admin,
    ]);
    expect(all[3]).toMatchObject({
      before: { activeEnvironment: 'dev' },
      after: { activeEnvironment: 'prod' },
    });
    expect(all[6]?.after).toEqual({ commit: pushedTo });
    expect(all[7]?.after).toMatchObject({ main: promoted.body.resultCommit, source: dev.id });
    const text = JSON.stringify(all);
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).not.toContain(writer);
  });

  it('filters by workspace, actor and time, and shows a workspace token only its workspaces', async () => {
    const onProd = await entries(t.adminToken, `?workspace=${prod.id}`);
    expect(onProd.map((e) => e.action)).toEqual([
      'workspace.create',
      'workspace.update',
      'promotion.apply',
      'promotion.revert',
    ]);
    expect((await entries(t.adminToken, '?actor=writer')).length).toBe(6);
    const all = await entries(t.adminToken);
    const middle = all[4]?.at ?? '';
    expect(
      (await entries(t.adminToken, `?since=${encodeURIComponent(middle)}`)).every((e) => e.at >= middle),
    ).toBe(true);
    expect(
      (await entries(t.adminToken, `?until=${encodeURIComponent(middle)}`)).every((e) => e.at <= middle),
    ).toBe(true);
    expect((await api(t.url, t.adminToken, 'GET', '/audit?since=yesterday')).status).toBe(400);

    const reader = await issueToken(t.url, t.adminToken, {
      name: 'prod reader',
      workspaces: [prod.id],
      access: 'read',
    });
    const seen = await entries(reader);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((e) => e.workspaceId === prod.id)).toBe(true);
    // Asking for another workspace's entries answers none of them.
    expect(await entries(reader, `?workspace=${dev.id}`)).toEqual([]);
  });

  it('pages through every entry and exports them as JSON lines (sluice audit --format jsonl)', async () => {
    const firstPage = await api(t.url, t.adminToken, 'GET', '/audit?limit=3');
    expect(firstPage.body.items).toHaveLength(3);
    const second = await api(
      t.url,
      t.adminToken,
      'GET',
      `/audit?limit=3&cursor=${firstPage.body.nextCursor}`,
    );
    expect(second.body.items[0].id).not.toBe(firstPage.body.items[2].id);
    const exported = await runCliAsync(['audit', '--format', 'jsonl'], work, {
      SLUICE_URL: t.url,
      SLUICE_TOKEN: t.adminToken,
    });
    expect(exported.status, exported.stderr).toBe(0);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Entry);
    expect(lines.map((e) => e.id)).toEqual((await entries(t.adminToken, '?limit=200')).map((e) => e.id));
    const table = await runCliAsync(['audit', '--workspace', prod.repositoryName], work, {
      SLUICE_URL: t.url,
      SLUICE_TOKEN: t.adminToken,
    });
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/promotion\.revert/);
    expect(table.stdout).not.toMatch(/secret\.set/);
  });

  it('cannot be changed or deleted by anyone: no route, and the database refuses it', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const answer = await api(t.url, t.adminToken, method, '/audit', method === 'DELETE' ? undefined : {});
      expect(answer.status, method).toBe(404);
    }
    const before = await entries(t.adminToken);
    const db = t.server.store.db;
    await expect(sql`UPDATE audit_log SET actor_name = 'nobody'`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM audit_log`.execute(db)).rejects.toThrow(/append-only/);
    expect(await entries(t.adminToken)).toEqual(before);
  });
});
