import type { Kysely, Selectable } from 'kysely';
import { compiledOnce } from './compiled-query.js';
import { afterCursor } from './keyset-page.js';
import type { Database, TokenTable } from './schema.js';
import type { WorkspaceRow } from './workspaces.js';

export type TokenRow = Selectable<TokenTable>;

export async function insertToken(db: Kysely<Database>, row: TokenRow): Promise<void> {
  await db.insertInto('tokens').values(row).execute();
}

const activeTokenByHash = compiledOnce((db, p) =>
  db.selectFrom('tokens').selectAll().where('token_hash', '=', p('hash')).where('revoked_at', 'is', null),
);

/** The token with this hash, if it exists and is not revoked. */
export async function findActiveTokenByHash(
  db: Kysely<Database>,
  hash: string,
): Promise<TokenRow | undefined> {
  return (await activeTokenByHash(db, '', { hash }))[0];
}

const activeTokenAndWorkspace = compiledOnce((db, p) =>
  db
    .selectFrom('tokens')
    .leftJoin('workspaces', (join) => join.on((eb) => eb('workspaces.id', '=', eb.val(p('workspace')))))
    .selectAll('tokens')
    .select([
      'workspaces.id as w_id',
      'workspaces.name as w_name',
      'workspaces.repository_name as w_repository_name',
      'workspaces.active_environment as w_active_environment',
      'workspaces.created_at as w_created_at',
      'workspaces.updated_at as w_updated_at',
      'workspaces.checked_commit as w_checked_commit',
      'workspaces.last_good_commit as w_last_good_commit',
      'workspaces.config_error as w_config_error',
      'workspaces.version as w_version',
      'workspaces.protected as w_protected',
      'workspaces.owned_keys as w_owned_keys',
      'workspaces.schedules_enabled as w_schedules_enabled',
      'workspaces.upstream_workspace_id as w_upstream_workspace_id',
      'workspaces.required_approvals as w_required_approvals',
    ])
    .where('tokens.token_hash', '=', p('hash'))
    .where('tokens.revoked_at', 'is', null),
);

/**
 * The token with this hash, if it exists and is not revoked, and in the same round trip the
 * workspace whose id is `workspaceId` (undefined when there is none): what a request about one
 * workspace needs before anything else, in one query instead of two.
 */
export async function findActiveTokenAndWorkspace(
  db: Kysely<Database>,
  hash: string,
  workspaceId: string,
): Promise<{ token: TokenRow; workspace: WorkspaceRow | undefined } | undefined> {
  const [row] = await activeTokenAndWorkspace(db, '', { hash, workspace: workspaceId });
  if (!row) return undefined;
  const token: TokenRow = {
    id: row.id,
    name: row.name,
    token_hash: row.token_hash,
    workspaces: row.workspaces,
    access: row.access,
    admin: row.admin,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
  // The columns a left join leaves null are never null in a row that exists.
  if (
    row.w_id === null ||
    row.w_name === null ||
    row.w_repository_name === null ||
    row.w_created_at === null ||
    row.w_updated_at === null ||
    row.w_version === null ||
    row.w_protected === null
  )
    return { token, workspace: undefined };
  const workspace: WorkspaceRow = {
    id: row.w_id,
    name: row.w_name,
    repository_name: row.w_repository_name,
    active_environment: row.w_active_environment,
    created_at: row.w_created_at,
    updated_at: row.w_updated_at,
    checked_commit: row.w_checked_commit,
    last_good_commit: row.w_last_good_commit,
    config_error: row.w_config_error,
    version: row.w_version,
    protected: row.w_protected,
    owned_keys: row.w_owned_keys,
    schedules_enabled: row.w_schedules_enabled,
    upstream_workspace_id: row.w_upstream_workspace_id,
    required_approvals: row.w_required_approvals,
  };
  return { token, workspace };
}

/** The token with this hash, revoked or not. */
export async function findTokenByHash(db: Kysely<Database>, hash: string): Promise<TokenRow | undefined> {
  return db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
}

/** Makes a revoked admin token valid again. */
export async function restoreAdminToken(db: Kysely<Database>, id: string): Promise<void> {
  await db
    .updateTable('tokens')
    .set({ revoked_at: null })
    .where('id', '=', id)
    .where('admin', '=', 1)
    .execute();
}

export async function findTokenById(db: Kysely<Database>, id: string): Promise<TokenRow | undefined> {
  return db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listTokens(
  db: Kysely<Database>,
  options: { limit: number; after?: { createdAt: string; id: string } },
): Promise<TokenRow[]> {
  let query = db.selectFrom('tokens').selectAll().where('revoked_at', 'is', null);
  const after = options.after;
  if (after) {
    query = query.where((eb) => afterCursor(eb, after));
  }
  return query.orderBy('created_at').orderBy('id').limit(options.limit).execute();
}

export async function revokeToken(db: Kysely<Database>, id: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('tokens')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every active admin token whose hash is not `keepHash`; answers how many. */
export async function revokeAdminTokensExcept(
  db: Kysely<Database>,
  keepHash: string,
  at: string,
): Promise<number> {
  const result = await db
    .updateTable('tokens')
    .set({ revoked_at: at })
    .where('admin', '=', 1)
    .where('token_hash', '!=', keepHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function countTokens(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('tokens')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
