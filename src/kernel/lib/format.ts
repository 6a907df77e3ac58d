/**
 * Text the IIO core shows in sysfs for channel values and scan element types. Every function returns
 * the text without the trailing `'\n'`; callers append it.
 */

/** Plain integer, shown as `"%d"` (include/linux/iio/types.h). */
export const IIO_VAL_INT = 1;
/** Integer plus micro units, shown as `"%d.%06u"` (include/linux/iio/types.h). */
export const IIO_VAL_INT_PLUS_MICRO = 2;
/** Integer plus nano units, shown as `"%d.%09u"` (include/linux/iio/types.h). */
export const IIO_VAL_INT_PLUS_NANO = 3;
/** Integer plus micro units with a `" dB"` suffix (include/linux/iio/types.h). */
export const IIO_VAL_INT_PLUS_MICRO_DB = 4;
/** Several integers, each shown as `"%d "` (include/linux/iio/types.h). */
export const IIO_VAL_INT_MULTIPLE = 5;
/** 64-bit integer: vals[0] low 32 bits, vals[1] high 32 bits (include/linux/iio/types.h). */
export const IIO_VAL_INT_64 = 6;
/** vals[0] / vals[1], shown with 9 decimals (include/linux/iio/types.h). */
export const IIO_VAL_FRACTIONAL = 10;
/** vals[0] / 2^vals[1], shown with 9 decimals (include/linux/iio/types.h). */
export const IIO_VAL_FRACTIONAL_LOG2 = 11;
/** One character, vals[0] (include/linux/iio/types.h). */
export const IIO_VAL_CHAR = 12;
/** Base of the IIO_VAL_DECIMAL64_* types: type - base = decimals (include/linux/iio/types.h). */
export const IIO_VAL_DECIMAL64_BASE = 32;
/** 64-bit fixed point with 3 decimals (include/linux/iio/types.h). */
export const IIO_VAL_DECIMAL64_MILLI = IIO_VAL_DECIMAL64_BASE + 3;
/** 64-bit fixed point with 6 decimals (include/linux/iio/types.h). */
export const IIO_VAL_DECIMAL64_MICRO = IIO_VAL_DECIMAL64_BASE + 6;
/** 64-bit fixed point with 9 decimals (include/linux/iio/types.h). */
export const IIO_VAL_DECIMAL64_NANO = IIO_VAL_DECIMAL64_BASE + 9;
/** 64-bit fixed point with 12 decimals (include/linux/iio/types.h). */
export const IIO_VAL_DECIMAL64_PICO = IIO_VAL_DECIMAL64_BASE + 12;
/** 64-bit fixed point with 15 decimals (include/linux/iio/types.h). */
export const IIO_VAL_DECIMAL64_FEMTO = IIO_VAL_DECIMAL64_BASE + 15;

/** Scan element type as `iio_show_fixed_type()` reads it from `struct iio_scan_type`. */
export interface ScanTypeFormat {
  /** `'s'` signed or `'u'` unsigned. */
  sign: 's' | 'u';
  /** Number of valid bits. */
  realbits: number;
  /** Bits of storage per sample (realbits plus padding). */
  storagebits: number;
  /** Right shift applied before masking realbits. */
  shift: number;
  /** Byte order; `'cpu'` shows as `le` (the simulated CPU is little-endian). */
  endianness: 'le' | 'be' | 'cpu';
  /** Number of repetitions; shown only when greater than 1. */
  repeat?: number;
}

/** `%d` of a C int. */
function fmtD(v: number): string {
  return String(v | 0);
}

/** `%u` of a C int, zero-padded to `width`. */
function fmtU(v: number, width: number): string {
  return String(v >>> 0).padStart(width, '0');
}

/** C `abs()` on an int: abs(INT_MIN) stays INT_MIN. */
function absInt(v: number): number {
  return Math.abs(v | 0) | 0;
}

/** Mirrors `iio_val_s64_compose()` (include/linux/iio/types.h). */
function compose64(val0: number, val1: number): bigint {
  return BigInt.asIntN(64, (BigInt(val1 >>> 0) << 32n) | BigInt(val0 >>> 0));
}

function bigAbs(v: bigint): bigint {
  return v < 0n ? -v : v;
}

/** `"%d.%09u"` of a value in nano units, with `"-0."` when it is negative above -1. */
function fmtNanoS64(tmp2: bigint): string {
  const tmp0 = Number(BigInt.asIntN(32, tmp2 / 1000000000n));
  const tmp1 = Number(tmp2 % 1000000000n);
  const frac = String(Math.abs(tmp1)).padStart(9, '0');
  if (tmp2 < 0n && tmp0 === 0) return `-0.${frac}`;
  return `${fmtD(tmp0)}.${frac}`;
}

/** `"%d.%0<w>u"` of two ints with the negative-with-absolute-parts rule. */
function fmtIntPlus(vals: readonly number[], width: number): string {
  const v0 = vals[0] ?? 0;
  const v1 = vals[1] ?? 0;
  if ((v1 | 0) < 0) return `-${fmtD(absInt(v0))}.${fmtU(-v1 | 0, width)}`;
  return `${fmtD(v0)}.${fmtU(v1, width)}`;
}

/**
 * Formats a channel value as the IIO core shows it, without the trailing `'\n'` (rule ATTR-2 for
 * IIO_VAL_INT and IIO_VAL_INT_PLUS_MICRO). `vals` are C ints (coerced with `| 0`); missing entries
 * read as 0; `vals.length` is the entry count for IIO_VAL_INT_MULTIPLE.
 *
 * - IIO_VAL_INT: `"%d"` of vals[0].
 * - IIO_VAL_INT_PLUS_MICRO(_DB) / _NANO: `"%d.%06u"` / `"%d.%09u"`; when vals[1] < 0,
 *   `"-%d.%06u"` of abs(vals[0]) and -vals[1] (so (0, -500000) is `"-0.500000"`); `_DB` appends `" dB"`.
 * - IIO_VAL_FRACTIONAL: vals[0]/vals[1] truncated to nano units, `"%d.%09u"`, `"-0."` for (-1, 0).
 * - IIO_VAL_FRACTIONAL_LOG2: vals[0] × 10^9 shifted right by vals[1] toward zero, same layout.
 * - IIO_VAL_INT_MULTIPLE: `"%d "` per entry; IIO_VAL_CHAR: `"%c"`; IIO_VAL_INT_64: `"%lld"`.
 * - IIO_VAL_DECIMAL64_*: `"%lld.%0*lld"`, prefixed by `"-"` when the integer part is 0 and the value
 *   negative.
 * - Any other type: `""` (the kernel emits nothing).
 *
 * Throws a `RangeError` for IIO_VAL_FRACTIONAL with vals[1] = 0: a simulated-driver bug that would
 * oops the kernel (division by zero), never the result of user input.
 *
 * Mirrors `__iio_format_value()` (drivers/iio/industrialio-core.c), as called by `iio_format_value()`.
 */
export function formatIioValue(type: number, vals: readonly number[]): string {
  const v0 = vals[0] ?? 0;
  const v1 = vals[1] ?? 0;
  switch (type) {
    case IIO_VAL_INT:
      return fmtD(v0);
    case IIO_VAL_INT_PLUS_MICRO:
      return fmtIntPlus(vals, 6);
    case IIO_VAL_INT_PLUS_MICRO_DB:
      return `${fmtIntPlus(vals, 6)} dB`;
    case IIO_VAL_INT_PLUS_NANO:
      return fmtIntPlus(vals, 9);
    case IIO_VAL_FRACTIONAL: {
      if ((v1 | 0) === 0) throw new RangeError('IIO_VAL_FRACTIONAL with denominator 0 (kernel divide error)');
      return fmtNanoS64((BigInt(v0 | 0) * 1000000000n) / BigInt(v1 | 0));
    }
    case IIO_VAL_FRACTIONAL_LOG2: {
      // x86 masks 64-bit shift counts to 6 bits; the C shift by >= 64 is otherwise undefined.
      const sh = BigInt(v1 & 63);
      const x = BigInt(v0 | 0) * 1000000000n;
      return fmtNanoS64(x < 0n ? -(-x >> sh) : x >> sh);
    }
    case IIO_VAL_INT_MULTIPLE:
      return vals.map((v) => `${fmtD(v)} `).join('');
    case IIO_VAL_CHAR:
      return String.fromCharCode(v0 & 0xff);
    case IIO_VAL_INT_64:
      return String(compose64(v0, v1));
    case IIO_VAL_DECIMAL64_MILLI:
    case IIO_VAL_DECIMAL64_MICRO:
    case IIO_VAL_DECIMAL64_NANO:
    case IIO_VAL_DECIMAL64_PICO:
    case IIO_VAL_DECIMAL64_FEMTO: {
      const scale = type - IIO_VAL_DECIMAL64_BASE;
      const x = compose64(v0, v1);
      const div = 10n ** BigInt(scale);
      const q = x / div;
      const frac = x % div;
      const sign = q === 0n && frac < 0n ? '-' : '';
      return `${sign}${q}.${String(bigAbs(frac)).padStart(scale, '0')}`;
    }
    default:
      return '';
  }
}

/**
 * Formats a scan element's `_type` attribute without the trailing `'\n'` (rule ATTR-20):
 * `"le:s12/16>>0"`, or with repeat > 1 `"le:s12/16X4>>0"`. Fields are `u8` in the kernel and are
 * masked to 8 bits here; `cpu` endianness shows as `le`.
 *
 * Mirrors `iio_show_fixed_type()` (drivers/iio/industrialio-buffer.c).
 */
export function formatScanType(t: ScanTypeFormat): string {
  const endian = t.endianness === 'be' ? 'be' : 'le';
  const repeat = (t.repeat ?? 0) & 0xff;
  const bits = `${t.realbits & 0xff}/${t.storagebits & 0xff}`;
  const rep = repeat > 1 ? `X${repeat}` : '';
  return `${endian}:${t.sign}${bits}${rep}>>${t.shift & 0xff}`;
}
