/**
 * Rules DPOLL-1..6 (poll on a dma-buf: implicit fences) and SFILE-4 (poll on a sync_file) of
 * ../shared/reference/kernel-semantics.md §7, with DLIFE-1 for the file reference an armed poll callback
 * holds. Fences come from IIO DMABUF enqueues: sim-adc (input: WRITE-usage fences) and sim-dac (output:
 * READ-usage fences), on the ideal platform so that every time is exact.
 */
import { describe, expect, it } from 'vitest';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
  dma_heap_allocation_data,
  EBUSY,
  EINTR,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  iio_dmabuf,
  O_CLOEXEC,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  POLLPRI,
  POLLRDNORM,
  POLLWRNORM,
  type PollEntry,
  type Simulator,
  type SimulatorOptions,
  type Sys,
} from '../../../src/index.ts';
import type { DmaBuf } from '../../../src/kernel/dma-buf/dma-buf.ts';
import { DmaFence, type DmaFenceOps } from '../../../src/kernel/dma-buf/fence.ts';
import { DMA_RESV_USAGE_BOOKKEEP, DMA_RESV_USAGE_KERNEL } from '../../../src/kernel/dma-buf/resv.ts';
import { SIGUSR1 } from '../../../src/uapi/signal.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../../src/user/iio.ts';
import { runOne, testSimulator, vtime } from '../../helpers.ts';
import { passFd, waitFor } from '../iio/dmabuf-helpers.ts';

const MS = 1_000_000;
const BLOCK = 32768;
const ADC_DONE = 4_098_000;
const DAC_DONE = 8_194_000;
const IDEAL: SimulatorOptions = { platform: 'ideal' };
const INOUT = POLLIN | POLLOUT;
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

async function exportFd(sys: Sys, fd: number, flags: number): Promise<number> {
  const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags, fd: -1 });
  expect(await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req)).toBe(0);
  return sys.mem.readStruct(req, dma_buf_export_sync_file).fd;
}

function importSync(sys: Sys, fd: number, syncFd: number, flags: number): Promise<number> {
  return sys.ioctl(
    fd,
    DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
    sys.mem.allocStruct(dma_buf_import_sync_file, { flags, fd: syncFd }),
  );
}

interface Stream {
  readonly buffer: number;
  readonly dmabuf: number;
}

/** sim-adc (0) or sim-dac (1): channels on, buffer fd, one heap dma-buf attached, buffer enabled. */
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

function enqueue(sys: Sys, s: Stream): Promise<number> {
  return sys.ioctl(
    s.buffer,
    IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(iio_dmabuf, { fd: s.dmabuf, flags: 0, bytes_used: BLOCK }),
  );
}

/** One poll() on one fd: [return value, revents, time after]. */
async function poll1(
  sys: Sys,
  fd: number,
  events: number,
  timeoutMs: number,
): Promise<[number, number, number]> {
  const e: PollEntry[] = [{ fd, events }];
  const ret = await sys.pollfds(e, timeoutMs);
  return [ret, e[0]!.revents ?? -1, sys.now()];
}

function dmabufOf(sim: Simulator, sys: Sys, fd: number): DmaBuf {
  return sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
}

async function runProcs(
  options: SimulatorOptions,
  bodies: ((sys: Sys, sim: Simulator) => Promise<unknown>)[],
): Promise<{ values: unknown[]; sim: Simulator }> {
  const sim = testSimulator(options);
  for (const [i, body] of bodies.entries()) sim.spawn(`p${i}`, (sys) => body(sys, sim), { stdio: false });
  const result = await sim.run();
  for (const o of result.processes) {
    if (o.status === 'crashed') throw o.error;
    expect(o.status, o.reason).toBe('exited');
  }
  return { values: result.processes.map((o) => o.value), sim };
}

describe('DPOLL-1: neither EPOLLIN nor EPOLLOUT requested', () => {
  it.each([
    ['0', 0],
    ['POLLRDNORM', POLLRDNORM],
    ['POLLWRNORM', POLLWRNORM],
    ['POLLPRI', POLLPRI],
    ['POLLRDNORM|POLLWRNORM|POLLPRI', POLLRDNORM | POLLWRNORM | POLLPRI],
  ])(
    'DPOLL-1: events %s on an idle dma-buf: never ready (poll times out after 5 ms with revents 0)',
    async (_n, ev) => {
      const { value } = await runOne(async (sys) => {
        const fd = await heapAlloc(sys, 4096);
        return [await poll1(sys, fd, ev, 0), await poll1(sys, fd, ev, 5)];
      }, IDEAL);
      expect(value).toEqual([
        [0, 0, vtime(0)],
        [0, 0, vtime(5 * MS)],
      ]);
    },
  );
});

describe('DPOLL-2/DPOLL-3: what each direction waits for', () => {
  it('DPOLL-2/DPOLL-3: no fences: POLLIN and POLLOUT are ready at once', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      return [
        await poll1(sys, fd, POLLIN, -1),
        await poll1(sys, fd, POLLOUT, -1),
        await poll1(sys, fd, INOUT, 0),
      ];
    }, IDEAL);
    expect(value).toEqual([
      [1, POLLIN, vtime(0)],
      [1, POLLOUT, vtime(0)],
      [1, INOUT, vtime(0)],
    ]);
  });

  it('DPOLL-2/DPOLL-3: a pending ADC (WRITE-usage) fence holds back both POLLIN and POLLOUT until it signals', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      return [
        await poll1(sys, adc.dmabuf, POLLIN, 0),
        await poll1(sys, adc.dmabuf, POLLOUT, 0),
        await poll1(sys, adc.dmabuf, INOUT, -1),
        await poll1(sys, adc.dmabuf, INOUT, 0),
      ];
    }, IDEAL);
    expect(value).toEqual([
      [0, 0, vtime(0)],
      [0, 0, vtime(0)],
      [1, INOUT, vtime(ADC_DONE)],
      [1, INOUT, vtime(ADC_DONE)],
    ]);
  });

  it('DPOLL-3: POLLIN alone sleeps until the ADC fence signals', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      return poll1(sys, adc.dmabuf, POLLIN, -1);
    }, IDEAL);
    expect(value).toEqual([1, POLLIN, vtime(ADC_DONE)]);
  });

  it('DPOLL-2/DPOLL-3: a pending DAC (READ-usage) fence: POLLIN ready at once, POLLOUT only when it signals', async () => {
    const { value } = await runOne(async (sys) => {
      const dac = await stream(sys, 1);
      expect(await enqueue(sys, dac)).toBe(0);
      return [
        await poll1(sys, dac.dmabuf, POLLIN, -1),
        await poll1(sys, dac.dmabuf, INOUT, 0),
        await poll1(sys, dac.dmabuf, POLLOUT, -1),
      ];
    }, IDEAL);
    expect(value).toEqual([
      [1, POLLIN, vtime(0)],
      [1, POLLIN, vtime(0)],
      [1, POLLOUT, vtime(DAC_DONE)],
    ]);
  });

  it('DPOLL-2/DPOLL-3: a KERNEL-usage fence holds back both directions; a BOOKKEEP-usage fence neither', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const a = await heapAlloc(sys, 4096);
      const b = await heapAlloc(sys, 4096);
      const d = sim.kernel.fences;
      const kf = new DmaFence(d, TEST_OPS, d.contextAlloc(), 1);
      const bf = new DmaFence(d, TEST_OPS, d.contextAlloc(), 1);
      dmabufOf(sim, sys, a).resv.addFence(kf, DMA_RESV_USAGE_KERNEL);
      dmabufOf(sim, sys, b).resv.addFence(bf, DMA_RESV_USAGE_BOOKKEEP);
      sim.at(3 * MS, 'signal', () => {
        kf.signal();
        bf.signal();
        kf.put();
        bf.put();
      });
      return [await poll1(sys, b, INOUT, 0), await poll1(sys, a, INOUT, 0), await poll1(sys, a, INOUT, -1)];
    }, IDEAL);
    expect(value).toEqual([
      [1, INOUT, vtime(0)],
      [0, 0, vtime(0)],
      [1, INOUT, vtime(3 * MS)],
    ]);
  });

  it('DPOLL-2/DPOLL-3: imported fences count with their usage (READ import: POLLIN ready; WRITE import: neither)', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const asRead = await heapAlloc(sys, 4096);
      const asWrite = await heapAlloc(sys, 4096);
      expect(await importSync(sys, asRead, sf, DMA_BUF_SYNC_READ)).toBe(0);
      expect(await importSync(sys, asWrite, sf, DMA_BUF_SYNC_WRITE)).toBe(0);
      return [
        await poll1(sys, asRead, INOUT, 0),
        await poll1(sys, asWrite, INOUT, 0),
        await poll1(sys, asRead, POLLOUT, -1),
      ];
    }, IDEAL);
    expect(value).toEqual([
      [1, POLLIN, vtime(0)],
      [0, 0, vtime(0)],
      [1, POLLOUT, vtime(ADC_DONE)],
    ]);
  });
});

describe('DPOLL-4: what is reported', () => {
  it('DPOLL-4: only POLLIN/POLLOUT, never RDNORM/WRNORM/PRI/ERR/HUP, whatever was asked', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      const all = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLPRI | POLLERR | POLLHUP;
      return [await poll1(sys, fd, all, 0), await poll1(sys, fd, POLLIN | POLLRDNORM, 0)];
    }, IDEAL);
    expect(value).toEqual([
      [1, INOUT, vtime(0)],
      [1, POLLIN, vtime(0)],
    ]);
  });

  it('DPOLL-4: a fence signalled with an error (-EINTR, disable in flight) counts as signalled: ready, no POLLERR', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const before = await poll1(sys, adc.dmabuf, INOUT, 0);
      await sys.nanosleep(1 * MS);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      return [before, await poll1(sys, adc.dmabuf, INOUT | POLLERR | POLLHUP, 0)];
    }, IDEAL);
    expect(value).toEqual([
      [0, 0, vtime(0)],
      [1, INOUT, vtime(1 * MS)],
    ]);
  });

  it('DPOLL-4: a poller sleeping on the in-flight fence is woken by the abort (error fence) at the disable time', async () => {
    const { values } = await runProcs(IDEAL, [
      async (sys) => {
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc)).toBe(0);
        return poll1(sys, adc.dmabuf, POLLIN, -1);
      },
      async (sys) => {
        await sys.nanosleep(2 * MS);
        return setBufferEnabled(sys, 0, false);
      },
    ]);
    expect(values).toEqual([[1, POLLIN, vtime(2 * MS)], 1]);
  });
});

describe('DPOLL-5: the one-shot armed callback', () => {
  it('DPOLL-5: while a callback is armed on a fence no longer in the resv, POLLOUT stays withheld from every poller until that fence signals', async () => {
    // DAC quirk (ENQ-24): re-enqueueing an in-flight OUT block publishes a fence that signals -EBUSY at once
    // and takes the old fence's slot (RESV-3), so the resv holds no pending fence while the first is in flight.
    const { value } = await runOne(async (sys) => {
      const dac = await stream(sys, 1);
      expect(await enqueue(sys, dac)).toBe(0);
      const first = await poll1(sys, dac.dmabuf, POLLOUT, 0); // arms cb_out on fence 1
      expect(await enqueue(sys, dac)).toBe(-EBUSY);
      const other = await heapAlloc(sys, 4096);
      expect(
        await importSync(sys, other, await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE), DMA_BUF_SYNC_WRITE),
      ).toBe(0);
      const dup = await sys.dup(dac.dmabuf);
      return [
        first,
        await poll1(sys, other, INOUT, 0), // the resv has nothing pending: the export gave the stub
        await poll1(sys, dac.dmabuf, POLLOUT, 0),
        await poll1(sys, dup, INOUT, 0),
        await poll1(sys, dup, POLLOUT, -1),
        await poll1(sys, dac.dmabuf, POLLOUT, 0),
      ];
    }, IDEAL);
    expect(value).toEqual([
      [0, 0, vtime(0)],
      [1, INOUT, vtime(0)],
      [0, 0, vtime(0)],
      [1, POLLIN, vtime(0)],
      [1, POLLOUT, vtime(DAC_DONE)],
      [1, POLLOUT, vtime(DAC_DONE)],
    ]);
  });

  it('DPOLL-5: a second process polling the same dma-buf sleeps behind the armed callback and is woken with the first', async () => {
    const owner = { pid: 0, fd: -1 };
    const { values } = await runProcs(IDEAL, [
      async (sys) => {
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc)).toBe(0);
        Object.assign(owner, { pid: sys.pid, fd: adc.dmabuf });
        return poll1(sys, adc.dmabuf, INOUT, -1);
      },
      async (sys) => {
        await sys.nanosleep(1 * MS);
        await waitFor(sys, () => owner.fd >= 0);
        const fd = await passFd(sys, owner.pid, owner.fd);
        return [await poll1(sys, fd, POLLOUT, 0), await poll1(sys, fd, POLLOUT, -1)];
      },
    ]);
    expect(values).toEqual([
      [1, INOUT, vtime(ADC_DONE)],
      [
        [0, 0, vtime(1 * MS)],
        [1, POLLOUT, vtime(ADC_DONE)],
      ],
    ]);
  });

  it('DPOLL-5/DLIFE-1: an armed callback holds the dma-buf after its last fd is closed; it is freed when the fence signals', async () => {
    const seen: [number, number][] = [];
    const { value } = await runOne(async (sys, sim) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const other = await heapAlloc(sys, 4096);
      expect(await importSync(sys, other, sf, DMA_BUF_SYNC_WRITE)).toBe(0);
      const ino = dmabufOf(sim, sys, other).ino;
      for (const t of [ADC_DONE - 1, ADC_DONE + 1])
        sim.at(t, 'probe', () => seen.push([t, +sim.kernel.dmaBuf.live.has(ino)]));
      const armed = await poll1(sys, other, POLLOUT, 0);
      expect(await sys.close(other)).toBe(0);
      const afterClose = sim.kernel.dmaBuf.live.has(ino);
      await sys.nanosleep(10 * MS);
      return [armed, afterClose];
    }, IDEAL);
    expect(value).toEqual([[0, 0, 0], true]);
    expect(seen).toEqual([
      [ADC_DONE - 1, 1],
      [ADC_DONE + 1, 0],
    ]);
  });
});

describe('DPOLL-6: poll takes the reservation lock', () => {
  it('DPOLL-6: a poll with timeout 0 blocks while an ENQUEUE holds the lock waiting for fences (ENQ-12), then evaluates', async () => {
    const owner = { pid: 0, fd: -1 };
    const { values } = await runProcs(IDEAL, [
      async (sys) => {
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc)).toBe(0);
        Object.assign(owner, { pid: sys.pid, fd: adc.dmabuf });
        // Second ENQUEUE of the same IN dma-buf: waits, holding the lock, for its own WRITE fence.
        const r = await enqueue(sys, adc);
        const t = sys.now();
        await sys.nanosleep(10 * MS);
        return [r, t];
      },
      async (sys) => {
        await sys.nanosleep(1 * MS);
        await waitFor(sys, () => owner.fd >= 0);
        const fd = await passFd(sys, owner.pid, owner.fd);
        const blocked = await poll1(sys, fd, INOUT, 0);
        return [blocked, await poll1(sys, fd, INOUT, -1)];
      },
    ]);
    expect(values).toEqual([
      [0, vtime(ADC_DONE)],
      [
        [0, 0, vtime(ADC_DONE)],
        [1, INOUT, vtime(2 * ADC_DONE)],
      ],
    ]);
  });
});

describe('DPOLL-6: the lock wait is uninterruptible', () => {
  it('DPOLL-6: a handled signal does not end the lock wait; the poll pass finishes at the unlock and then reports the pending signal (-EINTR, do_poll)', async () => {
    const owner = { pid: 0, fd: -1 };
    const sim = testSimulator(IDEAL);
    sim.spawn(
      'p0',
      async (sys) => {
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc)).toBe(0);
        Object.assign(owner, { pid: sys.pid, fd: adc.dmabuf });
        return enqueue(sys, adc);
      },
      { stdio: false },
    );
    const pid = sim.spawn(
      'p1',
      async (sys) => {
        expect(await sys.sigaction(SIGUSR1, { restart: false })).toBe(0);
        await sys.nanosleep(1 * MS);
        await waitFor(sys, () => owner.fd >= 0);
        const fd = await passFd(sys, owner.pid, owner.fd);
        const [ret, , t] = await poll1(sys, fd, INOUT, 0);
        return [ret, t];
      },
      { stdio: false },
    );
    sim.at(2 * MS, 'SIGUSR1', () => sim.kill(pid, SIGUSR1));
    const r = await sim.run();
    expect(r.processes.map((p) => [p.status, p.value])).toEqual([
      ['exited', 0],
      ['exited', [-EINTR, vtime(ADC_DONE)]],
    ]);
  });
});

describe('SFILE-4: poll on a sync_file', () => {
  it('SFILE-4: POLLIN iff the fence signalled; POLLOUT never; a blocking poll wakes at the signal', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      return [
        await poll1(sys, sf, POLLIN | POLLOUT | POLLRDNORM, 0),
        await poll1(sys, sf, POLLOUT, 1),
        await poll1(sys, sf, POLLIN, -1),
        await poll1(sys, sf, POLLIN | POLLOUT | POLLRDNORM | POLLPRI, 0),
        await poll1(sys, sf, POLLOUT | POLLRDNORM, 0),
      ];
    }, IDEAL);
    expect(value).toEqual([
      [0, 0, vtime(0)],
      [0, 0, vtime(1 * MS)],
      [1, POLLIN, vtime(ADC_DONE)],
      [1, POLLIN, vtime(ADC_DONE)],
      [0, 0, vtime(ADC_DONE)],
    ]);
  });

  it('SFILE-4: the stub sync_file is POLLIN at once; an error fence is POLLIN too (no POLLERR)', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      const stub = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      expect(await enqueue(sys, adc)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const r = [await poll1(sys, stub, POLLIN, 0)];
      await sys.nanosleep(1 * MS);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      r.push(await poll1(sys, sf, POLLIN | POLLERR, 0));
      return r;
    }, IDEAL);
    expect(value).toEqual([
      [1, POLLIN, vtime(0)],
      [1, POLLIN, vtime(1 * MS)],
    ]);
  });

  it('SFILE-4: a closed sync_file fd polls POLLNVAL (POLL-4)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await heapAlloc(sys, 4096);
      const sf = await exportFd(sys, fd, DMA_BUF_SYNC_READ);
      await sys.close(sf);
      return poll1(sys, sf, POLLIN, 0);
    }, IDEAL);
    expect(value).toEqual([1, POLLNVAL, vtime(0)]);
  });
});
