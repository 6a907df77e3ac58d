/**
 * Process file descriptors (kernel/pid.c, fs/pidfs.c): `pidfd_open()` makes an fd that names a process, and
 * `pidfd_getfd()` copies an open file out of that process's fd table into the caller's, the way a debugger
 * or a supervisor takes a descriptor from another process without its cooperation.
 */
import { EBADF, EINVAL, ESRCH } from '../uapi/errno.ts';
import { O_RDWR, PIDFD_NONBLOCK, PIDFD_THREAD } from '../uapi/fcntl.ts';
import type { Census } from './kref.ts';
import type { Task } from './task.ts';
import { anonInodeGetfile, type File, type FileOperations } from './vfs.ts';

/** The pidfd's file operations (`pidfs_file_operations`): nothing the simulator's processes use beyond identity. */
const pidfdFops: FileOperations = {};

/** What the pidfd syscalls need from the kernel. */
export interface PidfdDeps {
  readonly census: Census;
  readonly findTask: (pid: number) => Task | undefined;
}

/** `pidfd_pid()`: the task a pidfd names, or null when `file` is not a pidfd. */
function pidfdTask(file: File): Task | null {
  return file.fops === pidfdFops ? (file.privateData as Task) : null;
}

/**
 * `pidfd_open(pid, flags)` (kernel/pid.c): flags other than PIDFD_NONBLOCK and PIDFD_THREAD are -EINVAL, as is
 * a pid <= 0; a pid no live process has is -ESRCH. The new fd is the lowest free one, O_CLOEXEC
 * (`pidfd_create()`), on a file opened O_RDWR plus the O_NONBLOCK asked for.
 */
export function pidfdOpen(deps: PidfdDeps, task: Task, pid: number, flags: number): number {
  if ((flags & ~(PIDFD_NONBLOCK | PIDFD_THREAD)) !== 0) return -EINVAL;
  if (pid <= 0) return -EINVAL;
  const target = deps.findTask(pid);
  if (!target?.alive) return -ESRCH;
  const fd = task.files.allocFd();
  if (fd < 0) return fd;
  const file = anonInodeGetfile(deps.census, '[pidfd]', pidfdFops, target, O_RDWR | (flags & PIDFD_NONBLOCK));
  task.files.install(fd, file, true);
  return fd;
}

/**
 * `pidfd_getfd(pidfd, targetfd, flags)` (kernel/pid.c): any flag is -EINVAL; a `pidfd` that is not open, or
 * not a pidfd, is -EBADF; a process that has exited is -ESRCH (`__pidfd_fget()` on an exiting task); a
 * `targetfd` it does not have open is -EBADF. Otherwise the caller gets the lowest free fd, O_CLOEXEC,
 * sharing the target's open file (`receive_fd()`): offset, status flags and all.
 */
export function pidfdGetfd(task: Task, pidfd: number, targetfd: number, flags: number): number {
  if (flags !== 0) return -EINVAL;
  const f = task.files.file(pidfd);
  if (!f) return -EBADF;
  const target = pidfdTask(f);
  if (!target) return -EBADF;
  if (!target.alive) return -ESRCH;
  const file = target.files.file(targetfd);
  if (!file) return -EBADF;
  const fd = task.files.allocFd();
  if (fd < 0) return fd;
  task.files.install(fd, file.get(), true);
  return fd;
}
