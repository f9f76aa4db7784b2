import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database, RunLogLineTable, RunStatus, RunTable } from './schema.js';

export type RunRow = Selectable<RunTable>;
export type RunLogLineRow = Selectable<RunLogLineTable>;

/** Inserts a run; a second active run of the same pipeline violates `runs_one_active_per_pipeline`. */
export async function insertRun(db: Kysely<Database>, row: RunRow): Promise<void> {
  await db.insertInto('runs').values(row).execute();
}

export async function findRun(db: Kysely<Database>, id: string): Promise<RunRow | undefined> {
  return db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Updates a run only while it is in one of `from` (compare-and-swap on the status, so a cancel
 * and a finishing worker cannot both win), and, with `workerId`, only while that worker holds
 * it; answers whether it did.
 */
export async function updateRunIf(
  db: Kysely<Database>,
  id: string,
  from: readonly RunStatus[],
  changes: Updateable<RunTable>,
  workerId?: string | null,
): Promise<boolean> {
  let query = db
    .updateTable('runs')
    .set(changes)
    .where('id', '=', id)
    .where('status', 'in', [...from]);
  if (workerId) query = query.where('worker_id', '=', workerId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** A workspace's runs, newest first, `limit` of them after the cursor (created_at, id). */
export async function listRuns(
  db: Kysely<Database>,
  workspaceId: string,
  limit: number,
  before?: { createdAt: string; id: string },
): Promise<RunRow[]> {
  let query = db.selectFrom('runs').selectAll().where('workspace_id', '=', workspaceId);
  if (before) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', before.createdAt),
        eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)]),
      ]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

export async function runsWithStatus(
  db: Kysely<Database>,
  statuses: readonly RunStatus[],
): Promise<RunRow[]> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('status', 'in', [...statuses])
    .orderBy('created_at')
    .execute();
}

export async function insertLogLines(db: Kysely<Database>, rows: readonly RunLogLineRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('run_log_lines')
    .values([...rows])
    .execute();
}

/** The largest value of an `integer` column on PostgreSQL. */
const MAX_INTEGER = 2_147_483_647;

/**
 * Log lines after `afterSeq`, in order, at most `limit`. `afterSeq` may come from a client's
 * `Last-Event-ID`: a fraction or a number beyond the column's range is an error on PostgreSQL
 * (22P02, 22003) where SQLite compares it, so it is made a whole number in range first.
 */
export async function readLogLines(
  db: Kysely<Database>,
  runId: string,
  afterSeq: number,
  limit: number,
): Promise<RunLogLineRow[]> {
  const after = Math.min(Math.max(Math.floor(afterSeq) || 0, -1), MAX_INTEGER);
  return db
    .selectFrom('run_log_lines')
    .selectAll()
    .where('run_id', '=', runId)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export async function lastLogSeq(db: Kysely<Database>, runId: string): Promise<number> {
  const row = await db
    .selectFrom('run_log_lines')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('run_id', '=', runId)
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** How many runs of a workspace are queued or running. */
export async function activeRunCount(db: Kysely<Database>, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('runs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
