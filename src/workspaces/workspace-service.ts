import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findEnvironment } from '../config/select-environment.js';
import { SluiceError } from '../errors.js';
import { commitFiles, initBareRepository } from '../git/bare-repository.js';
import { scaffoldProject } from '../project/scaffold.js';
import { newId } from '../store/ids.js';
import { isUniqueViolation } from '../store/open-store.js';
import { activeRunCount } from '../store/runs.js';
import {
  deleteWorkspace as deleteRow,
  findWorkspaceById,
  findWorkspaceByName,
  findWorkspaceByRepositoryName,
  insertWorkspace,
  renameRepository,
  repositoryNameTaken,
  updateWorkspace as updateRow,
  type WorkspaceRow,
  type WorkspaceScope,
} from '../store/workspaces.js';
import { repositoryPath, type WorkspaceContext } from './context.js';
import { repositoryNameFor, validateWorkspaceName } from './names.js';
import { routeTo } from './workspace-route.js';
import {
  projectAtCommit,
  refreshWorkspaceState,
  type WorkspaceStatus,
  workspaceStatus,
} from './workspace-state.js';

/** A workspace as the API shows it. */
export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
  readonly activeEnvironment: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Pushes are refused; only promotions and reverts change `main`. */
  readonly protected: boolean;
  /** Top-level meltano.yml keys that keep this workspace's value when promoted into. */
  readonly ownedKeys: readonly string[];
  /** Whether the server runs the schedules of its meltano.yml. */
  readonly schedulesEnabled: boolean;
  /** The workspace it is promoted from (its stage before it), or null. */
  readonly upstream: string | null;
  /** Approvals a promotion into it needs (0: it applies at once). */
  readonly requiredApprovals: number;
  readonly status: WorkspaceStatus;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

const SERVER_AUTHOR = { name: 'Sluice', email: 'sluice@localhost' };

/** The keys a workspace keeps when promoted into: its own list, else `project_id` and `default_environment`. */
export function ownedKeys(row: WorkspaceRow): string[] {
  return row.owned_keys ? (JSON.parse(row.owned_keys) as string[]) : ['project_id', 'default_environment'];
}

/** The workspace's switch, else the default: schedules run except where the active environment is `dev`. */
export function schedulesEnabled(row: WorkspaceRow): boolean {
  return row.schedules_enabled === null ? row.active_environment !== 'dev' : row.schedules_enabled === 1;
}

export function toWorkspace(context: WorkspaceContext, row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    name: row.name,
    repositoryName: row.repository_name,
    repositoryUrl: `${context.publicUrl.replace(/\/+$/, '')}/git/${row.repository_name}.git`,
    activeEnvironment: row.active_environment,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    protected: row.protected === 1,
    ownedKeys: ownedKeys(row),
    schedulesEnabled: schedulesEnabled(row),
    upstream: row.upstream_workspace_id,
    requiredApprovals: row.required_approvals ?? 0,
    status: workspaceStatus(row),
  };
}

/** The 409 for a name another workspace has (compared as workspaceNameKey compares). */
function nameTaken(name: string): SluiceError {
  return new SluiceError(
    'conflict',
    `A workspace named '${name}' already exists (names are compared ignoring case and Unicode width forms). Choose another name.`,
    { field: 'name' },
  );
}

/**
 * Refuses a name that another workspace already has, ignoring case and Unicode forms
 * (`ＢＥＴＡ (PROD)` is `Beta (prod)`). The unique index on the normalised name is what holds
 * under concurrency; this check only answers early, before any repository is built.
 */
async function assertNameAvailable(context: WorkspaceContext, name: string, self?: string): Promise<void> {
  const holder = await findWorkspaceByName(context.store.db, name);
  if (holder && holder.id !== self) throw nameTaken(name);
}

async function uniqueRepositoryName(context: WorkspaceContext, name: string): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = repositoryNameFor(name);
    if (
      !(await repositoryNameTaken(context.store.db, candidate)) &&
      !existsSync(repositoryPath(context, candidate))
    )
      return candidate;
  }
  throw new SluiceError('conflict', 'Could not find a free repository name; try again.');
}

/**
 * Creates a workspace: a bare repository whose `main` holds a new Meltano project (environments
 * dev, staging, prod; default dev), and its row, with the active environment set to the project's
 * default. The repository is built aside and moved into place, so a failure leaves nothing behind.
 */
export async function createWorkspace(
  context: WorkspaceContext,
  input: { name: unknown },
): Promise<Workspace> {
  const name = validateWorkspaceName(input.name);
  await assertNameAvailable(context, name);
  const repositoryName = await uniqueRepositoryName(context, name);
  const finalPath = repositoryPath(context, repositoryName);
  const buildPath = `${finalPath}.creating-${process.pid}`;
  await mkdir(context.reposDir, { recursive: true });
  let commit: string;
  try {
    await initBareRepository(buildPath);
    commit = await commitFiles(buildPath, {
      branch: 'main',
      files: scaffoldProject(),
      message: `Create workspace ${name}`,
      author: SERVER_AUTHOR,
      expectedOld: null,
    });
    await rename(buildPath, finalPath);
  } catch (error) {
    await rm(buildPath, { recursive: true, force: true });
    throw error;
  }
  const now = new Date().toISOString();
  const row: Omit<WorkspaceRow, 'version' | 'protected' | 'upstream_workspace_id' | 'required_approvals'> = {
    id: newId('ws'),
    name,
    repository_name: repositoryName,
    active_environment: 'dev',
    created_at: now,
    updated_at: now,
    checked_commit: commit,
    last_good_commit: commit,
    config_error: null,
    schedules_enabled: null,
    owned_keys: null,
  };
  try {
    await insertWorkspace(context.store.db, row);
  } catch (error) {
    await rm(finalPath, { recursive: true, force: true });
    if (isUniqueViolation(error)) {
      if (await findWorkspaceByName(context.store.db, name)) throw nameTaken(name);
      throw new SluiceError('conflict', 'That repository name was taken at the same moment; try again.');
    }
    throw error;
  }
  return toWorkspace(context, {
    ...row,
    version: 1,
    protected: 0,
    upstream_workspace_id: null,
    required_approvals: null,
  });
}

/** A workspace by id or repository name (current or former), or undefined. */
export async function findWorkspace(
  context: WorkspaceContext,
  ref: string,
): Promise<WorkspaceRow | undefined> {
  return (await findWorkspaceById(context.store.db, ref)) ?? (await findWorkspaceByRepository(context, ref));
}

/** A workspace by repository name (current or former, with or without `.git`), or undefined. */
export async function findWorkspaceByRepository(
  context: WorkspaceContext,
  ref: string,
): Promise<WorkspaceRow | undefined> {
  return findWorkspaceByRepositoryName(context.store.db, ref.replace(/\.git$/, ''));
}

export function workspaceNotFound(ref: string): SluiceError {
  return new SluiceError(
    'workspace_not_found',
    `No workspace '${ref}'. List yours with \`sluice workspace list\` (GET /api/v1/workspaces).`,
    { workspace: ref },
  );
}

/** The workspace, with its status brought up to date with `main`. */
export async function getWorkspace(context: WorkspaceContext, row: WorkspaceRow): Promise<Workspace> {
  return toWorkspace(context, await refreshWorkspaceState(context, row));
}

/** Who asks for a change: the rules below tell admins apart. A token's principal is one. */
export interface WorkspaceActor {
  readonly admin: boolean;
  /** The workspaces it may see: an upstream must be one of them. */
  readonly workspaces: WorkspaceScope;
}

/** What a PATCH may change; every field is checked before any is saved. */
export interface WorkspaceChanges {
  readonly name?: unknown;
  readonly activeEnvironment?: unknown;
  readonly protected?: unknown;
  readonly ownedKeys?: unknown;
  readonly schedulesEnabled?: unknown;
  /** A workspace id or repository name, or null for none. */
  readonly upstream?: unknown;
  readonly requiredApprovals?: unknown;
}

type ColumnChanges = {
  -readonly [K in
    | 'active_environment'
    | 'protected'
    | 'schedules_enabled'
    | 'owned_keys'
    | 'upstream_workspace_id'
    | 'required_approvals']?: WorkspaceRow[K];
};

function invalid(field: string, message: string): SluiceError {
  return new SluiceError('validation_failed', message, { field });
}

/**
 * The admin-only changes. Protection is an admin's decision; a protected workspace (prod, most
 * often) changes only through promotions, so what makes it what it is — its name and repository
 * URL, its protection, which environment it runs (a write token could otherwise point prod's runs
 * at another environment's configuration), which keys promotions leave alone — stays with admins
 * too. Its schedules switch stays with its writers, like its runs, state and secrets.
 */
function requireAdminFor(actor: WorkspaceActor, row: WorkspaceRow, changes: WorkspaceChanges): void {
  if (actor.admin) return;
  if (changes.protected !== undefined)
    throw new SluiceError('forbidden', 'Only an admin token can protect or unprotect a workspace.', {
      field: 'protected',
    });
  if (changes.requiredApprovals !== undefined)
    throw new SluiceError('forbidden', 'Only an admin token can set how many approvals promotions need.', {
      field: 'requiredApprovals',
    });
  if (row.protected !== 1) return;
  const guarded = (['name', 'activeEnvironment', 'ownedKeys', 'upstream'] as const).filter(
    (f) => changes[f] !== undefined,
  );
  if (guarded.length > 0)
    throw new SluiceError(
      'forbidden',
      `Workspace '${row.name}' is protected: only an admin token can change its ${guarded.join(', ')}.`,
      { fields: guarded },
    );
}

/**
 * The upstream a PATCH names, checked: a workspace the caller can see, not this one, and not one
 * promoted (directly or further down) from this one, which would make the route a loop.
 */
async function checkedUpstream(
  context: WorkspaceContext,
  actor: WorkspaceActor,
  current: WorkspaceRow,
  ref: unknown,
): Promise<string | null> {
  if (ref === null) return null;
  if (typeof ref !== 'string' || ref === '')
    throw invalid('upstream', 'upstream must be the id or repository name of a workspace, or null for none.');
  const upstream = await findWorkspace(context, ref);
  if (!upstream || (actor.workspaces !== '*' && !actor.workspaces.includes(upstream.id)))
    throw workspaceNotFound(ref);
  if (upstream.id === current.id)
    throw invalid('upstream', `Workspace '${current.name}' cannot be promoted from itself.`);
  if ((await routeTo(context, upstream)).some((stage) => stage.id === current.id))
    throw invalid(
      'upstream',
      `'${upstream.name}' is promoted from '${current.name}' already (directly or further down its route): it cannot also be its upstream.`,
    );
  return upstream.id;
}

/** Checks every field of a PATCH and answers the columns to write; throws at the first bad one. */
async function plannedColumns(
  context: WorkspaceContext,
  actor: WorkspaceActor,
  current: WorkspaceRow,
  changes: WorkspaceChanges,
): Promise<ColumnChanges> {
  const columns: ColumnChanges = {};
  if (changes.upstream !== undefined) {
    columns.upstream_workspace_id = await checkedUpstream(context, actor, current, changes.upstream);
  }
  if (changes.requiredApprovals !== undefined) {
    const count = changes.requiredApprovals;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 10)
      throw invalid('requiredApprovals', 'requiredApprovals must be a whole number from 0 (none) to 10.');
    columns.required_approvals = count;
  }
  if (changes.activeEnvironment !== undefined) {
    if (typeof changes.activeEnvironment !== 'string' || changes.activeEnvironment === '') {
      throw invalid(
        'activeEnvironment',
        'activeEnvironment must be the name of an environment, such as "staging".',
      );
    }
    const { project } = await projectAtCommit(context, current);
    columns.active_environment = findEnvironment(
      project,
      changes.activeEnvironment,
      `the workspace's meltano.yml at ${current.last_good_commit?.slice(0, 7)}`,
    ).name;
  }
  if (changes.protected !== undefined) {
    if (typeof changes.protected !== 'boolean')
      throw invalid('protected', 'protected must be true or false.');
    columns.protected = changes.protected ? 1 : 0;
  }
  if (changes.schedulesEnabled !== undefined) {
    const flag = changes.schedulesEnabled;
    if (typeof flag !== 'boolean' && flag !== null)
      throw invalid('schedulesEnabled', 'schedulesEnabled must be true, false or null (the default).');
    columns.schedules_enabled = flag === null ? null : flag ? 1 : 0;
  }
  if (changes.ownedKeys !== undefined) {
    const keys = changes.ownedKeys;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && /^[A-Za-z_][\w.-]*$/.test(k))) {
      throw invalid(
        'ownedKeys',
        'ownedKeys must be a list of top-level meltano.yml keys, such as ["project_id", "default_environment"].',
      );
    }
    columns.owned_keys = JSON.stringify([...new Set(keys as string[])]);
  }
  return columns;
}

/**
 * Renames a workspace, sets its active environment (one that the project on `main` defines, or,
 * while `main` does not load, the last commit that did), its protection, schedules switch and
 * owned keys. All or nothing: every field is checked first, then all are saved in one statement
 * (one transaction with a rename), so a refused request saves none of them.
 */
export async function updateWorkspace(
  context: WorkspaceContext,
  actor: WorkspaceActor,
  row: WorkspaceRow,
  changes: WorkspaceChanges,
): Promise<Workspace> {
  requireAdminFor(actor, row, changes);
  const current = await refreshWorkspaceState(context, row);
  const name = changes.name === undefined ? undefined : validateWorkspaceName(changes.name);
  if (name !== undefined) await assertNameAvailable(context, name, current.id);
  const columns = await plannedColumns(context, actor, current, changes);
  const now = new Date().toISOString();
  if (name === undefined || name === current.name) {
    if (Object.keys(columns).length === 0) return toWorkspace(context, current);
    await updateRow(context.store.db, current.id, { ...columns, updated_at: now });
    return toWorkspace(context, { ...current, ...columns, updated_at: now });
  }
  // A rename moves the repository first, and back if the row cannot follow.
  const newRepositoryName = await uniqueRepositoryName(context, name);
  const from = repositoryPath(context, current.repository_name);
  const to = repositoryPath(context, newRepositoryName);
  await rename(from, to);
  try {
    await renameRepository(context.store.db, current.id, current.repository_name, newRepositoryName, {
      ...columns,
      name,
      updated_at: now,
    });
  } catch (error) {
    await rename(to, from);
    if (isUniqueViolation(error)) {
      // Another workspace took the name meanwhile (the index on normalised names), or the repository name.
      await assertNameAvailable(context, name, current.id);
      throw new SluiceError('conflict', 'That repository name was taken at the same moment; try again.');
    }
    throw error;
  }
  return toWorkspace(context, {
    ...current,
    ...columns,
    name,
    repository_name: newRepositoryName,
    updated_at: now,
  });
}

/**
 * Deletes a workspace and its repository; a protected one only for an admin. The repository is first moved aside, so that if the row
 * cannot be deleted it is put back and nothing is lost.
 */
export async function deleteWorkspace(
  context: WorkspaceContext,
  actor: WorkspaceActor,
  row: WorkspaceRow,
): Promise<void> {
  if (row.protected === 1 && !actor.admin)
    throw new SluiceError(
      'forbidden',
      `Workspace '${row.name}' is protected: only an admin token can delete it (or unprotect it first).`,
    );
  const active = await activeRunCount(context.store.db, row.id);
  if (active > 0) {
    throw new SluiceError(
      'conflict',
      `Workspace '${row.name}' has ${active} run${active === 1 ? '' : 's'} queued or running. Cancel ${active === 1 ? 'it' : 'them'} (or wait), then delete the workspace.`,
      { workspace: row.id, activeRuns: active },
    );
  }
  const path = repositoryPath(context, row.repository_name);
  const trash = `${path}.deleting-${process.pid}-${Date.now()}`;
  const present = existsSync(path);
  if (present) await rename(path, trash);
  try {
    await deleteRow(context.store.db, row.id);
  } catch (error) {
    if (present) await rename(trash, path);
    throw error;
  }
  if (present) await rm(trash, { recursive: true, force: true });
  // The folder its runs worked in (databases, virtualenvs) goes with it; `work/` sits beside `repos/`.
  await rm(join(dirname(context.reposDir), 'work', row.id), { recursive: true, force: true });
}
