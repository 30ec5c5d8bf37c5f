// The OpenID Connect flags of `orion run --kube` (the web app's "Sign in with your organisation"). The client secret
// comes from a file or ORION_OIDC_CLIENT_SECRET, never from a flag's value (which `ps` shows).
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { OidcSettings } from '../server/auth/oidc.js';

export interface OidcFlags {
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecretFile?: string;
  oidcRedirectUrl?: string;
  oidcUsernameClaim?: string;
  oidcGroupsClaim?: string;
}

export function addOidcOptions(command: Command): Command {
  return command
    .option('--oidc-issuer <url>', 'OpenID Connect issuer for the web app\'s login (--kube); users are then checked by SubjectAccessReview')
    .option('--oidc-client-id <id>', 'the portal\'s client id at the issuer')
    .option('--oidc-client-secret-file <file>', 'file holding the client secret (or ORION_OIDC_CLIENT_SECRET); none: a public client with PKCE')
    .option('--oidc-redirect-url <url>', 'this portal\'s /auth/oidc/callback as the issuer knows it')
    .option('--oidc-username-claim <claim>', 'the ID token claim that names the Kubernetes user (default email)')
    .option('--oidc-groups-claim <claim>', 'the ID token claim with the user\'s groups (default groups)');
}

export function oidcSettings(flags: OidcFlags, kube: boolean): OidcSettings | undefined {
  if (!flags.oidcIssuer) return undefined;
  if (!kube) throw new InvalidArgumentError('--oidc-issuer needs --kube: OIDC users are authorized by Kubernetes RBAC');
  if (!flags.oidcClientId || !flags.oidcRedirectUrl) throw new InvalidArgumentError('--oidc-issuer needs --oidc-client-id and --oidc-redirect-url');
  const secret = flags.oidcClientSecretFile ? readFileSync(flags.oidcClientSecretFile, 'utf8').trim() : process.env.ORION_OIDC_CLIENT_SECRET;
  return {
    issuer: flags.oidcIssuer,
    clientId: flags.oidcClientId,
    redirectUri: flags.oidcRedirectUrl,
    ...(secret ? { clientSecret: secret } : {}),
    ...(flags.oidcUsernameClaim ? { usernameClaim: flags.oidcUsernameClaim } : {}),
    ...(flags.oidcGroupsClaim ? { groupsClaim: flags.oidcGroupsClaim } : {}),
  };
}
