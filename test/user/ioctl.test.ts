import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/sim/process.ts';
import { createSimulator } from '../../src/sim/simulator.ts';
import { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START } from '../../src/uapi/dma-buf.ts';
import { EBADF, ENODEV } from '../../src/uapi/errno.ts';
import { O_CLOEXEC, O_RDWR } from '../../src/uapi/fcntl.ts';
import { ioctlDef } from '../../src/uapi/ioctls.ts';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/uapi/mman.ts';
import { POLLOUT } from '../../src/uapi/poll.ts';
import { readAttr, writeAttr } from '../../src/user/iio.ts';
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

describe('memory of the helpers', () => {
  it('a loop of callIoctl, pollfds, writeAttr and readAttr leaves the mappings as they were', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const counts: number[] = [];
    const addrs: number[] = [];
    sim.spawn('prog', async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const d = await callIoctl(sys, heap, ioctlDef('DMA_HEAP_IOCTL_ALLOC'), { len: 4096, fd_flags: O_RDWR });
      const fd = d.out!.fd;
      for (let i = 0; i < 300; i++) {
        await callIoctl(sys, fd, ioctlDef('DMA_BUF_IOCTL_SYNC'), {
          flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ,
        });
        await sys.pollfds([{ fd, events: POLLOUT }], 0);
        await writeAttr(sys, '/sys/bus/iio/devices/iio:device0/buffer0/in_voltage0_en', '1');
        await readAttr(sys, '/sys/bus/iio/devices/iio:device0/buffer0/in_voltage0_en');
        if (i % 100 === 0) counts.push(sim.kernel.tasks.get(sys.pid)!.mm.vmas.length);
      }
      addrs.push(sys.mem.alloc(1));
      return 0;
    });
    await sim.run();
    expect(counts).toEqual([counts[0], counts[0], counts[0]]);
    // callIoctl and pollfds share one argument block (the first page); writeAttr and readAttr take a fresh
    // block per call and free it.
    expect(addrs[0]).toBe(0x555555554000 + (1 + 300 * 2) * 4096);
  });

  it('the argument block is reused at one address, and replaced once freed, unmapped, remapped or outgrown', async () => {
    const r = await inProcess(async (sys) => {
      const a = [sys.mem.scratch(16), sys.mem.scratch(4096)];
      sys.mem.free(a[1]!);
      a.push(sys.mem.scratch(16));
      await sys.munmap(a[2]!, 4096);
      a.push(sys.mem.scratch(16));
      const fixed = await sys.mmap(
        a[3]!,
        4096,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        -1,
        0,
      );
      a.push(sys.mem.scratch(16));
      a.push(sys.mem.scratch(5000));
      let freed = '';
      try {
        sys.mem.free(a[4]!);
      } catch (e) {
        freed = (e as { code: string }).code;
      }
      // A placed argument lands in the block and reads back.
      const arg = ioctlDef('IIO_BUFFER_GET_FD_IOCTL').arg;
      const at = placeIoctlArg(sys, arg, 7);
      return {
        a: a.map((x) => (x - 0x555555554000) / 4096),
        fixed: fixed === a[3],
        freed,
        at: at === a[5],
        back: readIoctlArg(sys, arg, at),
      };
    });
    expect(r).toEqual({ a: [0, 0, 1, 2, 3, 4], fixed: true, freed: 'ERR_SIM_BAD_FREE', at: true, back: 7 });
  });
});
