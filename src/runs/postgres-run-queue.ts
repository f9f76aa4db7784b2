import { createRequire } from 'node:module';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Consumer, QueuedRun, RunQueue } from './run-queue.js';
import { takes } from './run-queue.js';

/** The graphile-worker task every run is delivered as. */
const TASK = 'sluice_run';
/** graphile-worker's schema in the metadata database. */
const SCHEMA = 'graphile_worker';
/** Serialises the queue's schema migrations when several processes start at once. */
const MIGRATION_LOCK = 0x51_1c_e0_01;
/** A backstop for the queue's LISTEN/NOTIFY wake-ups (new jobs are picked up within milliseconds). */
const POLL_MS = 2000;

type GraphileWorker = typeof import('graphile-worker');

/** graphile-worker loads only when a PostgreSQL queue opens, as the database drivers do. */
const lazyRequire = createRequire(import.meta.url);

/** The job's flags: what a worker restricted to some environments or workspaces filters on. */
function flagsOf(run: QueuedRun): string[] {
  return [`env:${run.environment}`, `ws:${run.workspace_id}`];
}

/**
 * The run queue on PostgreSQL, with graphile-worker: a run is a job in the same database as the
 * run's row, added in the same transaction (so a run is never recorded without its job, nor the
 * reverse); workers claim jobs with `SKIP LOCKED` and are woken by `LISTEN/NOTIFY`. The run's own
 * retry policy and a lost worker's runs are Sluice's (runs/worker-lease.ts): a job is delivered
 * once (`max_attempts` 1) and is only the message "run X is queued".
 */
export class PostgresRunQueue implements RunQueue {
  private runner: import('graphile-worker').Runner | undefined;
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private closed = false;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly connectionString: string,
    private readonly graphile: GraphileWorker,
  ) {}

  /** Opens the queue, installing or upgrading graphile-worker's schema (one process at a time). */
  static async open(db: Kysely<Database>, connectionString: string): Promise<PostgresRunQueue> {
    const graphile = lazyRequire('graphile-worker') as GraphileWorker;
    await db.connection().execute(async (connection) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(connection);
      try {
        await graphile.runMigrations({ connectionString, logger: quietLogger(graphile), maxPoolSize: 1 });
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(connection);
      }
    });
    return new PostgresRunQueue(db, connectionString, graphile);
  }

  async submit(run: QueuedRun, insert: (db: Kysely<Database>) => Promise<void>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await insert(trx);
      await this.addJob(trx, run);
    });
  }

  async requeue(run: QueuedRun, db: Kysely<Database> = this.db): Promise<void> {
    await this.addJob(db, run);
  }

  private async addJob(db: Kysely<Database>, run: QueuedRun): Promise<void> {
    const payload = JSON.stringify({ runId: run.id });
    await sql`select ${sql.ref(SCHEMA)}.add_job(${TASK}, ${payload}::json, max_attempts => 1::smallint, flags => ${flagsOf(run)}::text[])`.execute(
      db,
    );
  }

  async consume(consumer: Consumer): Promise<void> {
    const { filter } = consumer;
    const restricted = filter.environments !== null || filter.workspaces !== null;
    this.runner = await this.graphile.run({
      connectionString: this.connectionString,
      concurrency: consumer.concurrency,
      maxPoolSize: Math.min(consumer.concurrency + 2, 10),
      noHandleSignals: true,
      pollInterval: POLL_MS,
      logger: quietLogger(this.graphile),
      // A restricted worker skips the jobs of every other environment and workspace queued now.
      ...(restricted ? { forbiddenFlags: () => this.forbiddenFlags(consumer) } : {}),
      taskList: {
        [TASK]: async (payload, helpers) => {
          const runId = (payload as { runId?: unknown }).runId;
          if (typeof runId !== 'string' || this.closed) return;
          const run = await this.db
            .selectFrom('runs')
            .select(['id', 'environment', 'workspace_id', 'status'])
            .where('id', '=', runId)
            .executeTakeFirst();
          if (run?.status !== 'queued') return;
          // A job queued between reading the flags and claiming one: not this worker's, handed back.
          if (!takes(filter, run)) {
            await this.requeue(run);
            return;
          }
          const controller = new AbortController();
          const done = consumer
            .execute(runId, controller.signal, {
              queueJob: `${helpers.job.id}@${helpers.job.locked_by ?? ''}`,
            })
            .catch((error: unknown) => consumer.onError(runId, error))
            .finally(() => this.running.delete(runId));
          this.running.set(runId, { controller, done });
          await done;
        },
      },
    });
  }

  /** The flags of the jobs waiting now that this consumer must not take. */
  private async forbiddenFlags(consumer: Consumer): Promise<string[]> {
    const rows = await sql<{ flag: string }>`
      select distinct jsonb_object_keys(flags) as flag from ${sql.ref(SCHEMA)}._private_jobs
      where flags is not null and locked_at is null`.execute(this.db);
    const { environments, workspaces } = consumer.filter;
    return rows.rows
      .map((r) => r.flag)
      .filter(
        (flag) =>
          (environments !== null && flag.startsWith('env:') && !environments.includes(flag.slice(4))) ||
          (workspaces !== null && flag.startsWith('ws:') && !workspaces.includes(flag.slice(3))),
      );
  }

  abort(runId: string, reason: unknown): boolean {
    const active = this.running.get(runId);
    if (!active) return false;
    active.controller.abort(reason);
    return true;
  }

  executing(): readonly string[] {
    return [...this.running.keys()];
  }

  async releaseLost(queueJobs: readonly string[]): Promise<void> {
    const claims = queueJobs.map((q) => /^(\d+)@(.+)$/.exec(q)).filter((m) => m !== null);
    if (claims.length === 0) return;
    const lockers = [...new Set(claims.map((m) => m[2] as string))];
    const ids = claims.map((m) => m[1] as string);
    await sql`select ${sql.ref(SCHEMA)}.force_unlock_workers(${lockers}::text[])`.execute(this.db);
    await sql`select ${sql.ref(SCHEMA)}.complete_jobs(${ids}::bigint[])`.execute(this.db);
  }

  async close(reason: unknown): Promise<void> {
    this.closed = true;
    for (const { controller } of this.running.values()) controller.abort(reason);
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.runner?.stop();
  }
}

/** graphile-worker's own log: its warnings and errors only, under a prefix. */
function quietLogger(graphile: GraphileWorker): import('graphile-worker').Logger {
  return new graphile.Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`sluice: run queue: ${message}`);
  });
}
