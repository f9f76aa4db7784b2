import { SluiceError } from '../../errors.js';

/** How each batch reaches its table (the Singer SDK's `load_method`). */
export type LoadMethod = 'append-only' | 'upsert' | 'overwrite';
const LOAD_METHODS = ['append-only', 'upsert', 'overwrite'] as const satisfies readonly LoadMethod[];

/** libpq's `sslmode` values, which MeltanoLabs' `ssl_mode` takes. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
] as const satisfies readonly SslMode[];

/**
 * target-postgres's settings (MeltanoLabs variant, the one Meltano's Hub lists by default). Unknown
 * settings (`dialect+driver`, `use_copy`, `validate_records`, stream maps, ...) are ignored.
 */
export interface TargetPostgresConfig {
  /** Server host; ignored when `sqlalchemy_url` is set. */
  readonly host?: string;
  /** Server port; default 5432. */
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /** `postgresql[+driver]://user:password@host:port/database[?sslmode=...]`, instead of the fields above. */
  readonly sqlalchemy_url?: string;
  /** Schema for every table; default `melty`, as upstream. Empty: `<schema>-<table>` streams pick theirs. */
  readonly default_target_schema?: string;
  /** `append-only`, `upsert` or `overwrite`. Unset: streams with key properties are upserted, as upstream. */
  readonly load_method?: LoadMethod;
  /** Rows buffered (over all streams) before a load; default 100000. */
  readonly batch_size_rows?: number;
  /** Adds the Singer SDK's `_sdc_*` columns; default true, as upstream. */
  readonly add_record_metadata?: boolean;
  /** Applies ACTIVATE_VERSION messages (needs add_record_metadata); default true when metadata is on. */
  readonly activate_version?: boolean;
  /** Deletes rows instead of marking them in `_sdc_deleted_at`; default false. */
  readonly hard_delete?: boolean;
  /** Removes `\u0000` from records (PostgreSQL cannot store it); default false: such a record fails. */
  readonly sanitize_null_text_characters?: boolean;
  /** Encrypts the connection; default false (then SSL is used if the server offers it, unverified). */
  readonly ssl_enable?: boolean;
  /** With ssl_enable: default `verify-full`. */
  readonly ssl_mode?: SslMode;
  /** PEM text, or a file holding it; default: the system's trusted authorities. */
  readonly ssl_certificate_authority?: string;
  readonly ssl_client_certificate_enable?: boolean;
  /** PEM text or file; default `~/.postgresql/postgresql.crt`. */
  readonly ssl_client_certificate?: string;
  /** PEM text or file; default `~/.postgresql/postgresql.key`. */
  readonly ssl_client_private_key?: string;
  /** Not supported: refused when enabled. */
  readonly ssh_tunnel?: { readonly enable?: boolean };
}

/** A certificate or key: the PEM text itself, or a file (maybe `~/...` or relative) holding it. */
export type PemSource = { readonly pem: string } | { readonly path: string };

export interface PostgresSsl {
  readonly mode: SslMode;
  readonly ca?: PemSource;
  readonly cert?: PemSource;
  readonly key?: PemSource;
}

/** Where to connect. `password` must never reach a message. */
export interface PostgresEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string;
  readonly ssl: PostgresSsl;
  /** The settings that name the server, for messages. */
  readonly from: 'fields' | 'sqlalchemy_url';
}

/** The settings, checked, with defaults applied. */
export interface TargetPostgresSettings {
  readonly endpoint: PostgresEndpoint;
  /** Empty: derived from `<schema>-<table>` stream names, else `public`. */
  readonly defaultTargetSchema: string;
  readonly loadMethod: LoadMethod | undefined;
  readonly batchSizeRows: number;
  readonly recordMetadata: boolean;
  readonly activateVersion: boolean;
  readonly hardDelete: boolean;
  readonly sanitizeNullTextCharacters: boolean;
}

const DEFAULT_BATCH_SIZE_ROWS = 100_000;
const DEFAULT_PORT = 5432;

function settingError(setting: string, message: string): SluiceError {
  return new SluiceError('validation_failed', `target-postgres: ${message}`, { setting });
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}

// Meltano hands settings without a declared kind (environment variables, say) over as text.
function optionalBoolean(config: Record<string, unknown>, setting: string): boolean | undefined {
  const value = config[setting];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw settingError(setting, `'${setting}' must be true or false, found ${describe(value)}.`);
}

function optionalInteger(
  config: Record<string, unknown>,
  setting: string,
  min: number,
  max: number,
): number | undefined {
  const value = config[setting];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw settingError(
      setting,
      `'${setting}' must be an integer from ${min} to ${max}, found ${describe(value)}.`,
    );
  }
  return n;
}

function optionalString(config: Record<string, unknown>, setting: string): string | undefined {
  const value = config[setting];
  if (value === undefined || value === null) return undefined;
  // Never echo a secret back.
  const found = setting === 'password' ? `a ${typeof value}` : describe(value);
  if (typeof value !== 'string') throw settingError(setting, `'${setting}' must be text, found ${found}.`);
  return value;
}

function oneOf<T extends string>(
  config: Record<string, unknown>,
  setting: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(config, setting);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw settingError(
      setting,
      `'${setting}' must be one of ${allowed.join(', ')}; found ${describe(value)}.`,
    );
  }
  return value as T;
}

function pemSource(text: string | undefined): PemSource | undefined {
  if (text === undefined || text === '') return undefined;
  return text.includes('-----BEGIN') ? { pem: text } : { path: text };
}

/**
 * The URL with its password hidden, for messages. Everything up to the last `@` is the user
 * information (a password may hold an unencoded `@` or `/`), so nothing of it leaks.
 */
function redactUrl(url: string): string {
  const start = url.indexOf('://') + 3;
  const at = url.lastIndexOf('@');
  if (start < 3 || at < start) return url;
  const user = url.slice(start, at).split(':')[0] ?? '';
  return `${url.slice(0, start)}${user}:***${url.slice(at)}`;
}

/** Percent-decoding that keeps a malformed escape as it is (the server then says it is wrong). */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function endpointFromUrl(url: string): PostgresEndpoint {
  const match = /^(postgres|postgresql)(\+[a-z0-9_]+)?:\/\//i.exec(url);
  if (match === null) {
    throw settingError(
      'sqlalchemy_url',
      `'sqlalchemy_url' must be a PostgreSQL URL (postgresql://user:password@host:port/database), found '${redactUrl(url).slice(0, 60)}'.`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(`postgresql://${url.slice(match[0].length)}`);
  } catch {
    throw settingError(
      'sqlalchemy_url',
      `'sqlalchemy_url' is not a valid URL ('${redactUrl(url).slice(0, 60)}'). Percent-encode special characters in the user and password.`,
    );
  }
  const params = parsed.searchParams;
  const host = decode(parsed.hostname).replace(/^\[(.*)\]$/, '$1') || params.get('host') || '';
  const database = decode(parsed.pathname.replace(/^\//, '')) || params.get('dbname') || '';
  if (host === '' || database === '') {
    throw settingError(
      'sqlalchemy_url',
      `'sqlalchemy_url' must name a host and a database (postgresql://user:password@host:port/database), found '${redactUrl(url).slice(0, 60)}'.`,
    );
  }
  const sslmode = params.get('sslmode') ?? 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw settingError(
      'sqlalchemy_url',
      `'sqlalchemy_url' has sslmode '${sslmode}'; use one of ${SSL_MODES.join(', ')}.`,
    );
  }
  const portText = parsed.port || params.get('port');
  const port = portText ? Number(portText) : DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw settingError(
      'sqlalchemy_url',
      `'sqlalchemy_url' has port '${portText}'; use a number from 1 to 65535.`,
    );
  }
  const ssl: PostgresSsl = {
    mode: sslmode as SslMode,
    ...optionalPem('ca', params.get('sslrootcert')),
    ...optionalPem('cert', params.get('sslcert')),
    ...optionalPem('key', params.get('sslkey')),
  };
  return {
    host,
    port,
    user: parsed.username === '' ? undefined : decode(parsed.username),
    password: parsed.password === '' ? undefined : decode(parsed.password),
    database,
    ssl,
    from: 'sqlalchemy_url',
  };
}

function optionalPem<K extends 'ca' | 'cert' | 'key'>(key: K, text: string | null): { [P in K]?: PemSource } {
  const source = pemSource(text ?? undefined);
  return (source === undefined ? {} : { [key]: source }) as { [P in K]?: PemSource };
}

function endpointFromFields(config: Record<string, unknown>): PostgresEndpoint {
  const host = optionalString(config, 'host');
  if (host === undefined || host === '') {
    throw settingError(
      'host',
      "set 'host' (with 'port', 'user', 'password' and 'database'), or 'sqlalchemy_url'.",
    );
  }
  const database = optionalString(config, 'database');
  if (database === undefined || database === '') {
    throw settingError('database', "set 'database' to the database to load into (or use 'sqlalchemy_url').");
  }
  const sslEnable = optionalBoolean(config, 'ssl_enable') ?? false;
  const sslMode = oneOf(config, 'ssl_mode', SSL_MODES) ?? 'verify-full';
  const clientCertificate = optionalBoolean(config, 'ssl_client_certificate_enable') ?? false;
  // Without ssl_enable upstream leaves sslmode to libpq, whose default is `prefer`.
  const ssl: PostgresSsl = {
    mode: sslEnable ? sslMode : 'prefer',
    ...(sslEnable ? optionalPem('ca', optionalString(config, 'ssl_certificate_authority') ?? null) : {}),
    ...(clientCertificate
      ? {
          cert: pemSource(optionalString(config, 'ssl_client_certificate') ?? '~/.postgresql/postgresql.crt'),
          key: pemSource(optionalString(config, 'ssl_client_private_key') ?? '~/.postgresql/postgresql.key'),
        }
      : {}),
  };
  return {
    host,
    port: optionalInteger(config, 'port', 1, 65535) ?? DEFAULT_PORT,
    user: optionalString(config, 'user'),
    password: optionalString(config, 'password'),
    database,
    ssl,
    from: 'fields',
  };
}

/**
 * Checks target-postgres's settings and applies their defaults. Throws a `validation_failed`
 * SluiceError naming the setting; messages never include the password.
 */
export function resolveTargetPostgresConfig(config: TargetPostgresConfig): TargetPostgresSettings {
  const raw = config as Record<string, unknown>;
  const tunnel = raw.ssh_tunnel;
  if (
    typeof tunnel === 'object' &&
    tunnel !== null &&
    optionalBoolean(tunnel as Record<string, unknown>, 'enable')
  ) {
    throw settingError(
      'ssh_tunnel',
      "'ssh_tunnel' is not supported by Sluice's built-in target-postgres. Open the tunnel yourself (ssh -L) and point 'host' and 'port' at its local end.",
    );
  }
  const url = optionalString(raw, 'sqlalchemy_url');
  // As upstream: the URL, when set, overrides the separate fields and every ssl_* setting.
  const endpoint = url !== undefined && url !== '' ? endpointFromUrl(url) : endpointFromFields(raw);

  const metadata = optionalBoolean(raw, 'add_record_metadata') ?? true;
  const activateVersion = optionalBoolean(raw, 'activate_version');
  if (activateVersion === true && !metadata) {
    throw settingError(
      'activate_version',
      "'activate_version' needs 'add_record_metadata' (its _sdc_table_version and _sdc_deleted_at columns). Set add_record_metadata: true, or activate_version: false.",
    );
  }
  const schema = optionalString(raw, 'default_target_schema');
  return {
    endpoint,
    defaultTargetSchema: schema ?? 'melty',
    loadMethod: oneOf(raw, 'load_method', LOAD_METHODS),
    batchSizeRows:
      optionalInteger(raw, 'batch_size_rows', 1, Number.MAX_SAFE_INTEGER) ?? DEFAULT_BATCH_SIZE_ROWS,
    recordMetadata: metadata,
    activateVersion: activateVersion ?? metadata,
    hardDelete: optionalBoolean(raw, 'hard_delete') ?? false,
    sanitizeNullTextCharacters: optionalBoolean(raw, 'sanitize_null_text_characters') ?? false,
  };
}
