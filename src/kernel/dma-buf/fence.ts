/**
 * `struct dma_fence` (drivers/dma-buf/dma-fence.c): a one-shot completion with a context and sequence
 * number, an optional error, callbacks, and the tracepoints of include/trace/events/dma_fence.h.
 * Rules FENCE-1..6, TRACE-1..6.
 */
import { ENOENT } from '../../uapi/errno.ts';
import { KernelBug } from '../bug.ts';
import { Census, Refcounted } from '../kref.ts';
import type { Task } from '../task.ts';
import { WaitQueue } from '../wait.ts';

/** The fence tracepoints. */
export type FenceTraceEvent =
  | 'dma_fence_init'
  | 'dma_fence_emit'
  | 'dma_fence_signaled'
  | 'dma_fence_destroy'
  | 'dma_fence_enable_signal'
  | 'dma_fence_wait_start'
  | 'dma_fence_wait_end';

/** Observation events of fences. */
export interface FenceEvents {
  'fence:trace': (e: {
    event: FenceTraceEvent;
    driver: string;
    timeline: string;
    context: number;
    seqno: number;
    /** The task in whose context it happened, or null for interrupt/worker context. */
    task: Task | null;
    /** Without a task: a tasklet (softirq), a worker, or null for a hard interrupt. */
    bh: 'softirq' | 'worker' | null;
    time: number;
  }) => void;
}

/** What names a fence in traces (`dma_fence_ops.get_driver_name/get_timeline_name`). */
export interface DmaFenceOps {
  readonly driverName: string;
  readonly timelineName: string;
  /** TRACE-4: after signalling, mainline reports `detached-driver` / `signaled-timeline` (v2: false). */
  readonly detachNamesWhenSignaled: boolean;
  /** The fence has an `enable_signaling` op (fence arrays): the first callback or wait traces it (TRACE-5). */
  readonly enableSignaling?: boolean;
}

/** Per-kernel fence state: the context counter (FENCE-1) and the trace sink. */
export class FenceDomain {
  #nextContext = 1;
  readonly census: Census;
  readonly now: () => number;
  readonly #trace: ((e: Parameters<FenceEvents['fence:trace']>[0]) => void) | null;
  /** The task whose syscall runs now, for trace attribution. */
  current: () => Task | null;
  /** The bottom-half context kernel code without a task runs in (see `Sched.bh`). */
  readonly bh: () => 'softirq' | 'worker' | null;

  constructor(
    census: Census,
    now: () => number,
    trace: ((e: Parameters<FenceEvents['fence:trace']>[0]) => void) | null,
    current: () => Task | null,
    bh: () => 'softirq' | 'worker' | null = () => null,
  ) {
    this.census = census;
    this.now = now;
    this.#trace = trace;
    this.current = current;
    this.bh = bh;
  }

  #stub: DmaFence | null = null;

  /**
   * `dma_fence_get_stub()` (FENCE-6): the one stub fence of the kernel, context 0, seqno 0, signalled at
   * boot and never freed. Returns a new reference.
   */
  stub(detachNames: boolean): DmaFence {
    if (!this.#stub) {
      // A static object in the kernel: not counted among the fences that must be freed.
      this.#stub = new DmaFence(
        this,
        { driverName: 'stub', timelineName: 'stub', detachNamesWhenSignaled: detachNames },
        0,
        0,
        true,
        new Census(),
      );
    }
    return this.#stub.get();
  }

  /** `dma_fence_context_alloc(1)`: a new context number, from 1 (0 is the stub's). */
  contextAlloc(): number {
    return this.#nextContext++;
  }

  /** Emits a fence tracepoint. */
  trace(event: FenceTraceEvent, f: DmaFence): void {
    if (!this.#trace) return;
    const detached =
      f.ops.detachNamesWhenSignaled &&
      f.signaled &&
      event !== 'dma_fence_signaled' &&
      event !== 'dma_fence_init';
    this.#trace({
      event,
      driver: detached ? 'detached-driver' : f.ops.driverName,
      timeline: detached ? 'signaled-timeline' : f.ops.timelineName,
      context: f.context >>> 0,
      seqno: f.seqno >>> 0,
      task: this.current(),
      bh: this.bh(),
      time: this.now(),
    });
  }
}

/** `struct dma_fence`: signals once, optionally with an error, and wakes its callbacks and waiters. */
export class DmaFence extends Refcounted {
  readonly domain: FenceDomain;
  readonly ops: DmaFenceOps;
  readonly context: number;
  readonly seqno: number;
  /** 0, or the negative errno set before signalling (FENCE-3). */
  error = 0;
  /** Virtual time of the signal, or null while pending. */
  timestamp: number | null = null;
  /** Members of a fence array (`dma_fence_array`), each holding a reference; null for plain fences. */
  members: DmaFence[] | null = null;
  #callbacks: ((f: DmaFence) => void)[] = [];
  #waitq: WaitQueue | null = null;

  /** `dma_fence_init()` (TRACE-2). */
  constructor(
    domain: FenceDomain,
    ops: DmaFenceOps,
    context: number,
    seqno: number,
    signaled = false,
    census: Census = domain.census,
  ) {
    super(census, 'dma_fence');
    this.domain = domain;
    this.ops = ops;
    this.context = context;
    this.seqno = seqno;
    if (signaled) this.timestamp = domain.now();
    else domain.trace('dma_fence_init', this);
  }

  /** True once signalled. */
  get signaled(): boolean {
    return this.timestamp !== null;
  }

  /** `dma_fence_get_status()`: 0 pending, 1 signalled fine, negative: signalled with that error (FENCE-3). */
  get status(): number {
    if (!this.signaled) return 0;
    return this.error < 0 ? this.error : 1;
  }

  /** `dma_fence_release()`: the last reference went. */
  protected release(): void {
    this.domain.trace('dma_fence_destroy', this);
    for (const m of this.members?.splice(0) ?? []) m.put();
  }

  /** Queue that wakes when the fence signals (what `dma_fence_wait` sleeps on). */
  get waitq(): WaitQueue {
    this.#waitq ??= new WaitQueue(`fence ${this.context}:${this.seqno}`);
    return this.#waitq;
  }

  /** `dma_fence_set_error()`: only before the signal. */
  setError(error: number): void {
    if (this.signaled)
      throw new KernelBug(`dma_fence_set_error on signalled fence ${this.context}:${this.seqno}`);
    this.error = error;
  }

  /**
   * `dma_fence_signal()` (FENCE-2): the first call records the time, traces and runs the callbacks in the
   * order they were added; later calls do nothing. Returns false when it was already signalled.
   */
  signal(): boolean {
    if (this.signaled) return false;
    this.timestamp = this.domain.now();
    this.domain.trace('dma_fence_signaled', this);
    const cbs = this.#callbacks;
    if (cbs.length > 0) {
      this.#callbacks = [];
      for (let i = 0; i < cbs.length; i++) cbs[i]!(this);
    }
    this.#waitq?.wake();
    return true;
  }

  #signalingEnabled = false;

  /** `dma_fence_enable_sw_signaling()`: traced once, and only for fences with the op (TRACE-5). */
  enableSignaling(): void {
    if (this.#signalingEnabled || this.signaled) return;
    this.#signalingEnabled = true;
    if (this.ops.enableSignaling) this.domain.trace('dma_fence_enable_signal', this);
  }

  /** `dma_fence_add_callback()` (FENCE-4): 0, or -ENOENT when already signalled (the callback is not run). */
  addCallback(cb: (f: DmaFence) => void): number {
    if (this.signaled) return -ENOENT;
    this.enableSignaling();
    this.#callbacks.push(cb);
    return 0;
  }

  /** `dma_fence_remove_callback()`: true when it was still pending. */
  removeCallback(cb: (f: DmaFence) => void): boolean {
    const i = this.#callbacks.indexOf(cb);
    if (i < 0) return false;
    this.#callbacks.splice(i, 1);
    return true;
  }

  /** The driver and timeline names as the fence reports them now (TRACE-4 after the signal). */
  names(): { driver: string; timeline: string } {
    const detached = this.ops.detachNamesWhenSignaled && this.signaled;
    return {
      driver: detached ? 'detached-driver' : this.ops.driverName,
      timeline: detached ? 'signaled-timeline' : this.ops.timelineName,
    };
  }

  /** Waiters and callbacks still registered. */
  get callbackCount(): number {
    return this.#callbacks.length;
  }
}

/** `dma_fence_get_stub()` of the mainline kernel (FENCE-6): a new reference to the domain's stub. */
export function stubFence(domain: FenceDomain): DmaFence {
  return domain.stub(true);
}
