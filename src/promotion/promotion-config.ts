import { checkViewSize } from '../config/matrix.js';
import { resolvePlugin } from '../config/resolve.js';
import { SluiceError } from '../errors.js';
import type { Project } from '../project/model.js';
import type { ProjectAt, ProjectLoader } from '../workspaces/project-tasks.js';
import { type ConfigDiff, configDiff } from './config-diff.js';
import type { PromotionWarning } from './plan-promotion.js';

/** What a preview asks of the merged project: it runs as a project task, off the request thread. */
export interface PromotionConfigRequest {
  /** The target's project as it is (its `main`). */
  readonly target: ProjectAt;
  /** The merged project: a tree in the promotion's scratch repository. */
  readonly result: ProjectAt;
  readonly targetName: string;
  readonly activeEnvironment: string | null;
  readonly allEnvironments: boolean;
}

/** The configuration part of a promotion plan. */
export interface PromotionConfig {
  readonly configDiff: ConfigDiff;
  /** With `allEnvironments`: the diff in every environment of the result. */
  readonly configDiffByEnvironment?: readonly ConfigDiff[];
  readonly warnings: readonly PromotionWarning[];
}

async function loadOrNull(load: ProjectLoader, at: ProjectAt): Promise<Project | null> {
  try {
    return await load(at);
  } catch (error) {
    if (error instanceof SluiceError) return null;
    throw error;
  }
}

/**
 * How the merged project differs from the target's in configuration, and what would stop the
 * target's pipelines: a result that does not load, the active environment gone, a pipeline new
 * to the target (it has no state), a plugin without a complete `settings_group_validation` group.
 * A configuration diff costs settings times environments, so it runs in a project worker.
 */
export async function promotionConfigOf(
  request: PromotionConfigRequest,
  load: ProjectLoader,
): Promise<PromotionConfig> {
  const warnings: PromotionWarning[] = [];
  const targetProject = await loadOrNull(load, request.target);
  let resultProject: Project | null = null;
  try {
    resultProject = await load(request.result);
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    // Nothing else checks the result: a line merge or a broken source would stop every pipeline.
    if (error.code !== 'project_not_found' || targetProject) {
      warnings.push({
        code: 'result_invalid',
        path: typeof error.details.file === 'string' ? error.details.file : undefined,
        message: `The merged project does not load, so no pipeline of the target could run: ${error.message}`,
      });
    }
  }
  const active = request.activeEnvironment;
  if (resultProject && active && !resultProject.environments.some((e) => e.name === active)) {
    warnings.push({
      code: 'environment_missing',
      message: `The target's active environment '${active}' is not defined in the merged meltano.yml; its pipelines could not run.`,
    });
  }
  const emptyProject = targetProject ?? resultProject;
  const diffIn = (environment: string | null) =>
    resultProject && emptyProject
      ? configDiff(
          targetProject ?? { ...emptyProject, plugins: [], schedules: [], jobs: [] },
          resultProject,
          environment,
        )
      : { environment, plugins: [], schedules: [], jobs: [] };
  const activeInResult = active && resultProject?.environments.some((e) => e.name === active) ? active : null;
  const diff = diffIn(activeInResult);
  // State is kept per workspace and environment (never copied by a promotion): a pipeline that is
  // new here starts from nothing, i.e. a full extraction on its first run.
  for (const change of [...diff.jobs, ...diff.schedules]) {
    if (change.status !== 'added') continue;
    warnings.push({
      code: 'new_pipeline_state',
      message: `'${change.name}' is new in ${request.targetName}: its pipelines have no state in '${activeInResult ?? 'no environment'}' and will start with a full extraction.`,
    });
  }
  if (resultProject) warnings.push(...missingSettingGroups(resultProject, activeInResult));
  // Every environment at once is the configuration view's size (and its answer's): the same limit.
  if (request.allEnvironments && resultProject) {
    for (const project of [resultProject, targetProject])
      if (project) checkViewSize(project, project.plugins);
  }
  return {
    configDiff: diff,
    configDiffByEnvironment:
      request.allEnvironments && resultProject
        ? resultProject.environments.map((e) => diffIn(e.name))
        : undefined,
    warnings,
  };
}

/** Plugins none of whose `settings_group_validation` groups has every value in `environmentName`. */
function missingSettingGroups(project: Project, environmentName: string | null): PromotionWarning[] {
  const warnings: PromotionWarning[] = [];
  const environment = project.environments.find((e) => e.name === environmentName) ?? null;
  for (const plugin of project.plugins) {
    const groups = plugin.raw.settings_group_validation;
    if (!Array.isArray(groups) || groups.length === 0) continue;
    const resolved = resolvePlugin(project, environment, plugin, { shell: {}, dotenv: {} });
    const hasValue = (name: unknown) =>
      resolved.settings.some((s) => s.name === name && s.value !== null && s.value !== '');
    const satisfied = groups.some((group) => Array.isArray(group) && group.every(hasValue));
    if (!satisfied) {
      warnings.push({
        code: 'required_setting_missing',
        message: `${plugin.name} needs one of these setting groups in '${environmentName ?? 'no environment'}': ${groups.map((g) => (Array.isArray(g) ? g.join(' + ') : String(g))).join(' or ')}; none has all its values. Secrets come from the workspace's secrets at run time.`,
      });
    }
  }
  return warnings;
}
