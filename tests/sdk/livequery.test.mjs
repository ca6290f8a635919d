// LiveQuery through the official SDK's LiveQuery client (its WebSocket protocol), against the
// real binary: every event type, keys and watch, ACL- and role-filtered delivery, and a
// revoked session that stops receiving.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { startServer, useServer, uniq, waitFor } from './harness.mjs';

const ctx = useServer({ liveQuery: { classNames: ['Message', 'Note', '_User'] } });

/**
 * A maker of LiveQuery clients for test `t` (a user's, when given a session token), closed when
 * the test ends: before the server stops, since a client whose server goes away keeps trying
 * to reconnect (and its timers keep the process alive).
 */
function liveClients(t) {
  const made = [];
  t.after(async () => {
    for (const client of made) await client.close();
  });
  return async (sessionToken, options = {}) => {
    const { Parse, server } = ctx;
    const client = new Parse.LiveQueryClient({
      applicationId: server.appId,
      serverURL: server.url.replace(/^http/, 'ws'),
      javascriptKey: server.javascriptKey,
      sessionToken,
      ...options,
    });
    client.open();
    made.push(client);
    return client;
  };
}

/** Collects a subscription's events; `next(name)` waits for the next one of that kind. */
function recorder(subscription) {
  const seen = [];
  const waiting = [];
  for (const name of ['create', 'enter', 'update', 'leave', 'delete']) {
    subscription.on(name, (object, original) => {
      seen.push({ name, object, original });
      waiting.splice(0).forEach(wake => wake());
    });
  }
  return {
    seen,
    async next(name, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const index = seen.findIndex(event => event.name === name);
        if (index >= 0) return seen.splice(index, 1)[0];
        const left = deadline - Date.now();
        assert.ok(left > 0, `no ${name} event within ${ms} ms (saw ${seen.map(e => e.name).join(', ') || 'nothing'})`);
        // The timer is cleared on wake-up: a pending one would hold the test process open.
        let timer;
        await new Promise(resolve => {
          waiting.push(resolve);
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
      }
    },
    async nothingFor(ms = 400) {
      await new Promise(resolve => setTimeout(resolve, ms));
      assert.deepEqual(seen.map(e => e.name), [], 'no event expected');
    },
  };
}

async function subscribe(client, query) {
  const subscription = client.subscribe(query);
  await new Promise(resolve => subscription.on('open', resolve));
  return subscription;
}

async function signUp(Parse) {
  const user = new Parse.User({ username: uniq('u'), password: 'secret-pass' });
  await user.signUp();
  return user;
}

describe('LiveQuery', () => {
  it('delivers create, update, leave, enter and delete as the query matches', async t => {
    const liveClient = liveClients(t);
    const { Parse } = ctx;
    const room = uniq('room');
    const client = await liveClient();
    const events = recorder(await subscribe(client, new Parse.Query('Message').equalTo('room', room)));
    const message = await new Parse.Object('Message').save({ room, text: 'hi' }, { useMasterKey: true });
    const created = await events.next('create');
    assert.equal(created.object.id, message.id);
    assert.equal(created.object.get('text'), 'hi');
    message.set('text', 'edited');
    await message.save(null, { useMasterKey: true });
    const updated = await events.next('update');
    assert.equal(updated.object.get('text'), 'edited');
    assert.equal(updated.original.get('text'), 'hi');
    message.set('room', 'elsewhere');
    await message.save(null, { useMasterKey: true });
    await events.next('leave');
    message.set('room', room);
    await message.save(null, { useMasterKey: true });
    await events.next('enter');
    await message.destroy({ useMasterKey: true });
    const deleted = await events.next('delete');
    assert.equal(deleted.object.id, message.id);
    await new Parse.Object('Message').save({ room: 'other', text: 'not for us' }, { useMasterKey: true });
    await events.nothingFor();
  });

  it('keys limit the fields sent and watch limits which updates are sent', async t => {
    const liveClient = liveClients(t);
    const { Parse } = ctx;
    const room = uniq('room');
    const client = await liveClient();
    const query = new Parse.Query('Message').equalTo('room', room).select('text').watch('status');
    const events = recorder(await subscribe(client, query));
    const message = await new Parse.Object('Message').save({ room, text: 'a', secret: 's', status: 'new' }, { useMasterKey: true });
    const created = await events.next('create');
    assert.equal(created.object.get('text'), 'a');
    assert.equal(created.object.get('secret'), undefined);
    message.set('text', 'b');
    await message.save(null, { useMasterKey: true });
    await events.nothingFor();
    message.set('status', 'read');
    await message.save(null, { useMasterKey: true });
    await events.next('update');
  });

  it('only subscribers who may read an object hear of it (ACL)', async t => {
    const liveClient = liveClients(t);
    const { Parse } = ctx;
    const owner = await signUp(Parse);
    const stranger = await signUp(Parse);
    const tag = uniq('tag');
    const ownerEvents = recorder(await subscribe(await liveClient(owner.getSessionToken()), new Parse.Query('Note').equalTo('tag', tag)));
    const strangerEvents = recorder(await subscribe(await liveClient(stranger.getSessionToken()), new Parse.Query('Note').equalTo('tag', tag)));
    const note = new Parse.Object('Note', { tag, text: 'private' });
    note.setACL(new Parse.ACL(owner));
    await note.save(null, { useMasterKey: true });
    await ownerEvents.next('create');
    await strangerEvents.nothingFor();
    // Made public: the stranger now sees it enter.
    note.setACL(new Parse.ACL());
    note.getACL().setPublicReadAccess(true);
    await note.save(null, { useMasterKey: true });
    await strangerEvents.next('enter');
    await Parse.User.logOut();
  });

  it('a role granted later opens delivery; a revoked session stops it', async t => {
    const liveClient = liveClients(t);
    const { Parse, server } = ctx;
    const editor = await signUp(Parse);
    const role = new Parse.Role(uniq('Editors'), new Parse.ACL());
    await role.save(null, { useMasterKey: true });
    const tag = uniq('tag');
    const client = await liveClient(editor.getSessionToken());
    const events = recorder(await subscribe(client, new Parse.Query('Note').equalTo('tag', tag)));
    const acl = new Parse.ACL();
    acl.setRoleReadAccess(role, true);
    await new Parse.Object('Note', { tag, n: 1 }).setACL(acl).save(null, { useMasterKey: true });
    await events.nothingFor();
    role.getUsers().add(editor);
    await role.save(null, { useMasterKey: true });
    await new Parse.Object('Note', { tag, n: 2 }).setACL(acl).save(null, { useMasterKey: true });
    const created = await events.next('create');
    assert.equal(created.object.get('n'), 2);
    // Logging out revokes the session: nothing more arrives.
    await server.request('POST', '/logout', { auth: 'rest', headers: { 'X-Parse-Session-Token': editor.getSessionToken() } });
    await new Parse.Object('Note', { tag, n: 3 }).setACL(acl).save(null, { useMasterKey: true });
    await events.nothingFor(600);
    await Parse.User.logOut();
  });
});

/** `promise`, or a failure with `message` after `ms` (the timer cleared either way). */
async function within(promise, ms, message) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A raw protocol client (for what the SDK does not send), connected with the server's keys and
 * `connect`: `next(op)` waits for a message, `closed` resolves when the server closes it.
 */
async function rawClient(t, server, connect = {}) {
  const socket = new WebSocket(server.url.replace(/^http/, 'ws'));
  const messages = [];
  socket.on('message', data => messages.push(JSON.parse(data.toString())));
  const closed = new Promise(resolve => socket.once('close', resolve));
  t.after(() => socket.terminate());
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const client = {
    socket,
    messages,
    closed,
    send: message => socket.send(JSON.stringify(message)),
    async next(op, ms = 5000) {
      const isOp = message => message.op === op;
      await waitFor(() => messages.some(isOp), () => `no ${op} within ${ms} ms (got ${JSON.stringify(messages)})`, {
        ms,
        every: 10,
      });
      return messages.splice(messages.findIndex(isOp), 1)[0];
    },
  };
  client.send({ op: 'connect', applicationId: server.appId, javascriptKey: server.javascriptKey, ...connect });
  return client;
}

describe('LiveQuery and transactions', () => {
  it('a transactional batch is heard of once it commits, never when it rolls back', async t => {
    const liveClient = liveClients(t);
    const { Parse, server } = ctx;
    const room = uniq('room');
    const events = recorder(await subscribe(await liveClient(), new Parse.Query('Message').equalTo('room', room)));
    const batch = requests =>
      server.request('POST', '/batch', { auth: 'master', body: { transaction: true, requests } });
    const create = text => ({ method: 'POST', path: '/parse/classes/Message', body: { room, text } });
    // The class exists beforehand (one the batch made would be unknown to the fan-out until it
    // commits, and hide what this test is after).
    await new Parse.Object('Message').save({ room: 'elsewhere' }, { useMasterKey: true });
    // The second request fails (an update of an object that does not exist): all is undone.
    const failed = await batch([create('undone'), { method: 'PUT', path: '/parse/classes/Message/nope', body: { room } }]);
    assert.equal(failed.status, 404, failed.text);
    await events.nothingFor();
    const committed = await batch([create('kept')]);
    assert.equal(committed.status, 200);
    const created = await events.next('create');
    assert.equal(created.object.get('text'), 'kept');
    await events.nothingFor();
  });
});

describe('LiveQuery beyond the SDK', () => {
  it('users are subscribable: sign-up, update and delete are events, never with the password', async t => {
    const liveClient = liveClients(t);
    const { Parse, server } = ctx;
    const city = uniq('city');
    const query = () => new Parse.Query(Parse.User).equalTo('city', city);
    const events = recorder(await subscribe(await liveClient(undefined, { masterKey: server.masterKey }), query()));
    // New users are readable by themselves only (enforcePrivateUsers): others hear nothing.
    const strangers = recorder(await subscribe(await liveClient(), query()));
    const user = new Parse.User({ username: uniq('u'), password: 'secret-pass', city });
    await user.signUp();
    const created = await events.next('create');
    assert.equal(created.object.id, user.id);
    assert.equal(created.object.get('city'), city);
    for (const secret of ['password', '_hashed_password', 'sessionToken']) {
      assert.equal(created.object.get(secret), undefined, `${secret} was sent`);
    }
    user.set('nickname', 'Neo');
    await user.save(null, { sessionToken: user.getSessionToken() });
    const updated = await events.next('update');
    assert.equal(updated.object.get('nickname'), 'Neo');
    await user.destroy({ sessionToken: user.getSessionToken() });
    await events.next('delete');
    await strangers.nothingFor();
    await Parse.User.logOut();
  });

  it('include sends pointed-to objects the subscriber may read, and pointers to the rest', async t => {
    const { Parse, server } = ctx;
    const room = uniq('room');
    const open = await new Parse.Object('Note').save({ text: 'readable' }, { useMasterKey: true });
    const hidden = new Parse.Object('Note', { text: 'private' });
    hidden.setACL(new Parse.ACL());
    await hidden.save(null, { useMasterKey: true });
    const client = await rawClient(t, server);
    await client.next('connected');
    client.send({
      op: 'subscribe', requestId: 1,
      query: { className: 'Message', where: { room }, keys: ['note.text', 'other'], include: ['other'] },
    });
    await client.next('subscribed');
    await new Parse.Object('Message').save({ room, note: open, other: hidden, skipped: 'x' }, { useMasterKey: true });
    const { object } = await client.next('create');
    assert.equal(object.note.__type, 'Object');
    assert.equal(object.note.text, 'readable');
    assert.deepEqual(object.other, { __type: 'Pointer', className: 'Note', objectId: hidden.id });
    assert.equal(object.skipped, undefined);
  });
});

describe('LiveQuery server options', () => {
  const live = useServer(
    {
      liveQuery: { classNames: ['Message'] },
      liveQueryServerOptions: { websocketTimeout: 300, keyPairs: { javascriptKey: 'live-key' } },
    },
    { sdk: false }
  );

  it('keyPairs are the keys a client connects with', async t => {
    const refused = await rawClient(t, live.server);
    const error = await refused.next('error');
    assert.equal(error.code, 4);
    const accepted = await rawClient(t, live.server, { javascriptKey: 'live-key' });
    await accepted.next('connected');
  });

  it('websocketTimeout: connections are pinged; a peer that stops answering is closed', async t => {
    const client = await rawClient(t, live.server, { javascriptKey: 'live-key' });
    await client.next('connected');
    let pings = 0;
    client.socket.on('ping', () => pings++);
    await new Promise(resolve => setTimeout(resolve, 1000));
    assert.ok(pings >= 2, `${pings} pings in a second, every 300 ms expected`);
    assert.equal(client.socket.readyState, WebSocket.OPEN, 'a peer that answers stays connected');
    client.socket._socket.pause();
    await new Promise(resolve => setTimeout(resolve, 1000));
    client.socket._socket.resume();
    await within(client.closed, 3000, 'the silent peer was not disconnected');
  });
});

describe('LiveQuery reconnects', () => {
  it("the SDK's client subscribes again after the server restarts, and hears new saves", async t => {
    // A fixed port, so that the restarted server is where the client left it.
    const port = await new Promise(resolve => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
    const server = await startServer({ port, liveQuery: { classNames: ['Message'] } });
    const { Parse } = ctx;
    const client = new Parse.LiveQueryClient({
      applicationId: server.appId,
      serverURL: server.url.replace(/^http/, 'ws'),
      javascriptKey: server.javascriptKey,
    });
    t.after(async () => {
      await client.close();
      await server.stop();
      server.cleanup();
    });
    client.open();
    const room = uniq('room');
    const query = new Parse.Query('Message').equalTo('room', room);
    const subscription = client.subscribe(query);
    await new Promise(resolve => subscription.on('open', resolve));
    const reopened = new Promise(resolve => subscription.on('open', resolve));
    await server.restart();
    assert.equal(new URL(server.url).port, String(port), 'the server came back on its port');
    await reopened;
    const events = recorder(subscription);
    const created = await server.request('POST', '/classes/Message', { auth: 'master', body: { room } });
    assert.equal(created.status, 201);
    const event = await events.next('create', 10000);
    assert.equal(event.object.id, created.json.objectId);
  });
});

describe('LiveQuery across servers', {
  skip: process.env.REPARSE_TEST_DATABASE !== 'postgres' && 'two servers share one database on PostgreSQL only',
}, () => {
  /**
   * Two servers on one database and one Redis: `writer` (reparse serve) and `listener` (started
   * with `command`), with a LiveQuery client of the listener; all closed when the test ends,
   * the client first (once its server is gone it would keep scheduling reconnects, and their
   * timers keep the test process alive).
   */
  async function redisPair(t, command) {
    const { Parse } = ctx;
    const writer = await startServer({ liveQuery: { classNames: ['Message'], redisURL: 'redis://127.0.0.1:6379' } });
    const listener = await startServer({ ...writer.config }, { command });
    const client = new Parse.LiveQueryClient({
      applicationId: listener.appId,
      serverURL: listener.url.replace(/^http/, 'ws'),
      javascriptKey: listener.javascriptKey,
    });
    t.after(async () => {
      await client.close();
      for (const server of [listener, writer]) {
        await server.stop();
        server.cleanup();
      }
    });
    client.open();
    return { writer, listener, client };
  }

  it('a subscriber on one server hears of a save made through another (Redis)', async t => {
    const { Parse } = ctx;
    const { writer, client } = await redisPair(t, 'serve');
    const room = uniq('room');
    const events = recorder(await subscribe(client, new Parse.Query('Message').equalTo('room', room)));
    const created = await writer.request('POST', '/classes/Message', { auth: 'master', body: { room, text: 'from the second server' } });
    assert.equal(created.status, 201);
    const event = await events.next('create');
    assert.equal(event.object.id, created.json.objectId);
    assert.equal(event.object.get('text'), 'from the second server');
    const moved = await writer.request('PUT', `/classes/Message/${created.json.objectId}`, { auth: 'master', body: { room: 'gone' } });
    assert.equal(moved.status, 200);
    await events.next('leave');
  });

  it('`reparse livequery` serves subscribers alone: writes reach it over Redis', async t => {
    const { Parse } = ctx;
    const { writer: api, listener: live, client } = await redisPair(t, 'livequery');
    // Only the WebSocket and the health check: no REST API there.
    assert.equal((await live.request('GET', '/health')).status, 200);
    assert.equal((await live.request('GET', '/classes/Message', { auth: 'master' })).status, 404);
    const room = uniq('room');
    const events = recorder(await subscribe(client, new Parse.Query('Message').equalTo('room', room)));
    const created = await api.request('POST', '/classes/Message', { auth: 'master', body: { room } });
    assert.equal(created.status, 201);
    const event = await events.next('create');
    assert.equal(event.object.id, created.json.objectId);
  });
});

describe('LiveQuery and slow clients', () => {
  const slow = useServer({ liveQuery: { classNames: ['Message'], queueLimit: 5 } }, { sdk: false });

  it('a client that stops reading is disconnected once its queue is full; others are served', async t => {
    const { server } = slow;
    const room = uniq('room');
    const client = await rawClient(t, server);
    await client.next('connected');
    client.send({ op: 'subscribe', requestId: 1, query: { className: 'Message', where: { room } } });
    await client.next('subscribed');
    // Stop reading: the server's writes back up into its queue.
    client.socket._socket.pause();
    const payload = 'x'.repeat(100 * 1024);
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(
        Array.from({ length: 4 }, () =>
          server.request('POST', '/classes/Message', { auth: 'master', body: { room, payload } })
        )
      );
    }
    client.socket._socket.resume();
    await within(client.closed, 10000, 'the slow client was not disconnected');
    const delivered = client.messages.filter(message => message.op === 'create').length;
    assert.ok(delivered < 200, `the slow client got everything (${delivered}): it was never cut off`);

    // The server goes on serving a client that reads.
    const fresh = await rawClient(t, server);
    await fresh.next('connected');
  });
});

describe('LiveQuery at scale', () => {
  const big = useServer({ liveQuery: { classNames: ['Message'] } }, { sdk: false });

  it('10,000 subscribers on one server each receive a save', { timeout: 240000 }, async t => {
    const { server } = big;
    const subscribers = 10000;
    const room = uniq('room');
    const url = server.url.replace(/^http/, 'ws');
    const connect = JSON.stringify({ op: 'connect', applicationId: server.appId, javascriptKey: server.javascriptKey });
    const subscribe = JSON.stringify({ op: 'subscribe', requestId: 1, query: { className: 'Message', where: { room } } });
    const sockets = [];
    t.after(() => sockets.forEach(socket => socket.terminate()));
    let received = 0;
    const open = () =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url, { perMessageDeflate: false });
        sockets.push(socket);
        socket.once('error', reject);
        socket.once('open', () => socket.send(connect));
        socket.on('message', data => {
          const message = JSON.parse(data.toString());
          if (message.op === 'connected') socket.send(subscribe);
          else if (message.op === 'subscribed') resolve();
          else if (message.op === 'create' && message.object.room === room) received++;
          else reject(new Error(`unexpected ${data}`));
        });
      });
    // 500 handshakes at a time: every subscriber is confirmed before the save.
    for (let done = 0; done < subscribers; done += 500) {
      await Promise.all(Array.from({ length: Math.min(500, subscribers - done) }, open));
    }
    const saved = await server.request('POST', '/classes/Message', { auth: 'master', body: { room } });
    assert.equal(saved.status, 201);
    await waitFor(() => received === subscribers, () => `${received} of ${subscribers} subscribers received the create event`, {
      ms: 60000,
      every: 50,
    });
  });
});
