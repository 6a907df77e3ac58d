/**
 * errno values (asm-generic numbering, as on x86 and arm) and glibc's messages for them. Rulebook §1.1.
 *
 * The simulator's syscalls return `-EXXX` directly; libc would return -1 and set `errno`.
 *
 * @packageDocumentation
 */

/** `EPERM` (1): Operation not permitted. */
export const EPERM = 1;
/** `ENOENT` (2): No such file or directory. */
export const ENOENT = 2;
/** `ESRCH` (3): No such process. */
export const ESRCH = 3;
/** `EINTR` (4): Interrupted system call. */
export const EINTR = 4;
/** `EIO` (5): Input/output error. */
export const EIO = 5;
/** `ENXIO` (6): No such device or address. */
export const ENXIO = 6;
/** `E2BIG` (7): Argument list too long. */
export const E2BIG = 7;
/** `ENOEXEC` (8): Exec format error. */
export const ENOEXEC = 8;
/** `EBADF` (9): Bad file descriptor. */
export const EBADF = 9;
/** `ECHILD` (10): No child processes. */
export const ECHILD = 10;
/** `EAGAIN` (11): Resource temporarily unavailable. */
export const EAGAIN = 11;
/** `ENOMEM` (12): Cannot allocate memory. */
export const ENOMEM = 12;
/** `EACCES` (13): Permission denied. */
export const EACCES = 13;
/** `EFAULT` (14): Bad address. */
export const EFAULT = 14;
/** `ENOTBLK` (15): Block device required. */
export const ENOTBLK = 15;
/** `EBUSY` (16): Device or resource busy. */
export const EBUSY = 16;
/** `EEXIST` (17): File exists. */
export const EEXIST = 17;
/** `EXDEV` (18): Invalid cross-device link. */
export const EXDEV = 18;
/** `ENODEV` (19): No such device. */
export const ENODEV = 19;
/** `ENOTDIR` (20): Not a directory. */
export const ENOTDIR = 20;
/** `EISDIR` (21): Is a directory. */
export const EISDIR = 21;
/** `EINVAL` (22): Invalid argument. */
export const EINVAL = 22;
/** `ENFILE` (23): Too many open files in system. */
export const ENFILE = 23;
/** `EMFILE` (24): Too many open files. */
export const EMFILE = 24;
/** `ENOTTY` (25): Inappropriate ioctl for device. */
export const ENOTTY = 25;
/** `ETXTBSY` (26): Text file busy. */
export const ETXTBSY = 26;
/** `EFBIG` (27): File too large. */
export const EFBIG = 27;
/** `ENOSPC` (28): No space left on device. */
export const ENOSPC = 28;
/** `ESPIPE` (29): Illegal seek. */
export const ESPIPE = 29;
/** `EROFS` (30): Read-only file system. */
export const EROFS = 30;
/** `EMLINK` (31): Too many links. */
export const EMLINK = 31;
/** `EPIPE` (32): Broken pipe. */
export const EPIPE = 32;
/** `EDOM` (33): Numerical argument out of domain. */
export const EDOM = 33;
/** `ERANGE` (34): Numerical result out of range. */
export const ERANGE = 34;
/** `EDEADLK` (35): Resource deadlock avoided. */
export const EDEADLK = 35;
/** `ENAMETOOLONG` (36): File name too long. */
export const ENAMETOOLONG = 36;
/** `ENOSYS` (38): Function not implemented. */
export const ENOSYS = 38;
/** `EOVERFLOW` (75): Value too large for defined data type. */
export const EOVERFLOW = 75;
/** `EBADFD` (77): File descriptor in bad state. */
export const EBADFD = 77;
/** `EOPNOTSUPP` (95): Operation not supported. */
export const EOPNOTSUPP = 95;
/** `ETIMEDOUT` (110): Connection timed out. */
export const ETIMEDOUT = 110;
/** `ERESTARTSYS` (512), kernel-internal, never seen by a program: restart the call if the signal handler has SA_RESTART, else return -EINTR (SIG-1). */
export const ERESTARTSYS = 512;
/** `ERESTARTNOHAND` (514), kernel-internal, never seen by a program: restart the call if no signal handler ran, else return -EINTR. */
export const ERESTARTNOHAND = 514;
/** `ENOIOCTLCMD` (515), kernel-internal, never seen by a program: an ioctl handler does not know the command; the VFS turns it into -ENOTTY (IOC-7). */
export const ENOIOCTLCMD = 515;

/** Alias of {@link EAGAIN} (same number; {@link errnoName} reports `EAGAIN`). */
export const EWOULDBLOCK = EAGAIN;
/** Alias of {@link EDEADLK} (same number; {@link errnoName} reports `EDEADLK`). */
export const EDEADLOCK = EDEADLK;
/** glibc's alias of {@link EOPNOTSUPP} (same number; {@link errnoName} reports `EOPNOTSUPP`). */
export const ENOTSUP = EOPNOTSUPP;

/** Every errno name this module defines (aliases excluded). */
export type ErrnoName =
  | 'EPERM'
  | 'ENOENT'
  | 'ESRCH'
  | 'EINTR'
  | 'EIO'
  | 'ENXIO'
  | 'E2BIG'
  | 'ENOEXEC'
  | 'EBADF'
  | 'ECHILD'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'EACCES'
  | 'EFAULT'
  | 'ENOTBLK'
  | 'EBUSY'
  | 'EEXIST'
  | 'EXDEV'
  | 'ENODEV'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'ENFILE'
  | 'EMFILE'
  | 'ENOTTY'
  | 'ETXTBSY'
  | 'EFBIG'
  | 'ENOSPC'
  | 'ESPIPE'
  | 'EROFS'
  | 'EMLINK'
  | 'EPIPE'
  | 'EDOM'
  | 'ERANGE'
  | 'EDEADLK'
  | 'ENAMETOOLONG'
  | 'ENOSYS'
  | 'EOVERFLOW'
  | 'EBADFD'
  | 'EOPNOTSUPP'
  | 'ETIMEDOUT'
  | 'ERESTARTSYS'
  | 'ERESTARTNOHAND'
  | 'ENOIOCTLCMD';

/** Kernel-internal errno names (>= 512): glibc has no message for them. */
export type KernelInternalErrnoName = 'ERESTARTSYS' | 'ERESTARTNOHAND' | 'ENOIOCTLCMD';

/** Name to number, complete over {@link ErrnoName}. */
export const ERRNO = {
  EPERM,
  ENOENT,
  ESRCH,
  EINTR,
  EIO,
  ENXIO,
  E2BIG,
  ENOEXEC,
  EBADF,
  ECHILD,
  EAGAIN,
  ENOMEM,
  EACCES,
  EFAULT,
  ENOTBLK,
  EBUSY,
  EEXIST,
  EXDEV,
  ENODEV,
  ENOTDIR,
  EISDIR,
  EINVAL,
  ENFILE,
  EMFILE,
  ENOTTY,
  ETXTBSY,
  EFBIG,
  ENOSPC,
  ESPIPE,
  EROFS,
  EMLINK,
  EPIPE,
  EDOM,
  ERANGE,
  EDEADLK,
  ENAMETOOLONG,
  ENOSYS,
  EOVERFLOW,
  EBADFD,
  EOPNOTSUPP,
  ETIMEDOUT,
  ERESTARTSYS,
  ERESTARTNOHAND,
  ENOIOCTLCMD,
} as const satisfies Record<ErrnoName, number>;

const MESSAGES = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  ENOEXEC: 'Exec format error',
  EBADF: 'Bad file descriptor',
  ECHILD: 'No child processes',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  ENOTBLK: 'Block device required',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ENOTTY: 'Inappropriate ioctl for device',
  ETXTBSY: 'Text file busy',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  EMLINK: 'Too many links',
  EPIPE: 'Broken pipe',
  EDOM: 'Numerical argument out of domain',
  ERANGE: 'Numerical result out of range',
  EDEADLK: 'Resource deadlock avoided',
  ENAMETOOLONG: 'File name too long',
  ENOSYS: 'Function not implemented',
  EOVERFLOW: 'Value too large for defined data type',
  EBADFD: 'File descriptor in bad state',
  EOPNOTSUPP: 'Operation not supported',
  ETIMEDOUT: 'Connection timed out',
} as const satisfies Record<Exclude<ErrnoName, KernelInternalErrnoName>, string>;

const NAME_BY_NUMBER: ReadonlyMap<number, ErrnoName> = new Map(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, n]) => [n, name]),
);

const MESSAGE_BY_NUMBER: ReadonlyMap<number, string> = new Map(
  (Object.entries(MESSAGES) as [ErrnoName, string][]).map(([name, text]) => [ERRNO[name], text]),
);

/** The name of a positive errno number (`errnoName(22)` is `'EINVAL'`), or `undefined` if this module lacks it. */
export function errnoName(n: number): ErrnoName | undefined {
  return NAME_BY_NUMBER.get(n);
}

/** The number of an errno name (`errnoFromName('EINVAL')` is 22), or `undefined` for an unknown name. */
export function errnoFromName(name: string): number | undefined {
  return Object.hasOwn(ERRNO, name) ? ERRNO[name as ErrnoName] : undefined;
}

/**
 * glibc's `strerror()` text: `'Invalid argument'` for 22, `'Success'` for 0, and `'Unknown error N'` for any number
 * glibc has no message for (including the kernel-internal 512, 514, 515 and negative numbers).
 */
export function strerror(n: number): string {
  if (n === 0) return 'Success';
  return MESSAGE_BY_NUMBER.get(n) ?? `Unknown error ${n}`;
}
