// Fake identity providers for the SDK tests: one local HTTP server (127.0.0.1, free port)
// playing Google, Apple, an OpenID Connect issuer, Facebook (Graph API and Limited Login),
// GitHub, LinkedIn and Twitter, so `authData` logins can be tested end to end against the
// reparse binary. Node built-ins only (node:crypto, node:http).
//
//   const providers = await startProviders();
//   const server = await startServer({ auth: providers.authOption() });
//   const idToken = providers.tokens.google('google-user-1');
//   await Parse.User.logInWith('google', { authData: { id: 'google-user-1', id_token: idToken } });
//   await providers.close();
//
// The fakes check what the real providers check, so wrong credentials fail:
// - JWTs are RS256 (ES256 with `{ alg: 'ES256' }` for OIDC), signed with keys published in the
//   JWKS endpoints; `{ forge: true }` signs with a key that is not published (bad signature),
//   `{ audience, issuer, expiresIn, notBefore, kid, claims }` make other mistakes on purpose.
// - A Facebook access token must have been registered with `facebookToken(id)`, and every Graph
//   call must carry the `appsecret_proof` of the configured app secret.
// - GitHub/LinkedIn bearer tokens and codes must have been issued by `githubToken`,
//   `githubCode`, `linkedinToken`, `linkedinCode`; code exchanges must name the configured
//   client id and secret.
// - Twitter requests must be OAuth 1.0a HMAC-SHA1 signed with the configured consumer secret and
//   the user's token secret (`twitterCredentials(id)`), timestamp within 5 minutes.
//
// Other controls: `rotateKeys()` publishes a new signing key (new kid) and drops the old one;
// `kid` is the kid RSA tokens are signed with now; `fail(status)` makes every endpoint answer
// that HTTP status (`fail(null)` stops);
// `requests` counts requests per path (e.g. `requests['/google/jwks']`).

import { createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { createServer } from 'node:http';

export const GOOGLE_ISSUER = 'https://accounts.google.com';
export const APPLE_ISSUER = 'https://appleid.apple.com';
export const FACEBOOK_ISSUER = 'https://www.facebook.com';

const b64url = (buffer) => Buffer.from(buffer).toString('base64url');
const randomId = (prefix) => `${prefix}-${randomBytes(8).toString('hex')}`;

function makeKey(kind, kid) {
  const { privateKey, publicKey } =
    kind === 'EC'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alg = kind === 'EC' ? 'ES256' : 'RS256';
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk };
}

/** A compact JWS over `claims`, signed with `key` (RS256 or ES256 per the key). */
export function signJwt(key, claims, header = {}) {
  const head = b64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }));
  const body = b64url(JSON.stringify(claims));
  const input = `${head}.${body}`;
  const signature =
    key.alg === 'ES256'
      ? cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : cryptoSign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${b64url(signature)}`;
}

// RFC 5849 percent-encoding: all but ALPHA / DIGIT / - . _ ~
const oauthEncode = (text) =>
  encodeURIComponent(String(text)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function parseOAuthHeader(header) {
  if (typeof header !== 'string' || !header.startsWith('OAuth ')) return null;
  const params = {};
  for (const part of header.slice(6).split(',')) {
    const match = /^\s*([^=]+)="([^"]*)"\s*$/.exec(part);
    if (!match) return null;
    params[decodeURIComponent(match[1])] = decodeURIComponent(match[2]);
  }
  return params;
}

/**
 * Starts the fake providers. Options: `{ host = '127.0.0.1' }`.
 * Returns the controls described at the top of this file.
 */
export async function startProviders({ host = '127.0.0.1' } = {}) {
  const clients = {
    google: 'google-client-id.apps.example',
    apple: 'com.example.reparse',
    oidc: 'reparse-oidc-client',
    facebookAppId: '1000000000001',
    facebookAppSecret: 'fb-app-secret',
    oauthClientId: 'oauth-client-id',
    oauthClientSecret: 'oauth-client-secret',
    twitterConsumerKey: 'tw-consumer-key',
    twitterConsumerSecret: 'tw-consumer-secret',
  };
  let signingKey = makeKey('RSA', randomId('rsa'));
  const ecKey = makeKey('EC', randomId('ec'));
  // Never published: tokens signed with these fail the signature check.
  const forgeryKeys = { RS256: makeKey('RSA', 'forged-rsa'), ES256: makeKey('EC', 'forged-ec') };
  let publishedKeys = [signingKey.jwk, ecKey.jwk];
  let failStatus = null;
  const requests = {};

  const facebookTokens = new Map(); // access token → { id, appId }
  const github = { tokens: new Map(), codes: new Map() }; // token → numeric id; code → token
  const linkedin = { tokens: new Map(), codes: new Map() }; // token → id; code → token
  const twitter = {
    consumers: new Map([[clients.twitterConsumerKey, clients.twitterConsumerSecret]]),
    tokens: new Map(), // access token → { secret, id }
    requestTokens: new Map(), // request token → { verifier, accessToken }
  };

  let base = '';
  const send = (res, status, body, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(type === 'application/json' ? JSON.stringify(body) : body);
  };

  function checkOAuth(method, url, headers, tokenSecretOf) {
    const oauth = parseOAuthHeader(headers.authorization);
    if (!oauth || oauth.oauth_signature_method !== 'HMAC-SHA1' || oauth.oauth_version !== '1.0') return null;
    if (Math.abs(Number(oauth.oauth_timestamp) - Date.now() / 1000) > 300) return null;
    if (!oauth.oauth_nonce || oauth.oauth_nonce.length < 8) return null;
    const consumerSecret = twitter.consumers.get(oauth.oauth_consumer_key);
    if (consumerSecret === undefined) return null;
    const tokenSecret = oauth.oauth_token === undefined ? '' : tokenSecretOf(oauth.oauth_token);
    if (tokenSecret === undefined) return null;
    const params = [];
    for (const [k, v] of Object.entries(oauth)) if (k !== 'oauth_signature') params.push([oauthEncode(k), oauthEncode(v)]);
    for (const [k, v] of url.searchParams) params.push([oauthEncode(k), oauthEncode(v)]);
    params.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
    const normalized = params.map(([k, v]) => `${k}=${v}`).join('&');
    const baseString = [method, oauthEncode(`${base}${url.pathname}`), oauthEncode(normalized)].join('&');
    const expected = createHmac('sha1', `${oauthEncode(consumerSecret)}&${oauthEncode(tokenSecret)}`)
      .update(baseString)
      .digest('base64');
    return oauth.oauth_signature === expected ? oauth : null;
  }

  async function handle(req, res) {
    const url = new URL(req.url, base);
    const path = url.pathname;
    requests[path] = (requests[path] || 0) + 1;
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString('utf8');
    if (failStatus) return send(res, failStatus, { error: 'failing on purpose' });
    const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');

    if (req.method === 'GET' && /^\/(google|apple|facebook|oidc)\/jwks$/.test(path)) {
      return send(res, 200, { keys: publishedKeys });
    }
    if (req.method === 'GET' && path === '/oidc/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer: `${base}/oidc`,
        jwks_uri: `${base}/oidc/jwks`,
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      });
    }
    if (req.method === 'GET' && (path === '/graph/me' || path === '/graph/app')) {
      const token = url.searchParams.get('access_token');
      const proof = createHmac('sha256', clients.facebookAppSecret).update(token || '').digest('hex');
      if (url.searchParams.get('appsecret_proof') !== proof) {
        return send(res, 400, { error: { message: 'Invalid appsecret_proof provided in the API argument', code: 100 } });
      }
      const entry = facebookTokens.get(token);
      if (!entry) return send(res, 400, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      if (path === '/graph/me') return send(res, 200, { id: entry.id });
      return send(res, 200, { id: entry.appId, name: 'Reparse test app' });
    }
    if (req.method === 'GET' && path === '/github/user') {
      const id = github.tokens.get(bearer);
      if (id === undefined) return send(res, 401, { message: 'Bad credentials' });
      return send(res, 200, { id, login: `user${id}` });
    }
    if (req.method === 'POST' && path === '/github/login/oauth/access_token') {
      let request = {};
      try {
        request = JSON.parse(body);
      } catch {
        // stays empty
      }
      if (request.client_id !== clients.oauthClientId || request.client_secret !== clients.oauthClientSecret) {
        return send(res, 200, { error: 'incorrect_client_credentials' });
      }
      const token = github.codes.get(request.code);
      if (!token) {
        return send(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      }
      github.codes.delete(request.code);
      return send(res, 200, { access_token: token, token_type: 'bearer' });
    }
    if (req.method === 'GET' && path === '/linkedin/v2/me') {
      const id = linkedin.tokens.get(bearer);
      if (id === undefined) return send(res, 401, { message: 'Invalid access token' });
      return send(res, 200, { id, localizedFirstName: 'Test' });
    }
    if (req.method === 'POST' && path === '/linkedin/oauth/v2/accessToken') {
      const form = new URLSearchParams(body);
      const token = linkedin.codes.get(form.get('code'));
      const clientOk =
        form.get('client_id') === clients.oauthClientId &&
        form.get('client_secret') === clients.oauthClientSecret &&
        form.get('grant_type') === 'authorization_code';
      if (!token || !clientOk) return send(res, 400, { error: 'invalid_request' });
      linkedin.codes.delete(form.get('code'));
      return send(res, 200, { access_token: token, expires_in: 3600 });
    }
    if (req.method === 'GET' && path === '/twitter/1.1/account/verify_credentials.json') {
      const oauth = checkOAuth('GET', url, req.headers, (token) => twitter.tokens.get(token)?.secret);
      if (!oauth) return send(res, 401, { errors: [{ code: 32, message: 'Could not authenticate you.' }] });
      const { id } = twitter.tokens.get(oauth.oauth_token);
      return send(res, 200, { id: Number(id), id_str: id, screen_name: `user${id}` });
    }
    if (req.method === 'POST' && path === '/twitter/oauth/access_token') {
      // A request token's secret is not known to the server: signed with an empty one.
      const oauth = checkOAuth('POST', url, req.headers, (token) => (twitter.requestTokens.has(token) ? '' : undefined));
      if (!oauth) return send(res, 401, 'Invalid request token.', 'text/plain');
      const request = twitter.requestTokens.get(oauth.oauth_token);
      if (oauth.oauth_verifier !== request.verifier) {
        return send(res, 401, 'Error processing your OAuth request: Invalid oauth_verifier parameter', 'text/plain');
      }
      twitter.requestTokens.delete(oauth.oauth_token);
      const { secret, id } = twitter.tokens.get(request.accessToken);
      const answer = new URLSearchParams({
        oauth_token: request.accessToken,
        oauth_token_secret: secret,
        user_id: id,
        screen_name: `user${id}`,
      });
      return send(res, 200, answer.toString(), 'text/plain');
    }
    return send(res, 404, { error: `no fake for ${req.method} ${path}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, 500, { error: String(error) }));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  base = `http://${host}:${server.address().port}`;
  const oidcIssuer = `${base}/oidc`;

  /** Claims for `sub`, valid for an hour, adjusted by `opts`. */
  function claimsFor(sub, issuer, audience, opts) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: opts.issuer ?? issuer,
      aud: opts.audience ?? audience,
      sub,
      iat: now,
      exp: now + (opts.expiresIn ?? 3600),
      ...(opts.notBefore !== undefined ? { nbf: now + opts.notBefore } : {}),
      ...(opts.claims || {}),
    };
    for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key];
    return claims;
  }

  function jwtFor(sub, issuer, audience, opts = {}) {
    const alg = opts.alg === 'ES256' ? 'ES256' : 'RS256';
    let key = alg === 'ES256' ? ecKey : signingKey;
    // A forgery names the published kid but is signed with another key.
    if (opts.forge) key = { ...forgeryKeys[alg], kid: key.kid };
    if (opts.kid !== undefined) key = { ...key, kid: opts.kid };
    return signJwt(key, claimsFor(sub, issuer, audience, opts));
  }

  const tokens = {
    /** A Google `id_token` (authData `{ id: sub, id_token }`). */
    google: (sub, opts) => jwtFor(sub, GOOGLE_ISSUER, clients.google, opts),
    /** An Apple identity token (authData `{ id: sub, token }`). */
    apple: (sub, opts) => jwtFor(sub, APPLE_ISSUER, clients.apple, opts),
    /** An id_token of the OIDC provider `oidc` (authData `{ id: sub, id_token }`); `{ alg: 'ES256' }` for EC. */
    oidc: (sub, opts) => jwtFor(sub, oidcIssuer, clients.oidc, opts),
    /** A Facebook Limited Login token (authData `{ id: sub, token }`). */
    facebook: (sub, opts) => jwtFor(sub, FACEBOOK_ISSUER, clients.facebookAppId, opts),
  };

  return {
    url: base,
    clients,
    oidcIssuer,
    requests,
    tokens,

    /**
     * parse-server's `auth` option with every provider pointed at the fakes. `extra` is merged
     * per provider (`{ google: { enabled: false } }`); a provider set to `undefined` is removed.
     */
    authOption(extra = {}) {
      const option = {
        google: { clientId: clients.google, jwksUri: `${base}/google/jwks` },
        apple: { clientId: [clients.apple, `${clients.apple}.web`], jwksUri: `${base}/apple/jwks` },
        oidc: { adapter: 'oidc', issuer: oidcIssuer, clientId: clients.oidc },
        facebook: {
          appIds: [clients.facebookAppId],
          appSecret: clients.facebookAppSecret,
          graphApiUrl: `${base}/graph`,
          jwksUri: `${base}/facebook/jwks`,
        },
        github: {
          clientId: clients.oauthClientId,
          clientSecret: clients.oauthClientSecret,
          enableInsecureAuth: true,
          apiUrl: `${base}/github`,
          tokenUrl: `${base}/github/login/oauth/access_token`,
        },
        linkedin: {
          clientId: clients.oauthClientId,
          clientSecret: clients.oauthClientSecret,
          enableInsecureAuth: true,
          apiUrl: `${base}/linkedin`,
          tokenUrl: `${base}/linkedin/oauth/v2/accessToken`,
        },
        twitter: {
          consumer_key: clients.twitterConsumerKey,
          consumer_secret: clients.twitterConsumerSecret,
          apiUrl: `${base}/twitter`,
        },
      };
      for (const [name, value] of Object.entries(extra)) {
        if (value === undefined) delete option[name];
        else if (value && typeof value === 'object' && !Array.isArray(value) && option[name]) {
          option[name] = { ...option[name], ...value };
        } else option[name] = value;
      }
      return option;
    },

    /** A Graph API access token of user `id` (issued to the configured app unless `{ appId }`). */
    facebookToken(id, { appId = clients.facebookAppId } = {}) {
      const token = randomId('fb');
      facebookTokens.set(token, { id: String(id), appId });
      return token;
    },
    /** A GitHub access token of the user with numeric id `id` (authData `{ id, access_token }`). */
    githubToken(id) {
      const token = randomId('gho');
      github.tokens.set(token, Number(id));
      return token;
    },
    /** A one-time GitHub OAuth code for user `id` (authData `{ code }`). */
    githubCode(id) {
      const code = randomId('ghcode');
      github.codes.set(code, this.githubToken(id));
      return code;
    },
    /** A LinkedIn access token of user `id` (authData `{ id, access_token }`). */
    linkedinToken(id) {
      const token = randomId('li');
      linkedin.tokens.set(token, String(id));
      return token;
    },
    /** A one-time LinkedIn OAuth code for user `id` (authData `{ code, redirect_uri }`). */
    linkedinCode(id) {
      const code = randomId('licode');
      linkedin.codes.set(code, this.linkedinToken(id));
      return code;
    },
    /** Twitter authData for user `id`: `{ id, auth_token, auth_token_secret, screen_name }`. */
    twitterCredentials(id) {
      const auth_token = `${id}-${randomBytes(8).toString('hex')}`;
      const auth_token_secret = randomBytes(16).toString('hex');
      twitter.tokens.set(auth_token, { secret: auth_token_secret, id: String(id) });
      return { id: String(id), auth_token, auth_token_secret, screen_name: `user${id}` };
    },
    /** A Twitter request token and verifier for user `id` (authData `{ oauth_token, oauth_verifier }`). */
    twitterRequestToken(id) {
      const { auth_token } = this.twitterCredentials(id);
      const oauth_token = randomId('req');
      const oauth_verifier = randomBytes(8).toString('hex');
      twitter.requestTokens.set(oauth_token, { verifier: oauth_verifier, accessToken: auth_token });
      return { oauth_token, oauth_verifier };
    },

    /** Publishes a new RSA signing key (new kid) in place of the current one; returns the kid. */
    rotateKeys() {
      signingKey = makeKey('RSA', randomId('rsa'));
      publishedKeys = [signingKey.jwk, ecKey.jwk];
      return signingKey.kid;
    },
    /** The kid tokens are signed with now (RSA). */
    get kid() {
      return signingKey.kid;
    },
    /** Every endpoint answers `status` from now on (`null`: back to normal). */
    fail(status) {
      failStatus = status;
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
