/**
 * The process runtime and the simulator's run loop against misuse (src/sim/process.ts, src/sim/simulator.ts): a
 * `Sys` kept past its process's exit, a second `run()` while one is in progress, RLIMIT_NOFILE past `fs.nr_open`
 * and a sparse fd table. Simulator only: these are API contracts, not kernel behaviour.
 */
import { describe, expect, it } from 'vitest';
import { createSimulator, type Sys } from '../../src/index.ts';
import { NR_OPEN } from '../../src/sim/syscall-args.ts';
import { EBADF, EMFILE, F_DUPFD, O_RDONLY } from '../../src/uapi/index.ts';

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return (e as { code?: unknown }).code;
  }
  return 'no throw';
}

describe('a Sys outlives its process', () => {
  it('a saved sys.open called after the process exited throws ERR_SIM_PROCESS_EXITED synchronously (never a promise that never settles)', async () => {
    const sim = createSimulator();
    let saved: Sys | null = null;
    sim.spawn('t', async (sys) => {
      saved = sys;
    });
    await sim.run();
    const s = saved as unknown as Sys;
    expect(codeOf(() => s.open('/dev/null', O_RDONLY))).toBe('ERR_SIM_PROCESS_EXITED');
    expect(codeOf(() => s.close(0))).toBe('ERR_SIM_PROCESS_EXITED');
    expect(codeOf(() => s.compute(1))).toBe('ERR_SIM_PROCESS_EXITED');
  });

  it("another process calling a dead process's sys gets the error; the simulator goes on", async () => {
    const sim = createSimulator();
    let saved: Sys | null = null;
    sim.spawn('short', async (sys) => {
      saved = sys;
    });
    sim.spawn(
      'other',
      async (sys) => {
        const err = codeOf(() => (saved as unknown as Sys).getpid());
        return [err, await sys.close(await sys.open('/dev/null', O_RDONLY))];
      },
      { startAt: 1000 },
    );
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(r.processes[1]!.value).toEqual(['ERR_SIM_PROCESS_EXITED', 0]);
  });
});

describe('run()', () => {
  it('a second run() while one is in progress rejects with ERR_SIM_RUN_IN_PROGRESS; the first completes', async () => {
    const sim = createSimulator();
    sim.spawn('t', async (sys) => {
      await sys.nanosleep(1_000_000);
      return 7;
    });
    const first = sim.run();
    await expect(sim.run()).rejects.toMatchObject({ code: 'ERR_SIM_RUN_IN_PROGRESS' });
    const r = await first;
    expect(r.processes[0]!.value).toBe(7);
    expect(r.processes[0]!.exitTime).toBeGreaterThanOrEqual(1_000_000);
  });

  it('run() after a finished run is allowed (a new process runs)', async () => {
    const sim = createSimulator();
    sim.spawn('a', async () => 1);
    await sim.run();
    sim.spawn('b', async () => 2);
    const r = await sim.run();
    expect(r.processes.map((p) => p.value)).toEqual([1, 2]);
  });
});

describe('RLIMIT_NOFILE and the fd table', () => {
  it(`nofile above fs.nr_open (${NR_OPEN}) is refused with ERR_OUT_OF_RANGE, in createSimulator and spawn`, () => {
    expect(codeOf(() => createSimulator({ nofile: 2 ** 31 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => createSimulator({ nofile: NR_OPEN + 1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => createSimulator({ nofile: 1.5 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => createSimulator().spawn('t', async () => 0, { nofile: -1 }))).toBe(
      'ERR_OUT_OF_RANGE',
    );
  });

  it('FD-8 FD-1 FD-2: at nofile = nr_open, dup2 to the last fd and the lowest-free search cost per open fd, not per slot', async () => {
    const sim = createSimulator({ nofile: NR_OPEN });
    sim.spawn(
      't',
      async (sys) => {
        const out = [await sys.dup2(0, NR_OPEN - 1), await sys.dup2(0, NR_OPEN)];
        out.push(await sys.fcntl(0, F_DUPFD, NR_OPEN - 2), await sys.fcntl(0, F_DUPFD, NR_OPEN - 2));
        out.push(await sys.open('/dev/null', O_RDONLY), await sys.close(NR_OPEN - 1));
        return out;
      },
      { stdio: true },
    );
    const r = await sim.run();
    expect(r.processes[0]!.value).toEqual([NR_OPEN - 1, -EBADF, NR_OPEN - 2, -EMFILE, 3, 0]);
  });
});
