import { describe, expect, it } from 'vitest';
import * as uapi from '../../src/uapi/index.ts';

describe('uapi index', () => {
  it('re-exports the mainline header, constants and codecs', () => {
    expect(uapi.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL).toBe(0x40106994);
    expect(uapi.EINVAL).toBe(22);
    expect(uapi.O_CLOEXEC).toBe(0o2000000);
    expect(uapi.PAGE_SIZE).toBe(4096);
    expect(uapi.POLLIN).toBe(1);
    expect(uapi.SYNC_IOC_FILE_INFO).toBe(0xc0383e04);
    expect(uapi.DMA_HEAP_IOCTL_ALLOC).toBe(0xc0184800);
    expect(uapi.UDMABUF_CREATE).toBe(0x40187542);
    expect(uapi.iio_dmabuf.name).toBe('iio_dmabuf');
    expect(typeof uapi.defineStruct).toBe('function');
    expect(typeof uapi.ioctlRequestName).toBe('function');
    expect(typeof uapi.strerror).toBe('function');
    expect(typeof uapi._IOWR).toBe('function');
  });

  it('XPROF-1: does not re-export the v2 header (its names collide)', () => {
    expect('IIO_BUFFER_DMABUF_ALLOC_IOCTL' in uapi).toBe(false);
    expect('iio_dmabuf_alloc_req' in uapi).toBe(false);
    expect('IIO_BUFFER_DMABUF_SUPPORTED_FLAGS_PATCH05' in uapi).toBe(false);
  });
});
