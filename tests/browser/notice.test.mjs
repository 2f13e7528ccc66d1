// The demo server's privacy notice in a real browser: it renders, it is accessible in the basics
// (language, one h1, headings in order, table headers, skip link), it loads nothing from elsewhere,
// and the browser reports no errors. Usage: PACTUM_BIN=path/to/pactum node --test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const bin = process.env.PACTUM_BIN ?? '../../target/debug/pactum';

function startServer() {
  const data = mkdtempSync(join(tmpdir(), 'pactum-browser-'));
  const child = spawn(bin, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/http:\/\/[0-9.:]+/);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[0], stop: () => { child.kill('SIGTERM'); rmSync(data, { recursive: true, force: true }); } });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

test('the privacy notice renders accessibly in Chromium', async () => {
  const server = await startServer();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    const foreign = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('request', (r) => { if (!r.url().startsWith(server.url)) foreign.push(r.url()); });
    const response = await page.goto(server.url + '/');
    assert.equal(response.status(), 200);

    assert.match(await page.title(), /Helpdeskly.*privacy notice/i);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.locator('h1').count(), 1);
    // Headings never skip a level (h2 -> h4).
    const levels = await page.$$eval('h1, h2, h3, h4, h5, h6', (hs) => hs.map((h) => Number(h.tagName[1])));
    for (let i = 1; i < levels.length; i++) {
      assert.ok(levels[i] <= levels[i - 1] + 1, `heading level jumps from h${levels[i - 1]} to h${levels[i]}`);
    }
    // Every table has a caption and header cells with a scope.
    const tables = await page.$$eval('table', (ts) => ts.map((t) => ({
      caption: !!t.querySelector('caption'),
      scoped: [...t.querySelectorAll('th')].every((th) => th.hasAttribute('scope')),
    })));
    assert.ok(tables.length > 0, 'the notice has tables');
    for (const t of tables) {
      assert.ok(t.caption && t.scoped, 'table without caption or scoped headers');
    }
    // The skip link reaches the main content.
    const skip = page.locator('a[href^="#"]').first();
    const target = (await skip.getAttribute('href')).slice(1);
    assert.equal(await page.locator(`[id="${target}"]`).count(), 1);
    // The notice states its promises: the response time and the contact.
    const text = await page.locator('body').innerText();
    assert.match(text, /privacy@helpdeskly\.example/);
    assert.match(text, /\d+ days/);

    assert.deepEqual(foreign, [], 'the page loads nothing from other origins');
    assert.deepEqual(errors, [], 'the browser reported errors');
    await page.screenshot({ path: join(tmpdir(), 'pactum-notice.png'), fullPage: false });
  } finally {
    await browser.close();
    server.stop();
  }
});
