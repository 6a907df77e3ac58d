/**
 * What a simulated program sees: Linux-named syscalls returning the raw kernel convention (a value >= 0 or
 * a negative errno) and its own memory. Pointers are addresses in the process's address space.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { Task } from '../kernel/task.ts';
import type { SysRet } from '../kernel/wait.ts';
import type { Abi, EncodeInput, StructCodec } from '../uapi/struct.ts';

/** A program's view of its memory. Bad addresses raise SIGSEGV (the process dies), as on a real system. */
export interface UserMemory {
  /** ABI of the process's structs: `lp64`, or `ilp32` for compat processes. */
  readonly abi: Abi;
  /** Allocates `len` zeroed bytes (page-granular, like a fresh mmap'd arena) and returns the address. */
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
}

/** One entry of {@link Sys.pollfds}: like `struct pollfd`; `revents` is filled in. */
export interface PollEntry {
  fd: number;
  events: number;
  revents?: number;
}

/** The syscall interface of a simulated process. Every call resolves to the raw kernel return value. */
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
  /** `pause()`: sleeps until a signal arrives (-EINTR once a handler ran). */
  pause(): Promise<number>;
  /** Burns `ns` of CPU time in user space (not a syscall). */
  compute(ns: number): Promise<void>;
}

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

  /** Enters the kernel: the returned promise resolves with the syscall's result. */
  syscall(name: string, args: readonly unknown[], start: () => SysRet): Promise<number> {
    const task = this.task;
    if (!task.alive) return new Promise<number>(() => {});
    if (this.#resolveSyscall || task.state !== 'user')
      throw new Error(
        `${task.comm}[${task.pid}] made a syscall (${name}) while another was in progress: a simulated process is single-threaded; await each call`,
      );
    return new Promise<number>((resolve) => {
      this.#resolveSyscall = resolve;
      try {
        this.#kernel.sched.enter(task, name, args, start);
      } catch (e) {
        this.#fatal?.(e);
      }
      this.park();
    });
  }

  /** Busy user-space time. */
  compute(ns: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!Number.isSafeInteger(ns) || ns < 0) {
        reject(new RangeError(`compute(${ns}): need an integer number of ns >= 0`));
        return;
      }
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
  readonly call: (name: string, args: readonly unknown[], fn: () => SysRet) => Promise<number>;
}

/** Truncates a number argument toward zero as the C ABI would (non-finite values become 0). */
const int = (v: number) => (Number.isFinite(v) ? Math.trunc(v) : 0);

/** One C `int` on its way between a program and its memory (a program is single-threaded). */
const word = new Uint8Array(4);
const wordView = new DataView(word.buffer);

/** The process's memory accessors, in its struct ABI. */
function makeUserMemory(mm: Task['mm'], abi: Abi): UserMemory {
  return {
    abi,
    alloc: (len) => mm.allocHeap(len),
    free: (addr) => {
      if (!mm.freeHeap(addr))
        throw new Error(`free(0x${addr.toString(16)}): not a block that alloc returned`);
    },
    read: (addr, len) => mm.load(addr, len),
    write: (addr, bytes) => mm.store(addr, bytes),
    view: (addr, len) => mm.view(addr, len),
    readInt: (addr) => {
      mm.loadInto(word, addr);
      return wordView.getInt32(0, true);
    },
    writeInt: (addr, value) => {
      wordView.setInt32(0, value, true);
      mm.store(addr, word);
    },
    allocStruct: (codec, value) => {
      const addr = mm.allocHeap(codec.size(abi));
      mm.store(addr, codec.encode(value, abi));
      return addr;
    },
    readStruct: (addr, codec) => codec.decode(mm.load(addr, codec.size(abi)), abi),
    writeStruct: (addr, codec, value) => mm.store(addr, codec.encode(value, abi)),
    allocString: (s) => {
      const bytes = new TextEncoder().encode(`${s}\0`);
      const addr = mm.allocHeap(bytes.length);
      mm.store(addr, bytes);
      return addr;
    },
  };
}

/** File descriptor and I/O syscalls. */
function fileSyscalls({ task, k, call }: SysParts) {
  return {
    open: (path: string, flags: number) =>
      call('openat', [path, flags], () => k.open(task, String(path), int(flags))),
    close: (fd: number) => call('close', [fd], () => k.close(task, int(fd))),
    dup: (fd: number) => call('dup', [fd], () => k.dup(task, int(fd))),
    dup2: (o: number, n: number) => call('dup2', [o, n], () => k.dup2(task, int(o), int(n))),
    dup3: (o: number, n: number, f: number) =>
      call('dup3', [o, n, f], () => k.dup3(task, int(o), int(n), int(f))),
    read: (fd: number, addr: number, len: number) =>
      call('read', [fd, addr, len], () => k.read(task, int(fd), int(addr), int(len))),
    write: (fd: number, addr: number, len: number) =>
      call('write', [fd, addr, len], () => k.write(task, int(fd), int(addr), int(len))),
    pread: (fd: number, addr: number, len: number, off: number) =>
      call('pread64', [fd, addr, len, off], () => k.pread(task, int(fd), int(addr), int(len), int(off))),
    pwrite: (fd: number, addr: number, len: number, off: number) =>
      call('pwrite64', [fd, addr, len, off], () => k.pwrite(task, int(fd), int(addr), int(len), int(off))),
    lseek: (fd: number, off: number, whence: number) =>
      call('lseek', [fd, off, whence], () => k.lseek(task, int(fd), int(off), int(whence))),
    fcntl: (fd: number, cmd: number, arg = 0) =>
      call('fcntl', [fd, cmd, arg], () => k.fcntl(task, int(fd), int(cmd), int(arg))),
    ioctl: (fd: number, request: number, arg: number) =>
      call('ioctl', [fd, request, arg], () => k.ioctl(task, int(fd), int(request), int(arg))),
    getdents64: (fd: number, dirp: number, count: number) =>
      call('getdents64', [fd, dirp, count], () => k.getdents64(task, int(fd), int(dirp), int(count))),
  } satisfies Partial<Sys>;
}

/** `struct pollfd` arrays on their way to and from a program's memory (8 bytes each in both ABIs). */
let pollBytes = new Uint8Array(64);
let pollView = new DataView(pollBytes.buffer);

/**
 * Mapping and poll syscalls. `pollfds` marshals its entries through a block of the program's memory that it
 * frees after the call: the program's later blocks land where they always did, and memory stays flat.
 */
function memoryAndPollSyscalls({ task, k, mm, call }: SysParts) {
  return {
    mmap: (addr: number, length: number, prot: number, flags: number, fd: number, offset: number) =>
      call('mmap', [addr, length, prot, flags, fd, offset], () =>
        k.mmap(task, int(addr), int(length), int(prot), int(flags), int(fd), int(offset)),
      ),
    munmap: (addr: number, length: number) =>
      call('munmap', [addr, length], () => k.munmap(task, int(addr), int(length))),
    poll: (addr: number, nfds: number, timeout: number) =>
      call('poll', [addr, nfds, timeout], () => k.poll(task, int(addr), int(nfds), int(timeout))),
    pollfds: async (entries: PollEntry[], timeout: number) => {
      const n = entries.length;
      const len = n * 8;
      if (pollBytes.length < len) {
        pollBytes = new Uint8Array(len);
        pollView = new DataView(pollBytes.buffer);
      }
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        pollView.setUint32(i * 8, e.fd >>> 0, true);
        pollView.setUint16(i * 8 + 4, (e.events >>> 0) & 0xffff, true);
        pollView.setUint16(i * 8 + 6, 0, true);
      }
      const addr = mm.allocHeap(Math.max(1, len));
      mm.store(addr, len === pollBytes.length ? pollBytes : pollBytes.subarray(0, len));
      const ret = await call('poll', [addr, n, timeout], () => k.poll(task, addr, n, int(timeout)));
      if (ret >= 0) {
        const out = mm.view(addr, len);
        for (let i = 0; i < n; i++) entries[i]!.revents = out[i * 8 + 6]! | (out[i * 8 + 7]! << 8);
      }
      mm.freeHeap(addr);
      return ret;
    },
  } satisfies Partial<Sys>;
}

/** Time, memfd, signal and process syscalls. */
function processSyscalls({ task, k, call }: SysParts) {
  return {
    nanosleep: (ns: number) => call('nanosleep', [ns], () => k.nanosleep(task, ns)),
    memfd_create: (name: string | number, flags: number) =>
      call('memfd_create', [name, flags], () =>
        k.memfdCreate(task, typeof name === 'string' ? name : int(name), int(flags)),
      ),
    ftruncate: (fd: number, length: number) =>
      call('ftruncate', [fd, length], () => k.ftruncate(task, int(fd), int(length))),
    kill: (pid: number, sig: number) => call('kill', [pid, sig], () => k.kill(task, int(pid), int(sig))),
    sigaction: (sig: number, handler: { restart: boolean } | null) =>
      call('rt_sigaction', [sig, handler], () => k.sigaction(task, int(sig), handler)),
    getpid: () => call('getpid', [], () => task.pid),
    pause: () => call('pause', [], () => k.pause(task)),
  } satisfies Partial<Sys>;
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
    call: (name, args, fn) => rt.syscall(name, args, fn),
  };
  return {
    pid: task.pid,
    name: task.comm,
    compat: task.compat,
    mem,
    now: () => kernel.clock.now,
    ...fileSyscalls(parts),
    ...memoryAndPollSyscalls(parts),
    ...processSyscalls(parts),
    compute: (ns) => rt.compute(ns),
  };
}
