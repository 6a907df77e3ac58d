import { describe, expect, it } from 'vitest';
import * as v2 from '../../src/uapi/iio-v2.ts';
import * as uapi from '../../src/uapi/index.ts';
import { _IO, _IOC_DIR, _IOC_NONE, _IOC_SIZE, _IOR, _IOW, _IOWR, FIONBIO } from '../../src/uapi/ioctl.ts';
import {
  ABI_PROFILES,
  type AbiProfile,
  defineIoctl,
  IOCTLS,
  type IoctlDef,
  ioctlByName,
  ioctlByRequest,
  ioctlDef,
  ioctlsOf,
} from '../../src/uapi/ioctls.ts';
import { ioctlRequestNames } from '../../src/uapi/names.ts';
import { ABIS, defineStruct } from '../../src/uapi/struct.ts';

/** What a program of each profile includes: the mainline headers, or the v2 IIO header over them. */
const HEADERS: Record<AbiProfile, Record<string, unknown>> = {
  mainline: uapi,
  v2: { ...uapi, ...v2 },
};

describe('the ioctl table', () => {
  it.each(IOCTLS.flatMap((d) => d.profiles.map((p) => [d.name, p, d.request] as const)))(
    '1.3: %s in %s is the header constant of that name',
    (name, profile, request) => {
      expect(HEADERS[profile][name]).toBe(request);
    },
  );

  it.each(ABI_PROFILES)('XPROF-1: in %s, every number and every name stands for one ioctl', (profile) => {
    const list = ioctlsOf(profile);
    expect(new Set(list.map((d) => d.request)).size).toBe(list.length);
    expect(new Set(list.map((d) => d.name)).size).toBe(list.length);
  });

  it('1.3: each _IOC-encoded number carries the direction and size of its argument', () => {
    for (const d of IOCTLS as readonly IoctlDef[]) {
      if (_IOC_DIR(d.request) === _IOC_NONE) continue;
      const size = _IOC_SIZE(d.request);
      if (d.arg.kind === 'struct') expect(size, d.name).toBe(d.arg.codec.size('lp64'));
      if (d.arg.kind === 'int') expect(size, d.name).toBe(d.arg.bytes ?? 4);
    }
  });

  it('XPROF-1: ENQUEUE has one number per profile; ATTACH and DETACH exist in mainline only, ALLOC in v2 only', () => {
    expect(ioctlByName('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'mainline')?.request).toBe(0x40106994);
    expect(ioctlByName('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'v2')?.request).toBe(0x40106993);
    expect(ioctlByRequest(0x40106993, 'v2')?.name).toBe('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL');
    expect(ioctlByRequest(0x40106993, 'mainline')).toBeUndefined();
    expect(ioctlByName('IIO_BUFFER_DMABUF_ATTACH_IOCTL', 'v2')).toBeUndefined();
    expect(ioctlByName('IIO_BUFFER_DMABUF_DETACH_IOCTL', 'v2')).toBeUndefined();
    expect(ioctlByName('IIO_BUFFER_DMABUF_ALLOC_IOCTL', 'mainline')).toBeUndefined();
    expect(ioctlByName('SYNC_IOC_FILE_INFO', 'v2')).toBeUndefined();
  });

  it('XPROF-1: a request number matches only with all 32 bits, however it is passed', () => {
    expect(ioctlByRequest(0xc0046991 | 0, 'mainline')?.name).toBe('IIO_BUFFER_GET_FD_IOCTL');
    expect(ioctlByRequest(_IOW('i', 0x94, 12), 'mainline')).toBeUndefined();
  });

  it.each(ABIS)('COMPAT-4: DMA_BUF_SET_NAME as compiled for %s is in the table, a string argument', (abi) => {
    for (const profile of ABI_PROFILES) {
      const d = ioctlByRequest(uapi.DMA_BUF_SET_NAME(abi), profile);
      expect(d?.name).toBe(abi === 'lp64' ? 'DMA_BUF_SET_NAME_B' : 'DMA_BUF_SET_NAME_A');
      expect(d?.arg).toEqual({ kind: 'string' });
    }
  });

  it('describes the files and arguments of the DMABUF calls', () => {
    expect(ioctlDef('IIO_BUFFER_GET_FD_IOCTL')).toMatchObject({
      file: 'iio:device',
      arg: { kind: 'int', dir: 'inout' },
    });
    expect(ioctlDef('DMA_HEAP_IOCTL_ALLOC')).toMatchObject({
      file: 'dma_heap',
      arg: { kind: 'struct', codec: uapi.dma_heap_allocation_data, dir: 'inout' },
    });
    expect(ioctlDef('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'v2')).toMatchObject({
      file: 'iio:buffer',
      arg: { kind: 'struct', codec: uapi.iio_dmabuf, dir: 'in' },
    });
    expect(ioctlDef('DMA_BUF_IOCTL_SYNC').file).toBe('dmabuf');
    expect(ioctlDef('SYNC_IOC_FILE_INFO').file).toBe('sync_file');
    expect(ioctlDef('FIONBIO')).toMatchObject({ file: 'any', arg: { kind: 'int', dir: 'in' } });
  });

  it('keeps its groups in order: the requests both profiles share, then those of mainline, then those of v2', () => {
    const group = (d: IoctlDef) =>
      d.profiles.length === ABI_PROFILES.length ? 0 : d.profiles[0] === 'mainline' ? 1 : 2;
    const groups = (IOCTLS as readonly IoctlDef[]).map(group);
    expect(groups).toEqual([...groups].sort());
  });

  it.each(ABI_PROFILES)('names the requests of %s in table order (the fuzzer indexes into it)', (profile) => {
    expect(ioctlRequestNames(profile)).toEqual(ioctlsOf(profile).map((d) => d.name));
    expect(ioctlRequestNames(profile).slice(0, 6)).toEqual([
      'FIONREAD',
      'FIONBIO',
      'FIONCLEX',
      'FIOCLEX',
      'FIOASYNC',
      'FIOQSIZE',
    ]);
  });
});

describe('ioctlDef', () => {
  it('finds an entry by name alone when there is one, or by name and profile', () => {
    expect(ioctlDef('DMA_BUF_IOCTL_SYNC').request).toBe(uapi.DMA_BUF_IOCTL_SYNC);
    expect(ioctlDef('IIO_BUFFER_DMABUF_ALLOC_IOCTL').request).toBe(v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL);
    expect(ioctlDef('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'v2').request).toBe(
      v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    );
  });

  it('throws a RangeError for a name that needs its profile, or is absent from the profile', () => {
    expect(() => ioctlDef('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL')).toThrow(/give the profile/);
    expect(() => ioctlDef('IIO_BUFFER_DMABUF_ATTACH_IOCTL', 'v2')).toThrow(RangeError);
  });
});

describe('defineIoctl', () => {
  const s8 = defineStruct('s8', [['x', 'u64']]);

  it('returns an entry that agrees with its number unchanged', () => {
    const def = { name: 'X', request: _IOWR('x', 1, 8), profiles: ['mainline'], file: 'any' } as const;
    const d = defineIoctl({ ...def, arg: { kind: 'struct', codec: s8, dir: 'inout' } });
    expect(d.arg.codec).toBe(s8);
    expect(defineIoctl({ ...def, request: _IOR('x', 2, 4), arg: { kind: 'int', dir: 'out' } }).name).toBe(
      'X',
    );
    expect(defineIoctl({ ...def, request: _IO('x', 3), arg: { kind: 'none' } }).name).toBe('X');
    expect(defineIoctl({ ...def, request: _IOW('x', 4, 4), arg: { kind: 'string' } }).name).toBe('X');
  });

  it('accepts any argument for a legacy number that encodes no direction or size (FIONBIO)', () => {
    const d = defineIoctl({
      name: 'FIONBIO',
      request: FIONBIO,
      profiles: ['v2'],
      file: 'any',
      arg: { kind: 'int', dir: 'in' },
    });
    expect(d.request).toBe(0x5421);
  });

  it('throws a TypeError when the direction, the size or the profiles contradict the entry', () => {
    const base = { name: 'X', profiles: ['mainline'], file: 'any' } as const;
    expect(() =>
      defineIoctl({ ...base, request: _IOW('x', 1, 8), arg: { kind: 'struct', codec: s8, dir: 'inout' } }),
    ).toThrow(/direction/);
    expect(() =>
      defineIoctl({ ...base, request: _IOW('x', 1, 4), arg: { kind: 'struct', codec: s8, dir: 'in' } }),
    ).toThrow(/size 4, the argument is 8 bytes/);
    expect(() => defineIoctl({ ...base, request: _IOR('x', 1, 4), arg: { kind: 'string' } })).toThrow(
      TypeError,
    );
    expect(() => defineIoctl({ ...base, profiles: [], request: _IO('x', 1), arg: { kind: 'none' } })).toThrow(
      /no profile/,
    );
  });
});
