import { SluiceError } from '../../errors.js';
import { openLocalStateStore } from '../../runs/local-state-store.js';
import { planRun } from '../../runs/plan-run.js';
import { runPlan, type StepResult } from '../../runs/run-pipeline.js';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../io.js';
import { announceEnvironment, openProject } from '../project-context.js';

export interface RunCommandOptions {
  readonly stateIdSuffix?: string;
  readonly fullRefresh?: boolean;
}

function summary(result: StepResult): string {
  const streams = Object.entries(result.records);
  const lines = [`${result.extractor} -> ${result.loader}: state ID ${result.stateId}`];
  if (streams.length === 0) lines.push('  no records');
  for (const [stream, count] of streams) lines.push(`  ${stream}: ${count} record${count === 1 ? '' : 's'}`);
  lines.push(
    `  ${result.stateSaved ? 'state saved' : 'no state emitted'}; ${(result.durationMs / 1000).toFixed(2)} s`,
  );
  return `${lines.join('\n')}\n`;
}

/** `sluice run BLOCK...`: runs extractor -> loader pipelines (and jobs) in the chosen environment. */
export async function run(
  globals: GlobalOptions,
  io: CliIo,
  blocks: readonly string[],
  options: RunCommandOptions,
): Promise<void> {
  const context = openProject(globals, io);
  const environment = context.choice.environment;
  if (environment === null) {
    throw new SluiceError(
      'environment_required',
      'A Meltano environment must be specified. Set the `default_environment` option in `meltano.yml`, or the `--environment` CLI option.',
    );
  }
  announceEnvironment(context, io);
  const plan = planRun(context.project, blocks);
  const stateStore = await openLocalStateStore(context.project.root);
  const started = performance.now();
  // Ctrl-C (or a TERM from a supervisor) stops every plugin of the run; the state stays at the
  // last one the loader confirmed.
  const controller = new AbortController();
  const interrupt = (signal: NodeJS.Signals) =>
    controller.abort(
      new SluiceError(
        'run_cancelled',
        `The run was interrupted (${signal}). The state stays at the last one the loader confirmed; run it again to resume.`,
      ),
    );
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    await runPlan(
      plan,
      {
        project: context.project,
        environment,
        runtime: context.runtime,
        stateStore,
        ...(options.stateIdSuffix !== undefined ? { stateIdSuffix: options.stateIdSuffix } : {}),
        fullRefresh: options.fullRefresh === true,
        signal: controller.signal,
        log: (line) => io.stderr(`${line}\n`),
      },
      (result) => io.stdout(summary(result)),
    );
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await stateStore.close();
  }
  io.stdout(`Run completed in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
}
