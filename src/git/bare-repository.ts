import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SluiceError } from '../errors.js';
import { type FileChanges, writeTree } from './build-tree.js';
import { checkRevision, checkTreePath } from './check-input.js';
import { readObjects } from './read-objects.js';
import { gitFailure, gitIdentityEnv, runGit, runGitStatus } from './run-git.js';
import { listTreeEntries } from './tree-entries.js';

/** Who a commit is by. */
export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

/**
 * Creates an empty bare repository at `path` (which must not exist yet) whose HEAD is `main`,
 * without git's template hooks. Its own configuration lets `git http-backend` accept pushes (the
 * server authenticates them before git sees them) and makes git check every pushed object
 * (`receive.fsckObjects`): a repository we serve to others must not take in trees that would
 * harm the clients that check them out (`.git` entries, malformed names and dates).
 */
export async function initBareRepository(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new SluiceError(
      'file_exists',
      `${path} already exists; a new repository needs a path of its own.`,
      {
        path,
      },
    );
  }
  await runGit(['init', '--bare', '--quiet', '--template=', '--initial-branch=main', path]);
  await runGit(['config', 'http.receivepack', 'true'], { gitDir: path });
  await runGit(['config', 'receive.fsckObjects', 'true'], { gitDir: path });
}

/**
 * The commit a ref or revision (`refs/heads/main`, `main`, `HEAD`, a commit id) points at, or
 * null when it does not exist (an unborn `main` included).
 */
export async function resolveRef(repo: string, ref: string): Promise<string | null> {
  checkRevision(ref);
  return verify(repo, `${ref}^{commit}`);
}

/** `rev-parse --verify --quiet`: exit status 1 means "no such object", anything else is a failure. */
async function verify(repo: string, revision: string): Promise<string | null> {
  const args = ['rev-parse', '--verify', '--quiet', revision];
  const outcome = await runGitStatus(args, { gitDir: repo });
  if (outcome.exitCode === 1) return null;
  if (outcome.exitCode !== 0) throw gitFailure(args, outcome);
  return outcome.stdout.toString('utf8').trim();
}

export interface CommitFilesInput {
  readonly branch: string;
  /**
   * Files to write (path -> text) or delete (path -> null), applied to the tree of the first
   * parent: files not named keep their content. With no parents the tree holds only these files.
   */
  readonly files: FileChanges;
  readonly message: string;
  /** Author and committer. */
  readonly author: GitIdentity;
  /** Default: the branch's commit (`expectedOld` when given), none when the branch does not exist. */
  readonly parents?: readonly string[];
  /**
   * The full commit id the branch must still point at for the commit to land, or null when the
   * branch must not exist yet. Default: the value the branch has when `commitFiles` starts.
   */
  readonly expectedOld?: string | null;
}

/**
 * Commits files to a branch with plumbing only (no working tree, no index, no hooks) and moves
 * the branch with a compare-and-swap: if another writer moved it in the meantime, nothing changes
 * and the call fails with `conflict`. Returns the new commit id.
 */
export async function commitFiles(repo: string, input: CommitFilesInput): Promise<string> {
  const ref = `refs/heads/${input.branch}`;
  const format = await runGitStatus(['check-ref-format', ref]);
  if (format.exitCode !== 0 || input.branch.startsWith('-')) {
    throw new SluiceError('validation_failed', `'${input.branch}' is not a valid branch name.`, {
      branch: input.branch,
    });
  }
  const old = input.expectedOld !== undefined ? input.expectedOld : await verify(repo, ref);
  const parents = input.parents ?? (old === null ? [] : [old]);
  for (const parent of parents) checkRevision(parent);

  const tree = await writeTree(repo, parents[0] ?? null, input.files);
  const message = input.message.endsWith('\n') ? input.message : `${input.message}\n`;
  const commitArgs = ['commit-tree', '--no-gpg-sign', ...parents.flatMap((p) => ['-p', p]), tree];
  const commit = (
    await runGit(commitArgs, {
      gitDir: repo,
      input: message,
      env: gitIdentityEnv(input.author.name, input.author.email),
    })
  )
    .toString('utf8')
    .trim();

  // An empty old value makes update-ref require that the ref does not exist yet.
  const updateArgs = ['update-ref', '-m', `commit: ${firstLine(message)}`, ref, commit, old ?? ''];
  const outcome = await runGitStatus(updateArgs, { gitDir: repo });
  if (outcome.exitCode !== 0) {
    const now = await verify(repo, ref);
    if (now !== old) {
      throw new SluiceError(
        'conflict',
        `Branch ${input.branch} moved while the commit was being made (it is at ${now ?? 'nothing'}, expected ${old ?? 'no branch'}). Reload and make the change again.`,
        { branch: input.branch, expected: old, actual: now },
      );
    }
    throw gitFailure(updateArgs, outcome);
  }
  return commit;
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? '';
}

/** The text of the file at `path` in `commit`, or undefined when there is no file there. */
export async function readBlob(repo: string, commit: string, path: string): Promise<string | undefined> {
  checkRevision(commit);
  checkTreePath(path);
  const name = `${commit}:${path}`;
  const object = (await readObjects(repo, [name])).get(name);
  return object?.type === 'blob' ? object.content.toString('utf8') : undefined;
}

/** Every file of a commit (symbolic links and submodules included: the mode tells them apart). */
export async function listFiles(
  repo: string,
  commit: string,
): Promise<{ path: string; mode: string; size: number }[]> {
  const entries = await listTreeEntries(repo, commit, 'files');
  return entries.map(({ path, mode, size }) => ({ path, mode, size }));
}
