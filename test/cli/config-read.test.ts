import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { auth0Project, sluice } from './fixture.js';

const DEV_CONFIG = { domain: 'dev.auth0.com', client_id: 'base-client', client_secret: '*****' };
const PROD_CONFIG = {
  domain: 'prod.auth0.com',
  client_id: 'prod-client',
  client_secret: '*****',
  region: 'eu',
};
const BASE_CONFIG = { domain: 'base.auth0.com', client_id: 'base-client', client_secret: '*****' };

function printed(root: string, args: readonly string[], env: Readonly<Record<string, string>> = {}) {
  const result = sluice(root, args, env);
  expect(result.stderr).not.toContain('error');
  expect(result.status).toBe(0);
  return { config: JSON.parse(result.stdout) as Record<string, unknown>, stderr: result.stderr };
}

describe('sluice config print', () => {
  it('prints the configuration of the default environment as JSON, secrets masked, and says which environment', () => {
    const root = auth0Project();
    const result = sluice(root, ['config', 'print', 'tap-auth0']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify(DEV_CONFIG, null, 2)}\n`);
    expect(result.stderr).toContain("environment 'dev' (from default_environment)");
  });

  it('shows secrets with --unsafe', () => {
    const { config } = printed(auth0Project(), ['config', 'print', 'tap-auth0', '--unsafe']);
    expect(config).toEqual({ ...DEV_CONFIG, client_secret: 's3cret' });
  });

  it('prints --format env as quoted variables, under the plugin name and MELTANO_EXTRACT_', () => {
    const root = auth0Project();
    const result = sluice(root, ['config', 'print', 'tap-auth0', '--format', 'env']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      [
        "TAP_AUTH0_DOMAIN='dev.auth0.com'",
        "MELTANO_EXTRACT_DOMAIN='dev.auth0.com'",
        "TAP_AUTH0_CLIENT_ID='base-client'",
        "MELTANO_EXTRACT_CLIENT_ID='base-client'",
        "TAP_AUTH0_CLIENT_SECRET='*****'",
        "MELTANO_EXTRACT_CLIENT_SECRET='*****'",
        '',
      ].join('\n'),
    );
    const unsafe = sluice(root, ['config', 'print', 'tap-auth0', '--format=env', '--unsafe']);
    expect(unsafe.stdout).toContain("TAP_AUTH0_CLIENT_SECRET='s3cret'\n");
  });

  it('rejects an unknown --format', () => {
    const result = sluice(auth0Project(), ['config', 'print', 'tap-auth0', '--format', 'yaml']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("--format must be json or env, not 'yaml'");
  });
});

describe('sluice config list', () => {
  it('lists every setting with its value, source, variable and unexpanded value; secrets redacted', () => {
    const root = auth0Project();
    const result = sluice(root, ['--environment', 'prod', 'config', 'list', 'tap-auth0', '--format', 'json']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { name: 'domain', value: 'prod.auth0.com', source: 'environment' },
      { name: 'client_id', value: 'prod-client', source: 'environment' },
      { name: 'client_secret', value: '(redacted)', source: 'dotenv', envVar: 'TAP_AUTH0_CLIENT_SECRET' },
      { name: 'batch_size', value: null, source: 'default' },
      { name: 'region', value: 'eu', source: 'environment', unexpandedValue: '$REGION' },
    ]);
  });

  it('labels each value with where it comes from in the text format', () => {
    const result = sluice(auth0Project(), ['config', 'list', 'tap-auth0']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      "client_id [env: TAP_AUTH0_CLIENT_ID] current value: 'base-client' (from `meltano.yml`)\n",
    );
    expect(result.stdout).toContain(
      'client_secret [env: TAP_AUTH0_CLIENT_SECRET] current value: (redacted) (from the TAP_AUTH0_CLIENT_SECRET variable in `.env`)\n',
    );
    expect(result.stdout).toContain(
      "domain [env: TAP_AUTH0_DOMAIN] current value: 'dev.auth0.com' (from the active environment in `meltano.yml`)\n",
    );
    expect(result.stdout).not.toContain('s3cret');
  });
});

describe('choosing the environment', () => {
  it('accepts the global options before or after the command', () => {
    const root = auth0Project();
    for (const args of [
      ['--environment', 'prod', 'config', 'print', 'tap-auth0'],
      ['config', 'print', 'tap-auth0', '--environment', 'prod'],
      ['config', 'print', '--environment=prod', 'tap-auth0'],
      ['-e', 'prod', 'config', 'print', 'tap-auth0'],
    ]) {
      const { config, stderr } = printed(root, args);
      expect(config, args.join(' ')).toEqual(PROD_CONFIG);
      expect(stderr).toContain("environment 'prod' (from --environment)");
    }
  });

  it('finds the project with --project-root from another folder', () => {
    const root = auth0Project();
    const { config } = printed(tmpdir(), ['config', 'print', 'tap-auth0', '--project-root', root]);
    expect(config).toEqual(DEV_CONFIG);
  });

  it('uses the base configuration with --no-environment, whatever else is set', () => {
    const { config, stderr } = printed(auth0Project(), ['--no-environment', 'config', 'print', 'tap-auth0'], {
      MELTANO_ENVIRONMENT: 'prod',
    });
    expect(config).toEqual(BASE_CONFIG);
    expect(stderr).toContain('no environment');
  });

  it('reads SLUICE_ENVIRONMENT, then MELTANO_ENVIRONMENT, from the shell', () => {
    const root = auth0Project();
    const sluiceVar = printed(root, ['config', 'print', 'tap-auth0'], {
      SLUICE_ENVIRONMENT: 'prod',
      MELTANO_ENVIRONMENT: 'staging',
    });
    expect(sluiceVar.config).toEqual(PROD_CONFIG);
    expect(sluiceVar.stderr).toContain("environment 'prod' (from SLUICE_ENVIRONMENT)");
    const meltanoVar = printed(root, ['config', 'print', 'tap-auth0'], { MELTANO_ENVIRONMENT: 'prod' });
    expect(meltanoVar.config).toEqual(PROD_CONFIG);
    expect(meltanoVar.stderr).toContain("environment 'prod' (from MELTANO_ENVIRONMENT)");
  });

  it('reads MELTANO_ENVIRONMENT from .env, below the shell and the flag', () => {
    const root = auth0Project({ '.env': "TAP_AUTH0_CLIENT_SECRET='s3cret'\nMELTANO_ENVIRONMENT=prod\n" });
    const fromDotenv = printed(root, ['config', 'print', 'tap-auth0']);
    expect(fromDotenv.config).toEqual(PROD_CONFIG);
    expect(fromDotenv.stderr).toContain("environment 'prod' (from .env)");
    const fromShell = printed(root, ['config', 'print', 'tap-auth0'], { MELTANO_ENVIRONMENT: 'staging' });
    expect(fromShell.stderr).toContain("environment 'staging' (from MELTANO_ENVIRONMENT)");
    const fromFlag = printed(root, ['config', 'print', 'tap-auth0', '-e', 'dev']);
    expect(fromFlag.config).toEqual(DEV_CONFIG);
  });

  it("treats the environment name 'null' as no environment", () => {
    const { config, stderr } = printed(auth0Project(), ['config', 'print', 'tap-auth0'], {
      MELTANO_ENVIRONMENT: 'NULL',
    });
    expect(config).toEqual(BASE_CONFIG);
    expect(stderr).toContain('no environment');
  });
});

describe('sluice config matrix', () => {
  it('lists every environment side by side and marks the settings that differ', () => {
    const result = sluice(auth0Project(), ['config', 'matrix', 'tap-auth0']);
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^SETTING\s+dev \(active\)\s+staging\s+prod$/);
    const row = (name: string) => lines.find((l) => l.slice(2).startsWith(`${name} `)) ?? '';
    expect(row('domain')).toMatch(
      /^\* domain\s+dev\.auth0\.com \[environment\]\s+base\.auth0\.com \[base\]\s+prod\.auth0\.com \[environment\]$/,
    );
    expect(row('client_id')).toMatch(
      /^\* client_id\s+base-client \[base\]\s+base-client \[base\]\s+prod-client/,
    );
    expect(row('client_secret')).toMatch(/^ {2}client_secret\s+\*\*\*\*\* /);
    expect(row('batch_size')).toMatch(/^ {2}batch_size\s+- \[default\]/);
    expect(row('region')).toMatch(/^\* region\s+-\s+-\s+eu \[environment\]$/);
    expect(result.stdout).toContain('* differs between environments');
    expect(result.stdout).not.toContain('s3cret');
  });

  it('gives the same as JSON with --format json', () => {
    const result = sluice(auth0Project(), ['config', 'matrix', 'tap-auth0', '--format', 'json']);
    expect(result.status).toBe(0);
    const matrix = JSON.parse(result.stdout);
    expect(matrix).toMatchObject({
      plugin: 'tap-auth0',
      type: 'extractors',
      activeEnvironment: 'dev',
      environments: ['dev', 'staging', 'prod'],
    });
    expect(matrix.settings.map((s: { name: string; differs: boolean }) => [s.name, s.differs])).toEqual([
      ['domain', true],
      ['client_id', true],
      ['client_secret', false],
      ['batch_size', false],
      ['region', true],
    ]);
    expect(matrix.settings[0].values).toEqual({
      dev: { value: 'dev.auth0.com', source: 'environment' },
      staging: { value: 'base.auth0.com', source: 'meltano_yml' },
      prod: { value: 'prod.auth0.com', source: 'environment' },
    });
    expect(matrix.settings[2].values.prod).toEqual({
      value: '*****',
      source: 'dotenv',
      envVar: 'TAP_AUTH0_CLIENT_SECRET',
    });
  });
});

describe('plugins of the same name', () => {
  const yml =
    'plugins:\n  extractors:\n  - name: dup\n    config: {a: ext}\n  utilities:\n  - name: dup\n    config: {a: util}\n';

  it('needs --plugin-type, and says which types share the name', () => {
    const root = auth0Project({ 'meltano.yml': yml });
    const ambiguous = sluice(root, ['config', 'print', 'dup']);
    expect(ambiguous.status).toBe(1);
    expect(ambiguous.stderr).toContain("error: 'dup' names 2 plugins (extractors, utilities)");
    expect(ambiguous.stderr).toContain('--plugin-type');
    expect(ambiguous.stdout).toBe('');
    const chosen = printed(root, ['config', 'print', 'dup', '--plugin-type', 'utilities']);
    expect(chosen.config).toEqual({ a: 'util' });
  });
});
