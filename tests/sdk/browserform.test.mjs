// The "browser form" of requests: POST with Content-Type text/plain and a JSON body
// carrying _method, _ApplicationId, _JavaScriptKey, _MasterKey, _SessionToken,
// _ClientVersion, _InstallationId (parse-server middlewares.js handleParseHeaders and
// allowMethodOverride), and CORS (middlewares.js allowCrossDomain).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, assertStatus } from './harness.mjs';

const ctx = useServer();

/** POST a text/plain JSON body with no X-Parse-* headers at all. */
function form(path, payload, extraHeaders = {}) {
  return ctx.server.request('POST', path, {
    auth: 'none',
    body: JSON.stringify(payload),
    headers: { 'Content-Type': 'text/plain', ...extraHeaders },
  });
}

function keys(extra = {}) {
  return {
    _ApplicationId: ctx.server.appId,
    _JavaScriptKey: ctx.server.javascriptKey,
    _ClientVersion: 'js8.6.2',
    _InstallationId: '3c7b7a3e-8f5a-4d63-9a8e-3f0e7c1a2b4d',
    ...extra,
  };
}

describe('text/plain JSON bodies with _method and keys', () => {
  it('create (no _method) → 201 with Location; the key fields are not stored', async () => {
    const cls = uniq('Form');
    const res = await form(`/classes/${cls}`, { ...keys(), a: 1 });
    assertStatus(res, 201);
    assert.ok(res.headers.get('location')?.endsWith(`/classes/${cls}/${res.json.objectId}`));
    const got = await ctx.server.request('GET', `/classes/${cls}/${res.json.objectId}`, { auth: 'master' });
    assert.equal(got.json.a, 1);
    for (const k of ['_ApplicationId', '_JavaScriptKey', '_ClientVersion', '_InstallationId', '_method']) {
      assert.equal(k in got.json, false, `${k} leaked into the object: ${got.text}`);
    }
    const schema = await ctx.server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(Object.keys(schema.json.fields).sort(), ['ACL', 'a', 'createdAt', 'objectId', 'updatedAt']);
  });

  it('_method GET on /classes/:className runs a query with where/order/limit from the body', async () => {
    const cls = uniq('Form');
    for (const n of [1, 2, 3, 4]) await form(`/classes/${cls}`, { ...keys(), n });
    const res = await form(`/classes/${cls}`, {
      ...keys({ _method: 'GET' }),
      where: { n: { $gt: 1 } },
      order: '-n',
      limit: 2,
    });
    assertStatus(res, 200);
    assert.deepEqual(
      res.json.results.map(r => r.n),
      [4, 3]
    );
    const count = await form(`/classes/${cls}`, { ...keys({ _method: 'GET' }), count: 1, limit: 0 });
    assert.deepEqual(count.json, { results: [], count: 4 });
  });

  it('_method GET / PUT / DELETE on /classes/:className/:objectId', async () => {
    const cls = uniq('Form');
    const created = await form(`/classes/${cls}`, { ...keys(), a: 1 });
    const id = created.json.objectId;
    const get = await form(`/classes/${cls}/${id}`, keys({ _method: 'GET' }));
    assertStatus(get, 200);
    assert.equal(get.json.a, 1);
    const put = await form(`/classes/${cls}/${id}`, { ...keys({ _method: 'PUT' }), a: 2 });
    assertStatus(put, 200);
    assert.ok(put.json.updatedAt);
    const del = await form(`/classes/${cls}/${id}`, keys({ _method: 'DELETE' }));
    assertStatus(del, 200);
    assert.deepEqual(del.json, {});
    assertParseError(await form(`/classes/${cls}/${id}`, keys({ _method: 'GET' })), 404, 101);
  });

  it('_MasterKey in the body grants master rights (e.g. /schemas)', async () => {
    const cls = uniq('Form');
    await form(`/classes/${cls}`, { ...keys(), a: 1 });
    const denied = await form(`/schemas/${cls}`, keys({ _method: 'GET' }));
    assert.equal(denied.status, 403, denied.text);
    const res = await form(`/schemas/${cls}`, {
      _ApplicationId: ctx.server.appId,
      _MasterKey: ctx.server.masterKey,
      _method: 'GET',
    });
    assertStatus(res, 200);
    assert.equal(res.json.className, cls);
  });

  it('_SessionToken is honoured: an invalid token → 400 code 209 "Invalid session token"', async () => {
    const cls = uniq('Form');
    const res = await form(`/classes/${cls}`, { ...keys({ _method: 'GET', _SessionToken: 'r:not-a-real-token' }) });
    assertParseError(res, 400, 209, 'Invalid session token');
  });

  it('bad _ApplicationId or _JavaScriptKey → 403 {"error":"unauthorized"}', async () => {
    const cls = uniq('Form');
    const badApp = await form(`/classes/${cls}`, { ...keys({ _ApplicationId: 'nope' }), a: 1 });
    assert.equal(badApp.status, 403, badApp.text);
    assert.deepEqual(badApp.json, { error: 'unauthorized' });
    const badKey = await form(`/classes/${cls}`, { ...keys({ _JavaScriptKey: 'nope' }), a: 1 });
    assert.equal(badKey.status, 403, badKey.text);
    assert.deepEqual(badKey.json, { error: 'unauthorized' });
    const noKey = await form(`/classes/${cls}`, { _ApplicationId: ctx.server.appId, a: 1 });
    assert.equal(noKey.status, 403, noKey.text);
  });

  it('/batch in the browser form', async () => {
    const cls = uniq('Form');
    const mount = new URL(ctx.server.url).pathname;
    const res = await form('/batch', {
      ...keys(),
      requests: [
        { method: 'POST', path: `${mount}/classes/${cls}`, body: { a: 1 } },
        { method: 'POST', path: `${mount}/classes/${cls}`, body: { a: 2 } },
      ],
    });
    assertStatus(res, 200);
    assert.equal(res.json.length, 2);
    assert.ok(res.json.every(r => r.success?.objectId), res.text);
  });
});

describe('CORS', () => {
  it('OPTIONS preflight with Origin → allowed origin, methods and Parse headers', async () => {
    const res = await fetch(`${ctx.server.url}/classes/Anything`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://example.test:8080',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-parse-application-id, x-parse-javascript-key, content-type',
      },
    });
    assert.ok([200, 204].includes(res.status), `preflight status ${res.status}`);
    const allowOrigin = res.headers.get('access-control-allow-origin');
    // parse-server answers "*" unless allowOrigin is configured.
    assert.ok(allowOrigin === '*' || allowOrigin === 'http://example.test:8080', `allow-origin: ${allowOrigin}`);
    const methods = (res.headers.get('access-control-allow-methods') || '').toUpperCase();
    for (const m of ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS']) assert.ok(methods.includes(m), `methods: ${methods}`);
    const allowHeaders = (res.headers.get('access-control-allow-headers') || '').toLowerCase();
    for (const h of [
      'x-parse-master-key',
      'x-parse-rest-api-key',
      'x-parse-javascript-key',
      'x-parse-application-id',
      'x-parse-client-version',
      'x-parse-session-token',
      'x-requested-with',
      'x-parse-revocable-session',
      'x-parse-request-id',
      'content-type',
    ]) {
      assert.ok(allowHeaders.includes(h), `allow-headers lacks ${h}: ${allowHeaders}`);
    }
  });

  it('OPTIONS needs no keys (it is answered before the app id check)', async () => {
    const res = await fetch(`${ctx.server.url}/schemas`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://other.test', 'Access-Control-Request-Method': 'GET' },
    });
    assert.ok([200, 204].includes(res.status), `preflight status ${res.status}`);
    assert.ok(res.headers.get('access-control-allow-origin'));
  });

  it('actual responses (success and error) carry Access-Control-Allow-Origin', async () => {
    const cls = uniq('Cors');
    const ok = await ctx.server.request('POST', `/classes/${cls}`, {
      body: { a: 1 },
      headers: { Origin: 'http://example.test:8080' },
    });
    assertStatus(ok, 201);
    assert.ok(ok.headers.get('access-control-allow-origin'), 'missing on success');
    const err = await ctx.server.request('GET', `/classes/${cls}/zzzzzzzzzz`, {
      headers: { Origin: 'http://example.test:8080' },
    });
    assert.equal(err.status, 404);
    assert.ok(err.headers.get('access-control-allow-origin'), 'missing on error');
    const unauthorized = await ctx.server.request('GET', `/classes/${cls}`, {
      auth: 'none',
      headers: { Origin: 'http://example.test:8080' },
    });
    assert.equal(unauthorized.status, 403);
    assert.ok(unauthorized.headers.get('access-control-allow-origin'), 'missing on 403');
  });
});
