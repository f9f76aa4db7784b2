import { describe, expect, it } from 'vitest';
import {
  applyCatalogRules,
  applySelectFilter,
  type Catalog,
  type CatalogRules,
  type CatalogStream,
  selectedStreams,
} from '../../../src/plugins/singer/catalog-rules.js';

/** Two streams as a tap's discovery writes them: metadata for the stream and top-level properties only. */
function discovered(): Catalog {
  return {
    streams: [
      {
        tap_stream_id: 'users',
        stream: 'users',
        schema: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            email: { type: 'string', description: 'work email' },
            password: { type: 'string' },
            secret: { type: 'string' },
            address: {
              type: 'object',
              properties: { city: { type: 'string' }, zip: { type: 'string' } },
            },
          },
        },
        metadata: [
          { breadcrumb: [], metadata: { inclusion: 'available', 'table-key-properties': ['id'] } },
          { breadcrumb: ['properties', 'id'], metadata: { inclusion: 'automatic' } },
          { breadcrumb: ['properties', 'email'], metadata: { inclusion: 'available' } },
          { breadcrumb: ['properties', 'password'], metadata: { inclusion: 'available' } },
          { breadcrumb: ['properties', 'secret'], metadata: { inclusion: 'unsupported' } },
          { breadcrumb: ['properties', 'address'], metadata: { inclusion: 'available' } },
        ],
      },
      {
        tap_stream_id: 'orders',
        stream: 'orders',
        schema: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            amount: { type: 'number' },
            updated_at: { type: 'string', format: 'date-time' },
          },
        },
        metadata: [
          { breadcrumb: [], metadata: { inclusion: 'available' } },
          { breadcrumb: ['properties', 'id'], metadata: { inclusion: 'automatic' } },
          { breadcrumb: ['properties', 'amount'], metadata: { inclusion: 'available' } },
          { breadcrumb: ['properties', 'updated_at'], metadata: { inclusion: 'available' } },
        ],
      },
    ],
  };
}

function stream(catalog: Catalog, id: string): CatalogStream {
  const found = catalog.streams.find((s) => s.tap_stream_id === id);
  if (found === undefined) throw new Error(`no stream ${id}`);
  return found;
}

function propertiesOf(catalog: Catalog, id: string): Record<string, unknown> {
  return (stream(catalog, id).schema?.properties ?? {}) as Record<string, unknown>;
}

/** The metadata of a node: `users` for the stream, `users.address.city` for a property. */
function metadataOf(catalog: Catalog, path: string): Readonly<Record<string, unknown>> | undefined {
  const [id = '', ...props] = path.split('.');
  const breadcrumb = props.flatMap((p) => ['properties', p]);
  return stream(catalog, id).metadata?.find((entry) => entry.breadcrumb.join('.') === breadcrumb.join('.'))
    ?.metadata;
}

/** The `selected` metadata Meltano writes, for each node named. */
function selectedFlags(catalog: Catalog, paths: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(paths.map((path) => [path, metadataOf(catalog, path)?.selected]));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const USERS_NODES = [
  'users',
  'users.id',
  'users.email',
  'users.password',
  'users.secret',
  'users.address',
  'users.address.city',
  'users.address.zip',
];
const ORDERS_NODES = ['orders', 'orders.id', 'orders.amount', 'orders.updated_at'];

describe('applyCatalogRules: select', () => {
  for (const { rule, select, flags } of [
    {
      rule: 'selects every stream and property by default (*.*), nested ones included, unsupported ones not',
      select: undefined,
      flags: {
        users: true,
        'users.id': true,
        'users.email': true,
        'users.password': true,
        'users.secret': false,
        'users.address': true,
        'users.address.city': true,
        'users.address.zip': true,
        orders: true,
        'orders.amount': true,
      },
    },
    {
      rule: 'selects nothing with an empty select list',
      select: [],
      flags: { users: false, 'users.id': false, 'users.email': false, orders: false, 'orders.amount': false },
    },
    {
      rule: 'selects a stream with stream.* and excludes a property with !stream.property',
      select: ['users.*', '!users.password'],
      flags: {
        users: true,
        'users.email': true,
        'users.password': false,
        'users.address.city': true,
        orders: false,
        'orders.id': false,
      },
    },
    {
      rule: 'applies exclusions after inclusions, whatever their order in the list',
      select: ['!users.password', 'users.*'],
      flags: { users: true, 'users.email': true, 'users.password': false },
    },
    {
      rule: 'selects only the properties named, and their stream',
      select: ['users.id', 'users.email'],
      flags: {
        users: true,
        'users.id': true,
        'users.email': true,
        'users.password': false,
        'users.address': false,
        'users.address.city': false,
        orders: false,
      },
    },
    {
      rule: 'selects a nested property and its parents, not its siblings',
      select: ['users.address.city'],
      flags: {
        users: true,
        'users.address': true,
        'users.address.city': true,
        'users.address.zip': false,
        'users.email': false,
      },
    },
    {
      rule: 'excludes a nested property',
      select: ['users.*', '!users.address.zip'],
      flags: { 'users.address': true, 'users.address.city': true, 'users.address.zip': false },
    },
    {
      rule: 'treats a stream-only pattern as stream.*',
      select: ['users'],
      flags: { users: true, 'users.email': true, 'users.address.zip': true, orders: false },
    },
    {
      rule: 'excludes a whole stream with !stream',
      select: ['*.*', '!orders'],
      flags: { users: true, 'users.email': true, orders: false, 'orders.id': false, 'orders.amount': false },
    },
    {
      rule: 'excludes a whole stream with !stream.*',
      select: ['*.*', '!orders.*'],
      flags: { users: true, orders: false, 'orders.amount': false },
    },
    {
      rule: 'keeps the stream selected when some of its properties are excluded',
      select: ['*.*', '!orders.amount'],
      flags: { orders: true, 'orders.id': true, 'orders.amount': false, 'orders.updated_at': true },
    },
    {
      rule: 'matches streams and properties with ? and [] globs',
      select: ['order?.*', '[u]sers.[ep]*'],
      flags: {
        orders: true,
        'orders.amount': true,
        users: true,
        'users.email': true,
        'users.password': true,
        'users.id': false,
      },
    },
    {
      rule: 'never selects an unsupported property, even by name',
      select: ['users.secret'],
      flags: { users: true, 'users.secret': false },
    },
  ] satisfies { rule: string; select: string[] | undefined; flags: Record<string, boolean> }[]) {
    it(rule, () => {
      const result = applyCatalogRules(discovered(), select === undefined ? {} : { select });
      expect(selectedFlags(result, Object.keys(flags))).toEqual(flags);
    });
  }

  it('sets selected on the stream object too, for taps that read legacy catalogs', () => {
    const result = applyCatalogRules(discovered(), { select: ['users.*'] });
    expect(stream(result, 'users').selected).toBe(true);
    expect(stream(result, 'orders').selected).toBe(false);
  });

  it('adds metadata the tap left out: automatic for top-level properties, available for nested ones', () => {
    const result = applyCatalogRules(discovered(), { select: ['users.id'] });
    expect(metadataOf(result, 'users.address.city')).toEqual({ inclusion: 'available', selected: false });
    expect(metadataOf(result, 'users.id')).toEqual({ inclusion: 'automatic', selected: true });
  });

  it('adds stream metadata to a stream that has none', () => {
    const catalog: Catalog = {
      streams: [{ tap_stream_id: 'legacy', schema: { properties: { a: { type: 'string' } } } }],
    };
    const result = applyCatalogRules(catalog, {});
    expect(stream(result, 'legacy').metadata).toEqual([
      { breadcrumb: [], metadata: { inclusion: 'automatic', selected: true } },
      { breadcrumb: ['properties', 'a'], metadata: { inclusion: 'automatic', selected: true } },
    ]);
  });

  it('reads an escaped dot as part of the stream name', () => {
    const catalog: Catalog = {
      streams: [
        { tap_stream_id: 'public.users', schema: { properties: { id: {} } }, metadata: [] },
        { tap_stream_id: 'public', schema: { properties: { users: {} } }, metadata: [] },
      ],
    };
    const result = applyCatalogRules(catalog, { select: ['public\\.users.*'] });
    expect(metadataOf(result, 'public')?.selected).toBe(false);
    expect(stream(result, 'public.users').metadata?.map((e) => e.metadata.selected)).toEqual([true, true]);
  });

  it('does not change the catalog it is given', () => {
    const input = deepFreeze(discovered());
    const rules: CatalogRules = deepFreeze({
      select: ['users.*', '!users.password'],
      metadata: { '*': { 'replication-method': 'FULL_TABLE' } },
      schema: { users: { extra: { type: 'string' } } },
    });
    applyCatalogRules(input, rules);
    expect(input).toEqual(discovered());
  });
});

describe('applyCatalogRules: metadata', () => {
  it('sets stream metadata, and the underscored key on the stream object', () => {
    const result = applyCatalogRules(discovered(), {
      metadata: { orders: { 'replication-method': 'INCREMENTAL', 'replication-key': 'updated_at' } },
    });
    expect(metadataOf(result, 'orders')).toMatchObject({
      'replication-method': 'INCREMENTAL',
      'replication-key': 'updated_at',
    });
    expect(stream(result, 'orders')).toMatchObject({
      replication_method: 'INCREMENTAL',
      replication_key: 'updated_at',
    });
    expect(metadataOf(result, 'users')).not.toHaveProperty('replication-method');
  });

  it('sets metadata on every stream matching a wildcard', () => {
    const result = applyCatalogRules(discovered(), {
      metadata: { '*': { 'replication-method': 'FULL_TABLE' } },
    });
    expect(metadataOf(result, 'users')?.['replication-method']).toBe('FULL_TABLE');
    expect(metadataOf(result, 'orders')?.['replication-method']).toBe('FULL_TABLE');
    expect(metadataOf(result, 'orders.amount')).not.toHaveProperty('replication-method');
  });

  for (const { rule, metadata } of [
    { rule: 'as a dotted pattern', metadata: { 'users.email': { 'is-pii': true } } },
    { rule: 'as nested objects', metadata: { users: { email: { 'is-pii': true } } } },
  ]) {
    it(`sets property metadata given ${rule}`, () => {
      const result = applyCatalogRules(discovered(), { metadata });
      expect(metadataOf(result, 'users.email')).toEqual({
        inclusion: 'available',
        selected: true,
        'is-pii': true,
      });
      expect(metadataOf(result, 'users.password')).not.toHaveProperty('is-pii');
    });
  }

  it('sets nested property metadata and property wildcards', () => {
    const result = applyCatalogRules(discovered(), {
      metadata: { 'users.address.city': { 'sql-datatype': 'text' }, 'orders.*': { custom: 1 } },
    });
    expect(metadataOf(result, 'users.address.city')?.['sql-datatype']).toBe('text');
    expect(metadataOf(result, 'users.address')).not.toHaveProperty('sql-datatype');
    expect(ORDERS_NODES.slice(1).map((path) => metadataOf(result, path)?.custom)).toEqual([1, 1, 1]);
    expect(metadataOf(result, 'orders')).not.toHaveProperty('custom');
  });

  it('keeps list values whole', () => {
    const result = applyCatalogRules(discovered(), {
      metadata: { orders: { 'table-key-properties': ['id'] } },
    });
    expect(metadataOf(result, 'orders')?.['table-key-properties']).toEqual(['id']);
  });

  it('applies metadata after select, so selected set there wins', () => {
    const result = applyCatalogRules(discovered(), {
      select: ['users.*', '!users.password'],
      metadata: { 'users.password': { selected: true } },
    });
    expect(metadataOf(result, 'users.password')?.selected).toBe(true);
  });
});

describe('applyCatalogRules: schema', () => {
  it('replaces the schema of a property', () => {
    const result = applyCatalogRules(discovered(), {
      schema: { users: { email: { type: ['string', 'null'] } } },
    });
    const properties = propertiesOf(result, 'users');
    expect(properties.email).toEqual({ type: ['string', 'null'] });
    expect(properties.id).toEqual({ type: 'integer' });
  });

  it('adds a property the tap does not know, with metadata that selects it', () => {
    const result = applyCatalogRules(discovered(), { schema: { users: { nickname: { type: 'string' } } } });
    const properties = propertiesOf(result, 'users');
    expect(properties.nickname).toEqual({ type: 'string' });
    expect(metadataOf(result, 'users.nickname')).toEqual({ inclusion: 'automatic', selected: true });
  });

  it('adds or replaces a property on every stream a wildcard matches', () => {
    const payload = { type: 'string', format: 'date' };
    const result = applyCatalogRules(discovered(), { schema: { '*': { updated_at: payload } } });
    for (const id of ['users', 'orders']) {
      expect(propertiesOf(result, id).updated_at).toEqual(payload);
    }
  });

  it('replaces every existing property a property wildcard matches, without adding one', () => {
    const result = applyCatalogRules(discovered(), { schema: { orders: { '*': { type: 'string' } } } });
    expect(stream(result, 'orders').schema?.properties).toEqual({
      id: { type: 'string' },
      amount: { type: 'string' },
      updated_at: { type: 'string' },
    });
  });

  it('gives a stream without a schema one', () => {
    const catalog: Catalog = { streams: [{ tap_stream_id: 'bare', metadata: [] }] };
    const result = applyCatalogRules(catalog, { schema: { bare: { a: { type: 'integer' } } } });
    expect(stream(result, 'bare').schema).toEqual({ type: 'object', properties: { a: { type: 'integer' } } });
  });
});

describe('select_filter', () => {
  const streams = (catalog: Catalog) => selectedStreams(catalog).map((s) => s.tapStreamId);

  it.each([
    [['users'], ['users']],
    [['!users'], ['orders']],
    [['u*'], ['users']],
    [['users.email'], ['users']],
    [['users', 'orders', '!orders'], ['users']],
    [['nothing'], []],
    [[], ['users', 'orders']],
  ])('filters %j to the streams %j, after select', (filter, expected) => {
    expect(streams(applyCatalogRules(discovered(), { selectFilter: filter }))).toEqual(expected);
  });

  it('never selects a stream that select left out', () => {
    const result = applyCatalogRules(discovered(), {
      select: ['orders.*'],
      selectFilter: ['users', 'orders'],
    });
    expect(streams(result)).toEqual(['orders']);
  });

  it('applies alone to a given catalog, keeping every other selection as it was', () => {
    const given = applyCatalogRules(discovered(), { select: ['users.email', 'orders.*'] });
    const filtered = applySelectFilter(given, ['!orders']);
    expect(streams(filtered)).toEqual(['users']);
    expect(selectedStreams(filtered)[0]).toEqual(selectedStreams(given)[0]);
    expect(streams(applySelectFilter(given, ['orders']))).toEqual(['orders']);
    expect(applySelectFilter(given, [])).toBe(given);
  });
});

describe('selectedStreams', () => {
  it('lists selected streams with their selected properties as dotted paths', () => {
    const result = applyCatalogRules(discovered(), { select: ['users.email', 'users.address.city'] });
    expect(selectedStreams(result)).toEqual([
      { tapStreamId: 'users', properties: ['id', 'email', 'address', 'address.city'] },
    ]);
  });

  it('always counts automatic properties and never unsupported ones', () => {
    const result = applyCatalogRules(discovered(), {
      select: ['users.*', '!users.id'],
      metadata: { 'users.secret': { selected: true } },
    });
    expect(metadataOf(result, 'users.id')?.selected).toBe(false);
    expect(selectedStreams(result)[0]?.properties).toContain('id');
    expect(selectedStreams(result)[0]?.properties).not.toContain('secret');
  });

  it('falls back to selected-by-default when selected is not set', () => {
    const catalog: Catalog = {
      streams: [
        {
          tap_stream_id: 'a',
          metadata: [
            { breadcrumb: [], metadata: { 'selected-by-default': true } },
            { breadcrumb: ['properties', 'x'], metadata: { 'selected-by-default': true, selected: false } },
            { breadcrumb: ['properties', 'y'], metadata: { 'selected-by-default': true } },
          ],
        },
        { tap_stream_id: 'b', metadata: [{ breadcrumb: [], metadata: { inclusion: 'available' } }] },
      ],
    };
    expect(selectedStreams(catalog)).toEqual([{ tapStreamId: 'a', properties: ['y'] }]);
  });

  it('lists every stream and property under the default select', () => {
    const result = applyCatalogRules(discovered(), {});
    expect(selectedStreams(result).map((s) => [s.tapStreamId, s.properties.length])).toEqual([
      ['users', USERS_NODES.length - 2],
      ['orders', ORDERS_NODES.length - 1],
    ]);
  });
});
