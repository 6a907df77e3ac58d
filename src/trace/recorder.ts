/**
 * Records a simulation as text: the strace-style syscall log interleaved with hardware and kernel events
 * (DMA transfers, IRQs, overflow and underflow, block states, kernel log lines). Two runs with the same
 * options and seed produce byte-identical records.
 */
import type { EventEmitter } from 'eventemitter3';
import type { KernelEvents } from '../kernel/events.ts';
import type { AbiProfile } from '../kernel/kernel.ts';
import { Strace, type StraceOptions } from './strace.ts';

/** What to record besides syscalls. */
export interface RecorderOptions extends StraceOptions {
  /** DMA transfers, IRQs, gaps (default true). */
  hardware?: boolean;
  /** Block state changes of DMA buffer queues (default false: one line per block per state). */
  blocks?: boolean;
}

/** A running recording: its lines so far, and how to stop it. */
export interface Recording {
  readonly lines: string[];
  detach(): void;
}

/** Starts recording the events of a simulator's bus. */
export function recordTrace(
  events: EventEmitter<KernelEvents>,
  profile: AbiProfile,
  options: RecorderOptions = {},
): Recording {
  const lines: string[] = [];
  const strace = new Strace(events, profile, (l) => lines.push(l), options);
  const offs: (() => void)[] = [() => strace.detach()];
  const bus = events as unknown as EventEmitter<Record<string, (e: never) => void>>;
  const on = <K extends keyof KernelEvents>(n: K, f: KernelEvents[K]) => {
    bus.on(n, f as never);
    offs.push(() => bus.off(n, f as never));
  };
  const note = (time: number, text: string) => strace.note(time, text);
  if (options.hardware ?? true) {
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
    on('kernel:log', (e) =>
      note(e.time, `[kernel] ${e.device}: ${e.level === 'info' ? '' : `${e.level}: `}${e.message}`),
    );
  }
  if (options.blocks)
    on('iio:block', (e) =>
      note(e.time, `[kernel] ${e.device}: block ${e.block} ${e.state} (bytes_used ${e.bytesUsed})`),
    );
  return {
    lines,
    detach: () => {
      for (const f of offs.splice(0)) f();
    },
  };
}
