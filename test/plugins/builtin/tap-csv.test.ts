import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SingerCatalog } from '../../../src/plugins/builtin/singer-catalog.js';
import { discoverCsv, tapCsv } from '../../../src/plugins/builtin/tap-csv.js';
import type { TapCsvConfig } from '../../../src/plugins/builtin/tap-csv-config.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-tap-csv-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function messages(config: TapCsvConfig, extra: { catalog?: SingerCatalog } = {}) {
  const out: Record<string, unknown>[] = [];
  for await (const line of tapCsv(config, { projectRoot: root, ...extra })) {
    expect(line.endsWith('\n')).toBe(true);
    out.push(JSON.parse(line));
  }
  return out;
}

describe('tapCsv', () => {
  it('emits SCHEMA, one RECORD per row and a STATE per stream, every column a nullable string', async () => {
    await writeFile(join(root, 'people.csv'), 'id,name\r\n1,"Smith, Ann"\r\n2,"Bo ""B"" Li"\r\n');
    const out = await messages({ files: [{ entity: 'people', path: 'people.csv', keys: ['id'] }] });
    expect(out).toEqual([
      {
        type: 'SCHEMA',
        stream: 'people',
        schema: {
          type: 'object',
          properties: { id: { type: ['string', 'null'] }, name: { type: ['string', 'null'] } },
        },
        key_properties: ['id'],
      },
      { type: 'RECORD', stream: 'people', record: { id: '1', name: 'Smith, Ann' } },
      { type: 'RECORD', stream: 'people', record: { id: '2', name: 'Bo "B" Li' } },
      { type: 'STATE', value: { bookmarks: { people: {} } } },
    ]);
  });

  it('reads every .csv file under a folder, recursively, skipping other files', async () => {
    await mkdir(join(root, 'data', 'sub'), { recursive: true });
    await writeFile(join(root, 'data', 'b.csv'), 'k\nb\n');
    await writeFile(join(root, 'data', 'a.csv'), 'k\na\n');
    await writeFile(join(root, 'data', 'sub', 'c.csv'), 'k\nc\n');
    await writeFile(join(root, 'data', 'notes.txt'), 'k\nignored\n');
    const out = await messages({ files: [{ entity: 'letters', path: 'data', keys: [] }] });
    const records = out.filter((m) => m.type === 'RECORD').map((m) => m.record);
    // The top folder's files (in directory order) before the sub-folder's.
    expect(records.slice(0, 2)).toEqual(expect.arrayContaining([{ k: 'a' }, { k: 'b' }]));
    expect(records[2]).toEqual({ k: 'c' });
  });

  it('adds the _sdc metadata columns when add_metadata_columns is set', async () => {
    const file = join(root, 'm.csv');
    await writeFile(file, 'x\n1\n\n2\n');
    await utimes(file, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
    const out = await messages({
      files: [{ entity: 'm', path: 'm.csv', keys: [] }],
      add_metadata_columns: true,
    });
    const schema = out[0]?.schema as { properties: Record<string, unknown> };
    expect(schema.properties).toMatchObject({
      _sdc_source_file: { type: ['string', 'null'] },
      _sdc_source_file_mtime: { type: ['string', 'null'], format: 'date-time' },
      _sdc_source_lineno: { type: ['integer', 'null'] },
    });
    const records = out.filter((m) => m.type === 'RECORD').map((m) => m.record);
    const metadata = (lineno: number) => ({
      _sdc_source_file: 'm.csv',
      _sdc_source_file_mtime: '2024-01-02T03:04:05.000000+00:00',
      _sdc_source_lineno: lineno,
    });
    // The blank line is a record too, with the metadata alone (as upstream's `dict(zip(...))` gives).
    expect(records).toEqual([{ ...metadata(1), x: '1' }, metadata(2), { ...metadata(3), x: '2' }]);
  });

  it('honours per-file delimiter, quotechar and encoding', async () => {
    await writeFile(join(root, 'l.csv'), Buffer.from("nom;ville\n'Zoë';'Orléans;Loiret'\n", 'latin1'));
    const out = await messages({
      files: [
        { entity: 'l', path: 'l.csv', keys: ['nom'], delimiter: ';', quotechar: "'", encoding: 'latin1' },
      ],
    });
    expect(out[1]).toEqual({ type: 'RECORD', stream: 'l', record: { nom: 'Zoë', ville: 'Orléans;Loiret' } });
  });

  it('reads the file list from csv_files_definition instead of files', async () => {
    await writeFile(join(root, 'a.csv'), 'id\n1\n');
    await writeFile(
      join(root, 'defs.json'),
      JSON.stringify([{ entity: 'from_defs', path: 'a.csv', keys: ['id'] }]),
    );
    const out = await messages({
      csv_files_definition: 'defs.json',
      files: [{ entity: 'ignored', path: 'x.csv' }],
    });
    expect(out.map((m) => m.stream ?? m.type)).toEqual(['from_defs', 'from_defs', 'STATE']);
  });

  it('syncs only the streams and columns a catalog selects, keeping key columns', async () => {
    await writeFile(join(root, 'a.csv'), 'id,secret,name\n1,s,n\n');
    await writeFile(join(root, 'b.csv'), 'id\n1\n');
    const config: TapCsvConfig = {
      files: [
        { entity: 'a', path: 'a.csv', keys: ['id'] },
        { entity: 'b', path: 'b.csv', keys: ['id'] },
      ],
    };
    const catalog = await discoverCsv(config, { projectRoot: root });
    const selected: SingerCatalog = {
      streams: catalog.streams.map((s) => ({
        ...s,
        metadata: (s.metadata ?? []).map((m) => {
          if (s.stream === 'b' && m.breadcrumb.length === 0)
            return { ...m, metadata: { ...m.metadata, selected: false } };
          if (m.breadcrumb[1] === 'secret' || m.breadcrumb[1] === 'id') {
            return { ...m, metadata: { ...m.metadata, selected: false } };
          }
          return m;
        }),
      })),
    };
    const out = await messages(config, { catalog: selected });
    expect(out.map((m) => m.type)).toEqual(['SCHEMA', 'RECORD', 'STATE']);
    expect(out[1]?.record).toEqual({ id: '1', name: 'n' });
  });
});

describe('discoverCsv', () => {
  it('describes one stream per entity with key metadata', async () => {
    await writeFile(join(root, 'a.csv'), 'id,v\n');
    const catalog = await discoverCsv(
      { files: [{ entity: 'a', path: 'a.csv', keys: ['id'] }] },
      { projectRoot: root },
    );
    expect(catalog.streams).toHaveLength(1);
    expect(catalog.streams[0]).toMatchObject({
      tap_stream_id: 'a',
      stream: 'a',
      key_properties: ['id'],
      metadata: [
        { breadcrumb: [], metadata: { 'table-key-properties': ['id'], 'selected-by-default': true } },
        { breadcrumb: ['properties', 'id'], metadata: { inclusion: 'automatic' } },
        { breadcrumb: ['properties', 'v'], metadata: { inclusion: 'available' } },
      ],
    });
  });

  it.each([
    ['no files setting', {}, /Set `files`/],
    ['an empty files list', { files: [] }, /Set `files`/],
    ['an entry without a path', { files: [{ entity: 'a' }] }, /files\[0\]\.path is required/],
    [
      'a missing file',
      { files: [{ entity: 'a', path: 'nope.csv', keys: [] }] },
      /files\[0\]\.path: 'nope\.csv'.*does not exist/,
    ],
    [
      'a missing definition file',
      { csv_files_definition: 'defs.json' },
      /csv_files_definition: cannot read 'defs\.json'/,
    ],
    [
      'a two-character delimiter',
      { files: [{ entity: 'a', path: 'a.csv', delimiter: ';;' }] },
      /files\[0\]\.delimiter must be a single character/,
    ],
    [
      'an unknown key column',
      { files: [{ entity: 'a', path: 'a.csv', keys: ['nope'] }] },
      /files\[0\]\.keys: 'nope' not among the columns/,
    ],
    [
      'an unknown encoding',
      { files: [{ entity: 'a', path: 'a.csv', encoding: 'klingon' }] },
      /files\[0\]\.encoding: unknown encoding/,
    ],
  ])('rejects %s with a validation error naming the setting', async (_name, config, message) => {
    await writeFile(join(root, 'a.csv'), 'id\n1\n');
    await expect(discoverCsv(config as TapCsvConfig, { projectRoot: root })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(message),
    });
  });

  it('rejects bytes that are not in the configured encoding, pointing at the encoding setting', async () => {
    await writeFile(join(root, 'a.csv'), Buffer.from('id\n\xff\xfe\n', 'latin1'));
    await expect(messages({ files: [{ entity: 'a', path: 'a.csv' }] })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('files[0].encoding'),
    });
  });
});

describe('tapCsv on a large file', () => {
  it('streams 200,000 rows without holding them in memory', async () => {
    const file = join(root, 'big.csv');
    const out = createWriteStream(file);
    out.write('id,name,city,amount,note\n');
    const row = (i: number) =>
      `${i},"Name ${i}",City ${i % 100},${i * 3}.25,"a note, with a comma and ""quotes"""\n`;
    for (let i = 0; i < 200_000; i += 1000) {
      let batch = '';
      for (let j = i; j < i + 1000; j++) batch += row(j);
      if (!out.write(batch)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');

    // What is alive, collected first: files before this one in the process leave garbage behind.
    const live = () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage().heapUsed;
    };
    const before = live();
    let peak = before;
    let records = 0;
    let bytes = 0;
    for await (const line of tapCsv(
      { files: [{ entity: 'big', path: 'big.csv', keys: ['id'] }] },
      { projectRoot: root },
    )) {
      bytes += line.length;
      if (line.startsWith('{"type":"RECORD"')) records++;
      if (records % 20_000 === 0) peak = Math.max(peak, live());
    }
    expect(records).toBe(200_000);
    // The output is ~30 MB of text; holding it (or the parsed rows) would grow the heap far more.
    expect(bytes).toBeGreaterThan(25_000_000);
    expect(peak - before).toBeLessThan(bytes / 2);
  });
});
