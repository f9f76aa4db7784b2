import { SluiceError, type SluiceErrorCode } from '../errors.js';
import { loadProject } from '../project/load.js';
import { folderSource } from '../project/project-source.js';
import { linesOf } from './external-plugin.js';
import { installPlugins } from './install.js';
import type { StateStore } from './local-state-store.js';
import { planRun } from './plan-run.js';
import { runPlan } from './run-pipeline.js';
import type { RunnerError, RunnerJob, RunnerMessage, ServerMessage } from './runner-protocol.js';

/** A thrown value as it crosses to the server. */
export function toRunnerError(error: unknown): RunnerError {
  if (error instanceof SluiceError)
    return { code: error.code, message: error.message, details: error.details };
  return { code: 'run_failed', message: (error as Error)?.message ?? String(error) };
}

/** A RunnerError back as the SluiceError it was. */
export function fromRunnerError(error: RunnerError): SluiceError {
  return new SluiceError(error.code as SluiceErrorCode, error.message, { ...(error.details ?? {}) });
}

function send(message: RunnerMessage): void {
  // Pipes are synchronous on Linux: a server that reads slowly slows the run, nothing piles up.
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/**
 * `sluice internal-runner`: what a server starts (in the sandbox) to execute one job of a
 * workspace's code, a run or a plugin's install, reading the job from stdin (`runner-protocol.ts`).
 * The state store is the server's, reached over the same pipes; a `cancel` line, or the server
 * closing the pipe (it stopped or was killed), aborts the run: every plugin process is stopped.
 * Answers the exit status.
 */
export async function runnerMain(): Promise<number> {
  const lines = linesOf(process.stdin)[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) return 2;
  const job = JSON.parse(first.value) as RunnerJob;
  const controller = new AbortController();
  const pending = new Map<number, { resolve: (m: ServerMessage) => void; reject: (e: unknown) => void }>();
  let calls = 0;
  const listening = (async () => {
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      if (next.value === '') continue;
      const message = JSON.parse(next.value) as ServerMessage;
      if ('cancel' in message) controller.abort(fromRunnerError(message.cancel));
      else {
        const waiting = pending.get(message.reply);
        pending.delete(message.reply);
        if (message.error) waiting?.reject(fromRunnerError(message.error));
        else waiting?.resolve(message);
      }
    }
    const gone = new SluiceError(
      'run_failed',
      'The server stopped during the run; start it again to resume.',
    );
    controller.abort(gone);
    for (const waiting of pending.values()) waiting.reject(gone);
  })();
  const call = (message: { getState: string } | { setState: string; value: unknown }) =>
    new Promise<ServerMessage>((resolve, reject) => {
      const id = ++calls;
      pending.set(id, { resolve, reject });
      send({ call: id, ...message } as RunnerMessage);
    });
  const stateStore: StateStore = {
    get: async (stateId) => {
      const reply = await call({ getState: stateId });
      const state = 'reply' in reply ? reply.state : undefined;
      return state ? { stateId, value: state.value, updatedAt: state.updatedAt } : undefined;
    },
    set: async (stateId, value) => {
      await call({ setState: stateId, value });
    },
    list: async () => [],
    clear: async () => false,
    close: async () => undefined,
  };
  const log = (line: string) => send({ log: line });
  try {
    const project = loadProject(folderSource(job.projectRoot));
    if (job.kind === 'install') {
      await installPlugins({ project, runtime: job.runtime, names: [job.plugin] });
    } else {
      const environment = project.environments.find((e) => e.name === job.environment);
      if (!environment) {
        throw new SluiceError(
          'environment_not_found',
          `Environment '${job.environment}' is not defined in meltano.yml.`,
        );
      }
      await runPlan(
        planRun(project, job.blocks),
        {
          project,
          environment,
          runtime: job.runtime,
          stateStore,
          signal: controller.signal,
          log,
          scratchDir: job.scratchDir,
          // A runner runs a server's workspace: built-in plugins stay inside its folder.
          confinePaths: true,
          onProgress: (progress) => send({ progress }),
          ...(job.stateId ? { stateId: job.stateId } : {}),
        },
        (step) => send({ step }),
      );
    }
    send({ done: true });
    return 0;
  } catch (error) {
    send({ failed: toRunnerError(error) });
    return 1;
  } finally {
    // The server closes stdin once it has read the end; until then, nothing else is awaited.
    void listening;
  }
}
