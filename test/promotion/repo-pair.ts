import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { tempFolder } from '../helpers/temp-folders.js';
import { GIT_ENV } from '../helpers/test-server.js';

const run = promisify(execFile);

/** A new temporary folder, removed after the test file (not after each test: the tables run concurrently). */
export function tempDir(prefix = 'sluice-merge-'): string {
  return tempFolder(prefix, 'file');
}

export interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Stock `git` as a user runs it, but blind to this machine's configuration (GIT_CONFIG_GLOBAL,
 * GIT_CONFIG_NOSYSTEM, a fixed identity): never throws, answers the exit code.
 */
export async function stockGit(cwd: string, ...args: string[]): Promise<GitResult> {
  try {
    const { stdout, stderr } = await run('git', ['-c', 'init.defaultBranch=main', ...args], {
      cwd,
      env: GIT_ENV,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Stock `git` that must succeed; answers its trimmed stdout. */
export async function mustGit(cwd: string, ...args: string[]): Promise<string> {
  const result = await stockGit(cwd, ...args);
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout.trim();
}

/** What one side does to its working tree before committing. */
export type Edit = (tree: WorkTree) => void;

/** File operations on a working tree, as a person would make them. */
export interface WorkTree {
  write(path: string, content: string | Buffer): void;
  remove(path: string): void;
  move(from: string, to: string): void;
  executable(path: string, on?: boolean): void;
  /** Makes `path` a symbolic link to `to` (replacing what was there). */
  link(path: string, to: string): void;
}

export function workTree(root: string): WorkTree {
  return {
    write(path, content) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    remove(path) {
      rmSync(join(root, path), { recursive: true, force: true });
    },
    move(from, to) {
      mkdirSync(dirname(join(root, to)), { recursive: true });
      renameSync(join(root, from), join(root, to));
    },
    executable(path, on = true) {
      chmodSync(join(root, path), on ? 0o755 : 0o644);
    },
    link(path, to) {
      rmSync(join(root, path), { force: true });
      symlinkSync(to, join(root, path));
    },
  };
}

/** Applies `edit` to the repository at `dir` and commits everything (even nothing); answers the commit. */
export async function commitEdit(dir: string, edit: Edit, message: string): Promise<string> {
  edit(workTree(dir));
  await mustGit(dir, 'add', '--all');
  await mustGit(dir, 'commit', '--quiet', '--allow-empty', '--no-gpg-sign', '-m', message);
  return mustGit(dir, 'rev-parse', 'HEAD');
}

export interface RepoPair {
  /** The target's working repository (its `main`), which also holds the source as `refs/heads/source`. */
  readonly target: string;
  readonly source: string;
  readonly targetCommit: string;
  readonly sourceCommit: string;
}

export interface PairSpec {
  /** With a base, both sides start from one commit; without, they are unrelated histories. */
  readonly base?: Edit;
  readonly target: Edit;
  readonly source: Edit;
}

/**
 * Builds a target and a source repository with stock git (related through a shared first commit,
 * or unrelated), and fetches the source's `main` into the target as `refs/heads/source`.
 */
export async function buildPair(spec: PairSpec): Promise<RepoPair> {
  const root = tempDir();
  const target = join(root, 'target');
  const source = join(root, 'source');
  // No templates: sample hooks cost time and nothing here needs them.
  await Promise.all([
    mustGit(root, 'init', '--quiet', '--template=', target),
    mustGit(root, 'init', '--quiet', '--template=', source),
  ]);
  if (spec.base) {
    await commitEdit(target, spec.base, 'base');
    // What a clone does, without the clone's extra work: the source starts at the target's commit.
    await mustGit(source, 'fetch', '--quiet', '--no-tags', '--update-head-ok', target, 'main:main');
    await mustGit(source, 'reset', '--quiet', '--hard');
  }
  const [targetCommit, sourceCommit] = await Promise.all([
    commitEdit(target, spec.target, 'target'),
    commitEdit(source, spec.source, 'source'),
  ]);
  await mustGit(target, 'fetch', '--quiet', '--no-tags', source, 'main:refs/heads/source');
  return { target, source, targetCommit, sourceCommit };
}

/**
 * Stock `git merge -X theirs --allow-unrelated-histories --no-edit` of the source into the
 * target's working tree, exactly as a person runs it: answers whether git resolved by itself, and
 * the tree it made. Run it after reading what the repository held before.
 */
export async function stockMergeTheirs(pair: RepoPair): Promise<{ resolved: boolean; tree: string }> {
  const merge = await stockGit(
    pair.target,
    'merge',
    '--quiet',
    '-X',
    'theirs',
    '--allow-unrelated-histories',
    '--no-edit',
    '--no-gpg-sign',
    'source',
  );
  if (merge.code !== 0) return { resolved: false, tree: '' };
  return { resolved: true, tree: await mustGit(pair.target, 'rev-parse', 'HEAD^{tree}') };
}

/** `path -> mode blob` of a tree, for readable comparisons. */
export async function treeListing(repo: string, tree: string): Promise<Record<string, string>> {
  const out = await mustGit(repo, 'ls-tree', '-r', '-z', tree);
  const entries: Record<string, string> = {};
  for (const line of out.split('\0').filter(Boolean)) {
    const [meta, path] = line.split('\t') as [string, string];
    const [mode, , oid] = meta.split(' ') as [string, string, string];
    entries[path] = `${mode} ${oid.slice(0, 10)}`;
  }
  return entries;
}

/** The text of `path` in `treeish`, or null when it has none. */
export async function fileAt(repo: string, treeish: string, path: string): Promise<string | null> {
  const result = await stockGit(repo, 'cat-file', 'blob', `${treeish}:${path}`);
  return result.code === 0 ? result.stdout : null;
}
