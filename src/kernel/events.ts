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

/** Every observation event of a simulated system. */
export type KernelEvents = SchedEvents & DmaEvents & IioEvents & FenceEvents;
