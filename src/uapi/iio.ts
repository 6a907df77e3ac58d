/**
 * IIO user API, mainline profile (Linux 7.3): `linux/iio/buffer.h` and `linux/iio/events.h`, plus the few kernel
 * internal IIO constants the rulebook names. Rulebook §1.2, §1.3, §1.4, §10.
 *
 * The v2 profile (2022 series) reuses nr 0x92/0x93 with other sizes; its header is `./iio-v2.ts` (rulebook §1.5).
 *
 * @packageDocumentation
 */

import { formatFlags } from './flags.ts';
import { _IOR, _IOW, _IOWR } from './ioctl.ts';
import type { StructOf } from './struct.ts';
import { defineStruct, SIZEOF_INT } from './struct.ts';

/** `iio_dmabuf.flags`: repeat the block until the buffer is disabled (OUT buffers only). */
export const IIO_BUFFER_DMABUF_CYCLIC = 1 << 0;
/** Every `iio_dmabuf.flags` bit the kernel accepts; any other bit gives `-EINVAL`. */
export const IIO_BUFFER_DMABUF_SUPPORTED_FLAGS = 0x00000001;

function formatDmabufFlags(v: number | bigint): string {
  return formatFlags(v, [['IIO_BUFFER_DMABUF_CYCLIC', IIO_BUFFER_DMABUF_CYCLIC]], 'IIO_BUFFER_DMABUF_???');
}

/** `struct iio_dmabuf` {fd u32, flags u32, bytes_used u64}: 16 bytes, compat-safe. The ENQUEUE argument. */
export const iio_dmabuf = defineStruct('iio_dmabuf', [
  ['fd', 'u32'],
  ['flags', 'u32', formatDmabufFlags],
  ['bytes_used', 'u64'],
]);
/** Decoded `struct iio_dmabuf`. */
export type iio_dmabuf = StructOf<typeof iio_dmabuf>;

/** `struct iio_event_data` {id u64, timestamp s64}: 16 bytes, one record read from an event fd. */
export const iio_event_data = defineStruct('iio_event_data', [
  ['id', 'u64', 'hex'],
  ['timestamp', 's64'],
]);
/** Decoded `struct iio_event_data`. */
export type iio_event_data = StructOf<typeof iio_event_data>;

/** Chardev: get a new event fd (`int *` out). `_IOR('i', 0x90, int)` = 0x80046990. */
export const IIO_GET_EVENT_FD_IOCTL = _IOR('i', 0x90, SIZEOF_INT);
/** Chardev: get an fd for buffer N (`int *` in: index, out: fd). `_IOWR('i', 0x91, int)` = 0xC0046991. */
export const IIO_BUFFER_GET_FD_IOCTL = _IOWR('i', 0x91, SIZEOF_INT);
/** Buffer fd: attach a dma-buf (`int *` in: its fd). `_IOW('i', 0x92, int)` = 0x40046992. */
export const IIO_BUFFER_DMABUF_ATTACH_IOCTL = _IOW('i', 0x92, SIZEOF_INT);
/** Buffer fd: detach a dma-buf (`int *` in: its fd). `_IOW('i', 0x93, int)` = 0x40046993. */
export const IIO_BUFFER_DMABUF_DETACH_IOCTL = _IOW('i', 0x93, SIZEOF_INT);
/** Buffer fd: queue an attached dma-buf for transfer. `_IOW('i', 0x94, struct iio_dmabuf)` = 0x40106994. */
export const IIO_BUFFER_DMABUF_ENQUEUE_IOCTL = _IOW('i', 0x94, iio_dmabuf.size('lp64'));

/** Kernel `enum iio_buffer_direction`: capture (ADC); sysfs `direction` reads `in`. */
export const IIO_BUFFER_DIRECTION_IN = 0;
/** Kernel `enum iio_buffer_direction`: output (DAC); sysfs `direction` reads `out`. */
export const IIO_BUFFER_DIRECTION_OUT = 1;
/** Kernel internal: a buffer ioctl handler's "not mine" return; in v2 it reaches the caller (V2-IOC-1). */
export const IIO_IOCTL_UNHANDLED = 1;
/** Kernel internal: how long ENQUEUE waits for the dma-buf's reservation before giving up (`-EBUSY`, ENQ-13). */
export const DMABUF_ENQUEUE_TIMEOUT_MS = 5000;

/** `IIO_EVENT_CODE_EXTRACT_TYPE`: event type, bits 56..63 of an event id. */
export function IIO_EVENT_CODE_EXTRACT_TYPE(id: bigint): number {
  return Number((id >> 56n) & 0xffn);
}

/** `IIO_EVENT_CODE_EXTRACT_DIR`: event direction, bits 48..54. */
export function IIO_EVENT_CODE_EXTRACT_DIR(id: bigint): number {
  return Number((id >> 48n) & 0x7fn);
}

/** `IIO_EVENT_CODE_EXTRACT_DIFF`: differential channel flag, bit 55. */
export function IIO_EVENT_CODE_EXTRACT_DIFF(id: bigint): number {
  return Number((id >> 55n) & 0x1n);
}

/** `IIO_EVENT_CODE_EXTRACT_MODIFIER`: channel modifier, bits 40..47. */
export function IIO_EVENT_CODE_EXTRACT_MODIFIER(id: bigint): number {
  return Number((id >> 40n) & 0xffn);
}

/** `IIO_EVENT_CODE_EXTRACT_CHAN_TYPE`: channel type, bits 32..39. */
export function IIO_EVENT_CODE_EXTRACT_CHAN_TYPE(id: bigint): number {
  return Number((id >> 32n) & 0xffn);
}

/** `IIO_EVENT_CODE_EXTRACT_CHAN`: channel number, bits 0..15 as a signed 16-bit value. */
export function IIO_EVENT_CODE_EXTRACT_CHAN(id: bigint): number {
  return Number(BigInt.asIntN(16, id & 0xffffn));
}

/** `IIO_EVENT_CODE_EXTRACT_CHAN2`: second channel number, bits 16..31 as a signed 16-bit value. */
export function IIO_EVENT_CODE_EXTRACT_CHAN2(id: bigint): number {
  return Number(BigInt.asIntN(16, (id >> 16n) & 0xffffn));
}
