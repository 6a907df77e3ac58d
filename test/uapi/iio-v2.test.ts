import { describe, expect, it } from 'vitest';
import * as mainline from '../../src/uapi/iio.ts';
import {
  IIO_BUFFER_DMABUF_ALLOC_IOCTL,
  IIO_BUFFER_DMABUF_CYCLIC,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_DMABUF_SUPPORTED_FLAGS,
  IIO_BUFFER_DMABUF_SUPPORTED_FLAGS_PATCH05,
  IIO_BUFFER_GET_FD_IOCTL,
  IIO_GET_EVENT_FD_IOCTL,
  iio_dmabuf,
  iio_dmabuf_alloc_req,
} from '../../src/uapi/iio-v2.ts';
import { _IOC_NR, _IOC_SIZE, _IOC_TYPE, _IOW } from '../../src/uapi/ioctl.ts';
import { ABIS } from '../../src/uapi/struct.ts';

describe('IIO ioctl numbers, v2 profile (rulebook 1.3)', () => {
  it('1.3: IIO_BUFFER_DMABUF_ALLOC_IOCTL is _IOW(i,0x92,struct iio_dmabuf_alloc_req) = 0x40106992', () => {
    expect(IIO_BUFFER_DMABUF_ALLOC_IOCTL).toBe(0x40106992);
  });

  it('1.3: v2 IIO_BUFFER_DMABUF_ENQUEUE_IOCTL is _IOW(i,0x93,struct iio_dmabuf) = 0x40106993', () => {
    expect(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL).toBe(0x40106993);
  });

  it('1.3: GET_EVENT_FD and GET_FD are the same numbers as mainline', () => {
    expect(IIO_GET_EVENT_FD_IOCTL).toBe(0x80046990);
    expect(IIO_BUFFER_GET_FD_IOCTL).toBe(0xc0046991);
  });

  it('COMPAT-2 SEED-2: ALLOC and ENQUEUE compile to the same numbers in both ABIs', () => {
    for (const abi of ABIS) {
      expect(_IOW('i', 0x92, iio_dmabuf_alloc_req.size(abi))).toBe(IIO_BUFFER_DMABUF_ALLOC_IOCTL);
      expect(_IOW('i', 0x93, iio_dmabuf.size(abi))).toBe(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL);
    }
  });
});

describe('XPROF: the nr 0x92/0x93 collision (rulebook 1.5)', () => {
  it('XPROF-1: v2 ALLOC and mainline ATTACH share nr 0x92 but differ', () => {
    const v2 = IIO_BUFFER_DMABUF_ALLOC_IOCTL;
    const ml = mainline.IIO_BUFFER_DMABUF_ATTACH_IOCTL;
    expect([_IOC_TYPE(v2), _IOC_NR(v2)]).toEqual([0x69, 0x92]);
    expect([_IOC_TYPE(ml), _IOC_NR(ml)]).toEqual([0x69, 0x92]);
    expect([_IOC_SIZE(v2), _IOC_SIZE(ml)]).toEqual([16, 4]);
    expect(v2).not.toBe(ml);
  });

  it('XPROF-1: v2 ENQUEUE and mainline DETACH share nr 0x93 but differ', () => {
    const v2 = IIO_BUFFER_DMABUF_ENQUEUE_IOCTL;
    const ml = mainline.IIO_BUFFER_DMABUF_DETACH_IOCTL;
    expect(_IOC_NR(v2)).toBe(_IOC_NR(ml));
    expect(_IOC_TYPE(v2)).toBe(_IOC_TYPE(ml));
    expect(v2).toBe(0x40106993);
    expect(ml).toBe(0x40046993);
  });

  it('XPROF-1: no v2 DMABUF number equals any mainline DMABUF number', () => {
    const v2 = [IIO_BUFFER_DMABUF_ALLOC_IOCTL, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL];
    const ml = [
      mainline.IIO_BUFFER_DMABUF_ATTACH_IOCTL,
      mainline.IIO_BUFFER_DMABUF_DETACH_IOCTL,
      mainline.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    ];
    for (const a of v2) expect(ml).not.toContain(a);
  });
});

describe('v2 flags (rulebook 1.2, SEED-4)', () => {
  it('SEED-4: whole series CYCLIC 0x1 and SUPPORTED_FLAGS 0x1; patch 05/12 alone 0', () => {
    expect(IIO_BUFFER_DMABUF_CYCLIC).toBe(0x1);
    expect(IIO_BUFFER_DMABUF_SUPPORTED_FLAGS).toBe(0x1);
    expect(IIO_BUFFER_DMABUF_SUPPORTED_FLAGS_PATCH05).toBe(0);
  });
});

describe('v2 structs (rulebook 1.4)', () => {
  it.each(ABIS)('1.4: iio_dmabuf_alloc_req in %s is size@0 u64, resv@8 u64, size 16', (abi) => {
    expect(iio_dmabuf_alloc_req.size(abi)).toBe(16);
    expect(iio_dmabuf_alloc_req.align(abi)).toBe(abi === 'lp64' ? 8 : 4);
    expect(iio_dmabuf_alloc_req.offsetOf('size', abi)).toBe(0);
    expect(iio_dmabuf_alloc_req.offsetOf('resv', abi)).toBe(8);
  });

  it('v2 iio_dmabuf is the mainline layout', () => {
    expect(iio_dmabuf).toBe(mainline.iio_dmabuf);
  });

  it('iio_dmabuf_alloc_req round trip', () => {
    const bytes = iio_dmabuf_alloc_req.encode({ size: 5000 }, 'ilp32');
    expect(bytes).toEqual(new Uint8Array([0x88, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(iio_dmabuf_alloc_req.decode(bytes, 'lp64')).toEqual({ size: 5000n, resv: 0n });
    expect(iio_dmabuf_alloc_req.format({ size: 5000n, resv: 0n })).toBe('{size=5000, resv=0}');
  });
});
