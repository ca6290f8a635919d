// Geo queries through Parse.Query: near, withinRadians/Miles/Kilometers (sorted and unsorted),
// withinGeoBox, withinPolygon, polygonContains, on Parse.GeoPoint and Parse.Polygon data
// (parse-server's spec/ParseGeoPoint.spec.js and spec/ParsePolygon.spec.js cases), plus raw
// REST for the operand shapes and errors. Run on SQLite and on PostgreSQL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, expectParseError } from './harness.mjs';

const ctx = useServer();

/** Save rows into a new class; returns its name. */
async function seed(prefix, rows) {
  const { Parse } = ctx;
  const cls = uniq(prefix);
  await Parse.Object.saveAll(rows.map(row => new Parse.Object(cls, row)));
  return cls;
}

const ordered = results => results.map(r => r.get('name'));
const names = results => ordered(results).sort();

/** parse-server's makeSomeGeoPoints, and a place without a location. */
async function californiaAndHawaii() {
  const { Parse } = ctx;
  return seed('Place', [
    { name: 'Sacramento', loc: new Parse.GeoPoint(38.52, -121.5) },
    { name: 'Honolulu', loc: new Parse.GeoPoint(21.35, -157.93) },
    { name: 'San Francisco', loc: new Parse.GeoPoint(37.75, -122.68) },
    { name: 'Nowhere' },
  ]);
}

const sfo = () => new ctx.Parse.GeoPoint(37.6189722, -122.3748889);

/** A raw find; `where` as an object. */
function rawFind(cls, where, extra = {}) {
  return ctx.server.request('GET', `/classes/${cls}`, { query: { where, ...extra } });
}

describe('near', () => {
  it('sorts nearest first and leaves out objects without a location', async () => {
    const { Parse } = ctx;
    const cls = await californiaAndHawaii();
    const results = await new Parse.Query(cls).near('loc', sfo()).find();
    assert.deepEqual(ordered(results), ['San Francisco', 'Sacramento', 'Honolulu']);
    const page = await new Parse.Query(cls).near('loc', sfo()).skip(1).limit(1).find();
    assert.deepEqual(ordered(page), ['Sacramento']);
  });

  it('an explicit order takes precedence over the distance (the REST guide)', async () => {
    const { Parse } = ctx;
    const cls = await californiaAndHawaii();
    const byName = await new Parse.Query(cls).near('loc', sfo()).ascending('name').find();
    assert.deepEqual(ordered(byName), ['Honolulu', 'Sacramento', 'San Francisco']);
    const byNameDescending = await new Parse.Query(cls).near('loc', sfo()).descending('name').find();
    assert.deepEqual(ordered(byNameDescending), ['San Francisco', 'Sacramento', 'Honolulu']);
  });

  it('counts what it matches', async () => {
    const { Parse } = ctx;
    const cls = await californiaAndHawaii();
    assert.equal(await new Parse.Query(cls).near('loc', sfo()).count(), 3);
    const { results, count } = await new Parse.Query(cls).near('loc', sfo()).limit(1).withCount().find();
    assert.deepEqual(ordered(results), ['San Francisco']);
    assert.equal(count, 3);
  });

  it('geo line: sorted within a large radius, combined with an equality', async () => {
    const { Parse } = ctx;
    const rows = [];
    for (let i = 0; i < 10; ++i) {
      rows.push({ construct: 'line', seq: i, loc: new Parse.GeoPoint(i * 4.0 - 12.0, i * 3.2 - 11.0) });
    }
    rows.push({ construct: 'other', seq: 99, loc: new Parse.GeoPoint(24, 19) });
    const cls = await seed('Line', rows);
    const results = await new Parse.Query(cls)
      .equalTo('construct', 'line')
      .withinMiles('loc', new Parse.GeoPoint(24, 19), 10000)
      .find();
    assert.deepEqual(results.map(r => r.get('seq')), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });
});

describe('within a distance', () => {
  for (const sorted of [true, false]) {
    const how = sorted ? 'sorted' : 'unsorted ($centerSphere)';

    it(`withinKilometers, ${how}`, async () => {
      const { Parse } = ctx;
      const cls = await californiaAndHawaii();
      const within = km => new Parse.Query(cls).withinKilometers('loc', sfo(), km, sorted).find();
      // Honolulu is about 3,850 km from SFO on the sphere.
      assert.deepEqual(names(await within(4800)), ['Honolulu', 'Sacramento', 'San Francisco']);
      const california = await within(3700);
      assert.deepEqual(names(california), ['Sacramento', 'San Francisco']);
      if (sorted) assert.deepEqual(ordered(california), ['San Francisco', 'Sacramento']);
      assert.deepEqual(names(await within(100)), ['San Francisco']);
      assert.deepEqual(names(await within(10)), []);
    });

    it(`withinMiles, ${how}`, async () => {
      const { Parse } = ctx;
      const cls = await californiaAndHawaii();
      const within = miles => new Parse.Query(cls).withinMiles('loc', sfo(), miles, sorted).find();
      assert.deepEqual(names(await within(2600)), ['Honolulu', 'Sacramento', 'San Francisco']);
      const california = await within(2200);
      assert.deepEqual(names(california), ['Sacramento', 'San Francisco']);
      if (sorted) assert.deepEqual(ordered(california), ['San Francisco', 'Sacramento']);
      assert.deepEqual(names(await within(62)), ['San Francisco']);
      assert.deepEqual(names(await within(10)), []);
    });

    it(`withinRadians, ${how}`, async () => {
      const { Parse } = ctx;
      const cls = await seed('Equator', [0, 1, 2].map(i => ({ name: `p${i}`, loc: new Parse.GeoPoint(0, i * 45) })));
      const within = radians =>
        new Parse.Query(cls).withinRadians('loc', new Parse.GeoPoint(1.0, -1.0), radians, sorted).find();
      assert.deepEqual(names(await within(3.14)), ['p0', 'p1', 'p2']);
      const medium = await within(3.14 * 0.5);
      assert.deepEqual(names(medium), ['p0', 'p1']);
      if (sorted) assert.deepEqual(ordered(medium), ['p0', 'p1']);
      assert.deepEqual(names(await within(3.14 * 0.25)), ['p0']);
    });
  }

  it('withinKilometers supports count, alone and in Parse.Query.or', async () => {
    const { Parse } = ctx;
    const inside = new Parse.GeoPoint(10, 10);
    const middle = new Parse.GeoPoint(20, 20);
    const cls = await seed('Count', [
      { name: 'inside', loc: inside },
      { name: 'middle', loc: middle },
      { name: 'outside', loc: new Parse.GeoPoint(30, 30) },
    ]);
    assert.equal(await new Parse.Query(cls).withinKilometers('loc', inside, 5).count(), 1);
    const either = Parse.Query.or(
      new Parse.Query(cls).withinKilometers('loc', inside, 5),
      new Parse.Query(cls).withinKilometers('loc', middle, 5)
    );
    assert.equal(await either.count(), 2);
    assert.deepEqual(names(await either.find()), ['inside', 'middle']);
    const orName = Parse.Query.or(
      new Parse.Query(cls).withinKilometers('loc', inside, 5, false),
      new Parse.Query(cls).equalTo('name', 'outside')
    );
    assert.deepEqual(names(await orName.find()), ['inside', 'outside']);
  });

  it('$maxDistanceInKilometers, …InMiles and …InRadians over REST', async () => {
    const cls = await californiaAndHawaii();
    const center = { __type: 'GeoPoint', latitude: 37.6189722, longitude: -122.3748889 };
    for (const [key, value, expected] of [
      ['$maxDistanceInKilometers', 100, ['San Francisco']],
      ['$maxDistanceInMiles', 2200, ['San Francisco', 'Sacramento']],
      ['$maxDistanceInRadians', 0.7, ['San Francisco', 'Sacramento', 'Honolulu']],
    ]) {
      const res = await rawFind(cls, { loc: { $nearSphere: center, [key]: value } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.results.map(r => r.name), expected, key);
    }
  });
});

describe('withinGeoBox', () => {
  it('holds the points on its edges', async () => {
    const { Parse } = ctx;
    const cls = await seed('Box', [
      { name: 'inbound', loc: new Parse.GeoPoint(1.5, 1.5) },
      { name: 'onbound', loc: new Parse.GeoPoint(10, 10) },
      { name: 'outbound', loc: new Parse.GeoPoint(20, 20) },
      { name: 'none' },
    ]);
    const box = new Parse.Query(cls).withinGeoBox('loc', new Parse.GeoPoint(0, 0), new Parse.GeoPoint(10, 10));
    assert.deepEqual(names(await box.find()), ['inbound', 'onbound']);
    assert.equal(await box.count(), 2);
    const narrowed = new Parse.Query(cls)
      .withinGeoBox('loc', new Parse.GeoPoint(0, 0), new Parse.GeoPoint(10, 10))
      .notEqualTo('name', 'onbound');
    assert.deepEqual(names(await narrowed.find()), ['inbound']);
    // Corners given the other way round make the same box (PostgreSQL's box normalises them).
    const swapped = new Parse.Query(cls).withinGeoBox('loc', new Parse.GeoPoint(10, 0), new Parse.GeoPoint(0, 10));
    assert.deepEqual(names(await swapped.find()), ['inbound', 'onbound']);
  });
});

describe('withinPolygon', () => {
  async function boxPoints() {
    const { Parse } = ctx;
    return seed('Poly', [
      { name: 'inbound', loc: new Parse.GeoPoint(1.5, 1.5) },
      { name: 'onbound', loc: new Parse.GeoPoint(10, 10) },
      { name: 'outbound', loc: new Parse.GeoPoint(20, 20) },
      { name: 'east', loc: new Parse.GeoPoint(0, 1) },
    ]);
  }

  it('an open or a closed path of GeoPoints, boundary included', async () => {
    const { Parse } = ctx;
    const cls = await boxPoints();
    const corners = [[0, 0], [0, 10], [10, 10], [10, 0]].map(([lat, lng]) => new Parse.GeoPoint(lat, lng));
    const open = await new Parse.Query(cls).withinPolygon('loc', corners).find();
    assert.deepEqual(names(open), ['east', 'inbound', 'onbound']);
    const closed = await new Parse.Query(cls).withinPolygon('loc', [...corners, corners[0]]).find();
    assert.deepEqual(names(closed), ['east', 'inbound', 'onbound']);
    const triangle = [new Parse.GeoPoint(0, 0), new Parse.GeoPoint(0, 2), new Parse.GeoPoint(2, 2)];
    assert.deepEqual(names(await new Parse.Query(cls).withinPolygon('loc', triangle).find()), ['east', 'inbound']);
  });

  it('coordinate pairs are [longitude, latitude], as parse-server reads them', async () => {
    const { Parse } = ctx;
    const cls = await boxPoints();
    // East of the origin (longitude 1, latitude 0) is in the first triangle, not the second.
    const eastward = await new Parse.Query(cls).withinPolygon('loc', [[0, 0], [1, 0], [1, 1]]).find();
    assert.deepEqual(names(eastward), ['east']);
    const northward = await new Parse.Query(cls).withinPolygon('loc', [[0, 0], [0, 1], [1, 1]]).find();
    assert.deepEqual(names(northward), []);
    // A Polygon value given to $polygon: its coordinates are read the same way.
    const res = await rawFind(cls, {
      loc: { $geoWithin: { $polygon: { __type: 'Polygon', coordinates: [[0, 0], [1, 0], [1, 1], [0, 0]] } } },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.results.map(r => r.name), ['east']);
  });
});

describe('polygonContains', () => {
  it('finds the Polygons containing a point, their edges included', async () => {
    const { Parse } = ctx;
    const cls = await seed('Area', [
      { name: 'unit', area: new Parse.Polygon([[0, 0], [0, 1], [1, 1], [1, 0]]) },
      { name: 'double', area: new Parse.Polygon([[0, 0], [0, 2], [2, 2], [2, 0]]) },
      { name: 'far', area: new Parse.Polygon([[10, 10], [10, 15], [15, 15], [15, 10], [10, 10]]) },
      // Latitudes 10 to 15, longitudes 20 to 30: pins Parse's [latitude, longitude] order.
      { name: 'wide', area: new Parse.Polygon([[10, 20], [10, 30], [15, 25]]) },
      { name: 'none' },
    ]);
    const containing = (lat, lng) => new Parse.Query(cls).polygonContains('area', new Parse.GeoPoint(lat, lng)).find();
    assert.deepEqual(names(await containing(0.5, 0.5)), ['double', 'unit']);
    assert.deepEqual(names(await containing(1, 1)), ['double', 'unit']);
    assert.deepEqual(names(await containing(1.5, 0.5)), ['double']);
    assert.deepEqual(names(await containing(11, 25)), ['wide']);
    assert.deepEqual(names(await containing(25, 11)), []);
    const polygons = new Parse.Query(cls).polygonContains('area', new Parse.GeoPoint(0.5, 0.5));
    assert.equal(await polygons.count(), 2);
  });
});

describe('invalid geo queries', () => {
  const point = (latitude, longitude) => ({ __type: 'GeoPoint', latitude, longitude });

  it('answer parse-server codes and messages', async () => {
    const cls = await seed('Bad', [{ name: 'x', loc: new ctx.Parse.GeoPoint(1.5, 1.5) }]);
    const cases = [
      [{ loc: { $geoWithin: { $polygon: [] } } }, 107, 'bad $geoWithin value; $polygon should contain at least 3 GeoPoints'],
      [
        { loc: { $geoWithin: { $polygon: { __type: 'Polygon', coordinates: [[0, 0], [10, 0]] } } } },
        107,
        'bad $geoWithin value; Polygon.coordinates should contain at least 3 lon/lat pairs',
      ],
      [{ loc: { $geoWithin: { $polygon: 1234 } } }, 107, /^bad \$geoWithin value; \$polygon should be/],
      [{ loc: { $geoWithin: { $polygon: [{}, [1, 1], [2, 2]] } } }, 107, 'bad $geoWithin value'],
      [{ loc: { $geoWithin: { $centerSphere: [[0, 0], -1] } } }, 107, 'bad $geoWithin value; $centerSphere distance invalid'],
      [{ loc: { $geoWithin: { $centerSphere: [5, 1] } } }, 107, 'bad $geoWithin value; $centerSphere geo point invalid'],
      [
        { loc: { $geoWithin: { $centerSphere: [[0, 0]] } } },
        107,
        'bad $geoWithin value; $centerSphere should be an array of Parse.GeoPoint and distance',
      ],
      [{ loc: { $within: { $box: [point(0, 0)] } } }, 107, 'malformatted $within arg'],
      [{ area: { $geoIntersects: { $point: [] } } }, 107, 'bad $geoIntersect value; $point should be GeoPoint'],
      [{ loc: { $nearSphere: 5 } }, 107, undefined],
      [{ loc: { $nearSphere: point(0, 0), $maxDistance: -1 } }, 107, 'bad $maxDistance value'],
      [{ loc: { $maxDistance: 1 } }, 102, undefined],
    ];
    for (const [where, code, message] of cases) {
      assertParseError(await rawFind(cls, where), 400, code, message);
    }
  });

  it('coordinates out of range are an internal error, as parse-server throws a TypeError there', async () => {
    const cls = await seed('Range', [{ name: 'x', loc: new ctx.Parse.GeoPoint(1.5, 1.5) }]);
    for (const where of [
      { loc: { $geoWithin: { $polygon: [point(0, 0), point(181, 0), point(0, 0)] } } },
      { loc: { $geoWithin: { $polygon: [point(0, 0), point(0, 181), point(0, 0)] } } },
      { loc: { $geoWithin: { $polygon: { __type: 'Polygon', coordinates: [[0, 0], [181, 0], [0, 10]] } } } },
      { area: { $geoIntersects: { $point: point(181, 181) } } },
    ]) {
      const res = await rawFind(cls, where);
      assert.equal(res.status, 500, `${JSON.stringify(where)}: ${res.text}`);
      assert.deepEqual(res.json, { code: 1, message: 'Internal server error.' });
    }
  });

  it('through the SDK', async () => {
    const { Parse } = ctx;
    const cls = await seed('BadSdk', [{ name: 'x', loc: new Parse.GeoPoint(1.5, 1.5) }]);
    const twoPoints = [new Parse.GeoPoint(0, 0), new Parse.GeoPoint(1, 1)];
    await expectParseError(new Parse.Query(cls).withinPolygon('loc', twoPoints).find(), Parse.Error.INVALID_JSON);
  });
});
