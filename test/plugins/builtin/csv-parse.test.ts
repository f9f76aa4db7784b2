import { describe, expect, it } from 'vitest';
import { type CsvDialect, DEFAULT_DIALECT, parseCsv } from '../../../src/plugins/builtin/csv-parse.js';

async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function parse(text: string, dialect: Partial<CsvDialect> = {}, size = 1024): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const row of parseCsv(chunked(text, size), { ...DEFAULT_DIALECT, ...dialect }, 'test.csv')) {
    rows.push([...row.fields]);
  }
  return rows;
}

describe('parseCsv', () => {
  const cases: [string, string, Partial<CsvDialect>, string[][]][] = [
    [
      'plain rows',
      'a,b\n1,2\n',
      {},
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'no final newline',
      'a,b\n1,2',
      {},
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'CRLF line endings',
      'a,b\r\n1,2\r\n',
      {},
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'old Mac CR line endings',
      'a,b\r1,2\r',
      {},
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    ['quoted delimiter', 'a,"x,y"\n', {}, [['a', 'x,y']]],
    ['doubled quotes', '"say ""hi""",b\n', {}, [['say "hi"', 'b']]],
    ['embedded newline', '"line1\nline2",b\n', {}, [['line1\nline2', 'b']]],
    ['embedded CRLF becomes LF, as in Python text mode', '"l1\r\nl2",b\r\n', {}, [['l1\nl2', 'b']]],
    [
      'empty fields',
      ',,\n"",x\n',
      {},
      [
        ['', '', ''],
        ['', 'x'],
      ],
    ],
    ['trailing delimiter', 'a,\n', {}, [['a', '']]],
    ['blank line is an empty row', 'a\n\nb\n', {}, [['a'], [], ['b']]],
    ['quote inside an unquoted field is data', 'a"b,c\n', {}, [['a"b', 'c']]],
    ['text after a closing quote is kept when not strict', '"a"b,c\n', {}, [['ab', 'c']]],
    [
      'custom delimiter',
      'a;b\n"1;2";3\n',
      { delimiter: ';' },
      [
        ['a', 'b'],
        ['1;2', '3'],
      ],
    ],
    ['tab delimiter', 'a\tb\n', { delimiter: '\t' }, [['a', 'b']]],
    ['custom quotechar', "'a,b',c\n", { quotechar: "'" }, [['a,b', 'c']]],
    ['escapechar', 'a\\,b,c\n"x\\"y"\n', { escapechar: '\\' }, [['a,b', 'c'], ['x"y']]],
    ['skipinitialspace', 'a, b,  "c"\n', { skipinitialspace: true }, [['a', 'b', 'c']]],
    ['unterminated quote yields the rest when not strict', 'a,"bc\n', {}, [['a', 'bc\n']]],
  ];

  it.each(cases)('parses %s', async (_name, text, dialect, expected) => {
    expect(await parse(text, dialect)).toEqual(expected);
  });

  it.each(cases)(
    'parses %s the same when split into one-character chunks',
    async (_name, text, dialect, expected) => {
      expect(await parse(text, dialect, 1)).toEqual(expected);
    },
  );

  it('reports the line a row starts on', async () => {
    const lines: number[] = [];
    for await (const row of parseCsv(chunked('a\n"b\nc"\nd\n', 3), DEFAULT_DIALECT, 't.csv')) {
      lines.push(row.line);
    }
    expect(lines).toEqual([1, 2, 4]);
  });

  it('rejects bad quoting in strict mode, naming file and line', async () => {
    await expect(parse('a\n"x"y\n', { strict: true })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('test.csv:2'),
    });
    await expect(parse('"open', { strict: true })).rejects.toMatchObject({
      message: expect.stringContaining('unexpected end of data'),
    });
  });
});
