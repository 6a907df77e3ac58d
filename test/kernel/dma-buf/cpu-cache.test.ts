/**
 * Non-coherent DMA (`platform: { coherentDma: false }`): the CPU sees mapped heap DMABUFs through a cache
 * (src/kernel/cpu-cache.ts) that only DMA_BUF_IOCTL_SYNC maintains, through the exporter's
 * begin/end_cpu_access and the streaming-DMA syncs they make (`dma_sync_sgtable_for_cpu` /
 * `dma_sync_sgtable_for_device`, i.e. `dcache_inval_poc` / `dcache_clean_poc`):
 *
 * - START READ or RW invalidates (the CPU then sees what DMA wrote; un-cleaned CPU stores are lost);
 *   START WRITE does nothing;
 * - END cleans whatever the direction (CPU stores reach memory, so a DAC plays them): arm64's
 *   `arch_sync_dma_for_device()` has only cleaned since Linux 5.19;
 * - `system_heap_dma_buf_begin/end_cpu_access()` only sync the attachments: a heap DMABUF no device has
 *   attached gets no maintenance at all;
 * - v2 IIO DMABUFs are dma_alloc_coherent memory: never cached (V2-DBUF-5).
 *
 * Plus unit tests of CpuCache itself. Ideal platform, so every time is exact: sim-adc fills a 4096-byte
 * block (512 scans) in 512 µs, sim-dac plays one (1024 scans) in 1024 µs; each completion IRQ 2 µs later.
 */
import { describe, expect, it } from 'vitest';
import {
  createSimulator,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  O_RDWR,
  POLLOUT,
  type PollEntry,
  type Simulator,
  type SimulatorOptions,
  type Sys,
} from '../../../src/index.ts';
import { CACHE_LINE, CpuCache } from '../../../src/kernel/cpu-cache.ts';
import {
  allocHeapDmabuf,
  allocIioDmabufV2,
  attachDmabuf,
  detachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
  type UserDmabuf,
} from '../../../src/user/dmabuf.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../../src/user/iio.ts';

const NON_COHERENT: SimulatorOptions = { platform: { base: 'ideal', coherentDma: false } };
const COHERENT: SimulatorOptions = { platform: 'ideal' };
const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];
const BLOCK = 4096;
const LINES = BLOCK / CACHE_LINE;
/** A 4096-byte sim-adc block (512 scans) completes at 512 µs, its IRQ 2 µs later. */
const ADC_DONE = 514_000;
/** A 4096-byte sim-dac block (1024 scans) completes at 1024 µs, its IRQ 2 µs later. */
const DAC_DONE = 1_026_000;
/** sim-adc's default signals: a 12-bit ramp per channel, offset by 1024 × channel. */
const RAMP = (n: number, c: number) => ((n + 1024 * c) % 4096) - 2048;
/** The DAC waveform: scan k of the block. */
const WAVE = (k: number): [number, number] => [7 * k - 3500, 1000 - 2 * k];
const ZEROS = new Array<number>(BLOCK).fill(0);

/** sim-adc scans `first`.. as raw bytes (little-endian s16 per channel). */
function rampBytes(first: number, scans: number): number[] {
  const out = new Uint8Array(scans * 8);
  const dv = new DataView(out.buffer);
  for (let n = 0; n < scans; n++)
    for (let c = 0; c < 4; c++) dv.setInt16(8 * n + 2 * c, RAMP(first + n, c), true);
  return Array.from(out);
}

/** One 4096-byte block of the DAC waveform (1024 scans of 2 × s16). */
function waveBytes(): Uint8Array {
  const out = new Uint8Array(BLOCK);
  const dv = new DataView(out.buffer);
  for (let k = 0; k < BLOCK / 4; k++) {
    const [a, b] = WAVE(k);
    dv.setInt16(4 * k, a, true);
    dv.setInt16(4 * k + 2, b, true);
  }
  return out;
}

/** The waveform as `Dac.playedScans()` decodes it. */
const WAVE_SCANS = Array.from({ length: BLOCK / 4 }, (_, k) => WAVE(k));
const ZERO_SCANS = Array.from({ length: BLOCK / 4 }, () => [0, 0]);

type CacheEvent = { ino: number; op: 'invalidate' | 'clean'; lines: number; time: number };

/** Runs `body` as the only process (no stdio); returns its value, the `dmabuf:cache` events and the sim. */
async function run<R>(
  options: SimulatorOptions,
  body: (sys: Sys, sim: Simulator) => Promise<R>,
): Promise<{ value: R; cache: CacheEvent[]; sim: Simulator }> {
  const sim = createSimulator(options);
  const cache: CacheEvent[] = [];
  sim.events.on('dmabuf:cache', (e) => cache.push({ ...e }));
  sim.spawn('prog', (sys) => body(sys, sim), { stdio: false });
  const result = await sim.run();
  const outcome = result.processes[0]!;
  if (outcome.status === 'crashed') throw outcome.error;
  expect(outcome.status, outcome.reason).toBe('exited');
  return { value: outcome.value as R, cache, sim };
}

/** A converter's buffer fd with its channels enabled (buffer disabled). */
async function bufferOf(sys: Sys, device: 0 | 1): Promise<{ chardev: number; fd: number }> {
  expect(await enableChannels(sys, device, device === 0 ? ADC_CHANNELS : DAC_CHANNELS)).toBe(0);
  const b = await openBuffer(sys, device);
  if (typeof b === 'number') throw new Error(`openBuffer(${device}): ${b}`);
  return b;
}

/** A 4096-byte system-heap DMABUF, mapped shared (the heap fd closed again). */
async function heapDmabuf(sys: Sys): Promise<UserDmabuf> {
  const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
  const d = await allocHeapDmabuf(sys, heap, BLOCK);
  if (typeof d === 'number') throw new Error(`allocHeapDmabuf: ${d}`);
  expect(await sys.close(heap)).toBe(0);
  return d;
}

/** poll(POLLOUT) on a DMABUF until its fences have signalled (DPOLL-2); returns the time. */
async function waitIdle(sys: Sys, fd: number): Promise<number> {
  const fds: PollEntry[] = [{ fd, events: POLLOUT }];
  expect(await sys.pollfds(fds, -1)).toBe(1);
  return sys.now();
}

/** What DMA sees: the DMABUF's memory, not the CPU's cache. */
function memoryOf(sim: Simulator, ino: number): number[] {
  return Array.from(sim.kernel.dmabufs.get(ino)!.readBytes(0, BLOCK));
}

/**
 * Captures one ADC block into an attached heap DMABUF, reading the mapping before the transfer and after poll
 * reports it done (no SYNC); then runs `afterDone` before disabling the buffer.
 */
async function capture(
  sys: Sys,
  sim: Simulator,
  afterDone: (d: UserDmabuf, bufferFd: number) => Promise<void>,
): Promise<{ before: number[]; done: number; stale: number[]; memory: number[] }> {
  const b = await bufferOf(sys, 0);
  const d = await heapDmabuf(sys);
  expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
  // The first touch fills the cache lines: zeros, the transfer has not run.
  const before = Array.from(sys.mem.read(d.addr, BLOCK));
  expect(await setBufferEnabled(sys, 0, true)).toBe(1);
  expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
  const done = await waitIdle(sys, d.fd);
  const stale = Array.from(sys.mem.read(d.addr, BLOCK));
  const memory = memoryOf(sim, 1);
  await afterDone(d, b.fd);
  expect(await setBufferEnabled(sys, 0, false)).toBe(1);
  return { before, done, stale, memory };
}

describe('CpuCache', () => {
  it('starts as a copy of memory (its own bytes), with no dirty line; forRead reads the cache and dirties nothing', () => {
    const memory = new Uint8Array(256).fill(7);
    const cache = new CpuCache(memory);
    expect(cache.memory).toBe(memory);
    expect(Array.from(cache.data)).toEqual(Array.from(memory));
    expect(cache.data.buffer).not.toBe(memory.buffer);
    memory[0] = 9;
    expect(cache.forRead(0, 2)).toEqual(new Uint8Array([7, 7]));
    expect(cache.dirtyLines).toBe(0);
  });

  it('forWrite marks every 64-byte line the store touches dirty, each line once', () => {
    const cache = new CpuCache(new Uint8Array(512));
    cache.forWrite(0, 1);
    expect(cache.dirtyLines).toBe(1);
    cache.forWrite(60, 8); // lines 0 and 1
    expect(cache.dirtyLines).toBe(2);
    cache.forWrite(64, 64); // line 1 only
    expect(cache.dirtyLines).toBe(2);
    cache.forWrite(128, 64); // line 2 only
    expect(cache.dirtyLines).toBe(3);
    cache.forWrite(250, 10); // lines 3 and 4
    expect(cache.dirtyLines).toBe(5);
    const w = cache.forWrite(300, 4);
    expect(w.length).toBe(4);
    w.set([1, 2, 3, 4]);
    expect(Array.from(cache.data.subarray(300, 304))).toEqual([1, 2, 3, 4]);
    expect(cache.dirtyLines).toBe(5);
  });

  it('dcache_clean_poc: clean() writes back the dirty lines only, returns how many, and leaves the CPU view as it was', () => {
    const memory = new Uint8Array(256);
    const cache = new CpuCache(memory);
    // DMA writes line 1 after the cache was filled; the CPU stores into lines 0 and 2.
    memory.fill(0x22, 64, 128);
    cache.forWrite(5, 1)[0] = 0xaa;
    cache.forWrite(130, 2).set([0xbb, 0xcc]);
    expect(cache.clean()).toBe(2);
    expect(cache.dirtyLines).toBe(0);
    const want = new Uint8Array(256);
    want[5] = 0xaa;
    want.fill(0x22, 64, 128); // the clean line 1 did not overwrite what DMA wrote
    want.set([0xbb, 0xcc], 130);
    expect(Array.from(memory)).toEqual(Array.from(want));
    // Cleaning does not refetch: the CPU still sees its stale copy of line 1.
    expect(Array.from(cache.forRead(64, 4))).toEqual([0, 0, 0, 0]);
    expect(cache.clean()).toBe(0);
  });

  it('dcache_clean_poc: a dirty last line shorter than 64 bytes is written back within the memory', () => {
    const memory = new Uint8Array(100);
    const cache = new CpuCache(memory);
    cache.forWrite(90, 10).fill(5);
    expect(cache.dirtyLines).toBe(1);
    expect(cache.clean()).toBe(1);
    expect(memory.length).toBe(100);
    expect(Array.from(memory.subarray(88, 100))).toEqual([0, 0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
  });

  it('dcache_inval_poc: invalidate() refetches every line from memory, drops the dirty data and returns the lost line count', () => {
    const memory = new Uint8Array(256);
    const cache = new CpuCache(memory);
    cache.forWrite(0, 70).fill(0xaa); // lines 0 and 1
    memory.fill(0x33, 128, 192); // DMA writes line 2
    expect(cache.invalidate()).toBe(2);
    expect(cache.dirtyLines).toBe(0);
    const want = new Uint8Array(256).fill(0x33, 128, 192);
    expect(Array.from(cache.data)).toEqual(Array.from(want));
    // The stores never reached memory either.
    expect(Array.from(memory)).toEqual(Array.from(want));
    expect(cache.invalidate()).toBe(0);
  });
});

describe('coherentDma: false, ADC capture into an attached heap DMABUF', () => {
  it('dma_sync_sgtable_for_cpu skipped: after poll reports the transfer done, the mapping still shows the zeros cached before it', async () => {
    const { value, cache } = await run(NON_COHERENT, (sys, sim) => capture(sys, sim, async () => {}));
    expect(value.done).toBe(ADC_DONE);
    expect(value.before).toEqual(ZEROS);
    expect(value.stale).toEqual(ZEROS);
    // Memory has the samples all along: only the CPU's view is stale.
    expect(value.memory).toEqual(rampBytes(0, 512));
    expect(cache).toEqual([]);
  });

  it('SYNC START READ → system_heap_dma_buf_begin_cpu_access → dcache_inval_poc: the real samples appear', async () => {
    const { value, cache } = await run(NON_COHERENT, async (sys, sim) => {
      let fresh: number[] = [];
      const r = await capture(sys, sim, async (d) => {
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
        fresh = Array.from(sys.mem.read(d.addr, BLOCK));
        expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      });
      return { ...r, fresh };
    });
    expect(value.stale).toEqual(ZEROS);
    expect(value.fresh).toEqual(rampBytes(0, 512));
    // START READ invalidates; END READ cleans (arch_sync_dma_for_device), with nothing dirty to write.
    expect(cache).toEqual([
      { ino: 1, op: 'invalidate', lines: 0, time: ADC_DONE },
      { ino: 1, op: 'clean', lines: 0, time: ADC_DONE },
    ]);
  });

  it('SYNC START WRITE → dma_sync_sgtable_for_cpu(DMA_TO_DEVICE) maintains nothing: the mapping stays stale', async () => {
    const { value, cache } = await run(NON_COHERENT, async (sys, sim) => {
      let after: number[] = [];
      const r = await capture(sys, sim, async (d) => {
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_WRITE)).toBe(0);
        after = Array.from(sys.mem.read(d.addr, BLOCK));
      });
      return { ...r, after };
    });
    expect(value.after).toEqual(ZEROS);
    expect(cache).toEqual([]);
  });

  it('coherentDma: true (the default): the same program sees the samples after poll with no SYNC at all, and no cache maintenance happens', async () => {
    const { value, cache } = await run(COHERENT, async (sys, sim) => capture(sys, sim, async () => {}));
    expect(value.done).toBe(ADC_DONE);
    expect(value.before).toEqual(ZEROS);
    expect(value.stale).toEqual(rampBytes(0, 512));
    expect(cache).toEqual([]);
  });

  it('V2-DBUF-5: a v2 IIO DMABUF is dma_alloc_coherent memory, never cached: on coherentDma: false the samples show without SYNC', async () => {
    const { value, cache } = await run({ ...NON_COHERENT, abi: 'v2' }, async (sys) => {
      const b = await bufferOf(sys, 0);
      const d = await allocIioDmabufV2(sys, b.fd, BLOCK);
      if (typeof d === 'number') throw new Error(`alloc ${d}`);
      const before = Array.from(sys.mem.read(d.addr, BLOCK));
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'v2', b.fd, d.fd, BLOCK)).toBe(0);
      const done = await waitIdle(sys, d.fd);
      const after = Array.from(sys.mem.read(d.addr, BLOCK));
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      return { before, done, after };
    });
    expect(value.before).toEqual(ZEROS);
    expect(value.done).toBe(ADC_DONE);
    expect(value.after).toEqual(rampBytes(0, 512));
    expect(cache).toEqual([]);
  });

  it('SYNC START RW → dcache_inval_poc drops CPU stores never cleaned: 2 dirty lines lost, the CPU sees memory again', async () => {
    const { value, cache } = await run(NON_COHERENT, async (sys, sim) => {
      const b = await bufferOf(sys, 1);
      const d = await heapDmabuf(sys);
      expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
      sys.mem.write(d.addr + 60, new Uint8Array(8).fill(0xaa)); // lines 0 and 1
      const stored = Array.from(sys.mem.read(d.addr + 60, 8));
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_RW)).toBe(0);
      const after = Array.from(sys.mem.read(d.addr + 60, 8));
      return { stored, after, memory: memoryOf(sim, 1) };
    });
    expect(value.stored).toEqual(new Array(8).fill(0xaa));
    expect(value.after).toEqual(new Array(8).fill(0));
    expect(value.memory).toEqual(ZEROS);
    expect(cache).toEqual([{ ino: 1, op: 'invalidate', lines: 2, time: 0 }]);
  });

  it('SYNC END READ → dma_sync_sgtable_for_device → arch_sync_dma_for_device cleans on arm64 (5.19+): a store made under a START READ reaches memory', async () => {
    const { value, cache } = await run(NON_COHERENT, async (sys, sim) => {
      const b = await bufferOf(sys, 1);
      const d = await heapDmabuf(sys);
      expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      sys.mem.write(d.addr, new Uint8Array([1, 2, 3, 4]));
      const stored = Array.from(sys.mem.read(d.addr, 4));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      const after = Array.from(sys.mem.read(d.addr, 4));
      return { stored, after, memory: memoryOf(sim, 1) };
    });
    expect(value.stored).toEqual([1, 2, 3, 4]);
    expect(value.after).toEqual([1, 2, 3, 4]);
    expect(value.memory).toEqual([1, 2, 3, 4, ...ZEROS.slice(4)]);
    expect(cache).toEqual([
      { ino: 1, op: 'invalidate', lines: 0, time: 0 },
      { ino: 1, op: 'clean', lines: 1, time: 0 },
    ]);
  });
});

describe('coherentDma: false, DAC playing an attached heap DMABUF', () => {
  /** Writes the waveform into an attached DMABUF (bracketed by `dir` when given), plays it once. */
  async function play(sys: Sys, sim: Simulator, dir: number | null) {
    const b = await bufferOf(sys, 1);
    const d = await heapDmabuf(sys);
    expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
    if (dir !== null) expect(await syncDmabuf(sys, d.fd, 'start', dir)).toBe(0);
    sys.mem.write(d.addr, waveBytes());
    if (dir !== null) expect(await syncDmabuf(sys, d.fd, 'end', dir)).toBe(0);
    const memory = memoryOf(sim, 1);
    expect(await setBufferEnabled(sys, 1, true)).toBe(1);
    expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
    const done = await waitIdle(sys, d.fd);
    expect(await setBufferEnabled(sys, 1, false)).toBe(1);
    return { memory, done };
  }

  it('dma_sync_sgtable_for_device skipped: with no SYNC END WRITE the stores stay in the cache and the DAC plays zeros', async () => {
    const { value, cache, sim } = await run(NON_COHERENT, (sys, sim) => play(sys, sim, null));
    expect(value.done).toBe(DAC_DONE);
    expect(value.memory).toEqual(ZEROS);
    const dac = sim.devices[1]!.dac!;
    // 1024 scans of the block, then 2 starved scans until the disable at the completion IRQ.
    expect(dac.playedScans()).toEqual([...ZERO_SCANS, null, null]);
    expect([dac.valueAt(0, 100_500), dac.valueAt(1, 100_500)]).toEqual([0, 0]);
    expect(cache).toEqual([]);
  });

  it.each([
    ['WRITE', DMA_BUF_SYNC_WRITE, [{ ino: 1, op: 'clean', lines: LINES, time: 0 }]],
    [
      'RW',
      DMA_BUF_SYNC_RW,
      [
        { ino: 1, op: 'invalidate', lines: 0, time: 0 },
        { ino: 1, op: 'clean', lines: LINES, time: 0 },
      ],
    ],
  ])(
    'SYNC END %s → system_heap_dma_buf_end_cpu_access → dcache_clean_poc: all 64 lines reach memory and the DAC plays the waveform',
    async (_name, dir, events) => {
      const { value, cache, sim } = await run(NON_COHERENT, (sys, sim) => play(sys, sim, dir));
      expect(value.done).toBe(DAC_DONE);
      expect(value.memory).toEqual(Array.from(waveBytes()));
      const dac = sim.devices[1]!.dac!;
      expect(dac.playedScans()).toEqual([...WAVE_SCANS, null, null]);
      expect([dac.valueAt(0, 100_500), dac.valueAt(1, 100_500)]).toEqual(WAVE(100));
      expect(cache).toEqual(events);
    },
  );

  it('coherentDma: true: the DAC plays the waveform written with no SYNC at all', async () => {
    const { value, cache, sim } = await run(COHERENT, (sys, sim) => play(sys, sim, null));
    expect(value.memory).toEqual(Array.from(waveBytes()));
    expect(sim.devices[1]!.dac!.playedScans()).toEqual([...WAVE_SCANS, null, null]);
    expect(cache).toEqual([]);
  });
});

describe('system_heap_dma_buf_begin/end_cpu_access: a heap DMABUF with no attachment gets no cache maintenance', () => {
  it('system_heap_dma_buf_end_cpu_access: END WRITE on an unattached buffer cleans nothing; attached afterwards, the DAC plays zeros, until a SYNC made while attached cleans the 64 lines still dirty', async () => {
    const { value, cache, sim } = await run(NON_COHERENT, async (sys, sim) => {
      const b = await bufferOf(sys, 1);
      const d = await heapDmabuf(sys);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_WRITE)).toBe(0);
      sys.mem.write(d.addr, waveBytes());
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_WRITE)).toBe(0);
      const unattached = memoryOf(sim, 1);
      expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
      expect(await setBufferEnabled(sys, 1, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
      const first = await waitIdle(sys, d.fd);
      // No new store: the same START/END WRITE, now with an attachment.
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_WRITE)).toBe(0);
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_WRITE)).toBe(0);
      const attached = memoryOf(sim, 1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
      const second = await waitIdle(sys, d.fd);
      expect(await setBufferEnabled(sys, 1, false)).toBe(1);
      return { unattached, first, attached, second };
    });
    expect(value.unattached).toEqual(ZEROS);
    expect(value.first).toBe(DAC_DONE);
    expect(value.attached).toEqual(Array.from(waveBytes()));
    expect(value.second).toBe(2 * DAC_DONE);
    // First block: zeros; 2 starved scans while the program re-enqueued; second block: the waveform.
    expect(sim.devices[1]!.dac!.playedScans()).toEqual([
      ...ZERO_SCANS,
      null,
      null,
      ...WAVE_SCANS,
      null,
      null,
    ]);
    expect(cache).toEqual([{ ino: 1, op: 'clean', lines: LINES, time: DAC_DONE }]);
  });

  it('system_heap_dma_buf_begin_cpu_access: after DETACH, SYNC START READ does not invalidate: the mapping stays stale although memory has the samples; re-attached, it does', async () => {
    const { value, cache } = await run(NON_COHERENT, async (sys, sim) => {
      let detached: number[] = [];
      let reattached: number[] = [];
      const r = await capture(sys, sim, async (d, bufferFd) => {
        expect(await detachDmabuf(sys, bufferFd, d.fd)).toBe(0);
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
        detached = Array.from(sys.mem.read(d.addr, BLOCK));
        expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
        expect(await attachDmabuf(sys, bufferFd, d.fd)).toBe(0);
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
        reattached = Array.from(sys.mem.read(d.addr, BLOCK));
        expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      });
      return { ...r, detached, reattached };
    });
    expect(value.memory).toEqual(rampBytes(0, 512));
    expect(value.detached).toEqual(ZEROS);
    expect(value.reattached).toEqual(rampBytes(0, 512));
    expect(cache).toEqual([
      { ino: 1, op: 'invalidate', lines: 0, time: ADC_DONE },
      { ino: 1, op: 'clean', lines: 0, time: ADC_DONE },
    ]);
  });
});
