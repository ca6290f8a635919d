// The dashboard in real headless Chromium against the real binary (a registry server, no
// appId): sign in, create an app, create a class and fields, add and edit rows of every type,
// upload a file into a cell, filter, dates in the browser's time zone, remembered columns, a
// read-only user, delete the app. Every page is screenshotted into
// target/test-artifacts/dashboard/ (kept as the run's artifacts).
import { after, before, describe, it } from 'node:test';
import { ADMIN, VIEWER, createAppThroughApi, openPage, shot, signIn } from './dashboard-browser.mjs';
import assert from 'node:assert/strict';
import { chromiumSkip, launchChromium, startRegistryServer, uniq, waitFor } from './harness.mjs';


describe('dashboard in headless Chromium', { skip: chromiumSkip }, () => {
  let server;
  let browser;
  /** The app (and class) of the relation test, for the read-only user to see. */
  let relationApp;

  before(async () => {
    server = await startRegistryServer({ dashboardUsers: [ADMIN, VIEWER] });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });

  /** The app's own REST API, as a client holding its keys calls it. */
  async function rest(keys, method, path, body, extraHeaders = {}) {
    const response = await fetch(`${server.url}/${path}`, {
      method,
      headers: {
        'X-Parse-Application-Id': keys.applicationId,
        'X-Parse-REST-API-Key': keys.restAPIKey,
        'Content-Type': 'application/json',
        ...extraHeaders,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }
  const master = keys => ({ 'X-Parse-Master-Key': keys.masterKey });

  function cell(page, objectId, field) {
    return page.locator(`.ag-row[row-id="${objectId}"] .ag-cell[col-id="${field}"]`).first();
  }

  /** Double-clicks a cell and types into the grid's own text editor. */
  async function editText(page, objectId, field, text) {
    await cell(page, objectId, field).dblclick();
    const input = cell(page, objectId, field).locator('input');
    await input.fill(text);
    await input.press('Enter');
  }

  /** Double-clicks a cell to open its popup editor. */
  async function openEditor(page, objectId, field, type) {
    await cell(page, objectId, field).dblclick();
    const editor = page.getByTestId(`editor-${type}`);
    await editor.waitFor();
    return editor;
  }

  async function stored(keys, className, objectId) {
    return (await rest(keys, 'GET', `classes/${className}/${objectId}`, undefined, master(keys))).body;
  }

  it('creates an app, builds a class, edits every type, filters, and deletes the app', async () => {
    const page = await openPage(browser);
    // A wrong password is refused in words.
    await page.goto(`${server.origin}/dashboard/`);
    await shot(page, '01-sign-in');
    await page.getByTestId('signin-username').fill('admin');
    await page.getByTestId('signin-password').fill('wrong-password');
    await page.getByTestId('signin-submit').click();
    await waitFor(async () => (await page.getByTestId('alert').textContent()).includes('Invalid username or password'), 'the sign-in error');
    await signIn(page, server.origin, ADMIN);
    await shot(page, '02-apps');

    // Create an app: its keys are shown once.
    const appName = uniq('shop').replace(/[^A-Za-z0-9_-]/g, '');
    await page.getByTestId('create-app').click();
    await page.getByTestId('app-name-input').fill(appName);
    await page.getByTestId('dialog-confirm').click();
    const keysDialog = page.getByTestId('keys-dialog');
    await keysDialog.waitFor();
    await shot(page, '03-keys-shown-once');
    const keys = {};
    for (const name of ['applicationId', 'masterKey', 'javascriptKey', 'restAPIKey', 'clientKey']) {
      keys[name] = (await page.getByTestId(`key-${name}`).textContent()).trim();
    }
    assert.equal((await rest(keys, 'GET', 'classes/Nothing', undefined, master(keys))).status, 200);
    await keysDialog.getByTestId('dialog-confirm').click();
    const row = page.getByTestId(`app-row-${appName}`);
    await row.waitFor();

    // A class with a field of every type.
    await row.getByTestId('open-app').click();
    const className = 'Product';
    await page.getByTestId('create-class').click();
    await page.getByTestId('class-name-input').fill(className);
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId(`class-${className}`).waitFor();
    const fields = [
      ['title', 'String'],
      ['price', 'Number'],
      ['available', 'Boolean'],
      ['releasedAt', 'Date'],
      ['details', 'Object'],
      ['tags', 'Array'],
      ['location', 'GeoPoint'],
      ['manual', 'File'],
      ['maker', 'Pointer', '_User'],
    ];
    for (const [name, type, target] of fields) {
      await page.getByTestId('add-column').click();
      await page.getByTestId('column-name-input').fill(name);
      await page.getByTestId('column-type-select').selectOption(type);
      if (target) await page.getByTestId('column-target-select').selectOption(target);
      await page.getByTestId('dialog-confirm').click();
      await page.locator(`.ag-header-cell[col-id="${name}"]`).waitFor();
    }
    const schema = (await rest(keys, 'GET', `schemas/${className}`, undefined, master(keys))).body;
    for (const [name, type, target] of fields) {
      assert.equal(schema.fields[name]?.type, type, name);
      if (target) assert.equal(schema.fields[name].targetClass, target);
    }

    // Add a row, then edit each cell.
    await page.getByTestId('add-row').click();
    await waitFor(async () => (await page.getByTestId('row-count').textContent()).startsWith('1 row'), 'one row');
    const objectId = await page.locator('.ag-row[row-id]').first().getAttribute('row-id');
    assert.ok(objectId);
    await shot(page, '04-browser-new-row');

    await editText(page, objectId, 'title', 'Kettle');
    await editText(page, objectId, 'price', '42.5');
    await cell(page, objectId, 'available').dblclick();
    await page.getByTestId('editor-Boolean').selectOption('true');
    await waitFor(async () => (await stored(keys, className, objectId)).available === true, 'the Boolean to save');
    await waitFor(async () => (await stored(keys, className, objectId)).price === 42.5, 'the Number to save');

    let editor = await openEditor(page, objectId, 'releasedAt', 'Date');
    await editor.locator('input').fill('2026-03-04T05:06');
    await shot(page, '05-editor-date');
    await editor.getByTestId('editor-save').click();

    editor = await openEditor(page, objectId, 'details', 'Object');
    await editor.getByTestId('editor-json').fill('{"color": "red", "watts": 2000}');
    await shot(page, '06-editor-object');
    await editor.getByTestId('editor-save').click();

    editor = await openEditor(page, objectId, 'tags', 'Array');
    await editor.getByTestId('editor-json').fill('["kitchen", "steel"]');
    await editor.getByTestId('editor-save').click();

    editor = await openEditor(page, objectId, 'location', 'GeoPoint');
    await editor.getByTestId('editor-latitude').fill('48.85');
    await editor.getByTestId('editor-longitude').fill('2.35');
    await shot(page, '07-editor-geopoint');
    await editor.getByTestId('editor-save').click();

    // A bad JSON value is refused before saving, in words.
    editor = await openEditor(page, objectId, 'details', 'Object');
    await editor.getByTestId('editor-json').fill('{not json');
    await editor.getByTestId('editor-save').click();
    assert.equal(await editor.isVisible(), true, 'the editor stays open on bad JSON');
    await editor.getByTestId('editor-cancel').click();

    // A user to point at.
    const user = await rest(keys, 'POST', 'users', { username: 'maker', password: 'maker-password' });
    assert.equal(user.status, 201);
    editor = await openEditor(page, objectId, 'maker', 'Pointer');
    await editor.locator('input').first().fill(user.body.objectId);
    await editor.getByTestId('editor-save').click();

    // A file uploaded into the cell.
    editor = await openEditor(page, objectId, 'manual', 'File');
    await editor.getByTestId('editor-file-input').setInputFiles({
      name: 'manual.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('Fill, boil, pour.'),
    });
    await shot(page, '08-editor-file');
    await editor.getByTestId('editor-save').click();

    // The ACL: public read only.
    editor = await openEditor(page, objectId, 'ACL', 'ACL');
    await editor.getByTestId('acl-public-write').uncheck();
    await shot(page, '09-editor-acl');
    await editor.getByTestId('editor-save').click();

    await waitFor(async () => {
      const object = await stored(keys, className, objectId);
      return object.manual && object.maker && object.ACL && object.location && object.tags;
    }, 'every edit to be saved');
    const object = await stored(keys, className, objectId);
    assert.equal(object.title, 'Kettle');
    assert.equal(object.price, 42.5);
    assert.equal(object.available, true);
    assert.equal(object.releasedAt.__type, 'Date');
    assert.match(object.releasedAt.iso, /^2026-03-0[34]T/);
    assert.deepEqual(object.details, { color: 'red', watts: 2000 });
    assert.deepEqual(object.tags, ['kitchen', 'steel']);
    assert.deepEqual(object.location, { __type: 'GeoPoint', latitude: 48.85, longitude: 2.35 });
    assert.deepEqual(object.maker, { __type: 'Pointer', className: '_User', objectId: user.body.objectId });
    assert.equal(object.manual.__type, 'File');
    assert.match(object.manual.name, /manual\.txt$/);
    assert.equal(await (await fetch(object.manual.url)).text(), 'Fill, boil, pour.');
    assert.deepEqual(object.ACL, { '*': { read: true } });
    await shot(page, '10-browser-edited');

    // A pointer cell leads to the user.
    await cell(page, objectId, 'maker').getByTestId('pointer-link').click();
    await page.waitForURL(/\/browser\/_User/);
    await page.locator(`.ag-row[row-id="${user.body.objectId}"]`).waitFor();
    await shot(page, '11-pointer-click-through');

    // Filters: more rows, then price > 10.
    const more = await rest(keys, 'POST', 'batch', {
      requests: [5, 15, 25].map(price => ({ method: 'POST', path: `/parse/classes/${className}`, body: { price } })),
    }, master(keys));
    assert.equal(more.status, 200);
    await page.getByTestId(`class-${className}`).click();
    await page.getByTestId('refresh').click();
    await waitFor(async () => (await page.getByTestId('row-count').textContent()).startsWith('4 rows'), 'four rows');
    await page.getByTestId('add-filter').click();
    await page.getByTestId('filter-field').selectOption('price');
    await page.getByTestId('filter-op').selectOption('gt');
    await page.getByTestId('filter-value').fill('10');
    await page.getByTestId('filter-apply').click();
    await waitFor(async () => (await page.getByTestId('row-count').textContent()).startsWith('3 rows'), 'the filtered count');
    await shot(page, '12-filtered');
    const prices = await page.locator('.ag-row[row-id] .ag-cell[col-id="price"]').allTextContents();
    assert.deepEqual(prices.map(Number).sort((a, b) => a - b), [15, 25, 42.5]);

    // Settings: a bad value is explained; a good one saved.
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-json').fill('{"maxLimit": "lots"}');
    await page.getByTestId('settings-save').click();
    await waitFor(async () => (await page.getByTestId('alert').textContent()).includes('maxLimit'), 'the settings error');
    await shot(page, '13-settings-error');

    // Delete the app: its name must be typed.
    await page.goto(`${server.origin}/dashboard/apps`);
    await page.getByTestId(`app-row-${appName}`).getByTestId('delete-app').click();
    const confirm = page.getByTestId('dialog-confirm');
    assert.equal(await confirm.isDisabled(), true);
    await page.getByTestId('delete-confirm-input').fill(appName);
    await shot(page, '14-delete-confirm');
    await confirm.click();
    await page.getByTestId(`app-row-${appName}`).waitFor({ state: 'detached' });
    await waitFor(async () => (await rest(keys, 'GET', 'classes/Product', undefined, master(keys))).status === 403, 'the app to be gone');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('shows and edits dates in local time, to the millisecond, and remembers how columns were left', async () => {
    // A zone three hours behind UTC all year (no daylight saving time): local and UTC days differ
    // for three hours of each day.
    const page = await openPage(browser, { timezoneId: 'America/Sao_Paulo' });
    await signIn(page, server.origin, ADMIN);
    const made = await createAppThroughApi(page, uniq('dates'));
    const { keys } = made;
    const appId = made.app.appId;
    const className = 'Event';
    const created = await rest(keys, 'POST', `classes/${className}`, {
      title: 'launch',
      startsAt: { __type: 'Date', iso: '2026-03-04T05:06:07.123Z' },
    }, master(keys));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { objectId } = created.body;

    const open = async () => {
      await page.goto(`${server.origin}/dashboard/apps/${encodeURIComponent(appId)}/browser/${className}`);
      await page.locator(`.ag-row[row-id="${objectId}"]`).waitFor();
    };
    await open();
    const shown = async field => {
      const date = cell(page, objectId, field).locator('.date-cell');
      return { text: (await date.textContent()).trim(), title: await date.getAttribute('title') };
    };
    // Local time in the cell, the stored UTC value in its tooltip.
    assert.deepEqual(await shown('startsAt'), { text: '2026-03-04 02:06:07.123', title: '2026-03-04T05:06:07.123Z' });
    const createdAt = await shown('createdAt');
    assert.equal(createdAt.title, (await stored(keys, className, objectId)).createdAt);
    assert.match(createdAt.text, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);

    // The editor shows the same local time; saved unchanged, the value stays exact.
    let editor = await openEditor(page, objectId, 'startsAt', 'Date');
    assert.equal(await editor.getByTestId('editor-date').inputValue(), '2026-03-04T02:06:07.123');
    await editor.getByTestId('editor-save').click();
    await editor.waitFor({ state: 'detached' });
    const before = await stored(keys, className, objectId);
    assert.deepEqual(before.startsAt, { __type: 'Date', iso: '2026-03-04T05:06:07.123Z' });
    // A new local time, late in the evening: the next day in UTC, milliseconds kept.
    editor = await openEditor(page, objectId, 'startsAt', 'Date');
    await editor.getByTestId('editor-date').fill('2026-03-04T23:30:00.456');
    await shot(page, '18-editor-date-local');
    await editor.getByTestId('editor-save').click();
    await waitFor(async () => (await stored(keys, className, objectId)).startsAt.iso === '2026-03-05T02:30:00.456Z', 'the new date to save');
    await waitFor(async () => (await shown('startsAt')).text === '2026-03-04 23:30:00.456', 'the new date in local time');
    assert.equal((await shown('startsAt')).title, '2026-03-05T02:30:00.456Z');

    // Columns: one widened by dragging its header's edge, one hidden, one moved.
    const header = field => page.locator(`.ag-header-cell[col-id="${field}"]`);
    const widthOf = async field => Math.round((await header(field).boundingBox()).width);
    const titleWidth = await widthOf('title');
    const handle = await header('title').locator('.ag-header-cell-resize').boundingBox();
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(handle.x + handle.width / 2 + 120, handle.y + handle.height / 2, { steps: 8 });
    await page.mouse.up();
    await waitFor(async () => Math.abs((await widthOf('title')) - (titleWidth + 120)) <= 2, 'the title column to widen');
    const widened = await widthOf('title');
    await page.getByTestId('columns-menu').click();
    await page.getByTestId('column-toggle-updatedAt').uncheck();
    await page.getByTestId('columns-menu').click();
    await header('updatedAt').waitFor({ state: 'detached' });
    // (Index 0 is the selection column's.)
    await page.evaluate(() => window.__dashboardGrid.moveColumns(['startsAt'], 2));
    const headerOrder = () => page.locator('.ag-header-row-column .ag-header-cell[col-id]').evaluateAll(cells =>
      cells.map(c => c.getAttribute('col-id')).filter(id => id !== 'ag-Grid-SelectionColumn'));
    const order = await headerOrder();
    assert.equal(order[0], 'objectId');
    assert.equal(order[1], 'startsAt');
    assert.ok(!order.includes('updatedAt'), order.join(','));

    // Another class, then back (and a reload): as they were left, for this app and class.
    await page.getByTestId('class-_User').click();
    await page.waitForURL(/\/browser\/_User/);
    await page.getByTestId(`class-${className}`).click();
    await page.locator(`.ag-row[row-id="${objectId}"]`).waitFor();
    assert.equal(await widthOf('title'), widened);
    assert.deepEqual(await headerOrder(), order);
    await open();
    assert.equal(await widthOf('title'), widened);
    assert.deepEqual(await headerOrder(), order);
    assert.equal(await header('updatedAt').count(), 0);
    const remembered = await page.evaluate(key => JSON.parse(localStorage.getItem(key)), `reparse.dashboard.columns.${appId}.${className}`);
    assert.equal(remembered.widths.title, widened);
    assert.deepEqual(remembered.hidden, ['updatedAt']);
    await shot(page, '19-browser-dates-columns');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('adds objects to a Relation from the grid and removes one', async () => {
    const page = await openPage(browser);
    await signIn(page, server.origin, ADMIN);
    const made = await createAppThroughApi(page, uniq('relations'));
    const { keys } = made;
    const appId = made.app.appId;
    // Tags, and a Post with a Relation<Tag>.
    const tags = [];
    for (const name of ['red', 'green', 'blue']) {
      const tag = await rest(keys, 'POST', 'classes/Tag', { name }, master(keys));
      assert.equal(tag.status, 201, JSON.stringify(tag.body));
      tags.push(tag.body.objectId);
    }
    const schema = await rest(keys, 'POST', 'schemas/Post', {
      className: 'Post',
      fields: { title: { type: 'String' }, tags: { type: 'Relation', targetClass: 'Tag' } },
    }, master(keys));
    assert.equal(schema.status, 200, JSON.stringify(schema.body));
    const post = await rest(keys, 'POST', 'classes/Post', { title: 'Hello' }, master(keys));
    assert.equal(post.status, 201, JSON.stringify(post.body));
    const postId = post.body.objectId;
    relationApp = { appId, postId };
    const relatedIds = async () => {
      const where = { $relatedTo: { object: { __type: 'Pointer', className: 'Post', objectId: postId }, key: 'tags' } };
      const r = await rest(keys, 'GET', `classes/Tag?where=${encodeURIComponent(JSON.stringify(where))}`, undefined, master(keys));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.results.map(t => t.objectId).sort();
    };

    await page.goto(`${server.origin}/dashboard/apps/${encodeURIComponent(appId)}/browser/Post`);
    await page.locator(`.ag-row[row-id="${postId}"]`).waitFor();
    await cell(page, postId, 'tags').getByTestId('relation-link').waitFor();
    await cell(page, postId, 'tags').getByTestId('relation-edit').click();
    const dialog = page.getByTestId('relation-dialog');
    await dialog.waitFor();
    assert.equal((await dialog.getByTestId('relation-count').textContent()).trim(), 'No related objects yet.');
    const input = dialog.getByTestId('relation-add-input');
    // One added with the button, one with Enter.
    await input.fill(tags[0]);
    await dialog.getByTestId('dialog-confirm').click();
    await dialog.getByTestId(`relation-item-${tags[0]}`).waitFor();
    await input.fill(tags[1]);
    await input.press('Enter');
    await dialog.getByTestId(`relation-item-${tags[1]}`).waitFor();
    assert.equal(await input.inputValue(), '');
    // An objectId the target class does not have is refused, in words, and nothing is sent.
    await input.fill('noSuchTag');
    await input.press('Enter');
    await waitFor(async () => (await page.getByTestId('alert').textContent()).includes('There is no Tag with the objectId'), 'the missing object error');
    assert.deepEqual(await relatedIds(), [tags[0], tags[1]].sort());
    await shot(page, '19a-relation-editor');
    // Removed: gone from the list and from the relation, the object itself kept.
    await dialog.getByTestId(`relation-remove-${tags[0]}`).click();
    await dialog.getByTestId(`relation-item-${tags[0]}`).waitFor({ state: 'detached' });
    assert.equal((await dialog.getByTestId('relation-count').textContent()).trim(), '1 related object');
    assert.deepEqual(await relatedIds(), [tags[1]]);
    assert.equal((await stored(keys, 'Tag', tags[0])).name, 'red');
    await dialog.getByTestId('dialog-cancel').click();
    await dialog.waitFor({ state: 'detached' });
    // From the keyboard: Enter on the focused cell opens the editor too.
    await cell(page, postId, 'tags').click({ position: { x: 172, y: 18 } });
    await page.keyboard.press('Enter');
    await dialog.getByTestId(`relation-item-${tags[1]}`).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // The relation's own view: its objects, and the same editor from its toolbar.
    await cell(page, postId, 'tags').getByTestId('relation-link').click();
    await page.waitForURL(/\/browser\/Tag/);
    await page.locator(`.ag-row[row-id="${tags[1]}"]`).waitFor();
    await waitFor(async () => (await page.getByTestId('row-count').textContent()).startsWith('1 row'), 'one related row');
    await page.getByTestId('relation-edit-owner').click();
    await dialog.getByTestId(`relation-item-${tags[1]}`).waitFor();
    await dialog.getByTestId('relation-add-input').fill(tags[2]);
    await dialog.getByTestId('relation-add-input').press('Enter');
    await dialog.getByTestId(`relation-item-${tags[2]}`).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await waitFor(async () => (await page.getByTestId('row-count').textContent()).startsWith('2 rows'), 'the added row in the view');
    await page.locator(`.ag-row[row-id="${tags[2]}"]`).waitFor();
    await shot(page, '19b-relation-view');
    assert.deepEqual(await relatedIds(), [tags[1], tags[2]].sort());
    // "Add row" in the relation's view: a new Tag, added to the relation too, so it is in the view.
    await page.getByTestId('add-row').click();
    const withAdded = await waitFor(async () => {
      const ids = await relatedIds();
      return ids.length === 3 && ids;
    }, 'the new Tag in the relation');
    const added = withAdded.find(id => !tags.includes(id));
    assert.ok(added, `a new Tag among ${withAdded}`);
    assert.equal((await stored(keys, 'Tag', added)).objectId, added);
    await page.locator(`.ag-row[row-id="${added}"]`).waitFor();
    await waitFor(async () => (await page.getByTestId('row-count').textContent()).startsWith('3 rows'), 'the new row in the view');
    assert.equal(await page.getByTestId('alert').isHidden(), true);
    await shot(page, '19c-relation-view-add-row');
    // Where the owner cannot be written (here: deleted once its view is open), the new object is
    // still made, and the page says it is not in the relation.
    const other = await rest(keys, 'POST', 'classes/Post', { title: 'Gone' }, master(keys));
    assert.equal(other.status, 201, JSON.stringify(other.body));
    const otherId = other.body.objectId;
    await page.goto(`${server.origin}/dashboard/apps/${encodeURIComponent(appId)}/browser/Post`);
    await cell(page, otherId, 'tags').getByTestId('relation-link').click();
    await page.waitForURL(/\/browser\/Tag/);
    await waitFor(async () => (await page.getByTestId('row-count').textContent()).startsWith('0 rows'), 'an empty relation view');
    assert.equal((await rest(keys, 'DELETE', `classes/Post/${otherId}`, undefined, master(keys))).status, 200);
    const tagCount = async () =>
      (await rest(keys, 'GET', 'classes/Tag?count=1&limit=0', undefined, master(keys))).body.count;
    const tagsBefore = await tagCount();
    await page.getByTestId('add-row').click();
    await waitFor(
      async () => /^Tag \w+ was created but not added to the relation tags of Post \w+: /.test(await page.getByTestId('alert').textContent()),
      'the not-linked error',
    );
    assert.equal(await tagCount(), tagsBefore + 1);
    assert.deepEqual(await relatedIds(), withAdded);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('signs in with the keyboard alone and fits a phone screen', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    await page.goto(`${server.origin}/dashboard/`);
    await page.getByTestId('signin-username').focus();
    await page.keyboard.type(ADMIN.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.getByTestId('current-user').waitFor();
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    assert.equal(await fits(), true, 'the apps page fits the width');
    await shot(page, '16-phone-apps');
    await page.locator('[data-testid^="app-row-"]').first().getByTestId('open-app').click();
    await page.getByTestId('refresh').waitFor();
    assert.equal(await fits(), true, 'the browser page fits the width');
    await shot(page, '17-phone-browser');
    await context.close();
  });

  it('shows a read-only user everything and lets them change nothing', async () => {
    const page = await openPage(browser);
    await signIn(page, server.origin, VIEWER);
    await page.getByTestId('read-only-badge').waitFor();
    assert.equal(await page.getByTestId('create-app').count(), 0);
    await page.locator('[data-testid^="app-row-"]').first().getByTestId('open-app').click();
    await page.getByTestId('refresh').waitFor();
    assert.equal(await page.getByTestId('add-row').count(), 0);
    assert.equal(await page.getByTestId('create-class').count(), 0);
    await shot(page, '15-read-only-browser');
    if (relationApp) {
      // A Relation can be browsed, not edited.
      await page.goto(`${server.origin}/dashboard/apps/${encodeURIComponent(relationApp.appId)}/browser/Post`);
      await cell(page, relationApp.postId, 'tags').getByTestId('relation-link').waitFor();
      assert.equal(await page.getByTestId('relation-edit').count(), 0);
      await cell(page, relationApp.postId, 'tags').click({ position: { x: 172, y: 18 } });
      await page.keyboard.press('Enter');
      assert.equal(await page.getByTestId('relation-dialog').count(), 0);
      await cell(page, relationApp.postId, 'tags').getByTestId('relation-link').click();
      await page.waitForURL(/\/browser\/Tag/);
      await page.getByTestId('refresh').waitFor();
      assert.equal(await page.getByTestId('relation-edit-owner').count(), 0);
    }
    // Writes sent by hand are refused by the server, in words.
    const refused = await page.evaluate(async () => {
      const session = await (await fetch('/dashboard/api/session')).json();
      const apps = await (await fetch('/dashboard/api/apps')).json();
      const response = await fetch(`/dashboard/api/apps/${apps.results[0].appId}/parse/classes/Sneaky`, {
        method: 'POST',
        headers: { 'X-CSRF-Token': session.csrfToken, 'Content-Type': 'application/json' },
        body: '{"x":1}',
      });
      return { status: response.status, body: await response.json() };
    });
    assert.equal(refused.body.code, 119);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
