import { SluiceError } from '../errors.js';
import type { WorkspaceRow } from '../store/workspaces.js';
import type { WorkspaceContext } from './context.js';
import type {
  ConfigurationView,
  EnvironmentsView,
  PluginConfigRequest,
  PluginConfigView,
  WorkspaceFacts,
} from './project-views.js';
import { projectAt, runProjectTaskFor } from './workspace-state.js';

/**
 * The configuration views of a workspace, at the commit it runs. Each is computed where projects
 * are loaded (the server's project workers; see project-views.ts for what each view holds), so a
 * huge or hostile project costs its own workspace time, not the server's request thread.
 */

/** The environments a workspace's project defines, the active one marked. */
export async function workspaceEnvironments(
  context: WorkspaceContext,
  row: WorkspaceRow,
): Promise<EnvironmentsView> {
  return runProjectTaskFor(context, {
    kind: 'environments',
    at: runningCommit(context, row),
    workspace: facts(row),
  });
}

/**
 * A plugin's resolved configuration in the workspace's active environment (or a named one), from
 * the commit the workspace runs, with the source of each value and secrets redacted.
 */
export async function pluginConfigView(
  context: WorkspaceContext,
  row: WorkspaceRow,
  pluginName: string,
  options: { environment?: string; type?: string },
): Promise<PluginConfigView> {
  const request: PluginConfigRequest = { plugin: pluginName, ...options };
  return runProjectTaskFor(context, {
    kind: 'pluginConfig',
    at: runningCommit(context, row),
    workspace: facts(row),
    request,
  });
}

/** The configuration matrix of every plugin of the commit a workspace runs (the UI's Configuration page). */
export async function workspaceConfiguration(
  context: WorkspaceContext,
  row: WorkspaceRow,
): Promise<ConfigurationView> {
  return runProjectTaskFor(context, {
    kind: 'configuration',
    at: runningCommit(context, row),
    workspace: facts(row),
  });
}

/** The commit a workspace runs: its last good one. */
function runningCommit(context: WorkspaceContext, row: WorkspaceRow) {
  const commit = row.last_good_commit;
  if (!commit) {
    throw new SluiceError(
      'project_not_found',
      `Workspace '${row.name}' has no commit whose meltano.yml loads. Push a valid meltano.yml to main.`,
      { workspace: row.id },
    );
  }
  return projectAt(context, row, commit);
}

function facts(row: WorkspaceRow): WorkspaceFacts {
  return { id: row.id, name: row.name, activeEnvironment: row.active_environment };
}
