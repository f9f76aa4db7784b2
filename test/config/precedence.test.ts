import { describe, expect, it } from 'vitest';
import { meltanoYml, resolveYaml, setting, type Vars } from './resolve-fixture.js';

/**
 * `tap-child` inherits from `tap-parent`, which defines `domain` with a default. Each layer that is
 * given sets `domain` to its own name, so the winning value names the winning layer.
 */
interface Layers {
  readonly default?: string | null;
  readonly parent?: string | null;
  readonly base?: string | null;
  readonly environment?: string | null;
}

function project(
  layers: Layers,
  env: { top?: Vars; environment?: Vars; plugin?: Vars; envPlugin?: Vars } = {},
) {
  const setIf = (value: string | null | undefined) => (value === undefined ? {} : { domain: value });
  return meltanoYml({
    ...(env.top ? { env: env.top } : {}),
    plugins: {
      extractors: [
        {
          name: 'tap-parent',
          namespace: 'tap_parent',
          settings: [{ name: 'domain', ...(layers.default === undefined ? {} : { value: layers.default }) }],
          config: setIf(layers.parent),
        },
        {
          name: 'tap-child',
          inherit_from: 'tap-parent',
          config: setIf(layers.base),
          ...(env.plugin ? { env: env.plugin } : {}),
        },
      ],
    },
    environments: [
      {
        name: 'prod',
        ...(env.environment ? { env: env.environment } : {}),
        config: {
          plugins: {
            extractors: [
              {
                name: 'tap-child',
                config: setIf(layers.environment),
                ...(env.envPlugin ? { env: env.envPlugin } : {}),
              },
            ],
          },
        },
      },
    ],
  });
}

const ALL: Layers = {
  default: 'default',
  parent: 'parent',
  base: 'base',
  environment: 'environment',
};

describe('setting precedence', () => {
  for (const { layers, shell, dotenv, value, source, envVar, rule } of [
    {
      rule: 'a shell variable beats .env',
      layers: ALL,
      shell: { TAP_CHILD_DOMAIN: 'shell' },
      dotenv: { TAP_CHILD_DOMAIN: 'dotenv' },
      value: 'shell',
      source: 'env',
      envVar: 'TAP_CHILD_DOMAIN',
    },
    {
      rule: '.env beats the active environment',
      layers: ALL,
      shell: {},
      dotenv: { TAP_CHILD_DOMAIN: 'dotenv' },
      value: 'dotenv',
      source: 'dotenv',
      envVar: 'TAP_CHILD_DOMAIN',
    },
    {
      rule: 'the active environment beats the base config',
      layers: ALL,
      shell: {},
      dotenv: {},
      value: 'environment',
      source: 'environment',
      envVar: undefined,
    },
    {
      rule: 'the base config beats the parent plugin',
      layers: { ...ALL, environment: undefined },
      shell: {},
      dotenv: {},
      value: 'base',
      source: 'meltano_yml',
      envVar: undefined,
    },
    {
      rule: 'the parent plugin (inherit_from) beats the setting default',
      layers: { default: 'default', parent: 'parent' },
      shell: {},
      dotenv: {},
      value: 'parent',
      source: 'inherited',
      envVar: undefined,
    },
    {
      rule: 'the setting default applies when no layer sets a value',
      layers: { default: 'default' },
      shell: {},
      dotenv: {},
      value: 'default',
      source: 'default',
      envVar: undefined,
    },
  ]) {
    it(rule, () => {
      const resolved = resolveYaml(project(layers), {
        plugin: 'tap-child',
        environment: 'prod',
        shell,
        dotenv,
      });
      const domain = setting(resolved, 'domain');
      expect(domain.value).toBe(value);
      expect(domain.source).toBe(source);
      expect(domain.envVar).toBe(envVar);
    });
  }

  it('ignores the environment layer when no environment is active', () => {
    const domain = setting(resolveYaml(project(ALL), { plugin: 'tap-child' }), 'domain');
    expect(domain).toMatchObject({ value: 'base', source: 'meltano_yml' });
  });

  it('reports which parent an inherited value came from and where the parent got it', () => {
    const domain = setting(
      resolveYaml(project({ parent: 'parent' }), { plugin: 'tap-child', environment: 'prod' }),
      'domain',
    );
    expect(domain).toMatchObject({
      value: 'parent',
      source: 'inherited',
      inheritedFrom: 'tap-parent',
      inheritedSource: 'meltano_yml',
    });
  });

  it("inherits from the parent's entry in the active environment", () => {
    const yaml = meltanoYml({
      plugins: {
        extractors: [
          { name: 'tap-parent', namespace: 'tap_parent', config: { domain: 'parent-base' } },
          { name: 'tap-child', inherit_from: 'tap-parent' },
        ],
      },
      environments: [
        {
          name: 'prod',
          config: { plugins: { extractors: [{ name: 'tap-parent', config: { domain: 'parent-prod' } }] } },
        },
      ],
    });
    const domain = setting(resolveYaml(yaml, { plugin: 'tap-child', environment: 'prod' }), 'domain');
    expect(domain).toMatchObject({
      value: 'parent-prod',
      source: 'inherited',
      inheritedSource: 'environment',
    });
  });

  for (const { layers, value, source, rule } of [
    {
      rule: 'a null in the environment falls through to the base config',
      layers: { ...ALL, environment: null },
      value: 'base',
      source: 'meltano_yml',
    },
    {
      rule: 'an empty string in the environment overrides the base config',
      layers: { ...ALL, environment: '' },
      value: '',
      source: 'environment',
    },
    {
      rule: 'a null in the base config falls through to the parent plugin',
      layers: { default: 'default', parent: 'parent', base: null },
      value: 'parent',
      source: 'inherited',
    },
    {
      rule: 'a null in the parent falls through to the default',
      layers: { default: 'default', parent: null, base: null, environment: null },
      value: 'default',
      source: 'default',
    },
  ]) {
    it(`takes the first non-null value: ${rule}`, () => {
      const domain = setting(
        resolveYaml(project(layers), { plugin: 'tap-child', environment: 'prod' }),
        'domain',
      );
      expect(domain).toMatchObject({ value, source });
    });
  }

  for (const { env, block } of [
    { block: 'the top-level env:', env: { top: { TAP_CHILD_DOMAIN: 'block' } } },
    { block: "the environment's env:", env: { environment: { TAP_CHILD_DOMAIN: 'block' } } },
    { block: "the plugin's env:", env: { plugin: { TAP_CHILD_DOMAIN: 'block' } } },
    { block: "the environment plugin entry's env:", env: { envPlugin: { TAP_CHILD_DOMAIN: 'block' } } },
  ]) {
    it(`lets ${block} block beat the shell for a setting variable`, () => {
      const resolved = resolveYaml(project(ALL, env), {
        plugin: 'tap-child',
        environment: 'prod',
        shell: { TAP_CHILD_DOMAIN: 'shell' },
        dotenv: { TAP_CHILD_DOMAIN: 'dotenv' },
      });
      expect(setting(resolved, 'domain')).toMatchObject({
        value: 'block',
        source: 'env',
        envVar: 'TAP_CHILD_DOMAIN',
      });
    });
  }

  for (const { config, value, rule } of [
    { rule: 'reads a setting written in config under an alias', config: { user: 'me' }, value: 'me' },
    {
      rule: 'accepts a setting written under its name and an alias with the same value',
      config: { username: 'me', user: 'me' },
      value: 'me',
    },
  ]) {
    it(rule, () => {
      const yaml = meltanoYml({
        plugins: {
          extractors: [{ name: 'tap-x', settings: [{ name: 'username', aliases: ['user'] }], config }],
        },
      });
      expect(setting(resolveYaml(yaml), 'username')).toMatchObject({ value, source: 'meltano_yml' });
    });
  }

  it('rejects a setting written under its name and an alias with different values (setting_conflict)', () => {
    const yaml = meltanoYml({
      plugins: {
        extractors: [
          {
            name: 'tap-x',
            settings: [{ name: 'username', aliases: ['user'] }],
            config: { username: 'me', user: 'you' },
          },
        ],
      },
    });
    expect(() => resolveYaml(yaml)).toThrow(expect.objectContaining({ code: 'setting_conflict' }));
  });
});

describe('precedence among env: blocks', () => {
  const yaml = (plugin: Vars, environment: Vars, envPlugin: Vars) =>
    meltanoYml({
      env: { TAP_CHILD_DOMAIN: 'top', TAP_CHILD_REGION: 'top', TAP_CHILD_ZONE: 'top' },
      plugins: {
        extractors: [
          {
            name: 'tap-parent',
            namespace: 'tap_parent',
            settings: [{ name: 'domain' }, { name: 'region' }, { name: 'zone' }],
          },
          { name: 'tap-child', inherit_from: 'tap-parent', env: plugin },
        ],
      },
      environments: [
        {
          name: 'prod',
          env: environment,
          config: { plugins: { extractors: [{ name: 'tap-child', env: envPlugin }] } },
        },
      ],
    });

  it("lets the environment plugin entry's env: beat every other block", () => {
    const resolved = resolveYaml(
      yaml(
        { TAP_CHILD_DOMAIN: 'plugin' },
        { TAP_CHILD_DOMAIN: 'environment' },
        { TAP_CHILD_DOMAIN: 'env-plugin' },
      ),
      { plugin: 'tap-child', environment: 'prod' },
    );
    expect(setting(resolved, 'domain').value).toBe('env-plugin');
  });

  it('lets every block beat the top-level env:', () => {
    const resolved = resolveYaml(
      yaml(
        { TAP_CHILD_DOMAIN: 'plugin' },
        { TAP_CHILD_REGION: 'environment' },
        { TAP_CHILD_ZONE: 'env-plugin' },
      ),
      { plugin: 'tap-child', environment: 'prod' },
    );
    expect(resolved.env.blocks).toMatchObject({
      TAP_CHILD_DOMAIN: 'plugin',
      TAP_CHILD_REGION: 'environment',
      TAP_CHILD_ZONE: 'env-plugin',
    });
  });

  // QUESTIONABLE: Sluice layers the blocks top-level < environment < plugin < environment-plugin
  // (env-layers.ts), so the plugin's env: beats the environment's env:. Meltano does the opposite
  // (meltano-semantics §4.5 and §6.3: top-level < plugin < environment < environment-plugin, as
  // Meltano's test_environment_variables encodes). This pins Sluice's current order; left as is
  // because the layering is a stated deliberate difference, but the override order may not be.
  it("lets the plugin's env: beat the environment's env: (Sluice's layer order, unlike Meltano)", () => {
    const resolved = resolveYaml(
      yaml({ TAP_CHILD_DOMAIN: 'plugin' }, { TAP_CHILD_DOMAIN: 'environment' }, {}),
      {
        plugin: 'tap-child',
        environment: 'prod',
      },
    );
    expect(setting(resolved, 'domain').value).toBe('plugin');
  });
});
