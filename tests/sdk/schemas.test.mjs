// /schemas and /schemas/:className (parse-server src/Routers/SchemasRouter.js,
// SchemaController.js; spec/schemas.spec.js), raw REST and Parse.Schema.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, assertStatus, assertMasterKeyRequired, expectParseError } from './harness.mjs';

const ctx = useServer();

const defaultCLP = {
  find: { '*': true },
  count: { '*': true },
  get: { '*': true },
  create: { '*': true },
  update: { '*': true },
  delete: { '*': true },
  addField: { '*': true },
  protectedFields: { '*': [] },
};
const defaultFields = {
  objectId: { type: 'String' },
  createdAt: { type: 'Date' },
  updatedAt: { type: 'Date' },
  ACL: { type: 'ACL' },
};

// parse-server 8 adds a default-ACL entry to the default CLPs:
// ACL: {'*': {read: true, write: true}} (Mongo/PostgresStorageAdapter defaultCLPS);
// 7.x has no such entry. Either is accepted.
const normalizeCLP = clp => {
  if (!clp || typeof clp !== 'object') return clp;
  const copy = { ...clp };
  if (JSON.stringify(copy.ACL) === JSON.stringify({ '*': { read: true, write: true } })) delete copy.ACL;
  return copy;
};
const withoutIndexes = schema => {
  const copy = { ...schema };
  delete copy.indexes;
  if (copy.classLevelPermissions) copy.classLevelPermissions = normalizeCLP(copy.classLevelPermissions);
  return copy;
};

describe('master key is required', () => {
  for (const [method, path, body] of [
    ['GET', '/schemas'],
    ['GET', '/schemas/Anything'],
    ['POST', '/schemas/Anything', { className: 'Anything' }],
    ['POST', '/schemas', { className: 'Anything' }],
    ['PUT', '/schemas/Anything', { fields: { x: { type: 'String' } } }],
    ['DELETE', '/schemas/Anything'],
  ]) {
    it(`${method} ${path} with the JS or REST key → 403 unauthorized: master key is required`, async () => {
      const { server } = ctx;
      for (const auth of ['js', 'rest']) {
        assertMasterKeyRequired(await server.request(method, path, { auth, body }));
      }
    });
  }
});

describe('REST', () => {
  it('POST /schemas/:className creates a class and answers the full schema', async () => {
    const { server } = ctx;
    const cls = uniq('Sch');
    const res = await server.request('POST', `/schemas/${cls}`, {
      auth: 'master',
      body: {
        className: cls,
        fields: {
          foo: { type: 'Number' },
          ptr: { type: 'Pointer', targetClass: 'SomeClass' },
          rel: { type: 'Relation', targetClass: 'SomeClass' },
        },
      },
    });
    assertStatus(res, 200);
    assert.deepEqual(withoutIndexes(res.json), {
      className: cls,
      fields: {
        ...defaultFields,
        foo: { type: 'Number' },
        ptr: { type: 'Pointer', targetClass: 'SomeClass' },
        rel: { type: 'Relation', targetClass: 'SomeClass' },
      },
      classLevelPermissions: defaultCLP,
    });
    const got = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assertStatus(got, 200);
    assert.deepEqual(withoutIndexes(got.json), withoutIndexes(res.json));
  });

  it('POST /schemas with className in the body also works', async () => {
    const { server } = ctx;
    const cls = uniq('Sch');
    const res = await server.request('POST', '/schemas', { auth: 'master', body: { className: cls } });
    assertStatus(res, 200);
    assert.deepEqual(withoutIndexes(res.json), { className: cls, fields: defaultFields, classLevelPermissions: defaultCLP });
  });

  it('creating an existing class → 400 {code:103, error:"Class X already exists."}', async () => {
    const { server } = ctx;
    const cls = uniq('Sch');
    await server.request('POST', `/schemas/${cls}`, { auth: 'master', body: {} });
    const res = await server.request('POST', `/schemas/${cls}`, { auth: 'master', body: {} });
    assertParseError(res, 400, 103, `Class ${cls} already exists.`);
  });

  it('class name mismatch between URL and body → 400 code 103', async () => {
    const { server } = ctx;
    const res = await server.request('POST', '/schemas/A', { auth: 'master', body: { className: 'B' } });
    assertParseError(res, 400, 103, 'Class name mismatch between B and A.');
  });

  it('POST /schemas without a class name → 400 code 135', async () => {
    const { server } = ctx;
    const res = await server.request('POST', '/schemas', { auth: 'master', body: {} });
    assertParseError(res, 400, 135, 'POST /schemas needs a class name.');
  });

  it('GET /schemas lists classes, including ones inferred from a first write', async () => {
    const { server } = ctx;
    const cls = uniq('Inferred');
    await server.request('POST', `/classes/${cls}`, { body: { s: 'x', n: 1, b: true } });
    const res = await server.request('GET', '/schemas', { auth: 'master' });
    assertStatus(res, 200);
    assert.ok(Array.isArray(res.json.results), res.text);
    const mine = res.json.results.find(s => s.className === cls);
    assert.ok(mine, `class ${cls} missing from ${res.text.slice(0, 500)}`);
    assert.deepEqual(mine.fields, {
      ...defaultFields,
      s: { type: 'String' },
      n: { type: 'Number' },
      b: { type: 'Boolean' },
    });
    assert.deepEqual(normalizeCLP(mine.classLevelPermissions), defaultCLP);
  });

  it('GET of a missing class → 400 {code:103, error:"Class X does not exist."}', async () => {
    const { server } = ctx;
    const cls = uniq('Nope');
    assertParseError(await server.request('GET', `/schemas/${cls}`, { auth: 'master' }), 400, 103, `Class ${cls} does not exist.`);
  });

  it('POST /schemas with an invalid class name → 400 code 103', async () => {
    const { server } = ctx;
    const res = await server.request('POST', '/schemas/Bad-Name', { auth: 'master', body: {} });
    assertParseError(
      res,
      400,
      103,
      'Invalid classname: Bad-Name, classnames can only have alphanumeric characters and _, and must start with an alpha character '
    );
  });

  it('PUT adds a field, and {"__op":"Delete"} removes it (with its data)', async () => {
    const { server } = ctx;
    const cls = uniq('Sch');
    const obj = await server.request('POST', `/classes/${cls}`, { body: { keep: 1, x0: 'gone soon' } });
    const add = await server.request('PUT', `/schemas/${cls}`, {
      auth: 'master',
      body: { fields: { x: { type: 'String' } } },
    });
    assertStatus(add, 200);
    assert.deepEqual(add.json.fields.x, { type: 'String' });
    assert.deepEqual(add.json.fields.keep, { type: 'Number' });
    // The new field is now typed: a Number there is a mismatch.
    const bad = await server.request('PUT', `/classes/${cls}/${obj.json.objectId}`, { body: { x: 5 } });
    assertParseError(bad, 400, 111);

    const del = await server.request('PUT', `/schemas/${cls}`, {
      auth: 'master',
      body: { fields: { x0: { __op: 'Delete' }, x: { __op: 'Delete' } } },
    });
    assertStatus(del, 200);
    assert.equal(del.json.fields.x0, undefined);
    assert.equal(del.json.fields.x, undefined);
    const got = await server.request('GET', `/classes/${cls}/${obj.json.objectId}`);
    assert.equal(got.json.keep, 1);
    assert.equal('x0' in got.json, false, `deleted field still returned: ${got.text}`);
    // After deletion the name can be reused with another type.
    const again = await server.request('PUT', `/classes/${cls}/${obj.json.objectId}`, { body: { x0: 7 } });
    assertStatus(again, 200);
  });

  it('PUT changing an existing field\'s type → 255; deleting a missing field → 255; missing class → 103', async () => {
    const { server } = ctx;
    const cls = uniq('Sch');
    await server.request('POST', `/classes/${cls}`, { body: { aString: 's' } });
    // (parse-server 8 accepts a PUT that repeats the same type; older versions answered 255.)
    assertParseError(
      await server.request('PUT', `/schemas/${cls}`, { auth: 'master', body: { fields: { aString: { type: 'Number' } } } }),
      400,
      255,
      'Field aString exists, cannot update.'
    );
    assertParseError(
      await server.request('PUT', `/schemas/${cls}`, { auth: 'master', body: { fields: { nope: { __op: 'Delete' } } } }),
      400,
      255,
      'Field nope does not exist, cannot delete.'
    );
    const missing = uniq('NoClass');
    assertParseError(
      await server.request('PUT', `/schemas/${missing}`, { auth: 'master', body: { fields: { a: { type: 'String' } } } }),
      400,
      103,
      `Class ${missing} does not exist.`
    );
  });

  it('PUT indexes: add one, see it in GET, delete it', async () => {
    const { server } = ctx;
    const cls = uniq('Idx');
    await server.request('POST', `/schemas/${cls}`, { auth: 'master', body: { fields: { a: { type: 'String' }, b: { type: 'Number' } } } });
    const add = await server.request('PUT', `/schemas/${cls}`, {
      auth: 'master',
      body: { indexes: { idx_ab: { a: 1, b: -1 } } },
    });
    assertStatus(add, 200);
    assert.deepEqual(add.json.indexes?.idx_ab, { a: 1, b: -1 }, add.text);
    const got = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.deepEqual(got.json.indexes?.idx_ab, { a: 1, b: -1 }, got.text);

    const del = await server.request('PUT', `/schemas/${cls}`, {
      auth: 'master',
      body: { indexes: { idx_ab: { __op: 'Delete' } } },
    });
    assertStatus(del, 200);
    assert.equal(del.json.indexes?.idx_ab, undefined, del.text);
    const got2 = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.equal(got2.json.indexes?.idx_ab, undefined, got2.text);
  });

  it('index errors are 102: unknown field, existing name, deleting a missing index', async () => {
    const { server } = ctx;
    const cls = uniq('Idx');
    await server.request('POST', `/schemas/${cls}`, { auth: 'master', body: { fields: { a: { type: 'String' } } } });
    assertParseError(
      await server.request('PUT', `/schemas/${cls}`, { auth: 'master', body: { indexes: { i1: { nope: 1 } } } }),
      400,
      102,
      'Field nope does not exist, cannot add index.'
    );
    await server.request('PUT', `/schemas/${cls}`, { auth: 'master', body: { indexes: { i1: { a: 1 } } } });
    assertParseError(
      await server.request('PUT', `/schemas/${cls}`, { auth: 'master', body: { indexes: { i1: { a: 1 } } } }),
      400,
      102,
      'Index i1 exists, cannot update.'
    );
    assertParseError(
      await server.request('PUT', `/schemas/${cls}`, { auth: 'master', body: { indexes: { i2: { __op: 'Delete' } } } }),
      400,
      102,
      'Index i2 does not exist, cannot delete.'
    );
  });

  it('DELETE of a non-empty class → 255; after purge DELETE works and the class is gone', async () => {
    const { server } = ctx;
    const cls = uniq('Drop');
    await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
    assertParseError(
      await server.request('DELETE', `/schemas/${cls}`, { auth: 'master' }),
      400,
      255,
      `Class ${cls} is not empty, contains 1 objects, cannot drop schema.`
    );
    assertStatus(await server.request('DELETE', `/purge/${cls}`, { auth: 'master' }), 200);
    const del = await server.request('DELETE', `/schemas/${cls}`, { auth: 'master' });
    assertStatus(del, 200);
    assert.deepEqual(del.json, {});
    assertParseError(await server.request('GET', `/schemas/${cls}`, { auth: 'master' }), 400, 103);
    // The class can be created again, with other types.
    const again = await server.request('POST', `/classes/${cls}`, { body: { a: 'now a string' } });
    assertStatus(again, 201);
  });

  it('DELETE of a class that does not exist → 200 {}', async () => {
    const { server } = ctx;
    const res = await server.request('DELETE', `/schemas/${uniq('Never')}`, { auth: 'master' });
    assertStatus(res, 200);
    assert.deepEqual(res.json, {});
  });
});

describe('Parse.Schema (SDK)', () => {
  it('save, get, update (add field + index), deleteField, purge, delete', async () => {
    const { Parse } = ctx;
    const cls = uniq('SdkSchema');
    const schema = new Parse.Schema(cls);
    schema.addString('name').addNumber('score').addBoolean('flag').addDate('when').addArray('tags');
    schema.addObject('meta').addGeoPoint('loc').addFile('file').addPointer('owner', '_User');
    schema.addRelation('friends', '_User').addPolygon('area').addBytes('raw');
    const saved = await schema.save();
    assert.equal(saved.className, cls);
    assert.deepEqual(saved.fields.name, { type: 'String' });
    assert.deepEqual(saved.fields.owner, { type: 'Pointer', targetClass: '_User' });
    assert.deepEqual(saved.fields.friends, { type: 'Relation', targetClass: '_User' });

    const got = await new Parse.Schema(cls).get();
    for (const [field, type] of Object.entries({
      name: 'String',
      score: 'Number',
      flag: 'Boolean',
      when: 'Date',
      tags: 'Array',
      meta: 'Object',
      loc: 'GeoPoint',
      file: 'File',
      area: 'Polygon',
      raw: 'Bytes',
    })) {
      assert.deepEqual(got.fields[field], { type }, field);
    }

    const upd = new Parse.Schema(cls);
    upd.addString('extra').addIndex('by_name', { name: 1 });
    const updated = await upd.update();
    assert.deepEqual(updated.fields.extra, { type: 'String' });
    assert.deepEqual(updated.indexes?.by_name, { name: 1 });

    const del = new Parse.Schema(cls);
    del.deleteField('extra');
    const afterDelete = await del.update();
    assert.equal(afterDelete.fields.extra, undefined);

    await new Parse.Object(cls, { name: 'n' }).save();
    await expectParseError(new Parse.Schema(cls).delete(), 255);
    await new Parse.Schema(cls).purge();
    assert.equal(await new Parse.Query(cls).count(), 0);
    await new Parse.Schema(cls).delete();
    await expectParseError(new Parse.Schema(cls).get(), 103);
  });

  it('Parse.Schema.all() includes the class', async () => {
    const { Parse } = ctx;
    const cls = uniq('SdkAll');
    await new Parse.Schema(cls).addString('s').save();
    const all = await Parse.Schema.all();
    assert.ok(all.some(s => s.className === cls));
  });
});
