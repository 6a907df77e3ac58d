/**
 * The structured record of a run that the timeline exporters (HTML, Perfetto) draw: processes and their
 * syscalls (named by request, with the strace line, the time spent asleep and what woke them), DMA transfers
 * and their IRQs, the blocks of each DMA buffer queue, fences, lost data, kernel instants and contract
 * findings. Everything is read from the simulation's bus; what no tracepoint says is derived here and marked
 * as derived:
 * - which block and fence an ENQUEUE made: the `dma_fence_init` its task traced and the `iio:block` traced
 *   during the call, bound when `iio:enqueue` reports it;
 * - which transfer moved a block: the transfer's label (`iio:device0 block 3`);
 * - what woke a sleeping task: the fence signalled, or the transfer whose completion callback ran, at the
 *   same instant just before the `task:wake`;
 * - a fence's error: `dma_fence_signaled` carries none; a fence signalled when its block completed is
 *   reported as 0, one signalled when its block was aborted (bytes_used 0) as -EINTR.
 * Records are appended in the order the bus emitted them; cross references are indices into the array.
 */
import type { Task } from '../kernel/task.ts';
import type { SimEvents } from '../sim/simulator.ts';
import { DMA_BUF_SYNC_END } from '../uapi/dma-buf.ts';
import { EINTR } from '../uapi/errno.ts';
import type { AbiProfile } from '../uapi/ioctls.ts';
import { ioctlRequestName } from '../uapi/names.ts';
import { SIGKILL, SIGNAL_NAMES } from '../uapi/signal.ts';
import { formatFtrace } from './ftrace.ts';
import * as notes from './notes.ts';
import type { Strace } from './strace.ts';

/** What ended a sleep: a fence that signalled, or a transfer whose completion callback ran. */
export type WakeCause = { kind: 'fence'; fence: string } | { kind: 'transfer'; transfer: number };

/** One sleep inside a syscall. `to` is null while it still sleeps. */
export interface SleepRecord {
  from: number;
  to: number | null;
  reason: string;
  timedOut: boolean;
  cause: WakeCause | null;
}

/** A syscall from entry to the return to user space (`end` null: it never returned while recorded). */
export interface SyscallEvent {
  kind: 'syscall';
  pid: number;
  comm: string;
  name: string;
  /** The ioctl request's name (`IIO_BUFFER_DMABUF_ENQUEUE_IOCTL`), null for other syscalls. */
  request: string | null;
  /** What the call did when its name does not say it: `START`/`END` of a DMA_BUF_IOCTL_SYNC. */
  detail: string | null;
  ret: number | null;
  start: number;
  end: number | null;
  /** When the kernel finished (before the syscall's CPU cost). */
  kernelEnd: number | null;
  /** The strace line, without timestamp: `ioctl(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {...}) = 0`. */
  line: string;
  /** ftrace lines the task traced during the call (the fence an ENQUEUE made, a SYNC's fence wait). */
  ftrace: string[];
  sleeps: SleepRecord[];
  /** returned; killed: the task died inside it; unfinished: still in it when the recording stopped. */
  outcome: 'returned' | 'killed' | 'unfinished';
}

/** A DMA transfer (`end` null: still running when the recording stopped). */
export interface TransferEvent {
  kind: 'transfer';
  channel: string;
  /** The controller's transfer number. */
  id: number;
  label: string;
  /** Device and block parsed from the label (`iio:device0 block 3`), when it names one. */
  device: string | null;
  block: number | null;
  start: number;
  end: number | null;
  status: 'running' | 'complete' | 'error' | 'aborted';
  /** When the completion callback ran. */
  irq: number | null;
  length: number;
  streamByte: number;
  residue: number;
  /** The ENQUEUE record that queued this block (index), if any. */
  enqueue: number | null;
  /** `[hw]` and `[irq]` lines. */
  lines: string[];
}

/** A dma_fence from `dma_fence_init` to `dma_fence_signaled` (`end` null: never signalled). */
export interface FenceEvent {
  kind: 'fence';
  context: number;
  seqno: number;
  driver: string;
  timeline: string;
  /** The task that created it. */
  pid: number | null;
  start: number;
  end: number | null;
  destroyed: number | null;
  /** Signalled with an error (derived, see the module comment). */
  error: boolean;
  /** The error it was signalled with, derived from its block's path; null when unknown. */
  errno: number | null;
  /** completed: its block completed; aborted: its block was taken back (disable). */
  cause: 'completed' | 'aborted' | null;
  /** The transfer that completed its block had failed (the controller reported an error). */
  dmaError: boolean;
  /** The block it belongs to (bound at ENQUEUE). */
  device: string | null;
  block: number | null;
  /** ftrace lines of its tracepoints. */
  lines: string[];
}

/** A block of a DMA buffer queue changed place: kernel states, and the derived DMA, IRQ and user phases. */
export interface BlockEvent {
  kind: 'block';
  device: string;
  block: number;
  /** iio: QUEUED, ACTIVE, DONE, DEAD; dma: DMA (transfer running), IRQ (done, callback pending); cpu: USER. */
  state: string;
  source: 'iio' | 'dma' | 'cpu';
  bytesUsed: number | null;
  time: number;
}

/** A DMABUF ENQUEUE that returned 0, with what it made. */
export interface EnqueueEvent {
  kind: 'enqueue';
  pid: number;
  device: string;
  buffer: number;
  ino: number;
  bytesUsed: number;
  blockBytes: number;
  time: number;
  block: number | null;
  /** `context:seqno` of its fence. */
  fence: string | null;
  /** Index of the ENQUEUE syscall record. */
  syscall: number | null;
}

/** Data lost between transfers (ADC overflow, DAC underflow). */
export interface GapEvent {
  kind: 'gap';
  channel: string;
  time: number;
  scans: number;
  bytes: number;
  what: 'overflow' | 'underflow';
  line: string;
}

/** An instant of the IIO core, dma-buf caches or kernel log. */
export interface KernelEvent {
  kind: 'kernel';
  what: 'enable' | 'disable' | 'log' | 'discard' | 'dma-error-ignored' | 'cache';
  device: string;
  level: 'info' | 'warn' | 'err';
  time: number;
  line: string;
}

/** A contract-checker finding. */
export interface FindingEvent {
  kind: 'finding';
  finding: string;
  pid: number | null;
  comm: string;
  message: string;
  time: number;
  line: string;
}

/** A signal delivered (kill, interrupt, restart). */
export interface SignalEvent {
  kind: 'signal';
  pid: number;
  comm: string;
  signal: number;
  name: string;
  action: 'kill' | 'interrupt' | 'restart';
  time: number;
  line: string;
}

/** A task exited. */
export interface ExitEvent {
  kind: 'exit';
  pid: number;
  comm: string;
  code: number | null;
  signal: number | null;
  reason: string;
  time: number;
  line: string;
}

/** A process seen for the first time (at its first syscall). */
export interface ProcessEvent {
  kind: 'process';
  pid: number;
  comm: string;
  compat: boolean;
  time: number;
}

/** A structured record of what happened, for timeline exporters (HTML, Perfetto). */
export type TimelineEvent =
  | ProcessEvent
  | SyscallEvent
  | SignalEvent
  | ExitEvent
  | TransferEvent
  | FenceEvent
  | BlockEvent
  | EnqueueEvent
  | GapEvent
  | KernelEvent
  | FindingEvent;

/** Subscribes a listener for as long as the recording runs. */
export type Subscribe = <K extends keyof SimEvents>(name: K, listener: SimEvents[K]) => void;

/** Shared state of one recording. */
interface State {
  readonly out: TimelineEvent[];
  readonly strace: Strace;
  readonly profile: AbiProfile;
  /** Each task's syscall in progress (index of its record). */
  readonly calls: Map<Task, number>;
  /** Which pid runs which syscall (for tracepoints that carry a pid only). */
  readonly byPid: Map<number, number>;
  readonly fences: Map<string, FenceEvent>;
  /** Fences traced by a task and not yet bound to an ENQUEUE, by pid. */
  readonly newFence: Map<number, string>;
  /** The last block traced QUEUED or ACTIVE per device, for the ENQUEUE in progress. */
  readonly lastQueued: Map<string, { block: number; time: number }>;
  /** ENQUEUEs whose block has not started a transfer yet, by `device:block`. */
  readonly waitingTransfer: Map<string, number>;
  /** Transfers not yet through their completion callback, by `channel:id`. */
  readonly transfers: Map<string, number>;
  /** The last transfer of each block, by `device:block`. */
  readonly blockTransfer: Map<string, number>;
  /** Block of each DMABUF inode (the last ENQUEUE), by `device` too for CPU phases. */
  readonly blockOfIno: Map<number, { device: string; block: number }>;
  /** The last block traced DONE (its bytes_used tells completion from abort). */
  lastDone: { device: string; block: number; bytesUsed: number; time: number } | null;
  /** What could have woken a task at this instant. */
  cause: (WakeCause & { time: number }) | null;
}

function push(s: State, e: TimelineEvent): number {
  s.out.push(e);
  return s.out.length - 1;
}

function call(s: State, task: Task): SyscallEvent | null {
  const i = s.calls.get(task);
  return i === undefined ? null : (s.out[i] as SyscallEvent);
}

/** The label of a transfer as the DMA buffer queue names it: `iio:device0 block 3`. */
function parseBlockLabel(label: string): { device: string; block: number } | null {
  const m = /^(\S+) block (\d+)$/.exec(label);
  return m ? { device: m[1]!, block: Number(m[2]) } : null;
}

/** Syscalls: entry, sleeps and wake-ups, exit, and death inside a call. */
function recordSyscalls(on: Subscribe, s: State): void {
  const seen = new Set<number>();
  on('syscall:enter', (e) => {
    s.cause = null;
    if (!seen.has(e.task.pid)) {
      seen.add(e.task.pid);
      push(s, { kind: 'process', pid: e.task.pid, comm: e.task.comm, compat: e.task.compat, time: e.time });
    }
    const i = push(s, {
      kind: 'syscall',
      pid: e.task.pid,
      comm: e.task.comm,
      name: e.name,
      request: e.name === 'ioctl' ? ioctlRequestName(Number(e.args[1]), s.profile) : null,
      detail: null,
      ret: null,
      start: e.time,
      end: null,
      kernelEnd: null,
      // Until the call returns, the line as strace shows a call in progress.
      line: s.strace.unfinished(e.task) ?? `${e.name}(`,
      ftrace: [],
      sleeps: [],
      outcome: 'unfinished',
    });
    s.calls.set(e.task, i);
    s.byPid.set(e.task.pid, i);
  });
  on('task:sleep', (e) => {
    call(s, e.task)?.sleeps.push({ from: e.time, to: null, reason: e.reason, timedOut: false, cause: null });
  });
  on('task:wake', (e) => {
    const sl = call(s, e.task)?.sleeps.at(-1);
    if (!sl || sl.to !== null) return;
    sl.to = e.time;
    sl.timedOut = e.timedOut;
    if (!e.timedOut && s.cause && s.cause.time === e.time) {
      const { time: _t, ...cause } = s.cause;
      sl.cause = cause;
    }
  });
  on('syscall:exit', (e) => {
    s.cause = null;
    const c = call(s, e.task);
    if (!c) return;
    c.ret = e.ret;
    c.end = e.returnTime;
    c.kernelEnd = e.time;
    c.outcome = 'returned';
    s.calls.delete(e.task);
    s.byPid.delete(e.task.pid);
  });
  s.strace.onCall = (task, line) => {
    const c = call(s, task);
    if (c) c.line = line;
  };
}

/** Signals and exits; a syscall the task dies in ends there, `= ?` as strace shows it. */
function recordSignals(on: Subscribe, s: State): void {
  on('task:signal', (e) => {
    if (e.action === 'pending') return;
    const name = SIGNAL_NAMES[e.signal] ?? String(e.signal);
    push(s, {
      kind: 'signal',
      pid: e.task.pid,
      comm: e.task.comm,
      signal: e.signal,
      name,
      action: e.action,
      time: e.time,
      // SIGKILL has no signal-delivery-stop: strace prints no line for it.
      line:
        e.action === 'kill' && e.signal === SIGKILL
          ? `(${name}: no line in strace)`
          : (s.strace.lastSignal(e.task) ?? `--- ${name} {si_signo=${name}, si_code=SI_USER} ---`),
    });
  });
  on('task:exit', (e) => {
    const x = e.exit;
    const c = call(s, e.task);
    if (c) {
      // The strace layer has already given the line of the call it died in (onCall).
      if (!/\) = \?( |$)/.test(c.line)) c.line = `${c.line || `${c.name}(`}) = ?`;
      c.end = x.time;
      c.kernelEnd = x.time;
      c.outcome = 'killed';
      const last = c.sleeps.at(-1);
      if (last && last.to === null) last.to = x.time;
      s.calls.delete(e.task);
      s.byPid.delete(e.task.pid);
    }
    const sig = x.signal === null ? null : (SIGNAL_NAMES[x.signal] ?? String(x.signal));
    push(s, {
      kind: 'exit',
      pid: e.task.pid,
      comm: e.task.comm,
      code: x.code,
      signal: x.signal,
      reason: x.reason,
      time: x.time,
      line: sig !== null ? `+++ killed by ${sig} +++` : `+++ exited with ${x.code} +++`,
    });
  });
}

/** DMA transfers with their IRQs, and the derived DMA and IRQ phases of the block each one moves. */
function recordTransfers(on: Subscribe, s: State): void {
  const phase = (label: string, state: string, time: number) => {
    const b = parseBlockLabel(label);
    if (b) push(s, { kind: 'block', ...b, state, source: 'dma', bytesUsed: null, time });
  };
  on('dma:start', (e) => {
    const b = parseBlockLabel(e.label);
    const key = b ? `${b.device}:${b.block}` : null;
    const enqueue = key === null ? undefined : s.waitingTransfer.get(key);
    if (key !== null) s.waitingTransfer.delete(key);
    const i = push(s, {
      kind: 'transfer',
      channel: e.channel,
      id: e.id,
      label: e.label,
      device: b?.device ?? null,
      block: b?.block ?? null,
      start: e.time,
      end: null,
      status: 'running',
      irq: null,
      length: e.length,
      streamByte: e.streamByte,
      residue: 0,
      enqueue: enqueue ?? null,
      lines: [notes.dmaStartText(e)],
    });
    s.transfers.set(`${e.channel}:${e.id}`, i);
    if (key !== null) s.blockTransfer.set(key, i);
    phase(e.label, 'DMA', e.time);
  });
  const transfer = (channel: string, id: number) => {
    const i = s.transfers.get(`${channel}:${id}`);
    return i === undefined ? null : (s.out[i] as TransferEvent);
  };
  on('dma:done', (e) => {
    const t = transfer(e.channel, e.id);
    if (t) {
      t.end = e.time;
      t.status = e.status;
      t.residue = e.residue;
      t.lines.push(notes.dmaDoneText(e));
    }
    phase(e.label, 'IRQ', e.time);
  });
  on('dma:irq', (e) => {
    const i = s.transfers.get(`${e.channel}:${e.id}`);
    const t = transfer(e.channel, e.id);
    if (t && i !== undefined) {
      t.irq = e.time;
      t.lines.push(notes.dmaIrqText(e));
      s.cause = { kind: 'transfer', transfer: i, time: e.time };
      s.transfers.delete(`${e.channel}:${e.id}`);
    }
  });
  on('dma:abort', (e) => {
    const t = transfer(e.channel, e.id);
    if (t) {
      t.end = e.time;
      t.status = 'aborted';
      t.residue = t.length - e.bytesDone;
      t.lines.push(notes.dmaAbortText(e));
      s.transfers.delete(`${e.channel}:${e.id}`);
    }
  });
  on('dma:gap', (e) =>
    push(s, {
      kind: 'gap',
      channel: e.channel,
      time: e.time,
      scans: e.scans,
      bytes: e.bytes,
      what: e.kind,
      line: notes.dmaGapText(e),
    }),
  );
}

/** Fences: creation, signal (with the derived error), destruction; ftrace lines of each. */
function recordFences(on: Subscribe, s: State): void {
  on('fence:trace', (e) => {
    const key = `${e.context}:${e.seqno}`;
    const line = formatFtrace(e);
    if (e.task) call(s, e.task)?.ftrace.push(line);
    if (e.event === 'dma_fence_init') {
      const f: FenceEvent = {
        kind: 'fence',
        context: e.context,
        seqno: e.seqno,
        driver: e.driver,
        timeline: e.timeline,
        pid: e.task?.pid ?? null,
        start: e.time,
        end: null,
        destroyed: null,
        error: false,
        errno: null,
        cause: null,
        dmaError: false,
        device: null,
        block: null,
        lines: [line],
      };
      s.fences.set(key, f);
      push(s, f);
      if (e.task) s.newFence.set(e.task.pid, key);
      return;
    }
    const f = s.fences.get(key);
    if (!f) return;
    f.lines.push(line);
    if (e.event === 'dma_fence_signaled') {
      f.end = e.time;
      const d = s.lastDone;
      if (d && d.time === e.time && d.device === f.device && d.block === f.block) {
        f.cause = d.bytesUsed === 0 ? 'aborted' : 'completed';
        f.errno = d.bytesUsed === 0 ? -EINTR : 0;
        f.error = f.errno !== 0;
        const c = s.cause;
        const t = c?.kind === 'transfer' && c.time === e.time ? (s.out[c.transfer] as TransferEvent) : null;
        f.dmaError = t !== null && t.block === f.block && t.device === f.device && t.status === 'error';
      }
      s.cause = { kind: 'fence', fence: key, time: e.time };
    } else if (e.event === 'dma_fence_destroy') {
      f.destroyed = e.time;
      s.fences.delete(key);
    }
  });
}

/** Blocks of DMA buffer queues, the ENQUEUEs that queue DMABUF blocks, and CPU ownership after SYNC START. */
function recordBlocks(on: Subscribe, s: State): void {
  on('iio:block', (e) => {
    push(s, {
      kind: 'block',
      device: e.device,
      block: e.block,
      state: e.state,
      source: 'iio',
      bytesUsed: e.bytesUsed,
      time: e.time,
    });
    if (e.state === 'QUEUED' || e.state === 'ACTIVE')
      s.lastQueued.set(e.device, { block: e.block, time: e.time });
    if (e.state === 'DONE')
      s.lastDone = { device: e.device, block: e.block, bytesUsed: e.bytesUsed, time: e.time };
  });
  on('iio:enqueue', (e) => {
    const q = s.lastQueued.get(e.device);
    const block = q && q.time === e.time ? q.block : null;
    const fence = s.newFence.get(e.pid) ?? null;
    s.newFence.delete(e.pid);
    const f = fence === null ? undefined : s.fences.get(fence);
    if (f) {
      f.device = e.device;
      f.block = block;
    }
    const i = push(s, {
      kind: 'enqueue',
      pid: e.pid,
      device: e.device,
      buffer: e.buffer,
      ino: e.ino,
      bytesUsed: e.bytesUsed,
      blockBytes: e.blockBytes,
      time: e.time,
      block,
      fence,
      syscall: s.byPid.get(e.pid) ?? null,
    });
    if (block === null) return;
    s.blockOfIno.set(e.ino, { device: e.device, block });
    // The transfer may already have started inside the call (an idle controller takes the block at once).
    const last = s.blockTransfer.get(`${e.device}:${block}`);
    const started = last === undefined ? null : (s.out[last] as TransferEvent);
    if (started && started.start === e.time && started.enqueue === null) started.enqueue = i;
    else s.waitingTransfer.set(`${e.device}:${block}`, i);
  });
  on('dmabuf:sync', (e) => {
    const c = s.byPid.get(e.pid);
    const sc = c === undefined ? null : (s.out[c] as SyscallEvent);
    const end = (e.flags & DMA_BUF_SYNC_END) !== 0;
    if (sc) sc.detail = end ? 'END' : 'START';
    const b = s.blockOfIno.get(e.ino);
    if (b && !end)
      push(s, { kind: 'block', ...b, state: 'USER', source: 'cpu', bytesUsed: null, time: e.time });
  });
}

/** Kernel instants and contract findings. */
function recordKernel(on: Subscribe, s: State): void {
  const k = (
    what: KernelEvent['what'],
    device: string,
    time: number,
    line: string,
    level: KernelEvent['level'],
  ) => push(s, { kind: 'kernel', what, device, level, time, line });
  on('iio:enable', (e) => k('enable', e.device, e.time, notes.enableText(e), 'info'));
  on('iio:disable', (e) => k('disable', e.device, e.time, notes.disableText(e), 'info'));
  on('iio:discard', (e) => k('discard', e.device, e.time, notes.discardText(e), 'warn'));
  on('iio:dma-error-ignored', (e) =>
    k('dma-error-ignored', e.device, e.time, notes.dmaErrorIgnoredText(e), 'err'),
  );
  on('kernel:log', (e) => k('log', e.device, e.time, notes.kernelLogText(e), e.level));
  on('dmabuf:cache', (e) => k('cache', `DMABUF ${e.ino}`, e.time, notes.cacheText(e), 'info'));
  on('check:finding', (e) =>
    push(s, {
      kind: 'finding',
      finding: e.kind,
      pid: e.pid,
      comm: e.comm,
      message: e.message,
      time: e.time,
      line: notes.findingText(e),
    }),
  );
}

/** Records the timeline of a simulation's bus into `out`; `strace` supplies each syscall's line. */
export function recordTimeline(
  on: Subscribe,
  strace: Strace,
  profile: AbiProfile,
  out: TimelineEvent[],
): void {
  const s: State = {
    out,
    strace,
    profile,
    calls: new Map(),
    byPid: new Map(),
    fences: new Map(),
    newFence: new Map(),
    lastQueued: new Map(),
    waitingTransfer: new Map(),
    transfers: new Map(),
    blockTransfer: new Map(),
    blockOfIno: new Map(),
    lastDone: null,
    cause: null,
  };
  recordSyscalls(on, s);
  recordSignals(on, s);
  recordTransfers(on, s);
  recordFences(on, s);
  recordBlocks(on, s);
  recordKernel(on, s);
}
