/**
 * IIO device-model types: channel specs, operating modes and the buffer access-functions table
 * (include/linux/iio/iio.h, include/linux/iio/buffer_impl.h).
 */
import type { ScanType } from '../../hw/scan.ts';
import type { Caller } from '../vfs.ts';

/** `INDIO_DIRECT_MODE`: sysfs raw reads. */
export const INDIO_DIRECT_MODE = 0x01;
/** `INDIO_BUFFER_TRIGGERED`: a trigger fills the buffer. */
export const INDIO_BUFFER_TRIGGERED = 0x02;
/** `INDIO_BUFFER_SOFTWARE`: the driver pushes scans itself. */
export const INDIO_BUFFER_SOFTWARE = 0x04;
/** `INDIO_BUFFER_HARDWARE`: the hardware (DMA) fills the buffer. */
export const INDIO_BUFFER_HARDWARE = 0x08;

/** A channel (`struct iio_chan_spec`), reduced to what the simulator shows. */
export interface IioChanSpec {
  /** Channel type as in sysfs names: `voltage`, `accel`, `timestamp`. */
  readonly type: string;
  /** Channel number (`channel`), or null for unindexed channels. */
  readonly channel: number | null;
  /** Modifier appended after the type (`x` for `accel_x`), or null. */
  readonly modifier: string | null;
  /** Negative input of a differential channel (`channel2`), or null. */
  readonly channel2?: number | null;
  /** Output channel (`out_` prefix). */
  readonly output: boolean;
  /** Position in the scan (`scan_index`); -1 for channels that are not buffered. */
  readonly scanIndex: number;
  readonly scanType: ScanType;
  /** Index of the hardware converter channel that feeds it (position in the converter's channel list). */
  readonly hwChannel: number;
}

/** The sysfs name stem of a channel: `in_voltage0`, `out_voltage1`, `in_accel_x`, `in_timestamp`. */
export function channelName(ch: IioChanSpec): string {
  const dir = ch.output ? 'out' : 'in';
  const idx = ch.channel === null ? '' : String(ch.channel);
  const mod = ch.modifier === null ? '' : `_${ch.modifier}`;
  const diff = ch.channel2 === undefined || ch.channel2 === null ? '' : `-${ch.type}${ch.channel2}`;
  return `${dir}_${ch.type}${idx}${diff}${mod}`;
}

/** `struct iio_buffer_access_funcs`, bound to one buffer implementation (the kernel's container_of). */
export interface IioBufferAccess {
  /** Modes the implementation supports (`modes`). */
  readonly modes: number;
  /** `INDIO_BUFFER_FLAG_FIXED_WATERMARK`: sysfs watermark is read-only. */
  readonly fixedWatermark: boolean;
  /** Copies up to `n` bytes to user `ubuf`; bytes copied, 0 when nothing is ready, or -errno. */
  read?(n: number, ubuf: number, task: Caller): number;
  /** Copies up to `n` bytes from user `ubuf`; bytes taken, 0 when full, or -errno. */
  write?(n: number, ubuf: number, task: Caller): number;
  /** Data available: scans for kfifo, bytes for the DMA queue (FILEIO-5). */
  dataAvailable(): number;
  /** Free space, same units; absent means "always room" (SIZE_MAX). */
  spaceAvailable?(): number;
  setBytesPerDatum?(bpd: number): void;
  setLength?(length: number): void;
  /** Re-sizes internal storage for the new scan size; 0 or -errno. */
  requestUpdate?(): number;
  enable?(): number;
  disable?(): number;
  /** An oops left the implementation's queue lock held: calls needing it block forever (XCL-5). */
  readonly poisoned?: boolean;
  /** DMABUF support (`attach_dmabuf`, `detach_dmabuf`, `enqueue_dmabuf`): absent on kfifo buffers (ATT-1). */
  readonly dmabuf?: IioDmabufOps;
  /** Driver removal: nothing is submitted any more (`iio_dma_buffer_exit`). */
  exit?(): void;
  /** Extra sysfs attributes of the implementation (dmaengine's `length_align_bytes`). */
  extraAttrs?(): Record<string, () => string>;
}

/** A block of the DMA queue as the DMABUF code sees it. */
export interface IioDmabufBlock {
  readonly id: number;
}

/** The DMABUF access functions of a buffer implementation. */
export interface IioDmabufOps {
  attachDmabuf(size: number): IioDmabufBlock | number;
  detachDmabuf(block: IioDmabufBlock): void;
  enqueueDmabuf(
    block: IioDmabufBlock,
    fence: { done(error: number): void },
    vecs: readonly Uint8Array[],
    size: number,
    cyclic: boolean,
  ): number;
}

/** A trigger a triggered-buffer device runs from (`struct iio_trigger` + its poll function). */
export interface IioTrigger {
  readonly name: string;
  /** Starts calling the device's poll function. */
  attach(): void;
  /** Stops it. */
  detach(): void;
}

/** Driver callbacks around buffer enable and disable (`struct iio_buffer_setup_ops`). */
export interface IioBufferSetupOps {
  preenable?(): number;
  postenable?(): number;
  predisable?(): number;
  postdisable?(): number;
}

/** A value of a channel-info attribute: IIO_VAL_INT or IIO_VAL_INT_PLUS_MICRO parts. */
export interface IioInfoValue {
  readonly type: number;
  readonly vals: readonly number[];
}

/**
 * Driver callbacks for channel info (`struct iio_info`): device-wide attributes (`info_mask_shared_by_all`)
 * and per-channel ones (`info_mask_separate`).
 */
export interface IioInfo {
  /** Shared-by-all info attributes the device has, e.g. `sampling_frequency`. */
  readonly sharedAttrs: readonly string[];
  /**
   * Per-channel info attributes (`raw`, `scale`) of the channels that have them, by channel: each becomes
   * `<channel name>_<attr>`, e.g. `in_voltage0_raw`.
   */
  readonly separateAttrs?: (chan: IioChanSpec) => readonly string[];
  /** `read_raw` for one attribute (of `chan` for a per-channel one): a value or -errno. */
  readRaw(attr: string, chan?: IioChanSpec): IioInfoValue | number;
  /** `write_raw`: 0 or -errno; absent means read-only (ATTR-3: store -EINVAL). */
  writeRaw?(attr: string, integer: number, micro: number, chan?: IioChanSpec): number;
  /** `write_raw_get_fmt` for `attr`: the format the store parses with (default INT_PLUS_MICRO). */
  writeFormat?(attr: string, chan?: IioChanSpec): number;
}
