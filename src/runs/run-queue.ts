/** Executes one run; aborting `signal` must stop it (cancel, or the server closing). */
export type RunExecutor = (runId: string, signal: AbortSignal) => Promise<void>;

/**
 * Where queued runs wait for a worker. The embedded queue below runs them in this process; a
 * queue shared by several machines implements the same interface.
 */
export interface RunQueue {
  enqueue(runId: string): void;
  /** Aborts a run a worker of this queue is executing with `reason`; answers whether one was. */
  abort(runId: string, reason: unknown): boolean;
  /** Stops taking runs, aborts the running ones with `reason` and waits for their workers. */
  close(reason: unknown): Promise<void>;
}

/** An in-process queue with a fixed pool of workers, first in, first out. */
export class EmbeddedRunQueue implements RunQueue {
  private readonly waiting: string[] = [];
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private closed = false;

  constructor(
    private readonly workers: number,
    private readonly execute: RunExecutor,
    private readonly onError: (runId: string, error: unknown) => void,
  ) {}

  enqueue(runId: string): void {
    if (this.closed || this.waiting.includes(runId) || this.running.has(runId)) return;
    this.waiting.push(runId);
    this.pump();
  }

  abort(runId: string, reason: unknown): boolean {
    const active = this.running.get(runId);
    if (!active) {
      const index = this.waiting.indexOf(runId);
      if (index >= 0) this.waiting.splice(index, 1);
      return false;
    }
    active.controller.abort(reason);
    return true;
  }

  async close(reason: unknown): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    for (const { controller } of this.running.values()) controller.abort(reason);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.workers && this.waiting.length > 0) {
      const runId = this.waiting.shift() as string;
      const controller = new AbortController();
      const done = this.execute(runId, controller.signal)
        .catch((error: unknown) => this.onError(runId, error))
        .finally(() => {
          this.running.delete(runId);
          this.pump();
        });
      this.running.set(runId, { controller, done });
    }
  }
}
