import { join } from 'node:path';
import { SluiceError } from '../errors.js';
import { resolveRef } from '../git/bare-repository.js';
import { isAncestor } from '../git/history.js';
import { runGit, runGitStatus } from '../git/run-git.js';
import { writeCommit } from '../git/write-commit.js';
import { newId } from '../store/ids.js';
import {
  applyingPromotions,
  findPromotion,
  insertPromotion,
  listPromotions,
  type PromotionRow,
  updatePromotion,
} from '../store/promotions.js';
import { findWorkspaceById, type WorkspaceRow } from '../store/workspaces.js';
import { repositoryPath, type WorkspaceContext } from '../workspaces/context.js';
import { refreshWorkspaceState, workspaceStatus } from '../workspaces/workspace-state.js';
import { type PlanOptions, type PromotionPlan, planPromotion } from './plan-promotion.js';
import { openScratchRepository } from './scratch-repository.js';
import { ifTargetIdle, withTargetLock } from './target-lock.js';

/** A recorded promotion (or revert), as the API shows it. */
export interface Promotion {
  readonly id: string;
  readonly kind: 'promotion' | 'revert';
  readonly sourceWorkspaceId: string | null;
  readonly targetWorkspaceId: string;
  readonly sourceCommit: string | null;
  readonly targetCommit: string;
  readonly resultCommit: string | null;
  readonly status: 'applying' | 'applied' | 'failed';
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revertsPromotionId: string | null;
  readonly error: string | null;
  readonly summary: unknown;
  /** How it was made: by Sluice (API, CLI, UI), or by a `git push` of a merge (the manual way). */
  readonly via: 'sluice' | 'git push';
}

function toPromotion(row: PromotionRow): Promotion {
  const summary: unknown = JSON.parse(row.summary);
  return {
    id: row.id,
    kind: row.kind,
    sourceWorkspaceId: row.source_workspace_id,
    targetWorkspaceId: row.target_workspace_id,
    sourceCommit: row.source_commit,
    targetCommit: row.target_commit,
    resultCommit: row.result_commit,
    status: row.status,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revertsPromotionId: row.reverts_promotion_id,
    error: row.error,
    summary,
    via: (summary as { via?: unknown } | null)?.via === 'git push' ? 'git push' : 'sluice',
  };
}

const SLUICE = { name: 'Sluice', email: 'sluice@localhost' };

function tmpDir(context: WorkspaceContext): string {
  return join(context.reposDir, '..', 'tmp');
}

/**
 * Refuses a source whose `main` does not load: what it would bring is a project nobody can run,
 * and the error is the source's to fix. The same error, with where it is, as the source shows.
 */
async function requireLoadingSource(context: WorkspaceContext, source: WorkspaceRow): Promise<void> {
  const row = await refreshWorkspaceState(context, source);
  const { commit, error } = workspaceStatus(row);
  if (!error || commit === null || error.commit !== commit) return;
  throw new SluiceError(
    'project_invalid',
    `Workspace '${source.name}' cannot be promoted: its main (${commit.slice(0, 7)}) does not load: ${error.message} Fix it in '${source.name}' and push, then promote again.`,
    {
      workspace: source.id,
      commit,
      loadError: error.code,
      ...(error.file === undefined ? {} : { file: error.file, line: error.line, column: error.column }),
    },
  );
}

/** Previews a promotion: the plan, nothing changed. */
export async function previewPromotion(
  context: WorkspaceContext,
  source: WorkspaceRow,
  target: WorkspaceRow,
  options: PlanOptions = {},
): Promise<PromotionPlan> {
  await requireLoadingSource(context, source);
  const scratch = await openScratchRepository(tmpDir(context), [
    repositoryPath(context, target.repository_name),
    repositoryPath(context, source.repository_name),
  ]);
  try {
    return await planPromotion(context, scratch, source, target, options);
  } finally {
    await scratch.dispose();
  }
}

function summaryOf(plan: PromotionPlan) {
  return {
    files: plan.files.map((f) => ({ path: f.path, status: f.status })),
    configDiff: plan.configDiff,
    warnings: plan.warnings,
    conflicts: plan.conflicts.map((c) => ({ path: c.path, kind: c.kind, resolution: c.resolution })),
  };
}

/** Moves `main` from `expected` to `commit` atomically; false when it is no longer at `expected`. */
async function compareAndSwapMain(
  repo: string,
  commit: string,
  expected: string,
  reason: string,
): Promise<boolean> {
  const outcome = await runGitStatus(['update-ref', '-m', reason, 'refs/heads/main', commit, expected], {
    gitDir: repo,
  });
  if (outcome.exitCode === 0) return true;
  if ((await resolveRef(repo, 'refs/heads/main')) !== expected) return false;
  throw new SluiceError('git_failed', `Could not move main: ${outcome.stderr.trim()}`);
}

export interface ApplyOptions extends PlanOptions {
  readonly expectedSourceCommit?: string;
  readonly expectedTargetCommit?: string;
}

function moved(label: string, expected: string, actual: string): SluiceError {
  return new SluiceError(
    'conflict',
    `The ${label} workspace moved since the preview (expected ${expected.slice(0, 7)}, now ${actual.slice(0, 7)}). Preview again, then apply.`,
    { expected, actual },
  );
}

/**
 * Refuses a plan that may not be applied (or requested): one whose result would not load (the
 * page's command would push a project that no longer loads), or whose sides moved since the
 * preview the caller saw.
 */
export function requireApplicable(
  plan: PromotionPlan,
  expected: Pick<ApplyOptions, 'expectedSourceCommit' | 'expectedTargetCommit'>,
): void {
  const invalid = plan.warnings.find((w) => w.code === 'result_invalid');
  if (invalid)
    throw new SluiceError(
      'project_invalid',
      `${invalid.message} Fix the source workspace, then promote again.`,
      {
        warning: invalid,
      },
    );
  if (expected.expectedSourceCommit && expected.expectedSourceCommit !== plan.sourceCommit)
    throw moved('source', expected.expectedSourceCommit, plan.sourceCommit);
  if (expected.expectedTargetCommit && expected.expectedTargetCommit !== plan.targetCommit)
    throw moved('target', expected.expectedTargetCommit, plan.targetCommit);
}

/**
 * Applies a promotion: plans it (again), checks both sides are still where the preview saw them,
 * writes the merge commit (target and source as parents, a `Promoted-From:` trailer), copies the
 * objects into the target, then moves `main` with a compare-and-swap. The row is written before
 * `main` moves, with the result commit, so that after a crash the outcome is read off the
 * repository (see reconcilePromotions). Any failure leaves `main` where it was.
 */
export async function applyPromotion(
  context: WorkspaceContext,
  createdBy: string,
  source: WorkspaceRow,
  target: WorkspaceRow,
  options: ApplyOptions = {},
): Promise<Promotion> {
  await requireLoadingSource(context, source);
  return withTargetLock(context.store, target.id, async () => {
    const targetRepo = repositoryPath(context, target.repository_name);
    const scratch = await openScratchRepository(tmpDir(context), [
      targetRepo,
      repositoryPath(context, source.repository_name),
    ]);
    try {
      const plan = await planPromotion(context, scratch, source, target, options);
      requireApplicable(plan, options);
      const message = `Promote ${source.name} (${plan.sourceCommit.slice(0, 7)}) into ${target.name}\n\nPromoted-From: ${source.repository_name}@${plan.sourceCommit}\n`;
      const commit = await writeCommit(scratch.path, {
        tree: plan.resultTree,
        parents: [plan.targetCommit, plan.sourceCommit],
        message,
        author: { name: createdBy, email: SLUICE.email },
      });
      const row: PromotionRow = {
        id: newId('pr'),
        kind: 'promotion',
        source_workspace_id: source.id,
        target_workspace_id: target.id,
        source_commit: plan.sourceCommit,
        target_commit: plan.targetCommit,
        result_commit: commit,
        status: 'applying',
        summary: JSON.stringify(summaryOf(plan)),
        error: null,
        reverts_promotion_id: null,
        created_at: new Date().toISOString(),
        created_by: createdBy,
      };
      await insertPromotion(context.store.db, row);
      try {
        // Objects first (all or nothing), then the ref: a crash in between leaves main untouched.
        await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', scratch.path, commit], {
          gitDir: targetRepo,
        });
        if (!(await compareAndSwapMain(targetRepo, commit, plan.targetCommit, `promotion ${row.id}`))) {
          const now = (await resolveRef(targetRepo, 'refs/heads/main')) ?? 'nothing';
          throw moved('target', plan.targetCommit, now);
        }
      } catch (error) {
        await updatePromotion(context.store.db, row.id, {
          status: 'failed',
          error: error instanceof Error ? error.message : String(error),
        });
        throw error;
      }
      await updatePromotion(context.store.db, row.id, { status: 'applied' });
      await refreshWorkspaceState(context, target, { mainMoved: true }).catch(() => undefined);
      return toPromotion({ ...row, status: 'applied' });
    } finally {
      await scratch.dispose();
    }
  });
}

/** Promotions into a workspace, newest first. */
export async function promotionHistory(
  context: WorkspaceContext,
  target: WorkspaceRow,
  limit = 100,
): Promise<Promotion[]> {
  return (await listPromotions(context.store.db, target.id, limit)).map(toPromotion);
}

/**
 * Reverts a promotion: a new commit on the target's `main` whose tree is the target's tree from
 * before that promotion. Recorded like a promotion.
 */
export async function revertPromotion(
  context: WorkspaceContext,
  createdBy: string,
  target: WorkspaceRow,
  promotionId: string,
): Promise<Promotion> {
  return withTargetLock(context.store, target.id, async () => {
    const promotion = await findPromotion(context.store.db, promotionId);
    if (!promotion || promotion.target_workspace_id !== target.id) {
      throw new SluiceError('not_found', `No promotion '${promotionId}' into workspace '${target.name}'.`, {
        promotion: promotionId,
      });
    }
    if (promotion.status !== 'applied')
      throw new SluiceError(
        'conflict',
        `Promotion '${promotionId}' was not applied (${promotion.status}); there is nothing to revert.`,
      );
    const repo = repositoryPath(context, target.repository_name);
    const current = await resolveRef(repo, 'refs/heads/main');
    if (!current) throw new SluiceError('conflict', `Workspace '${target.name}' has no main branch.`);
    const tree = (await runGit(['rev-parse', `${promotion.target_commit}^{tree}`], { gitDir: repo }))
      .toString('utf8')
      .trim();
    // Git's own line too, so that Git tools (and the next promotion's base) see which merge it undoes.
    const undoes = promotion.result_commit ? `This reverts commit ${promotion.result_commit}.\n` : '';
    const message = `Revert promotion ${promotion.id}\n\nRestores the tree of ${promotion.target_commit} (before the promotion).\n${undoes}\nReverts-Promotion: ${promotion.id}\n`;
    const commit = await writeCommit(repo, {
      tree,
      parents: [current],
      message,
      author: { name: createdBy, email: SLUICE.email },
    });
    const row: PromotionRow = {
      id: newId('pr'),
      kind: 'revert',
      source_workspace_id: null,
      target_workspace_id: target.id,
      source_commit: null,
      target_commit: current,
      result_commit: commit,
      status: 'applying',
      summary: JSON.stringify({ reverts: promotion.id, restoredTreeOf: promotion.target_commit }),
      error: null,
      reverts_promotion_id: promotion.id,
      created_at: new Date().toISOString(),
      created_by: createdBy,
    };
    await insertPromotion(context.store.db, row);
    if (!(await compareAndSwapMain(repo, commit, current, `revert ${promotion.id}`))) {
      await updatePromotion(context.store.db, row.id, {
        status: 'failed',
        error: 'main moved during the revert',
      });
      throw new SluiceError('conflict', `Workspace '${target.name}' changed during the revert; try again.`);
    }
    await updatePromotion(context.store.db, row.id, { status: 'applied' });
    await refreshWorkspaceState(context, target, { mainMoved: true }).catch(() => undefined);
    return toPromotion({ ...row, status: 'applied' });
  });
}

/**
 * After a crash, promotions left `applying` are settled from the repository: if `main` is at the
 * recorded result commit, or descends from it, the promotion was applied; otherwise it failed.
 */
export async function reconcilePromotions(context: WorkspaceContext): Promise<void> {
  for (const row of await applyingPromotions(context.store.db)) {
    // Settled only when no server is applying into the target now (a cluster's other servers).
    await ifTargetIdle(context.store, row.target_workspace_id, () => settleInterrupted(context, row));
  }
}

/** Settles one promotion a killed server left `applying`, from where the target's `main` is. */
async function settleInterrupted(context: WorkspaceContext, row: PromotionRow): Promise<void> {
  const target = await findWorkspaceById(context.store.db, row.target_workspace_id);
  let applied = false;
  if (target && row.result_commit) {
    const repo = repositoryPath(context, target.repository_name);
    const main = await resolveRef(repo, 'refs/heads/main');
    if (main) {
      applied = await isAncestor(repo, row.result_commit, main);
    }
  }
  await updatePromotion(
    context.store.db,
    row.id,
    applied
      ? { status: 'applied' }
      : { status: 'failed', error: 'The server stopped during the apply; main was not moved.' },
  );
}

/** The id of the workspace a promotion went into, for routes that name only the promotion. */
export async function promotionTargetId(
  context: WorkspaceContext,
  promotionId: string,
): Promise<string | undefined> {
  return (await findPromotion(context.store.db, promotionId))?.target_workspace_id;
}
