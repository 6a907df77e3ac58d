import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { StructOf } from '../../src/uapi/struct.ts';
import {
  ABIS,
  defineStruct,
  quoteCString,
  SIZEOF_INT,
  sizeofLong,
  sizeofPointer,
} from '../../src/uapi/struct.ts';

const mixed = defineStruct('mixed', [
  ['a', 'u8'],
  ['b', 'u64'],
  ['c', 'u16'],
  ['p', 'ptr'],
  ['d', 's8'],
]);

const ints = defineStruct('ints', [
  ['u8', 'u8'],
  ['s8', 's8'],
  ['u16', 'u16'],
  ['s16', 's16'],
  ['u32', 'u32'],
  ['s32', 's32'],
  ['u64', 'u64'],
  ['s64', 's64'],
]);

const named = defineStruct('named', [
  ['name', 'char[8]'],
  ['n', 'u32'],
]);

describe('layout rules (rulebook 1.4, 13)', () => {
  it('13: sizeof int, pointer and long per ABI', () => {
    expect(SIZEOF_INT).toBe(4);
    expect([sizeofPointer('lp64'), sizeofPointer('ilp32')]).toEqual([8, 4]);
    expect([sizeofLong('lp64'), sizeofLong('ilp32')]).toEqual([8, 4]);
  });

  it('1.4: LP64 aligns u64 and pointers to 8', () => {
    expect(mixed.layout('lp64').map((f) => [f.name, f.offset, f.size])).toEqual([
      ['a', 0, 1],
      ['b', 8, 8],
      ['c', 16, 2],
      ['p', 24, 8],
      ['d', 32, 1],
    ]);
    expect(mixed.size('lp64')).toBe(40);
    expect(mixed.align('lp64')).toBe(8);
  });

  it('1.4: ILP32 (i386) aligns u64 to 4 and has 4-byte pointers', () => {
    expect(mixed.layout('ilp32').map((f) => [f.name, f.offset, f.size])).toEqual([
      ['a', 0, 1],
      ['b', 4, 8],
      ['c', 12, 2],
      ['p', 16, 4],
      ['d', 20, 1],
    ]);
    expect(mixed.size('ilp32')).toBe(24);
    expect(mixed.align('ilp32')).toBe(4);
  });

  it('char arrays have alignment 1; the size rounds to the struct alignment', () => {
    const s = defineStruct('s', [
      ['n', 'u16'],
      ['c', 'char[3]'],
    ]);
    expect(s.offsetOf('c', 'lp64')).toBe(2);
    expect(s.size('lp64')).toBe(6);
    expect(s.align('ilp32')).toBe(2);
  });

  it('a flexible array member adds its alignment but no size', () => {
    const item = defineStruct('item', [['x', 'u64']]);
    const head = defineStruct('head', [['n', 'u32']], { flexibleArrayOf: item });
    expect([head.size('lp64'), head.align('lp64')]).toEqual([8, 8]);
    expect([head.size('ilp32'), head.align('ilp32')]).toEqual([4, 4]);
  });

  it('offsetOf an unknown field throws', () => {
    expect(() => mixed.offsetOf('zz' as 'a', 'lp64')).toThrow(RangeError);
  });

  it('malformed definitions throw', () => {
    expect(() => defineStruct('e', [])).toThrow(TypeError);
    expect(() =>
      defineStruct('dup', [
        ['a', 'u8'],
        ['a', 'u8'],
      ]),
    ).toThrow(TypeError);
    expect(() => defineStruct('z', [['c', 'char[0]']])).toThrow(TypeError);
  });

  it('fieldNames keeps declaration order', () => {
    expect(mixed.fieldNames).toEqual(['a', 'b', 'c', 'p', 'd']);
    expect(mixed.name).toBe('mixed');
  });
});

describe('encode/decode', () => {
  it.each(ABIS)('round-trips every integer type at its limits (%s)', (abi) => {
    const v = {
      u8: 255,
      s8: -128,
      u16: 65535,
      s16: -32768,
      u32: 0xffffffff,
      s32: -(2 ** 31),
      u64: 2n ** 64n - 1n,
      s64: -(2n ** 63n),
    };
    expect(ints.decode(ints.encode(v, abi), abi)).toEqual(v);
  });

  it("u64 fields from numbers: safe integers exactly, fractions truncated, negatives two's complement", () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    expect(hex(ints.encode({ u64: 2 ** 53 - 1 }, 'lp64')).slice(32, 48)).toBe('ffffffffffff1f00');
    expect(hex(ints.encode({ u64: 4096.9 }, 'lp64')).slice(32, 48)).toBe('0010000000000000');
    expect(hex(ints.encode({ u64: -1 }, 'lp64')).slice(32, 48)).toBe('ffffffffffffffff');
  });

  it('a getter that encodes another struct while one is being encoded leaves both results intact', () => {
    const inner = { u8: 7, u64: 9 };
    const outer = {
      u8: 1,
      get u16() {
        ints.encode(inner, 'lp64');
        return 2;
      },
      u64: 3,
    };
    expect(ints.decode(ints.encode(outer, 'lp64'), 'lp64')).toMatchObject({ u8: 1, u16: 2, u64: 3n });
    expect(ints.decode(ints.encode(inner, 'lp64'), 'lp64')).toMatchObject({ u8: 7, u16: 0, u64: 9n });
  });

  it('missing fields encode as 0', () => {
    expect(ints.decode(ints.encode({}, 'lp64'), 'lp64')).toEqual({
      u8: 0,
      s8: 0,
      u16: 0,
      s16: 0,
      u32: 0,
      s32: 0,
      u64: 0n,
      s64: 0n,
    });
  });

  it('encoding truncates like a C assignment (two complement)', () => {
    const v = ints.decode(
      ints.encode(
        {
          u8: 0x1ff,
          s8: 0xff,
          u16: -1,
          s16: 0x18000,
          u32: -1,
          s32: 0xffffffff,
          u64: 2n ** 64n + 5n,
          s64: 2n ** 63n,
        },
        'lp64',
      ),
      'lp64',
    );
    expect(v).toEqual({
      u8: 0xff,
      s8: -1,
      u16: 0xffff,
      s16: -32768,
      u32: 0xffffffff,
      s32: -1,
      u64: 5n,
      s64: -(2n ** 63n),
    });
  });

  it('u64 truncation: negative numbers and bigints wrap to 2^64 - n', () => {
    const c = defineStruct('c', [['x', 'u64']]);
    expect(c.decode(c.encode({ x: -1 }, 'lp64'), 'lp64').x).toBe(2n ** 64n - 1n);
    expect(c.decode(c.encode({ x: -4096n }, 'lp64'), 'lp64').x).toBe(2n ** 64n - 4096n);
    expect(c.decode(c.encode({ x: 2n ** 70n + 1n }, 'lp64'), 'lp64').x).toBe(1n);
    expect(c.decode(c.encode({ x: 2 ** 60 }, 'lp64'), 'lp64').x).toBe(2n ** 60n);
  });

  it('non-integer numbers truncate toward zero; NaN and Infinity encode as 0', () => {
    const c = defineStruct('c', [
      ['x', 'u64'],
      ['y', 'u32'],
    ]);
    expect(c.decode(c.encode({ x: 4096.9, y: 7.7 }, 'lp64'), 'lp64')).toEqual({ x: 4096n, y: 7 });
    expect(c.decode(c.encode({ x: Number.NaN, y: Number.POSITIVE_INFINITY }, 'lp64'), 'lp64')).toEqual({
      x: 0n,
      y: 0,
    });
  });

  it('little-endian byte order', () => {
    const c = defineStruct('c', [
      ['a', 'u32'],
      ['b', 'u64'],
    ]);
    expect(c.encode({ a: 0x11223344, b: 0x0102030405060708n }, 'ilp32')).toEqual(
      new Uint8Array([0x44, 0x33, 0x22, 0x11, 8, 7, 6, 5, 4, 3, 2, 1]),
    );
  });

  it('pointers are 8 bytes on LP64 and 4 on ILP32, decoded as numbers', () => {
    const c = defineStruct('c', [['p', 'ptr']]);
    expect(c.encode({ p: 0x7ffe_cef2_f01c }, 'lp64')).toEqual(
      new Uint8Array([0x1c, 0xf0, 0xf2, 0xce, 0xfe, 0x7f, 0, 0]),
    );
    expect(c.decode(c.encode({ p: 0x7ffe_cef2_f01c }, 'lp64'), 'lp64').p).toBe(0x7ffe_cef2_f01c);
    expect(c.encode({ p: 0xffffd000 }, 'ilp32')).toEqual(new Uint8Array([0x00, 0xd0, 0xff, 0xff]));
    expect(c.decode(c.encode({ p: 0x1_0000_1000 }, 'ilp32'), 'ilp32').p).toBe(0x1000);
    expect(c.format({ p: 0 })).toBe('{p=NULL}');
    expect(c.format({ p: 0x1000 })).toBe('{p=0x1000}');
  });

  it('decode reads from a subarray at a non-zero byteOffset', () => {
    const buf = new Uint8Array(20);
    buf.set(named.encode({ name: 'ab', n: 7 }, 'lp64'), 5);
    expect(named.decode(buf.subarray(5), 'lp64')).toEqual({ name: 'ab', n: 7 });
  });

  it('decode of a too-short buffer throws RangeError', () => {
    expect(() => named.decode(new Uint8Array(11), 'lp64')).toThrow(RangeError);
  });

  it('decode ignores bytes past the struct', () => {
    const bytes = new Uint8Array(16).fill(0xff);
    bytes.set(named.encode({ name: 'x', n: 1 }, 'lp64'));
    expect(named.decode(bytes, 'lp64')).toEqual({ name: 'x', n: 1 });
  });
});

describe('char arrays', () => {
  it('decode stops at the first NUL', () => {
    const bytes = new Uint8Array(12);
    bytes.set([0x61, 0x62, 0, 0x63]);
    expect(named.decode(bytes, 'lp64').name).toBe('ab');
  });

  it('a full array without NUL decodes all N bytes', () => {
    const bytes = named.encode({ name: 'abcdefgh' }, 'lp64');
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68]);
    expect(named.decode(bytes, 'lp64').name).toBe('abcdefgh');
  });

  it('encode truncates a long string to N bytes (strncpy semantics) and zero-fills a short one', () => {
    const bytes = named.encode({ name: 'abcdefghijk', n: 1 }, 'lp64');
    expect(named.decode(bytes, 'lp64')).toEqual({ name: 'abcdefgh', n: 1 });
    expect(Array.from(named.encode({ name: 'a' }, 'lp64').subarray(0, 8))).toEqual([
      0x61, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it('encode accepts raw bytes; the raw field stays reachable through layout()', () => {
    const bytes = named.encode({ name: new Uint8Array([0x78, 0, 0x79]) }, 'lp64');
    const f = named.layout('lp64')[0]!;
    expect(Array.from(bytes.subarray(f.offset, f.offset + f.size))).toEqual([0x78, 0, 0x79, 0, 0, 0, 0, 0]);
    expect(named.decode(bytes, 'lp64').name).toBe('x');
  });

  it('format quotes like a C string', () => {
    expect(named.format({ name: 'a"b\\c\n\x01', n: 3 })).toBe('{name="a\\"b\\\\c\\n\\1", n=3}');
    expect(quoteCString('iio')).toBe('"iio"');
    expect(quoteCString('\t\r\x7f')).toBe('"\\t\\r\\177"');
  });
});

describe('format', () => {
  it('prints decimal by default, bigint without suffix, and hex/ptr/function formats', () => {
    const c = defineStruct('c', [
      ['a', 's32'],
      ['b', 'u64'],
      ['h', 'u32', 'hex'],
      ['q', 'u64', 'ptr'],
      ['f', 'u32', (v) => `F${v}`],
    ]);
    expect(c.format({ a: -1, b: 2n ** 64n - 1n, h: 255, q: 0n, f: 3 })).toBe(
      '{a=-1, b=18446744073709551615, h=0xff, q=NULL, f=F3}',
    );
    expect(c.format({ a: 0, b: 0n, h: 0, q: 16n, f: 0 })).toBe('{a=0, b=0, h=0, q=0x10, f=F0}');
  });
});

describe('types', () => {
  it('inferred decoded types: 64-bit fields are bigint, char arrays string, others number', () => {
    expectTypeOf<StructOf<typeof ints>>().toEqualTypeOf<{
      u8: number;
      s8: number;
      u16: number;
      s16: number;
      u32: number;
      s32: number;
      u64: bigint;
      s64: bigint;
    }>();
    expectTypeOf<StructOf<typeof named>>().toEqualTypeOf<{ name: string; n: number }>();
  });

  it('explicitly typed form defineStruct<T>()', () => {
    interface Pair {
      lo: number;
      hi: bigint;
    }
    const pair = defineStruct<Pair>('pair', [
      ['lo', 'u32'],
      ['hi', 'u64'],
    ]);
    const v: Pair = pair.decode(pair.encode({ lo: 1, hi: 2 }, 'lp64'), 'lp64');
    expect(v).toEqual({ lo: 1, hi: 2n });
    expect(pair.size('ilp32')).toBe(12);
    expect(pair.size('lp64')).toBe(16);
  });
});

describe('properties', () => {
  it('decode(encode(v)) == v for in-range values, both ABIs', () => {
    fc.assert(
      fc.property(
        fc.record({
          u8: fc.integer({ min: 0, max: 255 }),
          s8: fc.integer({ min: -128, max: 127 }),
          u16: fc.integer({ min: 0, max: 0xffff }),
          s16: fc.integer({ min: -32768, max: 32767 }),
          u32: fc.nat({ max: 0xffffffff }),
          s32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          u64: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          s64: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        }),
        fc.constantFrom(...ABIS),
        (v, abi) => {
          expect(ints.decode(ints.encode(v, abi), abi)).toEqual(v);
        },
      ),
    );
  });

  it('u64 encoding is BigInt.asUintN(64) of any bigint', () => {
    const c = defineStruct('c', [['x', 'u64']]);
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }), (x) => {
        expect(c.decode(c.encode({ x }, 'lp64'), 'lp64').x).toBe(BigInt.asUintN(64, x));
      }),
    );
  });
});

describe('encodeTransient', () => {
  it('gives the bytes encode gives, in a buffer the next encode reuses (so a caller copies them at once)', () => {
    const v = { a: 0x12345678, b: 0xffn } as const;
    const s = defineStruct('pair', [
      ['a', 'u32'],
      ['b', 'u64'],
    ]);
    for (const abi of ['lp64', 'ilp32'] as const) {
      const fresh = s.encode(v, abi);
      const t = s.encodeTransient(v, abi);
      expect([...t]).toEqual([...fresh]);
      expect(t.length).toBe(s.size(abi));
      const copy = t.slice();
      s.encodeTransient({ a: 1, b: 2n }, abi);
      expect([...t]).not.toEqual([...copy]);
      expect([...t.subarray(0, 4)]).toEqual([1, 0, 0, 0]);
      // encode's result is the caller's own: a later encode leaves it alone.
      expect([...fresh]).toEqual([...copy]);
    }
  });
});
