/**
 * User-space helpers for the DMABUF interface, the way libiio's DMABUF backend uses it: allocate from the
 * system heap, map, attach (mainline) or allocate through IIO (v2), enqueue, CPU-access bracketing with
 * DMA_BUF_IOCTL_SYNC, and waiting with poll. Every helper goes through the program's syscalls and returns
 * the raw kernel result of the call that failed.
 */
import type { Sys } from '../sim/process.ts';
import { DMA_BUF_SYNC_END, DMA_BUF_SYNC_START } from '../uapi/dma-buf.ts';
import { O_CLOEXEC, O_RDWR } from '../uapi/fcntl.ts';
import { type AbiProfile, ioctlDef } from '../uapi/ioctls.ts';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/mman.ts';
import { callIoctl, callIoctlIn } from './ioctl.ts';

const HEAP_ALLOC = ioctlDef('DMA_HEAP_IOCTL_ALLOC');
const V2_ALLOC = ioctlDef('IIO_BUFFER_DMABUF_ALLOC_IOCTL', 'v2');
const ATTACH = ioctlDef('IIO_BUFFER_DMABUF_ATTACH_IOCTL', 'mainline');
const DETACH = ioctlDef('IIO_BUFFER_DMABUF_DETACH_IOCTL', 'mainline');
const ENQUEUE = {
  mainline: ioctlDef('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'mainline'),
  v2: ioctlDef('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'v2'),
} as const;
const SYNC = ioctlDef('DMA_BUF_IOCTL_SYNC');

/** A DMABUF a program holds: its fd and where it is mapped. */
export interface UserDmabuf {
  readonly fd: number;
  readonly addr: number;
  readonly size: number;
}

/** Allocates `size` bytes from `/dev/dma_heap/system` (opened at `heapFd`) and maps them shared. */
export async function allocHeapDmabuf(sys: Sys, heapFd: number, size: number): Promise<UserDmabuf | number> {
  const { ret, out } = await callIoctl(sys, heapFd, HEAP_ALLOC, { len: size, fd_flags: O_RDWR | O_CLOEXEC });
  if (ret < 0) return ret;
  const fd = out!.fd;
  const addr = await sys.mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr < 0) return addr;
  return { fd, addr, size };
}

/** v2: `IIO_BUFFER_DMABUF_ALLOC_IOCTL` on the buffer fd, then maps the new DMABUF shared. */
export async function allocIioDmabufV2(
  sys: Sys,
  bufferFd: number,
  size: number,
): Promise<UserDmabuf | number> {
  const { ret: fd } = await callIoctl(sys, bufferFd, V2_ALLOC, { size, resv: 0 });
  if (fd < 0) return fd;
  const addr = await sys.mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr < 0) return addr;
  return { fd, addr, size };
}

/** mainline: `IIO_BUFFER_DMABUF_ATTACH_IOCTL`. */
export function attachDmabuf(sys: Sys, bufferFd: number, dmabufFd: number): Promise<number> {
  return callIoctlIn(sys, bufferFd, ATTACH, dmabufFd);
}

/** mainline: `IIO_BUFFER_DMABUF_DETACH_IOCTL`. */
export function detachDmabuf(sys: Sys, bufferFd: number, dmabufFd: number): Promise<number> {
  return callIoctlIn(sys, bufferFd, DETACH, dmabufFd);
}

/** `IIO_BUFFER_DMABUF_ENQUEUE_IOCTL` of the simulator's profile (`mainline` or `v2` request number). */
export function enqueueDmabuf(
  sys: Sys,
  profile: AbiProfile,
  bufferFd: number,
  dmabufFd: number,
  bytesUsed: number,
  flags = 0,
): Promise<number> {
  const arg = { fd: dmabufFd, flags, bytes_used: bytesUsed };
  return callIoctlIn(sys, bufferFd, ENQUEUE[profile], arg);
}

/** `DMA_BUF_IOCTL_SYNC` with START (or END) and the direction bits `dir` (DMA_BUF_SYNC_READ/WRITE/RW). */
export function syncDmabuf(sys: Sys, dmabufFd: number, phase: 'start' | 'end', dir: number): Promise<number> {
  const flags = (phase === 'start' ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) | dir;
  return callIoctlIn(sys, dmabufFd, SYNC, { flags });
}
