import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SingerState } from '../../../src/plugins/builtin/singer-catalog.js';
import { tapCsv } from '../../../src/plugins/builtin/tap-csv.js';
import type { TapCsvConfig } from '../../../src/plugins/builtin/tap-csv-config.js';

/**
 * The built-in tap-csv against what MeltanoLabs' tap-csv does, where that depends on Python
 * itself (directory walking order, float modification times): Python computes the expectation.
 */

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-tap-csv-upstream-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function python(script: string, ...args: string[]): string {
  return execFileSync('python3', ['-c', script, ...args], { cwd: root, encoding: 'utf8' });
}

async function run(config: TapCsvConfig, state?: SingerState) {
  const logged: string[] = [];
  const out: Record<string, unknown>[] = [];
  for await (const line of tapCsv(config, {
    projectRoot: root,
    ...(state ? { state } : {}),
    log: (l) => logged.push(l),
  })) {
    out.push(JSON.parse(line));
  }
  const records = out.filter((m) => m.type === 'RECORD').map((m) => m.record as Record<string, unknown>);
  return { out, records, logged };
}

describe('built-in tap-csv, as MeltanoLabs tap-csv behaves', () => {
  it("walks a folder in os.walk's order: each folder's files in directory order, then its sub-folders", async () => {
    await mkdir(join(root, 'data', 'zz', 'deeper'), { recursive: true });
    await mkdir(join(root, 'data', 'aa'));
    const names = ['m', 'c', 'x', 'a', 'q', 'e', 'k', 'b', 'w', 'f', 'u', 'h', 'r', 'd', 'p', 's'];
    for (const [i, name] of names.entries()) await writeFile(join(root, 'data', `${name}.csv`), `n\n${i}\n`);
    await writeFile(join(root, 'data', 'zz', 'z1.csv'), 'n\nz1\n');
    await writeFile(join(root, 'data', 'zz', 'deeper', 'z2.csv'), 'n\nz2\n');
    await writeFile(join(root, 'data', 'aa', 'a1.csv'), 'n\na1\n');
    await writeFile(join(root, 'data', 'readme.txt'), 'not csv\n');
    // What upstream's `_get_recursive_file_paths` lists for `path: ./data/`.
    const expected = JSON.parse(
      python(
        `import json, os, sys
top = os.path.normpath(sys.argv[1]) + os.sep
print(json.dumps([os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs if f.endswith('.csv')]))`,
        './data/',
      ),
    ) as string[];
    const { records, logged } = await run({
      files: [{ entity: 'n', path: './data/', keys: [] }],
      add_metadata_columns: true,
    });
    expect(records.map((r) => r._sdc_source_file)).toEqual(expected);
    expect(expected[0]).toMatch(/^data\/[a-z]\.csv$/);
    expect(logged).toContain(
      "tap-csv: skipping 'data/readme.txt': only files whose names end in '.csv' are read",
    );
  });

  it('follows a link to a file inside the project, and skips one that leads outside it', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'sluice-tap-csv-outside-'));
    try {
      await writeFile(join(outside, 'secret.csv'), 'k\nserver secret\n');
      await mkdir(join(root, 'data'));
      await mkdir(join(root, 'elsewhere'));
      await writeFile(join(root, 'elsewhere', 'shared.csv'), 'k\nshared\n');
      await symlink(join(outside, 'secret.csv'), join(root, 'data', 'leak.csv'));
      await symlink('../elsewhere/shared.csv', join(root, 'data', 'shared.csv'));
      const { records, logged } = await run({ files: [{ entity: 'k', path: 'data', keys: [] }] });
      expect(records).toEqual([{ k: 'shared' }]);
      expect(logged).toContain("tap-csv: skipping 'data/leak.csv': it links outside the project folder");
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('refuses a stream whose first file is empty: it has no header to name the columns', async () => {
    await writeFile(join(root, 'empty.csv'), '');
    await expect(run({ files: [{ entity: 'e', path: 'empty.csv', keys: [] }] })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining("tap-csv: empty.csv, the first file of stream 'e', is empty"),
    });
  });

  it('reads every file of a folder with the first file’s header, by position', async () => {
    await mkdir(join(root, 'data'));
    await writeFile(join(root, 'data', 'one.csv'), 'id,name\n1,ann\n');
    // Only one file per folder, so which file is first does not depend on directory order.
    await mkdir(join(root, 'data', 'later'));
    await writeFile(join(root, 'data', 'later', 'two.csv'), 'name,id,extra\nbob,2,x\n');
    const { records } = await run({ files: [{ entity: 'p', path: 'data', keys: ['id'] }] });
    expect(records).toEqual([
      { id: '1', name: 'ann' },
      { id: 'bob', name: '2' },
    ]);
  });

  it('reports _sdc_source_file as configured for a file, and from the normalised folder path for a folder', async () => {
    await mkdir(join(root, 'data', 'sub'), { recursive: true });
    await writeFile(join(root, 'data', 'x.csv'), 'v\n1\n');
    await writeFile(join(root, 'data', 'sub', 'y.csv'), 'v\n2\n');
    const file = await run({
      files: [{ entity: 'x', path: './data/x.csv', keys: [] }],
      add_metadata_columns: true,
    });
    expect(file.records.map((r) => r._sdc_source_file)).toEqual(['./data/x.csv']);
    const folder = await run({
      files: [{ entity: 'y', path: './data/./sub/', keys: [] }],
      add_metadata_columns: true,
    });
    expect(folder.records.map((r) => r._sdc_source_file)).toEqual(['data/sub/y.csv']);
  });

  it('writes _sdc_source_file_mtime with microseconds, exactly as Python computes it', async () => {
    for (const [name, stamp] of [
      ['a.csv', '2024-01-02 03:04:05.123456789'],
      ['b.csv', '2019-12-31 23:59:59.999999600'],
      ['c.csv', '2030-06-15 12:00:00'],
    ] as const) {
      await writeFile(join(root, name), 'v\n1\n');
      execFileSync('touch', ['-d', `${stamp} UTC`, join(root, name)]);
      const expected = python(
        `import os, sys
from datetime import datetime, timezone
print(datetime.fromtimestamp(os.path.getmtime(sys.argv[1]), timezone.utc).isoformat("T", timespec="microseconds"))`,
        name,
      ).trim();
      const { records } = await run({
        files: [{ entity: 'm', path: name, keys: [] }],
        add_metadata_columns: true,
      });
      expect(records[0]?._sdc_source_file_mtime).toBe(expected);
    }
  });

  it('emits an empty record for a blank line, as csv.reader yields an empty row, and says so', async () => {
    await writeFile(join(root, 'gaps.csv'), 'id,v\n1,a\n\n2,b\n\n');
    const { records, logged } = await run({ files: [{ entity: 'g', path: 'gaps.csv', keys: [] }] });
    // Python's csv module agrees on the rows.
    const rows = JSON.parse(
      python('import csv, json; print(json.dumps(list(csv.reader(open("gaps.csv", newline="")))))'),
    ) as string[][];
    expect(rows.slice(1)).toEqual([['1', 'a'], [], ['2', 'b'], []]);
    expect(records).toEqual([{ id: '1', v: 'a' }, {}, { id: '2', v: 'b' }, {}]);
    expect(logged).toEqual([
      'tap-csv: gaps.csv has 2 blank lines (the first on line 3): each became an empty record, as in MeltanoLabs tap-csv',
    ]);
  });

  it("keeps a bookmark the state gives for a configured stream, dropping only the SDK's sync markers", async () => {
    await writeFile(join(root, 'a.csv'), 'v\n1\n');
    const { out } = await run(
      { files: [{ entity: 'a', path: 'a.csv', keys: [] }] },
      {
        bookmarks: {
          a: { replication_key_value: '2024-01-01', progress_markers: { note: 'x' } },
          other: { id: 7 },
        },
      },
    );
    expect(out.at(-1)).toEqual({
      type: 'STATE',
      value: { bookmarks: { a: { replication_key_value: '2024-01-01' }, other: { id: 7 } } },
    });
  });
});
