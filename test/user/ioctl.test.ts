import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/sim/process.ts';
import { createSimulator } from '../../src/sim/simulator.ts';
import { EBADF, ENODEV } from '../../src/uapi/errno.ts';
import { O_CLOEXEC, O_RDWR } from '../../src/uapi/fcntl.ts';
import { ioctlDef } from '../../src/uapi/ioctls.ts';
import { callIoctl, placeIoctlArg, readIoctlArg } from '../../src/user/ioctl.ts';

/** Runs `body` as a process of a fresh simulator and resolves to what it returned. */
async function inProcess<T>(body: (sys: Sys) => Promise<T>): Promise<T> {
  const sim = createSimulator({ platform: 'ideal' });
  let out: T | undefined;
  sim.spawn('prog', async (sys) => {
    out = await body(sys);
    return 0;
  });
  await sim.run();
  return out as T;
}

describe('callIoctl', () => {
  it('GETFD-6: an int in/out argument: the index goes in, the new fd comes back', async () => {
    const r = await inProcess(async (sys) => {
      const chardev = await sys.open('/dev/iio:device0', O_RDWR);
      return callIoctl(sys, chardev, ioctlDef('IIO_BUFFER_GET_FD_IOCTL'), 0);
    });
    expect(r).toEqual({ ret: 0, out: 4 });
  });

  it('HEAP-13: a struct in/out argument comes back decoded, with the fd the heap wrote', async () => {
    const r = await inProcess(async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      return callIoctl(sys, heap, ioctlDef('DMA_HEAP_IOCTL_ALLOC'), {
        len: 4096,
        fd_flags: O_RDWR | O_CLOEXEC,
      });
    });
    expect(r).toEqual({
      ret: 0,
      out: { len: 4096n, fd: 4, fd_flags: O_RDWR | O_CLOEXEC, heap_flags: 0n },
    });
  });

  it('GETFD-2: a failed call returns its errno and nothing written back', async () => {
    const r = await inProcess(async (sys) => {
      const chardev = await sys.open('/dev/iio:device0', O_RDWR);
      return callIoctl(sys, chardev, ioctlDef('IIO_BUFFER_GET_FD_IOCTL'), 7);
    });
    expect(r).toEqual({ ret: -ENODEV, out: undefined });
  });

  it('COMPAT-4, IOC-2, IOC-1: an `in` argument is not read back; a string and no argument reach the kernel', async () => {
    const r = await inProcess(async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const alloc = await callIoctl(sys, heap, ioctlDef('DMA_HEAP_IOCTL_ALLOC'), {
        len: 4096,
        fd_flags: O_RDWR,
      });
      const fd = alloc.out!.fd;
      return [
        await callIoctl(sys, fd, ioctlDef('DMA_BUF_IOCTL_SYNC'), { flags: 1 }),
        await callIoctl(sys, fd, ioctlDef('DMA_BUF_SET_NAME_B'), 'capture'),
        await callIoctl(sys, fd, ioctlDef('FIOCLEX'), undefined),
        await callIoctl(sys, 99, ioctlDef('FIONBIO'), 1),
      ];
    });
    expect(r).toEqual([
      { ret: 0, out: undefined },
      { ret: 0, out: undefined },
      { ret: 0, out: undefined },
      { ret: -EBADF, out: undefined },
    ]);
  });

  it('places and reads back an 8-byte loff_t argument (FIOQSIZE)', async () => {
    const r = await inProcess(async (sys) => {
      const arg = ioctlDef('FIOQSIZE').arg;
      const addr = placeIoctlArg(sys, arg, 2 ** 40 + 5);
      return [readIoctlArg(sys, arg, addr), Array.from(sys.mem.read(addr, 8))];
    });
    expect(r).toEqual([2 ** 40 + 5, [5, 0, 0, 0, 0, 1, 0, 0]]);
  });
});
