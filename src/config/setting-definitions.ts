import type {
  EnvironmentPluginEntry,
  PluginEntry,
  Project,
  SettingDefinition,
  YamlMap,
  YamlValue,
} from '../project/model.js';
import type { PluginType } from '../project/plugin-types.js';
import { flatten } from './flatten.js';
import { inferKind } from './kinds.js';

/**
 * Settings Meltano handles itself for every plugin of a type ("extras", written as keys on the plugin:
 * `select:` is the setting `_select`). Defaults as in Meltano's Singer plugin classes.
 */
const EXTRA_SETTINGS: Readonly<Partial<Record<PluginType, readonly SettingDefinition[]>>> = {
  extractors: [
    { name: '_log_parser' },
    { name: '_catalog', kind: 'file' },
    { name: '_state', kind: 'file' },
    { name: '_load_schema', value: '$MELTANO_EXTRACTOR_NAMESPACE' },
    { name: '_select', kind: 'array', value: ['*.*'] },
    { name: '_metadata', kind: 'object', value: {} },
    { name: '_schema', kind: 'object', value: {} },
    { name: '_select_filter', kind: 'array', value: [] },
    { name: '_use_cached_catalog', kind: 'boolean', value: true },
  ],
  loaders: [
    { name: '_dialect', value: '$MELTANO_LOADER_NAMESPACE' },
    { name: '_target_schema', value: '$MELTANO_LOAD_SCHEMA' },
  ],
  mappers: [{ name: '_mappings', kind: 'array' }, { name: '_mapping_name' }],
  files: [{ name: '_update', kind: 'object', value: {} }],
};

/** The setting definitions of one plugin, in Meltano's order (meltano-semantics §4.1). */
export interface PluginSettingDefinitions {
  /** Definitions, then custom settings from base `config`, then (with an environment) orphans. */
  readonly settings: readonly SettingDefinition[];
  /** `_select`, `_metadata`, ... then custom extras. */
  readonly extras: readonly SettingDefinition[];
}

export function findPlugin(project: Project, type: PluginType, name: string): PluginEntry | undefined {
  return project.plugins.find((p) => p.type === type && p.name === name);
}

/** `config` plus extras as `_key` entries: what Meltano's stores look settings up in. */
export function configWithExtras(config: YamlMap, extras: YamlMap): YamlMap {
  const out: Record<string, YamlValue> = { ...config };
  for (const [key, value] of Object.entries(extras)) out[`_${key}`] = value;
  return out;
}

function customSettings(existing: readonly SettingDefinition[], config: YamlMap): SettingDefinition[] {
  const names = new Set(existing.map((d) => d.name));
  return Object.entries(flatten(config))
    .filter(([key]) => !names.has(key))
    .map(([key, value]) => ({ name: key, kind: inferKind(value), custom: true }));
}

function regularSettings(project: Project, plugin: PluginEntry): SettingDefinition[] {
  const parent =
    plugin.inheritFrom !== undefined ? findPlugin(project, plugin.type, plugin.inheritFrom) : undefined;
  const base = parent
    ? regularSettings(project, parent)
    : (project.lockedDefinitions.get(`${plugin.type}/${plugin.name}`)?.settings ?? []);
  const ownNames = new Set(plugin.settings.map((d) => d.name));
  const defined = [...base.filter((d) => !ownNames.has(d.name)), ...plugin.settings];
  return [...defined, ...customSettings(defined, plugin.config)];
}

function extraSettings(project: Project, plugin: PluginEntry): SettingDefinition[] {
  const parent =
    plugin.inheritFrom !== undefined ? findPlugin(project, plugin.type, plugin.inheritFrom) : undefined;
  const base = parent ? extraSettings(project, parent) : [...(EXTRA_SETTINGS[plugin.type] ?? [])];
  return [...base, ...customSettings(base, configWithExtras({}, plugin.extras))];
}

export function pluginSettingDefinitions(
  project: Project,
  plugin: PluginEntry,
  environmentEntry?: EnvironmentPluginEntry,
): PluginSettingDefinitions {
  const settings = regularSettings(project, plugin);
  const extras = extraSettings(project, plugin);
  if (!environmentEntry) return { settings, extras };
  const orphans = customSettings(
    [...settings, ...extras],
    configWithExtras(environmentEntry.config, environmentEntry.extras),
  );
  return {
    settings: [...settings, ...orphans.filter((d) => !d.name.startsWith('_'))],
    extras: [...extras, ...orphans.filter((d) => d.name.startsWith('_'))],
  };
}
