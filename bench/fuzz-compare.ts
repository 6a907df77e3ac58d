/**
 * Before/after of the fuzz row alone: the campaign `iio-sim fuzz --runs 20 --seed 1` of another checkout
 * (BASE) and of this one, both warmed up, then timed alternately (BENCH_RUNS each, default 7, medians of wall
 * and process CPU time: on a shared machine the CPU time is the steadier one).
 * Also checks that both give the same report (parts, runs, syscall counts).
 * Run: npx tsx bench/fuzz-compare.ts BASE   (BASE needs its node_modules, a symlink to this one's will do)
 */

import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { runCampaign } from '../src/testing/campaign.ts';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 7));
const base = process.argv[2];
if (!base) throw new Error('usage: npx tsx bench/fuzz-compare.ts BASE_CHECKOUT');
const before = (
  (await import(pathToFileURL(join(resolve(base), 'src/testing/campaign.ts')).href)) as {
    runCampaign: typeof runCampaign;
  }
).runCampaign;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (let w = 0; w < 2; w++) {
  await before({ runs: 5, seed: 1 });
  await runCampaign({ runs: 5, seed: 1 });
}
const fa: number[] = [];
const fb: number[] = [];
const ca: number[] = [];
const cb: number[] = [];
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
let calls = 0;
for (let i = 0; i < RUNS; i++) {
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const a = await before({ runs: 20, seed: 1 });
  fa.push(performance.now() - t0);
  ca.push(cpuMs(process.cpuUsage(c0)));
  t0 = performance.now();
  c0 = process.cpuUsage();
  const b = await runCampaign({ runs: 20, seed: 1 });
  fb.push(performance.now() - t0);
  cb.push(cpuMs(process.cpuUsage(c0)));
  if (!isDeepStrictEqual(a, b))
    throw new Error(`reports differ:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  calls = b.syscalls;
}
const rate = (ms: number) => `${(((calls / ms) * 1000) / 1000).toFixed(1)} k`;
console.log(
  `fuzz (iio-sim fuzz --runs 20 --seed 1, ${calls} syscalls): ${median(fa).toFixed(0)} ms, ${rate(median(fa))} -> ${median(fb).toFixed(0)} ms, ${rate(median(fb))} syscalls per wall second; CPU ms ${median(ca).toFixed(0)} -> ${median(cb).toFixed(0)} (${RUNS} runs each, medians)`,
);
