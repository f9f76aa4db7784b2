import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deleteIn, setIn, type YamlPathStep } from '../../src/project/yaml-edit.js';

/**
 * A hand-written meltano.yml: comments everywhere, odd quoting, flow collections, lists indented
 * by four spaces and by none, blank lines, and no newline at the end of the file.
 */
const ORIGINAL = `# Sluice test project
version: 1
default_environment: dev   # used by sluice

plugins:
    extractors:
    -   name: tap-auth0    # the tap
        variant: 'matatika'
        config:
            domain: "base.auth0.com"
            client_id: base-client   # keep me

            start_date: 2023-01-01
        select: [users.*, 'logs.*']

    -   name: tap-github
        pip_url: tap-github

    loaders:
    - name: target-jsonl
      config: null
      # a comment that closes the loader

environments:
    - name: dev
      config:
          plugins:
              extractors:
                  - name: tap-auth0
                    config: {domain: dev.auth0.com}
    - name: prod   # production
      env:
          FOO: "bar"
    - name: staging
      config:
        plugins:
          extractors: []`;

/** The original text with `before` (which must occur exactly once) replaced by `after`. */
function originalWith(before: string, after: string): string {
  expect(ORIGINAL.split(before).length - 1, `"${before}" should occur once in the fixture`).toBe(1);
  return ORIGINAL.replace(before, after);
}

const tapAuth0: readonly YamlPathStep[] = ['plugins', 'extractors', { name: 'tap-auth0' }];
const tapGithub: readonly YamlPathStep[] = ['plugins', 'extractors', { name: 'tap-github' }];
const targetJsonl: readonly YamlPathStep[] = ['plugins', 'loaders', { name: 'target-jsonl' }];
const inEnvironment = (environment: string, plugin: string): YamlPathStep[] => [
  'environments',
  { name: environment },
  'config',
  'plugins',
  'extractors',
  { name: plugin },
];

type Doc = {
  plugins: {
    extractors: { name: string; config?: Record<string, unknown> | null; select?: string[] }[];
    loaders: { name: string; config?: Record<string, unknown> | null }[];
  };
  environments: {
    name: string;
    env?: Record<string, string>;
    config?: { plugins: { extractors: { name: string; config?: Record<string, unknown> }[] } };
  }[];
};
const parsed = (text: string) => parse(text) as Doc;

describe('setIn', () => {
  it('replaces an existing scalar in place, keeping its key, comments and neighbours', () => {
    const out = setIn(ORIGINAL, [...tapAuth0, 'config', 'domain'], 'new.example.com');
    expect(out).toBe(
      originalWith('            domain: "base.auth0.com"\n', '            domain: new.example.com\n'),
    );
    expect(parsed(out).plugins.extractors[0]?.config?.domain).toBe('new.example.com');
  });

  it('replaces a scalar that carries a trailing comment, keeping the comment', () => {
    const out = setIn(ORIGINAL, [...tapAuth0, 'config', 'client_id'], 'other');
    expect(out).toBe(originalWith('client_id: base-client   # keep me', 'client_id: other   # keep me'));
  });

  it('replaces a flow sequence with a flow sequence', () => {
    const out = setIn(ORIGINAL, [...tapAuth0, 'select'], ['orders.*', 'users.id']);
    expect(out).toBe(originalWith("select: [users.*, 'logs.*']", 'select: [orders.*, users.id]'));
    expect(parsed(out).plugins.extractors[0]?.select).toEqual(['orders.*', 'users.id']);
  });

  it('quotes a new value only where YAML needs it', () => {
    const out = setIn(ORIGINAL, [...tapAuth0, 'config', 'domain'], '123');
    expect(out).toBe(originalWith('domain: "base.auth0.com"', 'domain: "123"'));
    expect(parsed(out).plugins.extractors[0]?.config?.domain).toBe('123');
  });

  it('adds a key at the end of an existing block mapping, at its indentation', () => {
    const out = setIn(ORIGINAL, [...tapAuth0, 'config', 'batch_size'], 100);
    expect(out).toBe(
      originalWith(
        '            start_date: 2023-01-01\n',
        '            start_date: 2023-01-01\n            batch_size: 100\n',
      ),
    );
    expect(parsed(out).plugins.extractors[0]?.config).toEqual({
      domain: 'base.auth0.com',
      client_id: 'base-client',
      start_date: '2023-01-01',
      batch_size: 100,
    });
  });

  it('adds a key to a flow mapping inside the braces', () => {
    const out = setIn(ORIGINAL, [...inEnvironment('dev', 'tap-auth0'), 'config', 'client_id'], 'dev-client');
    expect(out).toBe(
      originalWith(
        'config: {domain: dev.auth0.com}',
        'config: {domain: dev.auth0.com, client_id: dev-client}',
      ),
    );
  });

  it('creates `config:` under a plugin that has none', () => {
    const out = setIn(ORIGINAL, [...tapGithub, 'config', 'owner'], 'meltano');
    expect(out).toBe(
      originalWith(
        '        pip_url: tap-github\n',
        '        pip_url: tap-github\n        config:\n          owner: meltano\n',
      ),
    );
    expect(parsed(out).plugins.extractors[1]).toEqual({
      name: 'tap-github',
      pip_url: 'tap-github',
      config: { owner: 'meltano' },
    });
  });

  it('fills `config: null` with a block mapping, nested keys included', () => {
    const out = setIn(ORIGINAL, [...targetJsonl, 'config', 'paths', 'out'], 'output/');
    expect(out).toBe(
      originalWith('      config: null\n', '      config:\n        paths:\n          out: output/\n'),
    );
    expect(parsed(out).plugins.loaders[0]?.config).toEqual({ paths: { out: 'output/' } });
  });

  it("creates an environment's config.plugins.extractors[- name: X] entry when it is missing", () => {
    const out = setIn(
      ORIGINAL,
      [...inEnvironment('prod', 'tap-auth0'), 'config', 'domain'],
      'prod.auth0.com',
    );
    expect(out).toBe(
      originalWith(
        '          FOO: "bar"\n',
        [
          '          FOO: "bar"',
          '      config:',
          '        plugins:',
          '          extractors:',
          '          - name: tap-auth0',
          '            config:',
          '              domain: prod.auth0.com',
          '',
        ].join('\n'),
      ),
    );
    expect(parsed(out).environments[1]).toEqual({
      name: 'prod',
      env: { FOO: 'bar' },
      config: { plugins: { extractors: [{ name: 'tap-auth0', config: { domain: 'prod.auth0.com' } }] } },
    });
  });

  it('adds a plugin entry to an existing environment list, at the indentation of its dashes', () => {
    const out = setIn(ORIGINAL, [...inEnvironment('dev', 'tap-github'), 'config', 'owner'], 'me');
    expect(out).toBe(
      originalWith(
        '                    config: {domain: dev.auth0.com}\n',
        [
          '                    config: {domain: dev.auth0.com}',
          '                  - name: tap-github',
          '                    config:',
          '                      owner: me',
          '',
        ].join('\n'),
      ),
    );
    expect(parsed(out).environments[0]?.config?.plugins.extractors.map((e) => e.name)).toEqual([
      'tap-auth0',
      'tap-github',
    ]);
  });

  it('replaces an empty flow list at the very end of a file without a final newline', () => {
    const out = setIn(ORIGINAL, [...inEnvironment('staging', 'tap-auth0'), 'config', 'domain'], 'stg');
    expect(out).toBe(
      originalWith(
        '          extractors: []',
        '          extractors:\n          - name: tap-auth0\n            config:\n              domain: stg',
      ),
    );
    expect(parsed(out).environments[2]?.config?.plugins.extractors).toEqual([
      { name: 'tap-auth0', config: { domain: 'stg' } },
    ]);
  });

  it('replaces a whole block mapping with an inline value (as `config reset` does)', () => {
    const out = setIn(ORIGINAL, [...tapAuth0, 'config'], {});
    expect(out).toBe(
      originalWith(
        [
          '        config:',
          '            domain: "base.auth0.com"',
          '            client_id: base-client   # keep me',
          '',
          '            start_date: 2023-01-01',
          '',
        ].join('\n'),
        '        config: {}\n',
      ),
    );
  });

  it('adds a top-level key after the last line of a file without a final newline', () => {
    const out = setIn('plugins: {}\nproject_id: abc', ['send_anonymous_usage_stats'], false);
    expect(out).toBe('plugins: {}\nproject_id: abc\nsend_anonymous_usage_stats: false');
  });

  it('writes into an empty document', () => {
    expect(setIn('', ['environments', { name: 'dev' }], null)).toBe('environments:\n- name: dev\n');
  });
});

describe('deleteIn', () => {
  it('removes a key with its trailing comment and nothing else', () => {
    const out = deleteIn(ORIGINAL, [...tapAuth0, 'config', 'client_id']);
    expect(out).toBe(originalWith('            client_id: base-client   # keep me\n', ''));
    expect(parsed(out).plugins.extractors[0]?.config).toEqual({
      domain: 'base.auth0.com',
      start_date: '2023-01-01',
    });
  });

  it('removes a flow sequence value', () => {
    const out = deleteIn(ORIGINAL, [...tapAuth0, 'select']);
    expect(out).toBe(originalWith("        select: [users.*, 'logs.*']\n", ''));
  });

  it('removes a key from a flow mapping', () => {
    const text = setIn(ORIGINAL, [...inEnvironment('dev', 'tap-auth0'), 'config', 'client_id'], 'x');
    expect(deleteIn(text, [...inEnvironment('dev', 'tap-auth0'), 'config', 'domain'])).toBe(
      originalWith('config: {domain: dev.auth0.com}', 'config: {client_id: x}'),
    );
  });

  it('leaves `{}` when the last key of a mapping goes', () => {
    let out = ORIGINAL;
    for (const key of ['domain', 'client_id', 'start_date'])
      out = deleteIn(out, [...tapAuth0, 'config', key]);
    expect(out).toBe(
      originalWith(
        [
          '        config:',
          '            domain: "base.auth0.com"',
          '            client_id: base-client   # keep me',
          '',
          '            start_date: 2023-01-01',
          '',
        ].join('\n'),
        '        config: {}\n',
      ),
    );
    expect(parsed(out).plugins.extractors[0]?.config).toEqual({});
  });

  it('leaves `{}` when the only key of a mapping goes', () => {
    const out = deleteIn(ORIGINAL, ['environments', { name: 'prod' }, 'env', 'FOO']);
    expect(out).toBe(originalWith('      env:\n          FOO: "bar"\n', '      env: {}\n'));
    expect(parsed(out).environments[1]).toEqual({ name: 'prod', env: {} });
  });

  it('leaves `{}` when the last key goes on the last line of a file without a final newline', () => {
    const out = deleteIn(ORIGINAL, ['environments', { name: 'staging' }, 'config', 'plugins', 'extractors']);
    expect(out).toBe(originalWith('        plugins:\n          extractors: []', '        plugins: {}'));
  });

  it('removes a whole named list item', () => {
    const out = deleteIn(ORIGINAL, ['environments', { name: 'prod' }]);
    expect(out).toBe(originalWith('    - name: prod   # production\n      env:\n          FOO: "bar"\n', ''));
    expect(parsed(out).environments.map((e) => e.name)).toEqual(['dev', 'staging']);
  });

  it('returns the text unchanged when the path is not there', () => {
    expect(deleteIn(ORIGINAL, [...tapGithub, 'config', 'owner'])).toBe(ORIGINAL);
    expect(deleteIn(ORIGINAL, ['environments', { name: 'qa' }])).toBe(ORIGINAL);
  });
});
