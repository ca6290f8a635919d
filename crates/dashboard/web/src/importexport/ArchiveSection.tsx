import { useState } from 'react';
import { ApiError, apiUrl, currentCsrfToken } from '../api';
import { useAlert } from '../context';
import { Progress } from './Progress';

interface ImportSummary {
  classes: number;
  objects: number;
  relations: number;
  files: number;
}

/**
 * The whole app as one archive: a download streamed by the server (a plain link, so the browser
 * saves it as it arrives, whatever its size), and an upload into an app without data, sent with
 * XMLHttpRequest for its upload progress.
 */
export function ArchiveSection({ appId, onImported }: { appId: string; onImported: () => void }) {
  const { showError, clear } = useAlert();
  const [includeFiles, setIncludeFiles] = useState(true);
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const archivePath = `/apps/${encodeURIComponent(appId)}/archive`;
  const importing = sent !== null;

  const upload = async () => {
    if (!file) return;
    clear();
    setResult(null);
    setSent(0);
    try {
      const summary = await sendArchive(apiUrl(archivePath), file, setSent);
      setResult(
        `Imported ${summary.classes} classes, ${summary.objects.toLocaleString('en-US')} objects, ` +
          `the relations of ${summary.relations.toLocaleString('en-US')} objects and ${summary.files} files.`,
      );
      onImported();
    } catch (e) {
      showError(e);
    } finally {
      setSent(null);
    }
  };

  return (
    <section className="card ie-card ie-archive" aria-labelledby="archive-title">
      <h2 id="archive-title">Whole app</h2>
      <p className="muted">
        An archive (.tar.gz) holds every class&apos;s schema and permissions, every object as stored (password hashes
        included) and every relation. It is imported into an app without data, all or nothing.
      </p>
      <label className="check">
        <input type="checkbox" checked={includeFiles} onChange={(e) => setIncludeFiles(e.target.checked)} data-testid="archive-files" />
        Include stored files
      </label>
      <div className="form-actions">
        <a className="btn" href={apiUrl(`${archivePath}${includeFiles ? '?files=1' : ''}`)} download data-testid="archive-download">
          Download archive
        </a>
      </div>
      <label>
        Archive to import
        <input
          type="file"
          accept=".tar.gz,.tgz,application/gzip"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          disabled={importing}
          data-testid="archive-file"
        />
      </label>
      <div className="form-actions">
        <button type="button" className="btn primary" onClick={upload} disabled={!file || importing} data-testid="archive-import">
          {importing ? 'Importing…' : 'Import archive'}
        </button>
      </div>
      {importing && file && <Progress testId="archive-progress" done={sent} total={file.size} label="Archive upload" />}
      {result && (
        <p role="status" className="saved" data-testid="archive-result">
          {result}
        </p>
      )}
    </section>
  );
}

function sendArchive(url: string, file: File, onProgress: (sent: number) => void): Promise<ImportSummary> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('Content-Type', 'application/gzip');
    xhr.setRequestHeader('X-CSRF-Token', currentCsrfToken());
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onerror = () => reject(new ApiError(0, undefined, 'Could not reach the server. Check your connection and try again.'));
    xhr.onload = () => {
      let body: { code?: number; error?: string } & Partial<ImportSummary> = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: described below */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as ImportSummary);
      else reject(new ApiError(xhr.status, body.code, body.error || `The server answered ${xhr.status}.`));
    };
    xhr.send(file);
  });
}
