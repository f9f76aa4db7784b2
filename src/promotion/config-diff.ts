import { isDeepStrictEqual } from 'node:util';
import { PRINT_MASK, redactedValue } from '../config/process.js';
import { resolvePlugin } from '../config/resolve.js';
import type { Environment, PluginEntry, Project, YamlValue } from '../project/model.js';

export interface SettingChange {
  readonly name: string;
  readonly before: YamlValue | undefined;
  readonly after: YamlValue | undefined;
  readonly beforeSource?: string;
  readonly afterSource?: string;
}

export interface PluginConfigChange {
  readonly plugin: string;
  readonly type: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly settings: readonly SettingChange[];
}

export interface NamedChange {
  readonly name: string;
  readonly status: 'added' | 'removed' | 'changed';
}

/** What a promotion changes in the configuration pipelines run with, for one environment. */
export interface ConfigDiff {
  readonly environment: string | null;
  readonly plugins: readonly PluginConfigChange[];
  readonly schedules: readonly NamedChange[];
  readonly jobs: readonly NamedChange[];
}

function settingsOf(project: Project, environment: Environment | null, plugin: PluginEntry) {
  const resolved = resolvePlugin(project, environment, plugin, { shell: {}, dotenv: {} });
  return new Map(
    resolved.settings.map((s) => [s.name, { value: redactedValue(s, PRINT_MASK), source: s.source }]),
  );
}

function namedChanges<T extends { name: string; raw: unknown }>(
  before: readonly T[],
  after: readonly T[],
): NamedChange[] {
  const old = new Map(before.map((i) => [i.name, i]));
  const out: NamedChange[] = [];
  for (const item of after) {
    const previous = old.get(item.name);
    if (!previous) out.push({ name: item.name, status: 'added' });
    else if (!isDeepStrictEqual(previous.raw, item.raw)) out.push({ name: item.name, status: 'changed' });
  }
  const names = new Set(after.map((i) => i.name));
  for (const item of before) if (!names.has(item.name)) out.push({ name: item.name, status: 'removed' });
  return out;
}

/**
 * The resolved configuration before and after, setting by setting, in one environment (secrets
 * masked): the change a data engineer reviews before promoting. Resolution sees no server
 * variables, as workspace runs do not.
 */
export function configDiff(before: Project, after: Project, environmentName: string | null): ConfigDiff {
  const envIn = (project: Project) =>
    environmentName ? (project.environments.find((e) => e.name === environmentName) ?? null) : null;
  const plugins: PluginConfigChange[] = [];
  const key = (p: PluginEntry) => `${p.type}/${p.name}`;
  const oldPlugins = new Map(before.plugins.map((p) => [key(p), p]));
  const newPlugins = new Map(after.plugins.map((p) => [key(p), p]));
  for (const plugin of after.plugins) {
    const previous = oldPlugins.get(key(plugin));
    const afterSettings = settingsOf(after, envIn(after), plugin);
    const beforeSettings = previous ? settingsOf(before, envIn(before), previous) : new Map();
    const settings: SettingChange[] = [];
    for (const name of new Set([...beforeSettings.keys(), ...afterSettings.keys()])) {
      const b = beforeSettings.get(name);
      const a = afterSettings.get(name);
      if (isDeepStrictEqual(b?.value ?? null, a?.value ?? null)) continue;
      settings.push({
        name,
        before: b?.value ?? undefined,
        after: a?.value ?? undefined,
        beforeSource: b?.source,
        afterSource: a?.source,
      });
    }
    if (!previous) plugins.push({ plugin: plugin.name, type: plugin.type, status: 'added', settings });
    else if (settings.length > 0)
      plugins.push({ plugin: plugin.name, type: plugin.type, status: 'changed', settings });
  }
  for (const plugin of before.plugins) {
    if (!newPlugins.has(key(plugin)))
      plugins.push({ plugin: plugin.name, type: plugin.type, status: 'removed', settings: [] });
  }
  return {
    environment: environmentName,
    plugins,
    schedules: namedChanges(before.schedules, after.schedules),
    jobs: namedChanges(before.jobs, after.jobs),
  };
}
