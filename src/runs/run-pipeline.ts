import type { RuntimeEnv } from '../config/env-layers.js';
import { toEnvVar } from '../config/env-var-names.js';
import { expandString } from '../config/expand.js';
import { processConfig } from '../config/process.js';
import { describeSettingGroups, unsatisfiedSettingGroups } from '../config/required-settings.js';
import { type ResolvedPlugin, resolvePlugin } from '../config/resolve.js';
import { SluiceError } from '../errors.js';
import type { TargetPostgresConfig } from '../plugins/builtin/postgres-config.js';
import type { SingerCatalog } from '../plugins/builtin/singer-catalog.js';
import { discoverCsv, tapCsvChunks } from '../plugins/builtin/tap-csv.js';
import type { TapCsvConfig } from '../plugins/builtin/tap-csv-config.js';
import { type TargetDuckdbConfig, targetDuckdb } from '../plugins/builtin/target-duckdb.js';
import { type TargetJsonlConfig, targetJsonl } from '../plugins/builtin/target-jsonl.js';
import { targetPostgres } from '../plugins/builtin/target-postgres.js';
import type { Catalog } from '../plugins/singer/catalog-rules.js';
import { parseMessage } from '../plugins/singer/messages.js';
import type { Environment, Project } from '../project/model.js';
import { builtinOrUndefined, requiredSettingGroups } from './builtin-plugins.js';
import { type PluginCapabilities, pluginCapabilities } from './capabilities.js';
import {
  discoverExternal,
  type ExternalPlugin,
  resolveExecutable,
  runExternalMapper,
  runExternalTap,
  runExternalTarget,
  venvExecutable,
  withPrivateDir,
  writePrivateJson,
} from './external-plugin.js';
import { externalPluginEnv } from './external-plugin-env.js';
import type { StateStore } from './local-state-store.js';
import type { ExtractLoadStep, RunPlan } from './plan-run.js';
import { resolveStep } from './resolve-step.js';
import { generateStateId } from './state-id.js';
import { tapArguments } from './tap-arguments.js';
import { tapCatalog } from './tap-catalog.js';
import { tapState } from './tap-state.js';

export interface RunOptions {
  readonly project: Project;
  /** `sluice run` requires one (meltano-semantics §3.2). */
  readonly environment: Environment;
  readonly runtime: RuntimeEnv;
  readonly stateStore: StateStore;
  /** `--state-id-suffix`: wins over the environment's `state_id_suffix`. */
  readonly stateIdSuffix?: string;
  /** The whole state ID, instead of the generated one (a schedule of an extractor and a loader). */
  readonly stateId?: string;
  /** `--full-refresh`: start without state (the new state is still saved). */
  readonly fullRefresh?: boolean;
  /** Aborting stops the run: every plugin process is stopped and the run fails with the reason. */
  readonly signal?: AbortSignal;
  /** Receives the run's log: Sluice's own lines and every plugin's stderr, prefixed with its name. */
  readonly log?: (line: string) => void;
  /** Where each step's private folder (configuration with secrets) is made; the system's temporary folder by default. */
  readonly scratchDir?: string;
  /**
   * On a server: every path a built-in plugin opens must resolve inside the project folder, after
   * symlinks; absolute paths and escapes are refused (`plugins/confined-paths.ts`).
   */
  readonly confinePaths?: boolean;
  /** Told every PROGRESS_MS while a step moves records: what it has moved so far. */
  readonly onProgress?: (progress: StepProgress) => void;
}

/** How often a step in progress reports its records. */
const PROGRESS_MS = 2000;

/** Records a step has moved so far, by stream, and for how long it has run. */
export interface StepProgress {
  readonly extractor: string;
  readonly loader: string;
  readonly records: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

export interface StepResult {
  readonly extractor: string;
  readonly loader: string;
  readonly stateId: string;
  /** RECORD messages the extractor emitted, by stream, in the order streams first appeared. */
  readonly records: Readonly<Record<string, number>>;
  /** Whether the loader emitted a state that was saved. */
  readonly stateSaved: boolean;
  readonly durationMs: number;
}

function externalPlugin(options: RunOptions, resolved: ResolvedPlugin): ExternalPlugin {
  const projectRoot = options.project.root;
  const name = resolved.plugin.name;
  const log = options.log;
  return {
    name,
    executable: resolveExecutable(projectRoot, resolved.plugin),
    env: externalPluginEnv(resolved, options.runtime, venvExecutable(projectRoot, resolved.plugin)),
    cwd: projectRoot,
    ...(log ? { log: (line: string) => log(`${name} | ${line}`) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** Says in the run's log how a tap's capabilities were found when that may surprise. */
function describeCapabilities(name: string, capabilities: PluginCapabilities): string | undefined {
  if (capabilities.source === 'assumed') {
    return `${name} declares no capabilities and has no lock file: assuming ${[...capabilities.names].join(', ')} (set capabilities: in meltano.yml to change this)`;
  }
  if (capabilities.names.size === 0) {
    return `${name} declares no capabilities: it runs with --config only, without discovery, catalog or state, as in Meltano (list them under capabilities: if it supports them)`;
  }
  return undefined;
}

/** The extractor's output, stopped at the next message once the run is aborted. */
async function* abortable(
  lines: AsyncIterable<string>,
  signal: AbortSignal | undefined,
): AsyncGenerator<string> {
  if (!signal) {
    yield* lines;
    return;
  }
  for await (const line of lines) {
    signal.throwIfAborted();
    yield line;
  }
}

/** The state ID a step reads and advances: the given one, else Meltano's for the extractor and loader. */
function stepStateId(
  options: Pick<RunOptions, 'environment' | 'runtime' | 'stateId' | 'stateIdSuffix'>,
  step: ExtractLoadStep,
  extractor: ResolvedPlugin,
): string {
  return (
    options.stateId ??
    generateStateId({
      environment: options.environment.name,
      extractor: step.extractor.name,
      loader: step.loader.name,
      suffix: stateIdSuffix(options, extractor),
    })
  );
}

/** The state IDs a plan's steps use, in order: what two runs must not share at once. */
export function planStateIds(
  plan: RunPlan,
  options: Pick<RunOptions, 'project' | 'environment' | 'runtime' | 'stateId' | 'stateIdSuffix'>,
): string[] {
  return plan.steps.map((step) =>
    stepStateId(
      options,
      step,
      resolvePlugin(options.project, options.environment, step.extractor, options.runtime),
    ),
  );
}

/** The suffix: the flag, else the environment's `state_id_suffix` expanded with the extractor's variables. */
function stateIdSuffix(
  options: Pick<RunOptions, 'environment' | 'runtime' | 'stateIdSuffix'>,
  extractor: ResolvedPlugin,
): string | null {
  if (options.stateIdSuffix !== undefined) return options.stateIdSuffix;
  const configured = options.environment.stateIdSuffix;
  if (configured === undefined) return null;
  return expandString(configured, extractor.env.expandable, {
    strict: options.runtime.strict,
    context: `state_id_suffix of environment '${options.environment.name}'`,
  });
}

/**
 * Runs one extractor -> loader step in this process. The tap is given what its capabilities
 * allow (catalog, state), as Meltano does. State advances only with the states the loader emits,
 * each after the records before it are durable; each is saved before the extractor is asked for
 * more, so a failed or killed run resumes from the last saved one.
 */
async function runStep(options: RunOptions, step: ExtractLoadStep): Promise<StepResult> {
  const started = performance.now();
  const { project, environment, runtime, stateStore } = options;
  const resolved = resolveStep(project, environment, runtime, step);
  const { extractor, loader } = resolved;
  const stateId = stepStateId(options, step, extractor);
  const tapConfig = processConfig(extractor);
  const targetConfig = processConfig(loader);
  const projectRoot = project.root;
  // What the built-ins are given: where their relative paths resolve, and whether they must stay there.
  const paths = { projectRoot, confinePaths: options.confinePaths === true };
  const tapBuiltin = builtinOrUndefined(project, step.extractor);
  const targetBuiltin = builtinOrUndefined(project, step.loader);
  const tap = tapBuiltin ? undefined : externalPlugin(options, extractor);
  const target = targetBuiltin ? undefined : externalPlugin(options, loader);
  const capabilities = pluginCapabilities(project, step.extractor);
  const log = options.log ?? (() => undefined);
  log(`Running ${step.extractor.name} -> ${step.loader.name} (state ID ${stateId})`);
  const note = describeCapabilities(step.extractor.name, capabilities);
  if (note) log(note);

  const records: Record<string, number> = {};
  let saving: Promise<void> = Promise.resolve();
  let stateSaved = false;
  let reported = 0;
  const progress = options.onProgress
    ? setInterval(() => {
        const total = Object.values(records).reduce((sum, n) => sum + n, 0);
        if (total === reported) return;
        reported = total;
        options.onProgress?.({
          extractor: step.extractor.name,
          loader: step.loader.name,
          records: { ...records },
          elapsedMs: performance.now() - started,
        });
      }, PROGRESS_MS)
    : undefined;
  progress?.unref();
  // Configuration, catalog and state files live in a private folder removed when the step ends.
  await withPrivateDir(async (dir) => {
    const tapConfigPath = tap ? await writePrivateJson(dir, 'tap.config.json', tapConfig) : '';
    const catalog = await tapCatalog({
      extractor,
      capabilities,
      projectRoot,
      log,
      discover: async () =>
        tap
          ? discoverExternal(tap, tapConfigPath)
          : ((await discoverCsv(tapConfig as TapCsvConfig, paths)) as unknown as Catalog),
    });
    const state = await tapState({
      extractor,
      capabilities,
      projectRoot,
      stateStore,
      stateId,
      fullRefresh: options.fullRefresh === true,
      log,
    });

    const tapName = step.extractor.name;
    const countRecords = (stream: string, count: number) => {
      records[stream] = (records[stream] ?? 0) + count;
    };
    async function* forward(items: AsyncIterable<string>): AsyncGenerator<string> {
      let lineNumber = 0;
      for await (const item of items) {
        // An external extractor's output is checked here, where it enters the pipeline, one line
        // per item. The built-in tap's items hold many lines of our own making: it counts them
        // itself (`onRecords`), and reading them again would only cost time.
        if (tap) {
          lineNumber++;
          const message = parseMessage(item.trimEnd(), lineNumber, tapName);
          if (message.type === 'RECORD') countRecords(message.stream, 1);
        }
        yield item;
        // A state the loader emitted meanwhile is saved before the extractor is read further.
        await saving;
      }
    }
    const source = tap
      ? runExternalTap(
          tap,
          tapArguments(capabilities.names, {
            config: tapConfigPath,
            ...(catalog ? { catalog: await writePrivateJson(dir, 'catalog.json', catalog) } : {}),
            ...(state ? { state: await writePrivateJson(dir, 'state.json', state) } : {}),
          }),
        )
      : tapCsvChunks(tapConfig as TapCsvConfig, {
          ...paths,
          ...(catalog ? { catalog: catalog as unknown as SingerCatalog } : {}),
          ...(state ? { state } : {}),
          onRecords: countRecords,
          log,
        });
    const input = forward(abortable(source, options.signal));
    const emitState = (value: unknown) => {
      saving = saving.then(async () => {
        await stateStore.set(stateId, { singer_state: value });
        stateSaved = true;
      });
      // Marks the chain handled until `await saving` reads it (below or in `forward`): a failed
      // write is not lost, it fails the run there instead of crashing the process meanwhile.
      saving.catch(() => undefined);
    };
    // Mappers (external programs) sit between the extractor's checked output and the loader.
    let mapped: AsyncIterable<string> = input;
    for (const [index, mapper] of resolved.mappers.entries()) {
      const configPath = await writePrivateJson(dir, `mapper-${index}.config.json`, processConfig(mapper));
      mapped = runExternalMapper(externalPlugin(options, mapper), configPath, mapped);
    }
    if (target) {
      const targetConfigPath = await writePrivateJson(dir, 'target.config.json', targetConfig);
      await runExternalTarget(target, targetConfigPath, mapped, emitState);
    } else if (targetBuiltin === 'target-duckdb') {
      await targetDuckdb(targetConfig as TargetDuckdbConfig, mapped, emitState, paths);
    } else if (targetBuiltin === 'target-postgres') {
      await targetPostgres(targetConfig as TargetPostgresConfig, mapped, emitState, paths);
    } else {
      await targetJsonl(targetConfig as TargetJsonlConfig, mapped, emitState, paths);
    }
    await saving;
  }, options.scratchDir).finally(() => clearInterval(progress));
  return {
    extractor: step.extractor.name,
    loader: step.loader.name,
    stateId,
    records,
    stateSaved,
    durationMs: performance.now() - started,
  };
}

/**
 * Refuses a plugin none of whose required setting groups has every value in the run's
 * environment (variables count: secrets arrive that way).
 */
function checkRequiredSettings(resolved: ResolvedPlugin, project: Project, environment: Environment): void {
  const plugin = resolved.plugin;
  const groups = requiredSettingGroups(project, plugin);
  if (groups.length === 0) return;
  const missing = unsatisfiedSettingGroups(resolved, groups);
  if (!missing) return;
  const first = missing[0] ?? [];
  const unset = first.filter((name) => {
    const value = resolved.settings.find((s) => s.name === name)?.value;
    return value === undefined || value === null || value === '';
  });
  // The variable Meltano reads first for each: `<PLUGIN_NAME>_<SETTING>`.
  const envVars = unset.map((name) => toEnvVar(resolved.naming.name, name));
  throw new SluiceError(
    'setting_required',
    `${plugin.name} cannot run in environment '${environment.name}': it needs ${describeSettingGroups(missing)}, and ${unset.join(', ') || 'some of them'} ${unset.length === 1 ? 'has' : 'have'} no value there. Set ${unset.length === 1 ? 'it' : 'them'} in meltano.yml (under environments: ${environment.name}, or the plugin's config)${envVars.length ? `, or as ${envVars.join(', ')}` : ''}.`,
    { plugin: plugin.name, environment: environment.name, settings: unset, groups: missing },
  );
}

/**
 * Refuses, before anything starts, a plan with a plugin that lacks a required setting. Each
 * plugin is resolved as its step will run it (seeing what the plugins before it export).
 */
export function checkPlanSettings(
  plan: RunPlan,
  options: Pick<RunOptions, 'project' | 'environment' | 'runtime'>,
): void {
  const { project, environment, runtime } = options;
  for (const step of plan.steps) {
    const resolved = resolveStep(project, environment, runtime, step);
    for (const plugin of [resolved.extractor, ...resolved.mappers, resolved.loader])
      checkRequiredSettings(plugin, project, environment);
  }
}

/** Runs a plan's steps in order; the run stops at the first step that fails. */
export async function runPlan(
  plan: RunPlan,
  options: RunOptions,
  onStep?: (result: StepResult) => void,
): Promise<readonly StepResult[]> {
  // Every plugin is checked before anything runs, so a missing setting fails fast.
  checkPlanSettings(plan, options);
  const results: StepResult[] = [];
  for (const step of plan.steps) {
    try {
      const result = await runStep(options, step);
      results.push(result);
      onStep?.(result);
    } catch (cause) {
      // Whatever a stopped plugin reported, the run ended because it was stopped.
      const reason = options.signal?.aborted ? options.signal.reason : undefined;
      if (reason instanceof SluiceError) throw reason;
      if (cause instanceof SluiceError) throw cause;
      throw new SluiceError(
        'run_failed',
        `Run ${step.extractor.name} -> ${step.loader.name} failed: ${(cause as Error).message ?? String(cause)}. The state stays at the last one the loader confirmed.`,
        { extractor: step.extractor.name, loader: step.loader.name },
      );
    }
  }
  return results;
}
