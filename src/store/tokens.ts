import type { Kysely, Selectable } from 'kysely';
import { afterCursor } from './keyset-page.js';
import type { Database, TokenTable } from './schema.js';

export type TokenRow = Selectable<TokenTable>;

export async function insertToken(db: Kysely<Database>, row: TokenRow): Promise<void> {
  await db.insertInto('tokens').values(row).execute();
}

/** The token with this hash, if it exists and is not revoked. */
export async function findActiveTokenByHash(
  db: Kysely<Database>,
  hash: string,
): Promise<TokenRow | undefined> {
  return db
    .selectFrom('tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
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
