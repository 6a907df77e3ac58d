import { describe, expect, it } from 'vitest';
import {
  type DeviceConfig,
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_WRITE,
  dma_buf_export_sync_file,
  IIO_BUFFER_DMABUF_CYCLIC,
  O_RDWR,
  POLLOUT,
  type PollEntry,
  SYNC_IOC_FILE_INFO,
  type Sys,
  sync_file_info,
} from '../../src/index.ts';
import { recordTrace } from '../../src/trace/recorder.ts';
import {
  allocHeapDmabuf,
  allocIioDmabufV2,
  attachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
} from '../../src/user/dmabuf.ts';
import { enableChannels, openBuffer, setBufferEnabled } from '../../src/user/iio.ts';
import { testSimulator } from '../helpers.ts';

/** A 16-bit ADC wired to the DAC's outputs, so a test can play a waveform and capture it back. */
const LOOPBACK: DeviceConfig[] = [
  {
    kind: 'adc',
    name: 'loop-adc',
    sampleRateHz: 1_000_000,
    loopbackFrom: 'sim-dac',
    channels: [
      { id: 'voltage0', type: 'le:s16/16>>0' },
      { id: 'voltage1', type: 'le:s16/16>>0' },
    ],
  },
  {
    kind: 'dac',
    name: 'sim-dac',
    sampleRateHz: 1_000_000,
    channels: [0, 1].map((i) => ({ id: `voltage${i}`, type: 'le:s16/16>>0' })),
  },
];

const PERIOD = 1000;
const wave = (k: number): [number, number] => [k * 7 - 3500, 1000 - 2 * k];

/** Plays one period cyclically on the DAC (iio:device1) through a DMABUF, in the simulator's profile. */
async function playCyclic(sys: Sys, abi: 'mainline' | 'v2'): Promise<void> {
  const bytes = PERIOD * 4;
  expect(await enableChannels(sys, 1, ['out_voltage0', 'out_voltage1'])).toBe(0);
  const b = await openBuffer(sys, 1);
  if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
  const d =
    abi === 'v2'
      ? await allocIioDmabufV2(sys, b.fd, bytes)
      : await allocHeapDmabuf(sys, await sys.open('/dev/dma_heap/system', O_RDWR), bytes);
  if (typeof d === 'number') throw new Error(`alloc ${d}`);
  expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_WRITE)).toBe(0);
  const data = new Uint8Array(bytes);
  const dv = new DataView(data.buffer);
  for (let k = 0; k < PERIOD; k++) {
    const [a, c] = wave(k);
    dv.setInt16(4 * k, a, true);
    dv.setInt16(4 * k + 2, c, true);
  }
  sys.mem.write(d.addr, data);
  expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_WRITE)).toBe(0);
  if (abi === 'mainline') expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
  expect(await setBufferEnabled(sys, 1, true)).toBe(1);
  expect(await enqueueDmabuf(sys, abi, b.fd, d.fd, bytes, IIO_BUFFER_DMABUF_CYCLIC)).toBe(0);
}

describe.each(['mainline', 'v2'] as const)(
  'cyclic DAC output read back through loopback, profile %s',
  (abi) => {
    it('the captured samples are exactly the cyclic waveform, period after period, with no gap', async () => {
      const sim = testSimulator({ abi, devices: LOOPBACK });
      let captured: [number, number][] = [];
      sim.spawn('player-and-capture', async (sys) => {
        await playCyclic(sys, abi);
        expect(await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1'])).toBe(0);
        const adc = await openBuffer(sys, 0);
        if (typeof adc === 'number') throw new Error(`openBuffer ${adc}`);
        expect(await setBufferEnabled(sys, 0, true)).toBe(1);
        const buf = sys.mem.alloc(8192);
        const out: [number, number][] = [];
        for (let i = 0; i < 20; i++) {
          const n = await sys.read(adc.fd, buf, 8192);
          expect(n).toBe(8192);
          const dv = new DataView(sys.mem.read(buf, n).buffer);
          for (let off = 0; off < n; off += 4) out.push([dv.getInt16(off, true), dv.getInt16(off + 2, true)]);
        }
        captured = out;
        return 0;
      });
      const r = await sim.run();
      expect(r.processes[0]!.status, r.processes[0]!.reason).toBe('exited');
      expect(captured.length).toBe(20 * 2048);
      // The first captured scan fixes the phase; every later scan must follow the waveform exactly.
      const phase = (captured[0]![0] + 3500) / 7;
      expect(Number.isInteger(phase) && phase >= 0 && phase < PERIOD).toBe(true);
      const mismatches = captured.filter((s, j) => {
        const [a, c] = wave((phase + j) % PERIOD);
        return s[0] !== a || s[1] !== c;
      }).length;
      expect(mismatches).toBe(0);
      expect(r.stats.devices['loop-adc']!.scansLost).toBe(0);
    });
  },
);

describe('a DMA transfer error', () => {
  it('DMAQ-6: the fence of the failed block still signals without error, the trace shows the hidden error, and the next blocks flow', async () => {
    const sim = testSimulator();
    const rec = recordTrace(sim.events, sim.abi);
    const statuses: number[] = [];
    const firsts: number[] = [];
    sim.spawn('capture', async (sys) => {
      expect(await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'])).toBe(
        0,
      );
      const b = await openBuffer(sys, 0);
      if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const bufs = [];
      for (let i = 0; i < 3; i++) {
        const d = await allocHeapDmabuf(sys, heap, 16384);
        if (typeof d === 'number') throw new Error(`alloc ${d}`);
        expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
        bufs.push(d);
      }
      expect(await setBufferEnabled(sys, 0, true)).toBe(1);
      // The second transfer fails in the controller.
      sim.at(sys.now() + 3_000_000, 'inject', () => sim.device('sim-adc').dma!.injectError(0));
      const syncFiles: number[] = [];
      for (const d of bufs) {
        expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, 16384)).toBe(0);
        const req = sys.mem.allocStruct(dma_buf_export_sync_file, { flags: DMA_BUF_SYNC_RW });
        expect(await sys.ioctl(d.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, req)).toBe(0);
        syncFiles.push(sys.mem.readStruct(req, dma_buf_export_sync_file).fd);
      }
      for (const [i, d] of bufs.entries()) {
        const fds: PollEntry[] = [{ fd: d.fd, events: POLLOUT }];
        expect(await sys.pollfds(fds, -1)).toBe(1);
        expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
        firsts.push(new DataView(sys.mem.read(d.addr, 2).buffer).getInt16(0, true));
        const info = sys.mem.allocStruct(sync_file_info, {});
        expect(await sys.ioctl(syncFiles[i]!, SYNC_IOC_FILE_INFO, info)).toBe(0);
        statuses.push(sys.mem.readStruct(info, sync_file_info).status);
      }
      return 0;
    });
    const r = await sim.run();
    expect(r.processes[0]!.status, r.processes[0]!.reason).toBe('exited');
    expect(statuses).toEqual([1, 1, 1]);
    expect(sim.device('sim-adc').dma!.stats.errors).toBe(1);
    expect(rec.lines.some((l) => l.includes('FAILED (residue 0)'))).toBe(true);
    expect(rec.lines.some((l) => l.includes('ignores it (DMAQ-6)'))).toBe(true);
    // Consecutive 2048-scan blocks: the ramp continues across the failed one.
    const n0 = firsts[0]! + 2048;
    expect(firsts).toEqual([0, 1, 2].map((i) => ((n0 + 2048 * i) % 4096) - 2048));
    expect(r.stats.devices['sim-adc']!.scansLost).toBe(n0);
  });
});
