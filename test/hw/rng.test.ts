import { describe, expect, it } from 'vitest';
import { hash32, Rng } from '../../src/hw/rng.ts';

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

/** Independent BigInt reference of splitmix64-seeded xoshiro128**. */
function referenceStream(seed: bigint, count: number): number[] {
  let sm = BigInt.asUintN(64, seed);
  const splitmix = (): bigint => {
    sm = (sm + 0x9e3779b97f4a7c15n) & M64;
    let z = sm;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
    return z ^ (z >> 31n);
  };
  const a = splitmix();
  const b = splitmix();
  const s = [a & M32, a >> 32n, b & M32, b >> 32n];
  const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M32;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const [s0, s1, s2, s3] = s as [bigint, bigint, bigint, bigint];
    out.push(Number((rotl((s1 * 5n) & M32, 7n) * 9n) & M32));
    const t = (s1 << 9n) & M32;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    s[0] = n0;
    s[1] = n1;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11n);
  }
  return out;
}

function draw(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.nextU32());
}

describe('Rng', () => {
  it('matches an independent splitmix64 + xoshiro128** reference', () => {
    for (const seed of [0n, 1n, 42n, 0xdeadbeefcafebaben, M64]) {
      expect(draw(new Rng(seed), 64)).toEqual(referenceStream(seed, 64));
    }
  });

  it('splitmix64 of seed 0 gives the published first output 0xe220a8397b1dcdaf', () => {
    // xoshiro128**'s first output only reads s1 = high word of the first splitmix64 output.
    const s1 = 0xe220a839n;
    const r = (s1 * 5n) & M32;
    const expected = Number(((((r << 7n) | (r >> 25n)) & M32) * 9n) & M32);
    expect(new Rng(0).nextU32()).toBe(expected);
  });

  it('pins the first values of seed 1 (streams must not change across versions)', () => {
    expect(draw(new Rng(1), 4)).toEqual(referenceStream(1n, 4));
    expect(draw(new Rng(1), 4)).toMatchInlineSnapshot(`
      [
        1695105466,
        1423115009,
        634581793,
        1068227753,
      ]
    `);
  });

  it('same seed gives the same sequence; number and bigint seeds agree', () => {
    expect(draw(new Rng(1234), 1000)).toEqual(draw(new Rng(1234), 1000));
    expect(draw(new Rng(1234), 100)).toEqual(draw(new Rng(1234n), 100));
    expect(draw(new Rng(-1), 10)).toEqual(draw(new Rng(M64), 10));
    expect(new Rng(-1).seed).toBe(M64);
  });

  it('different seeds give different sequences', () => {
    expect(draw(new Rng(1), 8)).not.toEqual(draw(new Rng(2), 8));
    expect(draw(new Rng(2 ** 40), 8)).not.toEqual(draw(new Rng(2 ** 40 + 1), 8));
  });

  it('rejects non-integer number seeds', () => {
    expect(() => new Rng(1.5)).toThrow(RangeError);
    expect(() => new Rng(Number.NaN)).toThrow(RangeError);
  });

  it('fork depends only on seed and label, not on draws or other forks', () => {
    const a = new Rng(7);
    const before = draw(a.fork('adc0'), 32);
    draw(a, 100);
    a.fork('dma');
    expect(draw(a.fork('adc0'), 32)).toEqual(before);
    expect(draw(new Rng(7).fork('adc0'), 32)).toEqual(before);
  });

  it('forking does not shift the parent stream', () => {
    const a = new Rng(99);
    const b = new Rng(99);
    a.fork('x');
    a.fork('y');
    expect(draw(a, 16)).toEqual(draw(b, 16));
  });

  it('forks are independent of each other and of the parent', () => {
    const root = new Rng(5);
    const streams = [
      root,
      root.fork('a'),
      root.fork('b'),
      root.fork('ab'),
      root.fork(''),
      new Rng(6).fork('a'),
    ];
    const firsts = streams.map((s) => draw(s, 4).join(','));
    expect(new Set(firsts).size).toBe(streams.length);
    expect(draw(root.fork('a').fork('b'), 4)).not.toEqual(draw(root.fork('b').fork('a'), 4));
    expect(draw(root.fork('é'), 4)).not.toEqual(draw(root.fork('e'), 4));
  });

  it('next() is in [0, 1) with fine resolution', () => {
    const rng = new Rng(3);
    let sum = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
      seen.add(x);
    }
    expect(seen.size).toBe(10_000);
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.01);
  });

  it('int() covers [min, max] inclusively and uniformly', () => {
    const rng = new Rng(11);
    const counts = new Map<number, number>();
    for (let i = 0; i < 60_000; i++) {
      const v = rng.int(-3, 2);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((x, y) => x - y)).toEqual([-3, -2, -1, 0, 1, 2]);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(rng.int(5, 5)).toBe(5);
  });

  it('int() handles ranges wider than 2^32', () => {
    const rng = new Rng(12);
    for (let i = 0; i < 1000; i++) {
      const v = rng.int(0, 2 ** 52);
      expect(Number.isSafeInteger(v) && v >= 0 && v <= 2 ** 52).toBe(true);
    }
    const big = Array.from({ length: 100 }, () => rng.int(-(2 ** 40), 2 ** 40));
    expect(big.some((v) => v > 2 ** 32)).toBe(true);
    expect(big.some((v) => v < -(2 ** 32))).toBe(true);
  });

  it('int() rejects bad ranges with RangeError', () => {
    const rng = new Rng(1);
    expect(() => rng.int(2, 1)).toThrow(RangeError);
    expect(() => rng.int(0.5, 1)).toThrow(RangeError);
    expect(() => rng.int(-(2 ** 53) + 1, 2 ** 53 - 1)).toThrow(RangeError);
  });
});

describe('hash32', () => {
  it('returns unsigned 32-bit integers and is pure', () => {
    for (let n = 0; n < 1000; n++) {
      const h = hash32(17, n);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
      expect(hash32(17, n)).toBe(h);
    }
  });

  it('is random access: order of evaluation does not matter', () => {
    const forward = Array.from({ length: 200 }, (_, n) => hash32(3, n));
    const backward = Array.from({ length: 200 }, (_, i) => hash32(3, 199 - i)).reverse();
    expect(backward).toEqual(forward);
    expect(hash32(3, 2 ** 40 + 5)).toBe(hash32(3, 2 ** 40 + 5));
  });

  it('distinguishes n up to 2^53 with no aliasing of the high word', () => {
    const ns = [
      0,
      1,
      2 ** 32,
      2 ** 32 + 1,
      2 ** 40,
      2 ** 52,
      2 ** 53 - 1,
      2 ** 53 - 2,
      2 ** 53,
      -1,
      -(2 ** 32),
    ];
    const hs = ns.map((n) => hash32(1, n));
    expect(new Set(hs).size).toBe(ns.length);
  });

  it('depends on seed, arity and value order', () => {
    expect(hash32(1, 5)).not.toBe(hash32(2, 5));
    expect(hash32(2 ** 40, 5)).not.toBe(hash32(0, 5));
    expect(hash32(1)).not.toBe(hash32(1, 0));
    expect(hash32(1, 0)).not.toBe(hash32(1, 0, 0));
    expect(hash32(1, 1, 2)).not.toBe(hash32(1, 2, 1));
    expect(hash32(1, 0.5)).not.toBe(hash32(1, 0));
    expect(hash32(1, Number.NaN)).toBe(hash32(1, Number.NaN));
  });

  it('pins known values (noise streams must not change across versions)', () => {
    expect([hash32(0, 0), hash32(1, 2), hash32(42, 2 ** 40)]).toMatchInlineSnapshot(`
      [
        1390764651,
        1550831656,
        2980650565,
      ]
    `);
  });

  it('is roughly uniform: every bit set about half the time over consecutive n', () => {
    const bits = new Array<number>(32).fill(0);
    const N = 20_000;
    for (let n = 0; n < N; n++) {
      const h = hash32(9, n);
      for (let b = 0; b < 32; b++) bits[b]! += (h >>> b) & 1;
    }
    for (const c of bits) expect(Math.abs(c / N - 0.5)).toBeLessThan(0.02);
  });
});
