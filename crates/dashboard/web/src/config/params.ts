// Parse Config parameters (`GET/PUT config`): their types, how a value is shown, and how the
// text typed in an editor becomes a value in Parse's JSON encoding.
import { dateInputToIso, dateIso, formatLocalDateTime, isoToDateInput } from '../dates';
import { isObj } from '../json';

/** The types a parameter can be given here (parse-server also stores Files and GeoPoints,
 *  which are listed and kept, not made). */
export const PARAM_TYPES = ['String', 'Number', 'Boolean', 'Date', 'Object', 'Array'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

export function isParamType(type: string): type is ParamType {
  return (PARAM_TYPES as readonly string[]).includes(type);
}

/** A stored value's type: one of PARAM_TYPES, or the `__type` of another Parse value
 *  (File, GeoPoint…). */
export function typeOf(value: unknown): string {
  if (typeof value === 'string') return 'String';
  if (typeof value === 'number') return 'Number';
  if (typeof value === 'boolean') return 'Boolean';
  if (Array.isArray(value)) return 'Array';
  if (isObj(value)) return typeof value.__type === 'string' ? value.__type : 'Object';
  return value === null ? 'Null' : typeof value;
}

/** A value as the list shows it (a Date in local time). */
export function describeValue(value: unknown): string {
  switch (typeOf(value)) {
    case 'String':
      return value as string;
    case 'Date':
      return formatLocalDateTime(dateIso(value));
    case 'File':
      return String((value as { name?: unknown }).name ?? '');
    case 'GeoPoint': {
      const point = value as { latitude?: unknown; longitude?: unknown };
      return `${String(point.latitude)}, ${String(point.longitude)}`;
    }
    default:
      return JSON.stringify(value);
  }
}

/** The text an editor of `type` starts from for `value`: what `parseValue` reads back to it. */
export function valueToText(type: ParamType, value: unknown): string {
  if (value === undefined || typeOf(value) !== type) return type === 'Boolean' ? 'false' : '';
  switch (type) {
    case 'String':
      return value as string;
    case 'Number':
    case 'Boolean':
      return String(value);
    case 'Date':
      return isoToDateInput(dateIso(value));
    case 'Object':
    case 'Array':
      return JSON.stringify(value, null, 2);
  }
}

/** The value of `type` that `text` holds. Throws, in words, when it holds none. */
export function parseValue(type: ParamType, text: string): unknown {
  switch (type) {
    case 'String':
      return text;
    case 'Number': {
      const n = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`“${text}” is not a number.`);
      return n;
    }
    case 'Boolean':
      return text === 'true';
    case 'Date': {
      const iso = dateInputToIso(text);
      if (!iso) throw new Error('Pick a date and time.');
      return { __type: 'Date', iso };
    }
    case 'Object':
    case 'Array': {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new Error(`The value is not valid JSON: ${(e as Error).message}`);
      }
      if (type === 'Array' && !Array.isArray(value)) throw new Error('The value must be a JSON array, like [1, 2].');
      if (type === 'Object' && !isObj(value)) throw new Error('The value must be a JSON object, like {"key": "value"}.');
      return value;
    }
  }
}
