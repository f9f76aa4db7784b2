import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxAvailable } from '../helpers/sandbox.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { api, createTestDatabase, git, issueToken, storeKinds, withToken } from '../helpers/test-server.js';
import { until } from '../helpers/wait.js';

/**
 * A hostile workspace's code, run by the server: a read-write token scoped to one workspace pushes
 * a project whose extractor is a script of its own, and starts it. The script tries everything a
 * process of the server's user could do; the tests check what it achieved, not what it was told.
 */

/** What the hostile extractor does: every attempt prints what it got, so the log shows any leak. */
const EVIL = `#!/bin/sh
echo "evil: starting as $(id -u)" >&2
# The server's variables: every process it can see, and its parent.
for f in /proc/[0-9]*/environ /proc/$PPID/environ /proc/1/environ; do
  tr '\\0' '\\n' < "$f" 2>/dev/null | sed 's/^/evil-env: /' >&2
done
# The processes it can see.
for f in /proc/[0-9]*/cmdline; do
  echo "evil-ps: $(tr '\\0' ' ' < "$f" 2>/dev/null)" >&2
done
# The server's files: the secret key, the database, the admin token.
for f in "$DATA/secret.key" "$DATA/admin-token" "$DATA/sluice.db"; do
  echo "evil-file: $f" >&2
  od -An -tx1 "$f" 2>/dev/null | tr -d ' \\n' | sed 's/^/evil-bytes: /' >&2
  echo >&2
done
# Through links committed to the repository.
od -An -tx1 leak-key 2>/dev/null | tr -d ' \\n' | sed 's/^/evil-link: /' >&2
ls data-link/ 2>/dev/null | sed 's/^/evil-link-dir: /' >&2
# Another workspace's repository and folder, and the server's code.
echo pwned > "$DATA/repos/$VICTIM.git/hooks/post-receive" 2>/dev/null && echo "evil: wrote a hook" >&2
echo pwned > "$DATA/work/$VICTIM_ID/pwned" 2>/dev/null && echo "evil: wrote into the victim's folder" >&2
echo pwned > "$CODE/pwned" 2>/dev/null && echo "evil: wrote into the server's code" >&2
ln "$DATA/secret.key" hard-key 2>/dev/null && echo "evil: hard link made" >&2
exit 1
`;

const CANARY = `canary-${randomBytes(8).toString('hex')}`;

describe.skipIf(!(await sandboxAvailable())).each(await storeKinds())(
  'a hostile workspace on a server (%s)',
  (kind) => {
    let server: ServerProcess;
    let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    let dataDir: string;
    const adminToken = `admin-${randomBytes(20).toString('hex')}`;
    let work: string;
    let attacker: { id: string; repositoryUrl: string; repositoryName: string };
    let victim: { id: string; repositoryUrl: string; repositoryName: string };
    let token: string;
    let log = '';

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'sluice-hostile-data-'));
      database = kind === 'postgres' ? await createTestDatabase() : undefined;
      // `sluice serve` as its own process, as in production: its variables hold the admin token, the
      // database URL and a canary that only the server's process has.
      server = await startServerProcess({
        dataDir,
        adminToken,
        ...(database ? { databaseUrl: database.url } : {}),
        env: { SLUICE_TEST_CANARY: CANARY },
      });
      work = mkdtempSync(join(tmpdir(), 'sluice-hostile-'));
      const admin = (method: string, path: string, body?: unknown) =>
        api(server.url, adminToken, method, path, body);
      attacker = (await admin('POST', '/workspaces', { name: `Attacker ${kind}` })).body;
      victim = (await admin('POST', '/workspaces', { name: `Victim ${kind}` })).body;
      expect(
        (await admin('PUT', `/workspaces/${victim.id}/secrets/VICTIM_PASSWORD`, { value: 'victim-s3cret' }))
          .status,
      ).toBe(200);
      // The victim has run before: its folder exists.
      mkdirSync(join(dataDir, 'work', victim.id), { recursive: true });
      token = await issueToken(server.url, adminToken, {
        name: 'attacker',
        workspaces: [attacker.id],
        access: 'write',
      });

      const clone = join(work, 'attacker');
      expect((await git(work, ['clone', withToken(attacker.repositoryUrl, token), clone])).code).toBe(0);
      writeFileSync(join(clone, 'evil.sh'), EVIL);
      chmodSync(join(clone, 'evil.sh'), 0o755);
      symlinkSync(join(dataDir, 'secret.key'), join(clone, 'leak-key'));
      symlinkSync(dataDir, join(clone, 'data-link'));
      writeFileSync(
        join(clone, 'meltano.yml'),
        `default_environment: dev
plugins:
  extractors:
  - name: tap-evil
    namespace: tap_evil
    executable: ./evil.sh
  loaders:
  - name: target-jsonl
environments:
- name: dev
  env:
    DATA: ${dataDir}
    VICTIM: ${victim.repositoryName}
    VICTIM_ID: ${victim.id}
    CODE: ${process.cwd()}
`,
      );
      expect((await git(clone, ['add', '-A'])).code).toBe(0);
      expect((await git(clone, ['commit', '-m', 'innocent pipeline'])).code).toBe(0);
      expect((await git(clone, ['push', 'origin', 'main'])).code).toBe(0);

      const started = await api(server.url, token, 'POST', `/workspaces/${attacker.id}/runs`, {
        blocks: ['tap-evil', 'target-jsonl'],
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      await until('the hostile run to end', async () => {
        const run = await api(server.url, token, 'GET', `/workspaces/${attacker.id}/runs/${started.body.id}`);
        return ['success', 'failed', 'cancelled'].includes(run.body.status) ? run.body : undefined;
      });
      const answer = await fetch(
        `${server.url}/api/v1/workspaces/${attacker.id}/runs/${started.body.id}/log`,
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      log = await answer.text();
      // The script did run: its first line is there.
      expect(log).toContain('evil: starting');
    }, 120_000);
    afterAll(async () => {
      await server?.crash();
      await database?.drop();
      rmSync(work, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    });

    const hex = (file: string) => readFileSync(file).toString('hex');

    it("cannot read the server's variables: neither its own process nor any other is visible", () => {
      expect(log).not.toContain(CANARY);
      expect(log).not.toContain(adminToken);
      if (database) expect(log).not.toContain(database.url);
    });

    it('sees only its own processes: not the server, not other runs', () => {
      const processes = log.split('\n').filter((l) => l.includes('| evil-ps: '));
      expect(processes.length).toBeGreaterThan(0);
      expect(processes.length).toBeLessThan(8);
      expect(log).not.toMatch(/evil-ps: .*(vitest|sluice\.js serve|postgres)/);
    });

    it("cannot read the server's key, database or admin token, directly, through a link or a hard link", () => {
      const key = hex(join(dataDir, 'secret.key'));
      expect(log).not.toContain(key);
      expect(log).not.toContain(key.slice(0, 32));
      expect(log).not.toContain('evil-link: ');
      // Through the link to the data folder, at most the way to its own folder shows.
      expect(log).not.toMatch(/evil-link-dir: (repos|secret\.key|sluice\.db|admin-token)/);
      expect(log).not.toContain('evil: hard link made');
      if (kind === 'sqlite') {
        // The database's header, in hex: "SQLite format 3".
        expect(log).not.toContain('53514c69746520666f726d61742033');
      }
    });

    it("cannot write into another workspace's repository or folder, nor into the server's code", () => {
      expect(
        existsSync(join(dataDir, 'repos', `${victim.repositoryName}.git`, 'hooks', 'post-receive')),
      ).toBe(false);
      expect(existsSync(join(dataDir, 'work', victim.id, 'pwned'))).toBe(false);
      expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
      expect(log).not.toContain('evil: wrote');
      // The victim's secret never reached the attacker's run.
      expect(log).not.toContain('victim-s3cret');
    });
  },
);
