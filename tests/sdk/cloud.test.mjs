// Cloud code: the sample app in cloud-app/ (a cloud/main.js as written for parse-server, with
// lodash from its own node_modules) run by Reparse in a Node.js worker, called through the
// official SDK's Parse.Cloud.run and over REST.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  useServer,
  uniq,
  assertMasterKeyRequired,
  assertParseError,
  assertStatus,
  expectParseError,
  here,
  waitFor,
  ISO_DATE,
  OBJECT_ID,
} from './harness.mjs';

const ctx = useServer({ cloud: join(here, 'cloud-app', 'cloud', 'main.js'), liveQuery: { classNames: ['Chat'] } });
const plain = useServer({}, { sdk: false });

async function signUp(Parse, fields = {}) {
  const user = new Parse.User({ username: uniq('u'), password: 'secret-pass', ...fields });
  await user.signUp();
  return user;
}

describe('cloud functions', () => {
  it('Parse.Cloud.run calls a function with params and gets its result', async () => {
    const { Parse } = ctx;
    assert.equal(await Parse.Cloud.run('hello', { name: 'Ann' }), 'Hello, Ann!');
    assert.equal(await Parse.Cloud.run('hello'), 'Hello, world!');
  });

  it('npm packages from the app folder and relative requires work', async () => {
    const { Parse } = ctx;
    assert.deepEqual(await Parse.Cloud.run('stats', { numbers: [3, 9, 4] }), { sum: 16, max: 9, shouted: 'DONE!' });
  });

  it('a function calls back into Reparse with the SDK; objects and dates come back decoded', async () => {
    const { Parse } = ctx;
    const note = await Parse.Cloud.run('createNote', { text: 'from cloud' });
    assert.ok(note instanceof Parse.Object);
    assert.equal(note.className, 'CloudNote');
    assert.ok(note.id);
    assert.equal(note.get('text'), 'from cloud');
    assert.ok(note.get('at') instanceof Date);
    assert.equal(note.get('at').toISOString(), '2024-05-01T12:00:00.000Z');
    const stored = await new Parse.Query('CloudNote').get(note.id, { useMasterKey: true });
    assert.equal(stored.get('text'), 'from cloud');
  });

  it("request.user is the caller; the function reads with the caller's session and ACLs", async () => {
    const { Parse } = ctx;
    const ann = await signUp(Parse);
    await Parse.Cloud.run('createNote', { text: 'ann private' }, { sessionToken: ann.getSessionToken() });
    const bo = await signUp(Parse);
    await Parse.Cloud.run('createNote', { text: 'bo private' }, { sessionToken: bo.getSessionToken() });
    const annSees = await Parse.Cloud.run('myNotes', {}, { sessionToken: ann.getSessionToken() });
    assert.ok(annSees.includes('ann private') && !annSees.includes('bo private'), JSON.stringify(annSees));
    const who = await Parse.Cloud.run('whoami', {}, { sessionToken: bo.getSessionToken() });
    assert.equal(who.user, bo.get('username'));
    assert.equal(who.master, false);
    assert.ok((await Parse.Cloud.run('countAllNotes')) >= 2);
    await Parse.User.logOut();
  });

  it('the master key, installation id, headers, address and context reach the request', async () => {
    const { Parse, server } = ctx;
    const viaSdk = await Parse.Cloud.run('whoami', {}, { useMasterKey: true, context: { source: 'sdk' } });
    assert.equal(viaSdk.master, true);
    assert.deepEqual(viaSdk.context, { source: 'sdk' });
    const res = await server.request('POST', '/functions/whoami', {
      auth: 'rest',
      body: {},
      headers: {
        'X-App-Header': 'yes',
        'X-Parse-Installation-Id': 'install-1',
        'X-Parse-Cloud-Context': JSON.stringify({ from: 'header' }),
      },
    });
    assertStatus(res, 200);
    assert.deepEqual(res.json.result, {
      user: null,
      master: false,
      installationId: 'install-1',
      header: 'yes',
      ip: true,
      context: { from: 'header' },
    });
  });

  it('thrown Parse.Errors keep their code; other throws are 141', async () => {
    const { Parse, server } = ctx;
    await expectParseError(Parse.Cloud.run('customError'), 9001, 'Out of widgets');
    await expectParseError(Parse.Cloud.run('stringError'), 141, 'Something went wrong');
    const res = await server.request('POST', '/functions/nope', { auth: 'rest', body: {} });
    assertParseError(res, 400, 141, 'Invalid function: "nope"');
  });

  it('validators refuse as parse-server words it (142), and apply defaults', async () => {
    const { Parse } = ctx;
    await expectParseError(Parse.Cloud.run('profile'), 142, 'Validation failed. Please login to continue.');
    const user = await signUp(Parse);
    const token = { sessionToken: user.getSessionToken() };
    assert.equal(await Parse.Cloud.run('profile', {}, token), `profile of ${user.get('username')}`);
    await expectParseError(
      Parse.Cloud.run('profile', { section: 'secret' }, token),
      142,
      'Validation failed. Invalid option for section. Expected: public, private'
    );
    await expectParseError(
      Parse.Cloud.run('adminOnly', {}, token),
      142,
      'Validation failed. Master key is required to complete this request.'
    );
    assert.equal(await Parse.Cloud.run('adminOnly', {}, { useMasterKey: true }), 'secret');
    await expectParseError(
      Parse.Cloud.run('needsEmail', {}, token),
      142,
      'Validation failed. Please set data for email on your account.'
    );
    await Parse.User.logOut();
  });

  it('a worker that dies mid-request answers 141; the next request succeeds', async () => {
    const { Parse } = ctx;
    await expectParseError(Parse.Cloud.run('crash'), 141, 'Cloud code worker exited.');
    assert.equal(await Parse.Cloud.run('hello', { name: 'again' }), 'Hello, again!');
  });

  it('console.log and request.log reach the server log', async () => {
    const { Parse, server } = ctx;
    assert.equal(await Parse.Cloud.run('logSomething'), true);
    await waitFor(
      () => server.output.includes('cloud says hi') && server.output.includes('through request.log'),
      () => `logs not seen in:\n${server.output.slice(-2000)}`
    );
  });

  it("the app's log lines are read back from /scriptlog as parse-server gives them", async () => {
    const { Parse, server } = ctx;
    assert.equal(await Parse.Cloud.run('logSomething'), true);
    await expectParseError(Parse.Cloud.run('crash'), 141, 'Cloud code worker exited.');
    let lines;
    await waitFor(async () => {
      lines = (await server.request('GET', '/scriptlog?size=50', { auth: 'master' })).json;
      return lines.some(line => line.message.includes('through request.log'));
    }, 'the cloud log line in /scriptlog');
    const line = lines.find(entry => entry.message.includes('cloud says hi'));
    assert.equal(line.level, 'info');
    assert.ok(Date.parse(line.timestamp) <= Date.now());
    const times = lines.map(entry => Date.parse(entry.timestamp));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
    const errors = (await server.request('GET', '/scriptlog?level=error&n=50', { auth: 'master' })).json;
    assert.ok(errors.length > 0 && errors.every(entry => entry.level === 'error'), JSON.stringify(errors));
    assert.equal((await server.request('GET', '/scriptlog?size=1&order=asc', { auth: 'master' })).json.length, 1);
    const future = new Date(Date.now() + 60000).toISOString();
    assert.deepEqual((await server.request('GET', `/scriptlog?from=${future}`, { auth: 'master' })).json, []);
    assert.equal((await server.request('GET', '/scriptlog', { auth: 'rest' })).status, 403);
    // The other server's app has none of these lines.
    assert.deepEqual((await plain.server.request('GET', '/scriptlog?size=50', { auth: 'master' })).json, []);
  });

  it('an app without cloud code answers functions with 141', async () => {
    const { server } = plain;
    const res = await server.request('POST', '/functions/hello', { auth: 'rest', body: {} });
    assertParseError(res, 400, 141, 'Invalid function: "hello"');
  });
});

describe('cloud code that does not load', () => {
  it('stops the start with the error it threw', async () => {
    const { startServer } = await import('./harness.mjs');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'reparse-broken-cloud-'));
    writeFileSync(join(dir, 'main.js'), "throw new Error('missing STRIPE_KEY');\n");
    await assert.rejects(startServer({ cloud: join(dir, 'main.js') }), /missing STRIPE_KEY/);
  });
});

describe('object triggers', () => {
  async function auditFor(Parse, reviewId, action) {
    const query = new Parse.Query('AuditLog').equalTo('reviewId', reviewId).equalTo('action', action);
    query.ascending('createdAt');
    return query.find({ useMasterKey: true });
  }

  it('beforeSave changes what is stored and the client sees it; afterSave runs with context', async () => {
    const { Parse } = ctx;
    const review = new Parse.Object('Review');
    await review.save({ title: '  Great Coffee  ', stars: 5 }, { context: { source: 'test' } });
    assert.equal(review.get('title'), 'Great Coffee', 'the response carries the trigger change');
    assert.equal(review.get('slug'), 'great-coffee');
    const stored = await new Parse.Query('Review').get(review.id);
    assert.equal(stored.get('title'), 'Great Coffee');
    assert.equal(stored.get('slug'), 'great-coffee');
    const [entry] = await auditFor(Parse, review.id, 'save');
    assert.equal(entry.get('existed'), false);
    assert.equal(entry.get('title'), 'Great Coffee');
    assert.equal(entry.get('checkedBy'), 'beforeSave', 'context from beforeSave reaches afterSave');
    assert.equal(entry.get('source'), 'test', "the client's context reaches the triggers");

    review.set('stars', 4);
    await review.save();
    const entries = await auditFor(Parse, review.id, 'save');
    assert.equal(entries.length, 2);
    assert.equal(entries[1].get('existed'), true);
    assert.equal(entries[1].get('previousStars'), 5, 'afterSave sees the original');
  });

  it('a beforeSave that throws stops the write', async () => {
    const { Parse } = ctx;
    await expectParseError(new Parse.Object('Review').save({ title: 'no stars' }), 141, 'A review needs stars');
    const count = await new Parse.Query('Review').equalTo('title', 'no stars').count();
    assert.equal(count, 0);
    const review = await new Parse.Object('Review').save({ title: 'ok', stars: 3 });
    review.unset('stars');
    await expectParseError(review.save(), 141, 'A review needs stars');
    assert.equal((await new Parse.Query('Review').get(review.id)).get('stars'), 3);
  });

  it('operations arrive applied in beforeSave, and its own changes are written', async () => {
    const { Parse } = ctx;
    const counter = await new Parse.Object('Counter').save({ value: 9 });
    assert.equal(counter.get('saves'), 1);
    counter.increment('value');
    await counter.save();
    assert.equal(counter.get('value'), 10);
    assert.equal(counter.get('saves'), 2);
    counter.increment('value');
    await expectParseError(counter.save(), 9002, 'Too high: 11');
    const stored = await new Parse.Query('Counter').get(counter.id);
    assert.equal(stored.get('value'), 10);
    assert.equal(stored.get('saves'), 2);
  });

  it('beforeDelete can refuse; afterDelete runs after a delete', async () => {
    const { Parse } = ctx;
    const locked = await new Parse.Object('Review').save({ title: 'keep', stars: 1, locked: true });
    await expectParseError(locked.destroy(), 119, 'This review is locked');
    assert.ok(await new Parse.Query('Review').get(locked.id));
    const review = await new Parse.Object('Review').save({ title: 'Gone Soon', stars: 2 });
    await review.destroy();
    const [entry] = await auditFor(Parse, review.id, 'delete');
    assert.equal(entry.get('title'), 'Gone Soon');
  });

  it('trigger validators apply to the object', async () => {
    const { Parse } = ctx;
    await expectParseError(new Parse.Object('Secret').save({ x: 1 }), 142, 'Validation failed. Please login to continue.');
    const user = await signUp(Parse);
    const secret = await new Parse.Object('Secret').save({ x: 1 }, { sessionToken: user.getSessionToken() });
    assert.equal(secret.get('level'), 1, 'the default is set on the object');
    await Parse.User.logOut();
  });

  it('REST writes run the same triggers', async () => {
    const { server } = ctx;
    const res = await server.request('POST', '/classes/Review', { auth: 'rest', body: { title: ' Rest ', stars: 2 } });
    assertStatus(res, 201);
    assert.equal(res.json.title, 'Rest');
    assert.equal(res.json.slug, 'rest');
  });
});

describe('user triggers', () => {
  it('beforeSave(Parse.User) sees the password, refuses a weak one, and sets defaults', async () => {
    const { Parse } = ctx;
    const weak = new Parse.User({ username: uniq('weak'), password: 'short' });
    await expectParseError(weak.signUp(), 142, 'Password must be at least 8 characters');
    const username = uniq('strong');
    const user = new Parse.User({ username, password: 'long enough password' });
    await user.signUp();
    assert.equal(user.get('displayName'), `@${username}`, 'the default reaches the client');
    assert.ok(user.getSessionToken());
    const entries = await new Parse.Query('AuditLog').equalTo('action', 'signup').equalTo('reviewId', user.id).find({ useMasterKey: true });
    assert.equal(entries.length, 1);
    const current = await Parse.User.logIn(username, 'long enough password');
    current.set('password', 'tiny');
    await expectParseError(
      current.save(null, { sessionToken: current.getSessionToken() }),
      142,
      'Password must be at least 8 characters'
    );
    await Parse.User.logOut();
  });
});

describe('jobs', () => {
  async function finished(Parse, jobStatusId) {
    const check = async () => {
      const status = await new Parse.Query('_JobStatus').get(jobStatusId, { useMasterKey: true });
      return status.get('status') !== 'running' && status;
    };
    return waitFor(check, 'the job finishing', { ms: 10000, every: 50 });
  }

  it('Parse.Cloud.startJob runs a job in the background and records how it ended', async () => {
    const { Parse } = ctx;
    const started = Date.now();
    const jobStatusId = await Parse.Cloud.startJob('archiveReviews', { batch: 2 });
    assert.ok(Date.now() - started < 1000, 'the call answers before the job ends');
    assert.equal(typeof jobStatusId, 'string');
    const running = await new Parse.Query('_JobStatus').get(jobStatusId, { useMasterKey: true });
    assert.equal(running.get('jobName'), 'archiveReviews');
    assert.equal(running.get('source'), 'api');
    assert.deepEqual(running.get('params'), { batch: 2 });
    const status = await finished(Parse, jobStatusId);
    assert.equal(status.get('status'), 'succeeded');
    assert.match(status.get('message'), /^looked at \d+ reviews with {"batch":2}$/);
    assert.ok(status.get('finishedAt') instanceof Date);
  });

  it('a job that throws is recorded as failed with its message', async () => {
    const { Parse } = ctx;
    const jobStatusId = await Parse.Cloud.startJob('brokenJob', {});
    const status = await finished(Parse, jobStatusId);
    assert.equal(status.get('status'), 'failed');
    assert.equal(status.get('message'), 'the archive is unreachable');
  });

  it('jobs need the master key and must exist; the jobs are listed', async () => {
    const { server } = ctx;
    const refused = await server.request('POST', '/jobs/archiveReviews', { auth: 'rest', body: {} });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json, { error: 'unauthorized: master key is required' });
    const missing = await server.request('POST', '/jobs/nope', { auth: 'master', body: {} });
    assertParseError(missing, 400, 141, 'Invalid job.');
    const byBody = await server.request('POST', '/jobs', { auth: 'master', body: { jobName: 'archiveReviews' } });
    assertStatus(byBody, 200);
    assert.ok(byBody.headers.get('x-parse-job-status-id'));
    // As in parse-server, the body is the job's params, its jobName too (Parse Dashboard's
    // "Run now" sends {description, input, jobName, when}).
    const byBodyStatus = await finished(ctx.Parse, byBody.headers.get('x-parse-job-status-id'));
    assert.match(byBodyStatus.get('message'), /^looked at \d+ reviews with {"jobName":"archiveReviews"}$/);
    const data = await server.request('GET', '/cloud_code/jobs/data', { auth: 'master' });
    assertStatus(data, 200);
    assert.deepEqual(data.json.jobs.sort(), ['archiveReviews', 'brokenJob']);
    assert.deepEqual(data.json.in_use, []);
  });
});

// parse-server's CloudCodeRouter, which Parse Dashboard's "Scheduled Jobs" page and its
// "Schedule a job" form use: `{"job_schedule": {...}}` bodies, `_JobSchedule` objects.
describe('job schedules through /cloud_code/jobs', () => {
  // Far enough out that the scheduler leaves these schedules alone.
  const later = '2099-01-01T00:00:00.000Z';

  it('lists, creates, edits and deletes schedules, with the master key only', async () => {
    const { server } = ctx;
    assertMasterKeyRequired(await server.request('GET', '/cloud_code/jobs', { auth: 'rest' }));
    assertMasterKeyRequired(
      await server.request('POST', '/cloud_code/jobs', { auth: 'rest', body: { job_schedule: { jobName: 'archiveReviews' } } })
    );
    const schedule = {
      jobName: 'archiveReviews',
      description: 'nightly',
      params: '{"batch":5}',
      startAfter: later,
      timeOfDay: '03:00:00.000Z',
      repeatMinutes: 1440,
    };
    const created = await server.request('POST', '/cloud_code/jobs', { auth: 'master', body: { job_schedule: schedule } });
    assertStatus(created, 201);
    assert.deepEqual(Object.keys(created.json).sort(), ['createdAt', 'objectId']);
    assert.match(created.json.objectId, OBJECT_ID);
    const id = created.json.objectId;

    // The query string (the dashboard sends per_page) is ignored; the answer is a bare array.
    const listed = await server.request('GET', '/cloud_code/jobs?per_page=50', { auth: 'master' });
    assertStatus(listed, 200);
    assert.ok(Array.isArray(listed.json), listed.text);
    assert.equal(listed.json.length, 1);
    assert.deepEqual({ ...listed.json[0], createdAt: undefined, updatedAt: undefined }, {
      ...schedule,
      objectId: id,
      createdAt: undefined,
      updatedAt: undefined,
    });
    const data = await server.request('GET', '/cloud_code/jobs/data', { auth: 'master' });
    assert.deepEqual(data.json.in_use, ['archiveReviews']);

    const edited = await server.request('PUT', `/cloud_code/jobs/${id}`, {
      auth: 'master',
      body: { job_schedule: { description: 'weekly', repeatMinutes: 10080, startAfter: later } },
    });
    assertStatus(edited, 200);
    // parse-server wraps the update's answer once more.
    assert.deepEqual(Object.keys(edited.json), ['response']);
    assert.match(edited.json.response.updatedAt, ISO_DATE);
    const stored = await server.request('GET', `/classes/_JobSchedule/${id}`, { auth: 'master' });
    assert.equal(stored.json.description, 'weekly');
    assert.equal(stored.json.repeatMinutes, 10080);
    assert.equal(stored.json.jobName, 'archiveReviews');

    const removed = await server.request('DELETE', `/cloud_code/jobs/${id}`, { auth: 'master' });
    assertStatus(removed, 200);
    assert.deepEqual(removed.json, {});
    assert.deepEqual((await server.request('GET', '/cloud_code/jobs', { auth: 'master' })).json, []);
    const gone = await server.request('PUT', `/cloud_code/jobs/${id}`, { auth: 'master', body: { job_schedule: { startAfter: later } } });
    assertParseError(gone, 404, 101);
  });

  it('refuses a job that is not defined, and starts a schedule now by default', async () => {
    const { server } = ctx;
    // parse-server's own code 1, with its message (an error it raises on purpose, not a crash).
    const undeployed = await server.request('POST', '/cloud_code/jobs', {
      auth: 'master',
      body: { job_schedule: { jobName: 'notAJob', startAfter: later } },
    });
    assertParseError(undeployed, 500, 1, 'Cannot Schedule a job that is not deployed');
    assert.deepEqual((await server.request('GET', '/cloud_code/jobs', { auth: 'master' })).json, []);

    // A schedule without startAfter starts now (on a server without cloud code, so that no
    // scheduler picks it up).
    const before = Date.now();
    const created = await plain.server.request('POST', '/cloud_code/jobs', {
      auth: 'master',
      body: { job_schedule: { description: 'draft' } },
    });
    assertStatus(created, 201);
    const [stored] = (await plain.server.request('GET', '/cloud_code/jobs', { auth: 'master' })).json;
    assert.match(stored.startAfter, ISO_DATE);
    assert.ok(Date.parse(stored.startAfter) >= before - 1000, stored.startAfter);
    await plain.server.request('DELETE', `/cloud_code/jobs/${created.json.objectId}`, { auth: 'master' });
  });
});

describe('scheduled jobs', () => {
  async function statusesOf(Parse, jobName, source = 'schedule') {
    const query = new Parse.Query('_JobStatus').equalTo('jobName', jobName).equalTo('source', source);
    return query.ascending('createdAt').find({ useMasterKey: true });
  }

  it('a _JobSchedule a few seconds out runs its job once, with its params', async () => {
    const { Parse, server } = ctx;
    const startAfter = new Date(Date.now() + 2000);
    const schedule = new Parse.Object('_JobSchedule');
    await schedule.save(
      { jobName: 'archiveReviews', description: 'soon', params: '{"scheduled":true}', startAfter: startAfter.toISOString() },
      { useMasterKey: true }
    );
    const data = await server.request('GET', '/cloud_code/jobs/data', { auth: 'master' });
    assert.deepEqual(data.json.in_use, ['archiveReviews']);
    const [status] = await waitFor(async () => {
      const found = await statusesOf(Parse, 'archiveReviews');
      return found.length > 0 && found[0].get('status') === 'succeeded' && found;
    }, 'the scheduled run', { ms: 10000, every: 100 });
    assert.ok(status.createdAt >= new Date(startAfter.getTime() - 5), 'not before startAfter');
    assert.match(status.get('message'), /{"scheduled":true}$/);
    await schedule.fetch({ useMasterKey: true });
    assert.equal(typeof schedule.get('lastRun'), 'number');
    await new Promise(resolve => setTimeout(resolve, 1500));
    assert.equal((await statusesOf(Parse, 'archiveReviews')).length, 1, 'a one-off runs once');
    await schedule.destroy({ useMasterKey: true });
  });

  it('a cron expression (with seconds, in a time zone) repeats until the schedule is deleted', async () => {
    const { Parse } = ctx;
    const schedule = new Parse.Object('_JobSchedule');
    await schedule.save(
      { jobName: 'brokenJob', cronExpression: '*/1 * * * * *', timeZone: 'America/New_York', params: '{}' },
      { useMasterKey: true }
    );
    await waitFor(async () => (await statusesOf(Parse, 'brokenJob')).length >= 2, 'two cron runs', { ms: 10000, every: 100 });
    await schedule.destroy({ useMasterKey: true });
    await new Promise(resolve => setTimeout(resolve, 1500));
    const count = (await statusesOf(Parse, 'brokenJob')).length;
    await new Promise(resolve => setTimeout(resolve, 1500));
    assert.equal((await statusesOf(Parse, 'brokenJob')).length, count, 'no runs after deletion');
  });
});

describe('scheduled jobs on two servers', {
  skip: process.env.REPARSE_TEST_DATABASE !== 'postgres' && 'two servers share one database on PostgreSQL only',
}, () => {
  it('each scheduled time runs once across the cluster', async () => {
    const { startServer } = await import('./harness.mjs');
    const cloud = join(here, 'cloud-app', 'cloud', 'main.js');
    const first = await startServer({ cloud });
    const second = await startServer({ ...first.config });
    try {
      const created = await first.request('POST', '/classes/_JobSchedule', {
        auth: 'master',
        body: { jobName: 'archiveReviews', cronExpression: '* * * * * *', params: '{}' },
      });
      assertStatus(created, 201);
      await new Promise(resolve => setTimeout(resolve, 4500));
      const removed = await second.request('DELETE', `/classes/_JobSchedule/${created.json.objectId}`, { auth: 'master' });
      assertStatus(removed, 200);
      await new Promise(resolve => setTimeout(resolve, 1200));
      const where = encodeURIComponent(JSON.stringify({ jobName: 'archiveReviews', source: 'schedule' }));
      const runs = await first.request('GET', `/classes/_JobStatus?where=${where}&limit=100`, { auth: 'master' });
      const seconds = runs.json.results.map(run => Math.floor(Date.parse(run.createdAt) / 1000));
      assert.ok(seconds.length >= 3, `expected a run each second, got ${seconds.length}`);
      assert.equal(new Set(seconds).size, seconds.length, `two runs in one second: ${seconds}`);
    } finally {
      await second.stop();
      await first.stop();
      second.cleanup();
      first.cleanup();
    }
  });
});

describe('query and session triggers', () => {
  it('beforeFind narrows what clients find; afterFind changes what they get', async () => {
    const { Parse, server } = ctx;
    const shown = await new Parse.Object('Review').save({ title: 'Visible review', stars: 4 });
    const hidden = await new Parse.Object('Review').save({ title: 'Hidden review', stars: 1, hidden: true });
    const found = await new Parse.Query('Review').containedIn('objectId', [shown.id, hidden.id]).find();
    assert.deepEqual(found.map(review => review.id), [shown.id]);
    assert.equal(found[0].get('excerpt'), 'Visi');
    const asMaster = await new Parse.Query('Review').containedIn('objectId', [shown.id, hidden.id]).find({ useMasterKey: true });
    assert.equal(asMaster.length, 2);
    await expectParseError(new Parse.Query('Review').get(hidden.id), 101);
    const got = await new Parse.Query('Review').get(shown.id);
    assert.equal(got.get('excerpt'), 'Visi');
    const counted = await server.request('GET', `/classes/Review?count=1&limit=0&where=${encodeURIComponent(JSON.stringify({ objectId: hidden.id }))}`, { auth: 'rest' });
    assertStatus(counted, 200);
    assert.equal(counted.json.count, 0, 'counts follow beforeFind too');
  });

  it('beforeLogin can refuse a log-in; afterLogin and afterLogout run', async () => {
    const { Parse } = ctx;
    const banned = await signUp(Parse, { username: uniq('banned') });
    await Parse.User.logOut();
    await expectParseError(Parse.User.logIn(banned.get('username'), 'secret-pass'), 119, 'This account is banned');
    const user = await signUp(Parse);
    const username = user.get('username');
    const loggedIn = await Parse.User.logIn(username, 'secret-pass');
    const logins = await new Parse.Query('AuditLog').equalTo('action', 'login').equalTo('reviewId', user.id).find({ useMasterKey: true });
    assert.equal(logins.length, 1);
    await Parse.User.logOut();
    await ctx.server.request('POST', '/logout', { auth: 'rest', headers: { 'X-Parse-Session-Token': loggedIn.getSessionToken() } });
    const logouts = await new Parse.Query('AuditLog').equalTo('action', 'logout').equalTo('reviewId', user.id).find({ useMasterKey: true });
    assert.equal(logouts.length, 1);
  });
});

describe('file triggers', () => {
  const metadataOf = async (server, name) =>
    (await fetch(`${server.url}/files/${server.appId}/metadata/${encodeURIComponent(name)}`)).json();

  it('beforeSave(Parse.File) refuses, annotates and renames uploads; afterSave sees the stored file', async () => {
    const { Parse, server } = ctx;
    // (The base64 form: the SDK's streamed form hands back the raw {code, error} on failure.)
    const exe = new Parse.File('tool.exe', { base64: Buffer.from('MZ').toString('base64') });
    await expectParseError(exe.save({ useMasterKey: true }), 141, 'Executables are not accepted');

    const note = new Parse.File('note.txt', Buffer.from('hello'), 'text/plain');
    await note.save({ useMasterKey: true });
    assert.deepEqual((await metadataOf(server, note.name())).metadata, { checkedBy: 'cloud' });
    const [entry] = await new Parse.Query('AuditLog').equalTo('action', 'file').equalTo('title', note.name()).find({ useMasterKey: true });
    assert.equal(entry.get('reviewId'), '5', 'afterSave has the stored size');

    const draft = new Parse.File('draft-report.txt', Buffer.from('report'), 'text/plain');
    await draft.save({ useMasterKey: true });
    assert.match(draft.name(), /_final-report\.txt$/);
    assert.equal(await (await fetch(draft.url())).text(), 'report');
    assert.deepEqual((await metadataOf(server, draft.name())).metadata, { checkedBy: 'cloud', renamed: 'yes' });
  });

  it('beforeDelete(Parse.File) can keep a file', async () => {
    const { Parse } = ctx;
    const kept = new Parse.File('keep-me.txt', Buffer.from('x'));
    await kept.save({ useMasterKey: true });
    await expectParseError(kept.destroy({ useMasterKey: true }), 141, 'This file is kept');
    assert.equal((await fetch(kept.url())).status, 200);
    const gone = new Parse.File('gone.txt', Buffer.from('y'));
    await gone.save({ useMasterKey: true });
    await gone.destroy({ useMasterKey: true });
    assert.equal((await fetch(gone.url())).status, 404);
  });
});

describe('rate limits, HTTP requests and password resets', () => {
  it('a rateLimit validator refuses past its count with its message', async () => {
    const { Parse } = ctx;
    assert.equal(await Parse.Cloud.run('limited'), 'ok');
    assert.equal(await Parse.Cloud.run('limited'), 'ok');
    await expectParseError(Parse.Cloud.run('limited'), 100, 'Slow down');
    assert.equal(await Parse.Cloud.run('limited', {}, { useMasterKey: true }), 'ok', 'the master key is not limited');
  });

  it('Parse.Cloud.httpRequest reaches HTTP servers (this one, here)', async () => {
    const { Parse } = ctx;
    assert.deepEqual(await Parse.Cloud.run('serverHealth'), { status: 200, body: { status: 'ok' } });
  });

  it('beforePasswordResetRequest can refuse a reset; no mail is sent', async () => {
    const { startSmtpSink } = await import('./smtp.mjs');
    const { startServer, initParse } = await import('./harness.mjs');
    const sink = await startSmtpSink();
    const server = await startServer({
      cloud: join(here, 'cloud-app', 'cloud', 'main.js'),
      emailAdapter: { smtp: { host: sink.host, port: sink.port, tls: 'none', from: 'Reparse <noreply@example.com>' } },
      appName: 'Cloud',
    });
    try {
      const Parse = initParse(server);
      await signUp(Parse, { email: 'ann@blocked.example' });
      await signUp(Parse, { email: 'bo@fine.example' });
      await Parse.User.logOut();
      await expectParseError(Parse.User.requestPasswordReset('ann@blocked.example'), 119, 'Resets are disabled for this account');
      await Parse.User.requestPasswordReset('bo@fine.example');
      await waitFor(() => sink.messages.some(mail => mail.to === 'bo@fine.example'), 'the reset mail');
      assert.ok(!sink.messages.some(mail => mail.to === 'ann@blocked.example'));
    } finally {
      initParse(ctx.server);
      await server.stop();
      server.cleanup();
      await sink.close();
    }
  });
});

describe('LiveQuery hooks', () => {
  function liveClient(t, options = {}) {
    const { Parse, server } = ctx;
    const client = new Parse.LiveQueryClient({
      applicationId: server.appId,
      serverURL: server.url.replace(/^http/, 'ws'),
      javascriptKey: server.javascriptKey,
      ...options,
    });
    t.after(() => client.close());
    return client;
  }

  it('beforeConnect can refuse a client', async t => {
    const client = liveClient(t, { installationId: 'blocked-installation' });
    const error = new Promise(resolve => client.on('error', resolve));
    // The SDK also rejects its connect promise with the error.
    client.connectPromise.catch(() => {});
    client.open();
    assert.equal(await error, 'This installation may not listen');
  });

  it('beforeSubscribe can refuse a subscription or narrow its query', async t => {
    const { Parse } = ctx;
    const anonymous = liveClient(t);
    anonymous.open();
    const refused = anonymous.subscribe(new Parse.Query('Chat'));
    // The SDK also rejects the subscription's promise with the error.
    refused.subscribePromise.catch(() => {});
    assert.equal(await new Promise(resolve => refused.on('error', resolve)), 'Sign in to listen');

    const user = await signUp(Parse);
    const client = liveClient(t, { sessionToken: user.getSessionToken() });
    client.open();
    const subscription = client.subscribe(new Parse.Query('Chat'));
    await new Promise(resolve => subscription.on('open', resolve));
    const created = [];
    subscription.on('create', object => created.push(object.get('text')));
    await new Parse.Object('Chat').save({ text: 'private', public: false }, { useMasterKey: true });
    await new Parse.Object('Chat').save({ text: 'public', public: true }, { useMasterKey: true });
    await waitFor(() => created.includes('public'), 'the public message');
    assert.deepEqual(created, ['public'], 'the query was narrowed to public messages');
    await Parse.User.logOut();
  });

  it('afterLiveQueryEvent changes what a subscriber is sent, or stops it', async t => {
    const { Parse } = ctx;
    const user = await signUp(Parse);
    const client = liveClient(t, { sessionToken: user.getSessionToken() });
    client.open();
    const subscription = client.subscribe(new Parse.Query('Chat'));
    await new Promise(resolve => subscription.on('open', resolve));
    const events = [];
    for (const name of ['create', 'update']) {
      subscription.on(name, object => events.push({ name, text: object.get('text'), seenAs: object.get('seenAs') }));
    }
    await new Parse.Object('Chat').save({ text: 'hidden', public: true }, { useMasterKey: true });
    const shown = await new Parse.Object('Chat').save({ text: 'shown', public: true }, { useMasterKey: true });
    await shown.save({ text: 'edited' }, { useMasterKey: true });
    await waitFor(() => events.length >= 2, () => `events so far: ${JSON.stringify(events)}`);
    await new Promise(resolve => setTimeout(resolve, 200));
    const username = user.get('username');
    assert.deepEqual(events, [
      { name: 'create', text: 'shown', seenAs: `create:${username}` },
      { name: 'update', text: 'edited', seenAs: `update:${username}` },
    ]);
    await Parse.User.logOut();
  });
});
