/**
 * A throughput benchmark in simulated time, like libiio's `iio_rwdev -b N -B`: one process captures from an
 * ADC through read() (the fileio path) or through DMABUFs from the system heap (libiio's DMABUF loop), and
 * the MiB/s it receives is reported about every 100 ms of simulated time. With `touch` the program also
 * reads every byte it received (what piping into `dd` adds at the least: the CPU touches the data).
 *
 * The figures come from the platform's costs (src/kernel/platform.ts): on `zcu102` read() is bound by
 * copy_to_user from the non-cacheable fileio blocks, DMABUF by the converter's own rate.
 */
import type { AdcConfig } from '../sim/drivers-converter.ts';
import { DMA_BUF_SYNC_END, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_START } from '../uapi/dma-buf.ts';
import { O_RDWR } from '../uapi/fcntl.ts';
import { ioctlDef } from '../uapi/ioctls.ts';
import { POLLOUT } from '../uapi/poll.ts';
import { allocHeapDmabuf, attachDmabuf, enqueueDmabuf, type UserDmabuf } from '../user/dmabuf.ts';
import { enableChannels, iioSysfsDir, openBuffer, setBufferEnabled, writeAttr } from '../user/iio.ts';
import { callIoctl } from '../user/ioctl.ts';
import type { DeviceConfig } from './devices.ts';
import type { Sys } from './process.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from './simulator.ts';

const SYNC = ioctlDef('DMA_BUF_IOCTL_SYNC');

/** Bytes in a MiB. */
const MIB = 1024 * 1024;

/** AD9361 receive sample rate of the DMABUF series' measurement (FMComms3 at 61.44 MSPS). */
export const AD9361_RATE_HZ = 61_440_000;

/**
 * The AD9361 receive path as the `cf-ad9361-lpc` ADC core shows it: 2 x I/Q channels of 12 bits stored in
 * 16 (`le:s12/16>>0`), 8-byte scans, at 61.44 MSPS (468.75 MiB/s). In a scenario:
 * `{ kind: adc, name: ad9361-rx, sampleRateHz: 61440000, channels: [{ id: voltage0_i, type: "le:s12/16>>0" },
 * ...voltage0_q, voltage1_i, voltage1_q] }`.
 */
export function ad9361Adc(name = 'ad9361-rx', sampleRateHz = AD9361_RATE_HZ): AdcConfig {
  return {
    kind: 'adc',
    name,
    sampleRateHz,
    maxSampleRateHz: AD9361_RATE_HZ,
    channels: ['voltage0_i', 'voltage0_q', 'voltage1_i', 'voltage1_q'].map((id) => ({
      id,
      type: 'le:s12/16>>0',
    })),
  };
}

/** One report, as `iio_rwdev -B` prints one. */
export interface ThroughputReport {
  /** Simulated time of the report, ns since the buffer was enabled. */
  readonly timeNs: number;
  /** MiB/s received since the previous report. */
  readonly mibPerSecond: number;
  /** MiB/s received since the buffer was enabled. */
  readonly averageMibPerSecond: number;
}

/** What {@link measureThroughput} measures. */
export interface ThroughputOptions {
  /** Platform profile or overrides (default `zcu102`). */
  platform?: SimulatorOptions['platform'];
  /** The board (default: one {@link ad9361Adc}). The benchmark captures from the first ADC. */
  devices?: DeviceConfig[];
  /** `read`: read() of the fileio buffer; `dmabuf`: system-heap DMABUFs attached to the buffer. */
  path: 'read' | 'dmabuf';
  /** Samples (scans) per block, `iio_rwdev -b` (at least 1). */
  blockSamples: number;
  /** Blocks: DMABUFs in flight, or the fileio buffer's length in blocks (default 4). */
  blocks?: number;
  /** The program reads every byte it receives, at the platform's `cpuReadPsPerByte` (default false). */
  touch?: boolean;
  /** Simulated time to measure for, ns (default 1 s). */
  durationNs?: number;
  /** Report period in simulated ns (default 100 ms). */
  reportEveryNs?: number;
  /** Called with each report, in simulated-time order. */
  onReport?: (report: ThroughputReport) => void;
  /** Simulator seed (default 1). */
  seed?: number;
}

/** The outcome of {@link measureThroughput}. */
export interface ThroughputResult {
  /** MiB/s received over the whole run (simulated time). */
  readonly mibPerSecond: number;
  /** Bytes received. */
  readonly bytes: number;
  /** Simulated ns from the buffer enable to the last block received. */
  readonly elapsedNs: number;
  /** The converter's data rate, MiB/s: what a program that keeps up receives. */
  readonly deviceMibPerSecond: number;
  /** Scans the converter produced while no block was queued. */
  readonly lostScans: number;
  /** The periodic reports. */
  readonly reports: readonly ThroughputReport[];
}

type Meter = {
  start: number;
  bytes: number;
  lastAt: number;
  lastBytes: number;
  end: number;
  /** Next report time, on a grid from the start. */
  nextAt: number;
};

function checkOptions(o: ThroughputOptions): void {
  const intOpt = (name: string, v: number | undefined, min: number) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isSafeInteger(v))
      throw Object.assign(new TypeError(`${name} must be an integer, got ${String(v)}`), {
        code: 'ERR_INVALID_ARG_TYPE',
      });
    if (v < min)
      throw Object.assign(new RangeError(`${name} must be >= ${min}, got ${v}`), {
        code: 'ERR_OUT_OF_RANGE',
      });
  };
  if (o.path !== 'read' && o.path !== 'dmabuf')
    throw Object.assign(new TypeError(`path must be 'read' or 'dmabuf', got ${String(o.path)}`), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  intOpt('blockSamples', o.blockSamples, 1);
  intOpt('blocks', o.blocks, 1);
  intOpt('durationNs', o.durationNs, 1);
  intOpt('reportEveryNs', o.reportEveryNs, 1);
}

/**
 * Runs the benchmark on a fresh simulator and resolves to the MiB/s received in simulated time
 * (deterministic: same options, same figures). Throws synchronously on malformed options
 * (ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE); rejects with the errno when a syscall of the benchmark fails.
 */
export function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  checkOptions(options);
  return run(options);
}

async function run(options: ThroughputOptions): Promise<ThroughputResult> {
  const devices = options.devices ?? [ad9361Adc()];
  const adcIndex = devices.findIndex((d) => d.kind === 'adc');
  if (adcIndex < 0) throw new Error('measureThroughput: the board has no ADC');
  const adc = devices[adcIndex] as AdcConfig;
  const sim = createSimulator({
    abi: 'mainline',
    platform: options.platform ?? 'zcu102',
    devices,
    seed: options.seed ?? 1,
  });
  const scanBytes = adc.channels.reduce((n, c) => n + scanStorageBytes(c.type), 0);
  const cfg: RunConfig = {
    device: adcIndex,
    channels: adc.channels.map((c) => `in_${c.id}`),
    blockBytes: options.blockSamples * scanBytes,
    blockSamples: options.blockSamples,
    blocks: options.blocks ?? 4,
    touch: options.touch ?? false,
    durationNs: options.durationNs ?? 1_000_000_000,
    reportEveryNs: options.reportEveryNs ?? 100_000_000,
    onReport: options.onReport,
  };
  const reports: ThroughputReport[] = [];
  const meter: Meter = { start: 0, bytes: 0, lastAt: 0, lastBytes: 0, end: 0, nextAt: 0 };
  const body = options.path === 'read' ? readLoop : dmabufLoop;
  let failure: Error | null = null;
  sim.spawn('iio_rwdev', async (sys) => {
    try {
      await body(sys, sim, cfg, meter, reports);
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
    }
    return 0;
  });
  await sim.run();
  if (failure) throw failure;
  const elapsedNs = meter.end - meter.start;
  const stats = sim.stats().devices[adc.name];
  return {
    mibPerSecond: elapsedNs > 0 ? meter.bytes / MIB / (elapsedNs / 1e9) : 0,
    bytes: meter.bytes,
    elapsedNs,
    deviceMibPerSecond: (adc.sampleRateHz * scanBytes) / MIB,
    lostScans: stats?.scansLost ?? 0,
    reports,
  };
}

interface RunConfig {
  device: number;
  channels: string[];
  blockBytes: number;
  blockSamples: number;
  blocks: number;
  touch: boolean;
  durationNs: number;
  reportEveryNs: number;
  onReport: ((r: ThroughputReport) => void) | undefined;
}

/** Bytes a scan type (`le:s12/16>>0` or parsed) stores. */
function scanStorageBytes(type: AdcConfig['channels'][number]['type']): number {
  if (typeof type !== 'string') return type.storagebits / 8;
  const m = /\/(\d+)/.exec(type);
  return m ? Number(m[1]) / 8 : 0;
}

/** Fails the benchmark with the syscall's errno. */
function must(what: string, ret: number): number {
  if (ret < 0) throw new Error(`${what} failed: ${ret}`);
  return ret;
}

/** Counts `n` bytes received at `now`, reporting when a period ended; true once the measurement is over. */
function count(meter: Meter, cfg: RunConfig, reports: ThroughputReport[], n: number, now: number): boolean {
  meter.bytes += n;
  meter.end = now;
  if (now >= meter.nextAt) {
    const t = now - meter.start;
    const r: ThroughputReport = {
      timeNs: t,
      mibPerSecond: (meter.bytes - meter.lastBytes) / MIB / ((now - meter.lastAt) / 1e9),
      averageMibPerSecond: meter.bytes / MIB / (t / 1e9),
    };
    reports.push(r);
    cfg.onReport?.(r);
    meter.lastAt = now;
    meter.lastBytes = meter.bytes;
    while (meter.nextAt <= now) meter.nextAt += cfg.reportEveryNs;
  }
  return now - meter.start >= cfg.durationNs;
}

/** The measurement starts at the buffer enable. */
function startMeter(meter: Meter, cfg: RunConfig, now: number): void {
  meter.start = meter.lastAt = meter.end = now;
  meter.nextAt = now + cfg.reportEveryNs;
}

/** The CPU reads `n` received bytes (cacheable memory, streaming). */
async function touch(sys: Sys, sim: Simulator, n: number): Promise<void> {
  const ps = n * sim.platform.cpuReadPsPerByte * sim.kernel.sched.contention();
  await sys.compute(Math.ceil(ps / 1000));
}

/** Buffer length and watermark in samples, as libiio sets them before the enable. */
async function setLength(sys: Sys, cfg: RunConfig, length: number): Promise<void> {
  const dir = `${iioSysfsDir(cfg.device)}/buffer0`;
  must('buffer length', await writeAttr(sys, `${dir}/length`, String(length)));
  // Read-only on a dmaengine buffer (-EACCES); libiio goes on without it.
  await writeAttr(sys, `${dir}/watermark`, String(cfg.blockSamples));
}

/** Enables the configuration's channels and opens the device's buffer fd, as both loops start. */
async function openEnabledChannels(sys: Sys, cfg: RunConfig): Promise<{ fd: number; chardev: number }> {
  must('enable channels', await enableChannels(sys, cfg.device, cfg.channels));
  const b = await openBuffer(sys, cfg.device);
  if (typeof b === 'number') must('open buffer', b);
  return b as { fd: number; chardev: number };
}

/** libiio's legacy path: a fileio buffer of `blocks` blocks' length, read() one block at a time. */
async function readLoop(
  sys: Sys,
  sim: Simulator,
  cfg: RunConfig,
  meter: Meter,
  reports: ThroughputReport[],
): Promise<void> {
  const { fd, chardev } = await openEnabledChannels(sys, cfg);
  await setLength(sys, cfg, cfg.blockSamples * cfg.blocks);
  const buf = sys.mem.alloc(cfg.blockBytes);
  must('enable', await setBufferEnabled(sys, cfg.device, true));
  startMeter(meter, cfg, sys.now());
  for (let done = false; !done; ) {
    let got = 0;
    while (got < cfg.blockBytes) got += must('read', await sys.read(fd, buf + got, cfg.blockBytes - got));
    if (cfg.touch) await touch(sys, sim, got);
    done = count(meter, cfg, reports, got, sys.now());
  }
  must('disable', await setBufferEnabled(sys, cfg.device, false));
  await sys.close(fd);
  await sys.close(chardev);
}

/** libiio's DMABUF loop (local-dmabuf.c): heap blocks attached, enqueued, then poll, SYNC, consume, SYNC, enqueue. */
async function dmabufLoop(
  sys: Sys,
  sim: Simulator,
  cfg: RunConfig,
  meter: Meter,
  reports: ThroughputReport[],
): Promise<void> {
  const { fd, chardev } = await openEnabledChannels(sys, cfg);
  const heap = must('open heap', await sys.open('/dev/dma_heap/system', O_RDWR));
  const bufs: UserDmabuf[] = [];
  const sync = async (d: UserDmabuf, end: boolean) =>
    must(
      'DMA_BUF_IOCTL_SYNC',
      (
        await callIoctl(sys, d.fd, SYNC, {
          flags: (end ? DMA_BUF_SYNC_END : DMA_BUF_SYNC_START) | DMA_BUF_SYNC_RW,
        })
      ).ret,
    );
  for (let i = 0; i < cfg.blocks; i++) {
    const d = await allocHeapDmabuf(sys, heap, cfg.blockBytes);
    if (typeof d === 'number') must('heap alloc', d);
    const dmabuf = d as UserDmabuf;
    await sync(dmabuf, false);
    must('attach', await attachDmabuf(sys, fd, dmabuf.fd));
    bufs.push(dmabuf);
  }
  await sys.close(heap);
  await setLength(sys, cfg, cfg.blockSamples);
  const enqueue = async (d: UserDmabuf) => {
    await sync(d, true);
    must('enqueue', await enqueueDmabuf(sys, sim.abi, fd, d.fd, cfg.blockBytes));
  };
  for (const d of bufs) await enqueue(d);
  must('enable', await setBufferEnabled(sys, cfg.device, true));
  startMeter(meter, cfg, sys.now());
  for (let i = 0, done = false; !done; i = (i + 1) % bufs.length) {
    const d = bufs[i]!;
    must('poll', await sys.pollfds([{ fd: d.fd, events: POLLOUT }], -1));
    await sync(d, false);
    if (cfg.touch) await touch(sys, sim, cfg.blockBytes);
    done = count(meter, cfg, reports, cfg.blockBytes, sys.now());
    if (!done) await enqueue(d);
  }
  must('disable', await setBufferEnabled(sys, cfg.device, false));
  for (const d of bufs) await sys.close(d.fd);
  await sys.close(fd);
  await sys.close(chardev);
}
