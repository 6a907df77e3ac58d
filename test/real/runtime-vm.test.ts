/**
 * The real-kernel runtime against Debian's Linux 7.3 in QEMU (TCG): the simulator's programs, unchanged, on
 * the real dma-heap, dma-buf and IIO (the sim_iio module), as 64-bit and as compat (i386) processes.
 * Needs the setup (`iio-sim kernel setup`); skipped otherwise. `IIO_SIM_INITRAMFS` boots another initramfs
 * (e.g. one with a freshly built executor).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type DeviceConfig, type PollEntry, type Sys } from '../../src/index.ts';
import { createRealKernel, type RealRunResult, type RealSpawnOptions } from '../../src/real/runtime.ts';
import { checkSetup } from '../../src/real/setup.ts';
import { bootVm, type Vm } from '../../src/real/vm.ts';
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_HEAP_IOCTL_ALLOC,
  dma_heap_allocation_data,
  EINVAL,
  ESPIPE,
  F_GETFL,
  MAP_SHARED,
  O_RDWR,
  PAGE_SIZE,
  POLLOUT,
  PROT_READ,
  PROT_WRITE,
} from '../../src/uapi/index.ts';
import {
  allocHeapDmabuf,
  attachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
  type UserDmabuf,
} from '../../src/user/dmabuf.ts';
import { enableChannels, openBuffer, readAttr, setBufferEnabled } from '../../src/user/iio.ts';

const ready = checkSetup().ready;
const RW = PROT_READ | PROT_WRITE;
const S = 1e9;

describe.skipIf(!ready)('real runtime in the 7.3 VM', () => {
  let vm: Vm;

  beforeAll(async () => {
    const initramfs = process.env.IIO_SIM_INITRAMFS;
    vm = await bootVm(initramfs ? { initramfs } : {});
    vm.socket.on('error', () => {});
  }, 180_000);

  afterAll(async () => {
    await vm?.close();
  });

  type Body = (sys: Sys) => Promise<unknown>;

  async function realRun(
    procs: [string, Body, RealSpawnOptions?][],
    opts: { module?: boolean; devices?: DeviceConfig[]; untilNs?: number } = {},
  ): Promise<RealRunResult> {
    const k = await createRealKernel({
      channel: vm.socket,
      ...(opts.module === false ? { module: false as const } : {}),
      ...(opts.devices ? { devices: opts.devices } : {}),
    });
    for (const [name, body, spawn] of procs) k.spawn(name, body, { stdio: false, ...spawn });
    try {
      return await k.run({ untilNs: opts.untilNs ?? 120 * S });
    } finally {
      await k.close();
    }
  }

  /** The value of `body` on the simulator and in the VM, for a 64-bit and a compat process. */
  async function sameAsSimulator(body: Body): Promise<unknown[]> {
    const values: unknown[] = [];
    for (const compat of [false, true]) {
      const sim = createSimulator({ platform: 'ideal' });
      sim.spawn('test', body, { stdio: false, compat });
      const s = (await sim.run()).processes[0]!;
      expect(s.status, s.reason).toBe('exited');
      const r = (await realRun([['test', body, { compat }]], { module: false })).processes[0]!;
      expect(r.status, r.reason).toBe('exited');
      expect(r.value, compat ? 'compat' : '64-bit').toEqual(s.value);
      values.push(r.value);
    }
    return values;
  }

  it('the executor answers from the 7.3 kernel; a getpid round trip is measured', async () => {
    const k = await createRealKernel({ channel: vm.socket, module: false });
    expect(k.hello).toMatchObject({ version: 3, release: '7.3-amd64', machine: 'x86_64', executor32: true });
    const pings: number[] = [];
    for (let i = 0; i < 20; i++) pings.push(await k.ping());
    for (const compat of [false, true])
      k.spawn(
        compat ? 'lat32' : 'lat64',
        async (sys) => {
          for (let i = 0; i < 100; i++) await sys.getpid();
          return sys.getpid();
        },
        { compat },
      );
    const r = await k.run({ untilNs: 60 * S });
    await k.close();
    expect(r.processes.map((p) => [p.status, p.value])).toEqual([
      ['exited', 100],
      ['exited', 101],
    ]);
    pings.sort((a, b) => a - b);
    console.info(
      `VM: ping ${(pings[10]! / 1e3).toFixed(0)} µs, syscall round trip ${(r.stats.meanCallNs / 1e3).toFixed(0)} µs (in the syscall ${(r.stats.meanGuestNs / 1e3).toFixed(0)} µs, memory ${(r.stats.meanSyncNs / 1e3).toFixed(0)} µs), two processes at once`,
    );
  }, 120_000);

  it('dma-heap: ALLOC, mmap, DMA_BUF_IOCTL_SYNC and their -EINVAL cases give the simulator’s values, 64-bit and compat', async () => {
    const values = await sameAsSimulator(async (sys) => {
      const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
      const req = sys.mem.allocStruct(dma_heap_allocation_data, { len: 2 * PAGE_SIZE, fd_flags: O_RDWR });
      const alloc = await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req);
      const fd = sys.mem.readStruct(req, dma_heap_allocation_data).fd;
      const zero = sys.mem.allocStruct(dma_heap_allocation_data, { len: 0, fd_flags: O_RDWR });
      const a = await sys.mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, fd, 0);
      const sync = sys.mem.alloc(8);
      const syncWith = async (flags: number) => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt(flags), true);
        sys.mem.write(sync, b);
        return sys.ioctl(fd, DMA_BUF_IOCTL_SYNC, sync);
      };
      const start = await syncWith(DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
      const v = sys.mem.view(a, 2 * PAGE_SIZE);
      for (let i = 0; i < v.length; i++) v[i] = (i * 7) & 0xff;
      const end = await syncWith(DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
      const b = await sys.mmap(0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      const back = sys.mem.read(b + PAGE_SIZE, 8);
      return {
        heap,
        alloc,
        fd,
        flags: await sys.fcntl(fd, F_GETFL),
        zeroLen: await sys.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, zero),
        mapped: a > 0 && b > 0,
        start,
        end,
        badFlags: await syncWith(0xff),
        noDirection: await syncWith(DMA_BUF_SYNC_START),
        back: Array.from(back),
        pread: await sys.pread(fd, sync, 8, 0),
        unmap: [await sys.munmap(a, 2 * PAGE_SIZE), await sys.munmap(b, 2 * PAGE_SIZE)],
      };
    });
    expect(values[0]).toMatchObject({ alloc: 0, start: 0, end: 0, badFlags: -EINVAL, zeroLen: -EINVAL });
    expect(values[0]).toMatchObject({ pread: -ESPIPE, back: [0, 7, 14, 21, 28, 35, 42, 49] });
  }, 180_000);

  /** A libiio-style DMABUF capture from sim-adc (the e2e test's loop): scans checked against the ramp. */
  async function capture(sys: Sys, blocks: number) {
    const BLOCK = 16384;
    const ramp = (n: number, c: number) => ((n + 1024 * c) % 4096) - 2048;
    expect(await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'])).toBe(
      0,
    );
    const b = await openBuffer(sys, 0);
    if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
    const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
    const bufs: UserDmabuf[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await allocHeapDmabuf(sys, heap, BLOCK);
      if (typeof d === 'number') throw new Error(`alloc ${d}`);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
      bufs.push(d);
    }
    expect(await setBufferEnabled(sys, 0, true)).toBe(1);
    for (const d of bufs) {
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
    }
    let bad = 0;
    for (let n = 0; n < blocks; n++) {
      const d = bufs[n % bufs.length]!;
      const fds: PollEntry[] = [{ fd: d.fd, events: POLLOUT }];
      expect(await sys.pollfds(fds, 5000)).toBe(1);
      expect(fds[0]!.revents).toBe(POLLOUT);
      expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ)).toBe(0);
      const v = sys.mem.view(d.addr, BLOCK);
      const dv = new DataView(v.buffer, v.byteOffset, BLOCK);
      const first = dv.getInt16(0, true) + 2048;
      // Scans lost between blocks depend on real time; inside a block the ramp is exact.
      for (let off = 0, s = 0; off < BLOCK; off += 8, s++)
        for (let c = 0; c < 4; c++) if (dv.getInt16(off + 2 * c, true) !== ramp(first + s, c)) bad++;
      expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ)).toBe(0);
      expect(await enqueueDmabuf(sys, 'mainline', b.fd, d.fd, BLOCK)).toBe(0);
    }
    expect(await setBufferEnabled(sys, 0, false)).toBe(1);
    return { blocks, bad };
  }

  it('IIO: a DMABUF capture from sim-adc through the real industrialio-buffer-dma, 64-bit then compat: every block is the ramp', async () => {
    for (const compat of [false, true]) {
      const r = await realRun([['capture', (sys) => capture(sys, 12), { compat }]]);
      const p = r.processes[0]!;
      if (p.status === 'crashed') throw p.error ?? new Error(p.reason);
      expect(p.status, p.reason).toBe('exited');
      expect(p.value).toEqual({ blocks: 12, bad: 0 });
    }
  }, 300_000);

  it('every kernel starts from a fresh module load with its own board: iio:device0 is whatever devices says', async () => {
    const board: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'oracle adc',
        sampleRateHz: 1000,
        channels: [{ id: 'voltage0', type: 'le:u8/8>>0' }],
      },
    ];
    const name = async (sys: Sys) => [
      await readAttr(sys, '/sys/bus/iio/devices/iio:device0/name'),
      await readAttr(sys, '/sys/bus/iio/devices/iio:device1/name'),
    ];
    const custom = await realRun([['names', name]], { devices: board });
    const fresh = await realRun([['names', name]]);
    expect(custom.processes[0]!.value).toEqual(['oracle adc\n', -2]);
    expect(fresh.processes[0]!.value).toEqual(['sim-adc\n', 'sim-dac\n']);
  }, 180_000);
});
