// A small remote control for headless Chromium, for pacer's browser tests:
// one JSON command per line on stdin, one JSON answer per line on stdout.
// Playwright (playwright-core) drives Debian's chromium; no browser download.
//   {"op": "open", "url": "...", "width": 390, "height": 844}
//   {"op": "click" | "fill" | "wait" | "text" | "count", "selector": "...", ...}
//   {"op": "screenshot", "path": "..."}, {"op": "eval", "expr": "..."}, {"op": "close"}
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser = null;
let page = null;
const logs = [];

async function open({ url, width = 390, height = 844 }) {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: FLAGS,
  });
  const context = await browser.newContext({
    viewport: { width, height }, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
  });
  await context.grantPermissions(['notifications'], { origin: new URL(url).origin });
  page = await context.newPage();
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return null;
}

const ops = {
  open,
  async click({ selector, timeout = 10000 }) {
    await page.locator(selector).first().tap({ timeout });
  },
  async fill({ selector, value, timeout = 10000 }) {
    await page.locator(selector).first().fill(value, { timeout });
  },
  async wait({ selector, text, timeout = 10000 }) {
    const loc = text ? page.locator(selector, { hasText: text }) : page.locator(selector);
    await loc.first().waitFor({ state: 'visible', timeout });
  },
  async text({ selector, timeout = 10000 }) {
    return page.locator(selector).first().innerText({ timeout });
  },
  async count({ selector }) {
    return page.locator(selector).count();
  },
  async screenshot({ path, fullPage = false }) {
    await page.screenshot({ path, fullPage });
  },
  async eval({ expr }) {
    return page.evaluate(expr);
  },
  async logs() {
    return logs.splice(0);
  },
  async close() {
    if (browser) await browser.close();
    browser = null;
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const cmd = JSON.parse(line);
    const value = await ops[cmd.op](cmd);
    answer = { ok: true, value: value ?? null };
  } catch (err) {
    answer = { ok: false, error: String(err && err.message || err) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
if (browser) await browser.close();
