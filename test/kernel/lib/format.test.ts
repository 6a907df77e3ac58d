import { describe, expect, it } from 'vitest';
import {
  formatIioValue,
  formatScanType,
  IIO_VAL_CHAR,
  IIO_VAL_DECIMAL64_MICRO,
  IIO_VAL_DECIMAL64_MILLI,
  IIO_VAL_FRACTIONAL,
  IIO_VAL_FRACTIONAL_LOG2,
  IIO_VAL_INT,
  IIO_VAL_INT_64,
  IIO_VAL_INT_MULTIPLE,
  IIO_VAL_INT_PLUS_MICRO,
  IIO_VAL_INT_PLUS_MICRO_DB,
  IIO_VAL_INT_PLUS_NANO,
} from '../../../src/kernel/lib/format.ts';

describe('formatIioValue', () => {
  it('uses the kernel IIO_VAL_* numbers', () => {
    expect([IIO_VAL_INT, IIO_VAL_INT_PLUS_MICRO, IIO_VAL_INT_PLUS_NANO, IIO_VAL_INT_PLUS_MICRO_DB]).toEqual([
      1, 2, 3, 4,
    ]);
    expect([IIO_VAL_INT_MULTIPLE, IIO_VAL_INT_64, IIO_VAL_FRACTIONAL, IIO_VAL_FRACTIONAL_LOG2]).toEqual([
      5, 6, 10, 11,
    ]);
    expect([IIO_VAL_CHAR, IIO_VAL_DECIMAL64_MILLI, IIO_VAL_DECIMAL64_MICRO]).toEqual([12, 35, 38]);
  });

  it.each([
    [[0], '0'],
    [[100], '100'],
    [[-5], '-5'],
    [[2147483647], '2147483647'],
    [[-2147483648], '-2147483648'],
    [[7, 123], '7'],
  ])('ATTR-2: INT %j is %j', (vals, text) => {
    expect(formatIioValue(IIO_VAL_INT, vals)).toBe(text);
  });

  it.each([
    [[1, 500000], '1.500000'],
    [[100, 0], '100.000000'],
    [[0, 5], '0.000005'],
    [[0, 0], '0.000000'],
    [[0, -500000], '-0.500000'],
    [[-1, -500000], '-1.500000'],
    [[-1, 500000], '-1.500000'],
    [[-3, 0], '-3.000000'],
    [[1, 1000000], '1.1000000'],
    [[5], '5.000000'],
  ])('ATTR-2: INT_PLUS_MICRO %j is %j', (vals, text) => {
    expect(formatIioValue(IIO_VAL_INT_PLUS_MICRO, vals)).toBe(text);
  });

  it('ATTR-2: INT_PLUS_MICRO_DB appends " dB"', () => {
    expect(formatIioValue(IIO_VAL_INT_PLUS_MICRO_DB, [1, 500000])).toBe('1.500000 dB');
    expect(formatIioValue(IIO_VAL_INT_PLUS_MICRO_DB, [0, -5])).toBe('-0.000005 dB');
  });

  it.each([
    [[1, 5], '1.000000005'],
    [[0, -5], '-0.000000005'],
    [[-2, -500000000], '-2.500000000'],
    [[-2, 500000000], '-2.500000000'],
  ])('INT_PLUS_NANO %j is %j', (vals, text) => {
    expect(formatIioValue(IIO_VAL_INT_PLUS_NANO, vals)).toBe(text);
  });

  it.each([
    [[1, 3], '0.333333333'],
    [[-1, 3], '-0.333333333'],
    [[1, -3], '-0.333333333'],
    [[-4, 3], '-1.333333333'],
    [[10, 2], '5.000000000'],
    [[2147483647, 1], '2147483647.000000000'],
  ])('FRACTIONAL %j is %j', (vals, text) => {
    expect(formatIioValue(IIO_VAL_FRACTIONAL, vals)).toBe(text);
  });

  it('FRACTIONAL with denominator 0 is a driver bug and throws', () => {
    expect(() => formatIioValue(IIO_VAL_FRACTIONAL, [1, 0])).toThrow(RangeError);
  });

  it.each([
    [[1, 1], '0.500000000'],
    [[-1, 1], '-0.500000000'],
    [[3, 1], '1.500000000'],
    [[-3, 2], '-0.750000000'],
    [[4096, 12], '1.000000000'],
    [[1, 0], '1.000000000'],
  ])('FRACTIONAL_LOG2 %j is %j', (vals, text) => {
    expect(formatIioValue(IIO_VAL_FRACTIONAL_LOG2, vals)).toBe(text);
  });

  it('INT_MULTIPLE, CHAR and INT_64', () => {
    expect(formatIioValue(IIO_VAL_INT_MULTIPLE, [1, -2, 3])).toBe('1 -2 3 ');
    expect(formatIioValue(IIO_VAL_CHAR, [65])).toBe('A');
    expect(formatIioValue(IIO_VAL_INT_64, [0, 1])).toBe('4294967296');
    expect(formatIioValue(IIO_VAL_INT_64, [-1, -1])).toBe('-1');
    expect(formatIioValue(IIO_VAL_INT_64, [-1, 0x7fffffff])).toBe('9223372036854775807');
  });

  it('DECIMAL64 types', () => {
    expect(formatIioValue(IIO_VAL_DECIMAL64_MILLI, [1234, 0])).toBe('1.234');
    expect(formatIioValue(IIO_VAL_DECIMAL64_MILLI, [-5, -1])).toBe('-0.005');
    expect(formatIioValue(IIO_VAL_DECIMAL64_MILLI, [-1234, -1])).toBe('-1.234');
    expect(formatIioValue(IIO_VAL_DECIMAL64_MICRO, [0, 1])).toBe('4294.967296');
  });

  it('an unknown type shows nothing', () => {
    expect(formatIioValue(99, [1, 2])).toBe('');
  });
});

describe('formatScanType', () => {
  it('ATTR-20: le:s12/16>>0', () => {
    expect(formatScanType({ sign: 's', realbits: 12, storagebits: 16, shift: 0, endianness: 'le' })).toBe(
      'le:s12/16>>0',
    );
  });

  it('ATTR-20: big-endian unsigned with a shift', () => {
    expect(formatScanType({ sign: 'u', realbits: 24, storagebits: 32, shift: 8, endianness: 'be' })).toBe(
      'be:u24/32>>8',
    );
  });

  it('ATTR-20: repeat > 1 adds X<repeat>', () => {
    expect(
      formatScanType({ sign: 's', realbits: 12, storagebits: 16, shift: 0, endianness: 'le', repeat: 4 }),
    ).toBe('le:s12/16X4>>0');
  });

  it('ATTR-20: repeat 1 or 0 is not shown', () => {
    expect(
      formatScanType({ sign: 'u', realbits: 8, storagebits: 8, shift: 0, endianness: 'le', repeat: 1 }),
    ).toBe('le:u8/8>>0');
    expect(
      formatScanType({ sign: 'u', realbits: 8, storagebits: 8, shift: 0, endianness: 'le', repeat: 0 }),
    ).toBe('le:u8/8>>0');
  });

  it('ATTR-20: CPU order shows le', () => {
    expect(formatScanType({ sign: 's', realbits: 64, storagebits: 64, shift: 0, endianness: 'cpu' })).toBe(
      'le:s64/64>>0',
    );
  });
});
