import { describe, expect, it } from 'vitest';
import { ABIS } from '../../src/uapi/struct.ts';
import {
  SYNC_IOC_FILE_INFO,
  SYNC_IOC_MAGIC,
  sync_fence_info,
  sync_file_info,
} from '../../src/uapi/sync-file.ts';

describe('sync_file (rulebook 1.3, 1.4)', () => {
  it("1.3: SYNC_IOC_FILE_INFO is _IOWR('>',4,struct sync_file_info) = 0xC0383E04", () => {
    expect(SYNC_IOC_MAGIC).toBe('>');
    expect(SYNC_IOC_FILE_INFO).toBe(0xc0383e04);
  });

  it.each(ABIS)('1.4: sync_file_info in %s is 56 bytes with the rulebook offsets', (abi) => {
    expect(sync_file_info.size(abi)).toBe(56);
    expect(sync_file_info.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(sync_file_info.layout(abi).map((f) => [f.name, f.offset, f.size])).toEqual([
      ['name', 0, 32],
      ['status', 32, 4],
      ['flags', 36, 4],
      ['num_fences', 40, 4],
      ['pad', 44, 4],
      ['sync_fence_info', 48, 8],
    ]);
  });

  it.each(ABIS)('1.4 COMPAT-6: sync_fence_info in %s is 80 bytes', (abi) => {
    expect(sync_fence_info.size(abi)).toBe(80);
    expect(sync_fence_info.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(sync_fence_info.layout(abi).map((f) => [f.name, f.offset])).toEqual([
      ['obj_name', 0],
      ['driver_name', 32],
      ['status', 64],
      ['flags', 68],
      ['timestamp_ns', 72],
    ]);
  });

  it('sync_file_info round trip: name as C string, status signed, pointer as u64', () => {
    const bytes = sync_file_info.encode(
      { name: 'dma_fence_chain', status: -4, num_fences: 2, sync_fence_info: 0x7ffe_0000_1000n },
      'ilp32',
    );
    expect(bytes.length).toBe(56);
    expect(bytes[14]).toBe(0x6e);
    expect(bytes[15]).toBe(0);
    const v = sync_file_info.decode(bytes, 'lp64');
    expect(v).toEqual({
      name: 'dma_fence_chain',
      status: -4,
      flags: 0,
      num_fences: 2,
      pad: 0,
      sync_fence_info: 0x7ffe_0000_1000n,
    });
    expect(sync_file_info.format(v)).toBe(
      '{name="dma_fence_chain", status=-4, flags=0, num_fences=2, pad=0, sync_fence_info=0x7ffe00001000}',
    );
    expect(sync_file_info.format({ ...v, sync_fence_info: 0n })).toContain('sync_fence_info=NULL');
  });

  it('sync_fence_info decodes driver and timeline names', () => {
    const bytes = sync_fence_info.encode(
      { obj_name: 'iio', driver_name: 'iio', status: 1, timestamp_ns: 4021120011000n },
      'lp64',
    );
    expect(sync_fence_info.decode(bytes, 'lp64')).toEqual({
      obj_name: 'iio',
      driver_name: 'iio',
      status: 1,
      flags: 0,
      timestamp_ns: 4021120011000n,
    });
  });
});
