/**
 * Rules SYNC-1..8 (DMA_BUF_IOCTL_SYNC), DIOC-2 and SFILE-1..3, SFILE-5, SFILE-6 (EXPORT_SYNC_FILE and
 * SYNC_IOC_FILE_INFO) of ../shared/reference/kernel-semantics.md §7. Fences come from IIO DMABUF enqueues:
 * sim-adc (input: WRITE-usage fences) and sim-dac (output: READ-usage fences), on the ideal platform so that
 * every time is exact; a few fences of other usages are put into a buffer's reservation object directly.
 */
import { describe, expect, it } from 'vitest';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
  dma_buf_sync,
  dma_heap_allocation_data,
  EFAULT,
  EINTR,
  EINVAL,
  EMFILE,
  ENOTTY,
  F_ADD_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_SHRINK,
  F_SETFL,
  FD_CLOEXEC,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  iio_dmabuf,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
  type Simulator,
  type SimulatorOptions,
  SYNC_IOC_FILE_INFO,
  type Sys,
  sync_file_info,
  UDMABUF_CREATE,
  udmabuf_create,
} from '../../../src/index.ts';
import type { DmaBuf } from '../../../src/kernel/dma-buf/dma-buf.ts';
import { DmaFence, type DmaFenceOps } from '../../../src/kernel/dma-buf/fence.ts';
import { DMA_RESV_USAGE_BOOKKEEP, DMA_RESV_USAGE_KERNEL } from '../../../src/kernel/dma-buf/resv.ts';
import { SIGUSR1 } from '../../../src/uapi/signal.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../../src/user/iio.ts';
import {
  runOne,
  simInternal,
  simOnly,
  simState,
  type TestSimulatorOptions,
  testSimulator,
  vspan,
  vtime,
} from '../../helpers.ts';
import { fenceName } from '../iio/dmabuf-helpers.ts';

const MS = 1_000_000;
const BLOCK = 32768;
/** sim-adc, 4 channels x 2 bytes at 1 MHz: a 32768-byte block completes 4096 us + 2 us IRQ latency after its start. */
const ADC_DONE = 4_098_000;
/** sim-dac, 2 channels x 2 bytes at 1 MHz: a 32768-byte block completes 8192 us + 2 us after its start. */
const DAC_DONE = 8_194_000;
const IDEAL: SimulatorOptions = { platform: 'ideal' };
/** What `sync_file_get_name()` leaves in the 32-byte name: snprintf keeps 31 characters and the NUL. */
const syncName = (s: string) => s.slice(0, 31);
const TEST_OPS: DmaFenceOps = { driverName: 'test', timelineName: 'test', detachNamesWhenSignaled: true };

async function heapAlloc(sys: Sys, len: number): Promise<number> {
  const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
  const req = sys.mem.allocStruct(dma_heap_allocation_data, { len, fd_flags: O_RDWR | O_CLOEXEC });
  expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req)).toBe(0);
  await sys.close(heap);
  return sys.mem.readStruct(req, dma_heap_allocation_data).fd;
}

async function intIoctl(sys: Sys, fd: number, cmd: number, value: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, value);
  return sys.ioctl(fd, cmd, arg);
}

/** DMA_BUF_IOCTL_SYNC with 64-bit flags. */
function sync(sys: Sys, fd: number, flags: number | bigint): Promise<number> {
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags: BigInt(flags) }));
}

/** DMA_BUF_IOCTL_EXPORT_SYNC_FILE: [ret, fd field]. */
async function exportSync(sys: Sys, fd: number, flags: number): Promise<[number, number]> {
  const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags, fd: -1 });
  const ret = await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req);
  return [ret, sys.mem.readStruct(req, dma_buf_export_sync_file).fd];
}

/** EXPORT that must succeed: the sync_file fd. */
async function exportFd(sys: Sys, fd: number, flags: number): Promise<number> {
  const [ret, sfd] = await exportSync(sys, fd, flags);
  expect(ret).toBe(0);
  return sfd;
}

/** DMA_BUF_IOCTL_IMPORT_SYNC_FILE. */
function importSync(sys: Sys, fd: number, syncFd: number, flags: number): Promise<number> {
  return sys.ioctl(
    fd,
    DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
    sys.mem.allocStruct(dma_buf_import_sync_file, { flags, fd: syncFd }),
  );
}

interface Info {
  ret: number;
  name: string;
  status: number;
  num_fences: number;
}

/** SYNC_IOC_FILE_INFO with num_fences 0. */
async function fileInfo(sys: Sys, syncFd: number): Promise<Info> {
  const addr = sys.mem.allocStruct(sync_file_info, {
    name: '',
    status: 0,
    flags: 0,
    num_fences: 0,
    pad: 0,
    sync_fence_info: 0,
  });
  const ret = await sys.ioctl(syncFd, SYNC_IOC_FILE_INFO, addr);
  const i = sys.mem.readStruct(addr, sync_file_info);
  return { ret, name: i.name, status: i.status, num_fences: i.num_fences };
}

/** An IIO device's buffer with its channels enabled, one heap dma-buf attached and the buffer enabled. */
interface Stream {
  readonly buffer: number;
  readonly dmabuf: number;
}

async function stream(sys: Sys, device: 0 | 1, enable = true): Promise<Stream> {
  const channels =
    device === 0
      ? ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3']
      : ['out_voltage0', 'out_voltage1'];
  expect(await enableChannels(sys, device, channels)).toBe(0);
  const b = await openBuffer(sys, device);
  if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
  const dmabuf = await heapAlloc(sys, BLOCK);
  expect(await intIoctl(sys, b.fd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, dmabuf)).toBe(0);
  if (enable) expect(await setBufferEnabled(sys, device, true)).toBe(1);
  return { buffer: b.fd, dmabuf };
}

function enqueue(sys: Sys, s: Stream, dmabuf = s.dmabuf): Promise<number> {
  return sys.ioctl(
    s.buffer,
    IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(iio_dmabuf, { fd: dmabuf, flags: 0, bytes_used: BLOCK }),
  );
}

function dmabufOf(sim: Simulator, sys: Sys, fd: number): DmaBuf {
  return sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
}

/** Runs several processes on one simulator; returns their values (all must exit normally). */
async function runProcs(
  options: TestSimulatorOptions,
  bodies: ((sys: Sys, sim: Simulator) => Promise<unknown>)[],
  setup?: (sim: Simulator, pids: number[]) => void,
): Promise<{ values: unknown[]; sim: Simulator }> {
  const sim = testSimulator(options);
  const pids = bodies.map((body, i) => sim.spawn(`p${i}`, (sys) => body(sys, sim), { stdio: false }));
  setup?.(sim, pids);
  const result = await sim.run();
  for (const o of result.processes) {
    if (o.status === 'crashed') throw o.error;
    expect(o.status, o.reason).toBe('exited');
  }
  return { values: result.processes.map((o) => o.value), sim };
}

describe('SYNC-1..3: argument checks', () => {
  it('SYNC-1: an unreadable or partly readable 8-byte argument is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 8192);
      const map = await sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      // The page after the argument must be unmapped: a first mapping in a real process lands right below
      // the vDSO's readable vvar pages.
      expect(await sys.munmap(map + 4096, 4096)).toBe(0);
      return [
        await sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, 0),
        await sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, map + 4096 - 4),
        await sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, map + 4096 - 8),
      ];
    });
    // The last 8 bytes of the (zeroed) mapping are readable: flags 0 is SYNC-3.
    expect(value).toEqual([-EFAULT, -EFAULT, -EINVAL]);
  });

  it.each([
    ['bit 3', 8n],
    ['bit 4 with RW', 0x13n],
    ['bit 31 with READ', 0x80000001n],
    ['bit 32 with READ', (1n << 32n) | 1n],
    ['bit 32 with RW|END', (1n << 32n) | 7n],
    ['bit 63 with WRITE', (1n << 63n) | 2n],
    ['all 64 bits', 0xffffffffffffffffn],
  ])('SYNC-2: %s outside 0x7 is -EINVAL (all 64 bits checked)', async (_n, flags) => {
    const { value } = await runOne(async (sys) => sync(sys, await heapAlloc(sys, 4096), flags));
    expect(value).toBe(-EINVAL);
  });

  it('SYNC-3: flags 0 (START without direction) and 4 (END without direction) are -EINVAL; 1..3 and 5..7 are 0', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      const out: number[] = [];
      for (const f of [0, 4, 1, 2, 3, 5, 6, 7]) out.push(await sync(sys, fd, f));
      return out;
    });
    expect(value).toEqual([-EINVAL, -EINVAL, 0, 0, 0, 0, 0, 0]);
  });
});

describe('SYNC-4/SYNC-5: exporter begin/end_cpu_access', () => {
  it('SYNC-4: END never waits: with a WRITE fence in flight it returns 0 at once and the fence is still pending', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const r = [
        await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END),
        await sync(sys, adc.dmabuf, DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END),
        sys.now(),
        (await fileInfo(sys, await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ))).status,
      ];
      await setBufferEnabled(sys, 0, false);
      return r;
    }, IDEAL);
    expect(value).toEqual([0, 0, vtime(0), 0]);
  });

  it('SYNC-4/SYNC-5: udmabuf END is -EINVAL until a first START, then 0 for good (SYNC-8: the only state kept)', async () => {
    const { value } = await runOne(async (sys) => {
      const memfd = await sys.memfd_create('u', MFD_ALLOW_SEALING);
      await sys.ftruncate(memfd, 4096);
      await sys.fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK);
      const dev = await sys.open('/dev/udmabuf', O_RDWR);
      const fd = await sys.ioctl(
        dev,
        UDMABUF_CREATE,
        sys.mem.allocStruct(udmabuf_create, { memfd, flags: 0, offset: 0, size: 4096 }),
      );
      return [
        await sync(sys, fd, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END),
        await sync(sys, fd, DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END),
        await sync(sys, fd, DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END),
        await sync(sys, fd, DMA_BUF_SYNC_WRITE),
        await sync(sys, fd, DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END),
        await sync(sys, fd, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END),
        await sync(sys, fd, DMA_BUF_SYNC_RW),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, 0, 0, 0, 0]);
  });

  it('SYNC-5: heap START and END without fences are 0 at once', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      return [
        await sync(sys, fd, DMA_BUF_SYNC_READ),
        await sync(sys, fd, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END),
        sys.now(),
      ];
    }, IDEAL);
    expect(value).toEqual([0, 0, vtime(0)]);
  });
});

describe('SYNC-6: which fences START waits for', () => {
  it.each([
    ['READ', DMA_BUF_SYNC_READ],
    ['WRITE', DMA_BUF_SYNC_WRITE],
    ['RW', DMA_BUF_SYNC_RW],
  ])('SYNC-6: START %s waits for the ADC (WRITE-usage) fence: 0 at its completion', async (_n, dir) => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      return [await sync(sys, adc.dmabuf, dir), sys.now()];
    }, IDEAL);
    expect(value).toEqual([0, vtime(ADC_DONE)]);
  });

  it('SYNC-6: START READ ignores the DAC (READ-usage) fence; START WRITE and RW wait for it', async () => {
    const { value } = await runOne(async (sys) => {
      const dac = await stream(sys, 1);
      expect(await enqueue(sys, dac)).toBe(0);
      const read = [await sync(sys, dac.dmabuf, DMA_BUF_SYNC_READ), sys.now()];
      const write = [await sync(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE), sys.now()];
      expect(await enqueue(sys, dac)).toBe(0);
      const t = sys.now();
      const rw = [await sync(sys, dac.dmabuf, DMA_BUF_SYNC_RW), sys.now() - t];
      return [read, write, rw];
    }, IDEAL);
    expect(value).toEqual([
      [0, vtime(0)],
      [0, vtime(DAC_DONE)],
      // Measured from after the second ENQUEUE returned: its transfer started inside that call.
      [0, vspan(DAC_DONE)],
    ]);
  });

  it('SYNC-6: a KERNEL-usage fence is waited for by READ; a BOOKKEEP-usage fence never', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fd = await heapAlloc(sys, 4096);
      const resv = dmabufOf(sim, sys, fd).resv;
      const d = sim.kernel.fences;
      const kernelFence = new DmaFence(d, TEST_OPS, d.contextAlloc(), 1);
      const bookkeep = new DmaFence(d, TEST_OPS, d.contextAlloc(), 1);
      resv.addFence(kernelFence, DMA_RESV_USAGE_KERNEL);
      resv.addFence(bookkeep, DMA_RESV_USAGE_BOOKKEEP);
      sim.at(2 * MS, 'kernel fence', () => kernelFence.signal());
      sim.at(30 * MS, 'bookkeep fence', () => bookkeep.signal());
      const read = [await sync(sys, fd, DMA_BUF_SYNC_READ), sys.now()];
      const rw = [await sync(sys, fd, DMA_BUF_SYNC_RW), sys.now()];
      kernelFence.put();
      bookkeep.put();
      await sys.nanosleep(30 * MS);
      return [read, rw];
    }, IDEAL);
    expect(value).toEqual([
      [0, 2 * MS],
      [0, 2 * MS],
    ]);
  });

  it('SYNC-6: an imported sync_file fence waits like its usage: WRITE import blocks START READ, READ import does not', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const asRead = await heapAlloc(sys, 4096);
      const asWrite = await heapAlloc(sys, 4096);
      expect(await importSync(sys, asRead, sf, DMA_BUF_SYNC_READ)).toBe(0);
      expect(await importSync(sys, asWrite, sf, DMA_BUF_SYNC_WRITE)).toBe(0);
      const a = [await sync(sys, asRead, DMA_BUF_SYNC_READ), sys.now()];
      const b = [await sync(sys, asWrite, DMA_BUF_SYNC_READ), sys.now()];
      return [a, b];
    }, IDEAL);
    expect(value).toEqual([
      [0, vtime(0)],
      [0, vtime(ADC_DONE)],
    ]);
  });
});

describe('SYNC-7: the START wait', () => {
  it('SYNC-7: O_NONBLOCK on the dma-buf is ignored: START still sleeps until the fence signals', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await sys.fcntl(adc.dmabuf, F_SETFL, O_NONBLOCK)).toBe(0);
      expect(await enqueue(sys, adc)).toBe(0);
      return [await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ), sys.now()];
    }, IDEAL);
    expect(value).toEqual([0, vtime(ADC_DONE)]);
  });

  it('SYNC-7: no timeout: a fence of a block queued on a disabled buffer is waited for 10 s, until another process enables it', async () => {
    // Ten seconds of real time, not a thousand: the devices run at real speed for this one.
    const { values } = await runProcs({ ...IDEAL, realTimescale: 1 }, [
      async (sys) => {
        const adc = await stream(sys, 0, false);
        expect(await enqueue(sys, adc)).toBe(0);
        return [await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ), sys.now()];
      },
      async (sys) => {
        await sys.nanosleep(10_000 * MS);
        return setBufferEnabled(sys, 0, true);
      },
    ]);
    expect(values).toEqual([[0, vtime(10_000 * MS + ADC_DONE)], 1]);
  });

  it('SYNC-7: a handled signal without SA_RESTART ends the wait with -EINTR at the signal (SIG-1)', async () => {
    const { values } = await runProcs(
      IDEAL,
      [
        async (sys) => {
          expect(await sys.sigaction(SIGUSR1, { restart: false })).toBe(0);
          const adc = await stream(sys, 0);
          expect(await enqueue(sys, adc)).toBe(0);
          const r = [await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ), sys.now()];
          const again = [await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ), sys.now()];
          return [r, again];
        },
      ],
      (sim, [pid]) => sim.at(1 * MS, 'SIGUSR1', () => sim.kill(pid!, SIGUSR1)),
    );
    expect(values).toEqual([
      [
        [-EINTR, vtime(1 * MS)],
        [0, vtime(ADC_DONE)],
      ],
    ]);
  });

  it('SYNC-7: with SA_RESTART the wait is restarted and returns 0 when the fence signals (SIG-1)', async () => {
    const { values } = await runProcs(
      IDEAL,
      [
        async (sys) => {
          expect(await sys.sigaction(SIGUSR1, { restart: true })).toBe(0);
          const adc = await stream(sys, 0);
          expect(await enqueue(sys, adc)).toBe(0);
          return [await sync(sys, adc.dmabuf, DMA_BUF_SYNC_RW), sys.now()];
        },
      ],
      (sim, [pid]) => sim.at(1 * MS, 'SIGUSR1', () => sim.kill(pid!, SIGUSR1)),
    );
    expect(values).toEqual([[0, vtime(ADC_DONE)]]);
  });

  it('SYNC-7: returns 0 when the fence signals with an error (disable while in flight, IFENCE-3)', async () => {
    // The other process disables 1 ms in, when the first has long enqueued: at time scale 1000 its dozen
    // setup calls take a fraction of that on the real kernel too.
    const { values } = await runProcs({ ...IDEAL, realTimescale: 1000 }, [
      async (sys) => {
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc)).toBe(0);
        const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
        const r = [await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ), sys.now()];
        return [...r, (await fileInfo(sys, sf)).status];
      },
      async (sys) => {
        await sys.nanosleep(1 * MS);
        return setBufferEnabled(sys, 0, false);
      },
    ]);
    expect(values).toEqual([[0, vtime(1 * MS), -EINTR], 1]);
  });
});

describe('SYNC-8: no pairing', () => {
  it('SYNC-8: START twice, END three times, END before START: all 0 on a heap buffer', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      const out: number[] = [];
      out.push(await sync(sys, fd, DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END));
      out.push(await sync(sys, fd, DMA_BUF_SYNC_READ));
      out.push(await sync(sys, fd, DMA_BUF_SYNC_WRITE));
      out.push(await sync(sys, fd, DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END));
      out.push(await sync(sys, fd, DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END));
      out.push(await sync(sys, fd, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END));
      return out;
    });
    expect(value).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('SFILE-1: EXPORT_SYNC_FILE argument checks', () => {
  it('SFILE-1: copy fault -EFAULT; flags outside 3 or without a direction -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      const out: number[] = [await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 0)];
      for (const flags of [0, 4, 5, 8, 0x80000001]) out.push((await exportSync(sys, fd, flags))[0]);
      return out;
    });
    expect(value).toEqual([-EFAULT, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('SFILE-1: no free fd is -EMFILE, checked after the flags', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await heapAlloc(sys, 4096);
        // fds: the dma-buf is 1 (the heap fd 0 was closed); fill fd 0.
        expect(await sys.dup(fd)).toBe(0);
        return [(await exportSync(sys, fd, DMA_BUF_SYNC_READ))[0], (await exportSync(sys, fd, 0))[0]];
      },
      { spawn: { nofile: 2 } },
    );
    expect(value).toEqual([-EMFILE, -EINVAL]);
  });
});

describe('SFILE-2: which fence the sync_file gets', () => {
  it('SFILE-2: nothing pending: the signalled stub (status 1, one fence)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      const i = await fileInfo(sys, await exportFd(sys, fd, DMA_BUF_SYNC_RW));
      return [i.ret, i.status, i.num_fences];
    });
    expect(value).toEqual([0, 1, 1]);
  });

  it('SFILE-2: one pending fence: that fence (status 0 while in flight, 1 after)', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const before = await fileInfo(sys, sf);
      await sys.nanosleep(5 * MS);
      const after = await fileInfo(sys, sf);
      return [before, [after.ret, after.status, after.num_fences]];
    }, IDEAL);
    expect(value).toEqual([{ ret: 0, name: fenceName('iio-iio1-1'), status: 0, num_fences: 1 }, [0, 1, 1]]);
  });

  it('SFILE-2: READ takes fences of usage <= WRITE, WRITE/RW take <= READ: a DAC READ fence is seen only by WRITE and RW', async () => {
    const { value } = await runOne(async (sys) => {
      const dac = await stream(sys, 1);
      expect(await enqueue(sys, dac)).toBe(0);
      const out: Info[] = [];
      for (const f of [DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW])
        out.push(await fileInfo(sys, await exportFd(sys, dac.dmabuf, f)));
      return out.map((i) => [i.status, i.num_fences, i.status === 1 ? 'stub' : i.name]);
    }, IDEAL);
    expect(value).toEqual([
      [1, 1, 'stub'],
      [0, 1, fenceName('iio-iio1-1')],
      [0, 1, fenceName('iio-iio1-1')],
    ]);
  });

  it('SFILE-2: several pending fences: an array fence (own context, seqno 1) that signals when all members have', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0); // fence context 1
      const dac = await stream(sys, 1); // fence context 2
      expect(await enqueue(sys, adc)).toBe(0);
      expect(await enqueue(sys, dac)).toBe(0);
      const dacFence = await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE);
      expect(await importSync(sys, adc.dmabuf, dacFence, DMA_BUF_SYNC_READ)).toBe(0);
      const onlyWriters = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const all = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_WRITE);
      const out: unknown[] = [await fileInfo(sys, onlyWriters), await fileInfo(sys, all)];
      await sys.nanosleep(ADC_DONE + 1);
      out.push((await fileInfo(sys, all)).status);
      await sys.nanosleep(DAC_DONE - ADC_DONE);
      const done = await fileInfo(sys, all);
      out.push([done.ret, done.status, done.num_fences]);
      return out;
    }, IDEAL);
    expect(value).toEqual([
      { ret: 0, name: fenceName('iio-iio1-1'), status: 0, num_fences: 1 },
      { ret: 0, name: fenceName('dma_fence_array-unbound3-1'), status: 0, num_fences: 2 },
      0,
      [0, 1, 2],
    ]);
  });

  it('SFILE-2: an array carries the error of a member that failed (ADC disabled while in flight), once all signalled', async () => {
    // The other process disables 1 ms in, when the first has long enqueued: at time scale 1000 its dozen
    // setup calls take a fraction of that on the real kernel too.
    const { values } = await runProcs({ ...IDEAL, realTimescale: 1000 }, [
      async (sys) => {
        const adc = await stream(sys, 0);
        const dac = await stream(sys, 1);
        expect(await enqueue(sys, adc)).toBe(0);
        expect(await enqueue(sys, dac)).toBe(0);
        expect(
          await importSync(
            sys,
            adc.dmabuf,
            await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE),
            DMA_BUF_SYNC_READ,
          ),
        ).toBe(0);
        const all = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_RW);
        // Polling the sync_file enables signalling of the array (dma_fence_add_callback).
        expect(await sys.pollfds([{ fd: all, events: POLLIN }], 0)).toBe(0);
        await sys.nanosleep(2 * MS);
        const mid = (await fileInfo(sys, all)).status;
        expect(await sys.pollfds([{ fd: all, events: POLLIN }], -1)).toBe(1);
        return [mid, sys.now(), (await fileInfo(sys, all)).status];
      },
      async (sys) => {
        await sys.nanosleep(1 * MS);
        return setBufferEnabled(sys, 0, false);
      },
    ]);
    expect(values).toEqual([[0, vtime(DAC_DONE), -EINTR], 1]);
  });
});

describe('SFILE-3: the new sync_file fd', () => {
  it('SFILE-3: 0; fd field = lowest free fd, O_RDONLY, FD_CLOEXEC, anon_inode:sync_file; flags field kept', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fd = await heapAlloc(sys, 4096); // fd 1; the heap fd 0 was closed
      const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 77 });
      const ret = await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req);
      const out = sys.mem.readStruct(req, dma_buf_export_sync_file);
      return [
        fd,
        ret,
        out,
        await sys.fcntl(out.fd, F_GETFL),
        await sys.fcntl(out.fd, F_GETFD),
        // The link shows through readlink(/proc/self/fd/N), which Sys does not have.
        simInternal(() => sim.kernel.tasks.get(sys.pid)!.files.file(out.fd)!.path),
      ];
    });
    expect(value).toEqual([
      1,
      0,
      { flags: DMA_BUF_SYNC_RW, fd: 0 },
      O_RDONLY,
      FD_CLOEXEC,
      simState('anon_inode:sync_file', 'the file’s path (readlink)'),
    ]);
  });

  it('SFILE-3: a copy-out fault (read-only argument) is -EFAULT and leaks neither fd nor file', async () => {
    const { value, result } = await runOne(async (sys, sim) => {
      const fd = await heapAlloc(sys, 4096); // fd 1; fd 0 is free
      const rw = await sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const ro = await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
      sys.mem.writeStruct(rw, dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_READ, fd: 0 });
      const files = simInternal(() => sim.kernel.census.live().file);
      const ret = await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, ro);
      return [ret, simInternal(() => sim.kernel.census.live().file === files), await sys.dup(fd)];
    });
    // User space sees no fd leaked: fd 0 is still the lowest free one.
    expect(value).toEqual([-EFAULT, simState(true, 'live files'), 0]);
    simOnly('the simulator’s live kernel objects', () => expect(result.liveObjects).toEqual({}));
  });
});

describe('SFILE-3: the sync_file lifetime', () => {
  it('SFILE-3: the sync_file holds its own fence reference: it outlives the dma-buf and the buffer and still sees the signal', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      await sys.close(adc.dmabuf);
      await sys.close(adc.buffer);
      const before = (await fileInfo(sys, sf)).status;
      const woke = await sys.pollfds([{ fd: sf, events: POLLIN }], -1);
      const t = sys.now();
      const live = simInternal(() => sim.kernel.dmaBuf.live.size);
      return [before, woke, t, (await fileInfo(sys, sf)).status, live];
    }, IDEAL);
    expect(value).toEqual([0, 1, vtime(ADC_DONE), 1, simState(0, 'live dma-bufs')]);
  });
});

describe('SFILE-5: SYNC_IOC_FILE_INFO', () => {
  it('SFILE-5: copy fault -EFAULT; flags or pad non-zero -EINVAL; other ioctls -ENOTTY', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      const sf = await exportFd(sys, fd, DMA_BUF_SYNC_READ);
      const info = (flags: number, pad: number) =>
        sys.mem.allocStruct(sync_file_info, {
          name: '',
          status: 0,
          flags,
          num_fences: 0,
          pad,
          sync_fence_info: 0,
        });
      return [
        await sys.ioctl(sf, SYNC_IOC_FILE_INFO, 0),
        await sys.ioctl(sf, SYNC_IOC_FILE_INFO, info(1, 0)),
        await sys.ioctl(sf, SYNC_IOC_FILE_INFO, info(0, 1)),
        await sys.ioctl(sf, SYNC_IOC_FILE_INFO, info(0x80000000, 0)),
        await sys.ioctl(sf, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags: 1 })),
        await sys.ioctl(sf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, info(0, 0)),
        await sys.ioctl(sf, 0, info(0, 0)),
      ];
    });
    expect(value).toEqual([-EFAULT, -EINVAL, -EINVAL, -EINVAL, -ENOTTY, -ENOTTY, -ENOTTY]);
  });

  it('SFILE-5: status 0 while pending, then the error: -EINTR (-4) for a block aborted by disable (IFENCE-3)', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const before = await fileInfo(sys, sf);
      await sys.nanosleep(1 * MS);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      const after = await fileInfo(sys, sf);
      return [before, [after.ret, after.status, after.num_fences]];
    }, IDEAL);
    expect(value).toEqual([
      { ret: 0, name: fenceName('iio-iio1-1'), status: 0, num_fences: 1 },
      [0, -EINTR, 1],
    ]);
  });

  it('SFILE-5: name = "<driver>-<timeline><context>-<seqno>" cut by snprintf to 31 chars + NUL; a signalled fence names detached-driver/signaled-timeline (mainline)', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const pending = (await fileInfo(sys, sf)).name;
      await sys.nanosleep(5 * MS);
      return [pending, (await fileInfo(sys, sf)).name];
    }, IDEAL);
    expect(value).toEqual([fenceName('iio-iio1-1'), 'detached-driver-signaled-timeli']);
  });

  it('SFILE-5: the stub (context 0, seqno 0) is a signalled fence and is named like one: detached-driver-signaled-timeli(ne0-0)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      return fileInfo(sys, await exportFd(sys, fd, DMA_BUF_SYNC_READ));
    });
    expect(value).toEqual({
      ret: 0,
      name: syncName('detached-driver-signaled-timeline0-0'),
      status: 1,
      num_fences: 1,
    });
  });
});

describe('SFILE-6: errors already signalled are invisible to EXPORT', () => {
  it('SFILE-6: a fence that failed (-EINTR) before EXPORT: the export gets the stub, status 1', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const early = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_RW);
      await sys.nanosleep(1 * MS);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      const late = await fileInfo(sys, await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_RW));
      return [(await fileInfo(sys, early)).status, [late.ret, late.status, late.num_fences]];
    }, IDEAL);
    expect(value).toEqual([-EINTR, [0, 1, 1]]);
  });

  it('SFILE-6: a fence that completed before EXPORT also gives the stub', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      expect(await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ)).toBe(0);
      const i = await fileInfo(sys, await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_RW));
      return [i.ret, i.status, i.num_fences];
    }, IDEAL);
    expect(value).toEqual([0, 1, 1]);
  });
});

describe('DIOC-2: EXPORT_SYNC_FILE per profile', () => {
  const body = async (sys: Sys) => {
    const fd = await heapAlloc(sys, 4096);
    const exp = (await exportSync(sys, fd, DMA_BUF_SYNC_READ))[0];
    return [exp, await importSync(sys, fd, fd, DMA_BUF_SYNC_READ)];
  };

  it('DIOC-2: mainline exports (0); importing the dma-buf fd itself (not a sync_file) is -EINVAL', async () => {
    expect((await runOne(body)).value).toEqual([0, -EINVAL]);
  });

  it('DIOC-2: the v2 profile has no EXPORT/IMPORT_SYNC_FILE (-ENOTTY, V2-DBUF-6)', async () => {
    expect((await runOne(body, { abi: 'v2' })).value).toEqual([-ENOTTY, -ENOTTY]);
  });
});
