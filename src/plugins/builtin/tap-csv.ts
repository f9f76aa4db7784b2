import type { FileHandle } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import { SluiceError } from '../../errors.js';
import { openForReading, type PathScope, pathScope } from '../confined-paths.js';
import { type CsvRow, parseCsv, parseCsvBatches } from './csv-parse.js';
import {
  type CatalogStream,
  isStreamSelected,
  type JsonSchema,
  type SingerCatalog,
  type SingerState,
  selectedProperties,
} from './singer-catalog.js';
import { type CsvFileDefinition, resolveCsvFiles, type TapCsvConfig } from './tap-csv-config.js';
import { type CsvFile, csvFilesOf, pythonMtime } from './tap-csv-files.js';

export interface TapCsvOptions {
  /** Relative paths in the settings resolve against this directory (Meltano runs plugins there). */
  readonly projectRoot: string;
  /**
   * On a server: every file must resolve inside the project folder, after links (see
   * `confined-paths.ts`), and messages quote neither file content nor server paths.
   */
  readonly confinePaths?: boolean;
  /** A catalog with `selected` metadata; without one every stream and column is synced. */
  readonly catalog?: SingerCatalog;
  /** Incoming state: tap-csv has no incremental sync, but every bookmark in it is kept. */
  readonly state?: SingerState;
  /** Receives the tap's warnings (skipped files, blank lines). */
  readonly log?: (line: string) => void;
  /**
   * Told how many RECORD messages of a stream the next item holds, before it is yielded: a runner
   * counts records without reading the lines again.
   */
  readonly onRecords?: (stream: string, count: number) => void;
}

const SDC_SOURCE_FILE = '_sdc_source_file';
const SDC_SOURCE_FILE_MTIME = '_sdc_source_file_mtime';
const SDC_SOURCE_LINENO = '_sdc_source_lineno';

// Items of `tapCsvChunks` end at the first line past this size: large enough that per-item costs
// vanish, small enough to stay out of V8's large-object space (strings there live until a full GC).
const CHUNK_CHARS = 48 * 1024;

// Upstream types every CSV column as an optional string: the Singer SDK's `StringType` on a
// property that is not required becomes `["string", "null"]`.
const STRING_COLUMN = { type: ['string', 'null'] } as const satisfies JsonSchema;

/** Python codec names people put in `encoding` mapped to WHATWG labels `TextDecoder` knows. */
function decoderFor(def: CsvFileDefinition): TextDecoder {
  const label = def.encoding.toLowerCase().replace(/_/g, '-');
  const whatwg = label === 'utf-8-sig' || label === 'utf8-sig' ? 'utf-8' : label;
  try {
    return new TextDecoder(whatwg, { fatal: true });
  } catch {
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${def.setting}.encoding: unknown encoding '${def.encoding}'. Use a name such as "utf-8", "latin1" or "utf-16".`,
      { setting: `${def.setting}.encoding` },
    );
  }
}

/** A file of a stream, opened: its handle, and its name for messages. */
interface OpenedCsv {
  readonly handle: FileHandle;
  /** The path as the user wrote it (confined) or where it is (local): messages name it. */
  readonly shown: string;
}

/** Opens one of a stream's files, through the scope's checks. */
async function openCsv(scope: PathScope, file: CsvFile, def: CsvFileDefinition): Promise<OpenedCsv> {
  const where = { plugin: 'tap-csv', setting: `${def.setting}.path`, value: file.sourceFile };
  const handle = await openForReading(scope, file.path, where);
  return { handle, shown: scope.confined ? file.sourceFile : file.path };
}

/**
 * Decodes a file's bytes as they are read, so no more than one read buffer is held at a time.
 * The file is closed when decoding ends, however it ends.
 */
async function* decodeFile(file: OpenedCsv, def: CsvFileDefinition): AsyncGenerator<string> {
  try {
    const decoder = decoderFor(def);
    for await (const chunk of file.handle.createReadStream({ autoClose: false })) {
      yield decoder.decode(chunk as Buffer, { stream: true });
    }
    yield decoder.decode();
  } catch (cause) {
    if (cause instanceof TypeError) {
      throw new SluiceError(
        'validation_failed',
        `tap-csv: ${file.shown} is not valid ${def.encoding}. Set ${def.setting}.encoding to the file's encoding (for example "latin1").`,
        { setting: `${def.setting}.encoding`, file: file.shown },
      );
    }
    throw cause;
  } finally {
    await file.handle.close();
  }
}

function readRows(file: OpenedCsv, def: CsvFileDefinition): AsyncGenerator<CsvRow> {
  return parseCsv(decodeFile(file, def), def.dialect, file.shown);
}

function readRowBatches(file: OpenedCsv, def: CsvFileDefinition): AsyncGenerator<readonly CsvRow[]> {
  return parseCsvBatches(decodeFile(file, def), def.dialect, file.shown);
}

/** The header every file of a stream is read with: the first file's first row, as upstream reads it. */
async function streamHeader(
  files: readonly CsvFile[],
  def: CsvFileDefinition,
  scope: PathScope,
): Promise<readonly string[]> {
  const [first] = files;
  if (first !== undefined)
    for await (const row of readRows(await openCsv(scope, first, def), def)) return row.fields;
  throw new SluiceError(
    'validation_failed',
    `tap-csv: ${first?.sourceFile ?? def.configuredPath}, the first file of stream '${def.entity}', is empty: there is no header row to name its columns. Add one, or remove the file.`,
    { setting: `${def.setting}.path`, file: first?.sourceFile },
  );
}

/** The stream as discovery describes it: the first file's header, every column a string. */
async function discoverStream(
  def: CsvFileDefinition,
  addMetadata: boolean,
  scope: PathScope,
): Promise<CatalogStream> {
  const files = await csvFilesOf(def, scope);
  const header = await streamHeader(files, def, scope);
  const first = files[0]?.sourceFile;
  const missing = def.keys.filter((k) => !header.includes(k));
  if (missing.length > 0) {
    // On a server the header is not quoted: a message must never carry a file's content.
    const columns = scope.confined
      ? `its header row has ${header.length} column${header.length === 1 ? '' : 's'}`
      : header.join(', ');
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${def.setting}.keys: ${missing.map((k) => `'${k}'`).join(', ')} not among the columns of ${first} (${columns}).`,
      { setting: `${def.setting}.keys`, missing },
    );
  }
  const properties: Record<string, JsonSchema> = {};
  for (const column of header) properties[column] = STRING_COLUMN;
  if (addMetadata) {
    properties[SDC_SOURCE_FILE] = STRING_COLUMN;
    properties[SDC_SOURCE_FILE_MTIME] = { type: ['string', 'null'], format: 'date-time' };
    properties[SDC_SOURCE_LINENO] = { type: ['integer', 'null'] };
  }
  return {
    tap_stream_id: def.entity,
    stream: def.entity,
    schema: { type: 'object', properties },
    key_properties: def.keys,
    metadata: [
      {
        breadcrumb: [],
        metadata: {
          inclusion: 'available',
          'selected-by-default': true,
          'table-key-properties': def.keys,
          'forced-replication-method': 'FULL_TABLE',
        },
      },
      ...Object.keys(properties).map((name) => ({
        breadcrumb: ['properties', name],
        metadata: {
          inclusion: def.keys.includes(name) ? ('automatic' as const) : ('available' as const),
          'selected-by-default': true,
        },
      })),
    ],
  };
}

/** Discovers tap-csv's streams: one per `files` entry, named by its `entity`. */
export async function discoverCsv(
  config: TapCsvConfig,
  options: Pick<TapCsvOptions, 'projectRoot' | 'confinePaths'>,
): Promise<SingerCatalog> {
  const scope = await scopeOf(options);
  const defs = await resolveCsvFiles(config, scope);
  const addMetadata = config.add_metadata_columns === true;
  const streams: CatalogStream[] = [];
  for (const def of defs) streams.push(await discoverStream(def, addMetadata, scope));
  return { streams };
}

function scopeOf(options: Pick<TapCsvOptions, 'projectRoot' | 'confinePaths'>): Promise<PathScope> {
  return pathScope({ root: options.projectRoot, confined: options.confinePaths === true });
}

/** The `_sdc_*` values of one file's records, when `add_metadata_columns` is set. */
interface FileMetadata {
  readonly sourceFile: string;
  readonly mtime: string;
}

/** A data row (and its row number) as the JSON of its record. */
type RecordWriter = (fields: readonly string[], rowNumber: number) => string;

// Where a record value comes from, besides a header position (0 and up).
const FROM_SOURCE_FILE = -1;
const FROM_MTIME = -2;
const FROM_ROW_NUMBER = -3;

// Strings JSON.stringify writes as they are, between quotes: no quote, backslash, control
// character or surrogate (a lone one is escaped; pairs are left to JSON.stringify too).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters JSON escapes.
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function jsonString(value: string): string {
  return PLAIN_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * Writes the records of a file with this header. A record is built as upstream builds it: the
 * selected metadata, then the selected columns in header order, where a later column of the same
 * name replaces the value and, like Python's zip, a short row leaves its missing columns out and a
 * long row's extra fields are dropped. The JSON is `JSON.stringify`'s, byte for byte; for a full
 * row it is written from a key order worked out once (the one JSON.stringify gives the record:
 * integer-like keys first, `__proto__` never an own key), so a row costs only its values.
 */
function recordWriter(
  header: readonly string[],
  selected: ReadonlySet<string>,
  metadata: FileMetadata | undefined,
): RecordWriter {
  const columns = header.flatMap((column, i) => (selected.has(column) ? [i] : []));
  const sourceOf: Record<string, number> = {};
  if (metadata) {
    if (selected.has(SDC_SOURCE_FILE)) sourceOf[SDC_SOURCE_FILE] = FROM_SOURCE_FILE;
    if (selected.has(SDC_SOURCE_FILE_MTIME)) sourceOf[SDC_SOURCE_FILE_MTIME] = FROM_MTIME;
    if (selected.has(SDC_SOURCE_LINENO)) sourceOf[SDC_SOURCE_LINENO] = FROM_ROW_NUMBER;
  }
  for (const i of columns) sourceOf[header[i] as string] = i;
  const keys = Object.keys(sourceOf);
  const sources = keys.map((key) => sourceOf[key] as number);
  const parts = keys.map((key, k) => `${k === 0 ? '{' : ','}${JSON.stringify(key)}:`);
  const sourceFile = JSON.stringify(metadata?.sourceFile ?? '');
  const mtime = JSON.stringify(metadata?.mtime ?? '');

  const built = (fields: readonly string[], rowNumber: number): string => {
    const record: Record<string, string | number> = {};
    if (metadata) {
      if (selected.has(SDC_SOURCE_FILE)) record[SDC_SOURCE_FILE] = metadata.sourceFile;
      if (selected.has(SDC_SOURCE_FILE_MTIME)) record[SDC_SOURCE_FILE_MTIME] = metadata.mtime;
      if (selected.has(SDC_SOURCE_LINENO)) record[SDC_SOURCE_LINENO] = rowNumber;
    }
    const n = Math.min(header.length, fields.length);
    for (const i of columns) {
      if (i >= n) break;
      record[header[i] as string] = fields[i] as string;
    }
    return JSON.stringify(record);
  };

  const written = (fields: readonly string[], rowNumber: number): string => {
    let json = '';
    for (let k = 0; k < sources.length; k++) {
      const source = sources[k] as number;
      const value =
        source >= 0
          ? jsonString(fields[source] as string)
          : source === FROM_SOURCE_FILE
            ? sourceFile
            : source === FROM_MTIME
              ? mtime
              : String(rowNumber);
      json += parts[k] + value;
    }
    return `${json}}`;
  };
  // The most common case, columns only, has the quotes around values in the key parts.
  const onlyColumns = sources.every((source) => source >= 0);
  const quotedParts = keys.map((key, k) => `${k === 0 ? '{' : '",'}${JSON.stringify(key)}:"`);

  return (fields, rowNumber) => {
    if (fields.length < header.length) return built(fields, rowNumber);
    if (keys.length === 0) return '{}';
    if (!onlyColumns) return written(fields, rowNumber);
    let json = '';
    for (let k = 0; k < sources.length; k++) {
      const value = fields[sources[k] as number] as string;
      json += quotedParts[k] + (PLAIN_STRING.test(value) ? value : JSON.stringify(value).slice(1, -1));
    }
    return `${json}"}`;
  };
}

function line(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Runs tap-csv: for each selected stream, a SCHEMA message, a RECORD per data row of each file,
 * then a STATE with a bookmark for the stream. Yields Singer messages as lines ending in `\n`, one
 * per item. Files are read as streams; a slow consumer slows the reading.
 */
export async function* tapCsv(config: TapCsvConfig, options: TapCsvOptions): AsyncGenerator<string> {
  for await (const chunk of tapCsvChunks(config, options)) {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf('\n', start) + 1;
      yield chunk.slice(start, end);
      start = end;
    }
  }
}

/**
 * The bookmark a stream ends with, as the Singer SDK leaves a full-table stream's: the one it was
 * given (or `{}`), without the markers the SDK itself drops when a sync completes.
 */
function finalBookmark(given: unknown): Record<string, unknown> {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return {};
  const {
    progress_markers: _progress,
    starting_replication_value: _starting,
    replication_key_signpost: _signpost,
    ...kept
  } = given as Record<string, unknown>;
  return kept;
}

/**
 * `tapCsv`, yielding several whole lines per item: the RECORDs of the rows one read of a file
 * completes go together, so a pipeline pays for one asynchronous step per read, not per row.
 * Like MeltanoLabs' tap, every file of a stream is read with the first file's header, by
 * position (each file's own first row is skipped), and a blank line is an empty record.
 */
export async function* tapCsvChunks(config: TapCsvConfig, options: TapCsvOptions): AsyncGenerator<string> {
  const scope = await scopeOf(options);
  const defs = await resolveCsvFiles(config, scope);
  const addMetadata = config.add_metadata_columns === true;
  const bookmarks: Record<string, unknown> = { ...(options.state?.bookmarks ?? {}) };
  const log = options.log ?? (() => undefined);

  for (const def of defs) {
    let stream: CatalogStream;
    if (options.catalog) {
      const chosen = options.catalog.streams.find((s) => s.tap_stream_id === def.entity);
      if (chosen === undefined || !isStreamSelected(chosen)) continue;
      stream = chosen;
    } else {
      stream = await discoverStream(def, addMetadata, scope);
    }
    const selected = selectedProperties(stream);
    const properties = Object.fromEntries(
      Object.entries(stream.schema.properties ?? {}).filter(([name]) => selected.has(name)),
    );
    yield line({
      type: 'SCHEMA',
      stream: def.entity,
      schema: { ...stream.schema, properties },
      key_properties: stream.key_properties ?? def.keys,
    });

    // Each RECORD line is this prefix, the record, and `}\n`: what `line` makes of the message.
    const recordPrefix = `{"type":"RECORD","stream":${JSON.stringify(def.entity)},"record":`;
    const files = await csvFilesOf(def, scope, log);
    const header = await streamHeader(files, def, scope);
    for (const file of files) {
      // Opened once: its modification time and its rows come from the file that was checked.
      const opened = await openCsv(scope, file, def);
      const metadata = addMetadata
        ? await fileMetadata(file, opened.handle).catch(async (cause: unknown) => {
            await opened.handle.close();
            throw cause;
          })
        : undefined;
      const writeRecord = recordWriter(header, selected, metadata);
      let blankLines = 0;
      let firstBlank = 0;
      // Counts CSV rows, not physical lines, with the header as row 0: upstream's `_sdc_source_lineno`.
      let rowNumber = -1;
      for await (const rows of readRowBatches(opened, def)) {
        let parts: string[] = [];
        let size = 0;
        let count = 0;
        for (const row of rows) {
          rowNumber++;
          if (rowNumber === 0) continue;
          if (row.fields.length === 0 && blankLines++ === 0) firstBlank = row.line;
          const json = writeRecord(row.fields, rowNumber);
          parts.push(recordPrefix, json, '}\n');
          size += recordPrefix.length + json.length + 2;
          count++;
          if (size >= CHUNK_CHARS) {
            options.onRecords?.(def.entity, count);
            yield parts.join('');
            parts = [];
            size = 0;
            count = 0;
          }
        }
        if (count > 0) {
          options.onRecords?.(def.entity, count);
          yield parts.join('');
        }
      }
      if (blankLines > 0) {
        log(
          `tap-csv: ${file.sourceFile} has ${blankLines} blank line${blankLines === 1 ? '' : 's'} (the first on line ${firstBlank}): each became an empty record, as in MeltanoLabs tap-csv`,
        );
      }
    }
    bookmarks[def.entity] = finalBookmark(bookmarks[def.entity]);
    yield line({ type: 'STATE', value: { bookmarks: { ...bookmarks } } });
  }
}

/** The `_sdc_*` values of a file: its path as upstream names it, and its modification time. */
async function fileMetadata(file: CsvFile, handle: FileHandle): Promise<FileMetadata> {
  const { mtimeNs } = await handle.stat({ bigint: true });
  return { sourceFile: file.sourceFile, mtime: pythonMtime(mtimeNs) };
}
