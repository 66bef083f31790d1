import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VSchemaError, defaultVSchema, parseShardMap, parseVSchema } from '../src/index.js';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof VSchemaError, String(error));
    return error.problems;
  }
  assert.fail('expected a VSchemaError');
}

describe('the VSchema', () => {
  it("when Mela's default VSchema is loaded, then customer is sharded by user id and orders reach a lookup", () => {
    const vschema = defaultVSchema();
    const customer = vschema.keyspaces.get('customer');

    assert.equal(vschema.keyspaces.get('commerce')?.sharded, false);
    assert.equal(customer?.sharded, true);
    assert.deepEqual(customer.tables.get('orders')?.primaryVindex, {
      column: 'user_id',
      vindex: 'xxhash',
    });
    assert.deepEqual(customer.tables.get('orders')?.secondaryVindexes, [
      { column: 'id', vindex: 'order_lookup' },
    ]);
    assert.equal(customer.vindexes.get('order_lookup')?.lookup?.table, 'order_lookup');
  });

  it('when the VSchema has several mistakes, then every one is named', () => {
    const problems = problemsOf(() =>
      parseVSchema({
        keyspaces: {
          shop: {
            sharded: true,
            vindexes: {
              h: { type: 'hash' },
              weird: { type: 'md5ish' },
              lk: {
                type: 'lookup_unique',
                params: { table: 'shop.lk_idx', from: 'id', to: 'ksid' },
              },
            },
            tables: {
              orders: { column_vindexes: [{ column: 'user_id', name: 'nope' }] },
              items: {},
              by_lookup: { column_vindexes: [{ column: 'id', name: 'lk' }] },
              ids: { type: 'sequence' },
              notes: {
                column_vindexes: [{ column: 'user_id', name: 'h' }],
                auto_increment: { column: 'id', sequence: 'missing_seq' },
              },
            },
          },
        },
      }),
    );

    assert.deepEqual(problems, [
      'shop: vindex "weird" has unknown type "md5ish" (known: hash, xxhash, lookup_unique)',
      'shop.orders: column user_id uses unknown vindex "nope"',
      'shop.items: a table in a sharded keyspace needs a primary vindex (column_vindexes[0])',
      'shop.by_lookup: the primary vindex must be computed from the row (hash, xxhash), not a lookup',
      'shop.ids: sequence tables must live in an unsharded keyspace',
      'shop.notes: auto_increment sequence "missing_seq" is not a sequence table',
      'shop: lookup vindex "lk" uses unknown table shop.lk_idx',
    ]);
  });

  it('when the JSON has unknown fields or wrong types, then the path is named', () => {
    const problems = problemsOf(() =>
      parseVSchema({ keyspaces: { shop: { sharded: 'yes', tabels: {} } } }),
    );

    assert.ok(
      problems.some((p) => p.startsWith('keyspaces.shop.sharded:')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('tabels')),
      problems.join('\n'),
    );
  });
});

describe('the shard map', () => {
  const vschema = defaultVSchema();

  it('when it is complete, then each keyspace gets its shards in keyrange order', () => {
    const map = parseShardMap(
      {
        commerce: { '0': 'mysql://u:p@127.0.0.1:3407/commerce' },
        customer: {
          '80-': 'mysql://u:p@127.0.0.1:3409/customer',
          '-80': 'mysql://u:p@127.0.0.1:3408/customer',
        },
      },
      vschema,
    );

    assert.deepEqual(
      map.get('customer')?.map((s) => [s.name, s.url]),
      [
        ['-80', 'mysql://u:p@127.0.0.1:3408/customer'],
        ['80-', 'mysql://u:p@127.0.0.1:3409/customer'],
      ],
    );
  });

  it('when shards leave a gap, a keyspace is missing or a URL is bad, then start-up fails naming each', () => {
    assert.deepEqual(
      problemsOf(() =>
        parseShardMap(
          {
            customer: { '-40': 'mysql://h/c', '80-': 'mysql://h/c' },
            billing: { '0': 'mysql://h/b' },
          },
          vschema,
        ),
      ),
      [
        'keyspace "commerce" has no shards',
        'keyspace "customer": shards -40,80- leave a gap before "80-" (nothing serves 40..80)',
        'keyspace "billing" is not in the VSchema',
      ],
    );
    assert.deepEqual(
      problemsOf(() => parseShardMap({ commerce: { '0': 'postgres://x' } }, vschema)),
      ['commerce.0: must be a mysql:// URL'],
    );
    assert.deepEqual(
      problemsOf(() =>
        parseShardMap(
          {
            commerce: { '-80': 'mysql://h/a', '80-': 'mysql://h/b' },
            customer: { '-': 'mysql://h/c' },
          },
          vschema,
        ),
      ),
      ['keyspace "commerce" is unsharded: it has exactly one shard named "0" or "-"'],
    );
  });
});
