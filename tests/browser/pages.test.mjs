// The patient pages in a real browser: the walks a patient takes, on a phone, in both languages,
// each page checked with axe-core (zero violations) and saved as a screenshot in artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, phonePage, check, runCheckin, answerStep, next, isoDay, artifacts } from './harness.mjs';

let server;
const pages = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const p of pages) await p.done();
  await server?.stop();
});

async function open(opts) {
  const page = await phonePage(opts);
  pages.push(page);
  return page;
}

/** Self-care answers: back pain that began yesterday, getting better, nothing worrying. */
const selfCare = {
  concern: 'back_pain',
  procedure: 'labour_epidural',
  hours_since_procedure: 100,
  delivered: 'yes',
  days_since_delivery: 4,
  back_pain: 'yes',
  pain_score: 4,
  pain_days: 1,
  pain_site: 'lower_back',
  pain_course: 'improving',
  breastfeeding: 'yes',
};

test('an emergency check-in goes from the first question to the emergency page', async () => {
  const page = await open();
  await page.goto(`${server.url}/`);
  await check(page, 'home');
  await page.getByRole('link', { name: 'Start a check-in' }).click();
  await check(page, 'emergency-step-1');
  // What brings her first: her legs; then both legs weak, ten hours after a labour epidural.
  await runCheckin(page, {
    concern: 'legs', procedure: 'labour_epidural', hours_since_procedure: 10, leg_weakness: 'both_legs',
  }, 'emergency');
  assert.equal(await page.locator('.level-emergency').count(), 1, 'the emergency level is shown');
  const firstLink = page.locator('body a:not(.skip), body button').first();
  assert.equal(await firstLink.getAttribute('href'), 'tel:112', 'the call button comes before anything else (after the hidden skip link)');
  assert.match(await firstLink.innerText(), /112/);
  await check(page, 'emergency-decision');
});

test('a signed-in self-care check-in ends in her stored plan with dates', async () => {
  const page = await open();
  await page.goto(`${server.url}${server.patient.link_path}`);
  await Promise.all([page.waitForURL(/\/me$/), page.getByRole('button', { name: 'Open my record' }).click()]);
  await check(page, 'me');
  await page.getByRole('link', { name: 'Start a check-in' }).first().click();
  const { steps } = await runCheckin(page, selfCare, 'selfcare');
  assert.ok(steps >= 2);
  assert.match(page.url(), /\/me\/checkins\//);
  assert.equal(await page.locator('.level-self_care').count(), 1);
  const plan = await page.locator('ol.plan').innerText();
  assert.match(plan, /Until \w+ \d+ \w+/, 'the cold item runs until a date');
  assert.match(plan, /Warmth, from \w+ \d+ \w+/, 'heat follows from a date');
  await check(page, 'selfcare-decision');
  // The print stylesheet makes a one-page handout without the site's navigation.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.site').isVisible(), false);
  await page.screenshot({ path: join(artifacts, 'selfcare-decision-print.png'), fullPage: true });
  const pdf = await page.pdf({ format: 'A4', path: join(artifacts, 'selfcare-handout.pdf') });
  const pdfPages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.equal(pdfPages, 1, 'the handout fits on one A4 page');
  await page.emulateMedia({ media: 'screen' });
  await page.getByRole('link', { name: /Read more: Cold and heat/ }).click();
  await check(page, 'learn-cold-and-heat');
});

test('a week of diary entries shows seven points on the chart', async () => {
  const page = await open();
  await page.goto(`${server.url}${server.patient.link_path}`);
  await Promise.all([page.waitForURL(/\/me$/), page.getByRole('button', { name: 'Open my record' }).click()]);
  await page.goto(`${server.url}/me/diary`);
  await check(page, 'diary-empty');
  for (let i = 7; i >= 1; i -= 1) {
    await page.locator('#day').fill(isoDay(-i + 1));
    await page.locator(`#pain input[value="${Math.max(0, i - 1)}"]`).check();
    if (i === 1) await page.locator('#note').fill('Better <script>alert(1)</script> today');
    const save = page.getByRole('button', { name: /^Save the entry for / });
    const expected = new Date(`${isoDay(-i + 1)}T12:00:00`).toLocaleDateString('en-GB', { weekday: 'long' });
    assert.match(await save.innerText(), new RegExp(expected), 'the button names the day it saves');
    await save.click();
    await page.waitForLoadState('load');
    assert.equal(await page.locator('.notice').count(), 1, `entry ${8 - i} saved`);
  }
  assert.equal(await page.locator('svg.pain-chart circle.pain-point').count(), 7);
  // The expected course is labelled in place on the chart.
  assert.match(await page.locator('svg.pain-chart').innerHTML(), /Needle site settled/);
  assert.equal(await page.locator('table tbody tr').count(), 7);
  assert.match(await page.locator('table').innerText(), /<script>alert\(1\)<\/script>/, 'the note shows as text');
  await check(page, 'diary-week');
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `the diary does not scroll sideways (${scroll} > ${width})`);
});

test('a contact form with the honeypot filled looks sent', async () => {
  const page = await open();
  await page.goto(`${server.url}/contact`);
  await check(page, 'contact');
  await page.getByRole('button', { name: 'Send message' }).click();
  await page.waitForLoadState('load');
  assert.equal(await page.locator('.error-summary').count(), 1, 'an empty form is refused with errors');
  await check(page, 'contact-errors');
  await page.getByLabel('Your name').fill('Bot');
  await page.getByLabel('How can we reach you?').fill('bot@example.org');
  await page.getByLabel('Your message').fill('Buy now');
  await page.getByLabel(/I agree/).check();
  await page.locator('#website').evaluate((el) => { el.value = 'http://spam.example'; });
  await page.getByRole('button', { name: 'Send message' }).click();
  await page.waitForLoadState('load');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Message sent');
  await check(page, 'contact-sent');
});

test('the whole check-in works in Spanish', async () => {
  const page = await open({ locale: 'en-GB' });
  await page.goto(`${server.url}/checkin`);
  await page.getByRole('link', { name: 'Español' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'es');
  await check(page, 'es-step-0');
  const { steps } = await runCheckin(page, selfCare, 'es');
  assert.ok(steps >= 2);
  assert.equal(await page.locator('html').getAttribute('lang'), 'es');
  assert.equal(await page.locator('.level-self_care').count(), 1);
  assert.match(await page.locator('ol.plan').innerText(), /Hasta el /);
  await check(page, 'es-decision');
  await page.goto(`${server.url}/learn`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'es', 'the choice is remembered');
  await check(page, 'es-learn');
});

test('on a phone nothing scrolls sideways and every control is big enough to tap', async () => {
  const page = await open();
  for (const path of ['/', '/start', '/checkin', '/learn', '/learn/when-to-get-help', '/contact']) {
    await page.goto(`${server.url}${path}`);
    await check(page, `phone${path.replace(/\//g, '-') || '-home'}`);
    const { scroll, width } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, width: window.innerWidth,
    }));
    assert.ok(scroll <= width, `${path}: no sideways scrolling (${scroll} > ${width})`);
    const small = await page.evaluate(() => [...document.querySelectorAll('main a, main button, main label.choice, header a')]
      .filter((el) => el.offsetParent !== null && !el.closest('p, li, dd'))
      .map((el) => ({ el: el.outerHTML.slice(0, 80), h: el.getBoundingClientRect().height }))
      .filter((r) => r.h < 44));
    assert.deepEqual(small, [], `${path}: touch targets of 44px or more`);
  }
});

test('the browser Back and Forward buttons and the Back link move between check-in steps', async () => {
  const page = await open();
  await page.goto(`${server.url}/checkin`);
  const label = () => page.locator('#progress-label').innerText();
  assert.match(await label(), /Step 1 of about \d+/);
  await answerStep(page, selfCare);
  await next(page);
  assert.match(page.url(), /\/checkin\?s=/, 'each step has its own address');
  assert.match(await label(), /Step 2 of about \d+/);
  const second = page.url();
  const bar = async () => Number(await page.locator('progress').getAttribute('value'));
  const secondBar = await bar();

  await page.goBack();
  await page.waitForLoadState('load');
  assert.equal(await page.locator('form.questions').count(), 1, 'Back shows a step, not an error page');
  assert.match(await label(), /Step 1 of about/);
  await page.goForward();
  await page.waitForLoadState('load');
  assert.equal(page.url(), second);
  assert.match(await label(), /Step 2 of about/);

  await answerStep(page, selfCare);
  await next(page);
  if (await page.locator('form.questions').count()) {
    assert.ok(await bar() >= secondBar, 'the bar never moves back');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('link', { name: 'Back' }).click()]);
    assert.match(await label(), /Step 2 of about/);
    const ticked = await page.locator('form.questions input[type=radio]:checked').count();
    assert.ok(ticked > 0, 'her answers on that step are ticked again');
    await check(page, 'checkin-back-link');
  }
});

test('"Not sure" of the procedure opens the questions a combined spinal-epidural would', async () => {
  const page = await open();
  await page.goto(`${server.url}/checkin`);
  await answerStep(page, { concern: 'back_pain' });
  await next(page);
  const time = page.locator('input[type=datetime-local]');
  assert.equal(await time.isVisible(), false, 'hidden until the procedure is answered');
  await page.locator('input[name="a.procedure"][value="unsure"]').check();
  assert.equal(await time.isVisible(), true, 'shown for "Not sure"');
  await page.locator('input[name="a.procedure"][value="none"]').check();
  assert.equal(await time.isVisible(), false, 'hidden again for no procedure');
  await check(page, 'procedure-not-sure');
});
