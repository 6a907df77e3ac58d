/**
 * The DMA block queue and its fileio blocks (rulebook §6.1 DMAQ-*, FILEIO-*), seen through the buffer fd,
 * sysfs and the simulator's DMA counters. sim-adc: 4 × le:s12/16 at 1 MHz, bpd 8, default length 4096 →
 * two 16384-byte blocks of 2048 scans (2.048 ms each). sim-dac: 2 × le:s16/16 at 1 MHz, bpd 4 → two
 * 8192-byte blocks of 2048 scans. The completion IRQ comes 2000 ns after a transfer ends.
 */
import { describe, expect, it } from 'vitest';
import {
  type AdcConfig,
  type DacConfig,
  type DeviceConfig,
  defaultDevices,
  type Sys,
} from '../../../src/index.ts';
import {
  EACCES,
  EAGAIN,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOMEM,
  F_GETFL,
  F_SETFL,
  O_NONBLOCK,
  O_WRONLY,
  POLLIN,
  POLLRDNORM,
} from '../../../src/uapi/index.ts';
import { enableChannels, openBuffer, readAttr, setBufferEnabled, writeAttr } from '../../../src/user/iio.ts';
import {
  injectDmaError,
  realSkip,
  removeDevice,
  runOne,
  simInternal,
  simOnly,
  simState,
  vtime,
} from '../../helpers.ts';

const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];
const ADC_BUF = '/sys/bus/iio/devices/iio:device0/buffer0';
const DAC_BUF = '/sys/bus/iio/devices/iio:device1/buffer0';
const IRQ = 2_000;
/** Transfer k (0-based) of back-to-back 2048-scan blocks ends at (k + 1) × 2.048 ms. */
const BLOCK_NS = 2_048_000;

function ramp(n: number, c: number): number {
  return ((n + 1024 * c) % 4096) - 2048;
}

function adcScans(first: number, count: number, channels: readonly number[] = [0, 1, 2, 3]): number[] {
  const out: number[] = [];
  for (let n = first; n < first + count; n++) for (const c of channels) out.push(ramp(n, c));
  return out;
}

function s16(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 1 }, (_, i) => v.getInt16(i * 2, true));
}

function dacPattern(k: number, c: number): number {
  return ((k * 101 + c * 7000) % 65536) - 32768;
}

function dacBytes(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    v.setInt16(i * 4, dacPattern(first + i, 0), true);
    v.setInt16(i * 4 + 2, dacPattern(first + i, 1), true);
  }
  return out;
}

function dacScans(first: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => [dacPattern(first + i, 0), dacPattern(first + i, 1)]);
}

function withAdcDma(dma: AdcConfig['dma']): DeviceConfig[] {
  const devices = defaultDevices();
  (devices[0] as AdcConfig).dma = dma!;
  return devices;
}

function withDacDma(dma: DacConfig['dma']): DeviceConfig[] {
  const devices = defaultDevices();
  (devices[1] as DacConfig).dma = dma!;
  return devices;
}

async function bufferFd(sys: Sys, dev: number): Promise<number> {
  const ob = await openBuffer(sys, dev);
  if (typeof ob === 'number') throw new Error(`openBuffer(${dev}) failed: ${ob}`);
  return ob.fd;
}

async function adcFd(sys: Sys, channels = ADC_CHANNELS, enable = true): Promise<number> {
  const fd = await bufferFd(sys, 0);
  expect(await enableChannels(sys, 0, channels)).toBe(0);
  if (enable) expect(await setBufferEnabled(sys, 0, true)).toBe(1);
  return fd;
}

async function dacFd(sys: Sys, enable = true): Promise<number> {
  const fd = await bufferFd(sys, 1);
  expect(await enableChannels(sys, 1, DAC_CHANNELS)).toBe(0);
  if (enable) expect(await setBufferEnabled(sys, 1, true)).toBe(1);
  return fd;
}

async function setNonblock(sys: Sys, fd: number, on = true): Promise<void> {
  const fl = await sys.fcntl(fd, F_GETFL);
  expect(await sys.fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK)).toBe(0);
}

function put(sys: Sys, bytes: Uint8Array): number {
  const addr = sys.mem.alloc(Math.max(1, bytes.length));
  sys.mem.write(addr, bytes);
  return addr;
}

/** Reads `n` bytes into fresh memory; returns the result, the time and the samples read. */
async function readS16(
  sys: Sys,
  fd: number,
  n: number,
): Promise<{ ret: number; t: number; samples: number[] }> {
  const buf = sys.mem.alloc(Math.max(1, n));
  const ret = await sys.read(fd, buf, n);
  return { ret, t: sys.now(), samples: ret > 0 ? s16(sys.mem.read(buf, ret)) : [] };
}

const avail = (sys: Sys, dir = ADC_BUF) => readAttr(sys, `${dir}/data_available`);

describe('DMAQ: defaults and length', () => {
  it('DMAQ-2: defaults: length 4096, watermark 2048 (read-only), data_available 0, bpd 0 (read is EOF)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await bufferFd(sys, 0);
        const dac = await bufferFd(sys, 1);
        const buf = sys.mem.alloc(16);
        return {
          adc: [
            await readAttr(sys, `${ADC_BUF}/length`),
            await readAttr(sys, `${ADC_BUF}/watermark`),
            await avail(sys),
          ],
          dac: [
            await readAttr(sys, `${DAC_BUF}/length`),
            await readAttr(sys, `${DAC_BUF}/watermark`),
            await avail(sys, DAC_BUF),
          ],
          openWatermark: await sys.open(`${ADC_BUF}/watermark`, O_WRONLY),
          read: await sys.read(adc, buf, 16),
          dacFd: dac,
        };
      },
      { platform: 'ideal' },
    );
    expect(value.adc).toEqual(['4096\n', '2048\n', '0\n']);
    expect(value.dac).toEqual(['4096\n', '2048\n', '0\n']);
    expect(value.openWatermark).toBe(-EACCES);
    expect(value.read).toBe(0);
  });

  it('DMAQ-9: set_length clamps below 2 to 2 and sets watermark = length / 2', async () => {
    const { value } = await runOne(
      async (sys) => {
        const out: (string | number)[][] = [];
        for (const len of ['1', '0', '1000', '4097']) {
          const w = await writeAttr(sys, `${ADC_BUF}/length`, len);
          out.push([
            w,
            await readAttr(sys, `${ADC_BUF}/length`),
            await readAttr(sys, `${ADC_BUF}/watermark`),
          ]);
        }
        return out;
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([
      [1, '2\n', '1\n'],
      [1, '2\n', '1\n'],
      [4, '1000\n', '500\n'],
      [4, '4097\n', '2048\n'],
    ]);
  });
});

describe('DMAQ: enable, completion, re-queue, disable', () => {
  it('DMAQ-1: block states traced through one session: QUEUED at request_update, ACTIVE at enable, DONE, re-queued, aborted', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const states: [number, string, number, number][] = [];
        simInternal(() =>
          sim.events.on('iio:block', (e) => {
            if (e.device === 'iio:device0') states.push([e.block, e.state, e.bytesUsed, e.time]);
          }),
        );
        const fd = await adcFd(sys);
        const first = await readS16(sys, fd, 16384);
        expect(await sys.nanosleep(Math.max(0, 3_000_000 - sys.now()))).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const seen = simInternal(() => [...states]);
        // What user space sees of the states: the DONE block read at t1, then both blocks DONE (empty) after
        // the disable: counted by data_available, nothing to read.
        await setNonblock(sys, fd);
        const afterDisable = [await avail(sys), (await readS16(sys, fd, 16384)).ret];
        return { first: [first.ret, first.t], afterDisable, states: seen };
      },
      { platform: 'ideal' },
    );
    const t1 = BLOCK_NS + IRQ;
    expect(value).toEqual({
      first: [16384, vtime(t1)],
      afterDisable: ['32768\n', -EAGAIN],
      states: simState(
        [
          [1, 'QUEUED', 16384, 0],
          [2, 'QUEUED', 16384, 0],
          [1, 'ACTIVE', 16384, 0],
          [2, 'ACTIVE', 16384, 0],
          [1, 'DONE', 16384, t1],
          [1, 'ACTIVE', 16384, t1],
          [2, 'DONE', 0, 3_000_000],
          [1, 'DONE', 0, 3_000_000],
        ],
        'block states',
      ),
    });
  });

  it('DMAQ-3: enable submits both fileio blocks in FIFO order: block 0 has scans 0..2047, block 1 2048..4095', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        const b0 = await readS16(sys, fd, 16384);
        const b1 = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { b0, b1 };
      },
      { platform: 'ideal' },
    );
    expect(value.b0.ret).toBe(16384);
    expect(value.b0.t).toEqual(vtime(BLOCK_NS + IRQ));
    expect(value.b0.samples).toEqual(adcScans(0, 2048));
    expect(value.b1.ret).toBe(16384);
    expect(value.b1.t).toEqual(vtime(2 * BLOCK_NS + IRQ));
    expect(value.b1.samples).toEqual(adcScans(2048, 2048));
  });

  it('DMAQ-4 / FILEIO-9: a consumed block goes back to the active queue: 4 reads give 8192 continuous scans, nothing lost', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        const reads = [];
        for (let i = 0; i < 4; i++) reads.push(await readS16(sys, fd, 16384));
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return reads;
      },
      { platform: 'ideal' },
    );
    for (let i = 0; i < 4; i++) {
      expect(value[i]!.ret).toBe(16384);
      expect(value[i]!.t).toEqual(vtime((i + 1) * BLOCK_NS + IRQ));
      expect(value[i]!.samples).toEqual(adcScans(i * 2048, 2048));
    }
    simOnly('the simulated DMA controller’s transfer counts', () => {
      const s = result.stats.devices['sim-adc']!;
      expect(s.transfers).toBe(4);
      expect(s.bytesDone).toBe(4 * 16384);
      expect(s.scansLost).toBe(0);
      expect(s.bytesGap).toBe(0);
      // The fifth transfer (block 0 again, from 8.192 ms) was cut by the disable at 8.194 ms: 2 scans.
      expect(s.bytesAborted).toBe(16);
    });
  });

  it('DMAQ-6: a transfer error is ignored: bytes_used -= residue, the block completes DONE', async () => {
    const { value, result } = await runOne(
      async (sys, sim) => {
        await injectDmaError(sys, sim, 16);
        const fd = await adcFd(sys);
        expect(await sys.nanosleep(BLOCK_NS + IRQ)).toBe(0);
        const a = await avail(sys);
        const r = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { a, r };
      },
      { platform: 'ideal' },
    );
    expect(value.a).toBe('16384\n');
    expect(value.r.ret).toBe(16368);
    expect(value.r.samples).toEqual(adcScans(0, 2046));
    const s = simInternal(() => result.stats.devices['sim-adc']!);
    expect(s && [s.dmaErrors, s.bytesFailed]).toEqual(simState([1, 16], 'the DMA controller’s error counts'));
  });

  it('DMAQ-7: disable gives back the active blocks with bytes_used 0 (DONE): counted by data_available, read gives -EAGAIN (FILEIO-12)', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        expect(await sys.nanosleep(1_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        await setNonblock(sys, fd);
        const a0 = await avail(sys);
        const r0 = await readS16(sys, fd, 16384);
        const a1 = await avail(sys);
        const r1 = await readS16(sys, fd, 16384);
        const a2 = await avail(sys);
        const r2 = await readS16(sys, fd, 16384);
        return { a0, r0: r0.ret, a1, r1: r1.ret, a2, r2: r2.ret };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      a0: '32768\n',
      r0: -EAGAIN,
      a1: '16384\n',
      r1: -EAGAIN,
      a2: '0\n',
      r2: -EAGAIN,
    });
    const s = result.stats.devices['sim-adc']!;
    expect(s.transfers).toBe(0);
    expect(s.bytesAborted).toBe(8000);
    expect(s.scansLost).toBe(0);
  });

  it('DMAQ-5 / FILEIO-3: an IN transfer length of 0 (max_seg 4 < align 8) makes submit fail: blocks wedged, enable still succeeds', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        await setNonblock(sys, fd);
        expect(await sys.nanosleep(5_000_000)).toBe(0);
        const a = await avail(sys);
        const r = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const afterDisable = await avail(sys);
        const r2 = await readS16(sys, fd, 16384);
        return { a, r: r.ret, afterDisable, r2: r2.ret };
      },
      { platform: 'ideal', devices: withAdcDma({ maxSegmentSize: 4 }) },
    );
    expect(value).toEqual({ a: '0\n', r: -EAGAIN, afterDisable: '0\n', r2: -EAGAIN });
    simOnly('the simulated DMA controller’s transfer counts', () => {
      const s = result.stats.devices['sim-adc']!;
      expect(s.transfers).toBe(0);
      expect(s.scansLost).toBe(5000);
    });
  });

  it('DMAQ-8: after device removal nothing is submitted or completed any more; read is -ENODEV', async () => {
    const { value, result } = await runOne(
      async (sys, sim) => {
        const fd = await adcFd(sys);
        sim.at(3_000_000, 'unbind sim-adc', () => sim.removeDevice('sim-adc'));
        expect(await sys.nanosleep(10_000_000)).toBe(0);
        return (await readS16(sys, fd, 16384)).ret;
      },
      // The removal comes 3 ms in, after the setup calls: at time scale 1000 (3 s of real time) they fit in that.
      { platform: 'ideal', realTimescale: 1000 },
    );
    expect(value).toBe(-ENODEV);
    simOnly('the simulated DMA controller’s transfer counts', () => {
      const s = result.stats.devices['sim-adc']!;
      expect(s.transfers).toBe(1);
      expect(s.bytesDone).toBe(16384);
    });
  });
});

describe('DMAQ-13: overflow and underflow counts', () => {
  it('DMAQ-13: a reader that stops after one block: the ADC overflows from 6.144 ms to the disable at 10 ms (3856 scans)', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        const r = await readS16(sys, fd, 16384);
        expect(await sys.nanosleep(Math.max(0, 10_000_000 - r.t))).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { r, t: sys.now() };
      },
      { platform: 'ideal' },
    );
    expect(value.r.ret).toBe(16384);
    expect(value.r.t).toEqual(vtime(BLOCK_NS + IRQ));
    expect(value.t).toEqual(vtime(10_000_000));
    // Block 0 (scans 0..2047), block 1 (2048..4095), block 0 again (4096..6143); then no block is ACTIVE.
    const s = result.stats.devices['sim-adc']!;
    expect(s.transfers).toBe(3);
    expect(s.bytesDone).toBe(3 * 16384);
    expect(s.scansLost).toBe(10_000 - 6144);
    expect(s.bytesGap).toBe((10_000 - 6144) * 8);
  });

  it('DMAQ-13: a reader that never reads: overflow from 4.096 ms to 10 ms (5904 scans); what stays buffered is the oldest data', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        expect(await sys.nanosleep(10_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const a = await avail(sys);
        const r = await readS16(sys, fd, 16384);
        return { a, r };
      },
      { platform: 'ideal' },
    );
    expect(value.a).toBe('32768\n');
    expect(value.r.ret).toBe(16384);
    expect(value.r.samples).toEqual(adcScans(0, 2048));
    const s = result.stats.devices['sim-adc']!;
    expect(s.scansLost).toBe(5904);
    expect(s.bytesGap).toBe(5904 * 8);
  });

  it('DMAQ-13: DAC underflow: enable, 1 ms of nothing, two blocks, then nothing until the disable at 6 ms (1000 + 904 scans)', async () => {
    const { result, sim } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        expect(await sys.nanosleep(1_000_000)).toBe(0);
        const buf = put(sys, dacBytes(0, 4096));
        expect(await sys.write(fd, buf, 16384)).toBe(16384);
        expect(await sys.nanosleep(5_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return 0;
      },
      { platform: 'ideal' },
    );
    const s = result.stats.devices['sim-dac']!;
    expect(s.scansLost).toBe(1904);
    expect(s.bytesGap).toBe(1904 * 4);
    expect(s.bytesDone).toBe(16384);
    expect(s.transfers).toBe(2);
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.length).toBe(6000);
    expect(played.slice(0, 1000)).toEqual(new Array(1000).fill(null));
    expect(played.slice(1000, 5096)).toEqual(dacScans(0, 4096));
    expect(played.slice(5096)).toEqual(new Array(904).fill(null));
  });

  it('DMAQ-13: DAC written at enable time plays two blocks with no gap; the recording is exactly the written samples', async () => {
    const { result, sim } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = put(sys, dacBytes(0, 4096));
        expect(await sys.write(fd, buf, 16384)).toBe(16384);
        expect(await sys.nanosleep(4_096_000)).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return 0;
      },
      { platform: 'ideal' },
    );
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played).toEqual(dacScans(0, 4096));
    const s = result.stats.devices['sim-dac']!;
    expect(s.scansLost).toBe(0);
    expect(s.bytesDone).toBe(16384);
  });
});

describe('FILEIO: block sizes, transfer lengths, data_available', () => {
  it('FILEIO-1: block size = bpd × length / 2: one channel (bpd 2) gives 4096-byte blocks of 2048 scans', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys, ['in_voltage2']);
        const r = await readS16(sys, fd, 65536);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return r;
      },
      { platform: 'ideal' },
    );
    expect(value.ret).toBe(4096);
    expect(value.t).toEqual(vtime(BLOCK_NS + IRQ));
    expect(value.samples).toEqual(adcScans(0, 2048, [2]));
  });

  it('FILEIO-1 / FILEIO-3: length 1001, one channel: blocks of 1001 bytes, transfers of 1000 (align 8), data_available counts 1001', async () => {
    const { value } = await runOne(
      async (sys) => {
        expect(await writeAttr(sys, `${ADC_BUF}/length`, '1001')).toBe(4);
        const fd = await adcFd(sys, ['in_voltage0']);
        expect(await sys.nanosleep(500_000 + IRQ)).toBe(0);
        const a = await avail(sys);
        const r0 = await readS16(sys, fd, 1001);
        const r1 = await readS16(sys, fd, 1001);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { a, r0, r1 };
      },
      // data_available is read 498 µs before the second block completes.
      { platform: 'ideal', realTimescale: 1000 },
    );
    expect(value.a).toBe('1001\n');
    expect(value.r0.ret).toBe(1000);
    expect(value.r0.t).toEqual(vtime(502_000));
    expect(value.r0.samples).toEqual(adcScans(0, 500, [0]));
    expect(value.r1.ret).toBe(1000);
    expect(value.r1.t).toEqual(vtime(1_002_000));
    expect(value.r1.samples).toEqual(adcScans(500, 500, [0]));
  });

  it('FILEIO-1: a block that cannot be allocated fails the enable with -ENOMEM; the buffer stays disabled', async () => {
    const { value } = await runOne(
      async (sys) => {
        expect(await writeAttr(sys, `${ADC_BUF}/length`, '536870912')).toBe(9);
        await adcFd(sys, ADC_CHANNELS, false);
        const en = await setBufferEnabled(sys, 0, true);
        return { en, enable: await readAttr(sys, `${ADC_BUF}/enable`) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ en: -ENOMEM, enable: '0\n' });
  });

  it('FILEIO-2: unread IN data is discarded at the next enable; sample numbering restarts at 0', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        expect(await sys.nanosleep(5_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const beforeEnable = await avail(sys);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const afterEnable = await avail(sys);
        const r = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { beforeEnable, afterEnable, r };
      },
      { platform: 'ideal' },
    );
    expect(value.beforeEnable).toBe('32768\n');
    expect(value.afterEnable).toBe('0\n');
    expect(value.r.ret).toBe(16384);
    expect(value.r.t).toEqual(vtime(5_000_000 + BLOCK_NS + IRQ));
    expect(value.r.samples).toEqual(adcScans(0, 2048));
  });

  it('FILEIO-2: OUT data written while disabled is discarded by the next enable (quirk): write two blocks, enable, nothing plays', async () => {
    const { value, result, sim } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        const space = await avail(sys, DAC_BUF);
        const buf = put(sys, dacBytes(0, 4096));
        const w = await sys.write(fd, buf, 16384);
        const afterWrite = await avail(sys, DAC_BUF);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        const afterEnable = await avail(sys, DAC_BUF);
        expect(await sys.nanosleep(5_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { space, w, afterWrite, afterEnable };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ space: '16384\n', w: 16384, afterWrite: '0\n', afterEnable: '16384\n' });
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played).toEqual(new Array(5000).fill(null));
    const s = result.stats.devices['sim-dac']!;
    expect(s.bytesDone).toBe(0);
    expect(s.scansLost).toBe(5000);
  });

  it('FILEIO-3: IN transfer length is round_down(min(size, max_seg), align): max_seg 10000 → 10000-byte blocks', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        expect(await sys.nanosleep(1_250_000 + IRQ)).toBe(0);
        const a = await avail(sys);
        const r0 = await readS16(sys, fd, 16384);
        const r1 = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { a, r0, r1 };
      },
      { platform: 'ideal', devices: withAdcDma({ maxSegmentSize: 10000 }) },
    );
    expect(value.a).toBe('16384\n');
    expect(value.r0.ret).toBe(10000);
    expect(value.r0.t).toEqual(vtime(1_252_000));
    expect(value.r0.samples).toEqual(adcScans(0, 1250));
    expect(value.r1.ret).toBe(10000);
    expect(value.r1.t).toEqual(vtime(2_502_000));
    expect(value.r1.samples).toEqual(adcScans(1250, 1250));
  });

  it('FILEIO-4: an OUT block larger than max_seg fails its submit silently and is wedged: the write succeeds, nothing plays', async () => {
    const { value, result, sim } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        await setNonblock(sys, fd);
        const buf = put(sys, dacBytes(0, 6144));
        const w0 = await sys.write(fd, buf, 8192);
        const a0 = await avail(sys, DAC_BUF);
        const w1 = await sys.write(fd, buf + 8192, 8192);
        const a1 = await avail(sys, DAC_BUF);
        const w2 = await sys.write(fd, buf + 16384, 8192);
        expect(await sys.nanosleep(5_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        const a2 = await avail(sys, DAC_BUF);
        return { w0, a0, w1, a1, w2, a2 };
      },
      { platform: 'ideal', devices: withDacDma({ maxSegmentSize: 4096 }) },
    );
    // DMAQ-5: the wedged blocks stay ACTIVE on no list; disable does not give them back.
    expect(value).toEqual({ w0: 8192, a0: '8192\n', w1: 8192, a1: '0\n', w2: -EAGAIN, a2: '0\n' });
    simOnly('what the simulated DAC played and its transfer counts', () => {
      expect(sim.device('sim-dac').dac!.playedScans()).toEqual(new Array(5000).fill(null));
      const s = result.stats.devices['sim-dac']!;
      expect(s.transfers).toBe(0);
      expect(s.scansLost).toBe(5000);
    });
  });

  it('FILEIO-5: data_available is bytes: full size of the block being read (however far) + each other DONE block', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        const out: (string | number)[] = [await avail(sys)];
        expect(await sys.nanosleep(BLOCK_NS + IRQ)).toBe(0);
        out.push(await avail(sys));
        out.push((await readS16(sys, fd, 8)).ret);
        out.push(await avail(sys));
        expect(await sys.nanosleep(BLOCK_NS)).toBe(0);
        out.push(await avail(sys));
        out.push((await readS16(sys, fd, 16384)).ret);
        out.push(await avail(sys));
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return out;
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual(['0\n', '16384\n', 8, '16384\n', '32768\n', 16376, '16384\n']);
  });

  it('FILEIO-5: OUT space_available is bytes too: a block being filled counts whole', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = put(sys, dacBytes(0, 2048));
        const out: (string | number)[] = [await avail(sys, DAC_BUF)];
        out.push(await sys.write(fd, buf, 8));
        out.push(await avail(sys, DAC_BUF));
        out.push(await sys.write(fd, buf + 8, 8184));
        out.push(await avail(sys, DAC_BUF));
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return out;
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual(['16384\n', 8, '16384\n', 8184, '8192\n']);
  });
});

describe('FILEIO: read/write mechanics', () => {
  it('FILEIO-6: n < bpd is -EINVAL for read (7 < 8) and write (3 < 4)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await adcFd(sys);
        const dac = await dacFd(sys);
        const buf = sys.mem.alloc(16);
        const r = await sys.read(adc, buf, 7);
        const w = await sys.write(dac, buf, 3);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { r, w, t: sys.now() };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ r: -EINVAL, w: -EINVAL, t: vtime(0) });
  });

  it('FILEIO-8: the copy is round_down(n, bpd) and never spans two blocks', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        expect(await sys.nanosleep(2 * BLOCK_NS + IRQ)).toBe(0);
        const a = await readS16(sys, fd, 20);
        const b = await readS16(sys, fd, 32768);
        const c = await readS16(sys, fd, 32768);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { a, b, c };
      },
      { platform: 'ideal' },
    );
    expect(value.a.ret).toBe(16);
    expect(value.a.samples).toEqual(adcScans(0, 2));
    expect(value.b.ret).toBe(16384 - 16);
    expect(value.b.samples).toEqual(adcScans(2, 2046));
    expect(value.c.ret).toBe(16384);
    expect(value.c.samples).toEqual(adcScans(2048, 2048));
  });

  it('FILEIO-8: a faulting copy is -EFAULT and consumes nothing', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        expect(await sys.nanosleep(BLOCK_NS + IRQ)).toBe(0);
        const fault = await sys.read(fd, 0x10000, 16384);
        const a = await avail(sys);
        const r = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { fault, a, r };
      },
      { platform: 'ideal' },
    );
    expect(value.fault).toBe(-EFAULT);
    expect(value.a).toBe('16384\n');
    expect(value.r.ret).toBe(16384);
    expect(value.r.samples).toEqual(adcScans(0, 2048));
  });

  it('FILEIO-7 / FILEIO-10: next_dequeue is not reset: after one consumed block the next session is read from block 1 first', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await adcFd(sys);
        const first = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        // Taken before the enable: block 1 completes 2 blocks after the enable itself.
        const t1 = sys.now();
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await sys.nanosleep(3_000_000)).toBe(0);
        const a = await avail(sys);
        const e = { fd, events: POLLIN | POLLRDNORM, revents: 0 };
        const p = await sys.pollfds([e], 0);
        await setNonblock(sys, fd);
        const nb = await readS16(sys, fd, 16384);
        await setNonblock(sys, fd, false);
        const b1 = await readS16(sys, fd, 16384);
        const b0 = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { first, t1, a, p, revents: e.revents, nb: nb.ret, b1, b0 };
      },
      { platform: 'ideal' },
    );
    expect(value.first.ret).toBe(16384);
    expect(value.t1).toEqual(vtime(BLOCK_NS + IRQ));
    // 3 ms into the second session block 0 is DONE: data_available and poll say readable, read says -EAGAIN.
    expect(value.a).toBe('16384\n');
    expect(value.p).toBe(1);
    expect(value.revents).toBe(POLLIN | POLLRDNORM);
    expect(value.nb).toBe(-EAGAIN);
    // Block 1 (scans 2048..4095 of the session) comes first, when it completes; block 0 right after.
    expect(value.b1.ret).toBe(16384);
    expect(value.b1.t).toEqual(vtime(value.t1 + 2 * BLOCK_NS + IRQ));
    expect(value.b1.samples).toEqual(adcScans(2048, 2048));
    expect(value.b0.ret).toBe(16384);
    expect(value.b0.t).toEqual(vtime(value.t1 + 2 * BLOCK_NS + IRQ));
    expect(value.b0.samples).toEqual(adcScans(0, 2048));
  });

  it('FILEIO-10: the blocking read spinning on block 1 is charged CPU time for the spin (zcu102)', async () => {
    realSkip('the CPU time a guest process spends inside a syscall is not measured by the oracle');
    const { value, outcome } = await runOne(async (sys) => {
      const fd = await adcFd(sys);
      expect((await readS16(sys, fd, 16384)).ret).toBe(16384);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      const r = await readS16(sys, fd, 16384);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      return { ret: r.ret, samples: r.samples };
    });
    expect(value.ret).toBe(16384);
    expect(value.samples).toEqual(adcScans(2048, 2048));
    // Woken by block 0's IRQ (+20 µs wake latency), the read spins until block 1's IRQ 2.048 ms later.
    expect(outcome.cpuNs).toBeGreaterThanOrEqual(BLOCK_NS - 20_000);
  });

  it('FILEIO-11: device removal frees the fileio blocks', async () => {
    const { value, result } = await runOne(
      async (sys, sim) => {
        await adcFd(sys);
        expect(await sys.nanosleep(3_000_000)).toBe(0);
        const before = sim.kernel.census.live()['iio_dma_block(fileio)'];
        await removeDevice(sys, sim, 'sim-adc');
        expect(await sys.nanosleep(1_000_000)).toBe(0);
        return before;
      },
      { platform: 'ideal' },
    );
    expect(value).toBe(2);
    expect(result.liveObjects['iio_dma_block(fileio)'] ?? 0).toBe(0);
  });

  it('FILEIO-12: OUT blocks aborted by disable count as space, but a write fills nothing: -EAGAIN, then no space', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = put(sys, dacBytes(0, 4096));
        expect(await sys.write(fd, buf, 16384)).toBe(16384);
        expect(await sys.nanosleep(1_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        await setNonblock(sys, fd);
        const a0 = await avail(sys, DAC_BUF);
        const w = await sys.write(fd, buf, 8192);
        const a1 = await avail(sys, DAC_BUF);
        return { a0, w, a1 };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ a0: '16384\n', w: -EAGAIN, a1: '0\n' });
  });
});
