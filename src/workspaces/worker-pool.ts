import { parentPort, Worker } from 'node:worker_threads';
import { SluiceError, type SluiceErrorCode } from '../errors.js';

/**
 * A pool of worker threads for work that must not run on the server's request thread: each task
 * runs in a worker, one at a time per worker, with a time limit (a worker over it is terminated,
 * its task answers `overLimit('time')`, and a new worker takes its place) and a memory limit.
 * Tasks and results cross as structured clones; a SluiceError thrown in a worker is thrown again
 * here with its code, message and details, any other error as an Error (a bug, answered 500).
 */
export interface WorkerPool<Task, Result> {
  /**
   * Runs a task when a worker is free. Tasks of one `group` (a workspace) run one at a time, so
   * that one group cannot hold every worker while others wait.
   */
  run(task: Task, group: string): Promise<Result>;
  /** Ends every worker; tasks still waiting or running answer `worker_unavailable`. */
  close(): Promise<void>;
}

export interface WorkerPoolOptions {
  /** What a worker runs: a script file, or code (CommonJS) to evaluate. Asked once, when the first worker starts. */
  readonly script: () => { readonly file: string } | { readonly code: string };
  /** Workers at most; they start when tasks need them. */
  readonly size: number;
  /** Milliseconds a task may run in its worker (waiting for a worker does not count). */
  readonly taskMilliseconds: number;
  /** The old-generation heap a worker may use; past it the worker dies and its task fails. */
  readonly memoryMb: number;
  /** The error a task answers when its worker was stopped for running over a limit. */
  readonly overLimit: (limit: 'time' | 'memory') => Error;
}

interface Job {
  readonly id: number;
  readonly task: unknown;
  readonly group: string;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/** What a worker answers for a task, and how an error crosses the thread boundary. */
type Answer =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: CrossingError };
type CrossingError =
  | {
      readonly kind: 'sluice';
      readonly code: SluiceErrorCode;
      readonly message: string;
      readonly details: Record<string, unknown>;
    }
  | { readonly kind: 'other'; readonly name: string; readonly message: string; readonly stack?: string };

export function workerPool<Task, Result>(options: WorkerPoolOptions): WorkerPool<Task, Result> {
  const idle: Worker[] = [];
  const starting = new Set<Worker>();
  const busy = new Set<Worker>();
  const queue: Job[] = [];
  /** Groups with a task running. */
  const running = new Set<string>();
  let nextId = 0;
  let closed = false;
  let script: ReturnType<WorkerPoolOptions['script']> | undefined;

  /** Starts a worker; it takes tasks once it says it is ready, so its start-up never counts as a task's time. */
  const start = (): void => {
    script ??= options.script();
    const limits = { resourceLimits: { maxOldGenerationSizeMb: options.memoryMb } };
    const worker =
      'file' in script ? new Worker(script.file, limits) : new Worker(script.code, { ...limits, eval: true });
    // An idle worker must not keep a process alive (a CLI command, a test) once the rest is done.
    worker.unref();
    starting.add(worker);
    const onReady = (message: unknown) => {
      if ((message as { ready?: unknown })?.ready !== true) return;
      settle();
      if (closed) {
        void worker.terminate();
        return;
      }
      idle.push(worker);
      // A worker that dies while idle (it should not) is dropped, not given the next task.
      worker.once('exit', () => {
        const at = idle.indexOf(worker);
        if (at >= 0) idle.splice(at, 1);
      });
      dispatch();
    };
    const onFailure = (error: Error | number) => {
      settle();
      // A worker that cannot start would fail every task the same way: they answer now, not never.
      const why = typeof error === 'number' ? `exit code ${error}` : error.message;
      for (const job of queue.splice(0)) job.reject(unavailable(`a worker did not start (${why})`));
    };
    const settle = () => {
      starting.delete(worker);
      worker.off('message', onReady);
      worker.off('error', onFailure);
      worker.off('exit', onFailure);
    };
    worker.on('message', onReady);
    worker.on('error', onFailure);
    worker.on('exit', onFailure);
  };

  const dispatch = (): void => {
    if (closed) return;
    for (;;) {
      // The oldest task of a group that has none running, to a free worker.
      const next = queue.findIndex((job) => !running.has(job.group));
      const worker = next < 0 ? undefined : idle.pop();
      if (!worker) break;
      const [job] = queue.splice(next, 1) as [Job];
      execute(worker, job);
    }
    // Then as many new workers as there are tasks that could run now, within the size.
    const ready = new Set(queue.filter((job) => !running.has(job.group)).map((job) => job.group)).size;
    while (busy.size + starting.size + idle.length < options.size && starting.size < ready) start();
  };

  const execute = (worker: Worker, job: Job): void => {
    busy.add(worker);
    running.add(job.group);
    let settled = false;
    const finish = (outcome: { result: unknown } | { error: unknown }, reusable: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      busy.delete(worker);
      running.delete(job.group);
      if (reusable && !closed) idle.push(worker);
      else void worker.terminate();
      if ('error' in outcome) job.reject(outcome.error);
      else job.resolve(outcome.result);
      dispatch();
    };
    const onMessage = (answer: Answer) => {
      if (answer.id !== job.id) return;
      finish(answer.ok ? { result: answer.result } : { error: revive(answer.error) }, true);
    };
    const onError = (error: Error & { code?: string }) => {
      finish(
        {
          error:
            error.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? options.overLimit('memory')
              : unavailable(`a worker failed (${error.message})`),
        },
        false,
      );
    };
    const onExit = (code: number) =>
      finish({ error: unavailable(`a worker stopped (exit code ${code})`) }, false);
    const timer = setTimeout(
      () => finish({ error: options.overLimit('time') }, false),
      options.taskMilliseconds,
    );
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ id: job.id, task: job.task });
  };

  return {
    run(task, group) {
      if (closed) return Promise.reject(unavailable('the server is stopping'));
      return new Promise<Result>((resolve, reject) => {
        queue.push({ id: nextId++, task, group, resolve: resolve as (result: unknown) => void, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(unavailable('the server is stopping'));
      await Promise.all([...idle.splice(0), ...starting, ...busy].map((worker) => worker.terminate()));
    },
  };
}

/**
 * The worker's side: answers each task posted by the pool with `handle`, errors included. Call it
 * once from a worker's entry module.
 */
export function serveWorkerTasks<Task>(handle: (task: Task) => Promise<unknown>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorkerTasks runs in a worker thread only');
  port.postMessage({ ready: true });
  port.on('message', async ({ id, task }: { id: number; task: Task }) => {
    let answer: Answer;
    try {
      answer = { id, ok: true, result: await handle(task) };
    } catch (error) {
      answer = { id, ok: false, error: crossing(error) };
    }
    port.postMessage(answer);
  });
}

function crossing(error: unknown): CrossingError {
  if (error instanceof SluiceError) {
    // Details are what an API answer shows: JSON, with any lazily computed position read now.
    const details = JSON.parse(JSON.stringify(error.details)) as Record<string, unknown>;
    return { kind: 'sluice', code: error.code, message: error.message, details };
  }
  const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
  return { kind: 'other', name, message, stack };
}

function revive(error: CrossingError): Error {
  if (error.kind === 'sluice') return new SluiceError(error.code, error.message, error.details);
  const revived = new Error(error.message);
  revived.name = error.name;
  if (error.stack) revived.stack = error.stack;
  return revived;
}

function unavailable(why: string): SluiceError {
  return new SluiceError(
    'worker_unavailable',
    `The server could not finish this request: ${why}. Try again in a moment.`,
    {},
  );
}
