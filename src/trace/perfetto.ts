/**
 * Chrome trace-event JSON (opens in the Perfetto UI and chrome://tracing): one track per process for its
 * syscalls, one per DMA channel for its transfers, async slices for fences from init to signal, counters
 * for lost scans. Times are microseconds; events are sorted so the file is byte-stable.
 */
import type { TimelineEvent } from './recorder.ts';

interface ChromeEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  id?: string;
  cat?: string;
  args?: Record<string, unknown>;
}

const us = (ns: number) => ns / 1000;

/** Serialises timeline events as a Chrome trace JSON document. */
export function exportPerfetto(events: readonly TimelineEvent[]): string {
  const out: { ev: ChromeEvent; seq: number }[] = [];
  let seq = 0;
  const push = (ev: ChromeEvent) => out.push({ ev, seq: seq++ });
  const channels = new Map<string, number>();
  const channelPid = (name: string) => {
    let pid = channels.get(name);
    if (pid === undefined) {
      pid = 100_000 + channels.size;
      channels.set(name, pid);
      push({ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: `DMA ${name}` } });
      push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: 1, args: { name: 'transfers' } });
    }
    return pid;
  };
  const FENCES = 200_000;
  push({ name: 'process_name', ph: 'M', ts: 0, pid: FENCES, tid: 0, args: { name: 'dma_fences' } });
  let lost = 0;
  for (const e of events) {
    switch (e.kind) {
      case 'process':
        push({
          name: 'process_name',
          ph: 'M',
          ts: 0,
          pid: e.pid,
          tid: 0,
          args: { name: `${e.comm} [${e.pid}]` },
        });
        push({ name: 'thread_name', ph: 'M', ts: 0, pid: e.pid, tid: 1, args: { name: 'syscalls' } });
        break;
      case 'syscall':
        push({
          name: e.name,
          ph: 'X',
          ts: us(e.start),
          dur: us(e.end - e.start),
          pid: e.pid,
          tid: 1,
          args: { ret: e.ret },
        });
        break;
      case 'transfer':
        push({
          name: e.label,
          ph: 'X',
          ts: us(e.start),
          dur: us(e.end - e.start),
          pid: channelPid(e.channel),
          tid: 1,
          args: { id: e.id, status: e.status },
        });
        break;
      case 'fence': {
        const id = `${e.context}:${e.seqno}`;
        push({ name: `fence ${id}`, ph: 'b', ts: us(e.start), pid: FENCES, tid: 1, id, cat: e.driver });
        if (e.end !== null)
          push({ name: `fence ${id}`, ph: 'e', ts: us(e.end), pid: FENCES, tid: 1, id, cat: e.driver });
        break;
      }
      case 'gap':
        lost += e.scans;
        push({
          name: `${e.what} (scans)`,
          ph: 'C',
          ts: us(e.time),
          pid: channelPid(e.channel),
          tid: 0,
          args: { lost },
        });
        break;
    }
  }
  out.sort((a, b) => a.ev.ts - b.ev.ts || a.seq - b.seq);
  return `${JSON.stringify({ traceEvents: out.map((x) => x.ev), displayTimeUnit: 'ns', otherData: { generator: 'iio-dmabuf-sim' } })}\n`;
}
