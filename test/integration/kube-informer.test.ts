// The informer's recovery paths against a real kube-apiserver, reached through a loopback proxy the test can
// break: a watch resumed from a compacted resourceVersion gets 410 Gone and lists again (the cache ends up
// equal to the server, deletions made during the outage included); a watch that goes silent without an error
// is torn down by the watchdog and resumed. The API server runs without its watch cache and compacts etcd
// every 2 s, so an old resourceVersion really expires within seconds.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import { Informer, type InformerSink, type RawObject } from '../../src/kube/informer.js';
import { waitFor } from '../harness/cluster.js';
import { startKube, type KubeHarness } from '../harness/kube.js';
import { TcpProxy } from '../harness/tcp-proxy.js';

const NS = 'informer-test';
const PATH = `/api/v1/namespaces/${NS}/configmaps`;

/** Keeps what the informer delivers, and how many full lists it made. */
class RecordingSink implements InformerSink {
  readonly objects = new Map<string, RawObject>();
  lists = 0;

  replace(items: RawObject[]): void {
    this.lists += 1;
    this.objects.clear();
    for (const item of items) this.objects.set(item.metadata.name, item);
  }

  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: RawObject): void {
    if (type === 'DELETED') this.objects.delete(object.metadata.name);
    else this.objects.set(object.metadata.name, object);
  }

  names(): string[] {
    return [...this.objects.keys()].sort();
  }
}

describe('informer recovery against a real kube-apiserver (410 Gone relist, watchdog)', () => {
  let kube: KubeHarness;
  let proxy: TcpProxy;
  let client: KubeClient;
  let direct: KubeClient;
  let informer: Informer;
  const sink = new RecordingSink();
  let watches = 0;

  const kubectl = async (args: string[]) => {
    const result = await kube.kubectl(args);
    if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };

  /** True once a watch from `resourceVersion` is refused as expired (410), i.e. etcd compacted past it. */
  const expired = async (resourceVersion: string): Promise<boolean> => {
    let gone = false;
    try {
      const stream = await direct.watch({
        path: PATH,
        resource: 'configmaps',
        query: { resourceVersion, timeoutSeconds: 1 },
        idleTimeoutMs: 5_000,
        onEvent: ({ type, object }) => {
          if (type === 'ERROR' && (object as { code?: number }).code === 410) gone = true;
        },
      });
      await stream.done;
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 410) return true;
      throw err;
    }
    return gone;
  };

  beforeAll(async () => {
    kube = await startKube({ apiServerArgs: ['--watch-cache=false', '--etcd-compaction-interval=2s'] });
    await kubectl(['create', 'namespace', NS]);
    proxy = new TcpProxy(Number(new URL(kube.server).port));
    await proxy.start();
    const config = parse(await readFile(kube.kubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const cluster of config.clusters) cluster.cluster.server = `https://127.0.0.1:${proxy.port}`;
    const proxied = join(kube.dir, 'kubeconfig-proxied');
    await writeFile(proxied, stringify(config), { mode: 0o600 });
    client = KubeClient.connect({ kubeconfig: proxied });
    direct = KubeClient.connect({ kubeconfig: kube.kubeconfig });
    client.observe((info) => {
      if (info.verb === 'watch') watches += 1;
    });
    informer = new Informer({
      client,
      path: PATH,
      resource: 'configmaps',
      sink,
      watchTimeoutSeconds: 300,
      watchdogSeconds: 3,
      backoff: { initialMs: 100, maxMs: 500 },
    });
    informer.start();
    await informer.synced;
  }, 300_000);

  afterAll(async () => {
    await informer?.stop();
    client?.close();
    direct?.close();
    await proxy?.stop();
    await kube?.stop();
  });

  it('lists again after 410 Gone: objects created and deleted while it was cut off are right', async () => {
    await kubectl(['create', 'configmap', '-n', NS, 'early', '--from-literal=k=v']);
    await waitFor('early seen', () => sink.objects.has('early'));
    const lastSeen = sink.objects.get('early')?.metadata.resourceVersion ?? '';
    const listsBefore = sink.lists;

    proxy.mode = 'refuse';
    proxy.cut();
    await kubectl(['delete', 'configmap', '-n', NS, 'early']);
    for (const name of ['during-1', 'during-2']) await kubectl(['create', 'configmap', '-n', NS, name, '--from-literal=k=v']);
    await waitFor('etcd compacted past what the informer saw', async () => {
      await kubectl(['label', 'configmap', '-n', NS, 'during-1', '--overwrite', `tick=${Date.now()}`]);
      return expired(lastSeen);
    }, 60_000);

    proxy.mode = 'pass';
    await waitFor('the cache equals the server', () => sink.names().join() === 'during-1,during-2', 60_000);
    expect(sink.lists).toBeGreaterThan(listsBefore);
    const server = JSON.parse(await kubectl(['get', 'configmap', '-n', NS, '-o', 'json'])) as { items: RawObject[] };
    expect(sink.names()).toEqual(server.items.map((i) => i.metadata.name).filter((n) => n !== 'kube-root-ca.crt').sort());
  });

  it('a watch that goes silent is restarted by the watchdog and misses nothing', async () => {
    await waitFor('a live watch', () => watches > 0);
    const watchesBefore = watches;
    // Open connections now carry nothing (no events, no bookmarks, no error); new ones work.
    proxy.freeze();
    await kubectl(['create', 'configmap', '-n', NS, 'while-silent', '--from-literal=k=v']);
    // The server's own watch timeout is 300 s or more: only the 3 s watchdog brings this change in time.
    await waitFor('the change made during the silence', () => sink.objects.has('while-silent'), 30_000);
    expect(watches).toBeGreaterThan(watchesBefore);
  });
});
