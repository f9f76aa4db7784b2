import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRef } from './bare-repository.js';

/** What was last resolved by `git` for a repository's branch, and the state of the files it was read from. */
const known = new Map<string, { readonly stamp: string; readonly commit: string | null }>();

/** A loose ref that names a commit: its id (SHA-1 or SHA-256) and a newline. */
const LOOSE_ID = /^([0-9a-f]{40}|[0-9a-f]{64})\n?$/;

/**
 * The commit a branch of a bare repository points at (null when it does not exist), as `git
 * rev-parse` says. The server asks on every read of a workspace, and starting `git` is a `fork`
 * of the whole server (tens of milliseconds when it is busy, on the thread that serves every
 * request), so git is asked only when the answer is not in a file:
 * - the loose ref (`refs/heads/<branch>`), which Git writes whole (a lock file renamed over it)
 *   and reads first, holds the commit id itself: a push, here or by another server sharing the
 *   folder, is seen on the very next call, for the price of reading 41 bytes;
 * - otherwise (the ref is packed, in a reftable, or symbolic) git's answer is remembered until
 *   the loose ref or one of the files a packed or reftable ref lives in changes.
 */
export async function branchHead(repo: string, branch: string): Promise<string | null> {
  const commit = await readBranchHead(repo, branch);
  recent.set(`${repo}\0${branch}`, { commit, readAt: performance.now() });
  return commit;
}

/** What `branchHead` last answered, by repository and branch, and when. */
const recent = new Map<string, { readonly commit: string | null; readonly readAt: number }>();

/**
 * The commit a branch pointed at no longer than `maxAgeMs` ago, read again only when that is
 * older. For callers that check it against what the database recorded (the workspace row) and
 * read afresh with `branchHead` when the two differ: the hot read paths then touch no file.
 */
export async function recentBranchHead(
  repo: string,
  branch: string,
  maxAgeMs: number,
): Promise<string | null> {
  const last = recent.get(`${repo}\0${branch}`);
  if (last && performance.now() - last.readAt <= maxAgeMs) return last.commit;
  return branchHead(repo, branch);
}

async function readBranchHead(repo: string, branch: string): Promise<string | null> {
  const loose = readLooseRef(join(repo, 'refs', 'heads', branch));
  const id = loose === undefined ? undefined : LOOSE_ID.exec(loose)?.[1];
  if (id !== undefined) return id;
  const key = `${repo}\0${branch}`;
  // Taken before resolving: if the branch moves meanwhile, the next call sees another stamp.
  const stamp = refFilesStamp(repo, loose);
  const last = known.get(key);
  if (last && last.stamp === stamp) return last.commit;
  const commit = await resolveRef(repo, `refs/heads/${branch}`);
  known.set(key, { stamp, commit });
  return commit;
}

/** The content of a loose ref, or undefined when there is none (a reftable has `refs/heads` as a file). */
function readLooseRef(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * What a branch without a loose commit id is read from: the loose ref's content (a symbolic ref),
 * then inode, time and size of the files a packed or reftable ref lives in, which Git replaces
 * (never edits) when they change.
 */
function refFilesStamp(repo: string, loose: string | undefined): string {
  const packed = ['packed-refs', join('reftable', 'tables.list')].map((file) => {
    const stat = statSync(join(repo, file), { bigint: true, throwIfNoEntry: false });
    return stat ? `${stat.ino}:${stat.mtimeNs}:${stat.size}` : '-';
  });
  return [loose ?? '-', ...packed].join('|');
}
