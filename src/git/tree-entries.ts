import { checkRevision } from './check-input.js';
import { runGit } from './run-git.js';

/** What a tree entry points at: a file or symbolic link (`blob`), a folder, or a submodule. */
export type TreeEntryType = 'blob' | 'tree' | 'commit';

/** One entry of a recursive tree listing. */
export interface TreeEntry {
  /** Relative to the root of the tree, with `/` separators. */
  readonly path: string;
  /** `100644` file, `100755` executable, `120000` symbolic link, `040000` folder, `160000` submodule. */
  readonly mode: string;
  readonly type: TreeEntryType;
  readonly oid: string;
  /** Bytes of a blob; 0 for folders and submodules. */
  readonly size: number;
}

/** Modes of entries that are files to read, as opposed to links, folders and submodules. */
export const REGULAR_FILE_MODES: ReadonlySet<string> = new Set(['100644', '100755']);

/**
 * Every entry under a commit or tree, recursively, parsed from `ls-tree -r -z -l`: files,
 * symbolic links and submodules, plus the folders themselves for `files-and-folders` (`-t`).
 */
export async function listTreeEntries(
  repo: string,
  treeish: string,
  scope: 'files' | 'files-and-folders',
): Promise<TreeEntry[]> {
  checkRevision(treeish);
  const folders = scope === 'files-and-folders' ? ['-t'] : [];
  const out = await runGit(['ls-tree', '-r', ...folders, '-z', '-l', treeish], { gitDir: repo });
  const entries: TreeEntry[] = [];
  // Records are `<mode> SP <type> SP <oid> SP+ <size or -> TAB <path> NUL`; paths are not quoted with -z.
  for (const record of out.toString('utf8').split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, type, oid, size] = record.slice(0, tab).split(/ +/);
    if (tab < 0 || mode === undefined || oid === undefined || size === undefined || !isEntryType(type)) {
      throw new Error(`unexpected ls-tree output: ${JSON.stringify(record)}`);
    }
    entries.push({ path: record.slice(tab + 1), mode, type, oid, size: size === '-' ? 0 : Number(size) });
  }
  return entries;
}

function isEntryType(type: string | undefined): type is TreeEntryType {
  return type === 'blob' || type === 'tree' || type === 'commit';
}
