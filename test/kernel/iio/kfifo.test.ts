/**
 * The kfifo buffer of sim-dummy (rulebook §6.2 KFIFO-1..8): a 1 kHz trigger stores one scan per ms from the
 * enable on (scan k at t0 + (k + 1) ms). Channels: in_voltage0 (u13 ramp: k), in_voltage1-voltage2 (s12 ramp:
 * ((3k + 1000) mod 4096) - 2048), in_voltage3-voltage4 (square), in_accel_x (constant 34), in_timestamp (s64).
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import { IioBuffer } from '../../../src/kernel/iio/device.ts';
import { IioKfifo } from '../../../src/kernel/iio/kfifo.ts';
import { type IioChanSpec, INDIO_BUFFER_SOFTWARE, INDIO_DIRECT_MODE } from '../../../src/kernel/iio/types.ts';
import {
  EAGAIN,
  EINVAL,
  ENOMEM,
  F_GETFL,
  F_SETFL,
  IIO_BUFFER_DIRECTION_OUT,
  O_NONBLOCK,
  POLLOUT,
} from '../../../src/uapi/index.ts';
import { enableChannels, openBuffer, readAttr, setBufferEnabled, writeAttr } from '../../../src/user/iio.ts';
import { extraDevice, runOne, simOnly } from '../../helpers.ts';

const DUMMY_BUF = '/sys/bus/iio/devices/iio:device2/buffer0';
const MS = 1_000_000;

async function dummyFd(sys: Sys): Promise<number> {
  const ob = await openBuffer(sys, 2);
  if (typeof ob === 'number') throw new Error(`openBuffer(2) failed: ${ob}`);
  return ob.fd;
}

async function setNonblock(sys: Sys, fd: number): Promise<void> {
  const fl = await sys.fcntl(fd, F_GETFL);
  expect(await sys.fcntl(fd, F_SETFL, fl | O_NONBLOCK)).toBe(0);
}

async function setLength(sys: Sys, length: string): Promise<void> {
  expect(await writeAttr(sys, `${DUMMY_BUF}/length`, length)).toBe(length.length);
}

const attr = (sys: Sys, name: string) => readAttr(sys, `${DUMMY_BUF}/${name}`);

function u16(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 1 }, (_, i) => v.getUint16(i * 2, true));
}

async function readU16(sys: Sys, fd: number, n: number): Promise<{ ret: number; samples: number[] }> {
  const buf = sys.mem.alloc(Math.max(1, n));
  const ret = await sys.read(fd, buf, n);
  return { ret, samples: ret > 0 ? u16(sys.mem.read(buf, ret)) : [] };
}

describe('KFIFO: defaults, length, reallocation', () => {
  it('KFIFO-1: defaults: length 2, watermark 1, data_available 0, bpd 0; length and watermark are writable', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        const defaults = [
          await attr(sys, 'length'),
          await attr(sys, 'watermark'),
          await attr(sys, 'data_available'),
        ];
        const read = (await readU16(sys, fd, 64)).ret;
        const wWatermark = await writeAttr(sys, `${DUMMY_BUF}/watermark`, '2');
        const wLength = await writeAttr(sys, `${DUMMY_BUF}/length`, '8');
        const after = [await attr(sys, 'length'), await attr(sys, 'watermark')];
        return { defaults, read, wWatermark, wLength, after };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      defaults: ['2\n', '1\n', '0\n'],
      read: 0,
      wWatermark: 1,
      wLength: 1,
      after: ['8\n', '2\n'],
    });
  });

  it('KFIFO-2: set_length below 2 stores 2', async () => {
    const { value } = await runOne(
      async (sys) => {
        const out: (string | number)[] = [];
        for (const len of ['8', '1', '8', '0']) {
          out.push(await writeAttr(sys, `${DUMMY_BUF}/length`, len));
          out.push(await attr(sys, 'length'));
        }
        return out;
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([1, '8\n', 1, '2\n', 1, '8\n', 1, '2\n']);
  });

  it('KFIFO-2: capacity is roundup_pow_of_two(length): length 3 holds 4 scans; sysfs still shows 3', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '3');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(10 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const a = await attr(sys, 'data_available');
        const length = await attr(sys, 'length');
        const r = await readU16(sys, fd, 32);
        return { a, length, r };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ a: '4\n', length: '3\n', r: { ret: 8, samples: [0, 1, 2, 3] } });
    expect(result.stats.devices['sim-dummy']?.kfifoOverflow).toBe(6);
  });

  it('KFIFO-3: re-enable with nothing changed discards unread data: empty after every enable', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '16');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(3 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const disabled = await attr(sys, 'data_available');
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        const reenabled = await attr(sys, 'data_available');
        expect(await sys.nanosleep(MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const r = await readU16(sys, fd, 32);
        return { disabled, reenabled, r };
      },
      // Half a scan period of margin around each disable: at timescale 100 a loaded host's program latency
      // (50 ms real) took it, and a second scan came in.
      { platform: 'ideal', realTimescale: 1000 },
    );
    // Sample numbering restarts with the trigger at the second enable.
    expect(value).toEqual({ disabled: '3\n', reenabled: '0\n', r: { ret: 2, samples: [0] } });
  });

  it('KFIFO-3: a bpd change reallocates with the new element size', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '16');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(2 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        expect(await enableChannels(sys, 2, ['in_accel_x'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        const reenabled = await attr(sys, 'data_available');
        expect(await sys.nanosleep(2 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const short = (await readU16(sys, fd, 3)).ret;
        const r = await readU16(sys, fd, 6);
        return { reenabled, short, r };
      },
      { platform: 'ideal' },
    );
    // New scan: in_voltage0 (u16) + in_accel_x (s16 34) = 4 bytes; 6 bytes hold 1 scan.
    expect(value).toEqual({ reenabled: '0\n', short: -EINVAL, r: { ret: 4, samples: [0, 34] } });
  });

  it('KFIFO-3: capacity > UINT_MAX / bpd fails the enable with -EINVAL', async () => {
    const { value } = await runOne(
      async (sys) => {
        await dummyFd(sys);
        await setLength(sys, '4294967295');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        const en = await setBufferEnabled(sys, 2, true);
        return { en, enable: await attr(sys, 'enable') };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ en: -EINVAL, enable: '0\n' });
  });

  it('KFIFO-3: an allocation that cannot be satisfied (2^30 scans × 2 bytes) fails the enable with -ENOMEM', async () => {
    const { value } = await runOne(
      async (sys) => {
        await dummyFd(sys);
        await setLength(sys, '1073741824');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        const en = await setBufferEnabled(sys, 2, true);
        return { en, enable: await attr(sys, 'enable') };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ en: -ENOMEM, enable: '0\n' });
  });

  it('KFIFO-3 / KFIFO-5: a failed reallocation leaves no fifo: old data gone, read -EINVAL', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '16');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(3 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const before = await attr(sys, 'data_available');
        await setLength(sys, '4294967295');
        const en = await setBufferEnabled(sys, 2, true);
        const after = await attr(sys, 'data_available');
        await setNonblock(sys, fd);
        const r = (await readU16(sys, fd, 32)).ret;
        return { before, en, after, r };
      },
      { platform: 'ideal' },
    );
    // iio_request_update_kfifo() frees the old kfifo before allocating the new one (kf: kfifo_free first).
    expect(value).toEqual({ before: '3\n', en: -EINVAL, after: '0\n', r: -EINVAL });
  });
});

describe('KFIFO: overflow, read, data_available', () => {
  it('KFIFO-4: a full fifo drops new scans and keeps the old: length 2, 10 scans in 10.5 ms → 2 kept, 8 dropped', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(10 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const a = await attr(sys, 'data_available');
        const r = await readU16(sys, fd, 64);
        return { a, r };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ a: '2\n', r: { ret: 4, samples: [0, 1] } });
    simOnly('the simulator’s overflow counts', () => {
      expect(result.stats.devices['sim-dummy']?.kfifoOverflow).toBe(8);
      expect(result.stats.devices['sim-dummy']?.scansLost).toBe(8);
      expect(result.stats.devices['sim-dummy']?.transfers).toBe(0);
    });
  });

  it('KFIFO-4: a reader that frees space lets later scans in; only scans arriving while full are lost', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '4');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        // 6 scans by 6.5 ms: 4 kept (0..3), 2 dropped (4, 5).
        expect(await sys.nanosleep(6 * MS + MS / 2)).toBe(0);
        const first = await readU16(sys, fd, 64);
        // 3 more by 9.5 ms: scans 6, 7, 8 are kept.
        expect(await sys.nanosleep(3 * MS)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const second = await readU16(sys, fd, 64);
        return { first, second };
      },
      // The disable must come before scan 9 (at 10 ms): 0.5 ms of margin is 0.5 s of real time at scale 1000.
      { platform: 'ideal', realTimescale: 1000 },
    );
    expect(value).toEqual({
      first: { ret: 8, samples: [0, 1, 2, 3] },
      second: { ret: 6, samples: [6, 7, 8] },
    });
    simOnly('the simulator’s overflow counts', () =>
      expect(result.stats.devices['sim-dummy']?.kfifoOverflow).toBe(2),
    );
  });

  it('KFIFO-5: read(n) with n < element size is -EINVAL (16-byte scans with timestamp: 15 fails, 16 works)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '16');
        expect(await enableChannels(sys, 2, ['in_voltage0', 'in_timestamp'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const buf = sys.mem.alloc(16);
        const short = await sys.read(fd, buf, 15);
        const ok = await sys.read(fd, buf, 16);
        return { short, ok };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ short: -EINVAL, ok: 16 });
  });

  it('KFIFO-6: read copies min(n / esize, stored) whole scans; empty gives 0 (nonblocking: -EAGAIN)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '16');
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(3 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        await setNonblock(sys, fd);
        const a = await readU16(sys, fd, 5);
        const b = await readU16(sys, fd, 100);
        const c = await readU16(sys, fd, 100);
        return { a, b, c: c.ret };
      },
      // The sleeps end half a sample period before the next scan; the syscalls around them must not reach it.
      { platform: 'ideal', realTimescale: 1000 },
    );
    expect(value).toEqual({ a: { ret: 4, samples: [0, 1] }, b: { ret: 2, samples: [2] }, c: -EAGAIN });
  });

  it('KFIFO-6: whole scans with every field: voltage0, voltage1-voltage2, accel_x and the timestamp', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dummyFd(sys);
        await setLength(sys, '16');
        expect(
          await enableChannels(sys, 2, ['in_voltage0', 'in_voltage1-voltage2', 'in_accel_x', 'in_timestamp']),
        ).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        expect(await sys.nanosleep(3 * MS + MS / 2)).toBe(0);
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        const buf = sys.mem.alloc(64);
        const ret = await sys.read(fd, buf, 64);
        const bytes = sys.mem.read(buf, Math.max(0, ret));
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const scans = [];
        const stamps: bigint[] = [];
        for (let k = 0; k * 16 < bytes.length; k++) {
          scans.push([v.getUint16(k * 16, true), v.getInt16(k * 16 + 2, true), v.getInt16(k * 16 + 4, true)]);
          stamps.push(v.getBigInt64(k * 16 + 8, true));
        }
        return {
          ret,
          scans,
          stamps: stamps.map(Number),
          periods: stamps.slice(1).map((t, k) => Number(t - stamps[k]!)),
        };
      },
      // The sleeps end half a sample period before the next scan; the syscalls around them must not reach it.
      { platform: 'ideal', realTimescale: 1000 },
    );
    const expected = [0, 1, 2].map((k) => [k, ((3 * k + 1000) % 4096) - 2048, 34]);
    expect(value.ret).toBe(48);
    expect(value.scans).toEqual(expected);
    // Each timestamp is the time its scan was due: one sample period apart, on either kernel.
    expect(value.periods).toEqual([MS, MS]);
    simOnly('timestamps on the virtual clock (the real ones are CLOCK_REALTIME)', () =>
      expect(value.stamps).toEqual([1, 2, 3].map((k) => k * MS)),
    );
  });

  it('KFIFO-8: data_available counts scans, not bytes (3 scans of 16 bytes → 3)', async () => {
    const { value } = await runOne(
      async (sys) => {
        await dummyFd(sys);
        await setLength(sys, '16');
        expect(await enableChannels(sys, 2, ['in_voltage0', 'in_timestamp'])).toBe(0);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        const out: (string | number)[] = [await attr(sys, 'data_available')];
        expect(await sys.nanosleep(MS + MS / 2)).toBe(0);
        out.push(await attr(sys, 'data_available'));
        expect(await sys.nanosleep(2 * MS)).toBe(0);
        out.push(await attr(sys, 'data_available'));
        expect(await setBufferEnabled(sys, 2, false)).toBe(1);
        out.push(await attr(sys, 'data_available'));
        return out;
      },
      // The sleeps end half a sample period before the next scan; the syscalls around them must not reach it.
      { platform: 'ideal', realTimescale: 1000 },
    );
    expect(value).toEqual(['0\n', '1\n', '3\n', '3\n']);
  });
});

describe('KFIFO-7: write(n) on an output kfifo buffer (a test device: no simulated board device has one)', () => {
  /** One u16 output channel, out_voltage0: 2-byte scans. */
  const OUT_CHANNEL: IioChanSpec = {
    type: 'voltage',
    channel: 0,
    modifier: null,
    output: true,
    scanIndex: 0,
    scanType: { sign: 'u', realbits: 16, storagebits: 16, shift: 0, endianness: 'le' },
    hwChannel: 0,
  };

  /**
   * Registers `sim-out-fifo` (iio:device3): a SOFTWARE device with one output kfifo buffer (on the real kernel
   * the test module's `extra=kfifoout`).
   */
  function addOutputFifo(sim: Simulator): void {
    sim.kernel.iio.register(
      {
        name: 'sim-out-fifo',
        channels: [OUT_CHANNEL],
        modes: INDIO_DIRECT_MODE | INDIO_BUFFER_SOFTWARE,
        info: { sharedAttrs: [], readRaw: () => -EINVAL },
      },
      (d) => {
        const kf = new IioKfifo();
        const b = new IioBuffer(d, 0, IIO_BUFFER_DIRECTION_OUT, kf, 2, 1);
        kf.init(b);
        d.attachBuffer(b);
      },
    );
  }

  /** write(2) of `n` bytes of a u16 ramp from 1. */
  async function writeN(sys: Sys, fd: number, n: number): Promise<number> {
    const buf = sys.mem.alloc(Math.max(1, n));
    sys.mem.write(
      buf,
      new Uint8Array(n).map((_, i) => (i % 2 === 0 ? i / 2 + 1 : 0)),
    );
    return sys.write(fd, buf, n);
  }

  it('KFIFO-7: the KFIFO-5 checks (no fifo before the first enable, n < element size: -EINVAL), then min(n / esize, free) whole scans per pass of the write loop (BWRITE-3/4)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        extraDevice(
          () => addOutputFifo(sim),
          () => undefined,
        );
        const ob = await openBuffer(sys, 3);
        if (typeof ob === 'number') throw new Error(`openBuffer(3) failed: ${ob}`);
        const fd = ob.fd;
        await setNonblock(sys, fd);
        const pollBefore = await sys.pollfds([{ fd, events: POLLOUT }], 0);
        const unallocated = await writeN(sys, fd, 8);
        const dir = '/sys/bus/iio/devices/iio:device3/buffer0';
        expect(await writeAttr(sys, `${dir}/length`, '3')).toBe(1);
        expect(await enableChannels(sys, 3, ['out_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 3, true)).toBe(1);
        const short = await writeN(sys, fd, 1);
        // Capacity roundup_pow_of_two(3) = 4 scans (KFIFO-2): 10 bytes are 5 scans, of which 4 fit.
        const first = await writeN(sys, fd, 10);
        const full = [await readAttr(sys, `${dir}/data_available`), await writeN(sys, fd, 2)];
        expect(await setBufferEnabled(sys, 3, false)).toBe(1);
        // The next enable empties the fifo (KFIFO-3). An odd n: the first pass copies the 2 whole scans, the
        // second is write(1) < esize: -EINVAL, returned although 4 bytes were queued (BWRITE-4).
        expect(await setBufferEnabled(sys, 3, true)).toBe(1);
        const odd = await writeN(sys, fd, 5);
        const after = await readAttr(sys, `${dir}/data_available`);
        expect(await setBufferEnabled(sys, 3, false)).toBe(1);
        return { pollBefore, unallocated, short, first, full, odd, after };
      },
      { platform: 'ideal', realExtra: ['kfifoout'] },
    );
    expect(value).toEqual({
      // KFIFO-8: a never-allocated fifo reports one free scan, so poll says writable while write is -EINVAL.
      pollBefore: 1,
      unallocated: -EINVAL,
      short: -EINVAL,
      first: 8,
      full: ['4\n', -EAGAIN],
      odd: -EINVAL,
      after: '2\n',
    });
  });
});
