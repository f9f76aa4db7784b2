import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/in-process-cli.js';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/tap-numbers');
const VENV_PROGRAM = '.sluice/venvs/extractors/tap-numbers/bin/tap-numbers';

function meltanoYml(count: number): string {
  return `
default_environment: dev
plugins:
  extractors:
  - name: tap-numbers
    pip_url: --no-build-isolation ${FIXTURE}
    config:
      count: ${count}
  - name: tap-numbers-fail
    executable: ${VENV_PROGRAM}
    config:
      fail_after: 2
  - name: tap-numbers-malformed
    executable: ${VENV_PROGRAM}
    config:
      malformed_after: 1
  - name: tap-missing
  loaders:
  - name: target-jsonl
    config:
      destination_path: out
  - name: target-duckdb
    config:
      filepath: out/warehouse.duckdb
  - name: target-broken
    executable: bin/target-broken
  - name: target-lines
    executable: bin/target-lines
    config:
      path: out/lines.jsonl
environments:
- name: dev
`;
}

/** The process's variables, offline for pip (the fixture builds with its own in-tree backend: no index needed). */
function cliEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return { ...env, PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
}

/** A tiny external target: appends records to `path` and confirms each STATE on stdout. */
const TARGET_LINES = `#!/usr/bin/env python3
import argparse, json, sys
parser = argparse.ArgumentParser()
parser.add_argument("--config", required=True)
config = json.load(open(parser.parse_args().config))
with open(config["path"], "a") as out:
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] == "RECORD":
            out.write(json.dumps(message["record"]) + "\\n")
        elif message["type"] == "STATE":
            out.flush()
            print(json.dumps({"type": "STATE", "value": message["value"]}), flush=True)
`;

let root: string;

const sluice = (...args: string[]) => runInProcess(args, root, cliEnv());

function jsonLines(file: string): unknown[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

async function savedState(id: string): Promise<unknown> {
  const result = await sluice('state', 'get', id);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-external-'));
  writeFileSync(join(root, 'meltano.yml'), meltanoYml(5));
  mkdirSync(join(root, 'bin'));
  writeFileSync(
    join(root, 'bin/target-broken'),
    '#!/bin/sh\ncat >/dev/null\necho "target-broken: cannot reach the warehouse" >&2\nexit 3\n',
  );
  chmodSync(join(root, 'bin/target-broken'), 0o755);
  writeFileSync(join(root, 'bin/target-lines'), TARGET_LINES);
  chmodSync(join(root, 'bin/target-lines'), 0o755);
  const installed = await sluice('install', 'tap-numbers');
  expect(installed.stderr).toBe('');
  expect(installed.status).toBe(0);
  expect(installed.stdout).toContain("Installed extractor 'tap-numbers'");
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('sluice install', () => {
  it('creates a virtualenv per plugin under .sluice/venvs with the pip_url installed', () => {
    expect(existsSync(join(root, VENV_PROGRAM))).toBe(true);
  });

  it('refuses a plugin without pip_url and an unknown plugin, without a stack trace', async () => {
    const noPip = await sluice('install', 'tap-missing');
    expect(noPip.status).toBe(1);
    expect(noPip.stderr).toMatch(/^error: 'tap-missing' has no pip_url/);
    const unknown = await sluice('install', 'tap-nope');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^error: 'tap-nope' is not a plugin of this project/);
  });
});

describe('sluice run with an external tap', () => {
  it('runs the installed tap into a built-in target and saves its state', async () => {
    const result = await sluice('run', 'tap-numbers', 'target-jsonl');
    expect(result.stderr).not.toContain('error');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('numbers: 5 records');
    expect(jsonLines(join(root, 'out/numbers.jsonl'))).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ n, square: n * n })),
    );
    expect(await savedState('dev:tap-numbers-to-target-jsonl')).toEqual({
      singer_state: { bookmarks: { numbers: { n: 5 } } },
    });
  });

  it('resumes from the saved state on the next run, without duplicates', async () => {
    writeFileSync(join(root, 'meltano.yml'), meltanoYml(7));
    const result = await sluice('run', 'tap-numbers', 'target-jsonl');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('numbers: 2 records');
    expect(jsonLines(join(root, 'out/numbers.jsonl')).map((r) => (r as { n: number }).n)).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  it('runs the installed tap into target-duckdb: a typed table, upserted on the key', async () => {
    const first = await sluice('run', 'tap-numbers', 'target-duckdb');
    expect(first.stderr).not.toContain('error');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('numbers: 7 records');
    const again = await sluice('run', 'tap-numbers', 'target-duckdb', '--full-refresh');
    expect(again.status).toBe(0);
    const instance = await DuckDBInstance.fromCache(join(root, 'out/warehouse.duckdb'));
    const connection = await instance.connect();
    try {
      const rows = (
        await connection.runAndReadAll('SELECT n, square FROM numbers ORDER BY n')
      ).getRowObjectsJson();
      expect(rows).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => ({ n: String(n), square: String(n * n) })));
      const types = (
        await connection.runAndReadAll(
          "SELECT data_type FROM information_schema.columns WHERE table_name = 'numbers' ORDER BY column_name",
        )
      ).getRowObjectsJson();
      expect(types).toEqual([{ data_type: 'BIGINT' }, { data_type: 'BIGINT' }]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('fails the run with the exit status and last stderr lines of a tap that exits non-zero', async () => {
    const result = await sluice('run', 'tap-numbers-fail', 'target-jsonl');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: 'tap-numbers-fail' exited with status 1/m);
    expect(result.stderr).toContain('the numbers API refused (simulated failure)');
    expect(result.stderr).not.toContain('    at ');
    // Its configuration was private to the run, and removed with it.
    const [, config, modes] = /tap-numbers config (\S+) \(modes (\S+)\)/.exec(result.stderr) ?? [];
    expect(modes).toBe('700/600');
    expect(existsSync(config ?? '')).toBe(false);
    // The records before the failure were loaded, and their state kept.
    expect(await savedState('dev:tap-numbers-fail-to-target-jsonl')).toEqual({
      singer_state: { bookmarks: { numbers: { n: 2 } } },
    });
  });

  it('names the line number of a malformed line', async () => {
    const result = await sluice('run', 'tap-numbers-malformed', 'target-jsonl');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("'tap-numbers-malformed' wrote an invalid Singer message on line 4");
    expect(result.stderr).toContain('this is not json');
  });

  it('runs an external tap into an external target that confirms states as STATE messages, saving them', async () => {
    const result = await sluice('run', 'tap-numbers', 'target-lines');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('numbers: 7 records');
    expect(jsonLines(join(root, 'out/lines.jsonl'))).toHaveLength(7);
    expect(await savedState('dev:tap-numbers-to-target-lines')).toEqual({
      singer_state: { bookmarks: { numbers: { n: 7 } } },
    });
  });

  it('fails with the last stderr lines of a target that exits non-zero', async () => {
    const result = await sluice('run', 'tap-numbers', 'target-broken', '--full-refresh');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: 'target-broken' exited with status 3/m);
    expect(result.stderr).toContain('cannot reach the warehouse');
  });

  it('says how to install a plugin that has no executable', async () => {
    const result = await sluice('run', 'tap-missing', 'target-jsonl');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("'tap-missing' could not be started");
    expect(result.stderr).toContain('sluice install tap-missing');
  });
});
