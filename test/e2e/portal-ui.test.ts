// The web app in a real browser (Debian's Chromium, headless, driven by playwright-core) against a running
// `orion run` (startOrion, the same server) with real sshd workers and Ansible: a tenant logs in, rents a machine,
// sees it Ready, opens its terminal and types `whoami`; an admin sees the fleet; a worker is killed and the node
// turns Dead and the rental moves on screen without a reload; a job's log follows live to SUCCESS; another tenant
// can neither see nor open the first one's objects or consoles, even with crafted URLs and tickets; sessions end at
// logout and refuse writes without their CSRF token; every page passes an axe-core scan (no serious violations).
// Screenshots of each page are kept in test-artifacts/ui/.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource, RentalResource } from '../../src/api/types.js';
import { launchChromium, newContext, ensureWebApp, screenshot, seriousViolations, type TestBrowser } from '../harness/browser.js';
import { waitFor } from '../harness/cluster.js';
import { hypervisorManifest, machineClassManifest } from '../harness/manifest-files.js';
import { PortalBed } from '../harness/portal-bed.js';

const LIVE_MS = 60_000;

describe('the web app in Chromium (folder mode, real sshd and Ansible)', { timeout: 300_000 }, () => {
  let bed: PortalBed;
  let chrome: TestBrowser;
  let tokens: { admin: string; alice: string; bob: string };
  let aliceCtx: BrowserContext;
  let adminCtx: BrowserContext;
  let bobCtx: BrowserContext;
  let alicePage: Page;
  let adminPage: Page;
  let rentalName = '';
  const scanned: string[] = [];

  beforeAll(async () => {
    await ensureWebApp();
    // Labs and Desktops are offered to tenants through the admin's MachineClass: one image, no playbook, desktops.
    const classes = [
      hypervisorManifest('local', { type: 'libvirt' }),
      machineClassManifest('standard', 'local', { images: [{ name: 'debian', volume: 'debian.qcow2' }], desktop: { maxTtlSeconds: 28800 } }, true),
    ];
    bed = await PortalBed.create({ workers: 3, basePort: 25100, classes, orion: { portal: { recipes: ['base'], ratePerMinute: 100_000 } } });
    tokens = { admin: await bed.token('admin', true), alice: await bed.token('alice'), bob: await bed.token('bob') };
    await waitFor('3 Alive nodes', () => bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').length === 3, 60_000);
    chrome = await launchChromium();
    [aliceCtx, adminCtx, bobCtx] = await Promise.all([newContext(chrome.browser), newContext(chrome.browser), newContext(chrome.browser)]);
  }, 300_000);

  // A failed step leaves a picture of every open page, to see what the person would have seen.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    const pages = [aliceCtx, adminCtx, bobCtx].flatMap((c) => c?.pages() ?? []);
    await Promise.all(pages.map((p, i) => screenshot(p, `failed-${ctx.task.name.slice(0, 30).replace(/\W+/g, '-')}-${i}`).catch(() => undefined)));
  });

  afterAll(async () => {
    await chrome?.close();
    await bed?.destroy();
  });

  /** Scans the page with axe-core and keeps a screenshot: no serious or critical violation may be found. */
  async function check(page: Page, name: string): Promise<void> {
    await page.waitForLoadState('networkidle').catch(() => undefined);
    await screenshot(page, name);
    expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
    scanned.push(name);
  }

  async function logIn(ctx: BrowserContext, token: string, name: string): Promise<Page> {
    const page = await ctx.newPage();
    await page.goto(bed.url);
    await page.getByLabel(/token/i).fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(name, { exact: false }).first().waitFor();
    return page;
  }

  it('shows the login page, which passes the axe scan', async () => {
    const page = await aliceCtx.newPage();
    await page.goto(bed.url);
    await page.getByRole('heading', { name: 'Log in' }).waitFor(); // the app draws it once its script has run
    await check(page, '01-login');
    await page.getByLabel(/token/i).fill('orion_not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(/not valid/).waitFor();
    await page.close();
  });

  it('lets a tenant log in, rent a machine and see it Ready', async () => {
    alicePage = await logIn(aliceCtx, tokens.alice, 'alice');
    await alicePage.getByRole('heading', { name: 'My rentals' }).waitFor();
    await check(alicePage, '02-tenant-rentals-empty');
    await alicePage.getByRole('link', { name: 'Rent a machine' }).click();
    await alicePage.getByRole('heading', { name: 'Rent a machine' }).waitFor();
    await check(alicePage, '03-rent-form');
    await alicePage.getByLabel('For how long').selectOption({ label: '1 day' });
    await alicePage.getByRole('button', { name: 'Rent', exact: true }).click();
    await alicePage.waitForURL(/\/rentals\/default\/alice-/);
    rentalName = alicePage.url().split('/').pop() as string;
    await alicePage.locator('h1 .badge', { hasText: 'Ready' }).waitFor({ timeout: 120_000 });
    await alicePage.getByText(/left before the rental is released/).waitFor();
    await expect(alicePage.getByRole('button', { name: 'Copy SSH command' }).isVisible()).resolves.toBe(true);
    await check(alicePage, '04-rental-ready');
  });

  it('opens the terminal of the rental, where whoami answers the tenant\'s own name', async () => {
    await alicePage.getByRole('link', { name: 'Open terminal' }).click();
    await alicePage.getByText('Connected.').waitFor({ timeout: 30_000 });
    await alicePage.locator('.xterm-helper-textarea').focus();
    await alicePage.keyboard.type('whoami\n');
    await waitFor('whoami answered alice', async () => /^alice$/m.test(await terminalText(alicePage)), 20_000);
    // The terminal's size reached the shell (the resize control message): stty says the rows xterm has. The layout
    // may still settle after the first answer (xterm fits itself again and sends the new size), so the question is
    // asked again until the shell's latest answer is the terminal's latest size.
    let asked = 0;
    await waitFor('stty size answered the terminal\'s size', async () => {
      const rows = await alicePage.locator('.xterm-rows > div').count();
      const answers = [...(await terminalText(alicePage)).matchAll(/^(\d+) \d+$/gm)];
      if (answers.length > 0 && answers.at(-1)?.[1] === String(rows)) return true;
      if (Date.now() - asked > 3000) {
        asked = Date.now();
        await alicePage.keyboard.type('stty size\n');
      }
      return false;
    }, 30_000);
    await check(alicePage, '05-terminal');
    const rental = bed.list<RentalResource>('Rental').find((r) => r.metadata.name === rentalName);
    expect(rental?.status?.phase).toBe('Ready');
  });

  it('shows an admin the fleet with its capacity, and every page passes the axe scan', async () => {
    adminPage = await logIn(adminCtx, tokens.admin, 'admin');
    await adminPage.getByRole('heading', { name: 'Fleet' }).waitFor();
    await waitFor('3 nodes in the table', async () => (await adminPage.locator('table.fleet tbody tr').count()) === 3, 20_000);
    expect(await adminPage.locator('[data-stat=alive] .value').textContent()).toBe('3');
    expect(await adminPage.locator('[data-stat=rented] .value').textContent()).toBe('1');
    await adminPage.getByRole('img', { name: /Node health: Alive now \d/ }).waitFor(); // the chart, with its figures in words
    await check(adminPage, '06-admin-fleet');
    for (const [link, name] of [['Rentals', '07-admin-rentals'], ['Desktops', '08-admin-desktops'], ['Labs', '09-admin-labs'], ['Jobs', '10-admin-jobs'], ['Events', '11-admin-events']]) {
      await adminPage.getByRole('navigation').getByRole('link', { name: link as string }).click();
      await adminPage.getByRole('heading', { name: link as string, exact: true }).waitFor();
      await check(adminPage, name as string);
    }
    expect(await adminPage.locator(`tr:has-text("${rentalName}")`).count()).toBe(0); // Events page now
    await adminPage.getByRole('navigation').getByRole('link', { name: 'Rentals' }).click();
    await adminPage.locator('tbody tr', { hasText: rentalName }).getByText('alice', { exact: true }).waitFor(); // with its owner
    for (const [path, heading, name] of [['/desktops/new', 'New desktop', '12-desktop-form'], ['/labs/new', 'New lab', '13-lab-form']]) {
      await adminPage.goto(bed.url + path);
      await adminPage.getByRole('heading', { name: heading as string }).waitFor();
      await check(adminPage, name as string);
    }
  });

  it('moves the rental on screen, without a reload, when its worker is killed', async () => {
    const rental = bed.list<RentalResource>('Rental').find((r) => r.metadata.name === rentalName) as RentalResource;
    const oldNode = rental.status?.nodeName as string;
    await alicePage.goto(`${bed.url}/rentals/default/${rentalName}`);
    await alicePage.locator('h1 .badge', { hasText: 'Ready' }).waitFor();
    await adminPage.getByRole('navigation').getByRole('link', { name: 'Fleet' }).click();
    await adminPage.locator(`tr[data-node=${oldNode}] .health`, { hasText: 'Alive' }).waitFor();
    for (const page of [alicePage, adminPage]) await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
    const worker = bed.dataPlane.workers.find((w) => w.port === bed.list<NodeResource>('Node').find((n) => n.metadata.name === oldNode)?.spec.port);
    await worker?.kill();
    // Notified as it happens: the tenant that the rental moved, the admin that the node died.
    const notified = Promise.all([
      alicePage.locator('.notice', { hasText: 'moved to node' }).waitFor({ timeout: LIVE_MS * 3 }),
      adminPage.locator('.notice', { hasText: `Node ${oldNode}: node is Dead` }).waitFor({ timeout: LIVE_MS * 3 }),
    ]);
    await adminPage.locator(`tr[data-node=${oldNode}] .health`, { hasText: 'Dead' }).waitFor({ timeout: LIVE_MS });
    await alicePage.locator('dd.node', { hasNotText: oldNode }).filter({ hasText: /^n\d$/ }).waitFor({ timeout: LIVE_MS * 2 });
    await alicePage.locator('h1 .badge', { hasText: 'Ready' }).waitFor({ timeout: LIVE_MS * 2 });
    await notified;
    for (const page of [alicePage, adminPage]) expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    await screenshot(adminPage, '14-fleet-node-dead');
    await check(alicePage, '15-rental-moved');
    await worker?.start();
  });

  it('runs a job on chosen nodes and follows its log live to SUCCESS', async () => {
    await adminPage.goto(`${bed.url}/jobs/new`);
    await adminPage.getByRole('heading', { name: 'Run a job' }).waitFor();
    const alive = bed.list<NodeResource>('Node').filter((n) => n.status?.health === 'Alive').map((n) => n.metadata.name);
    await adminPage.getByLabel(alive[0] as string, { exact: true }).check();
    await check(adminPage, '16-job-form');
    await adminPage.getByRole('button', { name: 'Run' }).click();
    await adminPage.waitForURL(/\/jobs\/default\/base-/);
    await adminPage.getByText('Following live').or(adminPage.getByText('Finished: SUCCESS')).first().waitFor({ timeout: 30_000 });
    await adminPage.getByText('Finished: SUCCESS').waitFor({ timeout: 120_000 });
    expect(await adminPage.locator('.log-line', { hasText: 'PLAY RECAP' }).count()).toBeGreaterThan(0);
    await check(adminPage, '17-job-log');
  });

  it('puts the portal\'s refusal of a form beside the field it names, and creates nothing', async () => {
    await alicePage.goto(`${bed.url}/labs/new`);
    await alicePage.getByRole('heading', { name: 'New lab' }).waitFor();
    expect(await alicePage.getByLabel('Class').locator('option').allTextContents()).toEqual(['standard (default)']);
    expect(await alicePage.getByLabel('Image').locator('option').allTextContents()).toEqual(['debian']); // only what the admin allows
    await alicePage.getByLabel('Machine name').fill('Bad_Name');
    await alicePage.getByRole('button', { name: 'Create lab' }).click();
    await alicePage.locator('#lab-name-error', { hasText: /must match/ }).waitFor();
    expect(await alicePage.getByLabel('Machine name').getAttribute('aria-invalid')).toBe('true');
    expect(bed.list('Lab')).toHaveLength(0);
    await check(alicePage, '18a-lab-form-refused');
  });

  it('works by keyboard and on a phone-sized screen', async () => {
    const phone = await (await newContext(chrome.browser, { width: 375, height: 740 })).newPage();
    await phone.goto(bed.url);
    await phone.getByLabel(/token/i).fill(tokens.alice);
    await phone.keyboard.press('Enter');
    await phone.getByRole('heading', { name: 'My rentals' }).waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true); // no sideways scroll of the page
    await check(phone, '18b-phone-rentals');
    // Tab from the top: the skip link first, then on to "Rent a machine", opened with Enter.
    await phone.keyboard.press('Tab');
    expect(await phone.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the page');
    for (let i = 0; i < 15 && (await phone.evaluate(() => document.activeElement?.textContent)) !== 'Rent a machine'; i++) await phone.keyboard.press('Tab');
    await phone.keyboard.press('Enter');
    await phone.getByRole('heading', { name: 'Rent a machine' }).waitFor();
    await phone.close();
  });

  it('shows a rental\'s runs and their logs', async () => {
    await alicePage.goto(`${bed.url}/logs/rentals/default/${rentalName}`);
    await alicePage.getByText('Finished: SUCCESS').waitFor({ timeout: 30_000 });
    await check(alicePage, '18-rental-logs');
  });

  it('keeps another tenant out of the first one\'s objects and consoles, even with crafted URLs and tickets', async () => {
    const bobPage = await logIn(bobCtx, tokens.bob, 'bob');
    await bobPage.getByRole('heading', { name: 'My rentals' }).waitFor();
    expect(await bobPage.getByText(rentalName).count()).toBe(0);
    await bobPage.goto(`${bed.url}/rentals/default/${rentalName}`);
    await bobPage.getByRole('heading', { name: 'Not found' }).waitFor();
    await bobPage.goto(`${bed.url}/console/rentals/default/${rentalName}`);
    await bobPage.getByText(/Disconnected: .*not found/i).waitFor();
    await bobPage.goto(`${bed.url}/logs/rentals/default/${rentalName}`);
    await bobPage.getByRole('heading', { name: 'Not found' }).waitFor();
    // A ticket alice got, used from bob's session: refused before any SSH.
    const aliceTicket = await alicePage.evaluate(async (name) => {
      const session = await (await fetch('/auth/session')).json() as { csrf: string };
      const r = await fetch(`/api/v1/namespaces/default/rentals/${name}/console`, { method: 'POST', headers: { 'x-orion-csrf': session.csrf } });
      return ((await r.json()) as { ticket: string }).ticket;
    }, rentalName);
    const outcome = await bobPage.evaluate((ticket) => new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://${location.host}/console/ssh`, ['orion.console.v1', `ticket.${ticket}`]);
      ws.onopen = () => resolve('opened');
      ws.onerror = () => resolve('refused');
    }), aliceTicket);
    expect(outcome).toBe('refused');
    const apiAnswers = await bobPage.evaluate(async (name) => {
      const session = await (await fetch('/auth/session')).json() as { csrf: string };
      const headers = { 'x-orion-csrf': session.csrf };
      return Promise.all([
        fetch(`/api/v1/namespaces/default/rentals/${name}`).then((r) => r.status),
        fetch(`/api/v1/namespaces/default/rentals/${name}/console`, { method: 'POST', headers }).then((r) => r.status),
        fetch(`/api/v1/namespaces/default/rentals/${name}`, { method: 'DELETE', headers }).then((r) => r.status),
        fetch(`/api/v1/namespaces/default/rentals/${name}/runs`).then((r) => r.status),
      ]);
    }, rentalName);
    expect(apiAnswers).toEqual([404, 404, 404, 404]);
    await check(bobPage, '19-other-tenant');
    // A rental of bob's that ends in 4 minutes: the time left is shown with a visible warning.
    await writeFile(join(bed.manifests, 'bob.yaml'), stringify({
      apiVersion: 'orion.lab/v1alpha1', kind: 'Rental', metadata: { name: 'bob-short', annotations: { 'orion.lab/owner': 'bob' }, labels: { 'orion.lab/owner': 'bob' } },
      spec: { user: 'bob', sshPublicKeys: [bed.tenantKey.publicKey], ttlSeconds: 240 },
    }));
    await bobPage.goto(`${bed.url}/rentals`);
    await bobPage.locator('tr', { hasText: 'bob-short' }).locator('.warning', { hasText: /Warning: \d min left before release/ }).waitFor({ timeout: 30_000 });
    await check(bobPage, '19a-rental-expiring');
  });

  it('refuses a session\'s writes without its CSRF token, and ends the session at logout', async () => {
    const page = await logIn(await newContext(chrome.browser), tokens.bob, 'bob');
    const withoutCsrf = await page.evaluate(() => fetch('/api/rent', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status));
    expect(withoutCsrf).toBe(403);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'orion_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('orion_session');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await page.evaluate(() => fetch('/api/v1/rentals').then((r) => r.status))).toBe(401);
  });

  it('scanned every page', () => {
    expect(scanned.length).toBeGreaterThanOrEqual(17);
  });
});

/** The text on the terminal's screen, row by row. */
async function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => [...document.querySelectorAll('.xterm-rows > div')].map((row) => row.textContent ?? '').join('\n'));
}
