/**
 * The v2 profile's DMABUF interface (rulebook §11: V2-IOC-*, V2-ALLOC-*, V2-ENQ-*, V2-SUB-*, V2-IO-*, V2-REL-*):
 * IIO_BUFFER_DMABUF_ALLOC_IOCTL and the v2 IIO_BUFFER_DMABUF_ENQUEUE_IOCTL on buffer fds, the submit path of
 * the dmaengine backend, read()/write() next to DMABUFs, and what closing fds does. The fence and dma-buf side
 * (V2-FENCE-*, V2-DBUF-*) is in dmabuf-v2-fence.test.ts.
 *
 * sim-adc (iio:device0): 4 × le:s12/16 at 1 MHz, bpd 8, DMA alignment 8: a 16384-byte block holds 2048 scans and
 * takes 2.048 ms; the completion IRQ comes 2 µs after a transfer ends. sim-dac (iio:device1): 2 × le:s16/16,
 * bpd 4, alignment 4. sim-dummy (iio:device2): kfifo.
 */
import { describe, expect, it } from 'vitest';
import {
  type AdcConfig,
  createSimulator,
  type DacConfig,
  type DeviceConfig,
  defaultDevices,
  EAGAIN,
  type PollEntry,
  type Simulator,
  type Sys,
} from '../../../src/index.ts';
import type { DmaBuf } from '../../../src/kernel/dma-buf/dma-buf.ts';
import { IIO_BLOCK_STATE_DONE } from '../../../src/kernel/iio/buffer-dma.ts';
import * as v2 from '../../../src/uapi/iio-v2.ts';
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_START,
  DMA_HEAP_IOCTL_ALLOC,
  dma_buf_sync,
  dma_heap_allocation_data,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  EMFILE,
  ENODEV,
  ENOMEM,
  EPERM,
  F_ADD_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_SHRINK,
  F_SETFL,
  FIONREAD,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL as MAINLINE_ENQUEUE_IOCTL,
  MAP_SHARED,
  MFD_ALLOW_SEALING,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLIN,
  POLLOUT,
  PROT_READ,
  PROT_WRITE,
  SEEK_END,
  UDMABUF_CREATE,
  udmabuf_create,
} from '../../../src/uapi/index.ts';
import { enableChannels, openBuffer, readAttr, setBufferEnabled, writeAttr } from '../../../src/user/iio.ts';
import { realSkip, runOne } from '../../helpers.ts';
import { FAULT_INJECTION_SIM_ONLY } from './dmabuf-helpers.ts';

const MS = 1_000_000;
const IRQ = 2_000;
/** One 16384-byte ADC block: 2048 scans at 1 MHz. */
const BLOCK_NS = 2_048_000;
const ADC_CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];
const ADC_BUF = '/sys/bus/iio/devices/iio:device0/buffer0';
/** An address no process has mapped. */
const BAD_ADDR = 0x10000;

function ramp(n: number, c: number): number {
  return ((n + 1024 * c) % 4096) - 2048;
}

function adcScans(first: number, count: number): number[] {
  const out: number[] = [];
  for (let n = first; n < first + count; n++) for (let c = 0; c < 4; c++) out.push(ramp(n, c));
  return out;
}

function s16(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 1 }, (_, i) => v.getInt16(i * 2, true));
}

function dacPattern(k: number, c: number): number {
  return ((k * 101 + c * 7000) % 65536) - 32768;
}

function dacBytes(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    v.setInt16(i * 4, dacPattern(first + i, 0), true);
    v.setInt16(i * 4 + 2, dacPattern(first + i, 1), true);
  }
  return out;
}

function dacScans(first: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => [dacPattern(first + i, 0), dacPattern(first + i, 1)]);
}

function withDma(device: 'adc' | 'dac', dma: NonNullable<AdcConfig['dma']>): DeviceConfig[] {
  const devices = defaultDevices();
  (devices[device === 'adc' ? 0 : 1] as AdcConfig | DacConfig).dma = dma;
  return devices;
}

/** Enables the channels of `device` (0 ADC, 1 DAC, 2 dummy) and returns its buffer fd (the chardev stays open). */
async function bufferOf(sys: Sys, device: 0 | 1 | 2): Promise<number> {
  const channels = device === 0 ? ADC_CHANNELS : device === 1 ? DAC_CHANNELS : ['in_voltage0'];
  expect(await enableChannels(sys, device, channels)).toBe(0);
  const b = await openBuffer(sys, device);
  if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
  return b.fd;
}

function alloc(sys: Sys, bfd: number, size: number | bigint, resv: number | bigint = 0): Promise<number> {
  return sys.ioctl(
    bfd,
    v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size, resv }),
  );
}

function enqueue(sys: Sys, bfd: number, fd: number, bytesUsed: number | bigint, flags = 0): Promise<number> {
  return sys.ioctl(
    bfd,
    v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    sys.mem.allocStruct(v2.iio_dmabuf, { fd, flags, bytes_used: bytesUsed }),
  );
}

function mapShared(sys: Sys, fd: number, len: number): Promise<number> {
  return sys.mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

function sync(sys: Sys, fd: number, flags: number): Promise<number> {
  return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sys.mem.allocStruct(dma_buf_sync, { flags }));
}

function enable(sys: Sys, device: 0 | 1 | 2, on: boolean): Promise<number> {
  return setBufferEnabled(sys, device, on);
}

async function heapBuf(sys: Sys, len: number): Promise<number> {
  const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
  const req = sys.mem.allocStruct(dma_heap_allocation_data, { len, fd_flags: O_RDWR | O_CLOEXEC });
  expect(await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req)).toBe(0);
  const fd = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
  expect(await sys.close(heap)).toBe(0);
  return fd;
}

async function setNonblock(sys: Sys, fd: number, on = true): Promise<void> {
  const fl = await sys.fcntl(fd, F_GETFL);
  expect(await sys.fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK)).toBe(0);
}

/** The dma-buf object behind `fd` of the running process (kernel state no syscall shows). */
function dmabufOf(sim: Simulator, sys: Sys, fd: number): DmaBuf {
  const file = sim.kernel.tasks.get(sys.pid)!.files.file(fd)!;
  return file.privateData as DmaBuf;
}

function logsOf(sim: Simulator): { level: string; device: string; message: string; time: number }[] {
  const out: { level: string; device: string; message: string; time: number }[] = [];
  sim.events.on('kernel:log', (e) => out.push(e));
  return out;
}

function fenceEvents(sim: Simulator): { event: string; driver: string; context: number; seqno: number }[] {
  const out: { event: string; driver: string; context: number; seqno: number }[] = [];
  sim.events.on('fence:trace', (e) =>
    out.push({ event: e.event, driver: e.driver, context: e.context, seqno: e.seqno }),
  );
  return out;
}

const V2 = { abi: 'v2', platform: 'ideal' } as const;

// ---------------------------------------------------------------------------------------------------------------

describe('V2-IOC: buffer-fd and chardev dispatch', () => {
  it('V2-IOC-1: every buffer-fd command other than ALLOC/ENQUEUE returns 1 (GET_FD, GET_EVENT_FD, mainline numbers, FIONREAD, unknown)', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const intArg = sys.mem.alloc(4);
      const out: number[] = [];
      for (const cmd of [
        0xc0046991, // IIO_BUFFER_GET_FD_IOCTL
        IIO_GET_EVENT_FD_IOCTL,
        IIO_BUFFER_DMABUF_ATTACH_IOCTL,
        IIO_BUFFER_DMABUF_DETACH_IOCTL,
        MAINLINE_ENQUEUE_IOCTL,
        FIONREAD,
        0x12345678,
        0,
      ])
        out.push(await sys.ioctl(bfd, cmd, intArg));
      // A bad pointer changes nothing: the argument is never read.
      out.push(await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, BAD_ADDR));
      return out;
    }, V2);
    expect(value).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('V2-IOC-1: a kfifo buffer fd (sim-dummy) also answers 1 to unknown and mainline commands', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 2);
      const arg = sys.mem.alloc(16);
      return [
        await sys.ioctl(bfd, 0x12345678, arg),
        await sys.ioctl(bfd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, arg),
        await sys.ioctl(bfd, MAINLINE_ENQUEUE_IOCTL, arg),
      ];
    }, V2);
    expect(value).toEqual([1, 1, 1]);
  });

  it('V2-IOC-2: ALLOC and ENQUEUE on the chardev are -ENODEV (CIOC-4), with valid arguments', async () => {
    const { value } = await runOne(async (sys) => {
      expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
      const dfd = await alloc(sys, b.fd, 4096);
      expect(dfd).toBe(2);
      return [await alloc(sys, b.chardev, 4096), await enqueue(sys, b.chardev, dfd, 4096)];
    }, V2);
    expect(value).toEqual([-ENODEV, -ENODEV]);
  });

  it('V2-IOC-3: O_NONBLOCK on the buffer fd is ignored: ALLOC returns an fd and ENQUEUE queues and completes', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      await setNonblock(sys, bfd);
      const fl = await sys.fcntl(bfd, F_GETFL);
      const dfd = await alloc(sys, bfd, 16384);
      const addr = await mapShared(sys, dfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      const enq = await enqueue(sys, bfd, dfd, 16384);
      const fds: PollEntry[] = [{ fd: dfd, events: POLLIN }];
      const p = await sys.pollfds(fds, -1);
      const t = sys.now();
      const data = s16(sys.mem.read(addr, 64));
      expect(await enable(sys, 0, false)).toBe(1);
      return { fl, dfd, enq, p, revents: fds[0]!.revents, t, data };
    }, V2);
    expect(value).toEqual({
      fl: O_RDWR | O_NONBLOCK,
      dfd: 2,
      enq: 0,
      p: 1,
      revents: POLLIN,
      t: BLOCK_NS + IRQ,
      data: adcScans(0, 8),
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('V2-ALLOC: IIO_BUFFER_DMABUF_ALLOC_IOCTL', () => {
  it('V2-ALLOC-1: a kfifo buffer is -EPERM before the argument is read (a bad pointer is not -EFAULT)', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 2);
      return [await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, BAD_ADDR), await alloc(sys, bfd, 4096)];
    }, V2);
    expect(value).toEqual([-EPERM, -EPERM]);
  });

  it('V2-ALLOC-2: an unreadable 16-byte argument is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      return [
        await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, BAD_ADDR),
        await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, 0),
      ];
    }, V2);
    expect(value).toEqual([-EFAULT, -EFAULT]);
  });

  it('V2-ALLOC-3: resv != 0 is -EINVAL, checked before the fileio-mode test and the size', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const a = await alloc(sys, bfd, 4096, 1);
      const b = await alloc(sys, bfd, 0, 1n << 63n);
      expect(await enable(sys, 0, true)).toBe(1);
      const c = await alloc(sys, bfd, 4096, 1);
      expect(await enable(sys, 0, false)).toBe(1);
      return [a, b, c];
    }, V2);
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('V2-ALLOC-4: while enabled in fileio mode ALLOC is -EBUSY, before the size check; after the disable it works', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      expect(await enable(sys, 0, true)).toBe(1);
      const busy = await alloc(sys, bfd, 4096);
      const busyZero = await alloc(sys, bfd, 0);
      expect(await enable(sys, 0, false)).toBe(1);
      const after = await alloc(sys, bfd, 4096);
      return [busy, busyZero, after];
    }, V2);
    expect(value).toEqual([-EBUSY, -EBUSY, 2]);
  });

  it('V2-ALLOC-4: a failed enable that left the fileio flag set (request_update -ENOMEM, DMAQ-12) makes ALLOC -EBUSY on the disabled buffer', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      // 2^27 scans of 8 bytes: two 512 MiB fileio blocks, more than the board's 1 GiB once the first is taken.
      expect(await writeAttr(sys, `${ADC_BUF}/length`, String(2 ** 28))).toBe(9);
      const en = await enable(sys, 0, true);
      const state = await readAttr(sys, `${ADC_BUF}/enable`);
      const a = await alloc(sys, bfd, 4096);
      // The same flag makes ENQUEUE -EBUSY (V2-ENQ-5), before the fd is looked at.
      const e = await enqueue(sys, bfd, 999, 4096);
      return { en, state, a, e };
    }, V2);
    expect(value).toEqual({ en: -ENOMEM, state: '0\n', a: -EBUSY, e: -EBUSY });
  });

  it('V2-ALLOC-5: size 0 is -EINVAL; no alignment, bpd or upper bound check (1, 3, 5000 and 512 MiB all work)', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      return [
        await alloc(sys, bfd, 0),
        await alloc(sys, bfd, 1),
        await alloc(sys, bfd, 3),
        await alloc(sys, bfd, 5000),
        await alloc(sys, bfd, 512 * 1024 * 1024),
      ];
    }, V2);
    expect(value).toEqual([-EINVAL, 2, 3, 4, 5]);
  });

  it('V2-ALLOC-6: ALLOC frees the fileio blocks even when it then fails (-ENOMEM): data_available 32768 → 0', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      const before = await readAttr(sys, `${ADC_BUF}/data_available`);
      const a = await alloc(sys, bfd, 1n << 40n);
      const after = await readAttr(sys, `${ADC_BUF}/data_available`);
      return { before, a, after };
    }, V2);
    expect(value).toEqual({ before: '32768\n', a: -ENOMEM, after: '0\n' });
  });

  it('V2-ALLOC-6: a second ALLOC empties the incoming queue: a block QUEUED while disabled is orphaned (never played, re-ENQUEUE 0, fence never signals)', async () => {
    const { value, sim } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      const bfd = await bufferOf(sys, 1);
      const a = await alloc(sys, bfd, 8192);
      const addr = await mapShared(sys, a, 8192);
      sys.mem.write(addr, dacBytes(0, 2048));
      const enqA = await enqueue(sys, bfd, a, 0);
      const b = await alloc(sys, bfd, 8192);
      expect(await enable(sys, 1, true)).toBe(1);
      const reEnq = await enqueue(sys, bfd, a, 0);
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      const fds: PollEntry[] = [{ fd: a, events: POLLOUT | POLLIN }];
      const p = await sys.pollfds(fds, 0);
      expect(await enable(sys, 1, false)).toBe(1);
      return { enqA, b, reEnq, p, events: fences.map((f) => f.event) };
    }, V2);
    expect(value).toEqual({ enqA: 0, b: 3, reEnq: 0, p: 0, events: ['dma_fence_init'] });
    expect(sim.device('sim-dac').dac!.playedScans()).toEqual(new Array(5000).fill(null));
  });

  it('V2-ALLOC-7: more memory than the board has is -ENOMEM', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      return [
        await alloc(sys, bfd, 1n << 40n),
        await alloc(sys, bfd, 2n ** 31n),
        await alloc(sys, bfd, 4096),
      ];
    }, V2);
    expect(value).toEqual([-ENOMEM, -ENOMEM, 2]);
  });

  it('V2-ALLOC-8: no free fd is -EMFILE and the block is freed: the next enable is in fileio mode', async () => {
    const { value } = await runOne(
      async (sys) => {
        expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
        const b = await openBuffer(sys, 0);
        if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
        const a = await alloc(sys, b.fd, 16384);
        expect(await sys.close(b.chardev)).toBe(0);
        expect(await enable(sys, 0, true)).toBe(1);
        // fileio mode: ALLOC is refused (V2-ALLOC-4) and a nonblocking read finds no data yet (not -EBUSY).
        const again = await alloc(sys, b.fd, 16384);
        await setNonblock(sys, b.fd);
        const buf = sys.mem.alloc(16384);
        const r = await sys.read(b.fd, buf, 16384);
        expect(await enable(sys, 0, false)).toBe(1);
        return { fds: [b.chardev, b.fd], a, again, r };
      },
      { ...V2, spawn: { nofile: 2 } },
    );
    expect(value).toEqual({ fds: [0, 1], a: -EMFILE, again: -EBUSY, r: -11 });
  });

  it('V2-ALLOC-9: success returns the lowest free fd number and writes nothing back', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const req = sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: 4096, resv: 0 });
      const before = sys.mem.read(req, 16);
      const a = await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, req);
      const after = sys.mem.read(req, 16);
      expect(await sys.close(0)).toBe(0);
      const b = await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, req);
      const c = await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, req);
      return {
        a,
        b,
        c,
        same: [...after].join() === [...before].join(),
        req: sys.mem.readStruct(req, v2.iio_dmabuf_alloc_req),
      };
    }, V2);
    expect(value).toEqual({ a: 2, b: 0, c: 3, same: true, req: { size: 4096n, resv: 0n } });
  });

  it('V2-ALLOC-10: size 5000: dma-buf of 8192 (lseek, mmap bound), block of 5000 (ENQUEUE bound), zeroed, O_RDWR, FD_CLOEXEC, no CPU-access ops, exporter industrialio_buffer_dma', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const bfd = await bufferOf(sys, 0);
      const dfd = await alloc(sys, bfd, 5000);
      const exporter = dmabufOf(sim, sys, dfd).ops.exporterName;
      const end = await sys.lseek(dfd, 0, SEEK_END);
      const fl = await sys.fcntl(dfd, F_GETFL);
      const fdfl = await sys.fcntl(dfd, F_GETFD);
      const tooBig = await sys.mmap(0, 8193, PROT_READ, MAP_SHARED, dfd, 0);
      const addr = await mapShared(sys, dfd, 8192);
      const zero = sys.mem.read(addr, 8192).every((x) => x === 0);
      const start = await sync(sys, dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
      const endSync = await sync(sys, dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
      const over = await enqueue(sys, bfd, dfd, 5001);
      const page = await enqueue(sys, bfd, dfd, 8192);
      const exact = await enqueue(sys, bfd, dfd, 5000);
      return {
        dfd,
        exporter,
        end,
        fl,
        fdfl,
        tooBig,
        addrOk: addr > 0 && addr % 4096 === 0,
        zero,
        start,
        endSync,
        over,
        page,
        exact,
      };
    }, V2);
    expect(value).toEqual({
      dfd: 2,
      exporter: 'industrialio_buffer_dma',
      end: 8192,
      fl: O_RDWR,
      fdfl: 1,
      tooBig: -EINVAL,
      addrOk: true,
      zero: true,
      start: 0,
      endSync: 0,
      over: -EINVAL,
      page: -EINVAL,
      exact: 0,
    });
  });

  it('V2-ALLOC-11: ALLOC works before any enable, while enabled in DMABUF mode, and while disabled', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const first = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      const enabled = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, false)).toBe(1);
      const disabled = await alloc(sys, bfd, 16384);
      return [first, enabled, disabled];
    }, V2);
    expect(value).toEqual([2, 3, 4]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('V2-ENQ: IIO_BUFFER_DMABUF_ENQUEUE_IOCTL (v2 number 0x40106993)', () => {
  it('V2-ENQ-1: a kfifo buffer is -EPERM before the argument is read', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 2);
      return [
        await sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, BAD_ADDR),
        await enqueue(sys, bfd, 999, 4096),
      ];
    }, V2);
    expect(value).toEqual([-EPERM, -EPERM]);
  });

  it('V2-ENQ-2: an unreadable 16-byte argument is -EFAULT', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      return sys.ioctl(bfd, v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, BAD_ADDR);
    }, V2);
    expect(value).toBe(-EFAULT);
  });

  it('V2-ENQ-3: any flag bit other than CYCLIC is -EINVAL, before the fd is looked at', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await bufferOf(sys, 0);
      const dac = await bufferOf(sys, 1);
      const d = await alloc(sys, dac, 8192);
      return [
        await enqueue(sys, adc, 999, 4096, 0x2),
        await enqueue(sys, adc, 999, 4096, 0x80000000),
        await enqueue(sys, dac, d, 4096, 0x2),
        await enqueue(sys, dac, d, 4096, 0x3),
      ];
    }, V2);
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });

  it('V2-ENQ-4: CYCLIC on an IN buffer is -EINVAL, before the fileio test and the fd', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      const a = await enqueue(sys, bfd, d, 16384, v2.IIO_BUFFER_DMABUF_CYCLIC);
      const b = await enqueue(sys, bfd, 999, 16384, v2.IIO_BUFFER_DMABUF_CYCLIC);
      return [a, b];
    }, V2);
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('V2-ENQ-5: in fileio mode ENQUEUE is -EBUSY, before the fd is looked at', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await bufferOf(sys, 0);
      const dac = await bufferOf(sys, 1);
      const other = await alloc(sys, dac, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      const r = [await enqueue(sys, adc, 999, 4096), await enqueue(sys, adc, other, 4096)];
      expect(await enable(sys, 0, false)).toBe(1);
      return r;
    }, V2);
    expect(value).toEqual([-EBUSY, -EBUSY]);
  });

  it('V2-ENQ-6: an fd not open is -EBADF (also 0xffffffff), a file that is not a dma-buf is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      return [
        await enqueue(sys, bfd, 999, 4096),
        await enqueue(sys, bfd, 0xffffffff, 4096),
        await enqueue(sys, bfd, 0, 4096),
        await enqueue(sys, bfd, bfd, 4096),
      ];
    }, V2);
    expect(value).toEqual([-EBADF, -EBADF, -EINVAL, -EINVAL]);
  });

  it('V2-ENQ-7: a heap or udmabuf dma-buf is -EINVAL and the kernel logs that importing is not supported', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const logs = logsOf(sim);
      const bfd = await bufferOf(sys, 0);
      const heap = await heapBuf(sys, 16384);
      const a = await enqueue(sys, bfd, heap, 16384);
      const memfd = await sys.memfd_create('u', MFD_ALLOW_SEALING);
      expect(await sys.ftruncate(memfd, 16384)).toBe(0);
      expect(await sys.fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)).toBe(0);
      const dev = await sys.open('/dev/udmabuf', O_RDWR);
      const u = await sys.ioctl(
        dev,
        UDMABUF_CREATE,
        sys.mem.allocStruct(udmabuf_create, { memfd, flags: 0, offset: 0, size: 16384 }),
      );
      expect(u).toBeGreaterThan(0);
      const b = await enqueue(sys, bfd, u, 16384);
      return { a, b, logs: logs.map((l) => [l.level, l.device, l.message.includes('importing')]) };
    }, V2);
    expect(value).toEqual({
      a: -EINVAL,
      b: -EINVAL,
      logs: [
        ['err', 'iio:device0', true],
        ['err', 'iio:device0', true],
      ],
    });
  });

  it("V2-ENQ-8: a dma-buf ALLOCated on the DAC's buffer is accepted by the ADC's buffer and filled with ADC data", async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await bufferOf(sys, 0);
      const dac = await bufferOf(sys, 1);
      const own = await alloc(sys, adc, 16384);
      const foreign = await alloc(sys, dac, 16384);
      const addr = await mapShared(sys, foreign, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      const r = await enqueue(sys, adc, foreign, 16384);
      const fds: PollEntry[] = [{ fd: foreign, events: POLLIN }];
      const p = await sys.pollfds(fds, -1);
      const t = sys.now();
      const data = s16(sys.mem.read(addr, 16384));
      expect(await enable(sys, 0, false)).toBe(1);
      return { own, r, p, t, ok: JSON.stringify(data) === JSON.stringify(adcScans(0, 2048)) };
    }, V2);
    expect(value).toEqual({ own: 4, r: 0, p: 1, t: BLOCK_NS + IRQ, ok: true });
  });

  it('V2-ENQ-9: bytes_used above the unrounded ALLOC size is -EINVAL (size 5000: 5001 and PAGE_ALIGN 8192 refused, 5000 accepted)', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 5000);
      return [
        await enqueue(sys, bfd, d, 8192),
        await enqueue(sys, bfd, d, 5001),
        await enqueue(sys, bfd, d, 1n << 40n),
        await enqueue(sys, bfd, d, 5000),
      ];
    }, V2);
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, 0]);
  });

  it('V2-ENQ-10: bytes_used 0 means the whole block (ALLOC size 6000: 1500 DAC scans played)', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 6000);
      const addr = await mapShared(sys, d, 8192);
      sys.mem.write(addr, dacBytes(0, 2048));
      expect(await enable(sys, 1, true)).toBe(1);
      const r = await enqueue(sys, bfd, d, 0);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      return r;
    }, V2);
    expect(value).toBe(0);
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.slice(0, 1500)).toEqual(dacScans(0, 1500));
    expect(played.slice(1500)).toEqual(new Array(1500).fill(null));
  });

  it('V2-ENQ-10: bytes_used and the cyclic flag are rewritten on a QUEUED block: ENQUEUE 4096, then 0 → the whole 8192 bytes play', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 8192);
      const addr = await mapShared(sys, d, 8192);
      sys.mem.write(addr, dacBytes(0, 2048));
      const a = await enqueue(sys, bfd, d, 4096);
      const b = await enqueue(sys, bfd, d, 0);
      expect(await enable(sys, 1, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      return [a, b];
    }, V2);
    expect(value).toEqual([0, 0]);
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.slice(0, 2048)).toEqual(dacScans(0, 2048));
    expect(played.slice(2048)).toEqual(new Array(3000 - 2048).fill(null));
  });

  it('V2-ENQ-10: a QUEUED block re-enqueued with CYCLIC becomes cyclic: the block repeats until the disable', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 4000);
      const addr = await mapShared(sys, d, 4096);
      sys.mem.write(addr, dacBytes(0, 1000));
      const a = await enqueue(sys, bfd, d, 4000);
      const b = await enqueue(sys, bfd, d, 4000, v2.IIO_BUFFER_DMABUF_CYCLIC);
      expect(await enable(sys, 1, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      return [a, b];
    }, V2);
    expect(value).toEqual([0, 0]);
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played).toEqual([...dacScans(0, 1000), ...dacScans(0, 1000), ...dacScans(0, 1000)]);
  });

  it('V2-ENQ-11: ENQUEUE of a QUEUED block returns 0 and creates no fence; the leaked reference keeps the dma-buf from ever being freed', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const logs = logsOf(sim);
      const fences = fenceEvents(sim);
      const bfd = await bufferOf(sys, 1);
      const leaky = await alloc(sys, bfd, 8192);
      const clean = await alloc(sys, bfd, 8192);
      const r = [
        await enqueue(sys, bfd, leaky, 8192),
        await enqueue(sys, bfd, leaky, 8192),
        await enqueue(sys, bfd, leaky, 4096),
        await enqueue(sys, bfd, clean, 8192),
      ];
      const inits = fences.filter((f) => f.event === 'dma_fence_init').length;
      const live = sim.kernel.dmaBuf.live.size;
      expect(await enable(sys, 1, true)).toBe(1);
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      expect(await sys.close(leaky)).toBe(0);
      expect(await sys.close(clean)).toBe(0);
      const left = sim.kernel.dmaBuf.live.size;
      const warnings = logs.filter((l) => l.level === 'warn').length;
      return { r, inits, live, left, warnings };
    }, V2);
    // Only the clean dma-buf is freed (one V2-DBUF-8 warning); the leaky one stays alive for good.
    expect(value).toEqual({ r: [0, 0, 0, 0], inits: 2, live: 2, left: 1, warnings: 1 });
  });

  it('V2-ENQ-12: ENQUEUE of an ACTIVE (in-flight) block is -EBUSY', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      const a = await enqueue(sys, bfd, d, 16384);
      const b = await enqueue(sys, bfd, d, 16384);
      const c = await enqueue(sys, bfd, d, 0);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const after = await enqueue(sys, bfd, d, 16384);
      expect(await enable(sys, 0, false)).toBe(1);
      return [a, b, c, after];
    }, V2);
    expect(value).toEqual([0, -EBUSY, -EBUSY, 0]);
  });

  it('V2-ENQ-13: the fence allocation fails (fault injection, site iio_dma_fence_alloc): -ENOMEM; bytes_used and cyclic stay written (V2-ENQ-10), the block stays DONE, no fence, no context, the reference dropped; the retry plays', async () => {
    realSkip(FAULT_INJECTION_SIM_ONLY);
    const { value, sim } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 8192);
      sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 2048));
      const dmabuf = dmabufOf(sim, sys, d);
      const refs = dmabuf.file.ref.count;
      sim.kernel.faults.arm({ site: 'iio_dma_fence_alloc' });
      const ret = await enqueue(sys, bfd, d, 4096, v2.IIO_BUFFER_DMABUF_CYCLIC);
      const { block } = dmabuf.priv as { block: { state: number; bytesUsed: number; cyclic: boolean } };
      const after = {
        block: [block.state, block.bytesUsed, block.cyclic],
        refs: dmabuf.file.ref.count - refs,
        slots: dmabuf.resv.slots.length,
        inits: fences.length,
      };
      const context = sim.kernel.fences.contextAlloc();
      expect(await enable(sys, 1, true)).toBe(1);
      const retry = await enqueue(sys, bfd, d, 4096);
      expect(await sys.pollfds([{ fd: d, events: POLLOUT }], -1)).toBe(1);
      expect(await enable(sys, 1, false)).toBe(1);
      const init = fences.find((f) => f.event === 'dma_fence_init');
      return { ret, after, retry, contextGap: init!.context - context };
    }, V2);
    expect(value).toEqual({
      ret: -ENOMEM,
      after: { block: [IIO_BLOCK_STATE_DONE, 4096, true], refs: 0, slots: 0, inits: 0 },
      retry: 0,
      contextGap: 1,
    });
    expect(sim.device('sim-dac').dac!.playedScans().slice(0, 1024)).toEqual(dacScans(0, 1024));
  });

  it('V2-ENQ-15: ENQUEUE while enabled submits at once; the block is ACTIVE when the call returns', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const states: [number, string][] = [];
      sim.events.on('iio:block', (e) => {
        if (e.device === 'iio:device0') states.push([e.time, e.state]);
      });
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(MS)).toBe(0);
      const r = await enqueue(sys, bfd, d, 16384);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      return { r, states };
    }, V2);
    expect(value).toEqual({
      r: 0,
      states: [
        [MS, 'ACTIVE'],
        [MS + BLOCK_NS + IRQ, 'DONE'],
      ],
    });
  });

  it('V2-ENQ-15: blocks enqueued while disabled are QUEUED and submitted in FIFO order at the next enable', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const a = await alloc(sys, bfd, 4096);
      const b = await alloc(sys, bfd, 4096);
      sys.mem.write(await mapShared(sys, a, 4096), dacBytes(0, 1024));
      sys.mem.write(await mapShared(sys, b, 4096), dacBytes(1024, 1024));
      const r = [await enqueue(sys, bfd, a, 4096), await enqueue(sys, bfd, b, 4096)];
      expect(await sys.nanosleep(MS)).toBe(0);
      expect(await enable(sys, 1, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      return r;
    }, V2);
    expect(value).toEqual([0, 0]);
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.slice(0, 2048)).toEqual(dacScans(0, 2048));
    expect(played.slice(2048)).toEqual(new Array(3000 - 2048).fill(null));
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('V2-SUB: submitting v2 blocks to the dmaengine backend', () => {
  it('V2-SUB-1: a submitted block is ACTIVE and its dma-buf reservation is held: a poll with timeout 0 only returns at the completion', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const states: string[] = [];
      sim.events.on('iio:block', (e) => {
        if (e.device === 'iio:device0') states.push(e.state);
      });
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
      const holder = dmabufOf(sim, sys, d).resv.holder;
      const fds: PollEntry[] = [{ fd: d, events: POLLIN }];
      const p = await sys.pollfds(fds, 0);
      const t = sys.now();
      expect(await enable(sys, 0, false)).toBe(1);
      return { states, holder, p, revents: fds[0]!.revents, t };
    }, V2);
    expect(value).toEqual({
      states: ['ACTIVE', 'DONE'],
      holder: 'kernel',
      p: 1,
      revents: POLLIN,
      t: BLOCK_NS + IRQ,
    });
  });

  it('V2-SUB-2: an IN block always fills round_down(min(size, max_seg), align): bytes_used 8 on 16384 fills all 2048 scans', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 16384);
      const addr = await mapShared(sys, d, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 8)).toBe(0);
      expect(await sys.pollfds([{ fd: d, events: POLLIN }], -1)).toBe(1);
      const t = sys.now();
      const data = s16(sys.mem.read(addr, 16384));
      expect(await enable(sys, 0, false)).toBe(1);
      return { t, ok: JSON.stringify(data) === JSON.stringify(adcScans(0, 2048)) };
    }, V2);
    expect(value).toEqual({ t: BLOCK_NS + IRQ, ok: true });
  });

  it('V2-SUB-2: size 5001 (align 8) fills 5000 bytes = 625 scans; byte 5000 stays 0', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const d = await alloc(sys, bfd, 5001);
      const addr = await mapShared(sys, d, 8192);
      sys.mem.write(addr + 5000, new Uint8Array([0xaa, 0xbb]));
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, bfd, d, 1)).toBe(0);
      expect(await sys.pollfds([{ fd: d, events: POLLIN }], -1)).toBe(1);
      const t = sys.now();
      const data = s16(sys.mem.read(addr, 5000));
      const tail = [...sys.mem.read(addr + 5000, 2)];
      expect(await enable(sys, 0, false)).toBe(1);
      return { t, ok: JSON.stringify(data) === JSON.stringify(adcScans(0, 625)), tail };
    }, V2);
    expect(value).toEqual({ t: 625_000 + IRQ, ok: true, tail: [0xaa, 0xbb] });
  });

  it('V2-SUB-2: the max segment caps an IN transfer (max_seg 4096: 512 scans of a 16384-byte block)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const bfd = await bufferOf(sys, 0);
        const d = await alloc(sys, bfd, 16384);
        const addr = await mapShared(sys, d, 16384);
        expect(await enable(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, bfd, d, 16384)).toBe(0);
        expect(await sys.pollfds([{ fd: d, events: POLLIN }], -1)).toBe(1);
        const t = sys.now();
        const data = s16(sys.mem.read(addr, 4096));
        const rest = sys.mem.read(addr + 4096, 16384 - 4096).every((x) => x === 0);
        expect(await enable(sys, 0, false)).toBe(1);
        return { t, ok: JSON.stringify(data) === JSON.stringify(adcScans(0, 512)), rest };
      },
      { ...V2, devices: withDma('adc', { maxSegmentSize: 4096 }) },
    );
    expect(value).toEqual({ t: 512_000 + IRQ, ok: true, rest: true });
  });

  it('V2-SUB-3: an OUT block needs bytes_used <= round_down(min(size, max_seg), align): max_seg 4096 plays bytes_used 4096, refuses 8192', async () => {
    const { value, sim } = await runOne(
      async (sys) => {
        const bfd = await bufferOf(sys, 1);
        const ok = await alloc(sys, bfd, 8192);
        const bad = await alloc(sys, bfd, 8192);
        sys.mem.write(await mapShared(sys, ok, 8192), dacBytes(0, 2048));
        sys.mem.write(await mapShared(sys, bad, 8192), dacBytes(5000, 2048));
        expect(await enable(sys, 1, true)).toBe(1);
        const a = await enqueue(sys, bfd, ok, 4096);
        const b = await enqueue(sys, bfd, bad, 8192);
        expect(await sys.nanosleep(3 * MS)).toBe(0);
        // The refused block stays ACTIVE (V2-SUB-4): ENQUEUE of it is -EBUSY.
        const again = await enqueue(sys, bfd, bad, 4096);
        expect(await enable(sys, 1, false)).toBe(1);
        return [a, b, again];
      },
      { ...V2, devices: withDma('dac', { maxSegmentSize: 4096 }) },
    );
    expect(value).toEqual([0, 0, -EBUSY]);
    const played = sim.device('sim-dac').dac!.playedScans();
    expect(played.slice(0, 1024)).toEqual(dacScans(0, 1024));
    expect(played.slice(1024)).toEqual(new Array(3000 - 1024).fill(null));
  });

  it('V2-SUB-3: size 5002 (align 4 → 5000): bytes_used 0 (= 5002) passes ENQUEUE but the submit refuses it: nothing plays', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 5002);
      sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 1250));
      expect(await enable(sys, 1, true)).toBe(1);
      const r = await enqueue(sys, bfd, d, 0);
      expect(await sys.nanosleep(2 * MS)).toBe(0);
      const again = await enqueue(sys, bfd, d, 5000);
      expect(await enable(sys, 1, false)).toBe(1);
      return [r, again];
    }, V2);
    expect(value).toEqual([0, -EBUSY]);
    expect(sim.device('sim-dac').dac!.playedScans()).toEqual(new Array(2000).fill(null));
  });

  it('V2-SUB-4: a descriptor the controller refuses (bytes_used 4098, not a multiple of 4): ENQUEUE 0, block wedged ACTIVE across disable/enable, lock held', async () => {
    const { value, sim } = await runOne(async (sys, sim) => {
      const fences = fenceEvents(sim);
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 8192);
      sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 2048));
      expect(await enable(sys, 1, true)).toBe(1);
      const r = await enqueue(sys, bfd, d, 4098);
      expect(await sys.nanosleep(2 * MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      expect(await enable(sys, 1, true)).toBe(1);
      const again = await enqueue(sys, bfd, d, 4096);
      const holder = dmabufOf(sim, sys, d).resv.holder;
      expect(await enable(sys, 1, false)).toBe(1);
      return { r, again, holder, events: fences.map((f) => f.event) };
    }, V2);
    expect(value).toEqual({ r: 0, again: -EBUSY, holder: 'kernel', events: ['dma_fence_init'] });
    expect(sim.device('sim-dac').dac!.playedScans(0)).toEqual(new Array(2000).fill(null));
  });

  it('V2-SUB-4: a QUEUED block whose submit fails at the enable: the enable still succeeds, nothing plays, the block stays ACTIVE', async () => {
    const { value, sim } = await runOne(async (sys, sim) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 8192);
      sys.mem.write(await mapShared(sys, d, 8192), dacBytes(0, 2048));
      const r = await enqueue(sys, bfd, d, 4098);
      const en = await enable(sys, 1, true);
      expect(await sys.nanosleep(2 * MS)).toBe(0);
      const again = await enqueue(sys, bfd, d, 4096);
      const holder = dmabufOf(sim, sys, d).resv.holder;
      expect(await enable(sys, 1, false)).toBe(1);
      return { r, en, again, holder };
    }, V2);
    expect(value).toEqual({ r: 0, en: 1, again: -EBUSY, holder: 'kernel' });
    expect(sim.device('sim-dac').dac!.playedScans()).toEqual(new Array(2000).fill(null));
  });

  it('V2-SUB-4: after a failed submit a poll on that dma-buf blocks forever, even with timeout 0', async () => {
    const { outcome } = await runOne(
      async (sys) => {
        const bfd = await bufferOf(sys, 1);
        const d = await alloc(sys, bfd, 8192);
        expect(await enable(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, bfd, d, 4098)).toBe(0);
        expect(await enable(sys, 1, false)).toBe(1);
        return sys.pollfds([{ fd: d, events: POLLOUT }], 0);
      },
      { ...V2, allowAbnormal: true },
    );
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('poll');
    expect(outcome.blockedIn?.since).toBe(0);
  });

  it('V2-SUB-5: a cyclic OUT block repeats the whole block (size 4000 = 1000 scans) whatever bytes_used (2000) says, until the disable', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 4000);
      sys.mem.write(await mapShared(sys, d, 4096), dacBytes(0, 1000));
      expect(await enable(sys, 1, true)).toBe(1);
      const r = await enqueue(sys, bfd, d, 2000, v2.IIO_BUFFER_DMABUF_CYCLIC);
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      return r;
    }, V2);
    expect(value).toBe(0);
    const one = dacScans(0, 1000);
    expect(sim.device('sim-dac').dac!.playedScans()).toEqual([...one, ...one, ...one, ...one, ...one]);
  });

  it('V2-SUB-5: the cyclic block reports no completion: its reservation stays held until the disable (a poll returns at the disable)', async () => {
    const sim = createSimulator(V2);
    const fences = fenceEvents(sim);
    let got: unknown = null;
    sim.spawn(
      'player',
      async (sys) => {
        const bfd = await bufferOf(sys, 1);
        const d = await alloc(sys, bfd, 4000);
        expect(await enable(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, bfd, d, 4000, v2.IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const fds: PollEntry[] = [{ fd: d, events: POLLOUT }];
        const p = await sys.pollfds(fds, 0);
        got = { p, revents: fds[0]!.revents, t: sys.now() };
        return 0;
      },
      { stdio: false },
    );
    sim.spawn(
      'stopper',
      async (sys) => {
        expect(await sys.nanosleep(7 * MS)).toBe(0);
        return setBufferEnabled(sys, 1, false);
      },
      { stdio: false },
    );
    const r = await sim.run();
    expect(r.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    // The lock is released at the disable; the fence was never signalled (V2-FENCE-2): not ready.
    expect(got).toEqual({ p: 0, revents: 0, t: 7 * MS });
    expect(fences.map((f) => f.event)).toEqual(['dma_fence_init']);
  });

  it('V2-SUB-6: a second cyclic block is accepted but waits behind the running one and never starts before the disable', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const a = await alloc(sys, bfd, 4000);
      const b = await alloc(sys, bfd, 4000);
      sys.mem.write(await mapShared(sys, a, 4096), dacBytes(0, 1000));
      sys.mem.write(await mapShared(sys, b, 4096), dacBytes(3000, 1000));
      expect(await enable(sys, 1, true)).toBe(1);
      const ra = await enqueue(sys, bfd, a, 4000, v2.IIO_BUFFER_DMABUF_CYCLIC);
      expect(await sys.nanosleep(1_500_000)).toBe(0);
      const rb = await enqueue(sys, bfd, b, 4000, v2.IIO_BUFFER_DMABUF_CYCLIC);
      expect(await sys.nanosleep(4_500_000)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      return [ra, rb];
    }, V2);
    expect(value).toEqual([0, 0]);
    const one = dacScans(0, 1000);
    expect(sim.device('sim-dac').dac!.playedScans()).toEqual([
      ...one,
      ...one,
      ...one,
      ...one,
      ...one,
      ...one,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('V2-IO: read()/write() next to DMABUFs', () => {
  it('V2-IO-1: fileio without DMABUFs; disable clears the mode; with a live DMABUF the next enable is DMABUF mode; freeing it brings fileio back', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      await setNonblock(sys, bfd);
      const buf = sys.mem.alloc(16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const fileioRead = await sys.read(bfd, buf, 16384);
      const fileioAlloc = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, false)).toBe(1);
      const d = await alloc(sys, bfd, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const dmabufRead = await sys.read(bfd, buf, 16384);
      const dmabufEnq = await enqueue(sys, bfd, d, 16384);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      expect(await sys.close(d)).toBe(0);
      expect(await enable(sys, 0, true)).toBe(1);
      const again = await alloc(sys, bfd, 16384);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const fileioAgain = await sys.read(bfd, buf, 16384);
      expect(await enable(sys, 0, false)).toBe(1);
      return { fileioRead, fileioAlloc, d, dmabufRead, dmabufEnq, again, fileioAgain };
    }, V2);
    expect(value).toEqual({
      fileioRead: 16384,
      fileioAlloc: -EBUSY,
      d: 2,
      dmabufRead: -EBUSY,
      dmabufEnq: 0,
      again: -EBUSY,
      fileioAgain: 16384,
    });
  });

  it('V2-IO-2: n < bpd is -EINVAL first; then data left in fileio blocks after the disable cannot be read: -EBUSY', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const buf = sys.mem.alloc(16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(5 * MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      const avail = await readAttr(sys, `${ADC_BUF}/data_available`);
      const small = await sys.read(bfd, buf, 4);
      const blocking = await sys.read(bfd, buf, 16384);
      await setNonblock(sys, bfd);
      const nonblock = await sys.read(bfd, buf, 16384);
      return { avail, small, blocking, nonblock };
    }, V2);
    expect(value).toEqual({ avail: '32768\n', small: -EINVAL, blocking: -EBUSY, nonblock: -EBUSY });
  });

  it('V2-IO-2: OUT: after the disable the fileio blocks have space, but write is -EINVAL for n < bpd, then -EBUSY', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 1);
      const buf = sys.mem.alloc(8192);
      sys.mem.write(buf, dacBytes(0, 2048));
      expect(await enable(sys, 1, true)).toBe(1);
      const w = await sys.write(bfd, buf, 8192);
      expect(await sys.nanosleep(MS)).toBe(0);
      expect(await enable(sys, 1, false)).toBe(1);
      const space = await readAttr(sys, '/sys/bus/iio/devices/iio:device1/buffer0/data_available');
      const small = await sys.write(bfd, buf, 2);
      const blocking = await sys.write(bfd, buf, 8192);
      await setNonblock(sys, bfd);
      const nonblock = await sys.write(bfd, buf, 8192);
      return { w, space, small, blocking, nonblock };
    }, V2);
    expect(value).toEqual({ w: 8192, space: '16384\n', small: -EINVAL, blocking: -EBUSY, nonblock: -EBUSY });
  });

  it('V2-IO-3: in DMABUF mode a nonblocking read is -EBUSY; n < bpd is still -EINVAL (V2-IO-2)', async () => {
    const { value } = await runOne(async (sys) => {
      const adc = await bufferOf(sys, 0);
      await alloc(sys, adc, 16384);
      await setNonblock(sys, adc);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const buf = sys.mem.alloc(16384);
      const r = [await sys.read(adc, buf, 16384), await sys.read(adc, buf, 4)];
      expect(await enable(sys, 0, false)).toBe(1);
      return r;
    }, V2);
    expect(value).toEqual([-EBUSY, -EINVAL]);
  });

  // The V2-IO-3 row says -EBUSY for writes too, but iio_buffer_write() tests space_available before it ever
  // calls the queue (BWRITE-3), and in DMABUF mode the v2 queue reports no space: the kernel answers
  // -EAGAIN. The kernel source is the final word; noted in docs/quirks.md.
  it('V2-IO-3 / BWRITE-3: in DMABUF mode a nonblocking write is -EAGAIN (space 0 is seen before the queue)', async () => {
    const { value } = await runOne(async (sys) => {
      const dac = await bufferOf(sys, 1);
      await alloc(sys, dac, 8192);
      await setNonblock(sys, dac);
      expect(await enable(sys, 1, true)).toBe(1);
      const buf = sys.mem.alloc(8192);
      const r = await sys.write(dac, buf, 8192);
      expect(await enable(sys, 1, false)).toBe(1);
      return r;
    }, V2);
    expect(value).toBe(-EAGAIN);
  });

  it('V2-IO-3: in DMABUF mode a blocking read sleeps forever', async () => {
    const { outcome } = await runOne(
      async (sys) => {
        const bfd = await bufferOf(sys, 0);
        await alloc(sys, bfd, 16384);
        expect(await enable(sys, 0, true)).toBe(1);
        const buf = sys.mem.alloc(16384);
        return sys.read(bfd, buf, 16384);
      },
      { ...V2, allowAbnormal: true },
    );
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('read');
    expect(outcome.blockedIn?.since).toBe(0);
  });

  it('V2-IO-3: in DMABUF mode a blocking write sleeps forever', async () => {
    const { outcome } = await runOne(
      async (sys) => {
        const bfd = await bufferOf(sys, 1);
        await alloc(sys, bfd, 8192);
        expect(await enable(sys, 1, true)).toBe(1);
        const buf = sys.mem.alloc(8192);
        return sys.write(bfd, buf, 8192);
      },
      { ...V2, allowAbnormal: true },
    );
    expect(outcome.status).toBe('blocked');
    expect(outcome.blockedIn?.syscall).toBe('write');
    expect(outcome.blockedIn?.since).toBe(0);
  });

  it('V2-IO-3: with bpd 0 (never enabled) a read returns 0 even with a DMABUF allocated (BREAD-3)', async () => {
    const { value } = await runOne(async (sys) => {
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
      await setNonblock(sys, b.fd);
      const d = await alloc(sys, b.fd, 16384);
      const buf = sys.mem.alloc(64);
      return [d, await sys.read(b.fd, buf, 64)];
    }, V2);
    expect(value).toEqual([2, 0]);
  });

  it('V2-IO-4: next_dequeue is reset at every enable: after one consumed block the next session reads block 0 first', async () => {
    const { value } = await runOne(async (sys) => {
      const bfd = await bufferOf(sys, 0);
      const buf = sys.mem.alloc(16384);
      expect(await enable(sys, 0, true)).toBe(1);
      const first = await sys.read(bfd, buf, 16384);
      const firstData = s16(sys.mem.read(buf, 16384));
      expect(await enable(sys, 0, false)).toBe(1);
      expect(await enable(sys, 0, true)).toBe(1);
      const t1 = sys.now();
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const second = await sys.read(bfd, buf, 16384);
      const secondData = s16(sys.mem.read(buf, 16384));
      expect(await enable(sys, 0, false)).toBe(1);
      return {
        first,
        firstOk: JSON.stringify(firstData) === JSON.stringify(adcScans(0, 2048)),
        t1,
        second,
        secondOk: JSON.stringify(secondData) === JSON.stringify(adcScans(0, 2048)),
      };
    }, V2);
    expect(value).toEqual({ first: 16384, firstOk: true, t1: BLOCK_NS + IRQ, second: 16384, secondOk: true });
  });

  it('V2-IO-5: a nonblocking read with the fileio blocks freed by ALLOC is -EBUSY: no oops, the process lives on (XCL-5 does not apply)', async () => {
    const { value, result } = await runOne(async (sys, sim) => {
      const logs = logsOf(sim);
      const bfd = await bufferOf(sys, 0);
      const buf = sys.mem.alloc(16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      expect(await enable(sys, 0, false)).toBe(1);
      const d = await alloc(sys, bfd, 16384);
      await setNonblock(sys, bfd);
      const disabled = await sys.read(bfd, buf, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      const enabled = await sys.read(bfd, buf, 16384);
      expect(await enable(sys, 0, false)).toBe(1);
      return { d, disabled, enabled, oops: logs.some((l) => l.message.includes('BUG')) };
    }, V2);
    expect(value).toEqual({ d: 2, disabled: -EBUSY, enabled: -EBUSY, oops: false });
    expect(result.processes[0]!.status).toBe('exited');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('V2-REL: closing the buffer fd and dma-buf fds', () => {
  it('V2-REL-1: closing the buffer fd frees GET_FD at once, leaves the buffer enabled and the in-flight block running to completion', async () => {
    const { value } = await runOne(async (sys) => {
      expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
      const d = await alloc(sys, b.fd, 16384);
      const addr = await mapShared(sys, d, 16384);
      expect(await enable(sys, 0, true)).toBe(1);
      expect(await enqueue(sys, b.fd, d, 16384)).toBe(0);
      const busy = await sys.ioctl(b.chardev, 0xc0046991, sys.mem.alloc(4));
      const closed = await sys.close(b.fd);
      const arg = sys.mem.alloc(4);
      const getfd = await sys.ioctl(b.chardev, 0xc0046991, arg);
      const en = await readAttr(sys, `${ADC_BUF}/enable`);
      const fds: PollEntry[] = [{ fd: d, events: POLLIN }];
      const p = await sys.pollfds(fds, -1);
      const t = sys.now();
      const data = s16(sys.mem.read(addr, 64));
      expect(await enable(sys, 0, false)).toBe(1);
      return { busy, closed, getfd, newFd: sys.mem.readInt(arg), en, p, t, data };
    }, V2);
    expect(value).toEqual({
      busy: -EBUSY,
      closed: 0,
      getfd: 0,
      newFd: 1,
      en: '1\n',
      p: 1,
      t: BLOCK_NS + IRQ,
      data: adcScans(0, 8),
    });
  });

  it('V2-REL-2: closing a dma-buf fd cancels nothing: the QUEUED block still plays at the enable; once freed, the next enable is fileio again', async () => {
    const { value, sim } = await runOne(async (sys, sim) => {
      const logs = logsOf(sim);
      const bfd = await bufferOf(sys, 1);
      const d = await alloc(sys, bfd, 8192);
      const addr = await mapShared(sys, d, 8192);
      sys.mem.write(addr, dacBytes(0, 2048));
      expect(await sys.munmap(addr, 8192)).toBe(0);
      expect(await enqueue(sys, bfd, d, 0)).toBe(0);
      expect(await sys.close(d)).toBe(0);
      const aliveAfterClose = sim.kernel.dmaBuf.live.size;
      expect(await enable(sys, 1, true)).toBe(1);
      expect(await sys.nanosleep(3 * MS)).toBe(0);
      const aliveAfterPlay = sim.kernel.dmaBuf.live.size;
      const warnings = logs.filter((l) => l.level === 'warn').map((l) => l.time);
      expect(await enable(sys, 1, false)).toBe(1);
      const played = sim.device('sim-dac').dac!.playedScans();
      expect(await enable(sys, 1, true)).toBe(1);
      await setNonblock(sys, bfd);
      const buf = sys.mem.alloc(8192);
      sys.mem.write(buf, dacBytes(0, 2048));
      const w = await sys.write(bfd, buf, 8192);
      expect(await enable(sys, 1, false)).toBe(1);
      return { aliveAfterClose, aliveAfterPlay, warnings, played, w };
    }, V2);
    expect(value.aliveAfterClose).toBe(1);
    expect(value.aliveAfterPlay).toBe(0);
    expect(value.warnings).toEqual([2_048_000 + IRQ]);
    expect(value.played.slice(0, 2048)).toEqual(dacScans(0, 2048));
    expect(value.w).toBe(8192);
    expect(sim.abi).toBe('v2');
  });
});
