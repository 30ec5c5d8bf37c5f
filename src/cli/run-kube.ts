// `orion run --kube`: the same controllers on the Kubernetes store, with the HTTP endpoint and, when
// asked, leader election. The store syncs first (so /readyz is ready on a standby too); only the leader
// starts the controllers. Losing the Lease exits the process, as controller-runtime does: a restart is
// the simplest way to be sure no reconcile of the old term is still running.
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeCleanupController } from '../../controllers/node-cleanup.js';
import { nodeController } from '../../controllers/node.js';
import { rentalController } from '../../controllers/rental.js';
import { AnsibleRunner, defaultPlaybookDir } from '../exec/ansible.js';
import { LeaderElector } from '../runtime/leader.js';
import { Manager } from '../runtime/manager.js';
import { registerStateMetrics } from '../runtime/state-metrics.js';
import { createApp, listen } from '../server/http.js';
import { KubeStore } from '../store/kube.js';
import { logger } from '../telemetry/logger.js';

export interface KubeRunOptions {
  kubeconfig?: string;
  /** Watch one namespace; all when unset. */
  namespace?: string;
  leaderElect?: boolean;
  /** Namespace of the Lease (default: --namespace, the pod's namespace, or "default"). */
  leaseNamespace?: string;
  /** Where Ansible run logs go (default $TMPDIR/orion). */
  state?: string;
  listen: string;
  nodeConcurrency: number;
  rentalConcurrency: number;
  playbookDirs?: string[];
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
  const manager = new Manager(store)
    .add(nodeController(store, { concurrency: options.nodeConcurrency }))
    .add(nodeCleanupController(store, runner))
    .add(rentalController(store, { runner, concurrency: options.rentalConcurrency }));
  registerStateMetrics(store, () => 0);
  const server = await listen(createApp({ store }), options.listen);
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
