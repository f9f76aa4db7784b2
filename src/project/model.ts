import type { SourcePosition } from '../errors.js';
import type { PluginType } from './plugin-types.js';

/** A JSON-like value as read from YAML (timestamps become ISO strings). */
export type YamlValue =
  | string
  | number
  | boolean
  | null
  | readonly YamlValue[]
  | { readonly [key: string]: YamlValue };
export type YamlMap = { readonly [key: string]: YamlValue };

/** `env:` blocks: Meltano turns every value into a string, except null. */
export type EnvBlock = Readonly<Record<string, string | null>>;

export type SettingKind =
  | 'string'
  | 'integer'
  | 'boolean'
  | 'decimal'
  | 'array'
  | 'object'
  | 'options'
  | 'date_iso8601'
  | 'email'
  | 'file'
  | 'password'
  | 'oauth'
  | 'hidden';

/** A setting definition from a plugin's `settings:` list (or a lock file). */
export interface SettingDefinition {
  readonly name: string;
  readonly kind?: SettingKind;
  /** The default (`value:` in YAML). */
  readonly value?: YamlValue;
  readonly aliases?: readonly string[];
  /** A custom variable the value is exported as to the plugin's process (write-only). */
  readonly env?: string;
  /** Deprecated literal variables read as well (`!NAME` means a negated boolean). */
  readonly envAliases?: readonly string[];
  readonly sensitive?: boolean;
  readonly hidden?: boolean;
  readonly options?: readonly { readonly value: YamlValue; readonly label?: string }[];
  readonly label?: string;
  readonly description?: string;
  /** True for settings made up from a key in `config:` that no definition names. */
  readonly custom?: boolean;
  readonly position?: SourcePosition;
}

/** What a Meltano lock file tells of a plugin. */
export interface LockedDefinition {
  readonly settings: readonly SettingDefinition[];
  /** Absent when the lock file has no `capabilities` list. */
  readonly capabilities?: readonly string[];
}

/** A plugin entry under `plugins.<type>[]`. */
export interface PluginEntry {
  readonly type: PluginType;
  readonly name: string;
  readonly namespace?: string;
  readonly inheritFrom?: string;
  readonly variant?: string;
  readonly pipUrl?: string;
  readonly executable?: string;
  /** `capabilities:` as written (`catalog`, `discover`, `state`, `properties`, ...); absent when not written. */
  readonly capabilities?: readonly string[];
  readonly settings: readonly SettingDefinition[];
  readonly config: YamlMap;
  /** Every other key (select, metadata, schema, ...): Meltano's "extras". */
  readonly extras: YamlMap;
  readonly env: EnvBlock;
  /** The whole entry as written, unknown keys included. */
  readonly raw: YamlMap;
  /** The file it is written in, relative to the project root. */
  readonly file: string;
  readonly position: SourcePosition;
  /** Where a flattened config key (`auth.user`) was written, for messages. */
  readonly locateConfig: (flatKey: string) => SourcePosition | undefined;
  /** Where one of the entry's own keys (`inherit_from`) was written, for messages. */
  readonly locateKey: (key: string) => SourcePosition;
}

/** A plugin entry inside an environment's `config.plugins.<type>[]`. */
export interface EnvironmentPluginEntry {
  readonly type: PluginType;
  readonly name: string;
  readonly config: YamlMap;
  readonly extras: YamlMap;
  readonly env: EnvBlock;
  readonly position: SourcePosition;
  /** Where a flattened config key (`auth.user`) was written, for messages. */
  readonly locateConfig: (flatKey: string) => SourcePosition | undefined;
}

export interface Environment {
  readonly name: string;
  readonly env: EnvBlock;
  readonly stateIdSuffix?: string;
  readonly plugins: readonly EnvironmentPluginEntry[];
  /** Keys under `config:` other than `plugins` (kept, ignored, as Meltano does). */
  readonly otherConfig: YamlMap;
  readonly file: string;
  readonly position: SourcePosition;
}

export interface Schedule {
  readonly name: string;
  readonly raw: YamlMap;
  readonly file: string;
  readonly position: SourcePosition;
}

export interface Job {
  readonly name: string;
  readonly tasks: YamlValue;
  readonly raw: YamlMap;
  readonly file: string;
  readonly position: SourcePosition;
}

export interface ProjectWarning {
  readonly message: string;
  readonly position?: SourcePosition;
  /** Set when the warning concerns one environment only (commands show it when that one is active). */
  readonly environment?: string;
}

/** A loaded Meltano project: `meltano.yml` and every file its `include_paths` reach. */
export interface Project {
  readonly root: string;
  /** Paths relative to the root: `meltano.yml` first, then included files in include order. */
  readonly files: readonly string[];
  readonly defaultEnvironment: string | null;
  readonly projectId: string | null;
  readonly env: EnvBlock;
  readonly plugins: readonly PluginEntry[];
  readonly environments: readonly Environment[];
  readonly schedules: readonly Schedule[];
  readonly jobs: readonly Job[];
  /** Top-level keys other than plugins/environments/schedules/jobs/env, deep-merged across files. */
  readonly extras: YamlMap;
  /** Plugin definitions found in lock files, by `<type>/<name>`. */
  readonly lockedDefinitions: ReadonlyMap<string, LockedDefinition>;
  readonly warnings: readonly ProjectWarning[];
}
