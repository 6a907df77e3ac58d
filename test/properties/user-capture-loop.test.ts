/**
 * The example of docs/testing.md: property-testing a program's own DMABUF capture loop with
 * `iio-dmabuf-sim/testing`. Whatever the number of DMABUFs, the block size, the board and its cache
 * coherence, the loop must keep the contract (no checker finding), leave nothing behind, and hand every
 * block to its consumer full of consecutive samples.
 */
import fc from 'fast-check';
import { createSimulator, type Sys } from 'iio-dmabuf-sim';
import { ContractChecker, checkQuiescentInvariants } from 'iio-dmabuf-sim/testing';
import { DMA_BUF_SYNC_READ, O_RDWR, POLLIN } from 'iio-dmabuf-sim/uapi';
import { enableChannels, openBuffer, setBufferEnabled } from 'iio-dmabuf-sim/user';
import { allocHeapDmabuf, attachDmabuf, enqueueDmabuf, syncDmabuf } from 'iio-dmabuf-sim/user/dmabuf';
import { expect, test } from 'vitest';

/** The program under test: capture `rounds` × `count` blocks of `size` bytes with `count` DMABUFs. */
async function captureLoop(
  sys: Sys,
  count: number,
  size: number,
  rounds: number,
  consume: (b: Uint8Array) => void,
) {
  const adc = 0;
  if ((await enableChannels(sys, adc, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'])) < 0)
    return -1;
  const buf = await openBuffer(sys, adc);
  if (typeof buf === 'number') return buf;
  const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
  const blocks = [];
  // Every ATTACH first: an ATTACH drops the blocks already queued on a disabled buffer, and their fences
  // never signal (ATT-12). Interleaving attach and enqueue here is the bug this property test finds first.
  for (let i = 0; i < count; i++) {
    const d = await allocHeapDmabuf(sys, heap, size);
    if (typeof d === 'number') return d;
    if ((await attachDmabuf(sys, buf.fd, d.fd)) < 0) return -2;
    blocks.push(d);
  }
  for (const d of blocks) if ((await enqueueDmabuf(sys, 'mainline', buf.fd, d.fd, size)) < 0) return -3;
  await setBufferEnabled(sys, adc, true);
  for (let r = 0; r < rounds; r++)
    for (const d of blocks) {
      // Wait for the block, take it for the CPU, consume it, give it back.
      const entries = [{ fd: d.fd, events: POLLIN }];
      if ((await sys.pollfds(entries, 1000)) !== 1) return -4;
      await syncDmabuf(sys, d.fd, 'start', DMA_BUF_SYNC_READ);
      consume(sys.mem.read(d.addr, size));
      await syncDmabuf(sys, d.fd, 'end', DMA_BUF_SYNC_READ);
      if (r + 1 < rounds && (await enqueueDmabuf(sys, 'mainline', buf.fd, d.fd, size)) < 0) return -5;
    }
  await setBufferEnabled(sys, adc, false);
  for (const d of blocks) {
    await sys.munmap(d.addr, size);
    await sys.close(d.fd);
  }
  await sys.close(heap);
  await sys.close(buf.fd);
  await sys.close(buf.chardev);
  return 0;
}

/** Channel 0 of the default ADC is a 12-bit ramp, channel i the same shifted by 1024 × i. */
function consecutiveRamp(block: Uint8Array): boolean {
  const v = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const first = v.getUint16(0, true) & 0xfff;
  for (let scan = 0; scan < block.length / 8; scan++)
    for (let ch = 0; ch < 4; ch++)
      if ((v.getUint16(scan * 8 + ch * 2, true) & 0xfff) !== (first + scan + 1024 * ch) % 4096) return false;
  return true;
}

test('a DMABUF capture loop keeps the contract on every board, leaks nothing and delivers consecutive samples', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(64, 256, 1024),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom('ideal' as const, 'zcu102' as const, 'pluto' as const),
      fc.boolean(),
      async (count, scans, rounds, base, coherentDma) => {
        const sim = createSimulator({ platform: { base, coherentDma } });
        const checker = new ContractChecker(sim);
        const blocks: Uint8Array[] = [];
        sim.spawn('capture', (sys) => captureLoop(sys, count, scans * 8, rounds, (b) => blocks.push(b)));
        const result = await sim.run();
        checker.finish(result);
        expect(result.processes[0]!.value).toBe(0);
        expect(checker.findings).toEqual([]);
        expect(checkQuiescentInvariants(sim)).toEqual([]);
        expect(blocks).toHaveLength(count * rounds);
        for (const b of blocks) expect(consecutiveRamp(b)).toBe(true);
      },
    ),
    { numRuns: 25 },
  );
});
