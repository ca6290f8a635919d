// Durability: an acknowledged write survives `kill -9` of the server
// (design.md §3: "Durable by default: an acknowledged write survives kill -9").
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, initParse, uniq, assertStatus } from './harness.mjs';

let server;
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

describe('kill -9 and restart on the same config and data', () => {
  it('objects, updates, deletes and schema changes acknowledged before the kill are all there', async () => {
    server = await startServer();
    let Parse = initParse(server);
    const cls = uniq('Durable');

    const kept = await new Parse.Object(cls, { name: 'kept', n: 1, when: new Date('2020-01-01T00:00:00.000Z') }).save();
    const updated = await new Parse.Object(cls, { name: 'updated', n: 1 }).save();
    const deleted = await new Parse.Object(cls, { name: 'deleted', n: 1 }).save();
    const many = Array.from({ length: 30 }, (_, i) => new Parse.Object(cls, { name: `bulk${i}`, n: i }));
    await Parse.Object.saveAll(many);
    updated.increment('n', 41);
    updated.set('name', 'updated2');
    await updated.save();
    await deleted.destroy();
    const schemaRes = await server.request('PUT', `/schemas/${cls}`, {
      auth: 'master',
      body: { fields: { added: { type: 'String' } }, indexes: { by_name: { name: 1 } } },
    });
    assertStatus(schemaRes, 200);
    // The very last write, acknowledged right before the kill.
    const last = await new Parse.Object(cls, { name: 'last', n: -1 }).save();

    await server.kill9();
    await server.start();
    Parse = initParse(server);

    const got = await new Parse.Query(cls).get(kept.id);
    assert.equal(got.get('name'), 'kept');
    assert.equal(got.get('when').toISOString(), '2020-01-01T00:00:00.000Z');
    assert.equal(got.createdAt.getTime(), kept.createdAt.getTime());
    const upd = await new Parse.Query(cls).get(updated.id);
    assert.equal(upd.get('name'), 'updated2');
    assert.equal(upd.get('n'), 42);
    await assert.rejects(new Parse.Query(cls).get(deleted.id), e => e.code === 101);
    assert.equal((await new Parse.Query(cls).get(last.id)).get('name'), 'last');
    assert.equal(await new Parse.Query(cls).containedIn('name', many.map(o => o.get('name'))).count(), 30);
    assert.equal(await new Parse.Query(cls).count(), 33);

    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assertStatus(schema, 200);
    assert.deepEqual(schema.json.fields.added, { type: 'String' });
    assert.deepEqual(schema.json.indexes?.by_name, { name: 1 });

    // And it keeps working after the restart.
    const after = await new Parse.Object(cls, { name: 'after-restart' }).save();
    assert.match(after.id, /^[A-Za-z0-9]{10}$/);
  });
});
