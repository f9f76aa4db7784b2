import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import {
  type CronSpec,
  dueSlot,
  INTERVAL_PRESETS,
  type Interval,
  nextRun,
  parseInterval,
} from '../../src/schedules/cron.js';

const parse = (text: string): Interval => parseInterval(text, { schedule: 'nightly' });
const utc = (iso: string) => new Date(iso);
const next = (text: string, after: string) => nextRun(parse(text), utc(after))?.toISOString() ?? null;

function parseError(text: string): SluiceError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error(`'${text}' parsed`);
}

describe('parseInterval', () => {
  it.each([
    ['@once', null],
    ['@manual', null],
    ['@none', null],
    ['@hourly', '0 * * * *'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@weekly', '0 0 * * 0'],
    ['@monthly', '0 0 1 * *'],
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
  ])("reads Meltano's preset %s as %s", (text, cron) => {
    const interval = parse(text);
    if (cron === null) expect(interval).toEqual({ kind: 'manual', text });
    else expect(interval).toMatchObject({ kind: 'cron', text, cron });
  });

  it('knows every preset Meltano lists', () => {
    expect(Object.keys(INTERVAL_PRESETS).sort()).toEqual(
      [
        '@annually',
        '@daily',
        '@hourly',
        '@manual',
        '@midnight',
        '@monthly',
        '@none',
        '@once',
        '@weekly',
        '@yearly',
      ].sort(),
    );
  });

  it.each<[string, Partial<CronSpec>]>([
    ['* * * * *', { minutes: range(0, 59), hours: range(0, 23), dayMatch: 'both' }],
    ['5-59/15 * * * *', { minutes: [5, 20, 35, 50] }],
    ['*/15 */6 * * *', { minutes: [0, 15, 30, 45], hours: [0, 6, 12, 18] }],
    ['10/20 * * * *', { minutes: [10, 30, 50] }],
    ['1,5,3-4 * * * *', { minutes: [1, 3, 4, 5] }],
    [
      '50-5 22-1 * * *',
      { minutes: [0, 1, 2, 3, 4, 5, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59], hours: [0, 1, 22, 23] },
    ],
    ['0 0 * jan,JUL,Dec *', { months: [1, 7, 12] }],
    ['0 0 * * MON-fri', { daysOfWeek: [1, 2, 3, 4, 5], dayMatch: 'both' }],
    ['0 0 * * 7', { daysOfWeek: [0] }],
    ['0 0 * * 5-7', { daysOfWeek: [0, 5, 6] }],
    ['0 0 * * fri-mon', { daysOfWeek: [0, 1, 5, 6] }],
    ['0 0 * * 1-7/2', { daysOfWeek: [0, 1, 3, 5] }],
    ['0 0 * * 0-7', { daysOfWeek: range(0, 6) }],
    ['0 0 ? * 1', { daysOfMonth: range(1, 31), daysOfWeek: [1], dayMatch: 'both' }],
    ['0 0 13 * 5', { daysOfMonth: [13], daysOfWeek: [5], dayMatch: 'either' }],
    ['0 0 */2 * 1', { dayMatch: 'either' }],
    // croniter: a day field listing every value counts as `*` only if the other field has a `*`.
    ['0 0 1-31 * 1', { dayMatch: 'either' }],
    ['0 0 1-31 * */2', { daysOfWeek: [0, 2, 4, 6], dayMatch: 'both' }],
    ['  0   12 * * 1,3,5  ', { minutes: [0], hours: [12], daysOfWeek: [1, 3, 5] }],
  ])('expands %j', (text, expected) => {
    const interval = parse(text);
    expect(interval.kind).toBe('cron');
    if (interval.kind === 'cron') expect(interval.spec).toMatchObject(expected);
  });

  it.each([
    ['61 * * * *', "the minute field '61' has 61, outside 0-59", 'minute'],
    ['* 24 * * *', "the hour field '24' has 24, outside 0-23", 'hour'],
    ['* * 0 * *', "the day-of-month field '0' has 0, outside 1-31", 'day-of-month'],
    ['* * 32 * *', "the day-of-month field '32' has 32, outside 1-31", 'day-of-month'],
    ['* * * 13 *', "the month field '13' has 13, outside 1-12", 'month'],
    ['* * * * 8', "the day-of-week field '8' has 8, outside 0-7", 'day-of-week'],
    ['* * * foo *', "has 'foo', which is neither a number nor one of jan, feb", 'month'],
    ['* * * * monday', "has 'monday', which is neither a number nor one of sun, mon", 'day-of-week'],
    ['mon * * * *', "the minute field 'mon' has 'mon', which is not a number", 'minute'],
    ['*/0 * * * *', 'has step 0; a step must be 1 or more', 'minute'],
    ['5- * * * *', "cannot be read at '5-'", 'minute'],
    ['1,,2 * * * *', 'has an empty part', 'minute'],
    ['? * * * *', "uses '?', which only the day fields accept", 'minute'],
    ['* * L * *', 'the L, W, # and H extensions are not supported', 'day-of-month'],
    ['* * * * mon#2', 'the L, W, # and H extensions are not supported', 'day-of-week'],
    ['* * 15W * *', 'the L, W, # and H extensions are not supported', 'day-of-month'],
  ])('rejects %j, naming the field and what it allows', (text, words, field) => {
    const error = parseError(text);
    expect(error.code).toBe('project_invalid');
    expect(error.message).toContain(`Schedule 'nightly': interval '${text}' is not valid`);
    expect(error.message).toContain(words);
    expect(error.message).toContain(`The ${field} field allows`);
    expect(error.details).toMatchObject({ schedule: 'nightly', interval: text, field });
  });

  it.each([
    ['* * *', 'a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has 3'],
    ['0 0 * * * *', 'this one has 6'],
    ['', 'this one has 0'],
    ['@fortnightly', "'@fortnightly' is not one of Meltano's intervals (@once, @manual, @none, @hourly"],
    ['@Daily', "Write it in lower case: '@daily'"],
  ])('rejects %j as a whole', (text, words) => {
    expect(parseError(text).message).toContain(words);
  });
});

describe('parseInterval error position', () => {
  it('starts the message with file:line:column', () => {
    let caught: unknown;
    try {
      parseInterval('0 25 * * *', {
        schedule: 'nightly',
        position: { file: 'meltano.yml', line: 12, column: 3 },
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).message).toBe(
      "meltano.yml:12:3: Schedule 'nightly': interval '0 25 * * *' is not valid: the hour field '25' has 25, outside 0-23. " +
        'The hour field allows 0-23: each part a value, a range a-b, a step */n, a/n or a-b/n, or *; parts separated by commas.',
    );
  });
});

describe('nextRun', () => {
  it.each([
    // presets
    ['@hourly', '2024-05-01T10:20:30Z', '2024-05-01T11:00:00.000Z'],
    ['@hourly', '2024-05-01T10:00:00Z', '2024-05-01T11:00:00.000Z'],
    ['@hourly', '2024-05-01T23:59:59.999Z', '2024-05-02T00:00:00.000Z'],
    ['@daily', '2024-12-31T23:59:59Z', '2025-01-01T00:00:00.000Z'],
    ['@midnight', '2024-02-28T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['@weekly', '2024-05-01T12:00:00Z', '2024-05-05T00:00:00.000Z'],
    ['@weekly', '2024-05-05T00:00:00Z', '2024-05-12T00:00:00.000Z'],
    ['@monthly', '2024-01-31T12:00:00Z', '2024-02-01T00:00:00.000Z'],
    ['@yearly', '2024-03-01T00:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['@annually', '2024-01-01T00:00:00Z', '2025-01-01T00:00:00.000Z'],
    // minutes, hours and steps
    ['* * * * *', '2024-05-01T10:20:30Z', '2024-05-01T10:21:00.000Z'],
    ['5-59/15 * * * *', '2024-05-01T10:51:00Z', '2024-05-01T11:05:00.000Z'],
    ['5-59/15 * * * *', '2024-05-01T10:05:00Z', '2024-05-01T10:20:00.000Z'],
    ['*/15 * * * *', '2024-05-01T10:00:00Z', '2024-05-01T10:15:00.000Z'],
    ['0 */4 * * *', '2024-05-01T21:00:00Z', '2024-05-02T00:00:00.000Z'],
    ['35 */1 * * *', '2024-05-01T10:35:00Z', '2024-05-01T11:35:00.000Z'],
    ['*/23 13-22 * * 1-5', '2024-05-03T22:46:00Z', '2024-05-06T13:00:00.000Z'],
    ['0 22-2 * * *', '2024-05-01T02:00:00Z', '2024-05-01T22:00:00.000Z'],
    ['59 23 31 12 *', '2024-12-31T23:59:00Z', '2025-12-31T23:59:00.000Z'],
    // month ends and leap years
    ['0 0 31 * *', '2024-04-01T00:00:00Z', '2024-05-31T00:00:00.000Z'],
    ['30 12 30 * *', '2024-02-01T00:00:00Z', '2024-03-30T12:30:00.000Z'],
    ['0 0 29 2 *', '2024-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', '2024-02-28T23:59:00Z', '2024-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', '2096-03-01T00:00:00Z', '2104-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', '1999-01-01T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['0 0 1 3 *', '2024-03-01T00:00:00Z', '2025-03-01T00:00:00.000Z'],
    ['0 0 * feb *', '2023-02-28T00:00:00Z', '2024-02-01T00:00:00.000Z'],
    // day of month OR day of week, when both are restricted
    ['0 9 13 * 5', '2024-09-01T00:00:00Z', '2024-09-06T09:00:00.000Z'],
    ['0 9 13 * 5', '2024-09-06T09:00:00Z', '2024-09-13T09:00:00.000Z'],
    ['0 9 13 * 5', '2024-09-13T09:00:00Z', '2024-09-20T09:00:00.000Z'],
    ['0 9 1 * 1', '2024-09-02T10:00:00Z', '2024-09-09T09:00:00.000Z'],
    ['0 9 1 * 1', '2024-09-30T10:00:00Z', '2024-10-01T09:00:00.000Z'],
    ['0 0 29 2 1', '2025-01-01T00:00:00Z', '2025-02-03T00:00:00.000Z'],
    ['0 0 30 2 1', '2025-02-03T00:00:00Z', '2025-02-10T00:00:00.000Z'],
    ['0 0 */2 * 1', '2024-09-01T00:00:00Z', '2024-09-02T00:00:00.000Z'],
    ['0 0 */2 * 1', '2024-09-03T00:00:00Z', '2024-09-05T00:00:00.000Z'],
    ['0 0 1-31 * 1', '2024-09-03T00:00:00Z', '2024-09-04T00:00:00.000Z'],
    ['0 0 1-31 * */2', '2024-09-01T00:00:00Z', '2024-09-03T00:00:00.000Z'],
    // only one restricted: both must hold
    ['0 0 13 * *', '2024-09-01T00:00:00Z', '2024-09-13T00:00:00.000Z'],
    ['0 0 * * 5', '2024-09-13T00:00:00Z', '2024-09-20T00:00:00.000Z'],
    ['0 0 ? * fri', '2024-09-13T00:00:00Z', '2024-09-20T00:00:00.000Z'],
    // names and 7 = Sunday
    ['0 0 * * 7', '2024-05-01T00:00:00Z', '2024-05-05T00:00:00.000Z'],
    ['0 0 * * sat,sun', '2024-05-01T00:00:00Z', '2024-05-04T00:00:00.000Z'],
    ['0 0 * * fri-mon', '2024-05-06T00:00:00Z', '2024-05-10T00:00:00.000Z'],
    ['0 0 1 FEB *', '2024-05-01T00:00:00Z', '2025-02-01T00:00:00.000Z'],
    ['0 0 * jan,jul mon-fri', '2024-05-01T00:00:00Z', '2024-07-01T00:00:00.000Z'],
  ])('%s after %s is %s', (text, after, expected) => {
    expect(next(text, after)).toBe(expected);
  });

  it.each([['@once'], ['@manual'], ['@none'], ['0 0 30 2 *'], ['0 0 31 4,6,9,11 *']])(
    'answers null for %s, which never fires on its own',
    (text) => {
      expect(next(text, '2024-01-01T00:00:00Z')).toBeNull();
    },
  );

  it('agrees with a minute-by-minute search', () => {
    const expressions = [
      '*/7 * * * *',
      '5-59/15 3-5 * * *',
      '0 0 13 * 5',
      '0 12 * * 1,3,5',
      '15 6 1,15 * *',
      '0 0 */2 * 1',
      '45 23 * * sun',
      '0 0 28-31 * *',
      '20 4 * 2,3 *',
      '0 0 1-31 * */2',
    ];
    const starts = [
      '2024-02-27T23:58:30Z',
      '2024-12-31T23:59:00Z',
      '2023-02-27T12:00:00Z',
      '2024-09-13T09:00:00Z',
    ];
    for (const text of expressions) {
      const interval = parse(text);
      if (interval.kind !== 'cron') throw new Error(text);
      for (const start of starts) {
        let t = Math.floor(utc(start).getTime() / 60_000) * 60_000 + 60_000;
        while (!matches(interval.spec, new Date(t))) t += 60_000;
        expect(next(text, start), `${text} after ${start}`).toBe(new Date(t).toISOString());
      }
    }
  });

  it('finds a rare date quickly (field by field, not minute by minute)', () => {
    const interval = parse('0 0 29 2 1');
    const began = performance.now();
    for (let year = 2000; year < 2100; year++) nextRun(interval, new Date(Date.UTC(year, 2, 1)));
    expect(performance.now() - began).toBeLessThan(500);
  });
});

describe('dueSlot', () => {
  const hourly = parse('@hourly');

  it('is due once the next slot after the last run has come', () => {
    const since = utc('2024-05-01T09:00:00.400Z');
    expect(dueSlot(hourly, since, utc('2024-05-01T09:59:59Z'))).toBeNull();
    expect(dueSlot(hourly, since, utc('2024-05-01T10:00:00Z'))?.toISOString()).toBe(
      '2024-05-01T10:00:00.000Z',
    );
    expect(dueSlot(hourly, since, utc('2024-05-01T10:00:20Z'))?.toISOString()).toBe(
      '2024-05-01T10:00:00.000Z',
    );
  });

  it('never makes @once due', () => {
    expect(dueSlot(parse('@once'), utc('2024-01-01T00:00:00Z'), utc('2030-01-01T00:00:00Z'))).toBeNull();
  });

  it('runs a window missed while the server was down once, not once per missed slot', () => {
    // Last run at 09:00 on May 1; the server comes back on May 3 at 15:07 and wakes every minute.
    let since = utc('2024-05-01T09:00:05Z');
    const runs: string[] = [];
    for (
      let t = utc('2024-05-03T15:07:10Z').getTime();
      t < utc('2024-05-03T18:30:00Z').getTime();
      t += 60_000
    ) {
      const now = new Date(t);
      if (dueSlot(hourly, since, now)) {
        runs.push(now.toISOString());
        since = now;
      }
    }
    expect(runs).toEqual([
      '2024-05-03T15:07:10.000Z',
      '2024-05-03T16:00:10.000Z',
      '2024-05-03T17:00:10.000Z',
      '2024-05-03T18:00:10.000Z',
    ]);
  });
});

/** A minute matches the spec, by the rules written out plainly (the search must agree). */
function matches(spec: CronSpec, at: Date): boolean {
  const dom = spec.daysOfMonth.includes(at.getUTCDate());
  const dow = spec.daysOfWeek.includes(at.getUTCDay());
  return (
    spec.minutes.includes(at.getUTCMinutes()) &&
    spec.hours.includes(at.getUTCHours()) &&
    spec.months.includes(at.getUTCMonth() + 1) &&
    (spec.dayMatch === 'either' ? dom || dow : dom && dow)
  );
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
