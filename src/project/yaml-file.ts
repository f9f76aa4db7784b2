import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type ScalarTag,
} from 'yaml';
import { errorAt, type SourcePosition } from '../errors.js';
import type { YamlValue } from './model.js';

/**
 * YAML timestamps. Meltano loads YAML with ruamel (YAML 1.2 plus timestamp resolution), so an
 * unquoted `start_date: 2023-01-01 15:40:21` is a datetime there, which reaches plugins as
 * Python's ISO form. We keep such values as ISO strings (`2023-01-01T15:40:21`) instead of
 * JavaScript Dates, which would lose precision and time-zone naivety.
 */
const timestampTag: ScalarTag = {
  tag: 'tag:yaml.org,2002:timestamp',
  default: true,
  test: /^(?:\d{4}-\d\d?-\d\d?(?:(?:[Tt]|[ \t]+)\d\d?:\d\d:\d\d(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?)?)$/,
  resolve: (text: string) =>
    text.replace(/^(\d{4}-\d\d?-\d\d?)(?:[Tt]|[ \t]+)/, '$1T').replace(/[ \t]+(?=Z|[-+]\d)/, ''),
};

/** One parsed YAML file: its document (for positions and edits) and its plain value. */
export interface YamlFile {
  readonly path: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly value: YamlValue;
  /** 1-based line and column of a node's first character. */
  positionOf(node: Node | null | undefined): SourcePosition;
}

/** Parses YAML text; a syntax error is reported with file, line and column. */
export function parseYamlFile(path: string, text: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    merge: true,
    customTags: [timestampTag],
    prettyErrors: false,
    keepSourceTokens: false,
  });
  const positionAt = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: path, line, column: col };
  };
  const [first] = doc.errors;
  if (first) {
    const pos = positionAt(first.pos[0]);
    const reason = first.message.split('\n')[0] ?? first.message;
    throw errorAt(
      'yaml_syntax',
      pos,
      `invalid YAML: ${reason.replace(/ at line \d+, column \d+:?$/, '')}. Fix the syntax and try again.`,
    );
  }
  const value = (doc.toJS({ maxAliasCount: 1000 }) ?? null) as YamlValue;
  return {
    path,
    text,
    doc,
    value,
    positionOf: (node) => positionAt(node?.range?.[0] ?? 0),
  };
}

/** The YAML type name of a node, for messages like "expected a mapping, found a list". */
export function describeNode(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isAlias(node)) return 'an alias';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    return `the ${typeof v} ${String(v)}`;
  }
  return 'an unknown node';
}
