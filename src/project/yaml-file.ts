import jsYaml from 'js-yaml';
import type { Document, Node } from 'yaml';
import { errorAt, type SourcePosition } from '../errors.js';
import { checkFileBytes, measureValue, PROJECT_LIMITS, projectTooLarge } from './limits.js';
import type { YamlValue } from './model.js';
import { yamlLibrary } from './yaml-library.js';

/**
 * YAML timestamps. Meltano loads YAML with ruamel (YAML 1.2 plus timestamp resolution), so an
 * unquoted `start_date: 2023-01-01 15:40:21` is a datetime there, which reaches plugins as
 * Python's ISO form. We keep such values as ISO strings (`2023-01-01T15:40:21`) instead of
 * JavaScript Dates, which would lose precision and time-zone naivety.
 */
const TIMESTAMP =
  /^\d{4}-\d\d?-\d\d?(?:(?:[Tt]|[ \t]+)\d\d?:\d\d:\d\d(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?)?$/;
const timestampAsText = new jsYaml.Type('tag:yaml.org,2002:timestamp', {
  kind: 'scalar',
  resolve: (data: unknown) => typeof data === 'string' && TIMESTAMP.test(data),
  construct: (data: string) =>
    data.replace(/^(\d{4}-\d\d?-\d\d?)(?:[Tt]|[ \t]+)/, '$1T').replace(/[ \t]+(?=Z|[-+]\d)/, ''),
});
// js-yaml exports its built-in types at run time; its type declarations omit them.
const mergeKeys = (jsYaml as unknown as { types: { merge: jsYaml.Type } }).types.merge;
const SCHEMA = jsYaml.CORE_SCHEMA.extend({ implicit: [timestampAsText, mergeKeys] });

/** A step into a parsed value: a mapping key or a list index. */
export type ValuePath = readonly (string | number)[];

/** One parsed YAML file: its plain value, and where any part of it was written. */
export interface YamlFile {
  /** The name used in messages (relative to the working directory). */
  readonly path: string;
  readonly text: string;
  readonly value: YamlValue;
  /** Mapping keys and list items in `value`, aliases expanded. */
  readonly keys: number;
  /**
   * 1-based line and column of the value at `path` (of its key, with `key: true`). The positions
   * come from a second, slower parse that runs only when a message needs one.
   */
  positionOf(path: ValuePath, options?: { key?: boolean }): SourcePosition;
}

/**
 * Parses YAML text; a syntax error is reported with file, line and column. Values are read with
 * js-yaml (fast: the CLI reads every project file on each start); the `yaml` package's Document,
 * which knows where every node is, is built only when a position is asked for. The text is
 * untrusted: a file over `PROJECT_LIMITS` (bytes, nesting, aliases, keys, size once aliases are
 * expanded) is refused with `project_too_large`, and the parse stops as soon as it passes one.
 */
export function parseYamlFile(path: string, text: string): YamlFile {
  checkFileBytes(path, text);
  let value: YamlValue;
  try {
    value = (jsYaml.load(text, {
      schema: SCHEMA,
      filename: path,
      listener: limitListener(path),
      // Our listener refuses deep nesting first, with our error; js-yaml's own guard stays as a backstop.
      maxDepth: PROJECT_LIMITS.depth + 3,
      maxTotalMergeKeys: PROJECT_LIMITS.mergedKeys,
    } as LimitedLoadOptions) ?? null) as YamlValue;
  } catch (error) {
    if (!(error instanceof jsYaml.YAMLException)) throw error;
    const mark = error.mark;
    const position = { file: path, line: (mark?.line ?? 0) + 1, column: (mark?.column ?? 0) + 1 };
    if (error.reason.startsWith('merge keys exceeded maxTotalMergeKeys'))
      throw projectTooLarge('mergedKeys', null, position);
    throw errorAt('yaml_syntax', position, `invalid YAML: ${error.reason}. Fix the syntax and try again.`);
  }
  // Aliases are shared objects in `value`: measuring it costs what the text costs, not what it expands to.
  const { keys } = measureValue(value, path);
  let located: { doc: Document.Parsed; lineStarts: number[] } | undefined;
  const positionOf = (valuePath: ValuePath, options: { key?: boolean } = {}): SourcePosition => {
    if (!located) {
      const yaml = yamlLibrary();
      const lineCounter = new yaml.LineCounter();
      located = {
        doc: yaml.parseDocument(text, { lineCounter, merge: true }),
        lineStarts: lineCounter.lineStarts,
      };
    }
    const offset = nodeOffset(located.doc, valuePath, options.key === true);
    return { file: path, ...lineColumn(located.lineStarts, offset) };
  };
  return { path, text, value, keys, positionOf };
}

/** js-yaml's load options, with the guards its type declarations do not list yet. */
type LimitedLoadOptions = jsYaml.LoadOptions & { maxDepth: number; maxTotalMergeKeys: number };

/** What the listener reads of js-yaml's parser state (`depth` is missing from its declarations). */
type ParserState = jsYaml.State & { readonly depth: number };

/**
 * Counts nesting and aliases while js-yaml parses, and stops the parse at the first node past a
 * limit. An alias is the one node js-yaml closes without a kind of its own: its result is the
 * anchored value itself (js-yaml's `composeNode`), which is also why aliases cost nothing to parse.
 */
function limitListener(file: string): (event: jsYaml.EventType, state: jsYaml.State) => void {
  let aliases = 0;
  const at = (state: jsYaml.State): SourcePosition => ({
    file,
    line: state.line + 1,
    column: state.position - state.lineStart + 1,
  });
  return (event, state) => {
    if (event === 'open') {
      // js-yaml counts the document as depth 1 and a scalar as a level: a mapping of scalars is 2.
      if ((state as ParserState).depth > PROJECT_LIMITS.depth + 1)
        throw projectTooLarge('depth', null, at(state));
      return;
    }
    if (state.kind === null && state.result !== null && ++aliases > PROJECT_LIMITS.aliases)
      throw projectTooLarge('aliases', null, at(state));
  };
}

function nodeOffset(doc: Document.Parsed, valuePath: ValuePath, key: boolean): number {
  let node = doc.contents as Node | null;
  let keyNode: Node | null = null;
  for (const step of valuePath) {
    const container = node as unknown as { items?: unknown[] } | null;
    if (!container?.items) break;
    if (typeof step === 'number') {
      const item = container.items[step] as Node | undefined;
      if (!item) break;
      node = item;
      keyNode = null;
      continue;
    }
    const pair = container.items.find((p) => {
      const k = (p as { key?: { value?: unknown } }).key;
      return k !== undefined && String(k?.value ?? k) === step;
    }) as { key: Node; value: Node | null } | undefined;
    if (!pair) break;
    keyNode = pair.key;
    node = pair.value ?? pair.key;
  }
  const target = key && keyNode ? keyNode : node;
  return target?.range?.[0] ?? 0;
}

function lineColumn(lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
}

/** The YAML type of a value, for messages like "expected a mapping, found a list". */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}
