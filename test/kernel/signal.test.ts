/**
 * Rule SIG-1 of ../shared/reference/kernel-semantics.md §2: what a signal does to a syscall sleeping
 * interruptibly (blocking buffer read, poll, nanosleep), with a handler without SA_RESTART, with SA_RESTART, and
 * without a handler.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/index.ts';
import { EINTR, EINVAL, IIO_BUFFER_GET_FD_IOCTL, O_RDWR, POLLIN } from '../../src/uapi/index.ts';
import { SIGKILL, SIGTERM, SIGUSR1, SIGUSR2 } from '../../src/uapi/signal.ts';
import { enableChannels, setBufferEnabled, writeAttr } from '../../src/user/iio.ts';
import { runOne, testSimulator, vtime } from '../helpers.ts';

const ADC = '/dev/iio:device0';
const DUMMY = '/dev/iio:device2';
const DUMMY_SYSFS = '/sys/bus/iio/devices/iio:device2';
const MS = 1_000_000;

/** An fd of the chardev's buffer 0. */
async function bufferFd(sys: Sys, chardev: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, 0);
  expect(await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, arg)).toBe(0);
  return sys.mem.readInt(arg);
}

/**
 * sim-dummy capturing in_voltage0 (2-byte scans) at 10 Hz from now: the first scan lands 100 ms later, so a
 * blocking read of one scan sleeps until then. Returns the buffer fd.
 */
async function slowKfifo(sys: Sys): Promise<number> {
  expect(await writeAttr(sys, `${DUMMY_SYSFS}/sampling_frequency`, '10')).toBe(2);
  expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
  const fd = await bufferFd(sys, await sys.open(DUMMY, O_RDWR));
  expect(await setBufferEnabled(sys, 2, true)).toBe(1);
  return fd;
}

/** An ADC buffer fd that never becomes readable (the buffer is never enabled): poll on it sleeps. */
async function idleAdcBuffer(sys: Sys): Promise<number> {
  return bufferFd(sys, await sys.open(ADC, O_RDWR));
}

/** Runs `body` as the only process on the ideal platform, sending `sig` to it at `at` ns. */
async function runSignalled<R>(body: (sys: Sys) => Promise<R>, at: number, sig = SIGUSR1) {
  const sim = testSimulator({ platform: 'ideal' });
  let value: R | undefined;
  const pid = sim.spawn('victim', async (sys) => {
    value = await body(sys);
  });
  sim.at(at, `SIGUSR1 to ${pid}`, () => sim.kill(pid, sig));
  const result = await sim.run();
  return { value, outcome: result.processes[0]! };
}

describe('SIG-1: a blocking buffer read', () => {
  it('SIG-1: a handler without SA_RESTART makes a sleeping read return -EINTR when the signal arrives', async () => {
    const { value, outcome } = await runSignalled(async (sys) => {
      const fd = await slowKfifo(sys);
      expect(await sys.sigaction(SIGUSR1, { restart: false })).toBe(0);
      const buf = sys.mem.alloc(2);
      const r = await sys.read(fd, buf, 2);
      const t = sys.now();
      await setBufferEnabled(sys, 2, false);
      return [r, t];
    }, 5 * MS);
    expect(outcome.status).toBe('exited');
    expect(value).toEqual([-EINTR, vtime(5 * MS)]);
  });

  it('SIG-1: with SA_RESTART the read is restarted and returns the data when it arrives', async () => {
    const { value, outcome } = await runSignalled(async (sys) => {
      const fd = await slowKfifo(sys);
      expect(await sys.sigaction(SIGUSR1, { restart: true })).toBe(0);
      const buf = sys.mem.alloc(2);
      const r = await sys.read(fd, buf, 2);
      const t = sys.now();
      const sample = [...sys.mem.read(buf, 2)];
      await setBufferEnabled(sys, 2, false);
      return [r, t, sample];
    }, 5 * MS);
    expect(outcome.status).toBe('exited');
    expect(value).toEqual([2, vtime(100 * MS), [0, 0]]);
  });

  it('SIG-1: the handled signal is consumed: the next blocking call sleeps normally', async () => {
    const { value } = await runSignalled(async (sys) => {
      const fd = await slowKfifo(sys);
      await sys.sigaction(SIGUSR1, { restart: false });
      const buf = sys.mem.alloc(2);
      const first = await sys.read(fd, buf, 2);
      const second = await sys.read(fd, buf, 2);
      const t = sys.now();
      await setBufferEnabled(sys, 2, false);
      return [first, second, t];
    }, 5 * MS);
    expect(value).toEqual([-EINTR, 2, vtime(100 * MS)]);
  });

  it('SIG-1: without a handler the signal ends the process (status killed)', async () => {
    const { value, outcome } = await runSignalled(async (sys) => {
      const fd = await slowKfifo(sys);
      const buf = sys.mem.alloc(2);
      return sys.read(fd, buf, 2);
    }, 5 * MS);
    expect(value).toBeUndefined();
    expect(outcome.status).toBe('killed');
    expect(outcome.signal).toBe(SIGUSR1);
    expect(outcome.exitTime).toEqual(vtime(5 * MS));
  });

  it('SIG-1: removing the handler (sigaction null) restores the default: the process is killed', async () => {
    const { outcome } = await runSignalled(async (sys) => {
      const fd = await slowKfifo(sys);
      await sys.sigaction(SIGUSR1, { restart: false });
      await sys.sigaction(SIGUSR1, null);
      return sys.read(fd, sys.mem.alloc(2), 2);
    }, 5 * MS);
    expect(outcome.status).toBe('killed');
    expect(outcome.signal).toBe(SIGUSR1);
  });

  it('SIG-1: a handler for another signal does not help: SIGUSR2 still kills', async () => {
    const { outcome } = await runSignalled(
      async (sys) => {
        const fd = await slowKfifo(sys);
        await sys.sigaction(SIGUSR1, { restart: true });
        return sys.read(fd, sys.mem.alloc(2), 2);
      },
      5 * MS,
      SIGUSR2,
    );
    expect(outcome.status).toBe('killed');
    expect(outcome.signal).toBe(SIGUSR2);
  });

  it('SIG-1: SIGKILL cannot be caught: sigaction refuses it and it ends a process with handlers', async () => {
    const { value, outcome } = await runSignalled(
      async (sys) => {
        const refused = await sys.sigaction(SIGKILL, { restart: true });
        await sys.sigaction(SIGTERM, { restart: true });
        const fd = await slowKfifo(sys);
        await sys.read(fd, sys.mem.alloc(2), 2);
        return refused;
      },
      5 * MS,
      SIGKILL,
    );
    expect(value).toBeUndefined();
    expect(outcome.status).toBe('killed');
    expect(outcome.signal).toBe(SIGKILL);
    const refusal = await runOne(async (sys) => sys.sigaction(SIGKILL, { restart: false }));
    expect(refusal.value).toBe(-EINVAL);
  });

  it('SIG-1: a second process interrupts the read with kill(2); kill returns 0', async () => {
    const sim = testSimulator({ platform: 'ideal' });
    const seen: Record<string, number> = {};
    const reader = sim.spawn('reader', async (sys) => {
      const fd = await slowKfifo(sys);
      await sys.sigaction(SIGUSR1, { restart: false });
      seen.read = await sys.read(fd, sys.mem.alloc(2), 2);
      seen.readAt = sys.now();
      await setBufferEnabled(sys, 2, false);
    });
    sim.spawn('sender', async (sys) => {
      await sys.nanosleep(7 * MS);
      seen.kill = await sys.kill(reader, SIGUSR1);
    });
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(seen).toEqual({ kill: 0, read: -EINTR, readAt: vtime(7 * MS) });
  });

  it('SIG-1: a second process kills a reader without a handler', async () => {
    const sim = testSimulator({ platform: 'ideal' });
    const reader = sim.spawn('reader', async (sys) => {
      const fd = await slowKfifo(sys);
      return sys.read(fd, sys.mem.alloc(2), 2);
    });
    let killed = Number.NaN;
    sim.spawn('sender', async (sys) => {
      await sys.nanosleep(7 * MS);
      killed = await sys.kill(reader, SIGTERM);
    });
    const r = await sim.run();
    expect(killed).toBe(0);
    expect(r.processes[0]!.status).toBe('killed');
    expect(r.processes[0]!.signal).toBe(SIGTERM);
    expect(r.processes[0]!.exitTime).toEqual(vtime(7 * MS));
    expect(r.processes[1]!.status).toBe('exited');
  });
});

describe('SIG-1: poll and nanosleep', () => {
  it('SIG-1: a poll sleeping forever returns -EINTR when a handler without SA_RESTART runs', async () => {
    const { value, outcome } = await runSignalled(async (sys) => {
      const fd = await idleAdcBuffer(sys);
      await sys.sigaction(SIGUSR1, { restart: false });
      const r = await sys.pollfds([{ fd, events: POLLIN }], -1);
      return [r, sys.now()];
    }, 3 * MS);
    expect(outcome.status).toBe('exited');
    expect(value).toEqual([-EINTR, vtime(3 * MS)]);
  });

  it('SIG-1: poll is not restarted after a handler ran, even with SA_RESTART (-ERESTARTNOHAND)', async () => {
    const { value } = await runSignalled(async (sys) => {
      const fd = await idleAdcBuffer(sys);
      await sys.sigaction(SIGUSR1, { restart: true });
      const r = await sys.pollfds([{ fd, events: POLLIN }], 50);
      return [r, sys.now()];
    }, 3 * MS);
    expect(value).toEqual([-EINTR, vtime(3 * MS)]);
  });

  it('SIG-1: a poll without a handler for the signal ends the process', async () => {
    const { outcome } = await runSignalled(async (sys) => {
      const fd = await idleAdcBuffer(sys);
      return sys.pollfds([{ fd, events: POLLIN }], -1);
    }, 3 * MS);
    expect(outcome.status).toBe('killed');
    expect(outcome.signal).toBe(SIGUSR1);
  });

  it('SIG-1: nanosleep returns -EINTR when a handler runs (with or without SA_RESTART)', async () => {
    const plain = await runSignalled(async (sys) => {
      await sys.sigaction(SIGUSR1, { restart: false });
      const r = await sys.nanosleep(10 * MS);
      return [r, sys.now()];
    }, 4 * MS);
    const restart = await runSignalled(async (sys) => {
      await sys.sigaction(SIGUSR1, { restart: true });
      const r = await sys.nanosleep(10 * MS);
      return [r, sys.now()];
    }, 4 * MS);
    expect([plain.value, restart.value]).toEqual([
      [-EINTR, vtime(4 * MS)],
      [-EINTR, vtime(4 * MS)],
    ]);
  });

  it('SIG-1: a signal handled while the process runs user code does not interrupt its next blocking call', async () => {
    const { value, outcome } = await runSignalled(async (sys) => {
      await sys.sigaction(SIGUSR1, { restart: false });
      await sys.compute(10 * MS);
      const r = await sys.nanosleep(5 * MS);
      return [r, sys.now()];
    }, 4 * MS);
    expect(outcome.status).toBe('exited');
    expect(value).toEqual([0, vtime(15 * MS)]);
  });

  it('SIG-1: a signal handled while the process runs user code does not interrupt a later blocking read', async () => {
    const { value } = await runSignalled(async (sys) => {
      const fd = await slowKfifo(sys);
      await sys.sigaction(SIGUSR1, { restart: false });
      await sys.compute(10 * MS);
      const r = await sys.read(fd, sys.mem.alloc(2), 2);
      const t = sys.now();
      await setBufferEnabled(sys, 2, false);
      return [r, t];
    }, 4 * MS);
    expect(value).toEqual([2, vtime(100 * MS)]);
  });
});
