// An attacker's suite: a signed-in user ("mallory") tries to read, infer or change what only
// another user ("alice") or a role may. Every case checks that no private value appears in any
// response body and, with the master key afterwards, that nothing changed.
// Expectations: parse-server's src/RestQuery.js (subqueries run with the caller's auth;
// include fetches pointers with the caller's auth and drops unreadable ones; denyProtectedFields:
// 119 for a where or an order on a protected field), src/Controllers/DatabaseController.js
// (addReadACL/addWriteACL: an object the caller may not read or write is "not found", 101,
// exactly like a missing one; authorizeRelatedToQuery: $relatedTo through an unreadable owner
// yields nothing), src/rest.js and src/RestWrite.js (_Session and _User writes), src/batch.js,
// src/Options/Definitions.js (protectedFields default {_User: {"*": ["email"]}}; enforcePrivateUsers
// default true, so user records are read here both ways).
// Checked against parse-server 8.6 (tests/sdk/reference), which passes all of these.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  startServer,
  initParse,
  uniq,
  assertParseError,
  assertStatus,
  expectParseError,
  detailedOrSanitized,
} from './harness.mjs';

const ctx = useServer();

/** A server of its own for one describe block. */
function ownServer(overrides) {
  const own = { server: null };
  before(async () => {
    own.server = await startServer(overrides);
  });
  after(async () => {
    if (own.server) {
      await own.server.stop();
      own.server.cleanup();
    }
  });
  return own;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const session = token => ({ 'X-Parse-Session-Token': token });
const pointer = (className, objectId) => ({ __type: 'Pointer', className, objectId });
const userPtr = id => pointer('_User', id);
const rolePtr = id => pointer('_Role', id);
const addRelation = (...objects) => ({ __op: 'AddRelation', objects });
const only = id => ({ [id]: { read: true, write: true } });
const publicRead = id => ({ '*': { read: true }, [id]: { read: true, write: true } });
const MISSING_ID = 'zZzZzZzZzZ';
const mount = () => new URL(ctx.server.url).pathname;

async function signUp(server, extra = {}) {
  const username = uniq('user');
  const password = `pw-${uniq('p')}`;
  const res = await server.request('POST', '/users', { body: { username, password, ...extra } });
  assertStatus(res, 201);
  return { id: res.json.objectId, token: res.json.sessionToken, username, password };
}

/** A request as `user` (a signUp result) or, with null, without a session. */
function as(server, user) {
  return (method, path, options = {}) =>
    server.request(method, path, {
      ...options,
      headers: { ...(options.headers || {}), ...(user ? session(user.token) : {}) },
    });
}

async function createObject(server, cls, body) {
  const res = await server.request('POST', `/classes/${cls}`, { auth: 'master', body });
  assertStatus(res, 201);
  return res.json.objectId;
}

async function masterGet(server, cls, id) {
  const res = await server.request('GET', `/classes/${cls}/${id}`, { auth: 'master' });
  assertStatus(res, 200);
  return res.json;
}

/** Every object of a class, as the master key sees it (to prove nothing changed). */
async function snapshot(server, cls) {
  const res = await server.request('GET', `/classes/${cls}`, { auth: 'master', query: { order: 'objectId', limit: 1000 } });
  assertStatus(res, 200);
  return res.json.results;
}

/** No secret string anywhere in the response body. */
function assertNoLeak(res, secrets) {
  for (const s of secrets) {
    assert.ok(!res.text.includes(s), `leaked ${s}: ${res.status} ${res.text}`);
  }
}

/** Two responses a caller cannot tell apart. */
function assertSameAnswer(a, b, what) {
  assert.equal(a.status, b.status, `${what}: ${a.status} ${a.text} vs ${b.status} ${b.text}`);
  assert.deepEqual(a.json, b.json, `${what}: ${a.text} vs ${b.text}`);
}

const ids = res => res.json.results.map(r => r.objectId).sort();
const sorted = list => [...list].sort();

/** alice (the victim) and mallory (the attacker). */
async function cast(server) {
  const alice = await signUp(server, { email: `${uniq('alice')}@example.com` });
  const mallory = await signUp(server, { email: `${uniq('mallory')}@example.com` });
  return { alice, mallory };
}

// ---------------------------------------------------------------------------------------------

describe('objects the attacker may not read', () => {
  it("another user's private object answers exactly like a missing one (101), for get, update and delete", async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const cls = uniq('Private');
    const secret = uniq('SECRET');
    const id = await createObject(server, cls, { secret, ACL: only(alice.id) });
    const before = await snapshot(server, cls);
    for (const caller of [mallory, null]) {
      const call = as(server, caller);
      const got = await call('GET', `/classes/${cls}/${id}`);
      assertParseError(got, 404, 101);
      assertSameAnswer(got, await call('GET', `/classes/${cls}/${MISSING_ID}`), 'get');
      assertSameAnswer(
        await call('GET', `/classes/${cls}/${id}`, { query: { keys: 'secret', include: 'secret' } }),
        await call('GET', `/classes/${cls}/${MISSING_ID}`, { query: { keys: 'secret', include: 'secret' } }),
        'get with keys'
      );
      const put = await call('PUT', `/classes/${cls}/${id}`, { body: { secret: 'overwritten' } });
      assertParseError(put, 404, 101);
      assertSameAnswer(put, await call('PUT', `/classes/${cls}/${MISSING_ID}`, { body: { secret: 'overwritten' } }), 'update');
      const del = await call('DELETE', `/classes/${cls}/${id}`);
      assertParseError(del, 404, 101);
      assertSameAnswer(del, await call('DELETE', `/classes/${cls}/${MISSING_ID}`), 'delete');
      const byWhere = await call('GET', `/classes/${cls}`, { query: { where: { objectId: id } } });
      assertStatus(byWhere, 200);
      assertSameAnswer(byWhere, await call('GET', `/classes/${cls}`, { query: { where: { objectId: MISSING_ID } } }), 'find by id');
      for (const res of [got, put, del, byWhere]) assertNoLeak(res, [secret]);
    }
    const { Parse } = ctx;
    await expectParseError(new Parse.Query(cls).get(id, { sessionToken: mallory.token }), 101);
    assert.deepEqual(await snapshot(server, cls), before, 'nothing changed');
    assert.equal((await masterGet(server, cls, id)).secret, secret);
  });

  it('queries and counts skip private rows, whatever the where', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const cls = uniq('Mixed');
    const secrets = [uniq('SECRET'), uniq('SECRET'), uniq('SECRET')];
    const pub = [
      await createObject(server, cls, { secret: 'public-1', n: 1, ACL: publicRead(alice.id) }),
      await createObject(server, cls, { secret: 'public-2', n: 2 }),
    ];
    const priv = [];
    for (const [i, secret] of secrets.entries()) {
      priv.push(await createObject(server, cls, { secret, n: 10 + i, ACL: only(alice.id) }));
    }
    for (const caller of [mallory, null]) {
      const call = as(server, caller);
      const queries = [
        {},
        { where: { secret: secrets[0] } },
        { where: { secret: { $regex: '^SECRET' } } },
        { where: { secret: { $in: secrets } } },
        { where: { objectId: { $in: priv } } },
        { where: { $or: [{ n: { $gte: 10 } }, { objectId: priv[1] }] } },
        { where: { n: { $gt: 0 } }, order: '-secret' },
      ];
      for (const query of queries) {
        const res = await call('GET', `/classes/${cls}`, { query: { ...query, count: 1 } });
        assertStatus(res, 200);
        assertNoLeak(res, secrets);
        for (const r of res.json.results) assert.ok(pub.includes(r.objectId), `private row in ${res.text}`);
        assert.equal(res.json.count, res.json.results.length, `count counts what is returned: ${res.text}`);
        const countOnly = await call('GET', `/classes/${cls}`, { query: { ...query, count: 1, limit: 0 } });
        assert.equal(countOnly.json.count, res.json.results.length, countOnly.text);
      }
      const all = await call('GET', `/classes/${cls}`, { query: { count: 1 } });
      assert.deepEqual(ids(all), sorted(pub));
      assert.equal(all.json.count, 2);
    }
    const owner = await as(server, alice)('GET', `/classes/${cls}`, { query: { count: 1, limit: 0 } });
    assert.equal(owner.json.count, 5);
  });

  it('permission and secret columns cannot be queried', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const cls = uniq('Perm');
    const secret = uniq('SECRET');
    await createObject(server, cls, { secret, ACL: only(alice.id) });
    const open = await createObject(server, cls, { secret: 'public' });
    const call = as(server, mallory);
    // parse-server lets a client name _rperm/_wperm, then replaces that constraint with the
    // caller's own; refusing them (105) leaks nothing either.
    for (const where of [{ _rperm: { $in: [alice.id] } }, { _rperm: alice.id }, { _wperm: { $in: [alice.id] } }]) {
      const res = await call('GET', `/classes/${cls}`, { query: { where } });
      assertNoLeak(res, [secret]);
      if (res.status === 200) {
        for (const r of res.json.results) assert.equal(r.objectId, open, res.text);
      } else {
        assertParseError(res, 400, 105);
      }
    }
    for (const key of ['_hashed_password', '_email_verify_token', '_perishable_token', '_session_token']) {
      assertParseError(
        await call('GET', '/users', { query: { where: { [key]: { $exists: true } } } }),
        400,
        105,
        `Invalid key name: ${key}`
      );
    }
    assertParseError(await call('GET', `/classes/${cls}`, { query: { order: '_rperm' } }), 400, 105, 'Invalid field name: _rperm.');
    const keyed = await call('GET', `/classes/${cls}`, { query: { keys: '_rperm,_wperm,secret' } });
    assertStatus(keyed, 200);
    assertNoLeak(keyed, [secret, '_rperm', '_wperm']);
    const byAcl = await call('GET', `/classes/${cls}`, { query: { where: { ACL: { [alice.id]: { read: true } } } } });
    assertNoLeak(byAcl, [secret]);
    assertParseError(byAcl, 400, 102, 'Cannot query on ACL.');
  });

  it('include leaves a pointer to a private object unexpanded (or drops it)', async () => {
    const { server, Parse } = ctx;
    const { alice, mallory } = await cast(server);
    const docs = uniq('Doc');
    const secret = uniq('SECRET');
    const privateDoc = await createObject(server, docs, { secret, title: 'private', ACL: only(alice.id) });
    const publicDoc = await createObject(server, docs, { secret: 'nothing-to-hide', title: 'public' });
    const holders = uniq('Holder');
    const holder = await createObject(server, holders, {
      doc: pointer(docs, privateDoc),
      other: pointer(docs, publicDoc),
      list: [pointer(docs, privateDoc), pointer(docs, publicDoc)],
    });
    const check = (res, obj) => {
      assertStatus(res, 200);
      assertNoLeak(res, [secret]);
      if (obj.doc !== undefined) assert.deepEqual(obj.doc, pointer(docs, privateDoc), res.text);
      assert.equal(obj.other.__type, 'Object', res.text);
      assert.equal(obj.other.title, 'public');
      for (const item of obj.list) {
        if (item.objectId === privateDoc) assert.equal(item.__type, 'Pointer', res.text);
        else assert.equal(item.title, 'public', res.text);
      }
    };
    for (const caller of [mallory, null]) {
      const call = as(server, caller);
      const found = await call('GET', `/classes/${holders}`, { query: { include: 'doc,other,list' } });
      check(found, found.json.results[0]);
      const got = await call('GET', `/classes/${holders}/${holder}`, { query: { include: 'doc,other,list' } });
      check(got, got.json);
      // A dotted key through the pointer does not reach it either.
      const keyed = await call('GET', `/classes/${holders}`, { query: { keys: 'doc.secret,doc.title' } });
      assertStatus(keyed, 200);
      assertNoLeak(keyed, [secret]);
    }
    const viaSdk = await new Parse.Query(holders).include('doc').first({ sessionToken: mallory.token });
    const doc = viaSdk.get('doc');
    assert.ok(doc === undefined || doc.get('secret') === undefined, 'the SDK object carries no private data');
    // The owner gets it expanded.
    const mine = await as(server, alice)('GET', `/classes/${holders}/${holder}`, { query: { include: 'doc' } });
    assert.equal(mine.json.doc.secret, secret);
  });

  it('$inQuery and $notInQuery cannot test private objects', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const docs = uniq('Doc');
    const holders = uniq('Holder');
    const hidden = uniq('SECRET');
    const dA = await createObject(server, docs, { code: hidden, ACL: only(alice.id) });
    const dB = await createObject(server, docs, { code: uniq('SECRET'), ACL: only(alice.id) });
    const dC = await createObject(server, docs, { code: 'public-code' });
    const [hA, hB, hC] = [
      await createObject(server, holders, { doc: pointer(docs, dA) }),
      await createObject(server, holders, { doc: pointer(docs, dB) }),
      await createObject(server, holders, { doc: pointer(docs, dC) }),
    ];
    const call = as(server, mallory);
    const find = async where => {
      const res = await call('GET', `/classes/${holders}`, { query: { where } });
      assertStatus(res, 200);
      assertNoLeak(res, [hidden]);
      return res;
    };
    const inQuery = code => find({ doc: { $inQuery: { className: docs, where: code === undefined ? {} : { code } } } });
    const notInQuery = code => find({ doc: { $notInQuery: { className: docs, where: code === undefined ? {} : { code } } } });
    // A private value that matches answers like one that matches nothing.
    assertSameAnswer(await inQuery(hidden), await inQuery('no-such-code'), '$inQuery');
    assert.deepEqual(ids(await inQuery(hidden)), []);
    assertSameAnswer(await notInQuery(hidden), await notInQuery('no-such-code'), '$notInQuery');
    assert.deepEqual(ids(await notInQuery(hidden)), sorted([hA, hB, hC]));
    assert.deepEqual(ids(await find({ doc: { $inQuery: { className: docs, where: { code: { $regex: '^SECRET' } } } } })), []);
    // Only readable documents take part.
    assert.deepEqual(ids(await inQuery()), [hC]);
    assert.deepEqual(ids(await notInQuery()), sorted([hA, hB]));
    // The owner's answer differs: the subquery runs with the caller's rights.
    const owner = await as(server, alice)('GET', `/classes/${holders}`, {
      query: { where: { doc: { $inQuery: { className: docs, where: { code: hidden } } } } },
    });
    assert.deepEqual(ids(owner), [hA]);
  });

  it('$select and $dontSelect cannot read private values', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const docs = uniq('Doc');
    const items = uniq('Item');
    const hidden = uniq('SECRET');
    await createObject(server, docs, { code: hidden, ACL: only(alice.id) });
    await createObject(server, docs, { code: 'shared' });
    const [iHidden, iShared, iOther] = [
      await createObject(server, items, { code: hidden }),
      await createObject(server, items, { code: 'shared' }),
      await createObject(server, items, { code: 'other' }),
    ];
    const call = as(server, mallory);
    const find = async where => {
      const res = await call('GET', `/classes/${items}`, { query: { where, keys: 'objectId' } });
      assertStatus(res, 200);
      assertNoLeak(res, [hidden]);
      return res;
    };
    const select = where => find({ code: { $select: { query: { className: docs, where }, key: 'code' } } });
    const dontSelect = where => find({ code: { $dontSelect: { query: { className: docs, where }, key: 'code' } } });
    assert.deepEqual(ids(await select({})), [iShared]);
    assert.deepEqual(ids(await dontSelect({})), sorted([iHidden, iOther]));
    assertSameAnswer(await select({ code: hidden }), await select({ code: 'no-such-code' }), '$select');
    assertSameAnswer(await dontSelect({ code: hidden }), await dontSelect({ code: 'no-such-code' }), '$dontSelect');
    const owner = await as(server, alice)('GET', `/classes/${items}`, {
      query: { where: { code: { $select: { query: { className: docs, where: {} }, key: 'code' } } } },
    });
    assert.deepEqual(ids(owner), sorted([iHidden, iShared]));
  });

  it('$relatedTo through a private owner yields nothing', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const items = uniq('Item');
    const folders = uniq('Folder');
    const i1 = await createObject(server, items, { label: 'one' });
    const i2 = await createObject(server, items, { label: 'two' });
    await createObject(server, items, { label: 'unrelated' });
    const folder = await createObject(server, folders, {
      name: uniq('SECRET'),
      items: addRelation(pointer(items, i1), pointer(items, i2)),
      ACL: only(alice.id),
    });
    const related = (user, owningId) =>
      as(server, user)('GET', `/classes/${items}`, {
        query: { where: { $relatedTo: { object: pointer(folders, owningId), key: 'items' } }, count: 1 },
      });
    for (const caller of [mallory, null]) {
      const res = await related(caller, folder);
      assertStatus(res, 200);
      assert.deepEqual(res.json.results, [], res.text);
      assert.equal(res.json.count, 0);
      assertSameAnswer(res, await related(caller, MISSING_ID), '$relatedTo');
    }
    const owner = await related(alice, folder);
    assert.deepEqual(ids(owner), sorted([i1, i2]));
  });
});

describe('protected fields', () => {
  async function protectedClass(server, extraProtected = {}) {
    const cls = uniq('Prot');
    const everyone = { '*': true };
    const res = await server.request('POST', `/schemas/${cls}`, {
      auth: 'master',
      body: {
        fields: { name: { type: 'String' }, secret: { type: 'String' }, meta: { type: 'Object' } },
        classLevelPermissions: {
          find: everyone,
          get: everyone,
          count: everyone,
          create: everyone,
          update: everyone,
          delete: everyone,
          addField: everyone,
          protectedFields: { '*': ['secret', 'meta'], ...extraProtected },
        },
      },
    });
    assertStatus(res, 200);
    return cls;
  }

  it('keys, include and the SDK select cannot fetch a protected field', async () => {
    const { server, Parse } = ctx;
    const { mallory } = await cast(server);
    const cls = await protectedClass(server);
    const secret = uniq('SECRET');
    const id = await createObject(server, cls, { name: 'n', secret, meta: { inner: secret } });
    const holders = uniq('Holder');
    await createObject(server, holders, { target: pointer(cls, id) });
    const call = as(server, mallory);
    for (const query of [
      { keys: 'secret' },
      { keys: 'secret,name' },
      { keys: 'meta.inner' },
      { excludeKeys: 'name' },
    ]) {
      const res = await call('GET', `/classes/${cls}`, { query });
      assertStatus(res, 200);
      assertNoLeak(res, [secret]);
      const byId = await call('GET', `/classes/${cls}/${id}`, { query });
      assertStatus(byId, 200);
      assertNoLeak(byId, [secret]);
    }
    for (const query of [{ include: 'target' }, { include: 'target', keys: 'target.secret' }, { keys: 'target.meta.inner' }]) {
      const res = await call('GET', `/classes/${holders}`, { query });
      assertStatus(res, 200);
      assertNoLeak(res, [secret]);
    }
    const viaSdk = await new Parse.Query(cls).select('secret', 'name').get(id, { sessionToken: mallory.token });
    assert.equal(viaSdk.get('secret'), undefined);
    assert.equal(viaSdk.get('name'), 'n');
  });

  it('a where on a protected field is refused with 119, whether or not it matches', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const cls = await protectedClass(server, { [alice.id]: [] });
    const secret = uniq('SECRET');
    await createObject(server, cls, { name: 'n', secret, meta: { inner: 'x' } });
    const refused = res =>
      assertParseError(res, 400, 119, detailedOrSanitized(`This user is not allowed to query secret on class ${cls}`));
    for (const caller of [mallory, null]) {
      const call = as(server, caller);
      for (const value of [secret, 'not-the-secret']) {
        refused(await call('GET', `/classes/${cls}`, { query: { where: { secret: value } } }));
        refused(await call('GET', `/classes/${cls}`, { query: { where: { secret: value }, count: 1, limit: 0 } }));
        refused(await call('GET', `/classes/${cls}`, { query: { where: { $or: [{ name: 'x' }, { secret: value }] } } }));
        refused(await call('GET', `/classes/${cls}`, { query: { where: { $and: [{ secret: { $regex: `^${value.slice(0, 4)}` } }] } } }));
        refused(await call('GET', `/classes/${cls}`, { query: { where: { $nor: [{ secret: value }] } } }));
      }
      refused(await call('GET', `/classes/${cls}`, { query: { where: { secret: { $exists: true } } } }));
    }
    // Not protected for alice, nor for the master key.
    const forAlice = await as(server, alice)('GET', `/classes/${cls}`, { query: { where: { secret } } });
    assertStatus(forAlice, 200);
    assert.equal(forAlice.json.results.length, 1);
    const forMaster = await server.request('GET', `/classes/${cls}`, { auth: 'master', query: { where: { secret } } });
    assert.equal(forMaster.json.results.length, 1);
    // A path into a protected Object field: parse-server names the whole key.
    for (const caller of [mallory, null]) {
      assertParseError(
        await as(server, caller)('GET', `/classes/${cls}`, { query: { where: { 'meta.inner': 'x' } } }),
        400,
        119,
        detailedOrSanitized(`This user is not allowed to query meta.inner on class ${cls}`)
      );
    }
  });

  it('an order on a protected field is refused with 119', async () => {
    const { server } = ctx;
    const { mallory } = await cast(server);
    const cls = await protectedClass(server);
    for (const secret of ['b-secret', 'a-secret', 'c-secret']) {
      await createObject(server, cls, { name: 'n', secret });
    }
    const master = await server.request('GET', `/classes/${cls}`, { auth: 'master', query: { order: 'secret' } });
    assert.deepEqual(master.json.results.map(r => r.secret), ['a-secret', 'b-secret', 'c-secret']);
    // (parse-server names the whole key, meta.inner, in the message.)
    for (const order of ['secret', '-secret', 'name,secret', 'meta.inner']) {
      const field = order.replace(/^-/, '').replace(/^name,/, '');
      const res = await as(server, mallory)('GET', `/classes/${cls}`, { query: { order } });
      assertParseError(res, 400, 119, detailedOrSanitized(`This user is not allowed to sort by ${field} on class ${cls}`));
      assertNoLeak(res, ['a-secret', 'b-secret', 'c-secret']);
    }
  });
});

describe('writes the attacker may not make', () => {
  it('a batch: forbidden operations fail, allowed ones apply; with a transaction nothing applies', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const cls = uniq('Batch');
    const secret = uniq('SECRET');
    const alicePrivate = await createObject(server, cls, { v: 'alice-private', secret, ACL: only(alice.id) });
    const alicePublic = await createObject(server, cls, { v: 'alice-public', ACL: publicRead(alice.id) });
    const mine = await createObject(server, cls, { v: 'mallory', ACL: only(mallory.id) });
    const path = id => `${mount()}/classes/${cls}${id ? `/${id}` : ''}`;
    const requests = [
      { method: 'POST', path: path(), body: { v: 'created-by-mallory', ACL: only(mallory.id) } },
      { method: 'PUT', path: path(alicePrivate), body: { v: 'pwned' } },
      { method: 'DELETE', path: path(alicePublic) },
      { method: 'PUT', path: path(mine), body: { v: 'mallory-updated' } },
      { method: 'PUT', path: path(alicePublic), body: { ACL: only(mallory.id) } },
      { method: 'GET', path: path(alicePrivate) },
    ];

    const before = await snapshot(server, cls);
    const tx = await as(server, mallory)('POST', '/batch', { body: { requests, transaction: true } });
    assert.ok(tx.status >= 400, `a failed transaction must not succeed: ${tx.status} ${tx.text}`);
    assertNoLeak(tx, [secret]);
    assert.deepEqual(await snapshot(server, cls), before, 'the transaction applied nothing');

    const res = await as(server, mallory)('POST', '/batch', { body: { requests } });
    assertStatus(res, 200);
    assertNoLeak(res, [secret]);
    assert.equal(res.json.length, requests.length, res.text);
    assert.ok(res.json[0].success?.objectId, res.text);
    for (const i of [1, 2, 4, 5]) assert.equal(res.json[i].error?.code, 101, `request ${i}: ${res.text}`);
    assert.ok(res.json[3].success?.updatedAt, res.text);
    const after = await snapshot(server, cls);
    assert.equal(after.length, 4);
    const byId = Object.fromEntries(after.map(o => [o.objectId, o]));
    assert.equal(byId[alicePrivate].v, 'alice-private');
    assert.deepEqual(byId[alicePrivate].ACL, only(alice.id));
    assert.equal(byId[alicePublic].v, 'alice-public');
    assert.deepEqual(byId[alicePublic].ACL, publicRead(alice.id));
    assert.equal(byId[mine].v, 'mallory-updated');
    assert.equal(byId[res.json[0].success.objectId].v, 'created-by-mallory');
  });

  it("granting oneself access through the ACL of someone else's object is refused", async () => {
    const { server, Parse } = ctx;
    const { alice, mallory } = await cast(server);
    const cls = uniq('Owned');
    const secret = uniq('SECRET');
    const visible = await createObject(server, cls, { v: 'visible', ACL: publicRead(alice.id) });
    const hidden = await createObject(server, cls, { v: 'hidden', secret, ACL: only(alice.id) });
    const before = await snapshot(server, cls);
    const call = as(server, mallory);
    for (const id of [visible, hidden]) {
      for (const ACL of [{ '*': { read: true, write: true } }, only(mallory.id), { ...publicRead(alice.id), [mallory.id]: { write: true } }]) {
        const res = await call('PUT', `/classes/${cls}/${id}`, { body: { ACL } });
        assertParseError(res, 404, 101);
        assertNoLeak(res, [secret]);
      }
    }
    const obj = await new Parse.Query(cls).get(visible, { sessionToken: mallory.token });
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    acl.setPublicWriteAccess(true);
    obj.setACL(acl);
    await expectParseError(obj.save(null, { sessionToken: mallory.token }), 101);
    assert.deepEqual(await snapshot(server, cls), before, 'nothing changed');
  });

  it('role escalation: joining, re-parenting, re-ACLing or deleting a role one cannot write fails', async () => {
    const { server, Parse } = ctx;
    const { alice, mallory } = await cast(server);
    const adminName = uniq('Admin');
    const created = await server.request('POST', '/classes/_Role', {
      auth: 'master',
      body: { name: adminName, ACL: { '*': { read: true } }, users: addRelation(userPtr(alice.id)) },
    });
    assertStatus(created, 201);
    const adminId = created.json.objectId;
    const cls = uniq('AdminOnly');
    const secret = uniq('SECRET');
    const adminDoc = await createObject(server, cls, { secret, ACL: { [`role:${adminName}`]: { read: true, write: true } } });
    const call = as(server, mallory);

    // Mallory's own role: she may create it and write to it.
    const crew = await call('POST', '/classes/_Role', { body: { name: uniq('Crew'), ACL: only(mallory.id), users: addRelation(userPtr(mallory.id)) } });
    assertStatus(crew, 201);
    const crewId = crew.json.objectId;

    const attempts = [
      ['PUT', { users: addRelation(userPtr(mallory.id)) }],
      ['PUT', { roles: addRelation(rolePtr(crewId)) }],
      ['PUT', { ACL: { '*': { read: true, write: true } } }],
      ['PUT', { ACL: only(mallory.id) }],
      ['DELETE', undefined],
    ];
    for (const [method, body] of attempts) {
      assertParseError(await call(method, `/classes/_Role/${adminId}`, { body }), 404, 101);
    }
    // Through the SDK too.
    const admin = await new Parse.Query(Parse.Role).get(adminId, { sessionToken: mallory.token });
    admin.getUsers().add(Parse.User.createWithoutData(mallory.id));
    await expectParseError(admin.save(null, { sessionToken: mallory.token }), 101);
    // A second role with the same name (and her in it) is refused.
    assertParseError(
      await call('POST', '/classes/_Role', { body: { name: adminName, ACL: only(mallory.id), users: addRelation(userPtr(mallory.id)) } }),
      400,
      137
    );
    // Making Admin a child of her own role gives Admin's members her access, not the reverse.
    assertStatus(await call('PUT', `/classes/_Role/${crewId}`, { body: { roles: addRelation(rolePtr(adminId)) } }), 200);

    const stillAdmin = await masterGet(server, '_Role', adminId);
    assert.equal(stillAdmin.name, adminName);
    assert.deepEqual(stillAdmin.ACL, { '*': { read: true } });
    const members = await server.request('GET', '/classes/_User', {
      auth: 'master',
      query: { where: { $relatedTo: { object: rolePtr(adminId), key: 'users' } } },
    });
    assert.deepEqual(ids(members), [alice.id]);
    const children = await server.request('GET', '/classes/_Role', {
      auth: 'master',
      query: { where: { $relatedTo: { object: rolePtr(adminId), key: 'roles' } } },
    });
    assert.deepEqual(children.json.results, []);
    const sameName = await server.request('GET', '/classes/_Role', { auth: 'master', query: { where: { name: adminName } } });
    assert.equal(sameName.json.results.length, 1);
    // And the admin-only object stays out of reach.
    const res = await call('GET', `/classes/${cls}/${adminDoc}`);
    assertParseError(res, 404, 101);
    const listed = await call('GET', `/classes/${cls}`);
    assert.deepEqual(listed.json.results, []);
    assertNoLeak(listed, [secret]);
    assert.equal((await as(server, alice)('GET', `/classes/${cls}/${adminDoc}`)).status, 200);
  });
});

describe('sessions and users', () => {
  it('a session token stops working everywhere after logout (209)', async () => {
    const { server, Parse } = ctx;
    const { alice } = await cast(server);
    const login = await server.request('POST', '/login', { body: { username: alice.username, password: alice.password } });
    assertStatus(login, 200);
    const other = login.json.sessionToken;
    const cls = uniq('AfterLogout');
    const id = await createObject(server, cls, { v: 'kept', ACL: only(alice.id) });
    // The stolen token still works before the logout.
    assertStatus(await as(server, alice)('GET', `/classes/${cls}/${id}`), 200);
    assertStatus(await server.request('POST', '/logout', { headers: session(alice.token) }), 200);
    const invalid = res => assertParseError(res, 400, 209, detailedOrSanitized('Invalid session token'));
    const stolen = as(server, alice);
    invalid(await stolen('GET', '/users/me'));
    invalid(await stolen('GET', `/classes/${cls}/${id}`));
    invalid(await stolen('GET', `/classes/${cls}`));
    invalid(await stolen('PUT', `/classes/${cls}/${id}`, { body: { v: 'changed' } }));
    invalid(await stolen('POST', `/classes/${cls}`, { body: { v: 'new' } }));
    invalid(await stolen('DELETE', `/classes/${cls}/${id}`));
    invalid(await stolen('PUT', `/users/${alice.id}`, { body: { nickname: 'x' } }));
    invalid(await stolen('POST', '/batch', { body: { requests: [{ method: 'POST', path: `${mount()}/classes/${cls}`, body: { v: 'b' } }] } }));
    Parse.User.enableUnsafeCurrentUser();
    await expectParseError(Parse.User.become(alice.token), 209);
    const all = await snapshot(server, cls);
    assert.equal(all.length, 1);
    assert.equal(all[0].v, 'kept');
    // Her other session is untouched.
    const me = await server.request('GET', '/users/me', { headers: session(other) });
    assertStatus(me, 200);
    assert.equal(me.json.objectId, alice.id);
  });

  it("another user's _Session rows can be neither found, read, changed nor deleted", async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    const theirs = await server.request('GET', '/classes/_Session', {
      auth: 'master',
      query: { where: { user: userPtr(alice.id) } },
    });
    assertStatus(theirs, 200);
    const sessionId = theirs.json.results[0].objectId;
    const before = theirs.json.results[0];
    const call = as(server, mallory);
    const check = res => assertNoLeak(res, [alice.token]);

    for (const path of ['/classes/_Session', '/sessions']) {
      for (const where of [{}, { user: userPtr(alice.id) }, { sessionToken: alice.token }, { objectId: sessionId }]) {
        const res = await call('GET', path, { query: { where } });
        assertStatus(res, 200);
        check(res);
        for (const s of res.json.results) assert.equal(s.user.objectId, mallory.id, res.text);
      }
      const got = await call('GET', `${path}/${sessionId}`);
      assertParseError(got, 404, 101);
      check(got);
      const put = await call('PUT', `${path}/${sessionId}`, { body: { label: 'stolen' } });
      assertParseError(put, 404, 101);
      assertParseError(await call('DELETE', `${path}/${sessionId}`), 404, 101);
    }
    const anonymous = await server.request('GET', '/classes/_Session');
    assertParseError(anonymous, 400, 209);
    const after = await server.request('GET', `/classes/_Session/${sessionId}`, { auth: 'master' });
    assertStatus(after, 200);
    assert.deepEqual(after.json, before);
    assertStatus(await server.request('GET', '/users/me', { headers: session(alice.token) }), 200);
  });

  it('users are private by default: another user is not found, nor listed', async () => {
    const { server } = ctx;
    const { alice, mallory } = await cast(server);
    for (const caller of [mallory, null]) {
      const call = as(server, caller);
      const got = await call('GET', `/users/${alice.id}`);
      assertParseError(got, 404, 101);
      assertSameAnswer(got, await call('GET', `/users/${MISSING_ID}`), 'get user');
      const listed = await call('GET', '/users', { query: { limit: 1000 } });
      assertStatus(listed, 200);
      assert.ok(!listed.json.results.some(u => u.objectId === alice.id), listed.text);
      assertNoLeak(listed, [alice.username]);
      // A where on the protected e-mail is refused before any object is read.
      assertParseError(
        await call('GET', '/users', { query: { where: { email: 'x@example.com' } } }),
        400,
        119,
        detailedOrSanitized('This user is not allowed to query email on class _User')
      );
    }
  });
});

describe('users readable by others (enforcePrivateUsers: false)', () => {
  const own = ownServer({ enforcePrivateUsers: false });

  it("another user's e-mail is hidden and cannot be searched or sorted on", async () => {
    const { server } = own;
    const { alice, mallory } = await cast(server);
    const aliceRecord = await masterGet(server, '_User', alice.id);
    const email = aliceRecord.email;
    assert.ok(email);
    for (const caller of [mallory, null]) {
      const call = as(server, caller);
      const got = await call('GET', `/users/${alice.id}`);
      assertStatus(got, 200);
      assert.equal(got.json.username, alice.username);
      assertNoLeak(got, [email]);
      const keyed = await call('GET', '/users', { query: { keys: 'email,username', where: { username: alice.username } } });
      assertStatus(keyed, 200);
      assert.equal(keyed.json.results.length, 1);
      assertNoLeak(keyed, [email]);
      for (const where of [{ email }, { email: { $regex: '^alice' } }, { $or: [{ username: 'x' }, { email }] }]) {
        const res = await call('GET', '/users', { query: { where } });
        assertParseError(res, 400, 119, detailedOrSanitized('This user is not allowed to query email on class _User'));
      }
      const byEmail = await call('GET', '/users', { query: { order: 'email' } });
      assertParseError(byEmail, 400, 119, detailedOrSanitized('This user is not allowed to sort by email on class _User'));
    }
    const Parse = initParse(server);
    try {
      const viaSdk = await new Parse.Query(Parse.User).get(alice.id, { sessionToken: mallory.token });
      assert.equal(viaSdk.get('email'), undefined);
      assert.equal(viaSdk.get('username'), alice.username);
    } finally {
      initParse(ctx.server);
    }
    // Changing it is refused (206 for another user's record) and changes nothing.
    const put = await as(server, mallory)('PUT', `/users/${alice.id}`, { body: { email: 'evil@example.com' } });
    assertParseError(put, 400, 206);
    // Alice sees her own.
    const self = await as(server, alice)('GET', `/users/${alice.id}`);
    assert.equal(self.json.email, email);
    assert.equal((await masterGet(server, '_User', alice.id)).email, email);
  });

  it('GET /users lists users without e-mails, authData, passwords or tokens of others', async () => {
    const { server } = own;
    const { alice, mallory } = await cast(server);
    const anonId = uniq('anon');
    const anon = await server.request('POST', '/users', { body: { authData: { anonymous: { id: anonId } } } });
    assertStatus(anon, 201);
    const aliceEmail = (await masterGet(server, '_User', alice.id)).email;
    const res = await as(server, mallory)('GET', '/users', { query: { limit: 1000 } });
    assertStatus(res, 200);
    const listed = Object.fromEntries(res.json.results.map(u => [u.objectId, u]));
    assert.ok(listed[alice.id], 'public users are listed');
    assert.ok(listed[anon.json.objectId], res.text);
    assertNoLeak(res, [aliceEmail, alice.token, anon.json.sessionToken, anonId, alice.password, mallory.password]);
    assert.ok(!/\$2[aby]\$/.test(res.text), `a bcrypt hash leaked: ${res.text}`);
    for (const user of res.json.results) {
      for (const key of Object.keys(user)) {
        assert.ok(!key.startsWith('_'), `internal field ${key}: ${res.text}`);
        assert.ok(!['password', 'sessionToken'].includes(key), `${key} listed: ${res.text}`);
      }
      if (user.objectId !== mallory.id) {
        assert.equal(user.email, undefined, res.text);
        assert.equal(user.authData, undefined, res.text);
      }
    }
    // Anonymous callers get the same redaction.
    const anonymous = await server.request('GET', '/users', { query: { limit: 1000 } });
    assertStatus(anonymous, 200);
    assertNoLeak(anonymous, [aliceEmail, anonId, alice.token]);
    for (const user of anonymous.json.results) {
      assert.equal(user.email, undefined);
      assert.equal(user.authData, undefined);
    }
  });
});
