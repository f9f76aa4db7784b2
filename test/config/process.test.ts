import { describe, expect, it } from 'vitest';
import { processConfig } from '../../src/config/process.js';
import type { PluginType } from '../../src/project/plugin-types.js';
import { meltanoYml, resolveYaml } from './resolve-fixture.js';

function pluginOfType(
  type: PluginType,
  config: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return meltanoYml({
    plugins: { [type]: [{ name: 'the-plugin', namespace: 'the_plugin', config, ...extra }] },
  });
}

const CONFIG = { top: 'x', nested: { a: 1, 'b.c': 2 }, unset_one: null };

describe('processConfig', () => {
  it.each(['extractors', 'loaders', 'mappers'] as const)(
    'drops nulls and nests dotted keys for Singer plugins (%s)',
    (type) => {
      expect(processConfig(resolveYaml(pluginOfType(type, CONFIG)), null)).toEqual({
        top: 'x',
        nested: { a: 1, b: { c: 2 } },
      });
    },
  );

  it.each(['utilities', 'orchestrators', 'transformers', 'files'] as const)(
    'keeps flat dotted keys and nulls for other plugins (%s)',
    (type) => {
      expect(processConfig(resolveYaml(pluginOfType(type, CONFIG)), null)).toEqual({
        top: 'x',
        'nested.a': 1,
        'nested.b.c': 2,
        unset_one: null,
      });
    },
  );

  it('keeps an escaped dot inside one key: s3\\.endpoint_url becomes s3.endpoint_url', () => {
    const yaml = pluginOfType('extractors', {
      's3\\.endpoint_url': 'http://minio:9000',
      aws: { 's3\\.bucket': 'b', region: 'eu' },
    });
    expect(processConfig(resolveYaml(yaml), null)).toEqual({
      's3.endpoint_url': 'http://minio:9000',
      aws: { 's3.bucket': 'b', region: 'eu' },
    });
  });

  it('leaves extras (select, metadata, ...) out of the config', () => {
    const yaml = pluginOfType('extractors', { top: 'x' }, { select: ['a.*'], metadata: { a: { k: 'v' } } });
    expect(processConfig(resolveYaml(yaml), null)).toEqual({ top: 'x' });
  });

  it('orders keys as the settings are defined, then base config keys, then environment-only keys', () => {
    const yaml = meltanoYml({
      plugins: {
        extractors: [
          {
            name: 'tap-x',
            namespace: 'tap_x',
            settings: [
              { name: 'second', value: 2 },
              { name: 'first', value: 1 },
            ],
            config: { custom: 'c', first: 'one' },
          },
        ],
      },
      environments: [
        { name: 'prod', config: { plugins: { extractors: [{ name: 'tap-x', config: { env_only: 'e' } }] } } },
      ],
    });
    const config = processConfig(resolveYaml(yaml, { environment: 'prod' }), null);
    expect(Object.keys(config)).toEqual(['second', 'first', 'custom', 'env_only']);
  });
});
