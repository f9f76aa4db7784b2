import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonJsonDumps, pythonRepr, pythonStr } from '../../src/config/python-text.js';
import { settingEnvValue } from '../../src/config/settings-env.js';
import type { YamlValue } from '../../src/project/model.js';

/** Values as YAML gives them, including the cases where Python's text differs from JavaScript's. */
const VALUES: YamlValue[] = [
  'plain',
  "it's",
  'say "hi"',
  `both ' and "`,
  'tab\there\nnewline \\ back',
  'café ☕ 😀',
  true,
  false,
  null,
  0,
  -17,
  1.5,
  0.1,
  1e-5,
  0.0001,
  123456789.125,
  1.5e16,
  2.5e-7,
  ['a', 1, true, null, [2.5]],
  { key: 'v', nested: { list: [1, 'two'] }, "quote'd": false },
  [],
  {},
];

function python(fn: 'str' | 'repr' | 'json.dumps'): string[] {
  const script = `import json, sys
for value in json.loads(sys.stdin.read()):
    print(json.dumps(${fn}(value)))`;
  return execFileSync('python3', ['-c', script], { input: JSON.stringify(VALUES), encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as string);
}

describe('Python text', () => {
  it('writes str() as Python does', () => {
    expect(VALUES.map(pythonStr)).toEqual(python('str'));
  });

  it('writes repr() as Python does', () => {
    expect(VALUES.map((v) => pythonRepr(v))).toEqual(python('repr'));
  });

  it('writes json.dumps() as Python does', () => {
    expect(VALUES.map(pythonJsonDumps)).toEqual(python('json.dumps'));
  });
});

describe('settingEnvValue (Meltano stringify_value)', () => {
  it.each([
    [{ name: 'x' }, true, 'True'],
    [{ name: 'x', kind: 'string' }, ['a', 'b'], "['a', 'b']"],
    [{ name: 'x', kind: 'decimal' }, 1.5, '1.5'],
    [{ name: 'x', kind: 'boolean' }, true, 'true'],
    [{ name: 'x', kind: 'integer' }, 3, '3'],
    [{ name: 'x', kind: 'array' }, ['a', 'b'], '["a", "b"]'],
    [{ name: 'x', kind: 'object' }, { a: 1 }, '{"a": 1}'],
    [{ name: 'x', kind: 'object' }, 'already text', 'already text'],
  ] as const)('writes %j = %j as %s', (def, value, expected) => {
    expect(settingEnvValue(def, value as YamlValue)).toBe(expected);
  });
});
