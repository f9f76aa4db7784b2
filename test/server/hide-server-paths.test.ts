import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hideServerPaths } from '../../src/server/hide-server-paths.js';

describe('hideServerPaths', () => {
  let app: FastifyInstance;
  let dataDir: string;
  /** The same long text each time, as a route that serializes a kept answer once sends it. */
  let long: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-hide-'));
    long = JSON.stringify({
      items: Array.from({ length: 400 }, (_, i) => `item ${i}`),
      at: `${dataDir}/repos/x.git`,
    });
    app = Fastify();
    hideServerPaths(app, dataDir);
    app.get('/short', async () => ({ message: `fatal: '${dataDir}/repos/x.git' is not a repository` }));
    app.get('/long', async (_request, reply) => reply.type('application/json; charset=utf-8').send(long));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('makes the data folder relative in a short answer', async () => {
    const answer = await app.inject({ method: 'GET', url: '/short' });
    expect(answer.json()).toEqual({ message: "fatal: 'repos/x.git' is not a repository" });
  });

  it('does the same for a long answer sent again and again, which it remembers', async () => {
    for (let round = 0; round < 3; round++) {
      const answer = await app.inject({ method: 'GET', url: '/long' });
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
      expect(answer.body).not.toContain(dataDir);
      expect(answer.json().at).toBe('repos/x.git');
      expect(answer.json().items).toHaveLength(400);
    }
  });
});
