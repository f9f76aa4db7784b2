import { pythonStr } from '../config/python-text.js';
import { errorAt, type SourcePosition } from '../errors.js';
import { type EntityKind, entityNameProblem, entityNameRule, quoteEntityName } from './entity-names.js';
import type {
  EnvBlock,
  Environment,
  EnvironmentPluginEntry,
  Job,
  PluginEntry,
  Schedule,
  SettingDefinition,
  SettingKind,
  YamlMap,
  YamlValue,
} from './model.js';
import { isPluginType, PLUGIN_TYPE_NAMES, type PluginType } from './plugin-types.js';
import { describeValue, type ValuePath, type YamlFile } from './yaml-file.js';

/** What one project file (`meltano.yml` or an included file) contributes. */
export interface ProjectFileContents {
  readonly file: string;
  readonly plugins: readonly PluginEntry[];
  readonly environments: readonly Environment[];
  readonly schedules: readonly Schedule[];
  readonly jobs: readonly Job[];
  readonly env: EnvBlock;
  /** Every other top-level key, as written. */
  readonly rest: YamlMap;
  readonly includePaths?: {
    readonly patterns: readonly string[];
    readonly positions: readonly SourcePosition[];
  };
}

/** Plugin keys with a meaning of their own; every other key is an extra (`select`, `metadata`, ...). */
const PLUGIN_KEYS = new Set([
  'name',
  'namespace',
  'inherit_from',
  'variant',
  'pip_url',
  'executable',
  'config',
  'env',
  'settings',
  'settings_group_validation',
  'commands',
  'capabilities',
  'label',
  'logo_url',
  'description',
  'docs',
  'repo',
  'hidden',
  'requires',
  'python',
  'supported_python_versions',
  'keywords',
  'maintenance_status',
  'domain_url',
  'ext_repo',
  'annotations',
  'schedules',
]);

const ENVIRONMENT_KEYS = new Set(['name', 'config', 'env', 'state_id_suffix', 'annotations']);

const SETTING_KINDS: ReadonlySet<string> = new Set<SettingKind>([
  'string',
  'integer',
  'boolean',
  'decimal',
  'array',
  'object',
  'options',
  'date_iso8601',
  'email',
  'file',
  'password',
  'oauth',
  'hidden',
]);

function isMapping(value: unknown): value is YamlMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Finds the written path of a flattened config key: `a.b.c` may be written `a: {b: {c}}`,
 * `a.b: {c}`, or `a: {b.c}` (meltano-semantics §5.1).
 */
function configKeyPath(config: YamlValue, flatKey: string): string[] | undefined {
  if (!isMapping(config)) return undefined;
  if (flatKey in config) return [flatKey];
  for (const key of Object.keys(config)) {
    if (!flatKey.startsWith(`${key}.`)) continue;
    const rest = configKeyPath(config[key] as YamlValue, flatKey.slice(key.length + 1));
    if (rest) return [key, ...rest];
  }
  return undefined;
}

/** Reads the entities of one parsed project file, checking the shape of every key it knows. */
export function readProjectFile(yaml: YamlFile, relPath: string): ProjectFileContents {
  const pos = (path: ValuePath, key = false) => yaml.positionOf(path, { key });
  const fail = (path: ValuePath, message: string, key = false): never => {
    throw errorAt('project_invalid', pos(path, key), message);
  };
  /** A lazily computed position: the second parse runs only if a message reads it. */
  const lazyPosition = <T extends object>(
    target: T,
    path: ValuePath,
  ): T & { readonly position: SourcePosition } => {
    const position = memoize(() => pos(path));
    Object.defineProperty(target, 'position', { enumerable: true, get: position });
    return target as T & { readonly position: SourcePosition };
  };

  const mapping = (value: YamlValue | undefined, path: ValuePath, what: string): YamlMap => {
    if (value === null || value === undefined) return {};
    if (!isMapping(value)) fail(path, `${what} must be a mapping, found ${describeValue(value)}.`);
    return value as YamlMap;
  };
  const list = (value: YamlValue | undefined, path: ValuePath, what: string): readonly YamlValue[] => {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) fail(path, `${what} must be a list, found ${describeValue(value)}.`);
    return value as readonly YamlValue[];
  };
  const optionalString = (
    value: YamlValue | undefined,
    path: ValuePath,
    what: string,
  ): string | undefined => {
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return fail(path, `${what} must be a string, found ${describeValue(value)}.`);
  };
  const requiredName = (value: YamlValue, path: ValuePath, what: string): string => {
    const entry = mapping(value, path, what);
    const name = entry.name;
    if (typeof name !== 'string' || name === '') {
      fail(
        name === undefined ? path : [...path, 'name'],
        `${what} needs a \`name\` (a non-empty string), found ${describeValue(name)}.`,
      );
    }
    return name as string;
  };
  /** `requiredName`, checked against the naming rules of its kind (`entity-names.ts`). */
  const entityName = (value: YamlValue, path: ValuePath, what: string, kind: EntityKind): string => {
    const name = requiredName(value, path, what);
    const problem = entityNameProblem(kind, name);
    if (problem !== undefined) {
      fail(
        [...path, 'name'],
        `the ${kind} name ${quoteEntityName(name)} ${problem}. ${entityNameRule(kind)}`,
      );
    }
    return name;
  };
  /** `env:` blocks: values become strings as Meltano's `str(value)` does; null stays null. */
  const envBlock = (value: YamlValue | undefined, path: ValuePath, what: string): EnvBlock => {
    const env: Record<string, string | null> = {};
    for (const [key, v] of Object.entries(mapping(value, path, what)))
      env[key] = v === null ? null : pythonStr(v);
    return env;
  };

  const setting = (value: YamlValue, path: ValuePath, owner: string): SettingDefinition => {
    const name = requiredName(value, path, `A setting of ${owner}`);
    const raw = value as YamlMap;
    const kind = raw.kind ?? undefined;
    if (kind !== undefined && kind !== null && (typeof kind !== 'string' || !SETTING_KINDS.has(kind))) {
      fail(
        [...path, 'kind'],
        `setting '${name}' of ${owner} has unknown kind ${JSON.stringify(kind)}. Valid kinds: ${[...SETTING_KINDS].join(', ')}.`,
      );
    }
    const strings = (key: string): string[] | undefined => {
      const v = raw[key];
      if (v === undefined || v === null) return undefined;
      const items = Array.isArray(v) ? v : [v];
      if (!items.every((i) => typeof i === 'string'))
        fail([...path, key], `\`${key}\` of setting '${name}' must be a list of strings.`);
      return items as string[];
    };
    const options = Array.isArray(raw.options)
      ? raw.options.map((o) => (isMapping(o) ? (o as { value: YamlValue; label?: string }) : { value: o }))
      : undefined;
    return lazyPosition(
      {
        name,
        kind: (kind ?? undefined) as SettingKind | undefined,
        value: raw.value,
        aliases: strings('aliases'),
        env: typeof raw.env === 'string' ? raw.env : undefined,
        envAliases: strings('env_aliases'),
        sensitive: raw.sensitive === true ? true : undefined,
        hidden: raw.hidden === true ? true : undefined,
        options,
        label: typeof raw.label === 'string' ? raw.label : undefined,
        description: typeof raw.description === 'string' ? raw.description : undefined,
      },
      path,
    );
  };

  const plugin = (type: PluginType, value: YamlValue, path: ValuePath): PluginEntry => {
    const what = `A plugin under \`plugins.${type}\``;
    const name = entityName(value, path, what, 'plugin');
    const raw = value as YamlMap;
    const extras: Record<string, YamlValue> = {};
    for (const [key, v] of Object.entries(raw)) if (!PLUGIN_KEYS.has(key)) extras[key] = v;
    const settings = list(raw.settings, [...path, 'settings'], `The \`settings\` of ${type} '${name}'`).map(
      (s, i) => setting(s, [...path, 'settings', i], `${type} '${name}'`),
    );
    const config = mapping(raw.config, [...path, 'config'], `The \`config\` of ${type} '${name}'`);
    const inheritFrom = optionalString(raw.inherit_from, [...path, 'inherit_from'], '`inherit_from`');
    const capabilities =
      raw.capabilities === undefined || raw.capabilities === null
        ? undefined
        : list(raw.capabilities, [...path, 'capabilities'], `The \`capabilities\` of ${type} '${name}'`).map(
            (c, i) =>
              typeof c === 'string'
                ? c
                : fail(
                    [...path, 'capabilities', i],
                    `a capability of ${type} '${name}' must be a name such as catalog, discover or state, found ${describeValue(c)}.`,
                  ),
          );
    return lazyPosition(
      {
        type,
        name,
        namespace: optionalString(raw.namespace, [...path, 'namespace'], '`namespace`'),
        inheritFrom: inheritFrom === name ? undefined : inheritFrom,
        variant: optionalString(raw.variant, [...path, 'variant'], '`variant`'),
        pipUrl: optionalString(raw.pip_url, [...path, 'pip_url'], '`pip_url`'),
        executable: optionalString(raw.executable, [...path, 'executable'], '`executable`'),
        ...(capabilities ? { capabilities } : {}),
        settings,
        config,
        extras,
        env: envBlock(raw.env, [...path, 'env'], `The \`env\` of ${type} '${name}'`),
        raw,
        file: relPath,
        locateKey: (key: string) => pos([...path, key]),
        locateConfig: (flatKey: string) => {
          const keyPath = configKeyPath(config, flatKey);
          return keyPath ? pos([...path, 'config', ...keyPath]) : undefined;
        },
      },
      path,
    );
  };

  const environmentPlugin = (
    type: PluginType,
    value: YamlValue,
    path: ValuePath,
    environment: string,
  ): EnvironmentPluginEntry => {
    const what = `A plugin entry of environment '${environment}'`;
    const name = entityName(value, path, what, 'plugin');
    const raw = value as YamlMap;
    const config = mapping(
      raw.config,
      [...path, 'config'],
      `The \`config\` of ${type} '${name}' in environment '${environment}'`,
    );
    const extras: Record<string, YamlValue> = {};
    for (const [key, v] of Object.entries(raw))
      if (key !== 'name' && key !== 'config' && key !== 'env') extras[key] = v;
    return lazyPosition(
      {
        type,
        name,
        config,
        extras,
        env: envBlock(
          raw.env,
          [...path, 'env'],
          `The \`env\` of ${type} '${name}' in environment '${environment}'`,
        ),
        locateConfig: (flatKey: string) => {
          const keyPath = configKeyPath(config, flatKey);
          return keyPath ? pos([...path, 'config', ...keyPath]) : undefined;
        },
      },
      path,
    );
  };

  const environment = (value: YamlValue, path: ValuePath): Environment => {
    const name = entityName(value, path, 'An environment', 'environment');
    const raw = value as YamlMap;
    for (const key of Object.keys(raw)) {
      if (!ENVIRONMENT_KEYS.has(key)) {
        fail(
          [...path, key],
          `environment '${name}' has an unknown key '${key}'. An environment may only have: ${[...ENVIRONMENT_KEYS].join(', ')}.`,
          true,
        );
      }
    }
    const plugins: EnvironmentPluginEntry[] = [];
    const otherConfig: Record<string, YamlValue> = {};
    const config = mapping(raw.config, [...path, 'config'], `The \`config\` of environment '${name}'`);
    for (const [configKey, configValue] of Object.entries(config)) {
      if (configKey !== 'plugins') {
        otherConfig[configKey] = configValue;
        continue;
      }
      const pluginsPath = [...path, 'config', 'plugins'];
      for (const [type, entries] of Object.entries(
        mapping(configValue, pluginsPath, `\`config.plugins\` of environment '${name}'`),
      )) {
        if (!isPluginType(type)) {
          fail(
            [...pluginsPath, type],
            `unknown plugin type '${type}' in environment '${name}'. Valid types: ${PLUGIN_TYPE_NAMES.join(', ')}.`,
            true,
          );
        }
        list(entries, [...pluginsPath, type], `\`config.plugins.${type}\` of environment '${name}'`).forEach(
          (entry, i) => {
            plugins.push(environmentPlugin(type as PluginType, entry, [...pluginsPath, type, i], name));
          },
        );
      }
    }
    return lazyPosition(
      {
        name,
        env: envBlock(raw.env, [...path, 'env'], `The \`env\` of environment '${name}'`),
        stateIdSuffix: optionalString(raw.state_id_suffix, [...path, 'state_id_suffix'], '`state_id_suffix`'),
        plugins,
        otherConfig,
        file: relPath,
      },
      path,
    );
  };

  const top = mapping(yaml.value, [], 'The top level of a project file');
  const plugins: PluginEntry[] = [];
  const environments: Environment[] = [];
  const schedules: Schedule[] = [];
  const jobs: Job[] = [];
  let env: EnvBlock = {};
  const rest: Record<string, YamlValue> = {};
  let includePaths: ProjectFileContents['includePaths'];

  for (const [key, value] of Object.entries(top)) {
    switch (key) {
      case 'plugins':
        for (const [type, entries] of Object.entries(mapping(value, ['plugins'], '`plugins`'))) {
          if (!isPluginType(type)) {
            fail(
              ['plugins', type],
              `unknown plugin type '${type}' under \`plugins\`. Valid types: ${PLUGIN_TYPE_NAMES.join(', ')}.`,
              true,
            );
          }
          list(entries, ['plugins', type], `\`plugins.${type}\``).forEach((entry, i) => {
            plugins.push(plugin(type as PluginType, entry, ['plugins', type, i]));
          });
        }
        break;
      case 'environments':
        list(value, ['environments'], '`environments`').forEach((entry, i) => {
          environments.push(environment(entry, ['environments', i]));
        });
        break;
      case 'schedules':
        list(value, ['schedules'], '`schedules`').forEach((entry, i) => {
          const name = entityName(entry, ['schedules', i], 'A schedule', 'schedule');
          schedules.push(lazyPosition({ name, raw: entry as YamlMap, file: relPath }, ['schedules', i]));
        });
        break;
      case 'jobs':
        list(value, ['jobs'], '`jobs`').forEach((entry, i) => {
          const name = entityName(entry, ['jobs', i], 'A job', 'job');
          const raw = entry as YamlMap;
          jobs.push(lazyPosition({ name, tasks: raw.tasks ?? null, raw, file: relPath }, ['jobs', i]));
        });
        break;
      case 'env':
        env = envBlock(value, ['env'], 'The top-level `env`');
        break;
      case 'include_paths': {
        const items = list(value, ['include_paths'], '`include_paths`');
        const patterns = items.map((item, i) => {
          if (typeof item !== 'string')
            fail(
              ['include_paths', i],
              `\`include_paths\` entries must be strings, found ${describeValue(item)}.`,
            );
          return item as string;
        });
        const positions = patterns.map((_, i) => lazySourcePosition(() => pos(['include_paths', i])));
        includePaths = { patterns, positions };
        rest[key] = patterns;
        break;
      }
      case 'default_environment':
      case 'project_id':
        rest[key] = optionalString(value, [key], `\`${key}\``) ?? null;
        break;
      default:
        rest[key] = value;
    }
  }
  return { file: relPath, plugins, environments, schedules, jobs, env, rest, includePaths };
}

/** A position whose lookup (a second parse) runs on first read. */
function lazySourcePosition(compute: () => SourcePosition): SourcePosition {
  const memo = memoize(compute);
  return {
    get file() {
      return memo().file;
    },
    get line() {
      return memo().line;
    },
    get column() {
      return memo().column;
    },
  };
}

function memoize<T>(compute: () => T): () => T {
  let done = false;
  let value: T | undefined;
  return () => {
    if (!done) {
      value = compute();
      done = true;
    }
    return value as T;
  };
}
