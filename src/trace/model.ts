/**
 * What a timeline picture shows, independent of the format that draws it: lanes (one per process, DMA
 * channel, lost-data counter, buffer block queue, the fences, kernel instants and contract findings), the
 * slices and instants on them, counters, and the chains ENQUEUE -> transfer -> IRQ -> fence -> wake-up that
 * the exporters draw as arrows. The HTML and Perfetto exporters both draw this model, so they show the same.
 */
import { errnoName } from '../uapi/errno.ts';
import type {
  BlockEvent,
  EnqueueEvent,
  FenceEvent,
  SyscallEvent,
  TimelineEvent,
  TransferEvent,
} from './timeline.ts';

/** What a lane shows. */
export type LaneGroup = 'process' | 'dma' | 'counter' | 'blocks' | 'fences' | 'kernel' | 'check';

/** A horizontal lane with one or more rows. */
export interface ModelLane {
  readonly id: string;
  readonly group: LaneGroup;
  readonly title: string;
  /** The IIO device it belongs to (DMA channel, lost data, block queue), for ordering. */
  readonly device: string | null;
  /** Row titles (one empty title for a lane of one row). */
  readonly rows: string[];
}

/** A slice (start < end, or a point-like call of no duration) or an instant on a lane's row. */
export interface ModelItem {
  readonly lane: number;
  row: number;
  readonly start: number;
  readonly end: number;
  readonly instant: boolean;
  /** syscall, sleep, wakeup, signal, exit, transfer, irq, gap, block, fence, kernel, finding. */
  readonly kind: string;
  /** The short label drawn on the slice (`ENQUEUE`, `block 3`). */
  readonly name: string;
  /** The full name (`IIO_BUFFER_DMABUF_ENQUEUE_IOCTL`): the hover's title and Perfetto's slice name. */
  readonly title: string;
  /** Style classes, space separated (`sys sys-enqueue`). */
  readonly style: string;
  /** The log lines of the event: strace, ftrace, `[hw]`... */
  readonly lines: string[];
  readonly args: Record<string, string | number>;
  /** The slice this one sits inside (a sleep inside its syscall). */
  readonly parent: number | null;
}

/** An arrow between two items, leaving `from` at `fromTime` and reaching `to` at `toTime`. */
export interface ModelLink {
  readonly from: number;
  readonly to: number;
  readonly fromTime: number;
  readonly toTime: number;
}

/** Items that are causes and effects of one another: ENQUEUE -> transfer -> IRQ -> fence -> wake-up. */
export interface ModelChain {
  readonly items: number[];
  readonly links: ModelLink[];
}

/** A step counter: its value from each point's time on. */
export interface ModelCounter {
  readonly lane: number;
  readonly name: string;
  readonly points: [number, number][];
}

/** Everything a timeline exporter draws. */
export interface TimelineModel {
  readonly start: number;
  readonly end: number;
  readonly lanes: ModelLane[];
  readonly items: ModelItem[];
  readonly chains: ModelChain[];
  readonly counters: ModelCounter[];
}

/** Options of {@link buildModel}. */
export interface ModelOptions {
  /** End of the run, ns (calls still blocked are drawn to here). Default: the last time recorded. */
  end?: number;
}

const REQUEST_PREFIXES: readonly [RegExp, string][] = [
  [/^IIO_BUFFER_DMABUF_/, ''],
  [/^IIO_BUFFER_/, ''],
  [/^IIO_/, ''],
  [/^DMA_BUF_IOCTL_/, ''],
  [/^DMA_BUF_/, ''],
  [/^DMA_HEAP_IOCTL_/, 'HEAP_'],
];

/** The short name of an ioctl request: `IIO_BUFFER_DMABUF_ENQUEUE_IOCTL` -> `ENQUEUE`. */
export function shortRequest(name: string): string {
  for (const [re, by] of REQUEST_PREFIXES)
    if (re.test(name)) return name.replace(re, by).replace(/_IOCTL$/, '');
  return name.replace(/_IOCTL$/, '');
}

/** The kernel's error name with its sign: `-EINTR`, `0`. */
function errnoText(n: number): string {
  return n < 0 ? `-${errnoName(-n) ?? -n}` : String(n);
}

/** The last time anything in the record happened. */
function lastTime(events: readonly TimelineEvent[]): number {
  let t = 0;
  for (const e of events) {
    const times = 'time' in e ? [e.time] : [e.start, e.end ?? 0];
    for (const x of times) if (x > t) t = x;
  }
  return t;
}

/** Lanes by key, created on first use in the order the groups are walked. */
class Lanes {
  readonly list: ModelLane[] = [];
  readonly #byId = new Map<string, number>();
  /** Per lane and row key: sub-rows with the end of their last slice, for packing overlaps. */
  readonly #rows = new Map<number, Map<string, { row: number; lastEnd: number }[]>>();

  lane(id: string, group: LaneGroup, title: string, device: string | null = null): number {
    let i = this.#byId.get(id);
    if (i === undefined) {
      i = this.list.length;
      this.list.push({ id, group, title, device, rows: [] });
      this.#byId.set(id, i);
      this.#rows.set(i, new Map());
    }
    return i;
  }

  /** The first row of `lane` for the empty key, made if needed without taking any time of it. */
  firstRow(lane: number): void {
    const rows = this.#rows.get(lane)!;
    if (rows.has('')) return;
    const l = this.list[lane]!;
    rows.set('', [{ row: l.rows.length, lastEnd: Number.NEGATIVE_INFINITY }]);
    l.rows.push('');
  }

  /** A row of `lane` for `key` where a slice from `start` to `end` overlaps nothing already placed. */
  row(lane: number, key: string, start: number, end: number): number {
    const rows = this.#rows.get(lane)!;
    let subs = rows.get(key);
    if (!subs) {
      subs = [];
      rows.set(key, subs);
    }
    let sub = subs.find((r) => r.lastEnd <= start);
    if (!sub) {
      const l = this.list[lane]!;
      sub = { row: l.rows.length, lastEnd: end };
      l.rows.push(subs.length === 0 ? key : `${key} (${subs.length + 1})`);
      subs.push(sub);
    }
    sub.lastEnd = Math.max(sub.lastEnd, end);
    return sub.row;
  }
}

/** Builds the model; items are then sorted by lane, row and start. */
class Builder {
  readonly lanes = new Lanes();
  readonly items: ModelItem[] = [];
  readonly counters: ModelCounter[] = [];
  readonly events: readonly TimelineEvent[];
  readonly end: number;
  /** Item of each record, by record index (syscalls, transfers, fences). */
  readonly itemOf = new Map<number, number>();
  readonly irqOf = new Map<number, number>();
  /** Wake-up items, by the record index of their syscall, in sleep order. */
  readonly wakeups = new Map<number, { item: number; sleep: SyscallEvent['sleeps'][number] }[]>();
  readonly fenceIndex = new Map<string, number>();
  /** Block-phase items of each block, by `device:block`, in time order. */
  readonly blockItems = new Map<string, number[]>();

  constructor(events: readonly TimelineEvent[], end: number) {
    this.events = events;
    this.end = end;
  }

  add(item: Omit<ModelItem, 'row'>, rowKey = ''): number {
    const row = this.lanes.row(item.lane, rowKey, item.start, item.instant ? item.start : item.end);
    this.items.push({ ...item, row });
    return this.items.length - 1;
  }

  /** Instants sit on a row that exists without taking it (they never overlap anything). */
  addInstant(item: Omit<ModelItem, 'row' | 'end' | 'instant'>, row = 0): number {
    this.lanes.firstRow(item.lane);
    const l = this.lanes.list[item.lane]!;
    this.items.push({ ...item, end: item.start, instant: true, row: Math.min(row, l.rows.length - 1) });
    return this.items.length - 1;
  }
}

function syscallStyle(e: SyscallEvent): string {
  const cat =
    e.request === null
      ? ['poll', 'read', 'write', 'nanosleep'].includes(e.name)
        ? `sys-${e.name === 'nanosleep' ? 'sleep' : e.name}`
        : 'sys-other'
      : /ENQUEUE/.test(e.request)
        ? 'sys-enqueue'
        : /SYNC$/.test(e.request)
          ? 'sys-sync'
          : 'sys-ioctl';
  const state =
    e.outcome === 'killed'
      ? ' sys-killed'
      : e.outcome === 'unfinished'
        ? ' sys-blocked'
        : (e.ret ?? 0) < 0
          ? ' sys-err'
          : '';
  return `sys ${cat}${state}`;
}

/** Process lanes: syscalls with their sleeps and wake-ups, signals, exits. */
function addProcesses(b: Builder): void {
  b.events.forEach((e, index) => {
    if (e.kind === 'process')
      b.lanes.lane(`proc:${e.pid}`, 'process', `${e.comm} [${e.pid}]${e.compat ? ' (32-bit)' : ''}`);
    else if (e.kind === 'syscall') addSyscall(b, e, index);
    else if (e.kind === 'signal' || e.kind === 'exit') {
      const lane = b.lanes.lane(`proc:${e.pid}`, 'process', `${e.comm} [${e.pid}]`);
      const killed = e.kind === 'exit' ? e.signal !== null : e.action === 'kill';
      b.addInstant({
        lane,
        start: e.time,
        kind: e.kind,
        name: e.kind === 'exit' ? (killed ? 'killed' : 'exit') : e.name,
        title: e.kind === 'exit' ? e.reason : `${e.name} (${e.action})`,
        style: `${e.kind}${killed ? ' killed' : ''}`,
        lines: [e.line],
        args:
          e.kind === 'exit'
            ? { reason: e.reason, code: e.code ?? '-' }
            : { signal: e.name, action: e.action },
        parent: null,
      });
    }
  });
}

function addSyscall(b: Builder, e: SyscallEvent, index: number): void {
  const lane = b.lanes.lane(`proc:${e.pid}`, 'process', `${e.comm} [${e.pid}]`);
  const end = e.end ?? b.end;
  const name = e.request === null ? e.name : `${shortRequest(e.request)}${e.detail ? ` ${e.detail}` : ''}`;
  const title = e.request === null ? e.name : `${e.request}${e.detail ? ` (${e.detail})` : ''}`;
  const outcome =
    e.outcome === 'killed'
      ? 'killed inside the call'
      : e.outcome === 'unfinished'
        ? 'still blocked at the end of the run'
        : 'returned';
  const line = e.outcome === 'unfinished' ? e.line || `${e.name}(` : e.line;
  const item = b.add({
    lane,
    start: e.start,
    end,
    instant: false,
    kind: 'syscall',
    name,
    title,
    style: syscallStyle(e),
    lines: [line || `${e.name}(...)`, ...e.ftrace],
    args: {
      syscall: e.name,
      ...(e.request === null ? {} : { request: e.request }),
      ret: e.ret === null ? '?' : e.ret < 0 ? errnoText(e.ret) : e.ret,
      outcome,
      strace: line,
      ...(e.ftrace.length ? { ftrace: e.ftrace.join('\n') } : {}),
    },
    parent: null,
  });
  b.itemOf.set(index, item);
  const wakeups: { item: number; sleep: SyscallEvent['sleeps'][number] }[] = [];
  e.sleeps.forEach((s, i) => {
    const to = s.to ?? end;
    const forever = s.to === null;
    b.items.push({
      lane,
      row: b.items[item]!.row,
      start: s.from,
      end: to,
      instant: false,
      kind: 'sleep',
      name: forever ? 'blocked' : 'waiting',
      title: `${forever ? 'blocked to the end' : e.outcome === 'killed' && i === e.sleeps.length - 1 ? 'asleep until killed' : 'asleep'}: ${s.reason}`,
      style: `sleep${forever ? ' sleep-forever' : ''}`,
      lines: [],
      args: { reason: s.reason, ...(s.timedOut ? { timedOut: 'yes' } : {}) },
      parent: item,
    });
    if (s.to === null || (e.outcome === 'killed' && i === e.sleeps.length - 1)) return;
    const resumed = e.sleeps[i + 1]?.from ?? e.kernelEnd ?? end;
    b.items.push({
      lane,
      row: b.items[item]!.row,
      start: s.to,
      end: Math.max(s.to, resumed),
      instant: false,
      kind: 'wakeup',
      name: 'wake-up',
      title: s.timedOut ? 'timed out: runs again' : 'woken: runs again',
      style: 'wakeup',
      lines: [],
      args: { latency: `${Math.max(0, resumed - s.to)} ns`, ...(s.timedOut ? { timedOut: 'yes' } : {}) },
      parent: item,
    });
    wakeups.push({ item: b.items.length - 1, sleep: s });
  });
  b.wakeups.set(index, wakeups);
}

/** DMA channel lanes (transfers, IRQs, gaps), each followed by its lost-data counter. */
function addChannels(b: Builder): void {
  const lost = new Map<string, { lane: number; total: number; counter: ModelCounter }>();
  const deviceOf = new Map<string, string>();
  for (const e of b.events) if (e.kind === 'transfer' && e.device) deviceOf.set(e.channel, e.device);
  const laneOf = (channel: string) => {
    const dev = deviceOf.get(channel);
    return b.lanes.lane(`dma:${channel}`, 'dma', `DMA ${channel}${dev ? ` (${dev})` : ''}`, dev ?? null);
  };
  b.events.forEach((e, index) => {
    if (e.kind === 'transfer') addTransfer(b, e, index, laneOf(e.channel));
    else if (e.kind === 'gap') {
      const lane = laneOf(e.channel);
      let l = lost.get(e.channel);
      if (!l) {
        const cl = b.lanes.lane(
          `lost:${e.channel}`,
          'counter',
          `lost scans, ${e.channel}`,
          deviceOf.get(e.channel) ?? null,
        );
        b.lanes.firstRow(cl);
        l = { lane: cl, total: 0, counter: { lane: cl, name: `${e.what} scans`, points: [[0, 0]] } };
        lost.set(e.channel, l);
        b.counters.push(l.counter);
      }
      l.total += e.scans;
      l.counter.points.push([e.time, l.total]);
      b.addInstant({
        lane,
        start: e.time,
        kind: 'gap',
        name: `${e.what} ${e.scans}`,
        title: `${e.what}: ${e.scans} scans lost (${l.total} in all on ${e.channel})`,
        style: `gap gap-${e.what}`,
        lines: [e.line],
        args: { scans: e.scans, bytes: e.bytes, total: l.total },
        parent: null,
      });
    }
  });
}

function addTransfer(b: Builder, e: TransferEvent, index: number, lane: number): void {
  const end = e.end ?? b.end;
  const item = b.add({
    lane,
    start: e.start,
    end,
    instant: false,
    kind: 'transfer',
    name: e.block === null ? e.label : `block ${e.block}`,
    title: `transfer ${e.id}: ${e.label}`,
    style: `xfer xfer-${e.status}`,
    lines: e.lines,
    args: {
      transfer: e.id,
      status: e.status,
      bytes: e.length,
      streamByte: e.streamByte,
      ...(e.residue ? { residue: e.residue } : {}),
    },
    parent: null,
  });
  b.itemOf.set(index, item);
  if (e.irq === null) return;
  const late = e.end !== null ? e.irq - e.end : 0;
  b.irqOf.set(
    index,
    b.addInstant(
      {
        lane,
        start: e.irq,
        kind: 'irq',
        name: 'IRQ',
        title: `IRQ: completion callback of transfer ${e.id} (${late} ns after the transfer)`,
        style: `irq${e.status === 'error' ? ' irq-error' : ''}`,
        lines: e.lines.filter((l) => l.startsWith('[irq]')),
        args: { transfer: e.id, latency: `${late} ns` },
        parent: null,
      },
      b.items[item]!.row,
    ),
  );
}

const PHASES: Record<string, { phase: string; name: string; title: string }> = {
  QUEUED: {
    phase: 'queued',
    name: 'queued',
    title: 'queued (waiting for the buffer enable or the DMA engine)',
  },
  ACTIVE: { phase: 'queued', name: 'queued', title: 'submitted to the DMA engine, waiting for its turn' },
  DMA: { phase: 'dma', name: 'DMA', title: 'the DMA controller is filling or draining it' },
  IRQ: { phase: 'irq', name: 'IRQ', title: 'transfer done, completion IRQ pending' },
  DONE: { phase: 'done', name: 'done', title: 'done: back with the program (fence signalled)' },
  USER: {
    phase: 'user',
    name: 'user',
    title: 'the program reads or writes it (after DMA_BUF_IOCTL_SYNC START)',
  },
};

/** Block queue lanes: where each block is (queued, DMA, IRQ pending, done, with the user). */
function addBlocks(b: Builder): void {
  const byBlock = new Map<string, BlockEvent[]>();
  const inoOf = new Map<string, number>();
  for (const e of b.events) {
    if (e.kind === 'block') {
      const key = `${e.device}:${e.block}`;
      let list = byBlock.get(key);
      if (!list) {
        list = [];
        byBlock.set(key, list);
      }
      list.push(e);
    } else if (e.kind === 'enqueue' && e.block !== null) inoOf.set(`${e.device}:${e.block}`, e.ino);
  }
  const keys = [...byBlock.keys()].sort((x, y) => {
    const [dx, bx] = [x.slice(0, x.lastIndexOf(':')), Number(x.slice(x.lastIndexOf(':') + 1))];
    const [dy, by] = [y.slice(0, y.lastIndexOf(':')), Number(y.slice(y.lastIndexOf(':') + 1))];
    return dx < dy ? -1 : dx > dy ? 1 : bx - by;
  });
  for (const key of keys) {
    const list = byBlock.get(key)!;
    const { device, block } = list[0]!;
    const lane = b.lanes.lane(`blocks:${device}`, 'blocks', `${device} block queue`, device);
    const ino = inoOf.get(key);
    const rowKey = `block ${block}${ino === undefined ? '' : ` (DMABUF ${ino})`}`;
    list.forEach((e, i) => {
      const p = PHASES[e.state];
      const to = list[i + 1]?.time ?? b.end;
      if (!p || to <= e.time) return;
      const bi = b.add(
        {
          lane,
          start: e.time,
          end: to,
          instant: false,
          kind: 'block',
          name: p.name,
          title: `${device} block ${block}: ${p.title}`,
          style: `blk blk-${p.phase}`,
          lines: [],
          args: { block, state: e.state, ...(e.bytesUsed === null ? {} : { bytesUsed: e.bytesUsed }) },
          parent: null,
        },
        rowKey,
      );
      b.blockItems.set(key, [...(b.blockItems.get(key) ?? []), bi]);
    });
  }
}

function fenceStatus(f: FenceEvent): string {
  if (f.end === null) return 'never signalled';
  if (f.errno === null) return 'signalled (error not known)';
  return `signalled with ${errnoText(f.errno)}`;
}

/** The fences lane: one row per block (fences of one block never overlap), from init to signal. */
function addFences(b: Builder): void {
  b.events.forEach((e, index) => {
    if (e.kind !== 'fence') return;
    const lane = b.lanes.lane('fences', 'fences', 'dma_fence');
    const key = e.block === null ? 'fences' : `${e.device} block ${e.block}`;
    const derived =
      e.cause === 'completed' && e.dmaError
        ? 'error 0 although its transfer FAILED: industrialio-buffer-dma does not look at the controller error (DMAQ-6)'
        : e.cause === 'completed'
          ? 'error 0: its block completed; industrialio-buffer-dma signals completed blocks with 0 whatever the controller said (DMAQ-6)'
          : e.cause === 'aborted'
            ? 'error -EINTR: its block was taken back by a disable before the DMA completed it (IFENCE-3)'
            : null;
    const item = b.add(
      {
        lane,
        start: e.start,
        end: e.end ?? b.end,
        instant: false,
        kind: 'fence',
        name: `fence ${e.context}:${e.seqno}`,
        title: `fence ${e.context}:${e.seqno} (${e.driver}/${e.timeline}): ${fenceStatus(e)}${e.dmaError ? ', although the DMA transfer failed' : ''}`,
        style: `fence${e.end === null ? ' fence-pending' : e.error ? ' fence-error' : ''}${e.dmaError ? ' fence-masked' : ''}`,
        lines: derived ? [...e.lines, `derived: ${derived}`] : e.lines,
        args: {
          context: e.context,
          seqno: e.seqno,
          driver: e.driver,
          timeline: e.timeline,
          status: fenceStatus(e),
          ...(e.errno === null ? {} : { error: e.errno }),
        },
        parent: null,
      },
      key,
    );
    b.itemOf.set(index, item);
    b.fenceIndex.set(`${e.context}:${e.seqno}`, index);
  });
}

/** Kernel instants and contract findings. */
function addKernel(b: Builder): void {
  for (const e of b.events) {
    if (e.kind === 'kernel') {
      const lane = b.lanes.lane('kernel', 'kernel', 'kernel');
      b.addInstant({
        lane,
        start: e.time,
        kind: 'kernel',
        name: e.what,
        title: e.line.replace(/^\[\w+\] /, ''),
        style: `kernel kernel-${e.what} level-${e.level}`,
        lines: [e.line],
        args: { what: e.what, device: e.device },
        parent: null,
      });
    } else if (e.kind === 'finding') {
      const lane = b.lanes.lane('check', 'check', 'contract checker');
      b.addInstant({
        lane,
        start: e.time,
        kind: 'finding',
        name: e.finding,
        title: `${e.finding}: ${e.message}`,
        style: 'finding',
        lines: [e.line],
        args: { kind: e.finding, process: `${e.comm}[${e.pid ?? '-'}]`, message: e.message },
        parent: null,
      });
    }
  }
}

/** The phases of an ENQUEUE's block from the call to the end of its chain join the chain (no arrows). */
function addBlockPhases(b: Builder, c: ModelChain, en: EnqueueEvent): void {
  if (en.block === null) return;
  const until = Math.max(...c.links.map((l) => l.toTime), en.time);
  for (const i of b.blockItems.get(`${en.device}:${en.block}`) ?? []) {
    const it = b.items[i]!;
    if (it.end > en.time && it.start < until) c.items.push(i);
  }
}

/** Chains: ENQUEUE -> transfer -> IRQ -> fence -> wake-ups, and transfer -> IRQ -> wake-ups without a fence. */
function addChains(b: Builder): ModelChain[] {
  const chains: ModelChain[] = [];
  const chainOfTransfer = new Map<number, ModelChain>();
  const chainOfFence = new Map<number, ModelChain>();
  const item = (i: number) => b.items[i]!;
  const link = (c: ModelChain, from: number, fromTime: number, to: number, toTime: number) => {
    if (!c.items.includes(from)) c.items.push(from);
    if (!c.items.includes(to)) c.items.push(to);
    c.links.push({ from, to, fromTime, toTime });
  };
  const transferOfEnqueue = new Map<number, number>();
  b.events.forEach((e, i) => {
    if (e.kind === 'transfer' && e.enqueue !== null) transferOfEnqueue.set(e.enqueue, i);
  });
  /** transfer -> IRQ, returning the item and time the chain goes on from. */
  const throughTransfer = (c: ModelChain, t: number): { item: number; time: number } | null => {
    const ti = b.itemOf.get(t);
    if (ti === undefined) return null;
    const irq = b.irqOf.get(t);
    if (irq === undefined) return { item: ti, time: item(ti).end };
    link(c, ti, item(ti).end, irq, item(irq).start);
    return { item: irq, time: item(irq).start };
  };
  b.events.forEach((e, i) => {
    if (e.kind !== 'enqueue') return;
    const en = e as EnqueueEvent;
    const sys = en.syscall === null ? undefined : b.itemOf.get(en.syscall);
    const c: ModelChain = { items: [], links: [] };
    let at: { item: number; time: number } | null = sys === undefined ? null : { item: sys, time: en.time };
    const t = transferOfEnqueue.get(i);
    const ti = t === undefined ? undefined : b.itemOf.get(t);
    if (t !== undefined && ti !== undefined) {
      if (at) link(c, at.item, at.time, ti, item(ti).start);
      else c.items.push(ti);
      at = throughTransfer(c, t);
      chainOfTransfer.set(t, c);
    }
    const fi = en.fence === null ? undefined : b.fenceIndex.get(en.fence);
    const fitem = fi === undefined ? undefined : b.itemOf.get(fi);
    if (fi !== undefined && fitem !== undefined && (b.events[fi] as FenceEvent).end !== null) {
      if (at && (t !== undefined || at.item !== sys)) link(c, at.item, at.time, fitem, item(fitem).end);
      else c.items.push(fitem);
      chainOfFence.set(fi, c);
    }
    if (c.items.length > 1) {
      chains.push(c);
      addBlockPhases(b, c, en);
    }
  });
  for (const wakeups of b.wakeups.values()) {
    for (const w of wakeups) {
      const cause = w.sleep.cause;
      if (!cause) continue;
      if (cause.kind === 'fence') {
        const fi = b.fenceIndex.get(cause.fence);
        const fitem = fi === undefined ? undefined : b.itemOf.get(fi);
        if (fi === undefined || fitem === undefined) continue;
        let c = chainOfFence.get(fi);
        if (!c) {
          c = { items: [], links: [] };
          chains.push(c);
          chainOfFence.set(fi, c);
        }
        link(c, fitem, item(fitem).end, w.item, item(w.item).start);
      } else {
        let c = chainOfTransfer.get(cause.transfer);
        const fresh = !c;
        c ??= { items: [], links: [] };
        const at =
          fresh || !b.irqOf.has(cause.transfer)
            ? throughTransfer(c, cause.transfer)
            : { item: b.irqOf.get(cause.transfer)!, time: item(b.irqOf.get(cause.transfer)!).start };
        if (!at) continue;
        link(c, at.item, at.time, w.item, item(w.item).start);
        if (fresh) {
          chains.push(c);
          chainOfTransfer.set(cause.transfer, c);
        }
      }
    }
  }
  return chains;
}

/** Builds the model of a recorded timeline. */
export function buildModel(events: readonly TimelineEvent[], options: ModelOptions = {}): TimelineModel {
  const end = Math.max(options.end ?? 0, lastTime(events));
  const b = new Builder(events, end);
  addProcesses(b);
  addChannels(b);
  addBlocks(b);
  addFences(b);
  addKernel(b);
  const chains = addChains(b);
  return sortLanes({ start: 0, end, lanes: b.lanes.list, items: b.items, chains, counters: b.counters });
}

/** Code-unit order, the same on every machine (unlike `localeCompare`). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const GROUP_RANK: Record<LaneGroup, number> = {
  process: 0,
  dma: 1,
  counter: 1,
  blocks: 1,
  fences: 2,
  kernel: 3,
  check: 4,
};
const IN_DEVICE_RANK: Partial<Record<LaneGroup, number>> = { dma: 0, counter: 1, blocks: 2 };

/** Lanes in reading order: processes; per device its DMA channel, lost data and blocks; fences; kernel; checker. */
function sortLanes(m: TimelineModel): TimelineModel {
  const order = m.lanes
    .map((l, i) => ({ l, i }))
    .sort(
      (x, y) =>
        GROUP_RANK[x.l.group] - GROUP_RANK[y.l.group] ||
        compareText(x.l.device ?? '~', y.l.device ?? '~') ||
        (IN_DEVICE_RANK[x.l.group] ?? 0) - (IN_DEVICE_RANK[y.l.group] ?? 0) ||
        x.i - y.i,
    );
  const newIndex = new Map(order.map((o, n) => [o.i, n]));
  return {
    ...m,
    lanes: order.map((o) => o.l),
    items: m.items.map((it) => ({ ...it, lane: newIndex.get(it.lane)! })),
    counters: m.counters.map((c) => ({ ...c, lane: newIndex.get(c.lane)! })),
  };
}
