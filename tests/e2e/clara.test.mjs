// SPDX-License-Identifier: EUPL-1.2
// The Clara journey in a real browser: the five processes of examples/clara
// (run.sh on a free port, each party on its own loopback address
// 127.0.0.2-6, HTTPS with the demo CA) driven by Debian's headless Chromium
// through playwright-core, pages checked with axe-core (WCAG 2.1 A/AA).
//
//   node clara.test.mjs --run-sh examples/clara/run.sh --build-dir BUILD
//                       --workdir DIR --artifacts DIR
//   (binaries from INTERKONTO_CLI, INTERKONTO_CLARA, INTERKONTO_CLARA_JOURNEY,
//    INTERKONTO_METADATA_SERVER, as run.sh takes them)
//
// Cases, each in a fresh browser context (own cookies):
//   1. happy path: portal /bauvoranfrage -> Servicekonto Thüringen's choice
//      page -> "Servicekonto.NRW" -> login clara / clara-nrw -> consent page
//      lists the attributes -> "Zustimmen und weiter" -> the Bauvoranfrage
//      form filled with Clara's data; axe on the login, consent and form pages
//   2. wrong password: the alert, still the login page; then the right one
//   3. cancel at consent: the portal's error page ("abgebrochen"); axe on it
//   4. trust level too low (max / max-nrw, STORK level 1): the portal's
//      error page ("Vertrauensniveau")
//   5. Back after the POST: (a) Back, then what Chromium shows, then Reload
//      as a user would; (b) Back twice. The final page must be the portal's
//      form or a clear page of a party (<h1>, HTTP < 500, no stack trace).
// Chromium trusts the demo parties' TLS keys through
// --ignore-certificate-errors-spki-list with the SHA-256 of the five leaf
// certificates' SubjectPublicKeyInfo (each also checked here to be issued
// by the demo CA for its address): any other key is still refused.
// A full-page screenshot of every case's final page goes to --artifacts.
// One line per check, then "N passed, M failed"; exit 1 when any failed.

import { spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_VERSION = require('axe-core/package.json').version;
const PLAYWRIGHT_VERSION = require('playwright-core/package.json').version;

const CHROMIUM = process.env.INTERKONTO_E2E_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const TOTAL_TIMEOUT_MS = 175_000; // the whole test stays below 3 minutes
const START_TIMEOUT_MS = 90_000; // setup (keys, metadata) + the five listening
const CASE_TIMEOUT_MS = 45_000;
const ACTION_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 20_000;

const ADDR = { md: '127.0.0.2', nrw: '127.0.0.3', hamburg: '127.0.0.4', sk: '127.0.0.5', portal: '127.0.0.6' };
const PARTIES = ['metadata-server', 'nrw', 'hamburg', 'servicekonto', 'portal'];
const PARTY_ADDR = {
  'metadata-server': ADDR.md,
  nrw: ADDR.nrw,
  hamburg: ADDR.hamburg,
  servicekonto: ADDR.sk,
  portal: ADDR.portal,
};

const CLARA_FORM = {
  vorname: 'Clara',
  nachname: 'Schmidt',
  geburtsdatum: '1990-04-12',
  strasse: 'Königsallee 1',
  plz: '40212',
  ort: 'Düsseldorf',
};
const CLARA_CONSENT = [
  ['Vorname', 'Clara'],
  ['Nachname', 'Schmidt'],
  ['Geburtsdatum', '12.04.1990'],
  ['Straße und Hausnummer', 'Königsallee 1'],
  ['Postleitzahl', '40212'],
  ['Ort', 'Düsseldorf'],
  ['Vertrauensniveau', 'substanziell'],
];
// What must never be on a page a citizen sees.
const STACK_TRACE = [
  /\bat [\w$.<>]+ \(.*:\d+:\d+\)/, // JS
  /Traceback \(most recent call last\)/,
  /terminate called/,
  /std::\w+/,
  /\w+\.(cpp|hpp|h):\d+/,
  /Internal Server Error/i,
  /AddressSanitizer|runtime error:/,
];

// ---------------------------------------------------------------- helpers

let passed = 0;
let failed = 0;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function report(ok, name, err) {
  if (ok) {
    passed += 1;
    console.log(`PASS ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}`);
    for (const line of String(err && err.message ? err.message : err).split('\n')) console.log(`     ${line}`);
  }
  return ok;
}

async function check(name, fn, ms = CASE_TIMEOUT_MS) {
  const t0 = Date.now();
  try {
    await withTimeout(Promise.resolve().then(fn), ms, name);
    return report(true, `${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    return report(false, name, err);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!k.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${k}`);
    out[k.slice(2)] = argv[i + 1];
  }
  for (const k of ['run-sh', 'build-dir', 'workdir', 'artifacts']) {
    if (!out[k]) throw new Error(`missing --${k}`);
  }
  return out;
}

function bindOnce(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(null));
    srv.listen({ host, port, exclusive: true }, () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
}

// A port free on all five addresses (bounded number of tries).
async function freePort() {
  for (let i = 0; i < 50; i += 1) {
    const port = await bindOnce(ADDR.md, 0);
    if (port === null) throw new Error(`cannot bind ${ADDR.md}`);
    let ok = true;
    for (const a of Object.values(ADDR)) {
      if ((await bindOnce(a, port)) === null) {
        ok = false;
        break;
      }
    }
    if (ok) return port;
  }
  throw new Error('no port free on all of 127.0.0.2-6');
}

// run.sh in the foreground (same process group as this test, so a Ctrl-C in
// a terminal reaches it too); resolves once its banner is printed.
function startParties(args, port) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'bash',
      [args['run-sh'], '--dir', args.workdir, '--build-dir', args['build-dir'], '--port', String(port)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(Object.assign(err, { child, out }));
      else resolve({ child, out: () => out });
    };
    const timer = setTimeout(
      () => finish(new Error(`run.sh printed no banner within ${START_TIMEOUT_MS} ms:\n${out}`)),
      START_TIMEOUT_MS,
    );
    const onData = (d) => {
      out += d.toString('utf8');
      if (out.includes('Ctrl-C stops all five')) finish(null);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => finish(new Error(`cannot start run.sh: ${err.message}`)));
    child.on('exit', (code, sig) =>
      finish(new Error(`run.sh exited during start (code ${code}, signal ${sig}):\n${out}`)),
    );
  });
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

// SIGTERM to run.sh alone (its trap stops the five and waits for them), then
// SIGKILL after STOP_TIMEOUT_MS. Resolves to the exit code or signal.
async function stopParties(child) {
  if (exited(child)) return child.exitCode ?? child.signalCode;
  const gone = new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)));
  child.kill('SIGTERM');
  const r = await Promise.race([gone, sleep(STOP_TIMEOUT_MS).then(() => 'timeout')]);
  if (r !== 'timeout') return r;
  child.kill('SIGKILL');
  await Promise.race([gone, sleep(5_000)]);
  return 'killed after timeout';
}

function readPids(workdir) {
  const pids = {};
  try {
    for (const line of fs.readFileSync(path.join(workdir, 'run.pids'), 'utf8').split('\n')) {
      const [name, pid] = line.trim().split(/\s+/);
      if (name && pid) pids[name] = Number(pid);
    }
  } catch {
    // no file: nothing was started
  }
  return pids;
}

// A live (non-zombie) interkonto process with this pid.
function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`);
    return state !== 'Z' && cmd.includes('interkonto');
  } catch {
    return false;
  }
}

function killQuietly(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function spkiSha256(pemFile) {
  const der = new X509Certificate(fs.readFileSync(pemFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

// The leaf certificates: issued by the demo CA, for their address; their SPKI hashes.
function trustedSpkis(workdir) {
  const ca = new X509Certificate(fs.readFileSync(path.join(workdir, 'ca', 'ca.pem')));
  const hashes = [];
  for (const name of PARTIES) {
    const file = path.join(workdir, 'tls', `${name}.pem`);
    const leaf = new X509Certificate(fs.readFileSync(file));
    assert(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), `${file} is not signed by the demo CA`);
    assert(leaf.checkIP(PARTY_ADDR[name]) === PARTY_ADDR[name], `${file} is not for ${PARTY_ADDR[name]}`);
    hashes.push(spkiSha256(file));
  }
  return hashes;
}

function describeViolations(list) {
  const lines = [];
  for (const v of list) {
    lines.push(`${v.id} [${v.impact}] ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes) {
      lines.push(`  at ${JSON.stringify(n.target)}: ${n.html}`);
      for (const s of (n.summary || '').split('\n')) if (s.trim()) lines.push(`    ${s.trim()}`);
    }
  }
  return lines.join('\n');
}

// axe-core through the DevTools protocol (page.evaluate is not subject to
// the pages' Content-Security-Policy, which allows no script), so the pages
// are checked exactly as served.
async function axeCheck(page, what) {
  await check(`axe WCAG 2.1 A/AA on ${what}: zero violations`, async () => {
    const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
    if (!hasAxe) await page.evaluate(AXE_SOURCE);
    const r = await page.evaluate(async (tags) => {
      const result = await window.axe.run(document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations', 'incomplete'],
      });
      const simplify = (list) =>
        list.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
        }));
      return {
        violations: simplify(result.violations),
        incomplete: simplify(result.incomplete),
        passes: result.passes.length,
      };
    }, WCAG_TAGS);
    assert(r.passes > 0, 'axe ran no passing rule: nothing was checked');
    if (r.incomplete.length > 0) {
      console.log(`     note: axe could not decide ${r.incomplete.map((i) => i.id).join(', ')} (needs review)`);
    }
    assert(
      r.violations.length === 0,
      `${r.violations.length} violation(s) at ${page.url()}:\n${describeViolations(r.violations)}`,
    );
  });
}

const text = (page) => page.evaluate(() => (document.body ? document.body.innerText : ''));
const h1 = async (page) => ((await page.locator('h1').allInnerTexts()) || []).map((s) => s.trim());
const origin = (u) => {
  try {
    return new URL(u).origin;
  } catch {
    return u;
  }
};

// A browser context with its own cookies; records the main frame's last
// navigation response (status of the page on screen).
async function newPage(browser) {
  const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  const state = { last: null, trail: [] };
  page.on('response', (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && r.frame() === page.mainFrame()) {
      state.last = r;
      state.trail.push(`${r.status()} ${req.method()} ${r.url().slice(0, 100)}`);
    }
  });
  page.on('dialog', (d) => {
    state.trail.push(`dialog ${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return { context, page, state };
}

async function screenshot(page, dir, name) {
  const file = path.join(dir, `${name}.png`);
  try {
    const shot = page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
    await withTimeout(shot, 15_000, 'screenshot');
    console.log(`     screenshot: ${file}`);
  } catch (err) {
    console.log(`     note: no screenshot ${file}: ${err.message.split('\n')[0]}`);
  }
}

// Runs one case in a fresh context; the final page's screenshot is kept
// (also when the case failed).
async function inContext(browser, artifacts, shot, fn) {
  const ctx = await newPage(browser);
  try {
    await fn(ctx);
  } finally {
    await screenshot(ctx.page, artifacts, shot);
    await withTimeout(ctx.context.close(), 10_000, 'closing the browser context').catch(() => {});
  }
}

// ---------------------------------------------------------------- journey steps

async function startAtPortal(page, urls) {
  const r = await page.goto(`${urls.portal}/bauvoranfrage`, { waitUntil: 'load' });
  assert(r && r.status() === 200, `HTTP ${r && r.status()} at ${page.url()}`);
  assert(origin(page.url()) === urls.sk, `expected Servicekonto Thüringen (${urls.sk}), at ${page.url()}`);
  const heads = await h1(page);
  assert(heads.includes('Mit welchem Nutzerkonto möchten Sie sich anmelden?'), `h1: ${JSON.stringify(heads)}`);
}

async function chooseNrw(page, urls) {
  const button = page.getByRole('button', { name: 'Servicekonto.NRW', exact: true });
  await Promise.all([page.waitForURL((u) => origin(u.toString()) === urls.nrw, { waitUntil: 'load' }), button.click()]);
  const heads = await h1(page);
  assert(heads.includes('Anmelden beim Servicekonto.NRW'), `h1 at ${page.url()}: ${JSON.stringify(heads)}`);
  const anfrage = await page.locator('#anfrage').innerText();
  assert(anfrage.includes('substanziell'), `#anfrage: ${anfrage}`);
}

async function login(page, user, password) {
  await page.getByLabel('Benutzername', { exact: true }).fill(user);
  await page.getByLabel('Passwort', { exact: true }).fill(password);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.getByRole('button', { name: 'Anmelden', exact: true }).click(),
  ]);
}

async function checkConsentPage(page, urls) {
  assert(origin(page.url()) === urls.nrw, `not at NRW: ${page.url()}`);
  const heads = await h1(page);
  assert(heads.includes('Einwilligung zur Datenübermittlung'), `h1 at ${page.url()}: ${JSON.stringify(heads)}`);
  const items = await page.locator('#attributes li').evaluateAll((lis) =>
    lis.map((li) => [
      (li.querySelector('.label') || {}).textContent || '',
      (li.querySelector('.value') || {}).textContent || '',
    ]),
  );
  for (const [label, value] of CLARA_CONSENT) {
    assert(
      items.some(([l, v]) => l.trim() === label && v.trim() === value),
      `consent page does not list ${label}: ${value}; it lists ${JSON.stringify(items)}`,
    );
  }
}

// Clicks a consent-page button; the auto-POST pages (NRW -> Servicekonto
// Thüringen -> portal) run by themselves. Waits for the portal.
async function decide(page, urls, buttonName) {
  await Promise.all([
    page.waitForURL((u) => origin(u.toString()) === urls.portal, { waitUntil: 'load' }),
    page.getByRole('button', { name: buttonName, exact: true }).click(),
  ]);
}

async function checkPortalForm(page, urls) {
  assert(page.url() === `${urls.portal}/bauvoranfrage`, `at ${page.url()}`);
  const heads = await h1(page);
  assert(heads.includes('Bauvoranfrage'), `h1: ${JSON.stringify(heads)}`);
  for (const [id, want] of Object.entries(CLARA_FORM)) {
    const got = await page.locator(`#${id}`).inputValue();
    assert(got === want, `#${id} is "${got}", expected "${want}"`);
  }
  const niveau = await page.locator('#vertrauensniveau').innerText();
  assert(niveau.includes('substanziell'), `#vertrauensniveau: ${niveau}`);
  const konto = await page.locator('#nutzerkonto').innerText();
  assert(konto.includes('Servicekonto.NRW'), `#nutzerkonto: ${konto}`);
}

async function checkPortalError(page, urls, state, reasonWord, code) {
  assert(origin(page.url()) === urls.portal, `not at the portal: ${page.url()}`);
  const heads = await h1(page);
  assert(heads.includes('Anmeldung nicht möglich'), `h1: ${JSON.stringify(heads)} at ${page.url()}`);
  const grund = await page.locator('#grund').innerText();
  assert(grund.includes(reasonWord), `#grund does not mention "${reasonWord}": ${grund}`);
  const status = state.last ? state.last.status() : 0;
  assert(status >= 400 && status < 500, `HTTP ${status}, expected a 4xx error page`);
  const fehlercode = await page.locator('#fehlercode').innerText().catch(() => '');
  if (code) assert(fehlercode.includes(code), `#fehlercode: ${fehlercode}`);
  console.log(`     HTTP ${status}, #grund: ${grund}; ${fehlercode}`);
}

// The page on screen is a clear page of one of the parties: the portal's
// form (logged in) or an error page of the portal or an account, with an
// <h1>, HTTP < 500 and no stack trace. Returns a one-line description.
async function checkClearPage(page, urls, state) {
  const url = page.url();
  const o = origin(url);
  const parties = {
    [urls.portal]: 'portal',
    [urls.sk]: 'Servicekonto Thüringen',
    [urls.nrw]: 'Servicekonto.NRW',
    [urls.hamburg]: 'Servicekonto Hamburg',
  };
  const shown = (await text(page).catch(() => '')).slice(0, 500);
  assert(parties[o], `the final page is not one of the parties' pages: ${url}\n${shown}`);
  const last = state.last;
  assert(last && origin(last.url()) === o, `no HTTP response recorded for ${url}`);
  const status = last.status();
  assert(status < 500, `HTTP ${status} at ${url}`);
  const heads = await h1(page);
  assert(heads.length === 1 && heads[0], `expected one <h1>, got ${JSON.stringify(heads)} at ${url}`);
  const body = await text(page);
  for (const re of STACK_TRACE) assert(!re.test(body), `the page shows ${re}:\n${body.slice(0, 800)}`);
  if (o === urls.portal && heads[0] === 'Bauvoranfrage') await checkPortalForm(page, urls);
  return `${parties[o]}: HTTP ${status} <h1>${heads[0]}</h1> at ${url.slice(0, 80)}`;
}

async function happyPathTo(page, urls) {
  await startAtPortal(page, urls);
  await chooseNrw(page, urls);
  await login(page, 'clara', 'clara-nrw');
  await checkConsentPage(page, urls);
  await decide(page, urls, 'Zustimmen und weiter');
  await checkPortalForm(page, urls);
}

// Back in Chromium; returns what is on screen afterwards (its own error page
// has the URL chrome-error://chromewebdata/).
async function goBack(page, state) {
  let result;
  try {
    const r = await page.goBack({ waitUntil: 'load' });
    result = r ? `HTTP ${r.status()}` : 'no response (same-document or cached)';
  } catch (err) {
    result = `navigation error: ${err.message.split('\n')[0]}`;
  }
  await page.waitForLoadState('load').catch(() => {});
  let url = page.url();
  // The error page commits after goBack() rejected: wait for it (bounded).
  for (let i = 0; i < 20 && !url.startsWith('chrome-error:') && result.startsWith('navigation error'); i += 1) {
    await sleep(100);
    url = page.url();
  }
  await page.waitForLoadState('load').catch(() => {});
  const title = await page.title().catch(() => '');
  const body = (await text(page).catch(() => '')).replace(/\s+/g, ' ').trim();
  state.trail.push(`after Back: ${page.url()}`);
  return { result, url: page.url(), title, body };
}

// ---------------------------------------------------------------- cases

async function cases(browser, urls, artifacts) {
  // 1. The happy path.
  await inContext(browser, artifacts, '1-happy-path-form', async ({ page }) => {
    await check('happy path: portal /bauvoranfrage -> Servicekonto Thüringen asks "Mit welchem Nutzerkonto ...?"', () =>
      startAtPortal(page, urls),
    );
    await check('happy path: choosing "Servicekonto.NRW" shows its login page', () => chooseNrw(page, urls));
    await axeCheck(page, 'the NRW login page');
    await check('happy path: login clara / clara-nrw shows the consent page listing the attributes', async () => {
      await login(page, 'clara', 'clara-nrw');
      await checkConsentPage(page, urls);
    });
    await axeCheck(page, 'the NRW consent page');
    await check('happy path: "Zustimmen und weiter" ends on the Bauvoranfrage form filled with Clara\'s data', async () => {
      await decide(page, urls, 'Zustimmen und weiter');
      await checkPortalForm(page, urls);
    });
    await axeCheck(page, 'the portal\'s Bauvoranfrage form');
  });

  // 2. Wrong password, then the right one.
  await inContext(browser, artifacts, '2-wrong-password-then-form', async ({ page }) => {
    await check('wrong password: the alert "Benutzername oder Passwort ist falsch.", still the login page', async () => {
      await startAtPortal(page, urls);
      await chooseNrw(page, urls);
      await login(page, 'clara', 'falsch');
      const alert = page.getByRole('alert');
      await alert.waitFor({ state: 'visible' });
      const msg = (await alert.innerText()).trim();
      assert(msg === 'Benutzername oder Passwort ist falsch.', `alert: "${msg}"`);
      assert(origin(page.url()) === urls.nrw, `left NRW: ${page.url()}`);
      const heads = await h1(page);
      assert(heads.includes('Anmelden beim Servicekonto.NRW'), `h1: ${JSON.stringify(heads)}`);
      assert((await page.getByLabel('Passwort', { exact: true }).count()) === 1, 'no password field');
    });
    await axeCheck(page, 'the NRW login page with the wrong-password alert');
    await check('wrong password: then clara / clara-nrw works (consent, form filled)', async () => {
      await login(page, 'clara', 'clara-nrw');
      await checkConsentPage(page, urls);
      await decide(page, urls, 'Zustimmen und weiter');
      await checkPortalForm(page, urls);
    });
  });

  // 3. Cancel at the consent page.
  await inContext(browser, artifacts, '3-cancel-at-consent', async ({ page, state }) => {
    await check('cancel at consent: "Abbrechen" ends on the portal\'s page "Anmeldung nicht möglich" (abgebrochen)', async () => {
      await startAtPortal(page, urls);
      await chooseNrw(page, urls);
      await login(page, 'clara', 'clara-nrw');
      await checkConsentPage(page, urls);
      await decide(page, urls, 'Abbrechen');
      await checkPortalError(page, urls, state, 'abgebrochen', 'AuthnFailed');
    });
    await axeCheck(page, 'the portal\'s error page');
  });

  // 4. Trust level too low.
  await inContext(browser, artifacts, '4-level-too-low', async ({ page, state }) => {
    await check('level too low: max / max-nrw (STORK level 1) ends on the portal\'s error page (Vertrauensniveau)', async () => {
      await startAtPortal(page, urls);
      await chooseNrw(page, urls);
      await Promise.all([
        page.waitForURL((u) => origin(u.toString()) === urls.portal, { waitUntil: 'load' }),
        login(page, 'max', 'max-nrw'),
      ]);
      await checkPortalError(page, urls, state, 'Vertrauensniveau', 'NoAuthnContext');
    });
  });

  // 5a. Back after the POST, then Reload (what Chromium's own page asks for).
  await inContext(browser, artifacts, '5a-portal-form-after-back', async ({ page, state }) => {
    let ok = await check('Back after POST: the happy path first', () => happyPathTo(page, urls));
    if (!ok) return;
    let back = null;
    ok = await check('Back after POST: Back from the form ends on a page without hanging', async () => {
      back = await goBack(page, state);
      console.log(`     Back: ${back.result}; now at ${back.url} ("${back.title}")`);
      console.log(`     shows: ${back.body.slice(0, 300)}`);
    });
    if (!ok) return;
    if (back.url.startsWith('chrome-error:')) {
      await screenshot(page, artifacts, '5a-back-chromium-page');
      await check('Back after POST: Chromium\'s own page is "Confirm Form Resubmission" (ERR_CACHE_MISS), not a party error', async () => {
        assert(/ERR_CACHE_MISS/.test(back.body), `Chromium shows: ${back.body.slice(0, 500)}`);
      });
      await check('Back after POST: Reload (resubmit) ends on a clear page of a party', async () => {
        let how;
        try {
          const r = await page.reload({ waitUntil: 'load' });
          how = r ? `HTTP ${r.status()}` : 'no response';
        } catch (err) {
          how = `navigation error: ${err.message.split('\n')[0]}`;
        }
        console.log(`     Reload: ${how}`);
        console.log(`     final: ${await checkClearPage(page, urls, state)}`);
      });
      await axeCheck(page, 'the page after Back + Reload');
    } else {
      await check('Back after POST: the page on screen is a clear page of a party', async () => {
        console.log(`     final: ${await checkClearPage(page, urls, state)}`);
      });
    }
    await screenshot(page, artifacts, '5a-back-then-reload');
    await check('Back after POST: the portal session survives (the form again at /bauvoranfrage)', async () => {
      await page.goto(`${urls.portal}/bauvoranfrage`, { waitUntil: 'load' });
      await checkPortalForm(page, urls);
    });
    console.log(`     trail: ${state.trail.slice(-8).join('\n            ')}`);
  });

  // 5b. Back twice after the POST.
  await inContext(browser, artifacts, '5b-back-twice', async ({ page, state }) => {
    const ok = await check('Back twice after POST: the happy path first', () => happyPathTo(page, urls));
    if (!ok) return;
    await check('Back twice after POST: ends on a clear page of a party (no hang, no 5xx, no stack trace)', async () => {
      for (let i = 1; i <= 2; i += 1) {
        const back = await goBack(page, state);
        console.log(`     Back ${i}: ${back.result}; now at ${back.url.slice(0, 80)} ("${back.title}")`);
      }
      console.log(`     final: ${await checkClearPage(page, urls, state)}`);
    });
    await axeCheck(page, 'the page after Back twice');
  });
}

// -------------------------------------------------------------------- main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const workdir = path.resolve(args.workdir);
  const artifacts = path.resolve(args.artifacts);
  console.log(`playwright-core ${PLAYWRIGHT_VERSION}, axe-core ${AXE_VERSION}, browser ${CHROMIUM}`);
  fs.rmSync(workdir, { recursive: true, force: true });
  fs.mkdirSync(workdir, { recursive: true });
  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });

  let parties = null;
  let browser = null;
  const cleanupSync = () => {
    if (parties && !exited(parties.child)) parties.child.kill('SIGKILL');
    for (const pid of Object.values(readPids(workdir))) if (alive(pid)) killQuietly(pid);
  };
  const watchdog = setTimeout(() => {
    console.log(`FAIL overall time limit of ${TOTAL_TIMEOUT_MS} ms exceeded`);
    cleanupSync();
    process.exit(1);
  }, TOTAL_TIMEOUT_MS);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.log(`${sig}: stopping`);
      cleanupSync();
      process.exit(1);
    });
  }

  const t0 = Date.now();
  try {
    let port = null;
    await check('a port free on 127.0.0.2-6', async () => {
      port = await freePort();
      console.log(`     port ${port}, workdir ${workdir}`);
    });
    if (port === null) return 1;
    const base = (a) => `https://${a}:${port}`;
    const urls = Object.fromEntries(Object.entries(ADDR).map(([k, a]) => [k, base(a)]));

    await check(
      'run.sh starts the five parties (setup: demo CA, keys, signed aggregate)',
      async () => {
        try {
          parties = await startParties(args, port);
        } catch (err) {
          if (err.child) parties = { child: err.child, out: () => err.out };
          throw err;
        }
        const banner = parties.out();
        assert(banner.includes(`${urls.portal}/bauvoranfrage`), `no portal URL in the banner:\n${banner}`);
      },
      START_TIMEOUT_MS + 5_000,
    );
    let spkis = null;
    if (parties && !exited(parties.child)) {
      await check('TLS: the five leaf certificates are issued by the demo CA for their addresses', () => {
        spkis = trustedSpkis(workdir);
      });
    }
    if (spkis) {
      await check('Chromium (headless) starts, trusting only the demo parties\' TLS keys', async () => {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          headless: true,
          args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkis.join(',')}`],
          timeout: 60_000,
        });
        console.log(`     Chromium ${browser.version()}`);
      });
    }
    if (browser) await cases(browser, urls, artifacts);
  } finally {
    if (browser) {
      await withTimeout(browser.close(), 20_000, 'closing Chromium').catch((e) => console.log(`note: ${e.message}`));
    }
    if (parties) {
      const child = parties.child;
      await check(
        'run.sh stops all five parties (SIGTERM)',
        async () => {
          const code = await stopParties(child);
          const out = parties.out();
          assert(out.includes('stopped all 5 processes'), `run.sh (exit ${code}) did not say so:\n${out.slice(-1500)}`);
        },
        STOP_TIMEOUT_MS + 10_000,
      );
    }
    await check('no process of this run is left (DIR/run.pids)', () => {
      const pids = readPids(workdir);
      const left = Object.entries(pids).filter(([, pid]) => alive(pid));
      for (const [, pid] of left) killQuietly(pid);
      assert(left.length === 0, `still running: ${JSON.stringify(left)}`);
      if (parties) assert(Object.keys(pids).length === 5, `run.pids lists ${JSON.stringify(pids)}`);
    });
    await check('no sanitizer report or crash in the parties\' logs', () => {
      const logs = path.join(workdir, 'logs');
      const bad = [];
      for (const name of fs.existsSync(logs) ? fs.readdirSync(logs) : []) {
        const t = fs.readFileSync(path.join(logs, name), 'utf8');
        if (/Sanitizer|runtime error:|terminate called|Segmentation fault/.test(t)) {
          bad.push(`${name}:\n${t.slice(-3000)}`);
        }
      }
      assert(bad.length === 0, bad.join('\n'));
    });
    clearTimeout(watchdog);
  }
  console.log(`screenshots: ${artifacts}`);
  console.log(`${passed} passed, ${failed} failed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (rc) => process.exit(rc),
  (err) => {
    console.log(`FAIL unexpected error: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
