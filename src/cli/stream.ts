/**
 * The simulated programs behind `iio-sim capture` and `iio-sim play`: an `iio_readdev`-style capture from an
 * input device and an `iio_writedev`-style playback to an output device, through read()/write() on the
 * buffer fd (the kernel's two fileio blocks) or through DMABUFs (mainline: system heap + ATTACH; v2: the IIO
 * buffer's own ALLOC). Every step is a syscall of the simulated process, so `--trace` shows what a real
 * program does. A per-block hook sees each block as it is consumed or queued (throughput measurements).
 */
import type { ScanLayout } from '../hw/scan.ts';
import type { Sys } from '../sim/process.ts';
import type { Simulator } from '../sim/simulator.ts';
import { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE } from '../uapi/dma-buf.ts';
import { errnoName } from '../uapi/errno.ts';
import { O_RDWR } from '../uapi/fcntl.ts';
import { POLLOUT } from '../uapi/poll.ts';
import {
  allocHeapDmabuf,
  allocIioDmabufV2,
  attachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
  type UserDmabuf,
} from '../user/dmabuf.ts';
import { iioSysfsDir, openBuffer, readAttr, setBufferEnabled, writeAttr } from '../user/iio.ts';
import { listSysfsDir } from './board.ts';
import { readScanElements, type ScanElement, scanElementNames, scanLayoutOf } from './scan-elements.ts';

/** What a stream moves and how. */
export interface StreamOptions {
  /** Device name (`sim-adc`) or node (`iio:device0`). */
  readonly device: string;
  /** Scan elements to enable (`voltage0` or `in_voltage0`); empty: all of them. */
  readonly channels: readonly string[];
  /** Scans per block: the read()/write() size, a fileio block, or a DMABUF. */
  readonly blockScans: number;
  /** DMABUFs instead of read()/write(). */
  readonly dmabuf: boolean;
  /** DMABUFs in the ring (DMABUF mode; fileio always has the kernel's two blocks). */
  readonly blocks: number;
}

/** One block as the hook sees it. */
export interface BlockEvent {
  /** 0, 1, 2... in stream order. */
  readonly index: number;
  /** The block's sample bytes (a capture's data, or what a playback queued). */
  readonly bytes: Uint8Array;
  readonly scans: number;
  /** Virtual time, ns. */
  readonly time: number;
}

/** Per-block callback of a stream. */
export type BlockHook = (block: BlockEvent) => void;

/** The stream's configuration as the program found it. */
export interface StreamSetup {
  /** `iio:deviceN`. */
  readonly node: string;
  readonly name: string;
  readonly elements: readonly ScanElement[];
  readonly layout: ScanLayout;
}

/** A failed stream: what failed, one line. */
export interface StreamError {
  readonly error: string;
}

function fail(what: string, ret: number | string): StreamError {
  const why = typeof ret === 'string' ? ret : `${errnoName(-ret) ?? 'errno'} (${ret})`;
  return { error: `${what}: ${why}` };
}

/** Finds the device by name or node, reading each device's `name` through syscalls. */
async function findDevice(
  sys: Sys,
  sim: Simulator,
  device: string,
): Promise<{ node: string; name: string } | StreamError> {
  const nodes = (listSysfsDir(sim, '/sys/bus/iio/devices') ?? []).filter((n) => n.startsWith('iio:device'));
  for (const node of nodes) {
    const name = await readAttr(sys, `${iioSysfsDir(node)}/name`);
    if (typeof name === 'number') continue;
    if (node === device || name.trim() === device) return { node, name: name.trim() };
  }
  return { error: `no IIO device '${device}' (the board has ${nodes.length} devices: see iio-sim info)` };
}

/**
 * Enables the chosen scan elements of buffer0 (and disables the others), then reads their index and type.
 * `direction` is the prefix the device's elements must have (`in` for a capture, `out` for a playback).
 */
export async function setUpStream(
  sys: Sys,
  sim: Simulator,
  opts: StreamOptions,
  direction: 'in' | 'out',
): Promise<StreamSetup | StreamError> {
  const dev = await findDevice(sys, sim, opts.device);
  if ('error' in dev) return dev;
  const dir = iioSysfsDir(dev.node);
  const all = scanElementNames(sim, dir);
  const usable = all.filter((n) => n.startsWith(`${direction}_`));
  if (usable.length === 0)
    return {
      error: `${dev.name} (${dev.node}) has no ${direction === 'in' ? 'input' : 'output'} scan elements: ${direction === 'in' ? 'capture' : 'play'} needs ${direction === 'in' ? 'an input (ADC)' : 'an output (DAC)'} device`,
    };
  const chosen: string[] = [];
  for (const c of opts.channels) {
    const name = usable.find((n) => n === c || n === `${direction}_${c}`);
    if (!name) return { error: `${dev.name} has no channel '${c}' (its channels: ${usable.join(', ')})` };
    if (!chosen.includes(name)) chosen.push(name);
  }
  const enabled = chosen.length > 0 ? chosen : usable;
  for (const n of all) {
    const r = await writeAttr(sys, `${dir}/buffer0/${n}_en`, enabled.includes(n) ? '1' : '0');
    if (r < 0) return fail(`write ${dir}/buffer0/${n}_en`, r);
  }
  const elements = await readScanElements(sys, dir, enabled);
  if (!Array.isArray(elements)) return fail(`read ${elements.path}`, elements.ret);
  return { ...dev, elements, layout: scanLayoutOf(elements) };
}

/** The open buffer of a stream and the DMABUFs it uses. */
interface OpenStream {
  readonly chardev: number;
  readonly fd: number;
  readonly heap: number;
  readonly bufs: UserDmabuf[];
}

/** Sets the fileio length (two blocks of `blockScans`), opens the buffer fd and, for DMABUF, the ring. */
async function openStream(
  sys: Sys,
  sim: Simulator,
  setup: StreamSetup,
  opts: StreamOptions,
  dir: number,
): Promise<OpenStream | StreamError> {
  const sysfs = iioSysfsDir(setup.node);
  const r = await writeAttr(sys, `${sysfs}/buffer0/length`, String(2 * opts.blockScans));
  if (r < 0) return fail(`write ${sysfs}/buffer0/length`, r);
  const b = await openBuffer(sys, Number(setup.node.slice('iio:device'.length)));
  if (typeof b === 'number') return fail(`open /dev/${setup.node} and IIO_BUFFER_GET_FD_IOCTL`, b);
  const bufs: UserDmabuf[] = [];
  let heap = -1;
  if (!opts.dmabuf) return { ...b, heap, bufs };
  const size = opts.blockScans * setup.layout.bytesPerScan;
  // A length the DMA cannot transfer gets no descriptor: the block would be wedged with its fence in error.
  const align = await readAttr(sys, `${sysfs}/buffer0/length_align_bytes`);
  if (typeof align === 'string' && size % Number(align.trim()) !== 0)
    return {
      error: `a DMABUF of ${opts.blockScans} scans is ${size} bytes, not a multiple of the DMA's ${align.trim()}-byte length alignment (buffer0/length_align_bytes): choose another -b`,
    };
  if (sim.abi === 'mainline') {
    heap = await sys.open('/dev/dma_heap/system', O_RDWR);
    if (heap < 0) return fail('open /dev/dma_heap/system', heap);
  }
  for (let i = 0; i < opts.blocks; i++) {
    const d =
      sim.abi === 'v2' ? await allocIioDmabufV2(sys, b.fd, size) : await allocHeapDmabuf(sys, heap, size);
    if (typeof d === 'number') return fail(`allocate a DMABUF of ${size} bytes`, d);
    const s = await syncDmabuf(sys, d.fd, 'start', dir);
    if (s < 0) return fail('DMA_BUF_IOCTL_SYNC start', s);
    if (sim.abi === 'mainline') {
      const a = await attachDmabuf(sys, b.fd, d.fd);
      if (a < 0) return fail('IIO_BUFFER_DMABUF_ATTACH_IOCTL', a);
    }
    bufs.push(d);
  }
  return { ...b, heap, bufs };
}

/** Disables the buffer and closes every fd of the stream. */
async function closeStream(sys: Sys, setup: StreamSetup, s: OpenStream): Promise<void> {
  await setBufferEnabled(sys, setup.node, false);
  for (const d of s.bufs) {
    await sys.munmap(d.addr, d.size);
    await sys.close(d.fd);
  }
  await sys.close(s.fd);
  await sys.close(s.chardev);
  if (s.heap >= 0) await sys.close(s.heap);
}

/** Gives a DMABUF to the device: SYNC_END, then ENQUEUE of `bytes`. */
async function queueDmabuf(
  sys: Sys,
  sim: Simulator,
  s: OpenStream,
  d: UserDmabuf,
  bytes: number,
  dir: number,
): Promise<StreamError | null> {
  const e = await syncDmabuf(sys, d.fd, 'end', dir);
  if (e < 0) return fail('DMA_BUF_IOCTL_SYNC end', e);
  const q = await enqueueDmabuf(sys, sim.abi, s.fd, d.fd, bytes);
  return q < 0 ? fail(`IIO_BUFFER_DMABUF_ENQUEUE_IOCTL of ${bytes} bytes`, q) : null;
}

/** Waits for a DMABUF's fence (poll EPOLLOUT), then SYNC_START for the CPU. */
async function awaitDmabuf(sys: Sys, d: UserDmabuf, dir: number): Promise<StreamError | null> {
  const fds = [{ fd: d.fd, events: POLLOUT }];
  const p = await sys.pollfds(fds, -1);
  if (p < 0) return fail('poll', p);
  const s = await syncDmabuf(sys, d.fd, 'start', dir);
  return s < 0 ? fail('DMA_BUF_IOCTL_SYNC start', s) : null;
}

/** What a capture got. */
export interface CaptureData {
  readonly setup: StreamSetup;
  /** Exactly `scans` scans. */
  readonly data: Uint8Array;
  readonly blocks: number;
}

/**
 * Captures `scans` scans from an input device: enables the channels, then read()s blocks of `blockScans`
 * scans, or cycles `blocks` DMABUFs (all queued before the enable, so that no scan is lost at the start).
 */
export async function captureProgram(
  sys: Sys,
  sim: Simulator,
  opts: StreamOptions & { readonly scans: number },
  onBlock?: BlockHook,
): Promise<CaptureData | StreamError> {
  const setup = await setUpStream(sys, sim, opts, 'in');
  if ('error' in setup) return setup;
  const bpd = setup.layout.bytesPerScan;
  const s = await openStream(sys, sim, setup, opts, DMA_BUF_SYNC_READ);
  if ('error' in s) return s;
  const data = new Uint8Array(opts.scans * bpd);
  const blockBytes = opts.blockScans * bpd;
  let got = 0;
  let index = 0;
  const deliver = (bytes: Uint8Array) => {
    data.set(bytes, got);
    got += bytes.length;
    onBlock?.({ index, bytes, scans: bytes.length / bpd, time: sys.now() });
    index++;
  };
  if (!opts.dmabuf) {
    const e = await setBufferEnabled(sys, setup.node, true);
    if (e < 0) return fail(`enable ${setup.node} buffer0`, e);
    const addr = sys.mem.alloc(blockBytes);
    while (got < data.length) {
      const n = await sys.read(s.fd, addr, Math.min(blockBytes, data.length - got));
      if (n < 0) return fail('read', n);
      deliver(sys.mem.read(addr, n));
    }
  } else {
    const needed = Math.ceil(opts.scans / opts.blockScans);
    let queued = 0;
    for (const d of s.bufs.slice(0, needed)) {
      const err = await queueDmabuf(sys, sim, s, d, blockBytes, DMA_BUF_SYNC_READ);
      if (err) return err;
      queued++;
    }
    const e = await setBufferEnabled(sys, setup.node, true);
    if (e < 0) return fail(`enable ${setup.node} buffer0`, e);
    for (let i = 0; got < data.length; i = (i + 1) % s.bufs.length) {
      const d = s.bufs[i]!;
      const err = await awaitDmabuf(sys, d, DMA_BUF_SYNC_READ);
      if (err) return err;
      deliver(sys.mem.read(d.addr, Math.min(blockBytes, data.length - got)));
      if (queued < needed) {
        const q = await queueDmabuf(sys, sim, s, d, blockBytes, DMA_BUF_SYNC_READ);
        if (q) return q;
        queued++;
      }
    }
  }
  await closeStream(sys, setup, s);
  return { setup, data, blocks: index };
}

/** What a playback queued. */
export interface PlayResult {
  readonly setup: StreamSetup;
  /** Scans queued (the input, plus zero scans filling the last fileio block). */
  readonly scans: number;
  /** Zero scans added to fill the last fileio block. */
  readonly padding: number;
  readonly blocks: number;
}

/**
 * Plays `input` (whole scans in the layout of the chosen output channels) on an output device: write()s
 * blocks of `blockScans` (the last one filled up with zero scans, since a fileio block goes to the DAC only
 * once full), or fills and enqueues DMABUFs (the first ones before the enable); then waits until the DAC
 * has played everything and disables the buffer.
 */
export async function playProgram(
  sys: Sys,
  sim: Simulator,
  opts: StreamOptions,
  input: (setup: StreamSetup) => Uint8Array | StreamError,
  onBlock?: BlockHook,
): Promise<PlayResult | StreamError> {
  const setup = await setUpStream(sys, sim, opts, 'out');
  if ('error' in setup) return setup;
  const bpd = setup.layout.bytesPerScan;
  const given = input(setup);
  if ('error' in given) return given;
  const rate = await readAttr(sys, `${iioSysfsDir(setup.node)}/sampling_frequency`);
  if (typeof rate === 'number') return fail('read sampling_frequency', rate);
  const s = await openStream(sys, sim, setup, opts, DMA_BUF_SYNC_WRITE);
  if ('error' in s) return s;
  const blockBytes = opts.blockScans * bpd;
  const padded = opts.dmabuf ? given.length : Math.ceil(given.length / blockBytes) * blockBytes;
  const data = new Uint8Array(padded);
  data.set(given);
  let index = 0;
  const hook = (bytes: Uint8Array) => {
    onBlock?.({ index, bytes, scans: bytes.length / bpd, time: sys.now() });
    index++;
  };
  if (!opts.dmabuf) {
    const e = await setBufferEnabled(sys, setup.node, true);
    if (e < 0) return fail(`enable ${setup.node} buffer0`, e);
    const addr = sys.mem.alloc(blockBytes);
    for (let at = 0; at < data.length; ) {
      const chunk = data.subarray(at, at + blockBytes);
      sys.mem.write(addr, chunk);
      const n = await sys.write(s.fd, addr, chunk.length);
      if (n < 0) return fail('write', n);
      hook(chunk.subarray(0, n));
      at += n;
    }
    // Both fileio blocks may still be queued: let the DAC play them.
    await sys.nanosleep(Math.ceil((2 * opts.blockScans * 1e9) / Number(rate.trim())) + 1_000_000);
  } else {
    const inFlight = new Set<UserDmabuf>();
    let enabled = false;
    for (let at = 0, i = 0; at < data.length; i = (i + 1) % s.bufs.length) {
      const d = s.bufs[i]!;
      if (inFlight.has(d)) {
        const err = await awaitDmabuf(sys, d, DMA_BUF_SYNC_WRITE);
        if (err) return err;
      }
      const chunk = data.subarray(at, at + blockBytes);
      sys.mem.write(d.addr, chunk);
      const q = await queueDmabuf(sys, sim, s, d, chunk.length, DMA_BUF_SYNC_WRITE);
      if (q) return q;
      inFlight.add(d);
      hook(chunk);
      at += chunk.length;
      // The ring's first blocks are queued before the enable: the DAC starts with data.
      if (!enabled && (index === s.bufs.length || at === data.length)) {
        const e = await setBufferEnabled(sys, setup.node, true);
        if (e < 0) return fail(`enable ${setup.node} buffer0`, e);
        enabled = true;
      }
    }
    for (const d of s.bufs) if (inFlight.has(d)) await awaitDmabuf(sys, d, DMA_BUF_SYNC_WRITE);
  }
  await closeStream(sys, setup, s);
  return { setup, scans: data.length / bpd, padding: (data.length - given.length) / bpd, blocks: index };
}
