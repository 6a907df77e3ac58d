/**
 * The host-side mirror of a real process's memory. `sys.mem` is synchronous while the process lives in
 * the guest, so every region the program knows (its `mem.alloc` blocks and every mapping mmap returned) has
 * a mirror here, read and written synchronously, and a shadow: the bytes last exchanged with the guest.
 * Before each call the bytes the program changed (mirror ≠ shadow) travel to the guest; after it the guest
 * reports what changed there. Pages the guest cannot read (a file mapping past EOF, PROT_NONE) fault here
 * too, with the simulator's {@link SegmentationFault}.
 *
 * @packageDocumentation
 */
import { SegmentationFault } from '../kernel/mm.ts';
import type { UserMemory } from '../sim/process.ts';
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../uapi/mman.ts';
import type { Abi, EncodeInput, StructCodec } from '../uapi/struct.ts';
import {
  ARENA,
  encodeMemOpHead,
  type MapInfo,
  MemOp,
  type MemOpEntry,
  REGION_MIRROR_MAX,
} from './protocol.ts';

/** The bytes of one file shown by several shared mappings: their mirrors and shadows are windows of these. */
interface SharedFile {
  readonly key: string;
  mirror: Uint8Array;
  shadow: Uint8Array;
}

/** One mapping the program knows, `[start, end)` page aligned. */
interface Region {
  start: number;
  end: number;
  prot: number;
  /** The program's bytes; null when the mapping is too large to mirror. */
  mirror: Uint8Array | null;
  /** The bytes as last exchanged with the guest. */
  shadow: Uint8Array | null;
  /** 1 per readable page, 0 per page the guest could not read. */
  ok: Uint8Array;
  /** Byte range (region offsets) the program wrote since the last sync; empty when lo >= hi. */
  dirtyLo: number;
  dirtyHi: number;
  /** Union of the ranges handed out by `view()`: compared at every sync, since views are written freely. */
  viewLo: number;
  viewHi: number;
  /** An arena block the guest has not mapped yet. */
  pendingAlloc: boolean;
  /** A shared mapping of a file: the file's bytes it is a window of, from `fileOffset`. */
  file: SharedFile | null;
  fileOffset: number;
}

/** User space ends here (the simulator's TASK_SIZE of each ABI). */
const TASK_SIZE: Record<Abi, number> = { lp64: 0x7ffffffff000, ilp32: 0xffffe000 };
/** Unchanged bytes between two changed ones that are still sent as one run. */
const RUN_GAP = 32;

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** A process's memory as the host sees it. */
export class MirrorMemory implements UserMemory {
  readonly abi: Abi;
  readonly #regions: Region[] = [];
  readonly #files = new Map<string, SharedFile>();
  readonly #arenaBase: number;
  readonly #arenaEnd: number;
  #heapTop: number;
  /** Live `alloc` blocks (start -> size), for `free`. */
  readonly #blocks = new Map<number, number>();
  /** Bytes sent to and received from the guest (for statistics). */
  bytesOut = 0;
  bytesIn = 0;

  constructor(abi: Abi) {
    this.abi = abi;
    this.#arenaBase = ARENA[abi].base;
    this.#arenaEnd = ARENA[abi].base + ARENA[abi].size;
    this.#heapTop = this.#arenaBase;
  }

  /** The regions, for tests and traces. */
  get regions(): readonly { start: number; end: number; prot: number }[] {
    return this.#regions.map((r) => ({ start: r.start, end: r.end, prot: r.prot }));
  }

  #find(addr: number): Region | undefined {
    const v = this.#regions;
    let lo = 0;
    let hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = v[mid]!;
      if (addr < r.start) hi = mid - 1;
      else if (addr >= r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  #firstOverlap(start: number, end: number): Region | undefined {
    for (const r of this.#regions) if (r.start < end && r.end > start) return r;
    return undefined;
  }

  #insert(r: Region): void {
    const v = this.#regions;
    let i = v.length;
    while (i > 0 && v[i - 1]!.start > r.start) i--;
    v.splice(i, 0, r);
  }

  #newRegion(start: number, len: number, prot: number, pendingAlloc: boolean): Region {
    const big = len > REGION_MIRROR_MAX;
    return {
      start,
      end: start + len,
      prot,
      mirror: big ? null : new Uint8Array(len),
      shadow: big ? null : new Uint8Array(len),
      ok: new Uint8Array(len / PAGE_SIZE).fill(1),
      dirtyLo: 0,
      dirtyHi: 0,
      viewLo: 0,
      viewHi: 0,
      pendingAlloc,
      file: null,
      fileOffset: 0,
    };
  }

  /** Forgets `[start, start + len)`, splitting regions across its ends (as munmap does). */
  #remove(start: number, len: number): void {
    const end = start + len;
    const kept: Region[] = [];
    for (const r of this.#regions) {
      if (r.end <= start || r.start >= end) {
        kept.push(r);
        continue;
      }
      if (r.start < start) kept.push(piece(r, r.start, start));
      if (r.end > end) kept.push(piece(r, end, r.end));
    }
    this.#regions.splice(0, this.#regions.length, ...kept);
    for (const key of this.#files.keys()) if (!kept.some((r) => r.file?.key === key)) this.#files.delete(key);
  }

  /**
   * Makes the new shared mapping at `addr` a window of its file's bytes, so a store through one mapping
   * shows in every other mapping of the file at once, as in the simulator (one backing per file).
   */
  #link(addr: number, info: MapInfo): void {
    const r = this.#find(addr);
    if (!r || r.start !== addr || !r.mirror || info.offset % PAGE_SIZE !== 0) return;
    const len = r.end - r.start;
    const need = info.offset + len;
    let f = this.#files.get(info.file);
    if (!f) {
      const size = Math.max(need, pageAlign(info.size));
      if (size > REGION_MIRROR_MAX) return;
      f = { key: info.file, mirror: new Uint8Array(size), shadow: new Uint8Array(size) };
      this.#files.set(info.file, f);
    } else if (f.mirror.length < need) {
      if (need > REGION_MIRROR_MAX) return;
      const mirror = new Uint8Array(need);
      const shadow = new Uint8Array(need);
      mirror.set(f.mirror);
      shadow.set(f.shadow);
      f.mirror = mirror;
      f.shadow = shadow;
      for (const o of this.#regions)
        if (o.file === f) {
          o.mirror = mirror.subarray(o.fileOffset, o.fileOffset + (o.end - o.start));
          o.shadow = shadow.subarray(o.fileOffset, o.fileOffset + (o.end - o.start));
        }
    }
    r.file = f;
    r.fileOffset = info.offset;
    r.mirror = f.mirror.subarray(info.offset, need);
    r.shadow = f.shadow.subarray(info.offset, need);
  }

  /** `sys.mem.alloc`: page-granular zeroed blocks upwards from the arena base, stepping over mappings. */
  alloc(len: number): number {
    const size = pageAlign(Math.max(1, len));
    let start = this.#heapTop;
    for (let r = this.#firstOverlap(start, start + size); r; r = this.#firstOverlap(start, start + size))
      start = r.end;
    if (start + size > this.#arenaEnd) throw new Error(`out of memory: no room for ${size} bytes`);
    this.#heapTop = start + size;
    this.#insert(this.#newRegion(start, size, PROT_READ | PROT_WRITE, true));
    this.#blocks.set(start, size);
    return start;
  }

  /**
   * `sys.mem.free`: forgets the block, so that using it faults here as on the simulator. The guest keeps
   * its pages (the arena is bump-allocated on both sides, so later addresses stay the same).
   */
  free(addr: number): void {
    const size = this.#blocks.get(addr);
    if (size === undefined) throw new Error(`free(0x${addr.toString(16)}): not a block that alloc returned`);
    this.#blocks.delete(addr);
    this.#remove(addr, size);
  }

  /** The argument block of {@link MirrorMemory.scratch}: its region as `alloc` made it, null before the first call. */
  #scratch: Region | null = null;

  /**
   * `sys.mem.scratch`: one block for marshalling call arguments, reused while it is the region `alloc` made
   * (not freed, unmapped or replaced: the simulator's rule, so that both sides hand out the same addresses).
   */
  scratch(len: number): number {
    const r = this.#scratch;
    const intact = r !== null && this.#blocks.has(r.start) && this.#find(r.start) === r;
    if (intact && len <= r.end - r.start) return r.start;
    if (intact) this.free(r.start);
    const addr = this.alloc(len);
    this.#scratch = this.#find(addr) ?? null;
    return addr;
  }

  /** Walks `[addr, addr + len)`; false at the first byte without `prot` or on an unreadable page. */
  #walk(
    addr: number,
    len: number,
    prot: number,
    visit?: (r: Region, from: number, n: number, done: number) => void,
  ) {
    if (!Number.isSafeInteger(addr) || addr < 0 || len < 0 || addr + len > TASK_SIZE[this.abi]) return false;
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const r = this.#find(a);
      if (!r || (r.prot & prot) !== prot) return false;
      const n = Math.min(len - done, r.end - a);
      const from = a - r.start;
      for (let p = Math.floor(from / PAGE_SIZE); p * PAGE_SIZE < from + n; p++) if (!r.ok[p]) return false;
      if (!r.mirror)
        throw new Error(
          `sys.mem: the ${r.end - r.start}-byte mapping at 0x${r.start.toString(16)} is too large to mirror`,
        );
      visit?.(r, from, n, done);
      done += n;
    }
    return true;
  }

  #firstBad(addr: number, len: number, prot: number): number {
    for (let a = addr; a < addr + len; ) {
      const r = this.#find(a);
      if (!r || (r.prot & prot) !== prot) return a;
      const end = Math.min(r.end, addr + len);
      for (let x = a; x < end; x = (Math.floor((x - r.start) / PAGE_SIZE) + 1) * PAGE_SIZE + r.start)
        if (!r.ok[Math.floor((x - r.start) / PAGE_SIZE)]) return x;
      a = r.end;
    }
    return addr;
  }

  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const ok = this.#walk(addr, len, PROT_READ, (r, from, n, done) =>
      out.set(r.mirror!.subarray(from, from + n), done),
    );
    if (!ok) throw new SegmentationFault(this.#firstBad(addr, len, PROT_READ), 'read');
    return out;
  }

  write(addr: number, bytes: Uint8Array): void {
    if (!this.#walk(addr, bytes.length, PROT_WRITE))
      throw new SegmentationFault(this.#firstBad(addr, bytes.length, PROT_WRITE), 'write');
    this.#walk(addr, bytes.length, PROT_WRITE, (r, from, n, done) => {
      r.mirror!.set(bytes.subarray(done, done + n), from);
      if (r.dirtyLo >= r.dirtyHi) {
        r.dirtyLo = from;
        r.dirtyHi = from + n;
      } else {
        r.dirtyLo = Math.min(r.dirtyLo, from);
        r.dirtyHi = Math.max(r.dirtyHi, from + n);
      }
    });
  }

  view(addr: number, len: number): Uint8Array {
    const r = this.#find(addr);
    if (!r || addr + len > r.end || (r.prot & PROT_READ) === 0)
      throw new SegmentationFault(r ? r.end : addr, 'view');
    const from = addr - r.start;
    for (let p = Math.floor(from / PAGE_SIZE); p * PAGE_SIZE < from + len; p++)
      if (!r.ok[p]) throw new SegmentationFault(r.start + Math.max(from, p * PAGE_SIZE), 'view');
    if (!r.mirror)
      throw new Error(`sys.mem.view: the mapping at 0x${r.start.toString(16)} is too large to mirror`);
    if (r.viewLo >= r.viewHi) {
      r.viewLo = from;
      r.viewHi = from + len;
    } else {
      r.viewLo = Math.min(r.viewLo, from);
      r.viewHi = Math.max(r.viewHi, from + len);
    }
    return r.mirror.subarray(from, from + len);
  }

  readInt(addr: number): number {
    const b = this.read(addr, 4);
    return new DataView(b.buffer).getInt32(0, true);
  }

  writeInt(addr: number, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value, true);
    this.write(addr, b);
  }

  allocStruct<T>(codec: StructCodec<T>, value: EncodeInput<T>): number {
    const addr = this.alloc(codec.size(this.abi));
    this.write(addr, codec.encode(value, this.abi));
    return addr;
  }

  readStruct<T>(addr: number, codec: StructCodec<T>): T {
    return codec.decode(this.read(addr, codec.size(this.abi)), this.abi);
  }

  writeStruct<T>(addr: number, codec: StructCodec<T>, value: EncodeInput<T>): void {
    this.write(addr, codec.encode(value, this.abi));
  }

  allocString(s: string): number {
    const bytes = new TextEncoder().encode(`${s}\0`);
    const addr = this.alloc(bytes.length);
    this.write(addr, bytes);
    return addr;
  }

  /**
   * The memory operations that bring the guest up to date before a call: new arena blocks, then every run
   * of bytes the program changed. The shadows take the sent bytes.
   */
  takeChanges(): Uint8Array[] {
    const parts: Uint8Array[] = [];
    for (const r of this.#regions) {
      if (r.pendingAlloc) {
        parts.push(encodeMemOpHead(MemOp.ALLOC, r.start, r.end - r.start));
        r.pendingAlloc = false;
      }
    }
    // Stores reach the guest through writable mappings only (a view of a read-only one cannot store, and a
    // shared file's bytes written through another mapping go through that one).
    for (const r of this.#regions) {
      if (!r.mirror || !r.shadow || (r.prot & PROT_WRITE) === 0) continue;
      let lo = r.dirtyLo;
      let hi = r.dirtyHi;
      if (r.viewLo < r.viewHi) {
        if (lo >= hi) {
          lo = r.viewLo;
          hi = r.viewHi;
        } else {
          lo = Math.min(lo, r.viewLo);
          hi = Math.max(hi, r.viewHi);
        }
      }
      r.dirtyLo = 0;
      r.dirtyHi = 0;
      if (lo >= hi) continue;
      for (const [a, b] of changedRuns(r.mirror, r.shadow, lo, hi)) {
        const data = r.mirror.slice(a, b);
        r.shadow.set(data, a);
        parts.push(encodeMemOpHead(MemOp.WRITE, r.start + a, b - a), data);
        this.bytesOut += b - a;
      }
    }
    return parts;
  }

  /** Applies what the guest reported after a call. */
  applyChanges(ops: readonly MemOpEntry[]): void {
    for (const op of ops) {
      if (op.kind === MemOp.DATA && op.data) {
        this.bytesIn += op.len;
        let done = 0;
        while (done < op.len) {
          const r = this.#find(op.addr + done);
          if (!r) break;
          const n = Math.min(op.len - done, r.end - (op.addr + done));
          if (r.mirror && r.shadow) {
            const chunk = op.data.subarray(done, done + n);
            r.mirror.set(chunk, op.addr + done - r.start);
            r.shadow.set(chunk, op.addr + done - r.start);
          }
          done += n;
        }
      } else if (op.kind === MemOp.MAPINFO && op.info) {
        this.#link(op.addr, op.info);
      } else if (op.kind === MemOp.GONE || op.kind === MemOp.BACK) {
        for (let a = op.addr; a < op.addr + op.len; a += PAGE_SIZE) {
          const r = this.#find(a);
          if (r) r.ok[Math.floor((a - r.start) / PAGE_SIZE)] = op.kind === MemOp.BACK ? 1 : 0;
        }
      }
    }
  }

  /** Follows a successful mmap (`ret` >= 0) as the guest does: the new mapping replaces what was there. */
  mapped(ret: number, len: number, prot: number): void {
    const size = pageAlign(this.abi === 'ilp32' ? len >>> 0 : len);
    this.#remove(ret, size);
    this.#insert(this.#newRegion(ret, size, prot, false));
  }

  /** Follows a successful munmap. */
  unmapped(addr: number, len: number): void {
    const a = this.abi === 'ilp32' ? addr >>> 0 : addr;
    this.#remove(a, pageAlign(this.abi === 'ilp32' ? len >>> 0 : len));
  }
}

/** The part `[start, end)` of region r (views handed out before keep pointing at the same bytes). */
function piece(r: Region, start: number, end: number): Region {
  const a = start - r.start;
  const b = end - r.start;
  const clip = (lo: number, hi: number): [number, number] => {
    const l = Math.max(lo, a);
    const h = Math.min(hi, b);
    return l < h ? [l - a, h - a] : [0, 0];
  };
  const [dirtyLo, dirtyHi] = clip(r.dirtyLo, r.dirtyHi);
  const [viewLo, viewHi] = clip(r.viewLo, r.viewHi);
  return {
    start,
    end,
    prot: r.prot,
    mirror: r.mirror ? r.mirror.subarray(a, b) : null,
    shadow: r.shadow ? r.shadow.subarray(a, b) : null,
    ok: r.ok.subarray(a / PAGE_SIZE, b / PAGE_SIZE),
    dirtyLo,
    dirtyHi,
    viewLo,
    viewHi,
    pendingAlloc: r.pendingAlloc,
    file: r.file,
    fileOffset: r.fileOffset + a,
  };
}

/** Runs `[a, b)` within `[lo, hi)` where `cur` differs from `old`, merging runs closer than {@link RUN_GAP}. */
export function changedRuns(cur: Uint8Array, old: Uint8Array, lo: number, hi: number): [number, number][] {
  const raw: [number, number][] = [];
  const bytes = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (cur[i] !== old[i]) raw.push([i, i + 1]);
  };
  // Whole 4-byte words over the aligned middle (mirrors start page aligned), bytes at the edges.
  let wLo = Math.ceil(lo / 4) * 4;
  let wHi = Math.floor(hi / 4) * 4;
  if (wLo >= wHi) {
    wLo = hi;
    wHi = hi;
  }
  bytes(lo, wLo);
  if (wHi > wLo && cur.byteOffset % 4 === 0 && old.byteOffset % 4 === 0) {
    const n = (wHi - wLo) / 4;
    const cw = new Int32Array(cur.buffer, cur.byteOffset + wLo, n);
    const ow = new Int32Array(old.buffer, old.byteOffset + wLo, n);
    const gapWords = RUN_GAP / 4;
    let k = 0;
    while (k < n) {
      if (cw[k] === ow[k]) {
        k++;
        continue;
      }
      let last = k;
      let e = k + 1;
      for (; e < n && e - last <= gapWords; e++) if (cw[e] !== ow[e]) last = e;
      raw.push([wLo + 4 * k, wLo + 4 * last + 4]);
      k = e;
    }
  } else bytes(wLo, wHi);
  bytes(wHi, hi);
  const runs: [number, number][] = [];
  for (const r of raw) {
    const prev = runs[runs.length - 1];
    if (prev && r[0] <= prev[1] + RUN_GAP) prev[1] = Math.max(prev[1], r[1]);
    else runs.push([r[0], r[1]]);
  }
  return runs;
}
