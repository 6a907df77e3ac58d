/**
 * Driving simulated processes one call at a time from a test: each driven process waits in `pause()`;
 * the driver hands it an operation and wakes it with SIGUSR1, then runs the simulation until the operation
 * is done. Property tests and fuzzers interleave such calls with the passage of time.
 */

import type { Sys } from '../sim/process.ts';
import { createSimulator, type RunResult, type Simulator, type SimulatorOptions } from '../sim/simulator.ts';
import { SIGUSR1 } from '../uapi/signal.ts';

/** A process the driver controls. */
export interface DrivenProcess {
  readonly name: string;
  readonly pid: number;
  readonly compat: boolean;
}

interface Slot {
  op: ((sys: Sys) => Promise<unknown>) | 'exit' | null;
  /** Whether the operation ended, and how (fields, not an object per call). */
  ended: 'no' | 'value' | 'error';
  result: unknown;
  ready: boolean;
  /** The test of {@link Driver.call} for this process (one closure per process, not one per call). */
  finished: () => boolean;
}

/** Longest virtual time one driven call may take before it counts as blocked (default 10 s). */
export const CALL_LIMIT_NS = 10_000_000_000;

/** Options of {@link Driver.call}. */
export interface CallOptions {
  /** Virtual time after which the call counts as blocked for good and the process is killed (default {@link CALL_LIMIT_NS}). */
  limitNs?: number;
  /** If the call has not finished after this much virtual time, send SIGUSR1 (no SA_RESTART): a call sleeping interruptibly returns `-EINTR`. */
  interruptAfterNs?: number;
}

/** The outcome of one driven call: its value, or `blocked` when it did not finish within the limit. */
export type CallResult<T> = { done: true; value: T; interrupted: boolean } | { done: false; blocked: string };

/** Runs processes of a simulator step by step. */
export class Driver {
  readonly sim: Simulator;
  readonly #slots = new Map<number, Slot>();
  readonly processes: DrivenProcess[] = [];
  /** The driver's own syscalls (each process's sigaction and pauses). */
  #overhead = 0;

  constructor(options: SimulatorOptions = {}) {
    this.sim = createSimulator({ platform: 'ideal', ...options });
  }

  /** Adds a driven process (no stdio: its first fd is 0). */
  async spawn(name: string, compat = false): Promise<DrivenProcess> {
    const slot: Slot = { op: null, ended: 'no', result: undefined, ready: false, finished: () => false };
    const pid = this.sim.spawn(
      name,
      async (sys) => {
        this.#overhead++;
        await sys.sigaction(SIGUSR1, { restart: false });
        for (;;) {
          slot.ready = true;
          this.#overhead++;
          await sys.pause();
          slot.ready = false;
          const op = slot.op;
          slot.op = null;
          if (op === 'exit') return 0;
          if (op === null) continue;
          try {
            slot.result = await op(sys);
            slot.ended = 'value';
          } catch (error) {
            slot.result = error;
            slot.ended = 'error';
          }
        }
      },
      { compat, stdio: false },
    );
    slot.finished = this.#finishedTest(slot, pid);
    this.#slots.set(pid, slot);
    await this.sim.advance({ stopWhen: () => slot.ready && this.#paused(pid) });
    const p = { name, pid, compat };
    this.processes.push(p);
    return p;
  }

  #paused(pid: number): boolean {
    const t = this.sim.kernel.tasks.get(pid);
    return !!t?.sleeping && t.frame?.name === 'pause';
  }

  /** Whether the process is still alive (a signal or an oops can kill it). */
  alive(p: DrivenProcess): boolean {
    return this.sim.kernel.tasks.get(p.pid)?.alive ?? false;
  }

  /**
   * Runs `op` in process `p` and the simulation until it finishes (or `limitNs` of virtual time passes:
   * then the call is reported blocked and the process is killed). With `interruptAfterNs`, a call still
   * running after that time gets SIGUSR1, as a program's timer or another thread would send it.
   */
  async call<T>(
    p: DrivenProcess,
    op: (sys: Sys) => Promise<T>,
    options: CallOptions = {},
  ): Promise<CallResult<T>> {
    const slot = this.#slots.get(p.pid)!;
    if (!this.alive(p)) return { done: false, blocked: 'the process is dead' };
    slot.op = op as (sys: Sys) => Promise<unknown>;
    slot.ended = 'no';
    slot.result = undefined;
    this.sim.kill(p.pid, SIGUSR1);
    const deadline = this.sim.now + (options.limitNs ?? CALL_LIMIT_NS);
    const finished = slot.finished;
    let interrupted = false;
    // Work deferred to after the syscall (DMAQ-11, IFENCE-7) runs at the instant it finished (`settle`).
    if (options.interruptAfterNs !== undefined) {
      await this.sim.advance({
        until: this.sim.now + options.interruptAfterNs,
        stopWhen: finished,
        settle: true,
      });
      if (!finished()) {
        this.sim.kill(p.pid, SIGUSR1);
        interrupted = true;
      }
    }
    if (!finished()) await this.sim.advance({ until: deadline, stopWhen: finished, settle: true });
    if (!this.alive(p))
      return { done: false, blocked: this.sim.kernel.tasks.get(p.pid)?.exit?.reason ?? 'dead' };
    if (slot.ended === 'no') {
      const t = this.sim.kernel.tasks.get(p.pid);
      const why = t?.sleeping ? `${t.frame?.name}: ${t.sleeping.sleep.reason}` : 'running';
      this.sim.kill(p.pid, 9);
      await this.sim.advance({ until: this.sim.now });
      return { done: false, blocked: why };
    }
    const ended = slot.ended;
    const r = slot.result;
    slot.ended = 'no';
    slot.result = undefined;
    if (ended === 'error') throw r;
    return { done: true, value: r as T, interrupted };
  }

  /**
   * The test of {@link Driver.call}: the operation returned and the process is back in pause(), or it died.
   * Returned, not assigned to a name: tsx's keepNames would name a named closure with a defineProperty per call.
   */
  #finishedTest(slot: Slot, pid: number): () => boolean {
    return () =>
      (slot.ended !== 'no' && slot.ready && this.#paused(pid)) ||
      !(this.sim.kernel.tasks.get(pid)?.alive ?? false);
  }

  /** Syscalls made by the operations themselves (the driver's own sigaction and pause calls left out). */
  get opSyscalls(): number {
    return this.sim.stats().syscalls - this.#overhead;
  }

  /** Lets `ns` of virtual time pass (hardware runs; driven processes stay paused). */
  async advance(ns: number): Promise<void> {
    await this.sim.advance({ until: this.sim.now + ns });
  }

  /** Ends every driven process (they exit normally) and runs until the simulation is quiet. */
  async finish(): Promise<RunResult> {
    for (const p of this.processes) {
      if (!this.alive(p)) continue;
      this.#slots.get(p.pid)!.op = 'exit';
      this.sim.kill(p.pid, SIGUSR1);
    }
    return this.sim.run({ until: this.sim.now + 1_000_000_000 });
  }
}
