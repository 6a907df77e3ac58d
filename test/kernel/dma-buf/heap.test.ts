/**
 * Rules HEAP-1..14 of ../shared/reference/kernel-semantics.md §9 (the system dma-heap, `/dev/dma_heap/system` and
 * DMA_HEAP_IOCTL_ALLOC), with the VFS rows that apply to the heap fd (RW-3, RW-6, RW-8, IOC-2..6, MMAP-9/10,
 * POLL-5), FD-1/FD-2 for the ALLOC fd and SYNC-4/5 on a heap buffer. Kernel: drivers/dma-buf/dma-heap.c,
 * drivers/dma-buf/heaps/system_heap.c.
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Simulator, Sys } from '../../../src/index.ts';
import {
  _IOC,
  _IOC_NONE,
  _IOC_READ,
  _IOC_WRITE,
  _IOR,
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
  EACCES,
  EBADF,
  EFAULT,
  EINVAL,
  EMFILE,
  ENODEV,
  ENOMEM,
  ENOTTY,
  ESPIPE,
  F_GETFD,
  F_GETFL,
  FD_CLOEXEC,
  FIOASYNC,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  FIONREAD,
  FIOQSIZE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_LARGEFILE,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PAGE_SIZE,
  POLLIN,
  POLLOUT,
  POLLPRI,
  POLLRDBAND,
  POLLRDNORM,
  POLLWRNORM,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
  UDMABUF_CREATE,
} from '../../../src/uapi/index.ts';
import { runOne, simInternal, simState } from '../../helpers.ts';

const HEAP = '/dev/dma_heap/system';
/** An address below every mapping: reading or writing it faults. */
const UNMAPPED = 0x1000;
const U64_MAX = (1n << 64n) - 1n;

interface AllocArgs {
  len: number | bigint;
  fd?: number;
  fd_flags?: number;
  heap_flags?: number | bigint;
}

/** DMA_HEAP_IOCTL_ALLOC (or `cmd`) on `heap` with a 24-byte struct: the ioctl's result and the `fd` field after it. */
async function heapAlloc(
  sys: Sys,
  heap: number,
  a: AllocArgs,
  cmd = DMA_HEAP_IOCTL_ALLOC,
): Promise<{ ret: number; fd: number }> {
  const arg = sys.mem.allocStruct(dma_heap_allocation_data, {
    len: a.len,
    fd: a.fd ?? 0,
    fd_flags: a.fd_flags ?? O_RDWR,
    heap_flags: a.heap_flags ?? 0,
  });
  const ret = await sys.ioctl(heap, cmd, arg);
  return { ret, fd: sys.mem.readStruct(arg, dma_heap_allocation_data).fd };
}

/** Opens the heap and allocates `len` bytes: the new dma-buf fd (throws if anything fails). */
async function heapBuffer(sys: Sys, len: number, fdFlags = O_RDWR): Promise<{ heap: number; fd: number }> {
  const heap = await sys.open(HEAP, O_RDWR);
  const r = await heapAlloc(sys, heap, { len, fd_flags: fdFlags });
  if (heap < 0 || r.ret !== 0) throw new Error(`heap alloc failed: open ${heap}, ioctl ${r.ret}`);
  return { heap, fd: r.fd };
}

/** `struct dma_buf_sync` with `flags` in the program's memory. */
function syncArg(sys: Sys, flags: number): number {
  const a = sys.mem.alloc(8);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(flags), true);
  sys.mem.write(a, b);
  return a;
}

/** An address whose first `readable` bytes are mapped read-write and everything after is unmapped. */
async function edgeOfMapping(sys: Sys, readable: number): Promise<number> {
  const base = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect(await sys.munmap(base + PAGE_SIZE, PAGE_SIZE)).toBe(0);
  return base + PAGE_SIZE - readable;
}

/** Exporter names of the live dma-bufs. */
function exporters(sim: Simulator): string[] {
  return [...sim.kernel.dmaBuf.live.values()].map((d) => d.ops.exporterName);
}

describe('HEAP-1: the heap device node', () => {
  it('HEAP-1: /dev/dma_heap/system opens with any access mode and O_RDONLY suffices to allocate', async () => {
    const { value } = await runOne(async (sys) => {
      const ro = await sys.open(HEAP, O_RDONLY);
      const wo = await sys.open(HEAP, O_WRONLY);
      const rw = await sys.open(HEAP, O_RDWR);
      const a = await heapAlloc(sys, ro, { len: 4096 });
      const b = await heapAlloc(sys, wo, { len: 4096 });
      return [ro, wo, rw, a, b];
    });
    expect(value).toEqual([0, 1, 2, { ret: 0, fd: 3 }, { ret: 0, fd: 4 }]);
  });

  it('HEAP-1 RW-3: read and write on the heap fd are -EINVAL (no read/write op)', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const buf = sys.mem.alloc(16);
      return [
        await sys.read(heap, buf, 16),
        await sys.write(heap, buf, 16),
        await sys.read(heap, buf, 0),
        await sys.write(heap, buf, 0),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('HEAP-1 RW-2: the access mode is checked before RW-3 (write on O_RDONLY, read on O_WRONLY: -EBADF)', async () => {
    const { value } = await runOne(async (sys) => {
      const ro = await sys.open(HEAP, O_RDONLY);
      const wo = await sys.open(HEAP, O_WRONLY);
      const buf = sys.mem.alloc(16);
      return [await sys.write(ro, buf, 16), await sys.read(wo, buf, 16)];
    });
    expect(value).toEqual([-EBADF, -EBADF]);
  });

  it('HEAP-1 RW-6 RW-8: pread, pwrite and lseek on the heap fd are -ESPIPE (nonseekable_open)', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const buf = sys.mem.alloc(16);
      return [
        await sys.pread(heap, buf, 16, 0),
        await sys.pwrite(heap, buf, 16, 0),
        await sys.lseek(heap, 0, SEEK_SET),
        await sys.lseek(heap, 0, SEEK_CUR),
        await sys.lseek(heap, 0, SEEK_END),
      ];
    });
    expect(value).toEqual([-ESPIPE, -ESPIPE, -ESPIPE, -ESPIPE, -ESPIPE]);
  });

  it('HEAP-1 MMAP-10: mmap of the heap fd is -ENODEV (no mmap op), shared or private', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return [
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, heap, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, heap, 0),
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, heap, 0),
      ];
    });
    expect(value).toEqual([-ENODEV, -ENODEV, -ENODEV]);
  });

  it('HEAP-1 MMAP-9: an O_WRONLY heap fd fails the read-access check (-EACCES) before MMAP-10', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_WRONLY);
      return await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, heap, 0);
    });
    expect(value).toBe(-EACCES);
  });

  it('HEAP-1 POLL-5: poll on the heap fd is DEFAULT_POLLMASK & (events | POLLERR | POLLHUP)', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const entries: PollEntry[] = [
        { fd: heap, events: POLLIN | POLLOUT | POLLPRI | POLLRDBAND },
        { fd: heap, events: POLLRDNORM | POLLWRNORM },
        { fd: heap, events: 0 },
      ];
      const n = await sys.pollfds(entries, 0);
      return [n, entries.map((e) => e.revents)];
    });
    expect(value).toEqual([2, [POLLIN | POLLOUT, POLLRDNORM | POLLWRNORM, 0]]);
  });

  it('HEAP-1 FD-1: opening the heap takes the lowest free fd', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.open(HEAP, O_RDONLY);
      const b = await sys.open(HEAP, O_RDONLY);
      await sys.open(HEAP, O_RDONLY);
      await sys.close(b);
      return [a, await sys.open(HEAP, O_RDONLY), await sys.open(HEAP, O_RDONLY)];
    });
    expect(value).toEqual([0, 1, 3]);
  });
});

describe('HEAP-2: the VFS generic ioctls come first', () => {
  it('HEAP-2 IOC-2: FIOCLEX and FIONCLEX on the heap fd toggle FD_CLOEXEC and return 0', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const set = await sys.ioctl(heap, FIOCLEX, 0);
      const on = await sys.fcntl(heap, F_GETFD);
      const clear = await sys.ioctl(heap, FIONCLEX, 0);
      const off = await sys.fcntl(heap, F_GETFD);
      return [set, on, clear, off];
    });
    expect(value).toEqual([0, FD_CLOEXEC, 0, 0]);
  });

  it('HEAP-2 IOC-3: FIONBIO on the heap fd sets O_NONBLOCK (nr 0x21 never reaches the heap)', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const one = sys.mem.alloc(4);
      sys.mem.writeInt(one, 1);
      const r = await sys.ioctl(heap, FIONBIO, one);
      const fl = await sys.fcntl(heap, F_GETFL);
      return [r, fl & O_NONBLOCK, await sys.ioctl(heap, FIONBIO, UNMAPPED)];
    });
    expect(value).toEqual([0, O_NONBLOCK, -EFAULT]);
  });

  it('HEAP-2 IOC-4: FIOASYNC on the heap fd: -ENOTTY to turn it on, 0 to leave it off', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const one = sys.mem.alloc(4);
      sys.mem.writeInt(one, 1);
      const zero = sys.mem.alloc(4);
      return [await sys.ioctl(heap, FIOASYNC, one), await sys.ioctl(heap, FIOASYNC, zero)];
    });
    expect(value).toEqual([-ENOTTY, 0]);
  });

  it('HEAP-2 IOC-5: FIOQSIZE on the heap fd (a char device) is -ENOTTY, not the heap -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return [await sys.ioctl(heap, FIOQSIZE, sys.mem.alloc(8)), await sys.ioctl(heap, FIOQSIZE, UNMAPPED)];
    });
    expect(value).toEqual([-ENOTTY, -ENOTTY]);
  });

  it('HEAP-2 IOC-6: FIONREAD on the heap fd reaches the heap: nr 0x1b is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return await sys.ioctl(heap, FIONREAD, sys.mem.alloc(4));
    });
    expect(value).toBe(-EINVAL);
  });
});

describe('HEAP-3: dispatch on the nr alone', () => {
  it('HEAP-3: any _IOC_NR >= 1 is -EINVAL, not -ENOTTY, whatever the type, direction and size', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const arg = sys.mem.allocStruct(dma_heap_allocation_data, { len: 4096 });
      return [
        await sys.ioctl(heap, _IOWR('H', 1, 24), arg),
        await sys.ioctl(heap, _IOWR('H', 0xff, 24), arg),
        await sys.ioctl(heap, _IOC(_IOC_NONE, 0, 1, 0), arg),
        await sys.ioctl(heap, UDMABUF_CREATE, arg),
        await sys.ioctl(heap, 0x40046992, arg),
        await sys.ioctl(heap, 0xffffffff, arg),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('HEAP-3: the nr check comes before any copy (unmapped argument still -EINVAL) and allocates nothing', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const before = sim.kernel.pages.available();
      const r = await sys.ioctl(heap, _IOWR('H', 1, 24), UNMAPPED);
      return [
        r,
        sim.kernel.pages.available() - before,
        sim.kernel.dmaBuf.live.size,
        await sys.fcntl(1, F_GETFD),
      ];
    });
    expect(value).toEqual([-EINVAL, 0, 0, -EBADF]);
  });
});

describe('HEAP-4: nr 0 with any type, direction and size', () => {
  it("HEAP-4: any type letter with nr 0 allocates (_IOWR('X', 0, 24))", async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return await heapAlloc(sys, heap, { len: 4096 }, _IOWR('X', 0, 24));
    });
    expect(value).toEqual({ ret: 0, fd: 1 });
  });

  it('HEAP-4: a 16-byte struct works: missing heap_flags read as 0, bytes 16..23 neither read nor written', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const arg = sys.mem.allocStruct(dma_heap_allocation_data, {
        len: 8192,
        fd_flags: O_RDWR,
        heap_flags: U64_MAX,
      });
      const ret = await sys.ioctl(heap, _IOWR('H', 0, 16), arg);
      const out = sys.mem.readStruct(arg, dma_heap_allocation_data);
      const size = await sys.lseek(out.fd, 0, SEEK_END);
      return { ret, fd: out.fd, heapFlags: out.heap_flags, size };
    });
    expect(value).toEqual({ ret: 0, fd: 1, heapFlags: U64_MAX, size: 8192 });
  });

  it('HEAP-4: a 48-byte struct works: extra input bytes ignored, all 48 copied back with the fd', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const arg = sys.mem.alloc(48);
      const bytes = new Uint8Array(48).fill(0xa5);
      bytes.set(dma_heap_allocation_data.encode({ len: 4096, fd_flags: O_RDWR }, sys.mem.abi), 0);
      sys.mem.write(arg, bytes);
      const ret = await sys.ioctl(heap, _IOWR('H', 0, 48), arg);
      const back = sys.mem.read(arg, 48);
      const expected = bytes.slice();
      new DataView(expected.buffer).setUint32(8, 1, true);
      return { ret, same: Buffer.from(back).equals(Buffer.from(expected)) };
    });
    expect(value).toEqual({ ret: 0, same: true });
  });

  it('HEAP-4: the largest size field (16383 bytes, beyond the 128-byte stack buffer) works', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const arg = sys.mem.alloc(16383);
      sys.mem.write(arg, dma_heap_allocation_data.encode({ len: 4096, fd_flags: O_RDWR }, sys.mem.abi));
      const ret = await sys.ioctl(heap, _IOWR('H', 0, 16383), arg);
      return { ret, fd: sys.mem.readStruct(arg, dma_heap_allocation_data).fd };
    });
    expect(value).toEqual({ ret: 0, fd: 1 });
  });

  it('HEAP-4 HEAP-13: a command without the read bit (_IOW) allocates and installs an fd it never reports', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const r = await heapAlloc(sys, heap, { len: 4096 }, _IOW('H', 0, 24));
      return {
        ...r,
        open: await sys.fcntl(1, F_GETFD),
        size: await sys.lseek(1, 0, SEEK_END),
        n: exporters(sim),
      };
    });
    expect(value).toEqual({ ret: 0, fd: 0, open: 0, size: 4096, n: ['system'] });
  });

  it('HEAP-4 HEAP-9: a command without the write bit (_IOR) copies nothing in: len 0 is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return [
        (await heapAlloc(sys, heap, { len: 4096 }, _IOR('H', 0, 24))).ret,
        await sys.ioctl(heap, _IOR('H', 0, 24), UNMAPPED),
        await sys.ioctl(heap, _IOC(_IOC_NONE, 'H', 0, 0), UNMAPPED),
        await sys.ioctl(heap, _IOWR('H', 0, 0), UNMAPPED),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('HEAP-4: an 8-byte _IOWR reads only len, writes only len back: allocation succeeds, fd unreported', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const arg = sys.mem.allocStruct(dma_heap_allocation_data, { len: 4096, fd: 77, fd_flags: 0x7fff });
      const ret = await sys.ioctl(heap, _IOC(_IOC_READ | _IOC_WRITE, 'H', 0, 8), arg);
      const out = sys.mem.readStruct(arg, dma_heap_allocation_data);
      return { ret, fd: out.fd, fdFlags: out.fd_flags, fl: await sys.fcntl(1, F_GETFL) };
    });
    expect(value).toEqual({ ret: 0, fd: 77, fdFlags: 0x7fff, fl: O_RDONLY });
  });

  it('HEAP-4: DMA_BUF_IOCTL_SYNC sent to the heap fd is nr 0: its 8 flag bytes are a len, and it allocates', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const ret = await sys.ioctl(heap, DMA_BUF_IOCTL_SYNC, syncArg(sys, DMA_BUF_SYNC_READ));
      return { ret, size: await sys.lseek(1, 0, SEEK_END), live: exporters(sim) };
    });
    expect(value).toEqual({ ret: 0, size: PAGE_SIZE, live: ['system'] });
  });
});

describe('HEAP-5: copy-in', () => {
  it('HEAP-5: an unreadable argument is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, UNMAPPED);
    });
    expect(value).toBe(-EFAULT);
  });

  it('HEAP-5: the copy is `in` bytes: 24 readable bytes pass a 24-byte command but fault a 48-byte one', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const arg = await edgeOfMapping(sys, 24);
      sys.mem.write(arg, dma_heap_allocation_data.encode({ len: 4096, fd_flags: O_RDWR }, sys.mem.abi));
      const big = await sys.ioctl(heap, _IOWR('H', 0, 48), arg);
      const exact = await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, arg);
      return [big, exact, sys.mem.readStruct(arg, dma_heap_allocation_data).fd];
    });
    expect(value).toEqual([-EFAULT, 0, 1]);
  });

  it('HEAP-5: 23 readable bytes fault the 24-byte command', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const arg = await edgeOfMapping(sys, 23);
      sys.mem.write(arg, new Uint8Array([0, 16]));
      return [await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, arg), sim.kernel.dmaBuf.live.size];
    });
    expect(value).toEqual([-EFAULT, 0]);
  });
});

describe('HEAP-6..9: argument checks, in order, before any allocation', () => {
  it('HEAP-6: a non-zero fd field is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return [
        (await heapAlloc(sys, heap, { len: 4096, fd: 1 })).ret,
        (await heapAlloc(sys, heap, { len: 4096, fd: 0xffffffff })).ret,
        (await heapAlloc(sys, heap, { len: 4096, fd: 0x80000000 })).ret,
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('HEAP-7: fd_flags outside O_CLOEXEC|O_ACCMODE (O_NONBLOCK, O_APPEND, O_LARGEFILE, bit 31) are -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const out: number[] = [];
      for (const f of [O_NONBLOCK, O_RDWR | O_NONBLOCK, O_APPEND, O_LARGEFILE, 0x80000000, 4])
        out.push((await heapAlloc(sys, heap, { len: 4096, fd_flags: f })).ret);
      return out;
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('HEAP-7: every combination inside 0x80003 is accepted (access mode 3 included)', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const out: number[] = [];
      for (const f of [0, 1, 2, 3, O_CLOEXEC, O_CLOEXEC | 3])
        out.push((await heapAlloc(sys, heap, { len: 4096, fd_flags: f })).ret);
      return out;
    });
    expect(value).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('HEAP-8: any heap_flags bit (bit 0, bit 63) is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return [
        (await heapAlloc(sys, heap, { len: 4096, heap_flags: 1 })).ret,
        (await heapAlloc(sys, heap, { len: 4096, heap_flags: 1n << 63n })).ret,
        (await heapAlloc(sys, heap, { len: 4096, heap_flags: 1n << 32n })).ret,
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('HEAP-9: PAGE_ALIGN(len) == 0 (len 0, 2^64-1, 2^64-4095) is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      return [
        (await heapAlloc(sys, heap, { len: 0 })).ret,
        (await heapAlloc(sys, heap, { len: U64_MAX })).ret,
        (await heapAlloc(sys, heap, { len: U64_MAX - 4094n })).ret,
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  // The same 1 TiB with valid fields is HEAP-10's -ENOMEM on the simulator. On the real kernel nothing refuses
  // it up front: the system heap takes pages until the OOM killer kills the allocating process, which is why
  // that case is not part of this test (docs/quirks.md, HEAP-10).
  it('HEAP-6..9: the checks run before the allocation: a huge len with a bad field is -EINVAL, not -ENOMEM', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const huge = 1n << 40n;
      return [
        (await heapAlloc(sys, heap, { len: huge, fd: 5 })).ret,
        (await heapAlloc(sys, heap, { len: huge, fd_flags: O_NONBLOCK })).ret,
        (await heapAlloc(sys, heap, { len: huge, heap_flags: 2 })).ret,
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });
});

describe('HEAP-10: out of memory', () => {
  it('HEAP-10: a buffer larger than the free memory is -ENOMEM; nothing is taken, no fd is used', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const before = sim.kernel.pages.available();
      const rets = [
        (await heapAlloc(sys, heap, { len: before + 1 })).ret,
        (await heapAlloc(sys, heap, { len: 1n << 40n })).ret,
        (await heapAlloc(sys, heap, { len: U64_MAX - 4095n })).ret,
      ];
      const after = sim.kernel.pages.available();
      const next = await heapAlloc(sys, heap, { len: 4096 });
      return { rets, taken: before - after, next, live: sim.kernel.dmaBuf.live.size };
    });
    expect(value).toEqual({ rets: [-ENOMEM, -ENOMEM, -ENOMEM], taken: 0, next: { ret: 0, fd: 1 }, live: 1 });
  });

  it('HEAP-10: the limit counts what is already allocated', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const total = sim.kernel.pages.available();
      const a = await heapAlloc(sys, heap, { len: 1 << 20 });
      const tooBig = await heapAlloc(sys, heap, { len: total - (1 << 20) + 1 });
      return [a.ret, tooBig.ret, total - sim.kernel.pages.available()];
    });
    expect(value).toEqual([0, -ENOMEM, 1 << 20]);
  });
});

describe('HEAP-11: no free fd', () => {
  it('HEAP-11: with every fd taken ALLOC is -EMFILE and the buffer is freed', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const heap = await sys.open(HEAP, O_RDWR);
        await sys.open(HEAP, O_RDWR);
        const before = simInternal(() => sim.kernel.pages.available());
        const r = await heapAlloc(sys, heap, { len: 65536 });
        const after = simInternal(() => ({
          taken: before! - sim.kernel.pages.available(),
          live: sim.kernel.dmaBuf.live.size,
        }));
        await sys.close(1);
        const again = await heapAlloc(sys, heap, { len: 65536 });
        return { r, after, again };
      },
      { spawn: { nofile: 2 } },
    );
    expect(value).toEqual({
      r: { ret: -EMFILE, fd: 0 },
      after: simState({ taken: 0, live: 0 }, 'heap pages and live dma-bufs'),
      again: { ret: 0, fd: 1 },
    });
  });
});

describe('HEAP-12: copy-out', () => {
  it('HEAP-12: a readable but unwritable argument is -EFAULT; the fd is released and the buffer freed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      // The struct lives in a read-only shared mapping of a memfd: copy-in works, copy-out faults.
      const memfd = await sys.memfd_create('arg', 0);
      const src = sys.mem.allocStruct(dma_heap_allocation_data, { len: 8192, fd_flags: O_RDWR });
      await sys.write(memfd, src, 24);
      const ro = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, memfd, 0);
      const before = simInternal(() => sim.kernel.pages.available());
      const ret = await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, ro);
      const freed = simInternal(() => ({
        taken: before! - sim.kernel.pages.available(),
        live: sim.kernel.dmaBuf.live.size,
      }));
      const fd2 = await sys.fcntl(2, F_GETFD);
      const next = await heapAlloc(sys, heap, { len: 4096 });
      return { ret, fdField: sys.mem.readStruct(ro, dma_heap_allocation_data).fd, freed, fd2, next };
    });
    expect(value).toEqual({
      ret: -EFAULT,
      fdField: 0,
      freed: simState({ taken: 0, live: 0 }, 'heap pages and live dma-bufs'),
      fd2: -EBADF,
      next: { ret: 0, fd: 2 },
    });
  });
});

describe('HEAP-13: success', () => {
  it('HEAP-13 FD-1: ALLOC returns 0 and reports the lowest free fd in data.fd', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const a = await heapAlloc(sys, heap, { len: 4096 });
      const b = await heapAlloc(sys, heap, { len: 4096 });
      const c = await heapAlloc(sys, heap, { len: 4096 });
      await sys.close(b.fd);
      const d = await heapAlloc(sys, heap, { len: 4096 });
      const e = await heapAlloc(sys, heap, { len: 4096 });
      return [a, b, c, d, e];
    });
    expect(value).toEqual([
      { ret: 0, fd: 1 },
      { ret: 0, fd: 2 },
      { ret: 0, fd: 3 },
      { ret: 0, fd: 2 },
      { ret: 0, fd: 4 },
    ]);
  });

  it('HEAP-13 FD-9: FD_CLOEXEC comes from O_CLOEXEC in fd_flags', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const a = await heapAlloc(sys, heap, { len: 4096, fd_flags: O_RDWR | O_CLOEXEC });
      const b = await heapAlloc(sys, heap, { len: 4096, fd_flags: O_RDWR });
      return [await sys.fcntl(a.fd, F_GETFD), await sys.fcntl(b.fd, F_GETFD)];
    });
    expect(value).toEqual([FD_CLOEXEC, 0]);
  });

  it('HEAP-13: an ILP32 process allocates the same way (compat-safe struct)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const heap = await sys.open(HEAP, O_RDWR);
        const r = await heapAlloc(sys, heap, { len: 5000, fd_flags: O_RDWR | O_CLOEXEC });
        return [r, await sys.lseek(r.fd, 0, SEEK_END), await sys.fcntl(r.fd, F_GETFD)];
      },
      { spawn: { compat: true } },
    );
    expect(value).toEqual([{ ret: 0, fd: 1 }, 8192, FD_CLOEXEC]);
  });
});

describe('HEAP-14: the buffer', () => {
  it('HEAP-14: the size is PAGE_ALIGN(len) and exactly that much memory is taken', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const out: number[][] = [];
      for (const len of [1, 4096, 4097, 65536 + 12, (1 << 20) + 1]) {
        const before = sim.kernel.pages.available();
        const r = await heapAlloc(sys, heap, { len });
        out.push([await sys.lseek(r.fd, 0, SEEK_END), before - sim.kernel.pages.available()]);
      }
      return out;
    });
    expect(value).toEqual([
      [4096, 4096],
      [4096, 4096],
      [8192, 8192],
      [69632, 69632],
      [(1 << 20) + 4096, (1 << 20) + 4096],
    ]);
  });

  it('HEAP-14: every byte is zero, also when the memory of an earlier, dirtied buffer is reused', async () => {
    const { value } = await runOne(async (sys) => {
      const { heap, fd } = await heapBuffer(sys, 3 * PAGE_SIZE);
      const m = await sys.mmap(0, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const fresh = sys.mem.read(m, 3 * PAGE_SIZE).every((b) => b === 0);
      sys.mem.write(m, new Uint8Array(3 * PAGE_SIZE).fill(0xab));
      await sys.munmap(m, 3 * PAGE_SIZE);
      await sys.close(fd);
      const r = await heapAlloc(sys, heap, { len: 3 * PAGE_SIZE });
      const m2 = await sys.mmap(0, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, r.fd, 0);
      return [fresh, sys.mem.read(m2, 3 * PAGE_SIZE).every((b) => b === 0)];
    });
    expect(value).toEqual([true, true]);
  });

  it('HEAP-14 DBUF-2: the access mode is fd_flags & 3 (F_GETFL), O_CLOEXEC is not a status flag', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const out: number[] = [];
      for (const f of [O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE, O_RDWR | O_CLOEXEC]) {
        const r = await heapAlloc(sys, heap, { len: 4096, fd_flags: f });
        out.push(await sys.fcntl(r.fd, F_GETFL));
      }
      return out;
    });
    expect(value).toEqual([O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE, O_RDWR]);
  });

  it('HEAP-14 MMAP-8 MMAP-9: mmap follows the access mode', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open(HEAP, O_RDWR);
      const fdOf = async (f: number) => (await heapAlloc(sys, heap, { len: 4096, fd_flags: f })).fd;
      const ro = await fdOf(O_RDONLY);
      const wo = await fdOf(O_WRONLY);
      const three = await fdOf(O_ACCMODE);
      const rw = await fdOf(O_RDWR);
      const ok = (r: number) => (r > 0 && r % PAGE_SIZE === 0 ? 'ok' : r);
      return [
        ok(await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, ro, 0)),
        await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0),
        await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, wo, 0),
        await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, three, 0),
        await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, three, 0),
        ok(await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0)),
      ];
    });
    expect(value).toEqual(['ok', -EACCES, -EACCES, -EACCES, -EACCES, 'ok']);
  });

  it("HEAP-14: the exporter is 'system'", async () => {
    const { value } = await runOne(async (sys, sim) => {
      await heapBuffer(sys, 4096);
      return exporters(sim);
    });
    expect(value).toEqual(['system']);
  });

  it('HEAP-14 DPOLL-4: no fences at birth: poll is ready for POLLIN and POLLOUT at once', async () => {
    const { value } = await runOne(async (sys) => {
      const { fd } = await heapBuffer(sys, 4096);
      const entries: PollEntry[] = [{ fd, events: POLLIN | POLLOUT }];
      const n = await sys.pollfds(entries, 0);
      return [n, entries[0]!.revents];
    });
    expect(value).toEqual([1, POLLIN | POLLOUT]);
  });

  it('HEAP-14 DMMAP-4: all mappings of a heap buffer see the same bytes', async () => {
    const { value } = await runOne(async (sys) => {
      const { fd } = await heapBuffer(sys, 2 * PAGE_SIZE);
      const a = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const b = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, PAGE_SIZE);
      sys.mem.write(a + PAGE_SIZE + 10, new Uint8Array([1, 2, 3]));
      return [...sys.mem.read(b + 9, 5)];
    });
    expect(value).toEqual([0, 1, 2, 3, 0]);
  });

  it('HEAP-14 DLIFE-2: the memory comes back when the last fd and mapping are gone', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const total = sim.kernel.pages.available();
      const { fd } = await heapBuffer(sys, 3 * PAGE_SIZE);
      const m = await sys.mmap(0, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      const used = total - sim.kernel.pages.available();
      await sys.close(fd);
      const mapped = total - sim.kernel.pages.available();
      await sys.munmap(m, 3 * PAGE_SIZE);
      return [used, mapped, total - sim.kernel.pages.available(), sim.kernel.dmaBuf.live.size];
    });
    expect(value).toEqual([3 * PAGE_SIZE, 3 * PAGE_SIZE, 0, 0]);
  });
});

describe('SYNC-4/5 on a heap buffer', () => {
  it('SYNC-4 SYNC-5: the system heap begin/end_cpu_access return 0, END without a START included', async () => {
    const { value } = await runOne(async (sys) => {
      const { fd } = await heapBuffer(sys, 4096);
      return [
        await sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, syncArg(sys, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW)),
        await sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, syncArg(sys, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)),
        await sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, syncArg(sys, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE)),
        await sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, syncArg(sys, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW)),
      ];
    });
    expect(value).toEqual([0, 0, 0, 0]);
  });
});
