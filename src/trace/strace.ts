/**
 * An strace-style log of a simulation: one line per syscall with decoded arguments, the raw result as
 * strace prints it (`= -1 EINVAL (Invalid argument)`), simulated timestamps (`-ttt`), `[pid N]` prefixes
 * (`-f`), optional durations (`-T`), and `<unfinished ...>` / `<... resumed>` for calls that block while
 * something else happens. Unlike strace it decodes the IIO, dma-buf, heap and udmabuf structs.
 */

import type { EventEmitter } from 'eventemitter3';
import type { Task } from '../kernel/task.ts';
import type { SimEvents } from '../sim/simulator.ts';
import { errnoName, strerror } from '../uapi/errno.ts';
import { F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL } from '../uapi/fcntl.ts';
import {
  type AbiProfile,
  type IoctlArg,
  type IoctlIntArg,
  type IoctlStructArg,
  ioctlByRequest,
} from '../uapi/ioctls.ts';
import { formatMapFlags, formatOpenFlags, formatProt, ioctlRequestName } from '../uapi/names.ts';
import { formatPollEvents } from '../uapi/poll.ts';
import { SIGNAL_NAMES } from '../uapi/signal.ts';
import type { Abi } from '../uapi/struct.ts';

/** Options of {@link Strace}. */
export interface StraceOptions {
  /** Prefix each line with the simulated time in seconds, ns precision (`-ttt`). Default true. */
  timestamps?: boolean;
  /** Append the time spent in the call, `<0.000021000>` (`-T`). Default false. */
  durations?: boolean;
  /** `[pid N]` prefixes: always, never, or once a second process exists (default). */
  pids?: 'auto' | boolean;
  /** Bytes of read/write data shown before `...` (`-s`, default 32). */
  stringLimit?: number;
}

const FCNTL_NAMES: Record<number, string> = {
  [F_DUPFD]: 'F_DUPFD',
  [F_GETFD]: 'F_GETFD',
  [F_SETFD]: 'F_SETFD',
  [F_GETFL]: 'F_GETFL',
  [F_SETFL]: 'F_SETFL',
  [F_DUPFD_CLOEXEC]: 'F_DUPFD_CLOEXEC',
};

/** Seconds with nanosecond precision, as `-ttt` with ns precision prints them. */
export function formatTime(ns: number): string {
  const s = Math.floor(ns / 1e9);
  return `${s}.${String(ns - s * 1e9).padStart(9, '0')}`;
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

function hexAddr(addr: number): string {
  return addr === 0 ? 'NULL' : `0x${addr.toString(16)}`;
}

/** strace's rendering of a return value: `= 3`, `= 0x7f...` for mmap, `= -1 ENAME (text)`. */
export function formatReturn(name: string, ret: number): string {
  if (ret < 0) return `-1 ${errnoName(-ret) ?? String(-ret)} (${strerror(-ret)})`;
  if (name === 'mmap') return hexAddr(ret);
  return String(ret);
}

interface Pending {
  readonly task: Task;
  readonly name: string;
  readonly head: string;
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
  readonly #off: (() => void)[] = [];
  /** The task whose syscall is executing right now (between entry and exit or sleep), if any. */
  #running: Task | null = null;
  /** Notes raised while that syscall runs: shown after its line, as the call's own effects. */
  #held: string[] = [];
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
    this.#opts = { timestamps: true, durations: false, pids: 'auto', stringLimit: 32, ...options };
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
    on('task:signal', (e) => {
      if (e.action === 'pending') return;
      this.#line(
        e.task,
        e.time,
        `--- ${SIGNAL_NAMES[e.signal] ?? e.signal} {si_signo=${SIGNAL_NAMES[e.signal] ?? e.signal}} ---`,
      );
    });
    on('task:exit', (e) => {
      const x = e.exit;
      const text =
        x.signal !== null
          ? `+++ killed by ${SIGNAL_NAMES[x.signal] ?? x.signal} +++`
          : `+++ exited with ${x.code} +++`;
      this.#line(e.task, x.time, text);
    });
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

  /** Writes a line that is not a syscall (a hardware event, a note) in the log's format, at time `time`. */
  note(time: number, text: string): void {
    const line = `${this.#opts.timestamps ? `${formatTime(time)} ` : ''}${text}`;
    if (this.#running) {
      this.#held.push(line);
      return;
    }
    this.#flushUnfinished(null);
    this.#sink(line);
  }

  /** The running syscall finished or went to sleep: notes it raised are written now. */
  #release(): void {
    this.#running = null;
    const held = this.#held.splice(0);
    if (held.length === 0) return;
    this.#flushUnfinished(null);
    for (const l of held) this.#sink(l);
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

  #enter(task: Task, name: string, args: readonly unknown[], time: number): void {
    this.#pids.add(task.pid);
    const entry = name === 'ioctl' ? this.#ioctlEntry(task, args) : null;
    const head = `${name}(${this.#argsAtEntry(task, name, args)}`;
    this.#pending.set(task, { task, name, head, enterTime: time, entry, printedUnfinished: false });
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
    const tail = this.#argsAtExit(task, name, args, ret, p?.entry ?? null);
    const dur = this.#opts.durations ? ` <${formatTime(returnTime - enterTime)}>` : '';
    const result = `= ${formatReturn(name, ret)}${this.#resultNote(task, name, args, ret)}${dur}`;
    this.onCall?.(task, `${p?.head ?? `${name}(`}${tail}) ${result}`);
    this.#flushUnfinished(task);
    if (p?.printedUnfinished) {
      this.#sink(`${this.#prefix(task, returnTime)}<... ${name} resumed>${tail}) ${result}`);
    } else {
      const head = p?.head ?? `${name}(`;
      this.#sink(`${this.#prefix(task, enterTime)}${head}${tail}) ${result}`);
    }
    if (this.#running === task) this.#release();
  }

  #resultNote(task: Task, name: string, args: readonly unknown[], ret: number): string {
    if (name === 'poll' && ret > 0)
      return ` (${this.#pollfds(task, Number(args[0]), Number(args[1]), true)})`;
    if (name === 'poll' && ret === 0) return ' (Timeout)';
    if (name === 'fcntl' && args[1] === F_GETFL && ret >= 0) return ` (flags ${formatOpenFlags(ret)})`;
    if (name === 'fcntl' && args[1] === F_GETFD && ret >= 0) return ret & 1 ? ' (flags FD_CLOEXEC)' : '';
    return '';
  }

  /** The part of the argument list known at entry. */
  #argsAtEntry(task: Task, name: string, args: readonly unknown[]): string {
    const n = (i: number) => Number(args[i]);
    switch (name) {
      case 'openat':
        return `AT_FDCWD, ${JSON.stringify(String(args[0]))}, ${formatOpenFlags(n(1))}`;
      case 'write':
      case 'pwrite64': {
        const data = task.mm.peek(n(1), Math.min(Math.max(0, n(2)), this.#opts.stringLimit));
        const shown = data ? quoteBytes(data, this.#opts.stringLimit, n(2)) : hexAddr(n(1));
        return `${n(0)}, ${shown}, ${n(2)}${name === 'pwrite64' ? `, ${n(3)}` : ''}`;
      }
      case 'ioctl':
        return `${n(0)}, ${ioctlRequestName(n(1), this.#profile)}`;
      case 'mmap':
        return `${hexAddr(n(0))}, ${n(1)}, ${formatProt(n(2))}, ${formatMapFlags(n(3))}, ${n(4)}, ${n(5)}`;
      case 'munmap':
        return `${hexAddr(n(0))}, ${n(1)}`;
      case 'poll': {
        const fds = this.#pollfds(task, n(0), n(1), false);
        return `${fds}, ${n(1)}, ${n(2)}`;
      }
      case 'nanosleep': {
        const ns = n(0);
        return `{tv_sec=${Math.floor(ns / 1e9)}, tv_nsec=${ns % 1e9}}, NULL`;
      }
      case 'fcntl':
        return `${n(0)}, ${FCNTL_NAMES[n(1)] ?? n(1)}${[F_GETFD, F_GETFL].includes(n(1)) ? '' : `, ${n(2)}`}`;
      case 'kill':
        return `${n(0)}, ${SIGNAL_NAMES[n(1)] ?? n(1)}`;
      case 'rt_sigaction':
        return `${SIGNAL_NAMES[n(0)] ?? n(0)}, ${args[1] ? `{sa_flags=${(args[1] as { restart: boolean }).restart ? 'SA_RESTART' : '0'}}` : 'NULL'}`;
      case 'read':
      case 'pread64':
        return `${n(0)}`;
      default:
        return args.map((a) => String(a)).join(', ');
    }
  }

  /** The rest of the argument list, known at exit (output buffers). */
  #argsAtExit(task: Task, name: string, args: readonly unknown[], ret: number, entry: unknown): string {
    const n = (i: number) => Number(args[i]);
    switch (name) {
      case 'read':
      case 'pread64': {
        const shown =
          ret > 0
            ? (() => {
                const data = task.mm.peek(n(1), Math.min(ret, this.#opts.stringLimit));
                return data ? quoteBytes(data, this.#opts.stringLimit, ret) : hexAddr(n(1));
              })()
            : hexAddr(n(1));
        return `, ${shown}, ${n(2)}${name === 'pread64' ? `, ${n(3)}` : ''}`;
      }
      case 'ioctl':
        return this.#ioctlExit(task, args, ret, entry);
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

  /** How the argument of request `req` is shown: as the ioctl table describes it, or null for its address. */
  #ioctlArg(req: unknown): IoctlArg | null {
    const def = ioctlByRequest(Number(req), this.#profile);
    return def && def.strace !== 'address' ? def.arg : null;
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

  /** The argument as strace shows it at exit: the value read at entry, then `=> value written back`. */
  #ioctlExit(task: Task, args: readonly unknown[], ret: number, entry: unknown): string {
    const spec = this.#ioctlArg(args[1]);
    const addr = Number(args[2]);
    if (!spec) return `, ${hexAddr(addr)}`;
    if (spec.kind === 'none') return '';
    if (spec.kind === 'string') return `, ${entry ?? hexAddr(addr)}`;
    const format = (v: unknown) => (spec.kind === 'int' ? String(v) : spec.codec.format(v));
    // strace brackets a pointed-to int: `[4]`, `[0 => 4]`.
    const shown = (v: string) => (spec.kind === 'int' ? `[${v}]` : v);
    const before = entry === null ? null : format(entry);
    if (spec.dir === 'in') return `, ${before === null ? hexAddr(addr) : shown(before)}`;
    const value = ret < 0 ? null : this.#peekArg(task, spec, addr);
    const after = value === null ? null : format(value);
    if (spec.dir === 'out') return `, ${after === null ? hexAddr(addr) : shown(after)}`;
    if (before === null) return `, ${hexAddr(addr)}`;
    if (after === null || after === before) return `, ${shown(before)}`;
    return spec.kind === 'int' ? `, [${before} => ${after}]` : `, ${before} => ${after}`;
  }
}
