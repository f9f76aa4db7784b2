import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SluiceError } from '../../errors.js';
import { makeFolder, openForWriting, pathScope, resolveSetting } from '../confined-paths.js';

/** target-jsonl's settings (andyh1203 variant), with the defaults Meltano's plugin definition gives. */
export interface TargetJsonlConfig {
  /** Folder for the output files; default `output`. */
  readonly destination_path?: string;
  /** Adds `-YYYYMMDDTHHMMSS` (local time, one per run) to every file name; default false. */
  readonly do_timestamp_file?: boolean;
  /** File name instead of the stream name: every stream then appends to that one file. */
  readonly custom_name?: string;
  /** Writes every input message, unchanged, to one file named `custom_name` or `target_jsonl`. */
  readonly raw?: boolean;
}

export interface TargetJsonlOptions {
  /** A relative `destination_path` resolves against this directory (Meltano runs plugins there). */
  readonly projectRoot: string;
  /**
   * On a server: the folder and every file must stay inside the project folder, after links
   * (`confined-paths.ts`); a stream name or `custom_name` must then be one plain file name.
   */
  readonly confinePaths?: boolean;
  /** The clock for `do_timestamp_file`; tests pass a fixed one. */
  readonly now?: () => Date;
}

// Writes are batched to this size: large enough to make few system calls, small enough that
// back-pressure reaches the producer quickly.
const FLUSH_BYTES = 256 * 1024;

interface OutputFile {
  readonly handle: FileHandle;
  pending: string[];
  pendingBytes: number;
  /** Written since the last fsync. */
  dirty: boolean;
}

function timestampPart(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}T${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

function badLine(lineNumber: number, message: string): SluiceError {
  return new SluiceError('validation_failed', `target-jsonl: input line ${lineNumber}: ${message}`, {
    line: lineNumber,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function writeOut(file: OutputFile): Promise<void> {
  if (file.pending.length === 0) return;
  const text = file.pending.join('');
  file.pending = [];
  file.pendingBytes = 0;
  await file.handle.write(text);
  file.dirty = true;
}

/**
 * Runs target-jsonl: appends each RECORD's `record` as a JSON line to `<stream>.jsonl` (or the
 * `custom_name` / timestamped name) under `destination_path`. `input` yields Singer messages, one
 * or more whole lines per item (a trailing `\n` is optional), as `readline` or `tapCsv` produce.
 *
 * `emitState` receives each STATE's `value` only once every record before it is written and
 * fsynced, so a resumed run never skips records that were not stored. Writing is awaited before
 * the next input is read, so a slow disk slows the producer instead of filling memory.
 */
export async function targetJsonl(
  config: TargetJsonlConfig,
  input: AsyncIterable<string>,
  emitState: (state: unknown) => void,
  options: TargetJsonlOptions,
): Promise<void> {
  const destination = config.destination_path ?? 'output';
  const scope = await pathScope({ root: options.projectRoot, confined: options.confinePaths === true });
  const folderSetting = { plugin: 'target-jsonl', setting: 'destination_path', value: destination };
  const folder = await resolveSetting(scope, folderSetting);
  const stamp = config.do_timestamp_file === true ? timestampPart((options.now ?? (() => new Date()))()) : '';
  const raw = config.raw === true;

  const byName = new Map<string, OutputFile>();
  const byStream = new Map<string, OutputFile>();

  /** `from` says where the name came from, for messages: `custom_name`, or the stream. */
  const openFile = async (baseName: string, from: string): Promise<OutputFile> => {
    const fileName = `${baseName}${stamp}.jsonl`;
    const existing = byName.get(fileName);
    if (existing) return existing;
    await makeFolder(scope, folder, folderSetting);
    // Append, as upstream does: a rerun without a timestamp adds to the file.
    const file: OutputFile = {
      handle: await openForWriting(
        scope,
        folder,
        fileName,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
        { plugin: 'target-jsonl', setting: from, value: fileName },
      ),
      pending: [],
      pendingBytes: 0,
      dirty: false,
    };
    byName.set(fileName, file);
    return file;
  };

  const append = async (file: OutputFile, text: string): Promise<void> => {
    file.pending.push(text);
    file.pendingBytes += text.length;
    if (file.pendingBytes >= FLUSH_BYTES) await writeOut(file);
  };

  const makeDurable = async (): Promise<void> => {
    for (const file of byName.values()) {
      await writeOut(file);
      if (file.dirty) {
        await file.handle.datasync();
        file.dirty = false;
      }
    }
  };

  const nameSource = (stream: string) =>
    config.custom_name === undefined ? `the file name of stream '${stream}'` : 'custom_name';
  const rawFile = raw ? await openFile(config.custom_name ?? 'target_jsonl', 'custom_name') : undefined;
  let lineNumber = 0;
  try {
    for await (const item of input) {
      const lines = (item.endsWith('\n') ? item.slice(0, -1) : item).split('\n');
      for (const text of lines) {
        lineNumber++;
        const trimmed = text.trim();
        if (trimmed === '') continue;
        let message: unknown;
        try {
          message = JSON.parse(trimmed);
        } catch (cause) {
          throw badLine(lineNumber, `not valid JSON (${(cause as Error).message}).`);
        }
        if (!isRecord(message) || typeof message.type !== 'string') {
          throw badLine(lineNumber, 'not a Singer message (an object with a "type").');
        }
        if (rawFile) await append(rawFile, `${trimmed}\n`);

        if (message.type === 'SCHEMA') {
          if (typeof message.stream !== 'string') throw badLine(lineNumber, 'SCHEMA without a "stream".');
          if (!raw)
            byStream.set(
              message.stream,
              await openFile(config.custom_name ?? message.stream, nameSource(message.stream)),
            );
          else byStream.set(message.stream, rawFile as OutputFile);
        } else if (message.type === 'RECORD') {
          if (typeof message.stream !== 'string') throw badLine(lineNumber, 'RECORD without a "stream".');
          const file = byStream.get(message.stream);
          if (file === undefined) {
            throw badLine(
              lineNumber,
              `RECORD for stream '${message.stream}' before its SCHEMA. The tap must send a SCHEMA first.`,
            );
          }
          if (!raw) await append(file, `${JSON.stringify(message.record)}\n`);
        } else if (message.type === 'STATE') {
          await makeDurable();
          emitState(message.value);
        }
        // Other messages (ACTIVATE_VERSION, BATCH, ...) carry nothing this target stores.
      }
    }
    await makeDurable();
  } finally {
    // On failure the records after the last STATE are not written: no state vouches for them.
    await Promise.all([...byName.values()].map((f) => f.handle.close()));
  }
}
