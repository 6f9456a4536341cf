// SPDX-License-Identifier: EUPL-1.2
// Browser test of the IdP discovery page ("Mit welchem Nutzerkonto möchten
// Sie sich anmelden?"): Debian's headless Chromium driven by playwright-core,
// accessibility checked by axe-core against the WCAG 2.1 A/AA rules, in
// German and English, plus keyboard-only runs (reach and choose an IdP; use
// the search). Never downloads a browser.
//
//   node discovery.test.mjs <discovery_server binary>
//
// The server (tests/e2e/discovery_server.cpp) serves interkonto::Discovery
// for a fixed federation on 127.0.0.1 and a stand-in /saml/login page that
// echoes the chosen IdP. One line per check, then "N passed, M failed";
// the exit status is non-zero when any check failed.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');
const AXE_VERSION = require('axe-core/package.json').version;
const PLAYWRIGHT_VERSION = require('playwright-core/package.json').version;

const CHROMIUM = process.env.INTERKONTO_E2E_CHROMIUM || '/usr/bin/chromium';
// playwright-core starts Chromium with a fresh temporary --user-data-dir of
// its own (and refuses one in args); these keep it off the network.
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

const TOTAL_TIMEOUT_MS = 270_000; // below the ctest TIMEOUT of 300 s
const SERVER_START_TIMEOUT_MS = 30_000;
const CHECK_TIMEOUT_MS = 60_000;
const ACTION_TIMEOUT_MS = 15_000;
const MAX_TABS = 40;

const PAGE = '/saml/discovery';
const RETURN_TO = '/portal/start';

// The federation of discovery_server.cpp: display names per language (with
// the fallbacks the page must apply: Hamburg has only an Organization
// DisplayName, BundID only an English mdui DisplayName).
const IDPS = [
  { id: 'https://servicekonto.thueringen.example/idp', de: 'Servicekonto Thüringen', en: 'Thuringia Service Account' },
  { id: 'https://servicekonto.nrw.example/idp', de: 'Servicekonto.NRW', en: 'Servicekonto.NRW' },
  { id: 'https://bayernid.muenchen.example/idp', de: 'BayernID München', en: 'BayernID Munich' },
  { id: 'https://servicekonto.hamburg.example/idp', de: 'Servicekonto Hamburg', en: 'Servicekonto Hamburg' },
  { id: 'https://id.bund.example/idp', de: 'BundID federal account', en: 'BundID federal account' },
];
const SP_NAME = 'Beispielportal (kein IdP)'; // an SP: must never be offered
const THUERINGEN = IDPS[0];
const MUENCHEN = IDPS[2];

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

async function check(name, fn) {
  try {
    await withTimeout(Promise.resolve().then(fn), CHECK_TIMEOUT_MS, name);
    passed += 1;
    console.log(`PASS ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}`);
    for (const line of String(err && err.message ? err.message : err).split('\n')) console.log(`     ${line}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function startServer(binary) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`the server printed no "listening on" line within ${SERVER_START_TIMEOUT_MS} ms`));
    }, SERVER_START_TIMEOUT_MS);
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.stdout.on('data', (d) => {
      out += d.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))\//.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ child, base: m[1] });
      }
    });
    child.on('error', (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`cannot start ${binary}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`the server exited before listening (code ${code}, signal ${signal})`));
    });
  });
}

// SIGTERM, then SIGKILL after 10 s; resolves to the exit code (null: killed).
async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout')]);
  if (code !== 'timeout') return code;
  child.kill('SIGKILL');
  await Promise.race([exited, sleep(5_000)]);
  return null;
}

function pageUrl(base, params) {
  const u = new URL(PAGE, base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

async function withPage(browser, options, fn) {
  const context = await browser.newContext({ locale: 'de-DE', ...options });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    page.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
    return await fn(page);
  } finally {
    await withTimeout(context.close(), 10_000, 'closing the browser context').catch(() => {});
  }
}

async function open(page, url) {
  const response = await page.goto(url, { waitUntil: 'load' });
  assert(response, `no response for ${url}`);
  return response;
}

// Names of the federation's IdPs (in `lang`) and of the SP that the page shows
// as visible text.
async function visibleNames(page, lang) {
  const text = await page.evaluate(() => document.body.innerText);
  const names = IDPS.map((idp) => idp[lang]).filter((n) => text.includes(n));
  return { names, sp: text.includes(SP_NAME) };
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

async function runAxe(page, tags) {
  await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate(async (runTags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: runTags },
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
  }, tags);
}

// What has the keyboard focus: tag, role and the text a screen reader would
// start from (aria-label, aria-labelledby, label, content, value).
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
    const byIds = (attr) =>
      norm(
        (el.getAttribute(attr) || '')
          .split(/\s+/)
          .filter(Boolean)
          .map((id) => (document.getElementById(id) || {}).textContent || '')
          .join(' '),
      );
    const labels = el.labels ? norm(Array.from(el.labels, (l) => l.textContent).join(' ')) : '';
    const imgAlt = norm(Array.from(el.querySelectorAll('img[alt]'), (i) => i.alt).join(' '));
    const text = norm(
      el.getAttribute('aria-label') ||
        byIds('aria-labelledby') ||
        labels ||
        el.innerText ||
        imgAlt ||
        (el.tagName === 'INPUT' && /^(submit|button)$/i.test(el.type) ? el.value : '') ||
        el.getAttribute('title'),
    );
    return {
      tag: el.tagName.toLowerCase(),
      type: el.getAttribute('type') || '',
      role: el.getAttribute('role') || '',
      name: el.getAttribute('name') || '',
      value: el.tagName === 'BUTTON' || el.tagName === 'INPUT' ? el.value : '',
      href: el.getAttribute('href') || '',
      text,
    };
  });
}

function focusLabel(f) {
  if (!f) return '(nothing)';
  const bits = [f.tag];
  if (f.type) bits.push(`type=${f.type}`);
  if (f.role) bits.push(`role=${f.role}`);
  if (f.name) bits.push(`name=${f.name}`);
  return `<${bits.join(' ')}> "${f.text}"`;
}

// Presses Tab (at most MAX_TABS times) until `want(focused)` holds; returns
// the number of presses, or throws with the focus order seen.
async function tabUntil(page, want, what) {
  const seen = [];
  for (let i = 1; i <= MAX_TABS; i += 1) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    seen.push(focusLabel(f));
    if (f && want(f)) return { presses: i, element: f };
  }
  throw new Error(`${what} not reached within ${MAX_TABS} Tab presses; focus order:\n  ${seen.join('\n  ')}`);
}

const isControl = (f) =>
  f.tag === 'button' ||
  f.tag === 'a' ||
  (f.tag === 'input' && /^(submit|button|radio|image)$/i.test(f.type)) ||
  /^(button|link|radio|option)$/.test(f.role);
const isSearchField = (f) =>
  (f.tag === 'input' && /^(search|text|)$/i.test(f.type)) || f.role === 'searchbox' || f.role === 'combobox';

// ------------------------------------------------------------------ checks

async function pageChecks(browser, base) {
  const variants = [
    { label: 'default language', params: { return_to: RETURN_TO }, lang: 'de', expect: IDPS.map((i) => i.de) },
    { label: 'lang=de', params: { lang: 'de', return_to: RETURN_TO }, lang: 'de', expect: IDPS.map((i) => i.de) },
    { label: 'lang=en', params: { lang: 'en', return_to: RETURN_TO }, lang: 'en', expect: IDPS.map((i) => i.en) },
    { label: 'lang=de q=zzzz (no result)', params: { lang: 'de', q: 'zzzz' }, lang: 'de', expect: [] },
    { label: 'lang=en q=zzzz (no result)', params: { lang: 'en', q: 'zzzz' }, lang: 'en', expect: [] },
    { label: 'lang=de q=thuer (filtered)', params: { lang: 'de', q: 'thuer' }, lang: 'de', expect: [THUERINGEN.de] },
    // Whether the English names are searched in German is the page's choice:
    // only the accessibility of this state is checked.
    { label: 'lang=en q=thuer (filtered)', params: { lang: 'en', q: 'thuer' }, lang: 'en', expect: null },
  ];
  for (const v of variants) {
    await withPage(browser, { bypassCSP: true }, async (page) => {
      const url = pageUrl(base, v.params);
      let loaded = false;
      await check(`page ${v.label}: HTTP 200, <html lang=${v.lang}>, lists the expected IdPs`, async () => {
        const response = await open(page, url);
        loaded = true;
        assert(response.status() === 200, `HTTP ${response.status()} for ${url}`);
        const lang = await page.evaluate(() => document.documentElement.getAttribute('lang') || '');
        assert(lang.toLowerCase().split('-')[0] === v.lang, `<html lang="${lang}">, expected "${v.lang}"`);
        const { names, sp } = await visibleNames(page, v.lang);
        assert(!sp, `the SP "${SP_NAME}" is offered as an IdP`);
        if (v.expect !== null) {
          const got = JSON.stringify([...names].sort());
          const want = JSON.stringify([...v.expect].sort());
          assert(got === want, `IdPs shown: ${got}; expected ${want}`);
        }
      });
      await check(`axe WCAG 2.1 A/AA ${v.label}: zero violations`, async () => {
        if (!loaded) await open(page, url);
        const r = await runAxe(page, WCAG_TAGS);
        assert(r.passes > 0, 'axe ran no passing rule: nothing was checked');
        if (r.incomplete.length > 0) {
          console.log(`     note: axe could not decide ${r.incomplete.map((i) => i.id).join(', ')} (needs review)`);
        }
        assert(r.violations.length === 0, `${r.violations.length} violation(s):\n${describeViolations(r.violations)}`);
      });
    });
  }

  // The error page a citizen sees for bad input must be accessible too.
  await withPage(browser, { bypassCSP: true }, async (page) => {
    const url = new URL(`${PAGE}/choose`, base);
    url.searchParams.set('idp', 'https://unknown.example/idp');
    url.searchParams.set('return_to', RETURN_TO);
    await check('error page (unknown IdP): 4xx, not a redirect, zero axe WCAG 2.1 A/AA violations', async () => {
      const response = await open(page, url.toString());
      assert(
        response.status() >= 400 && response.status() < 500,
        `HTTP ${response.status()} (${page.url()}), expected a 4xx error page`,
      );
      assert(new URL(page.url()).pathname === url.pathname, `ended at ${page.url()}`);
      const r = await runAxe(page, WCAG_TAGS);
      assert(r.violations.length === 0, `${r.violations.length} violation(s):\n${describeViolations(r.violations)}`);
    });
  });
}

async function keyboardChecks(browser, base) {
  const start = pageUrl(base, { lang: 'de', return_to: RETURN_TO });
  const isThueringen = (f) => isControl(f) && f.text.includes(THUERINGEN.de);

  let presses = 0;
  await withPage(browser, {}, async (page) => {
    await check(`keyboard: Tab reaches the button for "${THUERINGEN.de}" (≤ ${MAX_TABS} presses)`, async () => {
      await open(page, start);
      const r = await tabUntil(page, isThueringen, `"${THUERINGEN.de}"`);
      presses = r.presses;
      console.log(`     reached after ${presses} Tab presses: ${focusLabel(r.element)}`);
    });
    if (presses === 0) return;
    // WCAG 2.4.7: the focused control looks different from the unfocused one.
    await check(`keyboard: the focused "${THUERINGEN.de}" control shows a visible focus indicator`, async () => {
      const box = await page.evaluate(() => {
        const r = document.activeElement.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      });
      const vp = page.viewportSize();
      const pad = 4;
      const x = Math.max(0, Math.floor(box.x) - pad);
      const y = Math.max(0, Math.floor(box.y) - pad);
      const clip = {
        x,
        y,
        width: Math.min(vp.width - x, Math.ceil(box.width) + 2 * pad),
        height: Math.min(vp.height - y, Math.ceil(box.height) + 2 * pad),
      };
      assert(clip.width > 0 && clip.height > 0, `the focused control is outside the viewport: ${JSON.stringify(box)}`);
      const withFocus = await page.screenshot({ clip, animations: 'disabled', caret: 'hide' });
      await page.evaluate(() => document.activeElement.blur());
      const withoutFocus = await page.screenshot({ clip, animations: 'disabled', caret: 'hide' });
      assert(!withFocus.equals(withoutFocus), 'the control looks the same with and without keyboard focus');
    });
  });
  if (presses === 0) return;

  await withPage(browser, {}, async (page) => {
    await check(`keyboard: Enter on "${THUERINGEN.de}" chooses it (login page shows its entityID)`, async () => {
      await open(page, start);
      for (let i = 0; i < presses; i += 1) await page.keyboard.press('Tab');
      const f = await focused(page);
      assert(f && isThueringen(f), `after ${presses} Tab presses the focus is on ${focusLabel(f)}`);
      await Promise.all([page.waitForURL(/\/saml\/login(\?|$)/), page.keyboard.press('Enter')]);
      const text = await page.evaluate(() => document.body.innerText);
      assert(
        text.includes(`Gewählt: ${THUERINGEN.id}`),
        `login page at ${page.url()} says:\n${text.slice(0, 500)}`,
      );
      assert(text.includes(`return_to: ${RETURN_TO}`), `return_to not carried through: ${text.slice(0, 500)}`);
    });
  });

  await withPage(browser, {}, async (page) => {
    await check('keyboard: search field reached by Tab; "mue" + Enter lists only "BayernID München"', async () => {
      await open(page, start);
      const r = await tabUntil(page, isSearchField, 'the search field');
      console.log(`     search field after ${r.presses} Tab presses: ${focusLabel(r.element)}`);
      await page.keyboard.type('mue');
      const navigated = page.waitForURL(/[?&]q=mue(&|$)/).then(
        () => true,
        () => false,
      );
      await page.keyboard.press('Enter');
      if (!(await navigated)) console.log(`     note: no navigation to ?q=mue (at ${page.url()})`);
      await page.waitForLoadState('load');
      const { names, sp } = await visibleNames(page, 'de');
      assert(!sp, `the SP "${SP_NAME}" is offered as an IdP`);
      assert(
        names.length === 1 && names[0] === MUENCHEN.de,
        `IdPs shown after searching "mue": ${JSON.stringify(names)} (at ${page.url()})`,
      );
    });
  });
}

// -------------------------------------------------------------------- main

async function main() {
  const binary = process.argv[2];
  if (!binary) {
    console.error('usage: node discovery.test.mjs <discovery_server binary>');
    return 2;
  }
  console.log(`playwright-core ${PLAYWRIGHT_VERSION}, axe-core ${AXE_VERSION}, browser ${CHROMIUM}`);

  let server = null;
  let browser = null;
  const watchdog = setTimeout(() => {
    console.log(`FAIL overall time limit of ${TOTAL_TIMEOUT_MS} ms exceeded`);
    if (server) server.child.kill('SIGKILL');
    process.exit(1);
  }, TOTAL_TIMEOUT_MS);

  try {
    await check('server starts and listens on 127.0.0.1', async () => {
      server = await startServer(binary);
      console.log(`     ${server.base}/`);
    });
    if (server) {
      await check('Chromium (headless) starts', async () => {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          headless: true,
          args: CHROMIUM_ARGS,
          timeout: 60_000,
        });
        console.log(`     Chromium ${browser.version()}`);
      });
    }
    if (server && browser) {
      await pageChecks(browser, server.base);
      await keyboardChecks(browser, server.base);
    }
  } finally {
    if (browser) await withTimeout(browser.close(), 20_000, 'closing Chromium').catch((e) => console.log(`note: ${e.message}`));
    if (server) {
      const child = server.child;
      await check('server exits cleanly on SIGTERM', async () => {
        const code = await stopServer(child);
        assert(code === 0, `exit code ${code}`);
      });
    }
    clearTimeout(watchdog);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then(
  (rc) => process.exit(rc),
  (err) => {
    console.log(`FAIL unexpected error: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
