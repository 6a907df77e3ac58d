/**
 * Rules MMAP-1..12 and MUNMAP-1..3 of ../shared/reference/kernel-semantics.md §2 (with UACC-1/2 seen through
 * mapping protections): mmap's check order on the IIO chardev, buffer and event fds and sysfs files (none of
 * which can be mapped), anonymous mappings, and munmap.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/index.ts';
import {
  DMA_HEAP_IOCTL_ALLOC,
  dma_heap_allocation_data,
  EACCES,
  EBADF,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
  FIONBIO,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_SYNC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/uapi/index.ts';
import { ascii, runOne } from '../helpers.ts';

const ADC = '/dev/iio:device0';
const DUMMY = '/dev/iio:device2';
const ADC_NAME = '/sys/bus/iio/devices/iio:device0/name';
const ADC_ENABLE = '/sys/bus/iio/devices/iio:device0/buffer0/enable';
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** TASK_SIZE of an LP64 process. */
const LP64_TASK_SIZE = 0x7ffffffff000;
/** A page-aligned length below TASK_SIZE that no gap of the address space can hold (MMAP-6). */
const HUGE = 0x7ff000000000;
/** A flag bit no kernel knows: MAP_SHARED_VALIDATE refuses it (MMAP-7). */
const UNKNOWN_MAP_FLAG = 0x200000;

/** An fd of the IIO chardev's buffer 0 (GET_FD). */
async function bufferFd(sys: Sys, chardev: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, 0);
  expect(await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, arg)).toBe(0);
  return sys.mem.readInt(arg);
}

/** An event fd of the chardev (GET_EVENT_FD). */
async function eventFd(sys: Sys, chardev: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  expect(await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, arg)).toBe(0);
  return sys.mem.readInt(arg);
}

/** read() of a sysfs attribute into `addr`: the number of bytes the kernel could copy there, or -EFAULT. */
async function readInto(sys: Sys, addr: number, path = ADC_NAME): Promise<number> {
  const fd = await sys.open(path, O_RDONLY);
  const r = await sys.read(fd, addr, 8);
  await sys.close(fd);
  return r;
}

describe('MMAP-1..5: arguments checked before the file', () => {
  it('MMAP-1: an offset that is not a multiple of 4096 is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(ADC, O_RDWR);
      return [
        await sys.mmap(0, PAGE_SIZE, RW, ANON, -1, 1),
        await sys.mmap(0, PAGE_SIZE, RW, ANON, -1, 4095),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 4097),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 2048),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('MMAP-1: the offset is checked before the fd', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, -1, 12),
      await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, 42, 1),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('MMAP-2: a file mapping of an fd that is not open is -EBADF, before the length and map type checks', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, -1, 0),
      await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, 5, 0),
      await sys.mmap(0, 0, PROT_READ, MAP_SHARED, 5, 0),
      await sys.mmap(0, PAGE_SIZE, PROT_READ, 0, 5, 0),
      await sys.mmap(0, -1, PROT_READ, MAP_SHARED, 5, 0),
    ]);
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, -EBADF, -EBADF]);
  });

  it('MMAP-2: with MAP_ANONYMOUS the fd argument is ignored', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.mmap(0, PAGE_SIZE, RW, ANON, 99, 0);
      const b = await sys.mmap(0, PAGE_SIZE, RW, ANON, -1, 0);
      return [a > 0, a % PAGE_SIZE, b > 0, b % PAGE_SIZE];
    });
    expect(value).toEqual([true, 0, true, 0]);
  });

  it('MMAP-3: length 0 is -EINVAL, before the file checks', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      return [
        await sys.mmap(0, 0, RW, ANON, -1, 0),
        await sys.mmap(0, 0, PROT_READ, MAP_SHARED, chardev, 0),
        await sys.mmap(0, 0, PROT_READ, MAP_PRIVATE, wo, 0),
        await sys.mmap(0, 0, PROT_READ, 0, chardev, 0),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('MMAP-4: a length whose PAGE_ALIGN wraps to 0 is -ENOMEM, before the file checks', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      return [
        await sys.mmap(0, -1, RW, ANON, -1, 0),
        await sys.mmap(0, 2 ** 64 - 2048, RW, ANON, -1, 0),
        await sys.mmap(0, -1, PROT_READ, MAP_SHARED, chardev, 0),
        await sys.mmap(0, -1, PROT_READ, MAP_PRIVATE, wo, 0),
        await sys.mmap(0, -1, PROT_READ, 0, chardev, 0),
      ];
    });
    expect(value).toEqual([-ENOMEM, -ENOMEM, -ENOMEM, -ENOMEM, -ENOMEM]);
  });

  it('MMAP-5: a char device mapping whose end (offset + length) passes 2^64 - 1 is -EOVERFLOW, before the file checks', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const wo = await sys.open(DUMMY, O_WRONLY);
      // (off_t)-4096 is the page-aligned offset 0xfffffffffffff000 (pgoff 2^52 - 1).
      return [
        await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, chardev, -PAGE_SIZE),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, chardev, -PAGE_SIZE),
        await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ, MAP_PRIVATE, chardev, -2 * PAGE_SIZE),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, wo, -PAGE_SIZE),
      ];
    });
    expect(value).toEqual([-EOVERFLOW, -EOVERFLOW, -EOVERFLOW, -EOVERFLOW]);
  });

  it('MMAP-5: an offset near 2^64 whose end still fits goes on to the file checks', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, chardev, -2 * PAGE_SIZE),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, chardev, 2 ** 62),
      ];
    });
    expect(value).toEqual([-ENODEV, -ENODEV]);
  });
});

describe('MMAP-6: room in the address space', () => {
  it('MMAP-6: an anonymous mapping too large for any gap is -ENOMEM', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.mmap(0, HUGE, RW, ANON, -1, 0),
      await sys.mmap(0, LP64_TASK_SIZE + PAGE_SIZE, RW, ANON, -1, 0),
    ]);
    expect(value).toEqual([-ENOMEM, -ENOMEM]);
  });

  it('MMAP-6: no room is found before the file checks MMAP-7..11 (unknown flags, access, no mmap op, bad type)', async () => {
    const { value } = await runOne(async (sys) => {
      const ro = await sys.open(ADC, O_RDONLY);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      return [
        await sys.mmap(0, HUGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, ro, 0),
        await sys.mmap(0, HUGE, RW, MAP_SHARED, ro, 0),
        await sys.mmap(0, HUGE, PROT_READ, MAP_PRIVATE, wo, 0),
        await sys.mmap(0, HUGE, PROT_READ, MAP_PRIVATE, ro, 0),
        await sys.mmap(0, HUGE, PROT_READ, 0, ro, 0),
      ];
    });
    expect(value).toEqual([-ENOMEM, -ENOMEM, -ENOMEM, -ENOMEM, -ENOMEM]);
  });
});

describe('MMAP-7..11: the file checks', () => {
  it('MMAP-7: MAP_SHARED_VALIDATE with an unknown flag bit is -EOPNOTSUPP', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED_VALIDATE | UNKNOWN_MAP_FLAG, chardev, 0),
      ];
    });
    expect(value).toEqual([-EOPNOTSUPP, -EOPNOTSUPP]);
  });

  it('MMAP-7: MAP_SHARED and MAP_PRIVATE drop unknown flags silently (the chardev then answers -ENODEV)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_SYNC, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED | UNKNOWN_MAP_FLAG, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_SYNC, chardev, 0),
      ];
    });
    expect(value).toEqual([-ENODEV, -ENODEV, -ENODEV]);
  });

  it('MMAP-7: MAP_SHARED_VALIDATE with known flags only goes on to the next checks', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      return sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED_VALIDATE | MAP_POPULATE | MAP_NORESERVE, chardev, 0);
    });
    expect(value).toBe(-ENODEV);
  });

  it('MMAP-7: unknown flags are refused before the access checks (MMAP-8, MMAP-9)', async () => {
    const { value } = await runOne(async (sys) => {
      const ro = await sys.open(ADC, O_RDONLY);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      return [
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED_VALIDATE | MAP_SYNC, ro, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, wo, 0),
      ];
    });
    expect(value).toEqual([-EOPNOTSUPP, -EOPNOTSUPP]);
  });

  it('MMAP-8: a shared writable mapping of a file without write access is -EACCES', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDONLY);
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      const dummy = await sys.open(DUMMY, O_RDWR);
      const ev = await eventFd(sys, dummy);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_WRITE, MAP_SHARED, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED_VALIDATE, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED, attr, 0),
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED, ev, 0),
      ];
    });
    expect(value).toEqual([-EACCES, -EACCES, -EACCES, -EACCES]);
  });

  it('MMAP-8: MAP_PRIVATE with PROT_WRITE of a read-only file is not refused for access (the chardev then gives -ENODEV)', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDONLY);
      return [
        await sys.mmap(0, PAGE_SIZE, RW, MAP_PRIVATE, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, chardev, 0),
      ];
    });
    expect(value).toEqual([-ENODEV, -ENODEV]);
  });

  it('MMAP-9: any mapping of a file without read access (O_WRONLY) is -EACCES', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_WRONLY);
      const attr = await sys.open(ADC_ENABLE, O_WRONLY);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_NONE, MAP_SHARED, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, attr, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_WRITE, MAP_SHARED_VALIDATE, attr, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, attr, 0),
      ];
    });
    expect(value).toEqual([-EACCES, -EACCES, -EACCES, -EACCES, -EACCES, -EACCES]);
  });

  it('MMAP-10: files without an mmap op (chardev, buffer fd, event fd, sysfs) are -ENODEV', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await sys.open(ADC, O_RDWR);
      const buffer = await bufferFd(sys, adc);
      const dummy = await sys.open(DUMMY, O_RDONLY | O_NONBLOCK);
      const ev = await eventFd(sys, dummy);
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      const rwAttr = await sys.open(ADC_ENABLE, O_RDWR);
      return [
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED, adc, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, adc, 0),
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED, buffer, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, dummy, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, ev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, attr, 0),
        await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED, rwAttr, 0),
      ];
    });
    expect(value).toEqual([-ENODEV, -ENODEV, -ENODEV, -ENODEV, -ENODEV, -ENODEV, -ENODEV]);
  });

  it('MMAP-9: PROT_EXEC on a file of a noexec filesystem (sysfs; the dma-buf and anonymous-inode pseudo filesystems) is -EPERM, after the access checks and before MMAP-10', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const req = sys.mem.allocStruct(dma_heap_allocation_data, { len: PAGE_SIZE, fd_flags: O_RDWR });
      await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req);
      const dmabuf = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
      const adc = await sys.open(ADC, O_RDWR);
      const buffer = await bufferFd(sys, adc);
      const attr = await sys.open(ADC_NAME, O_RDONLY);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      const memfd = await sys.memfd_create('x', 0);
      await sys.ftruncate(memfd, PAGE_SIZE);
      const map = async (prot: number, flags: number, fd: number) => {
        const r = await sys.mmap(0, PAGE_SIZE, prot, flags, fd, 0);
        return r < 0 ? r : 'mapped';
      };
      return [
        await map(PROT_READ | PROT_EXEC, MAP_SHARED, dmabuf),
        await map(PROT_EXEC, MAP_PRIVATE, dmabuf),
        await map(PROT_READ, MAP_SHARED, dmabuf),
        await map(PROT_READ | PROT_EXEC, MAP_SHARED, buffer),
        await map(PROT_READ | PROT_EXEC, MAP_PRIVATE, attr),
        await map(RW | PROT_EXEC, MAP_SHARED, attr),
        await map(PROT_READ | PROT_EXEC, MAP_PRIVATE, wo),
        await map(PROT_READ | PROT_EXEC, MAP_SHARED, adc),
        await map(PROT_READ | PROT_EXEC, MAP_SHARED, memfd),
      ];
    });
    // The write-access check of a shared mapping (MMAP-8) and the read-access check (MMAP-9) come first; a
    // chardev in /dev (devtmpfs) and a memfd may be mapped executable.
    expect(value).toEqual([-EPERM, -EPERM, 'mapped', -EPERM, -EPERM, -EACCES, -EACCES, -ENODEV, 'mapped']);
  });

  it('MMAP-11: a map type other than 1, 2, 3 is -EINVAL, instead of MMAP-7..10', async () => {
    const { value } = await runOne(async (sys) => {
      const chardev = await sys.open(ADC, O_RDWR);
      const ro = await sys.open(DUMMY, O_RDONLY);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, 0, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, 4, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, 0xf, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SYNC, chardev, 0),
        await sys.mmap(0, PAGE_SIZE, RW, 0, ro, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, 0, wo, 0),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('MMAP-11: an anonymous mapping with map type 0 or 4 is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.mmap(0, PAGE_SIZE, RW, MAP_ANONYMOUS, -1, 0),
      await sys.mmap(0, PAGE_SIZE, RW, MAP_ANONYMOUS | 4, -1, 0),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });
});

describe('MMAP-12: successful (anonymous) mappings', () => {
  it('MMAP-12: an anonymous mapping returns a page-aligned address of zeroed, usable memory', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.mmap(0, 3 * PAGE_SIZE, RW, ANON, -1, 0);
      const zero = sys.mem.read(a, 3 * PAGE_SIZE).every((b) => b === 0);
      sys.mem.write(a + 2 * PAGE_SIZE + 10, ascii('hello'));
      const back = new TextDecoder().decode(sys.mem.read(a + 2 * PAGE_SIZE + 10, 5));
      const copied = await readInto(sys, a + 3 * PAGE_SIZE - 8);
      return [a % PAGE_SIZE, zero, back, copied];
    });
    expect(value).toEqual([0, true, 'hello', 8]);
  });

  it('MMAP-12: the length is rounded up to whole pages and mappings do not overlap', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.mmap(0, 100, RW, ANON, -1, 0);
      const b = await sys.mmap(0, PAGE_SIZE + 1, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      const endOfA = await readInto(sys, a + PAGE_SIZE - 8);
      const endOfB = await readInto(sys, b + 2 * PAGE_SIZE - 8);
      const disjoint = a + PAGE_SIZE <= b || b + 2 * PAGE_SIZE <= a;
      return [a % PAGE_SIZE, b % PAGE_SIZE, disjoint, endOfA, endOfB];
    });
    expect(value).toEqual([0, 0, true, 8, 8]);
  });

  it('MMAP-12: an ILP32 process gets 32-bit addresses', async () => {
    const { value } = await runOne(
      async (sys) => {
        const a = await sys.mmap(0, PAGE_SIZE, RW, ANON, -1, 0);
        return [a > 0, a < 2 ** 32, a % PAGE_SIZE];
      },
      { spawn: { compat: true } },
    );
    expect(value).toEqual([true, true, 0]);
  });

  it('UACC-1/UACC-2: a PROT_READ mapping can be copied from but not copied to; PROT_NONE neither', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await sys.open(ADC, O_RDWR);
      const ro = await sys.mmap(0, PAGE_SIZE, PROT_READ, ANON, -1, 0);
      const none = await sys.mmap(0, PAGE_SIZE, PROT_NONE, ANON, -1, 0);
      const wo = await sys.open(ADC_ENABLE, O_WRONLY);
      return [
        await sys.ioctl(adc, FIONBIO, ro),
        await sys.ioctl(adc, FIONBIO, none),
        await readInto(sys, ro),
        await readInto(sys, none),
        await sys.write(wo, ro, 1),
        await sys.write(wo, none, 1),
      ];
    });
    // write() of the zero byte read from `ro` reaches the `enable` store: "\0" is not a boolean (PARSE-5).
    expect(value).toEqual([0, -EFAULT, -EFAULT, -EFAULT, -EINVAL, -EFAULT]);
  });
});

describe('MUNMAP-1..3', () => {
  it('MUNMAP-1: an unaligned address, length 0 or a range beyond user space is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.mmap(0, 2 * PAGE_SIZE, RW, ANON, -1, 0);
      return [
        await sys.munmap(a + 1, PAGE_SIZE),
        await sys.munmap(a + 2048, PAGE_SIZE),
        await sys.munmap(a, 0),
        await sys.munmap(a, -1),
        await sys.munmap(LP64_TASK_SIZE, PAGE_SIZE),
        await sys.munmap(LP64_TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE),
        await sys.munmap(-PAGE_SIZE, PAGE_SIZE),
        await readInto(sys, a),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, 8]);
  });

  it('MUNMAP-2: a range with no mapping in it returns 0', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.mmap(0, PAGE_SIZE, RW, ANON, -1, 0);
      return [
        await sys.munmap(0x10000, PAGE_SIZE),
        await sys.munmap(0, PAGE_SIZE),
        await sys.munmap(LP64_TASK_SIZE - PAGE_SIZE, PAGE_SIZE),
        await sys.munmap(a, PAGE_SIZE),
        await sys.munmap(a, PAGE_SIZE),
      ];
    });
    expect(value).toEqual([0, 0, 0, 0, 0]);
  });

  it('MUNMAP-3: unmapping the middle page splits the mapping; the pages around it stay', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.mmap(0, 3 * PAGE_SIZE, RW, ANON, -1, 0);
      sys.mem.write(a + 2 * PAGE_SIZE, ascii('kept'));
      const r = await sys.munmap(a + PAGE_SIZE, 1);
      return [
        r,
        await readInto(sys, a + PAGE_SIZE - 8),
        await readInto(sys, a + PAGE_SIZE),
        await readInto(sys, a + 2 * PAGE_SIZE - 8),
        await readInto(sys, a + 2 * PAGE_SIZE + 8),
        new TextDecoder().decode(sys.mem.read(a + 2 * PAGE_SIZE, 4)),
      ];
    });
    expect(value).toEqual([0, 8, -EFAULT, -EFAULT, 8, 'kept']);
  });

  it('MUNMAP-3: one munmap can cover several mappings and the holes between them', async () => {
    const { value } = await runOne(async (sys) => {
      // Five free pages (a range of our own: in a real process the first mappings sit right below the vDSO,
      // whose special mappings cannot be split), then mappings at the second and fourth.
      const base = await sys.mmap(0, 5 * PAGE_SIZE, RW, ANON, -1, 0);
      expect(await sys.munmap(base, 5 * PAGE_SIZE)).toBe(0);
      const a = await sys.mmap(base + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0);
      const b = await sys.mmap(base + 3 * PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0);
      const r = await sys.munmap(base, 5 * PAGE_SIZE);
      return [a - base, b - base, r, await readInto(sys, a), await readInto(sys, b)];
    });
    expect(value).toEqual([PAGE_SIZE, 3 * PAGE_SIZE, 0, -EFAULT, -EFAULT]);
  });

  it('MUNMAP-3: the unmapped range can be mapped again', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.mmap(0, PAGE_SIZE, RW, ANON, -1, 0);
      sys.mem.write(a, ascii('old'));
      const r = await sys.munmap(a, PAGE_SIZE);
      const gone = await readInto(sys, a);
      const b = await sys.mmap(a, PAGE_SIZE, RW, ANON, -1, 0);
      return [r, gone, b % PAGE_SIZE, [...sys.mem.read(b, 3)], await readInto(sys, b)];
    });
    expect(value).toEqual([0, -EFAULT, 0, [0, 0, 0], 8]);
  });
});
