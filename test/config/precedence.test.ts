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

function project(layers: Layers, env: { top?: Vars; environment?: Vars; plugin?: Vars; envPlugin?: Vars } = {}) {
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
  it.each([
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
  ])('$rule', ({ layers, shell, dotenv, value, source, envVar }) => {
    const resolved = resolveYaml(project(layers), { plugin: 'tap-child', environment: 'prod', shell, dotenv });
    const domain = setting(resolved, 'domain');
    expect(domain.value).toBe(value);
    expect(domain.source).toBe(source);
    expect(domain.envVar).toBe(envVar);
  });

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

  it.each([
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
  ])('takes the first non-null value: $rule', ({ layers, value, source }) => {
    const domain = setting(
      resolveYaml(project(layers), { plugin: 'tap-child', environment: 'prod' }),
      'domain',
    );
    expect(domain).toMatchObject({ value, source });
  });

  it.each([
    { block: 'the top-level env:', env: { top: { TAP_CHILD_DOMAIN: 'block' } } },
    { block: "the environment's env:", env: { environment: { TAP_CHILD_DOMAIN: 'block' } } },
    { block: "the plugin's env:", env: { plugin: { TAP_CHILD_DOMAIN: 'block' } } },
    { block: "the environment plugin entry's env:", env: { envPlugin: { TAP_CHILD_DOMAIN: 'block' } } },
  ])('lets $block block beat the shell for a setting variable', ({ env }) => {
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
});
