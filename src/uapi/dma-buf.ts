/**
 * dma-buf user API (`linux/dma-buf.h`). Rulebook §1.2, §1.3, §1.4, §7.
 *
 * @packageDocumentation
 */

import type { FlagTable } from './flags.ts';
import { formatFlags } from './flags.ts';
import { _IOW, _IOWR } from './ioctl.ts';
import type { Abi, StructOf } from './struct.ts';
import { defineStruct, sizeofPointer } from './struct.ts';

export { SYNC_IOC_FILE_INFO } from './sync-file.ts';

/** CPU access will read. */
export const DMA_BUF_SYNC_READ = 1 << 0;
/** CPU access will write. */
export const DMA_BUF_SYNC_WRITE = 2 << 0;
/** CPU access will read and write. */
export const DMA_BUF_SYNC_RW = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
/** Begin a CPU access session (the value 0 of bit 2). */
export const DMA_BUF_SYNC_START = 0 << 2;
/** End a CPU access session. */
export const DMA_BUF_SYNC_END = 1 << 2;
/** Every bit DMA_BUF_IOCTL_SYNC accepts. */
export const DMA_BUF_SYNC_VALID_FLAGS_MASK = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;
/** Size of a dma-buf name buffer, NUL included. */
export const DMA_BUF_NAME_LEN = 32;
/** ioctl type of dma-buf requests. */
export const DMA_BUF_BASE = 'b';

const SYNC_DIRECTION_NAMES: FlagTable = [
  ['DMA_BUF_SYNC_RW', DMA_BUF_SYNC_RW],
  ['DMA_BUF_SYNC_READ', DMA_BUF_SYNC_READ],
  ['DMA_BUF_SYNC_WRITE', DMA_BUF_SYNC_WRITE],
];

/**
 * `DMA_BUF_SYNC_START|DMA_BUF_SYNC_READ` style: START or END first, then RW, READ or WRITE, then unknown bits as
 * `|0x...`.
 */
export function formatDmaBufSyncFlags(flags: number | bigint): string {
  const v =
    typeof flags === 'bigint' ? BigInt.asUintN(64, flags) : BigInt.asUintN(64, BigInt(Math.trunc(flags)));
  const phase = (v & BigInt(DMA_BUF_SYNC_END)) !== 0n ? 'DMA_BUF_SYNC_END' : 'DMA_BUF_SYNC_START';
  const rest = v & ~BigInt(DMA_BUF_SYNC_END);
  return rest === 0n ? phase : `${phase}|${formatFlags(rest, SYNC_DIRECTION_NAMES)}`;
}

/** `struct dma_buf_sync` {flags u64}: 8 bytes, compat-safe. */
export const dma_buf_sync = defineStruct('dma_buf_sync', [['flags', 'u64', formatDmaBufSyncFlags]]);
/** Decoded `struct dma_buf_sync`. */
export type dma_buf_sync = StructOf<typeof dma_buf_sync>;

function formatRwFlags(v: number | bigint): string {
  return formatFlags(v, SYNC_DIRECTION_NAMES);
}

/** `struct dma_buf_export_sync_file` {flags u32, fd s32}: 8 bytes; `fd` is written back. */
export const dma_buf_export_sync_file = defineStruct('dma_buf_export_sync_file', [
  ['flags', 'u32', formatRwFlags],
  ['fd', 's32'],
]);
/** Decoded `struct dma_buf_export_sync_file`. */
export type dma_buf_export_sync_file = StructOf<typeof dma_buf_export_sync_file>;

/** `struct dma_buf_import_sync_file` {flags u32, fd s32}: 8 bytes. */
export const dma_buf_import_sync_file = defineStruct('dma_buf_import_sync_file', [
  ['flags', 'u32', formatRwFlags],
  ['fd', 's32'],
]);
/** Decoded `struct dma_buf_import_sync_file`. */
export type dma_buf_import_sync_file = StructOf<typeof dma_buf_import_sync_file>;

/** Begin or end CPU access. `_IOW('b', 0, struct dma_buf_sync)` = 0x40086200. */
export const DMA_BUF_IOCTL_SYNC = _IOW(DMA_BUF_BASE, 0, dma_buf_sync.size('lp64'));
/** Set the name, as an ILP32 program encodes it (`_IOW('b', 1, __u32)` = 0x40046201); accepted on every ABI. */
export const DMA_BUF_SET_NAME_A = _IOW(DMA_BUF_BASE, 1, 4);
/** Set the name, as an LP64 program encodes it (`_IOW('b', 1, __u64)` = 0x40086201); accepted on every ABI. */
export const DMA_BUF_SET_NAME_B = _IOW(DMA_BUF_BASE, 1, 8);

/**
 * `DMA_BUF_SET_NAME` as compiled for an ABI: `_IOW('b', 1, const char *)`, so it is `_A` for ILP32 and `_B` for
 * LP64 (rulebook COMPAT-4).
 */
export function DMA_BUF_SET_NAME(abi: Abi): number {
  return _IOW(DMA_BUF_BASE, 1, sizeofPointer(abi));
}

/** Export the current fences as a sync_file. `_IOWR('b', 2, struct dma_buf_export_sync_file)` = 0xC0086202. */
export const DMA_BUF_IOCTL_EXPORT_SYNC_FILE = _IOWR(DMA_BUF_BASE, 2, dma_buf_export_sync_file.size('lp64'));
/** Add a sync_file's fence to the dma-buf. `_IOW('b', 3, struct dma_buf_import_sync_file)` = 0x40086203. */
export const DMA_BUF_IOCTL_IMPORT_SYNC_FILE = _IOW(DMA_BUF_BASE, 3, dma_buf_import_sync_file.size('lp64'));
