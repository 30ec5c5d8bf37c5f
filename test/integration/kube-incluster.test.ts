// Orion as it runs in a pod: `orion run --kube` with no kubeconfig, so it takes the in-cluster config
// (KUBERNETES_SERVICE_HOST/PORT and the service account token, CA and namespace files under
// /var/run/secrets/kubernetes.io/serviceaccount), and with only the rights that manifests/ grants its
// ServiceAccount. The token is a real one from the TokenRequest API of the real kube-apiserver; the files are
// mounted in a private mount namespace of the Orion process only (unshare -m), so the host is untouched.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/kube.js';
import { KubeBed, NAMESPACE, REPO, waitFor } from '../harness/kube-bed.js';

const BASE_PORT = 23300;
const SYSTEM_NS = 'orion-system';
const SERVICE_ACCOUNT = `system:serviceaccount:${SYSTEM_NS}:orion`;

// Mounts the service account files where a pod has them, then becomes Orion. Arguments, never interpolated:
// $1 the folder with token, ca.crt and namespace; the rest is Orion's command line.
const IN_POD = [
  'set -e',
  'mount -t tmpfs -o mode=0755 orion-test-run /run',
  'mkdir -p /run/secrets/kubernetes.io/serviceaccount',
  'cp "$1"/token "$1"/ca.crt "$1"/namespace /run/secrets/kubernetes.io/serviceaccount/',
  'shift',
  'exec "$@"',
].join('\n');

describe('Orion in-cluster: service account token, in-cluster config and the RBAC of manifests/', () => {
  let bed: KubeBed;
  let orion: ResultPromise | undefined;
  let logFile: string;
  let port: number;

  beforeAll(async () => {
    bed = await KubeBed.create({ workers: 2, basePort: BASE_PORT });
    // The whole kustomize base, as a user installs it (the Deployment stays unscheduled: no kubelet here).
    const rendered = await bed.mustKubectl(['kustomize', join(REPO, 'manifests')]);
    await bed.mustKubectl(['apply', '--server-side', '-f', '-'], rendered);
    const token = (await bed.mustKubectl(['create', 'token', 'orion', '-n', SYSTEM_NS, '--duration=1h'])).trim();
    const saDir = join(bed.root, 'serviceaccount');
    await mkdir(saDir, { mode: 0o700 });
    await writeFile(join(saDir, 'token'), token, { mode: 0o600 });
    await writeFile(join(saDir, 'ca.crt'), await readFile(bed.kube.certs.caCert));
    await writeFile(join(saDir, 'namespace'), SYSTEM_NS);

    port = await freePort();
    logFile = join(bed.root, 'orion-in-pod.log');
    const server = new URL(bed.kube.server);
    orion = execa(
      'unshare',
      ['-m', '--propagation', 'private', '--', 'sh', '-c', IN_POD, 'in-pod', saDir,
        process.execPath, '--import', 'tsx', join(REPO, 'test/harness/orion-cli.ts'),
        'run', '--kube', '--leader-elect', '--state', join(bed.root, 'state'), '--listen', `127.0.0.1:${port}`],
      {
        cwd: REPO,
        reject: false,
        stdin: 'ignore',
        stdout: { file: logFile },
        stderr: { file: logFile },
        // Only what a pod has: no KUBECONFIG, the service host and port.
        env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port, KUBECONFIG: '', ORION_LOG_FORMAT: 'json' },
        extendEnv: true,
      },
    );
    await bed.apply([bed.keySecret(), ...bed.workers.map((w) => bed.nodeManifest(w.name, w.port))]);
  }, 600_000);

  afterAll(async () => {
    orion?.kill('SIGKILL');
    await orion?.catch(() => undefined);
    await bed?.destroy();
  });

  it('becomes leader with the Lease in the pod namespace, and reconciles Nodes and Rentals with its own token', async () => {
    await waitFor('orion ready', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
      } catch {
        return false;
      }
    }, 120_000);
    await bed.apply([bed.rentalManifest('dora')]);
    const wait = await bed.kubectl(['wait', '-n', NAMESPACE, '--for=condition=Ready', '--timeout=180s', 'rental/dora']);
    expect(wait.exitCode, `${wait.stderr}\n${await readFile(logFile, 'utf8')}`).toBe(0);
    const nodes = JSON.parse(await bed.mustKubectl(['get', 'nodes.orion.lab', '-n', NAMESPACE, '-o', 'json'])) as {
      items: { status?: { health?: string } }[];
    };
    expect(nodes.items.map((n) => n.status?.health)).toEqual(['Alive', 'Alive']);

    const lease = JSON.parse(await bed.mustKubectl(['get', 'lease', '-n', SYSTEM_NS, '-o', 'json'])) as {
      items: { metadata: { name: string }; spec: { holderIdentity?: string } }[];
    };
    expect(lease.items).toHaveLength(1);
    expect(lease.items[0]?.spec.holderIdentity).toBeTruthy();

    // Every request carried the service account's token (the only credential in the pod): nothing was refused.
    expect(await readFile(logFile, 'utf8')).not.toMatch(/forbidden/i);
  }, 300_000);

  it('the ServiceAccount has what Orion needs and no more', async () => {
    const can = async (verb: string, resource: string, namespace = NAMESPACE, subresource?: string) =>
      (await bed.kubectl(['auth', 'can-i', verb, resource, '-n', namespace, '--as', SERVICE_ACCOUNT, ...(subresource ? ['--subresource', subresource] : [])])).stdout.trim();
    expect(await can('watch', 'rentals.orion.lab')).toBe('yes');
    expect(await can('update', 'rentals.orion.lab', NAMESPACE, 'status')).toBe('yes');
    expect(await can('create', 'events.events.k8s.io')).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io', SYSTEM_NS)).toBe('yes');
    expect(await can('get', 'secrets')).toBe('yes'); // the Node's key, read by name
    expect(await can('delete', 'secrets')).toBe('yes'); // only those it made: checked by Orion, not expressible in RBAC
    // Never: deleting users' resources, creating them, or touching anything outside its API group and Secrets.
    // The portal creates and deletes for people their own RBAC allowed (SubjectAccessReview); Nodes stay the admin's.
    expect(await can('delete', 'rentals.orion.lab')).toBe('yes');
    expect(await can('create', 'subjectaccessreviews.authorization.k8s.io')).toBe('yes');
    expect(await can('create', 'nodes.orion.lab')).toBe('no');
    expect(await can('delete', 'nodes.orion.lab')).toBe('no');
    expect(await can('update', 'rentals.orion.lab')).toBe('no');
    expect(await can('deletecollection', 'secrets')).toBe('no');
    expect(await can('patch', 'secrets')).toBe('no');
    expect(await can('create', 'pods')).toBe('no');
    expect(await can('get', 'configmaps')).toBe('no');
    expect(await can('update', 'leases.coordination.k8s.io', NAMESPACE)).toBe('no');
    expect(await can('create', 'clusterroles.rbac.authorization.k8s.io')).toBe('no');
  });
});
