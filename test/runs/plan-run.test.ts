import { describe, expect, it } from 'vitest';
import { planRun } from '../../src/runs/plan-run.js';
import { loadYaml } from '../helpers/temp-project.js';

const YAML = `
plugins:
  extractors:
  - name: tap-csv
  - name: tap-other
    inherit_from: tap-csv
  mappers:
  - name: meltano-map-transformer
    mappings:
    - name: hash-emails
  loaders:
  - name: target-jsonl
  utilities:
  - name: dbt
jobs:
- name: csv-job
  tasks: tap-csv target-jsonl
- name: list-job
  tasks:
  - tap-csv target-jsonl
  - tap-other hash-emails target-jsonl
`;

const names = (plan: ReturnType<typeof planRun>) =>
  plan.steps.map((s) => [s.extractor.name, ...s.mappers.map((m) => m.name), s.loader.name]);

describe('planRun', () => {
  it('pairs each extractor with the loader after it', () => {
    const project = loadYaml(YAML);
    expect(names(planRun(project, ['tap-csv', 'target-jsonl', 'tap-other', 'target-jsonl']))).toEqual([
      ['tap-csv', 'target-jsonl'],
      ['tap-other', 'target-jsonl'],
    ]);
  });

  it('expands job names (a string or a list of task strings), mappers by mapping name', () => {
    const project = loadYaml(YAML);
    expect(names(planRun(project, ['csv-job']))).toEqual([['tap-csv', 'target-jsonl']]);
    expect(names(planRun(project, ['list-job']))).toEqual([
      ['tap-csv', 'target-jsonl'],
      ['tap-other', 'meltano-map-transformer', 'target-jsonl'],
    ]);
  });

  it.each([
    [['tap-nope', 'target-jsonl'], 'plugin_not_found', "'tap-nope' is neither an extractor"],
    [['tap-csv'], 'run_invalid', "Extractor 'tap-csv' has no loader after it"],
    [['tap-csv', 'tap-other', 'target-jsonl'], 'run_invalid', "the next block, 'tap-other'"],
    [['target-jsonl'], 'run_invalid', "Loader 'target-jsonl' has no extractor before it"],
    [['dbt:run'], 'plugin_unsupported', 'only extractors, mappers, loaders and job names'],
  ])('refuses %o', (args, code, words) => {
    const project = loadYaml(YAML);
    expect(() => planRun(project, args)).toThrow(
      expect.objectContaining({ code, message: expect.stringContaining(words) }),
    );
  });
});
