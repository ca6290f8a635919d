// Thin client for the dashboard's JSON API (/dashboard/api). The session cookie is
// HttpOnly and handled by the browser; the CSRF token is kept in memory only.

export interface Session {
  username: string;
  readOnly: boolean;
  csrfToken: string;
}

export interface AppInfo {
  appId: string;
  name: string;
  createdAt: string;
  serverURL: string;
  settings: Record<string, unknown>;
}

export interface Keys {
  applicationId: string;
  masterKey: string;
  javascriptKey: string;
  restAPIKey: string;
  clientKey: string;
}

export interface FieldSchema {
  type: string;
  targetClass?: string;
  required?: boolean;
  defaultValue?: unknown;
}

export interface ClassSchema {
  className: string;
  fields: Record<string, FieldSchema>;
  classLevelPermissions?: unknown;
  indexes?: unknown;
}

const COMMON_FIELDS: Record<string, FieldSchema> = {
  objectId: { type: 'String' },
  createdAt: { type: 'Date' },
  updatedAt: { type: 'Date' },
  ACL: { type: 'ACL' },
};

/**
 * Parse's users and roles exist in every app, even before the first one is stored (the
 * server lists a class only once it has a schema): shown with their default fields until then.
 */
export const BUILT_IN_CLASSES: ClassSchema[] = [
  {
    className: '_User',
    fields: {
      ...COMMON_FIELDS,
      username: { type: 'String' },
      password: { type: 'String' },
      email: { type: 'String' },
      emailVerified: { type: 'Boolean' },
      authData: { type: 'Object' },
    },
  },
  {
    className: '_Role',
    fields: {
      ...COMMON_FIELDS,
      name: { type: 'String' },
      users: { type: 'Relation', targetClass: '_User' },
      roles: { type: 'Relation', targetClass: '_Role' },
    },
  },
];

/** The app's classes as the server lists them, with the built-in ones it has not stored yet. */
export function withBuiltInClasses(listed: ClassSchema[]): ClassSchema[] {
  const missing = BUILT_IN_CLASSES.filter((builtIn) => !listed.some((s) => s.className === builtIn.className));
  return [...listed, ...missing];
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: number | undefined;
  constructor(status: number, code: number | undefined, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const API_BASE = `${import.meta.env.BASE_URL.replace(/\/$/, '')}/api`;

/** The address of a dashboard API path, for links the browser follows itself (downloads). */
export function apiUrl(path: string): string {
  return API_BASE + path;
}

/** The CSRF token of the session, for requests made without `request` (upload progress). */
export function currentCsrfToken(): string {
  return csrfToken;
}

let csrfToken = '';
let onUnauthorized: () => void = () => {};

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  body?: unknown;
  rawBody?: Blob;
  contentType?: string;
  /** Do not treat a 401 as "session ended" (sign-in and session probe). */
  allow401?: boolean;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.rawBody !== undefined) {
    body = opts.rawBody;
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(API_BASE + path, { method, headers, body, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, undefined, 'Could not reach the server. Check your connection and try again.');
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const obj = (json && typeof json === 'object' ? json : {}) as { code?: number; error?: unknown };
    const message =
      typeof obj.error === 'string' && obj.error
        ? obj.error
        : `The server answered ${res.status} ${res.statusText || ''}`.trim() + '.';
    const err = new ApiError(res.status, obj.code, message);
    if (res.status === 401 && !opts.allow401) onUnauthorized();
    throw err;
  }
  return (json ?? {}) as T;
}

export const api = {
  session: () => request<Session>('GET', '/session', { allow401: true }),
  login: (username: string, password: string) =>
    request<Session>('POST', '/login', { body: { username, password }, allow401: true }),
  logout: () => request<Record<string, never>>('POST', '/logout', { allow401: true }),
  apps: () => request<{ results: AppInfo[] }>('GET', '/apps'),
  app: (appId: string) => request<AppInfo>('GET', `/apps/${encodeURIComponent(appId)}`),
  createApp: (name: string) => request<{ app: AppInfo; keys: Keys }>('POST', '/apps', { body: { name } }),
  updateApp: (appId: string, body: { name?: string; settings?: Record<string, unknown> }) =>
    request<AppInfo>('PUT', `/apps/${encodeURIComponent(appId)}`, { body }),
  deleteApp: (appId: string, confirm: string) =>
    request<Record<string, never>>('DELETE', `/apps/${encodeURIComponent(appId)}`, { body: { confirm } }),
  rotateKeys: (appId: string) => request<{ keys: Keys }>('POST', `/apps/${encodeURIComponent(appId)}/keys`),
  /** Each class's object count: the database's estimate for large tables (`estimated`). */
  classCounts: (appId: string) =>
    request<{ results: ClassCount[] }>('GET', `/apps/${encodeURIComponent(appId)}/classes`),
};

export interface ClassCount {
  className: string;
  count: number;
  estimated: boolean;
}

/** "12,345 rows", or "≈ 1,200,000 rows" for an estimate. */
export function describeCount(count: number, estimated = false): string {
  const rows = `${count.toLocaleString('en-US')} ${count === 1 ? 'row' : 'rows'}`;
  return estimated ? `≈ ${rows}` : rows;
}

/** Calls the app's Parse REST API (with the master key, server side). */
export function parse<T>(appId: string, method: string, path: string, body?: unknown): Promise<T> {
  return request<T>(method, `/apps/${encodeURIComponent(appId)}/parse/${path}`, { body });
}

export function uploadFile(appId: string, file: File): Promise<{ name: string; url: string }> {
  const name = file.name.replace(/[^A-Za-z0-9._-]/g, '_') || 'file';
  return request('POST', `/apps/${encodeURIComponent(appId)}/parse/files/${encodeURIComponent(name)}`, {
    rawBody: file,
    contentType: file.type || 'application/octet-stream',
  });
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
