import { SluiceError } from '../errors.js';
import { branchHead, recentBranchHead } from '../git/branch-head.js';
import type { Project } from '../project/model.js';
import { updateWorkspace, type WorkspaceRow } from '../store/workspaces.js';
import { repositoryPath, type WorkspaceContext } from './context.js';
import {
  cachedProjectLoader,
  type ProjectAt,
  type ProjectTask,
  type ProjectTaskResult,
  runProjectTask,
} from './project-tasks.js';

/** Why the project on `main` cannot be used, where, and in which commit. */
export interface ConfigError {
  readonly code: string;
  readonly message: string;
  readonly commit: string | null;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/**
 * Which commit a workspace runs: `main` when its project loads, else the last commit that did,
 * with the error that keeps `main` from being used.
 */
export interface WorkspaceStatus {
  readonly commit: string | null;
  readonly lastGoodCommit: string | null;
  readonly error: ConfigError | null;
}

export function workspaceStatus(row: WorkspaceRow): WorkspaceStatus {
  return {
    commit: row.checked_commit,
    lastGoodCommit: row.last_good_commit,
    error: row.config_error ? (JSON.parse(row.config_error) as ConfigError) : null,
  };
}

/** Projects loaded on the request thread, for the work that needs the project itself (runs, schedules). */
const loadInThread = cachedProjectLoader(64);

/** Where the project of a workspace's commit is, for a project task. */
export function projectAt(context: WorkspaceContext, row: WorkspaceRow, commit: string): ProjectAt {
  return {
    repo: repositoryPath(context, row.repository_name),
    commit,
    display: `${row.repository_name}@${commit.slice(0, 7)}`,
  };
}

/**
 * Runs a project task in the server's project workers, or in-thread where the context has none.
 * Both run the same code and answer alike, errors included.
 */
export function runProjectTaskFor<T extends ProjectTask>(
  context: WorkspaceContext,
  task: T,
): Promise<ProjectTaskResult<T>> {
  return context.projectWorkers ? context.projectWorkers.run(task) : runProjectTask(task, loadInThread);
}

/**
 * Loads the project at one commit of a workspace's repository, on this thread (cached: commits
 * do not change). For commits the workers have already checked: `last_good_commit`, or a
 * `checked_commit` without an error, whose projects are within `PROJECT_LIMITS`.
 */
export async function loadProjectAt(
  context: WorkspaceContext,
  row: WorkspaceRow,
  commit: string,
): Promise<Project> {
  return loadInThread(projectAt(context, row, commit));
}

type StateColumns = Pick<WorkspaceRow, 'checked_commit' | 'last_good_commit' | 'config_error'>;

/** Refreshes under way, by repository, new head and last good commit: they all record the same. */
const refreshing = new Map<string, Promise<StateColumns>>();

/**
 * How old a read of `main` may be when it agrees with the workspace's row. A push or promotion
 * made through any server records the new head in the row, which then disagrees with an older
 * read and has the ref read again at once; only a move made outside Sluice (git run by hand in
 * the repository folder) waits this long to be seen.
 */
const HEAD_AGREES_MAX_AGE_MS = 250;

/**
 * Brings a workspace's status up to date with its `main`: a push may have moved it. A push that
 * breaks `meltano.yml` is accepted by Git; the workspace then reports the error and keeps using
 * its last good commit. Cheap when `main` has not moved (nothing started, and no file read while
 * a recent read agrees with the row); when it has, the requests that notice it at the same time
 * share one check and one update. `mainMoved`: the caller has just moved `main` (a push, a
 * promotion), so the ref is read afresh.
 */
export async function refreshWorkspaceState(
  context: WorkspaceContext,
  row: WorkspaceRow,
  options: { readonly mainMoved?: boolean } = {},
): Promise<WorkspaceRow> {
  const repo = repositoryPath(context, row.repository_name);
  if (
    !options.mainMoved &&
    (await recentBranchHead(repo, 'main', HEAD_AGREES_MAX_AGE_MS)) === row.checked_commit
  )
    return row;
  const head = await branchHead(repo, 'main');
  if (head === row.checked_commit) return row;
  const key = `${repo}\0${head}\0${row.last_good_commit}`;
  let changes = refreshing.get(key);
  if (!changes) {
    changes = recordState(context, row, head).finally(() => refreshing.delete(key));
    refreshing.set(key, changes);
  }
  return { ...row, ...(await changes) };
}

/** Checks the project at `head` (null: no `main`) and records the workspace's new state. */
async function recordState(
  context: WorkspaceContext,
  row: WorkspaceRow,
  head: string | null,
): Promise<StateColumns> {
  let changes: StateColumns;
  if (head === null) {
    changes = {
      checked_commit: null,
      last_good_commit: row.last_good_commit,
      config_error: JSON.stringify({
        code: 'project_not_found',
        message: 'The repository has no main branch. Push a main branch.',
        commit: null,
      } satisfies ConfigError),
    };
  } else {
    try {
      // In a worker: a pushed project is untrusted, and loading it may take long or be refused.
      await runProjectTaskFor(context, { kind: 'check', at: projectAt(context, row, head) });
      changes = { checked_commit: head, last_good_commit: head, config_error: null };
    } catch (error) {
      // Not the project's fault (the server is stopping, a worker died): nothing is recorded.
      if (!(error instanceof SluiceError) || error.code === 'worker_unavailable') throw error;
      const { file, line, column } = error.details as { file?: string; line?: number; column?: number };
      const configError: ConfigError = {
        code: error.code,
        message: error.message,
        commit: head,
        file,
        line,
        column,
      };
      changes = {
        checked_commit: head,
        last_good_commit: row.last_good_commit,
        config_error: JSON.stringify(configError),
      };
    }
  }
  await updateWorkspace(context.store.db, row.id, changes);
  return changes;
}

/** The project a workspace runs: the one at its last good commit. */
export async function projectAtCommit(
  context: WorkspaceContext,
  row: WorkspaceRow,
): Promise<{ project: Project; commit: string }> {
  const commit = row.last_good_commit;
  if (!commit) {
    throw new SluiceError(
      'project_not_found',
      `Workspace '${row.name}' has no commit whose meltano.yml loads. Push a valid meltano.yml to main.`,
      {
        workspace: row.id,
      },
    );
  }
  return { project: await loadProjectAt(context, row, commit), commit };
}
