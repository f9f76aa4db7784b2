import { describe, expect, it } from 'vitest';
import { LIST_MASK, PRINT_MASK, processConfig } from '../../src/config/process.js';
import { meltanoYml, resolveYaml, setting } from './resolve-fixture.js';

const DEFINED = meltanoYml({
  plugins: {
    extractors: [
      {
        name: 'tap-x',
        namespace: 'tap_x',
        settings: [
          { name: 'client_secret', sensitive: true },
          { name: 'db_password', kind: 'password' },
          { name: 'oauth_token', kind: 'oauth' },
          { name: 'empty_secret', sensitive: true },
          { name: 'unset_secret', sensitive: true },
          { name: 'defined_api_key' },
          { name: 'domain' },
        ],
        config: {
          client_secret: 's3cret',
          db_password: 'pw',
          oauth_token: 'tok',
          empty_secret: '',
          defined_api_key: 'visible',
          domain: 'example.com',
        },
      },
    ],
  },
});

const CUSTOM = meltanoYml({
  plugins: {
    utilities: [
      {
        name: 'util-x',
        namespace: 'util_x',
        config: {
          client_secret: 'a',
          password: 'b',
          api_key: 'c',
          auth_token: 'd',
          auth: { password: 'e' },
          client_id: 'visible-id',
          passwords_file: 'visible-path',
          empty_password: '',
          null_password: null,
        },
      },
    ],
  },
});

describe('redaction', () => {
  it('masks settings marked sensitive: true, or of kind password or oauth, that have a value', () => {
    expect(processConfig(resolveYaml(DEFINED), PRINT_MASK)).toEqual({
      client_secret: '*****',
      db_password: '*****',
      oauth_token: '*****',
      empty_secret: '',
      defined_api_key: 'visible',
      domain: 'example.com',
    });
  });

  it('shows the real values with a null mask', () => {
    expect(processConfig(resolveYaml(DEFINED), null)).toMatchObject({
      client_secret: 's3cret',
      db_password: 'pw',
      oauth_token: 'tok',
    });
  });

  it('masks a sensitive value read from a variable, with any mask given', () => {
    const resolved = resolveYaml(DEFINED, { shell: { TAP_X_UNSET_SECRET: 'from-env' } });
    expect(processConfig(resolved, LIST_MASK)).toMatchObject({ unset_secret: '(redacted)' });
  });

  it('leaves empty and null sensitive values as they are', () => {
    const config = processConfig(resolveYaml(CUSTOM), PRINT_MASK);
    expect(config.empty_password).toBe('');
    expect(config).toHaveProperty('null_password', null);
  });

  it('treats custom settings named like secrets as sensitive, and client_id as not (Sluice rule)', () => {
    const resolved = resolveYaml(CUSTOM);
    expect(processConfig(resolved, PRINT_MASK)).toMatchObject({
      client_secret: '*****',
      password: '*****',
      api_key: '*****',
      auth_token: '*****',
      'auth.password': '*****',
      client_id: 'visible-id',
      passwords_file: 'visible-path',
    });
    expect(setting(resolved, 'client_secret').sensitive).toBe(true);
    expect(setting(resolved, 'client_id').sensitive).toBe(false);
  });

  it('trusts a definition that does not mark a secret-like name as sensitive', () => {
    expect(setting(resolveYaml(DEFINED), 'defined_api_key').sensitive).toBe(false);
  });

  it('only redacts for display: the resolved value stays real', () => {
    expect(setting(resolveYaml(DEFINED), 'client_secret').value).toBe('s3cret');
  });
});
