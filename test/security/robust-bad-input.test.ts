import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertLogLines, insertRun } from '../../src/store/runs.js';
import { api, issueToken, startTestServer, storeKinds, type TestServer } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

const kinds = await storeKinds();

interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * A request sent exactly as written (`fetch` would normalise the path and refuse some bytes).
 * A socket the server drops answers status 0.
 */
function send(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(base);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', () => resolve({ status: 0, body }));
    });
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    req.end(options.body);
  });
}

function deeplyNested(depth: number, open: string, close: string, inner: string): string {
  return `{"singer_state": ${open.repeat(depth)}${inner}${close.repeat(depth)}}`;
}

/** Values a hostile caller puts in a path segment, a query parameter or a JSON string. */
const SEGMENTS = {
  nul: 'a%00b',
  'invalid UTF-8': '%ff%fe',
  'a lone percent sign': '%25',
  'a 300-character id': 'x'.repeat(300),
  'dot-dot': '..%2f..%2fsecret.key',
} as const;

interface Schema {
  readonly type?: string | string[];
  readonly properties?: Record<string, Schema>;
  readonly items?: Schema;
  readonly oneOf?: Schema[];
}

/** A body for `schema` with `text` in every string: what a fuzzer sends. */
function bodyFor(schema: Schema | undefined, text: string): unknown {
  if (!schema) return { value: text };
  const shape = schema.oneOf?.[schema.oneOf.length - 1] ?? schema;
  const type = Array.isArray(shape.type) ? shape.type[0] : shape.type;
  if (type === 'object' || shape.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(shape.properties ?? {})) out[key] = bodyFor(property, text);
    return out;
  }
  if (type === 'array') return [bodyFor(shape.items, text)];
  if (type === 'boolean') return false;
  if (type === 'integer' || type === 'number') return 1;
  return text;
}

/**
 * Finding 9: inputs that made the server answer 500 (or worse). Every one must be a 4xx that
 * says what is wrong; no answer may show where the server keeps its data.
 */
describe.each(kinds)('hostile input answers 4xx, never 500 (%s)', (kind) => {
  let t: TestServer;
  let mine: { id: string; repositoryName: string };
  /** The hostile user: a read-write token for one workspace. */
  let hostile: string;

  beforeAll(async () => {
    t = await startTestServer(kind);
    mine = (await api(t.url, t.adminToken, 'POST', '/workspaces', { name: 'Mine' })).body;
    hostile = await issueToken(t.url, t.adminToken, {
      name: 'mine only',
      workspaces: [mine.id],
      access: 'write',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a percent sign that starts no escape (GET /%25, no token) without a 500', async () => {
    for (const path of ['/%25', '/%25%25', '/%2525', '/assets/%25.js']) {
      const answer = await send(t.url, 'GET', path);
      expect(answer.status, path).toBeLessThan(500);
      expect(answer.status, path).toBeGreaterThan(0);
      expect(answer.body, path).not.toMatch(/internal/);
    }
    // Under the API or Git, the same is still a request without a token.
    for (const path of ['/api/v1/%25', '/api/v1/workspaces/%25', '/git/%25.git/info/refs']) {
      const answer = await send(t.url, 'GET', path);
      expect(answer.status, path).toBeGreaterThanOrEqual(400);
      expect(answer.status, path).toBeLessThan(500);
    }
  });

  it('refuses JSON nested 20,000 deep with a 400 that names the limit, and keeps nothing', async () => {
    for (const [open, close, inner] of [
      ['[', ']', '1'],
      ['{"a":', '}', '1'],
    ] as const) {
      const answer = await send(t.url, 'PUT', `/api/v1/workspaces/${mine.id}/state/x`, {
        token: hostile,
        body: deeplyNested(20_000, open, close, inner),
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error).toMatchObject({
        code: 'validation_failed',
        message: expect.stringMatching(/nests arrays and objects more than \d+ levels deep/),
      });
    }
    expect((await api(t.url, hostile, 'GET', `/workspaces/${mine.id}/state/x`)).status).toBe(404);
    // Any JSON route: the limit sits in the body parser, not in one route.
    for (const [method, path] of [
      ['POST', '/api/v1/workspaces'],
      ['PATCH', `/api/v1/workspaces/${mine.id}`],
      ['PUT', `/api/v1/workspaces/${mine.id}/secrets/TOKEN`],
      ['POST', `/api/v1/workspaces/${mine.id}/runs`],
    ] as const) {
      // Creating workspaces takes a token for all of them: the access check answers before the body is read.
      const answer = await send(t.url, method, path, {
        token: path === '/api/v1/workspaces' ? t.adminToken : hostile,
        body: `{"name": ${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
      });
      expect(answer.status, `${method} ${path}`).toBe(400);
    }
    // A state nested as deeply as real ones are is still taken.
    const ordinary = await api(t.url, hostile, 'PUT', `/workspaces/${mine.id}/state/x`, {
      singer_state: JSON.parse(deeplyNested(40, '{"a":', '}', '1')),
    });
    expect(ordinary.status).toBe(200);
  });

  it('refuses a NUL character in an id, a name, a state id, a query parameter or a body with a 400', async () => {
    // A workspace reference with a NUL names no workspace: the access check answers 404 before any query.
    for (const method of ['GET', 'DELETE']) {
      const answer = await send(t.url, method, '/api/v1/workspaces/a%00b', { token: hostile });
      expect(answer.status, `${method} a%00b`).toBe(404);
    }
    const cases: [string, string, unknown?][] = [
      ['GET', `/api/v1/workspaces/${mine.id}/state/dev%00x`],
      ['PUT', `/api/v1/workspaces/${mine.id}/state/dev%00x`, { singer_state: {} }],
      ['POST', `/api/v1/workspaces/${mine.id}/state/dev/copy`, { to: 'dev\u0000x' }],
      ['GET', '/api/v1/workspaces?cursor=%00'],
      ['GET', `/api/v1/workspaces/${mine.id}/configuration?environment=dev%00`],
      ['PATCH', `/api/v1/workspaces/${mine.id}`, { name: 'Mine\u0000' }],
      ['PATCH', `/api/v1/workspaces/${mine.id}`, { activeEnvironment: 'dev\u0000' }],
      ['PUT', `/api/v1/workspaces/${mine.id}/secrets/TOKEN`, { value: 'v', environment: 'dev\u0000' }],
      ['PUT', `/api/v1/workspaces/${mine.id}/state/x`, { singer_state: { 'bookmark\u0000': 1 } }],
    ];
    for (const [method, path, body] of cases) {
      const answer = await send(t.url, method, path, {
        token: hostile,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(answer.status, `${method} ${path} ${JSON.stringify(body) ?? ''}`).toBe(400);
      expect(JSON.parse(answer.body).error.message).toMatch(/NUL character \(U\+0000\)/);
    }
    // Admin-only routes too.
    for (const body of [
      { name: 'token\u0000', workspaces: [mine.id], access: 'read' },
      { name: 'token', workspaces: [`${mine.id}\u0000`], access: 'read' },
    ]) {
      const answer = await api(t.url, t.adminToken, 'POST', '/tokens', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    // A token that carries a NUL (in the base64 of basic auth) is a token that is not valid.
    const basic = Buffer.from(`sluice:${hostile}\u0000`).toString('base64');
    const answer = await send(t.url, 'GET', '/api/v1/workspaces', {
      headers: { authorization: `Basic ${basic}` },
    });
    expect(answer.status).toBe(401);
    // Nothing was kept.
    expect((await api(t.url, hostile, 'GET', `/workspaces/${mine.id}/state`)).body.items).toEqual([
      expect.objectContaining({ stateId: 'x' }),
    ]);
    expect((await api(t.url, hostile, 'GET', `/workspaces/${mine.id}/secrets`)).body.items).toEqual([]);
  });

  it('answers every route of the API with fuzzed parameters and bodies without a 5xx', async () => {
    const doc = (await api(t.url, t.adminToken, 'GET', '/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>
      >;
    };
    const valid: Record<string, string> = {
      id: mine.id,
      stateId: 'dev:tap-to-target',
      run: 'run_00000000',
      name: 'MY_SECRET',
      plugin: 'tap-csv',
      promotion: 'prm_00000000',
    };
    const requests: { method: string; path: string; body?: string }[] = [];
    for (const [template, operations] of Object.entries(doc.paths)) {
      const params = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
      for (const [method, operation] of Object.entries(operations)) {
        const schema = operation.requestBody?.content['application/json']?.schema;
        const fill = (values: Record<string, string>) =>
          template.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x');
        for (const param of params) {
          for (const segment of Object.values(SEGMENTS)) {
            requests.push({ method, path: fill({ ...valid, [param]: segment }) });
          }
        }
        if (method === 'get') {
          for (const query of [
            'cursor=%00',
            'cursor=%ff',
            'limit=%ff',
            `limit=${'9'.repeat(400)}`,
            'environment=%00',
          ]) {
            requests.push({ method, path: `${fill(valid)}?${query}` });
          }
        }
        if (method !== 'get' && method !== 'delete') {
          for (const text of ['a\u0000b', 'x'.repeat(5000), '\ud800']) {
            requests.push({ method, path: fill(valid), body: JSON.stringify(bodyFor(schema, text)) });
          }
        }
      }
    }
    expect(requests.length).toBeGreaterThan(100);
    const failures: string[] = [];
    // A few at a time: a fuzzer does not wait for each answer either.
    for (let i = 0; i < requests.length; i += 6) {
      await Promise.all(
        requests.slice(i, i + 6).map(async ({ method, path, body }) => {
          const answer = await send(t.url, method.toUpperCase(), path, { token: t.adminToken, body });
          if (answer.status === 0 || answer.status >= 500) {
            failures.push(
              `${method.toUpperCase()} ${path.slice(0, 120)} ${body?.slice(0, 80) ?? ''} -> ${answer.status} ${answer.body.slice(0, 200)}`,
            );
          }
        }),
      );
    }
    expect(failures).toEqual([]);
    // The server is still well, and the workspace is untouched.
    expect((await api(t.url, t.adminToken, 'GET', `/workspaces/${mine.id}`)).body.name).toBe('Mine');
  });

  // PostgreSQL only: SQLite compares `seq > 1.5` as asked, where PostgreSQL refuses the value.
  it.runIf(kind === 'postgres')("streams a run's log after any Last-Event-ID a client sends", async () => {
    // A finished run with three log lines, as the run service leaves it.
    const runId = `run_lastevent${kind}`;
    const now = new Date().toISOString();
    await insertRun(t.server.store.db, {
      id: runId,
      workspace_id: mine.id,
      environment: 'dev',
      commit: '0'.repeat(40),
      blocks: '["tap-x","target-y"]',
      job: null,
      pipeline: 'tap-x target-y',
      status: 'success',
      trigger: 'api',
      schedule_name: null,
      state_id: null,
      attempt: 1,
      max_retries: 0,
      timeout_seconds: null,
      records_by_stream: '{}',
      error: null,
      created_at: now,
      created_by: 'test',
      started_at: now,
      ended_at: now,
      worker_id: null,
      queue_job: null,
    });
    await insertLogLines(
      t.server.store.db,
      [1, 2, 3].map((seq) => ({ run_id: runId, seq, at: now, text: `line ${seq}` })),
    );
    for (const [lastEventId, expected] of [
      ['1.5', ['line 2', 'line 3']],
      ['1e308', []],
      ['99999999999', []],
      ['-7', ['line 1', 'line 2', 'line 3']],
    ] as const) {
      const answer = await Promise.race([
        send(t.url, 'GET', `/api/v1/workspaces/${mine.id}/runs/${runId}/log`, {
          token: hostile,
          headers: { accept: 'text/event-stream', 'last-event-id': lastEventId },
        }),
        new Promise<Answer>((resolve) => setTimeout(() => resolve({ status: -1, body: 'no end' }), 3000)),
      ]);
      expect(answer.status, lastEventId).toBe(200);
      expect(answer.body, lastEventId).toMatch(/event: end/);
      expect(
        [...answer.body.matchAll(/line \d/g)].map((m) => m[0]),
        lastEventId,
      ).toEqual(expected);
    }
  });

  it("never shows the server's data folder in an error, even a git failure's", async () => {
    // A repository damaged on disk (a full disk, an operator's mistake) makes git fail. The branch
    // file changes too, so that the server cannot answer from the head it remembers (once that
    // read is a moment old: no server recorded this change).
    const repository = join(t.dataDir, 'repos', `${mine.repositoryName}.git`);
    rmSync(join(repository, 'HEAD'));
    writeFileSync(join(repository, 'refs', 'heads', 'main'), 'damaged\n');
    const answer = await until('the damage to show', async () => {
      const reply = await send(t.url, 'GET', `/api/v1/workspaces/${mine.id}`, { token: hostile });
      return reply.status === 200 ? undefined : reply;
    });
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body).error.code).toBe('git_failed');
    expect(answer.body).toContain(`${mine.repositoryName}.git`);
    expect(answer.body).not.toContain(t.dataDir);
    expect(answer.body).not.toContain(tmpRoot(t.dataDir));
  });
});

/** The folder the data folder was made in (`/tmp`): not even that part of the path may show. */
function tmpRoot(dataDir: string): string {
  return dataDir.slice(0, dataDir.lastIndexOf('/') + 1);
}
