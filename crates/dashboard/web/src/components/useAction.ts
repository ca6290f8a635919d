import { useCallback, useState } from 'react';
import { useAlert } from '../context';

/**
 * One change at a time from a form or a dialog: `busy` while `run`'s work is under way (so its
 * buttons can say so and refuse a second click). The page's alert is cleared as the work starts
 * (an earlier error is over; one that a reload inside the work shows stays), and shows the
 * work's own error if it throws. `run` resolves to whether it succeeded, for what should follow
 * only a success (closing a dialog, emptying a form).
 */
export function useAction(): { busy: boolean; run: (work: () => Promise<void>) => Promise<boolean> } {
  const { showError, clear } = useAlert();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (work: () => Promise<void>) => {
      setBusy(true);
      clear();
      try {
        await work();
        return true;
      } catch (e) {
        showError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [showError, clear],
  );
  return { busy, run };
}
