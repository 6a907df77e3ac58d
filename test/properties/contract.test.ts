/**
 * Model-based tests of the uapi contract: random syscall sequences in LP64 and ILP32 processes, on both ABI
 * profiles, must give exactly the results of the reference model (src/testing/model.ts) and keep the global
 * invariants. FC_SEED and FC_RUNS widen or reproduce a campaign; `iio-sim fuzz` runs larger ones.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { IioDmaBufferQueue } from '../../src/kernel/iio/buffer-dma.ts';
import type { IioAbi } from '../../src/kernel/iio/device.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { runScenario, scenarioSimulator } from '../../src/scenario/run.ts';
import type { Simulator } from '../../src/sim/simulator.ts';
import { contractCommands } from '../../src/testing/commands.ts';
import {
  checkContract,
  historyToScenario,
  setupContract,
  teardownContract,
} from '../../src/testing/contract.ts';
import { EPERM } from '../../src/uapi/errno.ts';
import { IIO_BUFFER_DMABUF_DETACH_IOCTL } from '../../src/uapi/iio.ts';

const SEED = Number(process.env.FC_SEED ?? 20261124);
const RUNS = Number(process.env.FC_RUNS ?? 150);

describe('the simulator follows the contract model', () => {
  for (const profile of ['mainline', 'v2'] as const)
    for (const compat of [false, true])
      test(`${profile}, ${compat ? 'ILP32' : 'LP64'} process: ${RUNS} random sequences agree with the model`, async () => {
        const report = await checkContract({ profile, compat, runs: RUNS, seed: SEED });
        expect(report.failure?.text).toBeUndefined();
        expect(report.runs).toBe(RUNS);
        expect(report.syscalls).toBeGreaterThan(RUNS * 20);
      });
});

async function replay(scenarioText: string, prepare?: (sim: Simulator) => void) {
  const loaded = loadScenario(scenarioText, 'repro.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const sim = scenarioSimulator(loaded.scenario);
  prepare?.(sim);
  return runScenario(loaded.scenario, sim);
}

describe('contract histories replay as scenario files', () => {
  for (const profile of ['mainline', 'v2'] as const)
    test(`${profile}: random histories, written as scenarios, pass step for step on the simulator`, async () => {
      const samples = fc.sample(fc.commands(contractCommands(profile), { maxCommands: 120, size: 'max' }), {
        seed: SEED,
        numRuns: 6,
      });
      for (const [i, cmds] of samples.entries()) {
        const { model, real } = await setupContract({ profile, compat: i % 2 === 1 });
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await teardownContract(model, real);
        const out = await replay(historyToScenario(real.history, { profile, compat: i % 2 === 1 }, 'replay'));
        expect(out.failures).toEqual([]);
      }
    });
});

/** The injected bug of DET-3: DETACH of a dma-buf that is not attached returns 0 instead of -EPERM. */
function breakDet3(sim: Simulator): void {
  // The profile's table is shared by every kernel: this one alone gets a patched copy.
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

describe('an injected kernel bug is found and shrunk', () => {
  test('DET-3 broken (DETACH of an unattached dma-buf returns 0): found, shrunk to at most 10 syscalls, replayable', async () => {
    const report = await checkContract({ profile: 'mainline', runs: 500, seed: SEED, prepare: breakDet3 });
    expect(report.ok).toBe(false);
    const f = report.failure!;
    expect(f.message).toMatch(
      /IIO_BUFFER_DMABUF_DETACH_IOCTL.*the simulator returned 0, the model expects -1 EPERM/,
    );
    expect(f.history.length).toBeLessThanOrEqual(10);
    expect(f.text).toContain(`seed ${SEED}`);
    // Entries made when first read (CallEntry) serialize as the plain objects they stand for.
    expect(JSON.parse(JSON.stringify(f.history))).toEqual(
      f.history.map((h) => ({
        time: h.time,
        text: h.text,
        step: h.step,
        ...(h.interruptedAt === undefined ? {} : { interruptedAt: h.interruptedAt }),
      })),
    );
    expect(f.history.at(-1)?.text).toMatch(/^ioctl\(\d+, IIO_BUFFER_DMABUF_DETACH_IOCTL, .*\) = 0$/);
    // The scenario stops at the DETACH on the broken kernel and passes on the real one.
    const broken = await replay(f.scenario, breakDet3);
    expect(broken.failures).toHaveLength(1);
    expect(broken.failures[0]).toMatchObject({ expected: '-EPERM', got: '0' });
    expect((await replay(f.scenario)).failures).toEqual([]);
    // fast-check's path and replay path of the shrunk case run it again, and only it.
    const again = await checkContract({
      profile: 'mainline',
      seed: SEED,
      prepare: breakDet3,
      path: f.path!,
      replayPath: f.replayPath!,
    });
    expect(again.failure?.message).toBe(f.message);
    expect(again.failure?.history.map((h) => h.text)).toEqual(f.history.map((h) => h.text));
  });

  test('DMAQ-7 broken (disable leaves the fences of aborted blocks pending): found and shrunk to at most 10 syscalls', async () => {
    const proto = IioDmaBufferQueue.prototype;
    const original = proto.blockListAbort;
    proto.blockListAbort = function (this: IioDmaBufferQueue, list) {
      for (const b of list) if (b.fence) b.fence = { ...b.fence, done: () => {}, aborted: () => {} };
      return original.call(this, list);
    };
    try {
      const report = await checkContract({ profile: 'mainline', runs: 2000, seed: SEED });
      expect(report.ok).toBe(false);
      const f = report.failure!;
      expect(f.history.length).toBeLessThanOrEqual(10);
      // Caught either by a call after the disable or by the lifetimes at exit (the fence keeps its block).
      expect(f.message).toMatch(/the model expects|after exit: .*left alive, the model expects/);
      expect(f.history.map((h) => h.text).join('\n')).toMatch(/IIO_BUFFER_DMABUF_ENQUEUE_IOCTL.* = 0/);
    } finally {
      proto.blockListAbort = original;
    }
  });
});
