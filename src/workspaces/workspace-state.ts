import { SluiceError } from '../errors.js';
import { resolveRef } from '../git/bare-repository.js';
import { commitProjectSource } from '../git/commit-project-source.js';
import { loadProject } from '../project/load.js';
import type { Project } from '../project/model.js';
import { updateWorkspace, type WorkspaceRow } from '../store/workspaces.js';
import { repositoryPath, type WorkspaceContext } from './context.js';

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

const cache = new Map<string, Project>();
const CACHE_SIZE = 64;

/** Loads the project at one commit of a workspace's repository (cached: commits do not change). */
export async function loadProjectAt(
  context: WorkspaceContext,
  row: WorkspaceRow,
  commit: string,
): Promise<Project> {
  const repo = repositoryPath(context, row.repository_name);
  const key = `${repo}@${commit}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const project = loadProject(
    await commitProjectSource(repo, commit, `${row.repository_name}@${commit.slice(0, 7)}`),
  );
  cache.set(key, project);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return project;
}

/**
 * Brings a workspace's status up to date with its `main`: a push may have moved it. A push that
 * breaks `meltano.yml` is accepted by Git; the workspace then reports the error and keeps using
 * its last good commit.
 */
export async function refreshWorkspaceState(
  context: WorkspaceContext,
  row: WorkspaceRow,
): Promise<WorkspaceRow> {
  const head = await resolveRef(repositoryPath(context, row.repository_name), 'refs/heads/main');
  if (head === row.checked_commit) return row;
  let changes: Pick<WorkspaceRow, 'checked_commit' | 'last_good_commit' | 'config_error'>;
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
      await loadProjectAt(context, row, head);
      changes = { checked_commit: head, last_good_commit: head, config_error: null };
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
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
  return { ...row, ...changes };
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
