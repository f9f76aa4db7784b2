import { isAbsolute, resolve } from 'node:path';
import { SluiceError } from '../../errors.js';
import { openForReading, type PathScope, resolveSetting } from '../confined-paths.js';
import { type CsvDialect, DEFAULT_DIALECT } from './csv-parse.js';

/** One entry of tap-csv's `files` setting, as MeltanoLabs/tap-csv documents it. */
export interface CsvFileSetting {
  readonly entity: string;
  readonly path: string;
  readonly keys?: readonly string[];
  readonly encoding?: string;
  readonly delimiter?: string;
  readonly doublequote?: boolean;
  readonly escapechar?: string | null;
  readonly quotechar?: string;
  readonly skipinitialspace?: boolean;
  readonly strict?: boolean;
}

/** tap-csv's settings (MeltanoLabs variant). */
export interface TapCsvConfig {
  readonly files?: readonly CsvFileSetting[];
  /** A JSON file holding the `files` list; when set, it replaces `files` (as upstream does). */
  readonly csv_files_definition?: string;
  /** Adds `_sdc_source_file`, `_sdc_source_file_mtime` and `_sdc_source_lineno` to every record. */
  readonly add_metadata_columns?: boolean;
}

/** A `files` entry checked and resolved: what the tap reads. */
export interface CsvFileDefinition {
  readonly entity: string;
  /** The path as configured, for `_sdc_source_file` (upstream reports the path it was given). */
  readonly configuredPath: string;
  readonly absolutePath: string;
  readonly keys: readonly string[];
  readonly encoding: string;
  readonly dialect: CsvDialect;
  /** Which setting this came from, e.g. `files[2]`, for error messages. */
  readonly setting: string;
}

function invalid(message: string, details: Record<string, unknown> = {}): SluiceError {
  return new SluiceError('validation_failed', `tap-csv: ${message}`, details);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneChar(entry: Record<string, unknown>, key: string, where: string, fallback: string): string {
  const value = entry[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || value.length !== 1) {
    throw invalid(`${where}.${key} must be a single character, got ${JSON.stringify(value)}.`, {
      setting: `${where}.${key}`,
    });
  }
  return value;
}

function flag(entry: Record<string, unknown>, key: string, where: string, fallback: boolean): boolean {
  const value = entry[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    throw invalid(`${where}.${key} must be true or false, got ${JSON.stringify(value)}.`, {
      setting: `${where}.${key}`,
    });
  }
  return value;
}

function checkEntry(entry: unknown, where: string, projectRoot: string): CsvFileDefinition {
  if (!isRecord(entry)) {
    throw invalid(`${where} must be an object with entity, path and keys.`, { setting: where });
  }
  for (const key of ['entity', 'path'] as const) {
    const value = entry[key];
    if (typeof value !== 'string' || value === '') {
      throw invalid(`${where}.${key} is required (a non-empty string).`, { setting: `${where}.${key}` });
    }
  }
  const keys = entry.keys ?? [];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw invalid(`${where}.keys must be a list of column names.`, { setting: `${where}.keys` });
  }
  const encoding = entry.encoding ?? 'utf-8';
  if (typeof encoding !== 'string') {
    throw invalid(`${where}.encoding must be a string such as "utf-8" or "latin1".`, {
      setting: `${where}.encoding`,
    });
  }
  const escapechar =
    entry.escapechar === undefined || entry.escapechar === null
      ? null
      : oneChar(entry, 'escapechar', where, '');
  const path = entry.path as string;
  return {
    entity: entry.entity as string,
    configuredPath: path,
    absolutePath: isAbsolute(path) ? path : resolve(projectRoot, path),
    keys,
    encoding,
    dialect: {
      delimiter: oneChar(entry, 'delimiter', where, DEFAULT_DIALECT.delimiter),
      quotechar: oneChar(entry, 'quotechar', where, DEFAULT_DIALECT.quotechar),
      doublequote: flag(entry, 'doublequote', where, DEFAULT_DIALECT.doublequote),
      escapechar,
      skipinitialspace: flag(entry, 'skipinitialspace', where, DEFAULT_DIALECT.skipinitialspace),
      strict: flag(entry, 'strict', where, DEFAULT_DIALECT.strict),
    },
    setting: where,
  };
}

/** The largest `csv_files_definition` file read: a list of files is a few kilobytes. */
const MAX_DEFINITION_BYTES = 16 * 1024 * 1024;

/**
 * The `files` list in the `csv_files_definition` file. Messages never quote the file's text (a
 * JSON error says where, not what), and on a server they never show where the file is.
 */
async function readDefinitionFile(value: string, scope: PathScope): Promise<unknown> {
  const where = { plugin: 'tap-csv', setting: 'csv_files_definition', value };
  const shown = scope.confined ? `'${value}'` : `'${value}' (resolved to ${resolve(scope.root, value)})`;
  let text: string;
  try {
    const handle = await openForReading(scope, await resolveSetting(scope, where), where);
    try {
      const { size } = await handle.stat();
      if (size > MAX_DEFINITION_BYTES) {
        throw invalid(
          `csv_files_definition: ${shown} is ${size} bytes, more than the ${MAX_DEFINITION_BYTES} tap-csv reads.`,
          { setting: 'csv_files_definition' },
        );
      }
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (cause) {
    if (cause instanceof SluiceError) throw cause;
    throw invalid(
      `csv_files_definition: cannot read ${shown} (${(cause as NodeJS.ErrnoException).code ?? 'error'}). Point the setting at a JSON file holding the list of files.`,
      { setting: 'csv_files_definition' },
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    const at = /position (\d+)/.exec((cause as Error).message)?.[1];
    throw invalid(
      `csv_files_definition: ${shown} is not valid JSON${at === undefined ? '' : ` (at character ${at})`}. It must hold a list of {entity, path, keys} objects.`,
      { setting: 'csv_files_definition' },
    );
  }
}

/**
 * The file definitions tap-csv reads: from `csv_files_definition` when set (it wins over `files`,
 * as upstream), else from `files`. Relative paths, in both places, resolve against the project
 * root, which is where Meltano runs its plugins.
 */
export async function resolveCsvFiles(
  config: TapCsvConfig,
  scope: PathScope,
): Promise<readonly CsvFileDefinition[]> {
  let entries: unknown = config.files;
  let source = 'files';
  if (config.csv_files_definition) {
    entries = await readDefinitionFile(config.csv_files_definition, scope);
    source = 'csv_files_definition';
  }
  if (entries === undefined || entries === null || (Array.isArray(entries) && entries.length === 0)) {
    throw invalid(
      'no CSV files are configured. Set `files` (a list of {entity, path, keys}) or `csv_files_definition` (a path to a JSON file holding that list).',
      { setting: 'files' },
    );
  }
  if (!Array.isArray(entries)) {
    throw invalid(`${source} must be a list of {entity, path, keys} objects.`, { setting: source });
  }
  return entries.map((entry, i) => checkEntry(entry, `${source}[${i}]`, scope.root));
}
