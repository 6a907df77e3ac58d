/**
 * Signal generators of the simulated converters: each gives the raw integer code of one ADC channel at
 * sample index n (n = 0 is the first sample after the converter starts). Every generator is a pure function
 * of n (random access, no state), so a block of samples can be produced for any n in any order.
 */

import { hash32Of } from './rng.ts';

/** What a channel carries. Integer-valued fields must be safe integers. */
export type SignalSpec =
  /** `(n * step + offset) mod 2^realbits`, minus 2^(realbits-1) when signed: wraps around the code range. */
  | { kind: 'ramp'; step?: number; offset?: number }
  /** `round(offset + amplitude * sin(2π * frequencyHz * n / sampleRateHz + phaseRad))`. */
  | { kind: 'sine'; amplitude: number; frequencyHz: number; phaseRad?: number; offset?: number }
  /** `high` for the first `dutyCycle * periodSamples` samples of each period (duty 0.5), else `low`. */
  | { kind: 'square'; high: number; low: number; periodSamples: number; dutyCycle?: number }
  /** Always `value`. */
  | { kind: 'constant'; value: number }
  /** Uniform integers in [offset - amplitude, offset + amplitude] from `hash32(seed, n)`. */
  | { kind: 'noise'; amplitude: number; seed?: number; offset?: number }
  /** An explicit table, repeated (default) or holding its last value past the end. */
  | { kind: 'samples'; values: readonly number[]; repeat?: boolean };

/** The converter's code width: what `sample()` values are clamped to. */
export interface RawFormat {
  /** Two's-complement codes when true. */
  signed: boolean;
  /** Significant bits of a code, 1..53 (so every code is an exact number). */
  realbits: number;
}

/** A channel's signal, bound to a converter format and sample rate. */
export interface SignalGenerator {
  /** The spec it was created from. */
  readonly spec: SignalSpec;
  /**
   * The raw code at sample index n, clamped to the format's code range.
   * @throws RangeError if n is not an integer in [0, 2^53].
   */
  sample(n: number): number;
  /**
   * The block form of {@link SignalGenerator.sample}: writes `sample(first + i)` into `out[i]` for i < count,
   * the same values, with the index checks done once.
   * @throws RangeError if first or first + count - 1 is not an integer in [0, 2^53], or out is too short.
   */
  fill(out: Float64Array, first: number, count: number): void;
  /**
   * Samples after which the signal repeats exactly, from n = 0 on: `sample(n + period) === sample(n)` for
   * every n. Null when the signal does not repeat (noise, a table that holds its last value, a sine whose
   * phase is not reduced exactly).
   */
  readonly period: number | null;
}

const TWO26 = 67108864;
const TWO52 = 4503599627370496;
const TWO53 = 9007199254740992;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * The code range of a format: signed [-2^(r-1), 2^(r-1) - 1], unsigned [0, 2^r - 1].
 * @throws RangeError if realbits is not an integer in 1..53.
 */
export function rawCodeRange(format: RawFormat): { min: number; max: number } {
  const r = format.realbits;
  if (!Number.isInteger(r) || r < 1 || r > 53) {
    throw new RangeError(`realbits must be an integer in 1..53, got ${r}`);
  }
  const size = 2 ** r;
  return format.signed ? { min: -size / 2, max: size / 2 - 1 } : { min: 0, max: size - 1 };
}

/** The default ADC channel signal: a ramp of step 1 starting at `1024 * channel`. */
export function defaultAdcSignal(channel: number): SignalSpec {
  return { kind: 'ramp', step: 1, offset: 1024 * channel };
}

function checkInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`signal ${name} must be a safe integer, got ${v}`);
  return v;
}

function checkFinite(name: string, v: number): number {
  if (!Number.isFinite(v)) throw new RangeError(`signal ${name} must be finite, got ${v}`);
  return v;
}

function checkIndex(n: number): void {
  if (!(n >= 0 && n <= TWO53 && Math.floor(n) === n)) {
    throw new RangeError(`sample index must be an integer in [0, 2^53], got ${n}`);
  }
}

/** x mod m in [0, m) (never -0), exact for any integer x whose magnitude is at most 2^53. */
function mod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r + 0;
}

/** (x + y) mod m for x, y in [0, m), m <= 2^53, with no intermediate above m. */
function addMod(x: number, y: number, m: number): number {
  const gap = m - y;
  return x >= gap ? x - gap : x + y;
}

/**
 * (a * b) mod 2^r for a, b in [0, 2^r), r <= 53, exactly: the product is split into 26-bit halves so no
 * intermediate exceeds 2^53.
 */
function mulModPow2(a: number, b: number, m: number, r: number): number {
  const p = a * b;
  if (p <= MAX_SAFE) return p % m;
  // Here r > 26, since a, b < 2^26 would have given a safe product.
  const aH = Math.floor(a / TWO26);
  const aL = a - aH * TWO26;
  const bH = Math.floor(b / TWO26);
  const bL = b - bH * TWO26;
  const midMod = 2 ** (r - 26);
  const mid = (((aH * bL) % midMod) + ((aL * bH) % midMod)) % midMod;
  let res = addMod((aL * bL) % m, mid * TWO26, m);
  // aH*bH*2^52 vanishes modulo 2^r for r <= 52; for r = 53 only its parity counts.
  if (r === 53 && aH % 2 === 1 && bH % 2 === 1) res = addMod(res, TWO52, m);
  return res;
}

/** What a generator factory gets besides its spec: the converter's code range, format and rate. */
interface Bound {
  readonly format: RawFormat;
  readonly sampleRateHz: number;
  /** Noise seed when the spec gives none. */
  readonly seed: number;
  /** Clamps a code to the format's range. */
  readonly clamp: (v: number) => number;
}

type SignalKind = SignalSpec['kind'];
type SpecOf<K extends SignalKind> = Extract<SignalSpec, { kind: K }>;

/**
 * What a factory builds: the code at sample n for an index already checked, the period, and the block fill
 * (each kind has its own loop, so that its calls stay monomorphic).
 */
interface Gen {
  readonly at: (n: number) => number;
  readonly period: number | null;
  readonly fill: (out: Float64Array, first: number, count: number) => void;
}

/** Builds the per-sample function of one signal kind, checking its parameters first. */
type Factory<K extends SignalKind> = (spec: SpecOf<K>, b: Bound) => Gen;

/** Greatest common divisor of two non-negative safe integers. */
function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

function ramp(spec: SpecOf<'ramp'>, { format }: Bound): Gen {
  const r = format.realbits;
  const m = 2 ** r;
  const half = format.signed ? m / 2 : 0;
  const step = mod(checkInt('ramp step', spec.step ?? 1), m);
  const offset = mod(checkInt('ramp offset', spec.offset ?? 0), m);
  const at = (n: number): number => {
    const a = n % m;
    const p = a * step + offset;
    if (p <= MAX_SAFE) return (p % m) - half;
    return addMod(mulModPow2(a, step, m, r), offset, m) - half;
  };
  // m is a power of two: gcd(step, m) is the largest power of two dividing step (m itself for step 0).
  let g = 1;
  while (g < m && step % (g * 2) === 0) g *= 2;
  return {
    at,
    period: m / g,
    fill(out, first, count) {
      let v = at(first) + half;
      for (let i = 0; i < count; i++) {
        out[i] = v - half;
        v = addMod(v, step, m);
      }
    },
  };
}

function sine(spec: SpecOf<'sine'>, b: Bound): Gen {
  const rate = b.sampleRateHz;
  if (!(rate > 0 && Number.isFinite(rate))) {
    throw new RangeError(`sine needs a positive sample rate, got ${rate}`);
  }
  const amplitude = checkFinite('sine amplitude', spec.amplitude);
  const f = checkFinite('sine frequencyHz', spec.frequencyHz);
  const phase = checkFinite('sine phaseRad', spec.phaseRad ?? 0);
  const offset = checkFinite('sine offset', spec.offset ?? 0);
  // With integer f and rate the phase is reduced modulo one period exactly: accurate at any n.
  const exact = Number.isSafeInteger(f) && Number.isSafeInteger(rate) && rate * rate <= MAX_SAFE;
  const fMod = exact ? mod(f, rate) : 0;
  const cycles = exact
    ? (n: number) => (((n % rate) * fMod) % rate) / rate
    : (n: number) => {
        const x = (n * f) / rate;
        return x - Math.floor(x);
      };
  const { clamp } = b;
  const at = (n: number) => clamp(Math.round(offset + amplitude * Math.sin(2 * Math.PI * cycles(n) + phase)));
  return {
    at,
    // cycles(n) depends on n * fMod mod rate only: it repeats after rate / gcd(fMod, rate) samples.
    period: exact ? rate / gcd(fMod, rate) : null,
    fill(out, first, count) {
      for (let i = 0; i < count; i++) out[i] = at(first + i);
    },
  };
}

function square(spec: SpecOf<'square'>, { clamp }: Bound): Gen {
  const high = clamp(checkInt('square high', spec.high));
  const low = clamp(checkInt('square low', spec.low));
  const period = checkInt('square periodSamples', spec.periodSamples);
  if (period < 1) throw new RangeError(`square periodSamples must be >= 1, got ${period}`);
  const duty = checkFinite('square dutyCycle', spec.dutyCycle ?? 0.5);
  if (duty < 0 || duty > 1) throw new RangeError(`square dutyCycle must be in [0, 1], got ${duty}`);
  const highCount = duty * period;
  const at = (n: number) => (n % period < highCount ? high : low);
  return {
    at,
    period,
    fill(out, first, count) {
      for (let i = 0; i < count; i++) out[i] = at(first + i);
    },
  };
}

function constant(spec: SpecOf<'constant'>, { clamp }: Bound): Gen {
  const value = clamp(checkInt('constant value', spec.value));
  return { at: () => value, period: 1, fill: (out, _first, count) => out.fill(value, 0, count) };
}

function noise(spec: SpecOf<'noise'>, { clamp, seed }: Bound): Gen {
  const amplitude = checkInt('noise amplitude', spec.amplitude);
  if (amplitude < 0) throw new RangeError(`noise amplitude must be >= 0, got ${amplitude}`);
  const offset = checkInt('noise offset', spec.offset ?? 0);
  const noiseSeed = checkFinite('noise seed', spec.seed ?? seed);
  const base = offset - amplitude;
  const span = 2 * amplitude + 1;
  const hash = hash32Of(noiseSeed);
  const at = (n: number) => clamp(base + Math.floor((hash(n) / 4294967296) * span));
  return {
    at,
    period: null,
    fill(out, first, count) {
      for (let i = 0; i < count; i++) out[i] = at(first + i);
    },
  };
}

function samples(spec: SpecOf<'samples'>, { clamp }: Bound): Gen {
  if (spec.values.length === 0) throw new RangeError('samples table must not be empty');
  const values = spec.values.map((v, i) => clamp(checkInt(`samples value [${i}]`, v)));
  const len = values.length;
  const last = values[len - 1]!;
  const repeat = spec.repeat ?? true;
  const at = repeat ? (n: number) => values[n % len]! : (n: number) => (n < len ? values[n]! : last);
  return {
    at,
    period: repeat ? len : null,
    fill(out, first, count) {
      for (let i = 0; i < count; i++) out[i] = at(first + i);
    },
  };
}

/** One factory per signal kind: a new kind is one entry here plus its factory. */
const FACTORIES: { readonly [K in SignalKind]: Factory<K> } = {
  ramp,
  sine,
  square,
  constant,
  noise,
  samples,
};

/**
 * Binds a signal spec to a converter: the generator's `sample(n)` is the raw code at sample n, clamped to
 * the format's code range. `seed` is the noise seed when the spec gives none.
 * @throws RangeError on an invalid spec, format or sample rate.
 */
export function createSignal(
  spec: SignalSpec,
  format: RawFormat,
  sampleRateHz: number,
  seed: number,
): SignalGenerator {
  const { min, max } = rawCodeRange(format);
  // `+ 0` turns -0 (from Math.round or a -0 parameter) into 0, so equal codes are Object.is-equal.
  const clamp = (v: number): number => Math.min(Math.max(v, min), max) + 0;
  const factory = Object.hasOwn(FACTORIES, spec.kind)
    ? (FACTORIES[spec.kind] as Factory<SignalKind>)
    : undefined;
  if (!factory) throw new RangeError(`unknown signal kind ${(spec as { kind: string }).kind}`);
  const { at, period, fill } = factory(spec as never, { format, sampleRateHz, seed, clamp });
  return {
    spec,
    period,
    sample(n) {
      checkIndex(n);
      return at(n);
    },
    fill(out, first, count) {
      if (!Number.isSafeInteger(count) || count < 0 || count > out.length)
        throw new RangeError(`cannot fill ${count} samples into ${out.length}`);
      if (count === 0) return;
      checkIndex(first);
      checkIndex(first + count - 1);
      fill(out, first, count);
    },
  };
}
