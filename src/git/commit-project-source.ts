import { posix } from 'node:path';
import { SluiceError } from '../errors.js';
import { globMatcher } from '../project/glob.js';
import { PROJECT_LIMITS, projectTooLarge } from '../project/limits.js';
import type { ProjectSource } from '../project/project-source.js';
import { readObjects } from './read-objects.js';
import { listTreeEntries, REGULAR_FILE_MODES, type TreeEntry } from './tree-entries.js';

/**
 * The files a project load can read: YAML (`meltano.yml` and what `include_paths` names) and
 * plugin lock files. Other files stay in Git: a project has no reason to read them.
 */
const PRELOADED = [/\.ya?ml$/i, globMatcher('plugins/**/*.lock')];

/**
 * A `ProjectSource` over one commit of a bare repository, so that `loadProject` reads a project
 * stored in Git exactly as it reads a folder. `ProjectSource` is synchronous, so the tree is
 * listed once and every file a load can read is fetched up front, with one `cat-file --batch`
 * for all of them. Paths in messages are the paths in the repository (`meltano.yml:3:5`);
 * `root` (shown where a message names the project) is `display`, by default `<repo>@<commit>`.
 * Symbolic links and submodules are not files here: Git stores a link's target, not its content.
 * A file over `PROJECT_LIMITS.fileBytes` is not fetched (the tree says its size): reading it is
 * refused with `project_too_large`, so that a pushed gigabyte never reaches memory.
 */
export async function commitProjectSource(
  repo: string,
  commit: string,
  display?: string,
): Promise<ProjectSource> {
  const entries = await listTreeEntries(repo, commit, 'files-and-folders');
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const folders = new Map<string, string[]>();
  for (const { path } of entries) {
    const dir = posix.dirname(path);
    const key = dir === '.' ? '' : dir;
    const names = folders.get(key) ?? [];
    names.push(posix.basename(path));
    folders.set(key, names);
  }
  for (const names of folders.values()) names.sort();

  const readable = entries.filter((e) => isFile(e) && PRELOADED.some((pattern) => pattern.test(e.path)));
  const { wanted, refused } = withinLimits(readable);
  const objects = await readObjects(
    repo,
    wanted.map((e) => e.oid),
  );
  const texts = new Map<string, string>();
  for (const entry of wanted) {
    const object = objects.get(entry.oid);
    if (object) texts.set(entry.path, object.content.toString('utf8'));
  }

  const root = display ?? `${repo}@${commit}`;
  return {
    root,
    read(path) {
      const clean = normalize(path);
      const entry = byPath.get(clean);
      if (entry === undefined) return undefined;
      const text = texts.get(clean);
      if (text !== undefined) return text;
      const limit = refused.get(clean);
      if (limit) throw projectTooLarge(limit.limit, limit.value, { file: clean });
      throw new SluiceError(
        'project_invalid',
        isFile(entry)
          ? `${clean} in ${root} cannot be read as part of the project: only .yml and .yaml files (and plugins/**/*.lock) are read from Git. Rename it to .yml.`
          : `${clean} in ${root} is ${describe(entry)}, not a file.`,
        { file: clean },
      );
    },
    glob(pattern) {
      const matcher = globMatcher(pattern);
      return entries
        .map((e) => e.path)
        .filter((path) => matcher.test(path))
        .sort();
    },
    list(dir) {
      return [...(folders.get(normalize(dir)) ?? [])];
    },
    checkInclude(path) {
      const entry = byPath.get(normalize(path));
      if (entry === undefined) return 'missing';
      return isFile(entry) ? undefined : 'not_a_file';
    },
    display(path) {
      return path;
    },
  };
}

/**
 * Which of the readable files to fetch: none over `fileBytes`, and no more than
 * `repositoryYamlBytes` in all (`meltano.yml` and lock files first), since they are fetched
 * before the load knows which ones `include_paths` names. The others are refused if read.
 */
function withinLimits(readable: readonly TreeEntry[]): {
  wanted: TreeEntry[];
  refused: Map<string, { limit: 'fileBytes' | 'repositoryYamlBytes'; value: number }>;
} {
  const rank = (e: TreeEntry) => (e.path === 'meltano.yml' ? 0 : e.path.endsWith('.lock') ? 1 : 2);
  const ordered = [...readable].sort((a, b) => rank(a) - rank(b));
  const wanted: TreeEntry[] = [];
  const refused = new Map<string, { limit: 'fileBytes' | 'repositoryYamlBytes'; value: number }>();
  let total = 0;
  for (const entry of ordered) {
    if (entry.size > PROJECT_LIMITS.fileBytes) {
      refused.set(entry.path, { limit: 'fileBytes', value: entry.size });
    } else if (total + entry.size > PROJECT_LIMITS.repositoryYamlBytes) {
      refused.set(entry.path, { limit: 'repositoryYamlBytes', value: total + entry.size });
    } else {
      total += entry.size;
      wanted.push(entry);
    }
  }
  return { wanted, refused };
}

function isFile(entry: TreeEntry): boolean {
  return entry.type === 'blob' && REGULAR_FILE_MODES.has(entry.mode);
}

function describe(entry: TreeEntry): string {
  if (entry.type === 'tree') return 'a folder';
  if (entry.type === 'commit') return 'a submodule';
  return 'a symbolic link';
}

/** `./conf//a.yml` -> `conf/a.yml`; the root is ''. */
function normalize(path: string): string {
  const clean = posix
    .normalize(path)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  return clean === '.' ? '' : clean;
}
