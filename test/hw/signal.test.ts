import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash32 } from '../../src/hw/rng.ts';
import {
  createSignal,
  defaultAdcSignal,
  type RawFormat,
  rawCodeRange,
  type SignalSpec,
} from '../../src/hw/signal.ts';

const S12: RawFormat = { signed: true, realbits: 12 };
const U12: RawFormat = { signed: false, realbits: 12 };

/** BigInt reference of the ramp. */
function rampRef(n: number, step: number, offset: number, format: RawFormat): number {
  const m = 1n << BigInt(format.realbits);
  let v = (BigInt(n) * BigInt(step) + BigInt(offset)) % m;
  if (v < 0n) v += m;
  return Number(format.signed ? v - m / 2n : v);
}

describe('defaultAdcSignal', () => {
  it('is a step-1 ramp starting at 1024 * channel', () => {
    expect(defaultAdcSignal(0)).toEqual({ kind: 'ramp', step: 1, offset: 0 });
    expect(defaultAdcSignal(3)).toEqual({ kind: 'ramp', step: 1, offset: 3072 });
  });

  it('default ADC (s12) channel c at sample n is ((n + 1024c) mod 4096) - 2048', () => {
    const ns = [0, 1, 2, 2047, 2048, 3071, 4095, 4096, 4097, 1_000_000, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 7];
    for (const around of [2 ** 40, 2 ** 52, 2 ** 53 - 10]) {
      for (let d = -5; d <= 5; d++) ns.push(around + d);
    }
    for (let c = 0; c < 8; c++) {
      const g = createSignal(defaultAdcSignal(c), S12, 1_000_000, 0);
      for (const n of ns) {
        const expected = Number((BigInt(n) + BigInt(1024 * c)) % 4096n) - 2048;
        expect(g.sample(n)).toBe(expected);
      }
    }
    const g0 = createSignal(defaultAdcSignal(0), S12, 1, 0);
    expect([g0.sample(0), g0.sample(2047), g0.sample(2048), g0.sample(4095), g0.sample(4096)]).toEqual([
      -2048, -1, 0, 2047, -2048,
    ]);
    const g3 = createSignal(defaultAdcSignal(3), S12, 1, 0);
    expect([g3.sample(0), g3.sample(1023), g3.sample(1024), g3.sample(2 ** 40)]).toEqual([
      1024, 2047, -2048, 1024,
    ]);
  });
});

describe('ramp', () => {
  it('defaults to step 1, offset 0; unsigned formats do not shift', () => {
    const g = createSignal({ kind: 'ramp' }, U12, 1, 0);
    expect([0, 1, 4095, 4096, 4097].map((n) => g.sample(n))).toEqual([0, 1, 4095, 0, 1]);
  });

  it('negative steps and offsets wrap to a non-negative modulo', () => {
    const g = createSignal({ kind: 'ramp', step: -1, offset: -1 }, U12, 1, 0);
    expect([0, 1, 4095, 4096].map((n) => g.sample(n))).toEqual([4095, 4094, 0, 4095]);
    expect(createSignal({ kind: 'ramp', step: -(2 ** 12), offset: -0 }, U12, 1, 0).sample(3)).toBe(0);
  });

  it('is exact for any step, offset, width and n up to 2^53 (BigInt reference)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 53 }),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.maxSafeInteger(),
        fc.oneof(fc.nat({ max: 10_000 }), fc.maxSafeNat(), fc.constant(2 ** 53)),
        (realbits, signed, step, offset, n) => {
          const format = { signed, realbits };
          expect(createSignal({ kind: 'ramp', step, offset }, format, 1, 0).sample(n)).toBe(
            rampRef(n, step, offset, format),
          );
        },
      ),
      { numRuns: fc.readConfigureGlobal().numRuns ?? 2000 },
    );
  });

  it('large step at 53 bits exercises the split multiplication', () => {
    const format = { signed: false, realbits: 53 };
    const step = 2 ** 53 - 1;
    const g = createSignal({ kind: 'ramp', step, offset: 5 }, format, 1, 0);
    for (const n of [3, 2 ** 27 + 1, 2 ** 52 + 3, 2 ** 53 - 1, 2 ** 53]) {
      expect(g.sample(n)).toBe(rampRef(n, step, 5, format));
    }
  });
});

describe('sine', () => {
  it('is round(offset + amplitude * sin(2π f n / rate + phase))', () => {
    const spec: SignalSpec = { kind: 'sine', amplitude: 1000, frequencyHz: 1000, phaseRad: 0.3, offset: 10 };
    const g = createSignal(spec, S12, 48_000, 0);
    for (let n = 0; n < 200; n++) {
      expect(g.sample(n)).toBe(Math.round(10 + 1000 * Math.sin((2 * Math.PI * 1000 * n) / 48_000 + 0.3)));
    }
    expect(g.spec).toBe(spec);
  });

  it('quarter-rate sine hits its peaks and zeros exactly', () => {
    const g = createSignal({ kind: 'sine', amplitude: 2000, frequencyHz: 250 }, S12, 1000, 0);
    expect([0, 1, 2, 3, 4].map((n) => g.sample(n))).toEqual([0, 2000, 0, -2000, 0]);
  });

  it('stays periodic at huge n when f and rate are integers', () => {
    const g = createSignal(
      { kind: 'sine', amplitude: 2000, frequencyHz: 1000, phaseRad: 0.1 },
      S12,
      48_000,
      0,
    );
    for (let k = 0; k < 48; k++) expect(g.sample(48_000 * 2 ** 36 + k)).toBe(g.sample(k));
  });

  it('non-integer frequencies work too', () => {
    const g = createSignal({ kind: 'sine', amplitude: 100, frequencyHz: 0.5 }, S12, 2, 0);
    expect([0, 1, 2, 3].map((n) => g.sample(n))).toEqual([0, 100, 0, -100]);
  });

  it('clamps to the code range', () => {
    const g = createSignal({ kind: 'sine', amplitude: 5000, frequencyHz: 1, offset: 100 }, S12, 4, 0);
    expect([0, 1, 2, 3].map((n) => g.sample(n))).toEqual([100, 2047, 100, -2048]);
    const u = createSignal({ kind: 'sine', amplitude: 5000, frequencyHz: 1 }, U12, 4, 0);
    expect([0, 1, 2, 3].map((n) => u.sample(n))).toEqual([0, 4095, 0, 0]);
  });

  it('never returns -0', () => {
    const g = createSignal({ kind: 'sine', amplitude: 100, frequencyHz: 0, phaseRad: -0.001 }, S12, 1, 0);
    expect(g.sample(0)).toBe(0);
  });

  it('rejects a non-positive sample rate', () => {
    expect(() => createSignal({ kind: 'sine', amplitude: 1, frequencyHz: 1 }, S12, 0, 0)).toThrow(RangeError);
  });
});

describe('square', () => {
  it('is high for the first half of each period by default', () => {
    const g = createSignal({ kind: 'square', high: 100, low: -100, periodSamples: 4 }, S12, 1, 0);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 2 ** 40, 2 ** 40 + 2].map((n) => g.sample(n))).toEqual([
      100, 100, -100, -100, 100, 100, -100, -100, 100, -100,
    ]);
  });

  it('honours dutyCycle, including fractional high counts, 0 and 1', () => {
    const q = createSignal({ kind: 'square', high: 1, low: 0, periodSamples: 8, dutyCycle: 0.25 }, U12, 1, 0);
    expect(Array.from({ length: 8 }, (_, n) => q.sample(n))).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    const odd = createSignal({ kind: 'square', high: 1, low: 0, periodSamples: 5 }, U12, 1, 0);
    expect(Array.from({ length: 5 }, (_, n) => odd.sample(n))).toEqual([1, 1, 1, 0, 0]);
    const none = createSignal({ kind: 'square', high: 1, low: 0, periodSamples: 3, dutyCycle: 0 }, U12, 1, 0);
    expect([0, 1, 2].map((n) => none.sample(n))).toEqual([0, 0, 0]);
    const all = createSignal({ kind: 'square', high: 1, low: 0, periodSamples: 3, dutyCycle: 1 }, U12, 1, 0);
    expect([0, 1, 2].map((n) => all.sample(n))).toEqual([1, 1, 1]);
  });

  it('clamps levels and rejects bad periods and duty cycles', () => {
    const g = createSignal({ kind: 'square', high: 9999, low: -9999, periodSamples: 2 }, S12, 1, 0);
    expect([g.sample(0), g.sample(1)]).toEqual([2047, -2048]);
    expect(() => createSignal({ kind: 'square', high: 1, low: 0, periodSamples: 0 }, S12, 1, 0)).toThrow(
      RangeError,
    );
    expect(() =>
      createSignal({ kind: 'square', high: 1, low: 0, periodSamples: 2, dutyCycle: 1.5 }, S12, 1, 0),
    ).toThrow(RangeError);
  });
});

describe('constant', () => {
  it('returns its value, clamped', () => {
    expect(createSignal({ kind: 'constant', value: -7 }, S12, 1, 0).sample(2 ** 45)).toBe(-7);
    expect(createSignal({ kind: 'constant', value: -7 }, U12, 1, 0).sample(0)).toBe(0);
    expect(createSignal({ kind: 'constant', value: 1 << 20 }, S12, 1, 0).sample(0)).toBe(2047);
  });
});

describe('noise', () => {
  it('gives uniform integers in [offset - amplitude, offset + amplitude] from hash32(seed, n)', () => {
    const g = createSignal({ kind: 'noise', amplitude: 3, offset: 10 }, S12, 1, 77);
    const counts = new Map<number, number>();
    for (let n = 0; n < 70_000; n++) {
      const v = g.sample(n);
      expect(v).toBe(7 + Math.floor((hash32(77, n) / 2 ** 32) * 7));
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([7, 8, 9, 10, 11, 12, 13]);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('is random access and deterministic; spec.seed overrides the channel seed', () => {
    const a = createSignal({ kind: 'noise', amplitude: 1000 }, S12, 1, 1);
    const b = createSignal({ kind: 'noise', amplitude: 1000 }, S12, 1, 1);
    const c = createSignal({ kind: 'noise', amplitude: 1000 }, S12, 1, 2);
    const d = createSignal({ kind: 'noise', amplitude: 1000, seed: 1 }, S12, 1, 2);
    const ns = [2 ** 40, 5, 0, 2 ** 53];
    expect(ns.map((n) => a.sample(n))).toEqual(
      [...ns]
        .reverse()
        .map((n) => b.sample(n))
        .reverse(),
    );
    expect(ns.map((n) => d.sample(n))).toEqual(ns.map((n) => a.sample(n)));
    expect(ns.map((n) => c.sample(n))).not.toEqual(ns.map((n) => a.sample(n)));
  });

  it('amplitude 0 is the offset; out-of-range values clamp', () => {
    expect(createSignal({ kind: 'noise', amplitude: 0, offset: 5 }, S12, 1, 0).sample(123)).toBe(5);
    const g = createSignal({ kind: 'noise', amplitude: 100, offset: 4095 }, U12, 1, 0);
    for (let n = 0; n < 100; n++) expect(g.sample(n)).toBeLessThanOrEqual(4095);
    expect(() => createSignal({ kind: 'noise', amplitude: -1 }, S12, 1, 0)).toThrow(RangeError);
  });
});

describe('samples', () => {
  it('repeats its table by default', () => {
    const g = createSignal({ kind: 'samples', values: [1, -2, 3] }, S12, 1, 0);
    expect([0, 1, 2, 3, 4, 2 ** 40].map((n) => g.sample(n))).toEqual([1, -2, 3, 1, -2, -2]);
  });

  it('holds the last value past the end without repeat, and clamps', () => {
    const g = createSignal({ kind: 'samples', values: [1, 5000, -5000], repeat: false }, S12, 1, 0);
    expect([0, 1, 2, 3, 2 ** 50].map((n) => g.sample(n))).toEqual([1, 2047, -2048, -2048, -2048]);
  });

  it('copies the table at creation', () => {
    const values = [1, 2];
    const g = createSignal({ kind: 'samples', values }, S12, 1, 0);
    values[0] = 9;
    expect(g.sample(0)).toBe(1);
  });

  it('rejects an empty table or non-integer values', () => {
    expect(() => createSignal({ kind: 'samples', values: [] }, S12, 1, 0)).toThrow(RangeError);
    expect(() => createSignal({ kind: 'samples', values: [0.5] }, S12, 1, 0)).toThrow(RangeError);
  });
});

describe('validation', () => {
  it('sample(n) rejects negative, fractional and too large indices', () => {
    const g = createSignal(defaultAdcSignal(0), S12, 1, 0);
    for (const n of [-1, 1.5, 2 ** 53 + 2, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => g.sample(n)).toThrow(RangeError);
    }
    expect(g.sample(2 ** 53)).toBe(-2048);
  });

  it('rejects formats outside 1..53 bits and non-integer ramp parameters', () => {
    expect(() => createSignal(defaultAdcSignal(0), { signed: true, realbits: 0 }, 1, 0)).toThrow(RangeError);
    expect(() => createSignal(defaultAdcSignal(0), { signed: true, realbits: 54 }, 1, 0)).toThrow(RangeError);
    expect(() => createSignal({ kind: 'ramp', step: 0.5 }, S12, 1, 0)).toThrow(RangeError);
  });

  it('rawCodeRange gives the clamping bounds', () => {
    expect(rawCodeRange(S12)).toEqual({ min: -2048, max: 2047 });
    expect(rawCodeRange(U12)).toEqual({ min: 0, max: 4095 });
    expect(rawCodeRange({ signed: true, realbits: 1 })).toEqual({ min: -1, max: 0 });
    expect(rawCodeRange({ signed: false, realbits: 53 })).toEqual({ min: 0, max: 2 ** 53 - 1 });
  });
});

describe('fill and period', () => {
  const SPECS: [string, SignalSpec, RawFormat, number | null][] = [
    ['default ramp', defaultAdcSignal(2), S12, 4096],
    ['ramp of step 6 (period 2048)', { kind: 'ramp', step: 6, offset: 5 }, U12, 2048],
    ['ramp of step 0', { kind: 'ramp', step: 0, offset: 7 }, S12, 1],
    ['53-bit ramp', { kind: 'ramp', step: 3, offset: 2 ** 52 + 1 }, { signed: true, realbits: 53 }, 2 ** 53],
    ['sine of integer frequency', { kind: 'sine', amplitude: 1000, frequencyHz: 1250 }, S12, 800],
    ['sine of fractional frequency', { kind: 'sine', amplitude: 1000, frequencyHz: 1234.5 }, S12, null],
    ['square', { kind: 'square', high: 100, low: -100, periodSamples: 7, dutyCycle: 0.3 }, S12, 7],
    ['constant', { kind: 'constant', value: -3 }, S12, 1],
    ['noise', { kind: 'noise', amplitude: 500, seed: 9 }, S12, null],
    ['repeated table', { kind: 'samples', values: [1, 2, 3] }, S12, 3],
    ['table holding its last value', { kind: 'samples', values: [1, 2, 3], repeat: false }, S12, null],
  ];

  it.each(SPECS)('%s: fill() gives sample() for every index, period is exact', (_, spec, format, period) => {
    const g = createSignal(spec, format, 1_000_000, 11);
    expect(g.period).toBe(period);
    for (const first of [0, 1, 4093, 2 ** 40 + 5, 2 ** 53 - 300]) {
      const out = new Float64Array(300);
      g.fill(out, first, 300);
      expect([...out]).toEqual(Array.from({ length: 300 }, (_, i) => g.sample(first + i)));
    }
    if (period !== null && period < 2 ** 40)
      for (const n of [0, 1, 17, 999, 4095, 123_456])
        expect([g.sample(n + period), g.sample(n + 3 * period)]).toEqual([g.sample(n), g.sample(n)]);
  });

  it('fill() checks its first and last index and the room in out', () => {
    const g = createSignal(defaultAdcSignal(0), S12, 1, 0);
    expect(() => g.fill(new Float64Array(4), -1, 2)).toThrow(RangeError);
    expect(() => g.fill(new Float64Array(4), 2 ** 53 - 1, 4)).toThrow(RangeError);
    expect(() => g.fill(new Float64Array(4), 0, 5)).toThrow(RangeError);
    const out = new Float64Array(1).fill(9);
    g.fill(out, 0, 0);
    expect(out[0]).toBe(9);
  });
});
