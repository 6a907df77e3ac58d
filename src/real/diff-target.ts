/**
 * The two scenario targets of a differential run (`iio-sim diff`): the simulator with every call recorded,
 * and a real kernel whose processes replay the simulator's order of events ({@link Sequencer}, the `order`
 * comparison rule) while their calls are recorded the same way. See ./compare.ts for how the two records are
 * compared and docs/oracle.md for the rules.
 */

import { type Fault, type ScenarioTarget, simulatorTarget, type TargetNote } from '../scenario/target.ts';
import { parseDuration, signalNumber } from '../scenario/values.ts';
import type { RunResult, Simulator } from '../sim/simulator.ts';
import { O_WRONLY } from '../uapi/index.ts';
import { SIGKILL } from '../uapi/signal.ts';
import { recordingSys, type SideLog } from './diff-record.ts';
import type { RealKernel, RealRunResult } from './runtime.ts';

/** What `RealKernel.realPidOf()` answers for a process that is gone (or not started). */
const NO_SUCH_PID = 0x3fffffff;

/** A gate that waited this long (real time) opens anyway: the kernel's run no longer follows the simulator's. */
export const ORDER_TIMEOUT_MS = 20_000;

/** The kernel's run lasts at least this long when the simulator ends with a process blocked or running. */
export const BLOCKED_RUN_NS = 3e9;

/** The kernel's run limit when every process ended on the simulator (they should end on their own). */
export const FINISHED_RUN_NS = 60e9;

/** The scenario-step tracker both targets share with their recorders. */
class Steps {
  readonly #now = new Map<string, string>();
  set(process: string, where: string): void {
    this.#now.set(process, where);
  }
  get(process: string): string | undefined {
    return this.#now.get(process);
  }
}

/** The simulator as a target, every call recorded in `log`. */
export function recordedSimulatorTarget(sim: Simulator, log: SideLog): ScenarioTarget<RunResult> {
  const inner = simulatorTarget(sim);
  const steps = new Steps();
  return {
    ...inner,
    stepStarted: (process, where) => steps.set(process, where),
    spawn: (name, body, opts) =>
      sim.spawn(
        name,
        async (sys) => {
          const rec = recordingSys(sys, log, name, { profile: sim.abi, step: () => steps.get(name) });
          try {
            return await body(rec);
          } finally {
            log.bodyEnded(name);
          }
        },
        opts,
      ),
    fault: (f, index, pids) => {
      sim.at(parseDuration(f.at)!, 'fault: recorded', () => log.fault(index));
      return inner.fault(f, index, pids);
    },
  };
}

/** One event of the simulator's run that a kernel process may have to wait for. */
type SimEvent =
  | { readonly seq: number; readonly kind: 'start' | 'end'; readonly process: string; readonly index: number }
  | { readonly seq: number; readonly kind: 'body'; readonly process: string }
  | { readonly seq: number; readonly kind: 'fault'; readonly fault: number };

interface PendingKill {
  readonly pid: number;
  readonly signal: number;
  readonly seq: number;
  sent: boolean;
}

/** A fault the kernel side performs itself (a `dmaError` written to the test module), at a point of the order. */
interface PendingAction {
  readonly run: () => Promise<void>;
  readonly seq: number;
  sent: boolean;
  finished: boolean;
}

/**
 * Makes the kernel's processes follow the simulator's order (the `order` rule): before a process's k-th call
 * starts, every call start, call end, body end and fault that came before that call on the simulator must
 * have happened on the kernel. Kill faults are delivered the same way (the `kill-fault` rule).
 */
/** The test module's parameter that fails a DMA device's next transfer (real/module/README.md). */
const DMA_ERROR_PARAM = '/sys/module/sim_iio/parameters/dma_error';

/**
 * Writes `device residue` to the test module's `dma_error` parameter from a short-lived process of its own (not
 * recorded: it is the fault, not a program); resolves once it is done.
 */
function writeDmaError(k: RealKernel, device: string, residue: number): Promise<void> {
  return new Promise((resolve) => {
    k.spawn(
      'dma-error',
      async (sys) => {
        try {
          const fd = await sys.open(DMA_ERROR_PARAM, O_WRONLY);
          if (fd < 0) return fd;
          const bytes = new TextEncoder().encode(`${device} ${residue}`);
          const buf = sys.mem.alloc(bytes.length);
          sys.mem.write(buf, bytes);
          const ret = await sys.write(fd, buf, bytes.length);
          await sys.close(fd);
          return ret;
        } finally {
          resolve();
        }
      },
      { stdio: false },
    );
  });
}

export class Sequencer {
  readonly #events: SimEvent[] = [];
  readonly #starts = new Map<string, number[]>();
  readonly #sim: SideLog;
  readonly #real: SideLog;
  readonly #k: RealKernel;
  readonly #pids: Map<string, number>;
  readonly #kills = new Map<number, PendingKill>();
  readonly #actions = new Map<number, PendingAction>();
  readonly #waiters = new Set<() => boolean>();
  #timer: NodeJS.Timeout | null = null;
  /** Gates that opened on timeout: the order was not kept from there on. */
  readonly broken: string[] = [];

  constructor(sim: SideLog, real: SideLog, k: RealKernel, pids: Map<string, number>) {
    this.#sim = sim;
    this.#real = real;
    this.#k = k;
    this.#pids = pids;
    for (const p of sim.processes.values()) {
      this.#starts.set(
        p.name,
        p.calls.map((c) => c.startSeq),
      );
      for (const c of p.calls) {
        this.#events.push({ seq: c.startSeq, kind: 'start', process: p.name, index: c.index });
        if (c.endSeq !== null)
          this.#events.push({ seq: c.endSeq, kind: 'end', process: p.name, index: c.index });
      }
      if (p.endSeq !== null) this.#events.push({ seq: p.endSeq, kind: 'body', process: p.name });
    }
    for (const e of sim.events) this.#events.push({ seq: e.seq, kind: 'fault', fault: e.fault });
    this.#events.sort((a, b) => a.seq - b.seq);
    real.onChange = () => this.#poke();
  }

  #gone(process: string): boolean {
    const pid = this.#pids.get(process);
    const log = this.#real.processes.get(process);
    const started = log !== undefined && (log.calls.length > 0 || log.endSeq !== null);
    return pid !== undefined && started && this.#k.realPidOf(pid) === NO_SUCH_PID;
  }

  /** Whether the kernel's run has done what `e` stands for (a process that is gone has done all it will). */
  #done(e: SimEvent): boolean {
    if (e.kind === 'fault') {
      const a = this.#actions.get(e.fault);
      if (a) return a.finished;
      const k = this.#kills.get(e.fault);
      return k === undefined || (k.sent && this.#gone(this.#processOfPid(k.pid)));
    }
    const log = this.#real.processes.get(e.process);
    if (e.kind === 'body') return this.#gone(e.process);
    const call = log?.calls[e.index];
    if (e.kind === 'start' && call) return true;
    if (e.kind === 'end' && call && call.ret !== null) return true;
    return this.#gone(e.process) || (log !== undefined && log.endSeq !== null);
  }

  #processOfPid(pid: number): string {
    for (const [name, p] of this.#pids) if (p === pid) return name;
    return '';
  }

  /** True when every event before `seq` (except those of `process`, which come in its own order) is done. */
  #ready(seq: number, process: string | null): boolean {
    for (const e of this.#events) {
      if (e.seq >= seq) break;
      if (e.kind !== 'fault' && e.process === process) continue;
      if (!this.#done(e)) return false;
    }
    return true;
  }

  #poke(): void {
    for (const [fault, k] of this.#kills)
      if (!k.sent && this.#ready(k.seq, null)) {
        k.sent = true;
        this.#real.fault(fault);
        this.#k.kill(k.pid, k.signal);
      }
    for (const [fault, a] of this.#actions)
      if (!a.sent && this.#ready(a.seq, null)) {
        a.sent = true;
        this.#real.fault(fault);
        // A failed write is reported by the program's own results (and the note says what was meant).
        void a.run().finally(() => {
          a.finished = true;
          this.#poke();
        });
      }
    for (const w of [...this.#waiters]) if (w()) this.#waiters.delete(w);
    const allSent = [...this.#kills.values(), ...this.#actions.values()].every((x) => x.sent);
    if (this.#waiters.size === 0 && allSent) this.#stopTimer();
    else this.#startTimer();
  }

  #startTimer(): void {
    // Processes going away are seen by polling (the runtime tells nobody): a light tick while someone waits.
    this.#timer ??= setInterval(() => this.#poke(), 2);
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Resolves when `process` may start its call number `index`. */
  gate(process: string, index: number): Promise<void> {
    const seq = this.#starts.get(process)?.[index];
    if (seq === undefined || this.#ready(seq, process)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t0 = Date.now();
      const check = () => {
        if (this.#ready(seq, process)) {
          resolve();
          return true;
        }
        if (Date.now() - t0 > ORDER_TIMEOUT_MS) {
          this.broken.push(
            `${process}: call ${index + 1} waited ${ORDER_TIMEOUT_MS / 1000} s for the simulator’s order`,
          );
          resolve();
          return true;
        }
        return false;
      };
      this.#waiters.add(check);
      this.#startTimer();
    });
  }

  /** Arranges for `faults[fault]` (a kill of `pid`) to be delivered where the simulator delivered it. */
  kill(fault: number, pid: number, signal: number): boolean {
    const e = this.#sim.events.find((x) => x.fault === fault);
    if (!e) return false;
    this.#kills.set(fault, { pid, signal, seq: e.seq, sent: false });
    this.#startTimer();
    return true;
  }

  /** Arranges for `faults[fault]` to be performed by `run` where the simulator injected it. */
  action(fault: number, run: () => Promise<void>): boolean {
    const e = this.#sim.events.find((x) => x.fault === fault);
    if (!e) return false;
    this.#actions.set(fault, { run, seq: e.seq, sent: false, finished: false });
    this.#startTimer();
    return true;
  }

  /** Stops polling (the run is over). */
  stop(): void {
    this.#stopTimer();
    this.#waiters.clear();
  }
}

/** Options of {@link realTarget}. */
export interface RealTargetOptions {
  /** The kernel the processes run on. */
  readonly kernel: RealKernel;
  /** The board as the simulator builds it (never run): device names, channels and signals. */
  readonly board: Simulator;
  /** The simulator's record of the same scenario, whose order the kernel's processes follow. */
  readonly simLog: SideLog;
  /** The simulator's run of it (its end decides the kernel's time limit). */
  readonly simResult: RunResult;
  /** Where the kernel's calls are recorded. */
  readonly log: SideLog;
}

/** A real kernel as a scenario target, with {@link RealTarget.sequencer} keeping the simulator's order. */
export interface RealTarget extends ScenarioTarget<RealRunResult> {
  readonly sequencer: Sequencer;
}

/**
 * How the kernel side performs fault `f` (`faults[index]`): a kill and a dmaError at the simulator's point of
 * the programs (the order rule), the others not at all; the note says which.
 */
function realFault(
  sequencer: Sequencer,
  k: RealKernel,
  f: Fault,
  index: number,
  byName: ReadonlyMap<string, number>,
): TargetNote {
  const where = `faults[${index}]`;
  if ('kill' in f) {
    sequencer.kill(index, byName.get(f.kill.process)!, signalNumber(f.kill.signal, SIGKILL));
    return {
      process: '-',
      where,
      rule: 'kill-fault',
      text: `kill of ${f.kill.process} delivered at the simulator's point of the programs, not at ${f.at}`,
    };
  }
  if ('dmaError' in f) {
    const { device, residue = 0 } = f.dmaError;
    sequencer.action(index, () => writeDmaError(k, device, residue));
    return {
      process: '-',
      where,
      rule: 'dma-error-fault',
      text: `dmaError on ${device} written to the test module at the simulator's point of the programs, not at ${f.at}`,
    };
  }
  const kind = Object.keys(f).find((x) => x !== 'at')!;
  return { process: '-', where, rule: 'sim-only-fault', text: `${kind} at ${f.at} is not injected` };
}

/** A real kernel as a scenario target: the checks of {@link COMPARISON_RULES} it cannot make are noted. */
export function realTarget(o: RealTargetOptions): RealTarget {
  const { kernel: k, board, log } = o;
  const steps = new Steps();
  const pids = new Map<string, number>();
  const sequencer = new Sequencer(o.simLog, log, k, pids);
  const simEndedAll = o.simResult.processes.every((p) => p.status !== 'blocked' && p.status !== 'running');
  return {
    name: 'the real kernel',
    abi: 'mainline',
    checks: { samples: 'ordered', durations: false, unsyncedData: false },
    sequencer,
    device: (name) => board.device(name),
    stepStarted: (process, where) => steps.set(process, where),
    spawn: (name, body, opts) => {
      const pid = k.spawn(
        name,
        async (sys) => {
          const rec = recordingSys(sys, log, name, {
            profile: 'mainline',
            gate: (index) => sequencer.gate(name, index),
            step: () => steps.get(name),
          });
          try {
            return await body(rec);
          } finally {
            log.bodyEnded(name);
          }
        },
        {
          ...(opts.compat === undefined ? {} : { compat: opts.compat }),
          ...(opts.startAt === undefined ? {} : { startAt: opts.startAt }),
          // The real kernel's executor has no host terminal: inherited streams are /dev/null there.
          ...(opts.stdio === undefined ? {} : { stdio: opts.stdio !== false }),
        },
      );
      pids.set(name, pid);
      return pid;
    },
    fault: (f, index, byName) => realFault(sequencer, k, f, index, byName),
    run: async (untilNs) => {
      const limit = simEndedAll ? Math.max(untilNs, FINISHED_RUN_NS) : Math.max(untilNs, BLOCKED_RUN_NS);
      try {
        return await k.run({ untilNs: limit });
      } finally {
        sequencer.stop();
      }
    },
    runExpectations: (want) => {
      const notes: TargetNote[] = [];
      if (want?.lost)
        notes.push({ process: '-', where: 'expect.lost', rule: 'lost-scans', text: 'not checked' });
      if (want?.liveObjects)
        notes.push({ process: '-', where: 'expect.liveObjects', rule: 'live-objects', text: 'not checked' });
      if (want?.blockedReason)
        notes.push({
          process: '-',
          where: 'expect.blockedReason',
          rule: 'blocked-reason',
          text: 'compared by the call the process is blocked in',
        });
      return { failures: [], notes };
    },
  };
}
