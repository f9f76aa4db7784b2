import { commitProjectSource } from '../git/commit-project-source.js';
import { loadProject } from '../project/load.js';
import type { Project } from '../project/model.js';
import {
  type PromotionConfig,
  type PromotionConfigRequest,
  promotionConfigOf,
} from '../promotion/promotion-config.js';
import {
  type ConfigurationView,
  configurationOf,
  type EnvironmentsView,
  environmentsOf,
  type PluginConfigRequest,
  type PluginConfigView,
  pluginConfigOf,
  type WorkspaceFacts,
} from './project-views.js';

/** One commit of a workspace's repository: where a task finds its project. */
export interface ProjectAt {
  /** The bare repository on disk. */
  readonly repo: string;
  readonly commit: string;
  /** How messages name the project: `<repository>@<short commit>`. */
  readonly display: string;
}

/**
 * The work on a workspace's project that the server hands to project workers: loading a commit
 * (`check`: does it load within the limits, and from which files?), computing the views the API
 * serves, and the configuration part of a promotion's preview. Tasks and results are plain data,
 * so they cross to a worker and back as they are.
 */
export type ProjectTask =
  | { readonly kind: 'check'; readonly at: ProjectAt }
  | { readonly kind: 'promotionConfig'; readonly at: ProjectAt; readonly request: PromotionConfigRequest }
  | { readonly kind: 'environments'; readonly at: ProjectAt; readonly workspace: WorkspaceFacts }
  | { readonly kind: 'configuration'; readonly at: ProjectAt; readonly workspace: WorkspaceFacts }
  | {
      readonly kind: 'pluginConfig';
      readonly at: ProjectAt;
      readonly workspace: WorkspaceFacts;
      readonly request: PluginConfigRequest;
    };

/** What each kind of task answers. */
export interface ProjectTaskResults {
  readonly check: { readonly files: readonly string[] };
  readonly promotionConfig: PromotionConfig;
  readonly environments: EnvironmentsView;
  readonly configuration: ConfigurationView;
  readonly pluginConfig: PluginConfigView;
}

export type ProjectTaskResult<T extends ProjectTask> = ProjectTaskResults[T['kind']];

/** Loads the project at a commit: in a worker, or on the request thread where there is none. */
export type ProjectLoader = (at: ProjectAt) => Promise<Project>;

/** Runs a task: the same code in a worker and in-thread, so both answer alike. */
export async function runProjectTask<T extends ProjectTask>(
  task: T,
  load: ProjectLoader,
): Promise<ProjectTaskResult<T>> {
  // A promotion's preview loads two projects, and one that does not load is part of its answer.
  if (task.kind === 'promotionConfig')
    return (await promotionConfigOf(task.request, load)) as ProjectTaskResult<T>;
  const project = await load(task.at);
  return answer(task, project) as ProjectTaskResult<T>;
}

function answer(
  task: Exclude<ProjectTask, { kind: 'promotionConfig' }>,
  project: Project,
): ProjectTaskResults[ProjectTask['kind']] {
  switch (task.kind) {
    case 'check':
      return { files: project.files };
    case 'environments':
      return environmentsOf(project, task.at.commit, task.workspace);
    case 'configuration':
      return configurationOf(project, task.at.commit, task.workspace);
    case 'pluginConfig':
      return pluginConfigOf(project, task.at.commit, task.workspace, task.request);
  }
}

/**
 * A loader that keeps the last `size` projects it loaded (commits never change, so neither do
 * their projects). A project that fails to load is not kept: the error is thrown each time.
 */
export function cachedProjectLoader(size: number): ProjectLoader {
  const cache = new Map<string, Project>();
  return async (at) => {
    const key = `${at.repo}@${at.commit}`;
    const cached = cache.get(key);
    if (cached) {
      // Most recently used last: the first key is the one to drop.
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    const project = loadProject(await commitProjectSource(at.repo, at.commit, at.display));
    cache.set(key, project);
    if (cache.size > size) cache.delete(cache.keys().next().value as string);
    return project;
  };
}
