/**
 * The simulator's own API (src/sim/simulator.ts) on a JavaScript caller's bad values: `kill` refuses a
 * signal that is not an integer from 1 to 64, or a pid that is not an integer, the way Node's APIs do.
 */
import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/sim/simulator.ts';
import { SIGKILL } from '../../src/uapi/signal.ts';

describe('Simulator.kill', () => {
  it.each([0, -3, 65, 1e9, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'signal %d: RangeError ERR_OUT_OF_RANGE, and the process lives on',
    async (sig) => {
      const sim = createSimulator();
      const pid = sim.spawn('p', (sys) => sys.nanosleep(1_000_000));
      expect(() => sim.kill(pid, sig)).toThrow(
        expect.objectContaining({
          name: 'RangeError',
          code: 'ERR_OUT_OF_RANGE',
          message: `kill(): The value of "sig" is out of range. It must be ${Number.isInteger(sig) ? '>= 1 && <= 64' : 'an integer'}. Received ${sig}`,
        }),
      );
      const r = await sim.run();
      expect(r.processes.map((p) => [p.status, p.reason])).toEqual([['exited', 'returned']]);
    },
  );

  it.each([
    ['9', 'Received type string ("9")'],
    [null, 'Received null'],
    [true, 'Received type boolean (true)'],
  ])('signal %j: TypeError ERR_INVALID_ARG_TYPE', (sig, received) => {
    const sim = createSimulator();
    const pid = sim.spawn('p', (sys) => sys.nanosleep(1_000_000));
    expect(() => sim.kill(pid, sig as never)).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
        message: `kill(): The "sig" argument must be of type number. ${received}`,
      }),
    );
  });

  it('a pid that is not an integer: ERR_OUT_OF_RANGE; a pid no process has: nothing happens', async () => {
    const sim = createSimulator();
    const pid = sim.spawn('p', (sys) => sys.nanosleep(1_000_000));
    expect(() => sim.kill(Number.NaN)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    sim.kill(pid + 1000);
    sim.kill(pid, SIGKILL);
    const r = await sim.run();
    expect(r.processes.map((p) => [p.status, p.signal])).toEqual([['killed', SIGKILL]]);
  });
});

describe('Simulator.advance with stopWhen', () => {
  /** Events at 10 (a, b) and 20 (c) while a process sleeps for 1 ms; stops once `a` ran. */
  async function stopAfterA(settle: boolean): Promise<[string[], number]> {
    const sim = createSimulator();
    sim.spawn('p', (sys) => sys.nanosleep(1_000_000));
    const log: string[] = [];
    for (const [t, name] of [
      [10, 'a'],
      [10, 'b'],
      [20, 'c'],
    ] as const)
      sim.at(t, name, () => {
        log.push(name);
      });
    await sim.advance({ until: 100, stopWhen: () => log.includes('a'), settle });
    return [log, sim.now];
  }

  it('stops right after the event at which it holds', async () => {
    expect(await stopAfterA(false)).toEqual([['a'], 10]);
  });

  it('with settle, also runs the rest of that instant, as a second advance to the same time would', async () => {
    expect(await stopAfterA(true)).toEqual([['a', 'b'], 10]);
  });
});

describe('syscalls that return at once', () => {
  it('a syscall that does not sleep, with nothing else due before its return, takes no event of the clock', async () => {
    for (const platform of ['zcu102', 'ideal'] as const) {
      const sim = createSimulator({ platform });
      const times: number[] = [];
      sim.spawn(
        'g',
        async (sys) => {
          for (let i = 0; i < 1000; i++) await sys.getpid();
          times.push(sys.now());
          return 0;
        },
        { stdio: false },
      );
      const r = await sim.run();
      // The one event is the process's start; each getpid costs the platform's syscall time.
      expect([r.stats.events, r.stats.syscalls, r.processes[0]!.status]).toEqual([1, 1000, 'exited']);
      expect(times).toEqual([platform === 'ideal' ? 0 : 1000 * sim.platform.syscallNs]);
    }
  });

  it('a syscall woken from its sleep returns in the wake-up event: start, timer and wake-up are the only events', async () => {
    const sim = createSimulator({ platform: 'zcu102' });
    const times: number[] = [];
    sim.spawn(
      's',
      async (sys) => {
        times.push(await sys.nanosleep(1_000_000), sys.now());
        return 0;
      },
      { stdio: false },
    );
    const r = await sim.run();
    const p = sim.platform;
    expect(r.stats.events).toBe(3);
    // Asleep 1 ms, awake after the wake latency, back in user space after the syscall's cost.
    expect(times).toEqual([0, 1_000_000 + p.wakeLatencyNs + p.syscallNs]);
  });

  it('an event due before the return still runs first, at its own time', async () => {
    const sim = createSimulator();
    const log: string[] = [];
    sim.at(1, 'hw', () => {
      log.push(`hw at ${sim.now}`);
    });
    sim.spawn(
      'g',
      async (sys) => {
        await sys.getpid();
        log.push(`user at ${sys.now()}`);
        return 0;
      },
      { stdio: false },
    );
    await sim.run();
    expect(log).toEqual(['hw at 1', `user at ${sim.platform.syscallNs}`]);
  });

  it('a program that makes syscalls forever without time passing ends in a runaway error, not a hang', async () => {
    const sim = createSimulator({ platform: 'ideal', loopLimit: 1000 });
    sim.spawn(
      'spin',
      async (sys) => {
        for (;;) await sys.getpid();
      },
      { stdio: false },
    );
    await expect(sim.run()).rejects.toThrow(/runaway: 1000 events ran at t=0 ns/);
  });

  it('a second syscall before the first was awaited is refused, whether or not the first returned at once', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    let code: unknown;
    sim.spawn(
      'g',
      async (sys) => {
        const first = sys.getpid();
        try {
          void sys.getpid();
        } catch (e) {
          code = (e as { code?: string }).code;
        }
        return first;
      },
      { stdio: false },
    );
    const r = await sim.run();
    expect(code).toBe('ERR_SIM_SYSCALL_IN_PROGRESS');
    expect(r.processes[0]!.status).toBe('exited');
  });
});
