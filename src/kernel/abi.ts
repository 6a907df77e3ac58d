/**
 * The ABI profiles as operations tables, chosen once when a kernel is built (as a driver picks its
 * `file_operations`): what the IIO buffer code and the dma-buf core do differently in the Feb 2022 v2
 * series and in Linux 7.3. A third profile is one more table and the ioctl file it points to.
 */
import type { AbiProfile } from '../uapi/ioctls.ts';
import type { DmaBufAbi } from './dma-buf/dma-buf.ts';
import { mainlineBufferIoctl } from './iio/buffer-dmabuf.ts';
import { v2BufferIoctl } from './iio/buffer-dmabuf-v2.ts';
import type { IioAbi } from './iio/device.ts';

/** Everything that differs between ABI profiles. */
export interface AbiOps {
  readonly name: AbiProfile;
  readonly iio: IioAbi;
  readonly dmaBuf: DmaBufAbi;
}

/** Linux 7.3: ATTACH/DETACH/ENQUEUE on heap and udmabuf dma-bufs, CYCLIC, sync_file import/export. */
export const MAINLINE_ABI: AbiOps = {
  name: 'mainline',
  iio: {
    bufferIoctl: mainlineBufferIoctl,
    dmaQueue: { wakeOnlyInFileio: false, resetDequeueAtUpdate: false, fileioNeedsEnabled: false },
    dmaengine: { singlePrep: false, oneCyclicAtATime: true, cyclicWholeBlock: false, loadEot: true },
  },
  dmaBuf: { syncFileIoctls: true, stubDetachesNames: true },
};

/** The v2 series (Feb 2022, on 5.17-rc5): IIO allocates the dma-bufs; `bytes_used == 0` is the whole buffer. */
export const V2_ABI: AbiOps = {
  name: 'v2',
  iio: {
    bufferIoctl: v2BufferIoctl,
    // V2-FENCE-1, and the series' fileio changes of patch 08/12.
    dmaQueue: { wakeOnlyInFileio: true, resetDequeueAtUpdate: true, fileioNeedsEnabled: true },
    // V2-SUB-2/3/5/6: prep_slave_single for every block, cyclic over the whole block, no LOAD_EOT.
    dmaengine: { singlePrep: true, oneCyclicAtATime: false, cyclicWholeBlock: true, loadEot: false },
  },
  dmaBuf: { syncFileIoctls: false, stubDetachesNames: false },
};

/** The operations table of every profile, by name. */
export const ABI_OPS: Readonly<Record<AbiProfile, AbiOps>> = { mainline: MAINLINE_ABI, v2: V2_ABI };
