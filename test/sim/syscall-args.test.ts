/**
 * The argument table of the process API (src/sim/syscall-args.ts) as programs meet it through `sys`: a JavaScript
 * caller's type error throws synchronously the way Node's `fs` does (`ERR_INVALID_ARG_TYPE`, `ERR_OUT_OF_RANGE`)
 * and touches nothing; every integer the C type holds reaches the kernel. Simulator only: the oracle's `Sys`
 * converts its arguments itself (test/kernel/limits.test.ts has the kernel side, on both).
 */
import { describe, expect, it } from 'vitest';
import { createSimulator, type Sys } from '../../src/index.ts';
import { SYSCALL_ARGS } from '../../src/sim/syscall-args.ts';
import {
  EBADF,
  EFAULT,
  EINVAL,
  ENOMEM,
  F_DUPFD,
  F_GETFD,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from '../../src/uapi/index.ts';

/** Runs `body` as the only process (fds 0-2 on /dev/null) and returns its value; fails on any abnormal end. */
async function run<R>(body: (sys: Sys) => Promise<R>): Promise<R> {
  const sim = createSimulator();
  sim.spawn('t', body);
  const r = await sim.run();
  const p = r.processes[0]!;
  if (p.status === 'crashed') throw p.error;
  expect(p.status, p.reason).toBe('exited');
  return p.value as R;
}

/** What a synchronous call threw: its constructor name, code and message. */
function thrown(fn: () => unknown): { name: string; code: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { name: err.name, code: err.code, message: err.message };
  }
  throw new Error('did not throw');
}

describe('integer arguments: Node-style caller errors', () => {
  it('close(NaN), close(Infinity), close(1.9) are ERR_OUT_OF_RANGE and close(3n) ERR_INVALID_ARG_TYPE, synchronously; no fd is closed', async () => {
    const v = await run(async (sys) => {
      const errs = [
        NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        1.9,
        3n,
        '1',
        null,
        undefined,
        {},
      ].map((x) => thrown(() => sys.close(x as number)));
      return {
        errs,
        open: [await sys.fcntl(0, F_GETFD), await sys.fcntl(1, F_GETFD), await sys.fcntl(2, F_GETFD)],
      };
    });
    expect(v.errs.map((e) => e.code)).toEqual([
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
    ]);
    expect(v.errs[0]).toEqual({
      name: 'RangeError',
      code: 'ERR_OUT_OF_RANGE',
      message: 'close(): The value of "fd" is out of range. It must be an integer. Received NaN',
    });
    expect(v.errs[4]).toEqual({
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'close(): The "fd" argument must be of type number. Received type bigint (3n)',
    });
    expect(v.open).toEqual([0, 0, 0]);
  });

  it('an fd takes both spellings of 32 bits (the kernel reads unsigned int): 2^31 and 0xffffffff are -EBADF; 2^32 and -2^31-1 are ERR_OUT_OF_RANGE naming the range; -0 is 0', async () => {
    const v = await run(async (sys) => [
      await sys.close(2 ** 31),
      await sys.close(0xffffffff),
      thrown(() => sys.close(2 ** 32)).message,
      thrown(() => sys.dup2(0, -(2 ** 31) - 1)).code,
      thrown(() => sys.kill(2 ** 31, 0)).code,
      await sys.close(-0),
      await sys.fcntl(0, F_GETFD),
    ]);
    expect(v).toEqual([
      -EBADF,
      -EBADF,
      'close(): The value of "fd" is out of range. It must be >= -2147483648 && <= 4294967295. Received 4294967296',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      0,
      -EBADF,
    ]);
  });

  it('fcntl(0, NaN, 0) throws instead of acting as F_DUPFD; fcntl(0, F_DUPFD) with the arg left out dups from 0', async () => {
    const v = await run(async (sys) => [
      thrown(() => sys.fcntl(0, Number.NaN, 0)).code,
      thrown(() => sys.fcntl(0, F_DUPFD, 0.5)).code,
      await sys.fcntl(1, F_DUPFD),
    ]);
    expect(v).toEqual(['ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 3]);
  });

  it('flag words take the signed or the unsigned 32-bit spelling; beyond 32 bits is ERR_OUT_OF_RANGE', async () => {
    const v = await run(async (sys) => [
      await sys.dup3(0, 5, O_CLOEXEC | 0),
      await sys.dup3(0, 6, -1),
      await sys.dup3(0, 6, 0xffffffff),
      thrown(() => sys.dup3(0, 6, 2 ** 32)).code,
    ]);
    expect(v).toEqual([5, -EINVAL, -EINVAL, 'ERR_OUT_OF_RANGE']);
  });

  it('64-bit arguments take every integer of -2^63 .. 2^64-1; beyond, or a fraction, is ERR_OUT_OF_RANGE', async () => {
    const v = await run(async (sys) => [
      thrown(() => sys.mmap(0, 2 ** 64, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)).code,
      thrown(() => sys.lseek(0, -(2 ** 64), 0)).code,
      thrown(() => sys.read(0, 0.5, 1)).code,
      thrown(() => sys.pollfds([{ fd: 0, events: 1 }], 1e12)).code,
      thrown(() => sys.nanosleep(1.5)).code,
    ]);
    expect(v).toEqual([
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
    ]);
  });

  it('in an ILP32 (compat) process pointers, sizes and longs are 32 bits: -2^31 .. 2^32-1, zero-extended as the compat entry points see them; 2^32 is ERR_OUT_OF_RANGE', async () => {
    const sim = createSimulator();
    sim.spawn(
      't',
      async (sys) => {
        const fd = await sys.memfd_create('m', 0);
        const buf = sys.mem.alloc(4);
        sys.mem.write(buf, Uint8Array.of(1, 2, 3, 4));
        const wrote = await sys.write(fd, buf, 4);
        await sys.lseek(fd, 0, 0);
        return {
          wrote,
          bigPointer: thrown(() => sys.read(fd, 2 ** 32, 1)),
          bigSize: thrown(() => sys.mmap(0, 2 ** 32, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)).code,
          bigArg: thrown(() => sys.ioctl(fd, 0, 2 ** 40)).code,
          // -1 is the pointer 0xffffffff, past the 32-bit task size: the copy faults.
          minusOne: await sys.read(fd, -1, 4),
          // -4096 is a length of 0xfffff000: no room for it below 4 GiB.
          hugeMap: await sys.mmap(0, -4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
          pos: await sys.lseek(fd, 0, 1),
        };
      },
      { compat: true },
    );
    const r = await sim.run();
    expect(r.processes[0]?.value).toEqual({
      wrote: 4,
      bigPointer: {
        name: 'RangeError',
        code: 'ERR_OUT_OF_RANGE',
        message:
          'read(): The value of "buf" is out of range. It must be >= -2147483648 && <= 4294967295. Received 4294967296',
      },
      bigSize: 'ERR_OUT_OF_RANGE',
      bigArg: 'ERR_OUT_OF_RANGE',
      minusOne: -EFAULT,
      hugeMap: -ENOMEM,
      pos: 0,
    });
    // The same calls in an LP64 process reach the kernel: 2^32 is an unmapped address there.
    expect(
      await run(async (sys) => {
        const fd = await sys.memfd_create('m', 0);
        await sys.ftruncate(fd, 4);
        return sys.read(fd, 2 ** 32, 1);
      }),
    ).toBe(-EFAULT);
  });

  it('open and memfd_create take a string (cut at its first NUL, as the kernel reads it); sigaction a handler or null', async () => {
    const v = await run(async (sys) => {
      const fd = await sys.open('/dev/null\0/whatever', O_RDWR);
      return [
        fd,
        thrown(() => sys.open(3 as unknown as string, O_RDWR)).code,
        thrown(() => sys.memfd_create(Symbol('x') as unknown as string, 0)).code,
        thrown(() => sys.sigaction(10, { restart: 'yes' } as unknown as { restart: boolean })).code,
        await sys.sigaction(10, null),
      ];
    });
    expect(v).toEqual([3, 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 0]);
  });

  it('pollfds checks every entry, naming it', async () => {
    const v = await run(async (sys) => [
      thrown(() =>
        sys.pollfds(
          [
            { fd: 0, events: 1 },
            { fd: 1.5, events: 1 },
          ],
          0,
        ),
      ).message,
      thrown(() => sys.pollfds('x' as unknown as [], 0)).code,
      thrown(() => sys.pollfds([null as unknown as { fd: number; events: number }], 0)).code,
    ]);
    expect(v).toEqual([
      'pollfds(): The value of "fds[1].fd" is out of range. It must be an integer. Received 1.5',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
    ]);
  });

  it('compute() refuses a fraction or time past the end of virtual time synchronously', async () => {
    const v = await run(async (sys) => [
      thrown(() => sys.compute(0.5)).code,
      thrown(() => sys.compute(2 ** 53)).code,
      thrown(() => sys.compute(-1)).code,
    ]);
    expect(v).toEqual(['ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE']);
  });

  it('the table covers every call of Sys but now()', async () => {
    const names = await run(async (sys) =>
      Object.keys(sys)
        .filter((k) => typeof (sys as unknown as Record<string, unknown>)[k] === 'function' && k !== 'now')
        .sort(),
    );
    expect(names).toEqual(Object.keys(SYSCALL_ARGS).sort());
  });
});

describe('sys.mem: caller errors', () => {
  it('mem.alloc(NaN), (-1), (1.5), (2^40) throw ERR_OUT_OF_RANGE and leave the allocator working', async () => {
    const v = await run(async (sys) => {
      const errs = [Number.NaN, -1, 1.5, 2 ** 40, '8'].map(
        (x) => thrown(() => sys.mem.alloc(x as number)).code,
      );
      const a = sys.mem.alloc(16);
      sys.mem.write(a, new Uint8Array([1, 2, 3]));
      return { errs, bytes: [...sys.mem.read(a, 3)], aligned: a % 4096 };
    });
    expect(v).toEqual({
      errs: [
        'ERR_OUT_OF_RANGE',
        'ERR_OUT_OF_RANGE',
        'ERR_OUT_OF_RANGE',
        'ERR_OUT_OF_RANGE',
        'ERR_INVALID_ARG_TYPE',
      ],
      bytes: [1, 2, 3],
      aligned: 0,
    });
  });

  it('mem.read(a, -1) and mem.view(a, 2^40) are ERR_OUT_OF_RANGE; mem.write of a non-Uint8Array ERR_INVALID_ARG_TYPE', async () => {
    const v = await run(async (sys) => {
      const a = sys.mem.alloc(16);
      return [
        thrown(() => sys.mem.read(a, -1)).message,
        thrown(() => sys.mem.view(a, 2 ** 40)).code,
        thrown(() => sys.mem.write(a, [1, 2] as unknown as Uint8Array)).code,
        thrown(() => sys.mem.writeInt(a, 2 ** 32)).code,
        thrown(() => sys.mem.free(Number.NaN)).code,
        thrown(() => sys.mem.free(a + 1)).code,
      ];
    });
    expect(v).toEqual([
      'mem.read(): The value of "len" is out of range. It must be >= 0 && <= 1073741824. Received -1',
      'ERR_OUT_OF_RANGE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_SIM_BAD_FREE',
    ]);
  });

  it('a process whose anonymous memory would pass 1 GiB gets ERR_SIM_OUT_OF_MEMORY from mem.alloc, -ENOMEM from mmap; freeing makes room again', async () => {
    const v = await run(async (sys) => {
      const RW = PROT_READ | PROT_WRITE;
      const big = await sys.mmap(0, 2 ** 29, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const second = await sys.mmap(0, 2 ** 29, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const err = thrown(() => sys.mem.alloc(1)).code;
      const third = await sys.mmap(0, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      await sys.munmap(second, 4096);
      const small = sys.mem.alloc(4096);
      return [big > 0, second > 0, err, third, small > 0];
    });
    expect(v).toEqual([true, true, 'ERR_SIM_OUT_OF_MEMORY', -12, true]);
  });
});
