/**
 * open(2), fcntl(2) and memfd_create(2) constants, asm-generic values (x86 and arm64). Rulebook §1.2.
 *
 * @packageDocumentation
 */

/** Access mode: read only. */
export const O_RDONLY = 0o0;
/** Access mode: write only. */
export const O_WRONLY = 0o1;
/** Access mode: read and write. */
export const O_RDWR = 0o2;
/** Mask of the access mode bits. */
export const O_ACCMODE = 0o3;
/** Create the file if missing. */
export const O_CREAT = 0o100;
/** With O_CREAT: fail if the file exists. */
export const O_EXCL = 0o200;
/** Do not make a tty the controlling terminal. */
export const O_NOCTTY = 0o400;
/** Truncate a regular file to length 0. */
export const O_TRUNC = 0o1000;
/** Writes go to the end of the file. */
export const O_APPEND = 0o2000;
/** Non-blocking I/O. */
export const O_NONBLOCK = 0o4000;
/** Old name of O_NONBLOCK. */
export const O_NDELAY = O_NONBLOCK;
/** Synchronized data integrity writes. */
export const O_DSYNC = 0o10000;
/** Signal-driven I/O (`F_SETFL` status flag). */
export const FASYNC = 0o20000;
/** Direct I/O hint. */
export const O_DIRECT = 0o40000;
/** Large file offsets; added by `open()` for LP64 callers (rulebook FD-10). */
export const O_LARGEFILE = 0o100000;
/** Fail unless the path is a directory. */
export const O_DIRECTORY = 0o200000;
/** Do not follow a trailing symlink. */
export const O_NOFOLLOW = 0o400000;
/** Do not update the access time. */
export const O_NOATIME = 0o1000000;
/** Set FD_CLOEXEC on the new descriptor. */
export const O_CLOEXEC = 0o2000000;
/** Internal bit of O_SYNC. */
export const __O_SYNC = 0o4000000;
/** Synchronized file integrity writes. */
export const O_SYNC = __O_SYNC | O_DSYNC;
/** Path-only descriptor. */
export const O_PATH = 0o10000000;
/** Internal bit of O_TMPFILE. */
export const __O_TMPFILE = 0o20000000;
/** Unnamed temporary file in the given directory. */
export const O_TMPFILE = __O_TMPFILE | O_DIRECTORY;
/** `O_EMPTYPATH` (`1 << 26`, Linux 7.x): an empty path names the directory fd itself. */
export const O_EMPTYPATH = 0o400000000;
/** The flags `O_PATH` keeps (`O_PATH_FLAGS`, fs/open.c); `open()` drops the rest. */
export const O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC | O_EMPTYPATH;
/** Every flag `open()` knows (`VALID_OPEN_FLAGS`, include/linux/fcntl.h); `open()` silently drops the others. */
export const VALID_OPEN_FLAGS =
  O_ACCMODE |
  O_CREAT |
  O_EXCL |
  O_NOCTTY |
  O_TRUNC |
  O_APPEND |
  O_NONBLOCK |
  __O_SYNC |
  O_DSYNC |
  FASYNC |
  O_DIRECT |
  O_LARGEFILE |
  O_DIRECTORY |
  O_NOFOLLOW |
  O_NOATIME |
  O_CLOEXEC |
  O_PATH |
  __O_TMPFILE |
  O_EMPTYPATH;

/** Duplicate to the lowest free fd >= arg. */
export const F_DUPFD = 0;
/** Read the fd flags (FD_CLOEXEC). */
export const F_GETFD = 1;
/** Write the fd flags (FD_CLOEXEC). */
export const F_SETFD = 2;
/** Read the access mode and status flags. */
export const F_GETFL = 3;
/** Write the status flags (O_APPEND, O_NONBLOCK, FASYNC, O_DIRECT, O_NOATIME). */
export const F_SETFL = 4;
/** Get a record lock. */
export const F_GETLK = 5;
/** Set a record lock. */
export const F_SETLK = 6;
/** Set a record lock, waiting. */
export const F_SETLKW = 7;
/** Set the SIGIO owner. */
export const F_SETOWN = 8;
/** Get the SIGIO owner. */
export const F_GETOWN = 9;
/** Base of the Linux-specific commands. */
export const F_LINUX_SPECIFIC_BASE = 1024;
/** Like F_DUPFD, and set FD_CLOEXEC on the new fd. */
export const F_DUPFD_CLOEXEC = F_LINUX_SPECIFIC_BASE + 6;
/** Add memfd seals. */
export const F_ADD_SEALS = F_LINUX_SPECIFIC_BASE + 9;
/** Read memfd seals. */
export const F_GET_SEALS = F_LINUX_SPECIFIC_BASE + 10;
/** The close-on-exec fd flag. */
export const FD_CLOEXEC = 1;

/** Seal: no more seals may be added. */
export const F_SEAL_SEAL = 0x1;
/** Seal: the file may not shrink. */
export const F_SEAL_SHRINK = 0x2;
/** Seal: the file may not grow. */
export const F_SEAL_GROW = 0x4;
/** Seal: no writes at all. */
export const F_SEAL_WRITE = 0x8;
/** Seal: no new writable mappings or writes; existing mappings keep working. */
export const F_SEAL_FUTURE_WRITE = 0x10;
/** Seal: the exec bits may not change. */
export const F_SEAL_EXEC = 0x20;

/** memfd_create: set FD_CLOEXEC. */
export const MFD_CLOEXEC = 0x1;
/** memfd_create: allow F_ADD_SEALS (otherwise F_SEAL_SEAL is set at birth). */
export const MFD_ALLOW_SEALING = 0x2;
/** memfd_create: back the file with huge pages. */
export const MFD_HUGETLB = 0x4;
/** memfd_create: not executable, and F_SEAL_EXEC set. */
export const MFD_NOEXEC_SEAL = 0x8;
/** memfd_create: executable. */
export const MFD_EXEC = 0x10;

/** `dirfd` meaning the current working directory (`openat`). */
export const AT_FDCWD = -100;

/** lseek: absolute offset. */
export const SEEK_SET = 0;
/** lseek: relative to the current position. */
export const SEEK_CUR = 1;
/** lseek: relative to the end. */
export const SEEK_END = 2;
/** lseek: next data region. */
export const SEEK_DATA = 3;
/** lseek: next hole. */
export const SEEK_HOLE = 4;

/** Default soft RLIMIT_NOFILE of a process: an fd number must be below it (rulebook FD-2). */
export const RLIMIT_NOFILE_DEFAULT = 1024;

/** pidfd_open: the pidfd is O_NONBLOCK (`PIDFD_NONBLOCK`, linux/pidfd.h). */
export const PIDFD_NONBLOCK = O_NONBLOCK;
/** pidfd_open: the pidfd refers to a thread, not a thread group (`PIDFD_THREAD`, linux/pidfd.h). */
export const PIDFD_THREAD = O_EXCL;
