import { lstat, mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SluiceError } from '../errors.js';
import { runGit } from '../git/run-git.js';

/**
 * The folder a workspace's server runs work in: its project root. It persists between runs, so
 * relative output paths (a DuckDB file, `output/`), `.sluice/` virtualenvs and other untracked
 * files stay where a user expects them, as in a Meltano project folder.
 */
export function workspaceWorkDir(dataDir: string, workspaceId: string): string {
  return join(dataDir, 'work', workspaceId);
}

/** What this process knows of a workspace folder: the commit its files are at, and the runs in it. */
interface Folder {
  commit: string | null;
  /** Settles when the folder's files are those of `commit`. */
  ready: Promise<void>;
  active: number;
  readonly waiters: Set<() => void>;
}

const folders = new Map<string, Folder>();

/**
 * Takes the workspace folder for a run at `commit`: its tracked files are made those of the
 * commit (changed and deleted files follow it, untracked files stay). Runs at the same commit
 * share the folder; a run at another commit waits until the folder is free, so that no run's
 * files change under it. The folder's own index lives under `.sluice/`, so a checkout knows which
 * files it wrote last time. Answers the function that gives the folder back.
 */
export async function leaseWorkDir(
  repo: string,
  commit: string,
  workDir: string,
  signal?: AbortSignal,
): Promise<() => void> {
  let folder = folders.get(workDir);
  if (!folder) {
    folder = { commit: null, ready: Promise.resolve(), active: 0, waiters: new Set() };
    folders.set(workDir, folder);
  }
  const current = folder;
  while (current.active > 0 && current.commit !== commit) {
    await new Promise<void>((resolve) => {
      const wake = () => {
        current.waiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      current.waiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
    signal?.throwIfAborted();
  }
  current.active++;
  const release = () => {
    current.active--;
    if (current.active === 0) for (const wake of [...current.waiters]) wake();
  };
  try {
    if (current.commit !== commit) {
      current.commit = commit;
      current.ready = checkout(repo, commit, workDir);
      // A failed checkout leaves the folder's commit unknown: the next run checks out again.
      current.ready.catch(() => {
        if (current.commit === commit) current.commit = null;
      });
    }
    await current.ready;
    return release;
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Makes the folder's tracked files those of `commit`. `.sluice/` in a workspace folder is Sluice's
 * own (virtualenvs, the runs' scratch folders): a commit that tracks it, as a folder or as a link
 * (which would lead the server's own writes into another workspace's folder), is refused. The
 * index that remembers what the last checkout wrote lives beside the folder, out of its reach.
 */
async function checkout(repo: string, commit: string, workDir: string): Promise<void> {
  const tracked = await runGit(['ls-tree', '--name-only', '-z', commit, '--', '.sluice'], { gitDir: repo });
  if (tracked.length > 0) {
    throw new SluiceError(
      'project_invalid',
      `The commit ${commit.slice(0, 12)} tracks .sluice, the folder Sluice keeps for itself in a workspace (virtualenvs, run files). Remove it from the repository (git rm -r --cached .sluice) and push again.`,
      { commit },
    );
  }
  const index = join(dirname(workDir), '.checkout-index', basename(workDir));
  await mkdir(dirname(index), { recursive: true, mode: 0o700 });
  await mkdir(workDir, { recursive: true });
  await runGit(['--work-tree', workDir, 'read-tree', '--reset', '-u', commit], {
    gitDir: repo,
    env: { GIT_INDEX_FILE: index },
  });
  // What an older checkout may have left as a link is no folder of Sluice's.
  const own = join(workDir, '.sluice');
  if ((await lstat(own).catch(() => undefined))?.isSymbolicLink()) await rm(own);
  await mkdir(own, { recursive: true });
}
