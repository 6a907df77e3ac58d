/**
 * Seeded, deterministic randomness for the simulated hardware: nothing here reads `Math.random` or the
 * wall clock, so a run is fully reproduced from its seeds.
 *
 * Two tools:
 * - {@link Rng}: a sequential stream (xoshiro128** seeded through splitmix64), with {@link Rng.fork} to give
 *   every consumer its own stream derived from a label, so adding a consumer never shifts another's draws.
 * - {@link hash32}: a counter-based hash (murmur3 word mixing + fmix32) for random access, e.g. the noise of
 *   sample n without generating samples 0..n-1.
 */

const MASK64 = (1n << 64n) - 1n;
const TWO32 = 4294967296;
const TWO53 = 9007199254740992;

/** One step of splitmix64 (Steele, Lea, Flood 2014) on a 64-bit state: returns the new state and output. */
function splitmix64(state: bigint): [bigint, bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  return [next, mix64(next)];
}

/** The splitmix64 output function (a 64-bit finaliser, variant 13 of Stafford's mixers). */
function mix64(x: bigint): bigint {
  let z = x & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

const utf8 = new TextEncoder();

/** 64-bit FNV-1a over the UTF-8 bytes of a label. */
function fnv1a64(label: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of utf8.encode(label)) {
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & MASK64;
  }
  return h;
}

function normalizeSeed(seed: number | bigint): bigint {
  if (typeof seed === 'bigint') return BigInt.asUintN(64, seed);
  if (!Number.isInteger(seed)) throw new RangeError(`Rng seed must be an integer, got ${seed}`);
  return BigInt.asUintN(64, BigInt(seed));
}

/**
 * A deterministic pseudo-random stream: xoshiro128** (Blackman and Vigna) whose 128-bit state is filled by
 * splitmix64 from a 64-bit seed. Equal seeds give equal sequences on every platform and run.
 *
 * Number seeds must be integers; a number and the bigint of the same value give the same stream; negative
 * seeds are taken modulo 2^64.
 */
export class Rng {
  /** The seed this stream was built from, reduced to 64 bits. {@link Rng.fork} derives from it. */
  readonly seed: bigint;
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number | bigint) {
    this.seed = normalizeSeed(seed);
    const [state1, out1] = splitmix64(this.seed);
    const [, out2] = splitmix64(state1);
    this.#s0 = Number(out1 & 0xffffffffn) | 0;
    this.#s1 = Number(out1 >> 32n) | 0;
    this.#s2 = Number(out2 & 0xffffffffn) | 0;
    this.#s3 = Number(out2 >> 32n) | 0;
    // xoshiro must not start from the all-zero state (it would stay there).
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next 32 random bits, as an integer in [0, 2^32). */
  nextU32(): number {
    const s1 = this.#s1;
    const r = Math.imul(s1, 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9);
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = (this.#s3 << 11) | (this.#s3 >>> 21);
    return result >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits (consumes two 32-bit draws). */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / TWO53;
  }

  /**
   * A uniform integer in [min, maxInclusive], without modulo bias (rejection sampling). Ranges of up to 2^32
   * values consume one 32-bit draw per attempt, wider ones (up to 2^53 values) two.
   * @throws RangeError if a bound is not a safe integer, min > maxInclusive, or the range exceeds 2^53
   * values.
   */
  int(min: number, maxInclusive: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(maxInclusive) || min > maxInclusive) {
      throw new RangeError(`Rng.int: bad range [${min}, ${maxInclusive}]`);
    }
    const range = maxInclusive - min + 1;
    if (range <= TWO32) {
      const limit = TWO32 - (TWO32 % range);
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return min + (x % range);
      }
    }
    if (range > TWO53) throw new RangeError(`Rng.int: range [${min}, ${maxInclusive}] exceeds 2^53 values`);
    const limit = TWO53 - (TWO53 % range);
    for (;;) {
      const x = (this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6);
      if (x < limit) return min + (x % range);
    }
  }

  /**
   * An independent stream derived from this stream's seed and a label only: it does not depend on how many
   * values were drawn from this stream, nor on other forks, so it is stable across runs and across code
   * changes that add consumers. Forking twice with the same label gives two equal streams.
   */
  fork(label: string): Rng {
    return new Rng(mix64(mix64(this.seed ^ 0x6a09e667f3bcc909n) ^ fnv1a64(label)));
  }
}

function mixWord(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

function fmix32(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/** Mixes one number into h as two 32-bit words: exact integers as (low, high) two's-complement words. */
function mixNumber(h: number, v: number): number {
  if (Number.isInteger(v)) {
    return mixWord(mixWord(h, v >>> 0), Math.floor(v / TWO32) | 0);
  }
  // Fractions, NaN and infinities hash by their IEEE-754 bits, tagged so they never collide with integers.
  f64[0] = v;
  return mixWord(mixWord(mixWord(h, 0x7ff80001), f64Words[0]!), f64Words[1]!);
}

/**
 * Counter-based 32-bit hash of a seed and a tuple of numbers, in [0, 2^32): murmur3's word mixing over
 * each value's 64-bit two's-complement form, then murmur3's fmix32 finaliser. Pure and random access: the
 * hash of (seed, n) needs nothing about (seed, n - 1). Integers are exact at any magnitude (n up to 2^53 and
 * beyond), so n and n + 1 never alias; non-integers hash by their bits.
 */
export function hash32(seed: number, ...values: number[]): number {
  let h = mixNumber(0x3c6ef372, seed);
  for (const v of values) h = mixNumber(h, v);
  return fmix32(h ^ values.length);
}

/**
 * `n => hash32(seed, n)` with the seed mixed in once: the same values, for hashing a stream of indices
 * (noise samples) without an argument list per call.
 */
export function hash32Of(seed: number): (n: number) => number {
  const h = mixNumber(0x3c6ef372, seed);
  return (n) =>
    fmix32(
      (Number.isInteger(n) ? mixWord(mixWord(h, n >>> 0), Math.floor(n / TWO32) | 0) : mixNumber(h, n)) ^ 1,
    );
}
