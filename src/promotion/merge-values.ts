import { isDeepStrictEqual } from 'node:util';
import type { YamlMap, YamlValue } from '../project/model.js';

/** A step into merged YAML: a mapping key, or the item of a list whose `name` is given. */
export type MergePath = readonly (string | { readonly name: string })[];

/** Where the target's own value gave way to the source's. */
export interface MergeOverride {
  readonly path: MergePath;
  /** What the target had (undefined: the key was absent). */
  readonly target: YamlValue | undefined;
  readonly source: YamlValue | undefined;
  /** `edited`: both sides changed it since the common base; `differs`: no base to tell (unrelated histories). */
  readonly kind: 'edited' | 'deleted-by-source' | 'differs';
}

export interface ValueMergeResult {
  readonly value: YamlValue | undefined;
  readonly overrides: readonly MergeOverride[];
}

export interface ValueMergeOptions {
  /** Top-level keys whose value belongs to the target workspace (`project_id`, `default_environment`). */
  readonly targetOwnedKeys: readonly string[];
}

function isMap(value: YamlValue | undefined): value is YamlMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A list whose every item is a mapping with a string `name`: plugins, environments, schedules, jobs, settings. */
function isNamedList(value: YamlValue | undefined): value is readonly YamlMap[] {
  return (
    Array.isArray(value) && value.length > 0 && value.every((i) => isMap(i) && typeof i.name === 'string')
  );
}

const same = (a: YamlValue | undefined, b: YamlValue | undefined) => isDeepStrictEqual(a, b);

/**
 * Three-way merge of YAML values by meaning (the page's `-X theirs`, done on keys instead of
 * lines): mappings key by key, named lists item by item (by `name`), anything else as a whole.
 * A side that did not change since `base` yields to the side that did; when both changed, the
 * source wins and the target's value is reported as overridden. Without a base (unrelated
 * histories), keys only one side has are kept and differing values take the source's.
 */
export function mergeValues(
  base: YamlValue | undefined,
  target: YamlValue | undefined,
  source: YamlValue | undefined,
  options: ValueMergeOptions,
): ValueMergeResult {
  const overrides: MergeOverride[] = [];
  const value = merge(base, target, source, [], overrides, options);
  return { value, overrides };
}

function merge(
  base: YamlValue | undefined,
  target: YamlValue | undefined,
  source: YamlValue | undefined,
  path: MergePath,
  overrides: MergeOverride[],
  options: ValueMergeOptions,
): YamlValue | undefined {
  if (same(target, source)) return source;
  // The target owns these: its value stays, and so does its lack of one.
  if (path.length === 1 && typeof path[0] === 'string' && options.targetOwnedKeys.includes(path[0]))
    return target;
  if (isMap(target) && isMap(source) && (base === undefined || isMap(base))) {
    const out: Record<string, YamlValue> = {};
    const keys = [...Object.keys(source), ...Object.keys(target).filter((k) => !(k in source))];
    for (const key of keys) {
      const merged = merge(base?.[key], target[key], source[key], [...path, key], overrides, options);
      if (merged !== undefined) out[key] = merged;
    }
    return out;
  }
  if (
    isNamedList(target) &&
    isNamedList(source) &&
    (base === undefined || isNamedList(base) || (Array.isArray(base) && base.length === 0))
  ) {
    const byName = (list: readonly YamlMap[] | undefined) =>
      new Map((list ?? []).map((i) => [i.name as string, i]));
    const baseItems = byName(isNamedList(base) ? base : undefined);
    const targetItems = byName(target);
    const sourceItems = byName(source);
    const names = [...sourceItems.keys(), ...[...targetItems.keys()].filter((n) => !sourceItems.has(n))];
    const out: YamlValue[] = [];
    for (const name of names) {
      const merged = merge(
        baseItems.get(name),
        targetItems.get(name),
        sourceItems.get(name),
        [...path, { name }],
        overrides,
        options,
      );
      if (merged !== undefined) out.push(merged);
    }
    return out;
  }
  // A whole value: scalars, unnamed lists, or a change of shape.
  if (base !== undefined || (target !== undefined && source !== undefined)) {
    if (base !== undefined && same(base, source)) return target; // only the target changed it
    if (base !== undefined && same(base, target)) return source; // only the source changed it
  }
  if (source === undefined) {
    if (base === undefined) return target; // only the target has it
    overrides.push({ path, target, source, kind: 'deleted-by-source' });
    return undefined;
  }
  // A removal the target made is one of its edits too: the source's change brings the value back.
  if (target !== undefined || base !== undefined)
    overrides.push({ path, target, source, kind: base === undefined ? 'differs' : 'edited' });
  return source;
}
