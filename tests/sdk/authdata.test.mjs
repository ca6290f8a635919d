// authData: anonymous users and third-party providers (Google, Apple, an OpenID Connect issuer,
// Facebook, GitHub, Twitter, LinkedIn) against the local fakes of providers.mjs, through the
// SDK's logInWith / linkWith / _unlinkFrom and raw REST.
// Expectations: parse-server's src/RestWrite.js (validateAuthData, handleAuthData,
// createSessionToken), src/Auth.js (handleAuthDataValidation: 252 for a provider without an
// enabled adapter), src/Adapters/Auth/*.js (the adapters' 101/142 messages).
// On purpose, beyond parse-server: a user sees only the `id` of their own authData (parse-server
// echoes the stored tokens of JWT providers back to their owner); other users never see it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
  startServer,
  initParse,
  uniq,
  assertParseError,
  assertStatus,
  expectParseError,
  OBJECT_ID,
} from './harness.mjs';
import { startProviders } from './providers.mjs';

const ctx = { server: null, providers: null };
before(
  async () => {
    ctx.providers = await startProviders();
    ctx.server = await startServer({ auth: ctx.providers.authOption() });
  },
  { timeout: 40000 }
);
after(async () => {
  if (ctx.server) {
    await ctx.server.stop();
    ctx.server.cleanup();
  }
  if (ctx.providers) await ctx.providers.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const session = token => ({ 'X-Parse-Session-Token': token });
const unsupported = 'This authentication method is unsupported.';

async function sdk(server) {
  const Parse = initParse(server);
  Parse.User.enableUnsafeCurrentUser();
  await Parse.User.logOut().catch(() => {});
  return Parse;
}

async function countUsers(server) {
  const res = await server.request('GET', '/users', { auth: 'master', query: { count: 1, limit: 0 } });
  assertStatus(res, 200);
  return res.json.count;
}

async function storedUser(server, id) {
  const res = await server.request('GET', `/users/${id}`, { auth: 'master' });
  assertStatus(res, 200);
  return res.json;
}

async function signUpWithPassword(server) {
  const username = uniq('pw');
  const password = `pw-${uniq('p')}`;
  const res = await server.request('POST', '/users', { body: { username, password } });
  assertStatus(res, 201);
  return { id: res.json.objectId, token: res.json.sessionToken, username, password };
}

/** The token-like values of an authData object (what must never be shown back). */
function secretsOf(authData) {
  return Object.entries(authData)
    .filter(([key]) => /token|secret|code|verifier/i.test(key))
    .map(([, value]) => String(value));
}

function assertNoSecret(res, authData) {
  for (const secret of secretsOf(authData)) {
    assert.ok(!res.text.includes(secret), `a credential was echoed back: ${res.status} ${res.text}`);
  }
}

// Each provider: fresh valid authData for an account id, invalid variants with the expected
// error, and the id shape the provider uses.
const PROVIDERS = {
  google: {
    newId: () => uniq('google-sub'),
    valid: id => ({ id, id_token: ctx.providers.tokens.google(id) }),
    invalid: [
      { what: 'a forged signature', data: id => ({ id, id_token: ctx.providers.tokens.google(id, { forge: true }) }), code: 101, message: 'invalid signature' },
      { what: "another account's token", data: id => ({ id, id_token: ctx.providers.tokens.google(`${id}-other`) }), code: 101, message: 'auth data is invalid for this user.' },
      { what: 'an expired token', data: id => ({ id, id_token: ctx.providers.tokens.google(id, { expiresIn: -3600 }) }), code: 101, message: 'jwt expired' },
    ],
  },
  apple: {
    newId: () => uniq('apple-sub'),
    valid: id => ({ id, token: ctx.providers.tokens.apple(id) }),
    invalid: [
      { what: 'a forged signature', data: id => ({ id, token: ctx.providers.tokens.apple(id, { forge: true }) }), code: 101, message: 'invalid signature' },
      { what: 'another audience', data: id => ({ id, token: ctx.providers.tokens.apple(id, { audience: 'com.someone.else' }) }), code: 101, message: /audience/ },
    ],
  },
  oidc: {
    newId: () => uniq('oidc-sub'),
    valid: id => ({ id, id_token: ctx.providers.tokens.oidc(id, { alg: 'ES256' }) }),
    invalid: [
      { what: 'a forged signature', data: id => ({ id, id_token: ctx.providers.tokens.oidc(id, { forge: true }) }), code: 101, message: 'invalid signature' },
      { what: 'another issuer', data: id => ({ id, id_token: ctx.providers.tokens.oidc(id, { issuer: 'https://evil.example' }) }), code: 101, message: /issuer|not issued/ },
    ],
  },
  facebook: {
    newId: () => String(randomInt(1e9, 9e9)),
    valid: id => ({ id, access_token: ctx.providers.facebookToken(id) }),
    invalid: [
      { what: 'an unknown access token', data: id => ({ id, access_token: 'EAAB-not-a-token' }), code: 101, message: 'Facebook auth is invalid for this user.' },
      { what: "another account's token", data: id => ({ id, access_token: ctx.providers.facebookToken(`${id}0`) }), code: 101, message: 'Facebook auth is invalid for this user.' },
    ],
  },
  github: {
    newId: () => String(randomInt(1e6, 9e6)),
    valid: id => ({ id, access_token: ctx.providers.githubToken(id) }),
    invalid: [
      // parse-server's GitHub adapter: VALIDATION_ERROR when the user cannot be fetched.
      { what: 'an unknown access token', data: id => ({ id, access_token: 'gho-not-a-token' }), code: 142, message: 'Failed to fetch GitHub user: Unauthorized' },
      { what: "another account's token", data: id => ({ id, access_token: ctx.providers.githubToken(Number(id) + 1) }), code: 101, message: 'GitHub auth is invalid for this user.' },
    ],
  },
  twitter: {
    newId: () => String(randomInt(1e9, 9e9)),
    valid: id => ctx.providers.twitterCredentials(id),
    invalid: [
      { what: 'a wrong token secret', data: id => ({ ...ctx.providers.twitterCredentials(id), auth_token_secret: 'wrong-secret' }), code: 101, message: 'Twitter auth is invalid for this user.' },
      { what: "another account's token", data: id => ({ ...ctx.providers.twitterCredentials(`${id}0`), id }), code: 101, message: 'Twitter auth is invalid for this user.' },
    ],
  },
  linkedin: {
    newId: () => uniq('li'),
    valid: id => ({ id, access_token: ctx.providers.linkedinToken(id) }),
    invalid: [
      { what: 'an unknown access token', data: id => ({ id, access_token: 'li-not-a-token' }), code: 101, message: 'LinkedIn API request failed.' },
      { what: "another account's token", data: id => ({ id, access_token: ctx.providers.linkedinToken(`${id}-other`) }), code: 101, message: 'LinkedIn auth is invalid for this user.' },
    ],
  },
};

// ---------------------------------------------------------------------------------------------

describe('anonymous users', () => {
  it('Parse.AnonymousUtils.logIn signs up an anonymous user; the same id logs it in again', async () => {
    const { server } = ctx;
    const Parse = await sdk(server);
    const before = await countUsers(server);
    const user = await Parse.AnonymousUtils.logIn();
    assert.match(user.id, OBJECT_ID);
    assert.match(user.getSessionToken(), /^r:/);
    assert.equal(typeof user.get('username'), 'string');
    assert.ok(user.get('username').length > 0);
    assert.equal(Parse.AnonymousUtils.isLinked(user), true);
    assert.equal(Parse.User.current().id, user.id);
    assert.equal(await countUsers(server), before + 1);

    const anonymousId = user.get('authData').anonymous.id;
    const again = await server.request('POST', '/users', { body: { authData: { anonymous: { id: anonymousId } } } });
    assertStatus(again, 200);
    assert.equal(again.json.objectId, user.id);
    assert.match(again.json.sessionToken, /^r:/);
    assert.deepEqual(again.json.authData, { anonymous: { id: anonymousId } });
    assert.equal(await countUsers(server), before + 1);
    const me = await server.request('GET', '/users/me', { headers: session(again.json.sessionToken) });
    assertStatus(me, 200);
    assert.equal(me.json.objectId, user.id);
    await Parse.User.logOut();
  });

  it('POST /users with anonymous authData answers 201 with a generated username', async () => {
    const { server } = ctx;
    const res = await server.request('POST', '/users', { body: { authData: { anonymous: { id: uniq('anon') } } } });
    assertStatus(res, 201);
    assert.match(res.json.objectId, OBJECT_ID);
    assert.match(res.json.sessionToken, /^r:/);
    assert.equal(typeof res.json.username, 'string', res.text);
    assert.ok(res.json.username.length >= 10, res.text);
  });

  it('an anonymous user upgrades to username and password', async () => {
    const { server } = ctx;
    const Parse = await sdk(server);
    const anonymous = await Parse.AnonymousUtils.logIn();
    const anonymousId = anonymous.get('authData').anonymous.id;
    const username = uniq('upgraded');
    const password = `pw-${uniq('p')}`;
    anonymous.setUsername(username);
    anonymous.setPassword(password);
    await anonymous.save();
    assert.equal(Parse.AnonymousUtils.isLinked(anonymous), false);
    await Parse.User.logOut();

    const loggedIn = await Parse.User.logIn(username, password);
    assert.equal(loggedIn.id, anonymous.id);
    const stored = await storedUser(server, anonymous.id);
    assert.equal(stored.username, username);
    assert.equal(stored.authData?.anonymous, undefined, JSON.stringify(stored));
    await Parse.User.logOut();

    // The anonymous id no longer leads to that user.
    const again = await server.request('POST', '/users', { body: { authData: { anonymous: { id: anonymousId } } } });
    assertStatus(again, 201);
    assert.notEqual(again.json.objectId, anonymous.id);
  });

  it('a password user cannot take over an anonymous account linked to someone else: 208', async () => {
    const { server } = ctx;
    const anonymousId = uniq('anon');
    const owner = await server.request('POST', '/users', { body: { authData: { anonymous: { id: anonymousId } } } });
    assertStatus(owner, 201);
    const other = await signUpWithPassword(server);
    assertParseError(
      await server.request('PUT', `/users/${other.id}`, {
        body: { authData: { anonymous: { id: anonymousId } } },
        headers: session(other.token),
      }),
      400,
      208,
      'this auth is already used'
    );
  });
});

describe('enableAnonymousUsers: false, a disabled and an unconfigured provider', () => {
  const own = { server: null };
  before(async () => {
    own.server = await startServer({
      enableAnonymousUsers: false,
      auth: ctx.providers.authOption({ google: { enabled: false }, apple: undefined }),
    });
  });
  after(async () => {
    if (own.server) {
      await own.server.stop();
      own.server.cleanup();
    }
  });

  it('anonymous log-in answers 252 and creates nobody', async () => {
    const { server } = own;
    const Parse = await sdk(server);
    await expectParseError(Parse.AnonymousUtils.logIn(), 252, unsupported);
    assertParseError(
      await server.request('POST', '/users', { body: { authData: { anonymous: { id: uniq('anon') } } } }),
      400,
      252,
      unsupported
    );
    assert.equal(await countUsers(server), 0);
    assert.equal(Parse.User.current(), null);
  });

  it('a provider with enabled: false answers 252, for sign-up and for linking', async () => {
    const { server } = own;
    const Parse = await sdk(server);
    const id = uniq('google-sub');
    await expectParseError(Parse.User.logInWith('google', { authData: PROVIDERS.google.valid(id) }), 252, unsupported);
    const user = await signUpWithPassword(server);
    assertParseError(
      await server.request('PUT', `/users/${user.id}`, {
        body: { authData: { google: PROVIDERS.google.valid(id) } },
        headers: session(user.token),
      }),
      400,
      252,
      unsupported
    );
    assert.equal((await storedUser(server, user.id)).authData, undefined);
    assert.equal(await countUsers(server), 1);
    // The other providers still work.
    const fb = PROVIDERS.facebook.newId();
    const ok = await Parse.User.logInWith('facebook', { authData: PROVIDERS.facebook.valid(fb) });
    assert.match(ok.id, OBJECT_ID);
    await Parse.User.logOut();
  });

  it('a built-in provider without its settings refuses with 101 "… auth is not configured."', async () => {
    const { server } = own;
    const id = uniq('apple-sub');
    const before = await countUsers(server);
    assertParseError(
      await server.request('POST', '/users', { body: { authData: { apple: PROVIDERS.apple.valid(id) } } }),
      404,
      101,
      'Apple auth is not configured.'
    );
    assert.equal(await countUsers(server), before);
  });
});

describe('unknown providers and malformed authData', () => {
  it('a provider nobody configured answers 252', async () => {
    const { server } = ctx;
    const Parse = await sdk(server);
    const before = await countUsers(server);
    await expectParseError(Parse.User.logInWith('myprovider', { authData: { id: 'x1', token: 't' } }), 252, unsupported);
    assertParseError(
      await server.request('POST', '/users', { body: { authData: { myprovider: { id: 'x1', token: 't' } } } }),
      400,
      252,
      unsupported
    );
    const user = await signUpWithPassword(server);
    assertParseError(
      await server.request('PUT', `/users/${user.id}`, {
        body: { authData: { myprovider: { id: 'x1' } } },
        headers: session(user.token),
      }),
      400,
      252,
      unsupported
    );
    assert.equal(await countUsers(server), before + 1);
  });

  it('authData that is not an object of objects is refused; nobody is created', async () => {
    const { server } = ctx;
    const before = await countUsers(server);
    for (const authData of [{ google: 'a-string' }, { google: 42 }, 'text', [1]]) {
      const res = await server.request('POST', '/users', { body: { authData } });
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(authData)}: ${res.status} ${res.text}`);
      assert.ok(res.json && Number.isInteger(res.json.code) && res.json.code > 0, res.text);
    }
    assert.equal(await countUsers(server), before);
  });
});

for (const [name, provider] of Object.entries(PROVIDERS)) {
  describe(`${name}`, () => {
    it('logInWith signs up a new user; the same account logs the same user in', async () => {
      const { server } = ctx;
      const Parse = await sdk(server);
      const accountId = provider.newId();
      const before = await countUsers(server);
      const first = provider.valid(accountId);
      const user = await Parse.User.logInWith(name, { authData: first });
      assert.match(user.id, OBJECT_ID);
      assert.match(user.getSessionToken(), /^r:/);
      assert.equal(Parse.User.current().id, user.id);
      assert.equal(user._isLinked(name), true);
      assert.equal(typeof user.get('username'), 'string');
      assert.equal(await countUsers(server), before + 1);
      const created = await server.request('GET', '/sessions/me', { headers: session(user.getSessionToken()) });
      assertStatus(created, 200);
      // parse-server's RestWrite.createSessionToken: a sign-up through a provider is a login.
      assert.deepEqual(created.json.createdWith, { action: 'login', authProvider: name }, created.text);
      await Parse.User.logOut();

      // Again through the SDK, with fresh credentials of the same account.
      const again = await Parse.User.logInWith(name, { authData: provider.valid(accountId) });
      assert.equal(again.id, user.id);
      assert.notEqual(again.getSessionToken(), user.getSessionToken());
      await Parse.User.logOut();

      // And over REST: 200 (not 201), the user, a session token, no credentials echoed.
      const data = provider.valid(accountId);
      const res = await server.request('POST', '/users', { body: { authData: { [name]: data } } });
      assertStatus(res, 200);
      assert.equal(res.json.objectId, user.id);
      assert.match(res.json.sessionToken, /^r:/);
      assert.equal(String(res.json.authData?.[name]?.id), String(accountId), res.text);
      assertNoSecret(res, data);
      const me = await server.request('GET', '/users/me', { headers: session(res.json.sessionToken) });
      assertStatus(me, 200);
      assert.equal(me.json.objectId, user.id);
      assertNoSecret(me, data);
      assert.equal(await countUsers(server), before + 1);
    });

    it('sign-up over REST answers 201 without echoing the credentials', async () => {
      const { server } = ctx;
      const data = provider.valid(provider.newId());
      const res = await server.request('POST', '/users', { body: { authData: { [name]: data } } });
      assertStatus(res, 201);
      assert.match(res.json.objectId, OBJECT_ID);
      assert.match(res.json.sessionToken, /^r:/);
      assert.equal(typeof res.json.username, 'string', res.text);
      assertNoSecret(res, data);
      const self = await server.request('GET', `/users/${res.json.objectId}`, { headers: session(res.json.sessionToken) });
      assertStatus(self, 200);
      assert.deepEqual(Object.keys(self.json.authData || {}), [name], self.text);
      assertNoSecret(self, data);
    });

    it('linkWith links the account to the logged-in user; it then logs that user in', async () => {
      const { server } = ctx;
      const Parse = await sdk(server);
      const owner = await signUpWithPassword(server);
      const user = await Parse.User.logIn(owner.username, owner.password);
      const accountId = provider.newId();
      const data = provider.valid(accountId);
      await user.linkWith(name, { authData: data });
      assert.equal(user._isLinked(name), true);
      assert.equal(user.getSessionToken() !== undefined, true);
      const stored = await storedUser(server, owner.id);
      assert.equal(String(stored.authData?.[name]?.id), String(accountId), JSON.stringify(stored));
      const self = await server.request('GET', '/users/me', { headers: session(user.getSessionToken()) });
      assertStatus(self, 200);
      assertNoSecret(self, data);
      await Parse.User.logOut();

      const viaProvider = await Parse.User.logInWith(name, { authData: provider.valid(accountId) });
      assert.equal(viaProvider.id, owner.id);
      await Parse.User.logOut();
      // The password still works.
      const viaPassword = await Parse.User.logIn(owner.username, owner.password);
      assert.equal(viaPassword.id, owner.id);
      await Parse.User.logOut();
    });

    it('an account linked to another user cannot be linked again: 208', async () => {
      const { server } = ctx;
      const accountId = provider.newId();
      const first = await server.request('POST', '/users', { body: { authData: { [name]: provider.valid(accountId) } } });
      assertStatus(first, 201);
      const other = await signUpWithPassword(server);

      const Parse = await sdk(server);
      const user = await Parse.User.logIn(other.username, other.password);
      await expectParseError(user.linkWith(name, { authData: provider.valid(accountId) }), 208, 'this auth is already used');
      await Parse.User.logOut();
      assertParseError(
        await server.request('PUT', `/users/${other.id}`, {
          body: { authData: { [name]: provider.valid(accountId) } },
          headers: session(other.token),
        }),
        400,
        208,
        'this auth is already used'
      );
      assert.equal((await storedUser(server, other.id)).authData?.[name], undefined);
      // The account still logs its own user in.
      const again = await server.request('POST', '/users', { body: { authData: { [name]: provider.valid(accountId) } } });
      assertStatus(again, 200);
      assert.equal(again.json.objectId, first.json.objectId);
    });

    it('unlinking (authData.<provider>: null) detaches the account', async () => {
      const { server } = ctx;
      const Parse = await sdk(server);
      const owner = await signUpWithPassword(server);
      const user = await Parse.User.logIn(owner.username, owner.password);
      const accountId = provider.newId();
      await user.linkWith(name, { authData: provider.valid(accountId) });
      await user._unlinkFrom(name);
      assert.equal(user._isLinked(name), false);
      assert.equal((await storedUser(server, owner.id)).authData?.[name], undefined);
      await Parse.User.logOut();
      // The account now signs up a new user.
      const fresh = await server.request('POST', '/users', { body: { authData: { [name]: provider.valid(accountId) } } });
      assertStatus(fresh, 201);
      assert.notEqual(fresh.json.objectId, owner.id);

      // Over REST, by the user that has it.
      const res = await server.request('PUT', `/users/${fresh.json.objectId}`, {
        body: { authData: { [name]: null } },
        headers: session(fresh.json.sessionToken),
      });
      assertStatus(res, 200);
      assert.equal((await storedUser(server, fresh.json.objectId)).authData?.[name], undefined);
    });

    for (const bad of provider.invalid) {
      it(`${bad.what}: ${bad.code}, and no user is created or linked`, async () => {
        const { server } = ctx;
        const Parse = await sdk(server);
        const accountId = provider.newId();
        const before = await countUsers(server);
        await expectParseError(Parse.User.logInWith(name, { authData: bad.data(accountId) }), bad.code, bad.message);
        assert.equal(Parse.User.current(), null);
        const res = await server.request('POST', '/users', { body: { authData: { [name]: bad.data(accountId) } } });
        assertParseError(res, bad.code === 101 ? 404 : 400, bad.code, bad.message);
        assert.equal(await countUsers(server), before);

        // Nor linked to an existing user.
        const owner = await signUpWithPassword(server);
        assertParseError(
          await server.request('PUT', `/users/${owner.id}`, {
            body: { authData: { [name]: bad.data(accountId) } },
            headers: session(owner.token),
          }),
          bad.code === 101 ? 404 : 400,
          bad.code,
          bad.message
        );
        assert.equal((await storedUser(server, owner.id)).authData, undefined);
      });
    }

    it('a bad credential for an account that is already linked does not log its user in', async () => {
      const { server } = ctx;
      const accountId = provider.newId();
      const first = await server.request('POST', '/users', { body: { authData: { [name]: provider.valid(accountId) } } });
      assertStatus(first, 201);
      const bad = provider.invalid[0];
      const res = await server.request('POST', '/users', { body: { authData: { [name]: bad.data(accountId) } } });
      assertParseError(res, bad.code === 101 ? 404 : 400, bad.code, bad.message);
      // Only the id, without any credential: refused too.
      const bare = await server.request('POST', '/users', { body: { authData: { [name]: { id: accountId } } } });
      assert.ok(bare.status >= 400, `authData with only an id must not log in: ${bare.status} ${bare.text}`);
      assert.equal(bare.json.sessionToken, undefined);
    });
  });
}

describe('other code paths of the providers', () => {
  it('GitHub: a code and an access token of one account reach the same user', async () => {
    const { server } = ctx;
    const Parse = await sdk(server);
    const accountId = Number(PROVIDERS.github.newId());
    const byCode = await Parse.User.logInWith('github', { authData: { code: ctx.providers.githubCode(accountId) } });
    assert.match(byCode.id, OBJECT_ID);
    await Parse.User.logOut();
    const stored = await storedUser(server, byCode.id);
    assert.equal(String(stored.authData.github.id), String(accountId));
    assert.equal(stored.authData.github.code, undefined, 'the code is not stored');
    const byToken = await Parse.User.logInWith('github', {
      authData: { id: accountId, access_token: ctx.providers.githubToken(accountId) },
    });
    assert.equal(byToken.id, byCode.id);
    await Parse.User.logOut();
    // A code is single-use.
    const code = ctx.providers.githubCode(accountId);
    const once = await server.request('POST', '/users', { body: { authData: { github: { code } } } });
    assertStatus(once, 200);
    assert.equal(once.json.objectId, byCode.id);
    assertNoSecret(once, { code });
    const twice = await server.request('POST', '/users', { body: { authData: { github: { code } } } });
    assertParseError(twice, 404, 101);
  });

  it('GitHub: the account id given as text or as a number is one account', async () => {
    const { server } = ctx;
    const accountId = Number(PROVIDERS.github.newId());
    const byCode = await server.request('POST', '/users', {
      body: { authData: { github: { code: ctx.providers.githubCode(accountId) } } },
    });
    assertStatus(byCode, 201);
    const before = await countUsers(server);
    const asText = await server.request('POST', '/users', {
      body: { authData: { github: { id: String(accountId), access_token: ctx.providers.githubToken(accountId) } } },
    });
    // Either the same user (Reparse compares ids as text) or a refusal, never a second user
    // linked to the same GitHub account.
    if (asText.status < 300) assert.equal(asText.json.objectId, byCode.json.objectId, asText.text);
    assert.equal(await countUsers(server), before, `a second user was created: ${asText.text}`);
  });

  it('LinkedIn: a code (with redirect_uri) signs up; an access token of the account logs in', async () => {
    const { server } = ctx;
    const accountId = PROVIDERS.linkedin.newId();
    const code = ctx.providers.linkedinCode(accountId);
    const res = await server.request('POST', '/users', {
      body: { authData: { linkedin: { code, redirect_uri: 'https://app.example/callback' } } },
    });
    assertStatus(res, 201);
    assertNoSecret(res, { code });
    const stored = await storedUser(server, res.json.objectId);
    assert.equal(stored.authData.linkedin.id, accountId);
    const again = await server.request('POST', '/users', {
      body: { authData: { linkedin: { id: accountId, access_token: ctx.providers.linkedinToken(accountId) } } },
    });
    assertStatus(again, 200);
    assert.equal(again.json.objectId, res.json.objectId);
  });

  it('Twitter: oauth_token + oauth_verifier signs up; the access token then logs in', async () => {
    const { server } = ctx;
    const accountId = PROVIDERS.twitter.newId();
    const request = ctx.providers.twitterRequestToken(accountId);
    const res = await server.request('POST', '/users', { body: { authData: { twitter: request } } });
    assertStatus(res, 201);
    assertNoSecret(res, request);
    const stored = await storedUser(server, res.json.objectId);
    assert.equal(stored.authData.twitter.id, accountId);
    const again = await server.request('POST', '/users', {
      body: { authData: { twitter: ctx.providers.twitterCredentials(accountId) } },
    });
    assertStatus(again, 200);
    assert.equal(again.json.objectId, res.json.objectId);
    // The request token was spent.
    const replay = await server.request('POST', '/users', { body: { authData: { twitter: request } } });
    assertParseError(replay, 404, 101);
  });

  it('Facebook Limited Login (a JWT) and a Graph API token of one account are one user', async () => {
    const { server } = ctx;
    const accountId = PROVIDERS.facebook.newId();
    const token = ctx.providers.tokens.facebook(accountId);
    const limited = await server.request('POST', '/users', { body: { authData: { facebook: { id: accountId, token } } } });
    assertStatus(limited, 201);
    assertNoSecret(limited, { token });
    const graph = await server.request('POST', '/users', {
      body: { authData: { facebook: PROVIDERS.facebook.valid(accountId) } },
    });
    assertStatus(graph, 200);
    assert.equal(graph.json.objectId, limited.json.objectId);
    assertParseError(
      await server.request('POST', '/users', {
        body: { authData: { facebook: { id: accountId, token: ctx.providers.tokens.facebook(accountId, { forge: true }) } } },
      }),
      404,
      101,
      'invalid signature'
    );
  });

  it('OIDC: RS256 tokens work too; a token for another client is refused', async () => {
    const { server } = ctx;
    const accountId = PROVIDERS.oidc.newId();
    const rs = await server.request('POST', '/users', {
      body: { authData: { oidc: { id: accountId, id_token: ctx.providers.tokens.oidc(accountId) } } },
    });
    assertStatus(rs, 201);
    const es = await server.request('POST', '/users', { body: { authData: { oidc: PROVIDERS.oidc.valid(accountId) } } });
    assertStatus(es, 200);
    assert.equal(es.json.objectId, rs.json.objectId);
    assertParseError(
      await server.request('POST', '/users', {
        body: { authData: { oidc: { id: accountId, id_token: ctx.providers.tokens.oidc(accountId, { audience: 'someone-else' }) } } },
      }),
      404,
      101,
      /audience/
    );
  });
});

describe("authData and the caller's session", () => {
  it("logging in with another user's account while holding a session answers 208", async () => {
    // parse-server RestWrite.handleAuthData: the account's user is not the caller.
    const { server } = ctx;
    const accountId = PROVIDERS.google.newId();
    const owner = await server.request('POST', '/users', { body: { authData: { google: PROVIDERS.google.valid(accountId) } } });
    assertStatus(owner, 201);
    const caller = await signUpWithPassword(server);
    const res = await server.request('POST', '/users', {
      body: { authData: { google: PROVIDERS.google.valid(accountId) } },
      headers: session(caller.token),
    });
    assertParseError(res, 400, 208, 'this auth is already used');
  });

  it('an anonymous user links a provider: the anonymous link is dropped, the user kept', async () => {
    const { server } = ctx;
    const Parse = await sdk(server);
    const anonymous = await Parse.AnonymousUtils.logIn();
    const anonymousId = anonymous.get('authData').anonymous.id;
    const accountId = PROVIDERS.google.newId();
    await anonymous.linkWith('google', { authData: PROVIDERS.google.valid(accountId) });
    assert.equal(Parse.AnonymousUtils.isLinked(anonymous), false);
    assert.equal(anonymous._isLinked('google'), true);
    const stored = await storedUser(server, anonymous.id);
    assert.equal(stored.authData?.anonymous, undefined, JSON.stringify(stored));
    assert.equal(stored.authData?.google?.id, accountId, JSON.stringify(stored));
    await Parse.User.logOut();
    const viaGoogle = await Parse.User.logInWith('google', { authData: PROVIDERS.google.valid(accountId) });
    assert.equal(viaGoogle.id, anonymous.id);
    await Parse.User.logOut();
    const viaAnonymous = await server.request('POST', '/users', { body: { authData: { anonymous: { id: anonymousId } } } });
    assertStatus(viaAnonymous, 201);
    assert.notEqual(viaAnonymous.json.objectId, anonymous.id);
  });
});

describe('who sees authData', () => {
  it('other users never see it, not by get, find or include; the owner sees ids only', async () => {
    const { server } = ctx;
    const accountId = PROVIDERS.google.newId();
    const data = PROVIDERS.google.valid(accountId);
    const owner = await server.request('POST', '/users', { body: { authData: { google: data } } });
    assertStatus(owner, 201);
    const ownerId = owner.json.objectId;
    const ownerToken = owner.json.sessionToken;
    // Make the user publicly readable, so that only the authData rule hides it.
    assertStatus(
      await server.request('PUT', `/users/${ownerId}`, {
        body: { ACL: { '*': { read: true }, [ownerId]: { read: true, write: true } }, nickname: 'owner' },
        headers: session(ownerToken),
      }),
      200
    );
    const other = await signUpWithPassword(server);

    const got = await server.request('GET', `/users/${ownerId}`, { headers: session(other.token) });
    assertStatus(got, 200);
    assert.equal(got.json.nickname, 'owner');
    assert.equal(got.json.authData, undefined, got.text);
    const anonymous = await server.request('GET', `/users/${ownerId}`);
    assertStatus(anonymous, 200);
    assert.equal(anonymous.json.authData, undefined, anonymous.text);
    const found = await server.request('GET', '/users', { headers: session(other.token), query: { where: { objectId: ownerId } } });
    assert.equal(found.json.results.length, 1, found.text);
    assert.equal(found.json.results[0].authData, undefined, found.text);
    const cls = uniq('Post');
    assertStatus(
      await server.request('POST', `/classes/${cls}`, {
        body: { author: { __type: 'Pointer', className: '_User', objectId: ownerId } },
        headers: session(ownerToken),
      }),
      201
    );
    const included = await server.request('GET', `/classes/${cls}`, { headers: session(other.token), query: { include: 'author' } });
    assertStatus(included, 200);
    assert.equal(included.json.results[0].author.nickname, 'owner', included.text);
    assert.equal(included.json.results[0].author.authData, undefined, included.text);
    for (const res of [got, anonymous, found, included]) assertNoSecret(res, data);

    // Querying by authData is not a way to find out who has an account.
    const probe = await server.request('GET', '/users', {
      headers: session(other.token),
      query: { where: { 'authData.google.id': accountId } },
    });
    assert.ok(probe.status >= 400 || probe.json.results.every(u => u.authData === undefined), probe.text);

    // The owner sees the ids of their accounts, not the tokens.
    const self = await server.request('GET', '/users/me', { headers: session(ownerToken) });
    assertStatus(self, 200);
    assert.deepEqual(self.json.authData, { google: { id: accountId } }, self.text);
    assertNoSecret(self, data);

    // The SDK's fetch as another user shows no authData either.
    const Parse = await sdk(server);
    const fetched = await new Parse.Query(Parse.User).get(ownerId, { sessionToken: other.token });
    assert.equal(fetched.get('authData'), undefined);
  });
});
