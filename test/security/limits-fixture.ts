import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { startServerProcess } from '../helpers/server-process.js';
import { api, createTestDatabase, git, issueToken, withToken } from '../helpers/test-server.js';

/**
 * A real `sluice serve` in a process of its own (the built CLI), for the attacks on its limits:
 * a project that stalled the server would stall the test too if the server ran in the test's
 * process, and the test's own time limit could not fire. Here the test keeps its clock, sees the
 * server as any client does, and measures how long each answer takes.
 */
export interface LimitsServer {
  readonly url: string;
  readonly adminToken: string;
  /** A workspace with a write token scoped to it alone: what the hostile user holds. */
  workspace(name: string): Promise<TenantWorkspace>;
  close(): Promise<void>;
}

export interface TenantWorkspace {
  readonly id: string;
  readonly name: string;
  readonly token: string;
  /** Commits these files (path -> text) on `main` and pushes them with the workspace's token. */
  push(files: Readonly<Record<string, string>>, message?: string): Promise<string>;
  /** GET /workspaces/:id with the workspace's own token. */
  get(): Promise<{ status: number; body: WorkspaceBody }>;
  /** GET /workspaces/:id/configuration with the workspace's own token. */
  configuration(): Promise<{ status: number; body: ConfigurationBody }>;
}

export interface WorkspaceBody {
  readonly id: string;
  readonly status: {
    readonly commit: string | null;
    readonly lastGoodCommit: string | null;
    readonly error: {
      readonly code: string;
      readonly message: string;
      readonly commit: string | null;
      readonly file?: string;
      readonly line?: number;
      readonly column?: number;
    } | null;
  };
  readonly [key: string]: unknown;
}

export interface ConfigurationBody {
  readonly commit: string;
  readonly plugins: readonly { name: string; settings: readonly { name: string }[] }[];
  readonly [key: string]: unknown;
}

/** A small, valid project: what each workspace runs before the attack. */
export const GOOD_PROJECT = [
  'version: 1',
  'default_environment: dev',
  'environments:',
  '- name: dev',
  '- name: prod',
  '  config:',
  '    plugins:',
  '      extractors:',
  '      - name: tap-github',
  '        config:',
  '          repository: acme/prod',
  'plugins:',
  '  extractors:',
  '  - name: tap-github',
  '    variant: meltanolabs',
  '    config:',
  '      repository: acme/dev',
  '      start_date: 2024-01-01',
  '',
].join('\n');

export async function startLimitsServer(kind: 'sqlite' | 'postgres'): Promise<LimitsServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-limits-'));
  const work = mkdtempSync(join(tmpdir(), 'sluice-limits-work-'));
  const database = kind === 'postgres' ? await createTestDatabase() : undefined;
  const adminToken = `test-admin-${randomBytes(24).toString('hex')}`;
  const server = await startServerProcess({ dataDir, adminToken, databaseUrl: database?.url });
  let clones = 0;
  return {
    url: server.url,
    adminToken,
    async workspace(name) {
      const created = await api(server.url, adminToken, 'POST', '/workspaces', { name });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const { id, repositoryUrl } = created.body as { id: string; repositoryUrl: string };
      const token = await issueToken(server.url, adminToken, {
        name: `${name} writer`,
        workspaces: [id],
        access: 'write',
      });
      const dir = join(work, `clone-${++clones}`);
      const cloned = await git(work, ['clone', '-q', withToken(repositoryUrl, token), dir]);
      expect(cloned.code, cloned.stderr).toBe(0);
      return {
        id,
        name,
        token,
        async push(files, message = 'Change the project') {
          for (const [path, text] of Object.entries(files)) {
            mkdirSync(dirname(join(dir, path)), { recursive: true });
            writeFileSync(join(dir, path), text);
          }
          expect((await git(dir, ['add', '-A'])).code).toBe(0);
          expect((await git(dir, ['commit', '-qm', message])).code).toBe(0);
          const pushed = await git(dir, ['push', '-q', 'origin', 'main']);
          expect(pushed.code, pushed.stderr).toBe(0);
          return (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
        },
        get: () => api(server.url, token, 'GET', `/workspaces/${id}`),
        configuration: () => api(server.url, token, 'GET', `/workspaces/${id}/configuration`),
      };
    },
    async close() {
      await server.crash();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** One request, timed from sending it to the last byte of its answer. */
export async function timed(
  url: string,
  token: string | undefined,
): Promise<{ status: number; milliseconds: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await response.arrayBuffer();
  return { status: response.status, milliseconds: performance.now() - started };
}
