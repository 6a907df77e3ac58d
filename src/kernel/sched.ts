/**
 * The task scheduler: runs a syscall's kernel side, puts the task to sleep on wait queues when the syscall
 * asks to, wakes it after the platform's wake-up latency, delivers signals, and returns to user space after
 * charging the syscall's CPU cost.
 *
 * Every task has a CPU of its own: tasks never wait for each other's CPU time, only for the kernel
 * objects they block on.
 */
import type { EventLabel, VirtualClock } from '../hw/clock.ts';
import type { Emitter } from '../hw/emitter.ts';
import type { Rng } from '../hw/rng.ts';
import { EINTR, ERESTARTNOHAND, ERESTARTSYS } from '../uapi/errno.ts';
import { SIGKILL, SIGNAL_NAMES } from '../uapi/signal.ts';
import { KernelBug } from './bug.ts';
import { memoryContention, type PlatformProfile, syscallCost } from './platform.ts';
import type { Task, TaskExit } from './task.ts';
import { isSleep, type Sleep, type SysRet, type WaitEntry } from './wait.ts';

/** Observation events of the scheduler. */
export interface SchedEvents {
  'syscall:enter': (e: { task: Task; name: string; args: readonly unknown[]; time: number }) => void;
  'syscall:exit': (e: {
    task: Task;
    name: string;
    args: readonly unknown[];
    ret: number;
    enterTime: number;
    /** When the kernel finished (before the CPU cost). */
    time: number;
    /** When the task is back in user space. */
    returnTime: number;
  }) => void;
  'task:sleep': (e: { task: Task; name: string; reason: string; time: number }) => void;
  'task:wake': (e: { task: Task; name: string; reason: string; time: number; timedOut: boolean }) => void;
  'task:signal': (e: {
    task: Task;
    signal: number;
    time: number;
    action: 'kill' | 'interrupt' | 'restart' | 'pending';
  }) => void;
  'task:compute': (e: { task: Task; ns: number; time: number }) => void;
  'task:exit': (e: { task: Task; exit: TaskExit }) => void;
}

/** What the layer above provides: running user code again, and hearing that a task is gone. */
export interface UserRuntime {
  /** The task returns to user space with `ret`; the promise settles when it next enters the kernel or exits. */
  returnToUser(task: Task, ret: number): void | Promise<void>;
  /** The task exited while the kernel held it (killed): its user code will never run again. */
  taskGone(task: Task): void;
  /**
   * The latest virtual time up to which a syscall that does not sleep may return to user space at once
   * (no event of its own, see {@link Sched.enter}): the end of the run in progress; -Infinity when none.
   */
  inlineLimit(): number;
}

/** The label of a worker's event for work labelled `label`. */
function workLabel(label: EventLabel): EventLabel {
  return typeof label === 'string' ? `work: ${label}` : () => `work: ${label()}`;
}

/** Hooks the kernel runs when a task exits (closing files, unmapping memory). */
export type ExitHook = (task: Task) => void;

/** VirtualClock of simulated tasks. */
export class Sched {
  readonly #clock: VirtualClock;
  readonly #events: Emitter<SchedEvents>;
  readonly #rng: Rng;
  readonly #exitHook: ExitHook;
  platform: PlatformProfile;
  runtime: UserRuntime | null = null;
  /** The task whose kernel code runs right now (`current`), or null in interrupt and worker context. */
  current: Task | null = null;
  /**
   * Where kernel code without a task runs: a tasklet (softirq: dmaengine completion callbacks), a worker, or
   * null (hard interrupt). Read by tracepoints for the context ftrace prints.
   */
  bh: 'softirq' | 'worker' | null = null;
  /** What each DMA master streams now, bytes/s (see {@link Sched.addMemoryLoad}). */
  readonly #memoryLoads: (() => number)[] = [];

  constructor(
    clock: VirtualClock,
    events: Emitter<SchedEvents>,
    rng: Rng,
    platform: PlatformProfile,
    exitHook: ExitHook,
  ) {
    this.#clock = clock;
    this.#events = events;
    this.#rng = rng;
    this.platform = platform;
    this.#exitHook = exitHook;
  }

  /** Registers a DMA master's current memory traffic in bytes/s (0 while it is stopped). */
  addMemoryLoad(load: () => number): void {
    this.#memoryLoads.push(load);
  }

  /** Factor on memory-bound CPU costs now, from the DMA traffic sharing DRAM ({@link memoryContention}). */
  contention(): number {
    if (this.#memoryLoads.length === 0 || this.platform.memoryBytesPerSecond <= 0) return 1;
    let load = 0;
    for (const l of this.#memoryLoads) load += l();
    return memoryContention(this.platform, load);
  }

  /**
   * Charges `ps` of CPU time to the task whose kernel code runs now, paid when its syscall returns; kernel
   * work in interrupt or worker context (no `current`) costs no process anything. `memoryBound` work is
   * slowed by the DMA's share of DRAM ({@link Sched.contention}).
   */
  charge(ps: number, memoryBound: boolean): void {
    const task = this.current;
    if (!task || ps <= 0) return;
    task.pendingPs += memoryBound ? ps * this.contention() : ps;
  }

  /**
   * copy_to_user just read `bytes` from Normal Non-Cacheable memory: charges what such a read costs beyond
   * the cacheable copy the syscall already pays for ({@link PlatformProfile.uncachedReadPsPerByte}).
   */
  chargeUncachedRead(bytes: number): void {
    const p = this.platform;
    this.charge(bytes * Math.max(0, p.uncachedReadPsPerByte - p.copyPsPerByte), true);
  }

  /** Starts a task's user code at time `at`. */
  start(task: Task, at: number): void {
    this.#clock.at(
      at,
      () => `${task.comm}[${task.pid}] starts`,
      () => {
        if (!task.alive) return;
        task.state = 'user';
        return this.runtime!.returnToUser(task, 0);
      },
    );
  }

  /** Which of the events a syscall emits have listeners, as of {@link Emitter.listenerGeneration} `generation`. */
  readonly #listeners = {
    generation: -1,
    enter: false,
    exit: false,
    sleep: false,
    wake: false,
    compute: false,
    signal: false,
  };

  /**
   * {@link Sched.#listeners}, asked again of the bus only when its listeners changed (or it cannot say): the
   * same test as `CountingEmitter.listens`, kept as six fields because every syscall's entry and return asks it.
   */
  #listening(): {
    enter: boolean;
    exit: boolean;
    sleep: boolean;
    wake: boolean;
    compute: boolean;
    signal: boolean;
  } {
    const l = this.#listeners;
    const g = this.#events.listenerGeneration;
    if (g === undefined || g !== l.generation) {
      const e = this.#events;
      l.enter = e.listenerCount('syscall:enter') > 0;
      l.exit = e.listenerCount('syscall:exit') > 0;
      l.sleep = e.listenerCount('task:sleep') > 0;
      l.wake = e.listenerCount('task:wake') > 0;
      l.compute = e.listenerCount('task:compute') > 0;
      l.signal = e.listenerCount('task:signal') > 0;
      l.generation = g ?? -1;
    }
    return l;
  }

  /** The task whose syscall {@link Sched.enter} runs now (its return may happen at once). */
  #entering: Task | null = null;
  /** Set by a return that happened at once: the syscall's result. */
  #inlineRet: number | undefined = undefined;

  /**
   * Enters syscall `name`: runs `start` now and handles its result or sleep. Returns the result when the
   * syscall returned to user space at once: it did not sleep and nothing else is due before its return time
   * (its CPU cost later), so the clock moves there directly, with what an event would do at that instant and
   * in the same order. Otherwise undefined: the return (or the sleep) is an event of the clock.
   */
  enter(task: Task, name: string, args: readonly unknown[], start: () => SysRet): number | undefined {
    if (task.state !== 'user')
      throw new KernelBug(`${task.comm}[${task.pid}] entered ${name} while ${task.state}`);
    task.state = 'syscall';
    task.syscalls++;
    task.frame = { name, args, enterTime: this.#clock.now, start, returnEvent: null };
    if (this.#listening().enter)
      this.#events.emit('syscall:enter', { task, name, args, time: this.#clock.now });
    this.#entering = task;
    this.#inlineRet = undefined;
    try {
      this.#handle(task, this.#inTask(task, start));
    } finally {
      this.#entering = null;
    }
    const ret = this.#inlineRet;
    this.#inlineRet = undefined;
    return ret;
  }

  /** Runs kernel code on behalf of `task` (sets `current`). */
  #inTask(task: Task, fn: () => SysRet): SysRet {
    const prev = this.current;
    this.current = task;
    try {
      return fn();
    } finally {
      this.current = prev;
    }
  }

  /** User-space computation: the task is busy for `ns` and then goes on. */
  compute(task: Task, ns: number): void {
    if (task.state !== 'user') throw new KernelBug(`${task.comm}[${task.pid}] computed while ${task.state}`);
    task.cpuNs += ns;
    if (this.#listening().compute) this.#events.emit('task:compute', { task, ns, time: this.#clock.now });
    task.state = 'syscall';
    task.frame = {
      name: '(compute)',
      args: [ns],
      enterTime: this.#clock.now,
      start: () => 0,
      returnEvent: null,
    };
    const ev = this.#clock.after(
      ns,
      () => `${task.comm}[${task.pid}] computes`,
      () => {
        task.frame = null;
        task.state = 'user';
        this.#deliverPending(task);
        return this.runtime!.returnToUser(task, 0);
      },
    );
    task.frame.returnEvent = ev;
  }

  #handle(task: Task, r: SysRet): void {
    if (!task.alive) return;
    if (isSleep(r)) this.#sleep(task, r);
    else this.#finish(task, r);
  }

  /** Work a syscall of `task` queued: a worker runs it once the syscall returns or sleeps. */
  readonly #deferred = new Map<Task, { label: EventLabel; fn: () => void }[]>();

  /**
   * `schedule_work()`: runs `fn` from a worker after whatever runs now has finished: an interrupt or worker
   * at once (same virtual time), a syscall when it returns to user space or goes to sleep (DMAQ-11). The
   * label may be a function, built only when someone reads it.
   */
  scheduleWork(label: EventLabel, fn: () => void): void {
    const task = this.current;
    if (task) this.deferWork(task, label, fn);
    else this.#clock.after(0, workLabel(label), () => this.#inBh('worker', fn));
  }

  /** Runs `fn` as a tasklet does (softirq context): how virt-dma runs a dmaengine completion callback. */
  inSoftirq(fn: () => void): void {
    this.#inBh('softirq', fn);
  }

  #inBh(bh: 'softirq' | 'worker', fn: () => void): void {
    const prev = this.bh;
    this.bh = bh;
    try {
      fn();
    } finally {
      this.bh = prev;
    }
  }

  /** Queues kernel work raised by `task`'s syscall (see {@link Kernel.scheduleWork}). */
  deferWork(task: Task, label: EventLabel, fn: () => void): void {
    const list = this.#deferred.get(task);
    if (list) list.push({ label, fn });
    else this.#deferred.set(task, [{ label, fn }]);
  }

  /** Hands `task`'s deferred work to the worker: it runs after everything scheduled for now so far. */
  #flushWork(task: Task): void {
    if (this.#deferred.size === 0) return;
    const list = this.#deferred.get(task);
    if (!list) return;
    this.#deferred.delete(task);
    for (const w of list) this.#clock.after(0, workLabel(w.label), () => this.#inBh('worker', w.fn));
  }

  #sleep(task: Task, sleep: Sleep): void {
    this.#flushWork(task);
    const entry = new TaskWaitEntry(() => this.#wake(task, false));
    for (const q of sleep.queues) q.add(entry);
    task.state = 'sleeping';
    task.sleeping = { sleep, entry, queues: sleep.queues, timer: null, wakeup: null, since: this.#clock.now };
    const delay = sleep.timeoutNs === null ? null : Math.max(0, Math.ceil(sleep.timeoutNs));
    // A timer past the end of virtual time (2^53-1 ns) never fires, as an hrtimer clamped to KTIME_MAX never
    // does: the sleep waits for a wake-up or a signal only (docs/limits.md).
    if (delay !== null && delay <= Number.MAX_SAFE_INTEGER - this.#clock.now) {
      task.sleeping.timer = this.#clock.after(
        delay,
        () => `${task.comm}[${task.pid}] timeout`,
        () => this.#wake(task, true),
      );
    }
    if (this.#listening().sleep)
      this.#events.emit('task:sleep', {
        task,
        name: task.frame!.name,
        reason: sleep.reason,
        time: this.#clock.now,
      });
    if (sleep.interruptible && task.pendingSignals.length > 0) this.#interrupt(task);
  }

  #unqueue(task: Task): void {
    const s = task.sleeping!;
    const queues = s.queues;
    for (let i = 0; i < queues.length; i++) queues[i]!.remove(s.entry);
    this.#clock.cancel(s.timer);
    s.timer = null;
  }

  #wakeLatency(): number {
    const p = this.platform;
    return p.wakeLatencyNs + (p.wakeJitterNs > 0 ? this.#rng.int(0, p.wakeJitterNs - 1) : 0);
  }

  /** A queue the task sleeps on was woken, or its timeout expired: it runs again after the wake latency. */
  #wake(task: Task, timedOut: boolean): void {
    const s = task.sleeping;
    if (!s || s.wakeup) return;
    this.#unqueue(task);
    if (this.#listening().wake)
      this.#events.emit('task:wake', {
        task,
        name: task.frame!.name,
        reason: s.sleep.reason,
        time: this.#clock.now,
        timedOut,
      });
    if (s.sleep.spinning) task.cpuNs += this.#clock.now - s.since;
    const latency = s.sleep.spinning ? 0 : this.#wakeLatency();
    s.wakeup = this.#clock.after(
      latency,
      () => `${task.comm}[${task.pid}] wakes`,
      () => {
        task.sleeping = null;
        task.state = 'syscall';
        return this.#resumeIn(task, () =>
          this.#handle(
            task,
            this.#inTask(task, () => s.sleep.resume(timedOut)),
          ),
        );
      },
    );
  }

  /** The task whose sleeping syscall the event running now resumed (its return may happen in that event). */
  #resuming: Task | null = null;
  /** Set by a return that happened in the resuming event: user code running again. */
  #resumed: void | Promise<void> = undefined;

  /**
   * Runs `fn`, the rest of `task`'s syscall after a wake-up or a signal, in that event: when the syscall then
   * returns with nothing else due before its return time, user code resumes in the same event (the promise
   * returned) instead of in an event of its own, as {@link Sched.enter} does for a syscall that never slept.
   */
  #resumeIn(task: Task, fn: () => void): void | Promise<void> {
    this.#resuming = task;
    this.#resumed = undefined;
    try {
      fn();
    } finally {
      this.#resuming = null;
    }
    const r = this.#resumed;
    this.#resumed = undefined;
    return r;
  }

  /** Sends signal `sig` (`kill(2)` from another task or from the simulator). */
  signal(task: Task, sig: number): void {
    if (!task.alive) return;
    if (sig === SIGKILL || !task.handlers.has(sig)) {
      if (this.#listening().signal)
        this.#events.emit('task:signal', { task, signal: sig, time: this.#clock.now, action: 'kill' });
      this.kill(task, sig);
      return;
    }
    task.pendingSignals.push(sig);
    const s = task.sleeping;
    if (s?.sleep.interruptible && !s.wakeup) this.#interrupt(task);
    else if (this.#listening().signal)
      this.#events.emit('task:signal', { task, signal: sig, time: this.#clock.now, action: 'pending' });
  }

  /** An interruptible sleep ends because a signal is pending: the syscall returns -ERESTARTSYS (SIG-1). */
  #interrupt(task: Task): void {
    this.#unqueue(task);
    const s = task.sleeping!;
    this.#inTask(task, () => {
      s.sleep.onAbort?.();
      return 0;
    });
    s.wakeup = this.#clock.after(
      this.#wakeLatency(),
      () => `${task.comm}[${task.pid}] signalled`,
      () => {
        task.sleeping = null;
        task.state = 'syscall';
        return this.#resumeIn(task, () => this.#finish(task, s.sleep.signalRet));
      },
    );
  }

  /**
   * Ends a syscall with `ret`: restart or EINTR when a signal interrupted it (SIG-1), then returns to user
   * space after the syscall's CPU cost.
   */
  #finish(task: Task, ret: number): void {
    if (ret === -ERESTARTSYS || ret === -ERESTARTNOHAND) {
      const sig = task.pendingSignals.shift();
      if (sig === undefined)
        throw new KernelBug(`${task.frame!.name} returned -ERESTARTSYS with no signal pending`);
      const handler = task.handlers.get(sig)!;
      const restart = handler.restart && ret === -ERESTARTSYS;
      if (this.#listening().signal)
        this.#events.emit('task:signal', {
          task,
          signal: sig,
          time: this.#clock.now,
          action: restart ? 'restart' : 'interrupt',
        });
      if (restart) {
        this.#handle(task, this.#inTask(task, task.frame!.start));
        return;
      }
      ret = -EINTR;
    }
    if (ret < 0 && !Number.isInteger(ret)) throw new KernelBug(`syscall ${task.frame!.name} returned ${ret}`);
    const copied = task.mm.takeCopied();
    task.copiedBytes += copied;
    const cost =
      syscallCost(this.platform, copied, copied > 0 ? this.contention() : 1) +
      Math.ceil(task.pendingPs / 1000);
    task.pendingPs = 0;
    task.cpuNs += cost;
    const frame = task.frame!;
    const returnTime = this.#clock.now + cost;
    if (this.#listening().exit)
      this.#events.emit('syscall:exit', {
        task,
        name: frame.name,
        args: frame.args,
        ret,
        enterTime: frame.enterTime,
        time: this.#clock.now,
        returnTime,
      });
    const entering = this.#entering === task;
    if (
      (entering || this.#resuming === task) &&
      this.runtime !== null &&
      returnTime <= this.runtime.inlineLimit() &&
      this.#clock.nothingDueBy(returnTime)
    ) {
      this.#clock.pass(returnTime);
      this.#backInUser(task);
      if (entering) this.#inlineRet = ret;
      else this.#resumed = this.runtime.returnToUser(task, ret);
      return;
    }
    frame.returnEvent = this.#clock.at(
      returnTime,
      () => `${task.comm}[${task.pid}] returns from ${frame.name}`,
      () => {
        this.#backInUser(task);
        return this.runtime!.returnToUser(task, ret);
      },
    );
  }

  /** What a return to user space does before user code runs: deferred work queued, pending signals handled. */
  #backInUser(task: Task): void {
    task.frame = null;
    task.state = 'user';
    this.#flushWork(task);
    this.#deliverPending(task);
  }

  /** Back in user space: handlers of the pending signals run now, so none stays pending. */
  #deliverPending(task: Task): void {
    // Most returns have none: splice(0) would allocate an empty array on every return to user space.
    if (task.pendingSignals.length === 0) return;
    for (const sig of task.pendingSignals.splice(0))
      if (this.#listening().signal)
        this.#events.emit('task:signal', { task, signal: sig, time: this.#clock.now, action: 'interrupt' });
  }

  /** Kills a task now, wherever it is (as by SIGKILL or an oops): it exits and its user code never resumes. */
  kill(task: Task, sig: number, reason?: string): void {
    if (!task.alive) return;
    if (task.sleeping) {
      const s = task.sleeping;
      this.#unqueue(task);
      this.#clock.cancel(s.wakeup);
      task.sleeping = null;
      if (!s.wakeup) s.sleep.onAbort?.();
    }
    this.#clock.cancel(task.frame?.returnEvent);
    const wasInKernel = task.state !== 'user';
    this.exit(task, {
      code: null,
      signal: sig,
      time: this.#clock.now,
      reason: reason ?? `killed by ${SIGNAL_NAMES[sig] ?? sig}`,
    });
    if (wasInKernel) this.runtime?.taskGone(task);
  }

  /** Ends a task: mappings go, then fds close in ascending order (FD-12). */
  exit(task: Task, exit: TaskExit): void {
    if (!task.alive) return;
    task.state = 'exited';
    task.exit = exit;
    this.#inTask(task, () => {
      this.#exitHook(task);
      return 0;
    });
    this.#flushWork(task);
    task.frame = null;
    this.#events.emit('task:exit', { task, exit });
  }

  /** Tasks asleep now, with why: used to report processes blocked forever when nothing else can happen. */
  blocked(
    tasks: Iterable<Task>,
  ): { task: Task; syscall: string; reason: string; since: number; sleepingSince: number }[] {
    const out: { task: Task; syscall: string; reason: string; since: number; sleepingSince: number }[] = [];
    for (const t of tasks)
      if (t.alive && t.sleeping && !t.sleeping.wakeup)
        out.push({
          task: t,
          syscall: t.frame?.name ?? '?',
          reason: t.sleeping.sleep.reason,
          since: t.frame?.enterTime ?? t.sleeping.since,
          sleepingSince: t.sleeping.since,
        });
    return out;
  }
}

/**
 * A sleeping task's entry on its wait queues. A class: under tsx (esbuild keepNames) the arrow of an object
 * literal's `wake` property would be named with a defineProperty on every sleep.
 */
class TaskWaitEntry implements WaitEntry {
  readonly #wake: () => void;

  constructor(wake: () => void) {
    this.#wake = wake;
  }

  /** The queue was woken (the key does not matter to a sleeping task). */
  wake(): void {
    this.#wake();
  }
}
