import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SluiceError } from '../errors.js';

/**
 * Where a built-in plugin's paths resolve, and whether they must stay there.
 *
 * On a server (`confined`), every path a built-in opens must resolve inside the project folder
 * after links: absolute paths, `..` and links that lead out are refused, files are opened once and
 * what was opened is checked again (`/proc/self/fd`), so a link swapped in between cannot redirect
 * the read or write. A hard link to a file outside cannot be told apart from a file by its path:
 * files with more than one link are refused here, and the plugin sandbox keeps outside files out
 * of reach. Unconfined (the local CLI), paths resolve as Meltano resolves them, anywhere.
 *
 * Messages of a confined scope never show where the project folder is on the server: they name
 * the setting and the value the user wrote.
 */
export interface PathScope {
  /** The project folder: relative paths resolve against it, as Meltano runs plugins there. */
  readonly root: string;
  readonly confined: boolean;
  /** `root` after links, what confined paths are compared with. */
  readonly realRoot: string;
}

/** Which setting a path came from, for messages: `tap-csv`, `files[0].path`, `data/x.csv`. */
export interface PathSetting {
  readonly plugin: string;
  readonly setting: string;
  /** The path as the user (or the data) gave it. */
  readonly value: string;
  /** What a refusal says to do, instead of the built-ins' rule. */
  readonly rule?: string;
}

/** The scope of a run's built-in plugins. */
export async function pathScope(options: {
  readonly root: string;
  readonly confined: boolean;
}): Promise<PathScope> {
  const root = resolve(options.root);
  return { root, confined: options.confined, realRoot: options.confined ? await realpath(root) : root };
}

/** Whether `path` is `root` or lies under it. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

const BUILTIN_RULE =
  "On this server every path a built-in plugin opens must stay inside the project folder, after links (confinePaths): give a path relative to the project folder, without '..', and no link that leads out of it.";

/**
 * How a message names the value: quoted when relative; an absolute one is not repeated, as it may
 * name the server's folders (the user knows what they wrote).
 */
function shownValue(where: PathSetting): string {
  return isAbsolute(where.value) ? '' : ` '${where.value}'`;
}

function notAFile(where: PathSetting): SluiceError {
  return new SluiceError(
    'validation_failed',
    `${where.plugin}: ${where.setting}${shownValue(where)} is not a regular file.`,
    {
      plugin: where.plugin,
      setting: where.setting,
    },
  );
}

/** The refusal of a path that would leave the project folder. */
export function outsideError(where: PathSetting, why: string): SluiceError {
  return new SluiceError(
    'validation_failed',
    `${where.plugin}: ${where.setting}${shownValue(where)} ${why}. ${where.rule ?? BUILTIN_RULE}`,
    { plugin: where.plugin, setting: where.setting, confinePaths: true },
  );
}

/**
 * The path a setting names. Unconfined: relative to the project folder, or absolute, as written.
 * Confined: refused when absolute or when it climbs out with `..`; otherwise its existing part is
 * resolved through links (and must stay inside the real project folder) and the rest appended, so
 * what is opened afterwards is the path that was checked.
 */
export async function resolveSetting(scope: PathScope, where: PathSetting): Promise<string> {
  const value = where.value;
  if (!scope.confined) return isAbsolute(value) ? value : resolve(scope.root, value);
  if (value.includes('\0')) throw outsideError(where, 'holds a NUL character');
  if (isAbsolute(value)) throw outsideError(where, 'is an absolute path');
  const lexical = resolve(scope.root, value);
  if (!isInside(scope.root, lexical)) throw outsideError(where, "climbs out of the project folder with '..'");
  return resolveInside(scope, lexical, where);
}

/**
 * `path` (absolute, under the root) with its existing part resolved through links, refused when
 * that leads out of the real project folder or ends in a link that leads nowhere.
 */
export async function resolveInside(scope: PathScope, path: string, where: PathSetting): Promise<string> {
  if (!scope.confined) return path;
  const missing: string[] = [];
  let existing = path;
  let lookedAgain = false;
  for (;;) {
    const real = await realpath(existing).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code === 'ENOENT') return undefined;
      throw fileSystemError(cause, where);
    });
    if (real !== undefined) {
      if (!isInside(scope.realRoot, real))
        throw outsideError(where, 'leads out of the project folder through a link');
      return missing.length === 0 ? real : join(real, ...missing);
    }
    if (await exists(existing)) {
      // Made in between by another run of the same folder (a shared `output/`): looked at again.
      if (!lookedAgain) {
        lookedAgain = true;
        continue;
      }
      // A link whose target does not exist cannot be checked, and writing would create its target.
      throw outsideError(where, 'is or goes through a link to a path that does not exist');
    }
    lookedAgain = false;
    missing.unshift(basename(existing));
    existing = dirname(existing);
  }
}

/**
 * A file system error as a message without the path the system names (a server path): the
 * setting, the value and the error code only.
 */
export function fileSystemError(cause: unknown, where: PathSetting): unknown {
  const code = (cause as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return cause;
  if (code === 'ELOOP') return outsideError(where, 'leads out of the project folder through a link');
  const what =
    code === 'ENOENT'
      ? 'does not exist'
      : code === 'EACCES'
        ? 'cannot be read or written (EACCES)'
        : `cannot be used (${code})`;
  return new SluiceError(
    'validation_failed',
    `${where.plugin}: ${where.setting}${shownValue(where)} ${what}.`,
    {
      plugin: where.plugin,
      setting: where.setting,
      errno: code,
    },
  );
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** What an open handle really is on Linux, or undefined where `/proc` does not tell. */
async function openedPath(handle: FileHandle): Promise<string | undefined> {
  return readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
}

/** Checks what was opened: a regular file with one link, inside the project folder. */
async function checkOpened(scope: PathScope, handle: FileHandle, where: PathSetting): Promise<Stats> {
  const opened = await openedPath(handle);
  if (opened !== undefined && !isInside(scope.realRoot, opened)) {
    throw outsideError(where, 'leads out of the project folder through a link');
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    throw notAFile(where);
  }
  if (info.nlink > 1) {
    throw outsideError(where, 'is a file with several hard links (one may be outside the project folder)');
  }
  return info;
}

/**
 * Opens a file for reading. Confined: `path` must come from `resolveSetting`/`resolveInside` (no
 * link left in it); it is opened without following a link, and what was opened is checked.
 */
export async function openForReading(
  scope: PathScope,
  path: string,
  where: PathSetting,
): Promise<FileHandle> {
  if (!scope.confined) return open(path, 'r');
  // Non-blocking, so a FIFO answers at once (and is refused as not a regular file).
  return openChecked(scope, path, constants.O_RDONLY | constants.O_NONBLOCK, where);
}

/** Opens `path` without following a link, and keeps the handle only if what was opened passes `checkOpened`. */
async function openChecked(
  scope: PathScope,
  path: string,
  flags: number,
  where: PathSetting,
): Promise<FileHandle> {
  const handle = await open(path, flags | constants.O_NOFOLLOW, 0o666).catch((cause: unknown) => {
    throw fileSystemError(cause, where);
  });
  try {
    await checkOpened(scope, handle, where);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Makes a folder and its missing parents. Confined: `path` must come from `resolveSetting`; each
 * missing folder is made one at a time and must be a folder (not a link) once made, so no
 * folder is ever made outside the project.
 */
export async function makeFolder(scope: PathScope, path: string, where: PathSetting): Promise<void> {
  if (!scope.confined) {
    await mkdir(path, { recursive: true });
    return;
  }
  if (!isInside(scope.realRoot, path)) throw outsideError(where, 'leads out of the project folder');
  const rel = relative(scope.realRoot, path);
  let current = scope.realRoot;
  for (const part of rel === '' ? [] : rel.split(sep)) {
    current = join(current, part);
    await mkdir(current).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code !== 'EEXIST') throw fileSystemError(cause, where);
    });
    const info = await lstat(current).catch((cause: unknown) => {
      throw fileSystemError(cause, where);
    });
    if (info.isSymbolicLink()) throw outsideError(where, 'goes through a link');
    if (!info.isDirectory()) {
      throw new SluiceError(
        'validation_failed',
        `${where.plugin}: ${where.setting}${shownValue(where)}: a part of it is a file, not a folder.`,
        { plugin: where.plugin, setting: where.setting },
      );
    }
  }
}

/**
 * Opens `name` in `folder` for writing with `flags` (`O_CREAT`, `O_APPEND`; never `O_TRUNC`,
 * which would empty a hard-linked file before the check). Confined: `folder` must come from
 * `makeFolder`, `name` must be one plain file name, and the file is opened without following a
 * link and checked once open.
 */
export async function openForWriting(
  scope: PathScope,
  folder: string,
  name: string,
  flags: number,
  where: PathSetting,
): Promise<FileHandle> {
  if (!scope.confined) return open(join(folder, name), flags, 0o666);
  if ((flags & constants.O_TRUNC) !== 0) throw new TypeError('openForWriting: O_TRUNC is not checked');
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw outsideError(where, "cannot name a file: it must be one file name, without '/', '\\' or '..'");
  }
  return openChecked(scope, join(folder, name), flags, where);
}

/**
 * Checks a file a library will open by its path (DuckDB's database and its `.wal`): inside the
 * project folder after links, and, when it exists, a regular file with one link. Answers its real path.
 */
export async function checkFileByPath(scope: PathScope, path: string, where: PathSetting): Promise<string> {
  if (!scope.confined) return path;
  const real = await resolveInside(scope, path, where);
  const info = await lstat(real).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return undefined;
    throw fileSystemError(cause, where);
  });
  if (info === undefined) return real;
  if (!info.isFile()) {
    throw notAFile(where);
  }
  if (info.nlink > 1)
    throw outsideError(where, 'is a file with several hard links (one may be outside the project folder)');
  return real;
}
