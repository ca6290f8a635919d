// Keys and key-related options (parse-server src/middlewares.js handleParseHeaders,
// RestWrite.js, RestQuery.js, Options/Definitions.js):
// - app id missing or unknown → 403 {"error":"unauthorized"} (raw body, no code)
// - when any client key (clientKey, javascriptKey, restAPIKey, dotNetKey) is configured,
//   one of them must match, else 403 {"error":"unauthorized"}
// - master key bypasses client keys; readOnlyMasterKey reads everything, writes → 119
// - allowClientClassCreation (default false in parse-server ≥ 7) → 119 without master key
// - maxLimit caps the query limit
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, uniq, assertParseError, assertStatus, assertMasterKeyRequired, detailedOrSanitized } from './harness.mjs';

const servers = [];
async function server(overrides) {
  const s = await startServer(overrides);
  servers.push(s);
  return s;
}
after(async () => {
  for (const s of servers) {
    await s.stop();
    s.cleanup();
  }
});

const UNAUTHORIZED = { error: 'unauthorized' };

describe('application id and client keys', () => {
  let s;
  let cls;
  before(async () => {
    s = await server({ readOnlyMasterKey: 'ro-' + uniq('k') });
    cls = uniq('Keys');
    assertStatus(await s.request('POST', `/classes/${cls}`, { auth: 'master', body: { a: 1 } }), 201);
  });

  it('missing application id → 403 {"error":"unauthorized"}', async () => {
    const res = await s.request('GET', `/classes/${cls}`, { auth: 'none' });
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(res.json, UNAUTHORIZED);
    const withKey = await s.request('GET', `/classes/${cls}`, {
      auth: 'none',
      headers: { 'X-Parse-REST-API-Key': s.restAPIKey },
    });
    assert.equal(withKey.status, 403, withKey.text);
    assert.deepEqual(withKey.json, UNAUTHORIZED);
  });

  it('unknown application id → 403 {"error":"unauthorized"}, even with the right keys', async () => {
    const res = await s.request('GET', `/classes/${cls}`, {
      auth: 'none',
      headers: { 'X-Parse-Application-Id': 'not-' + s.appId, 'X-Parse-Master-Key': s.masterKey },
    });
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(res.json, UNAUTHORIZED);
  });

  it('application id alone, when client keys are configured → 403 unauthorized', async () => {
    const res = await s.request('GET', `/classes/${cls}`, { auth: 'app' });
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(res.json, UNAUTHORIZED);
  });

  it('right JavaScript key → 200; wrong JavaScript key → 403', async () => {
    assertStatus(await s.request('GET', `/classes/${cls}`, { auth: 'js' }), 200);
    const res = await s.request('GET', `/classes/${cls}`, {
      auth: 'app',
      headers: { 'X-Parse-Javascript-Key': 'wrong' },
    });
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(res.json, UNAUTHORIZED);
  });

  it('right REST API key → 200; wrong REST API key → 403', async () => {
    assertStatus(await s.request('GET', `/classes/${cls}`, { auth: 'rest' }), 200);
    const res = await s.request('GET', `/classes/${cls}`, {
      auth: 'app',
      headers: { 'X-Parse-REST-API-Key': 'wrong' },
    });
    assert.equal(res.status, 403, res.text);
    assert.deepEqual(res.json, UNAUTHORIZED);
  });

  it('writes are checked too: wrong key on POST → 403 and nothing is created', async () => {
    const res = await s.request('POST', `/classes/${cls}`, {
      auth: 'app',
      headers: { 'X-Parse-REST-API-Key': 'wrong' },
      body: { a: 99 },
    });
    assert.equal(res.status, 403, res.text);
    const check = await s.request('GET', `/classes/${cls}`, { auth: 'master', query: { where: { a: 99 } } });
    assert.deepEqual(check.json.results, []);
  });

  it('master key alone (no client key) is accepted and opens /schemas', async () => {
    const res = await s.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assertStatus(res, 200);
    assert.equal(res.json.className, cls);
  });

  it('a wrong master key with a valid client key is just a client (no master rights)', async () => {
    const res = await s.request('GET', '/schemas', {
      auth: 'rest',
      headers: { 'X-Parse-Master-Key': 'wrong-master' },
    });
    assertMasterKeyRequired(res);
  });

  it('the master key ignores ACLs', async () => {
    const created = await s.request('POST', `/classes/${cls}`, {
      auth: 'rest',
      body: { secret: true, ACL: {} },
    });
    assertStatus(created, 201);
    const id = created.json.objectId;
    assertParseError(await s.request('GET', `/classes/${cls}/${id}`, { auth: 'rest' }), 404, 101);
    const asMaster = await s.request('GET', `/classes/${cls}/${id}`, { auth: 'master' });
    assertStatus(asMaster, 200);
    assert.equal(asMaster.json.secret, true);
    assert.deepEqual(asMaster.json.ACL, {});
  });
});

describe('read-only master key', () => {
  let s;
  let cls;
  let id;
  before(async () => {
    s = await server({ readOnlyMasterKey: 'ro-' + uniq('k') });
    cls = uniq('RO');
    const created = await s.request('POST', `/classes/${cls}`, { auth: 'master', body: { a: 1, ACL: {} } });
    id = created.json.objectId;
  });

  it('reads everything: objects behind ACLs, /schemas, /serverInfo', async () => {
    const get = await s.request('GET', `/classes/${cls}/${id}`, { auth: 'readonly' });
    assertStatus(get, 200);
    assert.equal(get.json.a, 1);
    const find = await s.request('GET', `/classes/${cls}`, { auth: 'readonly' });
    assertStatus(find, 200);
    assert.equal(find.json.results.length, 1);
    assertStatus(await s.request('GET', '/schemas', { auth: 'readonly' }), 200);
    assertStatus(await s.request('GET', `/schemas/${cls}`, { auth: 'readonly' }), 200);
    assertStatus(await s.request('GET', '/serverInfo', { auth: 'readonly' }), 200);
  });

  it('create, update, delete → 400 code 119', async () => {
    assertParseError(await s.request('POST', `/classes/${cls}`, { auth: 'readonly', body: { a: 2 } }), 400, 119);
    assertParseError(await s.request('PUT', `/classes/${cls}/${id}`, { auth: 'readonly', body: { a: 3 } }), 400, 119);
    assertParseError(await s.request('DELETE', `/classes/${cls}/${id}`, { auth: 'readonly' }), 400, 119);
    const get = await s.request('GET', `/classes/${cls}/${id}`, { auth: 'master' });
    assert.equal(get.json.a, 1);
    const all = await s.request('GET', `/classes/${cls}`, { auth: 'master' });
    assert.deepEqual(
      all.json.results.map(r => r.objectId),
      [id]
    );
  });

  it('schema writes and purge → 400 code 119', async () => {
    assertParseError(await s.request('POST', `/schemas/${uniq('RoNew')}`, { auth: 'readonly', body: {} }), 400, 119);
    assertParseError(
      await s.request('PUT', `/schemas/${cls}`, { auth: 'readonly', body: { fields: { z: { type: 'String' } } } }),
      400,
      119
    );
    assertParseError(await s.request('DELETE', `/schemas/${cls}`, { auth: 'readonly' }), 400, 119);
    assertParseError(await s.request('DELETE', `/purge/${cls}`, { auth: 'readonly' }), 400, 119);
    const schema = await s.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.equal(schema.json.fields.z, undefined);
  });

  it('writes inside /batch fail per operation with 119', async () => {
    const mount = new URL(s.url).pathname;
    const res = await s.request('POST', '/batch', {
      auth: 'readonly',
      body: { requests: [{ method: 'POST', path: `${mount}/classes/${cls}`, body: { a: 5 } }] },
    });
    assertStatus(res, 200);
    assert.equal(res.json[0].error?.code, 119, res.text);
  });
});

describe('clientKey and servers without client keys', () => {
  it('with only clientKey configured, X-Parse-Client-Key must match', async () => {
    const s = await server({ javascriptKey: undefined, restAPIKey: undefined, clientKey: 'client-' + uniq('k') });
    const cls = uniq('CK');
    assertStatus(await s.request('POST', `/classes/${cls}`, { auth: 'client', body: { a: 1 } }), 201);
    const wrong = await s.request('GET', `/classes/${cls}`, { auth: 'app', headers: { 'X-Parse-Client-Key': 'nope' } });
    assert.equal(wrong.status, 403, wrong.text);
    assert.deepEqual(wrong.json, UNAUTHORIZED);
    const none = await s.request('GET', `/classes/${cls}`, { auth: 'app' });
    assert.equal(none.status, 403, none.text);
  });

  it('with no client key configured, the application id alone is enough', async () => {
    const s = await server({ javascriptKey: undefined, restAPIKey: undefined });
    const cls = uniq('NoKeys');
    assertStatus(await s.request('POST', `/classes/${cls}`, { auth: 'app', body: { a: 1 } }), 201);
    const res = await s.request('GET', `/classes/${cls}`, { auth: 'app' });
    assertStatus(res, 200);
    assert.equal(res.json.results.length, 1);
  });
});

describe('allowClientClassCreation', () => {
  for (const [label, overrides] of [
    ['false', { allowClientClassCreation: false }],
    ['absent (parse-server default is false)', { allowClientClassCreation: undefined }],
  ]) {
    it(`${label}: a client cannot create a class (119); the master key can; then clients may write`, async () => {
      const s = await server(overrides);
      const cls = uniq('NoCreate');
      const denied = await s.request('POST', `/classes/${cls}`, { auth: 'rest', body: { a: 1 } });
      assertParseError(denied, 400, 119, detailedOrSanitized(`This user is not allowed to access non-existent class: ${cls}`));
      const schema = await s.request('GET', `/schemas/${cls}`, { auth: 'master' });
      assertParseError(schema, 400, 103);

      const asMaster = await s.request('POST', `/classes/${cls}`, { auth: 'master', body: { a: 1 } });
      assertStatus(asMaster, 201);
      const asClient = await s.request('POST', `/classes/${cls}`, { auth: 'rest', body: { a: 2 } });
      assertStatus(asClient, 201);
      // A client may still add a field to an existing class (CLP addField is public).
      assertStatus(await s.request('POST', `/classes/${cls}`, { auth: 'rest', body: { newField: 'x' } }), 201);
    });
  }

  it('false: a client query on a missing class is also 119', async () => {
    const s = await server({ allowClientClassCreation: false });
    const cls = uniq('NoQuery');
    assertParseError(await s.request('GET', `/classes/${cls}`, { auth: 'rest' }), 400, 119);
    const asMaster = await s.request('GET', `/classes/${cls}`, { auth: 'master' });
    assertStatus(asMaster, 200);
    assert.deepEqual(asMaster.json, { results: [] });
  });
});

describe('maxLimit', () => {
  it('caps a larger limit; smaller limits are kept', async () => {
    const s = await server({ maxLimit: 5 });
    const cls = uniq('Max');
    const mount = new URL(s.url).pathname;
    const requests = Array.from({ length: 8 }, (_, i) => ({
      method: 'POST',
      path: `${mount}/classes/${cls}`,
      body: { i },
    }));
    assertStatus(await s.request('POST', '/batch', { body: { requests } }), 200);
    const capped = await s.request('GET', `/classes/${cls}`, { query: { limit: 100 } });
    assertStatus(capped, 200);
    assert.equal(capped.json.results.length, 5);
    const small = await s.request('GET', `/classes/${cls}`, { query: { limit: 3 } });
    assert.equal(small.json.results.length, 3);
    const count = await s.request('GET', `/classes/${cls}`, { query: { limit: 0, count: 1 } });
    assert.equal(count.json.count, 8);
  });
});
