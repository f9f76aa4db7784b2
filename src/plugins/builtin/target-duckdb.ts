import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SluiceError } from '../../errors.js';
import {
  checkFileByPath,
  makeFolder,
  type PathScope,
  type PathSetting,
  pathScope,
  resolveInside,
  resolveSetting,
} from '../confined-paths.js';
import { type JsonObject, parseMessage } from '../singer/messages.js';
import { isRecordLine, RECORD_PREFIX, recordStream } from '../singer/record-lines.js';

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
  /**
   * On a server: the database file (and its `.wal`) and `temp_dir` must stay inside the project
   * folder, after links (`confined-paths.ts`); MotherDuck (`md:`) is refused.
   */
  readonly confinePaths?: boolean;
}

const DEFAULT_BATCH_SIZE_ROWS = 100_000;
// read_json's default `maximum_object_size` (16 MiB).
const DEFAULT_MAXIMUM_OBJECT_SIZE = 16 * 1024 * 1024;
// Batch-file writes are grouped in a buffer of this size; each write is awaited, so input waits on
// the disk.
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
  /** Two files taken in turn: one is loaded while the next batch is written to the other. */
  readonly paths: readonly [string, string];
  turn: 0 | 1;
  file: FileHandle | undefined;
  /** Lines not written yet, encoded: `used` bytes of `buffer`. */
  buffer: Buffer | undefined;
  used: number;
  rows: number;
  /** The length of the longest line in the batch file. */
  longest: number;
}

/** A batch file handed to a load. */
interface BatchFile {
  readonly table: StreamTable;
  readonly path: string;
  readonly longest: number;
}

const CLOSE_BRACE = 0x7d;

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
 * upstream does. At most one load runs while input is read: a load that a held STATE waits for
 * is finished before more input is read, and any other is awaited before the next load, a SCHEMA,
 * a STATE or the end of input. So memory and temporary files stay bounded (two batches), a slow
 * database slows the producer, and a failed load fails the run before any later state is emitted.
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

  const scope = await pathScope({ root: options.projectRoot, confined: options.confinePaths === true });
  const dbSetting: PathSetting = {
    plugin: 'target-duckdb',
    setting: config.filepath === undefined ? 'path' : 'filepath',
    value: location,
  };
  const dbPath = await databasePath(scope, dbSetting);
  let tempRoot = tmpdir();
  if (config.temp_dir !== undefined) {
    const tempSetting = { plugin: 'target-duckdb', setting: 'temp_dir', value: config.temp_dir };
    tempRoot = await resolveSetting(scope, tempSetting);
    await makeFolder(scope, tempRoot, tempSetting);
  }
  const tempFolder = await mkdtemp(join(tempRoot, 'sluice-target-duckdb-'));

  // From DuckDB's instance cache: two handles on one file in one process must share an instance
  // (separate ones would each write the file). The database closes when the last handle does.
  const instance = await DuckDBInstance.fromCache(dbPath);
  let connection: DuckDBConnection | undefined;
  const batches = new Map<string, StreamBatch>();
  // The load running while input is read; no state waits for it.
  let running: Promise<void> | undefined;
  try {
    connection = await instance.connect();
    const db = connection;
    const tables = new Map<string, StreamTable>();
    let rows = 0;
    let heldState: { value: unknown } | undefined;
    // The stream of the last RECORD line, with the start its lines share in the usual layout.
    let lastRecord: { readonly start: string; readonly batch: StreamBatch } | undefined;

    /** Writes the first `length` bytes of `data` to the batch file, which its first write opens. */
    const writeBytes = async (batch: StreamBatch, data: Buffer, length: number): Promise<void> => {
      batch.file ??= await open(batch.paths[batch.turn], 'w');
      let written = 0;
      while (written < length) {
        written += (await batch.file.write(data, written, length - written)).bytesWritten;
      }
    };

    const writeOut = async (batch: StreamBatch): Promise<void> => {
      if (batch.buffer === undefined || batch.used === 0) return;
      await writeBytes(batch, batch.buffer, batch.used);
      batch.used = 0;
    };

    /** Waits for the running load, if any: its failure fails the run here. */
    const settle = async (): Promise<void> => {
      const load = running;
      running = undefined;
      await load;
    };

    const flush = async (): Promise<void> => {
      await settle();
      if (rows > 0) {
        const loading: BatchFile[] = [];
        for (const [stream, batch] of batches) {
          if (batch.rows === 0) continue;
          await writeOut(batch);
          await batch.file?.close();
          batch.file = undefined;
          loading.push({
            table: tables.get(stream) as StreamTable,
            path: batch.paths[batch.turn],
            longest: batch.longest,
          });
          batch.turn = batch.turn === 0 ? 1 : 0;
          batch.rows = 0;
          batch.longest = 0;
        }
        rows = 0;
        const loaded = load(db, loading, metadata, hardDelete);
        if (heldState === undefined) {
          // Nothing waits for these rows: the next batch is read and written meanwhile.
          running = loaded;
          // Handled when `settle` awaits it; until then a failure must not crash the process.
          loaded.catch(() => undefined);
          return;
        }
        await loaded;
      }
      if (heldState !== undefined) {
        const { value } = heldState;
        heldState = undefined;
        emitState(value);
      }
    };

    /**
     * Appends RECORD lines (ending in `\n`) to their stream's batch file, encoding them straight
     * into its buffer (no string is joined or copied on the way).
     */
    const append = async (batch: StreamBatch, text: string): Promise<void> => {
      const bytes = Buffer.byteLength(text);
      if (bytes > WRITE_BYTES) {
        await writeOut(batch);
        await writeBytes(batch, Buffer.from(text), bytes);
        return;
      }
      if (batch.used + bytes > WRITE_BYTES) await writeOut(batch);
      batch.buffer ??= Buffer.allocUnsafe(WRITE_BYTES);
      // As many bytes as characters: ASCII, whose UTF-8 is its latin1, which is copied, not encoded.
      batch.used += batch.buffer.write(text, batch.used, bytes === text.length ? 'latin1' : 'utf8');
    };

    /** Counts a RECORD line of `length` characters into its stream's batch. */
    const addRecord = (batch: StreamBatch, length: number): void => {
      if (length > batch.longest) batch.longest = length;
      batch.rows++;
      rows++;
    };

    let lineNumber = 0;
    /** Any line but a RECORD that `lastRecord` recognises: `line` is trimmed. */
    const readLine = async (line: string): Promise<void> => {
      if (line === '') return;
      if (isRecordLine(line)) {
        const stream = recordStream(line, lineNumber, 'target-duckdb input');
        const batch = batches.get(stream);
        if (batch === undefined) {
          throw error(
            `input line ${lineNumber}: RECORD for stream '${stream}' before its SCHEMA. The tap must send a SCHEMA first.`,
            { stream, line: lineNumber },
          );
        }
        // Every line starting so is a RECORD of this stream for `recordStream` too, unless the
        // name is empty or holds a quote, a backslash (which it reads differently) or a line break.
        lastRecord = /^[^"\\\n\r]+$/.test(stream)
          ? { start: `${RECORD_PREFIX}${stream}"`, batch }
          : undefined;
        addRecord(batch, line.length);
        await append(batch, `${line}\n`);
        if (rows >= batchSize) await flush();
        return;
      }
      const message = parseMessage(line, lineNumber, 'target-duckdb input');
      if (message.type === 'SCHEMA') {
        // Pending rows are loaded with the table as it was before this SCHEMA changes it.
        if (rows > 0) await flush();
        await settle();
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
          const index = batches.size;
          batches.set(message.stream, {
            paths: [join(tempFolder, `${index}-a.ndjson`), join(tempFolder, `${index}-b.ndjson`)],
            turn: 0,
            file: undefined,
            buffer: undefined,
            used: 0,
            rows: 0,
            longest: 0,
          });
        }
      } else if (message.type === 'STATE') {
        if (rows === 0) {
          // The rows before it may still be loading.
          await settle();
          emitState(message.value);
        } else heldState = { value: message.value };
      }
      // ACTIVATE_VERSION and BATCH messages are not supported by upstream either: ignored.
    };

    for await (const item of input) {
      // One or more lines; a final `\n` ends the last line rather than starting an empty one.
      const body = item.endsWith('\n') ? item.slice(0, -1) : item;
      // RECORD lines are not parsed here: each is appended, as it came, to its stream's batch
      // file, and consecutive ones of the stream `lastRecord` names as one slice of the item
      // (the whole item, often), with its line ending.
      let run: StreamBatch | undefined;
      let runStart = 0;
      let runEnd = 0;
      const endRun = async (batch: StreamBatch): Promise<void> => {
        run = undefined;
        await append(
          batch,
          runEnd < item.length ? item.slice(runStart, runEnd + 1) : `${item.slice(runStart, runEnd)}\n`,
        );
      };
      let start = 0;
      for (;;) {
        const newline = body.indexOf('\n', start);
        const end = newline < 0 ? body.length : newline;
        lineNumber++;
        if (
          lastRecord !== undefined &&
          body.startsWith(lastRecord.start, start) &&
          body.charCodeAt(end - 1) === CLOSE_BRACE
        ) {
          // The stream of the RECORD before, in the usual layout, with nothing around it to trim.
          const batch = lastRecord.batch;
          if (run === undefined) {
            run = batch;
            runStart = start;
          }
          runEnd = end;
          addRecord(batch, end - start);
          if (rows >= batchSize) {
            await endRun(batch);
            await flush();
          }
        } else {
          if (run !== undefined) await endRun(run);
          await readLine(body.slice(start, end).trim());
        }
        if (newline < 0) break;
        start = newline + 1;
      }
      if (run !== undefined) await endRun(run);
    }
    await flush();
    await settle();
  } finally {
    // A failed run still waits for its running load: the connection must not close under it.
    await running?.catch(() => undefined);
    for (const batch of batches.values()) await batch.file?.close().catch(() => undefined);
    connection?.closeSync();
    instance.closeSync();
    await rm(tempFolder, { recursive: true, force: true });
  }
}

/**
 * Where DuckDB opens the database: `:memory:`, a MotherDuck name, or a file (its folder made).
 * Confined, the file, its write-ahead log and its spill folder must stay inside the project, and
 * MotherDuck is refused (its extension would be fetched into the server's home folder).
 */
async function databasePath(scope: PathScope, where: PathSetting): Promise<string> {
  const location = where.value;
  if (location === ':memory:') return location;
  if (location.startsWith('md:')) {
    if (scope.confined) {
      throw error(
        `${where.setting} '${location}': MotherDuck databases are not available on this server. Give a database file inside the project folder.`,
        { setting: where.setting },
      );
    }
    return location;
  }
  const resolved = await resolveSetting(scope, where);
  await makeFolder(scope, dirname(resolved), where);
  const file = await checkFileByPath(scope, resolved, where);
  await checkFileByPath(scope, `${file}.wal`, { ...where, value: `${location}.wal` });
  await resolveInside(scope, `${file}.tmp`, { ...where, value: `${location}.tmp` });
  return file;
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
  batches: readonly BatchFile[],
  metadata: boolean,
  hardDelete: boolean,
): Promise<void> {
  await db.run('BEGIN TRANSACTION');
  try {
    for (const batch of batches) await loadStream(db, batch, metadata, hardDelete);
    await db.run('COMMIT');
  } catch (cause) {
    await db.run('ROLLBACK').catch(() => undefined);
    if (cause instanceof SluiceError) throw cause;
    throw error(`loading a batch failed: ${(cause as Error).message}`);
  }
}

async function loadStream(
  db: DuckDBConnection,
  { table, path, longest }: BatchFile,
  metadata: boolean,
  hardDelete: boolean,
): Promise<void> {
  // read_json converts each record to the columns' types (strictly: a value of the wrong type
  // fails the load; a missing property or a JSON null is NULL).
  const fields = table.columns.map((c) => `${quoteIdentifier(c.property)} ${c.type}`);
  if (metadata) fields.push('"_sdc_deleted_at" VARCHAR');
  const columnsSpec = `{time_extracted: 'VARCHAR', record: ${quoteString(`STRUCT(${fields.join(', ')})`)}}`;
  // DuckDB's default object size limit, raised for a longer line (a UTF-16 unit is at most three
  // bytes of UTF-8). No higher: read_json splits the file into buffers of that size to parse them
  // in parallel, so a needlessly large limit parses the whole batch on one thread.
  const maximumObjectSize = Math.max(DEFAULT_MAXIMUM_OBJECT_SIZE, 3 * longest + 1);
  const source = `read_json(${quoteString(path)}, format = 'newline_delimited', columns = ${columnsSpec}, maximum_object_size = ${maximumObjectSize}) AS sluice_source`;
  const names = table.columns.map((c) => quoteIdentifier(c.name));
  const values = table.columns.map((c) => `sluice_source.record[${quoteString(c.property)}]`);
  if (metadata) {
    names.push('"_sdc_extracted_at"', '"_sdc_batched_at"', '"_sdc_deleted_at"');
    values.push(
      'CAST(sluice_source.time_extracted AS TIMESTAMPTZ)',
      'now()',
      `sluice_source.record['_sdc_deleted_at']`,
    );
  }
  const columns = values.map((v, i) => `${v} AS ${names[i]}`).join(', ');
  if (table.keys.length === 0) {
    await db.run(`INSERT INTO ${table.qualified} (${names.join(', ')}) SELECT ${columns} FROM ${source}`);
  } else {
    // The last record of a key in the batch wins: DuckDB keeps the order of the file's records
    // when it copies them into a table, where `rowid` numbers them in that order (both documented
    // under "order preservation"). A column named rowid hides that one: the records are then
    // numbered while they are read (which reads them on one thread).
    const hidesRowid = names.some((name) => name.toLowerCase() === '"rowid"');
    if (hidesRowid) await loadKeyedThroughStage(db, table, names, columns, source);
    else await loadKeyedInPlace(db, table, names, columns, source);
  }
  if (hardDelete) await db.run(`DELETE FROM ${table.qualified} WHERE "_sdc_deleted_at" IS NOT NULL`);
}

/**
 * Upsert through a staging table, for a table with a column named `rowid` (which hides DuckDB's
 * own): the records are numbered while they are read (on one thread), the last of each key kept,
 * the table's rows with those keys deleted, the rest inserted.
 */
async function loadKeyedThroughStage(
  db: DuckDBConnection,
  table: StreamTable,
  names: readonly string[],
  columns: string,
  source: string,
): Promise<void> {
  let seq = 'sluice_seq';
  while (names.includes(quoteIdentifier(seq))) seq = `_${seq}`;
  const numbered = `row_number() OVER () AS ${quoteIdentifier(seq)}, `;
  const keys = table.keys.map(quoteIdentifier).join(', ');
  await db.run(`CREATE OR REPLACE TEMP TABLE sluice_rows AS SELECT ${numbered}${columns} FROM ${source}`);
  // A batch rarely repeats a key: counting distinct keys is much cheaper than the window that
  // keeps each key's last record, which only a batch with a repeated key needs.
  const unique = await db.runAndReadAll(
    `SELECT count(*) = (SELECT count(*) FROM (SELECT DISTINCT ${keys} FROM sluice_rows)) AS ok FROM sluice_rows`,
  );
  let stage = 'sluice_rows';
  if (unique.getRowObjectsJS()[0]?.ok !== true) {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE sluice_stage AS SELECT ${names.join(', ')} FROM sluice_rows QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${quoteIdentifier(seq)} DESC) = 1`,
    );
    stage = 'sluice_stage';
  }
  const match = table.keys
    .map(
      (k) => `${table.qualified}.${quoteIdentifier(k)} IS NOT DISTINCT FROM sluice_new.${quoteIdentifier(k)}`,
    )
    .join(' AND ');
  await db.run(`DELETE FROM ${table.qualified} USING ${stage} AS sluice_new WHERE ${match}`);
  await db.run(
    `INSERT INTO ${table.qualified} (${names.join(', ')}) SELECT ${names.join(', ')} FROM ${stage}`,
  );
  await db.run('DROP TABLE IF EXISTS sluice_stage');
  await db.run('DROP TABLE sluice_rows');
}

/**
 * Upsert in one pass over the batch file: its records are appended to the table, then the keys
 * are settled by row id. Appended rows get row ids above every row the table had (DuckDB numbers
 * rows in the order they were copied, the file's order, and reuses no id within a transaction),
 * so "rowid > before" is this batch: of a key repeated in the batch the last record wins, and the
 * table's older rows with a key of the batch go. Copying the batch through a staging table first
 * cost as much again as the load itself.
 */
async function loadKeyedInPlace(
  db: DuckDBConnection,
  table: StreamTable,
  names: readonly string[],
  columns: string,
  source: string,
): Promise<void> {
  const keys = table.keys.map(quoteIdentifier).join(', ');
  const before = Number(
    (
      await db.runAndReadAll(`SELECT coalesce(max(rowid), -1)::BIGINT AS m FROM ${table.qualified}`)
    ).getRowObjectsJS()[0]?.m ?? -1,
  );
  await db.run(`INSERT INTO ${table.qualified} (${names.join(', ')}) SELECT ${columns} FROM ${source}`);
  const batch = `(SELECT rowid AS sluice_rowid, ${keys} FROM ${table.qualified} WHERE rowid > ${before})`;
  // A batch rarely repeats a key: counting distinct keys is cheaper than the window that finds them.
  const unique = await db.runAndReadAll(
    `SELECT count(*) = (SELECT count(*) FROM (SELECT DISTINCT ${keys} FROM ${batch})) AS ok FROM ${batch}`,
  );
  if (unique.getRowObjectsJS()[0]?.ok !== true) {
    await db.run(
      `DELETE FROM ${table.qualified} WHERE rowid > ${before} AND rowid NOT IN (SELECT max(sluice_rowid) FROM ${batch} GROUP BY ${keys})`,
    );
  }
  if (before < 0) return;
  const match = table.keys
    .map(
      (k: string) =>
        `${table.qualified}.${quoteIdentifier(k)} IS NOT DISTINCT FROM sluice_new.${quoteIdentifier(k)}`,
    )
    .join(' AND ');
  await db.run(
    `DELETE FROM ${table.qualified} USING ${batch} AS sluice_new WHERE ${table.qualified}.rowid <= ${before} AND ${match}`,
  );
}
