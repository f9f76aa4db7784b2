import pg from 'pg';
import { SluiceError } from '../../errors.js';
import type { JsonObject } from '../singer/messages.js';

/** The column types target-postgres creates. */
export type PostgresType =
  | 'bigint'
  | 'numeric'
  | 'boolean'
  | 'text'
  | 'timestamptz'
  | 'date'
  | 'time'
  | 'jsonb';

/** What `jsonb_typeof` answers for a non-null value. */
type JsonbType = 'object' | 'array' | 'string' | 'number' | 'boolean';

/**
 * A table column and how to compute it from a staged Singer message. Staged rows are `s`, with
 * `s.m` the whole message (jsonb), `s.r` its record, `s.line` the input line number and
 * `s.received` when it arrived (epoch milliseconds).
 */
export interface Column {
  readonly name: string;
  readonly type: PostgresType;
  /** SQL for the value: a JSON value of a type the schema does not allow, or that does not convert, fails. */
  readonly value: string;
  /** The JSON value the column is made from (SQL), when it has one: diagnosis reads it. */
  readonly source: string | undefined;
  /** The JSON types the schema allows, for messages (`integer or null`). */
  readonly expected: string;
}

/** `"schema"."table"` parts of a stream's table and its columns. */
export interface TableShape {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly Column[];
  /** Column names of the key properties, in order. */
  readonly keys: readonly string[];
}

const IDENTIFIER_BYTES = 63;

export const quoteIdentifier = (name: string): string => pg.escapeIdentifier(name);
const quoteLiteral = (text: string): string => pg.escapeLiteral(text).trim();

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function error(message: string, details: Record<string, unknown>): SluiceError {
  return new SluiceError('validation_failed', `target-postgres: ${message}`, details);
}

/** The JSON-schema types of a property (null left out), and its `format`; undefined types: any. */
function jsonTypes(schema: unknown): { types: string[] | undefined; format: string | undefined } {
  if (!isObject(schema)) return { types: undefined, format: undefined };
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants)) {
    const parts = variants.map(jsonTypes);
    if (parts.some((p) => p.types === undefined)) return { types: undefined, format: undefined };
    const types = [...new Set(parts.flatMap((p) => p.types ?? []))];
    const formats = [...new Set(parts.map((p) => p.format).filter((f) => f !== undefined))];
    return { types, format: formats.length === 1 ? formats[0] : undefined };
  }
  const raw = schema.type;
  if (raw === undefined) return { types: undefined, format: undefined };
  const types = (Array.isArray(raw) ? raw : [raw]).filter(
    (t): t is string => typeof t === 'string' && t !== 'null',
  );
  return { types, format: typeof schema.format === 'string' ? schema.format : undefined };
}

/**
 * The PostgreSQL type of a JSON-schema property, by upstream's precedence: objects and arrays are
 * jsonb, any string makes text (or a timestamp, date or time by its format, when it is the only
 * type), numbers are numeric (exact, as upstream), integers bigint. Every column is nullable.
 */
export function postgresType(schema: unknown): PostgresType {
  return typeOf(jsonTypes(schema));
}

function typeOf({ types, format }: ReturnType<typeof jsonTypes>): PostgresType {
  if (types === undefined || types.length === 0) return 'jsonb';
  if (types.some((t) => t === 'object' || t === 'array')) return 'jsonb';
  if (types.includes('string')) {
    if (types.length > 1) return 'text';
    if (format === 'date-time') return 'timestamptz';
    if (format === 'date') return 'date';
    if (format === 'time') return 'time';
    return 'text';
  }
  if (types.includes('number')) return 'numeric';
  if (types.includes('integer')) return 'bigint';
  if (types.includes('boolean')) return 'boolean';
  return 'jsonb';
}

/** How a JSON value of a given `jsonb_typeof` becomes the column type (`t` is its text). */
function conversion(type: PostgresType, json: JsonbType, v: string, t: string): string {
  switch (type) {
    case 'jsonb':
      return v;
    case 'text':
      return t;
    case 'bigint':
    case 'numeric':
      return json === 'boolean' ? `${t}::boolean::integer::${type}` : `${t}::${type}`;
    default:
      return `${t}::${type}`;
  }
}

/**
 * The SQL converting the JSON value `v` (its text is `t`) to `type`. JSON null, or no value,
 * is NULL. A JSON type the schema does not allow fails, through a cast that cannot succeed (the
 * load's diagnosis then names column, line and value); PostgreSQL itself rejects a value that
 * does not convert (`1.5` as bigint, a malformed date).
 */
function convertSql(type: PostgresType, types: readonly string[] | undefined, v: string, t: string): string {
  if (types === undefined) return type === 'jsonb' ? `NULLIF(${v}, 'null'::jsonb)` : `${t}::${type}`;
  const accepted = new Set<JsonbType>();
  for (const jsonType of types) {
    if (jsonType === 'integer' || jsonType === 'number') accepted.add('number');
    else if (['string', 'boolean', 'object', 'array'].includes(jsonType)) accepted.add(jsonType as JsonbType);
  }
  const branches = [...accepted].map((json) => `WHEN '${json}' THEN ${conversion(type, json, v, t)}`);
  // The cast's operand is not constant, so the planner cannot fold it (and fail) ahead of time.
  const reject = `(('sluice: unexpected JSON ' || jsonb_typeof(${v}))::integer)::text::${type}`;
  return `CASE coalesce(jsonb_typeof(${v}), 'null') WHEN 'null' THEN NULL ${branches.join(' ')} ELSE ${reject} END`;
}

function expectedText(types: readonly string[] | undefined, format: string | undefined): string {
  if (types === undefined) return 'any JSON value';
  const named = types.map((t) => (t === 'string' && format !== undefined ? `string (${format})` : t));
  return [...named, 'null'].join(' or ');
}

/** A table column name: PostgreSQL cuts names at 63 bytes, so we do it first, and see clashes. */
function identifier(name: string): string {
  if (Buffer.byteLength(name) <= IDENTIFIER_BYTES) return name;
  let cut = name;
  while (Buffer.byteLength(cut) > IDENTIFIER_BYTES) cut = cut.slice(0, -1);
  // Do not leave half a surrogate pair.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** The Singer SDK's record metadata columns (add_record_metadata). */
function metadataColumns(syncStartedAt: number): Column[] {
  const timestamp = ['string'];
  const deleted = `s.r->'_sdc_deleted_at'`;
  const extracted = `s.m->'time_extracted'`;
  const version = `s.m->'version'`;
  return [
    {
      name: '_sdc_extracted_at',
      type: 'timestamptz',
      value: convertSql('timestamptz', timestamp, extracted, `(s.m->>'time_extracted')`),
      source: extracted,
      expected: 'string (date-time) or null',
    },
    {
      name: '_sdc_received_at',
      type: 'timestamptz',
      value: 'to_timestamp(s.received / 1000.0)',
      source: undefined,
      expected: '',
    },
    { name: '_sdc_batched_at', type: 'timestamptz', value: 'now()', source: undefined, expected: '' },
    {
      name: '_sdc_deleted_at',
      type: 'timestamptz',
      value: convertSql('timestamptz', timestamp, deleted, `(s.r->>'_sdc_deleted_at')`),
      source: deleted,
      expected: 'string (date-time) or null',
    },
    { name: '_sdc_sequence', type: 'bigint', value: 's.received', source: undefined, expected: '' },
    {
      name: '_sdc_table_version',
      type: 'bigint',
      value: convertSql('bigint', ['integer'], version, `(s.m->>'version')`),
      source: version,
      expected: 'integer or null',
    },
    {
      name: '_sdc_sync_started_at',
      type: 'bigint',
      value: String(syncStartedAt),
      source: undefined,
      expected: '',
    },
  ];
}

/**
 * Schema and table of a stream, as upstream names them: the table is the last `-` part of the
 * stream name; the schema is `default_target_schema`, or when that is empty the part before.
 */
function tableName(stream: string, defaultSchema: string): { schema: string; table: string } {
  const parts = stream.split('-');
  const table = parts[parts.length - 1] as string;
  const streamSchema = parts.length === 2 || parts.length === 3 ? parts[parts.length - 2] : undefined;
  return {
    schema: identifier(defaultSchema !== '' ? defaultSchema : (streamSchema ?? 'public')),
    table: identifier(table),
  };
}

/** The table a SCHEMA message describes. Names keep their case, as upstream. */
export function tableShape(
  stream: string,
  schema: JsonObject,
  keyProperties: readonly string[],
  options: { readonly defaultSchema: string; readonly metadata: boolean; readonly syncStartedAt: number },
): TableShape {
  const { schema: schemaName, table } = tableName(stream, options.defaultSchema);
  if (table === '') throw error(`stream '${stream}' names no table.`, { stream });
  const properties = isObject(schema.properties) ? schema.properties : {};
  const metadata = options.metadata ? metadataColumns(options.syncStartedAt) : [];
  const columns: Column[] = [];
  const owners = new Map<string, string>();
  for (const [property, propertySchema] of Object.entries(properties)) {
    // With metadata on, a tap's own `_sdc_*` properties fill the metadata columns.
    if (metadata.some((m) => m.name === property)) continue;
    const name = identifier(property);
    if (name === '') throw error(`stream '${stream}' has a property with an empty name.`, { stream });
    const other = owners.get(name);
    if (other !== undefined) {
      throw error(
        `stream '${stream}' has properties '${other}' and '${property}', which name the same column (PostgreSQL keeps the first ${IDENTIFIER_BYTES} bytes of a name).`,
        { stream },
      );
    }
    owners.set(name, property);
    const { types, format } = jsonTypes(propertySchema);
    const type = typeOf({ types, format });
    const path = `s.r->${quoteLiteral(property)}`;
    columns.push({
      name,
      type,
      value: convertSql(type, types, path, `(s.r->>${quoteLiteral(property)})`),
      source: path,
      expected: expectedText(types, format),
    });
  }
  if (columns.length === 0) throw error(`stream '${stream}' has no properties in its schema.`, { stream });
  const keys = keyProperties.map((key) => {
    if (!Object.hasOwn(properties, key)) {
      throw error(`stream '${stream}' has key property '${key}', which is not in its schema.`, { stream });
    }
    return identifier(key);
  });
  return { schema: schemaName, table, columns: [...columns, ...metadata], keys };
}
