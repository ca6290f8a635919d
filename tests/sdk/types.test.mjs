// Value types round-trip through the SDK, the schema is inferred on first write,
// and invalid writes fail with parse-server's codes (SchemaController.js:
// 111 INCORRECT_TYPE "schema mismatch for C.f; expected T but got U",
// 103 INVALID_CLASS_NAME, 105 INVALID_KEY_NAME).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, assertStatus, expectParseError, ISO_DATE } from './harness.mjs';

const ctx = useServer();

async function refetch(Parse, obj) {
  return new Parse.Query(obj.className).get(obj.id);
}

describe('round trips through the SDK', () => {
  it('String, Number (int and float), Boolean, Date, Object, Array, null', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Types');
    const when = new Date('2024-02-29T12:34:56.789Z');
    const nested = { a: { b: [1, 2, { c: 'd' }], e: null, f: true }, g: 1.5, h: 'é ü 漢字 🎉' };
    const arr = [1, 'two', { three: 3 }, [4, 5], true, null, 2.5];
    const obj = new Parse.Object(cls, {
      str: 'hello "quoted" \\ back\nslash',
      empty: '',
      int: 42,
      neg: -7,
      big: 2 ** 53 - 1,
      float: 3.14159,
      bool: true,
      boolFalse: false,
      date: when,
      obj: nested,
      arr,
      emptyArr: [],
      emptyObj: {},
    });
    await obj.save();
    const got = await refetch(Parse, obj);
    assert.equal(got.get('str'), 'hello "quoted" \\ back\nslash');
    assert.equal(got.get('empty'), '');
    assert.equal(got.get('int'), 42);
    assert.equal(got.get('neg'), -7);
    assert.equal(got.get('big'), 2 ** 53 - 1);
    assert.equal(got.get('float'), 3.14159);
    assert.equal(got.get('bool'), true);
    assert.equal(got.get('boolFalse'), false);
    assert.ok(got.get('date') instanceof Date);
    assert.equal(got.get('date').toISOString(), when.toISOString());
    assert.deepEqual(got.get('obj'), nested);
    assert.deepEqual(got.get('arr'), arr);
    assert.deepEqual(got.get('emptyArr'), []);
    assert.deepEqual(got.get('emptyObj'), {});

    const raw = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.deepEqual(raw.json.date, { __type: 'Date', iso: '2024-02-29T12:34:56.789Z' });
    assert.match(raw.json.createdAt, ISO_DATE);
    assert.match(raw.json.updatedAt, ISO_DATE);

    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    const types = Object.fromEntries(Object.entries(schema.json.fields).map(([k, v]) => [k, v.type]));
    assert.deepEqual(types, {
      objectId: 'String',
      createdAt: 'Date',
      updatedAt: 'Date',
      ACL: 'ACL',
      str: 'String',
      empty: 'String',
      int: 'Number',
      neg: 'Number',
      big: 'Number',
      float: 'Number',
      bool: 'Boolean',
      boolFalse: 'Boolean',
      date: 'Date',
      obj: 'Object',
      arr: 'Array',
      emptyArr: 'Array',
      emptyObj: 'Object',
    });
  });

  it('setting a field to null stores null and keeps the object', async () => {
    const { Parse } = ctx;
    const cls = uniq('Null');
    const obj = await new Parse.Object(cls, { s: 'x', n: null }).save();
    const got = await refetch(Parse, obj);
    assert.equal(got.get('s'), 'x');
    assert.equal(got.get('n') ?? null, null);
  });

  it('Pointer', async () => {
    const { Parse, server } = ctx;
    const target = await new Parse.Object(uniq('Target'), { name: 't' }).save();
    const cls = uniq('Ptr');
    const obj = await new Parse.Object(cls, { owner: target }).save();
    const got = await refetch(Parse, obj);
    const ptr = got.get('owner');
    assert.ok(ptr instanceof Parse.Object);
    assert.equal(ptr.className, target.className);
    assert.equal(ptr.id, target.id);
    const raw = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.deepEqual(raw.json.owner, { __type: 'Pointer', className: target.className, objectId: target.id });
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(schema.json.fields.owner, { type: 'Pointer', targetClass: target.className });
  });

  it('Relation', async () => {
    const { Parse, server } = ctx;
    const targetCls = uniq('RelTarget');
    const a = await new Parse.Object(targetCls, { n: 1 }).save();
    const b = await new Parse.Object(targetCls, { n: 2 }).save();
    const cls = uniq('Rel');
    const obj = new Parse.Object(cls);
    obj.relation('members').add([a, b]);
    await obj.save();
    const raw = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.deepEqual(raw.json.members, { __type: 'Relation', className: targetCls });
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(schema.json.fields.members, { type: 'Relation', targetClass: targetCls });
    const got = await refetch(Parse, obj);
    const members = await got.relation('members').query().ascending('n').find();
    assert.deepEqual(
      members.map(m => m.id),
      [a.id, b.id]
    );
  });

  it('File reference stored as a value (no upload)', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('FileRef');
    const file = Parse.File.fromJSON({ __type: 'File', name: 'x.txt', url: 'http://files.example.com/x.txt' });
    const obj = await new Parse.Object(cls, { f: file }).save();
    const got = await refetch(Parse, obj);
    const f = got.get('f');
    assert.ok(f instanceof Parse.File);
    assert.equal(f.name(), 'x.txt');
    // parse-server keeps only the file *name* in the database and rebuilds the URL
    // on read from the mount and app id (FilesController.expandFilesInObject).
    const expectedUrl = `${server.url}/files/${server.appId}/x.txt`;
    assert.equal(f.url(), expectedUrl);
    const raw = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.deepEqual(raw.json.f, { __type: 'File', name: 'x.txt', url: expectedUrl });
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(schema.json.fields.f, { type: 'File' });
  });

  it('GeoPoint', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Geo');
    const obj = await new Parse.Object(cls, { loc: new Parse.GeoPoint(40.7128, -74.006) }).save();
    const got = await refetch(Parse, obj);
    const loc = got.get('loc');
    assert.ok(loc instanceof Parse.GeoPoint);
    assert.equal(loc.latitude, 40.7128);
    assert.equal(loc.longitude, -74.006);
    const raw = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.deepEqual(raw.json.loc, { __type: 'GeoPoint', latitude: 40.7128, longitude: -74.006 });
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(schema.json.fields.loc, { type: 'GeoPoint' });
  });

  it('Polygon (closed path round-trips; an open path comes back closed, as in parse-server)', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Poly');
    const closed = [
      [0, 0],
      [0, 1],
      [1, 1],
      [1, 0],
      [0, 0],
    ];
    const a = await new Parse.Object(cls, { area: new Parse.Polygon(closed) }).save();
    const gotA = await refetch(Parse, a);
    assert.ok(gotA.get('area') instanceof Parse.Polygon);
    assert.deepEqual(gotA.get('area').coordinates, closed);
    const raw = await server.request('GET', `/classes/${cls}/${a.id}`);
    assert.deepEqual(raw.json.area, { __type: 'Polygon', coordinates: closed });

    const b = await new Parse.Object(cls, { area: new Parse.Polygon(closed.slice(0, 4)) }).save();
    const gotB = await refetch(Parse, b);
    assert.deepEqual(gotB.get('area').coordinates, closed);
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(schema.json.fields.area, { type: 'Polygon' });
  });

  it('Bytes', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Bytes');
    const bytes = { __type: 'Bytes', base64: Buffer.from([0, 1, 2, 250, 255]).toString('base64') };
    const obj = await new Parse.Object(cls, { raw: bytes }).save();
    const got = await refetch(Parse, obj);
    assert.deepEqual(got.get('raw'), bytes);
    const rest = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.deepEqual(rest.json.raw, bytes);
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(schema.json.fields.raw, { type: 'Bytes' });
  });

  it('ACL set with Parse.ACL reads back equal', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Acl');
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    acl.setPublicWriteAccess(false);
    acl.setReadAccess('someUserId', true);
    acl.setWriteAccess('someUserId', true);
    acl.setRoleReadAccess('admins', true);
    acl.setRoleWriteAccess('admins', true);
    const obj = new Parse.Object(cls, { v: 1 });
    obj.setACL(acl);
    await obj.save();
    const got = await refetch(Parse, obj);
    assert.ok(got.getACL() instanceof Parse.ACL);
    assert.deepEqual(got.getACL().toJSON(), acl.toJSON());
    const raw = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.deepEqual(raw.json.ACL, {
      '*': { read: true },
      someUserId: { read: true, write: true },
      'role:admins': { read: true, write: true },
    });
    // No public write: a client cannot update it (parse-server answers 101 Object not found).
    await expectParseError(got.save({ v: 2 }), 101);
    // The master key can.
    await got.save({ v: 3 }, { useMasterKey: true });
    assert.equal((await refetch(Parse, obj)).get('v'), 3);
  });
});

describe('schema inference and validation', () => {
  it('the first write defines the type; a different type later → 111', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Infer');
    const obj = await new Parse.Object(cls, { n: 1, s: 'x', d: new Date() }).save();
    await expectParseError(new Parse.Object(cls, { n: 'one' }).save(), 111);
    await expectParseError(obj.save({ s: 5 }), 111);
    const raw = await server.request('POST', `/classes/${cls}`, { body: { d: 'not a date' } });
    assertParseError(raw, 400, 111, `schema mismatch for ${cls}.d; expected Date but got String`);
    const ptrMismatch = await server.request('POST', `/classes/${cls}`, { body: { n: { __type: 'Pointer', className: 'X', objectId: 'abcdefghij' } } });
    assertParseError(ptrMismatch, 400, 111);
  });

  it('Pointer to a different class than the schema says → 111', async () => {
    const { Parse } = ctx;
    const cls = uniq('PtrType');
    const t1 = await new Parse.Object(uniq('T1')).save();
    const t2 = await new Parse.Object(uniq('T2')).save();
    await new Parse.Object(cls, { p: t1 }).save();
    await expectParseError(new Parse.Object(cls, { p: t2 }).save(), 111);
  });

  it('invalid class names → 400 code 103 (parse-server 8 answers 107 on object create)', async () => {
    const { Parse, server } = ctx;
    // parse-server 8: RestWrite → SchemaController.enforceClassExists swallows the 103 and
    // answers 107 "schema class name does not revalidate"; /schemas answers 103.
    const err = await expectParseError(new Parse.Object('Bad-Name').save(), undefined);
    assert.ok([103, 107].includes(err.code), `code ${err.code}: ${err.message}`);
    for (const name of ['1Leading', '_Underscore', 'With%20Space']) {
      const res = await server.request('POST', `/classes/${name}`, { body: { a: 1 } });
      assert.equal(res.status, 400, `${name}: ${res.status} ${res.text}`);
      assert.ok([103, 107].includes(res.json?.code), `${name}: ${res.text}`);
    }
    // Nothing was created.
    const list = await server.request('GET', '/schemas', { auth: 'master' });
    assert.ok(!list.json.results.some(s => ['Bad-Name', '1Leading', '_Underscore', 'With Space'].includes(s.className)));
  });

  it('invalid field names → 105', async () => {
    const { server } = ctx;
    const cls = uniq('Fields');
    assertStatus(await server.request('POST', `/classes/${cls}`, { body: { ok: 1 } }), 201);
    // (The SDK itself refuses such keys before sending, so this is raw REST.)
    for (const field of ['bad-field', '1abc', 'has space', '$dollar', '_private']) {
      const res = await server.request('POST', `/classes/${cls}`, { body: { [field]: 1 } });
      assertParseError(res, 400, 105, `Invalid field name: ${field}.`);
    }
    const created = await server.request('POST', `/classes/${cls}`, { body: { ok: 2 } });
    const upd = await server.request('PUT', `/classes/${cls}/${created.json.objectId}`, { body: { 'bad-field': 1 } });
    assertParseError(upd, 400, 105);
  });
});
