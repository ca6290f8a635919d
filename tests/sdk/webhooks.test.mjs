// Webhooks (/hooks): cloud functions and triggers served by an HTTP endpoint of the test, as
// parse-server calls them: registration over REST with the master key, the request body,
// X-Parse-Webhook-Key, {success}/{error} answers, and the same trigger behaviours as cloud code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { useServer, uniq, assertParseError, assertStatus, expectParseError } from './harness.mjs';

const ctx = useServer({ webhookKey: 'hook-secret' });

// The endpoint: one handler per path; every call is recorded.
const calls = [];
const handlers = {
  '/hello': body => ({ success: `Hello, ${body.params.name}!` }),
  '/whoami': body => ({ success: { master: body.master, user: body.user ? body.user.username : null, functionName: body.functionName } }),
  '/fail': () => ({ error: { code: 9003, error: 'Endpoint says no' } }),
  '/item-before-save': body => {
    if (!body.object.stars) return { error: 'A webhook item needs stars' };
    return { success: { ...body.object, title: body.object.title.trim(), slug: body.object.title.trim().toLowerCase() } };
  },
  '/item-after-save': () => ({ success: true }),
  '/item-before-delete': body => (body.object.locked ? { error: { code: 119, error: 'Locked by the webhook' } } : { success: true }),
  '/item-after-delete': () => ({ success: true }),
  '/item-after-find': body => ({ success: body.objects.map(object => ({ ...object, seenBy: 'webhook' })) }),
};
let endpoint;
let baseUrl;

before(async () => {
  endpoint = createServer((req, res) => {
    let text = '';
    req.on('data', chunk => (text += chunk));
    req.on('end', () => {
      const body = JSON.parse(text);
      calls.push({ path: req.url, key: req.headers['x-parse-webhook-key'], body });
      const handler = handlers[req.url];
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(handler ? handler(body) : { error: 'no such hook' }));
    });
  });
  await new Promise(resolve => endpoint.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${endpoint.address().port}`;
});
after(() => endpoint.close());

async function register(server, body) {
  const res = await server.request('POST', `/hooks/${body.functionName ? 'functions' : 'triggers'}`, { auth: 'master', body });
  assertStatus(res, 200);
  return res.json;
}

describe('webhooks', () => {
  it('functions are registered, listed, called, updated and deleted', async () => {
    const { Parse, server } = ctx;
    const registered = await register(server, { functionName: 'webhookHello', url: `${baseUrl}/hello` });
    assert.deepEqual(registered, { functionName: 'webhookHello', url: `${baseUrl}/hello` });
    assert.equal(await Parse.Cloud.run('webhookHello', { name: 'Ann' }), 'Hello, Ann!');
    const call = calls.find(c => c.path === '/hello');
    assert.equal(call.key, 'hook-secret');
    assert.deepEqual(call.body.params, { name: 'Ann' });

    const listed = await server.request('GET', '/hooks/functions', { auth: 'master' });
    assert.deepEqual(listed.json, [{ functionName: 'webhookHello', url: `${baseUrl}/hello` }]);
    const again = await server.request('POST', '/hooks/functions', { auth: 'master', body: { functionName: 'webhookHello', url: 'http://x' } });
    assertParseError(again, 400, 143, 'function name: webhookHello already exists');

    await register(server, { functionName: 'webhookWho', url: `${baseUrl}/hello` });
    const moved = await server.request('PUT', '/hooks/functions/webhookWho', { auth: 'master', body: { url: `${baseUrl}/whoami` } });
    assert.deepEqual(moved.json, { functionName: 'webhookWho', url: `${baseUrl}/whoami` });
    assert.deepEqual(await Parse.Cloud.run('webhookWho', {}, { useMasterKey: true }), { master: true, user: null, functionName: 'webhookWho' });

    const deleted = await server.request('PUT', '/hooks/functions/webhookWho', { auth: 'master', body: { __op: 'Delete' } });
    assert.deepEqual(deleted.json, {});
    await expectParseError(Parse.Cloud.run('webhookWho'), 141, 'Invalid function: "webhookWho"');
    const missing = await server.request('GET', '/hooks/functions/webhookWho', { auth: 'master' });
    assertParseError(missing, 400, 143, 'no function named: webhookWho is defined');
  });

  it('an endpoint error keeps its code; the master key is required to manage hooks', async () => {
    const { Parse, server } = ctx;
    await register(server, { functionName: 'webhookFail', url: `${baseUrl}/fail` });
    await expectParseError(Parse.Cloud.run('webhookFail'), 9003, 'Endpoint says no');
    const refused = await server.request('GET', '/hooks/functions', { auth: 'rest' });
    assert.equal(refused.status, 403);
    const bad = await server.request('POST', '/hooks/triggers', { auth: 'master', body: { className: 'X', triggerName: 'beforeNothing', url: 'http://x' } });
    assertParseError(bad, 400, 143, 'invalid hook declaration');
  });

  it('trigger webhooks change saves, refuse writes and deletes, and see finds', async () => {
    const { Parse, server } = ctx;
    for (const [triggerName, path] of [
      ['beforeSave', '/item-before-save'],
      ['afterSave', '/item-after-save'],
      ['beforeDelete', '/item-before-delete'],
      ['afterDelete', '/item-after-delete'],
      ['afterFind', '/item-after-find'],
    ]) {
      await register(server, { className: 'WebhookItem', triggerName, url: `${baseUrl}${path}` });
    }
    const listed = await server.request('GET', '/hooks/triggers', { auth: 'master' });
    assert.equal(listed.json.length, 5);
    const one = await server.request('GET', '/hooks/triggers/WebhookItem/beforeSave', { auth: 'master' });
    assert.deepEqual(one.json, { className: 'WebhookItem', triggerName: 'beforeSave', url: `${baseUrl}/item-before-save` });

    const item = new Parse.Object('WebhookItem');
    await item.save({ title: '  Shiny  ', stars: 3 });
    assert.equal(item.get('title'), 'Shiny');
    assert.equal(item.get('slug'), 'shiny');
    const beforeCall = calls.filter(c => c.path === '/item-before-save').at(-1);
    assert.equal(beforeCall.body.triggerName, 'beforeSave');
    assert.equal(beforeCall.body.object.className, 'WebhookItem');
    const afterCall = calls.filter(c => c.path === '/item-after-save').at(-1);
    assert.equal(afterCall.body.object.objectId, item.id);
    assert.equal(afterCall.body.object.title, 'Shiny');

    item.increment('stars');
    await item.save();
    const updateCall = calls.filter(c => c.path === '/item-before-save').at(-1);
    assert.equal(updateCall.body.object.stars, 4, 'the webhook sees the increment applied');
    assert.equal(updateCall.body.original.stars, 3);

    await expectParseError(new Parse.Object('WebhookItem').save({ title: 'none' }), 141, 'A webhook item needs stars');

    const found = await new Parse.Query('WebhookItem').get(item.id);
    assert.equal(found.get('seenBy'), 'webhook');

    const locked = await new Parse.Object('WebhookItem').save({ title: 'keep', stars: 1, locked: true });
    await expectParseError(locked.destroy(), 119, 'Locked by the webhook');
    await item.destroy();
    assert.ok(calls.some(c => c.path === '/item-after-delete' && c.body.object.objectId === item.id));
  });
});
