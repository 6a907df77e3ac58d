/**
 * A reference model of the IIO DMABUF contract, written from the rulebook and sharing no code with the
 * simulator's kernel: which fd refers to which open file, which DMABUF is attached to which buffer, which
 * block is queued, in flight, done or wedged, which fences are pending and which poll callbacks are armed.
 * Each operation returns the result the kernel must give and applies its effects.
 *
 * Timing is abstract. The model knows three things about time: nothing moves while a call runs (the
 * harness uses a platform where syscalls cost nothing), a call that has to wait is interrupted by a signal
 * (so it returns `-EINTR`), and {@link ContractModel.complete} lets enough time pass for every transfer that
 * can finish to finish, in order.
 *
 * The model covers one process, the heap, and the default board: `iio:device0` an ADC with a DMA buffer
 * (8-byte scans, 8-byte bus), `iio:device1` a DAC with a DMA buffer (4-byte bus), `iio:device2` a kfifo
 * device. Rule IDs refer to `kernel-semantics.md`.
 */

import type { AbiProfile } from '../uapi/ioctls.ts';

// errno values, kept local: the model shares nothing with the kernel it checks.
const EPERM = -1;
const EINTR = -4;
const EBADF = -9;
const EBUSY = -16;
const ENODEV = -19;
const EINVAL = -22;
const ENOTTY = -25;
const EACCES = -13;

const PAGE = 4096;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const POLLNVAL = 0x20;

/** What an fd refers to. */
export type FileKind = 'chardev' | 'buffer' | 'dmabuf' | 'heap';

/** The ioctls the model knows, by what they mean (the harness sends the profile's numbers). */
export type ModelRequest =
  | 'GET_FD'
  | 'HEAP_ALLOC'
  | 'ATTACH'
  | 'DETACH'
  | 'ENQUEUE'
  | 'V2_ALLOC'
  | 'V2_ENQUEUE'
  | 'SYNC';

/** The numbers of the model's devices. */
export const MODEL_DEVICES = { adc: 0, dac: 1, kfifo: 2 } as const;

interface MFile {
  readonly kind: FileKind;
  readonly dev: number;
  readonly dmabuf: MDmabuf | null;
  nonblock: boolean;
  refs: number;
}

interface MFence {
  readonly context: number;
  readonly seqno: number;
  /** 1 = WRITE, 2 = READ (RESV-1). */
  readonly usage: number;
  pending: boolean;
}

type BlockState = 'done' | 'queued' | 'active' | 'cyclic' | 'wedged' | 'orphan';

interface MBlock {
  readonly dmabuf: MDmabuf;
  state: BlockState;
  /** Fence of the current submission. */
  fence: MFence | null;
  cyclic: boolean;
  bytesUsed: number;
  /** Device whose queue holds the block (v2 may enqueue on another buffer, V2-ENQ-8). */
  dev: number;
  /** Order in the incoming FIFO while QUEUED. */
  queuedAt: number;
  // mainline attachment
  attached: boolean;
  readonly context: number;
  seqno: number;
  /** Pending fences of this attachment (the attachment lives until they signal, IFENCE-7). */
  readonly fences: MFence[];
  // v2
  /** The ALLOC size, unrounded (V2-ENQ-9). */
  readonly size: number;
  /** The queue the dma-buf was allocated from (v2). */
  readonly owner: number;
}

interface MDmabuf {
  readonly size: number;
  /** Access mode of the dma-buf file (HEAP-14): 2 = O_RDWR, 0 = O_RDONLY. */
  readonly access: number;
  /** References other than queue ones: fd files, mappings, armed poll callbacks, leaked ones. */
  refs: number;
  slots: MFence[];
  armed: { in: MFence | null; out: MFence | null };
  /** v2: the block IIO exported it for. */
  readonly v2block: MBlock | null;
}

interface MDev {
  readonly dir: 'in' | 'out' | 'kfifo';
  readonly align: number;
  chardev: MFile | null;
  buffer: MFile | null;
  enabled: boolean;
  fileio: boolean;
  /** Blocks handed to the DMA controller, in order (ACTIVE, cyclic included). */
  flight: MBlock[];
  /** Mainline: attachments whose block still exists. */
  blocks: MBlock[];
}

/** A model of one process's view of the contract. */
export class ContractModel {
  readonly profile: AbiProfile;
  readonly #fds: (MFile | undefined)[] = [];
  readonly #v2bufs: MDmabuf[] = [];
  readonly #dmabufs = new Set<MDmabuf>();
  /** The dma-bufs of the mappings made so far, in mapping order. */
  readonly #maps: MDmabuf[] = [];
  readonly #devs: MDev[];
  #nextContext = 1;
  #queueSeq = 0;

  constructor(profile: AbiProfile) {
    this.profile = profile;
    const dev = (dir: MDev['dir'], align: number): MDev => ({
      dir,
      align,
      chardev: null,
      buffer: null,
      enabled: false,
      fileio: false,
      flight: [],
      blocks: [],
    });
    this.#devs = [dev('in', 8), dev('out', 4), dev('kfifo', 1)];
  }

  /** The open fds, ascending, with what they refer to. */
  openFds(): { fd: number; kind: FileKind; dev: number }[] {
    const out: { fd: number; kind: FileKind; dev: number }[] = [];
    this.#fds.forEach((f, fd) => {
      if (f) out.push({ fd, kind: f.kind, dev: f.dev });
    });
    return out;
  }

  /** The open fds, ascending. */
  fdNumbers(): number[] {
    const out: number[] = [];
    for (let fd = 0; fd < this.#fds.length; fd++) if (this.#fds[fd]) out.push(fd);
    return out;
  }

  /** How many fds are open: of `kind`, or of any kind when it is undefined. */
  countFds(kind?: FileKind): number {
    let n = 0;
    for (const f of this.#fds) if (f && (kind === undefined || f.kind === kind)) n++;
    return n;
  }

  /** The open fd at index `n` of the ascending list {@link ContractModel.countFds} counts, or -1. */
  nthFd(n: number, kind?: FileKind): number {
    let left = n;
    for (let fd = 0; fd < this.#fds.length; fd++) {
      const f = this.#fds[fd];
      if (f && (kind === undefined || f.kind === kind) && left-- === 0) return fd;
    }
    return -1;
  }

  /** The highest open fd, or -1 when none is open. */
  lastFd(): number {
    for (let fd = this.#fds.length - 1; fd >= 0; fd--) if (this.#fds[fd]) return fd;
    return -1;
  }

  /** Whether a poll of `fd` would block inside the kernel (v2: V2-DBUF-2, the block holds the lock). */
  pollWouldHang(fd: number): boolean {
    const f = this.#file(fd);
    if (this.profile !== 'v2' || f?.kind !== 'dmabuf') return false;
    const state = f.dmabuf!.v2block?.state;
    return state === 'active' || state === 'cyclic' || state === 'wedged';
  }

  #lowest(): number {
    let fd = 0;
    while (this.#fds[fd]) fd++;
    return fd;
  }

  #install(kind: FileKind, dev: number, dmabuf: MDmabuf | null): number {
    const fd = this.#lowest();
    this.#fds[fd] = { kind, dev, dmabuf, nonblock: false, refs: 1 };
    if (dmabuf) dmabuf.refs++;
    return fd;
  }

  #file(fd: number): MFile | undefined {
    return fd >= 0 ? this.#fds[fd] : undefined;
  }

  /** The heap fd the harness opens before the commands start (HEAP-1). */
  openHeap(): number {
    return this.#install('heap', -1, null);
  }

  /** `open("/dev/iio:deviceN", O_RDWR)` (CDEV-3). */
  openChardev(dev: number): number {
    const d = this.#devs[dev]!;
    if (d.chardev !== null) return EBUSY;
    const fd = this.#install('chardev', dev, null);
    d.chardev = this.#fds[fd]!;
    return fd;
  }

  /** `close(fd)` (FD-3, FD-4 with the releases of CDEV-5, BREL-2, V2-REL-1, DLIFE-1). */
  close(fd: number): number {
    const f = this.#file(fd);
    if (!f) return EBADF;
    this.#fds[fd] = undefined;
    if (--f.refs > 0) return 0;
    if (f.kind === 'chardev') this.#devs[f.dev]!.chardev = null;
    if (f.kind === 'buffer') {
      const d = this.#devs[f.dev]!;
      d.buffer = null;
      if (this.profile === 'mainline') {
        for (const b of d.blocks) b.attached = false;
        this.#gc(d);
      }
    }
    if (f.kind === 'dmabuf') f.dmabuf!.refs--;
    return 0;
  }

  /** `dup(fd)` (FD-5). */
  dup(fd: number): number {
    const f = this.#file(fd);
    if (!f) return EBADF;
    const nfd = this.#lowest();
    this.#fds[nfd] = f;
    f.refs++;
    return nfd;
  }

  /** `fcntl(fd, F_SETFL, nonblock ? O_NONBLOCK : 0)` (FD-11). */
  setNonblock(fd: number, nonblock: boolean): number {
    const f = this.#file(fd);
    if (!f) return EBADF;
    f.nonblock = nonblock;
    return 0;
  }

  /** `mmap(NULL, len, RW, MAP_SHARED, fd, 0)` (MMAP-2, MMAP-8, MMAP-10, DMMAP-1): 0 stands for success. */
  mmap(fd: number, len: number): number {
    const f = this.#file(fd);
    if (!f) return EBADF;
    if (f.kind !== 'dmabuf') return ENODEV;
    const m = f.dmabuf!;
    if (m.access !== 2) return EACCES;
    if (Math.ceil(len / PAGE) > m.size / PAGE) return EINVAL;
    m.refs++;
    this.#maps.push(m);
    return 0;
  }

  /** Mappings made so far and not unmapped. */
  mapCount(): number {
    return this.#maps.length;
  }

  /** `munmap` of the whole of mapping number `i` (in mapping order): 0, and its dma-buf reference goes (MUNMAP-3). */
  munmap(i: number): number {
    const [m] = this.#maps.splice(i, 1);
    if (m) m.refs--;
    return 0;
  }

  /**
   * The dma-buf fds a DMABUF call on buffer fd `bufFd` would find: mainline, those attached to its buffer;
   * v2, those IIO allocated (for generators that want to reach deep states).
   */
  enqueueableFds(bufFd: number): number[] {
    const f = this.#file(bufFd);
    if (f?.kind !== 'buffer') return [];
    const d = this.#devs[f.dev]!;
    // A loop over the table, not a list of open files filtered: commands ask this several times per step.
    const out: number[] = [];
    for (let fd = 0; fd < this.#fds.length; fd++) {
      const o = this.#fds[fd];
      const m = o?.kind === 'dmabuf' ? o.dmabuf! : null;
      if (!m) continue;
      if (this.profile === 'v2' ? m.v2block !== null : d.blocks.some((b) => b.attached && b.dmabuf === m))
        out.push(fd);
    }
    return out;
  }

  /** Size of the dma-buf behind `fd`, if it is one. */
  dmabufOf(fd: number): { readonly size: number } | null {
    return this.#file(fd)?.dmabuf ?? null;
  }

  /** v2: the unrounded ALLOC size of the block behind dma-buf fd `fd`. */
  blockSizeOf(fd: number): number | null {
    return this.#file(fd)?.dmabuf?.v2block?.size ?? null;
  }

  /** dma-bufs the kernel still holds: by a reference (fd, mapping, armed callback, leak) or a queue (DLIFE-1). */
  liveDmabufs(): number {
    let n = 0;
    for (const m of this.#dmabufs) if (this.#dmabufAlive(m)) n++;
    return n;
  }

  #dmabufAlive(m: MDmabuf): boolean {
    if (m.v2block) return this.#v2Alive(m);
    if (m.refs > 0) return true;
    return this.#devs.some((d) => d.blocks.some((b) => b.dmabuf === m));
  }

  /** DMABUF blocks alive: mainline attachments (attached or with a pending fence), v2 blocks of live dma-bufs. */
  liveBlocks(): number {
    if (this.profile === 'mainline') return this.#devs.reduce((n, d) => n + d.blocks.length, 0);
    let n = 0;
    for (const m of this.#v2bufs) if (this.#v2Alive(m)) n++;
    return n;
  }

  /** Writing `1` or `0` to `iio:deviceN/buffer0/enable` (EN-9, EN-10, DMAQ-3, DMAQ-7, DMAQ-10, V2-IO-1). */
  setEnabled(dev: number, on: boolean): number {
    const d = this.#devs[dev]!;
    if (d.enabled === on) return 1;
    d.enabled = on;
    if (d.dir === 'kfifo') return 1;
    if (!on) {
      this.#abort(dev);
      d.fileio = false;
      return 1;
    }
    d.fileio = !this.#hasDmabufBlocks(dev);
    if (d.fileio) return 1;
    const queued = this.#queuedOn(dev).sort((a, b) => a.queuedAt - b.queuedAt);
    for (const b of queued) this.#submit(b, dev);
    return 1;
  }

  #hasDmabufBlocks(dev: number): boolean {
    if (this.profile === 'mainline') return this.#devs[dev]!.blocks.length > 0;
    return this.#v2bufs.some((m) => m.v2block!.owner === dev && this.#v2Alive(m));
  }

  #v2Alive(m: MDmabuf): boolean {
    const s = m.v2block!.state;
    return m.refs > 0 || s !== 'done';
  }

  #queuedOn(dev: number): MBlock[] {
    const all = this.profile === 'mainline' ? this.#devs[dev]!.blocks : this.#v2bufs.map((m) => m.v2block!);
    return all.filter((b) => b.state === 'queued' && b.dev === dev);
  }

  /** Disable: DMAQ-7 / IFENCE-3 (mainline, fences `-EINTR`), V2-FENCE-2 (v2, fences never signalled). */
  #abort(dev: number): void {
    const d = this.#devs[dev]!;
    for (const b of d.flight.splice(0)) {
      b.state = 'done';
      if (this.profile === 'mainline') this.#signal(b.fence!);
    }
    this.#gc(d);
  }

  #signal(f: MFence): void {
    if (!f.pending) return;
    f.pending = false;
    for (const m of this.#dmabufs) {
      if (m.armed.in === f) {
        m.armed.in = null;
        m.refs--;
      }
      if (m.armed.out === f) {
        m.armed.out = null;
        m.refs--;
      }
    }
    for (const d of this.#devs) this.#gc(d);
  }

  /** Mainline: drops blocks whose attachment is released and whose fences all signalled (DET-5, IFENCE-7). */
  #gc(d: MDev): void {
    if (this.profile !== 'mainline') return;
    d.blocks = d.blocks.filter((b) => b.attached || b.fences.some((f) => f.pending));
  }

  /** Hands a block to the controller: ENQ-20/21, CYC-2, DMAQ-5; v2: V2-SUB-1..6. */
  #submit(b: MBlock, dev: number): void {
    const d = this.#devs[dev]!;
    if (this.profile === 'mainline') {
      const refused = b.bytesUsed % d.align !== 0 || (b.cyclic && d.flight.some((x) => x.state === 'cyclic'));
      if (refused) {
        b.state = 'wedged';
        this.#signal(b.fence!);
        return;
      }
    } else {
      // Cyclic blocks repeat the whole block (V2-SUB-5); other IN blocks fill it, aligned (V2-SUB-2).
      const room = Math.floor(b.size / d.align) * d.align;
      const len = b.cyclic ? b.size : d.dir === 'in' ? room : b.bytesUsed;
      if (len === 0 || (!b.cyclic && len > room) || len % d.align !== 0) {
        b.state = 'wedged';
        return;
      }
    }
    b.state = b.cyclic ? 'cyclic' : 'active';
    d.flight.push(b);
  }

  /**
   * Enough time passes for every transfer that can finish to finish, in order (DMAQ-6, IFENCE-2). Mainline:
   * cyclic blocks keep repeating and later blocks still run (CYC-4, CYC-5); v2: nothing behind a cyclic
   * block ever starts (V2-SUB-6) and a cyclic block never completes (V2-SUB-5).
   */
  complete(): void {
    for (const d of this.#devs) {
      const keep: MBlock[] = [];
      let stuck = false;
      for (const b of d.flight) {
        if (b.state === 'cyclic' || stuck) {
          keep.push(b);
          if (this.profile === 'v2') stuck = true;
          continue;
        }
        b.state = 'done';
        this.#signal(b.fence!);
      }
      d.flight = keep;
    }
  }

  /**
   * An ioctl of `fd` with the argument the harness builds for `req` (`value`: the int, dma-buf fd or
   * allocation size; `bytesUsed`, `flags` for ENQUEUE and SYNC). Returns the ioctl result and, for calls
   * that report an fd through their argument, that fd.
   */
  ioctl(
    fd: number,
    req: ModelRequest,
    arg: { value: number; bytesUsed?: number; flags?: number },
  ): { ret: number; out?: number } {
    const f = this.#file(fd);
    if (!f) return { ret: EBADF };
    switch (f.kind) {
      case 'chardev':
        if (req !== 'GET_FD') return { ret: ENODEV };
        return this.#getFd(f, arg.value);
      case 'heap':
        if (req === 'HEAP_ALLOC') return this.#heapAlloc(arg.value, true);
        if (req === 'SYNC') return this.#heapAlloc(arg.flags ?? 0, false);
        return { ret: EINVAL };
      case 'dmabuf':
        if (req === 'SYNC') return { ret: this.#sync(f, arg.flags ?? 0) };
        return { ret: ENOTTY };
      case 'buffer':
        return { ret: this.#bufferIoctl(f, req, arg) };
    }
  }

  /** GETFD-2, GETFD-3, GETFD-6. */
  #getFd(f: MFile, index: number): { ret: number; out?: number } {
    if (index !== 0) return { ret: ENODEV };
    const d = this.#devs[f.dev]!;
    if (d.buffer !== null) return { ret: EBUSY };
    const nfd = this.#install('buffer', f.dev, null);
    d.buffer = this.#fds[nfd]!;
    return { ret: 0, out: nfd };
  }

  /**
   * HEAP-9, HEAP-13. `reported`: DMA_HEAP_IOCTL_ALLOC writes the fd back; any other nr-0 command (such as
   * DMA_BUF_IOCTL_SYNC sent to the heap, whose 8 bytes land in `len`) installs an fd it never reports.
   */
  #heapAlloc(len: number, reported: boolean): { ret: number; out?: number } {
    const size = Math.ceil(len / PAGE) * PAGE;
    if (size === 0) return { ret: EINVAL };
    const m = this.#newDmabuf(size, null, reported ? 2 : 0);
    const fd = this.#install('dmabuf', -1, m);
    return reported ? { ret: 0, out: fd } : { ret: 0 };
  }

  #newDmabuf(size: number, v2block: MBlock | null, access = 2): MDmabuf {
    const m: MDmabuf = {
      size,
      access,
      refs: 0,
      slots: [],
      armed: { in: null, out: null },
      v2block,
    };
    this.#dmabufs.add(m);
    return m;
  }

  /** DMA_BUF_IOCTL_SYNC (SYNC-2..7, V2-DBUF-5): a START that would wait is interrupted. */
  #sync(f: MFile, flags: number): number {
    if (flags & ~7 || (flags & 3) === 0) return EINVAL;
    if (flags & 4) return 0;
    const m = f.dmabuf!;
    const usage = this.profile === 'v2' ? 3 : flags & 2 ? 2 : 1;
    return m.slots.some((s) => s.pending && s.usage <= usage) ? EINTR : 0;
  }

  #bufferIoctl(
    f: MFile,
    req: ModelRequest,
    arg: { value: number; bytesUsed?: number; flags?: number },
  ): number {
    const d = this.#devs[f.dev]!;
    if (this.profile === 'v2') {
      if (req === 'V2_ALLOC') return this.#v2Alloc(f, d, arg.value);
      if (req === 'V2_ENQUEUE') return this.#v2Enqueue(f, d, arg.value, arg.bytesUsed ?? 0, arg.flags ?? 0);
      return 1;
    }
    if (req === 'ATTACH') return this.#attach(f, d, arg.value);
    if (req === 'DETACH') return this.#detach(d, arg.value);
    if (req === 'ENQUEUE') return this.#enqueue(f, d, arg.value, arg.bytesUsed ?? 0, arg.flags ?? 0);
    return EINVAL;
  }

  /** `dma_buf_get()`: ATT-4, ATT-5. */
  #dmabufGet(fd: number): MDmabuf | number {
    const f = this.#file(fd);
    if (!f) return EBADF;
    if (f.kind !== 'dmabuf') return EINVAL;
    return f.dmabuf!;
  }

  // ---- mainline ------------------------------------------------------------------------------------

  /** ATT-1..14. */
  #attach(f: MFile, d: MDev, dmabufFd: number): number {
    if (d.dir === 'kfifo') return EPERM;
    const context = this.#nextContext++;
    const m = this.#dmabufGet(dmabufFd);
    if (typeof m === 'number') return m;
    if (d.enabled && d.fileio) return EBUSY;
    for (const b of d.blocks) if (b.state === 'queued') b.state = 'orphan';
    if (d.blocks.some((b) => b.attached && b.dmabuf === m)) return EBUSY;
    d.blocks.push({
      dmabuf: m,
      state: 'done',
      fence: null,
      cyclic: false,
      bytesUsed: 0,
      dev: f.dev,
      queuedAt: 0,
      attached: true,
      context,
      seqno: 0,
      fences: [],
      size: m.size,
      owner: f.dev,
    });
    return 0;
  }

  /** DET-2..4. */
  #detach(d: MDev, dmabufFd: number): number {
    const m = this.#dmabufGet(dmabufFd);
    if (typeof m === 'number') return m;
    const b = d.blocks.find((x) => x.attached && x.dmabuf === m);
    if (!b) return EPERM;
    b.attached = false;
    this.#gc(d);
    return 0;
  }

  /** RESV-3. */
  #addFence(m: MDmabuf, fence: MFence): void {
    const i = m.slots.findIndex(
      (s) => (s.context === fence.context && s.seqno <= fence.seqno && s.usage >= fence.usage) || !s.pending,
    );
    if (i >= 0) m.slots[i] = fence;
    else m.slots.push(fence);
  }

  /** ENQ-2..24; a wait (ENQ-12) is interrupted (ENQ-14) or refused at once with O_NONBLOCK (ENQ-13). */
  #enqueue(f: MFile, d: MDev, dmabufFd: number, bytesUsed: number, flags: number): number {
    if (flags & ~1) return EINVAL;
    const cyclic = (flags & 1) !== 0;
    if (cyclic && d.dir !== 'out') return EINVAL;
    const m = this.#dmabufGet(dmabufFd);
    if (typeof m === 'number') return m;
    if (bytesUsed === 0 || bytesUsed > m.size) return EINVAL;
    const b = d.blocks.find((x) => x.attached && x.dmabuf === m);
    if (!b) return EPERM;
    const fence: MFence = {
      context: b.context,
      seqno: ++b.seqno,
      usage: d.dir === 'in' ? 1 : 2,
      pending: true,
    };
    const waitUsage = d.dir === 'in' ? 2 : 1;
    if (m.slots.some((s) => s.pending && s.usage <= waitUsage)) return f.nonblock ? EBUSY : EINTR;
    this.#addFence(m, fence);
    if (b.state !== 'done') {
      fence.pending = false;
      return b.state === 'queued' || b.state === 'orphan' ? EPERM : EBUSY;
    }
    b.fences.push(fence);
    b.fence = fence;
    b.bytesUsed = bytesUsed;
    b.cyclic = cyclic;
    if (d.enabled) this.#submit(b, b.dev);
    else {
      b.state = 'queued';
      b.queuedAt = ++this.#queueSeq;
    }
    return 0;
  }

  // ---- v2 ------------------------------------------------------------------------------------------

  /** V2-ALLOC-1..9. */
  #v2Alloc(f: MFile, d: MDev, size: number): number {
    if (d.dir === 'kfifo') return EPERM;
    if (d.enabled && d.fileio) return EBUSY;
    if (size === 0) return EINVAL;
    for (const b of this.#queuedOn(f.dev)) b.state = 'orphan';
    const block = {
      state: 'done',
      fence: null,
      cyclic: false,
      bytesUsed: 0,
      dev: f.dev,
      queuedAt: 0,
      attached: false,
      context: 0,
      seqno: 0,
      fences: [],
      size,
      owner: f.dev,
    } as Omit<MBlock, 'dmabuf'> as MBlock;
    const m = this.#newDmabuf(Math.ceil(size / PAGE) * PAGE, block);
    (block as { dmabuf: MDmabuf }).dmabuf = m;
    this.#v2bufs.push(m);
    return this.#install('dmabuf', -1, m);
  }

  /** V2-ENQ-1..15. */
  #v2Enqueue(f: MFile, d: MDev, dmabufFd: number, bytesUsed: number, flags: number): number {
    if (d.dir === 'kfifo') return EPERM;
    if (flags & ~1) return EINVAL;
    const cyclic = (flags & 1) !== 0;
    if (cyclic && d.dir !== 'out') return EINVAL;
    if (d.enabled && d.fileio) return EBUSY;
    const m = this.#dmabufGet(dmabufFd);
    if (typeof m === 'number') return m;
    const b = m.v2block;
    if (!b) return EINVAL;
    if (bytesUsed > b.size) return EINVAL;
    b.bytesUsed = bytesUsed === 0 ? b.size : bytesUsed;
    b.cyclic = cyclic;
    if (b.state === 'queued' || b.state === 'orphan') {
      m.refs++;
      return 0;
    }
    if (b.state !== 'done') return EBUSY;
    const fence: MFence = { context: this.#nextContext++, seqno: 0, usage: 1, pending: true };
    m.slots = [fence];
    b.fence = fence;
    b.dev = f.dev;
    if (d.enabled) this.#submit(b, f.dev);
    else {
      b.state = 'queued';
      b.queuedAt = ++this.#queueSeq;
    }
    return 0;
  }

  // ---- poll ----------------------------------------------------------------------------------------

  /**
   * `poll()` of one fd with timeout 0: the revents (POLL-4, DPOLL-1..5, V2-DBUF-1/3/4, POLL-5 for the
   * heap). Only dma-buf, heap and closed fds are modelled.
   */
  poll(fd: number, events: number): number {
    if (fd < 0) return 0;
    const f = this.#file(fd);
    if (!f) return POLLNVAL;
    if (f.kind === 'heap') return 0x145 & (events | 0x18);
    if (f.kind !== 'dmabuf') throw new Error(`the model does not poll ${f.kind} fds`);
    const m = f.dmabuf!;
    let revents = 0;
    const check = (dir: 'in' | 'out', bit: number, usage: number) => {
      if (!(events & bit) || m.armed[dir] !== null) return;
      const first = m.slots.find((s) => s.pending && s.usage <= usage);
      if (!first) revents |= bit;
      else {
        m.armed[dir] = first;
        m.refs++;
      }
    };
    check('out', POLLOUT, this.profile === 'v2' ? 3 : 2);
    check('in', POLLIN, this.profile === 'v2' ? 3 : 1);
    return revents;
  }
}
