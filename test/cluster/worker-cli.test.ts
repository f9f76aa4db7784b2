import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { freePort } from '../helpers/server-process.js';
import { POSTGRES_ADMIN_URL } from '../helpers/test-server.js';

const work = mkdtempSync(join(tmpdir(), 'sluice-worker-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const KEY = 'ab'.repeat(32);
const TOKEN = 'x'.repeat(40);

describe('sluice worker and serve --workers: what a wrong start says', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      'no token',
      ['worker'],
      { SLUICE_DATABASE_URL: POSTGRES_ADMIN_URL, SLUICE_SECRET_KEY: KEY },
      /SLUICE_TOKEN/,
    ],
    [
      'no secret key',
      ['worker'],
      { SLUICE_DATABASE_URL: POSTGRES_ADMIN_URL, SLUICE_TOKEN: TOKEN },
      /SLUICE_SECRET_KEY/,
    ],
    [
      'SQLite',
      ['worker'],
      { SLUICE_TOKEN: TOKEN, SLUICE_SECRET_KEY: KEY, SLUICE_DATABASE_URL: 'sqlite:x.db' },
      /needs the cluster's PostgreSQL database/,
    ],
    [
      'a bad concurrency',
      ['worker', '--concurrency', '0'],
      { SLUICE_TOKEN: TOKEN, SLUICE_SECRET_KEY: KEY, SLUICE_DATABASE_URL: POSTGRES_ADMIN_URL },
      /--concurrency must be a whole number from 1 to 64, not '0'/,
    ],
    [
      'an empty --environments',
      ['worker', '--environments', ' , '],
      { SLUICE_TOKEN: TOKEN, SLUICE_SECRET_KEY: KEY, SLUICE_DATABASE_URL: POSTGRES_ADMIN_URL },
      /--environments needs at least one name/,
    ],
    [
      'a lease out of range',
      ['worker'],
      {
        SLUICE_TOKEN: TOKEN,
        SLUICE_SECRET_KEY: KEY,
        SLUICE_DATABASE_URL: POSTGRES_ADMIN_URL,
        SLUICE_WORKER_LEASE_SECONDS: '600',
      },
      /SLUICE_WORKER_LEASE_SECONDS must be a whole number of seconds from 5 to 60, not '600'/,
    ],
    [
      'serve --workers 0 on SQLite',
      ['serve', '--workers', '0'],
      {},
      /--workers 0 .* need the cluster's PostgreSQL/,
    ],
    ['serve --workers -1', ['serve', '--workers', '-1'], {}, /--workers must be a whole number from 0 to 64/],
  ];
  for (const [what, args, env, message] of cases) {
    it(`refuses ${what}, saying what to do`, () => {
      const result = runCli(args, work, { ...env, SLUICE_DATA_DIR: join(work, 'data') });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('refuses a server it cannot reach, naming it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = runCli(['worker', '--url', url], work, {
      SLUICE_TOKEN: TOKEN,
      SLUICE_SECRET_KEY: KEY,
      SLUICE_DATABASE_URL: POSTGRES_ADMIN_URL,
      SLUICE_WORKER_DATA_DIR: join(work, 'worker'),
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`Cannot reach the Sluice server at ${url}`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
