import { describe, expect, it } from 'vitest';
import { createSimulator, DMA_BUF_SYNC_RW, O_RDWR } from '../../src/index.ts';
import { memoryContention, PLATFORMS } from '../../src/kernel/platform.ts';
import { allocHeapDmabuf, attachDmabuf, syncDmabuf } from '../../src/user/dmabuf.ts';
import { openBuffer } from '../../src/user/iio.ts';

/** Virtual time of ATTACH, SYNC_START and SYNC_END of a 32 KiB heap DMABUF on sim-adc's buffer. */
async function heapCosts(coherentDma: boolean): Promise<number[]> {
  const sim = createSimulator({ abi: 'mainline', platform: { base: 'zcu102', coherentDma } });
  let times: number[] = [];
  sim.spawn('p', async (sys) => {
    const b = await openBuffer(sys, 0);
    if (typeof b === 'number') throw new Error(`openBuffer ${b}`);
    const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
    const d = await allocHeapDmabuf(sys, heap, 32768);
    if (typeof d === 'number') throw new Error(`alloc ${d}`);
    const t0 = sys.now();
    expect(await attachDmabuf(sys, b.fd, d.fd)).toBe(0);
    const t1 = sys.now();
    expect(await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_RW)).toBe(0);
    const t2 = sys.now();
    expect(await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_RW)).toBe(0);
    times = [t1 - t0, t2 - t1, sys.now() - t2];
    return 0;
  });
  await sim.run();
  return times;
}

describe('platform costs: where the kernel charges them', () => {
  it('zcu102 and pluto are not cache-coherent (PL DMA on Zynq HP ports); laptop and ideal are', () => {
    expect(Object.values(PLATFORMS).map((p) => [p.name, p.coherentDma])).toEqual([
      ['zcu102', false],
      ['pluto', false],
      ['laptop', true],
      ['ideal', true],
    ]);
  });

  it('memory contention: the DRAM left to the CPU, inverted; none without DMA traffic or without a bandwidth', () => {
    const z = PLATFORMS.zcu102;
    expect(memoryContention(z, 0)).toBe(1);
    expect(memoryContention(z, 491_520_000)).toBe(19_200_000_000 / (19_200_000_000 - 491_520_000));
    expect(memoryContention(z, 19_200_000_000)).toBe(20);
    expect(memoryContention(PLATFORMS.ideal, 491_520_000)).toBe(1);
  });

  it('non-coherent zcu102: ATTACH pays the map (8 pages x 50 ns) and a clean of 512 lines, SYNC_START an invalidate, SYNC_END a clean (8 ns a line)', async () => {
    // Syscall 1000 ns + the argument copied in (4 bytes for ATTACH, 8 for SYNC) at 0.67 ns/B, rounded up.
    expect(await heapCosts(false)).toEqual([1003 + 8 * 50 + 512 * 8, 1006 + 512 * 8, 1006 + 512 * 8]);
  });

  it('coherent zcu102: no cache maintenance, the map bookkeeping only', async () => {
    expect(await heapCosts(true)).toEqual([1003 + 8 * 50, 1006, 1006]);
  });
});
