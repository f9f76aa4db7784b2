import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tapCsv } from '../../../src/plugins/builtin/tap-csv.js';
import { targetJsonl } from '../../../src/plugins/builtin/target-jsonl.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-target-jsonl-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function* lines(...items: string[]): AsyncGenerator<string> {
  yield* items;
}

const schema = (stream: string) => JSON.stringify({ type: 'SCHEMA', stream, schema: {}, key_properties: [] });
const record = (stream: string, rec: unknown) => JSON.stringify({ type: 'RECORD', stream, record: rec });
const state = (value: unknown) => JSON.stringify({ type: 'STATE', value });

describe('targetJsonl', () => {
  it('writes each stream to output/<stream>.jsonl by default, one record per line', async () => {
    await targetJsonl(
      {},
      lines(schema('a'), schema('b'), record('a', { x: 1 }), record('b', { y: 'z' }), record('a', { x: 2 })),
      () => {},
      { projectRoot: root },
    );
    expect(await readFile(join(root, 'output', 'a.jsonl'), 'utf8')).toBe('{"x":1}\n{"x":2}\n');
    expect(await readFile(join(root, 'output', 'b.jsonl'), 'utf8')).toBe('{"y":"z"}\n');
  });

  it('timestamps file names with do_timestamp_file and honours destination_path and custom_name', async () => {
    const now = () => new Date(2024, 0, 2, 3, 4, 5);
    await targetJsonl(
      { destination_path: 'out', do_timestamp_file: true },
      lines(schema('a'), record('a', {})),
      () => {},
      {
        projectRoot: root,
        now,
      },
    );
    expect(await readdir(join(root, 'out'))).toEqual(['a-20240102T030405.jsonl']);
    await targetJsonl(
      { destination_path: join(root, 'abs'), custom_name: 'all' },
      lines(schema('a'), schema('b'), record('a', { n: 1 }), record('b', { n: 2 })),
      () => {},
      { projectRoot: root },
    );
    expect(await readFile(join(root, 'abs', 'all.jsonl'), 'utf8')).toBe('{"n":1}\n{"n":2}\n');
  });

  it('appends to an existing file, as the upstream target does', async () => {
    await targetJsonl({}, lines(schema('a'), record('a', { n: 1 })), () => {}, { projectRoot: root });
    await targetJsonl({}, lines(schema('a'), record('a', { n: 2 })), () => {}, { projectRoot: root });
    expect(await readFile(join(root, 'output', 'a.jsonl'), 'utf8')).toBe('{"n":1}\n{"n":2}\n');
  });

  it('emits each STATE only after the records before it are on disk', async () => {
    const seen: { state: unknown; fileAtThatMoment: string }[] = [];
    const emit = (value: unknown) => {
      // Synchronous read at the moment of the call: what a crash right now would leave behind.
      seen.push({ state: value, fileAtThatMoment: readFileSyncSafe(join(root, 'output', 'a.jsonl')) });
    };
    await targetJsonl(
      {},
      lines(
        schema('a'),
        record('a', { n: 1 }),
        record('a', { n: 2 }),
        state({ s: 1 }),
        record('a', { n: 3 }),
        state({ s: 2 }),
      ),
      emit,
      { projectRoot: root },
    );
    expect(seen).toEqual([
      { state: { s: 1 }, fileAtThatMoment: '{"n":1}\n{"n":2}\n' },
      { state: { s: 2 }, fileAtThatMoment: '{"n":1}\n{"n":2}\n{"n":3}\n' },
    ]);
  });

  it('accepts items holding several lines, with or without a trailing newline', async () => {
    await targetJsonl(
      {},
      lines(`${schema('a')}\n${record('a', { n: 1 })}\n`, record('a', { n: 2 })),
      () => {},
      { projectRoot: root },
    );
    expect(await readFile(join(root, 'output', 'a.jsonl'), 'utf8')).toBe('{"n":1}\n{"n":2}\n');
  });

  it('writes every message unchanged to one file in raw mode', async () => {
    await targetJsonl({ raw: true }, lines(schema('a'), record('a', { n: 1 })), () => {}, {
      projectRoot: root,
    });
    expect(await readdir(join(root, 'output'))).toEqual(['target_jsonl.jsonl']);
    expect(await readFile(join(root, 'output', 'target_jsonl.jsonl'), 'utf8')).toBe(
      `${schema('a')}\n${record('a', { n: 1 })}\n`,
    );
  });

  it.each([
    ['malformed JSON', [schema('a'), '{"type": "RECORD", oops'], /input line 2: not valid JSON/],
    ['a message without a type', [schema('a'), '', '[1,2]'], /input line 3: not a Singer message/],
    [
      'a RECORD before its SCHEMA',
      [record('a', {})],
      /input line 1: RECORD for stream 'a' before its SCHEMA/,
    ],
  ])('rejects %s, naming the line', async (_name, input, message) => {
    await expect(targetJsonl({}, lines(...input), () => {}, { projectRoot: root })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(message),
    });
  });
});

describe('tapCsv -> targetJsonl', () => {
  it('round-trips CSV files into one JSONL file per entity and passes the final state on', async () => {
    await writeFile(join(root, 'users.csv'), 'id,name\n1,"Ann\nSmith"\n2,Bob\n');
    await writeFile(join(root, 'orders.csv'), 'id|total\n10|5.00\n');
    const states: unknown[] = [];
    await targetJsonl(
      {},
      tapCsv(
        {
          files: [
            { entity: 'users', path: 'users.csv', keys: ['id'] },
            { entity: 'orders', path: 'orders.csv', keys: ['id'], delimiter: '|' },
          ],
        },
        { projectRoot: root },
      ),
      (s) => states.push(s),
      { projectRoot: root },
    );
    expect(await readFile(join(root, 'output', 'users.jsonl'), 'utf8')).toBe(
      '{"id":"1","name":"Ann\\nSmith"}\n{"id":"2","name":"Bob"}\n',
    );
    expect(await readFile(join(root, 'output', 'orders.jsonl'), 'utf8')).toBe('{"id":"10","total":"5.00"}\n');
    expect(states.at(-1)).toEqual({ bookmarks: { users: {}, orders: {} } });
  });
});

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
