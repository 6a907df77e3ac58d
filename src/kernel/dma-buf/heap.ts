/**
 * The dma-heap framework with its system heap (drivers/dma-buf/dma-heap.c, heaps/system_heap.c):
 * `/dev/dma_heap/system` and DMA_HEAP_IOCTL_ALLOC. Rules HEAP-1..14, DMMAP-3.
 */

import { DMA_HEAP_VALID_FD_FLAGS } from '../../uapi/dma-heap.ts';
import { EFAULT, EINVAL, EMFILE, ENOMEM } from '../../uapi/errno.ts';
import { O_ACCMODE, O_CLOEXEC } from '../../uapi/fcntl.ts';
import { _IOC_NR, _IOC_READ, _IOC_SIZE, _IOC_WRITE } from '../../uapi/ioctl.ts';
import { PAGE_SIZE } from '../../uapi/mman.ts';
import type { PagePool } from '../pages.ts';
import { type Caller, compatPtrIoctl, type FileOperations, newInode, type PathTree } from '../vfs.ts';
import { type DmaBuf, type DmaBufCore, type DmaBufOps, dmaBufExport } from './dma-buf.ts';

/** Misc major of `/dev/dma_heap/*` in this simulation. */
export const DMA_HEAP_MAJOR = 248;
/** Size of the kernel's `struct dma_heap_allocation_data` (HEAP-4). */
const KDATA_SIZE = 24;
/** Chunk sizes the system heap tries, largest first (orders 8, 4, 0). */
const CHUNKS = [1 << 20, 64 << 10, 4 << 10];

/** A system-heap buffer: one zeroed allocation remembered as the physically contiguous chunks it was made of. */
interface SystemHeapBuffer {
  readonly chunks: readonly number[];
  readonly bytes: number;
}

/** Splits `len` (page-aligned) into chunks, largest first, as `alloc_largest_available` does. */
function chunksOf(len: number): number[] {
  const out: number[] = [];
  let left = len;
  for (const c of CHUNKS)
    while (left >= c) {
      out.push(c);
      left -= c;
    }
  return out;
}

/** What the system heap needs of the kernel. */
export interface SystemHeapDeps {
  readonly paths: PathTree;
  readonly pages: PagePool;
  readonly dmaBuf: DmaBufCore;
}

/** One kernel's system heap: where its memory comes from and the ops of the buffers it exports. */
interface SystemHeap {
  readonly deps: SystemHeapDeps;
  readonly ops: DmaBufOps;
}

/** `system_heap_buf_ops`. */
function systemHeapOps(pages: PagePool): DmaBufOps {
  return {
    exporterName: 'system',
    release(dmabuf) {
      return pages.free((dmabuf.priv as SystemHeapBuffer).bytes);
    },
    mmap(dmabuf, vma) {
      const buf = dmabuf.priv as SystemHeapBuffer;
      if (!vma.shared) {
        // remap_pfn_range on a private (COW) mapping must cover the VMA in one call: one chunk (DMMAP-3).
        let start = 0;
        const first = vma.offset;
        const inside = buf.chunks.some((c) => {
          const ok = first >= start && first + vma.length <= start + c;
          start += c;
          return ok;
        });
        if (!inside) return -EINVAL;
      }
      vma.backing = dmabuf.sg[0]!;
      vma.backingOffset = vma.offset;
      vma.name = dmabuf.path;
      return 0;
    },
    // system_heap_dma_buf_begin/end_cpu_access(): cache maintenance for each mapped attachment only; a
    // buffer no device has mapped gets none, even on a non-coherent platform.
    beginCpuAccess(dmabuf, dir) {
      if (dmabuf.mappedAttachments > 0) dmabuf.syncCaches(true, dir);
      return 0;
    },
    endCpuAccess(dmabuf, dir) {
      if (dmabuf.mappedAttachments > 0) dmabuf.syncCaches(false, dir);
      return 0;
    },
    // system_heap_map_dma_buf() / _unmap_dma_buf(): dma_map_sgtable() syncs for the device (a clean),
    // dma_unmap_sgtable() for the CPU (an invalidate unless the direction is to-device).
    mapAttachment(dmabuf, dir) {
      dmabuf.mappedAttachments++;
      dmabuf.syncCaches(false, dir);
    },
    unmapAttachment(dmabuf, dir) {
      dmabuf.mappedAttachments--;
      dmabuf.syncCaches(true, dir);
    },
    attach() {
      return 0;
    },
  };
}

/** `dma_heap_ioctl_allocate()` with the system heap: the new dma-buf (fd field not yet set), or -errno. */
function heapAllocate(
  heap: SystemHeap,
  len: bigint,
  fdFlags: number,
  heapFlags: bigint,
  fdField: number,
): DmaBuf | number {
  if (fdField !== 0) return -EINVAL;
  if (fdFlags & ~DMA_HEAP_VALID_FD_FLAGS) return -EINVAL;
  if (heapFlags !== 0n) return -EINVAL;
  const aligned = (len + BigInt(PAGE_SIZE - 1)) & ~BigInt(PAGE_SIZE - 1) & 0xffffffffffffffffn;
  if (aligned === 0n) return -EINVAL;
  const { pages, dmaBuf } = heap.deps;
  if (aligned > BigInt(pages.available())) return -ENOMEM;
  const bytes = Number(aligned);
  pages.alloc(bytes);
  const buffer: SystemHeapBuffer = { chunks: chunksOf(bytes), bytes };
  return dmaBufExport(dmaBuf, {
    ops: heap.ops,
    size: bytes,
    sg: [new Uint8Array(bytes)],
    flags: fdFlags & O_ACCMODE,
    priv: buffer,
  });
}

/** `dma_heap_ioctl()` (HEAP-3..13). */
function heapIoctl(heap: SystemHeap, cmd: number, arg: number, task: Caller): number {
  if (_IOC_NR(cmd) >= 1) return -EINVAL;
  const dir = cmd >>> 30;
  const size = _IOC_SIZE(cmd);
  const inSize = dir & _IOC_WRITE ? size : 0;
  const outSize = dir & _IOC_READ ? size : 0;
  const kdata = new Uint8Array(Math.max(inSize, outSize, KDATA_SIZE));
  if (inSize > 0) {
    const b = task.mm.copyFromUser(arg, inSize);
    if (!b) return -EFAULT;
    kdata.set(b.subarray(0, Math.min(b.length, kdata.length)));
  }
  const dv = new DataView(kdata.buffer);
  const len = dv.getBigUint64(0, true);
  const fdField = dv.getUint32(8, true);
  const fdFlags = dv.getUint32(12, true);
  const heapFlags = dv.getBigUint64(16, true);
  const dmabuf = heapAllocate(heap, len, fdFlags, heapFlags, fdField);
  if (typeof dmabuf === 'number') return dmabuf;
  const fd = task.files.allocFd();
  if (fd < 0) {
    dmabuf.file.put();
    return -EMFILE;
  }
  dv.setUint32(8, fd, true);
  if (outSize > 0 && !task.mm.copyToUser(arg, kdata.subarray(0, outSize))) {
    dmabuf.file.put();
    return -EFAULT;
  }
  task.files.install(fd, dmabuf.file, (fdFlags & O_CLOEXEC) !== 0);
  return 0;
}

/** Creates `/dev/dma_heap/system`. */
export function registerSystemHeap(deps: SystemHeapDeps): void {
  const heap: SystemHeap = { deps, ops: systemHeapOps(deps.pages) };
  deps.paths.add(
    '/dev/dma_heap/system',
    newInode(deps.paths.allocIno(), 'chr', 0o600, heapFops, heap, { major: DMA_HEAP_MAJOR, minor: 0 }),
  );
}

/** `dma_heap_fops`: the heap is the inode's private data. */
const heapFops: FileOperations = {
  nonseekable: true,
  open: () => 0,
  unlockedIoctl: (file, cmd, arg, task) => heapIoctl(file.inode.priv as SystemHeap, cmd >>> 0, arg, task),
  compatIoctl: compatPtrIoctl,
};
