// Wires controllers to a store: each controller reconciles one kind, and changes of that kind (and
// of the kinds it watches) become keys in its queue. Workers start only after the store has synced and, with an
// elector, only once this process leads: a standby keeps its cache (and /readyz) but reconciles nothing.
import { keyOf, parseRefKey } from '../api/refs.js';
import type { KindName } from '../api/types.js';
import { recordFailure } from '../store/status-writer.js';
import type { Store, WatchEvent } from '../store/store.js';
import { logger } from '../telemetry/logger.js';
import { Controller, type ReconcileFn } from './controller.js';
import type { BackoffOptions } from './queue.js';

export interface WatchMapping {
  kind: KindName;
  /** Keys of this controller's kind to reconcile when an object of `kind` changes. */
  map: (event: WatchEvent) => string[];
}

export interface ControllerSetup {
  name: string;
  kind: KindName;
  reconcile: ReconcileFn;
  concurrency?: number;
  backoff?: BackoffOptions;
  watches?: WatchMapping[];
  /**
   * false: a write of this process to one of its objects (a status, a finalizer) does not reconcile it again: the
   * controller made it in the middle of a reconcile, knowing what it wrote, and a failure waits for the backoff.
   * Changes from elsewhere, and any change of spec or deletion, always do. Default true.
   */
  reconcileOnOwnWrites?: boolean;
  /** Keys to reconcile when a Secret changes. */
  onSecret?: (namespace: string, name: string) => string[];
  /** Lets go of what the controller holds between reconciles (connections), once no reconcile runs any more. */
  stop?: () => void | Promise<void>;
}

/** Who may reconcile when several Orion processes watch the same objects (kube mode: a Lease, src/kube/leader.ts). */
export interface Elector {
  /** Resolves once this process leads. */
  acquire(): Promise<void>;
  /** Lets go, so that a standby can take over at once. */
  release(): Promise<void>;
}

export interface ManagerOptions {
  elector?: Elector;
}

export class Manager {
  private readonly setups: ControllerSetup[] = [];
  private readonly controllers: Controller[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private started = false;

  constructor(
    readonly store: Store,
    private readonly options: ManagerOptions = {},
  ) {}

  add(setup: ControllerSetup): this {
    this.setups.push(setup);
    return this;
  }

  get running(): boolean {
    return this.started;
  }

  controller(name: string): Controller | undefined {
    return this.controllers.find((c) => c.name === name);
  }

  async start(): Promise<void> {
    // Subscribe before the store syncs so that no change between list and watch is missed.
    for (const setup of this.setups) this.controllers.push(this.wire(setup));
    await this.store.start();
    await this.options.elector?.acquire();
    for (const [index, controller] of this.controllers.entries()) {
      const setup = this.setups[index] as ControllerSetup;
      controller.start();
      for (const obj of this.store.list(setup.kind)) controller.enqueue(keyOf(obj));
    }
    this.started = true;
    logger.info({ controllers: this.setups.map((s) => s.name), mode: this.store.mode }, 'controllers started');
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.all(this.controllers.map((c) => c.stop()));
    await Promise.all(this.setups.map((s) => s.stop?.()));
    // Only once no reconcile of this term runs any more may another process lead.
    await this.options.elector?.release();
    await this.store.stop();
    this.started = false;
  }

  private wire(setup: ControllerSetup): Controller {
    const controller = new Controller({
      name: setup.name,
      reconcile: setup.reconcile,
      concurrency: setup.concurrency,
      backoff: setup.backoff,
      recordFailure: (key, failure, stalled) => recordFailure(this.store, parseRefKey(key), failure, stalled),
    });
    const own = setup.reconcileOnOwnWrites === false ? exceptOwnWrites() : (event: WatchEvent): string[] => [keyOf(event.object)];
    for (const mapping of [{ kind: setup.kind, map: own }, ...(setup.watches ?? [])]) {
      this.unsubscribe.push(
        this.store.watch(mapping.kind, (event) => {
          for (const key of mapping.map(event)) controller.enqueue(key);
        }),
      );
    }
    if (setup.onSecret) {
      const onSecret = setup.onSecret;
      this.unsubscribe.push(
        this.store.watchSecrets((namespace, name) => {
          for (const key of onSecret(namespace, name)) controller.enqueue(key);
        }),
      );
    }
    return controller;
  }
}

/** The own-kind mapping that lets through every change but a write of this process that left spec and deletion alone. */
function exceptOwnWrites(): (event: WatchEvent) => string[] {
  const seen = new Map<string, string>();
  return (event) => {
    const key = keyOf(event.object);
    if (event.type === 'DELETED') {
      seen.delete(key);
      return [key];
    }
    const { uid, generation, deletionTimestamp } = event.object.metadata;
    const signature = JSON.stringify([uid, generation, deletionTimestamp ?? null]);
    const same = event.type === 'MODIFIED' && seen.get(key) === signature;
    seen.set(key, signature);
    return same && event.ownWrite ? [] : [key];
  };
}
