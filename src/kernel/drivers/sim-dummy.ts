/**
 * A triggered kfifo device in the manner of drivers/iio/dummy/iio_simple_dummy.c: five buffered channels
 * (a 13-bit voltage, two differential voltages, an accelerometer axis and the timestamp), filled by a
 * periodic trigger through the kfifo buffer, plus an event interface. Its buffer has no DMABUF support, so
 * the DMABUF ioctls answer -EPERM on it (KFIFO-9).
 */

import type { VirtualClock } from '../../hw/clock.ts';
import type { ChannelSpec } from '../../hw/converter.ts';
import { writeScans } from '../../hw/scan.ts';
import { createSignal, type SignalGenerator } from '../../hw/signal.ts';
import { NS_PER_S, scansBy, scanTime } from '../../hw/timing.ts';
import { EBUSY, EINVAL } from '../../uapi/errno.ts';
import { IIO_BUFFER_DIRECTION_IN } from '../../uapi/iio.ts';
import { EPOLLIN, EPOLLRDNORM } from '../../uapi/poll.ts';
import { computeScanLayout } from '../iio/buffer.ts';
import type { IioBus } from '../iio/core.ts';
import { IioBuffer, type IioDev, type IioServices } from '../iio/device.ts';
import { IioKfifo } from '../iio/kfifo.ts';
import {
  type IioChanSpec,
  type IioTrigger,
  INDIO_BUFFER_TRIGGERED,
  INDIO_DIRECT_MODE,
} from '../iio/types.ts';
import { IIO_VAL_INT } from '../lib/format.ts';
import type { Tracepoints } from '../tracepoints.ts';

/** The default channels of sim-dummy, as the hardware sees them. */
export const SIM_DUMMY_CHANNELS: readonly (ChannelSpec & {
  readonly iio: Omit<IioChanSpec, 'scanType' | 'hwChannel'>;
})[] = [
  {
    id: 'voltage0',
    type: { sign: 'u', realbits: 13, storagebits: 16, shift: 0, endianness: 'le' },
    signal: { kind: 'ramp', step: 1, offset: 0 },
    iio: { type: 'voltage', channel: 0, modifier: null, output: false, scanIndex: 0 },
  },
  {
    id: 'voltage1-voltage2',
    type: { sign: 's', realbits: 12, storagebits: 16, shift: 0, endianness: 'le' },
    signal: { kind: 'ramp', step: 3, offset: 1000 },
    iio: { type: 'voltage', channel: 1, channel2: 2, modifier: null, output: false, scanIndex: 1 },
  },
  {
    id: 'voltage3-voltage4',
    type: { sign: 's', realbits: 11, storagebits: 16, shift: 0, endianness: 'le' },
    signal: { kind: 'square', high: 1000, low: -1000, periodSamples: 100 },
    iio: { type: 'voltage', channel: 3, channel2: 4, modifier: null, output: false, scanIndex: 2 },
  },
  {
    id: 'accel_x',
    type: { sign: 's', realbits: 16, storagebits: 16, shift: 0, endianness: 'le' },
    signal: { kind: 'constant', value: 34 },
    iio: { type: 'accel', channel: null, modifier: 'x', output: false, scanIndex: 3 },
  },
];

/** Parameters of sim-dummy. */
export interface SimDummyProbe {
  readonly name: string;
  readonly sampleRateHz: number;
  readonly maxSampleRateHz: number;
  readonly seed: number;
}

/** What the simulator can do with a probed sim-dummy. */
export interface SimDummyDevice {
  readonly dev: IioDev;
  readonly kfifo: IioKfifo;
  /** Scans the trigger produced in total. */
  readonly produced: () => number;
}

/** The IIO channels of sim-dummy: the hardware channels, then the timestamp. */
function dummyChannels(): IioChanSpec[] {
  return [
    ...SIM_DUMMY_CHANNELS.map(({ iio, type }, i) => ({
      type: iio.type,
      channel: iio.channel,
      modifier: iio.modifier,
      channel2: iio.channel2 ?? null,
      output: iio.output,
      scanIndex: iio.scanIndex,
      scanType: type,
      hwChannel: i,
    })),
    {
      type: 'timestamp',
      channel: null,
      modifier: null,
      channel2: null,
      output: false,
      scanIndex: 4,
      scanType: { sign: 's', realbits: 64, storagebits: 64, shift: 0, endianness: 'le' },
      hwChannel: SIM_DUMMY_CHANNELS.length,
    },
  ];
}

/** Most scans one trigger event drops at once: the clock still moves on in steps of this many. */
const MAX_DROPS_AT_ONCE = 1 << 20;

/**
 * The device's own trigger (an hrtimer trigger at the sampling rate): `scans.scan(n)` for scan n = 0, 1, ...
 * at the scan times counted from the attach. A scan the full kfifo drops changes nothing but counters, so
 * the scans after it run in the same event while no other event comes first ({@link VirtualClock.stepInline}),
 * in bulk when nobody traces the drops: a second nobody reads at 1 kHz is a thousand scans, nearly every
 * event of a fuzz campaign.
 */
function dummyTrigger(bus: IioBus, name: string, rate: () => number, scans: DummyScans): IioTrigger {
  const { clock } = bus.services;
  let timer: ReturnType<typeof clock.at> | null = null;
  let n = 0;
  let times = { t0: 0, rate: rate() };
  const label = `${name}: trigger`;
  const fire = () => {
    let dropped = scans.scan(n++);
    let t = scanTime(times, n);
    while (dropped && timer !== null) {
      const last = clock.inlineLimit();
      if (t > last) break;
      // At most one scan per ns (the rate is at most 1 GHz): the scans up to `last` are at distinct times.
      const m =
        times.rate <= NS_PER_S
          ? Math.min(scansBy(times, Math.min(last, Number.MAX_SAFE_INTEGER)), n + MAX_DROPS_AT_ONCE)
          : n + 1;
      if (m - n > 1 && scans.dropMany(m - n)) {
        clock.stepInline(timer, scanTime(times, m - 1), m - n);
        n = m;
      } else {
        clock.stepInline(timer, t);
        dropped = scans.scan(n++);
      }
      t = scanTime(times, n);
    }
    // The event that just ran (done, unless the scan detached the trigger) is scheduled again: no event
    // object per scan.
    timer = timer?.done ? clock.rearm(timer, t) : clock.at(t, label, fire);
  };
  const schedule = () => {
    timer = clock.at(scanTime(times, n), label, fire);
  };
  return {
    name: `${name}-dev${bus.nextId}-trigger`,
    attach() {
      n = 0;
      times = { t0: clock.now, rate: rate() };
      schedule();
    },
    detach() {
      clock.cancel(timer);
      timer = null;
    },
  };
}

/** The scan layout of one channel configuration, with a scratch scan (and a view of it) in that layout. */
interface ScanScratch {
  readonly mask: ReadonlySet<number>;
  readonly ts: boolean;
  readonly scan: ReturnType<typeof computeScanLayout>;
  readonly scratch: Uint8Array;
  readonly view: DataView;
}

/** The trigger handler of sim-dummy (`iio_simple_dummy_trigger_h`) and what it counts. */
class DummyScans {
  /** The device, once registered. */
  dev!: IioDev;
  /** Scans the trigger produced in total. */
  produced = 0;
  readonly #kfifo: IioKfifo;
  readonly #clock: VirtualClock;
  readonly #trace: Tracepoints;
  readonly #sampleOf: (ch: number, k: number) => number;
  /**
   * The layout of the active configuration, computed once per enable (each configuration has a Set of its
   * own), with the scan's scratch: the kfifo copies each scan, so one buffer serves every trigger.
   */
  #layoutOf: ScanScratch | null = null;

  constructor(kfifo: IioKfifo, signals: readonly SignalGenerator[], services: IioServices) {
    this.#kfifo = kfifo;
    this.#clock = services.clock;
    this.#trace = services.trace;
    this.#sampleOf = (ch, k) => signals[ch]!.sample(k);
  }

  /** Scan `n` of the enabled channels plus timestamp into the kfifo; true when the full kfifo dropped it. */
  scan(n: number): boolean {
    const now = this.#clock.now;
    const dev = this.dev;
    const mask = dev.activeScanMask!;
    let l = this.#layoutOf;
    if (l?.mask !== mask || l.ts !== dev.scanTimestamp) {
      const scan = computeScanLayout(dev, mask, dev.scanTimestamp);
      const scratch = new Uint8Array(new ArrayBuffer(scan.bytes));
      l = { mask, ts: dev.scanTimestamp, scan, scratch, view: new DataView(scratch.buffer) };
      this.#layoutOf = l;
    }
    const { layout, bytes, timestampOffset } = l.scan;
    this.produced++;
    const kfifo = this.#kfifo;
    if (kfifo.full) {
      // The scan is dropped (KFIFO-4): its samples, pure functions of n, need not be generated.
      kfifo.store(l.scratch);
      if (this.#trace.enabled('iio:discard'))
        this.#trace.emit('iio:discard', {
          device: dev.devName,
          bytes,
          why: 'kfifo full (overflow)',
          time: now,
        });
      return true;
    }
    const scan = l.scratch.fill(0);
    writeScans(scan, 0, layout, n, 1, this.#sampleOf);
    // The s64 timestamp as two little-endian halves (virtual time is a non-negative safe integer): no BigInt per scan.
    if (timestampOffset !== null) {
      l.view.setUint32(timestampOffset, now % 0x100000000, true);
      l.view.setUint32(timestampOffset + 4, Math.floor(now / 0x100000000), true);
    }
    // Stored: the fifo was not full above, and nothing since has taken a slot.
    if (kfifo.store(scan)) dev.buffers[0]!.pollq.wake(EPOLLIN | EPOLLRDNORM);
    return false;
  }

  /**
   * The next `count` scans, dropped by the kfifo that dropped the last one and is still full, counted at once;
   * false (nothing done) when drops are traced, each with its own time: then each must be scanned.
   */
  dropMany(count: number): boolean {
    if (this.#trace.enabled('iio:discard')) return false;
    this.produced += count;
    this.#kfifo.dropMany(count);
    return true;
  }
}

/** Probes sim-dummy and registers its IIO device. */
export function probeSimDummy(bus: IioBus, p: SimDummyProbe): SimDummyDevice {
  let rate = p.sampleRateHz;
  const signals: SignalGenerator[] = SIM_DUMMY_CHANNELS.map((c, i) =>
    createSignal(
      c.signal!,
      { signed: c.type.sign === 's', realbits: c.type.realbits },
      rate,
      (p.seed + i) >>> 0,
    ),
  );
  const kfifo = new IioKfifo();
  const scans = new DummyScans(kfifo, signals, bus.services);
  let dev!: IioDev;
  const trigger = dummyTrigger(bus, p.name, () => rate, scans);
  bus.register(
    {
      name: p.name,
      channels: dummyChannels(),
      modes: INDIO_DIRECT_MODE | INDIO_BUFFER_TRIGGERED,
      events: true,
      info: {
        sharedAttrs: ['sampling_frequency'],
        readRaw() {
          return { type: IIO_VAL_INT, vals: [rate] };
        },
        writeRaw(_attr, integer) {
          if (dev.buffers[0]!.active) return -EBUSY;
          if (integer <= 0 || integer > p.maxSampleRateHz) return -EINVAL;
          rate = integer;
          return 0;
        },
      },
    },
    (d) => {
      dev = d;
      scans.dev = d;
      d.trigger = trigger;
      const buffer = new IioBuffer(d, 0, IIO_BUFFER_DIRECTION_IN, kfifo, 2, 1);
      kfifo.init(buffer);
      d.attachBuffer(buffer);
    },
  );
  return { dev, kfifo, produced: () => scans.produced };
}
