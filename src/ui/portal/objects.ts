// Reading the watched objects in components, and the actions people take on them.
import { useValue } from '../lib/observable.js';
import { api, objectPath } from './http.js';
import type { Kind, Resource } from './types.js';
import { watched } from './watch.js';

export function useObjects<T extends Resource>(kind: Kind): { items: T[]; synced: boolean } {
  const state = useValue(watched);
  const items = [...state.objects[kind].values()] as T[];
  items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  return { items, synced: state.synced };
}

export function useObject<T extends Resource>(kind: Kind, namespace: string, name: string): { obj: T | undefined; synced: boolean } {
  const state = useValue(watched);
  return { obj: state.objects[kind].get(`${namespace}/${name}`) as T | undefined, synced: state.synced };
}

export const actions = {
  remove: (kind: Kind, obj: Resource) => api('DELETE', objectPath(kind, obj.metadata.namespace, obj.metadata.name)),
  extend: (kind: 'desktops' | 'rentals', obj: Resource, seconds: number) => api('POST', `${objectPath(kind, obj.metadata.namespace, obj.metadata.name)}/extend`, { seconds }),
  power: (obj: Resource, state: 'Running' | 'Stopped') => api('POST', `${objectPath('labs', obj.metadata.namespace, obj.metadata.name)}/power`, { state }),
  restart: (obj: Resource) => api('POST', `${objectPath('labs', obj.metadata.namespace, obj.metadata.name)}/restart`),
};
