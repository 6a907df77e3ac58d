/**
 * Each rule of the strace and ftrace formats our logs follow, held against a line written by hand from the real
 * tools' documented output: strace 6.1 (`strace -f --timestamps=unix,ns -T`, checked against strace 6.1 on
 * x86_64) and the kernel's trace file (`trace_print_context()`, `trace_print_lat_fmt()`, `ns2usecs()` in
 * kernel/trace). docs/traces.md explains the choices.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { createSimulator, O_RDONLY, O_RDWR } from '../../src/index.ts';
import type { Task } from '../../src/kernel/task.ts';
import { type FenceTrace, formatFtrace, ns2usecs, traceFences } from '../../src/trace/ftrace.ts';
import { recordTrace } from '../../src/trace/recorder.ts';
import {
  formatDuration,
  formatTime,
  Strace,
  type StraceOptions,
  withResult,
} from '../../src/trace/strace.ts';
import { DMA_BUF_SYNC_READ } from '../../src/uapi/dma-buf.ts';
import { SIGKILL, SIGUSR1 } from '../../src/uapi/signal.ts';
import { allocHeapDmabuf, attachDmabuf, enqueueDmabuf, syncDmabuf } from '../../src/user/dmabuf.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../src/user/iio.ts';

/** The strace log of a DMABUF capture: a sysfs read to EOF, a bad flag, an ENQUEUE, a SYNC START that blocks. */
async function dmabufCapture(options: StraceOptions): Promise<string[]> {
  const sim = createSimulator({ platform: 'ideal' });
  const rec = recordTrace(sim.events, sim.abi, options);
  // As `iio-sim run` does: the fence lines interleaved, except in strace-6.1 mode (strace's log only).
  if (!options.compat) traceFences(sim.events, (l) => rec.lines.push(l));
  sim.spawn('app', async (sys) => {
    const len = await sys.open('/sys/bus/iio/devices/iio:device0/buffer0/length', O_RDONLY);
    const a = sys.mem.alloc(64);
    await sys.read(len, a, 64);
    await sys.read(len, a, 64);
    await sys.close(len);
    await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3']);
    const b = await openBuffer(sys, 0);
    if (typeof b === 'number') return b;
    const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
    const d = await allocHeapDmabuf(sys, heap, 4096);
    if (typeof d === 'number') return d;
    await attachDmabuf(sys, b.fd, d.fd);
    await setBufferEnabled(sys, 0, true);
    await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096, 0x2);
    await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096, 0x3);
    await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096);
    await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ);
    return 0;
  });
  await sim.run();
  rec.detach();
  return rec.lines;
}

/** Two processes: `a` handles SIGUSR1 in pause(), then dies of SIGKILL in a long sleep; `b` sends both. */
async function signals(): Promise<string[]> {
  const sim = createSimulator({ platform: 'ideal' });
  const lines: string[] = [];
  new Strace(sim.events, sim.abi, (l) => lines.push(l), { pids: true });
  const a = sim.spawn('a', async (sys) => {
    await sys.sigaction(SIGUSR1, { restart: false });
    await sys.pause();
    await sys.nanosleep(1_000_000_000);
    return 0;
  });
  sim.spawn('b', async (sys) => {
    await sys.nanosleep(1_000_000);
    await sys.kill(a, SIGUSR1);
    await sys.nanosleep(1_000_000);
    await sys.kill(a, SIGKILL);
    return 0;
  });
  await sim.run();
  return lines;
}

describe('strace format (strace 6.1)', () => {
  it('` = result` starts at column 40, the prefix included; a longer line gets one space (tabto)', async () => {
    // Rule: result column. strace: `tprints(") "); tabto();` with acolumn 40.
    const lines = await dmabufCapture({});
    expect(lines).toContain('0.000000000 close(3)                    = 0');
    expect(lines).toContain('0.000000000 write(3, "1", 1)            = 1');
    expect(lines).toContain('0.000000000 ioctl(3, IIO_BUFFER_GET_FD_IOCTL, [0 => 4]) = 0');
    expect(withResult('exit_group(0)', '= ?')).toBe('exit_group(0)                           = ?');
    expect(withResult('[pid  2951] 1796630771.171363 close(5)', '= 0')).toBe(
      '[pid  2951] 1796630771.171363 close(5)  = 0',
    );
  });

  it('timestamps are --timestamps=unix,ns (seconds, 9 digits); -T durations have 6 digits, truncated', async () => {
    // Rule: one documented timestamp option: `--timestamps=unix,ns` prints `%lld.%09ld`; `-T` prints `<%ld.%06ld>`.
    expect(formatTime(2_050_000)).toBe('0.002050000');
    expect(formatTime(4021_118_230_999)).toBe('4021.118230999');
    expect(formatDuration(20_999)).toBe('0.000020');
    expect(formatDuration(1_500_000_000)).toBe('1.500000');
    const lines = await dmabufCapture({ durations: true });
    expect(lines).toContain('0.000514000 <... ioctl resumed>)        = 0 <0.000514>');
  });

  it('unfinished and resumed: `read(5,  <unfinished ...>` keeps the `, `; the _IOW input struct comes first', async () => {
    // Rule: what strace printed at entry stays on the unfinished line; the resumed line starts with what follows.
    const lines = await dmabufCapture({});
    expect(lines).toContain(
      '0.000000000 ioctl(6, DMA_BUF_IOCTL_SYNC, {flags=DMA_BUF_SYNC_START|DMA_BUF_SYNC_READ} <unfinished ...>',
    );
    expect(lines).toContain('0.000514000 <... ioctl resumed>)        = 0');
    const sig = await signals();
    expect(sig).toContain(
      '[pid   100] 0.001000000 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0},  <unfinished ...>',
    );
    const out: string[] = [];
    await main(['run', 'scenarios/01-first-capture-read.yaml'], { out: (l) => out.push(l), err: () => {} });
    const at = out.indexOf('0.000021015 read(4,  <unfinished ...>');
    expect(at).toBeGreaterThan(0);
    expect(out.slice(at + 1).find((l) => l.includes('resumed'))).toBe(
      '0.002221141 <... read resumed>"\\0\\370\\0\\374\\0\\0\\0\\4\\1\\370\\1\\374\\1\\0\\1\\4\\2\\370\\2\\374\\2\\0\\2\\4\\3\\370\\3\\374\\3\\0\\3\\4"..., 16384) = 16384',
    );
  });

  it('read at end of file prints "" and not the buffer address', async () => {
    // Rule: strace prints the bytes read, `""` for 0; the address only when the call failed.
    const lines = await dmabufCapture({});
    expect(lines.slice(1, 3)).toEqual([
      '0.000000000 read(3, "4096\\n", 64)       = 5',
      '0.000000000 read(3, "", 64)             = 0',
    ]);
  });

  it('SIGKILL: no signal line, `<... X resumed> <unfinished ...>) = ?`, then `+++ killed by SIGKILL +++`', async () => {
    // Rule: SIGKILL has no signal-delivery-stop; strace sees the death after the sender's kill() returned.
    const sig = await signals();
    const at = sig.indexOf('[pid   101] 0.002000000 kill(100, SIGKILL) = 0');
    expect(at).toBeGreaterThan(0);
    expect(sig.slice(at + 1, at + 3)).toEqual([
      '[pid   100] 0.002000000 <... clock_nanosleep resumed> <unfinished ...>) = ?',
      '[pid   100] 0.002000000 +++ killed by SIGKILL +++',
    ]);
    expect(sig.some((l) => l.includes('--- SIGKILL'))).toBe(false);
  });

  it('a signal line carries si_code, si_pid, si_uid; the interrupted call ends = ? ERESTART..., then rt_sigreturn', async () => {
    // Rule: `--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=N, si_uid=0} ---` (printsiginfo).
    const sig = await signals();
    const at = sig.indexOf('[pid   101] 0.001000000 kill(100, SIGUSR1) = 0');
    expect(sig.slice(at + 1, at + 4)).toEqual([
      '[pid   100] 0.001000000 <... pause resumed>) = ? ERESTARTNOHAND (To be restarted if no handler)',
      '[pid   100] 0.001000000 --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=101, si_uid=0} ---',
      '[pid   100] 0.001000000 rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)',
    ]);
  });

  it('a program that returns calls exit_group(N) = ?, printed before the kernel closes its files', async () => {
    // Rule: exit_group is printed at entry and never returns.
    const sig = await signals();
    expect(sig.slice(-2)).toEqual([
      '[pid   101] 0.002000000 exit_group(0)   = ?',
      '[pid   101] 0.002000000 +++ exited with 0 +++',
    ]);
    const lines = await dmabufCapture({});
    const exit = lines.indexOf('0.000514000 exit_group(0)               = ?');
    expect(lines[exit + 1]).toMatch(/dma_fence_destroy/);
  });

  it("glibc's nanosleep() is clock_nanosleep(CLOCK_REALTIME, 0, ...)", async () => {
    // Rule: glibc >= 2.31 implements nanosleep with clock_nanosleep; the remaining-time pointer is shown at exit.
    const sig = await signals();
    expect(sig).toContain(
      '[pid   101] 0.000000000 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000000}, NULL) = 0',
    );
  });

  it('an ILP32 process is announced `[ Process PID=N runs in 32 bit mode. ]` and maps with mmap2', async () => {
    // Rule: strace's personality notice (X86_64 names "64 bit", "32 bit", "x32"); i386 has mmap2, offset shown in bytes.
    const sim = createSimulator({ platform: 'ideal' });
    const lines: string[] = [];
    new Strace(sim.events, sim.abi, (l) => lines.push(l), { timestamps: false });
    sim.spawn(
      'app32',
      async (sys) => {
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        await allocHeapDmabuf(sys, heap, 4096);
        return 0;
      },
      { compat: true },
    );
    await sim.run();
    expect(lines[0]).toBe('[ Process PID=100 runs in 32 bit mode. ]');
    expect(lines).toContain('mmap2(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 4, 0) = 0xf7ffe000');
  });

  it('flag bits without a name print as 0x2 /* IIO_BUFFER_DMABUF_??? */, or after the known ones as |0x2', async () => {
    // Rule: printflags: unknown bits alone are hex with the `PREFIX_???` comment; after known names, `|0x...`.
    const lines = await dmabufCapture({ timestamps: false });
    expect(lines).toContain(
      'ioctl(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {fd=6, flags=0x2 /* IIO_BUFFER_DMABUF_??? */, bytes_used=4096}) = -1 EINVAL (Invalid argument)',
    );
    expect(lines).toContain(
      'ioctl(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {fd=6, flags=IIO_BUFFER_DMABUF_CYCLIC|0x2, bytes_used=4096}) = -1 EINVAL (Invalid argument)',
    );
  });

  it("compat 'strace-6.1' prints exactly what strace 6.1 prints: names it knows, addresses for every struct", async () => {
    // Rule: strace 6.1 knows IIO_BUFFER_GET_FD_IOCTL and the dma-buf/heap names but decodes none of their
    // arguments, and has no name for the IIO DMABUF ioctls (_IOC(...)); one process never shows <unfinished ...>.
    // The helpers place every argument in the process's one argument block: the same address each time.
    const lines = await dmabufCapture({ compat: 'strace-6.1' });
    expect(lines.filter((l) => l.includes('ioctl('))).toEqual([
      '0.000000000 ioctl(3, IIO_BUFFER_GET_FD_IOCTL, 0x555555559000) = 0',
      '0.000000000 ioctl(5, DMA_HEAP_IOCTL_ALLOC, 0x555555559000) = 0',
      '0.000000000 ioctl(4, _IOC(_IOC_WRITE, 0x69, 0x92, 0x4), 0x555555559000) = 0',
      '0.000000000 ioctl(4, _IOC(_IOC_WRITE, 0x69, 0x94, 0x10), 0x555555559000) = -1 EINVAL (Invalid argument)',
      '0.000000000 ioctl(4, _IOC(_IOC_WRITE, 0x69, 0x94, 0x10), 0x555555559000) = -1 EINVAL (Invalid argument)',
      '0.000000000 ioctl(4, _IOC(_IOC_WRITE, 0x69, 0x94, 0x10), 0x555555559000) = 0',
      '0.000000000 ioctl(6, DMA_BUF_IOCTL_SYNC, 0x555555559000) = 0',
    ]);
    expect(lines.some((l) => l.includes('[hw]') || l.includes('[kernel]'))).toBe(false);
  });

  it('iio-sim run --strace-compat prints the strace 6.1 log: _IOC(...) and addresses, no notes, no fence lines', async () => {
    // Rule: the run option of the compat mode; the header and the summary of `run` stay.
    const out: string[] = [];
    const code = await main(['run', '--strace-compat', 'scenarios/06-mainline-bytes-used-and-flags.yaml'], {
      out: (l) => out.push(l),
      err: () => {},
    });
    expect(code).toBe(0);
    expect(out).toContain(
      '0.000000000 ioctl(4, _IOC(_IOC_WRITE, 0x69, 0x94, 0x10), 0x555555558000) = -1 EINVAL (Invalid argument)',
    );
    expect(out.some((l) => /dma_fence_|\[hw\]|\[kernel\]|<unfinished/.test(l))).toBe(false);
  });
});

/** A fence event in the context of `task` (null: no task). */
function fenceEvent(
  event: FenceTrace['event'],
  time: number,
  task: Pick<Task, 'comm' | 'pid' | 'cpu'> | null,
  bh: FenceTrace['bh'] = null,
): FenceTrace {
  return {
    event,
    driver: 'iio',
    timeline: 'iio',
    context: 57,
    seqno: 3,
    task: task as Task | null,
    bh,
    time,
  };
}

describe('ftrace format (/sys/kernel/tracing/trace, Linux 7.3)', () => {
  const rwdev = { comm: 'iio_rwdev', pid: 812, cpu: 1 };

  it('the prefix is `%16s-%-7d [%03d] %s %5lu.%06lu: `: comm right in 16, pid left in 7, the CPU of the task', () => {
    // Rule: trace_print_context() and the irq-info column of trace_print_lat_fmt().
    expect(formatFtrace(fenceEvent('dma_fence_init', 4021_118_230_000, rwdev))).toBe(
      '       iio_rwdev-812     [001] .....  4021.118230: dma_fence_init: driver=iio timeline=iio context=57 seqno=3',
    );
  });

  it('timestamps are rounded to the µs as ns2usecs() does, not truncated', () => {
    // Rule: ns2usecs(): (nsec + 500) / 1000.
    expect(ns2usecs(1_999_499)).toBe(1999);
    expect(ns2usecs(1_999_500)).toBe(2000);
    expect(formatFtrace(fenceEvent('dma_fence_init', 4021_118_230_500, rwdev))).toBe(
      '       iio_rwdev-812     [001] .....  4021.118231: dma_fence_init: driver=iio timeline=iio context=57 seqno=3',
    );
  });

  it('a dmaengine (virt-dma) completion signals in a tasklet: softirq flag s, irqs off and depth 1 under the fence lock', () => {
    // Rule: vchan_complete() runs the callback from a tasklet; dma_fence_signal() holds fence->lock (irqsave).
    expect(formatFtrace(fenceEvent('dma_fence_signaled', 4021_120_011_000, null, 'softirq'))).toBe(
      '          <idle>-0       [000] d.s1.  4021.120011: dma_fence_signaled: driver=iio timeline=iio context=57 seqno=3',
    );
    expect(formatFtrace(fenceEvent('dma_fence_signaled', 4021_120_011_000, null, null))).toBe(
      '          <idle>-0       [000] d.h1.  4021.120011: dma_fence_signaled: driver=iio timeline=iio context=57 seqno=3',
    );
  });

  it('in a run, each process traces on its own CPU and the completion comes from the tasklet on CPU 0', async () => {
    const sim = createSimulator({ platform: 'ideal' });
    const rec = recordTrace(sim.events, sim.abi, { timestamps: false });
    sim.spawn('other', async (sys) => sys.getpid());
    sim.spawn('capture', async (sys) => {
      await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3']);
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') return b;
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const d = await allocHeapDmabuf(sys, heap, 4096);
      if (typeof d === 'number') return d;
      await attachDmabuf(sys, b.fd, d.fd);
      await setBufferEnabled(sys, 0, true);
      await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 4096);
      await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ);
      return 0;
    });
    await sim.run();
    const lines = rec.events.flatMap((e) => (e.kind === 'fence' ? e.lines : []));
    expect(lines.slice(0, 4)).toEqual([
      '         capture-101     [002] .....     0.000000: dma_fence_init: driver=iio timeline=iio context=1 seqno=1',
      '         capture-101     [002] .....     0.000000: dma_fence_wait_start: driver=iio timeline=iio context=1 seqno=1',
      '          <idle>-0       [000] d.s1.     0.000514: dma_fence_signaled: driver=iio timeline=iio context=1 seqno=1',
      '         capture-101     [002] .....     0.000514: dma_fence_wait_end: driver=detached-driver timeline=signaled-timeline context=1 seqno=1',
    ]);
  });
});
