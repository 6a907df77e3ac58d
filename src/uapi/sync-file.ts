/**
 * sync_file user API (`linux/sync_file.h`): what a program learns about the fences in a sync_file fd, e.g. one
 * exported from a dma-buf. Rulebook §1.3, §1.4.
 *
 * @packageDocumentation
 */

import { _IOWR } from './ioctl.ts';
import type { StructOf } from './struct.ts';
import { defineStruct } from './struct.ts';

/** ioctl type of sync_file requests. */
export const SYNC_IOC_MAGIC = '>';

/**
 * `struct sync_fence_info` {obj_name char[32], driver_name char[32], status s32, flags u32, timestamp_ns u64}:
 * 80 bytes, compat-safe. One element of the array SYNC_IOC_FILE_INFO fills.
 */
export const sync_fence_info = defineStruct('sync_fence_info', [
  ['obj_name', 'char[32]'],
  ['driver_name', 'char[32]'],
  ['status', 's32'],
  ['flags', 'u32', 'hex'],
  ['timestamp_ns', 'u64'],
]);
/** Decoded `struct sync_fence_info`. */
export type sync_fence_info = StructOf<typeof sync_fence_info>;

/**
 * `struct sync_file_info` {name char[32], status s32, flags u32, num_fences u32, pad u32, sync_fence_info u64}:
 * 56 bytes, compat-safe because the array pointer travels as a `__u64`.
 */
export const sync_file_info = defineStruct('sync_file_info', [
  ['name', 'char[32]'],
  ['status', 's32'],
  ['flags', 'u32', 'hex'],
  ['num_fences', 'u32'],
  ['pad', 'u32'],
  ['sync_fence_info', 'u64', 'ptr'],
]);
/** Decoded `struct sync_file_info`. */
export type sync_file_info = StructOf<typeof sync_file_info>;

/** sync_file: describe the file and, if asked, its fences. `_IOWR('>', 4, struct sync_file_info)` = 0xC0383E04. */
export const SYNC_IOC_FILE_INFO = _IOWR(SYNC_IOC_MAGIC, 4, sync_file_info.size('lp64'));
