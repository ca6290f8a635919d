// Queries through Parse.Query (parse-server spec/ParseQuery.spec.js behaviour),
// plus raw REST checks for invalid queries (must be 400 with a Parse code, never 500).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, assertStatus } from './harness.mjs';

const ctx = useServer();

/** Save rows into a new class; returns [className, savedObjects]. */
async function seed(prefix, rows) {
  const { Parse } = ctx;
  const cls = uniq(prefix);
  const objs = rows.map(r => new Parse.Object(cls, r));
  await Parse.Object.saveAll(objs);
  return [cls, objs];
}

const names = results => results.map(r => r.get('name')).sort();
const ordered = results => results.map(r => r.get('name'));

describe('comparisons', () => {
  const rows = [
    { name: 'a', n: 1, s: 'apple', f: true },
    { name: 'b', n: 2, s: 'Banana', f: false },
    { name: 'c', n: 3, s: 'cherry' },
    { name: 'd', n: 4, s: 'date', f: true },
  ];

  it('equalTo / notEqualTo', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Cmp', rows);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('n', 2).find()), ['b']);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('f', true).find()), ['a', 'd']);
    assert.deepEqual(names(await new Parse.Query(cls).notEqualTo('n', 2).find()), ['a', 'c', 'd']);
    // notEqualTo matches objects where the field is missing, like parse-server ($ne).
    assert.deepEqual(names(await new Parse.Query(cls).notEqualTo('f', true).find()), ['b', 'c']);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('s', 'nope').find()), []);
  });

  it('lessThan, lessThanOrEqualTo, greaterThan, greaterThanOrEqualTo (numbers and strings)', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Cmp', rows);
    assert.deepEqual(names(await new Parse.Query(cls).lessThan('n', 3).find()), ['a', 'b']);
    assert.deepEqual(names(await new Parse.Query(cls).lessThanOrEqualTo('n', 3).find()), ['a', 'b', 'c']);
    assert.deepEqual(names(await new Parse.Query(cls).greaterThan('n', 3).find()), ['d']);
    assert.deepEqual(names(await new Parse.Query(cls).greaterThanOrEqualTo('n', 3).find()), ['c', 'd']);
    assert.deepEqual(
      names(await new Parse.Query(cls).greaterThan('n', 1).lessThan('n', 4).find()),
      ['b', 'c']
    );
    assert.deepEqual(names(await new Parse.Query(cls).greaterThanOrEqualTo('s', 'cherry').find()), ['c', 'd']);
  });

  it('containedIn / notContainedIn', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('In', rows);
    assert.deepEqual(names(await new Parse.Query(cls).containedIn('n', [1, 3, 9]).find()), ['a', 'c']);
    assert.deepEqual(names(await new Parse.Query(cls).notContainedIn('n', [1, 3]).find()), ['b', 'd']);
    assert.deepEqual(names(await new Parse.Query(cls).containedIn('n', []).find()), []);
  });

  it('exists / doesNotExist', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Ex', rows);
    assert.deepEqual(names(await new Parse.Query(cls).exists('f').find()), ['a', 'b', 'd']);
    assert.deepEqual(names(await new Parse.Query(cls).doesNotExist('f').find()), ['c']);
  });

  it('date comparisons, on a Date field and on createdAt', async () => {
    const { Parse } = ctx;
    const base = Date.parse('2023-05-01T00:00:00.000Z');
    const [cls, objs] = await seed('Date', [0, 1, 2, 3].map(i => ({ name: `d${i}`, when: new Date(base + i * 86400000) })));
    const day = i => new Date(base + i * 86400000);
    assert.deepEqual(names(await new Parse.Query(cls).lessThan('when', day(2)).find()), ['d0', 'd1']);
    assert.deepEqual(names(await new Parse.Query(cls).greaterThanOrEqualTo('when', day(2)).find()), ['d2', 'd3']);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('when', day(1)).find()), ['d1']);
    const created = objs.map(o => o.createdAt.getTime()).sort((x, y) => x - y);
    const all = await new Parse.Query(cls).lessThanOrEqualTo('createdAt', new Date(created[3])).find();
    assert.equal(all.length, 4);
    const none = await new Parse.Query(cls).greaterThan('createdAt', new Date(created[3])).find();
    assert.equal(none.length, 0);
    const updated = await new Parse.Query(cls).greaterThanOrEqualTo('updatedAt', new Date(created[0])).find();
    assert.equal(updated.length, 4);
  });
});

describe('strings', () => {
  const rows = [
    { name: 'a', s: 'Hello World' },
    { name: 'b', s: 'hello there' },
    { name: 'c', s: 'say hello' },
    { name: 'd', s: 'a.b*c (x)' },
  ];

  it('matches (regex), with and without the i modifier', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Re', rows);
    assert.deepEqual(names(await new Parse.Query(cls).matches('s', '^hello').find()), ['b']);
    assert.deepEqual(names(await new Parse.Query(cls).matches('s', '^hello', 'i').find()), ['a', 'b']);
    assert.deepEqual(names(await new Parse.Query(cls).matches('s', /WORLD$/i).find()), ['a']);
    assert.deepEqual(names(await new Parse.Query(cls).matches('s', 'l{2}o').find()), ['a', 'b', 'c']);
  });

  it('startsWith / endsWith (the SDK quotes with \\Q...\\E)', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Sw', rows);
    assert.deepEqual(names(await new Parse.Query(cls).startsWith('s', 'hello').find()), ['b']);
    assert.deepEqual(names(await new Parse.Query(cls).endsWith('s', 'hello').find()), ['c']);
    assert.deepEqual(names(await new Parse.Query(cls).startsWith('s', 'a.b*c (').find()), ['d']);
    assert.deepEqual(names(await new Parse.Query(cls).startsWith('s', 'a.b.c').find()), []);
    assert.deepEqual(names(await new Parse.Query(cls).endsWith('s', '(x)').find()), ['d']);
  });

  it('contains (quoted substring regex)', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Contains', rows);
    assert.deepEqual(names(await new Parse.Query(cls).contains('s', 'llo').find()), ['a', 'b', 'c']);
    assert.deepEqual(names(await new Parse.Query(cls).contains('s', '*c (').find()), ['d']);
  });
});

describe('arrays', () => {
  const rows = [
    { name: 'a', tags: ['red', 'green'] },
    { name: 'b', tags: ['red'] },
    { name: 'c', tags: ['blue', 'green', 'red'] },
    { name: 'd', tags: [] },
  ];

  it('equalTo on an array field means "contains"', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('ArrEq', rows);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('tags', 'green').find()), ['a', 'c']);
  });

  it('containsAll', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('All', rows);
    assert.deepEqual(names(await new Parse.Query(cls).containsAll('tags', ['red', 'green']).find()), ['a', 'c']);
  });

  it('containedIn on an array field matches any element', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('ArrIn', rows);
    assert.deepEqual(names(await new Parse.Query(cls).containedIn('tags', ['blue', 'nope']).find()), ['c']);
  });

  it('containedBy', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('By', rows);
    assert.deepEqual(names(await new Parse.Query(cls).containedBy('tags', ['red', 'green']).find()), ['a', 'b', 'd']);
  });
});

describe('pointers, nested keys, sub-queries', () => {
  it('pointer equality (equalTo with an object) and containedIn pointers', async () => {
    const { Parse } = ctx;
    const [, owners] = await seed('Owner', [{ name: 'o1' }, { name: 'o2' }, { name: 'o3' }]);
    const [cls] = await seed('Owned', [
      { name: 'x', owner: owners[0] },
      { name: 'y', owner: owners[1] },
      { name: 'z', owner: owners[0] },
    ]);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('owner', owners[0]).find()), ['x', 'z']);
    assert.deepEqual(names(await new Parse.Query(cls).notEqualTo('owner', owners[0]).find()), ['y']);
    assert.deepEqual(names(await new Parse.Query(cls).containedIn('owner', [owners[1], owners[2]]).find()), ['y']);
  });

  it('nested keys in Object fields (a.b)', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Nested', [
      { name: 'a', meta: { size: 1, color: { hue: 'red' } } },
      { name: 'b', meta: { size: 2, color: { hue: 'blue' } } },
      { name: 'c', meta: { size: 3 } },
    ]);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('meta.size', 2).find()), ['b']);
    assert.deepEqual(names(await new Parse.Query(cls).greaterThan('meta.size', 1).find()), ['b', 'c']);
    assert.deepEqual(names(await new Parse.Query(cls).equalTo('meta.color.hue', 'red').find()), ['a']);
    assert.deepEqual(names(await new Parse.Query(cls).exists('meta.color').find()), ['a', 'b']);
    assert.deepEqual(ordered(await new Parse.Query(cls).descending('meta.size').find()), ['c', 'b', 'a']);
  });

  it('matchesQuery ($inQuery) / doesNotMatchQuery ($notInQuery)', async () => {
    const { Parse } = ctx;
    const [ownerCls, owners] = await seed('Owner', [
      { name: 'o1', vip: true },
      { name: 'o2', vip: false },
    ]);
    const [cls] = await seed('Owned', [
      { name: 'x', owner: owners[0] },
      { name: 'y', owner: owners[1] },
      { name: 'z', owner: owners[0] },
    ]);
    const vips = new Parse.Query(ownerCls).equalTo('vip', true);
    assert.deepEqual(names(await new Parse.Query(cls).matchesQuery('owner', vips).find()), ['x', 'z']);
    assert.deepEqual(names(await new Parse.Query(cls).doesNotMatchQuery('owner', vips).find()), ['y']);
  });

  it('matchesKeyInQuery ($select) / doesNotMatchKeyInQuery ($dontSelect)', async () => {
    const { Parse } = ctx;
    const [teamCls] = await seed('Team', [
      { name: 't1', city: 'Paris', winning: true },
      { name: 't2', city: 'Oslo', winning: false },
      { name: 't3', city: 'Rome', winning: true },
    ]);
    const [cls] = await seed('Fan', [
      { name: 'f1', hometown: 'Paris' },
      { name: 'f2', hometown: 'Oslo' },
      { name: 'f3', hometown: 'Rome' },
      { name: 'f4', hometown: 'Lima' },
    ]);
    const winners = new Parse.Query(teamCls).equalTo('winning', true);
    assert.deepEqual(names(await new Parse.Query(cls).matchesKeyInQuery('hometown', 'city', winners).find()), ['f1', 'f3']);
    assert.deepEqual(names(await new Parse.Query(cls).doesNotMatchKeyInQuery('hometown', 'city', winners).find()), ['f2', 'f4']);
  });

  it('relation.query() ($relatedTo)', async () => {
    const { Parse } = ctx;
    const [, members] = await seed('Member', [{ name: 'm1' }, { name: 'm2' }, { name: 'm3' }]);
    const group = new Parse.Object(uniq('Group'));
    group.relation('members').add([members[0], members[2]]);
    await group.save();
    assert.deepEqual(names(await group.relation('members').query().find()), ['m1', 'm3']);
    // The same through a freshly fetched object (relation className from the server).
    const fetched = await new Parse.Query(group.className).get(group.id);
    assert.deepEqual(names(await fetched.relation('members').query().equalTo('name', 'm3').find()), ['m3']);
  });
});

describe('compound queries', () => {
  const rows = [
    { name: 'a', n: 1, c: 'x' },
    { name: 'b', n: 2, c: 'y' },
    { name: 'c', n: 3, c: 'x' },
    { name: 'd', n: 4, c: 'y' },
  ];

  it('Parse.Query.or', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Or', rows);
    const q = Parse.Query.or(new Parse.Query(cls).equalTo('n', 1), new Parse.Query(cls).greaterThan('n', 3));
    assert.deepEqual(names(await q.find()), ['a', 'd']);
  });

  it('Parse.Query.and', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('And', rows);
    const q = Parse.Query.and(new Parse.Query(cls).equalTo('c', 'x'), new Parse.Query(cls).greaterThan('n', 1));
    assert.deepEqual(names(await q.find()), ['c']);
  });

  it('Parse.Query.nor', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Nor', rows);
    const q = Parse.Query.nor(new Parse.Query(cls).equalTo('c', 'x'), new Parse.Query(cls).equalTo('n', 4));
    assert.deepEqual(names(await q.find()), ['b']);
  });

  it('or combined with a top-level constraint', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('OrAnd', rows);
    const q = Parse.Query.or(new Parse.Query(cls).equalTo('n', 1), new Parse.Query(cls).equalTo('n', 2));
    q.equalTo('c', 'y');
    assert.deepEqual(names(await q.find()), ['b']);
  });
});

describe('ordering, paging, counting', () => {
  it('ascending/descending on several keys', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Order', [
      { name: 'a', g: 1, n: 2 },
      { name: 'b', g: 2, n: 1 },
      { name: 'c', g: 1, n: 1 },
      { name: 'd', g: 2, n: 2 },
    ]);
    assert.deepEqual(ordered(await new Parse.Query(cls).ascending('g').addDescending('n').find()), ['a', 'c', 'd', 'b']);
    assert.deepEqual(ordered(await new Parse.Query(cls).descending('g').addAscending('n').find()), ['b', 'd', 'c', 'a']);
    assert.deepEqual(ordered(await new Parse.Query(cls).ascending(['n', 'g']).find()), ['c', 'b', 'a', 'd']);
    assert.deepEqual(ordered(await new Parse.Query(cls).descending('name').find()), ['d', 'c', 'b', 'a']);
  });

  it('default limit is 100; limit, skip', async () => {
    const { Parse, server } = ctx;
    const [cls] = await seed(
      'Limit',
      Array.from({ length: 105 }, (_, i) => ({ i }))
    );
    assert.equal((await new Parse.Query(cls).find()).length, 100);
    const raw = await server.request('GET', `/classes/${cls}`);
    assert.equal(raw.json.results.length, 100);
    assert.equal((await new Parse.Query(cls).limit(105).find()).length, 105);
    assert.equal((await new Parse.Query(cls).limit(7).find()).length, 7);
    const page = await new Parse.Query(cls).ascending('i').skip(100).limit(3).find();
    assert.deepEqual(
      page.map(o => o.get('i')),
      [100, 101, 102]
    );
    const past = await new Parse.Query(cls).skip(200).find();
    assert.deepEqual(past, []);
  });

  it('count (sends limit 0), also with constraints', async () => {
    const { Parse, server } = ctx;
    const [cls] = await seed(
      'Count',
      Array.from({ length: 12 }, (_, i) => ({ i }))
    );
    assert.equal(await new Parse.Query(cls).count(), 12);
    assert.equal(await new Parse.Query(cls).lessThan('i', 5).count(), 5);
    const raw = await server.request('GET', `/classes/${cls}`, { query: { count: 1, limit: 0 } });
    assertStatus(raw, 200);
    assert.deepEqual(raw.json, { results: [], count: 12 });
    const withResults = await server.request('GET', `/classes/${cls}`, { query: { count: 1, limit: 2 } });
    assert.equal(withResults.json.results.length, 2);
    assert.equal(withResults.json.count, 12);
  });

  it('first, get, find, each', async () => {
    const { Parse } = ctx;
    const [cls, objs] = await seed(
      'Misc',
      Array.from({ length: 5 }, (_, i) => ({ i }))
    );
    const first = await new Parse.Query(cls).descending('i').first();
    assert.equal(first.get('i'), 4);
    assert.equal(await new Parse.Query(cls).equalTo('i', 99).first(), undefined);
    const got = await new Parse.Query(cls).get(objs[2].id);
    assert.equal(got.get('i'), 2);
    await assert.rejects(new Parse.Query(cls).get('zzzzzzzzzz'), e => e.code === 101);
    const seen = [];
    await new Parse.Query(cls).each(o => seen.push(o.get('i')), { batchSize: 2 });
    assert.deepEqual(
      seen.sort(),
      [0, 1, 2, 3, 4]
    );
  });
});

describe('keys and includes', () => {
  it('select (keys) and exclude (excludeKeys)', async () => {
    const { Parse } = ctx;
    const [cls] = await seed('Keys', [{ a: 1, b: 2, c: 3 }]);
    const [sel] = await new Parse.Query(cls).select('a', 'c').find();
    assert.equal(sel.get('a'), 1);
    assert.equal(sel.get('c'), 3);
    assert.equal(sel.has('b'), false);
    assert.ok(sel.id && sel.createdAt && sel.updatedAt);
    const [exc] = await new Parse.Query(cls).exclude('b').find();
    assert.equal(exc.get('a'), 1);
    assert.equal(exc.has('b'), false);
    assert.equal(exc.get('c'), 3);
  });

  it('include a pointer, a nested path a.b, and *', async () => {
    const { Parse, server } = ctx;
    const [, cities] = await seed('City', [{ name: 'Paris' }]);
    const [, people] = await seed('Person', [{ name: 'Ann', city: cities[0] }]);
    const [cls, posts] = await seed('Post', [{ title: 't', author: people[0], editor: people[0] }]);

    const [plain] = await new Parse.Query(cls).find();
    assert.equal(plain.get('author').has('name'), false, 'not included → pointer only');

    const [one] = await new Parse.Query(cls).include('author').find();
    assert.equal(one.get('author').get('name'), 'Ann');
    assert.equal(one.get('author').get('city').has('name'), false);
    assert.equal(one.get('editor').has('name'), false);

    const [nested] = await new Parse.Query(cls).include('author.city').find();
    assert.equal(nested.get('author').get('name'), 'Ann');
    assert.equal(nested.get('author').get('city').get('name'), 'Paris');

    const [all] = await new Parse.Query(cls).includeAll().find();
    assert.equal(all.get('author').get('name'), 'Ann');
    assert.equal(all.get('editor').get('name'), 'Ann');

    const raw = await server.request('GET', `/classes/${cls}/${posts[0].id}`, { query: { include: 'author' } });
    assert.equal(raw.json.author.__type, 'Object');
    assert.equal(raw.json.author.className, people[0].className);
    assert.equal(raw.json.author.objectId, people[0].id);
    assert.equal(raw.json.author.name, 'Ann');
  });

  it('select with a dotted key on an included pointer', async () => {
    const { Parse } = ctx;
    const [, people] = await seed('Person', [{ name: 'Bob', age: 40 }]);
    const [cls] = await seed('Post', [{ title: 't', body: 'long', author: people[0] }]);
    const [p] = await new Parse.Query(cls).include('author').select('title', 'author.name').find();
    assert.equal(p.get('title'), 't');
    assert.equal(p.has('body'), false);
    assert.equal(p.get('author').get('name'), 'Bob');
    assert.equal(p.get('author').has('age'), false);
  });
});

describe('invalid queries (raw REST) are 400 with a Parse code, never 500', () => {
  it('bad JSON in where → 400, code 102 or 107', async () => {
    const { server } = ctx;
    const cls = uniq('Bad');
    await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    const res = await server.request('GET', `/classes/${cls}`, { query: { where: '{"a": ' } });
    assert.equal(res.status, 400, `got ${res.status} ${res.text}`);
    assert.ok([102, 107].includes(res.json?.code), res.text);
  });

  it('unknown operator $foo → 400 code 102 or 107 (parse-server on MongoDB: 107 "bad constraint: $foo")', async () => {
    const { server } = ctx;
    const cls = uniq('Bad');
    await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    const res = await server.request('GET', `/classes/${cls}`, { query: { where: { a: { $foo: 1 } } } });
    assert.equal(res.status, 400, `got ${res.status} ${res.text}`);
    assert.ok([102, 107].includes(res.json?.code), res.text);
  });

  it('invalid top-level key → 400 code 105', async () => {
    const { server } = ctx;
    const cls = uniq('Bad');
    await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    const res = await server.request('GET', `/classes/${cls}`, { query: { where: { $foo: 1 } } });
    assert.equal(res.status, 400, `got ${res.status} ${res.text}`);
    assert.ok([102, 105, 107].includes(res.json?.code), res.text);
  });

  it('bad $regex / $in types → 400, never 500', async () => {
    const { server } = ctx;
    const cls = uniq('Bad');
    await server.request('POST', `/classes/${cls}`, { body: { a: 'x', n: 1 } });
    for (const where of [{ a: { $regex: 5 } }, { n: { $in: 5 } }, { n: { $nin: 'x' } }, { a: { $all: 1 } }, { $or: 'x' }]) {
      const res = await server.request('GET', `/classes/${cls}`, { query: { where } });
      assert.equal(res.status, 400, `${JSON.stringify(where)} → ${res.status} ${res.text}`);
      assert.equal(typeof res.json?.code, 'number', res.text);
    }
  });
});

describe('explain and hint', () => {
  it('explain answers the database plan, with the master key only; hint is accepted', async () => {
    const { Parse, server } = ctx;
    const [cls] = await seed('Explained', [{ name: 'a', n: 1 }, { name: 'b', n: 2 }, { name: 'c', n: 3 }]);
    const plan = await new Parse.Query(cls).greaterThan('n', 1).descending('n').explain().find({ useMasterKey: true });
    assert.ok(Array.isArray(plan) && plan.length > 0, JSON.stringify(plan));
    for (const row of plan) {
      const step = typeof row.toJSON === 'function' ? row.toJSON() : row;
      assert.ok(step['QUERY PLAN'], JSON.stringify(step));
    }
    // The plan is the find's: SQLite names the table in its steps, PostgreSQL in "Relation Name".
    assert.match(JSON.stringify(plan), new RegExp(cls));

    await assert.rejects(new Parse.Query(cls).explain().find(), { code: 102 });
    const res = await server.request('GET', `/classes/${cls}`, { query: { explain: true } });
    assertParseError(res, 400, 102, 'Using the explain query parameter requires the master key');

    // hint is a MongoDB index hint; on SQL databases it changes nothing.
    const hinted = await new Parse.Query(cls).hint('n_1').ascending('n').find();
    assert.deepEqual(ordered(hinted), ['a', 'b', 'c']);
  });
});
