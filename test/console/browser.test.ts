// The console in real headless Chromium (Debian's /usr/bin/chromium, driven by puppeteer-core;
// no browser download), against a real daemon: log in through the one-time URL, list, filter,
// open a session, jump to an error, search and open a hit, the usage charts and their tables
// against `rbk usage --json`, a live event from a real `rbk hook` process, Apply on a runbook
// proposal, and hostile transcript content through every view. Screenshots of each page go to
// test-artifacts/console/.
/// <reference lib="dom" />
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type DaemonProcess, makeDataDir, REPO_ROOT, runCli, runHook, startDaemon, type TempRbk } from '../support/rbk.js';
import { consoleUrl, E2E_CAPTURED, FAILING_BUILD, HOSTILE, SPOTTER_LONG, TRANSCRIPTS, writeHostileSession } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(REPO_ROOT, 'test-artifacts', 'console');

let t: TempRbk;
let d: DaemonProcess;
let browser: Browser;
let page: Page;
let base: string;
let runbooks: string;
let beacon: http.Server;
const beaconHits: string[] = [];
const dialogs: string[] = [];
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

async function go(p: string, selector: string): Promise<void> {
  await page.goto(`${base}${p.replace(/^\//, '')}`);
  await page.waitForSelector(selector, { timeout: 15_000 });
}

beforeAll(async () => {
  assertBuilt();
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the console tests drive Debian's chromium. npm test installs it when it can (scripts/test-prerequisites.mjs); else: apt-get install -y chromium`,
    );
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  beacon = http.createServer((req, res) => {
    beaconHits.push(req.url ?? '');
    res.end();
  });
  await new Promise<void>((r) => beacon.listen(0, '127.0.0.1', r));
  const beaconUrl = `http://127.0.0.1:${(beacon.address() as AddressInfo).port}`;

  t = makeDataDir();
  runbooks = path.join(t.root, 'runbooks');
  fs.mkdirSync(runbooks);
  fs.writeFileSync(path.join(runbooks, 'build.md'), '# Build\n\nBuild with `sh scripts/build.sh`. If the build fails, read the error first.\n');
  t.writeConfig(`metrics: { enabled: false }\nui: { listen: "127.0.0.1:0" }\nlearning:\n  runbookDir: ${JSON.stringify(runbooks)}\n`);
  const hostileDir = path.join(t.root, 'hostile');
  writeHostileSession(hostileDir, beaconUrl);
  d = await startDaemon(t);
  const imp = await runCli(t, ['import', E2E_CAPTURED, TRANSCRIPTS, hostileDir, '--json'], { timeoutMs: 120_000 });
  expect(imp.code, imp.stderr).toBe(0);

  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.emulateTimezone('UTC');
  page.on('dialog', async (dlg) => {
    dialogs.push(dlg.message());
    // The Apply confirmation is the one dialog the console shows.
    if (dlg.type() === 'confirm') await dlg.accept();
    else await dlg.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await d?.stop();
  t?.cleanup();
  beacon?.close();
});

describe('the console in Chromium', () => {
  it('without a login it says how to get one; the one-time URL logs in and lands on the sessions list', async () => {
    const { url, loginUrl } = await consoleUrl(t);
    base = url;
    await page.goto(url);
    await page.waitForSelector('[data-testid=login-needed]');
    expect(await page.$eval('[data-testid=login-needed]', (e) => e.textContent)).toContain('rbk ui');
    await shot('00-login-needed');
    await page.goto(loginUrl);
    await page.waitForSelector('.srow[data-session]');
    const cookies = await browser.cookies();
    const c = cookies.find((x) => x.name === 'rbk_console');
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await shot('01-sessions');
  });

  it('lists, filters and opens a session', async () => {
    await go('/', '.srow[data-session]');
    const all = await page.$$eval('.srow[data-session]', (rows) => rows.map((r) => (r as HTMLElement).dataset.session));
    const cli = JSON.parse((await runCli(t, ['sessions', '--json', '--limit', '100'])).stdout) as { id: string }[];
    expect(all).toEqual(cli.map((s) => s.id));
    await page.click('[data-testid=errors-only]');
    await page.waitForFunction((n) => document.querySelectorAll('.srow[data-session]').length < n, {}, all.length);
    const withErrors = JSON.parse((await runCli(t, ['sessions', '--json', '--errors'])).stdout) as { id: string }[];
    expect(await page.$$eval('.srow[data-session]', (rows) => rows.map((r) => (r as HTMLElement).dataset.session))).toEqual(withErrors.map((s) => s.id));
    expect(page.url()).toContain('errors=true');
    // Sort by cost (click the header), then open the first row with the keyboard.
    await page.click('[data-sort=cost]');
    await page.waitForFunction(() => location.search.includes('sort=cost'));
    // The most expensive session with errors (the long spotter one, $6.17) comes first.
    await page.waitForFunction((id) => document.querySelector('.srow[data-session]')?.getAttribute('data-session') === id, {}, SPOTTER_LONG);
    await page.focus('[data-testid=sessions]');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=timeline] .entry');
    expect(page.url()).toContain(`/sessions/${SPOTTER_LONG}`);
    await shot('02-session');
  });

  it('jumps to the next error, and a shared URL opens at that entry', async () => {
    await go(`/sessions/${FAILING_BUILD}`, '[data-testid=timeline] .entry');
    await page.click('[data-testid=next-error]');
    await page.waitForSelector('.entry.selected[data-error=true]');
    const ref = await page.$eval('.entry.selected', (e) => (e as HTMLElement).dataset.ref);
    expect(page.url()).toContain(`at=${ref}`);
    const shared = page.url();
    await page.goto(shared);
    await page.waitForSelector(`.entry.selected[data-ref="${ref}"]`);
    // Open it: the failed command's whole output.
    await page.click('.entry.selected [data-testid=entry-toggle]');
    await page.waitForSelector('.entry.selected [data-testid=entry-detail] pre');
    await shot('03-error');
  });

  it('a 5,000-entry timeline keeps only what is on screen in the DOM', async () => {
    await go(`/sessions/${SPOTTER_LONG}`, '[data-testid=timeline] .entry');
    await page.waitForFunction(() => /^428 entries/.test(document.querySelector('[data-testid=timeline-count]')?.textContent ?? ''));
    const rendered = await page.$$eval('[data-testid=timeline] .entry', (e) => e.length);
    expect(rendered).toBeLessThan(120);
    // Scrolled to the end, the last entries are there.
    await page.$eval('[data-testid=timeline]', (e) => e.scrollTo(0, e.scrollHeight));
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=timeline] .vrow:last-child')?.getAttribute('data-index')) >= 400);
  });

  it('searches and opens a hit at its interaction', async () => {
    await go('/search', 'input[data-search]');
    await page.type('input[data-search]', 'CREDO');
    await page.keyboard.press('Enter');
    // What was typed is what is searched, however soon after the page opened it was typed.
    await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === 'CREDO');
    await page.waitForSelector('[data-testid=search-results] mark');
    await shot('04-search');
    const href = await page.$eval('[data-testid=search-results] a', (a) => a.getAttribute('href'));
    await page.click('[data-testid=search-results] a');
    await page.waitForSelector('.entry.selected');
    expect(page.url()).toContain(href!.split('?')[0]);
    // The hit's own entry is selected: by its ref, or (a tool result) by the tool call it answers.
    const at = new URL(page.url()).searchParams.get('at');
    const tool = new URL(page.url()).searchParams.get('tool');
    const selected = await page.$eval('.entry.selected', (e) => ({ ref: (e as HTMLElement).dataset.ref, tool: (e as HTMLElement).dataset.toolUseId }));
    expect(selected.ref === at || (tool !== null && selected.tool === tool), JSON.stringify({ at, tool, selected })).toBe(true);
  });

  it('draws the usage charts, and their tables hold the numbers of rbk usage --json', async () => {
    await go('/usage?days=all', '[data-testid=chart-daily-cost] svg rect');
    for (const id of ['chart-daily-cost', 'chart-daily-tokens', 'chart-projects', 'chart-heatmap', 'chart-windows']) {
      expect(await page.$$eval(`[data-testid=${id}] svg rect`, (r) => r.length), id).toBeGreaterThan(0);
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('05-usage');
    await page.click('[data-testid=chart-daily-tokens] [data-testid=table-toggle]');
    const rows = await page.$$eval('[data-testid=chart-daily-tokens] [data-testid=chart-table] tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')),
    );
    await page.click('[data-testid=chart-daily-cost] [data-testid=table-toggle]');
    const costRows = await page.$$eval('[data-testid=chart-daily-cost] [data-testid=chart-table] tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')),
    );
    const cli = JSON.parse((await runCli(t, ['usage', 'daily', '--json'], { env: { TZ: 'UTC' } })).stdout) as {
      daily: {
        period: string;
        inputTokens: number;
        outputTokens: number;
        cacheCreationTokens: number;
        cacheReadTokens: number;
        totalTokens: number;
        totalCost: number;
      }[];
    };
    expect(rows).toEqual(cli.daily.map((r) => [r.period, r.inputTokens, r.outputTokens, r.cacheCreationTokens, r.cacheReadTokens, r.totalTokens].map(String)));
    expect(costRows.map((r) => [r[0], Number(r[r.length - 1])])).toEqual(cli.daily.map((r) => [r.period, Math.round(r.totalCost * 1e6) / 1e6]));
  });

  it('shows a live event from a real rbk hook process', async () => {
    await go('/live', '[data-testid=live-state]');
    await page.waitForFunction(() => document.querySelector('[data-testid=live-state]')?.textContent === 'live');
    const started = Date.now();
    const hook = await runHook(
      t,
      JSON.stringify({
        session_id: 'feed0000-0000-4000-8000-000000000001',
        hook_event_name: 'UserPromptSubmit',
        prompt: 'seen live in chromium',
        cwd: t.root,
        transcript_path: path.join(t.root, 'none.jsonl'),
      }),
    );
    expect(hook.code).toBe(0);
    await page.waitForFunction(() => document.querySelector('[data-testid=live-events]')?.textContent?.includes('seen live in chromium'), { timeout: 5000 });
    expect(Date.now() - started).toBeLessThan(5000);
    await shot('06-live');
  });

  it('runs learn, shows the postmortem and the proposal as a diff, and Apply writes the runbook after confirmation', async () => {
    await go(`/sessions/${FAILING_BUILD}`, '[data-testid=timeline] .entry');
    await page.click('[data-testid=learn-toggle]');
    await page.click('[data-testid=learn-run]');
    await page.waitForSelector('[data-testid=proposal] [data-testid=patch] .add', { timeout: 60_000 });
    await page.waitForSelector('[data-testid=postmortem] .md');
    await shot('07-learn');
    const before = fs.readFileSync(path.join(runbooks, 'build.md'), 'utf8');
    await page.click('[data-testid=learn-apply]');
    await page.waitForSelector('[data-testid=learn-applied]', { timeout: 60_000 });
    expect(dialogs.some((m) => m.startsWith('Apply 1 runbook change'))).toBe(true);
    expect(await page.$eval('[data-testid=learn-applied]', (e) => e.textContent)).toContain('build.md (update)');
    const after = fs.readFileSync(path.join(runbooks, 'build.md'), 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after).toContain('<!-- rbk:sig_');
  }, 120_000);

  it('renders hostile transcript content as inert text in every view', async () => {
    const check = async (view: string) => {
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), view).toBeUndefined();
      expect(await page.$$eval('a[href^="javascript:"]', (a) => a.length), view).toBe(0);
      expect(await page.$$eval('iframe, img[src^="http"], script:not([src="/app.js"])', (e) => e.length), view).toBe(0);
    };
    await go(`/sessions/${HOSTILE}`, '[data-testid=timeline] .entry');
    const text = await page.$eval('[data-testid=timeline]', (e) => e.textContent ?? '');
    expect(text).toContain('<script>window.__pwned=1</script>');
    for (const toggle of await page.$$('[data-testid=entry-toggle]')) await toggle.click();
    await page.waitForSelector('[data-testid=diff]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=entry-detail]').length >= 4);
    await check('session');
    await shot('08-hostile');
    await go('/search?q=pwned', '[data-testid=search-results]');
    await check('search');
    await go('/live', '[data-testid=live-events] .ev');
    await check('live');
    await go('/', '.srow[data-session]');
    await check('sessions');
    await go('/learn', '[data-testid=incidents]');
    await check('learn');
    await shot('09-incidents');
    await go('/ops', '[data-testid=job-runs]');
    await shot('10-ops');
    // Nothing in any view fetched the beacon, and nothing opened a dialog but Apply's.
    expect(beaconHits).toEqual([]);
    expect(dialogs.filter((m) => !m.startsWith('Apply'))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
