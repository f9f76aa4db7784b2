import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/project/load.js';
import { folderSource } from '../../src/project/project-source.js';
import { loadYaml, tempProject } from '../helpers/temp-project.js';

const environmentFile = (name: string) => `environments:\n- name: ${name}\n`;

describe('include_paths', () => {
  it('reads literal paths with or without a leading ./', () => {
    const project = loadYaml('include_paths:\n- ./conf/a.yml\n- conf/b.yml\n', {
      'conf/a.yml': environmentFile('a'),
      'conf/b.yml': environmentFile('b'),
    });
    expect(project.files).toEqual(['meltano.yml', 'conf/a.yml', 'conf/b.yml']);
    expect(project.environments.map((e) => e.name)).toEqual(['a', 'b']);
  });

  it('expands character classes such as [0-9]', () => {
    const project = loadYaml('include_paths:\n- ./envs/env-[0-9].yml\n', {
      'envs/env-1.yml': environmentFile('one'),
      'envs/env-2.yml': environmentFile('two'),
      'envs/env-x.yml': environmentFile('x'),
    });
    expect(project.files).toEqual(['meltano.yml', 'envs/env-1.yml', 'envs/env-2.yml']);
  });

  it('expands ** to any depth, the folder itself included', () => {
    const project = loadYaml('include_paths: ["conf/**/*.yml"]\n', {
      'conf/top.yml': environmentFile('top'),
      'conf/deep/er/nested.yml': environmentFile('nested'),
      'elsewhere/skip.yml': environmentFile('skip'),
    });
    expect([...project.files].sort()).toEqual(['conf/deep/er/nested.yml', 'conf/top.yml', 'meltano.yml']);
    expect(project.environments.map((e) => e.name).sort()).toEqual(['nested', 'top']);
  });

  it('includes a file matched by several patterns once, where it is first matched', () => {
    const project = loadYaml('include_paths:\n- conf/b.yml\n- ./conf/*.yml\n- conf/b.yml\n', {
      'conf/a.yml': 'plugins:\n  loaders:\n  - name: target-a\n',
      'conf/b.yml': 'plugins:\n  loaders:\n  - name: target-b\n',
    });
    expect(project.files).toEqual(['meltano.yml', 'conf/b.yml', 'conf/a.yml']);
    expect(project.plugins.map((p) => p.name)).toEqual(['target-b', 'target-a']);
  });

  it("appends the included files' plugins, environments, schedules and jobs after meltano.yml's", () => {
    const project = loadYaml(
      [
        'include_paths: [extra/one.yml, extra/two.yml]',
        'plugins:',
        '  extractors:',
        '  - name: tap-root',
        'environments:',
        '- name: dev',
        'schedules:',
        '- name: daily-root',
        'jobs:',
        '- name: job-root',
        '  tasks: [tap-root target-one]',
        '',
      ].join('\n'),
      {
        'extra/one.yml': [
          'plugins:',
          '  extractors:',
          '  - name: tap-one',
          '  loaders:',
          '  - name: target-one',
          'environments:',
          '- name: staging',
          'jobs:',
          '- name: job-one',
          '  tasks: [tap-one target-one]',
          '',
        ].join('\n'),
        'extra/two.yml': [
          'plugins:',
          '  extractors:',
          '  - name: tap-two',
          'environments:',
          '- name: prod',
          'schedules:',
          '- name: daily-two',
          '  job: job-one',
          '',
        ].join('\n'),
      },
    );
    expect(project.plugins.map((p) => `${p.type}/${p.name}@${p.file}`)).toEqual([
      'extractors/tap-root@meltano.yml',
      'extractors/tap-one@extra/one.yml',
      'loaders/target-one@extra/one.yml',
      'extractors/tap-two@extra/two.yml',
    ]);
    expect(project.environments.map((e) => `${e.name}@${e.file}`)).toEqual([
      'dev@meltano.yml',
      'staging@extra/one.yml',
      'prod@extra/two.yml',
    ]);
    expect(project.schedules.map((s) => s.name)).toEqual(['daily-root', 'daily-two']);
    expect(project.jobs.map((j) => j.name)).toEqual(['job-root', 'job-one']);
  });

  it('merges other top-level keys: mappings key by key, later scalars win', () => {
    const project = loadYaml(
      'include_paths: [more.yml]\nx_settings:\n  a: 1\n  b: 1\nx_owner: root\nenv:\n  A: from-root\n',
      { 'more.yml': 'x_settings:\n  b: 2\nx_owner: included\nenv:\n  B: from-included\n' },
    );
    expect(project.extras.x_settings).toEqual({ a: 1, b: 2 });
    expect(project.extras.x_owner).toBe('included');
    expect(project.env).toEqual({ A: 'from-root', B: 'from-included' });
  });

  it('warns, without failing, when a wildcard matches nothing', () => {
    const project = loadYaml('include_paths:\n- conf/*.yml\n- ./nothing/*.yml\n', {
      'conf/a.yml': environmentFile('a'),
    });
    expect(project.files).toEqual(['meltano.yml', 'conf/a.yml']);
    expect(project.warnings).toEqual([
      {
        message: "include path './nothing/*.yml' matches no file.",
        position: expect.objectContaining({ line: 3, column: 3 }),
      },
    ]);
    expect(project.warnings[0]?.position?.file).toMatch(/meltano\.yml$/);
  });

  it('skips meltano.yml when a pattern matches it', () => {
    const project = loadYaml('include_paths: ["*.yml"]\nplugins:\n  extractors:\n  - name: tap-root\n', {
      'other.yml': environmentFile('other'),
    });
    expect(project.files).toEqual(['meltano.yml', 'other.yml']);
    expect(project.plugins.map((p) => p.name)).toEqual(['tap-root']);
  });

  it('rejects a link that leads outside the project root', () => {
    const outside = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
    try {
      writeFileSync(join(outside, 'secret.yml'), environmentFile('outside'));
      const root = tempProject({ 'meltano.yml': 'include_paths: [linked.yml]\n' });
      symlinkSync(join(outside, 'secret.yml'), join(root, 'linked.yml'));
      expect(() => loadProject(folderSource(root))).toThrow(
        expect.objectContaining({
          code: 'include_path_invalid',
          message: expect.stringContaining('outside the project root'),
        }),
      );
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
