import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  _IO,
  _IOC,
  _IOC_DIR,
  _IOC_DIRBITS,
  _IOC_DIRMASK,
  _IOC_DIRSHIFT,
  _IOC_NONE,
  _IOC_NR,
  _IOC_NRBITS,
  _IOC_NRMASK,
  _IOC_NRSHIFT,
  _IOC_READ,
  _IOC_SIZE,
  _IOC_SIZEBITS,
  _IOC_SIZEMASK,
  _IOC_SIZESHIFT,
  _IOC_TYPE,
  _IOC_TYPEBITS,
  _IOC_TYPEMASK,
  _IOC_TYPESHIFT,
  _IOC_WRITE,
  _IOR,
  _IOW,
  _IOWR,
  FIOASYNC,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  FIONREAD,
  FIOQSIZE,
  IOC_IN,
  IOC_INOUT,
  IOC_OUT,
  IOCSIZE_MASK,
  IOCSIZE_SHIFT,
} from '../../src/uapi/ioctl.ts';

describe('asm-generic ioctl encoding', () => {
  it('1.3: field widths, shifts and masks', () => {
    expect([_IOC_NRBITS, _IOC_TYPEBITS, _IOC_SIZEBITS, _IOC_DIRBITS]).toEqual([8, 8, 14, 2]);
    expect([_IOC_NRSHIFT, _IOC_TYPESHIFT, _IOC_SIZESHIFT, _IOC_DIRSHIFT]).toEqual([0, 8, 16, 30]);
    expect([_IOC_NRMASK, _IOC_TYPEMASK, _IOC_SIZEMASK, _IOC_DIRMASK]).toEqual([0xff, 0xff, 0x3fff, 0x3]);
    expect([_IOC_NONE, _IOC_WRITE, _IOC_READ]).toEqual([0, 1, 2]);
    expect([IOC_IN, IOC_OUT, IOC_INOUT]).toEqual([0x40000000, 0x80000000, 0xc0000000]);
    expect(IOCSIZE_MASK).toBe(0x3fff0000);
    expect(IOCSIZE_SHIFT).toBe(16);
  });

  it('1.3: dir<<30 | size<<16 | type<<8 | nr, unsigned', () => {
    expect(_IOR('i', 0x90, 4)).toBe(0x80046990);
    expect(_IOWR('i', 0x91, 4)).toBe(0xc0046991);
    expect(_IOW('i', 0x94, 16)).toBe(0x40106994);
    expect(_IO('b', 7)).toBe(0x6207);
    expect(_IOC(_IOC_READ | _IOC_WRITE, 0x48, 0, 24)).toBe(0xc0184800);
  });

  it('a numeric type equals the character code', () => {
    expect(_IOW(0x69, 0x92, 4)).toBe(_IOW('i', 0x92, 4));
  });

  it('does not mask fields, like the C macro: an oversized size spills into dir', () => {
    expect(_IOC(_IOC_NONE, 'i', 0, 0x4000)).toBe(0x40006900);
  });

  it('rejects a type string that is not one character', () => {
    expect(() => _IOW('ib', 1, 4)).toThrow(RangeError);
    expect(() => _IOW('', 1, 4)).toThrow(RangeError);
  });

  it('decoders take the fields apart', () => {
    const req = 0xc0383e04;
    expect(_IOC_DIR(req)).toBe(_IOC_READ | _IOC_WRITE);
    expect(_IOC_TYPE(req)).toBe(0x3e);
    expect(_IOC_NR(req)).toBe(4);
    expect(_IOC_SIZE(req)).toBe(0x38);
  });

  it('decoders accept the signed spelling of a request', () => {
    expect(_IOC_DIR(0xc0046991 | 0)).toBe(3);
    expect(_IOC_SIZE(0xc0046991 | 0)).toBe(4);
  });

  it('encode/decode round trip for every in-range field combination', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0x3fff }),
        (dir, type, nr, size) => {
          const req = _IOC(dir, type, nr, size);
          expect(req).toBeGreaterThanOrEqual(0);
          expect(req).toBeLessThanOrEqual(0xffffffff);
          expect([_IOC_DIR(req), _IOC_TYPE(req), _IOC_NR(req), _IOC_SIZE(req)]).toEqual([
            dir,
            type,
            nr,
            size,
          ]);
        },
      ),
    );
  });

  it('1.2: generic ioctl numbers', () => {
    expect({ FIONREAD, FIONBIO, FIONCLEX, FIOCLEX, FIOASYNC, FIOQSIZE }).toEqual({
      FIONREAD: 0x541b,
      FIONBIO: 0x5421,
      FIONCLEX: 0x5450,
      FIOCLEX: 0x5451,
      FIOASYNC: 0x5452,
      FIOQSIZE: 0x5460,
    });
  });
});
