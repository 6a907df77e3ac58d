/**
 * An strace-style log of a simulation, in the format of `strace -f --timestamps=unix,ns -T` (strace 6.1): one
 * line per syscall with decoded arguments, ` = result` at column 40, the raw result as strace prints it
 * (`= -1 EINVAL (Invalid argument)`), `[pid N]` prefixes, durations `<0.000021>`, and `<unfinished ...>` /
 * `<... read resumed>` for calls that block while something else happens. Beyond strace 6.1 it decodes the IIO,
 * dma-buf, heap and udmabuf structs; `compat: 'strace-6.1'` prints exactly what strace 6.1 prints instead
 * (docs/traces.md).
 */

import type { EventEmitter } from 'eventemitter3';
import type { Task } from '../kernel/task.ts';
import type { SimEvents } from '../sim/simulator.ts';
import { errnoName, strerror } from '../uapi/errno.ts';
import {
  F_ADD_SEALS,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GET_SEALS,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
} from '../uapi/fcntl.ts';
import {
  type AbiProfile,
  type IoctlArg,
  type IoctlIntArg,
  type IoctlStructArg,
  ioctlByRequest,
} from '../uapi/ioctls.ts';
import {
  formatIoctlFallback,
  formatMapFlags,
  formatOpenFlags,
  formatProt,
  ioctlRequestName,
} from '../uapi/names.ts';
import { formatPollEvents } from '../uapi/poll.ts';
import { SIGKILL, SIGNAL_NAMES } from '../uapi/signal.ts';
import type { Abi } from '../uapi/struct.ts';
import { STRACE_61_IOCTLS } from './strace-compat.ts';

/** Which strace to imitate byte for byte: `strace-6.1` decodes none of the IIO and dma-buf structs. */
export type StraceCompat = 'strace-6.1';

/** Options of {@link Strace}. */
export interface StraceOptions {
  /** Prefix each line with the simulated time as `--timestamps=unix,ns` prints it (`0.002050000`). Default true. */
  timestamps?: boolean;
  /** Append the time spent in the call as `-T` prints it, `<0.000021>` (µs, truncated). Default false. */
  durations?: boolean;
  /** `[pid N]` prefixes: always, never, or once a second process exists (default). */
  pids?: 'auto' | boolean;
  /** Bytes of read/write data shown before `...` (`-s`, default 32). */
  stringLimit?: number;
  /** Print exactly what this strace prints (no decoding of structs it does not know). Default: decode them. */
  compat?: StraceCompat | null;
}

/** The column strace starts ` = result` at (`acolumn`), when the line is shorter. */
export const RESULT_COLUMN = 40;

const FCNTL_NAMES: Record<number, string> = {
  [F_DUPFD]: 'F_DUPFD',
  [F_GETFD]: 'F_GETFD',
  [F_SETFD]: 'F_SETFD',
  [F_GETFL]: 'F_GETFL',
  [F_SETFL]: 'F_SETFL',
  [F_DUPFD_CLOEXEC]: 'F_DUPFD_CLOEXEC',
  [F_ADD_SEALS]: 'F_ADD_SEALS',
  [F_GET_SEALS]: 'F_GET_SEALS',
};

/** lseek's whence as strace 6.1 names it. */
const WHENCE: Record<number, string> = {
  0: 'SEEK_SET',
  1: 'SEEK_CUR',
  2: 'SEEK_END',
  3: 'SEEK_DATA',
  4: 'SEEK_HOLE',
};

/** Seal bits as strace 6.1 names them (its `f_seals`; F_SEAL_EXEC is newer). */
function formatSeals(seals: number): string {
  const known = ['F_SEAL_SEAL', 'F_SEAL_SHRINK', 'F_SEAL_GROW', 'F_SEAL_WRITE', 'F_SEAL_FUTURE_WRITE'];
  const names = known.filter((_, i) => seals & (1 << i));
  const rest = seals & ~0x1f;
  if (rest) names.push(`${rawHex(rest)} /* F_SEAL_??? */`);
  return names.length ? names.join('|') : '0';
}

/** What strace prints for a call a signal interrupted (`= ? ERESTARTSYS (...)`), by the call's wait. */
const RESTART: Record<string, string> = {
  poll: 'ERESTARTNOHAND (To be restarted if no handler)',
  pause: 'ERESTARTNOHAND (To be restarted if no handler)',
  clock_nanosleep: 'ERESTART_RESTARTBLOCK (Interrupted by signal)',
};
const RESTART_DEFAULT = 'ERESTARTSYS (To be restarted if SA_RESTART is set)';

/** Seconds with nanosecond precision, as `--timestamps=unix,ns` prints them (`-ttt` with 9 digits). */
export function formatTime(ns: number): string {
  const s = Math.floor(ns / 1e9);
  return `${s}.${String(ns - s * 1e9).padStart(9, '0')}`;
}

/** A duration as `-T` prints it: seconds with 6 digits, the nanoseconds truncated (`<0.000020>`). */
export function formatDuration(ns: number): string {
  const us = Math.floor(Math.max(0, ns) / 1000);
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}

/** `line` and its result, ` = ...` starting at column 40 as strace's `tabto()` does, or one space past it. */
export function withResult(line: string, result: string): string {
  return `${line}${' '.repeat(Math.max(1, RESULT_COLUMN - line.length))}${result}`;
}

/** strace's quoting of a byte string: printable ASCII as is, C escapes, octal for the rest. */
export function quoteBytes(bytes: Uint8Array, limit: number, total = bytes.length): string {
  let out = '"';
  const n = Math.min(bytes.length, limit);
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    const next = i + 1 < n ? bytes[i + 1]! : -1;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0b) out += '\\v';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else {
      const digitNext = next >= 0x30 && next <= 0x37;
      out += `\\${digitNext ? c.toString(8).padStart(3, '0') : c.toString(8)}`;
    }
  }
  out += '"';
  if (total > n) out += '...';
  return out;
}

/** A path as strace prints it: whole up to PATH_MAX - 1 characters, then `...` (a 1 MiB path is one short line). */
function quotePath(path: string): string {
  return path.length < 4096 ? JSON.stringify(path) : `${JSON.stringify(path.slice(0, 4095))}...`;
}

/** How many `linux_dirent64` records `bytes` holds (d_reclen at offset 16), or null when they cannot be read. */
function direntCount(bytes: Uint8Array | null | undefined): number | null {
  if (!bytes) return null;
  let count = 0;
  for (let off = 0; off + 18 <= bytes.length; count++) {
    const reclen = bytes[off + 16]! | (bytes[off + 17]! << 8);
    if (reclen === 0) break;
    off += reclen;
  }
  return count;
}

/** memfd_create's name as strace prints it: the string (given, or read at the user pointer), or the address. */
function memfdName(task: Task, name: unknown): string {
  if (typeof name === 'string') return quotePath(name);
  const bytes = task.mm.peek(Number(name), 250);
  if (!bytes) return hexAddr(Number(name));
  const end = bytes.indexOf(0);
  return quotePath(new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end)));
}

/** memfd_create's flags as strace 6.1 prints them (`printflags` over its `memfd_create_flags`). */
function formatMemfdFlags(flags: number): string {
  if (flags === 0) return '0';
  const names: string[] = [];
  const known = [
    [1, 'MFD_CLOEXEC'],
    [2, 'MFD_ALLOW_SEALING'],
    [4, 'MFD_HUGETLB'],
  ] as const;
  let rest = flags >>> 0;
  for (const [bit, name] of known)
    if (rest & bit) {
      names.push(name);
      rest &= ~bit;
    }
  if (rest) names.push(`${rawHex(rest)} /* MFD_??? */`);
  return names.join('|');
}

/**
 * A pointer strace decodes (`printaddr`): `NULL`, or the unsigned 64-bit value in hex (a negative JavaScript
 * number is the address C would pass: -1 is `0xffffffffffffffff`, never `0x-1`).
 */
export function hexAddr(addr: number): string {
  if (addr === 0) return 'NULL';
  if (addr > 0 || !Number.isSafeInteger(addr)) return `0x${addr.toString(16)}`;
  return `0x${BigInt.asUintN(64, BigInt(addr)).toString(16)}`;
}

/** A value strace prints raw in hex (`PRINT_VAL_X`): `0` or `0x...`, as an ioctl argument it cannot decode. */
function rawHex(v: number): string {
  if (v === 0) return '0';
  return v > 0 || !Number.isSafeInteger(v)
    ? `0x${v.toString(16)}`
    : `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

/** strace's rendering of a return value: `= 3`, `= 0x7f...` for mmap, `= -1 ENAME (text)`. */
export function formatReturn(name: string, ret: number): string {
  if (ret < 0) return `-1 ${errnoName(-ret) ?? String(-ret)} (${strerror(-ret)})`;
  if (name === 'mmap' || name === 'mmap2') return hexAddr(ret);
  return String(ret);
}

/**
 * Results strace prints in hex (`RVAL_HEX` in its fcntl decoder): F_GETFL, F_GETFD and F_GET_SEALS when they
 * succeed (`%#llx`, so 0 stays `0`).
 */
function hexResult(name: string, args: readonly unknown[], ret: number): boolean {
  return (
    name === 'fcntl' && ret >= 0 && (args[1] === F_GETFL || args[1] === F_GETFD || args[1] === F_GET_SEALS)
  );
}

/** What strace prints of a call at its entry, and whether that is all (`RVAL_DECODED`). */
interface Head {
  readonly text: string;
  readonly complete: boolean;
}

interface Pending {
  readonly task: Task;
  /** The name strace shows (`clock_nanosleep` for the simulator's `nanosleep`, `mmap2` for ILP32 `mmap`). */
  readonly name: string;
  readonly head: string;
  /** Nothing is left to print at exit: a death in the call adds no ` <unfinished ...>`. */
  readonly complete: boolean;
  readonly enterTime: number;
  /** Arguments decoded at entry (input structs). */
  readonly entry: unknown;
  printedUnfinished: boolean;
}

/** Writes an strace-style log of every syscall of a simulation to `sink`. */
export class Strace {
  readonly #sink: (line: string) => void;
  readonly #profile: AbiProfile;
  readonly #opts: Required<StraceOptions>;
  readonly #pending = new Map<Task, Pending>();
  readonly #pids = new Set<number>();
  /** Processes announced as `[ Process PID=N runs in 32 bit mode. ]`. */
  readonly #announced = new Set<number>();
  /** Who sent a signal by `kill(2)`, by `target:signal`, for the `si_pid` of its delivery. */
  readonly #senders = new Map<string, number>();
  readonly #lastSignal = new Map<Task, string>();
  /** Tasks seen, by pid; those whose `exit_group(N) = ?` is printed. */
  readonly #tasks = new Map<number, Task>();
  readonly #exited = new Set<Task>();
  readonly #off: (() => void)[] = [];
  /** The task whose syscall is executing right now (between entry and exit or sleep), if any. */
  #running: Task | null = null;
  /**
   * Output raised while that syscall runs (notes, another task's death): shown after its line, as strace sees
   * the call's effects only once it returns.
   */
  #held: (() => void)[] = [];
  /** Tasks whose interrupted call returns through `rt_sigreturn` (its handler ran). */
  readonly #sigreturn = new Set<Task>();
  /** Hears each finished call as one whole line, without timestamp or pid (for timeline exporters). */
  onCall: ((task: Task, line: string) => void) | null = null;

  constructor(
    events: EventEmitter<SimEvents>,
    profile: AbiProfile,
    sink: (line: string) => void,
    options: StraceOptions = {},
  ) {
    this.#profile = profile;
    this.#sink = sink;
    this.#opts = {
      timestamps: true,
      durations: false,
      pids: 'auto',
      stringLimit: 32,
      compat: null,
      ...options,
    };
    const on = <K extends keyof SimEvents>(n: K, f: SimEvents[K]) => {
      const bus = events as unknown as EventEmitter<Record<string, (...a: never[]) => void>>;
      bus.on(n, f as never);
      this.#off.push(() => bus.off(n, f as never));
    };
    on('syscall:enter', (e) => this.#enter(e.task, e.name, e.args, e.time));
    on('syscall:exit', (e) => this.#exit(e.task, e.name, e.args, e.ret, e.enterTime, e.returnTime));
    on('task:sleep', (e) => {
      if (this.#running === e.task) this.#release();
    });
    on('task:signal', (e) => this.#signal(e.task, e.signal, e.action, e.time));
    on('task:exiting', (e) => this.#exitGroup(this.#tasks.get(e.pid), e.time));
    on('task:exit', (e) => this.#taskExit(e.task, e.exit));
  }

  /** Stops tracing. */
  detach(): void {
    for (const f of this.#off.splice(0)) f();
  }

  /** The call `task` is in, as strace shows one that never returns (`poll(..., -1 <unfinished ...>`), or null. */
  unfinished(task: Task): string | null {
    const p = this.#pending.get(task);
    return p ? `${p.head} <unfinished ...>` : null;
  }

  /** The call `task` dies in, as strace shows it (`read(4,  <unfinished ...>) = ?`, `pause() = ?`), or null. */
  killedIn(task: Task): string | null {
    const p = this.#pending.get(task);
    return p ? `${p.head}${p.complete ? '' : ' <unfinished ...>'}) = ?` : null;
  }

  /** The last signal line printed for `task` (`--- SIGUSR1 {...} ---`), or null. */
  lastSignal(task: Task): string | null {
    return this.#lastSignal.get(task) ?? null;
  }

  /** Writes a line that is not a syscall (a hardware event, a note) in the log's format, at time `time`. */
  note(time: number, text: string): void {
    const line = `${this.#opts.timestamps ? `${formatTime(time)} ` : ''}${text}`;
    this.#later(null, () => {
      this.#flushUnfinished(null);
      this.#sink(line);
    });
  }

  /** Runs `print` now, or once the syscall running now (not `task`'s) has finished or gone to sleep. */
  #later(task: Task | null, print: () => void): void {
    if (this.#running && this.#running !== task) this.#held.push(print);
    else print();
  }

  /** The running syscall finished or went to sleep: output it raised is written now. */
  #release(): void {
    this.#running = null;
    for (const print of this.#held.splice(0)) print();
  }

  #prefix(task: Task, time: number): string {
    this.#pids.add(task.pid);
    const showPid = this.#opts.pids === 'auto' ? this.#pids.size > 1 : this.#opts.pids;
    return `${showPid ? `[pid ${String(task.pid).padStart(5)}] ` : ''}${this.#opts.timestamps ? `${formatTime(time)} ` : ''}`;
  }

  #line(task: Task, time: number, text: string): void {
    this.#flushUnfinished(task);
    this.#sink(`${this.#prefix(task, time)}${text}`);
  }

  /** A call's line with its result at column 40 (the prefix counts, as in strace). */
  #resultLine(task: Task, time: number, body: string, result: string): void {
    this.#sink(withResult(`${this.#prefix(task, time)}${body}`, result));
  }

  /** Other output is about to appear: calls still in progress are shown as unfinished. */
  #flushUnfinished(except: Task | null): void {
    for (const p of this.#pending.values()) {
      if (p.task === except || p.printedUnfinished) continue;
      p.printedUnfinished = true;
      this.#sink(`${this.#prefix(p.task, p.enterTime)}${p.head} <unfinished ...>`);
    }
  }

  #abi(task: Task): Abi {
    return task.compat ? 'ilp32' : 'lp64';
  }

  /** The name strace shows: glibc's nanosleep() is clock_nanosleep, an ILP32 process maps with mmap2. */
  #displayName(task: Task, name: string): string {
    if (name === 'nanosleep') return 'clock_nanosleep';
    if (name === 'mmap' && task.compat) return 'mmap2';
    return name;
  }

  #enter(task: Task, name: string, args: readonly unknown[], time: number): void {
    if (task.compat && !this.#announced.has(task.pid)) {
      this.#announced.add(task.pid);
      this.#flushUnfinished(null);
      this.#sink(`[ Process PID=${task.pid} runs in 32 bit mode. ]`);
    }
    this.#pids.add(task.pid);
    this.#tasks.set(task.pid, task);
    if (name === 'kill') this.#senders.set(`${Number(args[0])}:${Number(args[1])}`, task.pid);
    const entry = name === 'ioctl' ? this.#ioctlEntry(task, args) : null;
    const shown = this.#displayName(task, name);
    const head = this.#argsAtEntry(task, name, args, entry);
    this.#pending.set(task, {
      task,
      name: shown,
      head: `${shown}(${head.text}`,
      complete: head.complete,
      enterTime: time,
      entry,
      printedUnfinished: false,
    });
    this.#running = task;
  }

  #exit(
    task: Task,
    name: string,
    args: readonly unknown[],
    ret: number,
    enterTime: number,
    returnTime: number,
  ): void {
    const p = this.#pending.get(task);
    this.#pending.delete(task);
    if (this.#sigreturn.delete(task)) {
      // The handler ran: the interrupted call was printed with `= ? ERESTART...`; its -EINTR comes back
      // through rt_sigreturn.
      this.#flushUnfinished(task);
      this.#resultLine(task, returnTime, 'rt_sigreturn({mask=[]})', `= ${formatReturn('rt_sigreturn', ret)}`);
      if (this.#running === task) this.#release();
      return;
    }
    const shown = p?.name ?? this.#displayName(task, name);
    const head = p?.head ?? `${shown}(`;
    const tail = this.#argsAtExit(task, name, args, ret, p?.entry ?? null);
    const dur = this.#opts.durations ? ` <${formatDuration(returnTime - enterTime)}>` : '';
    const value = hexResult(name, args, ret) ? rawHex(ret) : formatReturn(shown, ret);
    const result = `= ${value}${this.#resultNote(task, name, args, ret)}${dur}`;
    this.onCall?.(task, `${head}${tail}) ${result}`);
    this.#flushUnfinished(task);
    if (p?.printedUnfinished) this.#resultLine(task, returnTime, `<... ${shown} resumed>${tail})`, result);
    else this.#resultLine(task, enterTime, `${head}${tail})`, result);
    if (this.#running === task) this.#release();
  }

  /**
   * A signal reaches a task. SIGKILL has no signal-delivery-stop: strace prints no line for it. Another fatal
   * signal ends the call in progress with `= ? ERESTART...` and is printed; a handled one is printed.
   */
  #signal(task: Task, sig: number, action: 'kill' | 'interrupt' | 'restart' | 'pending', time: number): void {
    if (action === 'pending' || (action === 'kill' && sig === SIGKILL)) return;
    const name = SIGNAL_NAMES[sig] ?? String(sig);
    const key = `${task.pid}:${sig}`;
    const sender = this.#senders.get(key) ?? 0;
    this.#senders.delete(key);
    const text = `--- ${name} {si_signo=${name}, si_code=SI_USER, si_pid=${sender}, si_uid=0} ---`;
    this.#lastSignal.set(task, text);
    const p = this.#pending.get(task);
    if (p) this.onCall?.(task, `${p.head}) = ? ${RESTART[p.name] ?? RESTART_DEFAULT}`);
    this.#later(task, () => {
      if (p && this.#pending.get(task) === p) this.#interrupted(task, p, action, time);
      this.#line(task, time, text);
    });
  }

  /**
   * A signal interrupts the call `p`: it ends with `= ? ERESTART...`; then the task dies (fatal signal), its
   * handler runs and rt_sigreturn returns -EINTR (`interrupt`), or the call starts again (`restart`).
   */
  #interrupted(task: Task, p: Pending, action: 'kill' | 'interrupt' | 'restart', time: number): void {
    this.#pending.delete(task);
    this.#flushUnfinished(task);
    const body = p.printedUnfinished ? `<... ${p.name} resumed>)` : `${p.head})`;
    this.#resultLine(
      task,
      p.printedUnfinished ? time : p.enterTime,
      body,
      `= ? ${RESTART[p.name] ?? RESTART_DEFAULT}`,
    );
    if (action === 'interrupt') this.#sigreturn.add(task);
    else if (action === 'restart')
      this.#pending.set(task, { ...p, enterTime: time, printedUnfinished: false });
  }

  /** The task is gone: the call it died in ends with `= ?`, an exit is `exit_group(N) = ?`, then `+++`. */
  #taskExit(task: Task, x: { code: number | null; signal: number | null; time: number }): void {
    const killed = this.killedIn(task);
    if (killed) this.onCall?.(task, killed);
    this.#later(task, () => this.#printExit(task, x));
  }

  #printExit(task: Task, x: { code: number | null; signal: number | null; time: number }): void {
    const p = this.#pending.get(task);
    if (p) {
      this.#pending.delete(task);
      this.#flushUnfinished(task);
      const unfinished = p.complete ? '' : ' <unfinished ...>';
      if (p.printedUnfinished) this.#resultLine(task, x.time, `<... ${p.name} resumed>${unfinished})`, '= ?');
      else this.#resultLine(task, p.enterTime, `${p.head}${unfinished})`, '= ?');
    }
    if (this.#running === task) this.#release();
    if (x.signal === null) this.#exitGroup(task, x.time);
    this.#line(
      task,
      x.time,
      x.signal !== null
        ? `+++ killed by ${SIGNAL_NAMES[x.signal] ?? x.signal} +++`
        : `+++ exited with ${x.code} +++`,
    );
  }

  /**
   * A program that returns calls `exit_group(N)`: strace prints it at entry, before the kernel closes its files
   * (the kernel's `task:exiting`), with `= ?` since it never returns.
   */
  #exitGroup(task: Task | undefined, time: number): void {
    if (!task?.exit || task.exit.signal !== null || this.#exited.has(task)) return;
    this.#exited.add(task);
    this.#flushUnfinished(task);
    this.#resultLine(task, time, `exit_group(${task.exit.code})`, '= ?');
  }

  #resultNote(task: Task, name: string, args: readonly unknown[], ret: number): string {
    if (name === 'poll' && ret > 0)
      return ` (${this.#pollfds(task, Number(args[0]), Number(args[1]), true)})`;
    if (name === 'poll' && ret === 0) return ' (Timeout)';
    if (name === 'fcntl' && args[1] === F_GETFL && ret >= 0) return ` (flags ${formatOpenFlags(ret)})`;
    if (name === 'fcntl' && args[1] === F_GETFD && ret >= 0) return ret & 1 ? ' (flags FD_CLOEXEC)' : '';
    if (name === 'fcntl' && args[1] === F_GET_SEALS && ret >= 0) return ` (seals ${formatSeals(ret)})`;
    return '';
  }

  /** The part of the argument list strace prints at entry (with the `, ` before what it prints at exit). */
  #argsAtEntry(task: Task, name: string, args: readonly unknown[], entry: unknown): Head {
    const n = (i: number) => Number(args[i]);
    const done = (text: string): Head => ({ text, complete: true });
    switch (name) {
      case 'openat':
        return done(`AT_FDCWD, ${quotePath(String(args[0]))}, ${formatOpenFlags(n(1))}`);
      case 'write':
      case 'pwrite64': {
        const data = task.mm.peek(n(1), Math.min(Math.max(0, n(2)), this.#opts.stringLimit));
        const shown = data ? quoteBytes(data, this.#opts.stringLimit, n(2)) : hexAddr(n(1));
        return done(`${n(0)}, ${shown}, ${n(2)}${name === 'pwrite64' ? `, ${n(3)}` : ''}`);
      }
      case 'ioctl':
        return this.#ioctlHead(args, entry);
      case 'mmap':
        return done(
          `${hexAddr(n(0))}, ${n(1)}, ${formatProt(n(2))}, ${formatMapFlags(n(3))}, ${n(4)}, ${rawHex(n(5))}`,
        );
      case 'munmap':
        return done(`${hexAddr(n(0))}, ${n(1)}`);
      case 'getdents64':
        return { text: `${n(0)}, `, complete: false };
      case 'lseek':
        return done(`${n(0)}, ${n(1)}, ${WHENCE[n(2)] ?? n(2)}`);
      case 'memfd_create':
        return done(`${memfdName(task, args[0])}, ${formatMemfdFlags(n(1))}`);
      case 'execve':
        return done(quotePath(String(args[0])));
      case 'fstat':
        return done(`${n(0)}, ${hexAddr(n(1))}`);
      case 'readlink':
        return { text: `${quotePath(String(args[0]))}, `, complete: false };
      case 'poll': {
        const fds = this.#pollfds(task, n(0), n(1), false);
        return { text: `${fds}, ${n(1)}, ${n(2)}`, complete: false };
      }
      case 'nanosleep': {
        const ns = n(0);
        return {
          text: `CLOCK_REALTIME, 0, {tv_sec=${Math.floor(ns / 1e9)}, tv_nsec=${((ns % 1e9) + 1e9) % 1e9}}, `,
          complete: false,
        };
      }
      case 'fcntl': {
        const arg = n(1) === F_ADD_SEALS ? formatSeals(n(2)) : String(n(2));
        return done(
          `${n(0)}, ${FCNTL_NAMES[n(1)] ?? n(1)}${[F_GETFD, F_GETFL, F_GET_SEALS].includes(n(1)) ? '' : `, ${arg}`}`,
        );
      }
      case 'kill':
        return done(`${n(0)}, ${SIGNAL_NAMES[n(1)] ?? n(1)}`);
      case 'rt_sigaction':
        return done(
          `${SIGNAL_NAMES[n(0)] ?? n(0)}, ${args[1] ? `{sa_flags=${(args[1] as { restart: boolean }).restart ? 'SA_RESTART' : '0'}}` : 'NULL'}`,
        );
      case 'read':
      case 'pread64':
        return { text: `${n(0)}, `, complete: false };
      default:
        return done(args.map((a) => String(a)).join(', '));
    }
  }

  /** The rest of the argument list, known at exit (output buffers). */
  #argsAtExit(task: Task, name: string, args: readonly unknown[], ret: number, entry: unknown): string {
    const n = (i: number) => Number(args[i]);
    switch (name) {
      case 'read':
      case 'pread64': {
        // strace prints the bytes read, `""` at end of file, and the address only when the call failed.
        const data = ret >= 0 ? task.mm.peek(n(1), Math.min(ret, this.#opts.stringLimit)) : null;
        const shown = data ? quoteBytes(data, this.#opts.stringLimit, ret) : hexAddr(n(1));
        return `${shown}, ${n(2)}${name === 'pread64' ? `, ${n(3)}` : ''}`;
      }
      case 'nanosleep':
        return 'NULL';
      case 'getdents64': {
        // strace's default (abbreviated) form: the address and how many entries came back.
        const entries = ret >= 0 ? direntCount(task.mm.peek(n(1), ret)) : null;
        return `${hexAddr(n(1))}${entries === null ? '' : ` /* ${entries} entries */`}, ${n(2)}`;
      }
      case 'readlink': {
        const data = ret >= 0 ? task.mm.peek(n(1), Math.min(ret, this.#opts.stringLimit)) : null;
        return `${data ? quoteBytes(data, this.#opts.stringLimit, ret) : hexAddr(n(1))}, ${n(2)}`;
      }
      case 'ioctl':
        return this.#ioctlTail(task, args, ret, entry);
      default:
        return '';
    }
  }

  #pollfds(task: Task, addr: number, nfds: number, revents: boolean): string {
    const bytes = task.mm.peek(addr, nfds * 8);
    if (!bytes) return hexAddr(addr);
    const dv = new DataView(bytes.buffer);
    const items: string[] = [];
    for (let i = 0; i < nfds; i++) {
      const fd = dv.getInt32(i * 8, true);
      const ev = dv.getUint16(i * 8 + (revents ? 6 : 4), true);
      if (revents && ev === 0) continue;
      items.push(`{fd=${fd}, ${revents ? 'revents' : 'events'}=${formatPollEvents(ev)}}`);
    }
    return `[${items.join(', ')}]`;
  }

  /**
   * How the argument of request `req` is shown: as the ioctl table describes it, or null for its raw value.
   * In strace-6.1 mode, as strace 6.1 decodes it (FIONBIO and friends only).
   */
  #ioctlArg(req: unknown): IoctlArg | null {
    if (this.#opts.compat === 'strace-6.1') return STRACE_61_IOCTLS.get(Number(req) >>> 0)?.arg ?? null;
    const def = ioctlByRequest(Number(req), this.#profile);
    if (def?.arg.kind === 'none') return def.arg;
    return def && def.strace !== 'address' ? def.arg : null;
  }

  #ioctlName(req: number): string {
    if (this.#opts.compat === 'strace-6.1')
      return STRACE_61_IOCTLS.get(req >>> 0)?.name ?? formatIoctlFallback(req);
    return ioctlRequestName(req, this.#profile);
  }

  /** The argument as it is in the task's memory: an int or a decoded struct, or null if unreadable. */
  #peekArg(task: Task, spec: IoctlIntArg | IoctlStructArg, addr: number): unknown {
    if (spec.kind === 'int') {
      const b = task.mm.peek(addr, spec.bytes ?? 4);
      if (!b) return null;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return spec.bytes === 8 ? dv.getBigInt64(0, true) : dv.getInt32(0, true);
    }
    const abi = this.#abi(task);
    const b = task.mm.peek(addr, spec.codec.size(abi));
    return b ? spec.codec.decode(b, abi) : null;
  }

  /** What the kernel will read: decoded at entry, before the call can change it. */
  #ioctlEntry(task: Task, args: readonly unknown[]): unknown {
    const spec = this.#ioctlArg(args[1]);
    const addr = Number(args[2]);
    if (spec?.kind === 'string') {
      const b = task.mm.peek(addr, 64);
      if (!b) return null;
      const end = b.indexOf(0);
      return quoteBytes(b.subarray(0, end < 0 ? 32 : end), 32);
    }
    if ((spec?.kind === 'int' || spec?.kind === 'struct') && spec.dir !== 'out')
      return this.#peekArg(task, spec, addr);
    return null;
  }

  #formatArg(spec: IoctlIntArg | IoctlStructArg, v: unknown): string {
    return spec.kind === 'int' ? String(v) : spec.codec.format(v);
  }

  /**
   * `ioctl(fd, REQUEST, ` and what strace prints at entry: the value read (`{...}`, `[4]`, `"name"`), or the raw
   * argument of a request it does not decode; nothing yet of an output argument.
   */
  #ioctlHead(args: readonly unknown[], entry: unknown): Head {
    const req = Number(args[1]);
    const addr = Number(args[2]);
    const start = `${Number(args[0])}, ${this.#ioctlName(req)}`;
    const spec = this.#ioctlArg(req);
    if (!spec) return { text: `${start}, ${rawHex(addr)}`, complete: true };
    if (spec.kind === 'none') return { text: start, complete: true };
    if (spec.kind === 'string') return { text: `${start}, ${entry ?? hexAddr(addr)}`, complete: true };
    if (spec.dir === 'out') return { text: `${start}, `, complete: false };
    if (entry === null) return { text: `${start}, ${hexAddr(addr)}`, complete: true };
    const before = this.#formatArg(spec, entry);
    if (spec.dir === 'in')
      return { text: `${start}, ${spec.kind === 'int' ? `[${before}]` : before}`, complete: true };
    // In and out: strace prints `[0 => 4]` and `{...} => {...}`; the part after the input comes at exit.
    return { text: `${start}, ${spec.kind === 'int' ? `[${before}` : before}`, complete: false };
  }

  /** What strace prints of the argument at exit: the value written back (`[4]`, ` => {...}`), if any. */
  #ioctlTail(task: Task, args: readonly unknown[], ret: number, entry: unknown): string {
    const spec = this.#ioctlArg(args[1]);
    if (!spec || spec.kind === 'none' || spec.kind === 'string' || spec.dir === 'in') return '';
    const addr = Number(args[2]);
    const value = ret < 0 ? null : this.#peekArg(task, spec, addr);
    const after = value === null ? null : this.#formatArg(spec, value);
    if (spec.dir === 'out')
      return after === null ? hexAddr(addr) : spec.kind === 'int' ? `[${after}]` : after;
    if (entry === null) return '';
    const changed = after !== null && after !== this.#formatArg(spec, entry);
    if (spec.kind === 'int') return changed ? ` => ${after}]` : ']';
    return changed ? ` => ${after}` : '';
  }
}
