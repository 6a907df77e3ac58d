/**
 * Mainline IIO DMABUF ATTACH and DETACH (rulebook §10 ATT-1..15, DET-1..7), the buffer-fd ioctl dispatch
 * (BIOC-1, BIOC-2), the buffer-fd release with attachments (BREL-2, BREL-3) and the kfifo refusal (KFIFO-9).
 * sim-adc: 4 × le:s12/16 at 1 MHz (bpd 8), so a 4096-byte dma-buf holds 512 scans and a transfer started
 * at the enable ends when scan 511 is converted (512 µs), its completion IRQ and fence 2 µs later.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import { checkQuiescentInvariants } from '../../../src/testing/invariants.ts';
import * as v2 from '../../../src/uapi/iio-v2.ts';
import {
  _IOR,
  _IOW,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  ENOMEM,
  EOPNOTSUPP,
  EPERM,
  F_ADD_SEALS,
  F_SEAL_SHRINK,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_CYCLIC,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_GET_FD_IOCTL,
  MFD_ALLOW_SEALING,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  UDMABUF_CREATE,
  udmabuf_create,
} from '../../../src/uapi/index.ts';
import { SIGUSR1 } from '../../../src/uapi/signal.ts';
import { enableChannels, readAttr, setBufferEnabled } from '../../../src/user/iio.ts';
import { realSkip, runOne, simInternal, simState, vtime } from '../../helpers.ts';
import {
  ADC_BUF,
  ADC_CHANNELS,
  adcBuffer,
  adcScans,
  attach,
  bufferFd,
  DAC_CHANNELS,
  detach,
  dmabufRefs,
  enqueue,
  exportSync,
  FAULT_INJECTION_SIM_ONLY,
  fenceId,
  fenceStatus,
  heapBuf,
  intArg,
  live,
  MS,
  mapBuf,
  passFd,
  rampFrom,
  rampStart,
  s16,
  setNonblock,
  T_512,
  US,
  waitFence,
  waitFor,
} from './dmabuf-helpers.ts';

/** Opens the sim-dac buffer and enables its two channels (the buffer stays disabled). */
async function dacBuffer(sys: Sys): Promise<number> {
  const { fd } = await bufferFd(sys, 1);
  expect(await enableChannels(sys, 1, DAC_CHANNELS)).toBe(0);
  return fd;
}

/** A sealed memfd of `size` bytes; returns its fd. */
async function sealedMemfd(sys: Sys, size: number): Promise<number> {
  const memfd = await sys.memfd_create('dmabuf-test', MFD_ALLOW_SEALING);
  expect(await sys.ftruncate(memfd, size)).toBe(0);
  expect(await sys.fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)).toBe(0);
  return memfd;
}

/** A udmabuf over `size` bytes of `memfd`; returns its fd. */
async function udmabufOf(sys: Sys, memfd: number, size: number): Promise<number> {
  const dev = await sys.open('/dev/udmabuf', O_RDWR);
  const arg = sys.mem.allocStruct(udmabuf_create, { memfd, flags: 0, offset: 0, size });
  const fd = await sys.ioctl(dev, UDMABUF_CREATE, arg);
  expect(fd).toBeGreaterThanOrEqual(0);
  expect(await sys.close(dev)).toBe(0);
  return fd;
}

/** Every `dma_fence_init` as [context, seqno], in order. */
function fenceInits(sim: Simulator): [number, number][] {
  const out: [number, number][] = [];
  sim.events.on('fence:trace', (e) => {
    if (e.event === 'dma_fence_init' && e.driver === 'iio') out.push([e.context, e.seqno]);
  });
  return out;
}

describe('BIOC: the DMABUF commands on a buffer fd', () => {
  it('BIOC-1: ATTACH/DETACH/ENQUEUE are 0x40046992/0x40046993/0x40106994; other sizes or directions of the same numbers are -EINVAL (BIOC-2)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        const arg = await intArg(sys, x);
        return {
          wrongSize: await sys.ioctl(buf, _IOW('i', 0x92, 8), arg),
          wrongDir: await sys.ioctl(buf, _IOR('i', 0x92, 4), arg),
          detachWrongSize: await sys.ioctl(buf, _IOW('i', 0x93, 8), arg),
          enqueueWrongSize: await sys.ioctl(buf, _IOW('i', 0x94, 24), arg),
          attach: await sys.ioctl(buf, 0x40046992, arg),
          detach: await sys.ioctl(buf, 0x40046993, arg),
        };
      },
      { platform: 'ideal' },
    );
    expect([
      IIO_BUFFER_DMABUF_ATTACH_IOCTL,
      IIO_BUFFER_DMABUF_DETACH_IOCTL,
      IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    ]).toEqual([0x40046992, 0x40046993, 0x40106994]);
    expect(value).toEqual({
      wrongSize: -EINVAL,
      wrongDir: -EINVAL,
      detachWrongSize: -EINVAL,
      enqueueWrongSize: -EINVAL,
      attach: 0,
      detach: 0,
    });
  });

  it("BIOC-1: nonblock comes from the buffer fd's O_NONBLOCK, not from the chardev's or the dma-buf's", async () => {
    const { value } = await runOne(
      async (sys) => {
        const { fd: buf } = await bufferFd(sys, 0, O_RDWR | O_NONBLOCK);
        expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
        const x = await heapBuf(sys);
        await setNonblock(sys, x);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        // Blocking: the second ENQUEUE waits for the first transfer's WRITE fence (ENQ-24).
        const blocking = await enqueue(sys, buf, x, 4096);
        const tBlocking = sys.now();
        await setNonblock(sys, buf);
        const nonblock = await enqueue(sys, buf, x, 4096);
        const tNonblock = sys.now();
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { blocking, tBlocking, nonblock, tNonblock };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      blocking: 0,
      tBlocking: vtime(T_512),
      nonblock: -EBUSY,
      tNonblock: vtime(T_512),
    });
  });

  it('BIOC-2: no device-gone check on the buffer fd: after removal ATTACH and DETACH still work (ATT-15)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        sim.removeDevice('sim-adc');
        return { attach: await attach(sys, buf, x), detach: await detach(sys, buf, x) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ attach: 0, detach: 0 });
  });
});

describe('BIOC-3: the v2 profile', () => {
  it('BIOC-3: in the v2 profile a buffer fd answers V2-IOC-*: the mainline ATTACH number is 1 (V2-IOC-1) with nothing attached, the v2 ALLOC number returns a new fd; mainline: 0 and -EINVAL (BIOC-1, BIOC-2)', async () => {
    const program = async (sys: Sys, sim: Simulator) => {
      const buf = await adcBuffer(sys);
      const x = await heapBuf(sys);
      const req = sys.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size: 4096, resv: 0 });
      return {
        fds: [buf, x],
        attach: await sys.ioctl(buf, IIO_BUFFER_DMABUF_ATTACH_IOCTL, await intArg(sys, x)),
        attachments: live(sim, 'iio_dmabuf_attachment'),
        alloc: await sys.ioctl(buf, v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL, req),
      };
    };
    const mainline = await runOne(program, { platform: 'ideal' });
    const v2profile = await runOne(program, { platform: 'ideal', abi: 'v2' });
    // fds: 0 the chardev, 1 the buffer fd, 3 the heap dma-buf (2 was the heap, closed again); the v2 ALLOC
    // returns its new dma-buf fd, the lowest free: 2 (V2-ALLOC-9).
    expect(mainline.value).toEqual({ fds: [1, 3], attach: 0, attachments: 1, alloc: -EINVAL });
    expect(v2profile.value).toEqual({ fds: [1, 3], attach: 1, attachments: 0, alloc: 2 });
  });
});

describe('KFIFO-9: DMABUF ioctls on a kfifo buffer (sim-dummy)', () => {
  it('KFIFO-9 / ATT-1: ATTACH is -EPERM before the argument is read: NULL pointer, bad fd and a dma-buf alike', async () => {
    const { value } = await runOne(
      async (sys) => {
        const { fd: buf } = await bufferFd(sys, 2);
        const x = await heapBuf(sys);
        return [
          await sys.ioctl(buf, IIO_BUFFER_DMABUF_ATTACH_IOCTL, 0),
          await attach(sys, buf, 999),
          await attach(sys, buf, x),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EPERM, -EPERM, -EPERM]);
  });

  it('KFIFO-9 / DET-3: DETACH checks its argument first (-EFAULT, -EBADF, -EINVAL), then -EPERM', async () => {
    const { value } = await runOne(
      async (sys) => {
        const { chardev, fd: buf } = await bufferFd(sys, 2);
        const x = await heapBuf(sys);
        return [
          await sys.ioctl(buf, IIO_BUFFER_DMABUF_DETACH_IOCTL, 0),
          await detach(sys, buf, 999),
          await detach(sys, buf, chardev),
          await detach(sys, buf, x),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EFAULT, -EBADF, -EINVAL, -EPERM]);
  });

  it('KFIFO-9 / ENQ-7: ENQUEUE checks its argument first (-EFAULT, flags, CYCLIC on IN, fd, bytes_used), then -EPERM', async () => {
    const { value } = await runOne(
      async (sys) => {
        const { chardev, fd: buf } = await bufferFd(sys, 2);
        const x = await heapBuf(sys);
        return [
          await sys.ioctl(buf, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, 0),
          await enqueue(sys, buf, x, 4096, 2),
          await enqueue(sys, buf, x, 4096, IIO_BUFFER_DMABUF_CYCLIC),
          await enqueue(sys, buf, 999, 4096),
          await enqueue(sys, buf, chardev, 4096),
          await enqueue(sys, buf, x, 0),
          await enqueue(sys, buf, x, 4097),
          await enqueue(sys, buf, x, 4096),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EFAULT, -EINVAL, -EINVAL, -EBADF, -EINVAL, -EINVAL, -EINVAL, -EPERM]);
  });
});

describe('ATT: argument checks', () => {
  it('ATT-2: an unreadable int is -EFAULT', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        return [
          await sys.ioctl(buf, IIO_BUFFER_DMABUF_ATTACH_IOCTL, 0),
          await sys.ioctl(buf, IIO_BUFFER_DMABUF_ATTACH_IOCTL, 16),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EFAULT, -EFAULT]);
  });

  it('ATT-3: every ATTACH past the copy consumes one fence context, even when it fails (-EBADF, -EINVAL, -EBUSY); -EFAULT and kfifo -EPERM do not', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const inits = simInternal(() => fenceInits(sim));
        // User space sees a fence's context in the name of a sync_file holding it (fenceId).
        const ids: [number, number][] = [];
        const enqueueAndName = async (buf: number, fd: number) => {
          expect(await enqueue(sys, buf, fd, 4096)).toBe(0);
          ids.push(await fenceId(sys, await exportSync(sys, fd)));
        };
        const buf = await adcBuffer(sys);
        const { chardev, fd: kfifo } = await bufferFd(sys, 2);
        const x = await heapBuf(sys);
        const y = await heapBuf(sys);
        const z = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        await enqueueAndName(buf, x);
        expect(await sys.ioctl(buf, IIO_BUFFER_DMABUF_ATTACH_IOCTL, 0)).toBe(-EFAULT);
        expect(await attach(sys, kfifo, y)).toBe(-EPERM);
        expect(await attach(sys, buf, y)).toBe(0);
        await enqueueAndName(buf, y);
        expect(await attach(sys, buf, 999)).toBe(-EBADF);
        expect(await attach(sys, buf, chardev)).toBe(-EINVAL);
        expect(await attach(sys, buf, await sys.dup(x))).toBe(-EBUSY);
        expect(await attach(sys, buf, z)).toBe(0);
        await enqueueAndName(buf, z);
        return {
          ids: ids.map(([ctx, seq]) => [ctx - ids[0]![0], seq]),
          inits: inits?.map(([ctx, seq]) => [ctx - inits[0]![0], seq]),
        };
      },
      { platform: 'ideal' },
    );
    const contexts = [
      [0, 1],
      [1, 1],
      [5, 1],
    ];
    expect(value).toEqual({ ids: contexts, inits: simState(contexts, 'fence tracepoints') });
  });

  it('ATT-4: an fd that is not open is -EBADF, including u32 values >= 2^31 (negative ints) and a closed fd', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await sys.close(x)).toBe(0);
        return [
          await attach(sys, buf, 999),
          await attach(sys, buf, -1),
          await attach(sys, buf, -2147483648),
          await attach(sys, buf, x),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EBADF, -EBADF, -EBADF, -EBADF]);
  });

  it('ATT-5: an fd that is not a dma-buf (buffer fd, chardev, memfd, sync_file, heap device) is -EINVAL', async () => {
    const { value } = await runOne(
      async (sys) => {
        const { chardev, fd: buf } = await bufferFd(sys, 0);
        const memfd = await sys.memfd_create('m', 0);
        const heap = await sys.open('/dev/dma_heap/system', O_RDONLY);
        const x = await heapBuf(sys);
        const sync = await exportSync(sys, x);
        return [
          await attach(sys, buf, buf),
          await attach(sys, buf, chardev),
          await attach(sys, buf, memfd),
          await attach(sys, buf, sync),
          await attach(sys, buf, heap),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });
});

describe('ATT: the reservation lock (two processes share one dma-buf)', () => {
  /** What the holder and the other process share: the dma-buf fd, and where each has got to. */
  interface Shared {
    x: number;
    /** The holder is about to queue the second transfer (it takes the lock). */
    locked: boolean;
    /** The other process has attached the dma-buf (DET-4), or need not (true). */
    attached: boolean;
    /** The other process is about to ATTACH (ATT-8). */
    attaching: boolean;
  }

  const shared0 = (attached = true): Shared => ({ x: -1, locked: false, attached, attaching: false });

  /**
   * Process "holder" keeps the dma-buf's reservation lock from 200 µs to 514 µs: its second ENQUEUE of the
   * same dma-buf on the ADC waits, lock held, for the first transfer's WRITE fence (ENQ-12, ENQ-24). On the
   * real kernel the processes keep their order through {@link waitFor} and `shared` (the holder's set-up
   * takes real time).
   */
  async function holdLock(sys: Sys, shared: Shared): Promise<number> {
    const buf = await adcBuffer(sys);
    shared.x = await heapBuf(sys);
    expect(await attach(sys, buf, shared.x)).toBe(0);
    expect(await setBufferEnabled(sys, 0, true)).toBe(1);
    expect(await enqueue(sys, buf, shared.x, 4096)).toBe(0);
    expect(await sys.nanosleep(200 * US)).toBe(0);
    await waitFor(sys, () => shared.attached, 0);
    shared.locked = true;
    expect(await enqueue(sys, buf, shared.x, 4096)).toBe(0);
    const t = sys.now();
    expect(await setBufferEnabled(sys, 0, false)).toBe(1);
    return t;
  }

  /** On the real kernel the devices run 300 times slower: the lock is held for about 90 ms of real time. */
  const LOCK_RUN = { platform: 'ideal', realTimescale: 300 } as const;

  it('ATT-7 (Linux 7.3, docs/quirks.md): ATTACH on a nonblocking buffer fd while another task holds the lock waits for the unlock in dma_buf_attach(), then attaches (0); a second ATTACH of it is -EBUSY', async () => {
    const { value, result } = await runOne(async (sys, sim) => {
      const shared = shared0();
      const holder = sys.pid;
      sim.spawn(
        'attacher',
        async (s2) => {
          await waitFor(s2, () => shared.x >= 0, 0);
          const x = await passFd(s2, holder, shared.x);
          const buf = await dacBuffer(s2);
          await setNonblock(s2, buf);
          await waitFor(s2, () => shared.locked);
          const nb = await attach(s2, buf, x);
          const tNb = s2.now();
          const again = await attach(s2, buf, x);
          return { nb, tNb, again, attachments: simInternal(() => live(sim, 'iio_dmabuf_attachment')) };
        },
        { startAt: 300 * US, stdio: false },
      );
      return holdLock(sys, shared);
    }, LOCK_RUN);
    expect(value).toEqual(vtime(T_512));
    expect(result.processes[1]?.status).toBe('exited');
    expect(result.processes[1]?.value).toEqual({
      nb: 0,
      tNb: vtime(T_512),
      again: -EBUSY,
      attachments: simState(2, 'live attachments'),
    });
  });

  it('ATT-8 (Linux 7.3, docs/quirks.md): a signal while ATTACH waits for the lock does not interrupt it (dma_buf_attach() waits uninterruptibly): 0 at the unlock', async () => {
    const { result } = await runOne(async (sys, sim) => {
      const shared = shared0();
      const holder = sys.pid;
      const pid = sim.spawn(
        'attacher',
        async (s2) => {
          await waitFor(s2, () => shared.x >= 0, 0);
          const x = await passFd(s2, holder, shared.x);
          expect(await s2.sigaction(SIGUSR1, { restart: true })).toBe(0);
          const buf = await dacBuffer(s2);
          await waitFor(s2, () => shared.locked);
          shared.attaching = true;
          const ret = await attach(s2, buf, x);
          return { ret, t: s2.now(), attachments: simInternal(() => live(sim, 'iio_dmabuf_attachment')) };
        },
        { startAt: 300 * US, stdio: false },
      );
      // The signal comes from a process of its own, once the ATTACH waits (at 400 µs on the simulator).
      sim.spawn(
        'signaller',
        async (s3) => {
          await waitFor(s3, () => shared.attaching);
          return [await s3.kill(pid, SIGUSR1), s3.now()];
        },
        { startAt: 400 * US, stdio: false },
      );
      return holdLock(sys, shared);
    }, LOCK_RUN);
    expect(result.processes[1]?.value).toEqual({
      ret: 0,
      t: vtime(T_512),
      attachments: simState(2, 'live attachments'),
    });
    expect(result.processes[2]?.value).toEqual([0, vtime(400 * US)]);
  });

  it('DET-4 (Linux 7.3, docs/quirks.md): DETACH of an idle attachment while another task holds the lock waits for the unlock (the release locks to unmap and detach), then 0, on a nonblocking fd', async () => {
    const { result } = await runOne(async (sys, sim) => {
      const shared = shared0(false);
      const holder = sys.pid;
      sim.spawn(
        'detacher',
        async (s2) => {
          await waitFor(s2, () => shared.x >= 0, 0);
          const x = await passFd(s2, holder, shared.x);
          const buf = await dacBuffer(s2);
          expect(await attach(s2, buf, x)).toBe(0);
          shared.attached = true;
          expect(await s2.nanosleep(200 * US)).toBe(0);
          await waitFor(s2, () => shared.locked);
          await setNonblock(s2, buf);
          const ret = await detach(s2, buf, x);
          return {
            ret,
            t: s2.now(),
            again: await detach(s2, buf, x),
            attachments: simInternal(() => live(sim, 'iio_dmabuf_attachment')),
          };
        },
        { startAt: 100 * US, stdio: false },
      );
      return holdLock(sys, shared);
    }, LOCK_RUN);
    expect(result.processes[1]?.value).toEqual({
      ret: 0,
      t: vtime(T_512),
      again: -EPERM,
      attachments: simState(1, 'live attachments'),
    });
  });
});

describe('ATT: queue state and effects', () => {
  it('ATT-10: ATTACH while enabled in fileio mode is -EBUSY with everything undone: no attachment, no block, fileio data intact', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const x = await heapBuf(sys);
        const ret = await attach(sys, buf, x);
        const census = [
          live(sim, 'iio_dmabuf_attachment'),
          live(sim, 'iio_dma_block(dmabuf)'),
          live(sim, 'iio_dma_block(fileio)'),
        ];
        const mem = sys.mem.alloc(16384);
        const n = await sys.read(buf, mem, 16384);
        const samples = s16(sys.mem.read(mem, 16384));
        const detached = await detach(sys, buf, x);
        expect(await sys.close(x)).toBe(0);
        const dmabufs = sim.kernel.dmaBuf.live.size;
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { ret, census, n, samplesOk: samples.join() === adcScans(0, 2048).join(), detached, dmabufs };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      ret: -EBUSY,
      census: [0, 0, 2],
      n: 16384,
      samplesOk: true,
      detached: -EPERM,
      dmabufs: 0,
    });
  });

  it('ATT-12: ATTACH while disabled creates one DONE DMABUF block and frees the fileio blocks (data_available 0)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await sys.nanosleep(5 * MS)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const before = [live(sim, 'iio_dma_block(fileio)'), await readAttr(sys, `${ADC_BUF}/data_available`)];
        const x = await heapBuf(sys, 8192);
        const ret = await attach(sys, buf, x);
        const after = [
          live(sim, 'iio_dma_block(fileio)'),
          live(sim, 'iio_dma_block(dmabuf)'),
          live(sim, 'iio_dmabuf_attachment'),
          await readAttr(sys, `${ADC_BUF}/data_available`),
        ];
        // DONE: the first ENQUEUE is accepted (a QUEUED or ACTIVE block would be -EPERM / -EBUSY).
        const enq = await enqueue(sys, buf, x, 8192);
        return { before, ret, after, enq };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ before: [2, '32768\n'], ret: 0, after: [0, 1, 1, '0\n'], enq: 0 });
  });

  it('ATT-12: a DMABUF block QUEUED while disabled is orphaned by a later ATTACH: never submitted, fence never signals, re-ENQUEUE -EPERM (OUT)', async () => {
    const { value, result } = await runOne(
      async (sys) => {
        const buf = await dacBuffer(sys);
        const x = await heapBuf(sys);
        const y = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await attach(sys, buf, y)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await sys.nanosleep(10 * MS)).toBe(0);
        const statusEnabled = await fenceStatus(sys, sync);
        const again = await enqueue(sys, buf, x, 4096);
        const t = sys.now();
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { statusEnabled, again, t, statusDisabled: await fenceStatus(sys, sync) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ statusEnabled: 0, again: -EPERM, t: vtime(10 * MS), statusDisabled: 0 });
    expect(result.stats.devices['sim-dac']?.transfers).toBe(0);
  });

  it('ATT-13: the same dma-buf object again (a dup) is -EBUSY; the new attachment is torn down, one attachment and one block remain', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        const dup = await sys.dup(x);
        const again = await attach(sys, buf, x);
        const viaDup = await attach(sys, buf, dup);
        // The torn-down blocks are freed by the deferred worker, which runs after the syscall (DMAQ-11).
        await sys.getpid();
        return {
          again,
          viaDup,
          attachments: live(sim, 'iio_dmabuf_attachment'),
          blocks: live(sim, 'iio_dma_block(dmabuf)'),
          enq: await enqueue(sys, buf, dup, 4096),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ again: -EBUSY, viaDup: -EBUSY, attachments: 1, blocks: 1, enq: 0 });
  });

  it('ATT-13: the failed ATTACH keeps its ATT-12 effect: a QUEUED block of the same dma-buf is orphaned (OUT)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await dacBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        const again = await attach(sys, buf, await sys.dup(x));
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await sys.nanosleep(5 * MS)).toBe(0);
        const status = await fenceStatus(sys, sync);
        const reEnqueue = await enqueue(sys, buf, x, 4096);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { again, status, reEnqueue };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ again: -EBUSY, status: 0, reEnqueue: -EPERM });
  });

  it('ATT-13: identity is the dma-buf object: two udmabufs over the same memfd pages attach separately', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const memfd = await sealedMemfd(sys, 4096);
        const a = await udmabufOf(sys, memfd, 4096);
        const b = await udmabufOf(sys, memfd, 4096);
        return [await attach(sys, buf, a), await attach(sys, buf, b), live(sim, 'iio_dmabuf_attachment')];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([0, 0, 2]);
  });

  it('ATT-14: the attachment holds a dma-buf reference until released; one dma-buf may be attached to several buffers', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const adc = await adcBuffer(sys);
        const dac = await dacBuffer(sys);
        const x = await heapBuf(sys);
        const both = [await attach(sys, adc, x), await attach(sys, dac, x)];
        const liveBufs = () => simInternal(() => sim.kernel.dmaBuf.live.size);
        expect(await sys.close(x)).toBe(0);
        const afterFdClose = liveBufs();
        expect(await sys.close(adc)).toBe(0);
        const afterAdcClose = liveBufs();
        expect(await sys.close(dac)).toBe(0);
        return { both, afterFdClose, afterAdcClose, afterDacClose: liveBufs() };
      },
      { platform: 'ideal' },
    );
    const dmabufs = (n: number) => simState(n, 'live dma-bufs');
    expect(value).toEqual({
      both: [0, 0],
      afterFdClose: dmabufs(1),
      afterAdcClose: dmabufs(1),
      afterDacClose: dmabufs(0),
    });
  });

  it('ATT-15: not checked: an O_RDONLY dma-buf, a size that is no bpd or block multiple, a udmabuf, the buffer enabled in DMABUF mode', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const first = await heapBuf(sys);
        expect(await attach(sys, buf, first)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const ro = await heapBuf(sys, 4096, O_RDONLY);
        const odd = await heapBuf(sys, 3 * 4096);
        const udma = await udmabufOf(sys, await sealedMemfd(sys, 8192), 8192);
        const rets = [await attach(sys, buf, ro), await attach(sys, buf, odd), await attach(sys, buf, udma)];
        const sync = await exportSync(sys, ro);
        const enq = await enqueue(sys, buf, ro, 4096);
        const sync2 = await exportSync(sys, ro);
        const status = [await fenceStatus(sys, sync), await fenceStatus(sys, sync2)];
        await waitFence(sys, sync2);
        const done = await fenceStatus(sys, sync2);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { rets, enq, status, done };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ rets: [0, 0, 0], enq: 0, status: [1, 0], done: 1 });
  });
});

describe('ATT: failures only fault injection can force (src/kernel/fault-inject.ts)', () => {
  /** The kernel log's lines, in order. */
  function kernelLog(sim: Simulator): string[] {
    const out: string[] = [];
    sim.events.on('kernel:log', (e) => out.push(`${e.level} ${e.device}: ${e.message}`));
    return out;
  }

  it('ATT-6: the exporter refuses the attachment (site dma_buf_attach): its -ENOMEM, nothing attached, the dma-buf reference dropped, a retry attaches', async () => {
    realSkip(FAULT_INJECTION_SIM_ONLY);
    const { value, sim } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        const before = dmabufRefs(sim, sys, x);
        sim.kernel.faults.arm({ site: 'dma_buf_attach' });
        const ret = await attach(sys, buf, x);
        const after = dmabufRefs(sim, sys, x);
        const census = [live(sim, 'iio_dmabuf_attachment'), live(sim, 'iio_dma_block(dmabuf)')];
        const detached = await detach(sys, buf, x);
        const retry = await attach(sys, buf, x);
        return { before, ret, after, census, detached, retry, attached: dmabufRefs(sim, sys, x) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      before: { attachments: 0, refs: 1, fences: 0 },
      ret: -ENOMEM,
      after: { attachments: 0, refs: 1, fences: 0 },
      census: [0, 0],
      detached: -EPERM,
      retry: 0,
      attached: { attachments: 1, refs: 2, fences: 0 },
    });
    expect(sim.kernel.faults.stats('dma_buf_attach')).toEqual({ hits: 1, failed: 1, armed: false });
    expect(checkQuiescentInvariants(sim)).toEqual([]);
  });

  it("ATT-6: the exporter's own errno (-EOPNOTSUPP) is returned as it is; the fence context was consumed all the same (ATT-3)", async () => {
    realSkip(FAULT_INJECTION_SIM_ONLY);
    const { value } = await runOne(
      async (sys, sim) => {
        const inits = fenceInits(sim);
        const buf = await dacBuffer(sys);
        const x = await heapBuf(sys);
        const y = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        sim.kernel.faults.arm({ site: 'dma_buf_attach', errno: EOPNOTSUPP });
        const ret = await attach(sys, buf, y);
        expect(await attach(sys, buf, y)).toBe(0);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        expect(await enqueue(sys, buf, y, 4096)).toBe(0);
        return { ret, contextGap: inits[1]![0] - inits[0]![0], seqnos: inits.map((i) => i[1]) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: -EOPNOTSUPP, contextGap: 2, seqnos: [1, 1] });
  });

  it('ATT-9: mapping the attachment fails (site dma_buf_map_attachment): the errno, "Unable to map attachment" logged, the attachment detached and the reference dropped; no block', async () => {
    realSkip(FAULT_INJECTION_SIM_ONLY);
    const { value, sim } = await runOne(
      async (sys, sim) => {
        const log = kernelLog(sim);
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        sim.kernel.faults.arm({ site: 'dma_buf_map_attachment', errno: EINVAL });
        const ret = await attach(sys, buf, x);
        const after = dmabufRefs(sim, sys, x);
        const census = [live(sim, 'iio_dmabuf_attachment'), live(sim, 'iio_dma_block(dmabuf)')];
        // The reservation lock was released: a nonblocking ATTACH (ATT-7 would be -EBUSY) goes through.
        await setNonblock(sys, buf);
        const retry = await attach(sys, buf, x);
        return { ret, after, census, retry, attached: dmabufRefs(sim, sys, x), log };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      ret: -EINVAL,
      after: { attachments: 0, refs: 1, fences: 0 },
      census: [0, 0],
      retry: 0,
      attached: { attachments: 1, refs: 2, fences: 0 },
      log: [
        'warn fault-inject: FAULT_INJECTION: forcing a failure at dma_buf_map_attachment (hit 1)',
        'err iio:device0: Unable to map attachment: -22',
      ],
    });
    expect(checkQuiescentInvariants(sim)).toEqual([]);
  });

  it('ATT-11: the DMABUF block allocation fails (site iio_dma_buffer_alloc_block): -ENOMEM, no attachment, no block, the fileio blocks kept (FILEIO-11 not applied); a retry attaches and frees them', async () => {
    realSkip(FAULT_INJECTION_SIM_ONLY);
    const { value, sim } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await sys.nanosleep(5 * MS)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const x = await heapBuf(sys, 8192);
        sim.kernel.faults.arm({ site: 'iio_dma_buffer_alloc_block' });
        const ret = await attach(sys, buf, x);
        const after = {
          refs: dmabufRefs(sim, sys, x),
          fileio: live(sim, 'iio_dma_block(fileio)'),
          blocks: live(sim, 'iio_dma_block(dmabuf)'),
          attachments: live(sim, 'iio_dmabuf_attachment'),
          dataAvailable: await readAttr(sys, `${ADC_BUF}/data_available`),
        };
        const enqueueBefore = await enqueue(sys, buf, x, 8192);
        const retry = await attach(sys, buf, x);
        const retried = [
          live(sim, 'iio_dma_block(fileio)'),
          live(sim, 'iio_dma_block(dmabuf)'),
          await readAttr(sys, `${ADC_BUF}/data_available`),
        ];
        return { ret, after, enqueueBefore, retry, retried };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      ret: -ENOMEM,
      after: {
        refs: { attachments: 0, refs: 1, fences: 0 },
        fileio: 2,
        blocks: 0,
        attachments: 0,
        dataAvailable: '32768\n',
      },
      enqueueBefore: -EPERM,
      retry: 0,
      retried: [0, 1, '0\n'],
    });
    expect(checkQuiescentInvariants(sim)).toEqual([]);
  });

  it('ATT-11 with ATT-10: enabled in fileio mode, -EBUSY comes first and the allocation is never tried (the armed site sees no hit)', async () => {
    realSkip(FAULT_INJECTION_SIM_ONLY);
    const { value, sim } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const x = await heapBuf(sys);
        sim.kernel.faults.arm({ site: 'iio_dma_buffer_alloc_block' });
        const ret = await attach(sys, buf, x);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { ret, stats: sim.kernel.faults.stats('iio_dma_buffer_alloc_block') };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: -EBUSY, stats: { hits: 0, failed: 0, armed: true } });
    sim.kernel.faults.disarm();
    expect(sim.kernel.faults.armed).toBe(false);
  });
});

describe('DET: DETACH', () => {
  it('DET-1: an unreadable int is -EFAULT (ADC buffer and kfifo buffer alike: no capability check first)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await adcBuffer(sys);
        const { fd: kfifo } = await bufferFd(sys, 2);
        return [
          await sys.ioctl(adc, IIO_BUFFER_DMABUF_DETACH_IOCTL, 0),
          await sys.ioctl(kfifo, IIO_BUFFER_DMABUF_DETACH_IOCTL, 0),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EFAULT, -EFAULT]);
  });

  it('DET-2: fd not open is -EBADF; not a dma-buf is -EINVAL', async () => {
    const { value } = await runOne(
      async (sys) => {
        const { chardev, fd: buf } = await bufferFd(sys, 0);
        return [
          await detach(sys, buf, 999),
          await detach(sys, buf, -1),
          await detach(sys, buf, chardev),
          await detach(sys, buf, buf),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EBADF, -EBADF, -EINVAL, -EINVAL]);
  });

  it('DET-3: a dma-buf not attached to this buffer (never, already detached, attached elsewhere) is -EPERM', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await adcBuffer(sys);
        const dac = await dacBuffer(sys);
        const never = await heapBuf(sys);
        const once = await heapBuf(sys);
        const elsewhere = await heapBuf(sys);
        expect(await attach(sys, adc, once)).toBe(0);
        expect(await attach(sys, dac, elsewhere)).toBe(0);
        return [
          await detach(sys, adc, never),
          await detach(sys, adc, once),
          await detach(sys, adc, once),
          await detach(sys, adc, elsewhere),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EPERM, 0, -EPERM, -EPERM]);
  });

  it('DET-4 / DET-5: DETACH with a fence pending is 0 at once (nonblock ignored); the attachment lives until the fence has signalled', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        await setNonblock(sys, buf);
        const ret = await detach(sys, buf, x);
        const t = sys.now();
        expect(await sys.close(x)).toBe(0);
        const pending = simInternal(() => [
          live(sim, 'iio_dmabuf_attachment'),
          live(sim, 'iio_dma_block(dmabuf)'),
          sim.kernel.dmaBuf.live.size,
        ]);
        const tSignal = await waitFence(sys, sync);
        const released = simInternal(() => [live(sim, 'iio_dmabuf_attachment'), sim.kernel.dmaBuf.live.size]);
        const status = await fenceStatus(sys, sync);
        // The block itself is freed by the deferred worker (DMAQ-11), by the next syscall.
        const blocks = simInternal(() => live(sim, 'iio_dma_block(dmabuf)'));
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { ret, t, pending, tSignal, released, status, blocks };
      },
      { platform: 'ideal' },
    );
    // On the real kernel the transfer completing into the closed dma-buf is what shows the attachment lived on.
    expect(value).toEqual({
      ret: 0,
      t: vtime(100 * US),
      pending: simState([1, 1, 1], 'live attachments, blocks and dma-bufs'),
      tSignal: vtime(T_512),
      released: simState([0, 0], 'live attachments and dma-bufs'),
      status: 1,
      blocks: simState(0, 'live blocks'),
    });
  });

  it('DET-5: with no fence pending the teardown is at once: attachment and block gone, the dma-buf reference dropped', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        const before = [live(sim, 'iio_dmabuf_attachment'), live(sim, 'iio_dma_block(dmabuf)')];
        const ret = await detach(sys, buf, x);
        const atOnce = [live(sim, 'iio_dmabuf_attachment'), live(sim, 'iio_dma_block(dmabuf)')];
        // The block itself goes in the deferred worker, after DETACH has returned (DMAQ-11).
        await sys.getpid();
        const after = [live(sim, 'iio_dmabuf_attachment'), live(sim, 'iio_dma_block(dmabuf)')];
        expect(await sys.close(x)).toBe(0);
        return { before, ret, atOnce, after, dmabufs: sim.kernel.dmaBuf.live.size };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ before: [1, 1], ret: 0, atOnce: [0, 1], after: [0, 0], dmabufs: 0 });
  });

  it('DET-6: a block QUEUED at DETACH still runs at the next enable with the kept mapping; its fence signals 0', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        const addr = await mapBuf(sys, x);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        const ret = await detach(sys, buf, x);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const t = await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        const samples = s16(sys.mem.read(addr, 4096));
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { ret, t, status, first: rampStart(samples) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: 0, t: vtime(T_512), status: 1, first: 0 });
  });

  it('DET-6: a transfer in flight at DETACH completes into the dma-buf; its fence signals 0', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        const addr = await mapBuf(sys, x);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await sys.nanosleep(10 * US)).toBe(0);
        const ret = await detach(sys, buf, x);
        const t = await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        const samples = s16(sys.mem.read(addr, 4096));
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { ret, t, status, first: rampStart(samples) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ret: 0, t: vtime(T_512), status: 1, first: rampFrom(0) });
  });

  it('DET-7 / BREL-2: closing the buffer fd detaches every attachment; GET_FD works again at once; the QUEUED block runs at the next enable', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { chardev, fd: buf } = await bufferFd(sys, 0);
        expect(await enableChannels(sys, 0, ADC_CHANNELS)).toBe(0);
        const x = await heapBuf(sys);
        const y = await heapBuf(sys);
        const addr = await mapBuf(sys, x);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await attach(sys, buf, y)).toBe(0);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await sys.close(buf)).toBe(0);
        // y had no pending fence: gone at once; x's attachment lives on through its QUEUED fence (DET-5).
        const afterClose = simInternal(() => live(sim, 'iio_dmabuf_attachment'));
        const arg = await intArg(sys, 0);
        const getfd = await sys.ioctl(chardev, IIO_BUFFER_GET_FD_IOCTL, arg);
        const buf2 = sys.mem.readInt(arg);
        const enqY = await enqueue(sys, buf2, y, 4096);
        const enqX = await enqueue(sys, buf2, x, 4096);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const t = await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        const samples = s16(sys.mem.read(addr, 4096));
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return {
          afterClose,
          getfd,
          enqY,
          enqX,
          t,
          status,
          samplesOk: samples.join() === adcScans(0, 512).join(),
          end: simInternal(() => live(sim, 'iio_dmabuf_attachment')),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      afterClose: simState(1, 'live attachments'),
      getfd: 0,
      enqY: -EPERM,
      enqX: -EPERM,
      t: vtime(T_512),
      status: 1,
      samplesOk: true,
      end: simState(0, 'live attachments'),
    });
  });
});

describe('BREL: buffer fd release with attachments', () => {
  it('BREL-2: release drops every attachment at once when no fence is pending: attachments and blocks 0, the dma-bufs freed', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        const y = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await attach(sys, buf, y)).toBe(0);
        expect(await sys.close(x)).toBe(0);
        expect(await sys.close(y)).toBe(0);
        const before = [live(sim, 'iio_dmabuf_attachment'), sim.kernel.dmaBuf.live.size];
        expect(await sys.close(buf)).toBe(0);
        await sys.getpid(); // the blocks go in the deferred worker (DMAQ-11)
        return {
          before,
          after: [
            live(sim, 'iio_dmabuf_attachment'),
            live(sim, 'iio_dma_block(dmabuf)'),
            sim.kernel.dmaBuf.live.size,
          ],
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ before: [2, 2], after: [0, 0, 0] });
  });

  it('BREL-3: release does not disable the buffer, abort the transfer or signal its fence: it completes at 514 µs with status 1', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        const addr = await mapBuf(sys, x);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        expect(await sys.close(buf)).toBe(0);
        const enable = await readAttr(sys, `${ADC_BUF}/enable`);
        const statusAtClose = await fenceStatus(sys, sync);
        const t = await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        const samples = s16(sys.mem.read(addr, 4096));
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { enable, statusAtClose, t, status, first: rampStart(samples) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      enable: '1\n',
      statusAtClose: 0,
      t: vtime(T_512),
      status: 1,
      first: rampFrom(0),
    });
  });
});
