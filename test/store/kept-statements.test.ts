import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/open-store.js';
import { findWorkspaceById, insertWorkspace } from '../../src/store/workspaces.js';
import { createTestDatabase, storeKinds } from '../helpers/test-server.js';

const kinds = await storeKinds();

/**
 * Both stores keep their statements prepared (SQLite by text in the process, PostgreSQL by name on
 * each connection); a schema changed meanwhile (another server's migration, or on SQLite the server's
 * own) must not break them.
 */
describe.each(kinds)('statements kept prepared (%s)', (kind) => {
  let store: Store;
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-kept-'));
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
    store = await openStore({ dataDir: dir, databaseUrl: database?.url });
    const at = new Date().toISOString();
    await insertWorkspace(store.db, {
      id: 'ws_kept',
      name: 'Kept',
      repository_name: 'kept',
      active_environment: 'dev',
      created_at: at,
      updated_at: at,
      checked_commit: null,
      last_good_commit: null,
      config_error: null,
      schedules_enabled: null,
      owned_keys: null,
    });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the same query again, and still after another connection added a column', async () => {
    for (let i = 0; i < 3; i++) expect((await findWorkspaceById(store.db, 'ws_kept'))?.name).toBe('Kept');
    if (database) {
      const other = new pg.Client({ connectionString: database.url });
      await other.connect();
      await other.query("ALTER TABLE workspaces ADD COLUMN added_later text DEFAULT 'new'");
      await other.end();
    } else {
      // The embedded database has one server (see embedded-database.test.ts): its own upgrade changes it.
      await sql`ALTER TABLE workspaces ADD COLUMN added_later text DEFAULT 'new'`.execute(store.db);
    }
    for (let i = 0; i < 3; i++) {
      const row = (await findWorkspaceById(store.db, 'ws_kept')) as Record<string, unknown> | undefined;
      expect(row).toMatchObject({ name: 'Kept', added_later: 'new' });
    }
  });
});
