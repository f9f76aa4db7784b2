import { opendir, realpath, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { SluiceError } from '../../errors.js';
import {
  isInside,
  outsideError,
  type PathScope,
  type PathSetting,
  resolveSetting,
} from '../confined-paths.js';
import type { CsvFileDefinition } from './tap-csv-config.js';

/** One CSV file of a stream. */
export interface CsvFile {
  /** Where it is read from. */
  readonly path: string;
  /** Its path as MeltanoLabs' tap-csv reports it in `_sdc_source_file`. */
  readonly sourceFile: string;
}

/** Python's `os.path.normpath` on a POSIX path (no trailing slash; `//` kept at the start). */
function pythonNormpath(path: string): string {
  if (path === '') return '.';
  const normalized = posix.normalize(path);
  const trimmed = normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
  return path.startsWith('//') && !path.startsWith('///') ? `/${trimmed}` : trimmed;
}

/** Python's `os.path.join` of a folder and a name: no normalisation (`./` stays). */
function pythonJoin(folder: string, name: string): string {
  return folder === '' || folder.endsWith('/') ? `${folder}${name}` : `${folder}/${name}`;
}

/** Upstream reads only names ending in `.csv` (case-sensitive). */
function isCsv(name: string): boolean {
  return name.endsWith('.csv');
}

/** What a walk needs besides the folder: where links may lead, and where skipped files are told. */
interface Walk {
  /** Real paths a link may resolve into: the project folder and the configured folder. */
  readonly allowed: readonly string[];
  readonly out: CsvFile[];
  readonly log: ((line: string) => void) | undefined;
  /** Set on a server: a link that leads out fails the run instead of being skipped. */
  readonly refuse: PathSetting | undefined;
}

/**
 * The files under a folder in the order Python's `os.walk` gives them: each folder's files in
 * directory order (what `readdir(3)` returns, which `opendir` also reads; `readdir` would sort
 * them), then its sub-folders, one by one, in that order too. A link to a folder is not followed,
 * and a sub-folder that cannot be read is skipped, as `os.walk` does. Unlike upstream, a link to a
 * file outside the project (and the configured folder) is skipped, or refused on a server: a
 * workspace must not read the server's files through one. A link that stays inside is read
 * through its real path, the one that was checked.
 */
async function walk(dir: string, shown: string, walkState: Walk): Promise<void> {
  const files: string[] = [];
  const folders: string[] = [];
  const links = new Set<string>();
  for await (const entry of await opendir(dir)) {
    if (entry.isSymbolicLink()) links.add(entry.name);
    // Python's `is_dir()` follows links: a link to a folder counts as a folder (and is not walked).
    const isFolder = entry.isSymbolicLink()
      ? await stat(join(dir, entry.name)).then(
          (info) => info.isDirectory(),
          () => false,
        )
      : entry.isDirectory();
    if (isFolder) {
      if (!entry.isSymbolicLink()) folders.push(entry.name);
    } else files.push(entry.name);
  }
  for (const name of files) {
    const sourceFile = pythonJoin(shown, name);
    if (!isCsv(name)) {
      walkState.log?.(`tap-csv: skipping '${sourceFile}': only files whose names end in '.csv' are read`);
      continue;
    }
    let path = join(dir, name);
    if (links.has(name)) {
      const target = await realpath(path).catch(() => undefined);
      const refuse = walkState.refuse;
      if (refuse && target === undefined) {
        throw outsideError({ ...refuse, value: sourceFile }, 'is a link to a path that does not exist');
      }
      if (target !== undefined && !walkState.allowed.some((root) => isInside(root, target))) {
        if (refuse)
          throw outsideError(
            { ...refuse, value: sourceFile },
            'leads out of the project folder through a link',
          );
        walkState.log?.(`tap-csv: skipping '${sourceFile}': it links outside the project folder`);
        continue;
      }
      if (refuse && target !== undefined) path = target;
    }
    walkState.out.push({ path, sourceFile });
  }
  for (const name of folders) {
    const sub = join(dir, name);
    await walk(sub, pythonJoin(shown, name), walkState).catch((cause: NodeJS.ErrnoException) => {
      if (cause instanceof SluiceError) throw cause;
      walkState.log?.(`tap-csv: skipping folder '${pythonJoin(shown, name)}': ${cause.code ?? 'unreadable'}`);
    });
  }
}

/**
 * The CSV files of one `files` entry, as MeltanoLabs' tap-csv finds them: the file itself (its
 * path reported as configured), or every `.csv` under the folder in `os.walk` order (paths
 * reported from the folder's normalised path). Fails when there is none. In a confined scope the
 * path must stay inside the project folder (`confined-paths.ts`), and messages do not show where
 * the project folder is.
 */
export async function csvFilesOf(
  def: CsvFileDefinition,
  scope: PathScope,
  log?: (line: string) => void,
): Promise<readonly CsvFile[]> {
  const where = `${def.setting}.path`;
  const setting: PathSetting = { plugin: 'tap-csv', setting: where, value: def.configuredPath };
  const path = scope.confined ? await resolveSetting(scope, setting) : def.absolutePath;
  const shown = scope.confined ? `'${def.configuredPath}'` : `'${def.configuredPath}' (resolved to ${path})`;
  const info = await stat(path).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return undefined;
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${where}: ${shown} cannot be read (${cause.code ?? 'error'}).`,
      {
        setting: where,
      },
    );
  });
  if (info === undefined) {
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${where}: ${shown} does not exist. Fix the path of stream '${def.entity}'.`,
      { setting: where, ...(scope.confined ? {} : { path }) },
    );
  }
  const files: CsvFile[] = [];
  if (info.isDirectory()) {
    const allowed = scope.confined
      ? [scope.realRoot]
      : await Promise.all([realpath(scope.root), realpath(path)]);
    await walk(path, `${pythonNormpath(def.configuredPath)}/`, {
      allowed,
      out: files,
      log,
      refuse: scope.confined ? setting : undefined,
    }).catch((cause: NodeJS.ErrnoException) => {
      if (cause instanceof SluiceError) throw cause;
      throw new SluiceError(
        'validation_failed',
        `tap-csv: ${where}: the folder '${def.configuredPath}' cannot be read (${cause.code ?? 'error'}).`,
        { setting: where },
      );
    });
  } else if (isCsv(def.absolutePath)) files.push({ path, sourceFile: def.configuredPath });
  if (files.length === 0) {
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${where}: stream '${def.entity}' has no file ending in '.csv' at ${shown}.`,
      { setting: where, ...(scope.confined ? {} : { path }) },
    );
  }
  return files;
}

/** Python's `round()`: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const rounded = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/**
 * A modification time as the Singer SDK writes upstream's `_sdc_source_file_mtime`:
 * `datetime.fromtimestamp(os.path.getmtime(f), timezone.utc)` in ISO format with microseconds
 * (`2024-01-02T03:04:05.123456+00:00`). The float Python reads (`sec + nsec * 1e-9`) and its
 * rounding to microseconds (half to even) are reproduced, so both give the same digits.
 */
export function pythonMtime(mtimeNs: bigint): string {
  const nanos = mtimeNs % 1_000_000_000n;
  const seconds = Number(mtimeNs / 1_000_000_000n) + Number(nanos) * 1e-9;
  let whole = Math.trunc(seconds);
  let micros = roundHalfEven((seconds - whole) * 1e6);
  if (micros >= 1_000_000) {
    micros -= 1_000_000;
    whole += 1;
  } else if (micros < 0) {
    micros += 1_000_000;
    whole -= 1;
  }
  const date = new Date(whole * 1000).toISOString().slice(0, 19);
  return `${date}.${String(micros).padStart(6, '0')}+00:00`;
}
