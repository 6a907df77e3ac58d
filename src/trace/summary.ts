/**
 * The closing summary of a run: what each device moved, throughput in simulated time, overflow and
 * underflow, fence lifetimes and wait latencies, and how each process ended.
 */
import type { EventEmitter } from 'eventemitter3';
import type { RunResult, SimEvents } from '../sim/simulator.ts';
import { formatTime } from './strace.ts';

/** Fence timing collected during a run. */
export class FenceStats {
  readonly #created = new Map<string, number>();
  readonly #waits = new Map<string, number>();
  readonly lifetimes: number[] = [];
  readonly waits: number[] = [];
  readonly errors: number[] = [];

  /** Starts collecting from a simulator's events. */
  constructor(events: EventEmitter<SimEvents>) {
    events.on('fence:trace', (e) => {
      const key = `${e.context}:${e.seqno}`;
      if (e.event === 'dma_fence_init') this.#created.set(key, e.time);
      else if (e.event === 'dma_fence_signaled') {
        const t = this.#created.get(key);
        if (t !== undefined) this.lifetimes.push(e.time - t);
        this.#created.delete(key);
      } else if (e.event === 'dma_fence_wait_start') this.#waits.set(`${key}:${e.task?.pid ?? 0}`, e.time);
      else if (e.event === 'dma_fence_wait_end') {
        const k = `${key}:${e.task?.pid ?? 0}`;
        const t = this.#waits.get(k);
        if (t !== undefined) this.waits.push(e.time - t);
        this.#waits.delete(k);
      }
    });
  }
}

function stat(xs: readonly number[]): string {
  if (xs.length === 0) return 'none';
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const us = (n: number) => `${(n / 1000).toFixed(1)} µs`;
  return `${xs.length}, min ${us(sorted[0]!)}, mean ${us(mean)}, max ${us(sorted[sorted.length - 1]!)}`;
}

/** Where scans lost at the start of a run went: the enable started the converter before any block was queued. */
function atStart(lost: number, start: number): string {
  if (start === 0) return '';
  return ` (${start === lost ? 'all' : start} at the start: converted or due between the buffer enable and the first queued block)`;
}

/** The summary as text lines. */
export function summaryLines(r: RunResult, fences: FenceStats | null): string[] {
  const secs = r.time / 1e9;
  const out = [`--- summary at ${formatTime(r.time)} s of simulated time ---`];
  for (const [name, d] of Object.entries(r.stats.devices)) {
    const moved = d.bytesDone + d.bytesCyclic;
    if (moved === 0 && d.scansLost === 0 && d.transfers === 0 && !d.kfifoOverflow) continue;
    const rate = secs > 0 ? `${(moved / secs / 1e6).toFixed(3)} MB/s` : '-';
    out.push(
      `${name}: ${moved} bytes in ${d.transfers} blocks${d.bytesCyclic ? ` (+ cyclic)` : ''}, ${rate}; ` +
        `lost ${d.scansLost} scans${atStart(d.scansLost, d.scansLostAtStart ?? 0)}${d.bytesAborted ? `, ${d.bytesAborted} bytes cut by disable` : ''}` +
        `${d.dmaErrors ? `, ${d.dmaErrors} DMA errors` : ''}${d.kfifoOverflow ? `, kfifo overflow ${d.kfifoOverflow}` : ''}`,
    );
  }
  out.push(
    `syscalls: ${r.stats.syscalls}; copied between kernel and user: ${r.stats.copiedBytes} bytes (${r.stats.dataCopiedBytes} of them sample data)`,
  );
  if (fences) {
    out.push(`fences: signalled ${stat(fences.lifetimes)} after init`);
    out.push(`fence waits (SYNC START, ENQUEUE): ${stat(fences.waits)}`);
  }
  for (const p of r.processes) out.push(`process ${p.name}[${p.pid}]: ${p.status}: ${p.reason}`);
  // The fileio blocks belong to the buffer: allocated at the first enable and freed with the device, so
  // after a clean exit they are the device's, not a leak.
  const live = Object.entries(r.liveObjects);
  const owned = live.filter(([k]) => k.endsWith('(fileio)'));
  const rest = live.filter(([k]) => !k.endsWith('(fileio)'));
  const list = (l: [string, number][]) => l.map(([k, n]) => `${k} ${n}`).join(', ');
  if (owned.length > 0)
    out.push(`kernel objects owned by the devices (freed with their buffers, not leaked): ${list(owned)}`);
  if (rest.length > 0) out.push(`kernel objects still alive: ${list(rest)}`);
  return out;
}
