// /batch (src/batch.js in parse-server) and the SDK calls built on it:
// saveAll / destroyAll (POST /batch) and fetchAll (a containedIn query).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, assertStatus, expectParseError } from './harness.mjs';

const ctx = useServer();
const mount = () => new URL(ctx.server.url).pathname; // "/parse"

describe('POST /batch', () => {
  it('runs creates, updates, deletes and gets; answers [{success}|{error}] in order', async () => {
    const { server } = ctx;
    const cls = uniq('Batch');
    const a = await server.request('POST', `/classes/${cls}`, { body: { k: 'a' } });
    const b = await server.request('POST', `/classes/${cls}`, { body: { k: 'b' } });
    const res = await server.request('POST', '/batch', {
      body: {
        requests: [
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 'c' } },
          { method: 'PUT', path: `${mount()}/classes/${cls}/${a.json.objectId}`, body: { k: 'a2' } },
          { method: 'DELETE', path: `${mount()}/classes/${cls}/${b.json.objectId}` },
          { method: 'GET', path: `${mount()}/classes/${cls}/zzzzzzzzzz` },
        ],
      },
    });
    assertStatus(res, 200);
    assert.ok(Array.isArray(res.json), res.text);
    assert.equal(res.json.length, 4);
    assert.ok(res.json[0].success.objectId, res.text);
    assert.ok(res.json[0].success.createdAt, res.text);
    assert.ok(res.json[1].success.updatedAt, res.text);
    assert.deepEqual(res.json[2], { success: {} });
    assert.deepEqual(res.json[3], { error: { code: 101, error: 'Object not found.' } });

    const all = await server.request('GET', `/classes/${cls}`, { query: { order: 'k' } });
    assert.deepEqual(
      all.json.results.map(r => r.k),
      ['a2', 'c']
    );
  });

  it('a failing operation does not stop the others without a transaction', async () => {
    const { server } = ctx;
    const cls = uniq('Batch');
    await server.request('POST', `/classes/${cls}`, { body: { k: 'x' } });
    const res = await server.request('POST', '/batch', {
      body: {
        requests: [
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 'ok1' } },
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 42 } },
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 'ok2' } },
        ],
      },
    });
    assertStatus(res, 200);
    assert.ok(res.json[0].success, res.text);
    assert.equal(res.json[1].error.code, 111, res.text);
    assert.ok(res.json[2].success, res.text);
    const count = await server.request('GET', `/classes/${cls}`, { query: { count: 1, limit: 0 } });
    assert.equal(count.json.count, 3);
  });

  it('transaction: true commits every operation when all succeed', async () => {
    const { server } = ctx;
    const cls = uniq('Tx');
    const existing = await server.request('POST', `/classes/${cls}`, { body: { k: 'before' } });
    const res = await server.request('POST', '/batch', {
      body: {
        transaction: true,
        requests: [
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 'v1' } },
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 'v2' } },
          { method: 'PUT', path: `${mount()}/classes/${cls}/${existing.json.objectId}`, body: { k: 'after' } },
        ],
      },
    });
    assertStatus(res, 200);
    assert.equal(res.json.length, 3);
    for (const item of res.json) assert.ok(item.success, res.text);
    const all = await server.request('GET', `/classes/${cls}`, { query: { order: 'k' } });
    assert.deepEqual(
      all.json.results.map(r => r.k),
      ['after', 'v1', 'v2']
    );
  });

  it('transaction: true is all-or-nothing: one failing op rolls back the others', async () => {
    const { server } = ctx;
    const cls = uniq('Tx');
    const existing = await server.request('POST', `/classes/${cls}`, { body: { k: 'before' } });
    const id = existing.json.objectId;
    const res = await server.request('POST', '/batch', {
      body: {
        transaction: true,
        requests: [
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 'v1' } },
          { method: 'PUT', path: `${mount()}/classes/${cls}/${id}`, body: { k: 'changed' } },
          { method: 'DELETE', path: `${mount()}/classes/${cls}/${id}` },
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 10 } }, // type mismatch → 111
          { method: 'POST', path: `${mount()}/classes/${cls}`, body: { k: 'v2' } },
        ],
      },
    });
    // parse-server rejects the whole request (it answers 500 there, see README); the
    // status must be an error, and nothing of the batch may have been applied.
    assert.ok(res.status >= 400, `a failed transaction must not succeed: ${res.status} ${res.text}`);
    const all = await server.request('GET', `/classes/${cls}`);
    assertStatus(all, 200);
    assert.equal(all.json.results.length, 1, `rolled back: ${all.text}`);
    assert.equal(all.json.results[0].objectId, id);
    assert.equal(all.json.results[0].k, 'before');
  });

  it('a failed transaction leaves no class or field behind, and a committed one publishes them', async () => {
    const { server } = ctx;
    const fresh = uniq('TxNew');
    const failed = await server.request('POST', '/batch', {
      body: {
        transaction: true,
        requests: [
          { method: 'POST', path: `${mount()}/classes/${fresh}`, body: { brandNew: 1 } },
          { method: 'POST', path: `${mount()}/classes/${fresh}`, body: { brandNew: 'text' } }, // 111
        ],
      },
    });
    assert.ok(failed.status >= 400, failed.text);
    assertParseError(await server.request('GET', `/schemas/${fresh}`, { auth: 'master' }), 400, 103);
    // The class can then be created with the type the failed batch had tried the other way round.
    const created = await server.request('POST', `/classes/${fresh}`, { body: { brandNew: 'text' } });
    assertStatus(created, 201);

    const other = uniq('TxOk');
    const ok = await server.request('POST', '/batch', {
      body: { transaction: true, requests: [{ method: 'POST', path: `${mount()}/classes/${other}`, body: { f: 1 } }] },
    });
    assertStatus(ok, 200);
    const schema = await server.request('GET', `/schemas/${other}`, { auth: 'master' });
    assertStatus(schema, 200);
    assert.deepEqual(schema.json.fields.f, { type: 'Number' });
  });

  it('requests must be an array → 400 code 107', async () => {
    const { server } = ctx;
    const res = await server.request('POST', '/batch', { body: { requests: 'nope' } });
    assertParseError(res, 400, 107);
  });
});

describe('SDK saveAll / destroyAll / fetchAll', () => {
  it('saveAll creates more than one batch worth (batch size 20) and updates', async () => {
    const { Parse } = ctx;
    const cls = uniq('SaveAll');
    const objs = Array.from({ length: 45 }, (_, i) => new Parse.Object(cls, { i }));
    await Parse.Object.saveAll(objs);
    for (const o of objs) {
      assert.match(o.id, /^[A-Za-z0-9]{10}$/);
      assert.ok(o.createdAt instanceof Date);
    }
    assert.equal(await new Parse.Query(cls).count(), 45);
    objs.forEach(o => o.set('i', o.get('i') + 100));
    await Parse.Object.saveAll(objs);
    const min = await new Parse.Query(cls).ascending('i').first();
    assert.equal(min.get('i'), 100);
  });

  it('saveAll with transaction: true saves all objects', async () => {
    const { Parse } = ctx;
    const cls = uniq('SaveAllTx');
    await new Parse.Object(cls, { i: -1 }).save();
    const objs = Array.from({ length: 5 }, (_, i) => new Parse.Object(cls, { i }));
    await Parse.Object.saveAll(objs, { transaction: true });
    assert.equal(await new Parse.Query(cls).count(), 6);
  });

  it('saveAll reports the first failing object as a Parse.Error', async () => {
    const { Parse } = ctx;
    const cls = uniq('SaveAllErr');
    await new Parse.Object(cls, { v: 1 }).save();
    const objs = [new Parse.Object(cls, { v: 2 }), new Parse.Object(cls, { v: 'three' })];
    await expectParseError(Parse.Object.saveAll(objs), 111);
  });

  it('destroyAll deletes every object (through /batch)', async () => {
    const { Parse } = ctx;
    const cls = uniq('DestroyAll');
    const objs = Array.from({ length: 25 }, (_, i) => new Parse.Object(cls, { i }));
    await Parse.Object.saveAll(objs);
    await Parse.Object.destroyAll(objs);
    assert.equal(await new Parse.Query(cls).count(), 0);
  });

  it('destroyAll of an object already deleted fails with an aggregate error carrying 101', async () => {
    const { Parse } = ctx;
    const cls = uniq('DestroyAll');
    const objs = [new Parse.Object(cls, { i: 1 }), new Parse.Object(cls, { i: 2 })];
    await Parse.Object.saveAll(objs);
    await objs[0].destroy();
    const err = await expectParseError(Parse.Object.destroyAll(objs), Parse.Error.AGGREGATE_ERROR);
    assert.equal(err.errors.length, 1);
    assert.equal(err.errors[0].code, 101);
    assert.equal(await new Parse.Query(cls).count(), 0);
  });

  it('fetchAll refreshes several objects at once', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('FetchAll');
    const objs = Array.from({ length: 3 }, (_, i) => new Parse.Object(cls, { i }));
    await Parse.Object.saveAll(objs);
    for (const o of objs) {
      await server.request('PUT', `/classes/${cls}/${o.id}`, { body: { i: o.get('i') * 10, extra: true } });
    }
    const Cls = Parse.Object.extend(cls);
    const stale = objs.map(o => Cls.createWithoutData(o.id));
    const fetched = await Parse.Object.fetchAll(stale);
    assert.deepEqual(
      fetched.map(o => o.get('i')),
      [0, 10, 20]
    );
    assert.ok(fetched.every(o => o.get('extra') === true));
  });
});
