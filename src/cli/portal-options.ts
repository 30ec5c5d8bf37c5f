// The portal's settings of `orion run` (both modes): transport (TLS, insecure HTTP, allowed hosts and origins) and
// the policy flags (quotas, rate, recipes, presets, waits).
import type { PolicyFlags } from '../server/api/policy.js';
import type { TlsFiles } from '../server/http.js';
import type { OidcSettings } from '../server/auth/oidc.js';
import type { Connector } from '../server/console/resolvers.js';
import type { PortalSetup } from '../server/portal.js';
import { ConsoleKeys } from '../store/console-keys.js';
import type { GeneratedPasswords } from '../store/generated-passwords.js';

export interface PortalRunOptions extends PolicyFlags {
  tls?: TlsFiles;
  insecureHttp?: boolean;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** OpenID Connect login for the web app (Kubernetes mode). */
  oidc?: OidcSettings;
  /** How the consoles reach lab machines and hypervisors (default: TCP from Orion's host; a test bed: its netns). */
  consoleConnector?: Connector;
}

/**
 * The consoles and OIDC parts of the portal's setup, the same in both modes. A Desktop's screen is reached with the
 * login the Desktop controller uses (its adminUser).
 */
export function consoleAndLogin(options: PortalRunOptions, passwords: GeneratedPasswords, desktopAdminUser?: string): Pick<PortalSetup, 'consoles' | 'oidc'> {
  return {
    consoles: {
      consoleKeys: new ConsoleKeys(passwords),
      passwords,
      ...(options.consoleConnector ? { connector: options.consoleConnector } : {}),
      ...(desktopAdminUser ? { desktopAdminUser } : {}),
    },
    ...(options.oidc ? { oidc: options.oidc } : {}),
  };
}
