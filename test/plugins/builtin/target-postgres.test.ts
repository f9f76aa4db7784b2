import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../../src/errors.js';
import { postgresType } from '../../../src/plugins/builtin/postgres-columns.js';
import {
  resolveTargetPostgresConfig,
  type TargetPostgresConfig,
} from '../../../src/plugins/builtin/postgres-config.js';
import { targetPostgres } from '../../../src/plugins/builtin/target-postgres.js';
import { lines, recordMessage, schemaMessage, stateMessage } from '../../helpers/singer-lines.js';

/** The PostgreSQL the machine and CI provide (trust auth). */
const ADMIN_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new URL(ADMIN_URL);
const SERVER = {
  host: admin.hostname,
  port: Number(admin.port || 5432),
  user: decodeURIComponent(admin.username),
  database: admin.pathname.slice(1),
};

let db: pg.Client;
let schema: string;
beforeAll(async () => {
  db = new pg.Client({ connectionString: ADMIN_URL });
  await db.connect();
});
afterAll(async () => {
  await db.end();
});
beforeEach(() => {
  schema = `sluice_tp_${randomBytes(6).toString('hex')}`;
});
afterEach(async () => {
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

/** The test server, loading into this test's schema, without the `_sdc_*` columns unless asked. */
const target = (extra: Partial<Record<keyof TargetPostgresConfig, unknown>> = {}): TargetPostgresConfig =>
  ({
    ...SERVER,
    default_target_schema: schema,
    add_record_metadata: false,
    ...extra,
  }) as TargetPostgresConfig;

const schemaMsg = schemaMessage;
const record = recordMessage;
const state = stateMessage;

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.query(sql)).rows;
}
const count = async (table: string) =>
  Number((await rows(`SELECT count(*) AS n FROM "${schema}"."${table}"`))[0]?.n);

async function load(config: TargetPostgresConfig, ...items: string[]): Promise<unknown[]> {
  const emitted: unknown[] = [];
  await targetPostgres(config, lines(...items), (v) => emitted.push(v), { projectRoot: process.cwd() });
  return emitted;
}

async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  const caught = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(caught).toBeInstanceOf(SluiceError);
  return caught as SluiceError;
}

const ID = { type: 'integer' };

describe('postgresType', () => {
  it.each([
    [{ type: ['null', 'integer'] }, 'bigint'],
    [{ type: 'number' }, 'numeric'],
    [{ type: ['integer', 'number'] }, 'numeric'],
    [{ type: 'boolean' }, 'boolean'],
    [{ type: 'string' }, 'text'],
    [{ type: ['null', 'string'], format: 'date-time' }, 'timestamptz'],
    [{ type: 'string', format: 'date' }, 'date'],
    [{ type: 'string', format: 'time' }, 'time'],
    [{ type: ['string', 'integer'] }, 'text'],
    [{ type: 'object', properties: {} }, 'jsonb'],
    [{ type: ['array', 'null'], items: {} }, 'jsonb'],
    [{ anyOf: [{ type: 'null' }, { type: 'string', format: 'date-time' }] }, 'timestamptz'],
    [{ anyOf: [{ type: 'string' }, { type: 'object' }] }, 'jsonb'],
    [{}, 'jsonb'],
  ])('maps %j to %s', (schema, type) => {
    expect(postgresType(schema)).toBe(type);
  });
});

describe('resolveTargetPostgresConfig', () => {
  it('applies upstream defaults and ignores unknown settings', () => {
    const settings = resolveTargetPostgresConfig({
      host: 'db',
      database: 'w',
      'dialect+driver': 'postgresql+psycopg',
      stream_maps: {},
    } as TargetPostgresConfig);
    expect(settings).toMatchObject({
      endpoint: { host: 'db', port: 5432, database: 'w', ssl: { mode: 'prefer' }, from: 'fields' },
      defaultTargetSchema: 'melty',
      loadMethod: undefined,
      batchSizeRows: 100_000,
      recordMetadata: true,
      activateVersion: true,
      hardDelete: false,
    });
  });

  it('reads sqlalchemy_url, with percent-encoded credentials and its sslmode', () => {
    const { endpoint } = resolveTargetPostgresConfig({
      host: 'ignored',
      sqlalchemy_url: 'postgresql+psycopg2://ann:p%40ss@db.example:6543/warehouse?sslmode=require',
    });
    expect(endpoint).toMatchObject({
      host: 'db.example',
      port: 6543,
      user: 'ann',
      password: 'p@ss',
      database: 'warehouse',
      ssl: { mode: 'require' },
    });
  });

  it.each([
    [{ database: 'w' }, /set 'host'/, 'host'],
    [{ host: 'db' }, /set 'database'/, 'database'],
    [
      { host: 'db', database: 'w', load_method: 'merge' },
      /'load_method' must be one of append-only, upsert, overwrite; found 'merge'/,
      'load_method',
    ],
    [{ host: 'db', database: 'w', port: 'x' }, /'port' must be an integer/, 'port'],
    [
      { host: 'db', database: 'w', batch_size_rows: 0 },
      /'batch_size_rows' must be an integer/,
      'batch_size_rows',
    ],
    [
      { host: 'db', database: 'w', ssl_enable: true, ssl_mode: 'on' },
      /'ssl_mode' must be one of disable, allow/,
      'ssl_mode',
    ],
    [
      { host: 'db', database: 'w', ssh_tunnel: { enable: true } },
      /'ssh_tunnel' is not supported/,
      'ssh_tunnel',
    ],
    [
      { host: 'db', database: 'w', add_record_metadata: false, activate_version: true },
      /needs 'add_record_metadata'/,
      'activate_version',
    ],
    [{ sqlalchemy_url: 'mysql://ann:secretpw@db/w' }, /must be a PostgreSQL URL/, 'sqlalchemy_url'],
    [
      { sqlalchemy_url: 'postgresql://ann:secret/pw@bad host/w' },
      /not a valid URL .*ann:\*\*\*@bad host/,
      'sqlalchemy_url',
    ],
  ])('refuses %j naming the setting', (config, message, setting) => {
    let caught: unknown;
    try {
      resolveTargetPostgresConfig(config as TargetPostgresConfig);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).message).toMatch(message);
    expect((caught as SluiceError).details.setting).toBe(setting);
    expect((caught as SluiceError).message).not.toMatch(/secret/);
  });
});

describe('targetPostgres', () => {
  it('creates typed, nullable columns and loads values, nulls, nested JSON and exact large numbers', async () => {
    const props = {
      id: ID,
      price: { type: ['null', 'number'] },
      active: { type: ['null', 'boolean'] },
      name: { type: ['null', 'string'] },
      ts: { type: ['null', 'string'], format: 'date-time' },
      day: { type: ['null', 'string'], format: 'date' },
      meta: { type: ['null', 'object'], properties: {} },
      tags: { type: ['null', 'array'], items: { type: 'string' } },
      Mixed_Case: { type: ['null', 'string'] },
    };
    await load(
      target(),
      schemaMsg('items', props),
      // Written by hand: JSON.stringify could not write these numbers exactly.
      '{"type":"RECORD","stream":"items","record":{"id":9007199254740993,"price":0.1234567890123456789012,"active":true,"name":"O\'Neil \\"q\\" \\\\ é","ts":"2024-01-02T03:04:05+02:00","day":"2024-01-02","meta":{"a":{"b":[1,2]}},"tags":["x","y"],"Mixed_Case":"c"}}',
      record('items', { id: 2, price: null, active: null, name: null, ts: null, meta: null }),
    );
    const columns = await rows(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'items' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ['id', 'bigint', 'NO'],
      ['price', 'numeric', 'YES'],
      ['active', 'boolean', 'YES'],
      ['name', 'text', 'YES'],
      ['ts', 'timestamp with time zone', 'YES'],
      ['day', 'date', 'YES'],
      ['meta', 'jsonb', 'YES'],
      ['tags', 'jsonb', 'YES'],
      ['Mixed_Case', 'text', 'YES'],
    ]);
    expect(
      await rows(
        `SELECT id::text, price::text, active, name, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS ts, day::text, meta #>> '{a,b,1}' AS b, tags->>0 AS tag, meta IS NULL AS no_meta, "Mixed_Case" FROM "${schema}".items ORDER BY id`,
      ),
    ).toEqual([
      {
        id: '2',
        price: null,
        active: null,
        name: null,
        ts: null,
        day: null,
        b: null,
        tag: null,
        no_meta: true,
        Mixed_Case: null,
      },
      {
        id: '9007199254740993',
        price: '0.1234567890123456789012',
        active: true,
        name: 'O\'Neil "q" \\ é',
        ts: '2024-01-02 01:04:05',
        day: '2024-01-02',
        b: '2',
        tag: 'x',
        no_meta: false,
        Mixed_Case: 'c',
      },
    ]);
  });

  it('appends every record with load_method append-only, even with key properties', async () => {
    const messages = [
      schemaMsg('log', { id: ID, msg: { type: 'string' } }),
      record('log', { id: 1, msg: 'a' }),
    ];
    await load(target({ load_method: 'append-only' }), ...messages, record('log', { id: 1, msg: 'b' }));
    await load(target({ load_method: 'append-only' }), ...messages);
    expect(await rows(`SELECT id::int, msg FROM "${schema}".log ORDER BY msg`)).toEqual([
      { id: 1, msg: 'a' },
      { id: 1, msg: 'a' },
      { id: 1, msg: 'b' },
    ]);
  });

  it('appends streams without key properties when load_method is unset', async () => {
    const messages = [schemaMsg('log', { msg: { type: 'string' } }, []), record('log', { msg: 'a' })];
    await load(target(), ...messages);
    await load(target(), ...messages);
    expect(await count('log')).toBe(2);
  });

  it.each([['upsert'], [undefined]])(
    'upserts on key properties (load_method %s): the last record of a key wins, reruns add no duplicates',
    async (loadMethod) => {
      const messages = [
        schemaMsg('people', { id: ID, tenant: { type: 'string' }, name: { type: 'string' } }, [
          'tenant',
          'id',
        ]),
        record('people', { id: 1, tenant: 'a', name: 'ann' }),
        record('people', { id: 2, tenant: 'a', name: 'bo' }),
        record('people', { id: 1, tenant: 'b', name: 'cy' }),
        record('people', { id: 1, tenant: 'a', name: 'ann2' }),
        record('people', { id: 1, tenant: 'a', name: 'ann3' }),
      ];
      // Batches of 2 and 3: one key repeats within a batch and across batches.
      for (const batch of [2, 3, 100]) {
        await load(target({ load_method: loadMethod, batch_size_rows: batch }), ...messages);
      }
      expect(await rows(`SELECT tenant, id::int, name FROM "${schema}".people ORDER BY tenant, id`)).toEqual([
        { tenant: 'a', id: 1, name: 'ann3' },
        { tenant: 'a', id: 2, name: 'bo' },
        { tenant: 'b', id: 1, name: 'cy' },
      ]);
    },
  );

  it('adds a unique key to an existing table before upserting into it', async () => {
    await load(
      target({ load_method: 'append-only' }),
      schemaMsg('t', { id: ID, v: ID }),
      record('t', { id: 1, v: 1 }),
    );
    await load(
      target({ load_method: 'upsert' }),
      schemaMsg('t', { id: ID, v: ID }),
      record('t', { id: 1, v: 2 }),
    );
    expect(await rows(`SELECT id::int, v::int FROM "${schema}".t`)).toEqual([{ id: 1, v: 2 }]);
    // With duplicate keys already there, it cannot.
    await load(
      target({ load_method: 'append-only' }),
      schemaMsg('d', { id: ID }),
      record('d', { id: 1 }),
      record('d', { id: 1 }),
    );
    const error = await failure(load(target({ load_method: 'upsert' }), schemaMsg('d', { id: ID })));
    expect(error.message).toMatch(/already holds rows with the same "id".*append-only/);
  });

  it('refuses to upsert a stream without key properties, and keys missing from the schema', async () => {
    const error = await failure(
      load(target({ load_method: 'upsert' }), schemaMsg('log', { msg: { type: 'string' } }, [])),
    );
    expect(error.message).toMatch(/stream 'log' has no key properties, and load_method 'upsert' needs them/);
    expect(error.details).toMatchObject({ stream: 'log', setting: 'load_method' });
    await expect(load(target(), schemaMsg('t', { id: ID }, ['uid']))).rejects.toThrow(
      /key property 'uid', which is not in its schema/,
    );
  });

  it('overwrites: the first batch of a run empties the table, later batches add to it', async () => {
    await load(
      target({ load_method: 'overwrite' }),
      schemaMsg('t', { id: ID }),
      record('t', { id: 1 }),
      record('t', { id: 2 }),
      record('t', { id: 3 }),
    );
    await load(
      target({ load_method: 'overwrite', batch_size_rows: 1 }),
      schemaMsg('t', { id: ID }),
      record('t', { id: 4 }),
      record('t', { id: 5 }),
    );
    expect(await rows(`SELECT id::int FROM "${schema}".t ORDER BY id`)).toEqual([{ id: 4 }, { id: 5 }]);
    // A stream without records this run keeps its rows.
    await load(target({ load_method: 'overwrite' }), schemaMsg('t', { id: ID }));
    expect(await count('t')).toBe(2);
  });

  it('overwrites: holds every STATE until the run has loaded its last batch', async () => {
    // A state saved mid-run would let a failed run resume into a table emptied by this run.
    const emitted: unknown[] = [];
    const failing = async function* () {
      yield `${schemaMsg('t', { id: ID })}\n`;
      yield `${record('t', { id: 1 })}\n${state({ at: 1 })}\n`;
      yield `${record('t', { id: 2 })}\n${state({ at: 2 })}\n`;
      throw new Error('the tap died');
    };
    await expect(
      targetPostgres(
        target({ load_method: 'overwrite', batch_size_rows: 1 }),
        failing(),
        (v) => emitted.push(v),
        {
          projectRoot: process.cwd(),
        },
      ),
    ).rejects.toThrow('the tap died');
    expect(emitted).toEqual([]);
    const done = await load(
      target({ load_method: 'overwrite', batch_size_rows: 1 }),
      schemaMsg('t', { id: ID }),
      record('t', { id: 1 }),
      state({ at: 1 }),
      record('t', { id: 2 }),
      state({ at: 2 }),
    );
    expect(done).toEqual([{ at: 2 }]);
  });

  it('emits a STATE only once the rows before it are committed and visible to other sessions', async () => {
    const seen: { state: unknown; rows: number }[] = [];
    let lastState: unknown;
    const visible = async () => {
      const other = new pg.Client({ connectionString: ADMIN_URL });
      await other.connect();
      try {
        const table = await other.query(`SELECT to_regclass('"${schema}".t') IS NOT NULL AS ok`);
        if (!table.rows[0]?.ok) return 0;
        return Number((await other.query(`SELECT count(*) AS n FROM "${schema}".t`)).rows[0]?.n);
      } finally {
        await other.end();
      }
    };
    // After each STATE the generator (which runs when the target asks for more input) counts the
    // rows from another connection: what a crash right after saving that state would leave.
    async function* input(): AsyncGenerator<string> {
      yield schemaMsg('t', { id: ID });
      yield state({ s: 0 });
      seen.push({ state: lastState, rows: await visible() });
      yield record('t', { id: 1 });
      yield record('t', { id: 2 });
      yield state({ s: 1 });
      seen.push({ state: lastState, rows: await visible() });
      yield record('t', { id: 3 });
      yield record('t', { id: 4 });
      seen.push({ state: lastState, rows: await visible() });
      yield state({ s: 2 });
    }
    const emitted: unknown[] = [];
    await targetPostgres(
      target({ batch_size_rows: 3 }),
      input(),
      (value) => {
        lastState = value;
        emitted.push(value);
      },
      { projectRoot: process.cwd() },
    );
    expect(seen).toEqual([
      // Nothing pending: the state is passed on at once.
      { state: { s: 0 }, rows: 0 },
      // State 1 waits for the rows before it: nothing is loaded yet (batches of 3).
      { state: { s: 0 }, rows: 0 },
      // Record 3 filled the batch: records 1-3 are committed, so state 1 is passed on.
      { state: { s: 1 }, rows: 3 },
    ]);
    expect(emitted).toEqual([{ s: 0 }, { s: 1 }, { s: 2 }]);
    expect(await count('t')).toBe(4);
  });

  it('passes a failure of its input through, keeping nothing staged since the last commit', async () => {
    const died = new Error('the tap died');
    async function* input(): AsyncGenerator<string> {
      yield schemaMsg('t', { id: ID });
      yield record('t', { id: 1 });
      yield state({ s: 1 });
      throw died;
    }
    const emitted: unknown[] = [];
    await expect(
      targetPostgres(target(), input(), (v) => emitted.push(v), { projectRoot: process.cwd() }),
    ).rejects.toBe(died);
    expect(emitted).toEqual([]);
    expect(await count('t')).toBe(0);
  });

  it('adds the columns a SCHEMA gains, within a run and across runs', async () => {
    await load(target(), schemaMsg('t', { id: ID }), record('t', { id: 1 }));
    await load(
      target(),
      schemaMsg('t', { id: ID, extra: { type: 'string' } }),
      record('t', { id: 2, extra: 'x' }),
      schemaMsg('t', { id: ID, extra: { type: 'string' }, more: { type: 'object' } }),
      record('t', { id: 3, extra: 'y', more: { k: 1 } }),
    );
    expect(await rows(`SELECT id::int, extra, more FROM "${schema}".t ORDER BY id`)).toEqual([
      { id: 1, extra: null, more: null },
      { id: 2, extra: 'x', more: null },
      { id: 3, extra: 'y', more: { k: 1 } },
    ]);
  });

  it.each([
    [
      'a string for an integer',
      { id: 3, n: 'three' },
      /column 'n', input line 6: expected integer or null, found "three"/,
    ],
    [
      'a fraction for an integer',
      { id: 3, n: 1.5 },
      /column 'n', input line 6: expected integer or null, found 1\.5 \(invalid input syntax for type bigint/,
    ],
    [
      'a malformed date-time',
      { id: 3, ts: 'soon' },
      /column 'ts', input line 6: expected string \(date-time\) or null, found "soon" \(invalid input syntax for type timestamp/,
    ],
    [
      'an object for a string',
      { id: 3, s: { a: 1 } },
      /column 's', input line 6: expected string or null, found \{"a": 1\}/,
    ],
  ])(
    'fails the batch on %s, naming stream, column and line, and emits no state after it',
    async (_, bad, message) => {
      const emitted: unknown[] = [];
      const props = {
        id: ID,
        n: { type: ['null', 'integer'] },
        ts: { type: ['null', 'string'], format: 'date-time' },
        s: { type: ['null', 'string'] },
      };
      const run = targetPostgres(
        target({ batch_size_rows: 2 }),
        lines(
          schemaMsg('t', props),
          record('t', { id: 1, n: 1 }),
          record('t', { id: 2, n: 2 }),
          state({ s: 1 }),
          record('t', { id: 4, n: 4 }),
          record('t', bad),
          state({ s: 2 }),
        ),
        (v) => emitted.push(v),
        { projectRoot: process.cwd() },
      );
      const error = await failure(run);
      expect(error.message).toMatch(/^target-postgres: stream 't', /);
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/Nothing of this batch was loaded/);
      expect(error.details).toMatchObject({ stream: 't', line: 6 });
      expect(emitted).toEqual([{ s: 1 }]);
      expect(await rows(`SELECT id::int FROM "${schema}".t ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
    },
  );

  it('names the input line of a RECORD that is not valid JSON', async () => {
    const error = await failure(
      load(
        target(),
        schemaMsg('t', { id: ID }),
        record('t', { id: 1 }),
        '{"type":"RECORD","stream":"t","record":{"id":2,}}',
      ),
    );
    expect(error.message).toMatch(/input line 3 \(stream 't'\): the RECORD is not valid JSON/);
    expect(await count('t')).toBe(0);
  });

  it('removes \\u0000 with sanitize_null_text_characters, and explains the failure without it', async () => {
    const line = '{"type":"RECORD","stream":"t","record":{"id":1,"s":"a\\u0000b\\\\u0000c"}}';
    const error = await failure(load(target(), schemaMsg('t', { id: ID, s: { type: 'string' } }), line));
    expect(error.message).toMatch(/input line 2.*\\u0000.*sanitize_null_text_characters/);
    await load(
      target({ sanitize_null_text_characters: true }),
      schemaMsg('t', { id: ID, s: { type: 'string' } }),
      line,
    );
    expect(await rows(`SELECT s FROM "${schema}".t`)).toEqual([{ s: 'ab\\u0000c' }]);
  });

  it('connects with sqlalchemy_url', async () => {
    const url = `postgresql+psycopg2://${SERVER.user}@${SERVER.host}:${SERVER.port}/${SERVER.database}`;
    await load(
      { sqlalchemy_url: url, default_target_schema: schema, add_record_metadata: false },
      schemaMsg('t', { id: ID }),
      record('t', { id: 1 }),
    );
    expect(await count('t')).toBe(1);
  });

  it('says what to check when the server cannot be reached, never quoting the password', async () => {
    const error = await failure(
      load(target({ port: 1, password: 'hunter2-secret' }), schemaMsg('t', { id: ID })),
    );
    expect(error.code).toBe('run_failed');
    expect(error.message).toMatch(
      new RegExp(`cannot reach PostgreSQL at ${SERVER.host}:1 .*Check 'host' and 'port'`),
    );
    expect(error.message).not.toContain('hunter2-secret');
    expect(JSON.stringify(error.details)).not.toContain('hunter2-secret');

    const url = `postgresql://${SERVER.user}:hunter2-secret@${SERVER.host}:1/${SERVER.database}`;
    const fromUrl = await failure(load({ sqlalchemy_url: url }, schemaMsg('t', { id: ID })));
    expect(fromUrl.message).toMatch(/Check 'sqlalchemy_url' \('host' and 'port'\)/);
    expect(fromUrl.message).not.toContain('hunter2-secret');
  });

  it('says when the database does not exist, or the server refuses SSL that is required', async () => {
    const missing = await failure(
      load(target({ database: `no_such_db_${schema}` }), schemaMsg('t', { id: ID })),
    );
    expect(missing.code).toBe('run_failed');
    expect(missing.message).toMatch(
      new RegExp(`database 'no_such_db_${schema}' does not exist.*Check 'database'`),
    );

    const ssl = await failure(
      load(target({ ssl_enable: true, ssl_mode: 'require' }), schemaMsg('t', { id: ID })),
    );
    expect(ssl.code).toBe('run_failed');
    expect(ssl.message).toMatch(/does not support SSL.*Check 'ssl_enable', 'ssl_mode'/);
  });

  it('adds the _sdc_* metadata columns by default, and hard-deletes rows marked deleted', async () => {
    const props = { id: ID, _sdc_deleted_at: { type: ['null', 'string'], format: 'date-time' } };
    await load(
      target({ add_record_metadata: undefined }),
      schemaMsg('t', props),
      record('t', { id: 1 }, { time_extracted: '2024-01-02T00:00:00Z', version: 7 }),
      record('t', { id: 2 }),
    );
    expect(
      await rows(
        `SELECT id::int, _sdc_extracted_at = '2024-01-02T00:00:00Z' AS extracted, _sdc_received_at IS NOT NULL AS received, _sdc_batched_at IS NOT NULL AS batched, _sdc_deleted_at, _sdc_sequence > 0 AS sequence, _sdc_table_version::int AS version, _sdc_sync_started_at > 0 AS started FROM "${schema}".t ORDER BY id`,
      ),
    ).toEqual([
      {
        id: 1,
        extracted: true,
        received: true,
        batched: true,
        _sdc_deleted_at: null,
        sequence: true,
        version: 7,
        started: true,
      },
      {
        id: 2,
        extracted: null,
        received: true,
        batched: true,
        _sdc_deleted_at: null,
        sequence: true,
        version: null,
        started: true,
      },
    ]);
    await load(
      target({ add_record_metadata: true, hard_delete: true }),
      schemaMsg('t', props),
      record('t', { id: 1, _sdc_deleted_at: '2024-02-01T00:00:00Z' }),
    );
    expect(await rows(`SELECT id::int FROM "${schema}".t`)).toEqual([{ id: 2 }]);
  });

  it('applies ACTIVATE_VERSION: older rows are marked deleted, or deleted with hard_delete', async () => {
    const props = { code: { type: 'string' } };
    const sync = (version: number, ...codes: string[]) => [
      schemaMsg('c', props, ['code']),
      JSON.stringify({ type: 'ACTIVATE_VERSION', stream: 'c', version }),
      ...codes.map((code) => record('c', { code }, { version })),
      JSON.stringify({ type: 'ACTIVATE_VERSION', stream: 'c', version }),
    ];
    await load(target({ add_record_metadata: true }), ...sync(1, 'AF', 'EU'));
    await load(target({ add_record_metadata: true }), ...sync(2, 'EU'));
    expect(
      await rows(`SELECT code, _sdc_deleted_at IS NOT NULL AS deleted FROM "${schema}".c ORDER BY code`),
    ).toEqual([
      { code: 'AF', deleted: true },
      { code: 'EU', deleted: false },
    ]);
    await load(target({ add_record_metadata: true, hard_delete: true }), ...sync(3, 'AS'));
    expect(await rows(`SELECT code FROM "${schema}".c`)).toEqual([{ code: 'AS' }]);
  });

  it('reads RECORD lines in any key order, several per item, with CR line ends, and escaped stream names', async () => {
    const stream = `${schema}-a"b`;
    await load(
      target({ default_target_schema: '' }),
      schemaMsg(stream, { id: ID }),
      JSON.stringify({ record: { id: 1 }, stream, type: 'RECORD' }),
      `${JSON.stringify({ type: 'RECORD', stream, record: { id: 2 } })}\n${record(stream, { id: 3 })}\n`,
      `{"type":"RECORD",\r"stream":${JSON.stringify(stream)},"record":{"id":4}}\r\n`,
    );
    // With an empty default_target_schema, `<schema>-<table>` streams name their schema.
    expect(await rows(`SELECT id::int FROM "${schema}"."a""b" ORDER BY id`)).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
      { id: 4 },
    ]);
  });

  it('refuses records before their SCHEMA, and BATCH messages', async () => {
    await expect(load(target(), record('t', { id: 1 }))).rejects.toThrow(
      /RECORD for stream 't' before its SCHEMA/,
    );
    await expect(
      load(
        target(),
        schemaMsg('t', { id: ID }),
        JSON.stringify({
          type: 'BATCH',
          stream: 't',
          encoding: { format: 'jsonl' },
          manifest: ['file:///x'],
        }),
      ),
    ).rejects.toThrow(/BATCH messages .* are not supported/);
  });

  it('bulk-loads 100,000 rows through COPY', async () => {
    const total = 100_000;
    async function* input(): AsyncGenerator<string> {
      yield schemaMsg('bulk', { id: ID, name: { type: 'string' }, score: { type: 'number' } });
      for (let start = 0; start < total; start += 1000) {
        const chunk: string[] = [];
        for (let i = start; i < start + 1000; i++)
          chunk.push(record('bulk', { id: i, name: `row ${i}`, score: i / 4 }));
        yield `${chunk.join('\n')}\n`;
      }
      yield state({ done: true });
    }
    const emitted: unknown[] = [];
    await targetPostgres(target({ batch_size_rows: 30_000 }), input(), (v) => emitted.push(v), {
      projectRoot: process.cwd(),
    });
    expect(emitted).toEqual([{ done: true }]);
    expect(
      await rows(
        `SELECT count(*)::int AS n, sum(id)::text AS ids, sum(score)::text AS scores FROM "${schema}".bulk`,
      ),
    ).toEqual([
      { n: total, ids: String((total * (total - 1)) / 2), scores: `${(total * (total - 1)) / 8}.00` },
    ]);
  });
});
