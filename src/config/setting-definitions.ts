import type {
  Environment,
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

const pluginIndexes = new WeakMap<Project, Map<string, PluginEntry>>();
const entryIndexes = new WeakMap<Environment, Map<string, EnvironmentPluginEntry>>();

/**
 * Lookups by `<type>/<name>` in a map built once per project or environment (they are immutable):
 * resolution looks plugins up for every plugin and environment, and a scan each time would make
 * a view of many plugins quadratic. The first entry of a name wins, as a scan would find it.
 */
function indexed<K extends object, T extends { readonly type: PluginType; readonly name: string }>(
  cache: WeakMap<K, Map<string, T>>,
  owner: K,
  items: readonly T[],
): Map<string, T> {
  let index = cache.get(owner);
  if (!index) {
    index = new Map();
    for (const item of items) {
      const key = `${item.type}/${item.name}`;
      if (!index.has(key)) index.set(key, item);
    }
    cache.set(owner, index);
  }
  return index;
}

export function findPlugin(project: Project, type: PluginType, name: string): PluginEntry | undefined {
  return indexed(pluginIndexes, project, project.plugins).get(`${type}/${name}`);
}

/** An environment's entry for a plugin (`config.plugins.<type>[]`), if it has one. */
export function findEnvironmentEntry(
  environment: Environment,
  type: PluginType,
  name: string,
): EnvironmentPluginEntry | undefined {
  return indexed(entryIndexes, environment, environment.plugins).get(`${type}/${name}`);
}

/** `config` plus extras as `_key` entries: what Meltano's stores look settings up in. */
export function configWithExtras(config: YamlMap, extras: YamlMap): YamlMap {
  const out: Record<string, YamlValue> = { ...config };
  for (const [key, value] of Object.entries(extras)) out[`_${key}`] = value;
  return out;
}

/** Settings for the keys of a flattened store that no definition names. */
function customSettings(
  existing: readonly SettingDefinition[],
  flat: Readonly<Record<string, YamlValue>>,
): SettingDefinition[] {
  const names = new Set(existing.map((d) => d.name));
  return Object.entries(flat)
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
  return [...defined, ...customSettings(defined, flatten(plugin.config))];
}

function extraSettings(project: Project, plugin: PluginEntry): SettingDefinition[] {
  const parent =
    plugin.inheritFrom !== undefined ? findPlugin(project, plugin.type, plugin.inheritFrom) : undefined;
  const base = parent ? extraSettings(project, parent) : [...(EXTRA_SETTINGS[plugin.type] ?? [])];
  return [...base, ...customSettings(base, flatten(configWithExtras({}, plugin.extras)))];
}

const definitionCache = new WeakMap<
  Project,
  WeakMap<PluginEntry, WeakMap<object, PluginSettingDefinitions>>
>();
const NO_ENTRY = {};
const flatStores = new WeakMap<object, Readonly<Record<string, YamlValue>>>();

/**
 * A plugin's (or an environment entry's) `config` and extras flattened to dotted keys: the store
 * resolution reads a setting from. Computed once per entry, since the project does not change.
 */
export function flatStore(entry: PluginEntry | EnvironmentPluginEntry): Readonly<Record<string, YamlValue>> {
  let flat = flatStores.get(entry);
  if (!flat) {
    flat = flatten(configWithExtras(entry.config, entry.extras));
    flatStores.set(entry, flat);
  }
  return flat;
}

/**
 * The setting definitions of a plugin, with an environment's orphans when given its entry.
 * Computed once per project, plugin and entry (they do not change once loaded): a configuration
 * view asks again for each environment, and each time costs as much as the plugin has keys.
 */
export function pluginSettingDefinitions(
  project: Project,
  plugin: PluginEntry,
  environmentEntry?: EnvironmentPluginEntry,
): PluginSettingDefinitions {
  const byPlugin = definitionCache.get(project) ?? new WeakMap();
  definitionCache.set(project, byPlugin);
  const byEntry = byPlugin.get(plugin) ?? new WeakMap();
  byPlugin.set(plugin, byEntry);
  const key = environmentEntry ?? NO_ENTRY;
  let definitions = byEntry.get(key);
  if (!definitions) {
    definitions = computeDefinitions(project, plugin, environmentEntry);
    byEntry.set(key, definitions);
  }
  return definitions;
}

function computeDefinitions(
  project: Project,
  plugin: PluginEntry,
  environmentEntry: EnvironmentPluginEntry | undefined,
): PluginSettingDefinitions {
  const settings = regularSettings(project, plugin);
  const extras = extraSettings(project, plugin);
  if (!environmentEntry) return { settings, extras };
  const orphans = customSettings([...settings, ...extras], flatStore(environmentEntry));
  return {
    settings: [...settings, ...orphans.filter((d) => !d.name.startsWith('_'))],
    extras: [...extras, ...orphans.filter((d) => d.name.startsWith('_'))],
  };
}
