/**
 * Shared test helpers: run one program (or several) on a fresh simulator and get the result back.
 *
 * With `IIO_SIM_TARGET=real` (`npm run test:real`, vitest.real.config.ts) the same helpers run the programs on
 * Debian's Linux 7.3 in QEMU instead (the oracle, docs/oracle.md): the body gets the real kernel's `Sys`, and
 * whatever the real side cannot give skips the test with a reason instead of failing it or passing silently:
 * the `sim` object (simulator internals), run statistics, the v2 ABI, a non-coherent platform, devices the
 * test module cannot express. {@link simOnly} marks an assertion about virtual time.
 */
import type { Duplex } from 'node:stream';
import { expect, TestRunner } from 'vitest';
import {
  createSimulator,
  type DeviceConfig,
  defaultDevices,
  O_WRONLY,
  type Simulator,
  type SimulatorOptions,
  type SpawnOptions,
  type Sys,
} from '../src/index.ts';
import type { RealKernel, RealRunResult, RealSpawnOptions } from '../src/real/runtime.ts';
import type { ProcessBody, ProcessOutcome, RunOptions, RunResult } from '../src/sim/simulator.ts';

/** The tests run their programs on the real kernel (`IIO_SIM_TARGET=real`), not on the simulator. */
export const ORACLE = process.env.IIO_SIM_TARGET === 'real';

/** What a test file's `test.meta` says about its run on the real kernel (read by the oracle reporter). */
declare module 'vitest' {
  interface TaskMeta {
    /** Set when at least one program of the test ran on the real kernel and the test went on. */
    oracleRuns?: number;
    /** Assertions {@link simOnly} left out on the real kernel, with their reasons. */
    oracleSimOnly?: string[];
  }
}

/** Options of {@link runOne}: the simulator's, plus how the process is spawned and judged. */
export type RunOneOptions = TestSimulatorOptions & {
  spawn?: SpawnOptions;
  until?: number;
  allowAbnormal?: boolean;
};

/** The outcome of {@link runOne}. */
export interface RunOne<R> {
  readonly value: R;
  readonly outcome: ProcessOutcome;
  readonly result: RunResult;
  readonly sim: Simulator;
}

/**
 * Runs `body` as the only process of a new simulator and returns what it returned. Fails the test when the
 * process did not exit normally (crash, kill, blocked), unless `allowAbnormal`. On the real kernel, the
 * `sim` argument and `result.sim` are stand-ins whose use skips the test.
 */
export async function runOne<R>(
  body: (sys: Sys, sim: Simulator) => Promise<R>,
  options: RunOneOptions = {},
): Promise<RunOne<R>> {
  const { spawn, until, allowAbnormal, ...simOptions } = options;
  const sim = testSimulator(simOptions);
  // Rule tests count fds from 0: no stdio unless asked for.
  sim.spawn('test', (sys) => body(sys, sim), { stdio: false, ...spawn });
  const result = await sim.run({
    ...(until === undefined ? {} : { until }),
    ...(allowAbnormal && ORACLE ? { realUntilNs: ABNORMAL_REAL_LIMIT_NS } : {}),
  });
  const outcome = result.processes[0]!;
  if (!allowAbnormal) {
    if (outcome.status === 'crashed') throw outcome.error;
    expect(outcome.status, outcome.reason).toBe('exited');
  }
  return { value: outcome.value as R, outcome, result, sim };
}

/** Bytes of an ASCII string. */
export function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/**
 * An assertion about the simulator's virtual time (exact ns of a wake-up, a CPU cost): runs `check` on the
 * simulator only. On the real kernel time is real, so the assertion cannot hold exactly; the test goes on and
 * the reason is noted in its meta (and in the oracle report). Use it only for values that are times; never
 * for a result that differs because the kernel does something else.
 */
export function simOnly(reason: string, check: () => void): void {
  if (!ORACLE) {
    check();
    return;
  }
  noteSimOnly(reason);
}

/**
 * How much later than in virtual time an event may be seen on the real kernel, in real ns: a few syscall round
 * trips to the VM under load. Divided by the run's time scale, it is the slack of {@link vtime}.
 */
export const REAL_SLACK_NS = 500e6;

/** The time scale of the test's last real run (vtime's slack is in the devices' time). */
let lastTimescale = 1;

/**
 * A time (ns since the run started, as `sys.now()` gives it) in an expected value. On the simulator it is
 * exactly `ns`. On the real kernel every syscall is a round trip to the VM, so events are seen later than in
 * virtual time, never earlier: there it matches any time in `[ns, ns + slack]`, the slack being
 * {@link REAL_SLACK_NS} of real time in the devices' time (or `slackNs` of the devices' time), and notes that
 * the exact value was left to the simulator.
 */
export function vtime(ns: number, slackNs = REAL_SLACK_NS / lastTimescale): number {
  if (!ORACLE) return ns;
  noteSimOnly('exact virtual time (real time checked as a lower bound with slack)');
  const low = ns;
  const high = ns + slackNs;
  return expect.toSatisfy(
    (t: unknown) => typeof t === 'number' && t >= low && t <= high,
    `a real time in [${low}, ${high}] ns`,
  ) as unknown as number;
}

/**
 * Like {@link vtime}, for a duration measured from a point that may come after what starts the wait (the
 * return of the call that enabled a device, whose events count from inside that call): on the real kernel it
 * may be shorter by the slack as well as longer.
 */
export function vspan(ns: number, slackNs = REAL_SLACK_NS / lastTimescale): number {
  if (!ORACLE) return ns;
  noteSimOnly('exact virtual time (a real duration checked within the slack)');
  const low = ns - slackNs;
  const high = ns + slackNs;
  return expect.toSatisfy(
    (t: unknown) => typeof t === 'number' && t >= low && t <= high,
    `a real duration in [${low}, ${high}] ns`,
  ) as unknown as number;
}

/**
 * An expected value that only virtual time makes exact: `expected` on the simulator; on the real kernel any
 * value for which `onReal` holds (described by `what`), with the exact value noted as left to the simulator.
 * For values that depend on when a call reaches the kernel, such as the first scan of a transfer queued
 * while the converter runs.
 */
export function simExact<T>(expected: T, onReal: (actual: T) => boolean, what: string): T {
  if (!ORACLE) return expected;
  noteSimOnly(`exact value in virtual time: ${what}`);
  return expect.toSatisfy((a: T) => onReal(a), what) as unknown as T;
}

/**
 * Reads simulator internals (trace events, the kernel log, live kernel objects, what a DAC played) that no
 * syscall shows: `fn()` on the simulator; on the real kernel `fn` is not run and the result is undefined, so
 * the rest of the program still runs there and its user-space observations are checked. Pair the value with
 * {@link simState} in the expectation.
 */
export function simInternal<T>(fn: () => T): T | undefined {
  return ORACLE ? undefined : fn();
}

/**
 * The expected value of a {@link simInternal} reading: exactly `expected` on the simulator; on the real kernel
 * the reading was not made, so undefined is expected (toEqual then wants the property absent or undefined, as
 * the reading left it), which is noted with `what` in the oracle report.
 */
export function simState<T>(expected: T, what: string): T {
  if (!ORACLE) return expected;
  noteSimOnly(`kernel state no syscall shows: ${what}`);
  return undefined as T;
}

function noteSimOnly(reason: string): void {
  const test = TestRunner.getCurrentTest();
  if (test) {
    test.meta.oracleSimOnly ??= [];
    if (!test.meta.oracleSimOnly.includes(reason)) test.meta.oracleSimOnly.push(reason);
  }
}

/** The test module's parameter that unregisters a device (real/module/README.md). */
const REMOVE_PARAM = '/sys/module/sim_iio/parameters/remove';

/** Writes `name` to the test module's `remove` parameter through `sys`: the device is unregistered. */
async function writeRemove(sys: Sys, name: string): Promise<void> {
  const fd = await sys.open(REMOVE_PARAM, O_WRONLY);
  if (fd < 0) throw new Error(`oracle: open ${REMOVE_PARAM}: ${fd}`);
  const bytes = new TextEncoder().encode(name);
  const buf = sys.mem.alloc(bytes.length);
  sys.mem.write(buf, bytes);
  const ret = await sys.write(fd, buf, bytes.length);
  await sys.close(fd);
  if (ret !== bytes.length) throw new Error(`oracle: removing ${name}: ${ret}`);
}

/**
 * Removes (unbinds) the device `name` before the program's next call: `sim.removeDevice(name)` on the
 * simulator; on the real kernel the program itself writes the name to the test module's `remove` parameter,
 * which unregisters the IIO device as an unbind does. (`sim.removeDevice()` inside `sim.at()` works on both:
 * there a short-lived process of its own writes the parameter.)
 */
export async function removeDevice(sys: Sys, sim: Simulator, name: string): Promise<void> {
  if (ORACLE) await writeRemove(sys, name);
  else sim.removeDevice(name);
}

/** The test module's parameter that pushes an event (real/module/README.md). */
const PUSH_EVENT_PARAM = '/sys/module/sim_iio/parameters/push_event';

/** Writes `device id timestamp` to the test module's `push_event` parameter through `sys`. */
async function writePushEvent(sys: Sys, device: string, id: bigint, timestamp: bigint): Promise<void> {
  const fd = await sys.open(PUSH_EVENT_PARAM, O_WRONLY);
  if (fd < 0) throw new Error(`oracle: open ${PUSH_EVENT_PARAM}: ${fd}`);
  const bytes = new TextEncoder().encode(
    `${device} ${BigInt.asUintN(64, id)} ${BigInt.asIntN(64, timestamp)}`,
  );
  const buf = sys.mem.alloc(bytes.length);
  sys.mem.write(buf, bytes);
  const ret = await sys.write(fd, buf, bytes.length);
  await sys.close(fd);
  sys.mem.free(buf);
  if (ret !== bytes.length) throw new Error(`oracle: pushing an event on ${device}: ${ret}`);
}

/**
 * Pushes an event (`id`, `timestamp`) on the event interface of `device` (sim-dummy) before the program's next
 * call, as the driver's interrupt handler would (`iio_push_event()`). On the simulator it is
 * `IioEventInterface.push()` and the result says whether the event was queued (false: no event fd live, or the
 * queue full); on the real kernel the program writes the test module's `push_event` parameter, the kernel does
 * not tell, and the result is undefined (expect it with {@link simState}).
 */
export async function pushEvent(
  sys: Sys,
  sim: Simulator,
  id: bigint,
  timestamp: bigint,
  device = 'sim-dummy',
): Promise<boolean | undefined> {
  if (!ORACLE) return sim.device(device).iio.events!.push(id, timestamp);
  await writePushEvent(sys, device, id, timestamp);
  return undefined;
}

/**
 * {@link pushEvent} at `time` (ns after the run started, `sim.at()`): on the real kernel a short-lived process
 * of its own writes the parameter.
 */
export function pushEventAt(
  sim: Simulator,
  time: number,
  id: bigint,
  timestamp: bigint,
  device = 'sim-dummy',
): void {
  sim.at(time, 'event', () => {
    if (!ORACLE) sim.device(device).iio.events!.push(id, timestamp);
    else sim.spawn('push-event', (sys) => writePushEvent(sys, device, id, timestamp), { stdio: false });
  });
}

/** Skips the running test on the real kernel with `reason`; does nothing on the simulator. */
export function realSkip(reason: string): void {
  if (ORACLE) skipTest(reason);
}

/** A simulator as {@link testSimulator} returns it: the real subset works on both sides. */
export type TestSimulator = Simulator & {
  /** Runs; on the real kernel `realUntilNs` is the real-time limit (default 60 s). */
  run(opts?: RunOptions & { realUntilNs?: number }): Promise<RunResult>;
};

/**
 * `createSimulator(options)`, or on the real kernel a stand-in with the same `spawn`, `run`, `kill` and `at`
 * (`at` in real ns after the run starts). Every other member, and `run()`'s statistics, skip the test.
 */
export function testSimulator(options: TestSimulatorOptions = {}): TestSimulator {
  const { realTimescale, realExtra, ...simOptions } = options;
  if (!ORACLE) return createSimulator(simOptions) as TestSimulator;
  return realSimulator(options);
}

// ---------------------------------------------------------------------------------------------------------
// The oracle side.

/** Real-time limit of a run whose process may stay blocked forever (allowAbnormal). */
const ABNORMAL_REAL_LIMIT_NS = 5e9;
/** Real-time limit of any other run. */
const REAL_LIMIT_NS = 60e9;
/** How long a run may outlast its own time limit before the VM counts as wedged. */
const WATCHDOG_SLACK_MS = 60_000;
/**
 * How many times slower than real time the devices run on the real kernel (the module's `timescale`), unless a
 * test says otherwise. The rule tests are written against virtual time, in which a syscall costs about 1 µs,
 * while a syscall sent to the VM takes milliseconds: slowed down 100 times, the devices see a program's calls
 * about as close together as in virtual time (real/module/README.md, docs/oracle.md).
 */
const DEFAULT_TIMESCALE = Number(process.env.IIO_SIM_ORACLE_TIMESCALE ?? 100);

/** The VM did not answer within the watchdog's time. */
class VmWedged extends Error {
  override readonly name = 'VmWedged';
}

/** `p`, or a {@link VmWedged} rejection after `ms`. */
async function watchdog<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new VmWedged(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Thrown inside a program that touched a simulator-only object; the run's test is then skipped. */
class OracleSkip extends Error {
  override readonly name = 'OracleSkip';
}

function skipTest(reason: string): never {
  const test = TestRunner.getCurrentTest();
  if (!test) throw new Error(`oracle: cannot skip outside a test (${reason})`);
  return test.context.skip(`real kernel: ${reason}`);
}

/** Why the real kernel cannot run a simulator with these options, or null. */
function unsupportedOptions(options: SimulatorOptions): string | null {
  if (options.abi !== undefined && options.abi !== 'mainline')
    return `the ${options.abi} ABI profile exists only on the simulator`;
  const p = options.platform;
  if (typeof p === 'object' && p.coherentDma === false)
    return 'a non-coherent DMA platform (the x86 guest is cache-coherent)';
  return null;
}

/**
 * A stand-in for a simulator-only object: reading any member records the skip and throws, so the program
 * (or the test) stops there and the test is reported skipped with `reason`.
 */
function skipProxy<T extends object>(what: string, onUse: (reason: string) => never): T {
  const handler: ProxyHandler<object> = {
    get(_t, key) {
      // Promise resolution and inspection probe these; they are no use of the simulator.
      if (typeof key === 'symbol' || key === 'then' || key === 'toJSON') return undefined;
      return onUse(`${what} (${String(key)})`);
    },
    has: (_t, key) => onUse(`${what} (${String(key)})`),
    set: (_t, key) => onUse(`${what} (${String(key)})`),
  };
  return new Proxy({}, handler) as T;
}

/**
 * The program's view of a real process whose devices run `k` times slower than real time: its clock, its
 * sleeps, its poll timeouts and its CPU time are in the devices' time, as they are in virtual time.
 */
function scaledSys(sys: Sys, k: number): Sys {
  if (k === 1) return sys;
  const ms = (timeout: number) => (timeout > 0 ? Math.min(timeout * k, 0x7fffffff) : timeout);
  const over: Partial<Sys> = {
    now: () => Math.round(sys.now() / k),
    nanosleep: (ns) => sys.nanosleep(Number.isFinite(ns) && ns > 0 ? ns * k : ns),
    poll: (addr, nfds, timeout) => sys.poll(addr, nfds, ms(timeout)),
    pollfds: (entries, timeout) => sys.pollfds(entries, ms(timeout)),
    compute: (ns) => sys.compute(ns * k),
  };
  return new Proxy(sys, { get: (t, key) => (key in over ? over[key as keyof Sys] : Reflect.get(t, key)) });
}

/** A real outcome in the devices' time. */
function scaledOutcome(o: ProcessOutcome, k: number): ProcessOutcome {
  const t = (ns: number) => Math.round(ns / k);
  return {
    ...o,
    exitTime: o.exitTime === null ? null : t(o.exitTime),
    ...(o.blockedIn
      ? {
          blockedIn: {
            ...o.blockedIn,
            since: t(o.blockedIn.since),
            sleepingSince: t(o.blockedIn.sleepingSince),
          },
        }
      : {}),
  };
}

interface PendingSpawn {
  name: string;
  body: ProcessBody;
  opts: SpawnOptions;
  pid: number;
}

/** Options of {@link testSimulator}: the simulator's, and how fast the devices run on the real kernel. */
export type TestSimulatorOptions = SimulatorOptions & {
  /**
   * On the real kernel, how many times slower than real time the devices and the program's clock run (default
   * 100). 1 for a test that measures a kernel time limit (the 5 s fence wait of ENQUEUE, memfd's 150 ms of
   * seal retries), which does not slow down with the devices.
   */
  realTimescale?: number;
  /**
   * On the real kernel, the test module's extra devices to register after the board (its `extra` parameter,
   * real/module/README.md): the devices a test adds on the simulator with `sim.kernel.iio.register()`, in the
   * same order. Find them with {@link extraDevice}.
   */
  realExtra?: readonly ExtraDeviceKind[];
};

/**
 * The kinds of the test module's `extra` devices (real/module/sim_extra.c). Each is the device a rule test
 * registers on the simulator, with the same name (`sim-test`, or `sim-info` for `intfmt`), channels
 * (in_voltage0..2, u16; `nobuf` only in_voltage0) and attributes:
 * - `nobuf`: no buffer and no events (no char device, CDEV-1);
 * - `notrig`: a TRIGGERED-only kfifo device without a trigger (EN-4); `swtrig`: the same on a
 *   TRIGGERED|SOFTWARE device; `hwontrig`: a HARDWARE-only buffer on a TRIGGERED-only device, no trigger;
 * - `trig2`: a TRIGGERED-only device with two kfifos and its own trigger `sim-test-trigger` (never fired;
 *   EN-7, EN-8); `trig2mask`: the same with available_scan_masks `[[0, 1], [2]]` (EN-5);
 * - `hw2`: two HARDWARE-only buffers (EN-3); `hwmask`: one, with available_scan_masks `[[0, 1]]` (EN-5);
 * - `masks`: `notrig` with available_scan_masks `[[0, 1], [2]]`; `validate`: `notrig` whose
 *   validate_scan_mask accepts at most two channels (ATTR-23);
 * - `preenable`: a SOFTWARE kfifo device whose preenable fails with -EIO; `post2`: two SOFTWARE kfifos whose
 *   postenable fails with -EIO once two channels or more are captured (EN-8);
 * - `kfifoout`: `sim-out-fifo`, one output channel out_voltage0 (u16) on one SOFTWARE output kfifo of length 2
 *   (KFIFO-7);
 * - `intfmt`: `sampling_frequency` only, write_raw_get_fmt IIO_VAL_INT, reading back the last value written
 *   as IIO_VAL_INT_PLUS_MICRO (PARSE-6);
 * - `dmaengine`: two devices, `sim-dmaengine` and `sim-dmaengine-dac`, sim-adc's and sim-dac's twins on the real
 *   industrialio-buffer-dmaengine over the module's dmaengine controller (DMAQ-6, CYC-*); on the simulator
 *   {@link DMAENGINE_DEVICES} (use {@link withDmaengine}).
 */
export type ExtraDeviceKind =
  | 'nobuf'
  | 'notrig'
  | 'swtrig'
  | 'hwontrig'
  | 'trig2'
  | 'trig2mask'
  | 'hw2'
  | 'hwmask'
  | 'masks'
  | 'validate'
  | 'preenable'
  | 'post2'
  | 'kfifoout'
  | 'intfmt'
  | 'dmaengine';

/**
 * The simulator's twins of the test module's `dmaengine` extra devices: iio:device3 `sim-dmaengine`, an ADC like
 * sim-adc (4 × le:s12/16 ramps at 1 MHz), and iio:device4 `sim-dmaengine-dac`, a DAC like sim-dac (2 × le:s16/16
 * at 1 MHz), both on the default DMA controller (align 8 and 4, max segment 16 MiB, IRQ 2 µs).
 */
export const DMAENGINE_DEVICES: readonly DeviceConfig[] = [
  {
    kind: 'adc',
    name: 'sim-dmaengine',
    sampleRateHz: 1_000_000,
    channels: [0, 1, 2, 3].map((i) => ({ id: `voltage${i}`, type: 'le:s12/16>>0' })),
  },
  {
    kind: 'dac',
    name: 'sim-dmaengine-dac',
    sampleRateHz: 1_000_000,
    channels: [0, 1].map((i) => ({ id: `voltage${i}`, type: 'le:s16/16>>0' })),
  },
];

/**
 * Options that give the run the default board plus sim-dmaengine (iio:device3) and sim-dmaengine-dac
 * (iio:device4): on the simulator {@link DMAENGINE_DEVICES} added to the board, on the real kernel the test
 * module's `extra=dmaengine`, converters on industrialio-buffer-dmaengine over a dmaengine controller.
 */
export function withDmaengine(options: TestSimulatorOptions = {}): TestSimulatorOptions {
  if (ORACLE) return { ...options, realExtra: [...(options.realExtra ?? []), 'dmaengine'] };
  return { ...options, devices: [...defaultDevices(), ...DMAENGINE_DEVICES] };
}

const DMA_ERROR_PARAM = '/sys/module/sim_iio/parameters/dma_error';

/**
 * Makes the next transfer of DMA device `device` to complete fail with `residue` bytes not moved, before the
 * program's next call: `Dma.injectError(residue)` on the simulator; on the real kernel the program writes
 * `device residue` to the test module's `dma_error` parameter (the controller reports the failure and the
 * residue to industrialio-buffer-dmaengine, DMAQ-6).
 */
export async function injectDmaError(
  sys: Sys,
  sim: Simulator,
  residue: number,
  device = 'sim-adc',
): Promise<void> {
  if (!ORACLE) {
    sim.device(device).dma!.injectError(residue);
    return;
  }
  const fd = await sys.open(DMA_ERROR_PARAM, O_WRONLY);
  if (fd < 0) throw new Error(`oracle: open ${DMA_ERROR_PARAM}: ${fd}`);
  const bytes = new TextEncoder().encode(`${device} ${residue}`);
  const buf = sys.mem.alloc(bytes.length);
  sys.mem.write(buf, bytes);
  const ret = await sys.write(fd, buf, bytes.length);
  await sys.close(fd);
  sys.mem.free(buf);
  if (ret !== bytes.length) throw new Error(`oracle: dma_error on ${device}: ${ret}`);
}

/** How many devices the default board has: the first extra device is iio:device3. */
const DEFAULT_BOARD_DEVICES = 3;

/**
 * A device the test adds: on the simulator `register()` (which registers it as the next iio:deviceN); on the
 * real kernel the extra device number `index` of the run's `realExtra` (on the default board), with `real`
 * standing for what `register()` returns (only what user space can see: its directory and /dev name).
 */
export function extraDevice<T, R>(
  register: () => T,
  real: (dir: string, devName: string) => R,
  index = 0,
): T | R {
  if (!ORACLE) return register();
  const devName = `iio:device${DEFAULT_BOARD_DEVICES + index}`;
  return real(`/sys/bus/iio/devices/${devName}`, devName);
}

function realSimulator(options: TestSimulatorOptions): TestSimulator {
  const unsupported = unsupportedOptions(options);
  if (unsupported) skipTest(unsupported);
  const k = options.realTimescale ?? DEFAULT_TIMESCALE;
  const spawns: PendingSpawn[] = [];
  const timers: { time: number; fn: () => void }[] = [];
  const handles: NodeJS.Timeout[] = [];
  const pendingKills: [number, number | undefined][] = [];
  let skipReason: string | null = null;
  let kernel: RealKernel | null = null;
  let running = false;
  const use = (reason: string): never => {
    skipReason ??= reason;
    // Outside a program (the test itself reads `sim` or `result`): skip at once.
    if (!running) skipTest(reason);
    throw new OracleSkip(reason);
  };
  const internals = skipProxy<Simulator>('reads simulator internals', use);
  const spawnOptions = (o: SpawnOptions): RealSpawnOptions => ({
    ...(o.compat === undefined ? {} : { compat: o.compat }),
    ...(o.startAt === undefined ? {} : { startAt: o.startAt * k }),
    ...(o.nofile === undefined ? {} : { nofile: o.nofile }),
    ...(o.stdio === undefined ? {} : { stdio: o.stdio !== false }),
  });
  /**
   * Runs `fn` at device time `time` after the run started. The real run's clock starts once every process is
   * ready (its `now()` is 0 until then), so the timer waits for that first.
   */
  const schedule = (time: number, fn: () => void) => {
    const check = () => {
      const now = kernel?.now() ?? 0;
      const left = time * k - now;
      if (now === 0 || left > 0) {
        handles.push(setTimeout(check, now === 0 ? 1 : Math.max(1, left / 1e6)));
        return;
      }
      try {
        fn();
      } catch (e) {
        if (!(e instanceof OracleSkip)) throw e;
      }
    };
    check();
  };
  const real = {
    spawn(name: string, body: ProcessBody, opts: SpawnOptions = {}): number {
      const scaled = (sys: Sys) => body(scaledSys(sys, k));
      // A program may spawn others while the run goes on, as on the simulator.
      if (running && kernel) return kernel.spawn(name, scaled, spawnOptions(opts));
      const pid = 100 + spawns.length;
      spawns.push({ name, body: scaled, opts, pid });
      return pid;
    },
    at(time: number, _label: string, fn: () => void): void {
      if (!running) {
        timers.push({ time, fn });
        return;
      }
      // An event the program schedules after its time (its calls were slower on the VM than the timeline allows)
      // runs at once; the test's own assertions tell whether the order it needs still held.
      schedule(time, fn);
    },
    kill(pid: number, sig?: number): void {
      if (running && kernel) kernel.kill(pid, sig);
      else pendingKills.push([pid, sig]);
    },
    removeDevice(name: string): void {
      // From a timer of the test (sim.at): a process of its own writes the module's remove parameter.
      if (running && kernel) kernel.spawn('remove-device', (sys) => writeRemove(sys, name), { stdio: false });
      else use('removeDevice outside a running program: use removeDevice(sys, sim, name)');
    },
    async run(opts: RunOptions & { realUntilNs?: number } = {}): Promise<RunResult> {
      if (opts.stopWhen) skipTest('run({ stopWhen }) watches simulator state');
      const { createRealKernel, moduleParams } = await import('../src/real/runtime.ts');
      let params: string;
      try {
        params = moduleParams(options.devices, options.seed ?? 1);
      } catch (e) {
        return skipTest(`devices the test module cannot express: ${(e as Error).message}`);
      }
      if (k !== 1) params += ` timescale=${k}`;
      if (options.realExtra?.length) {
        if (options.devices !== undefined)
          skipTest('extra test devices after a board other than the default');
        params += ` extra=${options.realExtra.join(',')}`;
      }
      lastTimescale = k;
      const untilNs = opts.realUntilNs ?? (opts.until === undefined ? REAL_LIMIT_NS : opts.until * k);
      const c = await oracleConnection();
      const runReal = async (): Promise<RealRunResult> => {
        const kn = await createRealKernel({
          channel: c.channel,
          module: { params },
          ...(options.nofile === undefined ? {} : { nofile: options.nofile }),
        });
        kernel = kn;
        for (const s of spawns) {
          const pid = kn.spawn(s.name, s.body, spawnOptions(s.opts));
          if (pid !== s.pid) throw new Error(`oracle: pid ${pid} where the simulator gives ${s.pid}`);
        }
        try {
          const runP = kn.run({ untilNs });
          running = true;
          for (const [pid, sig] of pendingKills) kn.kill(pid, sig);
          for (const t of timers) schedule(t.time, t.fn);
          return await runP;
        } finally {
          running = false;
          for (const h of handles) clearTimeout(h);
          kernel = null;
          await kn.close();
        }
      };
      let r: RealRunResult;
      try {
        r = await watchdog(runReal(), untilNs / 1e6 + WATCHDOG_SLACK_MS);
      } catch (e) {
        const broken = await kernelBroken(c);
        if (broken !== null || e instanceof VmWedged) {
          await restartOracle();
          throw new Error(
            `the guest kernel ${broken === null ? 'stopped answering' : `broke (${broken})`} during this test; the VM was restarted`,
          );
        }
        throw e;
      }
      const broken = await kernelBroken(c);
      if (broken !== null) {
        await restartOracle();
        throw new Error(`the guest kernel broke during this test (${broken}); the VM was restarted`);
      }
      if (skipReason) skipTest(skipReason);
      noteRealRun();
      return realResult(r, k, use);
    },
  };
  return new Proxy(real, {
    get(target, key, receiver) {
      if (key in target) return Reflect.get(target, key, receiver);
      return Reflect.get(internals, key);
    },
  }) as unknown as TestSimulator;
}

/** A simulator RunResult built from a real run: processes and time are real; statistics skip the test. */
function realResult(r: RealRunResult, k: number, use: (reason: string) => never): RunResult {
  const stats = skipProxy<RunResult['stats']>('reads simulator run statistics', use);
  const liveObjects = skipProxy<RunResult['liveObjects']>('reads the simulator’s live kernel objects', use);
  return {
    time: Math.round(r.time / k),
    processes: r.processes.map((o) => scaledOutcome(o, k)),
    get stats() {
      return stats;
    },
    get liveObjects() {
      return liveObjects;
    },
  };
}

function noteRealRun(): void {
  const test = TestRunner.getCurrentTest();
  if (test) test.meta.oracleRuns = (test.meta.oracleRuns ?? 0) + 1;
}

// The connection to the oracle VM: one per test file (vitest runs each file in its own process).

interface OracleConnection {
  channel: Duplex;
  instance: string;
  /** The guest's serial console (kernel messages), and how far it has been checked. */
  consoleLog: string;
  consoleChecked: number;
  close(): Promise<void>;
}

let connection: Promise<OracleConnection> | null = null;

/** The VM instance the global setup started (test/real/global-setup.ts), through `inject`. */
async function oracleInstance(): Promise<string> {
  const { inject } = await import('vitest');
  const instance = inject('oracleInstance');
  if (!instance) {
    const { SETUP_SKIP_MESSAGE } = await import('../src/real/setup.ts');
    const why =
      instance === ''
        ? SETUP_SKIP_MESSAGE
        : 'no oracle VM: run the real-kernel tests with `npm run test:real` (vitest.real.config.ts)';
    return skipTest(why);
  }
  return instance;
}

async function connect(restart = false): Promise<OracleConnection> {
  const instance = await oracleInstance();
  const vm = await import('../src/real/vm.ts');
  const { ORACLE_CPU } = await import('./real/global-setup.ts');
  if (restart) await vm.stop({ instance });
  // A VM that died (a guest panic) is started again for the next tests.
  await vm.startDetached({ instance, cpu: ORACLE_CPU });
  const a = await vm.attach({ instance });
  a.socket.on('error', () => {});
  const { statSync } = await import('node:fs');
  const consoleLog = a.state.consoleLogPath;
  return {
    channel: a.socket,
    instance,
    consoleLog,
    consoleChecked: statSync(consoleLog).size,
    close: () => a.close(),
  };
}

async function oracleConnection(): Promise<OracleConnection> {
  connection ??= connect();
  let c: OracleConnection;
  try {
    c = await connection;
  } catch (e) {
    connection = null;
    throw e;
  }
  if (c.channel.destroyed) {
    await c.close();
    connection = connect();
    c = await connection;
  }
  return c;
}

/** Kernel log lines that mean the guest kernel can no longer be trusted (the VM is restarted). */
const KERNEL_BROKEN = /\b(Oops|BUG: |Kernel panic|general protection fault|Fixing recursive fault)/;

/**
 * The first line of kernel breakage the console shows since the last check, or null. A test whose program
 * oopses the kernel fails with that line, and the next test gets a fresh VM.
 */
async function kernelBroken(c: OracleConnection): Promise<string | null> {
  const { openSync, readSync, closeSync, fstatSync } = await import('node:fs');
  const fd = openSync(c.consoleLog, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= c.consoleChecked) return null;
    const buf = Buffer.alloc(size - c.consoleChecked);
    readSync(fd, buf, 0, buf.length, c.consoleChecked);
    c.consoleChecked = size;
    const line = buf
      .toString('utf8')
      .split('\n')
      .find((l) => KERNEL_BROKEN.test(l));
    return line?.trim() ?? null;
  } finally {
    closeSync(fd);
  }
}

/** Replaces the VM with a fresh one (after an oops, or when it stopped answering). */
async function restartOracle(): Promise<void> {
  const old = connection;
  connection = null;
  if (old) await (await old.catch(() => null))?.close();
  connection = connect(true);
  await connection;
}

/** Lets go of the oracle VM (the worker setup calls it after each file). */
export async function closeOracle(): Promise<void> {
  const c = connection;
  connection = null;
  if (c) await (await c.catch(() => null))?.close();
}
