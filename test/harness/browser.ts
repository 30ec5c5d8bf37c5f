// A real browser for the web app's tests: Debian's Chromium, headless, driven by playwright-core. It reaches only
// loopback (no QUIC, no background networking, no component updates, no sync, a fresh profile per launch). Also
// the axe-core scan (serious and critical violations) and screenshots kept in test-artifacts/ui/ (git-ignored).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { packageRoot } from '../../src/base/package-root.js';

const run = promisify(execFile);
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'ui');

/** Installs Debian's chromium with the test profile of bin/install-system-deps.sh when it is missing. */
export async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  await run('bash', [join(packageRoot(), 'bin', 'install-system-deps.sh'), 'test'], { maxBuffer: 64 << 20 });
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is still missing after bin/install-system-deps.sh test`);
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * Run Chromium inside this network namespace (`ip netns exec`), where it reaches what listens there (an Orion that
   * runs in a test bed's namespace). Playwright still drives it through its pipe.
   */
  netns?: string;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<TestBrowser> {
  await ensureChromium();
  let executablePath = CHROMIUM;
  let wrapperDir: string | undefined;
  if (options.netns) {
    wrapperDir = await mkdtemp(join(tmpdir(), 'orion-chromium-'));
    executablePath = join(wrapperDir, 'chromium');
    await writeFile(executablePath, `#!/bin/sh\nexec ip netns exec ${options.netns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  }
  // A fresh profile each launch: Playwright gives Chromium a new temporary --user-data-dir itself (and refuses the
  // flag from us); its contexts are then separate cookie jars, one per person.
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      if (wrapperDir) await rm(wrapperDir, { recursive: true, force: true });
    },
  };
}

/** A context whose pages may have axe-core injected (bypassCSP: the app's CSP refuses inline scripts, as it should). */
export function newContext(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<BrowserContext> {
  return browser.newContext({ bypassCSP: true, viewport, permissions: ['clipboard-read', 'clipboard-write'] });
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = require.resolve('axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** The axe-core scan of the page as it is: violations of impact serious or critical. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_SOURCE });
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Builds the web app (vite build) when dist/ui is missing or older than its sources. */
export async function ensureWebApp(): Promise<void> {
  const root = packageRoot();
  const index = join(root, 'dist', 'ui', 'index.html');
  const { stdout } = await run('find', [join(root, 'src', 'ui'), '-newer', index, '-type', 'f'], { maxBuffer: 1 << 20 }).catch(() => ({ stdout: 'missing' }));
  if (existsSync(index) && !stdout.trim()) return;
  await run('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: root, maxBuffer: 64 << 20 });
}
