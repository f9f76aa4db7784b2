import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { duckdbType, targetDuckdb } from '../../../src/plugins/builtin/target-duckdb.js';
import { queryDuckdb } from '../../helpers/duckdb.js';
import { runInProcess } from '../../helpers/in-process-cli.js';
import { lines, recordMessage, schemaMessage, stateMessage } from '../../helpers/singer-lines.js';
import { tempProject } from '../../helpers/temp-project.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-target-duckdb-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const schema = schemaMessage;
const record = recordMessage;
const state = stateMessage;

const ID = { type: 'integer' };

describe('duckdbType', () => {
  it('maps JSON-schema types to DuckDB types', () => {
    expect(duckdbType({ type: ['null', 'integer'] })).toBe('BIGINT');
    expect(duckdbType({ type: 'number' })).toBe('DOUBLE');
    expect(duckdbType({ type: 'boolean' })).toBe('BOOLEAN');
    expect(duckdbType({ type: 'string' })).toBe('VARCHAR');
    expect(duckdbType({ type: 'string', format: 'date-time' })).toBe('TIMESTAMPTZ');
    expect(duckdbType({ type: 'string', format: 'date' })).toBe('DATE');
    expect(duckdbType({ type: 'object', properties: {} })).toBe('JSON');
    expect(duckdbType({ type: 'array', items: {} })).toBe('JSON');
    expect(duckdbType({ anyOf: [{ type: 'null' }, { type: 'integer' }] })).toBe('BIGINT');
    expect(duckdbType({ type: ['string', 'integer'] })).toBe('VARCHAR');
    expect(duckdbType({})).toBe('JSON');
  });
});

describe('targetDuckdb', () => {
  it('creates a typed, nullable table per stream and loads values, nulls and nested JSON', async () => {
    const props = {
      id: ID,
      price: { type: ['null', 'number'] },
      active: { type: ['null', 'boolean'] },
      name: { type: ['null', 'string'] },
      ts: { type: ['null', 'string'], format: 'date-time' },
      day: { type: ['null', 'string'], format: 'date' },
      meta: { type: ['null', 'object'], properties: {} },
      tags: { type: ['null', 'array'], items: { type: 'string' } },
    };
    await targetDuckdb(
      { filepath: 'output/warehouse.duckdb', primary_key_required: true },
      lines(
        schema('items', props),
        record('items', {
          id: 1,
          price: 2.5,
          active: true,
          name: "O'Neil",
          ts: '2024-01-02T03:04:05Z',
          day: '2024-01-02',
          meta: { a: { b: [1, 2] } },
          tags: ['x', 'y'],
        }),
        record('items', { id: 2, price: null, active: null, name: null, ts: null, meta: null }),
      ),
      () => {},
      { projectRoot: root },
    );
    const file = join(root, 'output', 'warehouse.duckdb');
    const columns = await queryDuckdb(
      file,
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position",
    );
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ['id', 'BIGINT', 'YES'],
      ['price', 'DOUBLE', 'YES'],
      ['active', 'BOOLEAN', 'YES'],
      ['name', 'VARCHAR', 'YES'],
      ['ts', 'TIMESTAMP WITH TIME ZONE', 'YES'],
      ['day', 'DATE', 'YES'],
      ['meta', 'JSON', 'YES'],
      ['tags', 'JSON', 'YES'],
    ]);
    const rows = await queryDuckdb(
      file,
      "SELECT id, price, active, name, epoch(ts) AS ts, CAST(day AS VARCHAR) AS day, meta->'$.a.b'->>1 AS b, tags->>0 AS tag, meta IS NULL AS no_meta FROM main.items ORDER BY id",
    );
    expect(rows).toEqual([
      {
        id: '1',
        price: 2.5,
        active: true,
        name: "O'Neil",
        ts: Date.UTC(2024, 0, 2, 3, 4, 5) / 1000,
        day: '2024-01-02',
        b: '2',
        tag: 'x',
        no_meta: false,
      },
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
      },
    ]);
  });

  it('upserts on key properties: the last record of a key wins and a rerun adds no duplicates', async () => {
    const messages = () =>
      lines(
        schema('people', { id: ID, name: { type: 'string' } }),
        record('people', { id: 1, name: 'ann' }),
        record('people', { id: 2, name: 'bo' }),
        record('people', { id: 1, name: 'ann2' }),
      );
    const config = { path: join(root, 'db.duckdb'), batch_size_rows: 2 };
    await targetDuckdb(config, messages(), () => {}, { projectRoot: root });
    await targetDuckdb(config, messages(), () => {}, { projectRoot: root });
    expect(await queryDuckdb(join(root, 'db.duckdb'), 'SELECT id, name FROM people ORDER BY id')).toEqual([
      { id: '1', name: 'ann2' },
      { id: '2', name: 'bo' },
    ]);
  });

  it('upserts like a map across many runs and batches, repeated keys within a batch included', async () => {
    // A reference model: each record replaces its key's row. Random keys over a small range, so
    // batches repeat keys and runs update rows other runs (and checkpoints in between) left.
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    const expected = new Map<number, string>();
    const file = join(root, 'map.duckdb');
    for (let run = 0; run < 6; run++) {
      const records: string[] = [];
      for (let i = 0; i < 40; i++) {
        const id = next() % 25;
        const name = `r${run}-${i}`;
        expected.set(id, name);
        records.push(record('people', { id, name }));
      }
      const config = { path: file, batch_size_rows: 1 + (next() % 9) };
      await targetDuckdb(
        config,
        lines(schema('people', { id: ID, name: { type: 'string' } }), ...records),
        () => {},
        {
          projectRoot: root,
        },
      );
      const got = await queryDuckdb(file, 'SELECT id, name FROM people ORDER BY id');
      expect(got).toEqual(
        [...expected.entries()].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id: String(id), name })),
      );
    }
  });

  it('appends without keys when primary_key_required is false, and refuses keyless streams by default', async () => {
    const messages = () => lines(schema('log', { msg: { type: 'string' } }, []), record('log', { msg: 'a' }));
    const file = join(root, 'db.duckdb');
    await expect(
      targetDuckdb({ filepath: file }, messages(), () => {}, { projectRoot: root }),
    ).rejects.toThrow(/no key properties/);
    await targetDuckdb({ filepath: file, primary_key_required: false }, messages(), () => {}, {
      projectRoot: root,
    });
    await targetDuckdb({ filepath: file, primary_key_required: false }, messages(), () => {}, {
      projectRoot: root,
    });
    expect(await queryDuckdb(file, 'SELECT count(*)::INTEGER AS n FROM log')).toEqual([{ n: 2 }]);
  });

  it('emits a STATE only once the rows before it are committed and queryable', async () => {
    const file = join(root, 'db.duckdb');
    const seen: { state: unknown; rows: unknown }[] = [];
    let lastState: unknown;
    // After each STATE the generator (which runs when the target asks for more input) reads the
    // database from another instance: what a crash right after saving that state would leave.
    async function* input(): AsyncGenerator<string> {
      yield schema('t', { id: ID });
      yield state({ s: 0 });
      seen.push({ state: lastState, rows: await queryDuckdb(file, 'SELECT count(*)::INTEGER AS n FROM t') });
      yield record('t', { id: 1 });
      yield record('t', { id: 2 });
      yield state({ s: 1 });
      yield record('t', { id: 3 });
      yield record('t', { id: 4 });
      seen.push({ state: lastState, rows: await queryDuckdb(file, 'SELECT count(*)::INTEGER AS n FROM t') });
      yield state({ s: 2 });
    }
    const emitted: unknown[] = [];
    await targetDuckdb(
      { filepath: file, batch_size_rows: 3 },
      input(),
      (value) => {
        lastState = value;
        emitted.push(value);
      },
      { projectRoot: root },
    );
    expect(seen).toEqual([
      // Nothing pending: the state is passed on at once.
      { state: { s: 0 }, rows: [{ n: 0 }] },
      // State 1 waited for the batch of 3 (records 1-3) to be committed.
      { state: { s: 1 }, rows: [{ n: 3 }] },
    ]);
    expect(emitted).toEqual([{ s: 0 }, { s: 1 }, { s: 2 }]);
    expect(await queryDuckdb(file, 'SELECT count(*)::INTEGER AS n FROM t')).toEqual([{ n: 4 }]);
  });

  it('holds a STATE until its rows are loaded (the batch fills or the input ends)', async () => {
    const file = join(root, 'db.duckdb');
    const order: string[] = [];
    async function* input(): AsyncGenerator<string> {
      yield schema('t', { id: ID });
      yield record('t', { id: 1 });
      order.push('state 1 read');
      yield state({ s: 1 });
      order.push('record 2 read');
      yield record('t', { id: 2 });
      order.push('state 2 read');
      yield state({ s: 2 });
    }
    await targetDuckdb(
      { filepath: file, batch_size_rows: 2 },
      input(),
      (v) => order.push(`state ${JSON.stringify(v)}`),
      {
        projectRoot: root,
      },
    );
    // State 1 vouches for record 1 only, which is loaded with record 2 when the batch of 2 fills.
    expect(order).toEqual([
      'state 1 read',
      'record 2 read',
      'state {"s":1}',
      'state 2 read',
      'state {"s":2}',
    ]);
  });

  it('uses default_target_schema and schema_mapping for the tables', async () => {
    const file = join(root, 'db.duckdb');
    await targetDuckdb(
      {
        filepath: file,
        default_target_schema: 'raw',
        schema_mapping: { public: { target_schema: 'app' } },
      },
      lines(
        schema('users', { id: ID }),
        schema('public-orders', { id: ID }),
        record('users', { id: 1 }),
        record('public-orders', { id: 7 }),
      ),
      () => {},
      { projectRoot: root },
    );
    expect(await queryDuckdb(file, 'SELECT id FROM raw.users')).toEqual([{ id: '1' }]);
    expect(await queryDuckdb(file, 'SELECT id FROM app.orders')).toEqual([{ id: '7' }]);
  });

  it('adds metadata columns and hard-deletes rows marked deleted', async () => {
    const file = join(root, 'db.duckdb');
    const props = { id: ID, _sdc_deleted_at: { type: ['null', 'string'] } };
    await targetDuckdb(
      { filepath: file, add_metadata_columns: true },
      lines(
        schema('t', props),
        record('t', { id: 1 }, { time_extracted: '2024-01-02T00:00:00Z' }),
        record('t', { id: 2 }),
      ),
      () => {},
      { projectRoot: root },
    );
    expect(
      await queryDuckdb(
        file,
        'SELECT id, epoch(_sdc_extracted_at) AS e, _sdc_batched_at IS NOT NULL AS b FROM t ORDER BY id',
      ),
    ).toEqual([
      { id: '1', e: Date.UTC(2024, 0, 2) / 1000, b: true },
      { id: '2', e: null, b: true },
    ]);
    await targetDuckdb(
      { filepath: file, hard_delete: true },
      lines(schema('t', props), record('t', { id: 1, _sdc_deleted_at: '2024-02-01T00:00:00Z' })),
      () => {},
      { projectRoot: root },
    );
    expect(await queryDuckdb(file, 'SELECT id FROM t ORDER BY id')).toEqual([{ id: '2' }]);
  });

  it('widens an existing table when the schema gains a property', async () => {
    const file = join(root, 'db.duckdb');
    await targetDuckdb({ filepath: file }, lines(schema('t', { id: ID }), record('t', { id: 1 })), () => {}, {
      projectRoot: root,
    });
    await targetDuckdb(
      { filepath: file },
      lines(schema('t', { id: ID, extra: { type: 'string' } }), record('t', { id: 2, extra: 'x' })),
      () => {},
      { projectRoot: root },
    );
    expect(await queryDuckdb(file, 'SELECT id, extra FROM t ORDER BY id')).toEqual([
      { id: '1', extra: null },
      { id: '2', extra: 'x' },
    ]);
  });

  it('fails the load on a value of the wrong type, committing nothing of that batch and no state', async () => {
    const file = join(root, 'db.duckdb');
    const emitted: unknown[] = [];
    await expect(
      targetDuckdb(
        { filepath: file, batch_size_rows: 2 },
        lines(
          schema('t', { id: ID }),
          record('t', { id: 1 }),
          record('t', { id: 2 }),
          state({ s: 1 }),
          record('t', { id: 3 }),
          record('t', { id: 'three' }),
          state({ s: 2 }),
        ),
        (v) => emitted.push(v),
        { projectRoot: root },
      ),
    ).rejects.toThrow(/loading a batch failed.*three/s);
    expect(emitted).toEqual([{ s: 1 }]);
    expect(await queryDuckdb(file, 'SELECT id FROM t ORDER BY id')).toEqual([{ id: '1' }, { id: '2' }]);
  });

  it('reads RECORD lines in any key order and with escaped stream names', async () => {
    const file = join(root, 'db.duckdb');
    await targetDuckdb(
      { filepath: file },
      lines(
        schema('a"b', { id: ID }),
        JSON.stringify({ record: { id: 1 }, stream: 'a"b', type: 'RECORD' }),
        `${JSON.stringify({ type: 'RECORD', stream: 'a"b', record: { id: 2 } })}\n${record('a"b', { id: 3 })}\n`,
      ),
      () => {},
      { projectRoot: root },
    );
    expect(await queryDuckdb(file, 'SELECT id FROM "a""b" ORDER BY id')).toEqual([
      { id: '1' },
      { id: '2' },
      { id: '3' },
    ]);
  });

  it('refuses a missing filepath, and records before their SCHEMA', async () => {
    await expect(targetDuckdb({}, lines(), () => {}, { projectRoot: root })).rejects.toThrow(/filepath/);
    await expect(
      targetDuckdb({ filepath: join(root, 'db.duckdb') }, lines(record('t', { id: 1 })), () => {}, {
        projectRoot: root,
      }),
    ).rejects.toThrow(/before its SCHEMA/);
  });
});

const MELTANO_YML = `
default_environment: dev
plugins:
  extractors:
  - name: tap-csv
    variant: meltanolabs
    config:
      files:
      - entity: people
        path: data/dev.csv
        keys: [id]
  loaders:
  - name: target-duckdb
    variant: jwills
    config:
      filepath: \${MELTANO_PROJECT_ROOT}/output/dev.duckdb
      default_target_schema: tap_csv
environments:
- name: dev
- name: prod
  config:
    plugins:
      extractors:
      - name: tap-csv
        config:
          files:
          - entity: people
            path: data/prod.csv
            keys: [id]
      loaders:
      - name: target-duckdb
        config:
          filepath: \${MELTANO_PROJECT_ROOT}/output/prod.duckdb
`;

describe('sluice run tap-csv target-duckdb', () => {
  // Skipped until src/runs/run-pipeline.ts calls targetDuckdb for a loader whose builtinFor(...) is
  // 'target-duckdb' (it refuses it as "not wired yet" today). Passes with that dispatch in place.
  it("loads each environment's CSV into that environment's database, without duplicates on rerun", async () => {
    const project = tempProject({
      'meltano.yml': MELTANO_YML,
      'data/dev.csv': 'id,name\n1,dev-ann\n2,dev-bo\n',
      'data/prod.csv': 'id,name\n10,prod-cy\n11,prod-di\n12,prod-ed\n',
    });
    const dev = await runInProcess(['run', 'tap-csv', 'target-duckdb'], project);
    expect(dev.stderr).not.toContain('error');
    expect(dev.status).toBe(0);
    const prod = await runInProcess(['--environment', 'prod', 'run', 'tap-csv', 'target-duckdb'], project);
    expect(prod.status).toBe(0);
    // A rerun (full refresh, so every row is sent again) leaves no duplicates.
    const again = await runInProcess(
      ['--environment', 'prod', 'run', 'tap-csv', 'target-duckdb', '--full-refresh'],
      project,
    );
    expect(again.status).toBe(0);

    const sql = 'SELECT id, name FROM tap_csv.people ORDER BY id';
    expect(await queryDuckdb(join(project, 'output/dev.duckdb'), sql)).toEqual([
      { id: '1', name: 'dev-ann' },
      { id: '2', name: 'dev-bo' },
    ]);
    expect(await queryDuckdb(join(project, 'output/prod.duckdb'), sql)).toEqual([
      { id: '10', name: 'prod-cy' },
      { id: '11', name: 'prod-di' },
      { id: '12', name: 'prod-ed' },
    ]);
  });
});
