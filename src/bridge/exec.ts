/**
 * `iio-sim exec [options] -- PROGRAM [ARGS...]`: runs a real Linux program on the simulator. The program
 * runs unmodified with the preload library of bridge/preload; its calls on the simulated world are served by a
 * simulated process (src/bridge/server.ts) in lockstep with virtual time. Exits with the program's status.
 *
 * @packageDocumentation
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ContractChecker } from '../check/checker.ts';
import type { Dac } from '../hw/converter.ts';
import type { AbiProfile } from '../kernel/kernel.ts';
import { formatError } from '../scenario/errors.ts';
import { loadScenario } from '../scenario/load.ts';
import { scenarioSimulator } from '../scenario/run.ts';
import { MAX_TIME_NS, parseDuration } from '../scenario/values.ts';
import { type DeviceConfig, DeviceSchema, validateDevices } from '../sim/devices.ts';
import type { Sys } from '../sim/process.ts';
import { createSimulator, type Simulator } from '../sim/simulator.ts';
import { traceFences } from '../trace/ftrace.ts';
import { exportPerfetto } from '../trace/perfetto.ts';
import { type Recording, recordTrace } from '../trace/recorder.ts';
import { FenceStats, summaryLines } from '../trace/summary.ts';
import { playedBytes } from './played.ts';
import {
  buildPreload,
  type I386Runner,
  i386Runner,
  PreloadBuildError,
  type PreloadModel,
  programModel,
  resolvedProgram,
} from './preload.ts';
import { FrameReader } from './protocol.ts';
import { BridgeHub, BridgeSession } from './server.ts';

/** Output streams (the CLI's). */
export interface ExecIo {
  out(line: string): void;
  err(line: string): void;
}

/** The usage line of `iio-sim exec`. */
export const EXEC_USAGE =
  'usage: iio-sim exec [--devices FILE|--scenario FILE] [--abi mainline|v2] [--platform NAME] [--seed N] [--trace FILE|-] [--no-ftrace] [--strace-compat] [--no-check] [--perfetto OUT.json] [--summary] [--played DAC=FILE] [--at TIME:event:DEVICE:CODE|TIME:remove:DEVICE] -- PROGRAM [ARGS...]';

/** Parsed options of `iio-sim exec`. */
export interface ExecOptions {
  scenario?: string;
  /** A YAML (or JSON) list of devices, as a scenario's `devices:`. */
  devices?: string;
  abi?: AbiProfile;
  platform?: string;
  seed?: number;
  /** strace/ftrace log destination: a file, or `-` for stderr. */
  trace?: string;
  ftrace: boolean;
  /** The strace log as strace 6.1 prints it (no dma_fence lines, no notes), to diff with a real strace log. */
  straceCompat?: boolean;
  check: boolean;
  perfetto?: string;
  /** Print the run's summary and the checker's findings on stderr. */
  summary: boolean;
  /** DACs whose played scans are written to a file after the run (`--played DAC=FILE`, repeatable). */
  played?: { device: string; file: string }[];
  /** Things done to the board at a virtual time (`--at`, repeatable). */
  at?: ScheduledAction[];
  program: string;
  args: string[];
}

const VALUE_OPTIONS = new Set([
  '--devices',
  '--scenario',
  '--abi',
  '--platform',
  '--seed',
  '--trace',
  '--perfetto',
  '--played',
  '--at',
]);

/** An `--at` action: an IIO event pushed (as a driver's interrupt handler would), or a device removed. */
export type ScheduledAction =
  | { time: number; kind: 'event'; device: string; code: bigint }
  | { time: number; kind: 'remove'; device: string };

const AT_FORMS = 'TIME:event:DEVICE:CODE or TIME:remove:DEVICE';

/** Parses an `--at` value; a string is the error to print. */
function parseAt(value: string): ScheduledAction | string {
  const bad = `iio-sim exec: --at takes ${AT_FORMS} (TIME like 2ms, or ns), not '${value}'`;
  const parts = value.split(':');
  const t = parts[0] ?? '';
  const time = /^\d{1,16}$/.test(t) ? Number(t) : parseDuration(t);
  if (time === null || time > MAX_TIME_NS) return bad;
  if (parts[1] === 'remove' && parts.length === 3 && parts[2])
    return { time, kind: 'remove', device: parts[2] };
  if (parts[1] !== 'event' || parts.length !== 4 || !parts[2]) return bad;
  const text = parts[3]!;
  if (!/^(0x[0-9a-fA-F]{1,16}|\d{1,20})$/.test(text) || BigInt(text) >= 1n << 64n)
    return `iio-sim exec: --at: the event code '${text}' is no 64-bit IIO event id (hex 0x... or decimal)`;
  return { time, kind: 'event', device: parts[2], code: BigInt(text) };
}

/** Parses the command line (after `exec`); a string is the error to print. */
export function parseExecArgs(argv: readonly string[]): ExecOptions | string {
  const o: ExecOptions = { ftrace: true, check: true, summary: false, program: '', args: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('--')) break;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (VALUE_OPTIONS.has(name!)) {
      const value = inline ?? argv[++i];
      if (value === undefined) return `iio-sim exec: ${name} needs a value`;
      if (name === '--scenario') o.scenario = value;
      else if (name === '--devices') o.devices = value;
      else if (name === '--abi') {
        if (value !== 'mainline' && value !== 'v2')
          return `iio-sim exec: --abi takes mainline or v2, not '${value}'`;
        o.abi = value;
      } else if (name === '--platform') o.platform = value;
      else if (name === '--seed') {
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
          return `iio-sim exec: --seed takes a non-negative integer, not '${value}'`;
        o.seed = Number(value);
      } else if (name === '--trace') o.trace = value;
      else if (name === '--played') {
        const eq = value.indexOf('=');
        if (eq <= 0 || eq === value.length - 1)
          return `iio-sim exec: --played takes DAC=FILE, not '${value}'`;
        o.played = [...(o.played ?? []), { device: value.slice(0, eq), file: value.slice(eq + 1) }];
      } else if (name === '--at') {
        const a = parseAt(value);
        if (typeof a === 'string') return a;
        o.at = [...(o.at ?? []), a];
      } else o.perfetto = value;
    } else if (name === '--no-ftrace') o.ftrace = false;
    else if (name === '--strace-compat') o.straceCompat = true;
    else if (name === '--no-check') o.check = false;
    else if (name === '--summary') o.summary = true;
    else return `iio-sim exec: unknown option '${arg}'`;
  }
  const program = argv[i];
  if (program === undefined) return 'iio-sim exec: no program given';
  o.program = program;
  o.args = argv.slice(i + 1);
  return o;
}

/** The devices of a `--devices` file, or null after printing what is wrong with it. */
function readDevices(file: string, io: ExecIo): DeviceConfig[] | null {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.err(
      `${file}:1:1: ${code ? `cannot read the file (${code})` : `not YAML: ${(e as Error).message.split('\n')[0]}`}`,
    );
    return null;
  }
  const parsed = z.array(DeviceSchema).min(1).safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) io.err(`${file}: [${issue.path.join('.')}]: ${issue.message}`);
    return null;
  }
  const problems = validateDevices(parsed.data);
  for (const p of problems) io.err(`${file}: [${p.path.join('.')}]: ${p.message}`);
  return problems.length === 0 ? parsed.data : null;
}

function makeSimulator(o: ExecOptions, io: ExecIo): Simulator | null {
  if (o.scenario !== undefined && o.devices !== undefined) {
    io.err('iio-sim exec: --devices and --scenario both give the board: use one');
    return null;
  }
  if (o.scenario !== undefined) {
    let text: string;
    try {
      text = readFileSync(o.scenario, 'utf8').replace(/^\uFEFF/, '');
    } catch (e) {
      io.err(`${o.scenario}:1:1: cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      return null;
    }
    const loaded = loadScenario(text, o.scenario);
    if (!loaded.ok) {
      for (const e of loaded.errors) io.err(formatError(e));
      return null;
    }
    const s = loaded.scenario;
    return scenarioSimulator({
      ...s,
      ...(o.abi ? { abi: o.abi } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.platform ? { platform: o.platform as never } : {}),
    });
  }
  const devices = o.devices === undefined ? undefined : readDevices(o.devices, io);
  if (devices === null) return null;
  try {
    return createSimulator({
      ...(devices ? { devices } : {}),
      ...(o.abi ? { abi: o.abi } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.platform ? { platform: o.platform as never } : {}),
    });
  } catch (e) {
    io.err(`iio-sim exec: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

/** A DAC whose output `--played` writes. */
interface PlayedDac {
  readonly dac: Dac;
  readonly name: string;
  readonly file: string;
}

/** The DACs of `--played`; null after printing that one is no DAC of the board. */
function playedDacs(sim: Simulator, o: ExecOptions, io: ExecIo): PlayedDac[] | null {
  const dacs: PlayedDac[] = [];
  for (const p of o.played ?? []) {
    const d = sim.devices.find((x) => x.config.name === p.device || x.iio.devName === p.device);
    if (!d?.dac) {
      io.err(`iio-sim exec: --played: '${p.device}' is not a DAC of this board`);
      return null;
    }
    dacs.push({ dac: d.dac, name: d.config.name, file: p.file });
  }
  return dacs;
}

/** Writes what each `--played` DAC played, with one line on stderr saying how much; false if a write failed. */
function writePlayed(dacs: readonly PlayedDac[], now: number, io: ExecIo): boolean {
  let ok = true;
  for (const { dac, name, file } of dacs) {
    const p = playedBytes(dac, now);
    try {
      writeFileSync(file, p.bytes);
    } catch (e) {
      io.err(
        `iio-sim exec: --played: cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
      ok = false;
      continue;
    }
    io.err(
      `iio-sim exec: ${name} played ${p.scans} scans in ${p.runs} run(s) (${p.before} starved before the first, ${p.gaps} starved in between): ${file}`,
    );
  }
  return ok;
}

/**
 * Schedules the `--at` actions on the simulator's clock; false after printing why one cannot be done (no such
 * device, a device without an event interface). An event's timestamp is the virtual time it is pushed at.
 */
function scheduleActions(sim: Simulator, actions: readonly ScheduledAction[], io: ExecIo): boolean {
  for (const a of actions) {
    const dev = sim.devices.find((d) => d.config.name === a.device || d.iio.devName === a.device);
    if (!dev) {
      io.err(`iio-sim exec: --at: no device '${a.device}' on this board`);
      return false;
    }
    if (a.kind === 'remove') {
      sim.at(a.time, `remove ${a.device}`, () => {
        if (dev.iio.registered) sim.removeDevice(dev.config.name);
      });
      continue;
    }
    const events = dev.iio.events;
    if (!events) {
      io.err(`iio-sim exec: --at: '${a.device}' has no event interface`);
      return false;
    }
    sim.at(a.time, `event on ${a.device}`, () => {
      if (dev.iio.registered) events.push(a.code, BigInt(sim.now));
    });
  }
  return true;
}

/** How the child ended: its exit code, or the number of the signal that killed it. */
function childExit(child: ChildProcess): Promise<{ code: number | null; signal: number | null }> {
  return new Promise((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ code: signal ? null : code, signal: signal ? (constants.signals[signal] ?? 0) : null });
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
    else child.once('exit', done);
  });
}

/** The preload library for a program and how to run it. */
interface BridgeLibrary {
  readonly lib: string;
  readonly model: PreloadModel;
  readonly runner: I386Runner;
}

/** The library matching `program`'s data model, built if need be; null after printing why there is none. */
function bridgeLibrary(program: string, io: ExecIo): BridgeLibrary | null {
  const model = programModel(program);
  if (model !== 'lp64' && model !== 'ilp32') {
    io.err(`iio-sim exec: ${model}`);
    return null;
  }
  try {
    const lib = buildPreload(model);
    return { lib, model, runner: model === 'ilp32' ? i386Runner(lib) : 'native' };
  } catch (e) {
    io.err(`iio-sim exec: ${e instanceof PreloadBuildError ? e.message : String(e)}`);
    return null;
  }
}

/** Starts the program with the library preloaded and the bridge socket on its fd 3. */
function spawnBridged(o: ExecOptions, b: BridgeLibrary, where: string): ChildProcess {
  const preload = [b.lib, process.env.LD_PRELOAD].filter(Boolean).join(':');
  // Under qemu-i386 the library is the emulated program's, not the (64-bit) emulator's.
  const [file, args, env] =
    b.runner === 'qemu-i386'
      ? ['qemu-i386', ['-E', `LD_PRELOAD=${preload}`, resolvedProgram(o.program), ...o.args], {}]
      : [o.program, o.args, { LD_PRELOAD: preload }];
  return spawn(file, args, {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, ...env, IIO_SIM_BRIDGE_FD: '3', IIO_SIM_BRIDGE_PATH: `@${where}` },
  });
}

/** Runs of execCommand in this Node process (each listens on a name of its own). */
let runs = 0;

/**
 * Where the program's forked children connect: an abstract Unix socket (nothing on disk to clean up) named
 * `@where` in their environment; null after printing why it cannot listen.
 */
async function listenForChildren(
  io: ExecIo,
): Promise<{ hub: BridgeHub; where: string; close: () => void } | null> {
  const hub = new BridgeHub();
  const listener = createServer((s) => hub.accept(s));
  const where = `iio-sim-exec-${process.pid}-${++runs}`;
  const failed = await new Promise<Error | null>((resolve) => {
    listener.once('error', resolve);
    listener.listen(`\0${where}`, () => resolve(null));
  });
  if (!failed)
    return {
      hub,
      where,
      close: () => {
        hub.close();
        listener.close();
      },
    };
  io.err(`iio-sim exec: cannot listen for the program's children: ${failed.message}`);
  return null;
}

/** The run's trace recording (null without --trace or --perfetto), with its dma_fence lines unless told not to. */
function startTrace(sim: Simulator, o: ExecOptions): { trace: Recording | null; stopFtrace: () => void } {
  if (o.trace === undefined && o.perfetto === undefined) return { trace: null, stopFtrace: () => {} };
  const trace = recordTrace(sim.events, sim.abi, o.straceCompat ? { compat: 'strace-6.1' } : {});
  const stopFtrace =
    o.ftrace && !o.straceCompat ? traceFences(sim.events, (l) => trace.lines.push(l)) : () => {};
  return { trace, stopFtrace };
}

/** `iio-sim exec ...`: resolves to the exit status (the program's, or 2 for unusable input). */
export async function execCommand(argv: readonly string[], io: ExecIo): Promise<number> {
  const o = parseExecArgs(argv);
  if (typeof o === 'string') {
    io.err(o);
    io.err(EXEC_USAGE);
    return 2;
  }
  const bridge = bridgeLibrary(o.program, io);
  if (!bridge) return 2;
  const sim = makeSimulator(o, io);
  if (!sim) return 2;
  const dacs = playedDacs(sim, o, io);
  if (!dacs || !scheduleActions(sim, o.at ?? [], io)) return 2;
  const { trace, stopFtrace } = startTrace(sim, o);
  const fences = o.summary ? new FenceStats(sim.events) : null;
  const checker = o.check ? new ContractChecker(sim) : null;

  const children = await listenForChildren(io);
  if (!children) return 2;
  const child = spawnBridged(o, bridge, children.where);
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => resolve(e));
  });
  if (spawned) {
    children.close();
    io.err(
      `iio-sim exec: cannot run '${o.program}': ${(spawned as NodeJS.ErrnoException).code ?? spawned.message}`,
    );
    return 127;
  }
  const exited = childExit(child);
  const socket = child.stdio[3] as Socket;
  const reader = new FrameReader(socket);
  // A 32-bit program is a compat task: its ioctls take the compat path and its addresses fit 32 bits.
  const session = (sys: Sys) => new BridgeSession(sim, sys, socket, reader, children.hub).serve(exited);
  sim.spawn(basename(o.program), session, {
    compat: bridge.model === 'ilp32',
  });
  let result: Awaited<ReturnType<Simulator['run']>>;
  try {
    result = await sim.run();
  } catch (e) {
    children.close();
    child.kill('SIGKILL');
    io.err(`iio-sim exec: simulator failure: ${e instanceof Error ? e.message : String(e)}`);
    await exited;
    return 2;
  }
  const outcome = result.processes[0]!;
  if (outcome.status !== 'exited' && outcome.status !== 'killed') {
    child.kill('SIGKILL');
    io.err(`iio-sim exec: ${o.program}: ${outcome.reason}`);
  }
  socket.destroy();
  children.close();
  const end = await exited;
  const code = end.signal !== null ? 128 + end.signal : (end.code ?? 1);
  checker?.finish(result);
  checker?.detach();
  trace?.detach();
  stopFtrace();
  if (trace && o.trace !== undefined) {
    const text = `${trace.lines.join('\n')}\n`;
    if (o.trace === '-') process.stderr.write(text);
    else writeFileSync(o.trace, text);
  }
  if (trace && o.perfetto !== undefined)
    writeFileSync(o.perfetto, exportPerfetto(trace.events, { end: result.time }));
  const written = writePlayed(dacs, result.time, io);
  if (o.summary) {
    for (const line of summaryLines(result, fences)) io.err(line);
    if (checker) for (const line of checker.summaryLines()) io.err(line);
  }
  if (!written) return 2;
  return outcome.status === 'exited' || outcome.status === 'killed' ? code : code || 1;
}
