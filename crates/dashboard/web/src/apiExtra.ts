// Helpers for the schema, import/export, users, cloud code and console pages, built on
// api.ts (which is left as it is).
import { parse, request, withBuiltInClasses, type ClassSchema } from './api';
import { DEFAULT_FIELDS } from './browser/columns';
import { isObj } from './json';

const API_BASE = `${import.meta.env.BASE_URL.replace(/\/$/, '')}/api`;


export function appBase(appId: string): string {
  return `/apps/${encodeURIComponent(appId)}`;
}

/** The app's classes (with _User and _Role even before they are stored), sorted by name. */
export async function fetchSchemas(appId: string): Promise<{ all: ClassSchema[]; stored: Set<string> }> {
  const r = await parse<{ results?: ClassSchema[] }>(appId, 'GET', 'schemas');
  const listed = r.results ?? [];
  const all = withBuiltInClasses(listed).sort((a, b) => a.className.localeCompare(b.className));
  return { all, stored: new Set(listed.map((s) => s.className)) };
}

export function classesPath(className: string, query?: Record<string, unknown>): string {
  let p = `classes/${encodeURIComponent(className)}`;
  if (query) p += `?${toQueryString(query)}`;
  return p;
}

/** Parse's REST query string: objects (where, …) JSON-encoded, the rest as text. */
export function toQueryString(query: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    q.set(k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  }
  return q.toString();
}

export interface BatchRequest {
  method: string;
  /** Relative to the Parse API, e.g. `classes/GameScore`. */
  path: string;
  body?: unknown;
}

export type BatchResult = { success: unknown } | { error: { code?: number; error?: string } };

/** POST batch. Paths use the legacy `/1` prefix, which every mount path accepts. */
export function batch(appId: string, requests: BatchRequest[]): Promise<BatchResult[]> {
  return parse<BatchResult[]>(appId, 'POST', 'batch', {
    requests: requests.map((r) => ({ method: r.method, path: `/1/${r.path}`, body: r.body })),
  });
}

export interface RawResponse {
  status: number;
  statusText: string;
  ok: boolean;
  text: string;
  json: unknown;
  durationMs: number;
}

/**
 * A request to the app's Parse API that returns the raw answer (status, text, timing)
 * instead of throwing: for the API console and for calls made as a client
 * (`X-Dashboard-As: client`, optionally with `X-Parse-Session-Token`).
 */
export async function rawParse(
  appId: string,
  method: string,
  path: string,
  opts: { body?: string; csrfToken: string; asClient?: boolean; sessionToken?: string },
): Promise<RawResponse> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.body !== undefined && opts.body !== '') headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = opts.csrfToken;
  if (opts.asClient) {
    headers['X-Dashboard-As'] = 'client';
    if (opts.sessionToken) headers['X-Parse-Session-Token'] = opts.sessionToken;
  }
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(`${API_BASE}/apps/${encodeURIComponent(appId)}/parse/${path.replace(/^\/+/, '')}`, {
      method,
      headers,
      body: opts.body === undefined || opts.body === '' || method === 'GET' ? undefined : opts.body,
      credentials: 'same-origin',
    });
  } catch {
    throw new Error('Could not reach the server. Check your connection and try again.');
  }
  const text = await res.text();
  const durationMs = Math.round(performance.now() - started);
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, statusText: res.statusText, ok: res.ok, text, json, durationMs };
}

// ---------- cloud code (dashboard endpoints) ----------

export interface CloudInfo {
  configured: boolean;
  files: { path: string; size: number }[];
  functions: string[];
  jobs: string[];
  triggers: { trigger: string; className: string }[];
}

export const cloudApi = {
  info: (appId: string) => request<CloudInfo>('GET', `${appBase(appId)}/cloud`),
  file: (appId: string, path: string) =>
    request<{ path: string; content: string }>('GET', `${appBase(appId)}/cloud/file?path=${encodeURIComponent(path)}`),
};

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Classes every app has, offered as pointer targets even before they are stored. */
export const SYSTEM_CLASSES = ['_User', '_Role', '_Installation', '_Session'];

/** Fields a class always has; they cannot be deleted. */
export function defaultFieldNames(className: string): string[] {
  const common = DEFAULT_FIELDS;
  switch (className) {
    case '_User':
      return [...common, 'username', 'password', 'email', 'emailVerified', 'authData'];
    case '_Role':
      return [...common, 'name', 'users', 'roles'];
    case '_Session':
      return [...common, 'user', 'installationId', 'sessionToken', 'expiresAt', 'createdWith', 'restricted'];
    case '_Installation':
      return [
        ...common,
        'installationId',
        'deviceToken',
        'channels',
        'deviceType',
        'pushType',
        'GCMSenderId',
        'timeZone',
        'localeIdentifier',
        'badge',
        'appVersion',
        'appName',
        'appIdentifier',
        'parseVersion',
      ];
    default:
      return [...common];
  }
}


export function formatDate(v: unknown): string {
  const iso = typeof v === 'string' ? v : isObj(v) && typeof v.iso === 'string' ? v.iso : '';
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
