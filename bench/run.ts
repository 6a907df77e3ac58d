/**
 * Benchmarks of the simulator itself (wall-clock speed, not simulated speed), as ratios to references timed
 * in the same run on the same machine, so that figures from a loaded or a different machine compare:
 *  - a native C loop of the real syscalls each path stands for (bench/native.c, built with the system's `cc`;
 *    skipped with a note when there is none): wall time per simulated syscall over the native one;
 *  - a Node memcpy (`Uint8Array.set`) of 64 MiB between two arrays larger than the caches: device bytes per
 *    wall second over memcpy bytes per second;
 *    both references are timed again in every round of a path (memcpy before its captures, the native loop
 *    after them, by a `native serve` child started before anything else: a fork per round slowed the captures
 *    after it), and each ratio is the median of the rounds' own ratios, so a change in the machine's load
 *    between a path and its references does not skew it;
 *  - memory: peak RSS, and the heap left after a full GC, of a capture 16 times as long (in simulated time) over
 *    the 1x one, each the median of three child processes, through the API helpers and through `iio-sim run` of
 *    a scenario;
 *  - fuzzing: syscalls per wall second of the campaign `iio-sim fuzz --runs 100 --seed 1` runs (every part),
 *    in a child process once V8 has compiled it (the same campaign run for 3 s first), from the package as it
 *    ships (dist/, built first by this script, under a plain `node`, which is what `iio-sim` runs), and for
 *    comparison from the sources through tsx (what `iio-sim` runs in a clone whose dist/ is stale); and of a
 *    whole session from a cold start, `iio-sim fuzz --runs 1000 --seed 1`, compiling included;
 *  - start-up: `bin/iio-sim.js --version` over a bare `node -e 0` (fastest of 5 each; the launcher answers it
 *    before loading anything).
 * Every path is warmed up first, then timed in BENCH_RUNS rounds (default 5; the median is shown): a round is
 * the memcpy reference, one untimed capture, the capture repeated until it has run at least ROUND_MS, and
 * the native reference; every captured byte is checked against the ramp sim-adc generates. BENCH_MEMORY=0 skips the memory rows.
 * Run: npm run bench
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AbiProfile, Sys } from '../src/index.ts';
import { type Native, type NativeRef, native } from './native-ref.ts';
import { dmabufCapture, type PathRun, readCapture, timeCapture } from './paths.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const MiB = 1 << 20;
/** Least wall time of one round of a path: the short rows (about 20 ms a capture) repeat their capture. */
const ROUND_MS = 60;

/** The memcpy reference's arrays, made (and faulted in) once: a new pair per round would be 128 MiB of garbage. */
let copyArrays: { src: Uint8Array; dst: Uint8Array } | null = null;

/** Bytes per second of `Uint8Array.set` of 64 MiB between two pre-faulted arrays (median of 5). */
function memcpy(): number {
  const n = 64 * MiB;
  copyArrays ??= { src: new Uint8Array(n).fill(1), dst: new Uint8Array(n).fill(2) };
  const { src, dst } = copyArrays;
  const rates: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    dst.set(src);
    const ms = performance.now() - t0;
    if (i > 0) rates.push((n / ms) * 1000);
  }
  return median(rates);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface PathSpec {
  readonly name: string;
  readonly abi: AbiProfile;
  readonly body: (scale: number) => (sys: Sys) => Promise<number>;
  /** Which native time a syscall of this path compares with. */
  readonly native: keyof Native;
}

const PATHS: readonly PathSpec[] = [
  {
    name: 'read() 16 KiB, 64 MiB',
    abi: 'mainline',
    body: (s) => readCapture(64 * MiB * s, 16384),
    native: 'read16k',
  },
  {
    name: 'read() 512 B, 8 MiB',
    abi: 'mainline',
    body: (s) => readCapture(8 * MiB * s, 512),
    native: 'read512',
  },
  {
    name: 'DMABUF mainline 4 x 64 KiB, 64 MiB',
    abi: 'mainline',
    body: (s) => dmabufCapture(64 * MiB * s, 65536, 'mainline'),
    native: 'dmabufLoop',
  },
  {
    name: 'DMABUF v2 4 x 64 KiB, 64 MiB',
    abi: 'v2',
    body: (s) => dmabufCapture(64 * MiB * s, 65536, 'v2'),
    native: 'dmabufLoop',
  },
  {
    name: 'DMABUF mainline 4 x 4 KiB, 8 MiB',
    abi: 'mainline',
    body: (s) => dmabufCapture(8 * MiB * s, 4096, 'mainline'),
    native: 'dmabufLoop',
  },
];

/** Peak RSS and the heap still in use after a full GC at the end, KiB, of one child run. */
interface ChildMemory {
  maxRssKiB: number;
  heapAfterGcKiB: number;
}

/** Child runs per memory measurement: one run's peak RSS moved by up to 10% from run to run here. */
const MEMORY_RUNS = 3;

/**
 * `tsx bench/memory.ts kind scale` in MEMORY_RUNS child processes: the run with the median peak RSS (its heap
 * after GC with it). A single run's peak depends on when V8 happened to collect; the 1x and 16x rows once
 * read x1.00 and x1.16 from the same code.
 */
function childRss(kind: string, scale: number, file: string): ChildMemory {
  const runs: ChildMemory[] = [];
  for (let i = 0; i < MEMORY_RUNS; i++) {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(HERE, 'memory.ts'), kind, String(scale), file],
      {
        encoding: 'utf8',
        cwd: join(HERE, '..'),
        maxBuffer: 1 << 24,
      },
    );
    runs.push(JSON.parse(out.trim().split('\n').pop()!) as ChildMemory);
  }
  runs.sort((a, b) => a.maxRssKiB - b.maxRssKiB);
  return runs[Math.floor(runs.length / 2)]!;
}

function fmt(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  return `${(n / 1e3).toFixed(1)} k`;
}

function ratio(x: number): string {
  return x >= 1 ? x.toFixed(2) : `1/${(1 / x).toFixed(1)}`;
}

/** Runs per part of the fuzz row's campaign (about 0.5 s a campaign here once compiled). */
const FUZZ_RUNS = 100;
/** Timed campaigns of the fuzz row. */
const FUZZ_ROUNDS = 3;
/**
 * Wall time of campaigns run first so that what the fuzz row times is compiled: after a single warm-up
 * campaign the next ones still ran 20-40% slower than the fifth and later ones.
 */
const FUZZ_WARM_MS = 3000;
/** Runs per part of the whole-session row: one campaign from a cold start, compiling included (about 6 s). */
const SESSION_RUNS = 1000;

/** What bench/fuzz-rate.mjs prints: where the code came from, warm-up campaigns, a campaign's syscalls, the median wall ms. */
interface FuzzRate {
  readonly from: 'dist' | 'src';
  readonly runs: number;
  readonly warmups: number;
  readonly syscalls: number;
  readonly wallMs: number;
}

/**
 * `iio-sim fuzz --runs RUNS --seed 1` in a child process (bench/fuzz-rate.mjs) loading the code `from` dist/ or
 * the sources: campaigns for `warmMs` first, then the median of `rounds` (syscalls made and wall ms).
 */
function fuzzRate(from: 'dist' | 'src', runs: number, rounds: number, warmMs: number): FuzzRate {
  const out = execFileSync(
    process.execPath,
    [join(HERE, 'fuzz-rate.mjs'), String(runs), String(rounds), '--from', from, '--warm-ms', String(warmMs)],
    { encoding: 'utf8', cwd: join(HERE, '..') },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as FuzzRate;
}

/**
 * `npm run build`, so that the fuzz row times the package as it ships (and `iio-sim` runs from it); before
 * anything is timed, as its compiler would load the machine. Its progress line goes to stderr.
 */
function buildPackage(): void {
  execFileSync(process.execPath, ['--import', 'tsx', join(HERE, '..', 'tools', 'build.ts')], {
    cwd: join(HERE, '..'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Fastest wall ms of five runs of `node ARGS` (the first result checked against `want`). */
function fastestNode(args: readonly string[], want: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const out = execFileSync(process.execPath, args, { encoding: 'utf8' });
    best = Math.min(best, performance.now() - t0);
    if (out !== want) throw new Error(`node ${args.join(' ')} printed ${JSON.stringify(out)}`);
  }
  return best;
}

/** The captures of one round, added up. */
interface RoundRun {
  readonly wallMs: number;
  readonly captures: number;
  readonly syscalls: number;
  readonly deviceBytes: number;
  readonly dataCopiedBytes: number;
}

/** Captures with `p` until at least {@link ROUND_MS} of wall time has passed (at least once). */
async function timeRound(p: PathSpec): Promise<RoundRun> {
  let wallMs = 0;
  let captures = 0;
  let syscalls = 0;
  let deviceBytes = 0;
  let dataCopiedBytes = 0;
  while (captures === 0 || wallMs < ROUND_MS) {
    const r: PathRun = await timeCapture(p.body(1), p.abi);
    wallMs += r.wallMs;
    captures++;
    syscalls += r.syscalls;
    deviceBytes += r.deviceBytes;
    dataCopiedBytes += r.dataCopiedBytes;
  }
  return { wallMs, captures, syscalls, deviceBytes, dataCopiedBytes };
}

/** A round's figures, and its ratios to the references timed in the same round. */
interface Round {
  /** Wall ms of one capture. */
  readonly wallMs: number;
  readonly syscallsPerS: number;
  readonly nsPerCall: number;
  readonly vsNative: number | null;
  readonly deviceRate: number;
  readonly vsCopy: number;
  readonly copiedPerByte: number;
}

function round(r: RoundRun, nativeNs: number | null, copyRate: number): Round {
  const nsPerCall = (r.wallMs * 1e6) / r.syscalls;
  const deviceRate = (r.deviceBytes / r.wallMs) * 1000;
  return {
    wallMs: r.wallMs / r.captures,
    syscallsPerS: (r.syscalls / r.wallMs) * 1000,
    nsPerCall,
    vsNative: nativeNs === null ? null : nsPerCall / nativeNs,
    deviceRate,
    vsCopy: deviceRate / copyRate,
    copiedPerByte: r.dataCopiedBytes / r.deviceBytes,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'iio-bench-'));
let nat: NativeRef | undefined;
try {
  buildPackage();
  nat = native(dir);
  const copyRates: number[] = [];
  const nativeNs: Record<keyof Native, number[]> = { read512: [], read16k: [], dmabufLoop: [] };

  // Warm-up: every path twice at full size, so no row pays for JIT compilation (V8 keeps optimizing the
  // syscall path over the first few hundred milliseconds; a quarter-size pass left rows 2-3x slow).
  for (let i = 0; i < 2; i++) for (const p of PATHS) await timeCapture(p.body(1), p.abi);

  const rows: string[] = [];
  for (const p of PATHS) {
    const rounds: Round[] = [];
    for (let i = 0; i < RUNS; i++) {
      // memcpy first: the untimed capture after it takes the cache misses the 64 MiB copy leaves behind.
      const copyRate = memcpy();
      copyRates.push(copyRate);
      await timeCapture(p.body(1), p.abi);
      const run = await timeRound(p);
      const nativeRef = nat.server ? await nat.server.time(p.native) : null;
      if (nativeRef !== null) nativeNs[p.native].push(nativeRef);
      rounds.push(round(run, nativeRef, copyRate));
    }
    const m = (f: (r: Round) => number) => median(rounds.map(f));
    const vsNative = nat.server ? ratio(m((r) => r.vsNative!)) : 'n/a';
    const copied = rounds[0]!.copiedPerByte.toFixed(3);
    rows.push(
      `| ${p.name} | ${m((r) => r.wallMs).toFixed(0)} | ${fmt(m((r) => r.syscallsPerS))} | ${m((r) => r.nsPerCall).toFixed(0)} | ${vsNative} | ${fmt(m((r) => r.deviceRate))} | ${ratio(m((r) => r.vsCopy))} | ${copied} |`,
    );
  }

  const fz = fuzzRate('dist', FUZZ_RUNS, FUZZ_ROUNDS, FUZZ_WARM_MS);
  const fzSrc = fuzzRate('src', FUZZ_RUNS, FUZZ_ROUNDS, FUZZ_WARM_MS);
  const session = fuzzRate('dist', SESSION_RUNS, 1, 0);
  if (fzSrc.syscalls !== fz.syscalls)
    throw new Error(
      `the fuzz campaign made ${fz.syscalls} syscalls from dist/ and ${fzSrc.syscalls} from the sources`,
    );
  const bareNode = fastestNode(['-e', '0'], '');
  const { version } = JSON.parse(readFileSync(join(HERE, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const versionMs = fastestNode([join(HERE, '..', 'bin', 'iio-sim.js'), '--version'], `iio-sim ${version}\n`);

  const file = join(dir, 'scenario.yaml');
  const mem = (kind: string) => {
    const one = childRss(kind, 1, file);
    const sixteen = childRss(kind, 16, file);
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const ratio = (a: number, b: number) => `x${(b / a).toFixed(2)}`;
    return (
      `peak RSS ${mib(one.maxRssKiB)} -> ${mib(sixteen.maxRssKiB)}: ${ratio(one.maxRssKiB, sixteen.maxRssKiB)}; ` +
      `heap after GC ${mib(one.heapAfterGcKiB)} -> ${mib(sixteen.heapAfterGcKiB)}: ` +
      ratio(one.heapAfterGcKiB, sixteen.heapAfterGcKiB)
    );
  };
  const withMemory = process.env.BENCH_MEMORY !== '0';
  const memApi = withMemory ? mem('api') : 'skipped (BENCH_MEMORY=0)';
  const memCli = withMemory ? mem('cli') : 'skipped (BENCH_MEMORY=0)';

  const spread = (xs: readonly number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
  console.log(
    `references: memcpy ${fmt(median(copyRates))}B/s (${fmt(Math.min(...copyRates))} to ${fmt(Math.max(...copyRates))} over the rounds); ${nat.note}`,
  );
  if (nat.ns)
    console.log(
      `native ns per syscall (first timing; range over the rounds): read 512 B ${nat.ns.read512.toFixed(0)} (${spread(nativeNs.read512)}), read 16 KiB ${nat.ns.read16k.toFixed(0)} (${spread(nativeNs.read16k)}), DMABUF loop ${nat.ns.dmabufLoop.toFixed(0)} (${spread(nativeNs.dmabufLoop)})`,
    );
  console.log(
    `median of ${RUNS} rounds per path (each at least ${ROUND_MS} ms of captures, after a warm-up of every path); each ratio is the median of the rounds' own ratios to the references timed in the round\n`,
  );
  console.log(
    '| Path | wall ms | syscalls/s | wall ns per syscall | per syscall vs native | device B/s | device B/s vs memcpy | data bytes copied per captured byte |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  const perS = (f: FuzzRate) => fmt((f.syscalls / f.wallMs) * 1000);
  console.log(
    `\nfuzz: \`iio-sim fuzz --runs ${FUZZ_RUNS} --seed 1\` once compiled (every part, in a child process: campaigns for ${FUZZ_WARM_MS / 1000} s first, ${fz.warmups} here, then the median of ${FUZZ_ROUNDS}): ${fz.syscalls} syscalls in ${fz.wallMs.toFixed(0)} ms, ${perS(fz)} syscalls per wall second from the package (dist/, plain node); the sources through tsx: ${fzSrc.wallMs.toFixed(0)} ms, ${perS(fzSrc)}`,
  );
  console.log(
    `fuzz, a whole session: \`iio-sim fuzz --runs ${SESSION_RUNS} --seed 1\` from a cold start, compiling included (the package, in a child process): ${session.syscalls} syscalls in ${(session.wallMs / 1000).toFixed(1)} s, ${perS(session)} syscalls per wall second`,
  );
  console.log(
    `\nstart-up: \`iio-sim --version\` ${versionMs.toFixed(0)} ms, bare \`node -e 0\` ${bareNode.toFixed(0)} ms: ${(versionMs / bareNode).toFixed(2)}x`,
  );
  console.log(
    `\nmemory, 16x the simulated duration over 1x (each the child process with the median peak RSS of ${MEMORY_RUNS}; the heap is measured after a full GC):`,
  );
  console.log(`  API helpers (DMABUF 4 x 4 KiB, 16 MiB at 1x): ${memApi}`);
  console.log(`  iio-sim run of a scenario (DMABUF 4 x 4 KiB, 1024 blocks at 1x): ${memCli}`);
} finally {
  nat?.server?.close();
  rmSync(dir, { recursive: true, force: true });
}
