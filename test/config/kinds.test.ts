import { describe, expect, it } from 'vitest';
import { castValue } from '../../src/config/kinds.js';
import { processConfig } from '../../src/config/process.js';
import { SluiceError } from '../../src/errors.js';
import type { SettingDefinition, SettingKind } from '../../src/project/model.js';
import { meltanoYml, resolveYaml, setting } from './resolve-fixture.js';

function cast(kind: SettingKind, value: string | number, extra: Partial<SettingDefinition> = {}) {
  return castValue({ name: 'the_setting', kind, ...extra }, value, 'TAP_X_THE_SETTING');
}

function castError(kind: SettingKind, value: string, extra: Partial<SettingDefinition> = {}): SluiceError {
  try {
    cast(kind, value, extra);
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error(`casting ${JSON.stringify(value)} to ${kind} did not fail`);
}

const CUSTOM = meltanoYml({
  plugins: {
    extractors: [
      {
        name: 'tap-x',
        namespace: 'tap_x',
        settings: [
          { name: 'ratio', kind: 'decimal' },
          { name: 'port', kind: 'integer' },
        ],
        // `headers: {}` is an object setting; a non-empty mapping would be flattened into leaves.
        config: { batch_size: 100, enabled: true, threshold: 0.5, tags: ['a'], headers: {}, label: 'x' },
      },
    ],
  },
  environments: [
    { name: 'prod', config: { plugins: { extractors: [{ name: 'tap-x', config: { only_in_prod: 7 } }] } } },
  ],
});

describe('kinds of custom settings', () => {
  it.each([
    { key: 'batch_size', variable: 'TAP_X_BATCH_SIZE', text: '500', value: 500 },
    { key: 'enabled', variable: 'TAP_X_ENABLED', text: 'no', value: false },
    { key: 'threshold', variable: 'TAP_X_THRESHOLD', text: '1.25', value: 1.25 },
    { key: 'tags', variable: 'TAP_X_TAGS', text: '["b", "c"]', value: ['b', 'c'] },
    { key: 'headers', variable: 'TAP_X_HEADERS', text: '{"b": 2}', value: { b: 2 } },
    { key: 'label', variable: 'TAP_X_LABEL', text: '42', value: '42' },
  ])(
    'infers the kind of $key from its YAML value, so $variable=$text gives $value',
    ({ key, variable, text, value }) => {
      const resolved = resolveYaml(CUSTOM, { shell: { [variable]: text } });
      expect(setting(resolved, key)).toMatchObject({ value, source: 'env' });
    },
  );

  it("infers the kind of a key only the environment sets from the environment's value", () => {
    const resolved = resolveYaml(CUSTOM, { environment: 'prod', shell: { TAP_X_ONLY_IN_PROD: '9' } });
    expect(setting(resolved, 'only_in_prod').value).toBe(9);
  });

  it('casts a decimal from a variable to a JavaScript number, which processConfig can print', () => {
    const resolved = resolveYaml(CUSTOM, { shell: { TAP_X_RATIO: '0.5' } });
    expect(setting(resolved, 'ratio').value).toBe(0.5);
    expect(JSON.stringify(processConfig(resolved, null))).toContain('"ratio":0.5');
  });

  it.each([
    { variable: 'TAP_X_PORT', yaml: 8080, text: '8080', name: 'port', value: 8080 },
    { variable: 'TAP_X_FLAG', yaml: true, text: 'True', name: 'flag', value: true },
  ])(
    'turns the env: value $yaml into the text $text, then casts it to the kind of $name',
    ({ variable, yaml, text, name, value }) => {
      const project = meltanoYml({
        env: { [variable]: yaml },
        plugins: {
          extractors: [
            {
              name: 'tap-x',
              namespace: 'tap_x',
              settings: [
                { name: 'port', kind: 'integer' },
                { name: 'flag', kind: 'boolean' },
              ],
            },
          ],
        },
      });
      const resolved = resolveYaml(project);
      expect(resolved.env.blocks[variable]).toBe(text);
      expect(setting(resolved, name)).toMatchObject({ value, source: 'env' });
    },
  );

  it('names the variable in the error for a value that cannot be cast', () => {
    const resolve = () => resolveYaml(CUSTOM, { shell: { TAP_X_PORT: '4.2' } });
    expect(resolve).toThrow(expect.objectContaining({ code: 'setting_invalid' }));
    expect(resolve).toThrow(/TAP_X_PORT/);
  });
});

describe('castValue', () => {
  it.each(['true', 'TRUE', '1', 'yes', 'Yes', 'on', 'ON'])('casts the boolean text %j to true', (text) => {
    expect(cast('boolean', text)).toBe(true);
  });

  it.each(['false', '0', 'no', 'off', 'garbage', '', ' true'])(
    'casts any other boolean text (%j) to false',
    (text) => {
      expect(cast('boolean', text)).toBe(false);
    },
  );

  it.each([
    { text: '42', value: 42 },
    { text: '-7', value: -7 },
    { text: ' 8 ', value: 8 },
    { text: '1_000', value: 1000 },
  ])('casts the integer text $text to $value', ({ text, value }) => {
    expect(cast('integer', text)).toBe(value);
  });

  it.each(['4.2', 'abc', '', '1e3'])('rejects the integer text %j (setting_invalid)', (text) => {
    expect(castError('integer', text).code).toBe('setting_invalid');
  });

  it.each([
    { text: '0.5', value: 0.5 },
    { text: '-3', value: -3 },
    { text: '1e2', value: 100 },
  ])('casts the decimal text $text to the number $value', ({ text, value }) => {
    expect(cast('decimal', text)).toBe(value);
  });

  it.each(['abc', ''])('rejects the decimal text %j (setting_invalid)', (text) => {
    expect(castError('decimal', text).code).toBe('setting_invalid');
  });

  it.each([
    { form: 'JSON', text: '["a", 1]', value: ['a', 1] },
    { form: 'a Python list literal', text: "['a', 1]", value: ['a', 1] },
    { form: 'a Python tuple literal', text: "('a', None, True)", value: ['a', null, true] },
  ])('casts an array from $form', ({ text, value }) => {
    expect(cast('array', text)).toEqual(value);
  });

  it.each(['a,b', '{"a": 1}', '"a"'])('rejects the array text %j (setting_invalid)', (text) => {
    expect(castError('array', text).code).toBe('setting_invalid');
  });

  it.each([
    { form: 'JSON', text: '{"a": {"b": 1}}', value: { a: { b: 1 } } },
    { form: 'a Python dict literal', text: "{'a': True, 'b': None}", value: { a: true, b: null } },
  ])('casts an object from $form', ({ text, value }) => {
    expect(cast('object', text)).toEqual(value);
  });

  it.each(['["a"]', 'a=1', '1'])('rejects an object text that is not a mapping: %j', (text) => {
    expect(castError('object', text).code).toBe('setting_invalid');
  });

  const options = { options: [{ value: 'full' }, { value: 'incremental' }] };

  it('accepts an options value that is one of the options', () => {
    expect(cast('options', 'incremental', options)).toBe('incremental');
  });

  it('rejects an options value that is not one of the options, listing them', () => {
    const error = castError('options', 'zzz', options);
    expect(error.code).toBe('setting_invalid');
    expect(error.message).toContain('"full", "incremental"');
  });

  it.each([
    { kind: 'integer', value: 5 },
    { kind: 'string', value: 5 },
    { kind: 'decimal', value: 0.25 },
  ] as const)('leaves a value that is not a string as it is ($kind $value)', ({ kind, value }) => {
    expect(cast(kind, value)).toBe(value);
  });

  it('leaves null as null whatever the kind', () => {
    expect(castValue({ name: 'n', kind: 'integer' }, null, 'here')).toBeNull();
  });
});
