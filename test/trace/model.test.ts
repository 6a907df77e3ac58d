import { describe, expect, it } from 'vitest';
import { buildModel, shortRequest, type TimelineModel } from '../../src/trace/model.ts';
import { runLesson } from './lessons.ts';

async function lessonModel(file: string): Promise<TimelineModel> {
  const run = await runLesson(file);
  return buildModel(run.events, { end: run.result.time });
}

/** The kinds along a chain, without the block phases that join it for highlighting. */
const kindsOf = (m: TimelineModel, c: TimelineModel['chains'][number]) =>
  c.items.map((i) => m.items[i]!.kind).filter((k) => k !== 'block');

describe('timeline model', () => {
  it('names ioctl slices by their request, shortened for the label', () => {
    expect(shortRequest('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL')).toBe('ENQUEUE');
    expect(shortRequest('IIO_BUFFER_GET_FD_IOCTL')).toBe('GET_FD');
    expect(shortRequest('DMA_BUF_IOCTL_SYNC')).toBe('SYNC');
    expect(shortRequest('DMA_HEAP_IOCTL_ALLOC')).toBe('HEAP_ALLOC');
    expect(shortRequest('UDMABUF_CREATE')).toBe('UDMABUF_CREATE');
  });

  it('lesson 02: lanes for the process, the DMA channel, lost data, the block queue, fences and the kernel', async () => {
    const m = await lessonModel('02-four-dmabufs.yaml');
    expect(m.lanes.map((l) => l.id)).toEqual([
      'proc:100',
      'dma:sim-adc-dma',
      'lost:sim-adc-dma',
      'blocks:iio:device0',
      'fences',
      'kernel',
    ]);
    expect(m.lanes[3]!.rows).toEqual([
      'block 1 (DMABUF 1)',
      'block 2 (DMABUF 2)',
      'block 3 (DMABUF 3)',
      'block 4 (DMABUF 4)',
    ]);
    const syscalls = m.items.filter((i) => i.kind === 'syscall');
    expect(syscalls.filter((i) => i.title === 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL')).toHaveLength(20);
    expect(syscalls.filter((i) => i.title === 'DMA_BUF_IOCTL_SYNC (START)')).toHaveLength(20);
    expect(syscalls.filter((i) => i.title === 'DMA_BUF_IOCTL_SYNC (END)')).toHaveLength(20);
    const enq = syscalls.find((i) => i.name === 'ENQUEUE')!;
    expect(enq.lines).toEqual([
      'ioctl(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {fd=6, flags=0, bytes_used=32768}) = 0',
      '         capture-100     [001] .....     0.000057: dma_fence_init: driver=iio timeline=iio context=1 seqno=1',
    ]);
    expect(enq.args).toMatchObject({ syscall: 'ioctl', request: 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', ret: 0 });
  });

  it('lesson 02: every block the DMA completed is a chain ENQUEUE -> transfer -> IRQ -> fence -> wake-up of the poll', async () => {
    const m = await lessonModel('02-four-dmabufs.yaml');
    const full = m.chains.filter((c) => kindsOf(m, c).join() === 'syscall,transfer,irq,fence,wakeup');
    expect(full).toHaveLength(16);
    const first = full[0]!;
    expect(first.links.map((l) => [l.fromTime, l.toTime])).toEqual([
      [57265, 57265],
      [4153162, 4155162],
      [4155162, 4155162],
      [4155162, 4155162],
    ]);
    const phases = first.items.map((i) => m.items[i]!).filter((i) => i.kind === 'block');
    expect(phases.map((p) => [p.name, p.start, p.end])).toEqual([
      ['DMA', 57265, 4153162],
      ['IRQ', 4153162, 4155162],
    ]);
    const fence = first.items.map((i) => m.items[i]!).find((i) => i.kind === 'fence')!;
    expect(fence.name).toBe('fence 1:1');
    expect(fence.args.status).toBe('signalled with 0');
    expect(fence.lines[0]).toBe(
      '         capture-100     [001] .....     0.000057: dma_fence_init: driver=iio timeline=iio context=1 seqno=1',
    );
    const wake = first.items.map((i) => m.items[i]!).find((i) => i.kind === 'wakeup')!;
    expect(m.items[wake.parent!]!.name).toBe('poll');
    // The last ENQUEUE of each block is taken back by the disable: its fence signals -EINTR.
    const aborted = m.items.filter((i) => i.kind === 'fence' && i.args.status === 'signalled with -EINTR');
    expect(aborted.map((f) => f.name)).toEqual(['fence 1:5', 'fence 2:5', 'fence 3:5', 'fence 4:5']);
  });

  it('lesson 02: the lost-scans counter steps at each overflow', async () => {
    const m = await lessonModel('02-four-dmabufs.yaml');
    expect(m.counters).toHaveLength(1);
    expect(m.counters[0]!.name).toBe('overflow scans');
    expect(m.counters[0]!.points[1]).toEqual([57265, 7]);
  });

  it('lesson 09: the poll on the buffer fd is blocked to the end of the run', async () => {
    const run = await runLesson('09-watermark-never-wakes.yaml');
    const m = buildModel(run.events, { end: run.result.time });
    const poll = m.items.filter((i) => i.kind === 'syscall').at(-1)!;
    expect(poll.name).toBe('poll');
    expect(poll.style).toBe('sys sys-poll sys-blocked');
    expect(poll.end).toBe(run.result.time);
    expect(poll.args.outcome).toBe('still blocked at the end of the run');
    expect(poll.lines).toEqual(['poll([{fd=4, events=POLLIN}], 1, -1 <unfinished ...>']);
    const sleeps = m.items.filter((i) => i.parent === m.items.indexOf(poll) && i.kind === 'sleep');
    expect(sleeps.at(-1)!.style).toBe('sleep sleep-forever');
    expect(sleeps.at(-1)!.end).toBe(run.result.time);
    expect(m.lanes.at(-1)!.id).toBe('check');
  });

  it('lesson 08: the nanosleep the victim was killed in ends at the kill, = ? as strace shows it', async () => {
    const m = await lessonModel('08-closing-in-flight.yaml');
    const sleep = m.items.find((i) => i.kind === 'syscall' && i.name === 'nanosleep')!;
    expect(sleep.style).toBe('sys sys-sleep sys-killed');
    expect(sleep.end).toBe(1_000_000);
    expect(sleep.lines).toEqual([
      'clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0},  <unfinished ...>) = ?',
    ]);
    const exit = m.items.find((i) => i.kind === 'exit' && i.lane === sleep.lane)!;
    expect([exit.start, exit.title, exit.lines[0]]).toEqual([
      1_000_000,
      'killed by SIGKILL',
      '+++ killed by SIGKILL +++',
    ]);
    expect(m.items.some((i) => i.kind === 'signal' && i.name === 'SIGKILL')).toBe(true);
    // The transfers still complete and their fences signal: chains without a wake-up.
    expect(m.chains.map((c) => kindsOf(m, c).join())).toEqual([
      'syscall,transfer,irq,fence',
      'syscall,transfer,irq,fence',
    ]);
  });

  it('lesson 11: the failed transfer, the ignored error and the fence that signalled 0 anyway', async () => {
    const m = await lessonModel('11-dma-error.yaml');
    const failed = m.items.filter((i) => i.kind === 'transfer' && i.style.includes('xfer-error'));
    expect(failed.map((t) => t.lines[1])).toEqual([
      '[hw] sim-adc-dma: transfer 2 FAILED (residue 0), irq after 2000 ns',
    ]);
    const chain = m.chains.find((c) => c.items.includes(m.items.indexOf(failed[0]!)))!;
    const fence = chain.items.map((i) => m.items[i]!).find((i) => i.kind === 'fence')!;
    expect(fence.title).toBe('fence 2:1 (iio/iio): signalled with 0, although the DMA transfer failed');
    expect(fence.style).toBe('fence fence-masked');
    expect(fence.args.error).toBe(0);
    const ignored = m.items.filter((i) => i.kind === 'kernel' && i.name === 'dma-error-ignored');
    expect(ignored.map((i) => i.lines[0])).toEqual([
      '[kernel] iio:device0: block 2 completed with a controller error; industrialio-buffer-dma ignores it (DMAQ-6)',
    ]);
  });

  it('lesson 01: read() wakes from the transfer completion, without a fence', async () => {
    const m = await lessonModel('01-first-capture-read.yaml');
    expect(m.chains.length).toBeGreaterThan(0);
    for (const c of m.chains) expect(kindsOf(m, c)).toEqual(['transfer', 'irq', 'wakeup']);
    expect(m.items[m.items[m.chains[0]!.items[2]!]!.parent!]!.name).toBe('read');
  });
});
