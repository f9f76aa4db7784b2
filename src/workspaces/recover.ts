import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkspaceByRepositoryName } from '../store/workspaces.js';
import type { WorkspaceContext } from './context.js';

/**
 * Settles what a killed server left in the repositories folder: stale ref locks are removed; a
 * repository built aside for a
 * workspace that was never recorded is removed; one moved aside for a delete whose row still
 * exists is put back (the delete did not happen), otherwise removed (it did).
 *
 * With `minAgeMs`, only leftovers at least that old are touched: the folder is shared by several
 * servers, one of which may hold that lock or be creating that repository right now.
 */
export async function recoverRepositories(context: WorkspaceContext, minAgeMs = 0): Promise<void> {
  if (!existsSync(context.reposDir)) return;
  const abandoned = (path: string) =>
    minAgeMs === 0 || Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) >= minAgeMs;
  for (const entry of readdirSync(context.reposDir)) {
    if (entry.endsWith('.git')) {
      // A server killed while git moved a ref leaves git's lock file, which would refuse every
      // later update. Git holds these locks for milliseconds, so an old one is nobody's.
      for (const lock of ['refs/heads/main.lock', 'packed-refs.lock', 'HEAD.lock']) {
        const path = join(context.reposDir, entry, lock);
        if (abandoned(path)) rmSync(path, { force: true });
      }
      continue;
    }
    if (!abandoned(join(context.reposDir, entry))) continue;
    const creating = /^(.+)\.git\.creating-\d+$/.exec(entry);
    if (creating) {
      rmSync(join(context.reposDir, entry), { recursive: true, force: true });
      continue;
    }
    const deleting = /^(.+)\.git\.deleting-\d+-\d+$/.exec(entry);
    if (!deleting) continue;
    const name = deleting[1] as string;
    const row = await findWorkspaceByRepositoryName(context.store.db, name);
    const original = join(context.reposDir, `${name}.git`);
    if (row && row.repository_name === name && !existsSync(original))
      renameSync(join(context.reposDir, entry), original);
    else rmSync(join(context.reposDir, entry), { recursive: true, force: true });
  }
}
