import { findEnvironment } from '../config/select-environment.js';
import { SluiceError } from '../errors.js';
import {
  deleteSecret,
  findSecretEntry,
  listSecretEntries,
  type SecretEntryRow,
  type SecretRow,
  secretRows,
  upsertSecret,
} from '../store/secrets.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import type { Principal } from '../tokens/principal.js';
import type { WorkspaceContext } from '../workspaces/context.js';
import { projectAtCommit, refreshWorkspaceState } from '../workspaces/workspace-state.js';
import { decryptSecret, encryptSecret } from './secret-cipher.js';
import type { SecretKey } from './secret-key.js';

/** What secret operations need: the workspace context and the server's key. */
export interface SecretContext extends WorkspaceContext {
  readonly secretKey: SecretKey;
}

/** A secret as the API lists it: never its value. */
export interface SecretEntry {
  readonly name: string;
  /** null: all environments. */
  readonly environment: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The token that last set it. */
  readonly updatedBy: string;
}

/** How "all environments" is stored: no environment has an empty name. */
const ALL_ENVIRONMENTS = '';
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME_MAX = 200;
const VALUE_MAX_BYTES = 64 * 1024;

function toEntry(row: SecretEntryRow): SecretEntry {
  return {
    name: row.name,
    environment: row.environment === ALL_ENVIRONMENTS ? null : row.environment,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

function where(environment: string | null): string {
  return environment === null ? 'for all environments' : `for environment '${environment}'`;
}

/** Plugins receive a secret as an environment variable, so its name must be one. */
function validateName(name: string): string {
  if (!NAME_PATTERN.test(name) || name.length > NAME_MAX) {
    throw new SluiceError(
      'name_invalid',
      `'${name.slice(0, NAME_MAX)}' is not a valid secret name: plugins receive secrets as environment variables, so use letters, digits and _, not starting with a digit, at most ${NAME_MAX} characters (e.g. TAP_GITHUB_AUTH_TOKEN).`,
      { field: 'name' },
    );
  }
  return name;
}

function validateValue(value: string): string {
  if (value === '') {
    throw new SluiceError(
      'validation_failed',
      'The secret value is empty. Send the value to store; to remove a secret, unset it (DELETE).',
      { field: 'value' },
    );
  }
  // An environment variable cannot hold a NUL byte: the plugin could never receive this value.
  if (value.includes('\0')) {
    throw new SluiceError(
      'validation_failed',
      'The secret value contains a NUL character, which an environment variable cannot hold.',
      { field: 'value' },
    );
  }
  if (Buffer.byteLength(value, 'utf8') > VALUE_MAX_BYTES) {
    throw new SluiceError(
      'validation_failed',
      `The secret value is longer than ${VALUE_MAX_BYTES / 1024} KiB. Store large files elsewhere and the secret that opens them here.`,
      { field: 'value' },
    );
  }
  return value;
}

/**
 * Stores (or replaces) a secret for one environment, or for all when `environment` is null. A
 * named environment must be one that the workspace's meltano.yml on `main` defines (while `main`
 * does not load: the last commit that did). The value is encrypted before it reaches the store.
 */
export async function setSecret(
  context: SecretContext,
  principal: Principal,
  workspace: WorkspaceRow,
  input: { readonly name: string; readonly value: string; readonly environment: string | null },
): Promise<SecretEntry> {
  const name = validateName(input.name);
  const value = validateValue(input.value);
  let environment: string | null = null;
  if (input.environment !== null) {
    const current = await refreshWorkspaceState(context, workspace);
    const { project, commit } = await projectAtCommit(context, current);
    environment = findEnvironment(
      project,
      input.environment,
      `the workspace's meltano.yml at ${commit.slice(0, 7)}`,
    ).name;
  }
  const stored = environment ?? ALL_ENVIRONMENTS;
  const now = new Date().toISOString();
  await upsertSecret(context.store.db, {
    workspace_id: workspace.id,
    environment: stored,
    name,
    ciphertext: encryptSecret(context.secretKey, { workspaceId: workspace.id, environment, name }, value),
    created_at: now,
    updated_at: now,
    updated_by: principal.name,
  });
  const entry = await findSecretEntry(context.store.db, {
    workspaceId: workspace.id,
    environment: stored,
    name,
  });
  if (!entry)
    throw new SluiceError('conflict', `Secret ${name} was removed while it was being set; try again.`);
  return toEntry(entry);
}

/** A workspace's secrets by name, the all-environments one before the environments' (no values). */
export async function listSecrets(context: SecretContext, workspace: WorkspaceRow): Promise<SecretEntry[]> {
  const rows = await listSecretEntries(context.store.db, workspace.id);
  // Sorted here, not in SQL: SQLite and PostgreSQL collate text differently.
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return rows.sort((a, b) => order(a.name, b.name) || order(a.environment, b.environment)).map(toEntry);
}

/** Removes the secret set for `environment` (null: the one for all environments). */
export async function unsetSecret(
  context: SecretContext,
  workspace: WorkspaceRow,
  input: { readonly name: string; readonly environment: string | null },
): Promise<void> {
  const name = validateName(input.name);
  const environment = input.environment;
  const deleted = await deleteSecret(context.store.db, {
    workspaceId: workspace.id,
    environment: environment ?? ALL_ENVIRONMENTS,
    name,
  });
  if (deleted) return;
  const elsewhere = (await listSecretEntries(context.store.db, workspace.id))
    .filter((row) => row.name === name)
    .map((row) => where(toEntry(row).environment));
  throw new SluiceError(
    'secret_not_found',
    `Workspace '${workspace.name}' has no secret ${name} ${where(environment)}.${elsewhere.length ? ` It is set ${elsewhere.join(' and ')}.` : ''}`,
    { name, environment, setFor: elsewhere },
  );
}

/**
 * The variables a run in `environment` receives: each secret decrypted, the environment's own
 * value winning over the all-environments one. The runner adds them to the plugin's process
 * environment, where Meltano's precedence (environment variables beat meltano.yml) applies.
 */
export async function secretEnvFor(
  context: SecretContext,
  workspace: Pick<WorkspaceRow, 'id'>,
  environment: string | null,
): Promise<Record<string, string>> {
  const environments = environment === null ? [ALL_ENVIRONMENTS] : [ALL_ENVIRONMENTS, environment];
  const rows = await secretRows(context.store.db, workspace.id, environments);
  const env: Record<string, string> = {};
  // All-environments rows first, so that the environment's own rows overwrite them.
  const ordered = [
    ...rows.filter((row) => row.environment === ALL_ENVIRONMENTS),
    ...rows.filter((row) => row.environment !== ALL_ENVIRONMENTS),
  ];
  for (const row of ordered) env[row.name] = decryptRow(context, row);
  return env;
}

/**
 * Every secret value of a workspace, in all environments, for redacting its logs (see
 * `makeRedactor` in redact-secrets.ts). All of them, not only the run's: a value of another
 * environment that turns up in a log is hidden as well.
 */
export async function secretValues(
  context: SecretContext,
  workspace: Pick<WorkspaceRow, 'id'>,
): Promise<string[]> {
  const rows = await secretRows(context.store.db, workspace.id);
  return [...new Set(rows.map((row) => decryptRow(context, row)))];
}

function decryptRow(context: SecretContext, row: SecretRow): string {
  const environment = row.environment === ALL_ENVIRONMENTS ? null : row.environment;
  return decryptSecret(
    context.secretKey,
    { workspaceId: row.workspace_id, environment, name: row.name },
    row.ciphertext,
  );
}
