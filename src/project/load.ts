import { errorAt, formatPosition, SluiceError, type SourcePosition } from '../errors.js';
import { PROJECT_FILE } from './find-root.js';
import { expandIncludePaths } from './include-paths.js';
import {
  checkSettingName,
  PROJECT_LIMITS,
  type ProjectBudget,
  projectBudget,
  projectTooLarge,
} from './limits.js';
import { readLockedDefinitions } from './lock-files.js';
import type { EnvBlock, PluginEntry, Project, ProjectWarning, YamlMap, YamlValue } from './model.js';
import { describePluginType } from './plugin-types.js';
import type { ProjectSource } from './project-source.js';
import { type ProjectFileContents, readProjectFile } from './read-project-file.js';
import { parseYamlFile } from './yaml-file.js';

/**
 * Loads a Meltano project: `meltano.yml`, then every file its `include_paths` reach, merged as
 * Meltano merges them (lists concatenated, mappings merged, later scalars win), then checked:
 * duplicate names, `inherit_from` targets and cycles. Unknown keys are kept, never rejected.
 * A project over one of `PROJECT_LIMITS` is refused (`project_too_large`) as soon as it passes it.
 */
export function loadProject(projectSource: ProjectSource): Project {
  const budget = projectBudget();
  const source = chargedSource(projectSource, budget);
  const rootText = source.read(PROJECT_FILE);
  if (rootText === undefined) {
    throw new SluiceError('project_not_found', `No ${PROJECT_FILE} in ${source.root}.`, {
      root: source.root,
    });
  }
  const rootContents = readProjectFile(parsed(source, budget, PROJECT_FILE, rootText), PROJECT_FILE);
  const includes = rootContents.includePaths
    ? expandIncludePaths(
        source,
        PROJECT_FILE,
        rootContents.includePaths.patterns,
        rootContents.includePaths.positions,
      )
    : { files: [], warnings: [] };
  const included = includes.files.map((path) =>
    readProjectFile(parsed(source, budget, path, source.read(path) ?? ''), path),
  );
  const all = [rootContents, ...included];
  const warnings: ProjectWarning[] = [...includes.warnings];

  const plugins = all.flatMap((f) => f.plugins);
  const environments = all.flatMap((f) => f.environments);
  const schedules = all.flatMap((f) => f.schedules);
  const jobs = all.flatMap((f) => f.jobs);
  rejectDuplicates(
    plugins.map((p) => withKey(p, `${p.type}/${p.name}`, `${describePluginType(p.type)} '${p.name}'`)),
  );
  rejectDuplicates(environments.map((e) => withKey(e, e.name, `environment '${e.name}'`)));
  rejectDuplicates(schedules.map((s) => withKey(s, s.name, `schedule '${s.name}'`)));
  rejectDuplicates(jobs.map((j) => withKey(j, j.name, `job '${j.name}'`)));

  for (const plugin of plugins) {
    for (const setting of plugin.settings) {
      for (const name of [setting.name, ...(setting.aliases ?? [])]) {
        // The position costs a second parse: only read when the name is refused.
        if (name.split('.').length > PROJECT_LIMITS.depth) checkSettingName(name, setting.position);
      }
    }
  }

  const byKey = new Map(plugins.map((p) => [`${p.type}/${p.name}`, p]));
  for (const plugin of plugins) {
    if (plugin.inheritFrom === undefined) continue;
    const parent = byKey.get(`${plugin.type}/${plugin.inheritFrom}`);
    if (!parent) {
      const known = plugins.filter((p) => p.type === plugin.type).map((p) => p.name);
      throw errorAt(
        'inheritance_invalid',
        plugin.locateKey('inherit_from'),
        `${describePluginType(plugin.type)} '${plugin.name}' inherits from '${plugin.inheritFrom}', which is not defined under plugins.${plugin.type}. Define it, or fix \`inherit_from\`${known.length ? ` (defined: ${known.join(', ')})` : ''}.`,
      );
    }
    const chain = [plugin.name];
    for (
      let current: PluginEntry | undefined = parent;
      current;
      current = current.inheritFrom ? byKey.get(`${current.type}/${current.inheritFrom}`) : undefined
    ) {
      if (current.name === plugin.name) {
        throw errorAt(
          'inheritance_invalid',
          plugin.position,
          `${describePluginType(plugin.type)} '${plugin.name}' inherits from itself through ${[...chain, plugin.name].join(' -> ')}. Break the cycle.`,
        );
      }
      chain.push(current.name);
      // Also keeps this walk, run for every plugin, linear in the number of plugins.
      if (chain.length > PROJECT_LIMITS.inheritance) {
        throw projectTooLarge('inheritance', null, plugin.locateKey('inherit_from'), `from '${plugin.name}'`);
      }
    }
  }

  for (const environment of environments) {
    for (const entry of environment.plugins) {
      if (!byKey.has(`${entry.type}/${entry.name}`)) {
        warnings.push({
          environment: environment.name,
          get position() {
            return entry.position;
          },
          message: `environment '${environment.name}' configures ${describePluginType(entry.type)} '${entry.name}', which is not defined under plugins.${entry.type}; the entry is ignored.`,
        });
      }
    }
    for (const key of Object.keys(environment.otherConfig)) {
      warnings.push({
        environment: environment.name,
        get position() {
          return environment.position;
        },
        message: `environment '${environment.name}' sets config.${key}, which cannot be set per environment; it is ignored.`,
      });
    }
  }

  const rest = all.reduce<YamlMap>((acc, f) => deepMerge(acc, f.rest) as YamlMap, {});
  return {
    root: source.root,
    files: [PROJECT_FILE, ...includes.files],
    defaultEnvironment: stringOrNull(rest.default_environment),
    projectId: stringOrNull(rest.project_id),
    env: mergeEnv(all),
    plugins,
    environments,
    schedules,
    jobs,
    extras: rest,
    lockedDefinitions: readLockedDefinitions(source, plugins, budget),
    warnings,
  };
}

/** The source with every file it reads charged to the project's budget (bytes per file and in all). */
function chargedSource(source: ProjectSource, budget: ProjectBudget): ProjectSource {
  return {
    root: source.root,
    read(path) {
      const text = source.read(path);
      if (text !== undefined) budget.chargeFile(source.display(path), text);
      return text;
    },
    glob: (pattern) => source.glob(pattern),
    list: (dir) => source.list(dir),
    checkInclude: (path) => source.checkInclude(path),
    display: (path) => source.display(path),
  };
}

/** Parses one project file and charges its keys to the project. */
function parsed(source: ProjectSource, budget: ProjectBudget, path: string, text: string) {
  const yaml = parseYamlFile(source.display(path), text);
  budget.chargeKeys(yaml.path, yaml.keys);
  return yaml;
}

function stringOrNull(value: YamlValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function mergeEnv(files: readonly ProjectFileContents[]): EnvBlock {
  return Object.assign({}, ...files.map((f) => f.env));
}

/** Pairs an entity with its duplicate key, keeping its position lazy. */
function withKey(entity: { readonly position: SourcePosition }, key: string, label: string) {
  return {
    key,
    label,
    get position() {
      return entity.position;
    },
  };
}

/** Fails on the second entry with a key already seen. Positions are read only then: they cost a second parse. */
function rejectDuplicates(
  entries: readonly { key: string; label: string; readonly position: SourcePosition }[],
): void {
  const first = new Map<string, { readonly position: SourcePosition }>();
  for (const entry of entries) {
    const earlier = first.get(entry.key);
    if (earlier) {
      throw errorAt(
        'duplicate_name',
        entry.position,
        `${entry.label} is defined twice: here and at ${formatPosition(earlier.position)}. Remove or rename one of them.`,
        { first: earlier.position },
      );
    }
    first.set(entry.key, entry);
  }
}

/** Meltano's `deep_merge`: mappings merge recursively, lists concatenate, other values: later wins. */
export function deepMerge(a: YamlValue | undefined, b: YamlValue): YamlValue {
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (isMapping(a) && isMapping(b)) {
    const out: Record<string, YamlValue> = { ...a };
    for (const [key, value] of Object.entries(b)) out[key] = key in out ? deepMerge(out[key], value) : value;
    return out;
  }
  return b;
}

function isMapping(value: YamlValue | undefined): value is YamlMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
