import type { Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { SluiceError } from '../errors.js';
import type { YamlValue } from './model.js';
import { yamlLibrary } from './yaml-library.js';

// The `yaml` package is loaded on first use (see yaml-library.ts); these are its type guards.
const isMap = (node: unknown): node is YAMLMap<unknown, unknown> => yamlLibrary().isMap(node);
const isSeq = (node: unknown): node is YAMLSeq<unknown> => yamlLibrary().isSeq(node);
const isScalar = (node: unknown): node is Scalar => yamlLibrary().isScalar(node);

/**
 * Surgical edits of YAML text: each edit replaces or inserts only the bytes it must, so comments,
 * key order, quoting and blank lines elsewhere in the file stay exactly as they were. (Re-printing
 * a parsed document would normalise indentation, quotes and line folding across the whole file.)
 */

/** A step into a mapping key, or into the item of a list whose `name` is the given one. */
export type YamlPathStep = string | { readonly name: string };

interface Located {
  readonly node: Node | null;
  /** The pair holding `node`, when it is a mapping value. */
  readonly pair?: Pair<Node, Node | null>;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end < 0 ? text.length : end;
}

function columnOf(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

/** Renders a value as inline YAML (a scalar, or a flow collection), quoted only where needed. */
export function renderInline(value: YamlValue): string {
  return yamlLibrary()
    .stringify(value, { collectionStyle: 'flow', lineWidth: 0, flowCollectionPadding: false })
    .replace(/\n$/, '');
}

/** Renders the remaining path as a block, indented by `indent`, ending in `value`. */
function renderBlock(
  steps: readonly YamlPathStep[],
  value: YamlValue | { readonly block: string },
  indent: number,
): string {
  const pad = ' '.repeat(indent);
  const [step, ...rest] = steps;
  if (step === undefined) return '';
  if (typeof step === 'string') {
    const key = renderInline(step);
    if (rest.length === 0) return `${pad}${key}:${renderLeaf(value, indent + 2)}`;
    // A list under a key is written at the key's indentation, as Meltano writes its files.
    const childIndent = typeof rest[0] === 'string' ? indent + 2 : indent;
    return `${pad}${key}:\n${renderBlock(rest, value, childIndent)}`;
  }
  const head = `${pad}- name: ${renderInline(step.name)}`;
  return rest.length === 0 ? head : `${head}\n${renderBlock(rest, value, indent + 2)}`;
}

function renderLeaf(value: YamlValue | { readonly block: string }, indent: number): string {
  if (value !== null && typeof value === 'object' && 'block' in value && typeof value.block === 'string') {
    return `\n${value.block.replace(/^/gm, ' '.repeat(indent))}`;
  }
  return ` ${renderInline(value as YamlValue)}`;
}

function parse(text: string) {
  const doc = yamlLibrary().parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) {
    throw new SluiceError(
      'yaml_syntax',
      `cannot edit: the file is not valid YAML (${doc.errors[0]?.message.split('\n')[0]}).`,
    );
  }
  return doc;
}

function child(node: Node | null, step: YamlPathStep): Located | undefined {
  if (typeof step === 'string') {
    if (!isMap(node)) return undefined;
    const pair = (node as YAMLMap<Node, Node | null>).items.find(
      (p) => isScalar(p.key) && String(p.key.value) === step,
    );
    return pair ? { node: pair.value ?? null, pair } : undefined;
  }
  if (!isSeq(node)) return undefined;
  const item = (node as YAMLSeq<Node>).items.find((i) => isMap(i) && i.get('name') === step.name);
  return item ? { node: item } : undefined;
}

function isEmptyValue(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** Offset just after the `:` that follows a pair's key. */
function afterColon(text: string, pair: Pair<Node, Node | null>): number {
  const keyEnd = pair.key.range?.[1] ?? 0;
  const colon = text.indexOf(':', keyEnd);
  return colon + 1;
}

/** The end of a node's last line: where a following sibling line can be inserted. */
function endOfNode(text: string, node: Node): number {
  const end = node.range?.[1] ?? 0;
  // range[1] may sit on the next line for block values; step back over trailing newlines.
  let at = end;
  while (at > 0 && (text[at - 1] === '\n' || text[at - 1] === '\r')) at--;
  return lineEnd(text, at);
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/**
 * Sets the value at `path`, creating the mappings and named list items that are missing. The value
 * is written inline; `{block}` writes pre-rendered block YAML instead (used for new list items).
 */
export function setIn(
  text: string,
  path: readonly YamlPathStep[],
  value: YamlValue | { readonly block: string },
): string {
  const doc = parse(text);
  let node = doc.contents as Node | null;
  let located: Located = { node };
  for (let i = 0; i < path.length; i++) {
    const step = path[i] as YamlPathStep;
    const next = child(node, step);
    if (next === undefined) return insertMissing(text, located, path.slice(i), value);
    located = next;
    node = next.node;
  }
  // The whole path exists: replace the value.
  if (located.pair && !(value !== null && typeof value === 'object' && 'block' in value)) {
    const target = located.node;
    if (
      target &&
      !isEmptyValue(target) &&
      (isScalar(target) || (isMap(target) && target.flow) || (isSeq(target) && target.flow))
    ) {
      const [start, end] = target.range ?? [0, 0];
      return splice(text, start, end, renderInline(value as YamlValue));
    }
    const start = afterColon(text, located.pair);
    const end = target ? endOfNode(text, target) : start;
    return splice(text, start, Math.max(start, end), ` ${renderInline(value as YamlValue)}`);
  }
  throw new SluiceError('usage', `cannot replace ${describePath(path)} in place.`);
}

function insertMissing(
  text: string,
  parent: Located,
  rest: readonly YamlPathStep[],
  value: YamlValue | { readonly block: string },
): string {
  const node = parent.node;
  const [step] = rest;
  if (step === undefined) return text;
  // An empty value (`config:`, `config: null`, `config: {}`, `[]`) or an empty document: write a block.
  const empty = isEmptyValue(node) || ((isMap(node) || isSeq(node)) && node.items.length === 0);
  if (empty) {
    if (!parent.pair) {
      // The document itself is empty.
      const body = renderBlock(rest, value, 0);
      return text.trim() === '' ? `${body}\n` : `${text.replace(/\s*$/, '\n')}${body}\n`;
    }
    const indent = columnOf(text, parent.pair.key.range?.[0] ?? 0);
    const childIndent = typeof step === 'string' ? indent + 2 : indent;
    const start = afterColon(text, parent.pair);
    const end = node?.range ? Math.max(start, node.range[1]) : start;
    const trailing = text.slice(start, end).match(/#.*$/)?.[0];
    return splice(
      text,
      start,
      end,
      `${trailing ? ` ${trailing}` : ''}\n${renderBlock(rest, value, childIndent)}`,
    );
  }
  if (isMap(node) && typeof step === 'string') {
    const items = (node as YAMLMap<Node, Node | null>).items;
    if (node.flow) {
      const js = node.toJS(parse(text)) as Record<string, YamlValue>;
      const [start, end] = node.range ?? [0, 0];
      return splice(text, start, end, renderInline(setPlain(js, rest, value)));
    }
    const first = items[0] as Pair<Node, Node | null>;
    const last = items[items.length - 1] as Pair<Node, Node | null>;
    const indent = columnOf(text, first.key.range?.[0] ?? 0);
    const at = endOfNode(text, (last.value ?? last.key) as Node);
    return splice(text, at, at, `\n${renderBlock(rest, value, indent)}`);
  }
  if (isSeq(node) && typeof step !== 'string') {
    const items = (node as YAMLSeq<Node>).items;
    if (node.flow)
      throw new SluiceError(
        'usage',
        `cannot add to the inline list at ${describePath(rest)}; write it as a block list first.`,
      );
    const first = items[0] as Node;
    const last = items[items.length - 1] as Node;
    const dash =
      lineStart(text, first.range?.[0] ?? 0) +
      (text.slice(lineStart(text, first.range?.[0] ?? 0)).search(/-/) ?? 0);
    const indent = columnOf(text, dash);
    const at = endOfNode(text, last);
    return splice(text, at, at, `\n${renderBlock(rest, value, indent)}`);
  }
  throw new SluiceError(
    'project_invalid',
    `cannot write ${describePath(rest)}: the file has a different shape there (expected a ${typeof step === 'string' ? 'mapping' : 'list'}).`,
  );
}

function setPlain(
  obj: Record<string, YamlValue>,
  rest: readonly YamlPathStep[],
  value: YamlValue | { readonly block: string },
): Record<string, YamlValue> {
  const [step, ...tail] = rest;
  if (typeof step !== 'string')
    throw new SluiceError('usage', 'cannot add a named list item inside an inline mapping.');
  const leaf = value !== null && typeof value === 'object' && 'block' in value ? null : (value as YamlValue);
  const current = obj[step];
  const nested =
    current !== null && typeof current === 'object' && !Array.isArray(current)
      ? { ...(current as Record<string, YamlValue>) }
      : {};
  return { ...obj, [step]: tail.length === 0 ? leaf : setPlain(nested, tail, value) };
}

/**
 * Removes the key or named list item at `path`. Returns the text unchanged when it is not there.
 * A mapping left empty by the removal is written as `{}` so that its key keeps meaning "a mapping".
 */
export function deleteIn(text: string, path: readonly YamlPathStep[]): string {
  const doc = parse(text);
  let node = doc.contents as Node | null;
  const chain: Located[] = [{ node }];
  for (const step of path) {
    const next = child(node, step);
    if (next === undefined) return text;
    chain.push(next);
    node = next.node;
  }
  const target = chain[chain.length - 1] as Located;
  const container = chain[chain.length - 2] as Located;
  const holder = container.node as YAMLMap | YAMLSeq;
  if (holder.flow) {
    const js = holder.toJS(doc) as YamlValue;
    const last = path[path.length - 1] as YamlPathStep;
    const next = Array.isArray(js)
      ? js.filter(
          (i) =>
            !(
              i !== null &&
              typeof i === 'object' &&
              !Array.isArray(i) &&
              (i as Record<string, YamlValue>).name === (last as { name: string }).name
            ),
        )
      : Object.fromEntries(Object.entries(js as Record<string, YamlValue>).filter(([k]) => k !== last));
    const [start, end] = holder.range ?? [0, 0];
    return splice(text, start, end, renderInline(next));
  }
  const startNode = target.pair ? target.pair.key : (target.node as Node);
  const endNodeValue = target.pair ? (target.pair.value ?? target.pair.key) : (target.node as Node);
  if (holder.items.length === 1 && container.pair) {
    const start = afterColon(text, container.pair);
    const end = endOfNode(text, endNodeValue);
    return splice(text, start, end, isMap(holder) ? ' {}' : ' []');
  }
  const start = lineStart(text, startNode.range?.[0] ?? 0);
  const end = endOfNode(text, endNodeValue);
  return splice(text, start, Math.min(text.length, end + 1), '');
}

/** Whether a path exists in the text. */
export function hasIn(text: string, path: readonly YamlPathStep[]): boolean {
  let node = parse(text).contents as Node | null;
  for (const step of path) {
    const next = child(node, step);
    if (next === undefined) return false;
    node = next.node;
  }
  return true;
}

export function describePath(path: readonly YamlPathStep[]): string {
  return path.map((s) => (typeof s === 'string' ? s : `[name=${s.name}]`)).join('.');
}
