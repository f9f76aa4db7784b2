import { SluiceError } from '../errors.js';
import { branchHead } from '../git/branch-head.js';
import { newId } from '../store/ids.js';
import { isUniqueViolation } from '../store/open-store.js';
import {
  closePromotionRequest,
  findPromotionRequest,
  insertPromotionRequest,
  insertPromotionReview,
  listPromotionRequests,
  listPromotionReviews,
  type PromotionRequestRow,
  type PromotionReviewRow,
} from '../store/promotion-requests.js';
import { findWorkspaceById, type WorkspaceRow } from '../store/workspaces.js';
import { canApprove, type Principal } from '../tokens/principal.js';
import { repositoryPath, type WorkspaceContext } from '../workspaces/context.js';
import type { PlanOptions } from './plan-promotion.js';
import { applyPromotion, type Promotion, previewPromotion, requireApplicable } from './promotion-service.js';

/** A promotion waiting for approvals, as the API shows it. */
export interface PromotionRequest {
  readonly id: string;
  readonly targetWorkspaceId: string;
  readonly sourceWorkspaceId: string;
  readonly sourceCommit: string;
  readonly targetCommit: string;
  readonly status: PromotionRequestRow['status'];
  readonly requiredApprovals: number;
  readonly approvals: number;
  readonly createdAt: string;
  readonly createdBy: { readonly tokenId: string; readonly name: string };
  readonly decidedAt: string | null;
  readonly promotionId: string | null;
  /** The frozen preview: files, configuration diff, warnings. */
  readonly summary: unknown;
  readonly reviews: readonly {
    readonly by: { readonly tokenId: string; readonly name: string };
    readonly verdict: PromotionReviewRow['verdict'];
    readonly comment: string | null;
    readonly at: string;
  }[];
}

export type Review = { readonly verdict: 'approve' | 'reject' | 'comment'; readonly comment?: string };

function toRequest(row: PromotionRequestRow, reviews: readonly PromotionReviewRow[]): PromotionRequest {
  return {
    id: row.id,
    targetWorkspaceId: row.target_workspace_id,
    sourceWorkspaceId: row.source_workspace_id,
    sourceCommit: row.source_commit,
    targetCommit: row.target_commit,
    status: row.status,
    requiredApprovals: row.required_approvals,
    approvals: reviews.filter((r) => r.verdict === 'approve').length,
    createdAt: row.created_at,
    createdBy: { tokenId: row.created_by_token_id, name: row.created_by },
    decidedAt: row.decided_at,
    promotionId: row.promotion_id,
    summary: JSON.parse(row.summary),
    reviews: reviews.map((r) => ({
      by: { tokenId: r.token_id, name: r.name },
      verdict: r.verdict,
      comment: r.comment,
      at: r.created_at,
    })),
  };
}

/**
 * A promotion into a workspace that requires approvals: previewed now and frozen at the commits
 * that preview saw. It applies only once enough other people approved it, and only if neither
 * side has moved since.
 */
export async function requestPromotion(
  context: WorkspaceContext,
  principal: Principal,
  source: WorkspaceRow,
  target: WorkspaceRow,
  options: PlanOptions & { readonly expectedSourceCommit?: string; readonly expectedTargetCommit?: string },
): Promise<PromotionRequest> {
  const plan = await previewPromotion(context, source, target, {
    deleteTargetOnly: options.deleteTargetOnly,
  });
  requireApplicable(plan, options);
  if (plan.unchanged)
    throw new SluiceError('conflict', `Nothing to promote: no file of '${target.name}' would change.`);
  const row: PromotionRequestRow = {
    id: newId('req'),
    target_workspace_id: target.id,
    source_workspace_id: source.id,
    source_commit: plan.sourceCommit,
    target_commit: plan.targetCommit,
    options: JSON.stringify({ deleteTargetOnly: options.deleteTargetOnly === true }),
    summary: JSON.stringify({
      files: plan.files.map((f) => ({ path: f.path, status: f.status })),
      configDiff: plan.configDiff,
      warnings: plan.warnings,
    }),
    status: 'open',
    required_approvals: target.required_approvals ?? 0,
    created_at: new Date().toISOString(),
    created_by_token_id: principal.tokenId,
    created_by: principal.name,
    decided_at: null,
    promotion_id: null,
  };
  await insertPromotionRequest(context.store.db, row);
  return toRequest(row, []);
}

export async function promotionRequests(
  context: WorkspaceContext,
  target: WorkspaceRow,
): Promise<PromotionRequest[]> {
  const rows = await listPromotionRequests(context.store.db, target.id, 100);
  return Promise.all(
    rows.map(async (row) => toRequest(row, await listPromotionReviews(context.store.db, row.id))),
  );
}

/** One request into `target`; another workspace's request is not found, as if it did not exist. */
export async function promotionRequest(
  context: WorkspaceContext,
  target: WorkspaceRow,
  id: string,
): Promise<PromotionRequest> {
  const row = await requestInto(context, target, id);
  return toRequest(row, await listPromotionReviews(context.store.db, row.id));
}

async function requestInto(
  context: WorkspaceContext,
  target: WorkspaceRow,
  id: string,
): Promise<PromotionRequestRow> {
  const row = await findPromotionRequest(context.store.db, id);
  if (!row || row.target_workspace_id !== target.id)
    throw new SluiceError('not_found', `No promotion request '${id}' into workspace '${target.name}'.`, {
      request: id,
    });
  return row;
}

/**
 * Reviews a request: a comment (anyone who may write to the target), an approval or a rejection (an
 * admin or an `approve` token of the target, never the request's author). The approval that
 * completes the count applies the promotion at the frozen commits; if either side moved since,
 * the request expires instead (409).
 */
export async function reviewPromotionRequest(
  context: WorkspaceContext,
  principal: Principal,
  target: WorkspaceRow,
  id: string,
  review: Review,
): Promise<{ request: PromotionRequest; promotion?: Promotion }> {
  const row = await requestInto(context, target, id);
  const comment = review.comment?.trim() || null;
  if (review.verdict === 'comment') {
    if (!comment)
      throw new SluiceError('validation_failed', 'A comment needs some text.', { field: 'comment' });
  } else {
    if (!canApprove(principal, target.id))
      throw new SluiceError(
        'forbidden',
        `Approving or rejecting promotions into '${target.name}' needs an admin token or an approve token for it.`,
      );
    if (principal.tokenId === row.created_by_token_id)
      throw new SluiceError('forbidden', 'You made this request: another person must approve or reject it.');
  }
  if (row.status !== 'open')
    throw new SluiceError(
      'conflict',
      `Promotion request '${id}' is ${row.status}: it takes no more reviews.`,
      {
        status: row.status,
      },
    );
  if (review.verdict !== 'comment' && (await movedSince(context, row))) {
    await closePromotionRequest(context.store.db, row.id, {
      status: 'expired',
      decided_at: new Date().toISOString(),
    });
    throw expired(id);
  }
  try {
    await insertPromotionReview(context.store.db, {
      id: newId('rev'),
      request_id: row.id,
      token_id: principal.tokenId,
      name: principal.name,
      verdict: review.verdict,
      comment,
      created_at: new Date().toISOString(),
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new SluiceError('conflict', 'This token has approved this request already.');
  }
  const reviews = await listPromotionReviews(context.store.db, row.id);
  const now = () => new Date().toISOString();
  if (review.verdict === 'reject') {
    await closePromotionRequest(context.store.db, row.id, { status: 'rejected', decided_at: now() });
    return { request: await promotionRequest(context, target, id) };
  }
  const approvals = reviews.filter((r) => r.verdict === 'approve').length;
  if (review.verdict === 'comment' || approvals < row.required_approvals)
    return { request: toRequest(row, reviews) };
  const source = await findWorkspaceById(context.store.db, row.source_workspace_id);
  if (!source) throw new SluiceError('conflict', `The source of request '${id}' no longer exists.`);
  let promotion: Promotion;
  try {
    promotion = await applyPromotion(context, row.created_by, source, target, {
      ...(JSON.parse(row.options) as PlanOptions),
      expectedSourceCommit: row.source_commit,
      expectedTargetCommit: row.target_commit,
    });
  } catch (error) {
    if (error instanceof SluiceError && error.code === 'conflict') {
      await closePromotionRequest(context.store.db, row.id, { status: 'expired', decided_at: now() });
      throw expired(id);
    }
    throw error;
  }
  await closePromotionRequest(context.store.db, row.id, {
    status: 'applied',
    decided_at: now(),
    promotion_id: promotion.id,
  });
  return { request: await promotionRequest(context, target, id), promotion };
}

async function movedSince(context: WorkspaceContext, row: PromotionRequestRow): Promise<boolean> {
  const [source, target] = await Promise.all([
    findWorkspaceById(context.store.db, row.source_workspace_id),
    findWorkspaceById(context.store.db, row.target_workspace_id),
  ]);
  if (!source || !target) return true;
  const [sourceMain, targetMain] = await Promise.all([
    branchHead(repositoryPath(context, source.repository_name), 'main'),
    branchHead(repositoryPath(context, target.repository_name), 'main'),
  ]);
  return sourceMain !== row.source_commit || targetMain !== row.target_commit;
}

function expired(id: string): SluiceError {
  return new SluiceError(
    'conflict',
    `Promotion request '${id}' has expired: the source or the target moved since it was made. Preview again and make a new request.`,
    { request: id, status: 'expired' },
  );
}
