/**
 * industrialio-buffer-dmaengine over a dmaengine controller (rulebook §6.1 DMAQ-6, FILEIO-3): sim-dmaengine,
 * iio:device3, the twin of sim-adc (4 × le:s12/16 ramps at 1 MHz, bpd 8, default length 4096 → two 16384-byte
 * fileio blocks of 2048 scans, 2.048 ms each; the completion IRQ 2 µs after a transfer ends). On the real
 * kernel it is the test module's `extra=dmaengine`: the real industrialio-buffer-dmaengine on a real
 * `struct dma_device` (real/module/sim_dmac.c), so completions take the path of
 * `iio_dmaengine_buffer_block_done()`, with the controller's `struct dmaengine_result`.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../../src/index.ts';
import { EBUSY, EINTR, ENOMEM, IIO_BUFFER_DMABUF_CYCLIC } from '../../../src/uapi/index.ts';
import { enableChannels, openBuffer, readAttr, setBufferEnabled } from '../../../src/user/iio.ts';
import { injectDmaError, runOne, withDmaengine } from '../../helpers.ts';
import {
  adcScans,
  attach,
  enqueue,
  exportSync,
  fenceStatus,
  heapBuf,
  mapBuf,
  rampStart,
  s16,
  waitFence,
} from './dmabuf-helpers.ts';

const DEV = 3;
const NAME = 'sim-dmaengine';
/** sim-dmaengine-dac: 2 × le:s16/16 at 1 MHz on the controller's "tx" channel. */
const DAC_DEV = 4;
const DAC_CHANNELS = ['out_voltage0', 'out_voltage1'];
const US = 1_000;
const CHANNELS = ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'];
const BUF = `/sys/bus/iio/devices/iio:device${DEV}/buffer0`;
const IRQ = 2_000;
const BLOCK_NS = 2_048_000;

async function bufferFd(sys: Sys, dev = DEV, channels = CHANNELS): Promise<number> {
  const ob = await openBuffer(sys, dev);
  if (typeof ob === 'number') throw new Error(`openBuffer(${dev}) failed: ${ob}`);
  expect(await enableChannels(sys, dev, channels)).toBe(0);
  return ob.fd;
}

/** A dma-buf of 4096 bytes holding `scans` DAC scans (any pattern) at offset 0. */
async function dacBuf(sys: Sys, scans: number): Promise<number> {
  const fd = await heapBuf(sys);
  const addr = await mapBuf(sys, fd);
  sys.mem.write(addr, new Uint8Array(scans * 4).fill(0x11));
  return fd;
}

/** Reads `n` bytes; the result and the samples read. */
async function readS16(sys: Sys, fd: number, n: number): Promise<{ ret: number; samples: number[] }> {
  const addr = sys.mem.alloc(n);
  const ret = await sys.read(fd, addr, n);
  return { ret, samples: ret > 0 ? s16(sys.mem.read(addr, ret)) : [] };
}

describe('industrialio-buffer-dmaengine on a dmaengine controller (sim-dmaengine)', () => {
  it('FILEIO-3: a fileio capture: name, length_align_bytes 8 (the bus width), a whole block of the ramp', async () => {
    const { value } = await runOne(
      async (sys) => {
        const name = await readAttr(sys, `/sys/bus/iio/devices/iio:device${DEV}/name`);
        const align = await readAttr(sys, `${BUF}/length_align_bytes`);
        const fd = await bufferFd(sys);
        expect(await setBufferEnabled(sys, DEV, true)).toBe(1);
        expect(await sys.nanosleep(BLOCK_NS + IRQ)).toBe(0);
        const avail = await readAttr(sys, `${BUF}/data_available`);
        const r = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, DEV, false)).toBe(1);
        return { name, align, avail, ret: r.ret, first: rampStart(r.samples) };
      },
      withDmaengine({ platform: 'ideal' }),
    );
    expect(value).toEqual({ name: `${NAME}\n`, align: '8\n', avail: '16384\n', ret: 16384, first: 0 });
  });

  it('ENQ-22: a DMABUF capture through the controller (prep_peripheral_dma_vec): fence status 1, bytes_used bytes of the ramp from offset 0, the rest untouched', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await bufferFd(sys);
        const x = await heapBuf(sys);
        const addr = await mapBuf(sys, x);
        sys.mem.write(addr, new Uint8Array(4096).fill(0x55));
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, DEV, true)).toBe(1);
        expect(await enqueue(sys, buf, x, 1024)).toBe(0);
        const sync = await exportSync(sys, x);
        await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        const bytes = sys.mem.read(addr, 4096);
        expect(await setBufferEnabled(sys, DEV, false)).toBe(1);
        return {
          status,
          rampAt: rampStart(s16(bytes.subarray(0, 1024))) >= 0,
          tail: bytes.subarray(1024).every((b) => b === 0x55),
        };
      },
      withDmaengine({ platform: 'ideal' }),
    );
    expect(value).toEqual({ status: 1, rampAt: true, tail: true });
  });

  it('ENQ-21 / IFENCE-4: no descriptor for a length that is not a multiple of the bus width (12): the QUEUED block fails at the enable with -ENOMEM', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await bufferFd(sys);
        const x = await heapBuf(sys);
        expect(await attach(sys, buf, x)).toBe(0);
        const ret = await enqueue(sys, buf, x, 12);
        const sync = await exportSync(sys, x);
        const before = await fenceStatus(sys, sync);
        const enable = await setBufferEnabled(sys, DEV, true);
        const after = await fenceStatus(sys, sync);
        expect(await setBufferEnabled(sys, DEV, false)).toBe(1);
        return { ret, before, enable, after };
      },
      withDmaengine({ platform: 'ideal' }),
    );
    expect(value).toEqual({ ret: 0, before: 0, enable: 1, after: -ENOMEM });
  });

  it('DMAQ-6: a failed transfer completes: bytes_used -= residue, read gives the moved bytes, no error', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        await injectDmaError(sys, sim, 16, NAME);
        const fd = await bufferFd(sys);
        expect(await setBufferEnabled(sys, DEV, true)).toBe(1);
        expect(await sys.nanosleep(BLOCK_NS + IRQ)).toBe(0);
        const avail = await readAttr(sys, `${BUF}/data_available`);
        const r = await readS16(sys, fd, 16384);
        expect(await setBufferEnabled(sys, DEV, false)).toBe(1);
        return { avail, ret: r.ret, ok: r.samples.join() === adcScans(0, 2046).join() };
      },
      withDmaengine({ platform: 'ideal' }),
    );
    // data_available counts the block's size (FILEIO-5); read stops at its bytes_used.
    expect(value).toEqual({ avail: '16384\n', ret: 16368, ok: true });
  });

  it('DMAQ-6 / ENQ-22: a DMABUF transfer that fails: the fence signals 0 (status 1), only the moved bytes land, the block is DONE', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const buf = await bufferFd(sys);
        const x = await heapBuf(sys);
        const addr = await mapBuf(sys, x);
        sys.mem.write(addr, new Uint8Array(4096).fill(0x55));
        expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, DEV, true)).toBe(1);
        await injectDmaError(sys, sim, 256, NAME);
        expect(await enqueue(sys, buf, x, 1024)).toBe(0);
        const sync = await exportSync(sys, x);
        await waitFence(sys, sync);
        const status = await fenceStatus(sys, sync);
        const bytes = sys.mem.read(addr, 4096);
        // DONE: accepted again.
        const again = await enqueue(sys, buf, x, 4096);
        expect(await setBufferEnabled(sys, DEV, false)).toBe(1);
        const head = s16(bytes.subarray(0, 768));
        return {
          status,
          rampAt: rampStart(head) >= 0,
          tail: bytes.subarray(768).every((b) => b === 0x55),
          again,
        };
      },
      withDmaengine({ platform: 'ideal' }),
    );
    expect(value).toEqual({ status: 1, rampAt: true, tail: true, again: 0 });
  });

  it('CYC-4 / CYC-5 / CYC-2 on the tx channel (repeated descriptors): a block after a cyclic one ends it at a pass and completes (fence 0); the cyclic block stays active: re-ENQUEUE -EBUSY, a new cyclic ENQUEUE is still 0 (refused in submit); disable: -EINTR', async () => {
    const { value } = await runOne(
      async (sys) => {
        const buf = await bufferFd(sys, DAC_DEV, DAC_CHANNELS);
        const align = await readAttr(
          sys,
          `/sys/bus/iio/devices/iio:device${DAC_DEV}/buffer0/length_align_bytes`,
        );
        const a = await dacBuf(sys, 256);
        const b = await dacBuf(sys, 512);
        const c = await dacBuf(sys, 256);
        for (const x of [a, b, c]) expect(await attach(sys, buf, x)).toBe(0);
        expect(await setBufferEnabled(sys, DAC_DEV, true)).toBe(1);
        expect(await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
        const sa = await exportSync(sys, a);
        expect(await sys.nanosleep(1000 * US)).toBe(0);
        expect(await enqueue(sys, buf, b, 2048)).toBe(0);
        const sb = await exportSync(sys, b);
        await waitFence(sys, sb);
        const statusB = await fenceStatus(sys, sb);
        const reA = await enqueue(sys, buf, a, 1024, IIO_BUFFER_DMABUF_CYCLIC);
        const cyclicC = await enqueue(sys, buf, c, 1024, IIO_BUFFER_DMABUF_CYCLIC);
        const statusA = await fenceStatus(sys, sa);
        expect(await setBufferEnabled(sys, DAC_DEV, false)).toBe(1);
        return { align, statusB, reA, cyclicC, statusA, afterDisable: await fenceStatus(sys, sa) };
      },
      withDmaengine({ platform: 'ideal' }),
    );
    expect(value).toEqual({
      align: '4\n',
      statusB: 1,
      reA: -EBUSY,
      cyclicC: 0,
      statusA: 0,
      afterDisable: -EINTR,
    });
  });
});
