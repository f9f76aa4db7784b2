import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/in-process-cli.js';
import { tempProject } from '../helpers/temp-project.js';
import { POSTGRES_ADMIN_URL } from '../helpers/test-server.js';

const schema = `sluice_run_${randomBytes(5).toString('hex')}`;

afterAll(async () => {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema}_dev CASCADE`);
  await client.query(`DROP SCHEMA IF EXISTS ${schema}_prod CASCADE`);
  await client.end();
});

async function rows(sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('sluice run tap-csv target-postgres against the real PostgreSQL', () => {
  it("loads each environment's rows into its schema with COPY, upserting on the key on rerun", async () => {
    const root = tempProject({
      'meltano.yml': `
default_environment: dev
plugins:
  extractors:
  - name: tap-csv
    config:
      files:
      - entity: people
        path: data/people.csv
        keys: [id]
  loaders:
  - name: target-postgres
    variant: meltanolabs
    config:
      sqlalchemy_url: ${POSTGRES_ADMIN_URL}
      default_target_schema: ${schema}_dev
      add_record_metadata: false
environments:
- name: dev
- name: prod
  config:
    plugins:
      loaders:
      - name: target-postgres
        config:
          default_target_schema: ${schema}_prod
`,
      'data/people.csv': 'id,name\n1,ann\n2,bo\n3,cy\n',
    });
    const first = await runInProcess(['run', 'tap-csv', 'target-postgres'], root);
    expect(first.stderr).not.toContain('error');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('people: 3 records');
    const again = await runInProcess(['run', 'tap-csv', 'target-postgres', '--full-refresh'], root);
    expect(again.status).toBe(0);
    expect(await rows(`SELECT id, name FROM ${schema}_dev.people ORDER BY id`)).toEqual([
      { id: '1', name: 'ann' },
      { id: '2', name: 'bo' },
      { id: '3', name: 'cy' },
    ]);
    const prod = await runInProcess(['--environment', 'prod', 'run', 'tap-csv', 'target-postgres'], root);
    expect(prod.status).toBe(0);
    expect(await rows(`SELECT count(*)::int AS n FROM ${schema}_prod.people`)).toEqual([{ n: 3 }]);
  });

  it('fails clearly when PostgreSQL cannot be reached, keeping no state', async () => {
    const root = tempProject({
      'meltano.yml': `
default_environment: dev
plugins:
  extractors:
  - name: tap-csv
    config:
      files: [{entity: people, path: data/people.csv, keys: [id]}]
  loaders:
  - name: target-postgres
    config: {host: 127.0.0.1, port: 1, user: postgres, password: hunter2-secret, database: test}
environments:
- name: dev
`,
      'data/people.csv': 'id,name\n1,ann\n',
    });
    const result = await runInProcess(['run', 'tap-csv', 'target-postgres'], root);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('127.0.0.1:1');
    expect(result.stderr).not.toContain('hunter2-secret');
    expect(result.stderr).not.toContain('    at ');
    expect((await runInProcess(['state', 'list'], root)).stdout).toBe('');
  });
});
