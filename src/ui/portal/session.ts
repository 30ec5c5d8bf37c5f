// Who is logged in: read from /auth/session (the cookie itself is HttpOnly: the app never sees it), changed by
// logging in with a token, by OpenID Connect (a redirect through /auth/oidc/start) and by logging out.
import { Observable } from '../lib/observable.js';
import { api, setCsrf } from './http.js';

export interface SessionInfo {
  authenticated: boolean;
  mode: 'folder' | 'kube';
  oidc: boolean;
  name?: string;
  groups?: string[];
  admin?: boolean;
  csrf?: string;
  /** The kinds (plurals) this person may watch. */
  watchable?: string[];
  /** Set when this person's objects are watched in one namespace (Kubernetes mode, a tenant). */
  namespace?: string;
}

export const session = new Observable<SessionInfo | undefined>(undefined);

export async function loadSession(): Promise<SessionInfo> {
  const info = await api<SessionInfo>('GET', '/auth/session');
  setCsrf(info.csrf ?? '');
  session.set(info);
  return info;
}

export async function login(token: string): Promise<SessionInfo> {
  const info = await api<SessionInfo>('POST', '/auth/login', { token });
  setCsrf(info.csrf ?? '');
  session.set(info);
  return info;
}

export async function logout(): Promise<void> {
  await api('POST', '/auth/logout').catch(() => undefined);
  setCsrf('');
  session.set({ authenticated: false, mode: session.value?.mode ?? 'folder', oidc: session.value?.oidc ?? false });
}
