/**
 * Rules POLL-1..8 of ../shared/reference/kernel-semantics.md §2: poll()'s argument checks, the per-entry
 * results (negative fd, closed fd, files with and without a poll op), the count, and the timeout in virtual
 * time.
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Sys } from '../../src/index.ts';
import {
  DEFAULT_POLLMASK,
  EFAULT,
  EINVAL,
  IIO_BUFFER_GET_FD_IOCTL,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_RDONLY,
  O_RDWR,
  PAGE_SIZE,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
  POLLRDBAND,
  POLLRDNORM,
  POLLWRBAND,
  POLLWRNORM,
  PROT_READ,
  PROT_WRITE,
} from '../../src/uapi/index.ts';
import { enableChannels, setBufferEnabled, writeAttr } from '../../src/user/iio.ts';
import { runOne, vspan, vtime } from '../helpers.ts';

const ADC = '/dev/iio:device0';
const DAC = '/dev/iio:device1';
const DUMMY = '/dev/iio:device2';
const ADC_NAME = '/sys/bus/iio/devices/iio:device0/name';
const DUMMY_SYSFS = '/sys/bus/iio/devices/iio:device2';
/** `/dev/null`: a character device without a poll op (drivers/char/mem.c). */
const DEV_NULL = '/dev/null';
const UNMAPPED = 0x1000;
const ALL_EVENTS = 0xffff;
const MS = 1_000_000;

/** Writes `struct pollfd` entries (fd, events, revents) at a fresh address. */
function pollArray(sys: Sys, entries: readonly [fd: number, events: number, revents?: number][]): number {
  const addr = sys.mem.alloc(Math.max(1, entries.length * 8));
  const bytes = new Uint8Array(entries.length * 8);
  const dv = new DataView(bytes.buffer);
  entries.forEach(([fd, events, revents = 0], i) => {
    dv.setInt32(i * 8, fd, true);
    dv.setInt16(i * 8 + 4, events, true);
    dv.setInt16(i * 8 + 6, revents, true);
  });
  sys.mem.write(addr, bytes);
  return addr;
}

/** The `revents` of the `n` entries at `addr`. */
function reventsOf(sys: Sys, addr: number, n: number): number[] {
  const dv = new DataView(sys.mem.read(addr, n * 8).buffer);
  return Array.from({ length: n }, (_, i) => dv.getUint16(i * 8 + 6, true));
}

/** An fd of the chardev's buffer 0. */
async function bufferFd(sys: Sys, chardev: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, 0);
  expect(await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, arg)).toBe(0);
  return sys.mem.readInt(arg);
}

/**
 * sim-dummy's buffer fd, capturing in_voltage0 (2-byte scans) at 1 kHz from now: scan k lands at
 * now + (k + 1) ms. `watermark` scans make it readable.
 */
async function runningKfifo(sys: Sys, watermark = 1): Promise<number> {
  expect(await writeAttr(sys, `${DUMMY_SYSFS}/buffer0/length`, '16')).toBe(2);
  expect(await writeAttr(sys, `${DUMMY_SYSFS}/buffer0/watermark`, String(watermark))).toBe(
    String(watermark).length,
  );
  expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
  const chardev = await sys.open(DUMMY, O_RDWR);
  const fd = await bufferFd(sys, chardev);
  expect(await setBufferEnabled(sys, 2, true)).toBe(1);
  return fd;
}

describe('POLL-1, POLL-2: argument checks', () => {
  it('POLL-1: nfds above RLIMIT_NOFILE is -EINVAL; nfds equal to it is fine', async () => {
    const { value } = await runOne(
      async (sys) => {
        const six = pollArray(sys, [
          [-1, POLLIN],
          [-1, POLLIN],
          [-1, POLLIN],
          [-1, POLLIN],
          [-1, POLLIN],
          [-1, POLLIN],
        ]);
        return [await sys.poll(six, 6, 0), await sys.poll(six, 5, 0)];
      },
      { spawn: { nofile: 5 } },
    );
    expect(value).toEqual([-EINVAL, 0]);
  });

  it('POLL-1: the limit is the default 1024 without a nofile option; a negative nfds is huge (unsigned)', async () => {
    const { value } = await runOne(async (sys) => {
      const entries: [number, number][] = Array.from({ length: 1025 }, () => [-1, POLLIN]);
      const arr = pollArray(sys, entries);
      return [await sys.poll(arr, 1025, 0), await sys.poll(arr, 1024, 0), await sys.poll(arr, -1, 0)];
    });
    expect(value).toEqual([-EINVAL, 0, -EINVAL]);
  });

  it('POLL-1: nfds is checked before the array is read', async () => {
    const { value } = await runOne(async (sys) => sys.poll(UNMAPPED, 4, 0), { spawn: { nofile: 3 } });
    expect(value).toBe(-EINVAL);
  });

  it('POLL-2: an unreadable pollfd array is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const two = await sys.mmap(
        0,
        2 * PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1,
        0,
      );
      await sys.munmap(two + PAGE_SIZE, PAGE_SIZE);
      const dv = new DataView(new ArrayBuffer(8));
      dv.setInt32(0, -1, true);
      sys.mem.write(two + PAGE_SIZE - 8, new Uint8Array(dv.buffer));
      return [
        await sys.poll(0, 1, 0),
        await sys.poll(UNMAPPED, 2, 0),
        await sys.poll(two + PAGE_SIZE - 8, 2, 0),
        await sys.poll(two + PAGE_SIZE - 8, 1, 0),
      ];
    });
    expect(value).toEqual([-EFAULT, -EFAULT, -EFAULT, 0]);
  });

  it('POLL-2: a revents write-back into read-only memory is -EFAULT, even with nothing ready', async () => {
    const { value } = await runOne(async (sys) => {
      // A zero-filled read-only page: entries {fd 0, events 0}; fd 0 is an open sysfs file.
      const ro = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      return [fd, await sys.poll(ro, 1, 0), await sys.poll(ro, 3, 0)];
    });
    expect(value).toEqual([0, -EFAULT, -EFAULT]);
  });

  it('POLL-2: nfds 0 reads nothing, so any address works', async () => {
    const { value } = await runOne(async (sys) => [await sys.poll(0, 0, 0), await sys.poll(UNMAPPED, 0, 0)]);
    expect(value).toEqual([0, 0]);
  });
});

describe('POLL-3..7: per-entry results and the count', () => {
  it('POLL-3: a negative fd gives revents 0 and is not counted', async () => {
    const { value } = await runOne(async (sys) => {
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      const arr = pollArray(sys, [
        [-1, ALL_EVENTS, 0x7777],
        [attr, POLLIN, 0x7777],
        [-100, POLLIN | POLLOUT, 0x7777],
        [-2147483648, ALL_EVENTS, 0x7777],
      ]);
      const r = await sys.poll(arr, 4, 0);
      return [r, reventsOf(sys, arr, 4)];
    });
    // The sysfs file was never read: kernfs adds POLLERR (and POLLPRI), see the POLL-6 tests.
    expect(value).toEqual([1, [0, POLLIN | POLLERR, 0, 0]]);
  });

  it('POLL-4: an fd that is not open gives POLLNVAL whatever events was, and is counted', async () => {
    const { value } = await runOne(async (sys) => {
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      await sys.close(attr);
      const arr = pollArray(sys, [
        [attr, 0],
        [7, POLLIN | POLLOUT],
        [1000, ALL_EVENTS],
      ]);
      const r = await sys.poll(arr, 3, 0);
      return [r, reventsOf(sys, arr, 3)];
    });
    expect(value).toEqual([3, [POLLNVAL, POLLNVAL, POLLNVAL]]);
  });

  it('POLL-4: the same through pollfds()', async () => {
    const { value } = await runOne(async (sys) => {
      const entries: PollEntry[] = [
        { fd: 3, events: 0 },
        { fd: -1, events: POLLIN },
      ];
      const r = await sys.pollfds(entries, 0);
      return [r, entries.map((e) => e.revents)];
    });
    expect(value).toEqual([1, [POLLNVAL, 0]]);
  });

  it('POLL-5: a file without a poll op reports DEFAULT_POLLMASK & (events | POLLERR | POLLHUP)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(DEV_NULL, O_RDWR);
      const arr = pollArray(sys, [
        [fd, POLLIN],
        [fd, POLLOUT | POLLWRNORM],
        [fd, ALL_EVENTS],
        [fd, POLLPRI | POLLRDBAND | POLLWRBAND],
        [fd, 0],
        [fd, POLLERR | POLLHUP],
        [fd, POLLRDNORM | POLLPRI],
      ]);
      const r = await sys.poll(arr, 7, 0);
      return [fd, r, reventsOf(sys, arr, 7)];
    });
    expect(value).toEqual([0, 4, [POLLIN, POLLOUT | POLLWRNORM, DEFAULT_POLLMASK, 0, 0, 0, POLLRDNORM]]);
  });

  it('POLL-6: a sysfs file (kernfs poll) is DEFAULT_POLLMASK | POLLERR | POLLPRI until its first read, then DEFAULT_POLLMASK; masked with events | POLLERR | POLLHUP', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const arr = pollArray(sys, [
        [fd, POLLIN],
        [fd, POLLPRI],
        [fd, POLLOUT | POLLWRBAND],
        [fd, ALL_EVENTS],
        [fd, 0],
      ]);
      const fresh = [await sys.poll(arr, 5, 0), reventsOf(sys, arr, 5)];
      const buf = sys.mem.alloc(64);
      const read = await sys.read(fd, buf, 64);
      const shown = [await sys.poll(arr, 5, 0), reventsOf(sys, arr, 5)];
      return { fresh, read, shown };
    });
    expect(value).toEqual({
      // kernfs_generic_poll(): the open file has not shown the attribute's current value yet (POLL-6 in
      // docs/quirks.md); POLLERR is never masked out.
      fresh: [
        5,
        [
          POLLIN | POLLERR,
          POLLPRI | POLLERR,
          POLLOUT | POLLERR,
          DEFAULT_POLLMASK | POLLERR | POLLPRI,
          POLLERR,
        ],
      ],
      read: 8,
      shown: [3, [POLLIN, 0, POLLOUT, DEFAULT_POLLMASK, 0]],
    });
  });

  it('POLL-6: idle buffer fds report 0 (ADC: no data; DAC: no space), even with every event asked for', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await bufferFd(sys, await sys.open(ADC, O_RDWR));
      const dac = await bufferFd(sys, await sys.open(DAC, O_RDWR));
      const arr = pollArray(sys, [
        [adc, ALL_EVENTS],
        [dac, ALL_EVENTS],
      ]);
      const r = await sys.poll(arr, 2, 0);
      return [r, reventsOf(sys, arr, 2)];
    });
    expect(value).toEqual([0, [0, 0]]);
  });

  it('POLL-6: the driver mask (EPOLLIN | EPOLLRDNORM for a readable kfifo) is cut to the events asked for', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await runningKfifo(sys);
        await sys.nanosleep(1.5 * MS);
        const arr = pollArray(sys, [
          [fd, POLLIN],
          [fd, POLLRDNORM],
          [fd, POLLOUT | POLLPRI],
          [fd, ALL_EVENTS],
          [fd, 0],
        ]);
        const r = await sys.poll(arr, 5, 0);
        await setBufferEnabled(sys, 2, false);
        return [r, reventsOf(sys, arr, 5)];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([3, [POLLIN, POLLRDNORM, 0, POLLIN | POLLRDNORM, 0]]);
  });

  it('POLL-6: the chardev of a buffer with a live buffer fd reports 0 (LEG-3)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await runningKfifo(sys);
        await sys.nanosleep(1.5 * MS);
        const arr = pollArray(sys, [
          [0, ALL_EVENTS],
          [fd, POLLIN],
        ]);
        const r = await sys.poll(arr, 2, 0);
        await setBufferEnabled(sys, 2, false);
        return [r, reventsOf(sys, arr, 2)];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([1, [0, POLLIN]]);
  });

  it('POLL-7: the result counts entries with revents != 0, and revents is written for every entry', async () => {
    const { value } = await runOne(async (sys) => {
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      // Shown once, the attribute no longer polls POLLERR|POLLPRI (POLL-6).
      expect(await sys.read(attr, sys.mem.alloc(64), 64)).toBe(8);
      const arr = pollArray(sys, [
        [-1, POLLIN, 0x5555],
        [42, POLLIN, 0x5555],
        [attr, POLLIN, 0x5555],
        [attr, POLLPRI, 0x5555],
        [attr, POLLOUT, 0x5555],
        [attr, 0, 0x5555],
      ]);
      const r = await sys.poll(arr, 6, 0);
      return [r, reventsOf(sys, arr, 6)];
    });
    expect(value).toEqual([3, [0, POLLNVAL, POLLIN, 0, POLLOUT, 0]]);
  });

  it('POLL-7: fd and events are left as they were; only revents is written', async () => {
    const { value } = await runOne(async (sys) => {
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      const arr = pollArray(sys, [
        [attr, POLLIN | POLLPRI, 0x1234],
        [9, 0x4321, 0x1234],
      ]);
      await sys.poll(arr, 2, 0);
      const dv = new DataView(sys.mem.read(arr, 16).buffer);
      return [dv.getInt32(0, true), dv.getUint16(4, true), dv.getInt32(8, true), dv.getUint16(12, true)];
    });
    expect(value).toEqual([0, POLLIN | POLLPRI, 9, 0x4321]);
  });
});

describe('POLL-8: timeouts and wake-ups', () => {
  it('POLL-8: timeout 0 evaluates once and returns at once', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await bufferFd(sys, await sys.open(ADC, O_RDWR));
        const t0 = sys.now();
        const r = await sys.pollfds([{ fd: adc, events: POLLIN }], 0);
        return [r, sys.now() - t0];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([0, vtime(0)]);
  });

  it('POLL-8: a positive timeout with nothing ready returns 0 exactly that many ms later', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await bufferFd(sys, await sys.open(ADC, O_RDWR));
        const t0 = sys.now();
        const r = await sys.pollfds([{ fd: adc, events: POLLIN | POLLOUT }], 5);
        const t1 = sys.now();
        const empty = await sys.poll(0, 0, 7);
        return [r, t1 - t0, empty, sys.now() - t1];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([0, vtime(5 * MS), 0, vtime(7 * MS)]);
  });

  it('POLL-8: the revents of a timed-out poll are all written as 0', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await bufferFd(sys, await sys.open(ADC, O_RDWR));
        const arr = pollArray(sys, [
          [adc, POLLIN, 0x7777],
          [-1, POLLIN, 0x7777],
        ]);
        const r = await sys.poll(arr, 2, 3);
        return [r, reventsOf(sys, arr, 2)];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([0, [0, 0]]);
  });

  it('POLL-8: a positive timeout ends early when a polled file becomes ready', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await runningKfifo(sys);
        const t0 = sys.now();
        const entries: PollEntry[] = [{ fd, events: POLLIN }];
        const r = await sys.pollfds(entries, 100);
        const dt = sys.now() - t0;
        await setBufferEnabled(sys, 2, false);
        return [r, entries[0]!.revents, dt];
      },
      { platform: 'ideal' },
    );
    // Measured from after the enable returned: the scan counts from inside that call.
    expect(value).toEqual([1, POLLIN, vspan(1 * MS)]);
  });

  it('POLL-8: a negative timeout waits until a polled file is ready; every wake-up re-evaluates all entries', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await bufferFd(sys, await sys.open(ADC, O_RDWR));
        const attrFd = await sys.open(ADC_NAME, O_RDONLY);
        // Shown once, the attribute never becomes ready for POLLPRI (POLL-6).
        expect(await sys.read(attrFd, sys.mem.alloc(64), 64)).toBe(8);
        const fd = await runningKfifo(sys, 3);
        const t0 = sys.now();
        const entries: PollEntry[] = [
          { fd: adc, events: POLLIN },
          { fd, events: POLLIN | POLLRDNORM },
          { fd: attrFd, events: POLLPRI },
          { fd: -1, events: POLLIN },
        ];
        const r = await sys.pollfds(entries, -1);
        const dt = sys.now() - t0;
        await setBufferEnabled(sys, 2, false);
        return [r, entries.map((e) => e.revents), dt];
      },
      { platform: 'ideal' },
    );
    // Scans at 1, 2 and 3 ms each wake the poller; the watermark of 3 is met at the third.
    expect(value).toEqual([1, [0, POLLIN | POLLRDNORM, 0, 0], vspan(3 * MS)]);
  });

  it('POLL-8: wake-ups that do not make anything ready keep the original deadline', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await runningKfifo(sys, 3);
        const t0 = sys.now();
        const r = await sys.pollfds([{ fd, events: POLLIN }], 2);
        const dt = sys.now() - t0;
        await setBufferEnabled(sys, 2, false);
        return [r, dt];
      },
      { platform: 'ideal' },
    );
    // Woken by the scans at 1 and 2 ms; at 2 ms only 2 of 3 scans are there and the 2 ms are over.
    expect(value).toEqual([0, vtime(2 * MS)]);
  });

  it('POLL-8: a negative timeout with nothing that can become ready blocks forever', async () => {
    const { outcome } = await runOne(
      async (sys) => {
        const adc = await bufferFd(sys, await sys.open(ADC, O_RDWR));
        return sys.pollfds([{ fd: adc, events: POLLIN }], -1);
      },
      { platform: 'ideal', allowAbnormal: true },
    );
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('poll');
  });
});
