/**
 * The fuzz rows of `npm run bench`, in a process of its own as a fuzzing session is: the campaign
 * `iio-sim fuzz --runs RUNS --seed 1` (every part) run again and again for at least WARM_MS of wall time so that
 * V8 has compiled what it runs (default 3000; a single 100-run warm-up campaign left the next ones 20-40%
 * slower than later ones), then ROUNDS more timed; prints one JSON line with where the code came from, the
 * warm-up campaigns, the syscalls a campaign made and the median campaign's wall ms. `--warm-ms 0` times
 * campaigns from a cold start: `RUNS 1 --warm-ms 0` is one whole session, compiling included. A process of its
 * own, so that what ran before in the bench process does not count.
 *
 * `--from dist` (the default) loads the package as it ships and as `iio-sim` runs it once built: dist/ under a
 * plain `node`, which is why this child is JavaScript (through tsx's hooks the same dist/ code ran 5-10%
 * slower). `--from src` loads the TypeScript sources through tsx, as `iio-sim` runs them in a clone whose
 * dist/ is stale. A missing dist/ is refused with a line saying how to build it (exit 2).
 * Run: node bench/fuzz-rate.mjs [RUNS] [ROUNDS] [--from dist|src] [--warm-ms MS]   (defaults 100, 3, dist, 3000)
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const USAGE = 'usage: fuzz-rate.mjs [RUNS >= 1] [ROUNDS >= 1] [--from dist|src] [--warm-ms MS >= 0]';

const args = process.argv.slice(2);
/** Takes `--name VALUE` out of the arguments: VALUE, `fallback` when absent, '' when VALUE is missing. */
function option(name, fallback) {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = args[at + 1] ?? '';
  args.splice(at, 2);
  return value;
}
const from = option('--from', 'dist');
const warmMs = Number(option('--warm-ms', '3000') || Number.NaN);
const runs = Number(args[0] ?? 100);
const rounds = Number(args[1] ?? 3);
if (
  args.length > 2 ||
  (from !== 'dist' && from !== 'src') ||
  !Number.isSafeInteger(warmMs) ||
  warmMs < 0 ||
  !Number.isSafeInteger(runs) ||
  runs < 1 ||
  !Number.isSafeInteger(rounds) ||
  rounds < 1
) {
  console.error(USAGE);
  process.exit(2);
}

const distCampaign = new URL('../dist/testing/campaign.js', import.meta.url);
if (from === 'dist' && !existsSync(fileURLToPath(distCampaign))) {
  console.error('fuzz-rate.mjs: dist/ is not built: run `npm run build` first, or give --from src');
  process.exit(2);
}
if (from === 'src') {
  const { register } = await import('tsx/esm/api');
  register();
}
/** @type {{ runCampaign: (o: { runs: number; seed: number }) => Promise<{ ok: boolean; syscalls: number; parts: { ok: boolean; failure?: string }[] }> }} */
const { runCampaign } = await import(
  from === 'dist' ? distCampaign.href : new URL('../src/testing/campaign.ts', import.meta.url).href
);

let warmups = 0;
for (const t0 = performance.now(); performance.now() - t0 < warmMs; warmups++)
  await runCampaign({ runs, seed: 1 });
/** @type {{ syscalls: number; wallMs: number }[]} */
const timed = [];
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
const mid = timed[Math.floor(timed.length / 2)];
console.log(JSON.stringify({ from, runs, warmups, syscalls: mid.syscalls, wallMs: mid.wallMs }));
