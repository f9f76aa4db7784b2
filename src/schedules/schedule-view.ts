import { errorAt, SluiceError, type SluiceErrorCode } from '../errors.js';
import type { Project, Schedule, YamlValue } from '../project/model.js';
import { type Interval, nextRun, parseInterval } from './cron.js';

/**
 * What a schedule runs. Meltano schedules name either a `job`, or an `extractor` and a `loader`
 * (with `transform`: `skip`, `run` or `only`; `skip` when left out), which Meltano runs as
 * `meltano elt` with the schedule's name as the state ID (meltano-semantics §8).
 */
export type ScheduleRuns =
  | { readonly kind: 'job'; readonly job: string }
  | {
      readonly kind: 'elt';
      readonly extractor: string;
      readonly loader: string;
      readonly transform: 'skip' | 'run' | 'only';
    };

interface ScheduleBase {
  readonly name: string;
  /** The file it is written in (its errors carry the line and column). */
  readonly file: string;
  /** The `interval` as written (`null` when it is missing or not a string). */
  readonly intervalText: string | null;
  /** `null` when the schedule does not say what it runs in a way Sluice can read. */
  readonly runs: ScheduleRuns | null;
  /** The schedule's `env:`, as written (Meltano hands it to the run as its OS environment). */
  readonly env: YamlValue;
  /** `start_date`, as written (Meltano passes it to Airflow; Sluice shows it only). */
  readonly startDate: YamlValue;
}

/** One schedule of a project, ready to list: valid with its next run, or invalid with every problem. */
export type ScheduleView =
  | (ScheduleBase & {
      readonly status: 'valid';
      readonly runs: ScheduleRuns;
      readonly interval: Interval;
      /** `null` when the interval never fires on its own (`@once`) or no date satisfies it. */
      readonly nextRun: Date | null;
    })
  | (ScheduleBase & { readonly status: 'invalid'; readonly errors: readonly SluiceError[] });

const TRANSFORMS = ['skip', 'run', 'only'] as const;

function problem(schedule: Schedule, code: SluiceErrorCode, message: string): SluiceError {
  return errorAt(code, schedule.position, `Schedule '${schedule.name}' ${message}`, {
    schedule: schedule.name,
  });
}

function nonEmptyString(value: YamlValue | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * What the schedule runs, read from its entry alone (whether the job or plugins exist is checked by
 * `viewSchedules`). A schedule with a `job` key is a job schedule, as in Meltano's `MeltanoFile`.
 * Throws a `project_invalid` SluiceError when the entry names neither a job nor both plugins.
 */
export function readScheduleRuns(schedule: Schedule): ScheduleRuns {
  const { raw } = schedule;
  if (raw.job !== undefined) {
    if (!nonEmptyString(raw.job))
      throw problem(schedule, 'project_invalid', 'has a `job` that is not a name.');
    return { kind: 'job', job: raw.job };
  }
  const missing = (['extractor', 'loader'] as const).filter((key) => !nonEmptyString(raw[key]));
  if (missing.length > 0) {
    throw problem(
      schedule,
      'project_invalid',
      `names no ${missing.map((k) => `\`${k}\``).join(' and ')}. A schedule runs either a \`job\`, or an \`extractor\` and a \`loader\`.`,
    );
  }
  const transform = raw.transform ?? 'skip';
  if (!TRANSFORMS.includes(transform as (typeof TRANSFORMS)[number])) {
    throw problem(
      schedule,
      'project_invalid',
      `has transform ${JSON.stringify(transform)}; it must be one of ${TRANSFORMS.join(', ')}.`,
    );
  }
  return {
    kind: 'elt',
    extractor: raw.extractor as string,
    loader: raw.loader as string,
    transform: transform as (typeof TRANSFORMS)[number],
  };
}

/**
 * The blocks a scheduler hands to `run` for this schedule: `[job]`, or `[extractor, loader]`.
 * Throws when the entry cannot be read, and for `transform: run`/`only`, which Sluice cannot run.
 * Note: Meltano runs an ELT schedule with the schedule's name as state ID; `run` derives the state
 * ID from the environment and the plugins instead.
 */
export function scheduleBlocks(schedule: Schedule): string[] {
  const runs = readScheduleRuns(schedule);
  if (runs.kind === 'job') return [runs.job];
  if (runs.transform !== 'skip') throw transformUnsupported(schedule, runs.transform);
  return [runs.extractor, runs.loader];
}

function transformUnsupported(schedule: Schedule, transform: string): SluiceError {
  return problem(
    schedule,
    'plugin_unsupported',
    `has \`transform: ${transform}\`, which Sluice does not run. Use \`transform: skip\`, or schedule a job whose tasks run the transformer.`,
  );
}

/** Parses the schedule's `interval`; throws a `project_invalid` SluiceError naming the schedule. */
export function scheduleInterval(schedule: Schedule): Interval {
  const text = schedule.raw.interval;
  if (typeof text !== 'string') {
    throw problem(
      schedule,
      'project_invalid',
      text === undefined || text === null
        ? 'has no `interval`. Give a cron expression or one of @hourly, @daily, @weekly, @monthly, @yearly, @once.'
        : `has an \`interval\` that is not a string (${JSON.stringify(text)}); quote it.`,
    );
  }
  return parseInterval(text, { schedule: schedule.name, position: schedule.position });
}

/** Checks that the job or the plugins a schedule runs are defined in the project. */
function checkTargets(project: Project, schedule: Schedule, runs: ScheduleRuns): SluiceError[] {
  if (runs.kind === 'job') {
    if (project.jobs.some((j) => j.name === runs.job)) return [];
    const defined = project.jobs.map((j) => j.name);
    return [
      problem(
        schedule,
        'project_invalid',
        `runs job '${runs.job}', which is not defined. ${defined.length ? `Defined jobs: ${defined.join(', ')}.` : 'The project defines no jobs.'}`,
      ),
    ];
  }
  const errors: SluiceError[] = [];
  for (const [type, name] of [
    ['extractors', runs.extractor],
    ['loaders', runs.loader],
  ] as const) {
    if (!project.plugins.some((p) => p.type === type && p.name === name)) {
      errors.push(
        problem(
          schedule,
          'plugin_not_found',
          `runs ${type === 'extractors' ? 'extractor' : 'loader'} '${name}', which is not defined under \`plugins.${type}\`.`,
        ),
      );
    }
  }
  if (runs.transform !== 'skip') errors.push(transformUnsupported(schedule, runs.transform));
  return errors;
}

function attempt<T>(read: () => T, errors: SluiceError[]): T | null {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    errors.push(error);
    return null;
  }
}

/**
 * Every schedule of the project, in file order, with what it runs, its interval and its next run
 * after `now` (UTC). Problems do not stop the list: an invalid schedule carries all of its errors.
 * Schedules are not environment-aware in Meltano, so neither is this view.
 */
export function viewSchedules(project: Project, now: Date): ScheduleView[] {
  return project.schedules.map((schedule): ScheduleView => {
    const errors: SluiceError[] = [];
    const runs = attempt(() => readScheduleRuns(schedule), errors);
    if (runs) errors.push(...checkTargets(project, schedule, runs));
    const interval = attempt(() => scheduleInterval(schedule), errors);
    const base = {
      name: schedule.name,
      file: schedule.file,
      intervalText: typeof schedule.raw.interval === 'string' ? schedule.raw.interval : null,
      runs,
      env: schedule.raw.env ?? {},
      startDate: schedule.raw.start_date ?? null,
    };
    if (runs && interval && errors.length === 0) {
      return { ...base, status: 'valid', runs, interval, nextRun: nextRun(interval, now) };
    }
    return { ...base, status: 'invalid', errors };
  });
}
