import { errorAt, SluiceError, type SourcePosition } from '../errors.js';

/**
 * Meltano's named intervals (`CRON_INTERVALS` in `src/meltano/core/schedule.py`). `null` means the
 * schedule never runs on its own: Meltano's Airflow DAG generator skips it ("No DAG created ...
 * because its interval is set to `@once`"); it runs only when started by hand.
 */
export const INTERVAL_PRESETS = {
  '@once': null,
  '@manual': null,
  '@none': null,
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
} as const satisfies Readonly<Record<string, string | null>>;

export type IntervalPreset = keyof typeof INTERVAL_PRESETS;

/** The minutes at which a cron expression fires, each field expanded to its sorted values (UTC). */
export interface CronSpec {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 is Sunday (7 in the expression is read as 0). */
  readonly daysOfWeek: readonly number[];
  /**
   * `either` when both day fields restrict the day: a day matches if it matches one of them (the
   * classic cron rule, and croniter's, which Meltano and Airflow use). Otherwise `both`.
   */
  readonly dayMatch: 'either' | 'both';
}

/** A schedule's `interval`, parsed. */
export type Interval =
  | { readonly kind: 'manual'; readonly text: IntervalPreset }
  | { readonly kind: 'cron'; readonly text: string; readonly cron: string; readonly spec: CronSpec };

/** What a message about an interval names: the schedule and, when known, where it is written. */
export interface IntervalSource {
  readonly schedule: string;
  readonly position?: SourcePosition;
}

interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly allowed: string;
  readonly names?: Readonly<Record<string, number>>;
  /** `?` means "any", as in croniter (day fields only). */
  readonly question?: true;
}

const MONTH_NAMES = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
} as const satisfies Record<string, number>;

const DAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } as const satisfies Record<
  string,
  number
>;

const DAY_OF_MONTH = 2;
const DAY_OF_WEEK = 4;

// Day of week is read over 0-7 (7 = Sunday, folded to 0 afterwards), as cron and croniter do.
const FIELDS: readonly FieldRule[] = [
  { name: 'minute', min: 0, max: 59, allowed: '0-59' },
  { name: 'hour', min: 0, max: 23, allowed: '0-23' },
  { name: 'day-of-month', min: 1, max: 31, allowed: '1-31 or ?', question: true },
  { name: 'month', min: 1, max: 12, allowed: '1-12 or jan-dec', names: MONTH_NAMES },
  {
    name: 'day-of-week',
    min: 0,
    max: 7,
    allowed: '0-7 (0 and 7 are Sunday), sun-sat or ?',
    names: DAY_NAMES,
    question: true,
  },
];

const SYNTAX = 'each part a value, a range a-b, a step */n, a/n or a-b/n, or *; parts separated by commas';

const PRESET_LIST = Object.keys(INTERVAL_PRESETS).join(', ');

function isPreset(text: string): text is IntervalPreset {
  return Object.hasOwn(INTERVAL_PRESETS, text);
}

/** A field that cannot be read: says which field, what was wrong and what the field allows. */
class FieldError extends Error {}

function fail(source: IntervalSource, text: string, problem: string, details: Record<string, unknown>) {
  const message = `Schedule '${source.schedule}': interval '${text}' is not valid: ${problem}`;
  const all = { schedule: source.schedule, interval: text, ...details };
  return source.position
    ? errorAt('project_invalid', source.position, message, all)
    : new SluiceError('project_invalid', message, all);
}

/**
 * Parses a schedule's `interval`: one of Meltano's presets (`@daily`, `@once`, ...; see
 * `INTERVAL_PRESETS`) or a 5-field cron expression (minute hour day-of-month month day-of-week)
 * with lists, ranges, steps, `*`, `?`, month and weekday names. Throws a `project_invalid`
 * SluiceError naming the schedule, the field and what it allows.
 */
export function parseInterval(text: string, source: IntervalSource): Interval {
  const trimmed = text.trim();
  if (trimmed.startsWith('@')) {
    if (isPreset(trimmed)) {
      const cron = INTERVAL_PRESETS[trimmed];
      return cron === null
        ? { kind: 'manual', text: trimmed }
        : { kind: 'cron', text: trimmed, cron, spec: parseCron(cron, text, source) };
    }
    const lower = trimmed.toLowerCase();
    // Meltano looks presets up as written (`CRON_INTERVALS.get(interval)`), so `@Daily` is no preset.
    const hint = isPreset(lower) ? ` Write it in lower case: '${lower}'.` : '';
    throw fail(source, text, `'${trimmed}' is not one of Meltano's intervals (${PRESET_LIST}).${hint}`, {
      allowed: Object.keys(INTERVAL_PRESETS),
    });
  }
  return { kind: 'cron', text, cron: trimmed, spec: parseCron(trimmed, text, source) };
}

function parseCron(cron: string, text: string, source: IntervalSource): CronSpec {
  const parts = cron.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) {
    throw fail(
      source,
      text,
      `a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has ${parts.length}. Or use one of ${PRESET_LIST}.`,
      { fields: parts.length },
    );
  }
  const sets = parts.map((field, i) => {
    const rule = FIELDS[i] as FieldRule;
    try {
      return expandField(field, rule);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      throw fail(
        source,
        text,
        `the ${rule.name} field '${parts[i]}' ${error.message}. The ${rule.name} field allows ${rule.allowed}: ${SYNTAX}.`,
        { field: rule.name, value: parts[i], allowed: rule.allowed },
      );
    }
  });
  const [minutes, hours, daysOfMonth, months, daysOfWeekRaw] = sets as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  const daysOfWeek = [...new Set(daysOfWeekRaw.map((d) => d % 7))].sort((a, b) => a - b);
  return {
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    dayMatch:
      restrictsDays(parts[DAY_OF_MONTH] as string, daysOfMonth.length === 31, parts[DAY_OF_WEEK] as string) &&
      restrictsDays(parts[DAY_OF_WEEK] as string, daysOfWeek.length === 7, parts[DAY_OF_MONTH] as string)
        ? 'either'
        : 'both',
  };
}

/**
 * croniter's rule for whether a day field restricts the day: not when it is `*` or `?`, nor when
 * it lists every value while the other day field contains a `*` (it then counts as `*`).
 */
function restrictsDays(field: string, full: boolean, otherField: string): boolean {
  if (field === '*' || field === '?') return false;
  return !(full && otherField.includes('*'));
}

function expandField(field: string, rule: FieldRule): number[] {
  if (field === '?') {
    if (!rule.question) throw new FieldError("uses '?', which only the day fields accept");
    return range(rule.min, rule.max === 7 ? 6 : rule.max);
  }
  const values = new Set<number>();
  for (const part of field.split(',')) {
    for (const value of expandPart(part, rule)) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** croniter's extensions: last day (`L`, `5L`), nearest weekday (`15W`), nth weekday (`5#2`), hashes (`H`). */
const EXTENSION = /#|^l$|^l\d|\dl$|^\d+w$|^w\d+$|^h(?:$|[(/])/i;

function expandPart(part: string, rule: FieldRule): number[] {
  if (part === '') throw new FieldError('has an empty part');
  if (EXTENSION.test(part)) {
    throw new FieldError(`has '${part}': the L, W, # and H extensions are not supported`);
  }
  const match = /^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\d+))?$/i.exec(part);
  if (!match) throw new FieldError(`cannot be read at '${part}'`);
  const [, first = '', last, stepText] = match;
  const step = stepText === undefined ? 1 : Number(stepText);
  if (step < 1) throw new FieldError(`has step ${stepText}; a step must be 1 or more`);
  // Day of week counts 0-6 in a cycle; 7 is Sunday again.
  const cycleMax = rule.max === 7 ? 6 : rule.max;
  let low: number;
  let high: number;
  if (first === '*') {
    if (last !== undefined) throw new FieldError(`cannot be read at '${part}'`);
    low = rule.min;
    high = cycleMax;
  } else {
    low = value(first, rule);
    // `a/n` runs from a to the end of the field, as croniter reads it.
    high = last !== undefined ? value(last, rule) : stepText !== undefined ? cycleMax : low;
  }
  if (rule.max === 7) {
    // `5-7` is Friday to Sunday; `7-2` is Sunday to Tuesday.
    if (high === 7 && low !== 7) return stepThrough(low, 7, step, rule.min, 7);
    low %= 7;
    high %= 7;
  }
  return stepThrough(low, high, step, rule.min, cycleMax);
}

/**
 * The values from `low` to `high` every `step`. A range that runs backwards (`fri-mon`, `22-2`)
 * wraps around the end of the field, as croniter allows.
 */
function stepThrough(low: number, high: number, step: number, min: number, max: number): number[] {
  const length = max - min + 1;
  const span = low <= high ? high - low : high - low + length;
  const out: number[] = [];
  for (let k = 0; k <= span; k += step) out.push(min + ((low - min + k) % length));
  return out;
}

function value(token: string, rule: FieldRule): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n < rule.min || n > rule.max) throw new FieldError(`has ${token}, outside ${rule.min}-${rule.max}`);
    return n;
  }
  const named = rule.names?.[token.toLowerCase()];
  if (named !== undefined) return named;
  throw new FieldError(
    rule.names
      ? `has '${token}', which is neither a number nor one of ${Object.keys(rule.names).join(', ')}`
      : `has '${token}', which is not a number`,
  );
}

const MINUTE_MS = 60_000;
/** Feb 29 comes back within 8 years (2096 -> 2104); a spec with no match in 9 years never fires. */
const MAX_YEARS = 8;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayMatches(spec: CronSpec, year: number, month: number, day: number): boolean {
  const dom = spec.daysOfMonth.includes(day);
  const dow = spec.daysOfWeek.includes(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  return spec.dayMatch === 'either' ? dom || dow : dom && dow;
}

/**
 * The first time strictly after `after` at which the interval fires, in UTC, to the minute; `null`
 * for the presets that never fire on their own (`@once`, `@manual`, `@none`) and for expressions
 * no date satisfies (`0 0 30 2 *`). Works field by field (month, day, hour, minute), skipping
 * whole months and hours that cannot match, so a yearly expression costs a few hundred steps.
 */
export function nextRun(interval: Interval, after: Date): Date | null {
  if (interval.kind === 'manual') return null;
  const { spec } = interval;
  const start = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  const lastYear = year + MAX_YEARS;

  const nextDay = () => {
    day++;
    hour = 0;
    minute = 0;
    if (day > daysInMonth(year, month)) {
      day = 1;
      month++;
      if (month > 12) {
        month = 1;
        year++;
      }
    }
  };

  while (year <= lastYear) {
    if (!spec.months.includes(month)) {
      const later = spec.months.find((m) => m > month);
      if (later === undefined) year++;
      month = later ?? (spec.months[0] as number);
      day = 1;
      hour = 0;
      minute = 0;
      continue;
    }
    if (!dayMatches(spec, year, month, day)) {
      nextDay();
      continue;
    }
    if (!spec.hours.includes(hour)) {
      const later = spec.hours.find((h) => h > hour);
      if (later === undefined) nextDay();
      else {
        hour = later;
        minute = 0;
      }
      continue;
    }
    if (!spec.minutes.includes(minute)) {
      const later = spec.minutes.find((m) => m > minute);
      if (later !== undefined) minute = later;
      else if (hour < 23) {
        hour++;
        minute = 0;
      } else nextDay();
      continue;
    }
    return new Date(Date.UTC(year, month - 1, day, hour, minute));
  }
  return null;
}

/**
 * Whether a schedule is due at `now`: the first time the interval fires after `since` (the start of
 * its last run, or when its schedules were switched on if it never ran), when that is not later
 * than `now`; else `null`. A scheduler that wakes every minute and records the time it starts the
 * run as the next `since` runs a window missed while it was down once, not once per missed slot.
 */
export function dueSlot(interval: Interval, since: Date, now: Date): Date | null {
  const slot = nextRun(interval, since);
  return slot !== null && slot.getTime() <= now.getTime() ? slot : null;
}
