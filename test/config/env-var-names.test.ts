import { describe, expect, it } from 'vitest';
import { type NamingPlugin, readEnvVars, toEnvVar, writeEnvVars } from '../../src/config/env-var-names.js';
import { SluiceError } from '../../src/errors.js';
import { meltanoYml, resolveYaml, setting } from './resolve-fixture.js';

const AUTH0 = meltanoYml({
  plugins: {
    extractors: [
      {
        name: 'tap-auth0',
        settings: [
          { name: 'client_id' },
          { name: 'domain' },
          { name: 'username', aliases: ['user'] },
          { name: 'region', env_aliases: ['LEGACY_AUTH0_REGION'] },
          { name: 'enabled', kind: 'boolean', env_aliases: ['!AUTH0_DISABLED'] },
          { name: 'api_key', env: 'AUTH0_API_KEY' },
        ],
        config: { auth: { password: 'from-yaml' } },
      },
      { name: 'tap-auth0--eu', inherit_from: 'tap-auth0', config: { domain: 'eu.auth0.com' } },
      { name: 'tap-auth0--us', inherit_from: 'tap-auth0' },
      { name: 'tap-custom', namespace: 'my_ns', settings: [{ name: 'client_id' }] },
    ],
  },
});

function resolveAuth0(shell: Record<string, string>, plugin = 'tap-auth0') {
  return resolveYaml(AUTH0, { plugin, shell });
}

describe('toEnvVar', () => {
  for (const { parts, name } of [
    { parts: ['tap-auth0', 'client_id'], name: 'TAP_AUTH0_CLIENT_ID' },
    { parts: ['tap_x', '_select'], name: 'TAP_X__SELECT' },
    { parts: ['tap-x', 'auth.password'], name: 'TAP_X_AUTH_PASSWORD' },
    { parts: ['tap-x', 'metadata.users.replication-key'], name: 'TAP_X_METADATA_USERS_REPLICATION_KEY' },
    { parts: ['tap-auth0--eu', 'domain'], name: 'TAP_AUTH0__EU_DOMAIN' },
    { parts: ['MELTANO_EXTRACT', 'domain'], name: 'MELTANO_EXTRACT_DOMAIN' },
  ]) {
    it(`joins ${parts.join(' and ')} into ${name} (non-alphanumerics become _, then upper case)`, () => {
      expect(toEnvVar(...parts)).toBe(name);
    });
  }
});

describe('variables a setting is read from', () => {
  for (const { plugin, variable, rule } of [
    { rule: 'reads <NAME>_<SETTING> for a plugin', plugin: 'tap-auth0', variable: 'TAP_AUTH0_CLIENT_ID' },
    {
      rule: 'reads <NAMESPACE>_<SETTING> for a plugin with a namespace',
      plugin: 'tap-custom',
      variable: 'MY_NS_CLIENT_ID',
    },
    {
      rule: 'reads <NAME>_<SETTING> for a plugin with a namespace too',
      plugin: 'tap-custom',
      variable: 'TAP_CUSTOM_CLIENT_ID',
    },
  ]) {
    it(rule, () => {
      const clientId = setting(resolveAuth0({ [variable]: 'abc' }, plugin), 'client_id');
      expect(clientId).toMatchObject({ value: 'abc', source: 'env', envVar: variable });
    });
  }

  it('reads the variables of each alias', () => {
    const username = setting(resolveAuth0({ TAP_AUTH0_USER: 'me' }), 'username');
    expect(username).toMatchObject({ value: 'me', source: 'env', envVar: 'TAP_AUTH0_USER' });
  });

  it('reads literal env_aliases of a plugin without inherit_from', () => {
    const region = setting(resolveAuth0({ LEGACY_AUTH0_REGION: 'eu' }), 'region');
    expect(region).toMatchObject({ value: 'eu', source: 'env', envVar: 'LEGACY_AUTH0_REGION' });
  });

  it.each([
    { text: 'true', value: false },
    { text: '1', value: false },
    { text: 'false', value: true },
    { text: 'no', value: true },
  ])('reads a !NAME env_alias as the negated boolean: $text gives $value', ({ text, value }) => {
    expect(setting(resolveAuth0({ AUTH0_DISABLED: text }), 'enabled').value).toBe(value);
  });

  it('does not read env_aliases for a plugin with inherit_from', () => {
    const us = resolveAuth0({ LEGACY_AUTH0_REGION: 'eu' }, 'tap-auth0--us');
    const names = readEnvVars(us.naming, setting(us, 'region').definition).map((v) => v.name);
    expect(names).toEqual(['TAP_AUTH0__US_REGION']);
    // The alias still reaches the child through the parent, which reads it: as in Meltano.
    expect(setting(us, 'region')).toMatchObject({ value: 'eu', source: 'inherited', inheritedSource: 'env' });
  });

  it('reads extras with a double underscore (_select -> TAP_X__SELECT)', () => {
    const select = setting(resolveAuth0({ TAP_AUTH0__SELECT: '["users.*"]' }), '_select');
    expect(select).toMatchObject({ value: ['users.*'], source: 'env', envVar: 'TAP_AUTH0__SELECT' });
  });

  it('reads nested keys flattened (auth.password -> TAP_X_AUTH_PASSWORD)', () => {
    const password = setting(resolveAuth0({ TAP_AUTH0_AUTH_PASSWORD: 'from-env' }), 'auth.password');
    expect(password).toMatchObject({ value: 'from-env', source: 'env', envVar: 'TAP_AUTH0_AUTH_PASSWORD' });
  });

  for (const { variable, name, rule } of [
    { rule: "the setting's custom env (write-only)", variable: 'AUTH0_API_KEY', name: 'api_key' },
    { rule: 'the generic MELTANO_EXTRACT_<SETTING>', variable: 'MELTANO_EXTRACT_DOMAIN', name: 'domain' },
  ]) {
    it(`does not read ${rule}`, () => {
      expect(setting(resolveAuth0({ [variable]: 'x' }), name)).toMatchObject({
        value: null,
        source: 'default',
      });
    });
  }

  it('lets an inheriting plugin tap-auth0--eu read TAP_AUTH0__EU_DOMAIN', () => {
    const domain = setting(resolveAuth0({ TAP_AUTH0__EU_DOMAIN: 'env.eu' }, 'tap-auth0--eu'), 'domain');
    expect(domain).toMatchObject({ value: 'env.eu', source: 'env', envVar: 'TAP_AUTH0__EU_DOMAIN' });
  });

  it("does not let the parent's variable override the inheriting plugin's base config (Meltano bug #9239)", () => {
    const domain = setting(resolveAuth0({ TAP_AUTH0_DOMAIN: 'parent.env' }, 'tap-auth0--eu'), 'domain');
    expect(domain).toMatchObject({ value: 'eu.auth0.com', source: 'meltano_yml' });
  });

  it("passes the parent's variable to an inheriting plugin only through the inherited store", () => {
    const domain = setting(resolveAuth0({ TAP_AUTH0_DOMAIN: 'parent.env' }, 'tap-auth0--us'), 'domain');
    expect(domain).toMatchObject({
      value: 'parent.env',
      source: 'inherited',
      inheritedFrom: 'tap-auth0',
      inheritedSource: 'env',
    });
  });

  it('rejects two variables for one setting with different values (setting_conflict)', () => {
    const resolve = () => resolveAuth0({ TAP_CUSTOM_CLIENT_ID: 'a', MY_NS_CLIENT_ID: 'b' }, 'tap-custom');
    expect(resolve).toThrow(SluiceError);
    expect(resolve).toThrow(expect.objectContaining({ code: 'setting_conflict' }));
    expect(resolve).toThrow(/TAP_CUSTOM_CLIENT_ID, MY_NS_CLIENT_ID/);
  });

  it('also rejects two variables for one setting with the same value, as Meltano does', () => {
    const resolve = () => resolveAuth0({ TAP_CUSTOM_CLIENT_ID: 'a', MY_NS_CLIENT_ID: 'a' }, 'tap-custom');
    expect(resolve).toThrow(expect.objectContaining({ code: 'setting_conflict' }));
  });
});

describe('variables a setting is written to', () => {
  const eu: NamingPlugin = {
    name: 'tap-auth0--eu',
    namespace: 'auth0_eu',
    inherits: true,
    verb: 'EXTRACT',
    parentPrefixes: ['tap-auth0', 'tap_auth0'],
  };

  it('lists the custom env, own prefixes, parent prefixes, MELTANO_<VERB>_<SETTING>, then env_aliases', () => {
    const names = writeEnvVars(eu, {
      name: 'domain',
      env: 'AUTH0_DOMAIN',
      envAliases: ['OLD_AUTH0_DOMAIN', '!AUTH0_NO_DOMAIN'],
    });
    expect(names).toEqual([
      'AUTH0_DOMAIN',
      'TAP_AUTH0__EU_DOMAIN',
      'AUTH0_EU_DOMAIN',
      'TAP_AUTH0_DOMAIN',
      'MELTANO_EXTRACT_DOMAIN',
      'OLD_AUTH0_DOMAIN',
    ]);
  });

  it('builds the parent prefixes from the project for an inheriting plugin', () => {
    const resolved = resolveAuth0({}, 'tap-auth0--eu');
    expect(writeEnvVars(resolved.naming, setting(resolved, 'domain').definition)).toEqual([
      'TAP_AUTH0__EU_DOMAIN',
      'TAP_AUTH0_DOMAIN',
      'MELTANO_EXTRACT_DOMAIN',
    ]);
  });
});
