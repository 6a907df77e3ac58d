/**
 * The wire format between the preload library (bridge/preload/iio-sim-preload.c) and the Node side of
 * `iio-sim exec`: little-endian frames on a stream socket. A request is `{u32 len, u32 op, i64 a[6]}` and its
 * data; an answer is `{u32 len, u32 kind, i64 ret, i64 aux}` and its data; `len` counts the bytes after
 * itself. While it serves a request the Node side may send `RESERVE` answers: the program then opens a
 * placeholder fd and sends a `RESERVED` request carrying its number.
 *
 * @packageDocumentation
 */
import type { Socket } from 'node:net';

/** Request operations (the `op` field), as the C side numbers them. */
export const OP = {
  OPEN: 1,
  CLOSE: 2,
  READ: 3,
  WRITE: 4,
  PREAD: 5,
  PWRITE: 6,
  LSEEK: 7,
  IOCTL: 8,
  MMAP: 9,
  MUNMAP: 10,
  POLL: 11,
  FCNTL: 12,
  DUP: 13,
  DUP3: 14,
  STAT: 15,
  ACCESS: 16,
  GETDENTS: 17,
  MEMFD_CREATE: 18,
  FTRUNCATE: 19,
  RESERVED: 20,
  /** fork(): the parent asks for the child simulated process; the answer is its pid. */
  FORK: 22,
  /** The first frame on a forked child's own channel: `a[0]` is the simulated pid FORK gave. */
  HELLO: 23,
  /** The parent after its real fork: `a[0]` the simulated pid, `a[1]` the real pid or -errno, `a[2]` connected. */
  FORKED: 24,
  /** Before an exec: the answer's data lists the placeholder fds that survive it (not close-on-exec). */
  EXEC_PREPARE: 25,
  /** The new image after an exec, on the kept channel: data is its path; the answer lists the kept fds. */
  EXEC: 26,
  /** A wait for a child: `a[0]` the pid argument (real), `a[1]` WNOHANG or 0. */
  WAIT: 27,
} as const;

/** Answer kinds: the call's result, a request for a placeholder fd, or a call the bridge cannot serve. */
export const KIND = { RET: 0, RESERVE: 1, UNSUPPORTED: 2 } as const;

/** One request from the program. */
export interface Request {
  readonly op: number;
  /** The six integer arguments (bigints: pointers and 64-bit offsets do not fit a double). */
  readonly a: readonly bigint[];
  readonly data: Uint8Array;
}

const REQ_HEAD = 4 + 4 + 6 * 8;
const REP_HEAD = 4 + 4 + 8 + 8;
/** Largest frame accepted: a bad length means a broken peer, not a big request. */
const MAX_FRAME = 64 << 20;

/** Reads request frames off a socket, one at a time, in order. */
export class FrameReader {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | null = null;
  #waiter: (() => void) | null = null;

  constructor(socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.#chunks.push(b);
      this.#buffered += b.length;
      this.#wake();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('error', (e) => {
      this.#error = e;
      this.#ended = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }

  #peekLength(): number {
    const c = this.#chunks[0]!;
    if (c.length >= 4) return c.readUInt32LE(0);
    const head = Buffer.concat(this.#chunks).subarray(0, 4);
    return head.readUInt32LE(0);
  }

  /** The next request, or null when the program closed its end. Throws for a malformed frame. */
  async next(): Promise<Request | null> {
    for (;;) {
      if (this.#buffered >= 4) {
        const len = this.#peekLength();
        if (len < REQ_HEAD - 4 || len > MAX_FRAME) throw new Error(`bridge: malformed frame (length ${len})`);
        if (this.#buffered >= len + 4) {
          const f = this.#take(len + 4);
          const a: bigint[] = [];
          for (let i = 0; i < 6; i++) a.push(f.readBigInt64LE(8 + i * 8));
          return { op: f.readUInt32LE(4), a, data: f.subarray(REQ_HEAD) };
        }
      }
      if (this.#ended) {
        if (this.#error && (this.#error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw this.#error;
        return null;
      }
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }
}

/** Encodes an answer frame. */
export function answerFrame(kind: number, ret: number | bigint, data?: Uint8Array, aux = 0n): Buffer {
  const n = data?.length ?? 0;
  const f = Buffer.allocUnsafe(REP_HEAD + n);
  f.writeUInt32LE(REP_HEAD - 4 + n, 0);
  f.writeUInt32LE(kind, 4);
  f.writeBigInt64LE(BigInt(ret), 8);
  f.writeBigInt64LE(aux, 16);
  if (data && n > 0) f.set(data, REP_HEAD);
  return f;
}
