import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import {
  deleteWorkspaceState,
  findWorkspaceState,
  listWorkspaceStates,
  upsertWorkspaceState,
} from '../store/workspace-states.js';
import type { StateEntry, StateStore, StoredState } from './local-state-store.js';

function entry(row: { state_id: string; value: string; updated_at: string }): StateEntry {
  return { stateId: row.state_id, value: JSON.parse(row.value) as StoredState, updatedAt: row.updated_at };
}

/** The Singer state of one workspace's server runs, in the metadata database. */
export function workspaceStateStore(db: Kysely<Database>, workspaceId: string): StateStore {
  return {
    get: async (stateId) => {
      const row = await findWorkspaceState(db, workspaceId, stateId);
      return row && entry(row);
    },
    set: (stateId, value) =>
      upsertWorkspaceState(db, {
        workspace_id: workspaceId,
        state_id: stateId,
        value: JSON.stringify(value),
        updated_at: new Date().toISOString(),
      }),
    list: async () => (await listWorkspaceStates(db, workspaceId)).map(entry),
    clear: (stateId) => deleteWorkspaceState(db, workspaceId, stateId),
    // The database belongs to the server, which closes it.
    close: async () => undefined,
  };
}
