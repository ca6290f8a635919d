// Update operators through the SDK (Increment, Add, AddUnique, Remove, Delete,
// AddRelation, RemoveRelation and the "Batch" op the SDK sends when a relation
// gets both in one save). parse-server returns the computed values of
// Increment/Add/AddUnique/Remove in the update response
// (DatabaseController._sanitizeDatabaseResult), and the SDK applies them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertStatus } from './harness.mjs';

const ctx = useServer();

async function refetch(Parse, obj) {
  return new Parse.Query(obj.className).get(obj.id);
}

describe('field operators', () => {
  it('increment (default 1, positive, negative, float) and on a missing field', async () => {
    const { Parse } = ctx;
    const obj = await new Parse.Object(uniq('Inc'), { n: 10 }).save();
    obj.increment('n');
    await obj.save();
    assert.equal(obj.get('n'), 11);
    obj.increment('n', 5);
    await obj.save();
    assert.equal(obj.get('n'), 16);
    obj.decrement('n', 20);
    await obj.save();
    assert.equal(obj.get('n'), -4);
    obj.increment('n', 0.5);
    await obj.save();
    assert.equal(obj.get('n'), -3.5);
    obj.increment('fresh', 3);
    await obj.save();
    assert.equal(obj.get('fresh'), 3);
    const got = await refetch(Parse, obj);
    assert.equal(got.get('n'), -3.5);
    assert.equal(got.get('fresh'), 3);
  });

  it('the update response carries the server-computed value, even with a concurrent increment', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('IncRace');
    const obj = await new Parse.Object(cls, { n: 0 }).save();
    // Another client increments behind this SDK object's back.
    const other = await server.request('PUT', `/classes/${cls}/${obj.id}`, {
      body: { n: { __op: 'Increment', amount: 5 } },
    });
    assertStatus(other, 200);
    assert.equal(other.json.n, 5, `REST update response must carry n: ${other.text}`);
    obj.increment('n', 1);
    await obj.save();
    assert.equal(obj.get('n'), 6, 'the SDK object must hold the server value after save');

    // Many concurrent increments lose nothing.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        server.request('PUT', `/classes/${cls}/${obj.id}`, { body: { n: { __op: 'Increment', amount: 1 } } })
      )
    );
    obj.increment('n', 100);
    await obj.save();
    assert.equal(obj.get('n'), 116);
    assert.equal((await refetch(Parse, obj)).get('n'), 116);
  });

  it('add, addUnique, remove (and the response holds the resulting array)', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Arr');
    const obj = await new Parse.Object(cls, { tags: ['a'] }).save();
    obj.add('tags', 'b');
    obj.add('tags', 'b');
    await obj.save();
    assert.deepEqual(obj.get('tags'), ['a', 'b', 'b']);
    obj.addUnique('tags', 'a');
    obj.addUnique('tags', 'c');
    await obj.save();
    assert.deepEqual(obj.get('tags'), ['a', 'b', 'b', 'c']);
    obj.remove('tags', 'b');
    await obj.save();
    assert.deepEqual(obj.get('tags'), ['a', 'c']);
    obj.addAll('fresh', [1, 2]);
    await obj.save();
    assert.deepEqual((await refetch(Parse, obj)).get('tags'), ['a', 'c']);
    assert.deepEqual((await refetch(Parse, obj)).get('fresh'), [1, 2]);

    // Raw REST: concurrent Add from elsewhere is reflected in the response.
    await server.request('PUT', `/classes/${cls}/${obj.id}`, { body: { tags: { __op: 'Add', objects: ['z'] } } });
    const res = await server.request('PUT', `/classes/${cls}/${obj.id}`, {
      body: { tags: { __op: 'AddUnique', objects: ['a', 'y'] } },
    });
    assertStatus(res, 200);
    assert.deepEqual(res.json.tags, ['a', 'c', 'z', 'y']);
    const rm = await server.request('PUT', `/classes/${cls}/${obj.id}`, {
      body: { tags: { __op: 'Remove', objects: ['c', 'z', 'missing'] } },
    });
    assert.deepEqual(rm.json.tags, ['a', 'y']);
  });

  it('add/addUnique/remove of objects and pointers in arrays', async () => {
    const { Parse } = ctx;
    const cls = uniq('ArrObj');
    const p1 = await new Parse.Object(uniq('P')).save();
    const obj = await new Parse.Object(cls, { list: [{ k: 1 }, { k: 2 }] }).save();
    obj.remove('list', { k: 1 });
    obj.addUnique('ptrs', p1);
    await obj.save();
    obj.addUnique('ptrs', p1);
    await obj.save();
    const got = await refetch(Parse, obj);
    assert.deepEqual(got.get('list'), [{ k: 2 }]);
    assert.equal(got.get('ptrs').length, 1);
    assert.equal(got.get('ptrs')[0].id, p1.id);
  });

  it('unset (Delete) removes the field', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Unset');
    const obj = await new Parse.Object(cls, { a: 1, b: 'keep' }).save();
    obj.unset('a');
    await obj.save();
    assert.equal(obj.has('a'), false);
    const got = await refetch(Parse, obj);
    assert.equal(got.has('a'), false);
    assert.equal(got.get('b'), 'keep');
    const raw = await server.request('GET', `/classes/${cls}/${obj.id}`);
    assert.equal('a' in raw.json, false, raw.text);
    // It can be set again, with the same type.
    obj.set('a', 2);
    await obj.save();
    assert.equal((await refetch(Parse, obj)).get('a'), 2);
  });

  it('nested Object key update with dot notation', async () => {
    const { Parse, server } = ctx;
    const cls = uniq('Dot');
    const obj = await new Parse.Object(cls, { obj: { a: 1, b: { c: 2 } } }).save();
    const res = await server.request('PUT', `/classes/${cls}/${obj.id}`, {
      body: { 'obj.b.c': 3, 'obj.n': { __op: 'Increment', amount: 2 } },
    });
    assertStatus(res, 200);
    const got = await refetch(Parse, obj);
    assert.deepEqual(got.get('obj'), { a: 1, b: { c: 3 }, n: 2 });
  });
});

describe('relations', () => {
  it('relation add and remove (AddRelation / RemoveRelation)', async () => {
    const { Parse } = ctx;
    const targetCls = uniq('Member');
    const [a, b, c] = await Parse.Object.saveAll([1, 2, 3].map(n => new Parse.Object(targetCls, { n })));
    const group = new Parse.Object(uniq('Group'));
    group.relation('members').add([a, b, c]);
    await group.save();
    let members = await group.relation('members').query().ascending('n').find();
    assert.deepEqual(
      members.map(m => m.get('n')),
      [1, 2, 3]
    );
    group.relation('members').remove(b);
    await group.save();
    members = await group.relation('members').query().ascending('n').find();
    assert.deepEqual(
      members.map(m => m.get('n')),
      [1, 3]
    );
  });

  it('add and remove in one save (the SDK sends {"__op":"Batch","ops":[...]})', async () => {
    const { Parse } = ctx;
    const targetCls = uniq('Member');
    const [a, b, c] = await Parse.Object.saveAll([1, 2, 3].map(n => new Parse.Object(targetCls, { n })));
    const group = new Parse.Object(uniq('Group'));
    group.relation('members').add([a, b]);
    await group.save();
    const rel = group.relation('members');
    rel.add(c);
    rel.remove(a);
    const op = group.op('members');
    assert.deepEqual(op.toJSON().__op, 'Batch', 'precondition: the SDK sends a Batch op');
    await group.save();
    const members = await group.relation('members').query().ascending('n').find();
    assert.deepEqual(
      members.map(m => m.get('n')),
      [2, 3]
    );
  });

  it('raw Batch op with AddRelation and RemoveRelation', async () => {
    const { Parse, server } = ctx;
    const targetCls = uniq('Member');
    const [a, b] = await Parse.Object.saveAll([1, 2].map(n => new Parse.Object(targetCls, { n })));
    const cls = uniq('Group');
    const ptr = o => ({ __type: 'Pointer', className: targetCls, objectId: o.id });
    const created = await server.request('POST', `/classes/${cls}`, {
      body: { members: { __op: 'AddRelation', objects: [ptr(a)] } },
    });
    assertStatus(created, 201);
    const res = await server.request('PUT', `/classes/${cls}/${created.json.objectId}`, {
      body: {
        members: {
          __op: 'Batch',
          ops: [
            { __op: 'AddRelation', objects: [ptr(b)] },
            { __op: 'RemoveRelation', objects: [ptr(a)] },
          ],
        },
      },
    });
    assertStatus(res, 200);
    const q = await server.request('GET', `/classes/${targetCls}`, {
      query: {
        where: { $relatedTo: { object: { __type: 'Pointer', className: cls, objectId: created.json.objectId }, key: 'members' } },
      },
    });
    assertStatus(q, 200);
    assert.deepEqual(
      q.json.results.map(r => r.objectId),
      [b.id]
    );
  });
});
