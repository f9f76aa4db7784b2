import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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

async function checkout(repo: string, commit: string, workDir: string): Promise<void> {
  await mkdir(join(workDir, '.sluice'), { recursive: true });
  await runGit(['--work-tree', workDir, 'read-tree', '--reset', '-u', commit], {
    gitDir: repo,
    env: { GIT_INDEX_FILE: join(workDir, '.sluice', 'checkout-index') },
  });
}
