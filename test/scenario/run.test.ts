/**
 * The scenario interpreter (src/scenario/run.ts), driven through loadScenario + scenarioSimulator +
 * runScenario on small inline scenarios: every action kind with an exact expectation, every expectation
 * kind (and the failure it reports when it does not hold), the faults, the run-level expectations, and the
 * default rule that an unexpected negative return fails the step.
 */
import { describe, expect, it } from 'vitest';
import { formatError } from '../../src/scenario/errors.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { runScenario, type ScenarioOutcome, scenarioSimulator } from '../../src/scenario/run.ts';

/** Loads `text` (it must be valid) and runs it. */
async function run(text: string): Promise<ScenarioOutcome> {
  const loaded = loadScenario(text, 'inline.yaml');
  if (!loaded.ok) throw new Error(`scenario does not load:\n${loaded.errors.map(formatError).join('\n')}`);
  return runScenario(loaded.scenario, scenarioSimulator(loaded.scenario));
}

/** The failures of a run without their times, for exact comparison. */
function failuresOf(o: ScenarioOutcome): { process: string; step: string; expected: string; got: string }[] {
  return o.failures.map(({ process, step, expected, got }) => ({ process, step, expected, got }));
}

/** Runs `text` and asserts that every expectation held and every process exited. */
async function passes(text: string): Promise<ScenarioOutcome> {
  const o = await run(text);
  expect(failuresOf(o)).toEqual([]);
  for (const p of o.result.processes) expect(`${p.name}: ${p.status}`).toBe(`${p.name}: exited`);
  return o;
}

const ADC4 = '[in_voltage0, in_voltage1, in_voltage2, in_voltage3]';

describe('actions, each with an exact expectation', () => {
  it('open, dup, dup2, close (by name and by number), read, pread, lseek, write', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - open: { path: /dev/null, flags: O_RDWR, as: n }
        expect: { ret: 3 }
      - dup: { fd: n, as: d }
        expect: { ret: 4 }
      - dup2: { fd: n, to: 10, as: e }
        expect: { ret: 10 }
      - close: e
        expect: { ret: 0 }
      - close: e
        label: closing twice
        expect: { errno: EBADF }
      - open: { path: /sys/bus/iio/devices/iio:device0/name, as: nm }
        expect: { ret: fd }
      - read: { fd: nm, len: 64, into: nb }
        expect: { ret: 8, data: { text: "sim-adc\\n" } }
      - check: { in: nb }
        expect: { data: { hex: "73 69 6d 2d 61 64 63 0a" } }
      - pread: { fd: nm, len: 64, offset: 4 }
        expect: { ret: 4, data: { text: "adc\\n" } }
      - lseek: { fd: nm, offset: 2, whence: SEEK_SET }
        expect: { ret: 2 }
      - read: { fd: nm, len: 64 }
        expect: { ret: 6, data: { text: "m-adc\\n" } }
      - lseek: { fd: nm, offset: 0, whence: 0 }
        expect: { ret: 0 }
      - write: { fd: n, data: hello }
        expect: { ret: 5 }
      - write: { fd: d, data: { hex: "00 01 02" } }
        expect: { ret: 3 }
      - write: { fd: n, data: { fill: 7, len: 100 } }
        expect: { ret: 100 }
      - close: 4
        expect: { ret: 0 }
      - close: 4
        expect: { errno: EBADF }
`);
  });

  it('fcntl with command names, numbers and flag arguments', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - open: { path: /dev/null, flags: O_RDWR, as: n }
      - fcntl: { fd: n, cmd: F_GETFL }
        expect: { ret: 32770 }
      - fcntl: { fd: n, cmd: F_SETFL, arg: O_NONBLOCK }
        expect: { ret: 0 }
      - fcntl: { fd: n, cmd: F_GETFL }
        expect: { ret: 34818 }
      - fcntl: { fd: n, cmd: 1 }
        label: F_GETFD by number
        expect: { ret: 0 }
      - fcntl: { fd: n, cmd: F_SETFD, arg: FD_CLOEXEC }
        expect: { ret: 0 }
      - fcntl: { fd: n, cmd: F_GETFD }
        expect: { ret: 1 }
`);
  });

  it('ioctl with int (in and out), struct (value and out), string, null, number and unmapped arguments', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - open: { path: /dev/iio:device0, flags: O_RDWR, as: chr }
        expect: { ret: 3 }
      - ioctl: { fd: chr, request: IIO_BUFFER_GET_FD_IOCTL, arg: { int: 0, out: b0 } }
        expect: { ret: 0 }
      - fcntl: { fd: b0, cmd: F_GETFD }
        label: the fd bound by out is fd 4, close-on-exec
        expect: { ret: 1 }
      - ioctl: { fd: chr, request: IIO_BUFFER_GET_FD_IOCTL, arg: 0 }
        label: a NULL pointer as a number
        expect: { errno: EFAULT }
      - ioctl: { fd: b0, request: 0x1234, arg: null }
        label: an unknown request on a mainline buffer fd
        expect: { errno: EINVAL }
      - ioctl: { fd: b0, request: IIO_BUFFER_DMABUF_ATTACH_IOCTL, arg: { unmapped: true } }
        expect: { errno: EFAULT }
      - open: { path: /dev/dma_heap/system, flags: O_RDWR, as: heap }
        expect: { ret: 5 }
      - ioctl:
          fd: heap
          request: DMA_HEAP_IOCTL_ALLOC
          arg: { struct: dma_heap_allocation_data, value: { len: 4096, fd_flags: O_RDWR|O_CLOEXEC }, out: { fd: hb } }
        expect: { ret: 0 }
      - ioctl: { fd: hb, request: DMA_BUF_SET_NAME_B, arg: { string: capture } }
        expect: { ret: 0 }
      - ioctl: { fd: b0, request: IIO_BUFFER_DMABUF_ATTACH_IOCTL, arg: { int: hb } }
        label: an int argument naming an fd
        expect: { ret: 0 }
      - close: hb
        label: the struct out field was bound to fd 6
        expect: { ret: 0 }
      - close: 6
        expect: { errno: EBADF }
`);
  });

  it('ioctl `as` binds the returned fd (UDMABUF_CREATE over a sealed memfd); memfd_create, ftruncate', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - memfd_create: { name: buf, flags: MFD_ALLOW_SEALING, as: mf }
        expect: { ret: 3 }
      - ftruncate: { fd: mf, length: 8192 }
        expect: { ret: 0 }
      - fcntl: { fd: mf, cmd: F_ADD_SEALS, arg: F_SEAL_SHRINK }
        expect: { ret: 0 }
      - fcntl: { fd: mf, cmd: F_GET_SEALS }
        expect: { ret: 2 }
      - open: { path: /dev/udmabuf, flags: O_RDWR, as: u }
        expect: { ret: 4 }
      - ioctl: { fd: u, request: UDMABUF_CREATE, arg: { struct: udmabuf_create, value: { memfd: mf, size: 8192 } }, as: ub }
        expect: { ret: 5 }
      - mmap: { fd: ub, length: 8192, as: m }
      - fill: { map: m, data: "xyz" }
      - check: { in: m, len: 3 }
        expect: { data: { text: "xyz" } }
      - close: ub
        expect: { ret: 0 }
`);
  });

  it('mmap (prot, flags, offset), fill, check (offset, len), munmap; writes to a read-only mapping fault', async () => {
    const o = await run(`
platform: ideal
processes:
  - name: p
    steps:
      - heap_alloc: { size: 8192, as: h }
      - mmap: { fd: h, length: 4096, prot: PROT_READ|PROT_WRITE, flags: MAP_SHARED, offset: 4096, as: hi }
      - fill: { map: hi, data: "abc", offset: 1 }
      - check: { in: hi, len: 4 }
        expect: { data: { hex: "00616263" } }
      - check: { in: h, offset: 4097, len: 3 }
        label: the same pages through the first mapping
        expect: { data: { text: "abc" } }
      - check: { in: h, len: 4096 }
        expect: { data: { fill: 0 } }
      - fill: { map: h, data: { fill: 255, len: 16 } }
      - check: { in: hi, offset: 4, len: 100 }
        expect: { data: { fill: 0 } }
      - check: { in: h, len: 16 }
        expect: { data: { fill: 255 } }
      - mmap: { fd: h, length: 16384, as: toobig }
        expect: { errno: EINVAL }
      - munmap: { map: hi }
        expect: { ret: 0 }
      - mmap: { fd: h, length: 4096, prot: PROT_READ, as: ro }
      - fill: { map: ro, data: x }
        label: a store into a PROT_READ mapping
      - sleep: 1s
expect:
  processes: { p: killed }
`);
    expect(failuresOf(o)).toEqual([]);
    const p = o.result.processes[0]!;
    expect(p.status).toBe('killed');
    expect(p.reason).toMatch(/^segmentation fault: write at 0x[0-9a-f]+$/);
    expect(o.result.time).toBe(0);
  });

  it('poll: ready fds with revents (name, A|B, list), a timeout as a duration, exact elapsed time', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - heap_alloc: { size: 4096, as: h }
      - poll: { fds: [{ fd: h, events: POLLIN|POLLOUT }], timeout: 0 }
        expect: { ret: 1, revents: { h: POLLIN|POLLOUT } }
      - poll: { fds: [{ fd: h, events: [POLLOUT] }] }
        expect: { ret: 1, revents: { h: [POLLOUT] }, maxNs: 0 }
      - buffer_fd: { device: sim-adc, as: buf }
      - poll: { fds: [{ fd: buf, events: POLLIN }, { fd: h, events: POLLIN }], timeout: 0 }
        expect: { ret: 1, revents: { buf: 0, h: POLLIN } }
      - poll: { fds: [{ fd: buf, events: POLLIN }], timeout: 5ms }
        label: nothing to read on a disabled buffer
        expect: { ret: 0, revents: { buf: 0 }, minNs: 5ms, maxNs: 5ms }
      - poll: { fds: [{ fd: buf, events: POLLIN }], timeout: 3 }
        label: an integer timeout is in milliseconds
        expect: { ret: 0, minNs: 3000000, maxNs: 3000000 }
`);
  });

  it('sleep and compute take exactly their virtual time (strings with units and integer ns)', async () => {
    const o = await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - sleep: 1ms
        expect: { ret: 0, minNs: 1ms, maxNs: 1ms }
      - sleep: 1500000
        expect: { minNs: 1.5ms, maxNs: 1500us }
      - compute: 250us
        expect: { ret: 0, minNs: 250000, maxNs: 250000ns }
      - sleep: 0.25s
        expect: { minNs: 250ms, maxNs: 250ms }
`);
    expect(o.result.processes[0]!.exitTime).toBe(252_750_000);
  });

  it('sysfs attr read (data.text) and write; enable_channels on and off; a missing attribute is -ENOENT', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - attr: { path: /sys/bus/iio/devices/iio:device0/buffer0/length }
        expect: { ret: 5, data: { text: "4096\\n" } }
      - attr: { path: /sys/bus/iio/devices/iio:device0/buffer0/length, write: 1024 }
        expect: { ret: 4 }
      - attr: { path: /sys/bus/iio/devices/iio:device0/buffer0/length }
        expect: { data: { text: "1024\\n" } }
      - enable_channels: { device: sim-adc, channels: [in_voltage2] }
        expect: { ret: 0 }
      - attr: { path: /sys/bus/iio/devices/iio:device0/buffer0/in_voltage2_en }
        expect: { data: { text: "1\\n" } }
      - enable_channels: { device: iio:device0, buffer: 0, channels: [in_voltage2], on: false }
      - attr: { path: /sys/bus/iio/devices/iio:device0/buffer0/in_voltage2_en }
        expect: { data: { text: "0\\n" } }
      - attr: { path: /sys/bus/iio/devices/iio:device0/buffer0/nonexistent }
        expect: { errno: ENOENT }
      - enable_channels: { device: sim-adc, channels: [in_bogus0] }
        expect: { errno: ENOENT }
`);
  });

  it('a read() capture: buffer_fd (chardev), enable_buffer, samples checked against the signal', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf, chardev: chr }
        expect: { ret: 0 }
      - fcntl: { fd: buf, cmd: F_GETFL }
        label: the buffer fd is O_RDWR (GETFD-7)
        expect: { ret: 2 }
      - read: { fd: buf, len: 64 }
        label: no enable yet, bytes per datum 0, EOF (BREAD-3)
        expect: { ret: 0 }
      - enable_buffer: { device: sim-adc, buffer: 0 }
        label: the return of the write of "1" to the enable attribute
        expect: { ret: 1 }
      - read: { fd: buf, len: 16384 }
        label: the first 2048-scan block completes after 2048 us, plus the 2 us IRQ latency
        expect:
          ret: 16384
          minNs: 2050us
          maxNs: 2050us
          data: { samples: { device: sim-adc, channels: ${ADC4} } }
      - read: { fd: buf, len: 800, into: more }
        expect: { ret: 800 }
      - check: { in: more }
        label: the sample cursor continues where the first read stopped
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4}, scans: 100 } } }
      - check: { in: more, len: 8 }
        label: scan 2048 of the ramp, channel c = ((2048 + 1024 c) mod 4096) - 2048
        expect: { data: { hex: "0000 0004 00f8 00fc" } }
      - enable_buffer: { device: sim-adc, on: false }
        expect: { ret: 1 }
      - close: buf
        expect: { ret: 0 }
      - close: chr
        expect: { ret: 0 }
`);
  });

  it('buffer_fd nonblock: true gives a non-blocking buffer fd (the chardev O_NONBLOCK is not inherited, GETFD-7)', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf, nonblock: true }
      - fcntl: { fd: buf, cmd: F_GETFL }
        expect: { ret: 2050 }
      - enable_buffer: { device: sim-adc }
      - read: { fd: buf, len: 64 }
        label: nothing captured yet, O_NONBLOCK (BREAD-4, BREAD-7)
        expect: { errno: EAGAIN, maxNs: 0 }
      - enable_buffer: { device: sim-adc, on: false }
`);
  });

  it('samples checked against a table with an unknown phase', async () => {
    await passes(`
platform: ideal
devices:
  - kind: adc
    name: tab-adc
    sampleRateHz: 1000000
    channels:
      - { id: voltage0, type: "le:s16/16>>0", signal: { kind: samples, values: [5, 6, 7], repeat: true } }
      - { id: voltage1, type: "le:s16/16>>0", signal: { kind: constant, value: -3 } }
processes:
  - name: p
    steps:
      - enable_channels: { device: tab-adc, channels: [in_voltage0, in_voltage1] }
      - buffer_fd: { device: tab-adc, as: tb }
      - enable_buffer: { device: tab-adc }
      - read: { fd: tb, len: 64 }
        expect:
          ret: 64
          data: { samples: { device: tab-adc, channels: [in_voltage0, in_voltage1], table: [[6, 7, 5], [-3]] } }
      - read: { fd: tb, len: 64, into: r }
        label: 16 scans later the phase is 16 mod 3 = 1
        expect: { data: { hex: "0600fdff0700fdff" } }
      - enable_buffer: { device: tab-adc, on: false }
`);
  });

  it('mainline DMABUF: heap_alloc, sync, attach, enqueue, poll, check samples, detach (twice: -EPERM)', async () => {
    await passes(`
abi: mainline
platform: ideal
processes:
  - name: p
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf }
      - heap_alloc: { size: 16384, as: blk, map: true }
        expect: { ret: 0 }
      - sync: { dmabuf: blk, phase: start, dir: read }
        expect: { ret: 0 }
      - attach: { buffer: buf, dmabuf: blk }
        expect: { ret: 0 }
      - attach: { buffer: buf, dmabuf: blk }
        label: attaching twice
        expect: { errno: EBUSY }
      - enable_buffer: { device: sim-adc }
      - sync: { dmabuf: blk, phase: end, dir: read }
        expect: { ret: 0 }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 0 }
        expect: { errno: EINVAL }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 16384, flags: IIO_BUFFER_DMABUF_CYCLIC }
        label: CYCLIC on an input buffer
        expect: { errno: EINVAL }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 16384 }
        expect: { ret: 0 }
      - poll: { fds: [{ fd: blk, events: POLLIN }], timeout: 100 }
        expect: { ret: 1, revents: { blk: POLLIN }, minNs: 2048us, maxNs: 2050us }
      - sync: { dmabuf: blk, phase: start, dir: rw }
        expect: { ret: 0 }
      - check: { in: blk }
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4} } } }
      - sync: { dmabuf: blk, phase: end, dir: rw }
      - enable_buffer: { device: sim-adc, on: false }
      - detach: { buffer: buf, dmabuf: blk }
        expect: { ret: 0 }
      - detach: { buffer: buf, dmabuf: blk }
        expect: { errno: EPERM }
`);
  });

  it('v2 DMABUF: iio_alloc, enqueue with bytes_used 0 (the whole block), poll, check samples', async () => {
    await passes(`
abi: v2
platform: ideal
processes:
  - name: p
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf }
      - iio_alloc: { buffer: buf, size: 16384, as: blk }
        expect: { ret: 0 }
      - enable_buffer: { device: sim-adc }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 0 }
        expect: { ret: 0 }
      - poll: { fds: [{ fd: blk, events: POLLIN }], timeout: 100 }
        expect: { ret: 1, revents: { blk: POLLIN } }
      - check: { in: blk, len: 16384 }
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4} } } }
      - ioctl: { fd: buf, request: 0x40046992, arg: { int: blk } }
        label: a mainline ATTACH on a v2 buffer fd returns 1
        expect: { ret: 1 }
      - heap_alloc: { size: 4096, as: h }
        label: the v2 kernel has a system heap too
        expect: { ret: 0 }
      - enable_buffer: { device: sim-adc, on: false }
`);
  });

  it('iio_alloc in the mainline profile is -EINVAL (the same nr as ATTACH, another size)', async () => {
    await passes(`
abi: mainline
platform: ideal
processes:
  - name: p
    steps:
      - buffer_fd: { device: sim-adc, as: buf }
      - iio_alloc: { buffer: buf, size: 4096, as: blk }
        expect: { errno: EINVAL }
`);
  });

  it('loop and foreach ($var in refs, as:, revents keys), nested', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - memfd_create: { name: m, as: mf }
      - loop:
          count: 3
          steps:
            - write: { fd: mf, data: ab }
              expect: { ret: 2 }
      - lseek: { fd: mf, offset: 0, whence: SEEK_CUR }
        expect: { ret: 6 }
      - foreach:
          var: f
          in: [x, y, z]
          steps:
            - memfd_create: { name: $f, as: $f }
              expect: { ret: fd }
            - loop:
                count: 2
                steps:
                  - write: { fd: $f, data: q }
                    expect: { ret: 1 }
      - foreach:
          var: g
          in: [x, y, z]
          steps:
            - lseek: { fd: $g, offset: 0, whence: SEEK_END }
              expect: { ret: 2 }
            - poll: { fds: [{ fd: $g, events: POLLIN }], timeout: 0 }
              expect: { ret: 1, revents: { $g: POLLIN } }
            - close: $g
              expect: { ret: 0 }
      - close: 5
        label: y was fd 5
        expect: { errno: EBADF }
`);
  });

  it('kill (by name, signal by name or number), sigaction: a handled signal interrupts nanosleep with -EINTR', async () => {
    const o = await run(`
platform: ideal
processes:
  - name: victim
    steps:
      - sigaction: { signal: SIGUSR1 }
        expect: { ret: 0 }
      - sleep: 10ms
        expect: { errno: EINTR, minNs: 1ms, maxNs: 1ms }
      - sigaction: { signal: SIGUSR2, restart: true }
        expect: { ret: 0 }
      - sleep: 10ms
        label: nanosleep is not restarted, even with SA_RESTART
        expect: { errno: EINTR, minNs: 1ms, maxNs: 1ms }
  - name: killer
    steps:
      - sleep: 1ms
      - kill: { process: victim, signal: SIGUSR1 }
        expect: { ret: 0 }
      - sleep: 1ms
      - kill: { process: victim, signal: 12 }
        expect: { ret: 0 }
      - kill: { process: sleeper }
        expect: { ret: 0 }
  - name: sleeper
    steps:
      - sleep: 1s
expect:
  processes: { victim: exited, killer: exited, sleeper: killed }
`);
    expect(failuresOf(o)).toEqual([]);
    const sleeper = o.result.processes.find((p) => p.name === 'sleeper')!;
    expect(sleeper.signal).toBe(9);
    expect(sleeper.exitTime).toBe(2_000_000);
  });

  it('startAt delays a process; compat: true runs a 32-bit process', async () => {
    const o = await passes(`
platform: ideal
processes:
  - name: late
    startAt: 2ms
    steps:
      - sleep: 1ms
  - name: ilp32
    compat: true
    steps:
      - heap_alloc: { size: 4096, as: h }
      - ioctl: { fd: h, request: DMA_BUF_SET_NAME_A, arg: { string: c32 } }
        expect: { ret: 0 }
`);
    expect(o.result.processes.find((p) => p.name === 'late')!.exitTime).toBe(3_000_000);
  });
});

describe('expectations that do not hold', () => {
  it('ret, errno, fd, revents, text, hex, fill, samples, minNs, maxNs each report expected and got', async () => {
    const cases: [string, string, string, string][] = [
      ['- open: { path: /dev/null }\n        expect: { ret: 4 }', 'steps[0] open', '4', '3'],
      ['- open: { path: /dev/null }\n        expect: { errno: ENOENT }', 'steps[0] open', '-ENOENT', '3'],
      ['- open: { path: /nope }\n        expect: { ret: fd }', 'steps[0] open', 'an fd (>= 0)', '-ENOENT'],
      ['- open: { path: /nope }\n        expect: { errno: EACCES }', 'steps[0] open', '-EACCES', '-ENOENT'],
      [
        '- heap_alloc: { size: 4096, as: h }\n      - poll: { fds: [{ fd: h, events: POLLIN|POLLOUT }], timeout: 0 }\n        expect: { revents: { h: POLLOUT } }',
        'steps[1] poll',
        'revents of h = POLLOUT',
        'POLLIN|POLLOUT',
      ],
      [
        '- attr: { path: /sys/bus/iio/devices/iio:device0/name }\n        expect: { data: { text: "sim-dac\\n" } }',
        'steps[0] attr',
        '"sim-dac\\n"',
        '"sim-adc\\n"',
      ],
      [
        '- heap_alloc: { size: 4096, as: h }\n      - check: { in: h }\n        expect: { data: { hex: "0001" } }',
        'steps[1] check',
        'bytes 0001',
        '0000',
      ],
      [
        '- heap_alloc: { size: 4096, as: h }\n      - fill: { map: h, data: "a", offset: 7 }\n      - check: { in: h }\n        expect: { data: { fill: 0 } }',
        'steps[2] check',
        'every byte 0',
        'byte 7 is 97',
      ],
      [
        '- heap_alloc: { size: 64, as: h }\n      - check: { in: h }\n        expect: { data: { samples: { device: sim-adc, channels: [in_voltage0] } } }',
        'steps[1] check',
        'scan 1 = [1] (sample 2049)',
        '[0]',
      ],
      [
        '- heap_alloc: { size: 64, as: h }\n      - check: { in: h }\n        expect: { data: { samples: { device: sim-adc, channels: [in_voltage0], table: [[1, 2, 3]] } } }',
        'steps[1] check',
        'samples of in_voltage0',
        'scan [0] matches no sample index',
      ],
      ['- sleep: 1ms\n        expect: { minNs: 2ms }', 'steps[0] sleep', 'at least 2ms', '1000000 ns'],
      ['- sleep: 1ms\n        expect: { maxNs: 999us }', 'steps[0] sleep', 'at most 999us', '1000000 ns'],
      [
        '- sleep: 1ms\n        label: a short nap\n        expect: { ret: 1 }',
        'steps[0] sleep (a short nap)',
        '1',
        '0',
      ],
    ];
    for (const [steps, step, expected, got] of cases) {
      const o = await run(`platform: ideal\nprocesses:\n  - name: p\n    steps:\n      ${steps}\n`);
      expect(failuresOf(o), steps).toEqual([{ process: 'p', step, expected, got }]);
    }
  });

  it('`expect: any` accepts a negative return', async () => {
    await passes(`
processes:
  - name: p
    steps:
      - open: { path: /nope }
        expect: any
`);
  });

  it('default rule: an unexpected negative return fails the step and stops the process there', async () => {
    const o = await run(`
platform: ideal
processes:
  - name: p
    steps:
      - sleep: 1ms
      - open: { path: /dev/nope, as: x }
      - sleep: 1s
`);
    expect(failuresOf(o)).toEqual([
      { process: 'p', step: 'steps[1] open', expected: 'success (>= 0)', got: '-ENOENT' },
    ]);
    expect(o.failures[0]!.time).toBe(1_000_000);
    expect(o.result.processes[0]!.status).toBe('exited');
    expect(o.result.time).toBe(1_000_000);
  });

  it("a loop's expect bounds the duration of all its iterations (minNs/maxNs), as lesson 13 states throughput", async () => {
    const text = (min: string, max: string) => `
platform: ideal
processes:
  - name: p
    steps:
      - loop:
          count: 4
          steps:
            - compute: 250us
        expect: { minNs: ${min}, maxNs: ${max} }
`;
    await passes(text('1ms', '1ms'));
    expect(failuresOf(await run(text('1ms', '999us')))).toEqual([
      { process: 'p', step: 'steps[0] loop', expected: 'at most 999us', got: '1000000 ns' },
    ]);
    expect(failuresOf(await run(text('1001us', '2ms')))).toEqual([
      { process: 'p', step: 'steps[0] loop', expected: 'at least 1001us', got: '1000000 ns' },
    ]);
  });

  it('a failure inside loop and foreach names the iteration', async () => {
    const loop = await run(`
platform: ideal
processes:
  - name: p
    steps:
      - memfd_create: { name: m, as: mf }
      - loop:
          count: 3
          steps:
            - write: { fd: mf, data: ab }
            - lseek: { fd: mf, offset: 0, whence: SEEK_CUR }
              label: position
              expect: { ret: 2 }
`);
    expect(failuresOf(loop)).toEqual([
      { process: 'p', step: 'steps[1] loop#1.steps[1] lseek (position)', expected: '2', got: '4' },
    ]);
    const foreach = await run(`
platform: ideal
processes:
  - name: p
    steps:
      - foreach: { var: f, in: [x, y], steps: [{ memfd_create: { name: $f, as: $f } }] }
      - foreach: { var: f, in: [x, y], steps: [{ close: $f, expect: { ret: 0 } }, { close: 4 }] }
`);
    expect(failuresOf(foreach)).toEqual([
      { process: 'p', step: 'steps[1] foreach{f=y}.steps[0] close', expected: '0', got: '-EBADF' },
    ]);
  });

  it('a name whose defining step failed (expect: any) is reported, not a crash', async () => {
    const o = await run(`
platform: ideal
processes:
  - name: p
    steps:
      - open: { path: /nope, as: x }
        expect: any
      - close: x
`);
    expect(failuresOf(o)).toEqual([
      {
        process: 'p',
        step: 'steps[1] close',
        expected: "an fd named 'x'",
        got: 'none (the step that opens it failed)',
      },
    ]);
  });
});

describe('faults', () => {
  const capture = (faults: string, pollExpect: string) => `
abi: mainline
platform: ideal
faults:
${faults}
processes:
  - name: p
    steps:
      - enable_channels: { device: sim-adc, channels: [in_voltage0, in_voltage1] }
      - buffer_fd: { device: sim-adc, as: buf }
      - heap_alloc: { size: 4096, as: blk }
      - attach: { buffer: buf, dmabuf: blk }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 4096 }
      - enable_buffer: { device: sim-adc }
      - poll: { fds: [{ fd: blk, events: POLLIN }], timeout: 100 }
        expect: { ret: 1, revents: { blk: POLLIN }, ${pollExpect} }
      - check: { in: blk }
        expect: { data: { samples: { device: sim-adc, channels: [in_voltage0, in_voltage1] } } }
      - enable_buffer: { device: sim-adc, on: false }
`;

  it('without faults a 1024-scan block completes after 1024 us plus the 2 us IRQ latency', async () => {
    const o = await passes(capture('  []', 'minNs: 1026us, maxNs: 1026us'));
    expect(o.result.stats.devices['sim-adc']!.dmaErrors).toBe(0);
  });

  it('dmaError: the controller fails the transfer, the fence still signals (DMAQ-6)', async () => {
    const o = await passes(
      capture('  - at: 500us\n    dmaError: { device: sim-adc }', 'minNs: 1026us, maxNs: 1026us'),
    );
    expect(o.result.stats.devices['sim-adc']!.dmaErrors).toBe(1);
  });

  it('lateIrq delays the completion by `by`', async () => {
    await passes(
      capture('  - at: 500us\n    lateIrq: { device: sim-adc, by: 500us }', 'minNs: 1526us, maxNs: 1526us'),
    );
  });

  it('kill: the process is killed at the given time', async () => {
    const o = await run(`
platform: ideal
faults:
  - at: 1500us
    kill: { process: victim }
  - at: 1ms
    kill: { process: other, signal: SIGTERM }
processes:
  - name: victim
    steps:
      - sleep: 1s
  - name: other
    steps:
      - sleep: 1s
expect:
  processes: { victim: killed, other: killed }
`);
    expect(failuresOf(o)).toEqual([]);
    const [victim, other] = o.result.processes;
    expect([victim!.signal, victim!.exitTime]).toEqual([9, 1_500_000]);
    expect([other!.signal, other!.exitTime]).toEqual([15, 1_000_000]);
  });

  it('kernelFault: arms a fault-injection site at its time: the 2nd ENQUEUE from then fails its fence allocation (ENQ-8), the others run', async () => {
    const o = await passes(`
abi: mainline
platform: ideal
faults:
  - at: 1ms
    kernelFault: { site: iio_dma_fence_alloc, nth: 2 }
  - at: 1ms
    kernelFault: { site: dma_buf_attach, errno: EOPNOTSUPP, times: 1 }
processes:
  - name: p
    steps:
      - enable_channels: { device: sim-dac, channels: [out_voltage0, out_voltage1] }
      - buffer_fd: { device: sim-dac, as: buf }
      - heap_alloc: { size: 4096, as: blk }
      - sleep: 2ms
      - attach: { buffer: buf, dmabuf: blk }
        expect: { errno: EOPNOTSUPP }
      - attach: { buffer: buf, dmabuf: blk }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 4096 }
      - enable_buffer: { device: sim-dac }
      - poll: { fds: [{ fd: blk, events: POLLOUT }], timeout: 100 }
        expect: { ret: 1 }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 4096 }
        expect: { errno: ENOMEM }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 4096 }
      - poll: { fds: [{ fd: blk, events: POLLOUT }], timeout: 100 }
        expect: { ret: 1 }
      - enable_buffer: { device: sim-dac, on: false }
`);
    expect(o.result.stats.devices['sim-dac']!.transfers).toBe(2);
  });

  it('removeDevice: later syscalls on its fds get -ENODEV and its sysfs files are gone', async () => {
    await passes(`
platform: ideal
faults:
  - at: 2ms
    removeDevice: { device: sim-adc }
processes:
  - name: p
    steps:
      - buffer_fd: { device: sim-adc, as: buf, chardev: chr }
      - read: { fd: buf, len: 64 }
        expect: { ret: 0 }
      - sleep: 3ms
      - read: { fd: buf, len: 64 }
        expect: { errno: ENODEV }
      - ioctl: { fd: chr, request: IIO_BUFFER_GET_FD_IOCTL, arg: { int: 0 } }
        expect: { errno: ENODEV }
      - attr: { path: /sys/bus/iio/devices/iio:device0/buffer0/enable, write: 1 }
        expect: { errno: ENOENT }
      - close: buf
        expect: { ret: 0 }
`);
  });
});

describe('run-level expectations', () => {
  it('processes: a status other than the expected one is a failure at the end of the run', async () => {
    const o = await run(`
platform: ideal
processes:
  - name: p
    steps:
      - sleep: 1ms
expect:
  processes: { p: killed }
`);
    expect(failuresOf(o)).toEqual([
      { process: 'p', step: 'end of run', expected: 'killed', got: 'exited (returned)' },
    ]);
  });

  it('a process still running at `until` fails unless expected to be running', async () => {
    const text = (expectRunning: boolean) => `
platform: ideal
until: 5ms
processes:
  - name: p
    steps:
      - sleep: 1s
${expectRunning ? 'expect:\n  processes: { p: running }\n' : ''}`;
    const bad = await run(text(false));
    expect(failuresOf(bad)).toEqual([
      {
        process: 'p',
        step: 'end of run',
        expected: 'exited',
        got: `running (${bad.result.processes[0]!.reason})`,
      },
    ]);
    expect(bad.result.time).toBe(5_000_000);
    const good = await run(text(true));
    expect(failuresOf(good)).toEqual([]);
  });

  it('lost: scans lost to overflow, exactly (10 ms at 1 MHz minus the two 2048-scan blocks = 5904)', async () => {
    const text = (lost: number) => `
platform: ideal
processes:
  - name: lazy
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf }
      - enable_buffer: { device: sim-adc }
      - sleep: 10ms
      - enable_buffer: { device: sim-adc, on: false }
expect:
  lost: { sim-adc: ${lost} }
`;
    expect(failuresOf(await run(text(5904)))).toEqual([]);
    expect(failuresOf(await run(text(0)))).toEqual([
      { process: '-', step: 'lost scans of sim-adc', expected: '0', got: '5904' },
    ]);
  });

  it('blockedReason: a blocked process waits for what the reason names', async () => {
    const text = (reason: string) => `
abi: mainline
platform: ideal
until: 20ms
processes:
  - name: stuck
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf }
      - heap_alloc: { size: 16384, as: blk }
      - attach: { buffer: buf, dmabuf: blk }
      - enable_buffer: { device: sim-adc }
      - enqueue: { buffer: buf, dmabuf: blk, bytes_used: 16384 }
      - poll: { fds: [{ fd: buf, events: POLLIN }], timeout: -1 }
expect:
  processes: { stuck: blocked }
  blockedReason: { stuck: "${reason}" }
`;
    const good = await run(text('below the watermark 2048'));
    expect(failuresOf(good)).toEqual([]);
    expect(good.result.processes[0]!.blockedIn!.syscall).toBe('poll');
    const bad = await run(text('waiting for godot'));
    expect(failuresOf(bad)).toEqual([
      {
        process: 'stuck',
        step: 'blocked reason',
        expected: '…waiting for godot…',
        got: good.result.processes[0]!.blockedIn!.reason,
      },
    ]);
    expect(bad.result.processes[0]!.blockedIn!.reason).toContain('below the watermark 2048');
  });

  it('liveObjects: kernel objects alive at the end, by kind, exactly', async () => {
    const text = (live: string) => `
platform: ideal
until: 10ms
processes:
  - name: holder
    steps:
      - heap_alloc: { size: 4096, as: h }
      - sleep: 1s
  - name: tidy
    steps:
      - heap_alloc: { size: 4096, as: h }
      - close: h
expect:
  processes: { holder: running }
  liveObjects: ${live}
`;
    // holder: fds 0-2 (/dev/null), the heap and the DMABUF; tidy exited, so its files were all released.
    expect(failuresOf(await run(text('{ file: 5 }')))).toEqual([]);
    expect(failuresOf(await run(text('{}')))).toEqual([
      { process: '-', step: 'live kernel objects', expected: '{}', got: '{"file":5}' },
    ]);
  });

  it('liveObjects {} holds when everything was released', async () => {
    await passes(`
platform: ideal
processes:
  - name: p
    steps:
      - heap_alloc: { size: 4096, as: h }
      - buffer_fd: { device: sim-adc, as: buf }
      - attach: { buffer: buf, dmabuf: h }
expect:
  liveObjects: {}
`);
  });
});

describe('determinism', () => {
  it('the same scenario and seed give the same outcome, with seeded jitter', async () => {
    const text = `
seed: 7
platform: { base: zcu102, wakeJitterNs: 50000 }
processes:
  - name: a
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf }
      - enable_buffer: { device: sim-adc }
      - loop: { count: 5, steps: [{ read: { fd: buf, len: 4096 } }, { compute: 100us }] }
      - enable_buffer: { device: sim-adc, on: false }
  - name: b
    steps:
      - loop: { count: 20, steps: [{ sleep: 250us }] }
`;
    const strip = (o: ScenarioOutcome) =>
      JSON.stringify({
        failures: o.failures,
        time: o.result.time,
        stats: o.result.stats,
        live: o.result.liveObjects,
        processes: o.result.processes.map(({ error: _e, ...p }) => p),
      });
    const first = strip(await run(text));
    expect(strip(await run(text))).toBe(first);
    expect(JSON.parse(first).failures).toEqual([]);
  });
});
