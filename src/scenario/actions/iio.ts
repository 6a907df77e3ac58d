/**
 * Helper actions that expand to the syscalls a libiio-style program makes: sysfs attributes, channel and
 * buffer enables, the buffer fd, DMABUF allocation (heap or v2 IIO), ATTACH/DETACH, ENQUEUE and
 * DMA_BUF_IOCTL_SYNC. Each goes through the helpers of `src/user`, as a simulated program would.
 */
import { z } from 'zod';
import { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_WRITE } from '../../uapi/dma-buf.ts';
import { F_SETFL, O_NONBLOCK, O_RDWR } from '../../uapi/fcntl.ts';
import {
  allocHeapDmabuf,
  allocIioDmabufV2,
  attachDmabuf,
  detachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
} from '../../user/dmabuf.ts';
import { iioSysfsDir, openBuffer, readAttr, writeAttr } from '../../user/iio.ts';
import { flagValue } from '../symbols.ts';
import { CInt, Flags, Ref } from '../values.ts';
import { type ActionRun, defineAction } from './define.ts';

/** The sysfs directory of buffer `buffer` (default 0) of a device. */
function bufferDir(r: ActionRun, device: string, buffer: number | undefined): string {
  return `${iioSysfsDir(r.target.device(device).iio.devName)}/buffer${buffer ?? 0}`;
}

/** Reads or writes a sysfs attribute (open, read/write, close). */
export const attr = defineAction({
  name: 'attr',
  schema: z.strictObject({ path: z.string(), write: z.union([z.string(), z.number()]).optional() }),
  check: () => {},
  run: async (a, r) => {
    if (a.write !== undefined) return r.done(await writeAttr(r.sys, String(a.path), String(a.write)));
    const text = await readAttr(r.sys, String(a.path));
    if (typeof text === 'number') return r.done(text);
    r.done(text.length);
    r.checkData(new TextEncoder().encode(text), r.expect?.data);
  },
});

/** Writes `1` (or `0`) to the `_en` files of channels of buffer `buffer` (default 0) of a device. */
export const enableChannels = defineAction({
  name: 'enable_channels',
  schema: z.strictObject({
    device: z.string(),
    channels: z.array(z.string()).min(1),
    buffer: z.number().int().nonnegative().optional(),
    on: z.boolean().optional(),
  }),
  check: (a, c) => c.device(a.device, ['device']),
  run: async (a, r) => {
    const dir = bufferDir(r, String(a.device), a.buffer);
    let ret = 0;
    for (const ch of a.channels) {
      const w = await writeAttr(r.sys, `${dir}/${ch}_en`, a.on === false ? '0' : '1');
      if (w < 0) {
        ret = w;
        break;
      }
    }
    r.done(ret);
  },
});

/** Writes a buffer's `enable` attribute. */
export const enableBuffer = defineAction({
  name: 'enable_buffer',
  schema: z.strictObject({
    device: z.string(),
    buffer: z.number().int().nonnegative().optional(),
    on: z.boolean().optional(),
  }),
  check: (a, c) => c.device(a.device, ['device']),
  run: async (a, r) =>
    r.done(
      await writeAttr(
        r.sys,
        `${bufferDir(r, String(a.device), a.buffer)}/enable`,
        a.on === false ? '0' : '1',
      ),
    ),
});

/** Opens `/dev/iio:deviceN` and gets buffer `index`'s fd (IIO_BUFFER_GET_FD_IOCTL), named `as`. */
export const bufferFd = defineAction({
  name: 'buffer_fd',
  schema: z.strictObject({
    device: z.string(),
    index: CInt.optional(),
    as: z.string(),
    chardev: z.string().optional(),
    nonblock: z.boolean().optional(),
  }),
  check: (a, c) => {
    c.device(a.device, ['device']);
    c.define(a.as);
    c.define(a.chardev);
  },
  run: async (a, r) => {
    const dev = r.target.device(String(a.device)).iio;
    const b = await openBuffer(r.sys, dev.id, a.index ?? 0, O_RDWR);
    if (typeof b === 'number') return r.done(b);
    // The buffer fd never inherits the char device's flags (GETFD-7): set O_NONBLOCK on it.
    if (a.nonblock) {
      const ret = await r.sys.fcntl(b.fd, F_SETFL, O_NONBLOCK);
      if (ret < 0) return r.done(ret);
    }
    r.done(0);
    r.bind(a.as, b.fd);
    r.bind(a.chardev, b.chardev);
  },
});

/** Allocates a DMABUF from the system heap (mainline), optionally maps it. */
export const heapAlloc = defineAction({
  name: 'heap_alloc',
  schema: z.strictObject({
    size: z
      .number()
      .int()
      .positive()
      .max(1 << 30),
    as: z.string(),
    map: z.boolean().optional(),
    /** Name for the heap fd the step opens (or reuses), so that the program can close it. */
    heap: z.string().optional(),
  }),
  check: (a, c) => {
    c.define(a.as);
    c.define(a.heap);
  },
  run: async (a, r) => {
    const state = r.state;
    if (state.heapFd < 0) {
      state.heapFd = await r.sys.open('/dev/dma_heap/system', O_RDWR);
      if (state.heapFd < 0) return r.done(state.heapFd);
    }
    const d = await allocHeapDmabuf(r.sys, state.heapFd, a.size);
    if (typeof d === 'number') return r.done(d);
    r.done(0);
    r.bind(a.as, d.fd);
    r.bind(a.heap, state.heapFd);
    state.maps.set(r.name(String(a.as)), { addr: d.addr, length: d.size, dmabuf: d.fd });
  },
});

/** v2: IIO_BUFFER_DMABUF_ALLOC_IOCTL on a buffer fd, optionally maps it. */
export const iioAlloc = defineAction({
  name: 'iio_alloc',
  schema: z.strictObject({
    buffer: Ref,
    size: z
      .number()
      .int()
      .nonnegative()
      .max(1 << 30),
    as: z.string(),
    map: z.boolean().optional(),
  }),
  check: (a, c) => {
    c.ref(a.buffer, ['buffer']);
    c.define(a.as);
  },
  run: async (a, r) => {
    const d = await allocIioDmabufV2(r.sys, r.fd(a.buffer), a.size);
    if (typeof d === 'number') return r.done(d);
    r.done(0);
    r.bind(a.as, d.fd);
    r.state.maps.set(r.name(String(a.as)), { addr: d.addr, length: d.size, dmabuf: d.fd });
  },
});

/** A buffer fd and a DMABUF fd, by name. */
const BufferAndDmabuf = { buffer: Ref, dmabuf: Ref };

/** IIO_BUFFER_DMABUF_ATTACH_IOCTL of a DMABUF to a buffer (mainline). */
export const attach = defineAction({
  name: 'attach',
  schema: z.strictObject(BufferAndDmabuf),
  check: (a, c) => {
    c.ref(a.buffer, ['buffer']);
    c.ref(a.dmabuf, ['dmabuf']);
  },
  run: async (a, r) => r.done(await attachDmabuf(r.sys, r.fd(a.buffer), r.fd(a.dmabuf))),
});

/** IIO_BUFFER_DMABUF_DETACH_IOCTL (mainline). */
export const detach = defineAction({
  name: 'detach',
  schema: z.strictObject(BufferAndDmabuf),
  check: (a, c) => {
    c.ref(a.buffer, ['buffer']);
    c.ref(a.dmabuf, ['dmabuf']);
  },
  run: async (a, r) => r.done(await detachDmabuf(r.sys, r.fd(a.buffer), r.fd(a.dmabuf))),
});

/** IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, with the request number of the scenario's profile. */
export const enqueue = defineAction({
  name: 'enqueue',
  schema: z.strictObject({
    buffer: Ref,
    dmabuf: Ref,
    bytes_used: z.number().int().nonnegative(),
    flags: Flags.optional(),
  }),
  check: (a, c) => {
    c.ref(a.buffer, ['buffer']);
    c.ref(a.dmabuf, ['dmabuf']);
    c.flags(a.flags, ['flags']);
  },
  run: async (a, r) =>
    r.done(
      await enqueueDmabuf(
        r.sys,
        r.target.abi,
        r.fd(a.buffer),
        r.fd(a.dmabuf),
        a.bytes_used,
        flagValue(a.flags),
      ),
    ),
});

const SYNC_DIRECTIONS = { read: DMA_BUF_SYNC_READ, write: DMA_BUF_SYNC_WRITE, rw: DMA_BUF_SYNC_RW } as const;

/** DMA_BUF_IOCTL_SYNC START or END with READ, WRITE or RW. */
export const sync = defineAction({
  name: 'sync',
  schema: z.strictObject({
    dmabuf: Ref,
    phase: z.enum(['start', 'end']),
    dir: z.enum(['read', 'write', 'rw']),
  }),
  check: (a, c) => c.ref(a.dmabuf, ['dmabuf']),
  run: async (a, r) => {
    const fd = r.fd(a.dmabuf);
    const ret = await syncDmabuf(r.sys, fd, a.phase, SYNC_DIRECTIONS[a.dir]);
    if (ret === 0 && a.phase === 'start') r.state.cpuAccess.add(fd);
    else if (ret === 0) r.state.cpuAccess.delete(fd);
    r.done(ret);
  },
});
