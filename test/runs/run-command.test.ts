import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/in-process-cli.js';
import { tempProject } from '../helpers/temp-project.js';

const MELTANO_YML = `
default_environment: dev
plugins:
  extractors:
  - name: tap-csv
    variant: meltanolabs
    config:
      files:
      - entity: people
        path: data/dev.csv
        keys: [id]
  - name: tap-products
    inherit_from: tap-csv
    config:
      files:
      - entity: products
        path: data/products.csv
        keys: [sku]
    select:
    - products.sku
  - name: tap-postgres
  - name: tap-secret-api
    inherit_from: tap-csv
    settings:
    - name: api_key
      kind: password
    settings_group_validation:
    - [api_key]
  mappers:
  - name: meltano-map-transformer
    mappings:
    - name: hash-emails
  - name: upper-names
    executable: bin/upper-names
    config:
      field: name
    mappings:
    - name: shout-names
      config:
        field: name
        suffix: '!'
  loaders:
  - name: target-jsonl
    variant: andyh1203
    config:
      destination_path: out/dev
jobs:
- name: nightly
  tasks:
  - tap-csv target-jsonl
environments:
- name: dev
- name: prod
  config:
    plugins:
      extractors:
      - name: tap-csv
        config:
          files:
          - entity: people
            path: data/prod.csv
            keys: [id]
      loaders:
      - name: target-jsonl
        config:
          destination_path: out/prod
- name: ci
  state_id_suffix: \${CI_BRANCH}
`;

/** A Singer mapper: upper-cases one field of every record (and adds a suffix), passing other messages on. */
const UPPER_NAMES = `#!/usr/bin/env python3
import json, sys
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "RECORD":
        record = message["record"]
        record[config["field"]] = record[config["field"]].upper() + config.get("suffix", "")
    print(json.dumps(message), flush=True)
`;

function project(): string {
  return tempProject({
    'bin/upper-names': UPPER_NAMES,
    'meltano.yml': MELTANO_YML,
    'data/dev.csv': 'id,name\n1,dev-ann\n2,dev-bo\n',
    'data/prod.csv': 'id,name\n10,prod-cy\n11,prod-di\n12,prod-ed\n',
    'data/products.csv': 'sku,price\nA1,3\nB2,4\n',
  });
}

function jsonLines(file: string): unknown[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

function expectUserError(result: { status: number; stdout: string; stderr: string }, words: string) {
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^error: /m);
  expect(result.stderr).toContain(words);
  expect(result.stderr).not.toContain('    at ');
  expect(result.stderr).not.toContain('internal error');
}

describe('sluice run', () => {
  it("runs tap-csv -> target-jsonl with each environment's configuration and keeps state per environment", async () => {
    const root = project();
    const dev = await runInProcess(['run', 'tap-csv', 'target-jsonl'], root);
    expect(dev.stderr).toContain("environment 'dev'");
    expect(dev.status).toBe(0);
    expect(dev.stdout).toContain('tap-csv -> target-jsonl: state ID dev:tap-csv-to-target-jsonl');
    expect(dev.stdout).toContain('people: 2 records');

    const prod = await runInProcess(['--environment', 'prod', 'run', 'tap-csv', 'target-jsonl'], root);
    expect(prod.status).toBe(0);
    expect(prod.stdout).toContain('state ID prod:tap-csv-to-target-jsonl');
    expect(prod.stdout).toContain('people: 3 records');

    expect(jsonLines(join(root, 'out/dev/people.jsonl'))).toEqual([
      { id: '1', name: 'dev-ann' },
      { id: '2', name: 'dev-bo' },
    ]);
    expect(jsonLines(join(root, 'out/prod/people.jsonl'))).toEqual([
      { id: '10', name: 'prod-cy' },
      { id: '11', name: 'prod-di' },
      { id: '12', name: 'prod-ed' },
    ]);

    const list = await runInProcess(['state', 'list'], root);
    expect(list.status).toBe(0);
    expect(list.stdout).toBe('dev:tap-csv-to-target-jsonl\nprod:tap-csv-to-target-jsonl\n');
    const got = await runInProcess(['state', 'get', 'prod:tap-csv-to-target-jsonl'], root);
    expect(JSON.parse(got.stdout)).toEqual({ singer_state: { bookmarks: { people: {} } } });
    expect(existsSync(join(root, '.sluice'))).toBe(true);
  });

  it('applies the select extra to the discovered catalog (and runs a plugin inheriting from tap-csv)', async () => {
    const root = project();
    const result = await runInProcess(['run', 'tap-products', 'target-jsonl'], root);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('state ID dev:tap-products-to-target-jsonl');
    expect(jsonLines(join(root, 'out/dev/products.jsonl'))).toEqual([{ sku: 'A1' }, { sku: 'B2' }]);
  });

  it('expands a job name into its tasks', async () => {
    const root = project();
    const result = await runInProcess(['run', 'nightly'], root);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('state ID dev:tap-csv-to-target-jsonl');
    expect(jsonLines(join(root, 'out/dev/people.jsonl'))).toHaveLength(2);
  });

  it("adds --state-id-suffix, else the environment's expanded state_id_suffix", async () => {
    const root = project();
    const flag = await runInProcess(['run', 'tap-csv', 'target-jsonl', '--state-id-suffix', 'manual'], root);
    expect(flag.stdout).toContain('state ID dev:tap-csv-to-target-jsonl:manual');
    const ci = await runInProcess(['-e', 'ci', 'run', 'tap-csv', 'target-jsonl'], root, {
      CI_BRANCH: 'main',
    });
    expect(ci.status).toBe(0);
    expect(ci.stdout).toContain('state ID ci:tap-csv-to-target-jsonl:main');
    const bad = await runInProcess(['run', 'tap-csv', 'target-jsonl', '--state-id-suffix', 'a:b'], root);
    expectUserError(bad, "containing the delimiter string ':'");
  });

  it('requires an environment, as meltano run does', async () => {
    const root = project();
    const result = await runInProcess(['--no-environment', 'run', 'tap-csv', 'target-jsonl'], root);
    expectUserError(result, 'A Meltano environment must be specified');
  });

  it.each([
    [['tap-nope', 'target-jsonl'], "'tap-nope' is neither an extractor"],
    [['tap-csv'], "Extractor 'tap-csv' has no loader after it"],
    [['tap-postgres', 'target-jsonl'], "'tap-postgres' could not be started: no executable 'tap-postgres'"],
    [
      ['tap-csv', 'hash-emails', 'target-jsonl'],
      "'meltano-map-transformer' could not be started: no executable",
    ],
  ])('refuses %o with a clear message and writes nothing', async (args, words) => {
    const root = project();
    const result = await runInProcess(['run', ...args], root);
    expectUserError(result, words);
    expect(existsSync(join(root, 'out'))).toBe(false);
  });

  it('fails the run when the extractor fails, keeping the last confirmed state', async () => {
    const root = project();
    expect((await runInProcess(['run', 'tap-csv', 'target-jsonl'], root)).status).toBe(0);
    writeFileSync(join(root, 'data/dev.csv'), Buffer.from([0x69, 0x64, 0x0a, 0xff, 0xfe, 0x0a]));
    const failed = await runInProcess(['run', 'tap-csv', 'target-jsonl'], root);
    expectUserError(failed, 'tap-csv');
    const got = await runInProcess(['state', 'get', 'dev:tap-csv-to-target-jsonl'], root);
    expect(JSON.parse(got.stdout)).toEqual({ singer_state: { bookmarks: { people: {} } } });
  });
});

describe('sluice run and state', () => {
  const ID = 'dev:tap-csv-to-target-jsonl';

  it('hands the stored state to the extractor, and ignores it with --full-refresh', async () => {
    const root = project();
    const stored = '{"singer_state": {"bookmarks": {"other": {"x": 1}}}}';
    expect((await runInProcess(['state', 'set', ID, stored], root)).status).toBe(0);
    expect((await runInProcess(['run', 'tap-csv', 'target-jsonl'], root)).status).toBe(0);
    // tap-csv keeps the bookmarks of streams it does not sync: proof that it received the state.
    expect(JSON.parse((await runInProcess(['state', 'get', ID], root)).stdout)).toEqual({
      singer_state: { bookmarks: { other: { x: 1 }, people: {} } },
    });
    expect((await runInProcess(['state', 'set', ID, stored], root)).status).toBe(0);
    expect((await runInProcess(['run', 'tap-csv', 'target-jsonl', '--full-refresh'], root)).status).toBe(0);
    expect(JSON.parse((await runInProcess(['state', 'get', ID], root)).stdout)).toEqual({
      singer_state: { bookmarks: { people: {} } },
    });
  });

  it('saves the state the loader confirmed before a later stream failed', async () => {
    const root = tempProject({
      'meltano.yml': `
default_environment: dev
plugins:
  extractors:
  - name: tap-csv
    config:
      files:
      - {entity: people, path: data/people.csv, keys: [id]}
      - {entity: broken, path: data/broken.csv, keys: [id]}
  loaders:
  - name: target-jsonl
environments:
- name: dev
`,
      'data/people.csv': 'id\n1\n2\n',
    });
    // The bad byte lies beyond the first read buffer (64 KiB), so discovery, which reads only the
    // header, succeeds and the failure comes while the stream is synced.
    const rows = Buffer.from(`id\n${'1\n'.repeat(40_000)}`);
    writeFileSync(join(root, 'data/broken.csv'), Buffer.concat([rows, Buffer.from([0xff, 0x0a])]));
    const result = await runInProcess(['run', 'tap-csv', 'target-jsonl'], root);
    expectUserError(result, 'is not valid utf-8');
    expect(jsonLines(join(root, 'output/people.jsonl'))).toEqual([{ id: '1' }, { id: '2' }]);
    expect(JSON.parse((await runInProcess(['state', 'get', ID], root)).stdout)).toEqual({
      singer_state: { bookmarks: { people: {} } },
    });
  });
});

describe('sluice run with mappers and required settings', () => {
  it('sends the records through an external mapper, or one of its mappings with that config', async () => {
    const root = project();
    chmodSync(join(root, 'bin/upper-names'), 0o755);
    const mapped = await runInProcess(['run', 'tap-csv', 'upper-names', 'target-jsonl'], root);
    expect(mapped.stderr).not.toContain('error');
    expect(mapped.status).toBe(0);
    expect(jsonLines(join(root, 'out/dev/people.jsonl'))).toEqual([
      { id: '1', name: 'DEV-ANN' },
      { id: '2', name: 'DEV-BO' },
    ]);
    const shouted = await runInProcess(
      ['run', 'tap-csv', 'shout-names', 'target-jsonl', '--full-refresh'],
      root,
    );
    expect(shouted.status).toBe(0);
    expect(jsonLines(join(root, 'out/dev/people.jsonl')).slice(2)).toEqual([
      { id: '1', name: 'DEV-ANN!' },
      { id: '2', name: 'DEV-BO!' },
    ]);
  });

  it('refuses, before starting, a plugin whose required setting has no value, naming it and the environment', async () => {
    const root = project();
    const refused = await runInProcess(
      ['--environment', 'prod', 'run', 'tap-secret-api', 'target-jsonl'],
      root,
    );
    expectUserError(refused, "tap-secret-api cannot run in environment 'prod': it needs api_key");
    expect(refused.stderr).toContain('TAP_SECRET_API_API_KEY');
    expect(existsSync(join(root, 'out'))).toBe(false);
    // A variable counts, as for Meltano: that is how secrets arrive.
    const given = await runInProcess(['run', 'tap-secret-api', 'target-jsonl'], root, {
      ...(process.env as Record<string, string>),
      TAP_SECRET_API_API_KEY: 'k-123456',
    });
    expect(given.stderr).not.toContain('error');
    expect(given.status).toBe(0);
  });
});

describe('sluice state', () => {
  it("copies one state ID's state to another", async () => {
    const root = project();
    const value = '{"singer_state": {"bookmarks": {"people": {}}}}';
    expect((await runInProcess(['state', 'set', 'dev:a-to-b', value], root)).status).toBe(0);
    expect((await runInProcess(['state', 'copy', 'dev:a-to-b', 'prod:a-to-b'], root)).status).toBe(0);
    expect(JSON.parse((await runInProcess(['state', 'get', 'prod:a-to-b'], root)).stdout)).toEqual(
      JSON.parse(value),
    );
    expectUserError(
      await runInProcess(['state', 'copy', 'dev:nope', 'prod:x'], root),
      "No state is stored under 'dev:nope'",
    );
  });

  it('sets, gets, lists by pattern and clears a state', async () => {
    const root = project();
    const value = '{"singer_state": {"bookmarks": {"people": {"replication_key_value": 3}}}}';
    expect((await runInProcess(['state', 'set', 'dev:tap-csv-to-target-jsonl', value], root)).status).toBe(0);
    expect((await runInProcess(['state', 'set', 'prod:tap-csv-to-target-jsonl', value], root)).status).toBe(
      0,
    );
    const got = await runInProcess(['state', 'get', 'dev:tap-csv-to-target-jsonl'], root);
    expect(JSON.parse(got.stdout)).toEqual(JSON.parse(value));
    const listed = await runInProcess(['state', 'list', '--pattern', 'prod:*'], root);
    expect(listed.stdout).toBe('prod:tap-csv-to-target-jsonl\n');
    expect((await runInProcess(['state', 'clear', 'dev:tap-csv-to-target-jsonl'], root)).status).toBe(0);
    expect((await runInProcess(['state', 'list'], root)).stdout).toBe('prod:tap-csv-to-target-jsonl\n');
    expectUserError(await runInProcess(['state', 'get', 'dev:tap-csv-to-target-jsonl'], root), 'No state');
  });

  it('refuses a state without singer_state', async () => {
    const root = project();
    const result = await runInProcess(['state', 'set', 'dev:x-to-y', '{"bookmarks": {}}'], root);
    expectUserError(result, 'singer_state not found');
  });
});
