// In-place compatibility with parse-server, both directions, on one PostgreSQL database:
//
//   1. the real parse-server (tests/sdk/reference, from npm) starts on a fresh database and the
//      JS SDK writes every field type, ACLs (user, role, public), a class-level permission with
//      protected fields, an index, users with passwords, nested roles and sessions;
//   2. parse-server stops and Reparse serves the same database: everything reads back equal
//      (raw REST, compared with what parse-server answered), the passwords parse-server hashed
//      log in, its session tokens work, relations and roles resolve, the CLP holds, queries
//      answer as parse-server's did and the index is still there;
//   3. Reparse writes: objects of every type, updates (operators, relations), a deletion, a new
//      class with its own CLP and index (so `_SCHEMA` rows written by Reparse, with its
//      `reparseOrder` key), a user, a role and a session;
//   4. parse-server starts again and reads all of that equal to what Reparse answered, logs the
//      new user in, accepts Reparse's session token, and changes Reparse's class (a field, an
//      index, an object);
//   5. Reparse reads parse-server's change to its class.
//
// And a database Reparse made from nothing: parse-server starts on it, reads it equal, logs its
// users in and writes to it.
//
// Runs only in the PostgreSQL pass (REPARSE_TEST_DATABASE=postgres) and needs
// `(cd tests/sdk/reference && npm ci)`; under CI=true a missing install is a failure.
// REFERENCE_PARSE_SERVER_DIR points at another folder holding parse-server (e.g. bench/parse-server)
// to run the same checks against that version.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initParse, startServer, testDatabaseURI, assertStatus, assertParseError, Parse } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const parseServerBin = join(here, 'reference', 'parse-server-serve.mjs');
const parseServerPackage = join(process.env.REFERENCE_PARSE_SERVER_DIR || join(here, 'reference'), 'node_modules', 'parse-server');

function skipReason() {
  if (process.env.REPARSE_TEST_DATABASE !== 'postgres') {
    return 'parse-server shares databases with Reparse on PostgreSQL only (REPARSE_TEST_DATABASE=postgres)';
  }
  if (!existsSync(parseServerPackage)) {
    const message = `parse-server is not installed at ${parseServerPackage}: run (cd tests/sdk/reference && npm ci)`;
    if (process.env.CI === 'true') throw new Error(message);
    return message;
  }
  return false;
}

const skip = skipReason();
const scratch = mkdtempSync(join(tmpdir(), 'reparse-interop-'));
const databaseURI = skip ? null : testDatabaseURI(scratch);
const keys = {
  appId: 'interop-app',
  masterKey: 'interop-master',
  javascriptKey: 'interop-js',
  restAPIKey: 'interop-rest',
  databaseURI,
};

let running = null;
let runningKind = null;
after(async () => {
  if (running) await running.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Stops whichever server runs and starts `which` ('parse-server' or 'reparse') on the database. */
async function switchTo(which) {
  if (running && runningKind === which) return running;
  if (running) {
    await running.stop();
    running.cleanup();
  }
  running = await startServer(keys, which === 'parse-server' ? { bin: parseServerBin } : {});
  runningKind = which;
  initParse(running);
  return running;
}

const session = token => ({ 'X-Parse-Session-Token': token });
/** An object known by class and id only (a pointer). */
const ref = (className, objectId) => Parse.Object.extend(className).createWithoutData(objectId);
const psql = sql =>
  execFileSync('psql', [databaseURI, '-qAtc', sql], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);

/**
 * A REST answer made comparable across servers: file URLs embed the server's URL (its port
 * changes between starts), so it is replaced by a marker.
 */
function portable(server, json) {
  const result = JSON.parse(JSON.stringify(json).replaceAll(server.url, '<serverURL>'));
  for (const schema of result.results ?? []) {
    // parse-server's PostgreSQL adapter reports the default class-level permissions of a class
    // that has none stored with an extra `ACL` grant (its `defaultCLPS`); Reparse leaves it out.
    const clp = schema.classLevelPermissions;
    if (clp && JSON.stringify(clp.ACL) === JSON.stringify({ '*': { read: true, write: true } })) delete clp.ACL;
  }
  return result;
}

async function get(server, path, { query, auth = 'master', headers } = {}) {
  const res = await server.request('GET', path, { auth, query, headers });
  assertStatus(res, 200);
  return portable(server, res.json);
}

/** Everything a server answers about the data, for comparisons between the two. */
async function snapshot(server, classNames) {
  const result = { schemas: sortByClass((await get(server, '/schemas')).results), classes: {} };
  for (const className of classNames) {
    const path = className === '_User' ? '/users' : className === '_Role' ? '/roles' : className === '_Session' ? '/sessions' : `/classes/${className}`;
    result.classes[className] = (await get(server, path, { query: { order: 'objectId', limit: '1000' } })).results;
  }
  return result;
}

const sortByClass = schemas => [...schemas].sort((a, b) => a.className.localeCompare(b.className));

/** Queries run on both servers; each answers the same objectIds in the same order. */
const QUERIES = [
  { where: { label: 'first' } },
  { where: { rank: { $gte: 2 } }, order: '-rank' },
  { where: { score: { $lt: 10 } }, order: 'score,label' },
  { where: { tags: { $all: ['a'] } } },
  { where: { tags: { $all: ['a', 'b'] } } },
  { where: { flag: false } },
  { where: { when: { $gt: { __type: 'Date', iso: '2020-01-01T00:00:00.000Z' } } }, order: 'when' },
  { where: { 'meta.kind': 'nested' } },
  { where: { label: { $regex: '^f' } }, order: 'label' },
  { where: { label: { $in: ['second', 'third', 'fifth'] } }, order: 'rank' },
  { where: { owner: { $exists: true } }, order: 'rank' },
  { where: { owner: { $inQuery: { where: { name: 't1' }, className: 'Target' } } } },
  { where: { $or: [{ rank: 1 }, { flag: false }] }, order: 'rank' },
  { where: {}, order: '-label', limit: 2, skip: 1 },
];

async function queryIds(server, className, token) {
  const answers = [];
  for (const { where, order, limit, skip: skipCount } of QUERIES) {
    const query = { where: JSON.stringify(where) };
    if (order) query.order = order;
    if (limit !== undefined) query.limit = String(limit);
    if (skipCount !== undefined) query.skip = String(skipCount);
    const res = await server.request('GET', `/classes/${className}`, {
      query,
      auth: token ? 'js' : 'master',
      headers: token ? session(token) : {},
    });
    assert.equal(res.status, 200, `${JSON.stringify(query)}: ${res.status} ${res.text}`);
    answers.push(res.json.results.map(object => object.label));
  }
  // With a `where`: without one, parse-server on PostgreSQL answers the planner's estimate.
  const count = await server.request('GET', `/classes/${className}`, {
    auth: 'master',
    query: { count: '1', limit: '0', where: JSON.stringify({ rank: { $gt: 0 } }) },
  });
  answers.push(count.json.count);
  return answers;
}

const polygon = [
  [0, 0],
  [0, 1],
  [1, 1],
  [1, 0],
  [0, 0],
];
const bytes = { __type: 'Bytes', base64: Buffer.from([0, 1, 2, 250, 255]).toString('base64') };

describe('one PostgreSQL database, parse-server and Reparse in turn', { skip }, () => {
  const state = {};

  it('parse-server writes every type, ACLs, a CLP, an index, users, roles and sessions', async () => {
    const server = await switchTo('parse-server');

    const alice = await Parse.User.signUp('alice', 'alice-password', { email: 'alice@example.com' });
    const bob = await Parse.User.signUp('bob', 'bob-password');
    state.aliceId = alice.id;
    state.bobId = bob.id;
    state.aliceToken = alice.getSessionToken();
    state.bobToken = (await Parse.User.logIn('bob', 'bob-password')).getSessionToken();

    // Editors (alice) is a child of Admins: alice holds role:Admins too.
    const roleAcl = new Parse.ACL();
    roleAcl.setPublicReadAccess(true);
    const editors = new Parse.Role('Editors', roleAcl);
    editors.getUsers().add(alice);
    await editors.save(null, { useMasterKey: true });
    const admins = new Parse.Role('Admins', roleAcl);
    admins.getRoles().add(editors);
    await admins.save(null, { useMasterKey: true });

    const targets = [];
    for (const name of ['t1', 't2', 't3']) targets.push(await new Parse.Object('Target', { name }).save());
    state.targetIds = targets.map(target => target.id);

    const schema = new Parse.Schema('Thing');
    schema
      .addString('label')
      .addNumber('rank')
      .addNumber('score')
      .addBoolean('flag')
      .addDate('when')
      .addObject('meta')
      .addArray('tags')
      .addPointer('owner', 'Target')
      .addRelation('friends', 'Target')
      .addGeoPoint('place')
      .addPolygon('area')
      .addFile('doc')
      .addField('blob', 'Bytes')
      .addString('secretNote')
      .addIndex('label_rank', { label: 1, rank: -1 })
      .setCLP({
        find: { '*': true },
        get: { '*': true },
        count: { '*': true },
        create: { 'role:Editors': true },
        update: { 'role:Editors': true },
        delete: { 'role:Editors': true },
        addField: {},
        protectedFields: { '*': ['secretNote'] },
      });
    await schema.save();

    const publicRead = new Parse.ACL();
    publicRead.setPublicReadAccess(true);
    publicRead.setWriteAccess(alice, true);
    publicRead.setRoleWriteAccess('Editors', true);
    const adminsOnly = new Parse.ACL();
    adminsOnly.setRoleReadAccess('Admins', true);
    adminsOnly.setRoleWriteAccess('Admins', true);
    const aliceOnly = new Parse.ACL(alice);

    const first = new Parse.Object('Thing', {
      label: 'first',
      rank: 1,
      score: 2.5,
      flag: true,
      when: new Date('2024-02-29T12:34:56.789Z'),
      meta: { kind: 'nested', inner: { list: [1, 2.5, 'x', null, true], empty: {} } },
      tags: ['a', 'b', 2, { deep: [true] }],
      owner: targets[0],
      place: new Parse.GeoPoint(40.7128, -74.006),
      area: new Parse.Polygon(polygon),
      doc: Parse.File.fromJSON({ __type: 'File', name: 'report.pdf', url: 'http://files.example.com/report.pdf' }),
      blob: bytes,
      secretNote: 'for the master key only',
    });
    first.relation('friends').add([targets[1], targets[2]]);
    first.setACL(publicRead);
    const second = new Parse.Object('Thing', { label: 'second', rank: 2, score: 7, flag: false, tags: ['b'] });
    second.setACL(adminsOnly);
    const third = new Parse.Object('Thing', {
      label: 'third',
      rank: 3,
      score: -1.25,
      when: new Date('2019-05-01T00:00:00.000Z'),
      owner: targets[1],
    });
    third.setACL(aliceOnly);
    const fourth = new Parse.Object('Thing', { label: 'fourth', rank: 4, flag: false });
    fourth.setACL(publicRead);
    const sessionToken = state.aliceToken; // CLP create: role:Editors
    // One by one, not saveAll: parse-server 9's /batch fails with some versions of express's
    // router (tests/sdk/reference pins one that works), and REFERENCE_PARSE_SERVER_DIR may
    // point at such an install.
    for (const thing of [first, second, third, fourth]) await thing.save(null, { sessionToken });
    state.thingIds = Object.fromEntries([first, second, third, fourth].map(thing => [thing.get('label'), thing.id]));

    state.parseServerView = await snapshot(server, ['Thing', 'Target', '_User', '_Role', '_Session']);
    state.parseServerQueries = await queryIds(server, 'Thing');
    state.parseServerAliceQueries = await queryIds(server, 'Thing', state.aliceToken);
    state.parseServerBobQueries = await queryIds(server, 'Thing', state.bobToken);
    state.userIndexes = psql(`select indexname from pg_indexes where tablename = '_User' order by 1`);
    assert.ok(state.userIndexes.includes('_perishable_token'), `parse-server's own _User indexes: ${state.userIndexes}`);
    state.indexes = psql(`select indexname from pg_indexes where tablename = 'Thing' order by 1`);
    assert.ok(state.indexes.includes('label_rank'), `parse-server made the index: ${state.indexes}`);
  });

  it('Reparse serves the same database: every object, schema, user, role and session reads back equal', async () => {
    const server = await switchTo('reparse');
    const view = await snapshot(server, ['Thing', 'Target', '_User', '_Role', '_Session']);
    if (process.env.INTEROP_DUMP) {
      (await import('node:fs')).writeFileSync('/tmp/interop-ps.json', JSON.stringify(state.parseServerView, null, 1));
      (await import('node:fs')).writeFileSync('/tmp/interop-rp.json', JSON.stringify(view, null, 1));
    }
    assert.deepEqual(view.classes.Thing, state.parseServerView.classes.Thing);
    assert.deepEqual(view.classes.Target, state.parseServerView.classes.Target);
    assert.deepEqual(view.classes._User, state.parseServerView.classes._User);
    assert.deepEqual(view.classes._Role, state.parseServerView.classes._Role);
    assert.deepEqual(view.classes._Session, state.parseServerView.classes._Session);
    assert.deepEqual(view.schemas, state.parseServerView.schemas);

    // Through the SDK's own types as well.
    const first = await new Parse.Query('Thing').get(state.thingIds.first, { useMasterKey: true });
    assert.ok(first.get('when') instanceof Date);
    assert.equal(first.get('when').toISOString(), '2024-02-29T12:34:56.789Z');
    assert.ok(first.get('place') instanceof Parse.GeoPoint);
    assert.equal(first.get('place').latitude, 40.7128);
    assert.ok(first.get('area') instanceof Parse.Polygon);
    assert.deepEqual(first.get('area').coordinates, polygon);
    assert.ok(first.get('doc') instanceof Parse.File);
    assert.equal(first.get('doc').name(), 'report.pdf');
    assert.deepEqual(first.get('blob'), bytes);
    assert.equal(first.get('owner').id, state.targetIds[0]);
  });

  it('Reparse logs in with the passwords parse-server hashed and accepts its session tokens', async () => {
    const server = await switchTo('reparse');
    for (const [token, id] of [
      [state.aliceToken, state.aliceId],
      [state.bobToken, state.bobId],
    ]) {
      const me = await server.request('GET', '/users/me', { auth: 'js', headers: session(token) });
      assertStatus(me, 200);
      assert.equal(me.json.objectId, id);
    }
    // From another installation: a log-in ends the user's other sessions of the same
    // installation (parse-server does the same), and alice's token is used below.
    const login = await server.request('POST', '/login', {
      auth: 'js',
      body: { username: 'alice', password: 'alice-password' },
      headers: { 'X-Parse-Installation-Id': 'interop-other-device' },
    });
    assertStatus(login, 200);
    assert.equal(login.json.objectId, state.aliceId);
    const wrong = await server.request('POST', '/login', { auth: 'js', body: { username: 'alice', password: 'wrong' } });
    assertParseError(wrong, 404, 101);
  });

  it('Reparse resolves parse-server relations, nested roles, the CLP and protected fields', async () => {
    const server = await switchTo('reparse');
    const first = await new Parse.Query('Thing').get(state.thingIds.first, { sessionToken: state.aliceToken });
    const friends = await first.relation('friends').query().ascending('name').find();
    assert.deepEqual(
      friends.map(friend => friend.get('name')),
      ['t2', 't3']
    );
    assert.equal(first.get('secretNote'), undefined, 'protectedFields hides secretNote');

    // Queries answer as parse-server's did: master, alice (Editors ⊂ Admins), bob (no role).
    assert.deepEqual(await queryIds(server, 'Thing'), state.parseServerQueries);
    assert.deepEqual(await queryIds(server, 'Thing', state.aliceToken), state.parseServerAliceQueries);
    assert.deepEqual(await queryIds(server, 'Thing', state.bobToken), state.parseServerBobQueries);
    const aliceSees = await new Parse.Query('Thing').ascending('rank').find({ sessionToken: state.aliceToken });
    assert.deepEqual(
      aliceSees.map(thing => thing.get('label')),
      ['first', 'second', 'third', 'fourth']
    );

    // CLP create: role:Editors only.
    assertParseError(
      await server.request('POST', '/classes/Thing', { auth: 'js', body: { label: 'x' }, headers: session(state.bobToken) }),
      400,
      119
    );
    assertParseError(await server.request('POST', '/classes/Thing', { auth: 'js', body: { label: 'x' } }), 400, 119);

    // The index parse-server made is still the table's, and still in the schema.
    assert.deepEqual(psql(`select indexname from pg_indexes where tablename = 'Thing' order by 1`), state.indexes);
    const schema = await new Parse.Schema('Thing').get();
    assert.deepEqual(schema.indexes.label_rank, { label: 1, rank: -1 });
  });

  it('Reparse writes objects, updates, relations, a deletion, a class with its CLP and index, a user, a role', async () => {
    const server = await switchTo('reparse');
    const targets = state.targetIds.map(id => ref('Target', id));
    const fifth = new Parse.Object('Thing', {
      label: 'fifth',
      rank: 5,
      score: 0.125,
      flag: true,
      when: new Date('2025-12-31T23:59:59.999Z'),
      meta: { kind: 'written by reparse', n: [1, { m: null }] },
      tags: ['a', 'c'],
      owner: targets[2],
      place: new Parse.GeoPoint(-33.8688, 151.2093),
      area: new Parse.Polygon([
        [1, 1],
        [1, 2],
        [2, 2],
        [1, 1],
      ]),
      doc: Parse.File.fromJSON({ __type: 'File', name: 'notes.txt', url: 'http://files.example.com/notes.txt' }),
      blob: { __type: 'Bytes', base64: 'AAEC' },
      secretNote: 'reparse secret',
    });
    fifth.relation('friends').add(targets[0]);
    const acl = new Parse.ACL();
    acl.setPublicReadAccess(true);
    acl.setRoleWriteAccess('Admins', true);
    fifth.setACL(acl);
    await fifth.save(null, { sessionToken: state.aliceToken });
    state.thingIds.fifth = fifth.id;

    const first = ref('Thing', state.thingIds.first);
    first.increment('rank', 10);
    first.addUnique('tags', 'z');
    first.relation('friends').add(targets[0]);
    first.relation('friends').remove(targets[1]);
    first.set('meta', { kind: 'nested', changed: true });
    await first.save(null, { sessionToken: state.aliceToken });
    // A new field needs the master key (CLP addField: {}).
    first.set('extra', 'added by reparse');
    await first.save(null, { useMasterKey: true });

    await ref('Thing', state.thingIds.fourth).destroy({ sessionToken: state.aliceToken });

    // `nickname` is a new _User field: Reparse changes the _User class parse-server made and
    // keeps the indexes parse-server put on it (token look-ups, anonymous authData).
    const dave = await Parse.User.signUp('dave', 'dave-password', { email: 'dave@example.com', nickname: 'D' });
    const userIndexes = psql(`select indexname from pg_indexes where tablename = '_User' order by 1`);
    for (const index of state.userIndexes) assert.ok(userIndexes.includes(index), `${index} kept: ${userIndexes}`);
    state.daveId = dave.id;
    state.daveToken = dave.getSessionToken();
    const roleAcl = new Parse.ACL();
    roleAcl.setPublicReadAccess(true);
    const viewers = new Parse.Role('Viewers', roleAcl);
    viewers.getUsers().add(dave);
    viewers.getRoles().add(ref('_Role', (await new Parse.Query(Parse.Role).equalTo('name', 'Admins').first()).id));
    await viewers.save(null, { useMasterKey: true });

    const gadgetSchema = new Parse.Schema('Gadget');
    gadgetSchema
      .addString('name')
      .addNumber('weight')
      .addBoolean('on')
      .addDate('madeAt')
      .addObject('spec')
      .addArray('parts')
      .addPointer('maker', '_User')
      .addRelation('related', 'Thing')
      .addGeoPoint('at')
      .addPolygon('zone')
      .addFile('manual')
      .addField('raw', 'Bytes')
      .addIndex('name_weight', { name: 1, weight: 1 })
      .setCLP({
        find: { 'role:Viewers': true },
        get: { 'role:Viewers': true },
        count: { 'role:Viewers': true },
        create: { 'role:Viewers': true },
        update: { 'role:Viewers': true },
        delete: {},
        addField: {},
        protectedFields: {},
      });
    await gadgetSchema.save();
    const gadget = new Parse.Object('Gadget', {
      name: 'widget',
      weight: 1.5,
      on: true,
      madeAt: new Date('2023-03-03T03:03:03.003Z'),
      spec: { volts: 5 },
      parts: ['x', 1],
      maker: dave,
      at: new Parse.GeoPoint(1, 2),
      zone: new Parse.Polygon(polygon),
      manual: Parse.File.fromJSON({ __type: 'File', name: 'manual.pdf', url: 'http://files.example.com/manual.pdf' }),
      raw: bytes,
    });
    gadget.relation('related').add(first);
    const gadgetAcl = new Parse.ACL();
    gadgetAcl.setRoleReadAccess('Viewers', true);
    gadgetAcl.setWriteAccess(dave, true);
    gadget.setACL(gadgetAcl);
    await gadget.save(null, { sessionToken: state.daveToken });
    state.gadgetId = gadget.id;
    // An object only the Viewers role may read: alice (Editors ⊂ Admins ⊂ Viewers) can.
    const aliceGadgets = await new Parse.Query('Gadget').find({ sessionToken: state.aliceToken });
    assert.deepEqual(
      aliceGadgets.map(object => object.id),
      [gadget.id]
    );

    state.reparseView = await snapshot(server, ['Thing', 'Target', 'Gadget', '_User', '_Role', '_Session']);
    state.reparseQueries = await queryIds(server, 'Thing');
    state.reparseAliceQueries = await queryIds(server, 'Thing', state.aliceToken);
    const stored = psql(`select "schema" from "_SCHEMA" where "className" = 'Gadget'`);
    assert.match(stored[0], /reparseOrder/, 'Reparse keeps its field order in _SCHEMA');
  });

  it('parse-server reads everything Reparse wrote, logs its user in and accepts its session token', async () => {
    const server = await switchTo('parse-server');
    const view = await snapshot(server, ['Thing', 'Target', 'Gadget', '_User', '_Role', '_Session']);
    assert.deepEqual(view.classes.Thing, state.reparseView.classes.Thing);
    assert.deepEqual(view.classes.Gadget, state.reparseView.classes.Gadget);
    assert.deepEqual(view.classes.Target, state.reparseView.classes.Target);
    assert.deepEqual(view.classes._User, state.reparseView.classes._User);
    assert.deepEqual(view.classes._Role, state.reparseView.classes._Role);
    assert.deepEqual(view.classes._Session, state.reparseView.classes._Session);
    assert.deepEqual(view.schemas, state.reparseView.schemas);
    assert.deepEqual(await queryIds(server, 'Thing'), state.reparseQueries);
    assert.deepEqual(await queryIds(server, 'Thing', state.aliceToken), state.reparseAliceQueries);

    const me = await server.request('GET', '/users/me', { auth: 'js', headers: session(state.daveToken) });
    assertStatus(me, 200);
    assert.equal(me.json.objectId, state.daveId);
    const login = await server.request('POST', '/login', {
      auth: 'js',
      body: { username: 'dave', password: 'dave-password' },
      headers: { 'X-Parse-Installation-Id': 'interop-other-device' },
    });
    assertStatus(login, 200);
    assert.equal(login.json.objectId, state.daveId);

    const gadget = await new Parse.Query('Gadget').get(state.gadgetId, { sessionToken: state.daveToken });
    const related = await gadget.relation('related').query().find({ sessionToken: state.daveToken });
    assert.deepEqual(
      related.map(thing => thing.id),
      [state.thingIds.first]
    );
    const first = await new Parse.Query('Thing').get(state.thingIds.first, { useMasterKey: true });
    const friends = await first.relation('friends').query().ascending('name').find();
    assert.deepEqual(
      friends.map(friend => friend.get('name')),
      ['t1', 't3']
    );
    // Bob holds no role: the Gadget CLP (role:Viewers) refuses him.
    await assert.rejects(new Parse.Query('Gadget').find({ sessionToken: state.bobToken }), error => error.code === 119);
  });

  it("parse-server changes the class Reparse created (a field, an index, an object)", async () => {
    const server = await switchTo('parse-server');
    const schema = new Parse.Schema('Gadget');
    schema.addString('color').addIndex('by_color', { color: 1 });
    await schema.update();
    const gadget = await new Parse.Object('Gadget', { name: 'second widget', weight: 3, color: 'red' }).save(null, {
      useMasterKey: true,
    });
    state.secondGadgetId = gadget.id;
    state.parseServerGadgets = await snapshot(server, ['Gadget']);
    // parse-server changed the row in place (jsonb_set): Reparse's key is still there.
    const stored = JSON.parse(psql(`select "schema" from "_SCHEMA" where "className" = 'Gadget'`)[0]);
    assert.deepEqual(stored.fields.color, { type: 'String' });
    assert.ok(stored.reparseOrder?.fields?.includes('maker'), JSON.stringify(stored));
  });

  it('Reparse reads parse-server’s change to its class', async () => {
    const server = await switchTo('reparse');
    const view = await snapshot(server, ['Gadget']);
    assert.deepEqual(view, state.parseServerGadgets);
    const red = await new Parse.Query('Gadget').equalTo('color', 'red').find({ useMasterKey: true });
    assert.deepEqual(
      red.map(gadget => gadget.id),
      [state.secondGadgetId]
    );
  });
});

describe('a database Reparse made, then served by parse-server', { skip }, () => {
  // A second database: Reparse creates every table, parse-server's start-up finds them there.
  const database = skip ? null : testDatabaseURI(scratch);
  const config = { ...keys, appId: 'interop-first', databaseURI: database };
  let server = null;
  after(async () => {
    if (server) await server.stop();
  });

  it('parse-server starts on it, reads it, logs its users in and keeps writing it', async () => {
    server = await startServer(config);
    initParse(server);
    const carol = await Parse.User.signUp('carol', 'carol-password', { email: 'carol@example.com' });
    const roleAcl = new Parse.ACL();
    roleAcl.setPublicReadAccess(true);
    const readers = new Parse.Role('Readers', roleAcl);
    readers.getUsers().add(carol);
    await readers.save(null, { useMasterKey: true });
    const acl = new Parse.ACL();
    acl.setRoleReadAccess('Readers', true);
    const note = await new Parse.Object('Note', {
      text: 'made by Reparse',
      at: new Date('2024-06-01T10:00:00.000Z'),
      where: new Parse.GeoPoint(10, 20),
      tags: ['x'],
      author: carol,
    }).save(null, { useMasterKey: true });
    note.setACL(acl);
    await note.save(null, { useMasterKey: true });
    const token = carol.getSessionToken();
    const made = await snapshot(server, ['Note', '_User', '_Role', '_Session']);
    await server.stop();
    server.cleanup();

    server = await startServer(config, { bin: parseServerBin });
    initParse(server);
    assert.deepEqual(await snapshot(server, ['Note', '_User', '_Role', '_Session']), made);
    const me = await server.request('GET', '/users/me', { auth: 'js', headers: session(token) });
    assertStatus(me, 200);
    const seen = await new Parse.Query('Note').find({ sessionToken: token });
    assert.deepEqual(
      seen.map(object => object.id),
      [note.id]
    );
    const login = await server.request('POST', '/login', {
      auth: 'js',
      body: { username: 'carol', password: 'carol-password' },
      headers: { 'X-Parse-Installation-Id': 'interop-other-device' },
    });
    assertStatus(login, 200);
    const dave = await Parse.User.signUp('dave', 'dave-password');
    assert.ok(dave.id);
    await new Parse.Object('Note', { text: 'made by parse-server' }).save(null, { useMasterKey: true });
    const notes = await new Parse.Query('Note').ascending('createdAt').find({ useMasterKey: true });
    assert.deepEqual(
      notes.map(object => object.get('text')),
      ['made by Reparse', 'made by parse-server']
    );
  });
});
