import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { api, createTestDatabase, git, storeKinds, withToken } from '../helpers/test-server.js';

const kinds = await storeKinds();

/** Enough work that an apply spends a while planning (many files) and copying objects (big ones). */
const TEXT_FILES = 300;
const BINARY_FILES = 8;
const BINARY_SIZE = 1024 * 1024;

interface Workspace {
  readonly id: string;
  readonly repositoryName: string;
  readonly repositoryUrl: string;
}

/** What the server knows about the killed apply once it is back. */
type Outcome = 'not recorded' | 'failed' | 'applied';

/** Everything a kill point may watch to pick its moment. */
interface Apply {
  readonly dataDir: string;
  readonly targetRepo: string;
  readonly oldMain: string;
  readonly answered: Promise<unknown>;
  readonly history: () => Promise<{ status: string }[]>;
  /** Aborted once the server is killed: watchers and pollers stop. */
  readonly killed: AbortSignal;
}

interface KillPoint {
  readonly name: string;
  /** Resolves at the moment to kill the server. */
  readonly when: (apply: Apply) => Promise<void>;
  /** What the server must say once it is back. */
  readonly expected: Outcome;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves at the first change in `dir` after which `ready()` holds; stops watching on `signal`. */
function changeIn(dir: string, signal: AbortSignal, ready: () => boolean = () => true): Promise<void> {
  // The server clears its scratch folder at start-up: make sure there is one to watch.
  mkdirSync(dir, { recursive: true });
  return new Promise((resolve) => {
    watch(dir, { signal }, () => {
      if (ready()) resolve();
    });
  });
}

/** Where main is, read off the loose ref file (quick enough to run on every change git makes). */
const mainOf = (repo: string) => readFileSync(join(repo, 'refs', 'heads', 'main'), 'utf8').trim();

const resolveMain = async (repo: string) =>
  (await git(repo, ['rev-parse', '--verify', '--quiet', 'refs/heads/main'])).stdout.trim();

/** The packs in a repository: a fetch that keeps what it received adds one (`pack-<hash>.idx`) at its end. */
const packIndexes = (repo: string) =>
  readdirSync(join(repo, 'objects', 'pack')).filter((f) => f.startsWith('pack-') && f.endsWith('.idx'));

/**
 * One kill in each window of an apply (see applyPromotion): planning, before the row; the row
 * written, the objects not yet fetched; objects arriving; every object in, main not moved yet; main
 * moved, the row not updated yet; and after the answer. Each is set by what the server does, not
 * by a timer, so each lands in its window on a slow machine as on a fast one.
 */
const KILL_POINTS: readonly KillPoint[] = [
  {
    name: 'while planning',
    when: ({ dataDir, killed }) => changeIn(join(dataDir, 'tmp'), killed),
    expected: 'not recorded',
  },
  {
    name: 'once the row is written',
    when: async ({ history, killed }) => {
      while (!killed.aborted && !(await history()).some((p) => p.status === 'applying')) await sleep(2);
    },
    expected: 'failed',
  },
  {
    name: 'while objects arrive',
    when: ({ targetRepo, killed }) =>
      Promise.race([
        changeIn(join(targetRepo, 'objects'), killed),
        changeIn(join(targetRepo, 'objects', 'pack'), killed),
      ]),
    expected: 'failed',
  },
  {
    // The fetch has renamed its pack and index into place: every object is in, main is still old.
    name: 'once the objects are in',
    when: ({ targetRepo, killed }) => {
      const before = new Set(packIndexes(targetRepo));
      return changeIn(join(targetRepo, 'objects', 'pack'), killed, () =>
        packIndexes(targetRepo).some((f) => !before.has(f)),
      );
    },
    expected: 'failed',
  },
  {
    name: 'as main moves',
    when: ({ targetRepo, oldMain, killed }) =>
      changeIn(join(targetRepo, 'refs', 'heads'), killed, () => {
        try {
          return mainOf(targetRepo) !== oldMain;
        } catch {
          return false; // between git's lock and rename
        }
      }),
    expected: 'applied',
  },
  {
    name: 'after the answer',
    when: async ({ answered }) => {
      await answered;
    },
    expected: 'applied',
  },
];

describe.each(kinds)('a server killed (SIGKILL) during a promotion apply (%s)', (kind) => {
  const adminToken = `test-admin-${randomBytes(12).toString('hex')}`;
  let dataDir: string;
  let work: string;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let server: ServerProcess | undefined;
  let source: Workspace;
  let sourceCommit: string;
  const outcomes = new Map<string, { outcome: Outcome; target: Workspace }>();

  const start = async () => {
    server = await startServerProcess({ dataDir, adminToken, databaseUrl: database?.url });
    return server.url;
  };
  const call = (method: string, path: string, body?: unknown) => {
    if (!server) throw new Error('no server');
    return api(server.url, adminToken, method, path, body);
  };
  const repoOf = (workspace: Workspace) => join(dataDir, 'repos', `${workspace.repositoryName}.git`);
  const historyOf = async (workspace: Workspace) =>
    (await call('GET', `/workspaces/${workspace.id}/promotions`)).body.items as {
      status: string;
      targetCommit: string;
      resultCommit: string;
      error: string | null;
    }[];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-crash-'));
    work = mkdtempSync(join(tmpdir(), 'sluice-crash-work-'));
    if (kind === 'postgres') database = await createTestDatabase();
    const url = await start();
    source = (await call('POST', '/workspaces', { name: 'Crash source' })).body;
    const clone = join(work, 'source');
    await git(work, ['clone', '--quiet', withToken(source.repositoryUrl, adminToken), clone]);
    mkdirSync(join(clone, 'data'));
    for (let i = 0; i < TEXT_FILES; i++)
      writeFileSync(join(clone, 'data', `table-${i}.sql`), `${randomBytes(1000).toString('hex')}\n`);
    for (let i = 0; i < BINARY_FILES; i++)
      writeFileSync(join(clone, 'data', `extract-${i}.parquet`), randomBytes(BINARY_SIZE));
    await git(clone, ['add', '-A']);
    await git(clone, ['commit', '--quiet', '-m', 'Add many files']);
    const push = await git(clone, ['push', '--quiet', 'origin', 'main']);
    expect(push.code, `${url}: ${push.stderr}`).toBe(0);
    sourceCommit = await resolveMain(repoOf(source));
    // Scratch repositories are made under <data>/tmp; it exists from the start so it can be watched.
    mkdirSync(join(dataDir, 'tmp'), { recursive: true });
  });

  afterAll(async () => {
    await server?.crash();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it.each(KILL_POINTS)(
    'killed $name: main is at the old commit or the new one, fsck is clean, the history says which',
    async (point) => {
      const target: Workspace = (
        await call('POST', '/workspaces', { name: `Crash target ${outcomes.size + 1}` })
      ).body;
      const repo = repoOf(target);
      const oldMain = await resolveMain(repo);
      const request = call('POST', `/workspaces/${target.id}/promotions`, {
        source: source.id,
        expectedSourceCommit: sourceCommit,
        expectedTargetCommit: oldMain,
      });
      // A request cut off by the kill fails; only an answer that arrived counts.
      const answered = request.then(
        (response) => response,
        () => undefined,
      );
      const kill = new AbortController();
      // A moment that never comes (the apply finished first) kills after the answer.
      await Promise.race([
        point.when({
          dataDir,
          targetRepo: repo,
          oldMain,
          answered,
          history: () => historyOf(target),
          killed: kill.signal,
        }),
        answered,
      ]);
      await server?.crash();
      kill.abort();
      const sent = await answered;
      // Nothing moves main between the kill and the restart: where it is now is where the kill left it.
      const mainAtKill = await resolveMain(repo);

      await start();
      const main = await resolveMain(repo);
      expect(main, 'the restart moved main').toBe(mainAtKill);
      const history = await historyOf(target);
      expect(history.length).toBeLessThanOrEqual(1);
      const row = history[0];
      let outcome: Outcome;
      if (!row) {
        outcome = 'not recorded';
        expect(main, 'main moved without a promotion recorded').toBe(oldMain);
      } else {
        expect(row.status).not.toBe('applying');
        expect(row.targetCommit).toBe(oldMain);
        expect([oldMain, row.resultCommit]).toContain(main);
        expect(row.status).toBe(main === row.resultCommit ? 'applied' : 'failed');
        outcome = row.status === 'applied' ? 'applied' : 'failed';
        if (outcome === 'failed') expect(row.error).toMatch(/stopped during the apply/);
      }
      if (sent) {
        expect(sent.status, JSON.stringify(sent.body)).toBe(201);
        expect(main).toBe(sent.body.resultCommit);
      }
      expect(outcome, `the kill ${point.name} landed outside its window`).toBe(point.expected);

      const fsck = await git(repo, ['fsck', '--strict', '--no-dangling', '--no-progress']);
      expect(fsck.code, fsck.stderr).toBe(0);
      expect(`${fsck.stdout}${fsck.stderr}`).toBe('');
      outcomes.set(point.name, { outcome, target });
    },
  );

  it('lands the kills before, during and after the write, and a killed apply can be applied again', async () => {
    const seen = new Set([...outcomes.values()].map((o) => o.outcome));
    expect([...seen].sort()).toEqual(['applied', 'failed', 'not recorded']);
    // The apply killed while objects were arriving left only garbage behind: a new apply goes through.
    const killed = outcomes.get('while objects arrive');
    if (!killed) throw new Error('that kill point did not run');
    const again = await call('POST', `/workspaces/${killed.target.id}/promotions`, { source: source.id });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(await resolveMain(repoOf(killed.target))).toBe(again.body.resultCommit);
    expect((await historyOf(killed.target)).map((p) => p.status)).toEqual(['applied', 'failed']);
    const fsck = await git(repoOf(killed.target), ['fsck', '--strict', '--no-dangling', '--no-progress']);
    expect(fsck.code, fsck.stderr).toBe(0);
  });
});
