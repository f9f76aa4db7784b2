import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/serve.js';
import { down as undoWorkers } from '../../src/store/migrations/0007-workers.js';
import { down as undoAudit } from '../../src/store/migrations/0008-audit.js';
import { down as undoUpstream } from '../../src/store/migrations/0009-upstream.js';
import { down as undoApprovals } from '../../src/store/migrations/0010-approvals.js';
import { openStore } from '../../src/store/open-store.js';
import {
  api,
  createTestDatabase,
  issueToken,
  startTestServer,
  storeKinds,
  type TestServer,
} from '../helpers/test-server.js';

const kinds = await storeKinds();

interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
}

/**
 * Finding 8: duplicate workspace names, and names with zero-width or bidi-override characters,
 * were accepted, so one workspace could pass for another in every list and in the UI.
 */
describe.each(kinds)('workspace names cannot impersonate another workspace (%s)', (kind) => {
  let t: TestServer;
  let prod: Workspace;
  let mine: Workspace;
  /** The hostile user: a read-write token for `mine` only. */
  let hostile: string;
  const everyWorkspace = async (): Promise<Workspace[]> =>
    (await api(t.url, t.adminToken, 'GET', '/workspaces?limit=100')).body.items;

  beforeAll(async () => {
    t = await startTestServer(kind);
    prod = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Beta (prod)' })).body;
    mine = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Team sandbox' })).body;
    hostile = await issueToken(t.url, t.adminToken, {
      name: 'sandbox writer',
      workspaces: [mine.id],
      access: 'write',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const lookAlikes: [string, string][] = [
    ['the same name', 'Beta (prod)'],
    ['other letter case', 'beta (PROD)'],
    ['full-width letters (NFKC)', 'ＢＥＴＡ (PROD)'],
    ['a doubled space', 'Beta  (prod)'],
    ['a no-break space', 'Beta\u00a0(prod)'],
  ];

  it('refuses to rename a workspace to a look-alike of another one (409), changing nothing', async () => {
    for (const [what, name] of lookAlikes) {
      const renamed = await api(t.url, hostile, 'PATCH', `/workspaces/${mine.id}`, { name });
      expect(renamed.status, what).toBe(409);
      expect(renamed.body.error, what).toMatchObject({
        code: 'conflict',
        message: expect.stringMatching(/already exists .*ignoring case and Unicode width forms/),
      });
    }
    // The effect: nothing renamed, neither the name nor the repository.
    const after = await everyWorkspace();
    expect(after.map((w) => [w.name, w.repositoryName])).toEqual([
      [prod.name, prod.repositoryName],
      [mine.name, mine.repositoryName],
    ]);
    // A workspace may still change the letter case of its own name: it clashes with no other.
    const recased = await api(t.url, hostile, 'PATCH', `/workspaces/${mine.id}`, { name: 'TEAM Sandbox' });
    expect(recased.status).toBe(200);
    expect((await api(t.url, hostile, 'PATCH', `/workspaces/${mine.id}`, { name: mine.name })).status).toBe(
      200,
    );
  });

  it('refuses to create a look-alike of another workspace (409)', async () => {
    for (const [what, name] of lookAlikes) {
      const created = await api(t.url, t.adminToken, 'POST', '/workspaces', { name });
      expect(created.status, what).toBe(409);
      expect(created.body.error.code, what).toBe('conflict');
    }
    expect((await everyWorkspace()).map((w) => w.name)).toEqual(['Beta (prod)', 'Team sandbox']);
  });

  const invisible: [string, string, string, string, number][] = [
    ['a zero-width space', 'Beta\u200b (prod)', 'U+200B', 'ZERO WIDTH SPACE', 5],
    ['a right-to-left override', 'Beta (\u202edorp)', 'U+202E', 'RIGHT-TO-LEFT OVERRIDE', 7],
    ['a left-to-right isolate', '\u2066Beta (prod)', 'U+2066', 'LEFT-TO-RIGHT ISOLATE', 1],
    ['a zero-width joiner', 'Be\u200dta (prod)', 'U+200D', 'ZERO WIDTH JOINER', 3],
    ['a soft hyphen', 'Be\u00adta (prod)', 'U+00AD', 'SOFT HYPHEN', 3],
    ['a NUL', 'Beta\u0000 (prod)', 'U+0000', 'NULL', 5],
    ['a line separator', 'Beta\u2028(prod)', 'U+2028', 'LINE SEPARATOR', 5],
    ['a private-use character', 'Beta \ue000(prod)', 'U+E000', 'private-use', 6],
    ['an unassigned code point', 'Beta \u0378(prod)', 'U+0378', 'unassigned', 6],
    ['a lone surrogate', 'Beta \ud800(prod)', 'U+D800', 'surrogate', 6],
  ];

  it('refuses a name with an invisible or meaningless character, saying which and where, on create and rename', async () => {
    for (const [label, name, codePoint, what, position] of invisible) {
      for (const answer of [
        await api(t.url, t.adminToken, 'POST', '/workspaces', { name }),
        await api(t.url, hostile, 'PATCH', `/workspaces/${mine.id}`, { name }),
      ]) {
        expect(answer.status, label).toBe(400);
        const error = answer.body.error;
        expect(error.code).toMatch(/^(name_invalid|validation_failed)$/);
        if (error.code === 'name_invalid') {
          expect(error.message).toContain(codePoint);
          expect(error.message).toContain(what);
          expect(error.message).toContain(`at character ${position}`);
          expect(error.details).toMatchObject({ field: 'name', character: codePoint, position });
        } else {
          // NUL is refused where the request enters, before any rule about names.
          expect(error.message).toMatch(/NUL character \(U\+0000\) at \/name/);
        }
      }
    }
    expect((await everyWorkspace()).map((w) => w.name)).toEqual(['Beta (prod)', 'Team sandbox']);
  });

  it('lets exactly one of many simultaneous creates of the same name win', async () => {
    const spellings = ['Gamma', 'GAMMA', 'Ｇａｍｍａ', ' gamma'];
    const answers = await Promise.all(
      spellings.map((name) => api(t.url, t.adminToken, 'POST', '/workspaces', { name })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array(spellings.length - 1).fill(409)]);
    const gammas = (await everyWorkspace()).filter((w) => w.name.normalize('NFKC').toLowerCase() === 'gamma');
    expect(gammas).toHaveLength(1);
    expect((await api(t.url, t.adminToken, 'DELETE', `/workspaces/${gammas[0]?.id}`)).status).toBe(204);
  });
});

/**
 * Upgrading a server whose database already holds look-alike names (made before names were
 * checked) must not fail, and must not keep the look-alikes: the oldest keeps its name, later
 * ones get a visible suffix.
 */
describe.each(kinds)('upgrading a database with duplicate workspace names (%s)', (kind) => {
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-robust-names-'));
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, keeps the oldest name and renames the later look-alikes', async () => {
    const adminToken = `admin-${randomBytes(24).toString('hex')}`;
    // The database as an older server left it: migrated up to 0005, with look-alike names.
    const store = await openStore({ dataDir, databaseUrl: database?.url });
    // The migrations after 0006 go first, as they would not be there either.
    await undoApprovals(store.db as never);
    await sql`DELETE FROM kysely_migration WHERE name = '0010-approvals'`.execute(store.db);
    await undoUpstream(store.db as never);
    await sql`DELETE FROM kysely_migration WHERE name = '0009-upstream'`.execute(store.db);
    await undoAudit(store.db as never);
    await sql`DELETE FROM kysely_migration WHERE name = '0008-audit'`.execute(store.db);
    await undoWorkers(store.db as never);
    await sql`DELETE FROM kysely_migration WHERE name = '0007-workers'`.execute(store.db);
    await sql`DROP INDEX workspaces_normalized_name`.execute(store.db);
    await sql`ALTER TABLE workspaces DROP COLUMN normalized_name`.execute(store.db);
    await sql`DELETE FROM kysely_migration WHERE name = '0006-unique-workspace-names'`.execute(store.db);
    const oldNames = ['Beta (prod)', 'BETA (PROD)', 'Beta\u200b (prod)', 'Other'];
    for (const [i, name] of oldNames.entries()) {
      const at = `2025-01-0${i + 1}T00:00:00.000Z`;
      await sql`INSERT INTO workspaces (id, name, repository_name, active_environment, created_at, updated_at)
        VALUES (${`ws_old${i}`}, ${name}, ${`old-${i}`}, 'dev', ${at}, ${at})`.execute(store.db);
    }
    await store.close();

    const upgraded = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      databaseUrl: database?.url,
      adminToken,
    });
    try {
      const listed = await api(upgraded.url, adminToken, 'GET', '/workspaces');
      expect(listed.body.items.map((w: Workspace) => w.name)).toEqual([
        'Beta (prod)',
        'BETA (PROD) (2)',
        'Beta\u200b (prod) (3)',
        'Other',
      ]);
      const again = await api(upgraded.url, adminToken, 'POST', '/workspaces', { name: 'beta (prod)' });
      expect(again.status).toBe(409);
    } finally {
      await upgraded.close();
    }
  });
});
