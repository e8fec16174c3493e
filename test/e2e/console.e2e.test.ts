// The web console with the real Claude Code CLI (offline, against the model stand-in): a session
// run through `rbk hook` shows up live in an open console page in headless Chromium while Claude
// Code works, and then in full on its own page, entry for entry what `rbk sessions show` gives.
/// <reference lib="dom" />
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_BUNDLE, assertBuilt, makeDataDir, runCli, startDaemon, type DaemonProcess, type TempRbk } from '../support/rbk.js';
import { consoleUrl } from '../console/support.js';
import { findClaudeBinary, runClaude } from './support/claude.js';
import { shellQuote } from './support/hook-recorder.js';

const CHROMIUM = '/usr/bin/chromium';

let t: TempRbk;
let d: DaemonProcess;
let browser: Browser;

beforeAll(async () => {
  assertBuilt();
  await findClaudeBinary();
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing; npm test installs it (scripts/test-prerequisites.mjs), or: apt-get install -y chromium`);
  t = makeDataDir({ config: 'metrics: { enabled: false }\nui: { listen: "127.0.0.1:0" }\n' });
  d = await startDaemon(t, { env: { HOME: path.join(t.root, 'home') } });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await d?.stop();
  t?.cleanup();
});

describe('console with the real Claude Code CLI', () => {
  it('a session run through rbk hook appears live in the open console, then in full', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    const { loginUrl, url } = await consoleUrl(t);
    await page.goto(loginUrl);
    await page.waitForSelector('[data-testid=sessions]');
    await page.goto(`${url}live`);
    await page.waitForFunction(() => document.querySelector('[data-testid=live-state]')?.textContent === 'live');

    const run = runClaude({
      scenario: 'failing-build',
      home: path.join(t.root, 'home'),
      project: path.join(t.root, 'project'),
      hookCommand: `${shellQuote(process.execPath)} ${shellQuote(HOOK_BUNDLE)}`,
      extraEnv: { RBK_DATA_DIR: t.dataDir, RBK_SOCKET: t.socket, RBK_CONFIG: t.config },
    });
    // While Claude Code runs: its prompt, then its tool calls, arrive on the page.
    await page.waitForFunction(() => document.querySelector('[data-testid=live-events]')?.textContent?.includes('The build is failing'), { timeout: 60_000 });
    await page.waitForSelector('[data-testid=live-events] .ev[data-kind=PreToolUse]', { timeout: 60_000 });
    const result = await run;
    expect(result.exitCode, result.stderr).toBe(0);
    const id = result.sessionId as string;
    await page.screenshot({ path: path.join(t.root, 'live.png') });

    // Then the whole session, once its transcript is in: the console shows what sessions show does.
    let expected = 0;
    for (let i = 0; i < 50; i++) {
      const show = JSON.parse((await runCli(t, ['sessions', 'show', id, '--json'])).stdout) as { timeline: { kind: string }[] };
      expected = show.timeline.length;
      if (show.timeline.some((e) => e.kind === 'assistant') && show.timeline.filter((e) => e.kind === 'tool').length >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.goto(`${url}sessions/${id}`);
    await page.waitForSelector('[data-testid=timeline] .entry');
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid=timeline-count]')?.textContent?.startsWith(`${n} entries`),
      { timeout: 10_000 },
      expected,
    );
    const kinds = await page.$$eval('[data-testid=timeline] .entry', (e) => e.map((x) => (x as HTMLElement).dataset.kind));
    expect(kinds).toContain('prompt');
    expect(kinds).toContain('tool');
    expect(await page.$$eval('[data-testid=timeline] .entry[data-error=true]', (e) => e.length)).toBeGreaterThan(0);
    expect(await page.$eval('[data-testid=session-cost]', (e) => e.textContent)).toMatch(/^\$\d/);
  }, 180_000);
});
