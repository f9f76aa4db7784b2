import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresRunQueue } from '../src/runs/postgres-run-queue.js';
import { openStore } from '../src/store/open-store.js';

const ADMIN_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let template: string | undefined;

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Once per test run: a PostgreSQL database with Sluice's and the run queue's migrations applied,
 * which each suite's fresh database copies (test/helpers/test-server.ts) instead of migrating
 * again (about 0.8 s each). Without PostgreSQL, nothing: the suites decide what that means.
 */
export async function setup(): Promise<void> {
  const name = `sluice_template_${randomBytes(6).toString('hex')}`;
  try {
    await admin((client) => client.query(`CREATE DATABASE ${name}`));
  } catch {
    return;
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-template-'));
  try {
    const store = await openStore({ databaseUrl: url.toString(), dataDir });
    await PostgresRunQueue.open(store.db, url.toString());
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  template = name;
  // The test processes start after this and inherit it.
  process.env.SLUICE_TEST_POSTGRES_TEMPLATE = name;
}

export async function teardown(): Promise<void> {
  if (!template) return;
  const name = template;
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
