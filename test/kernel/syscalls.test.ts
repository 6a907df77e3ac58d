/**
 * Rules FD-1..12, RW-1..8, IOC-1..8, UACC-1..2 and COMPAT-5 of ../shared/reference/kernel-semantics.md §2:
 * the fd table, read/write/lseek at the VFS, the generic ioctls and user-memory access, through the syscalls a
 * program makes.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/index.ts';
import {
  EACCES,
  EAGAIN,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  EMFILE,
  ENODEV,
  ENOENT,
  ENOTDIR,
  ENOTTY,
  ESPIPE,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FASYNC,
  FD_CLOEXEC,
  FIOASYNC,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  FIONREAD,
  FIOQSIZE,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_LARGEFILE,
  O_NOATIME,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
} from '../../src/uapi/index.ts';
import { enableChannels, setBufferEnabled, writeAttr } from '../../src/user/iio.ts';
import { ascii, runOne, testSimulator } from '../helpers.ts';

const ADC = '/dev/iio:device0';
const DAC = '/dev/iio:device1';
const DUMMY = '/dev/iio:device2';
const ADC_NAME = '/sys/bus/iio/devices/iio:device0/name';
const ADC_ENABLE = '/sys/bus/iio/devices/iio:device0/buffer0/enable';
const DUMMY_SYSFS = '/sys/bus/iio/devices/iio:device2';
/** An address below every mapping: reading or writing it faults. */
const UNMAPPED = 0x1000;
/** TASK_SIZE of an LP64 process (47-bit user space less one page). */
const LP64_TASK_SIZE = 0x7ffffffff000;

/** IIO_BUFFER_GET_FD_IOCTL on `chardev` for buffer `index`: the ioctl's result and the fd written back. */
async function getBufferFd(sys: Sys, chardev: number, index = 0): Promise<{ ret: number; fd: number }> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, index);
  const ret = await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, arg);
  return { ret, fd: sys.mem.readInt(arg) };
}

/** IIO_GET_EVENT_FD_IOCTL on `chardev`: the ioctl's result and the fd written back. */
async function getEventFd(sys: Sys, chardev: number): Promise<{ ret: number; fd: number }> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, -1);
  const ret = await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, arg);
  return { ret, fd: sys.mem.readInt(arg) };
}

/** A C `int` holding `value` in the program's memory. */
function intArg(sys: Sys, value: number): number {
  const a = sys.mem.alloc(4);
  sys.mem.writeInt(a, value);
  return a;
}

/** Reads everything `read(fd)` gives in one call, as text, or the negative errno. */
async function readText(sys: Sys, fd: number, n: number): Promise<string | number> {
  const buf = sys.mem.alloc(Math.max(1, n));
  const r = await sys.read(fd, buf, n);
  return r < 0 ? r : new TextDecoder('latin1').decode(sys.mem.read(buf, r));
}

describe('FD-1: lowest free fd', () => {
  it('FD-1: open takes the lowest free fd, reusing a closed hole', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.open(ADC_NAME, O_RDONLY);
      const b = await sys.open(ADC_NAME, O_RDONLY);
      const c = await sys.open(ADC_NAME, O_RDONLY);
      const closed = await sys.close(b);
      const d = await sys.open(ADC_NAME, O_RDONLY);
      const e = await sys.open(ADC_NAME, O_RDONLY);
      return [a, b, c, closed, d, e];
    });
    expect(value).toEqual([0, 1, 2, 0, 1, 3]);
  });

  it('FD-1: dup takes the lowest free fd', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.open(ADC_NAME, O_RDONLY);
      await sys.open(ADC_NAME, O_RDONLY);
      await sys.open(ADC_NAME, O_RDONLY);
      await sys.close(1);
      const d1 = await sys.dup(2);
      const d2 = await sys.dup(a);
      return [d1, d2];
    });
    expect(value).toEqual([1, 3]);
  });

  it('FD-1: F_DUPFD and F_DUPFD_CLOEXEC take the lowest free fd >= arg', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const a = await sys.fcntl(fd, F_DUPFD, 5);
      const b = await sys.fcntl(fd, F_DUPFD, 5);
      const c = await sys.fcntl(fd, F_DUPFD_CLOEXEC, 5);
      const d = await sys.fcntl(fd, F_DUPFD, 0);
      const e = await sys.fcntl(fd, F_DUPFD, 1);
      await sys.close(6);
      const f = await sys.fcntl(fd, F_DUPFD, 3);
      return [fd, a, b, c, d, e, f];
    });
    expect(value).toEqual([0, 5, 6, 7, 1, 2, 3]);
  });

  it('FD-1: IIO_BUFFER_GET_FD_IOCTL and IIO_GET_EVENT_FD_IOCTL install at the lowest free fd', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const s1 = await sys.open(ADC_NAME, O_RDONLY);
      await sys.open(ADC_NAME, O_RDONLY);
      await sys.close(s1);
      const buffer = await getBufferFd(sys, chardev);
      const event = await getEventFd(sys, chardev);
      return [chardev, buffer, event];
    });
    expect(value).toEqual([0, { ret: 0, fd: 1 }, { ret: 0, fd: 3 }]);
  });
});

describe('FD-2: RLIMIT_NOFILE', () => {
  it('FD-2: open with every fd below the limit taken is -EMFILE', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fds: number[] = [];
        for (let i = 0; i < 5; i++) fds.push(await sys.open(ADC_NAME, O_RDONLY));
        const sixth = await sys.open(ADC_NAME, O_RDONLY);
        await sys.close(2);
        const again = await sys.open(ADC_NAME, O_RDONLY);
        return { fds, sixth, again };
      },
      { spawn: { nofile: 5 } },
    );
    expect(value).toEqual({ fds: [0, 1, 2, 3, 4], sixth: -EMFILE, again: 2 });
  });

  it('FD-2: dup and F_DUPFD with no free fd are -EMFILE', async () => {
    const { value } = await runOne(
      async (sys) => {
        for (let i = 0; i < 5; i++) await sys.open(ADC_NAME, O_RDONLY);
        return [await sys.dup(0), await sys.fcntl(0, F_DUPFD, 0), await sys.fcntl(0, F_DUPFD_CLOEXEC, 3)];
      },
      { spawn: { nofile: 5 } },
    );
    expect(value).toEqual([-EMFILE, -EMFILE, -EMFILE]);
  });

  it('FD-2: the simulator-wide nofile option sets the limit too', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fds: number[] = [];
        for (let i = 0; i < 4; i++) fds.push(await sys.open(ADC_NAME, O_RDONLY));
        return fds;
      },
      { nofile: 3 },
    );
    expect(value).toEqual([0, 1, 2, -EMFILE]);
  });

  it('FD-2: the fd is reserved before the path lookup: a full table gives -EMFILE even for a missing path', async () => {
    const { value } = await runOne(
      async (sys) => {
        for (let i = 0; i < 3; i++) await sys.open(ADC_NAME, O_RDONLY);
        return [await sys.open('/dev/no-such-device', O_RDONLY), await sys.open(ADC, O_RDWR)];
      },
      { spawn: { nofile: 3 } },
    );
    expect(value).toEqual([-EMFILE, -EMFILE]);
  });

  it('open() path lookup: a path through a file (name/x, name/, name/., name/..) is -ENOTDIR, a missing directory -ENOENT', async () => {
    const { value } = await runOne(async (sys) => {
      const out: number[] = [];
      for (const p of [
        `${ADC_NAME}/x`,
        `${ADC_NAME}/`,
        `${ADC_NAME}/.`,
        `${ADC_NAME}/..`,
        '/dev/null/',
        `${ADC}/x`,
      ])
        out.push(await sys.open(p, O_RDONLY));
      out.push(
        await sys.open('/no-such-dir/x', O_RDONLY),
        await sys.open(`${ADC_NAME}/x`, O_RDONLY | O_CREAT),
      );
      const ok = await sys.open('/sys/bus/iio/devices/iio:device0/./name', O_RDONLY);
      return [...out, ok >= 0];
    });
    expect(value).toEqual([
      -ENOTDIR,
      -ENOTDIR,
      -ENOTDIR,
      -ENOTDIR,
      -ENOTDIR,
      -ENOTDIR,
      -ENOENT,
      -ENOTDIR,
      true,
    ]);
  });

  it('FD-2: a failed open does not hold the chardev (busy bit clear afterwards)', async () => {
    const { value } = await runOne(
      async (sys) => {
        for (let i = 0; i < 2; i++) await sys.open(ADC_NAME, O_RDONLY);
        const full = await sys.open(ADC, O_RDWR);
        await sys.close(1);
        const ok = await sys.open(ADC, O_RDWR);
        return [full, ok];
      },
      { spawn: { nofile: 2 } },
    );
    expect(value).toEqual([-EMFILE, 1]);
  });

  it('FD-2: GET_FD and GET_EVENT_FD with no free fd are -EMFILE and leave the buffer/event interface free', async () => {
    const { value } = await runOne(
      async (sys) => {
        const chardev = await sys.open(DUMMY, O_RDWR);
        const filler = await sys.open(ADC_NAME, O_RDONLY);
        const arg = sys.mem.alloc(4);
        sys.mem.writeInt(arg, 0);
        const bufFull = await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, arg);
        const evFull = await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, arg);
        await sys.close(filler);
        const buffer = await getBufferFd(sys, chardev);
        await sys.close(buffer.fd);
        const event = await getEventFd(sys, chardev);
        return { bufFull, evFull, buffer, event };
      },
      { spawn: { nofile: 2 } },
    );
    expect(value).toEqual({
      bufFull: -EMFILE,
      evFull: -EMFILE,
      buffer: { ret: 0, fd: 1 },
      event: { ret: 0, fd: 1 },
    });
  });
});

describe('FD-3, FD-4: close', () => {
  it('FD-3: close of an fd that is not open is -EBADF', async () => {
    const { value } = await runOne(async (sys) => {
      const never = await sys.close(0);
      const negative = await sys.close(-1);
      const huge = await sys.close(1 << 20);
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const first = await sys.close(fd);
      const second = await sys.close(fd);
      return [never, negative, huge, first, second];
    });
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, 0, -EBADF]);
  });

  it('FD-4: the chardev release runs at the last close only (CDEV-3 busy bit)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      const copy = await sys.dup(fd);
      const closeFirst = await sys.close(fd);
      const whileDupOpen = await sys.open(ADC, O_RDWR);
      const closeLast = await sys.close(copy);
      const afterLast = await sys.open(ADC, O_RDWR);
      return [fd, copy, closeFirst, whileDupOpen, closeLast, afterLast];
    });
    expect(value).toEqual([0, 1, 0, -EBUSY, 0, 0]);
  });

  it('FD-4: the buffer fd release runs at the last close only (GETFD-3 busy bit)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const copy = await sys.fcntl(b.fd, F_DUPFD, 0);
      await sys.close(b.fd);
      const whileDupOpen = (await getBufferFd(sys, chardev)).ret;
      await sys.close(copy);
      const afterLast = await getBufferFd(sys, chardev);
      return { b, copy, whileDupOpen, afterLast };
    });
    expect(value).toEqual({
      b: { ret: 0, fd: 1 },
      copy: 2,
      whileDupOpen: -EBUSY,
      afterLast: { ret: 0, fd: 1 },
    });
  });
});

describe('FD-5..9: dup, dup2, dup3, close-on-exec', () => {
  it('FD-5: dup of an fd that is not open is -EBADF', async () => {
    const { value } = await runOne(async (sys) => [await sys.dup(0), await sys.dup(-1), await sys.dup(77)]);
    expect(value).toEqual([-EBADF, -EBADF, -EBADF]);
  });

  it('FD-5: the dup shares the status flags (O_NONBLOCK) and the file offset', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const copy = await sys.dup(fd);
      const setfl = await sys.fcntl(fd, F_SETFL, O_NONBLOCK);
      const dupFlags = await sys.fcntl(copy, F_GETFL);
      const head = await readText(sys, fd, 3);
      const tail = await readText(sys, copy, 100);
      return { setfl, dupFlags, head, tail };
    });
    expect(value).toEqual({
      setfl: 0,
      dupFlags: O_RDONLY | O_NONBLOCK | O_LARGEFILE,
      head: 'sim',
      tail: '-adc\n',
    });
  });

  it('FD-5: FD_CLOEXEC is clear on the new fd', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY | O_CLOEXEC);
      const copy = await sys.dup(fd);
      return [await sys.fcntl(fd, F_GETFD), await sys.fcntl(copy, F_GETFD)];
    });
    expect(value).toEqual([FD_CLOEXEC, 0]);
  });

  it('FD-6: dup2(fd, fd) returns fd when open, -EBADF otherwise, and leaves FD_CLOEXEC alone', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY | O_CLOEXEC);
      const same = await sys.dup2(fd, fd);
      const cloexec = await sys.fcntl(fd, F_GETFD);
      const notOpen = await sys.dup2(5, 5);
      const negative = await sys.dup2(-1, -1);
      return [same, cloexec, notOpen, negative];
    });
    expect(value).toEqual([0, FD_CLOEXEC, -EBADF, -EBADF]);
  });

  it('FD-7: dup2(old, new) installs at new with FD_CLOEXEC clear, like dup3(old, new, 0)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const other = await sys.open(ADC_NAME, O_RDONLY | O_CLOEXEC);
      const over = await sys.dup2(fd, other);
      const overCloexec = await sys.fcntl(other, F_GETFD);
      const high = await sys.dup2(fd, 9);
      const highFlags = await sys.fcntl(9, F_GETFL);
      const next = await sys.open(ADC_NAME, O_RDONLY);
      return [over, overCloexec, high, highFlags, next];
    });
    expect(value).toEqual([1, 0, 9, O_RDONLY | O_LARGEFILE, 2]);
  });

  it('FD-7: dup2 with new >= RLIMIT_NOFILE or a closed old fd is -EBADF', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sys.open(ADC_NAME, O_RDONLY);
        return [await sys.dup2(fd, 8), await sys.dup2(fd, -1), await sys.dup2(3, 4), await sys.dup2(fd, 7)];
      },
      { spawn: { nofile: 8 } },
    );
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, 7]);
  });

  it('FD-7: dup2 over an open chardev fd closes it silently (its release runs)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      const r = await sys.dup2(attr, chardev);
      const reopen = await sys.open(ADC, O_RDWR);
      const flags = await sys.fcntl(chardev, F_GETFL);
      return [r, reopen, flags];
    });
    expect(value).toEqual([0, 2, O_RDONLY | O_LARGEFILE]);
  });

  it('FD-8: dup3 rejects flags other than O_CLOEXEC with -EINVAL, before any fd check', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      return [
        await sys.dup3(fd, 4, O_NONBLOCK),
        await sys.dup3(fd, 4, O_CLOEXEC | O_RDWR),
        await sys.dup3(9, 9, O_NONBLOCK),
        await sys.dup3(9, 1 << 20, 1),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('FD-8: dup3(fd, fd) is -EINVAL, open or not', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      return [await sys.dup3(fd, fd, 0), await sys.dup3(6, 6, O_CLOEXEC), await sys.dup3(-1, -1, 0)];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('FD-8: dup3 with new >= RLIMIT_NOFILE or old not open is -EBADF', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sys.open(ADC_NAME, O_RDONLY);
        return [
          await sys.dup3(fd, 6, 0),
          await sys.dup3(fd, 1000, O_CLOEXEC),
          await sys.dup3(fd, -1, 0),
          await sys.dup3(3, 4, 0),
          await sys.dup3(-5, 4, 0),
          await sys.dup3(3, 6, 0),
        ];
      },
      { spawn: { nofile: 6 } },
    );
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, -EBADF, -EBADF, -EBADF]);
  });

  it('FD-8: dup3 installs at new, sets FD_CLOEXEC from O_CLOEXEC and returns new', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const a = await sys.dup3(fd, 5, O_CLOEXEC);
      const b = await sys.dup3(fd, 6, 0);
      await sys.fcntl(b, F_SETFD, FD_CLOEXEC);
      const c = await sys.dup3(fd, 6, 0);
      return [a, await sys.fcntl(5, F_GETFD), c, await sys.fcntl(6, F_GETFD), await sys.fcntl(fd, F_GETFD)];
    });
    expect(value).toEqual([5, FD_CLOEXEC, 6, 0, 0]);
  });

  it('FD-8: dup3 over an open chardev and buffer fd closes them silently (both releases run)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      const r1 = await sys.dup3(attr, b.fd, O_CLOEXEC);
      const r2 = await sys.dup3(attr, chardev, 0);
      const reopen = await sys.open(ADC, O_RDWR);
      const again = await getBufferFd(sys, reopen);
      return { b, r1, r2, reopen, again };
    });
    expect(value).toEqual({ b: { ret: 0, fd: 1 }, r1: 1, r2: 0, reopen: 3, again: { ret: 0, fd: 4 } });
  });

  it('FD-9: O_CLOEXEC at open, F_SETFD, FIOCLEX and FIONCLEX drive the per-fd flag read by F_GETFD', async () => {
    const { value } = await runOne(async (sys) => {
      const out: number[] = [];
      const a = await sys.open(ADC_NAME, O_RDONLY | O_CLOEXEC);
      const b = await sys.open(ADC_NAME, O_RDONLY);
      out.push(await sys.fcntl(a, F_GETFD), await sys.fcntl(b, F_GETFD));
      out.push(await sys.fcntl(b, F_SETFD, FD_CLOEXEC), await sys.fcntl(b, F_GETFD));
      out.push(await sys.fcntl(b, F_SETFD, 0xfe), await sys.fcntl(b, F_GETFD));
      out.push(await sys.fcntl(b, F_SETFD, 0xff), await sys.fcntl(b, F_GETFD));
      out.push(await sys.ioctl(a, FIONCLEX, 0), await sys.fcntl(a, F_GETFD));
      out.push(await sys.ioctl(a, FIOCLEX, 0), await sys.fcntl(a, F_GETFD));
      return out;
    });
    expect(value).toEqual([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('FD-9: the close-on-exec flag is per fd, not shared by dups of one open file', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const copy = await sys.dup(fd);
      await sys.ioctl(fd, FIOCLEX, 0);
      const viaDupCloexec = await sys.fcntl(fd, F_DUPFD_CLOEXEC, 0);
      await sys.fcntl(copy, F_SETFD, FD_CLOEXEC);
      await sys.fcntl(fd, F_SETFD, 0);
      return [
        await sys.fcntl(fd, F_GETFD),
        await sys.fcntl(copy, F_GETFD),
        viaDupCloexec,
        await sys.fcntl(viaDupCloexec, F_GETFD),
      ];
    });
    expect(value).toEqual([0, 1, 2, 1]);
  });

  it('FD-9: buffer and event fds are created with FD_CLOEXEC set (GETFD-7, EVFD-3)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const e = await getEventFd(sys, chardev);
      return [
        await sys.fcntl(chardev, F_GETFD),
        await sys.fcntl(b.fd, F_GETFD),
        await sys.fcntl(e.fd, F_GETFD),
      ];
    });
    expect(value).toEqual([0, FD_CLOEXEC, FD_CLOEXEC]);
  });
  it('FD-9: fcntl on an fd that is not open is -EBADF', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.fcntl(0, F_GETFD),
      await sys.fcntl(3, F_SETFD, FD_CLOEXEC),
      await sys.fcntl(-1, F_GETFL),
      await sys.fcntl(5, F_SETFL, O_NONBLOCK),
      await sys.fcntl(5, F_DUPFD, 0),
    ]);
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, -EBADF, -EBADF]);
  });
});

describe('FD-10, COMPAT-5: F_GETFL', () => {
  it('FD-10: an LP64 open() adds O_LARGEFILE to the access mode and status flags', async () => {
    const { value } = await runOne(async (sys) => {
      const rw = await sys.open(ADC, O_RDWR | O_NONBLOCK);
      const ro = await sys.open(ADC_NAME, O_RDONLY);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY | O_APPEND);
      return [await sys.fcntl(rw, F_GETFL), await sys.fcntl(ro, F_GETFL), await sys.fcntl(wo, F_GETFL)];
    });
    expect(value).toEqual([
      O_RDWR | O_NONBLOCK | O_LARGEFILE,
      O_RDONLY | O_LARGEFILE,
      O_WRONLY | O_APPEND | O_LARGEFILE,
    ]);
  });

  it('FD-10: open-time-only flags (O_CLOEXEC, O_NOCTTY, O_TRUNC) do not show in F_GETFL', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR | O_CLOEXEC | O_NOCTTY | O_TRUNC);
      return [fd, await sys.fcntl(fd, F_GETFL)];
    });
    expect(value).toEqual([0, O_RDWR | O_LARGEFILE]);
  });

  it('FD-10: anon-inode fds never have O_LARGEFILE: buffer fd O_RDWR, event fd O_RDONLY', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDONLY | O_NONBLOCK);
      const b = await getBufferFd(sys, chardev);
      const e = await getEventFd(sys, chardev);
      return [await sys.fcntl(b.fd, F_GETFL), await sys.fcntl(e.fd, F_GETFL)];
    });
    expect(value).toEqual([O_RDWR, O_RDONLY]);
  });

  it('FD-10/COMPAT-5: an ILP32 open() does not add O_LARGEFILE', async () => {
    const { value } = await runOne(
      async (sys) => {
        const rw = await sys.open(ADC, O_RDWR | O_NONBLOCK);
        const ro = await sys.open(ADC_NAME, O_RDONLY);
        const b = await getBufferFd(sys, rw);
        return [
          sys.compat,
          await sys.fcntl(rw, F_GETFL),
          await sys.fcntl(ro, F_GETFL),
          await sys.fcntl(b.fd, F_GETFL),
        ];
      },
      { spawn: { compat: true } },
    );
    expect(value).toEqual([true, O_RDWR | O_NONBLOCK, O_RDONLY, O_RDWR]);
  });

  it('FD-10/COMPAT-5: an ILP32 process can still ask for O_LARGEFILE explicitly', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sys.open(ADC_NAME, O_RDONLY | O_LARGEFILE);
        return sys.fcntl(fd, F_GETFL);
      },
      { spawn: { compat: true } },
    );
    expect(value).toBe(O_RDONLY | O_LARGEFILE);
  });
});

describe('FD-11: F_SETFL', () => {
  it('FD-11: F_SETFL changes O_APPEND, O_NONBLOCK and O_NOATIME only; access mode and O_LARGEFILE stay', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDONLY);
      const set = await sys.fcntl(
        fd,
        F_SETFL,
        O_RDWR | O_APPEND | O_NONBLOCK | O_NOATIME | O_CREAT | O_TRUNC | O_CLOEXEC,
      );
      const after = await sys.fcntl(fd, F_GETFL);
      const clear = await sys.fcntl(fd, F_SETFL, 0);
      const cleared = await sys.fcntl(fd, F_GETFL);
      const cloexec = await sys.fcntl(fd, F_GETFD);
      return [set, after, clear, cleared, cloexec];
    });
    expect(value).toEqual([0, O_RDONLY | O_APPEND | O_NONBLOCK | O_NOATIME | O_LARGEFILE, 0, O_LARGEFILE, 0]);
  });

  it('FD-11: O_ASYNC on a file without fasync is ignored and F_SETFL returns 0', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      const r = await sys.fcntl(fd, F_SETFL, FASYNC | O_NONBLOCK);
      return [r, await sys.fcntl(fd, F_GETFL)];
    });
    expect(value).toEqual([0, O_RDWR | O_NONBLOCK | O_LARGEFILE]);
  });

  it('FD-11: F_SETFL on a buffer fd keeps it O_RDWR without O_LARGEFILE', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const r = await sys.fcntl(b.fd, F_SETFL, O_NONBLOCK | O_LARGEFILE | O_WRONLY);
      return [r, await sys.fcntl(b.fd, F_GETFL)];
    });
    expect(value).toEqual([0, O_RDWR | O_NONBLOCK]);
  });
});

describe('FD-12: process exit', () => {
  it('FD-12: exit closes every fd: another process can open the chardev and take the buffer after the first exits', async () => {
    const sim = testSimulator({ platform: 'ideal' });
    const seen: Record<string, number> = {};
    sim.spawn('holder', async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      seen.holderChardev = Math.min(chardev, 0);
      seen.holderBuffer = b.ret;
      await sys.nanosleep(2_000_000);
    });
    sim.spawn(
      'during',
      async (sys) => {
        seen.during = await sys.open(ADC, O_RDWR);
      },
      { startAt: 1_000_000 },
    );
    sim.spawn(
      'after',
      async (sys) => {
        const chardev = await sys.open(ADC, O_RDWR);
        seen.afterOpen = Math.min(chardev, 0);
        seen.afterBuffer = (await getBufferFd(sys, chardev)).ret;
      },
      { startAt: 3_000_000 },
    );
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited', 'exited']);
    expect(seen).toEqual({
      holderChardev: 0,
      holderBuffer: 0,
      during: -EBUSY,
      afterOpen: 0,
      afterBuffer: 0,
    });
  });

  it('FD-12: at exit the fds close in ascending fd order, not in creation order', async () => {
    const sim = testSimulator({ platform: 'ideal' });
    const closed: string[] = [];
    sim.events.on('iio:buffer-fd', (e) => {
      if (!e.open) closed.push(e.device);
    });
    const fds: (number | boolean)[] = [];
    sim.spawn('owner', async (sys) => {
      // The ADC buffer fd is created first but moved to fd 20, above the sim-dummy buffer fd made later.
      const adc = await sys.open(ADC, O_RDWR);
      const adcBuf = await getBufferFd(sys, adc);
      fds.push(await sys.dup2(adcBuf.fd, 20));
      await sys.close(adcBuf.fd);
      const dummyBuf = await getBufferFd(sys, await sys.open(DUMMY, O_RDWR));
      fds.push(dummyBuf.ret, dummyBuf.fd < 20);
    });
    const r = await sim.run();
    expect(r.processes[0]!.status).toBe('exited');
    expect(fds).toEqual([20, 0, true]);
    expect(closed).toEqual(['iio:device2', 'iio:device0']);
  });

  it('FD-12: a killed process has its fds closed too', async () => {
    const sim = testSimulator({ platform: 'ideal' });
    let after = Number.NaN;
    const victim = sim.spawn('victim', async (sys) => {
      await sys.open(ADC, O_RDWR);
      await sys.nanosleep(10_000_000);
    });
    sim.at(1_000_000, 'kill victim', () => sim.kill(victim));
    sim.spawn(
      'after',
      async (sys) => {
        const fd = await sys.open(ADC, O_RDWR);
        after = Math.min(fd, 0);
      },
      { startAt: 2_000_000 },
    );
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['killed', 'exited']);
    expect(after).toBe(0);
  });
});

describe('RW-1..8: read, write, pread, lseek', () => {
  it('RW-1: read and write on an fd that is not open are -EBADF', async () => {
    const { value } = await runOne(async (sys) => {
      const buf = sys.mem.alloc(16);
      return [
        await sys.read(0, buf, 16),
        await sys.write(0, buf, 16),
        await sys.read(-1, buf, 16),
        await sys.write(4096, buf, 1),
      ];
    });
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, -EBADF]);
  });

  it('RW-1: -EBADF comes before any check of the buffer', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.read(3, UNMAPPED, 16),
      await sys.write(3, 0, -1),
    ]);
    expect(value).toEqual([-EBADF, -EBADF]);
  });

  it('RW-2: read without read access and write without write access are -EBADF', async () => {
    const { value } = await runOne(async (sys) => {
      const buf = sys.mem.alloc(16);
      sys.mem.write(buf, ascii('1'));
      const ro = await sys.open(ADC_NAME, O_RDONLY);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      const chardevWo = await sys.open(ADC, O_WRONLY);
      return [
        await sys.write(ro, buf, 1),
        await sys.read(wo, buf, 16),
        await sys.read(chardevWo, buf, 16),
        await sys.read(wo, UNMAPPED, 16),
      ];
    });
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, -EBADF]);
  });

  it('RW-2: write on the event fd (created O_RDONLY) is -EBADF (EVFD-6)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const e = await getEventFd(sys, chardev);
      const buf = sys.mem.alloc(16);
      return sys.write(e.fd, buf, 16);
    });
    expect(value).toBe(-EBADF);
  });

  it('RW-4: write of 0 bytes reaches the driver: a non-blocking DAC buffer with no space gives -EAGAIN', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DAC, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      await sys.fcntl(b.fd, F_SETFL, O_NONBLOCK);
      const buf = sys.mem.alloc(16);
      return [await sys.write(b.fd, buf, 0), await sys.write(b.fd, 0, 0)];
    });
    expect(value).toEqual([-EAGAIN, -EAGAIN]);
  });

  it('RW-4: read of 0 bytes reaches the driver: an enabled ADC buffer gives -EINVAL (n < bpd)', async () => {
    const { value } = await runOne(
      async (sys) => {
        expect(await enableChannels(sys, 0, ['in_voltage0'])).toBe(0);
        const chardev = await sys.open(ADC, O_RDWR);
        const b = await getBufferFd(sys, chardev);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const buf = sys.mem.alloc(16);
        const r = [await sys.read(b.fd, buf, 0), await sys.read(chardev, buf, 0)];
        await setBufferEnabled(sys, 0, false);
        return r;
      },
      { platform: 'ideal' },
    );
    // The chardev read is LEG-1 (-EBUSY while the buffer fd is live), still the driver's answer.
    expect(value).toEqual([-EINVAL, -EBUSY]);
  });

  it('RW-5: a count above 0x7ffff000 is capped, not refused: a sysfs read returns its text', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const buf = sys.mem.alloc(PAGE_SIZE);
      const a = await sys.read(fd, buf, 0x80000000);
      const fd2 = await sys.open(ADC_NAME, O_RDONLY);
      const b = await sys.read(fd2, buf, 2 ** 40);
      return [a, b];
    });
    expect(value).toEqual([8, 8]);
  });

  it('RW-5/UACC-2: the user-range check uses the full count, before capping: a range past TASK_SIZE is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC_NAME, O_RDONLY);
      const wfd = await sys.open(ADC_ENABLE, O_WRONLY);
      const rbuf = sys.mem.alloc(PAGE_SIZE);
      const wbuf = sys.mem.alloc(PAGE_SIZE);
      sys.mem.write(wbuf, ascii('0'));
      const rpast = LP64_TASK_SIZE - rbuf + PAGE_SIZE;
      const wpast = LP64_TASK_SIZE - wbuf + PAGE_SIZE;
      return [
        rpast > 0x7ffff000 && wpast > 0x7ffff000,
        await sys.read(fd, rbuf, rpast),
        await sys.write(wfd, wbuf, wpast),
      ];
    });
    expect(value).toEqual([true, -EFAULT, -EFAULT]);
  });

  it('RW-6: pread/pwrite on a buffer fd and an event fd are -ESPIPE, whatever the access mode', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const e = await getEventFd(sys, chardev);
      const buf = sys.mem.alloc(64);
      return [
        await sys.pread(b.fd, buf, 16, 0),
        await sys.pwrite(b.fd, buf, 16, 0),
        await sys.pread(e.fd, buf, 16, 0),
        await sys.pwrite(e.fd, buf, 16, 0),
      ];
    });
    expect(value).toEqual([-ESPIPE, -ESPIPE, -ESPIPE, -ESPIPE]);
  });

  it('RW-6: pread/pwrite on an fd that is not open are -EBADF', async () => {
    const { value } = await runOne(async (sys) => {
      const buf = sys.mem.alloc(16);
      return [await sys.pread(7, buf, 16, 0), await sys.pwrite(7, buf, 16, 0)];
    });
    expect(value).toEqual([-EBADF, -EBADF]);
  });

  it('RW-7: lseek on the IIO chardev returns the position 0 and never fails', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      return [
        await sys.lseek(fd, 100, SEEK_SET),
        await sys.lseek(fd, -5, SEEK_CUR),
        await sys.lseek(fd, 4096, SEEK_END),
        await sys.lseek(fd, -1, SEEK_SET),
      ];
    });
    expect(value).toEqual([0, 0, 0, 0]);
  });

  it('RW-7: lseek on a buffer fd returns 0 (BIOC-4)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      return [await sys.lseek(b.fd, 12, SEEK_SET), await sys.lseek(b.fd, 0, SEEK_END)];
    });
    expect(value).toEqual([0, 0]);
  });

  it('RW-7: lseek on an fd that is not open is -EBADF', async () => {
    const { value } = await runOne(async (sys) => sys.lseek(3, 0, SEEK_SET));
    expect(value).toBe(-EBADF);
  });
});

describe('IOC-1..8: generic ioctls and dispatch', () => {
  it('IOC-1: ioctl on an fd that is not open is -EBADF, whatever the command', async () => {
    const { value } = await runOne(async (sys) => {
      const arg = intArg(sys, 1);
      return [
        await sys.ioctl(0, FIOCLEX, 0),
        await sys.ioctl(0, FIONBIO, arg),
        await sys.ioctl(-1, IIO_BUFFER_GET_FD_IOCTL, arg),
        await sys.ioctl(9, 0x1234, UNMAPPED),
      ];
    });
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, -EBADF]);
  });

  it('IOC-2: FIOCLEX/FIONCLEX never reach the driver: 0 on the chardev (driver -ENODEV) and the event fd (no ioctl)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const e = await getEventFd(sys, chardev);
      const out: number[] = [];
      out.push(await sys.ioctl(chardev, FIOCLEX, UNMAPPED), await sys.fcntl(chardev, F_GETFD));
      out.push(await sys.ioctl(chardev, FIONCLEX, UNMAPPED), await sys.fcntl(chardev, F_GETFD));
      out.push(await sys.ioctl(e.fd, FIONCLEX, 0), await sys.fcntl(e.fd, F_GETFD));
      out.push(await sys.ioctl(e.fd, FIOCLEX, 0), await sys.fcntl(e.fd, F_GETFD));
      return out;
    });
    expect(value).toEqual([0, 1, 0, 0, 0, 0, 0, 1]);
  });

  it('IOC-2: FIOCLEX changes only this fd, not its dups', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      const copy = await sys.dup(fd);
      await sys.ioctl(copy, FIOCLEX, 0);
      return [await sys.fcntl(fd, F_GETFD), await sys.fcntl(copy, F_GETFD)];
    });
    expect(value).toEqual([0, 1]);
  });

  it('IOC-3: FIONBIO sets and clears O_NONBLOCK on the open file, seen through F_GETFL on every dup', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      const copy = await sys.dup(fd);
      const other = await sys.fcntl(fd, F_DUPFD, 10);
      const out: number[] = [];
      out.push(await sys.ioctl(fd, FIONBIO, intArg(sys, 1)));
      out.push(await sys.fcntl(copy, F_GETFL), await sys.fcntl(other, F_GETFL));
      out.push(await sys.ioctl(copy, FIONBIO, intArg(sys, 0)));
      out.push(await sys.fcntl(fd, F_GETFL), await sys.fcntl(other, F_GETFL));
      out.push(await sys.ioctl(other, FIONBIO, intArg(sys, -256)));
      out.push(await sys.fcntl(fd, F_GETFL));
      return out;
    });
    const nb = O_RDWR | O_NONBLOCK | O_LARGEFILE;
    const b = O_RDWR | O_LARGEFILE;
    expect(value).toEqual([0, nb, nb, 0, b, b, 0, nb]);
  });

  it('IOC-3: FIONBIO works on files without an ioctl op (event fd) and on buffer fds', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const e = await getEventFd(sys, chardev);
      const on = intArg(sys, 1);
      return [
        await sys.ioctl(b.fd, FIONBIO, on),
        await sys.fcntl(b.fd, F_GETFL),
        await sys.ioctl(e.fd, FIONBIO, on),
        await sys.fcntl(e.fd, F_GETFL),
      ];
    });
    expect(value).toEqual([0, O_RDWR | O_NONBLOCK, 0, O_RDONLY | O_NONBLOCK]);
  });

  it('IOC-3/UACC-1: FIONBIO with an unreadable int is -EFAULT and changes nothing', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      const two = await sys.mmap(
        0,
        2 * PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1,
        0,
      );
      const unmap = await sys.munmap(two + PAGE_SIZE, PAGE_SIZE);
      sys.mem.write(two + PAGE_SIZE - 2, new Uint8Array([1, 1]));
      return [
        unmap,
        await sys.ioctl(fd, FIONBIO, 0),
        await sys.ioctl(fd, FIONBIO, UNMAPPED),
        await sys.ioctl(fd, FIONBIO, two + PAGE_SIZE - 2),
        await sys.fcntl(fd, F_GETFL),
      ];
    });
    expect(value).toEqual([0, -EFAULT, -EFAULT, -EFAULT, O_RDWR | O_LARGEFILE]);
  });

  it('IOC-4: FIOASYNC on a file without fasync: -ENOTTY when it would change the state, else 0', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      const chardev2 = await sys.open(DUMMY, O_RDWR);
      const e = await getEventFd(sys, chardev2);
      return [
        await sys.ioctl(fd, FIOASYNC, intArg(sys, 1)),
        await sys.ioctl(fd, FIOASYNC, intArg(sys, 0)),
        await sys.ioctl(e.fd, FIOASYNC, intArg(sys, 7)),
        await sys.ioctl(e.fd, FIOASYNC, intArg(sys, 0)),
        await sys.fcntl(fd, F_GETFL),
      ];
    });
    expect(value).toEqual([-ENOTTY, 0, -ENOTTY, 0, O_RDWR | O_LARGEFILE]);
  });

  it('IOC-4/UACC-1: FIOASYNC with an unreadable int is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      return [await sys.ioctl(fd, FIOASYNC, 0), await sys.ioctl(fd, FIOASYNC, UNMAPPED)];
    });
    expect(value).toEqual([-EFAULT, -EFAULT]);
  });

  it('IOC-5: FIOQSIZE on the chardev, a buffer fd and an event fd is -ENOTTY', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const e = await getEventFd(sys, chardev);
      const out = sys.mem.alloc(8);
      return [
        await sys.ioctl(chardev, FIOQSIZE, out),
        await sys.ioctl(b.fd, FIOQSIZE, out),
        await sys.ioctl(e.fd, FIOQSIZE, out),
        await sys.ioctl(chardev, FIOQSIZE, UNMAPPED),
      ];
    });
    expect(value).toEqual([-ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY]);
  });

  it('IOC-6: FIONREAD is passed to the driver: chardev -ENODEV, buffer fd -EINVAL, event fd -ENOTTY', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const e = await getEventFd(sys, chardev);
      const adc = await sys.open(ADC, O_RDWR);
      const adcBuf = await getBufferFd(sys, adc);
      const out = sys.mem.alloc(4);
      return [
        await sys.ioctl(chardev, FIONREAD, out),
        await sys.ioctl(b.fd, FIONREAD, out),
        await sys.ioctl(e.fd, FIONREAD, out),
        await sys.ioctl(adc, FIONREAD, out),
        await sys.ioctl(adcBuf.fd, FIONREAD, out),
      ];
    });
    expect(value).toEqual([-ENODEV, -EINVAL, -ENOTTY, -ENODEV, -EINVAL]);
  });

  it('IOC-6: FIONREAD gives the same answers to an ILP32 process', async () => {
    const { value } = await runOne(
      async (sys) => {
        const chardev = await sys.open(DUMMY, O_RDWR);
        const b = await getBufferFd(sys, chardev);
        const e = await getEventFd(sys, chardev);
        const out = sys.mem.alloc(4);
        return [
          await sys.ioctl(chardev, FIONREAD, out),
          await sys.ioctl(b.fd, FIONREAD, out),
          await sys.ioctl(e.fd, FIONREAD, out),
        ];
      },
      { spawn: { compat: true } },
    );
    expect(value).toEqual([-ENODEV, -EINVAL, -ENOTTY]);
  });

  it('IOC-7: any driver command on a file without an ioctl op (event fd, sysfs) is -ENOTTY', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const e = await getEventFd(sys, chardev);
      const attr = await sys.open(`${DUMMY_SYSFS}/name`, O_RDONLY);
      const arg = intArg(sys, 0);
      return [
        await sys.ioctl(e.fd, IIO_BUFFER_GET_FD_IOCTL, arg),
        await sys.ioctl(e.fd, IIO_GET_EVENT_FD_IOCTL, arg),
        await sys.ioctl(e.fd, 0xdeadbeef, UNMAPPED),
        await sys.ioctl(attr, IIO_BUFFER_GET_FD_IOCTL, arg),
      ];
    });
    expect(value).toEqual([-ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY]);
  });

  it('IOC-7/COMPAT-3: the event fd answers -ENOTTY to an ILP32 process too', async () => {
    const { value } = await runOne(
      async (sys) => {
        const chardev = await sys.open(DUMMY, O_RDWR);
        const e = await getEventFd(sys, chardev);
        return sys.ioctl(e.fd, IIO_BUFFER_GET_FD_IOCTL, intArg(sys, 0));
      },
      { spawn: { compat: true } },
    );
    expect(value).toBe(-ENOTTY);
  });

  it('IOC-8: the driver value is returned unchanged: chardev -ENODEV and buffer fd -EINVAL for unknown commands, not -ENOTTY', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const b = await getBufferFd(sys, chardev);
      const arg = intArg(sys, 0);
      return [
        await sys.ioctl(chardev, 0x1234, arg),
        await sys.ioctl(b.fd, 0x1234, arg),
        await sys.ioctl(b.fd, IIO_BUFFER_GET_FD_IOCTL, arg),
        b.ret,
      ];
    });
    expect(value).toEqual([-ENODEV, -EINVAL, -EINVAL, 0]);
  });
});

describe('UACC-1..2: user memory', () => {
  it('UACC-1: GET_FD with an unreadable int is -EFAULT before anything else (GETFD-1)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const r = [await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, 0)];
      r.push(await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, UNMAPPED));
      r.push((await getBufferFd(sys, chardev)).fd);
      return r;
    });
    expect(value).toEqual([-EFAULT, -EFAULT, 1]);
  });

  it('UACC-1: GET_FD whose int is readable but not writable faults at the copy-out; the fd stays installed (GETFD-5)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const ro = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const r = await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, ro);
      return [
        r,
        await sys.fcntl(1, F_GETFL),
        (await getBufferFd(sys, chardev)).ret,
        await sys.close(1),
        (await getBufferFd(sys, chardev)).fd,
      ];
    });
    expect(value).toEqual([-EFAULT, O_RDWR, -EBUSY, 0, 1]);
  });

  it('UACC-1: GET_EVENT_FD with an unwritable int is -EFAULT with the fd left installed (EVFD-3)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(DUMMY, O_RDWR);
      const r = await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, UNMAPPED);
      return [r, await sys.fcntl(1, F_GETFL), (await getEventFd(sys, chardev)).ret];
    });
    expect(value).toEqual([-EFAULT, O_RDONLY, -EBUSY]);
  });

  it("UACC-2: read()/write() into unmapped user memory fault in the driver's copy: -EFAULT", async () => {
    const { value } = await runOne(async (sys) => {
      const ro = await sys.open(ADC_NAME, O_RDONLY);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      return [await sys.read(ro, UNMAPPED, 16), await sys.read(ro, 0, 16), await sys.write(wo, UNMAPPED, 1)];
    });
    expect(value).toEqual([-EFAULT, -EFAULT, -EFAULT]);
  });

  it('UACC-2: a kfifo read that faults part-way consumes the scans copied before the fault', async () => {
    const { value } = await runOne(
      async (sys) => {
        expect(await writeAttr(sys, `${DUMMY_SYSFS}/buffer0/length`, '16')).toBe(2);
        expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
        const chardev = await sys.open(DUMMY, O_RDWR);
        const b = await getBufferFd(sys, chardev);
        expect(await setBufferEnabled(sys, 2, true)).toBe(1);
        await sys.nanosleep(4_500_000); // four scans at 1 kHz
        const two = await sys.mmap(
          0,
          2 * PAGE_SIZE,
          PROT_READ | PROT_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS,
          -1,
          0,
        );
        await sys.munmap(two + PAGE_SIZE, PAGE_SIZE);
        const fault = await sys.read(b.fd, two + PAGE_SIZE - 4, 8);
        const firstTwo = [...sys.mem.read(two + PAGE_SIZE - 4, 4)];
        const buf = sys.mem.alloc(16);
        const rest = await sys.read(b.fd, buf, 16);
        const restBytes = [...sys.mem.read(buf, Math.max(0, rest))];
        await setBufferEnabled(sys, 2, false);
        return { fault, firstTwo, rest, restBytes };
      },
      // Four syscalls follow the sleep, which ends half a sample period before the fifth scan.
      { platform: 'ideal', realTimescale: 1000 },
    );
    expect(value).toEqual({ fault: -EFAULT, firstTwo: [0, 0, 1, 0], rest: 4, restBytes: [2, 0, 3, 0] });
  });

  it('UACC-2: a DMA fileio read that faults consumes nothing (FILEIO-8)', async () => {
    const { value } = await runOne(
      async (sys) => {
        expect(await enableChannels(sys, 0, ['in_voltage0'])).toBe(0);
        const chardev = await sys.open(ADC, O_RDWR);
        const b = await getBufferFd(sys, chardev);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        await sys.nanosleep(3_000_000); // the first 2048-scan block completes after 2.048 ms
        const two = await sys.mmap(
          0,
          2 * PAGE_SIZE,
          PROT_READ | PROT_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS,
          -1,
          0,
        );
        await sys.munmap(two + PAGE_SIZE, PAGE_SIZE);
        const fault = await sys.read(b.fd, two + PAGE_SIZE - 4, 8);
        const buf = sys.mem.alloc(8);
        const next = await sys.read(b.fd, buf, 4);
        const dv = new DataView(sys.mem.read(buf, 4).buffer);
        const samples = [dv.getInt16(0, true), dv.getInt16(2, true)];
        await setBufferEnabled(sys, 0, false);
        return { fault, next, samples };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ fault: -EFAULT, next: 4, samples: [-2048, -2047] });
  });
});

describe('open() lookups used by the rules above', () => {
  it('FD-1: a failed open (missing path) does not consume an fd', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open('/dev/iio:device9', O_RDWR),
      await sys.open(ADC_NAME, O_RDONLY),
    ]);
    expect(value).toEqual([-ENOENT, 0]);
  });

  it('FD-1: a failed open (EACCES on a 0444 sysfs file, SYSFS-1) does not consume an fd', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(ADC_NAME, O_WRONLY),
      await sys.open(ADC_NAME, O_RDONLY),
    ]);
    expect(value).toEqual([-EACCES, 0]);
  });
});
