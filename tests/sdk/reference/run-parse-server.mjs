// What the two stand-ins for `reparse serve` share: the real parse-server from npm started on a
// config file's options, mounted on express at the config's mountPath, on the config's port
// (or a free one), printing the line the harness waits for ("Reparse is listening on <url>").
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { join } from 'node:path';

/** The config file named by `--config FILE` on the command line, parsed. */
export function configFromArguments() {
  const path = process.argv[process.argv.indexOf('--config') + 1];
  return { path, config: JSON.parse(readFileSync(path, 'utf8')) };
}

/** `require` from parse-server's install: `packageDir`'s node_modules, or this folder's. */
export function requireFrom(packageDir) {
  return createRequire(packageDir ? join(packageDir, 'package.json') : import.meta.url);
}

/**
 * Starts parse-server on `config` with `overrides` applied, and runs `onStop` (synchronously:
 * parse-server's own SIGTERM handler exits at once) before the process exits on SIGTERM.
 */
export async function runParseServer({ config, overrides = {}, packageDir, onStop = () => {} }) {
  const require = requireFrom(packageDir);
  const express = require('express');
  const { ParseServer } = require('parse-server');
  const port = config.port || (await freePort());
  const mount = config.mountPath || '/parse';
  const serverURL = `http://127.0.0.1:${port}${mount}`;
  const options = {
    ...config,
    ...overrides,
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
  process.prependListener('SIGTERM', () => {
    http.close();
    onStop();
    process.exit(0);
  });
}

function freePort() {
  return new Promise(resolve => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const free = probe.address().port;
      probe.close(() => resolve(free));
    });
  });
}
