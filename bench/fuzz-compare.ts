/**
 * Before/after of fuzzing alone: the campaign `iio-sim fuzz --runs 20 --seed 1` (the fuzz row's campaign before
 * the eighth round; the row now times `--runs 100`, bench/fuzz-rate.mjs) of another checkout
 * (BASE) and of this one, each in a fresh child process, the two alternated BENCH_RUNS times (default 4). A
 * child warms up with three campaigns, then times six and gives its best and median wall and CPU time; the
 * figures are the medians of those over the children of each side. Separate processes, because in one
 * process the same code measured up to 25% slower in second place (the first one's garbage is collected during
 * the second). Also checks that both give the same report (parts, runs, syscall counts).
 * Run: npx tsx bench/fuzz-compare.ts BASE   (BASE needs its node_modules, a symlink to this one's will do)
 */
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CampaignReport } from '../src/testing/campaign.ts';

/** What one child measured. */
interface ChildResult {
  readonly wallMin: number;
  readonly wallMed: number;
  readonly cpuMin: number;
  readonly cpuMed: number;
  readonly report: CampaignReport;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** In a child: times the campaign of the checkout at `root` and prints a {@link ChildResult}. */
async function child(root: string): Promise<void> {
  const { runCampaign } = (await import(
    pathToFileURL(join(root, 'src/testing/campaign.ts')).href
  )) as typeof import('../src/testing/campaign.ts');
  for (let i = 0; i < 3; i++) await runCampaign({ runs: 20, seed: 1 });
  const wall: number[] = [];
  const cpu: number[] = [];
  let report: CampaignReport | undefined;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    report = await runCampaign({ runs: 20, seed: 1 });
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  const out: ChildResult = {
    wallMin: Math.min(...wall),
    wallMed: median(wall),
    cpuMin: Math.min(...cpu),
    cpuMed: median(cpu),
    report: report!,
  };
  process.stdout.write(JSON.stringify(out));
}

/** Runs a child on `root` with this process's loader flags (tsx). */
function measure(root: string): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, [...process.execArgv, self, '--child', root], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out) as ChildResult;
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else {
  const base = process.argv[2];
  if (!base) throw new Error('usage: npx tsx bench/fuzz-compare.ts BASE_CHECKOUT');
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 4));
  const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const a: ChildResult[] = [];
  const b: ChildResult[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(measure(resolve(base)));
    b.push(measure(here));
    if (JSON.stringify(a.at(-1)!.report) !== JSON.stringify(b.at(-1)!.report))
      throw new Error(
        `reports differ:\n${JSON.stringify(a.at(-1)!.report)}\n${JSON.stringify(b.at(-1)!.report)}`,
      );
  }
  const calls = b[0]!.report.syscalls;
  const show = (rs: ChildResult[]) => {
    const wall = median(rs.map((r) => r.wallMin));
    return `${wall.toFixed(0)} ms wall (${(((calls / wall) * 1000) / 1000).toFixed(1)} k syscalls/s; median ${median(rs.map((r) => r.wallMed)).toFixed(0)} ms), CPU ${median(rs.map((r) => r.cpuMin)).toFixed(0)} ms`;
  };
  console.log(
    `fuzz (iio-sim fuzz --runs 20 --seed 1, ${calls} syscalls), best of 6 per process, median of ${runs} processes each:`,
  );
  console.log(`  before: ${show(a)}`);
  console.log(`  after:  ${show(b)}`);
}
