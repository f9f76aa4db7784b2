import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { api, git, issueToken, startTestServer, type TestServer, withToken } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

/** A workspace as the API answers it. */
export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
}

/** A file of a pushed project: its text, or a symbolic link to `link`. */
export type ProjectFile = string | { readonly link: string };

/** How a run a hostile user asked for ended: refused at the start, or run to its end with its log. */
export type RunOutcome =
  | { readonly started: false; readonly status: number; readonly error: { code: string; message: string } }
  | {
      readonly started: true;
      readonly status: string;
      readonly error: { code: string; message: string } | null;
      readonly log: string;
    };

/**
 * A real server with one hostile user: a write token scoped to the attacker's workspace only,
 * used for every `git push` and run the attack makes. Victims are other workspaces the admin owns.
 */
export interface Arena {
  readonly t: TestServer;
  /** A folder of the test's own, removed at the end. */
  readonly scratch: string;
  readonly attacker: Workspace;
  /** The attacker's write token, scoped to `attacker`. */
  readonly token: string;
  /** A new workspace of someone else. */
  victim(name: string): Promise<Workspace>;
  /** Commits `files` (the whole tree) to the attacker's `main` with stock git, as the attacker. */
  push(files: Readonly<Record<string, ProjectFile>>): Promise<void>;
  /** Starts a run as the attacker and waits for its end. */
  run(blocks: readonly string[]): Promise<RunOutcome>;
  /** The attacker's workspace as the attacker sees it (its status says which commit it runs). */
  workspace(): Promise<{
    status?: { commit: string | null; lastGoodCommit: string | null; error?: { message: string } | null };
  }>;
  /** Every file under a victim's repository with its mode and content hash. */
  snapshot(victim: Workspace): Map<string, string>;
  /** Whether the admin can still clone a victim's repository, and its `main`. */
  cloneMain(victim: Workspace): Promise<string | undefined>;
  /** A victim's `main`, read from its repository on disk. */
  mainOf(victim: Workspace): Promise<string>;
  repositoryDir(victim: Workspace): string;
  workDir(workspace: Workspace): string;
  close(): Promise<void>;
}

export async function openArena(kind: 'sqlite' | 'postgres'): Promise<Arena> {
  const t = await startTestServer(kind);
  const work = mkdtempSync(join(tmpdir(), 'sluice-paths-'));
  let clones = 0;
  const admin = (method: string, path: string, body?: unknown) =>
    api(t.url, t.adminToken, method, path, body);
  const create = async (name: string): Promise<Workspace> => {
    const answer = await admin('POST', '/workspaces', { name });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body;
  };
  const attacker = await create('Attacker');
  const token = await issueToken(t.url, t.adminToken, {
    name: 'attacker',
    workspaces: [attacker.id],
    access: 'write',
  });
  const as = (method: string, path: string, body?: unknown) => api(t.url, token, method, path, body);
  const repositoryDir = (ws: Workspace) => join(t.dataDir, 'repos', `${ws.repositoryName}.git`);

  return {
    t,
    scratch: work,
    attacker,
    token,
    victim: create,
    async push(files) {
      const clone = join(work, `clone-${++clones}`);
      const cloned = await git(work, ['clone', withToken(attacker.repositoryUrl, token), clone]);
      expect(cloned.code, cloned.stderr).toBe(0);
      for (const entry of readdirSync(clone))
        if (entry !== '.git') rmSync(join(clone, entry), { recursive: true });
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(clone, path)), { recursive: true });
        if (typeof content === 'string') writeFileSync(join(clone, path), content);
        else symlinkSync(content.link, join(clone, path));
      }
      expect((await git(clone, ['add', '-A'])).code).toBe(0);
      expect((await git(clone, ['commit', '-q', '-m', 'hostile'])).code).toBe(0);
      const pushed = await git(clone, ['push', 'origin', 'main']);
      expect(pushed.code, pushed.stderr).toBe(0);
    },
    async run(blocks) {
      const started = await as('POST', `/workspaces/${attacker.id}/runs`, { blocks });
      if (started.status !== 201)
        return { started: false, status: started.status, error: started.body.error };
      const run = await until(
        'the run to end',
        async () => {
          const answer = await as('GET', `/workspaces/${attacker.id}/runs/${started.body.id}`);
          return ['success', 'failed', 'cancelled'].includes(answer.body.status) ? answer.body : undefined;
        },
        60_000,
      );
      const log = await fetch(`${t.url}/api/v1/workspaces/${attacker.id}/runs/${run.id}/log`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { started: true, status: run.status, error: run.error, log: await log.text() };
    },
    async workspace() {
      return (await as('GET', `/workspaces/${attacker.id}`)).body;
    },
    snapshot(victim) {
      const out = new Map<string, string>();
      const walk = (dir: string, rel: string) => {
        for (const name of readdirSync(dir).sort()) {
          const path = join(dir, name);
          const shown = rel ? `${rel}/${name}` : name;
          const info = lstatSync(path);
          if (info.isDirectory()) {
            out.set(shown, `dir ${info.mode}`);
            walk(path, shown);
          } else if (info.isSymbolicLink()) out.set(shown, `link ${readlinkSync(path)}`);
          else
            out.set(shown, `${info.mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
        }
      };
      // A repository that is gone (or was replaced by a file) is a snapshot of its own.
      if (!lstatSync(repositoryDir(victim), { throwIfNoEntry: false })?.isDirectory())
        return new Map([['', 'gone']]);
      walk(repositoryDir(victim), '');
      return out;
    },
    async cloneMain(victim) {
      const clone = join(work, `clone-${++clones}`);
      const cloned = await git(work, ['clone', '-q', withToken(victim.repositoryUrl, t.adminToken), clone]);
      if (cloned.code !== 0) return undefined;
      return (await git(clone, ['rev-parse', 'HEAD'])).stdout.trim();
    },
    async mainOf(victim) {
      const answer = await git(work, ['--git-dir', repositoryDir(victim), 'rev-parse', 'main']);
      expect(answer.code, answer.stderr).toBe(0);
      return answer.stdout.trim();
    },
    repositoryDir,
    workDir: (ws) => join(t.dataDir, 'work', ws.id),
    async close() {
      await t.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Whether a message shows where the server keeps its data. */
export function showsServerPaths(text: string, t: TestServer): boolean {
  return text.includes(t.dataDir) || text.includes(realpathSync(t.dataDir));
}
