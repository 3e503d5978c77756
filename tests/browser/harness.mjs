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

/** The local `YYYY-MM-DDTHH:MM` of `hours` ago, as a datetime-local control takes it. */
export function hoursAgo(hours) {
  const d = new Date(Date.now() - hours * 3600e3);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * Answers the current check-in step as she would: `answers` maps fact ids to values ("yes"/"no",
 * an enum value, a number; the time of the procedure in hours ago) and `concern` to what brings
 * her. A checklist gets a tick for each sign answered "yes", or "None of these"; a question she
 * is not given gets "no", "none" or its first option, a number 2, a time 30 hours ago. Only what the page shows is answered, in
 * page order, so a question that an earlier answer opens is answered once it appears. Returns
 * the number of questions on the step (each sign of a checklist counts as one).
 */
export async function answerStep(page, answers) {
  const form = page.locator('form.questions');
  if (await form.locator('input[name=concern]').count()) {
    await form.locator(`input[name=concern][value="${answers.concern || 'checking'}"]`).check();
    return 1;
  }
  let count = 0;
  for (const fs of await form.locator('fieldset.field').all()) {
    if (!(await fs.isVisible())) continue;
    if (await fs.evaluate((e) => e.classList.contains('checklist'))) {
      let ticked = 0;
      for (const box of await fs.locator('input[data-sign]').all()) {
        const id = (await box.getAttribute('name')).replace(/^a\./, '');
        count += 1;
        if (answers[id] === 'yes') {
          await box.check();
          ticked += 1;
        } else if (await box.isChecked()) {
          await box.uncheck();
        }
      }
      if (!ticked) await fs.locator('input[data-none]').check();
      continue;
    }
    const id = (await fs.getAttribute('id')).replace(/^q-/, '');
    const values = await fs.locator('input[type=radio]').evaluateAll((els) => els.map((e) => e.value));
    if (!values.length) continue;
    let want = answers[id];
    if (want === undefined) want = values.includes('no') ? 'no' : values.includes('none') ? 'none' : values[0];
    await fs.locator(`input[type=radio][value="${want}"]`).check();
    count += 1;
  }
  for (const input of await form.locator('input[type=text], input[type=datetime-local]').all()) {
    if (!(await input.isVisible())) continue;
    const id = (await input.getAttribute('id')).replace(/^i-/, '');
    const time = (await input.getAttribute('type')) === 'datetime-local';
    const want = answers[id] ?? (time ? 30 : 2);
    await input.fill(time ? hoursAgo(want) : String(want));
    count += 1;
  }
  return count;
}

/** Clicks the step's Next button and waits for the page it leads to. */
export async function next(page) {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /^(Next|Siguiente|Yes, that is right|Sí, es correcto)$/ }).click()]);
}

/**
 * Runs the questionnaire to its end, checking each step with axe-core (`everyStep`, or the
 * first two); returns { steps, questions, urls, asked, confirms } where `asked` lists the step
 * (1-based) on which each question first showed and `confirms` counts the screens that asked her
 * to confirm an answer.
 */
export async function runCheckin(page, answers, name, { everyStep = false } = {}) {
  let steps = 0;
  let questions = 0;
  const urls = [];
  const asked = {};
  let confirms = 0;
  while (await page.locator('form.questions').count()) {
    steps += 1;
    assert.ok(steps < 20, 'the check-in ends');
    urls.push(page.url());
    if (everyStep || steps <= 2) await check(page, `${name}-step-${steps}`);
    confirms += await page.locator('form.questions input[name=confirm]').count();
    questions += await answerStep(page, answers);
    for (const n of await page.locator('form.questions [name^="a."]:visible').evaluateAll((els) => els.map((e) => e.name.slice(2)))) {
      if (!(n in asked)) asked[n] = steps;
    }
    await next(page);
    const errors = page.locator('.error-summary');
    assert.equal(await errors.count(), 0, `step ${steps} refused: ${(await errors.count()) ? await errors.innerText() : ''}`);
  }
  return { steps, questions, urls, asked, confirms };
}
