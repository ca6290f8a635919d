// Value conversions for export (Parse JSON → CSV text) and import (file values → Parse JSON).
import type { ClassSchema, FieldSchema } from '../api';
import { isObj } from '../json';

// ---------- export ----------

/** A value as CSV text: strings plain, Dates as ISO, Pointers as objectId, Files as name,
 *  GeoPoints as "lat,lng", everything else as JSON. */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isObj(v)) {
    switch (v.__type) {
      case 'Date':
        return String(v.iso ?? '');
      case 'Pointer':
        return String(v.objectId ?? '');
      case 'File':
        return String(v.name ?? '');
      case 'GeoPoint':
        return `${String(v.latitude)},${String(v.longitude)}`;
    }
  }
  return JSON.stringify(v);
}

/** CSV columns: the schema's fields (objectId first, no password, no relations), then any
 *  other key found in the objects. */
export function exportColumns(schema: ClassSchema | undefined, objects: Record<string, unknown>[]): string[] {
  const cols: string[] = [];
  const seen = new Set<string>();
  const push = (n: string) => {
    if (!seen.has(n)) {
      seen.add(n);
      cols.push(n);
    }
  };
  push('objectId');
  if (schema) {
    for (const [n, f] of Object.entries(schema.fields)) {
      if (f.type === 'Relation' || n === 'password' || n === 'createdAt' || n === 'updatedAt' || n === 'ACL') continue;
      push(n);
    }
  }
  for (const o of objects) for (const k of Object.keys(o)) if (!['createdAt', 'updatedAt', 'ACL'].includes(k)) {
    const v = o[k];
    if (isObj(v) && v.__type === 'Relation') continue;
    push(k);
  }
  push('createdAt');
  push('updatedAt');
  if (!schema || 'ACL' in schema.fields || objects.some((o) => 'ACL' in o)) push('ACL');
  return cols;
}

// ---------- import ----------

export const SKIP = 'skip';
export const NEW_FIELD_TYPES = ['String', 'Number', 'Boolean', 'Date', 'Object', 'Array'] as const;
/** Columns that are never sent (the server sets them). */
export const SERVER_SET = ['createdAt', 'updatedAt'];

export interface ColumnPlan {
  column: string;
  /** SKIP, or the Parse type to convert to. */
  type: string;
  /** The field already exists in the schema (type fixed). */
  existing: boolean;
  targetClass?: string;
}

const BOOL_TRUE = new Set(['true', '1', 'yes', 'y']);
const BOOL_FALSE = new Set(['false', '0', 'no', 'n']);
const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A type for a column that is not in the schema, from its first values. */
export function guessType(values: unknown[]): string {
  const present = values.filter((v) => v !== undefined && v !== null && v !== '').slice(0, 100);
  if (present.length === 0) return 'String';
  if (present.every((v) => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))))) return 'Number';
  if (present.every((v) => typeof v === 'boolean' || (typeof v === 'string' && ['true', 'false'].includes(v.trim().toLowerCase()))))
    return 'Boolean';
  if (present.every((v) => (typeof v === 'string' && ISO_DATE_RE.test(v.trim())) || (isObj(v) && v.__type === 'Date'))) return 'Date';
  if (present.every((v) => Array.isArray(v))) return 'Array';
  if (present.every((v) => isObj(v))) return 'Object';
  return 'String';
}

/** The default plan of a column: the schema's type, or a guessed one for new columns. */
export function planColumn(column: string, schema: ClassSchema | undefined, values: unknown[], keepIds: boolean): ColumnPlan {
  const f: FieldSchema | undefined = schema?.fields[column];
  if (column === 'objectId') return { column, type: keepIds ? 'String' : SKIP, existing: true };
  if (SERVER_SET.includes(column)) return { column, type: SKIP, existing: true };
  if (f) {
    if (f.type === 'Relation') return { column, type: SKIP, existing: true, targetClass: f.targetClass };
    return { column, type: f.type, existing: true, targetClass: f.targetClass };
  }
  if (column === 'ACL') return { column, type: 'ACL', existing: true };
  return { column, type: guessType(values), existing: false };
}

/** A value could not be converted; the message says why in words. */
export class ConvertError extends Error {}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? `“${s.slice(0, 40)}…”` : `“${s}”`;
}

function parseJsonText(v: unknown, what: string): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw new ConvertError(`${describe(v)} is not valid JSON (expected ${what}).`);
  }
}

/** Converts one value to the Parse JSON of the plan's type; undefined means "leave unset". */
export function convertCell(raw: unknown, plan: ColumnPlan): unknown {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string' && raw.trim() === '' && plan.type !== 'String') return undefined;
  if (raw === '') return undefined;
  switch (plan.type) {
    case 'String':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      throw new ConvertError(`${describe(raw)} is not text.`);
    case 'Number': {
      if (typeof raw === 'number') return raw;
      const n = typeof raw === 'string' ? Number(raw.trim()) : NaN;
      if (!Number.isFinite(n)) throw new ConvertError(`${describe(raw)} is not a number.`);
      return n;
    }
    case 'Boolean': {
      if (typeof raw === 'boolean') return raw;
      const t = String(raw).trim().toLowerCase();
      if (BOOL_TRUE.has(t)) return true;
      if (BOOL_FALSE.has(t)) return false;
      throw new ConvertError(`${describe(raw)} is not true or false (accepted: true/false, 1/0, yes/no).`);
    }
    case 'Date': {
      if (isObj(raw) && raw.__type === 'Date' && typeof raw.iso === 'string') return raw;
      if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConvertError(`${describe(raw)} is not a date.`);
      const d = new Date(raw);
      if (Number.isNaN(d.getTime())) throw new ConvertError(`${describe(raw)} is not a date.`);
      return { __type: 'Date', iso: d.toISOString() };
    }
    case 'Pointer': {
      if (isObj(raw) && raw.__type === 'Pointer') return raw;
      if (typeof raw !== 'string') throw new ConvertError(`${describe(raw)} is not an objectId.`);
      const t = raw.trim();
      if (t.startsWith('{')) {
        const v = parseJsonText(t, 'a pointer');
        if (isObj(v) && v.__type === 'Pointer') return v;
      }
      if (!/^[A-Za-z0-9_-]+$/.test(t)) throw new ConvertError(`${describe(raw)} is not an objectId.`);
      return { __type: 'Pointer', className: plan.targetClass, objectId: t };
    }
    case 'GeoPoint': {
      if (isObj(raw) && raw.__type === 'GeoPoint') return raw;
      const t = String(raw).trim();
      let lat: number;
      let lng: number;
      if (t.startsWith('{')) {
        const v = parseJsonText(t, 'a GeoPoint');
        if (!isObj(v)) throw new ConvertError(`${describe(raw)} is not a GeoPoint.`);
        lat = Number(v.latitude);
        lng = Number(v.longitude);
      } else {
        const parts = t.split(',');
        if (parts.length !== 2) throw new ConvertError(`${describe(raw)} is not a GeoPoint (expected "latitude,longitude").`);
        lat = Number(parts[0].trim());
        lng = Number(parts[1].trim());
      }
      if (!Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180)
        throw new ConvertError(`${describe(raw)} is not a GeoPoint (latitude -90…90, longitude -180…180).`);
      return { __type: 'GeoPoint', latitude: lat, longitude: lng };
    }
    case 'Array': {
      const v = parseJsonText(raw, 'a JSON array');
      if (!Array.isArray(v)) throw new ConvertError(`${describe(raw)} is not a JSON array.`);
      return v;
    }
    case 'Object':
    case 'ACL':
    case 'Polygon': {
      const v = parseJsonText(raw, 'a JSON object');
      if (!isObj(v)) throw new ConvertError(`${describe(raw)} is not a JSON object.`);
      return v;
    }
    case 'Bytes': {
      if (isObj(raw) && raw.__type === 'Bytes') return raw;
      const t = String(raw).trim();
      if (t.startsWith('{')) {
        const v = parseJsonText(t, 'Bytes');
        if (isObj(v) && v.__type === 'Bytes') return v;
        throw new ConvertError(`${describe(raw)} is not Bytes.`);
      }
      if (!/^[A-Za-z0-9+/=\s]*$/.test(t)) throw new ConvertError(`${describe(raw)} is not base64.`);
      return { __type: 'Bytes', base64: t };
    }
    case 'File': {
      // A file can only be imported as its JSON ({__type: "File", name, url}); a bare name is skipped.
      if (isObj(raw) && raw.__type === 'File') return raw;
      if (typeof raw === 'string' && raw.trim().startsWith('{')) {
        try {
          const v = JSON.parse(raw) as unknown;
          if (isObj(v) && v.__type === 'File') return v;
        } catch {
          /* not JSON: skipped */
        }
      }
      return undefined;
    }
    default: {
      if (typeof raw !== 'string') return raw;
      return parseJsonText(raw, 'JSON');
    }
  }
}

export interface RowResult {
  body?: Record<string, unknown>;
  error?: string;
}

export function convertRow(row: Record<string, unknown>, plans: ColumnPlan[]): RowResult {
  const body: Record<string, unknown> = {};
  for (const p of plans) {
    if (p.type === SKIP) continue;
    try {
      const v = convertCell(row[p.column], p);
      if (v !== undefined) body[p.column] = v;
    } catch (e) {
      return { error: `Column “${p.column}”: ${(e as Error).message}` };
    }
  }
  return { body };
}
