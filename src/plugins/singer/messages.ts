import { SluiceError } from '../../errors.js';

/**
 * Singer messages, one JSON object per line on a plugin's stdout
 * (https://hub.meltano.com/singer/spec, plus the Singer SDK's BATCH message).
 */

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export interface SchemaMessage {
  readonly type: 'SCHEMA';
  readonly stream: string;
  readonly schema: JsonObject;
  /** Empty when the tap sent none (or `null`): Singer SDK targets accept that, so we do too. */
  readonly key_properties: readonly string[];
  readonly bookmark_properties?: readonly string[];
}

export interface RecordMessage {
  readonly type: 'RECORD';
  readonly stream: string;
  readonly record: JsonObject;
  readonly time_extracted?: string;
  readonly version?: number;
}

export interface StateMessage {
  readonly type: 'STATE';
  readonly value: JsonValue;
}

export interface ActivateVersionMessage {
  readonly type: 'ACTIVATE_VERSION';
  readonly stream: string;
  readonly version: number;
}

export interface BatchMessage {
  readonly type: 'BATCH';
  readonly stream: string;
  readonly encoding: { readonly format: string; readonly compression?: string };
  readonly manifest: readonly string[];
}

export type SingerMessage =
  | SchemaMessage
  | RecordMessage
  | StateMessage
  | ActivateVersionMessage
  | BatchMessage;
export type SingerMessageType = SingerMessage['type'];

const EXCERPT_LENGTH = 80;

/** Thrown from inside the validators; `parseMessage` adds the plugin, line and excerpt. */
class Problem {
  constructor(readonly text: string) {}
}

/**
 * Parses and validates one line of a plugin's Singer output. `source` names the plugin
 * (`tap-github`), `lineNumber` is 1-based. Throws a `singer_protocol` SluiceError that names
 * the plugin, the line, what is wrong and the start of the line. Blank lines are errors too:
 * a runner that tolerates them skips them before calling this.
 */
export function parseMessage(line: string, lineNumber: number, source: string): SingerMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    const reason =
      line.trim() === '' ? 'the line is empty' : `it is not valid JSON (${(error as Error).message})`;
    throw protocolError(line, lineNumber, source, reason);
  }
  try {
    return toMessage(parsed);
  } catch (error) {
    if (error instanceof Problem) throw protocolError(line, lineNumber, source, error.text);
    throw error;
  }
}

function protocolError(line: string, lineNumber: number, source: string, problem: string): SluiceError {
  const excerpt = excerptOf(line);
  return new SluiceError(
    'singer_protocol',
    `'${source}' wrote an invalid Singer message on line ${lineNumber}: ${problem}. ` +
      `The line starts: ${excerpt}. Check the plugin's version and its logs; ` +
      'every line on its stdout must be one Singer message in JSON.',
    { plugin: source, line: lineNumber, problem, excerpt },
  );
}

function excerptOf(line: string): string {
  const oneLine = line.replace(/\s+/g, ' ').trim();
  if (oneLine === '') return '(nothing)';
  return oneLine.length > EXCERPT_LENGTH ? `${oneLine.slice(0, EXCERPT_LENGTH)}…` : oneLine;
}

function toMessage(value: unknown): SingerMessage {
  if (!isObject(value)) throw new Problem(`expected a JSON object, found ${describe(value)}`);
  const type = value.type;
  switch (type) {
    case 'SCHEMA':
      return schemaMessage(value);
    case 'RECORD':
      return recordMessage(value);
    case 'STATE':
      if (!('value' in value)) throw new Problem('STATE message has no "value"');
      return { type, value: value.value as JsonValue };
    case 'ACTIVATE_VERSION':
      return { type, stream: stream(value), version: integer(value, 'version') };
    case 'BATCH':
      return batchMessage(value);
    case undefined:
      throw new Problem('the message has no "type"');
    default:
      throw new Problem(
        typeof type === 'string'
          ? `unknown message type '${type}' (expected SCHEMA, RECORD, STATE, ACTIVATE_VERSION or BATCH)`
          : `"type" must be a string, found ${describe(type)}`,
      );
  }
}

function schemaMessage(value: Record<string, unknown>): SchemaMessage {
  const schema = value.schema;
  if (!isObject(schema))
    throw new Problem(`SCHEMA message needs an object "schema", found ${describe(schema)}`);
  const bookmarks = optionalStrings(value, 'bookmark_properties');
  return {
    type: 'SCHEMA',
    stream: stream(value),
    schema: schema as JsonObject,
    key_properties: optionalStrings(value, 'key_properties') ?? [],
    ...(bookmarks === undefined ? {} : { bookmark_properties: bookmarks }),
  };
}

function recordMessage(value: Record<string, unknown>): RecordMessage {
  const record = value.record;
  if (!isObject(record))
    throw new Problem(`RECORD message needs an object "record", found ${describe(record)}`);
  const timeExtracted = value.time_extracted;
  if (timeExtracted !== undefined && timeExtracted !== null && typeof timeExtracted !== 'string') {
    throw new Problem(`"time_extracted" must be a string, found ${describe(timeExtracted)}`);
  }
  const hasVersion = value.version !== undefined && value.version !== null;
  return {
    type: 'RECORD',
    stream: stream(value),
    record: record as JsonObject,
    ...(typeof timeExtracted === 'string' ? { time_extracted: timeExtracted } : {}),
    ...(hasVersion ? { version: integer(value, 'version') } : {}),
  };
}

function batchMessage(value: Record<string, unknown>): BatchMessage {
  const encoding = value.encoding;
  if (!isObject(encoding) || typeof encoding.format !== 'string') {
    throw new Problem(`BATCH message needs an "encoding" object with a string "format"`);
  }
  const compression = encoding.compression;
  if (compression !== undefined && compression !== null && typeof compression !== 'string') {
    throw new Problem(`"encoding.compression" must be a string, found ${describe(compression)}`);
  }
  const manifest = optionalStrings(value, 'manifest');
  if (manifest === undefined) throw new Problem('BATCH message needs a "manifest" list of file URLs');
  return {
    type: 'BATCH',
    stream: stream(value),
    encoding: { format: encoding.format, ...(typeof compression === 'string' ? { compression } : {}) },
    manifest,
  };
}

function stream(value: Record<string, unknown>): string {
  const name = value.stream;
  if (typeof name !== 'string' || name === '') {
    throw new Problem(
      `${String(value.type)} message needs a non-empty string "stream", found ${describe(name)}`,
    );
  }
  return name;
}

function integer(value: Record<string, unknown>, key: string): number {
  const n = value[key];
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new Problem(`${String(value.type)} message needs an integer "${key}", found ${describe(n)}`);
  }
  return n;
}

/** A list of strings, or undefined when the key is absent or null. */
function optionalStrings(value: Record<string, unknown>, key: string): readonly string[] | undefined {
  const list = value[key];
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw new Problem(`"${key}" must be a list of strings, found ${describe(list)}`);
  }
  return list;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 30 ? `${typeof value} ${text.slice(0, 30)}…` : `${typeof value} ${text}`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The top-level `"type"` of a JSON object line, without parsing the line: the runner uses it to
 * forward RECORD lines as bytes. For a valid JSON object it agrees with
 * `JSON.parse(line).type` when that is a string (escapes, key order, nested `"type"` keys and
 * repeated keys included: the last one wins, as in JSON.parse) and is undefined otherwise.
 * It does not validate: on a line that is not valid JSON its answer means nothing, so callers
 * parse every line whose type is not RECORD.
 */
export function messageType(line: string): string | undefined {
  let i = skipSpace(line, 0);
  if (line.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i++;
  let depth = 1;
  let found: string | undefined;
  const length = line.length;
  while (i < length) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(line, i);
      if (end < 0) return found;
      if (depth === 1) {
        const afterKey = skipSpace(line, end + 1);
        // At depth 1 a string followed by ':' is a key; any other string there is a value.
        if (line.charCodeAt(afterKey) === COLON && isTypeKey(line, i, end)) {
          const valueStart = skipSpace(line, afterKey + 1);
          if (line.charCodeAt(valueStart) === QUOTE) {
            const valueEnd = stringEnd(line, valueStart);
            if (valueEnd < 0) return undefined;
            found = stringValue(line, valueStart, valueEnd);
            i = valueEnd + 1;
          } else {
            found = undefined;
            i = valueStart;
          }
          continue;
        }
      }
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return found;
    }
    i++;
  }
  return found;
}

/** Index of the quote that closes the string opening at `start`, or -1. */
function stringEnd(line: string, start: number): number {
  let at = line.indexOf('"', start + 1);
  while (at >= 0) {
    let backslashes = 0;
    while (line.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = line.indexOf('"', at + 1);
  }
  return -1;
}

function isTypeKey(line: string, start: number, end: number): boolean {
  if (end - start === 5) return line.startsWith('type', start + 1);
  // An escaped key such as "typ\u0065" is rare: decode it exactly rather than guess.
  const backslash = line.indexOf('\\', start);
  return backslash !== -1 && backslash < end && stringValue(line, start, end) === 'type';
}

function stringValue(line: string, start: number, end: number): string | undefined {
  const raw = line.slice(start + 1, end);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    // A malformed escape: the line is not valid JSON, so there is no type to agree with.
    return undefined;
  }
}

function skipSpace(line: string, from: number): number {
  let i = from;
  for (;;) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}
