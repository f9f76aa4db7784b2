import { SluiceError } from '../errors.js';

/** How long a caller should wait before retrying after the database dropped its connection. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/**
 * SQLSTATEs of a connection that ended or could not be had: the administrator terminated it
 * (57P01, `pg_terminate_backend`), the server is restarting or full, or the link broke (08xxx).
 * Serialization failures and deadlocks (40001, 40P01) succeed when tried again, too.
 */
const TRANSIENT_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '40001',
  '40P01',
]);

/** Socket errors on the way to the database. */
const TRANSIENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * What pg says, without a code, when the connection under a query is gone or it gave up waiting
 * for one: "Connection terminated unexpectedly", "Client has encountered a connection error and is
 * not queryable", "timeout exceeded when trying to connect".
 */
const TRANSIENT_PG_MESSAGE =
  /^Connection terminated|is not queryable|timeout exceeded when trying to connect/;

function isTransient(error: Error, code: unknown): boolean {
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SOCKET_CODES.has(code)) return true;
    // SQLite: another connection holds the lock beyond busy_timeout.
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return true;
  }
  return TRANSIENT_PG_MESSAGE.test(error.message);
}

/**
 * The user-facing error for a database failure that is not the server's bug, or undefined:
 * - the connection was dropped or the database is busy: `database_unavailable` (503, retry);
 * - PostgreSQL refused a value (SQLSTATE class 22: a NUL character, a string longer than its
 *   column, an invalid number): `validation_failed` (400). Input is checked where it enters; this
 *   keeps a value that slipped past from becoming a 500.
 */
export function databaseErrorAsSluiceError(error: unknown): SluiceError | undefined {
  if (!(error instanceof Error) || error instanceof SluiceError) return undefined;
  const code = (error as { code?: unknown }).code;
  if (isTransient(error, code)) {
    // The driver's own words stay in the server's log: they can name the database's address.
    return new SluiceError(
      'database_unavailable',
      `The metadata database dropped the connection or is busy, so this request may not have been carried out. Try again in ${DATABASE_RETRY_AFTER_SECONDS} seconds.`,
      {
        retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
        ...(typeof code === 'string' ? { cause: code } : {}),
      },
    );
  }
  if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) && 'severity' in error) {
    return new SluiceError(
      'validation_failed',
      `A value in the request cannot be stored: ${error.message}.`,
      {
        sqlstate: code,
      },
    );
  }
  return undefined;
}
