// Creates and removes a tenant's login on a Node by running the create_user / delete_user playbooks
// over SSH, trusting only the Node's pinned host key and using the key of the Node's Secret. The tenant
// travels as the node's host vars, and the run may share its ansible-playbook process with runs on other
// nodes (AnsibleCoalescer): the result is this node's own.
//
// Every run names the rental that owns the account (its uid): the playbooks create and remove only an account
// whose marker on the node holds that uid (docs/adr/0016-tenant-accounts.md). The node's own login is never a
// tenant: a run for it does not start.
import type { NodeResource } from '../../src/api/types.js';
import type { ObjectRef } from '../../src/api/refs.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { AnsibleRunResult } from '../../src/exec/ansible/types.js';
import type { Store } from '../../src/store/store.js';

export interface TenantAccessRequest {
  node: NodeResource;
  playbook: string;
  user: string;
  /** The uid of the rental the account belongs to: written into the account's marker, checked before removal. */
  ownerUid: string;
  sshPublicKeys?: readonly string[];
  /** The browser console's key for this login (src/store/console-keys.ts), authorized beside the tenant's own. */
  consoleKey?: string;
  sudo?: boolean;
  /** The resource whose logs (`orion logs`) hold this run. */
  owner: ObjectRef;
  signal?: AbortSignal;
}

/** A problem that prevents the run from starting (no pinned key, missing secret). */
export class TenantAccessError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'TenantAccessError';
  }
}

/** The tenant is the node's own login (Node.spec.user), which Orion never creates nor removes. */
export class AdminLoginError extends TenantAccessError {
  constructor(user: string, node: NodeResource) {
    super(`user ${user} is the login Orion uses on node ${node.metadata.name}: it can never be a tenant`, 'AdminLogin');
    this.name = 'AdminLoginError';
  }
}

/** The reason a playbook gives when it refused an account Orion did not create (its failure message starts with it). */
export const ACCOUNT_EXISTS = 'AccountExists';

/** Whether the run failed because the account exists and is not this rental's: nothing on the node changed. */
export function refusedExistingAccount(result: AnsibleRunResult): boolean {
  return result.result === 'failed' && (result.message ?? '').trimStart().startsWith(`${ACCOUNT_EXISTS}:`);
}

export class TenantAccess {
  constructor(
    private readonly store: Store,
    private readonly runner: AnsibleRunner,
  ) {}

  async run(req: TenantAccessRequest): Promise<AnsibleRunResult> {
    const { node } = req;
    if (req.user === node.spec.user) throw new AdminLoginError(req.user, node);
    const hostKey = node.status?.hostKey?.key;
    if (!hostKey) throw new TenantAccessError(`node ${node.metadata.name} has no pinned host key yet`, 'HostKeyNotPinned');
    const secret = await this.store.readSecret(node.metadata.namespace, node.spec.secretRef.name);
    const privateKey = secret?.privateKey;
    if (!privateKey) {
      throw new TenantAccessError(`secret "${node.spec.secretRef.name}" of node ${node.metadata.name} has no privateKey`, 'SecretMissing');
    }
    // The tenant is the node's host vars, so that runs on many nodes can share one ansible-playbook.
    const vars = {
      tenant_user: req.user,
      tenant_owner: req.ownerUid,
      ...(req.sshPublicKeys ? { tenant_ssh_keys: [...req.sshPublicKeys] } : {}),
      ...(req.consoleKey ? { tenant_console_key: req.consoleKey } : {}),
      ...(req.sudo !== undefined ? { tenant_sudo: req.sudo } : {}),
    };
    return this.runner.run({
      playbook: req.playbook,
      hosts: [{ name: node.metadata.name, address: node.spec.address, port: node.spec.port, user: node.spec.user, hostKey, vars }],
      privateKey,
      extraVars: {},
      resource: req.owner,
      signal: req.signal,
      coalesce: true,
    });
  }
}
