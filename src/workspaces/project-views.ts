import { checkViewSize, configMatrix } from '../config/matrix.js';
import { LIST_MASK, PRINT_MASK, processConfig, redactedValue } from '../config/process.js';
import { resolvePlugin } from '../config/resolve.js';
import { findEnvironment } from '../config/select-environment.js';
import { SluiceError } from '../errors.js';
import type { Project, YamlValue } from '../project/model.js';
import { isPluginType, PLUGIN_TYPE_NAMES } from '../project/plugin-types.js';

/**
 * The views of a workspace's project that the API serves, as pure functions of a loaded project:
 * they run in a project worker (see project-workers.ts), so what they return is plain data that
 * crosses `postMessage` as it is, and nothing they compute ties up the server's request thread.
 */

/** What a view needs to know of the workspace: plain data, so that it crosses to a worker. */
export interface WorkspaceFacts {
  readonly id: string;
  readonly name: string;
  readonly activeEnvironment: string | null;
}

export interface EnvironmentsView {
  readonly items: readonly { name: string; active: boolean; default: boolean }[];
  readonly nextCursor: null;
  readonly activeEnvironment: string | null;
  readonly defaultEnvironment: string | null;
  readonly commit: string;
}

/** The environments a workspace's project defines, the active one marked. */
export function environmentsOf(
  project: Project,
  commit: string,
  workspace: WorkspaceFacts,
): EnvironmentsView {
  return {
    items: project.environments.map((e) => ({
      name: e.name,
      active: e.name === workspace.activeEnvironment,
      default: e.name === project.defaultEnvironment,
    })),
    nextCursor: null,
    activeEnvironment: workspace.activeEnvironment,
    defaultEnvironment: project.defaultEnvironment,
    commit,
  };
}

export interface PluginConfigView {
  readonly workspaceId: string;
  readonly commit: string;
  readonly plugin: string;
  readonly type: string;
  readonly environment: string | null;
  /** The configuration the plugin runs with, secrets masked. */
  readonly config: Record<string, YamlValue>;
  readonly settings: readonly {
    name: string;
    value: YamlValue;
    source: string;
    envVar?: string;
    unexpandedValue?: YamlValue;
    inheritedFrom?: string;
  }[];
}

/** Which plugin, and in which environment (the workspace's active one when not named). */
export interface PluginConfigRequest {
  readonly plugin: string;
  readonly environment?: string;
  readonly type?: string;
}

/**
 * A plugin's resolved configuration in the workspace's active environment (or a named one), with
 * the source of each value and secrets redacted. Resolution sees no server variables: the
 * server's own environment never leaks into a workspace.
 */
export function pluginConfigOf(
  project: Project,
  commit: string,
  workspace: WorkspaceFacts,
  request: PluginConfigRequest,
): PluginConfigView {
  if (request.type !== undefined && !isPluginType(request.type)) {
    throw new SluiceError(
      'validation_failed',
      `Unknown plugin type '${request.type}'. Valid types: ${PLUGIN_TYPE_NAMES.join(', ')}.`,
      { field: 'type' },
    );
  }
  const matches = project.plugins.filter(
    (p) => p.name === request.plugin && (request.type === undefined || p.type === request.type),
  );
  const plugin = matches[0];
  if (!plugin) {
    throw new SluiceError(
      'plugin_not_found',
      `Workspace '${workspace.name}' has no plugin '${request.plugin}'. Defined: ${project.plugins.map((p) => p.name).join(', ') || 'none'}.`,
      {
        plugin: request.plugin,
      },
    );
  }
  if (matches.length > 1) {
    throw new SluiceError(
      'plugin_ambiguous',
      `'${request.plugin}' names plugins of several types (${matches.map((p) => p.type).join(', ')}); add ?type=.`,
      {
        plugin: request.plugin,
      },
    );
  }
  const name = request.environment ?? workspace.activeEnvironment;
  const environment = name ? findEnvironment(project, name) : null;
  const resolved = resolvePlugin(project, environment, plugin, { shell: {}, dotenv: {} });
  return {
    workspaceId: workspace.id,
    commit,
    plugin: plugin.name,
    type: plugin.type,
    environment: environment?.name ?? null,
    config: processConfig(resolved, PRINT_MASK),
    settings: resolved.settings.map((s) => ({
      name: s.name,
      value: redactedValue(s, LIST_MASK),
      source: s.source,
      ...(s.envVar ? { envVar: s.envVar } : {}),
      ...(s.unexpandedValue !== undefined && !s.sensitive ? { unexpandedValue: s.unexpandedValue } : {}),
      ...(s.inheritedFrom ? { inheritedFrom: s.inheritedFrom } : {}),
    })),
  };
}

/** Every plugin's settings across every environment, as the web UI's Configuration page shows them. */
export interface ConfigurationView {
  readonly workspaceId: string;
  readonly commit: string;
  readonly activeEnvironment: string | null;
  readonly environments: readonly string[];
  readonly plugins: readonly {
    readonly name: string;
    readonly type: string;
    readonly settings: readonly {
      readonly name: string;
      readonly sensitive: boolean;
      /** The value is not the same in every environment. */
      readonly differs: boolean;
      readonly values: Readonly<Record<string, { value: YamlValue; source: string } | null>>;
    }[];
  }[];
}

/**
 * The configuration matrix of every plugin: each setting resolved in each environment with its
 * source, secrets masked. Like the other views, it sees no server variables; a setting that a
 * workspace secret will fill at run time shows as unset here. A view over
 * `PROJECT_LIMITS.viewValues` is refused before any of it is computed.
 */
export function configurationOf(
  project: Project,
  commit: string,
  workspace: WorkspaceFacts,
): ConfigurationView {
  const runtime = { shell: {}, dotenv: {} };
  checkViewSize(project, project.plugins);
  const matrices = project.plugins.map((plugin) => configMatrix(project, plugin, runtime, LIST_MASK));
  return {
    workspaceId: workspace.id,
    commit,
    activeEnvironment: workspace.activeEnvironment,
    environments: matrices[0]?.environments ?? project.environments.map((e) => e.name),
    plugins: matrices.map((matrix) => ({
      name: matrix.plugin.name,
      type: matrix.plugin.type,
      settings: matrix.rows.map((settingRow) => ({
        name: settingRow.name,
        sensitive: Object.values(settingRow.cells).some((c) => c?.setting.sensitive === true),
        differs: settingRow.differs,
        values: Object.fromEntries(
          Object.entries(settingRow.cells).map(([env, cell]) => [
            env,
            cell ? { value: cell.value, source: cell.source } : null,
          ]),
        ),
      })),
    })),
  };
}
