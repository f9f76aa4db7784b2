import type { Kysely, Selectable } from 'kysely';
import type { Database, PromotionRequestTable, PromotionReviewTable } from './schema.js';

export type PromotionRequestRow = Selectable<PromotionRequestTable>;
export type PromotionReviewRow = Selectable<PromotionReviewTable>;

export async function insertPromotionRequest(db: Kysely<Database>, row: PromotionRequestRow): Promise<void> {
  await db.insertInto('promotion_requests').values(row).execute();
}

export async function findPromotionRequest(
  db: Kysely<Database>,
  id: string,
): Promise<PromotionRequestRow | undefined> {
  return db.selectFrom('promotion_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Requests into a workspace, newest first. */
export async function listPromotionRequests(
  db: Kysely<Database>,
  targetId: string,
  limit: number,
): Promise<PromotionRequestRow[]> {
  return db
    .selectFrom('promotion_requests')
    .selectAll()
    .where('target_workspace_id', '=', targetId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/**
 * Settles an open request (applied, rejected or expired); false when it was no longer open, so
 * that two servers deciding at once decide once.
 */
export async function closePromotionRequest(
  db: Kysely<Database>,
  id: string,
  changes: Pick<PromotionRequestRow, 'status' | 'decided_at'> &
    Partial<Pick<PromotionRequestRow, 'promotion_id'>>,
): Promise<boolean> {
  const result = await db
    .updateTable('promotion_requests')
    .set(changes)
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function insertPromotionReview(db: Kysely<Database>, row: PromotionReviewRow): Promise<void> {
  await db.insertInto('promotion_reviews').values(row).execute();
}

/** A request's reviews, oldest first. */
export async function listPromotionReviews(
  db: Kysely<Database>,
  requestId: string,
): Promise<PromotionReviewRow[]> {
  return db
    .selectFrom('promotion_reviews')
    .selectAll()
    .where('request_id', '=', requestId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
