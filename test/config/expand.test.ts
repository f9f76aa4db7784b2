// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${VAR} references under test, not templates.
import { describe, expect, it } from 'vitest';
import { expandSettingValue, expandString } from '../../src/config/expand.js';
import { processConfig } from '../../src/config/process.js';
import { SluiceError } from '../../src/errors.js';
import { loadYaml } from '../helpers/temp-project.js';
import { meltanoYml, resolveIn, resolveYaml, setting } from './resolve-fixture.js';

const VARS = { VAR: 'v', lower: 'l', SELF: '$VAR', EMPTY: '' };

describe('expandString', () => {
  it.each([
    { text: '$VAR', expanded: 'v' },
    { text: '${VAR}', expanded: 'v' },
    { text: '${lower}', expanded: 'l' },
    { text: 'a-$VAR-b', expanded: 'a-v-b' },
    { text: '$VARx', expanded: 'vx' },
    { text: '${VAR}${VAR}', expanded: 'vv' },
  ])('expands $text to $expanded', ({ text, expanded }) => {
    expect(expandString(text, VARS)).toBe(expanded);
  });

  it.each(['$lower', '$.metrics', 'default$default-User', '$6', 'foo$r$6$bar', 'cost: 5$'])(
    'leaves %j literal: $NAME must start with an upper-case letter',
    (text) => {
      expect(expandString(text, VARS)).toBe(text);
    },
  );

  it.each([
    { text: '\\$VAR', expanded: '$VAR' },
    { text: '\\${VAR}', expanded: '${VAR}' },
    { text: 'a\\$VAR-$VAR', expanded: 'a$VAR-v' },
  ])('treats a backslash as an escape: $text gives $expanded', ({ text, expanded }) => {
    expect(expandString(text, VARS)).toBe(expanded);
  });

  it('expands in a single pass: a substituted value containing $VAR is not expanded again', () => {
    expect(expandString('$SELF', VARS)).toBe('$VAR');
  });

  it.each([
    { text: '$MISSING', expanded: '' },
    { text: 'a-${MISSING}-b', expanded: 'a--b' },
  ])('replaces a missing variable with the empty string: $text gives $expanded', ({ text, expanded }) => {
    expect(expandString(text, VARS)).toBe(expanded);
  });

  it('raises env_var_not_set for a missing variable in strict mode, naming the variable and the context', () => {
    const expand = () => expandString('a-$MISSING', VARS, { strict: true, context: "setting 'domain'" });
    expect(expand).toThrow(SluiceError);
    expect(expand).toThrow(expect.objectContaining({ code: 'env_var_not_set' }));
    expect(expand).toThrow(/'MISSING'.*setting 'domain'/);
  });
});

describe('expandSettingValue', () => {
  for (const { value, expanded, rule } of [
    { rule: 'a whole value that is one missing variable becomes null', value: '$MISSING', expanded: null },
    { rule: 'a whole value that is one empty variable becomes null', value: '${EMPTY}', expanded: null },
    { rule: 'a missing variable inside text leaves the rest', value: 'a-${MISSING}-b', expanded: 'a--b' },
    { rule: 'an empty string stays an empty string', value: '', expanded: '' },
    { rule: 'strings inside lists are expanded', value: ['$VAR', 'x'], expanded: ['v', 'x'] },
    {
      rule: 'strings inside nested mappings are expanded, keys are not',
      value: { $VAR: { path: '${VAR}/data.csv' } },
      expanded: { $VAR: { path: 'v/data.csv' } },
    },
    { rule: 'numbers and booleans are left alone', value: [1, true, null], expanded: [1, true, null] },
  ]) {
    it(rule, () => {
      expect(expandSettingValue(value, VARS)).toEqual(expanded);
    });
  }
});

function tapX(config: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return meltanoYml({
    plugins: {
      extractors: [
        {
          name: 'tap-x',
          namespace: 'tap_x',
          settings: [{ name: 'port', kind: 'integer' }],
          config,
          ...extra,
        },
      ],
    },
    environments: [{ name: 'prod' }],
  });
}

describe('expansion of configuration values', () => {
  it('makes a setting unset when its whole value is a missing variable, and drops it from the config', () => {
    const resolved = resolveYaml(tapX({ domain: '$MISSING', other: 'a-${MISSING}-b' }));
    expect(setting(resolved, 'domain')).toMatchObject({ value: null, unexpandedValue: '$MISSING' });
    expect(processConfig(resolved, null)).toEqual({ other: 'a--b' });
  });

  it('does not fall through to a lower layer when a value expands to nothing', () => {
    const yaml = meltanoYml({
      plugins: { extractors: [{ name: 'tap-x', config: { domain: 'base' } }] },
      environments: [
        {
          name: 'prod',
          config: { plugins: { extractors: [{ name: 'tap-x', config: { domain: '$MISSING' } }] } },
        },
      ],
    });
    const domain = setting(resolveYaml(yaml, { environment: 'prod' }), 'domain');
    expect(domain).toMatchObject({ value: null, source: 'environment' });
  });

  for (const { shell, dotenv, store } of [
    { store: 'the shell', shell: { TAP_X_DOMAIN: '$FOO', FOO: 'foo' }, dotenv: {} },
    { store: '.env', shell: { FOO: 'foo' }, dotenv: { TAP_X_DOMAIN: '$FOO' } },
  ]) {
    it(`never expands values read from ${store}`, () => {
      const resolved = resolveYaml(tapX({ domain: 'yaml' }), { shell, dotenv });
      expect(setting(resolved, 'domain').value).toBe('$FOO');
    });
  }

  it('casts after expanding: port: $PORT with PORT=8443 gives the integer 8443', () => {
    const port = setting(resolveYaml(tapX({ port: '$PORT' }), { shell: { PORT: '8443' } }), 'port');
    expect(port).toMatchObject({ value: 8443, unexpandedValue: '$PORT', source: 'meltano_yml' });
  });

  it('expands inside lists and nested objects', () => {
    const project = loadYaml(
      tapX({ files: [{ path: '${MELTANO_PROJECT_ROOT}/data.csv' }], auth: { user: '$USER_NAME' } }),
    );
    const config = processConfig(resolveIn(project, { shell: { USER_NAME: 'me' } }), null);
    expect(config).toEqual({ files: [{ path: `${project.root}/data.csv` }], auth: { user: 'me' } });
  });

  it.each([
    { environment: 'prod', expected: 'db-prod' },
    { environment: undefined, expected: 'db-' },
  ])('provides MELTANO_ENVIRONMENT ($expected) to expansion', ({ environment, expected }) => {
    const resolved = resolveYaml(tapX({ database: 'db-${MELTANO_ENVIRONMENT}' }), { environment });
    expect(setting(resolved, 'database').value).toBe(expected);
  });

  it('provides MELTANO_PROJECT_ROOT and MELTANO_EXTRACTOR_NAMESPACE to expansion', () => {
    const project = loadYaml(tapX({ root: '$MELTANO_PROJECT_ROOT', ns: '${MELTANO_EXTRACTOR_NAMESPACE}' }));
    const resolved = resolveIn(project);
    expect(setting(resolved, 'root').value).toBe(project.root);
    expect(setting(resolved, 'ns').value).toBe('tap_x');
    expect(setting(resolved, '_load_schema')).toMatchObject({ value: 'tap_x', source: 'default' });
  });

  it('lets configuration reference .env, the shell (which beats .env) and env: blocks', () => {
    const yaml = meltanoYml({
      env: { FROM_BLOCK: 'block' },
      plugins: {
        extractors: [{ name: 'tap-x', config: { a: '$FROM_DOTENV', b: '$BOTH', c: '$FROM_BLOCK' } }],
      },
    });
    const resolved = resolveYaml(yaml, {
      shell: { BOTH: 'shell' },
      dotenv: { FROM_DOTENV: 'dotenv', BOTH: 'dotenv' },
    });
    expect(processConfig(resolved, null)).toEqual({ a: 'dotenv', b: 'shell', c: 'block' });
  });

  it("lets extras, and only extras, reference the plugin's own settings as variables", () => {
    const resolved = resolveYaml(
      tapX(
        { domain: 'd', other: '$TAP_X_DOMAIN' },
        { load_schema: '${TAP_X_DOMAIN}_$MELTANO_EXTRACT_DOMAIN' },
      ),
    );
    expect(setting(resolved, '_load_schema').value).toBe('d_d');
    expect(setting(resolved, 'other').value).toBeNull();
  });

  it("expands an inherited value in the inheriting plugin's context", () => {
    const yaml = meltanoYml({
      plugins: {
        extractors: [
          { name: 'tap-parent', namespace: 'tap_parent', config: { label: 'run-$MELTANO_EXTRACTOR_NAME' } },
          { name: 'tap-child', inherit_from: 'tap-parent' },
        ],
      },
    });
    const label = setting(resolveYaml(yaml, { plugin: 'tap-child' }), 'label');
    expect(label).toMatchObject({ value: 'run-tap-child', source: 'inherited' });
  });

  it("does not expand a parent's variable that reaches an inheriting plugin", () => {
    const yaml = meltanoYml({
      plugins: {
        extractors: [
          { name: 'tap-parent', namespace: 'tap_parent', settings: [{ name: 'domain' }] },
          { name: 'tap-child', inherit_from: 'tap-parent' },
        ],
      },
    });
    const resolved = resolveYaml(yaml, {
      plugin: 'tap-child',
      shell: { TAP_PARENT_DOMAIN: '$FOO', FOO: 'foo' },
    });
    expect(setting(resolved, 'domain')).toMatchObject({
      value: '$FOO',
      source: 'inherited',
      inheritedSource: 'env',
    });
  });

  it('raises env_var_not_set in strict mode for a missing variable in configuration', () => {
    const resolve = () => resolveYaml(tapX({ domain: '$MISSING' }), { strict: true });
    expect(resolve).toThrow(expect.objectContaining({ code: 'env_var_not_set' }));
    expect(resolve).toThrow(/domain/);
  });

  it('raises env_var_not_set in strict mode for a missing variable in an env: block', () => {
    const yaml = meltanoYml({ env: { A: '$MISSING' }, plugins: { extractors: [{ name: 'tap-x' }] } });
    expect(() => resolveYaml(yaml, { strict: true })).toThrow(
      expect.objectContaining({ code: 'env_var_not_set' }),
    );
  });
});

/**
 * Sluice differs from Meltano on purpose here (see env-layers.ts): every env: block is expanded
 * against the shell, .env and the blocks before it, in the order top-level, environment, plugin,
 * environment-plugin. Meltano uses some blocks raw and, with no environment, loses the shell
 * (bug #7023: STACKED=4).
 */
describe('expansion of env: blocks, layer by layer', () => {
  const STACKED = meltanoYml({
    env: { STACKED: '${STACKED}2' },
    plugins: {
      extractors: [{ name: 'tap-x', env: { STACKED: '${STACKED}4' }, config: { stacked: '$STACKED' } }],
    },
    environments: [
      {
        name: 'prod',
        env: { STACKED: '${STACKED}3' },
        config: { plugins: { extractors: [{ name: 'tap-x', env: { STACKED: '${STACKED}5' } }] } },
      },
    ],
  });

  it.each([
    { environment: 'prod', expected: '12345' },
    { environment: undefined, expected: '124' },
  ])(
    'stacks every layer onto the shell value: $expected with environment $environment',
    ({ environment, expected }) => {
      const resolved = resolveYaml(STACKED, { environment, shell: { STACKED: '1' } });
      expect(resolved.env.blocks.STACKED).toBe(expected);
      expect(setting(resolved, 'stacked').value).toBe(expected);
    },
  );

  it('expands the top-level block against the shell before configuration uses it (Meltano uses it raw)', () => {
    const yaml = meltanoYml({
      env: { TOP: 'top-${SHELL_VAR}' },
      plugins: { extractors: [{ name: 'tap-x', config: { from_top: '$TOP' } }] },
    });
    const resolved = resolveYaml(yaml, { shell: { SHELL_VAR: 'S' } });
    expect(setting(resolved, 'from_top').value).toBe('top-S');
  });
});
