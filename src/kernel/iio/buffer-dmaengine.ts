/**
 * The dmaengine backend of the DMA block queue (drivers/iio/buffer/industrialio-buffer-dmaengine.c): turns
 * blocks into controller descriptors, keeps the driver's active list, and takes every block back on abort.
 * Rules FILEIO-3, FILEIO-4, DMAQ-5..7, ENQ-21, ENQ-22, CYC-2..5.
 */
import type { DmaChannel, DmaResult } from '../../hw/dma.ts';
import { EBUSY, EINVAL, ENOMEM } from '../../uapi/errno.ts';
import { IIO_BUFFER_DIRECTION_IN } from '../../uapi/iio.ts';
import { type IioDmaBufferBlock, type IioDmaBufferOps, IioDmaBufferQueue } from './buffer-dma.ts';
import type { DmaengineAbi } from './device.ts';
import type { IioDmabufOps } from './types.ts';

/** `struct dmaengine_buffer`: a block queue bound to one controller channel. */
export class DmaengineBuffer extends IioDmaBufferQueue {
  readonly chan: DmaChannel;
  /** The driver's list of blocks handed to the controller, in submission order. */
  readonly activeList: IioDmaBufferBlock[] = [];
  /** Length alignment (`align`), from the controller's bus width. */
  readonly align: number;
  /** Largest segment (`max_size`). */
  readonly maxSize: number;

  constructor(chan: DmaChannel) {
    const ops: IioDmaBufferOps = {
      submit: (_q, block) => this.#submit(block),
      abort: () => this.#abort(),
    };
    super(ops);
    this.chan = chan;
    this.align = chan.spec.lengthAlignBytes;
    this.maxSize = chan.spec.maxSegmentSize;
  }

  /** The DMABUF access functions (this queue supports them). */
  readonly dmabuf: IioDmabufOps = {
    attachDmabuf: (size) => this.attachDmabuf(size),
    detachDmabuf: (block) => this.detachDmabuf(block as IioDmaBufferBlock),
    enqueueDmabuf: (block, fence, vecs, size, cyclic) =>
      this.enqueueDmabuf(block as IioDmaBufferBlock, fence, vecs, size, cyclic),
  };

  /** How the ABI profile's dmaengine backend behaves. */
  get engineAbi(): DmaengineAbi {
    return this.iio.abi.dmaengine;
  }

  /** `length_align_bytes` (ATTR-18). */
  extraAttrs(): Record<string, () => string> {
    return { length_align_bytes: () => `${this.align}\n` };
  }

  /** `iio_dmaengine_buffer_submit_block()`. */
  #submit(block: IioDmaBufferBlock): number {
    const dir = this.buffer.direction;
    const dev = this.buffer.dev;
    const abi = this.engineAbi;
    if (block.cyclic && abi.oneCyclicAtATime && this.activeList.some((b) => b.cyclic)) {
      this.iio.trace.log('err', dev.devName, 'cyclic DMA transfer already active');
      return -EBUSY;
    }
    // Fileio blocks, and every block of the v2 series, go through prep_slave_single: an IN transfer always
    // fills the whole (aligned) block whatever bytes_used said (FILEIO-3, V2-SUB-2, V2-SUB-3).
    const single = block.fileio || abi.singlePrep;
    if (single && !block.cyclic) {
      const maxSize = Math.floor(Math.min(block.size, this.maxSize) / this.align) * this.align;
      if (dir === IIO_BUFFER_DIRECTION_IN) block.bytesUsed = maxSize;
      if (!block.bytesUsed || block.bytesUsed > maxSize) return -EINVAL;
    }
    // v2 cyclic blocks repeat the whole block with period bytes_used and carry no LOAD_EOT (V2-SUB-5/6);
    // mainline descriptors always carry it (CYC-4).
    const length = abi.cyclicWholeBlock && block.cyclic ? block.size : block.bytesUsed;
    const desc = this.chan.prep(
      block.vecs!,
      length,
      block.cyclic,
      block.cyclic ? null : (result) => this.iio.sched.inSoftirq(() => this.#blockDone(block, result)),
      `${dev.devName} block ${block.id}`,
      abi.loadEot,
    );
    if (!desc) return -ENOMEM;
    this.activeList.push(block);
    this.chan.submit(desc);
    return 0;
  }

  /** `iio_dmaengine_buffer_block_done()`: the residue is subtracted; the error status is not looked at. */
  #blockDone(block: IioDmaBufferBlock, result: DmaResult): void {
    const i = this.activeList.indexOf(block);
    if (i >= 0) this.activeList.splice(i, 1);
    block.bytesUsed -= result.residue;
    const { trace, clock } = this.iio;
    if (result.status === 'error' && trace.enabled('iio:dma-error-ignored'))
      trace.emit('iio:dma-error-ignored', {
        device: this.buffer.dev.devName,
        block: block.id,
        residue: result.residue,
        time: clock.now,
      });
    this.blockDone(block);
  }

  /** `iio_dmaengine_buffer_abort()`: terminate the channel, then abort the active list (DMAQ-7). */
  #abort(): void {
    this.chan.terminateAll();
    this.blockListAbort(this.activeList);
  }
}
