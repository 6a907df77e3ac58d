/**
 * `fstat()` and `readlink()`, fs/stat.c (`vfs_fstat()`, `do_readlinkat()`): their errno paths, the struct of
 * each ABI, and what `/proc/self/fd/N` links to for the files the simulator has. Not rulebook rules: named by
 * the kernel function. The tests also run on Linux 7.3.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/index.ts';
import {
  DMA_HEAP_IOCTL_ALLOC,
  dma_heap_allocation_data,
  EBADF,
  EFAULT,
  EINVAL,
  ENOENT,
  O_RDONLY,
  O_RDWR,
  S_IFCHR,
  S_IFMT,
} from '../../src/uapi/index.ts';
import { decodeStat, STAT_SIZE } from '../../src/uapi/stat.ts';
import { runOne } from '../helpers.ts';

/** An address no process has mapped. */
const BAD_ADDR = 0x10000;

async function statOf(sys: Sys, fd: number) {
  const abi = sys.mem.abi;
  const buf = sys.mem.alloc(STAT_SIZE[abi]);
  const ret = await sys.fstat(fd, buf);
  return { ret, st: decodeStat(sys.mem.read(buf, STAT_SIZE[abi]), abi) };
}

async function link(sys: Sys, path: string, bufsiz = 256): Promise<number | string> {
  const buf = sys.mem.alloc(256);
  const n = await sys.readlink(path, buf, bufsiz);
  return n < 0 ? n : new TextDecoder().decode(sys.mem.read(buf, n));
}

async function heapBuf(sys: Sys): Promise<number> {
  const heap = await sys.open('/dev/dma_heap/system', O_RDONLY);
  const arg = sys.mem.allocStruct(dma_heap_allocation_data, { len: 8192, fd_flags: O_RDWR });
  expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, arg)).toBe(0);
  expect(await sys.close(heap)).toBe(0);
  return sys.mem.readStruct(arg, dma_heap_allocation_data).fd;
}

describe.each([
  ['LP64', false],
  ['ILP32', true],
])('fstat (fs/stat.c), %s', (_abi, compat) => {
  it('an fd not open is -EBADF; a struct that cannot be written is -EFAULT', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sys.open('/dev/iio:device0', O_RDONLY);
        return [
          await sys.fstat(100, sys.mem.alloc(256)),
          await sys.fstat(-1, sys.mem.alloc(256)),
          await sys.fstat(fd, BAD_ADDR),
        ];
      },
      { spawn: { compat } },
    );
    expect(value).toEqual([-EBADF, -EBADF, -EFAULT]);
  });

  it("a device node is S_IFCHR with its rdev; a dma-buf has no type bits, mode 0600 and the buffer's size", async () => {
    const { value } = await runOne(
      async (sys) => {
        const dev = await statOf(sys, await sys.open('/dev/iio:device0', O_RDONLY));
        const buf = await statOf(sys, await heapBuf(sys));
        return [
          dev.ret,
          dev.st.st_mode & S_IFMT,
          dev.st.st_rdev !== 0n,
          buf.ret,
          buf.st.st_mode,
          buf.st.st_size,
        ];
      },
      { spawn: { compat } },
    );
    expect(value).toEqual([0, S_IFCHR, true, 0, 0o600, 8192n]);
  });
});

describe('readlink (fs/stat.c)', () => {
  it('bufsiz <= 0 is -EINVAL before the lookup; an empty or missing path -ENOENT; a path that is no symlink -EINVAL; a bad buffer -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open('/dev/iio:device0', O_RDONLY);
      const buf = sys.mem.alloc(64);
      return [
        await sys.readlink('/nonexistent', buf, 0),
        await sys.readlink('/nonexistent', buf, -1),
        await sys.readlink('', buf, 64),
        await sys.readlink('/nonexistent', buf, 64),
        await sys.readlink(`/proc/self/fd/${fd + 1}`, buf, 64),
        await sys.readlink('/dev/iio:device0', buf, 64),
        await sys.readlink(`/proc/self/fd/${fd}`, BAD_ADDR, 64),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -ENOENT, -ENOENT, -ENOENT, -EINVAL, -EFAULT]);
  });

  it("/proc/self/fd/N: the path a device was opened by, a dma-buf's /dmabuf:, cut to bufsiz without a NUL", async () => {
    const { value } = await runOne(async (sys) => {
      const dev = await sys.open('/dev/iio:device0', O_RDONLY);
      const dmabuf = await heapBuf(sys);
      return [
        await link(sys, `/proc/self/fd/${dev}`),
        await link(sys, `/proc/self/fd/${dmabuf}`),
        await link(sys, `/proc/self/fd/${dev}`, 5),
      ];
    });
    expect(value).toEqual(['/dev/iio:device0', '/dmabuf:', '/dev/']);
  });
});
