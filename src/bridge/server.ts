/**
 * The Node side of `iio-sim exec`: one simulated process per bridged program. Its body reads the program's
 * requests off the socket and makes each call as a syscall of the simulated process, so the strace log, the
 * contract checker and virtual time see the program exactly as they see a TypeScript program. While the
 * program computes, the body awaits its next request and the simulator waits with it (lockstep).
 *
 * fds: the program knows a simulated fd by its real placeholder number; the session maps placeholder numbers
 * to simulated fds both ways, and rewrites the fd fields of the ioctls that carry one.
 *
 * Memory: a simulated mmap is mirrored by a real memfd mapping in the program, which this side opens through
 * `/proc/PID/fd`. The two copies meet at the coherence points: before a `DMA_BUF_IOCTL_SYNC` END, before any
 * ioctl that passes an fd (ENQUEUE, ATTACH, UDMABUF_CREATE...) and before munmap, what the program changed
 * is stored into the simulated mapping (as the CPU's stores); after a SYNC START what the simulated mapping
 * shows is copied out (as the CPU's loads), and on a coherent platform also after a poll reported the mapped
 * file (as memory is, without a CPU access: the program may read a signalled buffer without SYNC there). Both directions move
 * only the cache lines that changed since the last meeting, so neither side's untouched lines are clobbered.
 *
 * @packageDocumentation
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { basename } from 'node:path';
import type { Task } from '../kernel/task.ts';
import type { Inode } from '../kernel/vfs.ts';
import { extraSyscall, type Sys } from '../sim/process.ts';
import type { Simulator } from '../sim/simulator.ts';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
} from '../uapi/dma-buf.ts';
import { DMA_HEAP_IOCTL_ALLOC } from '../uapi/dma-heap.ts';
import { EACCES, EBADF, ECHILD, EINVAL, EIO, ENOENT, ENOMEM } from '../uapi/errno.ts';
import { F_DUPFD, F_DUPFD_CLOEXEC, O_CLOEXEC } from '../uapi/fcntl.ts';
import {
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
} from '../uapi/iio.ts';
import * as v2 from '../uapi/iio-v2.ts';
import { MAP_FIXED, MAP_FIXED_NOREPLACE, PAGE_SIZE, PROT_READ } from '../uapi/mman.ts';
import { UDMABUF_CREATE, UDMABUF_CREATE_LIST } from '../uapi/udmabuf.ts';
import { answerFrame, FrameReader, KIND, OP, type Request } from './protocol.ts';

/** Where an ioctl's argument carries fds: byte offsets of fds the kernel reads and writes, and an fd result. */
interface FdFields {
  readonly in?: readonly number[];
  readonly out?: readonly number[];
  readonly retFd?: boolean;
}

/** The ioctls whose argument or result is an fd, by request number (all their structs are compat-safe). */
const FD_IOCTLS: ReadonlyMap<number, FdFields> = new Map<number, FdFields>([
  [IIO_GET_EVENT_FD_IOCTL, { out: [0] }],
  [IIO_BUFFER_GET_FD_IOCTL, { out: [0] }],
  [IIO_BUFFER_DMABUF_ATTACH_IOCTL, { in: [0] }],
  [IIO_BUFFER_DMABUF_DETACH_IOCTL, { in: [0] }],
  [IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, { in: [0] }],
  [v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, { retFd: true }],
  [v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, { in: [0] }],
  [DMA_HEAP_IOCTL_ALLOC, { out: [8] }],
  [UDMABUF_CREATE, { in: [0], retFd: true }],
  [DMA_BUF_IOCTL_EXPORT_SYNC_FILE, { out: [4] }],
  [DMA_BUF_IOCTL_IMPORT_SYNC_FILE, { in: [4] }],
]);

/**
 * DMA_HEAP_IOCTL_ALLOC of another size (an older or newer `struct dma_heap_allocation_data`, as the dmabuf-heap
 * selftest sends): `dma_heap_ioctl()` picks the command by `_IOC_NR` alone and copies what both sizes share, so
 * the fd comes back at the same offset.
 */
function heapAllocVariant(req: number): FdFields | undefined {
  const sameNr =
    ((req >>> 8) & 0xff) === ((DMA_HEAP_IOCTL_ALLOC >>> 8) & 0xff) &&
    (req & 0xff) === (DMA_HEAP_IOCTL_ALLOC & 0xff);
  return sameNr ? FD_IOCTLS.get(DMA_HEAP_IOCTL_ALLOC) : undefined;
}

/**
 * UDMABUF_CREATE_LIST's fds: `struct udmabuf_create_list` is 8 bytes of header and then `count` items of 24
 * bytes, each starting with a memfd (the C side sends the header and the items, `len` bytes in all).
 */
function createListFields(len: number): FdFields {
  const items = Math.max(0, Math.floor((len - 8) / 24));
  return { in: Array.from({ length: items }, (_, i) => 8 + 24 * i), retFd: true };
}

/** Cache-line granularity of the copies at coherence points. */
const LINE = 64;
/** Largest read or write served at once (the C side asks for at most this much). */
const MAX_IO = 4 << 20;
/** `_IOC_READ`: the kernel writes the argument. */
const IOC_READ = 2;
/** Access bits the C side found on an ioctl's argument (a[5]): the program cannot read / write it. */
const ARG_UNREADABLE = 1;
const ARG_UNWRITABLE = 2;

/** A simulated mapping and the program's real copy of it. */
interface Mirror {
  readonly realAddr: bigint;
  readonly simAddr: number;
  readonly len: number;
  readonly file: object | undefined;
  /**
   * Where the program's pages of the mapping live, by offset in the mapping: this side's fd on the memfd the
   * program mapped, or, where the mapping shows simulated pages an older mapping shows too (a udmabuf and
   * its memfd), on that mapping's memfd, which the program's pages are then a second mapping of.
   */
  readonly segments: Segment[];
  /** The contents both sides agreed on at the last coherence point. */
  readonly shadow: Uint8Array;
}

/** A run of a mirror's pages that live in one real file. */
interface Segment {
  /** Offset in the mapping. */
  readonly at: number;
  readonly len: number;
  /** This side's fd on the file. */
  readonly fd: number;
  /** Offset of `at` in the file. */
  readonly fileOffset: number;
}

/** A run of a simulated mapping's bytes in one backing store of the simulator. */
interface BackingRun {
  readonly at: number;
  readonly len: number;
  readonly buffer: ArrayBufferLike;
  readonly byte: number;
}

/** How a real process ended: its exit code, or the signal that killed it. */
export interface RealExit {
  readonly code: number | null;
  readonly signal: number | null;
}

/** A forked child's own channel to this side. */
interface Channel {
  readonly socket: Socket;
  readonly reader: FrameReader;
}

/**
 * The meeting point of one `exec` run's forked children: a child's channel is a new connection to the run's
 * listening socket whose first frame (HELLO) names the simulated process its parent's FORK made.
 */
export class BridgeHub {
  readonly #expected = new Map<
    number,
    { resolve: (c: Channel | null) => void; channel: Promise<Channel | null> }
  >();
  readonly #open = new Set<Socket>();

  /** The channel the child with simulated pid `pid` will connect (null if it never will). */
  expect(pid: number): Promise<Channel | null> {
    let resolve!: (c: Channel | null) => void;
    const channel = new Promise<Channel | null>((r) => {
      resolve = r;
    });
    this.#expected.set(pid, { resolve, channel });
    return channel;
  }

  /** The child `pid` will not connect (its real fork failed): its channel is null, or closed if it came. */
  cancel(pid: number): void {
    const e = this.#expected.get(pid);
    this.#expected.delete(pid);
    e?.resolve(null);
    void e?.channel.then((c) => c?.socket.destroy());
  }

  /** A new connection: its HELLO frame says whose channel it is; anything else is dropped. */
  accept(socket: Socket): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    const reader = new FrameReader(socket);
    reader.next().then(
      (r) => {
        const e = r?.op === OP.HELLO ? this.#expected.get(Number(r.a[0])) : undefined;
        if (!e) {
          socket.destroy();
          return;
        }
        this.#expected.delete(Number(r!.a[0]));
        e.resolve({ socket, reader });
      },
      () => socket.destroy(),
    );
  }

  /** Ends the run: children still expected never connect; open channels close. */
  close(): void {
    for (const pid of [...this.#expected.keys()]) this.cancel(pid);
    for (const s of this.#open) s.destroy();
  }
}

/** What a forked child's session starts with: its parent's fd numbers and mappings at the fork. */
interface Inherited {
  readonly realToSim: ReadonlyMap<number, number>;
  readonly mirrors: readonly Mirror[];
}

/** A child the program forked: its real pid once the parent says. */
interface ChildInfo {
  realPid: number | null;
}

/**
 * How a forked child ended, read from `/proc/PID/stat` (its `exit_code` field, in the form wait() reports,
 * set before the kernel closes the process's files, so it is there once its channel closed). Unknown (a
 * process already reaped) counts as exit 0.
 */
function forkedExit(info: ChildInfo): RealExit {
  try {
    const stat = readFileSync(`/proc/${info.realPid}/stat`, 'utf8');
    const status = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[49]);
    if (Number.isInteger(status))
      return status & 0x7f
        ? { code: null, signal: status & 0x7f }
        : { code: (status >> 8) & 0xff, signal: null };
  } catch {
    // Gone already: nothing to tell.
  }
  return { code: 0, signal: null };
}

/** How strace shows glibc's fork(). */
const CLONE_ARGS = ['child_stack=NULL', 'flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD'];
/** WNOHANG. */
const WNOHANG = 1;

/** What a session reports when its program is gone. */
export interface SessionEnd {
  /** Requests served. */
  readonly requests: number;
}

const utf8 = new TextDecoder();
const int32 = (v: bigint) => Number(BigInt.asIntN(32, v));

/** `S_IF*` type bits of an inode kind. */
function typeBits(i: Inode): number {
  if (i.kind === 'dir') return 0o040000;
  if (i.kind === 'chr') return 0o020000;
  if (i.kind === 'anon') return 0;
  return 0o100000;
}

/** One bridged program: its requests, served as syscalls of one simulated process. */
export class BridgeSession {
  readonly #sys: Sys;
  readonly #task: Task;
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #sim: Simulator;
  readonly #realToSim: Map<number, number>;
  readonly #mirrors: Mirror[];
  readonly #hub: BridgeHub | null;
  /** Children forked, by simulated pid. */
  readonly #children = new Map<number, ChildInfo>();
  #scratchAddr = 0;
  #scratchLen = 0;
  #requests = 0;

  /** `hub`: where forked children connect (none: fork is refused); `inherited`: a forked child's start. */
  constructor(
    sim: Simulator,
    sys: Sys,
    socket: Socket,
    reader: FrameReader,
    hub: BridgeHub | null = null,
    inherited?: Inherited,
  ) {
    this.#sim = sim;
    this.#sys = sys;
    const task = sim.kernel.tasks.get(sys.pid);
    if (!task) throw new Error(`bridge: no task ${sys.pid}`);
    this.#task = task;
    this.#socket = socket;
    this.#reader = reader;
    this.#hub = hub;
    this.#realToSim = new Map(inherited?.realToSim);
    this.#mirrors = [...(inherited?.mirrors ?? [])];
  }

  /**
   * Serves requests until the program closes its end; then, when `exited` is given, waits for the program's
   * exit status and ends the simulated process with it (so the strace log shows the real status).
   */
  async serve(exited?: Promise<RealExit> | (() => RealExit)): Promise<SessionEnd> {
    try {
      for (;;) {
        const r = await this.#reader.next();
        if (!r) break;
        this.#requests++;
        this.#socket.write(await this.#handle(r));
      }
    } finally {
      for (const m of this.#mirrors.splice(0)) for (const g of m.segments) closeSync(g.fd);
    }
    if (exited) {
      const { code, signal } = typeof exited === 'function' ? exited() : await exited;
      const how = signal !== null ? `killed by signal ${signal}` : `exited with ${code}`;
      this.#sim.kernel.sched.exit(this.#task, { code, signal, time: this.#sim.now, reason: how });
    }
    return { requests: this.#requests };
  }

  /** A buffer in the simulated process's memory, reused from call to call. */
  #scratch(len: number): number {
    if (len > this.#scratchLen) {
      if (this.#scratchAddr) this.#sys.mem.free(this.#scratchAddr);
      this.#scratchLen = Math.max(4096, 2 ** Math.ceil(Math.log2(len)));
      this.#scratchAddr = this.#sys.mem.alloc(this.#scratchLen);
    }
    return this.#scratchAddr;
  }

  /** The simulated fd behind a placeholder (-1, which the kernel refuses with EBADF, for any other fd). */
  #fd(real: bigint | number): number {
    return this.#realToSim.get(Number(real)) ?? -1;
  }

  /** Asks the program for a placeholder for the new simulated fd `simFd` and returns its number. */
  async #reserve(simFd: number): Promise<number> {
    this.#socket.write(answerFrame(KIND.RESERVE, simFd));
    const r = await this.#reader.next();
    if (!r || r.op !== OP.RESERVED) throw new Error('bridge: the program did not answer a RESERVE');
    const real = Number(r.a[0]);
    if (real >= 0) this.#realToSim.set(real, simFd);
    return real;
  }

  /** A syscall result that is a new simulated fd, as the program's placeholder number. */
  async #newFd(ret: number): Promise<Buffer> {
    if (ret < 0) return answerFrame(KIND.RET, ret);
    return answerFrame(KIND.RET, await this.#reserve(ret));
  }

  #unsupported(what: string): Buffer {
    return answerFrame(KIND.UNSUPPORTED, -38, new TextEncoder().encode(what));
  }

  async #handle(r: Request): Promise<Buffer> {
    const sys = this.#sys;
    const a = r.a;
    switch (r.op) {
      case OP.OPEN:
        return this.#newFd(await sys.open(utf8.decode(r.data), int32(a[0]!)));
      case OP.CLOSE: {
        const ret = await sys.close(this.#fd(a[0]!));
        this.#realToSim.delete(Number(a[0]));
        return answerFrame(KIND.RET, ret);
      }
      case OP.READ:
      case OP.PREAD:
        return this.#read(r);
      case OP.WRITE:
      case OP.PWRITE: {
        const n = r.data.length;
        const addr = this.#scratch(n);
        sys.mem.write(addr, r.data);
        const fd = this.#fd(a[0]!);
        const ret =
          r.op === OP.WRITE ? await sys.write(fd, addr, n) : await sys.pwrite(fd, addr, n, Number(a[2]));
        return answerFrame(KIND.RET, ret);
      }
      case OP.LSEEK:
        return answerFrame(KIND.RET, await sys.lseek(this.#fd(a[0]!), Number(a[1]), int32(a[2]!)));
      case OP.IOCTL:
        return this.#ioctl(r);
      case OP.MMAP:
        return this.#mmap(r);
      case OP.MUNMAP:
        return this.#munmap(r);
      case OP.POLL:
        return this.#poll(r);
      case OP.FCNTL: {
        const cmd = int32(a[1]!);
        const ret = await sys.fcntl(this.#fd(a[0]!), cmd, Number(BigInt.asIntN(32, a[2]!)));
        return cmd === F_DUPFD || cmd === F_DUPFD_CLOEXEC ? this.#newFd(ret) : answerFrame(KIND.RET, ret);
      }
      case OP.DUP:
        return this.#newFd(await sys.dup(this.#fd(a[0]!)));
      case OP.DUP3:
        return this.#dup3(r);
      case OP.STAT:
        return this.#stat(r);
      case OP.ACCESS:
        return this.#access(r);
      case OP.GETDENTS: {
        const n = Math.min(Number(a[1]), MAX_IO);
        const addr = this.#scratch(n);
        const ret = await sys.getdents64!(this.#fd(a[0]!), addr, n);
        return answerFrame(KIND.RET, ret, ret > 0 ? sys.mem.read(addr, ret) : undefined);
      }
      case OP.MEMFD_CREATE:
        return this.#newFd(await sys.memfd_create(utf8.decode(r.data), int32(a[0]!)));
      case OP.FTRUNCATE:
        return answerFrame(KIND.RET, await sys.ftruncate(this.#fd(a[0]!), Number(a[1])));
      case OP.FORK:
        return this.#fork();
      case OP.FORKED: {
        const info = this.#children.get(Number(a[0]));
        if (info && a[1]! > 0n && a[2] !== 0n) info.realPid = Number(a[1]);
        else this.#hub?.cancel(Number(a[0]));
        return answerFrame(KIND.RET, 0);
      }
      case OP.EXEC_PREPARE: {
        const kept = this.#keptOnExec();
        return answerFrame(KIND.RET, kept.length, new Uint8Array(Int32Array.from(kept).buffer));
      }
      case OP.EXEC:
        return this.#exec(utf8.decode(r.data));
      case OP.WAIT:
        return this.#wait(Number(a[0]), int32(a[1]!));
      default:
        return this.#unsupported(`request ${r.op} is not known to this simulator`);
    }
  }

  /**
   * fork(): the child simulated process is the kernel's fork of this one (`clone` in the trace), with a
   * session of its own that starts from this one's fd numbers and mappings (the program's mappings of
   * simulated memory are real shared mappings, which the real child shares too) and serves the channel the
   * child connects. It starts once this process is back in user space, so lockstep runs them one at a time.
   */
  async #fork(): Promise<Buffer> {
    const hub = this.#hub;
    if (!hub) return this.#unsupported('fork: this session has no place for children to connect');
    let child: Task | null = null;
    const ret = await extraSyscall(this.#sys, 'clone', CLONE_ARGS, (t) => {
      child = this.#sim.kernel.fork(t);
      return child.pid;
    });
    const forked = child as Task | null;
    if (ret < 0 || !forked) return answerFrame(KIND.RET, ret);
    const info: ChildInfo = { realPid: null };
    this.#children.set(ret, info);
    const inherited: Inherited = {
      realToSim: new Map(this.#realToSim),
      mirrors: this.#mirrors.map((m) => ({
        ...m,
        segments: m.segments.map((g) => ({ ...g, fd: openSync(`/proc/self/fd/${g.fd}`, 'r+') })),
        shadow: m.shadow.slice(),
      })),
    };
    const channel = hub.expect(ret);
    this.#sim.spawn(
      forked.comm,
      async (sys) => {
        const ch = await channel;
        if (!ch) {
          for (const m of inherited.mirrors) for (const g of m.segments) closeSync(g.fd);
          return { requests: 0 };
        }
        const session = new BridgeSession(this.#sim, sys, ch.socket, ch.reader, hub, inherited);
        return session.serve(() => forkedExit(info));
      },
      { forked },
    );
    return answerFrame(KIND.RET, ret);
  }

  /** The program's numbers of the simulated fds an exec keeps (not close-on-exec). */
  #keptOnExec(): number[] {
    const kept: number[] = [];
    for (const [real, sim] of this.#realToSim) {
      const e = this.#task.files.entry(sim);
      if (e && !e.cloexec) kept.push(real);
    }
    return kept.sort((x, y) => x - y);
  }

  /**
   * The new image of an exec reconnected: the simulated process execs (`execve` in the trace: its mappings
   * go, its close-on-exec fds close, its name becomes the program's); the program's mappings went with its
   * old image, and the answer lists the fds it kept.
   */
  async #exec(path: string): Promise<Buffer> {
    for (const m of this.#mirrors.splice(0)) for (const g of m.segments) closeSync(g.fd);
    const kept = this.#keptOnExec();
    this.#scratchAddr = 0;
    this.#scratchLen = 0;
    await extraSyscall(this.#sys, 'execve', [path], (t) => {
      this.#sim.kernel.exec(t, basename(path));
      return 0;
    });
    for (const [real, sim] of [...this.#realToSim])
      if (!this.#task.files.entry(sim)) this.#realToSim.delete(real);
    return answerFrame(KIND.RET, kept.length, new Uint8Array(Int32Array.from(kept).buffer));
  }

  /**
   * A wait for a child: `wait4` of the simulated process, which sleeps until the child's simulated process has
   * ended (the program then collects the real child with the real wait). A pid that is no bridged child of
   * this process is -ECHILD here, without a call.
   */
  async #wait(realPid: number, options: number): Promise<Buffer> {
    let pid = -1;
    if (realPid > 0) {
      const child = [...this.#children].find(([, info]) => info.realPid === realPid);
      if (!child) return answerFrame(KIND.RET, -ECHILD);
      pid = child[0];
    }
    const flags = options & WNOHANG;
    const ret = await extraSyscall(this.#sys, 'wait4', [pid, 'NULL', flags ? 'WNOHANG' : 0, 'NULL'], (t) =>
      this.#sim.kernel.sys.wait4(t, pid, flags),
    );
    return answerFrame(KIND.RET, ret);
  }

  async #read(r: Request): Promise<Buffer> {
    const n = Math.min(Number(r.a[1]), MAX_IO);
    const addr = this.#scratch(Math.max(1, n));
    const fd = this.#fd(r.a[0]!);
    const ret =
      r.op === OP.READ
        ? await this.#sys.read(fd, addr, n)
        : await this.#sys.pread(fd, addr, n, Number(r.a[2]));
    return answerFrame(KIND.RET, ret, ret > 0 ? this.#sys.mem.read(addr, ret) : undefined);
  }

  async #ioctl(r: Request): Promise<Buffer> {
    const [realFd, reqBig, argValue, sizeBig, dirBig] = r.a as [bigint, bigint, bigint, bigint, bigint];
    const req = Number(BigInt.asUintN(32, reqBig));
    const size = Number(sizeBig);
    const fd = this.#fd(realFd);
    const spec =
      req === UDMABUF_CREATE_LIST
        ? createListFields(r.data.length)
        : (FD_IOCTLS.get(req) ?? heapAllocVariant(req));
    const arg = new Uint8Array(r.data);
    const view = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
    for (const off of spec?.in ?? [])
      if (off + 4 <= size) view.setInt32(off, this.#fd(view.getInt32(off, true)), true);
    const syncFlags = req === DMA_BUF_IOCTL_SYNC && size >= 8 ? Number(view.getBigUint64(0, true)) : null;
    if ((spec?.in?.length ?? 0) > 0 || (syncFlags !== null && syncFlags & DMA_BUF_SYNC_END)) this.#pushAll();
    let ret: number;
    let out: Uint8Array | undefined;
    const access = Number(r.a[5] ?? 0n);
    if (size > 0 && access & (ARG_UNREADABLE | ARG_UNWRITABLE)) {
      ret = await this.#ioctlBadArg(fd, req, arg, access);
      out = undefined;
    } else if (size > 0) {
      const addr = this.#scratch(size);
      this.#sys.mem.write(addr, arg);
      ret = await this.#sys.ioctl(fd, req, addr);
      out = this.#sys.mem.read(addr, size);
    } else ret = await this.#sys.ioctl(fd, req, Number(BigInt.asUintN(32, argValue)));
    if (syncFlags !== null && ret === 0 && !(syncFlags & DMA_BUF_SYNC_END)) this.#pullFile(fd);
    if (ret >= 0 && out && spec?.out) {
      const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (const off of spec.out) {
        if (off + 4 > out.length) continue;
        const simFd = ov.getInt32(off, true);
        if (simFd >= 0 && this.#task.files.file(simFd)) ov.setInt32(off, await this.#reserve(simFd), true);
      }
    }
    if (ret >= 0 && spec?.retFd) ret = await this.#reserve(ret);
    return answerFrame(KIND.RET, ret, out && Number(dirBig) & IOC_READ ? out : undefined);
  }

  /**
   * An ioctl whose argument the program cannot read, or cannot have written (a read-only page): staged in a
   * read-only mapping of the simulated process, or at an address nothing maps, so the simulated kernel's
   * copy_to_user() or copy_from_user() fails with EFAULT where the real one would, at the same point of the
   * call (an fd the ioctl made before the copy is undone by the kernel code, not by the bridge).
   */
  async #ioctlBadArg(fd: number, req: number, arg: Uint8Array, access: number): Promise<number> {
    const mm = this.#task.mm;
    const len = Math.ceil(arg.length / PAGE_SIZE) * PAGE_SIZE;
    const start = mm.unmappedArea(len);
    if (start < 0) return -ENOMEM;
    if (access & ARG_UNREADABLE) return this.#sys.ioctl(fd, req, start);
    const backing = new Uint8Array(len);
    backing.set(arg);
    mm.insertMapping(
      { start, end: start + len, prot: PROT_READ, shared: false, backing, offset: 0, name: 'anon' },
      null,
    );
    try {
      return await this.#sys.ioctl(fd, req, start);
    } finally {
      mm.unmapRange(start, len);
    }
  }

  async #mmap(r: Request): Promise<Buffer> {
    const [lenB, prot, flags, realFd, off, realAddr] = r.a as [
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    const len = Number(lenB);
    const simFlags = int32(flags) & ~(MAP_FIXED | MAP_FIXED_NOREPLACE);
    const fd = this.#fd(realFd);
    const ret = await this.#sys.mmap(0, len, int32(prot), simFlags, fd, Number(off));
    if (ret < 0) return answerFrame(KIND.RET, ret);
    let hostFd: number;
    try {
      hostFd = openSync(utf8.decode(r.data), 'r+');
    } catch (e) {
      await this.#sys.munmap(ret, len);
      return this.#unsupported(
        `mmap: cannot open the program's memory (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
    const m: Mirror = {
      realAddr,
      simAddr: ret,
      len,
      file: this.#task.files.file(fd),
      segments: [{ at: 0, len, fd: hostFd, fileOffset: 0 }],
      shadow: new Uint8Array(len),
    };
    const aliases = this.#aliases(m);
    // The older mappings' pending stores reach the simulated pages before the new mapping shows them.
    if (aliases.length > 0) this.#pushAll();
    this.#mirrors.push(m);
    this.#pull(m, true);
    const out = new DataView(new ArrayBuffer(aliases.length * 24));
    for (const [i, a] of aliases.entries()) {
      out.setBigUint64(i * 24, a.src, true);
      out.setBigUint64(i * 24 + 8, BigInt(a.len), true);
      out.setBigUint64(i * 24 + 16, BigInt(a.at), true);
    }
    return answerFrame(KIND.RET, 0, new Uint8Array(out.buffer), BigInt(aliases.length));
  }

  /** The simulated memory behind a mirror's mapping, run by run. */
  #backing(m: Mirror): BackingRun[] {
    const out: BackingRun[] = [];
    for (const v of this.#task.mm.vmas) {
      const from = Math.max(v.start, m.simAddr);
      const to = Math.min(v.end, m.simAddr + m.len);
      if (from >= to) continue;
      const byte = v.backing.byteOffset + v.offset + (from - v.start);
      out.push({ at: from - m.simAddr, len: to - from, buffer: v.backing.buffer, byte });
    }
    return out;
  }

  /**
   * The parts of new mirror `m` whose simulated pages an older mirror shows too (a memfd and a udmabuf made of
   * it). There `m`'s segments become this side's fds on the older mirror's files, and the program is to map
   * those parts of its new mapping as second mappings of the older one's pages (`len` bytes from `src` in
   * the program, at offset `at` of the new mapping), so that a store through either shows through the other
   * at once, as through the real kernel's shared pages.
   */
  #aliases(m: Mirror): { src: bigint; len: number; at: number }[] {
    const pages = new Map<number, { src: bigint; fd: number; fileOffset: number }>();
    const mine = this.#backing(m);
    for (const old of this.#mirrors)
      for (const theirs of this.#backing(old))
        for (const run of mine) {
          if (run.buffer !== theirs.buffer) continue;
          const to = Math.min(run.byte + run.len, theirs.byte + theirs.len);
          for (let b = Math.max(run.byte, theirs.byte); b < to; b += PAGE_SIZE) {
            const at = run.at + b - run.byte;
            const oldAt = theirs.at + b - theirs.byte;
            if (at % PAGE_SIZE !== 0 || oldAt % PAGE_SIZE !== 0 || pages.has(at)) continue;
            const g = old.segments.find((x) => oldAt >= x.at && oldAt < x.at + x.len);
            if (g)
              pages.set(at, {
                src: old.realAddr + BigInt(oldAt),
                fd: g.fd,
                fileOffset: g.fileOffset + oldAt - g.at,
              });
          }
        }
    if (pages.size === 0) return [];
    const own = m.segments[0]!;
    const segments: Segment[] = [];
    const out: { src: bigint; len: number; at: number }[] = [];
    let at = 0;
    while (at < m.len) {
      const p = pages.get(at);
      let n = PAGE_SIZE;
      if (!p) {
        while (at + n < m.len && !pages.has(at + n)) n += PAGE_SIZE;
        n = Math.min(n, m.len - at);
        segments.push({ at, len: n, fd: own.fd, fileOffset: at });
      } else {
        for (;;) {
          const q = pages.get(at + n);
          if (!q || q.fd !== p.fd || q.fileOffset !== p.fileOffset + n || q.src !== p.src + BigInt(n)) break;
          n += PAGE_SIZE;
        }
        n = Math.min(n, m.len - at);
        segments.push({ at, len: n, fd: openSync(`/proc/self/fd/${p.fd}`, 'r+'), fileOffset: p.fileOffset });
        out.push({ src: p.src, len: n, at });
      }
      at += n;
    }
    m.segments.splice(0, 1, ...segments);
    if (!segments.some((g) => g.fd === own.fd)) closeSync(own.fd);
    return out;
  }

  async #munmap(r: Request): Promise<Buffer> {
    const i = this.#mirrors.findIndex((m) => m.realAddr === r.a[0] && m.len === Number(r.a[1]));
    if (i < 0) return this.#unsupported('munmap of part of a simulated mapping is not bridged');
    const m = this.#mirrors[i]!;
    this.#push(m);
    this.#mirrors.splice(i, 1);
    for (const g of m.segments) closeSync(g.fd);
    return answerFrame(KIND.RET, await this.#sys.munmap(m.simAddr, m.len));
  }

  async #poll(r: Request): Promise<Buffer> {
    const n = Number(r.a[0]);
    const data = new Uint8Array(r.data);
    if (data.length !== n * 8) return answerFrame(KIND.RET, -EINVAL);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const sim = new Uint8Array(n * 8);
    const simView = new DataView(sim.buffer);
    for (let i = 0; i < n; i++) {
      simView.setInt32(i * 8, this.#fd(view.getInt32(i * 8, true)), true);
      simView.setUint16(i * 8 + 4, view.getUint16(i * 8 + 4, true), true);
    }
    const addr = this.#scratch(Math.max(8, n * 8));
    this.#sys.mem.write(addr, sim);
    const ret = await this.#sys.poll(addr, n, int32(r.a[1]!));
    if (ret >= 0) {
      const out = this.#sys.mem.read(addr, n * 8);
      const outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < n; i++) {
        const revents = outView.getUint16(i * 8 + 6, true);
        view.setUint16(i * 8 + 6, revents, true);
        if (revents && this.#sim.platform.coherentDma) this.#pullFile(simView.getInt32(i * 8, true), true);
      }
    }
    return answerFrame(KIND.RET, ret, data);
  }

  async #dup3(r: Request): Promise<Buffer> {
    const newReal = Number(r.a[1]);
    const old = this.#fd(r.a[0]!);
    const cloexec = (int32(r.a[2]!) & O_CLOEXEC) !== 0;
    const ret = cloexec ? await this.#sys.fcntl(old, F_DUPFD_CLOEXEC, 0) : await this.#sys.dup(old);
    if (ret < 0) return answerFrame(KIND.RET, ret);
    const previous = this.#realToSim.get(newReal);
    if (previous !== undefined) await this.#sys.close(previous);
    this.#realToSim.set(newReal, ret);
    return answerFrame(KIND.RET, newReal);
  }

  /** stat(2) answered from the simulator's path tree or open file (no simulated syscall: it costs no time). */
  #stat(r: Request): Buffer {
    const fd = Number(r.a[0]);
    let inode: Inode | number;
    let dev = 22;
    if (fd >= 0) {
      const f = this.#task.files.file(this.#fd(fd));
      inode = f ? f.inode : -EBADF;
      if (f && f.inode.kind === 'anon') dev = 14;
    } else {
      const path = utf8.decode(r.data);
      inode = this.#sim.kernel.paths.resolve(path);
      if (path.startsWith('/dev')) dev = 5;
    }
    if (typeof inode === 'number') return answerFrame(KIND.RET, inode);
    const v = new DataView(new ArrayBuffer(48));
    v.setBigInt64(0, BigInt(typeBits(inode) | inode.mode), true);
    v.setBigInt64(8, BigInt(inode.ino), true);
    v.setBigInt64(16, BigInt(inode.rdev?.major ?? 0), true);
    v.setBigInt64(24, BigInt(inode.rdev?.minor ?? 0), true);
    v.setBigInt64(32, BigInt(inode.kind === 'attr' ? 4096 : 0), true);
    v.setBigInt64(40, BigInt(dev), true);
    return answerFrame(KIND.RET, 0, new Uint8Array(v.buffer));
  }

  /** access(2) from the path tree: the owner's permission bits (sysfs files belong to the caller here). */
  #access(r: Request): Buffer {
    const inode = this.#sim.kernel.paths.resolve(utf8.decode(r.data));
    if (typeof inode === 'number') return answerFrame(KIND.RET, inode === -ENOENT ? -ENOENT : inode);
    const want = int32(r.a[0]!) & 7;
    const have = (inode.mode >> 6) & 7;
    return answerFrame(KIND.RET, (want & ~have) === 0 ? 0 : -EACCES);
  }

  /** The program's changed lines of every mapping, stored into the simulated mappings. */
  #pushAll(): void {
    for (const m of this.#mirrors) this.#push(m);
  }

  #push(m: Mirror): void {
    const real = new Uint8Array(m.len);
    for (const g of m.segments)
      if (readSync(g.fd, real, g.at, g.len, g.fileOffset) !== g.len)
        throw new Error(`bridge: short read of a mapping (EIO ${EIO})`);
    this.#merge(real, m.shadow, (start, end) => {
      this.#task.mm.store(m.simAddr + start, real.subarray(start, end));
    });
  }

  /** The simulated mapping's changed lines, copied into the program's mappings of the file behind `simFd`. */
  #pullFile(simFd: number, quiet = false): void {
    const file = this.#task.files.file(simFd);
    if (!file) return;
    for (const m of this.#mirrors) if (m.file === file) this.#pull(m, quiet);
  }

  /**
   * Copies the simulated mapping out: as the CPU's loads (`mm.load`: caches fill, the checker sees an access),
   * or `quiet`ly as a tracer reads it, where no CPU access happens in the program's stead (a fresh mapping; a
   * coherent mapping after its fence signalled, when the program may read it without SYNC).
   */
  #pull(m: Mirror, quiet = false): void {
    const sim = quiet ? this.#task.mm.peek(m.simAddr, m.len) : this.#task.mm.load(m.simAddr, m.len);
    if (!sim) return;
    this.#merge(sim, m.shadow, (start, end) => {
      for (const g of m.segments) {
        const from = Math.max(start, g.at);
        const to = Math.min(end, g.at + g.len);
        if (from < to) writeSync(g.fd, sim, from, to - from, g.fileOffset + from - g.at);
      }
    });
  }

  /** Calls `apply` for every run of lines where `now` differs from `shadow`, then makes `shadow` equal `now`. */
  #merge(now: Uint8Array, shadow: Uint8Array, apply: (start: number, end: number) => void): void {
    const a = Buffer.from(now.buffer, now.byteOffset, now.byteLength);
    const b = Buffer.from(shadow.buffer, shadow.byteOffset, shadow.byteLength);
    const len = now.length;
    let runStart = -1;
    const PAGE = 4096;
    for (let page = 0; page < len; page += PAGE) {
      const pageEnd = Math.min(len, page + PAGE);
      if (a.compare(b, page, pageEnd, page, pageEnd) === 0) {
        if (runStart >= 0) {
          apply(runStart, page);
          runStart = -1;
        }
        continue;
      }
      for (let line = page; line < pageEnd; line += LINE) {
        const lineEnd = Math.min(pageEnd, line + LINE);
        const same = a.compare(b, line, lineEnd, line, lineEnd) === 0;
        if (!same && runStart < 0) runStart = line;
        else if (same && runStart >= 0) {
          apply(runStart, line);
          runStart = -1;
        }
      }
    }
    if (runStart >= 0) apply(runStart, len);
    shadow.set(now);
  }
}
