// The dashboard's pages after the data browser, in headless Chromium against the real binary
// (a registry server, no appId): schema (fields, class-level permissions, indexes), import and
// export, users and roles, the API console, cloud code and jobs, logs, Parse Config, and a
// read-only user.
// Every change made in a page is checked through the app's own REST API with its keys.
// Screenshots go to target/test-artifacts/dashboard/<db>/2x-…/3x-….
import { after, before, describe, it } from 'node:test';
import { ADMIN, VIEWER, openPage, shot, signIn } from './dashboard-browser.mjs';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { chromiumSkip, here, launchChromium, startRegistryServer, uniq, waitFor } from './harness.mjs';

const CLOUD_MAIN = join(here, 'cloud-app', 'cloud', 'main.js');

describe('dashboard pages in headless Chromium', { skip: chromiumSkip }, () => {
  let server;
  let browser;
  /** The signed-in admin's page, reused by the tests (each one navigates first). */
  let page;
  /** The app made in the dashboard, and its keys as the keys dialog showed them. */
  let appId;
  const keys = {};

  before(async () => {
    server = await startRegistryServer({ dashboardUsers: [ADMIN, VIEWER] });
    browser = await launchChromium();
    page = await openPage(browser);
    await signIn(page, server.origin, ADMIN);
    const made = await createApp(uniq('pages'));
    appId = made.appId;
    Object.assign(keys, made.keys);
  });

  /** Creates an app with the apps page's dialog and opens it; its id and the keys shown once. */
  async function createApp(name) {
    const appName = name.replace(/[^A-Za-z0-9_-]/g, '');
    await page.goto(`${server.origin}/dashboard/`);
    await page.getByTestId('create-app').click();
    await page.getByTestId('app-name-input').fill(appName);
    await page.getByTestId('dialog-confirm').click();
    const keysDialog = page.getByTestId('keys-dialog');
    await keysDialog.waitFor();
    const shown = {};
    for (const key of ['applicationId', 'masterKey', 'restAPIKey']) {
      shown[key] = (await page.getByTestId(`key-${key}`).textContent()).trim();
    }
    await keysDialog.getByTestId('dialog-confirm').click();
    await page.getByTestId(`app-row-${appName}`).getByTestId('open-app').click();
    await page.waitForURL(/\/dashboard\/apps\/[^/]+\/browser/);
    const id = decodeURIComponent(/\/apps\/([^/]+)\//.exec(page.url())[1]);
    assert.equal(id, shown.applicationId);
    return { appId: id, keys: shown };
  }

  after(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });

  /** Opens one of the app's pages by its URL (server.origin may change on restart). */
  async function go(p, path) {
    await p.goto(`${server.origin}/dashboard/apps/${encodeURIComponent(appId)}/${path}`);
  }

  /**
   * The app's own REST API as a client holding its keys calls it: the REST API key, plus the
   * master key with `{master: true}` or a session with `{session}`.
   */
  async function rest(method, path, body, { master = false, session, appKeys = keys } = {}) {
    const headers = {
      'X-Parse-Application-Id': appKeys.applicationId,
      'X-Parse-REST-API-Key': appKeys.restAPIKey,
    };
    if (master) headers['X-Parse-Master-Key'] = appKeys.masterKey;
    if (session) headers['X-Parse-Session-Token'] = session;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${server.url}/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, body: json, text };
  }
  const q = value => encodeURIComponent(JSON.stringify(value));

  async function schemaOf(className) {
    const r = await rest('GET', `schemas/${className}`, undefined, { master: true });
    assert.equal(r.status, 200, r.text);
    return r.body;
  }

  async function objectIds(className, appKeys = keys) {
    const r = await rest('GET', `classes/${className}?limit=1000`, undefined, { master: true, appKeys });
    assert.equal(r.status, 200, r.text);
    return r.body.results.map(o => o.objectId).sort();
  }

  async function text(locator) {
    return (await locator.textContent()) ?? '';
  }

  /** Clicks the logs page's refresh and waits for its answer to be shown. */
  async function refreshLogs(p) {
    const answered = p.waitForResponse(r => r.url().includes('/scriptlog?'));
    await p.getByTestId('logs-refresh').click();
    await answered;
    await waitFor(() => p.getByTestId('logs-refresh').isEnabled(), 'the logs to load');
  }

  /** One line of CSV (no line breaks inside values): quoted values may hold commas and "". */
  function parseCsvLine(line) {
    const values = [];
    const re = /(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g;
    let m;
    while ((m = re.exec(line)) !== null) {
      if (m[0] === '') re.lastIndex++; // an empty first value
      values.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
      if (re.lastIndex === line.length) break;
    }
    return values;
  }

  it('schema page: a CLP edit refuses clients, fields and indexes reach the schema', async () => {
    const className = 'Secretive';
    const created = await rest('POST', 'batch', {
      requests: ['a', 'b'].map(note => ({ method: 'POST', path: `/parse/classes/${className}`, body: { note } })),
    }, { master: true });
    assert.equal(created.status, 200, created.text);
    const [firstId] = created.body.map(r => r.success.objectId);
    // Public by default: a client reads it.
    assert.equal((await rest('GET', `classes/${className}`)).status, 200);

    await go(page, `schema/${className}`);
    await page.getByTestId('clp-editor').waitFor();
    assert.equal(await text(page.getByTestId('schema-class-title')), className);

    // Fields: a required Number with a default, a pointer, and one added then deleted.
    await page.getByTestId('field-name-input').fill('rating');
    await page.getByTestId('field-type-select').selectOption('Number');
    await page.getByTestId('field-required').check();
    await page.getByTestId('field-default').fill('5');
    await page.getByTestId('field-add').click();
    await page.getByTestId('field-row-rating').waitFor();
    await page.getByTestId('field-name-input').fill('owner');
    await page.getByTestId('field-type-select').selectOption('Pointer');
    await page.getByTestId('field-target-select').selectOption('_User');
    await page.getByTestId('field-add').click();
    await page.getByTestId('field-row-owner').waitFor();
    await page.getByTestId('field-name-input').fill('scratch');
    await page.getByTestId('field-type-select').selectOption('String');
    await page.getByTestId('field-add').click();
    await page.getByTestId('field-delete-scratch').click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('field-row-scratch').waitFor({ state: 'detached' });

    // An index on the new field.
    await page.getByTestId('index-name-input').fill('rating_1');
    await page.getByTestId('index-field-select').selectOption('rating');
    await page.getByTestId('index-add').click();
    await page.getByTestId('index-row-rating_1').waitFor();
    await shot(page, '20-schema-fields-indexes');

    let schema = await schemaOf(className);
    assert.deepEqual(schema.fields.rating, { type: 'Number', required: true, defaultValue: 5 });
    assert.deepEqual(schema.fields.owner, { type: 'Pointer', targetClass: '_User' });
    assert.equal(schema.fields.scratch, undefined, 'the deleted field is gone');
    assert.deepEqual(schema.indexes?.rating_1, { rating: 1 });

    // Two users: `owner1` owns object a; `helper2` gets the class's `get` by id, and the
    // Moderators role that may delete.
    const signUp = async username => {
      const r = await rest('POST', 'users', { username, password: `${username}-password` });
      assert.equal(r.status, 201, r.text);
      return r.body;
    };
    const owner1 = await signUp('owner1');
    const helper2 = await signUp('helper2');
    const setOwner = await rest('PUT', `classes/${className}/${firstId}`, { owner: { __type: 'Pointer', className: '_User', objectId: owner1.objectId } }, { master: true });
    assert.equal(setOwner.status, 200, setOwner.text);

    // CLP: no public find/get/update/delete; get for helper2 by id; update for the users in
    // `owner`; delete for role:Moderators; `note` hidden from the public.
    for (const op of ['find', 'get', 'update', 'delete']) await page.getByTestId(`clp-cell-*-${op}`).uncheck();
    await page.getByTestId('clp-add-pointer-select').selectOption('owner');
    await page.getByTestId('clp-add-pointer').click();
    await page.getByTestId('clp-cell-pointer:owner-update').check();
    await page.getByTestId('clp-add-entry-input').fill('role:Moderators');
    await page.getByTestId('clp-add-entry').click();
    await page.getByTestId('clp-cell-role:Moderators-delete').check();
    await page.getByTestId('clp-add-entry-input').fill(helper2.objectId);
    await page.getByTestId('clp-add-entry').click();
    await page.getByTestId(`clp-cell-${helper2.objectId}-get`).check();
    await page.getByTestId('protected-fields-*').selectOption(['note']);
    await page.getByTestId('clp-save').click();
    await page.getByTestId('clp-editor').getByRole('status').waitFor();
    await shot(page, '21-schema-clp-saved');

    schema = await schemaOf(className);
    const clp = schema.classLevelPermissions;
    assert.deepEqual(clp.find, {});
    assert.deepEqual(clp.get, { [helper2.objectId]: true });
    assert.deepEqual(clp.update, { pointerFields: ['owner'] });
    assert.deepEqual(clp.delete, { 'role:Moderators': true });
    assert.deepEqual(clp.create, { '*': true });
    assert.deepEqual(clp.protectedFields, { '*': ['note'] });
    // The grid shows what was stored after the reload.
    assert.equal(await page.getByTestId('clp-cell-pointer:owner-update').isChecked(), true);
    assert.equal(await page.getByTestId('clp-cell-*-find').isChecked(), false);

    // A client is refused (parse-server: 119 "Permission denied for action find on class …").
    const find = await rest('GET', `classes/${className}`);
    assert.deepEqual([find.status, find.body?.code], [400, 119], `find as a client: ${find.text}`);
    assert.match(find.body.error, /^Permission denied( for action find on class Secretive\.)?$/);
    const get = await rest('GET', `classes/${className}/${firstId}`);
    assert.deepEqual([get.status, get.body?.code], [400, 119], `get as a client: ${get.text}`);
    assert.equal((await rest('GET', `classes/${className}/${firstId}`, undefined, { session: owner1.sessionToken })).body?.code, 119);
    // helper2 may get it by id, without the protected `note`; still not find.
    const helperGet = await rest('GET', `classes/${className}/${firstId}`, undefined, { session: helper2.sessionToken });
    assert.equal(helperGet.status, 200, helperGet.text);
    assert.equal(helperGet.body.objectId, firstId);
    assert.equal('note' in helperGet.body, false, `note is protected: ${helperGet.text}`);
    assert.equal((await rest('GET', `classes/${className}`, undefined, { session: helper2.sessionToken })).body?.code, 119);
    // Only the owner updates (parse-server: anyone else gets 101 Object not found).
    const ownerPut = await rest('PUT', `classes/${className}/${firstId}`, { rating: 7 }, { session: owner1.sessionToken });
    assert.equal(ownerPut.status, 200, ownerPut.text);
    const helperPut = await rest('PUT', `classes/${className}/${firstId}`, { rating: 8 }, { session: helper2.sessionToken });
    assert.deepEqual([helperPut.status, helperPut.body?.code], [404, 101], helperPut.text);
    // Only Moderators delete.
    const [, secondId] = created.body.map(r => r.success.objectId);
    const ownerDelete = await rest('DELETE', `classes/${className}/${secondId}`, undefined, { session: owner1.sessionToken });
    assert.deepEqual([ownerDelete.status, ownerDelete.body?.code], [400, 119], ownerDelete.text);
    const role = await rest('POST', 'roles', {
      name: 'Moderators',
      ACL: { '*': { read: true } },
      users: { __op: 'AddRelation', objects: [{ __type: 'Pointer', className: '_User', objectId: helper2.objectId }] },
    }, { master: true });
    assert.equal(role.status, 201, role.text);
    const helperDelete = await rest('DELETE', `classes/${className}/${secondId}`, undefined, { session: helper2.sessionToken });
    assert.equal(helperDelete.status, 200, helperDelete.text);

    // Creating is still public; the master key still reads everything, protected fields too.
    assert.equal((await rest('POST', `classes/${className}`, { note: 'c' })).status, 201);
    const asMaster = await rest('GET', `classes/${className}?order=note`, undefined, { master: true });
    assert.equal(asMaster.status, 200);
    assert.deepEqual(asMaster.body.results.map(o => o.note), ['a', 'c']);
    // The default value fills objects created after the field was added.
    assert.deepEqual(asMaster.body.results.map(o => o.rating), [7, 5]);
    assert.deepEqual(page.errors, []);
  });

  it('import page: a CSV with one bad row imports the good rows only, and says which failed', async () => {
    const className = 'Score';
    const made = await rest('POST', `schemas/${className}`, {
      className,
      fields: { player: { type: 'String' }, points: { type: 'Number' } },
    }, { master: true });
    assert.equal(made.status, 200, made.text);

    await go(page, `data/${className}`);
    await page.getByTestId('import-file').waitFor();
    assert.equal(await page.getByTestId('import-class-select').inputValue(), className);
    // New columns are guessed (team String, joined Date, active Boolean); a quoted comma stays.
    const csv = [
      'player,points,team,joined,active',
      'alice,10,red,2024-01-02,true',
      'bob,twenty,blue,2024-02-03,false',
      '"carol, jr",30,"red",2024-03-04T05:06:07Z,false',
      'dave,40,blue,,true',
    ].join('\r\n');
    await page.getByTestId('import-file').setInputFiles({ name: 'scores.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const preview = page.getByTestId('import-preview');
    await preview.waitFor();
    const previewRows = await preview.locator('tbody tr').allTextContents();
    assert.equal(previewRows.length, 4);
    assert.match(previewRows[0], /alice.*10.*red/);
    assert.match(previewRows[1], /bob.*twenty/);
    assert.equal(await page.getByTestId('import-map-points').inputValue(), 'Number', 'an existing field keeps its type');
    assert.equal(await page.getByTestId('import-map-team').inputValue(), 'String', 'a new column is guessed');
    assert.equal(await page.getByTestId('import-map-joined').inputValue(), 'Date');
    assert.equal(await page.getByTestId('import-map-active').inputValue(), 'Boolean');
    await shot(page, '22-import-preview');

    await page.getByTestId('import-start').click();
    const summary = page.getByTestId('import-summary');
    await summary.waitFor();
    assert.equal((await text(summary)).trim(), '3 imported, 1 failed');
    const progress = page.getByTestId('import-progress');
    assert.equal(await progress.getAttribute('aria-valuenow'), '4');
    assert.equal(await progress.getAttribute('aria-valuemax'), '4');
    const errorRows = page.getByTestId('import-error-row');
    assert.equal(await errorRows.count(), 1);
    const cells = await errorRows.first().locator('td').allTextContents();
    assert.equal(cells[0].trim(), '2', 'the bad row is the 2nd data row');
    assert.match(cells[1], /points/);
    assert.match(cells[1], /twenty/);
    await shot(page, '23-import-report');

    const stored = await rest('GET', `classes/${className}?order=player`, undefined, { master: true });
    assert.deepEqual(
      stored.body.results.map(o => [o.player, o.points, o.team, o.joined?.iso, o.active]),
      [
        ['alice', 10, 'red', '2024-01-02T00:00:00.000Z', true],
        ['carol, jr', 30, 'red', '2024-03-04T05:06:07.000Z', false],
        ['dave', 40, 'blue', undefined, true],
      ]
    );
    assert.equal((await rest('GET', `classes/${className}?where=${q({ player: 'bob' })}&count=1&limit=0`, undefined, { master: true })).body.count, 0);
    const fields = (await schemaOf(className)).fields;
    assert.deepEqual([fields.team?.type, fields.joined?.type, fields.active?.type], ['String', 'Date', 'Boolean'], 'new columns became fields');
    assert.deepEqual(page.errors, []);
  });

  it('export page: a class as JSON and as CSV holds every object', async () => {
    const className = 'Score';
    // More objects, so the export is not just the three imported.
    const added = await rest('POST', 'batch', {
      requests: Array.from({ length: 12 }, (_, i) => ({
        method: 'POST',
        path: `/parse/classes/${className}`,
        body: { player: `p${i}`, points: i },
      })),
    }, { master: true });
    assert.equal(added.status, 200, added.text);
    const ids = await objectIds(className);
    assert.equal(ids.length, 15);

    await go(page, `data/${className}`);
    await page.getByTestId('export-class-select').waitFor();
    await page.getByTestId('export-class-select').selectOption(className);
    await page.getByTestId('export-format').selectOption('json');
    await page.evaluate(() => {
      window.__lastExport = undefined;
    });
    await page.getByTestId('export-start').click();
    const exported = await waitFor(() => page.evaluate(() => window.__lastExport), 'the JSON export');
    assert.equal(exported.filename, `${className}.json`);
    const parsed = JSON.parse(exported.text);
    assert.deepEqual(Object.keys(parsed), ['results']);
    assert.deepEqual(parsed.results.map(o => o.objectId).sort(), ids);
    const alice = parsed.results.find(o => o.player === 'alice');
    assert.equal(alice.points, 10);
    assert.match(alice.createdAt, /^\d{4}-\d{2}-\d{2}T/);
    await page.getByTestId('export-result').waitFor();
    await shot(page, '24-export-json');

    // The export imports again as it is, into another class: the same rows, new objectIds.
    const copy = 'ScoreCopy';
    assert.equal((await rest('POST', `schemas/${copy}`, { className: copy }, { master: true })).status, 200);
    await go(page, `data/${copy}`);
    await page.getByTestId('import-file').setInputFiles({ name: exported.filename, mimeType: 'application/json', buffer: Buffer.from(exported.text) });
    await page.getByTestId('import-preview').waitFor();
    assert.equal(await page.getByTestId('import-map-objectId').inputValue(), 'skip', 'objectIds are not kept by default');
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-summary').waitFor();
    assert.equal((await text(page.getByTestId('import-summary'))).trim(), `${ids.length} imported, 0 failed`);
    const copied = await rest('GET', `classes/${copy}?limit=1000`, undefined, { master: true });
    const rowsOf = results => results.map(o => JSON.stringify([o.player, o.points, o.team, o.joined, o.active])).sort();
    assert.deepEqual(rowsOf(copied.body.results), rowsOf(parsed.results));
    assert.ok(copied.body.results.every(o => !ids.includes(o.objectId)));
    const copySchema = await schemaOf(copy);
    assert.equal(copySchema.fields.points?.type, 'Number');
    assert.equal(copySchema.fields.player?.type, 'String');
    assert.equal(copySchema.fields.joined?.type, 'Date');
    assert.equal(copySchema.fields.active?.type, 'Boolean');
    await go(page, `data/${className}`);
    await page.getByTestId('export-class-select').waitFor();

    await page.getByTestId('export-format').selectOption('csv');
    await page.evaluate(() => {
      window.__lastExport = undefined;
    });
    await page.getByTestId('export-start').click();
    const csv = await waitFor(() => page.evaluate(() => window.__lastExport), 'the CSV export');
    assert.equal(csv.filename, `${className}.csv`);
    const [header, ...lines] = csv.text.trim().split('\n').map(parseCsvLine);
    assert.equal(lines.length, ids.length);
    const column = name => header.indexOf(name);
    assert.ok(['objectId', 'player', 'points', 'joined'].every(name => column(name) >= 0), header.join(','));
    assert.deepEqual(lines.map(line => line[column('objectId')]).sort(), ids);
    const carol = lines.find(line => line[column('player')] === 'carol, jr');
    assert.ok(carol, 'a value with a comma is quoted');
    assert.equal(carol[column('points')], '30');
    assert.match(carol[column('joined')], /^2024-03-04T05:06:07(\.000)?Z$/);
    assert.deepEqual(page.errors, []);
  });

  it('users & roles page: a role gets a user and a child role, as REST sees them', async () => {
    const user = await rest('POST', 'users', { username: 'ruth', password: 'ruth-password' });
    assert.equal(user.status, 201, user.text);
    const userId = user.body.objectId;

    await go(page, 'users');
    await page.getByTestId('user-search').fill('ruth');
    await page.getByTestId(`user-row-${userId}`).waitFor();

    await page.getByTestId('role-name-input').fill('Editors');
    await page.getByTestId('role-create').click();
    await page.getByTestId('role-Editors').waitFor();
    await waitFor(async () => (await text(page.getByTestId('role-detail-name'))) === 'Editors', 'the new role to be opened');
    await page.getByTestId('role-add-user-input').fill('ruth');
    await page.getByTestId('role-add-user').click();
    await page.getByTestId(`role-member-${userId}`).waitFor();

    const roles = await rest('GET', `classes/_Role?where=${q({ name: 'Editors' })}`, undefined, { master: true });
    assert.equal(roles.body.results.length, 1, roles.text);
    const editors = roles.body.results[0];
    assert.deepEqual(editors.ACL, { '*': { read: true } });
    const rolePointer = id => ({ __type: 'Pointer', className: '_Role', objectId: id });
    const members = await rest('GET', `classes/_User?where=${q({ $relatedTo: { object: rolePointer(editors.objectId), key: 'users' } })}`, undefined, { master: true });
    assert.equal(members.status, 200, members.text);
    assert.deepEqual(members.body.results.map(u => u.username), ['ruth']);

    // A second role holding the first one.
    await page.getByTestId('role-name-input').fill('Chiefs');
    await page.getByTestId('role-create').click();
    await waitFor(async () => (await text(page.getByTestId('role-detail-name'))) === 'Chiefs', 'the second role to be opened');
    await page.getByTestId('role-add-child-select').selectOption(editors.objectId);
    await page.getByTestId('role-add-child').click();
    await page.getByTestId('role-child-Editors').waitFor();
    await shot(page, '25-roles');
    const chiefs = (await rest('GET', `classes/_Role?where=${q({ name: 'Chiefs' })}`, undefined, { master: true })).body.results[0];
    const children = await rest('GET', `classes/_Role?where=${q({ $relatedTo: { object: rolePointer(chiefs.objectId), key: 'roles' } })}`, undefined, { master: true });
    assert.deepEqual(children.body.results.map(r => r.name), ['Editors']);
    // ruth now belongs to Editors: a role-only read lets her through, and nobody else.
    const secret = await rest('POST', 'classes/RoleNote', { text: 'for editors', ACL: { 'role:Editors': { read: true } } }, { master: true });
    assert.equal(secret.status, 201, secret.text);
    const login = await rest('POST', 'login', { username: 'ruth', password: 'ruth-password' });
    assert.equal((await rest('GET', 'classes/RoleNote', undefined, { session: login.body.sessionToken })).body.results.length, 1);
    assert.equal((await rest('GET', 'classes/RoleNote')).body.results.length, 0);
    assert.deepEqual(page.errors, []);
  });

  it('API console: master reads a class; a client needs a session where the CLP asks for one', async () => {
    const className = 'Private';
    const made = await rest('POST', `classes/${className}`, { title: 'hidden' }, { master: true });
    assert.equal(made.status, 201, made.text);
    const objectId = made.body.objectId;

    // The CLP, set in the schema page: find and get need an authenticated user.
    await go(page, `schema/${className}`);
    await page.getByTestId('clp-editor').waitFor();
    for (const op of ['find', 'get']) {
      await page.getByTestId(`clp-cell-*-${op}`).uncheck();
      await page.getByTestId(`clp-cell-requiresAuthentication-${op}`).check();
    }
    await page.getByTestId('clp-save').click();
    await page.getByTestId('clp-editor').getByRole('status').waitFor();
    const clp = (await schemaOf(className)).classLevelPermissions;
    assert.deepEqual(clp.find, { requiresAuthentication: true });
    assert.deepEqual(clp.get, { requiresAuthentication: true });

    const signup = await rest('POST', 'users', { username: 'console-user', password: 'console-password' });
    assert.equal(signup.status, 201, signup.text);
    const token = signup.body.sessionToken;
    // The REST API agrees with what the console will show.
    assert.equal((await rest('GET', `classes/${className}`, undefined, { session: token })).status, 200);
    // parse-server: 404 {code: 101, error: "Permission denied, user needs to be authenticated."}.
    const refusedRest = await rest('GET', `classes/${className}`);
    assert.deepEqual([refusedRest.status, refusedRest.body?.code], [404, 101], refusedRest.text);
    assert.match(refusedRest.body.error, /^Permission denied(, user needs to be authenticated\.)?$/);

    await go(page, 'console');
    /** Sends the console's request; its answer as the page shows it, once the page has it. */
    const send = async () => {
      const answered = page.waitForResponse(r => r.url().includes(`/dashboard/api/apps/`) && r.url().includes('/parse/'));
      await page.getByTestId('console-send').click();
      await answered;
      await waitFor(() => page.getByTestId('console-send').isEnabled(), 'the console answer');
      return {
        status: (await text(page.getByTestId('console-status'))).trim(),
        body: JSON.parse(await text(page.getByTestId('console-response'))),
      };
    };
    await page.getByTestId('console-method').selectOption('GET');
    await page.getByTestId('console-path').fill(`classes/${className}`);
    await page.getByTestId('console-as').selectOption('master');
    let answer = await send();
    assert.match(answer.status, /^200\b/);
    assert.deepEqual(answer.body.results.map(o => o.objectId), [objectId]);
    assert.equal(answer.body.results[0].title, 'hidden');
    await shot(page, '26-console-master');

    await page.getByTestId('console-as').selectOption('client');
    await page.getByTestId('console-session').fill(token);
    answer = await send();
    assert.match(answer.status, /^200\b/);
    assert.deepEqual(answer.body.results.map(o => o.objectId), [objectId]);

    // A query through the body box: where as JSON.
    await page.getByTestId('console-body').fill(JSON.stringify({ where: { title: 'nothing' } }));
    answer = await send();
    assert.match(answer.status, /^200\b/);
    assert.deepEqual(answer.body.results, []);
    await page.getByTestId('console-body').fill('');

    await page.getByTestId('console-session').fill('');
    answer = await send();
    assert.equal(answer.status.split(' ')[0], String(refusedRest.status));
    assert.deepEqual(answer.body, refusedRest.body, 'the console shows what the REST API answers a client');
    await shot(page, '27-console-client-refused');
    assert.deepEqual(page.errors, []);
  });

  it('cloud code page, jobs, schedules and the logs page, once the app has cloud code', async () => {
    // The app's `cloud` setting, through the settings page's JSON editor.
    await go(page, 'settings');
    const editor = page.getByTestId('settings-json');
    await editor.waitFor();
    const settings = JSON.parse(await editor.inputValue());
    await editor.fill(JSON.stringify({ ...settings, cloud: CLOUD_MAIN }, null, 2));
    await page.getByTestId('settings-save').click();
    await waitFor(async () => {
      const app = await page.evaluate(async id => (await fetch(`/dashboard/api/apps/${encodeURIComponent(id)}`)).json(), appId);
      return app.settings?.cloud === CLOUD_MAIN;
    }, 'the cloud setting to be saved');
    await shot(page, '28-settings-cloud');
    await page.context().close();

    // Restart: the app starts with its cloud code (the port may change).
    await server.restart();
    page = await openPage(browser);
    await signIn(page, server.origin, ADMIN);
    const hello = await rest('POST', 'functions/hello', { name: 'pages' });
    assert.deepEqual(hello.body, { result: 'Hello, pages!' }, hello.text);

    await go(page, 'cloud');
    await page.getByTestId('cloud-function-hello').waitFor();
    for (const name of ['stats', 'logSomething', 'createNote']) await page.getByTestId(`cloud-function-${name}`).waitFor();
    await page.getByTestId('cloud-trigger-beforeSave-Review').waitFor();
    await page.getByTestId('cloud-file-main.js').waitFor();
    await waitFor(async () => (await text(page.getByTestId('cloud-viewer'))).includes("Parse.Cloud.define('hello'"), 'main.js in the viewer');
    await page.getByTestId('cloud-file-helpers.js').click();
    await waitFor(async () => (await text(page.getByTestId('cloud-viewer'))).includes('shout'), 'helpers.js in the viewer');
    await shot(page, '29-cloud-code');

    // Run a job with parameters, and one that fails.
    await page.getByTestId('job-params').fill('{"limit": 3}');
    await page.getByTestId('job-run-archiveReviews').click();
    await waitFor(() => page.getByTestId('job-run-brokenJob').isEnabled(), 'the job to start');
    await page.getByTestId('job-params').fill('');
    await page.getByTestId('job-run-brokenJob').click();
    const statusRow = status => page.getByTestId('job-status-row').filter({ hasText: status });
    await waitFor(async () => {
      await page.getByTestId('job-history-refresh').click();
      return (await statusRow('succeeded').count()) === 1 && (await statusRow('failed').count()) === 1;
    }, 'the jobs to finish', { ms: 10000, every: 300 });
    const succeededRow = await text(statusRow('succeeded'));
    assert.match(succeededRow, /archiveReviews/);
    assert.match(succeededRow, /looked at 0 reviews with \{"limit":3\}/);
    assert.match(await text(statusRow('failed')), /brokenJob.*the archive is unreachable/);
    await shot(page, '30-job-history');
    const statuses = await rest('GET', 'classes/_JobStatus?order=jobName', undefined, { master: true });
    assert.equal(statuses.status, 200, statuses.text);
    assert.deepEqual(
      statuses.body.results.map(s => [s.jobName, s.status]),
      [
        ['archiveReviews', 'succeeded'],
        ['brokenJob', 'failed'],
      ]
    );
    assert.deepEqual(statuses.body.results[0].params, { limit: 3 });
    // Job statuses need the master key (parse-server: 119 "Clients aren't allowed to perform …").
    const clientStatuses = await rest('GET', 'classes/_JobStatus');
    assert.deepEqual([clientStatuses.status, clientStatuses.body?.code], [400, 119], clientStatuses.text);

    // A daily schedule.
    await page.getByTestId('schedule-add').click();
    await page.getByTestId('schedule-job-select').selectOption('archiveReviews');
    await page.getByTestId('schedule-description').fill('nightly archive');
    await page.getByTestId('schedule-kind').selectOption('daily');
    await page.getByTestId('schedule-time').fill('03:30');
    await page.getByTestId('schedule-timezone').fill('Europe/Paris');
    await page.getByTestId('schedule-params').fill('{"full": true}');
    await page.getByTestId('schedule-save').click();
    await page.getByTestId('schedule-table').filter({ hasText: 'nightly archive' }).waitFor();
    await shot(page, '31-schedules');
    const schedules = await rest('GET', 'classes/_JobSchedule', undefined, { master: true });
    assert.equal(schedules.body.results.length, 1, schedules.text);
    const schedule = schedules.body.results[0];
    assert.equal(schedule.jobName, 'archiveReviews');
    assert.equal(schedule.description, 'nightly archive');
    assert.equal(schedule.repeatMinutes, 1440);
    assert.equal(schedule.timeOfDay, '03:30:00');
    assert.equal(schedule.timeZone, 'Europe/Paris');
    assert.deepEqual(JSON.parse(schedule.params), { full: true });
    await page.getByTestId(`schedule-delete-${schedule.objectId}`).click();
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId(`schedule-row-${schedule.objectId}`).waitFor({ state: 'detached' });
    assert.deepEqual((await rest('GET', 'classes/_JobSchedule', undefined, { master: true })).body.results, []);

    // Logs: a function's console.log shows on the logs page.
    const logged = await rest('POST', 'functions/logSomething', {});
    assert.deepEqual(logged.body, { result: true }, logged.text);
    await page.getByTestId('nav-logs').click();
    await page.waitForURL(/\/logs$/);
    const hiLines = page.getByTestId('log-line').filter({ hasText: 'cloud says hi' });
    await waitFor(async () => {
      if ((await hiLines.count()) > 0) return true;
      await page.getByTestId('logs-refresh').click();
      return false;
    }, 'cloud says hi on the logs page', { ms: 8000, every: 300 });
    await page.getByTestId('log-line').filter({ hasText: 'through request.log' }).first().waitFor();
    assert.match(await text(hiLines.first().locator('.logs-level')), /^info$/i);
    // Newest first, as the server answers: the same lines as REST /scriptlog with the master key
    // (compared again after a refresh should a line arrive in between).
    let scriptlog;
    let shown;
    await waitFor(async () => {
      scriptlog = await rest('GET', 'scriptlog?level=info&n=100&order=desc', undefined, { master: true });
      assert.equal(scriptlog.status, 200, scriptlog.text);
      await refreshLogs(page);
      shown = await page.getByTestId('log-line').evaluateAll(lines =>
        lines.map(line => [line.querySelector('.logs-level').textContent, line.querySelector('.logs-message').textContent])
      );
      return isDeepStrictEqual(shown, scriptlog.body.map(l => [l.level, l.message]));
    }, () => `the page shows ${JSON.stringify(shown)}, REST ${scriptlog.text}`);
    assert.ok(scriptlog.body.some(l => l.message === 'cloud says hi' && l.level === 'info'), scriptlog.text);
    assert.ok(scriptlog.body.some(l => /^job brokenJob failed: the archive is unreachable/.test(l.message) && l.level === 'warn'), scriptlog.text);
    const times = scriptlog.body.map(l => Date.parse(l.timestamp));
    assert.deepEqual(times, [...times].sort((x, y) => y - x), 'newest first');
    await shot(page, '32-logs');

    // The count select asks for that many lines.
    const asked = page.waitForRequest(r => r.url().includes('/scriptlog?') && /[?&]n=50\b/.test(r.url()));
    await page.getByTestId('logs-size').selectOption('50');
    await asked;

    // Errors only: the info lines go.
    await page.getByTestId('logs-level').selectOption('error');
    await waitFor(async () => (await hiLines.count()) === 0, 'info lines hidden by "Errors only"');
    const errorLevels = await page.getByTestId('log-line').locator('.logs-level').allTextContents();
    assert.ok(errorLevels.every(l => /^error$/i.test(l)), errorLevels.join(','));
    if (errorLevels.length === 0) await page.getByTestId('logs-empty').waitFor();
    await shot(page, '33-logs-errors-only');

    // Auto-refresh picks up a new line without a click.
    await page.getByTestId('logs-level').selectOption('info');
    await waitFor(async () => (await hiLines.count()) === 1, 'the info lines back');
    await page.getByTestId('logs-auto').check();
    assert.deepEqual((await rest('POST', 'functions/logSomething', {})).body, { result: true });
    await waitFor(async () => (await hiLines.count()) === 2, 'the auto-refresh to show the new line', { ms: 9000, every: 200 });
    await page.getByTestId('logs-auto').uncheck();
    assert.deepEqual(page.errors, []);
  });

  it('whole-app archive: downloaded from one app and imported into a new one, all or nothing', async () => {
    const signup = await rest('POST', 'users', { username: 'archived-user', password: 'archived-password' });
    assert.equal(signup.status, 201, signup.text);
    await go(page, 'data');
    await page.getByTestId('archive-download').waitFor();
    await shot(page, '27a-archive-section');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('archive-download').click()]);
    assert.match(download.suggestedFilename(), /\.tar\.gz$/);
    const archive = join(mkdtempSync(join(tmpdir(), 'reparse-archive-')), download.suggestedFilename());
    await download.saveAs(archive);

    // Back into the same app: it holds data, so nothing happens and the page says why.
    await page.getByTestId('archive-file').setInputFiles(archive);
    await page.getByTestId('archive-import').click();
    await waitFor(async () => (await text(page.getByTestId('alert'))).includes('already holds data'), 'the refusal');

    const copy = await createApp(uniq('copy'));
    await page.goto(`${server.origin}/dashboard/apps/${encodeURIComponent(copy.appId)}/data`);
    await page.getByTestId('archive-file').setInputFiles(archive);
    await page.getByTestId('archive-import').click();
    await page.getByTestId('archive-result').waitFor({ timeout: 30000 });
    assert.match(await text(page.getByTestId('archive-result')), /^Imported \d+ classes, [\d,]+ objects/);
    await shot(page, '27b-archive-imported');
    for (const className of ['Secretive', 'Score', '_Role']) {
      assert.deepEqual(await objectIds(className, copy.keys), await objectIds(className), className);
    }
    assert.deepEqual((await schemaOf('Secretive')).classLevelPermissions, (await rest('GET', 'schemas/Secretive', undefined,
      { master: true, appKeys: copy.keys })).body.classLevelPermissions);
    // Relations came along: the Editors role's users.
    const editorsUsers = async appKeys => {
      const role = (await rest('GET', `classes/_Role?where=${q({ name: 'Editors' })}`, undefined, { master: true, appKeys })).body.results[0];
      const related = { $relatedTo: { object: { __type: 'Pointer', className: '_Role', objectId: role.objectId }, key: 'users' } };
      const users = await rest('GET', `users?where=${q(related)}`, undefined, { master: true, appKeys });
      return users.body.results.map(u => u.username).sort();
    };
    const editors = await editorsUsers(keys);
    assert.ok(editors.length > 0);
    assert.deepEqual(await editorsUsers(copy.keys), editors);
    // Users sign in to the copy with the passwords they had.
    const login = await rest('POST', 'login', { username: 'archived-user', password: 'archived-password' }, { appKeys: copy.keys });
    assert.equal(login.status, 200, login.text);
    assert.deepEqual(page.errors, []);
  });

  it('config page: parameters added, edited and deleted, as clients and the master key see them', async () => {
    // Dates are shown and edited in local time: a page in a zone half an hour off the hour,
    // without daylight saving time.
    const local = await openPage(browser, { timezoneId: 'Asia/Kolkata' });
    await signIn(local, server.origin, ADMIN);
    await go(local, 'config');
    await local.getByTestId('config-empty').waitFor();

    const add = async (name, type, value, { masterKeyOnly = false } = {}) => {
      await local.getByTestId('config-add-name').fill(name);
      await local.getByTestId('config-add-type').selectOption(type);
      await local.getByTestId('config-add-value').fill(value);
      if (masterKeyOnly) await local.getByTestId('config-add-master-only').check();
      await local.getByTestId('config-add').click();
      await local.getByTestId(`config-row-${name}`).waitFor();
    };
    await add('welcome', 'String', 'Hello, players');
    await add('maxPlayers', 'Number', '12', { masterKeyOnly: true });
    await add('launchAt', 'Date', '2026-05-06T07:08:09.123');
    // 07:08:09.123 in Kolkata (UTC+05:30), to the millisecond.
    const launchAt = { __type: 'Date', iso: '2026-05-06T01:38:09.123Z' };

    const config = async options => {
      const r = await rest('GET', 'config', undefined, options);
      assert.equal(r.status, 200, r.text);
      return r.body;
    };
    let asMaster = await config({ master: true });
    assert.deepEqual(asMaster.params, { welcome: 'Hello, players', maxPlayers: 12, launchAt });
    assert.equal(asMaster.masterKeyOnly.maxPlayers, true);
    assert.ok(!asMaster.masterKeyOnly.welcome && !asMaster.masterKeyOnly.launchAt, JSON.stringify(asMaster));
    let asClient = await config();
    assert.deepEqual(asClient.params, { welcome: 'Hello, players', launchAt }, 'a client does not get the master-only parameter');
    // The list shows the date in local time, and its stored UTC value in the tooltip.
    const launchCell = local.getByTestId('config-value-launchAt');
    assert.equal((await text(launchCell)).trim(), '2026-05-06 07:08:09.123');
    assert.equal(await launchCell.getAttribute('title'), launchAt.iso);

    // A value edited (the flag stays), then a flag alone (the date stays exact).
    await local.getByTestId('config-edit-maxPlayers').click();
    await local.getByTestId('config-edit-value').fill('16');
    await local.getByTestId('dialog-confirm').click();
    await waitFor(async () => (await text(local.getByTestId('config-value-maxPlayers'))).trim() === '16', 'the edited value');
    await local.getByTestId('config-edit-launchAt').click();
    assert.equal(await local.getByTestId('config-edit-value').inputValue(), '2026-05-06T07:08:09.123', 'the editor shows local time');
    await local.getByTestId('config-edit-master-only').check();
    await shot(local, '33a-config-edit-date');
    await local.getByTestId('dialog-confirm').click();
    await local.getByTestId('config-edit-dialog').waitFor({ state: 'detached' });
    await waitFor(async () => (await text(local.getByTestId('config-row-launchAt'))).includes('yes'), 'launchAt marked master-only');
    await shot(local, '33b-config');
    asMaster = await config({ master: true });
    assert.deepEqual(asMaster.params, { welcome: 'Hello, players', maxPlayers: 16, launchAt });
    assert.equal(asMaster.masterKeyOnly.maxPlayers, true);
    assert.equal(asMaster.masterKeyOnly.launchAt, true);
    asClient = await config();
    assert.deepEqual(asClient.params, { welcome: 'Hello, players' });

    // Deleted after a confirmation.
    await local.getByTestId('config-delete-welcome').click();
    await local.getByTestId('dialog-confirm').click();
    await local.getByTestId('config-row-welcome').waitFor({ state: 'detached' });
    asMaster = await config({ master: true });
    assert.deepEqual(asMaster.params, { maxPlayers: 16, launchAt });
    asClient = await config();
    assert.deepEqual(asClient.params, {});
    assert.deepEqual(local.errors, []);
    await local.context().close();
  });

  it('a read-only user sees the pages without their write controls', async () => {
    const viewer = await openPage(browser);
    await signIn(viewer, server.origin, VIEWER);
    await go(viewer, 'schema/Secretive');
    await viewer.getByTestId('clp-editor').waitFor();
    await viewer.getByTestId('field-row-rating').waitFor();
    await viewer.getByTestId('index-row-rating_1').waitFor();
    for (const id of [
      'clp-save',
      'field-add',
      'field-name-input',
      'field-delete-rating',
      'index-add',
      'index-delete-rating_1',
      'schema-create-class',
      'schema-delete-class',
      'clp-add-entry',
      'protected-add',
    ]) {
      assert.equal(await viewer.getByTestId(id).count(), 0, `${id} is not shown to a read-only user`);
    }
    // The CLP grid shows the stored permissions, read-only.
    assert.equal(await viewer.getByTestId('clp-cell-*-find').isChecked(), false);
    assert.equal(await viewer.getByTestId('clp-cell-*-create').isChecked(), true);
    assert.equal(await viewer.getByTestId('clp-cell-*-create').isDisabled(), true);
    assert.equal(await viewer.getByTestId('protected-fields-*').isDisabled(), true);
    await shot(viewer, '34-read-only-schema');

    // Export yes, import no; no job runs or schedules; the logs page reads.
    await go(viewer, 'data/Score');
    await viewer.getByTestId('export-start').waitFor();
    assert.equal(await viewer.getByTestId('import-start').count(), 0);
    assert.equal(await viewer.getByTestId('archive-download').count(), 0, 'an archive holds password hashes');
    await go(viewer, 'cloud');
    await viewer.getByTestId('cloud-function-hello').waitFor();
    assert.equal(await viewer.getByTestId('job-run-archiveReviews').count(), 0);
    assert.equal(await viewer.getByTestId('schedule-add').count(), 0);
    await go(viewer, 'logs');
    await viewer.getByTestId('log-line').filter({ hasText: 'cloud says hi' }).first().waitFor();
    await shot(viewer, '35-read-only-logs');
    // The config is listed (master-only parameters too: the dashboard reads with the master
    // key), without the controls that change it.
    await go(viewer, 'config');
    await viewer.getByTestId('config-row-maxPlayers').waitFor();
    await viewer.getByTestId('config-row-launchAt').waitFor();
    for (const id of ['config-add', 'config-add-name', 'config-edit-maxPlayers', 'config-delete-maxPlayers', 'config-delete-launchAt']) {
      assert.equal(await viewer.getByTestId(id).count(), 0, `${id} is not shown to a read-only user`);
    }
    await shot(viewer, '36-read-only-config');
    assert.deepEqual(viewer.errors, []);
    await viewer.context().close();
  });
});
