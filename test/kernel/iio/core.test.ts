/**
 * The IIO char device `/dev/iio:deviceN` (rulebook §4): open and release (CDEV-1..5), its ioctls
 * (CIOC-1..4), IIO_BUFFER_GET_FD_IOCTL (GETFD-1..7) and the legacy read/write/poll on buffer 0 (LEG-1..5).
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import type { IioDev } from '../../../src/kernel/iio/device.ts';
import { IioBuffer } from '../../../src/kernel/iio/device.ts';
import { type IioChanSpec, INDIO_BUFFER_SOFTWARE, INDIO_DIRECT_MODE } from '../../../src/kernel/iio/types.ts';
import {
  IIO_BUFFER_DMABUF_ALLOC_IOCTL as V2_ALLOC,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL as V2_ENQUEUE,
} from '../../../src/uapi/iio-v2.ts';
import {
  DEFAULT_POLLMASK,
  EAGAIN,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  EMFILE,
  ENODEV,
  ENOENT,
  EPERM,
  F_GETFD,
  F_GETFL,
  FD_CLOEXEC,
  FIONBIO,
  FIONREAD,
  IIO_BUFFER_DIRECTION_IN,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  O_LARGEFILE,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  POLLIN,
  POLLOUT,
  POLLRDNORM,
  POLLWRNORM,
  PROT_READ,
  SEEK_SET,
} from '../../../src/uapi/index.ts';
import { openBuffer, readAttr, writeAttr } from '../../../src/user/iio.ts';
import { extraDevice, removeDevice, runOne, simOnly, testSimulator } from '../../helpers.ts';

const ADC = '/sys/bus/iio/devices/iio:device0';
const DAC = '/sys/bus/iio/devices/iio:device1';
const DUMMY = '/sys/bus/iio/devices/iio:device2';
const DEV_ADC = '/dev/iio:device0';
const DEV_DAC = '/dev/iio:device1';
const DEV_DUMMY = '/dev/iio:device2';

/** IIO_BUFFER_GET_FD_IOCTL of buffer `index`: [ioctl result, int at arg afterwards]. */
async function getFd(sys: Sys, chardev: number, index: number): Promise<[number, number]> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, index);
  const ret = await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, arg);
  return [ret, sys.mem.readInt(arg)];
}

/** IIO_GET_EVENT_FD_IOCTL: [ioctl result, int at arg afterwards (-1 before)]. */
async function getEventFd(sys: Sys, chardev: number): Promise<[number, number]> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, -1);
  const ret = await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, arg);
  return [ret, sys.mem.readInt(arg)];
}

/** One read of `n` bytes: the count or the errno. */
async function readN(sys: Sys, fd: number, n: number): Promise<number> {
  return sys.read(fd, sys.mem.alloc(Math.max(1, n)), n);
}

/** One write of `n` zero bytes: the count or the errno. */
async function writeN(sys: Sys, fd: number, n: number): Promise<number> {
  return sys.write(fd, sys.mem.alloc(Math.max(1, n)), n);
}

/** poll() on one fd: [return value, revents]. */
async function poll1(sys: Sys, fd: number, events: number, timeoutMs: number): Promise<[number, number]> {
  const e = [{ fd, events }] as { fd: number; events: number; revents?: number }[];
  const r = await sys.pollfds(e, timeoutMs);
  return [r, e[0]!.revents ?? -1];
}

/** Enables in_voltage0 of sim-dummy's buffer. */
async function enableDummy(sys: Sys): Promise<number[]> {
  return [
    await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '1'),
    await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1'),
  ];
}

const CH0: IioChanSpec = {
  type: 'voltage',
  channel: 0,
  modifier: null,
  output: false,
  scanIndex: 0,
  scanType: { sign: 'u', realbits: 16, storagebits: 16, shift: 0, endianness: 'le' },
  hwChannel: 0,
};

/**
 * Registers the next iio:deviceN with `buffers` fake IN buffers (data_available 5 scans, reads 0, no
 * write) and optionally an event interface.
 */
function addDevice(sim: Simulator, buffers: number, events: boolean): IioDev {
  return sim.kernel.iio.register(
    {
      name: 'sim-test',
      channels: [CH0],
      modes: INDIO_DIRECT_MODE | INDIO_BUFFER_SOFTWARE,
      info: { sharedAttrs: [], readRaw: () => -EINVAL },
      events,
    },
    (d) => {
      for (let i = 0; i < buffers; i++)
        d.attachBuffer(
          new IioBuffer(
            d,
            i,
            IIO_BUFFER_DIRECTION_IN,
            { modes: INDIO_BUFFER_SOFTWARE, fixedWatermark: false, dataAvailable: () => 5, read: () => 0 },
            2,
            1,
          ),
        );
    },
  );
}

describe('CDEV-1/2: which devices have a char device, and its file operations', () => {
  it('CDEV-1: a device with neither buffers nor events has no /dev node (-ENOENT), only sysfs', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const dev = extraDevice(
          () => addDevice(sim, 0, false),
          (sysfsDir, devName) => ({ sysfsDir, devName }),
        );
        return [
          await sys.open(`/dev/${dev.devName}`, O_RDWR),
          await sys.open(`/dev/${dev.devName}`, O_RDONLY),
          await readAttr(sys, `${dev.sysfsDir}/name`),
          await readAttr(sys, `${dev.sysfsDir}/in_voltage0_raw`),
        ];
      },
      { realExtra: ['nobuf'] },
    );
    expect(value).toEqual([-ENOENT, -ENOENT, 'sim-test\n', -ENOENT]);
  });

  it.each([DEV_ADC, DEV_DAC, DEV_DUMMY])('CDEV-2: %s exists: open gives fd 0', async (path) => {
    const { value } = await runOne(async (sys) => sys.open(path, O_RDWR));
    expect(value).toBe(0);
  });

  it('CDEV-2: the buffered chardev has a no-op llseek (0) and no mmap (-ENODEV)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(DEV_ADC, O_RDWR);
      return [
        await sys.lseek(fd, 100, SEEK_SET),
        await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0),
        await readN(sys, fd, 64),
      ];
    });
    expect(value).toEqual([0, -ENODEV, 0]);
  });

  it('CDEV-2: an event-only chardev has ioctl and llseek only: read/write -EINVAL, poll default mask', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dev = addDevice(sim, 0, true);
      const fd = await sys.open(`/dev/${dev.devName}`, O_RDWR);
      return [
        fd,
        await readN(sys, fd, 64),
        await writeN(sys, fd, 4),
        await poll1(sys, fd, POLLIN | POLLOUT, 0),
        await sys.lseek(fd, 5, SEEK_SET),
        await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0),
        await getEventFd(sys, fd),
        await getFd(sys, fd, 0),
      ];
    });
    expect(value).toEqual([
      0,
      -EINVAL,
      -EINVAL,
      [1, (POLLIN | POLLOUT) & DEFAULT_POLLMASK],
      0,
      -ENODEV,
      [0, 1],
      [-ENODEV, 0],
    ]);
  });

  it('CDEV-2: compat (ILP32) processes reach the same ioctls (compat_ptr_ioctl)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const a = await sys.open(DEV_ADC, O_RDWR);
        const d = await sys.open(DEV_DUMMY, O_RDWR);
        return [a, d, await getFd(sys, a, 0), await getEventFd(sys, d), await sys.ioctl(a, 0x1234, 0)];
      },
      { spawn: { compat: true } },
    );
    expect(value).toEqual([0, 1, [0, 2], [0, 3], -ENODEV]);
  });
});

describe('CDEV-3..5: open and release', () => {
  it('CDEV-3: a second open in the same process is -EBUSY whatever the access mode; no fd is used', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(DEV_ADC, O_RDWR),
      await sys.open(DEV_ADC, O_RDWR),
      await sys.open(DEV_ADC, O_RDONLY),
      await sys.open(DEV_ADC, O_WRONLY | O_NONBLOCK),
      await sys.open(DEV_DAC, O_RDWR),
    ]);
    expect(value).toEqual([0, -EBUSY, -EBUSY, -EBUSY, 1]);
  });

  it('CDEV-3: while another process holds the chardev open, open is -EBUSY; after it exits, open works', async () => {
    const sim = testSimulator();
    sim.spawn(
      'holder',
      async (sys) => {
        const fd = await sys.open(DEV_ADC, O_RDWR);
        await sys.nanosleep(10_000_000);
        return fd;
      },
      { stdio: false },
    );
    sim.spawn(
      'other',
      async (sys) => {
        const busy = await sys.open(DEV_ADC, O_RDONLY);
        const otherDev = await sys.open(DEV_DUMMY, O_RDONLY);
        await sys.nanosleep(10_000_000);
        return [busy, otherDev, await sys.open(DEV_ADC, O_RDONLY)];
      },
      { startAt: 1_000_000, stdio: false },
    );
    const res = await sim.run();
    expect(res.processes.map((p) => p.value)).toEqual([0, [-EBUSY, 0, 1]]);
  });

  it('CDEV-3: a dup keeps the open file alive: open stays -EBUSY until the last dup is closed', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(DEV_DUMMY, O_RDWR);
      const dup = await sys.dup(fd);
      return [
        fd,
        dup,
        await sys.close(fd),
        await sys.open(DEV_DUMMY, O_RDWR),
        await sys.close(dup),
        await sys.open(DEV_DUMMY, O_RDWR),
      ];
    });
    expect(value).toEqual([0, 1, 0, -EBUSY, 0, 0]);
  });

  it.each([
    [O_RDONLY, O_RDONLY | O_LARGEFILE],
    [O_WRONLY, O_WRONLY | O_LARGEFILE],
    [O_RDWR, O_RDWR | O_LARGEFILE],
    [O_RDWR | O_NONBLOCK, O_RDWR | O_NONBLOCK | O_LARGEFILE],
    [O_RDONLY | O_NONBLOCK, O_RDONLY | O_NONBLOCK | O_LARGEFILE],
  ])('CDEV-4: open with flags %d is accepted (F_GETFL %d) and GET_FD works on it', async (flags, getfl) => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(DEV_ADC, flags);
      return [fd, await sys.fcntl(fd, F_GETFL), await getFd(sys, fd, 0)];
    });
    expect(value).toEqual([0, getfl, [0, 1]]);
  });

  it('CDEV-5: close returns 0 and the chardev can be opened again', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(DEV_ADC, O_RDWR);
      return [fd, await sys.close(fd), await sys.open(DEV_ADC, O_RDWR)];
    });
    expect(value).toEqual([0, 0, 0]);
  });

  it('CDEV-5: close leaves buffers enabled, buffer and event fds open, and the buffer busy bit set', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const en = await enableDummy(sys);
      const cd = await sys.open(DEV_DUMMY, O_RDWR);
      const [g, bfd] = await getFd(sys, cd, 0);
      const [ge, efd] = await getEventFd(sys, cd);
      const closed = await sys.close(cd);
      await sys.nanosleep(5_000_000);
      const pushed = sim.device('sim-dummy').iio.events!.push(7n, 9n);
      const cd2 = await sys.open(DEV_DUMMY, O_RDWR);
      return [
        ...en,
        cd,
        g,
        bfd,
        ge,
        efd,
        closed,
        await readAttr(sys, `${DUMMY}/buffer0/enable`),
        await sys.fcntl(bfd, F_GETFD),
        await readN(sys, bfd, 4096),
        pushed,
        await readN(sys, efd, 16),
        cd2,
        await getFd(sys, cd2, 0),
        await getEventFd(sys, cd2),
      ];
    });
    expect(value).toEqual([
      1,
      1,
      0,
      0,
      1,
      0,
      2,
      0,
      '1\n',
      FD_CLOEXEC,
      4,
      true,
      16,
      0,
      [-EBUSY, 0],
      [-EBUSY, -1],
    ]);
  });
});

describe('CIOC-1..4: chardev ioctls', () => {
  it('CIOC-1: after unregistration every chardev ioctl is -ENODEV, before the argument is read', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const a = await sys.open(DEV_ADC, O_RDWR);
      const d = await sys.open(DEV_DUMMY, O_RDWR);
      await removeDevice(sys, sim, 'sim-adc');
      await removeDevice(sys, sim, 'sim-dummy');
      return [
        await getFd(sys, a, 0),
        await sys.ioctl(a, IIO_BUFFER_GET_FD_IOCTL, 0),
        await getEventFd(sys, d),
        await getFd(sys, d, 0),
        await sys.ioctl(d, 0x1234, 0),
        await sys.close(a),
      ];
    });
    expect(value).toEqual([[-ENODEV, 0], -ENODEV, [-ENODEV, -1], [-ENODEV, 0], -ENODEV, 0]);
  });

  it('CIOC-1: buffer and event fds created before removal stay open (close is 0)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const d = await sys.open(DEV_DUMMY, O_RDWR);
      const [, bfd] = await getFd(sys, d, 0);
      const [, efd] = await getEventFd(sys, d);
      await removeDevice(sys, sim, 'sim-dummy');
      return [await sys.fcntl(bfd, F_GETFD), await sys.close(bfd), await sys.close(efd), await sys.close(d)];
    });
    expect(value).toEqual([FD_CLOEXEC, 0, 0, 0]);
  });

  it('CIOC-2: GET_FD on a device with buffers reaches GETFD (0, fd written back)', async () => {
    const { value } = await runOne(async (sys) => {
      const out: [number, number][] = [];
      for (const path of [DEV_ADC, DEV_DAC, DEV_DUMMY])
        out.push(await getFd(sys, await sys.open(path, O_RDWR), 0));
      return out;
    });
    expect(value).toEqual([
      [0, 1],
      [0, 3],
      [0, 5],
    ]);
  });

  it('CIOC-3: GET_EVENT_FD on sim-dummy, which has events, is 0 with the new fd written back; again after a close', async () => {
    const { value } = await runOne(async (sys) => {
      const d = await sys.open(DEV_DUMMY, O_RDWR);
      const first = await getEventFd(sys, d);
      expect(await sys.close(first[1])).toBe(0);
      return [first, await getEventFd(sys, d)];
    });
    expect(value).toEqual([
      [0, 1],
      [0, 1],
    ]);
  });

  it('CIOC-3: GET_EVENT_FD on a device with events reaches EVFD (0, fd written back)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const ev = addDevice(sim, 0, true);
      const d = await sys.open(DEV_DUMMY, O_RDWR);
      const e = await sys.open(`/dev/${ev.devName}`, O_RDWR);
      return [await getEventFd(sys, d), await getEventFd(sys, e)];
    });
    expect(value).toEqual([
      [0, 2],
      [0, 3],
    ]);
  });

  const unknown: [string, number][] = [
    ['0', 0],
    ['0x1234', 0x1234],
    ['FIONREAD', FIONREAD],
    ['mainline ATTACH', IIO_BUFFER_DMABUF_ATTACH_IOCTL],
    ['mainline DETACH', IIO_BUFFER_DMABUF_DETACH_IOCTL],
    ['mainline ENQUEUE', IIO_BUFFER_DMABUF_ENQUEUE_IOCTL],
    ['v2 ALLOC', V2_ALLOC],
    ['v2 ENQUEUE', V2_ENQUEUE],
    ['GET_FD with _IOR direction', 0x80046991],
    ['GET_EVENT_FD with _IOWR direction', 0xc0046990],
    ['GET_FD with size 8', 0xc0086991],
  ];

  for (const abi of ['mainline', 'v2'] as const)
    it.each(unknown)(`CIOC-4: %s on the ${abi} chardevs is -ENODEV`, async (_name, cmd) => {
      const { value } = await runOne(
        async (sys) => {
          const arg = sys.mem.alloc(16);
          const out: number[] = [];
          for (const path of [DEV_ADC, DEV_DAC, DEV_DUMMY]) {
            const fd = await sys.open(path, O_RDWR);
            out.push(await sys.ioctl(fd, cmd, arg));
          }
          return out;
        },
        { abi },
      );
      expect(value).toEqual([-ENODEV, -ENODEV, -ENODEV]);
    });

  it('CIOC-4: GET_EVENT_FD without events and GET_FD without buffers are -ENODEV', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const ev = addDevice(sim, 0, true);
      const a = await sys.open(DEV_ADC, O_RDWR);
      const dac = await sys.open(DEV_DAC, O_RDWR);
      const e = await sys.open(`/dev/${ev.devName}`, O_RDWR);
      return [await getEventFd(sys, a), await getEventFd(sys, dac), await getFd(sys, e, 0)];
    });
    expect(value).toEqual([
      [-ENODEV, -1],
      [-ENODEV, -1],
      [-ENODEV, 0],
    ]);
  });
});

describe('GETFD-1..7: IIO_BUFFER_GET_FD_IOCTL', () => {
  it('GETFD-1: an unreadable argument is -EFAULT and no fd is created', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(DEV_ADC, O_RDWR);
      return [
        await sys.ioctl(fd, IIO_BUFFER_GET_FD_IOCTL, 0),
        await sys.ioctl(fd, IIO_BUFFER_GET_FD_IOCTL, 16),
        await sys.open(`${ADC}/name`, O_RDONLY),
        await getFd(sys, fd, 0),
      ];
    });
    expect(value).toEqual([-EFAULT, -EFAULT, 1, [0, 2]]);
  });

  it.each([
    [DEV_ADC, 1],
    [DEV_ADC, 2],
    [DEV_ADC, -1],
    [DEV_ADC, 0x7fffffff],
    [DEV_ADC, -0x80000000],
    [DEV_DAC, 1],
    [DEV_DUMMY, 1],
    [DEV_DUMMY, -1],
  ])('GETFD-2: %s buffer index %d is -ENODEV (unsigned compare) and *arg is unchanged', async (path, idx) => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(path, O_RDWR);
      return [await getFd(sys, fd, idx), await getFd(sys, fd, 0)];
    });
    expect(value).toEqual([
      [-ENODEV, idx],
      [0, 1],
    ]);
  });

  it('GETFD-2: on a two-buffer device index 1 works and index 2 is -ENODEV', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dev = addDevice(sim, 2, false);
      const fd = await sys.open(`/dev/${dev.devName}`, O_RDWR);
      return [await getFd(sys, fd, 2), await getFd(sys, fd, 1), await getFd(sys, fd, 0)];
    });
    expect(value).toEqual([
      [-ENODEV, 2],
      [0, 1],
      [0, 2],
    ]);
  });

  it('GETFD-3: a second GET_FD of the same buffer is -EBUSY until the buffer fd is closed', async () => {
    const { value } = await runOne(async (sys) => {
      const cd = await sys.open(DEV_ADC, O_RDWR);
      const first = await getFd(sys, cd, 0);
      const second = await getFd(sys, cd, 0);
      const closed = await sys.close(first[1]);
      return [first, second, closed, await getFd(sys, cd, 0)];
    });
    expect(value).toEqual([[0, 1], [-EBUSY, 0], 0, [0, 1]]);
  });

  it('GETFD-3: a buffer fd held by another process makes GET_FD -EBUSY; after that process exits it works', async () => {
    const sim = testSimulator();
    sim.spawn(
      'holder',
      async (sys) => {
        const cd = await sys.open(DEV_DUMMY, O_RDWR);
        const got = await getFd(sys, cd, 0);
        const closed = await sys.close(cd);
        await sys.nanosleep(10_000_000);
        return [got, closed];
      },
      { stdio: false },
    );
    sim.spawn(
      'other',
      async (sys) => {
        const cd = await sys.open(DEV_DUMMY, O_RDWR);
        const busy = await getFd(sys, cd, 0);
        await sys.nanosleep(20_000_000);
        return [cd, busy, await getFd(sys, cd, 0)];
      },
      { startAt: 1_000_000, stdio: false },
    );
    const res = await sim.run();
    expect(res.processes.map((p) => p.value)).toEqual([
      [[0, 1], 0],
      [0, [-EBUSY, 0], [0, 1]],
    ]);
  });

  it('GETFD-4: no free fd is -EMFILE and the busy bit is cleared again', async () => {
    const { value } = await runOne(
      async (sys) => {
        const cd = await sys.open(DEV_ADC, O_RDWR);
        const other = await sys.open(`${ADC}/name`, O_RDONLY);
        const full = await getFd(sys, cd, 0);
        const closed = await sys.close(other);
        return [cd, other, full, closed, await getFd(sys, cd, 0)];
      },
      { spawn: { nofile: 2 } },
    );
    expect(value).toEqual([0, 1, [-EMFILE, 0], 0, [0, 1]]);
  });

  it('GETFD-5: a read-only argument page gives -EFAULT but the fd is installed and the buffer stays busy', async () => {
    const { value } = await runOne(async (sys) => {
      const cd = await sys.open(DEV_ADC, O_RDWR);
      const ro = await sys.mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const ret = await sys.ioctl(cd, IIO_BUFFER_GET_FD_IOCTL, ro);
      return [
        ret,
        sys.mem.readInt(ro),
        await sys.fcntl(1, F_GETFD),
        await sys.fcntl(1, F_GETFL),
        await getFd(sys, cd, 0),
        await sys.close(1),
        await getFd(sys, cd, 0),
      ];
    });
    expect(value).toEqual([-EFAULT, 0, FD_CLOEXEC, O_RDWR, [-EBUSY, 0], 0, [0, 1]]);
  });

  it('GETFD-6: success returns 0 and writes the lowest free fd back', async () => {
    const { value } = await runOne(async (sys) => {
      const name = await sys.open(`${ADC}/name`, O_RDONLY);
      const cd = await sys.open(DEV_ADC, O_RDWR);
      const closed = await sys.close(name);
      const a = await getFd(sys, cd, 0);
      const dcd = await sys.open(DEV_DUMMY, O_RDWR);
      return [name, cd, closed, a, dcd, await getFd(sys, dcd, 0)];
    });
    expect(value).toEqual([0, 1, 0, [0, 0], 2, [0, 3]]);
  });

  it('GETFD-7: the buffer fd is O_RDWR without O_LARGEFILE, close-on-exec, blocking even from a nonblocking chardev', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const cd = await sys.open(DEV_ADC, O_RDONLY | O_NONBLOCK);
      const [, fd] = await getFd(sys, cd, 0);
      return [
        await sys.fcntl(cd, F_GETFL),
        fd,
        await sys.fcntl(fd, F_GETFL),
        await sys.fcntl(fd, F_GETFD),
        sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.path,
      ];
    });
    expect(value).toEqual([
      O_RDONLY | O_NONBLOCK | O_LARGEFILE,
      1,
      O_RDWR,
      FD_CLOEXEC,
      'anon_inode:iio:buffer',
    ]);
  });

  it('GETFD-7: the buffer fd is independent of the chardev fd, which may be closed and reopened', async () => {
    const { value } = await runOne(async (sys) => {
      const cd = await sys.open(DEV_ADC, O_RDWR);
      const [, fd] = await getFd(sys, cd, 0);
      const closed = await sys.close(cd);
      const cd2 = await sys.open(DEV_ADC, O_RDWR);
      return [
        cd,
        fd,
        closed,
        await sys.fcntl(fd, F_GETFL),
        await readN(sys, fd, 4),
        cd2,
        await readN(sys, cd2, 4),
        await getFd(sys, cd2, 0),
      ];
    });
    // The reopened chardev still sees the live buffer fd (LEG-1 -EBUSY, GETFD-3 -EBUSY).
    expect(value).toEqual([0, 1, 0, O_RDWR, 0, 0, -EBUSY, [-EBUSY, 0]]);
  });
});

describe('LEG-1..5: legacy read/write/poll on the chardev', () => {
  it.each([
    [DEV_ADC, 'read'],
    [DEV_ADC, 'write'],
    [DEV_DAC, 'read'],
    [DEV_DAC, 'write'],
    [DEV_DUMMY, 'read'],
    [DEV_DUMMY, 'write'],
  ])('LEG-1: %s %s while buffer 0 has a live buffer fd is -EBUSY', async (path, op) => {
    const { value } = await runOne(async (sys) => {
      const cd = await sys.open(path, O_RDWR | O_NONBLOCK);
      const [, fd] = await getFd(sys, cd, 0);
      const r = op === 'read' ? await readN(sys, cd, 64) : await writeN(sys, cd, 64);
      return [fd, r];
    });
    expect(value).toEqual([1, -EBUSY]);
  });

  it('LEG-1: the busy check comes before the device-gone check', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const cd = await sys.open(DEV_ADC, O_RDWR);
      const [, fd] = await getFd(sys, cd, 0);
      await removeDevice(sys, sim, 'sim-adc');
      const busy = [await readN(sys, cd, 64), await writeN(sys, cd, 64)];
      const closed = await sys.close(fd);
      return [...busy, closed, await readN(sys, cd, 64), await writeN(sys, cd, 64)];
    });
    expect(value).toEqual([-EBUSY, -EBUSY, 0, -ENODEV, -ENODEV]);
  });

  it('LEG-1: closing the buffer fd makes the legacy read work again (0 = EOF while bpd is 0)', async () => {
    const { value } = await runOne(async (sys) => {
      const cd = await sys.open(DEV_ADC, O_RDWR);
      const [, fd] = await getFd(sys, cd, 0);
      const busy = await readN(sys, cd, 64);
      return [busy, await sys.close(fd), await readN(sys, cd, 64)];
    });
    expect(value).toEqual([-EBUSY, 0, 0]);
  });

  it('LEG-2: legacy read/write follow BREAD/BWRITE: EOF before any enable, -EPERM against the direction', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await sys.open(DEV_ADC, O_RDWR);
      const dac = await sys.open(DEV_DAC, O_RDWR);
      return [await readN(sys, adc, 64), await writeN(sys, adc, 64), await readN(sys, dac, 64)];
    });
    expect(value).toEqual([0, -EPERM, -EPERM]);
  });

  it('LEG-2: a nonblocking chardev read of an empty enabled kfifo is -EAGAIN, then gives whole scans', async () => {
    const { value } = await runOne(async (sys) => {
      const en = await enableDummy(sys);
      const cd = await sys.open(DEV_DUMMY, O_RDONLY | O_NONBLOCK);
      const empty = await readN(sys, cd, 4096);
      await sys.nanosleep(5_000_000);
      return [...en, empty, await readN(sys, cd, 4096), await readN(sys, cd, 4096)];
    });
    expect(value).toEqual([1, 1, -EAGAIN, 4, -EAGAIN]);
  });

  it('LEG-2: a blocking chardev read waits for the first scan (1 ms at 1 kHz) and returns it', async () => {
    const { value } = await runOne(
      async (sys) => {
        const chan = await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '1');
        // Timed from before the enable, which starts the trigger: the first scan is due 1 ms after it. The
        // program's own latency (enable, open: up to 0.4 ms of device time at timescale 100 on a loaded
        // host) only moves the read's start, which must still come before that scan for the read to wait.
        const tEnable = sys.now();
        const enabled = await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1');
        const cd = await sys.open(DEV_DUMMY, O_RDONLY);
        const t0 = sys.now();
        const n = await readN(sys, cd, 4096);
        const t1 = sys.now();
        return [chan, enabled, n, t0 - tEnable < 1_000_000, t1 - tEnable >= 1_000_000];
      },
      { realTimescale: 1000 },
    );
    expect(value).toEqual([1, 1, 2, true, true]);
  });

  it("LEG-2: the chardev's own O_NONBLOCK counts (set later with FIONBIO)", async () => {
    const { value } = await runOne(async (sys) => {
      const en = await enableDummy(sys);
      const cd = await sys.open(DEV_DUMMY, O_RDONLY);
      const arg = sys.mem.alloc(4);
      sys.mem.writeInt(arg, 1);
      return [...en, await sys.ioctl(cd, FIONBIO, arg), await readN(sys, cd, 4096)];
    });
    expect(value).toEqual([1, 1, 0, -EAGAIN]);
  });

  it('LEG-2: after removal without a buffer fd, legacy read and write are -ENODEV', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const cd = await sys.open(DEV_DUMMY, O_RDWR);
      await removeDevice(sys, sim, 'sim-dummy');
      return [await readN(sys, cd, 64), await writeN(sys, cd, 64)];
    });
    expect(value).toEqual([-ENODEV, -ENODEV]);
  });

  it('LEG-3: with a live buffer fd the chardev poll is 0 even though data is there (timeout 0 and 30 ms)', async () => {
    const { value } = await runOne(async (sys) => {
      const en = await enableDummy(sys);
      const cd = await sys.open(DEV_DUMMY, O_RDWR);
      const [, fd] = await getFd(sys, cd, 0);
      await sys.nanosleep(5_000_000);
      const viaFd = await poll1(sys, fd, POLLIN | POLLRDNORM, 0);
      const now = await poll1(sys, cd, POLLIN | POLLRDNORM | POLLOUT, 0);
      const t0 = sys.now();
      const later = await poll1(sys, cd, POLLIN | POLLRDNORM, 30);
      return [...en, viaFd, now, later, sys.now() - t0 >= 30_000_000];
    });
    expect(value).toEqual([1, 1, [1, POLLIN | POLLRDNORM], [0, 0], [0, 0], true]);
  });

  it('LEG-3: an infinite poll on the chardev alone never returns while the buffer fd is live', async () => {
    const { outcome } = await runOne(
      async (sys) => {
        await enableDummy(sys);
        await sys.nanosleep(5_000_000);
        await writeAttr(sys, `${DUMMY}/buffer0/enable`, '0');
        const cd = await sys.open(DEV_DUMMY, O_RDWR);
        const [, fd] = await getFd(sys, cd, 0);
        const ready = await poll1(sys, fd, POLLIN, 0);
        if (ready[0] !== 1) return ready;
        return poll1(sys, cd, POLLIN, -1);
      },
      { allowAbnormal: true },
    );
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('poll');
  });

  it('LEG-4: without a buffer fd the chardev poll is BPOLL on buffer 0', async () => {
    const { value } = await runOne(async (sys) => {
      const dummy = await sys.open(DEV_DUMMY, O_RDWR);
      const dac = await sys.open(DEV_DAC, O_RDWR);
      const adc = await sys.open(DEV_ADC, O_RDWR);
      const idle = [
        await poll1(sys, dummy, POLLIN | POLLRDNORM, 0),
        await poll1(sys, dac, POLLOUT | POLLWRNORM, 0),
        await poll1(sys, adc, POLLIN | POLLRDNORM, 0),
      ];
      await enableDummy(sys);
      await writeAttr(sys, `${DAC}/buffer0/out_voltage0_en`, '1');
      await writeAttr(sys, `${DAC}/buffer0/enable`, '1');
      const t0 = sys.now();
      const woken = await poll1(sys, dummy, POLLIN | POLLRDNORM | POLLOUT, -1);
      return [
        ...idle,
        woken,
        sys.now() - t0 >= 900_000,
        await poll1(sys, dac, POLLOUT | POLLWRNORM | POLLIN, 0),
      ];
    });
    expect([...value.slice(0, 4), value[5]]).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
      [1, POLLIN | POLLRDNORM],
      [1, POLLOUT | POLLWRNORM],
    ]);
    simOnly(
      "the first scan 1 ms after the enable (the real module's trigger runs at any phase of its period)",
      () => expect(value[4]).toBe(true),
    );
  });

  it('LEG-4: after removal the chardev poll is 0 (BPOLL-1)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      await enableDummy(sys);
      await sys.nanosleep(5_000_000);
      const cd = await sys.open(DEV_DUMMY, O_RDWR);
      const before = await poll1(sys, cd, POLLIN, 0);
      await removeDevice(sys, sim, 'sim-dummy');
      return [before, await poll1(sys, cd, POLLIN | POLLOUT, 0)];
    });
    expect(value).toEqual([
      [1, POLLIN],
      [0, 0],
    ]);
  });

  it('LEG-5: a live buffer fd of buffer 1 does not affect the legacy read/write/poll of buffer 0', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dev = addDevice(sim, 2, false);
      const cd = await sys.open(`/dev/${dev.devName}`, O_RDWR | O_NONBLOCK);
      const b1 = await getFd(sys, cd, 1);
      const withB1 = [await readN(sys, cd, 64), await writeN(sys, cd, 64), await poll1(sys, cd, POLLIN, 0)];
      const b0 = await getFd(sys, cd, 0);
      const withB0 = [await readN(sys, cd, 64), await writeN(sys, cd, 64), await poll1(sys, cd, POLLIN, 0)];
      return [b1, ...withB1, b0, ...withB0];
    });
    expect(value).toEqual([[0, 1], 0, -EINVAL, [1, POLLIN], [0, 2], -EBUSY, -EBUSY, [0, 0]]);
  });

  it('LEG-5: openBuffer() of buffer 1 on a one-buffer device fails and leaves the legacy path usable', async () => {
    const { value } = await runOne(async (sys) => {
      const r = await openBuffer(sys, 0, 1);
      const cd = await sys.open(DEV_ADC, O_RDWR);
      return [r, cd, await readN(sys, cd, 64), await sys.close(cd), await sys.close(cd)];
    });
    expect(value).toEqual([-ENODEV, 0, 0, 0, -EBADF]);
  });
});
