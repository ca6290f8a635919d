// The SDK's browser bundle in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), served from another origin so that CORS is exercised.
// Skipped only when chromium is absent and CI is not "true".
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkip, launchChromium, startServer, uniq } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const skip = chromiumSkip;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>reparse sdk browser test</title></head>
<body>
<script src="/parse.min.js"></script>
<script>
window.runScenario = async function (cfg) {
  const steps = [];
  Parse.initialize(cfg.appId, cfg.javascriptKey);
  Parse.serverURL = cfg.serverURL;
  const Thing = Parse.Object.extend(cfg.className);

  const thing = new Thing();
  thing.set('name', 'first');
  thing.set('score', 1);
  thing.set('tags', ['a']);
  await thing.save();
  steps.push({ step: 'save', id: thing.id, createdAt: thing.createdAt && thing.createdAt.toISOString() });

  const other = new Thing();
  await other.save({ name: 'second', score: 10, tags: [] });

  const found = await new Parse.Query(Thing).equalTo('name', 'first').find();
  steps.push({ step: 'query', count: found.length, name: found[0] && found[0].get('name') });

  thing.increment('score', 41);
  thing.addUnique('tags', 'b');
  thing.set('name', 'renamed');
  await thing.save();
  steps.push({ step: 'update', score: thing.get('score'), tags: thing.get('tags') });

  const fetched = await new Parse.Query(Thing).get(thing.id);
  steps.push({ step: 'get', name: fetched.get('name'), score: fetched.get('score'), tags: fetched.get('tags') });

  const total = await new Parse.Query(Thing).count();
  steps.push({ step: 'count', total });

  await thing.destroy();
  let afterDestroy;
  try {
    await new Parse.Query(Thing).get(thing.id);
    afterDestroy = 'still there';
  } catch (e) {
    afterDestroy = e.code;
  }
  steps.push({ step: 'destroy', afterDestroy, remaining: await new Parse.Query(Thing).count() });

  // A request with custom headers and a JSON body triggers a CORS preflight.
  const res = await fetch(cfg.serverURL + '/classes/' + cfg.className, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Parse-Application-Id': cfg.appId,
      'X-Parse-Javascript-Key': cfg.javascriptKey,
    },
    body: JSON.stringify({ name: 'via-fetch' }),
  });
  const body = await res.json();
  steps.push({ step: 'preflighted-fetch', status: res.status, hasId: typeof body.objectId === 'string' });
  return steps;
};
window.pageReady = typeof Parse !== 'undefined';
</script>
</body></html>`;

describe('browser SDK bundle in headless Chromium', { skip }, () => {
  let reparse;
  let pageServer;
  let pageOrigin;
  let browser;

  before(async () => {
    reparse = await startServer();
    const bundle = readFileSync(join(here, 'node_modules', 'parse', 'dist', 'parse.min.js'));
    pageServer = createServer((req, res) => {
      if (req.url === '/parse.min.js') {
        res.writeHead(200, { 'Content-Type': 'application/javascript' });
        res.end(bundle);
      } else if (req.url === '/' || req.url === '/index.html') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(PAGE);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise(resolve => pageServer.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;

    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await new Promise(resolve => (pageServer ? pageServer.close(resolve) : resolve()));
    await reparse?.stop();
    reparse?.cleanup();
  });

  it('saves, queries, updates and destroys an object across origins', async () => {
    assert.notEqual(new URL(reparse.url).origin, pageOrigin, 'page and API must be different origins');
    const context = await browser.newContext();
    const page = await context.newPage();
    const consoleErrors = [];
    page.on('console', msg => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', err => consoleErrors.push(String(err)));
    await page.goto(pageOrigin + '/');
    assert.equal(await page.evaluate(() => window.pageReady), true, 'Parse bundle did not load');

    const className = uniq('Browser');
    let steps;
    try {
      steps = await page.evaluate(cfg => window.runScenario(cfg), {
        appId: reparse.appId,
        javascriptKey: reparse.javascriptKey,
        serverURL: reparse.url,
        className,
      });
    } catch (e) {
      throw new Error(`scenario failed in the page: ${e.message}\nconsole: ${consoleErrors.join('\n')}`);
    }
    const byStep = Object.fromEntries(steps.map(s => [s.step, s]));
    assert.match(byStep.save.id, /^[A-Za-z0-9]{10}$/);
    assert.ok(byStep.save.createdAt);
    assert.deepEqual(byStep.query, { step: 'query', count: 1, name: 'first' });
    assert.deepEqual(byStep.update, { step: 'update', score: 42, tags: ['a', 'b'] });
    assert.deepEqual(byStep.get, { step: 'get', name: 'renamed', score: 42, tags: ['a', 'b'] });
    assert.deepEqual(byStep.count, { step: 'count', total: 2 });
    assert.deepEqual(byStep.destroy, { step: 'destroy', afterDestroy: 101, remaining: 1 });
    assert.deepEqual(byStep['preflighted-fetch'], { step: 'preflighted-fetch', status: 201, hasId: true });

    // And the server really has the data the page wrote.
    const check = await reparse.request('GET', `/classes/${className}`, { auth: 'master', query: { order: 'name' } });
    assert.deepEqual(
      check.json.results.map(r => r.name),
      ['second', 'via-fetch']
    );
    await context.close();
  });
});
