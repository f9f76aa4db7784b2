import { describe, expect, it } from 'vitest';
import { type EnvironmentRequest, selectEnvironment } from '../../src/config/select-environment.js';
import { SluiceError } from '../../src/errors.js';
import type { Project } from '../../src/project/model.js';
import { loadYaml } from '../helpers/temp-project.js';
import { meltanoYml } from './resolve-fixture.js';

const ENVIRONMENTS = [{ name: 'dev' }, { name: 'staging' }, { name: 'prod' }];
const WITH_DEFAULT = loadYaml(meltanoYml({ default_environment: 'dev', environments: ENVIRONMENTS }));
const WITHOUT_DEFAULT = loadYaml(meltanoYml({ environments: ENVIRONMENTS }));

function select(request: Partial<EnvironmentRequest>, project: Project = WITH_DEFAULT) {
  const choice = selectEnvironment(project, { shell: {}, dotenv: {}, ...request });
  return { name: choice.environment?.name ?? null, origin: choice.origin, explicit: choice.explicit };
}

function selectionError(request: Partial<EnvironmentRequest>, project: Project = WITH_DEFAULT): SluiceError {
  try {
    select(request, project);
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('selection did not fail');
}

const EVERYTHING: Partial<EnvironmentRequest> = {
  flag: 'prod',
  shell: { SLUICE_ENVIRONMENT: 'staging', MELTANO_ENVIRONMENT: 'dev' },
  dotenv: { MELTANO_ENVIRONMENT: 'staging' },
};

describe('selectEnvironment', () => {
  for (const { request, name, origin, rule } of [
    {
      rule: 'the --environment flag beats every variable',
      request: EVERYTHING,
      name: 'prod',
      origin: '--environment',
    },
    {
      rule: 'SLUICE_ENVIRONMENT beats MELTANO_ENVIRONMENT',
      request: { shell: { SLUICE_ENVIRONMENT: 'staging', MELTANO_ENVIRONMENT: 'prod' } },
      name: 'staging',
      origin: 'SLUICE_ENVIRONMENT',
    },
    {
      rule: 'MELTANO_ENVIRONMENT in the shell beats .env',
      request: { shell: { MELTANO_ENVIRONMENT: 'prod' }, dotenv: { MELTANO_ENVIRONMENT: 'staging' } },
      name: 'prod',
      origin: 'MELTANO_ENVIRONMENT',
    },
    {
      rule: 'MELTANO_ENVIRONMENT in .env beats default_environment',
      request: { dotenv: { MELTANO_ENVIRONMENT: 'staging' } },
      name: 'staging',
      origin: '.env',
    },
  ]) {
    it(rule, () => {
      expect(select(request)).toEqual({ name, origin, explicit: true });
    });
  }

  it('falls back to default_environment, which is not an explicit choice', () => {
    expect(select({})).toEqual({ name: 'dev', origin: 'default_environment', explicit: false });
  });

  it('selects no environment when nothing names one', () => {
    expect(select({}, WITHOUT_DEFAULT)).toEqual({ name: null, origin: 'none', explicit: false });
  });

  for (const { request, where } of [
    { where: '--environment null', request: { flag: 'null' } },
    { where: '--environment NULL', request: { flag: 'NULL' } },
    { where: 'SLUICE_ENVIRONMENT=Null', request: { shell: { SLUICE_ENVIRONMENT: 'Null' } } },
    { where: 'MELTANO_ENVIRONMENT=null in the shell', request: { shell: { MELTANO_ENVIRONMENT: 'null' } } },
    { where: 'MELTANO_ENVIRONMENT=null in .env', request: { dotenv: { MELTANO_ENVIRONMENT: 'null' } } },
  ]) {
    it(`reads ${where} as no environment, ignoring default_environment`, () => {
      expect(select(request)).toMatchObject({ name: null, explicit: true });
    });
  }

  it('lets noEnvironment win over everything', () => {
    expect(select({ ...EVERYTHING, noEnvironment: true })).toEqual({
      name: null,
      origin: 'none',
      explicit: true,
    });
  });

  it('lets MELTANO_ENVIRONMENT="" fall through to default_environment, hiding .env as Python does', () => {
    const choice = select({ shell: { MELTANO_ENVIRONMENT: '' }, dotenv: { MELTANO_ENVIRONMENT: 'staging' } });
    expect(choice).toEqual({ name: 'dev', origin: 'default_environment', explicit: false });
  });

  for (const { request, where } of [
    { where: 'the shell', request: { shell: { MELTANO_DEFAULT_ENVIRONMENT: 'prod' } } },
    { where: '.env', request: { dotenv: { MELTANO_DEFAULT_ENVIRONMENT: 'prod' } } },
  ]) {
    it(`lets MELTANO_DEFAULT_ENVIRONMENT in ${where} replace default_environment`, () => {
      expect(select(request)).toEqual({ name: 'prod', origin: 'default_environment', explicit: false });
    });
  }

  for (const { request, where } of [
    { where: 'the flag', request: { flag: 'qa' } },
    { where: 'MELTANO_ENVIRONMENT', request: { shell: { MELTANO_ENVIRONMENT: 'qa' } } },
    { where: 'default_environment', request: { shell: { MELTANO_DEFAULT_ENVIRONMENT: 'qa' } } },
  ]) {
    it(`rejects an unknown name from ${where}, listing the defined environments`, () => {
      const error = selectionError(request);
      expect(error.code).toBe('environment_not_found');
      expect(error.message).toContain("'qa'");
      expect(error.message).toContain('dev, staging, prod');
    });
  }

  it('matches names exactly: PROD is not prod', () => {
    expect(selectionError({ flag: 'PROD' }).code).toBe('environment_not_found');
  });
});
