// The privacy-centre journey in a real browser: a person asks the demo organisation for their data,
// confirms with the code from the emailed message (the server's file outbox), the privacy officer
// signs in and approves it in the console, the server carries it out against the demo datastores,
// and the person's status page says it is done and the emailed link downloads the ZIP.
// Usage: PACTUM_BIN=path/to/pactum node --test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const bin = process.env.PACTUM_BIN ?? '../../target/debug/pactum';
const person = 'alex.morgan@example.com';

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
      const url = out.match(/http:\/\/[0-9.:]+/);
      const signIn = out.match(/demo sign-in: (\S+) \/ (\S+)/);
      if (url && signIn) {
        clearTimeout(timer);
        resolve({
          url: url[0], data, email: signIn[1], password: signIn[2],
          stop: () => { child.kill('SIGTERM'); rmSync(data, { recursive: true, force: true }); },
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

// The newest message in the outbox, its body decoded from quoted-printable.
function lastMail(data) {
  const dir = join(data, 'outbox');
  // The server names the files so that they sort in the order it wrote them.
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  assert.ok(files.length > 0, 'a message in the outbox');
  const raw = readFileSync(join(dir, files.at(-1)), 'utf8');
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4)
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  return body;
}

test('a person asks for their data through the privacy centre and downloads it', async () => {
  const server = await startServer();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const errors = [];
    const personPage = await (await browser.newContext()).newPage();
    personPage.on('pageerror', (e) => errors.push(String(e)));

    // The request form offers what the map offers, per law.
    await personPage.goto(server.url + '/requests/new');
    assert.equal(await personPage.locator('h1').count(), 1);
    await personPage.selectOption('#request', 'gdpr:access');
    await personPage.fill('#email', person);
    await personPage.click('button[type=submit]');
    await personPage.waitForURL(/\/requests\/dsr_/);
    const statusUrl = personPage.url();
    assert.equal(await personPage.getAttribute('#status', 'data-status'), 'unverified');
    assert.ok(!(await personPage.content()).includes(person), 'the status page never shows the address');

    // The code from the email confirms it.
    const code = lastMail(server.data).match(/^ {2}(\d{6})$/m)[1];
    await personPage.fill('#code', code);
    await personPage.click('form[action$="/verify"] button');
    await personPage.waitForURL(statusUrl);
    assert.equal(await personPage.getAttribute('#status', 'data-status'), 'verified');

    // The privacy officer signs in, finds it in the queue by time left, and approves it.
    const admin = await (await browser.newContext()).newPage();
    admin.on('pageerror', (e) => errors.push(String(e)));
    await admin.goto(server.url + '/admin/login');
    await admin.fill('#email', server.email);
    await admin.fill('#password', server.password);
    await admin.click('button[type=submit]');
    await admin.waitForURL(server.url + '/admin');
    await admin.click('a[href="/admin/requests"]');
    const row = admin.locator('tr[data-urgency="on_track"]').first();
    assert.match(await row.innerText(), /a\*\*\*@example\.com/);
    await row.locator('a').click();
    assert.match(await admin.locator('body').innerText(), new RegExp(person.replace(/\./g, '\\.')));
    await admin.click('#approve');
    await admin.waitForLoadState();

    // The worker does the automated part; the demo's manual systems become tasks, which an
    // employee records done in the console, one by one, until none is open.
    const requestUrl = admin.url();
    let open = -1;
    for (let i = 0; i < 100 && open !== 0; i++) {
      await admin.goto(requestUrl);
      if ((await admin.locator('#tasks').count()) === 0) {
        await admin.waitForTimeout(200);
        continue;
      }
      const form = admin.locator('form[action*="/tasks/"]').first();
      open = await admin.locator('form[action*="/tasks/"]').count();
      if (open > 0) {
        await form.locator('textarea').fill('Removed from the paper files, as instructed.');
        await form.locator('button').click();
        await admin.waitForLoadState();
        open -= 1;
      }
    }
    assert.equal(open, 0, 'every manual task was recorded done');
    assert.match(await admin.locator('#tasks').innerText(), /Removed from the paper files/);

    // The server's worker carries it out; the person's page says it is done.
    let status = '';
    for (let i = 0; i < 100 && status !== 'completed'; i++) {
      await personPage.waitForTimeout(200);
      await personPage.goto(statusUrl);
      status = await personPage.getAttribute('#status', 'data-status');
    }
    assert.equal(status, 'completed');
    assert.match(await personPage.locator('#status').innerText(), /download/i);

    // The emailed link downloads the package (the message follows the completion at once).
    const pattern = /http:\/\/\S+\/requests\/download\?token=pcd_\S+/;
    let found = null;
    for (let i = 0; i < 50 && !found; i++) {
      found = lastMail(server.data).match(pattern);
      if (!found) await personPage.waitForTimeout(200);
    }
    assert.ok(found, 'the download link was emailed');
    const link = found[0];
    const download = await personPage.request.get(link);
    assert.equal(download.status(), 200);
    assert.equal(download.headers()['content-type'], 'application/zip');
    const bytes = await download.body();
    assert.equal(bytes.subarray(0, 2).toString(), 'PK');

    assert.deepEqual(errors, [], 'the browser reported errors');
    await personPage.screenshot({ path: join(tmpdir(), 'pactum-request-status.png') });
  } finally {
    await browser.close();
    server.stop();
  }
});
