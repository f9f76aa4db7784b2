import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  git,
  issueToken,
  startTestServer,
  storeKinds,
  type TestServer,
  withToken,
} from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

const kinds = await storeKinds();

const PROJECT = `version: 1
default_environment: dev
project_id: auth-table
plugins:
  extractors:
  - name: tap-csv
    config:
      files:
      - entity: people
        path: data/people.csv
        keys: [id]
  loaders:
  - name: target-jsonl
    config:
      destination_path: output
environments:
- name: dev
- name: staging
- name: prod
`;

interface Operation {
  readonly method: string;
  /** As the OpenAPI document writes it: `/api/v1/workspaces/{id}`. */
  readonly template: string;
  readonly public: boolean;
  /** The route's declaration, as the document shows it (`x-sluice-access`). */
  readonly access: unknown;
}

/**
 * A body for every mutating route, valid enough that the route would act on it if access let it
 * through. A route the server adds without an entry here fails the table test: add one.
 */
function bodies(ids: { source: string }): Record<string, unknown> {
  return {
    'POST /api/v1/workspaces': { name: 'Made by the attacker' },
    'PATCH /api/v1/workspaces/{id}': { name: 'Renamed by the attacker', activeEnvironment: 'prod' },
    'DELETE /api/v1/workspaces/{id}': undefined,
    'POST /api/v1/tokens': { name: 'escalated', workspaces: '*', access: 'write' },
    'DELETE /api/v1/tokens/{id}': undefined,
    'POST /api/v1/workspaces/{id}/promotions': { source: ids.source },
    'POST /api/v1/workspaces/{id}/promotions/{promotion}/revert': undefined,
    'POST /api/v1/promotions/{promotion}/revert': undefined,
    'POST /api/v1/workspaces/{id}/promotion-requests/{request}/reviews': { verdict: 'approve' },
    'PUT /api/v1/workspaces/{id}/secrets/{name}': { value: 'planted by the attacker' },
    'DELETE /api/v1/workspaces/{id}/secrets/{name}': undefined,
    'POST /api/v1/workspaces/{id}/runs': { blocks: ['tap-csv', 'target-jsonl'] },
    'POST /api/v1/workspaces/{id}/runs/{run}/cancel': undefined,
    'PUT /api/v1/workspaces/{id}/state/{stateId}': { singer_state: { planted: true } },
    'DELETE /api/v1/workspaces/{id}/state/{stateId}': undefined,
    'POST /api/v1/workspaces/{id}/state/{stateId}/copy': { to: 'copied-by-the-attacker' },
  };
}

describe.each(kinds)('every route of the OpenAPI document, called by the wrong token (%s)', (kind) => {
  let t: TestServer;
  let work: string;
  let operations: Operation[];
  let target: { id: string; repositoryUrl: string };
  let source: { id: string; repositoryUrl: string };
  let other: { id: string };
  /** Real ids, so that every route reaches its access check with things that exist. */
  let params: Record<string, string>;
  let reader: string;
  let otherWriter: string;
  let body: Record<string, unknown>;

  const admin = (method: string, path: string, payload?: unknown) =>
    api(t.url, t.adminToken, method, path, payload);
  const fill = (operation: Operation, values: Record<string, string>) =>
    operation.template.replace(/\{(\w+)\}/g, (_match, name: string) => {
      // `{id}` names a token under /tokens, a workspace everywhere else.
      const key = name === 'id' && operation.template.startsWith('/api/v1/tokens/') ? 'token' : name;
      const value = values[key];
      if (value === undefined)
        throw new Error(`${operation.template}: no value for {${name}}; add one above.`);
      return encodeURIComponent(value);
    });
  const call = (token: string | undefined, operation: Operation, values = params) => {
    const key = `${operation.method} ${operation.template}`;
    const path = fill(operation, values).replace(/^\/api\/v1/, '');
    const query = operation.template.endsWith('/promotions/preview') ? `?source=${values.source}` : '';
    return api(t.url, token, operation.method, path + query, body[key]);
  };
  const mutating = () => operations.filter((o) => o.method !== 'GET');
  const onWorkspace = () =>
    operations.filter(
      (o) => o.template.startsWith('/api/v1/workspaces/{id}') || o.template.includes('{promotion}'),
    );

  /** Everything an attack could have changed, as the admin sees it. */
  const snapshot = async () => {
    const main = await git(work, [
      'ls-remote',
      withToken(target.repositoryUrl, t.adminToken),
      'refs/heads/main',
    ]);
    const w = `/workspaces/${target.id}`;
    return {
      main: main.stdout,
      workspaces: (await admin('GET', '/workspaces?limit=200')).body,
      tokens: (await admin('GET', '/tokens?limit=200')).body,
      runs: (await admin('GET', `${w}/runs`)).body,
      promotions: (await admin('GET', `${w}/promotions`)).body,
      requests: (await admin('GET', `${w}/promotion-requests`)).body,
      secrets: (await admin('GET', `${w}/secrets`)).body,
      states: (await admin('GET', `${w}/state`)).body,
      state: (await admin('GET', `${w}/state/${params.stateId}`)).body,
    };
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    work = mkdtempSync(join(tmpdir(), 'sluice-auth-table-'));
    const create = async (name: string) => (await admin('POST', '/workspaces', { name })).body;
    target = await create('Table Target');
    source = await create('Table Source');
    other = await create('Table Other');

    // The source holds a project that runs; promoting it gives the target a promotion and a project.
    const clone = join(work, 'source');
    await git(work, ['clone', '--quiet', withToken(source.repositoryUrl, t.adminToken), clone]);
    mkdirSync(join(clone, 'data'));
    writeFileSync(join(clone, 'meltano.yml'), PROJECT);
    writeFileSync(join(clone, 'data', 'people.csv'), 'id,name\n1,Ada\n2,Grace\n');
    await git(clone, ['add', '.']);
    await git(clone, ['commit', '-m', 'A project that runs']);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    const promotion = await admin('POST', `/workspaces/${target.id}/promotions`, { source: source.id });
    expect(promotion.status, JSON.stringify(promotion.body)).toBe(201);

    const started = await admin('POST', `/workspaces/${target.id}/runs`, {
      blocks: ['tap-csv', 'target-jsonl'],
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const run = started.body.id as string;
    await until('the run to end', async () => {
      const status = (await admin('GET', `/workspaces/${target.id}/runs/${run}`)).body.status;
      return ['success', 'failed', 'cancelled'].includes(status) ? status : undefined;
    });
    expect(
      (await admin('PUT', `/workspaces/${target.id}/state/table-state`, { singer_state: { at: 1 } })).status,
    ).toBe(200);
    expect(
      (await admin('PUT', `/workspaces/${target.id}/secrets/TABLE_SECRET`, { value: 'kept' })).status,
    ).toBe(200);
    // A promotion request waiting for its approval, for the request routes.
    writeFileSync(join(clone, 'data', 'more.csv'), 'id\n3\n');
    await git(clone, ['add', '.']);
    await git(clone, ['commit', '-m', 'More data']);
    expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);
    expect((await admin('PATCH', `/workspaces/${target.id}`, { requiredApprovals: 1 })).status).toBe(200);
    const requested = await admin('POST', `/workspaces/${target.id}/promotions`, { source: source.id });
    expect(requested.status, JSON.stringify(requested.body)).toBe(202);
    const victim = await admin('POST', '/tokens', {
      name: 'victim',
      workspaces: [target.id],
      access: 'read',
    });

    params = {
      id: target.id,
      token: victim.body.id,
      promotion: promotion.body.id,
      run,
      plugin: 'tap-csv',
      name: 'TABLE_SECRET',
      stateId: 'table-state',
      source: source.id,
      request: requested.body.request.id,
    };
    body = bodies({ source: source.id });
    // The reader sees the source too: nothing but its access level stands between it and a promotion.
    const scope = [target.id, source.id];
    reader = await issueToken(t.url, t.adminToken, { name: 'reader', workspaces: scope, access: 'read' });
    otherWriter = await issueToken(t.url, t.adminToken, {
      name: 'other',
      workspaces: [other.id],
      access: 'write',
    });

    const doc = await admin('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    operations = Object.entries(
      doc.body.paths as Record<string, Record<string, { security?: unknown[]; 'x-sluice-access'?: unknown }>>,
    ).flatMap(([template, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        method: method.toUpperCase(),
        template,
        public: Array.isArray(operation.security) && operation.security.length === 0,
        access: operation['x-sluice-access'],
      })),
    );
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('covers the whole API: every mutating route has a body in the table, only the health check is public', () => {
    expect(operations.length).toBeGreaterThan(25);
    for (const operation of mutating()) {
      expect(Object.keys(body), `add a body for ${operation.method} ${operation.template}`).toContain(
        `${operation.method} ${operation.template}`,
      );
    }
    expect(operations.filter((o) => o.public).map((o) => `${o.method} ${o.template}`)).toEqual([
      'GET /api/v1/health',
    ]);
    // The document shows each declaration, and a mutating route never declares less than write.
    for (const operation of operations) {
      const where = `${operation.method} ${operation.template}`;
      expect(['public', 'read', 'write', 'admin'], where).toContain(operation.access);
      expect(operation.access === 'public', where).toBe(operation.public);
      if (operation.method !== 'GET') expect(['write', 'admin'], where).toContain(operation.access);
    }
  });

  it('answers 401 to every non-public route called without a token, or with one the server never issued', async () => {
    const before = await snapshot();
    for (const operation of operations.filter((o) => !o.public)) {
      for (const token of [undefined, `sluice_${'x'.repeat(43)}`]) {
        const answer = await call(token, operation);
        expect(answer.status, `${operation.method} ${operation.template}`).toBe(401);
        expect(answer.body.error.code).toBe('unauthorized');
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 403 to every mutating route called by a read-only token of the workspace, and nothing changes', async () => {
    const before = await snapshot();
    for (const operation of mutating()) {
      const answer = await call(reader, operation);
      expect(answer.status, `${operation.method} ${operation.template}: ${JSON.stringify(answer.body)}`).toBe(
        403,
      );
      expect(answer.body.error.code).toBe('forbidden');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 404 to every route of the workspace called by a write token of another workspace, and nothing changes', async () => {
    const before = await snapshot();
    const routes = onWorkspace();
    expect(routes.length).toBeGreaterThan(20);
    for (const operation of routes) {
      const answer = await call(otherWriter, operation);
      const where = `${operation.method} ${operation.template}: ${JSON.stringify(answer.body)}`;
      expect(answer.status, where).toBe(404);
      // Exactly what a missing workspace or promotion answers, so that tokens cannot probe.
      const missing = await call(otherWriter, operation, {
        ...params,
        id: 'ws_doesnotexist',
        promotion: 'pr_doesnotexist',
      });
      expect(answer.body.error.code, where).toBe(missing.body.error.code);
      expect(answer.body.error.message.replaceAll(target.id, 'X').replaceAll(params.promotion, 'X')).toBe(
        missing.body.error.message.replaceAll('ws_doesnotexist', 'X').replaceAll('pr_doesnotexist', 'X'),
      );
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 403 to every admin route called by a workspace token, read or write, and nothing changes', async () => {
    const before = await snapshot();
    const routes = operations.filter((o) => o.access === 'admin');
    expect(routes.map((o) => `${o.method} ${o.template}`)).toContain('GET /api/v1/workers');
    for (const operation of routes) {
      for (const token of [reader, otherWriter]) {
        const answer = await call(token, operation);
        expect(
          answer.status,
          `${operation.method} ${operation.template}: ${JSON.stringify(answer.body)}`,
        ).toBe(403);
        expect(JSON.stringify(answer.body)).not.toMatch(/wkr_|tok_|heartbeat/);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('lets the read-only token read every route of its workspace', async () => {
    for (const operation of onWorkspace().filter((o) => o.method === 'GET')) {
      const answer = await call(reader, operation);
      expect(answer.status, `${operation.method} ${operation.template}: ${JSON.stringify(answer.body)}`).toBe(
        200,
      );
    }
  });
});
