import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/open-store.js';
import {
  deleteWorkspace,
  insertWorkspace,
  listWorkspaces,
  pageStampOf,
  updateWorkspace,
  type WorkspacePageQuery,
  workspacePageStamp,
} from '../../src/store/workspaces.js';
import { createTestDatabase, storeKinds } from '../helpers/test-server.js';

const kinds = await storeKinds();

describe.each(kinds)('workspacePageStamp (%s)', (kind) => {
  let store: Store;
  let dir: string;
  let drop = async () => {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-stamp-'));
    const database = kind === 'postgres' ? await createTestDatabase() : undefined;
    if (database) drop = database.drop;
    store = await openStore({ dataDir: dir, databaseUrl: database?.url });
    for (let i = 0; i < 5; i++) {
      const at = new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString();
      await insertWorkspace(store.db, {
        id: `ws_${i}`,
        name: `Stamp ${i}`,
        repository_name: `stamp-${i}`,
        active_environment: 'dev',
        created_at: at,
        updated_at: at,
        checked_commit: null,
        last_good_commit: null,
        config_error: null,
        schedules_enabled: null,
        owned_keys: null,
      });
    }
  });
  afterAll(async () => {
    await store?.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const pages: readonly WorkspacePageQuery[] = [
    { scope: '*', limit: 10 },
    { scope: '*', limit: 3 },
    { scope: '*', limit: 2, after: { createdAt: '2024-01-01T00:00:01.000Z', id: 'ws_1' } },
    { scope: ['ws_3', 'ws_1'], limit: 10 },
    { scope: [], limit: 10 },
  ];

  it.each(pages)('is the stamp of the rows the page holds: %j', async (page) => {
    expect(await workspacePageStamp(store.db, page)).toBe(pageStampOf(await listWorkspaces(store.db, page)));
  });

  it('changes with every change to a row of the page, and only then', async () => {
    const page = { scope: '*', limit: 3 } as const;
    const before = await workspacePageStamp(store.db, page);
    expect(before).toBe('ws_0:1,ws_1:1,ws_2:1');
    await updateWorkspace(store.db, 'ws_4', { active_environment: 'prod' });
    expect(await workspacePageStamp(store.db, page)).toBe(before);
    await updateWorkspace(store.db, 'ws_1', { active_environment: 'prod' });
    expect(await workspacePageStamp(store.db, page)).toBe('ws_0:1,ws_1:2,ws_2:1');
    await deleteWorkspace(store.db, 'ws_0');
    expect(await workspacePageStamp(store.db, page)).toBe('ws_1:2,ws_2:1,ws_3:1');
  });
});
