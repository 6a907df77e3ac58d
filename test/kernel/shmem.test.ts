/**
 * Rules MEMFD-1..3, SEAL-1..9 and TRUNC-1..4 of ../shared/reference/kernel-semantics.md §9 (memfd_create, file
 * seals, ftruncate), with FD-1/FD-2 for memfd_create and the VFS rows as they apply to a memfd (a regular shmem
 * file: RW, IOC-5/6, POLL-5). Kernel: mm/memfd.c (`memfd_create`, `memfd_add_seals`, `memfd_wait_for_pins`),
 * fs/open.c (`do_ftruncate`), mm/shmem.c.
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Sys } from '../../src/index.ts';
import {
  DMA_HEAP_IOCTL_ALLOC,
  dma_heap_allocation_data,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  EMFILE,
  ENODEV,
  ENOMEM,
  ENXIO,
  EPERM,
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
  FIONREAD,
  FIOQSIZE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_NOEXEC_SEAL,
  O_LARGEFILE,
  O_RDONLY,
  O_RDWR,
  PAGE_SIZE,
  POLLIN,
  POLLOUT,
  POLLPRI,
  POLLRDNORM,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  UDMABUF_CREATE,
  udmabuf_create,
} from '../../src/uapi/index.ts';
import { SIGUSR1 } from '../../src/uapi/signal.ts';
import { ascii, runOne, vtime } from '../helpers.ts';

/** An address below every mapping: reading or writing it faults. */
const UNMAPPED = 0x1000;
/** memfd name limit: NAME_MAX (255) - strlen("memfd:"). */
const MFD_NAME_MAX_LEN = 249;
/** `MFD_HUGE_2MB` (21 << MFD_HUGE_SHIFT), a huge page size encoding in the flags. */
const MFD_HUGE_2MB = (21 << 26) >>> 0;
/** SEAL-7: memfd_wait_for_pins sleeps (HZ<<scan)/200 for scans 1..4: 10 + 20 + 40 + 80 ms. */
const PIN_WAIT_NS = 150_000_000;
const ALL_WRITE_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

/** A sealable memfd of `size` bytes. */
async function sealable(sys: Sys, size = 0, name = 'test'): Promise<number> {
  const fd = await sys.memfd_create(name, MFD_ALLOW_SEALING);
  if (size) await sys.ftruncate(fd, size);
  return fd;
}

/** `write(fd, bytes)`. */
async function writeBytes(sys: Sys, fd: number, bytes: Uint8Array): Promise<number> {
  const a = sys.mem.alloc(Math.max(1, bytes.length));
  sys.mem.write(a, bytes);
  return sys.write(fd, a, bytes.length);
}

/** `pread(fd, len, offset)` as an array of bytes, or the errno. */
async function preadBytes(sys: Sys, fd: number, len: number, offset: number): Promise<number[] | number> {
  const a = sys.mem.alloc(Math.max(1, len));
  const n = await sys.pread(fd, a, len, offset);
  return n < 0 ? n : [...sys.mem.read(a, n)];
}

/** A NUL-terminated string of `n` copies of 'a' whose terminator sits right before an unmapped page, or none. */
async function nameAtEdge(sys: Sys, n: number, terminated: boolean): Promise<number> {
  const len = n + (terminated ? 1 : 0);
  const pages = Math.ceil(len / PAGE_SIZE) + 1;
  const base = await sys.mmap(
    0,
    pages * PAGE_SIZE,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
    -1,
    0,
  );
  await sys.munmap(base + (pages - 1) * PAGE_SIZE, PAGE_SIZE);
  const addr = base + (pages - 1) * PAGE_SIZE - len;
  const bytes = new Uint8Array(len).fill(0x61);
  if (terminated) bytes[n] = 0;
  sys.mem.write(addr, bytes);
  return addr;
}

/** UDMABUF_CREATE of `[0, size)` of `memfd`: the udmabuf fd (pins the memfd's pages). */
async function pin(sys: Sys, memfd: number, size = PAGE_SIZE): Promise<number> {
  const dev = await sys.open('/dev/udmabuf', O_RDWR);
  const fd = await sys.ioctl(dev, UDMABUF_CREATE, sys.mem.allocStruct(udmabuf_create, { memfd, size }));
  await sys.close(dev);
  if (fd < 0) throw new Error(`UDMABUF_CREATE gave ${fd}`);
  return fd;
}

/** F_ADD_SEALS and the virtual time it took. */
async function addSeals(sys: Sys, fd: number, seals: number): Promise<{ ret: number; ns: number }> {
  const t0 = sys.now();
  const ret = await sys.fcntl(fd, F_ADD_SEALS, seals);
  return { ret, ns: sys.now() - t0 };
}

const isAddr = (r: number) => (r > 0 && r % PAGE_SIZE === 0 ? 'ok' : r);

describe('MEMFD-1: memfd_create checks', () => {
  it('MEMFD-1: unknown flag bits are -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const out: number[] = [];
      for (const f of [0x20, 0x40, 0x100, 0x80000000, MFD_HUGE_2MB, MFD_HUGETLB | 0x40])
        out.push(await sys.memfd_create('x', f));
      return out;
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('MEMFD-1: with MFD_HUGETLB the huge page size bits (MFD_HUGE_2MB) are not unknown flags', async () => {
    const { value } = await runOne(async (sys) => {
      return await sys.memfd_create('huge', MFD_HUGETLB | MFD_HUGE_2MB);
    });
    expect(value).toBe(0);
  });

  it('MEMFD-1: an MFD_HUGETLB memfd is hugetlbfs with no huge page reserved: sizes in huge pages, mmap -ENOMEM, write -EINVAL, udmabuf -ENOMEM', async () => {
    const { value } = await runOne(async (sys) => {
      const badSize = await sys.memfd_create('huge', (MFD_HUGETLB | (22 << 26)) >>> 0);
      const fd = await sys.memfd_create('huge', MFD_HUGETLB | MFD_ALLOW_SEALING);
      const seal = await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
      const unaligned = await sys.ftruncate(fd, PAGE_SIZE);
      const aligned = await sys.ftruncate(fd, 4 << 20);
      const map = await sys.mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const write = await sys.pwrite(fd, sys.mem.alloc(16), 16, 0);
      const buf = sys.mem.alloc(16);
      sys.mem.write(buf, new Uint8Array(16).fill(7));
      const read = await sys.pread(fd, buf, 16, 0);
      const dev = await sys.open('/dev/udmabuf', O_RDWR);
      const ubuf = await sys.ioctl(
        dev,
        UDMABUF_CREATE,
        sys.mem.allocStruct(udmabuf_create, { memfd: fd, size: PAGE_SIZE }),
      );
      return [badSize, seal, unaligned, aligned, map, write, read, [...sys.mem.read(buf, 16)], ubuf];
    });
    expect(value).toEqual([-ENODEV, 0, -EINVAL, 0, -ENOMEM, -EINVAL, 16, new Array(16).fill(0), -ENOMEM]);
  });

  it('MEMFD-1: MFD_EXEC together with MFD_NOEXEC_SEAL is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      return [
        await sys.memfd_create('x', MFD_EXEC | MFD_NOEXEC_SEAL),
        await sys.memfd_create('x', MFD_EXEC | MFD_NOEXEC_SEAL | MFD_ALLOW_SEALING | MFD_CLOEXEC),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('MEMFD-1: an unreadable name is -EFAULT; the flags are checked first', async () => {
    const { value } = await runOne(async (sys) => {
      return [await sys.memfd_create(UNMAPPED, 0), await sys.memfd_create(UNMAPPED, 0x40)];
    });
    expect(value).toEqual([-EFAULT, -EINVAL]);
  });

  it('MEMFD-1: a 249-byte name works, 250 bytes is -EINVAL (as a string and as an address)', async () => {
    const { value } = await runOne(async (sys) => {
      return [
        await sys.memfd_create('a'.repeat(MFD_NAME_MAX_LEN), 0),
        await sys.memfd_create('a'.repeat(MFD_NAME_MAX_LEN + 1), 0),
        await sys.memfd_create(sys.mem.allocString('b'.repeat(MFD_NAME_MAX_LEN)), 0),
        await sys.memfd_create(sys.mem.allocString('b'.repeat(MFD_NAME_MAX_LEN + 1)), 0),
        await sys.memfd_create('', 0),
      ];
    });
    expect(value).toEqual([0, -EINVAL, 1, -EINVAL, 2]);
  });

  it('MEMFD-1: the name copy reads at most 250 bytes: 250 bytes before a hole is -EINVAL, 249 without NUL -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      return [
        await sys.memfd_create(await nameAtEdge(sys, MFD_NAME_MAX_LEN + 1, false), 0),
        await sys.memfd_create(await nameAtEdge(sys, MFD_NAME_MAX_LEN, false), 0),
        await sys.memfd_create(await nameAtEdge(sys, MFD_NAME_MAX_LEN, true), 0),
        await sys.memfd_create(await nameAtEdge(sys, 10, false), 0),
      ];
    });
    expect(value).toEqual([-EINVAL, -EFAULT, 0, -EFAULT]);
  });

  it('MEMFD-1 FD-2: with no free fd memfd_create is -EMFILE; name and flags are checked before', async () => {
    const { value } = await runOne(
      async (sys) => {
        const a = await sys.memfd_create('a', 0);
        const b = await sys.memfd_create('b', 0);
        return [
          a,
          b,
          await sys.memfd_create('c', 0),
          await sys.memfd_create('c', 0x40),
          await sys.memfd_create(UNMAPPED, 0),
        ];
      },
      { spawn: { nofile: 2 } },
    );
    expect(value).toEqual([0, 1, -EMFILE, -EINVAL, -EFAULT]);
  });
});

describe('MEMFD-2: the new memfd', () => {
  it('MEMFD-2 FD-1: memfd_create returns the lowest free fd', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.memfd_create('a', 0);
      const b = await sys.memfd_create('b', 0);
      const c = await sys.memfd_create('c', 0);
      await sys.close(b);
      return [a, b, c, await sys.memfd_create('d', 0), await sys.memfd_create('e', 0)];
    });
    expect(value).toEqual([0, 1, 2, 1, 3]);
  });

  it('MEMFD-2: size 0, F_GETFL O_RDWR|O_LARGEFILE, FD_CLOEXEC iff MFD_CLOEXEC', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.memfd_create('a', 0);
      const b = await sys.memfd_create('b', MFD_CLOEXEC | MFD_ALLOW_SEALING);
      return [
        await sys.lseek(a, 0, SEEK_END),
        await sys.fcntl(a, F_GETFL),
        await sys.fcntl(b, F_GETFL),
        await sys.fcntl(a, F_GETFD),
        await sys.fcntl(b, F_GETFD),
      ];
    });
    expect(value).toEqual([0, O_RDWR | O_LARGEFILE, O_RDWR | O_LARGEFILE, 0, FD_CLOEXEC]);
  });

  it('MEMFD-2: an ILP32 process gets O_LARGEFILE too (memfd_alloc_file sets it)', async () => {
    const { value } = await runOne(async (sys) => await sys.fcntl(await sys.memfd_create('a', 0), F_GETFL), {
      spawn: { compat: true },
    });
    expect(value).toBe(O_RDWR | O_LARGEFILE);
  });

  it('UACC-2 MEMFD-2: a memfd read or write whose buffer runs into an unmapped page is short: the bytes before the fault; none at all is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys);
      const src = sys.mem.alloc(3 * PAGE_SIZE);
      sys.mem.write(src, new Uint8Array(3 * PAGE_SIZE).fill(0x41));
      const filled = await sys.write(fd, src, 3 * PAGE_SIZE);
      const two = await sys.mmap(
        0,
        2 * PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1,
        0,
      );
      expect(await sys.munmap(two + PAGE_SIZE, PAGE_SIZE)).toBe(0);
      return {
        filled,
        readShort: await sys.pread(fd, two + PAGE_SIZE - 100, 1000, 0),
        readNone: await sys.pread(fd, two + PAGE_SIZE, 1000, 0),
        writeShort: await sys.pwrite(fd, two + PAGE_SIZE - 100, 1000, 8192),
        writeNone: await sys.pwrite(fd, two + PAGE_SIZE, 1000, 0),
        read: await sys.lseek(fd, 0, SEEK_SET).then(() => sys.read(fd, two + PAGE_SIZE - 10, 100)),
      };
    });
    // shmem_file_read_iter() and generic_perform_write() return what was copied before the fault (UACC-2
    // in docs/quirks.md): 100 bytes before the unmapped page.
    expect(value).toEqual({
      filled: 3 * PAGE_SIZE,
      readShort: 100,
      readNone: -EFAULT,
      writeShort: 100,
      writeNone: -EFAULT,
      read: 10,
    });
  });

  it('MEMFD-2: read, write, lseek, pread and pwrite work as on a regular file', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('rw', 0);
      const w = await writeBytes(sys, fd, ascii('hello world'));
      const pos = await sys.lseek(fd, 0, SEEK_CUR);
      const set = await sys.lseek(fd, 6, SEEK_SET);
      const buf = sys.mem.alloc(16);
      const r = await sys.read(fd, buf, 16);
      const text = new TextDecoder().decode(sys.mem.read(buf, r));
      const eof = await sys.read(fd, buf, 16);
      const pw = await writeBytes(sys, fd, ascii('!'));
      const p = await preadBytes(sys, fd, 5, 0);
      const pos2 = await sys.lseek(fd, 0, SEEK_CUR);
      const end = await sys.lseek(fd, 0, SEEK_END);
      return [w, pos, set, r, text, eof, pw, p, pos2, end];
    });
    expect(value).toEqual([11, 11, 6, 5, 'world', 0, 1, [...ascii('hello')], 12, 12]);
  });

  it('MEMFD-2: pwrite past the end grows the file and fills the gap with zeros', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('grow', 0);
      const a = sys.mem.alloc(2);
      sys.mem.write(a, new Uint8Array([7, 8]));
      const n = await sys.pwrite(fd, a, 2, 5000);
      return [
        n,
        await sys.lseek(fd, 0, SEEK_CUR),
        await sys.lseek(fd, 0, SEEK_END),
        await preadBytes(sys, fd, 4, 4998),
      ];
    });
    expect(value).toEqual([2, 0, 5002, [0, 0, 7, 8]]);
  });

  it('MEMFD-2 UACC-2: a write from an unmapped buffer is -EFAULT and leaves the size alone', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('fault', 0);
      const r = await sys.write(fd, UNMAPPED, 100);
      return [r, await sys.lseek(fd, 0, SEEK_CUR), await sys.lseek(fd, 0, SEEK_END)];
    });
    expect(value).toEqual([-EFAULT, 0, 0]);
  });

  it('MEMFD-2: lseek on a memfd supports SEEK_DATA and SEEK_HOLE (shmem_file_llseek)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('seek', 0);
      await writeBytes(sys, fd, new Uint8Array(10).fill(1));
      return [
        await sys.lseek(fd, 0, SEEK_DATA),
        await sys.lseek(fd, 3, SEEK_HOLE),
        await sys.lseek(fd, 10, SEEK_DATA),
        await sys.lseek(fd, -1, SEEK_DATA),
        await sys.lseek(fd, -11, SEEK_END),
        await sys.lseek(fd, 100, SEEK_SET),
      ];
    });
    expect(value).toEqual([0, 10, -ENXIO, -ENXIO, -EINVAL, 100]);
  });

  it('MEMFD-2: mmap works; a shared mapping and write()/read() see the same bytes', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('map', 0);
      await sys.ftruncate(fd, 2 * PAGE_SIZE);
      const m = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      sys.mem.write(m + PAGE_SIZE, ascii('via map'));
      const seen = await preadBytes(sys, fd, 7, PAGE_SIZE);
      const a = sys.mem.alloc(3);
      sys.mem.write(a, ascii('abc'));
      await sys.pwrite(fd, a, 3, 10);
      return [isAddr(m), seen, new TextDecoder().decode(sys.mem.read(m + 10, 3))];
    });
    expect(value).toEqual(['ok', [...ascii('via map')], 'abc']);
  });

  it('MEMFD-2 POLL-5: poll on a memfd is DEFAULT_POLLMASK & (events | POLLERR | POLLHUP)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('poll', 0);
      const entries: PollEntry[] = [
        { fd, events: POLLIN | POLLOUT | POLLPRI },
        { fd, events: POLLRDNORM },
        { fd, events: 0 },
      ];
      return [await sys.pollfds(entries, 0), entries.map((e) => e.revents)];
    });
    expect(value).toEqual([2, [POLLIN | POLLOUT, POLLRDNORM, 0]]);
  });

  it('MEMFD-2 IOC-6: FIONREAD on a memfd (regular file) is i_size - f_pos, answered by the VFS', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('fionread', 0);
      await writeBytes(sys, fd, new Uint8Array(100));
      await sys.lseek(fd, 30, SEEK_SET);
      const out = sys.mem.alloc(4);
      const r = await sys.ioctl(fd, FIONREAD, out);
      return [r, sys.mem.readInt(out), await sys.ioctl(fd, FIONREAD, UNMAPPED)];
    });
    expect(value).toEqual([0, 70, -EFAULT]);
  });

  it('MEMFD-2 IOC-5: FIOQSIZE on a memfd (regular file) reports the bytes in use, not -ENOTTY', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('fioqsize', 0);
      await writeBytes(sys, fd, new Uint8Array(10).fill(1));
      const out = sys.mem.alloc(8);
      const r = await sys.ioctl(fd, FIOQSIZE, out);
      return [r, new DataView(sys.mem.read(out, 8).buffer).getBigInt64(0, true)];
    });
    expect(value).toEqual([0, 4096n]);
  });

  it('MEMFD-2 IOC-5: FIOQSIZE counts allocated blocks: a memfd only grown by ftruncate is sparse (0 bytes)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('sparse', 0);
      await sys.ftruncate(fd, 4 * PAGE_SIZE);
      const out = sys.mem.alloc(8);
      const r = await sys.ioctl(fd, FIOQSIZE, out);
      return [r, new DataView(sys.mem.read(out, 8).buffer).getBigInt64(0, true)];
    });
    expect(value).toEqual([0, 0n]);
  });
});

describe('MEMFD-3: initial seals', () => {
  it('MEMFD-3: F_SEAL_SEAL without MFD_ALLOW_SEALING, 0 with it, F_SEAL_EXEC with MFD_NOEXEC_SEAL', async () => {
    const { value } = await runOne(async (sys) => {
      const out: number[] = [];
      for (const f of [
        0,
        MFD_ALLOW_SEALING,
        MFD_NOEXEC_SEAL,
        MFD_NOEXEC_SEAL | MFD_ALLOW_SEALING,
        MFD_EXEC,
        MFD_EXEC | MFD_ALLOW_SEALING,
        MFD_CLOEXEC,
      ])
        out.push(await sys.fcntl(await sys.memfd_create('s', f), F_GET_SEALS));
      return out;
    });
    expect(value).toEqual([F_SEAL_SEAL, 0, F_SEAL_EXEC, F_SEAL_EXEC, F_SEAL_SEAL, 0, F_SEAL_SEAL]);
  });

  it('MEMFD-3: MFD_NOEXEC_SEAL allows sealing', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('noexec', MFD_NOEXEC_SEAL);
      return [await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), await sys.fcntl(fd, F_GET_SEALS)];
    });
    expect(value).toEqual([0, F_SEAL_EXEC | F_SEAL_SHRINK]);
  });
});

describe('SEAL-1..4: F_ADD_SEALS checks, in order', () => {
  it('SEAL-1: a file without write access is -EPERM, before the bits and the file type are looked at', async () => {
    const { value } = await runOne(async (sys) => {
      const nul = await sys.open('/dev/null', O_RDONLY);
      const attr = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
      const heap = await sys.open('/dev/dma_heap/system', O_RDONLY);
      const data = sys.mem.allocStruct(dma_heap_allocation_data, { len: PAGE_SIZE, fd_flags: O_RDONLY });
      await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, data);
      const roBuf = sys.mem.readStruct(data, dma_heap_allocation_data).fd;
      return [
        await sys.fcntl(nul, F_ADD_SEALS, F_SEAL_SHRINK),
        await sys.fcntl(nul, F_ADD_SEALS, 0x40),
        await sys.fcntl(attr, F_ADD_SEALS, 0),
        await sys.fcntl(heap, F_ADD_SEALS, F_SEAL_WRITE),
        await sys.fcntl(roBuf, F_ADD_SEALS, F_SEAL_WRITE),
      ];
    });
    expect(value).toEqual([-EPERM, -EPERM, -EPERM, -EPERM, -EPERM]);
  });

  it('SEAL-2: bits outside 0x3f are -EINVAL, even on a memfd with F_SEAL_SEAL set', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys);
      const sealed = await sys.memfd_create('sealed', 0);
      return [
        await sys.fcntl(fd, F_ADD_SEALS, 0x40),
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | 0x80),
        await sys.fcntl(fd, F_ADD_SEALS, 0x80000000),
        await sys.fcntl(fd, F_GET_SEALS),
        await sys.fcntl(sealed, F_ADD_SEALS, 0x40),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, 0, -EINVAL]);
  });

  it('SEAL-3: a writable file that is not a memfd is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const nul = await sys.open('/dev/null', O_RDWR);
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const data = sys.mem.allocStruct(dma_heap_allocation_data, { len: PAGE_SIZE, fd_flags: O_RDWR });
      await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, data);
      const buf = sys.mem.readStruct(data, dma_heap_allocation_data).fd;
      const udev = await sys.open('/dev/udmabuf', O_RDWR);
      const iio = await sys.open('/dev/iio:device0', O_RDWR);
      const out: number[] = [];
      for (const fd of [nul, heap, buf, udev, iio]) out.push(await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
      return out;
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('SEAL-4: with F_SEAL_SEAL set every F_ADD_SEALS is -EPERM, adding 0 included', async () => {
    const { value } = await runOne(async (sys) => {
      const plain = await sys.memfd_create('plain', 0);
      const fd = await sealable(sys);
      const first = await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_GROW);
      return [
        await sys.fcntl(plain, F_ADD_SEALS, 0),
        await sys.fcntl(plain, F_ADD_SEALS, F_SEAL_SHRINK),
        first,
        await sys.fcntl(fd, F_ADD_SEALS, 0),
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW),
        await sys.fcntl(fd, F_GET_SEALS),
      ];
    });
    expect(value).toEqual([-EPERM, -EPERM, 0, -EPERM, -EPERM, F_SEAL_SEAL | F_SEAL_GROW]);
  });
});

describe('SEAL-5: F_SEAL_EXEC', () => {
  it('SEAL-5: F_SEAL_EXEC on a memfd with exec bits (the default 0777) also adds SHRINK, GROW, WRITE, FUTURE_WRITE', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys);
      const exec = await sys.memfd_create('exec', MFD_EXEC | MFD_ALLOW_SEALING);
      return [
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC),
        await sys.fcntl(fd, F_GET_SEALS),
        await sys.fcntl(exec, F_ADD_SEALS, F_SEAL_EXEC | F_SEAL_SEAL),
        await sys.fcntl(exec, F_GET_SEALS),
      ];
    });
    expect(value).toEqual([0, F_SEAL_EXEC | ALL_WRITE_SEALS, 0, F_SEAL_EXEC | F_SEAL_SEAL | ALL_WRITE_SEALS]);
  });

  it('SEAL-5: on an MFD_NOEXEC_SEAL memfd (mode 0666) F_SEAL_EXEC adds nothing else', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('noexec', MFD_NOEXEC_SEAL);
      return [await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC), await sys.fcntl(fd, F_GET_SEALS)];
    });
    expect(value).toEqual([0, F_SEAL_EXEC]);
  });

  it('SEAL-5 SEAL-6: the widened F_SEAL_WRITE is refused under a shared writable mapping: -EBUSY, nothing added', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      const m = await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const r = await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC);
      const seals = await sys.fcntl(fd, F_GET_SEALS);
      await sys.munmap(m, PAGE_SIZE);
      return [r, seals, await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC), await sys.fcntl(fd, F_GET_SEALS)];
    });
    expect(value).toEqual([-EBUSY, 0, 0, F_SEAL_EXEC | ALL_WRITE_SEALS]);
  });

  it('SEAL-5 SEAL-7: the widened F_SEAL_WRITE waits for udmabuf pins and fails -EBUSY after 150 ms', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sealable(sys, PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        await pin(sys, fd);
        return [await addSeals(sys, fd, F_SEAL_EXEC), await sys.fcntl(fd, F_GET_SEALS)];
      },
      // The 150 ms are the kernel's own retry sleeps, which do not slow down with the devices.
      { platform: 'ideal', realTimescale: 1 },
    );
    expect(value).toEqual([{ ret: -EBUSY, ns: vtime(PIN_WAIT_NS) }, F_SEAL_SHRINK]);
  });
});

describe('SEAL-6: F_SEAL_WRITE against shared writable mappings', () => {
  it('SEAL-6: a MAP_SHARED mapping of the writable fd, even PROT_READ, makes F_SEAL_WRITE -EBUSY', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      const rw = await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const a = await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
      await sys.munmap(rw, PAGE_SIZE);
      const ro = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      const b = await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW);
      const seals = await sys.fcntl(fd, F_GET_SEALS);
      await sys.munmap(ro, PAGE_SIZE);
      return [a, b, seals, await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), await sys.fcntl(fd, F_GET_SEALS)];
    });
    expect(value).toEqual([-EBUSY, -EBUSY, 0, 0, F_SEAL_WRITE]);
  });

  it('SEAL-6: the mapping counts until its last page is unmapped, also after the fd is closed', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, 2 * PAGE_SIZE);
      const other = await sys.dup(fd);
      const m = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED_VALIDATE, fd, 0);
      await sys.close(fd);
      const whole = await sys.fcntl(other, F_ADD_SEALS, F_SEAL_WRITE);
      await sys.munmap(m, PAGE_SIZE);
      const half = await sys.fcntl(other, F_ADD_SEALS, F_SEAL_WRITE);
      await sys.munmap(m + PAGE_SIZE, PAGE_SIZE);
      return [whole, half, await sys.fcntl(other, F_ADD_SEALS, F_SEAL_WRITE)];
    });
    expect(value).toEqual([-EBUSY, -EBUSY, 0]);
  });

  it('SEAL-6: private mappings do not count', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      const m = await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      return [isAddr(m), await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)];
    });
    expect(value).toEqual(['ok', 0]);
  });

  it('SEAL-6: only a newly added F_SEAL_WRITE checks; F_SEAL_FUTURE_WRITE never does', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sealable(sys, PAGE_SIZE);
      const first = await sys.fcntl(a, F_ADD_SEALS, F_SEAL_WRITE);
      const ro = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, a, 0);
      const again = await sys.fcntl(a, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK);
      const b = await sealable(sys, PAGE_SIZE);
      await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
      const future = await sys.fcntl(b, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
      return [first, isAddr(ro), again, await sys.fcntl(a, F_GET_SEALS), future];
    });
    expect(value).toEqual([0, 'ok', 0, F_SEAL_WRITE | F_SEAL_SHRINK, 0]);
  });

  it('SEAL-6: a read-only shared mapping made under F_SEAL_FUTURE_WRITE loses VM_MAYWRITE and does not count', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
      const ro = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      return [isAddr(ro), await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE)];
    });
    expect(value).toEqual(['ok', 0]);
  });
});

describe('SEAL-7: F_SEAL_WRITE against udmabuf pins', () => {
  it('SEAL-7: F_SEAL_WRITE while a udmabuf pins the pages is -EBUSY after 150 ms of retries; nothing added', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sealable(sys, 2 * PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        await pin(sys, fd, PAGE_SIZE);
        const r = await addSeals(sys, fd, F_SEAL_WRITE | F_SEAL_GROW);
        return [r, await sys.fcntl(fd, F_GET_SEALS)];
      },
      // The 150 ms are the kernel's own retry sleeps, which do not slow down with the devices.
      { platform: 'ideal', realTimescale: 1 },
    );
    expect(value).toEqual([{ ret: -EBUSY, ns: vtime(PIN_WAIT_NS) }, F_SEAL_SHRINK]);
  });

  it('SEAL-6 SEAL-7: a shared writable mapping fails F_SEAL_WRITE at once, before any wait for pins', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sealable(sys, PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        await pin(sys, fd);
        await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
        return await addSeals(sys, fd, F_SEAL_WRITE);
      },
      // The 150 ms are the kernel's own retry sleeps, which do not slow down with the devices.
      { platform: 'ideal', realTimescale: 1 },
    );
    expect(value).toEqual({ ret: -EBUSY, ns: vtime(0) });
  });

  it('SEAL-7: once the udmabuf is gone F_SEAL_WRITE succeeds at once', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sealable(sys, PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        const ub = await pin(sys, fd);
        await sys.close(ub);
        return [await addSeals(sys, fd, F_SEAL_WRITE), await sys.fcntl(fd, F_GET_SEALS)];
      },
      // The 150 ms are the kernel's own retry sleeps, which do not slow down with the devices.
      { platform: 'ideal', realTimescale: 1 },
    );
    expect(value).toEqual([{ ret: 0, ns: vtime(0) }, F_SEAL_SHRINK | F_SEAL_WRITE]);
  });

  it('SEAL-7: a udmabuf mapping keeps the pins after its fd is closed', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sealable(sys, PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        const ub = await pin(sys, fd);
        const m = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, ub, 0);
        await sys.close(ub);
        const mapped = await addSeals(sys, fd, F_SEAL_WRITE);
        await sys.munmap(m, PAGE_SIZE);
        return [mapped, await addSeals(sys, fd, F_SEAL_WRITE)];
      },
      // The 150 ms are the kernel's own retry sleeps, which do not slow down with the devices.
      { platform: 'ideal', realTimescale: 1 },
    );
    expect(value).toEqual([
      { ret: -EBUSY, ns: vtime(PIN_WAIT_NS) },
      { ret: 0, ns: vtime(0) },
    ]);
  });

  it('SEAL-7: the wait is killable only: a handled signal does not cut it short', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const fd = await sealable(sys, PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        await pin(sys, fd);
        await sys.sigaction(SIGUSR1, { restart: false });
        sim.at(sys.now() + 50_000_000, 'SIGUSR1', () => sim.kill(sys.pid, SIGUSR1));
        return await addSeals(sys, fd, F_SEAL_WRITE);
      },
      // The 150 ms are the kernel's own retry sleeps, which do not slow down with the devices.
      { platform: 'ideal', realTimescale: 1 },
    );
    expect(value).toEqual({ ret: -EBUSY, ns: vtime(PIN_WAIT_NS) });
  });

  it('SEAL-7 SEAL-8: seals other than F_SEAL_WRITE do not wait for pins (GROW, FUTURE_WRITE, SEAL)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sealable(sys, PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        const ub = await pin(sys, fd);
        const r = [
          await addSeals(sys, fd, F_SEAL_GROW),
          await addSeals(sys, fd, F_SEAL_FUTURE_WRITE),
          await addSeals(sys, fd, F_SEAL_SEAL),
        ];
        const m = await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ub, 0);
        sys.mem.write(m, ascii('still writable'));
        return [r, await sys.fcntl(fd, F_GET_SEALS), await preadBytes(sys, fd, 5, 0)];
      },
      // The 150 ms are the kernel's own retry sleeps, which do not slow down with the devices.
      { platform: 'ideal', realTimescale: 1 },
    );
    expect(value).toEqual([
      [
        { ret: 0, ns: vtime(0) },
        { ret: 0, ns: vtime(0) },
        { ret: 0, ns: vtime(0) },
      ],
      F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL,
      [...ascii('still')],
    ]);
  });
});

describe('SEAL-8/9: adding and reading seals', () => {
  it('SEAL-8: seals are OR-ed in and each F_ADD_SEALS returns 0', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys);
      const out: number[] = [];
      for (const s of [0, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SHRINK, F_SEAL_FUTURE_WRITE | F_SEAL_WRITE]) {
        out.push(await sys.fcntl(fd, F_ADD_SEALS, s), await sys.fcntl(fd, F_GET_SEALS));
      }
      return out;
    });
    expect(value).toEqual([
      0,
      0,
      0,
      F_SEAL_SHRINK,
      0,
      F_SEAL_SHRINK | F_SEAL_GROW,
      0,
      F_SEAL_SHRINK | F_SEAL_GROW,
      0,
      ALL_WRITE_SEALS,
    ]);
  });

  it('SEAL-8: seals belong to the inode: a dup sees and adds to the same set', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys);
      const d = await sys.dup(fd);
      await sys.fcntl(d, F_ADD_SEALS, F_SEAL_GROW);
      return [
        await sys.fcntl(fd, F_GET_SEALS),
        await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL),
        await sys.fcntl(d, F_ADD_SEALS, 0),
      ];
    });
    expect(value).toEqual([F_SEAL_GROW, 0, -EPERM]);
  });

  it('SEAL-9: F_GET_SEALS on a file that is not a memfd is -EINVAL; on a closed fd -EBADF', async () => {
    const { value } = await runOne(async (sys) => {
      const nul = await sys.open('/dev/null', O_RDONLY);
      const heap = await sys.open('/dev/dma_heap/system', O_RDONLY);
      const udev = await sys.open('/dev/udmabuf', O_RDWR);
      const attr = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
      return [
        await sys.fcntl(nul, F_GET_SEALS),
        await sys.fcntl(heap, F_GET_SEALS),
        await sys.fcntl(udev, F_GET_SEALS),
        await sys.fcntl(attr, F_GET_SEALS),
        await sys.fcntl(50, F_GET_SEALS),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EBADF]);
  });

  it('SEAL-9: F_GET_SEALS on a udmabuf dma-buf made from a memfd is -EINVAL (a dma-buf, not shmem)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
      const ub = await pin(sys, fd);
      return [await sys.fcntl(ub, F_GET_SEALS), await sys.fcntl(ub, F_ADD_SEALS, F_SEAL_GROW)];
    });
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });
});

describe('TRUNC-1: ftruncate generic checks', () => {
  it('TRUNC-1: a negative length is -EINVAL, checked before the fd', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('t', 0);
      return [await sys.ftruncate(fd, -1), await sys.ftruncate(77, -1), await sys.ftruncate(77, 0)];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EBADF]);
  });

  it('TRUNC-1: not a regular file (heap fd, udmabuf node, dma-buf, /dev/null, IIO chardev) is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const data = sys.mem.allocStruct(dma_heap_allocation_data, { len: PAGE_SIZE, fd_flags: O_RDWR });
      await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, data);
      const buf = sys.mem.readStruct(data, dma_heap_allocation_data).fd;
      const m = await sealable(sys, PAGE_SIZE);
      await sys.fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK);
      const ub = await pin(sys, m);
      const udev = await sys.open('/dev/udmabuf', O_RDWR);
      const nul = await sys.open('/dev/null', O_RDWR);
      const iio = await sys.open('/dev/iio:device0', O_RDWR);
      const out: number[] = [];
      for (const fd of [heap, buf, ub, udev, nul, iio]) out.push(await sys.ftruncate(fd, PAGE_SIZE));
      return out;
    });
    expect(value).toEqual(Array(6).fill(-EINVAL));
  });

  it('TRUNC-1: a regular file opened without write access (sysfs attribute, O_RDONLY) is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const attr = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
      return await sys.ftruncate(attr, 0);
    });
    expect(value).toBe(-EINVAL);
  });

  it('TRUNC-1: ftruncate of a memfd sets the size; growth reads as zeros, shrink drops the tail', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.memfd_create('t', 0);
      await writeBytes(sys, fd, ascii('abcdef'));
      const shrink = await sys.ftruncate(fd, 3);
      const s1 = await sys.lseek(fd, 0, SEEK_END);
      const grow = await sys.ftruncate(fd, 6);
      return [shrink, s1, grow, await preadBytes(sys, fd, 10, 0)];
    });
    expect(value).toEqual([0, 3, 0, [0x61, 0x62, 0x63, 0, 0, 0]]);
  });
});

describe('TRUNC-2/3: size seals', () => {
  it('TRUNC-2: shrinking under F_SEAL_SHRINK and growing under F_SEAL_GROW are -EPERM; the other direction works', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sealable(sys, 2 * PAGE_SIZE);
      await sys.fcntl(a, F_ADD_SEALS, F_SEAL_SHRINK);
      const b = await sealable(sys, 2 * PAGE_SIZE);
      await sys.fcntl(b, F_ADD_SEALS, F_SEAL_GROW);
      return [
        await sys.ftruncate(a, PAGE_SIZE),
        await sys.ftruncate(a, 0),
        await sys.ftruncate(a, 3 * PAGE_SIZE),
        await sys.lseek(a, 0, SEEK_END),
        await sys.ftruncate(b, 2 * PAGE_SIZE + 1),
        await sys.ftruncate(b, PAGE_SIZE),
        await sys.lseek(b, 0, SEEK_END),
      ];
    });
    expect(value).toEqual([-EPERM, -EPERM, 0, 3 * PAGE_SIZE, -EPERM, 0, PAGE_SIZE]);
  });

  it('TRUNC-2: F_SEAL_GROW also refuses a write that would extend the file', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, 100);
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_GROW);
      const a = sys.mem.alloc(10);
      return [
        await sys.pwrite(fd, a, 10, 95),
        await sys.pwrite(fd, a, 10, 90),
        await sys.lseek(fd, 0, SEEK_END),
      ];
    });
    expect(value).toEqual([-EPERM, 10, 100]);
  });

  it('TRUNC-3: the same size is 0 under every seal', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | ALL_WRITE_SEALS | F_SEAL_EXEC);
      return [await sys.fcntl(fd, F_GET_SEALS), await sys.ftruncate(fd, PAGE_SIZE)];
    });
    expect(value).toEqual([0x3f, 0]);
  });
});

describe('TRUNC-4: write seals', () => {
  it('TRUNC-4: write and pwrite under F_SEAL_WRITE or F_SEAL_FUTURE_WRITE are -EPERM; the data is unchanged', async () => {
    const { value } = await runOne(async (sys) => {
      const out: unknown[] = [];
      for (const seal of [F_SEAL_WRITE, F_SEAL_FUTURE_WRITE]) {
        const fd = await sealable(sys);
        await writeBytes(sys, fd, ascii('data'));
        await sys.fcntl(fd, F_ADD_SEALS, seal);
        const a = sys.mem.alloc(4);
        sys.mem.write(a, ascii('XXXX'));
        out.push(await sys.write(fd, a, 4), await sys.pwrite(fd, a, 4, 0), await preadBytes(sys, fd, 4, 0));
      }
      return out;
    });
    const data = [...ascii('data')];
    expect(value).toEqual([-EPERM, -EPERM, data, -EPERM, -EPERM, data]);
  });

  it('TRUNC-4 RW-4: a zero-length write under a write seal is 0 (generic_write_checks returns before write_begin)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, 10);
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
      return await sys.write(fd, sys.mem.alloc(1), 0);
    });
    expect(value).toBe(0);
  });

  it('TRUNC-4: ftruncate is not a write: under F_SEAL_WRITE alone the size can still change', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_FUTURE_WRITE);
      return [
        await sys.ftruncate(fd, 2 * PAGE_SIZE),
        await sys.ftruncate(fd, 10),
        await sys.lseek(fd, 0, SEEK_END),
      ];
    });
    expect(value).toEqual([0, 0, 10]);
  });

  it('TRUNC-4: a new MAP_SHARED + PROT_WRITE mapping is -EPERM; shared read-only and private writable are allowed', async () => {
    const { value } = await runOne(async (sys) => {
      const out: unknown[] = [];
      for (const seal of [F_SEAL_WRITE, F_SEAL_FUTURE_WRITE]) {
        const fd = await sealable(sys, PAGE_SIZE);
        await sys.fcntl(fd, F_ADD_SEALS, seal);
        out.push(
          await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
          await sys.mmap(0, PAGE_SIZE, PROT_WRITE, MAP_SHARED_VALIDATE, fd, 0),
          isAddr(await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0)),
          isAddr(await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)),
        );
      }
      return out;
    });
    expect(value).toEqual([-EPERM, -EPERM, 'ok', 'ok', -EPERM, -EPERM, 'ok', 'ok']);
  });

  it('TRUNC-4: writes to a private mapping of a sealed memfd stay private', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys);
      await writeBytes(sys, fd, ascii('orig'));
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
      const m = await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      sys.mem.write(m, ascii('COPY'));
      return [new TextDecoder().decode(sys.mem.read(m, 4)), await preadBytes(sys, fd, 4, 0)];
    });
    expect(value).toEqual(['COPY', [...ascii('orig')]]);
  });

  it('TRUNC-4: a shared writable mapping made before F_SEAL_FUTURE_WRITE keeps writing into the file', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sealable(sys, PAGE_SIZE);
      const m = await sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const r = await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
      sys.mem.write(m, ascii('late'));
      return [r, await preadBytes(sys, fd, 4, 0), await writeBytes(sys, fd, ascii('x'))];
    });
    expect(value).toEqual([0, [...ascii('late')], -EPERM]);
  });
});
