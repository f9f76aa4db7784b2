import type { Kysely } from 'kysely';
import { insertLogLines, type RunLogLineRow } from '../store/runs.js';
import type { Database, RunStatus } from '../store/schema.js';

/** One line of a run's log, as stored and as streamed. */
export interface LogLine {
  readonly seq: number;
  readonly at: string;
  readonly text: string;
}

export type LogEvent =
  | { readonly kind: 'line'; readonly line: LogLine }
  | { readonly kind: 'end'; readonly status: RunStatus };

type Listener = (event: LogEvent) => void;

/** Lines are written to the database in batches: at most this many, or this often. */
const FLUSH_LINES = 500;
const FLUSH_MS = 200;
/** Longer lines are cut: one runaway plugin line must not fill the database. */
const MAX_LINE = 16 * 1024;
/** Lines of an active run kept in memory once written to the database. */
const KEEP_IN_MEMORY = 5000;

/**
 * The log of one active run: each line is redacted, numbered, handed to live listeners at once
 * and written to the database in batches. Recent lines (and all not yet written) stay in memory
 * while the run is active, so a listener that joins late reads what it missed from here and the
 * database, never from a half-flushed table.
 */
export class RunLog {
  readonly lines: LogLine[] = [];
  private pending: RunLogLineRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<Listener>();
  private seq: number;
  /** The last line written to the database. */
  private flushedSeq = 0;
  private endStatus: RunStatus | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readonly runId: string,
    private readonly redact: (text: string) => string,
    lastSeq: number,
    /** Told after each batch is in the database: followers in other processes read it from there. */
    private readonly onStored: () => void = () => undefined,
  ) {
    this.seq = lastSeq;
  }

  write(raw: string): void {
    const text = this.redact(raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)} [cut]` : raw);
    const line: LogLine = { seq: ++this.seq, at: new Date().toISOString(), text };
    this.lines.push(line);
    this.pending.push({ run_id: this.runId, ...line });
    for (const listener of this.listeners) listener({ kind: 'line', line });
    if (this.pending.length >= FLUSH_LINES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Starts writing the pending lines; writes happen one after another, in order. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      // Each batch is written whatever happened to the one before (a busy database): one failed
      // write loses that batch only, and is retried once.
      this.writing = this.writing.then(async () => {
        try {
          await insertLogLines(this.db, batch);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
          await insertLogLines(this.db, batch).catch((error: unknown) => {
            console.error(`run ${this.runId}: ${batch.length} log lines could not be stored:`, error);
          });
        }
        this.flushedSeq = batch[batch.length - 1]?.seq ?? this.flushedSeq;
        this.trim();
        this.onStored();
      });
    }
    return this.writing;
  }

  /**
   * Memory keeps the lines not yet in the database and the last ones written: enough for a
   * listener joining late, which reads anything older from the database.
   */
  private trim(): void {
    const excess = this.lines.length - KEEP_IN_MEMORY;
    if (excess <= 0) return;
    let drop = 0;
    while (drop < excess && (this.lines[drop]?.seq ?? Number.POSITIVE_INFINITY) <= this.flushedSeq) drop++;
    this.lines.splice(0, drop);
  }

  subscribe(listener: Listener): () => void {
    // A listener that comes after the end still learns of it.
    if (this.endStatus !== undefined) {
      listener({ kind: 'end', status: this.endStatus });
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes what is left, then tells listeners the run ended. */
  async end(status: RunStatus): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.endStatus = status;
      for (const listener of this.listeners) listener({ kind: 'end', status });
      this.listeners.clear();
    }
  }
}

/** The logs of the runs active in this process, by run id. */
export class RunLogHub {
  private readonly active = new Map<string, RunLog>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onStored: (runId: string) => void = () => undefined,
  ) {}

  open(runId: string, redact: (text: string) => string, lastSeq: number): RunLog {
    const log = new RunLog(this.db, runId, redact, lastSeq, () => this.onStored(runId));
    this.active.set(runId, log);
    return log;
  }

  get(runId: string): RunLog | undefined {
    return this.active.get(runId);
  }

  async close(log: RunLog, status: RunStatus): Promise<void> {
    try {
      await log.end(status);
    } finally {
      this.active.delete(log.runId);
    }
  }
}
