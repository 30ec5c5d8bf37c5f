// The install paths — the kustomize base in manifests/ and the Helm chart in helm/orion — render, lint, carry
// the generated CRDs unchanged, grant least privilege, run the controller locked down, and are accepted by a
// real kube-apiserver (`kubectl apply --dry-run=server`; RBAC applied for real and checked with `auth can-i`).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KUBE_TOOLS, startKube, type KubeHarness, type KubectlResult } from '../harness/kube.js';

const REPO = resolve(import.meta.dirname, '../..');
const NAMESPACE = 'orion-system';
const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:orion`;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

function parseObjects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function ok(result: KubectlResult | { stdout: string; stderr: string; exitCode?: number }): string {
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

async function helm(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = await execa(KUBE_TOOLS.helm, args, { cwd: REPO, reject: false, env: { HELM_CACHE_HOME: join(tmpdir(), 'orion-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'orion-helm-config') } });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}

async function kustomize(dir: string): Promise<string> {
  const result = await execa(KUBE_TOOLS.kubectl, ['kustomize', dir], { cwd: REPO, reject: false });
  return ok({ stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 });
}

const byKind = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = byKind(objects, kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0] as K8sObject;
};

/** Every (apiGroup, resource, verb) a set of rules grants, as "group/resource:verb". */
function grants(rules: PolicyRule[]): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) out.push(`${group || 'core'}/${resource}:${verb}`);
      }
    }
  }
  return out.sort();
}

const ORION_KINDS = ['nodes', 'rentals', 'labs', 'desktops', 'playbookruns'];
const EXPECTED_CLUSTER_GRANTS = [
  ...ORION_KINDS.flatMap((r) => ['list', 'watch', 'patch'].map((v) => `orion.lab/${r}:${v}`)),
  // the portal writes for people after a SubjectAccessReview; Nodes stay the admin's
  ...ORION_KINDS.filter((r) => r !== 'nodes').flatMap((r) => ['create', 'delete'].map((v) => `orion.lab/${r}:${v}`)),
  ...['labs', 'desktops'].map((r) => `orion.lab/${r}:update`),
  'authentication.k8s.io/tokenreviews:create',
  'authorization.k8s.io/subjectaccessreviews:create',
  ...ORION_KINDS.map((r) => `orion.lab/${r}/status:update`),
  'events.k8s.io/events:create',
  'events.k8s.io/events:patch',
  ...['get', 'list', 'watch'].map((v) => `core/secrets:${v}`),
].sort();
const EXPECTED_CLASS_READER_GRANTS = ['rentalclasses', 'machineclasses', 'hypervisors'].flatMap((r) => ['get', 'list', 'watch'].map((v) => `orion.lab/${r}:${v}`)).sort();
const EXPECTED_SECRET_WRITER_GRANTS = ['create', 'update', 'delete'].map((v) => `core/secrets:${v}`).sort();
const EXPECTED_LEASE_GRANTS = ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get', 'coordination.k8s.io/leases:update'];

function expectLeastPrivilege(objects: K8sObject[]): void {
  for (const role of [...byKind(objects, 'ClusterRole'), ...byKind(objects, 'Role')]) {
    for (const rule of role.rules as PolicyRule[]) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs]) expect(field ?? []).not.toContain('*');
      expect(rule).not.toHaveProperty('nonResourceURLs');
    }
  }
  const clusterRoles = byKind(objects, 'ClusterRole');
  expect(clusterRoles).toHaveLength(3);
  const named = (suffix: string) => clusterRoles.find((r) => r.metadata.name.endsWith(suffix)) as K8sObject;
  expect(grants(named('-controller').rules as PolicyRule[])).toEqual(EXPECTED_CLUSTER_GRANTS);
  expect(grants(named('-secret-writer').rules as PolicyRule[])).toEqual(EXPECTED_SECRET_WRITER_GRANTS);
  expect(grants(named('-class-reader').rules as PolicyRule[])).toEqual(EXPECTED_CLASS_READER_GRANTS);
  const role = one(objects, 'Role');
  expect(role.metadata.namespace).toBe(NAMESPACE);
  expect(grants(role.rules as PolicyRule[])).toEqual(EXPECTED_LEASE_GRANTS);
}

interface Container {
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}

interface NetworkPolicySpec {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress: Array<{ ports: Array<{ protocol: string; port: number }> }>;
  egress: Array<{ ports: Array<{ protocol: string; port: number }> }>;
}

/** The controller's pods are selected; in, only the metrics port; out, DNS, the API server, SSH, libvirt, Proxmox. */
function expectNetworkPolicy(objects: K8sObject[]): void {
  const policy = one(objects, 'NetworkPolicy') as K8sObject & { spec: NetworkPolicySpec };
  const deployment = one(objects, 'Deployment') as K8sObject & { spec: { template: { metadata: { labels: Record<string, string> } } } };
  expect(deployment.spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
  expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
  expect(policy.spec.ingress.flatMap((r) => r.ports)).toEqual([{ protocol: 'TCP', port: 9477 }]);
  const out = policy.spec.egress.flatMap((r) => r.ports).map((p) => `${p.protocol}/${p.port}`).sort();
  expect(out).toEqual(['TCP/16514', 'TCP/22', 'TCP/443', 'TCP/53', 'TCP/6443', 'TCP/8006', 'UDP/53']);
}

function expectLockedDownController(objects: K8sObject[]): void {
  const deployment = one(objects, 'Deployment') as K8sObject & {
    spec: { template: { spec: { securityContext: Record<string, unknown>; containers: Container[]; volumes: Array<{ name: string; emptyDir?: object }> } } };
  };
  const pod = deployment.spec.template.spec;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  const [container] = pod.containers;
  expect(container?.args.slice(0, 4)).toEqual(['run', '--kube', '--listen', '0.0.0.0:9477']);
  expect(container?.securityContext).toMatchObject({
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
  expect(container?.ports).toContainEqual(expect.objectContaining({ name: 'metrics', containerPort: 9477 }));
  expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  expect(Object.keys(container?.resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
  expect(Object.keys(container?.resources.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
  const mounts = new Map(container?.volumeMounts.map((m) => [m.mountPath, m.name]));
  for (const path of ['/tmp', '/var/lib/orion']) {
    const volume = pod.volumes.find((v) => v.name === mounts.get(path));
    expect(volume?.emptyDir, `an emptyDir on ${path}`).toBeDefined();
  }
  const service = one(objects, 'Service') as K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> } };
  expect(service.spec.ports).toContainEqual(expect.objectContaining({ name: 'metrics', targetPort: 'metrics' }));
  const podLabels = (deployment.spec.template as unknown as { metadata: { labels: Record<string, string> } }).metadata.labels;
  expect(podLabels).toMatchObject(service.spec.selector);
}

async function crdFiles(dir: string): Promise<Map<string, string>> {
  const files = (await readdir(join(REPO, dir))).filter((f) => f.endsWith('.yaml')).sort();
  return new Map(await Promise.all(files.map(async (f) => [f, await readFile(join(REPO, dir, f), 'utf8')] as const)));
}

const asList = (objects: K8sObject[]): string => JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });

/** A server-side dry run that must pass without warnings (PodSecurity warns about a Deployment's pods). */
async function serverDryRun(kube: KubeHarness, objects: K8sObject[]): Promise<string> {
  const args = ['apply', '--server-side', '--field-manager=orion-install', '--dry-run=server', '--validate=strict', '-f', '-'];
  const result = await kube.kubectl(args, { input: asList(objects) });
  expect(result.stderr).not.toMatch(/warning/i);
  return ok(result);
}

describe('manifests/ and helm/orion against a real kube-apiserver', () => {
  let kube: KubeHarness;
  let kustomized: K8sObject[];
  let templated: K8sObject[];

  beforeAll(async () => {
    kube = await startKube();
    kustomized = parseObjects(await kustomize('manifests'));
    templated = parseObjects(ok(await helm(['template', 'orion', 'helm/orion', '--namespace', NAMESPACE])));
    // What a dry run cannot do for itself: the CRDs and the namespace must exist.
    ok(await kube.kubectl(['apply', '--server-side', '--field-manager=orion-install', '-f', 'crds/']));
    const crds = ['nodes', 'rentals', 'labs', 'desktops', 'playbookruns', 'rentalclasses', 'machineclasses', 'hypervisors'].map((plural) => `crd/${plural}.orion.lab`);
    ok(await kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds]));
    // The base's own Namespace, for real: it enforces the restricted Pod Security Standard.
    ok(await kube.kubectl(['apply', '-f', '-'], { input: asList(byKind(kustomized, 'Namespace')) }));
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('keeps the CRD copies of the kustomize base and the chart identical to crds/', async () => {
    const generated = await crdFiles('crds');
    expect(generated.size).toBe(8);
    for (const copy of ['manifests/crds', 'helm/orion/crds']) {
      expect(await crdFiles(copy), `${copy} is stale: run npm run crds`).toEqual(generated);
    }
    const kustomization = await readFile(join(REPO, 'manifests/kustomization.yaml'), 'utf8');
    for (const file of generated.keys()) expect(kustomization).toContain(`crds/${file}`);
  });

  it('renders the kustomize base: CRDs, namespace, RBAC, Deployment, Service', () => {
    const kinds = kustomized.map((o) => o.kind).sort();
    expect(kinds).toEqual([
      'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ClusterRoleBinding',
      ...Array<string>(8).fill('CustomResourceDefinition'),
      'Deployment', 'Namespace', 'NetworkPolicy', 'Role',
      'RoleBinding', 'Service', 'ServiceAccount',
    ]);
    for (const o of kustomized.filter((x) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(x.kind))) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
    }
    expectLeastPrivilege(kustomized);
    expectLockedDownController(kustomized);
    expectNetworkPolicy(kustomized);
  });

  it('adds a ServiceMonitor for the metrics Service with the servicemonitor component', async () => {
    const overlay = await mkdtemp(join(tmpdir(), 'orion-overlay-'));
    try {
      const base = relative(overlay, join(REPO, 'manifests'));
      await writeFile(join(overlay, 'kustomization.yaml'), [
        'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization',
        `resources: [${base}]`, `components: [${base}/components/servicemonitor]`, '',
      ].join('\n'));
      const objects = parseObjects(await kustomize(overlay));
      const monitor = one(objects, 'ServiceMonitor') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> } };
      const service = one(objects, 'Service');
      expect(monitor.metadata.namespace).toBe(NAMESPACE);
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    } finally {
      await rm(overlay, { recursive: true, force: true });
    }
  });

  it('is accepted by the API server (kustomize base, server-side dry run)', async () => {
    const out = await serverDryRun(kube, kustomized.filter((o) => o.kind !== 'CustomResourceDefinition'));
    expect(out).toMatch(/deployment\.apps\/orion-controller serverside-applied \(server dry run\)/);
    // The CRDs were applied for real: a dry run of the same objects is a no-op, not an error.
    await serverDryRun(kube, byKind(kustomized, 'CustomResourceDefinition'));
    // The check has teeth: without its security context the same Deployment breaks the namespace's policy.
    const loose = structuredClone(one(kustomized, 'Deployment')) as K8sObject & { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
    delete loose.spec.template.spec.containers[0]?.securityContext;
    const warned = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: asList([loose]) });
    expect(warned.stderr).toMatch(/would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('grants the service account what the controller needs and nothing else', async () => {
    const rbac = kustomized.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind));
    // Same field manager as the dry runs: the chart's objects of the same names then apply over these cleanly.
    ok(await kube.kubectl(['apply', '--server-side', '--field-manager=orion-install', '-f', '-'], { input: asList(rbac) }));
    const can = async (verb: string, resource: string, namespace = 'tenant-a', subresource?: string): Promise<boolean> => {
      const args = ['auth', 'can-i', verb, resource, '--as', SERVICE_ACCOUNT, '-n', namespace];
      if (subresource) args.push('--subresource', subresource);
      const result = await kube.kubectl(args);
      return result.stdout.trim() === 'yes';
    };
    expect(await can('watch', 'rentals.orion.lab')).toBe(true);
    expect(await can('patch', 'nodes.orion.lab')).toBe(true);
    expect(await can('update', 'labs.orion.lab', 'tenant-a', 'status')).toBe(true);
    expect(await can('create', 'events.events.k8s.io')).toBe(true);
    expect(await can('get', 'secrets')).toBe(true);
    expect(await can('delete', 'secrets')).toBe(true);
    expect(await can('update', 'leases.coordination.k8s.io', NAMESPACE)).toBe(true);

    // The portal creates and deletes for people whose own RBAC allowed it (SubjectAccessReview); Nodes are not its.
    expect(await can('create', 'rentals.orion.lab')).toBe(true);
    expect(await can('create', 'tokenreviews.authentication.k8s.io')).toBe(true);
    expect(await can('create', 'nodes.orion.lab')).toBe(false);
    expect(await can('delete', 'nodes.orion.lab')).toBe(false);
    expect(await can('update', 'rentals.orion.lab')).toBe(false);
    expect(await can('update', 'labs.orion.lab')).toBe(true);
    expect(await can('patch', 'rentals.orion.lab', 'tenant-a', 'status')).toBe(false);
    expect(await can('patch', 'secrets')).toBe(false);
    expect(await can('deletecollection', 'secrets')).toBe(false);
    expect(await can('update', 'leases.coordination.k8s.io', 'tenant-a')).toBe(false);
    expect(await can('create', 'pods')).toBe(false);
    expect(await can('get', 'configmaps')).toBe(false);
    // The admin's classes: read, never written.
    for (const cls of ['rentalclasses.orion.lab', 'machineclasses.orion.lab', 'hypervisors.orion.lab']) {
      expect(await can('watch', cls)).toBe(true);
      expect(await can('create', cls)).toBe(false);
      expect(await can('update', cls)).toBe(false);
    }
    expect(await can('create', 'customresourcedefinitions.apiextensions.k8s.io')).toBe(false);
  });

  it('lints the chart', async () => {
    const lint = await helm(['lint', '--strict', 'helm/orion']);
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders the chart with the same RBAC and controller settings, accepted by the API server', async () => {
    expect(templated.map((o) => o.kind).sort()).toEqual([
      'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ClusterRoleBinding', 'Deployment', 'NetworkPolicy', 'Role',
      'RoleBinding', 'Service', 'ServiceAccount',
    ]);
    expectLeastPrivilege(templated);
    expectLockedDownController(templated);
    expectNetworkPolicy(templated);
    expect(await serverDryRun(kube, templated)).toMatch(/deployment\.apps\/orion-controller serverside-applied \(server dry run\)/);
    // (`helm show crds` concatenates the files without `---`: the rendering with --include-crds separates them.)
    const withCrds = parseObjects(ok(await helm(['template', 'orion', 'helm/orion', '--namespace', NAMESPACE, '--include-crds'])));
    const crds = byKind(withCrds, 'CustomResourceDefinition');
    expect(crds.map((o) => o.metadata.name).sort()).toEqual(['desktops.orion.lab', 'hypervisors.orion.lab', 'labs.orion.lab', 'machineclasses.orion.lab', 'nodes.orion.lab', 'playbookruns.orion.lab', 'rentalclasses.orion.lab', 'rentals.orion.lab']);
  });

  it('follows its values: replicas, leader election, watched namespace, ServiceMonitor, RBAC and service account', async () => {
    const render = async (...set: string[]): Promise<K8sObject[]> =>
      parseObjects(ok(await helm(['template', 'orion', 'helm/orion', '--namespace', NAMESPACE, ...set.flatMap((s) => ['--set', s])])));
    const custom = await render('replicas=2', 'watchNamespace=labs', 'serviceMonitor.enabled=true', 'image.tag=dev', 'metrics.port=9100', 'createNamespace=true');
    const deployment = one(custom, 'Deployment') as K8sObject & { spec: { replicas: number; template: { spec: { containers: Container[] } } } };
    expect(deployment.spec.replicas).toBe(2);
    const container = deployment.spec.template.spec.containers[0] as Container & { image: string };
    expect(container.image).toBe('ghcr.io/orion-lab/orion:dev');
    expect(container.args).toEqual(expect.arrayContaining(['--leader-elect', '--namespace', 'labs', '0.0.0.0:9100']));
    expect(one(custom, 'ServiceMonitor').metadata.namespace).toBe(NAMESPACE);
    expect(one(custom, 'Namespace').metadata.name).toBe(NAMESPACE);
    // Watching one namespace: every grant is a RoleBinding there; the one cluster-wide grant is reading the admin's
    // cluster-scoped classes (no RoleBinding can grant a cluster-scoped kind).
    expect(byKind(custom, 'ClusterRoleBinding').map((b) => b.metadata.name)).toEqual(['orion-class-reader']);
    expect(byKind(custom, 'RoleBinding').map((b) => `${b.metadata.namespace}/${b.metadata.name}`).sort()).toEqual(
      ['labs/orion-controller', 'labs/orion-secret-writer', `${NAMESPACE}/orion-leader-election`],
    );
    // Secret writes in the namespaces named, and only there.
    const writers = await render('rbac.secretWriteNamespaces={team-a,team-b}');
    expect(byKind(writers, 'ClusterRoleBinding').map((b) => b.metadata.name).sort()).toEqual(['orion-class-reader', 'orion-controller']);
    expect(byKind(writers, 'RoleBinding').filter((b) => b.metadata.name === 'orion-secret-writer').map((b) => b.metadata.namespace)).toEqual(['team-a', 'team-b']);
    expect(byKind(await render('networkPolicy.enabled=false'), 'NetworkPolicy')).toEqual([]);

    const bare = await render('rbac.create=false', 'serviceAccount.create=false', 'serviceAccount.name=existing', 'metrics.enabled=false', 'leaderElection.enabled=false');
    expect(bare.map((o) => o.kind)).toEqual(['NetworkPolicy', 'Deployment']);
    const bareContainer = (one(bare, 'Deployment') as K8sObject & { spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } } }).spec.template.spec;
    expect(bareContainer.serviceAccountName).toBe('existing');
    expect(bareContainer.containers[0]?.args).not.toContain('--leader-elect');

    // The portal over TLS from a Secret: the certificate mounted, the flags given, the probes on HTTPS.
    const tls = one(await render('portal.tls.secretName=orion-tls', 'portal.allowedHosts[0]=orion.example.org'), 'Deployment') as K8sObject & {
      spec: { template: { spec: { containers: Array<Container & { livenessProbe: { httpGet: { scheme?: string } } }>; volumes: Array<{ name: string; secret?: { secretName: string } }> } } };
    };
    const tlsContainer = tls.spec.template.spec.containers[0];
    expect(tlsContainer?.args).toEqual(expect.arrayContaining(['--tls-cert', '/etc/orion/tls/tls.crt', '--tls-key', '/etc/orion/tls/tls.key', '--allowed-host', 'orion.example.org']));
    expect(tlsContainer?.livenessProbe.httpGet.scheme).toBe('HTTPS');
    expect(tls.spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'orion-tls' } });

    const refused = await helm(['template', 'orion', 'helm/orion', '--set', 'replicas=2', '--set', 'leaderElection.enabled=false']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('replicas > 1 needs leaderElection.enabled=true');
  });
});
