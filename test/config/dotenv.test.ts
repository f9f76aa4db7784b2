// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${VAR} references under test, not templates.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDotenv, readDotenvFile } from '../../src/project/dotenv.js';
import { loadYaml } from '../helpers/temp-project.js';
import { meltanoYml, resolveIn, setting } from './resolve-fixture.js';

describe('parseDotenv', () => {
  for (const { text, value, rule } of [
    { rule: 'reads KEY=value', text: 'KEY=value', value: 'value' },
    { rule: 'ignores an export prefix', text: 'export KEY=value', value: 'value' },
    { rule: 'trims spaces around = and the value', text: 'KEY = value  ', value: 'value' },
    { rule: 'reads an empty value as the empty string', text: 'KEY=', value: '' },
    { rule: 'removes double quotes', text: 'KEY="a b"', value: 'a b' },
    { rule: 'removes single quotes', text: "KEY='a b'", value: 'a b' },
    { rule: 'reads escapes in double quotes', text: 'KEY="line\\nbreak \\"q\\""', value: 'line\nbreak "q"' },
    {
      rule: 'keeps backslashes in single quotes, except an escaped quote',
      text: "KEY='a\\nb \\'q\\''",
      value: "a\\nb 'q'",
    },
    { rule: 'drops a trailing comment after an unquoted value', text: 'KEY=value # comment', value: 'value' },
    { rule: 'keeps # inside quotes', text: 'KEY="v # not a comment" # comment', value: 'v # not a comment' },
    { rule: 'keeps # that does not follow a space', text: 'KEY=a#b', value: 'a#b' },
    { rule: 'reads a quoted value over several lines', text: 'KEY="one\ntwo"', value: 'one\ntwo' },
  ]) {
    it(rule, () => {
      expect(parseDotenv(text)).toEqual({ KEY: value });
    });
  }

  it('skips comment lines and blank lines', () => {
    expect(parseDotenv('# a comment\n\n  # indented comment\nA=1\n')).toEqual({ A: '1' });
  });

  it('drops a key without =, as if it were not there', () => {
    expect(parseDotenv('FOO\nBAR=1')).toEqual({ BAR: '1' });
  });

  it('lets a later line override an earlier one', () => {
    expect(parseDotenv('A=1\nA=2')).toEqual({ A: '2' });
  });

  for (const { text, shell, value, rule } of [
    { rule: 'expands ${VAR} from an earlier line', text: 'A=1\nB=${A}-2', shell: {}, value: '1-2' },
    {
      rule: 'expands ${VAR} from the shell',
      text: 'B=dot-${SHELL_VAR}',
      shell: { SHELL_VAR: 'S' },
      value: 'dot-S',
    },
    {
      rule: 'prefers an earlier line to the shell',
      text: 'A=file\nB=${A}',
      shell: { A: 'shell' },
      value: 'file',
    },
    { rule: 'expands inside double quotes', text: 'A=1\nB="${A} 2"', shell: {}, value: '1 2' },
    {
      rule: 'uses the ${VAR:-default} fallback',
      text: 'B=${MISSING:-fallback}',
      shell: {},
      value: 'fallback',
    },
    { rule: 'replaces a missing variable with nothing', text: 'B=a${MISSING}b', shell: {}, value: 'ab' },
    { rule: 'leaves $VAR without braces as it is', text: 'A=1\nB=$A', shell: {}, value: '$A' },
    { rule: 'leaves single-quoted values literal', text: "A=1\nB='${A}'", shell: {}, value: '${A}' },
    { rule: 'does not see later lines', text: 'B=${A}\nA=1', shell: {}, value: '' },
  ]) {
    it(rule, () => {
      expect(parseDotenv(text, shell).B).toBe(value);
    });
  }
});

describe('a .env file in the project', () => {
  it('feeds the dotenv store, which the shell beats', () => {
    const project = loadYaml(
      meltanoYml({
        plugins: {
          extractors: [
            { name: 'tap-x', namespace: 'tap_x', settings: [{ name: 'domain' }, { name: 'region' }] },
          ],
        },
      }),
      { '.env': "export TAP_X_DOMAIN='dot.example.com'\nTAP_X_REGION=eu # where\n" },
    );
    const dotenv = readDotenvFile(join(project.root, '.env'), {});
    const resolved = resolveIn(project, { dotenv, shell: { TAP_X_REGION: 'us' } });
    expect(setting(resolved, 'domain')).toMatchObject({
      value: 'dot.example.com',
      source: 'dotenv',
      envVar: 'TAP_X_DOMAIN',
    });
    expect(setting(resolved, 'region')).toMatchObject({ value: 'us', source: 'env' });
  });

  it('is optional', () => {
    expect(readDotenvFile(join(loadYaml('plugins: {}\n').root, '.env'), {})).toEqual({});
  });
});
