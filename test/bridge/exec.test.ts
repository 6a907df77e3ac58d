/**
 * `iio-sim exec`: unmodified C programs on the simulator through the preload bridge. The example programs of
 * examples/c are built here with the system's C compiler; libiio's tools come from Debian's libiio-utils.
 * Each runs as a real process under `iio-sim exec`; its output, its exit status and the samples are checked.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExecArgs } from '../../src/bridge/exec.ts';
import { programModel } from '../../src/bridge/preload.ts';
import { ORACLE } from '../helpers.ts';
import {
  BIN,
  buildSelftests,
  buildToolsIio,
  HAVE_CC,
  HAVE_LIBIIO,
  HAVE_SELFTESTS,
  HAVE_TOOLS_IIO,
  ROOT,
} from './clients.ts';

/**
 * Whether `cc -m32` links and this machine runs the result: natively (IA32 emulation) or, where the kernel
 * cannot (a PVM guest, `ia32_emulation=0`), under qemu-i386, as `iio-sim exec` then does.
 */
function runsI386(): boolean {
  if (!HAVE_CC || ORACLE) return false;
  const d = mkdtempSync(join(tmpdir(), 'iio-sim-m32-'));
  try {
    writeFileSync(join(d, 'p.c'), 'int main(void) { return 42; }\n');
    const probe = join(d, 'p');
    if (spawnSync(process.env.CC || 'cc', ['-m32', '-o', probe, join(d, 'p.c')]).status !== 0) return false;
    return spawnSync(probe).status === 42 || spawnSync('qemu-i386', [probe]).status === 42;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}
const HAVE_I386 = runsI386();
/** Each run starts Node and tsx on a loaded machine: generous limits. */
const TIMEOUT = 180_000;

let dir = '';

/** Runs `iio-sim exec OPTIONS -- PROGRAM ARGS` (with `input` on its stdin); stdout as bytes. */
function exec(args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'exec', ...args], {
    cwd: ROOT,
    timeout: TIMEOUT,
    maxBuffer: 64 << 20,
    ...(input ? { input } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Mismatches between `bytes` (scans of four le:s12/16 channels) and sim-adc's ramp. */
function rampMismatches(bytes: Buffer): number {
  let bad = 0;
  for (let scan = 0; scan < bytes.length / 8; scan++)
    for (let c = 0; c < 4; c++) {
      const want = (scan + 1024 * c - 2048) & 0xfff;
      if ((bytes.readInt16LE(scan * 8 + c * 2) & 0xfff) !== want) bad++;
    }
  return bad;
}

beforeAll(() => {
  if (ORACLE) return;
  dir = mkdtempSync(join(tmpdir(), 'iio-sim-exec-'));
  if (!HAVE_CC) return;
  const sources: Record<string, string> = {
    'dmabuf-capture': join(ROOT, 'examples', 'c', 'dmabuf-capture.c'),
    'read-capture': join(ROOT, 'examples', 'c', 'read-capture.c'),
    'cyclic-dac': join(ROOT, 'examples', 'c', 'cyclic-dac.c'),
    'bridge-check': join(ROOT, 'test', 'bridge', 'bridge-check.c'),
    'fork-check': join(ROOT, 'test', 'bridge', 'fork-check.c'),
  };
  // i386 builds in their own directories keep the programs' names (the trace's comm) those of the LP64 ones.
  const models = HAVE_I386
    ? { '': [], m32: ['-m32'], 'm32-lfs': ['-m32', '-D_FILE_OFFSET_BITS=64'] }
    : { '': [] };
  for (const [sub, flags] of Object.entries(models))
    for (const [name, source] of Object.entries(sources)) {
      if (sub && name === 'cyclic-dac') continue;
      const out = join(dir, sub, name);
      mkdirSync(dirname(out), { recursive: true });
      const args = [...flags, '-std=c11', '-O2', '-Wall', '-D_GNU_SOURCE', '-o', out, source];
      const r = spawnSync(process.env.CC || 'cc', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building ${sub || 'lp64'}/${name}: ${r.stderr}`);
    }
  if (HAVE_TOOLS_IIO) buildToolsIio(dir);
  if (HAVE_SELFTESTS) buildSelftests(dir);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('parseExecArgs', () => {
  it('takes options up to -- and the program with its arguments after it', () => {
    expect(parseExecArgs(['--seed', '7', '--abi=v2', '--trace', 'log', '--', 'prog', '-x', '--y'])).toEqual({
      seed: 7,
      abi: 'v2',
      trace: 'log',
      ftrace: true,
      check: true,
      summary: false,
      program: 'prog',
      args: ['-x', '--y'],
    });
    expect(parseExecArgs(['--played', 'a=x', '--played=b=y', 'p'])).toMatchObject({
      played: [
        { device: 'a', file: 'x' },
        { device: 'b', file: 'y' },
      ],
      program: 'p',
    });
  });

  it('refuses unknown options, bad values and a missing program with a one-line reason', () => {
    expect(parseExecArgs(['--bogus', '--', 'x'])).toBe("iio-sim exec: unknown option '--bogus'");
    expect(parseExecArgs(['--abi', 'v3', '--', 'x'])).toBe(
      "iio-sim exec: --abi takes mainline or v2, not 'v3'",
    );
    expect(parseExecArgs(['--seed', '-1', 'x'])).toBe(
      "iio-sim exec: --seed takes a non-negative integer, not '-1'",
    );
    expect(parseExecArgs(['--seed'])).toBe('iio-sim exec: --seed needs a value');
    expect(parseExecArgs(['--'])).toBe('iio-sim exec: no program given');
    expect(parseExecArgs(['--at', '1ms:event:d:0x1', '--at=0:remove:d', 'p'])).toMatchObject({
      at: [
        { time: 1_000_000, kind: 'event', device: 'd', code: 1n },
        { time: 0, kind: 'remove', device: 'd' },
      ],
    });
    expect(parseExecArgs(['--at', '1ms:event:d:0x10000000000000000', 'p'])).toBe(
      "iio-sim exec: --at: the event code '0x10000000000000000' is no 64-bit IIO event id (hex 0x... or decimal)",
    );
    expect(parseExecArgs(['--at', 'soon:remove:d', 'p'])).toBe(
      "iio-sim exec: --at takes TIME:event:DEVICE:CODE or TIME:remove:DEVICE (TIME like 2ms, or ns), not 'soon:remove:d'",
    );
    expect(parseExecArgs(['--played', 'sim-dac', '--', 'x'])).toBe(
      "iio-sim exec: --played takes DAC=FILE, not 'sim-dac'",
    );
  });
});

describe.skipIf(!HAVE_CC || ORACLE)(
  'coreutils through statx (needs a C compiler: apt-get install gcc libc6-dev)',
  () => {
    it(
      'ls -a lists a device directory and stat describes the char device and an attribute (statx answered as stat)',
      () => {
        const ls = exec(['--no-ftrace', '--', '/bin/ls', '-a', '/sys/bus/iio/devices/iio:device1/']);
        expect(ls.stderr).toBe('');
        expect(ls.stdout.toString()).toBe(
          '.\n..\nbuffer\nbuffer0\ndev\nname\npower\nsampling_frequency\nscan_elements\nsubsystem\nuevent\n',
        );
        expect(ls.status).toBe(0);
        const st = exec([
          '--no-ftrace',
          '--',
          '/usr/bin/stat',
          '-c',
          '%n %F %s',
          '/dev/iio:device0',
          '/sys/bus/iio/devices/iio:device0/name',
          '/sys/bus/iio/devices/iio:device9',
        ]);
        expect(st.stdout.toString()).toBe(
          '/dev/iio:device0 character special file 0\n/sys/bus/iio/devices/iio:device0/name regular file 4096\n',
        );
        expect(st.stderr).toBe(
          "/usr/bin/stat: cannot statx '/sys/bus/iio/devices/iio:device9': No such file or directory\n",
        );
        expect(st.status).toBe(1);
      },
      TIMEOUT,
    );
  },
);

describe.skipIf(!HAVE_CC || ORACLE)(
  'our C programs (needs a C compiler: apt-get install gcc libc6-dev)',
  () => {
    it(
      "libiio 1.x's DMABUF loop (dma-heap, ATTACH, ENQUEUE, poll with a cancel eventfd, SYNC) captures 1,000,000 samples of the ramp",
      () => {
        const r = exec(['--', join(dir, 'dmabuf-capture'), '1000000', '4096', '4']);
        expect(r.stderr).toBe('');
        expect(r.stdout.toString()).toBe(
          'dmabuf-capture: 1000000 samples (250000 scans of 4 channels) in 4 blocks of 4096 scans: 0 mismatches\n',
        );
        expect(r.status).toBe(0);
      },
      TIMEOUT,
    );

    it(
      'a read() capture of 1,000,000 samples gets the ramp',
      () => {
        const r = exec(['--', join(dir, 'read-capture'), '1000000']);
        expect(r.stderr).toBe('');
        expect(r.stdout.toString()).toBe(
          'read-capture: 1000000 samples (250000 scans of 4 channels): 0 mismatches\n',
        );
        expect(r.status).toBe(0);
      },
      TIMEOUT,
    );
    it(
      'a cyclic DAC waveform written through a real mapping is read back through the loopback ADC',
      () => {
        const scenario = join(ROOT, 'scenarios', '04-cyclic-dac.yaml');
        const r = exec(['--scenario', scenario, '--', join(dir, 'cyclic-dac'), '65536']);
        expect(r.stderr).toBe('');
        expect(r.stdout.toString()).toBe(
          'cyclic-dac: 65536 scans read back through the loopback, period 8: 0 mismatches\n',
        );
        expect(r.status).toBe(0);
      },
      TIMEOUT,
    );

    it(
      'the same program and seed give byte-identical traces, with the checker silent',
      () => {
        const logs = [join(dir, 'a.log'), join(dir, 'b.log')];
        for (const log of logs) {
          const r = exec(['--trace', log, '--', join(dir, 'dmabuf-capture'), '60000', '1024', '3']);
          expect(r.status).toBe(0);
        }
        const [a, b] = logs.map((l) => readFileSync(l, 'utf8')) as [string, string];
        expect(a).toBe(b);
        expect(a).toMatch(
          /ioctl\(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, \{fd=5, flags=0, bytes_used=8192\}\) += 0\n/,
        );
        expect(a).toMatch(/<\.\.\. poll resumed>\) += 1 \(\[\{fd=5, revents=POLLOUT\}\]\)\n/);
        expect(a).not.toContain('[check]');
        expect(a.trimEnd().split('\n').at(-1)).toMatch(/ \+\+\+ exited with 0 \+\+\+$/);
      },
      TIMEOUT,
    );
    it(
      'stat, access, realpath, readlink, dup2, fcntl, select, lseek, stdio, memfd + udmabuf (+ LIST) + mmap sharing pages, ioctl args in read-only/unmapped pages; refused calls say so',
      () => {
        const r = exec(['--', join(dir, 'bridge-check')]);
        expect(r.stdout.toString()).toBe(
          [
            'stat(devices) dir = 1',
            'stat(iio:device0) chr = 1',
            'stat(nope) = -1 ENOENT',
            'access(name, R_OK) = 0',
            'access(name, W_OK) = -1 EACCES',
            'access(enable, W_OK) = 0',
            'realpath = /sys/bus/iio/devices/iio:device1/name',
            'readlink(iio:device0) = -1 EINVAL',
            'dup2(fd, 10) = 10',
            'read(10) = 8',
            'read(10) text = sim-adc',
            'fcntl(10, F_GETFD) = 0',
            'close(10) = 0',
            'fcntl(fd, F_SETLK) = -1 ENOSYS',
            'select(readable) = 1',
            'fstat(fd) size = 4096',
            'lseek(fd, 0, SEEK_END) = 4096',
            'fscanf(sampling_frequency) = 1000000',
            'ftruncate(memfd) = 0',
            'write(memfd) = 5',
            'F_ADD_SEALS = 0',
            'UDMABUF_CREATE >= 0 = 1',
            'udmabuf mapping = hello',
            'shared pages = XY',
            'UDMABUF_CREATE_LIST >= 0 = 1',
            'list pages swapped = YX, memfd sees Z',
            'munmap = 0',
            'DMA_HEAP_IOCTL_ALLOC(read-only arg) = -1 EFAULT',
            'DMA_HEAP_IOCTL_ALLOC(unreadable arg) = -1 EFAULT',
            'next fd = heap + 1 = 1',
            "child's open served = 1",
            '',
          ].join('\n'),
        );
        expect(r.stderr).toBe('iio-sim bridge: fcntl(3, 6): this command is not bridged for simulated fds\n');
        expect(r.status).toBe(0);
      },
      TIMEOUT,
    );
    it(
      'coherence: without SYNC a program sees stale data on a non-coherent platform and fresh data on a coherent one',
      () => {
        const scenario = join(ROOT, 'scenarios', '12-non-coherent-caches.yaml');
        const prog = join(dir, 'dmabuf-capture');
        const synced = exec(['--scenario', scenario, '--', prog, '40000', '1024', '4']);
        expect([synced.status, synced.stdout.toString()]).toEqual([
          0,
          'dmabuf-capture: 40000 samples (10000 scans of 4 channels) in 4 blocks of 1024 scans: 0 mismatches\n',
        ]);
        const stale = exec(['--scenario', scenario, '--summary', '--', prog, '40000', '1024', '4', 'nosync']);
        expect([stale.status, stale.stdout.toString()]).toEqual([
          1,
          'dmabuf-capture: 40000 samples (10000 scans of 4 channels) in 4 blocks of 1024 scans: 39990 mismatches\n',
        ]);
        expect(stale.stderr).toContain('contract check: 4 findings (enqueue-during-cpu-access');
        const coherent = exec(['--platform', 'laptop', '--', prog, '40000', '1024', '4', 'nosync']);
        expect([coherent.status, coherent.stdout.toString()]).toEqual([
          0,
          'dmabuf-capture: 40000 samples (10000 scans of 4 channels) in 4 blocks of 1024 scans: 0 mismatches\n',
        ]);
      },
      TIMEOUT,
    );

    it(
      'a shell started under exec runs cat on a simulated sysfs file: the shell and cat are simulated processes of their own (fork, execve, wait4 in the trace)',
      () => {
        const r = exec([
          '--trace',
          '-',
          '--',
          'sh',
          '-c',
          'LC_ALL=C cat /sys/bus/iio/devices/iio:device0/name; echo status=$?',
        ]);
        expect(r.stdout.toString()).toBe('sim-adc\nstatus=0\n');
        expect(r.status).toBe(0);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines.slice(0, 5)).toEqual([
          '0.000000000 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) = 101',
          '[pid   100] 0.000001000 wait4(-1, NULL, 0, NULL <unfinished ...>',
          '[pid   101] 0.000001000 execve("/usr/bin/cat") = 0',
          '[pid   101] 0.000002000 openat(AT_FDCWD, "/sys/bus/iio/devices/iio:device0/name", O_RDONLY) = 3',
          '[pid   101] 0.000003000 read(3, "sim-adc\\n", 131072) = 8',
        ]);
        expect(lines.filter((l) => l.includes('+++'))).toEqual([
          '[pid   101] 0.000006006 +++ exited with 0 +++',
          '[pid   100] 0.000027006 +++ exited with 0 +++',
        ]);
        // exec: a shell that execs its last command stays one simulated process, named cat from then on.
        const direct = exec([
          '--summary',
          '--',
          'sh',
          '-c',
          'exec cat /sys/bus/iio/devices/iio:device1/name',
        ]);
        expect(direct.stdout.toString()).toBe('sim-dac\n');
        expect(direct.stderr).toContain('process cat[100]: exited: exited with 0\n');
      },
      TIMEOUT,
    );

    it(
      'fork: the child reads an inherited sysfs fd (the offset is shared), stores into an inherited dma-buf mapping and closes its copy; a child execs cat on an inherited fd; the same run twice gives the same trace',
      () => {
        const t1 = join(dir, 'fork-1.trace');
        const t2 = join(dir, 'fork-2.trace');
        const r = exec(['--trace', t1, '--', join(dir, 'fork-check')]);
        expect(r.stdout.toString()).toBe(
          [
            'waitpid = child: 1',
            'child exit status: 3',
            'parent reads on: 5 -adc',
            'mapping after the child: child',
            'sim-adc',
            "exec'd child: 0",
            "parent's close-on-exec fd still reads: 8 sim-dac",
            '',
          ].join('\n'),
        );
        expect([r.status, r.stderr]).toEqual([0, '']);
        const trace = readFileSync(t1, 'utf8');
        const pids = (pid: number) =>
          trace.split('\n').filter((l) => l.startsWith(`[pid ${String(pid).padStart(5)}]`));
        expect(pids(101)).toEqual([
          '[pid   101] 0.000005033 read(3, "sim", 3) = 3',
          '[pid   101] 0.000006036 close(3)        = 0',
          '[pid   101] 0.000007036 exit_group(3)   = ?',
          '[pid   101] 0.000007036 +++ exited with 3 +++',
        ]);
        expect(pids(102).map((l) => l.slice(24))).toEqual([
          'dup(3)          = 5',
          'execve("/usr/bin/cat") = 0',
          'read(5, "sim-adc\\n", 131072) = 8',
          'read(5, "", 131072) = 0',
          'close(5)        = 0',
          'exit_group(0)   = ?',
          '+++ exited with 0 +++',
        ]);
        expect(trace).toContain(
          '[pid   100] 0.000028036 <... wait4 resumed>) = 101\n[pid   100] 0.000028036 read(3, "-adc\\n", 15) = 5\n',
        );
        exec(['--trace', t2, '--', join(dir, 'fork-check')]);
        expect(readFileSync(t2, 'utf8')).toBe(trace);
      },
      TIMEOUT,
    );

    it(
      "exits with the program's status; a program blocked for good in the simulator is reported and killed; an unwritable --played file is exit 2",
      () => {
        const r = exec(['--trace', '-', '--', join(dir, 'dmabuf-capture'), '10', '0']);
        expect(r.status).toBe(2);
        expect(r.stderr).toContain('usage: dmabuf-capture');
        const r2 = exec(['--', join(dir, 'no-such-program')]);
        expect(r2.status).toBe(127);
        expect(r2.stderr).toBe(`iio-sim exec: cannot run '${join(dir, 'no-such-program')}': ENOENT\n`);
        const r4 = exec(['--played', `sim-dac=${join(dir, 'no', 'such', 'dir')}`, '--', 'true']);
        expect([r4.status, r4.stderr]).toEqual([
          2,
          `iio-sim exec: --played: cannot write ${join(dir, 'no', 'such', 'dir')} (ENOENT)\n`,
        ]);
        const r3 = exec(['--', join(dir, 'bridge-check'), 'block']);
        expect(r3.stderr).toBe(
          `iio-sim exec: ${join(dir, 'bridge-check')}: blocked forever in poll: poll on fds 4\n`,
        );
        expect(r3.status).toBe(128 + 9);
      },
      TIMEOUT,
    );
  },
);

describe('programModel', () => {
  it('reads the ELF header: i386 ELFCLASS32 is ilp32; a 64-bit ELF, a script or a missing file lp64; another 32-bit machine is refused', () => {
    const d = mkdtempSync(join(tmpdir(), 'iio-sim-elf-'));
    try {
      const elf = (cls: number, machine: number) => {
        const h = Buffer.alloc(64);
        h.writeUInt32BE(0x7f454c46, 0);
        h[4] = cls;
        h[5] = 1;
        h.writeUInt16LE(machine, 18);
        return h;
      };
      writeFileSync(join(d, 'i386'), elf(1, 3));
      writeFileSync(join(d, 'x86-64'), elf(2, 62));
      writeFileSync(join(d, 'arm'), elf(1, 40));
      writeFileSync(join(d, 'script'), '#!/bin/sh\nexit 0\n');
      expect(programModel(join(d, 'i386'))).toBe('ilp32');
      expect(programModel(join(d, 'x86-64'))).toBe('lp64');
      expect(programModel(join(d, 'script'))).toBe('lp64');
      expect(programModel(join(d, 'missing'))).toBe('lp64');
      expect(programModel(join(d, 'arm'))).toBe(
        `${join(d, 'arm')} is a 32-bit ELF program for machine 40: only i386 (machine 3) 32-bit programs are bridged`,
      );
      if (!ORACLE) {
        const r = exec(['--', join(d, 'arm')]);
        expect([r.status, r.stderr]).toEqual([
          2,
          `iio-sim exec: ${join(d, 'arm')} is a 32-bit ELF program for machine 40: only i386 (machine 3) 32-bit programs are bridged\n`,
        ]);
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAVE_I386)(
  'i386 builds of our C programs, as compat processes (needs cc -m32: apt-get install gcc-multilib; and IA32 emulation or qemu-i386: apt-get install qemu-user)',
  () => {
    it(
      'an i386 dmabuf-capture (dma-heap, ATTACH, ENQUEUE, poll, SYNC through the compat ioctl path) captures 1,000,000 samples of the ramp as the LP64 build does',
      () => {
        const r = exec(['--', join(dir, 'm32', 'dmabuf-capture'), '1000000', '4096', '4']);
        expect(r.stderr).toBe('');
        expect(r.stdout.toString()).toBe(
          'dmabuf-capture: 1000000 samples (250000 scans of 4 channels) in 4 blocks of 4096 scans: 0 mismatches\n',
        );
        expect(r.status).toBe(0);
      },
      TIMEOUT,
    );

    it(
      'an i386 read-capture gets the ramp, with and without _FILE_OFFSET_BITS=64',
      () => {
        for (const sub of ['m32', 'm32-lfs']) {
          const r = exec(['--', join(dir, sub, 'read-capture'), '1000000']);
          expect(r.stderr).toBe('');
          expect(r.stdout.toString()).toBe(
            'read-capture: 1000000 samples (250000 scans of 4 channels): 0 mismatches\n',
          );
          expect(r.status).toBe(0);
        }
      },
      TIMEOUT,
    );

    it(
      "an i386 program's trace is the LP64 one's but for the 32-bit banner, mmap2 and addresses below 4 GiB",
      () => {
        const logs = { lp64: join(dir, 'lp64.log'), ilp32: join(dir, 'ilp32.log') };
        for (const [model, log] of Object.entries(logs)) {
          const prog = join(dir, model === 'lp64' ? '' : 'm32', 'dmabuf-capture');
          const r = exec(['--trace', log, '--', prog, '40000', '1024', '4']);
          expect(r.status).toBe(0);
        }
        const lp64 = readFileSync(logs.lp64, 'utf8').split('\n');
        const ilp32 = readFileSync(logs.ilp32, 'utf8').split('\n');
        expect(ilp32[0]).toBe('[ Process PID=100 runs in 32 bit mode. ]');
        const maps = ilp32.filter((l) => /^[\d.]+ mmap2?\(/.test(l));
        expect(maps).toHaveLength(4);
        for (const l of maps) {
          const m =
            /^[\d.]+ mmap2\(NULL, 8192, PROT_READ\|PROT_WRITE, MAP_SHARED, \d, 0\) = 0x([0-9a-f]+)$/.exec(l);
          expect(m, l).not.toBeNull();
          expect(Number.parseInt(m![1]!, 16)).toBeLessThan(2 ** 32);
        }
        const rest = (lines: string[]) => lines.filter((l) => !/^[\d.]+ (mmap2?|munmap)\(/.test(l));
        expect(rest(ilp32.slice(1))).toEqual(rest(lp64));
        expect(ilp32.join('\n')).not.toContain('[check]');
      },
      TIMEOUT,
    );

    it(
      'stat, access, realpath, readlink, dup2, fcntl, select, fstat, lseek, stdio, memfd from an i386 program, with and without _FILE_OFFSET_BITS=64, answer as for LP64',
      () => {
        const lp64 = exec(['--', join(dir, 'bridge-check'), 'files']);
        expect(lp64.status).toBe(0);
        expect(lp64.stderr).toBe(
          'iio-sim bridge: fcntl(3, 6): this command is not bridged for simulated fds\n',
        );
        expect(lp64.stdout.toString().split('\n')).toHaveLength(22);
        for (const sub of ['m32', 'm32-lfs']) {
          const r = exec(['--', join(dir, sub, 'bridge-check'), 'files']);
          // F_SETLK is 6 there as on LP64; with _FILE_OFFSET_BITS=64 it is F_SETLK64, 13.
          expect(r.stderr).toBe(
            `iio-sim bridge: fcntl(3, ${sub === 'm32' ? 6 : 13}): this command is not bridged for simulated fds\n`,
          );
          expect(r.stdout.toString()).toBe(lp64.stdout.toString());
          expect(r.status).toBe(0);
        }
      },
      TIMEOUT,
    );
  },
);

describe.skipIf(!HAVE_LIBIIO || ORACLE)('libiio 0.24 tools (needs apt-get install libiio-utils)', () => {
  it(
    'iio_info -u local: lists the devices with their channels and attributes',
    () => {
      const r = exec(['--', 'iio_info', '-u', 'local:']);
      expect(r.status).toBe(0);
      const out = r.stdout.toString();
      expect(out).toContain('IIO context has 4 devices:\n');
      expect(out).toContain('\tiio:device0: sim-adc (buffer capable)\n\t\t4 channels found:\n');
      expect(out).toContain('\t\t\tvoltage3:  (input, index: 3, format: le:s12/16>>0)\n');
      expect(out).toContain('\tiio:device1: sim-dac (buffer capable)\n\t\t2 channels found:\n');
      expect(out).toContain('\t\t\tvoltage1:  (output, index: 1, format: le:S16/16>>0)\n');
      expect(out).toContain('\tiio:device2: sim-dummy (buffer capable)\n\t\t5 channels found:\n');
      expect(out).toContain('\t\t\t\tattr  0: sampling_frequency value: 1000000\n');
      expect(out).toContain('\t\tCurrent trigger: trigger0(sim-dummy-dev2-trigger)\n');
    },
    TIMEOUT,
  );

  it(
    'iio_attr reads an attribute, and writes one (the store runs on the simulated device)',
    () => {
      const read = exec(['--', 'iio_attr', '-u', 'local:', '-d', 'sim-adc', 'sampling_frequency']);
      expect([read.status, read.stdout.toString()]).toEqual([0, '1000000\n']);
      const write = exec(['--', 'iio_attr', '-u', 'local:', '-d', 'sim-adc', 'sampling_frequency', '500000']);
      expect([write.status, write.stdout.toString()]).toEqual([0, '500000\n']);
    },
    TIMEOUT,
  );

  it(
    'iio_writedev -u local: -b 1024 -s 16384 sim-dac: the DAC plays every scan of stdin as given, up to the disable that ends the program',
    () => {
      // 16384 scans of (out_voltage0, out_voltage1), le:s16: two sawtooths of different periods.
      const input = Buffer.alloc(16384 * 4);
      for (let i = 0; i < 16384; i++) {
        input.writeInt16LE(((i * 7) % 30000) - 15000, i * 4);
        input.writeInt16LE(15000 - ((i * 13) % 30000), i * 4 + 2);
      }
      const played = join(dir, 'played.bin');
      const args = ['--played', `sim-dac=${played}`, '--', 'iio_writedev', '-u', 'local:', '-b', '1024'];
      const r = exec([...args, '-s', '16384', 'sim-dac'], input);
      // libiio 0.24 writes buffer/length 4096, which the fileio buffer splits into two blocks of 2048 scans.
      // The tool disables the buffer right after its last write, as on a real kernel: the DMA transfer in
      // flight is cut after 33 scans and the last block never starts. Everything played is the input.
      expect(r.stderr).toBe(
        'WARNING: High-speed mode not enabled\n' +
          `iio-sim exec: sim-dac played 12321 scans in 1 run(s) (7 starved before the first, 0 starved in between): ${played}\n`,
      );
      expect(r.status).toBe(0);
      const out = readFileSync(played);
      expect(out.length).toBe(12321 * 4);
      expect(out.equals(input.subarray(0, out.length))).toBe(true);
      const bad = exec(['--played', `sim-adc=${played}`, '--', 'iio_writedev', 'sim-dac']);
      expect([bad.status, bad.stderr]).toEqual([
        2,
        "iio-sim exec: --played: 'sim-adc' is not a DAC of this board\n",
      ]);
    },
    TIMEOUT,
  );

  it(
    'iio_readdev -u local: -b 4096 -s 200000 sim-adc writes exactly the ramp',
    () => {
      const r = exec(['--', 'iio_readdev', '-u', 'local:', '-b', '4096', '-s', '200000', 'sim-adc']);
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBe(200000 * 8);
      expect(rampMismatches(r.stdout)).toBe(0);
    },
    TIMEOUT,
  );
});

describe.skipIf(!HAVE_CC || !HAVE_TOOLS_IIO || ORACLE)(
  'tools/iio of Linux 7.3 (needs its source: run bridge/selftests/fetch-selftests.sh, or set KERNEL_SRC)',
  () => {
    it(
      'lsiio -v lists the devices, the ADC channels with a _raw attribute, and the trigger, in sysfs readdir order (kernfs name hashes, as Linux 7.3 lists them)',
      () => {
        const r = exec(['--', join(dir, 'lsiio'), '-v']);
        expect(r.stdout.toString()).toBe(
          'Device 001: sim-dac\n\nDevice 002: sim-dummy\n\nDevice 000: sim-adc\n' +
            '   in_voltage1_raw\n   in_voltage2_raw\n   in_voltage3_raw\n   in_voltage0_raw\n' +
            '\nTrigger 000: sim-dummy-dev2-trigger\n',
        );
        expect(r.status).toBe(0);
      },
      TIMEOUT,
    );
    it(
      '--devices gives the board: lsiio lists it; a bad file is a located error and exit 2',
      () => {
        const good = join(dir, 'board.yaml');
        writeFileSync(
          good,
          '- kind: adc\n  name: my-adc\n  sampleRateHz: 500000\n  channels: [{ id: voltage0, type: "le:s16/16>>0" }]\n',
        );
        const r = exec(['--devices', good, '--', join(dir, 'lsiio')]);
        expect([r.status, r.stdout.toString()]).toEqual([0, 'Device 000: my-adc\n']);
        const bad = join(dir, 'bad.yaml');
        writeFileSync(
          bad,
          '- kind: adc\n  name: x\n  sampleRateHz: 1000\n  channels: [{ id: voltage0, type: "le:s16/16>>0" }]\n  loopbackFrom: nope\n',
        );
        const r2 = exec(['--devices', bad, '--', join(dir, 'lsiio')]);
        expect(r2.status).toBe(2);
        expect(r2.stderr).toBe(`${bad}: [0.loopbackFrom]: loopbackFrom 'nope' is not a DAC of this board\n`);
      },
      TIMEOUT,
    );

    it(
      'iio_event_monitor prints the events pushed into sim-dummy (--at), in order with their timestamps, until the device goes',
      () => {
        const r = exec([
          ...['--at', '1ms:event:sim-dummy:0x0001000000000000'],
          ...['--at', '2ms:event:sim-dummy:0x0002000000000001'],
          ...['--at', '2ms:event:sim-dummy:0x0101010300000000'],
          ...['--at', '3500us:event:sim-dummy:0xffffffffffffffff'],
          ...['--at', '4ms:remove:sim-dummy'],
          '--',
          join(dir, 'iio_event_monitor'),
          'sim-dummy',
        ]);
        // IIO_UNMOD_EVENT_CODE(IIO_VOLTAGE, 0, THRESH, RISING), (IIO_VOLTAGE, 1, THRESH, FALLING),
        // IIO_MOD_EVENT_CODE(IIO_ACCEL, 0, IIO_MOD_X, MAG, RISING); the last id is none the tool knows.
        expect(r.stdout.toString()).toBe(
          'Found IIO device with name sim-dummy with device number 2\n' +
            'Event: time: 1000000, type: voltage, channel: 0, evtype: thresh, direction: rising\n' +
            'Event: time: 2000000, type: voltage, channel: 1, evtype: thresh, direction: falling\n' +
            'Event: time: 2000000, type: accel(x), channel: 0, evtype: mag, direction: rising\n',
        );
        // The removal makes the blocked read fail with ENODEV; the tool returns -ENODEV (exit status 237).
        expect(r.stderr).toBe(
          'Unknown event: time: 3500000, id: ffffffffffffffff\n' +
            'Failed to read event from device: No such device\n',
        );
        expect(r.status).toBe(256 - 19);
        const bad = exec(['--at', '1ms:event:sim-adc:1', '--', join(dir, 'lsiio')]);
        expect([bad.status, bad.stderr]).toEqual([
          2,
          "iio-sim exec: --at: 'sim-adc' has no event interface\n",
        ]);
      },
      TIMEOUT,
    );

    it(
      'iio_generic_buffer captures sim-adc in trigger-less mode: every printed scan follows the ramp',
      () => {
        const r = exec([
          '--',
          join(dir, 'iio_generic_buffer'),
          '-n',
          'sim-adc',
          '-g',
          '-a',
          '-c',
          '2',
          '-l',
          '256',
        ]);
        const lines = r.stdout.toString().split('\n');
        const scans = lines.filter((l) => /^-?\d+\.\d+ /.test(l)).map((l) => l.trim().split(' ').map(Number));
        expect(scans.length).toBe(256);
        // The tool prints (raw + offset) * scale with 6 decimals; in_voltageN_scale is 2500 / 2048.
        const bad = scans.filter((v, i) =>
          v.some((x, c) => Math.abs(x - ((i + 1024 * c - 2048) * 2500) / 2048) > 1e-6),
        );
        expect(bad).toEqual([]);
        // It enables the channels in buffer0's readdir order (kernfs name hashes).
        expect(lines.slice(0, 3)).toEqual([
          'iio device number being used is 0',
          'trigger-less mode selected',
          'Enabling: in_voltage3_en',
        ]);
        // The tool returns the last poll()'s result, 1, as it does on a real kernel.
        expect(r.status).toBe(1);
      },
      TIMEOUT,
    );
  },
);

describe.skipIf(!HAVE_CC || !HAVE_SELFTESTS || ORACLE)(
  'kernel selftests of Linux 7.3 (needs bridge/selftests/fetch-selftests.sh, or IIO_SIM_SELFTESTS)',
  () => {
    it(
      'dmabuf-heap: every check on the system heap passes as on 7.3 (vgem import skipped, fd leak on EFAULT none)',
      () => {
        const r = exec(['--', join(dir, 'dmabuf-heap')]);
        const out = r.stdout.toString();
        expect(out.replace(/before=(\d+) after=(\d+)/, (_, a, b) => (a === b ? 'before=N after=N' : _))).toBe(
          [
            'TAP version 13',
            '1..12',
            '# Testing heap: system',
            '# =======================================',
            '# Testing allocation and importing:',
            'ok 1 # SKIP Could not open vgem -1',
            'ok 2 test_alloc_and_import dmabuf sync succeeded',
            '# Testing alloced 4k buffers are zeroed:',
            'ok 3 Allocate and fill a bunch of buffers',
            'ok 4 Allocate and validate all buffers are zeroed',
            '# Testing alloced 1024k buffers are zeroed:',
            'ok 5 Allocate and fill a bunch of buffers',
            'ok 6 Allocate and validate all buffers are zeroed',
            '# Testing (theoretical) older alloc compat:',
            'ok 7 dmabuf_heap_alloc_older',
            '# Testing (theoretical) newer alloc compat:',
            'ok 8 dmabuf_heap_alloc_newer',
            '# Testing expected error cases:',
            'ok 9 Error expected on invalid fd -1',
            'ok 10 Error expected on invalid heap flags -1',
            'ok 11 Error expected on invalid heap flags -1',
            '# Testing fd leak when copy_to_user() fails:',
            'ok 12 fd leak on EFAULT: before=N after=N',
            '# 1 skipped test(s) detected. Consider enabling relevant config options to improve coverage.',
            '# Totals: pass:11 fail:0 xfail:0 xpass:0 skip:1 error:0',
            '',
          ].join('\n'),
        );
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      },
      TIMEOUT,
    );

    it(
      'udmabuf: tests 1-5 pass (the udmabuf and its memfd share pages); the hugetlb tests stop at mmap, no huge pages',
      () => {
        const r = exec(['--', join(dir, 'udmabuf')]);
        expect(r.stdout.toString()).toBe(
          [
            'TAP version 13',
            '1..7',
            ...[1, 2, 3, 4, 5].map((i) => `ok ${i} drivers/dma-buf/udmabuf: [PASS,test-${i}]`),
            // MFD_HUGETLB: hugetlb_reserve_pages() finds no huge page (vm.nr_hugepages 0): exit(KSFT_FAIL).
            '# drivers/dma-buf/udmabuf: ubuf_fd mmap fail',
            '',
          ].join('\n'),
        );
        expect(r.stderr).toBe('');
        expect(r.status).toBe(1);
      },
      TIMEOUT,
    );
  },
);
