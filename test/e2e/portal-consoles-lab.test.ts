// The consoles of a Lab machine in a real browser: the tiny Debian guest boots on a private libvirtd (in its own
// network namespace, as in the Lab tests), and through `orion run`'s portal an admin opens its graphical console
// (noVNC over Orion's websocket bridge to the domain's VNC) and sees a screen that is not blank, then its terminal
// (xterm.js over ssh2 as the Lab's Ansible user, host key pinned), where whoami answers root. Both pages pass the
// axe-core scan; screenshots go to test-artifacts/ui/.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCondition } from '../../src/api/conditions.js';
import type { LabResource } from '../../src/api/types.js';
import { startOrion, type RunningOrion } from '../../src/cli/run.js';
import { findOnPath } from '../../src/exec/terraform/binary.js';
import { TokenStore, tokensFile } from '../../src/server/auth/tokens.js';
import { ensureWebApp, launchChromium, newContext, screenshot, seriousViolations, type TestBrowser } from '../harness/browser.js';
import { waitFor } from '../harness/cluster.js';
import { ensureGuestImage, type GuestImage } from '../harness/guest.js';
import { startLibvirt, type LibvirtEnv } from '../harness/libvirt.js';
import { hypervisorManifest, machineClassManifest, writeManifestFile } from '../harness/manifest-files.js';
import { netnsConnector } from '../harness/netns-connector.js';
import { ensureTofu } from '../harness/tofu.js';

const BOOT_WAIT_MS = 15 * 60_000;

describe('a Lab machine\'s screen and terminal in Chromium', { timeout: BOOT_WAIT_MS }, () => {
  let root: string;
  let guest: GuestImage;
  let virt: LibvirtEnv;
  let orion: RunningOrion;
  let chrome: TestBrowser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    await ensureWebApp();
    root = await mkdtemp(join(tmpdir(), 'orion-ui-lab-'));
    let tools;
    [guest, tools, virt] = await Promise.all([ensureGuestImage(), ensureTofu('all'), startLibvirt()]);
    const manifests = join(root, 'manifests');
    await mkdir(manifests, { recursive: true });
    const wrap = async (name: string): Promise<string> => {
      const path = join(root, name);
      const tool = (await findOnPath(name, `${process.env.PATH ?? ''}:/usr/sbin:/sbin`)) ?? name;
      await writeFile(path, `#!/bin/sh\nexec ip netns exec ${virt.netns} ${tool} "$@"\n`, { mode: 0o755 });
      return path;
    };
    await writeManifestFile(manifests, 'secret.yaml', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lab-key' }, stringData: { privateKey: guest.privateKey } }]);
    // The admin's Hypervisor (the bed's libvirt) and MachineClass (the guest image, direct boot); the Lab names the image.
    await writeManifestFile(manifests, 'classes.yaml', [
      hypervisorManifest('local', { type: 'libvirt', libvirt: { uri: virt.uri, pool: virt.pool, network: virt.network, domainType: 'qemu' } }),
      machineClassManifest('guests', 'local', {
        images: [{ name: 'debian', path: guest.image, kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline }],
        playbooks: ['lab-base'],
      }, true),
    ]);
    const machine = { name: 'vm', count: 1, cpu: 1, memoryMiB: 512, diskGiB: 3, image: 'debian' };
    await writeManifestFile(manifests, 'lab.yaml', [{
      apiVersion: 'orion.lab/v1alpha1',
      kind: 'Lab',
      metadata: { name: 'booted' },
      spec: {
        machines: [machine],
        sshKeySecretRef: { name: 'lab-key' },
        ansible: { playbook: 'lab-base', user: 'root' },
        driftDetection: { intervalSeconds: 0 },
      },
    }]);
    orion = await startOrion({
      dir: manifests,
      state: join(root, 'state'),
      listen: '127.0.0.1:0',
      terraform: tools.tofu,
      terraformEnv: tools.env,
      ansiblePlaybook: await wrap('ansible-playbook'),
      imageDirs: [virt.poolDir, guest.dir],
      lab: { sshKeyscan: await wrap('ssh-keyscan'), pollMs: 1000 },
      portal: { consoleConnector: netnsConnector(virt.netns) },
    });
    url = `http://127.0.0.1:${(orion.server.address() as AddressInfo).port}`;
    const admin = (await new TokenStore(tokensFile(join(root, 'state'))).create('admin', { admin: true })).token;
    chrome = await launchChromium();
    page = await (await newContext(chrome.browser)).newPage();
    await page.goto(url);
    await page.getByLabel(/token/i).fill(admin);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  }, BOOT_WAIT_MS);

  afterAll(async () => {
    await chrome?.close();
    if (orion) {
      await rm(join(root, 'manifests', 'lab.yaml'), { force: true });
      await waitFor('the Lab destroyed', () => !orion.store.get({ kind: 'Lab', namespace: 'default', name: 'booted' }), 5 * 60_000).catch(() => undefined);
      await orion.stop();
    }
    await virt?.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }, 10 * 60_000);

  const ready = (): LabResource | false | undefined => {
    const lab = orion.store.get<LabResource>({ kind: 'Lab', namespace: 'default', name: 'booted' });
    return getCondition(lab?.status?.conditions, 'Ready')?.status === 'True' && lab?.status?.machines?.[0]?.vncPort !== undefined && lab;
  };

  it('draws the machine\'s screen through the VNC bridge', async () => {
    await waitFor('Lab booted Ready with a VNC display', ready, BOOT_WAIT_MS);
    await page.goto(`${url}/labs/default/booted`);
    await page.getByRole('link', { name: 'Screen' }).click();
    await page.getByText('Connected.').waitFor({ timeout: 60_000 });
    const lit = await waitFor('a screen that is not blank', async () => {
      const count = await litPixels(page);
      return count > 200 && count;
    }, 60_000);
    console.log(`VNC canvas: ${lit} lit pixels`);
    await screenshot(page, '20-lab-vnc');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('opens the machine\'s terminal as the Lab\'s Ansible user', async () => {
    await page.goto(`${url}/console/labs/default/booted/vm-0/ssh`);
    await page.getByText('Connected.').waitFor({ timeout: 60_000 });
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('whoami\n');
    await waitFor('whoami answered root', async () => /^root$/m.test(await page.evaluate(() => [...document.querySelectorAll('.xterm-rows > div')].map((r) => r.textContent ?? '').join('\n'))), 30_000);
    await screenshot(page, '21-lab-terminal');
    expect(await seriousViolations(page)).toEqual([]);
  });
});

/** Pixels of the noVNC canvas (the machine's framebuffer) bright enough to be drawn text or graphics: 0 when blank. */
function litPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector('.console canvas') as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0) return 0;
    const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (0.3 * (data[i] as number) + 0.59 * (data[i + 1] as number) + 0.11 * (data[i + 2] as number) > 64) lit++;
    }
    return lit;
  });
}
