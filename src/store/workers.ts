import type { Kysely, Selectable } from 'kysely';
import type { RunRow } from './runs.js';
import type { Database, WorkerTable } from './schema.js';

export type WorkerRow = Selectable<WorkerTable>;

export async function insertWorker(db: Kysely<Database>, row: WorkerRow): Promise<void> {
  await db.insertInto('workers').values(row).execute();
}

/** Records a heartbeat; false when the row is gone: another process declared this worker lost. */
export async function touchWorker(db: Kysely<Database>, id: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('workers')
    .set({ last_heartbeat_at: at })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function deleteWorker(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('workers').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Forgets every worker: at the start of an embedded server, the only process that had any. */
export async function forgetWorkers(db: Kysely<Database>): Promise<void> {
  await db.deleteFrom('workers').execute();
}

export async function listWorkers(db: Kysely<Database>): Promise<WorkerRow[]> {
  return db.selectFrom('workers').selectAll().orderBy('started_at').orderBy('id').execute();
}

/** Workers whose last heartbeat is older than `before` (ISO time). */
export async function workersSilentSince(db: Kysely<Database>, before: string): Promise<WorkerRow[]> {
  return db.selectFrom('workers').selectAll().where('last_heartbeat_at', '<', before).execute();
}

/** The runs a worker holds (`running` with its id). */
export async function runsHeldBy(db: Kysely<Database>, workerIds: readonly string[]): Promise<RunRow[]> {
  if (workerIds.length === 0) return [];
  return db
    .selectFrom('runs')
    .selectAll()
    .where('worker_id', 'in', [...workerIds])
    .where('status', '=', 'running')
    .orderBy('started_at')
    .execute();
}
