// What the Lab and Desktop controllers share to run Terraform: the runner, made on first use (a missing
// binary becomes a status error, not a crash at start), and the provider environment holding secrets.
import type { TerraformRunner } from '../../src/exec/terraform/runner.js';

export type RunnerSource = TerraformRunner | (() => Promise<TerraformRunner>);

/** Resolves the runner once; a failure is reported through `onFailure` and tried again next time. */
export class LazyTerraformRunner {
  private pending?: Promise<TerraformRunner>;

  constructor(private readonly source: RunnerSource) {}

  async get(onFailure: (message: string) => Promise<unknown>): Promise<TerraformRunner> {
    if (typeof this.source !== 'function') return this.source;
    this.pending ??= this.source();
    try {
      return await this.pending;
    } catch (err) {
      this.pending = undefined;
      await onFailure((err as Error).message);
      throw err;
    }
  }
}

export interface ProviderSecrets {
  proxmoxToken?: { id: string; secret: string };
  ca?: string;
}

/** The environment of Terraform runs: the Proxmox token for the provider, never in main.tf.json. */
export function providerEnv(secrets: ProviderSecrets, caFile: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (secrets.proxmoxToken) {
    env.PM_API_TOKEN_ID = secrets.proxmoxToken.id;
    env.PM_API_TOKEN_SECRET = secrets.proxmoxToken.secret;
  }
  if (secrets.ca) env.SSL_CERT_FILE = caFile;
  return env;
}
