/**
 * Records a simulation as text: the strace-style syscall log interleaved with hardware and kernel events
 * (DMA transfers, IRQs, overflow and underflow, block states, kernel log lines). Two runs with the same
 * options and seed produce byte-identical records.
 */
import type { EventEmitter } from 'eventemitter3';
import type { SimEvents } from '../sim/simulator.ts';
import type { AbiProfile } from '../uapi/ioctls.ts';
import { Strace, type StraceOptions } from './strace.ts';

/** What to record besides syscalls. */
export interface RecorderOptions extends StraceOptions {
  /** DMA transfers, IRQs, gaps (default true). */
  hardware?: boolean;
  /** Block state changes of DMA buffer queues (default false: one line per block per state). */
  blocks?: boolean;
}

/** A structured record of what happened, for timeline exporters (Perfetto). */
export type TimelineEvent =
  | { kind: 'syscall'; pid: number; comm: string; name: string; ret: number; start: number; end: number }
  | {
      kind: 'transfer';
      channel: string;
      id: number;
      label: string;
      start: number;
      end: number;
      status: string;
    }
  | {
      kind: 'fence';
      context: number;
      seqno: number;
      driver: string;
      start: number;
      end: number | null;
      error: boolean;
    }
  | { kind: 'gap'; channel: string; time: number; scans: number; what: string }
  | { kind: 'process'; pid: number; comm: string };

/** A running recording: its lines so far, structured events, and how to stop it. */
export interface Recording {
  readonly lines: string[];
  readonly events: TimelineEvent[];
  detach(): void;
}

/** Subscribes a listener for as long as the recording runs. */
type Subscribe = <K extends keyof SimEvents>(name: K, listener: SimEvents[K]) => void;

/** Writes a line that is not a syscall, at a simulated time. */
type Note = (time: number, text: string) => void;

/** Every process that made a syscall, and each syscall with its span. */
function recordSyscalls(on: Subscribe, timeline: TimelineEvent[]): void {
  const seen = new Set<number>();
  on('syscall:exit', (e) => {
    if (!seen.has(e.task.pid)) {
      seen.add(e.task.pid);
      timeline.push({ kind: 'process', pid: e.task.pid, comm: e.task.comm });
    }
    timeline.push({
      kind: 'syscall',
      pid: e.task.pid,
      comm: e.task.comm,
      name: e.name,
      ret: e.ret,
      start: e.enterTime,
      end: e.returnTime,
    });
  });
}

/** DMA transfers, from their start to their completion or abort, and the data lost between them. */
function recordTransfers(on: Subscribe, timeline: TimelineEvent[]): void {
  const starts = new Map<string, number>();
  on('dma:start', (e) => starts.set(`${e.channel}:${e.id}`, e.time));
  on('dma:done', (e) =>
    timeline.push({
      kind: 'transfer',
      channel: e.channel,
      id: e.id,
      label: e.label,
      start: starts.get(`${e.channel}:${e.id}`) ?? e.time,
      end: e.time,
      status: e.status,
    }),
  );
  on('dma:abort', (e) =>
    timeline.push({
      kind: 'transfer',
      channel: e.channel,
      id: e.id,
      label: e.label,
      start: starts.get(`${e.channel}:${e.id}`) ?? e.time,
      end: e.time,
      status: 'aborted',
    }),
  );
  on('dma:gap', (e) =>
    timeline.push({ kind: 'gap', channel: e.channel, time: e.time, scans: e.scans, what: e.kind }),
  );
}

/** Fences, from `dma_fence_init` to `dma_fence_signaled` (an unsignaled fence keeps `end: null`). */
function recordFences(on: Subscribe, timeline: TimelineEvent[]): void {
  const fences = new Map<string, Extract<TimelineEvent, { kind: 'fence' }>>();
  on('fence:trace', (e) => {
    const key = `${e.context}:${e.seqno}`;
    if (e.event === 'dma_fence_init') {
      const f = {
        kind: 'fence' as const,
        context: e.context,
        seqno: e.seqno,
        driver: e.driver,
        start: e.time,
        end: null,
        error: false,
      };
      fences.set(key, f);
      timeline.push(f);
    } else if (e.event === 'dma_fence_signaled') {
      const f = fences.get(key);
      if (f) f.end = e.time;
    }
  });
}

/** `[hw]` and `[irq]` lines: what the DMA controller does. */
function noteDma(on: Subscribe, note: Note): void {
  on('dma:start', (e) =>
    note(
      e.time,
      `[hw] ${e.channel}: transfer ${e.id} (${e.label}) starts at stream byte ${e.streamByte}, ${e.length} bytes`,
    ),
  );
  on('dma:done', (e) =>
    note(
      e.time,
      `[hw] ${e.channel}: transfer ${e.id} ${e.status === 'error' ? `FAILED (residue ${e.residue})` : 'complete'}, irq after ${e.irqAt - e.time} ns`,
    ),
  );
  on('dma:irq', (e) => note(e.time, `[irq] ${e.channel}: transfer ${e.id} completion callback`));
  on('dma:abort', (e) =>
    note(e.time, `[hw] ${e.channel}: transfer ${e.id} terminated after ${e.bytesDone} bytes`),
  );
  on('dma:gap', (e) => note(e.time, `[hw] ${e.channel}: ${e.kind} of ${e.scans} scans (${e.bytes} bytes)`));
}

/** `[kernel]`, `[check]` and `[cpu]` lines: what IIO, the checker and the CPU caches report. */
function noteKernel(on: Subscribe, note: Note): void {
  on('iio:dma-error-ignored', (e) =>
    note(
      e.time,
      `[kernel] ${e.device}: block ${e.block} completed with a controller error; industrialio-buffer-dma ignores it (DMAQ-6)`,
    ),
  );
  on('iio:discard', (e) => note(e.time, `[kernel] ${e.device}: ${e.bytes} bytes discarded (${e.why})`));
  on('iio:enable', (e) =>
    note(e.time, `[kernel] ${e.device}: buffers enabled, ${e.scanBytes} bytes per scan`),
  );
  on('iio:disable', (e) => note(e.time, `[kernel] ${e.device}: buffers disabled`));
  on('check:finding', (e) => note(e.time, `[check] ${e.comm}[${e.pid ?? '-'}] ${e.kind}: ${e.message}`));
  on('dmabuf:cache', (e) =>
    note(
      e.time,
      `[cpu] DMABUF ${e.ino}: cache ${e.op === 'clean' ? `clean, ${e.lines} dirty lines written back` : `invalidate${e.lines ? `, ${e.lines} dirty lines lost` : ''}`}`,
    ),
  );
  on('kernel:log', (e) =>
    note(e.time, `[kernel] ${e.device}: ${e.level === 'info' ? '' : `${e.level}: `}${e.message}`),
  );
}

/** Starts recording the events of a simulator's bus. */
export function recordTrace(
  events: EventEmitter<SimEvents>,
  profile: AbiProfile,
  options: RecorderOptions = {},
): Recording {
  const lines: string[] = [];
  const timeline: TimelineEvent[] = [];
  const strace = new Strace(events, profile, (l) => lines.push(l), options);
  const offs: (() => void)[] = [() => strace.detach()];
  const bus = events as unknown as EventEmitter<Record<string, (e: never) => void>>;
  const on: Subscribe = (n, f) => {
    bus.on(n, f as never);
    offs.push(() => bus.off(n, f as never));
  };
  const note: Note = (time, text) => strace.note(time, text);
  recordSyscalls(on, timeline);
  recordTransfers(on, timeline);
  recordFences(on, timeline);
  if (options.hardware ?? true) {
    noteDma(on, note);
    noteKernel(on, note);
  }
  if (options.blocks)
    on('iio:block', (e) =>
      note(e.time, `[kernel] ${e.device}: block ${e.block} ${e.state} (bytes_used ${e.bytesUsed})`),
    );
  return {
    lines,
    events: timeline,
    detach: () => {
      for (const f of offs.splice(0)) f();
    },
  };
}
