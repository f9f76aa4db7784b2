import { realpathSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SluiceError, type SluiceErrorCode } from '../../src/errors.js';
import { loadProject } from '../../src/project/load.js';
import type { Project } from '../../src/project/model.js';
import { folderSource } from '../../src/project/project-source.js';
import { tempProject } from '../helpers/temp-project.js';

/**
 * Loads a project from inside its folder, as `sluice` run in the project does, so that messages
 * name files as the user sees them (`meltano.yml:3:5: ...`).
 */
function loadInside(files: Readonly<Record<string, string>>): Project {
  const root = realpathSync(tempProject(files));
  const before = process.cwd();
  process.chdir(root);
  try {
    return loadProject(folderSource(root));
  } finally {
    process.chdir(before);
  }
}

function loadError(files: Readonly<Record<string, string>>): SluiceError {
  try {
    loadInside(files);
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('expected the project to fail to load');
}

interface ErrorCase {
  readonly what: string;
  readonly files: Readonly<Record<string, string>>;
  readonly code: SluiceErrorCode;
  /** The start of the message: `file:line:column: `. */
  readonly at: string;
  /** Words the message must contain to say what is wrong. */
  readonly says: readonly string[];
}

const cases: readonly ErrorCase[] = [
  {
    what: 'a badly indented key (invalid YAML)',
    files: { 'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n     variant: x\n' },
    code: 'yaml_syntax',
    at: 'meltano.yml:4:13: ',
    says: ['invalid YAML', 'indentation'],
  },
  {
    what: 'a key written twice in one mapping (invalid YAML)',
    files: {
      'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n    config:\n      a: 1\n      a: 2\n',
    },
    code: 'yaml_syntax',
    at: 'meltano.yml:6:7: ',
    says: ['invalid YAML', 'duplicated mapping key'],
  },
  {
    what: 'a tab used as indentation (invalid YAML)',
    files: { 'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n\tvariant: x\n' },
    code: 'yaml_syntax',
    at: 'meltano.yml:4:1: ',
    says: ['invalid YAML', 'tab'],
  },
  {
    what: 'an unclosed flow list (invalid YAML)',
    files: { 'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n    select: [a, b\n  loaders: []\n' },
    code: 'yaml_syntax',
    at: 'meltano.yml:5:3: ',
    says: ['invalid YAML'],
  },
  {
    what: 'invalid YAML in an included file, located in that file',
    files: {
      'meltano.yml': 'include_paths:\n- sub/loaders.yml\n',
      'sub/loaders.yml':
        '# loaders\nplugins:\n  loaders:\n  - name: target-x\n    variant: a\n    variant: b\n',
    },
    code: 'yaml_syntax',
    at: 'sub/loaders.yml:6:5: ',
    says: ['invalid YAML', 'duplicated mapping key'],
  },
  {
    what: 'a plugin list written as a mapping',
    files: { 'meltano.yml': 'version: 1\nplugins:\n  extractors:\n    tap-x:\n      config: {}\n' },
    code: 'project_invalid',
    at: 'meltano.yml:4:5: ',
    says: ['`plugins.extractors` must be a list, found a mapping'],
  },
  {
    what: 'a plugin `config` written as a list',
    files: { 'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n    config:\n    - a\n' },
    code: 'project_invalid',
    at: 'meltano.yml:5:5: ',
    says: ["`config` of extractors 'tap-x' must be a mapping, found a list"],
  },
  {
    what: 'an environment without a name',
    files: { 'meltano.yml': 'environments:\n- name: dev\n- config: {}\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:3: ',
    says: ['environment needs a `name`'],
  },
  {
    what: 'a plugin without a name',
    files: { 'meltano.yml': 'plugins:\n  loaders:\n  - variant: x\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:5: ',
    says: ['needs a `name`'],
  },
  {
    what: 'an unknown plugin type',
    files: { 'meltano.yml': 'plugins:\n  extractors: []\n  extractorz:\n  - name: tap-x\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:3: ',
    says: ["unknown plugin type 'extractorz'", 'extractors, loaders'],
  },
  {
    what: 'an unknown plugin type inside an environment',
    files: {
      'meltano.yml':
        'plugins:\n  extractors:\n  - name: tap-x\nenvironments:\n- name: dev\n  config:\n    plugins:\n      taps:\n      - name: tap-x\n',
    },
    code: 'project_invalid',
    at: 'meltano.yml:8:7: ',
    says: ["unknown plugin type 'taps'", "environment 'dev'"],
  },
  {
    what: "an environment name containing ':'",
    files: { 'meltano.yml': 'environments:\n- name: dev\n- name: "eu:prod"\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:9: ',
    says: ["'eu:prod'", "cannot contain ':'"],
  },
  {
    what: "a plugin name climbing out with '..' and '/'",
    files: {
      'meltano.yml':
        'plugins:\n  extractors:\n  - name: ../../../../../repos/other.git\n    pip_url: tap-x\n',
    },
    code: 'project_invalid',
    at: 'meltano.yml:3:11: ',
    says: ["the plugin name '../../../../../repos/other.git' cannot contain '/'", '.sluice/venvs'],
  },
  {
    what: "a mapper named '..'",
    files: { 'meltano.yml': 'plugins:\n  mappers:\n  - name: ..\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:11: ',
    says: ["the plugin name '..' cannot be '..'"],
  },
  {
    what: 'a loader name with a backslash',
    files: { 'meltano.yml': 'plugins:\n  loaders:\n  - name: "..\\\\x"\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:11: ',
    says: ["the plugin name '..\\x' cannot contain '\\'"],
  },
  {
    what: "a plugin name with ':', which Meltano refuses too",
    files: { 'meltano.yml': 'plugins:\n  extractors:\n  - name: "tap:x"\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:11: ',
    says: ["'tap:x' cannot contain ':'"],
  },
  {
    what: "a '/' in a plugin entry of an environment",
    files: {
      'meltano.yml':
        'plugins:\n  loaders:\n  - name: target-jsonl\nenvironments:\n- name: dev\n  config:\n    plugins:\n      loaders:\n      - name: ../target-jsonl\n',
    },
    code: 'project_invalid',
    at: 'meltano.yml:9:15: ',
    says: ["the plugin name '../target-jsonl' cannot contain '/'"],
  },
  {
    what: 'a NUL in an environment name',
    files: { 'meltano.yml': 'environments:\n- name: "dev\\0"\n' },
    code: 'project_invalid',
    at: 'meltano.yml:2:9: ',
    says: ['the environment name "dev\\u0000" cannot contain the control character U+0000'],
  },
  {
    what: "a job named '..'",
    files: { 'meltano.yml': "jobs:\n- name: '..'\n  tasks: tap-x target-y\n" },
    code: 'project_invalid',
    at: 'meltano.yml:2:9: ',
    says: ["the job name '..' cannot be '..'"],
  },
  {
    what: 'a line break in a schedule name',
    files: { 'meltano.yml': 'schedules:\n- name: "daily\\nforged log line"\n  interval: "@daily"\n' },
    code: 'project_invalid',
    at: 'meltano.yml:2:9: ',
    says: ['the schedule name "daily\\nforged log line" cannot contain the control character U+000A'],
  },
  {
    what: 'an unknown key on an environment',
    files: { 'meltano.yml': 'environments:\n- name: dev\n  inherit_from: prod\n' },
    code: 'project_invalid',
    at: 'meltano.yml:3:3: ',
    says: ["environment 'dev' has an unknown key 'inherit_from'", 'name, config, env, state_id_suffix'],
  },
  {
    what: 'an unknown key on an environment in an included file',
    files: {
      'meltano.yml': 'include_paths: [envs.yml]\n',
      'envs.yml': 'environments:\n  - name: qa\n    schedules: []\n',
    },
    code: 'project_invalid',
    at: 'envs.yml:3:5: ',
    says: ["environment 'qa' has an unknown key 'schedules'"],
  },
  {
    what: 'an include path that names a missing file',
    files: {
      'meltano.yml': 'include_paths:\n- ./sub/a.yml\n- ./sub/missing.yml\n',
      'sub/a.yml': 'plugins: {}\n',
    },
    code: 'include_path_invalid',
    at: 'meltano.yml:3:3: ',
    says: ["'./sub/missing.yml'", 'does not exist'],
  },
  {
    what: 'an include path outside the project root',
    files: { 'meltano.yml': 'include_paths:\n  - ../x.yml\n' },
    code: 'include_path_invalid',
    at: 'meltano.yml:2:5: ',
    says: ["'../x.yml'", 'inside'],
  },
  {
    what: 'an include path that names a folder',
    files: { 'meltano.yml': 'include_paths:\n- sub\n', 'sub/a.yml': 'plugins: {}\n' },
    code: 'include_path_invalid',
    at: 'meltano.yml:2:3: ',
    says: ['not a regular file'],
  },
  {
    what: '`inherit_from` naming a plugin that does not exist',
    files: {
      'meltano.yml':
        'plugins:\n  extractors:\n  - name: tap-a\n  - name: tap-a--eu\n    inherit_from: tap-b\n',
    },
    code: 'inheritance_invalid',
    at: 'meltano.yml:5:19: ', // the `inherit_from` value
    says: ["'tap-a--eu' inherits from 'tap-b', which is not defined", 'defined: tap-a'],
  },
  {
    what: 'an inheritance cycle a -> b -> a',
    files: {
      'meltano.yml':
        'plugins:\n  extractors:\n  - name: a\n    inherit_from: b\n  - name: b\n    inherit_from: a\n',
    },
    code: 'inheritance_invalid',
    at: 'meltano.yml:3:5: ',
    says: ['a -> b -> a', 'cycle'],
  },
];

describe('loadProject errors', () => {
  it.each(cases)('reports $what with its code and position', ({ files, code, at, says }) => {
    const error = loadError(files);
    expect(error.code).toBe(code);
    expect(error.message.startsWith(at), `"${error.message}" should start with "${at}"`).toBe(true);
    for (const words of says) expect(error.message).toContain(words);
  });

  it('rejects the same plugin defined in two included files, naming both positions', () => {
    const error = loadError({
      'meltano.yml': 'include_paths:\n- ./loaders/*.yml\n',
      'loaders/a.yml': 'plugins:\n  loaders:\n  - name: target-jsonl\n',
      'loaders/b.yml': '# second definition\nplugins:\n  loaders:\n    - name: target-jsonl\n',
    });
    expect(error.code).toBe('duplicate_name');
    expect(error.message).toMatch(/^loaders\/b\.yml:4:7: /);
    expect(error.message).toContain("loader 'target-jsonl' is defined twice");
    expect(error.message).toContain('loaders/a.yml:3:5');
  });

  it('rejects the same environment defined in two included files', () => {
    const error = loadError({
      'meltano.yml': 'include_paths: [a.yml, b.yml]\n',
      'a.yml': 'environments:\n- name: qa\n',
      'b.yml': 'environments:\n- name: qa\n',
    });
    expect(error.code).toBe('duplicate_name');
    expect(error.message).toMatch(/^b\.yml:2:3: environment 'qa' is defined twice: here and at a\.yml:2:3\./);
  });

  it('says which file is missing when there is no meltano.yml', () => {
    const root = tempProject({ 'other.yml': 'plugins: {}\n' });
    expect(() => loadProject(folderSource(root))).toThrow(
      expect.objectContaining({ code: 'project_not_found' }),
    );
  });
});

describe('loadProject keeps what it does not know', () => {
  const project = loadInside({
    'meltano.yml': [
      'version: 1',
      'send_anonymous_usage_stats: false',
      'x_team: data-platform',
      'state_backend:',
      '  uri: s3://bucket/state',
      'plugins:',
      '  extractors:',
      '  - name: tap-x',
      '    variant: acme',
      '    select: [users.*]',
      '    x_owner: alice',
      '    metadata:',
      '      users: {replication-key: updated_at}',
      'environments:',
      '- name: dev',
      '  annotations: {owner: bob}',
      '  config:',
      '    state_backend: {uri: file:///tmp}',
      '    plugins:',
      '      extractors:',
      '      - name: tap-x',
      '        x_flag: true',
      '',
    ].join('\n'),
  });

  it('keeps unknown top-level keys as project extras', () => {
    expect(project.extras).toMatchObject({
      version: 1,
      send_anonymous_usage_stats: false,
      x_team: 'data-platform',
      state_backend: { uri: 's3://bucket/state' },
    });
  });

  it('keeps unknown plugin keys as extras and in the raw entry', () => {
    const [plugin] = project.plugins;
    expect(plugin?.extras).toEqual({
      select: ['users.*'],
      x_owner: 'alice',
      metadata: { users: { 'replication-key': 'updated_at' } },
    });
    expect(plugin?.raw).toMatchObject({ name: 'tap-x', variant: 'acme', x_owner: 'alice' });
    expect(plugin?.variant).toBe('acme');
  });

  it('keeps unknown keys of environment plugin entries as extras and ignores other environment config', () => {
    const [environment] = project.environments;
    expect(environment?.plugins[0]?.extras).toEqual({ x_flag: true });
    expect(environment?.otherConfig).toEqual({ state_backend: { uri: 'file:///tmp' } });
    expect(project.warnings.map((w) => w.message)).toEqual([
      "environment 'dev' sets config.state_backend, which cannot be set per environment; it is ignored.",
    ]);
  });
});
