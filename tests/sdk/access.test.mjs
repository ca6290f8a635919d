// Class-level access before any object is read: parse-server's system-class rules
// (SharedRest.js enforceRoleSecurity) and class-level permissions for a caller with no session
// (SchemaController.js validatePermission, testPermissions; protectedFields).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, uniq, assertParseError, assertStatus } from './harness.mjs';

const ctx = useServer();

async function classWithPermissions(server, classLevelPermissions, fields = { n: { type: 'Number' } }) {
  const cls = uniq('Clp');
  const res = await server.request('POST', `/schemas/${cls}`, { auth: 'master', body: { fields, classLevelPermissions } });
  assertStatus(res, 200);
  return cls;
}

describe('system classes', () => {
  it('clients may create installations but not list or delete them', async () => {
    const { server } = ctx;
    const created = await server.request('POST', '/classes/_Installation', { body: { installationId: uniq('i'), deviceType: 'web' } });
    assertStatus(created, 201);
    const listed = await server.request('GET', '/classes/_Installation');
    assertParseError(listed, 400, 119, "Clients aren't allowed to perform the find operation on the installation collection.");
    const deleted = await server.request('DELETE', `/classes/_Installation/${created.json.objectId}`);
    assertParseError(deleted, 400, 119);
    const byMaster = await server.request('GET', '/classes/_Installation', { auth: 'master' });
    assertStatus(byMaster, 200);
    assert.equal(byMaster.json.results.length, 1);
  });

  it('master-only classes refuse clients, also through $inQuery', async () => {
    const { server } = ctx;
    for (const cls of ['_GlobalConfig', '_PushStatus', '_JobStatus']) {
      const res = await server.request('POST', `/classes/${cls}`, { body: { a: 1 } });
      assertParseError(res, 400, 119);
    }
    const outer = uniq('Any');
    assertStatus(await server.request('POST', `/classes/${outer}`, { body: { n: 1 } }), 201);
    const sub = await server.request('GET', `/classes/${outer}`, {
      query: { where: { p: { $inQuery: { className: '_JobStatus', where: {} } } } },
    });
    assertParseError(sub, 400, 119);
  });
});

describe('class-level permissions for a caller without a session', () => {
  it('a public grant lets clients in; an empty one denies with 119', async () => {
    const { server } = ctx;
    const cls = await classWithPermissions(server, {
      find: { '*': true }, get: {}, count: {}, create: { '*': true }, update: {}, delete: {}, addField: {},
    });
    const created = await server.request('POST', `/classes/${cls}`, { body: { n: 1 } });
    assertStatus(created, 201);
    const id = created.json.objectId;
    const found = await server.request('GET', `/classes/${cls}`);
    assertStatus(found, 200);
    assert.equal(found.json.results.length, 1);
    assertParseError(await server.request('GET', `/classes/${cls}/${id}`), 400, 119, `Permission denied for action get on class ${cls}.`);
    assertParseError(await server.request('GET', `/classes/${cls}`, { query: { count: 1, limit: 0 } }), 400, 119);
    assertParseError(await server.request('PUT', `/classes/${cls}/${id}`, { body: { n: 2 } }), 400, 119);
    assertParseError(await server.request('DELETE', `/classes/${cls}/${id}`), 400, 119);
    assertParseError(await server.request('POST', `/classes/${cls}`, { body: { n: 3, extra: 'new field' } }), 400, 119);
    const byMaster = await server.request('GET', `/classes/${cls}/${id}`, { auth: 'master' });
    assertStatus(byMaster, 200);
    assert.equal(byMaster.json.n, 1, 'nothing changed');
  });

  it('requiresAuthentication answers 101 to a caller without a session', async () => {
    const { server } = ctx;
    const cls = await classWithPermissions(server, { find: { requiresAuthentication: true } });
    assertParseError(
      await server.request('GET', `/classes/${cls}`),
      404,
      101,
      'Permission denied, user needs to be authenticated.'
    );
  });

  it('pointer permissions reach no object without a user', async () => {
    const { server } = ctx;
    const cls = await classWithPermissions(
      server,
      // Operations a CLP leaves out are granted to no one (parse-server stores them as {}).
      { find: { pointerFields: ['owner'] }, update: { pointerFields: ['owner'] }, create: { '*': true } },
      { n: { type: 'Number' }, owner: { type: 'Pointer', targetClass: '_User' } }
    );
    const created = await server.request('POST', `/classes/${cls}`, { body: { n: 1 } });
    assertStatus(created, 201);
    const found = await server.request('GET', `/classes/${cls}`);
    assertStatus(found, 200);
    assert.deepEqual(found.json.results, []);
    assertParseError(await server.request('PUT', `/classes/${cls}/${created.json.objectId}`, { body: { n: 2 } }), 404, 101);
  });

  it('protectedFields hide fields from clients, in results and includes', async () => {
    const { server } = ctx;
    const owner = await classWithPermissions(
      server,
      { find: { '*': true }, get: { '*': true }, protectedFields: { '*': ['secret'] } },
      { name: { type: 'String' }, secret: { type: 'String' } }
    );
    const person = await server.request('POST', `/classes/${owner}`, { auth: 'master', body: { name: 'a', secret: 's' } });
    const item = uniq('Item');
    await server.request('POST', `/classes/${item}`, {
      auth: 'master',
      body: { owner: { __type: 'Pointer', className: owner, objectId: person.json.objectId } },
    });
    const direct = await server.request('GET', `/classes/${owner}/${person.json.objectId}`);
    assertStatus(direct, 200);
    assert.equal(direct.json.name, 'a');
    assert.equal('secret' in direct.json, false);
    const included = await server.request('GET', `/classes/${item}`, { query: { include: 'owner' } });
    assertStatus(included, 200);
    assert.equal(included.json.results[0].owner.name, 'a');
    assert.equal('secret' in included.json.results[0].owner, false);
    const master = await server.request('GET', `/classes/${owner}/${person.json.objectId}`, { auth: 'master' });
    assert.equal(master.json.secret, 's');
  });
});

describe('relation queries on the owning class', () => {
  it('redirectClassNameForKey answers with the target className', async () => {
    const { server, Parse } = ctx;
    const target = uniq('Member');
    const member = await new Parse.Object(target, { n: 1 }).save();
    const group = new Parse.Object(uniq('Group'));
    group.relation('members').add(member);
    await group.save();
    const res = await server.request('GET', `/classes/${group.className}`, {
      query: {
        redirectClassNameForKey: 'members',
        where: { $relatedTo: { object: { __type: 'Pointer', className: group.className, objectId: group.id }, key: 'members' } },
      },
    });
    assertStatus(res, 200);
    assert.equal(res.json.className, target);
    assert.deepEqual(res.json.results.map(r => r.objectId), [member.id]);
    // The SDK builds the results as the class the server names.
    const owner = new Parse.Object(group.className);
    owner.id = group.id;
    const viaSdk = await owner.relation('members').query().find();
    assert.equal(viaSdk[0].className, target);
  });

  it('a pointer to an impossible class is refused with 107 and changes no schema', async () => {
    const { server } = ctx;
    const cls = uniq('Ptr');
    const res = await server.request('POST', `/classes/${cls}`, {
      body: { p: { __type: 'Pointer', className: 'Foo Bar', objectId: 'x' } },
    });
    assertParseError(res, 400, 107);
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assertParseError(schema, 400, 103);
  });
});
