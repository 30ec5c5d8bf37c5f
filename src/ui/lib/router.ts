// A small router on the History API: the path is the state, links push it, the back button pops it.
import { Observable, useValue } from './observable.js';

export const currentPath = new Observable<string>(location.pathname);

addEventListener('popstate', () => currentPath.set(location.pathname));

export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  currentPath.set(path);
  scrollTo(0, 0);
}

export function usePath(): string {
  return useValue(currentPath);
}

/** The parameters of PATTERN ("/labs/:ns/:name") in PATH, or undefined when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const have = path.replace(/\/+$/, '').split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const h = have[i] as string;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(h);
    else if (w !== h) return undefined;
  }
  return params;
}
