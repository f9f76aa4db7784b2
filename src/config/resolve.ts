import { formatPosition, SluiceError, type SourcePosition } from '../errors.js';
import type {
  Environment,
  EnvironmentPluginEntry,
  PluginEntry,
  Project,
  SettingDefinition,
  YamlValue,
} from '../project/model.js';
import { PLUGIN_TYPES } from '../project/plugin-types.js';
import { buildEnvLayers, type EnvLayers, type RuntimeEnv } from './env-layers.js';
import { type NamingPlugin, ownPrefixes, readEnvVars, toEnvVar } from './env-var-names.js';
import { type EnvLookup, type EnvMap, expandSettingValue } from './expand.js';
import { nestObject } from './flatten.js';
import { castValue, isSensitive } from './kinds.js';
import {
  findEnvironmentEntry,
  findPlugin,
  flatStore,
  pluginSettingDefinitions,
} from './setting-definitions.js';
import { settingVariables } from './setting-variables.js';

/** Where a value came from, highest precedence first (meltano-semantics §4.2; Sluice keeps no system DB store). */
export const SETTING_SOURCES = [
  'env',
  'dotenv',
  'environment',
  'meltano_yml',
  'inherited',
  'default',
] as const;
export type SettingSource = (typeof SETTING_SOURCES)[number];

export interface ResolvedSetting {
  readonly definition: SettingDefinition;
  readonly name: string;
  readonly value: YamlValue;
  readonly source: SettingSource;
  /** The variable the value was read from (sources `env` and `dotenv`). */
  readonly envVar?: string;
  /** The value as written, when expansion changed it. */
  readonly unexpandedValue?: YamlValue;
  /** For source `inherited`: the parent plugin and where the parent got the value. */
  readonly inheritedFrom?: string;
  readonly inheritedSource?: SettingSource;
  /**
   * Where in a YAML file the value was written (YAML sources), looked up when asked: that costs a
   * second parse of the file. A function, not a getter: a getter on each of the tens of thousands
   * of settings a view resolves makes each object several times slower to build.
   */
  readonly locate?: () => SourcePosition | undefined;
  readonly sensitive: boolean;
  /** Extras (`_select`, ...) are handled by Sluice, not passed to the plugin's config. */
  readonly extra: boolean;
}

export interface ResolvedPlugin {
  readonly plugin: PluginEntry;
  readonly environment: string | null;
  /** Regular settings in Meltano's order; environment-only keys last. */
  readonly settings: readonly ResolvedSetting[];
  readonly extras: readonly ResolvedSetting[];
  readonly env: EnvLayers;
  readonly naming: NamingPlugin;
}

interface RawValue {
  readonly value: YamlValue;
  readonly source: SettingSource;
  readonly envVar?: string;
  /** Where the value was written; computed only when a message needs it (it costs a second parse). */
  readonly locate?: () => SourcePosition | undefined;
  readonly expandable: boolean;
  readonly inheritedFrom?: string;
  readonly inheritedSource?: SettingSource;
}

/** The namespace Meltano gives a plugin: its own, or the name with `_` for `-` (meltano-semantics §1.2). */
export function pluginNamespace(plugin: PluginEntry): string {
  return plugin.namespace ?? plugin.name.replace(/-/g, '_');
}

function namingFor(project: Project, plugin: PluginEntry): NamingPlugin {
  const parentPrefixes: string[] = [];
  let parent =
    plugin.inheritFrom !== undefined ? findPlugin(project, plugin.type, plugin.inheritFrom) : undefined;
  while (parent) {
    parentPrefixes.push(...ownPrefixes({ name: parent.name, namespace: pluginNamespace(parent) }));
    parent =
      parent.inheritFrom !== undefined ? findPlugin(project, parent.type, parent.inheritFrom) : undefined;
  }
  return {
    name: plugin.name,
    namespace: pluginNamespace(plugin),
    inherits: plugin.inheritFrom !== undefined,
    verb: PLUGIN_TYPES[plugin.type].verb,
    parentPrefixes,
  };
}

/**
 * Resolves every setting of a plugin for an environment (or none), with the source of each value:
 * env vars and `env:` blocks > `.env` > the environment's config > base config > parent plugin >
 * default; the first non-null value wins; YAML and default values are expanded, then cast.
 */
export function resolvePlugin(
  project: Project,
  environment: Environment | null,
  plugin: PluginEntry,
  runtime: RuntimeEnv,
): ResolvedPlugin {
  const naming = namingFor(project, plugin);
  const env = buildEnvLayers(project, environment, plugin, naming.namespace, runtime);
  const resolver = new PluginResolver(project, environment, plugin, env, runtime);
  const settings = resolver.definitions.settings.map((d) => resolver.resolve(d, false));
  const extras = resolver.definitions.extras.map((d) => resolver.resolve(d, true));
  return { plugin, environment: environment?.name ?? null, settings, extras, env, naming };
}

/** The resolved value of one of a plugin's extras (`_catalog`, `_select`, ...); undefined when unset. */
export function extraValue(resolved: ResolvedPlugin, name: string): YamlValue | undefined {
  return resolved.extras.find((s) => s.name === name)?.value ?? undefined;
}

class PluginResolver {
  readonly definitions;
  readonly naming: NamingPlugin;
  private readonly entry: EnvironmentPluginEntry | undefined;
  private readonly baseFlat: Readonly<Record<string, YamlValue>>;
  private readonly envFlat: Readonly<Record<string, YamlValue>> | undefined;
  private readonly memo = new Map<string, ResolvedSetting>();
  private parentResolver: PluginResolver | null | undefined;
  private extrasEnv: EnvLookup | undefined;
  private nested: Map<string, SettingDefinition[]> | undefined;
  private readonly ownVariables = new Map<EnvMap, boolean>();

  constructor(
    private readonly project: Project,
    private readonly environment: Environment | null,
    private readonly plugin: PluginEntry,
    private readonly env: EnvLayers,
    private readonly runtime: RuntimeEnv,
  ) {
    this.entry = environment ? findEnvironmentEntry(environment, plugin.type, plugin.name) : undefined;
    this.definitions = pluginSettingDefinitions(project, plugin, this.entry);
    this.naming = namingFor(project, plugin);
    this.baseFlat = flatStore(plugin);
    this.envFlat = this.entry ? flatStore(this.entry) : undefined;
  }

  private get parent(): PluginResolver | null {
    if (this.parentResolver === undefined) {
      const parent =
        this.plugin.inheritFrom !== undefined
          ? findPlugin(this.project, this.plugin.type, this.plugin.inheritFrom)
          : undefined;
      // Meltano resolves the parent with the child's variables (meltano-semantics §4.9).
      this.parentResolver = parent
        ? new PluginResolver(this.project, this.environment, parent, this.env, this.runtime)
        : null;
    }
    return this.parentResolver;
  }

  private fromVariables(
    def: SettingDefinition,
    vars: EnvMap,
    source: 'env' | 'dotenv',
  ): RawValue | undefined {
    const literalAliases = !this.naming.inherits && (def.envAliases?.length ?? 0) > 0;
    if (!literalAliases && !this.holdsOwnVariables(vars)) return undefined;
    const found = readEnvVars(this.naming, def).filter((v) => vars[v.name] !== undefined);
    if (found.length === 0) return undefined;
    if (found.length > 1) {
      const names = found.map((f) => f.name);
      const values = new Set(found.map((f) => vars[f.name]));
      const where = source === 'env' ? 'the environment' : '.env';
      throw new SluiceError(
        'setting_conflict',
        values.size > 1
          ? `Conflicting values for setting '${def.name}' of ${this.plugin.name} in ${where}: ${names.join(', ')}. Keep one of these variables.`
          : `Setting '${def.name}' of ${this.plugin.name} is set by several variables in ${where}: ${names.join(', ')}. Keep one of them.`,
        { setting: def.name, variables: names },
      );
    }
    const [{ name, negated }] = found as [{ name: string; negated: boolean }];
    const text = vars[name] as string;
    const value = negated ? !['true', '1', 'yes', 'on'].includes(text.toLowerCase()) : text;
    return { value, source, envVar: name, expandable: false };
  }

  /**
   * Whether `vars` has any variable named with one of the plugin's own prefixes (`TAP_X_...`), the
   * only names a setting without literal `env_aliases` reads. Usually none: checking once per
   * variable map spares computing every setting's variable names.
   */
  private holdsOwnVariables(vars: EnvMap): boolean {
    let holds = this.ownVariables.get(vars);
    if (holds === undefined) {
      const prefixes = ownPrefixes(this.naming).map((prefix) => `${toEnvVar(prefix)}_`);
      holds = Object.keys(vars).some(
        (name) => vars[name] !== undefined && prefixes.some((prefix) => name.startsWith(prefix)),
      );
      this.ownVariables.set(vars, holds);
    }
    return holds;
  }

  private fromYaml(
    def: SettingDefinition,
    flat: Readonly<Record<string, YamlValue>>,
    source: 'environment' | 'meltano_yml',
  ): RawValue | undefined {
    const locate = source === 'environment' ? this.entry?.locateConfig : this.plugin.locateConfig;
    const key = def.aliases?.length ? this.writtenKey(def, flat, locate) : def.name;
    if (key === undefined || flat[key] === undefined || flat[key] === null) return undefined;
    let located: SourcePosition | undefined;
    let searched = false;
    const where = () => {
      if (!searched) {
        located = locate?.(key);
        searched = true;
      }
      return located;
    };
    return { value: flat[key] as YamlValue, source, locate: where, expandable: true };
  }

  /** Which of a setting's names (its own or an alias) holds its value; several with different values conflict. */
  private writtenKey(
    def: SettingDefinition,
    flat: Readonly<Record<string, YamlValue>>,
    locate: ((flatKey: string) => SourcePosition | undefined) | undefined,
  ): string | undefined {
    const hits = [def.name, ...(def.aliases ?? [])].filter((k) => flat[k] !== undefined && flat[k] !== null);
    const distinct = new Set(hits.map((k) => JSON.stringify(flat[k])));
    if (distinct.size > 1) {
      const at = locate?.(hits[1] as string);
      throw new SluiceError(
        'setting_conflict',
        `${at ? `${formatPosition(at)}: ` : ''}setting '${def.name}' of ${this.plugin.name} is written under several names with different values: ${hits.join(', ')}. Keep one.`,
        { setting: def.name, keys: hits },
      );
    }
    return hits[0];
  }

  /** The store walk: the first store with a non-null value wins. */
  raw(def: SettingDefinition): RawValue {
    const found =
      this.fromVariables(def, this.env.store, 'env') ??
      this.fromVariables(def, this.runtime.dotenv, 'dotenv') ??
      (this.envFlat ? this.fromYaml(def, this.envFlat, 'environment') : undefined) ??
      this.fromYaml(def, this.baseFlat, 'meltano_yml') ??
      this.fromParent(def);
    if (found) return found;
    return { value: def.value ?? null, source: 'default', expandable: true };
  }

  private fromParent(def: SettingDefinition): RawValue | undefined {
    const parent = this.parent;
    if (!parent) return undefined;
    const inherited = parent.raw(def);
    if (inherited.value === null || inherited.source === 'default') return undefined;
    return {
      ...inherited,
      source: 'inherited',
      inheritedFrom: inherited.inheritedFrom ?? parent.plugin.name,
      inheritedSource: inherited.inheritedSource ?? inherited.source,
    };
  }

  /** Variables that extras may reference: the plugin's own settings as `TAP_X_FOO` (meltano-semantics §6.2). */
  private expandableFor(extra: boolean): EnvMap | EnvLookup {
    if (!extra) return this.env.expandable;
    if (!this.extrasEnv) {
      const settings = this.definitions.settings.map((definition) => ({
        definition,
        value: this.resolve(definition, false).value,
      }));
      const fromSettings = settingVariables(this.naming, settings);
      const expandable = this.env.expandable;
      this.extrasEnv = (name) => fromSettings(name) ?? expandable[name];
    }
    return this.extrasEnv;
  }

  resolve(def: SettingDefinition, extra: boolean): ResolvedSetting {
    const cached = this.memo.get(def.name);
    if (cached) return cached;
    const raw = this.raw(def);
    let value = raw.value;
    let unexpandedValue: YamlValue | undefined;
    let source = raw.source;
    // Only text with a `$` and collections can expand: the rest (most values) skip the work.
    const expandable = typeof value === 'object' || (typeof value === 'string' && value.includes('$'));
    if (raw.expandable && value !== null && expandable) {
      const expanded = expandSettingValue(value, this.expandableFor(extra), {
        strict: this.runtime.strict,
        context: () => {
          const at = raw.locate?.();
          return `setting '${def.name}' of ${this.plugin.name}${at ? ` (${formatPosition(at)})` : ''}`;
        },
      });
      if (JSON.stringify(expanded) !== JSON.stringify(value)) unexpandedValue = value;
      value = expanded;
    }
    if (def.kind === 'object' && (source === 'default' || source === 'inherited')) {
      const aggregated = this.aggregate(def, extra);
      if (aggregated) {
        value = aggregated.value;
        source = aggregated.source;
      }
    }
    const origin = () => {
      const position = raw.locate?.();
      if (position) return formatPosition(position);
      if (raw.envVar) return `${raw.envVar} (${source === 'dotenv' ? '.env' : 'environment variable'})`;
      return this.plugin.name;
    };
    const resolved: ResolvedSetting = {
      definition: def,
      name: def.name,
      value: castValue(def, value, origin),
      source,
      envVar: raw.envVar,
      unexpandedValue,
      inheritedFrom: raw.inheritedFrom,
      inheritedSource: raw.inheritedSource,
      locate: raw.locate,
      sensitive: isSensitive(def),
      extra,
    };
    this.memo.set(def.name, resolved);
    return resolved;
  }

  /**
   * The definitions whose names start with `key.`, in definition order. Indexed once, by every
   * dotted prefix that names an object setting: scanning every definition for each object setting
   * would make a plugin with many of them quadratic.
   */
  private nestedUnder(key: string): readonly SettingDefinition[] {
    if (!this.nested) {
      const all = [...this.definitions.settings, ...this.definitions.extras];
      const objects = new Set(
        all.filter((d) => d.kind === 'object').flatMap((d) => [d.name, ...(d.aliases ?? [])]),
      );
      const index = new Map<string, SettingDefinition[]>();
      for (const definition of all) {
        const name = definition.name;
        for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
          const prefix = name.slice(0, dot);
          if (!objects.has(prefix)) continue;
          const list = index.get(prefix);
          if (list) list.push(definition);
          else index.set(prefix, [definition]);
        }
      }
      this.nested = index;
    }
    return this.nested.get(key) ?? [];
  }

  /** An object setting with no whole value gathers its nested keys from every store (meltano-semantics §5.3). */
  private aggregate(
    def: SettingDefinition,
    extra: boolean,
  ): { value: YamlValue; source: SettingSource } | undefined {
    const obj: Record<string, YamlValue> = {};
    let best: SettingSource | undefined;
    for (const key of [def.name, ...(def.aliases ?? [])]) {
      for (const nested of this.nestedUnder(key)) {
        const rest = nested.name.slice(key.length + 1);
        if (rest in obj) continue;
        const r = this.resolve(nested, extra);
        obj[rest] = r.value;
        if (best === undefined || SETTING_SOURCES.indexOf(r.source) < SETTING_SOURCES.indexOf(best))
          best = r.source;
      }
    }
    if (best === undefined) return undefined;
    return { value: nestObject(obj), source: best };
  }
}
