/**
 * Fences and dma-buf behaviour of the v2 profile (rulebook §11: V2-ENQ-14, V2-FENCE-*, V2-DBUF-*): one exclusive
 * fence per ENQUEUE with its own context and seqno 0, named after the DMA channel; the reservation lock held from
 * submit to completion or abort; a disable that leaves fences unsignalled; and what poll, SYNC, mmap and the last
 * close make of all that.
 *
 * sim-adc (iio:device0): bpd 8, a 16384-byte block = 2048 scans = 2.048 ms; sim-dac (iio:device1): bpd 4, an
 * 8192-byte block = 2048 scans = 2.048 ms. Completion IRQs come 2 µs after a transfer ends.
 */
import { describe, expect, it } from 'vitest';
import { createSimulator, type PollEntry, type Simulator, type Sys } from '../../../src/index.ts';
import type { DmaBuf } from '../../../src/kernel/dma-buf/dma-buf.ts';
import * as v2 from '../../../src/uapi/iio-v2.ts';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
  dma_buf_sync,
  dma_heap_allocation_data,
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  ENOTTY,
  EPERM,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  POLLIN,
  POLLOUT,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/uapi/index.ts';
import { SIGUSR1 } from '../../../src/uapi/signal.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../../src/user/iio.ts';
import { runOne } from '../../helpers.ts';

const MS = 1_000_000;
const IRQ = 2_000;
const BLOCK_NS = 2_048_000;
const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];
const V2 = { abi: 'v2', platform: 'ideal' } as const;

async function bufferOf(sys: Sys, device: 0 | 1): Promise<number> {
  expect(await enableChannels(sys, device, device === 0 ? ADC_CHANNELS : DAC_CHANNELS)).toBe(0);
  const b = await openBuffer(sys, device);
  if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
  return b.fd;
}

function alloc(sys: Sys, bfd: number, size: number): Promise<number> {
  return sys.ioctl(
    bfd,
    v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size, resv: 0 }),
  );
}

function enqueue(sys: Sys, bfd: number, fd: number, bytesUsed: number, flags = 0): Promise<number> {
  return sys.ioctl(
    bfd,
    v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf, { fd, flags, bytes_used: bytesUsed }),
  );
}

function sync(sys: Sys, fd: number, flags: number): Promise<number> {
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags }));
}

function enable(sys: Sys, device: 0 | 1, on: boolean): Promise<number> {
  return setBufferEnabled(sys, device, on);
}

async function pollOne(sys: Sys, fd: number, events: number, timeoutMs: number) {
  const fds: PollEntry[] = [{ fd, events }];
  const ret = await sys.pollfds(fds, timeoutMs);
  return { ret, revents: fds[0]!.revents, t: sys.now() };
}

function dmabufOf(sim: Simulator, sys: Sys, fd: number): DmaBuf {
  return sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
}

interface FenceEv {
  event: string;
  driver: string;
  timeline: string;
  context: number;
  seqno: number;
  time: number;
}

function fenceEvents(sim: Simulator): FenceEv[] {
  const out: FenceEv[] = [];
  sim.events.on('fence:trace', (e) =>
    out.push({
      event: e.event,
      driver: e.driver,
      timeline: e.timeline,
      context: e.context,
      seqno: e.seqno,
      time: e.time,
    }),
  );
  return out;
}

function logsOf(sim: Simulator): { level: string; device: string; message: string; time: number }[] {
  const out: { level: string; device: string; message: string; time: number }[] = [];
  sim.events.on('kernel:log', (e) => out.push(e));
  return out;
}

/** A second process that writes `enable` of `device` at `at` ns. */
function enablerAt(sim: Simulator, device: 0 | 1, on: boolean, at: number): void {
  sim.spawn(
    on ? 'enabler' : 'disabler',
    async (sys) => {
      expect(await sys.nanosleep(at)).toBe(0);
      return setBufferEnabled(sys, device, on);
    },
    { stdio: false },
  );
}

// ---------------------------------------------------------------------------------------------------------------

describe('V2-ENQ-14: one new exclusive fence per ENQUEUE', () => {
  it('V2-ENQ-14: every ENQUEUE inits a fence with a context of its own (1, 2, 3) and seqno 0', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      const bfd = await bufferOf(sys, 0);
      const a = await alloc(sys, bfd, 16384);
      const b = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, a, 16384)).toBe(0);
      expect(await enqueue(sys, bfd, b, 16384)).toBe(0);
      expect((await pollOne(sys, a, POLLIN, -1)).ret).toBe(1);
      expect(await enqueue(sys, bfd, a, 16384)).toBe(0);
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      return fences.filter((f) => f.event === 'dma_fence_init').map((f) => [f.context, f.seqno]);
    }, V2);
    expect(value).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
  });

  it('V2-ENQ-14: the new fence replaces an unsignalled one left by a disable: after the next completion SYNC START returns at once and poll is ready', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      expect(await sys.nanosleep(MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      const stale = dmabufOf(sim, sys, d).resv.slots.map((s) => s.fence.status);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      const slots = dmabufOf(sim, sys, d).resv.slots.map((s) => [s.fence.context, s.fence.status]);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const t0 = sys.now();
      const s = await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
      const t1 = sys.now();
      const p = await pollOne(sys, d, POLLIN | POLLOUT, 0);
      expect(await enable(sys, 0, false)).toBe(1);
      return { stale, slots, s, waited: t1 - t0, p: [p.ret, p.revents] };
    }, V2);
    expect(value).toEqual({ stale: [0], slots: [[2, 0]], s: 0, waited: 0, p: [1, POLLIN | POLLOUT] });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('V2-FENCE: signalling', () => {
  it('V2-FENCE-1: completion: block DONE, fence signalled with error 0, reservation released', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      const states: [string, number, number][] = [];
      sim.events.on('iio:block', (e) => {
        if (e.device === 'iio:device0') states.push([e.state, e.bytesUsed, e.time]);
      });
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const buf = dmabufOf(sim, sys, d);
      const fence = buf.resv.slots[0]!.fence;
      const r = {
        states,
        fence: [fence.status, fence.error, fence.timestamp],
        holder: buf.resv.holder,
        events: fences.map((f) => [f.event, f.time]),
      };
      expect(await enable(sys, 0, false)).toBe(1);
      return r;
    }, V2);
    expect(value).toEqual({
      states: [
        ['ACTIVE', 16384, 0],
        ['DONE', 16384, BLOCK_NS + IRQ],
      ],
      fence: [1, 0, BLOCK_NS + IRQ],
      holder: null,
      events: [
        ['dma_fence_init', 0],
        ['dma_fence_signaled', BLOCK_NS + IRQ],
      ],
    });
  });

  it('V2-FENCE-1: buffer-fd pollers are not woken by a DMABUF completion (only the 10 ms timeout wakes them)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const wakes: [number, boolean][] = [];
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      sim.events.on('task:wake', (e) => {
        if (e.task.pid === sys.pid) wakes.push([e.time, e.timedOut]);
      });
      const p = await pollOne(sys, bfd, POLLIN, 10);
      expect(await enable(sys, 0, false)).toBe(1);
      return { p, wakes };
    }, V2);
    expect(value).toEqual({ p: { ret: 0, revents: 0, t: 10 * MS }, wakes: [[10 * MS, true]] });
  });

  it('V2-FENCE-1: in fileio mode the completion of a fileio block does wake a buffer-fd poller', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      expect(await enable(sys, 0, true)).toBe(1);
      const p = await pollOne(sys, bfd, POLLIN, 10);
      expect(await enable(sys, 0, false)).toBe(1);
      return p;
    }, V2);
    expect(value).toEqual({ ret: 1, revents: POLLIN, t: BLOCK_NS + IRQ });
  });

  it('V2-FENCE-2: disable takes an ACTIVE block back (DONE, bytes_used 0) and releases the reservation, but never signals its fence', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      const states: [string, number, number][] = [];
      sim.events.on('iio:block', (e) => {
        if (e.device === 'iio:device0') states.push([e.state, e.bytesUsed, e.time]);
      });
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      expect(await sys.nanosleep(MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      const buf = dmabufOf(sim, sys, d);
      const p = await pollOne(sys, d, POLLIN | POLLOUT, 0);
      return {
        states,
        holder: buf.resv.holder,
        status: buf.resv.slots.map((s) => s.fence.status),
        p,
        events: fences.map((f) => f.event),
      };
    }, V2);
    expect(value).toEqual({
      states: [
        ['ACTIVE', 16384, 0],
        ['DONE', 0, MS],
      ],
      holder: null,
      status: [0],
      p: { ret: 0, revents: 0, t: 6 * MS },
      events: ['dma_fence_init'],
    });
  });

  it('V2-FENCE-2: a QUEUED block (orphaned by a second ALLOC) is untouched by enable and disable: still QUEUED, re-ENQUEUE returns 0', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const states: string[] = [];
      sim.events.on('iio:block', (e) => {
        if (e.device === 'iio:device0') states.push(e.state);
      });
      const bfd = await bufferOf(sys, 0);
      const a = await alloc(sys, bfd, 16384);
      expect(await enqueue(sys, bfd, a, 16384)).toBe(0);
      await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      const again = await enqueue(sys, bfd, a, 16384);
      return { states, again };
    }, V2);
    expect(value).toEqual({ states: ['QUEUED'], again: 0 });
  });

  it('V2-FENCE-3: fences are named after the DMA channel (driver = timeline = sim-adc-dma / sim-dac-dma), in every trace event, also after the signal', async () => {
    const sim = createSimulator(V2);
    const fences = fenceEvents(sim);
    let got: unknown = null;
    sim.spawn(
      'capture',
      async (sys) => {
        const adc = await bufferOf(sys, 0);
        const dac = await bufferOf(sys, 1);
        const d = await alloc(sys, adc, 16384);
        const o = await alloc(sys, dac, 8192);
        expect(await enqueue(sys, adc, d, 16384)).toBe(0);
        expect(await enqueue(sys, dac, o, 8192)).toBe(0);
        const s = await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
        const t = sys.now();
        expect(await sys.close(d)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        got = { s, t };
        return 0;
      },
      { stdio: false },
    );
    enablerAt(sim, 0, true, MS);
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(got).toEqual({ s: 0, t: MS + BLOCK_NS + IRQ });
    expect(fences.map((f) => [f.event, f.driver, f.timeline, f.context, f.seqno])).toEqual([
      ['dma_fence_init', 'sim-adc-dma', 'sim-adc-dma', 1, 0],
      ['dma_fence_init', 'sim-dac-dma', 'sim-dac-dma', 2, 0],
      ['dma_fence_wait_start', 'sim-adc-dma', 'sim-adc-dma', 1, 0],
      ['dma_fence_signaled', 'sim-adc-dma', 'sim-adc-dma', 1, 0],
      ['dma_fence_wait_end', 'sim-adc-dma', 'sim-adc-dma', 1, 0],
      ['dma_fence_destroy', 'sim-adc-dma', 'sim-adc-dma', 1, 0],
    ]);
  });

  it('V2-FENCE-4: refused ENQUEUEs (V2-ENQ-1..9) publish no fence; the dma-buf stays idle (poll ready at once)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
      const dummy = await openBuffer(sys, 2);
      if (typeof dummy === 'number') throw new Error('dummy');
      const adc = await bufferOf(sys, 0);
      const d = await alloc(sys, adc, 5000);
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const req = sys.mem.allocStruct(dma_heap_allocation_data, { len: 4096, fd_flags: O_RDWR | O_CLOEXEC });
      expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req)).toBe(0);
      const h = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
      const refused = [
        await enqueue(sys, dummy.fd, d, 4096),
        await sys.ioctl(adc, v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, 0x10000),
        await enqueue(sys, adc, d, 4096, 2),
        await enqueue(sys, adc, d, 4096, v2.IIO_BUFFER_DMABUF_CYCLIC),
        await enqueue(sys, adc, 999, 4096),
        await enqueue(sys, adc, heap, 4096),
        await enqueue(sys, adc, h, 4096),
        await enqueue(sys, adc, d, 5001),
      ];
      const p = await pollOne(sys, d, POLLIN | POLLOUT, 0);
      return {
        refused,
        p: [p.ret, p.revents],
        slots: dmabufOf(sim, sys, d).resv.slots.length,
        n: fences.length,
      };
    }, V2);
    expect(value).toEqual({
      refused: [-EPERM, -EFAULT, -EINVAL, -EINVAL, -EBADF, -EINVAL, -EINVAL, -EINVAL],
      p: [1, POLLIN | POLLOUT],
      slots: 0,
      n: 0,
    });
  });

  it('V2-FENCE-4: ENQUEUE of a QUEUED block (V2-ENQ-11) and of an ACTIVE block (V2-ENQ-12) add no fence', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      const r = [await enqueue(sys, bfd, d, 16384), await enqueue(sys, bfd, d, 16384)];
      expect(await enable(sys, 0, true)).toBe(1);
      r.push(await enqueue(sys, bfd, d, 16384));
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      return { r, inits: fences.filter((f) => f.event === 'dma_fence_init').length };
    }, V2);
    expect(value).toEqual({ r: [0, 0, -16], inits: 1 });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('V2-DBUF: the dma-buf side', () => {
  it('V2-DBUF-1: the exclusive fence counts as WRITE usage: on an OUT (DAC) dma-buf POLLIN and POLLOUT both wait for it, and SYNC START READ too', async () => {
    const sim = createSimulator(V2);
    let got: unknown = null;
    sim.spawn(
      'player',
      async (sys) => {
        const bfd = await bufferOf(sys, 1);
        const d = await alloc(sys, bfd, 8192);
        expect(await enqueue(sys, bfd, d, 8192)).toBe(0);
        const queued = await pollOne(sys, d, POLLIN | POLLOUT, 0);
        const s = await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
        const t = sys.now();
        const done = await pollOne(sys, d, POLLIN | POLLOUT, 0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        got = { queued, s, t, done };
        return 0;
      },
      { stdio: false },
    );
    enablerAt(sim, 1, true, MS);
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(got).toEqual({
      queued: { ret: 0, revents: 0, t: 0 },
      s: 0,
      t: MS + BLOCK_NS + IRQ,
      done: { ret: 1, revents: POLLIN | POLLOUT, t: MS + BLOCK_NS + IRQ },
    });
  });

  it('V2-DBUF-2: poll on an ACTIVE block blocks in the kernel even with timeout 0, until the completion, then reports ready', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 8192);
      expect(await enable(sys, 1, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 8192)).toBe(0);
      const p = await pollOne(sys, d, POLLOUT, 0);
      expect(await enable(sys, 1, false)).toBe(1);
      return p;
    }, V2);
    expect(value).toEqual({ ret: 1, revents: POLLOUT, t: BLOCK_NS + IRQ });
  });

  it('V2-DBUF-2: the wait is uninterruptible: a signal with a handler (no SA_RESTART) at 1 ms does not end it', async () => {
    const { value } = await runOne(async (sys, sim) => {
      expect(await sys.sigaction(SIGUSR1, { restart: false })).toBe(0);
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      sim.at(MS, 'SIGUSR1', () => sim.kill(sys.pid, SIGUSR1));
      const p = await pollOne(sys, d, POLLIN, 0);
      expect(await enable(sys, 0, false)).toBe(1);
      return p;
    }, V2);
    expect(value).toEqual({ ret: 1, revents: POLLIN, t: BLOCK_NS + IRQ });
  });

  it('V2-DBUF-2: a disable (abort) also releases the blocked poll, which then finds the fence unsignalled: 0', async () => {
    const sim = createSimulator(V2);
    let got: unknown = null;
    sim.spawn(
      'poller',
      async (sys) => {
        const bfd = await bufferOf(sys, 0);
        const d = await alloc(sys, bfd, 16384);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
        got = await pollOne(sys, d, POLLIN | POLLOUT, 0);
        return 0;
      },
      { stdio: false },
    );
    enablerAt(sim, 0, false, MS);
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(got).toEqual({ ret: 0, revents: 0, t: MS });
  });

  it('V2-DBUF-3: poll on a QUEUED block returns 0 at once and arms a callback; a sleeping poll is woken at the completion', async () => {
    const sim = createSimulator(V2);
    let got: unknown = null;
    sim.spawn(
      'poller',
      async (sys) => {
        const bfd = await bufferOf(sys, 0);
        const d = await alloc(sys, bfd, 16384);
        expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
        const first = await pollOne(sys, d, POLLIN, 0);
        const armed = dmabufOf(sim, sys, d).cbIn.active;
        const second = await pollOne(sys, d, POLLIN, -1);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        got = { first, armed, second };
        return 0;
      },
      { stdio: false },
    );
    enablerAt(sim, 0, true, MS);
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(got).toEqual({
      first: { ret: 0, revents: 0, t: 0 },
      armed: POLLIN,
      second: { ret: 1, revents: POLLIN, t: MS + BLOCK_NS + IRQ },
    });
  });

  it('V2-DBUF-4: a poll callback armed on a fence the disable left unsignalled blocks that direction for good; the other direction still works', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      const armed = await pollOne(sys, d, POLLOUT, 0);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const out = await pollOne(sys, d, POLLOUT, 0);
      const outLater = await pollOne(sys, d, POLLOUT, 5);
      const inn = await pollOne(sys, d, POLLIN, 0);
      const s = await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
      expect(await enable(sys, 0, false)).toBe(1);
      return { armed: armed.ret, out: out.ret, outLater: outLater.ret, inn: [inn.ret, inn.revents], s };
    }, V2);
    expect(value).toEqual({ armed: 0, out: 0, outLater: 0, inn: [1, POLLIN], s: 0 });
  });

  it('V2-DBUF-5: SYNC END returns 0 at once; SYNC START blocks forever on the fence a disable left unsignalled', async () => {
    const { value, outcome } = await runOne(
      async (sys) => {
        const bfd = await bufferOf(sys, 0);
        const d = await alloc(sys, bfd, 16384);
        expect(await enable(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
        expect(await sys.nanosleep(MS)).toBe(0);
        expect(await enable(sys, 0, false)).toBe(1);
        const end = await sync(sys, d, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
        const start = await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
        return { end, start };
      },
      { ...V2, allowAbnormal: true },
    );
    expect(value).toBe(undefined);
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('ioctl');
    expect(outcome.blockedIn?.since).toBe(MS);
  });

  it('V2-DBUF-5: the SYNC START wait is interruptible: a signal with a handler without SA_RESTART gives -EINTR', async () => {
    const { value } = await runOne(async (sys, sim) => {
      expect(await sys.sigaction(SIGUSR1, { restart: false })).toBe(0);
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      expect(await sys.nanosleep(MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      sim.at(4 * MS, 'SIGUSR1', () => sim.kill(sys.pid, SIGUSR1));
      const start = await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
      return { start, t: sys.now() };
    }, V2);
    expect(value).toEqual({ start: -EINTR, t: 4 * MS });
  });

  it('V2-DBUF-5: without a fence SYNC START and END return 0 at once; the flag checks of SYNC-2/3 still apply', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      return [
        await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW),
        await sync(sys, d, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
        await sync(sys, d, DMA_BUF_SYNC_END),
        await sync(sys, d, 8),
      ];
    }, V2);
    expect(value).toEqual([0, 0, -EINVAL, -EINVAL]);
  });

  it('V2-DBUF-6: EXPORT_SYNC_FILE and IMPORT_SYNC_FILE are -ENOTTY (IIO and heap dma-bufs)', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const req = sys.mem.allocStruct(dma_heap_allocation_data, { len: 4096, fd_flags: O_RDWR | O_CLOEXEC });
      expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req)).toBe(0);
      const h = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
      const exp = () => sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 });
      const imp = sys.mem.allocStruct(dma_buf_import_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 });
      return [
        await sys.ioctl(d, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, exp()),
        await sys.ioctl(d, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, imp),
        await sys.ioctl(h, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, exp()),
        await sys.ioctl(h, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, imp),
      ];
    }, V2);
    expect(value).toEqual([-ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY]);
  });

  it('V2-DBUF-7: mmap is bounded by PAGE_ALIGN(size) (5000 → 8192); MAP_PRIVATE is not refused', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 5000);
      const ok = (a: number) => (a > 0 && a % 4096 === 0 ? 'addr' : a);
      return [
        ok(await sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0)),
        await sys.mmap(0, 8193, PROT_READ, MAP_SHARED, d, 0),
        ok(await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, d, 4096)),
        await sys.mmap(0, 4097, PROT_READ, MAP_SHARED, d, 4096),
        await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, d, 8192),
        ok(await sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, d, 0)),
      ];
    }, V2);
    expect(value).toEqual(['addr', -EINVAL, 'addr', -EINVAL, -EINVAL, 'addr']);
  });

  it('V2-DBUF-8: dropping the last reference frees the memory and logs a warning (the block was never marked DEAD); a mapping keeps it alive', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const logs = logsOf(sim);
      const bfd = await bufferOf(sys, 0);
      const before = sim.kernel.pages.available();
      const d = await alloc(sys, bfd, 5000);
      const taken = before - sim.kernel.pages.available();
      const addr = await sys.mmap(0, 8192, PROT_READ, MAP_SHARED, d, 0);
      expect(await sys.close(d)).toBe(0);
      const whileMapped = { warnings: logs.length, live: sim.kernel.dmaBuf.live.size };
      expect(await sys.munmap(addr, 8192)).toBe(0);
      return {
        taken,
        whileMapped,
        freed: sim.kernel.pages.available() === before,
        live: sim.kernel.dmaBuf.live.size,
        logs: logs.map((l) => [l.level, l.device]),
      };
    }, V2);
    expect(value).toEqual({
      taken: 8192,
      whileMapped: { warnings: 0, live: 1 },
      freed: true,
      live: 0,
      logs: [['warn', 'iio:device0']],
    });
  });

  it('V2-DBUF-8: while the block is ACTIVE the queue keeps the dma-buf alive after its last fd is closed; it is freed at the completion', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const logs = logsOf(sim);
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      expect(await sys.close(d)).toBe(0);
      const afterClose = sim.kernel.dmaBuf.live.size;
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const afterDone = sim.kernel.dmaBuf.live.size;
      expect(await enable(sys, 0, false)).toBe(1);
      return { afterClose, afterDone, warnings: logs.filter((l) => l.level === 'warn').map((l) => l.time) };
    }, V2);
    expect(value).toEqual({ afterClose: 1, afterDone: 0, warnings: [BLOCK_NS + IRQ] });
  });
});
