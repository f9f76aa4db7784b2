import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  Kysely,
  type Migration,
  Migrator,
  PostgresDialect,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
} from 'kysely';
import { SluiceError } from '../errors.js';
import { allowDirectReads } from './compiled-query.js';
import * as initial from './migrations/0001-initial.js';
import * as promotions from './migrations/0002-promotions.js';
import * as state from './migrations/0003-state.js';
import * as secrets from './migrations/0004-secrets.js';
import * as runs from './migrations/0005-runs.js';
import * as uniqueWorkspaceNames from './migrations/0006-unique-workspace-names.js';
import * as workers from './migrations/0007-workers.js';
import * as audit from './migrations/0008-audit.js';
import * as upstream from './migrations/0009-upstream.js';
import * as approvals from './migrations/0010-approvals.js';
import type { Database } from './schema.js';

/** Database drivers load only when a store opens (the CLI's other commands never need them). */
const lazyRequire = createRequire(import.meta.url);

export type StoreKind = 'sqlite' | 'postgres';

/** The metadata database, migrated to the latest version. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  close(): Promise<void>;
}

/** Versioned migrations, applied in name order; a released migration is never edited. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-promotions': promotions,
  '0003-state': state,
  '0004-secrets': secrets,
  '0005-runs': runs,
  '0006-unique-workspace-names': uniqueWorkspaceNames,
  '0007-workers': workers,
  '0008-audit': audit,
  '0009-upstream': upstream,
  '0010-approvals': approvals,
};

export interface StoreOptions {
  /** `postgres://...` for PostgreSQL; otherwise SQLite in the data folder. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
}

/** Opens (creating if needed) and migrates the metadata database. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const { databaseUrl } = options;
  let db: Kysely<Database>;
  let kind: StoreKind;
  let connectionsClosed = async () => {};
  if (databaseUrl && /^postgres(ql)?:\/\//.test(databaseUrl)) {
    const pg = lazyRequire('pg') as typeof import('pg');
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    // An idle connection the database drops (a restart, an administrator) is only logged: the pool
    // opens a new one on the next query, and an unhandled 'error' event would stop the server.
    pool.on('error', (error) => {
      console.error(`sluice: the metadata database closed an idle connection: ${error.message}`);
    });
    // A connection in use when it is dropped emits 'error' on its client, where the pool listens
    // only while it is idle: unheard, that event stops the server. The query running on it is
    // rejected with the same error (the request answers 503, see store/database-errors.ts) and the
    // pool discards the client when it is released, so the event itself needs nothing more.
    pool.on('connect', (client) => {
      client.on('error', () => {});
      prepareOnce(client);
    });
    connectionsClosed = trackConnections(pool);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    kind = 'postgres';
  } else if (databaseUrl && !databaseUrl.startsWith('sqlite:')) {
    throw new SluiceError(
      'usage',
      `SLUICE_DATABASE_URL must start with postgres:// (or sqlite:PATH), not '${databaseUrl.replace(/:[^:@/]*@/, ':***@')}'.`,
    );
  } else {
    const SQLite = lazyRequire('better-sqlite3') as typeof import('better-sqlite3');
    mkdirSync(options.dataDir, { recursive: true });
    const file = databaseUrl?.startsWith('sqlite:')
      ? databaseUrl.slice('sqlite:'.length)
      : join(options.dataDir, 'sluice.db');
    const database = openOwnedSqlite(SQLite, file);
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: keepingStatements(database) }) });
    allowDirectReads(db, (sql) => {
      const statement = database.prepare(sql);
      if (!statement.reader) return undefined;
      // Kysely runs a transaction's statements on this one connection across awaits: a read in
      // between would see its writes before they are committed, so it waits its turn instead.
      return (parameters) => (database.inTransaction ? undefined : statement.all(parameters));
    });
    kind = 'sqlite';
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw error;
  }
  return {
    db,
    kind,
    close: async () => {
      await db.destroy();
      await connectionsClosed();
    },
  };
}

/**
 * Opens the embedded database for this process alone. The embedded mode is one server: its run
 * queue, promotion locks and schedules live in its memory, so a second server on the same file
 * would run them twice. An exclusive lock, held until the server stops, makes that impossible,
 * and it spares every query the file locks a shared database takes (SQLite then keeps WAL's
 * index in memory, not in a `-shm` file): most of what the small reads each request makes cost.
 */
function openOwnedSqlite(
  SQLite: typeof import('better-sqlite3'),
  file: string,
): import('better-sqlite3').Database {
  // A server that is stopping (a restart) holds the lock a moment longer: wait for it that long.
  const database = new SQLite(file, { timeout: 3000 });
  try {
    database.pragma('locking_mode = EXCLUSIVE');
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new SluiceError(
        'database_unavailable',
        `Another Sluice server is using the database ${file}: one server runs on an embedded (SQLite) database. Stop the other one, or give this one its own --data-dir. Several servers share a PostgreSQL database (SLUICE_DATABASE_URL).`,
        { file },
      );
    }
    throw error;
  }
  return database;
}

/** Statements kept per SQLite database: far more than the queries the server runs often. */
const KEPT_STATEMENTS = 256;

/**
 * better-sqlite3 as Kysely sees it, keeping prepared statements by their text: Kysely prepares
 * one for every query it runs, and preparing costs more than running the small queries that every
 * request makes (the token, the workspace). Kysely runs one query at a time on its one SQLite
 * connection, so a statement is never used twice at once; SQLite prepares one again by itself
 * when a migration changes the schema.
 */
function keepingStatements(database: import('better-sqlite3').Database): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => database.close(),
    prepare: (sql) => {
      const kept = statements.get(sql);
      if (kept) {
        // Most recently used last: the first key is the one to drop.
        statements.delete(sql);
        statements.set(sql, kept);
        return kept;
      }
      const statement = database.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > KEPT_STATEMENTS) statements.delete(statements.keys().next().value as string);
      return statement;
    },
  };
}

/** Statements one PostgreSQL connection keeps prepared, at most: far more than the server's frequent queries. */
const PREPARED_STATEMENTS = 200;

/** The data statements worth preparing; others (migrations' DDL, `begin`) run as they are. */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * Makes a pg connection prepare each statement Kysely runs (text and values) once, under a name:
 * without one, PostgreSQL parses and plans the text on every run, which costs several times what
 * running the small queries of every request does. Should the shape of a prepared statement's
 * result change (a newer server's migration added a column), PostgreSQL refuses to run it: it is
 * then run as text, and prepared again under a new name the next time.
 */
function prepareOnce(client: import('pg').PoolClient): void {
  const names = new Map<string, string>();
  let made = 0;
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const prepared = (...args: unknown[]): Promise<unknown> => {
    const [text, values] = args;
    if (args.length !== 2 || typeof text !== 'string' || !Array.isArray(values) || !PREPARABLE.test(text))
      return query(...args);
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= PREPARED_STATEMENTS) return query(text, values);
      name = `sluice_${++made}`;
      names.set(text, name);
    }
    return query({ name, text, values }).catch((error: unknown) => {
      // 0A000 "cached plan must not change result type": refused before it ran, so it can run again.
      if ((error as { code?: unknown }).code !== '0A000') throw error;
      names.delete(text);
      return query(text, values);
    });
  };
  (client as unknown as { query: typeof prepared }).query = prepared;
}

/** How long a close waits for PostgreSQL to acknowledge the end of each connection. */
const CONNECTION_END_WAIT_MS = 5000;

/**
 * pg's `pool.end()` resolves once it has asked each connection to end, not when they have ended.
 * A caller that drops the database right after (tests) would then kill live connections, so a
 * close also waits, briefly, for the pool to report every connection removed.
 */
function trackConnections(pool: import('pg').Pool): () => Promise<void> {
  let open = 0;
  let allEnded: (() => void) | undefined;
  pool.on('connect', () => {
    open += 1;
  });
  pool.on('remove', () => {
    open -= 1;
    if (open === 0) allEnded?.();
  });
  return async () => {
    if (open === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CONNECTION_END_WAIT_MS);
      allEnded = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  };
}

/** True for a unique-constraint violation on either database. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
