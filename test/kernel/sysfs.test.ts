/**
 * sysfs attribute files as programs see them (rulebook §3: SYSFS-1..7, and PARSE-1..7 observed through
 * attribute writes): open/read/write/lseek/close on `/sys/bus/iio/devices/iio:deviceN/...`.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../src/index.ts';
import type { IioInfo } from '../../src/kernel/iio/types.ts';
import { INDIO_DIRECT_MODE } from '../../src/kernel/iio/types.ts';
import { IIO_VAL_INT, IIO_VAL_INT_PLUS_MICRO } from '../../src/kernel/lib/format.ts';
import {
  EACCES,
  EBUSY,
  EINVAL,
  ENODEV,
  ENOENT,
  ENXIO,
  EPERM,
  ERANGE,
  IIO_GET_EVENT_FD_IOCTL,
  O_DIRECTORY,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
} from '../../src/uapi/index.ts';
import { enableChannels, readAttr, setBufferEnabled, writeAttr } from '../../src/user/iio.ts';
import { ascii, extraDevice, removeDevice, runOne, simInternal, simState } from '../helpers.ts';

const ADC = '/sys/bus/iio/devices/iio:device0';
const DAC = '/sys/bus/iio/devices/iio:device1';
const DUMMY = '/sys/bus/iio/devices/iio:device2';

const latin1 = new TextDecoder('latin1');

/** Writes `text` on an open fd. */
async function put(sys: Sys, fd: number, text: string): Promise<number> {
  const bytes = ascii(text);
  const addr = sys.mem.alloc(Math.max(1, bytes.length));
  sys.mem.write(addr, bytes);
  return sys.write(fd, addr, bytes.length);
}

/** One read of at most `n` bytes on an open fd: the text, or the negative errno. */
async function get(sys: Sys, fd: number, n = 4096): Promise<string | number> {
  const addr = sys.mem.alloc(Math.max(1, n));
  const r = await sys.read(fd, addr, n);
  return r < 0 ? r : latin1.decode(sys.mem.read(addr, r));
}

/** Every attribute file below `dir`, recursively. */
function attributeFiles(sim: Simulator, dir: string): string[] {
  const out: string[] = [];
  for (const name of sim.kernel.paths.list(dir) ?? []) {
    const path = `${dir}/${name}`;
    if (sim.kernel.paths.list(path)) out.push(...attributeFiles(sim, path));
    else out.push(path);
  }
  return out;
}

/**
 * Registers a device with only a `sampling_frequency` channel-info attribute (no buffers, no events): the
 * driver's `write_raw` records what it was given and `read_raw` shows it back as INT_PLUS_MICRO.
 */
function addInfoDevice(sim: Simulator, format: number | null): { dir: string; writes: number[][] } {
  const writes: number[][] = [];
  let cur = [0, 0];
  const info: IioInfo = {
    sharedAttrs: ['sampling_frequency'],
    readRaw: () => ({ type: IIO_VAL_INT_PLUS_MICRO, vals: cur }),
    writeRaw: (_attr, integer, micro) => {
      writes.push([integer, micro]);
      cur = [integer, micro];
      return 0;
    },
    ...(format === null ? {} : { writeFormat: () => format }),
  };
  const dev = sim.kernel.iio.register(
    { name: 'sim-info', channels: [], modes: INDIO_DIRECT_MODE, info },
    () => {},
  );
  return { dir: dev.sysfsDir, writes };
}

/**
 * {@link addInfoDevice} with write_raw_get_fmt IIO_VAL_INT; on the real kernel the test module's `intfmt` extra
 * device (the same sampling_frequency, read back as the last value written), whose writes are not seen.
 */
function intInfoDevice(sim: Simulator): { dir: string; writes: number[][] } {
  return extraDevice(
    () => addInfoDevice(sim, IIO_VAL_INT),
    (dir) => ({ dir, writes: [] }),
  );
}

describe('SYSFS-1: open for write of a 0444 file', () => {
  const readOnly = [
    `${ADC}/name`,
    `${DAC}/name`,
    `${DUMMY}/name`,
    `${ADC}/dev`,
    `${ADC}/buffer0/watermark`,
    `${ADC}/buffer/watermark`,
    `${DAC}/buffer0/watermark`,
    `${ADC}/buffer0/data_available`,
    `${DUMMY}/buffer0/data_available`,
    `${ADC}/buffer0/direction`,
    `${DAC}/buffer/direction`,
    `${DUMMY}/buffer0/direction`,
    `${ADC}/buffer0/length_align_bytes`,
    `${ADC}/buffer0/in_voltage0_index`,
    `${ADC}/scan_elements/in_voltage0_type`,
    `${DUMMY}/buffer0/in_timestamp_index`,
    `${DUMMY}/buffer0/in_timestamp_type`,
  ];

  it.each(readOnly)(
    'SYSFS-1: %s opens O_RDONLY as fd 0 but O_WRONLY and O_RDWR are -EACCES',
    async (path) => {
      const { value } = await runOne(async (sys) => [
        await sys.open(path, O_WRONLY),
        await sys.open(path, O_RDWR),
        await sys.open(path, O_RDONLY),
      ]);
      expect(value).toEqual([-EACCES, -EACCES, 0]);
    },
  );

  const writable = [
    `${ADC}/sampling_frequency`,
    `${ADC}/buffer0/length`,
    `${ADC}/buffer0/enable`,
    `${ADC}/buffer0/in_voltage0_en`,
    `${DUMMY}/buffer0/watermark`,
    `${DUMMY}/buffer/watermark`,
    `${DUMMY}/scan_elements/in_timestamp_en`,
  ];

  it.each(writable)('SYSFS-1: writable %s opens O_WRONLY (fd 0) and O_RDWR (fd 1)', async (path) => {
    const { value } = await runOne(async (sys) => [
      await sys.open(path, O_WRONLY),
      await sys.open(path, O_RDWR),
    ]);
    expect(value).toEqual([0, 1]);
  });

  it('SYSFS-1: a failed write open installs no fd (the next open gets fd 0)', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(`${ADC}/name`, O_WRONLY),
      await sys.open(`${ADC}/buffer0/length`, O_WRONLY),
    ]);
    expect(value).toEqual([-EACCES, 0]);
  });
});

describe('SYSFS-2: read', () => {
  it('SYSFS-2: name reads whole as "sim-adc\\n", then 0 at the end', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${ADC}/name`, O_RDONLY);
      return [await get(sys, fd), await get(sys, fd), await get(sys, fd)];
    });
    expect(value).toEqual(['sim-adc\n', '', '']);
  });

  it('SYSFS-2: short reads continue where the previous one stopped', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${DUMMY}/name`, O_RDONLY);
      return [await get(sys, fd, 4), await get(sys, fd, 4), await get(sys, fd, 4), await get(sys, fd, 4)];
    });
    expect(value).toEqual(['sim-', 'dumm', 'y\n', '']);
  });

  it('SYSFS-2: read(n = 0) returns 0', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${ADC}/name`, O_RDONLY);
      const addr = sys.mem.alloc(16);
      return [await sys.read(fd, addr, 0), await get(sys, fd)];
    });
    expect(value).toEqual([0, 'sim-adc\n']);
  });

  it('SYSFS-2: after lseek to 0 a read shows the current value again', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${DUMMY}/buffer0/length`, O_RDONLY);
      const first = await get(sys, fd);
      const w = await writeAttr(sys, `${DUMMY}/buffer0/length`, '8');
      const atEnd = await get(sys, fd);
      const seek = await sys.lseek(fd, 0, SEEK_SET);
      return [first, w, atEnd, seek, await get(sys, fd)];
    });
    expect(value).toEqual(['2\n', 1, '', 0, '8\n']);
  });

  it('SYSFS-2 (lseek): an attribute seeks as a PAGE_SIZE file (generic_file_llseek): SEEK_CUR, SEEK_END, SEEK_DATA and SEEK_HOLE work, a negative position is -EINVAL, data past 4096 -ENXIO', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${ADC}/name`, O_RDONLY);
      const seeks: [number, number][] = [
        [5, SEEK_SET],
        [3, SEEK_CUR],
        [-100, SEEK_CUR],
        [0, SEEK_END],
        [-1, SEEK_END],
        [-5000, SEEK_END],
        [100, SEEK_DATA],
        [4096, SEEK_DATA],
        [100, SEEK_HOLE],
        [0, SEEK_CUR],
      ];
      const out: number[] = [];
      for (const [off, whence] of seeks) out.push(await sys.lseek(fd, off, whence));
      await sys.lseek(fd, 2, SEEK_SET);
      return [...out, await get(sys, fd)];
    });
    expect(value).toEqual([5, 8, -EINVAL, 4096, 4095, -EINVAL, 100, -ENXIO, 4096, 4096, 'm-adc\n']);
  });

  it('lseek on directories: sysfs ones seek as an empty file (SEEK_END from 0, SEEK_DATA/SEEK_HOLE -ENXIO); /dev and / take SEEK_SET and SEEK_CUR only', async () => {
    const { value } = await runOne(async (sys) => {
      const out: number[] = [];
      for (const dir of [ADC, '/sys', '/dev', '/dev/dma_heap', '/']) {
        const fd = await sys.open(dir, O_RDONLY | O_DIRECTORY);
        for (const [off, whence] of [
          [5, SEEK_SET],
          [3, SEEK_CUR],
          [-100, SEEK_CUR],
          [10, SEEK_END],
          [-1, SEEK_END],
          [0, SEEK_DATA],
          [0, SEEK_HOLE],
        ] as const)
          out.push(await sys.lseek(fd, off, whence));
        await sys.close(fd);
      }
      return out;
    });
    const sysfs = [5, 8, -EINVAL, 10, -EINVAL, -ENXIO, -ENXIO];
    const tmpfs = [5, 8, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL];
    expect(value).toEqual([...sysfs, ...sysfs, ...tmpfs, ...tmpfs, ...tmpfs]);
  });

  it('SYSFS-2: every attribute of every default device reads as text ending in exactly one "\\n"', async () => {
    const { value, sim } = await runOne(async (sys, sim) => {
      const out: [string, string | number][] = [];
      // The IIO attributes: the driver core's uevent and power/ files follow rules of their own.
      for (const dir of [ADC, DAC, DUMMY])
        for (const path of attributeFiles(sim, dir).filter((p) => !/\/(uevent|power\/.*)$/.test(p)))
          out.push([path, await readAttr(sys, path)]);
      return out;
    });
    expect(value.length).toBeGreaterThan(60);
    for (const [path, text] of value) {
      expect(typeof text, path).toBe('string');
      expect(/^[^\n]+\n$/.test(text as string), `${path}: ${JSON.stringify(text)}`).toBe(true);
    }
    expect(sim.kernel.paths.list(`${ADC}/buffer0`)).toContain('length_align_bytes');
  });

  it('SYSFS-2: pread at offset 0, 4 and 8 of "sim-adc\\n" gives the text from that offset', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${ADC}/name`, O_RDONLY);
      const addr = sys.mem.alloc(64);
      const out: (string | number)[] = [];
      for (const off of [0, 4, 8]) {
        const n = await sys.pread(fd, addr, 64, off);
        out.push(n < 0 ? n : latin1.decode(sys.mem.read(addr, n)));
      }
      return out;
    });
    expect(value).toEqual(['sim-adc\n', 'adc\n', '']);
  });
});

describe('SYSFS-3: write of 0 bytes', () => {
  it.each([
    [`${DUMMY}/buffer0/length`, '2\n'],
    [`${DUMMY}/buffer0/watermark`, '1\n'],
    [`${DUMMY}/buffer0/enable`, '0\n'],
    [`${ADC}/buffer0/in_voltage0_en`, '0\n'],
    [`${ADC}/sampling_frequency`, '1000000\n'],
  ])(
    'SYSFS-3: writing 0 bytes to %s returns 0 without calling the store (value stays %j)',
    async (path, shown) => {
      const { value } = await runOne(async (sys) => {
        const fd = await sys.open(path, O_WRONLY);
        const addr = sys.mem.alloc(16);
        return [await sys.write(fd, addr, 0), await readAttr(sys, path)];
      });
      expect(value).toEqual([0, shown]);
    },
  );
});

describe('SYSFS-4: write of more than 4096 bytes', () => {
  it('SYSFS-4: 5000 bytes "1..." to in_voltage0_en return 4096 and set the bit', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${ADC}/buffer0/in_voltage0_en`, O_WRONLY);
      return [await put(sys, fd, '1'.repeat(5000)), await readAttr(sys, `${ADC}/buffer0/in_voltage0_en`)];
    });
    expect(value).toEqual([4096, '1\n']);
  });

  it('SYSFS-4: the store sees only the first 4096 bytes: 4095 zeros, "8", then 904 nines set watermark 8', async () => {
    const { value } = await runOne(async (sys) => {
      const len = await writeAttr(sys, `${DUMMY}/buffer0/length`, '16');
      const fd = await sys.open(`${DUMMY}/buffer0/watermark`, O_WRONLY);
      const w = await put(sys, fd, `${'0'.repeat(4095)}8${'9'.repeat(904)}`);
      return [len, w, await readAttr(sys, `${DUMMY}/buffer0/watermark`)];
    });
    expect(value).toEqual([2, 4096, '8\n']);
  });

  it('SYSFS-4: 4096 zeros then "4" (5000 bytes) store 0 into watermark: -EINVAL', async () => {
    const { value } = await runOne(async (sys) => {
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '16');
      const fd = await sys.open(`${DUMMY}/buffer0/watermark`, O_WRONLY);
      const w = await put(sys, fd, `${'0'.repeat(4096)}${'4'.repeat(904)}`);
      return [w, await readAttr(sys, `${DUMMY}/buffer0/watermark`)];
    });
    expect(value).toEqual([-EINVAL, '1\n']);
  });

  it('SYSFS-4: exactly 4096 bytes are passed whole and return 4096', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${DUMMY}/buffer0/length`, O_WRONLY);
      return [await put(sys, fd, `${'0'.repeat(4094)}12`), await readAttr(sys, `${DUMMY}/buffer0/length`)];
    });
    expect(value).toEqual([4096, '12\n']);
  });
});

describe('SYSFS-5: write result and file offset', () => {
  it('SYSFS-5: a successful store returns the full count ("16\\n" → 3, "+8" → 2)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '16\n'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '+8'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
    ]);
    expect(value).toEqual([3, '16\n', 2, '8\n']);
  });

  it('SYSFS-5: a store error is the write result (watermark "0" → -EINVAL, length "x" → -EINVAL)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/watermark`, '0'),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, 'x'),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL]);
  });

  it('SYSFS-5: writes after a read or a previous write ignore the file offset', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${DUMMY}/buffer0/length`, O_RDWR);
      const r = await get(sys, fd);
      const w1 = await put(sys, fd, '8');
      const after1 = await readAttr(sys, `${DUMMY}/buffer0/length`);
      const w2 = await put(sys, fd, '32');
      const after2 = await readAttr(sys, `${DUMMY}/buffer0/length`);
      const w3 = await put(sys, fd, '4');
      return [r, w1, after1, w2, after2, w3, await readAttr(sys, `${DUMMY}/buffer0/length`)];
    });
    expect(value).toEqual(['2\n', 1, '8\n', 2, '32\n', 1, '4\n']);
  });

  it('SYSFS-5: pwrite at offset 100 stores the value (the offset is ignored) and returns the count', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(`${DUMMY}/buffer0/length`, O_WRONLY);
      const bytes = ascii('16');
      const addr = sys.mem.alloc(2);
      sys.mem.write(addr, bytes);
      return [await sys.pwrite(fd, addr, 2, 100), await readAttr(sys, `${DUMMY}/buffer0/length`)];
    });
    expect(value).toEqual([2, '16\n']);
  });
});

describe('SYSFS-1 / SYSFS-5: the trigger files of sim-dummy', () => {
  it('SYSFS-1 SYSFS-5: trigger/current_trigger is 0644 (open for write works); a write is -EPERM (immutable trigger), -EBUSY while the triggered buffer runs', async () => {
    const { value } = await runOne(async (sys) => {
      const path = `${DUMMY}/trigger/current_trigger`;
      const fd = await sys.open(path, O_WRONLY);
      const out: (number | string)[] = [Math.min(fd, 0), await put(sys, fd, 'sim-dummy-dev2-trigger\n')];
      out.push(await put(sys, fd, 'x'), await put(sys, fd, '\n'));
      expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
      expect(await setBufferEnabled(sys, 2, true)).toBe(1);
      out.push(await put(sys, fd, 'x'));
      expect(await setBufferEnabled(sys, 2, false)).toBe(1);
      out.push(await readAttr(sys, path));
      return out;
    });
    expect(value).toEqual([0, -EPERM, -EPERM, -EPERM, -EBUSY, 'sim-dummy-dev2-trigger\n']);
  });

  it('SYSFS-2: the trigger has its own directory, /sys/bus/iio/devices/trigger0, whose name is the current_trigger', async () => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, '/sys/bus/iio/devices/trigger0/name'),
      await readAttr(sys, '/sys/bus/iio/devices/trigger1/name'),
    ]);
    expect(value).toEqual(['sim-dummy-dev2-trigger\n', -ENOENT]);
  });

  it('SYSFS-2 SYSFS-5: a device with a timestamp channel or events has current_timestamp_clock: realtime; a store names a settable clock (-EINVAL), -EBUSY while the buffer runs or the event fd is open', async () => {
    const { value } = await runOne(async (sys) => {
      const path = `${DUMMY}/current_timestamp_clock`;
      const out: (number | string)[] = [
        await readAttr(sys, path),
        await readAttr(sys, `${ADC}/current_timestamp_clock`),
      ];
      out.push(
        await writeAttr(sys, path, 'sgi_cycle'),
        await writeAttr(sys, path, 'nope'),
        await writeAttr(sys, path, 'monotonic\n'),
        await readAttr(sys, path),
      );
      expect(await enableChannels(sys, 2, ['in_voltage0'])).toBe(0);
      expect(await setBufferEnabled(sys, 2, true)).toBe(1);
      out.push(await writeAttr(sys, path, 'boottime'));
      expect(await setBufferEnabled(sys, 2, false)).toBe(1);
      const chardev = await sys.open('/dev/iio:device2', O_RDONLY);
      const arg = sys.mem.alloc(4);
      expect(await sys.ioctl(chardev, IIO_GET_EVENT_FD_IOCTL, arg)).toBe(0);
      out.push(await writeAttr(sys, path, 'tai'));
      expect(await sys.close(sys.mem.readInt(arg))).toBe(0);
      out.push(await writeAttr(sys, path, 'tai'), await readAttr(sys, path));
      return out;
    });
    expect(value).toEqual([
      'realtime\n',
      -ENOENT,
      -EINVAL,
      -EINVAL,
      10,
      'monotonic\n',
      -EBUSY,
      -EBUSY,
      3,
      'tai\n',
    ]);
  });
});

describe('SYSFS-6: buffer/ and scan_elements/ alias buffer0/', () => {
  it('SYSFS-6: buffer/length and buffer0/length are one value', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer/length`, '8'),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '4'),
      await readAttr(sys, `${DUMMY}/buffer/length`),
    ]);
    expect(value).toEqual([1, '8\n', 1, '4\n']);
  });

  it('SYSFS-6: scan_elements/in_voltage1_en and buffer0/in_voltage1_en are one bit', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/scan_elements/in_voltage1_en`, '1'),
      await readAttr(sys, `${ADC}/buffer0/in_voltage1_en`),
      await writeAttr(sys, `${ADC}/buffer0/in_voltage1_en`, '0'),
      await readAttr(sys, `${ADC}/scan_elements/in_voltage1_en`),
    ]);
    expect(value).toEqual([1, '1\n', 1, '0\n']);
  });

  it('SYSFS-6: the timestamp flag is shared too (scan_elements/in_timestamp_en = buffer0/in_timestamp_en)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, '1'),
      await readAttr(sys, `${DUMMY}/scan_elements/in_timestamp_en`),
    ]);
    expect(value).toEqual([1, '1\n']);
  });

  it('SYSFS-6: enable through buffer/ is seen in buffer0/, and the same rules apply (length -EBUSY)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/scan_elements/in_voltage0_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer/enable`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/enable`),
      await writeAttr(sys, `${DUMMY}/buffer/length`, '8'),
      await writeAttr(sys, `${DUMMY}/scan_elements/in_voltage1-voltage2_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '0'),
      await readAttr(sys, `${DUMMY}/buffer/enable`),
    ]);
    expect(value).toEqual([1, 1, '1\n', -EBUSY, -EBUSY, 1, '0\n']);
  });

  it('SYSFS-6: buffer/watermark of a DMA buffer is 0444 like buffer0/watermark', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(`${ADC}/buffer/watermark`, O_WRONLY),
      await readAttr(sys, `${ADC}/buffer/watermark`),
    ]);
    expect(value).toEqual([-EACCES, '2048\n']);
  });

  it('SYSFS-6: buffer/ holds only buffer attributes, scan_elements/ only scan elements', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(`${ADC}/buffer/in_voltage0_en`, O_RDONLY),
      await sys.open(`${ADC}/scan_elements/length`, O_RDONLY),
      await sys.open(`${ADC}/scan_elements/enable`, O_RDONLY),
      await readAttr(sys, `${ADC}/buffer/length_align_bytes`),
      await readAttr(sys, `${ADC}/buffer/direction`),
      await readAttr(sys, `${ADC}/scan_elements/in_voltage3_index`),
    ]);
    expect(value).toEqual([-ENOENT, -ENOENT, -ENOENT, '8\n', 'in\n', '3\n']);
  });

  it('SYSFS-6: buffer/ lists the buffer attributes and scan_elements/ the scan elements of buffer0', async () => {
    const { sim } = await runOne(async () => 0);
    expect(sim.kernel.paths.list(`${ADC}/buffer`)).toEqual([
      'data_available',
      'direction',
      'enable',
      'length',
      'length_align_bytes',
      'watermark',
    ]);
    expect(sim.kernel.paths.list(`${DUMMY}/scan_elements`)).toEqual([
      'in_accel_x_en',
      'in_accel_x_index',
      'in_accel_x_type',
      'in_timestamp_en',
      'in_timestamp_index',
      'in_timestamp_type',
      'in_voltage0_en',
      'in_voltage0_index',
      'in_voltage0_type',
      'in_voltage1-voltage2_en',
      'in_voltage1-voltage2_index',
      'in_voltage1-voltage2_type',
      'in_voltage3-voltage4_en',
      'in_voltage3-voltage4_index',
      'in_voltage3-voltage4_type',
    ]);
  });
});

describe('SYSFS-7: attribute files opened before the device was unregistered', () => {
  it('SYSFS-7: read and write of files opened before removal are -ENODEV; close is 0', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const name = await sys.open(`${ADC}/name`, O_RDONLY);
      const length = await sys.open(`${ADC}/buffer0/length`, O_RDWR);
      const en = await sys.open(`${ADC}/scan_elements/in_voltage0_en`, O_WRONLY);
      const freq = await sys.open(`${ADC}/sampling_frequency`, O_RDWR);
      await removeDevice(sys, sim, 'sim-adc');
      return [
        await get(sys, name),
        await get(sys, length),
        await put(sys, length, '8'),
        await put(sys, en, '1'),
        await get(sys, freq),
        await put(sys, freq, '1000'),
        await sys.close(name),
        await sys.close(length),
      ];
    });
    expect(value).toEqual([-ENODEV, -ENODEV, -ENODEV, -ENODEV, -ENODEV, -ENODEV, 0, 0]);
  });

  it('SYSFS-7: a partly read file still gives the rest its first read showed (the seq_file buffer), then -ENODEV', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fd = await sys.open(`${DUMMY}/name`, O_RDONLY);
      const head = await get(sys, fd, 3);
      await removeDevice(sys, sim, 'sim-dummy');
      return [head, await get(sys, fd, 3), await get(sys, fd, 16), await get(sys, fd, 3)];
    });
    // 'sim-dummy\n': the rest comes from the buffer (even a read asking for more returns just that), and only
    // the read that would show the value again meets the removal.
    expect(value).toEqual(['sim', '-du', 'mmy\n', -ENODEV]);
  });

  it('SYSFS-7: after the removal a file read to its end is -ENODEV, lseek is -ENODEV, and a buffered rest still reads', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const a = await sys.open(`${DUMMY}/name`, O_RDONLY);
      const b = await sys.open(`${DUMMY}/sampling_frequency`, O_RDONLY);
      const whole = [await get(sys, a), await get(sys, b, 2)];
      await removeDevice(sys, sim, 'sim-dummy');
      return [...whole, await get(sys, a), await sys.lseek(b, 0, SEEK_SET), await get(sys, b)];
    });
    // kernfs_fop_llseek() checks the active reference too: the position stays, and the rest of '1000\n' reads.
    expect(value).toEqual(['sim-dummy\n', '10', -ENODEV, -ENODEV, '00\n']);
  });

  it('SYSFS-7: write of 0 bytes on a removed device is -ENODEV too (the device check comes first)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const fd = await sys.open(`${DUMMY}/buffer0/length`, O_WRONLY);
      await removeDevice(sys, sim, 'sim-dummy');
      return sys.write(fd, sys.mem.alloc(1), 0);
    });
    expect(value).toBe(-ENODEV);
  });

  it('SYSFS-7: after removal the files are gone (-ENOENT) while other devices are untouched', async () => {
    const { value } = await runOne(async (sys, sim) => {
      await removeDevice(sys, sim, 'sim-adc');
      return [
        await sys.open(`${ADC}/name`, O_RDONLY),
        await sys.open(`${ADC}/buffer0/length`, O_RDONLY),
        await readAttr(sys, `${DAC}/name`),
      ];
    });
    expect(value).toEqual([-ENOENT, -ENOENT, 'sim-dac\n']);
  });
});

describe('PARSE-1..3: kstrtouint through length and watermark', () => {
  it.each([
    ['16', '16\n'],
    ['16\n', '16\n'],
    ['+32', '32\n'],
    ['0007', '7\n'],
    ['+0009\n', '9\n'],
    ['2147483647', '2147483647\n'],
  ])('PARSE-1: length %j is accepted and reads %j', async (text, shown) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/length`, text),
      await readAttr(sys, `${DUMMY}/buffer0/length`),
    ]);
    expect(value).toEqual([text.length, shown]);
  });

  it.each(['-', '-1', '+', ' 8', '8 ', '8\n\n', '\n8', '0x10', '1e3', 'abc', '\n', '8\nx', '++8', '8.0'])(
    'PARSE-2: length %j is -EINVAL and the length stays 2',
    async (text) => {
      const { value } = await runOne(async (sys) => [
        await writeAttr(sys, `${DUMMY}/buffer0/length`, text),
        await readAttr(sys, `${DUMMY}/buffer0/length`),
      ]);
      expect(value).toEqual([-EINVAL, '2\n']);
    },
  );

  it.each(['0x10', ' 1', '-1', '1\n\n'])('PARSE-2: watermark %j is -EINVAL', async (text) => {
    const { value } = await runOne(async (sys) => writeAttr(sys, `${DUMMY}/buffer0/watermark`, text));
    expect(value).toBe(-EINVAL);
  });

  it.each(['4294967296', '4294967296\n', '99999999999999999999', '18446744073709551616'])(
    'PARSE-3: length %j is -ERANGE',
    async (text) => {
      const { value } = await runOne(async (sys) => [
        await writeAttr(sys, `${ADC}/buffer0/length`, text),
        await writeAttr(sys, `${DUMMY}/buffer0/length`, text),
        await writeAttr(sys, `${DUMMY}/buffer0/watermark`, text),
        await readAttr(sys, `${ADC}/buffer0/length`),
      ]);
      expect(value).toEqual([-ERANGE, -ERANGE, -ERANGE, '4096\n']);
    },
  );
});

describe('PARSE-4/5: kstrtobool through enable and <ch>_en', () => {
  it.each([
    'y',
    'Y',
    't',
    'T',
    'e',
    'E',
    '1',
    '1\n',
    'true',
    'yes',
    'enable',
    '10',
    'on',
    'ON',
    'oN',
    'On\n',
    'tx',
  ])('PARSE-4: in_voltage0_en %j sets the bit', async (text) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/in_voltage0_en`, text),
      await readAttr(sys, `${ADC}/buffer0/in_voltage0_en`),
    ]);
    expect(value).toEqual([text.length, '1\n']);
  });

  it.each([
    'n',
    'N',
    'f',
    'F',
    'd',
    'D',
    '0',
    '0\n',
    'false',
    'no',
    'nope',
    'disable',
    '01',
    'off',
    'OFF',
    'of',
    'oF',
  ])('PARSE-4: in_voltage0_en %j clears the bit', async (text) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/in_voltage0_en`, '1'),
      await writeAttr(sys, `${ADC}/buffer0/in_voltage0_en`, text),
      await readAttr(sys, `${ADC}/buffer0/in_voltage0_en`),
    ]);
    expect(value).toEqual([1, text.length, '0\n']);
  });

  it.each(['2', ' 1', '\n', 'o', 'O', 'o1', 'ox', 'x', '-1', '+1', 'Q'])(
    'PARSE-5: %j is -EINVAL for in_voltage0_en, in_timestamp_en and enable',
    async (text) => {
      const { value } = await runOne(async (sys) => [
        await writeAttr(sys, `${ADC}/buffer0/in_voltage0_en`, text),
        await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, text),
        await writeAttr(sys, `${DUMMY}/buffer0/enable`, text),
        await readAttr(sys, `${ADC}/buffer0/in_voltage0_en`),
      ]);
      expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, '0\n']);
    },
  );
});

describe('PARSE-6/7: channel-info values through sampling_frequency', () => {
  it.each([
    ['0x10', 16],
    ['010', 8],
    ['-5', -5],
    ['+7\n', 7],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
    ['0', 0],
  ])('PARSE-6: with write_raw_get_fmt INT, %j reaches write_raw as %d', async (text, integer) => {
    const { value } = await runOne(
      async (sys, sim) => {
        const d = intInfoDevice(sim);
        return [
          await writeAttr(sys, `${d.dir}/sampling_frequency`, text),
          simInternal(() => d.writes),
          await readAttr(sys, `${d.dir}/sampling_frequency`),
        ];
      },
      { realExtra: ['intfmt'] },
    );
    expect(value).toEqual([
      text.length,
      simState([[integer, 0]], 'the values write_raw was given'),
      `${integer}.000000\n`,
    ]);
  });

  it.each([
    ['1.5', -EINVAL],
    ['abc', -EINVAL],
    ['1 ', -EINVAL],
    ['5\n\n', -EINVAL],
    ['0x', -EINVAL],
    ['2147483648', -ERANGE],
    ['-2147483649', -ERANGE],
  ])('PARSE-6: with write_raw_get_fmt INT, %j is %d and write_raw is not called', async (text, errno) => {
    const { value } = await runOne(
      async (sys, sim) => {
        const d = intInfoDevice(sim);
        return [
          await writeAttr(sys, `${d.dir}/sampling_frequency`, text),
          simInternal(() => d.writes.length),
          await readAttr(sys, `${d.dir}/sampling_frequency`),
        ];
      },
      { realExtra: ['intfmt'] },
    );
    expect(value).toEqual([errno, simState(0, 'how many times write_raw was called'), '0.000000\n']);
  });

  it.each([
    ['1.5', 1, 500000, '1.500000\n'],
    ['-1.5', -1, 500000, '-1.500000\n'],
    ['-0.5', 0, -500000, '-0.500000\n'],
    ['1.1234567', 1, 123456, '1.123456\n'],
    ['1000\n', 1000, 0, '1000.000000\n'],
    ['.25', 0, 250000, '0.250000\n'],
    ['.', 0, 0, '0.000000\n'],
    ['\n', 0, 0, '0.000000\n'],
  ])('PARSE-7: without write_raw_get_fmt, %j is (%d, %d) and reads back %j', async (text, i, f, shown) => {
    const { value } = await runOne(async (sys, sim) => {
      const d = addInfoDevice(sim, null);
      return [
        await writeAttr(sys, `${d.dir}/sampling_frequency`, text),
        d.writes,
        await readAttr(sys, `${d.dir}/sampling_frequency`),
      ];
    });
    expect(value).toEqual([text.length, [[i, f]], shown]);
  });

  it('PARSE-7: sim-adc has no write_raw_get_fmt: its sampling_frequency takes (int, micro) text, the integer part is the rate', async () => {
    const { value } = await runOne(async (sys) => {
      const freq = '/sys/bus/iio/devices/iio:device0/sampling_frequency';
      const out: (number | string)[] = [];
      for (const text of [
        '1000\n',
        '2500.75',
        '+300',
        '1.1234567',
        '0x10',
        '1e3',
        ' 7',
        '1,5',
        '1.2.3',
        '7\n\n',
      ]) {
        out.push(await writeAttr(sys, freq, text), await readAttr(sys, freq));
      }
      return out;
    });
    // Each text, then the rate read back: a refused text leaves the last one.
    expect(value).toEqual([
      ...[5, '1000\n', 7, '2500\n', 4, '300\n', 9, '1\n'],
      ...[-EINVAL, '1\n', -EINVAL, '1\n', -EINVAL, '1\n', -EINVAL, '1\n', -EINVAL, '1\n', -EINVAL, '1\n'],
    ]);
  });

  it.each(['1.2.3', '1\n\n', '\n1', ' 1', '1e3', '0x10', '1,5', 'abc', '--1'])(
    'PARSE-7: without write_raw_get_fmt, %j is -EINVAL',
    async (text) => {
      const { value } = await runOne(async (sys, sim) => {
        const d = addInfoDevice(sim, null);
        return [await writeAttr(sys, `${d.dir}/sampling_frequency`, text), d.writes.length];
      });
      expect(value).toEqual([-EINVAL, 0]);
    },
  );
});
