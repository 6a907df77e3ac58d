/**
 * The CPU data cache over DMA memory on a platform whose caches are not coherent with the DMA masters
 * (arm64 without a cache-coherent interconnect, the common case for PL DMA on Zynq boards). The CPU sees the
 * cache; DMA sees memory. Only the streaming-DMA maintenance operations move data between the two:
 * invalidate (`dcache_inval_poc`: lines dropped and refetched, dirty data lost) and clean
 * (`dcache_clean_poc`: dirty lines written back). Lines are never evicted on their own, so a program that
 * skips the maintenance sees the worst case every time instead of now and then.
 */

/** Cache line size, bytes. */
export const CACHE_LINE = 64;

/** One cached region of DMA memory. */
export class CpuCache {
  /** What DMA reads and writes. */
  readonly memory: Uint8Array;
  /** What the CPU reads and writes. */
  readonly data: Uint8Array;
  readonly #dirty: Uint8Array;
  #dirtyCount = 0;

  /** Starts with every line filled from `memory` (the first touch after the mapping was made). */
  constructor(memory: Uint8Array) {
    this.memory = memory;
    this.data = memory.slice();
    this.#dirty = new Uint8Array(Math.ceil(memory.length / CACHE_LINE));
  }

  /** Lines written by the CPU and not yet cleaned. */
  get dirtyLines(): number {
    return this.#dirtyCount;
  }

  /** Where a CPU load of `[from, from + n)` reads. */
  forRead(from: number, n: number): Uint8Array {
    return this.data.subarray(from, from + n);
  }

  /** Where a CPU store to `[from, from + n)` writes; the lines become dirty. */
  forWrite(from: number, n: number): Uint8Array {
    for (let l = Math.floor(from / CACHE_LINE); l * CACHE_LINE < from + n; l++)
      if (!this.#dirty[l]) {
        this.#dirty[l] = 1;
        this.#dirtyCount++;
      }
    return this.data.subarray(from, from + n);
  }

  /** `dcache_inval_poc`: every line is refetched from memory. Returns the dirty lines whose data was lost. */
  invalidate(): number {
    const lost = this.#dirtyCount;
    this.data.set(this.memory);
    this.#dirty.fill(0);
    this.#dirtyCount = 0;
    return lost;
  }

  /** `dcache_clean_poc`: dirty lines are written back to memory. Returns how many. */
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
