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
 * layers combine as Meltano's `nest_object` combines them (meltano-semantics §5.3).
 */
export function nestObject(flat: YamlMap): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = {};
  for (const [key, value] of Object.entries(flat)) place(out, splitPath(key), value);
  return out;
}

function place(target: Record<string, YamlValue>, path: readonly string[], value: YamlValue): void {
  const [head, ...tail] = path;
  if (head === undefined) return;
  if (tail.length > 0) {
    const existing = target[head];
    if (existing !== undefined && !isPlainObject(existing)) return; // a scalar was written first: it wins
    const child = existing === undefined ? {} : { ...existing };
    target[head] = child;
    place(child, tail, value);
    return;
  }
  const existing = target[head];
  if (existing === undefined) {
    target[head] = isPlainObject(value) ? nestObject(value) : value;
  } else if (isPlainObject(existing) && isPlainObject(value)) {
    const merged: Record<string, YamlValue> = { ...existing };
    for (const [k, v] of Object.entries(nestObject(value))) place(merged, [k], v);
    target[head] = merged;
  }
}
