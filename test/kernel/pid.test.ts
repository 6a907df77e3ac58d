/**
 * Process file descriptors, kernel/pid.c: `pidfd_open()` (its flag, pid and lookup checks, the O_CLOEXEC fd)
 * and `pidfd_getfd()` (its flag and fd checks, -ESRCH once the process has exited, the new fd sharing the
 * target's open file). Not rulebook rules: named by the kernel function. The tests also run on Linux 7.3.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/index.ts';
import {
  EBADF,
  EINVAL,
  ESRCH,
  F_GETFD,
  F_GETFL,
  F_SETFL,
  FD_CLOEXEC,
  O_ACCMODE,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  PIDFD_NONBLOCK,
  PIDFD_THREAD,
  SEEK_CUR,
  SEEK_SET,
} from '../../src/uapi/index.ts';
import { runOne } from '../helpers.ts';

const MS = 1_000_000;

/** A memfd holding `n` bytes written through it (its offset is then `n`). */
async function memfdWith(sys: Sys, n: number): Promise<number> {
  const fd = await sys.memfd_create('pidfd-test', 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  const buf = sys.mem.alloc(Math.max(1, n));
  expect(await sys.write(fd, buf, n)).toBe(n);
  return fd;
}

describe('pidfd_open (kernel/pid.c)', () => {
  it('flags other than PIDFD_NONBLOCK and PIDFD_THREAD, and a pid <= 0, are -EINVAL; a pid no process has is -ESRCH', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.pidfd_open(sys.pid, 1),
      await sys.pidfd_open(sys.pid, O_CLOEXEC),
      await sys.pidfd_open(0, 0),
      await sys.pidfd_open(-1, 0),
      await sys.pidfd_open(0, 1),
      await sys.pidfd_open(4_000_000, 0),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -ESRCH]);
  });

  it('gives the lowest free fd, FD_CLOEXEC set, O_RDWR plus the O_NONBLOCK PIDFD_NONBLOCK asks for', async () => {
    const { value } = await runOne(async (sys) => {
      const a = await sys.pidfd_open(sys.pid, 0);
      const b = await sys.pidfd_open(sys.pid, PIDFD_NONBLOCK);
      const c = await sys.pidfd_open(sys.pid, PIDFD_THREAD);
      return {
        fds: [a, b, c],
        cloexec: [await sys.fcntl(a, F_GETFD), await sys.fcntl(b, F_GETFD)],
        fl: [
          (await sys.fcntl(a, F_GETFL)) & (O_ACCMODE | O_NONBLOCK),
          (await sys.fcntl(b, F_GETFL)) & (O_ACCMODE | O_NONBLOCK),
        ],
      };
    });
    expect(value).toEqual({
      fds: [0, 1, 2],
      cloexec: [FD_CLOEXEC, FD_CLOEXEC],
      fl: [O_RDWR, O_RDWR | O_NONBLOCK],
    });
  });

  it('a process that has exited is -ESRCH', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const child = sim.spawn('child', async () => 0, { stdio: false });
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      return sys.pidfd_open(child, 0);
    });
    expect(value).toBe(-ESRCH);
  });
});

describe('pidfd_getfd (kernel/pid.c)', () => {
  it('flags != 0 is -EINVAL first; a pidfd not open, or not a pidfd, is -EBADF; a target fd not open is -EBADF', async () => {
    const { value } = await runOne(async (sys) => {
      const pidfd = await sys.pidfd_open(sys.pid, 0);
      const memfd = await memfdWith(sys, 0);
      return [
        await sys.pidfd_getfd(pidfd, memfd, 1),
        await sys.pidfd_getfd(100, memfd, 1),
        await sys.pidfd_getfd(100, memfd, 0),
        await sys.pidfd_getfd(-1, memfd, 0),
        await sys.pidfd_getfd(memfd, memfd, 0),
        await sys.pidfd_getfd(pidfd, 100, 0),
        await sys.pidfd_getfd(pidfd, -1, 0),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, -EBADF, -EBADF, -EBADF, -EBADF, -EBADF]);
  });

  it("the new fd is the lowest free one, FD_CLOEXEC, on the target's open file (one offset, one set of status flags)", async () => {
    const { value, result } = await runOne(async (sys, sim) => {
      const owner = sim.spawn(
        'owner',
        async (s2) => {
          const fd = await memfdWith(s2, 5);
          expect(await s2.nanosleep(20 * MS)).toBe(0);
          // The receiver moved the shared offset and set O_NONBLOCK meanwhile.
          return [fd, await s2.lseek(fd, 0, SEEK_CUR), (await s2.fcntl(fd, F_GETFL)) & O_NONBLOCK];
        },
        { stdio: false },
      );
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      const pidfd = await sys.pidfd_open(owner, 0);
      const fd = await sys.pidfd_getfd(pidfd, 0, 0);
      const got = [pidfd, fd, await sys.fcntl(fd, F_GETFD), await sys.lseek(fd, 0, SEEK_CUR)];
      expect(await sys.lseek(fd, 2, SEEK_SET)).toBe(2);
      expect(await sys.fcntl(fd, F_SETFL, O_NONBLOCK)).toBe(0);
      expect(await sys.close(pidfd)).toBe(0);
      return got;
    });
    expect(value).toEqual([0, 1, FD_CLOEXEC, 5]);
    expect(result.processes[1]?.value).toEqual([0, 2, O_NONBLOCK]);
  });

  it('once the process has exited, its pidfd still names it and pidfd_getfd is -ESRCH', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const owner = sim.spawn(
        'owner',
        async (s2) => {
          await memfdWith(s2, 1);
          expect(await s2.nanosleep(10 * MS)).toBe(0);
          return 0;
        },
        { stdio: false },
      );
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      const pidfd = await sys.pidfd_open(owner, 0);
      const before = await sys.pidfd_getfd(pidfd, 0, 0);
      expect(await sys.nanosleep(20 * MS)).toBe(0);
      return [pidfd, before, await sys.pidfd_getfd(pidfd, 0, 0)];
    });
    expect(value).toEqual([0, 1, -ESRCH]);
  });
});
