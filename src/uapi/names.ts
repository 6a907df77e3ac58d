/**
 * Names for strace-style output: ioctl request names per kernel profile (read from the ioctl table, `./ioctls.ts`),
 * with strace's `_IOC(...)` fallback, and flag word formatters. Print orders follow strace's tables, so output reads like `strace -e trace=...`.
 *
 * @packageDocumentation
 */

import {
  __O_SYNC,
  __O_TMPFILE,
  F_SEAL_EXEC,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  FASYNC,
  FD_CLOEXEC,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_NOEXEC_SEAL,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_DSYNC,
  O_EXCL,
  O_LARGEFILE,
  O_NOATIME,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
} from './fcntl.ts';
import type { FlagTable } from './flags.ts';
import { formatFlags, formatXval } from './flags.ts';
import { _IOC_DIR, _IOC_NONE, _IOC_NR, _IOC_READ, _IOC_SIZE, _IOC_TYPE, _IOC_WRITE } from './ioctl.ts';
import { type AbiProfile, ioctlByName, ioctlByRequest, ioctlsOf } from './ioctls.ts';
import {
  MAP_32BIT,
  MAP_ABOVE4G,
  MAP_ANONYMOUS,
  MAP_DENYWRITE,
  MAP_DROPPABLE,
  MAP_EXECUTABLE,
  MAP_FILE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_SYNC,
  MAP_TYPE,
  MAP_UNINITIALIZED,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_NONE,
  PROT_READ,
  PROT_SEM,
  PROT_WRITE,
} from './mman.ts';

export { formatDmaBufSyncFlags } from './dma-buf.ts';
export { formatPollEvents } from './poll.ts';

/** @deprecated The same as {@link AbiProfile}, its one name. */
export type IoctlProfile = AbiProfile;

const IOC_DIR_NAMES: FlagTable = [
  ['_IOC_NONE', _IOC_NONE],
  ['_IOC_READ', _IOC_READ],
  ['_IOC_WRITE', _IOC_WRITE],
];

function hex(n: number): string {
  return n === 0 ? '0' : `0x${n.toString(16)}`;
}

/** strace's form for a request it has no name for: `_IOC(_IOC_WRITE, 0x69, 0x92, 0x10)` (0 prints as `0`). */
export function formatIoctlFallback(req: number): string {
  const r = req >>> 0;
  return `_IOC(${formatFlags(_IOC_DIR(r), IOC_DIR_NAMES, '_IOC_???')}, ${hex(_IOC_TYPE(r))}, ${hex(_IOC_NR(r))}, ${hex(_IOC_SIZE(r))})`;
}

/**
 * The kernel name of a request number in a profile (the full 32-bit value must match, rulebook XPROF-1), else
 * {@link formatIoctlFallback}. 0x40106993 is ENQUEUE in `v2` and unnamed in `mainline`; 0x40046992 is ATTACH in
 * `mainline` only.
 */
export function ioctlRequestName(req: number, profile: AbiProfile): string {
  return ioctlByRequest(req, profile)?.name ?? formatIoctlFallback(req);
}

const OPEN_ACCESS_NAMES: FlagTable = [
  ['O_RDONLY', O_RDONLY],
  ['O_WRONLY', O_WRONLY],
  ['O_RDWR', O_RDWR],
  ['O_ACCMODE', O_ACCMODE],
];

const OPEN_MODE_NAMES: FlagTable = [
  ['O_CREAT', O_CREAT],
  ['O_EXCL', O_EXCL],
  ['O_NOCTTY', O_NOCTTY],
  ['O_TRUNC', O_TRUNC],
  ['O_APPEND', O_APPEND],
  ['O_NONBLOCK', O_NONBLOCK],
  ['O_SYNC', O_SYNC],
  ['__O_SYNC', __O_SYNC],
  ['O_DSYNC', O_DSYNC],
  ['O_DIRECT', O_DIRECT],
  ['O_LARGEFILE', O_LARGEFILE],
  ['O_NOFOLLOW', O_NOFOLLOW],
  ['O_NOATIME', O_NOATIME],
  ['O_CLOEXEC', O_CLOEXEC],
  ['O_PATH', O_PATH],
  ['O_TMPFILE', O_TMPFILE],
  ['__O_TMPFILE', __O_TMPFILE],
  ['O_DIRECTORY', O_DIRECTORY],
  ['FASYNC', FASYNC],
];

/** strace-style open flags: access mode first, then the others (`O_RDWR|O_NONBLOCK|O_CLOEXEC`), unknown bits hex. */
export function formatOpenFlags(flags: number): string {
  const f = flags >>> 0;
  const access = formatXval(f & O_ACCMODE, OPEN_ACCESS_NAMES);
  const rest = f & ~O_ACCMODE;
  return rest === 0 ? access : `${access}|${formatFlags(rest >>> 0, OPEN_MODE_NAMES)}`;
}

const PROT_NAMES: FlagTable = [
  ['PROT_NONE', PROT_NONE],
  ['PROT_READ', PROT_READ],
  ['PROT_WRITE', PROT_WRITE],
  ['PROT_EXEC', PROT_EXEC],
  ['PROT_SEM', PROT_SEM],
  ['PROT_GROWSDOWN', PROT_GROWSDOWN],
  ['PROT_GROWSUP', PROT_GROWSUP],
];

/** strace-style mmap protection: `PROT_READ|PROT_WRITE`, `PROT_NONE` for 0. */
export function formatProt(prot: number): string {
  return formatFlags(prot >>> 0, PROT_NAMES, 'PROT_???');
}

const MAP_TYPE_NAMES: FlagTable = [
  ['MAP_SHARED', MAP_SHARED],
  ['MAP_PRIVATE', MAP_PRIVATE],
  ['MAP_SHARED_VALIDATE', MAP_SHARED_VALIDATE],
  ['MAP_DROPPABLE', MAP_DROPPABLE],
  ['MAP_FILE', MAP_FILE],
];

const MAP_FLAG_NAMES: FlagTable = [
  ['MAP_FIXED', MAP_FIXED],
  ['MAP_ANONYMOUS', MAP_ANONYMOUS],
  ['MAP_32BIT', MAP_32BIT],
  ['MAP_ABOVE4G', MAP_ABOVE4G],
  ['MAP_NORESERVE', MAP_NORESERVE],
  ['MAP_POPULATE', MAP_POPULATE],
  ['MAP_NONBLOCK', MAP_NONBLOCK],
  ['MAP_GROWSDOWN', MAP_GROWSDOWN],
  ['MAP_DENYWRITE', MAP_DENYWRITE],
  ['MAP_EXECUTABLE', MAP_EXECUTABLE],
  ['MAP_LOCKED', MAP_LOCKED],
  ['MAP_STACK', MAP_STACK],
  ['MAP_HUGETLB', MAP_HUGETLB],
  ['MAP_SYNC', MAP_SYNC],
  ['MAP_UNINITIALIZED', MAP_UNINITIALIZED],
  ['MAP_FIXED_NOREPLACE', MAP_FIXED_NOREPLACE],
];

/**
 * strace-style mmap flags (x86-64 values): the mapping type first (`MAP_SHARED`), then the other flags, then a huge
 * page size as `N<<MAP_HUGE_SHIFT`.
 */
export function formatMapFlags(flags: number): string {
  const f = flags >>> 0;
  let out = formatXval(f & MAP_TYPE, MAP_TYPE_NAMES, 'MAP_???');
  const hugeMask = (MAP_HUGE_MASK << MAP_HUGE_SHIFT) >>> 0;
  const huge = (f & hugeMask) >>> 0;
  const rest = (f & ~MAP_TYPE & ~hugeMask) >>> 0;
  if (rest !== 0) out += `|${formatFlags(rest, MAP_FLAG_NAMES)}`;
  if (huge !== 0) out += `|${huge >>> MAP_HUGE_SHIFT}<<MAP_HUGE_SHIFT`;
  return out;
}

const FD_FLAG_NAMES: FlagTable = [['FD_CLOEXEC', FD_CLOEXEC]];

/** strace-style fd flags (F_GETFD/F_SETFD): `FD_CLOEXEC` or `0`. */
export function formatFdFlags(flags: number): string {
  return formatFlags(flags >>> 0, FD_FLAG_NAMES);
}

const MFD_NAMES: FlagTable = [
  ['MFD_CLOEXEC', MFD_CLOEXEC],
  ['MFD_ALLOW_SEALING', MFD_ALLOW_SEALING],
  ['MFD_HUGETLB', MFD_HUGETLB],
  ['MFD_NOEXEC_SEAL', MFD_NOEXEC_SEAL],
  ['MFD_EXEC', MFD_EXEC],
];

/** strace-style memfd_create flags: `MFD_CLOEXEC|MFD_ALLOW_SEALING`, `0` for none. */
export function formatMemfdFlags(flags: number): string {
  return formatFlags(flags >>> 0, MFD_NAMES, 'MFD_???');
}

const SEAL_NAMES: FlagTable = [
  ['F_SEAL_SEAL', F_SEAL_SEAL],
  ['F_SEAL_SHRINK', F_SEAL_SHRINK],
  ['F_SEAL_GROW', F_SEAL_GROW],
  ['F_SEAL_WRITE', F_SEAL_WRITE],
  ['F_SEAL_FUTURE_WRITE', F_SEAL_FUTURE_WRITE],
  ['F_SEAL_EXEC', F_SEAL_EXEC],
];

/** strace-style memfd seals: `F_SEAL_SEAL|F_SEAL_WRITE`, `0` for none. */
export function formatSeals(seals: number): string {
  return formatFlags(seals >>> 0, SEAL_NAMES, 'F_SEAL_???');
}

/** The request number a kernel name stands for in a profile (the reverse of {@link ioctlRequestName}). */
export function ioctlRequestNumber(name: string, profile: AbiProfile): number | undefined {
  return ioctlByName(name, profile)?.request;
}

/** Every ioctl name known in a profile, in the order of the ioctl table. */
export function ioctlRequestNames(profile: AbiProfile): string[] {
  return ioctlsOf(profile).map((d) => d.name);
}
