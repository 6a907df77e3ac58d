/**
 * Chrome trace-event JSON (opens in the Perfetto UI and chrome://tracing) of the same timeline model the
 * HTML export draws: one process per user process (syscalls named by request with the strace line in their
 * args, time asleep and wake-ups as nested slices, calls blocked to the end or killed inside), one per IIO
 * device (its DMA channel's transfers and IRQs, one thread per block of its queue, a lost-scans counter of its
 * own), one for the fences (a thread per block, a `signalled` mark), one for kernel instants and contract
 * findings. Chains ENQUEUE -> transfer -> IRQ -> fence -> wake-up are flow events (`bind_id`, `flow_in`,
 * `flow_out`) bound to the slices they join. Times are microseconds; events are sorted so the file is
 * byte-stable.
 */
import { buildModel, type ModelItem, type TimelineModel } from './model.ts';
import type { TimelineEvent } from './timeline.ts';

interface ChromeEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  cat?: string;
  s?: string;
  args?: Record<string, unknown>;
  bind_id?: number;
  flow_in?: boolean;
  flow_out?: boolean;
}

/** Options of {@link exportPerfetto}. */
export interface PerfettoOptions {
  /** End of the run, ns: calls still blocked are drawn to here. Default: the last time recorded. */
  end?: number;
}

const us = (ns: number) => ns / 1000;

/** Where each lane's rows go: a pid and one tid per row. */
function threads(m: TimelineModel): { pid: number; tids: number[]; meta: ChromeEvent[] }[] {
  const devicePid = new Map<string, number>();
  const nextTid = new Map<number, number>();
  const meta: ChromeEvent[] = [];
  const named = new Set<number>();
  const proc = (pid: number, name: string) => {
    if (named.has(pid)) return;
    named.add(pid);
    meta.push({ name: 'process_name', ph: 'M', ts: 0, pid, tid: pid, args: { name } });
  };
  let others = 0;
  const out = m.lanes.map((l) => {
    let pid: number;
    if (l.group === 'process') {
      pid = Number(l.id.slice(5));
      proc(pid, l.title);
    } else if (l.device !== null) {
      pid = devicePid.get(l.device) ?? 100_000 + 1000 * devicePid.size;
      devicePid.set(l.device, pid);
      proc(pid, l.device);
    } else {
      pid = l.group === 'fences' ? 200_000 : 300_000 + 1000 * others++;
      proc(pid, l.group === 'fences' ? 'dma_fence' : l.title);
    }
    const tids = l.rows.map((row) => {
      const n = nextTid.get(pid) ?? 0;
      nextTid.set(pid, n + 1);
      const tid = l.group === 'process' && n === 0 ? pid : pid + 1 + n;
      const name =
        l.group === 'process'
          ? 'syscalls'
          : row
            ? `${l.group === 'dma' ? `${l.title}: ` : ''}${row}`
            : l.title;
      meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name } });
      return tid;
    });
    return { pid, tids, meta: [] as ChromeEvent[] };
  });
  out.push({ pid: 0, tids: [], meta });
  return out;
}

/** The chain's items in order along its first path, for flow events (a slice carries one flow id). */
function chainPath(c: TimelineModel['chains'][number]): { item: number; time: number }[] {
  const first = c.links[0];
  if (!first) return [];
  const path = [{ item: first.from, time: first.fromTime }];
  for (let l: (typeof c.links)[number] | undefined = first; l; ) {
    const at: number = l.to;
    path.push({ item: at, time: l.toTime });
    l = c.links.find((x) => x.from === at);
  }
  return path;
}

/** Flow fields of the slices that take part in a chain: `flow_out` first, `flow_in` last, both between. */
function flowsOf(m: TimelineModel): (item: number) => Partial<ChromeEvent> {
  const flow = new Map<number, { id: number; role: 'out' | 'in' | 'step' }>();
  m.chains.forEach((c, n) => {
    const path = chainPath(c);
    path.forEach((p, k) => {
      if (flow.has(p.item)) return;
      const role = k === 0 ? 'out' : k === path.length - 1 ? 'in' : 'step';
      flow.set(p.item, { id: n + 1, role });
    });
  });
  return (item) => {
    const f = flow.get(item);
    if (!f) return {};
    const dir =
      f.role === 'in'
        ? { flow_in: true }
        : f.role === 'out'
          ? { flow_out: true }
          : { flow_in: true, flow_out: true };
    return { bind_id: f.id, ...dir };
  };
}

/** Sort rank at one timestamp: parents before children, a flow's source before its target. */
const RANK: Record<string, number> = { M: 0, X: 1, mark: 2, signal: 3, sleep: 4, wakeup: 5, C: 6, i: 7 };

/** Serialises timeline events as a Chrome trace JSON document. */
export function exportPerfetto(events: readonly TimelineEvent[], options: PerfettoOptions = {}): string {
  const m = buildModel(events, options.end === undefined ? {} : { end: options.end });
  const lanes = threads(m);
  const out: { ev: ChromeEvent; rank: number; seq: number }[] = [];
  const push = (ev: ChromeEvent, rank: number) => out.push({ ev, rank, seq: out.length });
  for (const ev of lanes.at(-1)!.meta) push(ev, RANK.M!);
  const where = (it: ModelItem) => ({ pid: lanes[it.lane]!.pid, tid: lanes[it.lane]!.tids[it.row]! });
  const argsOf = (it: ModelItem) =>
    it.lines.length && !('strace' in it.args) ? { ...it.args, log: it.lines.join('\n') } : it.args;

  const flowFields = flowsOf(m);
  m.items.forEach((it, i) => {
    const at = where(it);
    const name = it.kind === 'syscall' ? it.title : it.name;
    if (it.kind === 'fence') {
      push(
        {
          name,
          ph: 'X',
          ts: us(it.start),
          dur: us(it.end - it.start),
          ...at,
          cat: it.kind,
          args: argsOf(it),
        },
        RANK.X!,
      );
      if (!it.style.includes('fence-pending'))
        push(
          {
            name: 'signalled',
            ph: 'X',
            ts: us(it.end),
            dur: 0,
            ...at,
            cat: 'fence',
            args: { status: it.args.status ?? '' },
            ...flowFields(i),
          },
          RANK.signal!,
        );
    } else if (it.instant && flowFields(i).bind_id !== undefined)
      push(
        { name, ph: 'X', ts: us(it.start), dur: 0, ...at, cat: it.kind, args: argsOf(it), ...flowFields(i) },
        RANK.mark!,
      );
    else if (it.instant)
      push({ name, ph: 'i', s: 't', ts: us(it.start), ...at, cat: it.kind, args: argsOf(it) }, RANK.i!);
    else
      push(
        {
          name,
          ph: 'X',
          ts: us(it.start),
          dur: us(it.end - it.start),
          ...at,
          cat: it.kind,
          args: argsOf(it),
          ...flowFields(i),
        },
        it.kind === 'sleep' ? RANK.sleep! : it.kind === 'wakeup' ? RANK.wakeup! : RANK.X!,
      );
  });
  for (const c of m.counters) {
    const { pid } = lanes[c.lane]!;
    const name = m.lanes[c.lane]!.title;
    for (const [t, v] of c.points)
      push({ name, ph: 'C', ts: us(t), pid, tid: pid, args: { [c.name]: v } }, RANK.C!);
  }
  out.sort((a, b) => a.ev.ts - b.ev.ts || a.rank - b.rank || a.seq - b.seq);
  return `${JSON.stringify({ traceEvents: out.map((x) => x.ev), displayTimeUnit: 'ns', otherData: { generator: 'iio-dmabuf-sim' } })}\n`;
}
