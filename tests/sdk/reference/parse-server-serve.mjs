#!/usr/bin/env node
// `parse-server-serve.mjs serve --config FILE`: the real parse-server (from this folder's
// node_modules, or from $REFERENCE_PARSE_SERVER_DIR's) run on the config file as it is, its
// databaseURI included. parse-server-interop.test.mjs starts it through the harness, on the
// same PostgreSQL database as Reparse, to check that each reads the other's writes.
//
// Unlike parse-server-shim.mjs it neither picks nor drops the database. It prints the line the
// harness waits for ("Reparse is listening on <url>"), so `startServer(config, { bin })` runs it.
import { configFromArguments, runParseServer } from './run-parse-server.mjs';

const { config } = configFromArguments();
await runParseServer({
  config,
  overrides: { logsFolder: null },
  packageDir: process.env.REFERENCE_PARSE_SERVER_DIR,
});
