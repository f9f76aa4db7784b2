import type { SettingDefinition, YamlValue } from '../project/model.js';
import { writeEnvVars } from './env-var-names.js';
import { pythonJsonDumps, pythonStr } from './python-text.js';
import type { ResolvedPlugin } from './resolve.js';

/**
 * A setting's value as Meltano writes it into a variable (`stringify_value`): strings as they
 * are; settings without a kind, `string` and `decimal` ones as Python's `str()`; every other kind
 * as Python's `json.dumps` (`true`, `["a", "b"]`).
 */
export function settingEnvValue(def: SettingDefinition, value: YamlValue): string {
  if (typeof value === 'string') return value;
  if (def.kind === undefined || def.kind === 'string' || def.kind === 'decimal') return pythonStr(value);
  return pythonJsonDumps(value);
}

/**
 * Meltano's `as_env`: every setting of the plugin that has a value, extras included, under every
 * variable it is written to (its `env:`, `TAP_X_SETTING`, the parents' prefixes,
 * `MELTANO_EXTRACT_SETTING`, its `env_aliases`). This is what a plugin's process receives, and what
 * the plugins after it in a `run` receive too.
 */
export function settingsEnv(resolved: ResolvedPlugin): Record<string, string> {
  const out: Record<string, string> = {};
  for (const setting of [...resolved.settings, ...resolved.extras]) {
    if (setting.value === null) continue;
    const text = settingEnvValue(setting.definition, setting.value);
    for (const name of writeEnvVars(resolved.naming, setting.definition)) out[name] = text;
  }
  return out;
}
