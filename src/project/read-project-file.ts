import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import { errorAt, type SourcePosition } from '../errors.js';
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
import { describeNode, type YamlFile } from './yaml-file.js';

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

/** Reads the entities of one parsed project file, checking the shape of every key it knows. */
export function readProjectFile(yaml: YamlFile, relPath: string): ProjectFileContents {
  const reader = new FileReader(yaml, relPath);
  return reader.read();
}

class FileReader {
  constructor(
    private readonly yaml: YamlFile,
    private readonly relPath: string,
  ) {}

  private pos(node: Node | Pair | null | undefined): SourcePosition {
    if (node && 'key' in node && !('range' in node)) return this.yaml.positionOf(node.key as Node);
    return this.yaml.positionOf(node as Node);
  }

  private fail(node: Node | null | undefined, message: string, fallback?: Node | null): never {
    throw errorAt('project_invalid', this.pos(node ?? fallback), message);
  }

  private js(node: unknown): YamlValue {
    if (node === null || node === undefined) return null;
    return ((node as Node).toJS(this.yaml.doc, { maxAliasCount: 1000 }) ?? null) as YamlValue;
  }

  /** Pairs of a mapping node (null or missing reads as empty), failing on any other node. */
  private pairs(node: unknown, what: string, owner?: Node | null): [string, Node | null, Node][] {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return [];
    if (!isMap(node))
      this.fail(node as Node, `${what} must be a mapping, found ${describeNode(node)}.`, owner);
    return (node as YAMLMap<unknown, unknown>).items.map((pair) => {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(this.js(keyNode));
      return [key, (pair.value ?? null) as Node | null, keyNode];
    });
  }

  private items(node: unknown, what: string, owner?: Node | null): Node[] {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) this.fail(node as Node, `${what} must be a list, found ${describeNode(node)}.`, owner);
    return (node.items as unknown[]).map((item) => item as Node);
  }

  private optionalString(node: Node | null, what: string): string | undefined {
    if (node === null || (isScalar(node) && node.value === null)) return undefined;
    const value = this.js(node);
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.fail(node, `${what} must be a string, found ${describeNode(node)}.`);
  }

  private requiredName(node: Node, what: string): string {
    const nameNode = isMap(node) ? (node.get('name', true) as Node | undefined) : undefined;
    const name = nameNode ? this.js(nameNode) : undefined;
    if (typeof name !== 'string' || name === '') {
      this.fail(
        nameNode ?? node,
        `${what} needs a \`name\` (a non-empty string), found ${describeNode(nameNode)}.`,
      );
    }
    return name;
  }

  private mapValue(node: Node | null, what: string): YamlMap {
    this.pairs(node, what);
    const value = this.js(node);
    return value === null ? {} : (value as YamlMap);
  }

  /** `env:` blocks: values become strings as Meltano's `str(value)` does; null stays null. */
  private envBlock(node: Node | null, what: string): EnvBlock {
    const env: Record<string, string | null> = {};
    for (const [key, valueNode] of this.pairs(node, what)) {
      const value = this.js(valueNode);
      env[key] = value === null ? null : pythonStr(value);
    }
    return env;
  }

  /** Positions of every flattened key of a config mapping (`a.b` for `a: {b: ...}`). */
  private configPositions(
    node: Node | null,
    prefix = '',
    into = new Map<string, SourcePosition>(),
  ): Map<string, SourcePosition> {
    if (!isMap(node)) return into;
    for (const [key, valueNode, keyNode] of this.pairs(node, 'config')) {
      const flat = prefix + key;
      if (isMap(valueNode) && valueNode.items.length > 0) this.configPositions(valueNode, `${flat}.`, into);
      else into.set(flat, this.pos(valueNode ?? keyNode));
    }
    return into;
  }

  read(): ProjectFileContents {
    const root = this.yaml.doc.contents as Node | null;
    const top = this.pairs(root, 'The top level of a project file');
    const plugins: PluginEntry[] = [];
    const environments: Environment[] = [];
    const schedules: Schedule[] = [];
    const jobs: Job[] = [];
    let env: EnvBlock = {};
    const rest: Record<string, YamlValue> = {};
    let includePaths: ProjectFileContents['includePaths'];

    for (const [key, node, keyNode] of top) {
      switch (key) {
        case 'plugins':
          for (const [type, list, typeKey] of this.pairs(node, '`plugins`', keyNode)) {
            if (!isPluginType(type)) {
              this.fail(
                typeKey,
                `unknown plugin type '${type}' under \`plugins\`. Valid types: ${PLUGIN_TYPE_NAMES.join(', ')}.`,
              );
            }
            for (const item of this.items(list, `\`plugins.${type}\``, typeKey))
              plugins.push(this.plugin(type, item));
          }
          break;
        case 'environments':
          for (const item of this.items(node, '`environments`', keyNode))
            environments.push(this.environment(item));
          break;
        case 'schedules':
          for (const item of this.items(node, '`schedules`', keyNode)) {
            const name = this.requiredName(item, 'A schedule');
            schedules.push({
              name,
              raw: this.mapValue(item, 'A schedule'),
              file: this.relPath,
              position: this.pos(item),
            });
          }
          break;
        case 'jobs':
          for (const item of this.items(node, '`jobs`', keyNode)) {
            const name = this.requiredName(item, 'A job');
            const raw = this.mapValue(item, 'A job');
            jobs.push({ name, tasks: raw.tasks ?? null, raw, file: this.relPath, position: this.pos(item) });
          }
          break;
        case 'env':
          env = this.envBlock(node, 'The top-level `env`');
          break;
        case 'include_paths': {
          const items = this.items(node, '`include_paths`', keyNode);
          const patterns = items.map((item) => {
            const value = this.js(item);
            if (typeof value !== 'string')
              this.fail(item, `\`include_paths\` entries must be strings, found ${describeNode(item)}.`);
            return value;
          });
          includePaths = { patterns, positions: items.map((item) => this.pos(item)) };
          rest[key] = patterns;
          break;
        }
        case 'default_environment':
        case 'project_id':
          rest[key] = this.optionalString(node, `\`${key}\``) ?? null;
          break;
        default:
          rest[key] = this.js(node);
      }
    }
    return { file: this.relPath, plugins, environments, schedules, jobs, env, rest, includePaths };
  }

  private plugin(type: PluginType, node: Node): PluginEntry {
    const what = `A plugin under \`plugins.${type}\``;
    const name = this.requiredName(node, what);
    const fields = new Map(this.pairs(node, what).map(([k, v, kn]) => [k, { v, kn }]));
    const field = (key: string) => fields.get(key)?.v ?? null;
    const extras: Record<string, YamlValue> = {};
    for (const [key, { v }] of fields) if (!PLUGIN_KEYS.has(key)) extras[key] = this.js(v);
    const settingsNode = field('settings');
    const settings = this.items(
      settingsNode,
      `The \`settings\` of ${type} '${name}'`,
      fields.get('settings')?.kn,
    ).map((s) => this.setting(s, `${type} '${name}'`));
    const configNode = field('config');
    const inheritFrom = this.optionalString(field('inherit_from'), '`inherit_from`');
    return {
      type,
      name,
      namespace: this.optionalString(field('namespace'), '`namespace`'),
      inheritFrom: inheritFrom === name ? undefined : inheritFrom,
      variant: this.optionalString(field('variant'), '`variant`'),
      pipUrl: this.optionalString(field('pip_url'), '`pip_url`'),
      executable: this.optionalString(field('executable'), '`executable`'),
      settings,
      config: this.mapValue(configNode, `The \`config\` of ${type} '${name}'`),
      extras,
      env: this.envBlock(field('env'), `The \`env\` of ${type} '${name}'`),
      raw: this.mapValue(node, what),
      file: this.relPath,
      position: this.pos(node),
      configPositions: this.configPositions(configNode),
    };
  }

  private setting(node: Node, owner: string): SettingDefinition {
    const name = this.requiredName(node, `A setting of ${owner}`);
    const raw = this.mapValue(node, `A setting of ${owner}`);
    const kindNode = isMap(node) ? (node.get('kind', true) as Node | undefined) : undefined;
    const kind = raw.kind ?? undefined;
    if (kind !== undefined && kind !== null && (typeof kind !== 'string' || !SETTING_KINDS.has(kind))) {
      this.fail(
        kindNode ?? node,
        `setting '${name}' of ${owner} has unknown kind ${JSON.stringify(kind)}. Valid kinds: ${[...SETTING_KINDS].join(', ')}.`,
      );
    }
    const strings = (key: string): string[] | undefined => {
      const value = raw[key];
      if (value === undefined || value === null) return undefined;
      const list = Array.isArray(value) ? value : [value];
      if (!list.every((v) => typeof v === 'string')) {
        this.fail(
          isMap(node) ? (node.get(key, true) as Node) : node,
          `\`${key}\` of setting '${name}' must be a list of strings.`,
        );
      }
      return list as string[];
    };
    const options = Array.isArray(raw.options)
      ? raw.options.map((o) =>
          o !== null && typeof o === 'object' && !Array.isArray(o)
            ? (o as { value: YamlValue; label?: string })
            : { value: o },
        )
      : undefined;
    return {
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
      position: this.pos(node),
    };
  }

  private environment(node: Node): Environment {
    const name = this.requiredName(node, 'An environment');
    const nameNode = isMap(node) ? (node.get('name', true) as Node) : node;
    if (name.includes(':')) {
      this.fail(
        nameNode,
        `the environment name '${name}' cannot contain ':', which separates the parts of state IDs. Rename the environment.`,
      );
    }
    let env: EnvBlock = {};
    let stateIdSuffix: string | undefined;
    const plugins: EnvironmentPluginEntry[] = [];
    const otherConfig: Record<string, YamlValue> = {};
    for (const [key, value, keyNode] of this.pairs(node, 'An environment')) {
      if (!ENVIRONMENT_KEYS.has(key)) {
        this.fail(
          keyNode,
          `environment '${name}' has an unknown key '${key}'. An environment may only have: ${[...ENVIRONMENT_KEYS].join(', ')}.`,
        );
      }
      if (key === 'env') env = this.envBlock(value, `The \`env\` of environment '${name}'`);
      if (key === 'state_id_suffix') stateIdSuffix = this.optionalString(value, '`state_id_suffix`');
      if (key !== 'config') continue;
      for (const [configKey, configValue, configKeyNode] of this.pairs(
        value,
        `The \`config\` of environment '${name}'`,
        keyNode,
      )) {
        if (configKey !== 'plugins') {
          otherConfig[configKey] = this.js(configValue);
          continue;
        }
        for (const [type, list, typeKey] of this.pairs(
          configValue,
          `\`config.plugins\` of environment '${name}'`,
          configKeyNode,
        )) {
          if (!isPluginType(type)) {
            this.fail(
              typeKey,
              `unknown plugin type '${type}' in environment '${name}'. Valid types: ${PLUGIN_TYPE_NAMES.join(', ')}.`,
            );
          }
          for (const item of this.items(
            list,
            `\`config.plugins.${type}\` of environment '${name}'`,
            typeKey,
          )) {
            plugins.push(this.environmentPlugin(type, item, name));
          }
        }
      }
    }
    return { name, env, stateIdSuffix, plugins, otherConfig, file: this.relPath, position: this.pos(node) };
  }

  private environmentPlugin(type: PluginType, node: Node, environment: string): EnvironmentPluginEntry {
    const what = `A plugin entry of environment '${environment}'`;
    const name = this.requiredName(node, what);
    let config: YamlMap = {};
    let env: EnvBlock = {};
    let configNode: Node | null = null;
    const extras: Record<string, YamlValue> = {};
    for (const [key, value] of this.pairs(node, what)) {
      if (key === 'name') continue;
      if (key === 'config') {
        configNode = value;
        config = this.mapValue(value, `The \`config\` of ${type} '${name}' in environment '${environment}'`);
      } else if (key === 'env')
        env = this.envBlock(value, `The \`env\` of ${type} '${name}' in environment '${environment}'`);
      else extras[key] = this.js(value);
    }
    return {
      type,
      name,
      config,
      extras,
      env,
      position: this.pos(node),
      configPositions: this.configPositions(configNode),
    };
  }
}

/** Python's `str()` of a YAML value, as Meltano applies it to `env:` values. */
function pythonStr(value: YamlValue): string {
  if (typeof value === 'string') return value;
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}
