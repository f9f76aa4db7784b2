import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { SluiceError } from '../../errors.js';
import { openForReading, outsideError, type PathScope, resolveSetting } from '../confined-paths.js';
import type { PemSource, PostgresEndpoint, PostgresSsl } from './postgres-config.js';

// Without it a silent network drop waits for the operating system's TCP timeout (minutes).
const CONNECT_TIMEOUT_MS = 30_000;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
]);
const NO_SSL_MESSAGE = 'The server does not support SSL connections';

/** `host:port/database`, for messages. */
function describeServer(endpoint: PostgresEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}/${endpoint.database}`;
}

/** Hides the password, should a message ever quote it. */
export function scrubPassword(endpoint: PostgresEndpoint, text: string): string {
  const password = endpoint.password;
  return password !== undefined && password.length >= 3 ? text.replaceAll(password, '***') : text;
}

/** Reads a certificate or key file; confined, only one inside the project folder (`confined-paths.ts`). */
async function readPem(source: PemSource | undefined, setting: string, scope: PathScope) {
  if (source === undefined) return undefined;
  if ('pem' in source) return source.pem;
  if (scope.confined) {
    const where = { plugin: 'target-postgres', setting, value: source.path };
    if (source.path.startsWith('~/')) throw outsideError(where, "is in the server's home folder");
    const handle = await openForReading(scope, await resolveSetting(scope, where), where);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  }
  const path = source.path.startsWith('~/')
    ? join(homedir(), source.path.slice(2))
    : isAbsolute(source.path)
      ? source.path
      : resolve(scope.root, source.path);
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new SluiceError(
      'validation_failed',
      `target-postgres: cannot read '${setting}' from ${path} (${(cause as NodeJS.ErrnoException).code ?? 'unreadable'}). Give the PEM text itself or a readable file.`,
      { setting, path },
    );
  }
}

/** The `ssl` option of each connection attempt, in libpq's order for the mode. */
async function sslAttempts(
  endpoint: PostgresEndpoint,
  scope: PathScope,
): Promise<readonly (false | ConnectionOptions)[]> {
  const ssl: PostgresSsl = endpoint.ssl;
  const fromUrl = endpoint.from === 'sqlalchemy_url';
  const ca = await readPem(ssl.ca, fromUrl ? 'sqlalchemy_url' : 'ssl_certificate_authority', scope);
  const cert = await readPem(ssl.cert, fromUrl ? 'sqlalchemy_url' : 'ssl_client_certificate', scope);
  const key = await readPem(ssl.key, fromUrl ? 'sqlalchemy_url' : 'ssl_client_private_key', scope);
  const client = { ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  const unverified: ConnectionOptions = { ...client, rejectUnauthorized: false };
  const verifyCa: ConnectionOptions = {
    ...client,
    ...(ca === undefined ? {} : { ca }),
    rejectUnauthorized: true,
    // verify-ca checks the chain, not the host name.
    checkServerIdentity: () => undefined,
  };
  switch (ssl.mode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, unverified];
    case 'prefer':
      return [unverified, false];
    case 'require':
      // As libpq: with a root certificate given, `require` verifies the chain.
      return [ca === undefined ? unverified : verifyCa];
    case 'verify-ca':
      return [verifyCa];
    case 'verify-full':
      return [{ ...client, ...(ca === undefined ? {} : { ca }), rejectUnauthorized: true }];
  }
}

function errorCode(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  const { code, errors } = cause as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  // Node reports a failure on every address of a host (IPv6 and IPv4) as one AggregateError.
  if (Array.isArray(errors)) return errorCode(errors[0]);
  return undefined;
}

function causeMessage(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message === '' ? (errorCode(cause) ?? 'unknown error') : message;
}

/** A connection failure as a message that says what to check. */
function connectionError(endpoint: PostgresEndpoint, cause: unknown): SluiceError {
  const server = describeServer(endpoint);
  const where = `${endpoint.host}:${endpoint.port}`;
  const user = endpoint.user === undefined ? 'the default user' : `user '${endpoint.user}'`;
  const code = errorCode(cause);
  const message = causeMessage(cause);
  const settings = (fields: string) =>
    endpoint.from === 'sqlalchemy_url' ? `'sqlalchemy_url' (${fields})` : fields;
  let text: string;
  if ((code !== undefined && NETWORK_CODES.has(code)) || /timeout/i.test(message)) {
    text = `cannot reach PostgreSQL at ${where} (${code ?? message}). Check ${settings("'host' and 'port'")}, and that the server is running and accepts TCP connections from this machine.`;
  } else if (code === '28P01') {
    text = `PostgreSQL at ${where} rejected the password of ${user}. Check ${settings("'user' and 'password'")}.`;
  } else if (code === '28000') {
    text = `PostgreSQL at ${where} refused ${user} for database '${endpoint.database}': ${message}. Check ${settings("'user' and 'database'")}, and the server's pg_hba.conf.`;
  } else if (code === '3D000') {
    text = `database '${endpoint.database}' does not exist on the PostgreSQL server at ${where}. Check ${settings("'database'")}, or create the database.`;
  } else if (message.includes('SSL') || message.includes('certificate')) {
    text = `cannot open an encrypted connection to PostgreSQL at ${where}: ${message}. Check ${endpoint.from === 'sqlalchemy_url' ? "the sslmode in 'sqlalchemy_url'" : "'ssl_enable', 'ssl_mode' and 'ssl_certificate_authority'"}.`;
  } else {
    text = `cannot connect to PostgreSQL at ${server} as ${user}: ${message}. Check ${settings("'host', 'port', 'user', 'password' and 'database'")}.`;
  }
  return new SluiceError('run_failed', scrubPassword(endpoint, `target-postgres: ${text}`), {
    host: endpoint.host,
    port: endpoint.port,
    database: endpoint.database,
    ...(endpoint.user === undefined ? {} : { user: endpoint.user }),
    ...(code === undefined ? {} : { cause: code }),
  });
}

/**
 * Whether the next attempt of an ordered list (libpq's `allow`/`prefer`) may follow this failure:
 * the server has no SSL, or its pg_hba.conf refuses this kind of connection (28000).
 */
function fallsBack(ssl: false | ConnectionOptions, cause: unknown): boolean {
  return errorCode(cause) === '28000' || (ssl !== false && causeMessage(cause).includes(NO_SSL_MESSAGE));
}

/**
 * Opens a connection as the settings say, with libpq's `sslmode` semantics. Failures become a
 * `run_failed` SluiceError saying what to check (host and port, user and password, database).
 * Sessions use UTC, so values written to `timestamp without time zone` columns are UTC.
 */
export async function connectPostgres(endpoint: PostgresEndpoint, scope: PathScope): Promise<pg.Client> {
  const attempts = await sslAttempts(endpoint, scope);
  let failure: unknown;
  for (const ssl of attempts) {
    const client = new pg.Client({
      host: endpoint.host,
      port: endpoint.port,
      ...(endpoint.user === undefined ? {} : { user: endpoint.user }),
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      database: endpoint.database,
      ssl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: 'sluice target-postgres',
    });
    // A connection dropped while idle is reported on the next query; this keeps it from crashing.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query("SET TimeZone = 'UTC'");
      return client;
    } catch (cause) {
      await client.end().catch(() => undefined);
      failure = cause;
      if (!fallsBack(ssl, cause)) break;
    }
  }
  throw connectionError(endpoint, failure);
}
