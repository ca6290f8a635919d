// Test harness: starts the real `reparse` binary for a test file, and offers
// a raw-HTTP helper for REST-level assertions.
//
//   const server = await startServer({ maxLimit: 5 });   // options override the defaults
//   const Parse = initParse(server);                      // the official SDK, pointed at it
//   const res = await server.request('GET', '/classes/Foo', { auth: 'rest' });
//   await server.stop();
//
// Environment:
//   REPARSE_BIN              path of the binary (default <repo>/target/debug/reparse)
//   REPARSE_START_TIMEOUT_MS how long to wait for the "listening" line (default 30000)
//   REPARSE_TEST_LOG=1       echo the server's stdout/stderr to this process's stderr
//   REPARSE_TEST_DATABASE=postgres  every server on a fresh PostgreSQL database (127.0.0.1:5432)
//   REPARSE_TEST_FILES=s3    every server keeps its files in a fresh bucket of the S3-compatible
//                            server at REPARSE_TEST_S3_ENDPOINT (scripts/test starts moto)

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import Parse from 'parse/node';

export const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const reparseBin = process.env.REPARSE_BIN || join(repoRoot, 'target', 'debug', 'reparse');
const startTimeoutMs = Number(process.env.REPARSE_START_TIMEOUT_MS || 30000);
// Cloud code in test servers gets the SDK this suite installed (a parse-server app has it in
// its own node_modules; the sample apps here do not).
process.env.REPARSE_CLOUD_PARSE_SDK ??= join(here, 'node_modules', 'parse');
const LISTENING = 'Reparse is listening on ';

const liveProcesses = new Set();
process.on('exit', () => {
  for (const child of liveProcesses) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A short random alphanumeric suffix, e.g. for class names: `uniq('Score')` → `Score_k3j9x2a1`. */
export function uniq(prefix = 'C') {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * The database a test server uses: a fresh SQLite file, or with REPARSE_TEST_DATABASE=postgres
 * a fresh PostgreSQL database on 127.0.0.1:5432 (created with psql, dropped at exit).
 */
const createdDatabases = [];
export function testDatabaseURI(dir) {
  if (process.env.REPARSE_TEST_DATABASE !== 'postgres') return `sqlite://${dir}/data.sqlite`;
  const name = `reparse_sdk_${randomBytes(6).toString('hex')}`;
  execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-qc', `CREATE DATABASE ${name}`]);
  createdDatabases.push(name);
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}
process.on('exit', () => {
  for (const name of createdDatabases) {
    try {
      execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    } catch {
      // best effort
    }
  }
});

/** Whether this run keeps test servers' files in S3 (REPARSE_TEST_FILES=s3). */
export const filesInS3 = process.env.REPARSE_TEST_FILES === 's3';

/**
 * A `filesAdapter` option (parse-server's S3 adapter shape) for a fresh bucket of the S3 server
 * at REPARSE_TEST_S3_ENDPOINT. `adapterOptions` add to the adapter's options; `publicRead`
 * gives the bucket a policy that lets anyone read its objects (what directAccess needs).
 */
export async function s3FilesAdapter(adapterOptions = {}, { publicRead = false } = {}) {
  const endpoint = process.env.REPARSE_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('REPARSE_TEST_S3_ENDPOINT is not set (scripts/test starts an S3 server)');
  const bucket = `reparse-sdk-${randomBytes(6).toString('hex')}`;
  const created = await fetch(`${endpoint}/${bucket}`, { method: 'PUT' });
  if (!created.ok) throw new Error(`creating bucket ${bucket}: ${created.status} ${await created.text()}`);
  if (publicRead) {
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] }],
    };
    const res = await fetch(`${endpoint}/${bucket}?policy`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(policy),
    });
    if (!res.ok) throw new Error(`bucket policy for ${bucket}: ${res.status} ${await res.text()}`);
  }
  return {
    module: '@parse/s3-files-adapter',
    options: {
      bucket,
      bucketPrefix: 'files/',
      s3overrides: {
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'reparse-test', secretAccessKey: 'reparse-test-secret' },
      },
      ...adapterOptions,
    },
  };
}

function randomKey(prefix) {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

/**
 * Start a Reparse server with a fresh SQLite database in a temp dir.
 * `overrides` are merged into the parse-server style JSON config; a key set
 * to `undefined` is removed from it (e.g. `{ javascriptKey: undefined }`).
 * `bin` runs another executable that takes `serve --config FILE` and prints the same
 * "listening" line (reference/parse-server-serve.mjs runs the real parse-server).
 */
export async function startServer(overrides = {}, { bin = reparseBin, command = 'serve' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'reparse-sdk-'));
  // Options may be promises (a bucket made for the server): wait for their values.
  overrides = Object.fromEntries(
    await Promise.all(Object.entries(overrides).map(async ([key, value]) => [key, await value]))
  );
  if (filesInS3 && !('filesAdapter' in overrides) && bin === reparseBin) {
    overrides = { ...overrides, filesAdapter: await s3FilesAdapter() };
  }
  const config = {
    appId: randomKey('test'),
    masterKey: randomKey('master'),
    javascriptKey: randomKey('js'),
    restAPIKey: randomKey('rest'),
    port: 0,
    databaseURI: 'databaseURI' in overrides ? overrides.databaseURI : testDatabaseURI(dir),
    allowClientClassCreation: true,
    mountPath: '/parse',
    ...overrides,
  };
  for (const key of Object.keys(config)) {
    if (config[key] === undefined) delete config[key];
  }
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  const server = new ReparseServer(dir, configPath, config, bin, command);
  await server.start();
  return server;
}

/**
 * A server hosting the apps of a registry (no appId: what `reparse serve` runs), with its
 * dashboard. `dashboardUsers` are added first (`{username, password, readOnly}`). With
 * REPARSE_TEST_DATABASE=postgres the registry's apps keep their data in a fresh PostgreSQL
 * database (one schema each). `server.printed` is what it printed before listening.
 */
export async function startRegistryServer({ dashboardUsers = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'reparse-registry-'));
  const dataDir = join(dir, 'data');
  for (const { username, password, readOnly } of dashboardUsers) {
    const args = ['dashboard-user', 'add', username, '--password', password, '--data-dir', dataDir];
    if (readOnly) args.push('--read-only');
    execFileSync(reparseBin, args, { cwd: dir, stdio: 'pipe' });
  }
  const server = new ReparseServer(dir, null, {}, reparseBin, 'serve');
  server.args = ['serve', '--data-dir', dataDir];
  server.env = { PORT: '0', PARSE_SERVER_HOST: '127.0.0.1' };
  if (process.env.REPARSE_TEST_DATABASE === 'postgres') {
    server.args.push('--apps-database-uri', testDatabaseURI(dir));
  }
  await server.start();
  server.dataDir = dataDir;
  return server;
}

export class ReparseServer {
  constructor(dir, configPath, config, bin = reparseBin, command = 'serve') {
    this.bin = bin;
    this.command = command;
    this.dir = dir;
    this.configPath = configPath;
    this.config = config;
    this.appId = config.appId;
    this.masterKey = config.masterKey;
    this.javascriptKey = config.javascriptKey;
    this.restAPIKey = config.restAPIKey;
    this.readOnlyMasterKey = config.readOnlyMasterKey;
    this.clientKey = config.clientKey;
    this.child = null;
    this.url = null; // e.g. http://127.0.0.1:41234/parse
    this.origin = null; // e.g. http://127.0.0.1:41234
    this.output = '';
  }

  /** Spawn the binary and wait for `Reparse is listening on <url>`. */
  async start() {
    if (!existsSync(this.bin)) {
      throw new Error(
        `Reparse binary not found at ${this.bin}; build it with \`cargo build -p reparse\` or set REPARSE_BIN`
      );
    }
    const args = this.args ?? [this.command, '--config', this.configPath];
    const child = spawn(this.bin, args, {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_BACKTRACE: '1', ...this.env },
    });
    this.child = child;
    liveProcesses.add(child);
    const echo = process.env.REPARSE_TEST_LOG === '1';
    const remember = chunk => {
      this.output += chunk;
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
      if (echo) process.stderr.write(chunk);
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', remember);
    child.stdout.setEncoding('utf8');

    const url = await new Promise((resolvePromise, reject) => {
      let buffered = '';
      let done = false;
      const finish = (err, value) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolvePromise(value);
      };
      const timer = setTimeout(() => {
        finish(
          new Error(
            `Reparse did not print "${LISTENING}<url>" within ${startTimeoutMs} ms.\n--- output ---\n${this.tail()}`
          )
        );
      }, startTimeoutMs);
      child.stdout.on('data', chunk => {
        remember(chunk);
        buffered += chunk;
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).replace(/\r$/, '');
          buffered = buffered.slice(nl + 1);
          if (line.startsWith(LISTENING)) {
            finish(null, line.slice(LISTENING.length).trim());
          }
        }
      });
      child.on('error', err => finish(err));
      child.on('exit', (code, signal) => {
        liveProcesses.delete(child);
        finish(
          new Error(
            `Reparse exited (code ${code}, signal ${signal}) before it was listening.\n--- output ---\n${this.tail()}`
          )
        );
      });
    });
    this.url = url.replace(/\/+$/, '');
    this.origin = new URL(this.url).origin;
    this.exited = new Promise(res => child.once('exit', (code, signal) => res({ code, signal })));
    return this;
  }

  tail(n = 4000) {
    return this.output.slice(-n);
  }

  /** Graceful stop (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      liveProcesses.delete(child);
      return;
    }
    const exited = this.exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    liveProcesses.delete(child);
  }

  /** `kill -9` the server and wait for it to be gone. */
  async kill9() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = this.exited;
    child.kill('SIGKILL');
    await exited;
    liveProcesses.delete(child);
  }

  /** Start again on the same config file and data (the port may change). */
  async restart() {
    await this.stop();
    await this.start();
    return this;
  }

  /** Remove the temp dir (call after stop). */
  cleanup() {
    if (process.env.REPARSE_KEEP_DATA === '1') return;
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }

  /** Headers for one of the key modes used by `request`. */
  authHeaders(auth) {
    const h = {};
    switch (auth) {
      case 'none':
        break;
      case 'app':
        h['X-Parse-Application-Id'] = this.appId;
        break;
      case 'js':
        h['X-Parse-Application-Id'] = this.appId;
        h['X-Parse-Javascript-Key'] = this.javascriptKey;
        break;
      case 'rest':
        h['X-Parse-Application-Id'] = this.appId;
        h['X-Parse-REST-API-Key'] = this.restAPIKey;
        break;
      case 'client':
        h['X-Parse-Application-Id'] = this.appId;
        h['X-Parse-Client-Key'] = this.clientKey;
        break;
      case 'master':
        h['X-Parse-Application-Id'] = this.appId;
        h['X-Parse-Master-Key'] = this.masterKey;
        break;
      case 'readonly':
        h['X-Parse-Application-Id'] = this.appId;
        h['X-Parse-Master-Key'] = this.readOnlyMasterKey;
        break;
      default:
        throw new Error(`unknown auth mode ${auth}`);
    }
    return h;
  }

  /**
   * Raw HTTP request against the mount path.
   * path: e.g. '/classes/Foo' (relative to the server URL) or an absolute URL.
   * options: auth ('rest' default | 'js' | 'master' | 'readonly' | 'client' | 'app' | 'none'),
   *          body (object → JSON, string → sent as is), headers, query (values that
   *          are not strings are JSON-encoded), contentType.
   * Returns { status, headers, text, json }.
   */
  async request(method, path, options = {}) {
    const { auth = 'rest', body, headers = {}, query, contentType } = options;
    const url = new URL(path.startsWith('http') ? path : this.url + path);
    if (query) {
      for (const [k, v] of Object.entries(query)) {
        url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
      }
    }
    const h = { ...this.authHeaders(auth), ...headers };
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(h).some(k => k.toLowerCase() === 'content-type')) {
        h['Content-Type'] = contentType || 'application/json';
      }
    }
    let res;
    try {
      res = await fetch(url, { method, headers: h, body: payload, redirect: 'manual' });
    } catch (e) {
      // A kept-alive socket the server closed just as we reused it: retry once on a new
      // connection. (A dead server fails again, with ECONNREFUSED.)
      if (e?.cause?.code !== 'UND_ERR_SOCKET') throw e;
      res = await fetch(url, { method, headers: h, body: payload, redirect: 'manual' });
    }
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }
}

/**
 * Point the (process-wide) Parse SDK at a server. Uses the JS key, like a
 * browser app would, and knows the master key for `useMasterKey: true`.
 */
export function initParse(server, { javascriptKey = server.javascriptKey, masterKey = server.masterKey } = {}) {
  Parse.initialize(server.appId, javascriptKey, masterKey);
  Parse.serverURL = server.url;
  // A 5xx is a server bug here: fail at once instead of retrying with back-off.
  Parse.CoreManager.set('REQUEST_ATTEMPT_LIMIT', 1);
  return Parse;
}

export { Parse };

/**
 * Register before/after hooks (node:test) that start one server for the
 * calling test file and stop it afterwards. Returns a context whose
 * `server` and `Parse` are set once the `before` hook has run.
 */
export function useServer(overrides = {}, { sdk = true } = {}) {
  const ctx = { server: null, Parse: null };
  before(
    async () => {
      ctx.server = await startServer(overrides);
      if (sdk) ctx.Parse = initParse(ctx.server);
    },
    { timeout: startTimeoutMs + 10000 }
  );
  after(async () => {
    if (ctx.server) {
      await ctx.server.stop();
      ctx.server.cleanup();
    }
  });
  return ctx;
}

/**
 * Polls `check` (sync or async) every `every` ms until it returns a truthy value, and returns
 * that value; fails after `ms` with `what` (text, or a function making it then).
 */
export async function waitFor(check, what, { ms = 5000, every = 20 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() >= deadline) {
      assert.fail(typeof what === 'function' ? what() : `${what} did not happen within ${ms} ms`);
    }
    await new Promise(resolve => setTimeout(resolve, every));
  }
}

/** Assert a REST response is a Parse error: exact status, body exactly {code, error}. */
export function assertParseError(res, status, code, message) {
  const where = `${res.status} ${res.text}`;
  assert.equal(res.status, status, `expected HTTP ${status}, got ${where}`);
  assert.ok(res.json && typeof res.json === 'object', `expected a JSON body, got ${where}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['code', 'error'], `expected body {code,error}, got ${where}`);
  assert.equal(res.json.code, code, `expected code ${code}, got ${where}`);
  assert.equal(typeof res.json.error, 'string', `error must be a string: ${where}`);
  if (message instanceof RegExp) assert.match(res.json.error, message, where);
  else if (typeof message === 'string') assert.equal(res.json.error, message, where);
}

/** Assert a REST response succeeded with the given status. */
export function assertStatus(res, status) {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status} ${res.text}`);
}

/** Assert an SDK promise rejects with a Parse.Error of the given code. */
export async function expectParseError(promise, code, message) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected Parse error ${code ?? ''}, but the call succeeded`);
  if (code !== undefined) {
    assert.equal(error.code, code, `expected Parse error ${code}, got ${error.code}: ${error.message}`);
  }
  if (message instanceof RegExp) assert.match(error.message, message);
  else if (typeof message === 'string') assert.equal(error.message, message);
  return error;
}

/**
 * 403 for a route that needs the master key. parse-server answers
 * {"error":"unauthorized: master key is required"}; 8.x with its default
 * enableSanitizedErrorResponse: true answers {"error":"Permission denied"}.
 */
export function assertMasterKeyRequired(res) {
  const where = `${res.status} ${res.text}`;
  assert.equal(res.status, 403, `expected HTTP 403, got ${where}`);
  assert.ok(res.json && typeof res.json === 'object', `expected a JSON body, got ${where}`);
  assert.deepEqual(Object.keys(res.json), ['error'], `expected body {error}, got ${where}`);
  assert.match(res.json.error, /^(unauthorized: master key is required|Permission denied)$/, where);
}

/** A message parse-server 8 may replace by "Permission denied" (enableSanitizedErrorResponse). */
export function detailedOrSanitized(detailed) {
  const escaped = detailed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^(${escaped}|Permission denied)$`);
}

export const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const OBJECT_ID = /^[A-Za-z0-9]{10}$/;

/** Debian's Chromium, driven by playwright-core for the browser tests. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** A browser test's `skip`: only when Chromium is absent and CI is not "true". */
export const chromiumSkip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} not installed (set CI=true to require it)` : false;

/** Headless Chromium, launched the same way for every browser test. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60000,
  });
}
