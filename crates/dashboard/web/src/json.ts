// Parse's JSON values as the pages receive them. Kept apart from the API modules so that any
// module (the grid's cells included) can use it without an import cycle.

export type Json = Record<string, unknown>;

/** A JSON object (not an array, not null). */
export const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
