// The clinic workspace in a real browser: a clinician signs in and finds the emergency patient
// at the top of the board; she writes in the chat and the patient's open chat page shows it
// without a reload (server-sent events); axe-core finds no violation on any workspace page.
// Screenshots go to artifacts/staff-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, phonePage, check, isoDay } from './harness.mjs';

const PASSWORD = 'correct horse battery staple';
let server;
let calm;
const pages = [];

before(async () => {
  server = await startServer({ procedureDaysAgo: 2 });
  const env = { AFTERCARE_ADMIN_PASSWORD: PASSWORD };
  server.admin(['create-user', '--clinic', 'north', '--email', 'nurse@north.example', '--name', 'Nurse Joy', '--role', 'clinician'], env);
  server.admin(['create-user', '--clinic', 'north', '--email', 'admin@north.example', '--name', 'Ada Admin', '--role', 'admin'], env);
  // A second patient, calm and enrolled earlier.
  calm = server.admin([
    'enrol-patient', '--clinic', 'north', '--name', 'Bea',
    '--procedure', 'spinal', '--procedure-date', isoDay(-5), '--language', 'en',
  ]);
  // Ana (the harness's patient) reports stroke signs: an emergency, escalated to the clinic.
  const res = await fetch(`${server.url}/api/v1/checkins`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.patient.link_token}` },
    body: JSON.stringify({ answers: { stroke_signs: true } }),
  });
  assert.equal(res.status, 201);
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

async function signIn(page, email) {
  await page.goto(`${server.url}/clinic`);
  assert.match(page.url(), /\/clinic\/login$/, 'a signed-out visitor is sent to the login form');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/clinic(\/staff)?$/), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** The code an authenticator app shows now for a base32 key (RFC 6238, as her phone does). */
function totp(key, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of key.replace(/\s/g, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', bytes).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

test('a clinician signs in and sees the emergency patient at the top of the board', async () => {
  const page = await open({ desktop: true });
  await page.goto(`${server.url}/clinic/login`);
  await check(page, 'staff-login');
  // A wrong password is refused with the one message.
  await page.getByLabel('Email').fill('nurse@north.example');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.error-summary').innerText(), /not right/);
  await check(page, 'staff-login-refused');

  await signIn(page, 'nurse@north.example');
  const first = page.locator('table.board tbody tr').first();
  assert.match(await first.locator('th').innerText(), /Ana/);
  assert.match(await first.innerText(), /Emergency/);
  assert.match(await first.innerText(), /1 open/);
  assert.equal(await page.locator('table.board tbody tr').count(), 2);
  await check(page, 'staff-board');

  // Filter by level.
  await page.getByLabel('Level').selectOption('emergency');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForLoadState('load');
  assert.equal(await page.locator('table.board tbody tr').count(), 1);
  await check(page, 'staff-board-filtered');
});

test('the clinician writes in the chat and the patient sees it without a reload', async () => {
  // The patient opens her chat page.
  const her = await open();
  // Her link names whose record it opens and waits for her to go on (no sign-in on a bare GET).
  await her.goto(`${server.url}/p/${server.patient.link_token}`);
  await check(her, 'patient-link-open');
  await Promise.all([her.waitForURL(/\/me$/), her.getByRole('button', { name: 'Open my record' }).click()]);
  await her.goto(`${server.url}/me/chat`);
  await check(her, 'patient-chat');
  assert.match(await her.locator('.chat-warning').innerText(), /not for emergencies/);
  await her.evaluate(() => { window.__stillTheSamePage = true; });

  // The clinician opens her page and writes (markup is shown as text).
  const nurse = await open({ desktop: true });
  await signIn(nurse, 'nurse@north.example');
  await nurse.locator('table.board tbody tr').first().locator('th a').click();
  await nurse.waitForLoadState('load');
  await check(nurse, 'staff-patient');
  await nurse.getByLabel(/Write to Ana/).fill('Please call us now. <b>Not bold</b>');
  await Promise.all([nurse.waitForLoadState('load'), nurse.getByRole('button', { name: 'Send' }).click()]);

  const arrived = her.locator('.msg-staff', { hasText: 'Please call us now.' });
  await arrived.waitFor({ timeout: 10000 });
  assert.equal(await her.evaluate(() => window.__stillTheSamePage), true, 'no reload happened');
  assert.match(await arrived.innerText(), /<b>Not bold<\/b>/);
  assert.equal(await her.locator('.msg-staff b').count(), 0, 'the message is text, not markup');
  await check(her, 'patient-chat-live');

  // And back: she answers, the clinician's open page shows it live.
  await her.evaluate(() => { window.__stillTheSamePage = true; });
  await nurse.evaluate(() => { window.__nurseSamePage = true; });
  await her.getByLabel('Your message').fill('Calling now');
  await Promise.all([her.waitForLoadState('load'), her.getByRole('button', { name: 'Send' }).click()]);
  await nurse.locator('.msg-patient', { hasText: 'Calling now' }).waitFor({ timeout: 10000 });
  assert.equal(await nurse.evaluate(() => window.__nurseSamePage), true);
  await check(nurse, 'staff-patient-chat');

  // Acknowledge the escalation with a note.
  await nurse.getByLabel('What was done').fill('Spoke to her; ambulance called');
  await Promise.all([nurse.waitForLoadState('load'), nurse.getByRole('button', { name: 'Acknowledge' }).click()]);
  assert.match(await nurse.locator('body').innerText(), /Spoke to her; ambulance called/);
  await check(nurse, 'staff-patient-acknowledged');
});

test('at phone size the board is a list of cards: no sideways scroll, no broken word', async () => {
  const phone = await open();
  await signIn(phone, 'nurse@north.example');
  await phone.goto(`${server.url}/clinic`);
  await check(phone, 'staff-board-phone');
  const layout = await phone.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
    // A badge that wraps has more than one line box.
    broken: [...document.querySelectorAll('.board .tag')].filter((t) => t.getClientRects().length > 1
      || t.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(t).fontSize) + 8).length,
    cards: [...document.querySelectorAll('.board tbody tr')].filter((r) => getComputedStyle(r).display === 'block').length,
  }));
  assert.ok(layout.scroll <= layout.width, `the board scrolls sideways: ${layout.scroll} > ${layout.width}`);
  assert.equal(layout.broken, 0, 'a level badge breaks over lines');
  assert.ok(layout.cards >= 2, 'each patient is a card');
  // The emergency patient is still the first card.
  const first = phone.locator('.board tbody tr').first();
  assert.match(await first.innerText(), /Ana/);
});

test('every workspace page passes axe-core', async () => {
  const nurse = await open({ desktop: true });
  await signIn(nurse, 'nurse@north.example');
  for (const [path, name] of [
    ['/clinic/patients/new', 'staff-enrol'],
    [`/clinic/patients/${calm.id}`, 'staff-patient-calm'],
    [`/clinic/patients/${calm.id}/link`, 'staff-link'],
    ['/clinic/contact', 'staff-contact'],
    ['/clinic/password', 'staff-password'],
  ]) {
    await nurse.goto(`${server.url}${path}`);
    await check(nurse, name);
  }
  // Enrol through the form.
  await nurse.goto(`${server.url}/clinic/patients/new`);
  await nurse.getByLabel('Name', { exact: true }).fill('Cleo');
  await nurse.getByLabel('Procedure', { exact: true }).selectOption('labour_epidural');
  await nurse.getByLabel('Procedure date').fill(isoDay(-1));
  await Promise.all([nurse.waitForURL(/\/link$/), nurse.getByRole('button', { name: 'Enrol' }).click()]);
  assert.equal(await nurse.locator('img.qr').count(), 1);
  await check(nurse, 'staff-link-new');

  // An admin must have a second factor: her first sign-in leads to setting it up, which she
  // does with her phone's app (played here by the RFC 6238 algorithm), keeping her codes.
  const admin = await open({ desktop: true });
  await admin.goto(`${server.url}/clinic/login`);
  await admin.getByLabel('Email').fill('admin@north.example');
  await admin.getByLabel('Password').fill(PASSWORD);
  await Promise.all([
    admin.waitForURL(/\/clinic\/account\/second-factor$/),
    admin.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  await check(admin, 'staff-second-factor');
  const key = await admin.locator('#secret').innerText();
  await admin.getByLabel('The 6-digit code your app shows').fill(totp(key));
  await admin.getByRole('button', { name: 'Turn on the second factor' }).click();
  await admin.waitForLoadState('load');
  assert.equal(await admin.locator('.recovery-codes li').count(), 10, 'ten recovery codes, shown once');
  await check(admin, 'staff-recovery-codes');
  const recovery = await admin.locator('.recovery-codes li code').first().innerText();
  await Promise.all([
    admin.waitForURL(/\/clinic(\/staff)?$/),
    admin.getByRole('link', { name: 'I have kept them: continue' }).click(),
  ]);
  // Signed out, her password alone is not enough; a recovery code lets her in.
  await admin.getByRole('button', { name: 'Sign out' }).click();
  await admin.waitForURL(/\/clinic\/login$/);
  await admin.getByLabel('Email').fill('admin@north.example');
  await admin.getByLabel('Password').fill(PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.waitForLoadState('load');
  assert.match(await admin.locator('[role=alert]').innerText(), /second factor/);
  await admin.getByLabel('Password').fill(PASSWORD);
  await admin.getByLabel('Code from your authenticator app').fill(recovery);
  await Promise.all([
    admin.waitForURL(/\/clinic(\/staff)?$/),
    admin.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  for (const [path, name] of [
    ['/clinic/staff', 'staff-accounts'],
    ['/clinic/announcements', 'staff-announcements'],
    ['/clinic/settings', 'staff-settings'],
    ['/clinic/alerts', 'staff-alerts'],
    ['/clinic/audit', 'staff-audit'],
  ]) {
    await admin.goto(`${server.url}${path}`);
    await check(admin, name);
  }
  // An error page, too.
  await admin.goto(`${server.url}/clinic/patients/${calm.id}`);
  await check(admin, 'staff-forbidden');
});

test('she asks for an appointment on her phone, the clinic proposes a time, she accepts it', async () => {
  const env = { AFTERCARE_ADMIN_PASSWORD: PASSWORD };
  const dana = server.admin([
    'enrol-patient', '--clinic', 'north', '--name', 'Dana',
    '--procedure', 'labour_epidural', '--procedure-date', isoDay(-3), '--language', 'es',
  ], env);
  const her = await open({ locale: 'es-ES' });
  await her.goto(`${server.url}/p/${dana.link_token}`);
  await Promise.all([her.waitForURL(/\/me$/), her.getByRole('button', { name: 'Abrir mi ficha' }).click()]);
  await her.getByRole('link', { name: 'Citas' }).click();
  await her.waitForLoadState('load');
  await check(her, 'patient-appointments-es');
  await her.getByLabel('¿A quién le gustaría ver?').selectOption('physiotherapy');
  await her.getByLabel('¿Qué días y horas le vienen bien?').fill('Por las mañanas');
  await Promise.all([her.waitForURL(/done=asked/), her.getByRole('button', { name: 'Enviar mi petición' }).click()]);
  assert.match(await her.locator('[role=status]').innerText(), /enviado/);

  const nurse = await open({ desktop: true });
  await signIn(nurse, 'nurse@north.example');
  assert.match(await nurse.locator('.staff-nav').innerText(), /Appointments\s+1 new/);
  await nurse.getByRole('link', { name: /Appointments/ }).click();
  await nurse.waitForLoadState('load');
  const card = nurse.locator('section.card', { hasText: 'Dana' });
  assert.match(await card.innerText(), /Por las mañanas/);
  await card.getByLabel('Date and time').fill(`${isoDay(4)}T10:30`);
  await card.getByLabel(/Note to her/).fill('Sala 3');
  await Promise.all([nurse.waitForLoadState('load'), card.getByRole('button', { name: 'Propose this time' }).click()]);
  await check(nurse, 'staff-appointments');

  await her.reload();
  assert.match(await her.locator('.appointments').innerText(), /Su clínica le ofrece/);
  await Promise.all([her.waitForURL(/done=accepted/), her.getByRole('button', { name: 'Aceptar esta hora' }).click()]);
  assert.match(await her.locator('.appointments').innerText(), /Reservada/);
  await check(her, 'patient-appointment-booked');
  // Back: the list again, nothing sent twice.
  await her.goBack();
  await her.waitForLoadState('load');
  assert.equal(await her.locator('.appointments li').count(), 1);
});

test('the board updates itself when an escalation arrives, and the menu counts it', async () => {
  const nurse = await open({ desktop: true });
  await signIn(nurse, 'nurse@north.example');
  const bea = nurse.locator('table.board tbody tr', { hasText: 'Bea' });
  assert.doesNotMatch(await bea.innerText(), /Urgent|Emergency/);
  await nurse.evaluate(() => { window.__sameBoard = true; });

  // Bea reports stroke signs from her phone: an emergency, escalated.
  const res = await fetch(`${server.url}/api/v1/checkins`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${calm.link_token}` },
    body: JSON.stringify({ answers: { stroke_signs: true } }),
  });
  assert.equal(res.status, 201);

  await nurse.locator('table.board tbody tr', { hasText: 'Bea' }).filter({ hasText: 'Emergency' })
    .waitFor({ timeout: 20000 });
  assert.equal(await nurse.evaluate(() => window.__sameBoard), true, 'no reload happened');
  const first = nurse.locator('table.board tbody tr').first();
  assert.match(await first.locator('th').innerText(), /Bea/, 'the unacknowledged emergency leads');
  assert.match(await nurse.locator('.staff-nav').innerText(), /1 open/);
  assert.match(await nurse.locator('#board-status').innerText(), /updated/);
  await check(nurse, 'staff-board-live');
});

test('a clinician who prefers Spanish chooses it once and reads the workspace in Spanish', async () => {
  server.admin(['create-user', '--clinic', 'north', '--email', 'luz@north.example', '--name', 'Luz Ortega', '--role', 'clinician'], { AFTERCARE_ADMIN_PASSWORD: PASSWORD });
  const page = await open({ desktop: true });
  await signIn(page, 'luz@north.example');
  await page.getByRole('link', { name: 'Your account' }).click();
  await page.getByLabel('Show the workspace in').selectOption('es');
  await page.getByRole('button', { name: 'Save language' }).click();
  await page.getByRole('heading', { level: 1, name: 'Su cuenta' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'es');
  await check(page, 'staff-account-es');

  await page.getByRole('link', { name: 'Pacientes' }).click();
  await page.getByRole('heading', { level: 1, name: 'Pacientes' }).waitFor();
  const first = page.locator('table.board tbody tr').first();
  assert.match(await first.innerText(), /Emergencia/, 'the emergency first, its level in Spanish');
  await check(page, 'staff-board-es');

  await first.getByRole('link').first().click();
  await page.getByRole('heading', { name: 'Alertas abiertas' }).waitFor();
  assert.doesNotMatch(await page.locator('main').innerText(), /Open escalations|Her answers/);
  await check(page, 'staff-patient-es');

  // Signing out and in again keeps her choice (it is her account's, not the browser's).
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await page.getByLabel('Correo electrónico').fill('luz@north.example');
  await page.getByLabel('Contraseña').fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/clinic$/), page.getByRole('button', { name: 'Entrar' }).click()]);
  await page.getByRole('heading', { level: 1, name: 'Pacientes' }).waitFor();
});
