import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SluiceError } from '../errors.js';
import type { PluginSandbox } from '../sandbox/plugin-sandbox.js';
import { linesOf } from './external-plugin.js';
import type { StateEntry, StoredState } from './local-state-store.js';
import type { StepProgress, StepResult } from './run-pipeline.js';
import { fromRunnerError, toRunnerError } from './runner-main.js';
import {
  MAX_MESSAGE_BYTES,
  type RunnerJob,
  type RunnerMessage,
  type ServerMessage,
} from './runner-protocol.js';

/** What the server does with what a runner says. */
export interface RunnerHandlers {
  log(line: string): void;
  step(result: StepResult): void;
  progress(progress: StepProgress): void;
  getState(stateId: string): Promise<StateEntry | undefined>;
  setState(stateId: string, value: StoredState): Promise<void>;
}

export interface SandboxedJob {
  readonly sandbox: PluginSandbox;
  /** Sluice's own folder: the runner is `bin/sluice.js internal-runner` there. */
  readonly codeRoot: string;
  readonly job: RunnerJob;
  /** The run's scratch folder, inside the run folder (`job.projectRoot`). */
  readonly scratch: string;
  /** During an install: the folder the virtualenv is built in. */
  readonly installing?: string;
  readonly handlers: RunnerHandlers;
  /** Aborting cancels the job: the runner stops its plugins, or is killed after a grace period. */
  readonly signal: AbortSignal;
}

/** How long a cancelled runner has to stop its plugins (they get 5 s after SIGTERM) before it is killed. */
const CANCEL_GRACE_MS = 10_000;
/** How many of the runner's own last stderr lines the server's log keeps when it fails. */
const STDERR_LINES = 20;

/**
 * State calls the runner may have waiting for an answer. The runner makes one at a time; a plugin
 * that took over its pipes could make thousands, each answered with a whole state.
 */
const MAX_CALLS_IN_FLIGHT = 8;

/**
 * Runs one job of a workspace's code (a run, or a plugin's install) in a runner process started
 * in the plugin sandbox, and serves it: its log lines, step results and state calls go to
 * `handlers`. Settles when the runner has ended; rejects with the job's own error (a SluiceError
 * as the runner saw it), or with `run_failed` when the runner stopped without saying why.
 */
export async function runSandboxed(options: SandboxedJob): Promise<void> {
  const { sandbox, job, handlers, signal } = options;
  signal.throwIfAborted();
  if (sandbox.problem) throw new SluiceError('sandbox_unavailable', sandbox.problem);
  const inside = sandbox.settings.mode === 'bubblewrap';
  const env: Record<string, string> = {
    PATH: sandbox.path,
    HOME: inside ? '/tmp' : options.scratch,
    LANG: process.env.LANG ?? 'C.UTF-8',
  };
  const { file, args } = sandbox.commandFor({
    runFolder: job.projectRoot,
    scratch: options.scratch,
    ...(options.installing ? { installing: options.installing } : {}),
    env,
    command: [process.execPath, join(options.codeRoot, 'bin', 'sluice.js'), 'internal-runner'],
  });
  // bwrap itself is found on the server's PATH; what runs inside gets only `env`.
  const child = spawn(file, args, {
    env: inside ? { PATH: process.env.PATH ?? '/usr/bin:/bin' } : env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr.push(...text.split('\n').filter((l) => l !== ''));
    stderr.splice(0, Math.max(0, stderr.length - STDERR_LINES));
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
  });
  exited.catch(() => undefined);
  const write = (message: ServerMessage) => {
    if (!child.stdin.writable) return;
    // Answers the runner does not read pile up in the server's memory: it is stopped instead.
    if (child.stdin.writableLength > MAX_MESSAGE_BYTES) {
      child.kill('SIGKILL');
      return;
    }
    child.stdin.write(`${JSON.stringify(message)}\n`);
  };
  let callsInFlight = 0;
  child.stdin.on('error', () => undefined);
  child.stdin.write(`${JSON.stringify(job)}\n`);
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    write({ cancel: toRunnerError(signal.reason) });
    killTimer = setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE_MS);
    killTimer.unref();
  };
  signal.addEventListener('abort', onAbort, { once: true });

  let outcome: { done: true } | { failed: SluiceError } | undefined;
  try {
    for await (const line of linesOf(child.stdout, MAX_MESSAGE_BYTES)) {
      if (line === '') continue;
      const message = JSON.parse(line) as RunnerMessage;
      if ('log' in message) handlers.log(String(message.log));
      else if ('step' in message) handlers.step(message.step);
      else if ('progress' in message) handlers.progress(message.progress);
      else if ('call' in message) {
        if (++callsInFlight > MAX_CALLS_IN_FLIGHT) throw new Error('too many state calls at once');
        const id = message.call;
        const answer =
          'getState' in message
            ? handlers.getState(message.getState).then((state) => ({
                reply: id,
                state: state ? { value: state.value, updatedAt: state.updatedAt } : null,
              }))
            : handlers.setState(message.setState, message.value).then(() => ({ reply: id }));
        answer
          .then(write, (error: unknown) => write({ reply: id, error: toRunnerError(error) }))
          .finally(() => callsInFlight--);
      } else if ('done' in message) outcome = { done: true };
      else if ('failed' in message) outcome = { failed: fromRunnerError(message.failed) };
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw new SluiceError(
      'run_failed',
      `The run's process sent something it should not (${(error as Error).message}) and was stopped.`,
    );
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  child.stdin.end();
  const code = await exited.finally(() => clearTimeout(killTimer));
  if (outcome && 'done' in outcome) return;
  if (outcome) throw outcome.failed;
  if (signal.aborted) throw signal.reason;
  if (stderr.length > 0)
    console.error(`sluice: a run's process ended with status ${code}:\n${stderr.join('\n')}`);
  throw new SluiceError(
    'run_failed',
    `The run's process stopped unexpectedly (status ${code}) before it finished. The state stays at the last one the loader confirmed.`,
  );
}
