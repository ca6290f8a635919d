// A real SMTP server for the SDK tests: it catches the e-mails (verification, password
// reset) the reparse binary sends, so a test can read them and follow their links.
//
//   const sink = await startSmtpSink();
//   const server = await startServer({
//     appName: 'My App', publicServerURL: ..., verifyUserEmails: true,
//     emailAdapter: { module: 'smtp', options: {
//       host: sink.host, port: sink.port, tls: false, fromAddress: 'noreply@example.com' } },
//   });
//   ... sign up ann@example.com ...
//   const mail = await sink.waitForMail((m) => m.to === 'ann@example.com');
//   const link = firstLink(mail);            // http://.../apps/<appId>/verify_email?token=...
//   await sink.close();
//
// Plain SMTP on 127.0.0.1 and a free port; no STARTTLS unless `{ starttls: true }`, then with
// a test certificate for `localhost` and `127.0.0.1` signed by TEST_CA_PEM (below), so the
// mailer needs `tls: { ca: TEST_CA_PEM }` or `tls: { rejectUnauthorized: false }`. Any AUTH
// PLAIN/LOGIN login is accepted and recorded in `logins`, unless
// `{ login: { username, password } }` demands one (others get 535).
// `{ rejectWith: { code: 451, message } }` answers every MAIL FROM with that error.

import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

// Test-only TLS material (the same as crates/mail/tests/tls, whose README says how it was
// made): never trusted outside the tests.
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUBOTgSu0EYn/W2TsuMEBvewe0JsIwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPUmVwYXJzZSB0ZXN0IENBMCAXDTI2MTEyNTAxMTA0MVoYDzIx
MjYxMTAxMDExMDQxWjAaMRgwFgYDVQQDDA9SZXBhcnNlIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASoBcKxiqEh8lTAqNsY2taejROGww5NK+iWkERH
dUe7uhu6cSbiZHsBDmDS8UTIlb8VK2D5EJDBt4SW4zqGEyV0o2MwYTAdBgNVHQ4E
FgQU2S6x5qX8PAtZ5nMrLs8z30coUkQwHwYDVR0jBBgwFoAU2S6x5qX8PAtZ5nMr
Ls8z30coUkQwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZI
zj0EAwIDSAAwRQIhANA/t8+F1VMO3sv6JTpf2gT+dqoWKnG6S9t1hg7UAST7AiA1
EEsdxKJT9oh2wn0B1FdbVa0aLycXg7e/MzTrz6rXWA==
-----END CERTIFICATE-----
`;
const TEST_CERT_PEM = `-----BEGIN CERTIFICATE-----
MIIBwjCCAWigAwIBAgIUX5NfMunsUGDt+MbkeS5VIC6kP7MwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPUmVwYXJzZSB0ZXN0IENBMCAXDTI2MTEyNTAxMTA0MVoYDzIx
MjYxMTAxMDExMDQxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAATz0OAsWkHyZZRuLnQkyWbG8lmgM3KYDQ2XaxSIJ1xyNiOi
6m7ghx93MkOa1d95FflP82QUxXq6P+ZajN6KkNz6o4GPMIGMMAkGA1UdEwQCMAAw
DgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMBoGA1UdEQQTMBGC
CWxvY2FsaG9zdIcEfwAAATAdBgNVHQ4EFgQU8lhZy/zUnOzkrNkaQILDM5eOV0Yw
HwYDVR0jBBgwFoAU2S6x5qX8PAtZ5nMrLs8z30coUkQwCgYIKoZIzj0EAwIDSAAw
RQIgECC17mX/IEaBe2fR2t1BtL8JC/iodxSuNtX2OyxaZ0sCIQCshm+Zc96+D03e
lBRdAHpwVgrctVnTpW6xaw43lccZAA==
-----END CERTIFICATE-----
`;
const TEST_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPRRgVP7xbi4mkHhO
xDFy4drlMwZM82XOt6ULDq8ky/6hRANCAATz0OAsWkHyZZRuLnQkyWbG8lmgM3KY
DQ2XaxSIJ1xyNiOi6m7ghx93MkOa1d95FflP82QUxXq6P+ZajN6KkNz6
-----END PRIVATE KEY-----
`;

/**
 * @typedef {object} Mail
 * @property {string} to        first To address, lower-cased, without the display name
 * @property {string} from      From address, lower-cased, without the display name
 * @property {string} toText    the To header as written ("Ann <ann@example.com>")
 * @property {string} fromText  the From header as written
 * @property {string} subject
 * @property {string} text      the text/plain body ('' if none)
 * @property {string|null} html the text/html body, or null
 * @property {{from: string, to: string[]}} envelope  MAIL FROM / RCPT TO
 * @property {{username: string, password: string}|null} login  the session's AUTH, if any
 * @property {Map<string, any>} headers  every header, as mailparser gives them
 */

export async function startSmtpSink(options = {}) {
  const { host = '127.0.0.1', port = 0, starttls = false, login = null, rejectWith = null } = options;
  /** @type {Mail[]} */
  const messages = [];
  const logins = [];
  const waiters = new Set();

  const server = new SMTPServer({
    logger: false,
    banner: 'reparse test sink',
    disableReverseLookup: true,
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: starttls ? [] : ['STARTTLS'],
    ...(starttls ? { key: TEST_KEY_PEM, cert: TEST_CERT_PEM } : {}),
    closeTimeout: 200,
    onAuth(auth, session, callback) {
      logins.push({ username: auth.username, password: auth.password });
      if (login && (auth.username !== login.username || auth.password !== login.password)) {
        const error = new Error('Authentication credentials invalid');
        error.responseCode = 535;
        return callback(error);
      }
      return callback(null, { user: { username: auth.username, password: auth.password } });
    },
    onMailFrom(address, session, callback) {
      if (rejectWith) {
        const error = new Error(rejectWith.message || 'Rejected by the test sink');
        error.responseCode = rejectWith.code;
        return callback(error);
      }
      return callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const mail = toMail(parsed, session);
          messages.push(mail);
          for (const waiter of waiters) waiter(mail);
          callback();
        },
        (error) => callback(error),
      );
    },
  });
  server.on('error', () => {}); // a client hanging up mid-session is no test failure

  await new Promise((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });

  return {
    host,
    port: server.server.address().port,
    /** Every message received so far, oldest first. */
    messages,
    /** Every AUTH attempt ({username, password}), accepted or not. */
    logins,
    /**
     * The first message (already received or yet to come) for which `predicate` is true.
     * Rejects after `timeoutMs`, saying what did arrive.
     * @returns {Promise<Mail>}
     */
    waitForMail(predicate = () => true, timeoutMs = 10000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (mail) => {
          if (!predicate(mail)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = messages.map((m) => `${m.to}: ${m.subject}`).join('; ') || 'none';
          reject(new Error(`no matching e-mail within ${timeoutMs} ms (received: ${seen})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    /** Stops listening and drops open connections (the mailer keeps idle ones). */
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function toMail(parsed, session) {
  const firstAddress = (field) => {
    const entry = Array.isArray(field) ? field[0] : field;
    return (entry?.value?.[0]?.address || '').toLowerCase();
  };
  const headerText = (field) => (Array.isArray(field) ? field.map((f) => f.text).join(', ') : field?.text || '');
  return {
    to: firstAddress(parsed.to),
    from: firstAddress(parsed.from),
    toText: headerText(parsed.to),
    fromText: headerText(parsed.from),
    subject: parsed.subject || '',
    text: parsed.text || '',
    html: typeof parsed.html === 'string' ? parsed.html : null,
    envelope: {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
    },
    login: session.user || null,
    headers: parsed.headers,
  };
}

/**
 * The first http(s) link in a mail (its text body, else its HTML) or in a string. In HTML,
 * `&amp;` is decoded. Trailing sentence punctuation is not part of the link.
 */
export function firstLink(mailOrText) {
  let body = mailOrText;
  let html = false;
  if (typeof mailOrText !== 'string') {
    body = mailOrText.text || mailOrText.html || '';
    html = !mailOrText.text && !!mailOrText.html;
  }
  const match = /https?:\/\/[^\s"'<>]+/.exec(body);
  if (!match) return null;
  let link = match[0].replace(/[.,;:!?]+$/, '');
  if (html) link = link.replace(/&amp;/g, '&');
  return link;
}
