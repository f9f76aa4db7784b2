import type { EnvBlock, Environment, PluginEntry, Project, YamlValue } from '../project/model.js';
import { PLUGIN_TYPES } from '../project/plugin-types.js';
import { toEnvVar } from './env-var-names.js';
import { type EnvMap, expandString } from './expand.js';
import { flatten, isPlainObject } from './flatten.js';
import { findEnvironmentEntry, findPlugin } from './setting-definitions.js';

/** What resolution reads from outside the project: the shell's variables and `.env`. */
export interface RuntimeEnv {
  readonly shell: EnvMap;
  readonly dotenv: EnvMap;
  /** `MELTANO_USER_AGENT`, e.g. `sluice/0.1.0`. */
  readonly userAgent?: string;
  /** Meltano's `ff.strict_env_var_mode`: a missing variable is an error. */
  readonly strict?: boolean;
  /**
   * In a run, what the plugins before this one export: each plugin's `MELTANO_<TYPE>_*` and setting
   * variables pass on to the next (so a loader's config can use `$MELTANO_EXTRACT__LOAD_SCHEMA`).
   * It beats the shell and Meltano's own variables, as Meltano's `env_override` does.
   */
  readonly pipeline?: EnvMap;
}

/** The variables a plugin's settings see (meltano-semantics §4.5, with Sluice's layering). */
export interface EnvLayers {
  /** Every `env:` block that applies to the plugin, expanded, later layers overriding earlier ones. */
  readonly blocks: Readonly<Record<string, string>>;
  /** Each block as expanded, in order: what each layer saw and gave (for `--print-var`-style debugging). */
  readonly steps: readonly EnvLayerStep[];
  /**
   * The blocks after the top-level one (environment, plugin, environment-plugin), merged: in a
   * plugin's process they beat its setting variables, while the top-level block does not.
   */
  readonly scopedBlocks: Readonly<Record<string, string>>;
  /**
   * The `env` store: the shell, Meltano's own variables, the top-level block, the run's earlier
   * plugins, the plugin's `MELTANO_<TYPE>_*`, then the other blocks (Meltano's `env_override` order).
   */
  readonly store: Readonly<Record<string, string>>;
  /** What `$VAR` in configuration can reference: `.env`, then the store on top. */
  readonly expandable: Readonly<Record<string, string>>;
}

export interface EnvLayerStep {
  /** `top-level`, `environment:prod`, `plugin:tap-x`, `environment-plugin:tap-x`. */
  readonly layer: string;
  readonly values: Readonly<Record<string, string>>;
}

/** Project settings that Meltano exports as `MELTANO_<SETTING>` (flattened: `MELTANO_STATE_BACKEND_URI`). */
const PROJECT_SETTING_KEYS = [
  'default_environment',
  'project_id',
  'send_anonymous_usage_stats',
  'database_uri',
  'state_backend',
  'cli',
  'elt',
  'venv',
  'python',
  'project_readonly',
  'ff',
  'disable_tracking',
  'hub_url',
  'hub_api_root',
  'auto_install',
  'snowplow',
];

/** Meltano's `stringify_value` for variables: strings as they are, other values as JSON. */
export function stringifyForEnv(value: YamlValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Variables Meltano itself provides to expansion and to plugins. */
export function meltanoVariables(
  project: Project,
  environment: Environment | null,
  runtime: RuntimeEnv,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of PROJECT_SETTING_KEYS) {
    const value = project.extras[key];
    if (value === undefined || value === null) continue;
    const flat = isPlainObject(value) ? flatten(value, `${key}.`) : { [key]: value };
    for (const [name, v] of Object.entries(flat))
      if (v !== null) out[toEnvVar('MELTANO', name)] = stringifyForEnv(v);
  }
  out.MELTANO_PROJECT_ROOT = project.root;
  out.MELTANO_SYS_DIR_ROOT = `${project.root}/.meltano`;
  out.MELTANO_ENVIRONMENT = environment?.name ?? '';
  out.MELTANO_USER_AGENT = runtime.userAgent ?? 'sluice';
  return out;
}

/** `MELTANO_EXTRACTOR_NAME`, `_NAMESPACE`, `_VARIANT` for one plugin. */
export function pluginInfoVariables(plugin: PluginEntry, namespace: string): Record<string, string> {
  const singular = PLUGIN_TYPES[plugin.type].singular;
  const out: Record<string, string> = {
    [`MELTANO_${singular}_NAME`]: plugin.name,
    [`MELTANO_${singular}_NAMESPACE`]: namespace,
  };
  if (plugin.variant !== undefined) out[`MELTANO_${singular}_VARIANT`] = plugin.variant;
  return out;
}

function ancestors(project: Project, plugin: PluginEntry): PluginEntry[] {
  const chain: PluginEntry[] = [];
  let current: PluginEntry | undefined = plugin;
  while (current) {
    chain.unshift(current);
    current =
      current.inheritFrom !== undefined ? findPlugin(project, current.type, current.inheritFrom) : undefined;
  }
  return chain;
}

/**
 * The `env:` blocks that apply to a plugin, in Sluice's order: top-level, environment, plugin
 * (ancestors first), environment-plugin (ancestors first). Each layer is expanded against the
 * layers before it, so `STACKED: ${STACKED}4` sees the value the environment layer gave. This
 * deliberately differs from Meltano, which expands some blocks against the shell only and uses
 * others raw (meltano-semantics §6.2, §6.3; bug #7023).
 */
export function envBlockLayers(
  project: Project,
  environment: Environment | null,
  plugin: PluginEntry | null,
): { readonly layer: string; readonly block: EnvBlock }[] {
  const layers = [{ layer: 'top-level', block: project.env }];
  if (environment) layers.push({ layer: `environment:${environment.name}`, block: environment.env });
  const chain = plugin ? ancestors(project, plugin) : [];
  for (const p of chain) layers.push({ layer: `plugin:${p.name}`, block: p.env });
  if (environment) {
    for (const p of chain) {
      const entry = findEnvironmentEntry(environment, p.type, p.name);
      if (entry) layers.push({ layer: `environment-plugin:${p.name}`, block: entry.env });
    }
  }
  return layers;
}

export function buildEnvLayers(
  project: Project,
  environment: Environment | null,
  plugin: PluginEntry | null,
  namespace: string | null,
  runtime: RuntimeEnv,
): EnvLayers {
  const meltano = meltanoVariables(project, environment, runtime);
  const info = plugin && namespace !== null ? pluginInfoVariables(plugin, namespace) : {};
  const pipeline = definedOnly(runtime.pipeline ?? {});
  const base: Record<string, string> = {
    ...definedOnly(runtime.dotenv),
    ...definedOnly(runtime.shell),
    ...meltano,
    ...pipeline,
    ...info,
  };
  const blocks: Record<string, string> = {};
  const steps: EnvLayerStep[] = [];
  for (const { layer, block } of envBlockLayers(project, environment, plugin)) {
    const visible = { ...base, ...blocks };
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(block)) {
      if (value === null) continue;
      values[key] = expandString(value, visible, {
        strict: runtime.strict,
        context: `the env: entry ${key} (${layer})`,
      });
    }
    Object.assign(blocks, values);
    steps.push({ layer, values });
  }
  const [topLevel, ...scoped] = steps;
  const scopedBlocks: Record<string, string> = {};
  for (const step of scoped) Object.assign(scopedBlocks, step.values);
  const store = {
    ...definedOnly(runtime.shell),
    ...meltano,
    ...topLevel?.values,
    ...pipeline,
    ...info,
    ...scopedBlocks,
  };
  return { blocks, steps, scopedBlocks, store, expandable: { ...definedOnly(runtime.dotenv), ...store } };
}

function definedOnly(env: EnvMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
