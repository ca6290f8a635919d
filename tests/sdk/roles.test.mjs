// ACLs, roles and class-level permissions: Parse.ACL (users, public, roles), Parse.Role and its
// `users`/`roles` relations, nested and cyclic role graphs, role membership changes, `_Role`
// name rules, class-level permissions set through the schema API (grants to `*`, a user id,
// `role:<name>`, `requiresAuthentication`), pointer permissions (readUserFields,
// writeUserFields, pointerFields) and protectedFields (`*`, `authenticated`, `role:<name>`, a
// user id, `userField:<field>`).
// Expectations: parse-server's src/Auth.js (getUserRoles, _getAllRolesNamesForRoleIds: a user
// holds every role whose `users` relation lists them and, transitively, every role whose
// `roles` relation lists a role they hold), src/RestWrite.js (role cache cleared on every _Role
// write), src/Controllers/SchemaController.js (testPermissions, validatePermission,
// requiredColumns: a _Role needs `name` and `ACL`), src/Controllers/DatabaseController.js
// (addPointerPermissions, addProtectedFields, filterSensitiveData: the sets of protected fields
// that apply to a caller are intersected), src/Adapters/Storage/Postgres (a stored CLP is merged
// over empty grants: an operation it leaves out is denied), spec/ParseRole.spec.js,
// spec/PointerPermissions.spec.js, spec/ProtectedFields.spec.js, and the JS SDK's ParseRole
// (name rules checked before any request).
// Checked against parse-server 8.6 (tests/sdk/reference), which passes all of these.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  uniq,
  assertParseError,
  assertStatus,
  expectParseError,
  detailedOrSanitized,
} from './harness.mjs';

const ctx = useServer();

// ---------------------------------------------------------------------------------------------
// Helpers

const session = token => ({ 'X-Parse-Session-Token': token });
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const pointer = (className, objectId) => ({ __type: 'Pointer', className, objectId });
const userPtr = id => pointer('_User', id);
const rolePtr = id => pointer('_Role', id);
const addRelation = (...objects) => ({ __op: 'AddRelation', objects });
const removeRelation = (...objects) => ({ __op: 'RemoveRelation', objects });

/** POST /users; returns { id, token, username, password }. */
async function signUp(server) {
  const username = uniq('user');
  const password = `pw-${uniq('p')}`;
  const res = await server.request('POST', '/users', { body: { username, password } });
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

/** A _Role made with the master key through /classes/_Role; returns its objectId. */
async function createRole(server, name, { users = [], roles = [], ACL = { '*': { read: true } } } = {}) {
  const body = { name, ACL };
  if (users.length) body.users = addRelation(...users.map(userPtr));
  if (roles.length) body.roles = addRelation(...roles.map(rolePtr));
  const res = await server.request('POST', '/classes/_Role', { auth: 'master', body });
  assertStatus(res, 201);
  return res.json.objectId;
}

async function updateRole(server, roleId, body) {
  assertStatus(await server.request('PUT', `/classes/_Role/${roleId}`, { auth: 'master', body }), 200);
}

/** An object made with the master key; returns its objectId. */
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

/** true when `user` can GET the object, false on 101 (anything else fails the test). */
async function canRead(server, user, cls, id) {
  const res = await as(server, user)('GET', `/classes/${cls}/${id}`);
  if (res.status === 200) {
    assert.equal(res.json.objectId, id, res.text);
    return true;
  }
  assertParseError(res, 404, 101);
  return false;
}

/** true when `user` can PUT the object, false on 101 (anything else fails the test). */
async function canWrite(server, user, cls, id) {
  const res = await as(server, user)('PUT', `/classes/${cls}/${id}`, { body: { touched: { __op: 'Increment', amount: 1 } } });
  if (res.status === 200) return true;
  assertParseError(res, 404, 101);
  return false;
}

/** A class made through POST /schemas with the master key. */
async function classWith(server, classLevelPermissions, fields = { n: { type: 'Number' } }, prefix = 'Clp') {
  const cls = uniq(prefix);
  const res = await server.request('POST', `/schemas/${cls}`, { auth: 'master', body: { fields, classLevelPermissions } });
  assertStatus(res, 200);
  return cls;
}

const denied = (res, op, cls) =>
  assertParseError(res, 400, 119, detailedOrSanitized(`Permission denied for action ${op} on class ${cls}.`));

/**
 * Polls `check` until it returns true, for at most `ms` (parse-server caches a user's roles;
 * it clears that cache on every _Role write, so one attempt should do). Returns the attempts.
 */
async function eventually(check, ms = 5000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (let attempt = 1; ; attempt++) {
    if (await check()) return attempt;
    if (Date.now() > deadline) assert.fail(`${what} did not hold within ${ms} ms (${attempt} attempts)`);
    await sleep(250);
  }
}

const ALL_OPS = ['find', 'get', 'count', 'create', 'update', 'delete', 'addField'];
/** A CLP giving each operation the same grant. */
const everyOp = grant => Object.fromEntries(ALL_OPS.map(op => [op, grant]));

// ---------------------------------------------------------------------------------------------

describe('ACLs through the SDK', () => {
  it('per-user read and write access', async () => {
    const { server, Parse } = ctx;
    const [owner, reader, stranger] = [await signUp(server), await signUp(server), await signUp(server)];
    const cls = uniq('Acl');
    const acl = new Parse.ACL();
    acl.setReadAccess(owner.id, true);
    acl.setWriteAccess(owner.id, true);
    acl.setReadAccess(reader.id, true);
    const obj = new Parse.Object(cls, { title: 'mine' });
    obj.setACL(acl);
    await obj.save(null, { sessionToken: owner.token });

    // The reader reads but cannot write.
    const got = await new Parse.Query(cls).get(obj.id, { sessionToken: reader.token });
    assert.equal(got.get('title'), 'mine');
    got.set('title', 'changed by reader');
    await expectParseError(got.save(null, { sessionToken: reader.token }), 101);
    // A stranger and an anonymous client see nothing.
    await expectParseError(new Parse.Query(cls).get(obj.id, { sessionToken: stranger.token }), 101);
    assert.equal((await new Parse.Query(cls).find({ sessionToken: stranger.token })).length, 0);
    assert.equal(await new Parse.Query(cls).count({ sessionToken: stranger.token }), 0);
    await expectParseError(new Parse.Query(cls).get(obj.id), 101);
    assert.equal(await canWrite(server, stranger, cls, obj.id), false);
    const destroyed = new Parse.Object(cls);
    destroyed.id = obj.id;
    await expectParseError(destroyed.destroy({ sessionToken: stranger.token }), 101);
    // The owner writes.
    const mine = await new Parse.Query(cls).get(obj.id, { sessionToken: owner.token });
    mine.set('title', 'edited');
    await mine.save(null, { sessionToken: owner.token });
    assert.equal((await masterGet(server, cls, obj.id)).title, 'edited');
  });

  it('public read access with a single writer', async () => {
    const { server, Parse } = ctx;
    const [owner, other] = [await signUp(server), await signUp(server)];
    const cls = uniq('Acl');
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    acl.setWriteAccess(owner.id, true);
    const obj = new Parse.Object(cls, { title: 'public' });
    obj.setACL(acl);
    await obj.save(null, { sessionToken: owner.token });

    assert.equal((await new Parse.Query(cls).get(obj.id)).get('title'), 'public');
    assert.equal((await new Parse.Query(cls).get(obj.id, { sessionToken: other.token })).get('title'), 'public');
    assert.equal(await canWrite(server, null, cls, obj.id), false);
    assert.equal(await canWrite(server, other, cls, obj.id), false);
    assert.equal(await canWrite(server, owner, cls, obj.id), true);
    assert.equal((await masterGet(server, cls, obj.id)).touched, 1);
  });

  it('the ACL round-trips, role entries included', async () => {
    const { server, Parse } = ctx;
    const owner = await signUp(server);
    const cls = uniq('Acl');
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    acl.setWriteAccess(owner.id, true);
    acl.setRoleReadAccess('Editors', true);
    acl.setRoleWriteAccess('Editors', true);
    acl.setRoleReadAccess('Viewers', true);
    const obj = new Parse.Object(cls, { n: 1 });
    obj.setACL(acl);
    await obj.save(null, { useMasterKey: true });
    const expected = {
      '*': { read: true },
      [owner.id]: { write: true },
      'role:Editors': { read: true, write: true },
      'role:Viewers': { read: true },
    };
    assert.deepEqual((await masterGet(server, cls, obj.id)).ACL, expected);
    const got = await new Parse.Query(cls).get(obj.id);
    assert.equal(got.getACL().getRoleReadAccess('Editors'), true);
    assert.equal(got.getACL().getRoleWriteAccess('Editors'), true);
    assert.equal(got.getACL().getRoleWriteAccess('Viewers'), false);
    assert.equal(got.getACL().getPublicWriteAccess(), false);
  });
});

describe('roles', () => {
  it('members of a role get the access an ACL grants to role:<name>', async () => {
    const { server, Parse } = ctx;
    const [member, outsider] = [await signUp(server), await signUp(server)];
    const roleName = uniq('Staff');
    const roleAcl = new Parse.ACL();
    roleAcl.setPublicReadAccess(true);
    const role = new Parse.Role(roleName, roleAcl);
    const memberUser = Parse.User.createWithoutData(member.id);
    role.getUsers().add(memberUser);
    await role.save(null, { useMasterKey: true });
    assert.equal(role.getName(), roleName);
    const users = await role.getUsers().query().find({ useMasterKey: true });
    assert.deepEqual(users.map(u => u.id), [member.id]);

    const cls = uniq('RoleAcl');
    // By role name…
    const byName = new Parse.ACL();
    byName.setRoleReadAccess(roleName, true);
    byName.setRoleWriteAccess(roleName, true);
    const a = new Parse.Object(cls, { n: 1 });
    a.setACL(byName);
    // …and by Parse.Role object (read only).
    const byRole = new Parse.ACL();
    byRole.setRoleReadAccess(role, true);
    const b = new Parse.Object(cls, { n: 2 });
    b.setACL(byRole);
    await Parse.Object.saveAll([a, b], { useMasterKey: true });
    assert.deepEqual((await masterGet(server, cls, b.id)).ACL, { [`role:${roleName}`]: { read: true } });

    const found = await new Parse.Query(cls).ascending('n').find({ sessionToken: member.token });
    assert.deepEqual(found.map(o => o.id), [a.id, b.id]);
    assert.equal(await canWrite(server, member, cls, a.id), true);
    assert.equal(await canWrite(server, member, cls, b.id), false);
    assert.equal((await new Parse.Query(cls).find({ sessionToken: outsider.token })).length, 0);
    assert.equal(await canRead(server, outsider, cls, a.id), false);
    assert.equal(await canWrite(server, outsider, cls, a.id), false);
    assert.equal(await canRead(server, null, cls, a.id), false);
  });

  it("a role's own ACL does not limit its members' access", async () => {
    const { server, Parse } = ctx;
    const member = await signUp(server);
    const roleName = uniq('Hidden');
    // No one but the master key may read or write the role itself.
    const role = new Parse.Role(roleName, new Parse.ACL());
    role.getUsers().add(Parse.User.createWithoutData(member.id));
    await role.save(null, { useMasterKey: true });
    assert.equal(await canRead(server, member, '_Role', role.id), false);
    const cls = uniq('RoleAcl');
    const id = await createObject(server, cls, { n: 1, ACL: { [`role:${roleName}`]: { read: true } } });
    assert.equal(await canRead(server, member, cls, id), true);
  });

  it('access granted to a parent role reaches members of its child roles, four levels deep', async () => {
    const { server, Parse } = ctx;
    const [bottomUser, midUser, topUser] = [await signUp(server), await signUp(server), await signUp(server)];
    const names = [0, 1, 2, 3].map(i => uniq(`Level${i}`));
    // level0 ⊂ level1 ⊂ level2 ⊂ level3: each parent lists the level below with getRoles().
    const roles = names.map(name => new Parse.Role(name, new Parse.ACL()));
    roles[0].getUsers().add(Parse.User.createWithoutData(bottomUser.id));
    roles[2].getUsers().add(Parse.User.createWithoutData(midUser.id));
    roles[3].getUsers().add(Parse.User.createWithoutData(topUser.id));
    await roles[0].save(null, { useMasterKey: true });
    for (let i = 1; i < roles.length; i++) {
      roles[i].getRoles().add(roles[i - 1]);
      await roles[i].save(null, { useMasterKey: true });
    }
    const children = await roles[2].getRoles().query().find({ useMasterKey: true });
    assert.deepEqual(children.map(r => r.getName()), [names[1]]);

    const cls = uniq('Nested');
    const objects = [];
    for (const role of roles) {
      const acl = new Parse.ACL();
      acl.setRoleReadAccess(role, true);
      acl.setRoleWriteAccess(role, true);
      const obj = new Parse.Object(cls, { level: role.getName() });
      obj.setACL(acl);
      await obj.save(null, { useMasterKey: true });
      objects.push(obj.id);
    }
    const readable = async user => {
      const found = await new Parse.Query(cls).ascending('createdAt').find({ sessionToken: user.token });
      return found.map(o => o.get('level'));
    };
    // A member of the deepest role holds every ancestor role, transitively.
    assert.deepEqual(await readable(bottomUser), names);
    assert.equal(await canWrite(server, bottomUser, cls, objects[3]), true);
    // Membership does not flow downwards.
    assert.deepEqual(await readable(midUser), names.slice(2));
    assert.equal(await canRead(server, midUser, cls, objects[1]), false);
    assert.deepEqual(await readable(topUser), names.slice(3));
    assert.equal(await canWrite(server, topUser, cls, objects[0]), false);
  });

  it('a user may create and manage a role of their own', async () => {
    const { server, Parse } = ctx;
    const [owner, friend, stranger] = [await signUp(server), await signUp(server), await signUp(server)];
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    acl.setWriteAccess(owner.id, true);
    const team = new Parse.Role(uniq('Team'), acl);
    team.getUsers().add(Parse.User.createWithoutData(owner.id));
    await team.save(null, { sessionToken: owner.token });
    const shared = new Parse.ACL();
    shared.setRoleReadAccess(team, true);
    const doc = new Parse.Object(uniq('TeamDoc'), { title: 'plans' });
    doc.setACL(shared);
    await doc.save(null, { sessionToken: owner.token });
    assert.equal(await canRead(server, friend, doc.className, doc.id), false);
    team.getUsers().add(Parse.User.createWithoutData(friend.id));
    await team.save(null, { sessionToken: owner.token });
    await eventually(() => canRead(server, friend, doc.className, doc.id), 5000, 'membership');
    // Someone without write access to the role cannot join it.
    const copy = await new Parse.Query(Parse.Role).get(team.id, { sessionToken: stranger.token });
    copy.getUsers().add(Parse.User.createWithoutData(stranger.id));
    await expectParseError(copy.save(null, { sessionToken: stranger.token }), 101);
    assert.equal(await canRead(server, stranger, doc.className, doc.id), false);
  });

  it('a cycle in the role graph ends, and every role in it is held', async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const [a, b, c] = [uniq('CycA'), uniq('CycB'), uniq('CycC')];
    const aId = await createRole(server, a, { users: [user.id] });
    const bId = await createRole(server, b, { roles: [aId] });
    const cId = await createRole(server, c, { roles: [bId] });
    // Close the loop (a ← b ← c ← a) and add a self-loop.
    await updateRole(server, aId, { roles: addRelation(rolePtr(cId), rolePtr(aId)) });
    const outside = uniq('Outside');
    await createRole(server, outside);

    const cls = uniq('Cycle');
    for (const name of [a, b, c, outside]) {
      await createObject(server, cls, { name, ACL: { [`role:${name}`]: { read: true } } });
    }
    const started = Date.now();
    const res = await as(server, user)('GET', `/classes/${cls}`, { query: { order: 'createdAt' } });
    assertStatus(res, 200);
    assert.deepEqual(res.json.results.map(r => r.name), [a, b, c]);
    assert.ok(Date.now() - started < 5000, 'role resolution must not spin on a cycle');
  });

  it('removing a user from a role revokes the access it gave', async () => {
    const { server, Parse } = ctx;
    const [stays, leaves] = [await signUp(server), await signUp(server)];
    const roleName = uniq('Team');
    const role = new Parse.Role(roleName, new Parse.ACL());
    role.getUsers().add([Parse.User.createWithoutData(stays.id), Parse.User.createWithoutData(leaves.id)]);
    await role.save(null, { useMasterKey: true });
    const cls = uniq('Revoke');
    const id = await createObject(server, cls, { n: 1, ACL: { [`role:${roleName}`]: { read: true, write: true } } });
    // Both read it (this also fills any per-user role cache).
    assert.equal(await canRead(server, leaves, cls, id), true);
    assert.equal(await canRead(server, stays, cls, id), true);

    role.getUsers().remove(Parse.User.createWithoutData(leaves.id));
    await role.save(null, { useMasterKey: true });
    // parse-server clears its role cache on every _Role write: the next request already
    // sees the change. A short retry window (≤ 5 s) is allowed.
    const attempts = await eventually(async () => !(await canRead(server, leaves, cls, id)), 5000, 'revocation');
    assert.ok(attempts <= 2, `revocation took ${attempts} attempts`);
    assert.equal(await canWrite(server, leaves, cls, id), false);
    assert.equal(await canRead(server, stays, cls, id), true);
    const members = await role.getUsers().query().find({ useMasterKey: true });
    assert.deepEqual(members.map(u => u.id), [stays.id]);
  });

  it('removing a child role from its parent revokes the inherited access', async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const child = uniq('Child');
    const parent = uniq('Parent');
    const childId = await createRole(server, child, { users: [user.id] });
    const parentId = await createRole(server, parent, { roles: [childId] });
    const cls = uniq('Inherit');
    const id = await createObject(server, cls, { n: 1, ACL: { [`role:${parent}`]: { read: true } } });
    assert.equal(await canRead(server, user, cls, id), true);
    await updateRole(server, parentId, { roles: removeRelation(rolePtr(childId)) });
    const attempts = await eventually(async () => !(await canRead(server, user, cls, id)), 5000, 'revocation');
    assert.ok(attempts <= 2, `revocation took ${attempts} attempts`);
  });

  it("deleting a role revokes its members' access", async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const name = uniq('Doomed');
    const roleId = await createRole(server, name, { users: [user.id] });
    const cls = uniq('Deleted');
    const id = await createObject(server, cls, { n: 1, ACL: { [`role:${name}`]: { read: true } } });
    assert.equal(await canRead(server, user, cls, id), true);
    assertStatus(await server.request('DELETE', `/classes/_Role/${roleId}`, { auth: 'master' }), 200);
    // A delete does not go through parse-server's RestWrite, which is what clears its role
    // cache, so parse-server may need its cacheTTL (5 s) here.
    await eventually(async () => !(await canRead(server, user, cls, id)), 6000, 'revocation');
  });

  it('the /roles routes create, get, query and update roles', async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const name = uniq('Routed');
    const created = await server.request('POST', '/roles', {
      auth: 'master',
      body: { name, ACL: { '*': { read: true } }, users: addRelation(userPtr(user.id)) },
    });
    assertStatus(created, 201);
    const id = created.json.objectId;
    const got = await server.request('GET', `/roles/${id}`);
    assertStatus(got, 200);
    assert.equal(got.json.name, name);
    assert.deepEqual(got.json.users, { __type: 'Relation', className: '_User' });
    assert.deepEqual(got.json.roles, { __type: 'Relation', className: '_Role' });
    const found = await server.request('GET', '/roles', { query: { where: { users: userPtr(user.id) } } });
    assertStatus(found, 200);
    assert.deepEqual(found.json.results.map(r => r.name), [name]);
    assertStatus(await server.request('PUT', `/roles/${id}`, { auth: 'master', body: { users: removeRelation(userPtr(user.id)) } }), 200);
    const after = await server.request('GET', '/roles', { query: { where: { users: userPtr(user.id) } } });
    assert.deepEqual(after.json.results, []);
  });
});

describe('role names', () => {
  it('a role needs a name and an ACL (111)', async () => {
    const { server, Parse } = ctx;
    assertParseError(
      await server.request('POST', '/classes/_Role', { auth: 'master', body: { ACL: { '*': { read: true } } } }),
      400,
      111,
      'name is required.'
    );
    assertParseError(
      await server.request('POST', '/classes/_Role', { auth: 'master', body: { name: uniq('NoAcl') } }),
      400,
      111,
      'ACL is required.'
    );
    await expectParseError(new Parse.Role().save(null, { useMasterKey: true }), 111);
    const names = await server.request('GET', '/classes/_Role', { auth: 'master', query: { where: { name: { $exists: false } } } });
    assert.deepEqual(names.json.results, [], 'no nameless role was stored');
  });

  it('the SDK refuses names outside [A-Za-z0-9_- ] before sending anything', async () => {
    const { server, Parse } = ctx;
    for (const bad of ['bad!name', 'role:Admin', 'a/b', 'dot.name', '']) {
      assert.throws(
        () => new Parse.Role(bad, new Parse.ACL()),
        e => e.code === Parse.Error.OTHER_CAUSE && /alphanumeric/.test(e.message),
        `name ${JSON.stringify(bad)}`
      );
    }
    // Spaces, dashes and underscores are fine.
    const ok = new Parse.Role(`${uniq('Ok')} with-dash_and space`, new Parse.ACL());
    await ok.save(null, { useMasterKey: true });
    const got = await server.request('GET', `/classes/_Role/${ok.id}`, { auth: 'master' });
    assert.equal(got.json.name, ok.getName());
  });

  it('two roles cannot share a name (137)', async () => {
    const { server, Parse } = ctx;
    const name = uniq('Unique');
    await createRole(server, name);
    assertParseError(
      await server.request('POST', '/classes/_Role', { auth: 'master', body: { name, ACL: {} } }),
      400,
      137
    );
    await expectParseError(new Parse.Role(name, new Parse.ACL()).save(null, { useMasterKey: true }), 137);
    // A client with create access gets the same answer.
    const user = await signUp(server);
    assertParseError(
      await as(server, user)('POST', '/classes/_Role', { body: { name, ACL: { [user.id]: { read: true, write: true } } } }),
      400,
      137
    );
    const same = await server.request('GET', '/classes/_Role', { auth: 'master', query: { where: { name } } });
    assert.equal(same.json.results.length, 1, same.text);
  });

  it('the SDK refuses to rename a saved role', async () => {
    const { server, Parse } = ctx;
    const name = uniq('Fixed');
    const role = new Parse.Role(name, new Parse.ACL());
    await role.save(null, { useMasterKey: true });
    assert.throws(
      () => role.setName(uniq('Other')),
      e => e.code === Parse.Error.OTHER_CAUSE && e.message === "A role's name can only be set before it has been saved."
    );
    assert.equal((await masterGet(server, '_Role', role.id)).name, name);
  });
});

describe('class-level permissions', () => {
  it('public grants, operation by operation (119 for the rest)', async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const cls = await classWith(server, {
      find: { '*': true },
      get: { '*': true },
      count: {},
      create: { '*': true },
      update: {},
      delete: {},
      addField: {},
    });
    const call = as(server, user);
    const created = await call('POST', `/classes/${cls}`, { body: { n: 1 } });
    assertStatus(created, 201);
    const id = created.json.objectId;
    assertStatus(await call('GET', `/classes/${cls}`), 200);
    assertStatus(await call('GET', `/classes/${cls}/${id}`), 200);
    denied(await call('GET', `/classes/${cls}`, { query: { count: 1, limit: 0 } }), 'count', cls);
    denied(await call('PUT', `/classes/${cls}/${id}`, { body: { n: 2 } }), 'update', cls);
    denied(await call('DELETE', `/classes/${cls}/${id}`), 'delete', cls);
    denied(await call('POST', `/classes/${cls}`, { body: { n: 3, fresh: 'field' } }), 'addField', cls);
    const obj = await masterGet(server, cls, id);
    assert.equal(obj.n, 1);
    const all = await server.request('GET', `/classes/${cls}`, { auth: 'master' });
    assert.equal(all.json.results.length, 1, 'no object was added');
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assert.equal(schema.json.fields.fresh, undefined, 'no field was added');
  });

  it('operations the stored CLP leaves out are denied to clients', async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const cls = await classWith(server, { find: { '*': true }, create: { '*': true } });
    const call = as(server, user);
    const created = await call('POST', `/classes/${cls}`, { body: { n: 1 } });
    assertStatus(created, 201);
    const id = created.json.objectId;
    assertStatus(await call('GET', `/classes/${cls}`), 200);
    denied(await call('GET', `/classes/${cls}/${id}`), 'get', cls);
    denied(await call('PUT', `/classes/${cls}/${id}`, { body: { n: 2 } }), 'update', cls);
    denied(await call('DELETE', `/classes/${cls}/${id}`), 'delete', cls);
    const schema = await server.request('GET', `/schemas/${cls}`, { auth: 'master' });
    assertStatus(schema, 200);
    for (const op of ['get', 'count', 'update', 'delete', 'addField']) {
      assert.deepEqual(schema.json.classLevelPermissions[op], {}, `${op}: ${schema.text}`);
    }
  });

  it('a grant to one user id', async () => {
    const { server } = ctx;
    const [allowed, other] = [await signUp(server), await signUp(server)];
    const cls = await classWith(server, everyOp({ [allowed.id]: true }));
    const id = await createObject(server, cls, { n: 1 });
    for (const caller of [other, null]) {
      const call = as(server, caller);
      denied(await call('GET', `/classes/${cls}`), 'find', cls);
      denied(await call('GET', `/classes/${cls}/${id}`), 'get', cls);
      denied(await call('POST', `/classes/${cls}`, { body: { n: 2 } }), 'create', cls);
      denied(await call('PUT', `/classes/${cls}/${id}`, { body: { n: 3 } }), 'update', cls);
      denied(await call('DELETE', `/classes/${cls}/${id}`), 'delete', cls);
    }
    assert.equal((await masterGet(server, cls, id)).n, 1);
    const call = as(server, allowed);
    const found = await call('GET', `/classes/${cls}`, { query: { count: 1 } });
    assertStatus(found, 200);
    assert.equal(found.json.count, 1);
    assertStatus(await call('GET', `/classes/${cls}/${id}`), 200);
    assertStatus(await call('POST', `/classes/${cls}`, { body: { n: 2, extra: 'new field' } }), 201);
    assertStatus(await call('PUT', `/classes/${cls}/${id}`, { body: { n: 3 } }), 200);
    assertStatus(await call('DELETE', `/classes/${cls}/${id}`), 200);
    // A count (limit 0) is checked against `count` alone.
    for (const caller of [other, null]) {
      denied(await as(server, caller)('GET', `/classes/${cls}`, { query: { count: 1, limit: 0 } }), 'count', cls);
    }
  });

  it('a grant to role:<name> reaches members and members of child roles', async () => {
    const { server } = ctx;
    const [member, childMember, outsider] = [await signUp(server), await signUp(server), await signUp(server)];
    const role = uniq('Writers');
    const roleId = await createRole(server, role, { users: [member.id] });
    await createRole(server, uniq('Juniors'), { users: [childMember.id] }).then(childId =>
      updateRole(server, roleId, { roles: addRelation(rolePtr(childId)) })
    );
    const cls = await classWith(server, everyOp({ [`role:${role}`]: true }));
    const id = await createObject(server, cls, { n: 1 });
    for (const user of [member, childMember]) {
      const call = as(server, user);
      assertStatus(await call('GET', `/classes/${cls}`), 200);
      assertStatus(await call('GET', `/classes/${cls}/${id}`), 200);
      assertStatus(await call('PUT', `/classes/${cls}/${id}`, { body: { n: { __op: 'Increment', amount: 1 } } }), 200);
      assertStatus(await call('POST', `/classes/${cls}`, { body: { n: 10 } }), 201);
    }
    const call = as(server, outsider);
    denied(await call('GET', `/classes/${cls}`), 'find', cls);
    denied(await call('PUT', `/classes/${cls}/${id}`, { body: { n: 0 } }), 'update', cls);
    denied(await call('DELETE', `/classes/${cls}/${id}`), 'delete', cls);
    assert.equal((await masterGet(server, cls, id)).n, 3);
  });

  it('requiresAuthentication: any signed-in user; 101 without a session', async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const cls = await classWith(server, everyOp({ requiresAuthentication: true }));
    const id = await createObject(server, cls, { n: 1 });
    const anonymous = as(server, null);
    const needsAuth = res =>
      assertParseError(res, 404, 101, detailedOrSanitized('Permission denied, user needs to be authenticated.'));
    needsAuth(await anonymous('GET', `/classes/${cls}`));
    needsAuth(await anonymous('GET', `/classes/${cls}/${id}`));
    needsAuth(await anonymous('POST', `/classes/${cls}`, { body: { n: 2 } }));
    needsAuth(await anonymous('PUT', `/classes/${cls}/${id}`, { body: { n: 2 } }));
    needsAuth(await anonymous('DELETE', `/classes/${cls}/${id}`));
    assert.equal((await masterGet(server, cls, id)).n, 1);
    const call = as(server, user);
    assertStatus(await call('GET', `/classes/${cls}`), 200);
    assertStatus(await call('GET', `/classes/${cls}/${id}`), 200);
    assertStatus(await call('POST', `/classes/${cls}`, { body: { n: 2 } }), 201);
    assertStatus(await call('PUT', `/classes/${cls}/${id}`, { body: { n: 3 } }), 200);
    assertStatus(await call('DELETE', `/classes/${cls}/${id}`), 200);
  });

  it('count has its own grant: find without count, count without find', async () => {
    const { server, Parse } = ctx;
    const user = await signUp(server);
    const findOnly = await classWith(server, { ...everyOp({}), find: { '*': true }, get: { '*': true } });
    const countOnly = await classWith(server, { ...everyOp({}), count: { '*': true } });
    for (const cls of [findOnly, countOnly]) {
      await createObject(server, cls, { n: 1 });
      await createObject(server, cls, { n: 2 });
    }
    await expectParseError(new Parse.Query(findOnly).count({ sessionToken: user.token }), 119);
    assert.equal((await new Parse.Query(findOnly).find({ sessionToken: user.token })).length, 2);
    // A count with limit 0 fetches no objects, so only `count` is checked.
    assert.equal(await new Parse.Query(countOnly).count({ sessionToken: user.token }), 2);
    await expectParseError(new Parse.Query(countOnly).find({ sessionToken: user.token }), 119);
  });

  it('Parse.Schema sets CLPs the REST API then enforces', async () => {
    const { server, Parse } = ctx;
    const [editor, reader] = [await signUp(server), await signUp(server)];
    const cls = uniq('SdkClp');
    const schema = new Parse.Schema(cls);
    schema.addString('title');
    schema.setCLP({
      find: { requiresAuthentication: true },
      get: { requiresAuthentication: true },
      count: { requiresAuthentication: true },
      create: { [editor.id]: true },
      update: { [editor.id]: true },
      delete: { [editor.id]: true },
      addField: {},
    });
    await schema.save();
    const stored = await new Parse.Schema(cls).get();
    assert.deepEqual(stored.classLevelPermissions.create, { [editor.id]: true });

    const obj = new Parse.Object(cls, { title: 'draft' });
    await obj.save(null, { sessionToken: editor.token });
    await expectParseError(new Parse.Object(cls, { title: 'x' }).save(null, { sessionToken: reader.token }), 119);
    await expectParseError(new Parse.Object(cls, { title: 'x', extra: 1 }).save(null, { sessionToken: editor.token }), 119);
    assert.equal((await new Parse.Query(cls).find({ sessionToken: reader.token })).length, 1);
    await expectParseError(new Parse.Query(cls).find(), 101);
    const copy = await new Parse.Query(cls).get(obj.id, { sessionToken: reader.token });
    copy.set('title', 'hijacked');
    await expectParseError(copy.save(null, { sessionToken: reader.token }), 119);
    assert.equal((await masterGet(server, cls, obj.id)).title, 'draft');
  });
});

describe('pointer permissions', () => {
  const ownerFields = { n: { type: 'Number' }, owner: { type: 'Pointer', targetClass: '_User' } };
  const mine = user => ({ owner: userPtr(user.id) });

  it('readUserFields: find, get and count see only objects pointing at the caller', async () => {
    const { server } = ctx;
    const [alice, bob] = [await signUp(server), await signUp(server)];
    const cls = await classWith(server, { ...everyOp({}), readUserFields: ['owner'] }, ownerFields, 'Ppr');
    const a1 = await createObject(server, cls, { n: 1, ...mine(alice) });
    const a2 = await createObject(server, cls, { n: 2, ...mine(alice) });
    const b1 = await createObject(server, cls, { n: 3, ...mine(bob) });
    await createObject(server, cls, { n: 4 });
    const found = await as(server, alice)('GET', `/classes/${cls}`, { query: { order: 'n', count: 1 } });
    assertStatus(found, 200);
    assert.deepEqual(found.json.results.map(r => r.objectId), [a1, a2]);
    assert.equal(found.json.count, 2);
    assertStatus(await as(server, alice)('GET', `/classes/${cls}/${a1}`), 200);
    assertParseError(await as(server, alice)('GET', `/classes/${cls}/${b1}`), 404, 101);
    // Asking for bob's objects explicitly still yields nothing.
    const asked = await as(server, alice)('GET', `/classes/${cls}`, { query: { where: { owner: userPtr(bob.id) } } });
    assertStatus(asked, 200);
    assert.deepEqual(asked.json.results, []);
    // Reading is not writing.
    denied(await as(server, alice)('PUT', `/classes/${cls}/${a1}`, { body: { n: 9 } }), 'update', cls);
  });

  it('writeUserFields: only the pointed-at user updates or deletes; creation stays closed', async () => {
    const { server } = ctx;
    const [alice, bob] = [await signUp(server), await signUp(server)];
    const cls = await classWith(
      server,
      { ...everyOp({}), find: { '*': true }, get: { '*': true }, writeUserFields: ['owner'] },
      ownerFields,
      'Ppw'
    );
    const a1 = await createObject(server, cls, { n: 1, ...mine(alice) });
    const b1 = await createObject(server, cls, { n: 2, ...mine(bob) });
    assertStatus(await as(server, alice)('PUT', `/classes/${cls}/${a1}`, { body: { n: 10 } }), 200);
    assertParseError(await as(server, alice)('PUT', `/classes/${cls}/${b1}`, { body: { n: 20 } }), 404, 101);
    assertParseError(await as(server, alice)('DELETE', `/classes/${cls}/${b1}`), 404, 101);
    assertParseError(await as(server, null)('PUT', `/classes/${cls}/${a1}`, { body: { n: 30 } }), 404, 101);
    denied(await as(server, alice)('POST', `/classes/${cls}`, { body: { n: 5, ...mine(alice) } }), 'create', cls);
    assert.equal((await masterGet(server, cls, a1)).n, 10);
    assert.equal((await masterGet(server, cls, b1)).n, 2);
    assertStatus(await as(server, bob)('DELETE', `/classes/${cls}/${b1}`), 200);
    // Everyone may still read.
    const all = await as(server, null)('GET', `/classes/${cls}`);
    assert.deepEqual(all.json.results.map(r => r.objectId), [a1]);
  });

  it('pointerFields per operation', async () => {
    const { server } = ctx;
    const [alice, bob] = [await signUp(server), await signUp(server)];
    const pf = { pointerFields: ['owner'] };
    const cls = await classWith(
      server,
      { find: pf, get: pf, count: pf, create: { '*': true }, update: pf, delete: {}, addField: {} },
      ownerFields,
      'Ppf'
    );
    const created = await as(server, alice)('POST', `/classes/${cls}`, { body: { n: 1, ...mine(alice) } });
    assertStatus(created, 201);
    const a1 = created.json.objectId;
    const b1 = await createObject(server, cls, { n: 2, ...mine(bob) });
    const found = await as(server, alice)('GET', `/classes/${cls}`);
    assert.deepEqual(found.json.results.map(r => r.objectId), [a1]);
    assertParseError(await as(server, alice)('GET', `/classes/${cls}/${b1}`), 404, 101);
    assertStatus(await as(server, alice)('PUT', `/classes/${cls}/${a1}`, { body: { n: 11 } }), 200);
    assertParseError(await as(server, alice)('PUT', `/classes/${cls}/${b1}`, { body: { n: 22 } }), 404, 101);
    denied(await as(server, alice)('DELETE', `/classes/${cls}/${a1}`), 'delete', cls);
    assert.equal((await masterGet(server, cls, b1)).n, 2);
    assert.equal((await masterGet(server, cls, a1)).n, 11);
  });

  it('an array of users works as a pointer-permission field', async () => {
    const { server } = ctx;
    const [alice, bob, carol] = [await signUp(server), await signUp(server), await signUp(server)];
    const cls = await classWith(
      server,
      { ...everyOp({}), readUserFields: ['editors'], writeUserFields: ['editors'] },
      { n: { type: 'Number' }, editors: { type: 'Array' } },
      'Ppa'
    );
    const shared = await createObject(server, cls, { n: 1, editors: [userPtr(alice.id), userPtr(bob.id)] });
    const bobs = await createObject(server, cls, { n: 2, editors: [userPtr(bob.id)] });
    const forAlice = await as(server, alice)('GET', `/classes/${cls}`);
    assert.deepEqual(forAlice.json.results.map(r => r.objectId), [shared]);
    const forBob = await as(server, bob)('GET', `/classes/${cls}`, { query: { order: 'n' } });
    assert.deepEqual(forBob.json.results.map(r => r.objectId), [shared, bobs]);
    const forCarol = await as(server, carol)('GET', `/classes/${cls}`);
    assert.deepEqual(forCarol.json.results, []);
    assertStatus(await as(server, alice)('PUT', `/classes/${cls}/${shared}`, { body: { n: 5 } }), 200);
    assertParseError(await as(server, alice)('PUT', `/classes/${cls}/${bobs}`, { body: { n: 6 } }), 404, 101);
    assertParseError(await as(server, carol)('DELETE', `/classes/${cls}/${shared}`), 404, 101);
    assert.equal((await masterGet(server, cls, bobs)).n, 2);
  });

  it('a grant that lets the caller in overrides pointer permissions', async () => {
    const { server } = ctx;
    const [alice, bob] = [await signUp(server), await signUp(server)];
    const cls = await classWith(
      server,
      { ...everyOp({}), find: { '*': true }, get: { [bob.id]: true }, readUserFields: ['owner'] },
      ownerFields,
      'Ppo'
    );
    const a1 = await createObject(server, cls, { n: 1, ...mine(alice) });
    const b1 = await createObject(server, cls, { n: 2, ...mine(bob) });
    // find is public: every object, whatever `owner` says.
    const found = await as(server, alice)('GET', `/classes/${cls}`, { query: { order: 'n' } });
    assert.deepEqual(found.json.results.map(r => r.objectId), [a1, b1]);
    // get is granted to bob: he gets alice's object; alice gets only her own.
    assertStatus(await as(server, bob)('GET', `/classes/${cls}/${a1}`), 200);
    assertStatus(await as(server, alice)('GET', `/classes/${cls}/${a1}`), 200);
    assertParseError(await as(server, alice)('GET', `/classes/${cls}/${b1}`), 404, 101);
  });
});

describe('protectedFields', () => {
  const fields = {
    name: { type: 'String' },
    a: { type: 'String' },
    b: { type: 'String' },
    owner: { type: 'Pointer', targetClass: '_User' },
  };
  const publicRead = { ...everyOp({ '*': true }) };
  const keysOf = obj => Object.keys(obj).filter(k => ['name', 'a', 'b', 'owner'].includes(k)).sort();

  async function fetchAs(server, user, cls, id) {
    const res = await as(server, user)('GET', `/classes/${cls}/${id}`);
    assertStatus(res, 200);
    const listed = await as(server, user)('GET', `/classes/${cls}`, { query: { where: { objectId: { $in: [id] } } } });
    assertStatus(listed, 200);
    assert.deepEqual(keysOf(listed.json.results[0]), keysOf(res.json), 'find and get agree');
    return res.json;
  }

  it("'*' hides fields from every client, never from the master key", async () => {
    const { server } = ctx;
    const [user, owner] = [await signUp(server), await signUp(server)];
    const cls = await classWith(server, { ...publicRead, protectedFields: { '*': ['a', 'b'] } }, fields, 'Pf');
    const id = await createObject(server, cls, { name: 'n', a: 'A', b: 'B', owner: userPtr(owner.id) });
    for (const caller of [null, user, owner]) {
      assert.deepEqual(keysOf(await fetchAs(server, caller, cls, id)), ['name', 'owner']);
    }
    const master = await masterGet(server, cls, id);
    assert.equal(master.a, 'A');
    assert.equal(master.b, 'B');
  });

  it("'authenticated' applies to signed-in users, intersected with '*'", async () => {
    const { server } = ctx;
    const user = await signUp(server);
    const cls = await classWith(server, { ...publicRead, protectedFields: { '*': ['a', 'b'], authenticated: ['b'] } }, fields, 'Pf');
    const id = await createObject(server, cls, { name: 'n', a: 'A', b: 'B' });
    assert.deepEqual(keysOf(await fetchAs(server, null, cls, id)), ['name']);
    const seen = await fetchAs(server, user, cls, id);
    assert.deepEqual(keysOf(seen), ['a', 'name']);
    assert.equal(seen.a, 'A');
  });

  it("'role:<name>' applies to members, also through a child role", async () => {
    const { server } = ctx;
    const [staff, junior, outsider] = [await signUp(server), await signUp(server), await signUp(server)];
    const role = uniq('Staff');
    const juniorRole = await createRole(server, uniq('Junior'), { users: [junior.id] });
    await createRole(server, role, { users: [staff.id], roles: [juniorRole] });
    const cls = await classWith(
      server,
      { ...publicRead, protectedFields: { '*': ['a', 'b'], [`role:${role}`]: ['a'] } },
      fields,
      'Pf'
    );
    const id = await createObject(server, cls, { name: 'n', a: 'A', b: 'B' });
    assert.deepEqual(keysOf(await fetchAs(server, staff, cls, id)), ['b', 'name']);
    assert.deepEqual(keysOf(await fetchAs(server, junior, cls, id)), ['b', 'name']);
    assert.deepEqual(keysOf(await fetchAs(server, outsider, cls, id)), ['name']);
    assert.deepEqual(keysOf(await fetchAs(server, null, cls, id)), ['name']);
  });

  it('a user id entry applies to that user only', async () => {
    const { server } = ctx;
    const [vip, other] = [await signUp(server), await signUp(server)];
    const cls = await classWith(server, { ...publicRead, protectedFields: { '*': ['a', 'b'], [vip.id]: [] } }, fields, 'Pf');
    const id = await createObject(server, cls, { name: 'n', a: 'A', b: 'B' });
    assert.deepEqual(keysOf(await fetchAs(server, vip, cls, id)), ['a', 'b', 'name']);
    assert.deepEqual(keysOf(await fetchAs(server, other, cls, id)), ['name']);
    // An entry for a user id alone hides only from that user.
    const cls2 = await classWith(server, { ...publicRead, protectedFields: { [other.id]: ['a'] } }, fields, 'Pf');
    const id2 = await createObject(server, cls2, { name: 'n', a: 'A', b: 'B' });
    assert.deepEqual(keysOf(await fetchAs(server, other, cls2, id2)), ['b', 'name']);
    assert.deepEqual(keysOf(await fetchAs(server, vip, cls2, id2)), ['a', 'b', 'name']);
    assert.deepEqual(keysOf(await fetchAs(server, null, cls2, id2)), ['a', 'b', 'name']);
  });

  it("'userField:owner' applies to the user an object points at, object by object", async () => {
    const { server } = ctx;
    const [alice, bob] = [await signUp(server), await signUp(server)];
    const cls = await classWith(
      server,
      { ...publicRead, protectedFields: { '*': ['a', 'b'], 'userField:owner': ['b'] } },
      fields,
      'Pf'
    );
    const hers = await createObject(server, cls, { name: 'hers', a: 'A1', b: 'B1', owner: userPtr(alice.id) });
    const his = await createObject(server, cls, { name: 'his', a: 'A2', b: 'B2', owner: userPtr(bob.id) });
    assert.deepEqual(keysOf(await fetchAs(server, alice, cls, hers)), ['a', 'name', 'owner']);
    assert.deepEqual(keysOf(await fetchAs(server, alice, cls, his)), ['name', 'owner']);
    assert.deepEqual(keysOf(await fetchAs(server, bob, cls, his)), ['a', 'name', 'owner']);
    assert.deepEqual(keysOf(await fetchAs(server, null, cls, hers)), ['name', 'owner']);
    const list = await as(server, alice)('GET', `/classes/${cls}`, { query: { order: 'name' } });
    assert.deepEqual(
      list.json.results.map(r => [r.name, r.a ?? null, r.b ?? null]),
      [
        ['hers', 'A1', null],
        ['his', null, null],
      ]
    );
  });

  it('keys cannot fetch protected fields, and a userField left out of keys stays out', async () => {
    const { server } = ctx;
    const alice = await signUp(server);
    const cls = await classWith(
      server,
      { ...publicRead, protectedFields: { '*': ['a', 'b'], 'userField:owner': [] } },
      fields,
      'Pf'
    );
    const id = await createObject(server, cls, { name: 'n', a: 'A', b: 'B', owner: userPtr(alice.id) });
    const other = await signUp(server);
    const res = await as(server, other)('GET', `/classes/${cls}`, { query: { keys: 'a,b,name' } });
    assertStatus(res, 200);
    assert.deepEqual(keysOf(res.json.results[0]), ['name']);
    assert.ok(!res.text.includes('"A"') && !res.text.includes('"B"'), res.text);
    // The owner sees a and b, but `owner` (needed to decide) is not added to the answer.
    const own = await as(server, alice)('GET', `/classes/${cls}/${id}`, { query: { keys: 'a,name' } });
    assertStatus(own, 200);
    assert.deepEqual(keysOf(own.json), ['a', 'name']);
  });
});
