import { join } from 'node:path';
import { SluiceError } from '../errors.js';
import { openStore, type Store } from '../store/open-store.js';
import { deleteState, findState, listStates, upsertState } from '../store/states.js';

/** A stored state as Meltano shows it: `{"singer_state": {...}}`. */
export interface StoredState {
  readonly singer_state: unknown;
  readonly [key: string]: unknown;
}

export interface StateEntry {
  readonly stateId: string;
  readonly value: StoredState;
  readonly updatedAt: string;
}

/** Where runs keep Singer state: a SQLite file under the project's `.sluice/` for local runs, the metadata database (per workspace) on the server. */
export interface StateStore {
  get(stateId: string): Promise<StateEntry | undefined>;
  set(stateId: string, value: StoredState): Promise<void>;
  list(): Promise<readonly StateEntry[]>;
  clear(stateId: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The folder local runs keep their database in. */
export function localDataDir(projectRoot: string): string {
  return join(projectRoot, '.sluice');
}

/** Checks a state given by a user: a JSON object with a `singer_state` key, as Meltano requires. */
export function parseStoredState(text: string): StoredState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new SluiceError('state_invalid', `The state is not valid JSON: ${(cause as Error).message}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('singer_state' in value)) {
    throw new SluiceError(
      'state_invalid',
      'singer_state not found in top level of provided state. Give a JSON object such as {"singer_state": {"bookmarks": {}}}.',
    );
  }
  return value as StoredState;
}

function entry(row: { state_id: string; value: string; updated_at: string }): StateEntry {
  return { stateId: row.state_id, value: JSON.parse(row.value) as StoredState, updatedAt: row.updated_at };
}

/** Opens (creating and migrating) the project's local state database. */
export async function openLocalStateStore(projectRoot: string): Promise<StateStore> {
  const store: Store = await openStore({ dataDir: localDataDir(projectRoot) });
  const { db } = store;
  return {
    get: async (stateId) => {
      const row = await findState(db, stateId);
      return row && entry(row);
    },
    set: (stateId, value) =>
      upsertState(db, {
        state_id: stateId,
        value: JSON.stringify(value),
        updated_at: new Date().toISOString(),
      }),
    list: async () => (await listStates(db)).map(entry),
    clear: (stateId) => deleteState(db, stateId),
    close: () => store.close(),
  };
}
