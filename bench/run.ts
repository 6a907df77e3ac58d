/**
 * Benchmarks of the simulator itself (wall-clock speed, not simulated speed). Prints simulated syscalls
 * per wall second and simulated device bytes per wall second for each data path.
 * Run: npm run bench
 */
import { performance } from 'node:perf_hooks';
import { createSimulator, type Sys } from '../src/index.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../src/user/iio.ts';

interface BenchResult {
  readonly name: string;
  readonly wallMs: number;
  readonly syscalls: number;
  readonly deviceBytes: number;
  readonly copiedBytes: number;
  readonly simulatedMs: number;
}

async function bench(name: string, body: (sys: Sys) => Promise<number>): Promise<BenchResult> {
  const sim = createSimulator();
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
    copiedBytes: r.stats.copiedBytes,
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

console.log('path                          wall ms   syscalls/s   device B/s   copied B per captured B');
for (const r of results) {
  console.log(
    `${r.name.padEnd(28)} ${r.wallMs.toFixed(0).padStart(8)}   ${fmt((r.syscalls / r.wallMs) * 1000).padStart(9)}   ${fmt((r.deviceBytes / r.wallMs) * 1000).padStart(9)}   ${(r.copiedBytes / r.deviceBytes).toFixed(3).padStart(6)}`,
  );
}
