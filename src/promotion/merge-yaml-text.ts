import { isDeepStrictEqual } from 'node:util';
import type { YamlMap, YamlValue } from '../project/model.js';
import { deleteIn, setIn, type YamlPathStep } from '../project/yaml-edit.js';
import { parseYamlFile } from '../project/yaml-file.js';
import { yamlLibrary } from '../project/yaml-library.js';
import { type MergeOverride, mergeValues, type ValueMergeOptions } from './merge-values.js';

export interface YamlTextMerge {
  /** The merged file, or null when the merge removes it. */
  readonly text: string | null;
  readonly overrides: readonly MergeOverride[];
  /** True when the result had to be printed afresh (source comments could not all be kept). */
  readonly reformatted: boolean;
}

function isMap(value: YamlValue | undefined): value is YamlMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isNamedList(value: YamlValue | undefined): value is readonly YamlMap[] {
  return (
    Array.isArray(value) && value.length > 0 && value.every((i) => isMap(i) && typeof i.name === 'string')
  );
}

function parse(text: string | null, name: string): YamlValue | undefined {
  return text === null ? undefined : (parseYamlFile(name, text).value ?? undefined);
}

/**
 * Rewrites `text` (whose value is `from`) until it holds `to`, editing only what differs, so the
 * source file's comments, order and quoting survive the merge.
 */
function applyValue(
  text: string,
  path: YamlPathStep[],
  from: YamlValue | undefined,
  to: YamlValue | undefined,
): string {
  if (isDeepStrictEqual(from, to)) return text;
  if (to === undefined) return deleteIn(text, path);
  if (isMap(from) && isMap(to)) {
    let out = text;
    for (const key of Object.keys(from)) if (!(key in to)) out = deleteIn(out, [...path, key]);
    for (const [key, value] of Object.entries(to)) out = applyValue(out, [...path, key], from[key], value);
    return out;
  }
  if (isNamedList(from) && isNamedList(to)) {
    let out = text;
    const fromItems = new Map(from.map((i) => [i.name as string, i]));
    const toNames = new Set(to.map((i) => i.name as string));
    for (const name of fromItems.keys()) if (!toNames.has(name)) out = deleteIn(out, [...path, { name }]);
    for (const item of to) {
      const name = item.name as string;
      const existing = fromItems.get(name);
      if (!existing) out = setIn(out, [...path, { name }], null);
      out = applyValue(out, [...path, { name }], existing ?? { name }, item);
    }
    return out;
  }
  return setIn(text, path, to as YamlValue);
}

/**
 * Merges one YAML project file by meaning (see mergeValues) and writes the result as the source's
 * text with the needed edits. If the edited text does not read back as the merged value (an
 * unusual layout), the merged value is printed afresh instead: correctness first.
 */
export function mergeYamlText(
  name: string,
  base: string | null,
  target: string | null,
  source: string | null,
  options: ValueMergeOptions,
): YamlTextMerge {
  const baseValue = parse(base, name);
  const targetValue = parse(target, name);
  const sourceValue = parse(source, name);
  const { value, overrides } = mergeValues(baseValue, targetValue, sourceValue, options);
  if (value === undefined) return { text: null, overrides, reformatted: false };
  const start = source ?? target ?? '';
  const startValue = source !== null ? sourceValue : targetValue;
  let text: string | undefined;
  try {
    text = isMap(startValue) && isMap(value) ? applyValue(start, [], startValue, value) : undefined;
    if (text !== undefined) {
      // The top level is edited key by key: applyValue starts below it.
      const check = parse(text, name);
      if (!isDeepStrictEqual(check, value)) text = undefined;
    }
  } catch {
    text = undefined;
  }
  if (text !== undefined) return { text, overrides, reformatted: false };
  return { text: yamlLibrary().stringify(value, { lineWidth: 0 }), overrides, reformatted: true };
}
