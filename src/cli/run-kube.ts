// `orion run --kube`: Kubernetes mode. The same controllers (controllers.ts) on the Kubernetes store, with the HTTP
// endpoint and, when asked, leader election. The store syncs first (so /readyz is ready on a standby too); only the
// leader starts the controllers (the Manager waits for the Lease). Losing the Lease exits the process, as
// controller-runtime does: a restart is the simplest way to be sure no reconcile of the old term is still running.
// Labs and Desktops run Terraform in workspaces under the state directory, which is scratch space (an emptyDir in
// a pod): their Terraform state lives in Secrets owned by the resource (KubeSecretStateBackend), pulled into the
// workspace before each run and saved back after it. A Desktop's generated RDP password is a Secret it owns too.
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeGeneratedPasswords } from '../kube/generated-passwords.js';
import { LeaderElector } from '../kube/leader.js';
import { DEFAULT_KUBE_STATE_VERSIONS, KubeStateBackends } from '../kube/state-backend.js';
import { KubeStore } from '../kube/store.js';
import { Manager } from '../runtime/manager.js';
import { registerStateMetrics } from '../runtime/state-metrics.js';
import { KubeAccess } from '../server/auth/kube-access.js';
import { policyFromFlags } from '../server/api/policy.js';
import { createOrionApp, listen } from '../server/http.js';
import { NodeIndex } from '../../controllers/rental/scheduler.js';
import { RunCatalog } from '../exec/run-catalog.js';
import { logger } from '../telemetry/logger.js';
import { makeRunners, registerControllers, type OrionOptions } from './controllers.js';
import { consoleAndLogin, type PortalRunOptions } from './portal-options.js';

export interface KubeRunOptions extends OrionOptions {
  kubeconfig?: string;
  /** Watch one namespace; all when unset. */
  namespace?: string;
  leaderElect?: boolean;
  /** Namespace of the Lease (default: --namespace, the pod's namespace, or "default"). */
  leaseNamespace?: string;
  /** Scratch space: Ansible run logs, Terraform workspaces and their logs (default $TMPDIR/orion). */
  state?: string;
  listen: string;
  /** Terraform state versions kept in Secrets per resource (default 3). */
  stateVersions?: number;
  /** The portal: transport and policy (RBAC decides who may do what). */
  portal?: PortalRunOptions;
  /** Called when leadership is lost; the default exits the process. */
  onLeadershipLost?: () => void;
}

export interface RunningKubeOrion {
  store: KubeStore;
  manager: Manager;
  server: Server;
  elector?: LeaderElector;
  stop(): Promise<void>;
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export async function startKubeOrion(options: KubeRunOptions): Promise<RunningKubeOrion> {
  const store = new KubeStore({ kubeconfig: options.kubeconfig, namespace: options.namespace });
  const stateDir = resolve(options.state ?? join(tmpdir(), 'orion'));
  const states = new KubeStateBackends({ client: store.client, owners: store, keep: options.stateVersions ?? DEFAULT_KUBE_STATE_VERSIONS });
  const runners = makeRunners(stateDir, options, (ws) => states.forWorkspace(ws));
  const elector = options.leaderElect
    ? new LeaderElector({
        client: store.client,
        namespace: options.leaseNamespace ?? options.namespace ?? podNamespace() ?? 'default',
        identity: store.identity,
        onLost: options.onLeadershipLost ?? exitOnLostLeadership,
      })
    : undefined;
  const deps = { store, ...runners, passwords: new KubeGeneratedPasswords(store.client, store) };
  const manager = registerControllers(new Manager(store, { elector }), deps, { ...options, secretNamespace: secretNamespaceOf(options) });
  registerStateMetrics(store, () => 0);
  const portalOptions = options.portal ?? {};
  const passwords = deps.passwords;
  const { app, portal } = createOrionApp({
    store,
    listen: options.listen,
    tls: portalOptions.tls,
    insecureHttp: portalOptions.insecureHttp,
    portal: {
      store,
      access: new KubeAccess(store.client),
      policy: await policyFromFlags({ ...portalOptions, recipes: options.recipes ?? portalOptions.recipes, namespace: portalOptions.namespace ?? options.namespace }),
      runs: new RunCatalog(stateDir),
      nodes: new NodeIndex(store),
      transport: { allowedHosts: portalOptions.allowedHosts, allowedOrigins: portalOptions.allowedOrigins },
      ...consoleAndLogin(portalOptions, passwords, options.desktop?.adminUser),
    },
  });
  const server = await listen(app, options.listen, portalOptions.tls);
  portal?.attach(server);
  const running: RunningKubeOrion = {
    store,
    manager,
    server,
    elector,
    async stop() {
      portal?.close();
      server.close();
      server.closeAllConnections();
      await manager.stop();
    },
  };
  try {
    await manager.start();
  } catch (err) {
    await running.stop().catch(() => undefined);
    throw err;
  }
  logger.info({ namespace: options.namespace ?? '(all)', identity: store.identity, runs: stateDir }, 'orion is running (kubernetes mode)');
  return running;
}

/** Runs until a signal arrives; a second signal exits at once. */
export async function runKubeUntilSignal(options: KubeRunOptions): Promise<void> {
  let stopRequested: (() => void) | undefined;
  const signalled = new Promise<void>((resolveSignal) => (stopRequested = resolveSignal));
  const onSignal = (signal: string): void => {
    logger.info({ signal }, 'stopping');
    process.once('SIGINT', () => process.exit(130));
    stopRequested?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const starting = startKubeOrion(options);
  // A signal while waiting for leadership ends the wait: nothing was started that needs stopping.
  const first = await Promise.race([starting.then((orion) => ({ orion })), signalled.then(() => undefined)]);
  if (!first) return void process.exit(0);
  await signalled;
  await first.orion.stop();
}

function exitOnLostLeadership(): void {
  logger.fatal('leadership lost; exiting so that no reconcile of this term keeps running');
  process.exit(1);
}

/** Where a Secret a Hypervisor names without a namespace is: --secret-namespace, else Orion's own namespace. */
function secretNamespaceOf(options: KubeRunOptions): string {
  return options.secretNamespace ?? podNamespace() ?? options.namespace ?? 'default';
}

function podNamespace(): string | undefined {
  if (!process.env.KUBERNETES_SERVICE_HOST) return undefined;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
