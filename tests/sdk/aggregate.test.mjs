// Aggregation through the SDK's query.aggregate(pipeline) and query.distinct(key), which POST
// to /aggregate/:className with `_method: GET` and the master key, and through raw REST with
// the stages as URL parameters (parse-server's spec/ParseQuery.Aggregate.spec.js does both).
// Results are the same on SQLite and PostgreSQL: they follow parse-server on MongoDB, its
// reference database (a group's _id as objectId, pointers grouped by object id, dates as Date
// values except top-level createdAt/updatedAt).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, startServer, uniq, assertParseError, assertMasterKeyRequired, expectParseError } from './harness.mjs';

const ctx = useServer();

const day = iso => new Date(iso);

/**
 * A class like parse-server's aggregate fixture, with dates, pointers and arrays:
 * four scores, two `owner` pointers (one object has none), `size` arrays, `sender` objects.
 */
async function seedGames() {
  const { Parse } = ctx;
  const cls = uniq('Game');
  const ownerClass = uniq('Owner');
  const [ann, bob] = ['ann', 'bob'].map(name => new Parse.Object(ownerClass, { name }));
  await Parse.Object.saveAll([ann, bob]);
  const rows = [
    { score: 10, name: 'foo', sender: { group: 'A' }, views: 900, size: ['S', 'M'], when: day('2024-03-01T10:00:00Z'), owner: ann },
    { score: 10, name: 'foo', sender: { group: 'A' }, views: 800, size: ['M', 'L'], when: day('2024-03-02T10:00:00Z'), owner: bob },
    { score: 10, name: 'bar', sender: { group: 'B' }, views: 700, size: ['S'], when: day('2024-03-09T23:30:00Z'), owner: ann },
    { score: 20, name: 'dpl', sender: { group: 'B' }, views: 700, size: ['S'] },
  ];
  const objects = rows.map(row => new Parse.Object(cls, row));
  await Parse.Object.saveAll(objects);
  return { cls, objects, ann, bob };
}

const byObjectId = results => [...results].sort((a, b) => (JSON.stringify(a.objectId) < JSON.stringify(b.objectId) ? -1 : 1));

/** The shared fixture, made once by the first test that needs it. */
let gamesPromise;
const loadGames = () => (gamesPromise ??= seedGames());

describe('master key', () => {
  it('is required, with parse-server’s 403 (SDK with useMasterKey: false, a user, raw REST)', async () => {
    const games = await loadGames();
    const { Parse, server } = ctx;
    const error = await expectParseError(
      new Parse.Query(games.cls).aggregate([{ $group: { _id: null } }], { useMasterKey: false })
    );
    assert.match(error.message, /^(unauthorized: master key is required|Permission denied)$/);
    for (const auth of ['rest', 'js']) {
      const res = await server.request('GET', `/aggregate/${games.cls}`, { auth, query: { $group: { _id: null } } });
      assertMasterKeyRequired(res);
    }
    const user = await Parse.User.signUp(uniq('u'), 'pw');
    const res = await server.request('GET', `/aggregate/${games.cls}`, {
      auth: 'rest',
      headers: { 'X-Parse-Session-Token': user.getSessionToken() },
      query: { distinct: 'score' },
    });
    assertMasterKeyRequired(res);
  });

  it('a bad pipeline from a non-master caller is still a 403: the key is checked first', async () => {
    const games = await loadGames();
    const res = await ctx.server.request('GET', `/aggregate/${games.cls}`, { auth: 'rest', query: { $lookup: {} } });
    assertMasterKeyRequired(res);
  });
});

describe('$group', () => {
  it('sums, counts, averages, minimums and maximums over the whole class', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const results = await new Parse.Query(games.cls).aggregate([
      {
        $group: {
          _id: null,
          total: { $sum: '$score' },
          count: { $sum: 1 },
          avgScore: { $avg: '$score' },
          minViews: { $min: '$views' },
          maxViews: { $max: '$views' },
          firstWhen: { $min: '$when' },
          latestCreated: { $max: '$createdAt' },
          unknown: { $sum: '$nothing' },
        },
      },
    ]);
    assert.equal(results.length, 1);
    const [result] = results;
    assert.equal(result.objectId, null);
    assert.equal(result.total, 50);
    assert.equal(result.count, 4);
    assert.equal(result.avgScore, 12.5);
    assert.equal(result.minViews, 700);
    assert.equal(result.maxViews, 900);
    assert.deepEqual(result.firstWhen, { __type: 'Date', iso: '2024-03-01T10:00:00.000Z' });
    const latest = Math.max(...games.objects.map(object => object.createdAt.getTime()));
    assert.deepEqual(result.latestCreated, { __type: 'Date', iso: new Date(latest).toISOString() });
    assert.equal(result.unknown, 0);
  });

  it('groups by a field, pushing and collecting values', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const results = byObjectId(
      await new Parse.Query(games.cls).aggregate({
        $group: { _id: '$name', views: { $push: '$views' }, groups: { $addToSet: '$sender.group' }, n: { $sum: 1 } },
      })
    );
    // $push keeps the order objects were read in, which no stage fixed here.
    for (const result of results) result.views.sort();
    assert.deepEqual(results, [
      { objectId: 'bar', views: [700], groups: ['B'], n: 1 },
      { objectId: 'dpl', views: [700], groups: ['B'], n: 1 },
      { objectId: 'foo', views: [800, 900], groups: ['A'], n: 2 },
    ]);
  });

  it('groups by a pointer: its object id, and null for objects without one', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const results = await new Parse.Query(games.cls).aggregate([{ $group: { _id: '$owner', games: { $sum: 1 } } }]);
    const counts = Object.fromEntries(results.map(r => [r.objectId, r.games]));
    assert.deepEqual(counts, { [games.ann.id]: 2, [games.bob.id]: 1, null: 1 });
  });

  it('groups by date parts of createdAt (also as _created_at) and of a Date field, in UTC', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const created = games.objects[0].createdAt;
    const byCreation = await new Parse.Query(games.cls).aggregate([
      {
        $group: {
          _id: { day: { $dayOfMonth: '$_updated_at' }, month: { $month: '$createdAt' }, year: { $year: '$_created_at' } },
          count: { $sum: 1 },
        },
      },
    ]);
    assert.equal(byCreation[0].objectId.month, created.getUTCMonth() + 1);
    assert.equal(byCreation[0].objectId.year, created.getUTCFullYear());
    assert.equal(byCreation.reduce((sum, r) => sum + r.count, 0), 4);
    const byWeek = byObjectId(
      await new Parse.Query(games.cls).aggregate([
        { $match: { when: { $exists: true } } },
        { $group: { _id: { week: { $week: '$when' }, dow: { $dayOfWeek: '$when' } }, n: { $sum: 1 } } },
        { $sort: { '_id.week': 1, '_id.dow': 1 } },
      ])
    );
    // 1, 2 and 9 March 2024: a Friday, a Saturday (week 8) and a Saturday (week 9).
    assert.deepEqual(
      byWeek.map(r => [r.objectId.week, r.objectId.dow, r.n]).sort(),
      [[8, 6, 1], [8, 7, 1], [9, 7, 1]]
    );
  });

  it('groups by several fields; empty keys ({}, "", []) are null', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const compound = await new Parse.Query(games.cls).aggregate([{ $group: { _id: { score: '$score', views: '$views' } } }]);
    assert.equal(compound.length, 4);
    for (const key of [{}, '', []]) {
      const results = await new Parse.Query(games.cls).aggregate([{ $group: { _id: key, n: { $sum: 1 } } }]);
      assert.deepEqual(results, [{ objectId: null, n: 4 }], JSON.stringify(key));
    }
  });

  it('computes with $multiply in a group and in a projection', async () => {
    const { Parse } = ctx;
    const cls = uniq('Cart');
    await Parse.Object.saveAll([
      new Parse.Object(cls, { name: 'item a', quantity: 2, price: 10 }),
      new Parse.Object(cls, { name: 'item b', quantity: 5, price: 5 }),
    ]);
    const total = await new Parse.Query(cls).aggregate([{ $group: { _id: null, total: { $sum: { $multiply: ['$quantity', '$price'] } } } }]);
    assert.deepEqual(total, [{ objectId: null, total: 45 }]);
    const lines = await new Parse.Query(cls).aggregate([
      { $project: { _id: 0, total: { $multiply: ['$quantity', '$price'] } } },
      { $sort: { total: 1 } },
    ]);
    assert.deepEqual(lines, [{ total: 20 }, { total: 25 }]);
  });
});

describe('$match', () => {
  it('filters with the query grammar, SDK constraints included', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const ids = results => results.map(r => r.objectId).sort();
    const id = i => games.objects[i].id;
    assert.deepEqual(ids(await new Parse.Query(games.cls).aggregate([{ $match: { score: { $gt: 15 } } }])), [id(3)]);
    assert.deepEqual(
      ids(await new Parse.Query(games.cls).aggregate([{ $match: { $or: [{ score: { $gt: 15, $lt: 25 } }, { views: { $gt: 750, $lt: 850 } }] } }])),
      [id(1), id(3)].sort()
    );
    // The SDK turns the query's own constraints into a leading $match (dates and pointers in
    // their REST encoding).
    const constrained = new Parse.Query(games.cls).greaterThan('when', day('2024-03-01T12:00:00Z')).equalTo('owner', games.ann);
    assert.deepEqual(ids(await constrained.aggregate([{ $project: { name: 1 } }])), [id(2)]);
    const byName = new Parse.Query(games.cls).containedIn('name', ['foo', 'dpl']);
    assert.deepEqual(await byName.aggregate({ $group: { _id: null, n: { $sum: 1 } } }), [{ objectId: null, n: 3 }]);
  });

  it('reads MongoDB names, dates given as JSON strings and pointers given as object ids', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const ids = results => results.map(r => r.objectId).sort();
    const id = i => games.objects[i].id;
    assert.deepEqual(ids(await new Parse.Query(games.cls).aggregate([{ $match: { _id: id(2) } }])), [id(2)]);
    // A JavaScript Date in a pipeline arrives as an ISO string.
    assert.deepEqual(
      ids(await new Parse.Query(games.cls).aggregate([{ $match: { when: { $lt: day('2024-03-02T00:00:00Z') } } }])),
      [id(0)]
    );
    const now = new Date();
    const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    assert.equal((await new Parse.Query(games.cls).aggregate([{ $match: { createdAt: { $gte: today } } }])).length, 4);
    assert.equal((await new Parse.Query(games.cls).aggregate([{ $match: { updatedAt: { $gte: today } } }])).length, 4);
    assert.equal((await new Parse.Query(games.cls).aggregate([{ $match: { createdAt: new Date(now.getTime() + 864e5) } }])).length, 0);
    const owned = await new Parse.Query(games.cls).aggregate([{ $match: { owner: games.ann.id } }]);
    assert.deepEqual(ids(owned), [id(0), id(2)].sort());
    assert.equal(owned[0].owner.objectId, games.ann.id);
    assert.equal(owned[0].owner.__type, 'Pointer');
  });

  it('matches null as missing, and runs after a $group on the grouped documents', async () => {
    const { Parse } = ctx;
    const cls = uniq('Lang');
    await Parse.Object.saveAll(
      [['en', 1], ['en', 2], [null, 3], [null, 4], ['pt', 5], ['pt', 6]].map(
        ([language, otherField]) => new Parse.Object(cls, { language, otherField })
      )
    );
    const values = results => results.map(r => r.otherField).sort();
    assert.deepEqual(values(await new Parse.Query(cls).aggregate([{ $match: { language: { $in: [null, 'en'] } } }])), [1, 2, 3, 4]);
    assert.deepEqual(values(await new Parse.Query(cls).aggregate([{ $match: { $or: [{ language: 'en' }, { language: null }] } }])), [1, 2, 3, 4]);
    const grouped = await new Parse.Query(cls).aggregate([
      { $group: { _id: '$language', total: { $sum: '$otherField' } } },
      { $match: { total: { $gte: 7 } } },
      { $sort: { total: -1 } },
    ]);
    assert.deepEqual(grouped, [{ objectId: 'pt', total: 11 }, { objectId: null, total: 7 }]);
  });
});

describe('$project, $sort, $skip, $limit, $unwind, $count', () => {
  it('projects fields (objectId kept unless excluded), nested fields and timestamps', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const projected = await new Parse.Query(games.cls).aggregate([
      { $match: { _id: games.objects[0].id } },
      { $project: { name: 1, 'sender.group': 1, owner: 1, createdAt: 1 } },
    ]);
    assert.deepEqual(projected, [
      {
        objectId: games.objects[0].id,
        name: 'foo',
        sender: { group: 'A' },
        owner: { __type: 'Pointer', className: games.ann.className, objectId: games.ann.id },
        createdAt: games.objects[0].createdAt.toISOString(),
      },
    ]);
    const onlyUpdated = await new Parse.Query(games.cls).aggregate([{ $project: { _id: 0, updatedAt: 1 } }]);
    assert.equal(onlyUpdated.length, 4);
    for (const item of onlyUpdated) assert.deepEqual(Object.keys(item), ['updatedAt']);
    const excluded = await new Parse.Query(games.cls).aggregate([{ $match: { name: 'dpl' } }, { $project: { size: 0, sender: 0 } }]);
    assert.equal(excluded[0].score, 20);
    assert.equal(excluded[0].size, undefined);
    assert.equal(excluded[0].sender, undefined);
    assert.equal(excluded[0].ACL, undefined, 'aggregate results carry no ACL, as in parse-server');
  });

  it('sorts (missing values last ascending), skips and limits', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const names = results => results.map(r => r.name);
    assert.deepEqual(names(await new Parse.Query(games.cls).aggregate({ $sort: { name: 1 } })), ['bar', 'dpl', 'foo', 'foo']);
    assert.deepEqual(names(await new Parse.Query(games.cls).aggregate({ $sort: { name: -1, views: 1 } })), ['foo', 'foo', 'dpl', 'bar']);
    const top = await new Parse.Query(games.cls).aggregate([{ $sort: { views: -1, score: -1 } }, { $skip: 1 }, { $limit: 2 }]);
    assert.deepEqual(top.map(r => r.views), [800, 700]);
    assert.equal(top[1].score, 20);
    const byWhen = await new Parse.Query(games.cls).aggregate([{ $sort: { when: 1 } }, { $project: { name: 1 } }]);
    assert.equal(byWhen[3].objectId, games.objects[3].id, 'the object without a date sorts last');
    assert.equal((await new Parse.Query(games.cls).aggregate({ $limit: 2 })).length, 2);
    assert.equal((await new Parse.Query(games.cls).aggregate({ $skip: 3 })).length, 1);
  });

  it('unwinds arrays and counts', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const sizes = await new Parse.Query(games.cls).aggregate([
      { $unwind: '$size' },
      { $group: { _id: '$size', n: { $sum: 1 } } },
      { $sort: { n: -1, _id: 1 } },
    ]);
    assert.deepEqual(sizes, [{ objectId: 'S', n: 3 }, { objectId: 'M', n: 2 }, { objectId: 'L', n: 1 }]);
    const kept = await new Parse.Query(games.cls).aggregate([
      { $unwind: { path: '$owner', preserveNullAndEmptyArrays: true, includeArrayIndex: 'at' } },
      { $count: 'all' },
    ]);
    assert.deepEqual(kept, [{ all: 4 }]);
    assert.deepEqual(await new Parse.Query(games.cls).aggregate({ $count: 'total' }), [{ total: 4 }]);
    assert.deepEqual(await new Parse.Query(games.cls).equalTo('score', 99).aggregate({ $count: 'total' }), []);
  });
});

describe('distinct', () => {
  it('numbers, strings, nested fields, unwound arrays, with a where', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    assert.deepEqual(await new Parse.Query(games.cls).distinct('score'), [10, 20]);
    assert.deepEqual(await new Parse.Query(games.cls).distinct('name'), ['bar', 'dpl', 'foo']);
    assert.deepEqual(await new Parse.Query(games.cls).distinct('sender.group'), ['A', 'B']);
    assert.deepEqual(await new Parse.Query(games.cls).distinct('size'), ['L', 'M', 'S']);
    assert.deepEqual(await new Parse.Query(games.cls).equalTo('name', 'bar').distinct('score'), [10]);
    assert.deepEqual(await new Parse.Query(games.cls).greaterThan('views', 750).distinct('size'), ['L', 'M', 'S']);
    assert.deepEqual(await new Parse.Query(games.cls).equalTo('name', 'dpl').distinct('size'), ['S']);
  });

  it('pointers as pointers, dates as Date values, object ids; missing fields and classes give nothing', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const owners = await new Parse.Query(games.cls).distinct('owner');
    assert.deepEqual(owners.map(p => p.objectId).sort(), [games.ann.id, games.bob.id].sort());
    assert.equal(owners[0].__type, 'Pointer');
    assert.equal(owners[0].className, games.ann.className);
    const whens = await new Parse.Query(games.cls).distinct('when');
    assert.deepEqual(whens.map(w => w.iso), ['2024-03-01T10:00:00.000Z', '2024-03-02T10:00:00.000Z', '2024-03-09T23:30:00.000Z']);
    assert.equal(whens[0].__type, 'Date');
    const created = await new Parse.Query(games.cls).distinct('createdAt');
    assert.equal(created.length, new Set(games.objects.map(o => o.createdAt.toISOString())).size);
    assert.equal(created[0].__type, 'Date');
    assert.deepEqual((await new Parse.Query(games.cls).distinct('objectId')).sort(), games.objects.map(o => o.id).sort());
    assert.deepEqual(await new Parse.Query(games.cls).distinct('nothing'), []);
    assert.deepEqual(await new Parse.Query(uniq('Nowhere')).distinct('score'), []);
  });

  it('leaves null values out, on _User too', async () => {
    const { Parse, server } = ctx;
    const field = uniq('f');
    await Parse.User.signUp(uniq('d1'), 'pw', { [field]: 'one' });
    await Parse.User.signUp(uniq('d2'), 'pw', { [field]: null });
    const res = await server.request('GET', '/aggregate/_User', { auth: 'master', query: { distinct: field } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { results: ['one'] });
  });
});

describe('REST forms', () => {
  it('stages as URL parameters (JSON text), a pipeline parameter, where as text', async () => {
    const games = await loadGames();
    const { server } = ctx;
    const url = `/aggregate/${games.cls}`;
    const grouped = await server.request('GET', url, { auth: 'master', query: { $group: { _id: '$name' } } });
    assert.equal(grouped.status, 200, grouped.text);
    assert.deepEqual(grouped.json.results.map(r => r.objectId).sort(), ['bar', 'dpl', 'foo']);
    const both = await server.request('GET', url, {
      auth: 'master',
      query: { $project: { score: 1 }, $group: { _id: '$score', score: { $sum: '$score' } } },
    });
    assert.deepEqual(byObjectId(both.json.results), [{ objectId: 10, score: 30 }, { objectId: 20, score: 20 }]);
    const object = await server.request('GET', url, { auth: 'master', query: { pipeline: { $group: { _id: '$name' } } } });
    assert.equal(object.json.results.length, 3);
    const distinct = await server.request('GET', url, { auth: 'master', query: { distinct: 'score', where: JSON.stringify({ name: 'bar' }) } });
    assert.deepEqual(distinct.json, { results: [10] });
    const limited = await server.request('GET', url, { auth: 'master', query: { $limit: 2, hint: 'name_1', readPreference: 'SECONDARY' } });
    assert.equal(limited.json.results.length, 2);
    const missing = await server.request('GET', `/aggregate/${uniq('Nowhere')}`, { auth: 'master', query: { $group: { _id: null, total: { $sum: '$score' } } } });
    assert.deepEqual(missing.json, { results: [] });
    // POST is not a route of /aggregate (the SDK posts with `_method: GET`).
    const posted = await server.request('POST', url, { auth: 'master', body: { $limit: 1 } });
    assert.equal(posted.status, 404);
  });

  it('results never carry hidden fields', async () => {
    const { Parse, server } = ctx;
    const username = uniq('leaky');
    await Parse.User.signUp(username, 'password', { score: 12345 });
    const res = await server.request('GET', '/aggregate/_User', { auth: 'master', query: { $match: { score: 12345 } } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.results.length, 1);
    const [result] = res.json.results;
    for (const hidden of ['_hashed_password', '_wperm', '_rperm', '_acl', '_created_at', '_updated_at', 'password', 'ACL']) {
      assert.equal(result[hidden], undefined, hidden);
    }
    assert.equal(result.username, username);
    assert.equal(result.score, 12345);
    assert.equal(typeof result.createdAt, 'string');
    assert.equal(typeof result.updatedAt, 'string');
    assert.equal(typeof result.objectId, 'string');
  });

  it('the read-only master key may aggregate', async () => {
    const server = await startServer({ readOnlyMasterKey: `ro-${uniq('k')}` });
    try {
      const res = await server.request('GET', `/aggregate/${uniq('Empty')}`, { auth: 'readonly', query: { $count: 'n' } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { results: [] });
    } finally {
      await server.stop();
      server.cleanup();
    }
  });
});

describe('errors', () => {
  const rest = async (query, cls) =>
    ctx.server.request('GET', `/aggregate/${cls ?? (await loadGames()).cls}`, { auth: 'master', query });

  it('parse-server’s own 102s: a parameter that is not a stage, $group without _id or with objectId', async () => {
    assertParseError(await rest({ unknown: {} }), 400, 102, "Invalid aggregate stage 'unknown'.");
    assertParseError(await rest({ $group: {} }), 400, 102, 'Invalid parameter for query: group. Missing key _id');
    assertParseError(await rest({ $group: { objectId: '$name' } }), 400, 102, "Cannot use 'objectId' in aggregation stage $group.");
    assertParseError(
      await rest({ pipeline: [{ $match: {}, $limit: 1 }] }),
      400,
      102,
      'Pipeline stages should only have one key but found $match, $limit.'
    );
  });

  it('unsupported stages, accumulators and operators are 102 naming them, never another answer', async () => {
    const games = await loadGames();
    const { Parse } = ctx;
    const query = () => new Parse.Query(games.cls);
    await expectParseError(query().aggregate([{ $lookup: { from: 'x', localField: 'a', foreignField: 'b', as: 'c' } }]), 102, /\$lookup/);
    await expectParseError(query().aggregate([{ $group: { _id: null, s: { $stdDevPop: '$score' } } }]), 102, /\$stdDevPop/);
    await expectParseError(query().aggregate([{ $project: { x: { $concat: ['$name', '!'] } } }]), 102, /\$concat/);
    await expectParseError(query().aggregate([{ $match: { $expr: { $gt: ['$score', '$views'] } } }]), 102, /\$expr/);
    await expectParseError(query().aggregate([{ $sort: { score: 2 } }]), 102);
    await expectParseError(query().aggregate([{ $limit: 0 }]), 102);
    await expectParseError(query().aggregate([{ $group: { _id: { $year: '$name' } } }]), 102, /\$year/);
    assertParseError(await rest({ $group: { _id: null }, explain: true }), 400, 102, /explain/);
    assertParseError(await rest({ distinct: 'score', $match: { score: 10 } }), 400, 102, /distinct/);
    assertParseError(await rest({ distinct: '_hashed_password' }, '_User'), 400, 105);
    // parse-server wraps whatever fails inside a pipeline as 102 (a `where` would get 107).
    assertParseError(await rest({ $match: { score: { $bogus: 1 } } }), 400, 102, 'bad constraint: $bogus');
  });
});

describe('classes bigger than a page', () => {
  it('groups, counts, limits and distincts over 2,500 objects', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Big');
    const total = 2500;
    // Raw batches of 50 creates: faster than the SDK's 20-object saveAll batches.
    for (let start = 0; start < total; start += 50) {
      const requests = [];
      for (let i = start; i < Math.min(start + 50, total); i++) {
        requests.push({ method: 'POST', path: `/parse/classes/${cls}`, body: { i, bucket: i % 7, tag: `t${i % 3}` } });
      }
      const res = await server.request('POST', '/batch', { auth: 'master', body: { requests } });
      assert.equal(res.status, 200, res.text);
    }
    const buckets = await new Parse.Query(cls).aggregate([
      { $group: { _id: '$bucket', n: { $sum: 1 }, sum: { $sum: '$i' } } },
      { $sort: { _id: 1 } },
    ]);
    assert.equal(buckets.length, 7);
    assert.equal(buckets.reduce((sum, b) => sum + b.n, 0), total);
    assert.equal(buckets.reduce((sum, b) => sum + b.sum, 0), (total * (total - 1)) / 2);
    // Bucket 0 holds 0, 7, …, 2499: 358 numbers summing to 7 × (0 + 1 + … + 357).
    assert.deepEqual(buckets[0], { objectId: 0, n: 358, sum: (7 * 357 * 358) / 2 });
    assert.deepEqual(await new Parse.Query(cls).aggregate({ $count: 'n' }), [{ n: total }]);
    assert.deepEqual(await new Parse.Query(cls).greaterThanOrEqualTo('i', 1000).aggregate({ $count: 'n' }), [{ n: 1500 }]);
    assert.equal((await new Parse.Query(cls).aggregate([{ $match: { bucket: 3 } }, { $limit: 5 }])).length, 5);
    const top = await new Parse.Query(cls).aggregate([{ $sort: { i: -1 } }, { $limit: 3 }, { $project: { _id: 0, i: 1 } }]);
    assert.deepEqual(top, [{ i: 2499 }, { i: 2498 }, { i: 2497 }]);
    // Sorted in memory (a $project comes before the $limit): the 833 't2' objects, then 't1'
    // ones from i = 1 by 3, of which 367 are skipped.
    const tail = await new Parse.Query(cls).aggregate([
      { $sort: { tag: -1, i: 1 } },
      { $skip: 1200 },
      { $project: { _id: 0, i: 1, tag: 1 } },
      { $limit: 2 },
    ]);
    assert.deepEqual(tail, [{ i: 1102, tag: 't1' }, { i: 1105, tag: 't1' }]);
    assert.deepEqual(await new Parse.Query(cls).distinct('tag'), ['t0', 't1', 't2']);
    assert.equal((await new Parse.Query(cls).distinct('i')).length, total);
  });
});
