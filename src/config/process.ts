import type { YamlValue } from '../project/model.js';
import { PLUGIN_TYPES } from '../project/plugin-types.js';
import { hasUnescapedDot, isPlainObject, nestObject, unescapeDots } from './flatten.js';
import type { ResolvedPlugin, ResolvedSetting } from './resolve.js';

export const PRINT_MASK = '*****';
export const LIST_MASK = '(redacted)';

/** A sensitive value with content is replaced by `mask`; empty ones are shown as they are. */
export function redactedValue(setting: ResolvedSetting, mask: string | null): YamlValue {
  if (mask === null || !setting.sensitive) return setting.value;
  const empty = setting.value === null || setting.value === '' || setting.value === false;
  return empty ? setting.value : mask;
}

/**
 * The configuration a plugin receives (and `config print` shows), as Meltano's `process_config`
 * shapes it (meltano-semantics §5.4): for Singer plugins, nulls dropped and dotted keys nested;
 * other plugins get the flat dictionary.
 */
export function processConfig(
  resolved: ResolvedPlugin,
  mask: string | null = null,
): Record<string, YamlValue> {
  const flat: Record<string, YamlValue> = {};
  for (const setting of resolved.settings) flat[setting.name] = redactedValue(setting, mask);
  if (!PLUGIN_TYPES[resolved.plugin.type].singer) return flat;
  const withoutNulls = Object.fromEntries(Object.entries(flat).filter(([, v]) => v !== null));
  return unescapeKeys(nestObject(withoutNulls));
}

function unescapeKeys(value: Record<string, YamlValue>): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = {};
  for (const [key, v] of Object.entries(value)) {
    if (hasUnescapedDot(key)) continue;
    out[unescapeDots(key)] = isPlainObject(v) ? unescapeKeys({ ...v }) : v;
  }
  return out;
}
