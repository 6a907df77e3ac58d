/**
 * Non-coherent DMA (`platform: { coherentDma: false }`): the CPU sees mapped heap DMABUFs (shared and private
 * mappings alike) through a cache (src/kernel/cpu-cache.ts) that fetches a line at the CPU's first touch after
 * creation or after an invalidate, and that only the streaming-DMA syncs maintain (`dcache_inval_poc` /
 * `dcache_clean_poc`):
 *
 * - DMA_BUF_IOCTL_SYNC, through the exporter's begin/end_cpu_access (`dma_sync_sgtable_for_cpu` /
 *   `dma_sync_sgtable_for_device`): START READ or RW invalidates (un-cleaned CPU stores are lost; the CPU
 *   fetches what DMA wrote at its next touch), before `dma_buf_begin_cpu_access` waits for the fences;
 *   START WRITE does nothing; END cleans whatever the direction (CPU stores reach memory, so a DAC plays
 *   them): arm64's `arch_sync_dma_for_device()` has only cleaned since Linux 5.19;
 * - `system_heap_dma_buf_begin/end_cpu_access()` only sync the mapped attachments: a heap DMABUF no device
 *   has attached gets no maintenance from SYNC at all;
 * - the IIO ATTACH maps the attachment (`system_heap_map_dma_buf` → `dma_map_sgtable`): a clean, whatever
 *   the direction; its release (DETACH with no fence pending, buffer-fd close, exit) unmaps it
 *   (`system_heap_unmap_dma_buf` → `dma_unmap_sgtable`): an invalidate for an ADC (from-device)
 *   attachment, nothing for a DAC (to-device) one;
 * - v2 IIO DMABUFs are dma_alloc_coherent memory: never cached (V2-DBUF-5).
 *
 * Each expected `dmabuf:cache` event is commented with what made it (a maintenance op is reported only once
 * the buffer has a CPU mapping, even with no line to act on). Plus unit tests of CpuCache itself. Ideal
 * platform, so every time is exact: sim-adc fills a 4096-byte block (512 scans) in 512 µs, sim-dac plays one
 * (1024 scans) in 1024 µs; each completion IRQ 2 µs later.
 */
import { describe, expect, it } from 'vitest';
import {
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_heap_allocation_data,
  MAP_PRIVATE,
  O_CLOEXEC,
  O_RDWR,
  POLLOUT,
  type PollEntry,
  PROT_READ,
  PROT_WRITE,
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
import { testSimulator } from '../../helpers.ts';

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

/** `dma_map_sgtable()` at an ATTACH made at time 0 with nothing dirty: arch_sync_dma_for_device cleans. */
const ATTACH_CLEAN: CacheEvent = { ino: 1, op: 'clean', lines: 0, time: 0 };
/** `dma_unmap_sgtable(DMA_FROM_DEVICE)` when the ADC attachment is released at the exit after ADC_DONE. */
const EXIT_ADC_UNMAP: CacheEvent = { ino: 1, op: 'invalidate', lines: 0, time: ADC_DONE };

/** Runs `body` as the only process (no stdio); returns its value, the `dmabuf:cache` events and the sim. */
async function run<R>(
  options: SimulatorOptions,
  body: (sys: Sys, sim: Simulator) => Promise<R>,
): Promise<{ value: R; cache: CacheEvent[]; sim: Simulator }> {
  const sim = testSimulator(options);
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
  return Array.from(sim.kernel.dmaBuf.live.get(ino)!.readBytes(0, BLOCK));
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
  it('a line is fetched from memory at its first touch, then kept: later DMA writes are not seen; forRead dirties nothing', () => {
    const memory = new Uint8Array(256).fill(7);
    const cache = new CpuCache(memory);
    expect(cache.memory).toBe(memory);
    expect(cache.data.buffer).not.toBe(memory.buffer);
    memory[0] = 9; // before the first touch: seen
    expect(cache.forRead(0, 2)).toEqual(new Uint8Array([9, 7]));
    memory[1] = 8; // after it: not seen (same line)
    expect(cache.forRead(0, 2)).toEqual(new Uint8Array([9, 7]));
    memory[64] = 5; // another line, not touched yet: seen
    expect(cache.forRead(64, 1)).toEqual(new Uint8Array([5]));
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
    cache.forRead(0, 256); // every line valid
    // DMA writes line 1 after the CPU fetched it; the CPU stores into lines 0 and 2.
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

  it('dcache_inval_poc: invalidate() drops every line (dirty data lost, count returned); the next touch fetches memory as it is then', () => {
    const memory = new Uint8Array(256);
    const cache = new CpuCache(memory);
    cache.forRead(0, 256);
    cache.forWrite(0, 70).fill(0xaa); // lines 0 and 1
    memory.fill(0x33, 128, 192); // DMA writes line 2 (the CPU holds it stale)
    expect(Array.from(cache.forRead(128, 2))).toEqual([0, 0]);
    expect(cache.invalidate()).toBe(2);
    expect(cache.dirtyLines).toBe(0);
    memory.fill(0x44, 192, 256); // DMA writes line 3 after the invalidate, before the CPU looks
    const want = new Uint8Array(256).fill(0x33, 128, 192).fill(0x44, 192, 256);
    expect(Array.from(cache.forRead(0, 256))).toEqual(Array.from(want));
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
    // Only the ATTACH's map and the exit's unmap maintain: nothing between them.
    expect(cache).toEqual([ATTACH_CLEAN, EXIT_ADC_UNMAP]);
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
      ATTACH_CLEAN,
      { ino: 1, op: 'invalidate', lines: 0, time: ADC_DONE },
      { ino: 1, op: 'clean', lines: 0, time: ADC_DONE },
      EXIT_ADC_UNMAP,
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
    // No event from the START WRITE: only the ATTACH's map and the exit's unmap.
    expect(cache).toEqual([ATTACH_CLEAN, EXIT_ADC_UNMAP]);
  });

  it('SYNC START READ → dma_buf_begin_cpu_access: system_heap_dma_buf_begin_cpu_access invalidates before the fence wait; made right after ENQUEUE, it returns at the completion and the next touch fetches the samples', async () => {
    const { value, cache } = await run(NON_COHERENT, async (sys) => {
      const b = await bufferOf(sys, 0);
      const d = await heapDmabuf(sys);
      expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
      // The first touch fills the cache lines with zeros.
      const before = Array.from(sys.mem.read(d.addr, BLOCK));
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      const synced = sys.now();
      const after = Array.from(sys.mem.read(d.addr, BLOCK));
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      return { before, synced, after };
    });
    expect(value.before).toEqual(ZEROS);
    expect(value.synced).toBe(ADC_DONE);
    expect(value.after).toEqual(rampBytes(0, 512));
    expect(cache).toEqual([
      ATTACH_CLEAN,
      { ino: 1, op: 'invalidate', lines: 0, time: 0 }, // START READ, at the ENQUEUE's time: before the wait
      { ino: 1, op: 'clean', lines: 0, time: ADC_DONE }, // END READ
      EXIT_ADC_UNMAP,
    ]);
  });

  it('DMMAP-3: a MAP_PRIVATE mapping of a heap DMABUF is not copy-on-write here and goes through the same cache: stale zeros after the transfer until SYNC START READ → system_heap_dma_buf_begin_cpu_access', async () => {
    const { value, cache } = await run(NON_COHERENT, async (sys) => {
      const b = await bufferOf(sys, 0);
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const req = sys.mem.allocStruct(dma_heap_allocation_data, { len: BLOCK, fd_flags: O_RDWR | O_CLOEXEC });
      expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req)).toBe(0);
      const fd = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
      expect(await sys.close(heap)).toBe(0);
      // The 4096-byte buffer is one chunk, so a private mapping of all of it is allowed.
      const addr = await sys.mmap(0, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      expect(addr).toBeGreaterThan(0);
      expect(await attachDmabuf(sys, b.fd, fd)).toBe(0);
      const before = Array.from(sys.mem.read(addr, BLOCK));
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, fd, BLOCK)).toBe(0);
      const done = await waitIdle(sys, fd);
      const stale = Array.from(sys.mem.read(addr, BLOCK));
      expect(await syncDmabuf(sys, fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      const fresh = Array.from(sys.mem.read(addr, BLOCK));
      expect(await syncDmabuf(sys, fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      return { before, done, stale, fresh };
    });
    expect(value.before).toEqual(ZEROS);
    expect(value.done).toBe(ADC_DONE);
    expect(value.stale).toEqual(ZEROS);
    expect(value.fresh).toEqual(rampBytes(0, 512));
    expect(cache).toEqual([
      ATTACH_CLEAN,
      { ino: 1, op: 'invalidate', lines: 0, time: ADC_DONE }, // START READ
      { ino: 1, op: 'clean', lines: 0, time: ADC_DONE }, // END READ
      EXIT_ADC_UNMAP,
    ]);
  });

  it('coherentDma: true (laptop, ideal; zcu102 and pluto are not): the same program sees the samples after poll with no SYNC at all, and no cache maintenance happens', async () => {
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
    // The ATTACH cleans before the stores; the DAC (to-device) attachment's unmap at exit maintains nothing.
    expect(cache).toEqual([ATTACH_CLEAN, { ino: 1, op: 'invalidate', lines: 2, time: 0 }]);
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
    // ATTACH, START READ, END READ; the DAC attachment's unmap at exit maintains nothing.
    expect(cache).toEqual([
      ATTACH_CLEAN,
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
    // The ATTACH cleaned before the stores; nothing after them (the DAC attachment's unmap does nothing).
    expect(cache).toEqual([ATTACH_CLEAN]);
  });

  it.each([
    // The ATTACH's clean (nothing dirty yet), then the SYNC's; the DAC attachment's unmap does nothing.
    ['WRITE', DMA_BUF_SYNC_WRITE, [ATTACH_CLEAN, { ino: 1, op: 'clean', lines: LINES, time: 0 }]],
    [
      'RW',
      DMA_BUF_SYNC_RW,
      [
        ATTACH_CLEAN,
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
  it('system_heap_dma_buf_end_cpu_access: END WRITE on an unattached buffer cleans nothing; the ATTACH (system_heap_map_dma_buf → dma_map_sgtable) then cleans the 64 dirty lines and the DAC plays the waveform', async () => {
    const { value, cache, sim } = await run(NON_COHERENT, async (sys, sim) => {
      const b = await bufferOf(sys, 1);
      const d = await heapDmabuf(sys);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_WRITE)).toBe(0);
      sys.mem.write(d.addr, waveBytes());
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_WRITE)).toBe(0);
      const unattached = memoryOf(sim, 1);
      expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
      const attached = memoryOf(sim, 1);
      expect(await setBufferEnabled(sys, 1, true)).toBe(1);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
      const done = await waitIdle(sys, d.fd);
      expect(await setBufferEnabled(sys, 1, false)).toBe(1);
      return { unattached, attached, done };
    });
    // Right after the END WRITE the stores are all still in the cache; the ATTACH wrote them back.
    expect(value.unattached).toEqual(ZEROS);
    expect(value.attached).toEqual(Array.from(waveBytes()));
    expect(value.done).toBe(DAC_DONE);
    expect(sim.devices[1]!.dac!.playedScans()).toEqual([...WAVE_SCANS, null, null]);
    // Nothing from the unattached START/END WRITE; the ATTACH's clean; the DAC attachment's unmap does nothing.
    expect(cache).toEqual([{ ino: 1, op: 'clean', lines: LINES, time: 0 }]);
  });

  it("system_heap_dma_buf_begin_cpu_access: after DETACH, SYNC START READ does not invalidate: the DETACH's system_heap_unmap_dma_buf → dma_unmap_sgtable did, so the samples show, but memory changed after it stays unseen; re-attached, START READ invalidates again", async () => {
    const OTHER = new Array<number>(BLOCK).fill(0x5a);
    const { value, cache } = await run(NON_COHERENT, async (sys, sim) => {
      let detached: number[] = [];
      let unseen: number[] = [];
      let reattached: number[] = [];
      const r = await capture(sys, sim, async (d, bufferFd) => {
        // No fence pending: the DETACH releases the attachment at once, and its unmap invalidates.
        expect(await detachDmabuf(sys, bufferFd, d.fd)).toBe(0);
        detached = Array.from(sys.mem.read(d.addr, BLOCK));
        // Memory changes behind the CPU's cached lines (a stand-in for a DMA write).
        sim.kernel.dmaBuf.live.get(1)!.writeBytes(0, new Uint8Array(OTHER));
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
        unseen = Array.from(sys.mem.read(d.addr, BLOCK));
        expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
        expect(await attachDmabuf(sys, bufferFd, d.fd)).toBe(0);
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
        reattached = Array.from(sys.mem.read(d.addr, BLOCK));
        expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      });
      return { ...r, detached, unseen, reattached };
    });
    expect(value.stale).toEqual(ZEROS);
    expect(value.memory).toEqual(rampBytes(0, 512));
    expect(value.detached).toEqual(rampBytes(0, 512));
    expect(value.unseen).toEqual(rampBytes(0, 512));
    expect(value.reattached).toEqual(OTHER);
    expect(cache).toEqual([
      ATTACH_CLEAN,
      { ino: 1, op: 'invalidate', lines: 0, time: ADC_DONE }, // DETACH → dma_unmap_sgtable(DMA_FROM_DEVICE)
      // nothing from the START/END READ made while detached
      { ino: 1, op: 'clean', lines: 0, time: ADC_DONE }, // re-ATTACH → dma_map_sgtable
      { ino: 1, op: 'invalidate', lines: 0, time: ADC_DONE }, // START READ
      { ino: 1, op: 'clean', lines: 0, time: ADC_DONE }, // END READ
      EXIT_ADC_UNMAP,
    ]);
  });
});
