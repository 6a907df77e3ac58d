/**
 * The DMA buffer block queue (drivers/iio/buffer/industrialio-buffer-dma.c): blocks with explicit states,
 * the two fileio blocks that read()/write() go through, and the hooks DMABUF blocks use. Rules DMAQ-*,
 * FILEIO-*.
 */
import { EBUSY, EFAULT, EINTR, EINVAL, ENOMEM, EPERM } from '../../uapi/errno.ts';
import { IIO_BUFFER_DIRECTION_IN } from '../../uapi/iio.ts';
import { EPOLLIN, EPOLLOUT, EPOLLRDNORM, EPOLLWRNORM } from '../../uapi/poll.ts';
import { Kref } from '../kref.ts';
import { pageAlign } from '../mm.ts';
import type { Caller } from '../vfs.ts';
import type { DmaQueueAbi, IioBuffer, IioServices } from './device.ts';
import { type IioBufferAccess, INDIO_BUFFER_HARDWARE } from './types.ts';

/** Block states (`enum iio_block_state`, rule DMAQ-1). */
export const IIO_BLOCK_STATE_QUEUED = 0;
/** Owned by the DMA engine. */
export const IIO_BLOCK_STATE_ACTIVE = 1;
/** Owned by the core or the user. */
export const IIO_BLOCK_STATE_DONE = 2;
/** Being freed. */
export const IIO_BLOCK_STATE_DEAD = 3;

const STATE_NAMES = ['QUEUED', 'ACTIVE', 'DONE', 'DEAD'] as const;

/** The completion hooks of a DMABUF block, set by the profile's DMABUF code. */
export interface BlockFence {
  /** Completion (0), or a refusal or submit failure (-errno) in mainline. */
  done(error: number): void;
  /** v2: the block is handed to the controller (the reservation lock is taken, V2-SUB-1). */
  submitted?(): void;
  /** v2: disable took the block back; the fence is left unsignalled (V2-FENCE-2). Absent: done(-EINTR). */
  aborted?(): void;
  /** v2: a failed submit leaves the fence pending and the lock held (V2-SUB-4). */
  readonly keepOnSubmitFailure?: boolean;
}

/** `struct iio_dma_buffer_block`. */
export class IioDmaBufferBlock {
  readonly queue: IioDmaBufferQueue;
  readonly id: number;
  size: number;
  bytesUsed = 0;
  state = IIO_BLOCK_STATE_DONE;
  readonly fileio: boolean;
  /** Memory of fileio blocks (`vaddr`); null for DMABUF blocks. */
  memory: Uint8Array | null;
  /** What the controller moves (`sg_table` mapped for DMA): the fileio memory, or the dma-buf's pages. */
  vecs: readonly Uint8Array[] | null;
  cyclic = false;
  fence: BlockFence | null = null;
  readonly ref: Kref;

  constructor(
    queue: IioDmaBufferQueue,
    id: number,
    size: number,
    fileio: boolean,
    memory: Uint8Array | null,
  ) {
    this.queue = queue;
    this.id = id;
    this.size = size;
    this.fileio = fileio;
    this.memory = memory;
    this.vecs = memory ? [memory] : null;
    this.ref = new Kref(
      queue.buffer.dev.iio.census,
      fileio ? 'iio_dma_block(fileio)' : 'iio_dma_block(dmabuf)',
      () => queue.blockRelease(this),
    );
  }

  /** State name for traces. */
  get stateName(): string {
    return STATE_NAMES[this.state] ?? '?';
  }
}

/** What the DMA backend (dmaengine) provides (`struct iio_dma_buffer_ops`). */
export interface IioDmaBufferOps {
  /** Hands a block to the controller; 0 or -errno. */
  submit(queue: IioDmaBufferQueue, block: IioDmaBufferBlock): number;
  /** Stops the controller and gives back every block it holds. */
  abort(queue: IioDmaBufferQueue): void;
}

/** `struct iio_dma_buffer_queue`: the access functions of a DMA-backed IIO buffer. */
export class IioDmaBufferQueue implements IioBufferAccess {
  readonly modes = INDIO_BUFFER_HARDWARE;
  readonly fixedWatermark = true;
  buffer!: IioBuffer;
  /** The kernel services of the buffer's device, bound at init. */
  iio!: IioServices;
  /** How the ABI profile's block queue behaves, bound at init. */
  abi!: DmaQueueAbi;
  /** Null after `iio_dma_buffer_exit` (device removed, DMAQ-8). */
  ops: IioDmaBufferOps | null;
  /** QUEUED blocks waiting for the next enable, FIFO. */
  incoming: IioDmaBufferBlock[] = [];
  active = false;
  /** DMABUF blocks alive (`num_dmabufs`), decremented by the deferred release (DMAQ-11). */
  numDmabufs = 0;
  /** An oops left the queue lock held (XCL-5): every call needing it blocks forever. */
  poisoned = false;
  readonly fileio = {
    blocks: [null, null] as [IioDmaBufferBlock | null, IioDmaBufferBlock | null],
    activeBlock: null as IioDmaBufferBlock | null,
    pos: 0,
    nextDequeue: 0,
    blockSize: 0,
    enabled: false,
  };
  #nextBlockId = 1;

  constructor(ops: IioDmaBufferOps) {
    this.ops = ops;
  }

  /** Binds the queue to its IIO buffer (`iio_dma_buffer_init`). */
  init(buffer: IioBuffer): void {
    this.buffer = buffer;
    this.iio = buffer.dev.iio;
    this.abi = this.iio.abi.dmaQueue;
  }

  /** Sets a block's state, traced. */
  setState(block: IioDmaBufferBlock, state: number): void {
    block.state = state;
    const { trace, clock } = this.iio;
    if (trace.enabled('iio:block'))
      trace.emit('iio:block', {
        device: this.buffer.dev.devName,
        block: block.id,
        state: block.stateName,
        bytesUsed: block.bytesUsed,
        time: clock.now,
      });
  }

  /** `iio_dma_buffer_alloc_block()`: a DONE block; fileio blocks get zeroed coherent memory. */
  allocBlock(size: number, fileio: boolean): IioDmaBufferBlock | null {
    if (fileio && !this.iio.pages.alloc(pageAlign(size))) return null;
    const mem = fileio ? new Uint8Array(pageAlign(size)) : null;
    const block = new IioDmaBufferBlock(this, this.#nextBlockId++, size, fileio, mem);
    if (!fileio) this.numDmabufs++;
    return block;
  }

  /** `iio_buffer_block_release()`: the last reference went. */
  blockRelease(block: IioDmaBufferBlock): void {
    if (block.fileio) {
      this.iio.pages.free(block.memory!.length);
      block.memory = null;
      block.vecs = null;
    } else this.numDmabufs--;
  }

  /** `iio_buffer_block_put_atomic()`: the release runs from a worker (DMAQ-11). */
  blockPutAtomic(block: IioDmaBufferBlock): void {
    if (block.ref.count > 1) {
      block.ref.put();
      return;
    }
    this.iio.sched.scheduleWork(
      () => `free block ${block.id}`,
      () => block.ref.put(),
    );
  }

  #wake(): void {
    const key =
      this.buffer.direction === IIO_BUFFER_DIRECTION_IN ? EPOLLIN | EPOLLRDNORM : EPOLLOUT | EPOLLWRNORM;
    this.buffer.pollq.wake(key);
  }

  /**
   * `iio_dma_buffer_block_done()` (DMAQ-6): the controller finished a block. DONE unless DEAD; a DMABUF
   * block's fence is signalled with 0; waiters are woken.
   */
  blockDone(block: IioDmaBufferBlock): void {
    if (block.state !== IIO_BLOCK_STATE_DEAD) this.setState(block, IIO_BLOCK_STATE_DONE);
    if (!block.fileio) block.fence?.done(0);
    this.blockPutAtomic(block);
    if (!this.abi.wakeOnlyInFileio || this.fileio.enabled) this.#wake();
  }

  /**
   * XCL-5 stand-in for the kernel's NULL dereference: the caller is killed, an oops is logged, and the
   * queue lock stays held for good.
   */
  #oops(what: string): number {
    const { trace, sched } = this.iio;
    this.poisoned = true;
    trace.log(
      'err',
      this.buffer.dev.devName,
      `BUG: kernel NULL pointer dereference in ${what} (XCL-5); queue lock never released`,
    );
    const task = sched.current;
    if (task) sched.kill(task, 9, `killed by a kernel oops in ${what} (XCL-5)`);
    return 0;
  }

  /** `iio_dma_buffer_block_list_abort()` (DMAQ-7, IFENCE-3): blocks taken back from the controller. */
  blockListAbort(list: IioDmaBufferBlock[]): void {
    for (const block of list.splice(0)) {
      block.bytesUsed = 0;
      if (block.state !== IIO_BLOCK_STATE_DEAD) this.setState(block, IIO_BLOCK_STATE_DONE);
      if (!block.fileio) {
        if (block.fence?.aborted) block.fence.aborted();
        else block.fence?.done(-EINTR);
      }
      this.blockPutAtomic(block);
    }
    this.fileio.enabled = false;
    this.#wake();
  }

  #discard(bytes: number, why: string): void {
    const { trace, clock } = this.iio;
    if (trace.enabled('iio:discard'))
      trace.emit('iio:discard', { device: this.buffer.dev.devName, bytes, why, time: clock.now });
  }

  #canUseFileio(): boolean {
    return this.fileio.enabled || this.numDmabufs === 0;
  }

  /** `iio_dma_buffer_request_update()` (DMAQ-10, FILEIO-1, FILEIO-2). */
  requestUpdate(): number {
    const b = this.buffer;
    const size = Math.ceil((b.bytesPerDatum * b.length) / 2);
    this.fileio.enabled = this.#canUseFileio();
    if (!this.fileio.enabled) return 0;
    if (this.abi.resetDequeueAtUpdate) this.fileio.nextDequeue = 0;
    const tryReuse = pageAlign(this.fileio.blockSize) === pageAlign(size);
    this.fileio.blockSize = size;
    if (this.fileio.activeBlock) this.#discardUnread(this.fileio.activeBlock, this.fileio.pos);
    this.fileio.activeBlock = null;
    for (const block of this.fileio.blocks) {
      if (!block) continue;
      const reusable = block.state === IIO_BLOCK_STATE_QUEUED || block.state === IIO_BLOCK_STATE_DONE;
      if (!reusable || !tryReuse) this.setState(block, IIO_BLOCK_STATE_DEAD);
    }
    this.incoming = [];
    for (let i = 0; i < 2; i++) {
      let block = this.fileio.blocks[i]!;
      if (block && block.state === IIO_BLOCK_STATE_DEAD) {
        block.ref.put();
        block = null as unknown as IioDmaBufferBlock;
      } else if (block) {
        if (
          block.state === IIO_BLOCK_STATE_DONE &&
          b.direction === IIO_BUFFER_DIRECTION_IN &&
          block.bytesUsed > 0
        )
          this.#discard(block.bytesUsed, 'unread fileio block reset at enable');
        block.size = size;
      }
      if (!block) {
        const fresh = this.allocBlock(size, true);
        if (!fresh) return -ENOMEM;
        block = fresh;
        this.fileio.blocks[i] = block;
      }
      block.bytesUsed = block.size;
      if (b.direction === IIO_BUFFER_DIRECTION_IN) {
        this.setState(block, IIO_BLOCK_STATE_QUEUED);
        this.incoming.push(block);
      } else {
        this.setState(block, IIO_BLOCK_STATE_DONE);
      }
    }
    return 0;
  }

  #discardUnread(block: IioDmaBufferBlock, pos: number): void {
    if (this.buffer.direction === IIO_BUFFER_DIRECTION_IN && block.bytesUsed > pos)
      this.#discard(block.bytesUsed - pos, 'partly read fileio block reset at enable');
  }

  /** `iio_dma_buffer_fileio_free()` (FILEIO-11): ATTACH or device removal. */
  fileioFree(): void {
    for (const block of this.fileio.blocks) if (block) this.setState(block, IIO_BLOCK_STATE_DEAD);
    this.incoming = [];
    for (let i = 0; i < 2; i++) {
      const block = this.fileio.blocks[i];
      if (!block) continue;
      block.ref.put();
      this.fileio.blocks[i] = null;
    }
    this.fileio.activeBlock = null;
  }

  /** `iio_dma_buffer_submit_block()` (DMAQ-5): ACTIVE and handed to the controller; a failure wedges it. */
  submitBlock(block: IioDmaBufferBlock): void {
    if (!this.ops) return;
    this.setState(block, IIO_BLOCK_STATE_ACTIVE);
    block.ref.get();
    if (!block.fileio) block.fence?.submitted?.();
    const ret = this.ops.submit(this, block);
    if (ret) {
      if (!block.fileio && !block.fence?.keepOnSubmitFailure) block.fence?.done(ret);
      this.iio.trace.log('err', this.buffer.dev.devName, `block ${block.id} submit failed (${ret}): wedged`);
      block.ref.put();
    }
  }

  /** `iio_dma_buffer_enable()` (DMAQ-3). */
  enable(): number {
    this.active = true;
    for (const block of this.incoming.splice(0)) this.submitBlock(block);
    return 0;
  }

  /** `iio_dma_buffer_disable()` (DMAQ-7). */
  disable(): number {
    this.active = false;
    this.ops?.abort(this);
    return 0;
  }

  /** `iio_dma_buffer_enqueue()` (DMAQ-4). */
  enqueue(block: IioDmaBufferBlock): void {
    if (block.state === IIO_BLOCK_STATE_DEAD) block.ref.put();
    else if (this.active) this.submitBlock(block);
    else {
      this.setState(block, IIO_BLOCK_STATE_QUEUED);
      this.incoming.push(block);
    }
  }

  /** `iio_dma_buffer_dequeue()` (FILEIO-7); without fileio blocks the kernel dereferences NULL (XCL-5). */
  #dequeue(): IioDmaBufferBlock | null | 'oops' {
    const idx = this.fileio.nextDequeue;
    const block = this.fileio.blocks[idx];
    if (!block) {
      this.#oops('iio_dma_buffer_dequeue');
      return 'oops';
    }
    if (block.state !== IIO_BLOCK_STATE_DONE) return null;
    this.fileio.nextDequeue = (idx + 1) % 2;
    return block;
  }

  /** `iio_dma_buffer_io()` (FILEIO-6..9, FILEIO-12). */
  #io(n: number, ubuf: number, task: Caller, fromUser: boolean): number {
    const bpd = this.buffer.bytesPerDatum;
    if (n < bpd) return -EINVAL;
    if (this.abi.fileioNeedsEnabled && !this.fileio.enabled) return -EBUSY;
    let block = this.fileio.activeBlock;
    if (!block) {
      const next = this.#dequeue();
      if (next === 'oops' || !next) return 0;
      block = next;
      this.fileio.pos = 0;
      this.fileio.activeBlock = block;
    }
    n = bpd > 0 ? n - (n % bpd) : n;
    n = Math.min(n, block.bytesUsed - this.fileio.pos);
    const mem = block.memory!;
    const at = this.fileio.pos;
    const ok = fromUser
      ? task.mm.copyFromUserInto(mem, at, ubuf, n)
      : task.mm.copyToUser(ubuf, mem.subarray(at, at + n));
    if (!ok) return -EFAULT;
    // The block is dma_alloc_coherent() memory: Normal Non-Cacheable for a device that is not coherent.
    if (!fromUser && !this.iio.sched.platform.coherentDma) this.iio.sched.chargeUncachedRead(n);
    this.fileio.pos += n;
    if (this.fileio.pos === block.bytesUsed) {
      this.fileio.activeBlock = null;
      this.enqueue(block);
    }
    return n;
  }

  read(n: number, ubuf: number, task: Caller): number {
    return this.#io(n, ubuf, task, false);
  }

  write(n: number, ubuf: number, task: Caller): number {
    return this.#io(n, ubuf, task, true);
  }

  /**
   * `iio_dma_buffer_usage()` (FILEIO-5): bytes, counting whole block sizes; 0 without fileio blocks
   * (XCL-7).
   */
  dataAvailable(): number {
    let avail = 0;
    const active = this.fileio.activeBlock;
    if (active) avail += active.size;
    for (const block of this.fileio.blocks)
      if (block && block !== active && block.state === IIO_BLOCK_STATE_DONE) avail += block.size;
    return avail;
  }

  spaceAvailable(): number {
    return this.dataAvailable();
  }

  setBytesPerDatum(bpd: number): void {
    this.buffer.bytesPerDatum = bpd;
  }

  /** `iio_dma_buffer_set_length()` (DMAQ-9). */
  setLength(length: number): void {
    if (length < 2) length = 2;
    this.buffer.length = length;
    this.buffer.watermark = Math.floor(length / 2);
  }

  /**
   * `iio_dma_buffer_attach_dmabuf()` (ATT-10..12): a DONE block for a dma-buf of `size` bytes. The block's
   * allocation fails only by injection (ATT-11, site `iio_dma_buffer_alloc_block`): -ENOMEM before anything
   * changed, the fileio blocks kept.
   */
  attachDmabuf(size: number): IioDmaBufferBlock | number {
    if (this.fileio.enabled) return -EBUSY;
    const { faults } = this.iio;
    if (faults.armed) {
      const injected = faults.hit('iio_dma_buffer_alloc_block');
      if (injected) return injected;
    }
    const block = this.allocBlock(size, false)!;
    this.fileioFree();
    return block;
  }

  /** `iio_dma_buffer_detach_dmabuf()`: the block dies; its release (count decrement) is deferred (DMAQ-11). */
  detachDmabuf(block: IioDmaBufferBlock): void {
    this.setState(block, IIO_BLOCK_STATE_DEAD);
    this.blockPutAtomic(block);
  }

  /** `iio_dma_can_enqueue_block()` + `iio_dma_buffer_enqueue_dmabuf()` (ENQ-17..20). */
  enqueueDmabuf(
    block: IioDmaBufferBlock,
    fence: BlockFence,
    vecs: readonly Uint8Array[],
    size: number,
    cyclic: boolean,
  ): number {
    if (this.fileio.enabled) return -EBUSY;
    if (block.state === IIO_BLOCK_STATE_QUEUED) return -EPERM;
    if (block.state === IIO_BLOCK_STATE_ACTIVE || block.state === IIO_BLOCK_STATE_DEAD) return -EBUSY;
    block.bytesUsed = size;
    block.cyclic = cyclic;
    block.vecs = vecs;
    block.fence = fence;
    this.enqueue(block);
    return 0;
  }

  /** `iio_dma_buffer_exit()`: device removal; nothing is ever submitted again (DMAQ-8). */
  exit(): void {
    this.fileioFree();
    this.ops = null;
  }
}
