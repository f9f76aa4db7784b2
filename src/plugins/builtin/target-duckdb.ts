import type { FileHandle } from 'node:fs/promises';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SluiceError } from '../../errors.js';
import { type JsonObject, messageType, parseMessage } from '../singer/messages.js';

/** target-duckdb's settings (jwills variant, the one Meltano's Hub lists by default). */
export interface TargetDuckdbConfig {
  /** The database file (Meltano's default: `$MELTANO_PROJECT_ROOT/output/warehouse.duckdb`). */
  readonly filepath?: string;
  /** Alias of `filepath`. */
  readonly path?: string;
  /** Schema for every table unless `schema_mapping` says otherwise; default `main`. */
  readonly default_target_schema?: string;
  /** `{ <source schema>: { target_schema } }` for streams named `<source schema>-<table>`. */
  readonly schema_mapping?: Readonly<Record<string, { readonly target_schema?: string }>>;
  /** Rows buffered (over all streams) before a load; default 100000. */
  readonly batch_size_rows?: number;
  /** Adds `_sdc_extracted_at`, `_sdc_batched_at` and `_sdc_deleted_at` columns; default false. */
  readonly add_metadata_columns?: boolean;
  /** Deletes rows whose `_sdc_deleted_at` is set (implies add_metadata_columns); default false. */
  readonly hard_delete?: boolean;
  /** Refuses streams without key_properties; default true, as upstream. */
  readonly primary_key_required?: boolean;
  /** Folder for the temporary batch files; default the system's temporary folder. */
  readonly temp_dir?: string;
}

export interface TargetDuckdbOptions {
  /** A relative `filepath` or `temp_dir` resolves against this directory. */
  readonly projectRoot: string;
}

const DEFAULT_BATCH_SIZE_ROWS = 100_000;
// Batch-file writes are grouped to this size; each write is awaited, so input waits on the disk.
const WRITE_BYTES = 256 * 1024;
const METADATA_COLUMNS: readonly (readonly [string, string])[] = [
  ['_sdc_extracted_at', 'TIMESTAMPTZ'],
  ['_sdc_batched_at', 'TIMESTAMPTZ'],
  ['_sdc_deleted_at', 'VARCHAR'],
];

interface Column {
  /** The property name in the records. */
  readonly property: string;
  /** The column name in the table (lower case, as upstream). */
  readonly name: string;
  readonly type: string;
}

interface StreamTable {
  readonly stream: string;
  /** `"schema"."table"`, quoted. */
  readonly qualified: string;
  readonly columns: readonly Column[];
  readonly keys: readonly string[];
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The DuckDB type of a JSON-schema property; every column is nullable. */
export function duckdbType(schema: unknown): string {
  if (!isObject(schema)) return 'JSON';
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants)) {
    const nonNull = variants.filter((v) => !(isObject(v) && v.type === 'null'));
    return nonNull.length === 1 ? duckdbType(nonNull[0]) : 'JSON';
  }
  const raw = schema.type;
  const types = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((t) => t !== 'null');
  if (types.length === 0) return 'JSON';
  if (types.length > 1) {
    if (types.every((t) => t === 'integer' || t === 'number')) return 'DOUBLE';
    return types.some((t) => t === 'object' || t === 'array') ? 'JSON' : 'VARCHAR';
  }
  switch (types[0]) {
    case 'integer':
      return 'BIGINT';
    case 'number':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'string':
      if (schema.format === 'date-time') return 'TIMESTAMPTZ';
      if (schema.format === 'date') return 'DATE';
      if (schema.format === 'time') return 'TIME';
      return 'VARCHAR';
    default:
      // object, array and anything unknown are kept as JSON.
      return 'JSON';
  }
}

/** Schema and table for a stream, as upstream names them (`<schema>-<table>` streams included). */
function tableName(
  stream: string,
  config: TargetDuckdbConfig,
): { readonly schema: string; readonly table: string } {
  const parts = stream.split('-');
  const sourceSchema = parts.length >= 2 ? (parts.length === 2 ? parts[0] : parts[1]) : undefined;
  const table = parts.length <= 2 ? (parts[parts.length - 1] as string) : parts.slice(2).join('_');
  const mapped =
    sourceSchema === undefined ? undefined : config.schema_mapping?.[sourceSchema]?.target_schema;
  return {
    schema: mapped ?? config.default_target_schema ?? 'main',
    table: table.toLowerCase().replaceAll('.', '_'),
  };
}

function error(message: string, details: Record<string, unknown> = {}): SluiceError {
  return new SluiceError('validation_failed', `target-duckdb: ${message}`, details);
}

/** A stream's records waiting to be loaded: its own NDJSON file, written in chunks. */
interface StreamBatch {
  readonly path: string;
  file: FileHandle | undefined;
  pending: string[];
  pendingBytes: number;
  rows: number;
}

const RECORD_PREFIX = '{"type":"RECORD","stream":"';

/**
 * The stream of a RECORD line. The usual layout (type, then stream, as the Singer libraries write
 * it) is read without parsing; anything else is parsed and validated.
 */
function recordStream(line: string, lineNumber: number): string {
  if (line.startsWith(RECORD_PREFIX)) {
    const end = line.indexOf('"', RECORD_PREFIX.length);
    const name = line.slice(RECORD_PREFIX.length, end);
    if (end > RECORD_PREFIX.length && !name.includes('\\')) return name;
  }
  return (parseMessage(line, lineNumber, 'target-duckdb input') as { stream: string }).stream;
}

/**
 * Runs target-duckdb: one table per stream (created, or widened, from SCHEMA messages), loaded in
 * batches of `batch_size_rows`. RECORD lines are not parsed here: each is appended, as it came,
 * to its stream's temporary NDJSON file, which DuckDB's `read_json` loads with the table's column
 * types (much faster than parsing and inserting row by row; a value of the wrong type fails the
 * load, as upstream). Streams with key properties are upserted (delete, then insert, in one
 * transaction; the last record of a key in a batch wins), so a rerun does not duplicate rows.
 *
 * `emitState` receives a STATE's value only once every record before it is committed: a STATE
 * that arrives with rows pending is held until the next load (a later one replaces it), as
 * upstream does. Batch files are written and loaded before more input is read, so memory stays
 * bounded and a slow database slows the producer.
 */
export async function targetDuckdb(
  config: TargetDuckdbConfig,
  input: AsyncIterable<string>,
  emitState: (state: unknown) => void,
  options: TargetDuckdbOptions,
): Promise<void> {
  const location = config.filepath ?? config.path;
  if (typeof location !== 'string' || location === '') {
    throw error("set 'filepath' (or 'path') to the database file to load into.", { setting: 'filepath' });
  }
  const batchSize = config.batch_size_rows ?? DEFAULT_BATCH_SIZE_ROWS;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw error(`'batch_size_rows' must be a positive integer, found ${JSON.stringify(batchSize)}.`, {
      setting: 'batch_size_rows',
    });
  }
  const hardDelete = config.hard_delete === true;
  const metadata = hardDelete || config.add_metadata_columns === true;
  const keysRequired = config.primary_key_required !== false;

  const isFile = location !== ':memory:' && !location.startsWith('md:');
  const dbPath = isFile && !isAbsolute(location) ? resolve(options.projectRoot, location) : location;
  if (isFile) await mkdir(dirname(dbPath), { recursive: true });
  const tempRoot = config.temp_dir === undefined ? tmpdir() : resolve(options.projectRoot, config.temp_dir);
  await mkdir(tempRoot, { recursive: true });
  const tempFolder = await mkdtemp(join(tempRoot, 'sluice-target-duckdb-'));

  // From DuckDB's instance cache: two handles on one file in one process must share an instance
  // (separate ones would each write the file). The database closes when the last handle does.
  const instance = await DuckDBInstance.fromCache(dbPath);
  let connection: DuckDBConnection | undefined;
  const batches = new Map<string, StreamBatch>();
  try {
    connection = await instance.connect();
    const db = connection;
    const tables = new Map<string, StreamTable>();
    let rows = 0;
    let heldState: { value: unknown } | undefined;

    const writeOut = async (batch: StreamBatch): Promise<void> => {
      if (batch.pending.length === 0) return;
      const text = batch.pending.join('');
      batch.pending = [];
      batch.pendingBytes = 0;
      batch.file ??= await open(batch.path, 'w');
      await batch.file.write(text);
    };

    const flush = async (): Promise<void> => {
      if (rows > 0) {
        const loading: [StreamTable, StreamBatch][] = [];
        for (const [stream, batch] of batches) {
          if (batch.rows === 0) continue;
          await writeOut(batch);
          await batch.file?.close();
          batch.file = undefined;
          loading.push([tables.get(stream) as StreamTable, batch]);
        }
        await load(db, loading, metadata, hardDelete);
        for (const [, batch] of loading) batch.rows = 0;
        rows = 0;
      }
      if (heldState !== undefined) {
        const { value } = heldState;
        heldState = undefined;
        emitState(value);
      }
    };

    let lineNumber = 0;
    for await (const item of input) {
      const lines = (item.endsWith('\n') ? item.slice(0, -1) : item).split('\n');
      for (const text of lines) {
        lineNumber++;
        const line = text.trim();
        if (line === '') continue;
        // The usual layout is recognised from its start; any other goes through messageType.
        if (line.startsWith(RECORD_PREFIX) || messageType(line) === 'RECORD') {
          const stream = recordStream(line, lineNumber);
          const batch = batches.get(stream);
          if (batch === undefined) {
            throw error(
              `input line ${lineNumber}: RECORD for stream '${stream}' before its SCHEMA. The tap must send a SCHEMA first.`,
              { stream, line: lineNumber },
            );
          }
          // Wrapped with its sequence number, not parsed: DuckDB parses the batch in one go.
          const wrapped = `{"sluice_seq":${batch.rows},"m":${line}}\n`;
          batch.pending.push(wrapped);
          batch.pendingBytes += wrapped.length;
          batch.rows++;
          rows++;
          if (batch.pendingBytes >= WRITE_BYTES) await writeOut(batch);
          if (rows >= batchSize) await flush();
          continue;
        }
        const message = parseMessage(line, lineNumber, 'target-duckdb input');
        if (message.type === 'SCHEMA') {
          // Pending rows are loaded with the table as it was before this SCHEMA changes it.
          if (rows > 0) await flush();
          if (keysRequired && message.key_properties.length === 0) {
            throw error(
              `stream '${message.stream}' has no key properties. Set keys for it in the extractor, or set primary_key_required: false (rows are then only appended).`,
              { stream: message.stream },
            );
          }
          tables.set(
            message.stream,
            await prepareTable(db, config, message.stream, message.schema, message.key_properties, metadata),
          );
          if (!batches.has(message.stream)) {
            batches.set(message.stream, {
              path: join(tempFolder, `${batches.size}.ndjson`),
              file: undefined,
              pending: [],
              pendingBytes: 0,
              rows: 0,
            });
          }
        } else if (message.type === 'STATE') {
          if (rows === 0) emitState(message.value);
          else heldState = { value: message.value };
        }
        // ACTIVATE_VERSION and BATCH messages are not supported by upstream either: ignored.
      }
    }
    await flush();
  } finally {
    for (const batch of batches.values()) await batch.file?.close().catch(() => undefined);
    connection?.closeSync();
    instance.closeSync();
    await rm(tempFolder, { recursive: true, force: true });
  }
}

async function prepareTable(
  db: DuckDBConnection,
  config: TargetDuckdbConfig,
  stream: string,
  schema: JsonObject,
  keyProperties: readonly string[],
  metadata: boolean,
): Promise<StreamTable> {
  const { schema: schemaName, table } = tableName(stream, config);
  const properties = isObject(schema.properties) ? schema.properties : {};
  const columns: Column[] = [];
  const seen = new Map<string, string>();
  for (const [property, propertySchema] of Object.entries(properties)) {
    const name = property.toLowerCase();
    // With metadata on, a tap's own `_sdc_*` properties fill the metadata columns.
    if (metadata && METADATA_COLUMNS.some(([m]) => m === name)) continue;
    const other = seen.get(name);
    if (other !== undefined) {
      throw error(
        `stream '${stream}' has properties '${other}' and '${property}', which name the same column.`,
        {
          stream,
        },
      );
    }
    seen.set(name, property);
    columns.push({ property, name, type: duckdbType(propertySchema) });
  }
  const keys: string[] = [];
  for (const key of keyProperties) {
    const column = columns.find((c) => c.property === key);
    if (column === undefined) {
      throw error(`stream '${stream}' has key property '${key}', which is not in its schema.`, { stream });
    }
    keys.push(column.name);
  }
  const all = [...columns.map((c) => [c.name, c.type] as const), ...(metadata ? METADATA_COLUMNS : [])];
  if (columns.length === 0) throw error(`stream '${stream}' has no properties in its schema.`, { stream });
  const qualified = `${quoteIdentifier(schemaName)}.${quoteIdentifier(table)}`;
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schemaName)}`);
  await db.run(
    `CREATE TABLE IF NOT EXISTS ${qualified} (${all.map(([n, t]) => `${quoteIdentifier(n)} ${t}`).join(', ')})`,
  );
  // A table from an earlier run gains the columns the schema added; existing ones are kept.
  const existing = await db.runAndReadAll(
    `SELECT lower(column_name) AS name FROM information_schema.columns WHERE table_schema = ${quoteString(schemaName)} AND table_name = ${quoteString(table)}`,
  );
  const have = new Set(existing.getRowObjectsJS().map((r) => String(r.name)));
  for (const [name, type] of all) {
    if (!have.has(name)) await db.run(`ALTER TABLE ${qualified} ADD COLUMN ${quoteIdentifier(name)} ${type}`);
  }
  return { stream, qualified, columns, keys };
}

/** Loads the streams' batch files into their tables in one transaction. */
async function load(
  db: DuckDBConnection,
  batches: readonly (readonly [StreamTable, StreamBatch])[],
  metadata: boolean,
  hardDelete: boolean,
): Promise<void> {
  await db.run('BEGIN TRANSACTION');
  try {
    for (const [table, batch] of batches) await loadStream(db, table, batch.path, metadata, hardDelete);
    await db.run('COMMIT');
  } catch (cause) {
    await db.run('ROLLBACK').catch(() => undefined);
    if (cause instanceof SluiceError) throw cause;
    throw error(`loading a batch failed: ${(cause as Error).message}`);
  }
}

async function loadStream(
  db: DuckDBConnection,
  table: StreamTable,
  path: string,
  metadata: boolean,
  hardDelete: boolean,
): Promise<void> {
  // read_json converts each record to the columns' types (strictly: a value of the wrong type
  // fails the load; a missing property or a JSON null is NULL).
  const fields = table.columns.map((c) => `${quoteIdentifier(c.property)} ${c.type}`);
  if (metadata) fields.push('"_sdc_deleted_at" VARCHAR');
  const columnsSpec = `{sluice_seq: 'BIGINT', m: ${quoteString(`STRUCT(time_extracted VARCHAR, record STRUCT(${fields.join(', ')}))`)}}`;
  const source = `read_json(${quoteString(path)}, format = 'newline_delimited', columns = ${columnsSpec}, maximum_object_size = 1073741824)`;
  const names = table.columns.map((c) => quoteIdentifier(c.name));
  const values = table.columns.map((c) => `m.record[${quoteString(c.property)}]`);
  if (metadata) {
    names.push('"_sdc_extracted_at"', '"_sdc_batched_at"', '"_sdc_deleted_at"');
    values.push('CAST(m.time_extracted AS TIMESTAMPTZ)', 'now()', `m.record['_sdc_deleted_at']`);
  }
  const select = `SELECT sluice_seq, ${values.map((v, i) => `${v} AS ${names[i]}`).join(', ')} FROM ${source}`;
  if (table.keys.length === 0) {
    await db.run(
      `INSERT INTO ${table.qualified} (${names.join(', ')}) SELECT ${names.join(', ')} FROM (${select})`,
    );
  } else {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE sluice_stage AS SELECT ${names.join(', ')} FROM (${select}) QUALIFY row_number() OVER (PARTITION BY ${table.keys.map(quoteIdentifier).join(', ')} ORDER BY sluice_seq DESC) = 1`,
    );
    const match = table.keys
      .map(
        (k) =>
          `${table.qualified}.${quoteIdentifier(k)} IS NOT DISTINCT FROM sluice_new.${quoteIdentifier(k)}`,
      )
      .join(' AND ');
    await db.run(`DELETE FROM ${table.qualified} USING sluice_stage AS sluice_new WHERE ${match}`);
    await db.run(
      `INSERT INTO ${table.qualified} (${names.join(', ')}) SELECT ${names.join(', ')} FROM sluice_stage`,
    );
    await db.run('DROP TABLE sluice_stage');
  }
  if (hardDelete) await db.run(`DELETE FROM ${table.qualified} WHERE "_sdc_deleted_at" IS NOT NULL`);
}
