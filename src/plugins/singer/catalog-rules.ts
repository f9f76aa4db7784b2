/**
 * Meltano's catalog rules: the `select`, `metadata` and `schema` extras of an extractor applied
 * to the catalog its discovery produced, as `meltano/core/plugin/singer/tap.py`
 * (`apply_catalog_rules`) and `catalog.py` (`SchemaExecutor`, `MetadataExecutor`,
 * `select_metadata_rules`) do: schema rules first, then `!*.*`, the `select` patterns (all
 * inclusions, then all exclusions), the `metadata` rules and `select_filter`, in that order, the last rule that
 * matches a node setting its key. Patterns are shell globs (Python's fnmatch), and a glob's `*`
 * also matches dots, so `users.*` reaches nested properties.
 */

export interface CatalogMetadataEntry {
  readonly breadcrumb: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface CatalogStream {
  readonly tap_stream_id: string;
  readonly stream?: string;
  readonly schema?: Readonly<Record<string, unknown>>;
  readonly metadata?: readonly CatalogMetadataEntry[];
  readonly [key: string]: unknown;
}

export interface Catalog {
  readonly streams: readonly CatalogStream[];
  readonly [key: string]: unknown;
}

/** An extractor's resolved `select`, `metadata` and `schema` extras. */
export interface CatalogRules {
  /** Meltano's default is `['*.*']`. */
  readonly select?: readonly string[];
  /** `{pattern: {key: value}}`; a pattern is `stream`, `stream.property` or `stream.a.b`, globs allowed. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** `{streamPattern: {propertyPattern: jsonSchema}}`: the property's schema is replaced, not merged. */
  readonly schema?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** `select_filter`: stream patterns (`!` excludes) that deselect every stream they do not let through. */
  readonly selectFilter?: readonly string[];
}

export interface SelectedStream {
  readonly tapStreamId: string;
  /** Selected properties (including `automatic` ones) as dotted paths: `address.city`. */
  readonly properties: readonly string[];
}

const DEFAULT_SELECT: readonly string[] = ['*.*'];

type Node = Record<string, unknown>;

interface MetadataRule {
  /** One glob, or several that any may match; none at all matches nothing. */
  readonly streams: readonly string[];
  /** The rule applies to the streams that match none of `streams`. */
  readonly negated?: boolean;
  readonly breadcrumb: readonly string[];
  readonly key: string;
  readonly value: unknown;
}

interface SchemaRule {
  readonly stream: string;
  readonly breadcrumb: readonly string[];
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * Returns a new catalog with the rules applied (the input is left as it was): properties named
 * by `schema` replaced or added, every stream and property given metadata (streams and
 * top-level properties missing it get `inclusion: automatic`, nested ones `available`),
 * `selected` set from `select`, and `metadata` keys set. Like Meltano, stream-level rules also
 * set the key on the stream object itself with `-` turned into `_` (`replication_method`), for
 * taps that read legacy catalogs, and `selected: true` is never set on an `unsupported` node.
 */
export function applyCatalogRules(catalog: Catalog, rules: CatalogRules): Catalog {
  const schemaRules = configSchemaRules(rules.schema ?? {});
  const metadataRules = [
    ...selectMetadataRules(['!*.*']),
    ...selectMetadataRules(rules.select ?? DEFAULT_SELECT),
    ...configMetadataRules(rules.metadata ?? {}),
    ...selectFilterRules(rules.selectFilter ?? []),
  ];
  const streams = catalog.streams.map((original) => {
    const stream = structuredClone(original) as CatalogStream & Node;
    if (schemaRules.length > 0) applySchemaRules(stream, schemaRules);
    applyMetadataRules(stream, metadataRules);
    return stream;
  });
  return { ...catalog, streams };
}

/**
 * Applies only `select_filter` (Meltano does so to a catalog given by the `catalog` extra, where
 * the other rules are not applied); with no patterns the catalog is returned as it is.
 */
export function applySelectFilter(catalog: Catalog, patterns: readonly string[]): Catalog {
  const rules = selectFilterRules(patterns);
  if (rules.length === 0) return catalog;
  const streams = catalog.streams.map((original) => {
    const stream = structuredClone(original) as CatalogStream & Node;
    applyMetadataRules(stream, rules);
    return stream;
  });
  return { ...catalog, streams };
}

/**
 * The streams a tap will extract and their selected properties, read from catalog metadata as
 * Meltano's `ListSelectedExecutor` reads it: `inclusion: automatic` is always selected,
 * `unsupported` never, otherwise `selected`, falling back to `selected-by-default`.
 */
export function selectedStreams(catalog: Catalog): readonly SelectedStream[] {
  const selected: SelectedStream[] = [];
  for (const stream of catalog.streams) {
    const entries = stream.metadata ?? [];
    const streamEntry = entries.find((entry) => entry.breadcrumb.length === 0);
    // Meltano keeps a stream that has no stream-level metadata at all.
    if (streamEntry !== undefined && !isSelected(streamEntry.metadata)) continue;
    const properties = entries
      .filter((entry) => entry.breadcrumb.length > 0 && isSelected(entry.metadata))
      .map((entry) => propertyPath(entry.breadcrumb));
    selected.push({ tapStreamId: stream.tap_stream_id, properties });
  }
  return selected;
}

function isSelected(metadata: Readonly<Record<string, unknown>> | undefined): boolean {
  if (metadata === undefined) return false;
  if (metadata.inclusion === 'automatic') return true;
  if (metadata.inclusion === 'unsupported') return false;
  if (metadata.selected === true) return true;
  return metadata.selected === undefined || metadata.selected === null
    ? metadata['selected-by-default'] === true
    : false;
}

/** `['properties', 'a', 'properties', 'b']` -> `a.b`. */
function propertyPath(breadcrumb: readonly string[]): string {
  const names: string[] = [];
  for (let i = 0; i + 1 < breadcrumb.length; i += 2) {
    if (breadcrumb[i] === 'properties') names.push(breadcrumb[i + 1] as string);
  }
  return names.join('.');
}

/** `['a', 'b']` -> `['properties', 'a', 'properties', 'b']`. */
function propertyBreadcrumb(props: readonly string[]): string[] {
  return props.flatMap((prop) => ['properties', prop]);
}

// Rules from the extras.

/**
 * Meltano's `SelectPattern.parse`: `!` negates; the stream part ends at the first dot not escaped
 * as `\.` (and `\.` in it stands for a dot); the rest, if any, is the property pattern.
 */
function parseSelectPattern(raw: string): { negated: boolean; stream: string; property: string } {
  const negated = raw.startsWith('!');
  const pattern = negated ? raw.slice(1) : raw;
  const dot = unescapedDot(pattern);
  const stream = (dot === -1 ? pattern : pattern.slice(0, dot)).replaceAll('\\.', '.');
  return { negated, stream, property: dot === -1 ? '' : pattern.slice(dot + 1) };
}

/**
 * Meltano's `select_metadata_rules`. A stream-only pattern acts like `stream.*`. An inclusion also selects its
 * stream and every parent of a nested property; an exclusion of some properties leaves the
 * stream selected, while `!stream` and `!stream.*` exclude the stream too.
 */
function selectMetadataRules(patterns: readonly string[]): MetadataRule[] {
  const include: MetadataRule[] = [];
  const exclude: MetadataRule[] = [];
  for (const raw of patterns) {
    const { negated, stream: streamPattern, property: propPattern } = parseSelectPattern(raw);
    const selected = !negated;
    const rules = selected ? include : exclude;
    const select = (props: readonly string[]): MetadataRule => ({
      streams: streamPattern === '' ? [] : [streamPattern],
      breadcrumb: propertyBreadcrumb(props),
      key: 'selected',
      value: selected,
    });
    if (propPattern === '') {
      rules.push(select([]), select(['*']));
      continue;
    }
    if (selected || propPattern === '*') rules.push(select([]));
    const props = propPattern.split('.');
    rules.push(select(props));
    if (selected) {
      for (let end = 1; end < props.length; end++) rules.push(select(props.slice(0, end)));
    }
  }
  return [...include, ...exclude];
}

/**
 * Meltano's `select_filter_metadata_rules`: the stream part of each pattern only. A stream that
 * matches none of the inclusions is deselected, and so is one that matches an exclusion.
 */
function selectFilterRules(patterns: readonly string[]): MetadataRule[] {
  const include: string[] = [];
  const exclude: string[] = [];
  for (const raw of patterns) {
    const { negated, stream } = parseSelectPattern(raw);
    (negated ? exclude : include).push(stream);
  }
  const deselect = (streams: string[], negated: boolean): MetadataRule => ({
    streams,
    negated,
    breadcrumb: [],
    key: 'selected',
    value: false,
  });
  return [
    ...(include.length > 0 ? [deselect(include, true)] : []),
    ...(exclude.length > 0 ? [deselect(exclude, false)] : []),
  ];
}

function unescapedDot(pattern: string): number {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '.' && pattern[i - 1] !== '\\') return i;
  }
  return -1;
}

/**
 * Meltano's `config_metadata_rules`: the object is flattened to dotted keys, then
 * `stream.key`, `stream.prop.key` and `stream.prop.sub.key` set `key` on that node.
 */
function configMetadataRules(config: Readonly<Record<string, unknown>>): MetadataRule[] {
  return flatten(config).map(([path, value]) => {
    const parts = path.split('.');
    const key = parts.pop() as string;
    const [stream = '', ...props] = parts;
    return { streams: [stream], breadcrumb: propertyBreadcrumb(props), key, value };
  });
}

/** Nested objects become dotted keys; other values (lists included) are leaves. Empty objects vanish. */
function flatten(value: Readonly<Record<string, unknown>>, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return isNode(child) ? flatten(child, path) : [[path, child] as [string, unknown]];
  });
}

function configSchemaRules(
  config: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): SchemaRule[] {
  return Object.entries(config).flatMap(([stream, properties]) =>
    Object.entries(properties).map(([prop, payload]) => ({
      stream,
      breadcrumb: ['properties', prop],
      payload: isNode(payload) ? payload : {},
    })),
  );
}

function matchesStream(rule: { readonly streams: readonly string[] }, tapStreamId: string): boolean {
  return rule.streams.some((pattern) => fnmatch(tapStreamId, pattern));
}

function matchesNode(
  rule: MetadataRule | SchemaRule,
  tapStreamId: string,
  breadcrumb: readonly string[],
): boolean {
  const streams = 'streams' in rule ? rule.streams : [rule.stream];
  // A negated rule matches the streams none of its patterns match; the breadcrumb must match still.
  const negated = 'negated' in rule && rule.negated === true;
  return (
    matchesStream({ streams }, tapStreamId) !== negated &&
    fnmatch(breadcrumb.join('.'), rule.breadcrumb.join('.'))
  );
}

// Schema rules (Meltano's SchemaExecutor).

function applySchemaRules(stream: Node, rules: readonly SchemaRule[]): void {
  const tapStreamId = String(stream.tap_stream_id);
  if (!isNode(stream.schema)) stream.schema = { type: 'object' };
  const schema = stream.schema as Node;
  const streamRules = rules.filter((rule) => matchesStream({ streams: [rule.stream] }, tapStreamId));
  for (const rule of streamRules) ensureProperty(schema, rule.breadcrumb);
  forEachProperty(schema, [], (node, breadcrumb) => {
    let payload: Readonly<Record<string, unknown>> | undefined;
    for (const rule of streamRules) {
      if (matchesNode(rule, tapStreamId, breadcrumb)) payload = rule.payload;
    }
    if (payload === undefined) return 'descend';
    for (const key of Object.keys(node)) delete node[key];
    Object.assign(node, structuredClone(payload));
    // Meltano would go on applying rules inside the new payload, which loops forever when a
    // `*` rule's payload has properties of its own; we take the payload as written.
    return 'skip';
  });
}

/**
 * Creates the schema nodes a rule names, so `schema` can add properties. A breadcrumb part
 * that starts with a glob character (`*`, `?`, `[`) only ensures the properties it matches;
 * Meltano checks the first character only, so `user_*` creates a property literally named so.
 */
function ensureProperty(schema: Node, breadcrumb: readonly string[]): void {
  let node = schema;
  for (const [index, key] of breadcrumb.entries()) {
    if (/^[*?[\]]/.test(key)) {
      for (const name of Object.keys(node)) {
        if (fnmatch(name, key)) ensureProperty(schema, breadcrumb.with(index, name));
      }
      return;
    }
    if (!isNode(node[key])) node[key] = {};
    node = node[key] as Node;
  }
}

// Metadata rules (Meltano's MetadataExecutor).

function applyMetadataRules(stream: Node, rules: readonly MetadataRule[]): void {
  const tapStreamId = String(stream.tap_stream_id);
  if (!Array.isArray(stream.metadata)) stream.metadata = [];
  const entries = stream.metadata as Node[];
  const ensureMetadata = (breadcrumb: readonly string[]) => {
    if (entries.some((entry) => sameBreadcrumb(entry.breadcrumb, breadcrumb))) return;
    const inclusion = breadcrumb.length <= 2 ? 'automatic' : 'available';
    entries.push({ breadcrumb: [...breadcrumb], metadata: { inclusion } });
  };

  ensureMetadata([]);
  for (const rule of rules) {
    if (matchesNode(rule, tapStreamId, [])) setMetadata(stream, rule.key.replaceAll('-', '_'), rule.value);
  }
  if (isNode(stream.schema)) {
    forEachProperty(stream.schema, [], (_node, breadcrumb) => {
      ensureMetadata(breadcrumb);
      return 'descend';
    });
  }
  // Meltano visits the stream's keys in file order, so when `metadata` comes before `schema`
  // the entries it has just added miss the rules; we apply them to every entry.
  for (const entry of entries) {
    if (!isNode(entry) || !Array.isArray(entry.breadcrumb)) continue;
    const breadcrumb = entry.breadcrumb as string[];
    if (!isNode(entry.metadata)) entry.metadata = {};
    for (const rule of rules) {
      if (matchesNode(rule, tapStreamId, breadcrumb))
        setMetadata(entry.metadata as Node, rule.key, rule.value);
    }
  }
}

function setMetadata(node: Node, key: string, value: unknown): void {
  // An unsupported field cannot be selected; it can still be deselected.
  if (key === 'selected' && value === true && node.inclusion === 'unsupported') return;
  node[key] = structuredClone(value);
}

function sameBreadcrumb(a: unknown, b: readonly string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((part, i) => part === b[i]);
}

// Walking a JSON schema's properties as Meltano's catalog visitor does.

/** Python's `\w`: Meltano only treats names made of word characters as properties. */
const WORD_NAME = /^[\p{L}\p{N}_]*$/u;

/** Visits object properties depth-first, parents first, by their breadcrumb (`properties.a.properties.b`). */
function forEachProperty(
  node: Node,
  breadcrumb: readonly string[],
  visit: (property: Node, breadcrumb: readonly string[]) => 'descend' | 'skip',
): void {
  const properties = node.properties;
  if (!isNode(properties)) return;
  for (const [name, property] of Object.entries(properties)) {
    if (!isNode(property) || !WORD_NAME.test(name)) continue;
    const path = [...breadcrumb, 'properties', name];
    if (visit(property, path) === 'descend') forEachProperty(property, path, visit);
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Python's fnmatch.fnmatchcase (POSIX fnmatch is case-sensitive): `*`, `?`, `[seq]`, `[!seq]`.

const globCache = new Map<string, RegExp>();

function fnmatch(name: string, pattern: string): boolean {
  let regex = globCache.get(pattern);
  if (regex === undefined) {
    regex = globToRegExp(pattern);
    globCache.set(pattern, regex);
  }
  return regex.test(name);
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    i++;
    if (c === '*') {
      if (!source.endsWith('[\\s\\S]*')) source += '[\\s\\S]*';
    } else if (c === '?') {
      source += '[\\s\\S]';
    } else if (c === '[') {
      let j = i;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        source += '\\[';
      } else {
        source += charClass(pattern.slice(i, j));
        i = j + 1;
      }
    } else {
      source += c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/** The body of a `[...]` glob as a RegExp class; reversed ranges match nothing, as in Python. */
function charClass(body: string): string {
  const negated = body.startsWith('!');
  const chars = [...(negated ? body.slice(1) : body)];
  let inner = '';
  for (let k = 0; k < chars.length; k++) {
    const from = chars[k] as string;
    const to = chars[k + 2];
    if (chars[k + 1] === '-' && to !== undefined) {
      if (from <= to) inner += `${escapeInClass(from)}-${escapeInClass(to)}`;
      k += 2;
    } else {
      inner += escapeInClass(from);
    }
  }
  if (inner === '') return negated ? '[\\s\\S]' : '(?!)';
  return negated ? `[^${inner}]` : `[${inner}]`;
}

function escapeInClass(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}
