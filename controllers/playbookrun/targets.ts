// The hosts of a PlaybookRun: its named Nodes, each with its pinned host key, reached with the key of their Secret.
// A run uses one key, so the Nodes must share one Secret; anything missing is a reason the run cannot start.
import type { NodeResource, PlaybookRunResource } from '../../src/api/types.js';
import type { AnsibleHost } from '../../src/exec/ansible/types.js';
import type { Store } from '../../src/store/store.js';

export type Targets = { hosts: AnsibleHost[]; privateKey: string } | { problem: string; reason: string };

export async function resolveTargets(store: Store, run: PlaybookRunResource): Promise<Targets> {
  const namespace = run.metadata.namespace;
  const nodes: NodeResource[] = [];
  for (const name of new Set(run.spec.nodes)) {
    const node = store.get<NodeResource>({ kind: 'Node', namespace, name });
    if (!node) return { problem: `node ${name} does not exist in namespace ${namespace}`, reason: 'NodeNotFound' };
    if (!node.status?.hostKey?.key) return { problem: `node ${name} has no pinned host key yet (never reached)`, reason: 'HostKeyNotPinned' };
    nodes.push(node);
  }
  const secrets = new Set(nodes.map((n) => n.spec.secretRef.name));
  if (secrets.size > 1) {
    return { problem: `the nodes use different SSH keys (secrets ${[...secrets].sort().join(', ')}); one run uses one key`, reason: 'MixedKeys' };
  }
  const [secretName] = secrets as Set<string>;
  const privateKey = (await store.readSecret(namespace, secretName ?? ''))?.privateKey;
  if (!privateKey) return { problem: `secret "${secretName}" of the nodes has no privateKey`, reason: 'SecretMissing' };
  const hosts = nodes.map((node) => ({
    name: node.metadata.name,
    address: node.spec.address,
    port: node.spec.port,
    user: node.spec.user,
    hostKey: node.status?.hostKey?.key ?? '',
  }));
  return { hosts, privateKey };
}
