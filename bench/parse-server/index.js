#!/usr/bin/env node
// parse-server on PostgreSQL, started by bench/run as the reference server.
//
//   node index.js --appId bench --masterKey bench-master --port 1337 \
//       --databaseURI postgres://postgres@127.0.0.1:5432/reparse_bench_ps
//
// Every flag can also come from the environment (APP_ID, MASTER_KEY, PORT,
// DATABASE_URI). Logs are kept to errors on stderr; no log files are written.
// Files go to --filesPath (FILES_PATH) through parse-server's filesystem adapter
// (@parse/fs-files-adapter), with uploads up to --maxUploadSize (default 20mb).
// The database must exist (bench/run creates a fresh one per run).
'use strict';

const { ParseServer } = require('parse-server');

function arg(name, env, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  return process.env[env] || dflt;
}

const appId = arg('appId', 'APP_ID', 'bench');
const masterKey = arg('masterKey', 'MASTER_KEY', 'bench-master');
const port = parseInt(arg('port', 'PORT', '1337'), 10);
const databaseURI = arg(
  'databaseURI',
  'DATABASE_URI',
  'postgres://postgres@127.0.0.1:5432/reparse_bench_ps'
);
const serverURL = `http://127.0.0.1:${port}/parse`;
const filesPath = arg('filesPath', 'FILES_PATH', '');
const maxUploadSize = arg('maxUploadSize', 'MAX_UPLOAD_SIZE', '20mb');
// Cloud code (--cloud FILE), loaded by parse-server itself.
const cloud = arg('cloud', 'CLOUD', '');
// LiveQuery on the same port (--liveQueryClassNames A,B): parse-server's own LiveQuery server.
const liveQueryClassNames = arg('liveQueryClassNames', 'LIVE_QUERY_CLASS_NAMES', '');

async function main() {
  const server = await ParseServer.startApp({
    appId,
    masterKey,
    masterKeyIps: ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
    databaseURI,
    port,
    host: '127.0.0.1',
    mountPath: '/parse',
    serverURL,
    allowClientClassCreation: true,
    maxUploadSize,
    ...(cloud ? { cloud } : {}),
    ...(liveQueryClassNames
      ? { liveQuery: { classNames: liveQueryClassNames.split(',') }, startLiveQueryServer: true }
      : {}),
    ...(filesPath
      ? {
          filesAdapter: new (require('@parse/fs-files-adapter'))({ filesSubDirectory: filesPath }),
        }
      : {}),
    verifyServerUrl: false,
    logLevel: 'error',
    logsFolder: null,
    verbose: false,
  });
  // Same line shape as Reparse's, so the driver can wait on either.
  console.log(`parse-server is listening on ${serverURL}`);
  const stop = () => {
    Promise.resolve(server.handleShutdown && server.handleShutdown())
      .catch(() => {})
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch(err => {
  console.error('parse-server failed to start:', err);
  process.exit(1);
});
