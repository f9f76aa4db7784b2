import type { Kysely, Selectable } from 'kysely';
import type { Database, PromotionTable } from './schema.js';

export type PromotionRow = Selectable<PromotionTable>;

export async function insertPromotion(db: Kysely<Database>, row: PromotionRow): Promise<void> {
  await db.insertInto('promotions').values(row).execute();
}

export async function updatePromotion(
  db: Kysely<Database>,
  id: string,
  changes: Partial<Pick<PromotionRow, 'status' | 'result_commit' | 'error'>>,
): Promise<void> {
  await db.updateTable('promotions').set(changes).where('id', '=', id).execute();
}

export async function findPromotion(db: Kysely<Database>, id: string): Promise<PromotionRow | undefined> {
  return db.selectFrom('promotions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first. */
export async function listPromotions(
  db: Kysely<Database>,
  targetId: string,
  limit: number,
): Promise<PromotionRow[]> {
  return db
    .selectFrom('promotions')
    .selectAll()
    .where('target_workspace_id', '=', targetId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function applyingPromotions(db: Kysely<Database>): Promise<PromotionRow[]> {
  return db.selectFrom('promotions').selectAll().where('status', '=', 'applying').execute();
}

/** The merge commits of promotions into a workspace that an applied revert undid. */
export async function revertedPromotionCommits(db: Kysely<Database>, targetId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('promotions as revert')
    .innerJoin('promotions as promotion', 'promotion.id', 'revert.reverts_promotion_id')
    .select('promotion.result_commit')
    .where('revert.target_workspace_id', '=', targetId)
    .where('revert.kind', '=', 'revert')
    .where('revert.status', '=', 'applied')
    .execute();
  return rows.flatMap((row) => (row.result_commit ? [row.result_commit] : []));
}

/** The promotion into a workspace whose result is `commit`, if one was recorded. */
export async function findPromotionByResult(
  db: Kysely<Database>,
  targetId: string,
  commit: string,
): Promise<PromotionRow | undefined> {
  return db
    .selectFrom('promotions')
    .selectAll()
    .where('target_workspace_id', '=', targetId)
    .where('result_commit', '=', commit)
    .executeTakeFirst();
}
