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
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';

import { configFromArguments, requireFrom, runParseServer } from './run-parse-server.mjs';

const pgp = requireFrom()('pg-promise')();

const { path: cfgPath, config: cfg } = configFromArguments();
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

// parse-server installs its own SIGTERM handler that exits at once, so the database is
// dropped synchronously, first (psql; FORCE ends parse-server's connections).
await runParseServer({
  config: cfg,
  overrides: { databaseURI: `${pgBase}/${dbName}` },
  onStop: () =>
    spawnSync('psql', [`${pgBase}/postgres`, '-qc', `drop database if exists ${dbName} with (force)`], {
      stdio: 'ignore',
    }),
});
