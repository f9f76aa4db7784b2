import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, storeKinds, type TestServer } from '../helpers/test-server.js';

const kinds = await storeKinds();

interface Operation {
  readonly summary?: string;
  readonly security?: unknown[];
  readonly parameters?: { name: string; in: string; required?: boolean }[];
  readonly requestBody?: {
    content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }>;
  };
  readonly responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}

describe.each(kinds)('the OpenAPI document (%s)', (kind) => {
  let t: TestServer;
  let doc: {
    openapi: string;
    info: { title: string; version: string };
    components: { securitySchemes: Record<string, unknown> };
    security: unknown[];
    paths: Record<string, Record<string, Operation>>;
  };

  beforeAll(async () => {
    t = await startTestServer(kind);
    const answer = await api(t.url, t.adminToken, 'GET', '/openapi.json');
    expect(answer.status).toBe(200);
    doc = answer.body;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is an OpenAPI 3 document for the Sluice API, secured by bearer tokens', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toEqual({ title: 'Sluice API', version: '1' });
    expect(doc.components.securitySchemes).toEqual({ token: { type: 'http', scheme: 'bearer' } });
    expect(doc.security).toEqual([{ token: [] }]);
    // Only the health check is open.
    expect(doc.paths['/api/v1/health']?.get?.security).toEqual([]);
  });

  it('lists the workspace, token, audit, promotion, secret, run, state and worker operations, and nothing outside the API', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /api/v1/health',
        'POST /api/v1/workspaces',
        'GET /api/v1/workspaces',
        'GET /api/v1/workspaces/{id}',
        'PATCH /api/v1/workspaces/{id}',
        'DELETE /api/v1/workspaces/{id}',
        'GET /api/v1/workspaces/{id}/environments',
        'GET /api/v1/workspaces/{id}/plugins/{plugin}/config',
        'GET /api/v1/workspaces/{id}/configuration',
        'POST /api/v1/tokens',
        'GET /api/v1/tokens',
        'DELETE /api/v1/tokens/{id}',
        'GET /api/v1/audit',
        'POST /api/v1/workspaces/{id}/promotions',
        'GET /api/v1/workspaces/{id}/promotions',
        'GET /api/v1/workspaces/{id}/promotions/preview',
        'POST /api/v1/workspaces/{id}/promotions/{promotion}/revert',
        'POST /api/v1/promotions/{promotion}/revert',
        'GET /api/v1/workspaces/{id}/promotion-requests',
        'GET /api/v1/workspaces/{id}/promotion-requests/{request}',
        'POST /api/v1/workspaces/{id}/promotion-requests/{request}/reviews',
        'PUT /api/v1/workspaces/{id}/secrets/{name}',
        'GET /api/v1/workspaces/{id}/secrets',
        'DELETE /api/v1/workspaces/{id}/secrets/{name}',
        'POST /api/v1/workspaces/{id}/runs',
        'GET /api/v1/workspaces/{id}/runs',
        'GET /api/v1/workspaces/{id}/runs/{run}',
        'POST /api/v1/workspaces/{id}/runs/{run}/cancel',
        'GET /api/v1/workspaces/{id}/runs/{run}/log',
        'GET /api/v1/workers',
        'GET /api/v1/workspaces/{id}/state',
        'GET /api/v1/workspaces/{id}/state/{stateId}',
        'PUT /api/v1/workspaces/{id}/state/{stateId}',
        'DELETE /api/v1/workspaces/{id}/state/{stateId}',
        'POST /api/v1/workspaces/{id}/state/{stateId}/copy',
      ].sort(),
    );
  });

  it('gives every operation a summary, its path parameters and its responses', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(operation.summary, where).toEqual(expect.any(String));
        expect(Object.keys(operation.responses).length, where).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(status, where).toMatch(/^[1-5]\d\d$/);
          expect(response.description, where).toEqual(expect.any(String));
        }
        const inPath = (operation.parameters ?? []).filter((p) => p.in === 'path');
        expect(inPath.map((p) => p.name).sort(), where).toEqual([...templated].sort());
        for (const parameter of inPath) expect(parameter.required, `${where} ${parameter.name}`).toBe(true);
      }
    }
  });

  it('describes the bodies: workspace create and update, token create, and the error shape', () => {
    const body = (path: string, method: string) =>
      doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema;
    expect(body('/api/v1/workspaces', 'post')).toMatchObject({
      properties: { name: { type: 'string' } },
      required: ['name'],
    });
    expect(body('/api/v1/workspaces/{id}', 'patch')).toMatchObject({
      properties: { name: { type: 'string' }, activeEnvironment: { type: 'string' } },
      additionalProperties: false,
    });
    expect(body('/api/v1/tokens', 'post')).toMatchObject({ required: ['name', 'workspaces', 'access'] });

    const created =
      doc.paths['/api/v1/workspaces']?.post?.responses['201']?.content?.['application/json']?.schema;
    expect(created).toMatchObject({
      required: [
        'id',
        'name',
        'repositoryName',
        'repositoryUrl',
        'activeEnvironment',
        'createdAt',
        'updatedAt',
      ],
    });
    const unauthorized =
      doc.paths['/api/v1/workspaces']?.get?.responses['401']?.content?.['application/json']?.schema;
    expect(unauthorized).toMatchObject({
      properties: { error: { required: ['code', 'message', 'details'] } },
      required: ['error'],
    });
  });
});
