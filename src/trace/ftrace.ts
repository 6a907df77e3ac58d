/**
 * ftrace-style lines for the dma_fence tracepoints (include/trace/events/dma_fence.h), as
 * /sys/kernel/tracing/trace prints them: `comm-pid [cpu] flags timestamp: event: fields`.
 */
import type { EventEmitter } from 'eventemitter3';
import type { FenceEvents } from '../kernel/dma-buf/fence.ts';
import type { SimEvents } from '../sim/simulator.ts';

/** One fence trace event. */
export type FenceTrace = Parameters<FenceEvents['fence:trace']>[0];

/** Formats one event: task context shows `comm-pid`, interrupt/worker context `<idle>-0` with `d.h1.`. */
export function formatFtrace(e: FenceTrace): string {
  const who = e.task ? `${e.task.comm}-${e.task.pid}` : '<idle>-0';
  const flags = e.task ? '.....' : 'd.h1.';
  const us = Math.floor(e.time / 1000);
  const ts = `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
  return `${who.padStart(22)} [000] ${flags} ${ts.padStart(12)}: ${e.event}: driver=${e.driver} timeline=${e.timeline} context=${e.context} seqno=${e.seqno}`;
}

/** Calls `sink` with a formatted line for every fence event; returns the function that stops it. */
export function traceFences(
  events: EventEmitter<SimEvents>,
  sink: (line: string, e: FenceTrace) => void,
): () => void {
  const f = (e: FenceTrace) => sink(formatFtrace(e), e);
  events.on('fence:trace', f);
  return () => events.off('fence:trace', f);
}
