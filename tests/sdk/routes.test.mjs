// REST routes: /classes, /health, /serverInfo, /purge and the error body shape.
// Expected behaviour: parse-server src/Routers/ClassesRouter.js, RestWrite.js,
// middlewares.js (handleParseErrors: 101 → 404, 1 → 500, others → 400;
// promiseEnforceMasterKeyAccess → 403 {"error":"unauthorized: master key is required"}),
// ParseServer.js (/health), FeaturesRouter.js (/serverInfo), PurgeRouter.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, assertStatus, assertMasterKeyRequired, ISO_DATE, OBJECT_ID } from './harness.mjs';

const ctx = useServer();

describe('/classes/:className', () => {
  it('POST creates: 201, Location header, {objectId, createdAt}', async () => {
    const { server } = ctx;
    const cls = uniq('Route');
    const res = await server.request('POST', `/classes/${cls}`, { body: { a: 1, s: 'x' } });
    assertStatus(res, 201);
    assert.deepEqual(Object.keys(res.json).sort(), ['createdAt', 'objectId']);
    assert.match(res.json.objectId, OBJECT_ID);
    assert.match(res.json.createdAt, ISO_DATE);
    assert.equal(res.headers.get('location'), `${server.url}/classes/${cls}/${res.json.objectId}`);
    assert.match(res.headers.get('content-type') || '', /application\/json/);
  });

  it('GET /classes/:className/:objectId returns the object with createdAt == updatedAt', async () => {
    const { server } = ctx;
    const cls = uniq('Route');
    const created = await server.request('POST', `/classes/${cls}`, { body: { a: 1, s: 'x' } });
    const id = created.json.objectId;
    const res = await server.request('GET', `/classes/${cls}/${id}`);
    assertStatus(res, 200);
    assert.equal(res.json.objectId, id);
    assert.equal(res.json.a, 1);
    assert.equal(res.json.s, 'x');
    assert.equal(res.json.createdAt, created.json.createdAt);
    assert.equal(res.json.updatedAt, created.json.createdAt);
  });

  it('GET /classes/:className queries: {results: [...]}', async () => {
    const { server } = ctx;
    const cls = uniq('Route');
    for (const a of [1, 2, 3]) await server.request('POST', `/classes/${cls}`, { body: { a } });
    const res = await server.request('GET', `/classes/${cls}`, { query: { where: { a: { $gte: 2 } }, order: 'a' } });
    assertStatus(res, 200);
    assert.deepEqual(Object.keys(res.json), ['results']);
    assert.deepEqual(
      res.json.results.map(r => r.a),
      [2, 3]
    );
  });

  it('POST /classes/_User signs up like /users: the password is stored hashed and never returned', async () => {
    const { server } = ctx;
    const username = uniq('plain');
    const res = await server.request('POST', '/classes/_User', { body: { username, password: 'p4ss' } });
    assertStatus(res, 201);
    assert.match(res.json.sessionToken, /^r:[0-9a-f]{32}$/);
    const found = await server.request('GET', '/classes/_User', { auth: 'master', query: { where: { username } } });
    assertStatus(found, 200);
    assert.equal(found.json.results.length, 1);
    const user = found.json.results[0];
    for (const secret of ['password', '_hashed_password', 'sessionToken']) {
      assert.equal(user[secret], undefined, secret);
    }
    assert.ok(!found.text.includes('p4ss'));
    const login = await server.request('GET', '/login', { query: { username, password: 'p4ss' } });
    assertStatus(login, 200);
  });

  it('GET on a class that does not exist returns no results (not an error)', async () => {
    const { server } = ctx;
    const res = await server.request('GET', `/classes/${uniq('Missing')}`);
    assertStatus(res, 200);
    assert.deepEqual(res.json, { results: [] });
  });

  it('PUT updates: 200 {updatedAt}', async () => {
    const { server } = ctx;
    const cls = uniq('Route');
    const created = await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    const id = created.json.objectId;
    const res = await server.request('PUT', `/classes/${cls}/${id}`, { body: { a: 2, b: 'new' } });
    assertStatus(res, 200);
    assert.deepEqual(Object.keys(res.json), ['updatedAt']);
    assert.match(res.json.updatedAt, ISO_DATE);
    assert.ok(res.json.updatedAt >= created.json.createdAt);
    const got = await server.request('GET', `/classes/${cls}/${id}`);
    assert.equal(got.json.a, 2);
    assert.equal(got.json.b, 'new');
    assert.equal(got.json.updatedAt, res.json.updatedAt);
  });

  it('DELETE removes: 200 {}; afterwards GET is 404 {code:101, error:"Object not found."}', async () => {
    const { server } = ctx;
    const cls = uniq('Route');
    const created = await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    const id = created.json.objectId;
    const del = await server.request('DELETE', `/classes/${cls}/${id}`);
    assertStatus(del, 200);
    assert.deepEqual(del.json, {});
    const got = await server.request('GET', `/classes/${cls}/${id}`);
    assertParseError(got, 404, 101, 'Object not found.');
  });

  it('PUT and DELETE of a missing object are 404 code 101', async () => {
    const { server } = ctx;
    const cls = uniq('Route');
    await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    assertParseError(await server.request('PUT', `/classes/${cls}/aaaaaaaaaa`, { body: { a: 2 } }), 404, 101);
    assertParseError(await server.request('DELETE', `/classes/${cls}/aaaaaaaaaa`), 404, 101);
    assertParseError(await server.request('GET', `/classes/${cls}/aaaaaaaaaa`), 404, 101);
  });

  it('objectId in a create body is rejected with 105 (allowCustomObjectId is off)', async () => {
    const { server } = ctx;
    const res = await server.request('POST', `/classes/${uniq('Route')}`, { body: { objectId: 'abcdefghij', a: 1 } });
    assertParseError(res, 400, 105);
  });

  it('unknown query parameter → 400 code 102', async () => {
    const { server } = ctx;
    const cls = uniq('Route');
    await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    const res = await server.request('GET', `/classes/${cls}`, { query: { foo: 'bar' } });
    assertParseError(res, 400, 102, 'Invalid parameter for query: foo');
  });

  it('malformed JSON body → 400, never 500', async () => {
    const { server } = ctx;
    const res = await server.request('POST', `/classes/${uniq('Route')}`, { body: '{"a": ', contentType: 'application/json' });
    assert.equal(res.status, 400, `got ${res.status} ${res.text}`);
  });
});

describe('error bodies', () => {
  it('are exactly {code, error}; 101 → 404, other Parse errors → 400', async () => {
    const { server } = ctx;
    const cls = uniq('Err');
    await server.request('POST', `/classes/${cls}`, { body: { n: 1 } });
    assertParseError(await server.request('GET', `/classes/${cls}/zzzzzzzzzz`), 404, 101, 'Object not found.');
    const mismatch = await server.request('POST', `/classes/${cls}`, { body: { n: 'not a number' } });
    assertParseError(mismatch, 400, 111);
    assert.match(mismatch.json.error, /^schema mismatch for /);
    assert.match(mismatch.headers.get('content-type') || '', /application\/json/);
  });
});

describe('/health', () => {
  it('GET → 200 {"status":"ok"} without any keys', async () => {
    const { server } = ctx;
    const res = await server.request('GET', '/health', { auth: 'none' });
    assertStatus(res, 200);
    assert.deepEqual(res.json, { status: 'ok' });
  });
});

describe('/serverInfo', () => {
  it('with the master key → 200 {parseServerVersion, features}', async () => {
    const { server } = ctx;
    const res = await server.request('GET', '/serverInfo', { auth: 'master' });
    assertStatus(res, 200);
    assert.equal(typeof res.json.parseServerVersion, 'string');
    assert.ok(res.json.features && typeof res.json.features === 'object', res.text);
  });

  it('without the master key → 403 {"error":"unauthorized: master key is required"} (8.x: "Permission denied")', async () => {
    const { server } = ctx;
    for (const auth of ['js', 'rest']) {
      assertMasterKeyRequired(await server.request('GET', '/serverInfo', { auth }));
    }
  });
});

describe('/purge/:className', () => {
  it('DELETE with the master key removes every object but keeps the class', async () => {
    const { server } = ctx;
    const cls = uniq('Purge');
    for (const a of [1, 2, 3]) await server.request('POST', `/classes/${cls}`, { body: { a } });
    const res = await server.request('DELETE', `/purge/${cls}`, { auth: 'master' });
    assertStatus(res, 200);
    assert.deepEqual(res.json, {});
    const after = await server.request('GET', `/classes/${cls}`);
    assert.deepEqual(after.json, { results: [] });
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assertStatus(schema, 200);
    assert.equal(schema.json.fields.a.type, 'Number');
  });

  it('DELETE of a class that does not exist → 200 {}', async () => {
    const { server } = ctx;
    const res = await server.request('DELETE', `/purge/${uniq('NoSuch')}`, { auth: 'master' });
    assertStatus(res, 200);
    assert.deepEqual(res.json, {});
  });

  it('without the master key → 403 unauthorized: master key is required', async () => {
    const { server } = ctx;
    const cls = uniq('Purge');
    await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    assertMasterKeyRequired(await server.request('DELETE', `/purge/${cls}`, { auth: 'rest' }));
    const after = await server.request('GET', `/classes/${cls}`);
    assert.equal(after.json.results.length, 1);
  });
});
