/**
 * The text of the log lines that are not syscalls: `[hw]`, `[irq]`, `[kernel]`, `[check]` and `[cpu]`. One
 * formatter per tracepoint, shared by the text recorder and the timeline exporters (whose hover shows the
 * same line the log prints).
 */
import type { SimEvents } from '../sim/simulator.ts';

/** The payload of bus event `K`. */
export type Payload<K extends keyof SimEvents> = Parameters<SimEvents[K]>[0];

/** `[hw]` line of `dma:start`. */
export function dmaStartText(e: Payload<'dma:start'>): string {
  return `[hw] ${e.channel}: transfer ${e.id} (${e.label}) starts at stream byte ${e.streamByte}, ${e.length} bytes`;
}

/** `[hw]` line of `dma:done`. */
export function dmaDoneText(e: Payload<'dma:done'>): string {
  return `[hw] ${e.channel}: transfer ${e.id} ${e.status === 'error' ? `FAILED (residue ${e.residue})` : 'complete'}, irq after ${e.irqAt - e.time} ns`;
}

/** `[irq]` line of `dma:irq`. */
export function dmaIrqText(e: Payload<'dma:irq'>): string {
  return `[irq] ${e.channel}: transfer ${e.id} completion callback`;
}

/** `[hw]` line of `dma:abort`. */
export function dmaAbortText(e: Payload<'dma:abort'>): string {
  return `[hw] ${e.channel}: transfer ${e.id} terminated after ${e.bytesDone} bytes`;
}

/** `[hw]` line of `dma:gap`. */
export function dmaGapText(e: Payload<'dma:gap'>): string {
  return `[hw] ${e.channel}: ${e.kind} of ${e.scans} scans (${e.bytes} bytes)`;
}

/** `[kernel]` line of `iio:dma-error-ignored`. */
export function dmaErrorIgnoredText(e: Payload<'iio:dma-error-ignored'>): string {
  return `[kernel] ${e.device}: block ${e.block} completed with a controller error; industrialio-buffer-dma ignores it (DMAQ-6)`;
}

/** `[kernel]` line of `iio:discard`. */
export function discardText(e: Payload<'iio:discard'>): string {
  return `[kernel] ${e.device}: ${e.bytes} bytes discarded (${e.why})`;
}

/** `[kernel]` line of `iio:enable`. */
export function enableText(e: Payload<'iio:enable'>): string {
  return `[kernel] ${e.device}: buffers enabled, ${e.scanBytes} bytes per scan`;
}

/** `[kernel]` line of `iio:disable`. */
export function disableText(e: Payload<'iio:disable'>): string {
  return `[kernel] ${e.device}: buffers disabled`;
}

/** `[check]` line of a contract finding. */
export function findingText(e: Payload<'check:finding'>): string {
  return `[check] ${e.comm}[${e.pid ?? '-'}] ${e.kind}: ${e.message}`;
}

/** `[cpu]` line of `dmabuf:cache`. */
export function cacheText(e: Payload<'dmabuf:cache'>): string {
  return `[cpu] DMABUF ${e.ino}: cache ${e.op === 'clean' ? `clean, ${e.lines} dirty lines written back` : `invalidate${e.lines ? `, ${e.lines} dirty lines lost` : ''}`}`;
}

/** `[kernel]` line of `kernel:log`. */
export function kernelLogText(e: Payload<'kernel:log'>): string {
  return `[kernel] ${e.device}: ${e.level === 'info' ? '' : `${e.level}: `}${e.message}`;
}

/** `[kernel]` line of `iio:block` (the recorder's `blocks` option). */
export function blockText(e: Payload<'iio:block'>): string {
  return `[kernel] ${e.device}: block ${e.block} ${e.state} (bytes_used ${e.bytesUsed})`;
}
