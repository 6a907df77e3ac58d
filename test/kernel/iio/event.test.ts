/**
 * The IIO event interface (rulebook §4: EVFD-1..7): IIO_GET_EVENT_FD_IOCTL on sim-dummy's chardev, and
 * the event fd's read, poll, write, ioctl and close. Events are pushed from the test as a driver's interrupt
 * handler would: `pushEvent()` (test/helpers.ts), `IioEventInterface.push()` on the simulator and the test
 * module's `push_event` parameter on the real kernel.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import {
  EAGAIN,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  EMFILE,
  ENODEV,
  ENOTTY,
  F_GETFD,
  F_GETFL,
  F_SETFL,
  FD_CLOEXEC,
  FIONREAD,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  iio_event_data,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POLLIN,
  POLLOUT,
  POLLRDNORM,
  PROT_READ,
} from '../../../src/uapi/index.ts';
import {
  pushEvent,
  pushEventAt,
  removeDevice,
  runOne,
  simExact,
  simState,
  testSimulator,
} from '../../helpers.ts';
import { waitFor } from './dmabuf-helpers.ts';

const DEV_DUMMY = '/dev/iio:device2';

/** An event id in the style of IIO_UNMOD_EVENT_CODE(IIO_VOLTAGE, n, IIO_EV_TYPE_THRESH, IIO_EV_DIR_RISING). */
function evId(n: number): bigint {
  return (0n << 56n) | (1n << 48n) | (0n << 32n) | BigInt(n);
}

/** Whether a push queued its event: the simulator tells, the real kernel does not. */
const queued = (b: boolean) => simState(b, 'whether iio_push_event() queued the event');

/** What `/proc/self/fd/<fd>` links to. */
async function fdLink(sys: Sys, fd: number): Promise<string | number> {
  const buf = sys.mem.alloc(256);
  const n = await sys.readlink(`/proc/self/fd/${fd}`, buf, 256);
  return n < 0 ? n : new TextDecoder().decode(sys.mem.read(buf, n));
}

/** sim-dummy's event queue. */
function events(sim: Simulator) {
  return sim.device('sim-dummy').iio.events!;
}

/** IIO_GET_EVENT_FD_IOCTL: [ioctl result, int at arg afterwards (-1 before)]. */
async function getEventFd(sys: Sys, chardev: number): Promise<[number, number]> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, -1);
  const ret = await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, arg);
  return [ret, sys.mem.readInt(arg)];
}

/** Opens sim-dummy's chardev and gets an event fd: [chardev, event fd]. */
async function openEvents(sys: Sys, flags = O_RDWR): Promise<[number, number]> {
  const cd = await sys.open(DEV_DUMMY, flags);
  const [ret, fd] = await getEventFd(sys, cd);
  return [cd, ret < 0 ? ret : fd];
}

/** One read of `n` bytes: the errno, or the records read as [id, timestamp] pairs. */
async function readEvents(sys: Sys, fd: number, n: number): Promise<number | [bigint, bigint][]> {
  const addr = sys.mem.alloc(Math.max(1, n));
  const r = await sys.read(fd, addr, n);
  if (r < 0) return r;
  const out: [bigint, bigint][] = [];
  for (let off = 0; off < r; off += 16) {
    const e = sys.mem.readStruct(addr + off, iio_event_data);
    out.push([e.id, e.timestamp]);
  }
  if (r % 16 !== 0) return -9999;
  return out;
}

/** poll() on one fd: [return value, revents]. */
async function poll1(sys: Sys, fd: number, events: number, timeoutMs: number): Promise<[number, number]> {
  const e = [{ fd, events }] as { fd: number; events: number; revents?: number }[];
  const r = await sys.pollfds(e, timeoutMs);
  return [r, e[0]!.revents ?? -1];
}

/** Virtual time a GET_EVENT_FD that does not wait takes (one ioctl). */
const GETFD_COST_NS = 1000;

describe('EVFD-1: the device mlock', () => {
  it('EVFD-1 (-EINTR unreachable in the simulator): GET_EVENT_FD waits for the mlock only while another task holds it, and nothing simulated holds it across a sleep (a reader asleep on the event fd holds none): the call answers at once, -EBUSY', async () => {
    const sim = testSimulator();
    const shared = { reading: false };
    sim.spawn(
      'reader',
      async (sys) => {
        const [cd, fd] = await openEvents(sys);
        // The chardev is single-open (CDEV-3): the getter opens it once this one is closed.
        expect(await sys.close(cd)).toBe(0);
        shared.reading = true;
        return readEvents(sys, fd, 16);
      },
      { stdio: false },
    );
    sim.spawn(
      'getter',
      async (sys) => {
        await waitFor(sys, () => shared.reading);
        const cd = await sys.open(DEV_DUMMY, O_RDWR);
        const t = sys.now();
        const busy = await getEventFd(sys, cd);
        const took = sys.now() - t;
        // Wakes the reader, which has slept since it got its event fd.
        await pushEvent(sys, sim, evId(1), 1n);
        return [busy, took];
      },
      { startAt: 1_000_000, stdio: false },
    );
    const res = await sim.run();
    expect(res.processes.map((p) => p.value)).toEqual([
      [[evId(1), 1n]],
      [[-EBUSY, -1], simExact(GETFD_COST_NS, (ns) => ns < 1_000_000_000, 'no wait in GET_EVENT_FD')],
    ]);
  });
});

describe('EVFD-2/3: IIO_GET_EVENT_FD_IOCTL', () => {
  it('EVFD-3: returns 0 and writes the lowest free fd back', async () => {
    const { value } = await runOne(async (sys) => openEvents(sys));
    expect(value).toEqual([0, 1]);
  });

  it('EVFD-3: the event fd is O_RDONLY (no O_LARGEFILE), close-on-exec and blocking, whatever the chardev had', async () => {
    const { value } = await runOne(async (sys) => {
      const [cd, fd] = await openEvents(sys, O_RDWR | O_NONBLOCK);
      return [cd, fd, await sys.fcntl(fd, F_GETFL), await sys.fcntl(fd, F_GETFD), await fdLink(sys, fd)];
    });
    expect(value).toEqual([0, 1, O_RDONLY, FD_CLOEXEC, 'anon_inode:iio:event']);
  });

  it('EVFD-2: a second GET_EVENT_FD while an event fd is live is -EBUSY and *arg is untouched', async () => {
    const { value } = await runOne(async (sys) => {
      const [cd, fd] = await openEvents(sys);
      return [fd, await getEventFd(sys, cd), await getEventFd(sys, cd)];
    });
    expect(value).toEqual([1, [-EBUSY, -1], [-EBUSY, -1]]);
  });

  it('EVFD-2: the event fd of another process makes GET_EVENT_FD -EBUSY', async () => {
    const sim = testSimulator();
    sim.spawn(
      'holder',
      async (sys) => {
        const [cd, fd] = await openEvents(sys);
        const closed = await sys.close(cd);
        await sys.nanosleep(10_000_000);
        return [fd, closed];
      },
      { stdio: false },
    );
    sim.spawn(
      'other',
      async (sys) => {
        const cd = await sys.open(DEV_DUMMY, O_RDWR);
        const busy = await getEventFd(sys, cd);
        await sys.nanosleep(20_000_000);
        return [cd, busy, await getEventFd(sys, cd)];
      },
      { startAt: 1_000_000, stdio: false },
    );
    const res = await sim.run();
    expect(res.processes.map((p) => p.value)).toEqual([
      [1, 0],
      [0, [-EBUSY, -1], [0, 1]],
    ]);
  });

  it('EVFD-3: events queued for a previous event fd are discarded by a new GET_EVENT_FD', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [cd, fd] = await openEvents(sys);
      const pushed = [await pushEvent(sys, sim, evId(1), 10n), await pushEvent(sys, sim, evId(2), 20n)];
      const closed = await sys.close(fd);
      const [ret, fd2] = await getEventFd(sys, cd);
      const nb = await sys.fcntl(fd2, F_SETFL, O_NONBLOCK);
      return [pushed, closed, ret, fd2, nb, await readEvents(sys, fd2, 64)];
    });
    expect(value).toEqual([[queued(true), queued(true)], 0, 0, 1, 0, -EAGAIN]);
  });

  it('EVFD-3: no free fd is -EMFILE and the busy bit is cleared again', async () => {
    const { value } = await runOne(
      async (sys) => {
        const cd = await sys.open(DEV_DUMMY, O_RDWR);
        const other = await sys.open('/sys/bus/iio/devices/iio:device2/name', O_RDONLY);
        const full = await getEventFd(sys, cd);
        const closed = await sys.close(other);
        return [cd, other, full, closed, await getEventFd(sys, cd)];
      },
      { spawn: { nofile: 2 } },
    );
    expect(value).toEqual([0, 1, [-EMFILE, -1], 0, [0, 1]]);
  });

  it('EVFD-3: a write-back fault is -EFAULT with the fd left installed (and the interface busy)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const cd = await sys.open(DEV_DUMMY, O_RDWR);
      const ro = await sys.mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const ret = await sys.ioctl(cd, IIO_GET_EVENT_FD_IOCTL, ro);
      const pushed = await pushEvent(sys, sim, evId(5), 50n);
      return [
        ret,
        sys.mem.readInt(ro),
        await sys.fcntl(1, F_GETFD),
        await sys.fcntl(1, F_GETFL),
        await getEventFd(sys, cd),
        pushed,
        await readEvents(sys, 1, 16),
        await sys.close(1),
        await getEventFd(sys, cd),
      ];
    });
    expect(value).toEqual([
      -EFAULT,
      0,
      FD_CLOEXEC,
      O_RDONLY,
      [-EBUSY, -1],
      queued(true),
      [[evId(5), 50n]],
      0,
      [0, 1],
    ]);
  });

  it('EVFD-3: the event fd survives closing the chardev', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [cd, fd] = await openEvents(sys);
      const closed = await sys.close(cd);
      const pushed = await pushEvent(sys, sim, evId(3), 30n);
      return [closed, pushed, await readEvents(sys, fd, 16)];
    });
    expect(value).toEqual([0, queued(true), [[evId(3), 30n]]]);
  });
});

describe('EVFD-4: event fd read', () => {
  it('EVFD-4: records come out whole, in order, as many as fit in n', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      for (let i = 1; i <= 3; i++) await pushEvent(sys, sim, evId(i), BigInt(i) * 1000n - 5000n);
      return [await readEvents(sys, fd, 40), await readEvents(sys, fd, 16)];
    });
    expect(value).toEqual([
      [
        [evId(1), -4000n],
        [evId(2), -3000n],
      ],
      [[evId(3), -2000n]],
    ]);
  });

  it('EVFD-4: the full 64-bit id and a negative timestamp survive the copy', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      await pushEvent(sys, sim, 0xffffffffffffffffn, -(2n ** 63n));
      return readEvents(sys, fd, 4096);
    });
    expect(value).toEqual([[0xffffffffffffffffn, -(2n ** 63n)]]);
  });

  it.each([0, 1, 8, 15])(
    'EVFD-4: n = %d (< 16) is -EINVAL even with an event queued, which stays queued',
    async (n) => {
      const { value } = await runOne(async (sys, sim) => {
        const [, fd] = await openEvents(sys);
        await pushEvent(sys, sim, evId(9), 90n);
        return [await readEvents(sys, fd, n), await readEvents(sys, fd, 16)];
      });
      expect(value).toEqual([-EINVAL, [[evId(9), 90n]]]);
    },
  );

  it('EVFD-4: an empty queue with O_NONBLOCK is -EAGAIN', async () => {
    const { value } = await runOne(async (sys) => {
      const [, fd] = await openEvents(sys);
      return [await sys.fcntl(fd, F_SETFL, O_NONBLOCK), await readEvents(sys, fd, 16)];
    });
    expect(value).toEqual([0, -EAGAIN]);
  });

  it('EVFD-4: an empty queue without O_NONBLOCK sleeps until an event is pushed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      const t0 = sys.now();
      pushEventAt(sim, t0 + 5_000_000, evId(4), 40n);
      const r = await readEvents(sys, fd, 64);
      return [r, sys.now() - t0 >= 5_000_000];
    });
    expect(value).toEqual([[[evId(4), 40n]], true]);
  });

  it('EVFD-4: an empty blocking read with nothing to come stays asleep', async () => {
    const { outcome } = await runOne(
      async (sys) => {
        const [, fd] = await openEvents(sys);
        return readEvents(sys, fd, 16);
      },
      { allowAbnormal: true },
    );
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('read');
  });

  it('EVFD-4: after removal reads are -ENODEV, checked before n (n = 8 too)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      await pushEvent(sys, sim, evId(1), 1n);
      await removeDevice(sys, sim, 'sim-dummy');
      return [await readEvents(sys, fd, 16), await readEvents(sys, fd, 8), await sys.close(fd)];
    });
    expect(value).toEqual([-ENODEV, -ENODEV, 0]);
  });

  it('EVFD-4: a reader asleep on an empty queue wakes with -ENODEV when the device is removed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      sim.at(sys.now() + 3_000_000, 'unbind', () => sim.removeDevice('sim-dummy'));
      return readEvents(sys, fd, 16);
    });
    expect(value).toBe(-ENODEV);
  });
});

describe('EVFD-5: event fd poll', () => {
  it('EVFD-5: empty → 0; with an event queued → EPOLLIN|EPOLLRDNORM (masked by the request)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      const empty = await poll1(sys, fd, POLLIN | POLLRDNORM | POLLOUT, 0);
      await pushEvent(sys, sim, evId(1), 1n);
      return [
        empty,
        await poll1(sys, fd, POLLIN | POLLRDNORM | POLLOUT, 0),
        await poll1(sys, fd, POLLIN, 0),
        await poll1(sys, fd, POLLOUT, 0),
      ];
    });
    expect(value).toEqual([
      [0, 0],
      [1, POLLIN | POLLRDNORM],
      [1, POLLIN],
      [0, 0],
    ]);
  });

  it('EVFD-5: with no event queued poll is 0 whatever is asked, and a timed poll runs out', async () => {
    const { value } = await runOne(async (sys) => {
      const [, fd] = await openEvents(sys);
      return [
        await poll1(sys, fd, POLLIN | POLLRDNORM | POLLOUT, 0),
        await poll1(sys, fd, POLLIN, 0),
        await poll1(sys, fd, POLLIN, 5),
      ];
    });
    expect(value).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it('EVFD-5: a poll waiting on an empty queue is woken by the next event', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      const t0 = sys.now();
      pushEventAt(sim, t0 + 2_000_000, evId(2), 2n);
      const r = await poll1(sys, fd, POLLIN, -1);
      return [r, sys.now() - t0 >= 2_000_000];
    });
    expect(value).toEqual([[1, POLLIN], true]);
  });

  it('EVFD-5: once the queue is read empty, poll is 0 again', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      await pushEvent(sys, sim, evId(1), 1n);
      const r = await readEvents(sys, fd, 16);
      return [r, await poll1(sys, fd, POLLIN, 0)];
    });
    expect(value).toEqual([[[evId(1), 1n]], [0, 0]]);
  });
});

describe('EVFD-6: event fd write, ioctl, close', () => {
  it('EVFD-6: write is -EBADF (read-only fd)', async () => {
    const { value } = await runOne(async (sys) => {
      const [, fd] = await openEvents(sys);
      return sys.write(fd, sys.mem.alloc(16), 16);
    });
    expect(value).toBe(-EBADF);
  });

  it.each([
    ['0x1234', 0x1234],
    ['IIO_GET_EVENT_FD_IOCTL', IIO_GET_EVENT_FD_IOCTL],
    ['IIO_BUFFER_GET_FD_IOCTL', IIO_BUFFER_GET_FD_IOCTL],
    ['FIONREAD', FIONREAD],
  ])('EVFD-6: ioctl %s on the event fd is -ENOTTY', async (_name, cmd) => {
    const { value } = await runOne(async (sys) => {
      const [, fd] = await openEvents(sys);
      return sys.ioctl(fd, cmd, sys.mem.alloc(16));
    });
    expect(value).toBe(-ENOTTY);
  });

  it('EVFD-6: close is 0 and clears the busy bit: GET_EVENT_FD works again with the same fd number', async () => {
    const { value } = await runOne(async (sys) => {
      const [cd, fd] = await openEvents(sys);
      return [fd, await sys.close(fd), await getEventFd(sys, cd)];
    });
    expect(value).toEqual([1, 0, [0, 1]]);
  });

  it('EVFD-6: a dup keeps the event fd live: GET_EVENT_FD stays -EBUSY until the last one is closed', async () => {
    const { value } = await runOne(async (sys) => {
      const [cd, fd] = await openEvents(sys);
      const dup = await sys.dup(fd);
      return [
        dup,
        await sys.close(fd),
        await getEventFd(sys, cd),
        await sys.close(dup),
        await getEventFd(sys, cd),
      ];
    });
    expect(value).toEqual([2, 0, [-EBUSY, -1], 0, [0, 1]]);
  });
});

describe('EVFD-7: the event queue', () => {
  it('EVFD-7: holds 16 events; a 17th push is dropped and the first 16 read back in order', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      const pushed: (boolean | undefined)[] = [];
      for (let i = 0; i < 17; i++) pushed.push(await pushEvent(sys, sim, evId(i), BigInt(i)));
      return [pushed, await readEvents(sys, fd, 16 * 20)];
    });
    const expected: [bigint, bigint][] = [];
    for (let i = 0; i < 16; i++) expected.push([evId(i), BigInt(i)]);
    expect(value).toEqual([[...Array(16).fill(queued(true)), queued(false)], expected]);
  });

  it('EVFD-7: reading frees room: after reading one record of a full queue, one more push fits', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const [, fd] = await openEvents(sys);
      for (let i = 0; i < 16; i++) await pushEvent(sys, sim, evId(i), 0n);
      const first = await readEvents(sys, fd, 16);
      const more = [await pushEvent(sys, sim, evId(100), 0n), await pushEvent(sys, sim, evId(101), 0n)];
      const rest = await readEvents(sys, fd, 4096);
      return [first, more, typeof rest === 'number' ? rest : rest.map(([id]) => id)];
    });
    expect(value).toEqual([
      [[evId(0), 0n]],
      [queued(true), queued(false)],
      [...Array.from({ length: 15 }, (_, i) => evId(i + 1)), evId(100)],
    ]);
  });

  it('EVFD-7: events are queued only while an event fd is live (before GET_EVENT_FD and after close they are dropped)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const before = await pushEvent(sys, sim, evId(1), 1n);
      const [cd, fd] = await openEvents(sys);
      const nb = await sys.fcntl(fd, F_SETFL, O_NONBLOCK);
      const empty = await readEvents(sys, fd, 16);
      const closed = await sys.close(fd);
      const after = await pushEvent(sys, sim, evId(2), 2n);
      const [, fd2] = await getEventFd(sys, cd);
      await sys.fcntl(fd2, F_SETFL, O_NONBLOCK);
      return [before, nb, empty, closed, after, await readEvents(sys, fd2, 16)];
    });
    expect(value).toEqual([queued(false), 0, -EAGAIN, 0, queued(false), -EAGAIN]);
  });

  it('EVFD-7: dropped pushes are counted', async () => {
    const { sim } = await runOne(async (sys, sim) => {
      events(sim).push(evId(0), 0n);
      await openEvents(sys);
      for (let i = 0; i < 18; i++) events(sim).push(evId(i), 0n);
      return 0;
    });
    expect(events(sim).dropped).toBe(3);
  });
});
