import { EventEmitter } from 'eventemitter3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/hw/clock.ts';
import { Adc, type ChannelSpec, Dac } from '../../src/hw/converter.ts';
import { DmaChannel, type DmaEvents, type DmaResult, type DmaStats } from '../../src/hw/dma.ts';
import type { ScanLayout, ScanType } from '../../src/hw/scan.ts';

const S12: ScanType = { sign: 's', realbits: 12, storagebits: 16, shift: 0, endianness: 'le' };
/** Ramp offsets per ADC channel, so that channels are told apart. */
const OFFSETS = [0, 1000, 2000] as const;

/** Two 16-bit channels: 4 bytes per scan. */
const LAYOUT4: ScanLayout = {
  bytesPerScan: 4,
  fields: [
    { channel: 0, offset: 0, type: S12 },
    { channel: 1, offset: 2, type: S12 },
  ],
};
/** Three 16-bit channels: 6 bytes per scan, so 4-byte aligned lengths split scans. */
const LAYOUT6: ScanLayout = {
  bytesPerScan: 6,
  fields: [
    { channel: 0, offset: 0, type: S12 },
    { channel: 1, offset: 2, type: S12 },
    { channel: 2, offset: 4, type: S12 },
  ],
};

const SENTINEL = 0xa5;

/** Raw code of the ramp on ADC channel `ch` at scan `n`: s12 ramp with step 1 and the channel's offset. */
function ramp(ch: number, n: number): number {
  return ((n + OFFSETS[ch]!) % 4096) - 2048;
}

/** The ADC's stream bytes [from, from + len) for a layout of 16-bit little-endian fields. */
function stream(layout: ScanLayout, from: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const bps = layout.bytesPerScan;
  for (let i = 0; i < len; i++) {
    const b = from + i;
    const scan = Math.floor(b / bps);
    const within = b % bps;
    const field = layout.fields.find((f) => within >= f.offset && within < f.offset + 2)!;
    const word = ramp(field.channel, scan) & 0xffff;
    out[i] = within === field.offset ? word & 0xff : word >> 8;
  }
  return out;
}

function adcChannels(n: number): ChannelSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `voltage${i}`,
    type: S12,
    signal: { kind: 'ramp', step: 1, offset: OFFSETS[i]! },
  }));
}

interface Call {
  readonly label: string;
  readonly time: number;
  readonly result: DmaResult;
}

interface RigOptions {
  rate?: number;
  irqLatencyNs?: number;
  lengthAlignBytes?: number;
  channels?: number;
}

/** An ADC (ramp signals) wired to a dev-to-mem channel, with an event log. */
function adcRig(opts: RigOptions = {}) {
  const clock = new VirtualClock();
  const bus = new EventEmitter<DmaEvents>();
  const adc = new Adc(clock, 'adc', adcChannels(opts.channels ?? 2), opts.rate ?? 1_000_000, 1);
  const dma = new DmaChannel(
    clock,
    {
      name: 'rx',
      direction: 'dev-to-mem',
      maxSegmentSize: 1 << 20,
      lengthAlignBytes: opts.lengthAlignBytes ?? 4,
      irqLatencyNs: opts.irqLatencyNs ?? 1000,
    },
    bus,
  );
  adc.attachDma(dma);
  return { clock, bus, adc, dma, ...callbacks(clock, dma) };
}

/** A DAC wired to a mem-to-dev channel. */
function dacRig(opts: RigOptions = {}) {
  const clock = new VirtualClock();
  const bus = new EventEmitter<DmaEvents>();
  const chans: ChannelSpec[] = [
    { id: 'voltage0', type: S12 },
    { id: 'voltage1', type: S12 },
  ];
  const dac = new Dac(clock, 'dac', chans, opts.rate ?? 1_000_000);
  const dma = new DmaChannel(
    clock,
    {
      name: 'tx',
      direction: 'mem-to-dev',
      maxSegmentSize: 1 << 20,
      lengthAlignBytes: opts.lengthAlignBytes ?? 4,
      irqLatencyNs: opts.irqLatencyNs ?? 1000,
    },
    bus,
  );
  dac.attachDma(dma);
  return { clock, bus, dac, dma, ...callbacks(clock, dma) };
}

function callbacks(clock: VirtualClock, dma: DmaChannel) {
  const calls: Call[] = [];
  /** Preps and submits a transfer into fresh memory (filled with SENTINEL); returns the memory. */
  const submit = (length: number, label: string, cyclic = false, memory?: Uint8Array) => {
    const mem = memory ?? new Uint8Array(length).fill(SENTINEL);
    const desc = dma.prep(
      mem,
      length,
      cyclic,
      (result) => {
        calls.push({ label, time: clock.now, result });
      },
      label,
    );
    if (desc === null) throw new Error(`prep refused ${length}`);
    dma.submit(desc);
    return { mem, desc };
  };
  return { calls, submit };
}

function record<K extends keyof DmaEvents>(bus: EventEmitter<DmaEvents>, name: K) {
  const out: Parameters<DmaEvents[K]>[0][] = [];
  bus.on(name, ((e: Parameters<DmaEvents[K]>[0]) => {
    out.push(e);
  }) as never);
  return out;
}

function sumOfCounters(s: DmaStats): number {
  return s.bytesDone + s.bytesFailed + s.bytesAborted + s.bytesCyclic + s.bytesGap;
}

/** DAC test pattern: scan i of a buffer tagged `tag` carries (tag*100 + i, -(tag*100 + i)). */
function dacPattern(tag: number, scans: number): Uint8Array {
  const mem = new Uint8Array(scans * 4);
  const view = new DataView(mem.buffer);
  for (let i = 0; i < scans; i++) {
    view.setInt16(i * 4, tag * 100 + i, true);
    view.setInt16(i * 4 + 2, -(tag * 100 + i), true);
  }
  return mem;
}

describe('DmaChannel.prep', () => {
  it('refuses a zero or negative length', () => {
    const { dma } = adcRig();
    const mem = new Uint8Array(64);
    expect(dma.prep(mem, 0, false, null, 'zero')).toBeNull();
    expect(dma.prep(mem, -4, false, null, 'negative')).toBeNull();
  });

  it('refuses a length that is not a multiple of the bus width', () => {
    const { dma } = adcRig();
    const mem = new Uint8Array(64);
    for (const len of [1, 2, 3, 6, 62, 4.5]) expect(dma.prep(mem, len, false, null, 'odd')).toBeNull();
  });

  it('refuses a length beyond the memory', () => {
    const { dma } = adcRig();
    expect(dma.prep(new Uint8Array(64), 68, false, null, 'big')).toBeNull();
  });

  it('accepts an aligned length up to the memory size and numbers descriptors', () => {
    const { dma } = adcRig();
    const mem = new Uint8Array(64);
    const cb = () => {};
    const a = dma.prep(mem, 64, false, cb, 'a');
    const b = dma.prep(mem, 4, true, null, 'b');
    expect(a).toEqual({
      id: a!.id,
      vecs: [mem],
      length: 64,
      cyclic: false,
      callback: cb,
      label: 'a',
      loadEot: true,
    });
    expect(b).toEqual({
      id: a!.id + 1,
      vecs: [mem],
      length: 4,
      cyclic: true,
      callback: null,
      label: 'b',
      loadEot: true,
    });
  });
});

describe('DmaChannel memory vectors', () => {
  it('prep takes a list of vectors and refuses a length beyond their total', () => {
    const { dma } = adcRig();
    const v = [new Uint8Array(8), new Uint8Array(12)];
    expect(dma.prep(v, 20, false, null, 'fits')?.vecs).toEqual(v);
    expect(dma.prep(v, 24, false, null, 'too long')).toBeNull();
    expect(dma.prep([], 4, false, null, 'no memory')).toBeNull();
  });

  it('a capture runs through the vectors in order, from the first byte of the first', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    const v = [
      new Uint8Array(8).fill(SENTINEL),
      new Uint8Array(12).fill(SENTINEL),
      new Uint8Array(4).fill(SENTINEL),
    ];
    r.dma.submit(r.dma.prep(v, 16, false, null, 'sg')!);
    r.clock.runUntil(10_000);
    expect(v[0]).toEqual(stream(LAYOUT4, 0, 8));
    const second = new Uint8Array(12).fill(SENTINEL);
    second.set(stream(LAYOUT4, 8, 8));
    expect(v[1]).toEqual(second);
    expect(v[2]).toEqual(new Uint8Array(4).fill(SENTINEL));
    expect(r.dma.stats.bytesDone).toBe(16);
  });

  it('a terminated capture writes its partial data across the vectors', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    const v = [new Uint8Array(8).fill(SENTINEL), new Uint8Array(8).fill(SENTINEL)];
    r.dma.submit(r.dma.prep(v, 16, false, null, 'sg')!);
    r.clock.runUntil(3500); // 3 scans = 12 bytes
    r.dma.terminateAll();
    expect(r.dma.stats.bytesAborted).toBe(12);
    expect(v[0]).toEqual(stream(LAYOUT4, 0, 8));
    expect(v[1]).toEqual(Uint8Array.from([...stream(LAYOUT4, 8, 4), SENTINEL, SENTINEL, SENTINEL, SENTINEL]));
  });

  it('a DAC transfer plays the vectors one after the other, up to its length', () => {
    const r = dacRig();
    r.dac.start(LAYOUT4);
    const all = dacPattern(1, 6);
    const v = [all.slice(0, 8), all.slice(8, 24)];
    r.dma.submit(r.dma.prep(v, 20, false, null, 'sg')!);
    r.clock.runUntil(7000);
    expect(r.dac.playedScans()).toEqual([
      [100, -100],
      [101, -101],
      [102, -102],
      [103, -103],
      [104, -104],
      null,
      null,
    ]);
  });
});

describe('DmaChannel dev-to-mem: completion timing', () => {
  it('completes when the scan holding its last byte is converted; callback after the IRQ latency', () => {
    const r = adcRig({ rate: 300_000 });
    const done = record(r.bus, 'dma:done');
    const irq = record(r.bus, 'dma:irq');
    r.clock.runUntil(5000);
    r.adc.start(LAYOUT4);
    const { mem, desc } = r.submit(40, 'a'); // 10 scans: last one converted at 5000 + floor(10e9 / 3e5)
    const end = 5000 + 33_333;
    r.clock.runUntil(end - 1);
    expect(r.dma.stats.transfers).toBe(0);
    expect(r.dma.busy).toBe(true);
    r.clock.runUntil(end);
    expect(r.dma.stats.transfers).toBe(1);
    expect(r.dma.stats.bytesDone).toBe(40);
    expect(r.dma.busy).toBe(false);
    expect(done).toEqual([
      {
        channel: 'rx',
        id: desc.id,
        label: 'a',
        status: 'complete',
        residue: 0,
        time: end,
        irqAt: end + 1000,
      },
    ]);
    expect(mem).toEqual(stream(LAYOUT4, 0, 40));
    r.clock.runUntil(end + 999);
    expect(r.calls).toEqual([]);
    r.clock.runUntil(end + 1000);
    expect(r.calls).toEqual([{ label: 'a', time: end + 1000, result: { status: 'complete', residue: 0 } }]);
    expect(irq).toEqual([{ channel: 'rx', id: desc.id, label: 'a', time: end + 1000 }]);
    r.clock.runUntil(1_000_000);
    expect(r.calls.length).toBe(1);
  });

  it('a transfer whose last byte sits inside a scan completes when that scan is converted', () => {
    const r = adcRig({ channels: 3 });
    const done = record(r.bus, 'dma:done');
    r.adc.start(LAYOUT6);
    const { mem } = r.submit(16, 'a'); // bytes 0..15: last byte in scan 2
    r.clock.runUntil(100_000);
    expect(done.map((e) => e.time)).toEqual([3000]);
    expect(r.calls.map((c) => c.time)).toEqual([4000]);
    expect(mem).toEqual(stream(LAYOUT6, 0, 16));
  });

  it('the start event reports stream byte and time', () => {
    const r = adcRig();
    const starts = record(r.bus, 'dma:start');
    r.adc.start(LAYOUT4);
    const { desc } = r.submit(32, 'a');
    expect(starts).toEqual([{ channel: 'rx', id: desc.id, label: 'a', streamByte: 0, length: 32, time: 0 }]);
  });
});

describe('DmaChannel dev-to-mem: continuity and overflow', () => {
  it('back-to-back transfers queued before the first completes lose nothing', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    const a = r.submit(64, 'a');
    const b = r.submit(64, 'b');
    r.clock.runUntil(10_500);
    const c = r.submit(64, 'c'); // queued while a is still running
    r.clock.runUntil(1_000_000);
    expect(r.dma.stats.bytesGap).toBe(0);
    expect(r.dma.stats.scansGap).toBe(0);
    expect(r.dma.stats.transfers).toBe(3);
    expect(r.dma.stats.bytesDone).toBe(192);
    expect(a.mem).toEqual(stream(LAYOUT4, 0, 64));
    expect(b.mem).toEqual(stream(LAYOUT4, 64, 64));
    expect(c.mem).toEqual(stream(LAYOUT4, 128, 64));
    expect(r.calls.map((x) => [x.label, x.time])).toEqual([
      ['a', 17_000],
      ['b', 33_000],
      ['c', 49_000],
    ]);
  });

  it('a transfer submitted late loses exactly the scans produced meanwhile', () => {
    const r = adcRig();
    const gaps = record(r.bus, 'dma:gap');
    const starts = record(r.bus, 'dma:start');
    r.adc.start(LAYOUT4);
    r.submit(32, 'a'); // scans 0..7, done at 8000
    r.clock.runUntil(13_500); // scans 8..12 converted with nothing to take them
    const b = r.submit(32, 'b');
    expect(r.dma.stats.bytesGap).toBe(20);
    expect(r.dma.stats.scansGap).toBe(5);
    expect(gaps).toEqual([{ channel: 'rx', kind: 'overflow', bytes: 20, scans: 5, time: 13_500 }]);
    expect(starts.at(-1)?.streamByte).toBe(52);
    r.clock.runUntil(100_000);
    expect(b.mem).toEqual(stream(LAYOUT4, 52, 32));
    expect(r.calls.map((x) => [x.label, x.time])).toEqual([
      ['a', 9000],
      ['b', 22_000], // scans 13..20, the last converted at 21000
    ]);
  });

  it('the scan converted at the very instant of the submit is lost too', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    r.clock.runUntil(3000); // scans 0, 1, 2 converted (scan 2 at exactly 3000)
    const a = r.submit(8, 'a');
    expect(r.dma.stats.bytesGap).toBe(12);
    expect(r.dma.stats.scansGap).toBe(3);
    r.clock.runUntil(10_000);
    expect(a.mem).toEqual(stream(LAYOUT4, 12, 8));
  });

  it('transfers waiting before the converter starts begin at scan 0', () => {
    const r = adcRig();
    const starts = record(r.bus, 'dma:start');
    const a = r.submit(16, 'a');
    const b = r.submit(16, 'b');
    expect(r.dma.busy).toBe(true);
    r.clock.runUntil(7000);
    expect(starts).toEqual([]);
    r.adc.start(LAYOUT4);
    expect(starts.map((s) => [s.label, s.streamByte, s.time])).toEqual([['a', 0, 7000]]);
    r.clock.runUntil(100_000);
    expect(r.dma.stats.bytesGap).toBe(0);
    expect(r.dma.stats.scansGap).toBe(0);
    expect(a.mem).toEqual(stream(LAYOUT4, 0, 16));
    expect(b.mem).toEqual(stream(LAYOUT4, 16, 16));
    expect(r.calls.map((x) => [x.label, x.time])).toEqual([
      ['a', 7000 + 4000 + 1000],
      ['b', 7000 + 8000 + 1000],
    ]);
  });
});

describe('DmaChannel across converter runs', () => {
  it('stopping the ADC with no transfer active counts the scans since the last one as overflow', () => {
    const r = adcRig();
    const gaps = record(r.bus, 'dma:gap');
    r.adc.start(LAYOUT4);
    r.submit(8, 'a'); // scans 0, 1
    r.clock.runUntil(10_500);
    r.adc.stop();
    expect(r.dma.stats.bytesGap).toBe(32);
    expect(r.dma.stats.scansGap).toBe(8);
    expect(gaps).toEqual([{ channel: 'rx', kind: 'overflow', bytes: 32, scans: 8, time: 10_500 }]);
    expect(sumOfCounters(r.dma.stats)).toBe(40);
  });

  it('a transfer submitted while stopped begins at scan 0 of the next run', () => {
    const r = adcRig();
    const starts = record(r.bus, 'dma:start');
    r.adc.start(LAYOUT4);
    r.submit(8, 'a');
    r.clock.runUntil(5000);
    r.adc.stop();
    r.clock.runUntil(6000);
    const b = r.submit(8, 'b');
    r.clock.runUntil(9000);
    expect(starts.map((s) => s.label)).toEqual(['a']);
    r.adc.start(LAYOUT4);
    expect(starts.at(-1)).toEqual({
      channel: 'rx',
      id: b.desc.id,
      label: 'b',
      streamByte: 0,
      length: 8,
      time: 9000,
    });
    r.clock.runUntil(20_000);
    expect(b.mem).toEqual(stream(LAYOUT4, 0, 8));
    expect(r.calls.map((c) => [c.label, c.time])).toEqual([
      ['a', 3000],
      ['b', 12_000],
    ]);
    expect(r.dma.stats.bytesGap).toBe(12); // scans 2..4 of the first run
  });
});

describe('DmaChannel dev-to-mem: scans split across transfers', () => {
  it('a split scan carries over to the next queued buffer with no gap', () => {
    const r = adcRig({ channels: 3 });
    r.adc.start(LAYOUT6);
    const a = r.submit(16, 'a'); // stream bytes 0..15 (scans 0, 1 and 4 bytes of 2)
    const b = r.submit(16, 'b'); // queued: should continue at stream byte 16 (rest of scan 2)
    const c = r.submit(16, 'c');
    r.clock.runUntil(100_000);
    expect(r.dma.stats.bytesGap).toBe(0);
    expect(r.dma.stats.scansGap).toBe(0);
    expect(a.mem).toEqual(stream(LAYOUT6, 0, 16));
    expect(b.mem).toEqual(stream(LAYOUT6, 16, 16));
    expect(c.mem).toEqual(stream(LAYOUT6, 32, 16));
    // b's last byte (31) lies in scan 5, c's (47) in scan 7.
    expect(r.calls.map((x) => [x.label, x.time])).toEqual([
      ['a', 4000],
      ['b', 7000],
      ['c', 9000],
    ]);
  });

  it('after a gap, a scan partly in the gap counts in scansGap and capture resumes on a whole scan', () => {
    const r = adcRig({ channels: 3 });
    r.adc.start(LAYOUT6);
    r.submit(16, 'a'); // ends at byte 16, inside scan 2
    r.clock.runUntil(6500); // scans 0..5 converted: stream byte 36
    const b = r.submit(12, 'b');
    expect(r.dma.stats.bytesGap).toBe(20); // bytes 16..35
    expect(r.dma.stats.scansGap).toBe(4); // scans 2 (partly), 3, 4, 5
    r.clock.runUntil(100_000);
    expect(b.mem).toEqual(stream(LAYOUT6, 36, 12));
  });
});

describe('DmaChannel.terminateAll', () => {
  it('cuts the running transfer where the converter is, drops queued ones, runs no callback', () => {
    const r = adcRig();
    const starts = record(r.bus, 'dma:start');
    const aborts = record(r.bus, 'dma:abort');
    r.adc.start(LAYOUT4);
    const a = r.submit(160, 'a'); // 40 scans
    r.submit(64, 'b');
    r.submit(64, 'c');
    r.clock.runUntil(12_500); // 12 scans converted
    r.dma.terminateAll();
    expect(r.dma.busy).toBe(false);
    expect(r.dma.stats.bytesAborted).toBe(48);
    expect(r.dma.stats.transfers).toBe(0);
    expect(r.dma.stats.bytesDone).toBe(0);
    expect(aborts).toEqual([{ channel: 'rx', id: a.desc.id, label: 'a', bytesDone: 48, time: 12_500 }]);
    const expected = new Uint8Array(160).fill(SENTINEL);
    expected.set(stream(LAYOUT4, 0, 48));
    expect(a.mem).toEqual(expected);
    expect(r.clock.pending).toBe(0);
    r.clock.runUntil(10_000_000);
    expect(r.calls).toEqual([]);
    expect(starts.map((s) => s.label)).toEqual(['a']);
    expect(r.dma.stats.bytesAborted).toBe(48);
  });

  it('cancels pending IRQ callbacks of transfers that already completed', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    r.submit(32, 'a'); // completes at 8000, IRQ due at 9000
    r.submit(32, 'b'); // starts at 8000
    r.clock.runUntil(8500);
    expect(r.dma.stats.transfers).toBe(1);
    r.dma.terminateAll();
    expect(r.clock.pending).toBe(0);
    r.clock.runUntil(1_000_000);
    expect(r.calls).toEqual([]);
    expect(r.dma.stats.bytesDone).toBe(32);
    expect(r.dma.stats.bytesAborted).toBe(0); // no scan of b converted yet
  });

  it('a transfer submitted after a terminate resumes on the next unconverted scan, counting the gap', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    r.submit(160, 'a');
    r.clock.runUntil(12_500);
    r.dma.terminateAll();
    r.clock.runUntil(20_200); // scans 12..19 lost
    const b = r.submit(16, 'b');
    expect(r.dma.stats.bytesGap).toBe(32);
    expect(r.dma.stats.scansGap).toBe(8);
    r.clock.runUntil(100_000);
    expect(b.mem).toEqual(stream(LAYOUT4, 80, 16));
    expect(r.calls).toEqual([{ label: 'b', time: 25_000, result: { status: 'complete', residue: 0 } }]);
  });

  it('with nothing running it changes nothing', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    r.dma.terminateAll();
    r.clock.runUntil(5000);
    r.submit(8, 'a');
    expect(r.dma.stats.bytesGap).toBe(20);
    expect(r.dma.stats.bytesAborted).toBe(0);
  });
});

describe('DmaChannel fault injection', () => {
  it('injectError on the running transfer: callback gets status error and the residue; bytesFailed', () => {
    const r = adcRig();
    const done = record(r.bus, 'dma:done');
    r.adc.start(LAYOUT4);
    const a = r.submit(32, 'a');
    const b = r.submit(32, 'b');
    r.clock.runUntil(2000);
    r.dma.injectError(12);
    r.clock.runUntil(100_000);
    expect(r.calls).toEqual([
      { label: 'a', time: 9000, result: { status: 'error', residue: 12 } },
      { label: 'b', time: 17_000, result: { status: 'complete', residue: 0 } },
    ]);
    expect(done.map((e) => [e.status, e.residue])).toEqual([
      ['error', 12],
      ['complete', 0],
    ]);
    expect(r.dma.stats.bytesFailed).toBe(12);
    expect(r.dma.stats.bytesDone).toBe(20 + 32);
    expect(r.dma.stats.errors).toBe(1);
    expect(r.dma.stats.transfers).toBe(2);
    expect(r.dma.stats.bytesGap).toBe(0);
    const expected = new Uint8Array(32).fill(SENTINEL);
    expected.set(stream(LAYOUT4, 0, 20));
    expect(a.mem).toEqual(expected);
    expect(b.mem).toEqual(stream(LAYOUT4, 32, 32));
  });

  it('injectError with nothing running hits the next transfer started; default residue 0', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    r.dma.injectError();
    const a = r.submit(16, 'a');
    r.submit(16, 'b');
    r.clock.runUntil(100_000);
    expect(r.calls.map((c) => c.result)).toEqual([
      { status: 'error', residue: 0 },
      { status: 'complete', residue: 0 },
    ]);
    expect(r.dma.stats.errors).toBe(1);
    expect(r.dma.stats.bytesFailed).toBe(0);
    expect(r.dma.stats.bytesDone).toBe(32);
    expect(a.mem).toEqual(stream(LAYOUT4, 0, 16));
  });

  it('a residue larger than the transfer is the whole transfer', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    const a = r.submit(16, 'a');
    r.dma.injectError(1000);
    r.clock.runUntil(100_000);
    expect(r.calls.map((c) => c.result)).toEqual([{ status: 'error', residue: 16 }]);
    expect(r.dma.stats.bytesFailed).toBe(16);
    expect(r.dma.stats.bytesDone).toBe(0);
    expect(a.mem).toEqual(new Uint8Array(16).fill(SENTINEL));
  });

  it('delayNextIrq delays the running transfer’s callback only', () => {
    const r = adcRig();
    const done = record(r.bus, 'dma:done');
    r.adc.start(LAYOUT4);
    r.submit(16, 'a'); // done at 4000
    r.submit(16, 'b'); // done at 8000
    r.dma.delayNextIrq(5000);
    r.clock.runUntil(100_000);
    expect(done.map((e) => [e.label, e.time, e.irqAt])).toEqual([
      ['a', 4000, 10_000],
      ['b', 8000, 9000],
    ]);
    expect(r.calls.map((c) => [c.label, c.time])).toEqual([
      ['b', 9000],
      ['a', 10_000],
    ]);
  });

  it('delayNextIrq with nothing running delays the next transfer started; delays add up', () => {
    const r = adcRig();
    r.adc.start(LAYOUT4);
    r.dma.delayNextIrq(300);
    r.dma.delayNextIrq(200);
    r.submit(16, 'a');
    r.submit(16, 'b');
    r.clock.runUntil(100_000);
    expect(r.calls.map((c) => [c.label, c.time])).toEqual([
      ['a', 4000 + 1000 + 500],
      ['b', 8000 + 1000],
    ]);
  });
});

describe('DmaChannel mem-to-dev (DAC)', () => {
  it('plays transfers back to back and completes each when its last scan has been played', () => {
    const r = dacRig();
    r.dac.start(LAYOUT4);
    r.submit(32, 'a', false, dacPattern(1, 8));
    r.submit(32, 'b', false, dacPattern(2, 8));
    r.clock.runUntil(20_000);
    expect(r.calls.map((c) => [c.label, c.time])).toEqual([
      ['a', 9000],
      ['b', 17_000],
    ]);
    expect(r.dma.stats.bytesDone).toBe(64);
    expect(r.dma.stats.bytesGap).toBe(0);
    const played = r.dac.playedScans();
    expect(played.length).toBe(20);
    for (let i = 0; i < 8; i++) expect(played[i]).toEqual([100 + i, -(100 + i)]);
    for (let i = 0; i < 8; i++) expect(played[8 + i]).toEqual([200 + i, -(200 + i)]);
    expect(played.slice(16)).toEqual([null, null, null, null]);
  });

  it('counts underflow when nothing is queued after start', () => {
    const r = dacRig();
    const gaps = record(r.bus, 'dma:gap');
    r.dac.start(LAYOUT4);
    r.clock.runUntil(5500);
    r.submit(16, 'a', false, dacPattern(1, 4));
    expect(gaps).toEqual([{ channel: 'tx', kind: 'underflow', bytes: 20, scans: 5, time: 5500 }]);
    r.clock.runUntil(12_000); // a plays scans 5..8; 9, 10, 11 starve
    r.dac.stop();
    expect(r.dma.stats.bytesGap).toBe(32);
    expect(r.dma.stats.scansGap).toBe(8);
    expect(gaps.at(-1)).toEqual({ channel: 'tx', kind: 'underflow', bytes: 12, scans: 3, time: 12_000 });
    expect(sumOfCounters(r.dma.stats)).toBe(48);
    const played = r.dac.playedScans();
    expect(played.length).toBe(12);
    expect(played.slice(0, 5)).toEqual([null, null, null, null, null]);
    expect(played.slice(5, 9)).toEqual([
      [100, -100],
      [101, -101],
      [102, -102],
      [103, -103],
    ]);
    expect(played.slice(9)).toEqual([null, null, null]);
  });

  it('a cyclic transfer repeats with no events until another descriptor is queued, then switches at the pass boundary', () => {
    const r = dacRig();
    const starts = record(r.bus, 'dma:start');
    r.dac.start(LAYOUT4);
    r.submit(64, 'cyc', true, dacPattern(1, 16)); // 16 scans a pass
    r.clock.runUntil(40_500); // 40 scans played: 2.5 passes
    expect(r.clock.pending).toBe(0);
    expect(r.dma.busy).toBe(true);
    expect(r.dma.stats.cyclicPasses).toBe(0);
    r.submit(32, 'next', false, dacPattern(2, 8));
    r.clock.runUntil(47_999);
    expect(starts.map((s) => s.label)).toEqual(['cyc']);
    r.clock.runUntil(48_000); // end of the third pass
    expect(starts.map((s) => [s.label, s.streamByte, s.time])).toEqual([
      ['cyc', 0, 0],
      ['next', 192, 48_000],
    ]);
    expect(r.dma.stats.cyclicPasses).toBe(3);
    expect(r.dma.stats.bytesCyclic).toBe(192);
    r.clock.runUntil(60_000);
    expect(r.calls).toEqual([{ label: 'next', time: 57_000, result: { status: 'complete', residue: 0 } }]);
    expect(r.dma.stats.transfers).toBe(1);
    expect(r.dma.stats.bytesDone).toBe(32);
    r.dac.stop();
    expect(r.dma.stats.bytesGap).toBe(16); // scans 56..59 starved
    expect(sumOfCounters(r.dma.stats)).toBe(240);
    const played = r.dac.playedScans();
    expect(played.length).toBe(60);
    for (let i = 0; i < 48; i++) expect(played[i]).toEqual([100 + (i % 16), -(100 + (i % 16))]);
    for (let i = 0; i < 8; i++) expect(played[48 + i]).toEqual([200 + i, -(200 + i)]);
    expect(played.slice(56)).toEqual([null, null, null, null]);
  });

  it('terminate during a cyclic transfer counts the bytes played, whole and partial passes', () => {
    const r = dacRig();
    const aborts = record(r.bus, 'dma:abort');
    r.dac.start(LAYOUT4);
    const c = r.submit(64, 'cyc', true, dacPattern(1, 16));
    r.clock.runUntil(100_500); // 100 scans: 6 passes and 4 scans
    r.dma.terminateAll();
    expect(r.dma.stats.bytesCyclic).toBe(400);
    expect(r.dma.stats.cyclicPasses).toBe(6);
    expect(r.dma.stats.bytesAborted).toBe(0);
    expect(aborts).toEqual([{ channel: 'tx', id: c.desc.id, label: 'cyc', bytesDone: 400, time: 100_500 }]);
    r.clock.runUntil(110_000);
    r.dac.stop();
    expect(r.dma.stats.bytesGap).toBe(40);
    expect(sumOfCounters(r.dma.stats)).toBe(440);
    expect(r.calls).toEqual([]);
    const played = r.dac.playedScans();
    expect(played.length).toBe(110);
    for (let i = 0; i < 100; i++) expect(played[i]).toEqual([100 + (i % 16), -(100 + (i % 16))]);
    expect(played.slice(100).every((s) => s === null)).toBe(true);
  });

  it('terminate during a cyclic transfer whose pass end is already scheduled', () => {
    const r = dacRig();
    const starts = record(r.bus, 'dma:start');
    r.dac.start(LAYOUT4);
    r.submit(64, 'cyc', true, dacPattern(1, 16));
    r.clock.runUntil(20_500);
    r.submit(32, 'next', false, dacPattern(2, 8)); // pass end scheduled for 32000
    r.clock.runUntil(25_500);
    r.dma.terminateAll();
    expect(r.clock.pending).toBe(0);
    r.clock.runUntil(100_000);
    expect(starts.map((s) => s.label)).toEqual(['cyc']);
    expect(r.dma.stats.bytesCyclic).toBe(100);
    expect(r.dma.stats.cyclicPasses).toBe(1);
    expect(r.calls).toEqual([]);
  });
});

describe('DmaChannel faults around cyclic transfers', () => {
  it('injectError and delayNextIrq while a cyclic transfer runs hit the next non-cyclic transfer', () => {
    const r = dacRig();
    r.dac.start(LAYOUT4);
    r.submit(16, 'cyc', true, dacPattern(1, 4));
    r.clock.runUntil(2500);
    r.dma.injectError(4);
    r.dma.delayNextIrq(700);
    r.submit(16, 'next', false, dacPattern(2, 4)); // starts at the pass end, scan 4 (t=4000)
    r.clock.runUntil(50_000);
    expect(r.calls).toEqual([
      { label: 'next', time: 8000 + 1000 + 700, result: { status: 'error', residue: 4 } },
    ]);
    expect(r.dma.stats.bytesCyclic).toBe(16);
    expect(r.dma.stats.bytesFailed).toBe(4);
    expect(r.dma.stats.bytesDone).toBe(12);
  });

  it('the residue of a failed DAC transfer is not played', () => {
    const r = dacRig();
    r.dac.start(LAYOUT4);
    r.submit(16, 'a', false, dacPattern(1, 4));
    r.dma.injectError(8);
    r.clock.runUntil(6000);
    expect(r.dac.playedScans()).toEqual([[100, -100], [101, -101], null, null, null, null]);
  });

  it('a cyclic capture (dev-to-mem) terminated after several passes counts them as cyclic bytes', () => {
    // DmaDescriptor.cyclic: "Repeats until terminated"; terminateAll cuts it where the converter is.
    const r = adcRig();
    r.adc.start(LAYOUT4);
    r.submit(16, 'ring', true);
    r.clock.runUntil(10_500); // 10 scans: 2.5 passes of 4 scans
    r.dma.terminateAll();
    expect(r.dma.stats.bytesCyclic).toBe(40);
    expect(r.dma.stats.cyclicPasses).toBe(2);
    expect(r.dma.busy).toBe(false);
  });
});

describe('DmaChannel accounting invariant', () => {
  type Op =
    | { kind: 'submit'; units: number; cyclic: boolean }
    | { kind: 'advance'; dt: number }
    | { kind: 'terminate' }
    | { kind: 'error'; residue: number }
    | { kind: 'delay'; ns: number }
    | { kind: 'restart'; idle: number };

  const op = (allowCyclic: boolean): fc.Arbitrary<Op> =>
    fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant('submit' as const),
          units: fc.integer({ min: 1, max: 12 }),
          cyclic: allowCyclic ? fc.boolean() : fc.constant(false),
        }),
        weight: 4,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('advance' as const),
          dt: fc.integer({ min: 0, max: 20_000 }),
        }),
        weight: 4,
      },
      { arbitrary: fc.record({ kind: fc.constant('terminate' as const) }), weight: 1 },
      {
        arbitrary: fc.record({
          kind: fc.constant('error' as const),
          residue: fc.integer({ min: 0, max: 40 }),
        }),
        weight: 1,
      },
      {
        arbitrary: fc.record({ kind: fc.constant('delay' as const), ns: fc.integer({ min: 0, max: 5000 }) }),
        weight: 1,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('restart' as const),
          idle: fc.integer({ min: 0, max: 5000 }),
        }),
        weight: 1,
      },
    );

  it('ADC: every stream byte lands in exactly one counter, and captured data matches the stream', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(LAYOUT4, LAYOUT6),
        fc.integer({ min: 0, max: 3000 }),
        fc.array(op(false), { minLength: 1, maxLength: 60, size: 'max' }),
        (layout, delayStart, ops) => {
          const r = adcRig({ channels: 3 });
          const starts = record(r.bus, 'dma:start');
          const startByteOf = new Map<number, number>();
          r.bus.on('dma:start', (e) => {
            startByteOf.set(e.id, e.streamByte);
          });
          let elapsed = 0;
          let checked = 0;
          const startRun = () => r.adc.start(layout);
          const endRun = () => {
            r.dma.terminateAll();
            elapsed += r.adc.scansBy(r.clock.now) * layout.bytesPerScan;
            r.adc.stop();
          };
          r.clock.runUntil(delayStart);
          startRun();
          for (const o of ops) {
            switch (o.kind) {
              case 'submit': {
                const len = o.units * 4;
                const mem = new Uint8Array(len).fill(SENTINEL);
                const desc = r.dma.prep(
                  mem,
                  len,
                  false,
                  (res) => {
                    checked++;
                    const moved = len - res.residue;
                    const from = startByteOf.get(desc!.id)!;
                    expect(mem.subarray(0, moved)).toEqual(stream(layout, from, moved));
                  },
                  'x',
                );
                r.dma.submit(desc!);
                break;
              }
              case 'advance':
                r.clock.runUntil(r.clock.now + o.dt);
                break;
              case 'terminate':
                r.dma.terminateAll();
                break;
              case 'error':
                r.dma.injectError(o.residue);
                break;
              case 'delay':
                r.dma.delayNextIrq(o.ns);
                break;
              case 'restart':
                endRun();
                r.clock.runUntil(r.clock.now + o.idle);
                startRun();
                break;
            }
            expect(sumOfCounters(r.dma.stats)).toBeLessThanOrEqual(
              elapsed + r.adc.scansBy(r.clock.now) * layout.bytesPerScan,
            );
          }
          endRun();
          expect(sumOfCounters(r.dma.stats)).toBe(elapsed);
          expect(checked).toBeLessThanOrEqual(starts.length);
        },
      ),
    );
  });

  it('DAC with cyclic transfers: every stream byte lands in exactly one counter', () => {
    fc.assert(
      fc.property(fc.array(op(true), { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
        const r = dacRig();
        let elapsed = 0;
        const endRun = () => {
          r.dma.terminateAll();
          elapsed += r.dac.scansBy(r.clock.now) * 4;
          r.dac.stop();
        };
        r.dac.start(LAYOUT4);
        for (const o of ops) {
          switch (o.kind) {
            case 'submit':
              r.submit(o.units * 4, 'x', o.cyclic);
              break;
            case 'advance':
              r.clock.runUntil(r.clock.now + o.dt);
              break;
            case 'terminate':
              r.dma.terminateAll();
              break;
            case 'error':
              r.dma.injectError(o.residue);
              break;
            case 'delay':
              r.dma.delayNextIrq(o.ns);
              break;
            case 'restart':
              endRun();
              r.clock.runUntil(r.clock.now + o.idle);
              r.dac.start(LAYOUT4);
              break;
          }
        }
        endRun();
        expect(sumOfCounters(r.dma.stats)).toBe(elapsed);
        expect(r.dma.stats.bytesCyclic % 4).toBe(0);
      }),
    );
  });
});
