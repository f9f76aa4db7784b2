import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempProject } from '../helpers/temp-project.js';
import { AUTH0_YML, auth0Project, readText, replaceOnce, sluice } from './fixture.js';

const meltanoYml = (root: string) => readText(root, 'meltano.yml');

/** Asserts a user error: exit 1, one `error: ...` message on stderr, no stack trace, nothing on stdout. */
function expectUserError(result: { status: number; stdout: string; stderr: string }, ...says: string[]) {
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^error: /m);
  expect(result.stderr).not.toContain('    at ');
  expect(result.stderr).not.toContain('internal error');
  for (const words of says) expect(result.stderr).toContain(words);
}

describe('sluice environment', () => {
  it('lists the environments in file order, the default marked', () => {
    const result = sluice(auth0Project(), ['environment', 'list']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('dev (default)\nstaging\nprod\n');
  });

  it('adds `- name: qa` at the end of the environments, keeping every other byte', () => {
    const root = auth0Project();
    const result = sluice(root, ['environment', 'add', 'qa']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("Created new environment 'qa'\n");
    expect(meltanoYml(root)).toBe(`${AUTH0_YML}- name: qa\n`);
    expect(sluice(root, ['environment', 'list']).stdout).toBe('dev (default)\nstaging\nprod\nqa\n');
  });

  it('adds the first environment to a project that has none', () => {
    const root = tempProject({ 'meltano.yml': '# empty project\nplugins: {}\n' });
    expect(sluice(root, ['environment', 'add', 'dev']).status).toBe(0);
    expect(meltanoYml(root)).toBe('# empty project\nplugins: {}\nenvironments:\n- name: dev\n');
  });

  it('refuses an environment that exists, or a name with a colon, changing nothing', () => {
    const root = auth0Project();
    expectUserError(
      sluice(root, ['environment', 'add', 'prod']),
      "An environment named 'prod' already exists.",
    );
    expectUserError(
      sluice(root, ['environment', 'add', 'eu:prod']),
      "'eu:prod' cannot be an environment name",
      "':'",
    );
    expect(meltanoYml(root)).toBe(AUTH0_YML);
  });

  it('removes an environment and its block, and fails on an unknown one', () => {
    const root = auth0Project();
    const result = sluice(root, ['environment', 'remove', 'staging']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("Removed environment 'staging'\n");
    expect(meltanoYml(root)).toBe(replaceOnce(AUTH0_YML, '- name: staging\n', ''));
    expectUserError(
      sluice(root, ['environment', 'remove', 'staging']),
      "Environment 'staging' was not found.",
    );
  });
});

describe('sluice init', () => {
  it('creates meltano.yml with dev, staging and prod, default_environment dev', () => {
    const parent = tempProject({});
    const result = sluice(parent, ['init', 'new-project']);
    expect(result.status).toBe(0);
    const root = join(parent, 'new-project');
    const yml = parse(meltanoYml(root)) as Record<string, unknown>;
    expect(yml.default_environment).toBe('dev');
    expect(yml.environments).toEqual([{ name: 'dev' }, { name: 'staging' }, { name: 'prod' }]);
    expect(yml.project_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(readText(root, '.gitignore').split('\n')).toContain('.env');
    const list = sluice(root, ['environment', 'list']);
    expect(list.stdout).toBe('dev (default)\nstaging\nprod\n');
  });

  it('refuses to overwrite an existing project', () => {
    const root = auth0Project();
    expectUserError(sluice(root, ['init', '.']), 'already exists');
    expect(meltanoYml(root)).toBe(AUTH0_YML);
    expect(existsSync(join(root, '.gitignore'))).toBe(false);
  });
});

describe('errors', () => {
  it('names an unknown plugin and the defined ones', () => {
    expectUserError(
      sluice(auth0Project(), ['config', 'print', 'tap-nope']),
      "Plugin 'tap-nope' is not defined in this project.",
      'tap-auth0',
    );
  });

  it('names an unknown environment and lists the defined ones', () => {
    expectUserError(
      sluice(auth0Project(), ['--environment', 'qa', 'config', 'print', 'tap-auth0']),
      "Environment 'qa' (from --environment) was not found.",
      'Defined environments: dev, staging, prod.',
    );
    expectUserError(
      sluice(auth0Project(), ['config', 'list', 'tap-auth0'], { MELTANO_ENVIRONMENT: 'qa' }),
      "Environment 'qa' (from MELTANO_ENVIRONMENT) was not found.",
    );
  });

  it('locates invalid YAML as meltano.yml:line:column', () => {
    const root = auth0Project({
      'meltano.yml': 'plugins:\n  extractors:\n  - name: tap-x\n    config:\n      a: 1\n      a: 2\n',
    });
    const result = sluice(root, ['config', 'print', 'tap-x']);
    expectUserError(result, 'invalid YAML');
    expect(result.stderr).toMatch(/^error: meltano\.yml:6:7: /m);
  });

  it('locates a shape error as meltano.yml:line:column', () => {
    const root = auth0Project({ 'meltano.yml': 'plugins:\n  extractors:\n    tap-x: {}\n' });
    const result = sluice(root, ['environment', 'list']);
    expectUserError(result, '`plugins.extractors` must be a list');
    expect(result.stderr).toMatch(/^error: meltano\.yml:3:5: /m);
  });

  it('says when there is no project', () => {
    const result = sluice(tempProject({}), ['config', 'print', 'tap-x']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: .*meltano\.yml/m);
    expect(result.stderr).not.toContain('    at ');
  });
});
