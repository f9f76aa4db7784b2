import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import type { Project } from '../../src/project/model.js';
import type { ProjectSource } from '../../src/project/project-source.js';
import { configurationOf, pluginConfigOf } from '../../src/workspaces/project-views.js';

/**
 * The configuration views are linear in the number of keys: 20,000 keys (what froze the server
 * for 150 s when a view was quadratic) resolve in well under a second. No time is asserted (a
 * busy machine must not fail them); a quadratic step would take minutes and fail on the test's
 * timeout. The time each took is printed.
 */
const KEYS = 20_000;

function project(text: string): Project {
  const source: ProjectSource = {
    root: 'scale',
    read: (path) => (path === 'meltano.yml' ? text : undefined),
    glob: () => [],
    list: () => [],
    checkInclude: () => 'missing',
    display: (path) => path,
  };
  return loadProject(source);
}

function timed<T>(work: () => T): { result: T; milliseconds: number } {
  const started = performance.now();
  const result = work();
  return { result, milliseconds: performance.now() - started };
}

const workspace = { id: 'ws_scale', name: 'Scale', activeEnvironment: 'staging' };
const noEnvironment = { ...workspace, activeEnvironment: null };
const lines = (count: number, line: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => line(i));

describe('configuration views at 20,000 keys', () => {
  it('resolve a plugin with 20,000 settings in three environments', () => {
    const loaded = project(
      [
        'environments:',
        '- name: dev',
        '- name: staging',
        '  config:',
        '    plugins:',
        '      extractors:',
        '      - name: tap-wide',
        '        config:',
        ...lines(KEYS / 2, (i) => `          key_${i * 2}: staging-${i * 2}`),
        '- name: prod',
        'plugins:',
        '  extractors:',
        '  - name: tap-wide',
        '    config:',
        ...lines(KEYS, (i) => `      key_${i}: base-${i}`),
        '',
      ].join('\n'),
    );
    const { result, milliseconds } = timed(() => configurationOf(loaded, 'c0ffee', workspace));
    const settings = result.plugins[0]?.settings ?? [];
    expect(settings.filter((s) => s.name.startsWith('key_'))).toHaveLength(KEYS);
    expect(settings.find((s) => s.name === 'key_10')).toMatchObject({
      differs: true,
      values: {
        dev: { value: 'base-10', source: 'meltano_yml' },
        staging: { value: 'staging-10', source: 'environment' },
        prod: { value: 'base-10', source: 'meltano_yml' },
      },
    });
    expect(settings.find((s) => s.name === 'key_11')?.differs).toBe(false);
    console.info(`${expect.getState().currentTestName}: ${milliseconds.toFixed(0)} ms`);
  });

  it("nest 20,000 keys under one prefix into a plugin's configuration", () => {
    const loaded = project(
      [
        'plugins:',
        '  extractors:',
        '  - name: tap-deep',
        '    config:',
        '      a:',
        ...lines(KEYS, (i) => `        k${i}: ${i}`),
        '',
      ].join('\n'),
    );
    const { result, milliseconds } = timed(() =>
      pluginConfigOf(loaded, 'c0ffee', noEnvironment, { plugin: 'tap-deep' }),
    );
    expect(Object.keys(result.config.a as object)).toHaveLength(KEYS);
    expect(result.config).toMatchObject({ a: { k0: 0, k19999: 19999 } });
    console.info(`${expect.getState().currentTestName}: ${milliseconds.toFixed(0)} ms`);
  });

  it('resolve 5,000 plugins, each configured in an environment', () => {
    const loaded = project(
      [
        'environments:',
        '- name: staging',
        '  config:',
        '    plugins:',
        '      loaders:',
        ...lines(5_000, (i) => `      - {name: target-${i}, config: {schema: s${i}}}`),
        'plugins:',
        '  loaders:',
        ...lines(5_000, (i) => `  - {name: target-${i}, config: {schema: base}}`),
        '',
      ].join('\n'),
    );
    const { result, milliseconds } = timed(() => configurationOf(loaded, 'c0ffee', workspace));
    expect(result.plugins).toHaveLength(5_000);
    expect(result.plugins[4_999]?.settings.find((s) => s.name === 'schema')?.values).toEqual({
      staging: { value: 's4999', source: 'environment' },
    });
    console.info(`${expect.getState().currentTestName}: ${milliseconds.toFixed(0)} ms`);
  });

  it('gather 5,000 object settings from their nested keys', () => {
    const loaded = project(
      [
        'plugins:',
        '  extractors:',
        '  - name: tap-objects',
        '    settings:',
        ...lines(5_000, (i) => `    - {name: o${i}, kind: object}`),
        '    config:',
        ...lines(5_000, (i) => `      o${i}.inner: ${i}`),
        '',
      ].join('\n'),
    );
    const { result, milliseconds } = timed(() =>
      pluginConfigOf(loaded, 'c0ffee', noEnvironment, { plugin: 'tap-objects' }),
    );
    expect(result.config).toMatchObject({ o0: { inner: 0 }, o4999: { inner: 4999 } });
    console.info(`${expect.getState().currentTestName}: ${milliseconds.toFixed(0)} ms`);
  });
});
