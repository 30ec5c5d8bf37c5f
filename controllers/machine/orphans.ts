// Domains left behind by an interrupted apply. dmacvicar/libvirt 0.8.3 defines a domain, then starts it, and only
// then records it in the state: when the apply is cancelled (Orion stopped, a timeout) or the start fails in
// between, the domain exists in libvirt but not in the state, and every later apply fails with
// "domain '<name>' already exists". Domain names are <namespace>.<lab>.<machine>-<i>, so a domain of that name
// that Terraform is trying to create belongs to this Lab's unfinished creation: it is undefined (its volumes,
// which the state does know, stay) and the apply runs again, converging on one set of machines.
import { libvirtPrefix } from './module.js';

const ALREADY_EXISTS = /domain '([^']+)' already exists with uuid/g;

/** The domains of this Lab that an apply could not create because they already exist. */
export function orphanedDomains(error: string | undefined, namespace: string, name: string): string[] {
  if (!error) return [];
  const prefix = `${libvirtPrefix(namespace, name)}.`;
  const names = [...error.matchAll(ALREADY_EXISTS)].map((m) => m[1] as string);
  return [...new Set(names)].filter((n) => n.startsWith(prefix) && /^[a-z0-9.-]+$/.test(n)).sort();
}
