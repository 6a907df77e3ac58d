import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  PAGE_ALIGN,
  PAGE_ALIGN_U64,
  PAGE_ALIGNED,
  PAGE_SHIFT,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/uapi/mman.ts';

describe('mmap constants (rulebook 1.2)', () => {
  it('1.2: PROT_* and MAP_*', () => {
    expect([PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC]).toEqual([0, 1, 2, 4]);
    expect([MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE, MAP_FIXED, MAP_ANONYMOUS]).toEqual([
      1, 2, 3, 0xf, 0x10, 0x20,
    ]);
    expect([PAGE_SIZE, PAGE_SHIFT]).toEqual([4096, 12]);
  });
});

describe('PAGE_ALIGN', () => {
  it('SEED-7 DBUF-5: rounds up to 4096', () => {
    expect(PAGE_ALIGN(0)).toBe(0);
    expect(PAGE_ALIGN(1)).toBe(4096);
    expect(PAGE_ALIGN(4096)).toBe(4096);
    expect(PAGE_ALIGN(5000)).toBe(8192);
  });

  it('is exact up to 2^53', () => {
    expect(PAGE_ALIGN(2 ** 53)).toBe(2 ** 53);
    expect(PAGE_ALIGN(2 ** 53 - 1)).toBe(2 ** 53);
    expect(PAGE_ALIGN(2 ** 52 + 1)).toBe(2 ** 52 + 4096);
  });

  it('agrees with the bigint version on safe integers', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(BigInt(PAGE_ALIGN(n))).toBe(PAGE_ALIGN_U64(BigInt(n)));
      }),
    );
  });

  it('MMAP-4 HEAP-9: the u64 version wraps to 0 near 2^64', () => {
    expect(PAGE_ALIGN_U64(2n ** 64n - 1n)).toBe(0n);
    expect(PAGE_ALIGN_U64(2n ** 64n - 4096n)).toBe(2n ** 64n - 4096n);
    expect(PAGE_ALIGN_U64(2n ** 64n - 4095n)).toBe(0n);
    expect(PAGE_ALIGN_U64(0n)).toBe(0n);
    expect(PAGE_ALIGN_U64(5000n)).toBe(8192n);
  });

  it('PAGE_ALIGNED', () => {
    expect(PAGE_ALIGNED(8192)).toBe(true);
    expect(PAGE_ALIGNED(5000)).toBe(false);
    expect(PAGE_ALIGNED(1n << 40n)).toBe(true);
    expect(PAGE_ALIGNED(4097n)).toBe(false);
  });
});
