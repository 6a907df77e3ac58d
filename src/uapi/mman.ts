/**
 * mmap(2) constants and page arithmetic (4 KiB pages). Rulebook §1.2.
 *
 * @packageDocumentation
 */

/** Pages may not be accessed. */
export const PROT_NONE = 0x0;
/** Pages may be read. */
export const PROT_READ = 0x1;
/** Pages may be written. */
export const PROT_WRITE = 0x2;
/** Pages may be executed. */
export const PROT_EXEC = 0x4;
/** Pages may be used for atomic operations. */
export const PROT_SEM = 0x8;
/** mprotect: extend the change down to the start of a grows-down mapping. */
export const PROT_GROWSDOWN = 0x01000000;
/** mprotect: extend the change up to the end of a grows-up mapping. */
export const PROT_GROWSUP = 0x02000000;

/** Historical no-op flag (type bits 0). */
export const MAP_FILE = 0x0;
/** Changes are shared with other mappings of the object. */
export const MAP_SHARED = 0x01;
/** Changes are private (copy on write). */
export const MAP_PRIVATE = 0x02;
/** MAP_SHARED that rejects unknown flags. */
export const MAP_SHARED_VALIDATE = 0x03;
/** Mapping type: private anonymous memory the kernel may zero under memory pressure. */
export const MAP_DROPPABLE = 0x08;
/** Mask of the mapping type bits. */
export const MAP_TYPE = 0x0f;
/** Place the mapping exactly at `addr`. */
export const MAP_FIXED = 0x10;
/** Not backed by a file. */
export const MAP_ANONYMOUS = 0x20;
/** Alias of MAP_ANONYMOUS. */
export const MAP_ANON = MAP_ANONYMOUS;
/** x86: map in the first 2 GiB. */
export const MAP_32BIT = 0x40;
/** x86: map above 4 GiB (a hint honoured only without MAP_FIXED). */
export const MAP_ABOVE4G = 0x80;
/** Stack-like segment growing down. */
export const MAP_GROWSDOWN = 0x0100;
/** Ignored. */
export const MAP_DENYWRITE = 0x0800;
/** Ignored. */
export const MAP_EXECUTABLE = 0x1000;
/** Lock the pages. */
export const MAP_LOCKED = 0x2000;
/** Do not reserve swap. */
export const MAP_NORESERVE = 0x4000;
/** Prefault the page tables. */
export const MAP_POPULATE = 0x008000;
/** With MAP_POPULATE: do not block on I/O. */
export const MAP_NONBLOCK = 0x010000;
/** Suited for a stack. */
export const MAP_STACK = 0x020000;
/** Huge page mapping. */
export const MAP_HUGETLB = 0x040000;
/** Synchronous page faults (DAX; needs MAP_SHARED_VALIDATE). */
export const MAP_SYNC = 0x080000;
/** Like MAP_FIXED but fails instead of replacing an existing mapping. */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** Anonymous memory may be uninitialized (embedded kernels only). */
export const MAP_UNINITIALIZED = 0x4000000;
/** Shift of the huge page size field. */
export const MAP_HUGE_SHIFT = 26;
/** Mask of the huge page size field (after shifting down). */
export const MAP_HUGE_MASK = 0x3f;

/** log2 of the page size. */
export const PAGE_SHIFT = 12;
/** Page size in bytes. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/**
 * Rounds a non-negative integer byte count up to a whole number of pages. Exact for every input up to 2^53 (and
 * for any larger integer a double holds): multiples of 4096 of that magnitude are exactly representable. It never
 * wraps: use {@link PAGE_ALIGN_U64} for a user-supplied `__u64`, where the kernel's wrap to 0 matters (rulebook
 * MMAP-4, HEAP-9).
 */
export function PAGE_ALIGN(n: number): number {
  const rem = n % PAGE_SIZE;
  return rem === 0 ? n : n - rem + PAGE_SIZE;
}

/** Rounds a 64-bit byte count up to a page multiple, wrapping modulo 2^64 like the kernel (2^64 - 1 gives 0). */
export function PAGE_ALIGN_U64(n: bigint): bigint {
  const mask = BigInt(PAGE_SIZE - 1);
  return BigInt.asUintN(64, BigInt.asUintN(64, n) + mask) & ~mask;
}

/** Whether a byte count or address is a page multiple. */
export function PAGE_ALIGNED(n: number | bigint): boolean {
  return typeof n === 'bigint' ? n % BigInt(PAGE_SIZE) === 0n : n % PAGE_SIZE === 0;
}
