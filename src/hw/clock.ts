/**
 * The one virtual clock of a simulated system: integer nanoseconds and an event queue with a total
 * order (time, then insertion sequence), in the manner of @sinonjs/fake-timers but for a whole machine.
 *
 * Hardware and kernel code schedule callbacks here; nothing in the simulator reads wall-clock time.
 */

/** What an event is: a string, or a function that builds it when someone reads it (most never are). */
export type EventLabel = string | (() => string);

/** A scheduled callback. Returned by {@link VirtualClock.at} so that it can be cancelled. */
export interface SimEvent {
  /** Virtual time at which it runs, in ns. */
  readonly time: number;
  /** Insertion sequence: breaks ties between events of the same time, first scheduled first run. */
  readonly seq: number;
  /** What the event is, for traces and runaway reports (built on first read when given as a function). */
  readonly label: string;
  /** The callback. It may return a promise that the run loop awaits before the next event. */
  readonly fn: () => void | Promise<void>;
  /** True once cancelled or run; the queue skips it. */
  done: boolean;
}

/** The events of the queue: the label is resolved on first read. */
class Ev implements SimEvent {
  time: number;
  seq: number;
  #label: EventLabel;
  readonly fn: () => void | Promise<void>;
  done = false;
  /** In the queue's heap (a cancelled event stays there until it reaches the top). */
  queued = false;

  constructor(time: number, seq: number, label: EventLabel, fn: () => void | Promise<void>) {
    this.time = time;
    this.seq = seq;
    this.#label = label;
    this.fn = fn;
  }

  get label(): string {
    if (typeof this.#label !== 'string') this.#label = this.#label();
    return this.#label;
  }
}

/** How many of the last events a runaway report names. */
const RECENT = 16;

/** Thrown when events keep running without virtual time advancing: a livelock in the model or a program. */
export class RunawayError extends Error {
  /** Virtual time at which the loop limit was hit. */
  readonly time: number;
  /** Labels of the last events that ran, newest last. */
  readonly recent: readonly string[];

  constructor(time: number, limit: number, recent: readonly string[]) {
    super(
      `runaway: ${limit} events ran at t=${time} ns without virtual time advancing (last: ${recent.slice(-5).join(', ')})`,
    );
    this.name = 'RunawayError';
    this.time = time;
    this.recent = recent;
  }
}

/** Options of a {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** Events allowed at one virtual time before {@link RunawayError} (default 1,000,000). */
  loopLimit?: number;
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * The virtual clock: a virtual-time event queue (a binary heap). Time only moves forward, when an event is
 * taken; every model object schedules its callbacks here.
 */
export class VirtualClock {
  #now = 0;
  #seq = 0;
  #heap: Ev[] = [];
  #live = 0;
  #sameTimeCount = 0;
  /** The last {@link RECENT} events taken, as a ring (their labels are built only for a runaway report). */
  readonly #recent: (SimEvent | undefined)[] = new Array(RECENT);
  #recentAt = 0;
  readonly #loopLimit: number;

  constructor(options: VirtualClockOptions = {}) {
    this.#loopLimit = options.loopLimit ?? 1_000_000;
  }

  /** Current virtual time in ns. */
  get now(): number {
    return this.#now;
  }

  /** Number of scheduled events not yet run or cancelled. */
  get pending(): number {
    return this.#live;
  }

  /** Schedules `fn` at absolute time `time` (ns, integer, not in the past). */
  at(time: number, label: EventLabel, fn: () => void | Promise<void>): SimEvent {
    if (!Number.isSafeInteger(time) || time < this.#now) {
      throw new RangeError(
        `cannot schedule '${typeof label === 'string' ? label : label()}' at t=${time} (now ${this.#now}): need an integer ns >= now`,
      );
    }
    const ev = new Ev(time, this.#seq++, label, fn);
    this.#push(ev);
    this.#live++;
    return ev;
  }

  /**
   * Schedules an event this clock already ran (taken from the queue) again, at `time`, with its label and callback: what `at` would
   * give (a new sequence number, so the same order), without a new event object. For periodic hardware
   * rescheduling itself from its own callback (a trigger at 1 kHz is most of a fuzz campaign's events).
   */
  rearm(ev: SimEvent, time: number): SimEvent {
    if (!(ev instanceof Ev) || !ev.done || ev.queued)
      throw new Error(`rearm: '${ev.label}' is not an event that has run`);
    if (!Number.isSafeInteger(time) || time < this.#now)
      throw new RangeError(
        `cannot schedule '${ev.label}' at t=${time} (now ${this.#now}): need an integer ns >= now`,
      );
    ev.time = time;
    ev.seq = this.#seq++;
    ev.done = false;
    this.#push(ev);
    this.#live++;
    return ev;
  }

  /**
   * How far the run loop in progress takes events one after another with nothing in between (no test of its
   * own after an event, no await after one that returns nothing): the limit of its takes while that holds,
   * -Infinity otherwise. Set by that loop (the simulator's); read by {@link VirtualClock.inlineLimit}.
   */
  horizon = Number.NEGATIVE_INFINITY;

  /** Steps made with {@link VirtualClock.stepInline}: each is an event taken that no run loop counted. */
  inlineSteps = 0;

  /**
   * The latest time at which the event running now could still make a step of its own within its callback,
   * exactly as if it were rearmed and taken next: within the {@link VirtualClock.horizon}, and before every
   * live event (one at the same time was scheduled before the rearm would be, so it runs first).
   */
  inlineLimit(): number {
    this.#dropDone();
    const next = this.#heap[0];
    return next === undefined ? this.horizon : Math.min(this.horizon, next.time - 1);
  }

  /**
   * Makes `steps` steps of the event running now (`ev`: taken, not yet rearmed) within its own callback, the
   * last at `time`, each at a later time than the one before, as `steps` rearms and takes of `ev` would: the
   * clock at `time`, their sequence numbers used, the runaway count and recent events as after those takes.
   * False (and nothing done) when `time` is past {@link VirtualClock.inlineLimit}. For periodic hardware whose
   * steps nobody can see between two events (a trigger whose scans a full fifo drops).
   */
  stepInline(ev: SimEvent, time: number, steps = 1): boolean {
    // A queued event stepping on its own would run twice: only one taken and not scheduled again may.
    if (!(ev instanceof Ev) || !ev.done || ev.queued)
      throw new Error(`stepInline: '${ev.label}' is not an event that has run`);
    if (!Number.isSafeInteger(time) || time < this.#now || (steps > 1 && time === this.#now))
      throw new RangeError(
        `cannot step '${ev.label}' ${steps} times to t=${time} (now ${this.#now}): need an integer ns >= now, later with each step`,
      );
    if (time > this.inlineLimit()) return false;
    this.#seq += steps;
    this.#arrive(time);
    for (let i = Math.min(steps, RECENT); i > 0; i--) {
      this.#recent[this.#recentAt] = ev;
      this.#recentAt = (this.#recentAt + 1) % RECENT;
    }
    this.inlineSteps += steps;
    return true;
  }

  /** Schedules `fn` after `delay` ns (integer >= 0). */
  after(delay: number, label: EventLabel, fn: () => void | Promise<void>): SimEvent {
    return this.at(this.#now + delay, label, fn);
  }

  /** Cancels an event; cancelling one that already ran or was cancelled does nothing. */
  cancel(ev: SimEvent | null | undefined): void {
    if (ev && !ev.done) {
      ev.done = true;
      this.#live--;
    }
  }

  /** Time of the next live event, or undefined when none is scheduled. */
  peekTime(): number | undefined {
    this.#dropDone();
    return this.#heap[0]?.time;
  }

  /**
   * Takes the next live event, advancing the clock to its time, or returns undefined if there is none
   * or the next one lies beyond `limit`. The caller runs `ev.fn`.
   */
  take(limit = Number.POSITIVE_INFINITY): SimEvent | undefined {
    this.#dropDone();
    const ev = this.#heap[0];
    if (!ev || ev.time > limit) return undefined;
    this.#pop();
    ev.done = true;
    this.#live--;
    this.#arrive(ev.time);
    this.#recent[this.#recentAt] = ev;
    this.#recentAt = (this.#recentAt + 1) % RECENT;
    return ev;
  }

  /**
   * Whether no live event is due at or before `time`: a step ending then (a syscall returning to user space)
   * may happen at once, with {@link VirtualClock.pass}, without an event of its own, in the same order.
   */
  nothingDueBy(time: number): boolean {
    this.#dropDone();
    const next = this.#heap[0];
    return next === undefined || next.time > time;
  }

  /**
   * Moves the clock to `time` (>= now, before any live event: see {@link VirtualClock.nothingDueBy}) for a
   * step that needs no event, counted as an event taken at that time: steps that never let time advance
   * still end in a {@link RunawayError}.
   */
  pass(time: number): void {
    if (!Number.isSafeInteger(time) || time < this.#now)
      throw new RangeError(`cannot pass to t=${time} (now ${this.#now}): need an integer ns >= now`);
    this.#arrive(time);
  }

  /** The clock reaches `time` for one step (an event or a pass): a runaway after loopLimit steps at one time. */
  #arrive(time: number): void {
    if (time === this.#now) {
      if (++this.#sameTimeCount > this.#loopLimit)
        throw new RunawayError(this.#now, this.#loopLimit, this.#recentLabels());
    } else {
      this.#sameTimeCount = 1;
      this.#now = time;
    }
  }

  /** Moves the clock forward to `time` without running anything (used when a run ends at a time limit). */
  advanceTo(time: number): void {
    if (time > this.#now) {
      this.#now = time;
      this.#sameTimeCount = 0;
    }
  }

  /**
   * Runs events synchronously up to and including time `limit`, then sets the clock to `limit`.
   * For hardware-only use: an event returning a promise is an error here.
   */
  runUntil(limit: number): void {
    for (let ev = this.take(limit); ev; ev = this.take(limit)) {
      const r = ev.fn();
      if (r) throw new Error(`event '${ev.label}' is asynchronous; use the simulator's run loop`);
    }
    this.advanceTo(limit);
  }

  /** Labels of the last events taken, oldest first. */
  #recentLabels(): string[] {
    const out: string[] = [];
    for (let i = 0; i < RECENT; i++) {
      const ev = this.#recent[(this.#recentAt + i) % RECENT];
      if (ev) out.push(ev.label);
    }
    return out;
  }

  #dropDone(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.done) this.#pop();
  }

  #push(ev: Ev): void {
    ev.queued = true;
    const h = this.#heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(ev, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = ev;
  }

  #pop(): void {
    const h = this.#heap;
    h[0]!.queued = false;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
