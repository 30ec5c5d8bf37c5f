// Node cleanup: a node that came back keeps tenants of rentals that left it while it was down. This
// controller runs `delete_user` for each of them once the node is Alive, and only then is the node
// free again (the scheduler skips nodes with pending cleanup).
import type { NodeResource } from '../../src/api/types.js';
import { parseRefKey, refOf } from '../../src/api/refs.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { ReconcileRequest } from '../../src/runtime/controller.js';
import type { ControllerSetup } from '../../src/runtime/manager.js';
import { ConflictError } from '../../src/store/errors.js';
import { retryOnConflict } from '../../src/store/retry.js';
import { writeStatus } from '../../src/store/status-writer.js';
import type { Store } from '../../src/store/store.js';
import { TenantAccess } from './tenant-access.js';

export const DELETE_USER_PLAYBOOK = 'delete_user';

export function nodeCleanupController(store: Store, runner: AnsibleRunner, concurrency = 4): ControllerSetup {
  const access = new TenantAccess(store, runner);

  async function reconcile({ key, signal }: ReconcileRequest): Promise<void> {
    const node = store.get<NodeResource>(parseRefKey(key));
    if (!node || node.status?.health !== 'Alive') return;
    for (const entry of node.status.cleanup ?? []) {
      const result = await access.run({ node, playbook: DELETE_USER_PLAYBOOK, user: entry.user, owner: refOf(node), signal });
      if (result.result !== 'success') {
        throw new Error(`delete_user ${entry.user} on ${node.metadata.name}: ${result.result}: ${result.message ?? ''}`);
      }
      await removeEntry(store, node, entry.user);
      await store.recordEvent(node, { type: 'Normal', reason: 'TenantRemoved', message: `user ${entry.user} of ${entry.rental} removed` });
    }
  }

  return { name: 'node-cleanup', kind: 'Node', reconcile, concurrency };
}

async function removeEntry(store: Store, node: NodeResource, user: string): Promise<void> {
  await retryOnConflict(async () => {
    const current = store.get<NodeResource>(refOf(node));
    if (!current) return;
    await writeStatus(store, current, { fields: { cleanup: (current.status?.cleanup ?? []).filter((c) => c.user !== user) } });
  }, { gaveUp: () => new ConflictError(`node ${node.metadata.name} kept changing while recording its cleanup`) });
}
