import { SluiceError } from '../errors.js';
import type { PluginEntry, Project } from '../project/model.js';
import { describePluginType } from '../project/plugin-types.js';

/** The plugins Sluice runs in-process. */
export type BuiltinPlugin = 'tap-csv' | 'target-jsonl' | 'target-duckdb';

const BUILTINS = {
  'tap-csv': 'extractors',
  'target-jsonl': 'loaders',
  'target-duckdb': 'loaders',
} as const satisfies Record<BuiltinPlugin, string>;

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
 * `target-jsonl` or `target-duckdb` (loaders), whatever its variant. Anything else is refused for now.
 */
export function builtinFor(project: Project, plugin: PluginEntry): BuiltinPlugin {
  for (const name of lineage(project, plugin)) {
    if (Object.hasOwn(BUILTINS, name) && BUILTINS[name as BuiltinPlugin] === plugin.type) {
      return name as BuiltinPlugin;
    }
  }
  throw new SluiceError(
    'plugin_unsupported',
    `The ${describePluginType(plugin.type)} '${plugin.name}' is not built into Sluice; running external plugins comes later. Built-in plugins today: extractor tap-csv, loaders target-jsonl and target-duckdb (name a plugin so, or inherit_from one of them).`,
    { plugin: plugin.name, type: plugin.type },
  );
}
