import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * What one process tells the others about runs: new log lines are in the database, a run
 * ended, or someone asked to cancel a run (whichever process executes it stops it).
 */
export type RunEvent =
  | { readonly kind: 'log'; readonly runId: string }
  | { readonly kind: 'end'; readonly runId: string }
  | { readonly kind: 'cancel'; readonly runId: string; readonly by: string };

export interface RunEvents {
  publish(event: RunEvent): void;
  /** Calls `listener` with every event, from this process and (on PostgreSQL) from the others. */
  subscribe(listener: (event: RunEvent) => void): () => void;
  close(): Promise<void>;
}

/** Events within one process: the embedded default, where one process does everything. */
export class LocalRunEvents implements RunEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: RunEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: RunEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** The PostgreSQL driver loads only when this is used, as in store/open-store.ts. */
const lazyRequire = createRequire(import.meta.url);

const CHANNEL = 'sluice_runs';
/** How long a lost LISTEN connection waits before it connects again. */
const RECONNECT_MS = 1000;

/**
 * Events between every process on one PostgreSQL database, with `LISTEN/NOTIFY`: a server shows a
 * run that a worker on another machine executes as it happens, and a cancel reaches that worker.
 * Delivery is best effort (a notification sent while a listener reconnects is lost), so a
 * follower also checks the database now and then (see server/routes/runs.ts).
 */
export class PostgresRunEvents implements RunEvents {
  private readonly local = new LocalRunEvents();
  private client: import('pg').Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly connectionString: string,
  ) {}

  static async open(db: Kysely<Database>, connectionString: string): Promise<PostgresRunEvents> {
    const events = new PostgresRunEvents(db, connectionString);
    await events.listen();
    return events;
  }

  private async listen(): Promise<void> {
    const { Client } = lazyRequire('pg') as typeof import('pg');
    const client = new Client({ connectionString: this.connectionString });
    const retry = () => {
      if (this.closed || this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.reconnectTimer = setTimeout(() => {
        this.listen().catch(retry);
      }, RECONNECT_MS);
      this.reconnectTimer.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        this.local.publish(JSON.parse(message.payload) as RunEvent);
      } catch {
        // Not one of ours: ignored.
      }
    });
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
  }

  publish(event: RunEvent): void {
    // Delivered to this process's listeners by the notification itself, like everyone else's.
    sql`select pg_notify(${CHANNEL}, ${JSON.stringify(event)})`.execute(this.db).catch(() => {
      this.local.publish(event);
    });
  }

  subscribe(listener: (event: RunEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    await this.local.close();
  }
}
