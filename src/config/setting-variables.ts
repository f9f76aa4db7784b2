import type { SettingDefinition, YamlValue } from '../project/model.js';
import { type NamingPlugin, ownPrefixes, toEnvVar } from './env-var-names.js';
import type { EnvLookup } from './expand.js';
import { settingEnvValue } from './settings-env.js';

/**
 * The variables a plugin's settings are written to (`writeEnvVars`: the custom `env`, each prefix
 * + setting, `MELTANO_<VERB>_` + setting, `env_aliases`), as a lookup by variable name. Extras may
 * reference them (`$TAP_X_FOO`), but only a few names ever are: instead of writing every name of
 * every setting, the lookup indexes each setting once by its own part of the name and strips a
 * known prefix from the name asked for. As when the names are written in order, the last setting
 * that writes a name gives its value.
 */
export function settingVariables(
  naming: NamingPlugin,
  settings: readonly { readonly definition: SettingDefinition; readonly value: YamlValue }[],
): EnvLookup {
  const prefixes = [...ownPrefixes(naming), ...naming.parentPrefixes, `MELTANO_${naming.verb}`].map(
    (prefix) => `${toEnvVar(prefix)}_`,
  );
  let index: { readonly bySetting: Map<string, number>; readonly literal: Map<string, number> } | undefined;
  const build = () => {
    const bySetting = new Map<string, number>();
    const literal = new Map<string, number>();
    settings.forEach(({ definition, value }, i) => {
      if (value === null) return;
      bySetting.set(toEnvVar(definition.name), i);
      if (definition.env) literal.set(definition.env, i);
      for (const alias of definition.envAliases ?? []) if (!alias.startsWith('!')) literal.set(alias, i);
    });
    return { bySetting, literal };
  };
  return (name) => {
    index ??= build();
    let last = index.literal.get(name) ?? -1;
    for (const prefix of prefixes) {
      if (name.startsWith(prefix))
        last = Math.max(last, index.bySetting.get(name.slice(prefix.length)) ?? -1);
    }
    const found = settings[last];
    return found ? settingEnvValue(found.definition, found.value) : undefined;
  };
}
