import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeBase } from '../git/history.js';
import { gitFailure, runGit, runGitStatus } from '../git/run-git.js';
import { writeCommit } from '../git/write-commit.js';

/** A path Git could not merge by itself; the source's side was taken (the page's meaning). */
export interface PolicyConflict {
  readonly path: string;
  /** Git's words: `modify/delete`, `rename/delete`, `file/directory`, `binary`, ... */
  readonly kind: string;
  readonly message: string;
  /** Blob ids of each side, null where that side has no file. */
  readonly target: string | null;
  readonly source: string | null;
}

export interface TheirsMerge {
  readonly tree: string;
  readonly baseCommit: string | null;
  readonly conflicts: readonly PolicyConflict[];
  /**
   * Files Git merged line by line with conflicting hunks, each taken from the source (`-X theirs`):
   * the target's lines there are gone, and a preview must say so.
   */
  readonly overridden: readonly string[];
}

interface Stage {
  readonly mode: string;
  readonly oid: string;
}

/** Parses `git merge-tree --write-tree -z --messages` (git 2.38+): tree, conflicted stages, messages. */
function parseMergeTree(output: Buffer): {
  tree: string;
  stages: Map<string, Map<number, Stage>>;
  messages: { paths: string[]; type: string; message: string }[];
} {
  const fields = output.toString('utf8').split('\0');
  const tree = fields[0] ?? '';
  const stages = new Map<string, Map<number, Stage>>();
  let i = 1;
  for (; i < fields.length && fields[i] !== ''; i++) {
    const match = /^(\d+) ([0-9a-f]+) (\d)\t(.*)$/s.exec(fields[i] as string);
    if (!match) continue;
    const [, mode, oid, stage, path] = match as unknown as [string, string, string, string, string];
    const entry = stages.get(path) ?? new Map<number, Stage>();
    entry.set(Number(stage), { mode, oid });
    stages.set(path, entry);
  }
  i++;
  const messages: { paths: string[]; type: string; message: string }[] = [];
  while (i < fields.length && fields[i] !== '') {
    const count = Number(fields[i]);
    const paths = fields.slice(i + 1, i + 1 + count);
    const type = fields[i + 1 + count] ?? '';
    const message = fields[i + 2 + count] ?? '';
    messages.push({ paths, type, message });
    i += 3 + count;
  }
  return { tree, stages, messages };
}

/** Git's `-X theirs` for one file: a three-way line merge in which every conflicting hunk takes the source's lines. */
async function mergeFileTheirs(
  repo: string,
  base: Stage | undefined,
  target: Stage,
  source: Stage,
): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-merge-file-'));
  try {
    const read = async (stage: Stage | undefined) =>
      stage ? runGit(['cat-file', 'blob', stage.oid], { gitDir: repo }) : Buffer.alloc(0);
    const [b, t, s] = await Promise.all([read(base), read(target), read(source)]);
    if ([b, t, s].some((buffer) => buffer.includes(0))) return null; // binary: no line merge
    await Promise.all([
      writeFile(join(dir, 'base'), b),
      writeFile(join(dir, 'target'), t),
      writeFile(join(dir, 'source'), s),
    ]);
    const merged = await runGitStatus([
      'merge-file',
      '-p',
      '--theirs',
      join(dir, 'target'),
      join(dir, 'base'),
      join(dir, 'source'),
    ]);
    if (merged.exitCode === null || merged.exitCode < 0) throw gitFailure(['merge-file'], merged);
    return (await runGit(['hash-object', '-w', '--stdin'], { gitDir: repo, input: merged.stdout }))
      .toString('utf8')
      .trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Merges `sourceCommit` into `targetCommit` as `git merge -X theirs --allow-unrelated-histories`
 * would: Git's own merge (`merge-tree`, the ort strategy), then each content conflict resolved
 * hunk by hunk in the source's favour (`merge-file --theirs`, what `-X theirs` does). Where Git
 * stops without a line merge to favour (modify/delete, rename/delete, file/directory, binary),
 * the source's side is taken and the conflict reported as resolved by policy.
 */
export async function mergeTheirs(
  repo: string,
  targetCommit: string,
  sourceCommit: string,
  /** Git's merge base of the two, when the caller has asked already. */
  knownBase?: string | null,
): Promise<TheirsMerge> {
  const baseCommit = knownBase !== undefined ? knownBase : await mergeBase(repo, targetCommit, sourceCommit);
  const args = [
    'merge-tree',
    '--write-tree',
    '-z',
    '--messages',
    '--allow-unrelated-histories',
    targetCommit,
    sourceCommit,
  ];
  const outcome = await runGitStatus(args, { gitDir: repo });
  if (outcome.exitCode !== 0 && outcome.exitCode !== 1) throw gitFailure(args, outcome);
  const { tree, stages, messages } = parseMergeTree(outcome.stdout);
  if (outcome.exitCode === 0) return { tree, baseCommit, conflicts: [], overridden: [] };

  const blobs: Record<string, { mode: string; oid: string } | null> = {};
  const conflicts: PolicyConflict[] = [];
  const overridden: string[] = [];
  const kindOf = (path: string) =>
    messages.find((m) => m.paths.includes(path) && m.type.startsWith('CONFLICT')) ?? {
      type: 'CONFLICT',
      message: '',
    };
  for (const [path, entry] of stages) {
    const target = entry.get(2);
    const source = entry.get(3);
    const isFile = (s: Stage | undefined) => s !== undefined && s.mode !== '160000' && s.mode !== '120000';
    if (isFile(target) && isFile(source) && target && source) {
      const merged = await mergeFileTheirs(repo, entry.get(1), target, source);
      if (merged) {
        // The mode merges three-way too: an executable bit only the target changed stays (as in git).
        const base = entry.get(1);
        blobs[path] = { mode: base && source.mode === base.mode ? target.mode : source.mode, oid: merged };
        overridden.push(path);
        continue;
      }
    }
    const info = kindOf(path);
    conflicts.push({
      path,
      kind: info.type.replace(/^CONFLICT \(|\)$/g, ''),
      message: info.message.trim(),
      target: target?.oid ?? null,
      source: source?.oid ?? null,
    });
    blobs[path] = source ? { mode: source.mode, oid: source.oid } : null;
  }
  // file/directory conflicts leave the file side renamed to `path~<branch>`: the source's tree decides.
  for (const message of messages) {
    if (!/file\/directory|directory\/file/i.test(message.type)) continue;
    for (const path of message.paths) if (/~/.test(path) && !(path in blobs)) blobs[path] = null;
    // The source's file was moved aside (`path~<source>`): it goes back to its name, and the
    // target's folder there goes (update-index replaces a folder with a file of its name).
    const aside = message.paths.find((p) => p.endsWith(`~${sourceCommit}`));
    const blob = aside === undefined ? undefined : blobs[aside];
    if (aside !== undefined && blob) {
      blobs[aside] = null;
      blobs[aside.slice(0, -sourceCommit.length - 1)] = blob;
    }
    // Reported under the path's own name, not Git's `path~<commit>`.
    for (const [i, conflict] of conflicts.entries()) {
      for (const commit of [targetCommit, sourceCommit]) {
        if (message.paths.includes(conflict.path) && conflict.path.endsWith(`~${commit}`))
          conflicts[i] = { ...conflict, path: conflict.path.slice(0, -commit.length - 1) };
      }
    }
  }
  const resolvedTree = await replaceInTree(repo, tree, blobs);
  return { tree: resolvedTree, baseCommit, conflicts, overridden };
}

/**
 * `mergeTheirs` from a base chosen by the caller rather than Git's ancestry: the three trees are
 * committed afresh in `repo` (a scratch repository), target and source as children of the base
 * (or both without parents when there is no base), and those commits merged.
 */
export async function mergeTheirsFrom(
  repo: string,
  baseCommit: string | null,
  targetCommit: string,
  sourceCommit: string,
): Promise<TheirsMerge> {
  const recommit = (commit: string, parents: string[], role: string) =>
    writeCommit(repo, {
      tree: `${commit}^{tree}`,
      parents,
      message: `${role} of a promotion, as ${commit}\n`,
      author: { name: 'Sluice', email: 'sluice@localhost' },
    });
  const base = baseCommit ? await recommit(baseCommit, [], 'Base') : null;
  const parents = base ? [base] : [];
  const [target, source] = await Promise.all([
    recommit(targetCommit, parents, 'Target'),
    recommit(sourceCommit, parents, 'Source'),
  ]);
  return { ...(await mergeTheirs(repo, target, source, base)), baseCommit };
}

/**
 * A tree with some paths set to given blobs (or removed), built through a temporary index so that
 * binary content and file modes pass through untouched.
 */
export async function replaceInTree(
  repo: string,
  tree: string,
  blobs: Readonly<Record<string, { mode: string; oid: string } | null>>,
): Promise<string> {
  if (Object.keys(blobs).length === 0) return tree;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-index-'));
  const env = { GIT_INDEX_FILE: join(dir, 'index') };
  try {
    await runGit(['read-tree', tree], { gitDir: repo, env });
    const lines = Object.entries(blobs).map(([path, blob]) =>
      blob === null ? `0 ${'0'.repeat(40)}\t${path}` : `${blob.mode} ${blob.oid}\t${path}`,
    );
    await runGit(['update-index', '--index-info'], { gitDir: repo, env, input: `${lines.join('\n')}\n` });
    return (await runGit(['write-tree'], { gitDir: repo, env })).toString('utf8').trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
