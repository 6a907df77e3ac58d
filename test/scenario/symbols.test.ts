import { describe, expect, it } from 'vitest';
import { FLAG_NAMES, flagValue, STRUCTS } from '../../src/scenario/symbols.ts';
import { iio_event_data } from '../../src/uapi/iio.ts';
import { IOCTLS, type IoctlDef } from '../../src/uapi/ioctls.ts';

describe('scenario symbols', () => {
  it('STRUCTS holds every struct argument of the ioctl table, by kernel name, and iio_event_data', () => {
    const fromTable = (IOCTLS as readonly IoctlDef[]).flatMap((d) =>
      d.arg.kind === 'struct' ? [d.arg.codec.name] : [],
    );
    expect(Object.keys(STRUCTS)).toEqual([...new Set(fromTable), 'iio_event_data']);
    for (const d of IOCTLS as readonly IoctlDef[])
      if (d.arg.kind === 'struct') expect(STRUCTS[d.arg.codec.name]).toBe(d.arg.codec);
    expect(STRUCTS.iio_event_data).toBe(iio_event_data);
  });

  it('names the structs of both profiles (v2 ALLOC too) and the flexible-array head of CREATE_LIST', () => {
    expect(Object.keys(STRUCTS)).toEqual(
      expect.arrayContaining(['iio_dmabuf', 'iio_dmabuf_alloc_req', 'dma_buf_sync', 'udmabuf_create_list']),
    );
  });

  it('flagValue reads names, A|B expressions, hex, decimal and lists', () => {
    expect(flagValue('O_RDWR|O_CLOEXEC')).toBe(0o2000002);
    expect(flagValue(['PROT_READ', 'PROT_WRITE'])).toBe(3);
    expect(flagValue('0x10 | 1')).toBe(0x11);
    expect(flagValue(7)).toBe(7);
    expect(flagValue(undefined)).toBe(0);
    expect(FLAG_NAMES.DMA_BUF_SYNC_READ).toBe(1);
    expect(() => flagValue('O_NOPE')).toThrow(/unknown flag 'O_NOPE'/);
  });
});
