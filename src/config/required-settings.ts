import type { YamlValue } from '../project/model.js';
import type { ResolvedPlugin } from './resolve.js';

/**
 * Meltano's `settings_group_validation`: a list of groups of setting names; the plugin is
 * configured when every setting of at least one group has a value. Empty: nothing is required.
 */
export type SettingGroups = readonly (readonly string[])[];

/** The groups a plugin entry declares itself (`settings_group_validation`), ignoring malformed ones. */
export function declaredSettingGroups(raw: Readonly<Record<string, YamlValue>>): SettingGroups {
  const groups = raw.settings_group_validation;
  if (!Array.isArray(groups)) return [];
  return groups.filter((g): g is string[] => Array.isArray(g) && g.every((n) => typeof n === 'string'));
}

function hasValue(resolved: ResolvedPlugin, name: string): boolean {
  const setting = resolved.settings.find((s) => s.name === name);
  if (setting === undefined) return false;
  const value = setting.value;
  return (
    value !== null && value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0)
  );
}

/**
 * The groups when none is complete for this resolution (the plugin cannot run), else undefined.
 * Values from environment variables count: that is how secrets reach a plugin.
 */
export function unsatisfiedSettingGroups(
  resolved: ResolvedPlugin,
  groups: SettingGroups,
): SettingGroups | undefined {
  if (groups.length === 0) return undefined;
  return groups.some((group) => group.every((name) => hasValue(resolved, name))) ? undefined : groups;
}

/** `a + b or c`: how a message lists the alternatives. */
export function describeSettingGroups(groups: SettingGroups): string {
  return groups.map((g) => g.join(' + ')).join(' or ');
}
