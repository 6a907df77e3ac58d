/**
 * `struct dma_resv` (drivers/dma-buf/dma-resv.c): the fences of a buffer with their usage, the
 * reservation lock, and the sleeping wait for fences. Rules RESV-1..5.
 */

import type { Caller } from '../vfs.ts';
import { type SysRet, sleepOn, WaitQueue } from '../wait.ts';
import type { DmaFence } from './fence.ts';

/** `enum dma_resv_usage` (RESV-1). */
export const DMA_RESV_USAGE_KERNEL = 0;
export const DMA_RESV_USAGE_WRITE = 1;
export const DMA_RESV_USAGE_READ = 2;
export const DMA_RESV_USAGE_BOOKKEEP = 3;

/** `dma_resv_usage_rw(write)` (RESV-2): a writer waits for readers and writers, a reader for writers. */
export function dmaResvUsageRw(write: boolean): number {
  return write ? DMA_RESV_USAGE_READ : DMA_RESV_USAGE_WRITE;
}

/** One slot of the fence list. */
export interface ResvSlot {
  fence: DmaFence;
  usage: number;
}

/** Who holds a reservation lock: a task in a syscall, or the kernel itself (v2 submit, V2-SUB-1). */
export type ResvHolder = Caller | 'kernel';

/** A reservation object. */
export class DmaResv {
  readonly slots: ResvSlot[] = [];
  #holder: ResvHolder | null = null;
  /** Tasks waiting for the lock. */
  readonly lockq: WaitQueue;

  constructor(name: string) {
    this.lockq = new WaitQueue(`${name} resv lock`);
  }

  /** The current lock holder, or null. */
  get holder(): ResvHolder | null {
    return this.#holder;
  }

  /** `dma_resv_trylock()`. */
  tryLock(holder: ResvHolder): boolean {
    if (this.#holder !== null) return false;
    this.#holder = holder;
    return true;
  }

  /** `dma_resv_unlock()`: wakes tasks waiting for the lock. */
  unlock(): void {
    this.#holder = null;
    this.lockq.wake();
  }

  /**
   * `dma_resv_lock()` / `dma_resv_lock_interruptible()` as a sleeping step: runs `then` with the lock held,
   * sleeping on the lock's queue while another holder has it.
   */
  lock(
    task: Caller,
    interruptible: boolean,
    signalRet: number,
    then: () => SysRet,
    onAbort?: () => void,
  ): SysRet {
    // The uncontended lock takes no closure (this runs on every DMABUF ENQUEUE).
    if (this.tryLock(task)) return then();
    const attempt = (): SysRet => {
      if (this.tryLock(task)) return then();
      return sleepOn([this.lockq], () => `${this.lockq.name} held`, attempt, {
        interruptible,
        signalRet,
        ...(onAbort ? { onAbort } : {}),
      });
    };
    return attempt();
  }

  /** `dma_resv_add_fence()` (RESV-3): the resv takes its own reference. */
  addFence(fence: DmaFence, usage: number): void {
    fence.get();
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const old = slot.fence;
      if (
        (old.context === fence.context && slot.usage >= usage && fence.seqno >= old.seqno) ||
        old.signaled
      ) {
        slot.fence = fence;
        slot.usage = usage;
        old.put();
        return;
      }
    }
    this.slots.push({ fence, usage });
  }

  /** Whether a fence with usage <= `usage` is unsignalled (`pending(usage).length > 0` without the array). */
  hasPending(usage: number): boolean {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++)
      if (slots[i]!.usage <= usage && !slots[i]!.fence.signaled) return true;
    return false;
  }

  /** Unsignalled fences with usage <= `usage`, in slot order (`dma_resv_for_each_fence_unlocked`). */
  pending(usage: number): DmaFence[] {
    const out: DmaFence[] = [];
    for (const s of this.slots) if (s.usage <= usage && !s.fence.signaled) out.push(s.fence);
    return out;
  }

  /** Every fence with usage <= `usage` (signalled or not). */
  fences(usage: number): DmaFence[] {
    return this.slots.filter((s) => s.usage <= usage).map((s) => s.fence);
  }

  /** `dma_resv_fini()`: drops every fence reference. */
  fini(): void {
    for (const s of this.slots.splice(0)) s.fence.put();
  }
}

/**
 * `dma_resv_wait_timeout()` as a sleeping step (RESV-4): waits for each unsignalled fence of usage <=
 * `usage` in turn, sharing the budget. `done` gets > 0 when all signalled (1 for a zero timeout), 0 on
 * timeout. A signal ends the sleep with the Sleep's `signalRet`. Every fence waited on traces
 * wait_start/wait_end (TRACE-6).
 */
export function resvWaitTimeout(
  resv: DmaResv,
  usage: number,
  timeoutNs: number | null,
  now: () => number,
  reason: string | (() => string),
  signalRet: number,
  done: (ret: number) => SysRet,
  onAbort?: () => void,
): SysRet {
  // Nothing to wait for (the common case): done at once, with no closure built.
  if (!resv.hasPending(usage)) {
    const deadline = timeoutNs === null ? null : now() + timeoutNs;
    return done(deadline === null ? 1 : Math.max(1, deadline - now()));
  }
  let waiting: DmaFence | null = null;
  // dma_fence_wait_timeout() traces wait_end however the wait ends, a signal included (TRACE-6).
  const abort = () => {
    if (waiting) waiting.domain.trace('dma_fence_wait_end', waiting);
    onAbort?.();
  };
  const opts = (timeoutNs: number | null) => ({ timeoutNs, signalRet, onAbort: abort });
  const deadline = timeoutNs === null ? null : now() + timeoutNs;
  const next = (): SysRet => {
    const fence = resv.pending(usage)[0];
    if (!fence) return done(timeoutNs === null ? 1 : Math.max(1, deadline! - now()));
    fence.enableSignaling();
    fence.domain.trace('dma_fence_wait_start', fence);
    waiting = fence;
    const left = deadline === null ? null : deadline - now();
    if (left !== null && left <= 0) {
      fence.domain.trace('dma_fence_wait_end', fence);
      waiting = null;
      return done(0);
    }
    const resume = (timedOut: boolean): SysRet => {
      fence.domain.trace('dma_fence_wait_end', fence);
      waiting = null;
      if (!fence.signaled && timedOut) return done(0);
      if (!fence.signaled)
        return sleepOn([fence.waitq], reason, resume, opts(deadline === null ? null : deadline - now()));
      return next();
    };
    return sleepOn([fence.waitq], reason, resume, opts(left));
  };
  return next();
}
