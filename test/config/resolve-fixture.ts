import { stringify } from 'yaml';
import type { ResolvedPlugin, ResolvedSetting } from '../../src/config/resolve.js';
import { resolvePlugin } from '../../src/config/resolve.js';
import { findEnvironment } from '../../src/config/select-environment.js';
import type { Project } from '../../src/project/model.js';
import { loadYaml } from '../helpers/temp-project.js';

/** Variables as the shell and .env give them. */
export type Vars = Readonly<Record<string, string | undefined>>;

export interface ResolveOptions {
  /** The active environment; none when omitted. */
  readonly environment?: string;
  /** The plugin to resolve; the first plugin of the project when omitted. */
  readonly plugin?: string;
  readonly shell?: Vars;
  readonly dotenv?: Vars;
  readonly strict?: boolean;
}

/** A `meltano.yml` text from a plain object, so tests can build projects layer by layer. */
export function meltanoYml(project: Record<string, unknown>): string {
  return stringify(project);
}

/** Resolves one plugin of an already loaded project with the real resolver. */
export function resolveIn(project: Project, options: ResolveOptions = {}): ResolvedPlugin {
  const environment = options.environment ? findEnvironment(project, options.environment) : null;
  const plugin = options.plugin ? project.plugins.find((p) => p.name === options.plugin) : project.plugins[0];
  if (!plugin) throw new Error(`test project has no plugin ${options.plugin ?? ''}`);
  return resolvePlugin(project, environment, plugin, {
    shell: options.shell ?? {},
    dotenv: options.dotenv ?? {},
    strict: options.strict,
  });
}

/** Writes `yaml` as a real project, loads it and resolves one plugin. */
export function resolveYaml(yaml: string, options: ResolveOptions = {}): ResolvedPlugin {
  return resolveIn(loadYaml(yaml), options);
}

/** One resolved setting or extra by name. */
export function setting(resolved: ResolvedPlugin, name: string): ResolvedSetting {
  const found = [...resolved.settings, ...resolved.extras].find((s) => s.name === name);
  if (!found) throw new Error(`no setting '${name}' in ${resolved.plugin.name}`);
  return found;
}
