/**
 * Rules DBUF-1..6, DLIFE-1..2, DMMAP-1..5 and DIOC-1..3 of ../shared/reference/kernel-semantics.md §7: the
 * dma-buf file (fops, status flags, identity, size, llseek), its lifetime (fds, mappings, IIO attachments),
 * mmap bounds and the system heap's MAP_PRIVATE rule, zero-copy mappings, and SET_NAME / unknown ioctls.
 * Buffers come from `/dev/dma_heap/system` (and `/dev/udmabuf` for DMMAP-2/4); DMA data from sim-adc.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_buf_sync,
  dma_heap_allocation_data,
  EACCES,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  ENOTTY,
  ESPIPE,
  F_ADD_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_SHRINK,
  F_SETFL,
  FD_CLOEXEC,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  iio_dmabuf,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  O_ACCMODE,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  SYNC_IOC_FILE_INFO,
  UDMABUF_CREATE,
  udmabuf_create,
} from '../../../src/index.ts';
import type { DmaBuf } from '../../../src/kernel/dma-buf/dma-buf.ts';
import * as v2 from '../../../src/uapi/iio-v2.ts';
import { decodeStat, STAT_SIZE } from '../../../src/uapi/stat.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../../src/user/iio.ts';
import { ascii, runOne, simExact, simInternal, simOnly, simState, vtime } from '../../helpers.ts';
import { rampFrom, rampStart } from '../iio/dmabuf-helpers.ts';

/**
 * The udmabuf's mapping and the memfd are two CPU views of the same pages, which real caches keep coherent
 * with each other; the simulator's cache model (src/kernel/cpu-cache.ts) only covers CPU versus DMA and
 * would show them apart on a non-coherent board, so these tests ask for a coherent one.
 */
const COHERENT = { platform: { base: 'zcu102', coherentDma: true } } as const;

const KiB = 1024;
const MiB = 1024 * 1024;
const MS = 1_000_000;
const RW = PROT_READ | PROT_WRITE;
const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
/** 4 channels x 2 bytes at 1 MHz: a 32768-byte block is 4096 scans, done 4096 us + 2 us IRQ latency after it starts. */
const BLOCK = 32768;
const BLOCK_DONE = 4_098_000;
/** sim-adc channel c at sample n. */
const RAMP = (n: number, c: number) => ((n + 1024 * c) % 4096) - 2048;

/** DMA_HEAP_IOCTL_ALLOC on the heap fd: the new dma-buf fd, or the ioctl's -errno. */
async function heapAlloc(sys: Sys, heap: number, len: number, fdFlags = O_RDWR | O_CLOEXEC): Promise<number> {
  const req = sys.mem.allocStruct(dma_heap_allocation_data, { len, fd_flags: fdFlags });
  const ret = await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req);
  return ret < 0 ? ret : sys.mem.readStruct(req, dma_heap_allocation_data).fd;
}

/** Opens the system heap and allocates one dma-buf. */
async function newDmabuf(sys: Sys, len: number, fdFlags = O_RDWR | O_CLOEXEC): Promise<number> {
  const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
  expect(heap).toBeGreaterThanOrEqual(0);
  const fd = await heapAlloc(sys, heap, len, fdFlags);
  expect(fd).toBeGreaterThanOrEqual(0);
  return fd;
}

/** An ioctl whose argument is an int. */
async function intIoctl(sys: Sys, fd: number, cmd: number, value: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, value);
  return sys.ioctl(fd, cmd, arg);
}

/** DMA_BUF_IOCTL_SYNC with 64-bit `flags`. */
function sync(sys: Sys, fd: number, flags: number | bigint): Promise<number> {
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags: BigInt(flags) }));
}

/** sim-adc with its 4 channels enabled: the buffer fd (the buffer is not enabled yet). */
async function adcBuffer(sys: Sys): Promise<number> {
  expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
  const b = await openBuffer(sys, 0);
  if (typeof b === 'number') throw new Error(`openBuffer: ${b}`);
  return b.fd;
}

/** IIO_BUFFER_DMABUF_ENQUEUE_IOCTL (mainline). */
function enqueue(sys: Sys, bufferFd: number, dmabufFd: number, bytesUsed: number): Promise<number> {
  return sys.ioctl(
    bufferFd,
    IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(iio_dmabuf, { fd: dmabufFd, flags: 0, bytes_used: bytesUsed }),
  );
}

/** The kernel's dma-buf behind `fd` of the process (for state no syscall shows). */
function dmabufOf(sim: Simulator, sys: Sys, fd: number): DmaBuf {
  return sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
}

describe('DBUF-1: the dma-buf file operations', () => {
  it('DBUF-1: read and write have no op (-EINVAL, RW-3), pread/pwrite -ESPIPE, ftruncate -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 4096);
      const buf = sys.mem.alloc(4096);
      return [
        await sys.read(fd, buf, 16),
        await sys.write(fd, buf, 16),
        await sys.read(fd, buf, 0),
        await sys.pread(fd, buf, 16, 0),
        await sys.pwrite(fd, buf, 16, 0),
        await sys.ftruncate(fd, 0),
        await sys.ftruncate(fd, 8192),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -ESPIPE, -ESPIPE, -EINVAL, -EINVAL]);
  });

  it('DBUF-1: an ILP32 process reaches the same ioctls through compat_ptr_ioctl', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await newDmabuf(sys, 4096);
        const name = sys.mem.allocString('compat');
        const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_READ, fd: 0 });
        return [
          await sync(sys, fd, DMA_BUF_SYNC_RW),
          await sync(sys, fd, DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END),
          await sys.ioctl(fd, DMA_BUF_SET_NAME_A, name),
          await sys.ioctl(fd, DMA_BUF_SET_NAME_B, name),
          await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req),
          sys.mem.readStruct(req, dma_buf_export_sync_file).fd,
          await sync(sys, fd, 8),
        ];
      },
      { spawn: { compat: true } },
    );
    // fds: heap 0, dma-buf 1, sync_file 2.
    expect(value).toEqual([0, 0, 0, 0, 0, 2, -EINVAL]);
  });
});

describe('DBUF-2: F_GETFL of a dma-buf', () => {
  it.each([
    ['O_RDONLY', O_RDONLY, O_RDONLY, 0],
    ['O_WRONLY', O_WRONLY, O_WRONLY, 0],
    ['O_RDWR', O_RDWR, O_RDWR, 0],
    ['O_ACCMODE (3)', O_ACCMODE, O_ACCMODE, 0],
    ['O_RDWR|O_CLOEXEC', O_RDWR | O_CLOEXEC, O_RDWR, FD_CLOEXEC],
    ['O_RDONLY|O_CLOEXEC', O_RDONLY | O_CLOEXEC, O_RDONLY, FD_CLOEXEC],
  ])(
    'DBUF-2: heap fd_flags %s give F_GETFL %i (no O_LARGEFILE) and F_GETFD %i',
    async (_n, fdFlags, fl, fdfl) => {
      const { value } = await runOne(async (sys) => {
        const fd = await newDmabuf(sys, 4096, fdFlags);
        return [await sys.fcntl(fd, F_GETFL), await sys.fcntl(fd, F_GETFD)];
      });
      expect(value).toEqual([fl, fdfl]);
    },
  );

  it('DBUF-2: O_NONBLOCK is a status flag of the dma-buf file: F_SETFL sets it, every fd of the file sees it', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 4096);
      const dup = await sys.dup(fd);
      return [
        await sys.fcntl(fd, F_SETFL, O_NONBLOCK),
        await sys.fcntl(fd, F_GETFL),
        await sys.fcntl(dup, F_GETFL),
      ];
    });
    expect(value).toEqual([0, O_RDWR | O_NONBLOCK, O_RDWR | O_NONBLOCK]);
  });

  it('DBUF-2: access mode 3 gives neither read nor write access: read -EBADF, any mapping -EACCES (MMAP-9)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 4096, O_ACCMODE);
      const buf = sys.mem.alloc(16);
      return [
        await sys.read(fd, buf, 16),
        await sys.write(fd, buf, 16),
        await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0),
        await sys.mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0),
        await sys.mmap(0, 4096, RW, MAP_SHARED, fd, 0),
      ];
    });
    expect(value).toEqual([-EBADF, -EBADF, -EACCES, -EACCES, -EACCES]);
  });

  it('DBUF-2: O_RDONLY allows read-only and private mappings, refuses a shared writable one (MMAP-8)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 4096, O_RDONLY);
      const ro = await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
      const priv = await sys.mmap(0, 4096, RW, MAP_PRIVATE, fd, 0);
      return [ro > 0, priv > 0, await sys.mmap(0, 4096, RW, MAP_SHARED, fd, 0)];
    });
    expect(value).toEqual([true, true, -EACCES]);
  });

  it('DBUF-2: a v2 IIO dma-buf (ALLOC) is O_RDWR with FD_CLOEXEC', async () => {
    const { value } = await runOne(
      async (sys) => {
        const bfd = await adcBuffer(sys);
        const fd = await sys.ioctl(
          bfd,
          v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
          sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: 4096, resv: 0 }),
        );
        return [fd, await sys.fcntl(fd, F_GETFL), await sys.fcntl(fd, F_GETFD)];
      },
      { abi: 'v2' },
    );
    // fds: chardev 0, buffer 1, dma-buf 2.
    expect(value).toEqual([2, O_RDWR, FD_CLOEXEC]);
  });
});

describe('DBUF-3: identity is the dma-buf object', () => {
  it('DBUF-3: a dup shares mappings, fences and attachments: ATTACH through the dup is -EBUSY, ENQUEUE through it works, SYNC through the other fd waits for its fence', async () => {
    const { value } = await runOne(
      async (sys) => {
        const bfd = await adcBuffer(sys);
        const fd = await newDmabuf(sys, BLOCK);
        const dup = await sys.dup(fd);
        const a = await sys.mmap(0, BLOCK, RW, MAP_SHARED, fd, 0);
        const b = await sys.mmap(0, BLOCK, RW, MAP_SHARED, dup, 0);
        sys.mem.write(a, ascii('same'));
        const seen = new TextDecoder().decode(sys.mem.read(b, 4));
        const attach = await intIoctl(sys, bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, fd);
        const attachDup = await intIoctl(sys, bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, dup);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const enq = await enqueue(sys, bfd, dup, BLOCK);
        const start = await sync(sys, fd, DMA_BUF_SYNC_READ);
        return [seen, attach, attachDup, enq, start, sys.now()];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual(['same', 0, -EBUSY, 0, 0, vtime(BLOCK_DONE)]);
  });
});

describe('DBUF-4: identity numbers and names', () => {
  /** What `/proc/self/fd/<fd>` links to (readlink). */
  async function fdLink(sys: Sys, fd: number): Promise<string> {
    const buf = sys.mem.alloc(256);
    const n = await sys.readlink(`/proc/self/fd/${fd}`, buf, 256);
    expect(n).toBeGreaterThan(0);
    return new TextDecoder().decode(sys.mem.read(buf, n));
  }

  /** The inode number fstat() shows. */
  async function inoOf(sys: Sys, fd: number): Promise<bigint> {
    const st = sys.mem.alloc(STAT_SIZE[sys.mem.abi]);
    expect(await sys.fstat(fd, st)).toBe(0);
    return decodeStat(sys.mem.read(st, STAT_SIZE[sys.mem.abi]), sys.mem.abi).st_ino;
  }

  it.each([
    ['LP64', false],
    ['ILP32', true],
  ])(
    'DBUF-4 (%s): dma-bufs are numbered uniquely in order (st_ino, from 1 after boot); /proc/self/fd/N shows /dmabuf:<name>, /dmabuf: when empty',
    async (_abi, compat) => {
      const { value } = await runOne(
        async (sys) => {
          const a = await newDmabuf(sys, 4096);
          const b = await newDmabuf(sys, 4096);
          const before = await fdLink(sys, b);
          expect(await sys.ioctl(b, DMA_BUF_SET_NAME_B, sys.mem.allocString('frames'))).toBe(0);
          const ia = await inoOf(sys, a);
          const ib = await inoOf(sys, b);
          const dup = await sys.dup(b);
          return [ia, ib - ia, await inoOf(sys, dup), before, await fdLink(sys, b), await fdLink(sys, a)];
        },
        { spawn: { compat } },
      );
      const first = simExact(
        1n,
        (i) => typeof i === 'bigint' && i >= 1n,
        'any inode number from 1 on (the VM made dma-bufs before)',
      );
      expect(value).toEqual([
        first,
        1n,
        (value as bigint[])[0]! + 1n,
        '/dmabuf:',
        '/dmabuf:frames',
        '/dmabuf:',
      ]);
    },
  );
});

describe('DBUF-5: dma-buf size', () => {
  it('DBUF-5: a heap buffer is PAGE_ALIGN(len): lseek(SEEK_END) and the mmap bound agree', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const out: number[] = [];
      for (const len of [1, 4096, 4097, 5000, 12288]) {
        const fd = await heapAlloc(sys, heap, len);
        out.push(await sys.lseek(fd, 0, SEEK_END));
      }
      const fd = await heapAlloc(sys, heap, 5000);
      out.push((await sys.mmap(0, 8192, PROT_READ, MAP_SHARED, fd, 0)) > 0 ? 1 : 0);
      out.push(await sys.mmap(0, 8193, PROT_READ, MAP_SHARED, fd, 0));
      return out;
    });
    expect(value).toEqual([4096, 4096, 8192, 8192, 12288, 1, -EINVAL]);
  });

  it('DBUF-5: a udmabuf is its total pages x 4096', async () => {
    const { value } = await runOne(async (sys) => {
      const memfd = await sys.memfd_create('pages', MFD_ALLOW_SEALING);
      expect(await sys.ftruncate(memfd, 5 * 4096)).toBe(0);
      expect(await sys.fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)).toBe(0);
      const dev = await sys.open('/dev/udmabuf', O_RDWR);
      const fd = await sys.ioctl(
        dev,
        UDMABUF_CREATE,
        sys.mem.allocStruct(udmabuf_create, { memfd, flags: 0, offset: 4096, size: 3 * 4096 }),
      );
      return [fd, await sys.lseek(fd, 0, SEEK_END)];
    });
    expect(value).toEqual([2, 3 * 4096]);
  });

  it('DBUF-5: a v2 IIO dma-buf is PAGE_ALIGN(alloc size)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const bfd = await adcBuffer(sys);
        const out: number[] = [];
        for (const size of [8, 4096, 5000]) {
          const fd = await sys.ioctl(
            bfd,
            v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
            sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size, resv: 0 }),
          );
          out.push(await sys.lseek(fd, 0, SEEK_END));
        }
        return out;
      },
      { abi: 'v2' },
    );
    expect(value).toEqual([4096, 4096, 8192]);
  });
});

describe('DBUF-6: lseek', () => {
  it('DBUF-6: SEEK_END 0 gives the size, SEEK_SET 0 gives 0; other whence or a non-zero offset -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 3 * 4096);
      return [
        await sys.lseek(fd, 0, SEEK_END),
        await sys.lseek(fd, 0, SEEK_SET),
        await sys.lseek(fd, 0, SEEK_CUR),
        await sys.lseek(fd, 0, SEEK_DATA),
        await sys.lseek(fd, 0, SEEK_HOLE),
        await sys.lseek(fd, 1, SEEK_SET),
        await sys.lseek(fd, 4096, SEEK_SET),
        await sys.lseek(fd, -1, SEEK_END),
        await sys.lseek(fd, 1, SEEK_END),
        await sys.lseek(fd, 1, SEEK_CUR),
      ];
    });
    expect(value).toEqual([12288, 0, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('DBUF-6: the file position is never moved (SEEK_END then SEEK_END again still returns the size)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fd = await newDmabuf(sys, 8192);
      const r = [await sys.lseek(fd, 0, SEEK_END), await sys.lseek(fd, 0, SEEK_END)];
      return [...r, sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.pos];
    });
    expect(value).toEqual([8192, 8192, 0]);
  });
});

describe('DLIFE-1/DLIFE-2: the buffer lives while anything holds it', () => {
  it('DLIFE-1: closing the fd of a mapped buffer keeps it (and its memory) until munmap; DLIFE-2: then the heap pages are freed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const k = sim.kernel;
      const base = k.pages.available();
      const fd = await newDmabuf(sys, MiB);
      const afterAlloc = [k.dmaBuf.live.size, base - k.pages.available()];
      const addr = await sys.mmap(0, MiB, RW, MAP_SHARED, fd, 0);
      expect(await sys.close(fd)).toBe(0);
      const afterClose = [k.dmaBuf.live.size, base - k.pages.available()];
      sys.mem.write(addr + MiB - 4, ascii('live'));
      const data = new TextDecoder().decode(sys.mem.read(addr + MiB - 4, 4));
      expect(await sys.munmap(addr, MiB)).toBe(0);
      return [afterAlloc, afterClose, data, [k.dmaBuf.live.size, base - k.pages.available()]];
    });
    expect(value).toEqual([[1, MiB], [1, MiB], 'live', [0, 0]]);
  });

  it('DLIFE-1: each of two mappings holds the buffer; it goes with the last munmap', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const liveBufs = () => simInternal(() => sim.kernel.dmaBuf.live.size);
      const fd = await newDmabuf(sys, 8192);
      const a = await sys.mmap(0, 8192, RW, MAP_SHARED, fd, 0);
      const b = await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 4096);
      expect(await sys.close(fd)).toBe(0);
      // What user space sees: with no fd left, bytes written through one mapping show through the other.
      sys.mem.write(a + 4096, ascii('held'));
      expect(await sys.munmap(a, 8192)).toBe(0);
      const seen = new TextDecoder().decode(sys.mem.read(b, 4));
      const mid = liveBufs();
      expect(await sys.munmap(b, 4096)).toBe(0);
      return [seen, mid, liveBufs()];
    });
    expect(value).toEqual(['held', simState(1, 'live dma-bufs'), simState(0, 'live dma-bufs')]);
  });

  it('DLIFE-1: a dup keeps the buffer after the original fd is closed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const liveBufs = () => simInternal(() => sim.kernel.dmaBuf.live.size);
      const fd = await newDmabuf(sys, 4096);
      const dup = await sys.dup(fd);
      await sys.close(fd);
      const mid = [liveBufs(), await sys.lseek(dup, 0, SEEK_END)];
      await sys.close(dup);
      return [...mid, liveBufs()];
    });
    expect(value).toEqual([simState(1, 'live dma-bufs'), 4096, simState(0, 'live dma-bufs')]);
  });

  it('DLIFE-1: an IIO attachment holds the buffer after its fd is closed; closing the buffer fd (BREL-2) frees it (DLIFE-2)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const k = sim.kernel;
      const base = k.pages.available();
      const bfd = await adcBuffer(sys);
      const afterBuffer = base - k.pages.available();
      const fd = await newDmabuf(sys, 64 * KiB);
      expect(await intIoctl(sys, bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, fd)).toBe(0);
      await sys.close(fd);
      const held = [k.dmaBuf.live.size, base - k.pages.available() - afterBuffer];
      await sys.close(bfd);
      return [held, [k.dmaBuf.live.size, base - k.pages.available() - afterBuffer]];
    });
    expect(value).toEqual([
      [1, 64 * KiB],
      [0, 0],
    ]);
  });

  it('DLIFE-1: with a transfer in flight the attachment keeps the buffer past every close until its fence signalled and the cleanup ran (DLIFE-2 at that instant)', async () => {
    const seen: [number, number, number][] = [];
    const { value } = await runOne(
      async (sys, sim) => {
        const k = sim.kernel;
        const bfd = await adcBuffer(sys);
        const fd = await newDmabuf(sys, BLOCK);
        const base = k.pages.available() + BLOCK;
        for (const t of [BLOCK_DONE - 1, BLOCK_DONE + 1])
          sim.at(t, 'probe', () => seen.push([t, k.dmaBuf.live.size, base - k.pages.available()]));
        expect(await intIoctl(sys, bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, fd)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, bfd, fd, BLOCK)).toBe(0);
        await sys.close(fd);
        await sys.close(bfd);
        const closed = k.dmaBuf.live.size;
        await sys.nanosleep(10 * MS);
        return closed;
      },
      { platform: 'ideal' },
    );
    expect(value).toBe(1);
    expect(seen).toEqual([
      [BLOCK_DONE - 1, 1, BLOCK],
      [BLOCK_DONE + 1, 0, 0],
    ]);
  });

  it('DLIFE-2: v2: the last reference to an ALLOCated dma-buf frees its memory (the block never ran)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const k = sim.kernel;
        const bfd = await adcBuffer(sys);
        const fd = await sys.ioctl(
          bfd,
          v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
          sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: 5000, resv: 0 }),
        );
        const addr = await sys.mmap(0, 8192, PROT_READ, MAP_SHARED, fd, 0);
        const held = k.pages.available();
        await sys.close(fd);
        const mapped = [k.dmaBuf.live.size, k.pages.available() - held];
        await sys.munmap(addr, 8192);
        return [mapped, [k.dmaBuf.live.size, k.pages.available() - held]];
      },
      { abi: 'v2' },
    );
    expect(value).toEqual([
      [1, 0],
      [0, 8192],
    ]);
  });

  it('DLIFE-2: process exit drops fds and mappings: every dma-buf and its memory is gone', async () => {
    let base = 0;
    const { sim, result } = await runOne(async (sys, s) => {
      base = s.kernel.pages.available();
      const fd = await newDmabuf(sys, 3 * MiB);
      await sys.mmap(0, MiB, RW, MAP_SHARED, fd, MiB);
      await sys.dup(fd);
      return 0;
    });
    expect([sim.kernel.dmaBuf.live.size, sim.kernel.pages.available() - base]).toEqual([0, 0]);
    expect(result.liveObjects).toEqual({});
  });
});

describe('DMMAP-1: the mapping must lie inside the buffer', () => {
  it('DMMAP-1: 1 MiB buffer: len 1 MiB + 1 fails; off 1 MiB - 4096 len 4096 works; off 1 MiB fails', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, MiB);
      const whole = await sys.mmap(0, MiB, RW, MAP_SHARED, fd, 0);
      const last = await sys.mmap(0, 4096, RW, MAP_SHARED, fd, MiB - 4096);
      return [
        whole > 0,
        await sys.mmap(0, MiB + 1, RW, MAP_SHARED, fd, 0),
        last > 0,
        await sys.mmap(0, 4097, RW, MAP_SHARED, fd, MiB - 4096),
        await sys.mmap(0, 4096, RW, MAP_SHARED, fd, MiB),
        await sys.mmap(0, 8192, RW, MAP_SHARED, fd, MiB - 4096),
      ];
    });
    expect(value).toEqual([true, -EINVAL, true, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('DMMAP-1: the last page mapped is the buffer last page', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, MiB);
      const whole = await sys.mmap(0, MiB, RW, MAP_SHARED, fd, 0);
      const last = await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, MiB - 4096);
      sys.mem.write(whole + MiB - 4096, ascii('tail'));
      return new TextDecoder().decode(sys.mem.read(last, 4));
    });
    expect(value).toBe('tail');
  });
});

describe('DMMAP-2: udmabuf mappings must be shared', () => {
  it('DMMAP-2: MAP_PRIVATE of a udmabuf is -EINVAL, MAP_SHARED works', async () => {
    const { value } = await runOne(async (sys) => {
      const memfd = await sys.memfd_create('u', MFD_ALLOW_SEALING);
      await sys.ftruncate(memfd, 8192);
      await sys.fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK);
      const dev = await sys.open('/dev/udmabuf', O_RDWR);
      const fd = await sys.ioctl(
        dev,
        UDMABUF_CREATE,
        sys.mem.allocStruct(udmabuf_create, { memfd, flags: 0, offset: 0, size: 8192 }),
      );
      return [
        await sys.mmap(0, 8192, PROT_READ, MAP_PRIVATE, fd, 0),
        await sys.mmap(0, 4096, RW, MAP_PRIVATE, fd, 4096),
        (await sys.mmap(0, 8192, RW, MAP_SHARED, fd, 0)) > 0,
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, true]);
  });
});

describe('DMMAP-3: system heap MAP_PRIVATE', () => {
  // 1 MiB + 64 KiB + 8 KiB is allocated as chunks [1 MiB][64 KiB][4 KiB][4 KiB], largest first.
  const LEN = MiB + 64 * KiB + 8 * KiB;
  it.each([
    ['the whole 1 MiB chunk', 0, MiB, true],
    ['a page inside the 1 MiB chunk', 512 * KiB, 4096, true],
    ['the 1 MiB chunk and one page more', 0, MiB + 4096, false],
    ['the last page of the 1 MiB chunk and the first of the 64 KiB one', MiB - 4096, 8192, false],
    ['the whole 64 KiB chunk', MiB, 64 * KiB, true],
    ['the tail of the 64 KiB chunk', MiB + 60 * KiB, 4096, true],
    ['the 64 KiB chunk and the next 4 KiB chunk', MiB, 68 * KiB, false],
    ['the first 4 KiB chunk', MiB + 64 * KiB, 4096, true],
    ['the second 4 KiB chunk', MiB + 68 * KiB, 4096, true],
    ['both 4 KiB chunks', MiB + 64 * KiB, 8192, false],
    ['the whole buffer', 0, LEN, false],
  ])('DMMAP-3: MAP_PRIVATE over %s (off %i, len %i): ok %s', async (_what, off, len, ok) => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, LEN);
      const priv = await sys.mmap(0, len, PROT_READ, MAP_PRIVATE, fd, off);
      const shared = await sys.mmap(0, len, PROT_READ, MAP_SHARED, fd, off);
      return [priv > 0 ? 'mapped' : priv, shared > 0 ? 'mapped' : shared];
    });
    expect(value).toEqual([ok ? 'mapped' : -EINVAL, 'mapped']);
  });

  it('DMMAP-3: a 128 KiB buffer is two 64 KiB chunks: private 64 KiB at 0 or 64 KiB works, 128 KiB fails', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 128 * KiB);
      return [
        (await sys.mmap(0, 64 * KiB, RW, MAP_PRIVATE, fd, 0)) > 0,
        (await sys.mmap(0, 64 * KiB, RW, MAP_PRIVATE, fd, 64 * KiB)) > 0,
        await sys.mmap(0, 128 * KiB, RW, MAP_PRIVATE, fd, 0),
        await sys.mmap(0, 8192, RW, MAP_PRIVATE, fd, 60 * KiB),
      ];
    });
    expect(value).toEqual([true, true, -EINVAL, -EINVAL]);
  });
});

describe('DMMAP-4: mappings are the buffer memory', () => {
  it('DMMAP-4: the bytes the ADC DMA wrote appear in a shared mapping without any copy', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const bfd = await adcBuffer(sys);
        const fd = await newDmabuf(sys, BLOCK);
        const addr = await sys.mmap(0, BLOCK, PROT_READ, MAP_SHARED, fd, 0);
        expect(await intIoctl(sys, bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, fd)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const before = [...sys.mem.read(addr, 8)];
        expect(await enqueue(sys, bfd, fd, BLOCK)).toBe(0);
        expect(await sync(sys, fd, DMA_BUF_SYNC_READ)).toBe(0);
        const t = sys.now();
        const view = sys.mem.view(addr, BLOCK);
        const dv = new DataView(view.buffer, view.byteOffset, BLOCK);
        const samples = Array.from({ length: BLOCK / 2 }, (_, i) => dv.getInt16(2 * i, true));
        await setBufferEnabled(sys, 0, false);
        return { before, t, start: rampStart(samples), first: samples.slice(0, 4), last: samples.slice(-4) };
      },
      { platform: 'ideal' },
    );
    // 4096 scans of the ramp from the first one not yet converted at the ENQUEUE: scan 0 in virtual time.
    expect(value).toEqual({
      before: [0, 0, 0, 0, 0, 0, 0, 0],
      t: vtime(BLOCK_DONE),
      start: rampFrom(0),
      first: [0, 1, 2, 3].map((c) => RAMP(value.start, c)),
      last: [0, 1, 2, 3].map((c) => RAMP(value.start + 4095, c)),
    });
    simOnly('the simulator’s count of sample bytes copied by read()/write()', () =>
      expect(result.stats.dataCopiedBytes).toBe(0),
    );
  });

  it('DMMAP-4: a process write through one mapping shows at once in another mapping of the buffer', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 3 * 4096);
      const a = await sys.mmap(0, 3 * 4096, RW, MAP_SHARED, fd, 0);
      const b = await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 2 * 4096);
      sys.mem.write(a + 2 * 4096 + 100, ascii('zero-copy'));
      const got = new TextDecoder().decode(sys.mem.read(b + 100, 9));
      sys.mem.write(a + 2 * 4096 + 100, ascii('ZERO'));
      return [got, new TextDecoder().decode(sys.mem.read(b + 100, 9))];
    });
    expect(value).toEqual(['zero-copy', 'ZERO-copy']);
  });

  it('DMMAP-4: a udmabuf mapping and its memfd see the same bytes both ways', async () => {
    const { value } = await runOne(async (sys) => {
      const memfd = await sys.memfd_create('u', MFD_ALLOW_SEALING);
      await sys.ftruncate(memfd, 8192);
      await sys.fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK);
      const dev = await sys.open('/dev/udmabuf', O_RDWR);
      const fd = await sys.ioctl(
        dev,
        UDMABUF_CREATE,
        sys.mem.allocStruct(udmabuf_create, { memfd, flags: 0, offset: 4096, size: 4096 }),
      );
      const map = await sys.mmap(0, 4096, RW, MAP_SHARED, fd, 0);
      const src = sys.mem.alloc(16);
      sys.mem.write(src, ascii('from-memfd'));
      expect(await sys.pwrite(memfd, src, 10, 4096 + 8)).toBe(10);
      const viaMap = new TextDecoder().decode(sys.mem.read(map + 8, 10));
      sys.mem.write(map + 32, ascii('from-map'));
      const dst = sys.mem.alloc(16);
      expect(await sys.pread(memfd, dst, 8, 4096 + 32)).toBe(8);
      return [viaMap, new TextDecoder().decode(sys.mem.read(dst, 8))];
    }, COHERENT);
    expect(value).toEqual(['from-memfd', 'from-map']);
  });

  it('DMMAP-4: a MAP_PRIVATE mapping inside one chunk reads the buffer bytes', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 8192);
      const shared = await sys.mmap(0, 8192, RW, MAP_SHARED, fd, 0);
      sys.mem.write(shared + 4096, ascii('chunk'));
      const priv = await sys.mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
      return new TextDecoder().decode(sys.mem.read(priv, 5));
    });
    expect(value).toBe('chunk');
  });
});

describe('DMMAP-5: dma-buf ioctls ignore the access mode', () => {
  it.each([
    ['O_RDONLY', O_RDONLY],
    ['O_WRONLY', O_WRONLY],
    ['access mode 3', O_ACCMODE],
  ])(
    'DMMAP-5: on a %s dma-buf SYNC (all directions), SET_NAME and EXPORT_SYNC_FILE succeed',
    async (_n, mode) => {
      const { value } = await runOne(async (sys) => {
        const fd = await newDmabuf(sys, 4096, mode);
        const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_WRITE, fd: 0 });
        return [
          await sync(sys, fd, DMA_BUF_SYNC_WRITE),
          await sync(sys, fd, DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END),
          await sync(sys, fd, DMA_BUF_SYNC_RW),
          await sync(sys, fd, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END),
          await sys.ioctl(fd, DMA_BUF_SET_NAME_A, sys.mem.allocString('ro')),
          await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req),
        ];
      });
      expect(value).toEqual([0, 0, 0, 0, 0, 0]);
    },
  );
});

describe('DIOC-1: DMA_BUF_SET_NAME', () => {
  const NAME31 = 'n'.repeat(31);
  const NAME32 = 'n'.repeat(32);
  it.each([
    ['A', DMA_BUF_SET_NAME_A],
    ['B', DMA_BUF_SET_NAME_B],
  ])(
    'DIOC-1: SET_NAME_%s: 31 chars 0, 32 chars -EINVAL (name kept), empty 0, NULL -EFAULT',
    async (_n, cmd) => {
      const { value } = await runOne(async (sys, sim) => {
        const fd = await newDmabuf(sys, 4096);
        const db = dmabufOf(sim, sys, fd);
        const out: (number | string)[] = [];
        out.push(await sys.ioctl(fd, cmd, sys.mem.allocString(NAME31)), db.name);
        out.push(await sys.ioctl(fd, cmd, sys.mem.allocString(NAME32)), db.name);
        out.push(await sys.ioctl(fd, cmd, sys.mem.allocString('')), db.name);
        out.push(await sys.ioctl(fd, cmd, 0), db.name);
        return out;
      });
      expect(value).toEqual([0, NAME31, -EINVAL, NAME31, 0, '', -EFAULT, '']);
    },
  );

  it('DIOC-1: the argument is the string itself: a string running into an unmapped page is -EFAULT, 32 bytes without NUL before it -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 4096);
      const page = await sys.mmap(0, 8192, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      expect(await sys.munmap(page + 4096, 4096)).toBe(0);
      sys.mem.write(page + 4096 - 5, ascii('abcde'));
      const faulting = await sys.ioctl(fd, DMA_BUF_SET_NAME_A, page + 4096 - 5);
      sys.mem.write(page + 4096 - 32, ascii('x'.repeat(32)));
      const tooLong = await sys.ioctl(fd, DMA_BUF_SET_NAME_A, page + 4096 - 32);
      sys.mem.write(page + 4096 - 6, ascii('name\0'));
      const fits = await sys.ioctl(fd, DMA_BUF_SET_NAME_A, page + 4096 - 6);
      return [faulting, tooLong, fits];
    });
    expect(value).toEqual([-EFAULT, -EINVAL, 0]);
  });

  it('DIOC-1: renaming an attached dma-buf with a fence in flight is 0 (never EBUSY)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const bfd = await adcBuffer(sys);
        const fd = await newDmabuf(sys, BLOCK);
        expect(await intIoctl(sys, bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, fd)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, bfd, fd, BLOCK)).toBe(0);
        const r = [
          await sys.ioctl(fd, DMA_BUF_SET_NAME_A, sys.mem.allocString('busy')),
          await sys.ioctl(fd, DMA_BUF_SET_NAME_B, sys.mem.allocString('busier')),
          dmabufOf(sim, sys, fd).name,
          sys.now(),
        ];
        await setBufferEnabled(sys, 0, false);
        return r;
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([0, 0, 'busier', 0]);
  });

  it('DIOC-1: both SET_NAME numbers are accepted on the v2 profile', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const bfd = await adcBuffer(sys);
        const fd = await sys.ioctl(
          bfd,
          v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
          sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: 4096, resv: 0 }),
        );
        const a = await sys.ioctl(fd, DMA_BUF_SET_NAME_A, sys.mem.allocString('a'));
        const b = await sys.ioctl(fd, DMA_BUF_SET_NAME_B, sys.mem.allocString('b'));
        return [a, b, dmabufOf(sim, sys, fd).name];
      },
      { abi: 'v2' },
    );
    expect(value).toEqual([0, 0, 'b']);
  });
});

describe('DIOC-3: other commands', () => {
  it('DIOC-3: unknown commands, SYNC with another size and a sync_file ioctl are -ENOTTY on a dma-buf', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await newDmabuf(sys, 4096);
      const arg = sys.mem.alloc(64);
      // _IOW('b', 0, 16): DMA_BUF_IOCTL_SYNC's number with the wrong size.
      const syncWrongSize = (1 << 30) | (16 << 16) | (0x62 << 8) | 0;
      return [
        await sys.ioctl(fd, 0, arg),
        await sys.ioctl(fd, syncWrongSize, arg),
        await sys.ioctl(fd, SYNC_IOC_FILE_INFO, arg),
        await sys.ioctl(fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, arg),
        await sys.ioctl(fd, (1 << 30) | (4 << 16) | (0x62 << 8) | 9, arg),
      ];
    });
    expect(value).toEqual([-ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY]);
  });
});
