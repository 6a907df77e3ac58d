/**
 * Rules UDMA-1..11 of ../shared/reference/kernel-semantics.md §9 (`/dev/udmabuf`, UDMABUF_CREATE and
 * UDMABUF_CREATE_LIST), DMMAP-2 and SYNC-4/SYNC-5 on udmabufs, the VFS rows that apply to the udmabuf device fd
 * (RW-3, RW-8, IOC-2/5/6, MMAP-10, POLL-5) and FD-1/FD-2 for the new dma-buf fd. Kernel:
 * drivers/dma-buf/udmabuf.c (`udmabuf_create`, `check_memfd_seals`, `mmap_udmabuf`, `begin/end_cpu_udmabuf`).
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Simulator, Sys } from '../../../src/index.ts';
import {
  _IOW,
  _IOWR,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_heap_allocation_data,
  EBADFD,
  EFAULT,
  EINVAL,
  EMFILE,
  ENODEV,
  ENOMEM,
  ENOTTY,
  EPERM,
  ESPIPE,
  encodeUdmabufCreateList,
  F_ADD_SEALS,
  F_GET_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_EXEC,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  FD_CLOEXEC,
  FIOCLEX,
  FIONREAD,
  FIOQSIZE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MFD_ALLOW_SEALING,
  MFD_NOEXEC_SEAL,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PAGE_SIZE,
  POLLIN,
  POLLOUT,
  POLLPRI,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  UDMABUF_CREATE,
  UDMABUF_CREATE_LIST,
  UDMABUF_FLAGS_CLOEXEC,
  udmabuf_create,
} from '../../../src/uapi/index.ts';
import { ascii, runOne, simInternal, simState, vtime } from '../../helpers.ts';

/**
 * The udmabuf's mapping and the memfd are two CPU views of the same pages, which real caches keep coherent
 * with each other; the simulator's cache model (src/kernel/cpu-cache.ts) only covers CPU versus DMA and
 * would show them apart on a non-coherent board, so these tests ask for a coherent one.
 */
const COHERENT = { platform: { base: 'zcu102', coherentDma: true } } as const;

const UDMABUF = '/dev/udmabuf';
const HEAP = '/dev/dma_heap/system';
/** An address below every mapping: reading or writing it faults. */
const UNMAPPED = 0x1000;
/** `size_limit_mb` (INT_MAX MiB) in pages. */
const PAGE_LIMIT = (2n ** 31n - 1n) * 256n;

interface Item {
  memfd: number;
  offset?: number | bigint;
  size: number | bigint;
}

/** A sealable memfd of `size` bytes with `seals` added (F_SEAL_SHRINK by default, what udmabuf wants). */
async function memfd(sys: Sys, size: number, seals = F_SEAL_SHRINK, name = 'udmabuf-test'): Promise<number> {
  const fd = await sys.memfd_create(name, MFD_ALLOW_SEALING);
  const t = await sys.ftruncate(fd, size);
  const s = seals ? await sys.fcntl(fd, F_ADD_SEALS, seals) : 0;
  if (fd < 0 || t !== 0 || s !== 0) throw new Error(`memfd setup failed: ${fd} ${t} ${s}`);
  return fd;
}

/** UDMABUF_CREATE with one item. */
async function create(sys: Sys, dev: number, item: Item, flags = 0): Promise<number> {
  const arg = sys.mem.allocStruct(udmabuf_create, {
    memfd: item.memfd,
    flags,
    offset: item.offset ?? 0,
    size: item.size,
  });
  return sys.ioctl(dev, UDMABUF_CREATE, arg);
}

/** UDMABUF_CREATE_LIST with `list` (and `count`, when a lying head is wanted). */
async function createList(sys: Sys, dev: number, list: Item[], flags = 0, count?: number): Promise<number> {
  const bytes = encodeUdmabufCreateList(
    {
      flags,
      ...(count === undefined ? {} : { count }),
      list: list.map((i) => ({ memfd: i.memfd, offset: i.offset ?? 0, size: i.size })),
    },
    sys.mem.abi,
  );
  const arg = sys.mem.alloc(bytes.length);
  sys.mem.write(arg, bytes);
  return sys.ioctl(dev, UDMABUF_CREATE_LIST, arg);
}

/** DMA_BUF_IOCTL_SYNC with `flags`. */
async function sync(sys: Sys, fd: number, flags: number): Promise<number> {
  const a = sys.mem.alloc(8);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(flags), true);
  sys.mem.write(a, b);
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, a);
}

/** An address whose first `readable` bytes are mapped and everything after is unmapped. */
async function edgeOfMapping(sys: Sys, readable: number): Promise<number> {
  const base = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect(await sys.munmap(base + PAGE_SIZE, PAGE_SIZE)).toBe(0);
  return base + PAGE_SIZE - readable;
}

/** Writes `bytes` at `offset` of `fd` with pwrite (throws on a short write). */
async function pwriteBytes(sys: Sys, fd: number, bytes: Uint8Array, offset: number): Promise<void> {
  const a = sys.mem.alloc(bytes.length);
  sys.mem.write(a, bytes);
  const n = await sys.pwrite(fd, a, bytes.length, offset);
  if (n !== bytes.length) throw new Error(`pwrite gave ${n}`);
}

/** Reads `len` bytes at `offset` of `fd` with pread. */
async function preadBytes(sys: Sys, fd: number, len: number, offset: number): Promise<number[] | number> {
  const a = sys.mem.alloc(len);
  const n = await sys.pread(fd, a, len, offset);
  return n < 0 ? n : [...sys.mem.read(a, n)];
}

/** F_ADD_SEALS F_SEAL_WRITE and the virtual time it took: whether udmabuf pins are still held (SEAL-7). */
async function sealWrite(sys: Sys, fd: number): Promise<{ ret: number; ns: number }> {
  const t0 = sys.now();
  const ret = await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
  return { ret, ns: sys.now() - t0 };
}

function exporters(sim: Simulator): string[] {
  return [...sim.kernel.dmaBuf.live.values()].map((d) => d.ops.exporterName);
}

const isAddr = (r: number) => (r > 0 && r % PAGE_SIZE === 0 ? 'ok' : r);

describe('UDMA-1: the device node and its ioctl dispatch', () => {
  it('UDMA-1 FD-1: /dev/udmabuf opens with any access mode at the lowest free fd; O_RDONLY suffices for CREATE', async () => {
    const { value } = await runOne(async (sys) => {
      const ro = await sys.open(UDMABUF, O_RDONLY);
      const wo = await sys.open(UDMABUF, O_WRONLY);
      const m = await memfd(sys, PAGE_SIZE);
      return [ro, wo, m, await create(sys, ro, { memfd: m, size: PAGE_SIZE })];
    });
    expect(value).toEqual([0, 1, 2, 3]);
  });

  it('UDMA-1: any command other than the two exact values is -ENOTTY (size, direction, nr or type changed)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const arg = sys.mem.allocStruct(udmabuf_create, { memfd: m, size: PAGE_SIZE });
      const out: number[] = [];
      for (const cmd of [
        _IOW('u', 0x42, 16),
        _IOW('u', 0x42, 32),
        _IOWR('u', 0x42, 24),
        _IOW('u', 0x43, 24),
        _IOW('u', 0x44, 8),
        _IOW('v', 0x42, 24),
        DMA_HEAP_IOCTL_ALLOC,
        0,
      ])
        out.push(await sys.ioctl(dev, cmd, arg));
      return out;
    });
    expect(value).toEqual(Array(8).fill(-ENOTTY));
  });

  it('UDMA-1 IOC-2 IOC-5 IOC-6: FIOCLEX works, FIOQSIZE is -ENOTTY, FIONREAD reaches the driver: -ENOTTY', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const out = sys.mem.alloc(8);
      return [
        await sys.ioctl(dev, FIOCLEX, 0),
        await sys.fcntl(dev, F_GETFD),
        await sys.ioctl(dev, FIOQSIZE, out),
        await sys.ioctl(dev, FIONREAD, out),
      ];
    });
    expect(value).toEqual([0, FD_CLOEXEC, -ENOTTY, -ENOTTY]);
  });

  it('UDMA-1 RW-3: read, write, pread and pwrite on the device fd are -EINVAL (no read/write op)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const buf = sys.mem.alloc(16);
      return [
        await sys.read(dev, buf, 16),
        await sys.write(dev, buf, 16),
        // misc_open keeps FMODE_PREAD (no nonseekable_open): pread reaches vfs_read and its RW-3 check.
        await sys.pread(dev, buf, 16, 0),
        await sys.pwrite(dev, buf, 16, 0),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('UDMA-1 RW-8: lseek on the device fd is -ESPIPE (no llseek op)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      return [
        await sys.lseek(dev, 0, SEEK_SET),
        await sys.lseek(dev, 0, SEEK_CUR),
        await sys.lseek(dev, 10, SEEK_END),
      ];
    });
    expect(value).toEqual([-ESPIPE, -ESPIPE, -ESPIPE]);
  });

  it('UDMA-1 MMAP-10: mmap of the device fd is -ENODEV', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, dev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dev, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, dev, 0),
      ];
    });
    expect(value).toEqual([-ENODEV, -ENODEV, -ENODEV]);
  });

  it('UDMA-1 POLL-5: poll on the device fd is DEFAULT_POLLMASK & (events | POLLERR | POLLHUP)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const entries: PollEntry[] = [
        { fd: dev, events: POLLIN | POLLPRI },
        { fd: dev, events: POLLOUT },
        { fd: dev, events: 0 },
      ];
      return [await sys.pollfds(entries, 0), entries.map((e) => e.revents)];
    });
    expect(value).toEqual([2, [POLLIN, POLLOUT, 0]]);
  });
});

describe('UDMA-2: UDMABUF_CREATE', () => {
  it('UDMA-2: an unreadable argument is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      return await sys.ioctl(dev, UDMABUF_CREATE, UNMAPPED);
    });
    expect(value).toBe(-EFAULT);
  });

  it('UDMA-2: 23 readable bytes of the 24-byte struct are -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const arg = await edgeOfMapping(sys, 23);
      sys.mem.write(
        arg,
        udmabuf_create.encode({ memfd: m, offset: 0, size: PAGE_SIZE }, sys.mem.abi).subarray(0, 23),
      );
      return await sys.ioctl(dev, UDMABUF_CREATE, arg);
    });
    expect(value).toBe(-EFAULT);
  });

  it('UDMA-2 UDMA-11: CREATE is a one-item list with its flags: UDMABUF_FLAGS_CLOEXEC sets FD_CLOEXEC', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 2 * PAGE_SIZE);
      const a = await create(sys, dev, { memfd: m, size: PAGE_SIZE }, UDMABUF_FLAGS_CLOEXEC);
      const b = await create(sys, dev, { memfd: m, offset: PAGE_SIZE, size: PAGE_SIZE }, 0);
      return [a, await sys.fcntl(a, F_GETFD), b, await sys.fcntl(b, F_GETFD)];
    });
    expect(value).toEqual([2, FD_CLOEXEC, 3, 0]);
  });

  it('UDMA-2: an ILP32 process creates the same way (compat-safe struct, same number)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const dev = await sys.open(UDMABUF, O_RDWR);
        const m = await memfd(sys, 2 * PAGE_SIZE);
        const fd = await create(sys, dev, { memfd: m, offset: PAGE_SIZE, size: PAGE_SIZE }, 1);
        const l = await createList(sys, dev, [{ memfd: m, size: 2 * PAGE_SIZE }]);
        return [fd, await sys.lseek(fd, 0, SEEK_END), l, await sys.lseek(l, 0, SEEK_END)];
      },
      { spawn: { compat: true } },
    );
    expect(value).toEqual([2, PAGE_SIZE, 3, 2 * PAGE_SIZE]);
  });
});

describe('UDMA-3: UDMABUF_CREATE_LIST copies', () => {
  it('UDMA-3: an unreadable head, or 7 readable head bytes, is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const arg = await edgeOfMapping(sys, 7);
      return [
        await sys.ioctl(dev, UDMABUF_CREATE_LIST, UNMAPPED),
        await sys.ioctl(dev, UDMABUF_CREATE_LIST, arg),
      ];
    });
    expect(value).toEqual([-EFAULT, -EFAULT]);
  });

  it('UDMA-3: count > 1024 is -EINVAL before the items are copied (none mapped)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const out: number[] = [];
      for (const count of [1025, 0xffffffff]) {
        const head = await edgeOfMapping(sys, 8);
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(4, count, true);
        sys.mem.write(head, b);
        out.push(await sys.ioctl(dev, UDMABUF_CREATE_LIST, head));
      }
      return out;
    });
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('UDMA-3: count 1024 with its items not readable is -EFAULT; count 2 with one item mapped is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const head = await edgeOfMapping(sys, 8);
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(4, 1024, true);
      sys.mem.write(head, b);
      const r1024 = await sys.ioctl(dev, UDMABUF_CREATE_LIST, head);
      const bytes = encodeUdmabufCreateList({ count: 2, list: [{ memfd: m, offset: 0, size: PAGE_SIZE }] });
      const arg = await edgeOfMapping(sys, bytes.length);
      sys.mem.write(arg, bytes);
      const r2 = await sys.ioctl(dev, UDMABUF_CREATE_LIST, arg);
      const r1 = await createList(sys, dev, [{ memfd: m, size: PAGE_SIZE }]);
      return [r1024, r2, r1];
    });
    expect(value).toEqual([-EFAULT, -EFAULT, 2]);
  });

  it('UDMA-3 UDMA-11: count 1024 (the list_limit) is accepted: 1024 one-page items make a 4 MiB buffer', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 1024 * PAGE_SIZE);
      const list = Array.from({ length: 1024 }, (_, i) => ({
        memfd: m,
        offset: (1023 - i) * PAGE_SIZE,
        size: PAGE_SIZE,
      }));
      const fd = await createList(sys, dev, list);
      await pwriteBytes(sys, m, new Uint8Array([0x11]), 1023 * PAGE_SIZE);
      await pwriteBytes(sys, m, new Uint8Array([0x22]), 0);
      const map = await sys.mmap(0, 1024 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      return [
        fd,
        await sys.lseek(fd, 0, SEEK_END),
        sys.mem.read(map, 1)[0],
        sys.mem.read(map + 1023 * PAGE_SIZE, 1)[0],
      ];
    });
    expect(value).toEqual([2, 1024 * PAGE_SIZE, 0x11, 0x22]);
  });
});

describe('UDMA-4: pass 1 over the items, before any fd is looked at', () => {
  it('UDMA-4: an offset that is not page-aligned is -EINVAL, even with a memfd that is not open', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 4 * PAGE_SIZE);
      return [
        await create(sys, dev, { memfd: m, offset: 1, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: m, offset: 2048, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: 99, offset: 4095, size: PAGE_SIZE }),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('UDMA-4: a size that is not page-aligned is -EINVAL, even with a memfd that is not open', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 4 * PAGE_SIZE);
      return [
        await create(sys, dev, { memfd: m, size: 100 }),
        await create(sys, dev, { memfd: m, size: PAGE_SIZE + 1 }),
        await create(sys, dev, { memfd: 99, size: PAGE_SIZE - 1 }),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('UDMA-4: a later misaligned item wins over an earlier item whose memfd is not open (-EINVAL, not -EBADFD)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 4 * PAGE_SIZE);
      return await createList(sys, dev, [
        { memfd: 99, size: PAGE_SIZE },
        { memfd: m, size: PAGE_SIZE },
        { memfd: m, offset: 512, size: PAGE_SIZE },
      ]);
    });
    expect(value).toBe(-EINVAL);
  });

  it('UDMA-4: the running page total above size_limit_mb (INT_MAX MiB) is -EINVAL; at the limit pass 1 passes and the per-page arrays cannot be allocated (-ENOMEM, before the fds)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const atLimit = PAGE_LIMIT * 4096n;
      const half = 1n << 50n;
      return [
        await create(sys, dev, { memfd: 99, size: atLimit }),
        await create(sys, dev, { memfd: 99, size: atLimit + 4096n }),
        await create(sys, dev, { memfd: 99, size: half }),
        await createList(sys, dev, [
          { memfd: 99, size: half },
          { memfd: 99, size: half },
        ]),
        await createList(sys, dev, [
          { memfd: 99, size: atLimit },
          { memfd: 99, size: 4096 },
        ]),
      ];
    });
    // Past pass 1, init_udmabuf() needs two arrays of 8 bytes per page: above INT_MAX bytes kvmalloc fails.
    expect(value).toEqual([-ENOMEM, -EINVAL, -ENOMEM, -EINVAL, -EINVAL]);
  });
});

describe('UDMA-5: no pages', () => {
  it('UDMA-5: count 0, size 0, and all-zero sizes are -EINVAL (before the fds: unopened memfds too)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      return [
        await createList(sys, dev, []),
        await create(sys, dev, { memfd: m, size: 0 }),
        await create(sys, dev, { memfd: 99, size: 0 }),
        await createList(sys, dev, [
          { memfd: 98, size: 0 },
          { memfd: 99, size: 0 },
        ]),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });
});

describe('UDMA-6..9: pass 2, each item in order', () => {
  it('UDMA-6: a memfd that is not open is -EBADFD (77), not -EBADF', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      await sys.close(m);
      return [
        await create(sys, dev, { memfd: m, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: 500, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: 0xffffffff, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: 0x80000000, size: PAGE_SIZE }),
      ];
    });
    expect(value).toEqual([-EBADFD, -EBADFD, -EBADFD, -EBADFD]);
    expect(EBADFD).toBe(77);
  });

  it('UDMA-6: a bad second item undoes the first item: its pages are unpinned (F_SEAL_WRITE at once)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const dev = await sys.open(UDMABUF, O_RDWR);
        const m = await memfd(sys, PAGE_SIZE);
        const r = await createList(sys, dev, [
          { memfd: m, size: PAGE_SIZE },
          { memfd: 77, size: PAGE_SIZE },
        ]);
        return { r, live: sim.kernel.dmaBuf.live.size, seal: await sealWrite(sys, m) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ r: -EBADFD, live: 0, seal: { ret: 0, ns: 0 } });
  });

  it('UDMA-7: a file that is not shmem (/dev/null, heap fd, dma-bufs, udmabuf node, IIO chardev, sysfs) is -EBADFD', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const nul = await sys.open('/dev/null', O_RDWR);
      const heap = await sys.open(HEAP, O_RDWR);
      const data = sys.mem.allocStruct(dma_heap_allocation_data, { len: PAGE_SIZE, fd_flags: O_RDWR });
      await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, data);
      const heapBuf = sys.mem.readStruct(data, dma_heap_allocation_data).fd;
      const ubuf = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      const iio = await sys.open('/dev/iio:device0', O_RDWR);
      const attr = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
      const out: number[] = [];
      for (const fd of [nul, heap, heapBuf, ubuf, dev, iio, attr])
        out.push(await create(sys, dev, { memfd: fd, size: PAGE_SIZE }));
      return out;
    });
    expect(value).toEqual(Array(7).fill(-EBADFD));
  });

  it('UDMA-8: seals must include F_SEAL_SHRINK and exclude F_SEAL_WRITE and F_SEAL_FUTURE_WRITE', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const out: number[] = [];
      for (const seals of [
        0,
        F_SEAL_GROW,
        F_SEAL_SHRINK | F_SEAL_WRITE,
        F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE,
        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
        F_SEAL_SHRINK,
      ]) {
        const m = await memfd(sys, PAGE_SIZE, seals);
        out.push(await create(sys, dev, { memfd: m, size: PAGE_SIZE }));
      }
      return out;
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, 6, 8]);
  });

  it('UDMA-8: a memfd made without MFD_ALLOW_SEALING has only F_SEAL_SEAL and fails with -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await sys.memfd_create('plain', 0);
      await sys.ftruncate(m, PAGE_SIZE);
      return [await sys.fcntl(m, F_GET_SEALS), await create(sys, dev, { memfd: m, size: PAGE_SIZE })];
    });
    expect(value).toEqual([F_SEAL_SEAL, -EINVAL]);
  });

  it('UDMA-8: an MFD_NOEXEC_SEAL memfd (F_SEAL_EXEC) plus F_SEAL_SHRINK is accepted', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await sys.memfd_create('noexec', MFD_NOEXEC_SEAL);
      await sys.ftruncate(m, PAGE_SIZE);
      const s = await sys.fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK);
      return [s, await sys.fcntl(m, F_GET_SEALS), await create(sys, dev, { memfd: m, size: PAGE_SIZE })];
    });
    expect(value).toEqual([0, F_SEAL_EXEC | F_SEAL_SHRINK, 2]);
  });

  it('UDMA-9: item size 0 while the total is > 0 is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 2 * PAGE_SIZE);
      return [
        await createList(sys, dev, [
          { memfd: m, size: PAGE_SIZE },
          { memfd: m, offset: PAGE_SIZE, size: 0 },
        ]),
        await createList(sys, dev, [
          { memfd: m, size: 0 },
          { memfd: m, size: PAGE_SIZE },
        ]),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('UDMA-9: offset + size beyond the memfd size is -EINVAL; a range ending exactly at the end works', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 2 * PAGE_SIZE);
      return [
        await create(sys, dev, { memfd: m, size: 3 * PAGE_SIZE }),
        await create(sys, dev, { memfd: m, offset: 2 * PAGE_SIZE, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: m, offset: PAGE_SIZE, size: 2 * PAGE_SIZE }),
        await create(sys, dev, { memfd: m, offset: PAGE_SIZE, size: PAGE_SIZE }),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, 2]);
  });

  it('UDMA-9: a memfd size that is not page-aligned: only whole pages below i_size can be pinned', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE + 100);
      return [
        await create(sys, dev, { memfd: m, offset: PAGE_SIZE, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: m, size: 2 * PAGE_SIZE }),
        await create(sys, dev, { memfd: m, size: PAGE_SIZE }),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, 2]);
  });

  it('UDMA-9: an offset >= 2^63 is -EINVAL (a negative loff_t)', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      return [
        await create(sys, dev, { memfd: m, offset: 1n << 63n, size: PAGE_SIZE }),
        await create(sys, dev, { memfd: m, offset: (1n << 64n) - 4096n, size: PAGE_SIZE }),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('UDMA-6..9: items are checked one after the other: the first failing item decides', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const unsealed = await memfd(sys, PAGE_SIZE, 0);
      return [
        // range error first, then a bad fd
        await createList(sys, dev, [
          { memfd: m, size: 2 * PAGE_SIZE },
          { memfd: 99, size: PAGE_SIZE },
        ]),
        // bad fd first, then a range error
        await createList(sys, dev, [
          { memfd: 99, size: PAGE_SIZE },
          { memfd: m, size: 2 * PAGE_SIZE },
        ]),
        // not shmem first, then bad seals
        await createList(sys, dev, [
          { memfd: dev, size: PAGE_SIZE },
          { memfd: unsealed, size: PAGE_SIZE },
        ]),
        // bad seals first, then not open
        await createList(sys, dev, [
          { memfd: unsealed, size: PAGE_SIZE },
          { memfd: 99, size: PAGE_SIZE },
        ]),
        // seals are checked before the range (size 0 on a bad fd: the fd decides)
        await createList(sys, dev, [
          { memfd: m, size: PAGE_SIZE },
          { memfd: 99, size: 0 },
        ]),
      ];
    });
    expect(value).toEqual([-EINVAL, -EBADFD, -EBADFD, -EINVAL, -EBADFD]);
  });
});

describe('UDMA-10: no free fd', () => {
  it('UDMA-10: with every fd taken CREATE is -EMFILE and the buffer is released (pages unpinned)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const dev = await sys.open(UDMABUF, O_RDWR);
        const m = await memfd(sys, PAGE_SIZE);
        const r = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
        const l = await createList(sys, dev, [{ memfd: m, size: PAGE_SIZE }]);
        const live = simInternal(() => sim.kernel.dmaBuf.live.size);
        return { r, l, live, seal: await sealWrite(sys, m) };
      },
      { platform: 'ideal', spawn: { nofile: 2 } },
    );
    // User space sees the pages unpinned: F_SEAL_WRITE succeeds at once, without memfd's 150 ms (real time) of
    // waiting for pins; on the real kernel "at once" is within 50 ms of real time (0.5 ms at time scale 100).
    expect(value).toEqual({
      r: -EMFILE,
      l: -EMFILE,
      live: simState(0, 'live dma-bufs'),
      seal: { ret: 0, ns: vtime(0, 500_000) },
    });
  });
});

describe('UDMA-11: success', () => {
  it('UDMA-11 FD-1: CREATE and CREATE_LIST return the new fd number, the lowest free one', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 4 * PAGE_SIZE);
      const a = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      const b = await createList(sys, dev, [{ memfd: m, size: PAGE_SIZE }]);
      const c = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      await sys.close(a);
      const d = await createList(sys, dev, [{ memfd: m, size: PAGE_SIZE }]);
      const e = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      return [a, b, c, d, e];
    });
    expect(value).toEqual([2, 3, 4, 2, 5]);
  });

  it('UDMA-11: FD_CLOEXEC iff flags & 1; other flag bits are ignored, never validated', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const out: number[] = [];
      for (const flags of [0xfffffffe, 0xffffffff, 2, 1]) {
        const fd = await create(sys, dev, { memfd: m, size: PAGE_SIZE }, flags);
        out.push(fd, await sys.fcntl(fd, F_GETFD));
      }
      const l = await createList(sys, dev, [{ memfd: m, size: PAGE_SIZE }], 0xffffffff);
      out.push(l, await sys.fcntl(l, F_GETFD));
      return out;
    });
    expect(value).toEqual([2, 0, 3, FD_CLOEXEC, 4, 0, 5, FD_CLOEXEC, 6, FD_CLOEXEC]);
  });

  it("UDMA-11 DBUF-5: O_RDWR, size = total pages x 4096, exporter 'udmabuf'", async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const a = await memfd(sys, 3 * PAGE_SIZE);
      const b = await memfd(sys, 5 * PAGE_SIZE);
      const fd = await createList(sys, dev, [
        { memfd: a, offset: PAGE_SIZE, size: 2 * PAGE_SIZE },
        { memfd: b, offset: 0, size: 3 * PAGE_SIZE },
        { memfd: a, offset: 0, size: PAGE_SIZE },
      ]);
      return [await sys.fcntl(fd, F_GETFL), await sys.lseek(fd, 0, SEEK_END), exporters(sim)];
    });
    expect(value).toEqual([O_RDWR, 6 * PAGE_SIZE, ['udmabuf']]);
  });

  it('UDMA-11 DMMAP-4: memfd writes appear in a udmabuf mapping and udmabuf writes in the memfd', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 4 * PAGE_SIZE);
      const fd = await create(sys, dev, { memfd: m, offset: PAGE_SIZE, size: 2 * PAGE_SIZE });
      const map = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const memMap = await sys.mmap(0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
      // memfd write() -> udmabuf mapping
      await pwriteBytes(sys, m, ascii('hello'), PAGE_SIZE + 10);
      const seenInUdmabuf = new TextDecoder().decode(sys.mem.read(map + 10, 5));
      // udmabuf mapping -> memfd read() and the memfd's own shared mapping
      sys.mem.write(map + PAGE_SIZE + 7, ascii('world'));
      const seenByRead = await preadBytes(sys, m, 5, 2 * PAGE_SIZE + 7);
      const seenInMemfdMap = new TextDecoder().decode(sys.mem.read(memMap + 2 * PAGE_SIZE + 7, 5));
      // memfd mapping -> udmabuf mapping
      sys.mem.write(memMap + PAGE_SIZE, ascii('!'));
      // pages outside the udmabuf range are not in it
      await pwriteBytes(sys, m, ascii('x'), 0);
      return [
        seenInUdmabuf,
        seenByRead,
        seenInMemfdMap,
        sys.mem.read(map, 1)[0],
        sys.mem.read(map + 2 * PAGE_SIZE - 1, 1)[0],
      ];
    }, COHERENT);
    expect(value).toEqual(['hello', [...ascii('world')], 'world', '!'.charCodeAt(0), 0]);
  });

  it('UDMA-11: a list concatenates its ranges in order, from several memfds', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const a = await memfd(sys, 2 * PAGE_SIZE);
      const b = await memfd(sys, 2 * PAGE_SIZE);
      await pwriteBytes(sys, a, new Uint8Array([0xa0]), 0);
      await pwriteBytes(sys, a, new Uint8Array([0xa1]), PAGE_SIZE);
      await pwriteBytes(sys, b, new Uint8Array([0xb0]), 0);
      await pwriteBytes(sys, b, new Uint8Array([0xb1]), PAGE_SIZE);
      const fd = await createList(sys, dev, [
        { memfd: b, offset: PAGE_SIZE, size: PAGE_SIZE },
        { memfd: a, offset: 0, size: 2 * PAGE_SIZE },
        { memfd: b, offset: 0, size: PAGE_SIZE },
      ]);
      const map = await sys.mmap(0, 4 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      return [0, 1, 2, 3].map((p) => sys.mem.read(map + p * PAGE_SIZE, 1)[0]);
    });
    expect(value).toEqual([0xb1, 0xa0, 0xa1, 0xb0]);
  });

  it('UDMA-11: the same memfd page listed twice appears twice: a write through one alias shows in the other', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const fd = await createList(sys, dev, [
        { memfd: m, size: PAGE_SIZE },
        { memfd: m, size: PAGE_SIZE },
      ]);
      const map = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      sys.mem.write(map + 100, new Uint8Array([0x5a]));
      return [await sys.lseek(fd, 0, SEEK_END), sys.mem.read(map + PAGE_SIZE + 100, 1)[0]];
    }, COHERENT);
    expect(value).toEqual([2 * PAGE_SIZE, 0x5a]);
  });

  it('UDMA-11 DLIFE-2: the pages outlive the memfd fd; memory comes back when the udmabuf goes', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const total = sim.kernel.pages.available();
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 2 * PAGE_SIZE);
      await pwriteBytes(sys, m, ascii('kept'), PAGE_SIZE);
      const fd = await create(sys, dev, { memfd: m, size: 2 * PAGE_SIZE });
      const used = total - sim.kernel.pages.available();
      await sys.close(m);
      const afterMemfdClose = total - sim.kernel.pages.available();
      const map = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      const text = new TextDecoder().decode(sys.mem.read(map + PAGE_SIZE, 4));
      await sys.munmap(map, 2 * PAGE_SIZE);
      await sys.close(fd);
      return [used, afterMemfdClose, text, total - sim.kernel.pages.available(), sim.kernel.dmaBuf.live.size];
    });
    expect(value).toEqual([2 * PAGE_SIZE, 2 * PAGE_SIZE, 'kept', 0, 0]);
  });

  it('UDMA-11: the memfd may grow after CREATE (only F_SEAL_SHRINK is needed): the pinned pages stay shared', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const fd = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      const map = await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const grow = await sys.ftruncate(m, 16 * PAGE_SIZE);
      const shrink = await sys.ftruncate(m, PAGE_SIZE);
      sys.mem.write(map + 1, new Uint8Array([0x42]));
      await pwriteBytes(sys, m, new Uint8Array([0x43]), 2);
      return [grow, shrink, await preadBytes(sys, m, 2, 1), sys.mem.read(map + 1, 2)[0]];
    }, COHERENT);
    expect(value).toEqual([0, -EPERM, [0x42, 0x43], 0x42]);
  });
});

describe('DMMAP-2: udmabuf mappings must be shared', () => {
  it('DMMAP-2: MAP_PRIVATE of a udmabuf is -EINVAL; MAP_SHARED and MAP_SHARED_VALIDATE work', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const fd = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0),
        isAddr(await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0)),
        isAddr(await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE, fd, 0)),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, 'ok', 'ok']);
  });
});

describe('SYNC-4/SYNC-5 on a udmabuf', () => {
  it('SYNC-4: END on a udmabuf that never had a START is -EINVAL, whatever the direction', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const fd = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      return [
        await sync(sys, fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
        await sync(sys, fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE),
        await sync(sys, fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('SYNC-5 SYNC-4 SYNC-8: the first START maps the buffer (0); from then on END is 0, paired or not', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const fd = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      return [
        await sync(sys, fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
        await sync(sys, fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE),
        await sync(sys, fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
        await sync(sys, fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW),
        await sync(sys, fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE),
        await sync(sys, fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
      ];
    });
    expect(value).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('SYNC-4 SYNC-5: the mapped state belongs to the buffer: shared by a dup, not by another udmabuf', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, 2 * PAGE_SIZE);
      const a = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      const b = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      const aDup = await sys.dup(a);
      const start = await sync(sys, aDup, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
      return [
        start,
        await sync(sys, a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE),
        await sync(sys, b, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE),
      ];
    });
    expect(value).toEqual([0, 0, -EINVAL]);
  });

  it('SYNC-4: a START refused by SYNC-2/SYNC-3 does not map: END stays -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open(UDMABUF, O_RDWR);
      const m = await memfd(sys, PAGE_SIZE);
      const fd = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
      return [
        await sync(sys, fd, DMA_BUF_SYNC_START),
        await sync(sys, fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ | 8),
        await sync(sys, fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('SYNC-5: START on a udmabuf returns at once (no fences)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const dev = await sys.open(UDMABUF, O_RDWR);
        const m = await memfd(sys, PAGE_SIZE);
        const fd = await create(sys, dev, { memfd: m, size: PAGE_SIZE });
        const t0 = sys.now();
        const r = await sync(sys, fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
        return [r, sys.now() - t0];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([0, vtime(0)]);
  });
});
