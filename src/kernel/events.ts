/**
 * Observation events of the kernel model, for tracers, loggers and the run summary. They never drive the
 * model: hardware reaches the kernel through scheduled callbacks, and the kernel through its own calls.
 */
import type { DmaEvents } from '../hw/dma.ts';
import type { FenceEvents } from './dma-buf/fence.ts';
import type { SchedEvents } from './sched.ts';

/** Events of the IIO core and buffers. */
export interface IioEvents {
  'iio:enable': (e: { device: string; scanBytes: number; time: number }) => void;
  'iio:disable': (e: { device: string; time: number }) => void;
  'iio:buffer-fd': (e: { device: string; buffer: number; open: boolean; time: number }) => void;
  /** A block changed state in a DMA buffer queue. */
  'iio:block': (e: { device: string; block: number; state: string; bytesUsed: number; time: number }) => void;
  /** The controller reported an error that industrialio-buffer-dma ignores (rule DMAQ-6). */
  'iio:dma-error-ignored': (e: { device: string; block: number; residue: number; time: number }) => void;
  /** Sample data read() or write() copied between a buffer and user memory (none on the DMABUF path). */
  'iio:data': (e: { pid: number; device: string; bytes: number; time: number }) => void;
  /** Data the kernel threw away: unread fileio blocks, aborted blocks, kfifo overflow. */
  'iio:discard': (e: { device: string; bytes: number; why: string; time: number }) => void;
  /** A kernel log line (dev_err, dev_warn, WARN). */
  'kernel:log': (e: {
    level: 'err' | 'warn' | 'info';
    device: string;
    message: string;
    time: number;
  }) => void;
}

/**
 * CPU access to DMABUFs, their cache maintenance, DMABUF enqueues and process exits: what a program did
 * with its buffers, for the contract checker and the tracers.
 */
export interface AccessEvents {
  /** A CPU access (user load or store, or a kernel copy) to a mapped dma-buf. */
  'dmabuf:cpu-access': (e: {
    pid: number;
    comm: string;
    ino: number;
    addr: number;
    len: number;
    write: boolean;
    /** Unsignalled fences this access conflicts with (DMA still writing, or reading for a store). */
    pendingFences: number;
    time: number;
  }) => void;
  /** DMA_BUF_IOCTL_SYNC succeeded (START: after its wait). */
  'dmabuf:sync': (e: { pid: number; comm: string; ino: number; flags: number; time: number }) => void;
  /** Cache maintenance of a dma-buf on a non-coherent platform: lines invalidated or cleaned. */
  'dmabuf:cache': (e: { ino: number; op: 'invalidate' | 'clean'; lines: number; time: number }) => void;
  /** A DMABUF ENQUEUE returned 0. `bytesUsed` as the program passed it; `blockBytes` the block it fills. */
  'iio:enqueue': (e: {
    pid: number;
    comm: string;
    device: string;
    /** Index of the buffer (`bufferY`) on the device. */
    buffer: number;
    ino: number;
    bytesUsed: number;
    blockBytes: number;
    time: number;
  }) => void;
  /** A task is about to exit: its open fds before the exit path closes them (FD-12). */
  'task:exiting': (e: {
    pid: number;
    comm: string;
    /** The program returned (as opposed to being killed or crashing). */
    returned: boolean;
    fds: readonly { fd: number; path: string; dmabuf: number | null }[];
    time: number;
  }) => void;
}

/** Every observation event of a simulated system. */
export type KernelEvents = SchedEvents & DmaEvents & IioEvents & FenceEvents & AccessEvents;
