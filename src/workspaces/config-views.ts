import { configMatrix } from '../config/matrix.js';
import { LIST_MASK, PRINT_MASK, processConfig, redactedValue } from '../config/process.js';
import { resolvePlugin } from '../config/resolve.js';
import { findEnvironment } from '../config/select-environment.js';
import { SluiceError } from '../errors.js';
import type { YamlValue } from '../project/model.js';
import { isPluginType, PLUGIN_TYPE_NAMES } from '../project/plugin-types.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import type { WorkspaceContext } from './context.js';
import { projectAtCommit } from './workspace-state.js';

/** The environments a workspace's project defines, the active one marked. */
export async function workspaceEnvironments(context: WorkspaceContext, row: WorkspaceRow) {
  const { project, commit } = await projectAtCommit(context, row);
  return {
    items: project.environments.map((e) => ({
      name: e.name,
      active: e.name === row.active_environment,
      default: e.name === project.defaultEnvironment,
    })),
    nextCursor: null,
    activeEnvironment: row.active_environment,
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

/**
 * A plugin's resolved configuration in the workspace's active environment (or a named one), from
 * the commit the workspace runs, with the source of each value and secrets redacted. Resolution
 * sees no server variables: the server's own environment never leaks into a workspace.
 */
export async function pluginConfigView(
  context: WorkspaceContext,
  row: WorkspaceRow,
  pluginName: string,
  options: { environment?: string; type?: string },
): Promise<PluginConfigView> {
  const { project, commit } = await projectAtCommit(context, row);
  if (options.type !== undefined && !isPluginType(options.type)) {
    throw new SluiceError(
      'validation_failed',
      `Unknown plugin type '${options.type}'. Valid types: ${PLUGIN_TYPE_NAMES.join(', ')}.`,
      { field: 'type' },
    );
  }
  const matches = project.plugins.filter(
    (p) => p.name === pluginName && (options.type === undefined || p.type === options.type),
  );
  const plugin = matches[0];
  if (!plugin) {
    throw new SluiceError(
      'plugin_not_found',
      `Workspace '${row.name}' has no plugin '${pluginName}'. Defined: ${project.plugins.map((p) => p.name).join(', ') || 'none'}.`,
      {
        plugin: pluginName,
      },
    );
  }
  if (matches.length > 1) {
    throw new SluiceError(
      'plugin_ambiguous',
      `'${pluginName}' names plugins of several types (${matches.map((p) => p.type).join(', ')}); add ?type=.`,
      {
        plugin: pluginName,
      },
    );
  }
  const name = options.environment ?? row.active_environment;
  const environment = name ? findEnvironment(project, name) : null;
  const resolved = resolvePlugin(project, environment, plugin, { shell: {}, dotenv: {} });
  return {
    workspaceId: row.id,
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
 * The configuration matrix of every plugin of the commit a workspace runs: each setting resolved in
 * each environment with its source, secrets masked. Like the other views, it sees no server
 * variables; a setting that a workspace secret will fill at run time shows as unset here.
 */
export async function workspaceConfiguration(
  context: WorkspaceContext,
  row: WorkspaceRow,
): Promise<ConfigurationView> {
  const { project, commit } = await projectAtCommit(context, row);
  const runtime = { shell: {}, dotenv: {} };
  const matrices = project.plugins.map((plugin) => configMatrix(project, plugin, runtime, LIST_MASK));
  return {
    workspaceId: row.id,
    commit,
    activeEnvironment: row.active_environment,
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
