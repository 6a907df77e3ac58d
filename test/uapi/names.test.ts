import { describe, expect, it } from 'vitest';
import * as v2 from '../../src/uapi/iio-v2.ts';
import {
  _IO,
  _IOC,
  _IOC_READ,
  _IOC_WRITE,
  _IOR,
  _IOW,
  _IOWR,
  FIOCLEX,
  FIONBIO,
} from '../../src/uapi/ioctl.ts';
import {
  formatDmaBufSyncFlags,
  formatFdFlags,
  formatIoctlFallback,
  formatMapFlags,
  formatMemfdFlags,
  formatOpenFlags,
  formatPollEvents,
  formatProt,
  formatSeals,
  ioctlRequestName,
} from '../../src/uapi/names.ts';

describe('ioctlRequestName', () => {
  it.each([
    [0x80046990, 'IIO_GET_EVENT_FD_IOCTL'],
    [0xc0046991, 'IIO_BUFFER_GET_FD_IOCTL'],
    [0x40046992, 'IIO_BUFFER_DMABUF_ATTACH_IOCTL'],
    [0x40046993, 'IIO_BUFFER_DMABUF_DETACH_IOCTL'],
    [0x40106994, 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL'],
    [0x40086200, 'DMA_BUF_IOCTL_SYNC'],
    [0x40046201, 'DMA_BUF_SET_NAME_A'],
    [0x40086201, 'DMA_BUF_SET_NAME_B'],
    [0xc0086202, 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE'],
    [0x40086203, 'DMA_BUF_IOCTL_IMPORT_SYNC_FILE'],
    [0xc0383e04, 'SYNC_IOC_FILE_INFO'],
    [0xc0184800, 'DMA_HEAP_IOCTL_ALLOC'],
    [0x40187542, 'UDMABUF_CREATE'],
    [0x40087543, 'UDMABUF_CREATE_LIST'],
    [0x541b, 'FIONREAD'],
    [0x5421, 'FIONBIO'],
    [0x5450, 'FIONCLEX'],
    [0x5451, 'FIOCLEX'],
    [0x5452, 'FIOASYNC'],
    [0x5460, 'FIOQSIZE'],
  ])('1.3: mainline names %i as %s', (req, name) => {
    expect(ioctlRequestName(req, 'mainline')).toBe(name);
  });

  it.each([
    [0x80046990, 'IIO_GET_EVENT_FD_IOCTL'],
    [0xc0046991, 'IIO_BUFFER_GET_FD_IOCTL'],
    [0x40106992, 'IIO_BUFFER_DMABUF_ALLOC_IOCTL'],
    [0x40106993, 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL'],
    [0x40086200, 'DMA_BUF_IOCTL_SYNC'],
    [0x40046201, 'DMA_BUF_SET_NAME_A'],
    [0x40086201, 'DMA_BUF_SET_NAME_B'],
    [0xc0184800, 'DMA_HEAP_IOCTL_ALLOC'],
    [0x40187542, 'UDMABUF_CREATE'],
    [0x40087543, 'UDMABUF_CREATE_LIST'],
    [FIONBIO, 'FIONBIO'],
  ])('1.3: v2 names %i as %s', (req, name) => {
    expect(ioctlRequestName(req, 'v2')).toBe(name);
  });

  it('XPROF-1: 0x40106993 is the v2 ENQUEUE and nothing in mainline', () => {
    expect(ioctlRequestName(v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, 'v2')).toBe(
      'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL',
    );
    expect(ioctlRequestName(0x40106993, 'mainline')).toBe('_IOC(_IOC_WRITE, 0x69, 0x93, 0x10)');
  });

  it('XPROF-1: 0x40046992 is ATTACH only in mainline', () => {
    expect(ioctlRequestName(0x40046992, 'mainline')).toBe('IIO_BUFFER_DMABUF_ATTACH_IOCTL');
    expect(ioctlRequestName(0x40046992, 'v2')).toBe('_IOC(_IOC_WRITE, 0x69, 0x92, 0x4)');
    expect(ioctlRequestName(0x40106992, 'mainline')).toBe('_IOC(_IOC_WRITE, 0x69, 0x92, 0x10)');
    expect(ioctlRequestName(0x40106994, 'v2')).toBe('_IOC(_IOC_WRITE, 0x69, 0x94, 0x10)');
    expect(ioctlRequestName(0x40046993, 'v2')).toBe('_IOC(_IOC_WRITE, 0x69, 0x93, 0x4)');
  });

  it('1.3: the sync_file export/import numbers are mainline only', () => {
    expect(ioctlRequestName(0xc0086202, 'v2')).toBe('_IOC(_IOC_READ|_IOC_WRITE, 0x62, 0x2, 0x8)');
    expect(ioctlRequestName(0x40086203, 'v2')).toBe('_IOC(_IOC_WRITE, 0x62, 0x3, 0x8)');
    expect(ioctlRequestName(0xc0383e04, 'v2')).toBe('_IOC(_IOC_READ|_IOC_WRITE, 0x3e, 0x4, 0x38)');
  });

  it('accepts the signed spelling of a request', () => {
    expect(ioctlRequestName(0xc0046991 | 0, 'mainline')).toBe('IIO_BUFFER_GET_FD_IOCTL');
  });

  it('other numbers near a known one stay unnamed (the full value must match)', () => {
    expect(ioctlRequestName(_IOW('i', 0x94, 12), 'mainline')).toBe('_IOC(_IOC_WRITE, 0x69, 0x94, 0xc)');
    expect(ioctlRequestName(_IOWR('H', 0, 16), 'mainline')).toBe('_IOC(_IOC_READ|_IOC_WRITE, 0x48, 0, 0x10)');
  });
});

describe('formatIoctlFallback (strace _IOC form)', () => {
  it('matches the strace sample line', () => {
    expect(formatIoctlFallback(0x40046992)).toBe('_IOC(_IOC_WRITE, 0x69, 0x92, 0x4)');
  });

  it('spells every direction and prints zero fields as 0', () => {
    expect(formatIoctlFallback(_IO('x', 0))).toBe('_IOC(_IOC_NONE, 0x78, 0, 0)');
    expect(formatIoctlFallback(_IOR('x', 1, 4))).toBe('_IOC(_IOC_READ, 0x78, 0x1, 0x4)');
    expect(formatIoctlFallback(_IOW('x', 0xff, 0x3fff))).toBe('_IOC(_IOC_WRITE, 0x78, 0xff, 0x3fff)');
    expect(formatIoctlFallback(_IOC(_IOC_READ | _IOC_WRITE, 0, 0, 0))).toBe(
      '_IOC(_IOC_READ|_IOC_WRITE, 0, 0, 0)',
    );
    expect(formatIoctlFallback(0)).toBe('_IOC(_IOC_NONE, 0, 0, 0)');
  });

  it('FIOCLEX without a name would be _IOC(_IOC_NONE, 0x54, 0x51, 0)', () => {
    expect(formatIoctlFallback(FIOCLEX)).toBe('_IOC(_IOC_NONE, 0x54, 0x51, 0)');
  });
});

describe('flag formatters', () => {
  it('formatOpenFlags: access mode first, strace order, unknown bits hex', () => {
    expect(formatOpenFlags(0o2 | 0o4000 | 0o2000000)).toBe('O_RDWR|O_NONBLOCK|O_CLOEXEC');
    expect(formatOpenFlags(0)).toBe('O_RDONLY');
    expect(formatOpenFlags(0o1 | 0o100 | 0o1000)).toBe('O_WRONLY|O_CREAT|O_TRUNC');
    expect(formatOpenFlags(0o2 | 0o100000)).toBe('O_RDWR|O_LARGEFILE');
    expect(formatOpenFlags(0o2000000 | 0o20000 | 0o4000)).toBe('O_RDONLY|O_NONBLOCK|O_CLOEXEC|FASYNC');
    expect(formatOpenFlags(3)).toBe('O_ACCMODE');
    expect(formatOpenFlags(0o4010000)).toBe('O_RDONLY|O_SYNC');
    expect(formatOpenFlags(0o2 | 0x40000000)).toBe('O_RDWR|0x40000000');
    expect(formatOpenFlags(0o2 | 0o4000 | 0x40000000)).toBe('O_RDWR|O_NONBLOCK|0x40000000');
  });

  it('formatProt', () => {
    expect(formatProt(0)).toBe('PROT_NONE');
    expect(formatProt(1 | 2)).toBe('PROT_READ|PROT_WRITE');
    expect(formatProt(7)).toBe('PROT_READ|PROT_WRITE|PROT_EXEC');
    expect(formatProt(1 | 0x10)).toBe('PROT_READ|0x10');
    expect(formatProt(0x10)).toBe('0x10 /* PROT_??? */');
  });

  it('formatMapFlags', () => {
    expect(formatMapFlags(1)).toBe('MAP_SHARED');
    expect(formatMapFlags(2 | 0x20)).toBe('MAP_PRIVATE|MAP_ANONYMOUS');
    expect(formatMapFlags(3 | 0x10)).toBe('MAP_SHARED_VALIDATE|MAP_FIXED');
    expect(formatMapFlags(1 | 0x8000)).toBe('MAP_SHARED|MAP_POPULATE');
    expect(formatMapFlags(0)).toBe('MAP_FILE');
    expect(formatMapFlags(0x4)).toBe('0x4 /* MAP_??? */');
    expect(formatMapFlags(1 | 0x40000 | (21 << 26))).toBe('MAP_SHARED|MAP_HUGETLB|21<<MAP_HUGE_SHIFT');
    expect(formatMapFlags(1 | 0x200)).toBe('MAP_SHARED|0x200');
  });

  it('formatPollEvents (re-exported)', () => {
    expect(formatPollEvents(1 | 4)).toBe('POLLIN|POLLOUT');
    expect(formatPollEvents(0)).toBe('0');
  });

  it('formatDmaBufSyncFlags (re-exported)', () => {
    expect(formatDmaBufSyncFlags(1)).toBe('DMA_BUF_SYNC_START|DMA_BUF_SYNC_READ');
    expect(formatDmaBufSyncFlags(6)).toBe('DMA_BUF_SYNC_END|DMA_BUF_SYNC_WRITE');
  });

  it('formatFdFlags, formatMemfdFlags, formatSeals', () => {
    expect(formatFdFlags(1)).toBe('FD_CLOEXEC');
    expect(formatFdFlags(0)).toBe('0');
    expect(formatMemfdFlags(3)).toBe('MFD_CLOEXEC|MFD_ALLOW_SEALING');
    expect(formatMemfdFlags(0)).toBe('0');
    expect(formatMemfdFlags(0x40)).toBe('0x40 /* MFD_??? */');
    expect(formatSeals(0x1 | 0x8)).toBe('F_SEAL_SEAL|F_SEAL_WRITE');
    expect(formatSeals(0)).toBe('0');
  });
});
