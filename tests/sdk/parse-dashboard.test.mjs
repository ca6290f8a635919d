// The community Parse Dashboard (parse-dashboard from npm, pinned in tests/parse-dashboard/) run
// by its own server against a Reparse app, driven in real headless Chromium: sign in, browse a
// class, edit a cell, add a row, run a job and see it succeed, schedule a job with the form (which
// Reparse's scheduler runs) and delete the schedule, read cloud code's log lines.
// Every answer Reparse gives the dashboard is recorded; one that fails fails the suite.
// Screenshots of each step go to target/test-artifacts/parse-dashboard/<db>/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screenshotFolder } from './dashboard-browser.mjs';
import { chromiumSkip, here, launchChromium, repoRoot, startServer, waitFor } from './harness.mjs';

const DASHBOARD_BIN = join(repoRoot, 'tests', 'parse-dashboard', 'node_modules', 'parse-dashboard', 'bin', 'parse-dashboard');
const SCREENSHOTS = screenshotFolder('parse-dashboard');
const USER = { user: 'admin', pass: 'dashboard-password' };
const APP_NAME = 'Reparse';

/** Starts parse-dashboard's server on a free port of 127.0.0.1; resolves to its URL and process. */
async function startParseDashboard(configPath) {
  if (!existsSync(DASHBOARD_BIN)) {
    throw new Error(`parse-dashboard is not installed: run \`npm ci\` in tests/parse-dashboard`);
  }
  const child = spawn(process.execPath, [DASHBOARD_BIN, '--config', configPath, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // It looks up its latest version on the npm registry at startup: keep the test offline.
    env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' },
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`parse-dashboard did not start:\n${output}`)), 30000);
    const remember = chunk => {
      output += chunk;
      const match = /The dashboard is now available at (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.setEncoding('utf8').on('data', remember);
    child.stderr.setEncoding('utf8').on('data', remember);
    child.on('exit', code => {
      clearTimeout(timer);
      reject(new Error(`parse-dashboard exited (${code}):\n${output}`));
    });
  });
  return { url: url.endsWith('/') ? url : `${url}/`, child, output: () => output };
}

describe('parse-dashboard (npm) against Reparse in headless Chromium', { skip: chromiumSkip }, () => {
  let server;
  let dashboard;
  let browser;
  let page;
  const objects = {};
  // Every answer from Reparse to the dashboard's page: method, path, status.
  const answers = [];

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = await startServer({ cloud: join(here, 'cloud-app', 'cloud', 'main.js') });
    for (const [name, count] of [['anvil', 1], ['bucket', 2], ['crate', 3]]) {
      const res = await server.request('POST', '/classes/Gadget', { auth: 'master', body: { name, count } });
      assert.equal(res.status, 201, res.text);
      objects[name] = res.json.objectId;
    }
    const configPath = join(server.dir, 'parse-dashboard.json');
    const config = {
      apps: [{ serverURL: server.url, appId: server.appId, masterKey: server.masterKey, appName: APP_NAME }],
      users: [USER],
    };
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    dashboard = await startParseDashboard(configPath);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // Only the two local servers: the dashboard's page also asks for web fonts elsewhere.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, route => route.abort());
    page = await context.newPage();
    page.setDefaultTimeout(15000);
    page.on('response', response => {
      if (!response.url().startsWith(server.origin)) return;
      const request = response.request();
      // The JS SDK tunnels GETs through POST with `_method` in the body.
      let method = request.method();
      try {
        method = JSON.parse(request.postData() ?? '{}')._method ?? method;
      } catch {
        // not JSON: a preflight or a file
      }
      answers.push({ method, path: response.url().slice(server.origin.length), status: response.status() });
    });
  });

  after(async () => {
    await browser?.close();
    if (dashboard && dashboard.child.exitCode === null) {
      const exited = new Promise(resolve => dashboard.child.once('exit', resolve));
      dashboard.child.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    server?.cleanup();
  });

  const shot = name => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const appPage = path => `${dashboard.url}apps/${APP_NAME}/${path}`;
  /** The data browser's row of an object (its cells are the row's spans, in column order). */
  const row = objectId => page.locator('span', { hasText: new RegExp(`^${objectId}$`) }).locator('xpath=..');

  it('signs in and browses a class with its rows', async () => {
    await page.goto(appPage('browser/Gadget'));
    await page.locator('input[name="username"]').fill(USER.user);
    await page.locator('input[name="password"]').fill(USER.pass);
    await page.locator('button[type="submit"], input[type="submit"]').first().click();
    await page.getByText('3 objects').first().waitFor();
    for (const name of ['anvil', 'bucket', 'crate']) {
      await row(objects[name]).getByText(name, { exact: true }).waitFor();
    }
    // The sidebar lists the class with its count.
    await page.getByText('Gadget', { exact: true }).first().waitFor();
    await shot('1-browser');
  });

  it('edits a cell, and the change is saved through Reparse', async () => {
    await row(objects.bucket).getByText('bucket', { exact: true }).dblclick();
    const editor = page.locator('textarea');
    await editor.fill('barrel');
    await editor.press('Enter');
    await row(objects.bucket).getByText('barrel', { exact: true }).waitFor();
    await shot('2-edited');
    const stored = await waitFor(async () => {
      const res = await server.request('GET', `/classes/Gadget/${objects.bucket}`, { auth: 'master' });
      return res.json?.name === 'barrel' && res.json;
    }, 'the edit reaching Reparse');
    assert.equal(stored.count, 2);
  });

  it('adds a row', async () => {
    await page.getByText('Add Row', { exact: true }).click();
    // The new row: every cell "(undefined)" until it is saved.
    const fresh = page.locator('span', { hasText: /^\(undefined\)$/ }).first().locator('xpath=..');
    const cells = fresh.locator('xpath=./span');
    const header = await page.locator('#browser-table').innerText();
    assert.ok(header.indexOf('name') < header.indexOf('count'), 'columns in schema order');
    // Cells: the checkbox, objectId, createdAt, updatedAt, ACL, name, count.
    await cells.nth(5).dblclick();
    await page.locator('textarea').fill('drum');
    await page.locator('textarea').press('Enter');
    await cells.nth(6).dblclick();
    const number = page.locator('#browser-table input:not([type="checkbox"])');
    await number.fill('4');
    await number.press('Enter');
    await shot('3-new-row');
    await page.getByText('Add', { exact: true }).click();
    await page.getByText('4 objects').first().waitFor();
    await shot('3-added');
    const found = await server.request('GET', '/classes/Gadget', { auth: 'master', query: { where: { name: 'drum' } } });
    assert.equal(found.json.results.length, 1, found.text);
    assert.equal(found.json.results[0].count, 4);
  });

  it('runs a job from the Jobs page and shows that it succeeded', async () => {
    await page.goto(appPage('jobs'));
    const job = page.locator('tr', { hasText: 'archiveReviews' });
    await job.waitFor();
    await shot('4-jobs');
    await job.getByText('Run now').click();
    const status = await waitFor(async () => {
      const where = { jobName: 'archiveReviews', source: 'api' };
      const res = await server.request('GET', '/classes/_JobStatus', { auth: 'master', query: { where } });
      const [found] = res.json?.results ?? [];
      return found?.status === 'succeeded' && found;
    }, 'the job succeeding', { ms: 10000, every: 100 });
    assert.equal(status.source, 'api');
    assert.match(status.message, /^looked at 0 reviews with /);
    await page.goto(appPage('jobs/status'));
    const line = page.locator('tr', { hasText: 'archiveReviews' });
    await line.getByText('SUCCEEDED').waitFor();
    await line.getByText('looked at 0 reviews', { exact: false }).waitFor();
    await shot('4-job-status');
  });

  it('schedules a job with the form, which Reparse runs; lists and deletes the schedule', async () => {
    await page.goto(appPage('jobs/new'));
    await page.getByPlaceholder('Pick a good name…').fill('from the form');
    // The job picker: the field next to the "Cloud job" label.
    await page.getByText('Pick which cloud code job to run').locator('xpath=ancestor::*[3]/div[2]/div').click();
    await page.getByText('archiveReviews', { exact: true }).click();
    await page.locator('textarea').fill('{"via":"form"}');
    await shot('5-schedule-form');
    // "Start immediately", no repeat: a one-off run now.
    await page.getByText('Schedule', { exact: true }).click();
    const [schedule] = await waitFor(async () => {
      const res = await server.request('GET', '/cloud_code/jobs', { auth: 'master' });
      return res.json?.length > 0 && res.json;
    }, 'the schedule reaching Reparse');
    assert.equal(schedule.jobName, 'archiveReviews');
    assert.equal(schedule.description, 'from the form');
    assert.equal(schedule.params, '{"via":"form"}');
    assert.ok(schedule.startAfter, 'startAfter defaults to now');
    // Reparse's scheduler runs it.
    const status = await waitFor(async () => {
      const where = { jobName: 'archiveReviews', source: 'schedule' };
      const res = await server.request('GET', '/classes/_JobStatus', { auth: 'master', query: { where } });
      const [found] = res.json?.results ?? [];
      return found?.status === 'succeeded' && found;
    }, 'the scheduled run succeeding', { ms: 10000, every: 100 });
    assert.equal(status.message, 'looked at 0 reviews with {"via":"form"}');

    await page.goto(appPage('jobs/scheduled'));
    const line = page.locator('tr', { hasText: 'from the form' });
    await line.waitFor();
    await shot('5-scheduled-jobs');
    await line.getByText('Delete', { exact: true }).click();
    // The confirmation dialog's own Delete button.
    await page.getByText('Delete job schedule?').waitFor();
    await page.getByText('Delete', { exact: true }).last().click();
    await line.waitFor({ state: 'detached' });
    await shot('5-schedule-deleted');
    const left = await server.request('GET', '/cloud_code/jobs', { auth: 'master' });
    assert.deepEqual(left.json, []);
  });

  it('shows cloud code log lines on the Logs page', async () => {
    const res = await server.request('POST', '/functions/logSomething', { auth: 'rest', body: {} });
    assert.equal(res.status, 200, res.text);
    await page.goto(appPage('logs/info'));
    await page.getByText('cloud says hi').waitFor();
    await shot('6-logs');
  });

  it('lists the Parse Config parameters on the Config page', async () => {
    const res = await server.request('PUT', '/config', {
      auth: 'master',
      body: { params: { motd: 'served-by-reparse', retries: 3 }, masterKeyOnly: { retries: true } },
    });
    assert.equal(res.status, 200, res.text);
    await page.goto(appPage('config'));
    await page.getByText('served-by-reparse').waitFor();
    await page.getByText('motd', { exact: true }).waitFor();
    await page.getByText('retries', { exact: true }).waitFor();
    await shot('7-config');
  });

  it('got no failed answer from Reparse', () => {
    assert.ok(answers.length > 10, `answers seen: ${JSON.stringify(answers)}`);
    const failed = answers.filter(answer => answer.status >= 400);
    assert.deepEqual(failed, [], `the dashboard got failed answers:\n${JSON.stringify(failed, null, 2)}`);
  });
});
