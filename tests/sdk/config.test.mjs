// Parse Config: GET and PUT /config (parse-server src/Routers/GlobalConfigRouter.js), through
// Parse.Config in the SDK and raw REST. Runs against parse-server too
// (REPARSE_BIN=reference/parse-server-serve.mjs).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, assertMasterKeyRequired, assertParseError, assertStatus, detailedOrSanitized } from './harness.mjs';

const ctx = useServer({ readOnlyMasterKey: 'config-read-only-master' });

describe('Parse Config', () => {
  it('an app without a config has no parameters', async () => {
    const { server, Parse } = ctx;
    const res = await server.request('GET', '/config', { auth: 'js' });
    assertStatus(res, 200);
    assert.deepEqual(res.json, { params: {} });
    const config = await Parse.Config.get();
    assert.equal(config.get('anything'), undefined);
  });

  it('saved with the master key, read by clients without the master-only parameters', async () => {
    const { server, Parse } = ctx;
    const launched = new Date('2026-05-06T07:08:09.010Z');
    await Parse.Config.save(
      { welcome: 'Hello', limits: { daily: 5 }, launched, tags: ['a', 'b'], secret: 'only-master' },
      { secret: true }
    );
    const config = await Parse.Config.get();
    assert.equal(config.get('welcome'), 'Hello');
    assert.deepEqual(config.get('limits'), { daily: 5 });
    assert.deepEqual(config.get('tags'), ['a', 'b']);
    assert.ok(config.get('launched') instanceof Date);
    assert.equal(config.get('launched').toISOString(), launched.toISOString());
    assert.equal(config.get('secret'), undefined, 'a master-only parameter is not shown to clients');
    assert.equal(Parse.Config.current().get('welcome'), 'Hello', 'the SDK keeps the last config it read');

    const asClient = await server.request('GET', '/config', { auth: 'rest' });
    assert.equal(asClient.json.params.secret, undefined);
    assert.deepEqual(asClient.json.masterKeyOnly, { welcome: false, limits: false, launched: false, tags: false });
    const asMaster = await server.request('GET', '/config', { auth: 'master' });
    assert.equal(asMaster.json.params.secret, 'only-master');
    assert.deepEqual(asMaster.json.params.launched, { __type: 'Date', iso: launched.toISOString() });
    assert.equal(asMaster.json.masterKeyOnly.secret, true);
  });

  it('an update keeps the parameters it does not name, and Delete removes one', async () => {
    const { server } = ctx;
    let res = await server.request('PUT', '/config', {
      auth: 'master',
      body: { params: { welcome: 'Hi again', extra: 1 } },
    });
    assertStatus(res, 200);
    assert.deepEqual(res.json, { result: true });
    res = await server.request('PUT', '/config', { auth: 'master', body: { params: { extra: { __op: 'Delete' } } } });
    assertStatus(res, 200);
    const { json } = await server.request('GET', '/config', { auth: 'master' });
    assert.equal(json.params.welcome, 'Hi again');
    assert.equal('extra' in json.params, false);
    assert.equal(json.params.secret, 'only-master');
    assert.equal(json.masterKeyOnly.secret, true, 'an update that does not name it keeps it master-only');
  });

  it('only the master key writes it, and not the read-only one', async () => {
    const { server } = ctx;
    for (const auth of ['js', 'rest']) {
      assertMasterKeyRequired(await server.request('PUT', '/config', { auth, body: { params: { welcome: 'x' } } }));
    }
    const readOnly = await server.request('PUT', '/config', {
      headers: {
        'X-Parse-Application-Id': server.appId,
        'X-Parse-Master-Key': 'config-read-only-master',
      },
      auth: 'none',
      body: { params: { welcome: 'x' } },
    });
    assertParseError(readOnly, 400, 119, detailedOrSanitized("read-only masterKey isn't allowed to update the config."));
    const { json } = await server.request('GET', '/config', { auth: 'master' });
    assert.equal(json.params.welcome, 'Hi again');
  });
});
