/**
 * Wait queues (`wait_queue_head_t`) and the value a blocking operation returns instead of sleeping.
 *
 * Kernel code here is synchronous. Where the kernel would call `wait_event_interruptible()` and loop, an
 * operation returns a {@link Sleep}: the queues to wait on and a continuation that re-checks the condition
 * from the top once the task runs again, exactly like the kernel's loop after `schedule()` returns.
 */
import { ERESTARTSYS } from '../uapi/errno.ts';

/** Something waiting on a queue: a sleeping task, a poll table entry, a fence callback. */
export interface WaitEntry {
  /** Called by {@link WaitQueue.wake} with the wake key (poll mask, or 0). */
  wake(key: number): void;
}

/** A wait queue head. Waking runs every entry's callback in the order they were added. */
export class WaitQueue {
  readonly name: string;
  /** In the order they were added, each once (an array: a queue holds one or two entries at a time). */
  readonly #entries: WaitEntry[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Adds an entry (`add_wait_queue`). */
  add(entry: WaitEntry): void {
    if (!this.#entries.includes(entry)) this.#entries.push(entry);
  }

  /** Removes an entry (`remove_wait_queue`); removing an absent entry is harmless. */
  remove(entry: WaitEntry): void {
    const e = this.#entries;
    const i = e.indexOf(entry);
    if (i < 0) return;
    // In place, keeping the order (splice would return an array of the removed entry).
    for (let j = i + 1; j < e.length; j++) e[j - 1] = e[j]!;
    e.length--;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.length;
  }

  /** Wakes every entry (`wake_up_poll` with `key`, or `wake_up` with 0). */
  wake(key = 0): void {
    const n = this.#entries.length;
    if (n === 0) return;
    // Entries added by a callback are not woken this time, removed ones still are: a snapshot (of one
    // entry, the common case, without a copy).
    if (n === 1) {
      this.#entries[0]!.wake(key);
      return;
    }
    const snapshot = this.#entries.slice();
    for (let i = 0; i < n; i++) snapshot[i]!.wake(key);
  }
}

/** How a sleeping syscall continues: re-run from the condition check, told whether its timeout expired. */
export type Continuation = (timedOut: boolean) => SysRet;

/** A syscall's request to sleep: see {@link sleepOn}. */
export interface Sleep {
  readonly kind: 'sleep';
  /** Queues whose wake-up makes the task runnable again. */
  readonly queues: readonly WaitQueue[];
  /** Interruptible sleeps end early when a signal arrives (the continuation is not called then). */
  readonly interruptible: boolean;
  /** Relative timeout in ns, or null for none. On expiry the continuation runs with `timedOut` true. */
  readonly timeoutNs: number | null;
  /** Runs when the task is scheduled again. */
  readonly resume: Continuation;
  /**
   * Why the task sleeps, for traces and the blocked-forever report ("buffer0 pollq", "fence wait"). Built
   * on first read when {@link sleepOn} got a function: most sleeps end without anyone asking.
   */
  readonly reason: string;
  /**
   * What the syscall returns when a signal ends the sleep: -ERESTARTSYS (restartable under SA_RESTART) or
   * -ERESTARTNOHAND (poll, nanosleep: EINTR whenever a handler ran).
   */
  readonly signalRet: number;
  /** Undoes what the syscall holds (locks, references) when the sleep is abandoned: signal or kill. */
  readonly onAbort: (() => void) | null;
  /** A busy wait: the task keeps its CPU (charged as CPU time) and continues without wake-up latency. */
  readonly spinning: boolean;
}

/** What a syscall's kernel side returns: a result (>= 0 or -errno), or a request to sleep. */
export type SysRet = number | Sleep;

/** Options of {@link sleepOn}. */
export interface SleepOptions {
  interruptible?: boolean;
  timeoutNs?: number | null;
  signalRet?: number;
  onAbort?: () => void;
  spinning?: boolean;
}

/**
 * A {@link Sleep} whose reason is built on first read. A class, not an object literal with a getter: V8 gives
 * each such literal a hidden class of its own (its getter is a new closure each time), and those maps kept
 * every sleep's objects alive through minor GCs until a full one (old-space growth with simulated time).
 */
class LazySleep implements Sleep {
  readonly kind = 'sleep';
  readonly queues: readonly WaitQueue[];
  readonly interruptible: boolean;
  readonly timeoutNs: number | null;
  readonly resume: Continuation;
  readonly signalRet: number;
  readonly onAbort: (() => void) | null;
  readonly spinning: boolean;
  #reason: string | (() => string);

  constructor(
    queues: readonly WaitQueue[],
    reason: string | (() => string),
    resume: Continuation,
    options: SleepOptions,
  ) {
    this.queues = queues;
    this.interruptible = options.interruptible ?? true;
    this.timeoutNs = options.timeoutNs ?? null;
    this.resume = resume;
    this.#reason = reason;
    this.signalRet = options.signalRet ?? -ERESTARTSYS;
    this.onAbort = options.onAbort ?? null;
    this.spinning = options.spinning ?? false;
  }

  get reason(): string {
    if (typeof this.#reason !== 'string') this.#reason = this.#reason();
    return this.#reason;
  }
}

/** Builds a {@link Sleep} (the `prepare_to_wait` + `schedule` of a wait loop). */
export function sleepOn(
  queues: readonly WaitQueue[],
  reason: string | (() => string),
  resume: Continuation,
  options: SleepOptions = {},
): Sleep {
  return new LazySleep(queues, reason, resume, options);
}

/** True when a {@link SysRet} asks to sleep. */
export function isSleep(r: SysRet): r is Sleep {
  return typeof r !== 'number';
}
