/**
 * Recording of a program's syscalls, for comparing a run on the simulator with a run on a real kernel
 * (`iio-sim diff`, `iio-sim fuzz --against real`). {@link recordingSys} wraps a process's {@link Sys}: every call
 * goes through unchanged and is recorded with its arguments (pointers replaced by what they point to), its
 * result and what it wrote back (an ioctl's argument, poll's revents, the bytes a read returned), and the
 * place of its start and end in the order of all calls of that side ({@link SideLog}). The comparison itself is
 * in ./compare.ts.
 *
 * The wrapper also makes both sides allocate alike: `pollfds()` is implemented on `poll()` with one scratch block
 * per process, so that every `sys.mem.alloc` address is the same on the simulator and in the guest (both heaps
 * are the same bump allocator from the same base); only `mmap` results differ, and they are compared as
 * mappings (`map#2+0x10`), not as numbers.
 */
import type { PollEntry, Sys } from '../sim/process.ts';
import { errnoName } from '../uapi/errno.ts';
import { F_DUPFD, F_DUPFD_CLOEXEC, F_SETFL, O_NONBLOCK } from '../uapi/fcntl.ts';
import { type AbiProfile, type IoctlArg, ioctlByRequest } from '../uapi/ioctls.ts';
import { formatIoctlFallback, ioctlRequestName } from '../uapi/names.ts';
import { decodePollfds, encodePollfds, formatPollEvents } from '../uapi/poll.ts';

/** What an fd refers to, as far as the calls that made it tell. */
export type FdKind =
  | 'iio-chardev'
  | 'iio-buffer'
  | 'dmabuf'
  | 'heap'
  /** A buffer's `data_available` attribute: how much data the device has produced so far. */
  | 'iio-level'
  | 'sysfs'
  | 'memfd'
  | 'file';

/** One recorded syscall. */
export interface CallRecord {
  /** Its index among the process's calls, from 0. */
  readonly index: number;
  /** The Sys method: `open`, `ioctl`, `poll`, ... */
  readonly call: string;
  /** The arguments as compared: numbers, strings, `map#k+off` for addresses inside a mapping, decoded input. */
  readonly args: readonly string[];
  /** strace-like text of the call, without the result. */
  readonly text: string;
  /** The scenario step that made it, when the caller says (`steps[3] read`). */
  readonly step: string | undefined;
  /** What the fd argument (the first) referred to when the call was made. */
  readonly fdKind: FdKind | undefined;
  /** Whether that fd had O_NONBLOCK. */
  readonly nonblock: boolean;
  /** Raw result; null while the call has not returned. */
  ret: number | null;
  /** What the call wrote back, decoded (an ioctl's argument, poll's revents). */
  out: string | undefined;
  /** The bytes a read returned. */
  data: Uint8Array | undefined;
  /** poll: each entry's fd kind and the revents it got back (for the poll-readiness rule). */
  poll?: { readonly kinds: readonly (FdKind | undefined)[]; revents: number[] };
  /** Place of the call's start and end in the side's order of events. */
  readonly startSeq: number;
  endSeq: number | null;
}

/** The calls of one process, and where its end falls in the side's order. */
export interface ProcessLog {
  readonly name: string;
  readonly calls: CallRecord[];
  /** Order of the body's end (returned or threw), null while it runs or when it was killed. */
  endSeq: number | null;
}

/** An event of one side that is not a call: a fault injected by the scenario. */
export interface SideEvent {
  readonly seq: number;
  /** `faults[i]`. */
  readonly fault: number;
}

/** Everything one side did, in one order: the calls of every process, the faults, the ends of bodies. */
export class SideLog {
  #seq = 0;
  readonly processes = new Map<string, ProcessLog>();
  readonly events: SideEvent[] = [];
  /** Called after every change (a call started or ended, a body ended, a fault fired). */
  onChange: (() => void) | null = null;

  /** The next place in the order. */
  next(): number {
    return this.#seq++;
  }

  /** The log of process `name` (created empty). */
  process(name: string): ProcessLog {
    let p = this.processes.get(name);
    if (!p) {
      p = { name, calls: [], endSeq: null };
      this.processes.set(name, p);
    }
    return p;
  }

  /** Records that `faults[index]` fired now. */
  fault(index: number): void {
    this.events.push({ seq: this.next(), fault: index });
    this.onChange?.();
  }

  /** Records that the body of `name` ended now. */
  bodyEnded(name: string): void {
    this.process(name).endSeq = this.next();
    this.onChange?.();
  }

  /** Tells listeners that something changed (a call started or ended). */
  changed(): void {
    this.onChange?.();
  }
}

/** Options of {@link recordingSys}. */
export interface RecordingOptions {
  /** The ABI profile, for request names. */
  readonly profile: AbiProfile;
  /** Awaited before each call starts (the real side keeps the simulator's order of calls with it). */
  readonly gate?: (index: number) => Promise<void>;
  /** The scenario step in progress, for the records. */
  readonly step?: () => string | undefined;
}

/** A mapping the process made, by the order of successful mmaps. */
interface MapEntry {
  readonly k: number;
  readonly addr: number;
  readonly len: number;
}

const PAGE = 4096;

/** `-EINVAL` as the records show it. */
export function showRet(ret: number): string {
  return ret < 0 ? `-1 ${errnoName(-ret) ?? -ret}` : String(ret);
}

/** The per-process state of a recorder: fds, mappings, scratch memory. */
class Recorder {
  readonly #sys: Sys;
  readonly #log: SideLog;
  readonly #proc: ProcessLog;
  readonly #opts: RecordingOptions;
  readonly #fds = new Map<number, { kind: FdKind; nonblock: boolean }>();
  readonly #maps: MapEntry[] = [];
  #mapCount = 0;
  #scratch = 0;
  #scratchLen = 0;

  constructor(sys: Sys, log: SideLog, proc: ProcessLog, opts: RecordingOptions) {
    this.#sys = sys;
    this.#log = log;
    this.#proc = proc;
    this.#opts = opts;
  }

  /** An address as compared: `map#k+0xoff` inside a mapping this process made, else the number. */
  addr(a: number): string {
    for (let i = this.#maps.length - 1; i >= 0; i--) {
      const m = this.#maps[i]!;
      if (a >= m.addr && a < m.addr + m.len) return `map#${m.k}+0x${(a - m.addr).toString(16)}`;
    }
    return a === 0 ? 'NULL' : `0x${a.toString(16)}`;
  }

  /** Bytes of the process's memory, or null when it cannot read them. */
  bytes(addr: number, len: number): Uint8Array | null {
    try {
      return this.#sys.mem.read(addr, len);
    } catch {
      return null;
    }
  }

  kindOf(fd: number): FdKind | undefined {
    return this.#fds.get(fd)?.kind;
  }

  setFd(fd: number, kind: FdKind, nonblock = false): void {
    if (fd >= 0) this.#fds.set(fd, { kind, nonblock });
  }

  copyFd(from: number, to: number): void {
    const f = this.#fds.get(from);
    if (to >= 0 && f) this.#fds.set(to, { ...f });
  }

  dropFd(fd: number): void {
    this.#fds.delete(fd);
  }

  setNonblock(fd: number, on: boolean): void {
    const f = this.#fds.get(fd);
    if (f) f.nonblock = on;
  }

  mapped(addr: number, len: number): void {
    this.#maps.push({ k: this.#mapCount++, addr, len: Math.ceil(len / PAGE) * PAGE });
  }

  /** Records a call around `run`; `after` fills the record's out/data from memory once it returned. */
  async call(
    call: string,
    args: readonly string[],
    text: string,
    run: () => Promise<number>,
    after?: (ret: number, rec: CallRecord) => void,
    fd?: number,
  ): Promise<number> {
    const index = this.#proc.calls.length;
    await this.#opts.gate?.(index);
    const f = fd === undefined ? undefined : this.#fds.get(fd);
    const rec: CallRecord = {
      index,
      call,
      args,
      text,
      step: this.#opts.step?.(),
      fdKind: f?.kind,
      nonblock: f?.nonblock ?? false,
      ret: null,
      out: undefined,
      data: undefined,
      startSeq: this.#log.next(),
      endSeq: null,
    };
    this.#proc.calls.push(rec);
    this.#log.changed();
    const ret = await run();
    rec.ret = ret;
    after?.(ret, rec);
    rec.endSeq = this.#log.next();
    this.#log.changed();
    return ret;
  }

  /** One scratch block for pollfds, the same on both sides. */
  scratch(len: number): number {
    if (this.#scratchLen < len) {
      this.#scratchLen = Math.max(PAGE, Math.ceil(len / PAGE) * PAGE);
      this.#scratch = this.#sys.mem.alloc(this.#scratchLen);
    }
    return this.#scratch;
  }
}

/** What an ioctl's argument holds, decoded by the table entry, or its raw bytes when the entry has none. */
function describeArg(
  rec: Recorder,
  def: { readonly arg: IoctlArg } | undefined,
  arg: number,
  abi: 'lp64' | 'ilp32',
): string {
  if (!def) return rec.addr(arg);
  const a: IoctlArg = def.arg;
  if (a.kind === 'none') return rec.addr(arg);
  if (a.kind === 'string') {
    const b = rec.bytes(arg, 256);
    if (!b) return `${rec.addr(arg)} <unreadable>`;
    const end = b.indexOf(0);
    return JSON.stringify(new TextDecoder('latin1').decode(b.subarray(0, end < 0 ? b.length : end)));
  }
  if (a.kind === 'int') {
    const b = rec.bytes(arg, a.bytes ?? 4);
    if (!b) return `${rec.addr(arg)} <unreadable>`;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return `[${a.bytes === 8 ? dv.getBigInt64(0, true) : dv.getInt32(0, true)}]`;
  }
  const b = rec.bytes(arg, a.codec.size(abi));
  if (!b) return `${rec.addr(arg)} <unreadable>`;
  return a.codec.format(a.codec.decode(b, abi));
}

function openKind(path: string): FdKind {
  if (/^\/dev\/iio:device\d+$/.test(path)) return 'iio-chardev';
  if (path.startsWith('/dev/dma_heap/')) return 'heap';
  if (path.startsWith('/sys/') && path.endsWith('/data_available')) return 'iio-level';
  if (path.startsWith('/sys/')) return 'sysfs';
  return 'file';
}

type SysCalls<K extends keyof Sys> = Pick<Sys, K>;

/** The helpers the builders below share. */
interface Ctx {
  readonly sys: Sys;
  readonly rec: Recorder;
  readonly abi: 'lp64' | 'ilp32';
  readonly profile: AbiProfile;
}

const n = String;

/** Fills a record's data with the bytes a read returned. */
function dataAt(c: Ctx, addr: number) {
  return (ret: number, r: CallRecord) => {
    if (ret > 0) r.data = c.rec.bytes(addr, ret) ?? undefined;
  };
}

/** The bytes a write passes, as compared. */
function written(c: Ctx, addr: number, len: number): string {
  const b = len > 0 ? c.rec.bytes(addr, Math.min(len, 1 << 20)) : new Uint8Array(0);
  if (!b) return `${c.rec.addr(addr)} <unreadable>`;
  return `"${Buffer.from(b).toString('latin1').replace(/\n/g, '\\n')}"${len > 1 << 20 ? '...' : ''}`;
}

/** open, close, dup*, fcntl, memfd_create: the calls that make, copy and drop fds. */
function fdCalls(c: Ctx): SysCalls<'open' | 'close' | 'dup' | 'dup2' | 'dup3' | 'fcntl' | 'memfd_create'> {
  const { sys, rec } = c;
  return {
    open: (path, flags) =>
      rec.call(
        'open',
        [JSON.stringify(path), n(flags)],
        `open(${JSON.stringify(path)}, 0x${flags.toString(16)})`,
        () => sys.open(path, flags),
        (ret) => rec.setFd(ret, openKind(path), (flags & O_NONBLOCK) !== 0),
      ),
    close: (fd) =>
      rec.call(
        'close',
        [n(fd)],
        `close(${fd})`,
        () => sys.close(fd),
        (ret) => ret === 0 && rec.dropFd(fd),
        fd,
      ),
    dup: (fd) =>
      rec.call(
        'dup',
        [n(fd)],
        `dup(${fd})`,
        () => sys.dup(fd),
        (ret) => rec.copyFd(fd, ret),
        fd,
      ),
    dup2: (o, nn) =>
      rec.call(
        'dup2',
        [n(o), n(nn)],
        `dup2(${o}, ${nn})`,
        () => sys.dup2(o, nn),
        (ret) => rec.copyFd(o, ret),
        o,
      ),
    dup3: (o, nn, f) =>
      rec.call(
        'dup3',
        [n(o), n(nn), n(f)],
        `dup3(${o}, ${nn}, 0x${f.toString(16)})`,
        () => sys.dup3(o, nn, f),
        (ret) => rec.copyFd(o, ret),
        o,
      ),
    fcntl: (fd, cmd, arg = 0) =>
      rec.call(
        'fcntl',
        [n(fd), n(cmd), n(arg)],
        `fcntl(${fd}, ${cmd}, 0x${arg.toString(16)})`,
        () => sys.fcntl(fd, cmd, arg),
        (ret) => {
          if (ret >= 0 && (cmd === F_DUPFD || cmd === F_DUPFD_CLOEXEC)) rec.copyFd(fd, ret);
          if (ret === 0 && cmd === F_SETFL) rec.setNonblock(fd, (arg & O_NONBLOCK) !== 0);
        },
        fd,
      ),
    memfd_create: (nm, flags) => {
      const what = typeof nm === 'string' ? JSON.stringify(nm) : rec.addr(nm);
      return rec.call(
        'memfd_create',
        [what, n(flags)],
        `memfd_create(${what}, 0x${flags.toString(16)})`,
        () => sys.memfd_create(nm, flags),
        (ret) => rec.setFd(ret, 'memfd'),
      );
    },
  };
}

/** fstat, readlink: what they write back is compared by the program's own assertions, not here. */
function statCalls(c: Ctx): SysCalls<'fstat' | 'readlink'> {
  const { sys, rec } = c;
  return {
    fstat: (fd, statbuf) =>
      rec.call('fstat', [n(fd), rec.addr(statbuf)], `fstat(${fd}, ${rec.addr(statbuf)})`, () =>
        sys.fstat(fd, statbuf),
      ),
    readlink: (path, buf, bufsiz) =>
      rec.call(
        'readlink',
        [JSON.stringify(path), rec.addr(buf), n(bufsiz)],
        `readlink(${JSON.stringify(path)}, ${rec.addr(buf)}, ${bufsiz})`,
        () => sys.readlink(path, buf, bufsiz),
      ),
  };
}

/** read, write, pread, pwrite, lseek, ftruncate: data is compared by content, not by address. */
function ioCalls(c: Ctx): SysCalls<'read' | 'write' | 'pread' | 'pwrite' | 'lseek' | 'ftruncate'> {
  const { sys, rec } = c;
  return {
    read: (fd, addr, len) =>
      rec.call(
        'read',
        [n(fd), n(len)],
        `read(${fd}, ${rec.addr(addr)}, ${len})`,
        () => sys.read(fd, addr, len),
        dataAt(c, addr),
        fd,
      ),
    write: (fd, addr, len) => {
      const what = written(c, addr, len);
      return rec.call(
        'write',
        [n(fd), what, n(len)],
        `write(${fd}, ${what}, ${len})`,
        () => sys.write(fd, addr, len),
        undefined,
        fd,
      );
    },
    pread: (fd, addr, len, off) =>
      rec.call(
        'pread',
        [n(fd), n(len), n(off)],
        `pread64(${fd}, ${rec.addr(addr)}, ${len}, ${off})`,
        () => sys.pread(fd, addr, len, off),
        dataAt(c, addr),
        fd,
      ),
    pwrite: (fd, addr, len, off) => {
      const what = written(c, addr, len);
      return rec.call(
        'pwrite',
        [n(fd), what, n(len), n(off)],
        `pwrite64(${fd}, ${what}, ${len}, ${off})`,
        () => sys.pwrite(fd, addr, len, off),
        undefined,
        fd,
      );
    },
    lseek: (fd, off, whence) =>
      rec.call(
        'lseek',
        [n(fd), n(off), n(whence)],
        `lseek(${fd}, ${off}, ${whence})`,
        () => sys.lseek(fd, off, whence),
        undefined,
        fd,
      ),
    ftruncate: (fd, length) =>
      rec.call(
        'ftruncate',
        [n(fd), n(length)],
        `ftruncate(${fd}, ${length})`,
        () => sys.ftruncate(fd, length),
        undefined,
        fd,
      ),
  };
}

/** ioctl: the argument by what it holds (decoded by the ioctl table), what the kernel wrote back, new fds. */
function ioctlCall(c: Ctx): SysCalls<'ioctl'> {
  const { sys, rec, abi, profile } = c;
  return {
    ioctl: (fd, request, arg) => {
      const def = ioctlByRequest(request, profile);
      const reqName = def ? ioctlRequestName(request, profile) : formatIoctlFallback(request);
      const argIn =
        def && def.arg.kind !== 'none' && !('dir' in def.arg && def.arg.dir === 'out')
          ? describeArg(rec, def, arg, abi)
          : rec.addr(arg);
      return rec.call(
        'ioctl',
        [n(fd), reqName, argIn],
        `ioctl(${fd}, ${reqName}, ${argIn})`,
        () => sys.ioctl(fd, request, arg),
        (ret, r) => {
          if (ret < 0 || !def || !('dir' in def.arg) || def.arg.dir === 'in') return;
          r.out = describeArg(rec, def, arg, abi);
          if (def.name === 'IIO_BUFFER_GET_FD_IOCTL') rec.setFd(sys.mem.readInt(arg), 'iio-buffer');
          else if (def.name === 'DMA_HEAP_IOCTL_ALLOC') {
            const m = /\bfd=(-?\d+)/.exec(r.out);
            if (m) rec.setFd(Number(m[1]), 'dmabuf');
          } else if (def.name === 'IIO_BUFFER_DMABUF_ALLOC_IOCTL') rec.setFd(ret, 'dmabuf');
        },
        fd,
      );
    },
  };
}

/** The poll entries at `addr`, as compared. */
function pollList(entries: readonly { fd: number; events: number }[]): string {
  return entries.map((e) => `{fd=${e.fd}, events=${formatPollEvents(e.events)}}`).join(', ');
}

/** poll and pollfds (the latter on poll, with one scratch block per process: the same on both sides). */
function pollCalls(c: Ctx): SysCalls<'poll' | 'pollfds'> {
  const { sys, rec, abi } = c;
  const poll = (addr: number, nfds: number, timeout: number): Promise<number> => {
    const read = () => decodePollfds(rec.bytes(addr, nfds * 8) ?? new Uint8Array(nfds * 8), nfds, abi);
    const list = pollList(read());
    return rec.call(
      'poll',
      [list, n(nfds), n(timeout)],
      `poll([${list}], ${nfds}, ${timeout})`,
      () => sys.poll(addr, nfds, timeout),
      (ret, r) => {
        if (ret < 0) return;
        const out = read();
        r.out = `[${out.map((e) => `{fd=${e.fd}, revents=${formatPollEvents(e.revents)}}`).join(', ')}]`;
        r.poll = { kinds: out.map((e) => rec.kindOf(e.fd)), revents: out.map((e) => e.revents & 0xffff) };
      },
    );
  };
  return {
    poll,
    pollfds: async (entries: PollEntry[], timeout: number): Promise<number> => {
      const bytes = encodePollfds(
        entries.map((e) => ({ fd: e.fd, events: e.events, revents: 0 })),
        abi,
      );
      const addr = rec.scratch(Math.max(1, bytes.length));
      sys.mem.write(addr, bytes);
      const ret = await poll(addr, entries.length, timeout);
      if (ret >= 0) {
        const out = decodePollfds(sys.mem.read(addr, bytes.length), entries.length, abi);
        entries.forEach((e, i) => {
          e.revents = out[i]!.revents & 0xffff;
        });
      }
      return ret;
    },
  };
}

/** mmap, munmap, and the calls about time, signals and pids. */
function otherCalls(
  c: Ctx,
): SysCalls<
  'mmap' | 'munmap' | 'nanosleep' | 'kill' | 'sigaction' | 'getpid' | 'pidfd_open' | 'pidfd_getfd' | 'pause'
> {
  const { sys, rec } = c;
  return {
    mmap: (addr, length, prot, flags, fd, offset) =>
      rec.call(
        'mmap',
        [rec.addr(addr), n(length), n(prot), n(flags), n(fd), n(offset)],
        `mmap(${rec.addr(addr)}, ${length}, ${prot}, 0x${flags.toString(16)}, ${fd}, ${offset})`,
        () => sys.mmap(addr, length, prot, flags, fd, offset),
        (ret) => ret >= 0 && rec.mapped(ret, length),
        fd,
      ),
    munmap: (addr, length) => {
      const a = rec.addr(addr);
      return rec.call('munmap', [a, n(length)], `munmap(${a}, ${length})`, () => sys.munmap(addr, length));
    },
    nanosleep: (ns) => rec.call('nanosleep', [n(ns)], `nanosleep(${ns} ns)`, () => sys.nanosleep(ns)),
    kill: (pid, sig) => rec.call('kill', [n(pid), n(sig)], `kill(${pid}, ${sig})`, () => sys.kill(pid, sig)),
    sigaction: (sig, handler) => {
      const h = handler === null ? 'SIG_DFL' : handler.restart ? 'handler|SA_RESTART' : 'handler';
      return rec.call('sigaction', [n(sig), h], `rt_sigaction(${sig}, ${h})`, () =>
        sys.sigaction(sig, handler),
      );
    },
    getpid: () => rec.call('getpid', [], 'getpid()', () => sys.getpid()),
    pidfd_open: (pid, flags) =>
      rec.call(
        'pidfd_open',
        [n(pid), n(flags)],
        `pidfd_open(${pid}, 0x${flags.toString(16)})`,
        () => sys.pidfd_open(pid, flags),
        (ret) => rec.setFd(ret, 'file'),
      ),
    // The fd comes from another process's table, whose kind this record does not know.
    pidfd_getfd: (pidfd, targetfd, flags) =>
      rec.call(
        'pidfd_getfd',
        [n(pidfd), n(targetfd), n(flags)],
        `pidfd_getfd(${pidfd}, ${targetfd}, 0x${flags.toString(16)})`,
        () => sys.pidfd_getfd(pidfd, targetfd, flags),
        (ret) => rec.setFd(ret, 'file'),
        pidfd,
      ),
    pause: () => rec.call('pause', [], 'pause()', () => sys.pause()),
  };
}

/**
 * Wraps `sys` so that every call is recorded in `log` under the process `name`. The wrapper is a complete
 * {@link Sys}: a program cannot tell it from the one it wraps.
 */
export function recordingSys(sys: Sys, log: SideLog, name: string, opts: RecordingOptions): Sys {
  const c: Ctx = {
    sys,
    rec: new Recorder(sys, log, log.process(name), opts),
    abi: sys.compat ? 'ilp32' : 'lp64',
    profile: opts.profile,
  };
  return {
    pid: sys.pid,
    name: sys.name,
    compat: sys.compat,
    mem: sys.mem,
    now: () => sys.now(),
    compute: (ns) => sys.compute(ns),
    ...fdCalls(c),
    ...statCalls(c),
    ...ioCalls(c),
    ...ioctlCall(c),
    ...pollCalls(c),
    ...otherCalls(c),
  };
}
