import { describe, expect, it } from 'vitest';
import { processConfig } from '../../src/config/process.js';
import { meltanoYml, resolveYaml, setting } from './resolve-fixture.js';

/** A project where `tap-x` has `base` as its entry and `prod` adds `environment` to it. */
function project(base: Record<string, unknown>, environment: Record<string, unknown>): string {
  return meltanoYml({
    plugins: { extractors: [{ name: 'tap-x', namespace: 'tap_x', ...base }] },
    environments: [
      { name: 'prod', config: { plugins: { extractors: [{ name: 'tap-x', ...environment }] } } },
    ],
  });
}

function resolveProd(base: Record<string, unknown>, environment: Record<string, unknown>, shell = {}) {
  return resolveYaml(project(base, environment), { environment: 'prod', shell });
}

describe('merging the environment into the base config', () => {
  it('merges nested mappings leaf by leaf, the environment winning per leaf', () => {
    const resolved = resolveProd(
      { config: { auth: { user: 'base-user', password: 'base-pw' } } },
      { config: { auth: { password: 'prod-pw' } } },
    );
    expect(processConfig(resolved, null)).toEqual({ auth: { user: 'base-user', password: 'prod-pw' } });
    expect(setting(resolved, 'auth.user').source).toBe('meltano_yml');
    expect(setting(resolved, 'auth.password').source).toBe('environment');
  });

  for (const { base, environment, spelling } of [
    {
      spelling: 'a dotted key in the environment adds to a nested base mapping',
      base: { auth: { user: 'u', password: 'p' } },
      environment: { 'auth.token': 't' },
    },
    {
      spelling: 'a nested key in the environment adds to a dotted base key',
      base: { 'auth.user': 'u', 'auth.password': 'p' },
      environment: { auth: { token: 't' } },
    },
    {
      spelling: 'dotted keys in both',
      base: { 'auth.user': 'u', 'auth.password': 'p' },
      environment: { 'auth.token': 't' },
    },
  ]) {
    it(`treats dotted and nested spellings as the same setting: ${spelling}`, () => {
      const resolved = resolveProd({ config: base }, { config: environment });
      expect(processConfig(resolved, null)).toEqual({ auth: { user: 'u', password: 'p', token: 't' } });
    });
  }

  it('replaces lists instead of concatenating them (select)', () => {
    const resolved = resolveProd({ select: ['users.*'] }, { select: ['orders.*'] });
    const select = resolved.extras.find((s) => s.name === '_select');
    expect(select).toMatchObject({ value: ['orders.*'], source: 'environment' });
  });

  it('replaces lists instead of concatenating them (an array setting in config)', () => {
    const resolved = resolveProd({ config: { tags: ['a', 'b'] } }, { config: { tags: ['c'] } });
    expect(processConfig(resolved, null)).toEqual({ tags: ['c'] });
  });

  it('merges metadata leaf by leaf across the base and the environment', () => {
    const resolved = resolveProd(
      { metadata: { users: { 'replication-method': 'INCREMENTAL' } } },
      { metadata: { users: { 'replication-key': 'updated_at' } } },
    );
    const metadata = resolved.extras.find((s) => s.name === '_metadata');
    expect(metadata?.value).toEqual({
      users: { 'replication-method': 'INCREMENTAL', 'replication-key': 'updated_at' },
    });
    expect(metadata?.source).toBe('environment');
  });

  it('keeps the default of an object extra when no layer sets a leaf', () => {
    const metadata = resolveProd({}, {}).extras.find((s) => s.name === '_metadata');
    expect(metadata).toMatchObject({ value: {}, source: 'default' });
  });

  for (const { base, environment, expected, what } of [
    {
      what: 'a custom nested mapping',
      base: { config: { auth: { user: 'u', password: 'p' } } },
      environment: { config: { auth: {} } },
      expected: { auth: { user: 'u', password: 'p' } },
    },
    {
      what: 'a defined object setting',
      base: { settings: [{ name: 'headers', kind: 'object' }], config: { headers: { a: '1', b: '2' } } },
      environment: { config: { headers: {} } },
      expected: { headers: { a: '1', b: '2' } },
    },
  ]) {
    it(`does not let an empty mapping in the environment wipe base keys: ${what}`, () => {
      expect(processConfig(resolveProd(base, environment), null)).toEqual(expected);
    });
  }

  it('resolves an object setting to the empty mapping the environment gives, before processing', () => {
    const resolved = resolveProd(
      { settings: [{ name: 'headers', kind: 'object' }], config: { headers: { a: '1' } } },
      { config: { headers: {} } },
    );
    expect(setting(resolved, 'headers')).toMatchObject({ value: {}, source: 'environment' });
  });

  it('re-merges lower-layer leaves into a whole object set by a variable', () => {
    const resolved = resolveProd(
      { settings: [{ name: 'headers', kind: 'object' }], config: { headers: { a: '1', b: '2' } } },
      {},
      { TAP_X_HEADERS: '{"z":"only"}' },
    );
    expect(setting(resolved, 'headers')).toMatchObject({ value: { z: 'only' }, source: 'env' });
    expect(processConfig(resolved, null)).toEqual({ headers: { z: 'only', a: '1', b: '2' } });
  });
});
