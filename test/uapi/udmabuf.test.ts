import { describe, expect, it } from 'vitest';
import { ABIS } from '../../src/uapi/struct.ts';
import {
  decodeUdmabufCreateListItems,
  encodeUdmabufCreateList,
  UDMABUF_CREATE,
  UDMABUF_CREATE_LIST,
  UDMABUF_FLAGS_CLOEXEC,
  UDMABUF_LIST_LIMIT_DEFAULT,
  UDMABUF_SIZE_LIMIT_MB_DEFAULT,
  udmabuf_create,
  udmabuf_create_item,
  udmabuf_create_list,
} from '../../src/uapi/udmabuf.ts';

describe('udmabuf (rulebook 1.2-1.4)', () => {
  it('1.2: UDMABUF_FLAGS_CLOEXEC 0x1, list_limit 1024, size_limit_mb INT_MAX', () => {
    expect(UDMABUF_FLAGS_CLOEXEC).toBe(0x1);
    expect(UDMABUF_LIST_LIMIT_DEFAULT).toBe(1024);
    expect(UDMABUF_SIZE_LIMIT_MB_DEFAULT).toBe(2 ** 31 - 1);
  });

  it("1.3: UDMABUF_CREATE is _IOW('u',0x42,struct udmabuf_create) = 0x40187542", () => {
    expect(UDMABUF_CREATE).toBe(0x40187542);
  });

  it("1.3: UDMABUF_CREATE_LIST is _IOW('u',0x43,struct udmabuf_create_list) = 0x40087543", () => {
    expect(UDMABUF_CREATE_LIST).toBe(0x40087543);
  });

  it.each(ABIS)('1.4: udmabuf_create in %s is memfd@0, flags@4, offset@8, size@16, size 24', (abi) => {
    expect(udmabuf_create.size(abi)).toBe(24);
    expect(udmabuf_create.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(udmabuf_create.layout(abi).map((f) => [f.name, f.offset])).toEqual([
      ['memfd', 0],
      ['flags', 4],
      ['offset', 8],
      ['size', 16],
    ]);
  });

  it.each(ABIS)('1.4: udmabuf_create_list head in %s is flags@0, count@4, items at 8', (abi) => {
    expect(udmabuf_create_list.size(abi)).toBe(8);
    expect(udmabuf_create_list.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(udmabuf_create_list.offsetOf('flags', abi)).toBe(0);
    expect(udmabuf_create_list.offsetOf('count', abi)).toBe(4);
  });

  it.each(ABIS)('1.4: udmabuf_create_item in %s is memfd@0, __pad@4, offset@8, size@16, size 24', (abi) => {
    expect(udmabuf_create_item.size(abi)).toBe(24);
    expect(udmabuf_create_item.layout(abi).map((f) => [f.name, f.offset])).toEqual([
      ['memfd', 0],
      ['__pad', 4],
      ['offset', 8],
      ['size', 16],
    ]);
  });

  it.each(ABIS)('1.4: a list of n items is 8 + 24*n bytes in %s', (abi) => {
    const list = [
      { memfd: 3, offset: 0, size: 4096 },
      { memfd: 4, offset: 8192n, size: 8192n },
    ];
    const bytes = encodeUdmabufCreateList({ flags: UDMABUF_FLAGS_CLOEXEC, list }, abi);
    expect(bytes.length).toBe(8 + 24 * 2);
    expect(udmabuf_create_list.decode(bytes, abi)).toEqual({ flags: 1, count: 2 });
    expect(decodeUdmabufCreateListItems(bytes, 2, abi)).toEqual([
      { memfd: 3, __pad: 0, offset: 0n, size: 4096n },
      { memfd: 4, __pad: 0, offset: 8192n, size: 8192n },
    ]);
  });

  it('a lying count is encoded as given', () => {
    const bytes = encodeUdmabufCreateList({ count: 1025, list: [] });
    expect(bytes).toEqual(new Uint8Array([0, 0, 0, 0, 0x01, 0x04, 0, 0]));
    expect(() => decodeUdmabufCreateListItems(bytes, 1)).toThrow(RangeError);
  });

  it('udmabuf_create round trip', () => {
    const bytes = udmabuf_create.encode({ memfd: 3, flags: 1, offset: 0, size: 65536 }, 'ilp32');
    expect(udmabuf_create.decode(bytes, 'ilp32')).toEqual({ memfd: 3, flags: 1, offset: 0n, size: 65536n });
    expect(udmabuf_create.format({ memfd: 3, flags: 1, offset: 0n, size: 65536n })).toBe(
      '{memfd=3, flags=0x1, offset=0, size=65536}',
    );
  });
});
