import type pg from 'pg';
import { SluiceError } from '../../errors.js';
import { type Column, quoteIdentifier } from './postgres-columns.js';
import { STAGE } from './postgres-stage.js';
import type { PreparedTable } from './postgres-tables.js';

/** One stream's share of a batch. */
export interface StreamLoad {
  readonly table: PreparedTable;
  /** The stream's id in the staging table. */
  readonly id: number;
  /** Empties the table first (load_method overwrite, first batch of the run). */
  readonly truncate: boolean;
}

const VALUE_EXCERPT = 80;

interface DatabaseError {
  readonly code?: string;
  readonly message: string;
  readonly detail?: string;
}

/** The stream's staged rows as `s`, its record extracted once per row (OFFSET 0 keeps it so). */
function source(id: number, lines?: readonly [number, number]): string {
  const range = lines === undefined ? '' : ` AND s0.line BETWEEN ${lines[0]} AND ${lines[1]}`;
  return `(SELECT s0.line, s0.received, s0.m, s0.m->'record' AS r FROM ${STAGE} s0 WHERE s0.stream = ${id}${range} OFFSET 0) s`;
}

function value(table: PreparedTable, column: Column): string {
  const cast = table.casts.get(column.name);
  return cast === undefined ? column.value : `(${column.value})::${cast}`;
}

function mergeSql(table: PreparedTable, id: number): string {
  const { columns, keys } = table.shape;
  const names = columns.map((c) => quoteIdentifier(c.name));
  const values = columns.map((c) => value(table, c));
  const insert = `INSERT INTO ${table.qualified} (${names.join(', ')})`;
  if (table.mode === 'append') return `${insert} SELECT ${values.join(', ')} FROM ${source(id)}`;
  // One row per key, the last in input order: ON CONFLICT cannot update a row twice in a statement.
  const aliases = columns.map((_, i) => `c${i}`);
  const keyAliases = keys.map((k) => `x.c${columns.findIndex((c) => c.name === k)}`);
  const staged = `SELECT s.line AS sluice_line, ${values.map((v, i) => `${v} AS ${aliases[i]}`).join(', ')} FROM ${source(id)}`;
  const latest = `SELECT DISTINCT ON (${keyAliases.join(', ')}) ${aliases.map((a) => `x.${a}`).join(', ')} FROM (${staged}) x ORDER BY ${keyAliases.join(', ')}, x.sluice_line DESC`;
  const updates = columns
    .filter((c) => !keys.includes(c.name))
    .map((c) => `${quoteIdentifier(c.name)} = EXCLUDED.${quoteIdentifier(c.name)}`);
  const action = updates.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${updates.join(', ')}`;
  return `${insert} ${latest} ON CONFLICT (${keys.map(quoteIdentifier).join(', ')}) ${action}`;
}

/** Runs `sql` in a savepoint: whether it failed, and how; the transaction stays usable. */
async function attempt(client: pg.Client, sql: string): Promise<DatabaseError | undefined> {
  await client.query('SAVEPOINT sluice_attempt');
  try {
    await client.query(sql);
    await client.query('RELEASE SAVEPOINT sluice_attempt');
    return undefined;
  } catch (cause) {
    await client.query('ROLLBACK TO SAVEPOINT sluice_attempt');
    return cause as DatabaseError;
  }
}

/** Fails when any listed column of the staged rows in `lines` does not convert. */
function convertsSql(
  table: PreparedTable,
  id: number,
  columns: readonly Column[],
  lines: [number, number],
): string {
  return `SELECT count(ROW(${columns.map((c) => value(table, c)).join(', ')})) FROM ${source(id, lines)}`;
}

/**
 * Which value made a load fail with a data error: bisects the staged lines for the first one that
 * does not convert, then tries its columns one by one. Names stream, column, input line and value.
 */
async function diagnose(client: pg.Client, load: StreamLoad): Promise<SluiceError | undefined> {
  const { table, id } = load;
  const columns = table.shape.columns;
  const bounds = await client.query<{ lo: string | null; hi: string | null }>(
    `SELECT min(line) AS lo, max(line) AS hi FROM ${STAGE} WHERE stream = ${id}`,
  );
  let lo = Number(bounds.rows[0]?.lo ?? Number.NaN);
  const last = Number(bounds.rows[0]?.hi ?? Number.NaN);
  if (
    Number.isNaN(lo) ||
    (await attempt(client, convertsSql(table, id, columns, [lo, last]))) === undefined
  ) {
    return undefined;
  }
  let hi = last;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await attempt(client, convertsSql(table, id, columns, [lo, mid]))) !== undefined) hi = mid;
    else lo = mid + 1;
  }
  for (const column of columns) {
    if (column.source === undefined) continue;
    const problem = await attempt(client, convertsSql(table, id, [column], [lo, lo]));
    if (problem === undefined) continue;
    const found = await client.query<{ value: string | null }>(
      `SELECT (${column.source})::text AS value FROM ${source(id, [lo, lo])}`,
    );
    const text = found.rows[0]?.value ?? 'nothing';
    const excerpt = text.length > VALUE_EXCERPT ? `${text.slice(0, VALUE_EXCERPT)}…` : text;
    // Our own rejection of a JSON type says nothing more; PostgreSQL's conversion errors do.
    const why = problem.message.includes('sluice: unexpected JSON') ? '' : ` (${problem.message})`;
    return new SluiceError(
      'validation_failed',
      `target-postgres: stream '${table.stream}', column '${column.name}', input line ${lo}: expected ${column.expected}, found ${excerpt}${why}. Nothing of this batch was loaded.`,
      { stream: table.stream, column: column.name, line: lo, table: table.qualified },
    );
  }
  return undefined;
}

function loadError(load: StreamLoad, failure: DatabaseError): SluiceError {
  const { table } = load;
  const detail = failure.detail === undefined ? '' : ` ${failure.detail}`;
  const hint =
    failure.code === '23505' && table.mode === 'append'
      ? ' The table has a unique key: leave load_method unset, or set it to upsert, to update rows with the same key.'
      : failure.code === '23502'
        ? ' A key property is null in some record.'
        : '';
  return new SluiceError(
    // No SQLSTATE, or a connection class one: the server or the network, not the data.
    failure.code === undefined || /^(08|57)/.test(failure.code) ? 'run_failed' : 'validation_failed',
    `target-postgres: loading stream '${table.stream}' into ${table.qualified} failed: ${failure.message}.${detail}${hint} Nothing of this batch was loaded.`,
    {
      stream: table.stream,
      table: table.qualified,
      ...(failure.code === undefined ? {} : { cause: failure.code }),
    },
  );
}

/**
 * Loads a batch from the staging table into the streams' tables in one transaction, then empties
 * the staging table. On failure nothing of the batch is kept, and a data error names the stream,
 * column, input line and value.
 */
export async function loadBatch(
  client: pg.Client,
  loads: readonly StreamLoad[],
  options: { readonly hardDelete: boolean },
): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const load of loads) {
      const { table } = load;
      if (load.truncate) await client.query(`TRUNCATE ${table.qualified}`);
      const failure = await attempt(client, mergeSql(table, load.id));
      if (failure !== undefined) {
        const diagnosed = failure.code?.startsWith('22') ? await diagnose(client, load) : undefined;
        throw diagnosed ?? loadError(load, failure);
      }
      if (options.hardDelete && table.shape.columns.some((c) => c.name === '_sdc_deleted_at')) {
        await client.query(`DELETE FROM ${table.qualified} WHERE "_sdc_deleted_at" IS NOT NULL`);
      }
    }
    await client.query(`TRUNCATE ${STAGE}`);
    await client.query('COMMIT');
  } catch (cause) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw cause;
  }
}

/**
 * ACTIVATE_VERSION: rows of older versions (or none) are deleted with hard_delete, else marked in
 * `_sdc_deleted_at`, as upstream.
 */
export async function activateVersion(
  client: pg.Client,
  table: PreparedTable,
  version: number,
  options: { readonly hardDelete: boolean },
): Promise<void> {
  const old = `("_sdc_table_version" IS NULL OR "_sdc_table_version" < ${version})`;
  await client.query(
    options.hardDelete
      ? `DELETE FROM ${table.qualified} WHERE ${old}`
      : `UPDATE ${table.qualified} SET "_sdc_deleted_at" = now() WHERE ${old} AND "_sdc_deleted_at" IS NULL`,
  );
}
