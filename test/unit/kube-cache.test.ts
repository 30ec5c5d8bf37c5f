import { describe, expect, it } from 'vitest';
import type { Resource } from '../../src/api/types.js';
import { ObjectCache } from '../../src/kube/cache.js';
import { microTime } from '../../src/kube/events.js';
import type { RawObject } from '../../src/kube/informer.js';
import { OwnSecretCache } from '../../src/kube/secrets.js';
import type { WatchEvent } from '../../src/store/store.js';

function rental(rv: string, phase = 'Pending', uid = 'u1'): Resource {
  return {
    apiVersion: 'orion.lab/v1alpha1',
    kind: 'Rental',
    metadata: { name: 'r', namespace: 'ns', uid, generation: 1, resourceVersion: rv, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {},
    status: { phase },
  };
}

function cacheWithLog(): { cache: ObjectCache; events: WatchEvent[] } {
  const events: WatchEvent[] = [];
  return { cache: new ObjectCache((e) => events.push(e)), events };
}

describe('ObjectCache (Kubernetes mode)', () => {
  it('hands out deep-frozen objects', () => {
    const { cache } = cacheWithLog();
    cache.applyEvent('ADDED', rental('1'));
    const obj = cache.get('Rental/ns/r') as Resource<unknown, { phase: string }>;
    expect(Object.isFrozen(obj)).toBe(true);
    expect(() => ((obj.status as { phase: string }).phase = 'x')).toThrow();
  });

  it('caches a write at once and ignores the informer catching up on it', () => {
    const { cache, events } = cacheWithLog();
    cache.applyEvent('ADDED', rental('1'));
    cache.applyWrite(rental('5', 'Ready'));
    expect(cache.get('Rental/ns/r')?.metadata.resourceVersion).toBe('5');
    cache.applyEvent('MODIFIED', rental('1')); // late duplicate of what the write was based on
    cache.applyEvent('MODIFIED', rental('5', 'Ready')); // the echo of the write
    expect(cache.get('Rental/ns/r')?.metadata.resourceVersion).toBe('5');
    expect(events.map((e) => `${e.type}:${e.object.metadata.resourceVersion}`)).toEqual(['ADDED:1', 'MODIFIED:5']);
  });

  it('takes a newer change by another writer, and a write result never replaces it once seen', () => {
    const { cache } = cacheWithLog();
    cache.applyEvent('ADDED', rental('1'));
    cache.applyEvent('MODIFIED', rental('5', 'Ready')); // informer delivered our write first
    cache.applyEvent('MODIFIED', rental('7', 'Failed')); // then someone else's
    cache.applyWrite(rental('5', 'Ready')); // our write's response arrives late
    expect(cache.get('Rental/ns/r')?.metadata.resourceVersion).toBe('7');
  });

  it('removes a released object at once and ignores its late events', () => {
    const { cache, events } = cacheWithLog();
    cache.applyEvent('ADDED', rental('1'));
    cache.applyRelease(rental('9'));
    expect(cache.get('Rental/ns/r')).toBeUndefined();
    cache.applyEvent('MODIFIED', rental('8')); // an update the informer had not delivered yet
    expect(cache.get('Rental/ns/r')).toBeUndefined();
    cache.applyEvent('DELETED', rental('10'));
    cache.applyEvent('ADDED', rental('11', 'Pending', 'u2')); // re-created under the same name
    expect(cache.get('Rental/ns/r')?.metadata.uid).toBe('u2');
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
  });

  it('a relist replaces the content and reports what went away', () => {
    const { cache, events } = cacheWithLog();
    cache.applyEvent('ADDED', rental('1'));
    const other = { ...rental('2'), metadata: { ...rental('2').metadata, name: 'other', uid: 'u3' } };
    cache.replace([other]);
    expect(cache.get('Rental/ns/r')).toBeUndefined();
    expect(cache.get('Rental/ns/other')).toBeDefined();
    expect(events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['ADDED:r', 'ADDED:other', 'DELETED:r']);
  });
});

describe('OwnSecretCache', () => {
  const secret = (data: Record<string, string>): RawObject => ({
    metadata: { name: 'key', namespace: 'ns', resourceVersion: '1', uid: 's1' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });

  it('decodes data and notifies on real changes only', () => {
    const seen: string[] = [];
    const cache = new OwnSecretCache((key) => seen.push(key));
    cache.event('ADDED', secret({ privateKey: 'PEM' }));
    cache.event('MODIFIED', secret({ privateKey: 'PEM' }));
    expect(cache.get('ns', 'key')?.data).toEqual({ privateKey: 'PEM' });
    cache.replace([]);
    expect(cache.get('ns', 'key')).toBeUndefined();
    expect(seen).toEqual(['ns/key', 'ns/key']);
  });
});

describe('microTime', () => {
  it('writes microseconds', () => {
    expect(microTime(new Date('2024-05-01T10:00:00.123Z'))).toBe('2024-05-01T10:00:00.123000Z');
  });
});
