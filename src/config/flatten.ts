import type { YamlMap, YamlValue } from '../project/model.js';

/**
 * Meltano's dotted-key model (meltano-semantics §5.1). `a: {b: 1}` and `a.b: 1` are the same setting;
 * `\.` escapes a dot that belongs to the key (`s3\.endpoint_url`).
 */

export function isPlainObject(value: unknown): value is YamlMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Splits a key on dots that are not escaped with a backslash. */
export function splitPath(key: string): string[] {
  return key.split(/(?<!\\)\./);
}

export function hasUnescapedDot(key: string): boolean {
  return /(?<!\\)\./.test(key);
}

export function unescapeDots(key: string): string {
  return key.replace(/\\\./g, '.');
}

/** Nested mappings to dotted keys. Empty mappings, lists and nulls are leaves. */
export function flatten(
  map: YamlMap,
  prefix = '',
  into: Record<string, YamlValue> = {},
): Record<string, YamlValue> {
  for (const [key, value] of Object.entries(map)) {
    const flat = prefix + key;
    if (isPlainObject(value) && Object.keys(value).length > 0) flatten(value, `${flat}.`, into);
    else into[flat] = value;
  }
  return into;
}

/**
 * Dotted keys to nested mappings. The first value written for a leaf wins, and a mapping value is
 * merged into what is already there, so a whole object from a higher layer and leaves from lower
 * layers combine as Meltano's `nest_object` combines them (meltano-semantics §5.3). Every mapping
 * in the result is made here, so it is filled in place: copying it for each key under it would
 * make 20,000 keys under one prefix cost 200 million copies.
 */
export function nestObject(flat: YamlMap): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = {};
  for (const [key, value] of Object.entries(flat)) place(out, splitPath(key), 0, value);
  return out;
}

/** Puts `value` at `path[at..]` under `target`, a mapping `nestObject` made (so ours to change). */
function place(
  target: Record<string, YamlValue>,
  path: readonly string[],
  at: number,
  value: YamlValue,
): void {
  const head = path[at];
  if (head === undefined) return;
  const existing = target[head];
  if (at < path.length - 1) {
    if (existing !== undefined && !isPlainObject(existing)) return; // a scalar was written first: it wins
    const child = (existing ?? {}) as Record<string, YamlValue>;
    target[head] = child;
    place(child, path, at + 1, value);
    return;
  }
  if (existing === undefined) {
    target[head] = isPlainObject(value) ? nestObject(value) : value;
  } else if (isPlainObject(existing) && isPlainObject(value)) {
    const merged = existing as Record<string, YamlValue>;
    for (const [k, v] of Object.entries(nestObject(value))) place(merged, [k], 0, v);
  }
}
