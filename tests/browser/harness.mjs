// Test harness for the patient pages: starts the real `aftercare serve` binary on a free port
// with a fresh data directory, seeds a clinic and a patient with the admin commands, drives
// Debian's Chromium through playwright-core, and checks every page with axe-core.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** The aftercare binary: $AFTERCARE_BIN, else release, else debug, under $CARGO_TARGET_DIR. */
export function binary() {
  if (process.env.AFTERCARE_BIN) return process.env.AFTERCARE_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
  for (const profile of ['release', 'debug']) {
    const p = join(target, profile, 'aftercare');
    if (existsSync(p)) return p;
  }
  throw new Error(`no aftercare binary under ${target}: build it or set AFTERCARE_BIN`);
}

function isoDay(offset) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
}
export { isoDay };

/** Starts a server with a fresh data dir; returns { url, patient, stop }. */
export async function startServer({ procedureDaysAgo = 8 } = {}) {
  const bin = binary();
  const dataDir = mkdtempSync(join(tmpdir(), 'aftercare-browser-'));
  const admin = (args, env = {}) =>
    JSON.parse(execFileSync(bin, ['admin', ...args, '--data-dir', dataDir], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    }));
  admin(['create-clinic', '--slug', 'north', '--name', 'North Maternity']);
  const patient = admin([
    'enrol-patient', '--clinic', 'north', '--name', 'Ana',
    '--procedure', 'labour_epidural',
    '--procedure-date', isoDay(-procedureDaysAgo),
    '--delivery-date', isoDay(-procedureDaysAgo),
    '--language', 'en',
  ]);
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env: { ...process.env, RUST_LOG: 'warn', AFTERCARE_EMERGENCY_NUMBER: '112' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`server did not start: ${stderr}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`server exited ${code}: ${stderr}`)); });
  });
  return {
    url,
    patient,
    /** Runs `aftercare admin ...` on this server's data (e.g. create-user for the workspace). */
    admin,
    async stop() {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A phone-sized page (iPhone 12-like) in Debian's Chromium, headless, with a fresh profile of
 * its own (so each test starts with no cookies). Any console error (CSP included) fails the
 * next check. Call `page.done()` at the end.
 */
export async function phonePage({ locale = 'en-GB', desktop = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'aftercare-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    // The clinic workspace is used at a desk: `desktop` gives a laptop-sized window.
    viewport: desktop ? { width: 1280, height: 900 } : { width: 390, height: 844 },
    deviceScaleFactor: 1,
    isMobile: !desktop,
    hasTouch: !desktop,
    locale,
    extraHTTPHeaders: { 'Accept-Language': locale },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.consoleErrors = [];
  // Pages answer invalid forms with 422 and rate limits with 429, which Chromium logs as a failed
  // load; failed subresources are caught by the response listener instead.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.consoleErrors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && r.request().resourceType() !== 'document') page.consoleErrors.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
  page.done = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return page;
}

/** Runs axe-core on the page and fails on any violation; saves a full-page screenshot. */
export async function check(page, name) {
  await page.waitForLoadState('load');
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  assert.deepEqual(result, [], `axe violations on ${name} (${page.url()}):\n${JSON.stringify(result, null, 2)}`);
  assert.deepEqual(page.consoleErrors, [], `console errors on ${name}`);
}

/**
 * Answers every question on the current check-in step: `answers` maps fact ids to values
 * ("yes"/"no", an enum value, or a number); others get "no", "none", or the first option.
 */
export async function answerStep(page, answers) {
  const fieldsets = await page.locator('form.questions fieldset.field').all();
  for (const fs of fieldsets) {
    const id = (await fs.getAttribute('id')).replace(/^q-/, '');
    const radios = fs.locator('input[type=radio]');
    const values = await radios.evaluateAll((els) => els.map((e) => e.value));
    let want = answers[id];
    if (want === undefined) want = values.includes('no') ? 'no' : values.includes('none') ? 'none' : values[0];
    await fs.locator(`input[type=radio][value="${want}"]`).check();
  }
  const numbers = await page.locator('form.questions input[type=text]').all();
  for (const input of numbers) {
    const id = (await input.getAttribute('id')).replace(/^i-/, '');
    const want = answers[id];
    if (want !== undefined) await input.fill(String(want));
  }
  return fieldsets.length + numbers.length;
}

/** Runs the questionnaire to its end, checking each step; returns the number of steps. */
export async function runCheckin(page, answers, name) {
  let steps = 0;
  while (await page.locator('form.questions').count()) {
    steps += 1;
    assert.ok(steps < 40, 'the check-in ends');
    if (steps <= 2) await check(page, `${name}-step-${steps}`);
    await answerStep(page, answers);
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /^(Next|Siguiente)$/ }).click()]);
    assert.equal(await page.locator('.error-summary').count(), 0, `step ${steps} accepted`);
  }
  return steps;
}
