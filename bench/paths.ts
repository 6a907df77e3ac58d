/**
 * The capture programs the benchmarks time: read() and DMABUF loops on the default board's sim-adc (all four
 * channels), each checking every captured byte against the ramp the board generates, so a fast path that
 * produced wrong data would fail the bench instead of winning it.
 */
import { performance } from 'node:perf_hooks';
import {
  type AbiProfile,
  createSimulator,
  DMA_BUF_SYNC_READ,
  O_RDWR,
  POLLOUT,
  type Sys,
} from '../src/index.ts';
import {
  allocHeapDmabuf,
  allocIioDmabufV2,
  attachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
  type UserDmabuf,
} from '../src/user/dmabuf.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../src/user/iio.ts';

const CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const BYTES_PER_SCAN = 8;
/** The default signals are 12-bit ramps (offset 1024 x channel): the stream repeats every 4096 scans. */
const PERIOD_SCANS = 4096;

/**
 * The stream sim-adc produces, one period of it: scan n, channel c holds ((n + 1024 c) mod 4096) - 2048 as a
 * little-endian s16 (`le:s12/16>>0`, sign-extended). Computed here independently of the simulator.
 */
function expectedPeriod(): Buffer {
  const out = Buffer.alloc(PERIOD_SCANS * BYTES_PER_SCAN);
  for (let n = 0; n < PERIOD_SCANS; n++)
    for (let c = 0; c < 4; c++) out.writeInt16LE(((n + 1024 * c) % 4096) - 2048, n * BYTES_PER_SCAN + 2 * c);
  return out;
}

const PERIOD = expectedPeriod();

/**
 * Checks a capture block by block: the first block may start at any scan of the ramp (the converter runs
 * before the first transfer is queued), every later byte must follow on without a scan lost or repeated.
 */
export class CaptureCheck {
  /** Position in {@link PERIOD} of the next byte, once the first block has fixed it. */
  #at: number | null = null;

  /** Checks the next `bytes` of the capture; throws where they differ from the ramp. */
  next(bytes: Uint8Array): void {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    this.#at ??= ((b.readInt16LE(0) + 2048) % PERIOD_SCANS) * BYTES_PER_SCAN;
    let done = 0;
    while (done < b.length) {
      const at: number = this.#at;
      const n = Math.min(PERIOD.length - at, b.length - done);
      if (b.compare(PERIOD, at, at + n, done, done + n) !== 0)
        throw new Error(`capture differs from the ramp at period byte ${at} (${done} bytes into a block)`);
      done += n;
      this.#at = (at + n) % PERIOD.length;
    }
  }
}

/** Captures `total` bytes with read() calls of `chunk` bytes, checking each. */
export function readCapture(total: number, chunk: number) {
  return async (sys: Sys): Promise<number> => {
    await enableChannels(sys, 0, CHANNELS);
    const b = await openBuffer(sys, 0);
    if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
    await setBufferEnabled(sys, 0, true);
    const buf = sys.mem.alloc(chunk);
    const check = new CaptureCheck();
    let got = 0;
    while (got < total) {
      const n = await sys.read(b.fd, buf, chunk);
      if (n <= 0) throw new Error(`read ${n}`);
      check.next(sys.mem.view(buf, n));
      got += n;
    }
    return got;
  };
}

/** Captures `total` bytes with 4 DMABUFs of `block` bytes in libiio's loop (no data copies), checking each. */
export function dmabufCapture(total: number, block: number, abi: AbiProfile) {
  return async (sys: Sys): Promise<number> => {
    await enableChannels(sys, 0, CHANNELS);
    const b = await openBuffer(sys, 0);
    if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
    const heap = abi === 'mainline' ? await sys.open('/dev/dma_heap/system', O_RDWR) : -1;
    const bufs: UserDmabuf[] = [];
    for (let i = 0; i < 4; i++) {
      const d =
        abi === 'v2' ? await allocIioDmabufV2(sys, b.fd, block) : await allocHeapDmabuf(sys, heap, block);
      if (typeof d === 'number') throw new Error(`alloc ${d}`);
      if (abi === 'mainline') await attachDmabuf(sys, b.fd, d.fd);
      bufs.push(d);
    }
    await setBufferEnabled(sys, 0, true);
    for (const d of bufs) await enqueueDmabuf(sys, abi, b.fd, d.fd, block);
    const pfd = [{ fd: -1, events: POLLOUT, revents: 0 }];
    const check = new CaptureCheck();
    let got = 0;
    for (let i = 0; got < total; i = (i + 1) % 4) {
      const d = bufs[i]!;
      pfd[0]!.fd = d.fd;
      if ((await sys.pollfds(pfd, -1)) !== 1) throw new Error('poll');
      await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ);
      check.next(sys.mem.view(d.addr, block));
      got += block;
      await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ);
      await enqueueDmabuf(sys, abi, b.fd, d.fd, block);
    }
    return got;
  };
}

/** One timed simulation. */
export interface PathRun {
  readonly wallMs: number;
  readonly syscalls: number;
  readonly deviceBytes: number;
  readonly dataCopiedBytes: number;
  readonly simulatedNs: number;
}

/** Runs `body` as the only process of a default simulator and times `run()`. */
export async function timeCapture(body: (sys: Sys) => Promise<number>, abi: AbiProfile): Promise<PathRun> {
  const sim = createSimulator({ abi });
  sim.spawn('bench', body, { stdio: false });
  const t0 = performance.now();
  const r = await sim.run();
  const wallMs = performance.now() - t0;
  const p = r.processes[0]!;
  if (p.status !== 'exited') throw new Error(`${p.status}: ${p.reason}`);
  return {
    wallMs,
    syscalls: r.stats.syscalls,
    deviceBytes: r.stats.devices['sim-adc']!.bytesDone,
    dataCopiedBytes: r.stats.dataCopiedBytes,
    simulatedNs: r.time,
  };
}
