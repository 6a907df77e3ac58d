/**
 * The mainline IIO DMABUF interface (drivers/iio/industrialio-buffer.c, Linux 7.3):
 * IIO_BUFFER_DMABUF_ATTACH_IOCTL, _DETACH_IOCTL and _ENQUEUE_IOCTL on a buffer fd, the per-enqueue fence,
 * and the attachment lifetime. Rules BIOC-1/2, ATT-*, DET-*, ENQ-*, IFENCE-*.
 */
import { EBUSY, EFAULT, EINTR, EINVAL, EPERM, ERESTARTSYS } from '../../uapi/errno.ts';
import { O_NONBLOCK } from '../../uapi/fcntl.ts';
import {
  DMABUF_ENQUEUE_TIMEOUT_MS,
  IIO_BUFFER_DIRECTION_IN,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_CYCLIC,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_DMABUF_SUPPORTED_FLAGS,
} from '../../uapi/iio.ts';
import {
  type DmaBuf,
  type DmaDataDirection,
  dmaBufAttach,
  dmaBufDetach,
  dmaBufGet,
  dmaBufMapAttachment,
  dmaBufPut,
  dmaBufUnmapAttachment,
} from '../dma-buf/dma-buf.ts';
import { DmaFence, type DmaFenceOps } from '../dma-buf/fence.ts';
import {
  DMA_RESV_USAGE_READ,
  DMA_RESV_USAGE_WRITE,
  dmaResvUsageRw,
  resvWaitTimeout,
} from '../dma-buf/resv.ts';
import { Kref } from '../kref.ts';
import { getUserInt } from '../uaccess.ts';
import type { Caller, File } from '../vfs.ts';
import type { SysRet } from '../wait.ts';
import { copyEnqueueRequest, queueLockedForever, traceEnqueue } from './buffer.ts';
import type { BufferIoctlHandler, IioBuffer, IioDevBufferPair } from './device.ts';
import type { IioDmabufBlock } from './types.ts';

/** IIO fences name both driver and timeline `iio` (IFENCE-1). */
export const IIO_FENCE_OPS: DmaFenceOps = {
  driverName: 'iio',
  timelineName: 'iio',
  detachNamesWhenSignaled: true,
};

/** `struct iio_dmabuf_priv`: one attachment of a dma-buf to an IIO buffer. */
export class IioDmabufPriv {
  readonly buffer: IioBuffer;
  readonly dmabuf: DmaBuf;
  readonly block: IioDmabufBlock;
  /** Fence context of the attachment (ATT-3). */
  readonly context: number;
  /** The mapped pages (`sgt`). */
  readonly vecs: readonly Uint8Array[];
  /** Last fence seqno handed out (ENQ-9). */
  seqno = 0;
  readonly ref: Kref;

  constructor(buffer: IioBuffer, dmabuf: DmaBuf, block: IioDmabufBlock, context: number) {
    this.buffer = buffer;
    this.dmabuf = dmabuf;
    this.block = block;
    this.context = context;
    this.vecs = dmabuf.vecs(dmabuf.size);
    this.ref = new Kref(buffer.dev.iio.census, 'iio_dmabuf_attachment', () => this.#release());
  }

  /** `iio_buffer_dmabuf_release()` (DET-5): unmap, the block dies, detach, drop the dma-buf. */
  #release(): void {
    dmaBufUnmapAttachment(this.dmabuf, dmaDirection(this.buffer));
    this.buffer.access.dmabuf!.detachDmabuf(this.block);
    dmaBufDetach(this.dmabuf);
    dmaBufPut(this.dmabuf);
  }
}

/** The DMA direction of a buffer's attachments: from the device for input buffers, to it for output ones. */
function dmaDirection(buffer: IioBuffer): DmaDataDirection {
  return buffer.direction === IIO_BUFFER_DIRECTION_IN ? 'from-device' : 'to-device';
}

/** `buffer->dmabufs`: the attachments of each buffer, most recent first. */
const attachmentLists = new WeakMap<IioBuffer, IioDmabufPriv[]>();

/** The attachments of `buffer` (ATT-13), most recent first. */
export function attachmentsOf(buffer: IioBuffer): IioDmabufPriv[] {
  let list = attachmentLists.get(buffer);
  if (!list) {
    list = [];
    attachmentLists.set(buffer, list);
  }
  return list;
}

/**
 * `iio_buffer_signal_dmabuf_done()` (IFENCE-2..4, IFENCE-7): signals the fence with `ret`, then a worker
 * drops the fence and the attachment reference the enqueue took. The drops cannot happen here: this runs in
 * the completion's (interrupt) context, and the attachment's release may lock the dma-buf's reservation
 * object, which can deadlock against a holder waiting for this very fence.
 */
export function iioBufferSignalDmabufDone(fence: DmaFence, priv: IioDmabufPriv, ret: number): void {
  fence.get();
  if (ret) fence.setError(ret);
  fence.signal();
  priv.buffer.dev.iio.sched.scheduleWork(
    () => `iio fence ${fence.context}:${fence.seqno} cleanup`,
    () => {
      fence.put();
      priv.ref.put();
    },
  );
}

/** `iio_buffer_chrdev_ioctl()` and the DMABUF part of `iio_buffer_chrdev_release()` of Linux 7.3. */
export const mainlineBufferIoctl: BufferIoctlHandler = {
  /** `iio_buffer_chrdev_ioctl()` (BIOC-1, BIOC-2). */
  ioctl(file: File, ib: IioDevBufferPair, cmd: number, arg: number, task: Caller): SysRet {
    const nonblock = (file.flags & O_NONBLOCK) !== 0;
    switch (cmd >>> 0) {
      case IIO_BUFFER_DMABUF_ATTACH_IOCTL:
        return iioBufferAttachDmabuf(ib.buffer, arg, nonblock, task);
      case IIO_BUFFER_DMABUF_DETACH_IOCTL:
        return iioBufferDetachDmabuf(ib.buffer, arg, task);
      case IIO_BUFFER_DMABUF_ENQUEUE_IOCTL:
        return iioBufferEnqueueDmabuf(ib.buffer, arg, nonblock, task);
      default:
        return -EINVAL;
    }
  },

  /** `iio_buffer_chrdev_release()` (BREL-2): every attachment loses its list reference. */
  release(ib: IioDevBufferPair): void {
    for (const priv of attachmentsOf(ib.buffer).splice(0)) priv.ref.put();
  },
};

/** `iio_buffer_attach_dmabuf()` (ATT-1..15). */
function iioBufferAttachDmabuf(buffer: IioBuffer, arg: number, nonblock: boolean, task: Caller): SysRet {
  const ops = buffer.access.dmabuf;
  if (!ops) return -EPERM;
  const fd = getUserInt(task, arg);
  if (fd === null) return -EFAULT;
  const context = buffer.dev.iio.fences.contextAlloc();
  const dmabuf = dmaBufGet(task, fd);
  if (typeof dmabuf === 'number') return dmabuf;
  const err = dmaBufAttach(dmabuf);
  if (err) {
    dmaBufPut(dmabuf);
    return err;
  }
  const undo = () => {
    dmaBufDetach(dmabuf);
    dmaBufPut(dmabuf);
  };
  const locked = (): SysRet => {
    const stuck = queueLockedForever(buffer);
    if (stuck) return stuck;
    // ATT-9: dma_buf_map_attachment(), mapped once for the attachment's life.
    const mapped = dmaBufMapAttachment(dmabuf, dmaDirection(buffer));
    if (mapped) {
      buffer.dev.iio.trace.log('err', buffer.dev.devName, `Unable to map attachment: ${mapped}`);
      dmabuf.resv.unlock();
      undo();
      return mapped;
    }
    const block = ops.attachDmabuf(dmabuf.size);
    if (typeof block === 'number') {
      dmaBufUnmapAttachment(dmabuf, dmaDirection(buffer));
      dmabuf.resv.unlock();
      undo();
      return block;
    }
    const priv = new IioDmabufPriv(buffer, dmabuf, block, context);
    dmabuf.resv.unlock();
    const list = attachmentsOf(buffer);
    if (list.some((p) => p.dmabuf === dmabuf)) {
      priv.ref.put();
      return -EBUSY;
    }
    list.unshift(priv);
    return 0;
  };
  const iioLock = (): SysRet => {
    if (nonblock) {
      if (!dmabuf.resv.tryLock(task)) {
        undo();
        return -EBUSY;
      }
      return locked();
    }
    return dmabuf.resv.lock(task, true, -EINTR, locked, undo);
  };
  // dma_buf_attach() puts the attachment on the dma-buf's list under dma_resv_lock(), uninterruptibly and
  // whatever O_NONBLOCK says: while another task holds the lock, ATTACH waits for it there, and the
  // iio_dma_resv_lock() that follows then finds it free (ATT-7, ATT-8 in docs/quirks.md).
  return dmabuf.resv.lock(task, false, -EINTR, () => {
    dmabuf.resv.unlock();
    return iioLock();
  });
}

/** `iio_buffer_detach_dmabuf()` (DET-1..6). */
function iioBufferDetachDmabuf(buffer: IioBuffer, arg: number, task: Caller): SysRet {
  const fd = getUserInt(task, arg);
  if (fd === null) return -EFAULT;
  const dmabuf = dmaBufGet(task, fd);
  if (typeof dmabuf === 'number') return dmabuf;
  const list = attachmentsOf(buffer);
  const i = list.findIndex((p) => p.dmabuf === dmabuf);
  if (i < 0) {
    dmaBufPut(dmabuf);
    return -EPERM;
  }
  const [priv] = list.splice(i, 1);
  const drop = (): SysRet => {
    priv!.ref.put();
    dmaBufPut(dmabuf);
    return 0;
  };
  if (priv!.ref.count > 1) return drop();
  // The last reference: iio_buffer_dmabuf_release() runs inside the ioctl and takes dma_resv_lock()
  // (uninterruptibly) to unmap the attachment, and dma_buf_detach() takes it again: DETACH waits while
  // another task holds the lock (DET-4 in docs/quirks.md).
  return dmabuf.resv.lock(task, false, -EINTR, () => {
    dmabuf.resv.unlock();
    return drop();
  });
}

/** `iio_buffer_enqueue_dmabuf()` (ENQ-1..24). */
function iioBufferEnqueueDmabuf(buffer: IioBuffer, arg: number, nonblock: boolean, task: Caller): SysRet {
  const { fences, clock, faults } = buffer.dev.iio;
  const request = copyEnqueueRequest(
    buffer,
    arg,
    task,
    IIO_BUFFER_DMABUF_SUPPORTED_FLAGS,
    IIO_BUFFER_DMABUF_CYCLIC,
  );
  if (typeof request === 'number') return request;
  const { req, cyclic } = request;
  const dmabuf = dmaBufGet(task, req.fd);
  if (typeof dmabuf === 'number') return dmabuf;
  if (req.bytes_used === 0n || req.bytes_used > BigInt(dmabuf.size)) {
    dmaBufPut(dmabuf);
    return -EINVAL;
  }
  const priv = attachmentsOf(buffer).find((p) => p.dmabuf === dmabuf);
  if (!priv) {
    dmaBufPut(dmabuf);
    return -EPERM;
  }
  // ENQ-8: the fence's kmalloc fails before a seqno is taken; the attachment reference
  // iio_buffer_find_attachment() took is dropped at once, so it is never taken here.
  if (faults.armed) {
    const injected = faults.hit('iio_dma_fence_alloc');
    if (injected) {
      dmaBufPut(dmabuf);
      return injected;
    }
  }
  priv.ref.get();
  const e: Enqueue = {
    buffer,
    task,
    dmabuf,
    priv,
    fence: new DmaFence(fences, IIO_FENCE_OPS, priv.context, ++priv.seqno),
    bytesUsed: Number(req.bytes_used),
    cyclic,
    nonblock,
    clock,
  };
  // Module functions and anonymous arrows: under tsx (esbuild keepNames) every named closure costs a
  // defineProperty per call, and this runs once per block.
  if (nonblock) {
    if (!dmabuf.resv.tryLock(task)) return enqueueFail(e, -EBUSY, false);
    return enqueueLocked(e);
  }
  return dmabuf.resv.lock(
    task,
    true,
    -EINTR,
    () => enqueueLocked(e),
    () => enqueueFail(e, 0, false),
  );
}

/** One ENQUEUE in flight, between its checks and its fence's submission. */
interface Enqueue {
  readonly buffer: IioBuffer;
  readonly task: Caller;
  readonly dmabuf: DmaBuf;
  readonly priv: IioDmabufPriv;
  readonly fence: DmaFence;
  readonly bytesUsed: number;
  readonly cyclic: boolean;
  readonly nonblock: boolean;
  readonly clock: { readonly now: number };
}

/** An ENQUEUE that ends before its fence is added: every reference it took is dropped; returns `ret`. */
function enqueueFail(e: Enqueue, ret: number, unlock: boolean): number {
  if (unlock) e.dmabuf.resv.unlock();
  e.fence.put();
  e.priv.ref.put();
  dmaBufPut(e.dmabuf);
  return ret;
}

/** With the reservation lock held: waits for the buffer's fences, then adds the new one and submits the block. */
function enqueueLocked(e: Enqueue): SysRet {
  const { dmabuf, clock } = e;
  const dmaToRam = e.buffer.direction === IIO_BUFFER_DIRECTION_IN;
  return resvWaitTimeout(
    dmabuf.resv,
    dmaResvUsageRw(dmaToRam),
    e.nonblock ? 0 : DMABUF_ENQUEUE_TIMEOUT_MS * 1_000_000,
    () => clock.now,
    () =>
      `IIO_BUFFER_DMABUF_ENQUEUE_IOCTL: waiting for the fences of dmabuf ${dmabuf.ino} (up to ${DMABUF_ENQUEUE_TIMEOUT_MS} ms)`,
    -ERESTARTSYS,
    (waited) => enqueueSubmit(e, waited, dmaToRam),
    () => enqueueFail(e, 0, true),
  );
}

/** The fences waited for (`waited` 0: timed out): the block goes to the DMA queue with its fence. */
function enqueueSubmit(e: Enqueue, waited: number, dmaToRam: boolean): SysRet {
  const { buffer, dmabuf, priv, fence } = e;
  if (waited === 0) return enqueueFail(e, -EBUSY, true);
  const stuck = queueLockedForever(buffer);
  if (stuck) return stuck;
  // ENQ-15: dma_resv_reserve_fences(dmabuf->resv, 1); the slot array grows on demand, so only an injected
  // fault fails it. The error path unlocks and drops the fence (its seqno stays used, ENQ-9).
  const { faults } = buffer.dev.iio;
  if (faults.armed) {
    const injected = faults.hit('dma_resv_reserve_fences');
    if (injected) return enqueueFail(e, injected, true);
  }
  dmabuf.resv.addFence(fence, dmaToRam ? DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
  dmabuf.resv.unlock();
  // The creation reference stays with the block until its fence signals. The kernel drops it here,
  // so a refused re-ENQUEUE of an output block (ENQ-24) frees the pending fence through RESV-3 and
  // the completion later signals freed memory; the simulator keeps the fence alive instead.
  const ret = buffer.access.dmabuf!.enqueueDmabuf(
    priv.block,
    new FenceCompletion(fence, priv),
    priv.vecs,
    e.bytesUsed,
    e.cyclic,
  );
  if (ret) {
    fence.put();
    iioBufferSignalDmabufDone(fence, priv, ret);
  } else traceEnqueue(e.task, buffer, dmabuf.ino, e.bytesUsed, dmabuf.size);
  dmaBufPut(dmabuf);
  return ret;
}

/** What the DMA queue calls when an enqueued block completes: signals its fence and drops the creation reference. */
class FenceCompletion {
  readonly #fence: DmaFence;
  readonly #priv: IioDmabufPriv;

  constructor(fence: DmaFence, priv: IioDmabufPriv) {
    this.#fence = fence;
    this.#priv = priv;
  }

  /** The block's transfer ended with `error` (0 or -errno). */
  done(error: number): void {
    iioBufferSignalDmabufDone(this.#fence, this.#priv, error);
    this.#fence.put();
  }
}
