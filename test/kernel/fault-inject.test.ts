/**
 * The fault-injection facility (src/kernel/fault-inject.ts) on its own: arming, the "next N hits" and "hit
 * number K" counts, the errno, the log line, disarming, and the refusal of a JavaScript caller's mistakes. The
 * rules it makes testable (ATT-6, ATT-9, ATT-11, ENQ-8, ENQ-15, V2-ENQ-13) are tested next to their ioctls.
 */
import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import type { KernelEvents } from '../../src/kernel/events.ts';
import { FAULT_SITES, FaultInjector, type FaultSite } from '../../src/kernel/fault-inject.ts';
import { Tracepoints } from '../../src/kernel/tracepoints.ts';
import { EIO, ENOMEM } from '../../src/uapi/errno.ts';
import { ORACLE, testSimulator } from '../helpers.ts';

/** A fresh injector and the kernel log lines it writes. */
function injector(): { faults: FaultInjector; log: string[] } {
  const bus = new EventEmitter<KernelEvents>();
  const log: string[] = [];
  bus.on('kernel:log', (e) => log.push(`${e.level} ${e.device}: ${e.message} @${e.time}`));
  return { faults: new FaultInjector(new Tracepoints(bus, () => 7)), log };
}

/** The results of `n` hits of `site`. */
function hits(faults: FaultInjector, site: FaultSite, n: number): number[] {
  return Array.from({ length: n }, () => (faults.armed ? faults.hit(site) : 0));
}

describe('fault injection: arming and counting', () => {
  it.skipIf(ORACLE)('nothing is armed in a new kernel', () => {
    const sim = testSimulator();
    expect(sim.kernel.faults.armed).toBe(false);
    for (const site of Object.keys(FAULT_SITES) as FaultSite[])
      expect(sim.kernel.faults.stats(site)).toBe(null);
  });

  it('the default arming fails the next hit only, with -ENOMEM, and logs it; then the site is disarmed', () => {
    const { faults, log } = injector();
    faults.arm({ site: 'dma_buf_attach' });
    expect(faults.armed).toBe(true);
    expect(hits(faults, 'dma_buf_attach', 3)).toEqual([-ENOMEM, 0, 0]);
    expect(faults.armed).toBe(false);
    expect(faults.stats('dma_buf_attach')).toEqual({ hits: 1, failed: 1, armed: false });
    expect(log).toEqual([
      'warn fault-inject: FAULT_INJECTION: forcing a failure at dma_buf_attach (hit 1) @7',
    ]);
  });

  it('"fail the next N hits" (times) and "fail hit number K" (nth), together: hits nth .. nth + times - 1 fail', () => {
    const { faults } = injector();
    faults.arm({ site: 'iio_dma_fence_alloc', times: 2 });
    expect(hits(faults, 'iio_dma_fence_alloc', 4)).toEqual([-ENOMEM, -ENOMEM, 0, 0]);
    faults.arm({ site: 'iio_dma_fence_alloc', nth: 3 });
    expect(hits(faults, 'iio_dma_fence_alloc', 5)).toEqual([0, 0, -ENOMEM, 0, 0]);
    faults.arm({ site: 'iio_dma_fence_alloc', nth: 2, times: 3 });
    expect(hits(faults, 'iio_dma_fence_alloc', 6)).toEqual([0, -ENOMEM, -ENOMEM, -ENOMEM, 0, 0]);
    expect(faults.stats('iio_dma_fence_alloc')).toEqual({ hits: 4, failed: 3, armed: false });
  });

  it('sites count apart: hits of one site do not advance another; armed stays true while any site has failures left', () => {
    const { faults } = injector();
    faults.arm({ site: 'dma_buf_attach', nth: 2 });
    faults.arm({ site: 'dma_resv_reserve_fences' });
    expect(faults.hit('dma_buf_map_attachment')).toBe(0);
    expect(faults.hit('dma_resv_reserve_fences')).toBe(-ENOMEM);
    expect(faults.armed).toBe(true);
    expect(hits(faults, 'dma_buf_attach', 2)).toEqual([0, -ENOMEM]);
    expect(faults.armed).toBe(false);
  });

  it('an operation site fails with the chosen errno; re-arming replaces the earlier arming; disarm() ends it', () => {
    const { faults } = injector();
    faults.arm({ site: 'dma_buf_map_attachment', errno: EIO, times: 5 });
    expect(faults.hit('dma_buf_map_attachment')).toBe(-EIO);
    faults.arm({ site: 'dma_buf_map_attachment', nth: 2 });
    expect(hits(faults, 'dma_buf_map_attachment', 2)).toEqual([0, -ENOMEM]);
    faults.arm({ site: 'dma_buf_map_attachment', times: 5 });
    faults.disarm('dma_buf_map_attachment');
    expect(faults.armed).toBe(false);
    expect(faults.stats('dma_buf_map_attachment')).toBe(null);
    faults.arm({ site: 'dma_buf_attach' });
    faults.arm({ site: 'iio_dma_buffer_alloc_block' });
    faults.disarm();
    expect(faults.armed).toBe(false);
  });

  it("a JavaScript caller's mistake throws as Node's fs does: unknown site, non-number or out-of-range counts, another errno on an allocation", () => {
    const { faults } = injector();
    const code = (spec: unknown): string | undefined => {
      try {
        faults.arm(spec as never);
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };
    expect(code({ site: 'kmalloc' })).toBe('ERR_INVALID_ARG_TYPE');
    expect(code({ site: 'toString' })).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(null)).toBe('ERR_INVALID_ARG_TYPE');
    expect(code({ site: 'dma_buf_attach', nth: '2' })).toBe('ERR_INVALID_ARG_TYPE');
    expect(code({ site: 'dma_buf_attach', nth: 0 })).toBe('ERR_OUT_OF_RANGE');
    expect(code({ site: 'dma_buf_attach', times: 1.5 })).toBe('ERR_OUT_OF_RANGE');
    expect(code({ site: 'dma_buf_attach', times: Number.NaN })).toBe('ERR_OUT_OF_RANGE');
    expect(code({ site: 'dma_buf_attach', errno: -ENOMEM })).toBe('ERR_OUT_OF_RANGE');
    expect(code({ site: 'dma_buf_attach', errno: 4096 })).toBe('ERR_OUT_OF_RANGE');
    expect(code({ site: 'iio_dma_buffer_alloc_block', errno: EIO })).toBe('ERR_OUT_OF_RANGE');
    expect(code({ site: 'iio_dma_buffer_alloc_block', errno: ENOMEM })).toBe(undefined);
    expect(faults.armed).toBe(true);
  });

  it('every site names the rules its failure shows', () => {
    expect(
      Object.fromEntries(Object.entries(FAULT_SITES).map(([k, v]) => [k, [v.kind, ...v.rules]])),
    ).toEqual({
      dma_buf_attach: ['op', 'ATT-6'],
      dma_buf_map_attachment: ['op', 'ATT-9'],
      iio_dma_buffer_alloc_block: ['alloc', 'ATT-11'],
      iio_dma_fence_alloc: ['alloc', 'ENQ-8', 'V2-ENQ-13'],
      dma_resv_reserve_fences: ['alloc', 'ENQ-15'],
    });
  });
});
