/**
 * Buffer fd write (rulebook §5 BWRITE-1..5) on sim-dac (DMA output, 2 × le:s16/16 at 1 MHz: fileio blocks of
 * 8192 bytes = 2048 scans) and on sim-adc (direction IN). What the DAC played is checked sample by sample
 * against its recording.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../../src/index.ts';
import {
  EAGAIN,
  EINTR,
  EINVAL,
  ENODEV,
  EPERM,
  F_GETFL,
  F_SETFL,
  O_NONBLOCK,
} from '../../../src/uapi/index.ts';
import { SIGUSR1 } from '../../../src/uapi/signal.ts';
import { enableChannels, openBuffer, readAttr, setBufferEnabled } from '../../../src/user/iio.ts';
import { removeDevice, runOne, vtime } from '../../helpers.ts';

const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];
const DAC_BUF = '/sys/bus/iio/devices/iio:device1/buffer0';
/** One DAC fileio block: 2048 scans × 4 bytes. */
const BLOCK = 8192;
const BLOCK_SCANS = 2048;
/** Block 0 has been played at 2.048 ms; its completion IRQ follows 2000 ns later. */
const FIRST_BLOCK_IRQ = 2_048_000 + 2_000;

/** The test pattern: channel c of scan k. */
function pattern(k: number, c: number): number {
  return ((k * 37 + c * 5000) % 65536) - 32768;
}

/** Scans [first, first + count) of the pattern as DAC bytes (2 × le s16 per scan). */
function patternBytes(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    v.setInt16(i * 4, pattern(first + i, 0), true);
    v.setInt16(i * 4 + 2, pattern(first + i, 1), true);
  }
  return out;
}

/** The pattern as `playedScans()` decodes it. */
function patternScans(first: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => [pattern(first + i, 0), pattern(first + i, 1)]);
}

async function bufferFd(sys: Sys, dev: number): Promise<number> {
  const ob = await openBuffer(sys, dev);
  if (typeof ob === 'number') throw new Error(`openBuffer(${dev}) failed: ${ob}`);
  return ob.fd;
}

/** sim-dac buffer fd with both channels enabled and (by default) the buffer enabled. */
async function dacFd(sys: Sys, enable = true): Promise<number> {
  const fd = await bufferFd(sys, 1);
  expect(await enableChannels(sys, 1, DAC_CHANNELS)).toBe(0);
  if (enable) expect(await setBufferEnabled(sys, 1, true)).toBe(1);
  return fd;
}

/** Copies `bytes` into fresh process memory; returns the address. */
function put(sys: Sys, bytes: Uint8Array): number {
  const addr = sys.mem.alloc(Math.max(1, bytes.length));
  sys.mem.write(addr, bytes);
  return addr;
}

async function setNonblock(sys: Sys, fd: number, on = true): Promise<void> {
  const fl = await sys.fcntl(fd, F_GETFL);
  expect(await sys.fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK)).toBe(0);
}

describe('BWRITE: device gone, direction', () => {
  it('BWRITE-1: write after the device was removed is -ENODEV (n > 0, n == 0, nonblocking)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const fd = await dacFd(sys);
        const buf = put(sys, patternBytes(0, BLOCK_SCANS));
        await removeDevice(sys, sim, 'sim-dac');
        const blocking = await sys.write(fd, buf, BLOCK);
        const zero = await sys.write(fd, buf, 0);
        await setNonblock(sys, fd);
        const nonblock = await sys.write(fd, buf, BLOCK);
        return { blocking, zero, nonblock, t: sys.now() };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ blocking: -ENODEV, zero: -ENODEV, nonblock: -ENODEV, t: vtime(0) });
  });

  it('BWRITE-1: a writer asleep for space when the device goes gets -ENODEV at that time', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const fd = await dacFd(sys);
        const buf = put(sys, patternBytes(0, 3 * BLOCK_SCANS));
        sim.at(1_000_000, 'unbind sim-dac', () => sim.removeDevice('sim-dac'));
        const ret = await sys.write(fd, buf, 3 * BLOCK);
        return { ret, t: sys.now() };
      },
      // The removal comes 1 ms in, after the setup calls: at time scale 1000 (1 s of real time) they fit in that.
      { platform: 'ideal', realTimescale: 1000 },
    );
    expect(value).toEqual({ ret: -ENODEV, t: vtime(1_000_000) });
  });

  it('BWRITE-1: the device-gone check comes first: a removed IN buffer writes -ENODEV, not -EPERM', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const fd = await bufferFd(sys, 0);
        await removeDevice(sys, sim, 'sim-adc');
        const buf = sys.mem.alloc(16);
        return sys.write(fd, buf, 16);
      },
      { platform: 'ideal' },
    );
    expect(value).toBe(-ENODEV);
  });

  it('BWRITE-2: write on an IN buffer is -EPERM (never enabled, enabled, n == 0)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await bufferFd(sys, 0);
        const buf = sys.mem.alloc(16384);
        const fresh = await sys.write(fd, buf, 16384);
        expect(await enableChannels(sys, 0, ['in_voltage0'])).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const enabled = await sys.write(fd, buf, 16384);
        const zero = await sys.write(fd, buf, 0);
        return { fresh, enabled, zero };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ fresh: -EPERM, enabled: -EPERM, zero: -EPERM });
  });
});

describe('BWRITE: space loop', () => {
  it('BWRITE-3: never-enabled DAC has no fileio blocks: space 0, nonblocking write is -EAGAIN', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await bufferFd(sys, 1);
        await setNonblock(sys, fd);
        const buf = put(sys, patternBytes(0, BLOCK_SCANS));
        const ret = await sys.write(fd, buf, BLOCK);
        const avail = await readAttr(sys, `${DAC_BUF}/data_available`);
        return { ret, avail };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: -EAGAIN, avail: '0\n' });
  });

  it('BWRITE-3: never-enabled DAC: a blocking write sleeps forever', async () => {
    const { outcome } = await runOne(
      async (sys) => {
        const fd = await bufferFd(sys, 1);
        const buf = put(sys, patternBytes(0, BLOCK_SCANS));
        return sys.write(fd, buf, BLOCK);
      },
      { platform: 'ideal', allowAbnormal: true },
    );
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('write');
    expect(outcome.blockedIn?.since).toEqual(vtime(0));
  });

  it('BWRITE-3: nonblocking write returns the bytes written before space ran out, then -EAGAIN', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        await setNonblock(sys, fd);
        const buf = put(sys, patternBytes(0, 5000));
        const first = await sys.write(fd, buf, 20000);
        const avail = await readAttr(sys, `${DAC_BUF}/data_available`);
        const second = await sys.write(fd, buf + first, 20000 - first);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { first, avail, second };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ first: 2 * BLOCK, avail: '0\n', second: -EAGAIN });
  });

  it('BWRITE-3: a blocking write of three blocks sleeps for space and returns at block 0 completion + IRQ latency; the DAC plays every sample', async () => {
    const { value, result, sim } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = put(sys, patternBytes(0, 3 * BLOCK_SCANS));
        const ret = await sys.write(fd, buf, 3 * BLOCK);
        const t = sys.now();
        expect(await sys.nanosleep(Math.max(0, 7_000_000 - t))).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { ret, t };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: 3 * BLOCK, t: vtime(FIRST_BLOCK_IRQ) });
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.length).toBe(7000);
    expect(played.slice(0, 3 * BLOCK_SCANS)).toEqual(patternScans(0, 3 * BLOCK_SCANS));
    expect(played.slice(3 * BLOCK_SCANS)).toEqual(new Array(7000 - 3 * BLOCK_SCANS).fill(null));
    // Nothing was missing before 6.144 ms; the 856 scans from then to the disable at 7 ms underflowed.
    expect(result.stats.devices['sim-dac']?.scansLost).toBe(856);
    expect(result.stats.devices['sim-dac']?.bytesGap).toBe(856 * 4);
    expect(result.stats.devices['sim-dac']?.bytesDone).toBe(3 * BLOCK);
  });

  it('BWRITE-3: a signal while waiting for space gives -EINTR even though two blocks were queued', async () => {
    const { value, sim } = await runOne(
      async (sys, sim) => {
        expect(await sys.sigaction(SIGUSR1, { restart: false })).toBe(0);
        const fd = await dacFd(sys);
        sim.at(1_000_000, 'SIGUSR1', () => sim.kill(sys.pid, SIGUSR1));
        const buf = put(sys, patternBytes(0, 3 * BLOCK_SCANS));
        const ret = await sys.write(fd, buf, 3 * BLOCK);
        const t = sys.now();
        expect(await sys.nanosleep(Math.max(0, 5_000_000 - t))).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { ret, t };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: -EINTR, t: vtime(1_000_000) });
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.slice(0, 2 * BLOCK_SCANS)).toEqual(patternScans(0, 2 * BLOCK_SCANS));
  });

  it('BWRITE-4: a backend error after a full block was queued is returned (-EINVAL), the block still plays (quirk)', async () => {
    const { value, result, sim } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = put(sys, patternBytes(0, BLOCK_SCANS + 1));
        // 8194 bytes: block 0 takes 8192, the 2 left are < bpd (4): FILEIO-6 -EINVAL.
        const ret = await sys.write(fd, buf, BLOCK + 2);
        const avail = await readAttr(sys, `${DAC_BUF}/data_available`);
        expect(await sys.nanosleep(3_000_000)).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { ret, avail, t: sys.now() };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: -EINVAL, avail: `${BLOCK}\n`, t: vtime(3_000_000) });
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.length).toBe(3000);
    expect(played.slice(0, BLOCK_SCANS)).toEqual(patternScans(0, BLOCK_SCANS));
    expect(played.slice(BLOCK_SCANS)).toEqual(new Array(3000 - BLOCK_SCANS).fill(null));
    expect(result.stats.devices['sim-dac']?.scansLost).toBe(3000 - BLOCK_SCANS);
  });

  it('BWRITE-4: n < bpd with space is the backend -EINVAL at once (FILEIO-6)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = put(sys, patternBytes(0, 1));
        const ret = await sys.write(fd, buf, 3);
        const avail = await readAttr(sys, `${DAC_BUF}/data_available`);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { ret, avail, t: sys.now() };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: -EINVAL, avail: `${2 * BLOCK}\n`, t: vtime(0) });
  });
});

describe('BWRITE-5: zero-length writes', () => {
  it('BWRITE-5: n == 0 with space is the backend -EINVAL', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = sys.mem.alloc(16);
        const ret = await sys.write(fd, buf, 0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return ret;
      },
      { platform: 'ideal' },
    );
    expect(value).toBe(-EINVAL);
  });

  it('BWRITE-5: n == 0 with no space and O_NONBLOCK is -EAGAIN', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fresh = await bufferFd(sys, 1);
        await setNonblock(sys, fresh);
        const buf = sys.mem.alloc(16);
        return sys.write(fresh, buf, 0);
      },
      { platform: 'ideal' },
    );
    expect(value).toBe(-EAGAIN);
  });

  it('BWRITE-5: n == 0 with no space, blocking: sleeps until the first wake-up (block 0 done), then returns 0', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await dacFd(sys);
        const buf = put(sys, patternBytes(0, 2 * BLOCK_SCANS));
        expect(await sys.write(fd, buf, 2 * BLOCK)).toBe(2 * BLOCK);
        const ret = await sys.write(fd, buf, 0);
        const t = sys.now();
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { ret, t };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: 0, t: vtime(FIRST_BLOCK_IRQ) });
  });

  it('BWRITE-5: n == 0 blocking: the first wake-up ends it with 0 even when it is the device removal', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const fd = await dacFd(sys);
        const buf = put(sys, patternBytes(0, 2 * BLOCK_SCANS));
        expect(await sys.write(fd, buf, 2 * BLOCK)).toBe(2 * BLOCK);
        sim.at(1_000_000, 'unbind sim-dac', () => sim.removeDevice('sim-dac'));
        const ret = await sys.write(fd, buf, 0);
        return { ret, t: sys.now() };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: 0, t: vtime(1_000_000) });
  });
});
