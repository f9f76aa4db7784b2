import { PROJECT_LIMITS, projectTooLarge } from '../project/limits.js';
import type { Environment, PluginEntry, Project, YamlValue } from '../project/model.js';
import type { RuntimeEnv } from './env-layers.js';
import { redactedValue } from './process.js';
import { type ResolvedSetting, resolvePlugin, type SettingSource } from './resolve.js';

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
 * How many values configuration views may still compute: one budget is shared by the matrices of
 * one view, which stops as soon as it runs out (`viewValues`), before doing the rest of the work.
 */
export interface ViewBudget {
  values: number;
}

export function viewBudget(): ViewBudget {
  return { values: PROJECT_LIMITS.viewValues };
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
  budget: ViewBudget = viewBudget(),
): ConfigMatrix {
  const columns: (Environment | null)[] =
    project.environments.length > 0 ? [...project.environments] : [null];
  const names = new Set<string>();
  const resolved = columns.map((environment) => {
    const r = resolvePlugin(project, environment, plugin, runtime);
    budget.values -= r.settings.length;
    if (budget.values < 0) throw projectTooLarge('viewValues', null, undefined, `at ${plugin.name}`);
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
