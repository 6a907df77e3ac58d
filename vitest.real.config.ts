import { defineConfig } from 'vitest/config';

/**
 * The oracle run (`npm run test:real`): the rule tests' programs on Debian's Linux 7.3 in QEMU instead of the
 * simulator (test/helpers.ts, docs/oracle.md). One VM for the whole run, which serves one client at a time:
 * files run one after the other.
 */
export default defineConfig({
  test: {
    include: ['test/kernel/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/seed-review.test.ts'],
    setupFiles: ['test/setup.ts', 'test/real/global-setup-worker.ts'],
    globalSetup: ['test/real/global-setup.ts'],
    env: { IIO_SIM_TARGET: 'real' },
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default', './test/real/oracle-reporter.ts'],
  },
});
