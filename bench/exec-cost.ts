/**
 * Wall-clock cost of a bridged syscall (`iio-sim exec`, bench/exec-cost.c) against the same call made by a
 * TypeScript program on the simulator's API, in the same run: lseek and a 2-byte pread on a sysfs attribute.
 * Run: npx tsx bench/exec-cost.ts [N]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createSimulator } from '../src/index.ts';
import { O_RDONLY, SEEK_SET } from '../src/uapi/index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const N = Number(process.argv[2] ?? 20000);

/** ns per call of lseek and of pread, on the TypeScript API. */
async function viaApi(): Promise<{ lseek: number; pread: number }> {
  const sim = createSimulator();
  const out = { lseek: 0, pread: 0 };
  sim.spawn('api', async (sys) => {
    const fd = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
    const buf = sys.mem.alloc(2);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await sys.lseek(fd, 0, SEEK_SET);
    const t1 = performance.now();
    for (let i = 0; i < N; i++) await sys.pread(fd, buf, 2, 0);
    const t2 = performance.now();
    out.lseek = ((t1 - t0) * 1e6) / N;
    out.pread = ((t2 - t1) * 1e6) / N;
  });
  await sim.run();
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'exec-cost-'));
try {
  const prog = join(dir, 'exec-cost');
  execFileSync(process.env.CC || 'cc', ['-O2', '-o', prog, join(HERE, 'exec-cost.c')]);
  await viaApi();
  const api = await viaApi();
  const bridged = execFileSync(
    process.execPath,
    [join(HERE, '..', 'bin', 'iio-sim.js'), 'exec', '--', prog, String(N)],
    {
      encoding: 'utf8',
    },
  );
  const m = /lseek (\d+) pread (\d+)/.exec(bridged);
  if (!m) throw new Error(`unexpected output: ${bridged}`);
  console.log(`${N} calls each, wall ns per call`);
  console.log(`            TypeScript API   bridged (iio-sim exec)   ratio`);
  console.log(
    `lseek       ${api.lseek.toFixed(0).padStart(14)}   ${m[1]!.padStart(22)}   ${(Number(m[1]) / api.lseek).toFixed(1)}x`,
  );
  console.log(
    `pread 2 B   ${api.pread.toFixed(0).padStart(14)}   ${m[2]!.padStart(22)}   ${(Number(m[2]) / api.pread).toFixed(1)}x`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
