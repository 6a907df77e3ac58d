/**
 * What `iio-sim run` adds around a scenario: finding a bundled lesson by number or name, the command-line
 * overrides of the scenario's system (`--until`, `--seed`, `--abi`, `--platform`), a progress line for long
 * runs, the warning for a run cut by the default time limit, and the sink of processes' inherited stdio.
 */
import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { DEFAULT_UNTIL_NS } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import { parseDuration } from '../scenario/values.ts';
import type { RunResult, Simulator } from '../sim/simulator.ts';
import type { HostStdio } from '../sim/stdio.ts';
import { type CliIo, type CliOptions, systemOptions } from './board.ts';

/** `path` relative to the working directory when it lies below it (`scenarios/01-...yaml`), else as is. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/**
 * The file `arg` names: an existing path as it is; else a bundled lesson of `dir` by number (`1`, `01`) or
 * by the start or a word of its name (`01-first-capture-read`, `cyclic`). A name matching no lesson or
 * several is an error line.
 */
export function findScenario(arg: string, dir: string): { file: string } | { error: string } {
  if (existsSync(arg) || arg.includes('/')) return { file: arg };
  const lessons = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const stem = (f: string) => f.replace(/\.ya?ml$/, '');
  const bundled = lessons.find((f) => f === arg);
  if (bundled) return { file: shortPath(join(dir, bundled)) };
  if (/\.(ya?ml|json)$/.test(arg)) return { file: arg };
  const matches = /^\d+$/.test(arg)
    ? lessons.filter((f) => Number(/^(\d+)-/.exec(f)?.[1] ?? Number.NaN) === Number(arg))
    : lessons.filter((f) => stem(f) === arg || stem(f).startsWith(arg) || stem(f).split('-').includes(arg));
  const exact = matches.find((f) => stem(f) === arg) ?? (matches.length === 1 ? matches[0] : undefined);
  if (exact) return { file: shortPath(join(dir, exact)) };
  if (matches.length === 0)
    return {
      error: `no scenario file or bundled lesson '${arg}' (lessons: ${lessons.map((f) => /^\d+/.exec(f)?.[0] ?? stem(f)).join(', ')}; see iio-sim list)`,
    };
  return { error: `'${arg}' is ambiguous: it names the lessons ${matches.map(stem).join(', ')}` };
}

/** The scenario with the command line's `--until`, `--seed`, `--abi` and `--platform` applied, or an error line. */
export function applyRunOverrides(s: Scenario, opts: CliOptions): Scenario | string {
  const sys = systemOptions(opts);
  if (typeof sys === 'string') return sys;
  const out: Scenario = { ...s };
  if (sys.abi !== undefined) out.abi = sys.abi;
  if (sys.seed !== undefined) out.seed = sys.seed;
  if (sys.platform !== undefined) out.platform = sys.platform;
  if (opts.until !== undefined) {
    const t = String(opts.until);
    const ns = /^\d+$/.test(t) ? Number(t) : parseDuration(t);
    if (ns === null || !Number.isSafeInteger(ns) || ns <= 0)
      return `--until takes a positive duration like 250us, 10ms or 2s (or ns), not '${t}'`;
    out.until = ns;
  }
  return out;
}

/**
 * The warning for a run that reached the default time limit (the scenario gives no `until:`) with processes
 * still running, or null.
 */
export function defaultUntilWarning(file: string, s: Scenario, result: RunResult): string | null {
  if (s.until !== undefined) return null;
  const running = result.processes.filter((p) => p.status === 'running');
  if (running.length === 0) return null;
  return `iio-sim run: warning: ${file} stopped at the default limit of ${DEFAULT_UNTIL_NS / 1e9} s of simulated time with ${running.length} process${running.length === 1 ? '' : 'es'} still running (${running.map((p) => `${p.name}[${p.pid}]`).join(', ')}): give the scenario an until: or pass --until`;
}

/** Wall time before the progress line appears, ms. */
export const PROGRESS_AFTER_MS = 2000;

/**
 * Shows a progress line on stderr while `sim` runs, when stderr is a terminal and the run has taken
 * more than `afterMs` of wall time (checked every 4096 syscalls or blocks); returns the function that
 * clears it. Wall-clock time is the CLI's own: the simulation never sees it.
 */
export function showProgress(
  sim: Simulator,
  file: string,
  io: CliIo,
  afterMs = PROGRESS_AFTER_MS,
): () => void {
  if (!io.errIsTty || !io.progress) return () => {};
  const progress = io.progress;
  const t0 = performance.now();
  let last = 0;
  let shown = false;
  let n = 0;
  const tick = () => {
    if ((++n & 4095) !== 0) return;
    const now = performance.now();
    if (now - t0 < afterMs || now - last < 250) return;
    last = now;
    shown = true;
    const s = sim.stats();
    progress(
      `${file}: ${(sim.now / 1e6).toFixed(3)} ms simulated, ${s.syscalls.toLocaleString('en-US')} syscalls, ${((now - t0) / 1000).toFixed(1)} s`,
    );
  };
  sim.events.on('syscall:exit', tick);
  sim.events.on('iio:block', tick);
  return () => {
    sim.events.off('syscall:exit', tick);
    sim.events.off('iio:block', tick);
    if (shown) progress(null);
  };
}

/**
 * The host side of processes' inherited stdio for the CLI: complete lines go to `io.out` / `io.err` as they
 * come; `flush()` passes on what is left without a final newline.
 */
export function cliStdio(io: CliIo): HostStdio & { flush(): void } {
  const pending = { stdout: '', stderr: '' };
  const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const emit = (stream: 'stdout' | 'stderr', line: string) =>
    stream === 'stdout' ? io.out(line) : io.err(line);
  return {
    write(stream, bytes) {
      const text = pending[stream] + decoder[stream].decode(bytes, { stream: true });
      const lines = text.split('\n');
      pending[stream] = lines.pop()!;
      for (const l of lines) emit(stream, l);
    },
    flush() {
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = pending[stream] + decoder[stream].decode();
        pending[stream] = '';
        if (rest !== '') emit(stream, rest);
      }
    },
  };
}
