import { describe, expect, it } from 'vitest';
import { generateStateId, parseStateId } from '../../src/runs/state-id.js';

describe('generateStateId', () => {
  it('joins environment and extractor-to-loader with ":"', () => {
    expect(generateStateId({ environment: 'dev', extractor: 'tap-csv', loader: 'target-jsonl' })).toBe(
      'dev:tap-csv-to-target-jsonl',
    );
  });

  it.each([
    ['a --state-id-suffix', 'manual', 'ci:tap-csv-to-target-jsonl:manual'],
    ["the environment's expanded state_id_suffix", 'main', 'ci:tap-csv-to-target-jsonl:main'],
  ])('appends %s', (_label, suffix, expected) => {
    expect(generateStateId({ environment: 'ci', extractor: 'tap-csv', loader: 'target-jsonl', suffix })).toBe(
      expected,
    );
  });

  it('skips an empty suffix, as Meltano skips empty components', () => {
    expect(
      generateStateId({ environment: 'dev', extractor: 'tap-csv', loader: 'target-jsonl', suffix: '' }),
    ).toBe('dev:tap-csv-to-target-jsonl');
  });

  it.each([
    [{ environment: 'dev', extractor: 'tap:csv', loader: 'target-jsonl' }],
    [{ environment: 'dev', extractor: 'tap-csv', loader: 'target-jsonl', suffix: 'a:b' }],
  ])('refuses a component containing ":" (%o)', (parts) => {
    expect(() => generateStateId(parts)).toThrow(
      expect.objectContaining({
        code: 'state_id_invalid',
        message: expect.stringContaining("containing the delimiter string ':'"),
      }),
    );
  });

  it('refuses to make an ID without an environment', () => {
    expect(() =>
      generateStateId({ environment: null, extractor: 'tap-csv', loader: 'target-jsonl' }),
    ).toThrow(
      expect.objectContaining({
        code: 'environment_required',
        message: expect.stringContaining('No active environment for invocation, but requested state ID'),
      }),
    );
  });
});

describe('parseStateId', () => {
  it.each([
    [
      'dev:tap-csv-to-target-jsonl',
      { environment: 'dev', extractor: 'tap-csv', loader: 'target-jsonl', suffix: null },
    ],
    [
      'ci:tap-a-to-target-b:main',
      { environment: 'ci', extractor: 'tap-a', loader: 'target-b', suffix: 'main' },
    ],
  ])('reads %s back into its parts', (id, parts) => {
    expect(parseStateId(id)).toEqual(parts);
  });

  it.each(['2024-01-01T000000--tap--target', 'dev:tap-csv-to-target-jsonl:', 'schedule-name'])(
    'does not read %s as a run ID',
    (id) => {
      expect(parseStateId(id)).toBeUndefined();
    },
  );
});
