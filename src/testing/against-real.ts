/**
 * Contract histories against the real kernel (`iio-sim fuzz --against real`): every command of a model-based
 * contract run (commands.ts) also runs, call for call, in a process of a real Linux kernel, and the kernel's
 * results must equal the simulator's: return values and errnos, what ioctls wrote back, poll's revents, and
 * after each `advance` the contents of every mapping. A divergence fails the run like a model violation, so
 * fast-check shrinks it.
 *
 * Time on the kernel is the test module's manual clock (`manual_clock=1`, real/module/README.md): the devices
 * move only when an `advance` writes `advance_ns`, exactly as the simulator's time moves only in the Driver's
 * `advance`. A call that sleeps is interrupted by SIGUSR1, repeatedly, until it returns: the simulator
 * interrupts such calls after 1 ns (INTERRUPT_AFTER_NS), the kernel's sleep forever on the frozen clock.
 */
import { compareCall } from '../real/compare.ts';
import { type CallRecord, type ProcessLog, recordingSys, SideLog, showRet } from '../real/diff-record.ts';
import { createRealKernel, moduleParams, type RealKernel } from '../real/runtime.ts';
import type { Sys } from '../sim/process.ts';
import { SIGUSR1 } from '../uapi/signal.ts';
import { writeAttr } from '../user/iio.ts';

/** The driven process's name on both sides. */
export const CONTRACT_PROCESS = 'contract';

/** A kernel call still running after this long gets SIGUSR1, and again after each further period. */
export const KERNEL_INTERRUPT_MS = 50;

/** How often a running kernel call is looked at. */
const KERNEL_POLL_MS = 10;

/** A kernel call still running after this long is reported blocked. */
export const KERNEL_CALL_LIMIT_MS = 10_000;

/** The module parameter that moves the manual clock. */
const ADVANCE_PARAM = '/sys/module/sim_iio/parameters/advance_ns';

type Job = {
  readonly op: (sys: Sys) => Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
};

/** A process of the kernel that runs operations the host hands it, one at a time. */
class DrivenRealProcess {
  readonly #queue: (Job | 'exit')[] = [];
  #wake: (() => void) | null = null;
  pid = -1;
  /** The process's raw Sys, once it runs. */
  sys: Sys | null = null;
  ended = false;

  /** The process body: takes jobs until told to exit. */
  body(prepare: (sys: Sys) => Promise<Sys>): (sys: Sys) => Promise<number> {
    return async (raw) => {
      this.sys = raw;
      const sys = await prepare(raw);
      for (;;) {
        while (this.#queue.length === 0) await new Promise<void>((r) => (this.#wake = r));
        const job = this.#queue.shift()!;
        if (job === 'exit') {
          this.ended = true;
          return 0;
        }
        try {
          job.resolve(await job.op(sys));
        } catch (e) {
          job.reject(e);
        }
      }
    };
  }

  /** Hands the process an operation; resolves with its value. */
  run<T>(op: (sys: Sys) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.#wake?.();
    });
  }

  exit(): void {
    this.#queue.push('exit');
    this.#wake?.();
  }
}

/** The outcome of one kernel call: its value and whether SIGUSR1 had to be sent, or blocked. */
export type KernelCallResult<T> =
  | { readonly done: true; readonly value: T; readonly interrupted: boolean }
  | { readonly done: false; readonly blocked: string };

/** A difference between the kernel's calls and the simulator's. */
export interface KernelDivergence {
  /** One line: which call, what each side returned. */
  readonly message: string;
  /** The kernel's calls of the step, as history lines. */
  readonly calls: readonly string[];
}

/** Addresses and lengths of the mappings both sides made, paired by the order of successful mmaps. */
function mapsOf(log: ProcessLog): { addr: number; len: number }[] {
  const maps: { addr: number; len: number }[] = [];
  for (const c of log.calls)
    if (c.call === 'mmap' && c.ret !== null && c.ret >= 0) maps.push({ addr: c.ret, len: Number(c.args[1]) });
  return maps;
}

/** A call's result as reports show it: `0 {fd=5}`, `-1 EPERM`, `?` while it runs. */
function resultOf(c: CallRecord): string {
  return `${c.ret === null ? '?' : showRet(c.ret)}${c.out ? ` ${c.out}` : ''}`;
}

/** A call as the history shows it: `ioctl(3, ...) = 0 {fd=5}`. */
function callLine(c: CallRecord): string {
  return `${c.text} = ${resultOf(c)}`;
}

/**
 * The kernel side of contract runs: a real kernel on the manual clock with the driven process (LP64 or ILP32)
 * and a helper process that moves the clock. Made by {@link KernelSide.start}; one per run.
 */
export class KernelSide {
  readonly kernel: RealKernel;
  readonly simLog = new SideLog();
  readonly kernelLog = new SideLog();
  readonly #proc = new DrivenRealProcess();
  readonly #clock = new DrivenRealProcess();
  readonly #simSys = new WeakMap<Sys, Sys>();
  readonly #running: Promise<unknown>;
  #simMark = 0;
  #kernelMark = 0;
  /** Operations during which a sleeping call had to be interrupted by SIGUSR1. */
  interrupted = 0;
  /** When the driven process's latest call started (Date.now()). */
  #callStarted = 0;

  private constructor(kernel: RealKernel, compat: boolean) {
    this.kernel = kernel;
    this.#proc.pid = kernel.spawn(
      CONTRACT_PROCESS,
      this.#proc.body(async (sys) => {
        await sys.sigaction(SIGUSR1, { restart: false });
        return this.#translating(
          recordingSys(sys, this.kernelLog, CONTRACT_PROCESS, {
            profile: 'mainline',
            gate: async () => {
              this.#callStarted = Date.now();
            },
          }),
        );
      }),
      { compat, stdio: false },
    );
    this.#clock.pid = kernel.spawn(
      'clock',
      this.#clock.body(async (sys) => sys),
      { stdio: false },
    );
    // The run ends when close() lets both processes exit; the limit (11 days) only has to fit a timer.
    this.#running = kernel.run({ untilNs: 1e15 });
  }

  /**
   * A fresh kernel (module reloaded with the default board on the manual clock) and its processes, from
   * `connect` (e.g. `(o) => createRealKernel({ channel, ...o })`).
   */
  static async start(
    compat: boolean,
    connect: (o: { module: { params: string } }) => Promise<RealKernel> = (o) => createRealKernel(o),
  ): Promise<KernelSide> {
    // Blocks orphaned by a history (ATT-12) keep their buffer referenced for good: do not wait 1 s at unload.
    const k = await connect({
      module: { params: `${moduleParams(undefined, 1)} manual_clock=1 unload_wait_ms=50` },
    });
    return new KernelSide(k, compat);
  }

  /** Syscalls the driven process made on the kernel (recorded ones: setup, commands, teardown). */
  get syscalls(): number {
    return this.kernelLog.process(CONTRACT_PROCESS).calls.length;
  }

  /** Sim addresses in munmap() become the kernel's: the k-th mapping of one side is the k-th of the other. */
  #translating(sys: Sys): Sys {
    const toKernel = (addr: number): number => {
      const sim = mapsOf(this.simLog.process(CONTRACT_PROCESS));
      const kern = mapsOf(this.kernelLog.process(CONTRACT_PROCESS));
      const k = sim.findLastIndex((m) => addr >= m.addr && addr < m.addr + m.len);
      return k >= 0 && kern[k] ? kern[k].addr + (addr - sim[k]!.addr) : addr;
    };
    return { ...sys, munmap: (addr, len) => sys.munmap(toKernel(addr), len) };
  }

  /** `op` for the simulator's process, its calls recorded (one recorder per process, kept across calls). */
  onSimulator<T>(op: (sys: Sys) => Promise<T>): (sys: Sys) => Promise<T> {
    return (sys) => {
      let rec = this.#simSys.get(sys);
      if (!rec) {
        rec = recordingSys(sys, this.simLog, CONTRACT_PROCESS, { profile: 'mainline' });
        this.#simSys.set(sys, rec);
      }
      return op(rec);
    };
  }

  /** Runs `op` in the kernel's driven process, sending SIGUSR1 while one of its calls sleeps. */
  async call<T>(op: (sys: Sys) => Promise<T>): Promise<KernelCallResult<T>> {
    let finished = false;
    let interrupted = false;
    const result = this.#proc.run(op).finally(() => {
      finished = true;
    });
    const calls = this.kernelLog.process(CONTRACT_PROCESS).calls;
    let lastSignal = 0;
    for (;;) {
      const tick = new Promise<void>((r) => setTimeout(r, KERNEL_POLL_MS));
      await Promise.race([result.catch(() => {}), tick]);
      if (finished) break;
      const now = Date.now();
      const current = calls.at(-1);
      // Only a call that has been inside the kernel for a while is sleeping: signal it (again).
      if (!current || current.ret !== null || now - this.#callStarted < KERNEL_INTERRUPT_MS) continue;
      if (now - this.#callStarted > KERNEL_CALL_LIMIT_MS)
        return {
          done: false,
          blocked: `${current.text} still running after ${KERNEL_CALL_LIMIT_MS / 1000} s and SIGUSR1`,
        };
      if (now - lastSignal < KERNEL_INTERRUPT_MS) continue;
      this.kernel.kill(this.#proc.pid, SIGUSR1);
      lastSignal = now;
      interrupted = true;
    }
    if (interrupted) this.interrupted++;
    return { done: true, value: await result, interrupted };
  }

  /** Lets `ns` pass on the kernel's manual clock; resolves to what the write of advance_ns returned. */
  advance(ns: number): Promise<number> {
    return this.#clock.run((sys) => writeAttr(sys, ADVANCE_PARAM, String(ns)));
  }

  /**
   * Compares the calls both sides made since the last comparison: null when they agree (exactly, or under a
   * comparison rule), else the first difference.
   */
  compare(): KernelDivergence | null {
    const sim = this.simLog.process(CONTRACT_PROCESS).calls.slice(this.#simMark);
    const kern = this.kernelLog.process(CONTRACT_PROCESS).calls.slice(this.#kernelMark);
    this.#simMark += sim.length;
    this.#kernelMark += kern.length;
    const calls = kern.map(callLine);
    for (let i = 0; i < Math.max(sim.length, kern.length); i++) {
      const s = sim[i];
      const k = kern[i];
      if (!s || !k)
        return {
          message: s ? `the kernel made no ${s.text}` : `the simulator made no ${k!.text}`,
          calls,
        };
      const v = compareCall(s, k);
      if (v.kind === 'differ')
        return {
          message: `${s.text}: ${v.what}: the simulator ${resultOf(s)}, the kernel ${resultOf(k)}`,
          calls,
        };
    }
    return null;
  }

  /** The bytes of `len` at the kernel address matching simulator address `addr` (null when unreadable). */
  async read(addr: number, len: number): Promise<Uint8Array | null> {
    const sim = mapsOf(this.simLog.process(CONTRACT_PROCESS));
    const kern = mapsOf(this.kernelLog.process(CONTRACT_PROCESS));
    const k = sim.findLastIndex((m) => addr >= m.addr && addr < m.addr + m.len);
    const at = k >= 0 && kern[k] ? kern[k].addr + (addr - sim[k]!.addr) : addr;
    return this.#proc.run(async () => {
      const raw = this.#proc.sys!;
      // An unrecorded call refreshes the host's mirror of the mappings (the DMA wrote them meanwhile).
      await raw.getpid();
      try {
        return raw.mem.read(at, len);
      } catch {
        return null;
      }
    });
  }

  /** Ends both processes and lets go of the kernel. */
  async close(): Promise<void> {
    this.#proc.exit();
    this.#clock.exit();
    await Promise.race([this.#running, new Promise((r) => setTimeout(r, 5000))]);
    await this.kernel.close();
  }
}
