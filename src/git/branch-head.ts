import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRef } from './bare-repository.js';

/** What was last resolved for a repository's branch, and the state of the files it was read from. */
const known = new Map<string, { readonly stamp: string; readonly commit: string | null }>();

/**
 * The commit a branch of a bare repository points at (null when it does not exist), as `git
 * rev-parse` says, remembered until one of the files Git keeps refs in changes. The server asks
 * on every read of a workspace, and starting `git` is a `fork` of the whole server (tens of
 * milliseconds when it is busy), on the thread that serves every request.
 */
export async function branchHead(repo: string, branch: string): Promise<string | null> {
  const key = `${repo}\0${branch}`;
  // Taken before resolving: if the branch moves meanwhile, the next call sees another stamp.
  const stamp = refFilesStamp(repo, branch);
  const last = known.get(key);
  if (last && last.stamp === stamp) return last.commit;
  const commit = await resolveRef(repo, `refs/heads/${branch}`);
  known.set(key, { stamp, commit });
  return commit;
}

/**
 * What the branch is read from: the loose ref's content (41 bytes, the whole answer when the file
 * exists), then inode, time and size of the files a packed or reftable ref lives in, which Git
 * replaces (never edits) when they change.
 */
function refFilesStamp(repo: string, branch: string): string {
  let loose: string;
  try {
    loose = readFileSync(join(repo, 'refs', 'heads', branch), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    loose = '-';
  }
  const packed = ['packed-refs', join('reftable', 'tables.list')].map((file) => {
    const stat = statSync(join(repo, file), { bigint: true, throwIfNoEntry: false });
    return stat ? `${stat.ino}:${stat.mtimeNs}:${stat.size}` : '-';
  });
  return [loose, ...packed].join('|');
}
