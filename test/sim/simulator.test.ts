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
