/**
 * The IIO device and buffer sysfs attributes (rulebook §3, ATTR-1..8 and ATTR-13..25), exercised through
 * open/read/write/close of the attribute files. ATTR-9..12 (`enable`) live in enable.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import type { IioDev } from '../../../src/kernel/iio/device.ts';
import { IioBuffer } from '../../../src/kernel/iio/device.ts';
import { IioKfifo } from '../../../src/kernel/iio/kfifo.ts';
import {
  type IioChanSpec,
  type IioInfo,
  INDIO_BUFFER_TRIGGERED,
  INDIO_DIRECT_MODE,
} from '../../../src/kernel/iio/types.ts';
import { IIO_VAL_INT, IIO_VAL_INT_PLUS_MICRO } from '../../../src/kernel/lib/format.ts';
import type { DeviceConfig } from '../../../src/sim/devices.ts';
import {
  EACCES,
  EBUSY,
  EINVAL,
  EIO,
  ENOENT,
  ERANGE,
  IIO_BUFFER_DIRECTION_IN,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
} from '../../../src/uapi/index.ts';
import { readAttr, writeAttr } from '../../../src/user/iio.ts';
import { extraDevice, runOne, simInternal, simOnly, simState } from '../../helpers.ts';

const ADC = '/sys/bus/iio/devices/iio:device0';
const DAC = '/sys/bus/iio/devices/iio:device1';
const DUMMY = '/sys/bus/iio/devices/iio:device2';

/** Writes each [path, text] in turn and returns every result. */
async function writeAll(sys: Sys, writes: readonly (readonly [string, string])[]): Promise<number[]> {
  const out: number[] = [];
  for (const [path, text] of writes) out.push(await writeAttr(sys, path, text));
  return out;
}

/** Enables in_voltage0 of sim-dummy and its buffer. */
async function enableDummy(sys: Sys): Promise<number[]> {
  return writeAll(sys, [
    [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
    [`${DUMMY}/buffer0/enable`, '1'],
  ]);
}

/** Enables in_voltage0 of sim-adc and its buffer. */
async function enableAdc(sys: Sys): Promise<number[]> {
  return writeAll(sys, [
    [`${ADC}/buffer0/in_voltage0_en`, '1'],
    [`${ADC}/buffer0/enable`, '1'],
  ]);
}

const U16 = { sign: 'u', realbits: 16, storagebits: 16, shift: 0, endianness: 'le' } as const;

/** Three plain u16 input channels, scan indices 0..2. */
const TEST_CHANNELS: IioChanSpec[] = [0, 1, 2].map((i) => ({
  type: 'voltage',
  channel: i,
  modifier: null,
  output: false,
  scanIndex: i,
  scanType: U16,
  hwChannel: i,
}));

/**
 * Registers a triggered kfifo device (a no-op trigger) with `buffers` buffers and the given scan-mask
 * constraints; it becomes the next `iio:deviceN`.
 */
function addKfifoDevice(
  sim: Simulator,
  opts: {
    buffers?: number;
    availableScanMasks?: number[][];
    validateScanMask?: (mask: ReadonlySet<number>) => boolean;
    trigger?: boolean;
  } = {},
): IioDev {
  return sim.kernel.iio.register(
    {
      name: 'sim-test',
      channels: TEST_CHANNELS,
      modes: INDIO_DIRECT_MODE | INDIO_BUFFER_TRIGGERED,
      info: { sharedAttrs: [], readRaw: () => -EINVAL },
      ...(opts.availableScanMasks ? { availableScanMasks: opts.availableScanMasks } : {}),
      ...(opts.validateScanMask ? { validateScanMask: opts.validateScanMask } : {}),
    },
    (d) => {
      if (opts.trigger ?? true) d.trigger = { name: 'sim-test-trigger', attach: () => {}, detach: () => {} };
      for (let i = 0; i < (opts.buffers ?? 1); i++) {
        const kf = new IioKfifo();
        const b = new IioBuffer(d, i, IIO_BUFFER_DIRECTION_IN, kf, 2, 1);
        kf.init(b);
        d.attachBuffer(b);
      }
    },
  );
}

/** Registers a device with only `sampling_frequency`, whose driver callbacks are `info`. */
function addInfoDevice(sim: Simulator, info: IioInfo): string {
  return sim.kernel.iio.register({ name: 'sim-info', channels: [], modes: INDIO_DIRECT_MODE, info }, () => {})
    .sysfsDir;
}

describe('ATTR-1: name', () => {
  it.each([
    [ADC, 'sim-adc\n'],
    [DAC, 'sim-dac\n'],
    [DUMMY, 'sim-dummy\n'],
  ])('ATTR-1: %s/name reads %j', async (dir, text) => {
    const { value } = await runOne(async (sys) => readAttr(sys, `${dir}/name`));
    expect(value).toBe(text);
  });

  it('ATTR-1: a configured device name shows as given', async () => {
    const devices: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'my-adc',
        sampleRateHz: 1000,
        channels: [{ id: 'voltage0', type: 'le:s12/16>>0' }],
      },
    ];
    const { value } = await runOne(async (sys) => readAttr(sys, `${ADC}/name`), { devices });
    expect(value).toBe('my-adc\n');
  });
});

describe('ATTR-2: sampling_frequency show', () => {
  it.each([
    [ADC, '1000000\n'],
    [DAC, '1000000\n'],
    [DUMMY, '1000\n'],
  ])('ATTR-2: %s/sampling_frequency reads %j (IIO_VAL_INT)', async (dir, text) => {
    const { value } = await runOne(async (sys) => readAttr(sys, `${dir}/sampling_frequency`));
    expect(value).toBe(text);
  });

  it.each([
    [IIO_VAL_INT, [-42], '-42\n'],
    [IIO_VAL_INT, [0], '0\n'],
    [IIO_VAL_INT_PLUS_MICRO, [1, 500000], '1.500000\n'],
    [IIO_VAL_INT_PLUS_MICRO, [-1, 500000], '-1.500000\n'],
    [IIO_VAL_INT_PLUS_MICRO, [0, -500000], '-0.500000\n'],
    [IIO_VAL_INT_PLUS_MICRO, [3, 7], '3.000007\n'],
  ])('ATTR-2: driver value type %d %j shows %j', async (type, vals, text) => {
    const { value } = await runOne(async (sys, sim) => {
      const dir = addInfoDevice(sim, {
        sharedAttrs: ['sampling_frequency'],
        readRaw: () => ({ type, vals }),
      });
      return readAttr(sys, `${dir}/sampling_frequency`);
    });
    expect(value).toBe(text);
  });

  it('ATTR-2: a read_raw error is the read result (-EIO)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dir = addInfoDevice(sim, { sharedAttrs: ['sampling_frequency'], readRaw: () => -EIO });
      return readAttr(sys, `${dir}/sampling_frequency`);
    });
    expect(value).toBe(-EIO);
  });
});

describe('ATTR-3: sampling_frequency store', () => {
  it('ATTR-3: sim-adc accepts "2000" (returns 4) and then reads "2000\\n"', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/sampling_frequency`, '2000'),
      await readAttr(sys, `${ADC}/sampling_frequency`),
      await writeAttr(sys, `${ADC}/sampling_frequency`, '500000\n'),
      await readAttr(sys, `${ADC}/sampling_frequency`),
    ]);
    expect(value).toEqual([4, '2000\n', 7, '500000\n']);
  });

  it.each([ADC, DAC, DUMMY])(
    'ATTR-3: %s/sampling_frequency "0" and "-1000" are -EINVAL (driver)',
    async (dir) => {
      const { value } = await runOne(async (sys) => [
        await writeAttr(sys, `${dir}/sampling_frequency`, '0'),
        await writeAttr(sys, `${dir}/sampling_frequency`, '-1000'),
      ]);
      expect(value).toEqual([-EINVAL, -EINVAL]);
    },
  );

  it.each([ADC, DUMMY])('ATTR-3: %s/sampling_frequency junk ("abc", "1e3", " 5") is -EINVAL', async (dir) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${dir}/sampling_frequency`, 'abc'),
      await writeAttr(sys, `${dir}/sampling_frequency`, '1e3'),
      await writeAttr(sys, `${dir}/sampling_frequency`, ' 5'),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('ATTR-3: sim-dummy accepts up to its maximum 100000 and refuses 100001 with -EINVAL', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/sampling_frequency`, '100000'),
      await writeAttr(sys, `${DUMMY}/sampling_frequency`, '100001'),
      await readAttr(sys, `${DUMMY}/sampling_frequency`),
    ]);
    expect(value).toEqual([6, -EINVAL, '100000\n']);
  });

  it('ATTR-3: sim-adc accepts up to 125000000 (its default maximum) and refuses 125000001', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/sampling_frequency`, '125000000'),
      await writeAttr(sys, `${ADC}/sampling_frequency`, '125000001'),
      await readAttr(sys, `${ADC}/sampling_frequency`),
    ]);
    expect(value).toEqual([9, -EINVAL, '125000000\n']);
  });

  it('ATTR-3: writing while the buffer is enabled is -EBUSY (driver), and works again after disable', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableAdc(sys)),
      await writeAttr(sys, `${ADC}/sampling_frequency`, '2000'),
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/sampling_frequency`, '2000'),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '0'),
      await writeAttr(sys, `${DUMMY}/sampling_frequency`, '2000'),
      await readAttr(sys, `${ADC}/sampling_frequency`),
      await readAttr(sys, `${DUMMY}/sampling_frequency`),
    ]);
    expect(value).toEqual([1, 1, -EBUSY, 1, 1, -EBUSY, 1, 4, '1000000\n', '2000\n']);
  });

  it('ATTR-3: without write_raw every store is -EINVAL (before parsing)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dir = addInfoDevice(sim, {
        sharedAttrs: ['sampling_frequency'],
        readRaw: () => ({ type: IIO_VAL_INT, vals: [7] }),
      });
      return [
        await writeAttr(sys, `${dir}/sampling_frequency`, '5'),
        await writeAttr(sys, `${dir}/sampling_frequency`, 'junk'),
        await readAttr(sys, `${dir}/sampling_frequency`),
      ];
    });
    expect(value).toEqual([-EINVAL, -EINVAL, '7\n']);
  });

  it('ATTR-3: the driver errno is returned as is (-EIO)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dir = addInfoDevice(sim, {
        sharedAttrs: ['sampling_frequency'],
        readRaw: () => ({ type: IIO_VAL_INT, vals: [7] }),
        writeRaw: () => -EIO,
      });
      return writeAttr(sys, `${dir}/sampling_frequency`, '5');
    });
    expect(value).toBe(-EIO);
  });
});

describe('ATTR-4..8: length', () => {
  it.each([
    [ADC, '4096\n'],
    [DAC, '4096\n'],
    [DUMMY, '2\n'],
  ])('ATTR-4: %s/buffer0/length reads %j', async (dir, text) => {
    const { value } = await runOne(async (sys) => readAttr(sys, `${dir}/buffer0/length`));
    expect(value).toBe(text);
  });

  it.each([
    ['2147483647', '2147483647\n'],
    ['2147483648', '-2147483648\n'],
    ['4294967295', '-1\n'],
  ])('ATTR-4: length is shown as a signed int: kfifo length %s reads %j', async (text, shown) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/length`, text),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
    ]);
    expect(value).toEqual([text.length, shown]);
  });

  it('ATTR-4: DMA length 4294967295 reads "-1\\n" while its watermark (%u) reads "2147483647\\n"', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/length`, '4294967295'),
      await readAttr(sys, `${ADC}/buffer0/length`),
      await readAttr(sys, `${ADC}/buffer0/watermark`),
    ]);
    expect(value).toEqual([10, '-1\n', '2147483647\n']);
  });

  it.each([
    ['abc', -EINVAL],
    ['-1', -EINVAL],
    ['0x100', -EINVAL],
    ['4294967296', -ERANGE],
  ])('ATTR-5: length %j is %d on both kinds of buffer', async (text, errno) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/length`, text),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, text),
      await readAttr(sys, `${ADC}/buffer0/length`),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
    ]);
    expect(value).toEqual([errno, errno, '4096\n', '2\n']);
  });

  it('ATTR-6: storing the current length succeeds while enabled ("2", "+2\\n", "02" on the kfifo)', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '2'),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '+2\n'),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '02'),
      await readAttr(sys, `${DUMMY}/buffer0/enable`),
    ]);
    expect(value).toEqual([1, 1, 1, 3, 2, '1\n']);
  });

  it('ATTR-6: storing the current length succeeds while a DMA buffer is enabled ("4096")', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableAdc(sys)),
      await writeAttr(sys, `${ADC}/buffer0/length`, '4096'),
      await readAttr(sys, `${ADC}/buffer0/watermark`),
    ]);
    expect(value).toEqual([1, 1, 4, '2048\n']);
  });

  it('ATTR-7: another length while enabled is -EBUSY and nothing changes (kfifo and DMA)', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '8'),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '1'),
      ...(await enableAdc(sys)),
      await writeAttr(sys, `${ADC}/buffer0/length`, '1000'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
      await readAttr(sys, `${ADC}/buffer0/length`),
      await readAttr(sys, `${ADC}/buffer0/watermark`),
    ]);
    expect(value).toEqual([1, 1, -EBUSY, -EBUSY, 1, 1, -EBUSY, '2\n', '4096\n', '2048\n']);
  });

  it('ATTR-7: a parse error while enabled is still -EINVAL/-ERANGE (parsing comes first)', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, 'x'),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '4294967296'),
    ]);
    expect(value).toEqual([1, 1, -EINVAL, -ERANGE]);
  });

  it.each([
    ['1000', '1000\n', '500\n'],
    ['7', '7\n', '3\n'],
    ['3', '3\n', '1\n'],
    ['2', '2\n', '1\n'],
    ['1', '2\n', '1\n'],
    ['0', '2\n', '1\n'],
    ['8192', '8192\n', '4096\n'],
  ])('ATTR-8: DMA length %j reads %j and sets watermark = length/2 = %j (DMAQ-9)', async (text, len, wm) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/length`, text),
      await readAttr(sys, `${ADC}/buffer0/length`),
      await readAttr(sys, `${ADC}/buffer0/watermark`),
      await writeAttr(sys, `${DAC}/buffer0/length`, text),
      await readAttr(sys, `${DAC}/buffer0/length`),
      await readAttr(sys, `${DAC}/buffer0/watermark`),
    ]);
    expect(value).toEqual([text.length, len, wm, text.length, len, wm]);
  });

  it('ATTR-8: kfifo length below 2 becomes 2; 5 reads "5\\n" (not the rounded-up capacity)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '5'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '8'),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '0'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
    ]);
    expect(value).toEqual([1, '5\n', 1, '2\n', 1, 1, '2\n']);
  });

  it('ATTR-8: a kfifo length below the watermark pulls the watermark down to it; a larger one does not raise it', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '8'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '6'),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '4'),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '16'),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
    ]);
    expect(value).toEqual([1, 1, 1, '4\n', 2, '4\n', 1, '2\n', '2\n']);
  });
});

describe('ATTR-13..15: watermark', () => {
  it.each([
    [ADC, '2048\n'],
    [DAC, '2048\n'],
    [DUMMY, '1\n'],
  ])('ATTR-13: %s/buffer0/watermark reads %j', async (dir, text) => {
    const { value } = await runOne(async (sys) => readAttr(sys, `${dir}/buffer0/watermark`));
    expect(value).toBe(text);
  });

  it('ATTR-13: watermark is shown with "%u" (4294967295 on a kfifo of that length)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '4294967295'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '4294967295'),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
    ]);
    expect(value).toEqual([10, 10, '4294967295\n']);
  });

  it.each([
    ['x', -EINVAL],
    ['', 0],
    ['-1', -EINVAL],
    ['4294967296', -ERANGE],
    ['0', -EINVAL],
    ['0\n', -EINVAL],
    ['3', -EINVAL],
  ])('ATTR-14: disabled kfifo, watermark %j is %d (length 2)', async (text, ret) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, text),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
    ]);
    expect(value).toEqual([ret, '1\n']);
  });

  it('ATTR-14: disabled kfifo, a watermark up to the length is stored ("2" with length 2; "16" with length 16)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '2'),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '16'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '16\n'),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '17'),
    ]);
    expect(value).toEqual([1, '2\n', 2, 3, '16\n', -EINVAL]);
  });

  it('ATTR-14: enabled kfifo: parse errors, 0 and > length stay -EINVAL/-ERANGE; any valid value is -EBUSY', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, 'x'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '4294967296'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '0'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '3'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '2'),
      await readAttr(sys, `${DUMMY}/buffer0/watermark`),
    ]);
    expect(value).toEqual([1, 1, -EINVAL, -ERANGE, -EINVAL, -EINVAL, -EBUSY, -EBUSY, '1\n']);
  });

  it.each([
    `${ADC}/buffer0/watermark`,
    `${ADC}/buffer/watermark`,
    `${DAC}/buffer0/watermark`,
    `${DAC}/buffer/watermark`,
  ])('ATTR-15: DMA %s is 0444: O_WRONLY/O_RDWR -EACCES, O_RDONLY reads "2048\\n"', async (path) => {
    const { value } = await runOne(async (sys) => [
      await sys.open(path, O_WRONLY),
      await sys.open(path, O_RDWR),
      await readAttr(sys, path),
    ]);
    expect(value).toEqual([-EACCES, -EACCES, '2048\n']);
  });

  it('ATTR-15: the kfifo watermark is writable (0644)', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(`${DUMMY}/buffer0/watermark`, O_WRONLY),
      await sys.open(`${DUMMY}/buffer0/watermark`, O_RDWR),
    ]);
    expect(value).toEqual([0, 1]);
  });
});

describe('ATTR-16..18: data_available, direction, length_align_bytes', () => {
  it.each([ADC, DAC, DUMMY])(
    'ATTR-16: %s/buffer0/data_available reads "0\\n" before any enable',
    async (dir) => {
      const { value } = await runOne(async (sys) => readAttr(sys, `${dir}/buffer0/data_available`));
      expect(value).toBe('0\n');
    },
  );

  it('ATTR-16: kfifo data_available counts scans (4 in a full fifo of length 4), also after disable', async () => {
    const { value } = await runOne(async (sys) => {
      const setup = await writeAll(sys, [
        [`${DUMMY}/buffer0/length`, '4'],
        [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
        [`${DUMMY}/buffer0/in_timestamp_en`, '1'],
        [`${DUMMY}/buffer0/enable`, '1'],
      ]);
      await sys.nanosleep(10_000_000);
      const full = await readAttr(sys, `${DUMMY}/buffer0/data_available`);
      const off = await writeAttr(sys, `${DUMMY}/buffer0/enable`, '0');
      return [...setup, full, off, await readAttr(sys, `${DUMMY}/buffer0/data_available`)];
    });
    expect(value).toEqual([1, 1, 1, 1, '4\n', 1, '4\n']);
  });

  it('ATTR-16: DMA data_available counts bytes: one DONE fileio block of 4 x s16 = 16384, after disable 32768', async () => {
    const { value } = await runOne(async (sys) => {
      const setup = await writeAll(sys, [
        ...[0, 1, 2, 3].map((i) => [`${ADC}/buffer0/in_voltage${i}_en`, '1'] as const),
        [`${ADC}/buffer0/enable`, '1'],
      ]);
      const before = await readAttr(sys, `${ADC}/buffer0/data_available`);
      await sys.nanosleep(3_000_000);
      const one = await readAttr(sys, `${ADC}/buffer0/data_available`);
      const off = await writeAttr(sys, `${ADC}/buffer0/enable`, '0');
      return [...setup, before, one, off, await readAttr(sys, `${ADC}/buffer0/data_available`)];
    });
    expect(value).toEqual([1, 1, 1, 1, 1, '0\n', '16384\n', 1, '32768\n']);
  });

  it('ATTR-16: DMA data_available with 2 x s16 enabled is one block of 4 x 4096 / 2 = 8192 bytes', async () => {
    const { value } = await runOne(async (sys) => {
      await writeAll(sys, [
        [`${ADC}/buffer0/in_voltage1_en`, '1'],
        [`${ADC}/buffer0/in_voltage3_en`, '1'],
        [`${ADC}/buffer0/enable`, '1'],
      ]);
      await sys.nanosleep(3_000_000);
      return readAttr(sys, `${ADC}/buffer0/data_available`);
    });
    expect(value).toBe('8192\n');
  });

  it.each([
    [ADC, 'in\n'],
    [DAC, 'out\n'],
    [DUMMY, 'in\n'],
  ])('ATTR-17: %s/buffer0/direction reads %j', async (dir, text) => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, `${dir}/buffer0/direction`),
      await readAttr(sys, `${dir}/buffer/direction`),
    ]);
    expect(value).toEqual([text, text]);
  });

  it('ATTR-18: length_align_bytes is 8 on sim-adc, 4 on sim-dac, absent on the kfifo device', async () => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, `${ADC}/buffer0/length_align_bytes`),
      await readAttr(sys, `${DAC}/buffer0/length_align_bytes`),
      await sys.open(`${DUMMY}/buffer0/length_align_bytes`, O_RDONLY),
    ]);
    expect(value).toEqual(['8\n', '4\n', -ENOENT]);
  });

  it('ATTR-18: length_align_bytes follows the DMA controller parameter (16)', async () => {
    const devices: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'wide-adc',
        sampleRateHz: 1000,
        channels: [{ id: 'voltage0', type: 'le:s12/16>>0' }],
        dma: { lengthAlignBytes: 16 },
      },
    ];
    const { value } = await runOne(async (sys) => readAttr(sys, `${ADC}/buffer0/length_align_bytes`), {
      devices,
    });
    expect(value).toBe('16\n');
  });
});

describe('ATTR-19/20: <ch>_index and <ch>_type', () => {
  const table: [string, string, string][] = [
    [ADC, 'in_voltage0', '0'],
    [ADC, 'in_voltage1', '1'],
    [ADC, 'in_voltage2', '2'],
    [ADC, 'in_voltage3', '3'],
    [DAC, 'out_voltage0', '0'],
    [DAC, 'out_voltage1', '1'],
    [DUMMY, 'in_voltage0', '0'],
    [DUMMY, 'in_voltage1-voltage2', '1'],
    [DUMMY, 'in_voltage3-voltage4', '2'],
    [DUMMY, 'in_accel_x', '3'],
    [DUMMY, 'in_timestamp', '4'],
  ];

  it.each(table)('ATTR-19: %s/buffer0/%s_index reads "%s\\n"', async (dir, ch, index) => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, `${dir}/buffer0/${ch}_index`),
      await readAttr(sys, `${dir}/scan_elements/${ch}_index`),
    ]);
    expect(value).toEqual([`${index}\n`, `${index}\n`]);
  });

  it.each([
    [ADC, 'in_voltage0', 'le:s12/16>>0\n'],
    [ADC, 'in_voltage1', 'le:s12/16>>0\n'],
    [ADC, 'in_voltage2', 'le:s12/16>>0\n'],
    [ADC, 'in_voltage3', 'le:s12/16>>0\n'],
    [DAC, 'out_voltage0', 'le:s16/16>>0\n'],
    [DAC, 'out_voltage1', 'le:s16/16>>0\n'],
    [DUMMY, 'in_voltage0', 'le:u13/16>>0\n'],
    [DUMMY, 'in_voltage1-voltage2', 'le:s12/16>>0\n'],
    [DUMMY, 'in_voltage3-voltage4', 'le:s11/16>>0\n'],
    [DUMMY, 'in_accel_x', 'le:s16/16>>0\n'],
    [DUMMY, 'in_timestamp', 'le:s64/64>>0\n'],
  ])('ATTR-20: %s/buffer0/%s_type reads %j', async (dir, ch, type) => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, `${dir}/buffer0/${ch}_type`),
      await readAttr(sys, `${dir}/scan_elements/${ch}_type`),
    ]);
    expect(value).toEqual([type, type]);
  });

  it('ATTR-20: big-endian, shifted and repeated types: "%s:%c%d/%dX%d>>%u" only when repeat > 1', async () => {
    const devices: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'odd-adc',
        sampleRateHz: 1000,
        maxSampleRateHz: 1000,
        channels: [
          { id: 'voltage0', type: 'be:u10/16X3>>2' },
          { id: 'voltage1', type: 'le:u8/8>>0' },
          { id: 'accel_x', type: 'be:s32/32>>0' },
          { id: 'voltage2', type: 'le:s16/16X1>>0' },
          { id: 'voltage3', type: 'le:s48/64>>16' },
        ],
      },
    ];
    const { value } = await runOne(
      async (sys) => {
        const out: (string | number)[] = [];
        for (const ch of ['in_voltage0', 'in_voltage1', 'in_accel_x', 'in_voltage2', 'in_voltage3'])
          out.push(await readAttr(sys, `${ADC}/buffer0/${ch}_type`));
        return out;
      },
      { devices },
    );
    expect(value).toEqual([
      'be:u10/16X3>>2\n',
      'le:u8/8>>0\n',
      'be:s32/32>>0\n',
      'le:s16/16>>0\n',
      'le:s48/64>>16\n',
    ]);
  });
});

describe('ATTR-21..25: <ch>_en', () => {
  it.each([
    [ADC, 'in_voltage0'],
    [ADC, 'in_voltage3'],
    [DAC, 'out_voltage1'],
    [DUMMY, 'in_accel_x'],
    [DUMMY, 'in_timestamp'],
  ])('ATTR-21: %s/buffer0/%s_en reads "0\\n" at start and "1\\n" once set', async (dir, ch) => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, `${dir}/buffer0/${ch}_en`),
      await writeAttr(sys, `${dir}/buffer0/${ch}_en`, '1'),
      await readAttr(sys, `${dir}/buffer0/${ch}_en`),
    ]);
    expect(value).toEqual(['0\n', 1, '1\n']);
  });

  it("ATTR-21: each buffer has its own scan mask (buffer0's bit does not show in buffer1)", async () => {
    const { value } = await runOne(async (sys, sim) => {
      const dir = addKfifoDevice(sim, { buffers: 2 }).sysfsDir;
      return [
        await writeAttr(sys, `${dir}/buffer0/in_voltage1_en`, '1'),
        await readAttr(sys, `${dir}/buffer0/in_voltage1_en`),
        await readAttr(sys, `${dir}/buffer1/in_voltage1_en`),
        await writeAttr(sys, `${dir}/buffer1/in_voltage2_en`, '1'),
        await readAttr(sys, `${dir}/buffer0/in_voltage2_en`),
        await readAttr(sys, `${dir}/buffer1/in_voltage2_en`),
        await readAttr(sys, `${dir}/scan_elements/in_voltage1_en`),
        await readAttr(sys, `${dir}/scan_elements/in_voltage2_en`),
      ];
    });
    expect(value).toEqual([1, '1\n', '0\n', 1, '0\n', '1\n', '1\n', '0\n']);
  });

  it('ATTR-22: a parse error is -EINVAL, also while the buffer is enabled', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/in_accel_x_en`, 'x'),
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/buffer0/in_accel_x_en`, 'x'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '2'),
    ]);
    expect(value).toEqual([-EINVAL, 1, 1, -EINVAL, -EINVAL]);
  });

  it('ATTR-22: any valid store while enabled is -EBUSY, no-ops included, and the mask is unchanged', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '0'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_accel_x_en`, '0'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_accel_x_en`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`),
      await readAttr(sys, `${DUMMY}/buffer0/in_accel_x_en`),
    ]);
    expect(value).toEqual([1, 1, -EBUSY, -EBUSY, -EBUSY, -EBUSY, '1\n', '0\n']);
  });

  it('ATTR-22: a DMA buffer refuses _en stores with -EBUSY while enabled', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await enableAdc(sys)),
      await writeAttr(sys, `${ADC}/buffer0/in_voltage1_en`, '1'),
      await writeAttr(sys, `${ADC}/buffer0/in_voltage0_en`, '1'),
      await readAttr(sys, `${ADC}/buffer0/in_voltage1_en`),
    ]);
    expect(value).toEqual([1, 1, -EBUSY, -EBUSY, '0\n']);
  });

  it('ATTR-23: storing 1 on a set bit succeeds without asking the driver again', async () => {
    let allow = true;
    const { value } = await runOne(async (sys, sim) => {
      const dir = addKfifoDevice(sim, { validateScanMask: () => allow }).sysfsDir;
      const first = await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1');
      allow = false;
      return [
        first,
        await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
        await writeAttr(sys, `${dir}/buffer0/in_voltage1_en`, '1'),
        await readAttr(sys, `${dir}/buffer0/in_voltage0_en`),
        await readAttr(sys, `${dir}/buffer0/in_voltage1_en`),
      ];
    });
    expect(value).toEqual([1, 1, -EINVAL, '1\n', '0\n']);
  });

  it('ATTR-23: on the default devices, storing 1 on a bit already set succeeds and keeps it set', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/in_voltage1_en`, '1'),
      await writeAttr(sys, `${ADC}/buffer0/in_voltage1_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '1'),
      await readAttr(sys, `${ADC}/buffer0/in_voltage1_en`),
      await readAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`),
    ]);
    expect(value).toEqual([1, 1, 1, 1, '1\n', '1\n']);
  });

  it('ATTR-23: the driver validate_scan_mask sees the trial mask; a refusal is -EINVAL', async () => {
    const seen: number[][] = [];
    const { value } = await runOne(
      async (sys, sim) => {
        const dir = extraDevice(
          () =>
            addKfifoDevice(sim, {
              trigger: false,
              validateScanMask: (m) => {
                seen.push([...m].sort());
                return m.size <= 2;
              },
            }).sysfsDir,
          (d) => d,
        );
        return [
          await writeAttr(sys, `${dir}/buffer0/in_voltage2_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage1_en`, '1'),
          await readAttr(sys, `${dir}/buffer0/in_voltage1_en`),
          await readAttr(sys, `${dir}/buffer0/in_voltage2_en`),
        ];
      },
      { realExtra: ['validate'] },
    );
    expect(value).toEqual([1, 1, -EINVAL, '0\n', '1\n']);
    expect(simInternal(() => seen)).toEqual(
      simState([[2], [0, 2], [0, 1, 2]], 'the masks the driver’s validate_scan_mask was given'),
    );
  });

  it('ATTR-23: with available_scan_masks, a bit is set only if some mask contains the trial mask', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const dir = extraDevice(
          () => addKfifoDevice(sim, { trigger: false, availableScanMasks: [[0, 1], [2]] }).sysfsDir,
          (d) => d,
        );
        return [
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage1_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage2_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '0'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage2_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage1_en`, '0'),
          await writeAttr(sys, `${dir}/buffer0/in_voltage2_en`, '1'),
          await readAttr(sys, `${dir}/buffer0/in_voltage2_en`),
        ];
      },
      { realExtra: ['masks'] },
    );
    expect(value).toEqual([1, 1, -EINVAL, 1, -EINVAL, 1, 1, '1\n']);
  });

  it('ATTR-24: storing 0 succeeds on clear and set bits, even when the driver would refuse any mask', async () => {
    let allow = true;
    const { value } = await runOne(async (sys, sim) => {
      const dir = addKfifoDevice(sim, { validateScanMask: () => allow }).sysfsDir;
      const set = await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1');
      allow = false;
      return [
        set,
        await writeAttr(sys, `${dir}/buffer0/in_voltage1_en`, '0'),
        await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '0'),
        await readAttr(sys, `${dir}/buffer0/in_voltage0_en`),
      ];
    });
    expect(value).toEqual([1, 1, 1, '0\n']);
  });

  it('ATTR-24: storing 0 on the default devices always succeeds while disabled', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/in_voltage2_en`, '0'),
      await writeAttr(sys, `${DAC}/buffer0/out_voltage0_en`, '0'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_voltage3-voltage4_en`, '0'),
    ]);
    expect(value).toEqual([1, 1, 1]);
  });

  it('ATTR-25: in_timestamp_en parse error is -EINVAL, enabled is -EBUSY, otherwise it sets the flag', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, 'x'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`),
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, '1'),
      ...(await enableDummy(sys)),
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, '0'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, 'x'),
      await readAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`),
    ]);
    expect(value).toEqual([-EINVAL, 1, '1\n', 1, 1, 1, -EBUSY, -EBUSY, -EINVAL, '1\n']);
  });

  it('ATTR-25: the timestamp flag is not a scan-mask bit: with it alone the scan mask is empty', async () => {
    const { value, sim } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1'),
    ]);
    expect(value).toEqual([1, '0\n', -EINVAL]);
    const b = sim.device('sim-dummy').iio.buffers[0]!;
    expect([...b.scanMask]).toEqual([]);
    expect(b.scanTimestamp).toBe(true);
  });

  it('ATTR-25: the DMA devices have no timestamp channel', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(`${ADC}/buffer0/in_timestamp_en`, O_RDONLY),
      await sys.open(`${DAC}/scan_elements/in_timestamp_en`, O_RDONLY),
    ]);
    expect(value).toEqual([-ENOENT, -ENOENT]);
  });
});

describe('ATTR-2, ATTR-3: the ADC channels raw and scale (info_mask_separate)', () => {
  const constantAdc = (value: number, type = 'le:s12/16>>0'): DeviceConfig[] => [
    {
      kind: 'adc',
      name: 'sim-adc',
      sampleRateHz: 1_000_000,
      channels: [
        { id: 'voltage0', type, signal: { kind: 'constant', value } },
        { id: 'voltage1', type: 'le:u16/16>>0', signal: { kind: 'constant', value: 65535 } },
      ],
    },
  ];

  it('ATTR-2: in_voltage0_scale of a signed 12-bit channel is 2500 mV / 2^11 (IIO_VAL_FRACTIONAL_LOG2)', async () => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, `${ADC}/in_voltage0_scale`),
      await readAttr(sys, `${ADC}/in_voltage3_scale`),
    ]);
    expect(value).toEqual(['1.220703125\n', '1.220703125\n']);
  });

  it('ATTR-2: an unsigned 16-bit channel scales by 2500 mV / 2^16; raw shows the constant signal', async () => {
    const { value } = await runOne(
      async (sys) => [
        await readAttr(sys, `${ADC}/in_voltage1_scale`),
        await readAttr(sys, `${ADC}/in_voltage0_raw`),
        await readAttr(sys, `${ADC}/in_voltage1_raw`),
      ],
      { devices: constantAdc(-123) },
    );
    expect(value).toEqual(['0.038146972\n', '-123\n', '65535\n']);
  });

  it('ATTR-2: in_voltageN_raw is the ramp sample of the current time, converter stopped', async () => {
    const { value } = await runOne(async (sys) => {
      const before = sys.now();
      const text = await readAttr(sys, `${ADC}/in_voltage2_raw`);
      return { before, after: sys.now(), text };
    });
    const raw = Number(value.text);
    expect(value.text).toMatch(/^-?\d+\n$/);
    expect(raw).toBeGreaterThanOrEqual(-2048);
    expect(raw).toBeLessThanOrEqual(2047);
    simOnly('the sample index is the virtual time in µs at 1 MHz', () => {
      // Ramp of channel 2: code (n + 2048) mod 4096 - 2048, n = µs since boot.
      const at = (t: number) => ((Math.floor(t / 1000) + 2048) % 4096) - 2048;
      expect(raw).toBeGreaterThanOrEqual(at(value.before));
      expect(raw).toBeLessThanOrEqual(at(value.after));
    });
  });

  it('ATTR-2: reading raw while the buffer is enabled is -EBUSY (iio_device_claim_direct), and works after', async () => {
    const { value } = await runOne(
      async (sys) => [
        ...(await enableAdc(sys)),
        await readAttr(sys, `${ADC}/in_voltage0_raw`),
        await readAttr(sys, `${ADC}/in_voltage0_scale`),
        await writeAttr(sys, `${ADC}/buffer0/enable`, '0'),
        await readAttr(sys, `${ADC}/in_voltage0_raw`),
      ],
      { devices: constantAdc(7) },
    );
    expect(value).toEqual([1, 1, -EBUSY, '1.220703125\n', 1, '7\n']);
  });

  it('ATTR-3: raw and scale are 0644, and a store is -EINVAL (write_raw handles only sampling_frequency)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/in_voltage0_raw`, '5'),
      await writeAttr(sys, `${ADC}/in_voltage0_scale`, '1.5'),
      await writeAttr(sys, `${ADC}/in_voltage0_raw`, 'x'),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL]);
  });

  it('ATTR-2: the DAC channels have no raw or scale attribute (open is -ENOENT)', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(`${DAC}/out_voltage0_raw`, O_RDONLY),
      await sys.open(`${DAC}/out_voltage0_scale`, O_RDONLY),
    ]);
    expect(value).toEqual([-ENOENT, -ENOENT]);
  });
});
