import type pg from 'pg';
import { SluiceError } from '../../errors.js';
import { pathScope } from '../confined-paths.js';
import { parseMessage, type SchemaMessage } from '../singer/messages.js';
import { isRecordLine, recordStream } from '../singer/record-lines.js';
import { tableShape } from './postgres-columns.js';
import {
  type LoadMethod,
  resolveTargetPostgresConfig,
  type TargetPostgresConfig,
  type TargetPostgresSettings,
} from './postgres-config.js';
import { connectPostgres, scrubPassword } from './postgres-connect.js';
import { activateVersion, loadBatch, type StreamLoad } from './postgres-load.js';
import { createStage, type StageWriter, startStage } from './postgres-stage.js';
import { type PreparedTable, prepareTable, type WriteMode } from './postgres-tables.js';

export interface TargetPostgresOptions {
  /** Relative certificate files (ssl_*) resolve against this directory. */
  readonly projectRoot: string;
  /** On a server: certificate files must stay inside the project folder, after links (`confined-paths.ts`). */
  readonly confinePaths?: boolean;
}

interface StreamState {
  /** The stream's id in the staging table. */
  readonly id: number;
  table: PreparedTable;
  /** Rows staged since the last load. */
  rows: number;
  /** Emptied already in this run (load_method overwrite). */
  truncated: boolean;
}

// `\u0000` escapes not preceded by another backslash (`\\u0000` is a backslash, then text).
const NUL_ESCAPE = /(?<=(?:^|[^\\])(?:\\\\)*)\\u0000/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the staging COPY's row end, quote and delimiter.
const COPY_UNSAFE = /[\r\x01\x02]/;

function error(message: string, details: Record<string, unknown> = {}): SluiceError {
  return new SluiceError('validation_failed', `target-postgres: ${message}`, details);
}

/** The line as COPY takes it: raw `\r` only occurs between tokens of valid JSON, so it is a space. */
function stageable(line: string, lineNumber: number, sanitize: boolean): string {
  const text = sanitize && line.includes('\\u0000') ? line.replace(NUL_ESCAPE, '') : line;
  if (!COPY_UNSAFE.test(text)) return text;
  // Raw control characters are invalid JSON anywhere else: this throws for them.
  parseMessage(text, lineNumber, 'target-postgres input');
  return text.replaceAll('\r', ' ');
}

function writeMode(stream: string, keys: readonly string[], loadMethod: LoadMethod | undefined): WriteMode {
  if (loadMethod === 'append-only') return 'append';
  if (keys.length > 0) return 'upsert';
  if (loadMethod === 'upsert') {
    throw error(
      `stream '${stream}' has no key properties, and load_method 'upsert' needs them. Set its keys in the extractor (metadata: table-key-properties), or set load_method: append-only.`,
      { stream, setting: 'load_method' },
    );
  }
  return 'append';
}

/**
 * Runs target-postgres: one table per stream (created, or widened, from SCHEMA messages), loaded
 * in batches of `batch_size_rows`. RECORD lines are not parsed here: each goes, as it came, into
 * a `COPY` to a session staging table while input is read, and each batch moves from there to
 * the tables in one transaction, PostgreSQL converting the JSON to the column types (exactly:
 * large numbers keep every digit; a value of the wrong type fails the batch, naming stream,
 * column and line). Streams with key properties are upserted (the last record of a key in a
 * batch wins), so a rerun does not duplicate rows, unless load_method says append-only;
 * overwrite empties each table in the transaction of its first batch.
 *
 * `emitState` receives a STATE's value only once every record before it is committed: a STATE
 * that arrives with rows pending is held until the next load (a later one replaces it). Staging
 * writes wait on the socket, so a slow database slows the producer and memory stays bounded.
 */
export async function targetPostgres(
  config: TargetPostgresConfig,
  input: AsyncIterable<string>,
  emitState: (state: unknown) => void,
  options: TargetPostgresOptions,
): Promise<void> {
  const settings = resolveTargetPostgresConfig(config);
  const scope = await pathScope({ root: options.projectRoot, confined: options.confinePaths === true });
  const client = await connectPostgres(settings.endpoint, scope);
  // The input's own failures (a tap that died, say) pass through as they are.
  let inputFailure: unknown;
  const tracked = (async function* () {
    try {
      yield* input;
    } catch (cause) {
      inputFailure = cause;
      throw cause;
    }
  })();
  try {
    await createStage(client);
    await run(client, settings, tracked, emitState);
  } catch (cause) {
    if (cause instanceof SluiceError || (inputFailure !== undefined && cause === inputFailure)) throw cause;
    // A lost connection or a server error outside a load: never a data problem of ours.
    const message = scrubPassword(settings.endpoint, cause instanceof Error ? cause.message : String(cause));
    throw new SluiceError('run_failed', `target-postgres: ${message}`, {
      cause: (cause as { code?: string }).code,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Reads the messages: stages records, prepares tables, loads batches, passes states on. */
async function run(
  client: pg.Client,
  settings: TargetPostgresSettings,
  input: AsyncIterable<string>,
  emitState: (state: unknown) => void,
): Promise<void> {
  const streams = new Map<string, StreamState>();
  const names: string[] = [];
  const syncStartedAt = Date.now();
  let stage: StageWriter | undefined;
  let rows = 0;
  let heldState: { value: unknown } | undefined;

  // With `overwrite`, the table is emptied with the run's first batch: a state saved before the
  // run ends would let a failed run resume into a table holding only the rows after it. So
  // states are held until the last batch is committed.
  const holdUntilEnd = settings.loadMethod === 'overwrite';
  const flush = async (final = false): Promise<void> => {
    if (stage !== undefined) {
      const open = stage;
      stage = undefined;
      await open.end();
    }
    if (rows > 0) {
      const loads: StreamLoad[] = [];
      for (const state of streams.values()) {
        if (state.rows === 0) continue;
        const truncate = settings.loadMethod === 'overwrite' && !state.truncated;
        loads.push({ table: state.table, id: state.id, truncate });
      }
      await loadBatch(client, loads, { hardDelete: settings.hardDelete });
      for (const state of streams.values()) {
        if (state.rows > 0 && settings.loadMethod === 'overwrite') state.truncated = true;
        state.rows = 0;
      }
      rows = 0;
    }
    if (heldState !== undefined && (final || !holdUntilEnd)) {
      const { value } = heldState;
      heldState = undefined;
      emitState(value);
    }
  };

  const prepare = async (message: SchemaMessage): Promise<void> => {
    const shape = tableShape(message.stream, message.schema, message.key_properties, {
      defaultSchema: settings.defaultTargetSchema,
      metadata: settings.recordMetadata,
      syncStartedAt,
    });
    const mode = writeMode(message.stream, message.key_properties, settings.loadMethod);
    const table = await prepareTable(client, message.stream, shape, mode);
    const state = streams.get(message.stream);
    if (state !== undefined) {
      state.table = table;
      return;
    }
    streams.set(message.stream, { id: names.length, table, rows: 0, truncated: false });
    names.push(message.stream);
  };

  try {
    let lineNumber = 0;
    for await (const item of input) {
      const received = String(Date.now());
      const lines = (item.endsWith('\n') ? item.slice(0, -1) : item).split('\n');
      for (const text of lines) {
        lineNumber++;
        const line = text.trim();
        if (line === '') continue;
        if (isRecordLine(line)) {
          const stream = recordStream(line, lineNumber, 'target-postgres input');
          const state = streams.get(stream);
          if (state === undefined) {
            throw error(
              `input line ${lineNumber}: RECORD for stream '${stream}' before its SCHEMA. The tap must send a SCHEMA first.`,
              { stream, line: lineNumber },
            );
          }
          stage ??= startStage(client, (id) => names[id] ?? String(id));
          await stage.write(
            state.id,
            lineNumber,
            received,
            stageable(line, lineNumber, settings.sanitizeNullTextCharacters),
          );
          state.rows++;
          rows++;
          if (rows >= settings.batchSizeRows) await flush();
          continue;
        }
        const message = parseMessage(line, lineNumber, 'target-postgres input');
        if (message.type === 'SCHEMA') {
          // Pending rows are loaded with the table as it was before this SCHEMA changes it.
          if (rows > 0) await flush();
          await prepare(message);
        } else if (message.type === 'STATE') {
          if (rows === 0 && !holdUntilEnd) emitState(message.value);
          else heldState = { value: message.value };
        } else if (message.type === 'ACTIVATE_VERSION') {
          const state = streams.get(message.stream);
          if (!settings.activateVersion || state === undefined) continue;
          // Rows of the new version must be in before older ones go.
          await flush();
          await activateVersion(client, state.table, message.version, { hardDelete: settings.hardDelete });
        } else if (message.type === 'BATCH') {
          throw error(
            `input line ${lineNumber}: BATCH messages (stream '${message.stream}') are not supported. Turn off the tap's batch_config so it sends RECORD messages.`,
            { stream: message.stream, line: lineNumber },
          );
        }
      }
    }
    await flush(true);
  } catch (cause) {
    // Cancels the COPY, so nothing staged after the last load survives.
    stage?.abort();
    throw cause;
  }
}
