import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import type { Session } from './api';
import { errorMessage } from './api';

interface SessionCtx {
  session: Session;
  signOut: () => void;
}

export const SessionContext = createContext<SessionCtx | null>(null);

export function useSession(): SessionCtx {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside of a signed-in page');
  return ctx;
}

interface AlertCtx {
  message: string | null;
  showError: (e: unknown) => void;
  clear: () => void;
}

const AlertContext = createContext<AlertCtx>({ message: null, showError: () => {}, clear: () => {} });

export function AlertProvider({ children }: { children: ReactNode }) {
  const [message, setMessage] = useState<string | null>(null);
  const showError = useCallback((e: unknown) => setMessage(errorMessage(e)), []);
  const clear = useCallback(() => setMessage(null), []);
  const value = useMemo(() => ({ message, showError, clear }), [message, showError, clear]);
  return <AlertContext.Provider value={value}>{children}</AlertContext.Provider>;
}

export function useAlert(): AlertCtx {
  return useContext(AlertContext);
}

/** The one visible error region of the page. */
export function AlertRegion() {
  const { message, clear } = useAlert();
  return (
    <div className="alert" role="alert" data-testid="alert" hidden={!message}>
      {message && (
        <>
          <span className="alert-text">{message}</span>
          <button type="button" className="alert-close" onClick={clear} aria-label="Dismiss error" />
        </>
      )}
    </div>
  );
}
