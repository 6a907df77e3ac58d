/**
 * The VFS core: inodes with their file operations, open file descriptions (`struct file`) with a
 * reference count, per-process fd tables with lowest-free allocation, poll tables, and the path tree that
 * holds `/dev` and `/sys`.
 *
 * A file-operations table is a plain object whose missing members get the VFS default, exactly as a NULL
 * member of `struct file_operations` does: no read → -EINVAL, no ioctl → -ENOTTY, no mmap → -ENODEV, no
 * poll → DEFAULT_POLLMASK. Those defaults live in the syscall layer, which checks the fd, copies user
 * memory and delegates.
 */

import { EINVAL, EISDIR, EMFILE, ENAMETOOLONG, ENOENT, ENOIOCTLCMD, ENOTDIR, ENXIO } from '../uapi/errno.ts';
import { O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY } from '../uapi/fcntl.ts';
import type { CpuCache } from './cpu-cache.ts';
import { type Census, Refcounted } from './kref.ts';
import type { MM } from './mm.ts';
import type { SysRet, WaitQueue } from './wait.ts';

/**
 * What a file operation sees of the task that called it (the kernel's `current`): its fd table, its address
 * space and whether it is an ILP32 (compat) process. The scheduler's `Task` is one.
 */
export interface Caller {
  readonly pid: number;
  /** Command name (`comm`). */
  readonly comm: string;
  /** ILP32 process on a 64-bit kernel (`in_compat_syscall()`). */
  readonly compat: boolean;
  readonly files: FdTable;
  readonly mm: MM;
}

/** `poll_table`: what a poll op registers on, and which events the caller asked for (`_key`). */
export interface PollTable {
  /** `poll_wait()`: adds the caller to `wq` (a no-op when the caller will not sleep). */
  wait(wq: WaitQueue): void;
  /** Events requested by the caller (poll's `events` with POLLERR|POLLHUP added). */
  readonly key: number;
  /**
   * The op must sleep uninterruptibly on `wq` (a lock another task holds) before it can answer: it returns
   * 0 and the poll syscall sleeps, then evaluates everything again (DPOLL-6).
   */
  blockOn(wq: WaitQueue): void;
  /** Records why the file is not ready (shown when the caller ends up blocked for good). */
  why?(reason: string): void;
}

/** A mapping being set up by mmap, handed to the file's mmap op to fill in its backing. */
export interface VmaRequest {
  start: number;
  length: number;
  prot: number;
  shared: boolean;
  /** Offset in the file, bytes (`vm_pgoff << PAGE_SHIFT`). */
  offset: number;
  /** Filled in by the op: the bytes the mapping shows and where `start` lands in them. */
  backing?: Uint8Array;
  backingOffset?: number;
  /**
   * Filled in by the op instead of `backing` when the pages are several separate pieces (a scatter list):
   * each piece becomes its own part of the mapping.
   */
  pieces?: { backing: Uint8Array; offset: number; length: number }[];
  /** Filled in by the op: told when the mapping is gone (drops the op's reference). */
  onUnmap?: () => void;
  /** Filled in by the op with `onUnmap`: told when a fork copies the mapping (`vm_ops->open`). */
  onOpen?: () => void;
  /** Filled in by the op: name in traces. */
  name?: string;
  /** Filled in by the op: the CPU cache of each piece (or of `backing`), on non-coherent platforms. */
  caches?: (CpuCache | null)[];
  /** Filled in by the op: told of every CPU access to the mapping. */
  onAccess?: (addr: number, len: number, write: boolean) => void;
}

/** `struct file_operations`, camelCased. Every member is optional; see the module comment for defaults. */
export interface FileOperations {
  /** The open op calls nonseekable_open(): no pread/pwrite (-ESPIPE). */
  readonly nonseekable?: boolean;
  open?(inode: Inode, file: File, task: Caller): number;
  read?(file: File, buf: number, count: number, task: Caller): SysRet;
  write?(file: File, buf: number, count: number, task: Caller): SysRet;
  poll?(file: File, pt: PollTable, task: Caller): number;
  unlockedIoctl?(file: File, cmd: number, arg: number, task: Caller): SysRet;
  compatIoctl?(file: File, cmd: number, arg: number, task: Caller): SysRet;
  mmap?(file: File, vma: VmaRequest, task: Caller): number;
  llseek?(file: File, offset: number, whence: number): number;
  release?(inode: Inode, file: File): void;
}

/**
 * Points a mapping at the part of a scatter list it covers: `[vma.offset, vma.offset + vma.length)` of the
 * concatenated pieces `sg`.
 */
export function setMappingPieces(vma: VmaRequest, sg: readonly Uint8Array[]): void {
  if (sg.length === 1) {
    vma.backing = sg[0]!;
    vma.backingOffset = vma.offset;
    return;
  }
  const pieces: NonNullable<VmaRequest['pieces']> = [];
  let base = 0;
  const end = vma.offset + vma.length;
  for (const seg of sg) {
    const segEnd = base + seg.length;
    const from = Math.max(base, vma.offset);
    const to = Math.min(segEnd, end);
    if (from < to) pieces.push({ backing: seg, offset: from - base, length: to - from });
    base = segEnd;
  }
  vma.pieces = pieces;
}

/** `compat_ptr_ioctl`: for handlers whose argument is a pointer or an int, the compat entry is the native one. */
export function compatPtrIoctl(file: File, cmd: number, arg: number, task: Caller): SysRet {
  const ioctl = file.fops.unlockedIoctl;
  if (!ioctl) return -ENOIOCTLCMD;
  return ioctl(file, cmd, arg >>> 0, task);
}

/** Inode kinds the simulator has. */
export type InodeKind = 'chr' | 'dir' | 'reg' | 'anon' | 'attr';

/** An inode: what a path or an anonymous file refers to. */
export interface Inode {
  readonly ino: number;
  readonly kind: InodeKind;
  /** Permission bits (0o444, 0o600...). */
  readonly mode: number;
  readonly fops: FileOperations;
  /** Device number of character devices. */
  readonly rdev?: { readonly major: number; readonly minor: number };
  /** Driver data (`i_private` / the cdev's container). */
  readonly priv: unknown;
}

/** Builds an inode. */
export function newInode(
  ino: number,
  kind: InodeKind,
  mode: number,
  fops: FileOperations,
  priv: unknown,
  rdev?: Inode['rdev'],
): Inode {
  return rdev ? { ino, kind, mode, fops, priv, rdev } : { ino, kind, mode, fops, priv };
}

/** The inode number every anonymous-inode file shares, as with the kernel's single `anon_inode_inode`. */
export const ANON_INODE_INO = 1;

/** An open file description (`struct file`), shared by dup'd fds and released with its last reference. */
export class File extends Refcounted {
  readonly inode: Inode;
  readonly fops: FileOperations;
  /** `f_flags`: access mode and status flags. */
  flags: number;
  /** `f_pos`. */
  pos = 0;
  /** `private_data`. */
  privateData: unknown = null;
  /** What `/proc/self/fd/N` shows: `/dev/iio:device0`, `anon_inode:iio:buffer`, `/dmabuf:`. */
  readonly path: string;
  /** FMODE_OPENED: set once the open op succeeded; only opened files get a release call. */
  opened = false;
  /** FMODE_PREAD/FMODE_PWRITE: pread/pwrite work (files opened from a path, unless nonseekable). */
  positional = false;

  constructor(census: Census, inode: Inode, flags: number, path: string) {
    super(census, 'file');
    this.inode = inode;
    this.fops = inode.fops;
    this.flags = flags;
    this.path = path;
  }

  /** `__fput()`: the release op runs for files whose open succeeded. */
  protected release(): void {
    if (this.opened) this.fops.release?.(this.inode, this);
  }

  /** FMODE_READ: the access mode allows reading. */
  get canRead(): boolean {
    const acc = this.flags & O_ACCMODE;
    return acc === O_RDONLY || acc === O_RDWR;
  }

  /** FMODE_WRITE: the access mode allows writing. */
  get canWrite(): boolean {
    const acc = this.flags & O_ACCMODE;
    return acc === O_WRONLY || acc === O_RDWR;
  }
}

/** `anon_inode_getfile()`: a file on an anonymous inode named `anon_inode:<name>`. */
export function anonInodeGetfile(
  census: Census,
  name: string,
  fops: FileOperations,
  priv: unknown,
  flags: number,
): File {
  const file = new File(
    census,
    newInode(ANON_INODE_INO, 'anon', 0o600, fops, null),
    flags,
    `anon_inode:${name}`,
  );
  file.privateData = priv;
  file.opened = true;
  return file;
}

/** One fd slot. */
export interface FdEntry {
  readonly file: File;
  cloexec: boolean;
}

/** PATH_MAX: the bytes of a path with its terminating NUL; a longer one is -ENAMETOOLONG (`getname()`). */
export const PATH_MAX = 4096;

/** NAME_MAX: the bytes of one path component; a longer missing one is -ENAMETOOLONG in tmpfs (`simple_lookup()`). */
export const NAME_MAX = 255;

/** Bytes of `s` in UTF-8, as a C string holds it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * The largest file position (`s_maxbytes`): 2^53-1, the largest integer a JavaScript number holds exactly. Linux
 * allows MAX_LFS_FILESIZE (2^63-1) for tmpfs; a seek past this limit is -EINVAL, as past s_maxbytes in
 * `vfs_setpos()` (docs/limits.md).
 */
export const MAX_POS = Number.MAX_SAFE_INTEGER;

/** `fs.nr_open`: the largest RLIMIT_NOFILE Linux lets a process have (1,048,576 by default). */
export const NR_OPEN = 1 << 20;

/**
 * A process's fd table (`struct files_struct`). New fds take the lowest free number (rule FD-1) below the
 * RLIMIT_NOFILE soft limit, else -EMFILE (FD-2). The table is sparse: it costs memory and time per open fd,
 * never per unused slot below the limit (a `dup2(0, 1048575)` is one entry).
 */
export class FdTable {
  readonly #slots = new Map<number, FdEntry>();
  /** RLIMIT_NOFILE soft limit (at most {@link NR_OPEN}). */
  limit: number;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > NR_OPEN)
      throw new RangeError(`RLIMIT_NOFILE ${limit} is not in 0..${NR_OPEN} (fs.nr_open)`);
    this.limit = limit;
  }

  /** `alloc_fd(start)`: the lowest free fd >= `start`, or -EMFILE. The slot stays free until installed. */
  allocFd(start = 0): number {
    // Steps over open fds only: as many steps as there are open fds at worst.
    let fd = start;
    while (fd < this.limit && this.#slots.has(fd)) fd++;
    return fd < this.limit ? fd : -EMFILE;
  }

  /** `fd_install`: puts `file` (whose reference the table now owns) at `fd`. */
  install(fd: number, file: File, cloexec: boolean): void {
    this.#slots.set(fd, { file, cloexec });
  }

  /** `get_unused_fd_flags` + `fd_install` in one step: the new fd or -EMFILE (the caller keeps its reference then). */
  installLowest(file: File, cloexec: boolean, start = 0): number {
    const fd = this.allocFd(start);
    if (fd >= 0) this.install(fd, file, cloexec);
    return fd;
  }

  /** The entry at `fd`, or undefined when it is not open (also for negative or huge numbers). */
  entry(fd: number): FdEntry | undefined {
    return this.#slots.get(fd);
  }

  /** The file at `fd` without taking a reference. */
  file(fd: number): File | undefined {
    return this.#slots.get(fd)?.file;
  }

  /** Empties slot `fd` and returns what it held; the caller drops the file reference. */
  remove(fd: number): FdEntry | undefined {
    const e = this.#slots.get(fd);
    if (e) this.#slots.delete(fd);
    return e;
  }

  /**
   * A forked child's table (`dup_fd()`, fs/file.c): every open fd at the same number, each holding a new
   * reference to the same open file (offset and status flags shared), close-on-exec flags kept.
   */
  dup(): FdTable {
    const t = new FdTable(this.limit);
    for (const [fd, e] of this.#slots) t.#slots.set(fd, { file: e.file.get(), cloexec: e.cloexec });
    return t;
  }

  /** How many fds are open. */
  get size(): number {
    return this.#slots.size;
  }

  /** Open fds in ascending order. */
  openFds(): number[] {
    return [...this.#slots.keys()].sort((x, y) => x - y);
  }
}

/** A node of the path tree: an inode, or a directory of named children. */
interface Dentry {
  readonly inode: Inode;
  readonly children: Map<string, Dentry> | null;
  /**
   * Children added with {@link PathTree.addInDeferred} whose inodes are not built yet, five slots each (name,
   * ino, factory, two arguments): built, in the order they were added, when the directory is first looked into.
   */
  deferred?: unknown[] | undefined;
}

/** Builds a deferred child's inode from the inode number it was given when added, and its two arguments. */
export type InodeFactory<A, B> = (ino: number, a: A, b: B) => Inode;

/** The children of directory `d`, its deferred ones built first; null for a file. */
function kids(d: Dentry): Map<string, Dentry> | null {
  const q = d.deferred;
  if (q !== undefined) {
    d.deferred = undefined;
    const children = d.children!;
    for (let i = 0; i < q.length; i += 5) {
      const name = q[i] as string;
      if (children.has(name)) throw new Error(`path exists: ${name}`);
      const inode = (q[i + 2] as InodeFactory<unknown, unknown>)(q[i + 1] as number, q[i + 3], q[i + 4]);
      children.set(name, { inode, children: inode.kind === 'dir' ? new Map() : null });
    }
  }
  return d.children;
}

const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/**
 * `generic_file_llseek_size()` (fs/read_write.c) for a file that ends at `eof`: SEEK_END counts from it,
 * SEEK_DATA and SEEK_HOLE see one data run up to it (`-ENXIO` at or past it), a negative position is
 * `-EINVAL`. What kernfs gives sysfs attributes (`eof` PAGE_SIZE) and directories (`eof` 0); a correction from
 * the running kernel (docs/quirks.md).
 */
export function genericFileLlseek(file: File, offset: number, whence: number, eof: number): number {
  let pos = offset;
  if (whence === SEEK_END) pos = eof + offset;
  else if (whence === SEEK_CUR) {
    if (offset === 0) return file.pos;
    pos = file.pos + offset;
  } else if (whence === SEEK_DATA || whence === SEEK_HOLE) {
    // The offset is compared as an unsigned number: a negative one is past the end too.
    if (offset < 0 || offset >= eof) return -ENXIO;
    if (whence === SEEK_HOLE) pos = eof;
  }
  if (pos < 0 || pos > MAX_POS) return -EINVAL;
  file.pos = pos;
  return pos;
}

/** kernfs directories (sysfs): `generic_file_llseek()` over their size, 0. */
const GOLDEN_RATIO_64 = 0x61c8864680b583ebn;
const U64 = (1n << 64n) - 1n;
const utf8 = new TextEncoder();

/**
 * `kernfs_name_hash(name, NULL)` (fs/kernfs/dir.c) on a 64-bit kernel: `partial_name_hash()` over the name's
 * bytes (as signed chars), `end_name_hash()` (`hash_long(hash, 32)`), 31 bits, 0, 1 and INT_MAX reserved.
 */
export function kernfsNameHash(name: string): number {
  let hash = 0n;
  for (const b of utf8.encode(name)) {
    const c = BigInt(b >= 0x80 ? b - 256 : b) & U64;
    hash = ((hash + ((c << 4n) & U64) + (c >> 4n)) * 11n) & U64;
  }
  let h = Number(((hash * GOLDEN_RATIO_64) & U64) >> 32n) & 0x7fffffff;
  if (h < 2) h += 2;
  if (h >= 0x7fffffff) h = 0x7ffffffe;
  return h;
}

const sysfsDirFops: FileOperations = {
  read: () => -EISDIR,
  llseek: (file, offset, whence) => genericFileLlseek(file, offset, whence, 0),
};

/** Directories of devtmpfs (`/dev`) and of the root filesystem: `offset_dir_llseek()`, SEEK_SET and SEEK_CUR only. */
const dirFops: FileOperations = {
  read: () => -EISDIR,
  llseek: (file, offset, whence) => {
    const pos = whence === SEEK_CUR ? file.pos + offset : offset;
    if ((whence !== SEEK_SET && whence !== SEEK_CUR) || pos < 0 || pos > MAX_POS) return -EINVAL;
    file.pos = pos;
    return pos;
  },
};

/** The path tree: `/dev` nodes and `/sys` attribute files, created by drivers at registration. */
export class PathTree {
  #nextIno = 2;
  readonly #root: Dentry = {
    inode: newInode(this.allocIno(), 'dir', 0o755, dirFops, null),
    children: new Map(),
  };

  /**
   * Directories {@link PathTree.add} reached, by the text of the path before its last `/`: a device registers
   * a hundred attributes in a few directories, and each simulator of a fuzz campaign registers them again.
   * Emptied by every removal.
   */
  readonly #dirs = new Map<string, Dentry>();

  /** A fresh inode number (1 is the shared anonymous inode). */
  allocIno(): number {
    return this.#nextIno++;
  }

  /** Splits an absolute path into components; relative paths are taken from `/`. */
  static components(path: string): string[] {
    return path.split('/').filter((c) => c !== '' && c !== '.');
  }

  /** Adds `inode` at `path`, creating directories on the way. Adding over an existing name is a bug. */
  add(path: string, inode: Inode): void {
    const cut = path.lastIndexOf('/');
    let name: string | undefined = path.slice(cut + 1);
    let dir: Dentry;
    if (cut > 0 && name !== '' && name !== '.') {
      dir = this.#dirAt(path.slice(0, cut));
    } else {
      const parts = PathTree.components(path);
      name = parts.pop();
      if (name === undefined) throw new Error('cannot add the root');
      dir = this.#mkdirs(parts);
    }
    const children = dir.children!;
    if (children.has(name)) throw new Error(`path exists: ${path}`);
    children.set(name, { inode, children: inode.kind === 'dir' ? new Map() : null });
  }

  /**
   * {@link PathTree.add} of `name` (one component) in the directory `dir`, created with its parents when
   * missing: for a driver registering a directory's files, the path is not built and split again per file,
   * and the same `dir` string is found again without hashing it anew.
   */
  addIn(dir: string, name: string, inode: Inode): void {
    const children = this.#dirAt(dir).children!;
    if (children.has(name)) throw new Error(`path exists: ${dir}/${name}`);
    children.set(name, { inode, children: inode.kind === 'dir' ? new Map() : null });
  }

  /**
   * {@link PathTree.addIn} of a file whose inode is built by `factory(ino, a, b)` only when its directory is
   * first looked into (a lookup through it, a listing, a removal): a device registers a hundred sysfs
   * attributes, and most simulators of a fuzz campaign open a few. The inode number is taken now, so that
   * numbering does not depend on what is looked at first. A name added twice is found when the inodes are built.
   */
  addInDeferred<A, B>(dir: string, name: string, ino: number, factory: InodeFactory<A, B>, a: A, b: B): void {
    const d = this.#dirAt(dir);
    if (d.deferred === undefined) d.deferred = [];
    d.deferred.push(name, ino, factory, a, b);
  }

  /** Creates the directory `path` and its parents (those that exist are kept). */
  mkdir(path: string): void {
    this.#mkdirs(PathTree.components(path));
  }

  /** Removes `path` and everything below it. */
  remove(path: string): void {
    this.#dirs.clear();
    const parts = PathTree.components(path);
    const name = parts.pop();
    if (name === undefined) return;
    const d = this.#walk(parts);
    if (d) kids(d)?.delete(name);
  }

  /** The inode at `path`, following `..`, or undefined. */
  lookup(path: string): Inode | undefined {
    return this.#walk(PathTree.components(path))?.inode;
  }

  /**
   * `path_lookupat()` as open() sees it: the inode at `path`, `-ENOENT` when a component is missing, or
   * `-ENOTDIR` when a component that has to be a directory is not one: one followed by more components
   * (`.` and `..` included), or the last one when the path ends with `/` (`link_path_walk()`). A missing
   * component longer than NAME_MAX is `-ENAMETOOLONG` in a tmpfs directory (`/`, `/dev`: `simple_lookup()`)
   * and `-ENOENT` in sysfs (`kernfs_iop_lookup()` does not check the length).
   */
  resolve(path: string): Inode | number {
    const stack: Dentry[] = [this.#root];
    // Component by component without splitting the path into an array (every open and stat comes here).
    for (let i = 0, end = 0; i < path.length; i = end + 1) {
      end = path.indexOf('/', i);
      if (end < 0) end = path.length;
      if (end === i) continue;
      const p = path.slice(i, end);
      const top = stack[stack.length - 1]!;
      const children = kids(top);
      if (!children) return -ENOTDIR;
      if (p === '.') continue;
      if (p === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const next = children.get(p);
      if (!next)
        return top.inode.fops !== sysfsDirFops && p.length * 3 > NAME_MAX && utf8Length(p) > NAME_MAX
          ? -ENAMETOOLONG
          : -ENOENT;
      stack.push(next);
    }
    const last = stack[stack.length - 1]!;
    return path.endsWith('/') && !last.children ? -ENOTDIR : last.inode;
  }

  /**
   * Names in the directory at `path` in the order its readdir gives them, or undefined when it is not a
   * directory: sysfs (kernfs) keeps a directory's children in an rbtree ordered by {@link kernfsNameHash}, then
   * name (`kernfs_name_compare()`, fs/kernfs/dir.c), and `kernfs_fop_readdir()` walks it in that order; other
   * directories here list in name order.
   */
  readdirNames(path: string): string[] | undefined {
    const parts = PathTree.components(path);
    const d = this.#walk(parts);
    const children = d ? kids(d) : null;
    if (!d || !children) return undefined;
    const names = [...children.keys()].sort();
    if (d.inode.fops !== sysfsDirFops) return names;
    const hashes = new Map(names.map((n) => [n, kernfsNameHash(n)]));
    return names.sort((a, b) => hashes.get(a)! - hashes.get(b)!);
  }

  /** Names in the directory at `path`, sorted, or undefined when it is not a directory. */
  list(path: string): string[] | undefined {
    const d = this.#walk(PathTree.components(path));
    const children = d ? kids(d) : null;
    return children ? [...children.keys()].sort() : undefined;
  }

  #walk(parts: string[]): Dentry | undefined {
    const stack: Dentry[] = [this.#root];
    for (const p of parts) {
      if (p === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const next = kids(stack[stack.length - 1]!)?.get(p);
      if (!next) return undefined;
      stack.push(next);
    }
    return stack[stack.length - 1];
  }

  /**
   * The directory `dir`, created with its parents when missing, remembered in {@link PathTree.#dirs}: a plain
   * absolute path (`/a/b`: no empty, `.` or `..` component) is built from its parent's entry, the rest from
   * its components.
   */
  #dirAt(dir: string): Dentry {
    let d = this.#dirs.get(dir);
    if (d) return d;
    const cut = dir.lastIndexOf('/');
    const name = dir.slice(cut + 1);
    if (cut > 0 && dir.charCodeAt(0) === 0x2f && name !== '' && name !== '.' && name !== '..') {
      const parent = this.#dirAt(dir.slice(0, cut));
      const children = parent.children!;
      d = children.get(name);
      if (!d) {
        const fops = parent.inode.fops === sysfsDirFops || dir.startsWith('/sys/') ? sysfsDirFops : dirFops;
        d = { inode: newInode(this.allocIno(), 'dir', 0o755, fops, null), children: new Map() };
        children.set(name, d);
      }
      if (!d.children) throw new Error(`not a directory: ${name}`);
    } else d = this.#mkdirs(PathTree.components(dir));
    this.#dirs.set(dir, d);
    return d;
  }

  #mkdirs(parts: string[]): Dentry {
    let d = this.#root;
    // /sys and everything below it is sysfs (kernfs); the rest is devtmpfs or the root filesystem.
    const fops = parts[0] === 'sys' ? sysfsDirFops : dirFops;
    for (const p of parts) {
      // Not kids(): a deferred child is a file, never the directory looked for (a clash shows when built).
      const children = d.children!;
      let next = children.get(p);
      if (!next) {
        next = { inode: newInode(this.allocIno(), 'dir', 0o755, fops, null), children: new Map() };
        children.set(p, next);
      }
      if (!next.children) throw new Error(`not a directory: ${p}`);
      d = next;
    }
    return d;
  }
}
