import { describe, expect, it } from 'vitest';
import {
  DMA_HEAP_IOC_MAGIC,
  DMA_HEAP_IOCTL_ALLOC,
  DMA_HEAP_VALID_FD_FLAGS,
  DMA_HEAP_VALID_HEAP_FLAGS,
  dma_heap_allocation_data,
} from '../../src/uapi/dma-heap.ts';
import { O_ACCMODE, O_CLOEXEC } from '../../src/uapi/fcntl.ts';
import { ABIS } from '../../src/uapi/struct.ts';

describe('dma-heap (rulebook 1.2-1.4)', () => {
  it('1.2: DMA_HEAP_VALID_FD_FLAGS = O_CLOEXEC|O_ACCMODE = 0x80003; VALID_HEAP_FLAGS = 0', () => {
    expect(DMA_HEAP_VALID_FD_FLAGS).toBe(0x80003);
    expect(DMA_HEAP_VALID_FD_FLAGS).toBe(O_CLOEXEC | O_ACCMODE);
    expect(DMA_HEAP_VALID_HEAP_FLAGS).toBe(0n);
  });

  it("1.3: DMA_HEAP_IOCTL_ALLOC is _IOWR('H',0,struct dma_heap_allocation_data) = 0xC0184800", () => {
    expect(DMA_HEAP_IOC_MAGIC).toBe('H');
    expect(DMA_HEAP_IOCTL_ALLOC).toBe(0xc0184800);
  });

  it.each(ABIS)(
    '1.4: dma_heap_allocation_data in %s is len@0, fd@8, fd_flags@12, heap_flags@16, size 24',
    (abi) => {
      expect(dma_heap_allocation_data.size(abi)).toBe(24);
      expect(dma_heap_allocation_data.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
      expect(dma_heap_allocation_data.offsetOf('len', abi)).toBe(0);
      expect(dma_heap_allocation_data.offsetOf('fd', abi)).toBe(8);
      expect(dma_heap_allocation_data.offsetOf('fd_flags', abi)).toBe(12);
      expect(dma_heap_allocation_data.offsetOf('heap_flags', abi)).toBe(16);
    },
  );

  it('round trip and format', () => {
    const bytes = dma_heap_allocation_data.encode({ len: 5000, fd_flags: O_CLOEXEC | 2 }, 'lp64');
    const v = dma_heap_allocation_data.decode(bytes, 'lp64');
    expect(v).toEqual({ len: 5000n, fd: 0, fd_flags: 0x80002, heap_flags: 0n });
    expect(dma_heap_allocation_data.format({ ...v, fd: 7 })).toBe(
      '{len=5000, fd=7, fd_flags=O_RDWR|O_CLOEXEC, heap_flags=0}',
    );
  });
});
