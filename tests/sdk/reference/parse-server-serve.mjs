#!/usr/bin/env node
// `parse-server-serve.mjs serve --config FILE`: the real parse-server (from this folder's
// node_modules, or from $REFERENCE_PARSE_SERVER_DIR's) run on the config file as it is, its
// databaseURI included. parse-server-interop.test.mjs starts it through the harness, on the
// same PostgreSQL database as Reparse, to check that each reads the other's writes.
//
// Unlike parse-server-shim.mjs it neither picks nor drops the database. It prints the line the
// harness waits for ("Reparse is listening on <url>"), so `startServer(config, { bin })` runs it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { join } from 'node:path';

const packageDir = process.env.REFERENCE_PARSE_SERVER_DIR;
const require = createRequire(packageDir ? join(packageDir, 'package.json') : import.meta.url);
const express = require('express');
const { ParseServer } = require('parse-server');

const configPath = process.argv[process.argv.indexOf('--config') + 1];
const config = JSON.parse(readFileSync(configPath, 'utf8'));

const port =
  config.port ||
  (await new Promise(resolve => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const free = probe.address().port;
      probe.close(() => resolve(free));
    });
  }));
const mount = config.mountPath || '/parse';
const serverURL = `http://127.0.0.1:${port}${mount}`;
const options = {
  ...config,
  serverURL,
  silent: !process.env.PS_VERBOSE,
  logLevel: process.env.PS_VERBOSE ? 'verbose' : 'error',
  logsFolder: null,
};
delete options.port;
delete options.mountPath;

const api = new ParseServer(options);
await api.start();
const app = express();
app.use(mount, api.app);
const http = app.listen(port, '127.0.0.1', () => console.log(`Reparse is listening on ${serverURL}`));

process.prependListener('SIGTERM', () => {
  http.close();
  process.exit(0);
});
