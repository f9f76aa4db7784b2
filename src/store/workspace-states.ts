import type { Kysely, Selectable } from 'kysely';
import type { Database, WorkspaceStateTable } from './schema.js';

export type WorkspaceStateRow = Selectable<WorkspaceStateTable>;

export async function findWorkspaceState(
  db: Kysely<Database>,
  workspaceId: string,
  stateId: string,
): Promise<WorkspaceStateRow | undefined> {
  return db
    .selectFrom('workspace_states')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('state_id', '=', stateId)
    .executeTakeFirst();
}

/** Inserts or replaces the state of one ID in one workspace. */
export async function upsertWorkspaceState(db: Kysely<Database>, row: WorkspaceStateRow): Promise<void> {
  await db
    .insertInto('workspace_states')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['workspace_id', 'state_id']).doUpdateSet({ value: row.value, updated_at: row.updated_at }),
    )
    .execute();
}

export async function listWorkspaceStates(
  db: Kysely<Database>,
  workspaceId: string,
): Promise<WorkspaceStateRow[]> {
  return db
    .selectFrom('workspace_states')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('state_id')
    .execute();
}

/** Answers whether a row was deleted. */
export async function deleteWorkspaceState(
  db: Kysely<Database>,
  workspaceId: string,
  stateId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('workspace_states')
    .where('workspace_id', '=', workspaceId)
    .where('state_id', '=', stateId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
