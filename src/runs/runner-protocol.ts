import type { RuntimeEnv } from '../config/env-layers.js';
import type { StoredState } from './local-state-store.js';
import type { StepProgress, StepResult } from './run-pipeline.js';

/**
 * What the server and a run's runner process say to each other, one JSON object per line: the
 * runner executes a workspace's code inside the sandbox, where the database is out of reach, so
 * it asks the server for state, and sends it logs, step results and states as the run goes.
 */

/** The job, the first line on the runner's stdin. */
export type RunnerJob =
  | {
      readonly kind: 'run';
      readonly projectRoot: string;
      readonly environment: string;
      readonly blocks: readonly string[];
      readonly stateId?: string;
      readonly runtime: RuntimeEnv;
      /** Where the run's private files (configuration with secrets) go: inside the run folder. */
      readonly scratchDir: string;
    }
  | {
      readonly kind: 'install';
      readonly projectRoot: string;
      readonly plugin: string;
      readonly runtime: RuntimeEnv;
    };

/** An error as it crosses the boundary: a SluiceError's code, message and details. */
export interface RunnerError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Lines the runner writes on its stdout. */
export type RunnerMessage =
  | { readonly log: string }
  | { readonly step: StepResult }
  | { readonly progress: StepProgress }
  | { readonly call: number; readonly getState: string }
  | { readonly call: number; readonly setState: string; readonly value: StoredState }
  | { readonly done: true }
  | { readonly failed: RunnerError };

/** Lines the server writes on the runner's stdin after the job. */
export type ServerMessage =
  | {
      readonly reply: number;
      readonly state?: { readonly value: StoredState; readonly updatedAt: string } | null;
      readonly error?: RunnerError;
    }
  | { readonly cancel: RunnerError };

/** The longest line either side accepts: a state can be large, not unbounded. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
