import { firstParentLine, isAncestor, type LineCommit, mergeBase } from '../git/history.js';

/**
 * The base a promotion merges from, and whether it is Git's own.
 * - `commit`: the source's content the target holds now, or null when it holds none of it.
 * - `gitBase`: what `git merge-base` answers (what a `git pull -X theirs` merges from).
 * - `undone`: the promotions Git would take as the base but which were reverted since, newest
 *   first (their merge commits).
 */
export interface EffectiveBase {
  readonly commit: string | null;
  readonly gitBase: string | null;
  readonly undone: readonly string[];
}

/** `git revert` writes this line, for merges too (`git revert -m 1`). */
const GIT_REVERT = /This reverts commit ([0-9a-f]{40}|[0-9a-f]{64})/g;

/**
 * The base of a promotion of `sourceCommit` into `targetCommit`: the source commit the target's
 * content last took in and still holds. Git's answer is the last source commit merged into the
 * target's history, even when that merge was reverted since: the revert then looks like a target
 * edit the source "did not change", so a re-promotion leaves out what the revert removed (the
 * revert-of-a-merge trap). Here the target's first-parent line is read newest first: merges
 * whose second parent is a source commit are promotions (Sluice's or a manual `git pull`), and a
 * promotion is skipped when a later commit reverts it (`git revert`'s "This reverts commit" line,
 * or one of `revertedMerges`, the merge commits Sluice's own reverts undid). The newest promotion
 * left gives the base; when every one was reverted, the base is what Git would have answered
 * before the first of them, so the result is the one a first promotion would give.
 */
export async function effectiveBase(
  repo: string,
  targetCommit: string,
  sourceCommit: string,
  revertedMerges: ReadonlySet<string>,
): Promise<EffectiveBase> {
  const gitBase = await mergeBase(repo, targetCommit, sourceCommit);
  if (gitBase === null) return { commit: null, gitBase, undone: [] };
  const reverted = new Set(revertedMerges);
  const undone: string[] = [];
  let oldestUndone: LineCommit | undefined;
  for (const commit of await firstParentLine(repo, targetCommit)) {
    for (const match of commit.message.matchAll(GIT_REVERT)) reverted.add(match[1] as string);
    const brought = commit.parents[1];
    if (brought === undefined || !(await isAncestor(repo, brought, sourceCommit))) continue;
    if (!reverted.has(commit.id)) {
      return { commit: undone.length === 0 ? gitBase : brought, gitBase, undone };
    }
    undone.push(commit.id);
    oldestUndone = commit;
  }
  if (!oldestUndone) return { commit: gitBase, gitBase, undone };
  const before = oldestUndone.parents[0];
  return { commit: before ? await mergeBase(repo, before, sourceCommit) : null, gitBase, undone };
}
