import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RuntimeEnv } from '../config/env-layers.js';
import { SluiceError } from '../errors.js';
import { OneAtATime } from '../one-at-a-time.js';
import type { Environment, Project } from '../project/model.js';
import type { PluginSandbox } from '../sandbox/plugin-sandbox.js';
import { makeRedactor } from '../secrets/redact-secrets.js';
import { newId } from '../store/ids.js';
import { isUniqueViolation } from '../store/open-store.js';
import {
  findRun,
  insertRun,
  lastLogSeq,
  listRuns,
  type RunRow,
  runsWithStatus,
  updateRunIf,
} from '../store/runs.js';
import type { RunStatus } from '../store/schema.js';
import { forgetWorkers } from '../store/workers.js';
import { findWorkspaceById, type WorkspaceRow } from '../store/workspaces.js';
import { repositoryPath, type WorkspaceContext } from '../workspaces/context.js';
import { loadProjectAt, refreshWorkspaceState } from '../workspaces/workspace-state.js';
import { builtinOrUndefined } from './builtin-plugins.js';
import { resolveExecutable, venvDir } from './external-plugin.js';
import { planRun, type RunPlan } from './plan-run.js';
import { pluginEnv } from './plugin-env.js';
import type { RunEvents } from './run-events.js';
import { type RunLog, RunLogHub } from './run-log.js';
import { checkPlanSettings, planStateIds } from './run-pipeline.js';
import type { Delivery, RunQueue } from './run-queue.js';
import type { RunnerJob } from './runner-protocol.js';
import { runSandboxed } from './sandboxed-runner.js';
import { type WorkerIdentity, WorkerLease } from './worker-lease.js';
import { leaseWorkDir, workspaceWorkDir } from './workspace-checkout.js';
import { workspaceStateStore } from './workspace-state-store.js';

/** What a client sees of a run. */
export interface RunView {
  readonly id: string;
  readonly workspaceId: string;
  readonly environment: string;
  readonly commit: string;
  readonly blocks: readonly string[];
  readonly job: string | null;
  readonly status: RunStatus;
  readonly trigger: 'api' | 'schedule';
  readonly scheduleName: string | null;
  readonly attempt: number;
  readonly maxRetries: number;
  readonly timeoutSeconds: number | null;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly durationMs: number | null;
  readonly recordsByStream: Readonly<Record<string, number>>;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The worker (GET /api/v1/workers) that executes or executed it. */
  readonly workerId: string | null;
}

export function toRunView(row: RunRow): RunView {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    environment: row.environment,
    commit: row.commit,
    blocks: JSON.parse(row.blocks) as string[],
    job: row.job,
    status: row.status,
    trigger: row.trigger,
    scheduleName: row.schedule_name,
    attempt: row.attempt,
    maxRetries: row.max_retries,
    timeoutSeconds: row.timeout_seconds,
    createdAt: row.created_at,
    createdBy: row.created_by,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    durationMs: row.started_at && row.ended_at ? Date.parse(row.ended_at) - Date.parse(row.started_at) : null,
    recordsByStream: JSON.parse(row.records_by_stream) as Record<string, number>,
    error: row.error ? (JSON.parse(row.error) as RunView['error']) : null,
    workerId: row.worker_id,
  };
}

/** The secrets a workspace gives its plugins in one environment, as variables. */
export type SecretsProvider = (
  workspace: WorkspaceRow,
  environment: string,
) => Promise<Readonly<Record<string, string>>>;

export interface RunServiceOptions {
  readonly dataDir: string;
  /** Where every run's and install's code executes: a workspace's code never runs in this process. */
  readonly sandbox: PluginSandbox;
  /** Sluice's own folder, whose `bin/sluice.js internal-runner` executes a job in the sandbox. */
  readonly codeRoot: string;
  /** Where runs wait: in this process (SQLite) or in PostgreSQL for every process. */
  readonly queue: RunQueue;
  /** How processes tell each other of log lines, ends and cancels. */
  readonly events: RunEvents;
  /**
   * Makes `commit` of the workspace's repository available under the context's `reposDir` before a
   * run uses it: a worker fetches it from a server; a server has it already.
   */
  readonly prepareCode?: (workspace: WorkspaceRow, commit: string) => Promise<void>;
  readonly secrets?: SecretsProvider;
  /** Every secret value of a workspace (all environments): hidden in logs and errors. */
  readonly secretValues?: (workspace: WorkspaceRow) => Promise<readonly string[]>;
  /** Used when a request gives none. */
  readonly defaultTimeoutSeconds?: number | null;
  readonly defaultMaxRetries?: number;
  readonly userAgent?: string;
}

export interface StartRunRequest {
  readonly blocks?: readonly string[];
  readonly job?: string;
  readonly timeoutSeconds?: number;
  readonly maxRetries?: number;
  readonly trigger?: 'api' | 'schedule';
  readonly scheduleName?: string;
  /** The state ID to use instead of the generated one. */
  readonly stateId?: string;
}

const FINAL: readonly RunStatus[] = ['success', 'failed', 'cancelled'];

/** Failures a retry would only repeat: the project or the plugin's output is wrong, not the moment. */
const PERMANENT: ReadonlySet<string> = new Set([
  'setting_required',
  'singer_protocol',
  'plugin_not_found',
  'plugin_unsupported',
  'plugin_ambiguous',
  'project_invalid',
  'environment_not_found',
  'run_invalid',
  'usage',
]);

/** How long a cancel waits for the run to stop before answering with its status then. */
const CANCEL_WAIT_MS = 30_000;

/** A queued run, not yet attempted: what every run starts as. */
function newRunRow(
  fields: Pick<
    RunRow,
    'workspace_id' | 'environment' | 'commit' | 'blocks' | 'pipeline' | 'trigger' | 'created_by'
  > &
    Partial<Pick<RunRow, 'job' | 'schedule_name' | 'state_id' | 'max_retries' | 'timeout_seconds'>>,
): RunRow {
  return {
    id: newId('run'),
    job: null,
    schedule_name: null,
    state_id: null,
    max_retries: 0,
    timeout_seconds: null,
    ...fields,
    status: 'queued',
    attempt: 0,
    records_by_stream: '{}',
    error: null,
    created_at: new Date().toISOString(),
    started_at: null,
    ended_at: null,
    worker_id: null,
    queue_job: null,
  };
}

function errorJson(error: unknown): string {
  if (error instanceof SluiceError) return JSON.stringify({ code: error.code, message: error.message });
  return JSON.stringify({ code: 'internal', message: (error as Error)?.message ?? String(error) });
}

/**
 * Pipeline runs on the server: each runs in its workspace, at the commit `main` had when it was
 * asked for, with the workspace's active environment, its secrets and its own state.
 */
export class RunService {
  readonly logs: RunLogHub;
  private readonly queue: RunQueue;
  private readonly events: RunEvents;
  private lease: WorkerLease | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly context: WorkspaceContext,
    private readonly options: RunServiceOptions,
  ) {
    this.queue = options.queue;
    this.events = options.events;
    this.logs = new RunLogHub(context.store.db, (runId) => this.events.publish({ kind: 'log', runId }));
    // A cancel asked of any process stops the run where it executes.
    this.unsubscribe = this.events.subscribe((event) => {
      if (event.kind === 'cancel') {
        this.queue.abort(event.runId, new SluiceError('run_cancelled', `Cancelled by ${event.by}.`));
      }
    });
  }

  /** This process's worker registration, while it executes runs. */
  get worker(): WorkerLease | undefined {
    return this.lease;
  }

  /**
   * Makes this process execute runs: it registers as a worker (heartbeats, see worker-lease.ts)
   * and takes the runs `identity.filter` allows from the queue, `identity.concurrency` at once.
   */
  async startExecuting(identity: WorkerIdentity, leaseMs: number): Promise<void> {
    this.lease = await WorkerLease.register(this.context.store.db, identity, leaseMs, () => {
      // Declared lost by another process: its runs are settled there, so they stop here.
      const reason = new SluiceError(
        'worker_lost',
        'This worker missed its heartbeats and its runs were taken over; stopped here.',
      );
      for (const runId of this.queue.executing()) this.queue.abort(runId, reason);
    });
    await this.queue.consume({
      concurrency: identity.concurrency,
      filter: identity.filter,
      execute: (runId, signal, delivery) => this.execute(runId, signal, delivery),
      // execute settles its own errors; anything reaching here is a bug worth seeing in the logs.
      onError: (runId, error) => console.error(`run ${runId}:`, error),
    });
  }

  /** Validates and queues a run; a second active run of the same pipeline is refused (409). */
  async start(workspace: WorkspaceRow, createdBy: string, request: StartRunRequest): Promise<RunView> {
    const unavailable = this.options.sandbox.problem;
    if (unavailable) throw new SluiceError('sandbox_unavailable', unavailable);
    const row = await refreshWorkspaceState(this.context, workspace);
    if (row.config_error || !row.checked_commit) {
      const error = row.config_error ? (JSON.parse(row.config_error) as { message: string }) : undefined;
      throw new SluiceError(
        'project_invalid',
        `Workspace '${row.name}' cannot run: the meltano.yml on main does not load (${error?.message ?? 'no main branch'}). Fix it and push again.`,
        { workspace: row.id },
      );
    }
    const commit = row.checked_commit;
    const project = await loadProjectAt(this.context, row, commit);
    const environment = this.environmentOf(project, row);
    const args = this.blocksOf(request);
    const plan = planRun(project, args);
    // Refused now, before anything is queued, when a plugin lacks a required setting.
    const secrets = await this.secretsOf(row, environment.name);
    const runtime = this.runtime(secrets);
    checkPlanSettings(plan, { project, environment, runtime });
    // Two runs that would read and advance the same state must not overlap, however they were
    // asked for (a job or its blocks, with or without a mapper): the guard compares state IDs.
    const stateIds = planStateIds(plan, {
      project,
      environment,
      runtime,
      ...(request.stateId ? { stateId: request.stateId } : {}),
    });
    const pipeline = [...new Set(stateIds)].sort().join(' ');
    const run = newRunRow({
      workspace_id: row.id,
      environment: environment.name,
      commit,
      blocks: JSON.stringify(request.job ? [request.job] : args),
      job: request.job ?? null,
      pipeline,
      trigger: request.trigger ?? 'api',
      schedule_name: request.scheduleName ?? null,
      state_id: request.stateId ?? null,
      max_retries: request.maxRetries ?? this.options.defaultMaxRetries ?? 0,
      timeout_seconds: request.timeoutSeconds ?? this.options.defaultTimeoutSeconds ?? null,
      created_by: createdBy,
    });
    try {
      await this.queue.submit(run, (db) => insertRun(db, run));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new SluiceError(
        'conflict',
        `A run of ${request.job ? `job '${request.job}'` : `'${args.join(' ')}'`} would use state ${stateIds.join(', ')}, and a run using it is already queued or running in workspace '${row.name}'. Wait for it to end, or cancel it, then start again.`,
        { workspace: row.id, stateIds },
      );
    }
    return toRunView(run);
  }

  /**
   * Records a scheduled run that could not start (a missing setting, a previous run still going),
   * as a failed run with the reason, so that it shows in the workspace's history.
   */
  async recordRefused(
    workspace: WorkspaceRow,
    createdBy: string,
    request: { blocks: readonly string[]; scheduleName: string; error: SluiceError },
  ): Promise<void> {
    const run = newRunRow({
      workspace_id: workspace.id,
      environment: workspace.active_environment ?? '',
      commit: workspace.checked_commit ?? workspace.last_good_commit ?? '',
      blocks: JSON.stringify(request.blocks),
      pipeline: request.blocks.join(' '),
      trigger: 'schedule',
      schedule_name: request.scheduleName,
      created_by: createdBy,
    });
    await insertRun(this.context.store.db, {
      ...run,
      status: 'failed',
      error: errorJson(request.error),
      ended_at: run.created_at,
    });
  }

  async get(workspace: WorkspaceRow, runId: string): Promise<RunRow> {
    const row = await findRun(this.context.store.db, runId);
    if (!row || row.workspace_id !== workspace.id) {
      throw new SluiceError('not_found', `Workspace '${workspace.name}' has no run '${runId}'.`, {
        run: runId,
      });
    }
    return row;
  }

  list(
    workspace: WorkspaceRow,
    limit: number,
    before?: { createdAt: string; id: string },
  ): Promise<RunRow[]> {
    return listRuns(this.context.store.db, workspace.id, limit, before);
  }

  /** Cancels a queued or running run: every process of it is stopped. A finished run is refused (409). */
  async cancel(workspace: WorkspaceRow, runId: string, by: string): Promise<RunView> {
    const run = await this.get(workspace, runId);
    const reason = new SluiceError('run_cancelled', `Cancelled by ${by}.`);
    if (run.status === 'queued') {
      const cancelled = await updateRunIf(this.context.store.db, run.id, ['queued'], {
        status: 'cancelled',
        ended_at: new Date().toISOString(),
        error: errorJson(reason),
      });
      if (cancelled) {
        this.queue.abort(run.id, reason);
        this.events.publish({ kind: 'end', runId: run.id });
        return toRunView(await this.get(workspace, runId));
      }
    }
    if (!this.queue.abort(run.id, reason)) {
      // Executing in another process, or about to: whichever has it stops it.
      this.events.publish({ kind: 'cancel', runId: run.id, by });
      const current = await this.get(workspace, runId);
      if (FINAL.includes(current.status)) {
        throw new SluiceError('conflict', `Run ${runId} has already ended (${current.status}).`, {
          run: runId,
          status: current.status,
        });
      }
    }
    return toRunView(await this.waitForEnd(workspace, runId));
  }

  /**
   * At start-up of the embedded server (SQLite: one process owns the database), runs that were
   * running when it stopped cannot be resumed mid-stream, so they are marked failed (their state
   * stays at the last confirmed STATE); queued runs are queued again. On PostgreSQL other
   * processes may be executing runs: a lost worker's runs are settled by its lease instead
   * (worker-lease.ts), and queued runs wait in the queue, so only this process's scratch files go.
   */
  async recover(): Promise<void> {
    const db = this.context.store.db;
    await this.removeScratchFolders();
    if (this.context.store.kind !== 'sqlite') return;
    await forgetWorkers(db);
    for (const run of await runsWithStatus(db, ['running'])) {
      await updateRunIf(db, run.id, ['running'], {
        status: 'failed',
        ended_at: new Date().toISOString(),
        error: errorJson(
          new SluiceError(
            'run_failed',
            'The server stopped while this run was running. Its state stays at the last one the loader confirmed; start it again to resume.',
          ),
        ),
      });
    }
    for (const run of await runsWithStatus(db, ['queued'])) await this.queue.requeue(run);
  }

  /**
   * Removes what runs a stopped server left in the workspaces' scratch folders: the private
   * folders of their steps hold plugin configurations, with secrets in clear.
   */
  private async removeScratchFolders(): Promise<void> {
    const work = join(this.options.dataDir, 'work');
    const workspaces = await readdir(work).catch(() => [] as string[]);
    for (const id of workspaces) {
      await rm(scratchFolder(join(work, id)), { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.queue.close(
      new SluiceError('run_failed', 'The process executing the run stopped; start it again to resume.'),
    );
    await this.lease?.release();
  }

  /** The run once it has ended, or as it is when the wait is over (a client can ask again). */
  private async waitForEnd(workspace: WorkspaceRow, runId: string): Promise<RunRow> {
    const deadline = Date.now() + CANCEL_WAIT_MS;
    for (;;) {
      const run = await this.get(workspace, runId);
      if (FINAL.includes(run.status) || Date.now() > deadline) return run;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private blocksOf(request: StartRunRequest): string[] {
    if (request.job !== undefined && request.blocks !== undefined) {
      throw new SluiceError('validation_failed', 'Give either "blocks" or "job", not both.');
    }
    if (request.job !== undefined) return [request.job];
    if (!request.blocks || request.blocks.length === 0) {
      throw new SluiceError(
        'validation_failed',
        'Give "blocks" (e.g. ["tap-csv", "target-duckdb"]) or "job" (a job name from meltano.yml).',
      );
    }
    return [...request.blocks];
  }

  private environmentOf(project: Project, row: WorkspaceRow): Environment {
    const name = row.active_environment;
    const environment = project.environments.find((e) => e.name === name);
    if (!name || !environment) {
      throw new SluiceError(
        'environment_not_found',
        `Workspace '${row.name}' has ${name ? `the active environment '${name}', which its meltano.yml does not define` : 'no active environment'}. Known: ${project.environments.map((e) => e.name).join(', ') || 'none'}. Set the workspace's active environment, or add the environment to meltano.yml.`,
        { workspace: row.id, environment: name },
      );
    }
    return environment;
  }

  private async secretsOf(row: WorkspaceRow, environment: string): Promise<Readonly<Record<string, string>>> {
    return this.options.secrets ? this.options.secrets(row, environment) : {};
  }

  private runtime(secrets: Readonly<Record<string, string>>): RuntimeEnv {
    // Inside the sandbox, PATH, HOME and the temporary folder are the sandbox's own.
    const confined = this.options.sandbox.settings.mode === 'bubblewrap';
    const sandboxed = confined ? { PATH: this.options.sandbox.path, HOME: '/tmp', TMPDIR: '/tmp' } : {};
    return {
      shell: { ...pluginEnv(process.env), ...sandboxed, ...secrets },
      dotenv: {},
      userAgent: this.options.userAgent ?? 'sluice',
    };
  }

  /** Installs into one folder, one at a time: two runs must not build the same virtualenv together. */
  private readonly installs = new OneAtATime();

  /** The worker's side: one run, with its retries, from `queued` to an end status. */
  private async execute(runId: string, signal: AbortSignal, delivery: Delivery): Promise<void> {
    const db = this.context.store.db;
    const workerId = this.lease?.id ?? null;
    const run = await findRun(db, runId);
    if (run?.status !== 'queued') return;
    const claimed = await updateRunIf(db, runId, ['queued'], {
      status: 'running',
      // A run queued again after its worker was lost keeps its first start.
      started_at: run.started_at ?? new Date().toISOString(),
      worker_id: workerId,
      queue_job: delivery.queueJob,
    });
    if (!claimed) return;
    let workspace: WorkspaceRow | undefined;
    let secrets: Readonly<Record<string, string>> = {};
    let redact: (text: string) => string = (text) => text;
    let status: RunStatus = 'failed';
    let log: RunLog | undefined;
    const records: Record<string, number> = {};
    let error: unknown;
    try {
      workspace = await findWorkspaceById(db, run.workspace_id);
      if (!workspace) throw new SluiceError('workspace_not_found', 'The workspace was deleted.');
      secrets = await this.secretsOf(workspace, run.environment);
      const values = [...Object.values(secrets), ...((await this.options.secretValues?.(workspace)) ?? [])];
      // Also as they appear inside URLs (a password in a connection string).
      redact = makeRedactor([...values, ...values.map((v) => encodeURIComponent(v))]);
      log = this.logs.open(runId, redact, await lastLogSeq(db, runId));
      await this.attempts({ run, workspace, secrets, log, records }, signal);
      status = 'success';
    } catch (cause) {
      error = cause;
      status = cause instanceof SluiceError && cause.code === 'run_cancelled' ? 'cancelled' : 'failed';
      log?.write(`Run ${status}: ${(cause as Error)?.message ?? String(cause)}`);
    } finally {
      // Only while this worker still holds it: a run taken over after a lost lease is not ours.
      await updateRunIf(
        db,
        runId,
        ['running'],
        {
          status,
          ended_at: new Date().toISOString(),
          records_by_stream: JSON.stringify(records),
          error: error === undefined ? null : redactJson(errorJson(error), redact),
        },
        workerId,
      );
      if (log) await this.logs.close(log, status);
      this.events.publish({ kind: 'end', runId });
    }
  }

  private async attempts(execution: Execution, signal: AbortSignal): Promise<void> {
    const { run, workspace, log, records } = execution;
    const db = this.context.store.db;
    const total = run.max_retries + 1;
    // A run queued again after its worker was lost goes on with its next attempt.
    for (let attempt = run.attempt + 1; ; attempt++) {
      // A retry runs the whole plan again (resuming from the saved state): count it afresh.
      for (const stream of Object.keys(records)) delete records[stream];
      await updateRunIf(db, run.id, ['running'], { attempt });
      log.write(
        `Run ${run.id} of ${JSON.parse(run.blocks).join(' ')} in workspace '${workspace.name}', environment '${run.environment}', commit ${run.commit.slice(0, 12)}${total > 1 ? ` (attempt ${attempt} of ${total})` : ''}`,
      );
      const timeout = new AbortController();
      const timer =
        run.timeout_seconds === null
          ? undefined
          : setTimeout(
              () =>
                timeout.abort(
                  new SluiceError(
                    'run_failed',
                    `The run timed out after ${run.timeout_seconds} s and was stopped.`,
                  ),
                ),
              run.timeout_seconds * 1000,
            );
      try {
        await this.attempt(execution, AbortSignal.any([signal, timeout.signal]));
        return;
      } catch (error) {
        // A cancel (or the server stopping) ends the run with its reason, whatever the plugin said.
        if (signal.aborted) throw signal.reason;
        if (attempt >= total || (error instanceof SluiceError && PERMANENT.has(error.code))) throw error;
        log.write(`Attempt ${attempt} failed: ${(error as Error)?.message ?? String(error)}`);
        log.write(`Retrying (attempt ${attempt + 1} of ${total})`);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private async attempt(execution: Execution, signal: AbortSignal): Promise<void> {
    const { run, workspace } = execution;
    const workDir = workspaceWorkDir(this.options.dataDir, workspace.id);
    await this.options.prepareCode?.(workspace, run.commit);
    const release = await leaseWorkDir(
      repositoryPath(this.context, workspace.repository_name),
      run.commit,
      workDir,
      signal,
    );
    try {
      await this.runInFolder(execution, signal, workDir);
    } finally {
      release();
    }
  }

  /**
   * Executes a run in its workspace's folder: each plugin with a `pip_url` not yet installed there
   * is installed first (on a server there is no shell to run `sluice install` in), then the plan
   * runs. Both happen in a runner process in the plugin sandbox; this process only serves it the
   * workspace's state, and only under the state IDs the run was started with.
   */
  private async runInFolder(execution: Execution, signal: AbortSignal, workDir: string): Promise<void> {
    const { run, workspace, secrets, log, records } = execution;
    signal.throwIfAborted();
    // The project as the commit has it (read from Git: nothing in the folder is followed).
    const project = await loadProjectAt(this.context, workspace, run.commit);
    const blocks = JSON.parse(run.blocks) as string[];
    const plan: RunPlan = planRun(project, blocks);
    const runtime = this.runtime(secrets);
    const scratch = scratchFolder(workDir);
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const sandboxed = (
      job: RunnerJob,
      handlers: Partial<Parameters<typeof runSandboxed>[0]['handlers']>,
      installing?: string,
    ) =>
      runSandboxed({
        sandbox: this.options.sandbox,
        codeRoot: this.options.codeRoot,
        job,
        scratch,
        ...(installing ? { installing } : {}),
        signal,
        handlers: {
          log: (line) => log.write(line),
          step: () => undefined,
          progress: () => undefined,
          getState: async () => undefined,
          setState: async () => undefined,
          ...handlers,
        },
      });
    const missing = plan.steps
      .flatMap((step) => [step.extractor, ...step.mappers, step.loader])
      .filter((p) => p.pipUrl !== undefined && !builtinOrUndefined(project, p))
      .filter((p) => !existsSync(resolveExecutable(workDir, p)));
    for (const plugin of new Map(missing.map((p) => [`${p.type}/${p.name}`, p])).values()) {
      // One install at a time per folder: two runs must not build the same virtualenv together.
      await this.installs.run(workDir, async () => {
        if (existsSync(resolveExecutable(workDir, plugin))) return;
        log.write(`Installing ${plugin.name} (pip_url ${plugin.pipUrl}) into ${venvDir('.', plugin)}`);
        const venvs = dirname(venvDir(workDir, plugin));
        await mkdir(venvs, { recursive: true });
        await sandboxed({ kind: 'install', projectRoot: workDir, plugin: plugin.name, runtime }, {}, venvs);
      });
      signal.throwIfAborted();
    }
    const store = workspaceStateStore(this.context.store.db, workspace.id);
    // The environment the run was asked in, even if the workspace's has changed since.
    const environment = this.environmentOf(project, { ...workspace, active_environment: run.environment });
    const stateIds = new Set(
      planStateIds(plan, {
        project,
        environment,
        runtime,
        ...(run.state_id ? { stateId: run.state_id } : {}),
      }),
    );
    const checked = (stateId: string) => {
      if (!stateIds.has(stateId)) {
        throw new SluiceError(
          'forbidden',
          `This run may only use the state IDs it was started with, not '${stateId}'.`,
        );
      }
    };
    await sandboxed(
      {
        kind: 'run',
        projectRoot: workDir,
        environment: run.environment,
        blocks,
        runtime,
        scratchDir: scratch,
        ...(run.state_id ? { stateId: run.state_id } : {}),
      },
      {
        getState: async (stateId) => {
          checked(stateId);
          return store.get(stateId);
        },
        setState: async (stateId, value) => {
          checked(stateId);
          await store.set(stateId, value);
        },
        progress: (progress) => {
          // The counts of the steps done so far, and of this one as it goes: live in the API.
          const live = { ...records };
          for (const [stream, count] of Object.entries(progress.records))
            live[stream] = (live[stream] ?? 0) + count;
          const total = Object.values(progress.records).reduce((sum, n) => sum + n, 0);
          const perSecond = Math.round(total / Math.max(progress.elapsedMs / 1000, 0.001));
          log.write(
            `${progress.extractor} -> ${progress.loader}: ${total} records so far (${Object.entries(
              progress.records,
            )
              .map(([stream, n]) => `${stream} ${n}`)
              .join(', ')}), ${perSecond} rows/s`,
          );
          void updateRunIf(this.context.store.db, run.id, ['running'], {
            records_by_stream: JSON.stringify(live),
          }).catch(() => undefined);
        },
        step: (step) => {
          for (const [stream, count] of Object.entries(step.records)) {
            records[stream] = (records[stream] ?? 0) + count;
            log.write(
              `${step.extractor} -> ${step.loader}: ${stream}: ${count} record${count === 1 ? '' : 's'}`,
            );
          }
          log.write(`${step.extractor} -> ${step.loader} done in ${(step.durationMs / 1000).toFixed(2)} s`);
          void updateRunIf(this.context.store.db, run.id, ['running'], {
            records_by_stream: JSON.stringify(records),
          }).catch(() => undefined);
        },
      },
    );
  }
}

/** Where a workspace folder's runs keep their private files: removed with each step, and at start. */
function scratchFolder(workDir: string): string {
  return join(workDir, '.sluice', 'tmp');
}

/** What one run's attempts share: the signal is not here, as each attempt adds its own timeout. */
interface Execution {
  readonly run: RunRow;
  readonly workspace: WorkspaceRow;
  readonly secrets: Readonly<Record<string, string>>;
  readonly log: RunLog;
  /** Records per stream of the current attempt, updated as its steps end. */
  readonly records: Record<string, number>;
}

/** The error's message with secrets hidden (redacted as text: JSON would escape them differently). */
function redactJson(json: string, redact: (text: string) => string): string {
  const error = JSON.parse(json) as { code: string; message: string };
  return JSON.stringify({ ...error, message: redact(error.message) });
}
