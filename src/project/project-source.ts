import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { globSync } from 'tinyglobby';

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
  /** Why `path` cannot be included, or undefined when it is a regular file inside the root. */
  checkInclude(path: string): IncludeProblem | undefined;
  /** The name used in messages and positions for a file. */
  display(path: string): string;
}

/** A project folder on disk. */
export function folderSource(root: string): ProjectSource {
  const abs = resolve(root);
  const realRoot = realpathSync(abs);
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
      return globSync(pattern, {
        cwd: abs,
        dot: true,
        onlyFiles: false,
        expandDirectories: false,
        followSymbolicLinks: true,
      }).sort();
    },
    checkInclude(path) {
      let real: string;
      try {
        real = realpathSync(join(abs, path));
      } catch {
        return 'missing';
      }
      if (real !== realRoot && !real.startsWith(realRoot + sep)) return 'outside';
      return statSync(real).isFile() ? undefined : 'not_a_file';
    },
    display(path) {
      return relative(process.cwd(), join(abs, path)) || path;
    },
  };
}
