import { describe, expect, it } from 'vitest';
import { exportPerfetto } from '../../src/trace/perfetto.ts';
import { runLesson, runScenarioText } from './lessons.ts';

interface Ev {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
  bind_id?: number;
  flow_in?: boolean;
  flow_out?: boolean;
}

function parse(json: string): Ev[] {
  return (JSON.parse(json) as { traceEvents: Ev[] }).traceEvents;
}

/** Two ADCs that lose different amounts of data: each device's counter must count its own. */
const TWO_ADCS = `title: two ADCs
abi: mainline
platform: ideal
devices:
  - { kind: adc, name: slow, sampleRateHz: 100000, channels: [{ id: voltage0, type: "le:s16/16>>0" }] }
  - { kind: adc, name: fast, sampleRateHz: 400000, channels: [{ id: voltage0, type: "le:s16/16>>0" }] }
processes:
${['slow', 'fast']
  .map(
    (dev, i) => `  - name: p${i}
    steps:
      - enable_channels: { device: ${dev}, channels: [in_voltage0] }
      - buffer_fd: { device: ${dev}, as: buf }
      - heap_alloc: { size: 4096, as: d }
      - attach: { buffer: buf, dmabuf: d }
      - enable_buffer: { device: ${dev} }
      - sleep: ${i + 1}ms
      - enqueue: { buffer: buf, dmabuf: d, bytes_used: 4096 }
      - sleep: 10ms
      - enable_buffer: { device: ${dev}, on: false }
`,
  )
  .join('')}`;

/** Slices on one thread must nest (Perfetto drops or mis-draws the rest); in integer ns, as Perfetto reads them. */
function expectNested(events: Ev[]): void {
  const stacks = new Map<string, number[]>();
  for (const e of events) {
    if (e.ph !== 'X') continue;
    const key = `${e.pid}:${e.tid}`;
    const stack = stacks.get(key) ?? [];
    const ts = Math.round(e.ts * 1000);
    const end = ts + Math.round((e.dur ?? 0) * 1000);
    while (stack.length > 0 && stack.at(-1)! <= ts && !(stack.at(-1)! === ts && end === ts)) stack.pop();
    if (stack.length > 0) expect(end, `${e.name} at ${e.ts} on ${key}`).toBeLessThanOrEqual(stack.at(-1)!);
    stack.push(end);
    stacks.set(key, stack);
  }
}

describe('Perfetto export', () => {
  it('gives every device its own lost-scans counter (two ADCs, two totals)', async () => {
    const run = await runScenarioText(TWO_ADCS, 'two-adcs.yaml');
    const events = parse(exportPerfetto(run.events, { end: run.result.time }));
    const names = new Map(
      events.filter((e) => e.name === 'process_name').map((e) => [e.pid, String(e.args!.name)]),
    );
    const last = new Map<string, unknown>();
    for (const e of events.filter((x) => x.ph === 'C'))
      last.set(`${names.get(e.pid)} ${e.name}`, e.args!['overflow scans']);
    expect(Object.fromEntries(last)).toEqual({
      'iio:device0 lost scans, slow-dma': 100,
      'iio:device1 lost scans, fast-dma': 2752,
    });
    expect(run.result.stats.devices.slow!.scansLost).toBe(100);
    expect(run.result.stats.devices.fast!.scansLost).toBe(2752);
  });

  it('lesson 02: slices named by request with the strace line, and flows ENQUEUE -> transfer -> IRQ -> fence -> wake-up', async () => {
    const run = await runLesson('02-four-dmabufs.yaml');
    const events = parse(exportPerfetto(run.events, { end: run.result.time }));
    const enq = events.filter((e) => e.name === 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL');
    expect(enq).toHaveLength(20);
    expect(enq[0]).toMatchObject({
      ph: 'X',
      ts: 57.265,
      dur: 1.011,
      pid: 100,
      tid: 100,
      args: {
        strace: 'ioctl(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {fd=6, flags=0, bytes_used=32768}) = 0',
        ret: 0,
      },
    });
    expect(events.filter((e) => e.name === 'DMA_BUF_IOCTL_SYNC (START)')).toHaveLength(20);
    const flows = new Map<number, Ev[]>();
    for (const e of events)
      if (e.bind_id !== undefined) flows.set(e.bind_id, [...(flows.get(e.bind_id) ?? []), e]);
    expect(flows.size).toBe(17);
    const first = flows.get(1)!;
    expect(first.map((e) => [e.name, e.flow_in ?? false, e.flow_out ?? false])).toEqual([
      ['IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', false, true],
      ['block 1', true, true],
      ['IRQ', true, true],
      ['signalled', true, true],
      ['wake-up', true, false],
    ]);
    for (const chain of flows.values())
      for (let k = 1; k < chain.length; k++) expect(chain[k]!.ts).toBeGreaterThanOrEqual(chain[k - 1]!.ts);
    expectNested(events);
  });

  it('lesson 09: the poll blocked to the end of the run is a slice to the end, asleep all along', async () => {
    const run = await runLesson('09-watermark-never-wakes.yaml');
    const events = parse(exportPerfetto(run.events, { end: run.result.time }));
    const poll = events.filter((e) => e.name === 'poll').at(-1)!;
    expect(poll.ts + poll.dur!).toBeCloseTo(run.result.time / 1000, 6);
    expect(poll.args).toMatchObject({
      outcome: 'still blocked at the end of the run',
      strace: 'poll([{fd=4, events=POLLIN}], 1, -1 <unfinished ...>',
    });
    const blocked = events.find((e) => e.name === 'blocked')!;
    expect(blocked.ts + blocked.dur!).toBeCloseTo(run.result.time / 1000, 6);
    const finding = events.find((e) => e.ph === 'i' && e.cat === 'finding')!;
    expect(String(finding.args!.message)).toContain('watermark 2048');
    expectNested(events);
  });

  it('lesson 08: the killed nanosleep, the signal and the exit', async () => {
    const run = await runLesson('08-closing-in-flight.yaml');
    const events = parse(exportPerfetto(run.events, { end: run.result.time }));
    const sleep = events.find((e) => e.name === 'nanosleep' && e.pid === 100)!;
    expect([sleep.ts, sleep.dur, sleep.args!.outcome]).toEqual([0, 1000, 'killed inside the call']);
    expect(events.filter((e) => e.ph === 'i' && e.pid === 100).map((e) => e.name)).toEqual([
      'SIGKILL',
      'killed',
    ]);
    expectNested(events);
  });

  it('lesson 11: the failed transfer and the fence signalled 0 anyway', async () => {
    const run = await runLesson('11-dma-error.yaml');
    const events = parse(exportPerfetto(run.events, { end: run.result.time }));
    const failed = events.find(
      (e) => e.cat === 'transfer' && e.name === 'block 2' && e.args?.status === 'error',
    );
    expect(failed?.args?.log).toBe(
      '[hw] sim-adc-dma: transfer 2 (iio:device0 block 2) starts at stream byte 16384, 16384 bytes\n' +
        '[hw] sim-adc-dma: transfer 2 FAILED (residue 0), irq after 2000 ns\n' +
        '[irq] sim-adc-dma: transfer 2 completion callback',
    );
    const fence = events.find((e) => e.name === 'fence 2:1')!;
    expect(fence.args).toMatchObject({ status: 'signalled with 0', error: 0 });
    expectNested(events);
  });

  it('is byte-stable: the same run twice gives the same file', async () => {
    const a = await runLesson('03-dmabufs-vs-latency.yaml');
    const b = await runLesson('03-dmabufs-vs-latency.yaml');
    expect(exportPerfetto(a.events, { end: a.result.time })).toBe(
      exportPerfetto(b.events, { end: b.result.time }),
    );
  });
});
