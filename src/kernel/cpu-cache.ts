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

  /** Fetches the invalid lines of `[from, from + n)` from memory (the CPU touching them). */
  #touch(from: number, n: number): void {
    for (let l = Math.floor(from / CACHE_LINE); l * CACHE_LINE < from + n; l++) {
      if (this.#valid[l]) continue;
      const start = l * CACHE_LINE;
      this.data.set(this.memory.subarray(start, start + CACHE_LINE), start);
      this.#valid[l] = 1;
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
    for (let l = Math.floor(from / CACHE_LINE); l * CACHE_LINE < from + n; l++)
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
    return lost;
  }

  /** `dcache_clean_poc`: dirty lines are written back to memory (they stay valid). Returns how many. */
  clean(): number {
    const n = this.#dirtyCount;
    if (n === 0) return 0;
    for (let l = 0; l < this.#dirty.length; l++) {
      if (!this.#dirty[l]) continue;
      const from = l * CACHE_LINE;
      this.memory.set(this.data.subarray(from, from + CACHE_LINE), from);
    }
    this.#dirty.fill(0);
    this.#dirtyCount = 0;
    return n;
  }
}
