// Tests run against real sshd, Ansible and OpenTofu: generous timeouts, one file per fork, two forks at a time.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two files at a time on any machine: most of a test's time is spent waiting on sshd, Ansible, OpenTofu or a
    // booting guest, and every file owns its ports, namespaces and directories (their opening comments say which).
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 30 * 60_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
