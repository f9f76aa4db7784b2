import type { Kysely, Selectable } from 'kysely';
import type { Database, StateTable } from './schema.js';

export type StateRow = Selectable<StateTable>;

export async function findState(db: Kysely<Database>, stateId: string): Promise<StateRow | undefined> {
  return db.selectFrom('state').selectAll().where('state_id', '=', stateId).executeTakeFirst();
}

/** Inserts or replaces the state of one ID. */
export async function upsertState(db: Kysely<Database>, row: StateRow): Promise<void> {
  await db
    .insertInto('state')
    .values(row)
    .onConflict((oc) => oc.column('state_id').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
    .execute();
}

export async function listStates(db: Kysely<Database>): Promise<StateRow[]> {
  return db.selectFrom('state').selectAll().orderBy('state_id').execute();
}

/** Answers whether a row was deleted. */
export async function deleteState(db: Kysely<Database>, stateId: string): Promise<boolean> {
  const result = await db.deleteFrom('state').where('state_id', '=', stateId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
