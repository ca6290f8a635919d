#!/usr/bin/env node
// Stand-in for `reparse serve --config FILE` that runs the real parse-server instead,
// on the local PostgreSQL (postgres://postgres@127.0.0.1:5432, trust auth), so the SDK
// suite's expectations can be checked against the reference implementation:
//
//   (cd tests/sdk/reference && npm install)
//   cd tests/sdk && REPARSE_BIN=$PWD/reference/parse-server-shim.mjs node --test --test-concurrency=2 *.test.mjs
//
// The config's databaseURI is ignored: each config file gets its own database
// (ps_<hash of the config path>, with PostGIS when the server has it, which parse-server's
// geo queries need), kept across restarts (durability test) and dropped on SIGTERM.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const express = require('express');
const { ParseServer } = require('parse-server');
const pgp = require('pg-promise')();

const cfgPath = process.argv[process.argv.indexOf('--config') + 1];
const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
const pgBase = process.env.REFERENCE_PG || 'postgres://postgres@127.0.0.1:5432';
const dbName = 'ps_' + createHash('sha1').update(cfgPath).digest('hex').slice(0, 16);

const admin = pgp(`${pgBase}/postgres`);
if (!(await admin.oneOrNone('select 1 from pg_database where datname = $1', [dbName]))) {
  await admin.none(`create database ${dbName}`);
  // parse-server's geo queries on PostgreSQL call PostGIS (ST_DistanceSphere).
  if (await admin.oneOrNone("select 1 from pg_available_extensions where name = 'postgis'")) {
    const fresh = pgp(`${pgBase}/${dbName}`);
    await fresh.none('create extension if not exists postgis');
    await fresh.$pool.end();
  }
}

const port = await new Promise(resolve => {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1', () => {
    const p = probe.address().port;
    probe.close(() => resolve(p));
  });
});
const mount = cfg.mountPath || '/parse';
const serverURL = `http://127.0.0.1:${port}${mount}`;
const options = {
  ...cfg,
  databaseURI: `${pgBase}/${dbName}`,
  serverURL,
  silent: !process.env.PS_VERBOSE,
  logLevel: process.env.PS_VERBOSE ? 'verbose' : 'error',
};
delete options.port;
delete options.mountPath;

const api = new ParseServer(options);
await api.start();
const app = express();
app.use(mount, api.app);
const http = app.listen(port, '127.0.0.1', () => console.log(`Reparse is listening on ${serverURL}`));

// parse-server installs its own SIGTERM handler that exits at once, so drop the database
// synchronously, first (psql; FORCE ends parse-server's connections).
process.prependListener('SIGTERM', () => {
  http.close();
  spawnSync('psql', [`${pgBase}/postgres`, '-qc', `drop database if exists ${dbName} with (force)`], { stdio: 'ignore' });
  process.exit(0);
});
