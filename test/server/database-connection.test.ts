import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import {
  api,
  createTestDatabase,
  POSTGRES_ADMIN_URL,
  startTestServer,
  storeKinds,
  type TestServer,
} from '../helpers/test-server.js';

const kinds = await storeKinds();

describe.runIf(kinds.includes('postgres'))('a PostgreSQL connection the database drops', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('postgres');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is logged, and the server goes on answering on a new one', async () => {
    expect((await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Before' })).status).toBe(201);
    const database = new URL(t.databaseUrl as string).pathname.slice(1);
    // Every idle connection of the server's pool is ended from outside, as a restart or an
    // administrator's pg_terminate_backend would: without an 'error' listener this kills the process.
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    const ended = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    await admin.end();
    expect(ended.rowCount).toBeGreaterThan(0);
    // The pool notices the drop asynchronously; then the next requests get new connections.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const listed = await api(t.url, t.adminToken, 'GET', '/workspaces');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((w: { name: string }) => w.name)).toContain('Before');
  });
});

describe.runIf(kinds.includes('postgres'))('closing a PostgreSQL store', () => {
  it('returns only once every connection has ended, so the database can be dropped at once', async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    const dropped: string[] = [];
    const logged = vi.spyOn(console, 'error').mockImplementation((...args) => {
      dropped.push(args.join(' '));
    });
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-close-'));
    try {
      // Ten rounds: the connections' ends race the server-side end without the wait, most rounds.
      // One database for all: ending its connections from the server, as DROP ... WITH (FORCE)
      // does first, catches the race as well as a drop, without a new database each round; the
      // last round drops it.
      const rounds = 10;
      for (let round = 1; round <= rounds; round++) {
        const store = await openStore({ databaseUrl: database.url, dataDir });
        await Promise.all([1, 2, 3, 4].map(() => sql`SELECT pg_sleep(0.01)`.execute(store.db)));
        await store.close();
        // At once, on a connection already open: `database.drop()` would connect first, and so wait.
        if (round === rounds) await admin.query(`DROP DATABASE ${database.name} WITH (FORCE)`);
        else
          await admin.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [database.name],
          );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      logged.mockRestore();
      await admin.end();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    expect(dropped).toEqual([]);
  });
});
