// What the dashboard's Chromium tests share: its users, where screenshots go, and a signed-in
// page. (dashboard.test.mjs and dashboard-pages.test.mjs.)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './harness.mjs';

export const ADMIN = { username: 'admin', password: 'admin-password' };
export const VIEWER = { username: 'viewer', password: 'viewer-password', readOnly: true };

/** target/test-artifacts/<suite>/<sqlite|postgres>/: where a browser suite keeps its screenshots. */
export function screenshotFolder(suite) {
  return join(
    repoRoot,
    'target',
    'test-artifacts',
    suite,
    process.env.REPARSE_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite'
  );
}

const SCREENSHOTS = screenshotFolder('dashboard');

/**
 * A fresh browser context's page, in the time zone `timezoneId` (an IANA name) or else the
 * machine's; the errors it throws are collected in `page.errors`.
 */
export async function openPage(browser, { timezoneId } = {}) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, timezoneId });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.errors = [];
  page.on('pageerror', error => page.errors.push(String(error)));
  return page;
}

/** A full-page screenshot, kept as a test artifact. */
export async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs `user` in on the dashboard of the server at `origin`. */
export async function signIn(page, origin, { username, password }) {
  await page.goto(`${origin}/dashboard/`);
  await page.getByTestId('signin-username').fill(username);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('current-user').waitFor();
}

/**
 * Creates an app through the dashboard's API from a signed-in page (with its session's CSRF
 * token); resolves to the API's answer, `{app, keys}`.
 */
export async function createAppThroughApi(page, name) {
  return page.evaluate(async appName => {
    const { csrfToken } = await (await fetch('/dashboard/api/session')).json();
    const response = await fetch('/dashboard/api/apps', {
      method: 'POST',
      headers: { 'X-CSRF-Token': csrfToken, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: appName }),
    });
    return response.json();
  }, name.replace(/[^A-Za-z0-9_-]/g, ''));
}
