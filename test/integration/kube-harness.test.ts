// The Kubernetes harness and the generated CRDs against a real kube-apiserver and etcd: the CRDs are accepted
// and Established, valid resources are stored, invalid ones are rejected by the API server with the schema's
// message, printer columns, short names and the `orion` category work, and a restart keeps the data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type KubeHarness, type KubectlResult } from '../harness/kube.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZ3ivg5+3vhBwmeCmOBzbnpGxZe+hTRjFsQHGHAZJ4S alice@laptop';

const rental = (name: string, user: string, extra = ''): string => `
apiVersion: orion.lab/v1alpha1
kind: Rental
metadata: { name: ${name}, namespace: default }
spec:
  user: "${user}"
  sshPublicKeys: ["${KEY}"]${extra}
`;

const NODE = `
apiVersion: orion.lab/v1alpha1
kind: Node
metadata: { name: bay-1, namespace: default, labels: { pool: lab } }
spec:
  address: 127.0.0.1
  port: 2222
  secretRef: { name: bay-key }
`;

const lab = (cpu: number): string => `
apiVersion: orion.lab/v1alpha1
kind: Lab
metadata: { name: cpu-${cpu}, namespace: default }
spec:
  machines: [{ name: vm, cpu: ${cpu} }]
`;

function ok(result: KubectlResult): string {
  expect(result.stderr, result.stderr).not.toMatch(/error/i);
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

describe('Kubernetes harness (real kube-apiserver and etcd)', () => {
  let kube: KubeHarness;

  beforeAll(async () => {
    kube = await startKube();
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('serves kubectl with an admin kubeconfig on a loopback https port', async () => {
    expect(kube.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = ok(await kube.kubectl(['version', '-o', 'json']));
    expect(JSON.parse(version).serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    expect(ok(await kube.kubectl(['auth', 'can-i', '*', '*']))).toContain('yes');
    expect(ok(await kube.kubectl(['get', 'namespace', 'default', '-o', 'name']))).toBe('namespace/default');
  });

  it('accepts the generated CRDs, which become Established', async () => {
    ok(await kube.kubectl(['apply', '--server-side', '-f', 'crds/']));
    const names = ['nodes.orion.lab', 'rentals.orion.lab', 'labs.orion.lab', 'desktops.orion.lab'];
    ok(await kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((n) => `crd/${n}`)]));
    // The apiserver's discovery needs a moment after Established before kubectl can map the new kinds.
    await waitForDiscovery(kube);
  });

  it('stores a valid Node and Rental', async () => {
    ok(await kube.kubectl(['apply', '-f', '-'], { input: NODE }));
    ok(await kube.kubectl(['apply', '-f', '-'], { input: rental('alice', 'alice') }));
    ok(await kube.kubectl(['apply', '-f', '-'], { input: lab(8) }));
    const stored = JSON.parse(ok(await kube.kubectl(['get', 'rental', 'alice', '-o', 'json'])));
    expect(stored.spec).toMatchObject({ user: 'alice', sudo: false }); // defaults applied by the API server
    const node = JSON.parse(ok(await kube.kubectl(['get', 'nodes.orion.lab', 'bay-1', '-o', 'json'])));
    expect(node.spec).toMatchObject({ user: 'root', probe: { intervalSeconds: 10, failureThreshold: 3 } });
  });

  it('accepts the examples users copy (server-side dry run)', async () => {
    const out = ok(await kube.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', 'examples/nodes/', '-f', 'examples/rentals/', '-f', 'examples/labs/']));
    expect(out).toMatch(/rental\.orion\.lab\/\S+ created \(server dry run\)/);
    expect(out).toMatch(/node\.orion\.lab\/\S+ created \(server dry run\)/);
    expect(out).toMatch(/rentalclass\.orion\.lab\/students created \(server dry run\)/);
    for (const made of ['hypervisor.orion.lab/local', 'hypervisor.orion.lab/pve', 'machineclass.orion.lab/standard', 'machineclass.orion.lab/proxmox', 'lab.orion.lab/web', 'lab.orion.lab/course']) {
      expect(out).toContain(`${made} created (server dry run)`);
    }
  });

  it('rejects a system user (the `not` rule) and a shell-injection user (the pattern)', async () => {
    const root = await kube.kubectl(['apply', '-f', '-'], { input: rental('r-root', 'root') });
    expect(root.exitCode).not.toBe(0);
    // kube-openapi reports a failed `not` without the value: `<nil>: Invalid value: "": "spec.user" must not ...`.
    expect(root.stderr).toContain('The Rental "r-root" is invalid');
    expect(root.stderr).toContain('"spec.user" must not validate the schema (not)');

    const injection = await kube.kubectl(['apply', '-f', '-'], { input: rental('r-inject', 'a;reboot') });
    expect(injection.exitCode).not.toBe(0);
    expect(injection.stderr).toContain('spec.user: Invalid value: "a;reboot": spec.user in body should match \'^[a-z_][a-z0-9_-]{0,31}$\'');
  });

  it('rejects a Lab machine with more CPUs than the maximum', async () => {
    const result = await kube.kubectl(['apply', '-f', '-'], { input: lab(9) });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.machines\[0\]\.cpu: Invalid value: 9: spec\.machines\[0\]\.cpu in body should be less than or equal to 8/);
  });

  it('rejects an unknown field with strict validation and prunes it otherwise', async () => {
    const strict = await kube.kubectl(['apply', '--validate=strict', '-f', '-'], { input: rental('r-unknown', 'bob', '\n  colour: blue') });
    expect(strict.exitCode).not.toBe(0);
    expect(strict.stderr).toMatch(/unknown field "spec\.colour"/);

    ok(await kube.kubectl(['apply', '--validate=false', '-f', '-'], { input: rental('r-unknown', 'bob', '\n  colour: blue') }));
    const stored = JSON.parse(ok(await kube.kubectl(['get', 'rental', 'r-unknown', '-o', 'json'])));
    expect(stored.spec).not.toHaveProperty('colour');
  });

  it('prints the Rental columns and answers to the short names and the orion category', async () => {
    const table = ok(await kube.kubectl(['get', 'rentals']));
    expect(table.split('\n')[0]).toMatch(/^NAME\s+USER\s+PHASE\s+NODE\s+HOST\s+PORT\s+READY\s+AGE$/);
    expect(table).toMatch(/^alice\s+alice\s+/m);

    expect(ok(await kube.kubectl(['get', 'nodes.orion.lab', '-o', 'name']))).toBe('node.orion.lab/bay-1');
    expect(ok(await kube.kubectl(['get', 'onode', '-o', 'name']))).toBe('node.orion.lab/bay-1');
    expect(ok(await kube.kubectl(['get', 'rent', '-o', 'name']))).toContain('rental.orion.lab/alice');
    // The core `nodes` are another kind: no cluster node exists here, and Orion's Node is not among them.
    expect(ok(await kube.kubectl(['get', 'nodes', '-o', 'name']))).toBe('');

    const everything = ok(await kube.kubectl(['get', 'orion', '-o', 'name'])).split('\n').sort();
    expect(everything).toEqual(['lab.orion.lab/cpu-8', 'node.orion.lab/bay-1', 'rental.orion.lab/alice', 'rental.orion.lab/r-unknown']);
  });

  it('keeps the data across an API server and etcd restart on the same port', async () => {
    await kube.restartApiServer();
    expect(ok(await kube.kubectl(['get', 'rental', 'alice', '-o', 'jsonpath={.spec.user}']))).toBe('alice');
    ok(await kube.kubectl(['apply', '-f', '-'], { input: rental('after-restart', 'carol') }));
  });
});

async function waitForDiscovery(kube: KubeHarness): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const result = await kube.kubectl(['get', 'orion']);
    if (result.exitCode === 0) return;
    if (Date.now() > deadline) throw new Error(`kinds of category orion never discovered: ${result.stderr}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
