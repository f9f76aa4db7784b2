import { pluginInfoVariables, type RuntimeEnv } from '../config/env-layers.js';
import type { EnvMap } from '../config/expand.js';
import { pluginNamespace, type ResolvedPlugin, resolvePlugin } from '../config/resolve.js';
import { settingsEnv } from '../config/settings-env.js';
import type { Environment, PluginEntry, Project } from '../project/model.js';
import type { ExtractLoadStep } from './plan-run.js';

/** The plugins of one step, each resolved for the run's environment. */
export interface ResolvedStep {
  readonly extractor: ResolvedPlugin;
  readonly mappers: readonly ResolvedPlugin[];
  readonly loader: ResolvedPlugin;
}

/**
 * Resolves a step's plugins in pipeline order, as `meltano run` does (`ELBContextBuilder`): each
 * plugin sees what the ones before it export, `MELTANO_EXTRACTOR_*` and every setting variable
 * (`TAP_X_*`, `MELTANO_EXTRACT_*`), so a loader's `$MELTANO_EXTRACT__LOAD_SCHEMA` works.
 */
export function resolveStep(
  project: Project,
  environment: Environment,
  runtime: RuntimeEnv,
  step: ExtractLoadStep,
): ResolvedStep {
  let pipeline: EnvMap = runtime.pipeline ?? {};
  const next = (plugin: PluginEntry): ResolvedPlugin => {
    const resolved = resolvePlugin(project, environment, plugin, { ...runtime, pipeline });
    pipeline = {
      ...pipeline,
      ...pluginInfoVariables(plugin, pluginNamespace(plugin)),
      ...settingsEnv(resolved),
    };
    return resolved;
  };
  const extractor = next(step.extractor);
  const mappers = step.mappers.map(next);
  const loader = next(step.loader);
  return { extractor, mappers, loader };
}
