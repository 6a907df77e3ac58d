/**
 * The CPU data cache over DMA memory on a platform whose caches are not coherent with the DMA masters
 * (arm64 without a cache-coherent interconnect, the common case for PL DMA on Zynq boards). The CPU sees the
 * cache; DMA sees memory. A line is fetched from memory at the CPU's first touch after it was invalidated,
 * and only the streaming-DMA maintenance operations move data otherwise: invalidate (`dcache_inval_poc`:
 * lines dropped, dirty data lost) and clean (`dcache_clean_poc`: dirty lines written back). Lines are never
 * evicted on their own, so a program that skips the maintenance sees the worst case every time instead of
 * now and then.
 */

/** Cache line size, bytes. */
export const CACHE_LINE = 64;

/** One cached region of DMA memory. */
export class CpuCache {
  /** What DMA reads and writes. */
  readonly memory: Uint8Array;
  /** What the CPU reads and writes, for the lines that are valid. */
  readonly data: Uint8Array;
  readonly #valid: Uint8Array;
  readonly #dirty: Uint8Array;
  #dirtyCount = 0;
  #validCount = 0;

  /** Starts with no line valid: the first touch fetches from memory. */
  constructor(memory: Uint8Array) {
    this.memory = memory;
    this.data = new Uint8Array(memory.length);
    const lines = Math.ceil(memory.length / CACHE_LINE);
    this.#valid = new Uint8Array(lines);
    this.#dirty = new Uint8Array(lines);
  }

  /** Lines written by the CPU and not yet cleaned. */
  get dirtyLines(): number {
    return this.#dirtyCount;
  }

  /** Fetches the invalid lines of `[from, from + n)` from memory (the CPU touching them), a run of lines per copy. */
  #touch(from: number, n: number): void {
    if (this.#validCount === this.#valid.length) return;
    const end = Math.ceil((from + n) / CACHE_LINE);
    let l = Math.floor(from / CACHE_LINE);
    while (l < end) {
      const a = this.#valid.indexOf(0, l);
      if (a < 0 || a >= end) return;
      let b = this.#valid.indexOf(1, a);
      if (b < 0 || b > end) b = end;
      this.data.set(this.memory.subarray(a * CACHE_LINE, b * CACHE_LINE), a * CACHE_LINE);
      this.#valid.fill(1, a, b);
      this.#validCount += b - a;
      l = b;
    }
  }

  /** Where a CPU load of `[from, from + n)` reads. */
  forRead(from: number, n: number): Uint8Array {
    this.#touch(from, n);
    return this.data.subarray(from, from + n);
  }

  /** Where a CPU store to `[from, from + n)` writes; the lines become dirty. */
  forWrite(from: number, n: number): Uint8Array {
    this.#touch(from, n);
    const end = Math.ceil((from + n) / CACHE_LINE);
    if (this.#dirtyCount === this.#dirty.length) return this.data.subarray(from, from + n);
    for (let l = Math.floor(from / CACHE_LINE); l < end; l++)
      if (!this.#dirty[l]) {
        this.#dirty[l] = 1;
        this.#dirtyCount++;
      }
    return this.data.subarray(from, from + n);
  }

  /** `dcache_inval_poc`: every line is dropped, to be fetched again at its next touch. Returns the dirty lines lost. */
  invalidate(): number {
    const lost = this.#dirtyCount;
    this.#valid.fill(0);
    this.#dirty.fill(0);
    this.#dirtyCount = 0;
    this.#validCount = 0;
    return lost;
  }

  /** `dcache_clean_poc`: dirty lines are written back to memory (they stay valid). Returns how many. */
  clean(): number {
    const n = this.#dirtyCount;
    if (n === 0) return 0;
    const lines = this.#dirty.length;
    for (let l = this.#dirty.indexOf(1); l >= 0 && l < lines; ) {
      let b = this.#dirty.indexOf(0, l);
      if (b < 0) b = lines;
      this.memory.set(this.data.subarray(l * CACHE_LINE, b * CACHE_LINE), l * CACHE_LINE);
      l = b < lines ? this.#dirty.indexOf(1, b) : -1;
    }
    this.#dirty.fill(0);
    this.#dirtyCount = 0;
    return n;
  }
}
