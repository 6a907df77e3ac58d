import { describe, expect, it } from 'vitest';
import {
  DMABUF_ENQUEUE_TIMEOUT_MS,
  IIO_BUFFER_DIRECTION_IN,
  IIO_BUFFER_DIRECTION_OUT,
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_CYCLIC,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_DMABUF_SUPPORTED_FLAGS,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_EVENT_CODE_EXTRACT_CHAN,
  IIO_EVENT_CODE_EXTRACT_CHAN_TYPE,
  IIO_EVENT_CODE_EXTRACT_CHAN2,
  IIO_EVENT_CODE_EXTRACT_DIFF,
  IIO_EVENT_CODE_EXTRACT_DIR,
  IIO_EVENT_CODE_EXTRACT_MODIFIER,
  IIO_EVENT_CODE_EXTRACT_TYPE,
  IIO_GET_EVENT_FD_IOCTL,
  IIO_IOCTL_UNHANDLED,
  iio_dmabuf,
  iio_event_data,
} from '../../src/uapi/iio.ts';
import { _IOC_SIZE, _IOW } from '../../src/uapi/ioctl.ts';
import { ABIS } from '../../src/uapi/struct.ts';

describe('IIO ioctl numbers, mainline (rulebook 1.3)', () => {
  it('1.3: IIO_GET_EVENT_FD_IOCTL is _IOR(i,0x90,int) = 0x80046990', () => {
    expect(IIO_GET_EVENT_FD_IOCTL).toBe(0x80046990);
  });

  it('1.3: IIO_BUFFER_GET_FD_IOCTL is _IOWR(i,0x91,int) = 0xC0046991', () => {
    expect(IIO_BUFFER_GET_FD_IOCTL).toBe(0xc0046991);
  });

  it('1.3: IIO_BUFFER_DMABUF_ATTACH_IOCTL is _IOW(i,0x92,int) = 0x40046992', () => {
    expect(IIO_BUFFER_DMABUF_ATTACH_IOCTL).toBe(0x40046992);
  });

  it('1.3: IIO_BUFFER_DMABUF_DETACH_IOCTL is _IOW(i,0x93,int) = 0x40046993', () => {
    expect(IIO_BUFFER_DMABUF_DETACH_IOCTL).toBe(0x40046993);
  });

  it('1.3: IIO_BUFFER_DMABUF_ENQUEUE_IOCTL is _IOW(i,0x94,struct iio_dmabuf) = 0x40106994', () => {
    expect(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL).toBe(0x40106994);
  });

  it('COMPAT-2 SEED-3: ENQUEUE compiles to the same number in both ABIs', () => {
    for (const abi of ABIS)
      expect(_IOW('i', 0x94, iio_dmabuf.size(abi))).toBe(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL);
    expect(_IOC_SIZE(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL)).toBe(16);
  });
});

describe('IIO constants (rulebook 1.2)', () => {
  it('1.2 SEED-4: CYCLIC 0x1, SUPPORTED_FLAGS 0x1', () => {
    expect(IIO_BUFFER_DMABUF_CYCLIC).toBe(0x1);
    expect(IIO_BUFFER_DMABUF_SUPPORTED_FLAGS).toBe(0x1);
    expect(0x2 & ~IIO_BUFFER_DMABUF_SUPPORTED_FLAGS).toBe(0x2);
  });

  it('1.2: directions, IIO_IOCTL_UNHANDLED, DMABUF_ENQUEUE_TIMEOUT_MS', () => {
    expect([IIO_BUFFER_DIRECTION_IN, IIO_BUFFER_DIRECTION_OUT]).toEqual([0, 1]);
    expect(IIO_IOCTL_UNHANDLED).toBe(1);
    expect(DMABUF_ENQUEUE_TIMEOUT_MS).toBe(5000);
  });
});

describe('IIO structs (rulebook 1.4)', () => {
  it.each(ABIS)('1.4: iio_dmabuf in %s is fd@0 u32, flags@4 u32, bytes_used@8 u64, size 16', (abi) => {
    expect(iio_dmabuf.size(abi)).toBe(16);
    expect(iio_dmabuf.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(iio_dmabuf.offsetOf('fd', abi)).toBe(0);
    expect(iio_dmabuf.offsetOf('flags', abi)).toBe(4);
    expect(iio_dmabuf.offsetOf('bytes_used', abi)).toBe(8);
  });

  it.each(ABIS)('1.4: iio_event_data in %s is id@0 u64, timestamp@8 s64, size 16', (abi) => {
    expect(iio_event_data.size(abi)).toBe(16);
    expect(iio_event_data.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(iio_event_data.offsetOf('id', abi)).toBe(0);
    expect(iio_event_data.offsetOf('timestamp', abi)).toBe(8);
  });

  it('iio_dmabuf round trip and strace-like format', () => {
    const bytes = iio_dmabuf.encode({ fd: 5, flags: IIO_BUFFER_DMABUF_CYCLIC, bytes_used: 32768 }, 'lp64');
    expect(bytes).toEqual(new Uint8Array([5, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0]));
    const v = iio_dmabuf.decode(bytes, 'ilp32');
    expect(v).toEqual({ fd: 5, flags: 1, bytes_used: 32768n });
    expect(iio_dmabuf.format(v)).toBe('{fd=5, flags=IIO_BUFFER_DMABUF_CYCLIC, bytes_used=32768}');
    expect(iio_dmabuf.format({ fd: 5, flags: 0, bytes_used: 32768n })).toBe(
      '{fd=5, flags=0, bytes_used=32768}',
    );
    expect(iio_dmabuf.format({ fd: 5, flags: 3, bytes_used: 0n })).toBe(
      '{fd=5, flags=IIO_BUFFER_DMABUF_CYCLIC|0x2, bytes_used=0}',
    );
  });

  it('iio_event_data decodes a negative timestamp and prints the id in hex', () => {
    const bytes = iio_event_data.encode({ id: 0x0123_0000_0000_0001n, timestamp: -5n }, 'lp64');
    const v = iio_event_data.decode(bytes, 'lp64');
    expect(v).toEqual({ id: 0x0123_0000_0000_0001n, timestamp: -5n });
    expect(iio_event_data.format(v)).toBe('{id=0x123000000000001, timestamp=-5}');
  });

  it('event code extractors', () => {
    const id =
      (0x07n << 56n) | (1n << 55n) | (0x02n << 48n) | (0x03n << 40n) | (0x04n << 32n) | (0xfffen << 16n) | 5n;
    expect(IIO_EVENT_CODE_EXTRACT_TYPE(id)).toBe(7);
    expect(IIO_EVENT_CODE_EXTRACT_DIFF(id)).toBe(1);
    expect(IIO_EVENT_CODE_EXTRACT_DIR(id)).toBe(2);
    expect(IIO_EVENT_CODE_EXTRACT_MODIFIER(id)).toBe(3);
    expect(IIO_EVENT_CODE_EXTRACT_CHAN_TYPE(id)).toBe(4);
    expect(IIO_EVENT_CODE_EXTRACT_CHAN2(id)).toBe(-2);
    expect(IIO_EVENT_CODE_EXTRACT_CHAN(id)).toBe(5);
  });
});
