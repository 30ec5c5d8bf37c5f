// The portal's settings of `orion run` (both modes): transport (TLS, insecure HTTP, allowed hosts and origins) and
// the policy flags (quotas, rate, recipes, presets, waits).
import type { PolicyFlags } from '../server/api/policy.js';
import type { TlsFiles } from '../server/http.js';

export interface PortalRunOptions extends PolicyFlags {
  tls?: TlsFiles;
  insecureHttp?: boolean;
  allowedHosts?: string[];
  allowedOrigins?: string[];
}
