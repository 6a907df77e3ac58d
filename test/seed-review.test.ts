/**
 * The seed review (Andy Shevchenko on "[PATCH v2 05/12] iio: core: Add new DMABUF interface infrastructure",
 * 2022-03-28; ../shared/reference/seed-v2-review.txt) answered by running programs, each question side by side in
 * the v2 profile (5.17-rc5 + the v2 series) and the mainline profile (7.3). Rulebook §12 (SEED-1..7) and §1.5
 * (XPROF-1..4: what happens when a program built for one profile meets the other kernel).
 *
 * 1. "Is this member always available?" (`.compat_ioctl = compat_ptr_ioctl`): SEED-1..3.
 * 2. "No flags available right now?" (`IIO_BUFFER_DMABUF_SUPPORTED_FLAGS 0x00000000`): SEED-4, SEED-5.
 * 3. "Wouldn't be error prone to have 0 defined like this?" (`bytes_used == 0` = whole buffer): SEED-6, SEED-7.
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Simulator, SimulatorOptions, Sys } from '../src/index.ts';
import type { DmaBuf } from '../src/kernel/dma-buf/dma-buf.ts';
import * as v2 from '../src/uapi/iio-v2.ts';
import {
  _IOC_DIR,
  _IOC_NR,
  _IOC_SIZE,
  _IOC_TYPE,
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_buf_sync,
  dma_heap_allocation_data,
  EBUSY,
  EINTR,
  EINVAL,
  ENODEV,
  EPERM,
  FIONBIO,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_CYCLIC,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_DMABUF_SUPPORTED_FLAGS,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  iio_dmabuf,
  MAP_SHARED,
  O_CLOEXEC,
  O_RDWR,
  POLLIN,
  POLLOUT,
  PROT_READ,
  PROT_WRITE,
  SEEK_END,
  SYNC_IOC_FILE_INFO,
  sync_file_info,
} from '../src/uapi/index.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../src/user/iio.ts';
import { ORACLE, runOne, simExact, simInternal, simOnly, simState } from './helpers.ts';
import { rampFrom, rampStart } from './kernel/iio/dmabuf-helpers.ts';

type Profile = 'mainline' | 'v2';

const MS = 1_000_000;
const IRQ = 2_000;
const BLOCK_NS = 2_048_000;
const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];

function ramp(n: number, c: number): number {
  return ((n + 1024 * c) % 4096) - 2048;
}

function adcScans(first: number, count: number): number[] {
  const out: number[] = [];
  for (let n = first; n < first + count; n++) for (let c = 0; c < 4; c++) out.push(ramp(n, c));
  return out;
}

function s16(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 1 }, (_, i) => v.getInt16(i * 2, true));
}

function dacPattern(k: number, c: number): number {
  return ((k * 101 + c * 7000) % 65536) - 32768;
}

function dacBytes(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    v.setInt16(i * 4, dacPattern(first + i, 0), true);
    v.setInt16(i * 4 + 2, dacPattern(first + i, 1), true);
  }
  return out;
}

function dacScans(first: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => [dacPattern(first + i, 0), dacPattern(first + i, 1)]);
}

/** Enables the channels of the ADC (0) or DAC (1) and returns `{ chardev, fd }` of its buffer. */
async function buffer(sys: Sys, device: 0 | 1): Promise<{ chardev: number; fd: number }> {
  expect(await enableChannels(sys, device, device === 0 ? ADC_CHANNELS : DAC_CHANNELS)).toBe(0);
  const b = await openBuffer(sys, device);
  if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
  return b;
}

function enable(sys: Sys, device: 0 | 1, on: boolean): Promise<number> {
  return setBufferEnabled(sys, device, on);
}

// v2 calls.
function v2Alloc(sys: Sys, bfd: number, size: number, resv = 0): Promise<number> {
  return sys.ioctl(
    bfd,
    v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size, resv }),
  );
}

function v2Enqueue(sys: Sys, bfd: number, fd: number, bytesUsed: number, flags = 0): Promise<number> {
  return sys.ioctl(
    bfd,
    v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf, { fd, flags, bytes_used: bytesUsed }),
  );
}

// mainline calls.
async function heapAlloc(sys: Sys, heap: number, len: number): Promise<number> {
  const req = sys.mem.allocStruct(dma_heap_allocation_data, { len, fd_flags: O_RDWR | O_CLOEXEC });
  expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req)).toBe(0);
  return sys.mem.readStruct(req, dma_heap_allocation_data).fd;
}

function intIoctl(sys: Sys, fd: number, cmd: number, value: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, value);
  return sys.ioctl(fd, cmd, arg);
}

function attach(sys: Sys, bfd: number, fd: number): Promise<number> {
  return intIoctl(sys, bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, fd);
}

function detach(sys: Sys, bfd: number, fd: number): Promise<number> {
  return intIoctl(sys, bfd, IIO_BUFFER_DMABUF_DETACH_IOCTL, fd);
}

function mlEnqueue(sys: Sys, bfd: number, fd: number, bytesUsed: number, flags = 0): Promise<number> {
  return sys.ioctl(
    bfd,
    IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(iio_dmabuf, { fd, flags, bytes_used: bytesUsed }),
  );
}

// both.
function sync(sys: Sys, fd: number, flags: number): Promise<number> {
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags }));
}

function mapShared(sys: Sys, fd: number, len: number): Promise<number> {
  return sys.mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

async function pollOne(sys: Sys, fd: number, events: number, timeoutMs: number): Promise<[number, number]> {
  const fds: PollEntry[] = [{ fd, events }];
  const ret = await sys.pollfds(fds, timeoutMs);
  return [ret, fds[0]!.revents ?? -1];
}

async function exportSyncFile(sys: Sys, fd: number): Promise<[number, number]> {
  const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 });
  const ret = await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req);
  return [ret, sys.mem.readStruct(req, dma_buf_export_sync_file).fd];
}

async function syncFileStatus(sys: Sys, fd: number): Promise<[number, number]> {
  const info = sys.mem.allocStruct(sync_file_info, {});
  const ret = await sys.ioctl(fd, SYNC_IOC_FILE_INFO, info);
  return [ret, sys.mem.readStruct(info, sync_file_info).status];
}

/** A time in an expected value: exactly `ns` on the simulator, `ns` or later on the real kernel. */
function atLeast(ns: number): number {
  return simExact(ns, (t) => t >= ns, `a time at or after ${ns} ns`);
}

async function syncFileName(sys: Sys, fd: number): Promise<string> {
  const info = sys.mem.allocStruct(sync_file_info, {});
  expect(await sys.ioctl(fd, SYNC_IOC_FILE_INFO, info)).toBe(0);
  return sys.mem.readStruct(info, sync_file_info).name;
}

function dmabufOf(sim: Simulator, sys: Sys, fd: number): DmaBuf {
  return sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
}

function fenceInits(sim: Simulator): [number, number][] {
  const out: [number, number][] = [];
  sim.events.on('fence:trace', (e) => {
    if (e.event === 'dma_fence_init') out.push([e.context, e.seqno]);
  });
  return out;
}

const IDEAL = { platform: 'ideal' } as const satisfies SimulatorOptions;

// ---------------------------------------------------------------------------------------------------------------
// The programs of SEED-2 and SEED-3: run unchanged by an LP64 and an ILP32 process.

interface ProgramResult {
  rets: Record<string, number | string | undefined>;
  adc: number[];
  /** What the DAC played: read on the simulator only (undefined on the real kernel). */
  dac: (readonly number[] | null)[] | undefined;
}

/** A libiio-like v2 program: ALLOC, mmap, SYNC, ENQUEUE (incl. refusals), poll, read the data, DAC output. */
async function v2Program(sys: Sys, sim: Simulator): Promise<ProgramResult> {
  const r: Record<string, number | string> = {};
  const adc = await buffer(sys, 0);
  const dac = await buffer(sys, 1);
  Object.assign(r, { adcChardev: adc.chardev, adcBuf: adc.fd, dacChardev: dac.chardev, dacBuf: dac.fd });
  r.allocResv = await v2Alloc(sys, adc.fd, 16384, 1);
  r.allocZero = await v2Alloc(sys, adc.fd, 0);
  const a = await v2Alloc(sys, adc.fd, 16384);
  const b = await v2Alloc(sys, adc.fd, 16384);
  const c = await v2Alloc(sys, dac.fd, 6000);
  Object.assign(r, { a, b, c });
  r.end = await sys.lseek(c, 0, SEEK_END);
  r.setName = await sys.ioctl(a, DMA_BUF_SET_NAME(sys.mem.abi), sys.mem.allocString('adc-block-a'));
  r.name = dmabufOf(sim, sys, a).name;
  const addrA = await mapShared(sys, a, 16384);
  const addrB = await mapShared(sys, b, 16384);
  const addrC = await mapShared(sys, c, 8192);
  r.syncStartIdle = await sync(sys, a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  r.syncEndIdle = await sync(sys, a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  r.enqOver = await v2Enqueue(sys, adc.fd, a, 16385);
  r.enqFlags = await v2Enqueue(sys, adc.fd, a, 16384, 2);
  r.enqCyclicIn = await v2Enqueue(sys, adc.fd, a, 16384, v2.IIO_BUFFER_DMABUF_CYCLIC);
  r.enableAdc = await enable(sys, 0, true);
  r.enqA = await v2Enqueue(sys, adc.fd, a, 16384);
  r.enqB = await v2Enqueue(sys, adc.fd, b, 0);
  r.enqBusy = await v2Enqueue(sys, adc.fd, a, 16384);
  [r.pollA, r.reventsA] = await pollOne(sys, a, POLLIN, -1);
  r.tA = sys.now();
  r.syncA = await sync(sys, a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  const dataA = s16(sys.mem.read(addrA, 16384));
  [r.pollB, r.reventsB] = await pollOne(sys, b, POLLIN, -1);
  r.tB = sys.now();
  r.syncB = await sync(sys, b, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  const dataB = s16(sys.mem.read(addrB, 16384));
  r.disableAdc = await enable(sys, 0, false);
  sys.mem.write(addrC, dacBytes(0, 1500));
  r.enableDac = await enable(sys, 1, true);
  r.enqC = await v2Enqueue(sys, dac.fd, c, 0);
  [r.pollC, r.reventsC] = await pollOne(sys, c, POLLOUT, -1);
  r.tC = sys.now();
  r.fionbio = await intIoctl(sys, adc.fd, FIONBIO, 1);
  r.nonblockRead = await sys.read(adc.fd, addrA, 16);
  r.disableDac = await enable(sys, 1, false);
  return { rets: r, adc: [...dataA, ...dataB], dac: sim.device('sim-dac').dac!.playedScans() };
}

/** The same with the mainline API: heap dma-bufs, ATTACH/DETACH/ENQUEUE, SYNC, a sync_file, SET_NAME. */
async function mainlineProgram(sys: Sys, sim: Simulator): Promise<ProgramResult> {
  const r: Record<string, number | string | undefined> = {};
  const adc = await buffer(sys, 0);
  const dac = await buffer(sys, 1);
  Object.assign(r, { adcChardev: adc.chardev, adcBuf: adc.fd, dacChardev: dac.chardev, dacBuf: dac.fd });
  const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
  const a = await heapAlloc(sys, heap, 16384);
  const b = await heapAlloc(sys, heap, 16384);
  const c = await heapAlloc(sys, heap, 6000);
  Object.assign(r, { heap, a, b, c });
  r.end = await sys.lseek(c, 0, SEEK_END);
  r.setName = await sys.ioctl(a, DMA_BUF_SET_NAME(sys.mem.abi), sys.mem.allocString('adc-block-a'));
  // The name shows through fdinfo and readlink, which Sys does not have: read on the simulator only.
  r.name = simInternal(() => dmabufOf(sim, sys, a).name);
  const addrA = await mapShared(sys, a, 16384);
  const addrB = await mapShared(sys, b, 16384);
  const addrC = await mapShared(sys, c, 8192);
  r.syncStartIdle = await sync(sys, a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  r.syncEndIdle = await sync(sys, a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  r.enqUnattached = await mlEnqueue(sys, adc.fd, a, 16384);
  r.attachA = await attach(sys, adc.fd, a);
  r.attachB = await attach(sys, adc.fd, b);
  r.attachC = await attach(sys, dac.fd, c);
  r.attachAgain = await attach(sys, adc.fd, a);
  r.enqZero = await mlEnqueue(sys, adc.fd, a, 0);
  r.enqOver = await mlEnqueue(sys, adc.fd, a, 16385);
  r.enqFlags = await mlEnqueue(sys, adc.fd, a, 16384, 2);
  r.enqCyclicIn = await mlEnqueue(sys, adc.fd, a, 16384, IIO_BUFFER_DMABUF_CYCLIC);
  r.enableAdc = await enable(sys, 0, true);
  r.enqA = await mlEnqueue(sys, adc.fd, a, 16384);
  r.enqB = await mlEnqueue(sys, adc.fd, b, 16384);
  [r.exportA, r.syncFileA] = await exportSyncFile(sys, a);
  [r.pollA, r.reventsA] = await pollOne(sys, a, POLLIN, -1);
  r.tA = sys.now();
  r.syncA = await sync(sys, a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  const dataA = s16(sys.mem.read(addrA, 16384));
  [r.infoA, r.statusA] = await syncFileStatus(sys, r.syncFileA);
  [r.pollB, r.reventsB] = await pollOne(sys, b, POLLIN, -1);
  r.tB = sys.now();
  r.syncB = await sync(sys, b, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  const dataB = s16(sys.mem.read(addrB, 16384));
  r.disableAdc = await enable(sys, 0, false);
  sys.mem.write(addrC, dacBytes(0, 1500));
  r.enableDac = await enable(sys, 1, true);
  r.enqC = await mlEnqueue(sys, dac.fd, c, 6000);
  [r.pollC, r.reventsC] = await pollOne(sys, c, POLLOUT, -1);
  r.tC = sys.now();
  r.detachA = await detach(sys, adc.fd, a);
  r.detachAgain = await detach(sys, adc.fd, a);
  r.disableDac = await enable(sys, 1, false);
  const played = simInternal(() => sim.device('sim-dac').dac!.playedScans());
  return { rets: r, adc: [...dataA, ...dataB], dac: played };
}

async function runProgram(abi: Profile, compat: boolean): Promise<ProgramResult> {
  const program = abi === 'v2' ? v2Program : mainlineProgram;
  const { value } = await runOne((sys, sim) => program(sys, sim), {
    abi,
    ...IDEAL,
    spawn: { compat },
  });
  return value;
}

const COMMON_RETS = {
  adcChardev: 0,
  adcBuf: 1,
  dacChardev: 2,
  dacBuf: 3,
  end: 8192,
  setName: 0,
  name: 'adc-block-a',
  syncStartIdle: 0,
  syncEndIdle: 0,
  enqOver: -EINVAL,
  enqFlags: -EINVAL,
  enqCyclicIn: -EINVAL,
  enableAdc: 1,
  enqA: 0,
  pollA: 1,
  reventsA: POLLIN,
  tA: BLOCK_NS + IRQ,
  syncA: 0,
  pollB: 1,
  reventsB: POLLIN,
  tB: 2 * BLOCK_NS + IRQ,
  syncB: 0,
  disableAdc: 1,
  enableDac: 1,
  enqC: 0,
  pollC: 1,
  reventsC: POLLOUT,
  tC: 2 * BLOCK_NS + IRQ + 1_500_000 + IRQ,
  disableDac: 1,
};

// ---------------------------------------------------------------------------------------------------------------

describe('Seed point 1: "Is this member always available?" (.compat_ioctl = compat_ptr_ioctl)', () => {
  describe.each(['v2', 'mainline'] as const)('profile %s', (abi) => {
    it(`SEED-1: ${abi}: the buffer fd has a compat_ioctl: an ILP32 process's ioctls reach the IIO handler (never the -ENOTTY of a missing one)`, async () => {
      const run = (compat: boolean) =>
        runOne(
          async (sys, sim) => {
            const b = await buffer(sys, 0);
            const hasCompat = simInternal(
              () => typeof sim.kernel.tasks.get(sys.pid)!.files.file(b.fd)!.fops.compatIoctl,
            );
            const unknown = await sys.ioctl(b.fd, 0x12345678, sys.mem.alloc(16));
            const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
            const d = abi === 'v2' ? await v2Alloc(sys, b.fd, 4096) : await heapAlloc(sys, heap, 4096);
            const own = abi === 'v2' ? await v2Enqueue(sys, b.fd, d, 4096) : await attach(sys, b.fd, d);
            return { compat: sys.compat, hasCompat, unknown, d, own };
          },
          { abi, ...IDEAL, spawn: { compat } },
        );
      const ilp32 = (await run(true)).value;
      const lp64 = (await run(false)).value;
      expect(ilp32).toEqual({ ...lp64, compat: true });
      expect(lp64).toEqual({
        compat: false,
        hasCompat: simState('function', 'file operations'),
        unknown: abi === 'v2' ? 1 : -EINVAL,
        d: 3,
        own: 0,
      });
    });
  });

  it('SEED-2: v2: an ILP32 process running ALLOC/ENQUEUE/SYNC/poll gets the same results, fds and data as an LP64 one', async () => {
    const lp64 = await runProgram('v2', false);
    const ilp32 = await runProgram('v2', true);
    expect(ilp32).toEqual(lp64);
    expect(lp64.rets).toEqual({
      ...COMMON_RETS,
      allocResv: -EINVAL,
      allocZero: -EINVAL,
      a: 4,
      b: 5,
      c: 6,
      enqB: 0,
      enqBusy: -EBUSY,
      fionbio: 0,
      nonblockRead: -EBUSY,
    });
    expect(lp64.adc).toEqual(adcScans(0, 4096));
    expect(lp64.dac?.slice(0, 1500)).toEqual(dacScans(0, 1500));
  });

  it('SEED-3: mainline: an ILP32 process running ATTACH/DETACH/ENQUEUE/SYNC/sync_file gets the same results, fds and data as an LP64 one; SET_NAME _A (ILP32) and _B (LP64) both work', async () => {
    const lp64 = await runProgram('mainline', false);
    const ilp32 = await runProgram('mainline', true);
    // On the real kernel times are real and the ADC's first scan depends on when ENQUEUE came after the
    // enable: the two runs compare without them, and each run's data is checked on its own.
    const untimed = ({ rets: { tA, tB, tC, ...rets }, adc, ...rest }: ProgramResult) =>
      ORACLE ? { ...rest, rets } : { ...rest, rets: { ...rets, tA, tB, tC }, adc };
    expect(untimed(ilp32)).toEqual(untimed(lp64));
    expect(rampStart(ilp32.adc)).toEqual(rampFrom(0));
    expect(lp64.rets).toEqual({
      ...COMMON_RETS,
      name: simState('adc-block-a', 'the dma-buf name (fdinfo, readlink)'),
      // From the start of the run: on the real kernel the setup calls before the enable take real time, so
      // only the lower bound holds there.
      tA: atLeast(BLOCK_NS + IRQ),
      tB: atLeast(2 * BLOCK_NS + IRQ),
      tC: atLeast(2 * BLOCK_NS + IRQ + 1_500_000 + IRQ),
      heap: 4,
      a: 5,
      b: 6,
      c: 7,
      enqUnattached: -EPERM,
      attachA: 0,
      attachB: 0,
      attachC: 0,
      attachAgain: -EBUSY,
      enqZero: -EINVAL,
      enqB: 0,
      exportA: 0,
      syncFileA: 8,
      infoA: 0,
      statusA: 1,
      detachA: 0,
      detachAgain: -EPERM,
    });
    if (ORACLE) expect(rampStart(lp64.adc)).toEqual(rampFrom(0));
    else expect(lp64.adc).toEqual(adcScans(0, 4096));
    simOnly('the scans the simulated DAC played', () =>
      expect(lp64.dac?.slice(0, 1500)).toEqual(dacScans(0, 1500)),
    );
    expect(DMA_BUF_SET_NAME('ilp32')).toBe(DMA_BUF_SET_NAME_A);
    expect(DMA_BUF_SET_NAME('lp64')).toBe(DMA_BUF_SET_NAME_B);
    expect([DMA_BUF_SET_NAME_A, DMA_BUF_SET_NAME_B]).toEqual([0x40046201, 0x40086201]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('Seed point 2: "No flags available right now?"', () => {
  it('SEED-4: the headers: CYCLIC = 0x1 and SUPPORTED_FLAGS = 0x1 in both profiles; patch 05/12 alone had 0', () => {
    expect([v2.IIO_BUFFER_DMABUF_CYCLIC, v2.IIO_BUFFER_DMABUF_SUPPORTED_FLAGS]).toEqual([1, 1]);
    expect([IIO_BUFFER_DMABUF_CYCLIC, IIO_BUFFER_DMABUF_SUPPORTED_FLAGS]).toEqual([1, 1]);
    expect(v2.IIO_BUFFER_DMABUF_SUPPORTED_FLAGS_PATCH05).toBe(0);
  });

  describe.each(['v2', 'mainline'] as const)('profile %s', (abi) => {
    it(`SEED-4: ${abi}: flags 0x2 → -EINVAL, 0x1 (CYCLIC) on IN → -EINVAL, 0x1 on OUT → 0`, async () => {
      const { value } = await runOne(
        async (sys) => {
          const adc = await buffer(sys, 0);
          const dac = await buffer(sys, 1);
          const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
          let i: number;
          let o: number;
          if (abi === 'v2') {
            i = await v2Alloc(sys, adc.fd, 16384);
            o = await v2Alloc(sys, dac.fd, 8192);
          } else {
            i = await heapAlloc(sys, heap, 16384);
            o = await heapAlloc(sys, heap, 8192);
            expect(await attach(sys, adc.fd, i)).toBe(0);
            expect(await attach(sys, dac.fd, o)).toBe(0);
          }
          const enq = abi === 'v2' ? v2Enqueue : mlEnqueue;
          expect(await enable(sys, 1, true)).toBe(1);
          const r = [
            await enq(sys, adc.fd, i, 16384, 0x2),
            await enq(sys, dac.fd, o, 8192, 0x2),
            await enq(sys, adc.fd, i, 16384, 0x1),
            await enq(sys, dac.fd, o, 8192, 0x1),
          ];
          expect(await enable(sys, 1, false)).toBe(1);
          return r;
        },
        { abi, ...IDEAL },
      );
      expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, 0]);
    });
  });

  it('SEED-5: v2: after the disable of a cyclic block its fence is still unsignalled: poll POLLOUT not ready, SYNC START blocks forever', async () => {
    let seen: unknown = null;
    const { outcome, sim } = await runOne(
      async (sys) => {
        const dac = await buffer(sys, 1);
        const d = await v2Alloc(sys, dac.fd, 8192);
        sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 2048));
        expect(await enable(sys, 1, true)).toBe(1);
        const enq = await v2Enqueue(sys, dac.fd, d, 8192, IIO_BUFFER_DMABUF_CYCLIC);
        expect(await sys.nanosleep(5 * MS)).toBe(0);
        const disable = await enable(sys, 1, false);
        const poll = await pollOne(sys, d, POLLOUT, 0);
        seen = { enq, disable, poll };
        return sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
      },
      { abi: 'v2', ...IDEAL, allowAbnormal: true },
    );
    expect(seen).toEqual({ enq: 0, disable: 1, poll: [0, 0] });
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('ioctl');
    expect(outcome.blockedIn?.since).toBe(5 * MS);
    const one = dacScans(0, 2048);
    expect(sim.device('sim-dac').dac!.playedScans().slice(0, 4096)).toEqual([...one, ...one]);
  });

  it('SEED-5: mainline: after the disable the cyclic fence is signalled with -EINTR: poll POLLOUT ready, a sync_file exported while pending reports -EINTR, SYNC START returns 0', async () => {
    const { value, sim } = await runOne(
      async (sys) => {
        const dac = await buffer(sys, 1);
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const d = await heapAlloc(sys, heap, 8192);
        sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 2048));
        expect(await attach(sys, dac.fd, d)).toBe(0);
        expect(await enable(sys, 1, true)).toBe(1);
        const enq = await mlEnqueue(sys, dac.fd, d, 8192, IIO_BUFFER_DMABUF_CYCLIC);
        const [exp, sf] = await exportSyncFile(sys, d);
        const pending = await syncFileStatus(sys, sf);
        expect(await sys.nanosleep(5 * MS)).toBe(0);
        const disable = await enable(sys, 1, false);
        const poll = await pollOne(sys, d, POLLOUT, 0);
        const status = await syncFileStatus(sys, sf);
        const start = await sync(sys, d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
        return { enq, exp, pending, disable, poll, status, start, t: sys.now() };
      },
      { abi: 'mainline', ...IDEAL },
    );
    expect(value).toEqual({
      enq: 0,
      exp: 0,
      pending: [0, 0],
      disable: 1,
      poll: [1, POLLOUT],
      status: [0, -EINTR],
      start: 0,
      // The end of the 5 ms sleep, counted from the run start: on the real kernel the setup calls add to it.
      t: atLeast(5 * MS),
    });
    const one = dacScans(0, 2048);
    simOnly('the scans the simulated DAC played', () =>
      expect(sim.device('sim-dac').dac!.playedScans().slice(0, 4096)).toEqual([...one, ...one]),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('Seed point 3: "Wouldn\'t be error prone to have 0 defined like this?" (bytes_used == 0)', () => {
  it('SEED-6: v2: bytes_used 0 returns 0 and moves the whole block (ALLOC size 6000: 1500 DAC scans)', async () => {
    const { value, sim } = await runOne(
      async (sys) => {
        const dac = await buffer(sys, 1);
        const d = await v2Alloc(sys, dac.fd, 6000);
        sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 2048));
        expect(await enable(sys, 1, true)).toBe(1);
        const enq = await v2Enqueue(sys, dac.fd, d, 0);
        const poll = await pollOne(sys, d, POLLOUT, -1);
        const t = sys.now();
        expect(await sys.nanosleep(MS)).toBe(0);
        expect(await enable(sys, 1, false)).toBe(1);
        return { enq, poll, t };
      },
      { abi: 'v2', ...IDEAL },
    );
    expect(value).toEqual({ enq: 0, poll: [1, POLLOUT], t: 1_500_000 + IRQ });
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.slice(0, 1500)).toEqual(dacScans(0, 1500));
    expect(played.slice(1500)).toEqual(new Array(played.length - 1500).fill(null));
    expect(sim.device('sim-dac').dma!.stats.bytesDone).toBe(6000);
  });

  it('SEED-6: mainline: bytes_used 0 is -EINVAL, publishes nothing and consumes no seqno (the next ENQUEUE gets seqno 1)', async () => {
    const { value, sim } = await runOne(
      async (sys, sim) => {
        const inits = simInternal(() => fenceInits(sim));
        const dac = await buffer(sys, 1);
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const d = await heapAlloc(sys, heap, 8192);
        sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 2048));
        expect(await attach(sys, dac.fd, d)).toBe(0);
        expect(await enable(sys, 1, true)).toBe(1);
        const zero = await mlEnqueue(sys, dac.fd, d, 0);
        const afterZero = simInternal(() => ({
          inits: [...inits!],
          slots: dmabufOf(sim, sys, d).resv.slots.length,
        }));
        const idle = await pollOne(sys, d, POLLOUT, 0);
        const ok = await mlEnqueue(sys, dac.fd, d, 8192);
        // What user space sees of the seqno: the sync_file name of the fence just published ends in "-1".
        const [, sf] = await exportSyncFile(sys, d);
        const name = await syncFileName(sys, sf);
        expect(await sys.nanosleep(3 * MS)).toBe(0);
        expect(await enable(sys, 1, false)).toBe(1);
        return { zero, afterZero, idle, ok, seqno: name.slice(name.lastIndexOf('-') + 1), inits };
      },
      // The export must come while the 2 ms transfer is in flight: 2 s at time scale 1000.
      { abi: 'mainline', ...IDEAL, realTimescale: 1000 },
    );
    expect(value).toEqual({
      zero: -EINVAL,
      afterZero: simState({ inits: [], slots: 0 }, 'fence tracepoints and the reservation object'),
      idle: [1, POLLOUT],
      ok: 0,
      seqno: '1',
      inits: simState([[1, 1]], 'fence tracepoints'),
    });
    simOnly('the scans the simulated DAC played', () => {
      const played = sim.device('sim-dac').dac!.playedScans();
      expect(played.slice(0, 2048)).toEqual(dacScans(0, 2048));
    });
  });

  it('SEED-7: v2: the bound is the unrounded ALLOC size: size 5000 rejects 8192 (its PAGE_ALIGN) and 5001, accepts 5000', async () => {
    const { value } = await runOne(
      async (sys) => {
        const dac = await buffer(sys, 1);
        const d = await v2Alloc(sys, dac.fd, 5000);
        return {
          end: await sys.lseek(d, 0, SEEK_END),
          r: [
            await v2Enqueue(sys, dac.fd, d, 8192),
            await v2Enqueue(sys, dac.fd, d, 5001),
            await v2Enqueue(sys, dac.fd, d, 5000),
          ],
        };
      },
      { abi: 'v2', ...IDEAL },
    );
    expect(value).toEqual({ end: 8192, r: [-EINVAL, -EINVAL, 0] });
  });

  it('SEED-7: mainline: the bound is the dma-buf size: a heap buffer of len 5000 (8192 bytes) accepts 8192, rejects 8193', async () => {
    const { value } = await runOne(
      async (sys) => {
        const dac = await buffer(sys, 1);
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const d = await heapAlloc(sys, heap, 5000);
        expect(await attach(sys, dac.fd, d)).toBe(0);
        return {
          end: await sys.lseek(d, 0, SEEK_END),
          r: [await mlEnqueue(sys, dac.fd, d, 8193), await mlEnqueue(sys, dac.fd, d, 8192)],
        };
      },
      { abi: 'mainline', ...IDEAL },
    );
    expect(value).toEqual({ end: 8192, r: [-EINVAL, 0] });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('XPROF: the nr 0x92/0x93 collision between the profiles', () => {
  it('XPROF-1: ALLOC/ATTACH and v2 ENQUEUE/DETACH share type and nr but not size: the 32-bit values never coincide', () => {
    const pairs = [
      [v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, IIO_BUFFER_DMABUF_ATTACH_IOCTL],
      [v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, IIO_BUFFER_DMABUF_DETACH_IOCTL],
    ];
    expect(pairs).toEqual([
      [0x40106992, 0x40046992],
      [0x40106993, 0x40046993],
    ]);
    for (const [a, b] of pairs) {
      expect([_IOC_DIR(a!), _IOC_TYPE(a!), _IOC_NR(a!)]).toEqual([_IOC_DIR(b!), _IOC_TYPE(b!), _IOC_NR(b!)]);
      expect([_IOC_SIZE(a!), _IOC_SIZE(b!)]).toEqual([16, 4]);
    }
    expect(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL).toBe(0x40106994);
    const all = new Set([
      v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
      v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
      IIO_BUFFER_DMABUF_ATTACH_IOCTL,
      IIO_BUFFER_DMABUF_DETACH_IOCTL,
      IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    ]);
    expect(all.size).toBe(5);
  });

  // First 4 bytes = a dma-buf fd (an ATTACH argument), whole 16 bytes = {size 5, resv 0} (an ALLOC argument).
  const fullValueRun = (abi: Profile, cmd: number) =>
    runOne(
      async (sys) => {
        const b = await buffer(sys, 0);
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const d = await heapAlloc(sys, heap, 4096);
        const arg = sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: d, resv: 0 });
        const ret = await sys.ioctl(b.fd, cmd, arg);
        const next = await sys.dup(0);
        const attachNow = abi === 'mainline' ? await attach(sys, b.fd, d) : null;
        return { d, ret, next, attachNow };
      },
      { abi, ...IDEAL },
    );

  it('XPROF-1: the mainline kernel dispatches on the full value: ALLOC on an argument that is also a valid ATTACH is -EINVAL, nothing attached', async () => {
    expect((await fullValueRun('mainline', v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL)).value).toEqual({
      d: 3,
      ret: -EINVAL,
      next: 4,
      attachNow: 0,
    });
  });

  it('XPROF-1: the v2 kernel dispatches on the full value: ATTACH on an argument that is also a valid ALLOC is no ALLOC (1, no new fd)', async () => {
    expect((await fullValueRun('v2', IIO_BUFFER_DMABUF_ATTACH_IOCTL)).value).toEqual({
      d: 3,
      ret: 1,
      next: 4,
      attachNow: null,
    });
  });

  it('XPROF-2: a v2 program on a mainline kernel: ALLOC and v2 ENQUEUE on the buffer fd are -EINVAL', async () => {
    const { value } = await runOne(
      async (sys) => {
        const b = await buffer(sys, 0);
        const alloc = await v2Alloc(sys, b.fd, 16384);
        const enq = await v2Enqueue(sys, b.fd, 0, 16384);
        return [alloc, enq];
      },
      { abi: 'mainline', ...IDEAL },
    );
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('XPROF-3: a mainline program on a v2 kernel: ATTACH, DETACH and the mainline ENQUEUE all return 1; the buffer runs in fileio mode and the dma-buf never receives data', async () => {
    const { value, sim } = await runOne(
      async (sys) => {
        const b = await buffer(sys, 0);
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const d = await heapAlloc(sys, heap, 16384);
        const addr = await mapShared(sys, d, 16384);
        const att = await attach(sys, b.fd, d);
        // A program testing ret < 0 goes on as if it worked.
        const en = await enable(sys, 0, true);
        const enq = await mlEnqueue(sys, b.fd, d, 16384);
        const poll = await pollOne(sys, d, POLLIN, 0);
        expect(await sys.nanosleep(5 * MS)).toBe(0);
        const zero = sys.mem.read(addr, 16384).every((x) => x === 0);
        const det = await detach(sys, b.fd, d);
        expect(await enable(sys, 0, false)).toBe(1);
        return { att, en, enq, poll, zero, det };
      },
      { abi: 'v2', ...IDEAL },
    );
    expect(value).toEqual({ att: 1, en: 1, enq: 1, poll: [1, POLLIN], zero: true, det: 1 });
    // Only the two 16384-byte fileio blocks ran (nothing was attached, so the enable chose fileio mode).
    expect(sim.device('sim-adc').dma!.stats.bytesDone).toBe(16384 * 2);
  });

  describe.each(['v2', 'mainline'] as const)('profile %s', (abi) => {
    it(`XPROF-4: ${abi}: on the chardev every DMABUF number of either profile is -ENODEV`, async () => {
      const { value } = await runOne(
        async (sys) => {
          const b = await buffer(sys, 0);
          const arg = sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: 4096, resv: 0 });
          const out: number[] = [];
          for (const cmd of [
            v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
            v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
            IIO_BUFFER_DMABUF_ATTACH_IOCTL,
            IIO_BUFFER_DMABUF_DETACH_IOCTL,
            IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
          ])
            out.push(await sys.ioctl(b.chardev, cmd, arg));
          // The chardev still answers its own two commands.
          out.push(await sys.ioctl(b.chardev, IIO_BUFFER_GET_FD_IOCTL, sys.mem.alloc(4)));
          out.push(await sys.ioctl(b.chardev, IIO_GET_EVENT_FD_IOCTL, sys.mem.alloc(4)));
          return out;
        },
        { abi, ...IDEAL },
      );
      expect(value).toEqual([-ENODEV, -ENODEV, -ENODEV, -ENODEV, -ENODEV, -EBUSY, -ENODEV]);
    });
  });
});
