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

export async function setScheduleMark(
  db: Kysely<Database>,
  workspaceId: string,
  scheduleName: string,
  at: string,
): Promise<void> {
  await db
    .insertInto('schedule_marks')
    .values({ workspace_id: workspaceId, schedule_name: scheduleName, last_run_at: at })
    .onConflict((oc) => oc.columns(['workspace_id', 'schedule_name']).doUpdateSet({ last_run_at: at }))
    .execute();
}
