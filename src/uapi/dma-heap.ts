/**
 * DMA heap user API (`linux/dma-heap.h`): allocating dma-bufs from `/dev/dma_heap/<name>`. Rulebook §1.2-1.4, §9.
 *
 * @packageDocumentation
 */

import { O_ACCMODE, O_CLOEXEC } from './fcntl.ts';
import { _IOWR } from './ioctl.ts';
import type { StructOf } from './struct.ts';
import { defineStruct } from './struct.ts';

/** strace-style rendering of `fd_flags`: the access mode, then O_CLOEXEC, then any other bits in hex. */
export function formatHeapFdFlags(v: number | bigint): string {
  const f = Number(v) >>> 0;
  const acc = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][f & O_ACCMODE]!;
  const parts = [acc];
  if (f & O_CLOEXEC) parts.push('O_CLOEXEC');
  const rest = f & ~(O_ACCMODE | O_CLOEXEC);
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.join('|');
}

/** `fd_flags` bits the heap accepts: O_CLOEXEC and the access mode (0x80003). */
export const DMA_HEAP_VALID_FD_FLAGS = O_CLOEXEC | O_ACCMODE;
/** `heap_flags` bits the heap accepts: none. A `bigint`, like the decoded `__u64` field it is compared with. */
export const DMA_HEAP_VALID_HEAP_FLAGS = 0n;
/** ioctl type of heap requests. */
export const DMA_HEAP_IOC_MAGIC = 'H';

/**
 * `struct dma_heap_allocation_data` {len u64, fd u32, fd_flags u32, heap_flags u64}: 24 bytes, compat-safe; `fd` is
 * written back.
 */
export const dma_heap_allocation_data = defineStruct('dma_heap_allocation_data', [
  ['len', 'u64'],
  ['fd', 'u32'],
  ['fd_flags', 'u32', formatHeapFdFlags],
  ['heap_flags', 'u64', 'hex'],
]);
/** Decoded `struct dma_heap_allocation_data`. */
export type dma_heap_allocation_data = StructOf<typeof dma_heap_allocation_data>;

/**
 * Allocate a dma-buf. `_IOWR('H', 0, struct dma_heap_allocation_data)` = 0xC0184800. The heap dispatches on the
 * nr alone and tolerates other sizes (rulebook HEAP-3, HEAP-4).
 */
export const DMA_HEAP_IOCTL_ALLOC = _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, dma_heap_allocation_data.size('lp64'));
