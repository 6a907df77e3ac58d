/**
 * `iio-sim`: runs scenario files and prints what a kernel developer reads at once: an strace-style log
 * with simulated timestamps and decoded structs, ftrace-style dma_fence lines, and a summary.
 *
 *   iio-sim run FILE|LESSON... [--quiet] [--no-ftrace] [--no-check] [--durations] [--log json|pretty] [--perfetto OUT] [--html OUT] [--until T] [--seed S] [--abi P] [--platform P] [--max-steps N]
 *   iio-sim validate FILE...
 *   iio-sim info [--devices FILE]
 *   iio-sim capture [DEVICE [CHANNEL...]] [-b N] [-s N] [--dmabuf [-n N]] [--csv] [-o FILE]
 *   iio-sim play [DEVICE [CHANNEL...]] [-i FILE] [-b N] [--dmabuf [-n N]] [--csv]
 *   iio-sim list
 *   iio-sim schema
 *   iio-sim fuzz [--runs N] [--seed S] [--mode all|contract|syscalls] [--max-calls N] [--out FILE] [--path P]
 *   iio-sim fuzz --against real [--runs N] [--seed S] [--max-calls N] [--part lp64|ilp32 --path P --replay-path R] [--vm NAME]
 *   iio-sim diff FILE... [--vm NAME]
 *   iio-sim --version
 *
 * `iio-sim --help` explains every command and option (src/cli/help.ts); commands other than run and the
 * fuzzers live in src/cli/.
 *
 * Exit status: 0 when every expectation held, 1 when one failed, 2 for unusable input.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { ContractChecker } from './check/checker.ts';
import type { CliIo, CliOptions } from './cli/board.ts';
import { captureCommand, playCommand, STREAM_OPTIONS } from './cli/capture.ts';
import { helpText } from './cli/help.ts';
import { infoCommand } from './cli/info.ts';
import {
  applyRunOverrides,
  cliStdio,
  defaultUntilWarning,
  findScenario,
  showProgress,
} from './cli/run-options.ts';
import { KERNEL_USAGE, kernelCommand } from './real/setup.ts';
import { escapeControl, formatError } from './scenario/errors.ts';
import { type LoadResult, loadScenario } from './scenario/load.ts';
import { readScenarioFile } from './scenario/read-file.ts';
import { DEFAULT_RUN_LIMITS, type RunLimits, runScenario, scenarioSimulator } from './scenario/run.ts';
import { type Scenario, scenarioJsonSchema } from './scenario/schema.ts';
import type { CampaignMode, CampaignPart } from './testing/campaign.ts';
import { traceFences } from './trace/ftrace.ts';
import { exportHtml } from './trace/html.ts';
import { exportPerfetto } from './trace/perfetto.ts';
import { recordTrace } from './trace/recorder.ts';
import { FenceStats, summaryLines } from './trace/summary.ts';

/** Where bundled lessons live. */
export const SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

/** The package's version, as `iio-sim --version` prints it. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Output streams, replaceable in tests. */
export type { CliIo } from './cli/board.ts';

const USAGE = `usage: iio-sim run FILE|LESSON... [--quiet] [--no-ftrace] [--no-check] [--durations] [--log json|pretty] [--perfetto OUT.json] [--html OUT.html] [--until T] [--seed S] [--abi P] [--platform P] [--max-steps N]
       iio-sim validate FILE...
       iio-sim info [--devices FILE] [--abi P] [--seed S] [--platform P]
       iio-sim capture [DEVICE [CHANNEL...]] [-b N] [-s N] [--dmabuf [-n N]] [--csv] [-o FILE] [--devices FILE]
       iio-sim capture --benchmark [--dmabuf] [-b N] [-n N] [--touch] [--platform P] [--duration MS]
       iio-sim play [DEVICE [CHANNEL...]] [-i FILE] [-b N] [--dmabuf [-n N]] [--csv] [--devices FILE]
       iio-sim list
       iio-sim schema
       iio-sim fuzz [--runs N] [--seed S] [--mode all|contract|syscalls] [--max-calls N] [--out FILE] [--path P]
       iio-sim fuzz --against real [--runs N] [--seed S] [--max-calls N] [--part lp64|ilp32 --path P --replay-path R] [--vm NAME]
       iio-sim diff FILE... [--vm NAME]
       ${KERNEL_USAGE.replace(/^usage: /, '')}
       iio-sim --help | --version`;

/** Reads a scenario file (a regular file of at most 1 MiB), or prints the located line why not. */
function readScenario(file: string, io: CliIo): string | null {
  const r = readScenarioFile(file);
  if (r.ok) return r.text;
  io.err(formatError(r.error));
  return null;
}

/** What `iio-sim` accepts after the command name (`--help` explains each). */
export const OPTIONS = {
  quiet: { type: 'boolean', short: 'q' },
  'no-ftrace': { type: 'boolean' },
  'no-check': { type: 'boolean' },
  durations: { type: 'boolean', short: 'T' },
  'strace-compat': { type: 'boolean' },
  log: { type: 'string' },
  perfetto: { type: 'string' },
  html: { type: 'string' },
  runs: { type: 'string' },
  seed: { type: 'string' },
  mode: { type: 'string' },
  'max-calls': { type: 'string' },
  out: { type: 'string' },
  path: { type: 'string' },
  vm: { type: 'string' },
  against: { type: 'string' },
  part: { type: 'string' },
  'replay-path': { type: 'string' },
  until: { type: 'string' },
  ...STREAM_OPTIONS,
  'max-steps': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** One `iio-sim` command: its positionals and options in, the exit status out. */
type Command = (files: readonly string[], opts: CliOptions, io: CliIo) => number | Promise<number>;

/** The commands, by name (`kernel` parses its own command line). */
export const COMMANDS: Readonly<Record<string, Command>> = {
  schema: (_files, _opts, io) => {
    io.out(JSON.stringify(scenarioJsonSchema(), null, 2));
    return 0;
  },
  list: (_files, _opts, io) => {
    for (const f of readdirSync(SCENARIO_DIR)
      .filter((x) => /\.ya?ml$/.test(x))
      .sort()) {
      const text = readScenario(join(SCENARIO_DIR, f), io);
      const loaded = text === null ? null : loadScenario(text, f);
      io.out(escapeControl(`${f.padEnd(44)} ${loaded?.ok ? (loaded.scenario.title ?? '') : 'INVALID'}`));
    }
    return 0;
  },
  validate: (files, opts, io) => scenarioFiles('validate', files, opts, io),
  run: (files, opts, io) => scenarioFiles('run', files, opts, io),
  fuzz: (_files, opts, io) => fuzz(opts, io),
  diff: (files, opts, io) => diff(files, opts, io),
  info: infoCommand,
  capture: (args, opts, io) => captureCommand(args, opts, io),
  play: (args, opts, io) => playCommand(args, opts, io),
};

/** Splits a command line into positionals and options, or prints why it cannot and returns null. */
function parseCommandLine(
  argv: readonly string[],
  io: CliIo,
): { positionals: string[]; opts: CliOptions } | null {
  try {
    const parsed = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
    return { positionals: parsed.positionals, opts: parsed.values as CliOptions };
  } catch (e) {
    io.err(escapeControl(`iio-sim: ${e instanceof Error ? e.message : String(e)}`));
    io.err(USAGE);
    return null;
  }
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 1 && argv[0] === '--version') {
    io.out(`iio-sim ${VERSION}`);
    return 0;
  }
  // The real kernel's commands parse their own options.
  if (argv[0] === 'kernel') return kernelCommand(argv.slice(1), io);
  if (argv[0] === 'exec') return (await import('./bridge/exec.ts')).execCommand(argv.slice(1), io);
  if (argv[0] === 'throughput')
    return (await import('./cli/throughput.ts')).throughputCommand(argv.slice(1), io);
  if (argv[0] === 'capture' && argv.includes('--benchmark'))
    return (await import('./cli/throughput.ts')).throughputCommand(argv.slice(1), io, true);
  const parsed = parseCommandLine(argv, io);
  if (!parsed) return 2;
  const [command, ...files] = parsed.positionals;
  const { opts } = parsed;
  if (opts.version) {
    io.out(`iio-sim ${VERSION}`);
    return 0;
  }
  if (opts.help) {
    io.out(helpText(VERSION));
    return 0;
  }
  if (command === undefined) {
    io.out(USAGE);
    return 2;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    io.err(escapeControl(`iio-sim: unknown command '${command}'`));
    io.err(USAGE);
    return 2;
  }
  return run(files, opts, io);
}

/** `iio-sim validate|run FILE...`: loads each file, then validates or runs it; the worst status wins. */
async function scenarioFiles(
  command: 'validate' | 'run',
  files: readonly string[],
  opts: CliOptions,
  io: CliIo,
): Promise<number> {
  if (files.length === 0) {
    io.err(`iio-sim ${command}: no scenario file given`);
    io.err(USAGE);
    return 2;
  }
  if (opts.log !== undefined && opts.log !== 'json' && opts.log !== 'pretty') {
    io.err(escapeControl(`iio-sim: --log takes json or pretty, not '${String(opts.log)}'`));
    return 2;
  }
  if (runLimits(opts) === null) {
    io.err('iio-sim: --max-steps takes a positive integer');
    return 2;
  }
  let status = 0;
  for (const arg of files) {
    const found = command === 'run' ? findScenario(arg, SCENARIO_DIR) : { file: arg };
    if ('error' in found) {
      io.err(`iio-sim run: ${found.error}`);
      status = 2;
      continue;
    }
    const { file } = found;
    const text = readScenario(file, io);
    if (text === null) {
      status = 2;
      continue;
    }
    const loaded = loadScenario(text, file);
    if (!loaded.ok) {
      for (const e of loaded.errors) io.err(formatError(e));
      status = 2;
      continue;
    }
    if (command === 'validate') {
      io.out(`${escapeControl(file)}: ok`);
      continue;
    }
    const scenario = applyRunOverrides(loaded.scenario, opts);
    if (typeof scenario === 'string') {
      io.err(`iio-sim run: ${scenario}`);
      return 2;
    }
    let s: number;
    try {
      s = await runOne(file, { ...loaded, scenario }, opts, io);
    } catch (e) {
      // A simulator bug the scenario ran into: still one line (the stack only when asked for).
      if (process.env.IIO_SIM_DEBUG) io.err(e instanceof Error ? (e.stack ?? e.message) : String(e));
      io.err(
        escapeControl(
          `${file}:1:1: the simulator failed running this scenario (set IIO_SIM_DEBUG=1 for the stack): ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
      s = 2;
    }
    if (s > status) status = s;
  }
  return status;
}

function intOption(
  opts: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
): number | null {
  const v = opts[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  return /^\d+$/.test(String(v)) && Number.isSafeInteger(n) && n >= min ? n : null;
}

/** `iio-sim fuzz`: the contract and syscall fuzzing campaign (exit 1 on the first failure). */
async function fuzz(opts: CliOptions, io: CliIo): Promise<number> {
  const runs = intOption(opts, 'runs', 100, 1);
  const seed = intOption(opts, 'seed', 1, 0);
  const maxCalls = intOption(opts, 'max-calls', 200, 1);
  const mode = (opts.mode ?? 'all') as CampaignMode;
  const path = opts.path === undefined ? undefined : String(opts.path);
  if (opts.against !== undefined) return fuzzAgainstReal(opts, io, { runs, seed, maxCalls, path });
  if (path !== undefined && (mode !== 'syscalls' || !/^\d+(:\d+)*$/.test(path))) {
    io.err(
      'iio-sim fuzz: --path takes the path of a syscall fuzzing failure (digits and colons) and needs --mode syscalls',
    );
    return 2;
  }
  if (path !== undefined && opts.runs !== undefined) {
    io.err('iio-sim fuzz: --path replays the one program at that path: give it without --runs');
    return 2;
  }
  if (
    runs === null ||
    seed === null ||
    maxCalls === null ||
    !['all', 'contract', 'syscalls'].includes(mode)
  ) {
    io.err(
      'iio-sim fuzz: --runs and --max-calls take a positive integer, --seed a non-negative one, --mode all, contract or syscalls',
    );
    return 2;
  }
  // Loaded on demand: `run` and `validate` need neither fast-check nor the model.
  const campaign = await withFastCheck(() => import('./testing/campaign.ts'), io);
  if (!campaign) return 2;
  const { runCampaign } = campaign;
  const { FuzzPathError, checkReplayPath } = await import('./testing/fuzz.ts');
  try {
    if (path !== undefined) checkReplayPath(path);
  } catch (e) {
    io.err(escapeControl(`iio-sim fuzz: ${(e as Error).message}`));
    return 2;
  }
  io.out(
    path === undefined
      ? `iio-sim fuzz: seed ${seed}, ${runs} runs per part, up to ${maxCalls} calls per run`
      : `iio-sim fuzz: seed ${seed}, replaying the program at path ${path}, up to ${maxCalls} calls`,
  );
  const t0 = performance.now();
  let last = t0;
  let report: Awaited<ReturnType<typeof runCampaign>>;
  try {
    report = await runCampaign({
      runs,
      seed,
      mode,
      maxCalls,
      ...(path === undefined ? {} : { path }),
      onPart: (p) => {
        const now = performance.now();
        io.out(
          `${p.name.padEnd(26)} ${String(p.runs).padStart(7)} runs ${p.syscalls.toLocaleString('en-US').padStart(11)} syscalls  ${p.ok ? 'ok' : 'FAILED'}  (${((now - last) / 1000).toFixed(1)} s)`,
        );
        last = now;
      },
    });
  } catch (e) {
    if (!(e instanceof FuzzPathError)) throw e;
    io.err(escapeControl(`iio-sim fuzz: ${e.message}`));
    return 2;
  }
  const failed = report.parts.find((p) => !p.ok);
  if (failed)
    reportFailure(failed, typeof opts.out === 'string' ? opts.out : `fuzz-failure-seed${seed}.yaml`, io);
  io.out(
    `total: ${report.syscalls.toLocaleString('en-US')} syscalls, ${failed ? 1 : 0} failures (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return failed ? 1 : 0;
}

/** `iio-sim diff FILE...`: each scenario on the simulator and on the real kernel, compared call by call. */
async function diff(files: readonly string[], opts: CliOptions, io: CliIo): Promise<number> {
  if (files.length === 0) {
    io.err('iio-sim diff: no scenario file given');
    io.err(USAGE);
    return 2;
  }
  // Loaded on demand: the other commands need no VM code.
  const { checkSetup } = await import('./real/setup.ts');
  const setup = checkSetup();
  if (!setup.ready) {
    io.err(
      `iio-sim diff: the real kernel is not set up (missing ${setup.missing.join('; ')}): run \`npx iio-sim kernel setup\``,
    );
    return 2;
  }
  const { diffFiles } = await import('./real/diff.ts');
  const { createRealKernel, openRealChannel } = await import('./real/runtime.ts');
  const inputs = files.map((name) => ({ name, text: readScenario(name, io) }));
  const instance = typeof opts.vm === 'string' ? opts.vm : 'default';
  let channel: Awaited<ReturnType<typeof openRealChannel>>;
  try {
    channel = await openRealChannel({ instance });
  } catch (e) {
    io.err(`iio-sim diff: no real kernel: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  io.out(
    channel.how === 'attached'
      ? `iio-sim diff: attached to the running VM '${instance}'`
      : 'iio-sim diff: booted a VM (`iio-sim kernel start` keeps one running between runs)',
  );
  try {
    return await diffFiles(
      inputs,
      (devices, seed) =>
        createRealKernel({ channel: channel.channel, seed, ...(devices ? { devices } : {}) }),
      io,
    );
  } finally {
    await channel.close();
  }
}

/** Prints a failed part, and writes its scenario file. */
function reportFailure(p: CampaignPart, out: string, io: CliIo): void {
  io.out(p.failure ?? '');
  if (p.scenario) {
    writeFileSync(out, p.scenario);
    io.out(`a scenario reproducing it on the simulator: ${out} (iio-sim run ${out})`);
  }
}

/**
 * `iio-sim fuzz --against real`: the mainline contract parts (LP64, ILP32), every history also on the real
 * kernel (module on its manual clock), compared call for call; prints each part's throughput.
 */
async function fuzzAgainstReal(
  opts: CliOptions,
  io: CliIo,
  o: { runs: number | null; seed: number | null; maxCalls: number | null; path: string | undefined },
): Promise<number> {
  const part = opts.part === undefined ? undefined : String(opts.part);
  const replayPath = opts['replay-path'] === undefined ? undefined : String(opts['replay-path']);
  const { runs, seed, maxCalls, path } = o;
  if (
    opts.against !== 'real' ||
    runs === null ||
    seed === null ||
    maxCalls === null ||
    (part !== undefined && part !== 'lp64' && part !== 'ilp32') ||
    (path !== undefined && (part === undefined || replayPath === undefined || !/^\d+(:\d+)*$/.test(path)))
  ) {
    io.err(
      'iio-sim fuzz --against real [--runs N] [--seed S] [--max-calls N] [--part lp64|ilp32 --path P --replay-path R]: a replay (--path) needs the part and the replay path of the failure report',
    );
    return 2;
  }
  const { checkSetup } = await import('./real/setup.ts');
  const setup = checkSetup();
  if (!setup.ready) {
    io.err(
      `iio-sim fuzz --against real: the real kernel is not set up (missing ${setup.missing.join('; ')}): run \`npx iio-sim kernel setup\``,
    );
    return 2;
  }
  const { createRealKernel, openRealChannel } = await import('./real/runtime.ts');
  const { KernelSide } = await import('./testing/against-real.ts');
  const campaign = await withFastCheck(() => import('./testing/campaign.ts'), io);
  if (!campaign) return 2;
  const { runCampaign } = campaign;
  const channel = await openRealChannel(typeof opts.vm === 'string' ? { instance: opts.vm } : {});
  io.out(
    `iio-sim fuzz against the real kernel (${channel.how === 'attached' ? 'attached to the running VM' : 'booted a VM'}): seed ${seed}, ${runs} runs per part, up to ${maxCalls} calls per run`,
  );
  const t0 = performance.now();
  let last = t0;
  try {
    const report = await runCampaign({
      runs,
      seed,
      maxCalls,
      mode: 'contract',
      kernel: (compat) =>
        KernelSide.start(compat, (m) => createRealKernel({ channel: channel.channel, ...m })),
      ...(part === undefined ? {} : { part: part as 'lp64' | 'ilp32' }),
      ...(path === undefined ? {} : { path }),
      ...(replayPath === undefined ? {} : { replayPath }),
      onPart: (p) => {
        const now = performance.now();
        const secs = (now - last) / 1000;
        io.out(
          `${p.name.padEnd(30)} ${String(p.runs).padStart(6)} runs ${p.syscalls.toLocaleString('en-US').padStart(9)} syscalls on each side  ${p.ok ? 'ok' : 'FAILED'}  (${secs.toFixed(1)} s: ${(p.runs / secs).toFixed(2)} histories/s, ${Math.round(p.syscalls / secs)} syscalls/s)`,
        );
        last = now;
      },
    });
    const failed = report.parts.find((p) => !p.ok);
    if (failed)
      reportFailure(
        failed,
        typeof opts.out === 'string' ? opts.out : `fuzz-real-failure-seed${seed}.yaml`,
        io,
      );
    const runsDone = report.parts.reduce((n, p) => n + p.runs, 0);
    const secs = (performance.now() - t0) / 1000;
    io.out(
      `total: ${runsDone} histories, ${report.syscalls.toLocaleString('en-US')} syscalls on each side, ${failed ? 1 : 0} divergences (${secs.toFixed(1)} s: ${(runsDone / secs).toFixed(2)} histories/s)`,
    );
    return failed ? 1 : 0;
  } finally {
    await channel.close();
  }
}

/** The limits of `iio-sim run`: the defaults, with `--max-steps` if given; null when it is not a count. */
function runLimits(opts: CliOptions): RunLimits | null {
  const steps = intOption(opts, 'max-steps', DEFAULT_RUN_LIMITS.steps, 1);
  return steps === null ? null : { ...DEFAULT_RUN_LIMITS, steps };
}

/** Writes `--perfetto` and `--html` files; false (said on `io`) when one cannot be written. */
function writeTraceFiles(
  file: string,
  scenario: Scenario,
  abi: string,
  events: Parameters<typeof exportPerfetto>[0],
  end: number,
  opts: CliOptions,
  io: CliIo,
): boolean {
  const write = (path: string, what: string, text: () => string): boolean => {
    const content = text();
    try {
      writeFileSync(path, content);
      return true;
    } catch (e) {
      io.err(
        `${escapeControl(path)}:1:1: cannot write the ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
      return false;
    }
  };
  if (opts.perfetto && !write(String(opts.perfetto), 'Perfetto trace', () => exportPerfetto(events, { end })))
    return false;
  return (
    !opts.html ||
    write(String(opts.html), 'HTML timeline', () =>
      exportHtml(events, {
        title: `${basename(file)}${scenario.title ? `: ${scenario.title}` : ''}`,
        subtitle: `profile ${abi}, seed ${scenario.seed ?? 1}`,
        ...(scenario.description === undefined ? {} : { description: scenario.description }),
        end,
      }),
    )
  );
}

async function runOne(
  file: string,
  loaded: Extract<LoadResult, { ok: true }>,
  opts: CliOptions,
  io: CliIo,
): Promise<number> {
  const scenario = loaded.scenario;
  const limits = runLimits(opts)!;
  const stdio = cliStdio(io);
  const sim = scenarioSimulator(scenario, stdio);
  const quiet = opts.quiet === true;
  // Every line of the report is one line, whatever the scenario's names, labels and paths hold.
  const out = (line: string) => io.out(escapeControl(line));
  if (!quiet)
    out(
      `# ${basename(file)}${scenario.title ? `: ${scenario.title}` : ''} (profile ${sim.abi}, seed ${scenario.seed ?? 1})`,
    );
  // A quiet run with no trace file keeps no trace: its memory must not grow with the run's length.
  const keepTrace = !quiet || opts.perfetto !== undefined || opts.html !== undefined;
  const trace = keepTrace
    ? recordTrace(sim.events, sim.abi, {
        durations: opts.durations === true,
        compat: opts['strace-compat'] === true ? 'strace-6.1' : null,
        pids: scenario.processes.length > 1,
      })
    : { lines: [] as string[], events: [], detach: () => {} };
  const fences = new FenceStats(sim.events);
  const checker = opts['no-check'] ? null : new ContractChecker(sim);
  const stopFtrace =
    opts['no-ftrace'] || opts['strace-compat'] || !keepTrace
      ? () => {}
      : traceFences(sim.events, (line) => trace.lines.push(line));
  if (!(await attachLogger(sim, opts.log as string | undefined, io))) return 2;
  const stopProgress = showProgress(sim, basename(file), io);
  const outcome = await runScenario(scenario, sim, limits);
  stopProgress();
  stdio.flush();
  if (outcome.stopped) {
    trace.detach();
    stopFtrace();
    checker?.detach();
    io.err(formatError(loaded.locate(outcome.stopped.path, outcome.stopped.message)));
    return 2;
  }
  checker?.finish(outcome.result);
  checker?.detach();
  trace.detach();
  stopFtrace();
  if (!quiet) for (const line of trace.lines) out(line);
  if (!writeTraceFiles(file, scenario, sim.abi, trace.events, outcome.result.time, opts, io)) return 2;
  if (!quiet) for (const line of summaryLines(outcome.result, fences)) out(line);
  if (!quiet && checker) for (const line of checker.summaryLines()) out(line);
  const warning = defaultUntilWarning(file, scenario, outcome.result);
  if (warning) io.err(escapeControl(warning));
  if (outcome.failures.length === 0) {
    out(`${file}: PASS`);
    return 0;
  }
  for (const f of outcome.failures)
    out(
      `${file}: FAIL: process ${f.process}, ${f.step}: expected ${f.expected}, got ${f.got} (at ${(f.time / 1e6).toFixed(3)} ms)`,
    );
  return 1;
}

/**
 * `--log json|pretty`: syscalls, fences, data loss and kernel messages as pino lines on stderr. False (said on
 * `io`) when the logger cannot be made.
 */
async function attachLogger(
  sim: ReturnType<typeof scenarioSimulator>,
  kind: string | undefined,
  io: CliIo,
): Promise<boolean> {
  const logger = await makeLogger(kind, () => sim.now, io);
  if (logger === false) return false;
  if (!logger) return true;
  sim.events.on('syscall:exit', (e) =>
    logger.info({ pid: e.task.pid, syscall: e.name, ret: e.ret }, 'syscall'),
  );
  sim.events.on('fence:trace', (e) =>
    logger.debug({ event: e.event, context: e.context, seqno: e.seqno }, 'fence'),
  );
  sim.events.on('dma:gap', (e) =>
    logger.warn({ channel: e.channel, kind: e.kind, scans: e.scans }, 'data lost'),
  );
  sim.events.on('kernel:log', (e) => logger.warn({ device: e.device }, e.message));
  return true;
}

/** Whether `e` is Node's error for the package `name` not being installed. */
function isMissingPackage(e: unknown, name: string): boolean {
  return (
    (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    String((e as Error).message).includes(`'${name}'`)
  );
}

/**
 * Loads a module that needs fast-check, an optional peer dependency of the package (the fuzzer needs it, a
 * run does not); without it, says how to install it and resolves to null.
 */
async function withFastCheck<T>(load: () => Promise<T>, io: CliIo): Promise<T | null> {
  try {
    return await load();
  } catch (e) {
    if (!isMissingPackage(e, 'fast-check')) throw e;
    io.err('iio-sim fuzz: needs the package fast-check (npm install fast-check)');
    return null;
  }
}

/**
 * The `--log` logger, or null without `--log`; false (said on `io`) when `--log pretty` lacks pino-pretty, an
 * optional peer dependency. pino is loaded only here: most runs do not log.
 */
async function makeLogger(
  kind: string | undefined,
  now: () => number,
  io: CliIo,
): Promise<Logger | null | false> {
  if (kind === undefined) return null;
  const { pino } = await import('pino');
  const options = { level: 'debug', timestamp: false, base: null, mixin: () => ({ t_ns: now() }) } as const;
  if (kind === 'pretty') {
    const pretty = await import('pino-pretty').catch((e: unknown) => {
      if (!isMissingPackage(e, 'pino-pretty')) throw e;
      return null;
    });
    if (!pretty) {
      io.err(
        'iio-sim: --log pretty needs the package pino-pretty (npm install pino-pretty); --log json does not',
      );
      return false;
    }
    return pino(options, pretty.default({ sync: true, destination: 2, ignore: 'pid,hostname' }));
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}

/** Entry point of the `iio-sim` bin. */
export async function cliEntry(): Promise<void> {
  // A closed pipe (`iio-sim run ... | head`) ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  const code = await main(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    outBytes: (b) => process.stdout.write(b),
    errIsTty: process.stderr.isTTY === true,
    progress: (l) => process.stderr.write(l === null ? '\r\x1b[K' : `\r${l}\x1b[K`),
  });
  process.exitCode = code;
}
