import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunawayError, type SimEvent, VirtualClock } from '../../src/hw/clock.ts';

/** Schedules labelled events that append their label to `log` when run. */
function recorder(clock: VirtualClock) {
  const log: string[] = [];
  const times: number[] = [];
  const at = (time: number, label: string): SimEvent =>
    clock.at(time, label, () => {
      log.push(label);
      times.push(clock.now);
    });
  return { log, times, at };
}

describe('VirtualClock ordering', () => {
  it('starts at t=0 with nothing pending', () => {
    const clock = new VirtualClock();
    expect(clock.now).toBe(0);
    expect(clock.pending).toBe(0);
    expect(clock.peekTime()).toBeUndefined();
    expect(clock.take()).toBeUndefined();
  });

  it('runs same-time events in insertion order', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    for (const label of ['a', 'b', 'c', 'd', 'e']) r.at(100, label);
    clock.runUntil(100);
    expect(r.log).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(r.times).toEqual([100, 100, 100, 100, 100]);
  });

  it('runs events in time order whatever the insertion order, ties by insertion', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    r.at(30, 'c1');
    r.at(10, 'a1');
    r.at(20, 'b1');
    r.at(10, 'a2');
    r.at(30, 'c2');
    r.at(0, 'z');
    clock.runUntil(1000);
    expect(r.log).toEqual(['z', 'a1', 'a2', 'b1', 'c1', 'c2']);
    expect(r.times).toEqual([0, 10, 10, 20, 30, 30]);
  });

  it('gives each event its time, label and an increasing sequence number', () => {
    const clock = new VirtualClock();
    const fn = () => {};
    const a = clock.at(50, 'a', fn);
    const b = clock.at(10, 'b', fn);
    expect(a.time).toBe(50);
    expect(a.label).toBe('a');
    expect(a.fn).toBe(fn);
    expect(a.done).toBe(false);
    expect(b.seq).toBe(a.seq + 1);
  });

  it('an event scheduled at the current time by a running event runs after those already queued there', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    clock.at(5, 'first', () => {
      r.log.push('first');
      r.at(5, 'spawned');
    });
    r.at(5, 'second');
    clock.runUntil(5);
    expect(r.log).toEqual(['first', 'second', 'spawned']);
  });

  it('after(delay) schedules relative to now', () => {
    const clock = new VirtualClock();
    clock.runUntil(1234);
    const ev = clock.after(66, 'x', () => {});
    expect(ev.time).toBe(1300);
    expect(clock.after(0, 'y', () => {}).time).toBe(1234);
  });

  it('property: run order is (time, insertion) order and the clock equals each event time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ time: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), {
          maxLength: 200,
        }),
        (specs) => {
          const clock = new VirtualClock();
          const ran: { i: number; now: number }[] = [];
          const evs = specs.map((s, i) =>
            clock.at(s.time, `e${i}`, () => {
              ran.push({ i, now: clock.now });
            }),
          );
          specs.forEach((s, i) => {
            if (s.cancel) clock.cancel(evs[i]);
          });
          const live = specs.map((s, i) => ({ ...s, i })).filter((s) => !s.cancel);
          expect(clock.pending).toBe(live.length);
          const expected = [...live].sort((x, y) => x.time - y.time || x.i - y.i);
          clock.runUntil(100);
          expect(ran).toEqual(expected.map((s) => ({ i: s.i, now: s.time })));
          expect(clock.pending).toBe(0);
          expect(clock.now).toBe(100);
        },
      ),
    );
  });
});

describe('VirtualClock.cancel', () => {
  it('a cancelled event never runs and stops counting as pending', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    r.at(10, 'a');
    const b = r.at(10, 'b');
    r.at(20, 'c');
    expect(clock.pending).toBe(3);
    clock.cancel(b);
    expect(b.done).toBe(true);
    expect(clock.pending).toBe(2);
    clock.runUntil(100);
    expect(r.log).toEqual(['a', 'c']);
  });

  it('cancelling twice, after the run, or null/undefined does nothing', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    const a = r.at(10, 'a');
    r.at(50, 'b');
    clock.cancel(a);
    clock.cancel(a);
    expect(clock.pending).toBe(1);
    clock.cancel(null);
    clock.cancel(undefined);
    expect(clock.pending).toBe(1);
    const c = r.at(20, 'c');
    clock.runUntil(20);
    expect(r.log).toEqual(['c']);
    expect(c.done).toBe(true);
    clock.cancel(c);
    expect(clock.pending).toBe(1);
    clock.runUntil(50);
    expect(r.log).toEqual(['c', 'b']);
    expect(clock.pending).toBe(0);
  });

  it('peekTime skips cancelled events', () => {
    const clock = new VirtualClock();
    const a = clock.at(10, 'a', () => {});
    clock.at(40, 'b', () => {});
    expect(clock.peekTime()).toBe(10);
    clock.cancel(a);
    expect(clock.peekTime()).toBe(40);
  });

  it('an event can cancel a later event of the same time', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    let victim: SimEvent | null = null;
    clock.at(7, 'killer', () => clock.cancel(victim));
    victim = r.at(7, 'victim');
    r.at(7, 'survivor');
    clock.runUntil(7);
    expect(r.log).toEqual(['survivor']);
  });
});

describe('VirtualClock.rearm', () => {
  it('schedules an event that ran again, in the order a new event from at() would take', () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    let runs = 0;
    const tick: SimEvent = clock.at(10, 'tick', () => {
      log.push(`tick@${clock.now}`);
      if (++runs < 3) expect(clock.rearm(tick, clock.now + 10)).toBe(tick);
    });
    clock.at(20, 'other', () => {
      log.push(`other@${clock.now}`);
    });
    clock.runUntil(100);
    // tick's second run was scheduled at t=10, after 'other' (t=0): at t=20 it comes second.
    expect(log).toEqual(['tick@10', 'other@20', 'tick@20', 'tick@30']);
    expect(tick.done).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('a rearmed event can be cancelled and keeps its label', () => {
    const clock = new VirtualClock();
    let runs = 0;
    const ev = clock.at(5, 'periodic', () => {
      runs++;
    });
    clock.runUntil(5);
    clock.rearm(ev, 8);
    expect([ev.time, ev.label, clock.pending]).toEqual([8, 'periodic', 1]);
    clock.cancel(ev);
    clock.runUntil(20);
    expect([runs, clock.pending]).toEqual([1, 0]);
  });

  it('refuses an event still queued (pending or cancelled but not yet dropped) and a time in the past', () => {
    const clock = new VirtualClock();
    const pending = clock.at(5, 'pending', () => {});
    expect(() => clock.rearm(pending, 6)).toThrow("rearm: 'pending' is not an event that has run");
    clock.cancel(pending);
    expect(() => clock.rearm(pending, 6)).toThrow(/rearm: 'pending'/);
    const ran = clock.at(7, 'ran', () => {});
    clock.runUntil(7);
    expect(() => clock.rearm(ran, 6)).toThrow(RangeError);
  });
});

describe('VirtualClock.take', () => {
  it('takes the next event, advances the clock to its time and leaves running it to the caller', () => {
    const clock = new VirtualClock();
    let ran = 0;
    clock.at(25, 'x', () => {
      ran++;
    });
    const ev = clock.take();
    expect(ev?.label).toBe('x');
    expect(ev?.done).toBe(true);
    expect(clock.now).toBe(25);
    expect(clock.pending).toBe(0);
    expect(ran).toBe(0);
    ev?.fn();
    expect(ran).toBe(1);
    expect(clock.take()).toBeUndefined();
  });

  it('take(limit) returns nothing and leaves the clock when the next event lies beyond the limit', () => {
    const clock = new VirtualClock();
    clock.at(100, 'late', () => {});
    expect(clock.take(99)).toBeUndefined();
    expect(clock.now).toBe(0);
    expect(clock.pending).toBe(1);
    const ev = clock.take(100);
    expect(ev?.label).toBe('late');
    expect(clock.now).toBe(100);
  });

  it('take skips cancelled events', () => {
    const clock = new VirtualClock();
    const a = clock.at(1, 'a', () => {});
    clock.at(2, 'b', () => {});
    clock.cancel(a);
    expect(clock.take()?.label).toBe('b');
    expect(clock.now).toBe(2);
  });
});

describe('VirtualClock.runUntil', () => {
  it('runs events up to and including the limit and then sets the clock to the limit', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    r.at(10, 'a');
    r.at(20, 'b');
    r.at(21, 'c');
    clock.runUntil(20);
    expect(r.log).toEqual(['a', 'b']);
    expect(clock.now).toBe(20);
    expect(clock.pending).toBe(1);
    clock.runUntil(500);
    expect(r.log).toEqual(['a', 'b', 'c']);
    expect(clock.now).toBe(500);
  });

  it('advances the clock to the limit with no events at all', () => {
    const clock = new VirtualClock();
    clock.runUntil(777);
    expect(clock.now).toBe(777);
  });

  it('runs events that running events schedule inside the window', () => {
    const clock = new VirtualClock();
    const r = recorder(clock);
    clock.at(10, 'a', () => {
      r.log.push('a');
      r.at(15, 'b');
      r.at(31, 'outside');
    });
    clock.runUntil(30);
    expect(r.log).toEqual(['a', 'b']);
    expect(clock.pending).toBe(1);
    expect(clock.peekTime()).toBe(31);
  });

  it('never moves the clock backwards', () => {
    const clock = new VirtualClock();
    clock.runUntil(100);
    clock.runUntil(50);
    expect(clock.now).toBe(100);
  });

  it('refuses an event that returns a promise', () => {
    const clock = new VirtualClock();
    clock.at(5, 'async one', async () => {});
    expect(() => clock.runUntil(10)).toThrow(/async one/);
  });
});

describe('VirtualClock.at argument checks', () => {
  it('RangeError on a time in the past', () => {
    const clock = new VirtualClock();
    clock.runUntil(1000);
    expect(() => clock.at(999, 'past', () => {})).toThrow(RangeError);
    expect(() => clock.after(-1, 'negative delay', () => {})).toThrow(RangeError);
    expect(clock.pending).toBe(0);
    expect(clock.at(1000, 'now', () => {}).time).toBe(1000);
  });

  it('RangeError on a non-integer or non-finite time', () => {
    const clock = new VirtualClock();
    for (const t of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -0.5]) {
      expect(() => clock.at(t, 'bad', () => {})).toThrow(RangeError);
    }
    expect(() => clock.after(0.25, 'bad delay', () => {})).toThrow(RangeError);
    expect(clock.pending).toBe(0);
  });
});

describe('VirtualClock runaway detection', () => {
  it('RunawayError once more than loopLimit events run at t=0', () => {
    const clock = new VirtualClock({ loopLimit: 3 });
    let ran = 0;
    for (let i = 0; i < 4; i++)
      clock.at(0, `e${i}`, () => {
        ran++;
      });
    let err: unknown;
    try {
      clock.runUntil(0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunawayError);
    expect((err as RunawayError).name).toBe('RunawayError');
    expect((err as RunawayError).time).toBe(0);
    expect((err as RunawayError).recent).toEqual(['e0', 'e1', 'e2']);
    expect(ran).toBe(3);
  });

  it('exactly loopLimit events at one time are allowed at t=0', () => {
    const clock = new VirtualClock({ loopLimit: 3 });
    let ran = 0;
    for (let i = 0; i < 3; i++)
      clock.at(0, `e${i}`, () => {
        ran++;
      });
    clock.runUntil(0);
    expect(ran).toBe(3);
  });

  it('the limit is the same at a later time reached by running an event: loopLimit events, not one more', () => {
    // VirtualClockOptions.loopLimit: "Events allowed at one virtual time before RunawayError".
    const clock = new VirtualClock({ loopLimit: 3 });
    clock.at(5, 'warmup', () => {});
    const ran: string[] = [];
    for (let i = 0; i < 4; i++)
      clock.at(10, `e${i}`, () => {
        ran.push(`e${i}`);
      });
    let err: unknown;
    try {
      clock.runUntil(10);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunawayError);
    expect((err as RunawayError).time).toBe(10);
    expect(ran).toEqual(['e0', 'e1', 'e2']);
  });

  it('the limit is the same at a time reached by runUntil (advanceTo)', () => {
    const clock = new VirtualClock({ loopLimit: 3 });
    clock.runUntil(10);
    let ran = 0;
    for (let i = 0; i < 4; i++)
      clock.at(10, `e${i}`, () => {
        ran++;
      });
    expect(() => clock.runUntil(10)).toThrow(RunawayError);
    expect(ran).toBe(3);
  });

  it('a self-rescheduling event at the same time is a runaway; recent holds the newest labels', () => {
    const clock = new VirtualClock({ loopLimit: 100 });
    let n = 0;
    const spin = (): void => {
      n++;
      clock.at(clock.now, `spin${n}`, spin);
    };
    clock.at(0, 'spin0', spin);
    let err: unknown;
    try {
      clock.runUntil(1_000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunawayError);
    const r = err as RunawayError;
    expect(r.time).toBe(0);
    expect(n).toBe(100);
    expect(r.recent.length).toBe(16);
    expect(r.recent.at(-1)).toBe('spin99');
    expect(r.message).toContain('100 events ran at t=0 ns');
  });

  it('events spread over time never trip the limit, however many', () => {
    const clock = new VirtualClock({ loopLimit: 2 });
    let ran = 0;
    for (let t = 0; t < 1000; t++)
      clock.at(t, `e${t}`, () => {
        ran++;
      });
    clock.runUntil(1000);
    expect(ran).toBe(1000);
  });

  it('time advancing resets the same-time count', () => {
    const clock = new VirtualClock({ loopLimit: 3 });
    let ran = 0;
    for (const t of [0, 0, 0, 1, 1, 2, 2, 2]) {
      clock.at(t, `e@${t}`, () => {
        ran++;
      });
    }
    clock.runUntil(2);
    expect(ran).toBe(8);
  });
});

describe('VirtualClock.nothingDueBy and pass (a step without an event of its own)', () => {
  it('nothingDueBy is true only when every live event lies strictly later; a cancelled one does not count', () => {
    const clock = new VirtualClock();
    expect(clock.nothingDueBy(0)).toBe(true);
    const ev = clock.at(10, 'e', () => {});
    expect([clock.nothingDueBy(9), clock.nothingDueBy(10), clock.nothingDueBy(11)]).toEqual([
      true,
      false,
      false,
    ]);
    clock.cancel(ev);
    expect(clock.nothingDueBy(11)).toBe(true);
  });

  it('pass moves the clock and counts as an event taken at that time: loopLimit passes at one time, not one more', () => {
    const clock = new VirtualClock({ loopLimit: 3 });
    clock.pass(5);
    clock.pass(5);
    clock.pass(5);
    expect(clock.now).toBe(5);
    expect(() => clock.pass(5)).toThrow(RunawayError);
    clock.pass(6);
    expect(clock.now).toBe(6);
  });

  it('pass refuses a time in the past or not an integer', () => {
    const clock = new VirtualClock();
    clock.pass(10);
    expect(() => clock.pass(9)).toThrow(RangeError);
    expect(() => clock.pass(10.5)).toThrow(RangeError);
  });
});

describe('VirtualClock.stepInline', () => {
  /** A periodic event every 10 ns from t=10, stepping inline where it may (`inline`) or rearmed each time. */
  function periodic(clock: VirtualClock, inline: boolean, log: string[]): void {
    let n = 0;
    const tick: SimEvent = clock.at(10, 'tick', () => {
      log.push(`tick${n++}@${clock.now}`);
      while (inline && n < 8 && clock.stepInline(tick, clock.now + 10)) log.push(`tick${n++}@${clock.now}`);
      if (n < 8) clock.rearm(tick, clock.now + 10);
    });
  }

  /** Runs the clock as the simulator's loop does: the horizon is the limit of its takes. */
  function loop(clock: VirtualClock, limit: number): void {
    clock.horizon = limit;
    for (let ev = clock.take(limit); ev; ev = clock.take(limit)) ev.fn();
    clock.horizon = Number.NEGATIVE_INFINITY;
  }

  it('gives the order, times and sequence numbers that rearm and take would, stopping before an event at the same time', () => {
    const runs = [true, false].map((inline) => {
      const clock = new VirtualClock();
      const log: string[] = [];
      periodic(clock, inline, log);
      // 'other' at 40 was scheduled before any rearm of tick to 40: it runs first at that time.
      clock.at(40, 'other', () => {
        log.push(`other@${clock.now}`);
      });
      loop(clock, 65);
      const next = clock.at(70, 'after', () => {});
      return { log, now: clock.now, inlineSteps: clock.inlineSteps, seq: next.seq, pending: clock.pending };
    });
    const [inline, rearmed] = runs;
    expect(inline!.log).toEqual([
      'tick0@10',
      'tick1@20',
      'tick2@30',
      'other@40',
      'tick3@40',
      'tick4@50',
      'tick5@60',
    ]);
    expect(inline!.log).toEqual(rearmed!.log);
    expect([inline!.inlineSteps, rearmed!.inlineSteps]).toEqual([4, 0]);
    expect(inline!.seq).toBe(rearmed!.seq);
    expect(inline!.now).toBe(60);
    // tick6 at 70 waits in the queue in both runs, with 'after'.
    expect([inline!.pending, rearmed!.pending]).toEqual([2, 2]);
  });

  it('inlineLimit: -Infinity outside a run loop, else the horizon or the next live event minus 1 ns', () => {
    const clock = new VirtualClock();
    expect(clock.inlineLimit()).toBe(Number.NEGATIVE_INFINITY);
    clock.horizon = 100;
    expect(clock.inlineLimit()).toBe(100);
    const ev = clock.at(30, 'x', () => {});
    expect(clock.inlineLimit()).toBe(29);
    clock.cancel(ev);
    expect(clock.inlineLimit()).toBe(100);
  });

  it('refuses an event that has not run, or was scheduled again', () => {
    const clock = new VirtualClock();
    clock.horizon = 100;
    const pending = clock.at(50, 'pending', () => {});
    expect(() => clock.stepInline(pending, 10)).toThrow("stepInline: 'pending' is not an event that has run");
    const ran = clock.take(100)!;
    expect(ran).toBe(pending);
    clock.rearm(ran, 60);
    expect(() => clock.stepInline(ran, 55)).toThrow("stepInline: 'pending' is not an event that has run");
    expect([clock.now, clock.inlineSteps]).toEqual([50, 0]);
  });

  it('does nothing past the limit; refuses a time before now, and several steps that end now', () => {
    const clock = new VirtualClock();
    const ran = clock.at(5, 'ran', () => {});
    clock.horizon = 20;
    clock.take(20);
    expect(clock.stepInline(ran, 21)).toBe(false);
    expect([clock.now, clock.inlineSteps]).toEqual([5, 0]);
    expect(() => clock.stepInline(ran, 4)).toThrow(RangeError);
    expect(() => clock.stepInline(ran, 5, 2)).toThrow(RangeError);
    expect(clock.stepInline(ran, 20, 15)).toBe(true);
    expect([clock.now, clock.inlineSteps]).toEqual([20, 15]);
  });

  it('counts each step at one time towards the runaway limit, naming the event', () => {
    const clock = new VirtualClock({ loopLimit: 3 });
    const ev = clock.at(5, 'spin', () => {});
    clock.horizon = 5;
    clock.take(5);
    expect(clock.stepInline(ev, 5)).toBe(true);
    expect(clock.stepInline(ev, 5)).toBe(true);
    expect(() => clock.stepInline(ev, 5)).toThrow(RunawayError);
    expect(() => clock.stepInline(ev, 5)).toThrow(/last: spin, spin, spin/);
  });
});
