/**
 * A process address space (`struct mm_struct`): page-granular mappings (`vm_area_struct`) backed by byte
 * arrays, the user copy primitives that fault with -EFAULT, and mmap/munmap bookkeeping.
 *
 * Addresses are plain numbers. LP64 processes get a 47-bit user space; ILP32 (compat) processes a 32-bit
 * one, so every pointer they pass fits in 32 bits as on a real compat task.
 */
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../uapi/mman.ts';
import { KernelBug } from './bug.ts';
import type { CpuCache } from './cpu-cache.ts';

/** Who backs a mapping and must be told when it goes away (a file's mapping reference). */
export interface VmaOwner {
  /** Called once when no page of the mapping remains. */
  unmapped(): void;
  /**
   * The owner of a forked child's copy of the mapping (`dup_mmap()`: `get_file()` and `vm_ops->open()`),
   * or absent when the copy needs none.
   */
  dup?(): VmaOwner;
}

/** One mapping: `[start, end)` page-aligned, bytes at `backing[offset + (addr - start)]`. */
export interface Vma {
  start: number;
  end: number;
  prot: number;
  /** MAP_SHARED or MAP_PRIVATE (type bits only). */
  shared: boolean;
  backing: Uint8Array;
  /** Offset in `backing` of `start`. */
  offset: number;
  /** What the mapping shows in traces: `[heap]`, `anon`, `/dmabuf:`... */
  name: string;
  /** Shared by the pieces of a split mapping; its `unmapped` runs when the last piece goes. */
  owner: VmaOwnerRef | null;
  /** Non-coherent DMA memory: the CPU goes through this cache instead of `backing`. */
  cache?: CpuCache | null;
  /** Told of every CPU access (user loads and stores, kernel copies) to the mapping, for the checker. */
  onAccess?: ((addr: number, len: number, write: boolean) => void) | null;
  /** Anonymous memory of the process (heap blocks, MAP_ANONYMOUS): counted against {@link ANON_MAX_BYTES}. */
  anon?: boolean;
}

/**
 * Most anonymous memory (heap blocks and MAP_ANONYMOUS mappings, whose bytes the simulator allocates up front) one
 * process may have: 1 GiB, the memory of the oracle's VM. Linux's overcommit heuristic refuses a request larger
 * than the machine's memory with -ENOMEM; the simulator refuses the same way once a process's total would pass
 * this (docs/limits.md).
 */
export const ANON_MAX_BYTES = 1 << 30;

/** Counts the pieces of one original mapping so the owner hears about the last one only. */
export interface VmaOwnerRef {
  readonly owner: VmaOwner;
  pieces: number;
}

/** A user address that could not be accessed. */
export class SegmentationFault extends Error {
  readonly addr: number;
  constructor(addr: number, what: string) {
    super(`segmentation fault: ${what} at 0x${addr.toString(16)}`);
    this.name = 'SegmentationFault';
    this.addr = addr;
  }
}

/** Address space limits of one ABI. */
interface Layout {
  readonly taskSize: number;
  readonly heapBase: number;
  readonly mmapTop: number;
}

const LP64: Layout = { taskSize: 0x7ffffffff000, heapBase: 0x555555554000, mmapTop: 0x7ffff7fff000 };
const ILP32: Layout = { taskSize: 0xffffe000, heapBase: 0x08050000, mmapTop: 0xf7fff000 };

/** Rounds up to a page; exact for lengths up to 2^53. */
export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** Bytes of the first slab small heap blocks are cut from (see {@link MM.allocHeap}); each next one doubles. */
const SLAB_FIRST_BYTES = 8 * 1024;
/** Bytes of the largest slab. */
const SLAB_MAX_BYTES = 64 * 1024;
/** Largest heap block cut from a slab; larger ones get an ArrayBuffer of their own. */
const SLAB_MAX_BLOCK = 16 * 1024;

/** Largest argument {@link MM.copyFromUserSmall} copies into its shared bytes. */
export const SMALL_COPY = 64;
const smallCopy = new Uint8Array(SMALL_COPY);
/** `smallCopy.subarray(0, n)` for every n, made once. */
const smallViews = Array.from({ length: SMALL_COPY + 1 }, (_, n) => smallCopy.subarray(0, n));

/** A process's memory. */
export class MM {
  readonly compat: boolean;
  readonly #layout: Layout;
  /** Sorted by start, non-overlapping. */
  readonly #vmas: Vma[] = [];
  #heapTop: number;
  /** Bytes moved by copy_to_user/copy_from_user since the last {@link MM.takeCopied}. */
  #copied = 0;
  /** Last VMA hit, checked first: copies on hot paths hit the same mapping again and again. */
  #hint: Vma | null = null;
  /** Live blocks of {@link MM.allocHeap}: start -> size, for {@link MM.freeHeap}. */
  readonly #heapBlocks = new Map<number, number>();
  /** Backings of freed heap blocks by size, handed out again (zeroed): a loop of alloc/free makes none. */
  readonly #spare = new Map<number, Uint8Array[]>();
  /** Bytes of anonymous memory mapped (see {@link ANON_MAX_BYTES}). */
  #anonBytes = 0;
  /** The slab new small heap blocks are cut from, and how much of it is handed out. */
  #slab: ArrayBuffer | null = null;
  #slabUsed = 0;

  constructor(compat: boolean) {
    this.compat = compat;
    this.#layout = compat ? ILP32 : LP64;
    this.#heapTop = this.#layout.heapBase;
  }

  /** TASK_SIZE: first address beyond user space. */
  get taskSize(): number {
    return this.#layout.taskSize;
  }

  /** Bytes of anonymous memory the process has mapped. */
  get anonBytes(): number {
    return this.#anonBytes;
  }

  /** Whether `len` more bytes of anonymous memory fit under {@link ANON_MAX_BYTES}. */
  anonFits(len: number): boolean {
    return len <= ANON_MAX_BYTES - this.#anonBytes;
  }

  /** All mappings, sorted by address. */
  get vmas(): readonly Vma[] {
    return this.#vmas;
  }

  /** Returns and resets the byte count of user copies (charged as CPU time by the scheduler). */
  takeCopied(): number {
    const n = this.#copied;
    this.#copied = 0;
    return n;
  }

  /** `access_ok()`: the range lies inside user space. */
  accessOk(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && addr >= 0 && len >= 0 && addr + len <= this.#layout.taskSize;
  }

  /** The mapping containing `addr`, or undefined (`find_vma` + containment check). */
  findVma(addr: number): Vma | undefined {
    const h = this.#hint;
    if (h && addr >= h.start && addr < h.end) return h;
    const v = this.#vmas;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v[mid]!;
      if (addr < m.start) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else {
        this.#hint = m;
        return m;
      }
    }
    return undefined;
  }

  /**
   * Walks `[addr, addr + len)` mapping by mapping; `visit` gets the bytes the CPU sees of each piece (the
   * backing, or its cache) and the offset into the user range. Returns false (and stops) at the first byte
   * lacking `prot` or lying past the end of a file mapping's backing. `access`: report the access to the
   * mapping's observer and mark cached stores dirty (false for probes and tracers).
   */
  #walk(
    addr: number,
    len: number,
    prot: number,
    visit: (bytes: Uint8Array, done: number) => void,
    access = true,
  ): boolean {
    if (!this.accessOk(addr, len)) return false;
    let done = 0;
    while (done < len) {
      const vma = this.findVma(addr + done);
      if (!vma || (vma.prot & prot) !== prot) return false;
      const from = vma.offset + (addr + done - vma.start);
      const n = Math.min(len - done, vma.end - (addr + done));
      // Pages of a file mapping past the end of the file have no backing: touching them faults (SIGBUS on
      // Linux; the simulator ends the program with a SegmentationFault naming the address).
      const have = Math.max(0, Math.min(n, vma.backing.length - from));
      if (have > 0) {
        if (access) vma.onAccess?.(addr + done, have, (prot & PROT_WRITE) !== 0);
        visit(this.#bytes(vma, from, have, access && (prot & PROT_WRITE) !== 0), done);
      }
      if (have < n) return false;
      done += n;
    }
    return true;
  }

  /**
   * The mapping that holds all of `[addr, addr + len)` with `prot`, backed, and seen without a CPU cache: the
   * common case, served without a walk. Null sends the caller to the walk.
   */
  #single(addr: number, len: number, prot: number): Vma | null {
    if (len <= 0 || !this.accessOk(addr, len)) return null;
    const vma = this.findVma(addr);
    if (!vma || vma.cache || (vma.prot & prot) !== prot || addr + len > vma.end) return null;
    return vma.offset + (addr - vma.start) + len <= vma.backing.length ? vma : null;
  }

  /** The bytes the CPU sees at `[from, from + n)` of a mapping's backing: memory, or its cache. */
  #bytes(vma: Vma, from: number, n: number, write: boolean): Uint8Array {
    if (!vma.cache) return vma.backing.subarray(from, from + n);
    return write ? vma.cache.forWrite(from, n) : vma.cache.forRead(from, n);
  }

  /**
   * `copy_from_user`: the bytes, or null when any byte is unreadable (the caller returns -EFAULT). A range that
   * faults gets no buffer of its length: the walk makes the accesses before the fault and copies nothing.
   */
  copyFromUser(addr: number, len: number): Uint8Array | null {
    const bytes = this.#readInOne(addr, len);
    if (bytes) return bytes.slice();
    if (!this.#probe(addr, len, PROT_READ)) {
      this.#walk(addr, len, PROT_READ, () => {});
      return null;
    }
    const out = new Uint8Array(len);
    this.#walk(addr, len, PROT_READ, (bytes, done) => out.set(bytes, done));
    this.#copied += len;
    return out;
  }

  /**
   * {@link MM.copyFromUser} of a small argument (at most {@link SMALL_COPY} bytes) into bytes shared by every
   * address space, valid until the next such copy: for a syscall that decodes its struct at once (SYNC, ENQUEUE)
   * without an array per call. Null when any byte is unreadable.
   */
  copyFromUserSmall(addr: number, len: number): Uint8Array | null {
    const v = len <= SMALL_COPY ? this.#readable(addr, len) : null;
    if (!v) return this.copyFromUser(addr, len);
    // Byte by byte: a few bytes, and no view of the mapping made per call.
    const src = v.backing;
    const from = v.offset + (addr - v.start);
    for (let i = 0; i < len; i++) smallCopy[i] = src[from + i]!;
    return smallViews[len]!;
  }

  /**
   * The one readable mapping that holds all `len` bytes at `addr`, with the read noted and the bytes counted as
   * copied; null otherwise (nothing counted: the caller walks the mappings).
   */
  #readable(addr: number, len: number): Vma | null {
    const v = this.#single(addr, len, PROT_READ);
    if (!v) return null;
    v.onAccess?.(addr, len, false);
    this.#copied += len;
    return v;
  }

  /** {@link MM.#readable}'s bytes as a view of their mapping's memory, or null. */
  #readInOne(addr: number, len: number): Uint8Array | null {
    const v = this.#readable(addr, len);
    if (!v) return null;
    const from = v.offset + (addr - v.start);
    return v.backing.subarray(from, from + len);
  }

  /**
   * `copy_from_user` that stops at the first unreadable byte (what copy_from_iter does in a write_iter): the
   * bytes before it.
   */
  copyFromUserPrefix(addr: number, len: number): Uint8Array {
    // Sized to what is readable, not to `len`: a memfd write of 4 GiB from a 48-byte buffer allocated (and
    // zeroed) up to 64 MiB for its 48 bytes.
    const out = new Uint8Array(this.#prefix(addr, len, null));
    this.#copied += this.#prefix(addr, out.length, out);
    return out;
  }

  /**
   * The readable bytes at `addr` before the first unreadable one, at most `len`: counted (`out` null), or copied
   * into `out` with each mapping's access reported.
   */
  #prefix(addr: number, len: number, out: Uint8Array | null): number {
    let done = 0;
    while (done < len) {
      const vma = this.findVma(addr + done);
      if (!vma || (vma.prot & PROT_READ) === 0 || !this.accessOk(addr + done, 1)) break;
      const from = vma.offset + (addr + done - vma.start);
      const n = Math.min(len - done, vma.end - (addr + done), vma.backing.length - from);
      if (n <= 0) break;
      if (out) {
        vma.onAccess?.(addr + done, n, false);
        out.set(this.#bytes(vma, from, n, false), done);
      }
      done += n;
    }
    return done;
  }

  /** Reads user memory for a tracer: no fault, no copy accounting; null when unreadable. */
  peek(addr: number, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    return this.#walk(addr, len, PROT_READ, (bytes, done) => out.set(bytes, done), false) ? out : null;
  }

  /**
   * `copy_from_user` straight into kernel memory `dest` at `destOffset`; false on a fault. Bytes before the
   * faulting page may have been copied, as in the kernel.
   */
  copyFromUserInto(dest: Uint8Array, destOffset: number, addr: number, len: number): boolean {
    const v = this.#single(addr, len, PROT_READ);
    if (v) {
      v.onAccess?.(addr, len, false);
      const from = v.offset + (addr - v.start);
      if (len <= 16) for (let i = 0; i < len; i++) dest[destOffset + i] = v.backing[from + i]!;
      else dest.set(v.backing.subarray(from, from + len), destOffset);
      this.#copied += len;
      return true;
    }
    const ok = this.#walk(addr, len, PROT_READ, (bytes, done) => dest.set(bytes, destOffset + done));
    if (ok) this.#copied += len;
    return ok;
  }

  /** `copy_to_user`: false when any byte is not writable (the caller returns -EFAULT). */
  copyToUser(addr: number, src: Uint8Array): boolean {
    const v = this.#single(addr, src.length, PROT_WRITE);
    if (v) {
      v.onAccess?.(addr, src.length, true);
      v.backing.set(src, v.offset + (addr - v.start));
      this.#copied += src.length;
      return true;
    }
    if (!this.#probe(addr, src.length, PROT_WRITE)) return false;
    this.#walk(addr, src.length, PROT_WRITE, (bytes, done) =>
      bytes.set(src.subarray(done, done + bytes.length)),
    );
    this.#copied += src.length;
    return true;
  }

  /**
   * `copy_to_user` that stops at the first unwritable byte (what copy_to_iter does): the number of bytes
   * copied.
   */
  copyToUserPrefix(addr: number, src: Uint8Array): number {
    let done = 0;
    while (done < src.length) {
      const vma = this.findVma(addr + done);
      if (!vma || (vma.prot & PROT_WRITE) === 0 || !this.accessOk(addr + done, 1)) break;
      const from = vma.offset + (addr + done - vma.start);
      const n = Math.min(src.length - done, vma.end - (addr + done), vma.backing.length - from);
      if (n <= 0) break;
      vma.onAccess?.(addr + done, n, true);
      this.#bytes(vma, from, n, true).set(src.subarray(done, done + n));
      done += n;
    }
    this.#copied += done;
    return done;
  }

  #probe(addr: number, len: number, prot: number): boolean {
    return this.#walk(addr, len, prot, () => {}, false);
  }

  /** User-space load (the process touching its memory): throws {@link SegmentationFault} on a bad address. */
  load(addr: number, len: number): Uint8Array {
    const v = this.#single(addr, len, PROT_READ);
    if (v) {
      v.onAccess?.(addr, len, false);
      const from = v.offset + (addr - v.start);
      return v.backing.slice(from, from + len);
    }
    const out = new Uint8Array(len);
    if (!this.#walk(addr, len, PROT_READ, (bytes, done) => out.set(bytes, done)))
      throw new SegmentationFault(this.#firstBad(addr, len, PROT_READ), 'read');
    return out;
  }

  /** User-space load into `dest` (no new array): throws {@link SegmentationFault} on a bad address. */
  loadInto(dest: Uint8Array, addr: number): void {
    const len = dest.length;
    const v = this.#single(addr, len, PROT_READ);
    if (v) {
      v.onAccess?.(addr, len, false);
      const from = v.offset + (addr - v.start);
      if (len <= 16) for (let i = 0; i < len; i++) dest[i] = v.backing[from + i]!;
      else dest.set(v.backing.subarray(from, from + len));
      return;
    }
    dest.set(this.load(addr, len));
  }

  /** User-space store: throws {@link SegmentationFault} on a bad or read-only address. */
  store(addr: number, bytes: Uint8Array): void {
    const v = this.#single(addr, bytes.length, PROT_WRITE);
    if (v) {
      v.onAccess?.(addr, bytes.length, true);
      v.backing.set(bytes, v.offset + (addr - v.start));
      return;
    }
    if (!this.#probe(addr, bytes.length, PROT_WRITE))
      throw new SegmentationFault(this.#firstBad(addr, bytes.length, PROT_WRITE), 'write');
    this.#walk(addr, bytes.length, PROT_WRITE, (dst, done) =>
      dst.set(bytes.subarray(done, done + dst.length)),
    );
  }

  /** A live view of `[addr, addr + len)` when it lies in one readable mapping (zero-copy), else it throws. */
  view(addr: number, len: number): Uint8Array {
    const vma = this.findVma(addr);
    if (!vma || addr + len > vma.end || (vma.prot & PROT_READ) === 0)
      throw new SegmentationFault(vma ? vma.end : addr, 'view');
    const from = vma.offset + (addr - vma.start);
    if (from + len > vma.backing.length)
      throw new SegmentationFault(vma.start + vma.backing.length - vma.offset, 'view');
    vma.onAccess?.(addr, len, false);
    return this.#bytes(vma, from, len, false);
  }

  #firstBad(addr: number, len: number, prot: number): number {
    for (let a = addr; a < addr + len; ) {
      const vma = this.findVma(a);
      if (!vma || (vma.prot & prot) !== prot) return a;
      const backed = vma.start + (vma.backing.length - vma.offset);
      if (backed < vma.end && a + (len - (a - addr)) > backed) return Math.max(a, backed);
      a = vma.end;
    }
    return addr;
  }

  /**
   * Allocates zeroed read-write anonymous memory for the program's own data (its malloc); -1 when the process's
   * anonymous memory would pass {@link ANON_MAX_BYTES} or user space is full (malloc's NULL).
   */
  allocHeap(len: number): number {
    const size = pageAlign(Math.max(1, len));
    if (!Number.isSafeInteger(size) || !this.anonFits(size)) return -1;
    // Like malloc falling back to fresh pages, it steps over whatever the program mapped there itself.
    let start = this.#heapTop;
    for (let v = this.#firstOverlap(start, start + size); v; v = this.#firstOverlap(start, start + size))
      start = v.end;
    if (start + size > this.#layout.taskSize) return -1;
    this.#heapTop = start;
    this.#insert({
      start,
      end: start + size,
      prot: PROT_READ | PROT_WRITE,
      shared: false,
      backing: this.#spare.get(size)?.pop()?.fill(0) ?? this.#freshBacking(size),
      offset: 0,
      name: '[heap]',
      owner: null,
      anon: true,
    });
    this.#heapTop += size;
    this.#heapBlocks.set(start, size);
    return start;
  }

  /**
   * Zeroed bytes for a new heap block. Small ones are views into a slab shared by several blocks: an
   * ArrayBuffer of its own costs about 1 µs and external-memory GC work, and the fuzzer's callIoctl and
   * writeAttr allocate one block per two syscalls.
   */
  #freshBacking(size: number): Uint8Array {
    if (size > SLAB_MAX_BLOCK) return new Uint8Array(size);
    if (this.#slab === null || this.#slabUsed + size > this.#slab.byteLength) {
      // Small at first: most processes (a fuzz run's, a test's) allocate a few blocks and free them again.
      const next =
        this.#slab === null ? SLAB_FIRST_BYTES : Math.min(2 * this.#slab.byteLength, SLAB_MAX_BYTES);
      this.#slab = new ArrayBuffer(Math.max(next, size));
      this.#slabUsed = 0;
    }
    const bytes = new Uint8Array(this.#slab, this.#slabUsed, size);
    this.#slabUsed += size;
    return bytes;
  }

  /**
   * Frees a block {@link MM.allocHeap} returned (the program's `free`): its pages are unmapped, so a later
   * use faults. False (nothing done) when `addr` is not the start of a live block.
   */
  freeHeap(addr: number): boolean {
    const size = this.#heapBlocks.get(addr);
    if (size === undefined) return false;
    const v = this.#vmas;
    let lo = 0;
    let hi = v.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid]!.start < addr) lo = mid + 1;
      else hi = mid;
    }
    const vma = v[lo];
    // The block as allocHeap made it (the program neither split nor replaced it): drop it and keep its bytes.
    if (
      vma &&
      vma.start === addr &&
      vma.end === addr + size &&
      vma.name === '[heap]' &&
      vma.backing.length === size
    ) {
      // Shifted by hand: splice() allocates the array of removed elements (writeAttr and readAttr free a block per call).
      for (let i = lo; i < v.length - 1; i++) v[i] = v[i + 1]!;
      v.pop();
      this.#heapBlocks.delete(addr);
      this.#anonBytes -= size;
      if (this.#hint === vma) this.#hint = null;
      const spare = this.#spare.get(size);
      if (!spare) this.#spare.set(size, size <= 1 << 16 ? [vma.backing] : []);
      else if (spare.length < 4 && size <= 1 << 16) spare.push(vma.backing);
      return true;
    }
    this.unmapRange(addr, size);
    return true;
  }

  /**
   * Whether `[addr, addr + len)` lies in the block {@link MM.allocHeap} returned at `addr`, still mapped as it
   * made it: not freed, unmapped, remapped or mprotect'ed since (a reused argument block is checked so).
   */
  heapBlockIntact(addr: number, len: number): boolean {
    const size = this.#heapBlocks.get(addr);
    if (size === undefined || len > size) return false;
    const vma = this.findVma(addr);
    return (
      vma !== undefined &&
      vma.start === addr &&
      vma.end === addr + size &&
      vma.name === '[heap]' &&
      vma.prot === (PROT_READ | PROT_WRITE)
    );
  }

  /** The lowest mapping that overlaps `[start, end)` (binary search: mappings are sorted and disjoint). */
  #firstOverlap(start: number, end: number): Vma | undefined {
    const v = this.#vmas;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    const m = v[lo];
    return m && m.start < end ? m : undefined;
  }

  /** Finds a free, page-aligned range of `len` bytes below the mmap top (`get_unmapped_area`), or -1. */
  unmappedArea(len: number): number {
    let top = this.#layout.mmapTop;
    for (let i = this.#vmas.length - 1; i >= 0; i--) {
      const v = this.#vmas[i]!;
      if (v.start >= top) continue;
      if (v.end <= top - len) break;
      top = v.start;
    }
    const start = top - len;
    return start >= this.#heapTop ? start : -1;
  }

  /** Installs a mapping (the range must be free). Returns its address. */
  insertMapping(vma: Omit<Vma, 'owner'>, owner: VmaOwner | null): number {
    return this.insertMappings([vma], owner);
  }

  /** Installs the adjacent parts of one mapping; the owner hears once, when the last part is gone. */
  insertMappings(parts: readonly Omit<Vma, 'owner'>[], owner: VmaOwner | null): number {
    const ref = owner ? { owner, pieces: parts.length } : null;
    for (const p of parts) this.#insert({ ...p, owner: ref });
    return parts[0]!.start;
  }

  #insert(vma: Vma): void {
    const v = this.#vmas;
    // Binary search for the first mapping starting above it: heap blocks go near the front of the list.
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid]!.start > vma.start) hi = mid;
      else lo = mid + 1;
    }
    const i = lo;
    const prev = v[i - 1];
    const next = v[i];
    if ((prev && prev.end > vma.start) || (next && next.start < vma.end))
      throw new KernelBug(`overlapping mapping at 0x${vma.start.toString(16)}`);
    v.push(vma);
    for (let j = v.length - 1; j > i; j--) v[j] = v[j - 1]!;
    v[i] = vma;
    if (vma.anon) this.#anonBytes += vma.end - vma.start;
  }

  /**
   * Removes every page in `[addr, addr + len)` (`do_vmi_munmap`), splitting partial mappings. Owners whose
   * last piece goes are told, in address order.
   */
  unmapRange(addr: number, len: number): void {
    const end = addr + len;
    const kept: Vma[] = [];
    const gone: VmaOwnerRef[] = [];
    for (const vma of this.#vmas) {
      if (vma.end <= addr || vma.start >= end) {
        kept.push(vma);
        continue;
      }
      const pieces: Vma[] = [];
      if (vma.start < addr) pieces.push({ ...vma, end: addr });
      if (vma.end > end) pieces.push({ ...vma, start: end, offset: vma.offset + (end - vma.start) });
      kept.push(...pieces);
      if (vma.anon) this.#anonBytes -= Math.min(vma.end, end) - Math.max(vma.start, addr);
      // A heap block whose first page goes is no longer one free() can name.
      if (vma.start >= addr) this.#heapBlocks.delete(vma.start);
      if (vma.owner) {
        vma.owner.pieces += pieces.length - 1;
        if (vma.owner.pieces === 0) gone.push(vma.owner);
      }
    }
    this.#vmas.splice(0, this.#vmas.length, ...kept);
    this.#hint = null;
    for (const ref of gone) ref.owner.unmapped();
  }

  /**
   * The address space of a forked child (`dup_mmap()`, kernel/fork.c): every mapping at the same address;
   * MAP_SHARED ones show the same pages (a dma-buf, a memfd, an IIO block: a store through either side is
   * seen through the other), private and anonymous ones are copied (copy-on-write, done at once here: the CPU
   * reads each page through its cache as `copy_page()` would). The heap allocator's state goes with them.
   */
  dup(): MM {
    const child = new MM(this.compat);
    const refs = new Map<VmaOwnerRef, VmaOwnerRef>();
    for (const vma of this.#vmas) {
      let owner: VmaOwnerRef | null = null;
      if (vma.owner) {
        owner = refs.get(vma.owner) ?? null;
        if (!owner) {
          const dup = vma.owner.owner.dup?.();
          owner = dup ? { owner: dup, pieces: 0 } : null;
          if (owner) refs.set(vma.owner, owner);
        }
        if (owner) owner.pieces++;
      }
      const len = vma.end - vma.start;
      const copy: Vma = vma.shared
        ? { ...vma, owner }
        : {
            ...vma,
            owner,
            backing: this.#bytes(
              vma,
              vma.offset,
              Math.max(0, Math.min(len, vma.backing.length - vma.offset)),
              false,
            ).slice(),
            offset: 0,
            cache: null,
          };
      child.#vmas.push(copy);
      if (copy.anon) child.#anonBytes += len;
    }
    child.#heapTop = this.#heapTop;
    for (const [addr, size] of this.#heapBlocks) child.#heapBlocks.set(addr, size);
    return child;
  }

  /** Removes every mapping (process exit, rule FD-12: before the files are closed). */
  unmapAll(): void {
    this.unmapRange(0, this.#layout.taskSize);
  }
}
