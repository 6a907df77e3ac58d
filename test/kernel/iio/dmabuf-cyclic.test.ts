/**
 * Mainline cyclic DMABUF transfers (rulebook §10 CYC-1..9) on sim-dac: 2 × le:s16/16 at 1 MHz (bpd 4,
 * alignment 4), one scan played per µs from the enable. A 1024-byte cyclic block is 256 scans, so one pass
 * lasts 256 µs. `sim.device('sim-dac').dac.playedScans()` gives every scan played (null where starved).
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Simulator, Sys } from '../../../src/index.ts';
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  dma_buf_sync,
  EBUSY,
  EINTR,
  EINVAL,
  IIO_BUFFER_DMABUF_CYCLIC,
  POLLIN,
  POLLOUT,
} from '../../../src/uapi/index.ts';
import { enableChannels, setBufferEnabled } from '../../../src/user/iio.ts';
import { runOne, simInternal, simState, vtime } from '../../helpers.ts';
import {
  adcBuffer,
  attach,
  bufferFd,
  DAC_CHANNELS,
  detach,
  enqueue,
  exportSync,
  fenceStatus,
  heapBuf,
  live,
  MS,
  mapBuf,
  resvFences,
  US,
  waitFence,
} from './dmabuf-helpers.ts';

/** dma_resv usages (RESV-1). */
const USAGE_READ = 2;

/** Opens a DAC's buffer (default sim-dac) and enables its two channels (the buffer stays disabled). */
async function dacBuffer(sys: Sys, dev = 1): Promise<number> {
  const { fd } = await bufferFd(sys, dev);
  expect(await enableChannels(sys, dev, DAC_CHANNELS)).toBe(0);
  return fd;
}

function dacValue(k: number, c: number): number {
  return ((k * 101 + c * 7000) % 65536) - 32768;
}

/** `count` DAC scans (2 × s16) of pattern `seed`: scan k is [dacValue(seed + k, 0), dacValue(seed + k, 1)]. */
function dacBytes(seed: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  const v = new DataView(out.buffer);
  for (let k = 0; k < count; k++) {
    v.setInt16(k * 4, dacValue(seed + k, 0), true);
    v.setInt16(k * 4 + 2, dacValue(seed + k, 1), true);
  }
  return out;
}

/** The scans of pattern `seed` with period `period`, from position `from`, `count` of them. */
function dacScans(seed: number, period: number, from: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => {
    const k = (from + i) % period;
    return [dacValue(seed + k, 0), dacValue(seed + k, 1)];
  });
}

/** What sim-dac played in its last run. */
function played(sim: Simulator): (readonly number[] | null)[] {
  return sim.device('sim-dac').dac!.playedScans();
}

/** A dma-buf of `len` bytes holding `bytes` at offset 0; returns its fd. */
async function filledBuf(sys: Sys, bytes: Uint8Array, len = 4096): Promise<number> {
  const fd = await heapBuf(sys, len);
  const addr = await mapBuf(sys, fd, len);
  sys.mem.write(addr, bytes);
  return fd;
}

/** kernel log lines as [message, time]. */
function kernelLog(sim: Simulator): [string, number][] {
  const out: [string, number][] = [];
  sim.events.on('kernel:log', (e) => out.push([e.message, e.time]));
  return out;
}

const A_SEED = 0;
const B_SEED = 5000;
const C_SEED = 9000;

describe('CYC: cyclic transfers (OUT only)', () => {
  it('CYC-1: CYCLIC is -EINVAL on an IN buffer (attached dma-buf) and accepted on an OUT buffer', async () => {
    const { value } = await runOne(
      async (sys) => {
        const adc = await adcBuffer(sys);
        const dac = await dacBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, adc, x)).toBe(0);
        expect(await attach(sys, dac, x)).toBe(0);
        return [
          await enqueue(sys, adc, x, 4096, IIO_BUFFER_DMABUF_CYCLIC),
          await enqueue(sys, dac, x, 4096, IIO_BUFFER_DMABUF_CYCLIC),
        ];
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual([-EINVAL, 0]);
  });

  it('CYC-3: a cyclic block repeats its bytes_used bytes until the disable; its fence stays pending, then -EINTR', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const sync = await exportSync(sys, a);
        expect(await sys.nanosleep(10 * MS)).toBe(0);
        const pending = await fenceStatus(sys, sync);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        const status = await fenceStatus(sys, sync);
        const scans = simInternal(() => played(sim));
        return {
          pending,
          status,
          count: scans?.length,
          ok: simInternal(() => JSON.stringify(scans) === JSON.stringify(dacScans(A_SEED, 256, 0, 10_000))),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      pending: 0,
      status: -EINTR,
      count: simState(10_000, 'the scans the DAC played'),
      ok: simState(true, 'the scans the DAC played'),
    });
  });

  it('CYC-4: a non-cyclic block enqueued while a cyclic one repeats ends it at the pass boundary, runs once and completes (fence 0)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        const b = await filledBuf(sys, dacBytes(B_SEED, 512));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await attach(sys, buf, b)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const sa = await exportSync(sys, a);
        expect(await sys.nanosleep(1000 * US)).toBe(0);
        expect(await enqueue(sys, buf, b, 2048)).toBe(0);
        const sb = await exportSync(sys, b);
        const tb = await waitFence(sys, sb);
        const statusB = await fenceStatus(sys, sb);
        expect(await sys.nanosleep(Math.max(0, 3 * MS - sys.now()))).toBe(0);
        const statusA = await fenceStatus(sys, sa);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        const scans = simInternal(() => played(sim));
        const expected = [
          ...dacScans(A_SEED, 256, 0, 1024),
          ...dacScans(B_SEED, 512, 0, 512),
          ...new Array(3000 - 1536).fill(null),
        ];
        return {
          tb,
          statusB,
          statusA,
          afterDisable: await fenceStatus(sys, sa),
          ok: simInternal(() => JSON.stringify(scans) === JSON.stringify(expected)),
        };
      },
      { platform: 'ideal' },
    );
    // The pass running at 1000 µs ends at scan 1024; b plays scans 1024..1535, its IRQ at 1538 µs.
    expect(value).toEqual({
      tb: vtime(1538 * US),
      statusB: 1,
      statusA: 0,
      afterDisable: -EINTR,
      ok: simState(true, 'the scans the DAC played'),
    });
  });

  it('CYC-5: the cyclic block ended by CYC-4 stays ACTIVE: re-ENQUEUE -EBUSY, a new cyclic block is refused (-EBUSY fence, log), its fence -EINTR only at the disable', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const log = simInternal(() => kernelLog(sim));
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        const b = await filledBuf(sys, dacBytes(B_SEED, 512));
        const c = await filledBuf(sys, dacBytes(C_SEED, 256));
        for (const x of [a, b, c]) expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const sa = await exportSync(sys, a);
        expect(await sys.nanosleep(1000 * US)).toBe(0);
        expect(await enqueue(sys, buf, b, 2048)).toBe(0);
        await waitFence(sys, await exportSync(sys, b));
        const reA = await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC);
        const cyclicC = await enqueue(sys, buf, c, 1024, IIO_BUFFER_DMABUF_CYCLIC);
        const tc = sys.now();
        const resvC = simInternal(() => resvFences(sim, sys, c));
        expect(await sys.nanosleep(1 * MS)).toBe(0);
        const statusA = await fenceStatus(sys, sa);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        const scans = simInternal(() => played(sim));
        return {
          reA,
          cyclicC,
          resvC,
          log: log?.filter(([m]) => m.includes('cyclic')),
          tc,
          statusA,
          afterDisable: await fenceStatus(sys, sa),
          silentAfterB: scans?.slice(1536).every((s) => s === null),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      reA: -EBUSY,
      cyclicC: 0,
      resvC: simState([[1, USAGE_READ, -EBUSY]], 'a fence signalled inside the ioctl (IFENCE-8)'),
      log: simState([['cyclic DMA transfer already active', 1538 * US]], 'the kernel log'),
      tc: vtime(1538 * US),
      statusA: 0,
      afterDisable: -EINTR,
      silentAfterB: simState(true, 'the scans the DAC played'),
    });
  });

  it('CYC-2 / ENQ-21: a second cyclic block while one repeats: ioctl 0, its fence -EBUSY, "cyclic DMA transfer already active"; wedged (re-ENQUEUE -EBUSY); only the first plays', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const log = simInternal(() => kernelLog(sim));
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        const b = await filledBuf(sys, dacBytes(B_SEED, 256));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await attach(sys, buf, b)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        const ret = await enqueue(sys, buf, b, 1024, IIO_BUFFER_DMABUF_CYCLIC);
        const resvB = simInternal(() => resvFences(sim, sys, b));
        const again = await enqueue(sys, buf, b, 1024);
        expect(await sys.nanosleep(Math.max(0, 2 * MS - sys.now()))).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return {
          ret,
          resvB,
          again,
          log: log?.filter(([m]) => m.includes('cyclic')),
          ok: simInternal(
            () => JSON.stringify(played(sim)) === JSON.stringify(dacScans(A_SEED, 256, 0, 2000)),
          ),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      ret: 0,
      resvB: simState([[1, USAGE_READ, -EBUSY]], 'a fence signalled inside the ioctl (IFENCE-8)'),
      again: -EBUSY,
      log: simState([['cyclic DMA transfer already active', 100 * US]], 'the kernel log'),
      ok: simState(true, 'the scans the DAC played'),
    });
  });

  it('CYC-6: re-ENQUEUE of the running cyclic dma-buf is -EBUSY at once with a -EBUSY fence; the transfer goes on', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const sa = await exportSync(sys, a);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        const ret = await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC);
        const t = sys.now();
        const resv = simInternal(() => resvFences(sim, sys, a));
        expect(await sys.nanosleep(Math.max(0, 2 * MS - sys.now()))).toBe(0);
        const pending = await fenceStatus(sys, sa);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return {
          ret,
          t,
          resv,
          pending,
          end: await fenceStatus(sys, sa),
          ok: simInternal(
            () => JSON.stringify(played(sim)) === JSON.stringify(dacScans(A_SEED, 256, 0, 2000)),
          ),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      ret: -EBUSY,
      t: vtime(100 * US),
      resv: simState([[2, USAGE_READ, -EBUSY]], 'a fence signalled inside the ioctl (IFENCE-8)'),
      pending: 0,
      end: -EINTR,
      ok: simState(true, 'the scans the DAC played'),
    });
  });

  it('CYC-6 / CYC-3: after the refused re-ENQUEUE (no sync_file holding the first fence) the disable still signals the cyclic fence -EINTR', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const signaled: [number, number][] = [];
        simInternal(() =>
          sim.events.on('fence:trace', (e) => {
            if (e.event === 'dma_fence_signaled') signaled.push([e.seqno, e.time]);
          }),
        );
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        const ret = await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        // What user space sees: the refused fence took the place of the cyclic one in the dma-buf (same context),
        // so POLLOUT is ready at once; only the kernel still holds the first fence, and the disable signals it.
        const writable = async () => sys.pollfds([{ fd: a, events: POLLOUT }], 0);
        const before = await writable();
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return { ret, before, after: await writable(), signaled: simInternal(() => [...signaled]) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      ret: -EBUSY,
      before: 1,
      after: 1,
      signaled: simState(
        [
          [2, 100 * US],
          [1, 200 * US],
        ],
        'fence tracepoints',
      ),
    });
  });

  it('CYC-7: two cyclic blocks queued while disabled: the enable submits both, the second gets -EBUSY (wedged), the enable still succeeds', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        const b = await filledBuf(sys, dacBytes(B_SEED, 256));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await attach(sys, buf, b)).toBe(0);
        const rets = [
          await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC),
          await enqueue(sys, buf, b, 1024, IIO_BUFFER_DMABUF_CYCLIC),
        ];
        const sa = await exportSync(sys, a);
        const sb = await exportSync(sys, b);
        const enable = await setBufferEnabled(sys, 1, true);
        const statuses = [await fenceStatus(sys, sa), await fenceStatus(sys, sb)];
        const again = await enqueue(sys, buf, b, 1024);
        expect(await sys.nanosleep(2 * MS)).toBe(0);
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return {
          rets,
          enable,
          statuses,
          again,
          end: [await fenceStatus(sys, sa), await fenceStatus(sys, sb)],
          ok: simInternal(
            () => JSON.stringify(played(sim)) === JSON.stringify(dacScans(A_SEED, 256, 0, 2000)),
          ),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      rets: [0, 0],
      enable: 1,
      statuses: [0, -EBUSY],
      again: -EBUSY,
      end: [-EINTR, -EBUSY],
      ok: simState(true, 'the scans the DAC played'),
    });
  });

  it('CYC-8: a pending cyclic fence is READ usage: POLLIN and SYNC READ are ready at once; POLLOUT is not, SYNC WRITE and RW wait until the disable', async () => {
    const { value, result } = await runOne(
      async (sys, sim) => {
        sim.spawn(
          'disabler',
          async (s2) => {
            expect(await setBufferEnabled(s2, 1, false)).toBe(1);
            expect(await s2.nanosleep(Math.max(0, 20 * MS - s2.now()))).toBe(0);
            expect(await setBufferEnabled(s2, 1, false)).toBe(1);
            return 0;
          },
          { startAt: 10 * MS, stdio: false },
        );
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const pin: PollEntry[] = [{ fd: a, events: POLLIN }];
        const pout: PollEntry[] = [{ fd: a, events: POLLOUT }];
        const polls = [await sys.pollfds(pin, 0), await sys.pollfds(pout, 0)];
        const revents = [pin[0]!.revents, pout[0]!.revents];
        const sync = async (flags: number) => {
          const arg = sys.mem.allocStruct(dma_buf_sync, { flags });
          return [await sys.ioctl(a, DMA_BUF_IOCTL_SYNC, arg), sys.now()];
        };
        const read = await sync(DMA_BUF_SYNC_READ);
        const write = await sync(DMA_BUF_SYNC_WRITE);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const rw = await sync(DMA_BUF_SYNC_RW);
        return { polls, revents, read, write, rw };
      },
      { platform: 'ideal' },
    );
    expect(result.processes[1]?.status).toBe('exited');
    expect(value).toEqual({
      polls: [1, 0],
      revents: [POLLIN, 0],
      read: [0, vtime(0)],
      write: [0, vtime(10 * MS)],
      rw: [0, vtime(20 * MS)],
    });
  });

  it('CYC-9: DETACH and closing the buffer fd do not stop a cyclic transfer; it plays on until the disable (-EINTR), then the attachment goes', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await dacBuffer(sys);
        const a = await filledBuf(sys, dacBytes(A_SEED, 256));
        expect(await attach(sys, buf, a)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const sa = await exportSync(sys, a);
        expect(await sys.nanosleep(1 * MS)).toBe(0);
        const det = await detach(sys, buf, a);
        expect(await sys.nanosleep(1 * MS)).toBe(0);
        expect(await sys.close(buf)).toBe(0);
        expect(await sys.nanosleep(3 * MS)).toBe(0);
        const before = [await fenceStatus(sys, sa), simInternal(() => live(sim, 'iio_dmabuf_attachment'))];
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        return {
          det,
          before,
          after: [await fenceStatus(sys, sa), simInternal(() => live(sim, 'iio_dmabuf_attachment'))],
          ok: simInternal(
            () => JSON.stringify(played(sim)) === JSON.stringify(dacScans(A_SEED, 256, 0, 5000)),
          ),
        };
      },
      { platform: 'ideal' },
    );
    const attachments = (n: number) => simState(n, 'live attachments');
    expect(value).toEqual({
      det: 0,
      before: [0, attachments(1)],
      after: [-EINTR, attachments(0)],
      ok: simState(true, 'the scans the DAC played'),
    });
  });
});
