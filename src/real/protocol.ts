/**
 * Wire protocol between the host runtime and the guest executor (real/guest, described in
 * real/guest/PROTOCOL.md): length-prefixed little-endian frames, multiplexed by process id and request id.
 * The constants mirror real/guest/proto.h.
 *
 * @packageDocumentation
 */

/** Protocol version the executor must report in its HELLO reply. */
export const PROTO_VERSION = 3;
/** Bytes of a frame header: u32 length (whole frame), u16 type, u16 flags, u32 proc, u32 seq. */
export const HDR_SIZE = 16;
/** Largest frame either side accepts. */
export const FRAME_MAX = 512 * 1024 * 1024;

/** Frame types. A reply has the request's type with {@link FrameType.REPLY} set. */
export const FrameType = {
  HELLO: 0x01,
  PING: 0x02,
  RESET: 0x03,
  INSMOD: 0x04,
  RMMOD: 0x05,
  SPAWN: 0x06,
  KILL: 0x07,
  DMESG: 0x08,
  PUT: 0x09,
  RUN: 0x0a,
  CALL: 0x10,
  EXIT: 0x11,
  EXITED: 0x40,
  LOG: 0x41,
  READY: 0x42,
  REPLY: 0x80,
} as const;

/** HELLO reply feature bit: the executor found `executor32` next to itself. */
export const FEAT_EXECUTOR32 = 1;
/** HELLO reply feature bit: the executor serves PUT and RUN (host programs run in the guest). */
export const FEAT_RUN = 2;
/** SPAWN flag: an ILP32 (compat) process, run by `executor32`. */
export const SPAWN_COMPAT = 1;
/** SPAWN flag: fds 0-2 open on `/dev/null`. */
export const SPAWN_STDIO = 2;
/** RMMOD flag (not passed to delete_module): if the module is in use, first write 0 to every IIO buffer's `enable`. */
export const RMMOD_DISABLE_IIO_BUFFERS = 0x80000000;
/** CALL flag: the payload carries a string (path or memfd name). */
export const CALL_HAS_STRING = 1;

/** CALL operations: the `Sys` methods (not architecture syscall numbers). */
export const Op = {
  SYNC: 0,
  OPENAT: 1,
  CLOSE: 2,
  DUP: 3,
  DUP2: 4,
  DUP3: 5,
  READ: 6,
  WRITE: 7,
  PREAD64: 8,
  PWRITE64: 9,
  LSEEK: 10,
  FCNTL: 11,
  IOCTL: 12,
  MMAP: 13,
  MUNMAP: 14,
  POLL: 15,
  NANOSLEEP: 16,
  MEMFD_CREATE: 17,
  FTRUNCATE: 18,
  KILL: 19,
  SIGACTION: 20,
  GETPID: 21,
  PAUSE: 22,
  COMPUTE: 23,
  PIDFD_OPEN: 24,
  PIDFD_GETFD: 25,
  FSTAT: 26,
  READLINK: 27,
} as const;

/** A CALL operation code. */
export type OpCode = (typeof Op)[keyof typeof Op];

/** Memory operation kinds carried after a CALL's arguments and a RESULT's return value. */
export const MemOp = {
  /** host → process: map `[addr, addr + len)` read-write anonymous in the arena (a `sys.mem.alloc`). */
  ALLOC: 1,
  /** host → process: store the bytes at addr. */
  WRITE: 2,
  /** process → host: the bytes at addr changed. */
  DATA: 3,
  /** process → host: these pages can no longer be read (SIGBUS/SIGSEGV on touch). */
  GONE: 4,
  /** process → host: these pages can be read again. */
  BACK: 5,
  /** process → host: the new shared mapping at addr shows a file (u64 dev, ino, file offset, size follow). */
  MAPINFO: 6,
} as const;

/** Bytes after a MAPINFO header. */
export const MAPINFO_SIZE = 32;

/** Bytes of a memory operation header: u32 kind, u32 len, u64 addr. */
export const MOP_SIZE = 16;

/** Where `sys.mem.alloc` hands out memory: the simulator's heap bases, reserved by the executor at start. */
export const ARENA = {
  lp64: { base: 0x555555554000, size: 64 * 2 ** 30 },
  ilp32: { base: 0x08050000, size: 2 ** 30 },
} as const;

/** Mappings larger than this are not mirrored: their bytes are out of reach of `sys.mem`. */
export const REGION_MIRROR_MAX = 256 * 2 ** 20;

/** One decoded frame. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly proc: number;
  readonly seq: number;
  readonly payload: Uint8Array;
}

/** Builds one frame from its header fields and payload parts. */
export function encodeFrame(
  type: number,
  flags: number,
  proc: number,
  seq: number,
  parts: readonly Uint8Array[] = [],
): Uint8Array {
  let len = HDR_SIZE;
  for (const p of parts) len += p.length;
  if (len > FRAME_MAX) throw new RangeError(`frame of ${len} bytes exceeds ${FRAME_MAX}`);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, proc >>> 0, true);
  dv.setUint32(12, seq >>> 0, true);
  let off = HDR_SIZE;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Reassembles frames from stream chunks. */
export class FrameReader {
  #chunks: Uint8Array[] = [];
  #have = 0;

  /** Adds a chunk; returns the frames it completed. Throws on a corrupt length. */
  push(chunk: Uint8Array): Frame[] {
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.#have < HDR_SIZE) break;
      const head = this.#peek(4);
      const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      if (len < HDR_SIZE || len > FRAME_MAX) throw new Error(`corrupt frame length ${len}`);
      if (this.#have < len) break;
      const bytes = this.#take(len);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, HDR_SIZE);
      frames.push({
        type: dv.getUint16(4, true),
        flags: dv.getUint16(6, true),
        proc: dv.getUint32(8, true),
        seq: dv.getUint32(12, true),
        payload: bytes.subarray(HDR_SIZE),
      });
    }
    return frames;
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.#gather(n, false);
  }

  #take(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#have -= n;
      return out;
    }
    return this.#gather(n, true);
  }

  #gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.#chunks[i]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (consume) {
        if (k === c.length) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(k);
      } else i++;
    }
    if (consume) this.#have -= n;
    return out;
  }
}

/** A JS number as a two's complement 64-bit value (non-finite → 0, as the simulator's `int()` does). */
export function toI64(v: number): bigint {
  if (!Number.isFinite(v)) return 0n;
  const t = Math.trunc(v);
  if (t >= 2 ** 64) return -1n;
  if (t <= -(2 ** 63)) return -(2n ** 63n);
  return BigInt.asIntN(64, BigInt(t));
}

/** The fixed part of a CALL payload: u32 op, u32 string length, six i64 arguments, then the string. */
export function encodeCallHead(op: number, args: readonly number[], str: Uint8Array | null): Uint8Array {
  const slen = str ? str.length : 0;
  const out = new Uint8Array(8 + 48 + slen);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, op, true);
  dv.setUint32(4, slen, true);
  for (let i = 0; i < 6; i++) dv.setBigInt64(8 + 8 * i, toI64(args[i] ?? 0), true);
  if (str) out.set(str, 56);
  return out;
}

/** Header of one memory operation. */
export function encodeMemOpHead(kind: number, addr: number, len: number): Uint8Array {
  const out = new Uint8Array(MOP_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, kind, true);
  dv.setUint32(4, len, true);
  dv.setBigUint64(8, BigInt(addr), true);
  return out;
}

/** The file a shared mapping shows (MAPINFO). */
export interface MapInfo {
  /** `st_dev:st_ino`: the same for every mapping of one file. */
  readonly file: string;
  /** Offset in the file of the mapping's first byte. */
  readonly offset: number;
  /** `st_size` when it was mapped. */
  readonly size: number;
}

/** One memory operation read from a frame; `data` only for WRITE and DATA, `info` only for MAPINFO. */
export interface MemOpEntry {
  readonly kind: number;
  readonly addr: number;
  readonly len: number;
  readonly data?: Uint8Array;
  readonly info?: MapInfo;
}

/** The memory operations from `offset` to the end of `payload`. */
export function decodeMemOps(payload: Uint8Array, offset: number): MemOpEntry[] {
  const ops: MemOpEntry[] = [];
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let off = offset;
  while (off < payload.length) {
    if (payload.length - off < MOP_SIZE) throw new Error('truncated memory op');
    const kind = dv.getUint32(off, true);
    const len = dv.getUint32(off + 4, true);
    const addr = Number(dv.getBigUint64(off + 8, true));
    off += MOP_SIZE;
    if (kind === MemOp.WRITE || kind === MemOp.DATA) {
      if (payload.length - off < len) throw new Error('truncated memory op data');
      ops.push({ kind, addr, len, data: payload.subarray(off, off + len) });
      off += len;
    } else if (kind === MemOp.MAPINFO) {
      if (payload.length - off < MAPINFO_SIZE) throw new Error('truncated MAPINFO');
      const dev = dv.getBigUint64(off, true);
      const ino = dv.getBigUint64(off + 8, true);
      const info = {
        file: `${dev}:${ino}`,
        offset: Number(dv.getBigUint64(off + 16, true)),
        size: Number(dv.getBigUint64(off + 24, true)),
      };
      ops.push({ kind, addr, len, info });
      off += MAPINFO_SIZE;
    } else ops.push({ kind, addr, len });
  }
  return ops;
}

/**
 * A RESULT payload: i64 raw return value, u64 ns inside the syscall, u64 ns the process spent applying and
 * collecting memory changes, then the memory changes.
 */
export interface CallResult {
  readonly ret: number;
  readonly guestNs: number;
  readonly syncNs: number;
  readonly mem: MemOpEntry[];
}

/** Bytes before the memory operations of a RESULT. */
export const RESULT_HEAD = 24;

/** Decodes a RESULT payload. */
export function decodeResult(payload: Uint8Array): CallResult {
  if (payload.length < RESULT_HEAD) throw new Error('short RESULT frame');
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    ret: Number(dv.getBigInt64(0, true)),
    guestNs: Number(dv.getBigUint64(8, true)),
    syncNs: Number(dv.getBigUint64(16, true)),
    mem: decodeMemOps(payload, RESULT_HEAD),
  };
}

/** A HELLO reply. */
export interface Hello {
  readonly version: number;
  readonly executor32: boolean;
  /** The executor serves PUT and RUN. */
  readonly run: boolean;
  readonly supervisorPid: number;
  /** `uname -r` of the kernel the executor runs on. */
  readonly release: string;
  readonly machine: string;
}

/** Decodes a HELLO reply. */
export function decodeHello(payload: Uint8Array): Hello {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const strs = new TextDecoder().decode(payload.subarray(12)).split('\0');
  return {
    version: dv.getUint32(0, true),
    executor32: (dv.getUint32(4, true) & FEAT_EXECUTOR32) !== 0,
    run: (dv.getUint32(4, true) & FEAT_RUN) !== 0,
    supervisorPid: dv.getUint32(8, true),
    release: strs[0] ?? '',
    machine: strs[1] ?? '',
  };
}

/** A READY frame: the process is set up (or why it could not be). */
export interface Ready {
  readonly pid: number;
  readonly bits: number;
  readonly arenaBase: number;
  readonly arenaSize: number;
  /** 0, or -errno of the arena reservation. */
  readonly status: number;
}

/** Decodes a READY frame. */
export function decodeReady(payload: Uint8Array): Ready {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    pid: dv.getUint32(0, true),
    bits: dv.getUint32(4, true),
    arenaBase: Number(dv.getBigUint64(8, true)),
    arenaSize: Number(dv.getBigUint64(16, true)),
    status: Number(dv.getBigInt64(24, true)),
  };
}

/** The first i32 of a payload (most control replies). */
export function payloadI32(payload: Uint8Array): number {
  if (payload.length < 4) throw new Error('short reply');
  return new DataView(payload.buffer, payload.byteOffset, 4).getInt32(0, true);
}

/** A little-endian u32. */
export function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** A NUL-terminated UTF-8 string. */
export function cstr(s: string): Uint8Array {
  return new TextEncoder().encode(`${s}\0`);
}

/** What a RUN request starts in the guest. */
export interface RunRequest {
  /** The program (an absolute guest path) and its arguments. */
  readonly argv: readonly string[];
  readonly env?: readonly string[];
  readonly stdin?: Uint8Array;
  /** Guest files read back after the program ended (e.g. an strace log). */
  readonly fetch?: readonly string[];
  /** The program's process group is killed after this many ms (0: no limit). */
  readonly timeoutMs?: number;
}

/** The RUN request's payload. */
export function encodeRun(r: RunRequest): Uint8Array[] {
  const env = r.env ?? [];
  const fetch = r.fetch ?? [];
  const stdin = r.stdin ?? new Uint8Array(0);
  return [
    u32(r.timeoutMs ?? 0),
    u32(r.argv.length),
    u32(env.length),
    u32(fetch.length),
    u32(stdin.length),
    ...[...r.argv, ...env, ...fetch].map(cstr),
    stdin,
  ];
}

/** A RUN reply: how the program ended, its output and the fetched files (null: could not be read). */
export interface RunReply {
  /** 0, or -errno when the program could not be started (then the rest is empty). */
  readonly error: number;
  /** The wait status (as waitpid() gives it). */
  readonly status: number;
  readonly timedOut: boolean;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly files: readonly (Uint8Array | null)[];
}

/** Decodes a RUN reply for a request that fetched `nfetch` files. */
export function decodeRun(payload: Uint8Array, nfetch: number): RunReply {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const error = dv.getInt32(0, true);
  if (error < 0 || payload.length < 12)
    return {
      error: error < 0 ? error : -22,
      status: 0,
      timedOut: false,
      stdout: new Uint8Array(0),
      stderr: new Uint8Array(0),
      files: [],
    };
  let off = 12;
  const blob = (): Uint8Array | null => {
    const n = dv.getInt32(off, true);
    off += 4;
    if (n < 0) return null;
    const b = payload.subarray(off, off + n);
    off += n;
    return b;
  };
  const stdout = blob() ?? new Uint8Array(0);
  const stderr = blob() ?? new Uint8Array(0);
  const files: (Uint8Array | null)[] = [];
  for (let i = 0; i < nfetch; i++) files.push(blob());
  return {
    error,
    status: dv.getInt32(4, true),
    timedOut: dv.getUint32(8, true) !== 0,
    stdout,
    stderr,
    files,
  };
}
