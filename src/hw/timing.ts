/**
 * Exact integer arithmetic for sample clocks: a converter running at `rate` Hz from `t0` produces scan k
 * (0-based) at `t0 + floor((k + 1) * 1e9 / rate)` ns. Numbers are exact beyond 2^53 intermediate products.
 */

/** Nanoseconds per second. */
export const NS_PER_S = 1_000_000_000;

/** floor(a * b / c) for non-negative safe integers, exact even when a * b exceeds 2^53. */
export function mulDivFloor(a: number, b: number, c: number): number {
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) return Math.floor(p / c);
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** ceil(a * b / c) for non-negative safe integers. */
export function mulDivCeil(a: number, b: number, c: number): number {
  const p = a * b;
  if (p <= Number.MAX_SAFE_INTEGER) return Math.ceil(p / c);
  const q = BigInt(a) * BigInt(b);
  const cc = BigInt(c);
  return Number((q + cc - 1n) / cc);
}

/** A sample clock: `rate` scans per second starting at `t0`. */
export interface SampleClock {
  readonly t0: number;
  readonly rate: number;
}

/** Time (ns) at which scan `k` is complete. */
export function scanTime(clock: SampleClock, k: number): number {
  return clock.t0 + mulDivFloor(k + 1, NS_PER_S, clock.rate);
}

/** Number of scans complete at time `t` (scans k with scanTime(k) <= t). */
export function scansBy(clock: SampleClock, t: number): number {
  if (t < clock.t0) return 0;
  const d = t - clock.t0;
  return mulDivCeil(d + 1, clock.rate, NS_PER_S) - 1;
}

/** Duration in ns of `n` scans at `rate`, rounded up. */
export function scansDuration(rate: number, n: number): number {
  return mulDivCeil(n, NS_PER_S, rate);
}
