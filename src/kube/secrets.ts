// The Secrets Orion reads in Kubernetes mode (SSH keys, tokens), kept decoded in memory and fed by an
// informer limited to the watched namespace(s), so a Secret that appears or changes wakes the
// controllers that wait for it. Nothing here logs a Secret's data.
import { isDeepStrictEqual } from 'node:util';
import type { InformerSink, RawObject } from './informer.js';

export class SecretCache implements InformerSink {
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly watchers = new Set<(namespace: string, name: string) => void>();

  get(namespace: string, name: string): Record<string, string> | undefined {
    const data = this.secrets.get(`${namespace}/${name}`);
    return data ? { ...data } : undefined;
  }

  watch(handler: (namespace: string, name: string) => void): () => void {
    this.watchers.add(handler);
    return () => this.watchers.delete(handler);
  }

  replace(items: RawObject[]): void {
    const listed = new Set<string>();
    for (const item of items) {
      listed.add(secretKey(item));
      this.event('ADDED', item);
    }
    for (const key of [...this.secrets.keys()]) {
      if (listed.has(key)) continue;
      this.secrets.delete(key);
      this.notify(key);
    }
  }

  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: RawObject): void {
    const key = secretKey(object);
    if (type === 'DELETED') {
      if (this.secrets.delete(key)) this.notify(key);
      return;
    }
    const data = decode(object.data);
    if (isDeepStrictEqual(this.secrets.get(key), data)) return;
    this.secrets.set(key, data);
    this.notify(key);
  }

  private notify(key: string): void {
    const [namespace = '', name = ''] = key.split('/');
    for (const handler of this.watchers) handler(namespace, name);
  }
}

function secretKey(obj: RawObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

function decode(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof data !== 'object' || data === null) return out;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string') out[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}
