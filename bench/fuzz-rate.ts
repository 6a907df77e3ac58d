/**
 * The fuzz row of `npm run bench`, in a process of its own as a fuzzing session is: the campaign
 * `iio-sim fuzz --runs RUNS --seed 1` (every part) once to warm up, then ROUNDS more timed; prints one JSON
 * line with the syscalls a campaign made and the median campaign's wall ms. A process of its own, so that
 * what ran before in the bench process does not count (a campaign in second place in one process once ran up
 * to 25% slower).
 * Run: npx tsx bench/fuzz-rate.ts [RUNS] [ROUNDS]   (defaults 100 and 3)
 */
import { performance } from 'node:perf_hooks';
import { runCampaign } from '../src/testing/campaign.ts';

/** What the child prints. */
export interface FuzzRate {
  readonly runs: number;
  readonly syscalls: number;
  readonly wallMs: number;
}

const runs = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 3);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(rounds) || rounds < 1) {
  console.error('usage: fuzz-rate.ts [RUNS >= 1] [ROUNDS >= 1]');
  process.exit(2);
}
await runCampaign({ runs, seed: 1 });
const timed: { syscalls: number; wallMs: number }[] = [];
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  const r = await runCampaign({ runs, seed: 1 });
  const wallMs = performance.now() - t0;
  if (!r.ok) {
    console.error(`fuzz campaign failed: ${r.parts.find((p) => !p.ok)?.failure}`);
    process.exit(1);
  }
  timed.push({ syscalls: r.syscalls, wallMs });
}
timed.sort((a, b) => a.wallMs - b.wallMs);
const mid = timed[Math.floor(timed.length / 2)]!;
const out: FuzzRate = { runs, syscalls: mid.syscalls, wallMs: mid.wallMs };
console.log(JSON.stringify(out));
