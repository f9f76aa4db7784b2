import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { SluiceError } from '../errors.js';
import { newId } from '../store/ids.js';
import { insertLogLines, lastLogSeq, type RunRow } from '../store/runs.js';
import type { Database } from '../store/schema.js';
import {
  deleteWorker,
  insertWorker,
  touchWorker,
  type WorkerRow,
  workersSilentSince,
} from '../store/workers.js';
import type { RunEvents } from './run-events.js';
import type { RunFilter, RunQueue } from './run-queue.js';

/**
 * How long a worker may stay silent before its runs are taken from it: 30 s by default
 * (SLUICE_WORKER_LEASE_SECONDS, 5 to 60). It heartbeats six times per lease, and every process
 * looks for silent workers three times per lease, so a lost worker's runs are settled within
 * about 1.3 leases of its last heartbeat.
 */
export const DEFAULT_LEASE_MS = 30_000;

export function leaseFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.SLUICE_WORKER_LEASE_SECONDS;
  if (text === undefined || text === '') return DEFAULT_LEASE_MS;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 5 || seconds > 60) {
    throw new SluiceError(
      'usage',
      `SLUICE_WORKER_LEASE_SECONDS must be a whole number of seconds from 5 to 60, not '${text}'.`,
    );
  }
  return seconds * 1000;
}

export interface WorkerIdentity {
  readonly name: string;
  readonly kind: 'worker' | 'server';
  readonly filter: RunFilter;
  readonly concurrency: number;
}

/**
 * This process's registration as a worker: a row with its labels, kept alive by heartbeats.
 * When a heartbeat finds the row gone, another process has declared this one lost and settled
 * its runs; `onLost` must then stop them at once (someone else may be running them again).
 */
export class WorkerLease {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();

  private constructor(
    private readonly db: Kysely<Database>,
    readonly row: WorkerRow,
    private readonly leaseMs: number,
    private readonly onLost: () => void,
  ) {}

  static async register(
    db: Kysely<Database>,
    identity: WorkerIdentity,
    leaseMs: number,
    onLost: () => void,
  ): Promise<WorkerLease> {
    const now = new Date().toISOString();
    const row: WorkerRow = {
      id: newId('wkr'),
      name: identity.name,
      kind: identity.kind,
      host: hostname(),
      labels: JSON.stringify(identity.filter),
      concurrency: identity.concurrency,
      started_at: now,
      last_heartbeat_at: now,
    };
    await insertWorker(db, row);
    const lease = new WorkerLease(db, row, leaseMs, onLost);
    lease.timer = setInterval(() => {
      lease.beating = lease.beating.then(() => lease.beat());
    }, leaseMs / 6);
    lease.timer.unref();
    return lease;
  }

  get id(): string {
    return this.row.id;
  }

  private async beat(): Promise<void> {
    try {
      if (!(await touchWorker(this.db, this.row.id, new Date().toISOString()))) {
        clearInterval(this.timer);
        console.error(
          `sluice: worker '${this.row.name}' was declared lost (no heartbeat within ${this.leaseMs / 1000} s); its runs are stopped here.`,
        );
        this.onLost();
      }
    } catch (error) {
      // A heartbeat the database missed is retried at the next one; the lease covers several.
      console.error(`sluice: worker heartbeat failed: ${(error as Error).message}`);
    }
  }

  /** Ends the registration: the worker has stopped its runs and leaves. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    await deleteWorker(this.db, this.row.id).catch(() => undefined);
  }
}

/**
 * Settles the runs of workers that stopped sending heartbeats (killed, a lost machine): each
 * such run is queued again when its retry policy has an attempt left, or failed. Any process may
 * do it (servers and workers all look): the worker's row is deleted first and the runs move by
 * compare-and-swap, so each is settled once, by whichever process notices first.
 */
export class LostWorkerReaper {
  private timer: NodeJS.Timeout | undefined;
  private reaping: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queue: RunQueue,
    private readonly events: RunEvents,
    private readonly leaseMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.reaping = this.reaping.then(() =>
        this.reap(Date.now()).catch((error: unknown) => {
          console.error(`sluice: looking for lost workers failed: ${(error as Error).message}`);
        }),
      );
    }, this.leaseMs / 3);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reaping;
  }

  /** One pass at `now` (ms): silent workers are removed, then every run held by a removed worker is settled. */
  async reap(now: number): Promise<void> {
    const silent = await workersSilentSince(this.db, new Date(now - this.leaseMs).toISOString());
    const names = new Map(silent.map((w) => [w.id, w]));
    for (const worker of silent) await deleteWorker(this.db, worker.id);
    const orphans = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('status', '=', 'running')
      .where('worker_id', 'is not', null)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('workers').select('id').whereRef('workers.id', '=', 'runs.worker_id'))),
      )
      .execute();
    const released: string[] = [];
    for (const run of orphans) {
      if (await this.settle(run, names.get(run.worker_id ?? ''))) {
        if (run.queue_job) released.push(run.queue_job);
      }
    }
    await this.queue.releaseLost(released);
  }

  private async settle(run: RunRow, worker: WorkerRow | undefined): Promise<boolean> {
    const who = worker ? `Worker '${worker.name}' on ${worker.host}` : 'The worker executing this run';
    const lost = `${who} stopped sending heartbeats (lease ${this.leaseMs / 1000} s) during attempt ${run.attempt} of ${run.max_retries + 1}.`;
    const retry = run.attempt < run.max_retries + 1;
    const settled = await this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('runs')
        .set(
          retry
            ? { status: 'queued', worker_id: null, queue_job: null }
            : {
                status: 'failed',
                ended_at: new Date().toISOString(),
                error: JSON.stringify({
                  code: 'worker_lost',
                  message: `${lost} The state stays at the last one the loader confirmed; start the run again to resume.`,
                }),
              },
        )
        .where('id', '=', run.id)
        .where('status', '=', 'running')
        .where('worker_id', '=', run.worker_id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      const seq = (await lastLogSeq(trx, run.id)) + 1;
      await insertLogLines(trx, [
        {
          run_id: run.id,
          seq,
          at: new Date().toISOString(),
          text: retry ? `${lost} Queued again, to resume from the last saved state.` : `Run failed: ${lost}`,
        },
      ]);
      if (retry) await this.queue.requeue(run, trx);
      return true;
    });
    if (settled) this.events.publish(retry ? { kind: 'log', runId: run.id } : { kind: 'end', runId: run.id });
    return settled;
  }
}
