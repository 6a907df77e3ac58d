/**
 * The IIO DMABUF interface of Paul Cercueil's v2 series (Feb 2022, on 5.17-rc5): IIO exports the
 * DMABUFs itself with IIO_BUFFER_DMABUF_ALLOC_IOCTL and queues them with IIO_BUFFER_DMABUF_ENQUEUE_IOCTL
 * (`bytes_used == 0` meaning the whole buffer). Patches 05/12 (`iio_buffer_chrdev_ioctl`, the ioctls),
 * 07/12 (the exporter), 08/12 (the queue side), 10/12 (CYCLIC) and 11/12 (cyclic transfers).
 * Rules V2-IOC-*, V2-ALLOC-*, V2-ENQ-*, V2-SUB-*, V2-FENCE-*, V2-DBUF-*, V2-REL-*.
 */
import { EBUSY, EFAULT, EINVAL, ENOMEM, EPERM } from '../../uapi/errno.ts';
import { O_CLOEXEC, O_RDWR } from '../../uapi/fcntl.ts';
import { IIO_IOCTL_UNHANDLED } from '../../uapi/iio.ts';
import {
  IIO_BUFFER_DMABUF_ALLOC_IOCTL,
  IIO_BUFFER_DMABUF_CYCLIC,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_DMABUF_SUPPORTED_FLAGS,
  iio_dmabuf_alloc_req,
} from '../../uapi/iio-v2.ts';
import { PAGE_SIZE } from '../../uapi/mman.ts';
import {
  type DmaBuf,
  type DmaBufOps,
  dmaBufExport,
  dmaBufFd,
  dmaBufGet,
  dmaBufPut,
} from '../dma-buf/dma-buf.ts';
import { DmaFence, type DmaFenceOps } from '../dma-buf/fence.ts';
import { DMA_RESV_USAGE_WRITE } from '../dma-buf/resv.ts';
import { pageAlign } from '../mm.ts';
import type { Caller, File } from '../vfs.ts';
import type { SysRet } from '../wait.ts';
import { copyEnqueueRequest, traceEnqueue } from './buffer.ts';
import {
  type BlockFence,
  IIO_BLOCK_STATE_ACTIVE,
  IIO_BLOCK_STATE_DEAD,
  IIO_BLOCK_STATE_QUEUED,
  type IioDmaBufferBlock,
} from './buffer-dma.ts';
import { DmaengineBuffer } from './buffer-dmaengine.ts';
import type { BufferIoctlHandler, IioBuffer, IioDevBufferPair } from './device.ts';

/** What a v2 dma-buf's exporter data is: its block, on the queue that allocated it. */
interface V2Export {
  readonly block: IioDmaBufferBlock;
  readonly queue: DmaengineBuffer;
  /**
   * File references the queue holds without an attachment: the block from ENQUEUE to completion or abort,
   * and the references V2-ENQ-11 leaks.
   */
  queueRefs: number;
}

/** `iio_buffer_dma_buf_ops` of the v2 series (patch 07/12): mmap, no CPU-access ops. */
const v2ExporterOps: DmaBufOps = {
  exporterName: 'industrialio_buffer_dma',
  // dma_alloc_coherent() memory: the CPU mapping is uncached, nothing to maintain (V2-DBUF-5).
  coherentMemory: true,
  release: (dmabuf) => {
    const { block, queue } = dmabuf.priv as V2Export;
    const { trace, pages } = queue.iio;
    // V2-DBUF-8: the series frees the block without ever marking it DEAD, and the kernel warns.
    if (block.state !== IIO_BLOCK_STATE_DEAD)
      trace.log(
        'warn',
        queue.buffer.dev.devName,
        `WARNING: block ${block.id} freed while not DEAD (V2-DBUF-8)`,
      );
    pages.free(dmabuf.size);
    block.ref.put();
  },
  mmap: (dmabuf, vma) => {
    vma.backing = dmabuf.sg[0]!;
    vma.backingOffset = vma.offset;
    vma.name = dmabuf.path;
    return 0;
  },
  exporterRefs: (dmabuf) => (dmabuf.priv as V2Export).queueRefs,
};

/** `iio_buffer_chrdev_ioctl()` of patch 05/12 and its release (V2-REL-1: it touches no dma-buf). */
export const v2BufferIoctl: BufferIoctlHandler = {
  /**
   * `iio_buffer_chrdev_ioctl()` of patch 05/12 (V2-IOC-1, V2-IOC-3): any other command returns the
   * internal IIO_IOCTL_UNHANDLED (1) as if it had succeeded; O_NONBLOCK is ignored.
   */
  ioctl(_file: File, ib: IioDevBufferPair, cmd: number, arg: number, task: Caller): SysRet {
    switch (cmd >>> 0) {
      case IIO_BUFFER_DMABUF_ALLOC_IOCTL:
        return v2AllocDmabuf(ib.buffer, arg, task);
      case IIO_BUFFER_DMABUF_ENQUEUE_IOCTL:
        return v2EnqueueDmabuf(ib.buffer, arg, task);
      default:
        return IIO_IOCTL_UNHANDLED;
    }
  },
  release(_ib: IioDevBufferPair): void {},
};

/** `iio_buffer_alloc_dmabuf()` + `iio_dma_buffer_alloc_dmabuf()` (V2-ALLOC-1..11). */
function v2AllocDmabuf(buffer: IioBuffer, arg: number, task: Caller): SysRet {
  const queue = buffer.access;
  if (!(queue instanceof DmaengineBuffer)) return -EPERM;
  const abi = task.compat ? 'ilp32' : 'lp64';
  const raw = task.mm.copyFromUser(arg, iio_dmabuf_alloc_req.size(abi));
  if (!raw) return -EFAULT;
  const req = iio_dmabuf_alloc_req.decode(raw, abi);
  if (req.resv !== 0n) return -EINVAL;
  if (queue.fileio.enabled) return -EBUSY;
  if (req.size === 0n) return -EINVAL;
  queue.fileioFree();
  const { pages, dmaBuf } = queue.iio;
  const aligned = (req.size + BigInt(PAGE_SIZE - 1)) & ~BigInt(PAGE_SIZE - 1);
  if (aligned > BigInt(pages.available())) return -ENOMEM;
  const size = Number(aligned);
  pages.alloc(size);
  const block = queue.allocBlock(Number(req.size), false)!;
  const memory = new Uint8Array(pageAlign(size));
  block.vecs = [memory];
  const dmabuf = dmaBufExport(dmaBuf, {
    ops: v2ExporterOps,
    size,
    sg: [memory],
    flags: O_RDWR,
    priv: { block, queue, queueRefs: 0 } satisfies V2Export,
  });
  const fd = dmaBufFd(task, dmabuf, O_CLOEXEC);
  if (fd < 0) dmabuf.file.put();
  return fd;
}

/** `iio_buffer_enqueue_dmabuf()` + `iio_dma_buffer_enqueue_dmabuf()` (V2-ENQ-1..15). */
function v2EnqueueDmabuf(buffer: IioBuffer, arg: number, task: Caller): SysRet {
  const queue = buffer.access;
  if (!(queue instanceof DmaengineBuffer)) return -EPERM;
  const { fences, trace } = queue.iio;
  const request = copyEnqueueRequest(
    buffer,
    arg,
    task,
    IIO_BUFFER_DMABUF_SUPPORTED_FLAGS,
    IIO_BUFFER_DMABUF_CYCLIC,
  );
  if (typeof request === 'number') return request;
  const { req, cyclic } = request;
  if (queue.fileio.enabled) return -EBUSY;
  const dmabuf = dmaBufGet(task, req.fd);
  if (typeof dmabuf === 'number') return dmabuf;
  if (dmabuf.ops.exporterName !== 'industrialio_buffer_dma') {
    trace.log('err', buffer.dev.devName, 'importing DMABUFs from other drivers is not yet supported');
    dmaBufPut(dmabuf);
    return -EINVAL;
  }
  const exp = dmabuf.priv as V2Export;
  const { block } = exp;
  if (req.bytes_used > BigInt(block.size)) {
    dmaBufPut(dmabuf);
    return -EINVAL;
  }
  block.bytesUsed = req.bytes_used === 0n ? block.size : Number(req.bytes_used);
  block.cyclic = cyclic;
  // V2-ENQ-11: a QUEUED block makes the call a no-op that keeps the dma-buf reference it took.
  if (block.state === IIO_BLOCK_STATE_QUEUED) {
    exp.queueRefs++;
    traceEnqueue(task, buffer, dmabuf.ino, Number(req.bytes_used), block.size);
    return 0;
  }
  if (block.state === IIO_BLOCK_STATE_ACTIVE || block.state === IIO_BLOCK_STATE_DEAD) {
    dmaBufPut(dmabuf);
    return -EBUSY;
  }
  // V2-ENQ-13: iio_dma_buffer_create_dma_fence()'s kzalloc fails before a context is taken; bytes_used and
  // the cyclic flag stay written (V2-ENQ-10), the block stays DONE, no fence is published (V2-FENCE-4).
  const { faults } = queue.iio;
  if (faults.armed) {
    const injected = faults.hit('iio_dma_fence_alloc');
    if (injected) {
      dmaBufPut(dmabuf);
      return injected;
    }
  }
  const name = queue.chan.spec.name;
  const ops: DmaFenceOps = { driverName: name, timelineName: name, detachNamesWhenSignaled: false };
  const fence = new DmaFence(fences, ops, fences.contextAlloc(), 0);
  // V2-ENQ-14: the exclusive fence replaces whatever the dma-buf had, signalled or not.
  dmabuf.resv.fini();
  dmabuf.resv.addFence(fence, DMA_RESV_USAGE_WRITE);
  fence.put();
  block.fence = new V2BlockFence(dmabuf, exp, fence);
  queue.enqueue(block);
  traceEnqueue(task, buffer, dmabuf.ino, Number(req.bytes_used), block.size);
  return 0;
}

/**
 * The completion hooks of a v2 block (V2-SUB-1, V2-SUB-4, V2-FENCE-1, V2-FENCE-2): the reservation lock is
 * held from submit to completion or abort; only completion signals the fence; the dma-buf reference the
 * enqueue took is dropped at either. A class, not an object of closures: one per ENQUEUE.
 */
class V2BlockFence implements BlockFence {
  readonly keepOnSubmitFailure = true;
  readonly #dmabuf: DmaBuf;
  readonly #exp: V2Export;
  readonly #fence: DmaFence;
  #released = false;

  constructor(dmabuf: DmaBuf, exp: V2Export, fence: DmaFence) {
    this.#dmabuf = dmabuf;
    this.#exp = exp;
    this.#fence = fence;
    exp.queueRefs++;
  }

  submitted(): void {
    this.#dmabuf.resv.tryLock('kernel');
  }

  done(error: number): void {
    if (error) this.#fence.setError(error);
    this.#fence.signal();
    this.aborted();
  }

  aborted(): void {
    if (this.#dmabuf.resv.holder === 'kernel') this.#dmabuf.resv.unlock();
    if (!this.#released) {
      this.#released = true;
      this.#exp.queueRefs--;
      dmaBufPut(this.#dmabuf);
    }
  }
}
