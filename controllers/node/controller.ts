// Node controller: probes each Node over SSH on its interval, pins its host key on first contact,
// and reports Alive/Dead with hysteresis. Status is written only when something a reader cares about
// changed (health, counters, error, host key) or when the heartbeat is due, so steady nodes cost no writes.
import { isDeepStrictEqual } from 'node:util';
import { buildStatus, type StatusChange, type StatusPatch } from '../../src/api/status.js';
import type { NodeResource, NodeStatus } from '../../src/api/types.js';
import { keyOf, parseRefKey, refOf } from '../../src/api/refs.js';
import { ProbePool } from '../../src/exec/probe-pool.js';
import type { probeNode, ProbeResult } from '../../src/exec/ssh.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import type { ReconcileRequest, ReconcileResult } from '../../src/runtime/controller.js';
import { ConflictError } from '../../src/store/errors.js';
import { retryOnConflict } from '../../src/store/retry.js';
import { writeStatus } from '../../src/store/status-writer.js';
import type { Store } from '../../src/store/store.js';
import { nodeProbeDuration } from '../../src/telemetry/metrics.js';
import { nextHealth, type Health } from './health.js';
import { nextProbeDelay } from './probe-schedule.js';

/** Set to the fingerprint of a new host key to accept it after a legitimate reinstall. */
export const ACCEPT_HOST_KEY_ANNOTATION = 'orion.lab/accept-host-key';

export interface NodeControllerOptions {
  /** How many probes run at once. */
  concurrency?: number;
  /** Longest time between two status writes of a steady node (lastProbeTime refresh). */
  heartbeatSeconds?: number;
  probe?: typeof probeNode;
}

interface ProbeMemory {
  uid: string;
  generation: number;
  /** When the next probe is due (ms since the epoch). */
  dueAt: number;
}

type Spec = NodeResource['spec'];

export function nodeController(store: Store, options: NodeControllerOptions = {}): ControllerSetup {
  const memory = new Map<string, ProbeMemory>();
  const heartbeatMs = (options.heartbeatSeconds ?? 60) * 1000;
  // Probes run on a worker thread unless the caller brings its own (src/exec/probe-pool.ts says why).
  const pool = options.probe ? undefined : new ProbePool();
  const probe = options.probe ?? (pool as ProbePool).probe;

  async function reconcile({ key }: ReconcileRequest): Promise<ReconcileResult | void> {
    const node = store.get<NodeResource>(parseRefKey(key));
    if (!node || node.metadata.deletionTimestamp) {
      memory.delete(key);
      return;
    }
    const seen = memory.get(key);
    const waitMs = msUntilDue(seen, node);
    if (waitMs > 0) return { requeueAfterMs: waitMs };

    const delayMs = nextProbeDelay(node.spec.probe.intervalSeconds * 1000, !seen || seen.uid !== node.metadata.uid);
    memory.set(key, { uid: node.metadata.uid, generation: node.metadata.generation, dueAt: Date.now() + delayMs });
    const outcome = await probeOnce(store, node, probe);
    const written = await writeProbeStatus(store, node, outcome, heartbeatMs);
    if (written && written.status.health !== written.previousHealth) await recordHealthChange(store, node, written.status);
    return { requeueAfterMs: delayMs };
  }

  return {
    name: 'node',
    kind: 'Node',
    reconcile,
    concurrency: options.concurrency ?? 64,
    stop: () => pool?.close(),
    onSecret: (namespace, name) =>
      store
        .list<NodeResource>('Node', namespace)
        .filter((n) => n.spec.secretRef.name === name)
        .map(keyOf),
  };
}

/** Milliseconds until the node's next probe is due; 0 when it is due now (or its spec changed). */
function msUntilDue(seen: ProbeMemory | undefined, node: NodeResource): number {
  if (!seen || seen.uid !== node.metadata.uid || seen.generation !== node.metadata.generation) return 0;
  return Math.max(0, seen.dueAt - Date.now());
}

async function recordHealthChange(store: Store, node: NodeResource, status: NodeStatus): Promise<void> {
  const dead = status.health === 'Dead';
  await store.recordEvent(node, {
    type: dead ? 'Warning' : 'Normal',
    reason: dead ? 'NodeDead' : 'NodeAlive',
    message: dead ? `node is Dead: ${status.lastError ?? 'probe failed'}` : 'node is Alive',
  });
}

/**
 * Writes the probe's outcome; on a conflict (the scheduler or the cleanup wrote the node meanwhile)
 * it re-reads the node and applies the same outcome again rather than losing the probe.
 */
async function writeProbeStatus(
  store: Store,
  node: NodeResource,
  outcome: ProbeOutcome,
  heartbeatMs: number,
): Promise<{ status: NodeStatus; previousHealth?: string } | undefined> {
  // The probe took a while: start from the latest cached node when only its status moved (a claim).
  const latest = store.get<NodeResource>(refOf(node));
  const start = latest?.metadata.uid === node.metadata.uid && latest.metadata.generation === node.metadata.generation ? latest : node;
  try {
    return await retryOnConflict(async (attempt) => {
      const current = attempt === 0 ? start : store.get<NodeResource>(refOf(node));
      const change = current && nextStatus(current, outcome, heartbeatMs);
      if (!current || !change) return undefined;
      const written = await writeStatus(store, current, change);
      return { status: written.status ?? {}, previousHealth: current.status?.health };
    });
  } catch (err) {
    if (err instanceof ConflictError) return undefined; // the node kept changing: the next probe tells again
    throw err;
  }
}

/** What one probe found, including failures that happen before any connection. */
interface ProbeOutcome {
  ok: boolean;
  reason: string;
  message: string;
  result?: ProbeResult;
  pinKey?: { key: string; fingerprint: string };
}

async function probeOnce(store: Store, node: NodeResource, probe: typeof probeNode): Promise<ProbeOutcome> {
  const key = await loadProbeKey(store, node);
  if ('reason' in key) return key;
  const pinned = node.status?.hostKey?.key;
  const accept = node.metadata.annotations?.[ACCEPT_HOST_KEY_ANNOTATION];
  const stop = nodeProbeDuration.startTimer();
  const target = { address: node.spec.address, port: node.spec.port, user: node.spec.user, privateKey: key.privateKey, timeoutMs: node.spec.probe.timeoutSeconds * 1000 };
  let result = await probe({ ...target, pinnedHostKey: pinned });
  if (result.hostKeyMismatch && accept && accept === result.hostKeyFingerprint) {
    // The operator vouched for this exact new key: probe again trusting it, then re-pin it.
    result = await probe({ ...target, pinnedHostKey: result.hostKey });
  }
  stop({ result: result.ok ? 'success' : 'failure' });
  return classify(result, pinned);
}

/** The private key of the node's Secret, or the outcome that says why there is none. */
async function loadProbeKey(store: Store, node: NodeResource): Promise<{ privateKey: string } | ProbeOutcome> {
  const secret = await store.readSecret(node.metadata.namespace, node.spec.secretRef.name);
  if (!secret) return failure('SecretMissing', `secret "${node.spec.secretRef.name}" not found`);
  const privateKey = secret.privateKey;
  if (!privateKey) return failure('SecretInvalid', `secret "${node.spec.secretRef.name}" has no "privateKey" key`);
  return { privateKey };
}

function classify(result: ProbeResult, pinned: string | undefined): ProbeOutcome {
  if (result.ok) {
    const repin = result.hostKey && result.hostKey !== pinned;
    const pinKey = repin ? { key: result.hostKey as string, fingerprint: result.hostKeyFingerprint ?? '' } : undefined;
    return { ok: true, reason: 'ProbeSucceeded', message: 'SSH probe succeeded', result, pinKey };
  }
  if (result.hostKeyMismatch) {
    return {
      ok: false,
      reason: 'HostKeyChanged',
      message: `${result.error ?? 'host key changed'}; if the host was reinstalled, set annotation ${ACCEPT_HOST_KEY_ANNOTATION}=${result.hostKeyFingerprint ?? ''}`,
      result,
    };
  }
  return { ok: false, reason: 'ProbeFailed', message: result.error ?? 'probe failed', result };
}

function failure(reason: string, message: string): ProbeOutcome {
  return { ok: false, reason, message };
}

/** The status change of a probe's outcome, or undefined when nothing worth a write changed. */
function nextStatus(node: NodeResource, outcome: ProbeOutcome, heartbeatMs: number): StatusChange<NodeStatus> | undefined {
  const previous = node.status ?? {};
  const spec: Spec = node.spec;
  const state = nextHealth(
    {
      health: (previous.health as Health | undefined) ?? 'Unknown',
      consecutiveFailures: previous.consecutiveFailures ?? 0,
      consecutiveSuccesses: previous.consecutiveSuccesses ?? 0,
    },
    outcome.ok,
    spec.probe,
  );
  // Missing credentials say nothing about the machine: its health is not known.
  const health: Health = outcome.reason.startsWith('Secret') ? 'Unknown' : state.health;
  const now = new Date();
  const change: StatusChange<NodeStatus> & { fields: StatusPatch<NodeStatus> } = {
    phase: health,
    conditions: [readyCondition(health, outcome)],
    // A changed host key waits for an admin (the accept annotation): Orion cannot make it healthy on its own.
    stalled: outcome.reason === 'HostKeyChanged',
    fields: {
      health,
      consecutiveFailures: state.consecutiveFailures,
      consecutiveSuccesses: state.consecutiveSuccesses,
      lastTransitionTime: health !== previous.health ? now.toISOString() : previous.lastTransitionTime ?? now.toISOString(),
      lastError: outcome.ok ? undefined : outcome.message,
      ...(outcome.pinKey ? { hostKey: { ...outcome.pinKey, pinnedAt: now.toISOString() } } : {}),
    },
  };
  const heartbeatDue = !previous.lastProbeTime || now.getTime() - Date.parse(previous.lastProbeTime) >= heartbeatMs;
  const changed = !isDeepStrictEqual(withoutProbeTiming(buildStatus(node, change, now)), withoutProbeTiming(previous));
  if (!changed && !heartbeatDue) return undefined;
  change.fields.lastProbeTime = now.toISOString();
  if (outcome.result) change.fields.lastProbeLatencyMs = Math.round(outcome.result.latencyMs);
  return change;
}

function withoutProbeTiming(status: NodeStatus): NodeStatus {
  const { lastProbeTime: _time, lastProbeLatencyMs: _latency, ...rest } = status;
  return rest;
}

function readyCondition(health: Health, outcome: ProbeOutcome) {
  if (health === 'Alive') {
    return outcome.ok
      ? { type: 'Ready', status: 'True' as const, reason: 'Alive', message: 'node answers SSH probes' }
      : { type: 'Ready', status: 'True' as const, reason: 'ProbeFailing', message: `still Alive, but: ${outcome.message}` };
  }
  if (health === 'Dead') return { type: 'Ready', status: 'False' as const, reason: outcome.ok ? 'Recovering' : outcome.reason, message: outcome.message };
  return { type: 'Ready', status: 'Unknown' as const, reason: outcome.reason, message: outcome.message };
}
