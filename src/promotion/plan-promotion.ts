import { SluiceError } from '../errors.js';
import { readBlob, resolveRef } from '../git/bare-repository.js';
import { runGit } from '../git/run-git.js';
import { revertedPromotionCommits } from '../store/promotions.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import { repositoryPath, type WorkspaceContext } from '../workspaces/context.js';
import { ownedKeys } from '../workspaces/workspace-service.js';
import { projectAt, runProjectTaskFor } from '../workspaces/workspace-state.js';
import type { ConfigDiff } from './config-diff.js';
import { type EffectiveBase, effectiveBase } from './effective-base.js';
import { mergeTheirs, mergeTheirsFrom, type PolicyConflict, replaceInTree } from './git-merge.js';
import type { MergeOverride } from './merge-values.js';
import { mergeYamlText } from './merge-yaml-text.js';
import { routeWarnings } from './promotion-route.js';
import type { ScratchRepository } from './scratch-repository.js';

export interface FileChange {
  readonly path: string;
  readonly status: 'added' | 'modified' | 'deleted';
  /** Unified diff of the text (empty for binary files). */
  readonly diff: string;
}

export interface PromotionWarning {
  readonly code:
    | 'environment_missing'
    | 'required_setting_missing'
    | 'target_only_file'
    | 'target_edit_overridden'
    | 'new_pipeline_state'
    | 'line_merge_kept'
    | 'result_invalid'
    | 'manual_merge_differs'
    | 'route_reversed'
    | 'route_skipped';
  readonly message: string;
  readonly path?: string;
}

export interface PromotionConflict extends PolicyConflict {
  /** Both sides' text, for a person to compare (null: no file on that side). */
  readonly targetText: string | null;
  readonly sourceText: string | null;
  readonly resolution: 'source';
}

/** Everything a promotion will do, computed without changing either workspace. */
export interface PromotionPlan {
  readonly sourceWorkspaceId: string;
  readonly targetWorkspaceId: string;
  readonly sourceCommit: string;
  readonly targetCommit: string;
  readonly baseCommit: string | null;
  readonly resultTree: string;
  readonly files: readonly FileChange[];
  readonly configDiff: ConfigDiff;
  /** With `allEnvironments`: the diff in every environment of the result. */
  readonly configDiffByEnvironment?: readonly ConfigDiff[];
  readonly warnings: readonly PromotionWarning[];
  readonly conflicts: readonly PromotionConflict[];
  readonly unchanged: boolean;
}

export interface PlanOptions {
  readonly deleteTargetOnly?: boolean;
  readonly allEnvironments?: boolean;
}

async function lines(repo: string, args: readonly string[]): Promise<string[]> {
  return (await runGit(args, { gitDir: repo })).toString('utf8').split('\0').filter(Boolean);
}

async function textAt(repo: string, commit: string | null, path: string): Promise<string | null> {
  if (!commit) return null;
  return (await readBlob(repo, commit, path)) ?? null;
}

/** The files a workspace's project is read from at `commit`, or null when it does not load. */
async function projectFilesAt(
  context: WorkspaceContext,
  workspace: WorkspaceRow,
  commit: string,
): Promise<readonly string[] | null> {
  try {
    return (await runProjectTaskFor(context, { kind: 'check', at: projectAt(context, workspace, commit) }))
      .files;
  } catch (error) {
    if (error instanceof SluiceError) return null;
    throw error;
  }
}

const DIFF_ARGS = ['diff', '--no-color', '--no-ext-diff', '--no-renames'] as const;

/** A path git writes as is in a `diff --git` header (core.quotePath quotes the others). */
const UNQUOTED_PATH = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * The unified diff of each changed path (as `git diff from to -- path` prints it), from one `git
 * diff` of the two trees: one git per file made a promotion of a few hundred files spend most of
 * its time starting processes. The patch is cut before each `diff --git` header (no other line
 * starts so: content lines start with a space, `+`, `-` or `\`); git writes them in diff-tree's
 * order, one per path and two for a type change (a deletion and a creation). Should the pieces
 * not line up with the paths, each file is diffed on its own (where a path that became a folder
 * also shows the files under it).
 */
async function diffsByFile(
  repo: string,
  from: string,
  to: string,
  entries: readonly { readonly status: string; readonly path: string }[],
): Promise<string[]> {
  if (entries.length === 0) return [];
  const patch = (await runGit([...DIFF_ARGS, from, to], { gitDir: repo })).toString('utf8');
  const pieces = patch.split(/^(?=diff --git )/m).filter((piece) => piece !== '');
  const diffs: string[] = [];
  let next = 0;
  for (const { status, path } of entries) {
    const count = status === 'T' ? 2 : 1;
    const own = pieces.slice(next, next + count);
    next += count;
    const header = UNQUOTED_PATH.test(path) ? `diff --git a/${path} b/${path}\n` : 'diff --git ';
    if (own.length < count || !own.every((piece) => piece.startsWith(header))) break;
    diffs.push(own.join(''));
  }
  if (diffs.length === entries.length && next === pieces.length) return diffs;
  const one = async (path: string) =>
    (await runGit([...DIFF_ARGS, from, to, '--', `:(literal)${path}`], { gitDir: repo })).toString('utf8');
  const each: string[] = [];
  for (const { path } of entries) each.push(await one(path));
  return each;
}

/**
 * Says what `git pull -X theirs` (the product page's manual way) would do differently from this
 * promotion, when Git's base is a promotion that was reverted since: the paths whose merge
 * differs, which the revert emptied and Git would not bring back.
 */
async function differsFromManualMerge(
  repo: string,
  chosen: EffectiveBase,
  targetCommit: string,
  sourceCommit: string,
  tree: string,
): Promise<PromotionWarning | undefined> {
  const manual = await mergeTheirs(repo, targetCommit, sourceCommit, chosen.gitBase);
  const paths = await lines(repo, [
    'diff-tree',
    '-r',
    '-z',
    '--name-only',
    '--no-renames',
    manual.tree,
    tree,
  ]);
  if (paths.length === 0) return undefined;
  const reverted = chosen.undone.map((commit) => commit.slice(0, 7)).join(', ');
  const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? ` and ${paths.length - 5} more` : '');
  return {
    code: 'manual_merge_differs',
    message: `A manual \`git pull -X theirs\` of this source would give a different result in ${shown}: Git merges from ${chosen.gitBase?.slice(0, 7)}, which came in with the promotion ${reverted} that was reverted since, so it would not bring back what the revert removed. This promotion merges from ${chosen.commit ? chosen.commit.slice(0, 7) : 'nothing (as a first promotion)'} and brings it back.`,
  };
}

function describe(path: readonly (string | { readonly name: string })[]): string {
  return path
    .map((p) => (typeof p === 'string' ? p : `[${p.name}]`))
    .join('.')
    .replace(/\.\[/g, '[');
}

/**
 * Plans the promotion of `source`'s main into `target`'s main with the page's meaning (the
 * source's changes win): Git's `-X theirs` merge for files, a merge by meaning for `meltano.yml`
 * and the files it includes, the target's own fields kept. Works in a scratch repository; the
 * workspaces are not touched.
 */
export async function planPromotion(
  context: WorkspaceContext,
  scratch: ScratchRepository,
  source: WorkspaceRow,
  target: WorkspaceRow,
  options: PlanOptions = {},
): Promise<PromotionPlan> {
  if (source.id === target.id)
    throw new SluiceError('validation_failed', 'A workspace cannot be promoted into itself.');
  const repo = scratch.path;
  const sourceCommit = await resolveRef(repositoryPath(context, source.repository_name), 'refs/heads/main');
  const targetCommit = await resolveRef(repositoryPath(context, target.repository_name), 'refs/heads/main');
  if (!sourceCommit || !targetCommit) {
    throw new SluiceError(
      'conflict',
      `Workspace '${(sourceCommit ? target : source).name}' has no main branch to promote.`,
    );
  }
  // Revert-safe: merged from the source content the target still holds, not Git's ancestry.
  const chosen = await effectiveBase(
    repo,
    targetCommit,
    sourceCommit,
    new Set(await revertedPromotionCommits(context.store.db, target.id)),
  );
  const merge =
    chosen.commit === chosen.gitBase
      ? await mergeTheirs(repo, targetCommit, sourceCommit, chosen.gitBase)
      : await mergeTheirsFrom(repo, chosen.commit, targetCommit, sourceCommit);
  const base = merge.baseCommit;
  const warnings: PromotionWarning[] = await routeWarnings(context, source, target);
  if (chosen.commit !== chosen.gitBase) {
    const manual = await differsFromManualMerge(repo, chosen, targetCommit, sourceCommit, merge.tree);
    if (manual) warnings.push(manual);
  }

  // meltano.yml and the files it includes: merged by meaning, over Git's line merge.
  // Projects load in the project workers: a project within the limits may still take seconds.
  const [sourceFiles, targetFiles] = await Promise.all([
    projectFilesAt(context, source, sourceCommit),
    projectFilesAt(context, target, targetCommit),
  ]);
  const yamlFiles = new Set(['meltano.yml', ...(sourceFiles ?? []), ...(targetFiles ?? [])]);
  const blobs: Record<string, { mode: string; oid: string } | null> = {};
  const overrides: { file: string; override: MergeOverride }[] = [];
  for (const file of yamlFiles) {
    const [b, t, s] = await Promise.all([
      textAt(repo, base, file),
      textAt(repo, targetCommit, file),
      textAt(repo, sourceCommit, file),
    ]);
    if (t === s) continue;
    try {
      const merged = mergeYamlText(file, b, t, s, { targetOwnedKeys: ownedKeys(target) });
      for (const override of merged.overrides) overrides.push({ file, override });
      if (merged.text === null) blobs[file] = null;
      else {
        const oid = (await runGit(['hash-object', '-w', '--stdin'], { gitDir: repo, input: merged.text }))
          .toString('utf8')
          .trim();
        blobs[file] = { mode: '100644', oid };
      }
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      // A side that does not parse cannot be merged by meaning: Git's line merge stands.
      warnings.push({
        code: 'line_merge_kept',
        path: file,
        message: `${file} could not be merged by meaning (${error.message}); Git's line merge was kept.`,
      });
    }
  }
  let tree = await replaceInTree(repo, merge.tree, blobs);

  // Files only the target has: they stay, unless asked to go (and the source never had them since the base).
  const inTree = async (treeish: string) =>
    new Set(await lines(repo, ['ls-tree', '-r', '-z', '--name-only', treeish]));
  const [targetTree, sourceTree, baseTree] = await Promise.all([
    inTree(targetCommit),
    inTree(sourceCommit),
    base ? inTree(base) : Promise.resolve(new Set<string>()),
  ]);
  const targetOnly = [...targetTree].filter((f) => !sourceTree.has(f) && !baseTree.has(f));
  if (options.deleteTargetOnly && targetOnly.length > 0) {
    tree = await replaceInTree(repo, tree, Object.fromEntries(targetOnly.map((f) => [f, null])));
  } else {
    const kept = await inTree(tree);
    for (const path of targetOnly) {
      if (!kept.has(path)) continue; // the source's file took its place (file/directory): not staying
      warnings.push({
        code: 'target_only_file',
        path,
        message: `${path} exists only in the target and stays (use --delete-target-only to remove it).`,
      });
    }
  }

  // What changes in the target.
  const files: FileChange[] = [];
  const changed = await lines(repo, [
    'diff-tree',
    '-r',
    '-z',
    '--no-renames',
    '--name-status',
    targetCommit,
    tree,
  ]);
  const entries: { status: string; path: string }[] = [];
  for (let i = 0; i + 1 < changed.length; i += 2)
    entries.push({ status: changed[i] as string, path: changed[i + 1] as string });
  const diffs = await diffsByFile(repo, targetCommit, tree, entries);
  for (const [i, { status, path }] of entries.entries()) {
    const diff = diffs[i] ?? '';
    files.push({ path, status: status === 'A' ? 'added' : status === 'D' ? 'deleted' : 'modified', diff });
  }

  for (const { file, override } of overrides) {
    warnings.push({
      code: 'target_edit_overridden',
      path: file,
      message:
        override.kind === 'deleted-by-source'
          ? `${file}: ${describe(override.path)} was changed in the target but the source removed it; it is removed.`
          : override.target === undefined
            ? `${file}: ${describe(override.path)} was removed in the target but the source changed it; the source's (${JSON.stringify(override.source)}) is kept.`
            : `${file}: the target's ${describe(override.path)} (${JSON.stringify(override.target)}) is replaced by the source's (${JSON.stringify(override.source)}).`,
    });
  }
  for (const path of merge.overridden) {
    if (path in blobs) continue; // merged by meaning: its overrides are listed key by key above
    warnings.push({
      code: 'target_edit_overridden',
      path,
      message: `${path}: the target's edits in lines the source also changed are replaced by the source's lines.`,
    });
  }
  const conflicts: PromotionConflict[] = [];
  for (const conflict of merge.conflicts) {
    const read = async (oid: string | null) =>
      oid ? (await runGit(['cat-file', 'blob', oid], { gitDir: repo })).toString('utf8') : null;
    conflicts.push({
      ...conflict,
      targetText: await read(conflict.target),
      sourceText: await read(conflict.source),
      resolution: 'source',
    });
    warnings.push({
      code: 'target_edit_overridden',
      path: conflict.path,
      message: `${conflict.path}: ${conflict.kind} conflict, resolved by taking the source's side.`,
    });
  }

  // The configuration pipelines will run with in the target's active environment: a diff costs
  // settings times environments, so it is computed in a project worker, within its limits.
  const config = await runProjectTaskFor(context, {
    kind: 'promotionConfig',
    at: { repo, commit: tree, display: `${target.repository_name}@promotion` },
    request: {
      target: projectAt(context, target, targetCommit),
      result: { repo, commit: tree, display: `${target.repository_name}@promotion` },
      targetName: target.name,
      activeEnvironment: target.active_environment,
      allEnvironments: options.allEnvironments === true,
    },
  });
  warnings.push(...config.warnings);
  return {
    sourceWorkspaceId: source.id,
    targetWorkspaceId: target.id,
    sourceCommit,
    targetCommit,
    baseCommit: base,
    resultTree: tree,
    files,
    configDiff: config.configDiff,
    configDiffByEnvironment: config.configDiffByEnvironment,
    warnings,
    conflicts,
    unchanged: files.length === 0,
  };
}
