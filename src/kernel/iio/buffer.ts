/**
 * The IIO buffer core (drivers/iio/industrialio-buffer.c): buffer objects, the buffer fd from
 * IIO_BUFFER_GET_FD_IOCTL with its read/write/poll/release, enable and disable of buffers with the
 * driver's setup ops, scan-size computation and the buffer's sysfs attributes. Rule IDs: §3, §4, §5.
 */
import type { ScanLayout } from '../../hw/scan.ts';
import { EAGAIN, EBUSY, EFAULT, EINVAL, EMFILE, ENODEV, EPERM } from '../../uapi/errno.ts';
import { O_NONBLOCK, O_RDWR } from '../../uapi/fcntl.ts';
import { IIO_BUFFER_DIRECTION_IN, IIO_BUFFER_DIRECTION_OUT, iio_dmabuf } from '../../uapi/iio.ts';
import { EPOLLIN, EPOLLOUT, EPOLLRDNORM, EPOLLWRNORM } from '../../uapi/poll.ts';
import { formatScanType } from '../lib/format.ts';
import { kstrtobool, kstrtouint } from '../lib/kstrtox.ts';
import type { Attribute, SysfsGroup } from '../sysfs.ts';
import { getUserInt, putUserInt } from '../uaccess.ts';
import {
  anonInodeGetfile,
  type Caller,
  compatPtrIoctl,
  type File,
  type FileOperations,
  type PollTable,
} from '../vfs.ts';
import { type Sleep, type SysRet, sleepOn, WaitQueue } from '../wait.ts';
import type { BufferIoctlHandler, IioBuffer, IioDev, IioDevBufferPair } from './device.ts';
import {
  channelName,
  INDIO_BUFFER_HARDWARE,
  INDIO_BUFFER_SOFTWARE,
  INDIO_BUFFER_TRIGGERED,
} from './types.ts';

/** Bytes of one scan of `buffer` with the channels enabled now (0 when none are). */
export function bufferScanBytes(buffer: IioBuffer): number {
  return computeScanLayout(buffer.dev, buffer.scanMask, buffer.scanTimestamp).bytes;
}

/**
 * Tracepoint of a DMABUF ENQUEUE that returned 0: `bytesUsed` as the program passed it, `blockBytes` the
 * block it fills.
 */
export function traceEnqueue(
  task: Caller,
  buffer: IioBuffer,
  ino: number,
  bytesUsed: number,
  blockBytes: number,
): void {
  const { trace, clock } = buffer.dev.iio;
  if (!trace.enabled('iio:enqueue')) return;
  trace.emit('iio:enqueue', {
    pid: task.pid,
    comm: task.comm,
    device: buffer.dev.devName,
    buffer: buffer.index,
    ino,
    bytesUsed,
    blockBytes,
    time: clock.now,
  });
}

/** `struct iio_dmabuf`: 16 bytes, the same layout in both ABIs (the u64 lies at offset 8 either way). */
const IIO_DMABUF_SIZE = iio_dmabuf.size('lp64');
const IIO_DMABUF_NAMES = ['fd', 'flags', 'bytes_used'] as const;
const IIO_DMABUF_FIELDS = IIO_DMABUF_NAMES.map((f) => iio_dmabuf.offsetOf(f, 'lp64'));
if (
  iio_dmabuf.size('ilp32') !== IIO_DMABUF_SIZE ||
  IIO_DMABUF_NAMES.some((f, i) => iio_dmabuf.offsetOf(f, 'ilp32') !== IIO_DMABUF_FIELDS[i])
)
  throw new Error('struct iio_dmabuf: the ABIs differ');

/** A little-endian u32 of `b` at `o`. */
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * `struct iio_dmabuf` as the kernel reads its fields once it is copied in: an object literal, not the
 * codec's generic decode (whose stores by computed field name cost about 0.3 µs per ENQUEUE).
 */
function readIioDmabuf(raw: Uint8Array): iio_dmabuf {
  const [fd, flags, used] = IIO_DMABUF_FIELDS as [number, number, number];
  const hi = u32(raw, used + 4);
  const lo = BigInt(u32(raw, used));
  return { fd: u32(raw, fd), flags: u32(raw, flags), bytes_used: hi === 0 ? lo : (BigInt(hi) << 32n) | lo };
}

/** The request of a DMABUF ENQUEUE once copied in and checked: `struct iio_dmabuf` and its cyclic flag. */
export interface EnqueueRequest {
  readonly req: iio_dmabuf;
  readonly cyclic: boolean;
}

/**
 * The common start of both profiles' ENQUEUE (ENQ-1..3, V2-ENQ-2..4): copies `struct iio_dmabuf` from user
 * memory in the caller's ABI (-EFAULT), refuses flags the profile does not know and CYCLIC on an input
 * buffer (-EINVAL).
 */
export function copyEnqueueRequest(
  buffer: IioBuffer,
  arg: number,
  task: Caller,
  supportedFlags: number,
  cyclicFlag: number,
): EnqueueRequest | number {
  const raw = task.mm.copyFromUserSmall(arg, IIO_DMABUF_SIZE);
  if (!raw) return -EFAULT;
  const req = readIioDmabuf(raw);
  if (req.flags & ~supportedFlags) return -EINVAL;
  const cyclic = (req.flags & cyclicFlag) !== 0;
  if (cyclic && buffer.direction !== IIO_BUFFER_DIRECTION_OUT) return -EINVAL;
  return { req, cyclic };
}

/** Tracepoint of sample data that read() or write() copied between a buffer and user memory. */
function traceData(task: Caller, buffer: IioBuffer, bytes: number): void {
  const { trace, clock } = buffer.dev.iio;
  if (trace.enabled('iio:data'))
    trace.emit('iio:data', { pid: task.pid, device: buffer.dev.devName, bytes, time: clock.now });
}

/** One enabled channel's place in a scan, plus the timestamp's. */
export interface ScanLayoutResult {
  readonly bytes: number;
  readonly layout: ScanLayout;
  readonly timestampOffset: number | null;
}

function alignUp(x: number, a: number): number {
  return (x + a - 1) & ~(a - 1);
}

function roundupPowOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

function storageBytes(dev: IioDev, scanIndex: number): number {
  const ch = dev.channels.find((c) => c.scanIndex === scanIndex)!;
  const repeat = ch.scanType.repeat ?? 1;
  return (ch.scanType.storagebits / 8) * (repeat > 1 ? roundupPowOfTwo(repeat) : 1);
}

/**
 * Scan size and field offsets for `mask` (+ timestamp). Mirrors `iio_compute_scan_bytes()` (rule SCAN-1):
 * fields by ascending scan index, each aligned to its own size, the total aligned to the largest.
 */
export function computeScanLayout(
  dev: IioDev,
  mask: ReadonlySet<number>,
  timestamp: boolean,
): ScanLayoutResult {
  let bytes = 0;
  let largest = 0;
  const fields: { channel: number; offset: number; type: IioDev['channels'][number]['scanType'] }[] = [];
  for (const si of [...mask].sort((a, b) => a - b)) {
    const len = storageBytes(dev, si);
    bytes = alignUp(bytes, len);
    const ch = dev.channels.find((c) => c.scanIndex === si)!;
    fields.push({ channel: ch.hwChannel, offset: bytes, type: ch.scanType });
    bytes += len;
    largest = Math.max(largest, len);
  }
  let timestampOffset: number | null = null;
  const ts = dev.channels.find((c) => c.type === 'timestamp');
  if (timestamp && ts) {
    const len = storageBytes(dev, ts.scanIndex);
    bytes = alignUp(bytes, len);
    timestampOffset = bytes;
    bytes += len;
    largest = Math.max(largest, len);
  }
  const total = largest === 0 ? 0 : alignUp(bytes, largest);
  return { bytes: total, layout: { bytesPerScan: total, fields }, timestampOffset };
}

const NEVER = new WaitQueue('never woken');

/**
 * XCL-5 stand-in: after an oops inside the queue lock, any call that needs the lock sleeps forever,
 * uninterruptibly (a task stuck in mutex_lock). Null while the lock is free.
 */
export function queueLockedForever(b: IioBuffer): Sleep | null {
  if (!b.access.poisoned) return null;
  return sleepOn(
    [NEVER],
    `${b.pollq.name}: queue lock held forever by a task killed in an oops (XCL-5)`,
    () => -EINVAL,
    {
      interruptible: false,
    },
  );
}

/** `iio_buffer_ready()` (BREAD-5): enough data for `toWait` (clamped to 1 on a disabled buffer). */
function bufferReady(dev: IioDev, buf: IioBuffer, toWait: number): boolean {
  if (!dev.registered) return true;
  if (!buf.active) toWait = Math.min(toWait, 1);
  return buf.access.dataAvailable() >= toWait;
}

function spaceAvailable(buf: IioBuffer): number {
  return buf.access.spaceAvailable ? buf.access.spaceAvailable() : Number.MAX_SAFE_INTEGER;
}

/** `iio_buffer_read()` (BREAD-1..11). */
export function iioBufferRead(
  file: File,
  ib: IioDevBufferPair,
  ubuf: number,
  n: number,
  task: Caller,
): SysRet {
  const { dev, buffer: rb } = ib;
  if (!dev.registered) return -ENODEV;
  if (!rb.access.read) return -EINVAL;
  if (rb.direction !== IIO_BUFFER_DIRECTION_IN) return -EPERM;
  const datum = rb.bytesPerDatum;
  if (datum === 0) return 0;
  const stuck = queueLockedForever(rb);
  if (stuck) return stuck;
  const nonblock = (file.flags & O_NONBLOCK) !== 0;
  const toWait = nonblock ? 0 : Math.min(Math.floor(n / datum), rb.watermark);
  return readAttempt(ib, ubuf, n, task, toWait, nonblock);
}

/**
 * One try of {@link iioBufferRead} after its checks, and the sleep that repeats it. A module function with
 * anonymous closures: under tsx (esbuild keepNames) a named closure costs a defineProperty per call.
 */
function readAttempt(
  ib: IioDevBufferPair,
  ubuf: number,
  n: number,
  task: Caller,
  toWait: number,
  nonblock: boolean,
): SysRet {
  const { dev, buffer: rb } = ib;
  for (;;) {
    if (!dev.registered) return -ENODEV;
    if (!bufferReady(dev, rb, toWait)) {
      return sleepOn(
        [rb.pollq],
        () => `${rb.pollq.name}: ${toWait} scans (watermark ${rb.watermark}) not available`,
        () => readAttempt(ib, ubuf, n, task, toWait, nonblock),
      );
    }
    const before = rb.access.dataAvailable();
    const ret = rb.access.read!(n, ubuf, task);
    if (ret > 0) traceData(task, rb, ret);
    if (ret !== 0) return ret;
    if (nonblock) return -EAGAIN;
    // BREAD-7: back to the ready test at once. A read that got nothing and changed nothing while the
    // buffer stays ready means the block to consume next is not DONE yet: the kernel spins on the CPU
    // until a completion changes that (FILEIO-10).
    if (dev.registered && rb.access.dataAvailable() === before && bufferReady(dev, rb, toWait))
      return sleepOn(
        [rb.pollq],
        () => `${rb.pollq.name}: spinning until the next block to read is done (FILEIO-10)`,
        () => readAttempt(ib, ubuf, n, task, toWait, nonblock),
        { spinning: true },
      );
  }
}

/** `iio_buffer_write()` (BWRITE-1..5). */
export function iioBufferWrite(
  file: File,
  ib: IioDevBufferPair,
  ubuf: number,
  n: number,
  task: Caller,
): SysRet {
  const { dev, buffer: rb } = ib;
  if (!dev.registered) return -ENODEV;
  if (!rb.access.write) return -EINVAL;
  if (rb.direction !== IIO_BUFFER_DIRECTION_OUT) return -EPERM;
  const stuck = queueLockedForever(rb);
  if (stuck) return stuck;
  const nonblock = (file.flags & O_NONBLOCK) !== 0;
  let written = 0;
  // After a wake-up the kernel's `continue` lands on `while (written != n)`: a zero-length write ends there (BWRITE-5).
  const resume = (): SysRet => (written === n ? written : attempt());
  const attempt = (): SysRet => {
    do {
      if (!dev.registered) return -ENODEV;
      if (spaceAvailable(rb) === 0) {
        if (nonblock) return written === 0 ? -EAGAIN : written;
        return sleepOn([rb.pollq], () => `${rb.pollq.name}: no space to write`, resume);
      }
      const ret = rb.access.write!(n - written, ubuf + written, task);
      if (ret < 0) return ret;
      if (ret > 0) traceData(task, rb, ret);
      written += ret;
    } while (written !== n);
    return written;
  };
  return attempt();
}

/** `iio_buffer_poll()` (BPOLL-1..3). */
export function iioBufferPoll(ib: IioDevBufferPair, pt: PollTable): number {
  const { dev, buffer: rb } = ib;
  if (!dev.registered) return 0;
  pt.wait(rb.pollq);
  if (rb.access.poisoned) {
    pt.blockOn(NEVER);
    return 0;
  }
  if (rb.direction === IIO_BUFFER_DIRECTION_IN) {
    if (bufferReady(dev, rb, rb.watermark)) return EPOLLIN | EPOLLRDNORM;
    pt.why?.(
      `${rb.pollq.name}: data_available ${rb.access.dataAvailable()} is below the watermark ${rb.active ? rb.watermark : 1}`,
    );
    return 0;
  }
  if (spaceAvailable(rb) !== 0) return EPOLLOUT | EPOLLWRNORM;
  pt.why?.(`${rb.pollq.name}: no space to write`);
  return 0;
}

function bufferIoctl(file: File): BufferIoctlHandler {
  return (file.privateData as IioDevBufferPair).dev.iio.abi.bufferIoctl;
}

/** `iio_buffer_chrdev_fileops`: the buffer fd; its ioctls are the ABI profile's DMABUF ioctls. */
const iioBufferFops: FileOperations = {
  read: (file, buf, count, task) =>
    iioBufferRead(file, file.privateData as IioDevBufferPair, buf, count, task),
  write: (file, buf, count, task) =>
    iioBufferWrite(file, file.privateData as IioDevBufferPair, buf, count, task),
  poll: (file, pt) => iioBufferPoll(file.privateData as IioDevBufferPair, pt),
  llseek: (file) => file.pos,
  unlockedIoctl: (file, cmd, arg, task) =>
    bufferIoctl(file).ioctl(file, file.privateData as IioDevBufferPair, cmd, arg, task),
  compatIoctl: compatPtrIoctl,
  release: (_inode, file) => {
    const ib = file.privateData as IioDevBufferPair;
    ib.buffer.pollq.wake();
    bufferIoctl(file).release(ib);
    ib.buffer.busy = false;
    traceBufferFd(ib.buffer, false);
  },
};

function traceBufferFd(b: IioBuffer, open: boolean): void {
  const { trace, clock } = b.dev.iio;
  if (trace.enabled('iio:buffer-fd'))
    trace.emit('iio:buffer-fd', { device: b.dev.devName, buffer: b.index, open, time: clock.now });
}

/**
 * `iio_device_buffer_getfd()` (GETFD-1..7): a new anonymous `iio:buffer` fd for buffer `*arg`, written
 * back to `*arg`.
 */
export function iioDeviceBufferGetfd(dev: IioDev, arg: number, task: Caller): SysRet {
  const idx = getUserInt(task, arg);
  if (idx === null) return -EFAULT;
  if (idx >>> 0 >= dev.buffers.length) return -ENODEV;
  const buffer = dev.buffers[idx]!;
  if (buffer.busy) return -EBUSY;
  buffer.busy = true;
  const ib: IioDevBufferPair = { dev, buffer };
  const file = anonInodeGetfile(dev.iio.census, 'iio:buffer', iioBufferFops, ib, O_RDWR);
  const fd = task.files.installLowest(file, true);
  if (fd < 0) {
    file.opened = false;
    file.put();
    buffer.busy = false;
    return -EMFILE;
  }
  traceBufferFd(buffer, true);
  // GETFD-5: a failed write-back leaves the fd installed and the buffer busy.
  if (!putUserInt(task, arg, fd)) return -EFAULT;
  return 0;
}

/** Device config computed for an update (`struct iio_device_config`). */
interface DeviceConfig {
  mode: number;
  scanMask: Set<number>;
  scanBytes: number;
  scanTimestamp: boolean;
}

/** `iio_verify_update()` (EN-1..5). */
function verifyUpdate(
  dev: IioDev,
  insert: IioBuffer | null,
  remove: IioBuffer | null,
): DeviceConfig | number {
  if (insert && insert.scanMask.size === 0) return -EINVAL;
  if (remove && !insert && dev.activeBuffers.length === 1)
    return { mode: 0, scanMask: new Set(), scanBytes: 0, scanTimestamp: false };
  let modes = dev.modes;
  for (const b of dev.activeBuffers) if (b !== remove) modes &= b.access.modes;
  if (insert) modes &= insert.access.modes;
  let mode: number;
  let strict = false;
  if (modes & INDIO_BUFFER_TRIGGERED && dev.trigger !== null) mode = INDIO_BUFFER_TRIGGERED;
  else if (modes & INDIO_BUFFER_HARDWARE) {
    if (insert && dev.activeBuffers.length > 0) return -EINVAL;
    mode = INDIO_BUFFER_HARDWARE;
    strict = true;
  } else if (modes & INDIO_BUFFER_SOFTWARE) mode = INDIO_BUFFER_SOFTWARE;
  else return -EINVAL;
  const compound = new Set<number>();
  let ts = false;
  for (const b of dev.activeBuffers) {
    if (b === remove) continue;
    for (const i of b.scanMask) compound.add(i);
    ts ||= b.scanTimestamp;
  }
  if (insert) {
    for (const i of insert.scanMask) compound.add(i);
    ts ||= insert.scanTimestamp;
  }
  let scanMask = compound;
  if (dev.availableScanMasks) {
    const match = scanMaskMatch(dev.availableScanMasks, compound, strict);
    if (!match) return -EINVAL;
    scanMask = new Set(match);
  }
  return { mode, scanMask, scanBytes: computeScanLayout(dev, scanMask, ts).bytes, scanTimestamp: ts };
}

/** `iio_scan_mask_match()`: the first available mask equal to (strict) or containing `mask`. */
function scanMaskMatch(
  avail: readonly (readonly number[])[],
  mask: ReadonlySet<number>,
  strict: boolean,
): readonly number[] | null {
  if (mask.size === 0) return null;
  for (const m of avail) {
    const s = new Set(m);
    const subset = [...mask].every((i) => s.has(i));
    if (strict ? subset && s.size === mask.size : subset) return m;
  }
  return null;
}

/** `iio_buffer_request_update()` (EN-6, EN-7). */
function requestUpdate(dev: IioDev, buf: IioBuffer): number {
  if (buf.access.setBytesPerDatum) {
    buf.access.setBytesPerDatum(computeScanLayout(dev, buf.scanMask, buf.scanTimestamp).bytes);
  }
  return buf.access.requestUpdate?.() ?? 0;
}

function deactivate(dev: IioDev, buf: IioBuffer): void {
  buf.active = false;
  dev.activeBuffers.splice(dev.activeBuffers.indexOf(buf), 1);
  buf.pollq.wake();
}

function deactivateAll(dev: IioDev): void {
  for (const b of [...dev.activeBuffers]) deactivate(dev, b);
}

/** `iio_disable_buffers()`: predisable, each buffer's disable, postdisable; first error wins. */
function disableBuffers(dev: IioDev): number {
  if (dev.activeBuffers.length === 0) return 0;
  let ret = 0;
  const keep = (r: number | undefined) => {
    if (r && !ret) ret = r;
  };
  keep(dev.setupOps.predisable?.());
  if (dev.currentMode === INDIO_BUFFER_TRIGGERED) dev.trigger?.detach();
  for (const b of dev.activeBuffers) keep(b.access.disable?.());
  keep(dev.setupOps.postdisable?.());
  dev.activeScanMask = null;
  dev.currentMode = 0;
  const { trace, clock } = dev.iio;
  if (trace.enabled('iio:disable')) trace.emit('iio:disable', { device: dev.devName, time: clock.now });
  return ret;
}

/** `iio_enable_buffers()` (EN-8, EN-9). */
function enableBuffers(dev: IioDev, config: DeviceConfig): number {
  dev.activeScanMask = config.scanMask;
  dev.scanBytes = config.scanBytes;
  dev.scanTimestamp = config.scanTimestamp;
  dev.currentMode = config.mode;
  const undo = (ret: number, enabled: IioBuffer[], postdisable: boolean): number => {
    for (const b of enabled.reverse()) b.access.disable?.();
    if (postdisable) dev.setupOps.postdisable?.();
    dev.currentMode = 0;
    dev.activeScanMask = null;
    return ret;
  };
  let ret = dev.setupOps.preenable?.() ?? 0;
  if (ret) return undo(ret, [], false);
  const enabled: IioBuffer[] = [];
  for (const b of dev.activeBuffers) {
    ret = b.access.enable?.() ?? 0;
    if (ret) return undo(ret, enabled, true);
    enabled.push(b);
  }
  if (dev.currentMode === INDIO_BUFFER_TRIGGERED) dev.trigger?.attach();
  ret = dev.setupOps.postenable?.() ?? 0;
  if (ret) {
    if (dev.currentMode === INDIO_BUFFER_TRIGGERED) dev.trigger?.detach();
    return undo(ret, enabled, true);
  }
  const { trace, clock } = dev.iio;
  if (trace.enabled('iio:enable'))
    trace.emit('iio:enable', { device: dev.devName, scanBytes: config.scanBytes, time: clock.now });
  return 0;
}

/** `iio_disable_all_buffers()`: device removal stops every buffer. */
export function disableAllBuffers(dev: IioDev): void {
  disableBuffers(dev);
  deactivateAll(dev);
}

/** `__iio_update_buffers()`: verify, request the update, stop everything, restart with the new set. */
export function updateBuffers(dev: IioDev, insert: IioBuffer | null, remove: IioBuffer | null): number {
  const config = verifyUpdate(dev, insert, remove);
  if (typeof config === 'number') return config;
  if (insert) {
    const r = requestUpdate(dev, insert);
    if (r) return r;
  }
  let ret = disableBuffers(dev);
  if (ret) {
    deactivateAll(dev);
    return ret;
  }
  if (remove) deactivate(dev, remove);
  if (insert) {
    insert.active = true;
    dev.activeBuffers.unshift(insert);
  }
  if (dev.activeBuffers.length === 0) return 0;
  ret = enableBuffers(dev, config);
  if (ret) deactivateAll(dev);
  return ret;
}

/** The sysfs attributes of buffer `b` (ATTR-4..25), keyed by file name relative to `bufferY/`. */
export function bufferAttributes(dev: IioDev, b: IioBuffer): Record<string, Attribute> {
  const attrs: Record<string, Attribute> = {
    length: {
      show() {
        return `${b.length | 0}\n`;
      },
      store(text) {
        const v = kstrtouint(text);
        if (!v.ok) return v.errno;
        if (v.value === b.length) return 0;
        if (b.active) return -EBUSY;
        if (b.access.setLength) b.access.setLength(v.value);
        else b.length = v.value;
        if (b.length && b.length < b.watermark) b.watermark = b.length;
        return 0;
      },
    },
    enable: {
      show() {
        return b.active ? '1\n' : '0\n';
      },
      store(text) {
        const v = kstrtobool(text);
        if (!v.ok) return v.errno;
        if (v.value === b.active) return 0;
        return queueLockedForever(b) ?? (v.value ? updateBuffers(dev, b, null) : updateBuffers(dev, null, b));
      },
    },
    watermark: b.access.fixedWatermark
      ? {
          show() {
            return `${b.watermark >>> 0}\n`;
          },
        }
      : {
          show() {
            return `${b.watermark >>> 0}\n`;
          },
          store(text) {
            const v = kstrtouint(text);
            if (!v.ok) return v.errno;
            if (v.value === 0) return -EINVAL;
            if (v.value > b.length) return -EINVAL;
            if (b.active) return -EBUSY;
            b.watermark = v.value;
            return 0;
          },
        },
    data_available: {
      show() {
        return queueLockedForever(b) ?? `${b.access.dataAvailable()}\n`;
      },
    },
    direction: {
      show() {
        return b.direction === IIO_BUFFER_DIRECTION_OUT ? 'out\n' : 'in\n';
      },
    },
  };
  for (const [name, show] of Object.entries(b.access.extraAttrs?.() ?? {})) attrs[name] = { show };
  return attrs;
}

/** The scan-element attributes of buffer `b`: `<ch>_en`, `<ch>_index`, `<ch>_type` (ATTR-19..25). */
export function scanElementAttributes(dev: IioDev, b: IioBuffer): Record<string, Attribute> {
  const attrs: Record<string, Attribute> = {};
  for (const ch of dev.channels) {
    if (ch.scanIndex < 0) continue;
    const stem = channelName(ch);
    attrs[`${stem}_index`] = {
      show() {
        return `${ch.scanIndex}\n`;
      },
    };
    attrs[`${stem}_type`] = {
      show() {
        return `${formatScanType(ch.scanType)}\n`;
      },
    };
    if (ch.type === 'timestamp') {
      attrs[`${stem}_en`] = {
        show() {
          return b.scanTimestamp ? '1\n' : '0\n';
        },
        store(text) {
          const v = kstrtobool(text);
          if (!v.ok) return v.errno;
          if (b.active) return -EBUSY;
          b.scanTimestamp = v.value;
          return 0;
        },
      };
    } else {
      attrs[`${stem}_en`] = {
        show() {
          return b.scanMask.has(ch.scanIndex) ? '1\n' : '0\n';
        },
        store(text) {
          const v = kstrtobool(text);
          if (!v.ok) return v.errno;
          if (b.active) return -EBUSY;
          if (!v.value) {
            b.scanMask.delete(ch.scanIndex);
            return 0;
          }
          if (b.scanMask.has(ch.scanIndex)) return 0;
          const trial = new Set(b.scanMask).add(ch.scanIndex);
          if (dev.validateScanMask && !dev.validateScanMask(trial)) return -EINVAL;
          if (dev.availableScanMasks && !scanMaskMatch(dev.availableScanMasks, trial, false)) return -EINVAL;
          b.scanMask.add(ch.scanIndex);
          return 0;
        },
      };
    }
  }
  return attrs;
}

/** Registers buffer `b`'s files: `bufferY/...` plus, for buffer 0, the legacy `buffer/` and `scan_elements/` (SYSFS-6). */
export function registerBufferSysfs(dev: IioDev, b: IioBuffer, group: SysfsGroup, base: string): void {
  const battrs = bufferAttributes(dev, b);
  const sattrs = scanElementAttributes(dev, b);
  const dir = `${base}/buffer${b.index}`;
  for (const name in battrs) group.addIn(dir, name, battrs[name]!);
  for (const name in sattrs) group.addIn(dir, name, sattrs[name]!);
  if (b.index === 0) {
    const legacy = `${base}/buffer`;
    for (const name in battrs) group.addIn(legacy, name, battrs[name]!);
    const scan = `${base}/scan_elements`;
    for (const name in sattrs) group.addIn(scan, name, sattrs[name]!);
  }
}
