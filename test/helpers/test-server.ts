import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { type RunningServer, startServer } from '../../src/server/serve.js';
import { testSandboxSettings } from './sandbox.js';

const run = promisify(execFile);

/** The PostgreSQL that the machine and CI provide (trust auth). */
export const POSTGRES_ADMIN_URL =
  process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * The metadata stores the server suites run on: SQLite always, PostgreSQL when it answers. Under CI
 * (CI=true) PostgreSQL must answer: a suite that silently skipped it would prove nothing.
 */
export async function storeKinds(): Promise<('sqlite' | 'postgres')[]> {
  if (await postgresReachable()) return ['sqlite', 'postgres'];
  if (process.env.CI === 'true')
    throw new Error(`PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL}, and CI=true requires it.`);
  console.warn(`PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL}: server tests run on SQLite only.`);
  return ['sqlite'];
}

/** A fresh, empty PostgreSQL database for one suite: its name, its URL, and how to drop it. */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `sluice_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  // A copy of the run's migrated template (test/global-setup.ts) when there is one.
  const template = process.env.SLUICE_TEST_POSTGRES_TEMPLATE;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
      break;
    } catch (error) {
      // Two copies of one template at the same instant: PostgreSQL refuses one; it tries again.
      if (!/being accessed by other users/.test((error as Error).message) || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly adminToken: string;
  readonly dataDir: string;
  /** The PostgreSQL database of this server (unset for SQLite). */
  readonly databaseUrl?: string;
  close(): Promise<void>;
}

/** A real server on a random loopback port, with a fresh data folder and (for PostgreSQL) a fresh database. */
export async function startTestServer(kind: 'sqlite' | 'postgres'): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-server-'));
  const database = kind === 'postgres' ? await createTestDatabase() : undefined;
  const databaseUrl = database?.url;
  const adminToken = `test-admin-${randomBytes(12).toString('hex')}`;
  // The scheduler's own clock never fires in tests: they call its tick with the time they want.
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    databaseUrl,
    adminToken,
    schedulerTickMs: 24 * 3600 * 1000,
    sandbox: await testSandboxSettings(),
  });
  return {
    server,
    url: server.url,
    adminToken,
    dataDir,
    databaseUrl,
    close: async () => {
      await server.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Calls the API with a token; answers status and parsed body. */
export async function api(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  rawBody?: string,
) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
  return { status: response.status, body: json as any };
}

/**
 * A token the admin issues: scoped to `workspaces` (ids, or `*`), read-only or read-write. What a
 * tenant holds, in the tests that play one; fails the test when the server refuses it.
 */
export async function issueToken(
  base: string,
  adminToken: string,
  options: {
    readonly name: string;
    readonly workspaces: readonly string[] | '*';
    readonly access: 'read' | 'write' | 'approve';
  },
): Promise<string> {
  const answer = await api(base, adminToken, 'POST', '/tokens', options);
  if (answer.status !== 201)
    throw new Error(`The server refused the token: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.token;
}

/** Variables that make stock `git` ignore this machine's configuration and never prompt. */
export const GIT_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: tmpdir(),
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

/**
 * Runs stock `git` asynchronously (the server under test runs in this process, so a blocking call
 * would deadlock it). Answers output and exit code; never throws on a git failure.
 */
export async function git(
  cwd: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('git', [...args], {
      cwd,
      env: GIT_ENV,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A repository URL with a token as the basic-auth password, as a user would paste it. */
export function withToken(repositoryUrl: string, token: string): string {
  const url = new URL(repositoryUrl);
  url.username = 'sluice';
  url.password = token;
  return url.toString();
}
