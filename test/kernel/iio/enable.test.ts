/**
 * Buffer enable and disable through sysfs (rulebook §3: ATTR-9..12, EN-1..11) and the scan size
 * (SCAN-1), both as `computeScanLayout()` on real devices and as programs observe it through reads.
 */
import { describe, expect, it } from 'vitest';
import type { Simulator, Sys } from '../../../src/index.ts';
import { computeScanLayout } from '../../../src/kernel/iio/buffer.ts';
import type { IioDev, IioDevSpec } from '../../../src/kernel/iio/device.ts';
import { IioBuffer } from '../../../src/kernel/iio/device.ts';
import { IioKfifo } from '../../../src/kernel/iio/kfifo.ts';
import {
  type IioBufferAccess,
  type IioBufferSetupOps,
  type IioChanSpec,
  INDIO_BUFFER_HARDWARE,
  INDIO_BUFFER_SOFTWARE,
  INDIO_BUFFER_TRIGGERED,
  INDIO_DIRECT_MODE,
} from '../../../src/kernel/iio/types.ts';
import type { DeviceConfig } from '../../../src/sim/devices.ts';
import {
  EAGAIN,
  EINVAL,
  EIO,
  ENOENT,
  F_SETFL,
  IIO_BUFFER_DIRECTION_IN,
  O_NONBLOCK,
  O_RDWR,
} from '../../../src/uapi/index.ts';
import { openBuffer, readAttr, writeAttr } from '../../../src/user/iio.ts';
import {
  type ExtraDeviceKind,
  extraDevice,
  runOne,
  simInternal,
  simOnly,
  simState,
  testSimulator,
} from '../../helpers.ts';

const ADC = '/sys/bus/iio/devices/iio:device0';
const DAC = '/sys/bus/iio/devices/iio:device1';
const DUMMY = '/sys/bus/iio/devices/iio:device2';

/** Writes each [path, text] in turn and returns every result. */
async function writeAll(sys: Sys, writes: readonly (readonly [string, string])[]): Promise<number[]> {
  const out: number[] = [];
  for (const [path, text] of writes) out.push(await writeAttr(sys, path, text));
  return out;
}

/** The buffer fd of buffer `index` of iio:device`dev`, made non-blocking; the chardev is closed again. */
async function nonblockBufferFd(sys: Sys, dev: number, index = 0): Promise<number> {
  const r = await openBuffer(sys, dev, index, O_RDWR);
  if (typeof r === 'number') return r;
  await sys.close(r.chardev);
  const s = await sys.fcntl(r.fd, F_SETFL, O_NONBLOCK);
  return s < 0 ? s : r.fd;
}

/** One read of `n` bytes: the count or the errno. */
async function readN(sys: Sys, fd: number, n: number): Promise<number> {
  return sys.read(fd, sys.mem.alloc(Math.max(1, n)), n);
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

/** Counts of trigger attach/detach calls of a test device. */
interface TriggerLog {
  attach: number;
  detach: number;
}

interface TestDeviceOptions {
  /** Device modes besides INDIO_DIRECT_MODE (default TRIGGERED). */
  modes?: number;
  /** Buffer implementations: 'kfifo', or a fake with these modes (default one kfifo). */
  buffers?: ('kfifo' | number)[];
  trigger?: boolean;
  availableScanMasks?: number[][];
  setupOps?: IioBufferSetupOps;
}

/** A buffer implementation with only the given modes: reads return 0, data_available is 0. */
function fakeAccess(modes: number): IioBufferAccess {
  return { modes, fixedWatermark: false, dataAvailable: () => 0, read: () => 0 };
}

/** Registers a test device (the next iio:deviceN) built from `opts`. */
function addDevice(
  sim: Simulator,
  opts: TestDeviceOptions = {},
): { dev: IioDev; dir: string; trig: TriggerLog } {
  const trig: TriggerLog = { attach: 0, detach: 0 };
  const spec: IioDevSpec = {
    name: 'sim-test',
    channels: TEST_CHANNELS,
    modes: INDIO_DIRECT_MODE | (opts.modes ?? INDIO_BUFFER_TRIGGERED),
    info: { sharedAttrs: [], readRaw: () => -EINVAL },
    ...(opts.availableScanMasks ? { availableScanMasks: opts.availableScanMasks } : {}),
    ...(opts.setupOps ? { setupOps: opts.setupOps } : {}),
  };
  const dev = sim.kernel.iio.register(spec, (d) => {
    if (opts.trigger ?? true)
      d.trigger = {
        name: 'sim-test-trigger',
        attach: () => {
          trig.attach++;
        },
        detach: () => {
          trig.detach++;
        },
      };
    (opts.buffers ?? ['kfifo']).forEach((kind, i) => {
      if (kind === 'kfifo') {
        const kf = new IioKfifo();
        const b = new IioBuffer(d, i, IIO_BUFFER_DIRECTION_IN, kf, 2, 1);
        kf.init(b);
        d.attachBuffer(b);
      } else d.attachBuffer(new IioBuffer(d, i, IIO_BUFFER_DIRECTION_IN, fakeAccess(kind), 2, 1));
    });
  });
  return { dev, dir: dev.sysfsDir, trig };
}

/**
 * {@link addDevice} on the simulator; on the real kernel the test module's extra device of that shape (the run
 * asks for it with `realExtra: [kind]`), of which only the directory is known.
 */
function extraTestDevice(
  sim: Simulator,
  _kind: ExtraDeviceKind,
  opts: TestDeviceOptions,
): { dev: IioDev | undefined; dir: string; trig: TriggerLog | undefined } {
  return extraDevice(
    () => addDevice(sim, opts),
    (dir) => ({ dev: undefined, dir, trig: undefined }),
  );
}

describe('ATTR-9..12: the enable attribute', () => {
  it.each([ADC, DAC, DUMMY])(
    'ATTR-9: %s/buffer0/enable reads "0\\n", then "1\\n" once enabled',
    async (dir) => {
      const ch = dir === DAC ? 'out_voltage0' : 'in_voltage0';
      const { value } = await runOne(async (sys) => [
        await readAttr(sys, `${dir}/buffer0/enable`),
        await writeAttr(sys, `${dir}/buffer0/${ch}_en`, '1'),
        await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
        await readAttr(sys, `${dir}/buffer0/enable`),
        await readAttr(sys, `${dir}/buffer/enable`),
      ]);
      expect(value).toEqual(['0\n', 1, 1, '1\n', '1\n']);
    },
  );

  it.each(['2', 'x', ' 1', '\n', 'o'])(
    'ATTR-10: enable %j is -EINVAL whether disabled or enabled',
    async (text) => {
      const { value } = await runOne(async (sys) => [
        await writeAttr(sys, `${DUMMY}/buffer0/in_voltage0_en`, '1'),
        await writeAttr(sys, `${DUMMY}/buffer0/enable`, text),
        await readAttr(sys, `${DUMMY}/buffer0/enable`),
        await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1'),
        await writeAttr(sys, `${DUMMY}/buffer0/enable`, text),
        await readAttr(sys, `${DUMMY}/buffer0/enable`),
      ]);
      expect(value).toEqual([1, -EINVAL, '0\n', 1, -EINVAL, '1\n']);
    },
  );

  it('ATTR-11: "0" on a disabled buffer succeeds even with an empty scan mask (no EN-1 check)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/enable`, '0'),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, 'n\n'),
      await readAttr(sys, `${ADC}/buffer0/enable`),
    ]);
    expect(value).toEqual([1, 2, '0\n']);
  });

  it('ATTR-11: "1" on an enabled kfifo is a no-op: the fifo is not emptied by a re-enable', async () => {
    const { value } = await runOne(async (sys) => {
      const setup = await writeAll(sys, [
        [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
        [`${DUMMY}/buffer0/enable`, '1'],
      ]);
      await sys.nanosleep(5_000_000);
      const before = await readAttr(sys, `${DUMMY}/buffer0/data_available`);
      const again = await writeAttr(sys, `${DUMMY}/buffer0/enable`, 'yes');
      return [...setup, before, again, await readAttr(sys, `${DUMMY}/buffer0/data_available`)];
    });
    expect(value).toEqual([1, 1, '2\n', 3, '2\n']);
  });

  it('ATTR-11: "1" on an enabled buffer does not call the driver again', async () => {
    let preenable = 0;
    const { value } = await runOne(async (sys, sim) => {
      const { dir } = addDevice(sim, {
        setupOps: {
          preenable: () => {
            preenable++;
            return 0;
          },
        },
      });
      return [
        await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
        await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
        await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
        await writeAttr(sys, `${dir}/buffer0/enable`, 'Y'),
      ];
    });
    expect(value).toEqual([1, 1, 1, 1]);
    expect(preenable).toBe(1);
  });

  it('ATTR-12: "1" runs the EN rules (empty mask: -EINVAL), "0" disables (EN-10)', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/in_accel_x_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '0'),
      await readAttr(sys, `${DUMMY}/buffer0/enable`),
    ]);
    expect(value).toEqual([-EINVAL, 1, 1, 1, '0\n']);
  });
});

describe('EN-1..5: checks before anything changes', () => {
  it.each([ADC, DAC, DUMMY])('EN-1: enabling %s with an empty scan mask is -EINVAL', async (dir) => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
      await readAttr(sys, `${dir}/buffer0/enable`),
    ]);
    expect(value).toEqual([-EINVAL, '0\n']);
  });

  it('EN-1: the timestamp flag alone does not count', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DUMMY}/buffer0/in_timestamp_en`, '1'),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/enable`),
    ]);
    expect(value).toEqual([1, -EINVAL, '0\n']);
  });

  it('EN-1: a mask emptied again (set then cleared) is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${ADC}/buffer0/in_voltage2_en`, '1'),
      await writeAttr(sys, `${ADC}/buffer0/in_voltage2_en`, '0'),
      await writeAttr(sys, `${ADC}/buffer0/enable`, '1'),
    ]);
    expect(value).toEqual([1, 1, -EINVAL]);
  });

  it('EN-2: sim-dummy has a current trigger: it enables in TRIGGERED mode and the trigger fills the kfifo', async () => {
    const { value, sim } = await runOne(async (sys, sim) => {
      const r = await writeAll(sys, [
        [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
        [`${DUMMY}/buffer0/enable`, '1'],
      ]);
      const mode = simInternal(() => sim.device('sim-dummy').iio.currentMode);
      await sys.nanosleep(5_000_000);
      return [
        ...r,
        mode,
        await readAttr(sys, `${DUMMY}/trigger/current_trigger`),
        await readAttr(sys, `${DUMMY}/buffer0/data_available`),
      ];
    });
    // From user space the TRIGGERED mode shows as the trigger's scans filling the kfifo (length 2).
    expect(value).toEqual([
      1,
      1,
      simState(INDIO_BUFFER_TRIGGERED, 'the device’s current mode'),
      'sim-dummy-dev2-trigger\n',
      '2\n',
    ]);
    simOnly('the simulated dummy’s count of produced scans', () =>
      expect(sim.device('sim-dummy').dummy!.produced()).toBeGreaterThanOrEqual(4),
    );
  });

  it('EN-2: a SOFTWARE|TRIGGERED kfifo on a device with a trigger uses TRIGGERED and attaches the trigger', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const { dev, dir, trig } = addDevice(sim, { modes: INDIO_BUFFER_TRIGGERED | INDIO_BUFFER_SOFTWARE });
      const r = await writeAll(sys, [
        [`${dir}/buffer0/in_voltage0_en`, '1'],
        [`${dir}/buffer0/enable`, '1'],
      ]);
      return [...r, dev.currentMode, trig.attach];
    });
    expect(value).toEqual([1, 1, INDIO_BUFFER_TRIGGERED, 1]);
  });

  it('EN-3: a HARDWARE buffer cannot join another active buffer (-EINVAL)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dir } = extraTestDevice(sim, 'hw2', {
          modes: INDIO_BUFFER_HARDWARE,
          buffers: [INDIO_BUFFER_HARDWARE, INDIO_BUFFER_HARDWARE],
          trigger: false,
        });
        return [
          ...(await writeAll(sys, [
            [`${dir}/buffer0/in_voltage0_en`, '1'],
            [`${dir}/buffer1/in_voltage1_en`, '1'],
            [`${dir}/buffer0/enable`, '1'],
            [`${dir}/buffer1/enable`, '1'],
          ])),
          await readAttr(sys, `${dir}/buffer0/enable`),
          await readAttr(sys, `${dir}/buffer1/enable`),
          await writeAttr(sys, `${dir}/buffer0/enable`, '0'),
          await writeAttr(sys, `${dir}/buffer1/enable`, '1'),
          await readAttr(sys, `${dir}/buffer1/enable`),
        ];
      },
      { realExtra: ['hw2'] },
    );
    expect(value).toEqual([1, 1, 1, -EINVAL, '1\n', '0\n', 1, 1, '1\n']);
  });

  it('EN-4: a TRIGGERED-only device without a current trigger cannot enable its kfifo (-EINVAL)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dir } = extraTestDevice(sim, 'notrig', { trigger: false });
        return [
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
          await readAttr(sys, `${dir}/buffer0/enable`),
          await readAttr(sys, `${dir}/current_timestamp_clock`),
        ];
      },
      { realExtra: ['notrig'] },
    );
    expect(value).toEqual([1, -EINVAL, '0\n', -ENOENT]);
  });

  it('EN-4: with INDIO_BUFFER_SOFTWARE in the device modes and no trigger, enable succeeds in SOFTWARE mode', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dev, dir } = extraTestDevice(sim, 'swtrig', {
          modes: INDIO_BUFFER_TRIGGERED | INDIO_BUFFER_SOFTWARE,
          trigger: false,
        });
        const r = await writeAll(sys, [
          [`${dir}/buffer0/in_voltage0_en`, '1'],
          [`${dir}/buffer0/enable`, '1'],
        ]);
        return [...r, await readAttr(sys, `${dir}/buffer0/enable`), simInternal(() => dev!.currentMode)];
      },
      { realExtra: ['swtrig'] },
    );
    expect(value).toEqual([1, 1, '1\n', simState(INDIO_BUFFER_SOFTWARE, 'the device’s current mode')]);
  });

  it('EN-4: a HARDWARE-only buffer on a TRIGGERED-only device is -EINVAL (modes do not intersect)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dir } = extraTestDevice(sim, 'hwontrig', {
          buffers: [INDIO_BUFFER_HARDWARE],
          trigger: false,
        });
        return [
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
          await readAttr(sys, `${dir}/buffer0/enable`),
        ];
      },
      { realExtra: ['hwontrig'] },
    );
    expect(value).toEqual([1, -EINVAL, '0\n']);
  });

  it('EN-5: HARDWARE mode needs an available scan mask equal to the scan mask', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dev, dir } = extraTestDevice(sim, 'hwmask', {
          modes: INDIO_BUFFER_HARDWARE,
          buffers: [INDIO_BUFFER_HARDWARE],
          trigger: false,
          availableScanMasks: [[0, 1]],
        });
        const r = [
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
          await readAttr(sys, `${dir}/buffer0/enable`),
          await writeAttr(sys, `${dir}/buffer0/in_voltage1_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
          await readAttr(sys, `${dir}/buffer0/enable`),
        ];
        return [...r, simInternal(() => [...dev!.activeScanMask!].sort())];
      },
      { realExtra: ['hwmask'] },
    );
    expect(value).toEqual([1, -EINVAL, '0\n', 1, 1, '1\n', simState([0, 1], 'the active scan mask')]);
  });

  it('EN-5: TRIGGERED mode uses the first available mask containing the scan mask', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const { dev, dir } = addDevice(sim, {
        availableScanMasks: [
          [1, 2],
          [0, 1, 2],
          [0, 1],
        ],
      });
      const r = await writeAll(sys, [
        [`${dir}/buffer0/in_voltage0_en`, '1'],
        [`${dir}/buffer0/enable`, '1'],
      ]);
      return [...r, [...dev.activeScanMask!].sort(), dev.buffers[0]!.bytesPerDatum];
    });
    expect(value).toEqual([1, 1, [0, 1, 2], 2]);
  });

  it('EN-5: TRIGGERED mode with two buffers: no available mask holds the compound mask → -EINVAL', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dir } = extraTestDevice(sim, 'trig2mask', {
          buffers: ['kfifo', 'kfifo'],
          availableScanMasks: [[0, 1], [2]],
        });
        return [
          ...(await writeAll(sys, [
            [`${dir}/buffer0/in_voltage0_en`, '1'],
            [`${dir}/buffer1/in_voltage2_en`, '1'],
            [`${dir}/buffer0/enable`, '1'],
            [`${dir}/buffer1/enable`, '1'],
          ])),
          await readAttr(sys, `${dir}/buffer0/enable`),
          await readAttr(sys, `${dir}/buffer1/enable`),
        ];
      },
      { realExtra: ['trig2mask'] },
    );
    expect(value).toEqual([1, 1, 1, -EINVAL, '1\n', '0\n']);
  });
});

/** Attributes (relative to the device directory) whose readings show the shape of a test device. */
const SHAPE_PATHS = [
  'name',
  'current_timestamp_clock',
  'sampling_frequency',
  'in_voltage0_raw',
  'trigger/current_trigger',
  'buffer/length',
  'buffer0/length',
  'buffer0/watermark',
  'buffer0/data_available',
  'buffer0/direction',
  'buffer0/length_align_bytes',
  'buffer0/in_voltage2_index',
  'buffer0/in_voltage2_type',
  'buffer0/in_voltage2_en',
  'buffer0/in_timestamp_en',
  'scan_elements/in_voltage0_en',
  'buffer1/enable',
  'buffer1/in_voltage0_en',
  'buffer2/enable',
];

describe('the test module’s extra devices show the simulator’s test devices', () => {
  const shapes: [ExtraDeviceKind, TestDeviceOptions][] = [
    [
      'hw2',
      {
        modes: INDIO_BUFFER_HARDWARE,
        buffers: [INDIO_BUFFER_HARDWARE, INDIO_BUFFER_HARDWARE],
        trigger: false,
      },
    ],
    ['trig2', { buffers: ['kfifo', 'kfifo'] }],
  ];
  it.each(shapes)('ATTR-1: %s reads the same attributes on both sides', async (kind, opts) => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dir } = extraTestDevice(sim, kind, opts);
        const out: (string | number)[] = [];
        for (const p of SHAPE_PATHS) out.push(await readAttr(sys, `${dir}/${p}`));
        return out;
      },
      { realExtra: [kind] },
    );
    expect(Object.fromEntries(SHAPE_PATHS.map((p, i) => [p, value[i]]))).toEqual({
      name: 'sim-test\n',
      current_timestamp_clock: -ENOENT,
      sampling_frequency: -ENOENT,
      in_voltage0_raw: -ENOENT,
      'trigger/current_trigger': kind === 'trig2' ? 'sim-test-trigger\n' : -ENOENT,
      'buffer/length': '2\n',
      'buffer0/length': '2\n',
      'buffer0/watermark': '1\n',
      'buffer0/data_available': '0\n',
      'buffer0/direction': 'in\n',
      'buffer0/length_align_bytes': -ENOENT,
      'buffer0/in_voltage2_index': '2\n',
      'buffer0/in_voltage2_type': 'le:u16/16>>0\n',
      'buffer0/in_voltage2_en': '0\n',
      'buffer0/in_timestamp_en': -ENOENT,
      'scan_elements/in_voltage0_en': '0\n',
      'buffer1/enable': '0\n',
      'buffer1/in_voltage0_en': '0\n',
      'buffer2/enable': -ENOENT,
    });
  });
});

describe('EN-6..9: the update', () => {
  it('EN-6: bpd is set before request_update and kept when it fails (read goes from EOF to kfifo -EINVAL)', async () => {
    const { value, sim } = await runOne(async (sys) => {
      const fd = await nonblockBufferFd(sys, 2);
      const r = await writeAll(sys, [
        [`${DUMMY}/buffer0/length`, '4294967295'],
        [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
      ]);
      const before = await readN(sys, fd, 64);
      const en = await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1');
      return [fd, ...r, before, en, await readAttr(sys, `${DUMMY}/buffer0/enable`), await readN(sys, fd, 64)];
    });
    expect(value).toEqual([1, 10, 1, 0, -EINVAL, '0\n', -EINVAL]);
    expect(sim.device('sim-dummy').iio.buffers[0]!.bytesPerDatum).toBe(2);
  });

  it('EN-6: an enable refused before the update (EN-4) leaves bpd 0: reads stay at EOF', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dev, dir } = extraTestDevice(sim, 'notrig', { trigger: false });
        const fd = await nonblockBufferFd(sys, 3);
        return [
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
          await readN(sys, fd, 64),
          simInternal(() => dev!.buffers[0]!.bytesPerDatum),
        ];
      },
      { realExtra: ['notrig'] },
    );
    expect(value).toEqual([1, -EINVAL, 0, simState(0, 'the buffer’s bytes per datum')]);
  });

  it('EN-6: bpd includes the timestamp flag (in_voltage0 + timestamp = 16) and survives disable', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await nonblockBufferFd(sys, 2);
      const r = await writeAll(sys, [
        [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
        [`${DUMMY}/buffer0/in_timestamp_en`, '1'],
        [`${DUMMY}/buffer0/enable`, '1'],
        [`${DUMMY}/buffer0/enable`, '0'],
      ]);
      return [...r, await readN(sys, fd, 15), await readN(sys, fd, 16)];
    });
    // Disabled with an empty fifo: n < bpd is the kfifo's -EINVAL; n = bpd finds nothing (-EAGAIN).
    expect(value).toEqual([1, 1, 1, 1, -EINVAL, -EAGAIN]);
  });

  it('EN-7: request_update failure (kfifo capacity overflow) returns its errno; the buffer stays disabled', async () => {
    const { value } = await runOne(async (sys) => [
      ...(await writeAll(sys, [
        [`${DUMMY}/buffer0/length`, '4294967295'],
        [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
        [`${DUMMY}/buffer0/enable`, '1'],
      ])),
      await readAttr(sys, `${DUMMY}/buffer0/enable`),
      await writeAttr(sys, `${DUMMY}/buffer0/length`, '4'),
      await writeAttr(sys, `${DUMMY}/buffer0/enable`, '1'),
      await readAttr(sys, `${DUMMY}/buffer0/enable`),
    ]);
    expect(value).toEqual([10, 1, -EINVAL, '0\n', 1, 1, '1\n']);
  });

  it('EN-7: a failing request_update of one buffer leaves the other active buffer untouched', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dir, trig } = extraTestDevice(sim, 'trig2', { buffers: ['kfifo', 'kfifo'] });
        const r = await writeAll(sys, [
          [`${dir}/buffer0/in_voltage0_en`, '1'],
          [`${dir}/buffer0/enable`, '1'],
          [`${dir}/buffer1/length`, '4294967295'],
          [`${dir}/buffer1/in_voltage1_en`, '1'],
          [`${dir}/buffer1/enable`, '1'],
        ]);
        return [
          ...r,
          await readAttr(sys, `${dir}/buffer0/enable`),
          await readAttr(sys, `${dir}/buffer1/enable`),
          simInternal(() => [trig!.attach, trig!.detach]),
        ];
      },
      { realExtra: ['trig2'] },
    );
    expect(value).toEqual([
      1,
      1,
      10,
      1,
      -EINVAL,
      '1\n',
      '0\n',
      simState([1, 0], 'trigger attach/detach counts'),
    ]);
  });

  it('EN-8: a driver postenable error is returned and deactivates every buffer of the device', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        // postenable fails once two channels are captured: when buffer1 joins buffer0.
        let dev: IioDev | undefined;
        const t = extraTestDevice(sim, 'post2', {
          modes: INDIO_BUFFER_SOFTWARE,
          buffers: ['kfifo', 'kfifo'],
          trigger: false,
          setupOps: { postenable: () => ((dev?.activeScanMask?.size ?? 0) >= 2 ? -EIO : 0) },
        });
        dev = t.dev;
        const { dir } = t;
        const r = await writeAll(sys, [
          [`${dir}/buffer0/in_voltage0_en`, '1'],
          [`${dir}/buffer1/in_voltage1_en`, '1'],
          [`${dir}/buffer0/enable`, '1'],
        ]);
        return [
          ...r,
          await readAttr(sys, `${dir}/buffer0/enable`),
          await writeAttr(sys, `${dir}/buffer1/enable`, '1'),
          await readAttr(sys, `${dir}/buffer0/enable`),
          await readAttr(sys, `${dir}/buffer1/enable`),
        ];
      },
      { realExtra: ['post2'] },
    );
    expect(value).toEqual([1, 1, 1, '1\n', -EIO, '0\n', '0\n']);
  });

  it('EN-8: enabling a second buffer stops the running one and restarts both (trigger detached once, attached twice)', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dev, dir, trig } = extraTestDevice(sim, 'trig2', { buffers: ['kfifo', 'kfifo'] });
        const r = await writeAll(sys, [
          [`${dir}/buffer0/in_voltage0_en`, '1'],
          [`${dir}/buffer1/in_voltage2_en`, '1'],
          [`${dir}/buffer0/enable`, '1'],
          [`${dir}/buffer1/enable`, '1'],
        ]);
        return [
          ...r,
          await readAttr(sys, `${dir}/buffer0/enable`),
          await readAttr(sys, `${dir}/buffer1/enable`),
          simInternal(() => [trig!.attach, trig!.detach, [...dev!.activeScanMask!].sort()]),
        ];
      },
      { realExtra: ['trig2'] },
    );
    expect(value).toEqual([
      1,
      1,
      1,
      1,
      '1\n',
      '1\n',
      simState([2, 1, [0, 2]], 'trigger attach/detach counts and the active scan mask'),
    ]);
  });

  it('EN-8: a driver preenable error is returned and the buffer stays disabled', async () => {
    const { value } = await runOne(
      async (sys, sim) => {
        const { dir } = extraTestDevice(sim, 'preenable', {
          modes: INDIO_BUFFER_SOFTWARE,
          trigger: false,
          setupOps: { preenable: () => -EIO },
        });
        return [
          await writeAttr(sys, `${dir}/buffer0/in_voltage0_en`, '1'),
          await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
          await readAttr(sys, `${dir}/buffer0/enable`),
          await writeAttr(sys, `${dir}/buffer0/enable`, '1'),
        ];
      },
      { realExtra: ['preenable'] },
    );
    expect(value).toEqual([1, -EIO, '0\n', -EIO]);
  });

  it('EN-9: on success enable reads 1; an OUT DMA buffer has its two fileio blocks ready (2 x 4096 bytes)', async () => {
    const { value } = await runOne(async (sys) => [
      await readAttr(sys, `${DAC}/buffer0/data_available`),
      ...(await writeAll(sys, [
        [`${DAC}/buffer0/out_voltage0_en`, '1'],
        [`${DAC}/buffer0/enable`, '1'],
      ])),
      await readAttr(sys, `${DAC}/buffer0/enable`),
      await readAttr(sys, `${DAC}/buffer0/data_available`),
    ]);
    expect(value).toEqual(['0\n', 1, 1, '1\n', '8192\n']);
  });

  it('EN-9: an IN DMA buffer submits its QUEUED blocks at enable: the first completes 2048 scans later', async () => {
    const { value } = await runOne(async (sys) => {
      const r = await writeAll(sys, [
        [`${ADC}/buffer0/in_voltage0_en`, '1'],
        [`${ADC}/buffer0/enable`, '1'],
      ]);
      const at0 = await readAttr(sys, `${ADC}/buffer0/data_available`);
      await sys.nanosleep(2_500_000);
      return [...r, at0, await readAttr(sys, `${ADC}/buffer0/data_available`)];
    });
    expect(value).toEqual([1, 1, '0\n', '4096\n']);
  });
});

describe('EN-10/11: disable and direction', () => {
  it('EN-10: disable reads 0 afterwards and stops the trigger (no more scans)', async () => {
    const { value, sim } = await runOne(async (sys, sim) => {
      const r = await writeAll(sys, [
        [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
        [`${DUMMY}/buffer0/enable`, '1'],
      ]);
      await sys.nanosleep(3_500_000);
      const off = await writeAttr(sys, `${DUMMY}/buffer0/enable`, '0');
      const produced = sim.device('sim-dummy').dummy!.produced();
      await sys.nanosleep(10_000_000);
      return [...r, off, await readAttr(sys, `${DUMMY}/buffer0/enable`), produced];
    });
    expect(value).toEqual([1, 1, 1, '0\n', 3]);
    expect(sim.device('sim-dummy').dummy!.produced()).toBe(3);
  });

  it('EN-10: disable wakes a blocked reader, which then takes what is there (2 scans of 2 bytes)', async () => {
    const sim = testSimulator();
    let readerDone = 0;
    let disabledAt = 0;
    sim.spawn(
      'reader',
      async (sys) => {
        const r = await writeAll(sys, [
          [`${DUMMY}/sampling_frequency`, '10'],
          [`${DUMMY}/buffer0/length`, '4'],
          [`${DUMMY}/buffer0/watermark`, '4'],
          [`${DUMMY}/buffer0/in_voltage0_en`, '1'],
          [`${DUMMY}/buffer0/enable`, '1'],
        ]);
        const b = await openBuffer(sys, 2);
        if (typeof b === 'number') return b;
        const n = await readN(sys, b.fd, 8);
        readerDone = sys.now();
        return [...r, n];
      },
      { stdio: false },
    );
    sim.spawn(
      'disabler',
      async (sys) => {
        const avail = await readAttr(sys, `${DUMMY}/buffer0/data_available`);
        disabledAt = sys.now();
        return [avail, await writeAttr(sys, `${DUMMY}/buffer0/enable`, '0')];
      },
      { startAt: 250_000_000, stdio: false },
    );
    const res = await sim.run();
    expect(res.processes.map((p) => p.status)).toEqual(['exited', 'exited']);
    expect(res.processes[0]!.value).toEqual([2, 1, 1, 1, 1, 4]);
    expect(res.processes[1]!.value).toEqual(['2\n', 1]);
    expect(readerDone).toBeGreaterThanOrEqual(disabledAt);
  });

  it('EN-10: disabling one of two buffers restarts the other (trigger detached and attached again)', async () => {
    const { value } = await runOne(async (sys, sim) => {
      const { dir, trig } = addDevice(sim, { buffers: ['kfifo', 'kfifo'] });
      const r = await writeAll(sys, [
        [`${dir}/buffer0/in_voltage0_en`, '1'],
        [`${dir}/buffer1/in_voltage1_en`, '1'],
        [`${dir}/buffer0/enable`, '1'],
        [`${dir}/buffer1/enable`, '1'],
        [`${dir}/buffer0/enable`, '0'],
      ]);
      return [
        ...r,
        await readAttr(sys, `${dir}/buffer0/enable`),
        await readAttr(sys, `${dir}/buffer1/enable`),
        trig.attach,
        trig.detach,
      ];
    });
    expect(value).toEqual([1, 1, 1, 1, 1, '0\n', '1\n', 3, 2]);
  });

  it('EN-10: a driver error while disabling one buffer deactivates all of them and is returned', async () => {
    let fail = false;
    const { value } = await runOne(async (sys, sim) => {
      const { dir } = addDevice(sim, {
        modes: INDIO_BUFFER_SOFTWARE,
        buffers: [INDIO_BUFFER_SOFTWARE, INDIO_BUFFER_SOFTWARE],
        trigger: false,
        setupOps: { predisable: () => (fail ? -EIO : 0) },
      });
      const r = await writeAll(sys, [
        [`${dir}/buffer0/in_voltage0_en`, '1'],
        [`${dir}/buffer1/in_voltage1_en`, '1'],
        [`${dir}/buffer0/enable`, '1'],
        [`${dir}/buffer1/enable`, '1'],
      ]);
      fail = true;
      return [
        ...r,
        await writeAttr(sys, `${dir}/buffer1/enable`, '0'),
        await readAttr(sys, `${dir}/buffer0/enable`),
        await readAttr(sys, `${dir}/buffer1/enable`),
      ];
    });
    expect(value).toEqual([1, 1, 1, 1, -EIO, '0\n', '0\n']);
  });

  it('EN-10: disable of a DMA IN buffer aborts the active block; both blocks then count (32768 bytes)', async () => {
    const { value } = await runOne(async (sys) => {
      const r = await writeAll(sys, [
        ...[0, 1, 2, 3].map((i) => [`${ADC}/buffer0/in_voltage${i}_en`, '1'] as const),
        [`${ADC}/buffer0/enable`, '1'],
      ]);
      await sys.nanosleep(1_000_000);
      const off = await writeAttr(sys, `${ADC}/buffer0/enable`, '0');
      return [...r, off, await readAttr(sys, `${ADC}/buffer0/data_available`)];
    });
    // Neither block had completed: both aborted to DONE, each counted by its full size (FILEIO-5).
    expect(value).toEqual([1, 1, 1, 1, 1, 1, '32768\n']);
  });

  it('EN-11: the OUT buffer of sim-dac is enabled and disabled through sysfs like an IN buffer', async () => {
    const { value } = await runOne(async (sys) => [
      await writeAttr(sys, `${DAC}/buffer0/out_voltage1_en`, '1'),
      await writeAttr(sys, `${DAC}/buffer0/enable`, '1'),
      await readAttr(sys, `${DAC}/buffer0/enable`),
      await writeAttr(sys, `${DAC}/buffer0/enable`, '0'),
      await readAttr(sys, `${DAC}/buffer0/enable`),
    ]);
    expect(value).toEqual([1, 1, '1\n', 1, '0\n']);
  });
});

describe('SCAN-1: scan size', () => {
  const mask = (...i: number[]) => new Set(i);

  it.each([
    [[0, 1, 2, 3], false, 8],
    [[0], false, 2],
    [[1, 3], false, 4],
    [[0, 1, 2], false, 6],
  ])('SCAN-1: sim-adc (4 x le:s12/16) mask %j → %d bytes (timestamp %s)', async (m, _ts, bytes) => {
    const { sim } = await runOne(async () => 0);
    expect(computeScanLayout(sim.device('sim-adc').iio, mask(...m), false).bytes).toBe(bytes);
  });

  it.each([
    [[1, 2], true, 16, 8],
    [[0], true, 16, 8],
    [[], true, 8, 0],
    [[0, 1, 2, 3], true, 16, 8],
    [[0, 1, 2, 3], false, 8, null],
    [[0, 1, 2], false, 6, null],
    [[3], true, 16, 8],
  ])('SCAN-1: sim-dummy mask %j timestamp %s → %d bytes, timestamp at %s', async (m, ts, bytes, tsOff) => {
    const { sim } = await runOne(async () => 0);
    const r = computeScanLayout(sim.device('sim-dummy').iio, mask(...m), ts);
    expect([r.bytes, r.timestampOffset]).toEqual([bytes, tsOff]);
  });

  it('SCAN-1: the rulebook examples u8,u32 → 8 and u32,u8 → 8, with fields aligned to their own size', async () => {
    const devices: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'a',
        sampleRateHz: 1000,
        maxSampleRateHz: 1000,
        channels: [
          { id: 'voltage0', type: 'le:u8/8>>0' },
          { id: 'voltage1', type: 'le:u32/32>>0' },
        ],
      },
      {
        kind: 'adc',
        name: 'b',
        sampleRateHz: 1000,
        maxSampleRateHz: 1000,
        channels: [
          { id: 'voltage0', type: 'le:u32/32>>0' },
          { id: 'voltage1', type: 'le:u8/8>>0' },
        ],
      },
    ];
    const { sim } = await runOne(async () => 0, { devices });
    const a = computeScanLayout(sim.device('a').iio, mask(0, 1), false);
    const b = computeScanLayout(sim.device('b').iio, mask(0, 1), false);
    expect([a.bytes, a.layout.fields.map((f) => f.offset)]).toEqual([8, [0, 4]]);
    expect([b.bytes, b.layout.fields.map((f) => f.offset)]).toEqual([8, [0, 4]]);
  });

  it('SCAN-1: a repeated field spans storagebits/8 x roundup_pow_of_two(repeat) (s16 X3 → 8 bytes)', async () => {
    const devices: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'rep',
        sampleRateHz: 1000,
        maxSampleRateHz: 1000,
        channels: [
          { id: 'voltage0', type: 'le:u8/8>>0' },
          { id: 'voltage1', type: 'le:s16/16X3>>0' },
          { id: 'voltage2', type: 'le:u16/16>>0' },
        ],
      },
    ];
    const { sim } = await runOne(async () => 0, { devices });
    const dev = sim.device('rep').iio;
    const all = computeScanLayout(dev, mask(0, 1, 2), false);
    expect([all.bytes, all.layout.fields.map((f) => f.offset)]).toEqual([24, [0, 8, 16]]);
    expect(computeScanLayout(dev, mask(1), false).bytes).toBe(8);
    expect(computeScanLayout(dev, mask(0, 2), false).bytes).toBe(4);
  });

  it.each([
    [['in_voltage0'], false, 2],
    [['in_voltage0', 'in_voltage1-voltage2', 'in_voltage3-voltage4'], false, 6],
    [['in_voltage0', 'in_voltage1-voltage2', 'in_voltage3-voltage4', 'in_accel_x'], false, 8],
    [['in_voltage0'], true, 16],
    [['in_voltage1-voltage2', 'in_voltage3-voltage4'], true, 16],
    [['in_accel_x'], true, 16],
  ])(
    'SCAN-1: sim-dummy with %j (timestamp %s): read(bpd - 1) is -EINVAL, read(4096) gives 2 scans of %d bytes',
    async (chs, ts, bpd) => {
      const { value } = await runOne(async (sys) => {
        const fd = await nonblockBufferFd(sys, 2);
        const r = await writeAll(sys, [
          ...chs.map((c) => [`${DUMMY}/buffer0/${c}_en`, '1'] as const),
          [`${DUMMY}/buffer0/in_timestamp_en`, ts ? '1' : '0'],
          [`${DUMMY}/buffer0/enable`, '1'],
        ]);
        await sys.nanosleep(5_000_000);
        return [r.every((x) => x > 0), await readN(sys, fd, bpd - 1), await readN(sys, fd, 4096)];
      });
      expect(value).toEqual([true, -EINVAL, 2 * bpd]);
    },
  );

  it('SCAN-1: sim-adc with 3 x s16 (bpd 6): a 12288-byte block, and read(1000) copies round_down(1000, 6) = 996', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await nonblockBufferFd(sys, 0);
      const r = await writeAll(sys, [
        [`${ADC}/buffer0/in_voltage0_en`, '1'],
        [`${ADC}/buffer0/in_voltage1_en`, '1'],
        [`${ADC}/buffer0/in_voltage3_en`, '1'],
        [`${ADC}/buffer0/enable`, '1'],
      ]);
      await sys.nanosleep(3_000_000);
      return [
        ...r,
        await readAttr(sys, `${ADC}/buffer0/data_available`),
        await readN(sys, fd, 5),
        await readN(sys, fd, 1000),
      ];
    });
    expect(value).toEqual([1, 1, 1, 1, '12288\n', -EINVAL, 996]);
  });

  it('SCAN-1: u32,u8 on a DMA ADC is 8 bytes per scan: read(12) copies 8', async () => {
    const devices: DeviceConfig[] = [
      {
        kind: 'adc',
        name: 'mixed',
        sampleRateHz: 1_000_000,
        channels: [
          { id: 'voltage0', type: 'le:u32/32>>0' },
          { id: 'voltage1', type: 'le:u8/8>>0' },
        ],
      },
    ];
    const { value } = await runOne(
      async (sys) => {
        const fd = await nonblockBufferFd(sys, 0);
        await writeAll(sys, [
          [`${ADC}/buffer0/in_voltage0_en`, '1'],
          [`${ADC}/buffer0/in_voltage1_en`, '1'],
          [`${ADC}/buffer0/enable`, '1'],
        ]);
        await sys.nanosleep(3_000_000);
        return [await readAttr(sys, `${ADC}/buffer0/data_available`), await readN(sys, fd, 12)];
      },
      { devices },
    );
    expect(value).toEqual(['16384\n', 8]);
  });
});
