import { SluiceError } from '../errors.js';
import type { Job, PluginEntry, Project, YamlValue } from '../project/model.js';

/** One extractor -> (mappers) -> loader pipeline of a run: Meltano's `ExtractLoadBlocks`. */
export interface ExtractLoadStep {
  readonly kind: 'extract-load';
  readonly extractor: PluginEntry;
  readonly mappers: readonly PluginEntry[];
  readonly loader: PluginEntry;
}

export interface RunPlan {
  /** The block names after job names were replaced by their tasks. */
  readonly blocks: readonly string[];
  readonly steps: readonly ExtractLoadStep[];
}

const BLOCK_TYPES = new Set(['extractors', 'mappers', 'loaders']);

/** A job's `tasks`: a string of blocks, or a list of such strings (or lists of names). */
function jobBlocks(job: Job): string[] {
  const names: string[] = [];
  const visit = (value: YamlValue): void => {
    if (typeof value === 'string') names.push(...value.split(/\s+/).filter((n) => n !== ''));
    else if (Array.isArray(value)) for (const item of value) visit(item);
    else {
      throw new SluiceError(
        'project_invalid',
        `Job '${job.name}' (${job.file}): tasks must be a string of plugin names or a list of them.`,
        { job: job.name },
      );
    }
  };
  visit(job.tasks);
  return names;
}

/** Job names replaced by their tasks; a job name wins over a plugin of the same name, as in Meltano. */
function expandJobs(project: Project, args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const job = project.jobs.find((j) => j.name === arg);
    out.push(...(job ? jobBlocks(job) : [arg]));
  }
  return out;
}

/**
 * A mapper named by one of its `mappings` names: Meltano runs the mapper with that mapping's
 * `config` in place of the mapper's own (`get_plugins_for_mappings`).
 */
function mapperByMapping(project: Project, name: string): PluginEntry | undefined {
  for (const plugin of project.plugins) {
    if (plugin.type !== 'mappers' || !Array.isArray(plugin.extras.mappings)) continue;
    for (const mapping of plugin.extras.mappings) {
      if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping) || mapping.name !== name)
        continue;
      const config = mapping.config;
      const isMap = typeof config === 'object' && config !== null && !Array.isArray(config);
      return { ...plugin, config: isMap ? config : {} };
    }
  }
  return undefined;
}

function findBlock(project: Project, name: string): PluginEntry {
  const plugins = project.plugins.filter((p) => p.name === name && BLOCK_TYPES.has(p.type));
  const [first] = plugins;
  if (plugins.length === 1 && first) return first;
  if (plugins.length > 1) {
    throw new SluiceError(
      'plugin_ambiguous',
      `'${name}' names ${plugins.length} plugins (${plugins.map((p) => p.type).join(', ')}); a run cannot tell which one to use. Rename one of them.`,
      { plugin: name },
    );
  }
  const mapper = mapperByMapping(project, name);
  if (mapper) return mapper;
  const other = project.plugins.find((p) => p.name === name.split(':')[0]);
  if (other) {
    throw new SluiceError(
      'plugin_unsupported',
      `'${name}' is a ${other.type.replace(/s$/, '')}${name.includes(':') ? ' command' : ''}; sluice run takes only extractors, mappers, loaders and job names for now.`,
      { block: name },
    );
  }
  const known = [
    ...project.plugins.filter((p) => BLOCK_TYPES.has(p.type)).map((p) => p.name),
    ...project.jobs.map((j) => j.name),
  ];
  throw new SluiceError(
    'plugin_not_found',
    `'${name}' is neither an extractor, mapper or loader nor a job in this project.${known.length ? ` Known: ${known.join(', ')}.` : ''} Define it in meltano.yml or fix the name.`,
    { block: name, known },
  );
}

/**
 * Turns `sluice run` arguments into extract-load steps, as Meltano's block parser does: job names
 * expand to their tasks; each extractor must be followed by any mappers and then a loader.
 */
export function planRun(project: Project, args: readonly string[]): RunPlan {
  if (args.length === 0) {
    throw new SluiceError(
      'usage',
      'Name at least one extractor and loader (or a job): sluice run tap-x target-y.',
    );
  }
  const blocks = expandJobs(project, args);
  const steps: ExtractLoadStep[] = [];
  let extractor: PluginEntry | undefined;
  let mappers: PluginEntry[] = [];
  for (const name of blocks) {
    const plugin = findBlock(project, name);
    if (plugin.type === 'extractors') {
      if (extractor) throw missingLoader(extractor, name);
      extractor = plugin;
      mappers = [];
    } else if (extractor === undefined) {
      throw new SluiceError(
        'run_invalid',
        `${plugin.type === 'loaders' ? 'Loader' : 'Mapper'} '${name}' has no extractor before it. Put an extractor first: sluice run tap-x ${name}.`,
        { block: name },
      );
    } else if (plugin.type === 'mappers') {
      mappers.push(plugin);
    } else {
      steps.push({ kind: 'extract-load', extractor, mappers, loader: plugin });
      extractor = undefined;
    }
  }
  if (extractor) throw missingLoader(extractor);
  return { blocks, steps };
}

function missingLoader(extractor: PluginEntry, next?: string): SluiceError {
  return new SluiceError(
    'run_invalid',
    `Extractor '${extractor.name}' has no loader after it${next ? ` (the next block, '${next}', is another extractor)` : ''}. Add a loader: sluice run ${extractor.name} target-x.`,
    { block: extractor.name },
  );
}
