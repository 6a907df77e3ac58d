import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulDivCeil, mulDivFloor, scansBy, scansDuration, scanTime } from '../../src/hw/timing.ts';

const MAX = Number.MAX_SAFE_INTEGER;

function floorBig(a: number, b: number, c: number): number {
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

function ceilBig(a: number, b: number, c: number): number {
  const q = BigInt(a) * BigInt(b);
  const cc = BigInt(c);
  return Number((q + cc - 1n) / cc);
}

describe('mulDivFloor / mulDivCeil', () => {
  it('small exact cases', () => {
    expect(mulDivFloor(7, 3, 2)).toBe(10);
    expect(mulDivCeil(7, 3, 2)).toBe(11);
    expect(mulDivFloor(6, 3, 2)).toBe(9);
    expect(mulDivCeil(6, 3, 2)).toBe(9);
    expect(mulDivFloor(0, 123, 7)).toBe(0);
    expect(mulDivCeil(0, 123, 7)).toBe(0);
    expect(mulDivFloor(1, 1_000_000_000, 3)).toBe(333_333_333);
    expect(mulDivCeil(1, 1_000_000_000, 3)).toBe(333_333_334);
  });

  it('exact when the product exceeds 2^53', () => {
    // (2^53 - 1) * 3 / 3 loses the low bit in doubles; exact integer arithmetic does not.
    expect(mulDivFloor(MAX, 3, 3)).toBe(MAX);
    expect(mulDivCeil(MAX, 3, 3)).toBe(MAX);
    expect(mulDivFloor(MAX, 1_000_000_000, 1_000_000_000)).toBe(MAX);
    expect(mulDivFloor(2 ** 40 + 1, 1_000_000_000, 999_999_937)).toBe(
      floorBig(2 ** 40 + 1, 1e9, 999_999_937),
    );
    expect(mulDivCeil(2 ** 40 + 1, 1_000_000_000, 999_999_937)).toBe(ceilBig(2 ** 40 + 1, 1e9, 999_999_937));
  });

  it('exact just below 2^53, where floating division could round across an integer', () => {
    const c = 94_906_267; // about sqrt(2^53)
    const q = Math.floor(MAX / c);
    // a * b = c * q - 1 and c * q + 1 for a = 1.
    expect(mulDivFloor(c * q - 1, 1, c)).toBe(q - 1);
    expect(mulDivCeil(c * q + 1, 1, c)).toBe(q + 1);
    expect(mulDivFloor(MAX, 1, 2)).toBe((MAX - 1) / 2);
    expect(mulDivCeil(MAX, 1, 2)).toBe((MAX + 1) / 2);
  });

  it('property: equal to BigInt floor and ceil for any safe operands', () => {
    const safe = fc.oneof(
      fc.integer({ min: 0, max: 1 << 30 }),
      fc.integer({ min: 0, max: MAX }),
      fc.integer({ min: MAX - 1000, max: MAX }),
    );
    fc.assert(
      fc.property(
        safe,
        safe,
        fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: MAX })),
        (a, b, c) => {
          expect(mulDivFloor(a, b, c)).toBe(floorBig(a, b, c));
          expect(mulDivCeil(a, b, c)).toBe(ceilBig(a, b, c));
        },
      ),
    );
  });
});

describe('scanTime', () => {
  it('scan k of a run at rate R starting at t0 is converted at t0 + floor((k + 1) * 1e9 / R)', () => {
    expect(scanTime({ t0: 0, rate: 1_000_000 }, 0)).toBe(1000);
    expect(scanTime({ t0: 0, rate: 1_000_000 }, 9)).toBe(10_000);
    expect(scanTime({ t0: 5000, rate: 300_000 }, 9)).toBe(5000 + 33_333);
    expect(scanTime({ t0: 0, rate: 3 }, 0)).toBe(333_333_333);
    expect(scanTime({ t0: 0, rate: 3 }, 1)).toBe(666_666_666);
    expect(scanTime({ t0: 0, rate: 3 }, 2)).toBe(1_000_000_000);
    expect(scanTime({ t0: 7, rate: 1_000_000_000 }, 0)).toBe(8);
  });

  it('exact for indices whose product with 1e9 exceeds 2^53', () => {
    const k = 2 ** 45;
    expect(scanTime({ t0: 11, rate: 7 }, k)).toBe(11 + floorBig(k + 1, 1e9, 7));
    expect(scanTime({ t0: 0, rate: 1_000_000_000 }, k)).toBe(k + 1);
  });
});

describe('scansBy', () => {
  it('counts the scans with scanTime(k) <= t', () => {
    const clk = { t0: 1000, rate: 1_000_000 };
    expect(scansBy(clk, 0)).toBe(0);
    expect(scansBy(clk, 999)).toBe(0);
    expect(scansBy(clk, 1000)).toBe(0);
    expect(scansBy(clk, 1999)).toBe(0);
    expect(scansBy(clk, 2000)).toBe(1);
    expect(scansBy(clk, 2001)).toBe(1);
    expect(scansBy(clk, 11_000)).toBe(10);
    expect(scansBy(clk, 10_999)).toBe(9);
  });

  it('rate that does not divide 1e9', () => {
    const clk = { t0: 0, rate: 3 };
    expect(scansBy(clk, 333_333_332)).toBe(0);
    expect(scansBy(clk, 333_333_333)).toBe(1);
    expect(scansBy(clk, 666_666_665)).toBe(1);
    expect(scansBy(clk, 666_666_666)).toBe(2);
    expect(scansBy(clk, 1_000_000_000)).toBe(3);
  });

  it('property: inverse of scanTime (scansBy(scanTime(k)) = k + 1, scansBy(scanTime(k) - 1) = k)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 2 ** 40 })),
        (t0, rate, k) => {
          // Stay where times are safe integers.
          fc.pre(BigInt(t0) + (BigInt(k + 1) * 1_000_000_000n) / BigInt(rate) <= BigInt(MAX));
          const clk = { t0, rate };
          const t = scanTime(clk, k);
          expect(t).toBe(t0 + floorBig(k + 1, 1e9, rate));
          expect(scansBy(clk, t)).toBe(k + 1);
          expect(scansBy(clk, t - 1)).toBe(k);
        },
      ),
    );
  });

  it('property: monotone in t and never negative', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 100_000_000 }),
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (t0, rate, t, dt) => {
          const clk = { t0, rate };
          const a = scansBy(clk, t);
          const b = scansBy(clk, t + dt);
          expect(a).toBeGreaterThanOrEqual(0);
          expect(b).toBeGreaterThanOrEqual(a);
          if (a > 0) expect(scanTime(clk, a - 1)).toBeLessThanOrEqual(t);
          expect(scanTime(clk, a)).toBeGreaterThan(t);
        },
      ),
    );
  });
});

describe('scansDuration', () => {
  it('duration of n scans, rounded up', () => {
    expect(scansDuration(1_000_000, 5)).toBe(5000);
    expect(scansDuration(3, 1)).toBe(333_333_334);
    expect(scansDuration(3, 3)).toBe(1_000_000_000);
    expect(scansDuration(300_000, 10)).toBe(33_334);
    expect(scansDuration(7, 0)).toBe(0);
  });

  it('property: smallest d with d * rate >= n * 1e9', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (rate, n) => {
          fc.pre((BigInt(n) * 1_000_000_000n) / BigInt(rate) < BigInt(MAX));
          const d = scansDuration(rate, n);
          expect(BigInt(d) * BigInt(rate) >= BigInt(n) * 1_000_000_000n).toBe(true);
          if (d > 0) expect(BigInt(d - 1) * BigInt(rate) < BigInt(n) * 1_000_000_000n).toBe(true);
        },
      ),
    );
  });
});
