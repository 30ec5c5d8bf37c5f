// The Terraform runner of the machine pipeline, made on first use: a missing binary becomes a status error (a
// RetryLater the controller loop records), not a crash at start.
import type { TerraformRunner } from '../../src/exec/terraform/runner.js';
import { RetryLater } from '../../src/runtime/errors.js';

export type RunnerSource = TerraformRunner | (() => Promise<TerraformRunner>);

/** Resolves the runner once; a failure is a RetryLater (TerraformUnavailable), and it is tried again next time. */
export class LazyTerraformRunner {
  private pending?: Promise<TerraformRunner>;

  constructor(private readonly source: RunnerSource) {}

  async get(): Promise<TerraformRunner> {
    if (typeof this.source !== 'function') return this.source;
    this.pending ??= this.source();
    try {
      return await this.pending;
    } catch (err) {
      this.pending = undefined;
      throw new RetryLater('TerraformUnavailable', (err as Error).message, { phase: 'Failed' });
    }
  }
}
