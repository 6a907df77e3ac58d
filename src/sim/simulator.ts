/**
 * The simulator: one virtual clock, the simulated hardware, a kernel, and programs that run as processes.
 * `createSimulator()` builds it; `spawn()` adds processes; `run()` advances virtual time until they are
 * done, blocked for good, or a time limit is reached.
 */
import type { EventEmitter } from 'eventemitter3';
import type { CheckEvents } from '../check/finding.ts';
import { VirtualClock } from '../hw/clock.ts';
import { CountingEmitter } from '../hw/emitter.ts';
import { Rng } from '../hw/rng.ts';
import type { KernelEvents } from '../kernel/events.ts';
import { iioDeviceUnregister } from '../kernel/iio/core.ts';
import { type AbiProfile, Kernel } from '../kernel/kernel.ts';
import { SegmentationFault } from '../kernel/mm.ts';
import { DEFAULT_PLATFORM, PLATFORMS, type PlatformName, type PlatformProfile } from '../kernel/platform.ts';
import type { Task } from '../kernel/task.ts';
import { O_RDWR } from '../uapi/fcntl.ts';
import { SIGKILL, SIGSEGV } from '../uapi/signal.ts';
import { buildDevices, type DeviceConfig, defaultDevices, deviceStats } from './devices.ts';
import type { DeviceStats, SimDevice } from './drivers.ts';
import { makeSys, ProcessRuntime, type Sys } from './process.ts';
import { type HostStdio, installInheritedStdio, PROCESS_STDIO } from './stdio.ts';
import { checkInteger, codedError, NR_OPEN } from './syscall-args.ts';

// Part of the run result's types; defined with the device-driver interface that computes it.
export type { DeviceStats } from './drivers.ts';

/** Every event on a simulation's bus. */
export type SimEvents = KernelEvents & CheckEvents;

/** Options of {@link createSimulator}. */
export interface SimulatorOptions {
  /** ABI profile of the kernel (default `mainline`). */
  abi?: AbiProfile;
  /** Seed of every random choice (noise signals, wake-up jitter). Default 1. */
  seed?: number;
  /** Devices, in `iio:deviceN` order (default: sim-adc, sim-dac, sim-dummy). */
  devices?: DeviceConfig[];
  /** CPU cost profile: a built-in name or a full profile, optionally with fields overridden (default zcu102). */
  platform?: PlatformName | PlatformProfile | (Partial<PlatformProfile> & { base?: PlatformName });
  /** RLIMIT_NOFILE soft limit of processes (default 1024). */
  nofile?: number;
  /** Events allowed at one virtual time before the run is declared a runaway (default 1,000,000). */
  loopLimit?: number;
  /** Where processes spawned with `stdio: 'inherit'` write fds 1 and 2 (default: this Node process's streams). */
  hostStdio?: HostStdio;
}

/** Options of {@link Simulator.spawn}. */
export interface SpawnOptions {
  /** ILP32 process on the 64-bit kernel (compat ioctls). */
  compat?: boolean;
  /** Virtual time at which it starts (default: now). */
  startAt?: number;
  /** RLIMIT_NOFILE soft limit of this process. */
  nofile?: number;
  /**
   * Start with `/dev/null` on fds 0, 1 and 2, as a shell would give a program (default true); `'inherit'`:
   * fds 1 and 2 write to the simulator's `hostStdio`.
   */
  stdio?: boolean | 'inherit';
  /**
   * A task `Kernel.fork()` made (a child with its parent's fds and mappings), not yet started, to run `body`
   * as; `compat`, `nofile` and `stdio` are then the parent's. Used by the `exec` bridge.
   */
  forked?: Task;
}

/** A program: an async function of its syscall interface. Its resolved value is reported by `run()`. */
export type ProcessBody<R = unknown> = (sys: Sys) => Promise<R>;

/** How a process ended (or where it stands when the run stopped). */
export interface ProcessOutcome {
  readonly pid: number;
  readonly name: string;
  /** exited: the body returned; crashed: it threw; killed: a signal ended it; blocked: asleep with nothing left to wake it; running: the time limit came first. */
  readonly status: 'exited' | 'crashed' | 'killed' | 'blocked' | 'running';
  readonly exitTime: number | null;
  /** The body's resolved value. */
  readonly value?: unknown;
  /** What the body threw. */
  readonly error?: unknown;
  readonly signal?: number;
  /** For blocked processes: the syscall and why it sleeps. */
  readonly blockedIn?: {
    readonly syscall: string;
    readonly reason: string;
    /** When the syscall began. */
    readonly since: number;
    /** When it last went to sleep (after its last wake-up and re-check). */
    readonly sleepingSince: number;
  };
  readonly reason: string;
  readonly syscalls: number;
  readonly cpuNs: number;
  readonly copiedBytes: number;
}

/** Totals of a run. */
export interface RunStats {
  /** Virtual time at the end of the run, ns. */
  readonly time: number;
  readonly events: number;
  readonly syscalls: number;
  /** Bytes copied between kernel and user by all processes (data and syscall arguments). */
  readonly copiedBytes: number;
  /** Sample data copied between kernel and user by read()/write() on IIO buffers. */
  readonly dataCopiedBytes: number;
  readonly devices: Record<string, DeviceStats>;
}

/** What `run()` returns. */
export interface RunResult {
  readonly time: number;
  readonly processes: readonly ProcessOutcome[];
  readonly stats: RunStats;
  /** Kernel objects still alive, by kind. */
  readonly liveObjects: Record<string, number>;
}

/** Options of {@link Simulator.run}. */
export interface RunOptions {
  /** Stop at this virtual time (ns) even if processes are still running. */
  until?: number;
  /** Stop as soon as this holds after an event (the clock stays where that event left it). */
  stopWhen?: () => boolean;
  /**
   * With `stopWhen`: once it holds, go on with the events left at that instant (work deferred to the end of a
   * syscall), as a second run with `until` set to that time would, instead of stopping at once.
   */
  settle?: boolean;
}

interface Proc {
  readonly task: Task;
  readonly rt: ProcessRuntime;
  value?: unknown;
  error?: unknown;
  done: boolean;
}

function resolvePlatform(p: SimulatorOptions['platform']): PlatformProfile {
  if (p === undefined) return PLATFORMS[DEFAULT_PLATFORM];
  if (typeof p === 'string') {
    const found = PLATFORMS[p];
    if (!found) throw new Error(`unknown platform '${p}' (known: ${Object.keys(PLATFORMS).join(', ')})`);
    return found;
  }
  const base = PLATFORMS[('base' in p && p.base) || DEFAULT_PLATFORM];
  const { base: _b, ...rest } = p as Partial<PlatformProfile> & { base?: PlatformName };
  return { ...base, ...rest };
}

/** A simulated system. */
export class Simulator {
  readonly clock: VirtualClock;
  readonly kernel: Kernel;
  /** The observation bus: the kernel's tracepoints and the contract checker's findings. */
  readonly events: EventEmitter<SimEvents>;
  readonly devices: readonly SimDevice<DeviceConfig>[];
  readonly options: Readonly<SimulatorOptions>;
  readonly #procs: Proc[] = [];
  readonly #procByTask = new Map<Task, Proc>();
  #fatal: unknown = null;
  #eventCount = 0;
  /** Sample bytes read()/write() moved between IIO buffers and user memory (the `iio:data` tracepoint). */
  #dataCopiedBytes = 0;
  /** A run() is in progress: a second one is refused. */
  #running = false;

  constructor(options: SimulatorOptions = {}) {
    if (options.nofile !== undefined) checkInteger('createSimulator', 'nofile', options.nofile, 0, NR_OPEN);
    this.options = options;
    const seed = options.seed ?? 1;
    this.clock = new VirtualClock(options.loopLimit === undefined ? {} : { loopLimit: options.loopLimit });
    this.events = new CountingEmitter<SimEvents>();
    const rng = new Rng(seed);
    this.kernel = new Kernel({
      clock: this.clock,
      rng,
      platform: resolvePlatform(options.platform),
      profile: options.abi ?? 'mainline',
      events: this.events,
      ...(options.nofile === undefined ? {} : { nofile: options.nofile }),
    });
    this.kernel.sched.runtime = {
      returnToUser: (task, ret) => this.#proc(task).rt.resume(ret),
      taskGone: (task) => this.#proc(task).rt.park(),
      inlineLimit: () => this.#runUntil,
    };
    this.devices = buildDevices(this.kernel, this.clock, options.devices ?? defaultDevices(), seed);
    this.events.on('iio:data', (e) => {
      this.#dataCopiedBytes += e.bytes;
    });
  }

  /** The ABI profile. */
  get abi(): AbiProfile {
    return this.kernel.abi.name;
  }

  /** The platform cost profile in use. */
  get platform(): PlatformProfile {
    return this.kernel.sched.platform;
  }

  /** Current virtual time, ns. */
  get now(): number {
    return this.clock.now;
  }

  /** A device by name (`sim-adc`) or by `iio:deviceN`. */
  device(name: string): SimDevice<DeviceConfig> {
    const d = this.devices.find((x) => x.config.name === name || x.iio.devName === name);
    if (!d) throw new Error(`no device '${name}'`);
    return d;
  }

  #proc(task: Task): Proc {
    // A map, not a find() with a closure: this runs every time a task returns to user space.
    const p = this.#procByTask.get(task);
    if (!p) throw new Error(`no process for pid ${task.pid}`);
    return p;
  }

  /** Adds a process running `body`. Returns its pid. */
  spawn<R>(name: string, body: ProcessBody<R>, opts: SpawnOptions = {}): number {
    if (opts.nofile !== undefined) checkInteger('spawn', 'nofile', opts.nofile, 0, NR_OPEN);
    const forked = opts.forked;
    if (forked && (forked.state !== 'new' || this.#procs.some((p) => p.task === forked)))
      throw new Error(`spawn: task ${forked.pid} has already started`);
    const task = forked ?? this.kernel.createTask(name, opts.compat ?? false, opts.nofile);
    const stdio = forked ? false : (opts.stdio ?? true);
    if (stdio === 'inherit')
      installInheritedStdio(this.kernel, task, this.options.hostStdio ?? PROCESS_STDIO);
    else if (stdio) for (let i = 0; i < 3; i++) this.kernel.sys.open(task, '/dev/null', O_RDWR);
    const rt = new ProcessRuntime(this.kernel, task, (e) => {
      this.#fatal ??= e;
    });
    const proc: Proc = { task, rt, done: false };
    this.#procs.push(proc);
    this.#procByTask.set(task, proc);
    const sys = makeSys(this.kernel, rt);
    const start = () => {
      let result: Promise<R>;
      try {
        result = body(sys);
      } catch (e) {
        result = Promise.reject(e);
      }
      Promise.resolve(result).then(
        (value) => this.#ended(proc, value, undefined),
        (error: unknown) => this.#ended(proc, undefined, error),
      );
    };
    this.clock.at(opts.startAt ?? this.clock.now, `${name}[${task.pid}] starts`, () => {
      if (!task.alive) return;
      task.state = 'user';
      return rt.resume(0, start);
    });
    return task.pid;
  }

  #ended(proc: Proc, value: unknown, error: unknown): void {
    proc.done = true;
    const task = proc.task;
    if (task.alive) {
      if (error === undefined) {
        proc.value = value;
        this.kernel.sched.exit(task, { code: 0, signal: null, time: this.clock.now, reason: 'returned' });
      } else if (error instanceof SegmentationFault) {
        proc.error = error;
        this.kernel.sched.exit(task, {
          code: null,
          signal: SIGSEGV,
          time: this.clock.now,
          reason: error.message,
        });
      } else {
        proc.error = error;
        this.kernel.sched.exit(task, {
          code: 1,
          signal: null,
          time: this.clock.now,
          reason: `threw: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
    proc.rt.park();
  }

  /**
   * Removes a device now, as unbinding its driver would (`iio_device_unregister` + buffer teardown): open
   * files stay open and answer -ENODEV; queued transfers never complete.
   */
  removeDevice(name: string): void {
    iioDeviceUnregister(this.device(name).iio);
  }

  /** Schedules `fn` at virtual time `time` (fault injection, measurements). */
  at(time: number, label: string, fn: () => void): void {
    this.clock.at(time, label, fn);
  }

  /**
   * Sends a signal to a process, as `kill(1)` would (SIGKILL by default); a pid no process has is ignored.
   * A `pid` that is not an integer, or a `sig` that is not an integer from 1 to 64, is refused the way
   * Node's own APIs refuse a bad argument: a synchronous `TypeError` (`ERR_INVALID_ARG_TYPE`) or
   * `RangeError` (`ERR_OUT_OF_RANGE`).
   */
  kill(pid: number, sig = SIGKILL): void {
    checkInteger('kill', 'pid', pid, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    checkInteger('kill', 'sig', sig, 1, 64);
    const t = this.kernel.tasks.get(pid);
    if (t) this.kernel.sched.signal(t, sig);
  }

  /**
   * Runs until every process has ended, the remaining ones are blocked with nothing scheduled that could
   * wake them, or `until` is reached. Simulator bugs (broken invariants) are thrown. One run at a time: a call
   * while another is in progress rejects with `code: 'ERR_SIM_RUN_IN_PROGRESS'`.
   */
  async run(opts: RunOptions = {}): Promise<RunResult> {
    if (this.#running)
      throw codedError(
        new Error('run(): this simulator is already running (await the run in progress before the next)'),
        'ERR_SIM_RUN_IN_PROGRESS',
      );
    this.#running = true;
    await this.#run(opts);
    return this.result();
  }

  /**
   * {@link Simulator.run} without its result: runs just as far, for a driver that steps the simulation an
   * operation at a time and reads what it needs itself (building every process's outcome per step would cost
   * more than the step).
   */
  advance(opts: RunOptions = {}): Promise<void> {
    if (this.#running)
      return Promise.reject(
        codedError(
          new Error(
            'advance(): this simulator is already running (await the run in progress before the next)',
          ),
          'ERR_SIM_RUN_IN_PROGRESS',
        ),
      );
    this.#running = true;
    // Not async itself: a driver advances once per driven call, and each async layer is a promise more.
    return this.#run(opts);
  }

  /** Whether a spawned process still lives (checked before every event: a loop, not a closure per event). */
  #anyAlive(): boolean {
    // By index: asked before every event, and a for-of made an iterator each time.
    const procs = this.#procs;
    for (let i = 0; i < procs.length; i++) if (procs[i]!.task.alive) return true;
    return false;
  }

  /** The end of the run in progress: how far a syscall may return to user space without an event. */
  #runUntil = Number.NEGATIVE_INFINITY;

  /** The run loop of {@link Simulator.run} and {@link Simulator.advance}, which set `#running` (cleared here). */
  async #run(opts: RunOptions): Promise<void> {
    try {
      let until = opts.until ?? Number.POSITIVE_INFINITY;
      this.#runUntil = until;
      let stopWhen = opts.stopWhen;
      // A test after every event may stop the run between any two: no event steps past the one running then.
      this.clock.horizon = stopWhen ? Number.NEGATIVE_INFINITY : until;
      for (;;) {
        if (this.#fatal) throw this.#fatal;
        if (!this.#anyAlive()) break;
        const ev = this.clock.take(until);
        if (!ev) break;
        this.#eventCount++;
        const r = ev.fn();
        if (r) await r;
        if (stopWhen?.()) {
          if (this.#fatal) throw this.#fatal;
          if (!opts.settle) return;
          until = this.clock.now;
          this.#runUntil = until;
          this.clock.horizon = until;
          stopWhen = undefined;
        }
      }
      this.clock.horizon = Number.NEGATIVE_INFINITY;
      // Work the kernel deferred at this instant (workers after the last exit) finishes before the report.
      for (let ev = this.clock.take(this.clock.now); ev; ev = this.clock.take(this.clock.now)) {
        this.#eventCount++;
        const r = ev.fn();
        if (r) await r;
      }
      if (this.#fatal) throw this.#fatal;
      if (until !== Number.POSITIVE_INFINITY && this.#anyAlive()) this.clock.advanceTo(until);
    } finally {
      this.clock.horizon = Number.NEGATIVE_INFINITY;
      this.#runUntil = Number.NEGATIVE_INFINITY;
      this.#running = false;
    }
  }

  /** The outcome of every process and the statistics so far. */
  result(): RunResult {
    const blocked = new Map(
      this.kernel.sched.blocked(this.#procs.map((p) => p.task)).map((b) => [b.task, b]),
    );
    const idle = this.clock.pending === 0;
    const processes = this.#procs.map((p): ProcessOutcome => {
      const t = p.task;
      const base = {
        pid: t.pid,
        name: t.comm,
        syscalls: t.syscalls,
        cpuNs: t.cpuNs,
        copiedBytes: t.copiedBytes,
      };
      if (t.exit) {
        const status = t.exit.signal !== null ? 'killed' : p.error !== undefined ? 'crashed' : 'exited';
        return {
          ...base,
          status,
          exitTime: t.exit.time,
          reason: t.exit.reason,
          ...(p.value === undefined ? {} : { value: p.value }),
          ...(p.error === undefined ? {} : { error: p.error }),
          ...(t.exit.signal === null ? {} : { signal: t.exit.signal }),
        };
      }
      const b = blocked.get(t);
      if (b && idle)
        return {
          ...base,
          status: 'blocked',
          exitTime: null,
          blockedIn: { syscall: b.syscall, reason: b.reason, since: b.since, sleepingSince: b.sleepingSince },
          reason: `blocked forever in ${b.syscall}: ${b.reason}`,
        };
      return { ...base, status: 'running', exitTime: null, reason: 'still running at the time limit' };
    });
    return { time: this.clock.now, processes, stats: this.stats(), liveObjects: this.kernel.census.live() };
  }

  /** Counters of the run so far. */
  stats(): RunStats {
    // No prototype: a device may be named `__proto__` or `toString`.
    const devices: Record<string, DeviceStats> = Object.create(null);
    for (const d of this.devices) devices[d.config.name] = deviceStats(d);
    let syscalls = 0;
    let copiedBytes = 0;
    for (const p of this.#procs) {
      syscalls += p.task.syscalls;
      copiedBytes += p.task.copiedBytes;
    }
    return {
      time: this.clock.now,
      events: this.#eventCount + this.clock.inlineSteps,
      syscalls,
      copiedBytes,
      dataCopiedBytes: this.#dataCopiedBytes,
      devices,
    };
  }
}

/** Builds a simulated system: kernel, devices and an empty process list. */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  return new Simulator(options);
}
