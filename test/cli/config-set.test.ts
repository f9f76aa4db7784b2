import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempProject } from '../helpers/temp-project.js';
import { AUTH0_DOTENV, AUTH0_YML, auth0Project, readText, replaceOnce, sluice } from './fixture.js';

const meltanoYml = (root: string) => readText(root, 'meltano.yml');
const dotenv = (root: string) => readText(root, '.env');

describe('sluice config set', () => {
  it('writes into the base config without --environment (even with a default environment), in place', () => {
    const root = auth0Project();
    const result = sluice(root, ['config', 'set', 'tap-auth0', 'domain', 'new.auth0.com']);
    expect(result.status).toBe(0);
    expect(meltanoYml(root)).toBe(
      replaceOnce(
        AUTH0_YML,
        '      domain: base.auth0.com   # the tenant\n',
        '      domain: new.auth0.com   # the tenant\n',
      ),
    );
    expect(result.stdout).toBe(
      "Extractor 'tap-auth0' setting 'domain' was set in `meltano.yml`: 'new.auth0.com'\n" +
        "Current value is still: 'dev.auth0.com' (from the active environment in `meltano.yml`)\n",
    );
    expect(dotenv(root)).toBe(AUTH0_DOTENV);
  });

  it("writes into the chosen environment's block with --environment", () => {
    const root = auth0Project();
    const result = sluice(root, [
      '--environment',
      'prod',
      'config',
      'set',
      'tap-auth0',
      'domain',
      'p.auth0.com',
    ]);
    expect(result.status).toBe(0);
    expect(meltanoYml(root)).toBe(
      replaceOnce(AUTH0_YML, '          domain: prod.auth0.com\n', '          domain: p.auth0.com\n'),
    );
    expect(result.stdout).toBe(
      "Extractor 'tap-auth0' setting 'domain' was set in the 'prod' environment in `meltano.yml`: 'p.auth0.com'\n",
    );
  });

  it("creates the environment's plugin entry when the environment has none", () => {
    const root = auth0Project();
    const result = sluice(root, ['config', 'set', 'tap-auth0', 'client_id', 'stg-client', '-e', 'staging']);
    expect(result.status).toBe(0);
    expect(meltanoYml(root)).toBe(
      replaceOnce(
        AUTH0_YML,
        '- name: staging\n',
        [
          '- name: staging',
          '  config:',
          '    plugins:',
          '      extractors:',
          '      - name: tap-auth0',
          '        config:',
          '          client_id: stg-client',
          '',
        ].join('\n'),
      ),
    );
    const print = sluice(root, ['config', 'print', 'tap-auth0', '-e', 'staging']);
    expect(JSON.parse(print.stdout).client_id).toBe('stg-client');
  });

  it('adds a new key after the last one, cast to the setting kind, quoting values YAML would misread', () => {
    const root = auth0Project();
    expect(sluice(root, ['config', 'set', 'tap-auth0', 'batch_size', '500']).status).toBe(0);
    expect(sluice(root, ['config', 'set', 'tap-auth0', 'client_id', 'a: b #c']).status).toBe(0);
    expect(meltanoYml(root)).toBe(
      replaceOnce(
        AUTH0_YML,
        '      client_id: "base-client"\n',
        '      client_id: "a: b #c"\n      batch_size: 500\n',
      ),
    );
    const plugin = (parse(meltanoYml(root)) as { plugins: { extractors: { config: object }[] } }).plugins
      .extractors[0];
    expect(plugin?.config).toEqual({ domain: 'base.auth0.com', client_id: 'a: b #c', batch_size: 500 });
  });

  it('writes a dotted name as nested keys, creating `config:` where the plugin has none', () => {
    const root = auth0Project();
    const result = sluice(root, ['config', 'set', 'tap-x', 'auth.user', 'me']);
    expect(result.status).toBe(0);
    expect(meltanoYml(root)).toBe(
      replaceOnce(
        AUTH0_YML,
        '    namespace: tap_x\n',
        '    namespace: tap_x\n    config:\n      auth:\n        user: me\n',
      ),
    );
    const again = sluice(root, ['config', 'set', 'tap-x', 'auth', 'user', 'you']);
    expect(again.status).toBe(0);
    expect(meltanoYml(root)).toContain('    config:\n      auth:\n        user: you\n  loaders:\n');
    expect(JSON.parse(sluice(root, ['config', 'print', 'tap-x']).stdout)).toEqual({ auth: { user: 'you' } });
  });

  it('puts a declared sensitive setting into .env, never into meltano.yml', () => {
    const root = auth0Project();
    const result = sluice(root, ['-e', 'prod', 'config', 'set', 'tap-auth0', 'client_secret', "it's\\new"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      "Extractor 'tap-auth0' setting 'client_secret' was set in `.env` as TAP_AUTH0_CLIENT_SECRET: (redacted)\n",
    );
    expect(meltanoYml(root)).toBe(AUTH0_YML);
    // Quoted as python-dotenv reads it: \' and \\ inside single quotes.
    expect(dotenv(root)).toBe("TAP_AUTH0_CLIENT_SECRET='it\\'s\\\\new'\n");
    const print = sluice(root, ['config', 'print', 'tap-auth0', '--unsafe']);
    expect(JSON.parse(print.stdout).client_secret).toBe("it's\\new");
  });

  it('sends a custom setting whose name says secret to .env as well', () => {
    const root = auth0Project({ '.env': '# local\nOTHER=1\n' });
    const result = sluice(root, ['config', 'set', 'tap-x', 'client_secret', 'abc']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      "Extractor 'tap-x' setting 'client_secret' was set in `.env` as TAP_X_CLIENT_SECRET: (redacted)\n" +
        "Declared setting 'client_secret' as sensitive in the `settings` of tap-x in `meltano.yml`.\n",
    );
    // The name is declared (so the variable feeds a setting); the value never reaches meltano.yml.
    expect(meltanoYml(root)).not.toContain('abc');
    expect(meltanoYml(root)).toContain('    settings:\n    - name: client_secret\n      sensitive: true\n');
    expect(dotenv(root)).toBe("# local\nOTHER=1\nTAP_X_CLIENT_SECRET='abc'\n");
    const printed = sluice(root, ['config', 'print', 'tap-x']);
    expect(JSON.parse(printed.stdout).client_secret).toBe('*****');
  });

  it('creates a missing .env readable by its owner only (0600)', () => {
    const root = tempProject({ 'meltano.yml': AUTH0_YML });
    const result = sluice(root, ['config', 'set', 'tap-auth0', 'client_secret', 'x']);
    expect(result.status).toBe(0);
    expect(dotenv(root)).toBe("TAP_AUTH0_CLIENT_SECRET='x'\n");
    expect(statSync(join(root, '.env')).mode & 0o777).toBe(0o600);
    expect(meltanoYml(root)).toBe(AUTH0_YML);
  });

  it('refuses a value that does not fit the setting kind, changing nothing', () => {
    const root = auth0Project();
    const result = sluice(root, ['config', 'set', 'tap-auth0', 'batch_size', 'abc']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: .*'batch_size' is of kind integer.*"abc" is not an integer/m);
    expect(result.stderr).not.toContain('    at ');
    expect(result.stdout).toBe('');
    expect(meltanoYml(root)).toBe(AUTH0_YML);
    expect(dotenv(root)).toBe(AUTH0_DOTENV);
  });
});

describe('sluice config set and unset on a hand-formatted file', () => {
  // Four-space indentation, a flow-mapping list item, quotes, comments, a blank line and no final newline.
  const ODD = [
    '# odd formatting on purpose',
    'default_environment: dev',
    'plugins:',
    '    extractors:',
    '    -   name: tap-auth0   # tap',
    '        config:',
    "            domain: 'base.auth0.com'    # quoted",
    '',
    '            client_id: base-client',
    '        select: [users.*, "logs.*"]',
    'environments:',
    '    - name: dev',
    '      config:',
    '          plugins:',
    '              extractors:',
    '                  - {name: tap-auth0, config: {domain: dev.auth0.com}}',
    '    - name: prod',
  ].join('\n');

  it('changes exactly the lines each command is about', () => {
    const root = tempProject({ 'meltano.yml': ODD });
    const run = (...args: string[]) => expect(sluice(root, args).status, args.join(' ')).toBe(0);
    run('config', 'set', 'tap-auth0', 'domain', 'new.auth0.com');
    run('-e', 'dev', 'config', 'set', 'tap-auth0', 'client_id', 'dev-client');
    run('-e', 'prod', 'config', 'set', 'tap-auth0', 'domain', 'p.auth0.com');
    run('config', 'set', 'tap-auth0', '_select', '["orders.*"]');
    run('config', 'unset', 'tap-auth0', 'client_id');
    let expected = replaceOnce(
      ODD,
      "domain: 'base.auth0.com'    # quoted",
      'domain: new.auth0.com    # quoted',
    );
    expected = replaceOnce(
      expected,
      '{domain: dev.auth0.com}}',
      '{domain: dev.auth0.com, client_id: dev-client}}',
    );
    expected = `${expected}\n      config:\n        plugins:\n          extractors:\n          - name: tap-auth0\n            config:\n              domain: p.auth0.com`;
    expected = replaceOnce(expected, 'select: [users.*, "logs.*"]', 'select: [orders.*]');
    expected = replaceOnce(expected, '            client_id: base-client\n', '');
    expect(meltanoYml(root)).toBe(expected);
    expect(JSON.parse(sluice(root, ['config', 'print', 'tap-auth0', '-e', 'prod']).stdout)).toEqual({
      domain: 'p.auth0.com',
    });
    expect(JSON.parse(sluice(root, ['config', 'print', 'tap-auth0']).stdout)).toEqual({
      domain: 'dev.auth0.com',
      client_id: 'dev-client',
    });
  });
});

describe('sluice config set in a project split over several files', () => {
  it('writes into the file that defines the plugin or the environment, and says so', () => {
    const main = 'include_paths: [sub/*.yml]\ndefault_environment: dev\n';
    const sub =
      'plugins:\n  extractors:\n  - name: tap-inc\n    config: {a: 1}\nenvironments:\n- name: dev\n';
    const root = tempProject({ 'meltano.yml': main, 'sub/p.yml': sub });
    const base = sluice(root, ['config', 'set', 'tap-inc', 'b', 'two']);
    expect(base.stdout).toBe("Extractor 'tap-inc' setting 'b' was set in `sub/p.yml`: 'two'\n");
    const dev = sluice(root, ['-e', 'dev', 'config', 'set', 'tap-inc', 'a', '3']);
    expect(dev.stdout).toBe(
      "Extractor 'tap-inc' setting 'a' was set in the 'dev' environment in `sub/p.yml`: 3\n",
    );
    expect(readText(root, 'meltano.yml')).toBe(main);
    expect(readText(root, 'sub/p.yml')).toBe(
      'plugins:\n  extractors:\n  - name: tap-inc\n    config: {a: 1, b: two}\nenvironments:\n- name: dev\n' +
        '  config:\n    plugins:\n      extractors:\n      - name: tap-inc\n        config:\n          a: 3\n',
    );
  });
});

describe('sluice config unset', () => {
  it('removes the value from the chosen environment only; the base value remains', () => {
    const root = auth0Project();
    const result = sluice(root, ['--environment', 'prod', 'config', 'unset', 'tap-auth0', 'domain']);
    expect(result.status).toBe(0);
    expect(meltanoYml(root)).toBe(replaceOnce(AUTH0_YML, '          domain: prod.auth0.com\n', ''));
    expect(result.stdout).toBe(
      "Extractor 'tap-auth0' setting 'domain' was unset in the 'prod' environment in `meltano.yml`.\n" +
        "Current value is now: 'base.auth0.com' (from `meltano.yml`)\n",
    );
  });

  it('removes the value from the base config and .env without --environment, leaving environments alone', () => {
    const root = auth0Project({
      '.env': "TAP_AUTH0_CLIENT_SECRET='s3cret'\nTAP_AUTH0_DOMAIN=env.auth0.com\n",
    });
    const result = sluice(root, ['config', 'unset', 'tap-auth0', 'domain']);
    expect(result.status).toBe(0);
    expect(meltanoYml(root)).toBe(
      replaceOnce(AUTH0_YML, '      domain: base.auth0.com   # the tenant\n', ''),
    );
    expect(dotenv(root)).toBe(AUTH0_DOTENV);
    expect(result.stdout).toContain("setting 'domain' was unset in `meltano.yml` and `.env`.\n");
  });

  it('removes a secret from .env', () => {
    const root = auth0Project({ '.env': `# secrets\n${AUTH0_DOTENV}OTHER=1\n` });
    const result = sluice(root, ['config', 'unset', 'tap-auth0', 'client_secret']);
    expect(result.status).toBe(0);
    expect(dotenv(root)).toBe('# secrets\nOTHER=1\n');
    expect(meltanoYml(root)).toBe(AUTH0_YML);
  });

  it('leaves `config: {}` when the last key goes', () => {
    const root = auth0Project();
    expect(sluice(root, ['config', 'unset', 'target-jsonl', 'destination_path']).status).toBe(0);
    expect(meltanoYml(root)).toBe(
      replaceOnce(AUTH0_YML, '    config:\n      destination_path: output\n', '    config: {}\n'),
    );
  });
});

describe('sluice config reset', () => {
  const yml = replaceOnce(
    AUTH0_YML,
    '    namespace: tap_x\n',
    '    namespace: tap_x\n    settings:\n    - name: token\n      sensitive: true\n    config:\n      user: me\n',
  );
  const env = "# local\nTAP_X_TOKEN='t'\nTAP_AUTH0_CLIENT_SECRET='s3cret'\nTAP_X_USER=other\nUNRELATED=1\n";

  it("removes only that plugin's variables from .env and clears its base config", () => {
    const root = auth0Project({ 'meltano.yml': yml, '.env': env });
    const result = sluice(root, ['config', 'reset', 'tap-x', '--yes']);
    expect(result.status).toBe(0);
    expect(dotenv(root)).toBe("# local\nTAP_AUTH0_CLIENT_SECRET='s3cret'\nUNRELATED=1\n");
    expect(meltanoYml(root)).toBe(replaceOnce(yml, '    config:\n      user: me\n', '    config: {}\n'));
  });

  it('asks for --yes when it cannot ask', () => {
    const root = auth0Project({ 'meltano.yml': yml, '.env': env });
    const result = sluice(root, ['config', 'reset', 'tap-x']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('--yes');
    expect(dotenv(root)).toBe(env);
    expect(meltanoYml(root)).toBe(yml);
  });
});
