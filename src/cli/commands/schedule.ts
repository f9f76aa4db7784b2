import { SluiceError } from '../../errors.js';
import { type ScheduleRuns, type ScheduleView, viewSchedules } from '../../schedules/schedule-view.js';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../io.js';
import { openProject } from '../project-context.js';
import { renderTable } from '../render/table.js';

function describeRuns(runs: ScheduleRuns | null): string {
  if (runs === null) return '?';
  if (runs.kind === 'job') return `job ${runs.job}`;
  return `${runs.extractor} -> ${runs.loader}${runs.transform === 'skip' ? '' : ` (transform: ${runs.transform})`}`;
}

/** `2024-05-01T06:00Z`: UTC to the minute, as schedules fire. */
function isoMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16)}Z`;
}

function describeNextRun(view: ScheduleView): string {
  if (view.status === 'invalid') return 'invalid (see below)';
  if (view.interval.kind === 'manual') return 'manual';
  return view.nextRun ? isoMinute(view.nextRun) : 'never';
}

function toJson(view: ScheduleView) {
  const runs =
    view.runs === null
      ? null
      : view.runs.kind === 'job'
        ? { job: view.runs.job }
        : { extractor: view.runs.extractor, loader: view.runs.loader, transform: view.runs.transform };
  return {
    name: view.name,
    file: view.file,
    status: view.status,
    runs,
    interval: view.intervalText,
    cron: view.status === 'valid' && view.interval.kind === 'cron' ? view.interval.cron : null,
    nextRun: view.status === 'valid' && view.nextRun ? view.nextRun.toISOString() : null,
    startDate: view.startDate,
    env: view.env,
    ...(view.status === 'invalid'
      ? { errors: view.errors.map((e) => ({ code: e.code, message: e.message })) }
      : {}),
  };
}

/**
 * `sluice schedule list [--format json]`: every schedule with what it runs, its interval and its
 * next run (UTC). Lists invalid schedules too, then fails naming each problem.
 */
export function scheduleList(globals: GlobalOptions, io: CliIo, options: { format?: string }): void {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new SluiceError('usage', `--format must be text or json, not '${format}'.`);
  const { project } = openProject(globals, io);
  const views = viewSchedules(project, new Date());
  if (format === 'json') {
    io.stdout(`${JSON.stringify({ schedules: views.map(toJson) }, null, 2)}\n`);
  } else if (views.length === 0) {
    io.stderr('sluice: the project defines no schedules\n');
  } else {
    const rows = views.map((v) => [v.name, describeRuns(v.runs), v.intervalText ?? '', describeNextRun(v)]);
    io.stdout(`${renderTable(['NAME', 'RUNS', 'INTERVAL', 'NEXT RUN'], rows)}\n`);
  }
  const errors = views.flatMap((v) => (v.status === 'invalid' ? v.errors : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new SluiceError(
      'project_invalid',
      `${errors.length} problems in the schedules:\n${errors.map((e) => `  ${e.message}`).join('\n')}`,
      { errors: errors.map((e) => ({ code: e.code, message: e.message })) },
    );
  }
}
