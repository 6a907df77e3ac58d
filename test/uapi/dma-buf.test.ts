import { describe, expect, it } from 'vitest';
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_NAME_LEN,
  DMA_BUF_SET_NAME,
  DMA_BUF_SET_NAME_A,
  DMA_BUF_SET_NAME_B,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_VALID_FLAGS_MASK,
  DMA_BUF_SYNC_WRITE,
  dma_buf_export_sync_file,
  dma_buf_import_sync_file,
  dma_buf_sync,
  formatDmaBufSyncFlags,
  SYNC_IOC_FILE_INFO,
} from '../../src/uapi/dma-buf.ts';
import { ABIS } from '../../src/uapi/struct.ts';

describe('dma-buf constants (rulebook 1.2)', () => {
  it('1.2: sync flags READ 1, WRITE 2, RW 3, START 0, END 4, mask 7; NAME_LEN 32', () => {
    expect([
      DMA_BUF_SYNC_READ,
      DMA_BUF_SYNC_WRITE,
      DMA_BUF_SYNC_RW,
      DMA_BUF_SYNC_START,
      DMA_BUF_SYNC_END,
    ]).toEqual([1, 2, 3, 0, 4]);
    expect(DMA_BUF_SYNC_VALID_FLAGS_MASK).toBe(7);
    expect(DMA_BUF_NAME_LEN).toBe(32);
  });
});

describe('dma-buf ioctl numbers (rulebook 1.3)', () => {
  it('1.3: DMA_BUF_IOCTL_SYNC is _IOW(b,0,struct dma_buf_sync) = 0x40086200', () => {
    expect(DMA_BUF_IOCTL_SYNC).toBe(0x40086200);
  });

  it('1.3: DMA_BUF_SET_NAME_A is _IOW(b,1,__u32) = 0x40046201', () => {
    expect(DMA_BUF_SET_NAME_A).toBe(0x40046201);
  });

  it('1.3: DMA_BUF_SET_NAME_B is _IOW(b,1,__u64) = 0x40086201', () => {
    expect(DMA_BUF_SET_NAME_B).toBe(0x40086201);
  });

  it('COMPAT-4: DMA_BUF_SET_NAME is _A for ILP32 and _B for LP64', () => {
    expect(DMA_BUF_SET_NAME('ilp32')).toBe(0x40046201);
    expect(DMA_BUF_SET_NAME('lp64')).toBe(0x40086201);
  });

  it('1.3: DMA_BUF_IOCTL_EXPORT_SYNC_FILE is _IOWR(b,2,...) = 0xC0086202', () => {
    expect(DMA_BUF_IOCTL_EXPORT_SYNC_FILE).toBe(0xc0086202);
  });

  it('1.3: DMA_BUF_IOCTL_IMPORT_SYNC_FILE is _IOW(b,3,...) = 0x40086203', () => {
    expect(DMA_BUF_IOCTL_IMPORT_SYNC_FILE).toBe(0x40086203);
  });

  it('1.3: SYNC_IOC_FILE_INFO (re-exported) is 0xC0383E04', () => {
    expect(SYNC_IOC_FILE_INFO).toBe(0xc0383e04);
  });
});

describe('dma-buf structs (rulebook 1.4)', () => {
  it.each(ABIS)('1.4: dma_buf_sync in %s is flags@0 u64, size 8', (abi) => {
    expect(dma_buf_sync.size(abi)).toBe(8);
    expect(dma_buf_sync.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(dma_buf_sync.offsetOf('flags', abi)).toBe(0);
  });

  it.each(ABIS)(
    '1.4: dma_buf_export_sync_file and _import_ in %s are flags@0 u32, fd@4 s32, size 8/4',
    (abi) => {
      for (const c of [dma_buf_export_sync_file, dma_buf_import_sync_file]) {
        expect(c.size(abi)).toBe(8);
        expect(c.align(abi)).toBe(4);
        expect(c.offsetOf('flags', abi)).toBe(0);
        expect(c.offsetOf('fd', abi)).toBe(4);
      }
    },
  );

  it('dma_buf_sync carries the full u64 (high bits survive for the mask check)', () => {
    const bytes = dma_buf_sync.encode({ flags: (1n << 40n) | 1n }, 'ilp32');
    expect(bytes).toEqual(new Uint8Array([1, 0, 0, 0, 0, 1, 0, 0]));
    expect(dma_buf_sync.decode(bytes, 'lp64')).toEqual({ flags: (1n << 40n) | 1n });
  });

  it('export_sync_file fd is signed', () => {
    const bytes = dma_buf_export_sync_file.encode({ flags: DMA_BUF_SYNC_READ, fd: -1 }, 'lp64');
    expect(bytes).toEqual(new Uint8Array([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    const v = dma_buf_export_sync_file.decode(bytes, 'lp64');
    expect(v).toEqual({ flags: 1, fd: -1 });
    expect(dma_buf_export_sync_file.format(v)).toBe('{flags=DMA_BUF_SYNC_READ, fd=-1}');
  });
});

describe('formatDmaBufSyncFlags', () => {
  it('prints START or END first, then the direction', () => {
    expect(formatDmaBufSyncFlags(DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)).toBe(
      'DMA_BUF_SYNC_START|DMA_BUF_SYNC_READ',
    );
    expect(formatDmaBufSyncFlags(DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE)).toBe(
      'DMA_BUF_SYNC_END|DMA_BUF_SYNC_WRITE',
    );
    expect(formatDmaBufSyncFlags(7n)).toBe('DMA_BUF_SYNC_END|DMA_BUF_SYNC_RW');
    expect(formatDmaBufSyncFlags(0)).toBe('DMA_BUF_SYNC_START');
  });

  it('prints unknown bits as hex', () => {
    expect(formatDmaBufSyncFlags(0x11)).toBe('DMA_BUF_SYNC_START|DMA_BUF_SYNC_READ|0x10');
    expect(formatDmaBufSyncFlags(0x8)).toBe('DMA_BUF_SYNC_START|0x8');
    expect(formatDmaBufSyncFlags(1n << 63n)).toBe('DMA_BUF_SYNC_START|0x8000000000000000');
  });

  it('is used by the dma_buf_sync codec', () => {
    expect(dma_buf_sync.format({ flags: 5n })).toBe('{flags=DMA_BUF_SYNC_END|DMA_BUF_SYNC_READ}');
  });
});
