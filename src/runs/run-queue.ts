import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** What a queue knows of a run: enough to deliver it to a worker that takes its kind. */
export interface QueuedRun {
  readonly id: string;
  readonly environment: string;
  readonly workspace_id: string;
}

/** How a run reached this process: the queue's job, recorded on the run (`runs.queue_job`). */
export interface Delivery {
  readonly queueJob: string | null;
}

/** Executes one run; aborting `signal` must stop it (cancel, a lost lease, or the process closing). */
export type RunExecutor = (runId: string, signal: AbortSignal, delivery: Delivery) => Promise<void>;

/** Which runs a consuming process takes: null takes every environment / workspace. */
export interface RunFilter {
  readonly environments: readonly string[] | null;
  readonly workspaces: readonly string[] | null;
}

export interface Consumer {
  /** How many runs this process executes at once. */
  readonly concurrency: number;
  readonly filter: RunFilter;
  readonly execute: RunExecutor;
  /** Called with what `execute` threw: it settles its own errors, so anything here is a bug. */
  readonly onError: (runId: string, error: unknown) => void;
}

export function takes(filter: RunFilter, run: QueuedRun): boolean {
  return (
    (filter.environments === null || filter.environments.includes(run.environment)) &&
    (filter.workspaces === null || filter.workspaces.includes(run.workspace_id))
  );
}

/**
 * Where queued runs wait for a worker: in this process (`EmbeddedRunQueue`, SQLite), or in
 * PostgreSQL for any number of processes (`PostgresRunQueue`).
 */
export interface RunQueue {
  /** Records a run with `insert` and queues it: both happen, or neither. */
  submit(run: QueuedRun, insert: (db: Kysely<Database>) => Promise<void>): Promise<void>;
  /**
   * Queues a run that is already recorded as `queued` (at start-up, or after its worker was lost),
   * within the transaction `db` when given.
   */
  requeue(run: QueuedRun, db?: Kysely<Database>): Promise<void>;
  /** Starts executing runs in this process; a process that never calls it only submits. */
  consume(consumer: Consumer): Promise<void>;
  /** Aborts a run this process is executing with `reason`; answers whether it was. */
  abort(runId: string, reason: unknown): boolean;
  /** The runs this process is executing now. */
  executing(): readonly string[];
  /** Lets go of the jobs a lost worker held (`runs.queue_job` values), so they are not redelivered. */
  releaseLost(queueJobs: readonly string[]): Promise<void>;
  /** Stops taking runs, aborts the running ones with `reason` and waits for them to end. */
  close(reason: unknown): Promise<void>;
}

/** An in-process queue with a fixed pool of workers, first in, first out (the embedded default). */
export class EmbeddedRunQueue implements RunQueue {
  private readonly waiting: QueuedRun[] = [];
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private consumer: Consumer | undefined;
  private closed = false;

  constructor(private readonly db: Kysely<Database>) {}

  async submit(run: QueuedRun, insert: (db: Kysely<Database>) => Promise<void>): Promise<void> {
    await insert(this.db);
    await this.requeue(run);
  }

  async requeue(run: QueuedRun): Promise<void> {
    if (this.closed || this.waiting.some((r) => r.id === run.id) || this.running.has(run.id)) return;
    this.waiting.push(run);
    this.pump();
  }

  async consume(consumer: Consumer): Promise<void> {
    this.consumer = consumer;
    this.pump();
  }

  abort(runId: string, reason: unknown): boolean {
    const active = this.running.get(runId);
    if (!active) {
      const index = this.waiting.findIndex((r) => r.id === runId);
      if (index >= 0) this.waiting.splice(index, 1);
      return false;
    }
    active.controller.abort(reason);
    return true;
  }

  executing(): readonly string[] {
    return [...this.running.keys()];
  }

  async releaseLost(): Promise<void> {}

  async close(reason: unknown): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    for (const { controller } of this.running.values()) controller.abort(reason);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private pump(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    while (!this.closed && this.running.size < consumer.concurrency) {
      const index = this.waiting.findIndex((run) => takes(consumer.filter, run));
      if (index < 0) return;
      const [run] = this.waiting.splice(index, 1) as [QueuedRun];
      const controller = new AbortController();
      const done = consumer
        .execute(run.id, controller.signal, { queueJob: null })
        .catch((error: unknown) => consumer.onError(run.id, error))
        .finally(() => {
          this.running.delete(run.id);
          this.pump();
        });
      this.running.set(run.id, { controller, done });
    }
  }
}
