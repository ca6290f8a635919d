'use strict';
// Reparse's cloud code worker: runs an app's cloud/main.js unchanged, with the official `parse`
// SDK as its `Parse` global pointed back at the Reparse server, and answers the server's calls.
//
// The server starts it with these variables and listens on REPARSE_CLOUD_SOCKET:
//   REPARSE_CLOUD_SOCKET  Unix socket to connect to (the protocol channel)
//   REPARSE_CLOUD_MAIN    the app's cloud code entry file
//   REPARSE_CLOUD_PARSE   the `parse` package's folder
//   REPARSE_APP_ID, REPARSE_MASTER_KEY, REPARSE_JAVASCRIPT_KEY, REPARSE_SERVER_URL
//
// Protocol: one JSON object per line each way.
//   worker → server  {type: 'ready', functions, jobs, triggers: [{type, className}]}
//                    (a trigger's result: {changes, context} for beforeSave, {context} else)
//                    {type: 'result', id, result?} | {type: 'error', id, code, message}
//                    {type: 'log', level, message}
//   server → worker  {type: 'call', id, kind: 'function' | 'trigger', name, request}
//                    (a trigger's request: {className, object, original, changes, …})
// stdout and stderr stay the app's own: the server files them as info and error logs.

const net = require('node:net');
const path = require('node:path');
const Module = require('node:module');

const env = process.env;
const parseFolder = env.REPARSE_CLOUD_PARSE;
const Parse = require(path.join(parseFolder, 'node.js'));

// `require('parse/node')` in the app's code gets this same SDK, wherever it runs from.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'parse/node' || request === 'parse') {
    return path.join(parseFolder, 'node.js');
  }
  return resolveFilename.call(this, request, ...rest);
};

Parse.initialize(env.REPARSE_APP_ID, env.REPARSE_JAVASCRIPT_KEY || undefined, env.REPARSE_MASTER_KEY);
Parse.serverURL = env.REPARSE_SERVER_URL;
global.Parse = Parse;

// ------------------------------------------------------------------ the registry cloud code fills

const functions = new Map(); // name → {handler, validator}
const jobs = new Map(); // name → handler
const triggers = new Map(); // `${type}:${className}` → {handler, validator}

/** The class a trigger is for: a name, or a Parse.Object subclass (Parse.User → `_User`). */
function triggerClassName(target) {
  if (typeof target === 'string') return target;
  // parse-server keeps file triggers under '@File'.
  if (target === Parse.File) return '@File';
  if (typeof target === 'function') return target.className || new target().className;
  throw new Error('a trigger needs a class name or a Parse.Object subclass');
}

/** parse-server's rules on which classes take which triggers. */
function checkTriggerClass(type, className) {
  if (className === '_Session' && type !== 'afterLogout') {
    throw 'Only the afterLogout trigger is allowed for the _Session class.';
  }
  if (['beforeLogin', 'afterLogin', 'beforePasswordResetRequest'].includes(type) && className !== '_User') {
    throw 'Only the _User class is allowed for the beforeLogin, afterLogin, and beforePasswordResetRequest triggers';
  }
  if (className === '_PushStatus' && type !== 'afterSave') {
    throw 'Only afterSave is allowed on _PushStatus';
  }
}

function defineTrigger(type, className, handler, validator) {
  checkTriggerClass(type, className);
  checkHandler(type, className, handler);
  checkValidator(validator);
  triggers.set(`${type}:${className}`, { handler, validator });
}

for (const type of ['beforeSave', 'afterSave', 'beforeDelete', 'afterDelete', 'beforeFind', 'afterFind', 'beforeSubscribe', 'afterLiveQueryEvent']) {
  Parse.Cloud[type] = function (target, handler, validator) {
    defineTrigger(type, triggerClassName(target), handler, validator);
  };
}

// The session triggers name no class: the login ones are on _User, afterLogout on _Session.
for (const [type, className] of [
  ['beforeLogin', '_User'],
  ['afterLogin', '_User'],
  ['afterLogout', '_Session'],
  ['beforePasswordResetRequest', '_User'],
  ['beforeConnect', '@Connect'],
]) {
  Parse.Cloud[type] = function (handler, validator) {
    defineTrigger(type, className, handler, validator);
  };
}

function checkHandler(kind, name, handler) {
  if (typeof handler !== 'function') {
    throw new Error(`Parse.Cloud.${kind}(${JSON.stringify(name)}, …) needs a handler function`);
  }
}

Parse.Cloud.define = function (name, handler, validator) {
  checkHandler('define', name, handler);
  checkValidator(validator);
  functions.set(name, { handler, validator });
};

Parse.Cloud.job = function (name, handler) {
  checkHandler('job', name, handler);
  jobs.set(name, handler);
};

// Deprecated no-ops parse-server keeps for old code.
Parse.Cloud.useMasterKey = function () {};

/** parse-server's Parse.Cloud.httpRequest: {url, method, headers, body, params, followRedirects}. */
Parse.Cloud.httpRequest = async function (options) {
  const url = new URL(options.url);
  for (const [key, value] of Object.entries(options.params || {})) {
    url.searchParams.append(key, value);
  }
  const headers = { ...(options.headers || {}) };
  let body = options.body;
  if (body && typeof body === 'object' && !Buffer.isBuffer(body)) {
    const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] || '';
    if (type.includes('application/x-www-form-urlencoded')) {
      body = new URLSearchParams(body).toString();
    } else {
      body = JSON.stringify(body);
      if (!type) headers['Content-Type'] = 'application/json';
    }
  }
  const response = await fetch(url, {
    method: options.method || 'GET',
    headers,
    body,
    redirect: options.followRedirects ? 'follow' : 'manual',
  });
  const buffer = Buffer.from(await response.arrayBuffer());
  const result = {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    buffer,
    text: buffer.toString('utf8'),
    data: undefined,
    cookies: {},
  };
  try {
    result.data = JSON.parse(result.text);
  } catch {
    // not JSON
  }
  if (response.status >= 400) {
    throw result;
  }
  return result;
};

// ------------------------------------------------------------------ validators (parse-server's)

const VALIDATOR_KEYS = new Set([
  'requireUser', 'requireAnyUserRoles', 'requireAllUserRoles', 'requireMaster', 'validateMasterKey',
  'skipWithMasterKey', 'requireUserKeys', 'fields', 'rateLimit',
]);

function checkValidator(validator) {
  if (!validator || typeof validator === 'function') return;
  for (const key of Object.keys(validator)) {
    if (!VALIDATOR_KEYS.has(key)) {
      throw `${key} is not a supported parameter for Cloud Function validations.`;
    }
  }
}

/** The lowercase name of a constructor given as a field type (`String` → 'string'). */
function typeName(constructor) {
  const match = constructor && constructor.toString().match(/^\s*function (\w+)/);
  return (match ? match[1] : '').toLowerCase();
}

async function checkOption(option, key, value) {
  const allowed = option.options;
  if (typeof allowed === 'function') {
    let accepted;
    try {
      accepted = await allowed(value);
    } catch (error) {
      throw option.error || error?.message || error || `Validation failed. Invalid value for ${key}.`;
    }
    if (!accepted && accepted != null) throw option.error || `Validation failed. Invalid value for ${key}.`;
    return;
  }
  const list = Array.isArray(allowed) ? allowed : [allowed];
  if (!list.includes(value)) {
    throw option.error || `Validation failed. Invalid option for ${key}. Expected: ${list.join(', ')}`;
  }
}

/** The built-in validator object (fields, requireUser, …), in parse-server's order and words. */
async function runValidatorObject(options, request) {
  if (request.master && !options.validateMasterKey) return;
  const user = request.user;
  if ((options.requireUser || options.requireAnyUserRoles || options.requireAllUserRoles) && !user) {
    throw 'Validation failed. Please login to continue.';
  }
  if (options.requireMaster && !request.master) {
    throw 'Validation failed. Master key is required to complete this request.';
  }
  // A trigger validates its object's fields; a function its params.
  const params = request.object ? request.object.toJSON() : request.params || {};
  const required = key => {
    if (params[key] == null) throw `Validation failed. Please specify data for ${key}.`;
  };
  if (Array.isArray(options.fields)) {
    options.fields.forEach(required);
  } else if (options.fields) {
    const checks = [];
    for (const [key, option] of Object.entries(options.fields)) {
      if (typeof option === 'string') {
        required(option);
        continue;
      }
      if (!option || typeof option !== 'object') continue;
      let value = params[key];
      if (option.default != null && value == null) {
        value = option.default;
        params[key] = value;
        if (request.object) request.object.set(key, value);
      }
      if (option.constant && request.object) {
        if (request.original) request.object.revert(key);
        else if (option.default != null) request.object.set(key, option.default);
      }
      if (option.required) required(key);
      if (option.required || value !== undefined) {
        if (option.type) {
          const expected = typeName(option.type);
          const actual = Array.isArray(value) ? 'array' : typeof value;
          if (actual !== expected) throw `Validation failed. Invalid type for ${key}. Expected: ${expected}`;
        }
        if (option.options) checks.push(checkOption(option, key, value));
      }
    }
    await Promise.all(checks);
  }
  let anyRoles = options.requireAnyUserRoles;
  let allRoles = options.requireAllUserRoles;
  if (typeof anyRoles === 'function') anyRoles = await anyRoles();
  if (typeof allRoles === 'function') allRoles = await allRoles();
  const roles = request.userRoles || [];
  if (Array.isArray(anyRoles) && !anyRoles.some(role => roles.includes(`role:${role}`))) {
    throw 'Validation failed. User does not match the required roles.';
  }
  if (Array.isArray(allRoles) && !allRoles.every(role => roles.includes(`role:${role}`))) {
    throw 'Validation failed. User does not match all the required roles.';
  }
  const userKeys = options.requireUserKeys || [];
  if (Array.isArray(userKeys)) {
    for (const key of userKeys) {
      if (!user) throw 'Please login to make this request.';
      if (user.get(key) == null) throw `Validation failed. Please set data for ${key} on your account.`;
    }
  } else {
    await Promise.all(
      Object.entries(userKeys)
        .filter(([, option]) => option && option.options)
        .map(([key, option]) => checkOption(option, key, user?.get(key)))
    );
  }
}

// rateLimit: requests per window, counted per function (or trigger) and client address, in this
// worker (so per server, as parse-server's default memory store is per process).
const rateWindows = new Map(); // key → timestamps of recent requests

function checkRateLimit(limit, scope, request) {
  if (!limit || (request.master && !limit.includeMasterKey)) return;
  const windowMs = Number(limit.requestTimeWindow) || 0;
  const count = Number(limit.requestCount) || 0;
  if (windowMs <= 0 || count <= 0) return;
  const key = `${scope}:${request.ip || ''}`;
  const now = Date.now();
  const recent = (rateWindows.get(key) || []).filter(at => now - at < windowMs);
  if (recent.length >= count) {
    rateWindows.set(key, recent);
    throw new Parse.Error(Parse.Error.CONNECTION_FAILED, limit.errorResponseMessage || 'Too many requests');
  }
  recent.push(now);
  rateWindows.set(key, recent);
}

async function runValidator(validator, request, scope) {
  if (!validator) return;
  if (typeof validator === 'object' && validator.rateLimit) {
    checkRateLimit(validator.rateLimit, scope, request);
  }
  if (typeof validator === 'object' && validator.skipWithMasterKey && request.master) return;
  try {
    if (typeof validator === 'function') await validator(request);
    else await runValidatorObject(validator, request);
  } catch (error) {
    throw asParseError(error, Parse.Error.VALIDATION_ERROR, 'Validation failed.');
  }
}

// ------------------------------------------------------------------ errors and values

/** parse-server's resolveError: a Parse.Error as it is; a string or Error under `code`. */
function asParseError(error, code = Parse.Error.SCRIPT_FAILED, fallback = 'Script failed.') {
  if (error instanceof Parse.Error) return error;
  if (!error) return new Parse.Error(code, fallback);
  if (typeof error === 'string') return new Parse.Error(code, error);
  if (typeof error.code === 'number' && typeof error.message === 'string' && !(error instanceof Error)) {
    return new Parse.Error(error.code, error.message);
  }
  return new Parse.Error(code, error.message || String(error));
}

/** Decodes a function's params as parse-server does: Dates and Files become objects. */
function decodeParam(value) {
  if (Array.isArray(value)) return value.map(decodeParam);
  if (value && typeof value === 'object') {
    if (value.__type === 'Date') return Object.assign(new Date(value.iso), value);
    if (value.__type === 'File') return Parse.File.fromJSON(value);
    const decoded = {};
    for (const [key, inner] of Object.entries(value)) decoded[key] = decodeParam(inner);
    return decoded;
  }
  return value;
}

function logger(level) {
  return (...parts) => send({ type: 'log', level, message: parts.map(formatLogPart).join(' ') });
}

function formatLogPart(part) {
  if (typeof part === 'string') return part;
  try {
    return JSON.stringify(part);
  } catch {
    return String(part);
  }
}

const requestLog = {
  info: logger('info'),
  warn: logger('warn'),
  error: logger('error'),
  debug: logger('debug'),
  log: logger('info'),
};

/** The `request` a handler receives, from what the server sent. */
function handlerRequest(sent) {
  const request = {
    params: decodeParam(sent.params || {}),
    master: !!sent.master,
    user: undefined,
    installationId: sent.installationId,
    headers: sent.headers || {},
    ip: sent.ip,
    context: sent.context || {},
    log: requestLog,
    functionName: sent.functionName,
    userRoles: sent.userRoles,
  };
  if (sent.user) {
    request.user = Parse.Object.fromJSON({ className: '_User', ...sent.user }, true);
  }
  return request;
}

// ------------------------------------------------------------------ calls

async function callFunction(message) {
  const entry = functions.get(message.name);
  if (!entry) {
    throw new Parse.Error(Parse.Error.SCRIPT_FAILED, `Invalid function: "${message.name}"`);
  }
  const request = handlerRequest({ ...message.request, functionName: message.name });
  await runValidator(entry.validator, request, `function:${message.name}`);
  const { userRoles, ...visible } = request;
  void userRoles;
  const result = await entry.handler(visible);
  // parse-server answers `{}` for a function that returns nothing.
  return result === undefined ? undefined : Parse._encode(result);
}

/** A stored object (REST JSON) as the SDK object a trigger sees. */
function inflate(className, json) {
  return json ? Parse.Object.fromJSON({ className, ...json }, true) : undefined;
}

/** Applies a write's body (REST JSON, `__op`s included) to `object` as pending changes. */
function applyChanges(object, changes) {
  for (const [key, value] of Object.entries(changes || {})) {
    const isOp = value && typeof value === 'object' && typeof value.__op === 'string';
    object.set(key, isOp ? value : Parse._decode(key, value));
  }
}

async function runTrigger(message) {
  const type = message.name;
  const sent = message.request;
  const entry = triggers.get(`${type}:${sent.className}`);
  const request = handlerRequest(sent);
  request.triggerName = type;
  request.original = inflate(sent.className, sent.original);
  if (sent.className === '@File') return runFileTrigger(type, entry, request, sent);
  if (type === 'beforeSave') {
    const object = sent.original
      ? inflate(sent.className, sent.original)
      : new Parse.Object(sent.className);
    applyChanges(object, sent.changes);
    request.object = object;
  } else if (type === 'beforeFind' || type === 'beforeSubscribe') {
    request.query = new Parse.Query(sent.className);
    request.query.withJSON(sent.query || {});
    request.count = !!(sent.query && sent.query.count);
    request.isGet = !!sent.isGet;
  } else if (type === 'beforeConnect') {
    request.useMasterKey = request.master;
    request.sessionToken = sent.object && sent.object.sessionToken;
  } else if (type === 'afterLiveQueryEvent') {
    // parse-server's LiveQuery event request: the trigger may change `object`, `event`, or set
    // `sendEvent = false` to keep the event from this subscriber.
    request.object = inflate(sent.className, sent.object);
    request.event = sent.event;
    request.clients = sent.clients;
    request.subscriptions = sent.subscriptions;
    request.sendEvent = true;
    request.useMasterKey = request.master;
    request.sessionToken = request.user ? request.user.getSessionToken() : undefined;
  } else if (type === 'afterFind') {
    request.objects = (sent.objects || []).map(json => inflate(sent.className, json));
    request.query = new Parse.Query(sent.className);
    request.isGet = !!sent.isGet;
  } else {
    request.object = inflate(sent.className, sent.object);
  }
  let returned;
  // What the handler was given: fields it assigns (sendEvent, event, object) are read from it.
  let handled = request;
  if (entry) {
    await runValidator(entry.validator, request, `${type}:${sent.className}`);
    const { userRoles, ...visible } = request;
    void userRoles;
    handled = visible;
    returned = await entry.handler(visible);
  }
  const answer = { context: request.context };
  if (type === 'beforeSave') answer.changes = request.object._getSaveJSON();
  if (type === 'beforeFind' || type === 'beforeSubscribe') {
    const query = returned instanceof Parse.Query ? returned : request.query;
    answer.query = query.toJSON();
  }
  if (type === 'afterLiveQueryEvent') {
    answer.event = handled.event;
    answer.sendEvent = handled.sendEvent !== false;
    const object = handled.object;
    if (object) answer.object = object instanceof Parse.Object ? object.toJSON() : object;
  }
  if (type === 'afterFind') {
    const objects = Array.isArray(returned) ? returned : request.objects;
    answer.objects = objects.map(object => (object instanceof Parse.Object ? object.toJSON() : object));
  }
  return answer;
}

/** A job: its handler runs to the end (no time limit); `request.message` records progress on
 *  its `_JobStatus` through the SDK, as parse-server's job status handler does. */
async function runJob(message) {
  const handler = jobs.get(message.name);
  if (!handler) throw new Parse.Error(Parse.Error.SCRIPT_FAILED, 'Invalid job.');
  const request = handlerRequest(message.request);
  delete request.userRoles;
  request.jobName = message.name;
  request.jobId = message.request.jobId;
  request.message = async text => {
    const status = new Parse.Object('_JobStatus');
    status.id = request.jobId;
    await status.save({ message: String(text) }, { useMasterKey: true });
  };
  const result = await handler(request);
  return result === undefined ? undefined : Parse._encode(result);
}

/** A file trigger: `request.file` is a Parse.File with the upload's name, type, metadata and
 *  tags (not its bytes, which stream to storage), `request.fileSize` its length when known.
 *  beforeSave may change the name, metadata and tags, or throw to refuse the upload. */
async function runFileTrigger(type, entry, request, sent) {
  const described = sent.object || {};
  const file = new Parse.File(described.name, [], described.contentType);
  if (described.url) file._url = described.url;
  file.setMetadata(described.metadata || {});
  file.setTags(described.tags || {});
  request.file = file;
  request.fileSize = described.size ?? null;
  let returned;
  if (entry) {
    await runValidator(entry.validator, request, `${type}:@File`);
    const { userRoles, ...visible } = request;
    void userRoles;
    returned = await entry.handler(visible);
  }
  const answer = { context: request.context };
  if (type === 'beforeSave') {
    const kept = returned instanceof Parse.File ? returned : request.file;
    answer.changes = { name: kept.name(), metadata: kept.metadata(), tags: kept.tags() };
  }
  return answer;
}

const kinds = { function: callFunction, trigger: runTrigger, job: runJob };

async function handle(message) {
  const run = kinds[message.kind];
  try {
    if (!run) throw new Error(`unknown call kind ${message.kind}`);
    const result = await run(message);
    send({ type: 'result', id: message.id, result });
  } catch (error) {
    const parseError = asParseError(error);
    send({ type: 'error', id: message.id, code: parseError.code, message: parseError.message });
  }
}

// ------------------------------------------------------------------ the channel

const socket = net.createConnection(env.REPARSE_CLOUD_SOCKET);
socket.setNoDelay(true);

function send(message) {
  socket.write(JSON.stringify(message) + '\n');
}

let buffered = '';
socket.on('data', chunk => {
  buffered += chunk.toString('utf8');
  let newline;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line) handle(JSON.parse(line));
  }
});
// The server went away: nothing is left to answer.
socket.on('close', () => process.exit(0));
socket.on('error', error => {
  console.error(`reparse cloud worker: ${error.message}`);
  process.exit(1);
});

socket.on('connect', () => {
  require(path.resolve(env.REPARSE_CLOUD_MAIN));
  const defined = [...triggers.keys()].map(key => {
    const [type, className] = key.split(/:(.*)/s);
    return { type, className };
  });
  send({ type: 'ready', functions: [...functions.keys()], jobs: [...jobs.keys()], triggers: defined });
});
