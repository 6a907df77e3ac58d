/**
 * Compat (ILP32) processes (rulebook §13, COMPAT-1..7): the compat ioctl path, the files whose ioctls are compat
 * safe (same numbers, same struct bytes: same results as LP64 for every rule of §4, §5, §7, §9, §10, §11), the
 * event fd without any ioctl, the two DMA_BUF_SET_NAME numbers, O_LARGEFILE on open(), 32-bit pointers, and the
 * CONFIG_COMPAT=y kernel the ILP32 option stands for. Every program runs twice, as LP64 and as ILP32, on fresh
 * simulators; the results are compared and checked against the exact kernel answers.
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Simulator, Sys } from '../../src/index.ts';
import type { DmaBuf } from '../../src/kernel/dma-buf/dma-buf.ts';
import * as v2 from '../../src/uapi/iio-v2.ts';
import {
  _IOWR,
  ABIS,
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
  dma_buf_sync,
  dma_heap_allocation_data,
  EBADF,
  EBADFD,
  EBUSY,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOTTY,
  EPERM,
  encodeUdmabufCreateList,
  F_ADD_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_SHRINK,
  FIOASYNC,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  FIONREAD,
  FIOQSIZE,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  iio_dmabuf,
  iio_event_data,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  O_CLOEXEC,
  O_LARGEFILE,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
  SEEK_CUR,
  SEEK_END,
  SYNC_IOC_FILE_INFO,
  sync_fence_info,
  sync_file_info,
  UDMABUF_CREATE,
  UDMABUF_CREATE_LIST,
  udmabuf_create,
  udmabuf_create_item,
  udmabuf_create_list,
} from '../../src/uapi/index.ts';
import { enableChannels, setBufferEnabled } from '../../src/user/iio.ts';
import { ORACLE, runOne, simInternal, simState } from '../helpers.ts';
import { fenceName } from './iio/dmabuf-helpers.ts';

type Profile = 'mainline' | 'v2';

const BAD_ADDR = 0x10000;
const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];

function intArg(sys: Sys, value: number): number {
  const a = sys.mem.alloc(4);
  sys.mem.writeInt(a, value);
  return a;
}

async function getFd(sys: Sys, chardev: number, index = 0): Promise<[number, number]> {
  const a = intArg(sys, index);
  const ret = await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, a);
  return [ret, sys.mem.readInt(a)];
}

async function heapAlloc(
  sys: Sys,
  heap: number,
  value: { len: number; fd?: number; fd_flags?: number; heap_flags?: number },
): Promise<[number, number]> {
  const req = sys.mem.allocStruct(dma_heap_allocation_data, { fd_flags: O_RDWR | O_CLOEXEC, ...value });
  const ret = await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req);
  return [ret, sys.mem.readStruct(req, dma_heap_allocation_data).fd];
}

function sync(sys: Sys, fd: number, flags: number | bigint): Promise<number> {
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags }));
}

function dmabufOf(sim: Simulator, sys: Sys, fd: number): DmaBuf {
  return sim.kernel.tasks.get(sys.pid)!.files.file(fd)!.privateData as DmaBuf;
}

/** Runs `body` as an LP64 and as an ILP32 process; returns both values. */
async function bothAbis<R>(
  body: (sys: Sys, sim: Simulator) => Promise<R>,
  abi: Profile = 'mainline',
): Promise<{ lp64: R; ilp32: R }> {
  const lp64 = (await runOne(body, { abi, platform: 'ideal' })).value;
  const ilp32 = (await runOne(body, { abi, platform: 'ideal', spawn: { compat: true } })).value;
  return { lp64, ilp32 };
}

// ---------------------------------------------------------------------------------------------------------------

describe('COMPAT-1: the ILP32 ioctl path', () => {
  it.each(['mainline', 'v2'] as const)(
    "COMPAT-1: %s: VFS generic commands are handled first (FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIOQSIZE), then the file's compat_ioctl; a file without one is -ENOTTY",
    async (abi) => {
      const { lp64, ilp32 } = await bothAbis(async (sys) => {
        expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
        const chardev = await sys.open('/dev/iio:device0', O_RDWR);
        const [, bfd] = await getFd(sys, chardev);
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const [, d] = await heapAlloc(sys, heap, { len: 4096 });
        const memfd = await sys.memfd_create('m', 0);
        const nul = await sys.open('/dev/null', O_RDWR);
        const r: Record<string, number> = {};
        r.clex = await sys.ioctl(d, FIOCLEX, 0);
        r.clexFd = await sys.fcntl(d, F_GETFD);
        r.nclex = await sys.ioctl(d, FIONCLEX, 0);
        r.nclexFd = await sys.fcntl(d, F_GETFD);
        r.clexBuf = await sys.ioctl(bfd, FIONCLEX, 0);
        r.clexBufFd = await sys.fcntl(bfd, F_GETFD);
        r.nbio = await sys.ioctl(bfd, FIONBIO, intArg(sys, 1));
        r.nbioFl = await sys.fcntl(bfd, F_GETFL);
        r.nbioFault = await sys.ioctl(bfd, FIONBIO, BAD_ADDR);
        r.async1 = await sys.ioctl(chardev, FIOASYNC, intArg(sys, 1));
        r.async0 = await sys.ioctl(chardev, FIOASYNC, intArg(sys, 0));
        r.qsizeChardev = await sys.ioctl(chardev, FIOQSIZE, sys.mem.alloc(8));
        r.qsizeDmabuf = await sys.ioctl(d, FIOQSIZE, sys.mem.alloc(8));
        r.nreadBuf = await sys.ioctl(bfd, FIONREAD, sys.mem.alloc(4));
        r.nreadDmabuf = await sys.ioctl(d, FIONREAD, sys.mem.alloc(4));
        r.nreadChardev = await sys.ioctl(chardev, FIONREAD, sys.mem.alloc(4));
        r.memfdUnknown = await sys.ioctl(memfd, 0x12345678, sys.mem.alloc(16));
        r.nullUnknown = await sys.ioctl(nul, 0x12345678, sys.mem.alloc(16));
        r.notOpen = await sys.ioctl(99, FIOCLEX, 0);
        return r;
      }, abi);
      expect(ilp32).toEqual(lp64);
      expect(lp64).toEqual({
        clex: 0,
        clexFd: 1,
        nclex: 0,
        nclexFd: 0,
        clexBuf: 0,
        clexBufFd: 0,
        nbio: 0,
        nbioFl: O_RDWR | O_NONBLOCK,
        nbioFault: -EFAULT,
        async1: -ENOTTY,
        async0: 0,
        qsizeChardev: -ENOTTY,
        qsizeDmabuf: -ENOTTY,
        nreadBuf: abi === 'v2' ? 1 : -EINVAL,
        nreadDmabuf: -ENOTTY,
        nreadChardev: -ENODEV,
        memfdUnknown: -ENOTTY,
        nullUnknown: -ENOTTY,
        notOpen: -EBADF,
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------

/** Exercises the compat-safe ioctls of every file kind, success and error paths, in `abi`'s DMABUF API. */
async function compatSafeProgram(sys: Sys, sim: Simulator, abi: Profile): Promise<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  // §4: the IIO chardev.
  expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
  const chardev = await sys.open('/dev/iio:device0', O_RDWR);
  r.chardev = chardev;
  r.getfdFault = await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, BAD_ADDR);
  r.getfdIndex = await getFd(sys, chardev, 5);
  r.getfdNegative = await getFd(sys, chardev, -1);
  const [getfd, bfd] = await getFd(sys, chardev);
  r.getfd = [getfd, bfd];
  r.getfdBusy = (await getFd(sys, chardev))[0];
  r.eventFdAdc = await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, sys.mem.alloc(4));
  r.chardevUnknown = await sys.ioctl(chardev, 0x12345678, sys.mem.alloc(16));
  const dummy = await sys.open('/dev/iio:device2', O_RDWR);
  const ev = intArg(sys, 0);
  r.eventFd = [await sys.ioctl(dummy, IIO_GET_EVENT_FD_IOCTL, ev), sys.mem.readInt(ev)];
  // §5: the buffer fd.
  r.readBpd0 = await sys.read(bfd, sys.mem.alloc(64), 64);
  r.bufferUnknown = await sys.ioctl(bfd, 0x12345678, sys.mem.alloc(16));
  r.bufferMmap = await sys.mmap(0, 4096, PROT_READ, MAP_SHARED, bfd, 0);
  // §9: heap and udmabuf.
  const heap = await sys.open('/dev/dma_heap/system', O_RDONLY);
  r.heap = heap;
  r.heapFault = await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, BAD_ADDR);
  r.heapNr = await sys.ioctl(heap, _IOWR('H', 1, 24), sys.mem.alloc(24));
  r.heapFd = (await heapAlloc(sys, heap, { len: 4096, fd: 5 }))[0];
  r.heapFdFlags = (await heapAlloc(sys, heap, { len: 4096, fd_flags: O_RDWR | O_NONBLOCK }))[0];
  r.heapFlags = (await heapAlloc(sys, heap, { len: 4096, heap_flags: 1 }))[0];
  r.heapLen0 = (await heapAlloc(sys, heap, { len: 0 }))[0];
  const [heapOk, h] = await heapAlloc(sys, heap, { len: 16384 });
  r.heapOk = [heapOk, h];
  r.heapCloexec = await sys.fcntl(h, F_GETFD);
  const memfd = await sys.memfd_create('u', MFD_ALLOW_SEALING);
  expect(await sys.ftruncate(memfd, 8192)).toBe(0);
  expect(await sys.fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)).toBe(0);
  const udev = await sys.open('/dev/udmabuf', O_RDWR);
  const create = (v: { memfd: number; offset: number; size: number }) =>
    sys.ioctl(udev, UDMABUF_CREATE, sys.mem.allocStruct(udmabuf_create, { flags: 0, ...v }));
  r.udmaFault = await sys.ioctl(udev, UDMABUF_CREATE, BAD_ADDR);
  r.udmaOffset = await create({ memfd, offset: 100, size: 4096 });
  r.udmaBadFd = await create({ memfd: 999, offset: 0, size: 4096 });
  r.udmaNotMemfd = await create({ memfd: chardev, offset: 0, size: 4096 });
  r.udmaTooBig = await create({ memfd, offset: 4096, size: 8192 });
  const u = await create({ memfd, offset: 0, size: 8192 });
  r.udmaOk = u;
  const list = encodeUdmabufCreateList(
    {
      list: [
        { memfd, offset: 0, size: 4096 },
        { memfd, offset: 4096, size: 4096 },
      ],
    },
    sys.mem.abi,
  );
  const listAddr = sys.mem.alloc(list.length);
  sys.mem.write(listAddr, list);
  r.udmaList = await sys.ioctl(udev, UDMABUF_CREATE_LIST, listAddr);
  r.udmaListEmpty = await sys.ioctl(
    udev,
    UDMABUF_CREATE_LIST,
    sys.mem.allocStruct(udmabuf_create_list, { flags: 0, count: 0 }),
  );
  r.udmaUnknown = await sys.ioctl(udev, 0x12345678, sys.mem.alloc(16));
  // §7: the dma-buf core.
  r.syncFault = await sys.ioctl(h, DMA_BUF_IOCTL_SYNC, BAD_ADDR);
  r.syncHighBit = await sync(sys, h, 1n << 40n);
  r.syncNoDir = await sync(sys, h, DMA_BUF_SYNC_END);
  r.syncStart = await sync(sys, h, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
  r.syncEnd = await sync(sys, h, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  r.udmaSyncEndFirst = await sync(sys, u, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  const setName = DMA_BUF_SET_NAME(sys.mem.abi);
  r.setName = await sys.ioctl(h, setName, sys.mem.allocString('heap-buffer'));
  r.name = dmabufOf(sim, sys, h).name;
  r.setNameLong = await sys.ioctl(h, setName, sys.mem.allocString('x'.repeat(32)));
  r.setNameFault = await sys.ioctl(h, setName, BAD_ADDR);
  r.dmabufUnknown = await sys.ioctl(h, 0x12345678, sys.mem.alloc(16));
  r.lseekEnd = await sys.lseek(h, 0, SEEK_END);
  r.lseekCur = await sys.lseek(h, 0, SEEK_CUR);
  r.dmabufFl = await sys.fcntl(h, F_GETFL);
  // §10 / §11: the DMABUF ioctls of the profile.
  const enq = (req: number, fd: number, bytesUsed: number, flags = 0) =>
    sys.ioctl(bfd, req, sys.mem.allocStruct(iio_dmabuf, { fd, flags, bytes_used: bytesUsed }));
  const addr = await sys.mmap(0, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, h, 0);
  if (abi === 'mainline') {
    r.attachFault = await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, BAD_ADDR);
    r.attachBadFd = await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, intArg(sys, 999));
    r.attachNotDmabuf = await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, intArg(sys, chardev));
    r.attach = await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, intArg(sys, h));
    r.attachAgain = await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, intArg(sys, h));
    r.detachNotAttached = await sys.ioctl(bfd, IIO_BUFFER_DMABUF_DETACH_IOCTL, intArg(sys, u));
    r.enqFault = await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, BAD_ADDR);
    r.enqFlags = await enq(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, h, 16384, 2);
    r.enqZero = await enq(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, h, 0);
    r.enqOver = await enq(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, h, 16385);
    r.enqNotAttached = await enq(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, u, 4096);
    r.enable = await setBufferEnabled(sys, 0, true);
    r.enq = await enq(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, h, 16384);
    const exp = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 });
    r.export = [
      await sys.ioctl(h, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, exp),
      sys.mem.readStruct(exp, dma_buf_export_sync_file).fd,
    ];
    r.exportBadFlags = await sys.ioctl(
      h,
      DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
      sys.mem.allocStruct(dma_buf_export_sync_file, { flags: 4, fd: 0 }),
    );
    const sf = sys.mem.readStruct(exp, dma_buf_export_sync_file).fd;
    const info = sys.mem.allocStruct(sync_file_info, { flags: 0 });
    r.infoPending = [
      await sys.ioctl(sf, SYNC_IOC_FILE_INFO, info),
      sys.mem.readStruct(info, sync_file_info).status,
    ];
    r.infoFlags = await sys.ioctl(sf, SYNC_IOC_FILE_INFO, sys.mem.allocStruct(sync_file_info, { flags: 1 }));
    r.syncFileUnknown = await sys.ioctl(sf, 0x12345678, sys.mem.alloc(16));
  } else {
    r.allocFault = await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, BAD_ADDR);
    const alloc = (size: number, resv = 0) =>
      sys.ioctl(
        bfd,
        v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
        sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size, resv }),
      );
    r.allocResv = await alloc(4096, 1);
    r.allocZero = await alloc(0);
    const d = await alloc(16384);
    r.alloc = d;
    r.enqFault = await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, BAD_ADDR);
    r.enqFlags = await enq(v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, d, 16384, 2);
    r.enqHeap = await enq(v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, h, 16384);
    r.enqOver = await enq(v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, d, 16385);
    r.enqBadFd = await enq(v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, 999, 16384);
    r.enable = await setBufferEnabled(sys, 0, true);
    r.enq = await enq(v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, d, 0);
    r.enqBusy = await enq(v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, d, 0);
    r.export = await sys.ioctl(
      d,
      DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
      sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 }),
    );
    r.import = await sys.ioctl(
      d,
      DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
      sys.mem.allocStruct(dma_buf_import_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 }),
    );
    const fds: PollEntry[] = [{ fd: d, events: POLLIN }];
    r.poll = [await sys.pollfds(fds, -1), fds[0]!.revents, sys.now()];
    const daddr = await sys.mmap(0, 16384, PROT_READ, MAP_SHARED, d, 0);
    r.first = Array.from(sys.mem.read(daddr, 8));
  }
  if (abi === 'mainline') {
    const fds: PollEntry[] = [{ fd: h, events: POLLIN }];
    r.poll = [await sys.pollfds(fds, -1), fds[0]!.revents, sys.now()];
    r.first = Array.from(sys.mem.read(addr, 8));
  }
  r.disable = await setBufferEnabled(sys, 0, false);
  return r;
}

describe('COMPAT-2: compat-safe ioctls give identical results in both ABIs', () => {
  const common = {
    chardev: 0,
    getfdFault: -EFAULT,
    getfdIndex: [-ENODEV, 5],
    getfdNegative: [-ENODEV, -1],
    getfd: [0, 1],
    getfdBusy: -EBUSY,
    eventFdAdc: -ENODEV,
    chardevUnknown: -ENODEV,
    eventFd: [0, 3],
    readBpd0: 0,
    bufferMmap: -ENODEV,
    heap: 4,
    heapFault: -EFAULT,
    heapNr: -EINVAL,
    heapFd: -EINVAL,
    heapFdFlags: -EINVAL,
    heapFlags: -EINVAL,
    heapLen0: -EINVAL,
    heapOk: [0, 5],
    heapCloexec: 1,
    udmaFault: -EFAULT,
    udmaOffset: -EINVAL,
    udmaBadFd: -EBADFD,
    udmaNotMemfd: -EBADFD,
    udmaTooBig: -EINVAL,
    udmaOk: 8,
    udmaList: 9,
    udmaListEmpty: -EINVAL,
    udmaUnknown: -ENOTTY,
    syncFault: -EFAULT,
    syncHighBit: -EINVAL,
    syncNoDir: -EINVAL,
    syncStart: 0,
    syncEnd: 0,
    udmaSyncEndFirst: -EINVAL,
    setName: 0,
    name: 'heap-buffer',
    setNameLong: -EINVAL,
    setNameFault: -EFAULT,
    dmabufUnknown: -ENOTTY,
    lseekEnd: 16384,
    lseekCur: -EINVAL,
    dmabufFl: O_RDWR,
    enable: 1,
    enq: 0,
    first: [0x00, 0xf8, 0x00, 0xfc, 0x00, 0x00, 0x00, 0x04],
    disable: 1,
  };

  it('COMPAT-2: mainline: §4 chardev, §5 buffer fd, §7 dma-buf, §9 heap/udmabuf, §10 ATTACH/DETACH/ENQUEUE and the sync_file', async () => {
    const { lp64, ilp32 } = await bothAbis((sys, sim) => compatSafeProgram(sys, sim, 'mainline'), 'mainline');
    expect(ilp32).toEqual(lp64);
    expect(lp64).toEqual({
      ...common,
      bufferUnknown: -EINVAL,
      attachFault: -EFAULT,
      attachBadFd: -EBADF,
      attachNotDmabuf: -EINVAL,
      attach: 0,
      attachAgain: -EBUSY,
      detachNotAttached: -EPERM,
      enqFault: -EFAULT,
      enqFlags: -EINVAL,
      enqZero: -EINVAL,
      enqOver: -EINVAL,
      enqNotAttached: -EPERM,
      export: [0, 10],
      exportBadFlags: -EINVAL,
      infoPending: [0, 0],
      infoFlags: -EINVAL,
      syncFileUnknown: -ENOTTY,
      poll: [1, POLLIN, 2_048_000 + 2_000],
    });
  });

  it('COMPAT-2: v2: §4 chardev, §5 buffer fd, §7 dma-buf, §9 heap/udmabuf, §11 ALLOC/ENQUEUE', async () => {
    const { lp64, ilp32 } = await bothAbis((sys, sim) => compatSafeProgram(sys, sim, 'v2'), 'v2');
    expect(ilp32).toEqual(lp64);
    expect(lp64).toEqual({
      ...common,
      bufferUnknown: 1,
      allocFault: -EFAULT,
      allocResv: -EINVAL,
      allocZero: -EINVAL,
      alloc: 10,
      enqFault: -EFAULT,
      enqFlags: -EINVAL,
      enqHeap: -EINVAL,
      enqOver: -EINVAL,
      enqBadFd: -EBADF,
      enqBusy: -EBUSY,
      export: -ENOTTY,
      import: -ENOTTY,
      poll: [1, POLLIN, 2_048_000 + 2_000],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('COMPAT-3: the event fd has no ioctl op', () => {
  it.each(['mainline', 'v2'] as const)(
    'COMPAT-3: %s: any ioctl on an event fd is -ENOTTY in both ABIs (VFS generic commands still work)',
    async (abi) => {
      const { lp64, ilp32 } = await bothAbis(async (sys) => {
        const dummy = await sys.open('/dev/iio:device2', O_RDWR);
        const a = intArg(sys, 0);
        expect(await sys.ioctl(dummy, IIO_GET_EVENT_FD_IOCTL, a)).toBe(0);
        const ev = sys.mem.readInt(a);
        return [
          ev,
          await sys.ioctl(ev, IIO_GET_EVENT_FD_IOCTL, sys.mem.alloc(4)),
          await sys.ioctl(ev, IIO_BUFFER_GET_FD_IOCTL, intArg(sys, 0)),
          await sys.ioctl(ev, 0x12345678, sys.mem.alloc(16)),
          await sys.ioctl(ev, FIONREAD, sys.mem.alloc(4)),
          await sys.ioctl(ev, FIONCLEX, 0),
          await sys.fcntl(ev, F_GETFD),
        ];
      }, abi);
      expect(ilp32).toEqual(lp64);
      expect(lp64).toEqual([1, -ENOTTY, -ENOTTY, -ENOTTY, -ENOTTY, 0, 0]);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------

/** A dma-buf name on the real kernel, where the test does not read it. */
const NOT_READ = '(not read on the real kernel)';

describe('COMPAT-4: DMA_BUF_SET_NAME has two numbers', () => {
  it('COMPAT-4: ILP32 headers give _A 0x40046201, LP64 headers _B 0x40086201', () => {
    expect(DMA_BUF_SET_NAME('ilp32')).toBe(0x40046201);
    expect(DMA_BUF_SET_NAME('lp64')).toBe(0x40086201);
    expect([DMA_BUF_SET_NAME_A, DMA_BUF_SET_NAME_B]).toEqual([0x40046201, 0x40086201]);
  });

  it.each(['mainline', 'v2'] as const)(
    'COMPAT-4: %s: both numbers are accepted from both ABIs, on heap and IIO dma-bufs',
    async (abi) => {
      const { lp64, ilp32 } = await bothAbis(async (sys, sim) => {
        const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
        const [, h] = await heapAlloc(sys, heap, { len: 4096 });
        const out: (number | string)[] = [];
        // The name itself shows in fdinfo and readlink, which Sys does not have: read on the simulator only.
        const name = (fd: number) => simInternal(() => dmabufOf(sim, sys, fd).name) ?? NOT_READ;
        out.push(await sys.ioctl(h, DMA_BUF_SET_NAME_A, sys.mem.allocString('by-A')));
        out.push(name(h));
        out.push(await sys.ioctl(h, DMA_BUF_SET_NAME_B, sys.mem.allocString('by-B')));
        out.push(name(h));
        out.push(await sys.ioctl(h, DMA_BUF_SET_NAME_A, sys.mem.allocString('y'.repeat(32))));
        out.push(await sys.ioctl(h, DMA_BUF_SET_NAME_B, sys.mem.allocString('')));
        out.push(name(h));
        if (abi === 'v2') {
          expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
          const chardev = await sys.open('/dev/iio:device0', O_RDWR);
          const [, bfd] = await getFd(sys, chardev);
          const d = await sys.ioctl(
            bfd,
            v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
            sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: 4096, resv: 0 }),
          );
          out.push(await sys.ioctl(d, DMA_BUF_SET_NAME_A, sys.mem.allocString('iio-A')));
          out.push(await sys.ioctl(d, DMA_BUF_SET_NAME_B, sys.mem.allocString('iio-B')));
          out.push(dmabufOf(sim, sys, d).name);
        }
        return out;
      }, abi);
      expect(ilp32).toEqual(lp64);
      const shown = (n: string) => (ORACLE ? NOT_READ : n);
      expect(lp64).toEqual([
        0,
        shown('by-A'),
        0,
        shown('by-B'),
        -EINVAL,
        0,
        shown(''),
        ...(abi === 'v2' ? [0, 0, 'iio-B'] : []),
      ]);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------

describe('COMPAT-5: open() and O_LARGEFILE', () => {
  it('COMPAT-5: an LP64 open() adds O_LARGEFILE, an ILP32 open() does not; anon-inode and dma-buf fds never have it', async () => {
    const { lp64, ilp32 } = await bothAbis(async (sys) => {
      const chardev = await sys.open('/dev/iio:device0', O_RDWR);
      const heap = await sys.open('/dev/dma_heap/system', O_RDONLY);
      const attr = await sys.open('/sys/bus/iio/devices/iio:device0/buffer0/length', O_RDONLY);
      const [, bfd] = await getFd(sys, chardev);
      const [, h] = await heapAlloc(sys, heap, { len: 4096 });
      return [
        await sys.fcntl(chardev, F_GETFL),
        await sys.fcntl(heap, F_GETFL),
        await sys.fcntl(attr, F_GETFL),
        await sys.fcntl(bfd, F_GETFL),
        await sys.fcntl(h, F_GETFL),
      ];
    });
    expect(lp64).toEqual([
      O_RDWR | O_LARGEFILE,
      O_RDONLY | O_LARGEFILE,
      O_RDONLY | O_LARGEFILE,
      O_RDWR,
      O_RDWR,
    ]);
    expect(ilp32).toEqual([O_RDWR, O_RDONLY, O_RDONLY, O_RDWR, O_RDWR]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('COMPAT-6: pointers', () => {
  it('COMPAT-6: ILP32 addresses (heap memory, mmap) fit in 32 bits; LP64 ones need not', async () => {
    const { ilp32 } = await bothAbis(async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const [, h] = await heapAlloc(sys, heap, { len: 1 << 20 });
      const addrs = [
        sys.mem.alloc(4096),
        sys.mem.alloc(1 << 20),
        await sys.mmap(0, 1 << 20, PROT_READ, MAP_SHARED, h, 0),
      ];
      return { abi: sys.mem.abi, addrs };
    });
    expect(ilp32.abi).toBe('ilp32');
    for (const a of ilp32.addrs) {
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThan(2 ** 32);
    }
  });

  it('COMPAT-6: every uapi struct carries fds and sizes, not pointers: same size and same bytes in both ABIs', () => {
    const structs = [
      [iio_dmabuf, { fd: 3, flags: 1, bytes_used: 0x1_0000_0001n }, 16],
      [v2.iio_dmabuf_alloc_req, { size: 0x1_0000_0000n, resv: 0 }, 16],
      [iio_event_data, { id: 0x0102030405060708n, timestamp: -5n }, 16],
      [dma_buf_sync, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW }, 8],
      [dma_buf_export_sync_file, { flags: 3, fd: 7 }, 8],
      [dma_buf_import_sync_file, { flags: 3, fd: 7 }, 8],
      [sync_file_info, { name: 'x', status: 1, num_fences: 2, sync_fence_info: 0xdead_beef_0000n }, 56],
      [sync_fence_info, { obj_name: 'o', driver_name: 'd', status: -4, timestamp_ns: 12n }, 80],
      [dma_heap_allocation_data, { len: 5000, fd: 0, fd_flags: O_RDWR, heap_flags: 0 }, 24],
      [udmabuf_create, { memfd: 3, flags: 1, offset: 4096, size: 8192 }, 24],
      [udmabuf_create_item, { memfd: 3, offset: 4096, size: 8192 }, 24],
      [udmabuf_create_list, { flags: 0, count: 2 }, 8],
    ] as const;
    for (const [codec, value, size] of structs) {
      const c = codec as unknown as {
        size(abi: 'lp64' | 'ilp32'): number;
        encode(v: unknown, abi: 'lp64' | 'ilp32'): Uint8Array;
      };
      expect(ABIS.map((abi) => c.size(abi))).toEqual([size, size]);
      expect([...c.encode(value, 'ilp32')]).toEqual([...c.encode(value, 'lp64')]);
    }
  });

  it('COMPAT-6: sync_file_info carries its array pointer as a u64: SYNC_IOC_FILE_INFO with num_fences 1 fills the array at a 32-bit address', async () => {
    const { lp64, ilp32 } = await bothAbis(async (sys) => {
      expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
      const chardev = await sys.open('/dev/iio:device0', O_RDWR);
      const [, bfd] = await getFd(sys, chardev);
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const [, h] = await heapAlloc(sys, heap, { len: 16384 });
      expect(await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, intArg(sys, h))).toBe(0);
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      expect(
        await sys.ioctl(
          bfd,
          IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
          sys.mem.allocStruct(iio_dmabuf, { fd: h, flags: 0, bytes_used: 16384 }),
        ),
      ).toBe(0);
      const exp = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 });
      expect(await sys.ioctl(h, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, exp)).toBe(0);
      const sf = sys.mem.readStruct(exp, dma_buf_export_sync_file).fd;
      const arr = sys.mem.alloc(sync_fence_info.size(sys.mem.abi));
      const info = sys.mem.allocStruct(sync_file_info, { num_fences: 1, sync_fence_info: arr });
      const ret = await sys.ioctl(sf, SYNC_IOC_FILE_INFO, info);
      const head = sys.mem.readStruct(info, sync_file_info);
      const entry = sys.mem.readStruct(arr, sync_fence_info);
      expect(await setBufferEnabled(sys, 0, false)).toBe(1);
      return {
        ret,
        pointerKept: head.sync_fence_info === BigInt(arr),
        small: sys.mem.abi === 'lp64' || arr < 2 ** 32,
        head: { name: head.name, status: head.status, num_fences: head.num_fences },
        entry: { obj: entry.obj_name, drv: entry.driver_name, status: entry.status },
      };
    });
    const expected = {
      ret: 0,
      pointerKept: true,
      small: true,
      head: { name: fenceName('iio-iio1-1'), status: 0, num_fences: 1 },
      entry: { obj: 'iio', drv: 'iio', status: 0 },
    };
    // Both the same, but for the fence context on the real kernel (it counts since boot, across both runs).
    expect(lp64).toEqual(expected);
    expect(ilp32).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('COMPAT-7: the ILP32 option models a CONFIG_COMPAT=y kernel', () => {
  it.each(['mainline', 'v2'] as const)(
    'COMPAT-7: %s: an ILP32 process runs, and every file with an ioctl op also has a compat_ioctl (chardev, buffer fd, dma-buf, heap, udmabuf, sync_file)',
    async (abi) => {
      const { value, outcome } = await runOne(
        async (sys, sim) => {
          expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
          const chardev = await sys.open('/dev/iio:device0', O_RDWR);
          const [getfd, bfd] = await getFd(sys, chardev);
          const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
          const [alloc, h] = await heapAlloc(sys, heap, { len: 4096 });
          const udev = await sys.open('/dev/udmabuf', O_RDWR);
          const fds = [chardev, bfd, heap, h, udev];
          // What user space sees of the compat_ioctl ops: each file's own ioctl is reached (a file without one
          // would be -ENOTTY, COMPAT-1), with the driver's own result.
          const reached = [getfd, alloc];
          if (abi === 'mainline') {
            const exp = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW, fd: 0 });
            reached.push(await sys.ioctl(h, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, exp));
            const sync = sys.mem.readStruct(exp, dma_buf_export_sync_file).fd;
            fds.push(sync);
            reached.push(await sys.ioctl(bfd, IIO_BUFFER_DMABUF_DETACH_IOCTL, intArg(sys, -1)));
            reached.push(
              await sys.ioctl(
                udev,
                UDMABUF_CREATE,
                sys.mem.allocStruct(udmabuf_create, { memfd: -1, flags: 0, offset: 0, size: 4096 }),
              ),
            );
            reached.push(await sys.ioctl(sync, SYNC_IOC_FILE_INFO, sys.mem.allocStruct(sync_file_info, {})));
          }
          const kinds = simInternal(() => {
            const files = sim.kernel.tasks.get(sys.pid)!.files;
            return fds.map((fd) => {
              const fops = files.file(fd)!.fops;
              return [typeof fops.unlockedIoctl, typeof fops.compatIoctl];
            });
          });
          return { compat: sys.compat, abi: sys.mem.abi, reached, kinds };
        },
        { abi, platform: 'ideal', spawn: { compat: true } },
      );
      expect(outcome.status).toBe('exited');
      expect(value).toEqual({
        compat: true,
        abi: 'ilp32',
        reached: abi === 'mainline' ? [0, 0, 0, -EBADF, -EBADFD, 0] : [0, 0],
        kinds: simState(
          new Array(abi === 'mainline' ? 6 : 5).fill(['function', 'function']),
          'file operations',
        ),
      });
    },
  );
});
