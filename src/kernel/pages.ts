/**
 * Accounting of the memory that buffers take (dma-bufs, memfds, fileio blocks): what `alloc_pages()` would
 * refuse once the board's memory is used up. The bytes themselves live in each owner's `Uint8Array`.
 */
import { KernelBug } from './bug.ts';

/** The pool of buffer memory of one kernel. */
export class PagePool {
  readonly #total: number;
  #used = 0;

  constructor(totalBytes: number) {
    this.#total = totalBytes;
  }

  /** Bytes still free. */
  available(): number {
    return this.#total - this.#used;
  }

  /** Takes `bytes`; false (nothing taken) when there is not enough. */
  alloc(bytes: number): boolean {
    if (bytes > this.available()) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back bytes taken with {@link PagePool.alloc}. */
  free(bytes: number): void {
    this.#used -= bytes;
    if (this.#used < 0) throw new KernelBug('buffer memory accounting went negative');
  }
}
