/**
 * Benchmarks of the simulator itself (wall-clock speed, not simulated speed). Prints simulated syscalls
 * per wall second and simulated device bytes per wall second for each data path.
 * Run: npm run bench
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

interface BenchResult {
  readonly name: string;
  readonly wallMs: number;
  readonly syscalls: number;
  readonly deviceBytes: number;
  readonly copiedBytes: number;
  readonly simulatedMs: number;
}

async function bench(
  name: string,
  body: (sys: Sys) => Promise<number>,
  abi: AbiProfile = 'mainline',
): Promise<BenchResult> {
  const sim = createSimulator({ abi });
  sim.spawn('bench', body, { stdio: false });
  const t0 = performance.now();
  const r = await sim.run();
  const wallMs = performance.now() - t0;
  const p = r.processes[0]!;
  if (p.status !== 'exited') throw new Error(`${name}: ${p.reason}`);
  return {
    name,
    wallMs,
    syscalls: r.stats.syscalls,
    deviceBytes: r.stats.devices['sim-adc']!.bytesDone,
    copiedBytes: r.stats.dataCopiedBytes,
    simulatedMs: r.time / 1e6,
  };
}

/** Captures `total` bytes from sim-adc (all four channels) with read() calls of `chunk` bytes. */
function readCapture(total: number, chunk: number) {
  return async (sys: Sys) => {
    await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3']);
    const b = await openBuffer(sys, 0);
    if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
    await setBufferEnabled(sys, 0, true);
    const buf = sys.mem.alloc(chunk);
    let got = 0;
    while (got < total) {
      const n = await sys.read(b.fd, buf, chunk);
      if (n <= 0) throw new Error(`read ${n}`);
      got += n;
    }
    return got;
  };
}

/** Captures `total` bytes with 4 DMABUFs of `block` bytes in the libiio loop (no data copies). */
function dmabufCapture(total: number, block: number, abi: AbiProfile) {
  return async (sys: Sys) => {
    await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3']);
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
    let got = 0;
    for (let i = 0; got < total; i = (i + 1) % 4) {
      const d = bufs[i]!;
      await sys.pollfds([{ fd: d.fd, events: POLLOUT }], -1);
      await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ);
      got += block;
      await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ);
      await enqueueDmabuf(sys, abi, b.fd, d.fd, block);
    }
    return got;
  };
}

function fmt(n: number): string {
  return n >= 1e9
    ? `${(n / 1e9).toFixed(2)} G`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)} M`
      : `${(n / 1e3).toFixed(1)} k`;
}

const results: BenchResult[] = [];
// Warm-up so JIT compilation does not count against the first path.
await bench('warm-up', readCapture(1 << 20, 16384));
results.push(await bench('read() 16 KiB, 64 MiB', readCapture(64 << 20, 16384)));
results.push(await bench('read() 512 B, 8 MiB', readCapture(8 << 20, 512)));
results.push(await bench('DMABUF mainline 64 KiB, 64 MiB', dmabufCapture(64 << 20, 65536, 'mainline')));
results.push(await bench('DMABUF v2 64 KiB, 64 MiB', dmabufCapture(64 << 20, 65536, 'v2'), 'v2'));
results.push(await bench('DMABUF mainline 4 KiB, 8 MiB', dmabufCapture(8 << 20, 4096, 'mainline')));

console.log(
  'path                             wall ms   syscalls/s   device B/s   data copied B per captured B',
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(31)} ${r.wallMs.toFixed(0).padStart(8)}   ${fmt((r.syscalls / r.wallMs) * 1000).padStart(9)}   ${fmt((r.deviceBytes / r.wallMs) * 1000).padStart(9)}   ${(r.copiedBytes / r.deviceBytes).toFixed(3).padStart(6)}`,
  );
}
