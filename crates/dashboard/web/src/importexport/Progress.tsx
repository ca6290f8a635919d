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
