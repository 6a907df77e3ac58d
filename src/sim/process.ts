/**
 * What a simulated program sees: Linux-named syscalls returning the raw kernel convention (a value >= 0 or
 * a negative errno) and its own memory. Pointers are addresses in the process's address space.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { Task } from '../kernel/task.ts';
import type { SysRet } from '../kernel/wait.ts';
import { PAGE_SIZE } from '../uapi/mman.ts';
import type { Abi, EncodeInput, StructCodec } from '../uapi/struct.ts';
import {
  type ArgSpec,
  type CheckedPollfd,
  checkArg,
  checkArgs,
  checkInteger,
  codedError,
  invalidArgType,
  MEM_MAX_BYTES,
  outOfRange,
} from './syscall-args.ts';

/** A program's view of its memory. Bad addresses raise SIGSEGV (the process dies), as on a real system. */
export interface UserMemory {
  /** ABI of the process's structs: `lp64`, or `ilp32` for compat processes. */
  readonly abi: Abi;
  /**
   * Allocates `len` zeroed bytes (page-granular, like a fresh mmap'd arena) and returns the address. Throws
   * `ERR_SIM_OUT_OF_MEMORY` past the process's 1 GiB of anonymous memory (docs/limits.md).
   */
  alloc(len: number): number;
  /**
   * Frees a block that {@link UserMemory.alloc} (or allocStruct, allocString) returned: its pages are
   * unmapped, so using it afterwards faults. Throws for an address that is not the start of a live block,
   * as free() of a wild pointer aborts a C program.
   */
  free(addr: number): void;
  /** Copies `len` bytes at `addr` out of the process's memory. */
  read(addr: number, len: number): Uint8Array;
  /** Stores `bytes` at `addr`. */
  write(addr: number, bytes: Uint8Array): void;
  /** A live view of `[addr, addr + len)` inside one mapping (zero-copy: e.g. a mapped DMABUF). */
  view(addr: number, len: number): Uint8Array;
  /** Reads a C `int`. */
  readInt(addr: number): number;
  /** Writes a C `int`. */
  writeInt(addr: number, value: number): void;
  /** Allocates a struct in the process's ABI and stores `value` in it. */
  allocStruct<T>(codec: StructCodec<T>, value: EncodeInput<T>): number;
  /** Reads a struct in the process's ABI. */
  readStruct<T>(addr: number, codec: StructCodec<T>): T;
  /** Writes a struct in the process's ABI. */
  writeStruct<T>(addr: number, codec: StructCodec<T>, value: EncodeInput<T>): void;
  /** Allocates a NUL-terminated string and returns its address. */
  allocString(s: string): number;
  /**
   * A block of at least `len` bytes for marshalling one call's argument, as a C program keeps an ioctl's struct
   * on its stack: the same block, at the same address, on every call (its bytes are whatever the last call
   * left). A fresh one is allocated when `len` outgrows it or the program freed, unmapped or replaced it.
   */
  scratch(len: number): number;
}

/** One entry of {@link Sys.pollfds}: like `struct pollfd`; `revents` is filled in. */
export interface PollEntry {
  fd: number;
  events: number;
  revents?: number;
}

/**
 * The syscall interface of a simulated process. Every call resolves to the raw kernel return value. Arguments are
 * checked against `SYSCALL_ARGS` (src/sim/syscall-args.ts): a caller's type error throws synchronously with
 * `code` `ERR_INVALID_ARG_TYPE` or `ERR_OUT_OF_RANGE`; a call after the process exited throws
 * `ERR_SIM_PROCESS_EXITED` (docs/limits.md).
 */
export interface Sys {
  readonly pid: number;
  readonly name: string;
  /** ILP32 process (compat ioctl path, 32-bit struct layouts). */
  readonly compat: boolean;
  readonly mem: UserMemory;
  /** Current virtual time in ns (`clock_gettime(CLOCK_MONOTONIC)` through the vDSO: not a syscall). */
  now(): number;
  open(path: string, flags: number): Promise<number>;
  close(fd: number): Promise<number>;
  dup(fd: number): Promise<number>;
  dup2(oldfd: number, newfd: number): Promise<number>;
  dup3(oldfd: number, newfd: number, flags: number): Promise<number>;
  read(fd: number, addr: number, len: number): Promise<number>;
  write(fd: number, addr: number, len: number): Promise<number>;
  pread(fd: number, addr: number, len: number, offset: number): Promise<number>;
  pwrite(fd: number, addr: number, len: number, offset: number): Promise<number>;
  lseek(fd: number, offset: number, whence: number): Promise<number>;
  fcntl(fd: number, cmd: number, arg?: number): Promise<number>;
  ioctl(fd: number, request: number, arg: number): Promise<number>;
  /**
   * `getdents64(fd, dirp, count)`: `struct linux_dirent64` records of a directory opened with open().
   * Simulator only (the real-kernel runtime leaves it out).
   */
  getdents64?(fd: number, dirp: number, count: number): Promise<number>;
  /**
   * `fstat(fd, statbuf)`: writes the file's status at `statbuf`, `struct stat` for LP64 and `struct stat64` for
   * ILP32 (`decodeStat()` and `STAT_SIZE` of src/uapi/stat.ts read it). The simulator fills in the type, mode,
   * inode number, device and size; times and owner are 0 there.
   */
  fstat(fd: number, statbuf: number): Promise<number>;
  /**
   * `readlink(path, buf, bufsiz)`: the target of a symbolic link, not NUL-terminated; returns its length. The
   * simulator answers `/proc/self/fd/N` (what the fd's file is: `/dmabuf:<name>`, `anon_inode:sync_file`...).
   */
  readlink(path: string, buf: number, bufsiz: number): Promise<number>;
  mmap(
    addr: number,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ): Promise<number>;
  munmap(addr: number, length: number): Promise<number>;
  /** `poll(fds, nfds, timeout)` on a `struct pollfd` array in the process's memory. */
  poll(pollfdsAddr: number, nfds: number, timeoutMs: number): Promise<number>;
  /** The same syscall, marshalling `entries` through memory and writing each entry's `revents` back. */
  pollfds(entries: PollEntry[], timeoutMs: number): Promise<number>;
  nanosleep(ns: number): Promise<number>;
  /** `memfd_create(name, flags)`: `name` is a string or the address of a NUL-terminated string. */
  memfd_create(name: string | number, flags: number): Promise<number>;
  ftruncate(fd: number, length: number): Promise<number>;
  kill(pid: number, sig: number): Promise<number>;
  /** Installs (or with null removes) a handler for `sig`; `restart` is SA_RESTART. */
  sigaction(sig: number, handler: { restart: boolean } | null): Promise<number>;
  getpid(): Promise<number>;
  /**
   * `pidfd_open(pid, flags)`: an fd (O_CLOEXEC) naming process `pid`; flags PIDFD_NONBLOCK, PIDFD_THREAD. On the
   * real kernel `pid` is the simulated pid, mapped to the guest's as kill() maps it.
   */
  pidfd_open(pid: number, flags: number): Promise<number>;
  /** `pidfd_getfd(pidfd, targetfd, flags)`: the lowest free fd (O_CLOEXEC) on the open file `targetfd` of the pidfd's process. */
  pidfd_getfd(pidfd: number, targetfd: number, flags: number): Promise<number>;
  /** `pause()`: sleeps until a signal arrives (-EINTR once a handler ran). */
  pause(): Promise<number>;
  /** Burns `ns` of CPU time in user space (not a syscall). */
  compute(ns: number): Promise<void>;
}

/**
 * Settled once: `then` on it queues a microtask with one reaction (Node's `queueMicrotask` also builds an
 * AsyncResource and a bound function per call).
 */
const RESOLVED = Promise.resolve();

/** Glue between a running program and the kernel's task scheduler. */
export class ProcessRuntime {
  readonly task: Task;
  readonly #kernel: Kernel;
  #resolveSyscall: ((ret: number) => void) | null = null;
  #parked: (() => void) | null = null;
  #fatal: ((e: unknown) => void) | null = null;

  constructor(kernel: Kernel, task: Task, onFatal: (e: unknown) => void) {
    this.#kernel = kernel;
    this.task = task;
    this.#fatal = onFatal;
  }

  /** Resumes user code with `ret`; the promise settles when the program next enters the kernel or ends. */
  resume(ret: number, start?: () => void): Promise<void> {
    return new Promise<void>((parked) => {
      this.#parked = parked;
      const r = this.#resolveSyscall;
      this.#resolveSyscall = null;
      if (start) start();
      else r?.(ret);
    });
  }

  /** The program stopped running user code (entered the kernel, ended, or was killed). */
  park(): void {
    const p = this.#parked;
    this.#parked = null;
    p?.();
  }

  /**
   * Enters the kernel: the returned promise resolves with the syscall's result. A syscall that returned at
   * once (see {@link Sched.enter}) resolves without parking: the program goes on in the same turn of the
   * simulator (its result's promise and one reaction that clears the in-progress guard).
   */
  syscall(name: string, args: readonly unknown[], start: () => SysRet): Promise<number> {
    const task = this.task;
    if (!task.alive)
      throw codedError(
        new Error(
          `${task.comm}[${task.pid}] has exited: its ${name}() cannot run (a Sys object works only while its process lives)`,
        ),
        'ERR_SIM_PROCESS_EXITED',
      );
    if (this.#resolveSyscall || this.#returned || task.state !== 'user')
      throw codedError(
        new Error(
          `${task.comm}[${task.pid}] made a syscall (${name}) while another was in progress: a simulated process is single-threaded; await each call`,
        ),
        'ERR_SIM_SYSCALL_IN_PROGRESS',
      );
    let ret: number | undefined;
    try {
      ret = this.#kernel.sched.enter(task, name, args, start);
    } catch (e) {
      this.#fatal?.(e);
    }
    if (ret !== undefined) {
      // Until the program has taken the result (a microtask later), another call is still one too many.
      this.#returned = true;
      RESOLVED.then(this.#taken);
      return Promise.resolve(ret);
    }
    return new Promise<number>((resolve) => {
      this.#resolveSyscall = resolve;
      this.park();
    });
  }

  /** A syscall returned at once and the program has not yet been able to see its result. */
  #returned = false;
  readonly #taken = () => {
    this.#returned = false;
  };

  /**
   * Busy user-space time: `ns` is a checked integer; time past the end of virtual time (2^53-1 ns) is
   * `ERR_OUT_OF_RANGE`.
   */
  compute(ns: number): Promise<void> {
    const task = this.task;
    if (!task.alive)
      throw codedError(
        new Error(`${task.comm}[${task.pid}] has exited: it cannot compute`),
        'ERR_SIM_PROCESS_EXITED',
      );
    if (this.#resolveSyscall || this.#returned || task.state !== 'user')
      throw codedError(
        new Error(`${task.comm}[${task.pid}] computed while a syscall was in progress; await each call`),
        'ERR_SIM_SYSCALL_IN_PROGRESS',
      );
    const room = Number.MAX_SAFE_INTEGER - this.#kernel.clock.now;
    if (ns < 0 || ns > room) throw outOfRange('compute', 'ns', `>= 0 && <= ${room}`, ns);
    return new Promise<void>((resolve) => {
      this.#resolveSyscall = () => resolve();
      this.#kernel.sched.compute(this.task, ns);
      this.park();
    });
  }
}

/** What the syscall groups of {@link makeSys} share: the task, its kernel entry and its memory. */
interface SysParts {
  readonly task: Task;
  readonly k: Kernel['sys'];
  readonly mm: Task['mm'];
  readonly mem: UserMemory;
  readonly call: (name: string, args: readonly unknown[], fn: () => SysRet) => Promise<number>;
}

/** One C `int` on its way between a program and its memory (a program is single-threaded). */
const word = new Uint8Array(4);
const wordView = new DataView(word.buffer);

const INT32: ArgSpec = { name: 'value', kind: 'bits' };
const ADDR: ArgSpec = { name: 'addr', kind: 'ptr' };

/** A pointer argument of a `mem` helper (`addr`). */
function memAddr(call: string, v: unknown): number {
  return checkArg(call, ADDR, v) as number;
}

/** A length argument of a `mem` helper: 0 .. {@link MEM_MAX_BYTES}. */
function memLen(call: string, v: unknown): number {
  return checkInteger(call, 'len', v, 0, MEM_MAX_BYTES);
}

/** `mem.alloc` as malloc: the block, or an `ERR_SIM_OUT_OF_MEMORY` error when the process has no room left. */
function allocChecked(mm: Task['mm'], call: string, len: number): number {
  const addr = mm.allocHeap(len);
  if (addr < 0)
    throw codedError(
      new Error(
        `${call}(${len}): out of memory (a process's anonymous memory is at most ${MEM_MAX_BYTES} bytes)`,
      ),
      'ERR_SIM_OUT_OF_MEMORY',
    );
  return addr;
}

/** The process's memory accessors, in its struct ABI. Caller errors throw as {@link checkArgs} does. */
function makeUserMemory(mm: Task['mm'], abi: Abi): UserMemory {
  let scratchAddr = 0;
  let scratchLen = 0;
  return {
    abi,
    alloc: (len) => allocChecked(mm, 'mem.alloc', memLen('mem.alloc', len)),
    free: (addr) => {
      if (!mm.freeHeap(memAddr('mem.free', addr)))
        throw codedError(
          new Error(`free(0x${addr.toString(16)}): not a block that alloc returned`),
          'ERR_SIM_BAD_FREE',
        );
    },
    read: (addr, len) => mm.load(memAddr('mem.read', addr), memLen('mem.read', len)),
    write: (addr, bytes) => {
      const at = memAddr('mem.write', addr);
      if (!(bytes instanceof Uint8Array)) throw invalidArgType('mem.write', 'bytes', 'a Uint8Array', bytes);
      mm.store(at, bytes);
    },
    view: (addr, len) => mm.view(memAddr('mem.view', addr), memLen('mem.view', len)),
    readInt: (addr) => {
      mm.loadInto(word, memAddr('mem.readInt', addr));
      return wordView.getInt32(0, true);
    },
    writeInt: (addr, value) => {
      const at = memAddr('mem.writeInt', addr);
      wordView.setInt32(0, checkArg('mem.writeInt', INT32, value) as number, true);
      mm.store(at, word);
    },
    allocStruct: (codec, value) => {
      const bytes = codec.encode(value, abi);
      const addr = allocChecked(mm, 'mem.allocStruct', codec.size(abi));
      mm.store(addr, bytes);
      return addr;
    },
    readStruct: (addr, codec) => codec.decode(mm.load(memAddr('mem.readStruct', addr), codec.size(abi)), abi),
    writeStruct: (addr, codec, value) =>
      mm.store(memAddr('mem.writeStruct', addr), codec.encodeTransient(value, abi)),
    allocString: (s) => {
      if (typeof s !== 'string') throw invalidArgType('mem.allocString', 's', 'of type string', s);
      const bytes = new TextEncoder().encode(`${s}\0`);
      const addr = allocChecked(mm, 'mem.allocString', bytes.length);
      mm.store(addr, bytes);
      return addr;
    },
    scratch: (len) => {
      const n = memLen('mem.scratch', len);
      if (n <= scratchLen && mm.heapBlockIntact(scratchAddr, n)) return scratchAddr;
      if (scratchLen > 0 && mm.heapBlockIntact(scratchAddr, scratchLen)) mm.freeHeap(scratchAddr);
      scratchAddr = allocChecked(mm, 'mem.scratch', n);
      scratchLen = Math.max(PAGE_SIZE, Math.ceil(n / PAGE_SIZE) * PAGE_SIZE);
      return scratchAddr;
    },
  };
}

/** File descriptor and I/O syscalls. Arguments are checked against {@link SYSCALL_ARGS}. */
function fileSyscalls({ task, k, call }: SysParts) {
  return {
    open: (path: string, flags: number) => {
      const [p, f] = checkArgs('open', [path, flags], task.compat) as [string, number];
      return call('openat', [p, f], () => k.open(task, p, f));
    },
    close: (fd: number) => {
      const [f] = checkArgs('close', [fd], task.compat) as number[];
      return call('close', [f], () => k.close(task, f!));
    },
    dup: (fd: number) => {
      const [f] = checkArgs('dup', [fd], task.compat) as number[];
      return call('dup', [f], () => k.dup(task, f!));
    },
    dup2: (o: number, n: number) => {
      const v = checkArgs('dup2', [o, n], task.compat) as number[];
      return call('dup2', v, () => k.dup2(task, v[0]!, v[1]!));
    },
    dup3: (o: number, n: number, f: number) => {
      const v = checkArgs('dup3', [o, n, f], task.compat) as number[];
      return call('dup3', v, () => k.dup3(task, v[0]!, v[1]!, v[2]!));
    },
    read: (fd: number, addr: number, len: number) => {
      const v = checkArgs('read', [fd, addr, len], task.compat) as number[];
      return call('read', v, () => k.read(task, v[0]!, v[1]!, v[2]!));
    },
    write: (fd: number, addr: number, len: number) => {
      const v = checkArgs('write', [fd, addr, len], task.compat) as number[];
      return call('write', v, () => k.write(task, v[0]!, v[1]!, v[2]!));
    },
    pread: (fd: number, addr: number, len: number, off: number) => {
      const v = checkArgs('pread', [fd, addr, len, off], task.compat) as number[];
      return call('pread64', v, () => k.pread(task, v[0]!, v[1]!, v[2]!, v[3]!));
    },
    pwrite: (fd: number, addr: number, len: number, off: number) => {
      const v = checkArgs('pwrite', [fd, addr, len, off], task.compat) as number[];
      return call('pwrite64', v, () => k.pwrite(task, v[0]!, v[1]!, v[2]!, v[3]!));
    },
    lseek: (fd: number, off: number, whence: number) => {
      const v = checkArgs('lseek', [fd, off, whence], task.compat) as number[];
      return call('lseek', v, () => k.lseek(task, v[0]!, v[1]!, v[2]!));
    },
    fcntl: (fd: number, cmd: number, arg?: number) => {
      const v = checkArgs('fcntl', [fd, cmd, arg], task.compat) as number[];
      return call('fcntl', v, () => k.fcntl(task, v[0]!, v[1]!, v[2]!));
    },
    ioctl: (fd: number, request: number, arg: number) => {
      const v = checkArgs('ioctl', [fd, request, arg], task.compat) as number[];
      return call('ioctl', v, () => k.ioctl(task, v[0]!, v[1]!, v[2]!));
    },
    getdents64: (fd: number, dirp: number, count: number) => {
      const v = checkArgs('getdents64', [fd, dirp, count], task.compat) as number[];
      return call('getdents64', v, () => k.getdents64(task, v[0]!, v[1]!, v[2]!));
    },
    fstat: (fd: number, statbuf: number) => {
      const v = checkArgs('fstat', [fd, statbuf], task.compat) as number[];
      return call('fstat', v, () => k.fstat(task, v[0]!, v[1]!));
    },
    readlink: (path: string, buf: number, bufsiz: number) => {
      const [p, b, n] = checkArgs('readlink', [path, buf, bufsiz], task.compat) as [string, number, number];
      return call('readlink', [p, b, n], () => k.readlink(task, p, b, n));
    },
  } satisfies Partial<Sys>;
}

/** `struct pollfd` arrays on their way to and from a program's memory (8 bytes each in both ABIs). */
let pollBytes = new Uint8Array(64);
let pollView = new DataView(pollBytes.buffer);

/**
 * Mapping and poll syscalls. `pollfds` marshals its entries through the process's argument block
 * ({@link UserMemory.scratch}): the same address on every call, and memory stays flat.
 */
function memoryAndPollSyscalls({ task, k, mm, mem, call }: SysParts) {
  return {
    mmap: (addr: number, length: number, prot: number, flags: number, fd: number, offset: number) => {
      const v = checkArgs('mmap', [addr, length, prot, flags, fd, offset], task.compat) as number[];
      return call('mmap', v, () => k.mmap(task, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!));
    },
    munmap: (addr: number, length: number) => {
      const v = checkArgs('munmap', [addr, length], task.compat) as number[];
      return call('munmap', v, () => k.munmap(task, v[0]!, v[1]!));
    },
    poll: (addr: number, nfds: number, timeout: number) => {
      const v = checkArgs('poll', [addr, nfds, timeout], task.compat) as number[];
      return call('poll', v, () => k.poll(task, v[0]!, v[1]!, v[2]!));
    },
    pollfds: (entries: PollEntry[], timeoutMs: number) => {
      const [fds, timeout] = checkArgs('pollfds', [entries, timeoutMs], task.compat) as [
        CheckedPollfd[],
        number,
      ];
      const n = fds.length;
      // Past RLIMIT_NOFILE the kernel refuses before it reads the array (POLL-1): nothing to marshal.
      if (n > task.files.limit) return call('poll', [0, n, timeout], () => k.poll(task, 0, n, timeout));
      return pollThroughMemory(task, k, mm, mem, call, entries, fds, timeout);
    },
  } satisfies Partial<Sys>;
}

/** `pollfds`: the entries through the program's argument block, revents written back into them. */
async function pollThroughMemory(
  task: Task,
  k: Kernel['sys'],
  mm: Task['mm'],
  mem: UserMemory,
  call: SysParts['call'],
  entries: PollEntry[],
  fds: readonly CheckedPollfd[],
  timeout: number,
): Promise<number> {
  const n = fds.length;
  const len = n * 8;
  if (pollBytes.length < len) {
    pollBytes = new Uint8Array(len);
    pollView = new DataView(pollBytes.buffer);
  }
  for (let i = 0; i < n; i++) {
    const e = fds[i]!;
    pollView.setInt32(i * 8, e.fd, true);
    pollView.setUint16(i * 8 + 4, e.events, true);
    pollView.setUint16(i * 8 + 6, 0, true);
  }
  const addr = mem.scratch(Math.max(1, len));
  mm.store(addr, len === pollBytes.length ? pollBytes : pollBytes.subarray(0, len));
  const ret = await call('poll', [addr, n, timeout], () => k.poll(task, addr, n, timeout));
  if (ret >= 0) {
    let out: Uint8Array = pollBytes;
    if (len === pollBytes.length) mm.loadInto(pollBytes, addr);
    else out = mm.view(addr, len);
    for (let i = 0; i < n; i++) entries[i]!.revents = out[i * 8 + 6]! | (out[i * 8 + 7]! << 8);
  }
  return ret;
}

/** Time, memfd, signal and process syscalls. */
function processSyscalls({ task, k, call }: SysParts) {
  return {
    nanosleep: (ns: number) => {
      const [t] = checkArgs('nanosleep', [ns], task.compat) as number[];
      return call('nanosleep', [t], () => k.nanosleep(task, t!));
    },
    memfd_create: (name: string | number, flags: number) => {
      const [nm, f] = checkArgs('memfd_create', [name, flags], task.compat) as [string | number, number];
      return call('memfd_create', [nm, f], () => k.memfdCreate(task, nm, f));
    },
    ftruncate: (fd: number, length: number) => {
      const v = checkArgs('ftruncate', [fd, length], task.compat) as number[];
      return call('ftruncate', v, () => k.ftruncate(task, v[0]!, v[1]!));
    },
    kill: (pid: number, sig: number) => {
      const v = checkArgs('kill', [pid, sig], task.compat) as number[];
      return call('kill', v, () => k.kill(task, v[0]!, v[1]!));
    },
    sigaction: (sig: number, handler: { restart: boolean } | null) => {
      const [s, h] = checkArgs('sigaction', [sig, handler], task.compat) as [
        number,
        { restart: boolean } | null,
      ];
      return call('rt_sigaction', [s, h], () => k.sigaction(task, s, h));
    },
    getpid: () => call('getpid', [], () => task.pid),
    pidfd_open: (pid: number, flags: number) => {
      const v = checkArgs('pidfd_open', [pid, flags], task.compat) as number[];
      return call('pidfd_open', v, () => k.pidfdOpen(task, v[0]!, v[1]!));
    },
    pidfd_getfd: (pidfd: number, targetfd: number, flags: number) => {
      const v = checkArgs('pidfd_getfd', [pidfd, targetfd, flags], task.compat) as number[];
      return call('pidfd_getfd', v, () => k.pidfdGetfd(task, v[0]!, v[1]!, v[2]!));
    },
    pause: () => call('pause', [], () => k.pause(task)),
  } satisfies Partial<Sys>;
}

/** The runtime behind each {@link Sys}, for {@link extraSyscall}. */
const runtimes = new WeakMap<Sys, ProcessRuntime>();

/**
 * Makes a syscall that {@link Sys} does not offer, as the process `sys` belongs to: what the `exec` bridge
 * needs for a real program's `clone` (fork), `execve` and `wait4`, which a TypeScript program has no use for.
 * `fn` runs in the kernel as the syscall's body; the call is traced, timed and checked like any other.
 */
export function extraSyscall(
  sys: Sys,
  name: string,
  args: readonly unknown[],
  fn: (task: Task) => SysRet,
): Promise<number> {
  const rt = runtimes.get(sys);
  if (!rt) throw new Error('extraSyscall: not a simulated process');
  return rt.syscall(name, args, () => fn(rt.task));
}

/** Builds the {@link Sys} object of a process. */
export function makeSys(kernel: Kernel, rt: ProcessRuntime): Sys {
  const task = rt.task;
  const abi: Abi = task.compat ? 'ilp32' : 'lp64';
  const mem = makeUserMemory(task.mm, abi);
  const parts: SysParts = {
    task,
    k: kernel.sys,
    mm: task.mm,
    mem,
    call: (name, args, fn) => rt.syscall(name, args, fn),
  };
  const sys: Sys = {
    pid: task.pid,
    name: task.comm,
    compat: task.compat,
    mem,
    now: () => kernel.clock.now,
    ...fileSyscalls(parts),
    ...memoryAndPollSyscalls(parts),
    ...processSyscalls(parts),
    compute: (ns) => rt.compute(checkArgs('compute', [ns])[0] as number),
  };
  runtimes.set(sys, rt);
  return sys;
}
