import { checkSettingName, measureValue, type ProjectBudget } from './limits.js';
import type { LockedDefinition, PluginEntry, SettingDefinition, SettingKind, YamlValue } from './model.js';
import type { ProjectSource } from './project-source.js';

/**
 * Definitions from Meltano lock files (`plugins/<type>/<name>--<variant>.lock`), which pin the Hub
 * definition of a plugin that shadows a discoverable one. Sluice never contacts the Hub, so this is
 * where it learns such a plugin's kinds, defaults, aliases, which settings are sensitive, and its
 * capabilities (which decide the flags a tap is run with).
 */
export function readLockedDefinitions(
  source: ProjectSource,
  plugins: readonly PluginEntry[],
  budget: ProjectBudget,
): Map<string, LockedDefinition> {
  const out = new Map<string, LockedDefinition>();
  const listings = new Map<string, string[]>();
  for (const plugin of plugins) {
    if (plugin.inheritFrom !== undefined || plugin.namespace !== undefined) continue;
    let files = listings.get(plugin.type);
    if (!files) {
      files = source.list(`plugins/${plugin.type}`).filter((f) => f.endsWith('.lock'));
      listings.set(plugin.type, files);
    }
    const candidates = files.filter((f) => f.startsWith(`${plugin.name}--`));
    const picked =
      candidates.find((c) => c === `${plugin.name}--${plugin.variant ?? 'original'}.lock`) ??
      (candidates.length === 1 ? candidates[0] : undefined);
    if (picked === undefined) continue;
    const chosen = `plugins/${plugin.type}/${picked}`;
    const text = source.read(chosen);
    if (text === undefined) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      continue; // A broken lock file only costs us the definition; Meltano would refetch it.
    }
    // Its values become setting defaults: they count against the project's limits like YAML does.
    const shown = source.display(chosen);
    budget.chargeKeys(shown, measureValue(parsed as YamlValue, shown).keys);
    const { settings, capabilities } = (parsed ?? {}) as { settings?: unknown; capabilities?: unknown };
    const definitions = Array.isArray(settings) ? settings.filter(isSettingLike).map(toDefinition) : [];
    for (const d of definitions)
      for (const name of [d.name, ...(d.aliases ?? [])]) checkSettingName(name, { file: shown });
    out.set(`${plugin.type}/${plugin.name}`, {
      settings: definitions,
      ...(Array.isArray(capabilities)
        ? { capabilities: capabilities.filter((c): c is string => typeof c === 'string') }
        : {}),
    });
  }
  return out;
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
