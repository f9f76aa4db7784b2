import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDuckdb } from '../helpers/duckdb.js';
import { api, git, storeKinds, withToken } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';
import {
  type Arena,
  openArena,
  type ProjectFile,
  type RunOutcome,
  showsServerPaths,
  type Workspace,
} from './paths-arena.js';

/**
 * Finding 1 and 4 of issue 10: a workspace's built-in plugins (tap-csv, target-jsonl,
 * target-duckdb) read and write only inside the workspace's own folder on the server. The
 * attacker holds a write token for its own workspace only, pushes with git and runs through the
 * API; each test checks what leaked or changed, not only the message.
 */

const kinds = await storeKinds();

/** One line of YAML for a tap-csv `files` entry. */
const file = (entity: string, path: string) => `{entity: '${entity}', path: '${path}', keys: [id]}`;

describe.each(kinds)('built-in plugins stay inside the workspace folder (%s)', (kind) => {
  let arena: Arena;
  /** The workspace whose data the attacker tries to read (its folder holds data/people.csv). */
  let reader: Workspace;
  /** The workspace whose repository the attacker tries to write into. */
  let target: Workspace;
  /** The column name in the victim's CSV: it must never reach the attacker. */
  const victimSecret = `victim_secret_${randomBytes(6).toString('hex')}`;
  /** What the server process's environment and key hold: none of it may reach the attacker. */
  let serverSecrets: string[] = [];

  /** Everything the attacker can see of a run: its error and its log. */
  const seen = (outcome: RunOutcome) =>
    `${JSON.stringify(outcome.error)}\n${outcome.started ? outcome.log : ''}`;

  /** The run did not succeed, and nothing of the server or of another workspace reached the attacker. */
  function expectRefused(outcome: RunOutcome, setting: string) {
    const text = seen(outcome);
    expect(outcome.started ? outcome.status : 'refused', text).not.toBe('success');
    expect(text).not.toContain(victimSecret);
    for (const secret of serverSecrets)
      expect(text.includes(secret), `leaks '${secret.slice(0, 12)}...'`).toBe(false);
    expect(showsServerPaths(text, arena.t), text).toBe(false);
    expect(outcome.error?.code, text).toBe('validation_failed');
    expect(outcome.error?.message).toContain(setting);
  }

  beforeAll(async () => {
    arena = await openArena(kind);
    const { t } = arena;
    // The server's secrets as the attacker would find them: its environment and its key file.
    const environ = readFileSync('/proc/self/environ', 'utf8').split('\0');
    const key = readFileSync(join(t.dataDir, 'secret.key'), 'utf8').trim();
    // Whole entries, and the first 10 characters of each file (what a JSON.parse error quotes).
    serverSecrets = [
      ...environ.filter((entry) => entry.length >= 16),
      environ.join('\0').slice(0, 10),
      key.slice(0, 10),
    ];

    // Another team's workspace, with data in its folder after one run.
    reader = await arena.victim('Victim data');
    const clone = join(arena.scratch, 'victim');
    expect(
      (await git(arena.scratch, ['clone', '-q', withToken(reader.repositoryUrl, t.adminToken), clone])).code,
    ).toBe(0);
    mkdirSync(join(clone, 'data'));
    writeFileSync(join(clone, 'data/people.csv'), `id,${victimSecret}\n1,private\n`);
    writeFileSync(
      join(clone, 'meltano.yml'),
      `version: 1\ndefault_environment: dev\nenvironments:\n- name: dev\nplugins:\n  extractors:\n  - name: tap-csv\n    config:\n      files: [${file('people', 'data/people.csv')}]\n  loaders:\n  - name: target-jsonl\n`,
    );
    expect((await git(clone, ['add', '-A'])).code).toBe(0);
    expect((await git(clone, ['commit', '-q', '-m', 'data'])).code).toBe(0);
    expect((await git(clone, ['push', '-q', 'origin', 'main'])).code).toBe(0);
    const started = await api(t.url, t.adminToken, 'POST', `/workspaces/${reader.id}/runs`, {
      blocks: ['tap-csv', 'target-jsonl'],
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await until('the victim run', async () => {
      const run = await api(t.url, t.adminToken, 'GET', `/workspaces/${reader.id}/runs/${started.body.id}`);
      if (run.body.status === 'failed') throw new Error(JSON.stringify(run.body.error));
      return run.body.status === 'success' ? true : undefined;
    });
    expect(readFileSync(join(arena.workDir(reader), 'data/people.csv'), 'utf8')).toContain(victimSecret);

    target = await arena.victim('Victim repository');
    const repo = `${target.repositoryName}.git`;
    const repos = join(t.dataDir, 'repos');
    const extractors: Record<string, string> = {
      // What a workspace may do: its own files, and a link that stays inside its folder.
      'tap-own': `files: [${file('own', 'data/own.csv')}, ${file('alias', 'alias.csv')}]`,
      'tap-environ': `files: [${file('env', 'env.csv')}]`,
      'tap-secret-key': `files: [${file('key', 'key.csv')}]`,
      'tap-linked-folder': `files: [${file('stolen', 'stolen')}]`,
      'tap-linked-parent': `files: [${file('stolen', `up/${reader.id}/data/people.csv`)}]`,
      'tap-link-in-folder': `files: [${file('stolen', 'mixed')}]`,
      'tap-dotdot': `files: [${file('stolen', `../${reader.id}/data/people.csv`)}]`,
      'tap-absolute': `files: [${file('stolen', join(arena.workDir(reader), 'data/people.csv'))}]`,
      'tap-definition-dotdot': "csv_files_definition: '../../secret.key'",
      'tap-definition-absolute': "csv_files_definition: '/proc/self/environ'",
      'tap-stream-name': `files: [${file(`../../../../repos/${repo}/hooks/x`, 'data/own.csv')}]`,
    };
    const loaders: Record<string, string> = {
      'target-own': 'inherit_from: target-jsonl\n    config: {destination_path: output/own}',
      'target-own-duckdb': 'inherit_from: target-duckdb\n    config: {filepath: output/own.duckdb}',
      'target-jsonl-dotdot': `inherit_from: target-jsonl\n    config: {destination_path: '../../repos/${repo}/hooks'}`,
      'target-jsonl-absolute': `inherit_from: target-jsonl\n    config: {destination_path: '${repos}/${repo}/hooks'}`,
      'target-jsonl-link': 'inherit_from: target-jsonl\n    config: {destination_path: out/hooks}',
      'target-duckdb-dotdot': `inherit_from: target-duckdb\n    config: {filepath: '../../repos/${repo}/x.duckdb'}`,
      'target-duckdb-absolute': `inherit_from: target-duckdb\n    config: {filepath: '${repos}/${repo}/x.duckdb'}`,
    };
    const yaml = [
      'version: 1',
      'default_environment: dev',
      'environments:',
      '- name: dev',
      'plugins:',
      '  extractors:',
      '  - name: tap-csv',
      ...Object.entries(extractors).flatMap(([name, config]) => [
        `  - name: ${name}`,
        '    inherit_from: tap-csv',
        `    config: {${config}}`,
      ]),
      '  loaders:',
      '  - name: target-jsonl',
      '  - name: target-duckdb',
      ...Object.entries(loaders).flatMap(([name, rest]) => [`  - name: ${name}`, `    ${rest}`]),
      '',
    ].join('\n');
    const files: Record<string, ProjectFile> = {
      'meltano.yml': yaml,
      'data/own.csv': 'id,name\n1,one\n2,two\n',
      'alias.csv': { link: 'data/own.csv' },
      'env.csv': { link: '/proc/self/environ' },
      'key.csv': { link: '../../secret.key' },
      stolen: { link: `../${reader.id}/data` },
      up: { link: '..' },
      'mixed/leak.csv': { link: `../../${reader.id}/data/people.csv` },
      out: { link: `../../repos/${repo}` },
    };
    await arena.push(files);
    const status = (await arena.workspace()).status;
    expect(status?.error ?? null, JSON.stringify(status)).toBeNull();
  });
  afterAll(async () => {
    await arena?.close();
  });

  it('still runs what stays inside: its own files, a link inside its folder, its own outputs', async () => {
    const jsonl = await arena.run(['tap-own', 'target-own']);
    expect(jsonl, seen(jsonl)).toMatchObject({ started: true, status: 'success' });
    const out = (name: string) =>
      readFileSync(join(arena.workDir(arena.attacker), 'output/own', name), 'utf8');
    expect(out('own.jsonl')).toBe('{"id":"1","name":"one"}\n{"id":"2","name":"two"}\n');
    expect(out('alias.jsonl')).toBe(out('own.jsonl'));
    const duckdb = await arena.run(['tap-own', 'target-own-duckdb']);
    expect(duckdb, seen(duckdb)).toMatchObject({ started: true, status: 'success' });
    const db = join(arena.workDir(arena.attacker), 'output/own.duckdb');
    expect(await queryDuckdb(db, 'SELECT count(*)::INTEGER AS n FROM own')).toEqual([{ n: 2 }]);
  });

  it.each([
    ['a committed link to /proc/self/environ', 'tap-environ', 'files[0].path'],
    ["a committed link to the server's secret.key", 'tap-secret-key', 'files[0].path'],
    ["a linked folder (another workspace's data)", 'tap-linked-folder', 'files[0].path'],
    ['a link in a parent folder of the path', 'tap-linked-parent', 'files[0].path'],
    ['a link inside a folder it walks', 'tap-link-in-folder', 'files[0].path'],
    ["a path climbing out with '..'", 'tap-dotdot', 'files[0].path'],
    ["an absolute path to another workspace's file", 'tap-absolute', 'files[0].path'],
    [
      "csv_files_definition climbing out to the server's key",
      'tap-definition-dotdot',
      'csv_files_definition',
    ],
    ['csv_files_definition at /proc/self/environ', 'tap-definition-absolute', 'csv_files_definition'],
  ])(
    'tap-csv refuses %s, and nothing read reaches the error or the log',
    async (_what, extractor, setting) => {
      expectRefused(await arena.run([extractor, 'target-own']), setting);
    },
  );

  it.each([
    [
      "target-jsonl destination_path climbing out with '..'",
      'tap-own',
      'target-jsonl-dotdot',
      'destination_path',
    ],
    [
      'target-jsonl with an absolute destination_path',
      'tap-own',
      'target-jsonl-absolute',
      'destination_path',
    ],
    ['target-jsonl through a committed link to a folder', 'tap-own', 'target-jsonl-link', 'destination_path'],
    ['target-jsonl with a stream named as a path', 'tap-stream-name', 'target-own', 'stream'],
    ["target-duckdb filepath climbing out with '..'", 'tap-own', 'target-duckdb-dotdot', 'filepath'],
    ['target-duckdb with an absolute filepath', 'tap-own', 'target-duckdb-absolute', 'filepath'],
  ])(
    "refuses %s: the other workspace's repository stays byte for byte the same",
    async (_what, extractor, loader, setting) => {
      const before = arena.snapshot(target);
      expectRefused(await arena.run([extractor, loader]), setting);
      expect(arena.snapshot(target)).toEqual(before);
    },
  );
});
