/**
 * User-space helpers for the DMABUF interface, the way libiio's DMABUF backend uses it: allocate from the
 * system heap, map, attach (mainline) or allocate through IIO (v2), enqueue, CPU-access bracketing with
 * DMA_BUF_IOCTL_SYNC, and waiting with poll. Every helper goes through the program's syscalls and returns
 * the raw kernel result of the call that failed.
 */
import type { Sys } from '../sim/process.ts';
import { DMA_BUF_IOCTL_SYNC, DMA_BUF_SYNC_END, DMA_BUF_SYNC_START, dma_buf_sync } from '../uapi/dma-buf.ts';
import { DMA_HEAP_IOCTL_ALLOC, dma_heap_allocation_data } from '../uapi/dma-heap.ts';
import { O_CLOEXEC, O_RDWR } from '../uapi/fcntl.ts';
import {
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  iio_dmabuf,
} from '../uapi/iio.ts';
import * as v2 from '../uapi/iio-v2.ts';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/mman.ts';

/** A DMABUF a program holds: its fd and where it is mapped. */
export interface UserDmabuf {
  readonly fd: number;
  readonly addr: number;
  readonly size: number;
}

/** Allocates `size` bytes from `/dev/dma_heap/system` (opened at `heapFd`) and maps them shared. */
export async function allocHeapDmabuf(sys: Sys, heapFd: number, size: number): Promise<UserDmabuf | number> {
  const req = sys.mem.allocStruct(dma_heap_allocation_data, { len: size, fd_flags: O_RDWR | O_CLOEXEC });
  const ret = await sys.ioctl(heapFd, DMA_HEAP_IOCTL_ALLOC, req);
  if (ret < 0) return ret;
  const fd = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
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
  const fd = await sys.ioctl(
    bufferFd,
    v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size, resv: 0 }),
  );
  if (fd < 0) return fd;
  const addr = await sys.mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr < 0) return addr;
  return { fd, addr, size };
}

async function intIoctl(sys: Sys, fd: number, req: number, value: number): Promise<number> {
  const arg = sys.mem.alloc(4);
  sys.mem.writeInt(arg, value);
  return sys.ioctl(fd, req, arg);
}

/** mainline: `IIO_BUFFER_DMABUF_ATTACH_IOCTL`. */
export function attachDmabuf(sys: Sys, bufferFd: number, dmabufFd: number): Promise<number> {
  return intIoctl(sys, bufferFd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, dmabufFd);
}

/** mainline: `IIO_BUFFER_DMABUF_DETACH_IOCTL`. */
export function detachDmabuf(sys: Sys, bufferFd: number, dmabufFd: number): Promise<number> {
  return intIoctl(sys, bufferFd, IIO_BUFFER_DMABUF_DETACH_IOCTL, dmabufFd);
}

/** `IIO_BUFFER_DMABUF_ENQUEUE_IOCTL` of the simulator's profile (`mainline` or `v2` request number). */
export function enqueueDmabuf(
  sys: Sys,
  profile: 'mainline' | 'v2',
  bufferFd: number,
  dmabufFd: number,
  bytesUsed: number,
  flags = 0,
): Promise<number> {
  const req = profile === 'v2' ? v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL : IIO_BUFFER_DMABUF_ENQUEUE_IOCTL;
  return sys.ioctl(
    bufferFd,
    req,
    sys.mem.allocStruct(iio_dmabuf, { fd: dmabufFd, flags, bytes_used: bytesUsed }),
  );
}

/** `DMA_BUF_IOCTL_SYNC` with START (or END) and the direction bits `dir` (DMA_BUF_SYNC_READ/WRITE/RW). */
export function syncDmabuf(sys: Sys, dmabufFd: number, phase: 'start' | 'end', dir: number): Promise<number> {
  const flags = (phase === 'start' ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) | dir;
  return sys.ioctl(dmabufFd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags }));
}
