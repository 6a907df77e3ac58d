import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/hw/clock.ts';
import { Adc, type ChannelSpec, Dac } from '../../src/hw/converter.ts';
import { DmaChannel, type DmaDirection } from '../../src/hw/dma.ts';
import { readScans, type ScanLayout, type ScanType, writeScans } from '../../src/hw/scan.ts';
import type { SignalSpec } from '../../src/hw/signal.ts';

const S12: ScanType = { sign: 's', realbits: 12, storagebits: 16, shift: 0, endianness: 'le' };
const LAYOUT: ScanLayout = {
  bytesPerScan: 4,
  fields: [
    { channel: 0, offset: 0, type: S12 },
    { channel: 1, offset: 2, type: S12 },
  ],
};
/** Only channel 1 enabled. */
const LAYOUT_CH1: ScanLayout = { bytesPerScan: 2, fields: [{ channel: 1, offset: 0, type: S12 }] };

const RAMPS: ChannelSpec[] = [
  { id: 'voltage0', type: S12, signal: { kind: 'ramp', step: 1, offset: 0 } },
  { id: 'voltage1', type: S12, signal: { kind: 'ramp', step: 3, offset: 500 } },
];

/** Expected ramp codes of RAMPS at scan n. */
function rampScan(n: number): number[] {
  return [(n % 4096) - 2048, ((n * 3 + 500) % 4096) - 2048];
}

function channel(clock: VirtualClock, name: string, direction: DmaDirection): DmaChannel {
  return new DmaChannel(clock, {
    name,
    direction,
    maxSegmentSize: 1 << 20,
    lengthAlignBytes: 4,
    irqLatencyNs: 1000,
  });
}

/** DAC test pattern: scan i carries (tag*100 + i, -(tag*100 + i)). */
function dacPattern(tag: number, scans: number): Uint8Array {
  const mem = new Uint8Array(scans * 4);
  const view = new DataView(mem.buffer);
  for (let i = 0; i < scans; i++) {
    view.setInt16(i * 4, tag * 100 + i, true);
    view.setInt16(i * 4 + 2, -(tag * 100 + i), true);
  }
  return mem;
}

function pattern(tag: number, i: number): number[] {
  return [tag * 100 + i, -(tag * 100 + i)];
}

describe('Adc lifecycle', () => {
  it('reports running, layout, clock and bytes per scan only while started', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    expect(adc.name).toBe('adc');
    expect(adc.channels).toBe(RAMPS);
    expect(adc.running).toBe(false);
    expect(adc.bytesPerScan).toBe(0);
    expect(adc.currentLayout).toBeNull();
    expect(adc.currentClock).toBeNull();
    expect(adc.scansBy(1_000_000)).toBe(0);
    clock.runUntil(2500);
    adc.start(LAYOUT);
    expect(adc.running).toBe(true);
    expect(adc.bytesPerScan).toBe(4);
    expect(adc.currentLayout).toBe(LAYOUT);
    expect(adc.currentClock).toEqual({ t0: 2500, rate: 1_000_000 });
    adc.stop();
    expect(adc.running).toBe(false);
    expect(adc.bytesPerScan).toBe(0);
    expect(adc.currentLayout).toBeNull();
    expect(adc.currentClock).toBeNull();
  });

  it('scan k of a run is converted at t0 + floor((k + 1) * 1e9 / rate)', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 300_000, 7);
    clock.runUntil(1000);
    adc.start(LAYOUT);
    expect(adc.scanTime(0)).toBe(1000 + 3333);
    expect(adc.scanTime(9)).toBe(1000 + 33_333);
    expect(adc.scansBy(1000 + 33_332)).toBe(9);
    expect(adc.scansBy(1000 + 33_333)).toBe(10);
    expect(adc.scansBy(999)).toBe(0);
  });

  it('starting twice throws; stopping a stopped converter does nothing', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    adc.stop();
    adc.start(LAYOUT);
    expect(() => adc.start(LAYOUT)).toThrow(Error);
    expect(adc.currentClock).toEqual({ t0: 0, rate: 1_000_000 });
  });

  it('scansTotal adds up the scans of every run; a rate change applies from the next start', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    adc.start(LAYOUT);
    clock.runUntil(10_500);
    adc.stop();
    expect(adc.scansTotal).toBe(10);
    adc.sampleRateHz = 500_000;
    clock.runUntil(20_000);
    adc.start(LAYOUT);
    expect(adc.currentClock).toEqual({ t0: 20_000, rate: 500_000 });
    expect(adc.scanTime(0)).toBe(22_000);
    clock.runUntil(30_000);
    adc.stop();
    expect(adc.scansTotal).toBe(15);
  });
});

describe('Adc samples', () => {
  it('fill writes whole scans of the channel signals', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    adc.start(LAYOUT);
    const dest = new Uint8Array(40);
    adc.fill(dest, 4, 8, 32); // scans 2..9 at offset 4
    expect(Array.from(dest.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(dest.subarray(36))).toEqual([0, 0, 0, 0]);
    expect(readScans(dest, 4, LAYOUT, 8)).toEqual(Array.from({ length: 8 }, (_, i) => rampScan(i + 2)));
  });

  it('fill of a range that starts and ends inside scans writes exactly those bytes', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    adc.start(LAYOUT);
    const whole = new Uint8Array(24);
    adc.fill(whole, 0, 0, 24);
    const part = new Uint8Array(12).fill(0xee);
    adc.fill(part, 1, 3, 10); // stream bytes 3..12
    expect(part[0]).toBe(0xee);
    expect(part[11]).toBe(0xee);
    expect(Array.from(part.subarray(1, 11))).toEqual(Array.from(whole.subarray(3, 13)));
  });

  it('sampleOf gives the generator codes; a channel without a signal reads 0', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', [RAMPS[0]!, { id: 'voltage1', type: S12 }], 1_000_000, 7);
    adc.start(LAYOUT);
    expect(adc.sampleOf(0, 0)).toBe(-2048);
    expect(adc.sampleOf(0, 4097)).toBe(-2047);
    expect(adc.sampleOf(1, 12)).toBe(0);
  });

  it('fill honours the layout: only the enabled channels, at their offsets', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    adc.start(LAYOUT_CH1);
    const dest = new Uint8Array(8);
    adc.fill(dest, 0, 0, 8);
    expect(readScans(dest, 0, LAYOUT_CH1, 4)).toEqual([0, 1, 2, 3].map((n) => [rampScan(n)[1]]));
  });

  it('setInput feeds a channel from an external input read at each scan time; null restores the signal', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    const asked: number[] = [];
    adc.setInput(1, {
      valueAt: (t) => {
        asked.push(t);
        return t >= 3000 ? Math.floor(t / 1000) : undefined;
      },
    });
    clock.runUntil(500);
    adc.start(LAYOUT);
    expect([0, 1, 2, 3].map((n) => adc.sampleOf(1, n))).toEqual([0, 0, 3, 4]);
    expect(asked).toEqual([1500, 2500, 3500, 4500]);
    expect(adc.sampleOf(0, 3)).toBe(rampScan(3)[0]);
    adc.setInput(1, null);
    expect(adc.sampleOf(1, 3)).toBe(rampScan(3)[1]);
  });

  it('captures through its DMA channel what its signals produce', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    const dma = channel(clock, 'rx', 'dev-to-mem');
    adc.attachDma(dma);
    adc.start(LAYOUT);
    const mem = new Uint8Array(64);
    dma.submit(dma.prep(mem, 64, false, null, 'a')!);
    clock.runUntil(16_000);
    expect(readScans(mem, 0, LAYOUT, 16)).toEqual(Array.from({ length: 16 }, (_, n) => rampScan(n)));
  });
});

describe('Adc block generation', () => {
  const periodic: SignalSpec[] = [
    { kind: 'ramp', step: 1, offset: 0 },
    { kind: 'square', high: 100, low: -100, periodSamples: 10 },
    { kind: 'constant', value: 7 },
    { kind: 'samples', values: [3, -4, 5] },
  ];
  const aperiodic: SignalSpec[] = [
    { kind: 'noise', amplitude: 1000 },
    { kind: 'sine', amplitude: 900, frequencyHz: 333.3 },
  ];
  const S16: ScanType = { sign: 's', realbits: 16, storagebits: 16, shift: 0, endianness: 'be' };

  it('fill gives the bytes of writeScans over sampleOf for any stream range, periodic or not', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...periodic, ...aperiodic),
        fc.constantFrom(...periodic, ...aperiodic),
        fc.constantFrom(S12, S16),
        fc.array(fc.tuple(fc.nat(300_000), fc.nat(6_000)), { minLength: 1, maxLength: 3 }),
        (a, b, type, ranges) => {
          const specs: ChannelSpec[] = [
            { id: 'voltage0', type, signal: a },
            { id: 'voltage1', type, signal: b },
          ];
          const layout: ScanLayout = {
            bytesPerScan: 4,
            fields: [
              { channel: 0, offset: 0, type },
              { channel: 1, offset: 2, type },
            ],
          };
          const adc = new Adc(new VirtualClock(), 'adc', specs, 1_000_000, 3);
          adc.start(layout);
          for (const [from, len] of ranges) {
            const first = Math.floor(from / 4);
            const scans = Math.ceil((from + len) / 4) - first + 1;
            const ref = new Uint8Array(scans * 4);
            writeScans(ref, 0, layout, first, scans, adc.sampleOf);
            const got = new Uint8Array(len + 2).fill(0xee);
            adc.fill(got, 1, from, len);
            expect(got[0]).toBe(0xee);
            expect(got[len + 1]).toBe(0xee);
            expect(got.subarray(1, len + 1)).toEqual(ref.subarray(from - first * 4, from - first * 4 + len));
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('converters built with the same signals share their encoded stream, whatever their seed; another signal or rate gives its own', () => {
    const square = (high: number): ChannelSpec[] => [
      { id: 'voltage0', type: S12, signal: { kind: 'square', high, low: -100, periodSamples: 4096 } },
      { id: 'voltage1', type: S12, signal: { kind: 'ramp', step: 1, offset: 0 } },
    ];
    const adcs = [
      new Adc(new VirtualClock(), 'a', square(100), 1_000_000, 3),
      new Adc(new VirtualClock(), 'b', square(100), 1_000_000, 3),
      new Adc(new VirtualClock(), 'c', square(101), 1_000_000, 3),
      new Adc(new VirtualClock(), 'd', square(100), 1_000_000, 4),
      new Adc(new VirtualClock(), 'e', square(100), 2_000_000, 3),
    ];
    for (const adc of adcs) adc.start(LAYOUT);
    // The period (4096 scans, 16,384 bytes) is filled in turns by converters sharing one tile (four periods),
    // across the end of the first period and the tile's end.
    const ranges = [
      [0, 1000],
      [15_000, 3_000],
      [1000, 30_000],
      [64_000, 4_000],
      [4_000, 100_000],
    ] as const;
    for (const [i, [from, len]] of ranges.entries())
      for (const adc of i % 2 ? [...adcs].reverse() : adcs) {
        const first = Math.floor(from / 4);
        const ref = new Uint8Array(Math.ceil((from + len) / 4) * 4 - first * 4);
        writeScans(ref, 0, LAYOUT, first, ref.length / 4, adc.sampleOf);
        const got = new Uint8Array(len);
        adc.fill(got, 0, from, len);
        expect(Buffer.compare(got, ref.subarray(from - first * 4, from - first * 4 + len))).toBe(0);
      }
    const at = (adc: Adc, n: number) => adc.sampleOf(0, n);
    expect([at(adcs[0]!, 0), at(adcs[2]!, 0), at(adcs[0]!, 3000)]).toEqual([100, 101, -100]);
  });

  it('a later run with another layout, and a loopback input, are generated afresh', () => {
    const clock = new VirtualClock();
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    adc.start(LAYOUT);
    const a = new Uint8Array(16);
    adc.fill(a, 0, 0, 16);
    adc.stop();
    adc.start(LAYOUT_CH1);
    const b = new Uint8Array(8);
    adc.fill(b, 0, 0, 8);
    expect(readScans(b, 0, LAYOUT_CH1, 4)).toEqual([0, 1, 2, 3].map((n) => [rampScan(n)[1]]));
    adc.stop();
    adc.setInput(1, { valueAt: () => 77 });
    adc.start(LAYOUT);
    adc.fill(a, 0, 0, 16);
    expect(readScans(a, 0, LAYOUT, 4)).toEqual([0, 1, 2, 3].map((n) => [rampScan(n)[0], 77]));
  });
});

describe('Dac', () => {
  function dacRig() {
    const clock = new VirtualClock();
    const dac = new Dac(
      clock,
      'dac',
      [
        { id: 'voltage0', type: S12 },
        { id: 'voltage1', type: S12 },
      ],
      1_000_000,
    );
    const dma = channel(clock, 'tx', 'mem-to-dev');
    dac.attachDma(dma);
    const submit = (mem: Uint8Array, cyclic = false) =>
      dma.submit(dma.prep(mem, mem.length, cyclic, null, 'x')!);
    return { clock, dac, dma, submit };
  }

  it('records each run and the segments it played', () => {
    const { clock, dac, submit } = dacRig();
    expect(dac.runs).toEqual([]);
    expect(dac.playedScans()).toEqual([]);
    clock.runUntil(1000);
    dac.start(LAYOUT);
    submit(dacPattern(1, 4));
    submit(dacPattern(2, 4));
    clock.runUntil(11_000);
    dac.stop();
    expect(dac.runs.length).toBe(1);
    const run = dac.runs[0]!;
    expect(run.clock).toEqual({ t0: 1000, rate: 1_000_000 });
    expect(run.layout).toBe(LAYOUT);
    expect(run.end).toBe(40);
    expect(run.segments.map((s) => [s.start, s.end, s.cyclic, s.bytes.length])).toEqual([
      [0, 16, false, 16],
      [16, 32, false, 16],
    ]);
  });

  it('playedScans decodes what was played, null where the DAC starved', () => {
    const { clock, dac, submit } = dacRig();
    dac.start(LAYOUT);
    submit(dacPattern(1, 4));
    clock.runUntil(6500); // scans 4, 5 starve
    submit(dacPattern(2, 2)); // scans 6, 7
    clock.runUntil(9000);
    expect(dac.playedScans()).toEqual([
      pattern(1, 0),
      pattern(1, 1),
      pattern(1, 2),
      pattern(1, 3),
      null,
      null,
      pattern(2, 0),
      pattern(2, 1),
      null,
    ]);
    expect(dac.playedScans(0, 3)).toEqual([pattern(1, 0), pattern(1, 1), pattern(1, 2)]);
  });

  it('playedScans of an earlier run stops where that run stopped', () => {
    const { clock, dac, submit, dma } = dacRig();
    dac.start(LAYOUT);
    submit(dacPattern(1, 8));
    clock.runUntil(3000);
    dma.terminateAll();
    dac.stop();
    clock.runUntil(5000);
    dac.start(LAYOUT);
    submit(dacPattern(2, 2));
    clock.runUntil(8000);
    expect(dac.runs.length).toBe(2);
    expect(dac.playedScans(0)).toEqual([pattern(1, 0), pattern(1, 1), pattern(1, 2)]);
    expect(dac.playedScans(1)).toEqual([pattern(2, 0), pattern(2, 1), null]);
    expect(dac.playedScans()).toEqual(dac.playedScans(1));
    expect(dac.playedScans(5)).toEqual([]);
  });

  it('valueAt gives the scan being played at t; undefined when stopped, starved or for a disabled channel', () => {
    const { clock, dac, submit, dma } = dacRig();
    clock.runUntil(1000);
    dac.start(LAYOUT);
    submit(dacPattern(1, 4)); // scans 0..3 play during (1000, 5000]
    clock.runUntil(8000);
    expect(dac.valueAt(0, 999)).toBeUndefined();
    expect(dac.valueAt(0, 1000)).toBe(100); // scan 0 is being played
    expect(dac.valueAt(1, 1999)).toBe(-100);
    expect(dac.valueAt(0, 2000)).toBe(101);
    expect(dac.valueAt(1, 4999)).toBe(-103);
    expect(dac.valueAt(0, 5000)).toBeUndefined(); // starved from scan 4 on
    expect(dac.valueAt(2, 1500)).toBeUndefined();
    dma.terminateAll();
    dac.stop();
    expect(dac.valueAt(0, 2500)).toBe(101); // the past stays recorded
    expect(dac.valueAt(0, 8000)).toBeUndefined();
    expect(dac.valueAt(0, 20_000)).toBeUndefined();
  });

  it('valueAt follows a cyclic buffer pass after pass', () => {
    const { clock, dac, submit } = dacRig();
    dac.start(LAYOUT);
    submit(dacPattern(3, 5), true);
    clock.runUntil(100_000);
    for (const k of [0, 4, 5, 13, 99]) expect(dac.valueAt(0, k * 1000)).toBe(300 + (k % 5));
  });
});

describe('loopback DAC -> ADC', () => {
  function loop(dacStart: number) {
    const clock = new VirtualClock();
    const dac = new Dac(
      clock,
      'dac',
      [
        { id: 'voltage0', type: S12 },
        { id: 'voltage1', type: S12 },
      ],
      1_000_000,
    );
    const tx = channel(clock, 'tx', 'mem-to-dev');
    dac.attachDma(tx);
    const adc = new Adc(clock, 'adc', RAMPS, 1_000_000, 7);
    const rx = channel(clock, 'rx', 'dev-to-mem');
    adc.attachDma(rx);
    adc.setInput(0, { valueAt: (t) => dac.valueAt(0, t) });
    adc.setInput(1, { valueAt: (t) => dac.valueAt(1, t) });
    const cyc = dacPattern(1, 16);
    tx.submit(tx.prep(cyc, cyc.length, true, null, 'cyc')!);
    const mem = new Uint8Array(48 * 4);
    rx.submit(rx.prep(mem, mem.length, false, null, 'cap')!);
    adc.start(LAYOUT);
    clock.runUntil(dacStart);
    dac.start(LAYOUT);
    clock.runUntil(100_000);
    return readScans(mem, 0, LAYOUT, 48);
  }

  it('an ADC fed by dac.valueAt captures the DAC waveform (one scan later at equal clocks)', () => {
    const got = loop(0);
    // ADC scan n is converted at (n + 1) us, when the DAC is playing its scan n + 1.
    expect(got).toEqual(Array.from({ length: 48 }, (_, n) => pattern(1, (n + 1) % 16)));
  });

  it('reads 0 before the DAC starts, then the DAC waveform', () => {
    const got = loop(5500);
    const expected = Array.from({ length: 48 }, (_, n) => (n < 5 ? [0, 0] : pattern(1, (n - 5) % 16)));
    expect(got).toEqual(expected);
  });
});
