/**
 * udmabuf (drivers/dma-buf/udmabuf.c): `/dev/udmabuf` turns memfd pages into a dma-buf with
 * UDMABUF_CREATE and UDMABUF_CREATE_LIST; the pages stay shared both ways with the memfd. Rules UDMA-1..11,
 * DMMAP-2, SYNC-4, SYNC-5.
 */
import { EBADFD, EFAULT, EINVAL, ENOMEM, ENOTTY } from '../../uapi/errno.ts';
import { F_SEAL_FUTURE_WRITE, F_SEAL_SHRINK, F_SEAL_WRITE, O_CLOEXEC, O_RDWR } from '../../uapi/fcntl.ts';
import { PAGE_SIZE } from '../../uapi/mman.ts';
import {
  UDMABUF_CREATE,
  UDMABUF_CREATE_LIST,
  UDMABUF_FLAGS_CLOEXEC,
  udmabuf_create,
  udmabuf_create_item,
} from '../../uapi/udmabuf.ts';
import { type ShmemInode, shmemOf } from '../shmem.ts';
import {
  type Caller,
  compatPtrIoctl,
  type FileOperations,
  newInode,
  type PathTree,
  setMappingPieces,
} from '../vfs.ts';
import { type DmaBufCore, type DmaBufOps, dmaBufExport, dmaBufFd } from './dma-buf.ts';

/** `list_limit` module parameter. */
export const UDMABUF_LIST_LIMIT = 1024;
/** `size_limit_mb` module parameter (INT_MAX), in pages. */
const PAGE_LIMIT = (BigInt(0x7fffffff) * 1024n * 1024n) >> 12n;
/**
 * Most pages whose per-page arrays `init_udmabuf()` can allocate: kvmalloc refuses more than INT_MAX bytes,
 * and each array holds one 8-byte pointer per page.
 */
const KVMALLOC_PAGE_LIMIT = BigInt(0x7fffffff) / 8n;

interface Item {
  memfd: number;
  offset: bigint;
  size: bigint;
}

/** `struct udmabuf`: the pinned pieces and whether CPU access has mapped them (SYNC-4/5). */
interface Udmabuf {
  readonly pieces: { readonly sh: ShmemInode; readonly offset: number; readonly size: number }[];
  mapped: boolean;
}

const udmabufOps: DmaBufOps = {
  exporterName: 'udmabuf',
  release: (dmabuf) => {
    for (const p of (dmabuf.priv as Udmabuf).pieces) {
      p.sh.pins--;
      p.sh.release();
    }
  },
  mmap: (dmabuf, vma) => {
    if (!vma.shared) return -EINVAL;
    vma.name = dmabuf.path;
    setMappingPieces(vma, dmabuf.sg);
    return 0;
  },
  // begin_cpu_access_udmabuf() maps the pages for the misc device once, then syncs them for the CPU;
  // end_cpu_access_udmabuf() syncs them for the device (SYNC-4, SYNC-5).
  beginCpuAccess: (dmabuf, dir) => {
    (dmabuf.priv as Udmabuf).mapped = true;
    dmabuf.syncCaches(true, dir);
    return 0;
  },
  endCpuAccess: (dmabuf, dir) => {
    if (!(dmabuf.priv as Udmabuf).mapped) return -EINVAL;
    dmabuf.syncCaches(false, dir);
    return 0;
  },
  attach: () => 0,
};

/**
 * `udmabuf_create()` (UDMA-4..11): pass 1 over the items, then `init_udmabuf()`'s two arrays of one pointer
 * per page (-ENOMEM past what kvmalloc allows, before any fd is looked at: UDMA-4 in docs/quirks.md), then the
 * memfds.
 */
function udmabufCreate(dmabufs: DmaBufCore, task: Caller, flags: number, items: readonly Item[]): number {
  let pages = 0n;
  for (const it of items) {
    if (it.offset % BigInt(PAGE_SIZE) !== 0n) return -EINVAL;
    if (it.size % BigInt(PAGE_SIZE) !== 0n) return -EINVAL;
    pages += it.size >> 12n;
    if (pages > PAGE_LIMIT) return -EINVAL;
  }
  if (pages === 0n) return -EINVAL;
  if (pages > KVMALLOC_PAGE_LIMIT) return -ENOMEM;
  const pieces: Udmabuf['pieces'] = [];
  const undo = () => {
    for (const p of pieces) {
      p.sh.pins--;
      p.sh.release();
    }
  };
  for (const it of items) {
    const file = task.files.file(it.memfd | 0);
    if (!file) {
      undo();
      return -EBADFD;
    }
    const sh = shmemOf(file);
    if (!sh) {
      undo();
      return -EBADFD;
    }
    if ((sh.seals & F_SEAL_SHRINK) === 0 || sh.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
      undo();
      return -EINVAL;
    }
    if (it.size === 0n || it.offset >= 1n << 63n || it.offset + it.size > BigInt(sh.size)) {
      undo();
      return -EINVAL;
    }
    // memfd_pin_folios() must allocate the huge pages of a hugetlbfs memfd, and none is reserved. (docs/quirks.md: hugetlbfs memfds).
    if (sh.hugePageSize) {
      undo();
      return -ENOMEM;
    }
    sh.pins++;
    sh.hold();
    pieces.push({ sh, offset: Number(it.offset), size: Number(it.size) });
  }
  const size = Number(pages) * PAGE_SIZE;
  const dmabuf = dmaBufExport(dmabufs, {
    ops: udmabufOps,
    size,
    sg: pieces.map((p) => p.sh.view(p.offset, p.size)),
    flags: O_RDWR,
    priv: { pieces, mapped: false } satisfies Udmabuf,
  });
  const fd = dmaBufFd(task, dmabuf, flags & UDMABUF_FLAGS_CLOEXEC ? O_CLOEXEC : 0);
  if (fd < 0) dmabuf.file.put();
  return fd;
}

/** `udmabuf_ioctl()` (UDMA-1..3). */
function udmabufIoctl(dmabufs: DmaBufCore, cmd: number, arg: number, task: Caller): number {
  const abi = task.compat ? 'ilp32' : 'lp64';
  if (cmd === UDMABUF_CREATE) {
    const b = task.mm.copyFromUser(arg, udmabuf_create.size(abi));
    if (!b) return -EFAULT;
    const c = udmabuf_create.decode(b, abi);
    return udmabufCreate(dmabufs, task, c.flags, [{ memfd: c.memfd, offset: c.offset, size: c.size }]);
  }
  if (cmd === UDMABUF_CREATE_LIST) {
    const head = task.mm.copyFromUser(arg, 8);
    if (!head) return -EFAULT;
    const dv = new DataView(head.buffer);
    const flags = dv.getUint32(0, true);
    const count = dv.getUint32(4, true);
    if (count > UDMABUF_LIST_LIMIT) return -EINVAL;
    const isz = udmabuf_create_item.size(abi);
    const list = task.mm.copyFromUser(arg + 8, count * isz);
    if (!list) return -EFAULT;
    const items: Item[] = [];
    for (let i = 0; i < count; i++) {
      const it = udmabuf_create_item.decode(list.subarray(i * isz, (i + 1) * isz), abi);
      items.push({ memfd: it.memfd, offset: it.offset, size: it.size });
    }
    return udmabufCreate(dmabufs, task, flags, items);
  }
  return -ENOTTY;
}

/** What udmabuf needs of the kernel. */
export interface UdmabufDeps {
  readonly paths: PathTree;
  readonly dmaBuf: DmaBufCore;
}

/** `udmabuf_fops`: the dma-buf core is the inode's private data. */
const udmabufFops: FileOperations = {
  open: () => 0,
  unlockedIoctl: (file, cmd, arg, task) => udmabufIoctl(file.inode.priv as DmaBufCore, cmd >>> 0, arg, task),
  compatIoctl: compatPtrIoctl,
};

/** Creates `/dev/udmabuf`. */
export function registerUdmabuf(deps: UdmabufDeps): void {
  deps.paths.add(
    '/dev/udmabuf',
    newInode(deps.paths.allocIno(), 'chr', 0o600, udmabufFops, deps.dmaBuf, { major: 10, minor: 125 }),
  );
}
