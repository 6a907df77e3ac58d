/**
 * The dma-buf core (drivers/dma-buf/dma-buf.c): exported buffers tied to an anonymous file, their fd
 * operations (mmap, DMA_BUF_IOCTL_SYNC, SET_NAME, EXPORT/IMPORT_SYNC_FILE, poll, llseek, release) and the
 * importer side (dma_buf_get, attach). A dma-buf lives exactly as long as its file: fds, mappings,
 * importer references and armed poll callbacks all hold a file reference. Rules DBUF-*, DLIFE-*, DMMAP-*,
 * SYNC-*, DIOC-*, DPOLL-*, SFILE-1..3.
 */

import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_NAME_LEN,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_VALID_FLAGS_MASK,
  DMA_BUF_SYNC_WRITE,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
} from '../../uapi/dma-buf.ts';
import { EBADF, EFAULT, EINVAL, EMFILE, ENOTTY, ERESTARTSYS } from '../../uapi/errno.ts';
import { O_ACCMODE, O_CLOEXEC, O_NONBLOCK, SEEK_END, SEEK_SET } from '../../uapi/fcntl.ts';
import { PAGE_SIZE } from '../../uapi/mman.ts';
import { EPOLLIN, EPOLLOUT } from '../../uapi/poll.ts';
import { CACHE_LINE, CpuCache } from '../cpu-cache.ts';
import type { FaultInjector } from '../fault-inject.ts';
import type { Census } from '../kref.ts';
import type { PlatformProfile } from '../platform.ts';
import type { Tracepoints } from '../tracepoints.ts';
import {
  type Caller,
  compatPtrIoctl,
  File,
  type FileOperations,
  newInode,
  type PollTable,
  type VmaRequest,
} from '../vfs.ts';
import { type SysRet, WaitQueue } from '../wait.ts';
import type { DmaFence, FenceDomain } from './fence.ts';
import {
  DMA_RESV_USAGE_READ,
  DMA_RESV_USAGE_WRITE,
  DmaResv,
  dmaResvUsageRw,
  resvWaitTimeout,
} from './resv.ts';
import { fenceArray, syncFileCreate, syncFileGetFence } from './sync-file.ts';

/** CPU access direction of begin/end_cpu_access (`enum dma_data_direction`). */
export type DmaDataDirection = 'bidirectional' | 'to-device' | 'from-device';

/** The exporter's operations (`struct dma_buf_ops`), reduced to what user space can reach. */
export interface DmaBufOps {
  /** Exporter name (`exp_name`): `system`, `udmabuf`, `industrialio_buffer_dma`. */
  readonly exporterName: string;
  /** The last reference went: free or unpin the memory. */
  release(dmabuf: DmaBuf): void;
  /** Checks and sets up a mapping after the core's size check; 0 or -errno. Absent: mmap -EINVAL. */
  mmap?(dmabuf: DmaBuf, vma: VmaRequest): number;
  beginCpuAccess?(dmabuf: DmaBuf, dir: DmaDataDirection): number;
  endCpuAccess?(dmabuf: DmaBuf, dir: DmaDataDirection): number;
  /** Whether an importer may attach; 0 or -errno (ATT-6). */
  attach?(dmabuf: DmaBuf): number;
  /** `map_dma_buf` of an attachment (ATT-9), for its cache maintenance; `unmapAttachment` is the reverse. */
  mapAttachment?(dmabuf: DmaBuf, dir: DmaDataDirection): void;
  unmapAttachment?(dmabuf: DmaBuf, dir: DmaDataDirection): void;
  /** The memory is coherent for the CPU (dma_alloc_coherent, v2 IIO buffers): mappings are never cached. */
  readonly coherentMemory?: boolean;
  /** File references the exporter's own code holds on the buffer, for reference audits (v2 IIO queues). */
  exporterRefs?(dmabuf: DmaBuf): number;
}

/** Where the dma-buf core differs between ABI profiles. */
export interface DmaBufAbi {
  /** DMA_BUF_IOCTL_EXPORT_SYNC_FILE and _IMPORT_SYNC_FILE exist (Linux 5.20+; the v2 series' 5.17: -ENOTTY). */
  readonly syncFileIoctls: boolean;
  /** The stub fence reports detached names once signalled (TRACE-4), as every fence does since 6.x. */
  readonly stubDetachesNames: boolean;
}

/** What the dma-buf core needs of the kernel. */
export interface DmaBufServices {
  readonly census: Census;
  readonly now: () => number;
  readonly trace: Tracepoints;
  readonly fences: FenceDomain;
  /** DMA is cache-coherent on this platform: mapped buffers need no cache model. */
  readonly coherentDma: boolean;
  /** The platform's costs (cache maintenance per line, mapping per page). */
  readonly platform: () => PlatformProfile;
  /** Charges CPU time (ps) to the task whose syscall runs now (`Sched.charge`). */
  readonly charge: (ps: number, memoryBound: boolean) => void;
  readonly abi: DmaBufAbi;
  /** Fault injection: the ATT-6 and ATT-9 sites. */
  readonly faults: FaultInjector;
}

/**
 * The dma-buf core of one kernel: its services, the dmabuffs inode counter (DBUF-4) and the list of
 * live buffers (`db_list`).
 */
export class DmaBufCore {
  readonly services: DmaBufServices;
  /** dma-bufs alive, by inode number. */
  readonly live = new Map<number, DmaBuf>();
  #nextIno = 1;

  constructor(services: DmaBufServices) {
    this.services = services;
  }

  /** A new dmabuffs inode number, unique from 1 (DBUF-4). */
  allocIno(): number {
    return this.#nextIno++;
  }
}

/** Everything an exporter hands to {@link dmaBufExport}. */
export interface DmaBufExportInfo {
  readonly ops: DmaBufOps;
  readonly size: number;
  /** The pages, as one or more contiguous pieces (a scatter list), `size` bytes in all. */
  readonly sg: readonly Uint8Array[];
  /** Open flags of the file: access mode and O_NONBLOCK are kept (DBUF-2). */
  readonly flags: number;
  /** Exporter data. */
  readonly priv?: unknown;
}

/** One armed poll callback (`struct dma_buf_poll_cb_t`). */
interface PollCb {
  active: number;
  fence: DmaFence | null;
  cb: ((f: DmaFence) => void) | null;
}

/** `struct dma_buf`. */
export class DmaBuf {
  readonly core: DmaBufCore;
  readonly ops: DmaBufOps;
  readonly size: number;
  readonly sg: readonly Uint8Array[];
  readonly resv: DmaResv;
  readonly file: File;
  /** Unique dmabuffs inode number (DBUF-4). */
  readonly ino: number;
  name = '';
  readonly priv: unknown;
  /** Wait queue of pollers (`dmabuf->poll`). */
  readonly pollq: WaitQueue;
  readonly cbIn: PollCb = { active: 0, fence: null, cb: null };
  readonly cbOut: PollCb = { active: 0, fence: null, cb: null };
  /** Importers attached (`attachments`); each holds a file reference. */
  attachments = 0;
  /** Attachments whose pages are mapped for their device (`a->mapped` of the system heap). */
  mappedAttachments = 0;
  readonly #caches = new Map<Uint8Array, CpuCache>();

  constructor(core: DmaBufCore, info: DmaBufExportInfo, ino: number) {
    this.core = core;
    this.ops = info.ops;
    this.size = info.size;
    this.sg = info.sg;
    this.priv = info.priv ?? null;
    this.ino = ino;
    this.resv = new DmaResv(`dmabuf ${ino}`);
    this.pollq = new WaitQueue(`dmabuf ${ino} poll`);
    const inode = newInode(0x10000 + ino, 'anon', 0o600, dmaBufFops, this);
    this.file = new File(core.services.census, inode, info.flags & (O_ACCMODE | O_NONBLOCK), '/dmabuf:');
    this.file.privateData = this;
    this.file.opened = true;
  }

  /**
   * The CPU cache over scatter-list piece `memory`, when the platform's DMA is not cache-coherent and the
   * exporter's memory is cacheable; null otherwise.
   */
  cpuCache(memory: Uint8Array): CpuCache | null {
    if (this.core.services.coherentDma || this.ops.coherentMemory) return null;
    let c = this.#caches.get(memory);
    if (!c) {
      c = new CpuCache(memory);
      this.#caches.set(memory, c);
    }
    return c;
  }

  /**
   * Streaming-DMA cache maintenance of the whole buffer, as `dma_sync_sgtable_for_cpu` (`forCpu`) and
   * `dma_sync_sgtable_for_device` do on arm64: `arch_sync_dma_for_cpu()` invalidates unless the direction
   * is to-device; `arch_sync_dma_for_device()` cleans whatever the direction (since Linux 5.19).
   */
  syncCaches(forCpu: boolean, dir: DmaDataDirection): void {
    const op = forCpu ? (dir === 'to-device' ? null : 'invalidate') : 'clean';
    if (op === null) return;
    const { services } = this.core;
    if (!services.coherentDma && !this.ops.coherentMemory) {
      // dcache_by_line_op over the whole buffer through the linear map, whether the CPU touched it or not.
      const p = services.platform();
      const perLine = op === 'clean' ? p.cacheCleanNsPerLine : p.cacheInvalidateNsPerLine;
      services.charge(Math.ceil(this.size / CACHE_LINE) * perLine * 1000, false);
    }
    if (this.#caches.size === 0) return;
    let lines = 0;
    for (const c of this.#caches.values()) lines += op === 'clean' ? c.clean() : c.invalidate();
    const { trace, now } = this.core.services;
    if (trace.enabled('dmabuf:cache')) trace.emit('dmabuf:cache', { ino: this.ino, op, lines, time: now() });
  }

  /** The name shown by `/proc/self/fd` (`/dmabuf:<name>`, DBUF-4). */
  get path(): string {
    return `/dmabuf:${this.name}`;
  }

  /** Reads bytes at `offset` across the scatter list. */
  readBytes(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    let base = 0;
    for (const seg of this.sg) {
      if (done >= length) break;
      const segEnd = base + seg.length;
      const from = offset + done;
      if (from < segEnd) {
        const n = Math.min(length - done, segEnd - from);
        out.set(seg.subarray(from - base, from - base + n), done);
        done += n;
      }
      base = segEnd;
    }
    return out;
  }

  /** Writes bytes at `offset` across the scatter list. */
  writeBytes(offset: number, bytes: Uint8Array): void {
    let done = 0;
    let base = 0;
    for (const seg of this.sg) {
      if (done >= bytes.length) break;
      const segEnd = base + seg.length;
      const at = offset + done;
      if (at < segEnd) {
        const n = Math.min(bytes.length - done, segEnd - at);
        seg.set(bytes.subarray(done, done + n), at - base);
        done += n;
      }
      base = segEnd;
    }
  }

  /** The first `length` bytes as DMA vectors (`sg_dma_address/len` pairs cut at `length`). */
  vecs(length: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let left = length;
    for (const seg of this.sg) {
      if (left <= 0) break;
      const n = Math.min(seg.length, left);
      out.push(seg.subarray(0, n));
      left -= n;
    }
    return out;
  }
}

/** `dma_buf_export()`: wraps exporter memory in a dma-buf and its file (one file reference). */
export function dmaBufExport(core: DmaBufCore, info: DmaBufExportInfo): DmaBuf {
  const dmabuf = new DmaBuf(core, info, core.allocIno());
  core.live.set(dmabuf.ino, dmabuf);
  return dmabuf;
}

/** `dma_buf_fd()`: installs the dma-buf's file at the lowest free fd; -EMFILE when none. */
export function dmaBufFd(task: Caller, dmabuf: DmaBuf, flags: number): number {
  return task.files.installLowest(dmabuf.file, (flags & O_CLOEXEC) !== 0);
}

/** `dma_buf_get()`: the dma-buf behind `fd` with a reference, -EBADF or -EINVAL (ATT-4, ATT-5). */
export function dmaBufGet(task: Caller, fd: number): DmaBuf | number {
  const file = task.files.file(fd | 0);
  if (!file) return -EBADF;
  if (file.fops !== dmaBufFops) return -EINVAL;
  file.get();
  return file.privateData as DmaBuf;
}

/** `dma_buf_put()`. */
export function dmaBufPut(dmabuf: DmaBuf): void {
  dmabuf.file.put();
}

/**
 * `dma_buf_attach()`: the exporter may refuse (ATT-6); the attachment then counts among the buffer's
 * importers. The caller holds the file reference the attachment keeps.
 */
export function dmaBufAttach(dmabuf: DmaBuf): number {
  const { faults } = dmabuf.core.services;
  if (faults.armed) {
    const injected = faults.hit('dma_buf_attach');
    if (injected) return injected;
  }
  const err = dmabuf.ops.attach?.(dmabuf) ?? 0;
  if (err) return err;
  dmabuf.attachments++;
  return 0;
}

/** `dma_buf_detach()`: the attachment is gone (its file reference is the caller's to drop). */
export function dmaBufDetach(dmabuf: DmaBuf): void {
  dmabuf.attachments--;
}

/**
 * `dma_buf_map_attachment()` (ATT-9): the exporter maps the pages for the device, with its cache maintenance;
 * 0, or the exporter's -errno (only an injected fault: the simulated exporters never refuse), with nothing
 * mapped.
 */
export function dmaBufMapAttachment(dmabuf: DmaBuf, dir: DmaDataDirection): number {
  const { faults } = dmabuf.core.services;
  if (faults.armed) {
    const injected = faults.hit('dma_buf_map_attachment');
    if (injected) return injected;
  }
  chargeMapping(dmabuf);
  dmabuf.ops.mapAttachment?.(dmabuf, dir);
  return 0;
}

/** The scatter list's bookkeeping of `dma_map_sgtable()`/`dma_unmap_sgtable()`, per page, to the caller. */
function chargeMapping(dmabuf: DmaBuf): void {
  const { services } = dmabuf.core;
  services.charge(Math.ceil(dmabuf.size / PAGE_SIZE) * services.platform().dmaMapNsPerPage * 1000, false);
}

/** `dma_buf_unmap_attachment()`: the reverse of {@link dmaBufMapAttachment}. */
export function dmaBufUnmapAttachment(dmabuf: DmaBuf, dir: DmaDataDirection): void {
  chargeMapping(dmabuf);
  dmabuf.ops.unmapAttachment?.(dmabuf, dir);
}

/** True when `file` is a dma-buf. */
export function isDmaBufFile(file: File): boolean {
  return file.fops === dmaBufFops;
}

function syncDirection(flags: number): DmaDataDirection | null {
  switch (flags & DMA_BUF_SYNC_RW) {
    case 1:
      return 'from-device';
    case 2:
      return 'to-device';
    case 3:
      return 'bidirectional';
    default:
      return null;
  }
}

/** `DMA_BUF_IOCTL_SYNC` (SYNC-1..8). */
function dmaBufSync(dmabuf: DmaBuf, arg: number, task: Caller): SysRet {
  const b = task.mm.copyFromUserSmall(arg, 8);
  if (!b) return -EFAULT;
  // The u64 as two halves (no BigInt per call): every valid flag lies in the low one.
  const lo = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  if (b[4]! | b[5]! | b[6]! | b[7]! || lo & ~DMA_BUF_SYNC_VALID_FLAGS_MASK) return -EINVAL;
  const flags = lo;
  const dir = syncDirection(flags);
  if (dir === null) return -EINVAL;
  if (flags & DMA_BUF_SYNC_END) {
    const ret = dmabuf.ops.endCpuAccess?.(dmabuf, dir) ?? 0;
    return ret || syncTraced(dmabuf, task, flags);
  }
  const ret = dmabuf.ops.beginCpuAccess?.(dmabuf, dir) ?? 0;
  if (ret) return ret;
  const write = dir !== 'from-device';
  // Anonymous arrows: tsx (esbuild keepNames) names every named closure with a defineProperty per call.
  return resvWaitTimeout(
    dmabuf.resv,
    dmaResvUsageRw(write),
    null,
    dmabuf.core.services.now,
    () => `DMA_BUF_IOCTL_SYNC start: waiting for fences of dmabuf ${dmabuf.ino}`,
    -ERESTARTSYS,
    () => syncTraced(dmabuf, task, flags),
  );
}

/** The end of a successful DMA_BUF_IOCTL_SYNC: its `dmabuf:sync` event, and 0. */
function syncTraced(dmabuf: DmaBuf, task: Caller, flags: number): number {
  const { trace, now } = dmabuf.core.services;
  if (trace.enabled('dmabuf:sync'))
    trace.emit('dmabuf:sync', {
      pid: task.pid,
      comm: task.comm,
      ino: dmabuf.ino,
      flags,
      time: now(),
    });
  return 0;
}

/** `dma_buf_set_name()` (DIOC-1): the argument is the string pointer itself. */
function dmaBufSetName(dmabuf: DmaBuf, arg: number, task: Caller): number {
  const bytes: number[] = [];
  for (let i = 0; i < DMA_BUF_NAME_LEN; i++) {
    const b = task.mm.copyFromUser(arg + i, 1);
    if (!b) return -EFAULT;
    if (b[0] === 0) {
      dmabuf.name = String.fromCharCode(...bytes);
      return 0;
    }
    bytes.push(b[0]!);
  }
  return -EINVAL;
}

/** `dma_buf_export_sync_file()` (SFILE-1..3). */
function dmaBufExportSyncFile(dmabuf: DmaBuf, arg: number, task: Caller): number {
  const abi = task.compat ? 'ilp32' : 'lp64';
  const b = task.mm.copyFromUser(arg, 8);
  if (!b) return -EFAULT;
  const req = dma_buf_export_sync_file.decode(b, abi);
  if (req.flags & ~DMA_BUF_SYNC_RW) return -EINVAL;
  if ((req.flags & DMA_BUF_SYNC_RW) === 0) return -EINVAL;
  const fd = task.files.allocFd();
  if (fd < 0) return -EMFILE;
  const usage = dmaResvUsageRw((req.flags & DMA_BUF_SYNC_WRITE) !== 0);
  const pending = dmabuf.resv.pending(usage);
  const { fences, census, abi: profile } = dmabuf.core.services;
  let fence: DmaFence;
  if (pending.length === 0) fence = fences.stub(profile.stubDetachesNames);
  else if (pending.length === 1) fence = pending[0]!.get();
  else fence = fenceArray(fences, pending);
  const file = syncFileCreate(census, fence);
  fence.put();
  const out = dma_buf_export_sync_file.encode({ flags: req.flags, fd }, abi);
  if (!task.mm.copyToUser(arg, out)) {
    file.put();
    return -EFAULT;
  }
  task.files.install(fd, file, true);
  return 0;
}

/** `dma_buf_import_sync_file()`: adds the sync_file's fences with READ or WRITE usage. */
function dmaBufImportSyncFile(dmabuf: DmaBuf, arg: number, task: Caller): SysRet {
  const abi = task.compat ? 'ilp32' : 'lp64';
  const b = task.mm.copyFromUser(arg, 8);
  if (!b) return -EFAULT;
  const req = dma_buf_import_sync_file.decode(b, abi);
  if (req.flags & ~DMA_BUF_SYNC_RW) return -EINVAL;
  if ((req.flags & DMA_BUF_SYNC_RW) === 0) return -EINVAL;
  const fence = syncFileGetFence(task, req.fd);
  if (!fence) return -EINVAL;
  const usage = req.flags & DMA_BUF_SYNC_WRITE ? DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ;
  const members = fence.members ?? [fence];
  return dmabuf.resv.lock(task, false, -ERESTARTSYS, () => {
    for (const f of members) if (f.context !== 0) dmabuf.resv.addFence(f, usage);
    dmabuf.resv.unlock();
    fence.put();
    return 0;
  });
}

/** `dma_buf_poll()` (DPOLL-1..6). */
function dmaBufPoll(dmabuf: DmaBuf, pt: PollTable, task: Caller): number {
  pt.wait(dmabuf.pollq);
  let events = pt.key & (EPOLLIN | EPOLLOUT);
  if (!events) return 0;
  const holder = dmabuf.resv.holder;
  if (holder !== null && holder !== task) {
    pt.blockOn(dmabuf.resv.lockq);
    return 0;
  }
  if (events & EPOLLOUT && !armPollCb(dmabuf, dmabuf.cbOut, EPOLLOUT, true)) events &= ~EPOLLOUT;
  if (events & EPOLLIN && !armPollCb(dmabuf, dmabuf.cbIn, EPOLLIN, false)) events &= ~EPOLLIN;
  return events;
}

/**
 * `dma_buf_poll_add_cb()` with its caller's arming: registers `dcb` on the first unsignalled fence the
 * direction waits for; true when there is none (the callback ran at once: the event is ready).
 */
function armPollCb(dmabuf: DmaBuf, dcb: PollCb, ev: number, write: boolean): boolean {
  if (dcb.active) return false;
  dcb.active = ev;
  dmabuf.file.get();
  const usage = dmaResvUsageRw(write);
  for (const slot of dmabuf.resv.slots) {
    // A signalled fence refuses the callback (-ENOENT) without side effects: no closure for it.
    if (slot.usage > usage || slot.fence.signaled) continue;
    const fence = slot.fence;
    dcb.cb = () => pollCallback(dmabuf, dcb);
    fence.addCallback(dcb.cb);
    dcb.fence = fence.get();
    return false;
  }
  pollCallback(dmabuf, dcb);
  return true;
}

/** `dma_buf_poll_cb()`: wakes the pollers with the armed event and drops the file reference. */
function pollCallback(dmabuf: DmaBuf, dcb: PollCb): void {
  const ev = dcb.active;
  dcb.active = 0;
  const fence = dcb.fence;
  dcb.fence = null;
  dcb.cb = null;
  dmabuf.pollq.wake(ev);
  fence?.put();
  dmabuf.file.put();
}

/**
 * `dma_buf_mmap_internal()` (DMMAP-1) then the exporter's mmap. On a non-coherent platform the CPU sees the
 * mapping through the buffer's caches; every CPU access is reported for the contract checker.
 */
function dmaBufMmap(dmabuf: DmaBuf, vma: VmaRequest, task: Caller): number {
  if (!dmabuf.ops.mmap) return -EINVAL;
  const pages = Math.ceil(vma.length / PAGE_SIZE);
  if (vma.offset / PAGE_SIZE + pages > Math.floor(dmabuf.size / PAGE_SIZE)) return -EINVAL;
  const err = dmabuf.ops.mmap(dmabuf, vma);
  if (err) return err;
  vma.caches = vma.pieces
    ? vma.pieces.map((p) => dmabuf.cpuCache(p.backing))
    : [dmabuf.cpuCache(vma.backing!)];
  const { trace, now } = dmabuf.core.services;
  vma.onAccess = (addr, len, write) => {
    if (!trace.enabled('dmabuf:cpu-access')) return;
    const pending = dmabuf.resv.fences(dmaResvUsageRw(write)).filter((f) => !f.signaled).length;
    trace.emit('dmabuf:cpu-access', {
      pid: task.pid,
      comm: task.comm,
      ino: dmabuf.ino,
      addr,
      len,
      write,
      pendingFences: pending,
      time: now(),
    });
  };
  return 0;
}

/** `dma_buf_fops`. */
export const dmaBufFops: FileOperations = {
  llseek(file, offset, whence) {
    const dmabuf = file.privateData as DmaBuf;
    let base: number;
    if (whence === SEEK_END) base = dmabuf.size;
    else if (whence === SEEK_SET) base = 0;
    else return -EINVAL;
    if (offset !== 0) return -EINVAL;
    return base;
  },
  poll(file, pt, task) {
    return dmaBufPoll(file.privateData as DmaBuf, pt, task);
  },
  unlockedIoctl(file, cmd, arg, task) {
    const dmabuf = file.privateData as DmaBuf;
    switch (cmd) {
      case DMA_BUF_IOCTL_SYNC:
        return dmaBufSync(dmabuf, arg, task);
      case DMA_BUF_SET_NAME_A:
      case DMA_BUF_SET_NAME_B:
        return dmaBufSetName(dmabuf, arg, task);
      case DMA_BUF_IOCTL_EXPORT_SYNC_FILE:
        if (!dmabuf.core.services.abi.syncFileIoctls) return -ENOTTY;
        return dmaBufExportSyncFile(dmabuf, arg, task);
      case DMA_BUF_IOCTL_IMPORT_SYNC_FILE:
        if (!dmabuf.core.services.abi.syncFileIoctls) return -ENOTTY;
        return dmaBufImportSyncFile(dmabuf, arg, task);
      default:
        return -ENOTTY;
    }
  },
  compatIoctl: compatPtrIoctl,
  mmap(file, vma, task) {
    return dmaBufMmap(file.privateData as DmaBuf, vma, task);
  },
  release(_inode, file) {
    const dmabuf = file.privateData as DmaBuf;
    dmabuf.ops.release(dmabuf);
    dmabuf.resv.fini();
    dmabuf.core.live.delete(dmabuf.ino);
  },
};
