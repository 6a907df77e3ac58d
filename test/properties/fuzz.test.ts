/**
 * The syscall fuzzer: arbitrary calls (random and invalid fds, requests, struct bytes, flags, sizes,
 * addresses) never make the simulator throw, and the global invariants hold after every call and after
 * exit. FC_SEED and FC_RUNS widen or reproduce the campaign; `iio-sim fuzz` runs the documented one.
 */
import { describe, expect, test } from 'vitest';
import { File } from '../../src/kernel/vfs.ts';
import type { Simulator } from '../../src/sim/simulator.ts';
import { Driver } from '../../src/testing/driver.ts';
import { fuzzCampaign, fuzzPaths, runFuzzProgram } from '../../src/testing/fuzz.ts';
import { DMA_BUF_IOCTL_SYNC } from '../../src/uapi/dma-buf.ts';

const SEED = Number(process.env.FC_SEED ?? 20261124);
const RUNS = Number(process.env.FC_RUNS ?? 150);

describe('fuzzing the syscall interface', () => {
  test(`${RUNS} random programs: no exception, no broken invariant`, async () => {
    const report = await fuzzCampaign({ runs: RUNS, seed: SEED });
    expect(report.failure).toBeUndefined();
    expect(report.runs).toBe(RUNS);
    expect(report.syscalls).toBeGreaterThan(RUNS * 50);
  });

  test('the fuzzer opens every node of the board', () => {
    const paths = fuzzPaths(new Driver().sim);
    expect(paths).toEqual(
      expect.arrayContaining(['/dev/iio:device0', '/dev/dma_heap/system', '/dev/udmabuf']),
    );
    expect(paths.some((p) => p.endsWith('/buffer0/enable'))).toBe(true);
  });

  test('a program that makes the kernel throw is reported with its shrunk call log', async () => {
    const injected = (sim: Simulator) => {
      const orig = sim.kernel.sys.ioctl.bind(sim.kernel.sys);
      sim.kernel.sys.ioctl = (task, fd, req, arg) => {
        if (req >>> 0 === DMA_BUF_IOCTL_SYNC) throw new TypeError('injected: cannot read properties of null');
        return orig(task, fd, req, arg);
      };
    };
    const report = await fuzzCampaign({ runs: 500, seed: SEED, prepare: injected });
    expect(report.ok).toBe(false);
    expect(report.failure).toMatch(/ioctl\(-?\d+, 0x40086200, .*\) threw: TypeError: injected/);
    const calls = report.failure!.split('\n').filter((l) => /^\s+\d+\. /.test(l));
    expect(calls.length).toBeLessThanOrEqual(10);
    // The seed and path replay exactly that program.
    const path = /path ([\d:]+)/.exec(report.failure!)![1]!;
    const again = await fuzzCampaign({ seed: SEED, path, prepare: injected });
    expect(again.failure!.split('\n').slice(1)).toEqual(report.failure!.split('\n').slice(1));
  });

  test('a leaked file reference is caught by the exit invariants', async () => {
    const orig = File.prototype.put;
    let leaked = false;
    File.prototype.put = function (this: File) {
      // Leak the first dma-buf file reference ever dropped.
      if (!leaked && this.path.startsWith('/dmabuf:')) {
        leaked = true;
        return;
      }
      return orig.call(this);
    };
    try {
      await expect(
        runFuzzProgram([
          { sys: 'ioctl', fd: 0, req: 0, arg: { int: 0 } },
          { sys: 'open', path: '/dev/dma_heap/system', flags: 2 },
          {
            sys: 'ioctl',
            fd: 0,
            req: 0xc0184800,
            arg: { bytes: [0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
          },
        ]),
      ).rejects.toThrow(/after exit: .*dma-buf \d+ has 1 references, the kernel explains 0/);
    } finally {
      File.prototype.put = orig;
    }
  });
});
