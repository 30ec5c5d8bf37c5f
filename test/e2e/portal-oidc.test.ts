// OpenID Connect login in a real browser, Kubernetes mode: a real Dex (built from its Go module) signs a person in
// through the authorization code flow with PKCE; Orion (on a real kube-apiserver) turns the ID token's email and
// groups into the session's identity, and every action is a SubjectAccessReview for them. The person is bound to
// nothing by name — only their group "authors" has a Role — so what they may do proves the groups were used: they
// see their tenant pages, rent a machine (a real sshd node, a real create_user), and its terminal answers whoami with
// their login. Without the group's binding, the same session is refused. The pages pass the axe-core scan.
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource } from '../../src/api/types.js';
import { ensureWebApp, launchChromium, newContext, screenshot, seriousViolations, type TestBrowser } from '../harness/browser.js';
import { DEX_USER, startDex, type DexProvider } from '../harness/dex.js';
import { freePort } from '../harness/kube.js';
import { KubeBed, NAMESPACE, waitFor } from '../harness/kube-bed.js';

describe('OpenID Connect login (real Dex, real kube-apiserver, SubjectAccessReview by group)', { timeout: 300_000 }, () => {
  let bed: KubeBed;
  let dex: DexProvider;
  let chrome: TestBrowser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    await ensureWebApp();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    dex = await startDex(`${url}/auth/oidc/callback`);
    bed = await KubeBed.create({ workers: 1, basePort: 25200 });
    await bed.apply([bed.keySecret(), bed.nodeManifest('w0', bed.workers[0]?.port ?? 0)]);
    await bed.apply([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'authors-rent' },
        rules: [
          { apiGroups: ['orion.lab'], resources: ['rentals'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
          { apiGroups: ['orion.lab'], resources: ['rentals/log', 'rentals/console'], verbs: ['get', 'create'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'authors-rent' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'authors-rent' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: DEX_USER.group }],
      },
    ]);
    const orion = await bed.startOrion({
      listen: `127.0.0.1:${port}`,
      portal: {
        namespace: NAMESPACE,
        oidc: { issuer: dex.issuer, clientId: dex.clientId, clientSecret: dex.clientSecret, redirectUri: `${url}/auth/oidc/callback` },
      },
    });
    expect((orion.server.address() as AddressInfo).port).toBe(port);
    await waitFor('w0 Alive', () => orion.store.get<NodeResource>({ kind: 'Node', namespace: NAMESPACE, name: 'w0' })?.status?.health === 'Alive', 60_000);
    chrome = await launchChromium();
    page = await (await newContext(chrome.browser)).newPage();
  }, 900_000);

  afterAll(async () => {
    await chrome?.close();
    await bed?.destroy();
    await dex?.stop();
  });

  it('signs in through the provider and shows the person\'s own pages', async () => {
    await page.goto(url);
    await page.getByRole('link', { name: /Sign in with your organisation/ }).click();
    await page.waitForURL(`${url}/rentals`, { timeout: 30_000 });
    await page.getByText(DEX_USER.email).waitFor();
    await page.getByRole('heading', { name: 'My rentals' }).waitFor();
    const session = await page.evaluate(() => fetch('/auth/session').then((r) => r.json())) as { name: string; groups: string[]; admin: boolean };
    expect(session).toMatchObject({ name: DEX_USER.email, groups: expect.arrayContaining([DEX_USER.group]), admin: false });
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'orion_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await screenshot(page, '22-oidc-signed-in');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('rents a machine as that person, allowed by their group, and its terminal is theirs', async () => {
    await page.getByRole('link', { name: 'Rent a machine' }).click();
    await page.getByLabel(/SSH public keys/).fill(bed.tenantKey.publicKey);
    await page.getByRole('button', { name: 'Rent', exact: true }).click();
    await page.locator('h1 .badge', { hasText: 'Ready' }).waitFor({ timeout: 180_000 });
    await page.getByRole('link', { name: 'Open terminal' }).click();
    await page.getByText('Connected.').waitFor({ timeout: 30_000 });
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('whoami\n');
    const login = new RegExp(`^${DEX_USER.login}$`, 'm');
    await waitFor('whoami answered the OIDC login', async () => login.test(await page.evaluate(() => [...document.querySelectorAll('.xterm-rows > div')].map((r) => r.textContent ?? '').join('\n'))), 20_000);
    await screenshot(page, '23-oidc-terminal');
  });

  it('also logs in with a Kubernetes token pasted on the login page (TokenReview), in its own session', async () => {
    await bed.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pasted' } }]);
    const token = (await bed.mustKubectl(['create', 'token', 'pasted', '-n', NAMESPACE, '--duration=1h'])).trim();
    const other = await (await newContext(chrome.browser)).newPage();
    await other.goto(url);
    await other.getByLabel('Kubernetes token').fill(token);
    await other.getByRole('button', { name: 'Log in' }).click();
    await other.getByText(`system:serviceaccount:${NAMESPACE}:pasted`).waitFor();
    expect(await seriousViolations(other)).toEqual([]);
    await other.close();
  });

  it('refuses the same session once the group\'s binding is gone', async () => {
    const list = (): Promise<number> => page.evaluate((ns) => fetch(`/api/v1/namespaces/${ns}/rentals`).then((r) => r.status), NAMESPACE);
    expect(await list()).toBe(200);
    await bed.mustKubectl(['delete', 'rolebinding', 'authors-rent', '-n', NAMESPACE]);
    // Decisions are cached 10 s (ADR 13).
    await waitFor('the list refused', async () => (await list()) === 403, 30_000);
  });
});
