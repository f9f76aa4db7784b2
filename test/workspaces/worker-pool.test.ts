import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import { type WorkerPool, workerPool } from '../../src/workspaces/worker-pool.js';

/**
 * A worker that speaks the pool's protocol (as `serveWorkerTasks` does) and does what each task
 * says: answer, sleep, throw, loop forever, or eat memory. Plain JavaScript, so that the pool runs
 * it as code in a real worker thread, as it runs the project worker's bundle.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.postMessage({ ready: true });
parentPort.on('message', async ({ id, task }) => {
  if (task.do === 'loop') for (;;) {}
  if (task.do === 'eat') { const kept = []; for (;;) kept.push(new Array(1e6).fill(task)); }
  if (task.do === 'sleep') await new Promise((resolve) => setTimeout(resolve, task.ms));
  if (task.do === 'throw') {
    parentPort.postMessage({ id, ok: false, error: { kind: 'sluice', code: 'project_invalid', message: 'no', details: { file: 'meltano.yml', line: 3 } } });
    return;
  }
  parentPort.postMessage({ id, ok: true, result: { echo: task.value, thread: require('node:worker_threads').threadId } });
});
`;

type Task =
  | { do: 'echo'; value: string }
  | { do: 'loop' }
  | { do: 'eat' }
  | { do: 'sleep'; ms: number }
  | { do: 'throw' };
type Result = { echo: string; thread: number };

const pools: WorkerPool<Task, Result>[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

function pool(options: { size?: number; taskMilliseconds?: number; memoryMb?: number } = {}) {
  const created = workerPool<Task, Result>({
    script: () => ({ code: WORKER }),
    size: options.size ?? 2,
    taskMilliseconds: options.taskMilliseconds ?? 5_000,
    memoryMb: options.memoryMb ?? 256,
    overLimit: (limit) => new SluiceError('project_too_large', `over the ${limit} limit`, { limit }),
  });
  pools.push(created);
  return created;
}

/** The longest the request thread went without running a timer while `work` ran. */
async function longestStall(work: Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  await work.catch(() => undefined);
  clearInterval(timer);
  return longest;
}

describe('worker pool', () => {
  it('stops a task that runs over its time, answers the limit, and serves the next task on a new worker', async () => {
    const workers = pool({ size: 1, taskMilliseconds: 300 });
    const first = await workers.run({ do: 'echo', value: 'before' }, 'a');
    const stuck = workers.run({ do: 'loop' }, 'a');
    const stall = await longestStall(stuck);
    await expect(stuck).rejects.toMatchObject({ code: 'project_too_large', details: { limit: 'time' } });
    // The request thread kept running while the worker spun (a loose bound: timers run every 10 ms).
    expect(stall).toBeLessThan(250);
    const after = await workers.run({ do: 'echo', value: 'after' }, 'a');
    expect(after.echo).toBe('after');
    expect(after.thread).not.toBe(first.thread);
  });

  it('stops a task that eats memory past the limit, and answers the limit', async () => {
    const workers = pool({ size: 1, memoryMb: 64, taskMilliseconds: 20_000 });
    await expect(workers.run({ do: 'eat' }, 'a')).rejects.toMatchObject({
      code: 'project_too_large',
      details: { limit: 'memory' },
    });
    expect((await workers.run({ do: 'echo', value: 'still here' }, 'a')).echo).toBe('still here');
  });

  it('brings a SluiceError back with its code, message and details', async () => {
    const error = await pool()
      .run({ do: 'throw' }, 'a')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect(error).toMatchObject({
      code: 'project_invalid',
      message: 'no',
      details: { file: 'meltano.yml', line: 3 },
    });
  });

  it('runs the tasks of one group one at a time, and another group meanwhile', async () => {
    const workers = pool({ size: 2 });
    const order: string[] = [];
    const track = (name: string, task: Task, group: string) =>
      workers.run(task, group).then(() => {
        order.push(name);
      });
    await Promise.all([
      track('a slow', { do: 'sleep', ms: 400 }, 'a'),
      track('a quick', { do: 'echo', value: '' }, 'a'),
      track('b quick', { do: 'echo', value: '' }, 'b'),
    ]);
    // b did not wait for a's slow task; a's second task did.
    expect(order).toEqual(['b quick', 'a slow', 'a quick']);
  });

  it('answers worker_unavailable for the tasks still waiting when it closes', async () => {
    const workers = pool({ size: 1 });
    const settled = (task: Task) => workers.run(task, 'a').catch((error: unknown) => error);
    const running = settled({ do: 'sleep', ms: 2_000 });
    const waiting = settled({ do: 'echo', value: 'never' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await workers.close();
    expect(await waiting).toMatchObject({ code: 'worker_unavailable' });
    expect(await running).toMatchObject({ code: 'worker_unavailable' });
    await expect(workers.run({ do: 'echo', value: 'late' }, 'a')).rejects.toMatchObject({
      code: 'worker_unavailable',
    });
  });
});
