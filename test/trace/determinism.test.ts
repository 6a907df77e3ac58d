import { describe, expect, it } from 'vitest';
import { createSimulator, type SimulatorOptions } from '../../src/index.ts';
import { recordTrace } from '../../src/trace/recorder.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../src/user/iio.ts';

/** A run with two processes, seeded wake-up jitter and a noise channel: every source of nondeterminism. */
async function traceOf(options: SimulatorOptions): Promise<string> {
  const sim = createSimulator(options);
  const rec = recordTrace(sim.events, sim.abi, { durations: true, pids: true });
  sim.spawn('capture', async (sys) => {
    await enableChannels(sys, 0, ['in_voltage0', 'in_voltage3']);
    const b = await openBuffer(sys, 0);
    if (typeof b === 'number') return b;
    await setBufferEnabled(sys, 0, true);
    const buf = sys.mem.alloc(8192);
    for (let i = 0; i < 6; i++) {
      await sys.pollfds([{ fd: b.fd, events: 0x1 }], 100);
      await sys.read(b.fd, buf, 8192);
      await sys.compute(1_500_000);
    }
    return 0;
  });
  sim.spawn('writer', async (sys) => {
    await enableChannels(sys, 1, ['out_voltage0', 'out_voltage1']);
    const b = await openBuffer(sys, 1);
    if (typeof b === 'number') return b;
    const buf = sys.mem.alloc(8192);
    for (let i = 0; i < 3; i++) await sys.write(b.fd, buf, 8192);
    await setBufferEnabled(sys, 1, true);
    await sys.nanosleep(3_000_000);
    return 0;
  });
  await sim.run();
  rec.detach();
  return rec.lines.join('\n');
}

const options = (seed: number): SimulatorOptions => ({
  seed,
  platform: { base: 'zcu102', wakeJitterNs: 15_000 },
});

describe('determinism', () => {
  it('two runs with the same options and seed give byte-identical traces of syscalls and hardware events', async () => {
    const a = await traceOf(options(7));
    const b = await traceOf(options(7));
    expect(a.length).toBeGreaterThan(2000);
    expect(a).toContain('[hw] sim-adc-dma: transfer 1');
    expect(a).toContain('ioctl(3, IIO_BUFFER_GET_FD_IOCTL, [0 => 4]) = 0');
    expect(b).toBe(a);
  });

  it('another seed changes the wake-up jitter and therefore the trace', async () => {
    const a = await traceOf(options(7));
    const c = await traceOf(options(8));
    expect(c).not.toBe(a);
  });
});
