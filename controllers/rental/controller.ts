// Rental controller: binds a tenant's rental to a free, Alive node matching its selector, creates the
// tenant there with Ansible, publishes the connection, moves the rental when its node dies, and on
// deletion or TTL expiry removes the tenant before the node is free again. What it runs and where it binds are the
// admin's RentalClass's (class.ts): a rental its class refuses gets nothing on any node. Driven by Rental, Node and
// RentalClass events: nothing polls. A failure is thrown (RetryLater, TerminalError) and the controller loop records it.
import { reaffirmed } from '../../src/api/status.js';
import type { NodeResource, RentalClassResource, RentalResource } from '../../src/api/types.js';
import { parseRefKey, refOf } from '../../src/api/refs.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import { InvalidPlaybookError, InvalidRunRequestError, type AnsibleRunResult } from '../../src/exec/ansible/types.js';
import type { ReconcileRequest, ReconcileResult } from '../../src/runtime/controller.js';
import { RetryLater, TerminalError } from '../../src/runtime/errors.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { StatusDraft, writeStatus } from '../../src/store/status-writer.js';
import { FINALIZER, type Store } from '../../src/store/store.js';
import type { ConsoleKeys } from '../../src/store/console-keys.js';
import { rentalFailoverSeconds, rentalFailovers } from '../../src/telemetry/metrics.js';
import { ansibleRunSummary, describeAnsibleRun } from '../run-summary.js';
import { RentalScheduler, tenantOnNode } from './scheduler.js';
import { classTermsChange, startingChange, unboundChange } from './status.js';
import { expiryOf, leaving, mustLeave, provisionHash, rentalsAffectedBy, untilExpiry } from './terms.js';
import { CLASS_REFUSED, checkClassPlaybooks, isRefusal, releasePlaybookOf, rentalsAffectedByClass, termsFromStore, type ClassRefusal, type RentalTerms } from './class.js';
import { AdminLoginError, TenantAccess, TenantAccessError, refusedExistingAccount } from '../node/tenant-access.js';

export interface RentalControllerOptions {
  runner: AnsibleRunner;
  concurrency?: number;
  /** The browser console's per-rental keys; without them no console key is authorized. */
  consoleKeys?: ConsoleKeys;
}

export function rentalController(store: Store, options: RentalControllerOptions): ControllerSetup {
  const steps = new RentalSteps(store, options.runner, options.consoleKeys);
  return {
    name: 'rental',
    kind: 'Rental',
    concurrency: options.concurrency ?? 8,
    reconcile: (request) => steps.reconcile(request),
    watches: [
      { kind: 'Node', map: (event) => rentalsAffectedBy(store, event) },
      { kind: 'RentalClass', map: (event) => rentalsAffectedByClass(store, event) },
    ],
  };
}

class RentalSteps {
  private readonly scheduler: RentalScheduler;
  private readonly access: TenantAccess;

  constructor(
    private readonly store: Store,
    private readonly runner: AnsibleRunner,
    private readonly consoleKeys?: ConsoleKeys,
  ) {
    this.scheduler = new RentalScheduler(store);
    this.access = new TenantAccess(store, runner);
  }

  async reconcile({ key, signal }: ReconcileRequest): Promise<ReconcileResult | void> {
    let rental = this.store.get<RentalResource>(parseRefKey(key));
    if (!rental) return;
    if (rental.metadata.deletionTimestamp) return this.finalize(rental, signal);
    const terms = termsFromStore(this.store, rental);
    if (isRefusal(terms)) return this.refuse(rental, terms, signal);
    checkClassPlaybooks(this.runner, terms);
    rental = await this.fitsAgain(rental);
    if (!rental.metadata.finalizers?.includes(FINALIZER)) {
      // The finalizer goes on alone, before any external effect; its watch event brings the rental back.
      await this.store.addFinalizer(rental, FINALIZER);
      return;
    }
    const expiresAt = expiryOf(rental);
    if (expiresAt !== undefined && Date.now() >= expiresAt) return this.expire(rental, signal);

    let node = this.scheduler.nodes.heldNode(rental);
    if (node && mustLeave(node)) {
      rental = await this.startFailover(rental, node);
      node = undefined;
    } else if (!node && rental.status?.nodeName) {
      rental = await this.startFailover(rental, undefined);
    }
    if (!node) {
      const placed = await this.bind(rental, terms);
      if (!placed) return untilExpiry(expiresAt);
      [rental, node] = placed;
    }
    await this.provision(rental, node, terms, signal);
    await this.observed(rental);
    return untilExpiry(expiresAt);
  }

  /** A spec change that needed no run (a new TTL): the status still says it was looked at. */
  private async observed(rental: RentalResource): Promise<void> {
    const latest = this.store.get<RentalResource>(refOf(rental)) ?? rental;
    const change = reaffirmed(latest);
    if (change) await writeStatus(this.store, latest, change);
  }

  /**
   * Its class refuses the rental: nothing runs, it is not bound. One already on a node keeps it as provisioned, whatever
   * the refusal (sudo withdrawn, a shorter longest TTL, a class gone): releasing would remove the tenant's account and
   * files because an admin edited a class, and a policy change applies to what comes next, as Kubernetes admission
   * does. It still ends at its own TTL. Terminal until the rental or a class changes (both bring it back).
   */
  private async refuse(rental: RentalResource, refusal: ClassRefusal, signal: AbortSignal): Promise<ReconcileResult | void> {
    const node = this.scheduler.nodes.heldNode(rental);
    if (!node) throw new TerminalError(refusal.message, CLASS_REFUSED, { phase: 'Failed' });
    const expiresAt = expiryOf(rental);
    if (expiresAt !== undefined && Date.now() >= expiresAt) return this.expire(rental, signal);
    const latest = this.store.get<RentalResource>(refOf(rental)) ?? rental;
    await writeStatus(this.store, latest, classTermsChange(latest, `${refusal.message}; the tenant stays on ${node.metadata.name} as provisioned until the rental ends, and nothing more runs`) ?? {});
    return untilExpiry(expiresAt);
  }

  /** A rental its class had refused while it was bound fits its class again: the ClassTerms condition says so. */
  private async fitsAgain(rental: RentalResource): Promise<RentalResource> {
    const change = classTermsChange(rental);
    return change ? writeStatus(this.store, rental, change) : rental;
  }

  /**
   * The node died, is being deleted or vanished: let go of it, keep its tenant for cleanup (a deleted node's finalizer
   * removes it), and look for another.
   */
  private async startFailover(rental: RentalResource, node: NodeResource | undefined): Promise<RentalResource> {
    const nodeName = node?.metadata.name ?? rental.status?.nodeName ?? '?';
    const why = leaving(node);
    if (node) await this.scheduler.release(node, rental, why.reason);
    const declaredDeadAt = why.since ?? new Date().toISOString();
    const message = `node ${nodeName} is ${why.state}; moving to a healthy node`;
    await this.store.recordEvent(rental, { type: 'Warning', reason: 'NodeDead', message });
    return writeStatus(this.store, rental, unboundChange(rental, 'Migrating', 'NodeDead', message, {
      failoverStartedAt: rental.status?.failoverStartedAt ?? declaredDeadAt,
    }));
  }

  private async bind(rental: RentalResource, terms: RentalTerms): Promise<[RentalResource, NodeResource] | undefined> {
    const placement = await this.scheduler.place(rental, terms.nodeSelector);
    if ('unschedulable' in placement) {
      const { unschedulable: reason, message } = placement;
      if (rental.status?.phase !== 'Unschedulable') {
        await this.store.recordEvent(rental, { type: 'Warning', reason, message });
        if (rental.status?.failoverStartedAt) rentalFailovers.inc({ result: 'no_healthy_node' });
      }
      await writeStatus(this.store, rental, unboundChange(rental, 'Unschedulable', reason, message, pick(rental.status, 'failoverStartedAt')));
      return undefined;
    }
    // The claim on the node is the binding (heldNode finds it after a crash); the rental's status says so
    // together with the outcome of create_user, in one write.
    return [rental, placement.bound];
  }

  /**
   * Runs create_user unless it already ran with the same inputs on this node. The status it starts from
   * (bound to the node, or provisioning a renamed user) is written only when the run is slow to finish;
   * otherwise the run's outcome is the one status write.
   */
  private async provision(rental: RentalResource, node: NodeResource, terms: RentalTerms, signal: AbortSignal): Promise<void> {
    const consoleKey = (await this.consoleKeys?.of(rental))?.publicKey;
    const hash = provisionHash(rental, node, terms, consoleKey);
    if (rental.status?.provisionedHash === hash && rental.status.nodeName === node.metadata.name) return;
    const previousUser = rental.status?.nodeName === node.metadata.name ? rental.status.connection?.user : undefined;
    if (previousUser && previousUser !== rental.spec.user) {
      // The tenant was renamed: the old login goes through the node's cleanup, like a departed tenant.
      await this.scheduler.addCleanup(node, previousUser, rental, 'UserRenamed');
    }
    const draft = new StatusDraft(this.store, rental);
    const starting = startingChange(rental, node, previousUser);
    if (starting) draft.set(starting);
    await draft.run(async () => {
      const run = this.runPlaybook(draft.obj, node, terms.playbooks.create, signal, { create: { consoleKey } });
      await this.reportProgress(draft, run);
      const result = await run;
      if (result.result !== 'success') {
        const message = `${result.playbook} on ${node.metadata.name}: ${describeAnsibleRun(result)}`;
        const details = { phase: 'Failed', condition: 'Provisioned', fields: { lastRun: ansibleRunSummary(result) } };
        // An account Orion did not make: nothing changed on the node, and retrying cannot change that (Node events
        // still bring the rental back, so it proceeds once an admin has dealt with the account).
        if (refusedExistingAccount(result)) throw new TerminalError(message, 'AccountExists', details);
        throw new RetryLater('PlaybookFailed', message, details);
      }
      this.markReady(draft, node, hash, terms, result);
    });
    await this.announceReady(draft.obj, node, rental.status?.failoverStartedAt);
  }

  /** Writes the staged (Provisioning / Migrating) status when the run has not finished after a short while, so that a slow create_user shows. */
  private async reportProgress(draft: StatusDraft<RentalResource>, run: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), PROGRESS_AFTER_MS)));
    const isSlow = await Promise.race([run.then(() => false, () => false), slow]);
    clearTimeout(timer);
    if (!isSlow) return;
    try {
      await draft.flush();
    } catch (err) {
      await run.catch(() => undefined); // never leave the run behind
      throw err;
    }
  }

  private markReady(draft: StatusDraft<RentalResource>, node: NodeResource, hash: string, terms: RentalTerms, result: AnsibleRunResult): void {
    const rental = draft.obj;
    draft.set({
      phase: 'Ready',
      conditions: [
        { type: 'Provisioned', status: 'True', reason: 'UserCreated', message: `user ${rental.spec.user} exists on ${node.metadata.name}` },
        { type: 'Ready', status: 'True', reason: 'Ready', message: `ssh -p ${node.spec.port} ${rental.spec.user}@${node.spec.address}` },
      ],
      fields: { provisionedHash: hash, releasePlaybook: terms.playbooks.delete, readyAt: new Date().toISOString(), lastRun: ansibleRunSummary(result), failoverStartedAt: undefined },
    });
  }

  /** One Event per outcome: where the rental is bound and that its user is there. */
  private async announceReady(rental: RentalResource, node: NodeResource, failoverStartedAt: string | undefined): Promise<void> {
    if (failoverStartedAt) {
      rentalFailovers.inc({ result: 'success' });
      rentalFailoverSeconds.observe((Date.now() - Date.parse(failoverStartedAt)) / 1000);
      await this.store.recordEvent(rental, { type: 'Normal', reason: 'Migrated', message: `moved to node ${node.metadata.name}; user ${rental.spec.user} is ready there` });
    } else {
      await this.store.recordEvent(rental, { type: 'Normal', reason: 'Provisioned', message: `bound to node ${node.metadata.name}; user ${rental.spec.user} is ready there` });
    }
  }

  private async expire(rental: RentalResource, signal: AbortSignal): Promise<ReconcileResult | void> {
    if (rental.status?.phase === 'Expired' && !this.scheduler.nodes.heldNode(rental)) return;
    await this.releaseNode(rental, signal);
    await this.store.recordEvent(rental, { type: 'Normal', reason: 'Expired', message: 'TTL reached; the tenant was removed' });
    const latest = this.store.get<RentalResource>(refOf(rental)) ?? rental;
    // Orion will do nothing more for it: Stalled, as GitOps tools read it.
    await writeStatus(this.store, latest, { ...unboundChange(latest, 'Expired', 'Expired', `TTL of ${rental.spec.ttlSeconds}s reached`), stalled: true });
  }

  private async finalize(rental: RentalResource, signal: AbortSignal): Promise<void> {
    if (!rental.metadata.finalizers?.includes(FINALIZER)) return;
    await this.releaseNode(rental, signal);
    const latest = this.store.get<RentalResource>(refOf(rental)) ?? rental;
    await this.consoleKeys?.discard(latest);
    await this.store.removeFinalizer(latest, FINALIZER);
  }

  /**
   * Removes the tenant from its node and frees the node. A node that is not Alive cannot block this:
   * the node keeps the tenant in its cleanup list and its release playbook runs there when it is back.
   */
  private async releaseNode(rental: RentalResource, signal: AbortSignal): Promise<void> {
    const node = this.scheduler.nodes.heldNode(rental);
    if (!node) return;
    if (node.status?.health !== 'Alive') {
      await this.scheduler.release(node, rental, 'RentalReleasedWhileNodeDown');
      await this.store.recordEvent(rental, { type: 'Warning', reason: 'CleanupDeferred', message: `node ${node.metadata.name} is not Alive; the user is removed when it is back` });
      return;
    }
    if (rental.status?.phase !== 'Releasing') {
      rental = await writeStatus(this.store, rental, { phase: 'Releasing', conditions: [
        { type: 'Ready', status: 'False', reason: 'Releasing', message: `removing user ${rental.spec.user} from ${node.metadata.name}` },
      ] });
    }
    let result: AnsibleRunResult;
    try {
      const playbook = releasePlaybookOf(rental, this.store.list<RentalClassResource>('RentalClass'));
      result = await this.runPlaybook(rental, node, playbook, signal, { user: tenantOnNode(rental) });
    } catch (err) {
      // The node's own login was never made by Orion: there is nothing of this rental's to remove.
      if (err instanceof AdminLoginError) return this.scheduler.release(node, rental);
      throw err;
    }
    if (result.result === 'success') return this.scheduler.release(node, rental);
    if (result.result === 'unreachable') return this.scheduler.release(node, rental, 'DeleteUserUnreachable');
    throw new RetryLater('PlaybookFailed', `${result.playbook} on ${node.metadata.name}: ${describeAnsibleRun(result)}`, {
      phase: 'Releasing', fields: { lastRun: ansibleRunSummary(result) },
    });
  }

  /** `as`: the login to act on (default the rental's user) and, for a create run, the console's key to authorize. */
  private async runPlaybook(rental: RentalResource, node: NodeResource, playbook: string, signal: AbortSignal, as: { user?: string; create?: { consoleKey?: string } } = {}): Promise<AnsibleRunResult> {
    const { user = rental.spec.user, create } = as;
    try {
      return await this.access.run({
        node,
        playbook,
        user,
        ownerUid: rental.metadata.uid,
        ...(create ? { sshPublicKeys: rental.spec.sshPublicKeys, sudo: rental.spec.sudo, consoleKey: create.consoleKey } : {}),
        owner: refOf(rental),
        signal,
      });
    } catch (err) {
      // The request itself is wrong (bad key, unsafe vars): retrying cannot help.
      if (err instanceof InvalidRunRequestError || err instanceof InvalidPlaybookError) throw new TerminalError(err.message, 'InvalidRequest', { phase: 'Failed' });
      if (!(err instanceof TenantAccessError)) throw err;
      if (err instanceof AdminLoginError) {
        if (!create) throw err; // a release: the caller lets go
        // The node's own login is not a tenant Orion may take over.
        throw new TerminalError(err.message, err.reason, { phase: 'Failed' });
      }
      throw new RetryLater(err.reason, err.message, { phase: 'Failed' });
    }
  }
}

/** How long create_user may run before the rental's status says it is provisioning. */
const PROGRESS_AFTER_MS = 5000;

function pick<T extends object, K extends keyof T>(obj: T | undefined, key: K): Partial<T> {
  return obj && obj[key] !== undefined ? ({ [key]: obj[key] } as unknown as Partial<T>) : {};
}
