// Dates as the dashboard shows and edits them: in the browser's local time, to the
// millisecond; stored and sent as Parse sends them, UTC ISO strings (`…T…Z`).
import { isObj } from './json';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The ISO string of a Parse Date (`{"__type": "Date", "iso": …}`) or of a plain ISO string
 *  (createdAt, updatedAt); '' for anything else. */
export function dateIso(value: unknown): string {
  if (typeof value === 'string') return value;
  return isObj(value) && typeof value.iso === 'string' ? value.iso : '';
}

function localParts(iso: string): { date: string; time: string } | null {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  return {
    date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    time: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`,
  };
}

/** `2026-03-04 05:06:07.123` in local time (the text of a date in the grid and the config
 *  page); an unreadable date is shown as it is. */
export function formatLocalDateTime(iso: string): string {
  const local = localParts(iso);
  return local ? `${local.date} ${local.time}` : iso;
}

/** The value of an `<input type="datetime-local" step={DATE_INPUT_STEP}>` showing the date in
 *  local time, milliseconds included (so that saving it unchanged changes nothing). */
export function isoToDateInput(iso: string): string {
  const local = localParts(iso);
  return local ? `${local.date}T${local.time}` : '';
}

/** A datetime-local input's value (local time) as an ISO date; null when it holds none. */
export function dateInputToIso(value: string): string | null {
  if (!value) return null;
  // A date and time without an offset is local time (ECMAScript's Date parsing).
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The step of a datetime-local input that edits milliseconds. */
export const DATE_INPUT_STEP = 0.001;
