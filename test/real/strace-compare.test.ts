/**
 * The comparison of a program's two strace logs (src/real/strace-compare.ts): the simulator's
 * (`iio-sim exec --strace-compat`) and the real kernel's (`strace -f -y` in the guest), on hand-written logs.
 * No VM is needed; test/real/exec-real.test.ts runs it on real clients.
 */
import { describe, expect, it } from 'vitest';
import {
  compareStraceLogs,
  formatStraceComparison,
  parseStraceLog,
  simFdKind,
  simPath,
  simulatedCalls,
} from '../../src/real/strace-compare.ts';

/** A real log: strace -f -o prefixes each line with the pid. */
const real = (...lines: string[]) => lines.map((l) => `142   ${l}`).join('\n');
/** A simulator log: timestamps, no pid. */
const sim = (...lines: string[]) => lines.map((l, i) => `0.00000${i}000 ${l}`).join('\n');

describe('parseStraceLog', () => {
  it('reads calls with or without pid and timestamp, joins unfinished and resumed halves, and drops notes, signals and exits', () => {
    const calls = parseStraceLog(
      [
        '0.000000000 openat(AT_FDCWD, "/dev/iio:device0", O_RDWR) = 3',
        '0.000001000 read(4,  <unfinished ...>',
        '0.000002000 [hw] sim-adc-dma: transfer 1 complete',
        '0.000003000 <... read resumed>"\\0\\1", 8192) = 2',
        '[pid   12] 0.000004000 close(3) = 0',
        '12    write(1</tmp/x>, "a, b) = 3", 9) = 9',
        '--- SIGUSR1 {si_signo=SIGUSR1} ---',
        '0.000005000 exit_group(0)               = ?',
        '+++ exited with 0 +++',
      ].join('\n'),
    );
    expect(calls.map((c) => [c.name, c.args, c.ret])).toEqual([
      ['openat', ['AT_FDCWD', '"/dev/iio:device0"', 'O_RDWR'], '3'],
      ['read', ['4', '"\\0\\1"', '8192'], '2'],
      ['close', ['3'], '0'],
      ['write', ['1</tmp/x>', '"a, b) = 3"', '9'], '9'],
    ]);
  });
});

describe('the simulated world in a real -y log', () => {
  it('knows the fds of the simulated world by their -y names, and its paths', () => {
    expect(
      [
        'anon_inode:iio:buffer',
        'anon_inode:iio:event',
        '/dev/iio:device0',
        '/dev/dma_heap',
        '/dev/dma_heap/system',
        '/dev/udmabuf',
        '/dmabuf:',
        '/memfd:udmabuf-test (deleted)',
        '/sys/devices/platform/sim-iio.1.auto/iio:device0/name',
        '/sys/bus/iio/devices',
        '/sys/devices/platform/sim-iio.1.auto/trigger0/name',
        '/proc/141/fd',
        'anon_inode:[eventfd]',
        '/tmp/iio-sim-run/stdout',
        '/sys/devices/system/cpu/online',
      ].map(simFdKind),
    ).toEqual([
      'iio-buffer',
      'iio-event',
      'iio-device',
      'heap',
      'heap',
      'udmabuf',
      'dmabuf',
      'memfd',
      'iio-sysfs',
      'iio-sysfs',
      'iio-sysfs',
      null,
      null,
      null,
      null,
    ]);
    expect(
      [
        '/dev/iio:device1',
        '/sys/bus/iio/devices/',
        '/dev/dma_heap',
        '/dev/udmabuf',
        '/etc/ld.so.cache',
        '/dev/dri/card0',
      ].map(simPath),
    ).toEqual([true, true, true, true, false, false]);
  });

  it('keeps only the calls on it: fds by -y name, paths, munmap of its mappings; poll arrays cut to its fds; fd names removed', () => {
    const kept = simulatedCalls(
      parseStraceLog(
        real(
          'openat(AT_FDCWD</tmp>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
          'eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 3<anon_inode:[eventfd]>',
          'openat(AT_FDCWD</tmp>, "/sys/bus/iio/devices/iio:device0/x", O_RDONLY) = -1 ENOENT (No such file or directory)',
          'newfstatat(4</dev/iio:device0>, "", {st_mode=S_IFCHR|0600, ...}, AT_EMPTY_PATH) = 0',
          'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 6</dmabuf:>, 0) = 0x7f22b8bd7000',
          'mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f22b8bd0000',
          'poll([{fd=6</dmabuf:>, events=POLLOUT}, {fd=3<anon_inode:[eventfd]>, events=POLLIN}], 2, 5000) = 1 ([{fd=6, revents=POLLOUT}])',
          'munmap(0x7f22b8bd0000, 4096) = 0',
          'munmap(0x7f22b8bd7000, 8192) = 0',
          'memfd_create("m", MFD_ALLOW_SEALING) = 7</memfd:m>(deleted)',
          'close(3<anon_inode:[eventfd]>) = 0',
        ),
      ),
    );
    expect(kept.map((c) => c.text)).toEqual([
      'openat(AT_FDCWD, "/sys/bus/iio/devices/iio:device0/x", O_RDONLY) = -1 ENOENT (No such file or directory)',
      'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 6, 0) = 0x7f22b8bd7000',
      'poll([{fd=6, events=POLLOUT}], 1, 5000) = 1 ([{fd=6, revents=POLLOUT}])',
      'munmap(0x7f22b8bd7000, 8192) = 0',
      'memfd_create("m", MFD_ALLOW_SEALING) = 7',
    ]);
  });
});

describe('compareStraceLogs', () => {
  it('agrees when the calls agree but for fd numbers (named by appearance) and addresses', () => {
    const c = compareStraceLogs(
      sim(
        'openat(AT_FDCWD, "/dev/iio:device0", O_RDWR|O_CLOEXEC) = 3',
        'ioctl(3, IIO_BUFFER_GET_FD_IOCTL, 0x555555554000) = 0',
        'close(3)                    = 0',
        'read(4, "\\0\\370\\0\\374"..., 8192) = 8192',
        'openat(AT_FDCWD, "/sys/bus/iio/devices/iio:device0/buffer0/enable", O_WRONLY|O_CREAT|O_TRUNC) = 3',
      ),
      real(
        'eventfd2(0, EFD_CLOEXEC) = 3<anon_inode:[eventfd]>',
        'openat(AT_FDCWD</tmp>, "/dev/iio:device0", O_RDWR|O_CLOEXEC) = 4</dev/iio:device0>',
        'ioctl(4</dev/iio:device0>, IIO_BUFFER_GET_FD_IOCTL, 0x7ffec212bb5c) = 0',
        'close(4</dev/iio:device0>) = 0',
        'read(5<anon_inode:iio:buffer>, "\\1\\370\\1\\374"..., 8192) = 8192',
        'openat(AT_FDCWD</tmp>, "/sys/bus/iio/devices/iio:device0/buffer0/enable", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 4</sys/devices/platform/sim-iio.1.auto/iio:device0/buffer0/enable>',
      ),
    );
    expect(formatStraceComparison('p', c)).toEqual(['p: agree (5 syscalls); rules: iio-data ×1']);
  });

  it('compares data_available and in_*_raw reads as numbers, and passes over polls that found nothing on one side', () => {
    const c = compareStraceLogs(
      sim(
        'openat(AT_FDCWD, "/sys/bus/iio/devices/iio:device0/in_voltage0_raw", O_RDONLY) = 3',
        'read(3, "-1874\\n", 4096) = 6',
        'poll([{fd=4, events=POLLIN}], 1, 0) = 0 (Timeout)',
        'poll([{fd=4, events=POLLIN}], 1, 0) = 0 (Timeout)',
        'poll([{fd=4, events=POLLIN}], 1, 0) = 1 ([{fd=4, revents=POLLIN}])',
      ),
      real(
        'openat(AT_FDCWD, "/sys/bus/iio/devices/iio:device0/in_voltage0_raw", O_RDONLY) = 3</sys/devices/platform/sim-iio.1.auto/iio:device0/in_voltage0_raw>',
        'read(3</sys/devices/platform/sim-iio.1.auto/iio:device0/in_voltage0_raw>, "779\\n", 4096) = 4',
        'poll([{fd=4<anon_inode:iio:buffer>, events=POLLIN}], 1, 0) = 1 ([{fd=4, revents=POLLIN}])',
      ),
    );
    expect(formatStraceComparison('p', c)).toEqual([
      'p: agree (3 syscalls); rules: raw-sample ×1, poll-readiness ×2',
    ]);
  });

  it('compares the bytes a write to an IIO buffer passes as printed: the program’s own data, not real time’s', () => {
    const open = 'openat(AT_FDCWD, "/dev/iio:device1", O_RDWR|O_NONBLOCK|O_CLOEXEC) = 4';
    const dev = '4</dev/iio:device1>';
    const same = compareStraceLogs(
      sim(open, 'write(4, "h\\305\\230:"..., 4096) = 4096'),
      real(`${open}${dev.slice(1)}`, `write(${dev}, "h\\305\\230:"..., 4096) = 4096`),
    );
    expect(formatStraceComparison('w', same)).toEqual(['w: agree (2 syscalls)']);
    const other = compareStraceLogs(
      sim(open, 'write(4, "h\\305\\230:"..., 4096) = 4096'),
      real(`${open}${dev.slice(1)}`, `write(${dev}, "\\0\\0\\0\\0"..., 4096) = 4096`),
    );
    expect([other.first?.index, other.first?.what]).toEqual([1, 'different arguments']);
  });

  it('reports the first disagreement with both calls, as iio-sim diff does', () => {
    const c = compareStraceLogs(
      sim(
        'openat(AT_FDCWD, "/dev/dma_heap/system", O_RDWR) = 3',
        'ioctl(3, DMA_HEAP_IOCTL_ALLOC, 0x555555554000) = 0',
      ),
      real(
        'openat(AT_FDCWD, "/dev/dma_heap/system", O_RDWR) = 3</dev/dma_heap/system>',
        'ioctl(3</dev/dma_heap/system>, DMA_HEAP_IOCTL_ALLOC, 0x7ffc00001000) = -1 EINVAL (Invalid argument)',
      ),
    );
    expect(c.first?.index).toBe(1);
    expect(formatStraceComparison('heap', c)).toEqual([
      'heap: differs at syscall 2 of 2: different results',
      '      simulator: ioctl(fd#1, DMA_HEAP_IOCTL_ALLOC, ADDR) = 0',
      '      kernel:    ioctl(fd#1, DMA_HEAP_IOCTL_ALLOC, ADDR) = -1 EINVAL (Invalid argument)',
      '      (as logged: ioctl(3, DMA_HEAP_IOCTL_ALLOC, 0x555555554000) = 0  |  ioctl(3, DMA_HEAP_IOCTL_ALLOC, 0x7ffc00001000) = -1 EINVAL (Invalid argument))',
    ]);
    const missing = compareStraceLogs(sim('close(3) = 0'), real());
    expect(missing.first?.what).toBe('the kernel’s process made no such call');
  });
});

describe('rule poll-timeout', () => {
  it('a poll timeout computed from the program’s clock (1000 here, 999 on the guest) agrees; forever against a while does not', () => {
    const line = (t: number) => `poll([{fd=4, events=POLLIN}], 1, ${t}) = 1 ([{fd=4, revents=POLLIN}])`;
    const realLine = (t: number) =>
      `poll([{fd=4<anon_inode:iio:buffer>, events=POLLIN}], 1, ${t}) = 1 ([{fd=4, revents=POLLIN}])`;
    expect(formatStraceComparison('p', compareStraceLogs(sim(line(1000)), real(realLine(999))))).toEqual([
      'p: agree (1 syscalls); rules: poll-timeout ×1',
    ]);
    expect(formatStraceComparison('p', compareStraceLogs(sim(line(-1)), real(realLine(-1))))).toEqual([
      'p: agree (1 syscalls)',
    ]);
    for (const [a, b] of [
      [-1, 1000],
      [0, 1],
    ] as const)
      expect(compareStraceLogs(sim(line(a)), real(realLine(b))).first?.what).toBe('different arguments');
  });
});
