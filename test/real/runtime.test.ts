/**
 * The real-kernel runtime (src/real/runtime.ts) against the guest executor (real/guest) built with this
 * machine's gcc and run on this machine's kernel, without a VM: each program runs on the simulator and on
 * the real kernel, and both must return the same values (memfd, mmap, poll, dup, fcntl, signals...), plus
 * the runtime's own duties: outcomes, time limits, pid mapping, memory mirroring and faults.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type PollEntry, type Sys } from '../../src/index.ts';
import { SegmentationFault } from '../../src/kernel/mm.ts';
import {
  createRealKernel,
  type LocalExecutor,
  type RealRunResult,
  type RealSpawnOptions,
  startLocalExecutor,
} from '../../src/real/runtime.ts';
import {
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  EMFILE,
  ENOENT,
  ESRCH,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFL,
  FIONBIO,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_CLOEXEC,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  PAGE_SIZE,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_END,
} from '../../src/uapi/index.ts';
import { SIGKILL, SIGSEGV, SIGUSR1 } from '../../src/uapi/signal.ts';

const HAVE_GCC = spawnSync('gcc', ['--version']).status === 0;
const GUEST = resolve(import.meta.dirname, '../../real/guest');
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const MS = 1_000_000;

const ascii = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe.skipIf(!HAVE_GCC)('real runtime with a local executor', () => {
  let out = '';
  let ex: LocalExecutor;
  /** Whether this machine runs the 32-bit executor (IA32 emulation). */
  let compatOk = false;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'iio-real-'));
    const make = spawnSync('make', ['-s', '-C', GUEST, `OUT=${out}`, `${out}/executor`], {
      encoding: 'utf8',
    });
    if (make.status !== 0) throw new Error(`building the executor failed:\n${make.stdout}${make.stderr}`);
    spawnSync('make', ['-s', '-C', GUEST, `OUT=${out}`, `${out}/executor32`], { encoding: 'utf8' });
    ex = await startLocalExecutor(join(out, 'executor'));
    const r = await realRun([['probe', async (sys) => sys.compat]], { compat: true });
    compatOk = r.processes[0]!.status === 'exited';
  }, 120_000);

  afterAll(async () => {
    await ex?.stop();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  type Body = (sys: Sys) => Promise<unknown>;

  async function realRun(
    procs: [string, Body, RealSpawnOptions?][],
    spawn: RealSpawnOptions = {},
    untilNs = 10e9,
  ): Promise<RealRunResult> {
    const k = await createRealKernel({ channel: ex.channel, module: false });
    for (const [name, body, opts] of procs) k.spawn(name, body, { stdio: false, ...spawn, ...opts });
    try {
      return await k.run({ untilNs });
    } finally {
      await k.close();
    }
  }

  /** Runs one program on the simulator and on this machine's kernel: both values. */
  async function both(body: Body, spawn: RealSpawnOptions = {}): Promise<{ sim: unknown; real: unknown }> {
    const sim = createSimulator({ platform: 'ideal' });
    sim.spawn('test', body, { stdio: false, ...spawn });
    const s = (await sim.run()).processes[0]!;
    if (s.status === 'crashed') throw s.error;
    expect(s.status, s.reason).toBe('exited');
    const r = (await realRun([['test', body]], spawn)).processes[0]!;
    if (r.status === 'crashed') throw r.error ?? new Error(r.reason);
    expect(r.status, r.reason).toBe('exited');
    return { sim: s.value, real: r.value };
  }

  async function same(body: Body, spawn: RealSpawnOptions = {}): Promise<unknown> {
    const { sim, real } = await both(body, spawn);
    expect(real).toEqual(sim);
    return real;
  }

  describe('the same values as the simulator', () => {
    it('memfd: write, pread, lseek, ftruncate, F_GETFL and F_GETFD, fds counted from 0 without stdio', async () => {
      const v = await same(async (sys) => {
        const fd = await sys.memfd_create('m', MFD_CLOEXEC);
        const buf = sys.mem.alloc(64);
        sys.mem.write(buf, ascii('hello world'));
        return [
          fd,
          await sys.write(fd, buf, 11),
          await sys.lseek(fd, 0, SEEK_CUR),
          await sys.pread(fd, buf + 32, 5, 6),
          text(sys.mem.read(buf + 32, 5)),
          await sys.ftruncate(fd, 3),
          await sys.lseek(fd, 0, SEEK_END),
          await sys.fcntl(fd, F_GETFL),
          await sys.fcntl(fd, F_GETFD),
          await sys.pwrite(fd, buf, 2, 100),
          await sys.lseek(fd, 0, SEEK_END),
          await sys.ftruncate(fd, -1),
        ];
      });
      expect(v).toEqual([0, 11, 11, 5, 'world', 0, 3, O_RDWR | 0o100000, 1, 2, 102, -EINVAL]);
    });

    it('dup, dup2, dup3, F_DUPFD and F_DUPFD_CLOEXEC pick the same numbers; bad fds are -EBADF', async () => {
      await same(async (sys) => {
        const fd = await sys.open('/dev/null', O_RDONLY);
        return [
          fd,
          await sys.dup(fd),
          await sys.dup2(fd, 7),
          await sys.dup2(fd, fd),
          await sys.dup3(fd, fd, 0),
          await sys.dup3(fd, 9, O_CLOEXEC),
          await sys.fcntl(9, F_GETFD),
          await sys.fcntl(fd, F_DUPFD, 5),
          await sys.fcntl(fd, F_DUPFD_CLOEXEC, 0),
          await sys.close(7),
          await sys.close(7),
          await sys.dup(42),
          await sys.dup2(42, 3),
        ];
      });
    });

    it('stdio: by default fds 0-2 are /dev/null and the first open is fd 3', async () => {
      const v = await same(
        async (sys) => [
          await sys.fcntl(0, F_GETFL),
          await sys.fcntl(2, F_GETFD),
          await sys.open('/dev/null', O_RDWR),
        ],
        { stdio: true },
      );
      expect((v as number[])[2]).toBe(3);
    });

    it('RLIMIT_NOFILE: a process with nofile 6 gets -EMFILE at its seventh fd', async () => {
      const v = await same(
        async (sys) => {
          const fds: number[] = [];
          for (let i = 0; i < 8; i++) fds.push(await sys.open('/dev/null', O_RDONLY));
          return [fds, await sys.dup2(0, 6), await sys.fcntl(0, F_DUPFD, 6)];
        },
        { nofile: 6 },
      );
      expect((v as number[][])[0]).toEqual([0, 1, 2, 3, 4, 5, -EMFILE, -EMFILE]);
    });

    it('shared mmap of a memfd: stores through mem.write reach the file, file writes show in the mapping', async () => {
      await same(async (sys) => {
        const fd = await sys.memfd_create('m', 0);
        await sys.ftruncate(fd, 2 * PAGE_SIZE);
        const buf = sys.mem.alloc(16);
        sys.mem.write(buf, ascii('from write'));
        await sys.pwrite(fd, buf, 10, PAGE_SIZE);
        const a = await sys.mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, fd, 0);
        const seen = text(sys.mem.read(a + PAGE_SIZE, 10));
        sys.mem.write(a + 5, ascii('via map'));
        const n = await sys.pread(fd, buf, 7, 5);
        const view = sys.mem.view(a, PAGE_SIZE);
        view[0] = 0x41;
        await sys.pread(fd, buf + 8, 1, 0);
        return [
          seen,
          n,
          text(sys.mem.read(buf, 7)),
          text(sys.mem.read(buf + 8, 1)),
          await sys.munmap(a, 2 * PAGE_SIZE),
        ];
      });
    });

    it('two shared mappings of one memfd alias at once, without a syscall in between (as one backing in the simulator)', async () => {
      const v = await same(async (sys) => {
        const fd = await sys.memfd_create('m', 0);
        await sys.ftruncate(fd, 2 * PAGE_SIZE);
        const a = await sys.mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, fd, 0);
        const b = await sys.mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, PAGE_SIZE);
        sys.mem.write(a + PAGE_SIZE + 10, ascii('abc'));
        const direct = text(sys.mem.read(b + 10, 3));
        const viewB = sys.mem.view(b, 16);
        sys.mem.view(a + PAGE_SIZE, 16)[0] = 0x5a;
        return [direct, viewB[0], await sys.munmap(a, 2 * PAGE_SIZE), text(sys.mem.read(b + 10, 3))];
      });
      expect(v).toEqual(['abc', 0x5a, 0, 'abc']);
    });

    // The simulator answers -EFAULT for the first pread (its shmem read does not stop at the fault): this
    // checks what the real kernel does and that the bytes copied before the fault reach the mirror.
    it('pread() into a buffer whose second half is unmapped copies the first half (short read); a wholly bad buffer is -EFAULT', async () => {
      const { real } = await both(async (sys) => {
        const fd = await sys.memfd_create('m', 0);
        const src = sys.mem.alloc(PAGE_SIZE);
        sys.mem.write(src, new Uint8Array(PAGE_SIZE).fill(7));
        await sys.write(fd, src, PAGE_SIZE);
        const base = await sys.mmap(0, 2 * PAGE_SIZE, RW, ANON, -1, 0);
        await sys.munmap(base + PAGE_SIZE, PAGE_SIZE);
        return [
          await sys.pread(fd, base + PAGE_SIZE - 100, 200, 0),
          sys.mem.read(base + PAGE_SIZE - 100, 100).every((b) => b === 7),
          await sys.pread(fd, 0x1000, 10, 0),
          await sys.write(fd, base + PAGE_SIZE, 1),
        ];
      });
      expect(real).toEqual([100, true, -EFAULT, -EFAULT]);
    });

    it('poll on memfds and a closed fd; pollfds() fills in revents', async () => {
      await same(async (sys) => {
        const a = await sys.memfd_create('a', 0);
        const entries: PollEntry[] = [
          { fd: a, events: POLLIN | POLLOUT },
          { fd: 9, events: POLLIN },
          { fd: -1, events: POLLIN },
        ];
        const n = await sys.pollfds(entries, 0);
        return [n, entries.map((e) => e.revents)];
      });
      const v = await same(async (sys) => {
        const arr = sys.mem.alloc(16);
        const bytes = new Uint8Array(16);
        const dv = new DataView(bytes.buffer);
        dv.setInt32(0, 33, true);
        dv.setInt16(4, POLLIN, true);
        dv.setInt32(8, 34, true);
        dv.setInt16(12, POLLOUT, true);
        sys.mem.write(arr, bytes);
        const n = await sys.poll(arr, 2, 10);
        const back = new DataView(sys.mem.read(arr, 16).buffer);
        return [n, back.getInt16(6, true), back.getInt16(14, true), await sys.poll(0x1000, 1, 0)];
      });
      expect(v).toEqual([2, POLLNVAL, POLLNVAL, -EFAULT]);
    });

    it('ioctl with a pointer argument (FIONBIO) and with a bad one', async () => {
      await same(async (sys) => {
        const fd = await sys.open('/dev/null', O_RDWR);
        const arg = sys.mem.alloc(4);
        sys.mem.writeInt(arg, 1);
        return [
          await sys.ioctl(fd, FIONBIO, arg),
          (await sys.fcntl(fd, F_GETFL)) & O_NONBLOCK,
          await sys.fcntl(fd, F_SETFL, 0),
          (await sys.fcntl(fd, F_GETFL)) & O_NONBLOCK,
          await sys.ioctl(fd, FIONBIO, 0x1000),
        ];
      });
    });

    it('nanosleep of a negative time is -EINVAL; kill of an unknown pid is -ESRCH, of itself with signal 0 is 0', async () => {
      const v = await same(async (sys) => [
        await sys.nanosleep(-1),
        await sys.nanosleep(1000),
        await sys.kill(4242, 0),
        await sys.kill(sys.pid, 0),
        await sys.getpid(),
      ]);
      expect(v).toEqual([-EINVAL, 0, -ESRCH, 0, 100]);
    });

    it('sigaction: SIGKILL cannot be caught (-EINVAL); a handled signal sent to itself returns 0 and the process lives on', async () => {
      await same(async (sys) => [
        await sys.sigaction(SIGKILL, { restart: false }),
        await sys.sigaction(SIGUSR1, { restart: true }),
        await sys.kill(sys.pid, SIGUSR1),
        await sys.sigaction(SIGUSR1, null),
      ]);
    });

    it('mem.alloc blocks start at the simulator’s heap base and step over a MAP_FIXED mapping placed there', async () => {
      const v = await same(async (sys) => {
        const base = 0x555555554000;
        const fixed = await sys.mmap(base, 4 * PAGE_SIZE, RW, ANON | MAP_FIXED, -1, 0);
        sys.mem.write(fixed + 4 * PAGE_SIZE - 4, ascii('tail'));
        const p = sys.mem.alloc(10);
        sys.mem.write(p, ascii('heap'));
        const fd = await sys.memfd_create('m', 0);
        await sys.write(fd, p, 4);
        await sys.write(fd, fixed + 4 * PAGE_SIZE - 4, 4);
        await sys.pread(fd, p + 100, 8, 0);
        return [fixed, p, text(sys.mem.read(p + 100, 8))];
      });
      expect(v).toEqual([0x555555554000, 0x555555554000 + 4 * PAGE_SIZE, 'heaptail']);
    });
  });

  describe('host programs (PUT, RUN)', () => {
    it('PUT stores a file (parents made, mode kept); RUN runs it with argv, env and stdin and returns status, stdout, stderr and the files asked for', async () => {
      const k = await createRealKernel({ channel: ex.channel, module: false });
      try {
        expect(k.hello.run).toBe(true);
        const script = join(out, 'put', 'sub', 'prog.sh');
        const body = ascii('#!/bin/sh\ncat\necho "$1 $X" >&2\nexit 3\n');
        expect(await k.put(script, body, 0o755)).toBe(0);
        expect(statSync(script).mode & 0o777).toBe(0o755);
        const r = await k.runProgram({
          argv: [script, 'arg'],
          env: ['X=y'],
          stdin: ascii('input'),
          fetch: [script, join(out, 'nope')],
          timeoutMs: 20_000,
        });
        expect([r.error, r.status >> 8, r.timedOut, text(r.stdout), text(r.stderr)]).toEqual([
          0,
          3,
          false,
          'input',
          'arg y\n',
        ]);
        expect(r.files.map((f) => (f ? text(f) : null))).toEqual([text(body), null]);
        // Without input, stdin is /dev/null; past the deadline the program's group is killed.
        const quiet = await k.runProgram({ argv: ['/bin/sh', '-c', 'cat; sleep 30'], timeoutMs: 300 });
        expect([quiet.error, quiet.status & 0x7f, quiet.timedOut, quiet.stdout.length]).toEqual([
          0,
          9,
          true,
          0,
        ]);
        expect((await k.runProgram({ argv: [join(out, 'missing')] })).error).toBe(-ENOENT);
        expect(await k.put('relative/path', body)).toBe(-EINVAL);
      } finally {
        await k.close();
      }
    }, 60_000);
  });

  describe('outcomes', () => {
    it('a body that returns exits with its value; one that throws crashes; a bad address is SIGSEGV', async () => {
      const r = await realRun([
        ['ok', async () => 42],
        [
          'throws',
          async () => {
            throw new Error('boom');
          },
        ],
        ['segv', async (sys) => sys.mem.read(0x10, 4)],
      ]);
      const [ok, th, segv] = r.processes;
      expect(ok).toMatchObject({ pid: 100, status: 'exited', value: 42, reason: 'returned' });
      expect(th).toMatchObject({ pid: 101, status: 'crashed', reason: 'threw: boom' });
      expect(segv).toMatchObject({
        pid: 102,
        status: 'killed',
        signal: SIGSEGV,
        reason: 'segmentation fault: read at 0x10',
      });
      expect(segv!.error).toBeInstanceOf(SegmentationFault);
    });

    it('touching a shared mapping past the end of its file: mem.read raises SIGSEGV at the first page past EOF', async () => {
      let a = 0;
      const r = await realRun([
        [
          'eof',
          async (sys) => {
            const fd = await sys.memfd_create('m', 0);
            await sys.ftruncate(fd, 100);
            a = await sys.mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, fd, 0);
            sys.mem.read(a, 100);
            await sys.ftruncate(fd, PAGE_SIZE + 1);
            sys.mem.read(a + PAGE_SIZE, 10);
            await sys.ftruncate(fd, 10);
            return sys.mem.read(a + PAGE_SIZE, 1);
          },
        ],
      ]);
      expect(r.processes[0]).toMatchObject({ status: 'killed', signal: SIGSEGV });
      expect(r.processes[0]!.reason).toBe(`segmentation fault: read at 0x${(a + PAGE_SIZE).toString(16)}`);
    });

    it('an unhandled signal from a sibling kills the process: status killed, signal, reason', async () => {
      const r = await realRun([
        ['victim', async (sys) => sys.pause()],
        [
          'killer',
          async (sys) => {
            await sys.nanosleep(50 * MS);
            return sys.kill(100, SIGUSR1);
          },
        ],
      ]);
      expect(r.processes[0]).toMatchObject({
        status: 'killed',
        signal: SIGUSR1,
        reason: 'killed by SIGUSR1',
      });
      expect(r.processes[1]).toMatchObject({ status: 'exited', value: 0 });
    });

    it('a handled signal ends pause() and nanosleep() with -EINTR while a sibling runs (two processes in syscalls at once)', async () => {
      const r = await realRun([
        [
          'sleeper',
          async (sys) => {
            await sys.sigaction(SIGUSR1, { restart: true });
            const t0 = sys.now();
            const p = await sys.pause();
            const n = await sys.nanosleep(10_000 * MS);
            return [p, n, sys.now() - t0 < 5000 * MS];
          },
        ],
        [
          'waker',
          async (sys) => {
            await sys.nanosleep(100 * MS);
            const a = await sys.kill(100, SIGUSR1);
            await sys.nanosleep(100 * MS);
            return [a, await sys.kill(100, SIGUSR1)];
          },
        ],
      ]);
      expect(r.processes.map((p) => [p.status, p.value])).toEqual([
        ['exited', [-EINTR, -EINTR, true]],
        ['exited', [0, 0]],
      ]);
    });

    it('at the time limit a process inside a syscall is blocked (naming it), one computing is running; both are killed', async () => {
      const r = await realRun(
        [
          ['waits', async (sys) => sys.pause()],
          ['busy', async (sys) => sys.compute(60_000 * MS)],
          ['late', async () => 1, { startAt: 10_000 * MS }],
        ],
        {},
        300 * MS,
      );
      const [waits, busy, late] = r.processes;
      expect(waits).toMatchObject({ status: 'blocked', blockedIn: { syscall: 'pause' } });
      expect(waits!.reason).toMatch(/^blocked in pause at the time limit/);
      expect(busy).toMatchObject({ status: 'running' });
      expect(late).toMatchObject({ status: 'running' });
      expect(r.time).toBeGreaterThanOrEqual(300 * MS);
    });

    it('kill() of a process that has exited is -ESRCH', async () => {
      const r = await realRun([
        ['short', async () => 0],
        [
          'later',
          async (sys) => {
            await sys.nanosleep(200 * MS);
            return sys.kill(100, SIGKILL);
          },
        ],
      ]);
      expect(r.processes[1]).toMatchObject({ status: 'exited', value: -ESRCH });
    });

    it('a second syscall while one is in flight is a program error, as in the simulator', async () => {
      const r = await realRun([
        [
          'racy',
          async (sys) => {
            const a = sys.nanosleep(10 * MS);
            await sys.getpid();
            return a;
          },
        ],
      ]);
      expect(r.processes[0]).toMatchObject({ status: 'crashed' });
      expect(r.processes[0]!.reason).toMatch(/while another was in progress/);
    });

    it('counts syscalls and the bytes mirrored each way', async () => {
      const r = await realRun([
        [
          'io',
          async (sys) => {
            const fd = await sys.memfd_create('m', 0);
            const buf = sys.mem.alloc(PAGE_SIZE);
            sys.mem.write(buf, new Uint8Array(1000).fill(1));
            await sys.write(fd, buf, 1000);
            await sys.pread(fd, buf + 2000, 1000, 0);
            return 0;
          },
        ],
      ]);
      expect(r.processes[0]!.syscalls).toBe(3);
      expect(r.stats.bytesOut).toBe(1000);
      expect(r.stats.bytesIn).toBe(1000);
    });
  });

  describe('compat (32-bit executor)', () => {
    it('runs ILP32 processes below 4 GiB when this machine can execute them', async (ctx) => {
      if (!compatOk) ctx.skip();
      const v = await same(
        async (sys) => {
          const fd = await sys.memfd_create('m', 0);
          await sys.ftruncate(fd, PAGE_SIZE);
          const a = await sys.mmap(0, PAGE_SIZE, RW, MAP_SHARED, fd, 0);
          sys.mem.write(a, ascii('compat'));
          const p = sys.mem.alloc(8);
          await sys.pread(fd, p, 6, 0);
          return [sys.compat, a < 2 ** 32, p, text(sys.mem.read(p, 6)), await sys.lseek(fd, 0, SEEK_END)];
        },
        { compat: true },
      );
      expect(v).toEqual([true, true, 0x08050000, 'compat', PAGE_SIZE]);
    });
  });

  it('ping round trip and syscall latency are measured', async () => {
    const r = await realRun([
      [
        'lat',
        async (sys) => {
          for (let i = 0; i < 300; i++) await sys.getpid();
          return 0;
        },
      ],
    ]);
    expect(r.stats.syscalls).toBe(300);
    expect(r.stats.meanCallNs).toBeGreaterThan(0);
    expect(r.stats.meanGuestNs).toBeLessThan(r.stats.meanCallNs);
    void EBADF;
  });
});
