import type { FieldSchema } from '../api';
import { escapeRegex } from '../apiExtra';

export type FilterOp =
  | 'eq'
  | 'ne'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'exists'
  | 'dne'
  | 'contains'
  | 'starts'
  | 'in'
  | 'relatedTo';

export interface Filter {
  field: string;
  op: FilterOp;
  /** The text the user typed (converted by the field's type when querying). */
  value?: string;
  /** For op relatedTo: the owner object and key; field is "$relatedTo". */
  owner?: { className: string; objectId: string; key: string };
}

export const OPS: { op: FilterOp; label: string; needsValue: boolean }[] = [
  { op: 'eq', label: 'equal to', needsValue: true },
  { op: 'ne', label: 'not equal to', needsValue: true },
  { op: 'lt', label: 'less than', needsValue: true },
  { op: 'lte', label: 'less or equal', needsValue: true },
  { op: 'gt', label: 'greater than', needsValue: true },
  { op: 'gte', label: 'greater or equal', needsValue: true },
  { op: 'exists', label: 'exists', needsValue: false },
  { op: 'dne', label: 'does not exist', needsValue: false },
  { op: 'contains', label: 'contains', needsValue: true },
  { op: 'starts', label: 'starts with', needsValue: true },
  { op: 'in', label: 'in list', needsValue: true },
];

export function opLabel(op: FilterOp): string {
  return OPS.find((o) => o.op === op)?.label ?? op;
}

export function parseFiltersParam(raw: string | null): Filter[] {
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter((f): f is Filter => !!f && typeof f === 'object' && typeof (f as Filter).field === 'string' && typeof (f as Filter).op === 'string');
  } catch {
    return [];
  }
}

export function filterLabel(f: Filter): string {
  if (f.op === 'relatedTo' && f.owner) return `related to ${f.owner.className} ${f.owner.objectId} (${f.owner.key})`;
  const o = OPS.find((x) => x.op === f.op);
  return o?.needsValue ? `${f.field} ${o.label} ${f.value ?? ''}` : `${f.field} ${o?.label ?? f.op}`;
}

/** Converts typed text to the Parse JSON value for a field of the given type. */
export function convertValue(text: string, field: FieldSchema | undefined): unknown {
  const type = field?.type ?? 'String';
  const t = text.trim();
  switch (type) {
    case 'Number': {
      const n = Number(t);
      if (t === '' || !Number.isFinite(n)) throw new Error(`“${text}” is not a number.`);
      return n;
    }
    case 'Boolean':
      if (t === 'true') return true;
      if (t === 'false') return false;
      throw new Error('Choose true or false.');
    case 'Date': {
      const d = new Date(t);
      if (Number.isNaN(d.getTime())) throw new Error(`“${text}” is not a date.`);
      return { __type: 'Date', iso: d.toISOString() };
    }
    case 'Pointer':
      return { __type: 'Pointer', className: field?.targetClass ?? '', objectId: t };
    case 'Object':
    case 'Array':
      try {
        return JSON.parse(t);
      } catch {
        return t;
      }
    default:
      return text;
  }
}

/** Builds the Parse `where` object of a list of filters (ANDed). Throws on a bad value. */
export function buildWhere(filters: Filter[], fields: Record<string, FieldSchema>): Record<string, unknown> {
  const where: Record<string, unknown> = {};
  const constraints: Record<string, Record<string, unknown>> = {};
  const add = (field: string, key: string, value: unknown) => {
    (constraints[field] ??= {})[key] = value;
  };
  for (const f of filters) {
    const schema = fields[f.field];
    const value = f.value ?? '';
    switch (f.op) {
      case 'relatedTo':
        if (f.owner)
          where.$relatedTo = {
            object: { __type: 'Pointer', className: f.owner.className, objectId: f.owner.objectId },
            key: f.owner.key,
          };
        break;
      case 'eq':
        add(f.field, '$eq', convertValue(value, schema));
        break;
      case 'ne':
        add(f.field, '$ne', convertValue(value, schema));
        break;
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte':
        add(f.field, `$${f.op}`, convertValue(value, schema));
        break;
      case 'exists':
        add(f.field, '$exists', true);
        break;
      case 'dne':
        add(f.field, '$exists', false);
        break;
      case 'contains':
        add(f.field, '$regex', escapeRegex(value));
        break;
      case 'starts':
        add(f.field, '$regex', `^${escapeRegex(value)}`);
        break;
      case 'in':
        add(
          f.field,
          '$in',
          value
            .split(',')
            .map((v) => v.trim())
            .filter((v) => v !== '')
            .map((v) => convertValue(v, schema)),
        );
        break;
    }
  }
  for (const [field, c] of Object.entries(constraints)) {
    // A lone equality is sent in its plain form, which every Parse server understands.
    const keys = Object.keys(c);
    where[field] = keys.length === 1 && keys[0] === '$eq' ? c.$eq : c;
  }
  return where;
}
