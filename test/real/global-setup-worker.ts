/**
 * Per-file setup of the oracle run (vitest.real.config.ts `setupFiles`): lets go of the VM after each file,
 * and reports a test that ran no program on the real kernel as skipped instead of passed (it checked the
 * simulator or host code only, so it says nothing about the kernel).
 */
import { afterAll, afterEach } from 'vitest';
import { closeOracle } from '../helpers.ts';

afterEach((ctx) => {
  if (ctx.task.result?.state === 'pass' && !ctx.task.meta.oracleRuns)
    ctx.skip('real kernel: no program of this test ran on the real kernel (host or simulator only)');
});

afterAll(async () => {
  await closeOracle();
});
