import { useCallback, useEffect, useRef, useState } from 'react';
import type { ClassSchema } from '../api';
import { fetchSchemas } from '../apiExtra';
import { useAlert } from '../context';

interface ClassSchemas {
  /** Every class, sorted by name (null until the first answer). */
  schemas: ClassSchema[] | null;
  /** The classes the server has a schema for (not the built-in ones it has not stored yet). */
  stored: Set<string>;
  /** Loads them again, after a change to the schema. */
  reload: () => Promise<void>;
}

/** The app's class schemas, loaded on opening the page and again on `reload`. An answer that
 *  comes after a newer request (or after switching apps) is dropped. */
export function useClassSchemas(appId: string): ClassSchemas {
  const { showError } = useAlert();
  const [schemas, setSchemas] = useState<ClassSchema[] | null>(null);
  const [stored, setStored] = useState<Set<string>>(new Set());
  const latest = useRef(0);

  const reload = useCallback(async () => {
    const id = ++latest.current;
    try {
      const r = await fetchSchemas(appId);
      if (id !== latest.current) return;
      setSchemas(r.all);
      setStored(r.stored);
    } catch (e) {
      if (id === latest.current) showError(e);
    }
  }, [appId, showError]);

  useEffect(() => {
    setSchemas(null);
    void reload();
  }, [reload]);

  return { schemas, stored, reload };
}
