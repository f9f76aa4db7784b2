import { join } from 'node:path';
import type { RuntimeEnv } from '../config/env-layers.js';
import { type EnvironmentChoice, selectEnvironment } from '../config/select-environment.js';
import { formatPosition, SluiceError } from '../errors.js';
import { readDotenvFile } from '../project/dotenv.js';
import { findProjectRoot } from '../project/find-root.js';
import { loadProject } from '../project/load.js';
import type { PluginEntry, Project } from '../project/model.js';
import {
  describePluginType,
  isPluginType,
  PLUGIN_TYPE_NAMES,
  type PluginType,
} from '../project/plugin-types.js';
import { folderSource } from '../project/project-source.js';
import type { GlobalOptions } from './global-options.js';
import type { CliIo } from './io.js';

export const SLUICE_VERSION = '0.1.0';

/** A loaded project with everything commands need to resolve its configuration. */
export interface ProjectContext {
  readonly project: Project;
  readonly dotenvPath: string;
  readonly runtime: RuntimeEnv;
  readonly choice: EnvironmentChoice;
}

function truthy(value: unknown): boolean {
  return (
    value === true || (typeof value === 'string' && ['true', '1', 'yes', 'on'].includes(value.toLowerCase()))
  );
}

/** Loads the project, `.env`, and the environment the options and variables select. */
export function openProject(globals: GlobalOptions, io: CliIo): ProjectContext {
  const root = findProjectRoot(io.cwd, globals.projectRoot);
  const project = loadProject(folderSource(root));
  const dotenvPath = join(root, '.env');
  const dotenv = readDotenvFile(dotenvPath, io.env);
  const ff = project.extras.ff;
  const strict = truthy(
    io.env.MELTANO_FF_STRICT_ENV_VAR_MODE ??
      dotenv.MELTANO_FF_STRICT_ENV_VAR_MODE ??
      (ff && typeof ff === 'object' && !Array.isArray(ff)
        ? (ff as Record<string, unknown>).strict_env_var_mode
        : undefined),
  );
  const runtime: RuntimeEnv = { shell: io.env, dotenv, userAgent: `sluice/${SLUICE_VERSION}`, strict };
  const choice = selectEnvironment(project, {
    flag: globals.environment,
    noEnvironment: globals.noEnvironment,
    shell: io.env,
    dotenv,
  });
  printWarnings(project, choice.environment?.name ?? null, io);
  return { project, dotenvPath, runtime, choice };
}

/** Prints the project's warnings that concern every environment, or the active one. */
export function printWarnings(project: Project, environment: string | null, io: CliIo): void {
  for (const warning of project.warnings) {
    if (warning.environment !== undefined && warning.environment !== environment) continue;
    io.stderr(
      `warning: ${warning.position ? `${formatPosition(warning.position)}: ` : ''}${warning.message}\n`,
    );
  }
}

/** Says on stderr which environment a command resolved, since the answer depends on it. */
export function announceEnvironment(context: ProjectContext, io: CliIo): void {
  const { choice } = context;
  io.stderr(
    choice.environment
      ? `sluice: environment '${choice.environment.name}' (from ${choice.origin})\n`
      : `sluice: no environment${choice.origin === 'none' ? '' : ` (from ${choice.origin})`}\n`,
  );
}

/** Finds a plugin by name; `type` decides when two plugin types share the name. */
export function findPluginByName(project: Project, name: string, type?: string): PluginEntry {
  if (type !== undefined && !isPluginType(type)) {
    throw new SluiceError(
      'usage',
      `Unknown plugin type '${type}'. Valid types: ${PLUGIN_TYPE_NAMES.join(', ')}.`,
    );
  }
  const matches = project.plugins.filter((p) => p.name === name && (type === undefined || p.type === type));
  if (matches.length === 1) return matches[0] as PluginEntry;
  if (matches.length > 1) {
    throw new SluiceError(
      'plugin_ambiguous',
      `'${name}' names ${matches.length} plugins (${matches.map((p) => p.type).join(', ')}). Add --plugin-type ${matches[0]?.type} (or another of them).`,
      { plugin: name, types: matches.map((p) => p.type) },
    );
  }
  const known = project.plugins.filter((p) => type === undefined || p.type === type).map((p) => p.name);
  const near = known.filter((k) => k.includes(name) || name.includes(k));
  throw new SluiceError(
    'plugin_not_found',
    `${type ? `${describePluginType(type as PluginType)[0]?.toUpperCase()}${describePluginType(type as PluginType).slice(1)}` : 'Plugin'} '${name}' is not defined in this project.${near.length ? ` Did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : known.length ? ` Defined plugins: ${known.join(', ')}.` : ` The project defines no ${type ?? 'plugins'}.`}`,
    { plugin: name, defined: known },
  );
}
