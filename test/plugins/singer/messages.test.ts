import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../../src/errors.js';
import { messageType, parseMessage } from '../../../src/plugins/singer/messages.js';

describe('parseMessage', () => {
  for (const { rule, line, message } of [
    {
      rule: 'reads a SCHEMA message',
      line: '{"type":"SCHEMA","stream":"users","schema":{"type":"object"},"key_properties":["id"],"bookmark_properties":["updated_at"]}',
      message: {
        type: 'SCHEMA',
        stream: 'users',
        schema: { type: 'object' },
        key_properties: ['id'],
        bookmark_properties: ['updated_at'],
      },
    },
    {
      rule: 'reads a SCHEMA message without key_properties as having none',
      line: '{"type":"SCHEMA","stream":"users","schema":{},"key_properties":null}',
      message: { type: 'SCHEMA', stream: 'users', schema: {}, key_properties: [] },
    },
    {
      rule: 'reads a RECORD message with its optional fields',
      line: '{"type":"RECORD","stream":"users","record":{"id":1},"time_extracted":"2024-01-01T00:00:00Z","version":3}',
      message: {
        type: 'RECORD',
        stream: 'users',
        record: { id: 1 },
        time_extracted: '2024-01-01T00:00:00Z',
        version: 3,
      },
    },
    {
      rule: 'reads a RECORD message without optional fields',
      line: ' {"record": {"id": 1}, "stream": "users", "type": "RECORD"} \r',
      message: { type: 'RECORD', stream: 'users', record: { id: 1 } },
    },
    {
      rule: 'reads a STATE message with any JSON value',
      line: '{"type":"STATE","value":{"bookmarks":{"users":{"updated_at":"2024-01-01"}}}}',
      message: { type: 'STATE', value: { bookmarks: { users: { updated_at: '2024-01-01' } } } },
    },
    {
      rule: 'reads an ACTIVATE_VERSION message',
      line: '{"type":"ACTIVATE_VERSION","stream":"users","version":1700000000000}',
      message: { type: 'ACTIVATE_VERSION', stream: 'users', version: 1700000000000 },
    },
    {
      rule: 'reads a BATCH message',
      line: '{"type":"BATCH","stream":"users","encoding":{"format":"jsonl","compression":"gzip"},"manifest":["file:///tmp/a.jsonl.gz"]}',
      message: {
        type: 'BATCH',
        stream: 'users',
        encoding: { format: 'jsonl', compression: 'gzip' },
        manifest: ['file:///tmp/a.jsonl.gz'],
      },
    },
  ]) {
    it(rule, () => {
      expect(parseMessage(line, 1, 'tap-test')).toEqual(message);
    });
  }

  for (const { rule, line, problem } of [
    { rule: 'rejects a line that is not JSON', line: '{"type":"RECORD",', problem: 'not valid JSON' },
    { rule: 'rejects an empty line', line: '   ', problem: 'the line is empty' },
    {
      rule: 'rejects JSON that is not an object',
      line: '["RECORD"]',
      problem: 'expected a JSON object, found a list',
    },
    { rule: 'rejects a message without a type', line: '{"stream":"users"}', problem: 'has no "type"' },
    { rule: 'rejects a type that is not a string', line: '{"type":1}', problem: '"type" must be a string' },
    {
      rule: 'rejects an unknown type',
      line: '{"type":"LOG","msg":"hi"}',
      problem: "unknown message type 'LOG'",
    },
    {
      rule: 'rejects a SCHEMA without a stream',
      line: '{"type":"SCHEMA","schema":{}}',
      problem: 'SCHEMA message needs a non-empty string "stream", found nothing',
    },
    {
      rule: 'rejects a SCHEMA whose schema is not an object',
      line: '{"type":"SCHEMA","stream":"s","schema":"x"}',
      problem: 'needs an object "schema", found string "x"',
    },
    {
      rule: 'rejects key_properties that are not strings',
      line: '{"type":"SCHEMA","stream":"s","schema":{},"key_properties":[1]}',
      problem: '"key_properties" must be a list of strings',
    },
    {
      rule: 'rejects a RECORD without a record',
      line: '{"type":"RECORD","stream":"s"}',
      problem: 'RECORD message needs an object "record", found nothing',
    },
    {
      rule: 'rejects a RECORD whose record is a list',
      line: '{"type":"RECORD","stream":"s","record":[1]}',
      problem: 'found a list',
    },
    {
      rule: 'rejects a RECORD with an empty stream name',
      line: '{"type":"RECORD","stream":"","record":{}}',
      problem: 'non-empty string "stream"',
    },
    {
      rule: 'rejects a time_extracted that is not a string',
      line: '{"type":"RECORD","stream":"s","record":{},"time_extracted":5}',
      problem: '"time_extracted" must be a string, found number 5',
    },
    {
      rule: 'rejects a RECORD version that is not an integer',
      line: '{"type":"RECORD","stream":"s","record":{},"version":1.5}',
      problem: 'needs an integer "version"',
    },
    {
      rule: 'rejects a STATE without a value',
      line: '{"type":"STATE"}',
      problem: 'STATE message has no "value"',
    },
    {
      rule: 'rejects an ACTIVATE_VERSION without a version',
      line: '{"type":"ACTIVATE_VERSION","stream":"s"}',
      problem: 'ACTIVATE_VERSION message needs an integer "version", found nothing',
    },
    {
      rule: 'rejects a BATCH without an encoding format',
      line: '{"type":"BATCH","stream":"s","encoding":{},"manifest":[]}',
      problem: '"encoding" object with a string "format"',
    },
    {
      rule: 'rejects a BATCH without a manifest',
      line: '{"type":"BATCH","stream":"s","encoding":{"format":"jsonl"}}',
      problem: 'needs a "manifest"',
    },
  ]) {
    it(rule, () => {
      const error = catchError(() => parseMessage(line, 7, 'tap-users'));
      expect(error.code).toBe('singer_protocol');
      expect(error.message).toContain("'tap-users'");
      expect(error.message).toContain('line 7');
      expect(error.message).toContain(problem);
      expect(error.details).toMatchObject({ plugin: 'tap-users', line: 7 });
    });
  }

  it('quotes the start of the offending line, shortened', () => {
    const line = `{"type":"RECORD","stream":"users","record":"${'x'.repeat(500)}"}`;
    const error = catchError(() => parseMessage(line, 12, 'tap-users'));
    expect(error.message).toContain('{"type":"RECORD","stream":"users","record":"xxx');
    expect(error.message).toContain('…');
    expect(error.message.length).toBeLessThan(400);
  });
});

describe('messageType', () => {
  for (const { rule, line, type } of [
    { rule: 'reads a compact line', line: '{"type":"RECORD","stream":"s","record":{}}', type: 'RECORD' },
    {
      rule: 'reads spaces around keys and colons',
      line: ' { "type" :  "STATE" , "value" : {} } ',
      type: 'STATE',
    },
    { rule: 'reads tabs and a trailing CR', line: '{\t"type"\t:\t"SCHEMA"}\r', type: 'SCHEMA' },
    {
      rule: 'reads type after other keys',
      line: '{"stream":"s","record":{"a":1},"type":"RECORD"}',
      type: 'RECORD',
    },
    { rule: 'ignores a nested type key', line: '{"value":{"type":"RECORD"},"type":"STATE"}', type: 'STATE' },
    { rule: 'ignores type inside a list', line: '{"a":[{"type":"RECORD"}],"type":"STATE"}', type: 'STATE' },
    { rule: 'ignores a value that reads "type"', line: '{"a":"type","b":["type"],"type":"X"}', type: 'X' },
    {
      rule: 'is not fooled by an escaped quote in a value',
      line: '{"record":{"q":"say \\"type\\":\\"RECORD\\""},"type":"STATE"}',
      type: 'STATE',
    },
    {
      rule: 'handles an escaped backslash before a quote',
      line: '{"a":"x\\\\","type":"RECORD"}',
      type: 'RECORD',
    },
    { rule: 'decodes an escaped key', line: '{"typ\\u0065":"RECORD"}', type: 'RECORD' },
    { rule: 'decodes an escaped value', line: '{"type":"REC\\u004fRD"}', type: 'RECORD' },
    {
      rule: 'takes the last of repeated keys, as JSON.parse does',
      line: '{"type":"A","type":"B"}',
      type: 'B',
    },
    { rule: 'is undefined for a non-string type', line: '{"type":{"x":"RECORD"}}', type: undefined },
    { rule: 'is undefined without a type', line: '{"stream":"s"}', type: undefined },
    { rule: 'is undefined for a list', line: '[{"type":"RECORD"}]', type: undefined },
    { rule: 'is undefined for a string', line: '"type"', type: undefined },
    { rule: 'is undefined for an empty line', line: '', type: undefined },
  ]) {
    it(rule, () => {
      expect(messageType(line)).toBe(type);
      if (line !== '') expect(messageType(line)).toBe(typeOfParsed(line));
    });
  }

  it('agrees with JSON.parse on generated lines', () => {
    const random = seededRandom(42);
    for (let n = 0; n < 2000; n++) {
      const line = generatedLine(random);
      expect({ line, type: messageType(line) }).toEqual({ line, type: typeOfParsed(line) });
    }
  });
});

function catchError(action: () => unknown): SluiceError {
  try {
    action();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('expected a SluiceError');
}

function typeOfParsed(line: string): string | undefined {
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const type = (parsed as Record<string, unknown>).type;
  return typeof type === 'string' ? type : undefined;
}

/** A small deterministic generator (mulberry32), so a failure names a line that reproduces. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRICKY_STRINGS = ['type', 'RECORD', '"type":"RECORD"', 'a\\"b', '\\', '{[', '}]', 'é ☃ 𝄞', '\n\t', ''];
const TYPES = ['RECORD', 'STATE', 'SCHEMA', 'ACTIVATE_VERSION', 'BATCH', 'REC"ORD', 'x\\y'];

function generatedLine(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const value = (depth: number): unknown => {
    const kind = Math.floor(random() * (depth > 2 ? 4 : 6));
    if (kind === 0) return pick(TRICKY_STRINGS);
    if (kind === 1) return Math.round(random() * 1e6) / 100;
    if (kind === 2) return pick([true, false, null]);
    if (kind === 3) return pick(TYPES);
    if (kind === 4) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    const keys = Math.floor(random() * 4);
    for (let k = 0; k < keys; k++) result[random() < 0.3 ? 'type' : pick(TRICKY_STRINGS)] = value(depth);
    return result;
  };
  const top = object(0);
  const entries = Object.entries(top);
  const typeAt = random() < 0.8 ? Math.floor(random() * (entries.length + 1)) : -1;
  const typeValue = random() < 0.9 ? pick(TYPES) : value(2);
  if (typeAt >= 0) entries.splice(typeAt, 0, ['type', typeValue]);
  const space = pick(['', ' ', '  ', '\t']);
  const body = entries
    .map(([key, v]) => {
      const encodedKey = key === 'type' && random() < 0.1 ? '"typ\\u0065"' : JSON.stringify(key);
      return `${space}${encodedKey}${space}:${space}${JSON.stringify(v, null, random() < 0.2 ? 1 : 0)}`;
    })
    .join(`${space},`);
  return `${pick(['', ' '])}{${body}${space}}${pick(['', '\r', ' '])}`;
}
