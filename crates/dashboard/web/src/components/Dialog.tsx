import { useEffect, useId, useRef, type FormEvent, type ReactNode } from 'react';

interface DialogProps {
  title: string;
  children: ReactNode;
  onClose: () => void;
  /** When given, the dialog is a form and the confirm button submits it. */
  onConfirm?: () => void;
  confirmLabel?: string;
  cancelLabel?: string | null;
  confirmDisabled?: boolean;
  danger?: boolean;
  busy?: boolean;
  testId?: string;
  wide?: boolean;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A modal dialog: focus moves into it on open, Tab stays inside, Escape closes it,
 *  and focus returns to where it was on close. */
export function Dialog(props: DialogProps) {
  const {
    title,
    children,
    onClose,
    onConfirm,
    confirmLabel = 'OK',
    cancelLabel = 'Cancel',
    confirmDisabled,
    danger,
    busy,
    testId,
    wide,
  } = props;
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const root = ref.current;
    if (root) {
      const auto = root.querySelector<HTMLElement>('[data-autofocus]') ?? root.querySelector<HTMLElement>(
        'input:not([disabled]), select:not([disabled]), textarea:not([disabled])',
      );
      (auto ?? root.querySelector<HTMLElement>(FOCUSABLE) ?? root).focus();
    }
    // Escape closes the dialog even when focus has left it (e.g. a button got disabled).
    const onDocKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) {
        e.preventDefault();
        closeRef.current();
      }
    };
    document.addEventListener('keydown', onDocKey);
    return () => {
      document.removeEventListener('keydown', onDocKey);
      if (previous && document.contains(previous)) previous.focus();
    };
  }, []);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'Tab' && ref.current) {
      const items = Array.from(ref.current.querySelectorAll<HTMLElement>(FOCUSABLE));
      if (items.length === 0) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (onConfirm && !confirmDisabled && !busy) onConfirm();
  };

  return (
    <div className="overlay">
      <div
        ref={ref}
        className={wide ? 'dialog wide' : 'dialog'}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid={testId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <form onSubmit={submit}>
          <h2 id={titleId}>{title}</h2>
          <div className="dialog-body">{children}</div>
          <div className="dialog-actions">
            {cancelLabel !== null && (
              <button type="button" className="btn" onClick={onClose} data-testid="dialog-cancel">
                {cancelLabel}
              </button>
            )}
            <button
              type={onConfirm ? 'submit' : 'button'}
              className={danger ? 'btn danger' : 'btn primary'}
              disabled={confirmDisabled || busy}
              onClick={onConfirm ? undefined : onClose}
              data-testid="dialog-confirm"
            >
              {busy ? 'Working…' : confirmLabel}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
