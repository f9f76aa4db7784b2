import { findPlugin } from '../config/setting-definitions.js';
import type { PluginEntry, Project } from '../project/model.js';
import { builtinOrUndefined } from './builtin-plugins.js';

/**
 * A plugin's capabilities decide how Meltano runs a tap (`singer/tap.py`): `discover` lets it run
 * discovery, `catalog` or else `properties` says which flag carries the catalog, `state` whether
 * it gets `--state`. Sluice reads them where Meltano does.
 */
export interface PluginCapabilities {
  readonly names: ReadonlySet<string>;
  /** Where they come from, for the run's log. */
  readonly source: 'declared' | 'inherited' | 'lock file' | 'custom definition' | 'built-in' | 'assumed';
}

/**
 * What nearly every tap's Hub definition lists, MeltanoLabs' tap-csv (the built-in's model)
 * included: what Sluice gives the built-in tap, and assumes of a plugin that declares nothing and
 * has neither a lock file nor a custom definition.
 */
const STANDARD_TAP_CAPABILITIES: readonly string[] = ['catalog', 'discover', 'state'];

/**
 * A plugin's capabilities, as Meltano finds them: its own `capabilities:`, else its `inherit_from`
 * parent's (up the chain), else, for a plugin that shadows a Hub plugin, its lock file. A custom
 * definition (a `namespace` and no `inherit_from`) that lists none has none: Meltano then runs the
 * tap with `--config` only. Sluice, which never asks the Hub, falls back to the built-in's, then
 * assumes the standard ones.
 */
export function pluginCapabilities(project: Project, plugin: PluginEntry): PluginCapabilities {
  const seen = new Set<string>();
  let current: PluginEntry | undefined = plugin;
  while (current && !seen.has(current.name)) {
    seen.add(current.name);
    if (current.capabilities !== undefined) {
      return { names: new Set(current.capabilities), source: current === plugin ? 'declared' : 'inherited' };
    }
    if (current.inheritFrom === undefined) {
      if (current.namespace !== undefined) return { names: new Set(), source: 'custom definition' };
      const locked = project.lockedDefinitions.get(`${current.type}/${current.name}`)?.capabilities;
      if (locked !== undefined) return { names: new Set(locked), source: 'lock file' };
      break;
    }
    current = findPlugin(project, current.type, current.inheritFrom);
  }
  if (builtinOrUndefined(project, plugin) !== undefined) {
    return { names: new Set(STANDARD_TAP_CAPABILITIES), source: 'built-in' };
  }
  return { names: new Set(STANDARD_TAP_CAPABILITIES), source: 'assumed' };
}
