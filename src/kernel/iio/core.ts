/**
 * The IIO core (drivers/iio/industrialio-core.c): device registration with its char device
 * `/dev/iio:deviceN` and sysfs directory, the char device's open/release/ioctl, and the legacy path on
 * which the char device reads and writes buffer 0. Rules CDEV-*, CIOC-*, LEG-*, ATTR-1..3.
 */
import { EBUSY, EINVAL, ENODEV } from '../../uapi/errno.ts';
import { IIO_BUFFER_GET_FD_IOCTL, IIO_GET_EVENT_FD_IOCTL } from '../../uapi/iio.ts';
import type { Kernel } from '../kernel.ts';
import { formatIioValue, IIO_VAL_INT_PLUS_MICRO } from '../lib/format.ts';
import { iioStrToFixpoint, kstrtoint } from '../lib/kstrtox.ts';
import { SysfsGroup } from '../sysfs.ts';
import { type FileOperations, newInode } from '../vfs.ts';
import {
  type BufferIoctlHandler,
  disableAllBuffers,
  type IioBuffer,
  type IioDevBufferPair,
  iioBufferPoll,
  iioBufferRead,
  iioBufferWrite,
  iioDeviceBufferGetfd,
  makeBufferFops,
  noDmabuf,
  registerBufferSysfs,
} from './buffer.ts';
import { IioEventInterface } from './event.ts';
import type { IioBufferSetupOps, IioChanSpec, IioInfo } from './types.ts';

/** The char device major of IIO devices, as on a typical board. */
export const IIO_MAJOR = 241;

/** A trigger a triggered-buffer device runs from (`struct iio_trigger` + its poll function). */
export interface IioTrigger {
  readonly name: string;
  /** Starts calling the device's poll function. */
  attach(): void;
  /** Stops it. */
  detach(): void;
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
  readonly kernel: Kernel;
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
  readonly events: IioEventInterface | null;
  /** Fops of buffer fds; ioctls go to the kernel's DMABUF profile. */
  readonly bufferFops: FileOperations;
  readonly #sysfs: SysfsGroup;

  constructor(kernel: Kernel, id: number, spec: IioDevSpec) {
    this.kernel = kernel;
    this.id = id;
    this.name = spec.name;
    this.channels = spec.channels;
    this.modes = spec.modes;
    this.info = spec.info;
    this.setupOps = spec.setupOps ?? {};
    this.availableScanMasks = spec.availableScanMasks ?? null;
    this.validateScanMask = spec.validateScanMask ?? null;
    this.events = spec.events ? new IioEventInterface(this) : null;
    this.bufferFops = makeBufferFops((): BufferIoctlHandler => kernel.bufferIoctl ?? noDmabuf);
    this.#sysfs = new SysfsGroup(kernel.paths);
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

  /** `iio_device_register()`: the char device (CDEV-1, CDEV-2) and the sysfs files. */
  register(): void {
    const dir = this.sysfsDir;
    const g = this.#sysfs;
    g.add(`${dir}/name`, { show: () => `${this.name}\n` });
    g.add(`${dir}/dev`, { show: () => `${IIO_MAJOR}:${this.id}\n` });
    for (const attr of this.info!.sharedAttrs) g.add(`${dir}/${attr}`, this.#infoAttribute(attr));
    for (const b of this.buffers) registerBufferSysfs(this, b, g, dir);
    if (this.trigger)
      g.add(`${dir}/trigger/current_trigger`, { show: () => `${this.trigger?.name ?? ''}\n` });
    if (this.buffers.length > 0 || this.events) {
      const fops = this.buffers.length > 0 ? this.#chrdevFops(true) : this.#chrdevFops(false);
      this.kernel.paths.add(
        `/dev/${this.devName}`,
        newInode(this.kernel.paths.allocIno(), 'chr', 0o600, fops, this, {
          major: IIO_MAJOR,
          minor: this.id,
        }),
      );
    }
  }

  /**
   * `iio_device_unregister()`: the device is gone. Open files stay open and answer -ENODEV; sleepers wake;
   * buffers are disabled. Transfers still queued never complete (DMAQ-8, ENQ-23).
   */
  unregister(): void {
    if (!this.info) return;
    disableAllBuffers(this);
    for (const b of this.buffers) b.access.exit?.();
    this.info = null;
    this.kernel.paths.remove(`/dev/${this.devName}`);
    this.#sysfs.removeAll();
    for (const b of this.buffers) b.pollq.wake();
    this.events?.wait.wake();
  }

  /** Hook: a buffer fd was created for `b`. */
  bufferFdOpened(b: IioBuffer): void {
    this.kernel.emitIio('iio:buffer-fd', {
      device: this.devName,
      buffer: b.index,
      open: true,
      time: this.kernel.clock.now,
    });
  }

  /** Hook: the buffer fd of `b` was released. */
  bufferFdClosed(b: IioBuffer): void {
    this.kernel.emitIio('iio:buffer-fd', {
      device: this.devName,
      buffer: b.index,
      open: false,
      time: this.kernel.clock.now,
    });
  }

  /** A channel-info attribute shared by all channels (ATTR-2, ATTR-3). */
  #infoAttribute(attr: string) {
    return {
      show: () => {
        if (!this.info) return -ENODEV;
        const v = this.info.readRaw(attr);
        if (typeof v === 'number') return v;
        return `${formatIioValue(v.type, v.vals)}\n`;
      },
      store: (text: string) => {
        if (!this.info) return -ENODEV;
        if (!this.info.writeRaw) return -EINVAL;
        const fmt = this.info.writeFormat?.(attr) ?? IIO_VAL_INT_PLUS_MICRO;
        if (fmt === IIO_VAL_INT_PLUS_MICRO) {
          const r = iioStrToFixpoint(text, 100000);
          if (!r.ok) return r.errno;
          return this.info.writeRaw(attr, r.value.integer, r.value.fract);
        }
        const r = kstrtoint(text, 0);
        if (!r.ok) return r.errno;
        return this.info.writeRaw(attr, r.value, 0);
      },
    };
  }

  /** Fops of `/dev/iio:deviceN`: with buffers, the legacy read/write/poll on buffer 0 (CDEV-2). */
  #chrdevFops(withBuffers: boolean): FileOperations {
    const fops: FileOperations = {
      open: (_inode, file) => {
        if (this.chrdevBusy) return -EBUSY;
        this.chrdevBusy = true;
        file.privateData = this.buffers[0]
          ? ({ dev: this, buffer: this.buffers[0] } satisfies IioDevBufferPair)
          : null;
        return 0;
      },
      release: () => {
        this.chrdevBusy = false;
      },
      llseek: (file) => file.pos,
      unlockedIoctl: (_file, cmd, arg, task) => {
        if (!this.info) return -ENODEV;
        if (cmd === IIO_BUFFER_GET_FD_IOCTL && this.buffers.length > 0)
          return iioDeviceBufferGetfd(this, arg, task);
        if (cmd === IIO_GET_EVENT_FD_IOCTL && this.events) return this.events.getfd(arg, task);
        return -ENODEV;
      },
    };
    fops.compatIoctl = (file, cmd, arg, task) => fops.unlockedIoctl!(file, cmd, arg >>> 0, task);
    if (!withBuffers) return fops;
    fops.read = (file, buf, count, task) => {
      const ib = file.privateData as IioDevBufferPair;
      if (ib.buffer.busy) return -EBUSY;
      return iioBufferRead(file, ib, buf, count, task);
    };
    fops.write = (file, buf, count, task) => {
      const ib = file.privateData as IioDevBufferPair;
      if (ib.buffer.busy) return -EBUSY;
      return iioBufferWrite(file, ib, buf, count, task);
    };
    fops.poll = (file, pt) => {
      const ib = file.privateData as IioDevBufferPair;
      if (ib.buffer.busy) return 0;
      return iioBufferPoll(ib, pt);
    };
    return fops;
  }
}
