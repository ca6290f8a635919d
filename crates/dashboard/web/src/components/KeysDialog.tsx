import { useState } from 'react';
import type { Keys } from '../api';
import { Dialog } from './Dialog';

const LABELS: [keyof Keys, string][] = [
  ['applicationId', 'Application ID'],
  ['masterKey', 'Master key'],
  ['javascriptKey', 'JavaScript key'],
  ['restAPIKey', 'REST API key'],
  ['clientKey', 'Client key'],
];

export function KeysDialog({ keys, appName, onClose }: { keys: Keys; appName: string; onClose: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async (k: keyof Keys) => {
    try {
      await navigator.clipboard.writeText(keys[k]);
      setCopied(k);
    } catch {
      setCopied(null);
    }
  };
  return (
    <Dialog title={`Keys of ${appName}`} onClose={onClose} confirmLabel="I have saved the keys" cancelLabel={null} testId="keys-dialog" wide>
      <p className="warning">
        These keys are shown only once. Copy them now: they cannot be shown again, only rotated.
      </p>
      <dl className="keys">
        {LABELS.map(([k, label]) => (
          <div key={k} className="key-row">
            <dt>{label}</dt>
            <dd>
              <code data-testid={`key-${k}`}>{keys[k]}</code>
              <button type="button" className="btn small" onClick={() => copy(k)} aria-label={`Copy ${label}`}>
                {copied === k ? 'Copied' : 'Copy'}
              </button>
            </dd>
          </div>
        ))}
      </dl>
    </Dialog>
  );
}
