/**
 * memfd (mm/memfd.c) over shmem files (mm/shmem.c): memfd_create, regular-file read/write/lseek/mmap,
 * ftruncate and file seals. The pages are one growable buffer, so every mapping and every udmabuf made
 * from the memfd sees the same bytes. Rules MEMFD-1..3, SEAL-1..9, TRUNC-1..4.
 */
import { EBUSY, EFAULT, EFBIG, EINVAL, ENODEV, ENOMEM, ENXIO, EPERM } from '../uapi/errno.ts';
import {
  F_SEAL_EXEC,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_NOEXEC_SEAL,
  O_LARGEFILE,
  O_RDWR,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
} from '../uapi/fcntl.ts';
import { PROT_WRITE } from '../uapi/mman.ts';
import type { Census } from './kref.ts';
import type { PagePool } from './pages.ts';
import {
  type Caller,
  File,
  type FileOperations,
  MAX_POS,
  newInode,
  type PathTree,
  utf8Length,
} from './vfs.ts';
import { type SysRet, sleepOn } from './wait.ts';

/** Largest memfd the simulation keeps (its buffer's reserved size): beyond it ftruncate/write fail -EFBIG. */
export const SHMEM_MAX_BYTES = 64 << 20;
/** Longest memfd name (MEMFD-1). */
const MFD_NAME_MAX_LEN = 249;
const ALL_SEALS = 0x3f;

/** A shmem inode backing a memfd. */
export class ShmemInode {
  readonly #pool: PagePool;
  readonly name: string;
  /** Resizable storage: views made without a length follow its size. */
  readonly buffer: ArrayBuffer;
  seals: number;
  /** File mode bits (0777 by default, 0666 with MFD_NOEXEC_SEAL). */
  readonly mode: number;
  /** Shared mappings through writable files (`i_mmap_writable`), which deny F_SEAL_WRITE (SEAL-6). */
  writableMaps = 0;
  /** Page pins held by udmabufs (SEAL-7). */
  pins = 0;
  /** Open files and udmabuf pins keeping the pages (the inode's link count is 0: only users keep it). */
  #users = 0;
  /**
   * Huge page size of a hugetlbfs file (MFD_HUGETLB), 0 for shmem. The simulated machine reserves no huge
   * pages (`vm.nr_hugepages` 0, the default): such a file has a size but never any page. (docs/quirks.md: hugetlbfs memfds).
   */
  readonly hugePageSize: number;
  #hugeSize = 0;

  constructor(pool: PagePool, name: string, seals: number, mode: number, hugePageSize = 0) {
    this.#pool = pool;
    this.hugePageSize = hugePageSize;
    this.name = name;
    this.seals = seals;
    this.mode = mode;
    this.buffer = new (
      ArrayBuffer as unknown as new (
        n: number,
        o: { maxByteLength: number },
      ) => ArrayBuffer
    )(0, {
      maxByteLength: SHMEM_MAX_BYTES,
    });
  }

  /** A file or a udmabuf starts using the pages. */
  hold(): void {
    this.#users++;
  }

  /** A user is gone; the last one frees the pages. */
  release(): void {
    if (--this.#users === 0) {
      this.#pool.free(this.buffer.byteLength);
      (this.buffer as unknown as { resize(n: number): void }).resize(0);
    }
  }

  /** Pages that have been written (tmpfs files are sparse: FIOQSIZE counts only these). */
  readonly #pages = new Set<number>();

  /** Marks `[offset, offset + n)` as holding allocated pages. */
  touch(offset: number, n: number): void {
    for (let p = Math.floor(offset / 4096); p * 4096 < offset + n; p++) this.#pages.add(p);
  }

  /** Bytes of allocated pages within the file (`inode_get_bytes`). */
  get allocatedBytes(): number {
    let n = 0;
    for (const p of this.#pages) if (p * 4096 < this.size) n++;
    return n * 4096;
  }

  /** File size in bytes. */
  get size(): number {
    return this.hugePageSize ? this.#hugeSize : this.buffer.byteLength;
  }

  /**
   * Changes the size, zero-filling growth; -EFBIG beyond the limit, -ENOMEM without memory. A hugetlbfs size
   * is any multiple of the huge page size (`hugetlbfs_setattr()`: -EINVAL otherwise) and takes no memory.
   */
  resize(n: number): number {
    if (this.hugePageSize) {
      if (n % this.hugePageSize !== 0) return -EINVAL;
      this.#hugeSize = n;
      return 0;
    }
    const old = this.size;
    if (n > SHMEM_MAX_BYTES) return -EFBIG;
    if (n > old && !this.#pool.alloc(n - old)) return -ENOMEM;
    (this.buffer as unknown as { resize(n: number): void }).resize(n);
    if (n < old) this.#pool.free(old - n);
    return 0;
  }

  /** A live view of `[offset, offset + length)` (fixed length: it stays valid while the file does not shrink). */
  view(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer, offset, length);
  }
}

/** True when `file` is a memfd (a shmem file). */
export function shmemOf(file: File): ShmemInode | null {
  return file.inode.priv instanceof ShmemInode ? file.inode.priv : null;
}

const shmemFops: FileOperations = {
  /**
   * `shmem_file_read_iter()`: a copy that faults part-way ends the read with the bytes copied before the fault
   * (-EFAULT only when there are none: UACC-2 in docs/quirks.md).
   */
  read(file, buf, count, task) {
    const sh = shmemOf(file)!;
    // hugetlbfs_read_iter() reads a hole as zeros (a hugetlbfs file here is all hole); at most 1 MiB at once.
    const n = Math.max(0, Math.min(count, sh.size - file.pos, sh.hugePageSize ? 1 << 20 : Infinity));
    if (n === 0) return 0;
    const copied = task.mm.copyToUserPrefix(buf, sh.hugePageSize ? new Uint8Array(n) : sh.view(file.pos, n));
    if (copied === 0) return -EFAULT;
    file.pos += copied;
    return copied;
  },
  write(file, buf, count, task) {
    const sh = shmemOf(file)!;
    // hugetlbfs files have no write_iter: vfs_write() refuses them before looking at anything. (docs/quirks.md: hugetlbfs memfds).
    if (sh.hugePageSize) return -EINVAL;
    // generic_write_checks() ends a zero-length write before any seal is looked at.
    if (count === 0) return 0;
    if (sh.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -EPERM;
    const end = file.pos + count;
    if (end > sh.size && sh.seals & F_SEAL_GROW) return -EPERM;
    // generic_perform_write(): a source that faults part-way writes what came before the fault.
    // Copying more than fits under the size limit would only end in -EFBIG: one byte past it says so.
    const data = task.mm.copyFromUserPrefix(
      buf,
      Math.min(count, Math.max(0, SHMEM_MAX_BYTES - file.pos) + 1),
    );
    if (data.length === 0) return -EFAULT;
    const stop = file.pos + data.length;
    if (stop > sh.size) {
      const r = sh.resize(stop);
      if (r) return r;
    }
    sh.view(file.pos, data.length).set(data);
    sh.touch(file.pos, data.length);
    file.pos = stop;
    return data.length;
  },
  llseek(file, offset, whence) {
    const sh = shmemOf(file)!;
    if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      // shmem_file_llseek(): data runs to EOF, the only hole is EOF itself.
      if (offset < 0 || offset >= sh.size) return -ENXIO;
      file.pos = whence === SEEK_DATA ? offset : sh.size;
      return file.pos;
    }
    const base =
      whence === SEEK_SET ? 0 : whence === SEEK_CUR ? file.pos : whence === SEEK_END ? sh.size : null;
    if (base === null || base + offset < 0 || base + offset > MAX_POS) return -EINVAL;
    file.pos = base + offset;
    return file.pos;
  },
  mmap(file, vma) {
    const sh = shmemOf(file)!;
    // hugetlbfs_file_mmap(): the offset must be huge-page aligned, then hugetlb_reserve_pages() finds no huge
    // page to reserve. (docs/quirks.md: hugetlbfs memfds).
    if (sh.hugePageSize) return vma.offset % sh.hugePageSize ? -EINVAL : -ENOMEM;
    const sealed = (sh.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0;
    if (vma.shared && vma.prot & PROT_WRITE && sealed) return -EPERM;
    // memfd_check_seals_mmap(): a read-only shared mapping of a write-sealed memfd loses VM_MAYWRITE and
    // does not count as writable (SEAL-6).
    if (vma.shared && file.canWrite && !sealed) {
      sh.writableMaps++;
      vma.onUnmap = () => {
        sh.writableMaps--;
      };
      vma.onOpen = () => {
        sh.writableMaps++;
      };
    }
    const bytes = new Uint8Array(sh.buffer);
    vma.backing = vma.shared ? bytes : bytes.slice();
    vma.backingOffset = vma.offset;
    vma.name = `/memfd:${sh.name} (deleted)`;
    return 0;
  },
  release(_inode, file) {
    shmemOf(file)!.release();
  },
};

/** What memfd_create needs of the kernel: inode numbers, the census of files, and memory. */
export interface ShmemDeps {
  readonly paths: PathTree;
  readonly census: Census;
  readonly pages: PagePool;
}

/** `memfd_create(name, flags)` (MEMFD-1..3). `name` is a user pointer or, for convenience, the string itself. */
export function memfdCreate(deps: ShmemDeps, task: Caller, name: string | number, flags: number): SysRet {
  // With MFD_HUGETLB the page-size bits (MFD_HUGE_SHIFT 26, 6 bits) are allowed too.
  const valid =
    MFD_CLOEXEC |
    MFD_ALLOW_SEALING |
    MFD_HUGETLB |
    MFD_NOEXEC_SEAL |
    MFD_EXEC |
    (flags & MFD_HUGETLB ? 0x3f << 26 : 0);
  if (flags & ~valid) return -EINVAL;
  if (flags & MFD_EXEC && flags & MFD_NOEXEC_SEAL) return -EINVAL;
  let text: string;
  if (typeof name === 'string') {
    text = name;
  } else {
    const bytes: number[] = [];
    for (;;) {
      const b = task.mm.copyFromUser(name + bytes.length, 1);
      if (!b) return -EFAULT;
      if (b[0] === 0) break;
      bytes.push(b[0]!);
      if (bytes.length > MFD_NAME_MAX_LEN) return -EINVAL;
    }
    text = String.fromCharCode(...bytes);
  }
  // strnlen_user() counts bytes: a name of 250 UTF-8 bytes is too long even in fewer characters.
  if (utf8Length(text) > MFD_NAME_MAX_LEN) return -EINVAL;
  const fd = task.files.allocFd();
  if (fd < 0) return fd;
  // hugetlb_file_setup(): the size encoded in the flags must be one of the machine's huge page sizes (x86-64's
  // 2 MiB, the default, and 1 GiB); -ENODEV otherwise.
  const hugeLog = (flags >>> 26) & 0x3f;
  const hugePageSize = !(flags & MFD_HUGETLB) ? 0 : hugeLog === 0 ? 2 << 20 : 2 ** hugeLog;
  if (flags & MFD_HUGETLB && hugeLog !== 0 && hugeLog !== 21 && hugeLog !== 30) return -ENODEV;
  let seals = flags & MFD_ALLOW_SEALING ? 0 : F_SEAL_SEAL;
  let mode = 0o777;
  if (flags & MFD_NOEXEC_SEAL) {
    seals = F_SEAL_EXEC;
    mode = 0o666;
  }
  const sh = new ShmemInode(deps.pages, text, seals, mode, hugePageSize);
  sh.hold();
  const file = new File(
    deps.census,
    newInode(deps.paths.allocIno(), 'reg', mode, shmemFops, sh),
    O_RDWR | O_LARGEFILE,
    `/memfd:${text} (deleted)`,
  );
  file.opened = true;
  file.positional = true;
  task.files.install(fd, file, (flags & MFD_CLOEXEC) !== 0);
  return fd;
}

/**
 * `shmem_tmpfile()`: the unnamed regular file `open(dir, O_TMPFILE | ...)` makes in a tmpfs directory (the
 * simulated `/dev` and `/` stand for devtmpfs and the initramfs's rootfs). Like a memfd it is shmem, but it is
 * no memfd: its seals are `F_SEAL_SEAL` from the start. `fflags` are the open file's flags, `__O_TMPFILE`
 * included; 0644 is 0666 under the usual umask.
 */
export function shmemTmpfile(deps: ShmemDeps, dir: string, fflags: number): File {
  const sh = new ShmemInode(deps.pages, '', F_SEAL_SEAL, 0o644);
  sh.hold();
  const ino = deps.paths.allocIno();
  const file = new File(
    deps.census,
    newInode(ino, 'reg', 0o644, shmemFops, sh),
    fflags,
    `${dir}/#${ino} (deleted)`,
  );
  file.opened = true;
  file.positional = true;
  return file;
}

/** `memfd_add_seals()` (SEAL-1..8). */
export function memfdAddSeals(file: File, seals: number): SysRet {
  if (!file.canWrite) return -EPERM;
  if (seals & ~ALL_SEALS) return -EINVAL;
  const sh = shmemOf(file);
  if (!sh) return -EINVAL;
  if (sh.seals & F_SEAL_SEAL) return -EPERM;
  if (seals & F_SEAL_EXEC && sh.mode & 0o111)
    seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
  if (seals & F_SEAL_WRITE && !(sh.seals & F_SEAL_WRITE)) {
    if (sh.writableMaps > 0) return -EBUSY;
    if (sh.pins > 0)
      return sleepOn([], 'memfd_wait_for_pins: pages pinned by a udmabuf', () => -EBUSY, {
        timeoutNs: 150_000_000,
        interruptible: false,
      });
  }
  sh.seals |= seals;
  return 0;
}

/** `memfd_get_seals()` (SEAL-9). */
export function memfdGetSeals(file: File): number {
  const sh = shmemOf(file);
  return sh ? sh.seals : -EINVAL;
}

/** `ftruncate` of a memfd (TRUNC-2, TRUNC-3). The caller has done the generic checks of TRUNC-1. */
export function shmemTruncate(sh: ShmemInode, length: number): number {
  if (sh.hugePageSize && length % sh.hugePageSize !== 0) return -EINVAL;
  if (length === sh.size) return 0;
  if (length < sh.size && sh.seals & F_SEAL_SHRINK) return -EPERM;
  if (length > sh.size && sh.seals & F_SEAL_GROW) return -EPERM;
  return sh.resize(length);
}
