// The one prom-client registry. Names follow controller-runtime, plus Orion's domain metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

/** One sample of a gauge computed at scrape time from the store's current state. */
export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

const sampleSources = new Map<string, () => GaugeSample[]>();

/** Registers where a state gauge (resources by phase, nodes by health ...) reads its values. */
export function provideSamples(metric: string, source: () => GaugeSample[]): void {
  sampleSources.set(metric, source);
}

function collectSamples(gauge: Gauge, metric: string): void {
  const source = sampleSources.get(metric);
  if (!source) return;
  gauge.reset();
  for (const sample of source()) gauge.set(sample.labels, sample.value);
}
collectDefaultMetrics({ register: registry, prefix: 'orion_process_' });
// prom-client names three gauges `*_total`, which Prometheus reserves for counters (promtool flags them);
// their per-type siblings without the suffix carry the same information.
for (const kind of ['resources', 'handles', 'requests']) registry.removeSingleMetric(`orion_process_nodejs_active_${kind}_total`);

/** Buckets for work that takes seconds to an hour (Ansible, Terraform, provisioning). */
export const LONG_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const FAST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const reconcileTotal = new Counter({
  name: 'orion_reconcile_total',
  help: 'Reconciles by controller and result (success, requeue, error, terminal).',
  labelNames: ['controller', 'result'] as const,
  registers: [registry],
});

export const reconcileDuration = new Histogram({
  name: 'orion_reconcile_duration_seconds',
  help: 'Time spent in one reconcile.',
  labelNames: ['controller'] as const,
  buckets: FAST_BUCKETS,
  registers: [registry],
});

export const workqueueDepth = new Gauge({
  name: 'orion_workqueue_depth',
  help: 'Keys waiting in a controller work queue.',
  labelNames: ['controller'] as const,
  registers: [registry],
});

export const workqueueRetries = new Counter({
  name: 'orion_workqueue_retries_total',
  help: 'Keys re-queued with backoff after an error.',
  labelNames: ['controller'] as const,
  registers: [registry],
});

export const resourcesByPhase = new Gauge({
  name: 'orion_resources',
  help: 'Resources known to the store, by kind and phase.',
  labelNames: ['kind', 'phase'] as const,
  registers: [registry],
  collect() {
    collectSamples(this as unknown as Gauge, 'orion_resources');
  },
});

export const invalidManifests = new Gauge({
  name: 'orion_invalid_manifests',
  help: 'Manifest files that currently fail to parse or validate.',
  registers: [registry],
  collect() {
    collectSamples(this as unknown as Gauge, 'orion_invalid_manifests');
  },
});

export const nodeProbeDuration = new Histogram({
  name: 'orion_node_probe_duration_seconds',
  help: 'Duration of one SSH probe of a Node.',
  labelNames: ['result'] as const,
  buckets: FAST_BUCKETS,
  registers: [registry],
});

export const nodesByHealth = new Gauge({
  name: 'orion_nodes',
  help: 'Nodes by health (Alive, Dead, Unknown).',
  labelNames: ['health'] as const,
  registers: [registry],
  collect() {
    collectSamples(this as unknown as Gauge, 'orion_nodes');
  },
});

export const rentalsByPhase = new Gauge({
  name: 'orion_rentals',
  help: 'Rentals by phase.',
  labelNames: ['phase'] as const,
  registers: [registry],
  collect() {
    collectSamples(this as unknown as Gauge, 'orion_rentals');
  },
});

export const rentalFailovers = new Counter({
  name: 'orion_rental_failovers_total',
  help: 'Rental moves away from a dead node, by result.',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const rentalFailoverSeconds = new Histogram({
  name: 'orion_rental_failover_seconds',
  help: 'From the node declared Dead to the rental Ready on another node.',
  buckets: LONG_BUCKETS,
  registers: [registry],
});

export const ansibleRunSeconds = new Histogram({
  name: 'orion_ansible_run_seconds',
  help: 'Duration of ansible-playbook runs.',
  labelNames: ['playbook'] as const,
  buckets: LONG_BUCKETS,
  registers: [registry],
});

export const ansibleRunsTotal = new Counter({
  name: 'orion_ansible_runs_total',
  help: 'ansible-playbook runs by playbook and result.',
  labelNames: ['playbook', 'result'] as const,
  registers: [registry],
});

export const terraformRunsTotal = new Counter({
  name: 'orion_terraform_runs_total',
  help: 'Terraform/OpenTofu runs by operation and result.',
  labelNames: ['op', 'result'] as const,
  registers: [registry],
});

export const terraformRunSeconds = new Histogram({
  name: 'orion_terraform_run_seconds',
  help: 'Duration of Terraform/OpenTofu runs by operation.',
  labelNames: ['op'] as const,
  buckets: LONG_BUCKETS,
  registers: [registry],
});

export const provisionSeconds = new Histogram({
  name: 'orion_provision_seconds',
  help: 'From resource creation to Ready.',
  labelNames: ['kind'] as const,
  buckets: LONG_BUCKETS,
  registers: [registry],
});

export const kubeApiRequests = new Counter({
  name: 'orion_kube_api_requests_total',
  help: 'Kubernetes API requests by verb, resource and HTTP code (Kubernetes mode).',
  labelNames: ['verb', 'resource', 'code'] as const,
  registers: [registry],
});
