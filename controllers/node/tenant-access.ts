// Creates and removes a tenant's login on a Node by running the create_user / delete_user playbooks
// over SSH, trusting only the Node's pinned host key and using the key of the Node's Secret. The tenant
// travels as the node's host vars, and the run may share its ansible-playbook process with runs on other
// nodes (AnsibleCoalescer): the result is this node's own.
import type { NodeResource } from '../../src/api/types.js';
import type { ObjectRef } from '../../src/api/refs.js';
import type { AnsibleRunner } from '../../src/exec/ansible/runner.js';
import type { AnsibleRunResult } from '../../src/exec/ansible/types.js';
import type { Store } from '../../src/store/store.js';

export interface TenantAccessRequest {
  node: NodeResource;
  playbook: string;
  user: string;
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

export class TenantAccess {
  constructor(
    private readonly store: Store,
    private readonly runner: AnsibleRunner,
  ) {}

  async run(req: TenantAccessRequest): Promise<AnsibleRunResult> {
    const { node } = req;
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
