/**
 * The structures the IIO core, its buffers and its drivers share (include/linux/iio/iio.h,
 * include/linux/iio/buffer_impl.h): `struct iio_dev`, `struct iio_buffer`, the buffer fd's private data,
 * the ABI-dependent parts of the buffer code, and the kernel services IIO uses. Behaviour lives in
 * core.ts (registration, char device), buffer.ts (buffer fds, enable) and the buffer implementations.
 */
import type { VirtualClock } from '../../hw/clock.ts';
import type { DmaBufCore } from '../dma-buf/dma-buf.ts';
import type { FenceDomain } from '../dma-buf/fence.ts';
import type { FaultInjector } from '../fault-inject.ts';
import type { Census } from '../kref.ts';
import type { PagePool } from '../pages.ts';
import type { Sched } from '../sched.ts';
import type { SysfsGroup } from '../sysfs.ts';
import type { Tracepoints } from '../tracepoints.ts';
import type { Caller, File, PathTree } from '../vfs.ts';
import { type SysRet, WaitQueue } from '../wait.ts';
import type { IioEventInterface } from './event.ts';
import type { IioBufferAccess, IioBufferSetupOps, IioChanSpec, IioInfo, IioTrigger } from './types.ts';

/** The DMABUF ioctls of buffer fds and their release, as one ABI profile defines them. */
export interface BufferIoctlHandler {
  ioctl(file: File, ib: IioDevBufferPair, cmd: number, arg: number, task: Caller): SysRet;
  /** Drops every attachment of the buffer at release (BREL-2). */
  release(ib: IioDevBufferPair): void;
}

/** Where the block queue of industrialio-buffer-dma differs between ABI profiles. */
export interface DmaQueueAbi {
  /** Completions wake buffer-fd waiters only while fileio is on (V2-FENCE-1). */
  readonly wakeOnlyInFileio: boolean;
  /** A request_update restarts fileio reads at block 0. */
  readonly resetDequeueAtUpdate: boolean;
  /** read()/write() refuse with -EBUSY unless fileio is on. */
  readonly fileioNeedsEnabled: boolean;
}

/** Where the dmaengine backend differs between ABI profiles. */
export interface DmaengineAbi {
  /** Every block goes through prep_slave_single and fills the whole block (V2-SUB-2, V2-SUB-3). */
  readonly singlePrep: boolean;
  /** A second cyclic block is refused while one runs (CYC-5). */
  readonly oneCyclicAtATime: boolean;
  /** A cyclic block repeats the whole block, `bytes_used` being only the period (V2-SUB-5). */
  readonly cyclicWholeBlock: boolean;
  /** Descriptors carry DMA_PREP_LOAD_EOT (CYC-4). */
  readonly loadEot: boolean;
}

/** The IIO part of an ABI profile. */
export interface IioAbi {
  readonly bufferIoctl: BufferIoctlHandler;
  readonly dmaQueue: DmaQueueAbi;
  readonly dmaengine: DmaengineAbi;
}

/** What IIO uses of the rest of the kernel. */
export interface IioServices {
  readonly census: Census;
  readonly paths: PathTree;
  readonly clock: VirtualClock;
  readonly trace: Tracepoints;
  /** `current`, signals for an oops (XCL-5), and `schedule_work()`. */
  readonly sched: Sched;
  readonly pages: PagePool;
  readonly fences: FenceDomain;
  readonly dmaBuf: DmaBufCore;
  readonly abi: IioAbi;
  /** Fault injection: the ATT-11, ENQ-8/V2-ENQ-13 and ENQ-15 sites. */
  readonly faults: FaultInjector;
}

/** Everything a driver passes to {@link IioDev}. */
export interface IioDevSpec {
  readonly name: string;
  readonly channels: readonly IioChanSpec[];
  readonly modes: number;
  readonly info: IioInfo;
  readonly setupOps?: IioBufferSetupOps;
  readonly availableScanMasks?: readonly (readonly number[])[];
  readonly validateScanMask?: (mask: ReadonlySet<number>) => boolean;
  /** The device has an event interface (GET_EVENT_FD). */
  readonly events?: boolean;
}

/** `struct iio_dev` with its opaque part. */
export class IioDev {
  readonly iio: IioServices;
  /** N of `iio:deviceN`. */
  readonly id: number;
  readonly name: string;
  readonly channels: readonly IioChanSpec[];
  readonly modes: number;
  readonly setupOps: IioBufferSetupOps;
  readonly availableScanMasks: readonly (readonly number[])[] | null;
  readonly validateScanMask: ((mask: ReadonlySet<number>) => boolean) | null;
  /** `indio_dev->info`; null once unregistered (every "device gone" check reads this). */
  info: IioInfo | null;
  readonly buffers: IioBuffer[] = [];
  /** `buffer_list`: active buffers, most recently enabled first. */
  readonly activeBuffers: IioBuffer[] = [];
  currentMode = 0;
  activeScanMask: Set<number> | null = null;
  scanBytes = 0;
  scanTimestamp = false;
  trigger: IioTrigger | null = null;
  /** IIO_BUSY_BIT_POS of the char device (CDEV-3). */
  chrdevBusy = false;
  /** The event interface, created by the core when the spec asks for one. */
  events: IioEventInterface | null = null;
  /** The device's sysfs files, created at registration. */
  sysfs: SysfsGroup | null = null;

  constructor(iio: IioServices, id: number, spec: IioDevSpec) {
    this.iio = iio;
    this.id = id;
    this.name = spec.name;
    this.channels = spec.channels;
    this.modes = spec.modes;
    this.info = spec.info;
    this.setupOps = spec.setupOps ?? {};
    this.availableScanMasks = spec.availableScanMasks ?? null;
    this.validateScanMask = spec.validateScanMask ?? null;
  }

  /** `iio:deviceN`. */
  get devName(): string {
    return `iio:device${this.id}`;
  }

  /** Sysfs directory of the device. */
  get sysfsDir(): string {
    return `/sys/bus/iio/devices/${this.devName}`;
  }

  /** False once the device was unregistered. */
  get registered(): boolean {
    return this.info !== null;
  }

  /** Adds a buffer before registration (`iio_device_attach_buffer`). */
  attachBuffer(b: IioBuffer): void {
    this.buffers.push(b);
  }
}

/** `struct iio_buffer`. */
export class IioBuffer {
  readonly dev: IioDev;
  /** Position in the device's attached buffers (`bufferY`). */
  readonly index: number;
  readonly direction: number;
  readonly access: IioBufferAccess;
  length: number;
  watermark: number;
  bytesPerDatum = 0;
  /** Scan indices of enabled channels (`scan_mask`). */
  readonly scanMask = new Set<number>();
  scanTimestamp = false;
  /** `pollq`: readers, writers and pollers of this buffer wait here. */
  readonly pollq: WaitQueue;
  /** IIO_BUSY_BIT_POS: a buffer fd is live (GETFD-3, LEG-1). */
  busy = false;
  /** On the device's active list (`iio_buffer_is_active`). */
  active = false;

  constructor(
    dev: IioDev,
    index: number,
    direction: number,
    access: IioBufferAccess,
    length: number,
    watermark: number,
  ) {
    this.dev = dev;
    this.index = index;
    this.direction = direction;
    this.access = access;
    this.length = length;
    this.watermark = watermark;
    this.pollq = new WaitQueue(`${dev.devName}/buffer${index}`);
  }
}

/** What a buffer fd's private data holds (`struct iio_dev_buffer_pair`). */
export interface IioDevBufferPair {
  readonly dev: IioDev;
  readonly buffer: IioBuffer;
}
