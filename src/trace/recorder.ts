/**
 * Records a simulation as text: the strace-style syscall log interleaved with hardware and kernel events
 * (DMA transfers, IRQs, overflow and underflow, block states, kernel log lines). Two runs with the same
 * options and seed produce byte-identical records.
 */
import type { EventEmitter } from 'eventemitter3';
import type { SimEvents } from '../sim/simulator.ts';
import type { AbiProfile } from '../uapi/ioctls.ts';
import {
  blockText,
  cacheText,
  disableText,
  discardText,
  dmaAbortText,
  dmaDoneText,
  dmaErrorIgnoredText,
  dmaGapText,
  dmaIrqText,
  dmaStartText,
  enableText,
  findingText,
  kernelLogText,
} from './notes.ts';
import { Strace, type StraceOptions } from './strace.ts';
import { recordTimeline, type Subscribe, type TimelineEvent } from './timeline.ts';

/** What to record besides syscalls. */
export interface RecorderOptions extends StraceOptions {
  /** DMA transfers, IRQs, gaps and kernel notes (default true; false with `compat`, whose log is strace's only). */
  hardware?: boolean;
  /** Block state changes of DMA buffer queues (default false: one line per block per state). */
  blocks?: boolean;
}

export type { TimelineEvent } from './timeline.ts';

/** A running recording: its lines so far, structured events, and how to stop it. */
export interface Recording {
  readonly lines: string[];
  /** The structured record for timeline exporters ({@link exportHtml}, {@link exportPerfetto}). */
  readonly events: TimelineEvent[];
  detach(): void;
}

/** Writes a line that is not a syscall, at a simulated time. */
type Note = (time: number, text: string) => void;

/** `[hw]` and `[irq]` lines: what the DMA controller does. */
function noteDma(on: Subscribe, note: Note): void {
  on('dma:start', (e) => note(e.time, dmaStartText(e)));
  on('dma:done', (e) => note(e.time, dmaDoneText(e)));
  on('dma:irq', (e) => note(e.time, dmaIrqText(e)));
  on('dma:abort', (e) => note(e.time, dmaAbortText(e)));
  on('dma:gap', (e) => note(e.time, dmaGapText(e)));
}

/** `[kernel]`, `[check]` and `[cpu]` lines: what IIO, the checker and the CPU caches report. */
function noteKernel(on: Subscribe, note: Note): void {
  on('iio:dma-error-ignored', (e) => note(e.time, dmaErrorIgnoredText(e)));
  on('iio:discard', (e) => note(e.time, discardText(e)));
  on('iio:enable', (e) => note(e.time, enableText(e)));
  on('iio:disable', (e) => note(e.time, disableText(e)));
  on('check:finding', (e) => note(e.time, findingText(e)));
  on('dmabuf:cache', (e) => note(e.time, cacheText(e)));
  on('kernel:log', (e) => note(e.time, kernelLogText(e)));
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
  recordTimeline(on, strace, profile, timeline);
  if (options.hardware ?? !options.compat) {
    noteDma(on, note);
    noteKernel(on, note);
  }
  if (options.blocks) on('iio:block', (e) => note(e.time, blockText(e)));
  return {
    lines,
    events: timeline,
    detach: () => {
      for (const f of offs.splice(0)) f();
    },
  };
}
