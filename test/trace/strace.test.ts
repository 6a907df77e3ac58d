import { describe, expect, it } from 'vitest';
import {
  type AbiProfile,
  createSimulator,
  DMA_BUF_SET_NAME_B,
  EBADF,
  EINVAL,
  encodeUdmabufCreateList,
  F_ADD_SEALS,
  F_GET_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SETFD,
  FIOCLEX,
  FIONBIO,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLIN,
  type Sys,
  UDMABUF_CREATE_LIST,
} from '../../src/index.ts';
import { formatReturn, formatTime, hexAddr, quoteBytes, Strace } from '../../src/trace/strace.ts';
import * as v2 from '../../src/uapi/iio-v2.ts';
import { allocHeapDmabuf } from '../../src/user/dmabuf.ts';
import { openBuffer } from '../../src/user/iio.ts';

/** The strace lines (no timestamps) of `program` run alone on an ideal platform without stdio. */
async function straceOf(program: (sys: Sys) => Promise<void>): Promise<string[]> {
  const sim = createSimulator({ platform: 'ideal' });
  const lines: string[] = [];
  new Strace(sim.events, sim.abi, (l) => lines.push(l), { timestamps: false });
  sim.spawn('prog', program, { stdio: false });
  await sim.run();
  return lines;
}

describe('strace-style formatting', () => {
  it('quotes bytes as strace does: escapes, octal, 3 digits before a digit, ... past the limit', () => {
    expect(quoteBytes(new Uint8Array([0x31, 0x0a]), 32)).toBe('"1\\n"');
    expect(quoteBytes(new Uint8Array([0x00, 0xf8, 0x07, 0x31]), 32)).toBe('"\\0\\370\\0071"');
    expect(quoteBytes(new Uint8Array([0x00, 0x31]), 32)).toBe('"\\0001"');
    expect(quoteBytes(new Uint8Array(40).fill(0x41), 32, 40)).toBe(`"${'A'.repeat(32)}"...`);
  });

  it('prints errors as -1 ENAME (text) and mmap results in hex', () => {
    expect(formatReturn('ioctl', -EINVAL)).toBe('-1 EINVAL (Invalid argument)');
    expect(formatReturn('read', -EBADF)).toBe('-1 EBADF (Bad file descriptor)');
    expect(formatReturn('mmap', 0x7fc665f0a000)).toBe('0x7fc665f0a000');
    expect(formatTime(2_096_988)).toBe('0.002096988');
  });

  it('prints the results of F_GETFL, F_GETFD and F_GET_SEALS in hex with their decoding, as strace does (RVAL_HEX)', async () => {
    const lines = await straceOf(async (sys) => {
      const fd = await sys.memfd_create('m', MFD_CLOEXEC | MFD_ALLOW_SEALING);
      await sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL);
      await sys.fcntl(fd, F_GET_SEALS);
      await sys.fcntl(fd, F_GETFD);
      await sys.fcntl(fd, F_GETFL);
      await sys.fcntl(fd, F_SETFD, 0);
      await sys.fcntl(fd, F_GETFD);
    });
    expect(lines.slice(1, 7)).toEqual([
      'fcntl(0, F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_SHRINK) = 0',
      'fcntl(0, F_GET_SEALS)                   = 0x3 (seals F_SEAL_SEAL|F_SEAL_SHRINK)',
      'fcntl(0, F_GETFD)                       = 0x1 (flags FD_CLOEXEC)',
      'fcntl(0, F_GETFL)                       = 0x8002 (flags O_RDWR|O_LARGEFILE)',
      'fcntl(0, F_SETFD, 0)                    = 0',
      'fcntl(0, F_GETFD)                       = 0',
    ]);
  });

  it('prints a negative pointer as the unsigned 64-bit address C passes (never 0x-1) and cuts a path at PATH_MAX', async () => {
    expect(hexAddr(-1)).toBe('0xffffffffffffffff');
    expect(hexAddr(-4096)).toBe('0xfffffffffffff000');
    expect(hexAddr(0)).toBe('NULL');
    const lines = await straceOf(async (sys) => {
      await sys.read(0, -1, 1);
      await sys.munmap(-4096, 4096);
      await sys.nanosleep(-1);
      await sys.open(`/${'x'.repeat(1 << 20)}`, 0);
    });
    expect(lines.slice(0, 3)).toEqual([
      'read(0, 0xffffffffffffffff, 1)          = -1 EBADF (Bad file descriptor)',
      'munmap(0xfffffffffffff000, 4096)        = -1 EINVAL (Invalid argument)',
      'clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=-1, tv_nsec=999999999}, NULL) = -1 EINVAL (Invalid argument)',
    ]);
    expect(lines[3]).toBe(
      `openat(AT_FDCWD, "/${'x'.repeat(4094)}"..., O_RDONLY) = -1 ENAMETOOLONG (File name too long)`,
    );
  });

  it('logs a short program line by line with decoded arguments and simulated timestamps', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const lines: string[] = [];
    new Strace(sim.events, sim.abi, (l) => lines.push(l));
    sim.spawn('prog', async (sys) => {
      const b = await openBuffer(sys, 0, 0, O_RDWR | O_NONBLOCK);
      if (typeof b === 'number') return b;
      const buf = sys.mem.alloc(64);
      await sys.read(b.fd, buf, 64);
      await sys.pollfds([{ fd: b.fd, events: POLLIN }], 0);
      await sys.ioctl(b.fd, 0x12345678, 0);
      await sys.close(42);
      return 0;
    });
    await sim.run();
    expect(lines).toEqual([
      '0.000000000 openat(AT_FDCWD, "/dev/iio:device0", O_RDWR|O_NONBLOCK) = 3',
      '0.000000000 ioctl(3, IIO_BUFFER_GET_FD_IOCTL, [0 => 4]) = 0',
      '0.000000000 read(4, "", 64)             = 0',
      '0.000000000 poll([{fd=4, events=POLLIN}], 1, 0) = 0 (Timeout)',
      '0.000000000 ioctl(4, _IOC(_IOC_NONE, 0x56, 0x78, 0x1234), 0) = -1 EINVAL (Invalid argument)',
      '0.000000000 close(42)                   = -1 EBADF (Bad file descriptor)',
      '0.000000000 exit_group(0)               = ?',
      '0.000000000 +++ exited with 0 +++',
    ]);
  });

  /** Lines of a program making ioctls of every argument kind, in a simulator of `abi`. */
  async function ioctlLines(abi: AbiProfile): Promise<string[]> {
    const sim = createSimulator({ platform: 'ideal', abi });
    const lines: string[] = [];
    new Strace(sim.events, sim.abi, (l) => lines.push(l), { timestamps: false });
    sim.spawn('prog', async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const dmabuf = await allocHeapDmabuf(sys, heap, 4096);
      if (typeof dmabuf === 'number') return dmabuf;
      const on = sys.mem.alloc(4);
      sys.mem.writeInt(on, 1);
      await sys.ioctl(dmabuf.fd, FIONBIO, on);
      await sys.ioctl(dmabuf.fd, FIOCLEX, 0);
      await sys.ioctl(dmabuf.fd, DMA_BUF_SET_NAME_B, sys.mem.allocString('capture'));
      const udmabuf = await sys.open('/dev/udmabuf', O_RDWR);
      const list = encodeUdmabufCreateList({ list: [] });
      const addr = sys.mem.alloc(list.length);
      sys.mem.write(addr, list);
      await sys.ioctl(udmabuf, UDMABUF_CREATE_LIST, addr);
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') return b;
      const arg = sys.mem.allocStruct(v2.iio_dmabuf, { fd: dmabuf.fd, bytes_used: 64 });
      await sys.ioctl(b.fd, v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, arg);
      return 0;
    });
    await sim.run();
    return lines;
  }

  it('decodes each ioctl argument as the ioctl table describes it: int, string, struct in and inout', async () => {
    const lines = await ioctlLines('mainline');
    expect(lines.slice(1, 6)).toEqual([
      'ioctl(3, DMA_HEAP_IOCTL_ALLOC, {len=4096, fd=0, fd_flags=O_RDWR|O_CLOEXEC, heap_flags=0} => {len=4096, fd=4, fd_flags=O_RDWR|O_CLOEXEC, heap_flags=0}) = 0',
      'mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 4, 0) = 0x7ffff7ffe000',
      'ioctl(4, FIONBIO, [1])                  = 0',
      'ioctl(4, FIOCLEX)                       = 0',
      'ioctl(4, DMA_BUF_SET_NAME_B, "capture") = 0',
    ]);
    // Entries marked `strace: 'address'` print the pointer, as strace does for what it cannot decode.
    expect(lines[7]).toBe('ioctl(5, UDMABUF_CREATE_LIST, 0x555555557000) = -1 EINVAL (Invalid argument)');
  });

  it('XPROF-1: the v2 ENQUEUE number is decoded in v2 and shown raw, with its address, in mainline', async () => {
    expect((await ioctlLines('v2'))[10]).toBe(
      'ioctl(7, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {fd=4, flags=0, bytes_used=64}) = -1 EINVAL (Invalid argument)',
    );
    expect((await ioctlLines('mainline'))[10]).toBe(
      'ioctl(7, _IOC(_IOC_WRITE, 0x69, 0x93, 0x10), 0x555555558000) = -1 EINVAL (Invalid argument)',
    );
  });
});
