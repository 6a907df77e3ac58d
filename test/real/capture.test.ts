/**
 * Two 200,000-scan captures from sim-adc, on the simulator and on Debian's Linux 7.3 (QEMU, the sim_iio
 * module): one through read() on the buffer fd, one through four DMABUFs following libiio 1.x's local DMABUF
 * loop (`docs/oracle.md`; the syscall sequence is in the workplace reference "libiio's DMABUF loop"). Each run
 * must return exactly the ramp, checked sample by sample from scan 0 to scan 199,999 (so not one scan may be
 * lost), and the simulator and the kernel must return the same bytes and the same results for every call
 * whose result does not depend on timing.
 *
 * Why nothing is lost in real time. On the kernel, time is real and QEMU runs without KVM, so every syscall
 * of the program costs a round trip host -> virtio-serial -> guest process -> back (about 1 to 5 ms here,
 * more when the machine is busy). The ramp depends only on the sample index, not on the rate, so the programs
 * lower the sample rate to 20 kHz (sysfs `sampling_frequency`, before the buffer is enabled) and use blocks of
 * 20,000 scans (160,000 bytes, 1 s of sampling each):
 * - read(): `buffer0/length` = 40,000 scans gives industrialio-buffer-dma's two fileio blocks of 20,000 scans
 *   each. While the program reads one completed block, the DMA fills the other; a scan is lost only if the
 *   other block also completes before the read that empties the first one has re-queued it, i.e. if reading
 *   one block takes longer than 1 s. It takes one or two read() round trips.
 * - DMABUF: four blocks of 20,000 scans are queued before the enable; a scan is lost only if the queue runs
 *   dry, i.e. if handling one block (poll, SYNC START, reading the samples, SYNC END, ENQUEUE) takes longer
 *   than the three blocks still queued, 3 s. It takes about five round trips.
 * The margins are about 100 times the work, so a loaded machine still loses nothing. Ten blocks make exactly
 * 200,000 scans; each capture takes 10 s of sampling (plus a few seconds of QEMU overhead).
 *
 * Skipped, with the setup's one-line message, when `iio-sim kernel setup` has not been run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type PollEntry, type Sys } from '../../src/index.ts';
import { createRealKernel, type RealRunResult } from '../../src/real/runtime.ts';
import { checkSetup, SETUP_SKIP_MESSAGE } from '../../src/real/setup.ts';
import { bootVm, type Vm } from '../../src/real/vm.ts';
import {
  DMA_BUF_SYNC_RW,
  MAP_SHARED,
  O_CLOEXEC,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POLLOUT,
  PROT_READ,
  PROT_WRITE,
} from '../../src/uapi/index.ts';
import { ioctlDef } from '../../src/uapi/ioctls.ts';
import { attachDmabuf, detachDmabuf, enqueueDmabuf, syncDmabuf } from '../../src/user/dmabuf.ts';
import { enableChannels, iioSysfsDir, openBuffer, setBufferEnabled, writeAttr } from '../../src/user/iio.ts';
import { callIoctl } from '../../src/user/ioctl.ts';

const ready = checkSetup().ready;
if (!ready) console.info(SETUP_SKIP_MESSAGE);

/** Scans captured by each program. */
const SCANS = 200_000;
/** sim-adc: 4 channels of `le:s12/16>>0`. */
const CHANNELS = 4;
const SCAN_BYTES = 2 * CHANNELS;
/** Sample rate the programs set (the default is 1 MHz): see the file comment. */
const RATE_HZ = 20_000;
/** Scans per block, fileio and DMABUF alike: 1 s at RATE_HZ. */
const BLOCK_SCANS = 20_000;
const BLOCK_BYTES = BLOCK_SCANS * SCAN_BYTES;
const DMABUFS = 4;
/** libiio's default context timeout, ms. */
const POLL_TIMEOUT_MS = 5000;
const S = 1e9;
const ADC = 0;
const EN = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const HEAP_ALLOC = ioctlDef('DMA_HEAP_IOCTL_ALLOC');

/** sim-adc's default signal: channel c at sample n. */
const ramp = (n: number, c: number): number => ((n + 1024 * c) % 4096) - 2048;

/** What a capture program returns. */
interface Capture {
  /** Every scan captured, in order. */
  readonly data: Uint8Array;
  /** The results of the calls whose result does not depend on timing, by label. */
  readonly calls: Record<string, number>;
  /**
   * The program's slowest turnaround (ns): between two reads, or from a DMABUF's poll to its re-ENQUEUE. What
   * must stay well below the margin of the file comment.
   */
  readonly worstBlockNs: number;
}

/** Rate and length before the enable, as libiio does (it writes `length` and `watermark`). */
async function configure(sys: Sys, calls: Record<string, number>, lengthScans: number): Promise<void> {
  const dir = iioSysfsDir(ADC);
  calls.rate = await writeAttr(sys, `${dir}/sampling_frequency`, String(RATE_HZ));
  calls.channels = await enableChannels(sys, ADC, EN);
  calls.length = await writeAttr(sys, `${dir}/buffer0/length`, String(lengthScans));
  // industrialio-buffer-dma's watermark is fixed (0444): the write is refused, as libiio's is on such a device.
  calls.watermark = await writeAttr(sys, `${dir}/buffer0/watermark`, String(BLOCK_SCANS));
}

/** The classic capture: blocking read() on the buffer fd until 200,000 scans have come. */
async function readCapture(sys: Sys): Promise<Capture> {
  const calls: Record<string, number> = {};
  // Two fileio blocks of length / 2 scans each.
  await configure(sys, calls, 2 * BLOCK_SCANS);
  const b = await openBuffer(sys, ADC);
  if (typeof b === 'number') throw new Error(`openBuffer: ${b}`);
  calls.enable = await setBufferEnabled(sys, ADC, true);
  const data = new Uint8Array(SCANS * SCAN_BYTES);
  const buf = sys.mem.alloc(BLOCK_BYTES);
  let got = 0;
  let worstBlockNs = 0;
  let reads = 0;
  let returned = -1;
  while (got < data.length) {
    // A read that finds a completed block returns at once: its round trip plus the program's work since the
    // previous read is what a block waits for before it is re-queued.
    const issued = sys.now();
    const n = await sys.read(b.fd, buf, Math.min(BLOCK_BYTES, data.length - got));
    if (n <= 0) throw new Error(`read after ${got} bytes: ${n}`);
    if (returned >= 0) worstBlockNs = Math.max(worstBlockNs, issued - returned);
    returned = sys.now();
    data.set(sys.mem.read(buf, n), got);
    got += n;
    reads++;
  }
  calls.disable = await setBufferEnabled(sys, ADC, false);
  calls.closeBuffer = await sys.close(b.fd);
  calls.closeChardev = await sys.close(b.chardev);
  calls.readsAtLeast = reads >= SCANS / BLOCK_SCANS ? 1 : 0;
  return { data, calls, worstBlockNs };
}

/** libiio's DMABUF loop: heap blocks, ATTACH, ENQUEUE all, enable, then poll / SYNC START / consume / SYNC END / ENQUEUE. */
async function dmabufCapture(sys: Sys): Promise<Capture> {
  const calls: Record<string, number> = {};
  // libiio opens the char device non-blocking, takes buffer 0's fd and closes the char device.
  const b = await openBuffer(sys, ADC, 0, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (typeof b === 'number') throw new Error(`openBuffer: ${b}`);
  calls.closeChardev = await sys.close(b.chardev);
  calls.disableFirst = await setBufferEnabled(sys, ADC, false);
  // Create each block: its own heap fd, ALLOC, mmap, SYNC START (a new block is the CPU's), ATTACH, close.
  const blocks: { fd: number; addr: number }[] = [];
  for (let i = 0; i < DMABUFS; i++) {
    const heap = await sys.open('/dev/dma_heap/system', O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    const alloc = await callIoctl(sys, heap, HEAP_ALLOC, { len: BLOCK_BYTES, fd_flags: O_CLOEXEC | O_RDWR });
    if (alloc.ret < 0) throw new Error(`DMA_HEAP_IOCTL_ALLOC: ${alloc.ret}`);
    const fd = alloc.out!.fd;
    const addr = await sys.mmap(0, BLOCK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr < 0) throw new Error(`mmap: ${addr}`);
    calls[`syncStart${i}`] = await syncDmabuf(sys, fd, 'start', DMA_BUF_SYNC_RW);
    calls[`attach${i}`] = await attachDmabuf(sys, b.fd, fd);
    calls[`closeHeap${i}`] = await sys.close(heap);
    blocks.push({ fd, addr });
  }
  await configure(sys, calls, BLOCK_SCANS);
  // Capture: every block is enqueued before the enable (SYNC END, then ENQUEUE of the whole block).
  const enqueue = async (fd: number): Promise<number> => {
    const end = await syncDmabuf(sys, fd, 'end', DMA_BUF_SYNC_RW);
    return end < 0 ? end : enqueueDmabuf(sys, 'mainline', b.fd, fd, BLOCK_BYTES);
  };
  for (let i = 0; i < DMABUFS; i++) calls[`enqueue${i}`] = await enqueue(blocks[i]!.fd);
  calls.enable = await setBufferEnabled(sys, ADC, true);
  const data = new Uint8Array(SCANS * SCAN_BYTES);
  let worstBlockNs = 0;
  let failed = 0;
  for (let n = 0; n < SCANS / BLOCK_SCANS; n++) {
    const block = blocks[n % DMABUFS]!;
    // Dequeue: poll POLLOUT (the fence signalled), then SYNC START. libiio also polls its cancel eventfd;
    // Sys has no eventfd, and nothing cancels here.
    const fds: PollEntry[] = [{ fd: block.fd, events: POLLOUT }];
    const polled = await sys.pollfds(fds, POLL_TIMEOUT_MS);
    const t = sys.now();
    if (polled !== 1 || fds[0]!.revents !== POLLOUT) failed++;
    if ((await syncDmabuf(sys, block.fd, 'start', DMA_BUF_SYNC_RW)) !== 0) failed++;
    data.set(sys.mem.read(block.addr, BLOCK_BYTES), n * BLOCK_BYTES);
    // Re-enqueue only what the 200,000 scans still need.
    if (n + DMABUFS < SCANS / BLOCK_SCANS && (await enqueue(block.fd)) !== 0) failed++;
    worstBlockNs = Math.max(worstBlockNs, sys.now() - t);
  }
  calls.loopFailures = failed;
  calls.disable = await setBufferEnabled(sys, ADC, false);
  // Free: DETACH, munmap, close.
  for (let i = 0; i < DMABUFS; i++) {
    const { fd, addr } = blocks[i]!;
    calls[`detach${i}`] = await detachDmabuf(sys, b.fd, fd);
    calls[`munmap${i}`] = await sys.munmap(addr, BLOCK_BYTES);
    calls[`close${i}`] = await sys.close(fd);
  }
  calls.closeBuffer = await sys.close(b.fd);
  return { data, calls, worstBlockNs };
}

/** The first scan/channel whose sample is not the ramp, and how many are not. */
function checkRamp(data: Uint8Array): { bad: number; first: string | null } {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let bad = 0;
  let first: string | null = null;
  for (let n = 0; n < SCANS; n++)
    for (let c = 0; c < CHANNELS; c++) {
      const got = dv.getInt16(n * SCAN_BYTES + 2 * c, true);
      if (got !== ramp(n, c)) {
        bad++;
        first ??= `scan ${n} channel ${c}: ${got}, the ramp says ${ramp(n, c)}`;
      }
    }
  return { bad, first };
}

async function onSimulator(body: (sys: Sys) => Promise<Capture>): Promise<Capture> {
  const sim = createSimulator({ seed: 1 });
  sim.spawn('capture', body, { stdio: false });
  const p = (await sim.run({ until: 60 * S })).processes[0]!;
  if (p.status === 'crashed') throw p.error ?? new Error(p.reason);
  expect(p.status, p.reason).toBe('exited');
  return p.value as Capture;
}

describe.skipIf(!ready)('200,000-scan captures on the 7.3 kernel and on the simulator', () => {
  let vm: Vm;

  beforeAll(async () => {
    const initramfs = process.env.IIO_SIM_INITRAMFS;
    vm = await bootVm(initramfs ? { initramfs } : {});
    vm.socket.on('error', () => {});
  }, 180_000);

  afterAll(async () => {
    await vm?.close();
  });

  async function onKernel(body: (sys: Sys) => Promise<Capture>): Promise<Capture & { run: RealRunResult }> {
    const k = await createRealKernel({ channel: vm.socket, seed: 1 });
    k.spawn('capture', body, { stdio: false });
    let run: RealRunResult;
    try {
      run = await k.run({ untilNs: 120 * S });
    } finally {
      await k.close();
    }
    const p = run.processes[0]!;
    if (p.status === 'crashed') throw p.error ?? new Error(p.reason);
    expect(p.status, p.reason).toBe('exited');
    return { ...(p.value as Capture), run };
  }

  async function compare(what: string, body: (sys: Sys) => Promise<Capture>): Promise<void> {
    const sim = await onSimulator(body);
    const real = await onKernel(body);
    for (const [side, c] of [
      ['simulator', sim],
      ['kernel', real],
    ] as const) {
      expect(c.data.length, side).toBe(SCANS * SCAN_BYTES);
      expect(checkRamp(c.data), side).toEqual({ bad: 0, first: null });
    }
    expect(Buffer.from(real.data).equals(Buffer.from(sim.data))).toBe(true);
    expect(real.calls).toEqual(sim.calls);
    const { run } = real;
    console.info(
      `${what}: ${SCANS} scans at ${RATE_HZ / 1e3} kHz in ${(run.time / S).toFixed(1)} s on the kernel, ` +
        `${run.stats.syscalls} syscalls, ` +
        `slowest turnaround ${(real.worstBlockNs / 1e6).toFixed(1)} ms against a margin of ` +
        `${what === 'read()' ? 1000 : 3000} ms`,
    );
  }

  it('read(): 200,000 scans, every sample the ramp, the same bytes as the simulator', async () => {
    await compare('read()', readCapture);
  }, 300_000);

  it('DMABUF (libiio loop): 200,000 scans, every sample the ramp, the same bytes as the simulator', async () => {
    await compare('DMABUF', dmabufCapture);
  }, 300_000);
});
