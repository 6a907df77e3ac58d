/**
 * `iio-sim fuzz --against real` in small: model-based contract histories (mainline, LP64 and ILP32) on the
 * simulator and on Debian's Linux 7.3 in QEMU at once, the test module on its manual clock; every call's
 * result, written-back value and revents, and every mapping's bytes after each advance must agree. A bug
 * injected into the simulator shows as a divergence from the kernel, shrunk and replayable. Needs the setup
 * (`iio-sim kernel setup`); skipped with one line otherwise. FC_SEED and REAL_FUZZ_RUNS change the campaign.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IioAbi } from '../../src/kernel/iio/device.ts';
import { createRealKernel } from '../../src/real/runtime.ts';
import { checkSetup, SETUP_SKIP_MESSAGE } from '../../src/real/setup.ts';
import { bootVm, type Vm } from '../../src/real/vm.ts';
import type { Simulator } from '../../src/sim/simulator.ts';
import { KernelSide } from '../../src/testing/against-real.ts';
import { runCampaign } from '../../src/testing/campaign.ts';
import { checkContract } from '../../src/testing/contract.ts';
import { EPERM } from '../../src/uapi/errno.ts';
import { IIO_BUFFER_DMABUF_DETACH_IOCTL } from '../../src/uapi/iio.ts';

const ready = checkSetup().ready;
if (!ready) console.info(SETUP_SKIP_MESSAGE);

const SEED = Number(process.env.FC_SEED ?? 20261207);
const RUNS = Number(process.env.REAL_FUZZ_RUNS ?? 20);

/** The injected bug of DET-3: DETACH of a dma-buf that is not attached returns 0 instead of -EPERM. */
function breakDet3(sim: Simulator): void {
  const services = sim.kernel.iio.services as { abi: IioAbi };
  const orig = services.abi.bufferIoctl;
  services.abi = {
    ...services.abi,
    bufferIoctl: {
      release: (ib) => orig.release(ib),
      ioctl: (file, ib, cmd, arg, task) => {
        const r = orig.ioctl(file, ib, cmd, arg, task);
        return cmd === IIO_BUFFER_DMABUF_DETACH_IOCTL && r === -EPERM ? 0 : r;
      },
    },
  };
}

describe.skipIf(!ready)('contract histories against Linux 7.3', () => {
  let vm: Vm;
  const kernel = (compat: boolean) =>
    KernelSide.start(compat, (o) => createRealKernel({ channel: vm.socket, ...o }));

  beforeAll(async () => {
    vm = await bootVm();
    vm.socket.on('error', () => {});
  }, 180_000);

  afterAll(async () => {
    await vm?.close();
  });

  it(`${RUNS} histories each in an LP64 and an ILP32 process agree with the kernel call for call`, async () => {
    const t0 = performance.now();
    const report = await runCampaign({ runs: RUNS, seed: SEED, mode: 'contract', kernel });
    const secs = (performance.now() - t0) / 1000;
    expect(report.parts.map((p) => p.failure ?? p.name)).toEqual([
      'against real: mainline LP64',
      'against real: mainline ILP32',
    ]);
    expect(report.parts.map((p) => p.runs)).toEqual([RUNS, RUNS]);
    for (const p of report.parts) expect(p.kernelSyscalls).toBe(p.syscalls);
    console.info(
      `against the 7.3 kernel: ${2 * RUNS} histories, ${report.syscalls} syscalls on each side in ${secs.toFixed(1)} s (${((2 * RUNS) / secs).toFixed(2)} histories/s, ${Math.round(report.syscalls / secs)} syscalls/s)`,
    );
  }, 1_200_000);

  it('a simulator bug (DET-3 broken) is a divergence from the kernel: shrunk to at most 10 calls, and its path replays it', async () => {
    const report = await checkContract({
      profile: 'mainline',
      runs: 300,
      seed: SEED,
      prepare: breakDet3,
      kernel,
    });
    expect(report.ok).toBe(false);
    const f = report.failure!;
    console.info(f.text);
    expect(f.message).toMatch(
      /^the kernel differs: ioctl\(\d+, IIO_BUFFER_DMABUF_DETACH_IOCTL, \[\d+\]\): different results: the simulator 0, the kernel -1 EPERM$/,
    );
    expect(f.history.length).toBeLessThanOrEqual(10);
    expect(f.text).toMatch(new RegExp(`^seed ${SEED}, path [\\d:]+, replay path \\S+: the kernel differs`));
    expect(f.history.at(-1)!.text).toMatch(/on the kernel: ioctl\(.*DETACH.*\) = -1 EPERM/);
    const again = await checkContract({
      profile: 'mainline',
      runs: 1,
      seed: SEED,
      prepare: breakDet3,
      kernel,
      path: f.path!,
      replayPath: f.replayPath!,
    });
    expect(again.failure?.message).toBe(f.message);
    expect(again.failure?.history.map((h) => h.text)).toEqual(f.history.map((h) => h.text));
  }, 1_200_000);
});
