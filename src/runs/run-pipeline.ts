import type { RuntimeEnv } from '../config/env-layers.js';
import { expandString } from '../config/expand.js';
import { processConfig } from '../config/process.js';
import { type ResolvedPlugin, resolvePlugin } from '../config/resolve.js';
import { SluiceError } from '../errors.js';
import type { SingerCatalog, SingerState } from '../plugins/builtin/singer-catalog.js';
import { discoverCsv, tapCsv } from '../plugins/builtin/tap-csv.js';
import type { TapCsvConfig } from '../plugins/builtin/tap-csv-config.js';
import { type TargetDuckdbConfig, targetDuckdb } from '../plugins/builtin/target-duckdb.js';
import { type TargetJsonlConfig, targetJsonl } from '../plugins/builtin/target-jsonl.js';
import { applyCatalogRules, type Catalog, type CatalogRules } from '../plugins/singer/catalog-rules.js';
import { parseMessage } from '../plugins/singer/messages.js';
import type { Environment, PluginEntry, Project, YamlValue } from '../project/model.js';
import { type BuiltinPlugin, builtinFor } from './builtin-plugins.js';
import {
  discoverExternal,
  type ExternalPlugin,
  resolveExecutable,
  runExternalTap,
  runExternalTarget,
  withPrivateDir,
  writePrivateJson,
} from './external-plugin.js';
import type { LocalStateStore } from './local-state-store.js';
import type { ExtractLoadStep, RunPlan } from './plan-run.js';
import { generateStateId } from './state-id.js';

export interface RunOptions {
  readonly project: Project;
  /** `sluice run` requires one (meltano-semantics §3.2). */
  readonly environment: Environment;
  readonly runtime: RuntimeEnv;
  readonly stateStore: LocalStateStore;
  /** `--state-id-suffix`: wins over the environment's `state_id_suffix`. */
  readonly stateIdSuffix?: string;
  /** `--full-refresh`: start without state (the new state is still saved). */
  readonly fullRefresh?: boolean;
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

function extra(resolved: ResolvedPlugin, name: string): YamlValue | undefined {
  return resolved.extras.find((s) => s.name === name)?.value ?? undefined;
}

function isMap(value: YamlValue | undefined): value is { readonly [key: string]: YamlValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The extractor's `select`, `metadata` and `schema` extras, as resolved for the environment. */
function catalogRules(resolved: ResolvedPlugin): CatalogRules {
  const select = extra(resolved, '_select');
  const metadata = extra(resolved, '_metadata');
  const schema = extra(resolved, '_schema');
  return {
    ...(Array.isArray(select) ? { select: select.map(String) } : {}),
    ...(isMap(metadata) ? { metadata } : {}),
    ...(isMap(schema) ? { schema: schema as CatalogRules['schema'] & object } : {}),
  };
}

/** The built-in that runs the plugin in-process, or undefined: it runs as a program. */
function builtinOf(project: Project, plugin: PluginEntry): BuiltinPlugin | undefined {
  try {
    return builtinFor(project, plugin);
  } catch (error) {
    if (error instanceof SluiceError && error.code === 'plugin_unsupported') return undefined;
    throw error;
  }
}

function notWiredYet(plugin: PluginEntry, builtin: BuiltinPlugin): SluiceError {
  return new SluiceError(
    'plugin_unsupported',
    `'${plugin.name}' runs as the built-in ${builtin}, which cannot take this role in a run yet.`,
    { plugin: plugin.name, builtin },
  );
}

function externalPlugin(projectRoot: string, resolved: ResolvedPlugin): ExternalPlugin {
  return {
    name: resolved.plugin.name,
    executable: resolveExecutable(projectRoot, resolved.plugin),
    env: resolved.env.store,
    cwd: projectRoot,
  };
}

/** The suffix: the flag, else the environment's `state_id_suffix` expanded with the extractor's variables. */
function stateIdSuffix(options: RunOptions, extractor: ResolvedPlugin): string | null {
  if (options.stateIdSuffix !== undefined) return options.stateIdSuffix;
  const configured = options.environment.stateIdSuffix;
  if (configured === undefined) return null;
  return expandString(configured, extractor.env.expandable, {
    strict: options.runtime.strict,
    context: `state_id_suffix of environment '${options.environment.name}'`,
  });
}

/**
 * Runs one extractor -> loader step in this process. State advances only with the STATEs the
 * loader emits, each after the records before it are durable; each is saved before the extractor
 * is asked for more, so a failed or killed run resumes from the last saved one.
 */
async function runStep(options: RunOptions, step: ExtractLoadStep): Promise<StepResult> {
  const started = performance.now();
  const { project, environment, runtime, stateStore } = options;
  const extractor = resolvePlugin(project, environment, step.extractor, runtime);
  const loader = resolvePlugin(project, environment, step.loader, runtime);
  const stateId = generateStateId({
    environment: environment.name,
    extractor: step.extractor.name,
    loader: step.loader.name,
    suffix: stateIdSuffix(options, extractor),
  });
  const tapConfig = processConfig(extractor);
  const targetConfig = processConfig(loader);
  const projectRoot = project.root;
  const tapBuiltin = builtinOf(project, step.extractor);
  const targetBuiltin = builtinOf(project, step.loader);
  if (tapBuiltin !== undefined && tapBuiltin !== 'tap-csv') throw notWiredYet(step.extractor, tapBuiltin);
  if (targetBuiltin !== undefined && targetBuiltin !== 'target-jsonl' && targetBuiltin !== 'target-duckdb') {
    throw notWiredYet(step.loader, targetBuiltin);
  }
  const tap = tapBuiltin ? undefined : externalPlugin(projectRoot, extractor);
  const target = targetBuiltin ? undefined : externalPlugin(projectRoot, loader);

  const records: Record<string, number> = {};
  let saving: Promise<void> = Promise.resolve();
  let stateSaved = false;
  // Configuration, catalog and state files live in a private folder removed when the step ends.
  await withPrivateDir(async (dir) => {
    const tapConfigPath = tap ? await writePrivateJson(dir, 'tap.config.json', tapConfig) : '';
    const discovered = tap
      ? await discoverExternal(tap, tapConfigPath)
      : ((await discoverCsv(tapConfig as TapCsvConfig, { projectRoot })) as unknown as Catalog);
    const catalog = applyCatalogRules(discovered, catalogRules(extractor));
    const stored = options.fullRefresh ? undefined : await stateStore.get(stateId);
    const state = stored?.value.singer_state as SingerState | undefined;

    const tapName = step.extractor.name;
    async function* forward(lines: AsyncIterable<string>): AsyncGenerator<string> {
      let lineNumber = 0;
      for await (const line of lines) {
        lineNumber++;
        // The extractor's output is checked here, where it enters the pipeline.
        const message = parseMessage(line.trimEnd(), lineNumber, tapName);
        if (message.type === 'RECORD') records[message.stream] = (records[message.stream] ?? 0) + 1;
        yield line;
        // A state the loader emitted meanwhile is saved before the extractor is read further.
        await saving;
      }
    }
    const source = tap
      ? runExternalTap(tap, {
          config: tapConfigPath,
          catalog: await writePrivateJson(dir, 'catalog.json', catalog),
          ...(state ? { state: await writePrivateJson(dir, 'state.json', state) } : {}),
        })
      : tapCsv(tapConfig as TapCsvConfig, {
          projectRoot,
          catalog: catalog as unknown as SingerCatalog,
          ...(state ? { state } : {}),
        });
    const input = forward(source);
    const emitState = (value: unknown) => {
      saving = saving.then(async () => {
        await stateStore.set(stateId, { singer_state: value });
        stateSaved = true;
      });
      // Marks the chain handled until `await saving` reads it (below or in `forward`): a failed
      // write is not lost, it fails the run there instead of crashing the process meanwhile.
      saving.catch(() => undefined);
    };
    if (target) {
      const targetConfigPath = await writePrivateJson(dir, 'target.config.json', targetConfig);
      await runExternalTarget(target, targetConfigPath, input, emitState);
    } else {
      if (targetBuiltin === 'target-duckdb') {
        await targetDuckdb(targetConfig as TargetDuckdbConfig, input, emitState, { projectRoot });
      } else {
        await targetJsonl(targetConfig as TargetJsonlConfig, input, emitState, { projectRoot });
      }
    }
    await saving;
  });
  return {
    extractor: step.extractor.name,
    loader: step.loader.name,
    stateId,
    records,
    stateSaved,
    durationMs: performance.now() - started,
  };
}

/** Runs a plan's steps in order; the run stops at the first step that fails. */
export async function runPlan(
  plan: RunPlan,
  options: RunOptions,
  onStep?: (result: StepResult) => void,
): Promise<readonly StepResult[]> {
  // Every plugin is checked before anything runs, so a typo fails fast.
  // Mappers run only built in (there is none yet); extractors and loaders may be external.
  for (const step of plan.steps) {
    for (const mapper of step.mappers) builtinFor(options.project, mapper);
  }
  const results: StepResult[] = [];
  for (const step of plan.steps) {
    try {
      const result = await runStep(options, step);
      results.push(result);
      onStep?.(result);
    } catch (cause) {
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
