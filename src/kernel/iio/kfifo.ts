/**
 * The kfifo buffer (drivers/iio/buffer/kfifo_buf.c), as the iio_simple_dummy driver uses it: a ring of
 * whole scans filled by the driver's trigger handler. Rules KFIFO-1..8.
 */
import { EFAULT, EINVAL, ENOMEM } from '../../uapi/errno.ts';
import type { Caller } from '../vfs.ts';
import type { IioBuffer } from './device.ts';
import { type IioBufferAccess, INDIO_BUFFER_SOFTWARE, INDIO_BUFFER_TRIGGERED } from './types.ts';

function roundupPowOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** `struct iio_kfifo`. */
export class IioKfifo implements IioBufferAccess {
  readonly modes = INDIO_BUFFER_SOFTWARE | INDIO_BUFFER_TRIGGERED;
  readonly fixedWatermark = false;
  buffer!: IioBuffer;
  /** Element size (bpd at the last allocation); 0 until allocated. */
  #esize = 0;
  #capacity = 0;
  #ring: Uint8Array | null = null;
  #head = 0;
  #count = 0;
  /** `update_needed`: length or bpd changed since the last allocation. */
  #updateNeeded = true;
  /** Scans dropped because the fifo was full (KFIFO-4). */
  overflow = 0;

  /** Binds the fifo to its buffer. */
  init(buffer: IioBuffer): void {
    this.buffer = buffer;
  }

  setBytesPerDatum(bpd: number): void {
    if (this.buffer.bytesPerDatum !== bpd) this.#updateNeeded = true;
    this.buffer.bytesPerDatum = bpd;
  }

  /** KFIFO-2. */
  setLength(length: number): void {
    if (length < 2) length = 2;
    if (this.buffer.length !== length) this.#updateNeeded = true;
    this.buffer.length = length;
  }

  /** `iio_request_update_kfifo()` (KFIFO-3). */
  requestUpdate(): number {
    if (!this.#updateNeeded) {
      this.#head = 0;
      this.#count = 0;
      return 0;
    }
    // The old fifo is freed first and the update is done even if the allocation fails: a later enable then
    // runs with no fifo at all (reads -EINVAL).
    this.#ring = null;
    this.#capacity = 0;
    this.#head = 0;
    this.#count = 0;
    this.#updateNeeded = false;
    const bpd = this.buffer.bytesPerDatum;
    const length = this.buffer.length;
    if (length === 0 || bpd === 0) return -EINVAL;
    const cap = roundupPowOfTwo(length);
    if (cap > Math.floor(0xffffffff / bpd)) return -EINVAL;
    if (cap * bpd > 1 << 30) return -ENOMEM;
    this.#ring = new Uint8Array(cap * bpd);
    this.#capacity = cap;
    this.#esize = bpd;
    return 0;
  }

  /** Whether {@link IioKfifo.store} would drop a scan now (no fifo allocated, or every slot taken). */
  get full(): boolean {
    return !this.#ring || this.#count >= this.#capacity;
  }

  /** `count` scans that {@link IioKfifo.store} would each drop now (the fifo is full), counted at once (KFIFO-4). */
  dropMany(count: number): void {
    this.overflow += count;
  }

  /** `iio_store_to_kfifo()`: one scan in; dropped when full (KFIFO-4). Returns false when dropped. */
  store(scan: Uint8Array): boolean {
    if (!this.#ring || this.#count >= this.#capacity) {
      this.overflow++;
      return false;
    }
    const slot = (this.#head + this.#count) % this.#capacity;
    this.#ring.set(scan.subarray(0, this.#esize), slot * this.#esize);
    this.#count++;
    return true;
  }

  /** `iio_read_kfifo()` (KFIFO-5, KFIFO-6). */
  read(n: number, ubuf: number, task: Caller): number {
    if (!this.#ring || n < this.#esize) return -EINVAL;
    const scans = Math.min(Math.floor(n / this.#esize), this.#count);
    if (scans === 0) return 0;
    // UACC-2: scans fully copied before a faulting byte are consumed, and the call still fails.
    let copied = 0;
    while (copied < scans) {
      const slot = (this.#head + copied) % this.#capacity;
      const scan = this.#ring.subarray(slot * this.#esize, (slot + 1) * this.#esize);
      if (!task.mm.copyToUser(ubuf + copied * this.#esize, scan)) break;
      copied++;
    }
    this.#head = (this.#head + copied) % this.#capacity;
    this.#count -= copied;
    return copied < scans ? -EFAULT : scans * this.#esize;
  }

  /** `iio_kfifo_write()` (KFIFO-7). */
  write(n: number, ubuf: number, task: Caller): number {
    if (!this.#ring || n < this.#esize) return -EINVAL;
    const scans = Math.min(Math.floor(n / this.#esize), this.#capacity - this.#count);
    if (scans === 0) return 0;
    const data = task.mm.copyFromUser(ubuf, scans * this.#esize);
    if (!data) return -EFAULT;
    for (let i = 0; i < scans; i++) this.store(data.subarray(i * this.#esize));
    return scans * this.#esize;
  }

  /** Stored scans (KFIFO-8). */
  dataAvailable(): number {
    return this.#count;
  }

  /** Free scans; 1 while never allocated (KFIFO-8 quirk). */
  spaceAvailable(): number {
    return this.#ring ? this.#capacity - this.#count : 1;
  }
}
