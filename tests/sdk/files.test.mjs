// Files (parse-server's FilesRouter): uploads through the JS SDK (its JSON base64 form and its
// streamed binary form) and as raw bodies, downloads with ranges, metadata and tags, unicode
// names, File fields in objects, deletes, and the refusals (who may upload, extensions, size,
// names, master key for delete). With REPARSE_TEST_FILES=s3 every server keeps its files in an
// S3 bucket, and the direct and presigned URL modes are tested too.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  useServer,
  uniq,
  assertParseError,
  assertStatus,
  assertMasterKeyRequired,
  expectParseError,
  filesInS3,
  initParse,
  s3FilesAdapter,
} from './harness.mjs';

const ctx = useServer();
const small = useServer(
  { maxUploadSize: '64kb', preserveFileName: true, fileUpload: { enableForPublic: true, fileExtensions: ['^bin$'] } },
  { sdk: false }
);

const HEX_PREFIXED = /^[0-9a-f]{32}_/;
const sha = bytes => createHash('sha256').update(bytes).digest('hex');

async function signUp(server) {
  const res = await server.request('POST', '/users', {
    body: { username: uniq('u'), password: 'secret-pass' },
  });
  assertStatus(res, 201);
  return res.json.sessionToken;
}

/** A raw upload (not the SDK's JSON form): the body streams to the server as is. */
function rawUpload(server, name, body, headers = {}) {
  return fetch(`${server.url}/files/${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: {
      'X-Parse-Application-Id': server.appId,
      'X-Parse-REST-API-Key': server.restAPIKey,
      'Content-Type': 'application/octet-stream',
      ...headers,
    },
    body,
    duplex: 'half',
  });
}

async function bytesAt(url, headers = {}) {
  const res = await fetch(url, { headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('uploads and downloads', () => {
  it('a signed-in user uploads text through the SDK; the URL serves it with its type', async () => {
    const { Parse, server } = ctx;
    const sessionToken = await signUp(server);
    const file = new Parse.File('hello.txt', { base64: Buffer.from('héllo wörld').toString('base64') }, 'text/plain');
    await file.save({ sessionToken });
    assert.match(file.name(), HEX_PREFIXED);
    assert.ok(file.name().endsWith('_hello.txt'));
    assert.equal(file.url(), `${server.url}/files/${server.appId}/${file.name()}`);
    const { res, bytes } = await bytesAt(file.url());
    assertStatus(res, 200);
    assert.equal(bytes.toString('utf8'), 'héllo wörld');
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength('héllo wörld')));
    assert.ok(res.headers.get('etag'));
  });

  it('binary bytes come back equal (SDK byte array, master key)', async () => {
    const { Parse } = ctx;
    const data = randomBytes(100_000);
    const file = new Parse.File('blob.bin', [...data]);
    await file.save({ useMasterKey: true });
    const { res, bytes } = await bytesAt(file.url());
    assertStatus(res, 200);
    assert.equal(sha(bytes), sha(data));
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  });

  it('an 8 MB raw upload streams in and out; ranges answer 206 and 416', async () => {
    const { server } = ctx;
    const data = randomBytes(8 * 1024 * 1024);
    const res = await rawUpload(server, 'big.bin', data, { 'X-Parse-Master-Key': server.masterKey });
    assert.equal(res.status, 201, await res.clone().text());
    const created = await res.json();
    assert.equal(res.headers.get('location'), created.url);
    const whole = await bytesAt(created.url);
    assert.equal(whole.bytes.length, data.length);
    assert.equal(sha(whole.bytes), sha(data));
    const part = await bytesAt(created.url, { Range: 'bytes=1000-1999' });
    assertStatus(part.res, 206);
    assert.equal(part.res.headers.get('content-range'), `bytes 1000-1999/${data.length}`);
    assert.deepEqual(part.bytes, data.subarray(1000, 2000));
    const tail = await bytesAt(created.url, { Range: 'bytes=-10' });
    assert.deepEqual(tail.bytes, data.subarray(data.length - 10));
    const past = await bytesAt(created.url, { Range: `bytes=${data.length}-` });
    assertStatus(past.res, 416);
    assert.equal(past.res.headers.get('content-range'), `bytes */${data.length}`);
  });

  it('a File saved in an object reads back with a URL that serves it', async () => {
    const { Parse } = ctx;
    const file = new Parse.File('note.txt', { base64: Buffer.from('in an object').toString('base64') });
    await file.save({ useMasterKey: true });
    const cls = uniq('Doc');
    const doc = new Parse.Object(cls, { attachment: file });
    await doc.save();
    const fetched = await new Parse.Query(cls).get(doc.id);
    const attached = fetched.get('attachment');
    assert.ok(attached instanceof Parse.File);
    assert.equal(attached.name(), file.name());
    const { res, bytes } = await bytesAt(attached.url());
    assertStatus(res, 200);
    assert.equal(bytes.toString(), 'in an object');
  });

  it('the master key deletes a file; its URL is then 404', async () => {
    const { Parse, server } = ctx;
    const file = new Parse.File('gone.txt', { base64: Buffer.from('bye').toString('base64') });
    await file.save({ useMasterKey: true });
    const refused = await server.request('DELETE', `/files/${file.name()}`, { auth: 'rest' });
    assertMasterKeyRequired(refused);
    assertStatus((await bytesAt(file.url())).res, 200);
    await file.destroy({ useMasterKey: true });
    const { res, bytes } = await bytesAt(file.url());
    assertStatus(res, 404);
    assert.equal(bytes.toString(), 'File not found.');
    const again = await server.request('DELETE', `/files/${file.name()}`, { auth: 'master' });
    assertParseError(again, 400, 153, 'Could not delete file.');
  });

  it('a Buffer larger than the request buffer streams up through the SDK and back', async () => {
    const { Parse } = ctx;
    // The SDK sends a Buffer as a raw streamed body; 12 MB spans two S3 parts.
    const data = randomBytes(12 * 1024 * 1024 + 3);
    const file = new Parse.File('video.mp4', data, 'video/mp4');
    await file.save({ useMasterKey: true });
    const { res, bytes } = await bytesAt(file.url());
    assertStatus(res, 200);
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal(bytes.length, data.length);
    assert.equal(sha(bytes), sha(data));
    const seek = await bytesAt(file.url(), { Range: 'bytes=9000000-9000009' });
    assertStatus(seek.res, 206);
    assert.deepEqual(seek.bytes, data.subarray(9_000_000, 9_000_010));
  });

  it('unicode names are stored, served and deleted (SDK JSON and binary forms)', async () => {
    const { Parse, server } = ctx;
    for (const [name, source] of [
      ['résumé 2024.pdf', { base64: Buffer.from('cv').toString('base64') }],
      ['写真.jpg', Buffer.from('photo bytes')],
      ['Привет мир.txt', [...Buffer.from('hi')]],
    ]) {
      const file = new Parse.File(name, source);
      await file.save({ useMasterKey: true });
      assert.ok(file.name().endsWith(`_${name}`), file.name());
      const expected = Array.isArray(source) ? Buffer.from(source) : source.base64 ? Buffer.from(source.base64, 'base64') : source;
      const { res, bytes } = await bytesAt(file.url());
      assertStatus(res, 200);
      assert.deepEqual(bytes, expected, name);
      if (!filesInS3) assert.ok(file.url().startsWith(`${server.url}/files/${server.appId}/`));
      await file.destroy({ useMasterKey: true });
      assertStatus((await bytesAt(file.url())).res, 404);
    }
  });

  it('metadata and tags are stored and returned (SDK form and raw headers)', async () => {
    const { Parse, server } = ctx;
    const file = new Parse.File('m.txt', { base64: Buffer.from('m').toString('base64') }, 'text/plain', {
      author: 'ann',
      camera: 'x100',
    }, { album: 'summer' });
    await file.save({ useMasterKey: true });
    const metadataUrl = name => `${server.url}/files/${server.appId}/metadata/${encodeURIComponent(name)}`;
    const read = async name => (await fetch(metadataUrl(name))).json();
    assert.deepEqual(await read(file.name()), { metadata: { author: 'ann', camera: 'x100' }, tags: { album: 'summer' } });
    const raw = await rawUpload(server, 'r.bin', 'raw', {
      'X-Parse-Master-Key': server.masterKey,
      'X-Parse-File-Metadata': JSON.stringify({ source: 'scanner' }),
      'X-Parse-File-Tags': JSON.stringify({ kind: 'scan' }),
    });
    assert.equal(raw.status, 201);
    assert.deepEqual(await read((await raw.json()).name), { metadata: { source: 'scanner' }, tags: { kind: 'scan' } });
    const plain = await rawUpload(server, 'p.bin', 'plain', { 'X-Parse-Master-Key': server.masterKey });
    assert.deepEqual(await read((await plain.json()).name), { metadata: {}, tags: {} });
    assert.deepEqual(await read('missing.txt'), {});
    assert.deepEqual(await (await fetch(`${server.url}/files/no-such-app/metadata/x.txt`)).json(), {});
  });

  it('a missing file is 404', async () => {
    const { server } = ctx;
    const { res } = await bytesAt(`${server.url}/files/${server.appId}/nothing-here.txt`);
    assertStatus(res, 404);
  });
});

describe('refusals', () => {
  it('the public may not upload by default', async () => {
    const { Parse } = ctx;
    const file = new Parse.File('a.txt', { base64: Buffer.from('x').toString('base64') });
    await expectParseError(file.save(), 130, 'File upload by public is disabled.');
  });

  it('anonymous users may not upload by default', async () => {
    const { server } = ctx;
    const res = await server.request('POST', '/users', { body: { authData: { anonymous: { id: randomUUID() } } } });
    assertStatus(res, 201);
    const upload = await rawUpload(server, 'a.txt', 'x', {
      'X-Parse-Session-Token': res.json.sessionToken,
    });
    assert.equal(upload.status, 400);
    assert.deepEqual(await upload.json(), { code: 130, error: 'File upload by anonymous user is disabled.' });
  });

  it('HTML is refused by default, except for the master key', async () => {
    const { Parse, server } = ctx;
    const sessionToken = await signUp(server);
    const page = () => new Parse.File('page.html', { base64: Buffer.from('<p>').toString('base64') });
    await expectParseError(page().save({ sessionToken }), 130, 'File upload of extension html is disabled.');
    const saved = page();
    await saved.save({ useMasterKey: true });
    assert.match(saved.name(), HEX_PREFIXED);
  });

  it('bad names are 122 and store nothing', async () => {
    const { Parse, server } = ctx;
    const sessionToken = await signUp(server);
    for (const name of ['-dash-first.txt', 'a:b.txt', 'evil\u202Egpj.exe', '.hidden']) {
      const file = new Parse.File(name, { base64: Buffer.from('x').toString('base64') });
      await expectParseError(file.save({ sessionToken }), 122, 'Filename contains invalid characters.');
    }
    const long = new Parse.File(`${'a'.repeat(129)}.txt`, { base64: Buffer.from('x').toString('base64') });
    await expectParseError(long.save({ sessionToken }), 122, 'Filename too long.');
  });

  it('bad metadata is refused and stores nothing', async () => {
    const { server } = ctx;
    const master = { 'X-Parse-Master-Key': server.masterKey };
    const badJson = await rawUpload(server, 'x.bin', 'x', { ...master, 'X-Parse-File-Metadata': '{nope' });
    assert.equal(badJson.status, 400);
    assert.deepEqual(await badJson.json(), { code: 107, error: 'Invalid JSON in X-Parse-File-Metadata header.' });
    const notObject = await rawUpload(server, 'x.bin', 'x', { ...master, 'X-Parse-File-Tags': '[1]' });
    assert.deepEqual(await notObject.json(), { code: 107, error: 'Invalid JSON in X-Parse-File-Tags header.' });
    const prohibited = await rawUpload(server, 'x.bin', 'x', {
      ...master,
      'X-Parse-File-Metadata': JSON.stringify({ nested: { constructor: 1 } }),
    });
    assert.equal(prohibited.status, 400);
    assert.deepEqual(await prohibited.json(), {
      code: 105,
      error: 'Prohibited keyword in request data: {"key":"constructor"}.',
    });
  });

  it('uploads over maxUploadSize are refused, raw or through the SDK form', async () => {
    const { server } = small;
    const tooBig = randomBytes(64 * 1024 + 1);
    const res = await rawUpload(server, 'big.bin', tooBig);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { code: 130, error: 'File size exceeds maximum allowed' });
    const json = await fetch(`${server.url}/files/big.bin`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ base64: tooBig.toString('base64'), _ApplicationId: server.appId, _JavaScriptKey: server.javascriptKey, _ContentType: 'x/y' }),
    });
    assert.equal(json.status, 400);
    assert.deepEqual(await json.json(), { code: 130, error: 'File size exceeds maximum allowed' });
    // A streamed body with no Content-Length is cut off at the limit too.
    const chunked = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(20 * 1024));
        controller.close();
      },
    });
    const streamed = await rawUpload(server, 'streamed.bin', chunked);
    assert.equal(streamed.status, 400);
    assert.deepEqual(await streamed.json(), { code: 130, error: 'File size exceeds maximum allowed' });
    // Exactly the limit is accepted (this server lets the public upload).
    const fits = await rawUpload(server, 'fits.bin', tooBig.subarray(1));
    assert.equal(fits.status, 201);
    // preserveFileName: the name is kept as given, so a second upload replaces the first.
    assert.equal((await fits.json()).name, 'fits.bin');
    const replaced = await rawUpload(server, 'fits.bin', 'second');
    assert.equal(replaced.status, 201);
    const { bytes } = await bytesAt(`${server.url}/files/${server.appId}/fits.bin`);
    assert.equal(bytes.toString(), 'second');
  });

  it('an empty body is refused and does not replace a preserved name', async () => {
    const { server } = small;
    assert.equal((await rawUpload(server, 'keep.bin', 'kept')).status, 201);
    const empty = await rawUpload(server, 'keep.bin', '');
    assert.equal(empty.status, 400);
    assert.deepEqual(await empty.json(), { code: 130, error: 'Invalid file upload.' });
    const emptyStream = new ReadableStream({ start: controller => controller.close() });
    const streamed = await rawUpload(server, 'keep.bin', emptyStream);
    assert.equal(streamed.status, 400);
    const { bytes } = await bytesAt(`${server.url}/files/${server.appId}/keep.bin`);
    assert.equal(bytes.toString(), 'kept');
  });

  it('fileExtensions set by the app replace the default', async () => {
    const { server } = small;
    const text = await rawUpload(server, 'notes.txt', 'x');
    assert.equal(text.status, 400);
    assert.deepEqual(await text.json(), { code: 130, error: 'File upload of extension txt is disabled.' });
    // Without a dot in the name, the content type's subtype is the extension.
    const typed = await rawUpload(server, 'noext', 'x', { 'Content-Type': 'application/bin' });
    assert.equal(typed.status, 201);
  });
});

describe('S3 URLs', { skip: !filesInS3 && 'files are on the local filesystem in this run' }, () => {
  // The SDK is one global: each test points it at its server.
  const direct = filesInS3
    ? useServer({ filesAdapter: s3FilesAdapter({ directAccess: true }, { publicRead: true }) }, { sdk: false })
    : null;
  const presigned = filesInS3
    ? useServer({ filesAdapter: s3FilesAdapter({ presignedUrl: true, presignedUrlExpires: 60 }) }, { sdk: false })
    : null;

  it('directAccess: File fields point at the bucket, which serves the bytes', async () => {
    const { server } = direct;
    const Parse = initParse(server);
    const file = new Parse.File('photo 1.jpg', Buffer.from('direct bytes'), 'image/jpeg');
    await file.save({ useMasterKey: true });
    const endpoint = process.env.REPARSE_TEST_S3_ENDPOINT;
    assert.ok(file.url().startsWith(`${endpoint}/`), file.url());
    assert.ok(file.url().endsWith(`_photo%201.jpg`), file.url());
    const cls = uniq('Album');
    const saved = await new Parse.Object(cls, { cover: file }).save();
    const fetched = await new Parse.Query(cls).get(saved.id);
    assert.equal(fetched.get('cover').url(), file.url());
    const { res, bytes } = await bytesAt(file.url());
    assertStatus(res, 200);
    assert.equal(bytes.toString(), 'direct bytes');
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    // Reparse's own URL still serves it.
    const through = await bytesAt(`${server.url}/files/${server.appId}/${encodeURIComponent(file.name())}`);
    assert.equal(through.bytes.toString(), 'direct bytes');
  });

  it('presignedUrl: Reparse redirects downloads to a presigned URL of the private bucket', async () => {
    const { server } = presigned;
    const Parse = initParse(server);
    const file = new Parse.File('secret.txt', Buffer.from('presigned bytes'), 'text/plain');
    await file.save({ useMasterKey: true });
    assert.ok(file.url().startsWith(`${server.url}/files/`), file.url());
    const redirect = await fetch(file.url(), { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const location = redirect.headers.get('location');
    assert.match(location, /X-Amz-Signature=/);
    assert.equal(await (await fetch(location)).text(), 'presigned bytes');
    const followed = await bytesAt(file.url());
    assert.equal(followed.bytes.toString(), 'presigned bytes');
    const missing = await fetch(`${server.url}/files/${server.appId}/missing.txt`, { redirect: 'manual' });
    assert.equal(missing.status, 404);
  });
});
