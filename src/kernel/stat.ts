/**
 * `fstat()` and `readlink()` (fs/stat.c), as far as a program needs them to tell its files apart: the inode
 * number and type of an open file, and what `/proc/self/fd/N` links to (`/dmabuf:<name>`, `anon_inode:...`,
 * the path it was opened by). The simulator has no procfs beyond those links and no symlinks elsewhere.
 */
import { EBADF, EFAULT, EINVAL, ENOENT } from '../uapi/errno.ts';
import { encodeStat, S_IFCHR, S_IFDIR, S_IFREG, type StatBuf } from '../uapi/stat.ts';
import { type DmaBuf, isDmaBufFile } from './dma-buf/dma-buf.ts';
import { shmemOf } from './shmem.ts';
import type { Task } from './task.ts';
import type { File, PathTree } from './vfs.ts';

/** `new_encode_dev()`: the 32-bit device number of `st_rdev`. */
function encodeDev(major: number, minor: number): bigint {
  return BigInt(((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0);
}

/** Anonymous inodes (and dma-bufs) live on pseudo filesystems of their own: a device number of 0:N. */
const ANON_DEV = 14n;
const DMABUF_DEV = 15n;
const SYSFS_DEV = 22n;
const TMPFS_DEV = 5n;

/** `generic_fillattr()` of the file's inode: type and permission bits, inode number, device, size. */
function fileStat(file: File): StatBuf {
  const inode = file.inode;
  const st: StatBuf = {
    st_dev: TMPFS_DEV,
    st_ino: BigInt(inode.ino),
    st_mode: inode.mode,
    st_nlink: 1,
    st_rdev: 0n,
    st_size: 0n,
    st_blksize: 4096,
    st_blocks: 0n,
  };
  switch (inode.kind) {
    case 'dir':
      st.st_mode |= S_IFDIR;
      st.st_nlink = 2;
      break;
    case 'chr':
      st.st_mode |= S_IFCHR;
      st.st_rdev = encodeDev(inode.rdev?.major ?? 0, inode.rdev?.minor ?? 0);
      break;
    case 'attr':
      st.st_mode |= S_IFREG;
      st.st_dev = SYSFS_DEV;
      st.st_size = 4096n;
      break;
    case 'reg': {
      st.st_mode |= S_IFREG;
      const size = shmemOf(file)?.size ?? 0;
      st.st_size = BigInt(size);
      st.st_blocks = BigInt(Math.ceil(size / 4096) * 8);
      break;
    }
    case 'anon':
      // An anonymous inode has no type bits (`alloc_anon_inode()`: 0600); a dma-buf's inode number is its
      // own counter and its size the buffer's (`dma_buf_getfile()`).
      st.st_dev = ANON_DEV;
      if (isDmaBufFile(file)) {
        const dmabuf = file.privateData as DmaBuf;
        st.st_dev = DMABUF_DEV;
        st.st_ino = BigInt(dmabuf.ino);
        st.st_size = BigInt(dmabuf.size);
        st.st_blocks = BigInt(Math.ceil(dmabuf.size / 512));
      }
      break;
  }
  return st;
}

/**
 * `fstat(fd, statbuf)` (`vfs_fstat()`, `cp_new_stat()`): -EBADF for an fd not open, -EFAULT when the struct
 * cannot be written. The struct is the process's: `struct stat` for LP64, `struct stat64` for ILP32
 * (src/uapi/stat.ts). Times, owner and group are 0.
 */
export function fstat(task: Task, fd: number, statbuf: number): number {
  const file = task.files.file(fd);
  if (!file) return -EBADF;
  const bytes = encodeStat(fileStat(file), task.compat ? 'ilp32' : 'lp64');
  return task.mm.copyToUser(statbuf, bytes) ? 0 : -EFAULT;
}

/** `/proc/self/fd/N`, `/proc/thread-self/fd/N` and `/proc/<pid>/fd/N` of the caller. */
const PROC_FD = /^\/proc\/(self|thread-self|\d+)\/fd\/(\d+)$/;

/**
 * `readlink(path, buf, bufsiz)` (`do_readlinkat()`): `bufsiz` <= 0 is -EINVAL before any lookup, an empty path
 * -ENOENT; a link of `/proc/self/fd/` gives the file's name (`d_path()`, `/dmabuf:<name>` for a dma-buf), a
 * number not open -ENOENT; any other path that exists is no symlink here (-EINVAL). At most `bufsiz` bytes are
 * copied, without a NUL; the count is returned (-EFAULT when `buf` cannot take them).
 */
export function readlink(task: Task, paths: PathTree, path: string, buf: number, bufsiz: number): number {
  if (bufsiz <= 0) return -EINVAL;
  if (path === '') return -ENOENT;
  const m = PROC_FD.exec(path);
  let target: string;
  if (m) {
    if (m[1] !== 'self' && m[1] !== 'thread-self' && Number(m[1]) !== task.pid) return -ENOENT;
    const file = task.files.file(Number(m[2]));
    if (!file) return -ENOENT;
    // A dma-buf's name can change after the open (DMA_BUF_SET_NAME): `dmabuffs_dname()` reads it each time.
    target = isDmaBufFile(file) ? (file.privateData as DmaBuf).path : file.path;
  } else {
    if (path === '/proc' || path.startsWith('/proc/')) return -ENOENT;
    const inode = paths.resolve(path);
    return typeof inode === 'number' ? inode : -EINVAL;
  }
  const bytes = new TextEncoder().encode(target);
  const n = Math.min(bytes.length, bufsiz);
  return task.mm.copyToUser(buf, bytes.subarray(0, n)) ? n : -EFAULT;
}
