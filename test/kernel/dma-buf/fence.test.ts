/**
 * Rules FENCE-1..6 (dma_fence), RESV-1..5 (dma_resv) and TRACE-1..6 (the dma_fence tracepoints) of
 * ../shared/reference/kernel-semantics.md §8: unit tests of DmaFence, DmaResv and FenceDomain on their own
 * census and clock, then the same rules seen through syscalls with IIO fences (sim-adc: WRITE usage,
 * sim-dac: READ usage) on the ideal platform, where every time is exact.
 */
import { describe, expect, it } from 'vitest';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
  dma_buf_sync,
  dma_heap_allocation_data,
  EBADF,
  EBUSY,
  EINTR,
  EINVAL,
  EIO,
  ENOENT,
  ERESTARTSYS,
  F_SETFL,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  iio_dmabuf,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLIN,
  POLLOUT,
  type PollEntry,
  type Simulator,
  type SimulatorOptions,
  SYNC_IOC_FILE_INFO,
  type Sys,
  sync_file_info,
} from '../../../src/index.ts';
import {
  DmaFence,
  type DmaFenceOps,
  FenceDomain,
  type FenceEvents,
  stubFence,
} from '../../../src/kernel/dma-buf/fence.ts';
import {
  DMA_RESV_USAGE_BOOKKEEP,
  DMA_RESV_USAGE_KERNEL,
  DMA_RESV_USAGE_READ,
  DMA_RESV_USAGE_WRITE,
  DmaResv,
  dmaResvUsageRw,
  resvWaitTimeout,
} from '../../../src/kernel/dma-buf/resv.ts';
import { Census } from '../../../src/kernel/kref.ts';
import { isSleep, type SysRet } from '../../../src/kernel/wait.ts';
import * as v2 from '../../../src/uapi/iio-v2.ts';
import { SIGUSR1 } from '../../../src/uapi/signal.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../../src/user/iio.ts';
import { runOne, testSimulator, vtime } from '../../helpers.ts';
import { fenceName, passFd, waitFor } from '../iio/dmabuf-helpers.ts';

type Trace = Parameters<FenceEvents['fence:trace']>[0];

const MS = 1_000_000;
const BLOCK = 32768;
const ADC_DONE = 4_098_000;
const DAC_DONE = 8_194_000;
const IDEAL: SimulatorOptions = { platform: 'ideal' };
const V2_IDEAL: SimulatorOptions = { platform: 'ideal', abi: 'v2' };
const OPS: DmaFenceOps = { driverName: 'drv', timelineName: 'tl', detachNamesWhenSignaled: true };
const V2_OPS: DmaFenceOps = { driverName: 'drv', timelineName: 'tl', detachNamesWhenSignaled: false };

/** `<time> <event> driver=.. timeline=.. context=.. seqno=.. <comm or ->`, the TP_printk fields with time and task. */
function line(e: Trace): string {
  return `${e.time} ${e.event} driver=${e.driver} timeline=${e.timeline} context=${e.context} seqno=${e.seqno} ${e.task?.comm ?? '-'}`;
}

/** A fence domain of its own: census, settable clock, recorded trace lines. */
function domain() {
  const census = new Census();
  const clock = { now: 0 };
  const lines: string[] = [];
  const d = new FenceDomain(
    census,
    () => clock.now,
    (e) => lines.push(line(e)),
    () => null,
  );
  return { census, clock, lines, d };
}

/** Records the fence trace of `sim` as lines; `mark(label)` inserts a label between events. */
function record(sim: Simulator) {
  const lines: string[] = [];
  sim.events.on('fence:trace', (e) => lines.push(line(e)));
  return { lines, mark: (label: string) => lines.push(`-- ${label}`) };
}

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

function sync(sys: Sys, fd: number, flags: number): Promise<number> {
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags }));
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

/** SYNC_IOC_FILE_INFO (num_fences 0): [status, num_fences, name]. */
async function fileInfo(sys: Sys, syncFd: number): Promise<[number, number, string]> {
  const addr = sys.mem.allocStruct(sync_file_info, {
    name: '',
    status: 0,
    flags: 0,
    num_fences: 0,
    pad: 0,
    sync_fence_info: 0,
  });
  expect(await sys.ioctl(syncFd, SYNC_IOC_FILE_INFO, addr)).toBe(0);
  const i = sys.mem.readStruct(addr, sync_file_info);
  return [i.status, i.num_fences, i.name];
}

interface Stream {
  readonly buffer: number;
  readonly dmabuf: number;
}

/** Channels on, buffer fd, a heap dma-buf attached (one fence context), buffer enabled unless told. */
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

function enqueue(sys: Sys, bufferFd: number, dmabufFd: number): Promise<number> {
  return sys.ioctl(
    bufferFd,
    IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(iio_dmabuf, { fd: dmabufFd, flags: 0, bytes_used: BLOCK }),
  );
}

/** The v2 profile: sim-adc buffer fd and one ALLOCated dma-buf (not enabled). */
async function v2Stream(sys: Sys): Promise<Stream> {
  expect(await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'])).toBe(0);
  const b = await openBuffer(sys, 0);
  if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
  const dmabuf = await sys.ioctl(
    b.fd,
    v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: BLOCK, resv: 0 }),
  );
  expect(dmabuf).toBeGreaterThanOrEqual(0);
  return { buffer: b.fd, dmabuf };
}

function v2Enqueue(sys: Sys, s: Stream): Promise<number> {
  return sys.ioctl(
    s.buffer,
    v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf, { fd: s.dmabuf, flags: 0, bytes_used: BLOCK }),
  );
}

/** Drives a sleeping wait by hand: the continuation's next step, with the clock set first. */
function resume(r: SysRet, timedOut: boolean): SysRet {
  if (!isSleep(r)) throw new Error(`not sleeping: ${r}`);
  return r.resume(timedOut);
}

describe('FENCE-1: context allocation', () => {
  it('FENCE-1: contexts count from 1, one per allocation', () => {
    const { d } = domain();
    expect([d.contextAlloc(), d.contextAlloc(), d.contextAlloc()]).toEqual([1, 2, 3]);
  });

  it('FENCE-1: every ATTACH consumes a context, a failing one too (ATT-3); enqueued fences show theirs', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0); // context 1
      const other = await heapAlloc(sys, BLOCK);
      expect(await intIoctl(sys, adc.buffer, IIO_BUFFER_DMABUF_ATTACH_IOCTL, 99)).toBe(-EBADF); // 2
      expect(await intIoctl(sys, adc.buffer, IIO_BUFFER_DMABUF_ATTACH_IOCTL, adc.buffer)).toBe(-EINVAL); // 3
      expect(await intIoctl(sys, adc.buffer, IIO_BUFFER_DMABUF_ATTACH_IOCTL, other)).toBe(0); // 4
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await enqueue(sys, adc.buffer, other)).toBe(0);
      return t.lines.filter((l) => l.includes('dma_fence_init'));
    }, IDEAL);
    expect(value).toEqual([
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=1 test',
      '0 dma_fence_init driver=iio timeline=iio context=4 seqno=1 test',
    ]);
  });

  it('FENCE-1: an array fence made by EXPORT consumes the next context', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0); // context 1
      const dac = await stream(sys, 1); // context 2
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await enqueue(sys, dac.buffer, dac.dmabuf)).toBe(0);
      expect(
        await importSync(
          sys,
          adc.dmabuf,
          await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE),
          DMA_BUF_SYNC_READ,
        ),
      ).toBe(0);
      const first = (await fileInfo(sys, await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_WRITE)))[2];
      const second = (await fileInfo(sys, await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_RW)))[2];
      return [first, second];
    }, IDEAL);
    // Consecutive contexts on both kernels; their numbers count from boot on the real one.
    const context = (name: string) => Number(/(\d+)-\d+$/.exec(name)?.[1]);
    expect(context(value[1]!) - context(value[0]!)).toBe(1);
    expect(value).toEqual([fenceName('dma_fence_array-unbound3-1'), fenceName('dma_fence_array-unbound4-1')]);
  });

  it('FENCE-1: v2: every ENQUEUE takes a new context, seqno 0 (V2-ENQ-14)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const s = await v2Stream(sys);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await v2Enqueue(sys, s)).toBe(0);
      expect(await sync(sys, s.dmabuf, DMA_BUF_SYNC_READ)).toBe(0);
      expect(await v2Enqueue(sys, s)).toBe(0);
      return t.lines.filter((l) => l.includes('dma_fence_init'));
    }, V2_IDEAL);
    expect(value).toEqual([
      '0 dma_fence_init driver=sim-adc-dma timeline=sim-adc-dma context=1 seqno=0 test',
      `${ADC_DONE} dma_fence_init driver=sim-adc-dma timeline=sim-adc-dma context=2 seqno=0 test`,
    ]);
  });
});

describe('FENCE-2: signalling', () => {
  it('FENCE-2: the first signal records the time, traces and runs callbacks in order; later signals do nothing', () => {
    const { d, clock, lines } = domain();
    const f = new DmaFence(d, OPS, d.contextAlloc(), 7);
    const ran: string[] = [];
    expect(f.addCallback(() => ran.push('a'))).toBe(0);
    expect(f.addCallback(() => ran.push('b'))).toBe(0);
    expect(f.addCallback(() => ran.push('c'))).toBe(0);
    clock.now = 1000;
    expect(f.signal()).toBe(true);
    clock.now = 2000;
    expect(f.signal()).toBe(false);
    expect([ran, f.timestamp, f.signaled, f.callbackCount]).toEqual([['a', 'b', 'c'], 1000, true, 0]);
    expect(lines).toEqual([
      '0 dma_fence_init driver=drv timeline=tl context=1 seqno=7 -',
      '1000 dma_fence_signaled driver=drv timeline=tl context=1 seqno=7 -',
    ]);
  });

  it('FENCE-2: a removed callback is not run', () => {
    const { d } = domain();
    const f = new DmaFence(d, OPS, 1, 1);
    const ran: string[] = [];
    const a = () => ran.push('a');
    f.addCallback(a);
    f.addCallback(() => ran.push('b'));
    expect(f.removeCallback(a)).toBe(true);
    f.signal();
    expect([ran, f.removeCallback(a)]).toEqual([['b'], false]);
  });

  it('FENCE-2: an IIO fence signals once, at the IRQ of its block, in interrupt context (no task)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      await sys.nanosleep(10 * MS);
      return t.lines.filter((l) => l.includes('signaled'));
    }, IDEAL);
    expect(value).toEqual([`${ADC_DONE} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 -`]);
  });
});

describe('FENCE-3: error and status', () => {
  it('FENCE-3: status 0 pending, 1 signalled without error, the error when set before the signal', () => {
    const { d } = domain();
    const ok = new DmaFence(d, OPS, 1, 1);
    const bad = new DmaFence(d, OPS, 1, 2);
    const before = [ok.status, bad.status];
    bad.setError(-EIO);
    const stillPending = bad.status;
    ok.signal();
    bad.signal();
    expect([before, stillPending, ok.status, bad.status, bad.error]).toEqual([[0, 0], 0, 1, -EIO, -EIO]);
  });

  it('FENCE-3: IIO fences: 1 after completion, -EINTR after a disable in flight (seen through sync_files exported while pending)', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      const other = await heapAlloc(sys, BLOCK);
      expect(await intIoctl(sys, adc.buffer, IIO_BUFFER_DMABUF_ATTACH_IOCTL, other)).toBe(0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await enqueue(sys, adc.buffer, other)).toBe(0);
      const a = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const b = await exportFd(sys, other, DMA_BUF_SYNC_READ);
      await sys.nanosleep(ADC_DONE + 1 * MS);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      return [(await fileInfo(sys, a))[0], (await fileInfo(sys, b))[0]];
    }, IDEAL);
    expect(value).toEqual([1, -EINTR]);
  });
});

describe('FENCE-4: adding a callback', () => {
  it('FENCE-4: on a signalled fence: -ENOENT and the callback is never run', () => {
    const { d } = domain();
    const f = new DmaFence(d, OPS, 1, 1);
    f.signal();
    let ran = 0;
    expect(f.addCallback(() => ran++)).toBe(-ENOENT);
    f.signal();
    expect([ran, f.callbackCount]).toEqual([0, 0]);
  });

  it('FENCE-4: on a pending fence: 0, run once at the signal', () => {
    const { d } = domain();
    const f = new DmaFence(d, OPS, 1, 1);
    let ran = 0;
    expect(f.addCallback(() => ran++)).toBe(0);
    const mid = ran;
    f.signal();
    f.signal();
    expect([mid, ran]).toEqual([0, 1]);
  });
});

describe('FENCE-5/RESV-4: waiting with a timeout', () => {
  const wait = (resv: DmaResv, usage: number, timeout: number | null, clock: { now: number }) => {
    const got: number[] = [];
    const r = resvWaitTimeout(
      resv,
      usage,
      timeout,
      () => clock.now,
      'test wait',
      -ERESTARTSYS,
      (ret) => {
        got.push(ret);
        return ret;
      },
    );
    return { r, got };
  };

  it('FENCE-5/RESV-4: timeout 0: 1 when nothing is pending, 0 when something is', () => {
    const { d, clock } = domain();
    const resv = new DmaResv('t');
    expect(wait(resv, DMA_RESV_USAGE_READ, 0, clock).r).toBe(1);
    const f = new DmaFence(d, OPS, 1, 1);
    resv.addFence(f, DMA_RESV_USAGE_WRITE);
    expect(wait(resv, DMA_RESV_USAGE_READ, 0, clock).r).toBe(0);
    f.signal();
    expect(wait(resv, DMA_RESV_USAGE_READ, 0, clock).r).toBe(1);
  });

  it('FENCE-5/RESV-4: returns the remaining time (> 0) when the fence signals in time, 0 on timeout', () => {
    const { d, clock } = domain();
    const resv = new DmaResv('t');
    const f = new DmaFence(d, OPS, 1, 1);
    resv.addFence(f, DMA_RESV_USAGE_WRITE);
    const a = wait(resv, DMA_RESV_USAGE_READ, 1000, clock);
    expect(isSleep(a.r) && a.r.timeoutNs).toBe(1000);
    clock.now = 400;
    f.signal();
    expect(resume(a.r, false)).toBe(600);

    const g = new DmaFence(d, OPS, 1, 2);
    resv.addFence(g, DMA_RESV_USAGE_WRITE);
    const b = wait(resv, DMA_RESV_USAGE_READ, 1000, clock);
    clock.now = 1400;
    expect([resume(b.r, true), b.got]).toEqual([0, [0]]);
  });

  it('RESV-4: the budget is shared across fences; only unsignalled fences of usage <= the one asked are visited', () => {
    const { d, clock } = domain();
    const resv = new DmaResv('t');
    const done = new DmaFence(d, OPS, 1, 1);
    done.signal();
    const w = new DmaFence(d, OPS, 2, 1);
    const r = new DmaFence(d, OPS, 3, 1);
    const bk = new DmaFence(d, OPS, 4, 1);
    resv.addFence(done, DMA_RESV_USAGE_KERNEL);
    resv.addFence(w, DMA_RESV_USAGE_WRITE);
    resv.addFence(r, DMA_RESV_USAGE_READ);
    resv.addFence(bk, DMA_RESV_USAGE_BOOKKEEP);
    const a = wait(resv, DMA_RESV_USAGE_READ, 1000, clock);
    expect(isSleep(a.r) && [a.r.timeoutNs, a.r.queues[0] === w.waitq]).toEqual([1000, true]);
    clock.now = 300;
    w.signal();
    const second = resume(a.r, false);
    expect(isSleep(second) && [second.timeoutNs, second.queues[0] === r.waitq]).toEqual([700, true]);
    clock.now = 1000;
    expect([resume(second, true), a.got]).toEqual([0, [0]]);
    // WRITE usage only: r and bk are not waited for.
    expect(wait(resv, DMA_RESV_USAGE_WRITE, 1000, clock).r).toBe(1000);
  });

  it('RESV-4: without a timeout (SYNC-7) the wait returns > 0 once everything signalled', () => {
    const { d, clock } = domain();
    const resv = new DmaResv('t');
    const f = new DmaFence(d, OPS, 1, 1);
    resv.addFence(f, DMA_RESV_USAGE_KERNEL);
    const a = wait(resv, DMA_RESV_USAGE_WRITE, null, clock);
    expect(isSleep(a.r) && a.r.timeoutNs).toBe(null);
    clock.now = 5_000_000_000_000;
    f.signal();
    expect(resume(a.r, false)).toBe(1);
  });

  it('RESV-4: ENQUEUE shares its 5000 ms budget: a fence signalled at 4.098 ms, then one never signalled: -EBUSY at exactly 5000 ms', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0); // context 1, its block completes at ADC_DONE
      const dac = await stream(sys, 1, false); // context 2, its block stays QUEUED
      const d = await heapAlloc(sys, BLOCK);
      expect(await intIoctl(sys, adc.buffer, IIO_BUFFER_DMABUF_ATTACH_IOCTL, d)).toBe(0); // context 3
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await enqueue(sys, dac.buffer, dac.dmabuf)).toBe(0);
      expect(
        await importSync(sys, d, await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ), DMA_BUF_SYNC_WRITE),
      ).toBe(0);
      expect(
        await importSync(sys, d, await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE), DMA_BUF_SYNC_READ),
      ).toBe(0);
      t.mark('enqueue');
      const r = await enqueue(sys, adc.buffer, d);
      t.mark(`returned ${r} at ${sys.now()}`);
      return t.lines.slice(
        t.lines.indexOf('-- enqueue'),
        t.lines.findIndex((l) => l.startsWith('-- returned')) + 1,
      );
    }, IDEAL);
    expect(value).toEqual([
      '-- enqueue',
      '0 dma_fence_init driver=iio timeline=iio context=3 seqno=1 test',
      '0 dma_fence_wait_start driver=iio timeline=iio context=1 seqno=1 test',
      `${ADC_DONE} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 -`,
      `${ADC_DONE} dma_fence_wait_end driver=detached-driver timeline=signaled-timeline context=1 seqno=1 test`,
      `${ADC_DONE} dma_fence_wait_start driver=iio timeline=iio context=2 seqno=1 test`,
      '5000000000 dma_fence_wait_end driver=iio timeline=iio context=2 seqno=1 test',
      '5000000000 dma_fence_destroy driver=iio timeline=iio context=3 seqno=1 test',
      `-- returned ${-EBUSY} at 5000000000`,
    ]);
  });
});

describe('FENCE-6: the stub fence', () => {
  it('FENCE-6: context 0, seqno 0, names "stub", signalled (status 1), no init trace', () => {
    const { d, lines } = domain();
    const s = stubFence(d);
    expect([s.context, s.seqno, s.ops.driverName, s.ops.timelineName, s.signaled, s.status]).toEqual([
      0,
      0,
      'stub',
      'stub',
      true,
      1,
    ]);
    expect(s.addCallback(() => {})).toBe(-ENOENT);
    expect(lines).toEqual([]);
  });

  it('FENCE-6/TRACE-4: exporting the stub and closing its sync_file traces nothing: the stub is a static fence, never destroyed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const fd = await heapAlloc(sys, 4096);
      const sf = await exportFd(sys, fd, DMA_BUF_SYNC_RW);
      expect(await sys.close(sf)).toBe(0);
      expect(await sys.close(fd)).toBe(0);
      return t.lines;
    }, IDEAL);
    expect(value).toEqual([]);
  });
});

describe('RESV-1/RESV-2: usages', () => {
  it('RESV-1: KERNEL 0 < WRITE 1 < READ 2 < BOOKKEEP 3; "fences for usage X" are those of usage <= X', () => {
    const { d } = domain();
    const resv = new DmaResv('t');
    const fs = [0, 1, 2, 3].map((c) => new DmaFence(d, OPS, c + 10, 1));
    resv.addFence(fs[3]!, DMA_RESV_USAGE_BOOKKEEP);
    resv.addFence(fs[2]!, DMA_RESV_USAGE_READ);
    resv.addFence(fs[1]!, DMA_RESV_USAGE_WRITE);
    resv.addFence(fs[0]!, DMA_RESV_USAGE_KERNEL);
    const ctx = (u: number) => resv.pending(u).map((f) => f.context);
    expect([
      DMA_RESV_USAGE_KERNEL,
      DMA_RESV_USAGE_WRITE,
      DMA_RESV_USAGE_READ,
      DMA_RESV_USAGE_BOOKKEEP,
    ]).toEqual([0, 1, 2, 3]);
    expect([ctx(0), ctx(1), ctx(2), ctx(3)]).toEqual([[10], [11, 10], [12, 11, 10], [13, 12, 11, 10]]);
  });

  it('RESV-2: dma_resv_usage_rw(write) is READ, (read) is WRITE', () => {
    expect([dmaResvUsageRw(true), dmaResvUsageRw(false)]).toEqual([
      DMA_RESV_USAGE_READ,
      DMA_RESV_USAGE_WRITE,
    ]);
  });
});

describe('RESV-3: adding a fence', () => {
  it('RESV-3: a later fence of the same context replaces in place a slot whose usage is >= its own, dropping the old reference', () => {
    const { d, census } = domain();
    const resv = new DmaResv('t');
    const other = new DmaFence(d, OPS, 9, 1);
    const f1 = new DmaFence(d, OPS, 5, 1);
    const f2 = new DmaFence(d, OPS, 5, 2);
    resv.addFence(f1, DMA_RESV_USAGE_READ);
    resv.addFence(other, DMA_RESV_USAGE_READ);
    f1.put();
    resv.addFence(f2, DMA_RESV_USAGE_WRITE);
    expect(resv.slots.map((s) => [s.fence.context, s.fence.seqno, s.usage])).toEqual([
      [5, 2, DMA_RESV_USAGE_WRITE],
      [9, 1, DMA_RESV_USAGE_READ],
    ]);
    // f1 is gone: only other and f2 remain alive.
    expect(census.live()).toEqual({ dma_fence: 2 });
  });

  it('RESV-3: appended instead when the slot usage is lower than the new one, or the new seqno is older', () => {
    const { d } = domain();
    const resv = new DmaResv('t');
    resv.addFence(new DmaFence(d, OPS, 5, 2), DMA_RESV_USAGE_WRITE);
    resv.addFence(new DmaFence(d, OPS, 5, 3), DMA_RESV_USAGE_READ);
    resv.addFence(new DmaFence(d, OPS, 5, 1), DMA_RESV_USAGE_READ);
    expect(resv.slots.map((s) => [s.fence.seqno, s.usage])).toEqual([
      [2, DMA_RESV_USAGE_WRITE],
      [3, DMA_RESV_USAGE_READ],
      [1, DMA_RESV_USAGE_READ],
    ]);
  });

  it('RESV-3: any signalled slot is reused by an unrelated fence', () => {
    const { d } = domain();
    const resv = new DmaResv('t');
    const a = new DmaFence(d, OPS, 1, 1);
    const b = new DmaFence(d, OPS, 2, 1);
    resv.addFence(a, DMA_RESV_USAGE_KERNEL);
    resv.addFence(b, DMA_RESV_USAGE_WRITE);
    b.signal();
    resv.addFence(new DmaFence(d, OPS, 3, 1), DMA_RESV_USAGE_BOOKKEEP);
    expect(resv.slots.map((s) => [s.fence.context, s.usage])).toEqual([
      [1, DMA_RESV_USAGE_KERNEL],
      [3, DMA_RESV_USAGE_BOOKKEEP],
    ]);
  });

  it('RESV-3: IMPORT of a fence over a signalled slot releases the old fence at once (dma_fence_destroy at the import)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0); // context 1
      const dac = await stream(sys, 1); // context 2
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ)).toBe(0); // fence 1:1 signalled at ADC_DONE
      expect(await enqueue(sys, dac.buffer, dac.dmabuf)).toBe(0);
      const sf = await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE);
      await sys.nanosleep(1 * MS);
      t.mark('import');
      expect(await importSync(sys, adc.dmabuf, sf, DMA_BUF_SYNC_WRITE)).toBe(0);
      t.mark('imported');
      const info = await fileInfo(sys, await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ));
      const i = t.lines.indexOf('-- import');
      return [t.lines.slice(i, t.lines.indexOf('-- imported') + 1), info];
    }, IDEAL);
    expect(value).toEqual([
      [
        '-- import',
        `${ADC_DONE + MS} dma_fence_destroy driver=detached-driver timeline=signaled-timeline context=1 seqno=1 test`,
        '-- imported',
      ],
      [0, 1, 'iio-iio2-1'],
    ]);
  });

  it('RESV-3: the same fence imported twice keeps one slot when the new usage is <= the old (READ then WRITE); WRITE then READ appends', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      const a = await heapAlloc(sys, 4096);
      const b = await heapAlloc(sys, 4096);
      expect(await importSync(sys, a, sf, DMA_BUF_SYNC_READ)).toBe(0);
      expect(await importSync(sys, a, sf, DMA_BUF_SYNC_WRITE)).toBe(0);
      expect(await importSync(sys, b, sf, DMA_BUF_SYNC_WRITE)).toBe(0);
      expect(await importSync(sys, b, sf, DMA_BUF_SYNC_READ)).toBe(0);
      const ea = await fileInfo(sys, await exportFd(sys, a, DMA_BUF_SYNC_WRITE));
      const eb = await fileInfo(sys, await exportFd(sys, b, DMA_BUF_SYNC_WRITE));
      // a's single slot now has WRITE usage: POLLIN waits for it.
      const pa: PollEntry[] = [{ fd: a, events: POLLIN }];
      await sys.pollfds(pa, 0);
      return [ea, eb.slice(1), pa[0]!.revents];
    }, IDEAL);
    expect(value).toEqual([[0, 1, fenceName('iio-iio1-1')], [2, fenceName('dma_fence_array-unbound2-1')], 0]);
  });
});

describe('RESV-5: the reservation lock', () => {
  it('RESV-5: while an ENQUEUE waits holding the lock (ENQ-12), IMPORT blocks until it is released; a nonblocking ATTACH right after finds it free', async () => {
    const owner = { pid: 0, fd: -1 };
    const sim = testSimulator(IDEAL);
    sim.spawn(
      'p0',
      async (sys) => {
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
        Object.assign(owner, { pid: sys.pid, fd: adc.dmabuf });
        const r = await enqueue(sys, adc.buffer, adc.dmabuf);
        return [r, sys.now()];
      },
      { stdio: false },
    );
    sim.spawn(
      'p1',
      async (sys) => {
        const dac = await stream(sys, 1, false);
        expect(await sys.fcntl(dac.buffer, F_SETFL, O_NONBLOCK)).toBe(0);
        await sys.nanosleep(1 * MS);
        await waitFor(sys, () => owner.fd >= 0);
        const fd = await passFd(sys, owner.pid, owner.fd);
        const stub = await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_RW);
        const imp = [await importSync(sys, fd, stub, DMA_BUF_SYNC_READ), sys.now()];
        const attach = [await intIoctl(sys, dac.buffer, IIO_BUFFER_DMABUF_ATTACH_IOCTL, fd), sys.now()];
        return [imp, attach];
      },
      { stdio: false },
    );
    const r = await sim.run();
    expect(r.processes.map((p) => p.value)).toEqual([
      [0, vtime(ADC_DONE)],
      [
        [0, vtime(ADC_DONE)],
        [0, vtime(ADC_DONE)],
      ],
    ]);
  });
});

describe('TRACE-1: event fields', () => {
  it('TRACE-1: context and seqno are cut to 32 bits', () => {
    const { d, lines } = domain();
    const f = new DmaFence(d, OPS, 2 ** 32 + 7, 2 ** 33 + 9);
    f.signal();
    expect(lines).toEqual([
      '0 dma_fence_init driver=drv timeline=tl context=7 seqno=9 -',
      '0 dma_fence_signaled driver=drv timeline=tl context=7 seqno=9 -',
    ]);
  });
});

describe('TRACE-4: names of a signalled fence (unit)', () => {
  it('TRACE-4: mainline ops: destroy and waits after the signal say detached-driver/signaled-timeline; init and signaled keep the real names', () => {
    const { d, lines } = domain();
    const f = new DmaFence(d, OPS, 3, 4);
    d.trace('dma_fence_wait_start', f);
    f.signal();
    d.trace('dma_fence_wait_end', f);
    d.trace('dma_fence_emit', f);
    f.put();
    expect(lines).toEqual([
      '0 dma_fence_init driver=drv timeline=tl context=3 seqno=4 -',
      '0 dma_fence_wait_start driver=drv timeline=tl context=3 seqno=4 -',
      '0 dma_fence_signaled driver=drv timeline=tl context=3 seqno=4 -',
      '0 dma_fence_wait_end driver=detached-driver timeline=signaled-timeline context=3 seqno=4 -',
      '0 dma_fence_emit driver=detached-driver timeline=signaled-timeline context=3 seqno=4 -',
      '0 dma_fence_destroy driver=detached-driver timeline=signaled-timeline context=3 seqno=4 -',
    ]);
  });

  it('TRACE-4: v2 ops: the real names always', () => {
    const { d, lines } = domain();
    const f = new DmaFence(d, V2_OPS, 3, 0);
    f.signal();
    d.trace('dma_fence_wait_end', f);
    f.put();
    expect(lines).toEqual([
      '0 dma_fence_init driver=drv timeline=tl context=3 seqno=0 -',
      '0 dma_fence_signaled driver=drv timeline=tl context=3 seqno=0 -',
      '0 dma_fence_wait_end driver=drv timeline=tl context=3 seqno=0 -',
      '0 dma_fence_destroy driver=drv timeline=tl context=3 seqno=0 -',
    ]);
  });
});

describe('TRACE-2..4/TRACE-6: an IIO fence from enqueue to destroy', () => {
  it('TRACE-2/3/4/6 (mainline): init at ENQUEUE, wait_start at SYNC START, signaled at the IRQ, then wait_end and destroy with the detached names', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ)).toBe(0);
      await sys.nanosleep(1 * MS);
      await sys.close(adc.dmabuf);
      t.mark('dma-buf fd closed');
      await sys.close(adc.buffer);
      t.mark('buffer fd closed');
      return t.lines;
    }, IDEAL);
    expect(value).toEqual([
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=1 test',
      '0 dma_fence_wait_start driver=iio timeline=iio context=1 seqno=1 test',
      `${ADC_DONE} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 -`,
      `${ADC_DONE} dma_fence_wait_end driver=detached-driver timeline=signaled-timeline context=1 seqno=1 test`,
      '-- dma-buf fd closed',
      `${ADC_DONE + MS} dma_fence_destroy driver=detached-driver timeline=signaled-timeline context=1 seqno=1 test`,
      '-- buffer fd closed',
    ]);
  });

  it('TRACE-2: an array fence is traced at its init (EXPORT of several fences) with its real names', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0); // context 1
      const dac = await stream(sys, 1); // context 2
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await enqueue(sys, dac.buffer, dac.dmabuf)).toBe(0);
      expect(
        await importSync(
          sys,
          adc.dmabuf,
          await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE),
          DMA_BUF_SYNC_READ,
        ),
      ).toBe(0);
      t.mark('export');
      await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_RW);
      t.mark('exported');
      return t.lines.slice(t.lines.indexOf('-- export'), t.lines.indexOf('-- exported') + 1);
    }, IDEAL);
    expect(value).toEqual([
      '-- export',
      '0 dma_fence_init driver=dma_fence_array timeline=unbound context=3 seqno=1 test',
      '-- exported',
    ]);
  });

  it('TRACE-3: a fence failed by a disable is traced signaled once, at the disable, with the real names', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      await sys.nanosleep(1 * MS);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      await sys.nanosleep(10 * MS);
      t.mark('end');
      return t.lines.slice(0, t.lines.indexOf('-- end') + 1);
    }, IDEAL);
    expect(value).toEqual([
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=1 test',
      `${MS} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 test`,
      '-- end',
    ]);
  });

  it('TRACE-4 (v2): the names stay real after the signal', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const s = await v2Stream(sys);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await v2Enqueue(sys, s)).toBe(0);
      expect(await sync(sys, s.dmabuf, DMA_BUF_SYNC_READ)).toBe(0);
      await setBufferEnabled(sys, 0, false);
      await sys.close(s.dmabuf);
      await sys.close(s.buffer);
      return t.lines;
    }, V2_IDEAL);
    const n = 'driver=sim-adc-dma timeline=sim-adc-dma context=1 seqno=0';
    expect(value.filter((l) => !l.includes('destroy'))).toEqual([
      `0 dma_fence_init ${n} test`,
      `0 dma_fence_wait_start ${n} test`,
      `${ADC_DONE} dma_fence_signaled ${n} -`,
      `${ADC_DONE} dma_fence_wait_end ${n} test`,
    ]);
    // When the v2 fence is destroyed depends on who drops the last reference; its names are real either way.
    expect(value.filter((l) => l.includes('destroy')).map((l) => l.split(' ').slice(1, 6).join(' '))).toEqual(
      [`dma_fence_destroy ${n}`],
    );
  });
});

describe('TRACE-5: enable_signal', () => {
  it('TRACE-5: never for IIO fences, whatever waits on them (poll, SYNC START, sync_file poll, IMPORT, ENQUEUE wait)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await sys.pollfds([{ fd: adc.dmabuf, events: POLLIN | POLLOUT }], 0)).toBe(0);
      const sf = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
      expect(await sys.pollfds([{ fd: sf, events: POLLIN }], 0)).toBe(0);
      expect(await importSync(sys, await heapAlloc(sys, 4096), sf, DMA_BUF_SYNC_WRITE)).toBe(0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await sync(sys, adc.dmabuf, DMA_BUF_SYNC_RW)).toBe(0);
      return t.lines.map((l) => l.split(' ')[1]);
    }, IDEAL);
    expect(value).toEqual([
      'dma_fence_init',
      'dma_fence_init',
      'dma_fence_wait_start',
      'dma_fence_signaled',
      'dma_fence_wait_end',
      'dma_fence_wait_start',
      'dma_fence_signaled',
      'dma_fence_wait_end',
    ]);
  });

  it('TRACE-5: a fence array has enable_signaling: the first poll of its sync_file traces dma_fence_enable_signal once', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0); // context 1
      const dac = await stream(sys, 1); // context 2
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await enqueue(sys, dac.buffer, dac.dmabuf)).toBe(0);
      expect(
        await importSync(
          sys,
          adc.dmabuf,
          await exportFd(sys, dac.dmabuf, DMA_BUF_SYNC_WRITE),
          DMA_BUF_SYNC_READ,
        ),
      ).toBe(0);
      const array = await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_WRITE); // context 3
      t.mark('poll');
      expect(await sys.pollfds([{ fd: array, events: POLLIN }], 0)).toBe(0);
      expect(await sys.pollfds([{ fd: array, events: POLLIN }], 0)).toBe(0);
      t.mark('polled');
      return t.lines.slice(t.lines.indexOf('-- poll'), t.lines.indexOf('-- polled') + 1);
    }, IDEAL);
    expect(value).toEqual([
      '-- poll',
      '0 dma_fence_enable_signal driver=dma_fence_array timeline=unbound context=3 seqno=1 test',
      '-- polled',
    ]);
  });
});

describe('TRACE-6: which waits trace', () => {
  it('TRACE-6: poll waits by callback: no wait_start/wait_end', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      const p: PollEntry[] = [{ fd: adc.dmabuf, events: POLLIN | POLLOUT }];
      expect(await sys.pollfds(p, -1)).toBe(1);
      t.mark(`poll ${p[0]!.revents} at ${sys.now()}`);
      return t.lines.slice(0, t.lines.findIndex((l) => l.startsWith('-- poll')) + 1);
    }, IDEAL);
    expect(value).toEqual([
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=1 test',
      `${ADC_DONE} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 -`,
      `-- poll ${POLLIN | POLLOUT} at ${ADC_DONE}`,
    ]);
  });

  it('TRACE-6: SYNC START with nothing pending (signalled or other-usage fences only) traces no wait', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const dac = await stream(sys, 1);
      expect(await enqueue(sys, dac.buffer, dac.dmabuf)).toBe(0);
      t.mark('sync');
      expect(await sync(sys, dac.dmabuf, DMA_BUF_SYNC_READ)).toBe(0);
      t.mark('synced');
      return t.lines.slice(t.lines.indexOf('-- sync'));
    }, IDEAL);
    expect(value).toEqual(['-- sync', '-- synced']);
  });

  it('TRACE-6: a blocking ENQUEUE waiting for the previous fence (ENQ-12) traces wait_start/wait_end around the wait', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      t.mark(`returned at ${sys.now()}`);
      return t.lines;
    }, IDEAL);
    expect(value).toEqual([
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=1 test',
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=2 test',
      '0 dma_fence_wait_start driver=iio timeline=iio context=1 seqno=1 test',
      `${ADC_DONE} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 -`,
      `${ADC_DONE} dma_fence_wait_end driver=detached-driver timeline=signaled-timeline context=1 seqno=1 test`,
      // The IIO cleanup work (IFENCE-7) drops the last reference, in worker context.
      `${ADC_DONE} dma_fence_destroy driver=detached-driver timeline=signaled-timeline context=1 seqno=1 -`,
      `-- returned at ${ADC_DONE}`,
    ]);
  });

  it('TRACE-6: a nonblocking ENQUEUE tests once (timeout 0): wait_start and wait_end with the real names, then -EBUSY and the new fence destroyed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const adc = await stream(sys, 0);
      expect(await sys.fcntl(adc.buffer, F_SETFL, O_NONBLOCK)).toBe(0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      const r = await enqueue(sys, adc.buffer, adc.dmabuf);
      t.mark(`returned ${r}`);
      return t.lines;
    }, IDEAL);
    expect(value).toEqual([
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=1 test',
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=2 test',
      '0 dma_fence_wait_start driver=iio timeline=iio context=1 seqno=1 test',
      '0 dma_fence_wait_end driver=iio timeline=iio context=1 seqno=1 test',
      '0 dma_fence_destroy driver=iio timeline=iio context=1 seqno=2 test',
      `-- returned ${-EBUSY}`,
    ]);
  });

  it('TRACE-6: a SYNC START interrupted by a handled signal traces wait_end at the interruption (dma_fence_wait_timeout always pairs them)', async () => {
    const sim = testSimulator(IDEAL);
    const t = record(sim);
    const pid = sim.spawn(
      'victim',
      async (sys) => {
        expect(await sys.sigaction(SIGUSR1, { restart: false })).toBe(0);
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
        const r = await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
        t.mark(`returned ${r} at ${sys.now()}`);
        await setBufferEnabled(sys, 0, false);
      },
      { stdio: false },
    );
    sim.at(2 * MS, 'SIGUSR1', () => sim.kill(pid, SIGUSR1));
    await sim.run();
    expect(t.lines.slice(0, 4)).toEqual([
      '0 dma_fence_init driver=iio timeline=iio context=1 seqno=1 victim',
      '0 dma_fence_wait_start driver=iio timeline=iio context=1 seqno=1 victim',
      `${2 * MS} dma_fence_wait_end driver=iio timeline=iio context=1 seqno=1 victim`,
      `-- returned ${-EINTR} at ${2 * MS}`,
    ]);
  });

  it('TRACE-6: with SA_RESTART the restarted START traces a second wait_start/wait_end pair', async () => {
    const sim = testSimulator(IDEAL);
    const t = record(sim);
    const pid = sim.spawn(
      'victim',
      async (sys) => {
        expect(await sys.sigaction(SIGUSR1, { restart: true })).toBe(0);
        const adc = await stream(sys, 0);
        expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
        const r = await sync(sys, adc.dmabuf, DMA_BUF_SYNC_READ);
        t.mark(`returned ${r} at ${sys.now()}`);
      },
      { stdio: false },
    );
    sim.at(2 * MS, 'SIGUSR1', () => sim.kill(pid, SIGUSR1));
    await sim.run();
    const n = 'driver=iio timeline=iio context=1 seqno=1 victim';
    expect(t.lines.slice(0, 7)).toEqual([
      `0 dma_fence_init ${n}`,
      `0 dma_fence_wait_start ${n}`,
      `${2 * MS} dma_fence_wait_end ${n}`,
      `${2 * MS} dma_fence_wait_start ${n}`,
      `${ADC_DONE} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 -`,
      `${ADC_DONE} dma_fence_wait_end driver=detached-driver timeline=signaled-timeline context=1 seqno=1 victim`,
      `-- returned 0 at ${ADC_DONE}`,
    ]);
  });

  it('TRACE-6: SYNC START waits on each pending fence in turn: one pair per fence (DAC READ fence, then ADC WRITE fence via import)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const t = record(sim);
      const dac = await stream(sys, 1); // context 1
      const adc = await stream(sys, 0); // context 2
      expect(await enqueue(sys, dac.buffer, dac.dmabuf)).toBe(0);
      expect(await enqueue(sys, adc.buffer, adc.dmabuf)).toBe(0);
      expect(
        await importSync(
          sys,
          dac.dmabuf,
          await exportFd(sys, adc.dmabuf, DMA_BUF_SYNC_READ),
          DMA_BUF_SYNC_WRITE,
        ),
      ).toBe(0);
      t.mark('sync');
      expect(await sync(sys, dac.dmabuf, DMA_BUF_SYNC_RW)).toBe(0);
      t.mark(`synced at ${sys.now()}`);
      return t.lines.slice(t.lines.indexOf('-- sync'));
    }, IDEAL);
    expect(value).toEqual([
      '-- sync',
      '0 dma_fence_wait_start driver=iio timeline=iio context=1 seqno=1 test',
      `${ADC_DONE} dma_fence_signaled driver=iio timeline=iio context=2 seqno=1 -`,
      `${DAC_DONE} dma_fence_signaled driver=iio timeline=iio context=1 seqno=1 -`,
      `${DAC_DONE} dma_fence_wait_end driver=detached-driver timeline=signaled-timeline context=1 seqno=1 test`,
      `-- synced at ${DAC_DONE}`,
    ]);
  });
});
