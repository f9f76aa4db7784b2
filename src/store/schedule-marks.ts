import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** When the scheduler last started each schedule of a workspace, by schedule name. */
export async function scheduleMarks(db: Kysely<Database>, workspaceId: string): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('schedule_marks')
    .select(['schedule_name', 'last_run_at'])
    .where('workspace_id', '=', workspaceId)
    .execute();
  return new Map(rows.map((r) => [r.schedule_name, r.last_run_at]));
}

/**
 * Moves a schedule's mark from `previous` to `at` only if it is still `previous` (no mark yet when
 * undefined): of several servers that find the same slot due, exactly one wins it.
 */
export async function claimScheduleMark(
  db: Kysely<Database>,
  workspaceId: string,
  scheduleName: string,
  previous: string | undefined,
  at: string,
): Promise<boolean> {
  if (previous === undefined) {
    const result = await db
      .insertInto('schedule_marks')
      .values({ workspace_id: workspaceId, schedule_name: scheduleName, last_run_at: at })
      .onConflict((oc) => oc.columns(['workspace_id', 'schedule_name']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
  const result = await db
    .updateTable('schedule_marks')
    .set({ last_run_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('schedule_name', '=', scheduleName)
    .where('last_run_at', '=', previous)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
