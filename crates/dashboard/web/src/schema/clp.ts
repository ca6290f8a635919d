// Parse class-level permissions (CLP) as plain JSON, and the edits the CLP grid makes to it.
import { isObj, type Json } from '../json';

export const CLP_OPS = ['find', 'get', 'count', 'create', 'update', 'delete', 'addField'] as const;
export type ClpOp = (typeof CLP_OPS)[number];

export type Clp = Json;

const RESERVED_KEYS = new Set(['pointerFields', 'requiresAuthentication']);

/** Parse's default: everything public, nothing protected. */
export function defaultClp(): Clp {
  const clp: Clp = {};
  for (const op of CLP_OPS) clp[op] = { '*': true };
  clp.protectedFields = { '*': [] };
  return clp;
}

/** The CLP as stored, completed with an entry for every operation. */
export function normalizeClp(raw: unknown): Clp {
  if (!isObj(raw)) return defaultClp();
  const clp: Clp = JSON.parse(JSON.stringify(raw)) as Clp;
  for (const op of CLP_OPS) if (!isObj(clp[op])) clp[op] = {};
  if (!isObj(clp.protectedFields)) clp.protectedFields = {};
  return clp;
}

function opMap(clp: Clp, op: ClpOp): Json {
  const m = clp[op];
  return isObj(m) ? m : {};
}

/** Rows of the grid: public, authenticated, then every role / user id named anywhere. */
export function entryKeys(clp: Clp, extra: string[]): string[] {
  const keys = new Set<string>();
  for (const op of CLP_OPS) for (const k of Object.keys(opMap(clp, op))) if (!RESERVED_KEYS.has(k) && k !== '*') keys.add(k);
  for (const k of extra) keys.add(k);
  const sorted = [...keys].sort((a, b) => {
    const ra = a.startsWith('role:') ? 0 : 1;
    const rb = b.startsWith('role:') ? 0 : 1;
    return ra - rb || a.localeCompare(b);
  });
  return ['*', 'requiresAuthentication', ...sorted];
}

/** Pointer-field rows: fields named in pointerFields of any operation or in read/writeUserFields. */
export function pointerKeys(clp: Clp, extra: string[]): string[] {
  const keys = new Set<string>();
  for (const op of CLP_OPS) {
    const pf = opMap(clp, op).pointerFields;
    if (Array.isArray(pf)) for (const f of pf) if (typeof f === 'string') keys.add(f);
  }
  for (const list of [clp.readUserFields, clp.writeUserFields]) if (Array.isArray(list)) for (const f of list) if (typeof f === 'string') keys.add(f);
  for (const k of extra) keys.add(k);
  return [...keys].sort();
}

export function isAllowed(clp: Clp, op: ClpOp, entry: string): boolean {
  return opMap(clp, op)[entry] === true;
}

export function setAllowed(clp: Clp, op: ClpOp, entry: string, on: boolean): Clp {
  const m = { ...opMap(clp, op) };
  if (on) m[entry] = true;
  else delete m[entry];
  return { ...clp, [op]: m };
}

export function hasPointer(clp: Clp, op: ClpOp, field: string): boolean {
  const pf = opMap(clp, op).pointerFields;
  return Array.isArray(pf) && pf.includes(field);
}

export function setPointer(clp: Clp, op: ClpOp, field: string, on: boolean): Clp {
  const m = { ...opMap(clp, op) };
  const list = (Array.isArray(m.pointerFields) ? m.pointerFields : []).filter((f) => f !== field);
  if (on) list.push(field);
  if (list.length > 0) m.pointerFields = list;
  else delete m.pointerFields;
  return { ...clp, [op]: m };
}

export type UserFieldsKey = 'readUserFields' | 'writeUserFields';

export function hasUserField(clp: Clp, key: UserFieldsKey, field: string): boolean {
  const list = clp[key];
  return Array.isArray(list) && list.includes(field);
}

export function setUserField(clp: Clp, key: UserFieldsKey, field: string, on: boolean): Clp {
  const list = (Array.isArray(clp[key]) ? (clp[key] as unknown[]) : []).filter((f) => f !== field);
  if (on) list.push(field);
  const next = { ...clp };
  if (list.length > 0) next[key] = list;
  else delete next[key];
  return next;
}

/** Drops an entry from every operation. */
export function removeEntry(clp: Clp, entry: string): Clp {
  const next = { ...clp };
  for (const op of CLP_OPS) {
    const m = { ...opMap(clp, op) };
    delete m[entry];
    next[op] = m;
  }
  return next;
}

export function removePointer(clp: Clp, field: string): Clp {
  let next = clp;
  for (const op of CLP_OPS) next = setPointer(next, op, field, false);
  next = setUserField(next, 'readUserFields', field, false);
  return setUserField(next, 'writeUserFields', field, false);
}

export function protectedMap(clp: Clp): Record<string, string[]> {
  const pf = clp.protectedFields;
  const out: Record<string, string[]> = {};
  if (isObj(pf)) for (const [k, v] of Object.entries(pf)) out[k] = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  return out;
}

export function setProtected(clp: Clp, entry: string, fields: string[] | null): Clp {
  const pf = protectedMap(clp);
  if (fields === null) delete pf[entry];
  else pf[entry] = fields;
  return { ...clp, protectedFields: pf };
}

export function entryLabel(entry: string): string {
  if (entry === '*') return 'Public';
  if (entry === 'requiresAuthentication' || entry === 'authenticated') return 'Authenticated users';
  if (entry.startsWith('role:')) return `Role ${entry.slice(5)}`;
  if (entry.startsWith('userField:')) return `Users in field ${entry.slice(10)}`;
  return `User ${entry}`;
}

/** What the user typed in "add an entry": `role:Name`, or a user's objectId. */
export function validEntry(text: string): string | null {
  const t = text.trim();
  if (/^role:[A-Za-z0-9_ -]+$/.test(t)) return t;
  if (/^[A-Za-z0-9]+$/.test(t)) return t;
  return null;
}

/** Keys accepted in protectedFields. */
export function validProtectedEntry(text: string): string | null {
  const t = text.trim();
  if (t === '*' || t === 'authenticated') return t;
  if (/^role:[A-Za-z0-9_ -]+$/.test(t)) return t;
  if (/^userField:[A-Za-z][A-Za-z0-9_]*$/.test(t)) return t;
  if (/^[A-Za-z0-9]+$/.test(t)) return t;
  return null;
}
