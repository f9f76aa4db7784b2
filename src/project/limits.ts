import { formatPosition, SluiceError, type SourcePosition } from '../errors.js';
import type { YamlMap, YamlValue } from './model.js';

/**
 * What a project may be, in one table. A project is untrusted input on a server: without these, one
 * pushed file (a YAML alias bomb, a million keys, a pattern that makes a glob backtrack) costs the
 * server minutes and gigabytes. Each limit is far above what real projects use: across the 20
 * public projects of the compatibility corpus, the largest file has 17 KB, the largest project
 * 11 files, 38 KB and 1,260 keys, the deepest 10 levels, and none has an alias.
 */
export const PROJECT_LIMITS = {
  /** Bytes of one project file: `meltano.yml`, a file `include_paths` names, a lock file. */
  fileBytes: 1024 * 1024,
  /** Bytes of all the files of one project together. */
  projectBytes: 4 * 1024 * 1024,
  /**
   * Bytes of the YAML and lock files of a repository: a project read from Git fetches them before it
   * knows which ones `include_paths` names.
   */
  repositoryYamlBytes: 64 * 1024 * 1024,
  /** Patterns under `include_paths`. */
  includePatterns: 100,
  /** Files `include_paths` reach. */
  includedFiles: 200,
  /** Mapping keys and list items of all files together, aliases expanded, lock files' settings included. */
  keys: 50_000,
  /** Levels of mappings and lists; a dotted key counts a level per dot (`a.b.c:` is three). */
  depth: 64,
  /** Aliases (`*name`) in one file. */
  aliases: 1_000,
  /** Characters of one file's keys and values once its aliases are expanded: what an alias bomb grows. */
  expandedChars: 16 * 1024 * 1024,
  /** Keys copied by merge keys (`<<: *name`) in one file. */
  mergedKeys: 10_000,
  /** Plugins in one `inherit_from` chain. */
  inheritance: 10,
  /** Settings (extras included) times environments resolved for one configuration view. */
  viewValues: 150_000,
  /** Milliseconds a worker may spend loading a project or computing one of its views. */
  taskMilliseconds: 10_000,
  /** Megabytes of heap a project worker may use (its cache of loaded projects included). */
  taskMemoryMb: 512,
} as const satisfies Record<string, number>;

export type ProjectLimit = keyof typeof PROJECT_LIMITS;

/** For each limit: what is counted, and what the user can do about it. */
const LIMIT_TEXT = {
  fileBytes: { counted: 'bytes in one file', advice: 'Split the file with include_paths.' },
  projectBytes: {
    counted: 'bytes in the project files together',
    advice: 'Remove what the project does not use.',
  },
  repositoryYamlBytes: {
    counted: 'bytes of YAML and lock files in the repository',
    advice: 'Keep large YAML files that the project does not include out of its repository.',
  },
  includePatterns: {
    counted: 'include_paths patterns',
    advice: 'Use fewer patterns, with wildcards (`extract/*.yml`).',
  },
  includedFiles: {
    counted: 'files reached by include_paths',
    advice: 'Gather the files into fewer ones, or narrow the patterns.',
  },
  keys: {
    counted: 'keys and list items (aliases expanded)',
    advice: 'Keep data that is not configuration out of the project.',
  },
  depth: {
    counted: 'levels of nesting (a dot in a key is a level)',
    advice: 'Flatten the structure.',
  },
  aliases: { counted: 'YAML aliases (*name) in one file', advice: 'Write the values out.' },
  expandedChars: {
    counted: 'characters once YAML aliases are expanded',
    advice: 'Alias smaller values, or fewer times.',
  },
  mergedKeys: {
    counted: 'keys merged with `<<:` in one file',
    advice: 'Merge smaller mappings, or fewer times.',
  },
  inheritance: { counted: 'plugins in one inherit_from chain', advice: 'Shorten the chain.' },
  viewValues: {
    counted: 'settings times environments in the configuration view',
    advice: "View one plugin's configuration at a time (.../plugins/:plugin/config).",
  },
  taskMilliseconds: {
    counted: 'milliseconds to load the project or compute the view',
    advice: 'Make the project smaller or simpler.',
  },
  taskMemoryMb: {
    counted: 'megabytes of memory to load the project or compute the view',
    advice: 'Make the project smaller or simpler.',
  },
} as const satisfies Record<ProjectLimit, { counted: string; advice: string }>;

/** Where a limit was crossed: a position when one is known, else the file, else nothing. */
export type LimitPlace = SourcePosition | { readonly file: string } | undefined;

/**
 * The error for a project over a limit: which limit, the value found (or "more than the limit"
 * when counting stopped there), where, and what to do. Code `project_too_large` (HTTP 422).
 */
export function projectTooLarge(
  limit: ProjectLimit,
  value: number | null,
  place: LimitPlace,
  detail?: string,
): SluiceError {
  const max = PROJECT_LIMITS[limit];
  const { counted, advice } = LIMIT_TEXT[limit];
  const found = value === null ? `more than ${max.toLocaleString('en')}` : value.toLocaleString('en');
  const where = place === undefined ? '' : 'line' in place ? `${formatPosition(place)}: ` : `${place.file}: `;
  return new SluiceError(
    'project_too_large',
    `${where}${found} ${counted}${detail ? ` (${detail})` : ''}, over the limit of ${max.toLocaleString('en')} a project may have (${limit}). ${advice}`,
    { limit, value, max, ...place },
  );
}

/** Refuses a file over `fileBytes`. */
export function checkFileBytes(file: string, text: string): number {
  // Cheap first: a string of more characters than the limit has more bytes than it too.
  const bytes = text.length > PROJECT_LIMITS.fileBytes ? text.length : Buffer.byteLength(text, 'utf8');
  if (bytes > PROJECT_LIMITS.fileBytes) throw projectTooLarge('fileBytes', bytes, { file });
  return bytes;
}

/** What one parsed file costs, aliases expanded. */
export interface ValueSize {
  readonly keys: number;
  readonly chars: number;
  readonly depth: number;
}

/**
 * Measures a parsed value as if its aliases were expanded, without expanding them: YAML aliases
 * are shared objects after parsing, so each object is measured once and its size reused (an alias
 * bomb of a billion leaves costs a few hundred steps here). Refuses the value as soon as a total
 * passes `keys`, `expandedChars` or `depth`, naming the path where it did.
 */
export function measureValue(value: YamlValue, file: string): ValueSize {
  const memo = new Map<object, ValueSize>();
  const path: (string | number)[] = [];
  const refuse = (limit: ProjectLimit) => projectTooLarge(limit, null, { file }, `at ${describePath(path)}`);
  const visit = (node: YamlValue, level: number): ValueSize => {
    if (node === null || typeof node !== 'object') {
      return typeof node === 'string' ? { keys: 0, chars: node.length, depth: 0 } : SCALAR;
    }
    const known = memo.get(node);
    if (known) return known;
    // Checked before going down, so that the walk's own recursion stays within the limit.
    if (level >= PROJECT_LIMITS.depth) throw refuse('depth');
    const list = Array.isArray(node);
    const keys = list ? null : Object.keys(node);
    const count = list ? (node as readonly YamlValue[]).length : (keys as string[]).length;
    const size = { keys: count, chars: 0, depth: 1 };
    for (let i = 0; i < count; i++) {
      const key = keys ? (keys[i] as string) : i;
      const extra = keys ? dots(key as string) : 0;
      path.push(key);
      const child = visit(
        (keys ? (node as YamlMap)[key as string] : (node as readonly YamlValue[])[i]) as YamlValue,
        level + 1 + extra,
      );
      size.keys += child.keys;
      size.chars += child.chars + (keys ? (key as string).length : 0);
      size.depth = Math.max(size.depth, 1 + extra + child.depth);
      if (level + size.depth > PROJECT_LIMITS.depth) throw refuse('depth');
      if (size.keys > PROJECT_LIMITS.keys) throw refuse('keys');
      if (size.chars > PROJECT_LIMITS.expandedChars) throw refuse('expandedChars');
      path.pop();
    }
    memo.set(node, size);
    return size;
  };
  return visit(value, 0);
}

const SCALAR: ValueSize = { keys: 0, chars: 1, depth: 0 };

/**
 * Refuses a setting name (or alias) with more dots than `depth` allows: names are split on dots
 * to nest a plugin's configuration, so they are levels of nesting like keys are.
 */
export function checkSettingName(name: string, place: LimitPlace): void {
  const levels = dots(name) + 1;
  if (levels > PROJECT_LIMITS.depth) {
    const shown = name.length > 40 ? `${name.slice(0, 37)}...` : name;
    throw projectTooLarge('depth', levels, place, `in the setting name '${shown}'`);
  }
}

function dots(key: string): number {
  let count = 0;
  for (let i = key.indexOf('.'); i >= 0; i = key.indexOf('.', i + 1)) count++;
  return count;
}

/** `plugins.extractors[0].config`, with long keys shortened: the path is for a message. */
function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the top level';
  return path
    .map((step, i) => {
      if (typeof step === 'number') return `[${step}]`;
      const shown = step.length > 40 ? `${step.slice(0, 37)}...` : step;
      return i === 0 ? shown : `.${shown}`;
    })
    .join('');
}

/** What a whole project has used of the limits that span its files: `loadProject` keeps one per load. */
export interface ProjectBudget {
  /** Charges one file's bytes, refusing a file over `fileBytes` or a project over `projectBytes`. */
  chargeFile(file: string, text: string): void;
  /** Charges keys read from `file`, refusing the project when all its files together pass `keys`. */
  chargeKeys(file: string, keys: number): void;
}

export function projectBudget(): ProjectBudget {
  let bytes = 0;
  let keys = 0;
  return {
    chargeFile(file, text) {
      bytes += checkFileBytes(file, text);
      if (bytes > PROJECT_LIMITS.projectBytes) throw projectTooLarge('projectBytes', bytes, { file });
    },
    chargeKeys(file, count) {
      keys += count;
      if (keys > PROJECT_LIMITS.keys) throw projectTooLarge('keys', keys, { file });
    },
  };
}
