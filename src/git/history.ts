import { runGit, runGitStatus } from './run-git.js';

/** Git's merge base of two commits, or null when their histories are unrelated. */
export async function mergeBase(repo: string, a: string, b: string): Promise<string | null> {
  const outcome = await runGitStatus(['merge-base', a, b], { gitDir: repo });
  return outcome.exitCode === 0 ? outcome.stdout.toString('utf8').trim() : null;
}

/** Whether `ancestor` is `of` or one of its ancestors (false as well when either is unknown). */
export async function isAncestor(repo: string, ancestor: string, of: string): Promise<boolean> {
  return (await runGitStatus(['merge-base', '--is-ancestor', ancestor, of], { gitDir: repo })).exitCode === 0;
}

/** A commit on a first-parent line: its id, parents (first parent first) and message. */
export interface LineCommit {
  readonly id: string;
  readonly parents: readonly string[];
  readonly message: string;
}

/**
 * The first-parent line of a revision range (`head`, or `from..to`), newest first unless
 * `oldestFirst`; `mergesOnly` keeps the commits with more than one parent.
 */
export async function firstParentLine(
  repo: string,
  range: string,
  options: { readonly mergesOnly?: boolean; readonly oldestFirst?: boolean } = {},
): Promise<LineCommit[]> {
  const args = ['log', '--first-parent', '-z', '--format=%H %P%n%B'];
  if (options.mergesOnly) args.push('--merges');
  if (options.oldestFirst) args.push('--reverse');
  const out = (await runGit([...args, range], { gitDir: repo })).toString('utf8');
  return out
    .split('\0')
    .filter((entry) => entry !== '')
    .map((entry) => {
      const newline = entry.indexOf('\n');
      const [id = '', ...parents] = entry.slice(0, newline).split(' ').filter(Boolean);
      return { id, parents, message: entry.slice(newline + 1) };
    });
}
