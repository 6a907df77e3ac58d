/**
 * The kernel's strict string-to-integer parsers (lib/kstrtox.c) and the IIO fixed-point parser
 * (`__iio_str_to_fixpoint()`, drivers/iio/industrialio-core.c), as used by sysfs `store` callbacks.
 *
 * Input is the exact bytes a program wrote to the sysfs file, one latin1 character per byte. The kernel
 * sees them as a NUL-terminated C string, so anything from the first `'\0'` on is invisible to every
 * parser here. Results are values, never exceptions: errors are negative errno numbers.
 */

import { EINVAL, ERANGE } from '../../uapi/errno.ts';

/**
 * Result of a kernel helper that returns either a value or a negative errno (e.g. `-EINVAL`).
 * `errno` is always negative, exactly as the kernel function returns it.
 */
export type KResult<T> = { ok: true; value: T } | { ok: false; errno: number };

/**
 * Number base accepted by the `kstrto*` parsers. `0` auto-detects: `0x`/`0X` followed by a hex digit
 * means 16, any other leading `0` means 8, otherwise 10 (`_parse_integer_fixup_radix()`, lib/kstrtox.c).
 */
export type KstrtoxBase = 0 | 2 | 8 | 10 | 16;

/** A parsed IIO fixed-point value: `integer` and `fract` as `__iio_str_to_fixpoint()` stores them. */
export interface IioFixpoint {
  /** Integer part; carries the sign unless it is 0. */
  integer: number;
  /**
   * Fractional part in units of the last decimal `fractMult` can hold (micro for 100000); carries the
   * sign only when `integer` is 0.
   */
  fract: number;
}

/** `fract_mult` of `iio_write_channel_info()` for IIO_VAL_INT_PLUS_MICRO(_DB): fract in micro units. */
export const IIO_FRACT_MULT_MICRO = 100000;

/** `fract_mult` that `iio_write_channel_info()` uses for IIO_VAL_INT_PLUS_NANO: fract in nano units. */
export const IIO_FRACT_MULT_NANO = 100000000;

const ULLONG_MAX = (1n << 64n) - 1n;
const LLONG_MAX = (1n << 63n) - 1n;
const UINT_MAX = 0xffffffff;
const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;

const CH_NL = 0x0a;
const CH_PLUS = 0x2b;
const CH_MINUS = 0x2d;
const CH_DOT = 0x2e;
const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_LOWER_A = 0x61;
const CH_LOWER_F = 0x66;
const CH_LOWER_X = 0x78;

function ok<T>(value: T): KResult<T> {
  return { ok: true, value };
}

function fail<T>(errno: number): KResult<T> {
  return { ok: false, errno };
}

/** The string as C sees it: cut at the first NUL. */
function cString(s: string): string {
  const nul = s.indexOf('\0');
  return nul === -1 ? s : s.slice(0, nul);
}

/** Byte at `i`, or 0 (the terminating NUL) past the end. */
function byteAt(s: string, i: number): number {
  return i < s.length ? s.charCodeAt(i) : 0;
}

/** Digit value of byte `c` in bases up to 16, or -1. */
function digitValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const lc = c | 0x20;
  if (lc >= CH_LOWER_A && lc <= CH_LOWER_F) return lc - CH_LOWER_A + 10;
  return -1;
}

/** Mirrors `_parse_integer_fixup_radix()` (lib/kstrtox.c): resolves base 0 and skips a `0x` prefix. */
function fixupRadix(s: string, pos: number, base: number): { pos: number; base: number } {
  let b = base;
  if (b === 0) {
    if (byteAt(s, pos) === CH_0) {
      const hex = (byteAt(s, pos + 1) | 0x20) === CH_LOWER_X && digitValue(byteAt(s, pos + 2)) >= 0;
      b = hex ? 16 : 8;
    } else {
      b = 10;
    }
  }
  if (b === 16 && byteAt(s, pos) === CH_0 && (byteAt(s, pos + 1) | 0x20) === CH_LOWER_X) {
    return { pos: pos + 2, base: b };
  }
  return { pos, base: b };
}

/**
 * Mirrors `_kstrtoull()` (lib/kstrtox.c): digits, one optional trailing `'\n'`, nothing else. A u64
 * overflow anywhere in the digit run is `-ERANGE` even if junk follows; no digits or junk is `-EINVAL`.
 */
function kstrtoullAt(s: string, start: number, base: KstrtoxBase): KResult<bigint> {
  const fixed = fixupRadix(s, start, base);
  const b = BigInt(fixed.base);
  let pos = fixed.pos;
  let res = 0n;
  let overflow = false;
  for (;;) {
    const val = digitValue(byteAt(s, pos));
    if (val < 0 || val >= fixed.base) break;
    const next = res * b + BigInt(val);
    if (next > ULLONG_MAX) overflow = true;
    res = BigInt.asUintN(64, next);
    pos++;
  }
  if (overflow) return fail(-ERANGE);
  if (pos === fixed.pos) return fail(-EINVAL);
  if (byteAt(s, pos) === CH_NL) pos++;
  if (pos < s.length) return fail(-EINVAL);
  return ok(res);
}

/**
 * Parses an unsigned 64-bit integer: optional `+`, at least one digit of `base`, one optional trailing
 * `'\n'`. Value above 2^64-1 is `-ERANGE`; anything else malformed is `-EINVAL`.
 *
 * Mirrors `kstrtoull()` (lib/kstrtox.c).
 */
export function kstrtoull(s: string, base: KstrtoxBase = 10): KResult<bigint> {
  const str = cString(s);
  return kstrtoullAt(str, byteAt(str, 0) === CH_PLUS ? 1 : 0, base);
}

/**
 * Parses a signed 64-bit integer: optional `-` or `+` (not both), then as {@link kstrtoull}. Values
 * outside [-2^63, 2^63-1] are `-ERANGE`.
 *
 * Mirrors `kstrtoll()` (lib/kstrtox.c).
 */
export function kstrtoll(s: string, base: KstrtoxBase = 10): KResult<bigint> {
  const str = cString(s);
  if (byteAt(str, 0) === CH_MINUS) {
    const r = kstrtoullAt(str, 1, base);
    if (!r.ok) return r;
    if (r.value > LLONG_MAX + 1n) return fail(-ERANGE);
    return ok(-r.value);
  }
  const r = kstrtoullAt(str, byteAt(str, 0) === CH_PLUS ? 1 : 0, base);
  if (!r.ok) return r;
  if (r.value > LLONG_MAX) return fail(-ERANGE);
  return r;
}

/**
 * Parses an `unsigned int` as sysfs `length`/`watermark` stores do (rules PARSE-1, PARSE-2, PARSE-3):
 * optional `+`, at least one digit, one optional trailing `'\n'`; above 4294967295 is `-ERANGE`, any
 * other malformed input `-EINVAL`. Junk after digits is `-EINVAL` unless the digits alone overflow u64.
 *
 * Mirrors `kstrtouint()` (lib/kstrtox.c).
 */
export function kstrtouint(s: string, base: KstrtoxBase = 10): KResult<number> {
  const r = kstrtoull(s, base);
  if (!r.ok) return r;
  if (r.value > BigInt(UINT_MAX)) return fail(-ERANGE);
  return ok(Number(r.value));
}

/**
 * Parses an `int`: optional `-` or `+`, digits, one optional trailing `'\n'`; outside
 * [-2147483648, 2147483647] is `-ERANGE`. With base 0 this is rule PARSE-6 (channel-info INT format).
 *
 * Mirrors `kstrtoint()` (lib/kstrtox.c).
 */
export function kstrtoint(s: string, base: KstrtoxBase = 10): KResult<number> {
  const r = kstrtoll(s, base);
  if (!r.ok) return r;
  if (r.value < BigInt(INT_MIN) || r.value > BigInt(INT_MAX)) return fail(-ERANGE);
  return ok(Number(r.value));
}

/**
 * Parses a boolean from its first one or two characters (rules PARSE-4, PARSE-5): `y Y t T e E 1` →
 * true; `n N f F d D 0` → false; `o`/`O` then `n`/`N` → true, then `f`/`F` → false; the rest of the
 * string is ignored. Everything else (empty, `"2"`, `" 1"`, `"\n"`, `"o"`) is `-EINVAL`.
 *
 * Mirrors `kstrtobool()` (lib/kstrtox.c).
 */
export function kstrtobool(s: string): KResult<boolean> {
  const str = cString(s);
  switch (str[0]) {
    case 'y':
    case 'Y':
    case 't':
    case 'T':
    case 'e':
    case 'E':
    case '1':
      return ok(true);
    case 'n':
    case 'N':
    case 'f':
    case 'F':
    case 'd':
    case 'D':
    case '0':
      return ok(false);
    case 'o':
    case 'O':
      switch (str[1]) {
        case 'n':
        case 'N':
          return ok(true);
        case 'f':
        case 'F':
          return ok(false);
        default:
          return fail(-EINVAL);
      }
    default:
      return fail(-EINVAL);
  }
}

/**
 * Parses a decimal fixed-point number as channel-info stores do (rule PARSE-7; PARSE-6 when
 * `fractMult` is 0). Optional leading `-`/`+`, digits, at most one `.`, and `'\n'` only as the last
 * character; decimals beyond the precision of `fractMult` are dropped; `""`, `"."` and `"\n"` are 0.0.
 * With `scaleDb`, `" dB"` and `"dB"` are skipped wherever they occur. Any other character is `-EINVAL`.
 *
 * `fractMult` is the weight of the first decimal ({@link IIO_FRACT_MULT_MICRO} for INT_PLUS_MICRO,
 * {@link IIO_FRACT_MULT_NANO} for INT_PLUS_NANO); 0 parses with `kstrtoint(s, 0)` and fract 0.
 * A negative value puts its sign on `integer`, or on `fract` when the integer part is 0 (`"-0.5"` →
 * `{ integer: 0, fract: -500000 }`). The integer part accumulates in C `int` arithmetic and wraps
 * modulo 2^32 on overflow, as the kernel (built with `-fno-strict-overflow`) does.
 *
 * Mirrors `__iio_str_to_fixpoint()` (drivers/iio/industrialio-core.c).
 */
export function iioStrToFixpoint(s: string, fractMult: number, scaleDb = false): KResult<IioFixpoint> {
  const str = cString(s);
  if (fractMult === 0) {
    const r = kstrtoint(str, 0);
    return r.ok ? ok({ integer: r.value, fract: 0 }) : r;
  }

  let pos = 0;
  let negative = false;
  const first = byteAt(str, 0);
  if (first === CH_MINUS) {
    negative = true;
    pos++;
  } else if (first === CH_PLUS) {
    pos++;
  }

  let i = 0;
  let f = 0;
  let mult = fractMult | 0;
  let integerPart = true;
  while (pos < str.length) {
    const c = str.charCodeAt(pos);
    if (c >= CH_0 && c <= CH_9) {
      if (integerPart) {
        i = (Math.imul(i, 10) + (c - CH_0)) | 0;
      } else {
        f = (f + Math.imul(mult, c - CH_0)) | 0;
        mult = (mult / 10) | 0;
      }
    } else if (c === CH_NL) {
      if (pos + 1 === str.length) break;
      return fail(-EINVAL);
    } else if (scaleDb && str.startsWith(' dB', pos)) {
      pos += 3;
      continue;
    } else if (scaleDb && str.startsWith('dB', pos)) {
      pos += 2;
      continue;
    } else if (c === CH_DOT && integerPart) {
      integerPart = false;
    } else {
      return fail(-EINVAL);
    }
    pos++;
  }

  if (negative) {
    // `| 0` keeps -0 out of the results and wraps -INT_MIN like C.
    if (i !== 0) i = -i | 0;
    else f = -f | 0;
  }
  return ok({ integer: i, fract: f });
}
