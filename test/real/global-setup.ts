/**
 * Global setup of the oracle run (`npm run test:real`, vitest.real.config.ts): starts one detached VM of
 * Debian's Linux 7.3 for the whole run, under an instance name of its own, and stops it at the end. Each test
 * file attaches to it in turn (one client at a time, so the files run one after the other); see
 * test/helpers.ts. Without the setup (`npx iio-sim kernel setup`) the instance is '' and every test that
 * would run a program skips with the setup's message.
 */
import type { TestProject } from 'vitest/node';
import { checkSetup, SETUP_SKIP_MESSAGE } from '../../src/real/setup.ts';
import { readVmState, startDetached, stop } from '../../src/real/vm.ts';

/**
 * QEMU CPU model of the oracle VM: every feature TCG emulates except 5-level paging. With LA57 the kernel's
 * `access_ok()` accepts user ranges up to 2^56 (TASK_SIZE_MAX follows the paging depth), where the rulebook
 * and the simulator describe the usual 4-level x86-64 machine (47-bit user space, RW-5/UACC-2).
 */
export const ORACLE_CPU = process.env.IIO_SIM_ORACLE_CPU ?? 'max,la57=off';

declare module 'vitest' {
  interface ProvidedContext {
    /** The detached VM instance the oracle's test files attach to ('' when the setup is missing). */
    oracleInstance: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!checkSetup().ready) {
    console.info(SETUP_SKIP_MESSAGE);
    project.provide('oracleInstance', '');
    return async () => {};
  }
  const instance = process.env.IIO_SIM_ORACLE_INSTANCE ?? `oracle-${process.pid}`;
  const t0 = process.hrtime.bigint();
  const { state, alreadyRunning } = await startDetached({ instance, cpu: ORACLE_CPU });
  const boot = Number(process.hrtime.bigint() - t0) / 1e9;
  console.info(
    `oracle: Linux 7.3 VM '${instance}' ${alreadyRunning ? 'already running' : `booted in ${boot.toFixed(1)} s`} (qemu pid ${state.pid})`,
  );
  project.provide('oracleInstance', instance);
  return async () => {
    // A VM the run did not start itself (IIO_SIM_ORACLE_INSTANCE naming a running one) is left running.
    if (!alreadyRunning || readVmState({ instance }) === null) await stop({ instance });
  };
}
