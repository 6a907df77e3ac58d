/**
 * The IIO DMABUF fences of the mainline interface (rulebook §10 IFENCE-1..8): identity, how and when they
 * signal, what keeps the attachment alive, and where an error shows. sim-adc: 4 × le:s12/16 at 1 MHz (bpd 8):
 * a 4096-byte dma-buf holds 512 scans; a transfer started at the enable ends at 512 µs, its fence signals
 * with the IRQ at 514 µs. Fences are observed through exported sync_files, poll on the dma-buf, the
 * dma_fence tracepoints and, for errors no syscall can report, the reservation object itself.
 */
import { describe, expect, it } from 'vitest';
import type { PollEntry, Sys } from '../../../src/index.ts';
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_RW,
  dma_buf_sync,
  EINTR,
  EPERM,
  IIO_BUFFER_DMABUF_CYCLIC,
  POLLIN,
  POLLOUT,
  SYNC_IOC_FILE_INFO,
  sync_fence_info,
  sync_file_info,
} from '../../../src/uapi/index.ts';
import { enableChannels, setBufferEnabled } from '../../../src/user/iio.ts';
import { removeDevice, runOne, simInternal, simState, vtime } from '../../helpers.ts';
import {
  adcBuffer,
  attach,
  bufferFd,
  DAC_CHANNELS,
  detach,
  enqueue,
  exportSync,
  fenceId,
  fenceLog,
  fenceStatus,
  heapBuf,
  live,
  MS,
  resvFences,
  T_512,
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

/** SYNC_IOC_FILE_INFO with one sync_fence_info entry: the file status and the member's names and status. */
async function fenceInfo(
  sys: Sys,
  syncFd: number,
): Promise<{ status: number; num: number; obj: string; driver: string; memberStatus: number }> {
  const entry = sys.mem.alloc(sync_fence_info.size(sys.mem.abi));
  const arg = sys.mem.allocStruct(sync_file_info, { num_fences: 1, sync_fence_info: entry });
  expect(await sys.ioctl(syncFd, SYNC_IOC_FILE_INFO, arg)).toBe(0);
  const info = sys.mem.readStruct(arg, sync_file_info);
  const member = sys.mem.readStruct(entry, sync_fence_info);
  return {
    status: info.status,
    num: info.num_fences,
    obj: member.obj_name,
    driver: member.driver_name,
    memberStatus: member.status,
  };
}

describe('IFENCE: identity', () => {
  it('IFENCE-1: one context per attachment, seqnos per attachment from 1; driver and timeline are both "iio"', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const names: [string, string][] = [];
        simInternal(() =>
          sim.events.on('fence:trace', (e) => {
            if (e.event === 'dma_fence_init') names.push([e.driver, e.timeline]);
          }),
        );
        const log = simInternal(() => fenceLog(sim));
        // What user space sees of each new fence: [context, seqno] in the name of a sync_file exported at once.
        const ids: [number, number][] = [];
        const enqueueAndName = async (buf: number, fd: number) => {
          expect(await enqueue(sys, buf, fd, 4096)).toBe(0);
          ids.push(await fenceId(sys, await exportSync(sys, fd)));
        };
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        const y = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await attach(sys, buf, y)).toBe(0);
        await enqueueAndName(buf, x);
        await enqueueAndName(buf, y);
        const info = await fenceInfo(sys, await exportSync(sys, x));
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        await waitFence(sys, await exportSync(sys, y));
        // Disabled again, the next fences stay pending however slow the calls (a signalled fence is not
        // exported: the sync_file would hold the stub).
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        await enqueueAndName(buf, x);
        await enqueueAndName(buf, y);
        return {
          ids: ids.map(([ctx, seq]) => [ctx - ids[0]![0], seq]),
          inits: log?.filter((e) => e[0] === 'init').map((e) => [e[1] - log[0]![1], e[2]]),
          names: simInternal(() => [...new Set(names.map((n) => n.join('/')))]),
          info,
        };
      },
      { platform: 'ideal' },
    );
    const perAttachment = [
      [0, 1],
      [1, 1],
      [0, 2],
      [1, 2],
    ];
    expect(value).toEqual({
      ids: perAttachment,
      inits: simState(perAttachment, 'fence tracepoints'),
      names: simState(['iio/iio'], 'fence tracepoints'),
      info: { status: 0, num: 1, obj: 'iio', driver: 'iio', memberStatus: 0 },
    });
  });
});

describe('IFENCE: how fences end', () => {
  it('IFENCE-2: completion signals error 0 (status 1); the block is DONE before the signal, so an ENQUEUE at the wake-up is accepted', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const order: string[] = [];
        simInternal(() => {
          sim.events.on('iio:block', (e) => {
            if (e.device === 'iio:device0') order.push(`${e.state}@${e.time}`);
          });
          sim.events.on('fence:trace', (e) => {
            if (e.event === 'dma_fence_signaled') order.push(`signaled@${e.time}`);
          });
        });
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        const t = await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        const again = await enqueue(sys, buf, x, 4096);
        const tAgain = sys.now();
        const seen = simInternal(() => [...order]);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { t, status, again, tAgain, order: seen };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      t: vtime(T_512),
      status: 1,
      again: 0,
      tAgain: vtime(T_512),
      order: simState(
        ['ACTIVE@0', `DONE@${T_512}`, `signaled@${T_512}`, `ACTIVE@${T_512}`],
        'block states and fence tracepoints',
      ),
    });
  });

  it('IFENCE-3: device removal while the block is on the active list signals -EINTR at the removal', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        sim.at(100 * US, 'remove sim-adc', () => sim.removeDevice('sim-adc'));
        const t = await waitFence(sys, sync);
        return { t, status: await fenceStatus(sys, sync) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ t: vtime(100 * US), status: -EINTR });
  });

  it('IFENCE-3: disable while the block is on the active list signals -EINTR at the disable', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const poll: PollEntry[] = [{ fd: sync, events: POLLIN }];
        const ready = await sys.pollfds(poll, 0);
        return { ready, status: await fenceStatus(sys, sync) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ ready: 1, status: -EINTR });
  });

  it('IFENCE-4: a driver refusal is signalled before the ioctl returns: the signaled trace precedes the syscall exit', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const order: string[] = [];
        const buf = await dacBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        sim.events.on('fence:trace', (e) => {
          if (e.event === 'dma_fence_init' || e.event === 'dma_fence_signaled')
            order.push(`${e.event}:${e.seqno}`);
        });
        sim.events.on('syscall:exit', (e) => {
          if (e.name === 'ioctl') order.push(`exit:${e.ret}`);
        });
        const ret = await enqueue(sys, buf, x, 4096);
        return { ret, order: [...order], resv: resvFences(sim, sys, x) };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      ret: -EPERM,
      order: ['dma_fence_init:2', 'dma_fence_signaled:2', `exit:${-EPERM}`],
      resv: [[2, USAGE_READ, -EPERM]],
    });
  });

  it('IFENCE-5: a fence QUEUED while disabled stays pending (10 ms) until the next enable, then completes 514 µs after it', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        // A session in DMABUF mode and its disable come first: the disable does not touch later QUEUED blocks.
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await sys.nanosleep(10 * MS)).toBe(0);
        const pending = await fenceStatus(sys, sync);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const t = await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { pending, t, status };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ pending: 0, t: vtime(10 * MS + T_512), status: 1 });
  });

  it('IFENCE-6: never signalled: an orphaned QUEUED block, a block enqueued after removal, a cyclic block before its disable', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const adc = await adcBuffer(sys);
        const dac = await dacBuffer(sys);
        const orphan = await heapBuf(sys);
        const other = await heapBuf(sys);
        const cyclic = await heapBuf(sys);
        const late = await heapBuf(sys);
        expect(await attach(sys, dac, orphan)).toBe(0);
        expect(await enqueue(sys, dac, orphan, 4096)).toBe(0);
        const sOrphan = await exportSync(sys, orphan);
        expect(await attach(sys, dac, other)).toBe(0);
        expect(await attach(sys, dac, cyclic)).toBe(0);
        expect(await setBufferEnabled(sys, 1, true)).toBe(1);
        expect(await enqueue(sys, dac, cyclic, 4096, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const sCyclic = await exportSync(sys, cyclic);
        expect(await attach(sys, adc, late)).toBe(0);
        await removeDevice(sys, sim, 'sim-adc');
        expect(await enqueue(sys, adc, late, 4096)).toBe(0);
        const sLate = await exportSync(sys, late);
        expect(await sys.nanosleep(50 * MS)).toBe(0);
        const at50 = [
          await fenceStatus(sys, sOrphan),
          await fenceStatus(sys, sCyclic),
          await fenceStatus(sys, sLate),
        ];
        expect(await setBufferEnabled(sys, 1, false)).toBe(1);
        const afterDisable = [
          await fenceStatus(sys, sOrphan),
          await fenceStatus(sys, sCyclic),
          await fenceStatus(sys, sLate),
        ];
        return { at50, afterDisable };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ at50: [0, 0, 0], afterDisable: [0, -EINTR, 0] });
  });

  it('IFENCE-7: the attachment lives until its fence has signalled and the cleanup work ran, right after, at the same time', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const atSignal: number[] = [];
        sim.events.on('fence:trace', (e) => {
          if (e.event === 'dma_fence_signaled') atSignal.push(live(sim, 'iio_dmabuf_attachment'), e.time);
        });
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const sync = await exportSync(sys, x);
        expect(await detach(sys, buf, x)).toBe(0);
        const afterDetach = live(sim, 'iio_dmabuf_attachment');
        const t = await waitFence(sys, sync);
        const afterWork = live(sim, 'iio_dmabuf_attachment');
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        return { afterDetach, atSignal: [...atSignal], t, afterWork };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({ afterDetach: 1, atSignal: [1, vtime(T_512)], t: vtime(T_512), afterWork: 0 });
  });

  it('IFENCE-8: an error fence is signalled for poll and SYNC; only the sync_file exported while it was pending shows -EINTR', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await adcBuffer(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 4096)).toBe(0);
        const early = await exportSync(sys, x);
        const pollBefore: PollEntry[] = [{ fd: x, events: POLLIN | POLLOUT }];
        await sys.pollfds(pollBefore, 0);
        expect(await sys.nanosleep(100 * US)).toBe(0);
        expect(await setBufferEnabled(sys, 0, false)).toBe(1);
        const late = await exportSync(sys, x);
        const pollAfter: PollEntry[] = [{ fd: x, events: POLLIN | POLLOUT }];
        const ready = await sys.pollfds(pollAfter, 0);
        const sync = sys.mem.allocStruct(dma_buf_sync, { flags: DMA_BUF_SYNC_RW });
        const syncRet = await sys.ioctl(x, DMA_BUF_IOCTL_SYNC, sync);
        return {
          before: pollBefore[0]!.revents,
          early: await fenceStatus(sys, early),
          late: await fenceStatus(sys, late),
          ready,
          after: pollAfter[0]!.revents,
          syncRet,
          t: sys.now(),
        };
      },
      { platform: 'ideal' },
    );
    expect(value).toEqual({
      before: 0,
      early: -EINTR,
      late: 1,
      ready: 1,
      after: POLLIN | POLLOUT,
      syncRet: 0,
      t: vtime(100 * US),
    });
  });
});
