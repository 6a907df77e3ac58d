/**
 * The C types of the arguments of every call a simulated program makes (docs/limits.md), and the one check
 * that turns a JavaScript value into what the C ABI would hand the kernel.
 *
 * A JavaScript caller's type error is refused the way Node's `fs` refuses it: a synchronous throw of a
 * `TypeError` with `code: 'ERR_INVALID_ARG_TYPE'` (not a number, a BigInt, a string...) or a `RangeError` with
 * `code: 'ERR_OUT_OF_RANGE'` (NaN, ±Infinity, a fraction, an integer the C type cannot hold), its message
 * naming the call and the argument. Every integer the C type can hold goes to the kernel, which answers a bad
 * one with its errno (`close(-1)` is -EBADF), as C code would see.
 */

import { ANON_MAX_BYTES } from '../kernel/mm.ts';
import { NR_OPEN } from '../kernel/vfs.ts';

export { NR_OPEN };

/** Largest block one `mem.alloc`/`read`/`view` handles: 1 GiB (the process's whole anonymous memory). */
export const MEM_MAX_BYTES = ANON_MAX_BYTES;

/**
 * The kinds of argument. Integer kinds take a JavaScript number that is an integer in the range of the C type
 * as a program would write it:
 * - `int`: C `int` (signal numbers, pids, `whence`, the fcntl command, poll's timeout): -2^31 .. 2^31-1.
 * - `fd`: a file descriptor: the kernel's parameter is `unsigned int`, so both spellings of the 32-bit value,
 *   -2^31 .. 2^32-1, handed on as the signed `int` (`0xffffffff` is -1: -EBADF).
 * - `bits`: a 32-bit flag word or ioctl request, written signed or unsigned (`O_CLOEXEC | ...`, `0xc0046992`):
 *   -2^31 .. 2^32-1, handed on as the unsigned 32-bit value.
 * - `long`, `ptr`, `size`: C `unsigned long`/`long`, pointers, `size_t`: a 64-bit value written signed or
 *   unsigned, -2^63 .. 2^64-1 (a number above 2^53 is the exact integer it holds, as `2 ** 62` is). A negative
 *   pointer or size is the huge unsigned value C would pass, which the kernel refuses with its errno (-EFAULT,
 *   -ENOMEM, -EINVAL).
 * - `off`: `off_t`/`loff_t`, the same range, handed on signed: `2 ** 63` is -2^63, as in C.
 * - `nfds`: poll's `nfds_t` (`unsigned long`), the same range, cut to the kernel's `unsigned int` parameter.
 * - `ns`: a duration in ns (nanosleep's timespec, compute), the same range, signed like `off`: a negative one is
 *   -EINVAL, one past the end of virtual time (2^53-1 ns) never ends (docs/limits.md).
 *
 * Other kinds: `path` (a string, cut at its first NUL as the kernel reads a C string), `name` (a string or a
 * pointer), `handler` (`{ restart: boolean }` or null), `pollfds` (an array of `{ fd, events }`).
 */
export type ArgKind =
  | 'int'
  | 'fd'
  | 'bits'
  | 'long'
  | 'ptr'
  | 'size'
  | 'off'
  | 'nfds'
  | 'ns'
  | 'path'
  | 'name'
  | 'handler'
  | 'pollfds';

/** One argument: its name (as the man page spells it) and kind; `optional` ones default to 0. */
export interface ArgSpec {
  readonly name: string;
  readonly kind: ArgKind;
  readonly optional?: boolean;
}

const a = (name: string, kind: ArgKind, optional = false): ArgSpec =>
  optional ? { name, kind, optional } : { name, kind };

/** The argument kinds of every call of the simulated process API (`Sys`), in order. */
export const SYSCALL_ARGS = {
  open: [a('pathname', 'path'), a('flags', 'bits')],
  close: [a('fd', 'fd')],
  dup: [a('oldfd', 'fd')],
  dup2: [a('oldfd', 'fd'), a('newfd', 'fd')],
  dup3: [a('oldfd', 'fd'), a('newfd', 'fd'), a('flags', 'bits')],
  read: [a('fd', 'fd'), a('buf', 'ptr'), a('count', 'size')],
  write: [a('fd', 'fd'), a('buf', 'ptr'), a('count', 'size')],
  pread: [a('fd', 'fd'), a('buf', 'ptr'), a('count', 'size'), a('offset', 'off')],
  pwrite: [a('fd', 'fd'), a('buf', 'ptr'), a('count', 'size'), a('offset', 'off')],
  lseek: [a('fd', 'fd'), a('offset', 'off'), a('whence', 'int')],
  fcntl: [a('fd', 'fd'), a('cmd', 'int'), a('arg', 'long', true)],
  ioctl: [a('fd', 'fd'), a('request', 'bits'), a('arg', 'long')],
  getdents64: [a('fd', 'fd'), a('dirp', 'ptr'), a('count', 'size')],
  mmap: [
    a('addr', 'ptr'),
    a('length', 'size'),
    a('prot', 'bits'),
    a('flags', 'bits'),
    a('fd', 'fd'),
    a('offset', 'off'),
  ],
  munmap: [a('addr', 'ptr'), a('length', 'size')],
  poll: [a('fds', 'ptr'), a('nfds', 'nfds'), a('timeout', 'int')],
  pollfds: [a('fds', 'pollfds'), a('timeout', 'int')],
  nanosleep: [a('ns', 'ns')],
  memfd_create: [a('name', 'name'), a('flags', 'bits')],
  ftruncate: [a('fd', 'fd'), a('length', 'off')],
  kill: [a('pid', 'int'), a('sig', 'int')],
  sigaction: [a('sig', 'int'), a('handler', 'handler')],
  getpid: [],
  pidfd_open: [a('pid', 'int'), a('flags', 'bits')],
  pidfd_getfd: [a('pidfd', 'fd'), a('targetfd', 'fd'), a('flags', 'bits')],
  fstat: [a('fd', 'fd'), a('statbuf', 'ptr')],
  readlink: [a('pathname', 'path'), a('buf', 'ptr'), a('bufsiz', 'int')],
  pause: [],
  compute: [a('ns', 'ns')],
} as const satisfies Record<string, readonly ArgSpec[]>;

/** A call of the process API that takes checked arguments. */
export type SysCallName = keyof typeof SYSCALL_ARGS;

/** An error of the caller, as Node's `fs` throws them: `code` says which. */
export type ArgError = (TypeError | RangeError | Error) & { code: string };

/** Builds an error carrying a Node-style `code`. */
export function codedError<E extends Error>(e: E, code: string): E & { code: string } {
  return Object.assign(e, { code });
}

/** How Node's errors show the value they refuse. */
function received(v: unknown): string {
  if (v === null || v === undefined) return `Received ${v}`;
  if (typeof v === 'function') return `Received function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return `Received an instance of ${v.constructor?.name ?? 'Object'}`;
  if (typeof v === 'bigint') return `Received type bigint (${v}n)`;
  if (typeof v === 'symbol') return `Received type symbol (${String(v)})`;
  if (typeof v === 'string')
    return `Received type string (${JSON.stringify(v.length > 28 ? `${v.slice(0, 25)}...` : v)})`;
  return `Received type ${typeof v} (${String(v)})`;
}

function showNumber(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/** `ERR_INVALID_ARG_TYPE`: the value is not of a type the argument takes. */
export function invalidArgType(call: string, name: string, expected: string, v: unknown): ArgError {
  return codedError(
    new TypeError(`${call}(): The "${name}" argument must be ${expected}. ${received(v)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

/** `ERR_OUT_OF_RANGE`: a number the argument cannot take. */
export function outOfRange(call: string, name: string, range: string, v: number | string): ArgError {
  return codedError(
    new RangeError(
      `${call}(): The value of "${name}" is out of range. It must be ${range}. Received ${typeof v === 'number' ? showNumber(v) : v}`,
    ),
    'ERR_OUT_OF_RANGE',
  );
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const UINT_MAX = 2 ** 32 - 1;
const LONG_MIN = -(2 ** 63);
/** The largest number below 2^64 (2^64 - 2048): every integer number of the 64-bit range. */
const ULONG_MAX = 2 ** 64 - 2048;

/**
 * Checks one integer: a number, an integer, within `[min, max]`; -0 is 0. Throws the Node-style error
 * otherwise.
 */
export function checkInteger(call: string, name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number') throw invalidArgType(call, name, 'of type number', v);
  if (!Number.isInteger(v)) throw outOfRange(call, name, 'an integer', v);
  if (v < min || v > max) throw outOfRange(call, name, `>= ${min} && <= ${max}`, v);
  return v === 0 ? 0 : v;
}

/**
 * Checks one argument of `kind` and returns what the kernel gets. In an ILP32 (`compat`) process C's `long`,
 * pointers, `size_t` and `nfds_t` are 32 bits: `long`, `ptr`, `size` and `nfds` then take -2^31 .. 2^32-1 and
 * hand on the zero-extended 32-bit value, as the compat entry points see a 32-bit register
 * (`compat_ptr()`, `compat_ulong_t`); a JavaScript number outside that range is the caller's error.
 */
export function checkArg(call: string, spec: ArgSpec, v: unknown, compat = false): unknown {
  const { name, kind } = spec;
  if (v === undefined && spec.optional) return 0;
  if (compat && (kind === 'long' || kind === 'ptr' || kind === 'size' || kind === 'nfds'))
    return checkInteger(call, name, v, INT_MIN, UINT_MAX) >>> 0;
  switch (kind) {
    case 'int':
      return checkInteger(call, name, v, INT_MIN, INT_MAX);
    case 'fd':
      return checkInteger(call, name, v, INT_MIN, UINT_MAX) | 0;
    case 'bits':
      return checkInteger(call, name, v, INT_MIN, UINT_MAX) >>> 0;
    case 'long':
    case 'ptr':
    case 'size':
      return checkInteger(call, name, v, LONG_MIN, ULONG_MAX);
    case 'off':
    case 'ns': {
      const off = checkInteger(call, name, v, LONG_MIN, ULONG_MAX);
      // Exact: a number in [2^63, 2^64) is a multiple of 2048.
      return off >= 2 ** 63 ? off - 2 ** 64 : off;
    }
    case 'nfds':
      return checkInteger(call, name, v, LONG_MIN, ULONG_MAX) >>> 0;
    case 'path':
      return cString(call, name, v);
    case 'name':
      return typeof v === 'number'
        ? checkArg(call, { name, kind: 'ptr' }, v, compat)
        : cString(call, name, v);
    case 'handler':
      if (v === null) return null;
      if (typeof v !== 'object' || typeof (v as { restart?: unknown }).restart !== 'boolean')
        throw invalidArgType(call, name, 'null or an object { restart: boolean }', v);
      return { restart: (v as { restart: boolean }).restart };
    case 'pollfds':
      return checkPollfds(call, name, v);
  }
}

/** A C string as the kernel reads it: up to its first NUL. */
function cString(call: string, name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgType(call, name, 'of type string', v);
  const nul = v.indexOf('\0');
  return nul < 0 ? v : v.slice(0, nul);
}

/** One `struct pollfd` the program described: fd and events as the C struct holds them. */
export interface CheckedPollfd {
  readonly fd: number;
  readonly events: number;
}

/** One int field of a pollfd entry, checked as {@link checkInteger} does; its name is built only for the error. */
function pollfdField(call: string, name: string, i: number, field: string, v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= INT_MIN && v <= UINT_MAX) return v === 0 ? 0 : v;
  return checkInteger(call, `${name}[${i}].${field}`, v, INT_MIN, UINT_MAX);
}

function checkPollfds(call: string, name: string, v: unknown): CheckedPollfd[] {
  if (!Array.isArray(v)) throw invalidArgType(call, name, 'an array of { fd, events }', v);
  // Past RLIMIT_NOFILE the kernel refuses the call (POLL-1) without reading an entry: no need to look.
  if (v.length > NR_OPEN) return v as CheckedPollfd[];
  const out: CheckedPollfd[] = [];
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    if (typeof e !== 'object' || e === null)
      throw invalidArgType(call, `${name}[${i}]`, 'an object { fd, events }', e);
    const { fd, events } = e as { fd?: unknown; events?: unknown };
    out.push({
      fd: pollfdField(call, name, i, 'fd', fd) | 0,
      // `short events`: the C struct keeps the low 16 bits.
      events: pollfdField(call, name, i, 'events', events) & 0xffff,
    });
  }
  return out;
}

/**
 * Checks the arguments of `call` against {@link SYSCALL_ARGS} in place and returns them: each replaced by what
 * the kernel gets (in the 32-bit ABI when `compat`, see {@link checkArg}). Throws the first caller error.
 */
export function checkArgs(call: SysCallName, args: unknown[], compat = false): unknown[] {
  const specs: readonly ArgSpec[] = SYSCALL_ARGS[call];
  for (let i = 0; i < specs.length; i++) args[i] = checkArg(call, specs[i]!, args[i], compat);
  return args;
}
