import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Rows of `sql` in a database file, as JSON-friendly objects. From the instance cache, as the
 * target opens it: another instance on a file open in this process would not see its commits.
 */
export async function queryDuckdb(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.fromCache(file);
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
