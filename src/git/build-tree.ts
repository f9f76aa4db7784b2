import { posix } from 'node:path';
import { SluiceError } from '../errors.js';
import { checkTreePath } from './check-input.js';
import { runGit } from './run-git.js';
import { listTreeEntries, REGULAR_FILE_MODES, type TreeEntryType } from './tree-entries.js';

/** Files to write (path -> text) or to delete (path -> null). */
export type FileChanges = Readonly<Record<string, string | null>>;

interface Entry {
  readonly mode: string;
  readonly type: TreeEntryType;
  readonly oid: string;
}

/** Blobs hashed at once: enough to hide process start-up, few enough not to swamp a small machine. */
const HASH_CONCURRENCY = 8;

/**
 * Writes the tree of `base` (a commit or tree; null for an empty one) with `changes` applied and
 * returns its id, using plumbing only: `hash-object -w` for the new files, then one `mktree` for
 * each folder on the way from a changed file to the root. Folders nobody touched keep their
 * tree ids; a file that is changed keeps its executable bit; a folder left empty disappears.
 */
export async function writeTree(repo: string, base: string | null, changes: FileChanges): Promise<string> {
  const paths = Object.keys(changes);
  for (const path of paths) checkTreePath(path);

  const folders = new Set<string>(['']);
  for (const path of paths) {
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) folders.add(dir);
  }
  for (const path of paths) {
    if (folders.has(path)) {
      throw new SluiceError(
        'validation_failed',
        `'${path}' is both a file and the folder of another file in the same commit. Change one of them in a separate commit.`,
        { path },
      );
    }
  }

  const [blobs, baseEntries] = await Promise.all([
    hashBlobs(repo, paths, changes),
    base === null ? [] : listTreeEntries(repo, base, 'files-and-folders'),
  ]);

  const contents = new Map<string, Map<string, Entry>>([...folders].map((dir) => [dir, new Map()]));
  for (const entry of baseEntries) {
    const dir = parentOf(entry.path);
    contents.get(dir)?.set(posix.basename(entry.path), entry);
  }

  const written = new Map<string, string | null>();
  const byDepth = [...folders].sort((a, b) => depth(b) - depth(a));
  for (const level of new Set(byDepth.map(depth))) {
    const batch = byDepth.filter((dir) => depth(dir) === level);
    await Promise.all(
      batch.map(async (dir) => {
        const entries = contents.get(dir) ?? new Map<string, Entry>();
        for (const [child, tree] of written) {
          if (parentOf(child) !== dir || child === dir) continue;
          const name = posix.basename(child);
          const existing = entries.get(name);
          if (existing && existing.type !== 'tree') {
            throw new SluiceError(
              'validation_failed',
              `'${child}' is a file, so it cannot hold other files. Delete it in a separate commit first.`,
              { path: child },
            );
          }
          if (tree === null) entries.delete(name);
          else entries.set(name, { mode: '040000', type: 'tree', oid: tree });
        }
        for (const path of paths) {
          if (parentOf(path) !== dir) continue;
          const name = posix.basename(path);
          const oid = blobs.get(path);
          if (oid === undefined) {
            entries.delete(name);
            continue;
          }
          const existing = entries.get(name);
          if (existing?.type === 'tree') {
            throw new SluiceError(
              'validation_failed',
              `'${path}' is a folder, so it cannot be replaced by a file. Delete its files in a separate commit first.`,
              { path },
            );
          }
          const mode = existing && REGULAR_FILE_MODES.has(existing.mode) ? existing.mode : '100644';
          entries.set(name, { mode, type: 'blob', oid });
        }
        written.set(dir, entries.size === 0 && dir !== '' ? null : await makeTree(repo, entries));
      }),
    );
  }
  const root = written.get('');
  if (typeof root !== 'string') throw new Error('the root tree was not written');
  return root;
}

function parentOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

function depth(dir: string): number {
  return dir === '' ? 0 : dir.split('/').length;
}

async function makeTree(repo: string, entries: ReadonlyMap<string, Entry>): Promise<string> {
  // mktree sorts the entries itself; -z because names may hold any byte but NUL.
  const input = [...entries].map(([name, e]) => `${e.mode} ${e.type} ${e.oid}\t${name}\0`).join('');
  return (await runGit(['mktree', '-z'], { gitDir: repo, input })).toString('utf8').trim();
}

/** Writes the new files' blobs; deleted paths get none. */
async function hashBlobs(
  repo: string,
  paths: readonly string[],
  changes: FileChanges,
): Promise<Map<string, string>> {
  const oids = new Map<string, string>();
  const queue = paths.filter((path) => changes[path] !== null);
  const worker = async () => {
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      const out = await runGit(['hash-object', '-w', '--stdin'], {
        gitDir: repo,
        input: changes[path] ?? '',
      });
      oids.set(path, out.toString('utf8').trim());
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, queue.length) }, worker));
  return oids;
}
