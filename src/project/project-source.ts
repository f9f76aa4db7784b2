import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { globBase, globMatcher } from './glob.js';

/** Why a path named by `include_paths` cannot be read. */
export type IncludeProblem = 'missing' | 'outside' | 'not_a_file';

/**
 * Where a project's files come from: a folder on disk, or (for workspaces) a commit of a Git
 * repository. Paths are relative to the project root, with `/` separators.
 */
export interface ProjectSource {
  /** Shown in messages: a folder, or `repo@commit`. */
  readonly root: string;
  read(path: string): string | undefined;
  /** Matches of one glob pattern, sorted. */
  glob(pattern: string): string[];
  /** Names of the files directly in a folder (none if it does not exist). */
  list(dir: string): string[];
  /** Why `path` cannot be included, or undefined when it is a regular file inside the root. */
  checkInclude(path: string): IncludeProblem | undefined;
  /** The name used in messages and positions for a file. */
  display(path: string): string;
}

/**
 * Whether `path` is a folder inside the project after links. Globs and listings do not enter one
 * that leads out: they would list (and messages would name) files of folders the project does not
 * own, and a project read from Git, where a link is not a folder, does not see them either.
 */
function isFolderInside(path: string, realRoot: string): boolean {
  try {
    const real = realpathSync.native(path);
    return (real === realRoot || real.startsWith(realRoot + sep)) && statSync(real).isDirectory();
  } catch {
    return false;
  }
}

/** A project folder on disk. */
export function folderSource(root: string): ProjectSource {
  const abs = resolve(root);
  const realRoot = realpathSync.native(abs);
  // Messages name files relative to the working directory; computed once, not per file.
  const shownRoot = relative(process.cwd(), realRoot); // getcwd() answers a real path: compare like with like
  return {
    root: abs,
    read(path) {
      try {
        return readFileSync(join(abs, path), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    glob(pattern) {
      const matcher = globMatcher(pattern);
      const recursive = pattern.includes('**');
      const depth = pattern.split('/').length;
      const out: string[] = [];
      const walk = (dir: string, level: number) => {
        let entries: import('node:fs').Dirent[];
        try {
          entries = readdirSync(join(abs, dir), { withFileTypes: true });
        } catch {
          return;
        }
        for (const entry of entries) {
          const path = dir ? `${dir}/${entry.name}` : entry.name;
          if (matcher.test(path)) out.push(path);
          const isDir =
            entry.isDirectory() || (entry.isSymbolicLink() && isFolderInside(join(abs, path), realRoot));
          // Deep trees (node_modules, virtualenvs) are only walked when the pattern can reach them.
          if (isDir && (recursive || level + 1 < depth) && entry.name !== '.git') walk(path, level + 1);
        }
      };
      const base = globBase(pattern);
      if (base !== '' && !isFolderInside(join(abs, base), realRoot)) return [];
      walk(base, base === '' ? 0 : base.split('/').length);
      return out.sort();
    },
    list(dir) {
      if (dir !== '' && !isFolderInside(join(abs, dir), realRoot)) return [];
      try {
        return readdirSync(join(abs, dir));
      } catch {
        return [];
      }
    },
    checkInclude(path) {
      let real: string;
      try {
        real = realpathSync.native(join(abs, path));
      } catch {
        return 'missing';
      }
      if (real !== realRoot && !real.startsWith(realRoot + sep)) return 'outside';
      return statSync(real).isFile() ? undefined : 'not_a_file';
    },
    display(path) {
      return shownRoot ? `${shownRoot}/${path}` : path;
    },
  };
}
