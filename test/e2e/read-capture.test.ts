import { describe, expect, it } from 'vitest';
import { type DeviceConfig, EAGAIN, F_SETFL, O_NONBLOCK } from '../../src/index.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../src/user/iio.ts';
import { simOnly, testSimulator } from '../helpers.ts';

const RAMP = (n: number, c: number) => ((n + 1024 * c) % 4096) - 2048;

describe('read() capture end to end', () => {
  it('captures 1,048,576 scans (4,194,304 samples) of the default ramp with nothing lost, duplicated or reordered', async () => {
    // On the real kernel the ADC runs 100 times slower (105 s): a read and its 16 KiB travel to the host and
    // back, which takes tens of ms on a busy machine.
    const sim = testSimulator({ realTimescale: 100 });
    const SCANS = 1 << 20;
    const BLOCK = 16384;
    let mismatches = 0;
    let scans = 0;
    sim.spawn('capture', async (sys) => {
      expect(await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'])).toBe(
        0,
      );
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') throw new Error(`openBuffer: ${b}`);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      const buf = sys.mem.alloc(BLOCK);
      while (scans < SCANS) {
        const n = await sys.read(b.fd, buf, BLOCK);
        expect(n).toBe(BLOCK);
        const view = sys.mem.view(buf, n);
        const dv = new DataView(view.buffer, view.byteOffset, n);
        for (let off = 0; off < n; off += 8, scans++)
          for (let c = 0; c < 4; c++) if (dv.getInt16(off + 2 * c, true) !== RAMP(scans, c)) mismatches++;
      }
      return scans;
    });
    const r = await sim.run({ realUntilNs: 240e9 });
    expect(r.processes[0]!.status).toBe('exited');
    expect(scans).toBe(SCANS);
    expect(mismatches).toBe(0);
    // The data already shows nothing was lost (every scan number in turn); these are the controller's counters.
    simOnly('the simulated DMA controller’s overflow counters', () => {
      expect(r.stats.devices['sim-adc']!.scansLost).toBe(0);
      expect(r.stats.devices['sim-adc']!.bytesGap).toBe(0);
    });
  });

  it('a reader that computes 5 ms per 2 ms block loses samples, and the reported count equals the gaps in the data', async () => {
    // A 32-bit ramp numbers every scan, so the data itself shows exactly which scans were lost.
    const devices: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'counter-adc',
        sampleRateHz: 1_000_000,
        channels: [{ id: 'voltage0', type: 'le:u32/32>>0', signal: { kind: 'ramp', step: 1, offset: 0 } }],
      },
    ];
    const sim = testSimulator({ devices, platform: 'ideal' });
    const BLOCK = 8192; // length 4096 scans of 4 bytes: two fileio blocks of 8192 bytes (2048 scans, 2.048 ms)
    const gaps: number[] = [];
    const reported: number[] = [];
    sim.events.on('dma:gap', (e) => reported.push(e.scans));
    let delivered = 0;
    sim.spawn('slow', async (sys) => {
      await enableChannels(sys, 0, ['in_voltage0']);
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') throw new Error(`openBuffer: ${b}`);
      await setBufferEnabled(sys, 0, true);
      const buf = sys.mem.alloc(BLOCK);
      let expected = 0;
      const consume = (n: number) => {
        const dv = new DataView(sys.mem.read(buf, n).buffer);
        for (let off = 0; off < n; off += 4) {
          const idx = dv.getUint32(off, true);
          if (idx !== expected) {
            expect(idx).toBeGreaterThan(expected);
            gaps.push(idx - expected);
          }
          expected = idx + 1;
          delivered++;
        }
      };
      for (let i = 0; i < 50; i++) {
        const n = await sys.read(b.fd, buf, BLOCK);
        expect(n).toBe(BLOCK);
        consume(n);
        await sys.compute(5_000_000);
      }
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      // Drain what the disabled buffer still holds (an aborted block reads as nothing: FILEIO-12).
      expect(await sys.fcntl(b.fd, F_SETFL, O_NONBLOCK)).toBe(0);
      let misses = 0;
      while (misses < 2) {
        const n = await sys.read(b.fd, buf, BLOCK);
        if (n === -EAGAIN) misses++;
        else {
          expect(n).toBeGreaterThan(0);
          consume(n);
          misses = 0;
        }
      }
      return 0;
    });
    const r = await sim.run();
    const lost = gaps.reduce((a, b) => a + b, 0);
    const dev = sim.device('counter-adc');
    expect(gaps.length).toBeGreaterThan(40);
    // Each overflow the hardware reported is exactly one hole in the data, in order, except a last one that
    // may fall between the final transfer and the disable, which no data can show.
    expect(reported.slice(0, gaps.length)).toEqual(gaps);
    expect(reported.length - gaps.length).toBeLessThanOrEqual(1);
    const trailing = reported[gaps.length] ?? 0;
    expect(r.stats.devices['counter-adc']!.scansLost).toBe(lost + trailing);
    expect(dev.dma!.stats.bytesGap).toBe((lost + trailing) * 4);
    // Every converted scan is accounted for: read, lost to overflow, cut by the disable, or left unread.
    const produced = dev.adc!.scansTotal;
    expect(produced * 4).toBe(delivered * 4 + dev.dma!.stats.bytesGap + dev.dma!.stats.bytesAborted);
  });
});
