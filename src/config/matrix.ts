import { PROJECT_LIMITS, projectTooLarge } from '../project/limits.js';
import type { Environment, PluginEntry, Project, YamlValue } from '../project/model.js';
import type { RuntimeEnv } from './env-layers.js';
import { redactedValue } from './process.js';
import { type ResolvedSetting, resolvePlugin, type SettingSource } from './resolve.js';
import { findEnvironmentEntry, pluginSettingDefinitions } from './setting-definitions.js';

export interface MatrixCell {
  readonly value: YamlValue;
  readonly source: SettingSource;
  readonly setting: ResolvedSetting;
}

export interface ConfigMatrix {
  readonly plugin: PluginEntry;
  /** Column names: each environment, in file order. */
  readonly environments: readonly string[];
  readonly rows: readonly {
    readonly name: string;
    readonly cells: Readonly<Record<string, MatrixCell | undefined>>;
    /** True when the value is not the same in every environment. */
    readonly differs: boolean;
  }[];
}

/**
 * Refuses a configuration view that would resolve more than `viewValues` settings (extras
 * included, in every environment, plus one per column): counted from the setting definitions
 * alone, before any is resolved, so that a view too large to compute costs nothing.
 */
export function checkViewSize(project: Project, plugins: readonly PluginEntry[]): void {
  const columns: (Environment | null)[] =
    project.environments.length > 0 ? [...project.environments] : [null];
  let values = 0;
  for (const plugin of plugins) {
    for (const environment of columns) {
      const entry = environment ? findEnvironmentEntry(environment, plugin.type, plugin.name) : undefined;
      const { settings, extras } = pluginSettingDefinitions(project, plugin, entry);
      values += 1 + settings.length + extras.length;
      if (values > PROJECT_LIMITS.viewValues) throw projectTooLarge('viewValues', null, undefined);
    }
  }
}

/**
 * Every setting of a plugin resolved in every environment side by side: the view to read before
 * promoting, since it shows what each environment overrides. Sensitive values are masked with
 * `mask` (null shows them). Linear in settings times environments.
 */
export function configMatrix(
  project: Project,
  plugin: PluginEntry,
  runtime: RuntimeEnv,
  mask: string | null,
): ConfigMatrix {
  const columns: (Environment | null)[] =
    project.environments.length > 0 ? [...project.environments] : [null];
  const names = new Set<string>();
  const resolved = columns.map((environment) => {
    const r = resolvePlugin(project, environment, plugin, runtime);
    for (const s of r.settings) names.add(s.name);
    return new Map(r.settings.map((s) => [s.name, s]));
  });
  const label = (e: Environment | null) => e?.name ?? '(none)';
  const rows = [...names].map((name) => {
    const cells: Record<string, MatrixCell | undefined> = {};
    columns.forEach((environment, i) => {
      const setting = resolved[i]?.get(name);
      cells[label(environment)] = setting
        ? { value: redactedValue(setting, mask), source: setting.source, setting }
        : undefined;
    });
    const distinct = new Set(columns.map((_, i) => JSON.stringify(resolved[i]?.get(name)?.value ?? null)));
    return { name, cells, differs: distinct.size > 1 };
  });
  return { plugin, environments: columns.map(label), rows };
}
