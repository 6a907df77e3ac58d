/**
 * IIO buffer user API of the v2 profile: Linux 5.17-rc5 plus Paul Cercueil's 2022 series "iio: buffer-dma: write()
 * and new DMABUF based API" v2 (all 12 patches). Rulebook §1.3, §1.5, §11.
 *
 * The names collide with the mainline header on purpose (the ENQUEUE ioctl has another number here), so this module
 * is not re-exported by the `uapi` index; import it on its own (`iio-dmabuf-sim/uapi/v2`).
 *
 * @packageDocumentation
 */

import { iio_dmabuf } from './iio.ts';
import { _IOW } from './ioctl.ts';
import type { StructOf } from './struct.ts';
import { defineStruct } from './struct.ts';

export {
  DMABUF_ENQUEUE_TIMEOUT_MS,
  IIO_BUFFER_DIRECTION_IN,
  IIO_BUFFER_DIRECTION_OUT,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  IIO_IOCTL_UNHANDLED,
  iio_dmabuf,
  iio_event_data,
} from './iio.ts';

/** `iio_dmabuf.flags`: repeat the block until the buffer is disabled (added by patch 10/12; OUT only). */
export const IIO_BUFFER_DMABUF_CYCLIC = 1 << 0;
/** Flags accepted by ENQUEUE with the whole series applied (rulebook SEED-4). */
export const IIO_BUFFER_DMABUF_SUPPORTED_FLAGS = 0x00000001;
/** Flags accepted by ENQUEUE with patch 05/12 alone: none, so any flag gives `-EINVAL` (rulebook SEED-4). */
export const IIO_BUFFER_DMABUF_SUPPORTED_FLAGS_PATCH05 = 0x00000000;

/** `struct iio_dmabuf_alloc_req` {size u64, resv u64}: 16 bytes, compat-safe. The ALLOC argument. */
export const iio_dmabuf_alloc_req = defineStruct('iio_dmabuf_alloc_req', [
  ['size', 'u64'],
  ['resv', 'u64'],
]);
/** Decoded `struct iio_dmabuf_alloc_req`. */
export type iio_dmabuf_alloc_req = StructOf<typeof iio_dmabuf_alloc_req>;

/** Buffer fd: allocate a new dma-buf. `_IOW('i', 0x92, struct iio_dmabuf_alloc_req)` = 0x40106992. */
export const IIO_BUFFER_DMABUF_ALLOC_IOCTL = _IOW('i', 0x92, iio_dmabuf_alloc_req.size('lp64'));
/** Buffer fd: queue a dma-buf made by ALLOC. `_IOW('i', 0x93, struct iio_dmabuf)` = 0x40106993. */
export const IIO_BUFFER_DMABUF_ENQUEUE_IOCTL = _IOW('i', 0x93, iio_dmabuf.size('lp64'));
