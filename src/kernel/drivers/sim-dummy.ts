/**
 * A triggered kfifo device in the manner of drivers/iio/dummy/iio_simple_dummy.c: five buffered channels
 * (a 13-bit voltage, two differential voltages, an accelerometer axis and the timestamp), filled by a
 * periodic trigger through the kfifo buffer, plus an event interface. Its buffer has no DMABUF support, so
 * the DMABUF ioctls answer -EPERM on it (KFIFO-9).
 */
import type { ChannelSpec } from '../../hw/converter.ts';
import { writeScans } from '../../hw/scan.ts';
import { createSignal, type SignalGenerator } from '../../hw/signal.ts';
import { scanTime } from '../../hw/timing.ts';
import { EBUSY, EINVAL } from '../../uapi/errno.ts';
import { IIO_BUFFER_DIRECTION_IN } from '../../uapi/iio.ts';
import { EPOLLIN, EPOLLRDNORM } from '../../uapi/poll.ts';
import { computeScanLayout } from '../iio/buffer.ts';
import type { IioBus } from '../iio/core.ts';
import { IioBuffer, type IioDev } from '../iio/device.ts';
import { IioKfifo } from '../iio/kfifo.ts';
import {
  type IioChanSpec,
  type IioTrigger,
  INDIO_BUFFER_TRIGGERED,
  INDIO_DIRECT_MODE,
} from '../iio/types.ts';
import { IIO_VAL_INT } from '../lib/format.ts';

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
    ...SIM_DUMMY_CHANNELS.map((c, i) => ({ ...c.iio, scanType: c.type, hwChannel: i })),
    {
      type: 'timestamp',
      channel: null,
      modifier: null,
      output: false,
      scanIndex: 4,
      scanType: { sign: 's', realbits: 64, storagebits: 64, shift: 0, endianness: 'le' },
      hwChannel: SIM_DUMMY_CHANNELS.length,
    },
  ];
}

/**
 * The device's own trigger (an hrtimer trigger at the sampling rate): calls `pollFunc(n)` for scan n = 0, 1,
 * ... at the scan times counted from the attach.
 */
function dummyTrigger(
  bus: IioBus,
  name: string,
  rate: () => number,
  pollFunc: (n: number) => void,
): IioTrigger {
  const { clock } = bus.services;
  let timer: ReturnType<typeof clock.at> | null = null;
  let n = 0;
  let times = { t0: 0, rate: rate() };
  const label = `${name}: trigger`;
  const fire = () => {
    pollFunc(n++);
    // The event that just ran (done, unless pollFunc detached the trigger) is scheduled again: no event
    // object per scan.
    const t = scanTime(times, n);
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

/** Probes sim-dummy and registers its IIO device. */
export function probeSimDummy(bus: IioBus, p: SimDummyProbe): SimDummyDevice {
  const { clock, trace } = bus.services;
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
  let dev!: IioDev;
  let produced = 0;

  const sampleOf = (ch: number, k: number) => signals[ch]!.sample(k);
  // The layout of the active configuration, computed once per enable: each configuration has a Set of its own.
  // With it, the scan's scratch: the kfifo copies each scan, so one buffer serves every trigger.
  let layoutOf: ScanScratch | null = null;
  /** The trigger handler (`iio_simple_dummy_trigger_h`): one scan of the enabled channels plus timestamp. */
  const pollFunc = (n: number) => {
    const now = clock.now;
    const mask = dev.activeScanMask!;
    if (layoutOf?.mask !== mask || layoutOf.ts !== dev.scanTimestamp) {
      const scan = computeScanLayout(dev, mask, dev.scanTimestamp);
      const scratch = new Uint8Array(new ArrayBuffer(scan.bytes));
      layoutOf = { mask, ts: dev.scanTimestamp, scan, scratch, view: new DataView(scratch.buffer) };
    }
    const { layout, bytes, timestampOffset } = layoutOf.scan;
    produced++;
    const b = dev.buffers[0]!;
    if (kfifo.full) {
      // The scan would be dropped (KFIFO-4): its samples, pure functions of n, need not be generated. Most
      // scans of a run nobody reads end here (a fuzzed second at 1 kHz is a thousand of them).
      kfifo.store(layoutOf.scratch);
      if (trace.enabled('iio:discard'))
        trace.emit('iio:discard', { device: dev.devName, bytes, why: 'kfifo full (overflow)', time: now });
      return;
    }
    const scan = layoutOf.scratch.fill(0);
    writeScans(scan, 0, layout, n, 1, sampleOf);
    // The s64 timestamp as two little-endian halves (virtual time is a non-negative safe integer): no BigInt per scan.
    if (timestampOffset !== null) {
      layoutOf.view.setUint32(timestampOffset, now % 0x100000000, true);
      layoutOf.view.setUint32(timestampOffset + 4, Math.floor(now / 0x100000000), true);
    }
    // Stored: the fifo was not full above, and nothing since has taken a slot.
    if (kfifo.store(scan)) b.pollq.wake(EPOLLIN | EPOLLRDNORM);
  };
  const trigger = dummyTrigger(bus, p.name, () => rate, pollFunc);
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
      d.trigger = trigger;
      const buffer = new IioBuffer(d, 0, IIO_BUFFER_DIRECTION_IN, kfifo, 2, 1);
      kfifo.init(buffer);
      d.attachBuffer(buffer);
    },
  );
  return { dev, kfifo, produced: () => produced };
}
