/**
 * File status (`asm/stat.h` of x86): what `fstat()` writes. An LP64 process gets x86_64's `struct stat`
 * (144 bytes); an ILP32 process gets i386's `struct stat64` (96 bytes), which `fstat64()` writes and every
 * large-file 32-bit program reads.
 *
 * @packageDocumentation
 */

import type { Abi } from './struct.ts';

/** File type bits of `st_mode`. */
export const S_IFMT = 0o170000;
/** Directory. */
export const S_IFDIR = 0o040000;
/** Character device. */
export const S_IFCHR = 0o020000;
/** Regular file. */
export const S_IFREG = 0o100000;

/** The fields of a file's status the simulator fills in (the times and owner are 0 there). */
export interface StatBuf {
  st_dev: bigint;
  st_ino: bigint;
  st_mode: number;
  st_nlink: number;
  st_rdev: bigint;
  st_size: bigint;
  st_blksize: number;
  st_blocks: bigint;
}

/** Bytes `fstat()` writes: `struct stat` (lp64) or `struct stat64` (ilp32). */
export const STAT_SIZE: Readonly<Record<Abi, number>> = { lp64: 144, ilp32: 96 };

/** Where each field sits, and its width (8 or 4 bytes), per ABI. */
const LAYOUT: Readonly<Record<Abi, Readonly<Record<keyof StatBuf, readonly [number, 4 | 8]>>>> = {
  lp64: {
    st_dev: [0, 8],
    st_ino: [8, 8],
    st_nlink: [16, 8],
    st_mode: [24, 4],
    st_rdev: [40, 8],
    st_size: [48, 8],
    st_blksize: [56, 8],
    st_blocks: [64, 8],
  },
  ilp32: {
    st_dev: [0, 8],
    st_mode: [16, 4],
    st_nlink: [20, 4],
    st_rdev: [32, 8],
    st_size: [44, 8],
    st_blksize: [52, 4],
    st_blocks: [56, 8],
    st_ino: [88, 8],
  },
};

/** The bytes of `st` as `fstat()` writes them for `abi` (i386 also keeps the low 32 bits of the inode at 12). */
export function encodeStat(st: StatBuf, abi: Abi): Uint8Array {
  const out = new Uint8Array(STAT_SIZE[abi]);
  const dv = new DataView(out.buffer);
  for (const [k, [off, size]] of Object.entries(LAYOUT[abi]) as [keyof StatBuf, [number, 4 | 8]][]) {
    const v = st[k];
    if (size === 8) dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
    else dv.setUint32(off, Number(BigInt.asUintN(32, BigInt(v))), true);
  }
  if (abi === 'ilp32') dv.setUint32(12, Number(BigInt.asUintN(32, st.st_ino)), true);
  return out;
}

/** Reads the status `fstat()` wrote for `abi`. */
export function decodeStat(bytes: Uint8Array, abi: Abi): StatBuf {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = {} as Record<keyof StatBuf, number | bigint>;
  for (const [k, [off, size]] of Object.entries(LAYOUT[abi]) as [keyof StatBuf, [number, 4 | 8]][]) {
    const big = size === 8 ? dv.getBigUint64(off, true) : BigInt(dv.getUint32(off, true));
    out[k] = k === 'st_mode' || k === 'st_nlink' || k === 'st_blksize' ? Number(big) : big;
  }
  return out as unknown as StatBuf;
}
