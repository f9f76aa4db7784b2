import type { PluginEntry, SettingDefinition, SettingKind } from './model.js';
import type { ProjectSource } from './project-source.js';

/**
 * Settings from Meltano lock files (`plugins/<type>/<name>--<variant>.lock`), which pin the Hub
 * definition of a plugin that shadows a discoverable one. Sluice never contacts the Hub, so this is
 * where it learns such a plugin's kinds, defaults, aliases and which settings are sensitive.
 */
export function readLockedSettings(
  source: ProjectSource,
  plugins: readonly PluginEntry[],
): Map<string, SettingDefinition[]> {
  const out = new Map<string, SettingDefinition[]>();
  for (const plugin of plugins) {
    if (plugin.inheritFrom !== undefined || plugin.namespace !== undefined) continue;
    const candidates = source.glob(`plugins/${plugin.type}/${escapeGlob(plugin.name)}--*.lock`);
    const chosen =
      candidates.find((c) => c.endsWith(`--${plugin.variant ?? 'original'}.lock`)) ??
      (candidates.length === 1 ? candidates[0] : undefined);
    if (chosen === undefined) continue;
    const text = source.read(chosen);
    if (text === undefined) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      continue; // A broken lock file only costs us the definition; Meltano would refetch it.
    }
    const settings = (parsed as { settings?: unknown }).settings;
    if (!Array.isArray(settings)) continue;
    out.set(`${plugin.type}/${plugin.name}`, settings.filter(isSettingLike).map(toDefinition));
  }
  return out;
}

function escapeGlob(name: string): string {
  return name.replace(/[*?[\]{}()!]/g, '\\$&');
}

function isSettingLike(value: unknown): value is Record<string, unknown> & { name: string } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string'
  );
}

function toDefinition(raw: Record<string, unknown> & { name: string }): SettingDefinition {
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  return {
    name: raw.name,
    kind: typeof raw.kind === 'string' ? (raw.kind as SettingKind) : undefined,
    value: raw.value as SettingDefinition['value'],
    aliases: strings(raw.aliases),
    env: typeof raw.env === 'string' ? raw.env : undefined,
    envAliases: strings(raw.env_aliases),
    sensitive: raw.sensitive === true ? true : undefined,
    hidden: raw.hidden === true ? true : undefined,
    options: Array.isArray(raw.options) ? (raw.options as SettingDefinition['options']) : undefined,
    label: typeof raw.label === 'string' ? raw.label : undefined,
    description: typeof raw.description === 'string' ? raw.description : undefined,
  };
}
