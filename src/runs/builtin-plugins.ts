import { declaredSettingGroups, type SettingGroups } from '../config/required-settings.js';
import { SluiceError } from '../errors.js';
import type { PluginEntry, Project } from '../project/model.js';
import { describePluginType } from '../project/plugin-types.js';

/** The plugins Sluice runs in-process. */
export type BuiltinPlugin = 'tap-csv' | 'target-jsonl' | 'target-duckdb' | 'target-postgres';

const BUILTINS = {
  'tap-csv': 'extractors',
  'target-jsonl': 'loaders',
  'target-duckdb': 'loaders',
  'target-postgres': 'loaders',
} as const satisfies Record<BuiltinPlugin, string>;

/** What each built-in cannot run without, as `settings_group_validation` groups. */
const BUILTIN_SETTING_GROUPS: Record<BuiltinPlugin, SettingGroups> = {
  'tap-csv': [['files'], ['csv_files_definition']],
  'target-jsonl': [],
  'target-duckdb': [['filepath'], ['path']],
  'target-postgres': [['sqlalchemy_url'], ['host', 'database']],
};

/** The plugin's name and every name up its `inherit_from` chain (the last may be a Hub name). */
function lineage(project: Project, plugin: PluginEntry): string[] {
  const names = [plugin.name];
  let current: PluginEntry | undefined = plugin;
  while (current?.inheritFrom !== undefined && !names.includes(current.inheritFrom)) {
    names.push(current.inheritFrom);
    const parentName: string = current.inheritFrom;
    current = project.plugins.find((p) => p.type === plugin.type && p.name === parentName);
  }
  return names;
}

/**
 * The built-in that runs a plugin: one named, or inheriting from, `tap-csv` (an extractor) or
 * `target-jsonl`, `target-duckdb` or `target-postgres` (loaders), whatever its variant.
 */
export function builtinFor(project: Project, plugin: PluginEntry): BuiltinPlugin {
  for (const name of lineage(project, plugin)) {
    if (Object.hasOwn(BUILTINS, name) && BUILTINS[name as BuiltinPlugin] === plugin.type) {
      return name as BuiltinPlugin;
    }
  }
  throw new SluiceError(
    'plugin_unsupported',
    `The ${describePluginType(plugin.type)} '${plugin.name}' is not built into Sluice. Built-in plugins: extractor tap-csv, loaders target-jsonl, target-duckdb and target-postgres (name a plugin so, or inherit_from one of them); anything else runs as an external program.`,
    { plugin: plugin.name, type: plugin.type },
  );
}

/**
 * The setting groups a plugin needs before it can run: its own `settings_group_validation` (or
 * the nearest one up its `inherit_from` chain), else the built-in's.
 */
export function requiredSettingGroups(project: Project, plugin: PluginEntry): SettingGroups {
  for (const name of lineage(project, plugin)) {
    const entry = project.plugins.find((p) => p.type === plugin.type && p.name === name);
    const declared = entry ? declaredSettingGroups(entry.raw) : [];
    if (declared.length > 0) return declared;
  }
  const builtin = builtinOrUndefined(project, plugin);
  return builtin ? BUILTIN_SETTING_GROUPS[builtin] : [];
}

/** The built-in that runs a plugin in-process, or undefined when it runs as a program. */
export function builtinOrUndefined(project: Project, plugin: PluginEntry): BuiltinPlugin | undefined {
  try {
    return builtinFor(project, plugin);
  } catch (error) {
    if (error instanceof SluiceError && error.code === 'plugin_unsupported') return undefined;
    throw error;
  }
}
