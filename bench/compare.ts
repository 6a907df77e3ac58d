/**
 * Before/after of the bench paths in one process, for a machine too loaded for two separate `npm run bench`
 * runs to compare: the paths of another checkout (BASE, e.g. a worktree of main) and of this one are both
 * warmed up twice, then timed alternately (base, this, base, this...) BENCH_RUNS times each (default 9,
 * medians shown), with the memcpy and native references measured between the paths; then the fuzz
 * campaign of `npm run bench` the same way (3 runs each).
 * Run: npx tsx bench/compare.ts BASE   (BASE needs its node_modules, a symlink to this one's will do)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { AbiProfile } from '../src/index.ts';
import { runCampaign } from '../src/testing/campaign.ts';
import { type Native, type NativeServer, native } from './native-ref.ts';
import * as here from './paths.ts';

const MiB = 1 << 20;
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 9));
type Paths = typeof here;

const PATHS: readonly [
  string,
  AbiProfile,
  'read512' | 'read16k' | 'dmabufLoop',
  (p: Paths) => ReturnType<Paths['readCapture']>,
][] = [
  ['read() 16 KiB, 64 MiB', 'mainline', 'read16k', (p) => p.readCapture(64 * MiB, 16384)],
  ['read() 512 B, 8 MiB', 'mainline', 'read512', (p) => p.readCapture(8 * MiB, 512)],
  [
    'DMABUF mainline 4 x 64 KiB, 64 MiB',
    'mainline',
    'dmabufLoop',
    (p) => p.dmabufCapture(64 * MiB, 65536, 'mainline'),
  ],
  ['DMABUF v2 4 x 64 KiB, 64 MiB', 'v2', 'dmabufLoop', (p) => p.dmabufCapture(64 * MiB, 65536, 'v2')],
  [
    'DMABUF mainline 4 x 4 KiB, 8 MiB',
    'mainline',
    'dmabufLoop',
    (p) => p.dmabufCapture(8 * MiB, 4096, 'mainline'),
  ],
];

function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** Bytes per second of a 64 MiB `Uint8Array.set` (median of 7). */
function memcpy(): number {
  const n = 64 * MiB;
  const src = new Uint8Array(n).fill(1);
  const dst = new Uint8Array(n).fill(2);
  const rates: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    dst.set(src);
    if (i > 0) rates.push((n / (performance.now() - t0)) * 1000);
  }
  return median(rates);
}

const base = process.argv[2];
if (!base) throw new Error('usage: npx tsx bench/compare.ts BASE_CHECKOUT');
const url = (f: string) => pathToFileURL(join(resolve(base), f)).href;
const before = (await import(url('bench/paths.ts'))) as Paths;
const beforeFuzz = ((await import(url('src/testing/campaign.ts'))) as { runCampaign: typeof runCampaign })
  .runCampaign;
const dir = mkdtempSync(join(tmpdir(), 'iio-compare-'));
let server: NativeServer | undefined;
try {
  const ref = native(dir);
  if (!ref.ns || !ref.server) throw new Error(ref.note);
  server = ref.server;
  const three = async (): Promise<Native> => ({
    read512: await server!.time('read512'),
    read16k: await server!.time('read16k'),
    dmabufLoop: await server!.time('dmabufLoop'),
  });
  for (let w = 0; w < 2; w++)
    for (const [, abi, , body] of PATHS) {
      await before.timeCapture(body(before), abi);
      await here.timeCapture(body(here), abi);
    }
  const copies = [memcpy()];
  const natives: Native[] = [ref.ns];
  const timed: { name: string; ref: string; a: here.PathRun; b: here.PathRun }[] = [];
  for (const [name, abi, ref, body] of PATHS) {
    const a: here.PathRun[] = [];
    const b: here.PathRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(await before.timeCapture(body(before), abi));
      b.push(await here.timeCapture(body(here), abi));
    }
    const mid = (rs: here.PathRun[]) => rs.find((r) => r.wallMs === median(rs.map((x) => x.wallMs)))!;
    timed.push({ name, ref, a: mid(a), b: mid(b) });
    copies.push(memcpy());
    natives.push(await three());
  }
  const copy = median(copies);
  const nat = (k: string) => median(natives.map((n) => n[k as keyof Native]));
  console.log(
    `references (medians over the run): memcpy ${(copy / 1e9).toFixed(2)} GB/s; native ns per syscall: read 512 B ${nat('read512').toFixed(0)}, read 16 KiB ${nat('read16k').toFixed(0)}, DMABUF loop ${nat('dmabufLoop').toFixed(0)}\n`,
  );
  console.log(
    '| Path | wall ms, base | this | device B/s vs memcpy, base | this | per syscall vs native, base | this |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const cells = (r: here.PathRun, ref: string) => {
    const rate = (r.deviceBytes / r.wallMs) * 1000;
    return [
      r.wallMs.toFixed(1),
      `1/${(copy / rate).toFixed(1)}`,
      ((r.wallMs * 1e6) / r.syscalls / nat(ref)).toFixed(2),
    ];
  };
  for (const { name, ref, a, b } of timed) {
    const [ma, ca, na] = cells(a, ref);
    const [mb, cb, nb] = cells(b, ref);
    console.log(`| ${name} | ${ma} | ${mb} | ${ca} | ${cb} | ${na} | ${nb} |`);
  }
  await beforeFuzz({ runs: 5, seed: 1 });
  await runCampaign({ runs: 5, seed: 1 });
  const fa: number[] = [];
  const fb: number[] = [];
  let calls = 0;
  for (let i = 0; i < 3; i++) {
    let t0 = performance.now();
    calls = (await beforeFuzz({ runs: 20, seed: 1 })).syscalls;
    fa.push(performance.now() - t0);
    t0 = performance.now();
    await runCampaign({ runs: 20, seed: 1 });
    fb.push(performance.now() - t0);
  }
  const rate = (ms: number) => `${(((calls / ms) * 1000) / 1000).toFixed(1)} k`;
  console.log(
    `\nfuzz (iio-sim fuzz --runs 20 --seed 1, ${calls} syscalls): ${rate(median(fa))} -> ${rate(median(fb))} syscalls per wall second`,
  );
} finally {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
}
