import { firstParentLine, isAncestor } from '../git/history.js';
import { newId } from '../store/ids.js';
import { findPromotionByResult, insertPromotion, type PromotionRow } from '../store/promotions.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import { canSee, type Principal } from '../tokens/principal.js';
import { repositoryPath, type WorkspaceContext } from '../workspaces/context.js';
import { findWorkspaceByRepository } from '../workspaces/workspace-service.js';

/** The repository a `git pull` merged, as git names it in the merge message: `... of <url>/git/<name>`. */
const PULLED_FROM = /^Merge (?:branch|commit) .* of \S*\/git\/([^/\s]+?)(?:\.git)?\/?$/m;

/**
 * Records the promotions a push brought in the product page's manual way: each merge on the new
 * first-parent line of `main` (from `before`, exclusive, to `after`) whose merge message names
 * another workspace's repository (what `git pull <that workspace's URL> main` writes) and whose
 * second parent is a commit of that workspace's `main`. Each becomes an applied promotion "by git
 * push", made by the pusher's token; only a source the pusher may read is named, and a merge
 * already recorded (Sluice's own, pushed again) is not recorded twice. Never throws for the
 * content of a push: a merge it cannot place is not a promotion.
 */
export async function recordPushedPromotions(
  context: WorkspaceContext,
  target: WorkspaceRow,
  before: string | null,
  after: string | null,
  pusher: Principal,
): Promise<number> {
  if (!after || after === before) return 0;
  const repo = repositoryPath(context, target.repository_name);
  const merges = await firstParentLine(repo, before ? `${before}..${after}` : after, {
    mergesOnly: true,
    oldestFirst: true,
  });
  let recorded = 0;
  for (const { id: merge, parents, message } of merges) {
    const [into, brought] = parents;
    const named = PULLED_FROM.exec(message)?.[1];
    if (!into || !brought || named === undefined) continue;
    const source = await findWorkspaceByRepository(context, named);
    if (!source || source.id === target.id || !canSee(pusher, source.id)) continue;
    if (!(await isAncestor(repositoryPath(context, source.repository_name), brought, 'refs/heads/main')))
      continue;
    if (await findPromotionByResult(context.store.db, target.id, merge)) continue;
    const row: PromotionRow = {
      id: newId('pr'),
      kind: 'promotion',
      source_workspace_id: source.id,
      target_workspace_id: target.id,
      source_commit: brought,
      target_commit: into,
      result_commit: merge,
      status: 'applied',
      summary: JSON.stringify({ via: 'git push', tokenId: pusher.tokenId }),
      error: null,
      reverts_promotion_id: null,
      created_at: new Date().toISOString(),
      created_by: pusher.name,
    };
    await insertPromotion(context.store.db, row);
    recorded++;
  }
  return recorded;
}
