/**
 * The contract checker (src/check/checker.ts): for every finding kind, a program that breaks the contract
 * (the exact findings it gets, messages included) and the corrected program (no findings at all). Then how
 * findings are reported: once per (kind, process, DMABUF) with every repeat counted, and as `check:finding`
 * events on the simulation's bus. Rule IDs are those of ../shared/reference/kernel-semantics.md. All runs are
 * on the ideal platform, so every time is exact: sim-adc (4 × 16-bit channels, 8-byte scans, 1 MHz) fills a
 * 4096-byte block (512 scans) in 512 µs and its completion IRQ comes 2 µs later.
 */
import { describe, expect, it } from 'vitest';
import { ContractChecker } from '../../src/check/checker.ts';
import type { CheckFinding } from '../../src/check/finding.ts';
import {
  createSimulator,
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
  EBADF,
  F_GETFD,
  O_RDONLY,
  O_RDWR,
  POLLIN,
  POLLOUT,
  type PollEntry,
  type Simulator,
  type SimulatorOptions,
  type SpawnOptions,
  type Sys,
} from '../../src/index.ts';
import type { RunResult } from '../../src/sim/simulator.ts';
import { SIGKILL } from '../../src/uapi/signal.ts';
import {
  allocHeapDmabuf,
  allocIioDmabufV2,
  attachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
  type UserDmabuf,
} from '../../src/user/dmabuf.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../src/user/iio.ts';

const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];
/** A 4096-byte sim-adc block: 512 scans of 1 µs, then 2 µs of IRQ latency. */
const ADC_BLOCK_DONE = 514_000;
/** A 4096-byte sim-dac block: 1024 scans of 1 µs, then 2 µs of IRQ latency. */
const DAC_BLOCK_DONE = 1_026_000;
/** sim-adc's default signals: a 12-bit ramp per channel, offset by 1024 × channel. */
const RAMP = (n: number, c: number) => ((n + 1024 * c) % 4096) - 2048;

interface Checked<R> {
  readonly sim: Simulator;
  readonly checker: ContractChecker;
  /** `check:finding` events as the bus carried them. */
  readonly events: CheckFinding[];
  readonly result: RunResult;
  readonly pid: number;
  readonly value: R;
}

/**
 * Runs `body` as process `prog` (no stdio unless `spawn` says otherwise) under a contract checker, then
 * `finish()`es the checker with the run's result.
 */
async function check<R>(
  body: (sys: Sys, sim: Simulator) => Promise<R>,
  options: SimulatorOptions & { spawn?: SpawnOptions } = {},
): Promise<Checked<R>> {
  const { spawn = { stdio: false }, ...simOptions } = options;
  const sim = createSimulator({ platform: 'ideal', ...simOptions });
  const checker = new ContractChecker(sim);
  const events: CheckFinding[] = [];
  sim.events.on('check:finding', (f) => events.push(f));
  sim.spawn('prog', (sys) => body(sys, sim), spawn);
  const result = await sim.run();
  checker.finish(result);
  const outcome = result.processes[0]!;
  if (outcome.status === 'crashed') throw outcome.error;
  return { sim, checker, events, result, pid: outcome.pid, value: outcome.value as R };
}

/** Expects the process to have returned normally. */
function expectExited(c: Checked<unknown>): void {
  const outcome = c.result.processes[0]!;
  expect(outcome.status, outcome.reason).toBe('exited');
}

/** The kinds found, in order. */
const kinds = (c: Checked<unknown>) => c.checker.findings.map((f) => f.kind);

/** A buffer fd of a DMA converter, with its channels enabled (buffer still disabled). */
async function bufferOf(sys: Sys, device: 0 | 1): Promise<{ chardev: number; fd: number }> {
  expect(await enableChannels(sys, device, device === 0 ? ADC_CHANNELS : DAC_CHANNELS)).toBe(0);
  const b = await openBuffer(sys, device);
  if (typeof b === 'number') throw new Error(`openBuffer(${device}): ${b}`);
  return b;
}

/** A system-heap DMABUF, mapped shared; the heap fd is closed again. */
async function heapDmabuf(sys: Sys, size: number): Promise<UserDmabuf> {
  const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
  const d = await allocHeapDmabuf(sys, heap, size);
  if (typeof d === 'number') throw new Error(`allocHeapDmabuf: ${d}`);
  expect(await sys.close(heap)).toBe(0);
  return d;
}

/** A converter's buffer with one heap DMABUF attached (mainline). */
async function attached(
  sys: Sys,
  device: 0 | 1,
  size = 4096,
): Promise<{ b: { chardev: number; fd: number }; d: UserDmabuf }> {
  const b = await bufferOf(sys, device);
  const d = await heapDmabuf(sys, size);
  expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
  return { b, d };
}

/** poll(POLLOUT) on a DMABUF until no fence is pending (DPOLL-2); returns the time it returned. */
async function waitIdle(sys: Sys, dmabufFd: number): Promise<number> {
  const fds: PollEntry[] = [{ fd: dmabufFd, events: POLLOUT }];
  expect(await sys.pollfds(fds, -1)).toBe(1);
  expect(fds[0]!.revents).toBe(POLLOUT);
  return sys.now();
}

/** Disables the buffer, unmaps and closes the DMABUFs, closes the buffer fd and the chardev. */
async function closeAll(
  sys: Sys,
  device: 0 | 1,
  b: { chardev: number; fd: number },
  dmabufs: readonly UserDmabuf[],
): Promise<void> {
  expect(await setBufferEnabled(sys, device, false)).toBe(1);
  for (const d of dmabufs) {
    expect(await sys.munmap(d.addr, d.size)).toBe(0);
    expect(await sys.close(d.fd)).toBe(0);
  }
  expect(await sys.close(b.fd)).toBe(0);
  expect(await sys.close(b.chardev)).toBe(0);
}

/** The first `scans` sim-adc scans as raw bytes (little-endian s16 per channel). */
function rampBytes(first: number, scans: number): number[] {
  const out = new Uint8Array(scans * 8);
  const dv = new DataView(out.buffer);
  for (let n = 0; n < scans; n++)
    for (let c = 0; c < 4; c++) dv.setInt16(8 * n + 2 * c, RAMP(first + n, c), true);
  return Array.from(out);
}

const hex = (addr: number) => `0x${addr.toString(16)}`;

describe('cpu-access-outside-sync', () => {
  it('SYNC-6 skipped: loads (sys.mem.read and sys.mem.view) from a mapped heap DMABUF with no SYNC START open are flagged once, every load counted', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
      const t = await waitIdle(sys, d.fd);
      const a = Array.from(sys.mem.read(d.addr, 8));
      const v = Array.from(sys.mem.view(d.addr + 8, 8));
      const w = Array.from(sys.mem.read(d.addr + 16, 8));
      await closeAll(sys, 0, b, [d]);
      return { addr: d.addr, t, data: [...a, ...v, ...w] };
    });
    expectExited(c);
    expect(c.value.t).toBe(ADC_BLOCK_DONE);
    // Coherent platform: the loads do see the samples; the checker flags the missing bracket anyway.
    expect(c.value.data).toEqual(rampBytes(0, 3));
    expect(c.checker.findings).toEqual([
      {
        kind: 'cpu-access-outside-sync',
        pid: c.pid,
        comm: 'prog',
        message: `load from DMABUF 1 at ${hex(c.value.addr)} (8 bytes) with no DMA_BUF_IOCTL_SYNC START open`,
        time: ADC_BLOCK_DONE,
      },
    ]);
    expect([...c.checker.occurrences]).toEqual([['cpu-access-outside-sync', 3]]);
  });

  it('SYNC-6 kept: the same loads bracketed by SYNC START READ and END READ are not flagged', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
      expect(await waitIdle(sys, d.fd)).toBe(ADC_BLOCK_DONE);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      const a = Array.from(sys.mem.read(d.addr, 8));
      const v = Array.from(sys.mem.view(d.addr + 8, 8));
      const w = Array.from(sys.mem.read(d.addr + 16, 8));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      await closeAll(sys, 0, b, [d]);
      return [...a, ...v, ...w];
    });
    expectExited(c);
    expect(c.value).toEqual(rampBytes(0, 3));
    expect(c.checker.findings).toEqual([]);
    expect(c.checker.occurrences.size).toBe(0);
    expect(c.events).toEqual([]);
  });

  it('SYNC-4: a store made after a SYNC START READ (reading only) is flagged: the END READ will not clean the cache', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 1);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      const t = sys.now();
      sys.mem.write(d.addr + 64, new Uint8Array([1, 2, 3, 4]));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      expect(await sys.munmap(d.addr, d.size)).toBe(0);
      expect(await sys.close(d.fd)).toBe(0);
      expect(await sys.close(b.fd)).toBe(0);
      expect(await sys.close(b.chardev)).toBe(0);
      return { addr: d.addr, t };
    });
    expectExited(c);
    expect(kinds(c)).toEqual(['cpu-access-outside-sync']);
    expect(c.checker.findings[0]!.message).toBe(
      `store to DMABUF 1 at ${hex(c.value.addr + 64)} (4 bytes) after a SYNC START for reading only: the END will not clean the cache`,
    );
    expect(c.checker.findings[0]!.time).toBe(c.value.t);
  });

  it('SYNC-4: the same store under SYNC START WRITE / END WRITE is not flagged (nor is a load under a WRITE-only START)', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 1);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_WRITE)).toBe(0);
      sys.mem.write(d.addr + 64, new Uint8Array([1, 2, 3, 4]));
      const back = Array.from(sys.mem.read(d.addr + 64, 4));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_WRITE)).toBe(0);
      expect(await sys.munmap(d.addr, d.size)).toBe(0);
      expect(await sys.close(d.fd)).toBe(0);
      expect(await sys.close(b.fd)).toBe(0);
      expect(await sys.close(b.chardev)).toBe(0);
      return back;
    });
    expectExited(c);
    expect(c.value).toEqual([1, 2, 3, 4]);
    expect(c.checker.findings).toEqual([]);
  });
});

describe('cpu-access-while-dma-pending', () => {
  it('DPOLL-3 / RESV-2: a load right after ENQUEUE + enable, while the ADC still writes the block (WRITE fence pending), is flagged, besides the missing SYNC', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
      const t = sys.now();
      const early = Array.from(sys.mem.read(d.addr, 8));
      sys.mem.read(d.addr + 8, 8);
      await closeAll(sys, 0, b, [d]);
      return { addr: d.addr, t, early };
    });
    expectExited(c);
    expect(c.value.t).toBe(0);
    // The transfer has not written anything yet: the program reads the zeroed heap pages.
    expect(c.value.early).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(kinds(c)).toEqual(['cpu-access-outside-sync', 'cpu-access-while-dma-pending']);
    expect(c.checker.findings[1]).toEqual({
      kind: 'cpu-access-while-dma-pending',
      pid: c.pid,
      comm: 'prog',
      message: `load from DMABUF 1 at ${hex(c.value.addr)} (8 bytes) while 1 fence of the DMA writing it is pending`,
      time: 0,
    });
    expect([...c.checker.occurrences]).toEqual([
      ['cpu-access-outside-sync', 2],
      ['cpu-access-while-dma-pending', 2],
    ]);
  });

  it('SYNC-6: the corrected program loads after SYNC START READ has waited for the fence (514 µs): no findings, and it reads the samples', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      const t = sys.now();
      const data = Array.from(sys.mem.read(d.addr, 16));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      await closeAll(sys, 0, b, [d]);
      return { t, data };
    });
    expectExited(c);
    expect(c.value).toEqual({ t: ADC_BLOCK_DONE, data: rampBytes(0, 2) });
    expect(c.checker.findings).toEqual([]);
  });

  it('RESV-2: while the DAC reads a DMABUF (READ fence pending) a load is not in conflict, a store is: "reading or writing" it', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 1);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_WRITE)).toBe(0);
      sys.mem.write(d.addr, new Uint8Array(4096).fill(0x11));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_WRITE)).toBe(0);
      expect(await setBufferEnabled(sys, 1, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
      sys.mem.read(d.addr, 4);
      sys.mem.write(d.addr + 4, new Uint8Array(4));
      expect(await waitIdle(sys, d.fd)).toBe(DAC_BLOCK_DONE);
      await closeAll(sys, 1, b, [d]);
      return d.addr;
    });
    expectExited(c);
    expect(c.checker.findings).toEqual([
      {
        kind: 'cpu-access-outside-sync',
        pid: c.pid,
        comm: 'prog',
        message: `load from DMABUF 1 at ${hex(c.value)} (4 bytes) with no DMA_BUF_IOCTL_SYNC START open`,
        time: 0,
      },
      {
        kind: 'cpu-access-while-dma-pending',
        pid: c.pid,
        comm: 'prog',
        message: `store to DMABUF 1 at ${hex(c.value + 4)} (4 bytes) while 1 fence of the DMA reading or writing it is pending`,
        time: 0,
      },
    ]);
    expect([...c.checker.occurrences]).toEqual([
      ['cpu-access-outside-sync', 2],
      ['cpu-access-while-dma-pending', 1],
    ]);
  });

  it('DMA_BUF_IOCTL_IMPORT_SYNC_FILE: a SYNC START taken before a WRITE fence was imported does not cover a later load: only cpu-access-while-dma-pending', async () => {
    const c = await check(async (sys) => {
      const { b, d: x } = await attached(sys, 0);
      const y = await heapDmabuf(sys, 4096);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, x.fd, 4096)).toBe(0);
      // The fence a reader of x waits for (SFILE-2), imported into y as a writer's fence.
      const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_READ, fd: -1 });
      expect(await sys.ioctl(x.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req)).toBe(0);
      const syncFd = sys.mem.readStruct(req, dma_buf_export_sync_file).fd;
      expect(await syncDmabuf(sys, y.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      const imp = sys.mem.allocStruct(dma_buf_import_sync_file, { flags: DMA_BUF_SYNC_WRITE, fd: syncFd });
      expect(await sys.ioctl(y.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, imp)).toBe(0);
      sys.mem.read(y.addr, 4);
      expect(await syncDmabuf(sys, y.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      expect(await sys.close(syncFd)).toBe(0);
      await closeAll(sys, 0, b, [x, y]);
      return { addr: y.addr, t: sys.now() };
    });
    expectExited(c);
    expect(c.value.t).toBe(0);
    expect(c.checker.findings).toEqual([
      {
        kind: 'cpu-access-while-dma-pending',
        pid: c.pid,
        comm: 'prog',
        message: `load from DMABUF 2 at ${hex(c.value.addr)} (4 bytes) while 1 fence of the DMA writing it is pending`,
        time: 0,
      },
    ]);
  });
});

describe('enqueue-during-cpu-access', () => {
  it('ENQ-20 with a SYNC START RW still open: the device and the CPU own the DMABUF at once', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_RW)).toBe(0);
      sys.mem.write(d.addr, new Uint8Array(8).fill(0xaa));
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
      const t = await waitIdle(sys, d.fd);
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_RW)).toBe(0);
      await closeAll(sys, 0, b, [d]);
      return t;
    });
    expectExited(c);
    expect(c.value).toBe(ADC_BLOCK_DONE);
    expect(c.checker.findings).toEqual([
      {
        kind: 'enqueue-during-cpu-access',
        pid: c.pid,
        comm: 'prog',
        message: `DMABUF 1 enqueued on iio:device0 while prog[${c.pid}] has CPU access open (SYNC START without END)`,
        time: 0,
      },
    ]);
  });

  it('ENQ-20 after the SYNC END RW: no findings', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_RW)).toBe(0);
      sys.mem.write(d.addr, new Uint8Array(8).fill(0xaa));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_RW)).toBe(0);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
      const t = await waitIdle(sys, d.fd);
      await closeAll(sys, 0, b, [d]);
      return t;
    });
    expectExited(c);
    expect(c.value).toBe(ADC_BLOCK_DONE);
    expect(c.checker.findings).toEqual([]);
  });
});

describe('bytes-used-not-whole-scans', () => {
  it('ENQ-6 / ENQ-21: mainline bytes_used 4100 on sim-adc (8-byte scans) is flagged; the ioctl returns 0, the controller refuses the unaligned length and the fence signals at once', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0, 8192);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      const ret = await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4100);
      const t = await waitIdle(sys, d.fd);
      await closeAll(sys, 0, b, [d]);
      return { ret, t };
    });
    expectExited(c);
    expect(c.value).toEqual({ ret: 0, t: 0 });
    expect(c.result.stats.devices['sim-adc']!.transfers).toBe(0);
    expect(c.checker.findings).toEqual([
      {
        kind: 'bytes-used-not-whole-scans',
        pid: c.pid,
        comm: 'prog',
        message:
          'bytes_used 4100 on iio:device0 is not a whole number of 8-byte scans (512 scans and 4 bytes)',
        time: 0,
      },
    ]);
  });

  it('ENQ-20: mainline bytes_used 4096 (512 whole scans) is not flagged; the block is transferred', async () => {
    const c = await check(async (sys) => {
      const { b, d } = await attached(sys, 0, 8192);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      const ret = await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096);
      const t = await waitIdle(sys, d.fd);
      await closeAll(sys, 0, b, [d]);
      return { ret, t };
    });
    expectExited(c);
    expect(c.value).toEqual({ ret: 0, t: ADC_BLOCK_DONE });
    expect(c.result.stats.devices['sim-adc']!.transfers).toBe(1);
    expect(c.result.stats.devices['sim-adc']!.bytesDone).toBe(4096);
    expect(c.checker.findings).toEqual([]);
  });

  it('V2-ENQ-10: on a v2 output buffer, bytes_used 0 on an ALLOC size of 4102 means the whole 4102-byte block, not whole 4-byte scans: flagged', async () => {
    const c = await check(
      async (sys) => {
        const b = await bufferOf(sys, 1);
        const d = await allocIioDmabufV2(sys, b.fd, 4102);
        if (typeof d === 'number') throw new Error(`alloc ${d}`);
        const ret = await enqueueDmabuf(sys, 'v2', b.fd, d.fd, 0);
        await closeAll(sys, 1, b, [d]);
        return ret;
      },
      { abi: 'v2' },
    );
    expectExited(c);
    expect(c.value).toBe(0);
    expect(c.checker.findings).toEqual([
      {
        kind: 'bytes-used-not-whole-scans',
        pid: c.pid,
        comm: 'prog',
        message:
          'bytes_used 4102 (0: the whole block) on iio:device1 is not a whole number of 4-byte scans (1025 scans and 2 bytes)',
        time: 0,
      },
    ]);
  });

  it('V2-ENQ-10: on a v2 output buffer, bytes_used 0 on an ALLOC size of 4096 (1024 whole scans) is not flagged', async () => {
    const c = await check(
      async (sys) => {
        const b = await bufferOf(sys, 1);
        const d = await allocIioDmabufV2(sys, b.fd, 4096);
        if (typeof d === 'number') throw new Error(`alloc ${d}`);
        const ret = await enqueueDmabuf(sys, 'v2', b.fd, d.fd, 0);
        await closeAll(sys, 1, b, [d]);
        return ret;
      },
      { abi: 'v2' },
    );
    expectExited(c);
    expect(c.value).toBe(0);
    expect(c.checker.findings).toEqual([]);
  });

  it('V2-SUB-2: on a v2 input buffer bytes_used does not set the length (the block is filled whole, aligned): 0 on 4100 bytes, or 12, is not flagged', async () => {
    const c = await check(
      async (sys) => {
        const b = await bufferOf(sys, 0);
        const d = await allocIioDmabufV2(sys, b.fd, 4100);
        if (typeof d === 'number') throw new Error(`alloc ${d}`);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const first = await enqueueDmabuf(sys, 'v2', b.fd, d.fd, 0);
        const t = await waitIdle(sys, d.fd);
        const second = await enqueueDmabuf(sys, 'v2', b.fd, d.fd, 12);
        await waitIdle(sys, d.fd);
        await closeAll(sys, 0, b, [d]);
        return { first, second, t };
      },
      { abi: 'v2' },
    );
    expectExited(c);
    expect(c.value).toEqual({ first: 0, second: 0, t: ADC_BLOCK_DONE });
    expect(c.result.stats.devices['sim-adc']!.bytesDone).toBe(8192);
    expect(c.checker.findings).toEqual([]);
  });
});

describe('fd-leaked-at-exit and dmabuf-leaked-at-exit (stdio on /dev/null as a shell gives it)', () => {
  it('FD-12: a program that returns with its chardev and buffer fd open is flagged (fds 0-2 on /dev/null are not)', async () => {
    const c = await check(
      async (sys) => {
        const b = await openBuffer(sys, 0);
        if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
        return { b, t: sys.now() };
      },
      { spawn: {} },
    );
    expectExited(c);
    expect(c.value.b).toEqual({ chardev: 3, fd: 4 });
    expect(c.checker.findings).toEqual([
      {
        kind: 'fd-leaked-at-exit',
        pid: c.pid,
        comm: 'prog',
        message: 'exited with 2 fds open: 3 (/dev/iio:device0), 4 (anon_inode:iio:buffer)',
        time: c.value.t,
      },
    ]);
  });

  it('FD-12: a program that returns with a DMABUF fd open is flagged as dmabuf-leaked-at-exit only', async () => {
    const c = await check(
      async (sys) => {
        const d = await heapDmabuf(sys, 4096);
        return { fd: d.fd, t: sys.now() };
      },
      { spawn: {} },
    );
    expectExited(c);
    expect(c.value.fd).toBe(4);
    expect(c.checker.findings).toEqual([
      {
        kind: 'dmabuf-leaked-at-exit',
        pid: c.pid,
        comm: 'prog',
        message: 'exited with 1 DMABUF fd open: 4 (DMABUF 1)',
        time: c.value.t,
      },
    ]);
  });

  it('FD-12: both leaks at once give both findings, plain fds first', async () => {
    const c = await check(
      async (sys) => {
        const b = await bufferOf(sys, 0);
        await heapDmabuf(sys, 4096);
        await heapDmabuf(sys, 4096);
        return b;
      },
      { spawn: {} },
    );
    expectExited(c);
    expect(kinds(c)).toEqual(['fd-leaked-at-exit', 'dmabuf-leaked-at-exit']);
    expect(c.checker.findings.map((f) => f.message)).toEqual([
      'exited with 2 fds open: 3 (/dev/iio:device0), 4 (anon_inode:iio:buffer)',
      'exited with 2 DMABUF fds open: 6 (DMABUF 1), 7 (DMABUF 2)',
    ]);
  });

  it('FD-12: the corrected program closes everything it opened: no findings although fds 0-2 are still open', async () => {
    const c = await check(
      async (sys) => {
        const b = await openBuffer(sys, 0);
        if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
        const d = await heapDmabuf(sys, 4096);
        expect(await sys.munmap(d.addr, d.size)).toBe(0);
        expect(await sys.close(d.fd)).toBe(0);
        expect(await sys.close(b.fd)).toBe(0);
        expect(await sys.close(b.chardev)).toBe(0);
        // The stdio fds are still there.
        const flags: number[] = [];
        for (const fd of [0, 1, 2, 3]) flags.push(await sys.fcntl(fd, F_GETFD));
        return flags;
      },
      { spawn: {} },
    );
    expectExited(c);
    expect(c.value).toEqual([0, 0, 0, -EBADF]);
    expect(c.checker.findings).toEqual([]);
  });

  it('FD-12: the exception is exactly fds 0-2 on /dev/null: /dev/null at fd 3 counts, and so does a device reopened on fd 1', async () => {
    const c = await check(
      async (sys) => {
        expect(await sys.open('/dev/null', O_RDONLY)).toBe(3);
        expect(await sys.close(1)).toBe(0);
        expect(await sys.open('/dev/iio:device0', O_RDWR)).toBe(1);
        return 0;
      },
      { spawn: {} },
    );
    expectExited(c);
    expect(c.checker.findings.map((f) => [f.kind, f.message])).toEqual([
      ['fd-leaked-at-exit', 'exited with 2 fds open: 1 (/dev/iio:device0), 3 (/dev/null)'],
    ]);
  });

  it('FD-12 on a kill: a program killed by SIGKILL with fds open is not flagged, only a program that returned is', async () => {
    const c = await check(
      async (sys) => {
        await bufferOf(sys, 0);
        await heapDmabuf(sys, 4096);
        await sys.kill(sys.pid, SIGKILL);
        return 0;
      },
      { spawn: {} },
    );
    expect(c.result.processes[0]!.status).toBe('killed');
    expect(c.checker.findings).toEqual([]);
  });
});

describe('blocked-forever', () => {
  /**
   * DMABUF mode: one 4096-byte DMABUF (512 scans) is all the ADC ever delivers, and none of it goes to the
   * fileio queue, so poll(POLLIN) on the buffer fd waits for a watermark of 2048 scans that never comes.
   */
  async function pollBufferFd(sys: Sys, timeoutMs: number) {
    const { b, d } = await attached(sys, 0);
    expect(await setBufferEnabled(sys, 0, true)).toBe(1);
    expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096)).toBe(0);
    expect(await waitIdle(sys, d.fd)).toBe(ADC_BLOCK_DONE);
    const fds: PollEntry[] = [{ fd: b.fd, events: POLLIN }];
    const ret = await sys.pollfds(fds, timeoutMs);
    const t = sys.now();
    await closeAll(sys, 0, b, [d]);
    return { ret, revents: fds[0]!.revents, t };
  }

  it('BPOLL-2: poll(-1) on a buffer fd whose watermark (2048 scans) is more than ever arrives is reported by finish() with the reason', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const checker = new ContractChecker(sim);
    sim.spawn('prog', (sys) => pollBufferFd(sys, -1), { stdio: false });
    const result = await sim.run();
    const outcome = result.processes[0]!;
    expect(outcome.status).toBe('blocked');
    expect(result.time).toBe(ADC_BLOCK_DONE);
    // Only the end of the run shows it.
    expect(checker.findings).toEqual([]);
    checker.finish(result);
    expect(checker.findings).toEqual([
      {
        kind: 'blocked-forever',
        pid: outcome.pid,
        comm: 'prog',
        message:
          'blocked forever in poll() since 0.000514 s: poll on fds 1: fd 1: iio:device0/buffer0: data_available 0 is below the watermark 2048',
        time: ADC_BLOCK_DONE,
      },
    ]);
  });

  it('BPOLL-2: the corrected program polls with a 10 ms timeout: poll returns 0 and the program cleans up, no findings', async () => {
    const c = await check((sys) => pollBufferFd(sys, 10));
    expectExited(c);
    expect(c.value).toEqual({ ret: 0, revents: 0, t: ADC_BLOCK_DONE + 10_000_000 });
    expect(c.checker.findings).toEqual([]);
  });
});

describe('reporting', () => {
  it('repeats are counted in occurrences but reported once per (kind, process, DMABUF)', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const checker = new ContractChecker(sim);
    // Two processes, each touching two DMABUFs of its own without SYNC: 3 + 2 loads each.
    const body = async (sys: Sys) => {
      const x = await heapDmabuf(sys, 4096);
      const y = await heapDmabuf(sys, 4096);
      for (let i = 0; i < 3; i++) sys.mem.read(x.addr + 8 * i, 8);
      for (let i = 0; i < 2; i++) sys.mem.read(y.addr, 8);
      for (const d of [x, y]) {
        expect(await sys.munmap(d.addr, d.size)).toBe(0);
        expect(await sys.close(d.fd)).toBe(0);
      }
      return 0;
    };
    sim.spawn('one', body, { stdio: false });
    sim.spawn('two', body, { stdio: false, startAt: 1_000 });
    const result = await sim.run();
    checker.finish(result);
    const [one, two] = result.processes;
    expect(checker.findings.map((f) => [f.kind, f.comm, f.pid, f.message.slice(0, 19), f.time])).toEqual([
      ['cpu-access-outside-sync', 'one', one!.pid, 'load from DMABUF 1 ', 0],
      ['cpu-access-outside-sync', 'one', one!.pid, 'load from DMABUF 2 ', 0],
      ['cpu-access-outside-sync', 'two', two!.pid, 'load from DMABUF 3 ', 1_000],
      ['cpu-access-outside-sync', 'two', two!.pid, 'load from DMABUF 4 ', 1_000],
    ]);
    expect([...checker.occurrences]).toEqual([['cpu-access-outside-sync', 10]]);
    expect(checker.summaryLines()).toEqual(['contract check: 4 findings (cpu-access-outside-sync ×10)']);
  });

  it('findings go to sim.events as check:finding right where they happen: between the access that caused them and the next syscall', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const log: string[] = [];
    const findings: CheckFinding[] = [];
    // Subscribed before the checker, so each event is logged before the checker reacts to it.
    sim.events.on('dmabuf:cpu-access', (e) => log.push(`access ${e.write ? 'store' : 'load'} ${e.ino}`));
    sim.events.on('dmabuf:sync', (e) => log.push(`sync ${e.flags} ${e.ino}`));
    sim.events.on('task:exiting', (e) => log.push(`exiting ${e.comm}`));
    sim.events.on('check:finding', (f) => {
      findings.push(f);
      log.push(`finding ${f.kind}`);
    });
    const checker = new ContractChecker(sim);
    sim.spawn(
      'prog',
      async (sys) => {
        const d = await heapDmabuf(sys, 4096);
        sys.mem.read(d.addr, 4);
        sys.mem.read(d.addr, 4);
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
        sys.mem.write(d.addr, new Uint8Array(4));
        expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
        return d;
      },
      { stdio: false },
    );
    const result = await sim.run();
    checker.finish(result);
    expect(log).toEqual([
      'access load 1',
      'finding cpu-access-outside-sync',
      'access load 1',
      'sync 1 1',
      'access store 1',
      // Same (kind, process, DMABUF): counted, not reported again.
      'sync 5 1',
      'exiting prog',
      'finding dmabuf-leaked-at-exit',
    ]);
    expect(findings).toEqual(checker.findings);
    expect(findings.map((f) => f.kind)).toEqual(['cpu-access-outside-sync', 'dmabuf-leaked-at-exit']);
    // Two loads outside any START and the store after a START READ.
    expect([...checker.occurrences]).toEqual([
      ['cpu-access-outside-sync', 3],
      ['dmabuf-leaked-at-exit', 1],
    ]);
  });

  it('detach() stops watching: later accesses are neither reported nor counted', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const checker = new ContractChecker(sim);
    const events: CheckFinding[] = [];
    sim.events.on('check:finding', (f) => events.push(f));
    sim.spawn(
      'prog',
      async (sys) => {
        const d = await heapDmabuf(sys, 4096);
        sys.mem.read(d.addr, 4);
        checker.detach();
        sys.mem.read(d.addr, 4);
        return 0;
      },
      { stdio: false },
    );
    const result = await sim.run();
    checker.finish(result);
    expect(checker.findings.map((f) => f.kind)).toEqual(['cpu-access-outside-sync']);
    expect([...checker.occurrences]).toEqual([['cpu-access-outside-sync', 1]]);
    expect(events).toEqual(checker.findings);
  });
});
