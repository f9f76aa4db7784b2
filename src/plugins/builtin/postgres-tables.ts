import type pg from 'pg';
import { SluiceError } from '../../errors.js';
import { type PostgresType, quoteIdentifier, type TableShape } from './postgres-columns.js';

/** Appended as they come, or upserted on the key columns (the last record of a key wins). */
export type WriteMode = 'append' | 'upsert';

/** A stream's table, created or widened to its SCHEMA. */
export interface PreparedTable {
  readonly stream: string;
  readonly shape: TableShape;
  /** `"schema"."table"`, quoted. */
  readonly qualified: string;
  readonly mode: WriteMode;
  /** Existing columns whose type differs from the one we would create: values are cast to theirs. */
  readonly casts: ReadonlyMap<string, string>;
}

// `format_type` names of the types we create, to compare with an existing table's columns.
const FORMAT_TYPE: Record<PostgresType, string> = {
  bigint: 'bigint',
  numeric: 'numeric',
  boolean: 'boolean',
  text: 'text',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  time: 'time without time zone',
  jsonb: 'jsonb',
};

function error(message: string, details: Record<string, unknown>): SluiceError {
  return new SluiceError('validation_failed', `target-postgres: ${message}`, details);
}

async function existingColumns(
  client: pg.Client,
  qualified: string,
): Promise<Map<string, string> | undefined> {
  const result = await client.query<{ name: string; type: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM (SELECT to_regclass($1) AS oid) t
       LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE t.oid IS NOT NULL`,
    [qualified],
  );
  if (result.rows.length === 0) return undefined;
  return new Map(result.rows.filter((r) => r.type !== null).map((r) => [r.name, r.type as string]));
}

/** Whether a unique index (or primary key) covers exactly `keys`, as ON CONFLICT needs. */
async function hasUniqueKey(client: pg.Client, qualified: string, keys: readonly string[]): Promise<boolean> {
  const result = await client.query(
    `SELECT 1 FROM pg_index i
      WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
        AND i.indnkeyatts = $3
        AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
              WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])) = $2::text[]`,
    [qualified, [...keys].sort(), keys.length],
  );
  return result.rows.length > 0;
}

/**
 * Creates the stream's schema and table (key columns as primary key when upserting), or adds the
 * columns a SCHEMA gained to an existing table; existing columns keep their types. Upserting into
 * an existing table without a unique key on the key columns creates one.
 */
export async function prepareTable(
  client: pg.Client,
  stream: string,
  shape: TableShape,
  mode: WriteMode,
): Promise<PreparedTable> {
  const schema = quoteIdentifier(shape.schema);
  const qualified = `${schema}.${quoteIdentifier(shape.table)}`;
  const schemaExists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [shape.schema]);
  // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
  if (schemaExists.rows.length === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);

  const definitions = shape.columns.map((c) => `${quoteIdentifier(c.name)} ${c.type}`);
  const existing = await existingColumns(client, qualified);
  const casts = new Map<string, string>();
  if (existing === undefined) {
    const primaryKey =
      mode === 'upsert' ? [`PRIMARY KEY (${shape.keys.map(quoteIdentifier).join(', ')})`] : [];
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${qualified} (${[...definitions, ...primaryKey].join(', ')})`,
    );
  } else {
    for (const column of shape.columns) {
      const type = existing.get(column.name);
      if (type === undefined) {
        await client.query(
          `ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(column.name)} ${column.type}`,
        );
      } else if (type !== FORMAT_TYPE[column.type]) {
        casts.set(column.name, type);
      }
    }
    if (mode === 'upsert' && !(await hasUniqueKey(client, qualified, shape.keys))) {
      const keys = shape.keys.map(quoteIdentifier).join(', ');
      try {
        await client.query(`CREATE UNIQUE INDEX ON ${qualified} (${keys})`);
      } catch (cause) {
        if ((cause as { code?: string }).code !== '23505') throw cause;
        throw error(
          `table ${qualified} already holds rows with the same ${keys}, so stream '${stream}' cannot be upserted on those keys. Remove the duplicates, or set load_method: append-only.`,
          { stream, table: qualified },
        );
      }
    }
  }
  return { stream, shape, qualified, mode, casts };
}
