import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeField,
  decodeFieldBigInt,
  encodeSample,
  encodeScans,
  readScanField,
  readScans,
  type ScanField,
  type ScanLayout,
  type ScanType,
  writeScans,
} from '../../src/hw/scan.ts';
import { createSignal, defaultAdcSignal } from '../../src/hw/signal.ts';

const S12LE: ScanType = { sign: 's', realbits: 12, storagebits: 16, shift: 0, endianness: 'le' };

function type(t: string): ScanType {
  const m = /^(le|be):([su])(\d+)\/(\d+)(?:X(\d+))?>>(\d+)$/.exec(t);
  if (m === null) throw new Error(`bad type ${t}`);
  const base: ScanType = {
    endianness: m[1] as 'le' | 'be',
    sign: m[2] as 's' | 'u',
    realbits: Number(m[3]),
    storagebits: Number(m[4]),
    shift: Number(m[6]),
  };
  return m[5] === undefined ? base : { ...base, repeat: Number(m[5]) };
}

function slots(t: ScanType): number {
  const r = t.repeat ?? 1;
  return r > 1 ? 2 ** Math.ceil(Math.log2(r)) : 1;
}

/** iio_compute_scan_bytes() (rule SCAN-1), as the kernel model computes it. */
function layoutOf(types: readonly ScanType[]): ScanLayout {
  let bytes = 0;
  let largest = 0;
  const fields: ScanField[] = types.map((t, channel) => {
    const len = (t.storagebits / 8) * slots(t);
    bytes = (bytes + len - 1) & ~(len - 1);
    const field = { channel, offset: bytes, type: t };
    bytes += len;
    largest = Math.max(largest, len);
    return field;
  });
  return { bytesPerScan: largest === 0 ? 0 : (bytes + largest - 1) & ~(largest - 1), fields };
}

function scanOf(layout: ScanLayout, values: readonly number[]): number[] {
  const dest = new Uint8Array(layout.bytesPerScan).fill(0xaa);
  writeScans(dest, 0, layout, 0, 1, (c) => values[c]!);
  return [...dest];
}

describe('encodeSample', () => {
  it('le:s12/16>>0: -2048 and 2047 encode to 0xf800 and 0x07ff', () => {
    expect(encodeSample(-2048, S12LE)).toBe(0xf800n);
    expect(encodeSample(2047, S12LE)).toBe(0x07ffn);
    expect(encodeSample(-1, S12LE)).toBe(0xffffn);
  });

  it('s fields sign-extend from realbits to the storage word, u fields zero-fill above realbits', () => {
    expect(encodeSample(4095, S12LE)).toBe(0xffffn);
    expect(encodeSample(0x1800, S12LE)).toBe(0xf800n);
    expect(encodeSample(-2048, type('le:u12/16>>0'))).toBe(0x0800n);
    expect(encodeSample(-1, type('le:s40/64>>0'))).toBe(2n ** 64n - 1n);
    expect(encodeSample(-1, type('le:u40/64>>0'))).toBe(2n ** 40n - 1n);
    expect(encodeSample(-1, type('le:s40/64>>8'))).toBe(2n ** 64n - 256n);
  });

  it('masks to realbits, shifts, then cuts to storagebits', () => {
    expect(encodeSample(-1, type('be:s12/16>>4'))).toBe(0xfff0n);
    expect(encodeSample(0x1234, type('le:u12/16>>0'))).toBe(0x234n);
    expect(encodeSample(0xff, type('le:u8/8>>4'))).toBe(0xf0n);
    expect(encodeSample(-1, type('le:s64/64>>0'))).toBe(0xffffffffffffffffn);
    expect(encodeSample(2 ** 40 + 3, type('le:u48/64>>8'))).toBe(0x1000000000300n);
    expect(encodeSample(-3.7, type('le:s8/8>>0'))).toBe(0xfdn);
    expect(encodeSample(Number.NaN, type('le:s8/8>>0'))).toBe(0n);
  });

  it('rejects invalid scan types with RangeError', () => {
    expect(() => encodeSample(0, type('le:s12/12>>0'))).toThrow(RangeError);
    expect(() => encodeSample(0, { ...S12LE, realbits: 0 })).toThrow(RangeError);
    expect(() => encodeSample(0, { ...S12LE, shift: 64 })).toThrow(RangeError);
    expect(() => encodeSample(0, { ...S12LE, repeat: 0 })).toThrow(RangeError);
  });
});

describe('writeScans byte layout', () => {
  const one = (t: ScanType): ScanLayout => ({
    bytesPerScan: t.storagebits / 8,
    fields: [{ channel: 0, offset: 0, type: t }],
  });

  it('le:s12/16>>0: -2048 → 00 f8, 2047 → ff 07', () => {
    expect(scanOf(one(S12LE), [-2048])).toEqual([0x00, 0xf8]);
    expect(scanOf(one(S12LE), [2047])).toEqual([0xff, 0x07]);
    expect(scanOf(one(S12LE), [-1])).toEqual([0xff, 0xff]);
    expect(scanOf(one(type('le:u12/16>>0')), [-1])).toEqual([0xff, 0x0f]);
  });

  it('be:s12/16>>0: -2048 → f8 00, 2047 → 07 ff', () => {
    expect(scanOf(one(type('be:s12/16>>0')), [-2048])).toEqual([0xf8, 0x00]);
    expect(scanOf(one(type('be:s12/16>>0')), [2047])).toEqual([0x07, 0xff]);
  });

  it('shifted fields: be:s12/16>>4 and le:u12/16>>4', () => {
    expect(scanOf(one(type('be:s12/16>>4')), [-2048])).toEqual([0x80, 0x00]);
    expect(scanOf(one(type('be:s12/16>>4')), [0x123])).toEqual([0x12, 0x30]);
    expect(scanOf(one(type('le:u12/16>>4')), [0xabc])).toEqual([0xc0, 0xab]);
    expect(scanOf(one(type('le:s14/16>>2')), [-1])).toEqual([0xfc, 0xff]);
  });

  it('32-bit fields in both byte orders', () => {
    expect(scanOf(one(type('le:s24/32>>8')), [-2])).toEqual([0x00, 0xfe, 0xff, 0xff]);
    expect(scanOf(one(type('be:u32/32>>0')), [0xdeadbeef])).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(scanOf(one(type('le:s32/32>>0')), [-(2 ** 31)])).toEqual([0x00, 0x00, 0x00, 0x80]);
  });

  it('64-bit fields (timestamps) in both byte orders', () => {
    const ts = 2 ** 40 + 0x0102;
    expect(scanOf(one(type('le:s64/64>>0')), [ts])).toEqual([0x02, 0x01, 0, 0, 0, 0x01, 0, 0]);
    expect(scanOf(one(type('be:s64/64>>0')), [ts])).toEqual([0, 0, 0x01, 0, 0, 0, 0x01, 0x02]);
    expect(scanOf(one(type('le:s64/64>>0')), [-2])).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(scanOf(one(type('le:s24/64>>0')), [-2])).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(scanOf(one(type('le:u24/64>>0')), [-2])).toEqual([0xfe, 0xff, 0xff, 0, 0, 0, 0, 0]);
    expect(scanOf(one(type('be:s40/64>>4')), [-2])).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe0]);
    expect(scanOf(one(type('be:u40/64>>20')), [2 ** 39 + 1])).toEqual([0x08, 0, 0, 0, 0, 0x10, 0, 0]);
  });

  it('u8,u32 → 8 bytes: padding 1..3 written as 0', () => {
    const layout = layoutOf([type('le:u8/8>>0'), type('le:u32/32>>0')]);
    expect(layout.bytesPerScan).toBe(8);
    expect(scanOf(layout, [0x5a, 0x11223344])).toEqual([0x5a, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
  });

  it('u32,u8 → 8 bytes: trailing padding 5..7 written as 0', () => {
    const layout = layoutOf([type('be:u32/32>>0'), type('le:u8/8>>0')]);
    expect(layout.bytesPerScan).toBe(8);
    expect(scanOf(layout, [0x11223344, 0xa5])).toEqual([0x11, 0x22, 0x33, 0x44, 0xa5, 0, 0, 0]);
  });

  it('2 × s16 + s64 timestamp → 16 bytes', () => {
    const layout = layoutOf([S12LE, S12LE, type('le:s64/64>>0')]);
    expect(layout.bytesPerScan).toBe(16);
    expect(scanOf(layout, [1, -1, 258])).toEqual([1, 0, 0xff, 0xff, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('repeat: the sample goes into every element, unused slots are 0', () => {
    const layout = layoutOf([type('le:s16/16X3>>0')]);
    expect(layout.bytesPerScan).toBe(8);
    expect(scanOf(layout, [-2])).toEqual([0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0, 0]);
    const dest = new Uint8Array(8);
    writeScans(dest, 0, layout, 0, 1, () => -2);
    expect(readScans(dest, 0, layout, 1)).toEqual([[-2]]);
  });

  it('writes consecutive sample indices at destOffset and touches nothing else', () => {
    const layout = layoutOf([S12LE, type('be:u8/8>>0')]);
    const dest = new Uint8Array(2 + 3 * 4 + 2).fill(0xee);
    const calls: [number, number][] = [];
    writeScans(dest, 2, layout, 100, 3, (c, n) => {
      calls.push([c, n]);
      return n + c;
    });
    expect(calls).toEqual([
      [0, 100],
      [1, 100],
      [0, 101],
      [1, 101],
      [0, 102],
      [1, 102],
    ]);
    expect([...dest]).toEqual([0xee, 0xee, 100, 0, 101, 0, 101, 0, 102, 0, 102, 0, 103, 0, 0xee, 0xee]);
  });

  it('works on a subarray at an odd byteOffset', () => {
    const backing = new Uint8Array(33).fill(0xcc);
    const dest = backing.subarray(1);
    const layout = layoutOf([S12LE, S12LE, type('be:s32/32>>0'), type('le:u64/64>>0')]);
    writeScans(dest, 0, layout, 0, 2, (c, n) => (c === 3 ? 2 ** 33 + n : -1 - n - c));
    expect(backing[0]).toBe(0xcc);
    expect(readScans(dest, 0, layout, 2)).toEqual([
      [-1, -2, -3, 2 ** 33],
      [-2, -3, -4, 2 ** 33 + 1],
    ]);
  });

  it('rejects scans that do not fit or fields outside the scan', () => {
    const layout = layoutOf([S12LE, S12LE]);
    expect(() => writeScans(new Uint8Array(7), 0, layout, 0, 2, () => 0)).toThrow(RangeError);
    expect(() => writeScans(new Uint8Array(8), 1, layout, 0, 2, () => 0)).toThrow(RangeError);
    const bad: ScanLayout = { bytesPerScan: 2, fields: [{ channel: 0, offset: 1, type: S12LE }] };
    expect(() => writeScans(new Uint8Array(8), 0, bad, 0, 1, () => 0)).toThrow(RangeError);
    expect(() => readScans(new Uint8Array(3), 0, layout, 1)).toThrow(RangeError);
    expect(() => writeScans(new Uint8Array(8), 0, layout, 0, 0, () => 0)).not.toThrow();
  });
});

describe('decodeField', () => {
  it('undoes the shift and sign-extends from realbits', () => {
    expect(decodeField(Uint8Array.of(0x00, 0xf8), 0, S12LE)).toBe(-2048);
    expect(decodeField(Uint8Array.of(0xff, 0x07), 0, S12LE)).toBe(2047);
    expect(decodeField(Uint8Array.of(0xff, 0xff), 0, S12LE)).toBe(-1);
    expect(decodeField(Uint8Array.of(0xff, 0xff), 0, type('le:u12/16>>0'))).toBe(4095);
    expect(decodeField(Uint8Array.of(9, 0x80, 0x00), 1, type('be:s12/16>>4'))).toBe(-2048);
    expect(decodeField(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, type('le:s32/32>>0'))).toBe(-1);
    expect(decodeField(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, type('le:u32/32>>0'))).toBe(2 ** 32 - 1);
    expect(decodeField(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, type('le:s31/32>>1'))).toBe(-1);
    expect(decodeField(Uint8Array.of(0xf0), 0, type('le:u4/8>>4'))).toBe(15);
  });

  it('decodes 64-bit words, exactly in decodeFieldBigInt', () => {
    const ff = new Uint8Array(8).fill(0xff);
    expect(decodeField(ff, 0, type('le:s64/64>>0'))).toBe(-1);
    expect(decodeField(ff, 0, type('le:u64/64>>0'))).toBe(2 ** 64);
    expect(decodeFieldBigInt(ff, 0, type('le:u64/64>>0'))).toBe(2n ** 64n - 1n);
    expect(decodeFieldBigInt(ff, 0, type('be:s40/64>>4'))).toBe(-1n);
    const ts = Uint8Array.of(0, 0, 0x01, 0, 0, 0, 0x01, 0x02);
    expect(decodeField(ts, 0, type('be:s64/64>>0'))).toBe(2 ** 40 + 0x0102);
    expect(decodeFieldBigInt(Uint8Array.of(0x00, 0xf8), 0, S12LE)).toBe(-2048n);
  });

  it('rejects out-of-range offsets', () => {
    expect(() => decodeField(new Uint8Array(2), 1, S12LE)).toThrow(RangeError);
    expect(() => decodeFieldBigInt(new Uint8Array(2), -1, S12LE)).toThrow(RangeError);
  });
});

const arbType: fc.Arbitrary<ScanType> = fc
  .record({
    storagebits: fc.constantFrom(8, 16, 32, 64),
    sign: fc.constantFrom<'s' | 'u'>('s', 'u'),
    endianness: fc.constantFrom<'le' | 'be'>('le', 'be'),
    realFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    shiftFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    repeat: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 })),
  })
  .map(({ storagebits, sign, endianness, realFrac, shiftFrac, repeat }) => {
    const realbits = 1 + Math.min(storagebits - 1, Math.floor(realFrac * storagebits));
    const shift = Math.min(storagebits - realbits, Math.floor(shiftFrac * (storagebits - realbits + 1)));
    return { storagebits, sign, endianness, realbits, shift, ...(repeat === 1 ? {} : { repeat }) };
  });

/** A raw value in the type's code range (restricted to safe integers), chosen by h in [0, 1). */
function rawIn(t: ScanType, h: number): number {
  const bits = Math.min(t.realbits, 53);
  const size = 2 ** bits;
  const v = Math.floor(h * size);
  return t.sign === 's' ? v - size / 2 : v;
}

describe('round trip', () => {
  it('writeScans → readScans gives back every raw value, bytes match encodeSample, padding is 0', () => {
    fc.assert(
      fc.property(
        fc.array(arbType, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 7 }),
        fc.maxSafeNat(),
        fc.integer(),
        (types, count, destOffset, firstSample, seed) => {
          const layout = layoutOf(types);
          const sampleOf = (c: number, n: number): number => {
            const x = Math.sin(seed + 31 * c + 7 * (n % 1000)) * 10_000;
            return rawIn(types[c]!, x - Math.floor(x));
          };
          const dest = new Uint8Array(destOffset + count * layout.bytesPerScan + 3).fill(0xa5);
          writeScans(dest, destOffset, layout, firstSample, count, sampleOf);
          const expected = Array.from({ length: count }, (_, i) =>
            types.map((_, c) => sampleOf(c, firstSample + i)),
          );
          expect(readScans(dest, destOffset, layout, count)).toEqual(expected);

          const written = new Uint8Array(layout.bytesPerScan);
          for (const f of layout.fields) {
            const bytes = f.type.storagebits / 8;
            written.fill(1, f.offset, f.offset + bytes * slots(f.type));
          }
          for (let i = 0; i < count; i++) {
            const base = destOffset + i * layout.bytesPerScan;
            for (const f of layout.fields) {
              const bytes = f.type.storagebits / 8;
              const word = encodeSample(expected[i]![f.channel]!, f.type);
              for (let e = 0; e < slots(f.type); e++) {
                const at = base + f.offset + e * bytes;
                const got = decodeFieldBigInt(dest, at, {
                  ...f.type,
                  sign: 'u',
                  realbits: f.type.storagebits,
                  shift: 0,
                });
                expect(got).toBe(e < (f.type.repeat ?? 1) ? word : 0n);
              }
              expect(decodeField(dest, base + f.offset, f.type)).toBe(expected[i]![f.channel]);
            }
            for (let b = 0; b < layout.bytesPerScan; b++) {
              if (written[b] === 0) expect(dest[base + b]).toBe(0);
            }
          }
          expect([...dest.subarray(0, destOffset)].every((b) => b === 0xa5)).toBe(true);
          expect([...dest.subarray(destOffset + count * layout.bytesPerScan)]).toEqual([0xa5, 0xa5, 0xa5]);
        },
      ),
    );
  });

  it('any safe-integer raw, in range or not, is written exactly as encodeSample says', () => {
    fc.assert(
      fc.property(
        arbType,
        fc.constantFrom<'s' | 'u'>('s', 'u'),
        fc.array(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -70_000, max: 70_000 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (t, sign, raws) => {
          const layout = layoutOf(raws.map(() => ({ ...t, sign })));
          const dest = new Uint8Array(raws.length * layout.bytesPerScan);
          writeScans(dest, 0, layout, 0, 1, (c) => raws[c]!);
          for (const f of layout.fields) {
            const whole = { ...f.type, sign: 'u' as const, realbits: f.type.storagebits, shift: 0 };
            expect(decodeFieldBigInt(dest, f.offset, whole)).toBe(encodeSample(raws[f.channel]!, f.type));
          }
        },
      ),
    );
  });

  it('default ramp: 1,000,000 samples of 4 × le:s12/16 channels in 8-byte scans read back exactly', () => {
    const layout = layoutOf([S12LE, S12LE, S12LE, S12LE]);
    expect(layout.bytesPerScan).toBe(8);
    const format = { signed: true, realbits: 12 };
    const gens = [0, 1, 2, 3].map((c) => createSignal(defaultAdcSignal(c), format, 1_000_000, 0));
    const sampleOf = (c: number, n: number): number => gens[c]!.sample(n);
    const N = 1_000_000;
    for (const first of [0, 2 ** 40 - 3]) {
      const dest = new Uint8Array(N * 8);
      // Fill in DMA-sized blocks, as the simulated converter does.
      const block = 4096;
      for (let s = 0; s < N; s += block) {
        writeScans(dest, s * 8, layout, first + s, Math.min(block, N - s), sampleOf);
      }
      const scans = readScans(dest, 0, layout, N);
      expect(scans.length).toBe(N);
      let mismatches = 0;
      const firstMod = first % 4096;
      for (let i = 0; i < N; i++) {
        const row = scans[i]!;
        for (let c = 0; c < 4; c++) {
          if (row[c] !== ((firstMod + i + 1024 * c) % 4096) - 2048) mismatches++;
        }
      }
      expect(mismatches).toBe(0);
      expect(scans[0]).toEqual(first === 0 ? [-2048, -1024, 0, 1024] : [2045, -1027, -3, 1021]);
    }
  });
});

describe('encodeScans (block form of writeScans)', () => {
  it('writes the bytes writeScans writes, for any layout, offset and count', () => {
    fc.assert(
      fc.property(
        fc.array(arbType, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer(),
        (types, count, destOffset, byteOffset, seed) => {
          const layout = layoutOf(types);
          const sampleOf = (c: number, n: number): number => {
            const x = Math.sin(seed + 31 * c + 7 * n) * 10_000;
            return rawIn(types[c]!, x - Math.floor(x));
          };
          const size = destOffset + count * layout.bytesPerScan + 2;
          const a = new Uint8Array(byteOffset + size).fill(0xa5).subarray(byteOffset);
          const b = new Uint8Array(byteOffset + size).fill(0xa5).subarray(byteOffset);
          writeScans(a, destOffset, layout, 5, count, sampleOf);
          const values = layout.fields.map((f) =>
            Float64Array.from({ length: count }, (_, i) => sampleOf(f.channel, 5 + i)),
          );
          encodeScans(b, destOffset, layout, count, values);
          expect(b).toEqual(a);
        },
      ),
    );
  });

  it('le:s12/16 scans at an odd address go through the byte path and match', () => {
    const layout = layoutOf([S12LE, S12LE]);
    const a = new Uint8Array(9).subarray(1);
    const b = new Uint8Array(9).subarray(1);
    writeScans(a, 0, layout, 0, 2, (c, n) => c * 1000 - n - 2048);
    encodeScans(b, 0, layout, 2, [Float64Array.of(-2048, -2049), Float64Array.of(-1048, -1049)]);
    expect([...b]).toEqual([...a]);
  });

  it('rejects value arrays shorter than the count', () => {
    const layout = layoutOf([S12LE]);
    expect(() => encodeScans(new Uint8Array(8), 0, layout, 3, [new Float64Array(2)])).toThrow(RangeError);
    expect(() => encodeScans(new Uint8Array(4), 0, layout, 3, [new Float64Array(3)])).toThrow(RangeError);
  });
});

describe('readScanField', () => {
  it('gives what readScans gives for each field', () => {
    fc.assert(
      fc.property(fc.array(arbType, { minLength: 1, maxLength: 5 }), fc.integer(), (types, seed) => {
        const layout = layoutOf(types);
        const dest = new Uint8Array(layout.bytesPerScan * 2 + 1).subarray(1);
        writeScans(dest, 0, layout, 0, 2, (c, n) => {
          const x = Math.sin(seed + 31 * c + 7 * n) * 10_000;
          return rawIn(types[c]!, x - Math.floor(x));
        });
        const scans = readScans(dest, 0, layout, 2);
        for (let i = 0; i < 2; i++)
          layout.fields.forEach((_, j) => {
            expect(readScanField(dest, i * layout.bytesPerScan, layout, j)).toBe(scans[i]![j]);
          });
      }),
    );
  });

  it('rejects a field index or offset outside the scan', () => {
    const layout = layoutOf([S12LE]);
    expect(() => readScanField(new Uint8Array(2), 0, layout, 1)).toThrow(RangeError);
    expect(() => readScanField(new Uint8Array(2), 1, layout, 0)).toThrow(RangeError);
  });
});
