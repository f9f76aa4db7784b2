import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { findActiveTokenAndWorkspace, insertToken } from '../../src/store/tokens.js';
import { runCli } from '../helpers/run-cli.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { api } from '../helpers/test-server.js';

/**
 * The embedded database belongs to one server: its queue, locks and schedules are in that
 * server's memory, so a second one on the same file is refused; and the reads every request makes
 * bypass Kysely's queue but never see a transaction's writes before they are committed.
 */
describe('the embedded (SQLite) database', () => {
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-embedded-db-'));
    store = await openStore({ dataDir: dir });
    await insertToken(store.db, {
      id: 'tok_reader',
      name: 'reader',
      token_hash: 'hash-of-the-reader',
      workspaces: '*',
      access: 'read',
      admin: 0,
      created_at: new Date().toISOString(),
      revoked_at: null,
    });
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is opened by one store at a time: a second one is refused with what to do, and the first goes on', async () => {
    const second = await openStore({ dataDir: dir }).then(
      (other) => other,
      (error: unknown) => error,
    );
    expect(second).toBeInstanceOf(SluiceError);
    expect(second).toMatchObject({ code: 'database_unavailable' });
    expect((second as Error).message).toMatch(/Another Sluice server is using the database .*sluice\.db/);
    expect((second as Error).message).toMatch(/--data-dir.*SLUICE_DATABASE_URL/);
    expect(await findActiveTokenAndWorkspace(store.db, 'hash-of-the-reader', 'ws_none')).toMatchObject({
      token: { id: 'tok_reader' },
      workspace: undefined,
    });
    // Nothing else may open it, so SQLite keeps its WAL index in memory: no -shm file.
    expect(existsSync(join(dir, 'sluice.db-shm'))).toBe(false);
  });

  it('reads a request makes wait for an open transaction instead of seeing its uncommitted writes', async () => {
    let duringTransaction: Promise<unknown> | undefined;
    const rolledBack = store.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('tokens').set({ revoked_at: 'now' }).where('id', '=', 'tok_reader').execute();
        // Another request's access check, made while the revocation is not committed.
        duringTransaction = findActiveTokenAndWorkspace(store.db, 'hash-of-the-reader', 'ws_none');
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('rolled back');
      })
      .catch((error: Error) => error.message);
    expect(await rolledBack).toBe('rolled back');
    // The token was never revoked: the read answers with what was committed.
    expect(await duringTransaction).toMatchObject({ token: { id: 'tok_reader', revoked_at: null } });
  });
});

describe('a second sluice serve on the same data folder', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-second-serve-'));
    server = await startServerProcess({ dataDir, adminToken: 'first-server-admin-token-0123456789' });
  });
  afterAll(async () => {
    await server?.crash();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops with the reason and what to do, no stack trace, while the first keeps serving', async () => {
    const second = runCli(['serve', '--port', '0', '--data-dir', dataDir], dataDir, {
      SLUICE_ADMIN_TOKEN: 'second-server-admin-token-0123456789',
    });
    expect(second.status).not.toBe(0);
    expect(second.stderr).toMatch(/Another Sluice server is using the database/);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    const { status } = await api(
      server?.url ?? '',
      'first-server-admin-token-0123456789',
      'GET',
      '/workspaces',
    );
    expect(status).toBe(200);
  });
});
