import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PROJECT_LIMITS, projectTooLarge } from '../project/limits.js';
import type { ProjectTask, ProjectTaskResult, ProjectTaskResults } from './project-tasks.js';
import { workerPool } from './worker-pool.js';

/**
 * The server's project workers: loading a pushed project and computing its configuration views
 * run here, in worker threads, so that a hostile or merely huge project costs its own workspace
 * time and never stalls the request thread that every workspace (and the health check) shares.
 * A task over `PROJECT_LIMITS.taskMilliseconds` or `taskMemoryMb` is stopped and answers
 * `project_too_large`.
 */
export interface ProjectWorkers {
  run<T extends ProjectTask>(task: T): Promise<ProjectTaskResult<T>>;
  close(): Promise<void>;
}

export interface ProjectWorkerOptions {
  /** Worker threads at most (default: the cores, between 2 and 4). */
  readonly size?: number;
  /** Overrides `PROJECT_LIMITS.taskMilliseconds` (tests). */
  readonly taskMilliseconds?: number;
}

export function startProjectWorkers(options: ProjectWorkerOptions = {}): ProjectWorkers {
  const pool = workerPool<ProjectTask, unknown>({
    script: workerScript,
    size: options.size ?? Math.min(4, Math.max(2, availableParallelism())),
    taskMilliseconds: options.taskMilliseconds ?? PROJECT_LIMITS.taskMilliseconds,
    memoryMb: PROJECT_LIMITS.taskMemoryMb,
    overLimit: (limit) =>
      projectTooLarge(limit === 'time' ? 'taskMilliseconds' : 'taskMemoryMb', null, undefined),
  });
  const running = new Map<string, Promise<unknown>>();
  const answered = answerCache();
  return {
    run<T extends ProjectTask>(task: T) {
      const key = JSON.stringify(task);
      const known = answered.get(key);
      if (known) return Promise.resolve(known as ProjectTaskResult<T>);
      // The same task asked again while it runs (pages polling, clients retrying) waits for the first.
      let result = running.get(key);
      if (!result) {
        result = pool.run(task, task.at.repo).then(
          (answer) => {
            running.delete(key);
            // A promotion's result lives in a scratch repository made for one preview: never asked again.
            if (task.kind !== 'promotionConfig') answered.set(key, task.kind, answer);
            return answer;
          },
          (error: unknown) => {
            running.delete(key);
            throw error;
          },
        );
        running.set(key, result);
      }
      return result as Promise<ProjectTaskResult<T>>;
    },
    close: () => pool.close(),
  };
}

/** How many answers, and how many settings in them, are kept: enough for every workspace in use. */
const KEPT_ANSWERS = 256;
const KEPT_SETTINGS = 200_000;

/**
 * Answers already computed, by task. A task names a commit, and a commit never changes, so its
 * answer never does either: a workspace read again and again is answered here, at once, even
 * while every worker is busy with another workspace's project. The least recently used go first,
 * within a count and a number of settings (which is what makes a view large).
 */
function answerCache() {
  const answers = new Map<string, { readonly answer: unknown; readonly weight: number }>();
  let weight = 0;
  return {
    get(key: string): unknown {
      const entry = answers.get(key);
      if (!entry) return undefined;
      answers.delete(key);
      answers.set(key, entry);
      return entry.answer;
    },
    set(key: string, kind: ProjectTask['kind'], answer: unknown): void {
      const entry = { answer, weight: weightOf(kind, answer) };
      if (entry.weight > KEPT_SETTINGS) return;
      answers.set(key, entry);
      weight += entry.weight;
      for (const [oldest, { weight: dropped }] of answers) {
        if (answers.size <= KEPT_ANSWERS && weight <= KEPT_SETTINGS) break;
        answers.delete(oldest);
        weight -= dropped;
      }
    },
  };
}

/** The number of settings an answer holds (at least 1). */
function weightOf(kind: ProjectTask['kind'], answer: unknown): number {
  switch (kind) {
    case 'configuration': {
      const view = answer as ProjectTaskResults['configuration'];
      const settings = view.plugins.reduce((sum, plugin) => sum + plugin.settings.length, 0);
      return 1 + settings * Math.max(1, view.environments.length);
    }
    case 'pluginConfig':
      return 1 + (answer as ProjectTaskResults['pluginConfig']).settings.length;
    case 'environments':
      return 1 + (answer as ProjectTaskResults['environments']).items.length;
    case 'check':
    case 'promotionConfig':
      return 1;
  }
}

let bundledWorker: string | undefined;

/**
 * The worker's code. The build writes it beside the CLI's bundle (`dist/cli/project-worker.cjs`).
 * Running from the TypeScript sources (tests, `tsx`), a worker thread cannot load them itself, so
 * the entry is bundled here, once per process, with esbuild (a development dependency).
 */
function workerScript(): { file: string } | { code: string } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { file: fileURLToPath(new URL('./project-worker.cjs', here)) };
  if (bundledWorker === undefined) {
    const entry = fileURLToPath(new URL('./project-worker.ts', here));
    const esbuild = createRequire(here)('esbuild') as typeof import('esbuild');
    const output = esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      write: false,
      // Modules that load packages lazily (yaml-library.ts) resolve them from the sources' folder.
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
      logLevel: 'warning',
    });
    bundledWorker = output.outputFiles[0]?.text ?? '';
  }
  return { code: bundledWorker };
}
