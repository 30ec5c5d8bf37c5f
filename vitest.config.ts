// Tests run against real sshd, Ansible and OpenTofu: generous timeouts, one file per fork.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 30 * 60_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
