// Walks a person through the gateway's pages in headless Chromium, in Russian and English, on a
// desktop and a phone-sized viewport, and reports what each page is like as JSON on stdout;
// tests/browser.rs judges it. On every page: axe-core (WCAG 2.0/2.1 A and AA), every link and
// button reached by Tab with a visible focus indicator, horizontal overflow, every request's
// origin, console errors, the page language; and a full-page screenshot.
//
// Environment: SG_ISSUER (the gateway, http://127.0.0.1:PORT), SG_SCREENSHOTS (a directory),
// SG_CHROMIUM (the browser, /usr/bin/chromium). Exit 0 with the report; 1 when the walk
// itself broke (the error is in the JSON).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const issuer = process.env.SG_ISSUER;
const shots = process.env.SG_SCREENSHOTS;
const executablePath = process.env.SG_CHROMIUM || '/usr/bin/chromium';
const allowedOrigins = new Set([new URL(issuer).origin]);

// Playwright adds a fresh, empty --user-data-dir of its own (and removes it afterwards).
// Without the background-networking switches Chromium keeps calling Google's services, which
// in a closed network is a stream of refused connections.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const LANGS = { ru: 'ru-RU', en: 'en-US' };
const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};
const NAMES = { ru: 'Анна Петрова', en: 'Anna Smith' };

/// What a page says and links to, and whether it scrolls sideways.
async function facts(page) {
  return page.evaluate(() => {
    const text = (s) => (s || '').replace(/\s+/g, ' ').trim();
    const colours = (el) => {
      const s = getComputedStyle(el);
      return { background: s.backgroundColor, color: s.color };
    };
    return {
      path: location.pathname + location.search,
      lang: document.documentElement.lang,
      title: document.title,
      h1: [...document.querySelectorAll('h1')].map((h) => text(h.innerText)),
      text: text(document.body.innerText),
      links: [...document.querySelectorAll('a')].map((a) => ({
        text: text(a.innerText),
        href: a.getAttribute('href'),
        url: a.href,
        ...colours(a),
      })),
      buttons: [...document.querySelectorAll('button, input[type=submit]')].map((b) => ({
        text: text(b.innerText || b.value),
        ...colours(b),
      })),
      alerts: [...document.querySelectorAll('[role=alert]')].map((a) => text(a.innerText)),
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      // Boxes whose content spills out sideways (a word too long for its table cell, say):
      // no page scrolling, yet text overlaps.
      spilling: [...document.querySelectorAll('main *')]
        .filter((el) => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
        .map((el) => `${el.tagName.toLowerCase()} "${text(el.innerText).slice(0, 40)}"`),
    };
  });
}

/// axe-core's WCAG 2.0 and 2.1 A and AA rules. Evaluated through the DevTools protocol,
/// which the pages' Content-Security-Policy (no scripts) does not apply to.
async function axe(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    }),
  );
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')),
  }));
}

/// Tabs through the page: which of its links, buttons and fields the keyboard reaches, and
/// whether each shows a focus indicator (outline or box-shadow unlike its unfocused look).
async function focus(page) {
  const count = await page.evaluate(() => {
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    window.sgFocusables = [
      ...document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])',
      ),
    ].filter(visible);
    window.sgRing = (el) => {
      const s = getComputedStyle(el);
      return {
        outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
        outlineVisible: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1,
        boxShadow: s.boxShadow,
      };
    };
    document.activeElement?.blur();
    return window.sgFocusables.length;
  });
  const unfocused = await page.evaluate(() => window.sgFocusables.map((el) => window.sgRing(el)));
  const describe = await page.evaluate(() =>
    window.sgFocusables.map((el) => `${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || '').replace(/\s+/g, ' ').trim()}"`),
  );
  const focused = new Map();
  for (let i = 0; i < count + 2; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const i = window.sgFocusables.indexOf(document.activeElement);
      return i < 0 ? null : { i, ring: window.sgRing(document.activeElement) };
    });
    if (at && !focused.has(at.i)) focused.set(at.i, at.ring);
  }
  const unreached = [];
  const noIndicator = [];
  for (let i = 0; i < count; i++) {
    const ring = focused.get(i);
    if (!ring) {
      unreached.push(describe[i]);
      continue;
    }
    const before = unfocused[i];
    const outline = ring.outlineVisible && ring.outline !== before.outline;
    const shadow = ring.boxShadow !== 'none' && ring.boxShadow !== before.boxShadow;
    if (!outline && !shadow) noIndicator.push(describe[i]);
  }
  return { count, elements: describe, unreached, noIndicator, ring: [...focused.values()][0] ?? null };
}

/// One run: a language on a viewport, a fresh browser profile (context).
async function walk(browser, lang, viewportName) {
  const context = await browser.newContext({ locale: LANGS[lang], ...VIEWPORTS[viewportName] });
  const page = await context.newPage();
  const requests = [];
  const consoleErrors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const pages = [];
  let seen = 0;
  let shot = 0;

  // Records the page the browser is on, reached with `response` (the last of its redirects).
  const check = async (name, response, extra = {}) => {
    await page.waitForLoadState('load');
    const file = path.join(shots, `${lang}-${viewportName}-${String(++shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const record = {
      name,
      status: response ? response.status() : null,
      ...(await facts(page)),
      axe: await axe(page),
      focus: await focus(page),
      requests: requests.slice(seen),
      foreignRequests: requests.slice(seen).filter((u) => {
        if (u.startsWith('data:')) return false;
        try {
          return !allowedOrigins.has(new URL(u).origin);
        } catch {
          return true;
        }
      }),
      consoleErrors: consoleErrors.splice(0),
      screenshot: file,
      ...extra,
    };
    seen = requests.length;
    pages.push(record);
    return record;
  };
  // Clicks what `selector` finds and waits for the page it leads to.
  const follow = async (selector) => {
    const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
    return response;
  };

  // The home page, and its demo login.
  await check('home', await page.goto(`${issuer}/`));
  await check('chooser', await follow('main a.button'));
  // The demo network's button on the chooser.
  const demoButton = 'main a.button[href*="provider=demo"]';
  await check('demo-form', await follow(demoButton));

  // A name of spaces: the browser's own check stops it, saying why…
  const formUrl = page.url();
  await page.fill('#name', '   ');
  await page.click('button[type=submit]');
  await page.waitForTimeout(200);
  const blocked = await page.$eval('#name', (el) => ({
    valid: el.validity.valid,
    patternMismatch: el.validity.patternMismatch,
    message: el.validationMessage,
  }));
  blocked.stayed = page.url() === formUrl;
  // …and when sent anyway (no validation in the browser), the gateway says it.
  await page.$eval('form', (f) => {
    f.noValidate = true;
  });
  await check('demo-form-blank', await follow('button[type=submit]'), { blocked });

  await page.fill('#name', NAMES[lang]);
  await page.fill('#email', 'anna@example.org');
  const site = await check('site-logged-in', await follow('button[type=submit]'));
  site.claims = await page.$$eval('table.claims tr', (rows) =>
    Object.fromEntries(rows.map((r) => [r.querySelector('th').innerText.trim(), r.querySelector('td').innerText.trim()])),
  );

  await check('logout-confirm', await follow('form[action="/logout"] button'));
  await check('logged-out', await follow('form[action="/logout"] button'));
  const back = await follow('main a.button');
  pages[pages.length - 1].followed = { status: back.status(), url: page.url() };

  // Error pages: a redirect URI the site did not register, a site nobody registered.
  const authorize = (params) => `${issuer}/authorize?${new URLSearchParams({ response_type: 'code', scope: 'openid', ...params })}`;
  await check(
    'error-redirect-uri',
    await page.goto(authorize({ client_id: 'demo-site', redirect_uri: 'https://evil.example/steal' })),
  );
  await check(
    'error-unknown-client',
    await page.goto(authorize({ client_id: 'intruder', redirect_uri: 'https://evil.example/steal' })),
  );
  // A login whose cookies were lost on the way: the site is known, the page leads back.
  await page.goto(`${issuer}/`);
  await follow('main a.button');
  await follow(demoButton);
  await context.clearCookies();
  await check('error-other-browser', await follow('button[type=submit]'));
  await check('not-found', await page.goto(`${issuer}/no-such-page`));

  await context.close();
  return { lang, viewport: viewportName, pages };
}

const report = { chromium: null, screenshots: shots, runs: [] };
let browser;
try {
  fs.mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({ executablePath, headless: true, args: FLAGS, timeout: 60_000 });
  report.chromium = browser.version();
  for (const lang of Object.keys(LANGS)) {
    for (const viewport of Object.keys(VIEWPORTS)) {
      report.runs.push(await walk(browser, lang, viewport));
    }
  }
} catch (e) {
  report.error = e && e.stack ? e.stack : String(e);
  process.exitCode = 1;
} finally {
  await browser?.close();
}
process.stdout.write(JSON.stringify(report));
