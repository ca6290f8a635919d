import { useState } from 'react';
import { useAction } from '../components/useAction';

/** A progress bar with its count in words, for imports and exports. */
export function Progress({ testId, done, total, label }: { testId: string; done: number; total: number | null; label: string }) {
  const max = total && total > 0 ? total : Math.max(done, 1);
  const pct = Math.min(100, Math.round((done / max) * 100));
  return (
    <div className="ie-progress-wrap">
      <div
        className="ie-progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={done}
        aria-valuetext={total !== null ? `${done} of ${total}` : `${done}`}
        data-testid={testId}
      >
        <div className="ie-progress-bar" style={{ width: `${pct}%` }} />
      </div>
      <span className="ie-progress-text">{total !== null ? `${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}` : done.toLocaleString('en-US')}</span>
    </div>
  );
}

/**
 * A long task shown with a <Progress>: `track` runs it from nothing done and no total yet
 * (which the task sets as it learns them); `running` until it ends; its error, if it throws,
 * shown in the page's alert.
 */
export function useProgress() {
  const { busy, run } = useAction();
  const [done, setDone] = useState(0);
  const [total, setTotal] = useState<number | null>(null);
  const track = (task: () => Promise<void>) => {
    setDone(0);
    setTotal(null);
    return run(task);
  };
  return { running: busy, done, total, setDone, setTotal, track };
}
