import {
  closeSync,
  constants,
  type Dirent,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  realpathSync,
} from 'node:fs';
import { join, relative } from 'node:path';

/** Permission bits for group and others: none of them may be set on the server's data. */
const GROUP_AND_OTHERS = 0o077;

/** How many changed (or refused) entries a report names; the rest are counted. */
const EXAMPLES = 3;

/** What `makeDataPrivate` did: entries changed, and entries it was not allowed to change. */
export interface PermissionChanges {
  readonly changed: number;
  /** `repos 0755->0700`, for the first few. */
  readonly examples: readonly string[];
  /** Entries owned by another user (or unreadable), named relative to the data folder. */
  readonly refused: readonly string[];
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

type Outcome = { readonly old: number } | 'unchanged' | 'refused';

/**
 * Takes group and other users' permissions off one file or folder (`0644` -> `0600`, `0755` ->
 * `0700`; git's read-only `0444` objects become `0400`). The change is made through a descriptor
 * opened without following symbolic links, so a link put in place of the entry meanwhile can
 * never make it change a file elsewhere.
 */
function tighten(path: string): Outcome {
  let fd: number;
  try {
    // Most entries are private already: one lstat, and nothing is opened.
    if ((lstatSync(path).mode & GROUP_AND_OTHERS) === 0) return 'unchanged';
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Gone, or replaced by a link since it was listed: nothing of ours to change.
    if (code === 'ENOENT' || code === 'ELOOP') return 'unchanged';
    if (code === 'EACCES' || code === 'EPERM') return 'refused';
    throw error;
  }
  try {
    const { mode } = fstatSync(fd);
    if ((mode & GROUP_AND_OTHERS) === 0) return 'unchanged';
    fchmodSync(fd, mode & 0o7700);
    return { old: mode };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return 'refused';
    throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes the server's data private to its user: `root` itself and everything below it (the SQLite
 * database and its -wal/-shm, secret.key, admin-token, repos/, work/), plus `extraFiles` that live
 * elsewhere (a `sqlite:PATH` database). Symbolic links are neither followed nor changed; anything
 * that is not a plain file or folder (a socket, a FIFO) is left alone. A folder is listed only
 * after it is private, so no other user can add to it meanwhile.
 */
export function makeDataPrivate(root: string, extraFiles: readonly string[] = []): PermissionChanges {
  let changed = 0;
  const examples: string[] = [];
  const refused: string[] = [];
  const visit = (path: string, label: string) => {
    const outcome = tighten(path);
    if (outcome === 'unchanged') return;
    if (outcome === 'refused') {
      refused.push(label);
      return;
    }
    changed += 1;
    if (examples.length < EXAMPLES)
      examples.push(`${label} ${octal(outcome.old)}->${octal(outcome.old & ~GROUP_AND_OTHERS)}`);
  };
  // The data folder may itself be a link the operator made (`/srv/sluice` -> a volume): follow that one.
  const top = realpathSync(root);
  const pending = [top];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    visit(folder, relative(top, folder) || 'the folder');
    let entries: Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EACCES') {
        refused.push(relative(top, folder));
        continue;
      }
      throw error;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) visit(path, relative(top, path));
    }
  }
  for (const file of extraFiles) {
    let isFile = false;
    try {
      isFile = lstatSync(file).isFile();
    } catch {
      // Not there (yet): SQLite creates it under the server's umask.
    }
    if (isFile) visit(file, file);
  }
  return { changed, examples, refused };
}

function listed(items: readonly string[], total: number): string {
  return `${items.slice(0, EXAMPLES).join(', ')}${total > EXAMPLES ? ', ...' : ''}`;
}

/** What the operator is told on stderr about `changes`: one line for each kind, none when all was private. */
export function permissionNotices(dataDir: string, changes: PermissionChanges): string[] {
  const lines: string[] = [];
  const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;
  if (changes.changed > 0) {
    lines.push(
      `sluice: ${dataDir} was readable by other users: took group and other permissions off ${entries(changes.changed)} (${listed(changes.examples, changes.changed)}); only this user can read them now.`,
    );
  }
  if (changes.refused.length > 0) {
    lines.push(
      `sluice: warning: ${entries(changes.refused.length)} in ${dataDir} belong to another user and may be open to others (${listed(changes.refused, changes.refused.length)}); give them to this user (chown) or make them private (chmod go-rwx).`,
    );
  }
  return lines;
}
