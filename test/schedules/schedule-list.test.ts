import { describe, expect, it } from 'vitest';
import { nextRun, parseInterval } from '../../src/schedules/cron.js';
import { type CliResult, runCli } from '../helpers/run-cli.js';
import { tempProject } from '../helpers/temp-project.js';

const MELTANO_YML = `default_environment: dev
include_paths:
- schedules/*.yml
plugins:
  extractors:
  - name: tap-csv
  loaders:
  - name: target-jsonl
jobs:
- name: nightly
  tasks:
  - tap-csv target-jsonl
schedules:
- name: nightly-job
  interval: '@daily'
  job: nightly
- name: hourly-el
  extractor: tap-csv
  loader: target-jsonl
  transform: skip
  interval: '@hourly'
  start_date: 2024-01-01T00:00:00Z
  env:
    FOO: bar
environments:
- name: dev
- name: prod
`;

const EXTRA_YML = `schedules:
- name: leap-day
  interval: 0 6 29 2 *
  job: nightly
- name: by-hand
  interval: '@once'
  job: nightly
`;

/** Runs the real `sluice schedule list`; answers the result and the times just before and after. */
function scheduleList(root: string, ...args: string[]): CliResult & { before: Date; after: Date } {
  const before = new Date();
  const result = runCli(['schedule', 'list', ...args], root);
  return { ...result, before, after: new Date() };
}

/** The next run the CLI may have printed: the clock moved on while it ran, so one of two. */
function expectedNextRuns(interval: string, before: Date, after: Date): string[] {
  const parsed = parseInterval(interval, { schedule: 'test' });
  return [nextRun(parsed, before), nextRun(parsed, after)].map((d) => d?.toISOString() ?? 'null');
}

const isoMinute = (iso: string) => `${iso.slice(0, 16)}Z`;

function project(extra: Record<string, string> = {}): string {
  return tempProject({ 'meltano.yml': MELTANO_YML, 'schedules/more.yml': EXTRA_YML, ...extra });
}

describe('sluice schedule list', () => {
  it('prints a table: name, what it runs, interval and next run in UTC to the minute', () => {
    const result = scheduleList(project());
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'NAME         RUNS                     INTERVAL    NEXT RUN',
      '-----------  -----------------------  ----------  -----------------',
    ]);
    const rows = lines.slice(2).map((line) => line.split(/\s{2,}/));
    expect(rows.map((r) => r.slice(0, 3))).toEqual([
      ['nightly-job', 'job nightly', '@daily'],
      ['hourly-el', 'tap-csv -> target-jsonl', '@hourly'],
      ['leap-day', 'job nightly', '0 6 29 2 *'],
      ['by-hand', 'job nightly', '@once'],
    ]);
    const nextRuns = rows.map((r) => r[3]);
    for (const [i, interval] of ['@daily', '@hourly', '0 6 29 2 *'].entries()) {
      expect(expectedNextRuns(interval, result.before, result.after).map(isoMinute)).toContain(nextRuns[i]);
    }
    expect(nextRuns[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00Z$/);
    expect(nextRuns[2]).toMatch(/^\d{4}-02-29T06:00Z$/);
    expect(nextRuns[3]).toBe('manual');
  });

  it('prints JSON with what each schedule runs, its cron expression, next run, start date and env', () => {
    const result = scheduleList(project(), '--format', 'json');
    expect(result.status).toBe(0);
    const { schedules } = JSON.parse(result.stdout);
    expect(schedules).toHaveLength(4);
    expect(schedules[1]).toEqual({
      name: 'hourly-el',
      file: 'meltano.yml',
      status: 'valid',
      runs: { extractor: 'tap-csv', loader: 'target-jsonl', transform: 'skip' },
      interval: '@hourly',
      cron: '0 * * * *',
      nextRun: expect.any(String),
      startDate: '2024-01-01T00:00:00Z',
      env: { FOO: 'bar' },
    });
    expect(expectedNextRuns('@hourly', result.before, result.after)).toContain(schedules[1].nextRun);
    expect(schedules[2]).toMatchObject({
      name: 'leap-day',
      file: 'schedules/more.yml',
      runs: { job: 'nightly' },
      cron: '0 6 29 2 *',
    });
    expect(expectedNextRuns('0 6 29 2 *', result.before, result.after)).toContain(schedules[2].nextRun);
    expect(schedules[3]).toMatchObject({ name: 'by-hand', interval: '@once', cron: null, nextRun: null });
  });

  it('shows the same schedules in every environment (Meltano schedules are not environment-aware)', () => {
    const root = project();
    const dev = runCli(['schedule', 'list', '--format', 'json'], root);
    const prod = runCli(['--environment', 'prod', 'schedule', 'list', '--format', 'json'], root);
    expect(prod.status).toBe(0);
    const names = (r: CliResult) => JSON.parse(r.stdout).schedules.map((s: { name: string }) => s.name);
    expect(names(prod)).toEqual(names(dev));
  });

  it('lists invalid schedules too, then fails naming each problem with its file and line', () => {
    const root = tempProject({
      'meltano.yml': `plugins:
  extractors:
  - name: tap-csv
  loaders:
  - name: target-jsonl
jobs:
- name: nightly
  tasks: [tap-csv target-jsonl]
schedules:
- name: ok
  interval: '@daily'
  job: nightly
- name: bad-minute
  interval: 61 * * * *
  job: nightly
- name: no-such-job
  interval: '@daily'
  job: weekly
- name: no-loader
  interval: '@daily'
  extractor: tap-csv
- name: unknown-extractor
  interval: '@weekly'
  extractor: tap-nope
  loader: target-jsonl
- name: transforms
  interval: '@daily'
  extractor: tap-csv
  loader: target-jsonl
  transform: run
- name: no-interval
  job: nightly
`,
    });
    const result = scheduleList(root);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('ok ');
    expect(result.stdout).toMatch(/bad-minute +job nightly +61 \* \* \* \* +invalid \(see below\)/);
    expect(result.stdout).toMatch(/no-loader +\? +@daily +invalid/);
    expect(result.stderr).toMatch(/^error: 6 problems in the schedules:\n/);
    for (const words of [
      "meltano.yml:13:3: Schedule 'bad-minute': interval '61 * * * *' is not valid: the minute field '61' has 61, outside 0-59. The minute field allows 0-59",
      "meltano.yml:16:3: Schedule 'no-such-job' runs job 'weekly', which is not defined. Defined jobs: nightly.",
      "meltano.yml:19:3: Schedule 'no-loader' names no `loader`.",
      "Schedule 'unknown-extractor' runs extractor 'tap-nope', which is not defined under `plugins.extractors`.",
      "Schedule 'transforms' has `transform: run`, which Sluice does not run.",
      "Schedule 'no-interval' has no `interval`.",
    ]) {
      expect(result.stderr).toContain(words);
    }
    expect(result.stderr).not.toContain('    at ');

    const json = scheduleList(root, '--format', 'json');
    expect(json.status).toBe(1);
    const { schedules } = JSON.parse(json.stdout);
    expect(schedules[0]).toMatchObject({ name: 'ok', status: 'valid' });
    expect(schedules[1]).toMatchObject({
      name: 'bad-minute',
      status: 'invalid',
      runs: { job: 'nightly' },
      cron: null,
      nextRun: null,
      errors: [{ code: 'project_invalid', message: expect.stringContaining("the minute field '61'") }],
    });
  });

  it('fails with one plain message when one schedule is invalid', () => {
    const root = tempProject({
      'meltano.yml': `jobs:
- name: nightly
  tasks: []
schedules:
- name: nightly
  interval: '@fortnightly'
  job: nightly
`,
    });
    const result = scheduleList(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      "error: meltano.yml:5:3: Schedule 'nightly': interval '@fortnightly' is not valid: '@fortnightly' is not one of Meltano's intervals (@once, @manual, @none, @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually).\n",
    );
  });

  it('says so when the project has no schedules', () => {
    const result = scheduleList(tempProject({ 'meltano.yml': 'plugins: {}\n' }));
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('sluice: the project defines no schedules\n');
    const json = scheduleList(tempProject({ 'meltano.yml': 'plugins: {}\n' }), '--format', 'json');
    expect(JSON.parse(json.stdout)).toEqual({ schedules: [] });
  });

  it('refuses an unknown --format as a usage error', () => {
    const result = scheduleList(project(), '--format', 'yaml');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("error: --format must be text or json, not 'yaml'.\n");
  });
});
