// Self-check of the fake providers in providers.mjs, without the reparse binary:
//   node --test providers.selftest.mjs
// (Not named *.test.mjs: the SDK suite's glob does not pick it up.)

import assert from 'node:assert/strict';
import { createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startProviders } from './providers.mjs';

let providers;
before(async () => {
  providers = await startProviders();
});
after(async () => {
  await providers.close();
});

const get = async (path, headers = {}) => {
  const res = await fetch(`${providers.url}${path}`, { headers });
  return { status: res.status, body: await res.json().catch(() => null) };
};

async function verifyJwt(jwksPath, token) {
  const [head, body, signature] = token.split('.');
  const header = JSON.parse(Buffer.from(head, 'base64url'));
  const { body: set } = await get(jwksPath);
  const jwk = set.keys.find((key) => key.kid === header.kid);
  if (!jwk) return false;
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const options = header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
  return verify('sha256', Buffer.from(`${head}.${body}`), options, Buffer.from(signature, 'base64url'));
}

test('tokens verify against the published keys; forgeries and rotated-out keys do not', async () => {
  const claims = JSON.parse(Buffer.from(providers.tokens.google('u1').split('.')[1], 'base64url'));
  assert.equal(claims.sub, 'u1');
  assert.equal(claims.aud, providers.clients.google);
  assert.equal(await verifyJwt('/google/jwks', providers.tokens.google('u1')), true);
  assert.equal(await verifyJwt('/oidc/jwks', providers.tokens.oidc('u1', { alg: 'ES256' })), true);
  assert.equal(await verifyJwt('/apple/jwks', providers.tokens.apple('u1', { forge: true })), false);
  const old = providers.tokens.apple('u1');
  providers.rotateKeys();
  assert.equal(await verifyJwt('/apple/jwks', old), false);
  assert.equal(await verifyJwt('/apple/jwks', providers.tokens.apple('u1')), true);
  const { body } = await get('/oidc/.well-known/openid-configuration');
  assert.equal(body.issuer, providers.oidcIssuer);
});

test('the Graph API wants a registered token and its appsecret_proof', async () => {
  const token = providers.facebookToken('fb-1');
  const proof = (t) => createHmac('sha256', providers.clients.facebookAppSecret).update(t).digest('hex');
  assert.deepEqual((await get(`/graph/me?fields=id&access_token=${token}&appsecret_proof=${proof(token)}`)).body, { id: 'fb-1' });
  assert.equal((await get(`/graph/me?fields=id&access_token=${token}`)).status, 400);
  assert.equal((await get(`/graph/me?fields=id&access_token=x&appsecret_proof=${proof('x')}`)).status, 400);
  const app = await get(`/graph/app?access_token=${token}&appsecret_proof=${proof(token)}`);
  assert.equal(app.body.id, providers.clients.facebookAppId);
});

test('GitHub codes are single-use and need the client secret', async () => {
  const exchange = (code, secret = providers.clients.oauthClientSecret) =>
    fetch(`${providers.url}/github/login/oauth/access_token`, {
      method: 'POST',
      body: JSON.stringify({ client_id: providers.clients.oauthClientId, client_secret: secret, code }),
    }).then((r) => r.json());
  const code = providers.githubCode(7);
  assert.equal((await exchange(code, 'wrong')).error, 'incorrect_client_credentials');
  const { access_token } = await exchange(code);
  assert.deepEqual((await get('/github/user', { authorization: `Bearer ${access_token}` })).body, { id: 7, login: 'user7' });
  assert.equal((await exchange(code)).error, 'bad_verification_code');
  assert.equal((await get('/github/user', { authorization: 'Bearer nope' })).status, 401);
});

test('Twitter wants requests signed with the consumer secret and the token secret', async () => {
  const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const signed = (creds, consumerSecret) => {
    const url = `${providers.url}/twitter/1.1/account/verify_credentials.json`;
    const oauth = {
      oauth_consumer_key: providers.clients.twitterConsumerKey,
      oauth_nonce: randomBytes(12).toString('hex'),
      oauth_signature_method: 'HMAC-SHA1',
      oauth_timestamp: String(Math.floor(Date.now() / 1000)),
      oauth_token: creds.auth_token,
      oauth_version: '1.0',
    };
    const params = Object.entries(oauth).map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join('&');
    const base = ['GET', enc(url), enc(params)].join('&');
    oauth.oauth_signature = createHmac('sha1', `${enc(consumerSecret)}&${enc(creds.auth_token_secret)}`).update(base).digest('base64');
    return { authorization: `OAuth ${Object.entries(oauth).map(([k, v]) => `${enc(k)}="${enc(v)}"`).join(', ')}` };
  };
  const creds = providers.twitterCredentials('9001');
  const path = '/twitter/1.1/account/verify_credentials.json';
  assert.equal((await get(path, signed(creds, providers.clients.twitterConsumerSecret))).body.id_str, '9001');
  assert.equal((await get(path, signed(creds, 'wrong'))).status, 401);
  assert.equal((await get(path, signed({ ...creds, auth_token_secret: 'x' }, providers.clients.twitterConsumerSecret))).status, 401);
  assert.equal((await get(path)).status, 401);
});

test('fail(status) makes every endpoint fail; authOption merges per provider', async () => {
  providers.fail(503);
  assert.equal((await get('/google/jwks')).status, 503);
  providers.fail(null);
  assert.equal((await get('/google/jwks')).status, 200);
  const option = providers.authOption({ google: { enabled: false }, twitter: undefined, anonymous: { enabled: false } });
  assert.equal(option.google.enabled, false);
  assert.equal(option.google.clientId, providers.clients.google);
  assert.equal(option.twitter, undefined);
  assert.deepEqual(option.anonymous, { enabled: false });
});
