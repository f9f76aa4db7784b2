import jsYaml from 'js-yaml';
import type { Document, Node } from 'yaml';
import { errorAt, type SourcePosition } from '../errors.js';
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
  /**
   * 1-based line and column of the value at `path` (of its key, with `key: true`). The positions
   * come from a second, slower parse that runs only when a message needs one.
   */
  positionOf(path: ValuePath, options?: { key?: boolean }): SourcePosition;
}

/**
 * Parses YAML text; a syntax error is reported with file, line and column. Values are read with
 * js-yaml (fast: the CLI reads every project file on each start); the `yaml` package's Document,
 * which knows where every node is, is built only when a position is asked for.
 */
export function parseYamlFile(path: string, text: string): YamlFile {
  let value: YamlValue;
  try {
    value = (jsYaml.load(text, { schema: SCHEMA, filename: path }) ?? null) as YamlValue;
  } catch (error) {
    if (!(error instanceof jsYaml.YAMLException)) throw error;
    const mark = error.mark;
    throw errorAt(
      'yaml_syntax',
      { file: path, line: (mark?.line ?? 0) + 1, column: (mark?.column ?? 0) + 1 },
      `invalid YAML: ${error.reason}. Fix the syntax and try again.`,
    );
  }
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
  return { path, text, value, positionOf };
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
