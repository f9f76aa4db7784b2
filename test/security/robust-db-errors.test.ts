import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import {
  api,
  createTestDatabase,
  issueToken,
  POSTGRES_ADMIN_URL,
  storeKinds,
} from '../helpers/test-server.js';

const kinds = await storeKinds();

interface Answer {
  readonly what: string;
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finding 9: with PostgreSQL, a connection dropped while a request uses it (an administrator's
 * `pg_terminate_backend`, a failover) killed `sluice serve` with "Emitted 'error' event on Client
 * instance". The server runs as its own process here, so that its death shows.
 */
describe.runIf(kinds.includes('postgres'))('a PostgreSQL connection dropped in the middle of traffic', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let server: ServerProcess;
  const adminToken = `admin-${randomBytes(24).toString('hex')}`;
  let workspaceId: string;
  let writer: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-robust-db-'));
    server = await startServerProcess({ dataDir, adminToken, databaseUrl: database.url });
    workspaceId = (await api(server.url, adminToken, 'POST', '/workspaces', { name: 'Busy' })).body.id;
    writer = await issueToken(server.url, adminToken, {
      name: 'busy writer',
      workspaces: [workspaceId],
      access: 'write',
    });
  });
  afterAll(async () => {
    await server?.crash();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After to the requests it hit, never crashes, and serves on', async () => {
    const answers: Answer[] = [];
    const failures: string[] = [];
    let stop = false;
    const requests: [string, string, string, unknown?][] = [
      ['GET', '/workspaces', adminToken],
      ['GET', `/workspaces/${workspaceId}`, writer],
      ['PUT', `/workspaces/${workspaceId}/state/dev:tap-to-target`, writer, { singer_state: { n: 1 } }],
      ['GET', `/workspaces/${workspaceId}/state`, writer],
      ['GET', '/tokens', adminToken],
    ];
    const traffic = async (lane: number) => {
      for (let i = lane; !stop; i++) {
        const [method, path, token, body] = requests[i % requests.length] as (typeof requests)[number];
        try {
          const response = await fetch(`${server.url}/api/v1${path}`, {
            method,
            headers: {
              authorization: `Bearer ${token}`,
              ...(body ? { 'content-type': 'application/json' } : {}),
            },
            body: body ? JSON.stringify(body) : undefined,
          });
          answers.push({
            what: `${method} ${path}`,
            status: response.status,
            retryAfter: response.headers.get('retry-after'),
            body: await response.text(),
          });
        } catch (error) {
          failures.push(`${method} ${path}: ${(error as Error).cause ?? error}`);
          if (!alive(server.pid)) return;
        }
      }
    };
    const lanes = Array.from({ length: 8 }, (_, lane) => traffic(lane));

    // Terminate every backend of the server's database, again and again, while the lanes keep
    // its pool busy: some of the connections are in use at that moment.
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    let terminated = 0;
    try {
      for (let round = 0; round < 12 && alive(server.pid); round++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const ended = await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database.name],
        );
        terminated += ended.rowCount ?? 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      stop = true;
      await Promise.all(lanes);
      await admin.end();
    }

    expect(terminated).toBeGreaterThan(0);
    expect(alive(server.pid), `the server died:\n${server.stderr()}`).toBe(true);
    expect(failures, 'requests whose connection was dropped without an answer').toEqual([]);
    const wrong = answers.filter((a) => !(a.status >= 200 && a.status < 300) && a.status !== 503);
    expect(wrong, 'answers other than 2xx and 503').toEqual([]);
    const unavailable = answers.filter((a) => a.status === 503);
    // The drops hit requests in flight (that is the point), and each of those was told to retry.
    expect(unavailable.length).toBeGreaterThan(0);
    for (const answer of unavailable) {
      expect(answer.retryAfter).toMatch(/^\d+$/);
      expect(JSON.parse(answer.body).error).toMatchObject({
        code: 'database_unavailable',
        message: expect.stringMatching(/Try again in \d+ seconds/),
      });
    }

    // Afterwards it serves as before, reads and writes.
    const put = await api(server.url, writer, 'PUT', `/workspaces/${workspaceId}/state/after`, {
      singer_state: { done: true },
    });
    expect(put.status).toBe(200);
    const listed = await api(server.url, adminToken, 'GET', '/workspaces');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((w: { name: string }) => w.name)).toEqual(['Busy']);
  });
});
