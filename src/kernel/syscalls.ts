/**
 * The syscall layer: checks the fd, copies arguments from user memory, applies the VFS's generic rules and
 * defaults, and delegates to the file's operations. Each function returns the raw kernel result (>= 0 or a
 * negative errno) or a {@link Sleep}. Rule IDs refer to ../shared/reference/kernel-semantics.md §2.
 */
import {
  EACCES,
  EBADF,
  ECHILD,
  EEXIST,
  EFAULT,
  EINTR,
  EINVAL,
  EISDIR,
  ENAMETOOLONG,
  ENODEV,
  ENOENT,
  ENOIOCTLCMD,
  ENOMEM,
  ENOTDIR,
  ENOTTY,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
  ERESTARTNOHAND,
  ERESTARTSYS,
  ESPIPE,
  ESRCH,
} from '../uapi/errno.ts';
import {
  __O_SYNC,
  __O_TMPFILE,
  F_ADD_SEALS,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GET_SEALS,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FASYNC,
  FD_CLOEXEC,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_DSYNC,
  O_EMPTYPATH,
  O_EXCL,
  O_LARGEFILE,
  O_NOATIME,
  O_NOCTTY,
  O_NONBLOCK,
  O_PATH,
  O_PATH_FLAGS,
  O_RDONLY,
  O_TRUNC,
  VALID_OPEN_FLAGS,
} from '../uapi/fcntl.ts';
import { FIOASYNC, FIOCLEX, FIONBIO, FIONCLEX, FIONREAD, FIOQSIZE } from '../uapi/ioctl.ts';
import {
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_WRITE,
} from '../uapi/mman.ts';
import { DEFAULT_POLLMASK, POLLERR, POLLHUP, POLLNVAL } from '../uapi/poll.ts';
import type { Census } from './kref.ts';
import { pageAlign, type VmaOwner } from './mm.ts';
import type { PagePool } from './pages.ts';
import { pidfdGetfd, pidfdOpen } from './pid.ts';
import type { Sched } from './sched.ts';
import { memfdAddSeals, memfdCreate, memfdGetSeals, shmemOf, shmemTmpfile, shmemTruncate } from './shmem.ts';
import { fstat, readlink } from './stat.ts';
import type { Task } from './task.ts';
import { getUserInt, putUserInt } from './uaccess.ts';
import {
  File,
  type InodeKind,
  PATH_MAX,
  type PathTree,
  type PollTable,
  utf8Length,
  type VmaRequest,
} from './vfs.ts';
import { type SleepOptions, type SysRet, sleepOn, type WaitQueue } from './wait.ts';

/** The sleep of every `pause()`: it holds nothing of the call (no queue, no state), so one serves all. */
const PAUSE = sleepOn([], 'pause', () => -EINTR, { signalRet: -ERESTARTNOHAND });

/** Largest count read/write pass to a driver (MAX_RW_COUNT, rule RW-5). */
export const MAX_RW_COUNT = 0x7ffff000;

/** Flags `mmap` accepts under MAP_SHARED_VALIDATE (LEGACY_MAP_MASK plus the validated ones we know). */
const MAP_VALIDATE_KNOWN =
  0x3 |
  0x10 |
  0x20 |
  0x100 |
  0x800 |
  0x1000 |
  0x2000 |
  0x4000 |
  0x8000 |
  0x10000 |
  0x20000 |
  0x40000 |
  0x100000;

/** Status flags F_SETFL may change (SETFL_MASK, rule FD-11). */
const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

/** `d_type` of each inode kind (`DT_DIR`, `DT_CHR`, `DT_REG`; anonymous inodes never appear in a directory). */
const DT_DIR = 4;
const DIRENT_TYPE: Readonly<Record<InodeKind, number>> = {
  dir: DT_DIR,
  chr: 2,
  reg: 8,
  attr: 8,
  anon: 0,
};

/** What the syscall layer needs from the kernel. */
export interface SyscallDeps {
  readonly paths: PathTree;
  readonly census: Census;
  readonly sched: Sched;
  readonly now: () => number;
  readonly findTask: (pid: number) => Task | undefined;
  /** Memory for memfds. */
  readonly pages: PagePool;
}

/**
 * The open file's `f_flags` from the open flags: f_flags never keeps the open-time-only bits, and a 64-bit
 * open forces O_LARGEFILE (FD-10 / COMPAT-5) at the syscall's entry, before build_open_how() cuts an O_PATH
 * open down to O_PATH_FLAGS, which drop it again (FD-10 in docs/quirks.md).
 */
function openFileFlags(task: Task, flags: number): number {
  const fflags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
  return !task.compat && !(flags & O_PATH) ? fflags | O_LARGEFILE : fflags;
}

/**
 * The syscalls of one kernel, each taking the calling task first and returning what the kernel's entry
 * point returns (or a `Sleep` the scheduler turns into blocking).
 */
export class Syscalls {
  readonly #deps: SyscallDeps;

  constructor(deps: SyscallDeps) {
    this.#deps = deps;
  }

  /** `openat(AT_FDCWD, path, flags)`: lookup, the file's open op, then the lowest free fd (FD-1, FD-2). */
  open(task: Task, path: string, flags: number): SysRet {
    // build_open_how() drops unknown bits instead of refusing them, and O_PATH keeps only O_PATH_FLAGS;
    // build_open_flags() checks O_TMPFILE and makes O_SYNC imply O_DSYNC.
    flags = (flags & VALID_OPEN_FLAGS) >>> 0;
    if (flags & O_PATH) flags = (flags & O_PATH_FLAGS) >>> 0;
    // getname(): an empty path is -ENOENT unless O_EMPTYPATH asks for the directory itself; PATH_MAX bytes or
    // more (the NUL included) is -ENAMETOOLONG.
    if (path === '' && !(flags & O_EMPTYPATH)) return -ENOENT;
    if (path.length >= PATH_MAX / 3 && utf8Length(path) >= PATH_MAX) return -ENAMETOOLONG;
    if ((flags & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) return -EINVAL;
    if (flags & __O_TMPFILE && (!(flags & O_DIRECTORY) || (flags & O_ACCMODE) === O_RDONLY)) return -EINVAL;
    if (flags & __O_SYNC) flags |= O_DSYNC;
    // do_sys_openat2 reserves the fd before it looks the path up (FD-2 before ENOENT).
    const fd = task.files.allocFd();
    if (fd < 0) return fd;
    const inode = this.#deps.paths.resolve(path);
    if (inode === -ENOENT) return flags & O_CREAT ? -EACCES : -ENOENT;
    // A path through a file (`name/x`, `name/`) is -ENOTDIR (a correction from the running kernel).
    if (typeof inode === 'number') return inode;
    if (flags & O_CREAT && flags & O_EXCL) return -EEXIST;
    // do_open()/do_tmpfile(): O_DIRECTORY (O_TMPFILE includes it) needs a directory; sysfs has no ->tmpfile
    // op, the tmpfs of /dev and / does.
    if (flags & O_DIRECTORY && inode.kind !== 'dir') return -ENOTDIR;
    if (flags & __O_TMPFILE) return this.#tmpfile(task, fd, normalize(path), flags);
    // may_open(): a directory refuses write access, which O_TRUNC asks for too (not with O_PATH).
    if (inode.kind === 'dir' && !(flags & O_PATH) && ((flags & O_ACCMODE) !== 0 || flags & O_TRUNC))
      return -EISDIR;
    const fflags = openFileFlags(task, flags);
    const file = new File(this.#deps.census, inode, fflags, normalize(path));
    const err = inode.fops.open?.(inode, file, task) ?? 0;
    if (err < 0) {
      file.put();
      return err;
    }
    file.opened = true;
    file.positional = !inode.fops.nonseekable;
    task.files.install(fd, file, (flags & O_CLOEXEC) !== 0);
    return fd;
  }

  /** `do_tmpfile()`: an unnamed shmem file in a tmpfs directory, -EOPNOTSUPP in sysfs (no ->tmpfile). */
  #tmpfile(task: Task, fd: number, dir: string, flags: number): SysRet {
    if (dir === '/sys' || dir.startsWith('/sys/') || dir === '/proc' || dir.startsWith('/proc/'))
      return -EOPNOTSUPP;
    const file = shmemTmpfile(this.#deps, dir === '/' ? '' : dir, openFileFlags(task, flags));
    task.files.install(fd, file, (flags & O_CLOEXEC) !== 0);
    return fd;
  }

  /** `close(fd)` (FD-3, FD-4): the release runs before close returns when this was the last reference. */
  close(task: Task, fd: number): SysRet {
    const e = task.files.remove(fd);
    if (!e) return -EBADF;
    e.file.put();
    return 0;
  }

  /** `dup(old)` (FD-5). */
  dup(task: Task, oldfd: number): SysRet {
    const file = task.files.file(oldfd);
    if (!file) return -EBADF;
    const fd = task.files.allocFd();
    if (fd < 0) return fd;
    task.files.install(fd, file.get(), false);
    return fd;
  }

  /** `dup2(old, new)` (FD-6, FD-7). */
  dup2(task: Task, oldfd: number, newfd: number): SysRet {
    if (oldfd === newfd) return task.files.file(oldfd) ? newfd : -EBADF;
    return this.dup3(task, oldfd, newfd, 0);
  }

  /** `dup3(old, new, flags)` (FD-8). */
  dup3(task: Task, oldfd: number, newfd: number, flags: number): SysRet {
    if ((flags & ~O_CLOEXEC) !== 0) return -EINVAL;
    if (oldfd === newfd) return -EINVAL;
    if (!Number.isInteger(newfd) || newfd < 0 || newfd >= task.files.limit) return -EBADF;
    const file = task.files.file(oldfd);
    if (!file) return -EBADF;
    file.get();
    const old = task.files.remove(newfd);
    task.files.install(newfd, file, (flags & O_CLOEXEC) !== 0);
    old?.file.put();
    return newfd;
  }

  /** `fcntl(fd, cmd, arg)` for the descriptor and status-flag commands (FD-1, FD-9, FD-10, FD-11). */
  fcntl(task: Task, fd: number, cmd: number, arg: number): SysRet {
    const e = task.files.entry(fd);
    if (!e) return -EBADF;
    switch (cmd) {
      case F_DUPFD:
      case F_DUPFD_CLOEXEC: {
        if (arg < 0 || arg >= task.files.limit) return -EINVAL;
        const nfd = task.files.allocFd(arg);
        if (nfd < 0) return nfd;
        task.files.install(nfd, e.file.get(), cmd === F_DUPFD_CLOEXEC);
        return nfd;
      }
      case F_GETFD:
        return e.cloexec ? FD_CLOEXEC : 0;
      case F_SETFD:
        e.cloexec = (arg & FD_CLOEXEC) !== 0;
        return 0;
      case F_GETFL:
        return e.file.flags;
      case F_SETFL:
        // No simulated file supports direct I/O (FMODE_CAN_ODIRECT), so setfl refuses O_DIRECT.
        if (arg & O_DIRECT) return -EINVAL;
        e.file.flags = (e.file.flags & ~SETFL_MASK) | (arg & SETFL_MASK);
        return 0;
      case F_ADD_SEALS:
        return memfdAddSeals(e.file, arg);
      case F_GET_SEALS:
        return memfdGetSeals(e.file);
      default:
        return -EINVAL;
    }
  }

  #rwFile(task: Task, fd: number, write: boolean, buf: number, count: number): File | number {
    const file = task.files.file(fd);
    if (!file) return -EBADF;
    if (write ? !file.canWrite : !file.canRead) return -EBADF;
    if (write ? !file.fops.write : !file.fops.read) return -EINVAL;
    if (count < 0 || !task.mm.accessOk(buf, count)) return -EFAULT;
    return file;
  }

  /** `read(fd, buf, count)` (RW-1..5). */
  read(task: Task, fd: number, buf: number, count: number): SysRet {
    const file = this.#rwFile(task, fd, false, buf, count);
    if (typeof file === 'number') return file;
    return file.fops.read!(file, buf, Math.min(count, MAX_RW_COUNT), task);
  }

  /** `write(fd, buf, count)` (RW-1..5). */
  write(task: Task, fd: number, buf: number, count: number): SysRet {
    const file = this.#rwFile(task, fd, true, buf, count);
    if (typeof file === 'number') return file;
    return file.fops.write!(file, buf, Math.min(count, MAX_RW_COUNT), task);
  }

  /**
   * `pread64` (RW-6): files opened from a path are positional (FMODE_PREAD); anonymous-inode files and
   * nonseekable devices answer -ESPIPE. The read runs at `offset` without moving the file position.
   */
  pread(task: Task, fd: number, buf: number, count: number, offset: number): SysRet {
    return this.#positional(task, fd, false, buf, count, offset);
  }

  /** `pwrite64` (RW-6): as {@link Syscalls.pread}. */
  pwrite(task: Task, fd: number, buf: number, count: number, offset: number): SysRet {
    return this.#positional(task, fd, true, buf, count, offset);
  }

  #positional(task: Task, fd: number, write: boolean, buf: number, count: number, offset: number): SysRet {
    if (offset < 0) return -EINVAL;
    const file = task.files.file(fd);
    if (!file) return -EBADF;
    if (!file.positional) return -ESPIPE;
    const ok = this.#rwFile(task, fd, write, buf, count);
    if (typeof ok === 'number') return ok;
    const op = write ? file.fops.write! : file.fops.read!;
    return this.#atOffset(file, offset, () => op(file, buf, Math.min(count, MAX_RW_COUNT), task));
  }

  /** Runs a read or write op at position `offset`, leaving `f_pos` as it was. */
  #atOffset(file: File, offset: number, op: () => SysRet): SysRet {
    const saved = file.pos;
    file.pos = offset;
    try {
      return op();
    } finally {
      file.pos = saved;
    }
  }

  /** `lseek(fd, offset, whence)`: the file's llseek, or -ESPIPE without one (RW-7, RW-8). */
  lseek(task: Task, fd: number, offset: number, whence: number): SysRet {
    const file = task.files.file(fd);
    if (!file) return -EBADF;
    if (whence < 0 || whence > 4) return -EINVAL;
    if (!file.fops.llseek) return -ESPIPE;
    return file.fops.llseek(file, offset, whence);
  }

  /**
   * `ioctl(fd, cmd, arg)`: the VFS's generic commands first (IOC-2..5), then the file's handler; a missing
   * handler or -ENOIOCTLCMD becomes -ENOTTY (IOC-7). ILP32 tasks go through compat_ioctl (COMPAT-1).
   */
  ioctl(task: Task, fd: number, cmd: number, arg: number): SysRet {
    const e = task.files.entry(fd);
    if (!e) return -EBADF;
    const file = e.file;
    cmd >>>= 0;
    switch (cmd) {
      case FIOCLEX:
        e.cloexec = true;
        return 0;
      case FIONCLEX:
        e.cloexec = false;
        return 0;
      case FIONBIO: {
        const v = getUserInt(task, arg);
        if (v === null) return -EFAULT;
        file.flags = v !== 0 ? file.flags | O_NONBLOCK : file.flags & ~O_NONBLOCK;
        return 0;
      }
      case FIOASYNC: {
        const v = getUserInt(task, arg);
        if (v === null) return -EFAULT;
        const on = v !== 0;
        return on !== ((file.flags & FASYNC) !== 0) ? -ENOTTY : 0;
      }
      case FIOQSIZE: {
        const size = regularSize(file);
        if (size === null) return -ENOTTY;
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigInt64(0, BigInt(shmemOf(file)?.allocatedBytes ?? 0), true);
        return task.mm.copyToUser(arg, b) ? 0 : -EFAULT;
      }
      case FIONREAD: {
        const size = regularSize(file);
        if (size === null) break;
        return putUserInt(task, arg, size - file.pos) ? 0 : -EFAULT;
      }
    }
    const handler = task.compat ? file.fops.compatIoctl : file.fops.unlockedIoctl;
    if (!handler) return -ENOTTY;
    const r = handler(file, cmd, task.compat ? arg >>> 0 : arg, task);
    return r === -ENOIOCTLCMD ? -ENOTTY : r;
  }

  /**
   * `mmap(addr, length, prot, flags, fd, offset)` (MMAP-1..12), in `do_mmap()` order: length, offset
   * overflow, address space, then the file's size limit, map type, access mode and mmap op. The offset is
   * the unsigned 64-bit value of the argument (a negative `off_t` is a huge offset).
   */
  mmap(
    task: Task,
    addr: number,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ): SysRet {
    const off = offset < 0 ? 2n ** 64n + BigInt(offset) : BigInt(offset);
    if (off % BigInt(PAGE_SIZE) !== 0n) return -EINVAL;
    let file: File | undefined;
    if (!(flags & MAP_ANONYMOUS)) {
      file = task.files.file(fd);
      if (!file) return -EBADF;
    }
    if (length === 0) return -EINVAL;
    if (!Number.isSafeInteger(length) || length < 0 || pageAlign(length) > task.mm.taskSize) return -ENOMEM;
    const len = pageAlign(length);
    let start: number;
    if (flags & MAP_FIXED) {
      if (addr % PAGE_SIZE !== 0 || !task.mm.accessOk(addr, len)) return -EINVAL;
      start = addr;
    } else {
      start = task.mm.unmappedArea(len);
      if (start < 0) return -ENOMEM;
    }
    const shared = file ? fileMappingType(file, off, len, flags, prot) : anonMappingType(flags);
    if (typeof shared === 'number') return shared;
    // mmap_region() -> __vm_enough_memory(): more anonymous memory than the machine has is -ENOMEM (MMAP-6;
    // the simulator's limit is ANON_MAX_BYTES per process, docs/limits.md).
    if (!file && !task.mm.anonFits(len)) return -ENOMEM;
    const req: VmaRequest = { start, length: len, prot, shared, offset: Number(off) };
    if (file) {
      const err = file.fops.mmap!(file, req, task);
      if (err < 0) return err;
    } else {
      req.backing = new Uint8Array(len);
      req.backingOffset = 0;
      req.name = 'anon';
    }
    if (flags & MAP_FIXED) task.mm.unmapRange(start, len);
    installMapping(task, req, file);
    return start;
  }

  /** `memfd_create(name, flags)` (MEMFD-1..3). */
  memfdCreate(task: Task, name: string | number, flags: number): SysRet {
    return memfdCreate(this.#deps, task, name, flags >>> 0);
  }

  /** `pidfd_open(pid, flags)` (kernel/pid.c). */
  pidfdOpen(task: Task, pid: number, flags: number): SysRet {
    return pidfdOpen(this.#deps, task, pid, flags >>> 0);
  }

  /** `pidfd_getfd(pidfd, targetfd, flags)` (kernel/pid.c). */
  pidfdGetfd(task: Task, pidfd: number, targetfd: number, flags: number): SysRet {
    return pidfdGetfd(task, pidfd, targetfd, flags >>> 0);
  }

  /** `fstat(fd, statbuf)` (fs/stat.c). */
  fstat(task: Task, fd: number, statbuf: number): SysRet {
    return fstat(task, fd, statbuf);
  }

  /** `readlink(path, buf, bufsiz)` (fs/stat.c): `/proc/self/fd/N` links. */
  readlink(task: Task, path: string, buf: number, bufsiz: number): SysRet {
    return readlink(task, this.#deps.paths, path, buf, bufsiz);
  }

  /** `ftruncate(fd, length)` (TRUNC-1..3). */
  ftruncate(task: Task, fd: number, length: number): SysRet {
    if (length < 0) return -EINVAL;
    const file = task.files.file(fd);
    if (!file) return -EBADF;
    const sh = shmemOf(file);
    if (!sh || !file.canWrite) return -EINVAL;
    return shmemTruncate(sh, length);
  }

  /**
   * `getdents64(fd, dirp, count)`: mirrors `ksys_getdents64()` and `filldir64()` (fs/readdir.c) over
   * `dcache_readdir()`/`kernfs_fop_readdir()`: `.` and `..` first, then the directory's names (sysfs in
   * kernfs's name-hash order, `PathTree.readdirNames()`; other directories in name order here). `f_pos` counts entries; each `struct linux_dirent64` is
   * `{d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name}` padded to 8 bytes. -EBADF for a bad or O_PATH
   * fd, -ENOTDIR for a file that is not a directory, -EINVAL when not even the next entry fits.
   */
  getdents64(task: Task, fd: number, dirp: number, count: number): SysRet {
    const file = task.files.file(fd);
    if (!file || file.flags & O_PATH) return -EBADF;
    if (file.inode.kind !== 'dir') return -ENOTDIR;
    const paths = this.#deps.paths;
    const names = paths.readdirNames(file.path) ?? [];
    const entries: { ino: number; type: number; name: string }[] = [
      { ino: file.inode.ino, type: DT_DIR, name: '.' },
      { ino: paths.lookup(`${file.path}/..`)?.ino ?? file.inode.ino, type: DT_DIR, name: '..' },
    ];
    for (const name of names) {
      const inode = paths.lookup(`${file.path}/${name}`);
      if (inode) entries.push({ ino: inode.ino, type: DIRENT_TYPE[inode.kind], name });
    }
    const out: Uint8Array[] = [];
    let used = 0;
    let pos = file.pos;
    for (; pos < entries.length; pos++) {
      const e = entries[pos]!;
      const name = new TextEncoder().encode(e.name);
      const reclen = (19 + name.length + 1 + 7) & ~7;
      if (used + reclen > count) break;
      const rec = new Uint8Array(reclen);
      const v = new DataView(rec.buffer);
      v.setBigUint64(0, BigInt(e.ino), true);
      v.setBigInt64(8, BigInt(pos + 1), true);
      v.setUint16(16, reclen, true);
      rec[18] = e.type;
      rec.set(name, 19);
      out.push(rec);
      used += reclen;
    }
    if (out.length === 0) return pos < entries.length ? -EINVAL : 0;
    const bytes = new Uint8Array(used);
    let at = 0;
    for (const r of out) {
      bytes.set(r, at);
      at += r.length;
    }
    if (!task.mm.copyToUser(dirp, bytes)) return -EFAULT;
    file.pos = pos;
    return used;
  }

  /** `munmap(addr, length)` (MUNMAP-1..3). */
  munmap(task: Task, addr: number, length: number): SysRet {
    if (addr % PAGE_SIZE !== 0 || length <= 0 || !task.mm.accessOk(addr, pageAlign(length))) return -EINVAL;
    task.mm.unmapRange(addr, pageAlign(length));
    return 0;
  }

  /**
   * `poll(fds, nfds, timeout_ms)` (POLL-1..8): evaluates every entry, sleeps on every queue the files
   * registered until one is woken or the timeout expires, then evaluates again.
   */
  poll(task: Task, ufds: number, nfds: number, timeoutMs: number): SysRet {
    if (nfds < 0 || nfds > task.files.limit) return -EINVAL;
    const bytes = task.mm.copyFromUser(ufds, nfds * 8);
    if (!bytes) return -EFAULT;
    const deadline = timeoutMs < 0 ? null : this.#deps.now() + timeoutMs * 1_000_000;
    return new PollCall(task, bytes, nfds, ufds, deadline, this.#deps).run(false);
  }

  /** `nanosleep`: sleeps `ns` (interruptible: -EINTR when a handled signal arrives). */
  nanosleep(_task: Task, ns: number): SysRet {
    if (!Number.isFinite(ns) || ns < 0) return -EINVAL;
    return sleepOn([], 'nanosleep', () => 0, { timeoutNs: Math.ceil(ns), signalRet: -ERESTARTNOHAND });
  }

  /**
   * `wait4(pid, NULL, options, NULL)` (kernel/exit.c `do_wait()`) for the status-free part: the pid of an
   * exited, not yet reaped child (`pid` > 0: that one; -1: any), which is reaped; -ECHILD when no child
   * matches; with WNOHANG (1) 0 while the matching children run; else the task sleeps (interruptibly) until a
   * child exits. Only what the bridge needs: no process groups, no stopped children.
   */
  wait4(task: Task, pid: number, options: number): SysRet {
    const matching = () => task.children.filter((c) => !c.reaped && (pid === -1 || c.pid === pid));
    const check = (): SysRet => {
      const children = matching();
      if (children.length === 0) return -ECHILD;
      const done = children.find((c) => !c.alive);
      if (done) {
        done.reaped = true;
        return done.pid;
      }
      if (options & 1) return 0;
      return sleepOn([task.childExit], 'wait4', check, { signalRet: -ERESTARTSYS });
    };
    return check();
  }

  /** `pause()`: sleeps until a signal is delivered; returns -EINTR when a handler ran. */
  pause(_task: Task): SysRet {
    return PAUSE;
  }

  /** `kill(pid, sig)`: 0, or -ESRCH when no such live process. Signal 0 only checks. */
  kill(_task: Task, pid: number, sig: number): SysRet {
    const target = this.#deps.findTask(pid);
    if (!target?.alive) return -ESRCH;
    if (sig < 0 || sig > 64) return -EINVAL;
    if (sig !== 0) this.#deps.sched.signal(target, sig);
    return 0;
  }

  /** Installs or removes a handler for `sig` (a reduced `rt_sigaction`): SA_RESTART decides SIG-1. */
  sigaction(task: Task, sig: number, handler: { restart: boolean } | null): SysRet {
    if (sig <= 0 || sig > 64 || sig === 9 || sig === 19) return -EINVAL;
    if (handler) task.handlers.set(sig, handler);
    else task.handlers.delete(sig);
    return 0;
  }
}

/**
 * One poll() call: its `struct pollfd` array (copied in once) and the poll table every pass hands to the
 * files, reset from pass to pass, so that passes after the first allocate nothing.
 */
class PollCall implements PollTable {
  readonly #task: Task;
  /** The `struct pollfd` array, read and written byte by byte (a DataView would give it an ArrayBuffer of its own). */
  readonly #b: Uint8Array;
  readonly #nfds: number;
  /** The queues the files registered in the last pass (the sleep's queues). */
  readonly queues: WaitQueue[] = [];
  /** Locks a file must wait for before it can answer (DPOLL-6). */
  readonly locks: WaitQueue[] = [];
  /** Why files of the last pass are not ready: fd, reason, fd, reason... (texts built only by {@link reason}). */
  readonly #whys: (number | string)[] = [];
  key = 0;
  #fd = 0;
  readonly #ufds: number;
  readonly #deadline: number | null;
  readonly #clock: { now(): number };

  constructor(
    task: Task,
    bytes: Uint8Array,
    nfds: number,
    ufds: number,
    deadline: number | null,
    clock: { now(): number },
  ) {
    this.#task = task;
    this.#b = bytes;
    this.#nfds = nfds;
    this.#ufds = ufds;
    this.#deadline = deadline;
    this.#clock = clock;
  }

  /**
   * One pass and what follows it: the count written back, or a sleep until a queue is woken or the
   * deadline. Closures are anonymous arrows (tsx's keepNames names each named one with a defineProperty).
   */
  run(timedOut: boolean): SysRet {
    const count = this.pass();
    if (this.locks.length > 0)
      return sleepOn(this.locks, `poll: a reservation lock is held (DPOLL-6)`, () => this.run(timedOut), {
        interruptible: false,
      });
    const deadline = this.#deadline;
    if (count > 0 || timedOut || deadline === this.#clock.now()) {
      if (!this.#task.mm.copyToUser(this.#ufds, this.#b)) return -EFAULT;
      return count;
    }
    const options: SleepOptions = {
      timeoutNs: deadline === null ? null : deadline - this.#clock.now(),
      signalRet: -ERESTARTNOHAND,
    };
    // do_sys_poll() writes every revents back even when a signal ends the wait.
    options.onAbort = () => {
      this.#task.mm.copyToUser(this.#ufds, this.#b);
    };
    return sleepOn(
      this.queues,
      () => this.reason(),
      (t) => this.run(t),
      options,
    );
  }

  /** Evaluates every entry (`do_pollfd()`, POLL-3..6), storing each revents; returns how many are ready. */
  pass(): number {
    // Emptied only when they hold something: setting an array's length is a runtime call, and a ready fd
    // registers nothing.
    if (this.queues.length > 0) this.queues.length = 0;
    if (this.locks.length > 0) this.locks.length = 0;
    if (this.#whys.length > 0) this.#whys.length = 0;
    let count = 0;
    const b = this.#b;
    for (let i = 0; i < this.#nfds; i++) {
      const o = i * 8;
      const revents = this.#pollOne(this.#fdAt(i), b[o + 4]! | (b[o + 5]! << 8));
      b[o + 6] = revents;
      b[o + 7] = revents >>> 8;
      if (revents !== 0) count++;
    }
    return count;
  }

  /** Entry i's fd (a little-endian int). */
  #fdAt(i: number): number {
    const b = this.#b;
    const o = i * 8;
    return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
  }

  #pollOne(fd: number, events: number): number {
    if (fd < 0) return 0;
    const file = this.#task.files.file(fd);
    if (!file) return POLLNVAL;
    const key = events | POLLERR | POLLHUP;
    if (!file.fops.poll) return DEFAULT_POLLMASK & key;
    this.key = key;
    this.#fd = fd;
    return file.fops.poll(file, this, this.#task) & key;
  }

  wait(wq: WaitQueue): void {
    if (!this.queues.includes(wq)) this.queues.push(wq);
  }

  blockOn(wq: WaitQueue): void {
    if (!this.locks.includes(wq)) this.locks.push(wq);
  }

  why(reason: string): void {
    this.#whys.push(this.#fd, reason);
  }

  /** Why the call sleeps, for traces and the blocked-forever report. */
  reason(): string {
    const fds: number[] = [];
    for (let i = 0; i < this.#nfds; i++) fds.push(this.#fdAt(i));
    const whys: string[] = [];
    for (let i = 0; i < this.#whys.length; i += 2) whys.push(`fd ${this.#whys[i]}: ${this.#whys[i + 1]}`);
    return `poll on fds ${fds.join(',')}${whys.length ? `: ${whys.join('; ')}` : ''}`;
  }
}

/**
 * `do_mmap()`'s checks of a file mapping: whether it is shared, or -errno. Mirrors `do_mmap()` (mm/mmap.c),
 * rules MMAP-7..10 (with PROT_EXEC on a noexec filesystem between MMAP-9 and MMAP-10).
 */
function fileMappingType(
  file: File,
  off: bigint,
  len: number,
  flags: number,
  prot: number,
): boolean | number {
  const type = flags & MAP_TYPE;
  // file_mmap_ok(): the end must stay within MAX_LFS_FILESIZE for regular files, ULONG_MAX for others.
  const max = shmemOf(file) ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  if (off + BigInt(len) > max) return -EOVERFLOW;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return -EINVAL;
  if (type === MAP_SHARED_VALIDATE && (flags & ~MAP_VALIDATE_KNOWN) !== 0) return -EOPNOTSUPP;
  const shared = type !== MAP_PRIVATE;
  if (shared && prot & PROT_WRITE && !file.canWrite) return -EACCES;
  if (!file.canRead) return -EACCES;
  // path_noexec(): sysfs and the pseudo filesystems of dma-bufs and anonymous inodes are SB_I_NOEXEC
  // (MMAP-9, a correction from the running kernel: docs/quirks.md).
  if (prot & PROT_EXEC && (file.inode.kind === 'anon' || file.inode.kind === 'attr')) return -EPERM;
  if (!file.fops.mmap) return -ENODEV;
  return shared;
}

/** `do_mmap()`'s map-type check of an anonymous mapping: whether it is shared, or -EINVAL. */
function anonMappingType(flags: number): boolean | number {
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_DROPPABLE) return -EINVAL;
  return type === MAP_SHARED;
}

/**
 * Inserts the VMAs of a set-up mapping, one per piece of its backing; the mapping holds a reference to its
 * file until the last piece is unmapped.
 */
function installMapping(task: Task, req: VmaRequest, file: File | undefined): void {
  const mapped = file?.get();
  const name = req.name ?? file?.path ?? 'anon';
  const pieces = req.pieces ?? [
    { backing: req.backing!, offset: req.backingOffset ?? 0, length: req.length },
  ];
  let at = req.start;
  const parts = pieces.map((p, i) => {
    const part = {
      start: at,
      end: at + p.length,
      prot: req.prot,
      shared: req.shared,
      backing: p.backing,
      offset: p.offset,
      name,
      cache: req.caches?.[i] ?? null,
      onAccess: req.onAccess ?? null,
      ...(file ? {} : { anon: true }),
    };
    at += p.length;
    return part;
  });
  task.mm.insertMappings(parts, mapped || req.onUnmap ? mappingOwner(mapped, req) : null);
}

/**
 * What a mapping holds until its last piece goes: a reference to its file and the op's `onUnmap`. A forked
 * child's copy takes its own (`dup_mmap()`: `get_file()`, then `vm_ops->open()`, here the op's `onOpen`).
 */
function mappingOwner(file: File | undefined, req: VmaRequest): VmaOwner {
  return {
    unmapped: () => {
      req.onUnmap?.();
      file?.put();
    },
    dup: () => {
      req.onOpen?.();
      return mappingOwner(file?.get(), req);
    },
  };
}

/** i_size of a regular file (memfd, sysfs attribute: PAGE_SIZE), or null for any other file. */
function regularSize(file: File): number | null {
  const sh = shmemOf(file);
  if (sh) return sh.size;
  return file.inode.kind === 'attr' ? PAGE_SIZE : null;
}

/** An empty, `.` or `..` component, or a trailing `/`. */
const NOT_NORMAL = /\/(\.\.?)?(\/|$)/;

function normalize(path: string): string {
  // Most paths are already normal (absolute, no empty, `.` or `..` component): kept as they are.
  if (path.charCodeAt(0) === 47 && !NOT_NORMAL.test(path)) return path;
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}
