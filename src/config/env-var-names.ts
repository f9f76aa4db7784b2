import type { SettingDefinition } from '../project/model.js';

/** Meltano's `to_env_var`: every non-alphanumeric character becomes `_`, then upper case. */
export function toEnvVar(...parts: readonly string[]): string {
  return parts.map((p) => p.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()).join('_');
}

/** What naming needs to know of a plugin. */
export interface NamingPlugin {
  readonly name: string;
  readonly namespace: string;
  readonly inherits: boolean;
  /** `EXTRACT`, `LOAD`, ... */
  readonly verb: string;
  /** Prefixes of the parent chain, nearest first. */
  readonly parentPrefixes: readonly string[];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The own prefixes of a plugin: its name and its namespace. */
export function ownPrefixes(plugin: Pick<NamingPlugin, 'name' | 'namespace'>): string[] {
  return unique([plugin.name, plugin.namespace]);
}

/**
 * Variables read for a setting (meltano-semantics §4.4): `<NAME>_<SETTING>`, `<NAMESPACE>_<SETTING>`,
 * the same for each alias, then the literal `env_aliases` (only for plugins without `inherit_from`).
 * A `!NAME` alias is a negated boolean: `negated` says so.
 */
export function readEnvVars(
  plugin: NamingPlugin,
  setting: SettingDefinition,
): { name: string; negated: boolean }[] {
  const names: string[] = [];
  for (const key of [setting.name, ...(setting.aliases ?? [])]) {
    for (const prefix of ownPrefixes(plugin)) names.push(toEnvVar(prefix, key));
  }
  const out = unique(names).map((name) => ({ name, negated: false }));
  if (!plugin.inherits) {
    for (const alias of setting.envAliases ?? []) {
      const negated = alias.startsWith('!');
      out.push({ name: negated ? alias.slice(1) : alias, negated });
    }
  }
  return out;
}

/**
 * Variables a setting's value is written to (for `config print --format env` and the plugin's
 * process): the custom `env`, own prefixes, parent prefixes, `MELTANO_<VERB>_`, then `env_aliases`.
 */
export function writeEnvVars(plugin: NamingPlugin, setting: SettingDefinition): string[] {
  const names: string[] = [];
  if (setting.env) names.push(setting.env);
  for (const prefix of unique([...ownPrefixes(plugin), ...plugin.parentPrefixes]))
    names.push(toEnvVar(prefix, setting.name));
  names.push(toEnvVar(`MELTANO_${plugin.verb}`, setting.name));
  for (const alias of setting.envAliases ?? []) if (!alias.startsWith('!')) names.push(alias);
  return unique(names);
}
