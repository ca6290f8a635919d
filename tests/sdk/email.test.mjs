// Account e-mails end to end: a real SMTP sink receives the verification and reset mails, the
// test follows their links, sets a new password through the served page in headless Chromium,
// and logs in with it. Behaviour follows parse-server's UsersRouter (requestPasswordReset,
// verificationEmailRequest) and PublicAPIRouter (the /apps pages).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServer, initParse, uniq, assertParseError, assertStatus } from './harness.mjs';
import { startSmtpSink, firstLink } from './smtp.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`chromium is required under CI=true (looked at ${CHROMIUM})`);
}

function emailAdapter(sink) {
  return { smtp: { host: sink.host, port: sink.port, tls: 'none', from: 'Reparse Test <noreply@example.com>' } };
}

/** An SMTP sink and a server that mails through it (one per describe block). */
async function startMailServer(options) {
  const sink = await startSmtpSink();
  const server = await startServer({ emailAdapter: emailAdapter(sink), ...options });
  return { sink, server, Parse: initParse(server) };
}

async function stopMailServer(sink, server) {
  await server?.stop();
  server?.cleanup();
  await sink?.close();
}

/** Asks for a password reset mail for `email` and returns the link it carries. */
async function resetLinkFor(sink, Parse, email) {
  const before = sink.messages.length;
  await Parse.User.requestPasswordReset(email);
  const mail = await sink.waitForMail(m => m.to === email && sink.messages.indexOf(m) >= before, 10000);
  return { mail, link: firstLink(mail) };
}

/** GET without following redirects. */
async function visit(url) {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

describe('e-mail verification', () => {
  let sink;
  let server;
  let Parse;

  before(async () => {
    ({ sink, server, Parse } = await startMailServer({
      appName: 'Mail Test',
      verifyUserEmails: true,
      preventLoginWithUnverifiedEmail: true,
      emailVerifyTokenValidityDuration: 3600,
    }));
  });

  after(() => stopMailServer(sink, server));

  it('sign-up sends a link; until it is followed the user cannot log in; afterwards they can', async () => {
    const username = uniq('ver');
    const email = `${username.toLowerCase()}@example.com`;
    const signUp = await server.request('POST', '/users', { body: { username, password: 'pw-1', email } });
    assertStatus(signUp, 201);
    // preventLoginWithUnverifiedEmail: no session at sign-up.
    assert.equal(signUp.json.sessionToken, undefined);

    const mail = await sink.waitForMail(m => m.to === email, 10000);
    assert.equal(mail.subject, 'Please verify your e-mail for Mail Test');
    assert.equal(mail.from, 'noreply@example.com');
    const link = firstLink(mail);
    assert.ok(link.startsWith(`${server.url}/apps/${server.appId}/verify_email?token=`), link);

    const refused = await server.request('GET', '/login', { query: { username, password: 'pw-1' } });
    assertParseError(refused, 400, 205);

    const followed = await visit(link);
    assert.equal(followed.status, 302);
    assert.equal(followed.location, `${server.url}/apps/verify_email_success.html?username=${encodeURIComponent(username)}`);
    const page = await visit(followed.location);
    assert.equal(page.status, 200);
    assert.match(page.text, /verified/);

    const user = await Parse.User.logIn(username, 'pw-1');
    assert.equal(user.get('emailVerified'), true);
    // The link is spent.
    const again = await visit(link);
    assert.equal(again.location, `${server.url}/apps/invalid_link.html`);
  });

  it('clients cannot mark themselves verified', async () => {
    const username = uniq('cheat');
    const res = await server.request('POST', '/users', {
      body: { username, password: 'pw', email: `${username}@example.com`, emailVerified: true },
    });
    assertParseError(res, 400, 119);
  });

  it('verificationEmailRequest sends a new link; errors for missing, unknown and verified addresses', async () => {
    const username = uniq('again');
    const email = `${username.toLowerCase()}@example.com`;
    assertStatus(await server.request('POST', '/users', { body: { username, password: 'pw', email } }), 201);
    const first = await sink.waitForMail(m => m.to === email, 10000);
    const before = sink.messages.length;
    const res = await server.request('POST', '/verificationEmailRequest', { body: { email } });
    assertStatus(res, 200);
    assert.deepEqual(res.json, {});
    const second = await sink.waitForMail(m => m.to === email && sink.messages.indexOf(m) >= before, 10000);
    assert.notEqual(firstLink(second), firstLink(first), 'a new token replaces the old one');
    assert.equal((await visit(firstLink(first))).location, `${server.url}/apps/invalid_link.html`);
    assert.equal((await visit(firstLink(second))).status, 302);

    assertParseError(await server.request('POST', '/verificationEmailRequest', { body: {} }), 400, 204);
    assertParseError(await server.request('POST', '/verificationEmailRequest', { body: { email: 42 } }), 400, 125);
    assertParseError(
      await server.request('POST', '/verificationEmailRequest', { body: { email: 'nobody@example.com' } }),
      400,
      205
    );
    const verified = await server.request('POST', '/verificationEmailRequest', { body: { email } });
    assertParseError(verified, 400, -1);
  });

  it('an unknown or garbled token lands on the invalid-link page and changes nothing', async () => {
    for (const token of ['', 'nope', '<script>']) {
      const res = await visit(`${server.url}/apps/${server.appId}/verify_email?token=${encodeURIComponent(token)}`);
      assert.equal(res.status, 302);
      assert.equal(res.location, `${server.url}/apps/invalid_link.html`);
    }
  });
});

describe('an expired verification link', () => {
  let sink;
  let server;

  before(async () => {
    ({ sink, server } = await startMailServer({
      appName: 'Expiry Test',
      verifyUserEmails: true,
      emailVerifyTokenValidityDuration: 1,
    }));
  });

  after(() => stopMailServer(sink, server));

  it('lands on the page that offers a new link; the new link verifies', async () => {
    const username = uniq('late');
    const email = `${username.toLowerCase()}@example.com`;
    assertStatus(await server.request('POST', '/users', { body: { username, password: 'pw', email } }), 201);
    const first = await sink.waitForMail(m => m.to === email, 10000);
    await new Promise(resolve => setTimeout(resolve, 1500));
    const expired = await visit(firstLink(first));
    assert.equal(expired.status, 302);
    const page = new URL(expired.location);
    assert.equal(`${page.origin}${page.pathname}`, `${server.url}/apps/invalid_verification_link.html`);
    assert.equal(page.searchParams.get('username'), username);
    assert.equal(page.searchParams.get('appId'), server.appId);
    assert.match((await visit(expired.location)).text, /Send a new link/);

    const before = sink.messages.length;
    const resend = await fetch(`${server.url}/apps/${server.appId}/resend_verification_email`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username }).toString(),
    });
    assert.equal(resend.status, 302);
    assert.equal(resend.headers.get('location'), `${server.url}/apps/link_send_success.html`);
    const second = await sink.waitForMail(m => m.to === email && sink.messages.indexOf(m) >= before, 10000);
    const verified = await visit(firstLink(second));
    assert.match(verified.location, /verify_email_success\.html/);
  });
});

describe('password reset', () => {
  let sink;
  let server;
  let Parse;
  let browser;

  before(async () => {
    ({ sink, server, Parse } = await startMailServer({
      appName: 'Reset Test',
      passwordPolicy: { resetTokenValidityDuration: 3600, doNotAllowUsername: true },
    }));
    if (haveChromium) {
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
        timeout: 60000,
      });
    }
  });

  after(async () => {
    await browser?.close();
    await stopMailServer(sink, server);
  });

  const requestReset = async email => (await resetLinkFor(sink, Parse, email)).mail;

  it('the mailed link opens the served form in Chromium; the new password works, the old does not', {
    skip: !haveChromium && 'chromium not installed',
  }, async () => {
    const username = uniq('reset');
    const email = `${username.toLowerCase()}@example.com`;
    const user = await Parse.User.signUp(username, 'old-password', { email });
    const oldToken = user.getSessionToken();

    const mail = await requestReset(email);
    assert.equal(mail.subject, 'Password Reset for Reset Test');
    assert.match(mail.text, new RegExp(username));
    const link = firstLink(mail);
    assert.ok(link.startsWith(`${server.url}/apps/${server.appId}/request_password_reset?token=`), link);

    const page = await browser.newPage();
    try {
      await page.goto(link);
      assert.match(page.url(), /\/apps\/choose_password\?/);
      await page.fill('#password', 'brand-new-secret');
      await page.fill('#confirm', 'brand-new-secret');
      await Promise.all([page.waitForURL(/password_reset_success\.html/), page.click('button[type=submit]')]);
      assert.match(await page.textContent('body'), /password has been changed/);
    } finally {
      await page.close();
    }

    const logged = await Parse.User.logIn(username, 'brand-new-secret');
    assert.equal(logged.id, user.id);
    const old = await server.request('GET', '/login', { query: { username, password: 'old-password' } });
    assertParseError(old, 404, 101);
    // Sessions from before the reset are over.
    const me = await server.request('GET', '/users/me', { headers: { 'X-Parse-Session-Token': oldToken } });
    assertParseError(me, 400, 209);
    // The link cannot be used twice.
    assert.equal((await visit(link)).location, `${server.url}/apps/invalid_link.html`);
  });

  it('a replayed reset token posted to the form is refused and changes nothing', async () => {
    const username = uniq('replay');
    const email = `${username.toLowerCase()}@example.com`;
    await Parse.User.signUp(username, 'first-pass', { email });
    const token = new URL(firstLink(await requestReset(email))).searchParams.get('token');
    const post = body =>
      fetch(`${server.url}/apps/${server.appId}/request_password_reset`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
    const first = await post({ token, username, new_password: 'second-pass' });
    assert.equal(first.status, 302);
    assert.match(first.headers.get('location'), /password_reset_success\.html\?username=/);
    const replay = await post({ token, username, new_password: 'third-pass' });
    assert.equal(replay.status, 302);
    assert.match(replay.headers.get('location'), /choose_password\?.*error=/);
    await Parse.User.logIn(username, 'second-pass');
    const third = await server.request('GET', '/login', { query: { username, password: 'third-pass' } });
    assertParseError(third, 404, 101);
  });

  it('the password policy applies to resets: the form shows the error and keeps the old password', async () => {
    const username = uniq('policy');
    const email = `${username.toLowerCase()}@example.com`;
    await Parse.User.signUp(username, 'keep-me', { email });
    const token = new URL(firstLink(await requestReset(email))).searchParams.get('token');
    const res = await fetch(`${server.url}/apps/${server.appId}/request_password_reset`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Requested-With': 'XMLHttpRequest' },
      body: new URLSearchParams({ token, username, new_password: `x${username}x` }).toString(),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.code, -1);
    assert.match(body.error, /cannot contain your username/);
    await Parse.User.logIn(username, 'keep-me');
  });

  it('requestPasswordReset: unknown addresses succeed silently; bad input gets 204/125', async () => {
    const before = sink.messages.length;
    const res = await server.request('POST', '/requestPasswordReset', { body: { email: 'ghost@example.com' } });
    assertStatus(res, 200);
    assert.deepEqual(res.json, {});
    assertParseError(await server.request('POST', '/requestPasswordReset', { body: {} }), 400, 204);
    assertParseError(await server.request('POST', '/requestPasswordReset', { body: { email: ['a'] } }), 400, 125);
    await new Promise(resolve => setTimeout(resolve, 300));
    assert.equal(sink.messages.length, before, 'no mail for an unknown address');
  });
});

describe('password policy and lockout around resets', () => {
  let sink;
  let server;
  let Parse;

  before(async () => {
    ({ sink, server, Parse } = await startMailServer({
      appName: 'Policy Test',
      // maxPasswordAge is in days: about 2.6 s here.
      passwordPolicy: { maxPasswordAge: 0.00003, resetTokenValidityDuration: 600, resetTokenReuseIfValid: true },
      accountLockout: { threshold: 2, duration: 10, unlockOnPasswordReset: true },
    }));
  });

  after(() => stopMailServer(sink, server));

  const resetLink = async email => (await resetLinkFor(sink, Parse, email)).link;

  async function resetThroughForm(link, password) {
    const token = new URL(link).searchParams.get('token');
    const res = await fetch(`${server.url}/apps/${server.appId}/request_password_reset`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, new_password: password }).toString(),
    });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location'), /password_reset_success\.html/);
  }

  it('resetTokenReuseIfValid: asking twice mails the same valid link', async () => {
    const username = uniq('reuse');
    const email = `${username.toLowerCase()}@example.com`;
    await Parse.User.signUp(username, 'pw-one', { email });
    const first = await resetLink(email);
    const second = await resetLink(email);
    assert.equal(second, first);
  });

  it('maxPasswordAge: an old password must be reset; the reset password logs in', async () => {
    const username = uniq('aged');
    const email = `${username.toLowerCase()}@example.com`;
    await Parse.User.signUp(username, 'aging-password', { email });
    await Parse.User.logIn(username, 'aging-password');
    await new Promise(resolve => setTimeout(resolve, 3500));
    const expired = await server.request('GET', '/login', { query: { username, password: 'aging-password' } });
    assertParseError(expired, 404, 101, 'Your password has expired. Please reset your password.');
    await resetThroughForm(await resetLink(email), 'fresh-password');
    await Parse.User.logIn(username, 'fresh-password');
  });

  it('unlockOnPasswordReset: a locked account opens again after a reset', async () => {
    const username = uniq('locked');
    const email = `${username.toLowerCase()}@example.com`;
    await Parse.User.signUp(username, 'right-password', { email });
    const attempt = password => server.request('POST', '/login', { body: { username, password } });
    assertParseError(await attempt('wrong-1'), 404, 101, 'Invalid username/password.');
    assertParseError(await attempt('wrong-2'), 404, 101, 'Invalid username/password.');
    const locked = await attempt('right-password');
    assertParseError(locked, 404, 101);
    assert.match(locked.json.error, /locked/);
    await resetThroughForm(await resetLink(email), 'after-reset');
    assertStatus(await attempt('after-reset'), 200);
  });
});

describe('without an emailAdapter', () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('password reset is refused with parse-server error 1', async () => {
    const res = await server.request('POST', '/requestPasswordReset', { body: { email: 'a@example.com' } });
    assert.equal(res.status, 500);
    assert.equal(res.json.code, 1);
  });

  it('verifyUserEmails without an emailAdapter stops the start with a clear message', async () => {
    await assert.rejects(startServer({ verifyUserEmails: true }), /verifyUserEmails needs an emailAdapter/);
  });
});
