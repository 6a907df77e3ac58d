/**
 * Helpers shared by the mainline IIO DMABUF rule tests: buffer fds, heap dma-bufs, the DMABUF ioctls,
 * sync_file inspection and the ADC's expected samples.
 */
import { expect } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import type { DmaBuf } from '../../../src/kernel/dma-buf/dma-buf.ts';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_SYNC_RW,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_heap_allocation_data,
  F_GETFL,
  F_SETFL,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  iio_dmabuf,
  MAP_SHARED,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
  SYNC_IOC_FILE_INFO,
  sync_file_info,
} from '../../../src/uapi/index.ts';
import { enableChannels, openBuffer } from '../../../src/user/iio.ts';
import { simExact } from '../../helpers.ts';

export const US = 1_000;

export const MS = 1_000_000;

export const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];

export const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];

export const ADC_BUF = '/sys/bus/iio/devices/iio:device0/buffer0';

/** A 512-scan ADC transfer started at the enable completes (fence signalled) at 514 µs. */
export const T_512 = 514 * US;

export function ramp(n: number, c: number): number {
  return ((n + 1024 * c) % 4096) - 2048;
}

/** sim-adc samples of scans [first, first + count), all four channels, in memory order. */
export function adcScans(first: number, count: number): number[] {
  const out: number[] = [];
  for (let n = first; n < first + count; n++) for (let c = 0; c < 4; c++) out.push(ramp(n, c));
  return out;
}

/**
 * The scan number (modulo the ramp's period of 4096) at which `samples` (four channels, memory order) is an
 * unbroken stretch of sim-adc's ramp, or -1.
 */
export function rampStart(samples: readonly number[]): number {
  if (samples.length < 4 || samples.length % 4 !== 0) return -1;
  const n = (samples[0]! + 2048) % 4096;
  return samples.join() === adcScans(n, samples.length / 4).join() ? n : -1;
}

/**
 * The expected {@link rampStart} of a DMABUF transfer queued while the ADC runs, which begins at the first scan
 * not yet converted: `n` in virtual time; on the real kernel any scan from `n` on, since the scans converted
 * while the ENQUEUE travels to the VM are lost (DMAQ-13).
 */
export function rampFrom(n: number): number {
  return simExact(n, (a) => a >= n, `an unbroken ramp from scan ${n} or later`);
}

export function s16(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 1 }, (_, i) => v.getInt16(i * 2, true));
}

export async function bufferFd(
  sys: Sys,
  dev: number,
  flags = O_RDWR,
): Promise<{ chardev: number; fd: number }> {
  const ob = await openBuffer(sys, dev, 0, flags);
  if (typeof ob === 'number') throw new Error(`openBuffer(${dev}) failed: ${ob}`);
  return ob;
}

/** Opens the sim-adc buffer and enables its four channels (the buffer stays disabled). */
export async function adcBuffer(sys: Sys): Promise<number> {
  const { fd } = await bufferFd(sys, 0);
  expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
  return fd;
}

/** A system-heap dma-buf of `len` bytes (DMA_HEAP_IOCTL_ALLOC); returns its fd. */
export async function heapBuf(sys: Sys, len = 4096, fdFlags = O_RDWR): Promise<number> {
  const heap = await sys.open('/dev/dma_heap/system', O_RDONLY);
  expect(heap).toBeGreaterThanOrEqual(0);
  const arg = sys.mem.allocStruct(dma_heap_allocation_data, { len, fd_flags: fdFlags });
  expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, arg)).toBe(0);
  expect(await sys.close(heap)).toBe(0);
  return sys.mem.readStruct(arg, dma_heap_allocation_data).fd;
}

export async function intArg(sys: Sys, value: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, value);
  return arg;
}

export async function attach(sys: Sys, buf: number, fd: number): Promise<number> {
  return sys.ioctl(buf, IIO_BUFFER_DMABUF_ATTACH_IOCTL, await intArg(sys, fd));
}

export async function detach(sys: Sys, buf: number, fd: number): Promise<number> {
  return sys.ioctl(buf, IIO_BUFFER_DMABUF_DETACH_IOCTL, await intArg(sys, fd));
}

export async function enqueue(
  sys: Sys,
  buf: number,
  fd: number,
  bytesUsed: number | bigint,
  flags = 0,
): Promise<number> {
  const arg = sys.mem.allocStruct(iio_dmabuf, { fd, flags, bytes_used: bytesUsed });
  return sys.ioctl(buf, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, arg);
}

/**
 * A sync_file fence name `<driver>-<timeline><context>-<seqno>` in an expected value: exact on the simulator,
 * whose contexts count from 1 in every run. On the real kernel `dma_fence_context_alloc()` counts since boot,
 * across every earlier test in the VM, so there the name matches with any context number.
 */
export function fenceName(name: string): string {
  const m = /^(.*\D)(\d+)-(\d+)$/.exec(name);
  if (!m) return name;
  const pattern = new RegExp(`^${m[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+-${m[3]}$`);
  return simExact(name, (a) => pattern.test(a), `${m[1]}<any context>-${m[3]}`);
}

/** DMA_BUF_IOCTL_EXPORT_SYNC_FILE: a sync_file of the dma-buf's current fences; returns its fd. */
export async function exportSync(sys: Sys, fd: number, flags = DMA_BUF_SYNC_RW): Promise<number> {
  const arg = sys.mem.allocStruct(dma_buf_export_sync_file, { flags, fd: 0 });
  expect(await sys.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, arg)).toBe(0);
  return sys.mem.readStruct(arg, dma_buf_export_sync_file).fd;
}

/** SYNC_IOC_FILE_INFO status: 0 pending, 1 signalled, negative error. */
export async function fenceStatus(sys: Sys, syncFd: number): Promise<number> {
  const arg = sys.mem.allocStruct(sync_file_info, {});
  expect(await sys.ioctl(syncFd, SYNC_IOC_FILE_INFO, arg)).toBe(0);
  return sys.mem.readStruct(arg, sync_file_info).status;
}

/**
 * The [context, seqno] of the one fence a sync_file holds, from its name `<driver>-<timeline><context>-<seqno>`
 * (sync_file_get_name()): what user space sees of a fence's identity.
 */
export async function fenceId(sys: Sys, syncFd: number): Promise<[number, number]> {
  const arg = sys.mem.allocStruct(sync_file_info, {});
  expect(await sys.ioctl(syncFd, SYNC_IOC_FILE_INFO, arg)).toBe(0);
  const name = sys.mem.readStruct(arg, sync_file_info).name;
  const m = /(\d+)-(\d+)$/.exec(name);
  if (!m) throw new Error(`not a single fence's name: ${name}`);
  return [Number(m[1]), Number(m[2])];
}

/** Blocks until the sync_file's fence has signalled; returns the time. */
export async function waitFence(sys: Sys, syncFd: number): Promise<number> {
  expect(await sys.pollfds([{ fd: syncFd, events: POLLIN }], -1)).toBe(1);
  return sys.now();
}

export async function setNonblock(sys: Sys, fd: number, on = true): Promise<void> {
  const fl = await sys.fcntl(fd, F_GETFL);
  expect(await sys.fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK)).toBe(0);
}

/** Maps a dma-buf shared read-write; returns the address. */
export async function mapBuf(sys: Sys, fd: number, len = 4096): Promise<number> {
  const addr = await sys.mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  expect(addr).toBeGreaterThan(0);
  return addr;
}

export function live(sim: Simulator, kind: string): number {
  return sim.kernel.census.live()[kind] ?? 0;
}

/**
 * Takes `fd` of process `fromPid` into the process of `sys`, as a unix socket's SCM_RIGHTS would pass it: the
 * same open file under a new fd (O_CLOEXEC; the pidfd took the lowest free one meanwhile). It runs inside
 * the receiving process: `pidfd_open(fromPid)`, `pidfd_getfd()`, close the pidfd; real syscalls on both sides.
 */
export async function passFd(sys: Sys, fromPid: number, fd: number): Promise<number> {
  const pidfd = await sys.pidfd_open(fromPid, 0);
  expect(pidfd, `pidfd_open(${fromPid})`).toBeGreaterThanOrEqual(0);
  const got = await sys.pidfd_getfd(pidfd, fd, 0);
  expect(got, `pidfd_getfd(pidfd of ${fromPid}, ${fd})`).toBeGreaterThanOrEqual(0);
  expect(await sys.close(pidfd)).toBe(0);
  return got;
}

/**
 * Lets another process catch up: sleeps 10 µs at a time until `ready()` holds, then once more `marginNs` (the
 * other process's call, sent after `ready()` became true, has to reach the kernel first). On the simulator
 * a test's timeline is kept exactly and `ready()` already holds, so nothing happens; on the real kernel
 * every call of the other process takes real time and this is where the order the test needs is kept.
 * Returns whether it waited.
 */
export async function waitFor(sys: Sys, ready: () => boolean, marginNs = 50 * US): Promise<boolean> {
  if (ready()) return false;
  while (!ready()) expect(await sys.nanosleep(10 * US)).toBe(0);
  if (marginNs > 0) expect(await sys.nanosleep(marginNs)).toBe(0);
  return true;
}

/**
 * The fences in the dma-buf's reservation object as [seqno, usage, status]: read from the kernel object,
 * because a fence signalled inside the ioctl with an errno is visible to no syscall (IFENCE-8, SFILE-6).
 */
export function resvFences(sim: Simulator, sys: Sys, fd: number): [number, number, number][] {
  const dmabuf = sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
  return dmabuf.resv.slots.map((s) => [s.fence.seqno, s.usage, s.fence.status]);
}

/** IIO fence tracepoints as [event, context, seqno, time], in order. */
export function fenceLog(sim: Simulator): [string, number, number, number][] {
  const out: [string, number, number, number][] = [];
  sim.events.on('fence:trace', (e) => {
    if (e.driver === 'iio' || e.driver === 'detached-driver')
      out.push([e.event.replace('dma_fence_', ''), e.context, e.seqno, e.time]);
  });
  return out;
}

/**
 * Why the injected-fault tests run on the simulator only: Debian's 7.3 kernel has CONFIG_FAULT_INJECTION unset
 * (KPROBES only), so no allocation or exporter failure can be forced there.
 */
export const FAULT_INJECTION_SIM_ONLY =
  'needs fault injection (an allocation or exporter failure); the oracle kernel has CONFIG_FAULT_INJECTION unset';

/** The dma-buf behind `fd` as the kernel counts it: importer attachments, file references and resv fences. */
export function dmabufRefs(
  sim: Simulator,
  sys: Sys,
  fd: number,
): { attachments: number; refs: number; fences: number } {
  const dmabuf = sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
  return { attachments: dmabuf.attachments, refs: dmabuf.file.ref.count, fences: dmabuf.resv.slots.length };
}
