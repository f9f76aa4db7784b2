import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { SluiceError } from '../../errors.js';

/**
 * The session's staging table: every RECORD line of a batch, as it came, with its stream, input
 * line and arrival time. PostgreSQL parses the JSON (exactly: large integers and decimals keep
 * every digit), and the load converts it to the tables' columns.
 */
export const STAGE = 'pg_temp.sluice_stage';

// Writes are grouped to this size; each is awaited when the socket is full, so input waits on it.
const WRITE_BYTES = 256 * 1024;

// CSV with control characters as delimiter and quote: valid JSON never holds them raw, so a line
// goes into COPY as it is, without escaping.
const COPY_SQL = `COPY ${STAGE} (stream, line, received, m) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`;
const DELIMITER = '\x02';
const TEMP_BUFFERS = '128MB';

export async function createStage(client: pg.Client): Promise<void> {
  // Room for a batch in memory: the default (8MB) spills a batch of 100,000 rows to disk. Only
  // settable before the session's first use of a temporary table.
  await client.query(`SET temp_buffers = '${TEMP_BUFFERS}'`);
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS sluice_stage (stream integer NOT NULL, line bigint NOT NULL, received bigint NOT NULL, m jsonb NOT NULL)`,
  );
}

/** An open `COPY` into the staging table. */
export interface StageWriter {
  /** Adds a RECORD line (JSON without raw `\r`, `\x01` or `\x02`). */
  write(stream: number, line: number, received: string, json: string): Promise<void>;
  /** Ends the COPY; rejects with a message naming the input line if the server refused one. */
  end(): Promise<void>;
  /** Cancels the COPY (nothing of it is kept). */
  abort(): void;
}

interface CopyFailure {
  readonly code?: string;
  readonly message: string;
  readonly detail?: string;
  readonly where?: string;
}

/**
 * Starts a COPY into the staging table. Only one statement runs on a connection at a time: the
 * caller ends the COPY before any other query.
 */
export function startStage(client: pg.Client, streamName: (id: number) => string): StageWriter {
  const copy = client.query(copyFrom(COPY_SQL));
  let failure: unknown;
  copy.on('error', (cause) => {
    failure = cause;
  });
  // Input line and stream of each COPY row, to name the line PostgreSQL refused.
  const lines: number[] = [];
  const streams: number[] = [];
  let pending: string[] = [];
  let pendingBytes = 0;

  const refused = (cause: unknown): SluiceError => {
    const { code, message, detail, where } = cause as CopyFailure;
    // The context names the COPY row (after any JSON parser context line).
    const row = /COPY [^,]*, line (\d+)/.exec(where ?? '');
    const index = row === null ? -1 : Number(row[1]) - 1;
    const line = lines[index];
    if (line === undefined) {
      return new SluiceError('run_failed', `target-postgres: staging records failed: ${message}`, {
        cause: code,
      });
    }
    const stream = streamName(streams[index] as number);
    const problem = detail?.includes('\\u0000')
      ? 'the record holds a \\u0000 character, which PostgreSQL cannot store. Set sanitize_null_text_characters: true to remove such characters'
      : code === '22P05'
        ? `the record holds a character the database's encoding cannot store (${message})`
        : `the RECORD is not valid JSON (${message})`;
    return new SluiceError(
      'validation_failed',
      `target-postgres: input line ${line} (stream '${stream}'): ${problem}.`,
      {
        stream,
        line,
      },
    );
  };

  const send = async (): Promise<void> => {
    if (failure !== undefined) throw refused(failure);
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    pendingBytes = 0;
    if (!copy.write(text)) {
      try {
        if (failure === undefined) await once(copy, 'drain');
      } catch (cause) {
        throw refused(cause);
      }
    }
  };

  return {
    async write(stream, line, received, json) {
      const row = `${stream}${DELIMITER}${line}${DELIMITER}${received}${DELIMITER}${json}\n`;
      lines.push(line);
      streams.push(stream);
      pending.push(row);
      pendingBytes += row.length;
      if (pendingBytes >= WRITE_BYTES) await send();
    },
    async end() {
      await send();
      copy.end();
      try {
        await finished(copy);
      } catch (cause) {
        throw refused(failure ?? cause);
      }
      if (failure !== undefined) throw refused(failure);
    },
    abort() {
      if (!copy.destroyed) copy.destroy();
    },
  };
}
