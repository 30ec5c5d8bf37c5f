// Desktops for real: Orion (`orion run` in folder mode, every controller as it registers them, running inside the
// test bed's network namespace) makes a Desktop out of the desktop guest image on a private libvirtd (QEMU/TCG):
// OpenTofu creates the machine, cloud-init gives it the Desktop's key, ansible/desktop.yml configures it (XFCE,
// xrdp; with adJoin the `ad-join` role joins a real Samba AD domain and pam_mount mounts the user's share), and
// Orion publishes the RDP endpoint. A real RDP client (FreeRDP under Xvfb, in the namespace) logs in and an XFCE
// session starts; while it is connected the Desktop is in use; its owner opens the same session in Chromium (the web
// app's "Open desktop in browser": noVNC over Orion's console bridge, an SSH tunnel to x11vnc on the machine's
// loopback) and sees XFCE, while another tenant is refused a ticket; once the clients disconnect the idle timeout
// warns, then destroys the VM and its volume; a shortened TTL does the same to the AD desktop. Orion's log, its
// status, events and every run log never contain the passwords.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCondition } from '../../src/api/conditions.js';
import type { DesktopResource } from '../../src/api/types.js';
import type { RecordedEvent } from '../../src/store/store.js';
import { ensureWebApp, launchChromium, newContext, screenshot, type TestBrowser } from '../harness/browser.js';
import { waitFor } from '../harness/cluster.js';
import { secretManifest, type DesktopCase } from '../harness/desktop-manifest.js';
import { DesktopGuestBed } from '../harness/desktop-guest-bed.js';
import type { RdpClient, Screenshot } from '../harness/rdp-client.js';
import { REPO_ROOT } from '../harness/tofu.js';

const MINUTES = 60_000;
const BOOT_WAIT_MS = 25 * MINUTES;
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
// The controller's durations are scaled: 60 s of spec are 15 s here (the schema's minimums stay).
const TIME_SCALE = 0.25;

const RDP_PASSWORD = 'Rdp-alice-4417-never-logged';
const JOIN_PASSWORD = 'Join-orion-9031-never-logged';
const TOM_PASSWORD = 'Tom-orion-2268-AD-password';
const DOMAIN = 'orion.test';
const SHARE_FILE = 'hello-from-the-share.txt';
const SHARE_TEXT = 'a file on the orion.test share\n';

describe('Desktop end to end: a real desktop on libvirt, an RDP login, a real AD', () => {
  let bed: DesktopGuestBed;
  let rdp: RdpClient | undefined;
  let chrome: TestBrowser | undefined;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    bed = await DesktopGuestBed.create({
      ad: {
        domain: DOMAIN,
        workgroup: 'ORION',
        // The account Orion joins desktops with (its password only in a Secret), and a domain user.
        users: [{ name: 'orion-join', password: JOIN_PASSWORD, groups: ['Domain Admins'] }, { name: 'tom', password: TOM_PASSWORD }],
        share: { name: 'shared', files: { [SHARE_FILE]: SHARE_TEXT } },
      },
      controller: { timeScale: TIME_SCALE, idleCheckMs: 4000 },
    });
    await bed.write('secrets.yaml', [
      secretManifest('alice-rdp', { password: RDP_PASSWORD }),
      secretManifest('ad-join', { username: 'orion-join', password: JOIN_PASSWORD }),
    ]);
  });

  afterAll(async () => {
    await chrome?.close();
    await rdp?.disconnect().catch(() => undefined);
    await bed?.destroy();
  });

  // Orion retries a failed step (backoff): a Desktop that failed once may still become Ready (an SSH timeout on a
  // loaded machine). The same Desktop failing again and again is a failure of the test.
  const failedRuns = new Map<string, Set<string>>();
  const ready = (name: string) => async (): Promise<DesktopResource | false> => {
    const desktop = await bed.desktop(name);
    const status = desktop?.status;
    if (status?.phase === 'Expired') throw new Error(`desktop ${name} expired: ${JSON.stringify(status.conditions)}`);
    if (status?.phase === 'Failed') {
      const runs = failedRuns.get(name) ?? new Set<string>();
      runs.add(`${status.lastTerraformRun?.startedAt}/${status.lastAnsibleRun?.startedAt}`);
      failedRuns.set(name, runs);
      if (runs.size >= 4) throw new Error(`desktop ${name} failed ${runs.size} times: ${getCondition(status.conditions, 'Ready')?.message}`);
    }
    return getCondition(status?.conditions, 'Ready')?.status === 'True' && (desktop as DesktopResource);
  };

  /** Creates the Desktop, waits until it is Ready, and reports how long each step took. */
  async function createDesktop(name: string, c: DesktopCase): Promise<DesktopResource> {
    const started = Date.now();
    await bed.write(`${name}.yaml`, [bed.desktopManifest(name, c)]);
    const desktop = await waitFor(`Desktop ${name} Ready`, ready(name), BOOT_WAIT_MS).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await bed.diagnose(name)}`);
    });
    const s = desktop.status;
    console.log(`desktop ${name} Ready in ${((Date.now() - started) / 1000).toFixed(1)} s (terraform ${s?.lastTerraformRun?.durationMs} ms, ansible ${s?.lastAnsibleRun?.durationMs} ms)`);
    return desktop;
  }

  /** Logs in over RDP as the Desktop's status says, until XFCE is on the client's screen (kept as a test artifact). */
  async function rdpLogin(desktop: DesktopResource, user: string, password: string, artifact: string): Promise<Screenshot> {
    const { rdp: endpoint, machine } = desktop.status ?? {};
    const login = await bed.rdpLogin({ address: endpoint?.host ?? '', rdpPort: endpoint?.port, hostKey: machine?.hostKey ?? '' }, user, password, join(ARTIFACTS, artifact));
    rdp = login.client;
    console.log(`RDP login as ${user}: XFCE on screen after ${(login.ms / 1000).toFixed(1)} s (${login.shot.colours} colours; ${login.shot.file})`);
    return login.shot;
  }

  /** The Desktop's events once its Expired event is there (it is recorded just after the Expired status is written). */
  async function expiredEvents(name: string): Promise<RecordedEvent[]> {
    return waitFor(`the Expired event of ${name}`, async () => {
      const events = await bed.events(name);
      return events.some((e) => e.reason === 'Expired') && events;
    }, MINUTES);
  }

  async function machineGone(name: string): Promise<void> {
    expect((await bed.domains()).filter((d) => d.startsWith(`default.${name}.`))).toEqual([]);
    expect((await bed.volumes()).filter((v) => v.startsWith(`default.${name}.`))).toEqual([]);
  }

  it('becomes Ready with its RDP endpoint; FreeRDP logs in with its password and an XFCE session starts', { timeout: BOOT_WAIT_MS + 15 * MINUTES }, async () => {
    const desktop = await createDesktop('desk', { user: 'alice', owner: 'alice', passwordSecret: 'alice-rdp', ttlSeconds: 7200, idleTimeoutSeconds: 60, warningSeconds: 40 });
    expect(desktop.status?.rdp).toMatchObject({ host: expect.stringMatching(/^10\.77\.0\.\d+$/), port: 3389, user: 'alice' });
    expect(desktop.status?.machine?.hostKey).toMatch(/^ssh-ed25519 /);
    expect((await bed.domains()).filter((d) => d.startsWith('default.desk.'))).toEqual(['default.desk.desktop-0']);
    // The playbook found every package in the image: nothing was installed (the guest has no mirror).
    expect((await bed.ssh(desktop, 'hostname; systemctl is-active xrdp')).stdout.split('\n')).toEqual(['desk', 'active', '']);

    const shot = await rdpLogin(desktop, 'alice', RDP_PASSWORD, 'desktop-xfce.png');
    expect(shot.width).toBe(1024);
  });

  it('is in use while the RDP client is connected', { timeout: 5 * MINUTES }, async () => {
    const desktop = await waitFor('the session check to see the RDP connection', async () => {
      const d = await bed.desktop('desk');
      const inUse = getCondition(d?.status?.conditions, 'InUse');
      return inUse?.status === 'True' && inUse.message?.includes('RDP from') && d;
    }, 3 * MINUTES);
    expect(desktop.status?.sessions).toBeGreaterThanOrEqual(1);
    expect(desktop.status?.idleSince).toBeUndefined();
    expect(desktop.status?.phase).toBe('Ready');
  });

  it('its owner opens it in Chromium: noVNC shows the XFCE session; another tenant gets no ticket', { timeout: 10 * MINUTES }, async () => {
    await ensureWebApp();
    const url = await bed.portalUrl();
    // Orion listens in the bed's namespace: the browser runs in there too. It is closed whatever happens here: an
    // open screen is a session, which would keep the desktop from going idle in the next test.
    chrome = await launchChromium({ netns: bed.virt.netns });
    try {
      await openedInTheBrowser(chrome, url);
    } finally {
      await chrome.close();
      chrome = undefined;
    }
  });

  /** alice sees her desktop's XFCE session on the noVNC canvas; bob gets no ticket for it. */
  async function openedInTheBrowser(chrome: TestBrowser, url: string): Promise<void> {
    const alice = await logIn(chrome, url, await bed.token('alice'));
    await alice.goto(`${url}/desktops/default/desk`);
    await alice.getByRole('link', { name: 'Open desktop in browser' }).click();
    await alice.getByText('Connected.').waitFor({ timeout: 2 * MINUTES });
    const canvas = await waitFor('the XFCE session on the noVNC canvas', async () => {
      const c = await canvasColours(alice);
      return c.width > 0 && c.colours >= 16 && c.dominantShare < 0.95 && c;
    }, 2 * MINUTES);
    const file = await screenshot(alice, '30-desktop-in-browser');
    console.log(`desktop in the browser: ${canvas.width}x${canvas.height}, ${canvas.colours} colours, the commonest ${(canvas.dominantShare * 100).toFixed(1)} % (${file})`);
    // The RDP client's screen (1024 wide), shared: the same X server, not a second desktop.
    expect(canvas.width).toBe(1024);
    const opened = await waitFor('the ConsoleOpened event', async () => (await bed.events('desk')).find((e) => e.reason === 'ConsoleOpened'), MINUTES);
    expect(opened.message).toBe('screen opened by alice through the portal');
    // x11vnc listens on the machine's loopback only.
    const listening = await bed.ssh((await bed.desktop('desk')) as DesktopResource, "ss -Hltn '( sport = :5900 )'");
    const addresses = listening.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[3]);
    expect(addresses.length).toBeGreaterThan(0);
    for (const a of addresses) expect(a).toMatch(/^(127\.0\.0\.1|\[::1\]):5900$/);

    const bobToken = await bed.token('bob');
    const bob = await logIn(chrome, url, bobToken);
    const asked = await bob.evaluate(async (token) => {
      const post = (path: string) => fetch(path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"type":"vnc"}' });
      const own = await post('/api/v1/namespaces/default/desktops/desk/console');
      const crafted = await post('/api/v1/namespaces/default/desktops/desk/machines/desktop-0/console');
      return [own.status, crafted.status, (await own.text()).includes('ticket')];
    }, bobToken);
    expect(asked).toEqual([404, 404, false]);
    await bob.goto(`${url}/console/desktops/default/desk`);
    await bob.getByText(/Disconnected: Desktop "desk" not found/).waitFor({ timeout: MINUTES });
  }

  it('after the client disconnects, warns of the idle timeout, then destroys the VM and its volume', { timeout: 10 * MINUTES }, async () => {
    await rdp?.disconnect();
    rdp = undefined;
    let last: DesktopResource | undefined;
    const expired = await waitFor('Desktop desk Expired', async () => {
      last = await bed.desktop('desk');
      return last?.status?.phase === 'Expired' && last;
    }, 8 * MINUTES).catch(async (err: Error) => {
      throw new Error(`${err.message}; ${await stillInUse(last)}\n${await bed.diagnose('desk')}`);
    });
    expect(getCondition(expired.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'IdleTimeout' });
    const events = await expiredEvents('desk');
    const warned = events.find((e) => e.reason === 'IdleSoon');
    const gone = events.find((e) => e.reason === 'Expired');
    expect(warned?.type).toBe('Warning');
    expect(Date.parse(warned?.firstTimestamp ?? '')).toBeLessThan(Date.parse(gone?.firstTimestamp ?? ''));
    expect(events.some((e) => e.reason === 'ExpiringSoon')).toBe(false);
    await machineGone('desk');
  });

  /** Why a desktop that should be idle is not: its InUse condition and idle clock, and what the machine lists. */
  async function stillInUse(desktop: DesktopResource | undefined): Promise<string> {
    if (!desktop) return 'the Desktop is gone';
    const { phase, idleSince, sessions } = desktop.status ?? {};
    const seen = `phase ${phase}, InUse ${JSON.stringify(getCondition(desktop.status?.conditions, 'InUse'))}, idleSince ${idleSince}, sessions ${sessions}`;
    const listed = await bed.ssh(desktop, "who; ss -Htn state established '( sport = :3389 or sport = :5900 )'").then((r) => r.stdout, (e: Error) => e.message);
    return `${seen}; on the machine: ${listed.trim().replace(/\n/g, ' | ')}`;
  }

  it('joins the AD domain; an AD user logs in over RDP and finds the share mounted by pam_mount', { timeout: BOOT_WAIT_MS + 15 * MINUTES }, async () => {
    const desktop = await createDesktop('addesk', {
      user: 'tom',
      adJoin: true,
      pamMount: true,
      ttlSeconds: 7200, idleTimeoutSeconds: 3600, warningSeconds: 40,
    });
    const realm = await bed.ssh(desktop, 'realm list --name-only; getent passwd tom');
    expect(realm.stdout).toContain(DOMAIN);
    expect(realm.stdout).toMatch(/^tom:\*:\d+:\d+:.*:\/home\/tom:/m);

    await rdpLogin(desktop, 'tom', TOM_PASSWORD, 'desktop-ad-xfce.png');
    const mounted = await waitFor('the share mounted in tom\'s home', async () => {
      const r = await bed.ssh(desktop, `findmnt -n -t cifs -o SOURCE,TARGET; cat /home/tom/share/${SHARE_FILE}`);
      return r.code === 0 && r.stdout;
    }, 2 * MINUTES);
    expect(mounted).toContain(`//${bed.ad?.dcHost}/shared /home/tom/share`);
    expect(mounted).toContain(SHARE_TEXT);
  });

  it('expires at its TTL: a warning first, then the VM and its volume are destroyed', { timeout: 10 * MINUTES }, async () => {
    await rdp?.disconnect();
    rdp = undefined;
    const desktop = await bed.desktop('addesk');
    // A shorter TTL: it now ends about 25 s from here, its warning (40 s of spec, 10 s here) coming 10 s before.
    const age = (Date.now() - Date.parse(desktop?.metadata.creationTimestamp ?? '')) / 1000;
    const ttlSeconds = Math.ceil((age + 25) / TIME_SCALE);
    await bed.write('addesk.yaml', [bed.desktopManifest('addesk', {
      user: 'tom',
      adJoin: true,
      pamMount: true,
      ttlSeconds, idleTimeoutSeconds: 3600, warningSeconds: 40,
    })]);
    const expired = await waitFor('Desktop addesk Expired', async () => {
      const d = await bed.desktop('addesk');
      return d?.status?.phase === 'Expired' && d;
    }, 8 * MINUTES);
    expect(getCondition(expired.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'TTLExpired' });
    const events = await expiredEvents('addesk');
    const warned = events.find((e) => e.reason === 'ExpiringSoon');
    const gone = events.find((e) => e.reason === 'Expired');
    expect(warned?.type).toBe('Warning');
    expect(Date.parse(warned?.firstTimestamp ?? '')).toBeLessThan(Date.parse(gone?.firstTimestamp ?? ''));
    await machineGone('addesk');
  });

  it('never wrote the join password, the RDP password or the Desktop\'s key to its log, status, events or any run log', async () => {
    const output = await bed.orionOutput();
    expect(output).toContain('desktop expired and destroyed');
    const files = await bed.stateFiles();
    const keyBody = bed.key.privateKey.trim().split('\n')[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(40);
    expect(files.some((f) => f.file.includes('/runs/'))).toBe(true);
    for (const { file, text } of [...files, { file: bed.orionLog, text: output }]) {
      expect(text.includes(JOIN_PASSWORD), `${file} holds the AD join password`).toBe(false);
      expect(text.includes(RDP_PASSWORD), `${file} holds the RDP password`).toBe(false);
      // The key Orion logs in with (Ansible, the session check, the desktop's screen in the browser).
      expect(text.includes(keyBody), `${file} holds the Desktop's private key`).toBe(false);
    }
  });
});

/** A page of this browser (its own cookie jar) logged in to the portal with a bearer token. */
async function logIn(chrome: TestBrowser, url: string, token: string): Promise<Page> {
  const page = await (await newContext(chrome.browser)).newPage();
  await page.goto(url);
  await page.getByLabel(/token/i).fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /rentals/i }).waitFor();
  return page;
}

/** What the noVNC canvas shows: its size, how many colours, and the share of the commonest one (1: a blank screen). */
function canvasColours(page: Page): Promise<{ width: number; height: number; colours: number; dominantShare: number }> {
  return page.evaluate(() => {
    const canvas = document.querySelector('.console canvas') as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0) return { width: 0, height: 0, colours: 0, dominantShare: 1 };
    const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
    const counts = new Map<number, number>();
    for (let i = 0; i < data.length; i += 4) {
      const rgb = ((data[i] as number) << 16) | ((data[i + 1] as number) << 8) | (data[i + 2] as number);
      counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
    }
    return { width: canvas.width, height: canvas.height, colours: counts.size, dominantShare: Math.max(...counts.values()) / (data.length / 4) };
  });
}
