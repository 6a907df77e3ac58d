/**
 * ftrace-style lines for the dma_fence tracepoints (include/trace/events/dma_fence.h), as
 * /sys/kernel/tracing/trace prints them: the prefix of `print_trace_fmt()` with the irq-info column,
 * `%16s-%-7d [%03d] %s %5lu.%06lu: ` (comm, pid, CPU, the five irq-info flags, the time in µs rounded as
 * `ns2usecs()` does), then `event: fields`.
 */
import type { EventEmitter } from 'eventemitter3';
import type { FenceEvents } from '../kernel/dma-buf/fence.ts';
import type { SimEvents } from '../sim/simulator.ts';

/** One fence trace event. */
export type FenceTrace = Parameters<FenceEvents['fence:trace']>[0];

/** The made-up pid of the kworker that runs deferred kernel work in traces (the simulator has no kthreads). */
export const KWORKER_PID = 24;

/** Tracepoints the kernel hits with the fence's spinlock held, irqs off (`spin_lock_irqsave(fence->lock)`). */
const UNDER_FENCE_LOCK = new Set(['dma_fence_signaled', 'dma_fence_enable_signal']);

/** `ns2usecs()` (kernel/trace/trace.c): nanoseconds to microseconds, rounded to the nearest. */
export function ns2usecs(ns: number): number {
  return Math.floor((ns + 500) / 1000);
}

/** The timestamp column, `%5lu.%06lu`: seconds right-aligned in 5, microseconds in 6 digits. */
export function ftraceTimestamp(ns: number): string {
  const us = ns2usecs(ns);
  return `${String(Math.floor(us / 1e6)).padStart(5)}.${String(us % 1e6).padStart(6, '0')}`;
}

/**
 * The irq-info column of `trace_print_lat_fmt()`: irqs-off (`d`), need-resched (`.`), hardirq/softirq (`h`/`s`),
 * preempt depth (`1` under the fence's spinlock), migrate-disable (`.`).
 */
export function irqFlags(e: FenceTrace): string {
  const locked = UNDER_FENCE_LOCK.has(e.event);
  const ctx = e.task ? '.' : e.bh === 'softirq' ? 's' : e.bh === 'worker' ? '.' : 'h';
  const irqsOff = locked || ctx === 'h';
  return `${irqsOff ? 'd' : '.'}.${ctx}${locked ? '1' : '.'}.`;
}

/** Who the line is about (`comm`, `pid`, CPU): the task; a tasklet or an IRQ on idle CPU 0; a kworker on CPU 0. */
function context(e: FenceTrace): { comm: string; pid: number; cpu: number } {
  if (e.task) return { comm: e.task.comm, pid: e.task.pid, cpu: e.task.cpu };
  if (e.bh === 'worker') return { comm: 'kworker/0:1', pid: KWORKER_PID, cpu: 0 };
  return { comm: '<idle>', pid: 0, cpu: 0 };
}

/** Formats one event as a line of /sys/kernel/tracing/trace. */
export function formatFtrace(e: FenceTrace): string {
  const c = context(e);
  const prefix = `${c.comm.padStart(16)}-${String(c.pid).padEnd(7)} [${String(c.cpu).padStart(3, '0')}] ${irqFlags(e)} ${ftraceTimestamp(e.time)}: `;
  return `${prefix}${e.event}: driver=${e.driver} timeline=${e.timeline} context=${e.context} seqno=${e.seqno}`;
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
