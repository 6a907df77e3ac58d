/**
 * The real-kernel runtime: runs the simulator's programs, unchanged, as processes of a real Linux kernel.
 * Each program gets the same {@link Sys} object the simulator gives; every syscall travels to the guest
 * executor (real/guest) over a channel, runs there for real, and comes back with its raw result and the
 * memory it changed (see ./memory.ts and real/guest/PROTOCOL.md).
 *
 * ```ts
 * const k = await createRealKernel({ channel });
 * k.spawn('test', async (sys) => sys.getpid(), { stdio: false });
 * const result = await k.run({ untilNs: 5e9 });
 * await k.close();
 * ```
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';
import type { ScanType } from '../hw/scan.ts';
import type { SignalSpec } from '../hw/signal.ts';
import { SegmentationFault } from '../kernel/mm.ts';
import { type DeviceConfig, defaultDevices } from '../sim/devices.ts';
import type { PollEntry, Sys } from '../sim/process.ts';
import type { ProcessBody, ProcessOutcome } from '../sim/simulator.ts';
import { type CheckedPollfd, checkArgs, outOfRange, type SysCallName } from '../sim/syscall-args.ts';
import { errnoName } from '../uapi/errno.ts';
import { decodePollfds, encodePollfds } from '../uapi/poll.ts';
import { SIGKILL, SIGNAL_NAMES, SIGSEGV } from '../uapi/signal.ts';
import { MirrorMemory } from './memory.ts';
import {
  CALL_HAS_STRING,
  cstr,
  decodeHello,
  decodeReady,
  decodeResult,
  decodeRun,
  encodeCallHead,
  encodeFrame,
  encodeRun,
  type Frame,
  FrameReader,
  FrameType,
  type Hello,
  Op,
  type OpCode,
  PROTO_VERSION,
  payloadI32,
  RMMOD_DISABLE_IIO_BUFFERS,
  type RunReply,
  type RunRequest,
  SPAWN_COMPAT,
  SPAWN_STDIO,
  u32,
} from './protocol.ts';
import { attach, bootVm, readVmState, type VmOptions } from './vm.ts';

/** A pid no process has (above PID_MAX_LIMIT): kill() of an unknown or dead simulated pid goes there (-ESRCH). */
const NO_SUCH_PID = 0x3fffffff;
/** Default real-time limit of {@link RealKernel.run}. */
const DEFAULT_UNTIL_NS = 30e9;
/** How long a process gets to exit after it was told to or killed. */
const EXIT_GRACE_MS = 10_000;

/** Options of {@link createRealKernel}. */
export interface RealKernelOptions {
  /**
   * A connected byte stream to the executor's supervisor (the VM's virtio port, or a local executor). Without
   * one, the kernel attaches to the VM `iio-sim kernel start` left running ({@link instance}), or boots a VM of
   * its own; either is let go of (the booted VM ended) by {@link RealKernel.close}.
   */
  channel?: Duplex;
  /** Without a channel: the detached VM to attach to (default `default`, the one `iio-sim kernel start` runs). */
  instance?: string;
  /** Without a channel and no VM running: how to boot one (cache folder, memory...). */
  vm?: VmOptions;
  /** The board (default: the simulator's default devices), given to the test module. */
  devices?: DeviceConfig[];
  /** Seed of the module's random choices (default 1). */
  seed?: number;
  /**
   * The test module to (re)load at creation so every kernel starts from a fresh-boot state: `false` for none
   * (a local executor on the host), or where it is and what parameters it gets.
   */
  module?: false | RealModuleOptions;
  /** RLIMIT_NOFILE soft limit of processes (default 1024). */
  nofile?: number;
  /** End the channel at {@link RealKernel.close} (default false: a VM serves many kernels in a row). */
  closeChannel?: boolean;
  /** Receives the executor's LOG frames. */
  log?: (message: string) => void;
  /** How long to wait for the executor's first answer (a VM still booting), ms (default 120,000). */
  helloTimeoutMs?: number;
}

/** Where the test module is and how it is loaded. */
export interface RealModuleOptions {
  /** Path of the `.ko` in the guest (default `/lib/modules/extra/sim_iio.ko`). */
  path?: string;
  /** Module name for delete_module (default `sim_iio`). */
  name?: string;
  /** Parameter string; default: built from `devices` and `seed` by {@link moduleParams}. */
  params?: string;
}

/** Options of {@link RealKernel.spawn}: the simulator's `SpawnOptions` (startAt is real ns after the run starts). */
export interface RealSpawnOptions {
  /** ILP32 process: runs as the 32-bit executor, through the kernel's compat syscall path. */
  compat?: boolean;
  /** Real time (ns after the run starts) at which the body starts. */
  startAt?: number;
  /** RLIMIT_NOFILE soft limit of this process. */
  nofile?: number;
  /** Start with `/dev/null` on fds 0, 1 and 2 (default true). */
  stdio?: boolean;
}

/** Options of {@link RealKernel.run}. */
export interface RealRunOptions {
  /** Real-time limit in ns after the run starts (default 30 s). Processes in a syscall then are `blocked`. */
  untilNs?: number;
}

/** Counters of a real run. */
export interface RealRunStats {
  /** Syscalls made (compute() excluded). */
  readonly syscalls: number;
  /** Program bytes sent to the guest before calls. */
  readonly bytesOut: number;
  /** Bytes the guest reported changed after calls. */
  readonly bytesIn: number;
  /** Mean round trip of a call as the host saw it, ns. */
  readonly meanCallNs: number;
  /** Mean time the guest spent inside the syscalls, ns. */
  readonly meanGuestNs: number;
  /** Mean time the guest process spent applying and collecting memory changes per call, ns. */
  readonly meanSyncNs: number;
}

/** What {@link RealKernel.run} returns: the simulator's outcomes, in real time (ns since the run started). */
export interface RealRunResult {
  readonly time: number;
  readonly processes: readonly ProcessOutcome[];
  readonly stats: RealRunStats;
  /** `uname -r` of the kernel that ran the programs. */
  readonly release: string;
}

interface Waiter {
  resolve: (f: Frame) => void;
  reject: (e: unknown) => void;
}

interface ProcListener {
  frame(f: Frame): void;
  closed(reason: string): void;
}

/** One executor connection; shared by every kernel created on the same stream. */
class Connection {
  readonly stream: Duplex;
  readonly #reader = new FrameReader();
  readonly #waiters = new Map<number, Waiter>();
  readonly procs = new Map<number, ProcListener>();
  #seq = 1;
  #nextProc = 1;
  closed: string | null = null;
  log: ((m: string) => void) | null = null;
  readonly #onData = (chunk: Buffer) => this.#data(chunk);
  readonly #onEnd = () => this.#close('the executor channel ended');
  readonly #onError = (e: Error) => this.#close(`the executor channel failed: ${e.message}`);

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('close', this.#onEnd);
    stream.on('error', this.#onError);
  }

  /** A process id never used before on this connection. */
  newProcId(): number {
    return this.#nextProc++;
  }

  #data(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      this.#close(`corrupt data from the executor: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) {
      const w = f.type & FrameType.REPLY ? this.#waiters.get(f.seq) : undefined;
      if (w) {
        this.#waiters.delete(f.seq);
        w.resolve(f);
      } else if (f.type === FrameType.LOG && f.proc === 0) {
        this.log?.(new TextDecoder().decode(f.payload));
      } else this.procs.get(f.proc)?.frame(f);
    }
  }

  #close(reason: string): void {
    if (this.closed) return;
    this.closed = reason;
    for (const w of this.#waiters.values()) w.reject(new Error(reason));
    this.#waiters.clear();
    for (const p of this.procs.values()) p.closed(reason);
    connections.delete(this.stream);
  }

  /** Sends a frame without waiting for anything. */
  send(type: number, proc: number, parts: readonly Uint8Array[], flags = 0): number {
    const seq = this.#seq++;
    if (!this.closed) this.stream.write(encodeFrame(type, flags, proc, seq, parts));
    return seq;
  }

  /** Sends a request; resolves with its reply (a frame whose seq matches). */
  request(type: number, proc: number, parts: readonly Uint8Array[] = [], flags = 0): Promise<Frame> {
    if (this.closed) return Promise.reject(new Error(this.closed));
    const seq = this.#seq++;
    return new Promise<Frame>((resolve, reject) => {
      this.#waiters.set(seq, { resolve, reject });
      this.stream.write(encodeFrame(type, flags, proc, seq, parts));
    });
  }

  /** Forgets a request whose answer no longer matters (its process died). */
  forget(seq: number): void {
    this.#waiters.delete(seq);
  }

  /** Stops listening (the stream stays open). */
  detach(): void {
    this.stream.off('data', this.#onData);
    this.stream.off('end', this.#onEnd);
    this.stream.off('close', this.#onEnd);
    this.stream.off('error', this.#onError);
    connections.delete(this.stream);
  }
}

const connections = new WeakMap<Duplex, Connection>();

function connectionFor(stream: Duplex): Connection {
  let c = connections.get(stream);
  if (!c || c.closed) {
    c = new Connection(stream);
    connections.set(stream, c);
  }
  return c;
}

/** `-EINVAL (-22)` for a negative return value. */
function errText(ret: number): string {
  return `-${errnoName(-ret) ?? '?'} (${ret})`;
}

/** How a process ended, decided once. */
interface Ending {
  status: 'exited' | 'crashed' | 'killed' | 'blocked' | 'running';
  time: number | null;
  reason: string;
  value?: unknown;
  error?: unknown;
  signal?: number;
  blockedIn?: ProcessOutcome['blockedIn'];
}

/** One program and its executor process in the guest. */
class RealProcess implements ProcListener {
  readonly pid: number;
  readonly name: string;
  readonly compat: boolean;
  readonly wire: number;
  readonly mem: MirrorMemory;
  readonly body: ProcessBody;
  readonly startAt: number;
  readonly #k: RealKernel;
  realPid = 0;
  ready: Promise<void>;
  #readyResolve!: () => void;
  #readyReject!: (e: unknown) => void;
  /** Settles when the guest process is gone (EXITED seen, or the channel closed). */
  readonly gone: Promise<void>;
  #goneResolve!: () => void;
  isGone = false;
  started = false;
  ending: Ending | null = null;
  bodySettled = false;
  inCall: { name: string; args: readonly unknown[]; since: number; seq: number } | null = null;
  #callResolve: ((f: Frame) => void) | null = null;
  syscalls = 0;
  callNs = 0;
  guestNs = 0;
  syncNs = 0;
  lastLog = '';
  #scratch = 0;
  #scratchLen = 0;
  readonly sys: Sys;

  constructor(k: RealKernel, pid: number, name: string, body: ProcessBody, opts: RealSpawnOptions) {
    this.#k = k;
    this.pid = pid;
    this.name = name;
    this.body = body;
    this.compat = opts.compat ?? false;
    this.startAt = opts.startAt ?? 0;
    this.wire = k.conn.newProcId();
    this.mem = new MirrorMemory(this.compat ? 'ilp32' : 'lp64');
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.ready.catch(() => {});
    this.gone = new Promise<void>((resolve) => {
      this.#goneResolve = resolve;
    });
    this.sys = this.#makeSys();
  }

  /** READY, RESULT, EXITED and LOG frames of this process. */
  frame(f: Frame): void {
    if (f.type === FrameType.READY) {
      const r = decodeReady(f.payload);
      if (r.status < 0)
        this.#readyReject(new Error(`${this.name}: the executor could not reserve its arena (${r.status})`));
      else this.#readyResolve();
    } else if (f.type === (FrameType.CALL | FrameType.REPLY)) {
      if (this.inCall && f.seq === this.inCall.seq) this.#callResolve?.(f);
    } else if (f.type === FrameType.EXITED) {
      const dv = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
      this.#exited(dv.getUint32(0, true));
    } else if (f.type === FrameType.LOG) {
      this.lastLog = new TextDecoder().decode(f.payload);
      this.#k.options.log?.(`${this.name}[${this.pid}]: ${this.lastLog}`);
    }
  }

  closed(reason: string): void {
    this.#readyReject(new Error(reason));
    this.#end({ status: 'crashed', time: this.#k.now(), reason });
    this.#markGone();
  }

  #markGone(): void {
    if (this.isGone) return;
    this.isGone = true;
    this.#k.conn.procs.delete(this.wire);
    this.#readyReject(new Error(`${this.name}: the process is gone`));
    if (this.inCall) this.#k.conn.forget(this.inCall.seq);
    this.#goneResolve();
  }

  #end(e: Ending): void {
    if (!this.ending) this.ending = e;
  }

  #exited(status: number): void {
    const sig = status & 0x7f;
    if (sig !== 0 && sig !== 0x7f) {
      this.#end({
        status: 'killed',
        time: this.#k.now(),
        reason: `killed by ${SIGNAL_NAMES[sig] ?? `signal ${sig}`}`,
        signal: sig,
      });
    } else {
      const code = (status >> 8) & 0xff;
      this.#end({
        status: 'crashed',
        time: this.#k.now(),
        reason: `the executor exited with code ${code}${this.lastLog ? `: ${this.lastLog}` : ''}`,
      });
    }
    this.#markGone();
  }

  /** Starts the body (the process is ready). */
  start(): void {
    this.started = true;
    let result: Promise<unknown>;
    try {
      result = this.body(this.sys);
    } catch (e) {
      result = Promise.reject(e);
    }
    Promise.resolve(result).then(
      (value) => this.#bodyEnded(value, undefined),
      (error: unknown) => this.#bodyEnded(undefined, error ?? new Error(String(error))),
    );
  }

  #bodyEnded(value: unknown, error: unknown): void {
    this.bodySettled = true;
    if (this.ending || this.isGone) return;
    const time = this.#k.now();
    if (error === undefined) {
      this.#end({ status: 'exited', time, reason: 'returned', ...(value === undefined ? {} : { value }) });
      this.#k.conn.send(FrameType.EXIT, this.wire, [u32(0)]);
    } else if (error instanceof SegmentationFault) {
      this.#end({ status: 'killed', time, reason: error.message, error, signal: SIGSEGV });
      this.kill(SIGKILL);
    } else {
      const msg = error instanceof Error ? error.message : String(error);
      this.#end({ status: 'crashed', time, reason: `threw: ${msg}`, error });
      this.#k.conn.send(FrameType.EXIT, this.wire, [u32(1)]);
    }
  }

  /** Sends a signal to the guest process through the supervisor. */
  kill(sig: number): void {
    if (!this.isGone) this.#k.conn.request(FrameType.KILL, this.wire, [u32(sig)]).catch(() => {});
  }

  /** The outcome now (or where the process stands at the time limit). */
  outcome(): ProcessOutcome {
    const base = { pid: this.pid, name: this.name, syscalls: this.syscalls, cpuNs: 0, copiedBytes: 0 };
    const e = this.ending;
    if (e) {
      return {
        ...base,
        status: e.status,
        exitTime: e.time,
        reason: e.reason,
        ...(e.value === undefined ? {} : { value: e.value }),
        ...(e.error === undefined ? {} : { error: e.error }),
        ...(e.signal === undefined ? {} : { signal: e.signal }),
        ...(e.blockedIn === undefined ? {} : { blockedIn: e.blockedIn }),
      };
    }
    return { ...base, status: 'running', exitTime: null, reason: 'still running at the time limit' };
  }

  /** Decides the outcome of a process still alive at the time limit. */
  stopAtLimit(): void {
    const c = this.inCall;
    if (c && c.name !== 'compute') {
      this.#end({
        status: 'blocked',
        time: null,
        reason: `blocked in ${c.name} at the time limit (since ${(c.since / 1e6).toFixed(1)} ms)`,
        blockedIn: {
          syscall: c.name,
          reason: 'still in the real syscall at the time limit',
          since: c.since,
          sleepingSince: c.since,
        },
      });
    } else this.#end({ status: 'running', time: null, reason: 'still running at the time limit' });
    this.kill(SIGKILL);
  }

  /** Sends one CALL and waits for its RESULT; never settles if the process dies meanwhile (as in the simulator). */
  async call(op: OpCode, name: string, args: readonly number[], str: string | null = null): Promise<number> {
    if (this.ending || this.isGone) return new Promise<number>(() => {});
    if (this.inCall)
      throw new Error(
        `${this.name}[${this.pid}] made a syscall (${name}) while another was in progress: a simulated process is single-threaded; await each call`,
      );
    const strBytes = str === null ? null : new TextEncoder().encode(str);
    const head = encodeCallHead(op, args, strBytes);
    const parts = [head, ...this.mem.takeChanges()];
    const t0 = process.hrtime.bigint();
    const f = await new Promise<Frame>((resolve) => {
      this.#callResolve = resolve;
      const seq = this.#k.conn.send(FrameType.CALL, this.wire, parts, strBytes ? CALL_HAS_STRING : 0);
      this.inCall = { name, args, since: this.#k.now(), seq };
    });
    this.#callResolve = null;
    this.inCall = null;
    const res = decodeResult(f.payload);
    if (op !== Op.COMPUTE) {
      this.syscalls++;
      this.callNs += Number(process.hrtime.bigint() - t0);
      this.guestNs += res.guestNs;
      this.syncNs += res.syncNs;
    }
    if (res.ret >= 0) {
      if (op === Op.MMAP) this.mem.mapped(res.ret, args[1]!, args[2]!);
      else if (op === Op.MUNMAP) this.mem.unmapped(args[0]!, args[1]!);
    }
    this.mem.applyChanges(res.mem);
    return res.ret;
  }

  /** A scratch block for pollfds(), reused (the simulator uses `mem.scratch`, which callIoctl shares). */
  #scratchFor(len: number): number {
    if (this.#scratchLen < len) {
      this.#scratchLen = Math.max(4096, Math.ceil(len / 4096) * 4096);
      this.#scratch = this.mem.alloc(this.#scratchLen);
    }
    return this.#scratch;
  }

  /** pidfd_open, pidfd_getfd, fstat and readlink of {@link RealProcess.#makeSys}. */
  #pidfdAndStatSys(): Pick<Sys, 'pidfd_open' | 'pidfd_getfd' | 'fstat' | 'readlink'> {
    const A = (name: SysCallName, args: unknown[]) => checkArgs(name, args, this.compat) as number[];
    const call = (op: OpCode, name: string, args: readonly number[], str: string | null = null) =>
      this.call(op, name, args, str);
    const k = this.#k;
    return {
      pidfd_open: (pid, flags) => {
        const [p, f] = A('pidfd_open', [pid, flags]);
        // A pid <= 0 goes as it is: the kernel's -EINVAL comes before any lookup.
        return call(Op.PIDFD_OPEN, 'pidfd_open', [p! > 0 ? k.realPidOf(p!) : p!, f!]);
      },
      pidfd_getfd: (pidfd, targetfd, flags) =>
        call(Op.PIDFD_GETFD, 'pidfd_getfd', A('pidfd_getfd', [pidfd, targetfd, flags])),
      fstat: (fd, statbuf) => call(Op.FSTAT, 'fstat', A('fstat', [fd, statbuf])),
      readlink: (path, buf, bufsiz) => {
        const [p, b, n] = checkArgs('readlink', [path, buf, bufsiz], this.compat) as [string, number, number];
        return call(Op.READLINK, 'readlink', [b, n], p);
      },
    };
  }

  /** `pollfds` of {@link RealProcess.#makeSys}: the entries as a pollfd array in scratch memory, revents back. */
  async #pollfds(entries: PollEntry[], timeoutMs: number): Promise<number> {
    const [fds, timeout] = checkArgs('pollfds', [entries, timeoutMs], this.compat) as [
      CheckedPollfd[],
      number,
    ];
    const abi = this.mem.abi;
    const bytes = encodePollfds(
      fds.map((e) => ({ fd: e.fd, events: e.events, revents: 0 })),
      abi,
    );
    const addr = this.#scratchFor(Math.max(1, bytes.length));
    this.mem.write(addr, bytes);
    const ret = await this.call(Op.POLL, 'poll', [addr, entries.length, timeout], null);
    if (ret >= 0) {
      const out = decodePollfds(this.mem.read(addr, bytes.length), entries.length, abi);
      entries.forEach((e, i) => {
        e.revents = out[i]!.revents & 0xffff;
      });
    }
    return ret;
  }

  #makeSys(): Sys {
    // The same argument table as the simulator's Sys: the same caller errors, the same C values.
    const A = (name: SysCallName, args: unknown[]) => checkArgs(name, args, this.compat) as number[];
    const mem = this.mem;
    const call = (op: OpCode, name: string, args: readonly number[], str: string | null = null) =>
      this.call(op, name, args, str);
    const k = this.#k;
    return {
      pid: this.pid,
      name: this.name,
      compat: this.compat,
      mem,
      now: () => k.now(),
      open: (path, flags) => {
        const [p, f] = checkArgs('open', [path, flags], this.compat) as [string, number];
        return call(Op.OPENAT, 'openat', [f, 0o666], p);
      },
      close: (fd) => call(Op.CLOSE, 'close', A('close', [fd])),
      dup: (fd) => call(Op.DUP, 'dup', A('dup', [fd])),
      dup2: (o, n) => call(Op.DUP2, 'dup2', A('dup2', [o, n])),
      dup3: (o, n, f) => call(Op.DUP3, 'dup3', A('dup3', [o, n, f])),
      read: (fd, addr, len) => call(Op.READ, 'read', A('read', [fd, addr, len])),
      write: (fd, addr, len) => call(Op.WRITE, 'write', A('write', [fd, addr, len])),
      pread: (fd, addr, len, off) => call(Op.PREAD64, 'pread64', A('pread', [fd, addr, len, off])),
      pwrite: (fd, addr, len, off) => call(Op.PWRITE64, 'pwrite64', A('pwrite', [fd, addr, len, off])),
      lseek: (fd, off, whence) => call(Op.LSEEK, 'lseek', A('lseek', [fd, off, whence])),
      fcntl: (fd, cmd, arg) => call(Op.FCNTL, 'fcntl', A('fcntl', [fd, cmd, arg])),
      ioctl: (fd, request, arg) => call(Op.IOCTL, 'ioctl', A('ioctl', [fd, request, arg])),
      mmap: (addr, length, prot, flags, fd, offset) =>
        call(Op.MMAP, 'mmap', A('mmap', [addr, length, prot, flags, fd, offset])),
      munmap: (addr, length) => call(Op.MUNMAP, 'munmap', A('munmap', [addr, length])),
      poll: (addr, nfds, timeout) => call(Op.POLL, 'poll', A('poll', [addr, nfds, timeout])),
      pollfds: (entries: PollEntry[], timeoutMs: number) => this.#pollfds(entries, timeoutMs),
      nanosleep: (ns) => call(Op.NANOSLEEP, 'nanosleep', A('nanosleep', [ns])),
      memfd_create: (name, flags) => {
        const [nm, f] = checkArgs('memfd_create', [name, flags], this.compat) as [string | number, number];
        return typeof nm === 'string'
          ? call(Op.MEMFD_CREATE, 'memfd_create', [0, f], nm)
          : call(Op.MEMFD_CREATE, 'memfd_create', [nm, f]);
      },
      ftruncate: (fd, length) => call(Op.FTRUNCATE, 'ftruncate', A('ftruncate', [fd, length])),
      kill: (pid, sig) => {
        const [p, sg] = A('kill', [pid, sig]);
        return call(Op.KILL, 'kill', [k.realPidOf(p!), sg!]);
      },
      sigaction: (sig, handler) => {
        const [sg, h] = checkArgs('sigaction', [sig, handler], this.compat) as [
          number,
          { restart: boolean } | null,
        ];
        return call(Op.SIGACTION, 'rt_sigaction', [sg, h ? (h.restart ? 2 : 1) : 0]);
      },
      getpid: async () => k.simPidOf(await call(Op.GETPID, 'getpid', [])),
      ...this.#pidfdAndStatSys(),
      pause: () => call(Op.PAUSE, 'pause', []),
      compute: (ns) => {
        const [t] = A('compute', [ns]);
        if (t! < 0 || t! > Number.MAX_SAFE_INTEGER)
          throw outOfRange('compute', 'ns', `>= 0 && <= ${Number.MAX_SAFE_INTEGER}`, t!);
        return call(Op.COMPUTE, 'compute', [t!]).then(() => {});
      },
    };
  }
}

/** A real kernel running programs: spawn them, run, read the outcomes. */
export class RealKernel {
  readonly conn: Connection;
  readonly options: Readonly<RealKernelOptions>;
  /** The executor's HELLO: protocol version and the kernel release. */
  readonly hello: Hello;
  readonly #procs: RealProcess[] = [];
  #nextPid = 100;
  #t0 = process.hrtime.bigint();
  #running = false;
  #closed = false;
  /** Lets go of a channel the kernel opened itself (attached or booted VM). */
  #release: (() => Promise<void>) | null = null;

  constructor(conn: Connection, options: RealKernelOptions, hello: Hello) {
    this.conn = conn;
    this.options = options;
    this.hello = hello;
  }

  /** Real ns since the run started (0 before). */
  now(): number {
    return this.#running ? Number(process.hrtime.bigint() - this.#t0) : 0;
  }

  /** The guest pid behind a simulated pid; {@link NO_SUCH_PID} when none is alive. */
  realPidOf(pid: number): number {
    const p = this.#procs.find((x) => x.pid === pid);
    return p && !p.isGone && p.realPid > 0 ? p.realPid : NO_SUCH_PID;
  }

  /** The simulated pid of a guest pid (itself when unknown). */
  simPidOf(realPid: number): number {
    if (realPid <= 0) return realPid;
    return this.#procs.find((x) => x.realPid === realPid)?.pid ?? realPid;
  }

  /** Adds a process running `body`; it starts when {@link run} does (plus `startAt`). Returns its pid. */
  spawn<R>(name: string, body: ProcessBody<R>, opts: RealSpawnOptions = {}): number {
    if (this.#closed) throw new Error('spawn() on a closed RealKernel');
    const p = new RealProcess(this, this.#nextPid++, name, body as ProcessBody, opts);
    this.#procs.push(p);
    this.conn.procs.set(p.wire, p);
    const flags = (p.compat ? SPAWN_COMPAT : 0) | ((opts.stdio ?? true) ? SPAWN_STDIO : 0);
    const nofile = opts.nofile ?? this.options.nofile ?? 1024;
    this.conn
      .request(FrameType.SPAWN, p.wire, [
        u32(flags),
        u32(nofile),
        new TextEncoder().encode(name.slice(0, 15)),
      ])
      .then((f) => {
        const r = payloadI32(f.payload);
        if (r < 0)
          p.closed(
            `spawn failed: ${errText(r)}${p.compat && !this.hello.executor32 ? ' (no executor32)' : ''}`,
          );
        else p.realPid = r;
      })
      .catch((e: unknown) => p.closed(`spawn failed: ${(e as Error).message}`));
    if (this.#running) this.#startLater(p);
    return p.pid;
  }

  #startLater(p: RealProcess): void {
    p.ready.then(
      () => {
        const delayMs = Math.max(0, (p.startAt - this.now()) / 1e6);
        setTimeout(() => {
          if (!p.ending && !p.isGone) p.start();
        }, delayMs);
      },
      () => {},
    );
  }

  /**
   * Runs the processes until each has ended or `untilNs` of real time passed. Those still inside a syscall
   * then are reported `blocked` (naming the call), the others `running`; either way their guest processes
   * are killed before this returns.
   */
  async run(opts: RealRunOptions = {}): Promise<RealRunResult> {
    const untilNs = opts.untilNs ?? DEFAULT_UNTIL_NS;
    await Promise.allSettled(this.#procs.map((p) => p.ready));
    this.#t0 = process.hrtime.bigint();
    this.#running = true;
    for (const p of this.#procs) if (!p.started) this.#startLater(p);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'limit'>((resolve) => {
      // Timers may fire a little early against the monotonic clock: wait out the rest.
      const check = () => {
        const left = untilNs - this.now();
        if (left <= 0) resolve('limit');
        else timer = setTimeout(check, Math.max(1, left / 1e6));
      };
      timer = setTimeout(check, untilNs / 1e6);
    });
    for (;;) {
      const live = this.#procs.filter((p) => !p.isGone);
      if (live.length === 0) break;
      const r = await Promise.race([limit, ...live.map((p) => p.gone)]);
      if (r === 'limit') break;
    }
    clearTimeout(timer);
    const time = this.now();
    for (const p of this.#procs) if (!p.isGone && !p.ending) p.stopAtLimit();
    for (const p of this.#procs) if (!p.isGone && p.ending) p.kill(SIGKILL);
    await waitAll(
      this.#procs.map((p) => p.gone),
      EXIT_GRACE_MS,
    );
    let syscalls = 0;
    let callNs = 0;
    let guestNs = 0;
    let syncNs = 0;
    let bytesOut = 0;
    let bytesIn = 0;
    for (const p of this.#procs) {
      syscalls += p.syscalls;
      callNs += p.callNs;
      guestNs += p.guestNs;
      syncNs += p.syncNs;
      bytesOut += p.mem.bytesOut;
      bytesIn += p.mem.bytesIn;
    }
    return {
      time,
      processes: this.#procs.map((p) => p.outcome()),
      stats: {
        syscalls,
        bytesOut,
        bytesIn,
        meanCallNs: syscalls ? callNs / syscalls : 0,
        meanGuestNs: syscalls ? guestNs / syscalls : 0,
        meanSyncNs: syscalls ? syncNs / syscalls : 0,
      },
      release: this.hello.release,
    };
  }

  /** Sends `sig` to a process from outside, as `kill(1)` would (the simulator's `Simulator.kill`). */
  kill(pid: number, sig = SIGKILL): void {
    this.#procs.find((p) => p.pid === pid)?.kill(sig);
  }

  /** Round trip of a PING to the supervisor, ns. */
  async ping(bytes = 0): Promise<number> {
    const t0 = process.hrtime.bigint();
    await this.conn.request(FrameType.PING, 0, [new Uint8Array(bytes)]);
    return Number(process.hrtime.bigint() - t0);
  }

  /** The guest kernel's log buffer (`dmesg`). */
  async dmesg(): Promise<string> {
    const f = await this.conn.request(FrameType.DMESG, 0);
    return new TextDecoder().decode(f.payload);
  }

  /** `finit_module(path, params)` in the guest: 0 or -errno. */
  async insmod(path: string, params = ''): Promise<number> {
    const f = await this.conn.request(FrameType.INSMOD, 0, [cstr(path), cstr(params)]);
    return payloadI32(f.payload);
  }

  /**
   * `delete_module(name, O_NONBLOCK)` in the guest, retried while busy for up to `waitMs`: 0 or -errno. When
   * the module is in use, every IIO buffer is disabled first (an enabled triggered buffer pins its driver).
   */
  async rmmod(name: string, waitMs = 5000): Promise<number> {
    const flags = 0o4000 | RMMOD_DISABLE_IIO_BUFFERS;
    const f = await this.conn.request(FrameType.RMMOD, 0, [u32(flags), u32(waitMs), cstr(name)]);
    return payloadI32(f.payload);
  }

  /** Stores a file in the guest (parents created, mode as given): 0 or -errno. Needs the executor's `run` feature. */
  async put(path: string, bytes: Uint8Array, mode = 0o755): Promise<number> {
    if (!this.hello.run)
      throw new Error('the guest executor has no PUT/RUN: rebuild the guest (iio-sim kernel setup)');
    const f = await this.conn.request(FrameType.PUT, 0, [u32(mode), cstr(path), bytes]);
    return payloadI32(f.payload);
  }

  /**
   * Runs a program in the guest to its end (PUT it and its libraries first) and returns its wait status,
   * output and the files asked for. The supervisor serves nothing else meanwhile: no spawned process may run.
   */
  async runProgram(request: RunRequest): Promise<RunReply> {
    if (!this.hello.run)
      throw new Error('the guest executor has no PUT/RUN: rebuild the guest (iio-sim kernel setup)');
    const f = await this.conn.request(FrameType.RUN, 0, encodeRun(request));
    return decodeRun(f.payload, request.fetch?.length ?? 0);
  }

  /** Kills every process that is left and lets go of the channel. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.conn.closed) {
      try {
        await this.conn.request(FrameType.RESET, 0);
      } catch {
        // the channel went away: nothing left to kill
      }
    }
    for (const p of this.#procs) p.closed('the kernel was closed');
    if (this.options.closeChannel || this.#release) {
      this.conn.detach();
      this.conn.stream.end();
    }
    await this.#release?.();
    this.#release = null;
  }

  /** Makes {@link close} also run `release` (for a channel the kernel opened itself). */
  releaseOnClose(release: () => Promise<void>): void {
    this.#release = release;
  }
}

async function waitAll(ps: Promise<void>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(ps),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** A board name as the module's grammar writes it: UTF-8 bytes outside `[A-Za-z0-9._~-]` as `%XX`. */
function percentEncode(name: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function scanTypeParam(t: string | ScanType): string {
  if (typeof t === 'string') return t;
  const repeat = (t.repeat ?? 1) > 1 ? `X${t.repeat}` : '';
  return `${t.endianness}:${t.sign}${t.realbits}/${t.storagebits}${repeat}>>${t.shift}`;
}

function signalParam(s: SignalSpec, channelSeed: number, where: string): string {
  switch (s.kind) {
    case 'ramp':
      return `ramp:${s.step ?? 1}:${s.offset ?? 0}`;
    case 'constant':
      return `const:${s.value}`;
    case 'square':
      return `square:${s.high}:${s.low}:${s.periodSamples}:${Math.ceil((s.dutyCycle ?? 0.5) * s.periodSamples)}`;
    case 'noise':
      return `noise:${s.amplitude}:${s.seed ?? channelSeed}:${s.offset ?? 0}`;
    case 'samples':
      return `samples:${s.repeat === false ? 0 : 1}:${s.values.join(':')}`;
    default:
      throw new Error(`${where}: a ${s.kind} signal cannot be expressed for the real-kernel module`);
  }
}

function deviceParam(d: DeviceConfig, index: number, seed: number): string {
  const parts = [`${d.kind}:${percentEncode(d.name)}`];
  const opt = (key: string, v: number | undefined) => {
    if (v !== undefined) parts.push(`${key}=${v}`);
  };
  if (d.kind === 'dummy') {
    opt('rate', d.sampleRateHz);
    opt('max_rate', d.maxSampleRateHz);
    return parts.join(',');
  }
  parts.push(`rate=${d.sampleRateHz}`);
  opt('max_rate', d.maxSampleRateHz);
  opt('dma_max_seg', d.dma?.maxSegmentSize);
  opt('dma_align', d.dma?.lengthAlignBytes);
  opt('dma_irq_ns', d.dma?.irqLatencyNs);
  opt('dma_bw', d.dma?.bytesPerSecond);
  if (d.kind === 'adc' && d.loopbackFrom !== undefined)
    parts.push(`loopback=${percentEncode(d.loopbackFrom)}`);
  // The simulator's seeds: buildDevices() per device, the converter per channel.
  const devSeed = (seed * 31 + index * 0x632be5ab) >>> 0;
  d.channels.forEach((c, i) => {
    const sig =
      d.kind === 'adc' && c.signal
        ? `@${signalParam(c.signal, (devSeed + i * 0x9e3779b1) >>> 0, `${d.name}/${c.id}`)}`
        : '';
    parts.push(`ch=${c.id}@${scanTypeParam(c.type)}${sig}`);
  });
  return parts.join(',');
}

/**
 * The `devices=` parameter of the test module (real/module/README.md) for a board (default: the
 * simulator's default devices), with the simulator's noise seeds for `seed`. Throws for what the module
 * cannot express (a sine signal).
 */
export function moduleParams(devices: readonly DeviceConfig[] | undefined, seed = 1): string {
  const devs = devices ?? defaultDevices();
  return `devices=${devs.map((d, i) => deviceParam(d, i, seed)).join(';')}`;
}

/** A channel to a guest executor, and how to let go of it. */
export interface RealChannel {
  readonly channel: Duplex;
  /** `attached` to the detached VM `instance`, or `booted` (a VM of this process, ended by {@link close}). */
  readonly how: 'attached' | 'booted';
  /** Detaches, or ends the booted VM. */
  close(): Promise<void>;
}

/**
 * A channel to a real kernel: the VM `iio-sim kernel start` left running (instance `instance`, default
 * `default`) if there is one, else a VM booted for this process (`vm` options).
 */
export async function openRealChannel(
  opts: { instance?: string; vm?: VmOptions } = {},
): Promise<RealChannel> {
  const instance = opts.instance ?? 'default';
  if (readVmState({ ...opts.vm, instance }) !== null) {
    const a = await attach({ ...opts.vm, instance });
    a.socket.on('error', () => {});
    return { channel: a.socket, how: 'attached', close: () => a.close() };
  }
  const vm = await bootVm(opts.vm ?? {});
  vm.socket.on('error', () => {});
  return { channel: vm.socket, how: 'booted', close: () => vm.close() };
}

/**
 * Connects to the executor on `channel` (without one: see {@link openRealChannel}), kills whatever an earlier
 * kernel left there, reloads the test module (unless `module: false`) and returns a kernel ready to spawn
 * programs.
 */
export async function createRealKernel(options: RealKernelOptions = {}): Promise<RealKernel> {
  if (options.channel) return connectKernel(options.channel, options);
  const owned = await openRealChannel({
    ...(options.instance === undefined ? {} : { instance: options.instance }),
    ...(options.vm === undefined ? {} : { vm: options.vm }),
  });
  try {
    const k = await connectKernel(owned.channel, options);
    k.releaseOnClose(() => owned.close());
    return k;
  } catch (e) {
    await owned.close();
    throw e;
  }
}

async function connectKernel(channel: Duplex, options: RealKernelOptions): Promise<RealKernel> {
  const conn = connectionFor(channel);
  if (options.log) conn.log = options.log;
  const helloMs = options.helloTimeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const hello = decodeHello(
    (
      await Promise.race([
        conn.request(FrameType.HELLO, 0),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the executor did not answer HELLO within ${helloMs} ms`)),
            helloMs,
          );
        }),
      ]).finally(() => clearTimeout(timer))
    ).payload,
  );
  if (hello.version !== PROTO_VERSION)
    throw new Error(
      `executor protocol version ${hello.version}, expected ${PROTO_VERSION}: rebuild the guest (iio-sim kernel setup)`,
    );
  await conn.request(FrameType.RESET, 0);
  const k = new RealKernel(conn, options, hello);
  if (options.module !== false) {
    const m = options.module ?? {};
    const name = m.name ?? 'sim_iio';
    const rm = await k.rmmod(name);
    if (rm < 0 && rm !== -2) throw new Error(`delete_module(${name}) failed: ${errText(rm)}`);
    const path = m.path ?? '/lib/modules/extra/sim_iio.ko';
    const params = m.params ?? moduleParams(options.devices, options.seed ?? 1);
    const r = await k.insmod(path, params);
    if (r < 0) throw new Error(`finit_module(${path}, "${params}") failed: ${errText(r)}`);
  }
  return k;
}

/** An executor supervisor running on this machine (for tests without a VM): its channel and how to stop it. */
export interface LocalExecutor {
  readonly channel: Duplex;
  /** Ends the channel and waits for the supervisor to exit (it kills its processes first). */
  stop(): Promise<void>;
}

/**
 * Starts `executor` (built from real/guest) as a child of this process, talking over an inherited socket
 * (`--fd 3`). Its processes run on this machine's kernel; no module is loaded.
 */
export async function startLocalExecutor(
  executor: string,
  args: readonly string[] = [],
): Promise<LocalExecutor> {
  const { spawn } = await import('node:child_process');
  const child = spawn(executor, ['--fd', '3', ...args], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  const channel = child.stdio[3] as Duplex;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    channel,
    stop: async () => {
      channel.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
