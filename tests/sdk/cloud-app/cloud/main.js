// A cloud/main.js as a Parse developer writes it for parse-server: the global Parse, an npm
// package from the app's own node_modules, helpers in a second file.
const _ = require('lodash');
const { shout } = require('./helpers');

Parse.Cloud.define('hello', request => `Hello, ${request.params.name || 'world'}!`);

Parse.Cloud.define('stats', request => {
  const numbers = request.params.numbers || [];
  return { sum: _.sum(numbers), max: _.max(numbers) ?? null, shouted: shout('done') };
});

// Values come back Parse-encoded: dates, objects, pointers.
Parse.Cloud.define('createNote', async request => {
  const note = new Parse.Object('CloudNote');
  note.set('text', request.params.text);
  note.set('at', new Date('2024-05-01T12:00:00Z'));
  if (request.user) {
    note.setACL(new Parse.ACL(request.user));
    await note.save(null, { sessionToken: request.user.getSessionToken() });
  } else {
    await note.save(null, { useMasterKey: true });
  }
  return note;
});

// Reads with the caller's session: ACLs apply as they do for the caller.
Parse.Cloud.define('myNotes', async request => {
  const query = new Parse.Query('CloudNote');
  const options = request.user ? { sessionToken: request.user.getSessionToken() } : {};
  const notes = await query.find(options);
  return notes.map(note => note.get('text')).sort();
});

Parse.Cloud.define('countAllNotes', () => new Parse.Query('CloudNote').count({ useMasterKey: true }));

Parse.Cloud.define('whoami', request => ({
  user: request.user ? request.user.get('username') : null,
  master: request.master,
  installationId: request.installationId || null,
  header: request.headers['x-app-header'] || null,
  ip: typeof request.ip === 'string' && request.ip.length > 0,
  context: request.context,
}));

Parse.Cloud.define('customError', () => {
  throw new Parse.Error(9001, 'Out of widgets');
});
Parse.Cloud.define('stringError', () => {
  throw 'Something went wrong';
});
Parse.Cloud.define('crash', () => {
  process.exit(1);
});

Parse.Cloud.define('profile', request => `profile of ${request.user.get('username')}`, {
  requireUser: true,
  fields: {
    section: { type: String, options: ['public', 'private'], default: 'public' },
  },
});
Parse.Cloud.define('adminOnly', () => 'secret', { requireMaster: true });
Parse.Cloud.define('needsEmail', () => 'ok', { requireUserKeys: ['email'] });

// Logs go to the server's log.
Parse.Cloud.define('logSomething', request => {
  console.log('cloud says hi');
  request.log.info('through request.log');
  return true;
});

// ---------------------------------------------------------------- jobs

Parse.Cloud.job('archiveReviews', async request => {
  await request.message('counting');
  const count = await new Parse.Query('Review').count({ useMasterKey: true });
  await new Promise(resolve => setTimeout(resolve, 200));
  return `looked at ${count} reviews with ${JSON.stringify(request.params)}`;
});

Parse.Cloud.job('brokenJob', async request => {
  await request.message('about to fail');
  throw new Error('the archive is unreachable');
});

// ---------------------------------------------------------------- triggers

Parse.Cloud.beforeSave('Review', request => {
  const review = request.object;
  if (!review.get('stars')) {
    throw 'A review needs stars';
  }
  const title = (review.get('title') || '').trim();
  review.set('title', title);
  review.set('slug', _.kebabCase(title));
  request.context.checkedBy = 'beforeSave';
});

Parse.Cloud.afterSave('Review', async request => {
  const entry = new Parse.Object('AuditLog');
  await entry.save(
    {
      action: 'save',
      reviewId: request.object.id,
      title: request.object.get('title'),
      existed: !!request.original,
      previousStars: request.original ? request.original.get('stars') : null,
      checkedBy: request.context.checkedBy || null,
      source: request.context.source || null,
      user: request.user ? request.user.get('username') : null,
    },
    { useMasterKey: true }
  );
});

Parse.Cloud.beforeDelete('Review', request => {
  if (request.object.get('locked')) {
    throw new Parse.Error(Parse.Error.OPERATION_FORBIDDEN, 'This review is locked');
  }
});

Parse.Cloud.afterDelete('Review', async request => {
  await new Parse.Object('AuditLog').save(
    { action: 'delete', reviewId: request.object.id, title: request.object.get('title') },
    { useMasterKey: true }
  );
});

// Increments arrive applied; the trigger adds one of its own.
Parse.Cloud.beforeSave('Counter', request => {
  if (request.object.get('value') > 10) {
    throw new Parse.Error(9002, `Too high: ${request.object.get('value')}`);
  }
  request.object.increment('saves');
});

Parse.Cloud.beforeSave('Secret', () => {}, { requireUser: true, fields: { level: { default: 1 } } });

// Users: the password is visible before it is hashed; defaults set here reach the client.
Parse.Cloud.beforeSave(Parse.User, request => {
  const password = request.object.get('password');
  if (password !== undefined && password.length < 8) {
    throw new Parse.Error(Parse.Error.VALIDATION_ERROR, 'Password must be at least 8 characters');
  }
  if (!request.object.get('displayName')) {
    request.object.set('displayName', `@${request.object.get('username')}`);
  }
});

Parse.Cloud.afterSave(Parse.User, async request => {
  if (!request.original) {
    await new Parse.Object('AuditLog').save(
      { action: 'signup', reviewId: request.object.id, title: request.object.get('username') },
      { useMasterKey: true }
    );
  }
});

// ---------------------------------------------------------------- queries and sessions

// Hidden reviews are for the master key only; results get an excerpt.
Parse.Cloud.beforeFind('Review', request => {
  if (!request.master) {
    request.query.notEqualTo('hidden', true);
  }
});

Parse.Cloud.afterFind('Review', request =>
  request.objects.map(review => {
    review.set('excerpt', (review.get('title') || '').slice(0, 4));
    return review;
  })
);

Parse.Cloud.beforeLogin(request => {
  if (request.object.get('username').startsWith('banned')) {
    throw new Parse.Error(Parse.Error.OPERATION_FORBIDDEN, 'This account is banned');
  }
});

Parse.Cloud.afterLogin(async request => {
  await new Parse.Object('AuditLog').save(
    { action: 'login', reviewId: request.object.id, title: request.object.get('username') },
    { useMasterKey: true }
  );
});

Parse.Cloud.afterLogout(async request => {
  await new Parse.Object('AuditLog').save(
    { action: 'logout', reviewId: request.object.get('user').id, title: 'bye' },
    { useMasterKey: true }
  );
});

// ---------------------------------------------------------------- files

Parse.Cloud.beforeSave(Parse.File, request => {
  const name = request.file.name();
  if (name.endsWith('.exe')) {
    throw 'Executables are not accepted';
  }
  request.file.addMetadata('checkedBy', 'cloud');
  if (name.startsWith('draft')) {
    const renamed = new Parse.File(`final${name.slice('draft'.length)}`, [], request.file._source?.type);
    renamed.setMetadata({ ...request.file.metadata(), renamed: 'yes' });
    return renamed;
  }
});

Parse.Cloud.afterSave(Parse.File, async request => {
  await new Parse.Object('AuditLog').save(
    { action: 'file', title: request.file.name(), reviewId: String(request.fileSize) },
    { useMasterKey: true }
  );
});

Parse.Cloud.beforeDelete(Parse.File, request => {
  if (request.file.name().includes('keep')) {
    throw 'This file is kept';
  }
});

// ---------------------------------------------------------------- more validators, HTTP, resets

Parse.Cloud.define('limited', () => 'ok', {
  rateLimit: { requestTimeWindow: 60 * 1000, requestCount: 2, errorResponseMessage: 'Slow down' },
});

Parse.Cloud.define('serverHealth', async () => {
  const response = await Parse.Cloud.httpRequest({ url: `${Parse.serverURL}/health` });
  return { status: response.status, body: response.data };
});

Parse.Cloud.beforePasswordResetRequest(request => {
  if (request.object.get('email').endsWith('@blocked.example')) {
    throw new Parse.Error(Parse.Error.OPERATION_FORBIDDEN, 'Resets are disabled for this account');
  }
});

// ---------------------------------------------------------------- LiveQuery hooks

Parse.Cloud.beforeConnect(request => {
  if (request.installationId === 'blocked-installation') {
    throw new Parse.Error(Parse.Error.OPERATION_FORBIDDEN, 'This installation may not listen');
  }
});

// Only signed-in users listen to Chat, and only to its public messages.
Parse.Cloud.beforeSubscribe('Chat', request => {
  if (!request.user) {
    throw 'Sign in to listen';
  }
  request.query.equalTo('public', true);
});

// Each Chat event a subscriber is sent: marked with its name and who receives it; a message
// marked hidden is never sent.
Parse.Cloud.afterLiveQueryEvent('Chat', request => {
  if (request.object.get('text') === 'hidden') {
    request.sendEvent = false;
    return;
  }
  request.object.set('seenAs', `${request.event}:${request.user ? request.user.get('username') : 'anonymous'}`);
});
