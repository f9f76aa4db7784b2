import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.js';
import type { Schedule } from '../../src/project/model.js';
import { readScheduleRuns, scheduleBlocks, viewSchedules } from '../../src/schedules/schedule-view.js';
import { loadYaml } from '../helpers/temp-project.js';

const PROJECT = `plugins:
  extractors:
  - name: tap-csv
  loaders:
  - name: target-jsonl
jobs:
- name: nightly
  tasks: [tap-csv target-jsonl]
schedules:
- name: job-schedule
  interval: 0 3 * * *
  job: nightly
- name: elt-schedule
  interval: '@hourly'
  extractor: tap-csv
  loader: target-jsonl
- name: with-transform
  interval: '@daily'
  extractor: tap-csv
  loader: target-jsonl
  transform: run
- name: both
  interval: '@daily'
  job: nightly
  extractor: tap-csv
  loader: target-jsonl
`;

function schedule(name: string): Schedule {
  const found = loadYaml(PROJECT).schedules.find((s) => s.name === name);
  if (!found) throw new Error(name);
  return found;
}

describe('scheduleBlocks', () => {
  it('runs the job of a job schedule', () => {
    expect(scheduleBlocks(schedule('job-schedule'))).toEqual(['nightly']);
  });

  it('runs extractor then loader for an extractor-loader schedule (transform skip by default)', () => {
    expect(readScheduleRuns(schedule('elt-schedule'))).toEqual({
      kind: 'elt',
      extractor: 'tap-csv',
      loader: 'target-jsonl',
      transform: 'skip',
    });
    expect(scheduleBlocks(schedule('elt-schedule'))).toEqual(['tap-csv', 'target-jsonl']);
  });

  it('takes the job when a schedule names both, as Meltano does', () => {
    expect(scheduleBlocks(schedule('both'))).toEqual(['nightly']);
  });

  it('refuses transform: run, which Sluice cannot run', () => {
    expect(() => scheduleBlocks(schedule('with-transform'))).toThrow(SluiceError);
    expect(() => scheduleBlocks(schedule('with-transform'))).toThrow(/has `transform: run`/);
  });
});

describe('viewSchedules', () => {
  it('gives each schedule its next run after now, in file order', () => {
    const views = viewSchedules(loadYaml(PROJECT), new Date('2024-05-01T10:20:30Z'));
    expect(
      views.map((v) => [v.name, v.status, v.status === 'valid' ? v.nextRun?.toISOString() : null]),
    ).toEqual([
      ['job-schedule', 'valid', '2024-05-02T03:00:00.000Z'],
      ['elt-schedule', 'valid', '2024-05-01T11:00:00.000Z'],
      ['with-transform', 'invalid', null],
      ['both', 'valid', '2024-05-02T00:00:00.000Z'],
    ]);
    const invalid = views[2];
    expect(invalid?.status === 'invalid' && invalid.errors.map((e) => e.code)).toEqual([
      'plugin_unsupported',
    ]);
  });
});
