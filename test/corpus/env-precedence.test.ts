import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEnvLayers } from '../../src/config/env-layers.js';
import { expandString } from '../../src/config/expand.js';
import { processConfig } from '../../src/config/process.js';
import { resolvePlugin } from '../../src/config/resolve.js';
import { loadProject } from '../../src/project/load.js';
import { folderSource } from '../../src/project/project-source.js';
import { sharedPath } from '../helpers/shared-paths.js';

/**
 * meltano__meltano__env-precedence is Meltano's own example of stacked env: blocks; the results
 * are written in its comments. The shell provides STACKED=1 (level 1, "terminal context").
 */
const project = loadProject(
  folderSource(join(sharedPath('meltano-corpus'), 'meltano__meltano__env-precedence')),
);
const plugin = project.plugins[0];
const prod = project.environments[0] ?? null;
const runtime = { shell: { STACKED: '1' }, dotenv: {} };

describe('env precedence (meltano__meltano__env-precedence)', () => {
  it('stacks each level on the one before it, as the comments say, in prod', () => {
    if (!plugin) throw new Error('the example has one plugin');
    const layers = buildEnvLayers(project, prod, plugin, 'example', runtime);
    expect(layers.steps.map((s) => [s.layer, s.values.LEVEL_NUM, s.values.STACKED])).toEqual([
      ['top-level', '2', '12'],
      ['environment:prod', '3', '123'],
      ['plugin:example', '4', '1234'],
      ['environment-plugin:example', '5', '12345'],
    ]);
    expect(layers.blocks.STACKED).toBe('12345');
  });

  it('gives the plugin level the top-level value directly when no environment is active (no bug #7023)', () => {
    if (!plugin) throw new Error('the example has one plugin');
    const layers = buildEnvLayers(project, null, plugin, 'example', runtime);
    expect(layers.steps.map((s) => [s.layer, s.values.STACKED])).toEqual([
      ['top-level', '12'],
      ['plugin:example', '124'],
    ]);
  });

  it("expands pip_url without an environment, so 3 and 5 are absent: 'env-var-in-pip-url-example-124'", () => {
    if (!plugin?.pipUrl) throw new Error('the example has a pip_url');
    const layers = buildEnvLayers(project, null, plugin, 'example', runtime);
    expect(expandString(plugin.pipUrl, layers.expandable)).toBe('-e env-var-in-pip-url-example-124');
  });

  it('resolves echo_text ($STACKED in braces) to the same value the stacked variable has: the FIXME fixed', () => {
    if (!plugin) throw new Error('the example has one plugin');
    expect(processConfig(resolvePlugin(project, prod, plugin, runtime)).echo_text).toBe('12345');
    expect(processConfig(resolvePlugin(project, null, plugin, runtime)).echo_text).toBe('124');
  });
});
