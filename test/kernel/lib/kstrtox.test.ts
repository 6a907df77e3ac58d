import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IIO_FRACT_MULT_MICRO,
  IIO_FRACT_MULT_NANO,
  iioStrToFixpoint,
  kstrtobool,
  kstrtoint,
  kstrtoll,
  kstrtouint,
  kstrtoull,
} from '../../../src/kernel/lib/kstrtox.ts';
import { EINVAL, ERANGE } from '../../../src/uapi/errno.ts';

const val = <T>(value: T) => ({ ok: true, value });
const err = (errno: number) => ({ ok: false, errno });

describe('kstrtouint', () => {
  it.each([
    ['0', 0],
    ['4096', 4096],
    ['4096\n', 4096],
    ['+5', 5],
    ['+5\n', 5],
    ['007', 7],
    ['0000000000000000000000000000001', 1],
    ['4294967295', 4294967295],
    ['4294967295\n', 4294967295],
  ])('PARSE-1: %j parses to %d', (s, n) => {
    expect(kstrtouint(s, 10)).toEqual(val(n));
  });

  it('PARSE-1: base defaults to 10', () => {
    expect(kstrtouint('010')).toEqual(val(10));
  });

  it('PARSE-1: bytes after a NUL are invisible (the kernel sees a C string)', () => {
    expect(kstrtouint('5\0junk')).toEqual(val(5));
    expect(kstrtouint('5\n\0\n')).toEqual(val(5));
  });

  it.each([
    '',
    '-',
    '+',
    '-1',
    '-0',
    ' 1',
    '1 ',
    '\t1',
    '1\n\n',
    '\n',
    '1\r\n',
    '0x10',
    '12abc',
    '1.5',
    '++1',
    '+-1',
    '\0',
    '\u00b9',
  ])('PARSE-2: %j is -EINVAL', (s) => {
    expect(kstrtouint(s, 10)).toEqual(err(-EINVAL));
  });

  it.each([
    '4294967296',
    '4294967296\n',
    '+4294967296',
    '18446744073709551615',
    '18446744073709551616',
    '999999999999999999999999999999',
    '999999999999999999999999999999\n',
  ])('PARSE-3: %j is -ERANGE', (s) => {
    expect(kstrtouint(s, 10)).toEqual(err(-ERANGE));
  });

  it('PARSE-3: 4294967296 is -ERANGE', () => {
    expect(kstrtouint('4294967296')).toEqual(err(-ERANGE));
  });

  it('PARSE-3: a u64 overflow wins over trailing junk (-ERANGE)', () => {
    expect(kstrtouint('99999999999999999999999x')).toEqual(err(-ERANGE));
    expect(kstrtouint('99999999999999999999999\n\n')).toEqual(err(-ERANGE));
  });

  it('PARSE-2: trailing junk wins over a uint-only overflow (-EINVAL)', () => {
    expect(kstrtouint('4294967296x')).toEqual(err(-EINVAL));
  });

  it('PARSE-1: base 16 accepts an optional 0x prefix', () => {
    expect(kstrtouint('0x10', 16)).toEqual(val(16));
    expect(kstrtouint('0X1f\n', 16)).toEqual(val(31));
    expect(kstrtouint('10', 16)).toEqual(val(16));
    expect(kstrtouint('ffffffff', 16)).toEqual(val(4294967295));
  });

  it('PARSE-2: base 16 with a bare 0x or a non-hex digit is -EINVAL', () => {
    expect(kstrtouint('0x', 16)).toEqual(err(-EINVAL));
    expect(kstrtouint('0xg', 16)).toEqual(err(-EINVAL));
    expect(kstrtouint('fg', 16)).toEqual(err(-EINVAL));
  });

  it('PARSE-3: base 16 above 0xffffffff is -ERANGE', () => {
    expect(kstrtouint('100000000', 16)).toEqual(err(-ERANGE));
  });

  it('PARSE-1: base 0 detects 0x hex, leading-0 octal and decimal', () => {
    expect(kstrtouint('0x10', 0)).toEqual(val(16));
    expect(kstrtouint('010', 0)).toEqual(val(8));
    expect(kstrtouint('0', 0)).toEqual(val(0));
    expect(kstrtouint('10\n', 0)).toEqual(val(10));
  });

  it.each(['08', '0x', '0xg', '0x\n'])('PARSE-2: base 0 %j is -EINVAL', (s) => {
    expect(kstrtouint(s, 0)).toEqual(err(-EINVAL));
  });

  it('PARSE-1: every uint32 round-trips through its decimal text, with or without a trailing newline', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4294967295 }), (n) => {
        expect(kstrtouint(String(n))).toEqual(val(n));
        expect(kstrtouint(`${String(n)}\n`)).toEqual(kstrtouint(String(n)));
      }),
    );
  });

  it('PARSE-3: any digit string is its value up to UINT_MAX, else -ERANGE', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,30}$/), (s) => {
        const n = BigInt(s);
        expect(kstrtouint(s)).toEqual(n > 4294967295n ? err(-ERANGE) : val(Number(n)));
      }),
    );
  });
});

describe('kstrtoint', () => {
  it.each([
    ['5', 5],
    ['-5', -5],
    ['+5', 5],
    ['5\n', 5],
    ['0x1f', 31],
    ['0X1F', 31],
    ['-0x10', -16],
    ['017', 15],
    ['-017', -15],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
    ['0x7fffffff', 2147483647],
  ])('PARSE-6: base 0 %j parses to %d', (s, n) => {
    expect(kstrtoint(s, 0)).toEqual(val(n));
  });

  it('PARSE-6: "-0" is +0', () => {
    const r = kstrtoint('-0', 0);
    expect(r.ok && Object.is(r.value, 0)).toBe(true);
  });

  it.each(['2147483648', '-2147483649', '0x80000000', '99999999999999999999999'])(
    'PARSE-6: %j is -ERANGE',
    (s) => {
      expect(kstrtoint(s, 0)).toEqual(err(-ERANGE));
    },
  );

  it.each(['', '-', '+', '--1', '-+1', '+-1', '5\n\n', ' 5', '1.5', '08', '-\n', '0x'])(
    'PARSE-6: %j is -EINVAL',
    (s) => {
      expect(kstrtoint(s, 0)).toEqual(err(-EINVAL));
    },
  );

  it('PARSE-6: base 10 does not take a 0x prefix', () => {
    expect(kstrtoint('0x10', 10)).toEqual(err(-EINVAL));
    expect(kstrtoint('-010', 10)).toEqual(val(-10));
  });
});

describe('kstrtoull / kstrtoll', () => {
  it('PARSE-1: kstrtoull covers the full u64 range', () => {
    expect(kstrtoull('18446744073709551615')).toEqual(val(18446744073709551615n));
    expect(kstrtoull('0xffffffffffffffff', 0)).toEqual(val(18446744073709551615n));
  });

  it('PARSE-3: kstrtoull above 2^64-1 is -ERANGE', () => {
    expect(kstrtoull('18446744073709551616')).toEqual(err(-ERANGE));
    expect(kstrtoull('0x10000000000000000', 0)).toEqual(err(-ERANGE));
  });

  it('PARSE-6: kstrtoll covers [-2^63, 2^63-1]', () => {
    expect(kstrtoll('-9223372036854775808')).toEqual(val(-9223372036854775808n));
    expect(kstrtoll('9223372036854775807')).toEqual(val(9223372036854775807n));
  });

  it('PARSE-6: kstrtoll outside [-2^63, 2^63-1] is -ERANGE', () => {
    expect(kstrtoll('9223372036854775808')).toEqual(err(-ERANGE));
    expect(kstrtoll('-9223372036854775809')).toEqual(err(-ERANGE));
    expect(kstrtoll('-18446744073709551615')).toEqual(err(-ERANGE));
  });

  it('PARSE-6: kstrtoll takes one sign only', () => {
    expect(kstrtoll('-+1')).toEqual(err(-EINVAL));
    expect(kstrtoll('+-1')).toEqual(err(-EINVAL));
  });
});

describe('kstrtobool', () => {
  it.each([
    ['y', true],
    ['Y', true],
    ['t', true],
    ['T', true],
    ['e', true],
    ['E', true],
    ['1', true],
    ['n', false],
    ['N', false],
    ['f', false],
    ['F', false],
    ['d', false],
    ['D', false],
    ['0', false],
    ['on', true],
    ['ON', true],
    ['oN', true],
    ['On', true],
    ['of', false],
    ['off', false],
    ['OFF', false],
    ['Of', false],
    ['1\n', true],
    ['0\n', false],
    ['true', true],
    ['enable', true],
    ['yes please', true],
    ['disable', false],
    ['10', true],
    ['01', false],
    ['nope', false],
    ['false', false],
    ['1\n\n', true],
    ['ongoing', true],
    ['1\0', true],
  ])('PARSE-4: %j is %s', (s, b) => {
    expect(kstrtobool(s)).toEqual(val(b));
  });

  it.each(['', '2', ' 1', '\n', 'o', 'O', 'x', 'o1', 'O\n', 'ox', '\0', '\u00ff', '-1', '+1'])(
    'PARSE-5: %j is -EINVAL',
    (s) => {
      expect(kstrtobool(s)).toEqual(err(-EINVAL));
    },
  );

  it('PARSE-5: a NUL right after o ends the string (-EINVAL)', () => {
    expect(kstrtobool('o\0n')).toEqual(err(-EINVAL));
  });
});

describe('iioStrToFixpoint', () => {
  const micro = (s: string) => iioStrToFixpoint(s, IIO_FRACT_MULT_MICRO);

  it.each([
    ['1.5', 1, 500000],
    ['1.5\n', 1, 500000],
    ['+2.25', 2, 250000],
    ['-1.5', -1, 500000],
    ['-0.5', 0, -500000],
    ['-.5', 0, -500000],
    ['1000', 1000, 0],
    ['1000\n', 1000, 0],
    ['1.', 1, 0],
    ['1.\n', 1, 0],
    ['.5', 0, 500000],
    ['0.000001', 0, 1],
    ['1.1234567', 1, 123456],
    ['1.9999999999', 1, 999999],
    ['007.070', 7, 70000],
    ['', 0, 0],
    ['.', 0, 0],
    ['\n', 0, 0],
    ['-', 0, 0],
    ['+', 0, 0],
    ['-0', 0, 0],
    ['-.', 0, 0],
    ['5\0garbage', 5, 0],
  ])('PARSE-7: %j is (%d, %d)', (s, integer, fract) => {
    const r = micro(s);
    expect(r).toEqual(val({ integer, fract }));
    // No -0 leaks out of the sign handling.
    expect(r.ok && Object.is(r.value.integer, integer) && Object.is(r.value.fract, fract)).toBe(true);
  });

  it.each([
    '1.2.3',
    '1\n\n',
    '1\nx',
    '\n1',
    ' 1',
    '1 ',
    '1e3',
    '--1',
    '+-1',
    '-+1',
    '0x10',
    '1,5',
    '1.5 dB',
    '1dB',
    'abc',
  ])('PARSE-7: %j is -EINVAL', (s) => {
    expect(micro(s)).toEqual(err(-EINVAL));
  });

  it('PARSE-7: fract_mult 100000000 gives nano units', () => {
    expect(iioStrToFixpoint('0.5', IIO_FRACT_MULT_NANO)).toEqual(val({ integer: 0, fract: 500000000 }));
    expect(iioStrToFixpoint('-0.000000001', IIO_FRACT_MULT_NANO)).toEqual(val({ integer: 0, fract: -1 }));
    expect(iioStrToFixpoint('3.1234567891', IIO_FRACT_MULT_NANO)).toEqual(
      val({ integer: 3, fract: 123456789 }),
    );
  });

  it('PARSE-7: with scale_db, " dB" and "dB" are skipped', () => {
    expect(iioStrToFixpoint('1.5 dB', IIO_FRACT_MULT_MICRO, true)).toEqual(
      val({ integer: 1, fract: 500000 }),
    );
    expect(iioStrToFixpoint('-1.5dB\n', IIO_FRACT_MULT_MICRO, true)).toEqual(
      val({ integer: -1, fract: 500000 }),
    );
    expect(iioStrToFixpoint('1.5 d', IIO_FRACT_MULT_MICRO, true)).toEqual(err(-EINVAL));
  });

  it('PARSE-7: the integer part wraps modulo 2^32 like C int arithmetic', () => {
    expect(micro('4294967297')).toEqual(val({ integer: 1, fract: 0 }));
    expect(micro('2147483648')).toEqual(val({ integer: -2147483648, fract: 0 }));
    expect(micro('-2147483648')).toEqual(val({ integer: -2147483648, fract: 0 }));
  });

  it('PARSE-6: fract_mult 0 parses with kstrtoint base 0 and fract 0', () => {
    expect(iioStrToFixpoint('0x10', 0)).toEqual(val({ integer: 16, fract: 0 }));
    expect(iioStrToFixpoint('-010\n', 0)).toEqual(val({ integer: -8, fract: 0 }));
    expect(iioStrToFixpoint('1.5', 0)).toEqual(err(-EINVAL));
    expect(iioStrToFixpoint('2147483648', 0)).toEqual(err(-ERANGE));
  });
});
