// `orion run --kube`: the same controllers on the Kubernetes store, with the HTTP endpoint and, when
// asked, leader election. The store syncs first (so /readyz is ready on a standby too); only the leader
// starts the controllers. Losing the Lease exits the process, as controller-runtime does: a restart is
// the simplest way to be sure no reconcile of the old term is still running.
// Labs and Desktops run Terraform in workspaces under the state directory, which is scratch space (an emptyDir in
// a pod): their Terraform state lives in Secrets owned by the resource (KubeSecretStateBackend), pulled into the
// workspace before each run and saved back after it. A Desktop's generated RDP password is a Secret it owns too.
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { desktopController, type DesktopControllerOptions } from '../../controllers/desktop.js';
import { labController, type LabControllerOptions } from '../../controllers/lab.js';
import { nodeCleanupController } from '../../controllers/node-cleanup.js';
import { nodeController } from '../../controllers/node.js';
import { playbookRunController } from '../../controllers/playbookrun/controller.js';
import { rentalController } from '../../controllers/rental.js';
import { AnsibleRunner, defaultPlaybookDir } from '../exec/ansible.js';
import { TerraformRunner } from '../exec/terraform.js';
import { LeaderElector } from '../runtime/leader.js';
import { Manager } from '../runtime/manager.js';
import { registerStateMetrics } from '../runtime/state-metrics.js';
import { KubeAccess } from '../server/auth/kube-access.js';
import { policyFromFlags } from '../server/api/policy.js';
import { createOrionApp, listen } from '../server/http.js';
import type { PortalRunOptions } from './portal-options.js';
import { KubeStore } from '../store/kube.js';
import { KubeGeneratedPasswords } from '../store/kube-generated-passwords.js';
import { DEFAULT_KUBE_STATE_VERSIONS, KubeStateBackends } from '../store/kube-state-backend.js';
import { logger } from '../telemetry/logger.js';

export interface KubeRunOptions {
  kubeconfig?: string;
  /** Watch one namespace; all when unset. */
  namespace?: string;
  leaderElect?: boolean;
  /** Namespace of the Lease (default: --namespace, the pod's namespace, or "default"). */
  leaseNamespace?: string;
  /** Scratch space: Ansible run logs, Terraform workspaces and their logs (default $TMPDIR/orion). */
  state?: string;
  listen: string;
  nodeConcurrency: number;
  rentalConcurrency: number;
  playbookDirs?: string[];
  /** Recipes a PlaybookRun (and the portal's /ansible/run) may name (default: base). */
  recipes?: string[];
  /** The tofu/terraform binary for Labs and Desktops (default: tofu, else terraform, on PATH; resolved at the first one). */
  terraform?: string;
  /** Added to every Terraform run's environment (e.g. TF_CLI_CONFIG_FILE for a provider mirror). */
  terraformEnv?: Record<string, string>;
  /** Directories a libvirt Lab or Desktop machine may boot images, kernels and initrds from. */
  imageDirs?: string[];
  /** Terraform state versions kept in Secrets per resource (default 3). */
  stateVersions?: number;
  /** Extra Lab and Desktop controller settings (tests: shorter polls and grace periods). */
  lab?: Partial<LabControllerOptions>;
  desktop?: Partial<DesktopControllerOptions>;
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
  const runner = new AnsibleRunner({
    playbookDirs: [...(options.playbookDirs ?? []), defaultPlaybookDir()],
    runsDir: join(stateDir, 'runs'),
  });
  const states = new KubeStateBackends({ client: store.client, owners: store, keep: options.stateVersions ?? DEFAULT_KUBE_STATE_VERSIONS });
  const terraform = (): Promise<TerraformRunner> =>
    TerraformRunner.create({
      stateRoot: join(stateDir, 'terraform'),
      binary: options.terraform,
      ...(options.terraformEnv ? { env: options.terraformEnv } : {}),
      stateBackend: (ws) => states.forWorkspace(ws),
    });
  const manager = new Manager(store)
    .add(nodeController(store, { concurrency: options.nodeConcurrency }))
    .add(nodeCleanupController(store, runner))
    .add(rentalController(store, { runner, concurrency: options.rentalConcurrency }))
    .add(playbookRunController(store, { runner, recipes: options.recipes }))
    .add(labController(store, { terraform, ansible: runner, imageDirs: options.imageDirs, ...options.lab }))
    .add(desktopController(store, {
      terraform,
      ansible: runner,
      imageDirs: options.imageDirs,
      passwords: new KubeGeneratedPasswords(store.client, store),
      ...options.desktop,
    }));
  registerStateMetrics(store, () => 0);
  const portalOptions = options.portal ?? {};
  const { app } = createOrionApp({
    store,
    listen: options.listen,
    tls: portalOptions.tls,
    insecureHttp: portalOptions.insecureHttp,
    portal: {
      store,
      access: new KubeAccess(store.client),
      policy: await policyFromFlags({ ...portalOptions, recipes: options.recipes ?? portalOptions.recipes, namespace: portalOptions.namespace ?? options.namespace }),
      stateRoot: stateDir,
      transport: { allowedHosts: portalOptions.allowedHosts, allowedOrigins: portalOptions.allowedOrigins },
    },
  });
  const server = await listen(app, options.listen, portalOptions.tls);
  const elector = options.leaderElect
    ? new LeaderElector({
        client: store.client,
        namespace: options.leaseNamespace ?? options.namespace ?? podNamespace() ?? 'default',
        identity: store.identity,
        onLost: options.onLeadershipLost ?? exitOnLostLeadership,
      })
    : undefined;
  const running: RunningKubeOrion = {
    store,
    manager,
    server,
    elector,
    async stop() {
      server.close();
      await manager.stop();
      await elector?.release();
      store.client.close();
    },
  };
  try {
    await store.start();
    await elector?.acquire();
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

function podNamespace(): string | undefined {
  if (!process.env.KUBERNETES_SERVICE_HOST) return undefined;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
