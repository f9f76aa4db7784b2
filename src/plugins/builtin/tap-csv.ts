import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TextDecoder } from 'node:util';
import { SluiceError } from '../../errors.js';
import { type CsvRow, parseCsv } from './csv-parse.js';
import {
  type CatalogStream,
  isStreamSelected,
  type JsonSchema,
  type SingerCatalog,
  type SingerState,
  selectedProperties,
} from './singer-catalog.js';
import { type CsvFileDefinition, resolveCsvFiles, type TapCsvConfig } from './tap-csv-config.js';

export interface TapCsvOptions {
  /** Relative paths in the settings resolve against this directory (Meltano runs plugins there). */
  readonly projectRoot: string;
  /** A catalog with `selected` metadata; without one every stream and column is synced. */
  readonly catalog?: SingerCatalog;
  /** Incoming state: tap-csv has no incremental sync, but other streams' bookmarks are kept. */
  readonly state?: SingerState;
}

const SDC_SOURCE_FILE = '_sdc_source_file';
const SDC_SOURCE_FILE_MTIME = '_sdc_source_file_mtime';
const SDC_SOURCE_LINENO = '_sdc_source_lineno';

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

/** Decodes a file's bytes as they are read, so no more than one read buffer is held at a time. */
async function* decodeFile(file: string, def: CsvFileDefinition): AsyncGenerator<string> {
  const decoder = decoderFor(def);
  try {
    for await (const chunk of createReadStream(file)) {
      yield decoder.decode(chunk as Buffer, { stream: true });
    }
    yield decoder.decode();
  } catch (cause) {
    if (cause instanceof TypeError) {
      throw new SluiceError(
        'validation_failed',
        `tap-csv: ${file} is not valid ${def.encoding}. Set ${def.setting}.encoding to the file's encoding (for example "latin1").`,
        { setting: `${def.setting}.encoding`, file },
      );
    }
    throw cause;
  }
}

function readRows(file: string, def: CsvFileDefinition): AsyncGenerator<CsvRow> {
  return parseCsv(decodeFile(file, def), def.dialect, file);
}

async function walkCsvFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walkCsvFiles(full)));
    // Upstream reads only names ending in `.csv` (case-sensitive) and skips the rest.
    else if (entry.isFile() && entry.name.endsWith('.csv')) files.push(full);
  }
  return files;
}

/** The CSV files of one entry: the file itself, or every `.csv` under the folder, in name order. */
async function filesOf(def: CsvFileDefinition): Promise<readonly string[]> {
  const info = await stat(def.absolutePath).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return undefined;
    throw cause;
  });
  const where = `${def.setting}.path`;
  if (info === undefined) {
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${where}: '${def.configuredPath}' (resolved to ${def.absolutePath}) does not exist. Fix the path of stream '${def.entity}'.`,
      { setting: where, path: def.absolutePath },
    );
  }
  const files = info.isDirectory()
    ? await walkCsvFiles(def.absolutePath)
    : def.absolutePath.endsWith('.csv')
      ? [def.absolutePath]
      : [];
  if (files.length === 0) {
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${where}: stream '${def.entity}' has no file ending in '.csv' at ${def.absolutePath}.`,
      { setting: where, path: def.absolutePath },
    );
  }
  return files;
}

async function readHeader(file: string, def: CsvFileDefinition): Promise<readonly string[]> {
  for await (const row of readRows(file, def)) return row.fields;
  return [];
}

/** The stream as discovery describes it: the first file's header, every column a string. */
async function discoverStream(def: CsvFileDefinition, addMetadata: boolean): Promise<CatalogStream> {
  const [first] = await filesOf(def);
  const header = first === undefined ? [] : await readHeader(first, def);
  const missing = def.keys.filter((k) => !header.includes(k));
  if (missing.length > 0) {
    throw new SluiceError(
      'validation_failed',
      `tap-csv: ${def.setting}.keys: ${missing.map((k) => `'${k}'`).join(', ')} not among the columns of ${first} (${header.join(', ')}).`,
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
  options: { readonly projectRoot: string },
): Promise<SingerCatalog> {
  const defs = await resolveCsvFiles(config, options.projectRoot);
  const addMetadata = config.add_metadata_columns === true;
  const streams: CatalogStream[] = [];
  for (const def of defs) streams.push(await discoverStream(def, addMetadata));
  return { streams };
}

function line(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Runs tap-csv: for each selected stream, a SCHEMA message, a RECORD per data row of each file,
 * then a STATE with a bookmark for the stream. Yields Singer messages as lines ending in `\n`, so
 * the output can be piped as is. Files are read as streams; a slow consumer slows the reading.
 */
export async function* tapCsv(config: TapCsvConfig, options: TapCsvOptions): AsyncGenerator<string> {
  const defs = await resolveCsvFiles(config, options.projectRoot);
  const addMetadata = config.add_metadata_columns === true;
  const bookmarks: Record<string, unknown> = { ...(options.state?.bookmarks ?? {}) };

  for (const def of defs) {
    let stream: CatalogStream;
    if (options.catalog) {
      const chosen = options.catalog.streams.find((s) => s.tap_stream_id === def.entity);
      if (chosen === undefined || !isStreamSelected(chosen)) continue;
      stream = chosen;
    } else {
      stream = await discoverStream(def, addMetadata);
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

    for (const file of await filesOf(def)) {
      const sourceFile = join(def.configuredPath, relative(def.absolutePath, file));
      const mtime = addMetadata ? (await stat(file)).mtime.toISOString() : '';
      let header: readonly string[] | undefined;
      // Counts CSV rows, not physical lines, with the header as row 0: upstream's `_sdc_source_lineno`.
      let rowNumber = -1;
      for await (const row of readRows(file, def)) {
        rowNumber++;
        if (header === undefined) {
          header = row.fields;
          continue;
        }
        if (row.fields.length === 0) continue; // a blank line is no record
        const record: Record<string, string | number> = {};
        if (addMetadata) {
          if (selected.has(SDC_SOURCE_FILE)) record[SDC_SOURCE_FILE] = sourceFile;
          if (selected.has(SDC_SOURCE_FILE_MTIME)) record[SDC_SOURCE_FILE_MTIME] = mtime;
          if (selected.has(SDC_SOURCE_LINENO)) record[SDC_SOURCE_LINENO] = rowNumber;
        }
        // Like Python's zip: a short row leaves columns out, a long row's extra fields are dropped.
        const n = Math.min(header.length, row.fields.length);
        for (let i = 0; i < n; i++) {
          const column = header[i] as string;
          if (selected.has(column)) record[column] = row.fields[i] as string;
        }
        yield line({ type: 'RECORD', stream: def.entity, record });
      }
    }
    bookmarks[def.entity] = {};
    yield line({ type: 'STATE', value: { bookmarks: { ...bookmarks } } });
  }
}
