/**
 * The device-driver registry (src/sim/devices.ts and the drivers-*.ts entries): every kind is one entry
 * whose schema, validation, probe and statistics the loader and the simulator reach only through it.
 * `validateDevices` refuses what a scenario must not ask for; a probe refuses only what cannot be built.
 */
import { describe, expect, it } from 'vitest';
import {
  type AdcConfig,
  boardDeviceNames,
  type DacConfig,
  type DeviceConfig,
  DeviceSchema,
  defaultDevices,
  deviceDrivers,
  driverOf,
  validateDevices,
} from '../../src/sim/devices.ts';
import { createSimulator } from '../../src/sim/simulator.ts';

const adc = (over: Partial<AdcConfig> = {}): AdcConfig => ({
  kind: 'adc',
  name: 'a',
  sampleRateHz: 1000,
  channels: [{ id: 'voltage0', type: 'le:s16/16>>0' }],
  ...over,
});
const dac = (name = 'd'): DacConfig => ({
  kind: 'dac',
  name,
  sampleRateHz: 1000,
  channels: [{ id: 'voltage0', type: 'le:s16/16>>0' }],
});

describe('the registry', () => {
  it('has one driver per kind, keyed by the kind it handles', () => {
    expect(Object.keys(deviceDrivers)).toEqual(['adc', 'dac', 'dummy']);
    for (const [kind, driver] of Object.entries(deviceDrivers)) expect(driver.kind).toBe(kind);
  });

  it('DeviceSchema is the union of the drivers’ schemas: each default device parses, an unknown kind does not', () => {
    for (const d of defaultDevices()) expect(DeviceSchema.safeParse(d).success).toBe(true);
    expect(DeviceSchema.safeParse({ kind: 'gpu', name: 'g' }).success).toBe(false);
    expect(DeviceSchema.safeParse({ kind: 'dummy', name: 'x', channels: [] }).success).toBe(false);
  });

  it('driverOf refuses a kind no driver handles, including inherited property names', () => {
    expect(driverOf('dac')).toBe(deviceDrivers.dac);
    expect(() => driverOf('toString')).toThrow("unknown device kind 'toString' (known: adc, dac, dummy)");
  });

  it('a board answers to each device name and to iio:deviceN', () => {
    expect([...boardDeviceNames(defaultDevices())]).toEqual([
      'sim-adc',
      'iio:device0',
      'sim-dac',
      'iio:device1',
      'sim-dummy',
      'iio:device2',
    ]);
  });
});

describe('validateDevices', () => {
  it('the default board has no problem', () => {
    expect(validateDevices(defaultDevices())).toEqual([]);
  });

  it('reports a name used twice at the second device, then each driver’s problems, with list paths', () => {
    const problems = validateDevices([
      { kind: 'dummy', name: 'x' },
      { kind: 'dummy', name: 'x', sampleRateHz: 500, maxSampleRateHz: 100 },
    ]);
    expect(problems).toEqual([
      { path: [1, 'name'], message: "device name 'x' is used twice" },
      { path: [1, 'sampleRateHz'], message: 'sampleRateHz 500 is above maxSampleRateHz 100' },
    ]);
  });

  it('converter problems: duplicate channel, bad scan type, rate above the maximum, bus too slow', () => {
    const problems = validateDevices([
      adc({
        maxSampleRateHz: 500,
        channels: [
          { id: 'voltage0', type: 'le:s16/16>>0' },
          { id: 'voltage0', type: 'le:s16/16>>0' },
          { id: 'voltage1', type: 'le:s12/24>>0' },
        ],
        dma: { bytesPerSecond: 1000 },
      }),
    ]);
    expect(problems).toEqual([
      { path: [0, 'channels', 1, 'id'], message: "channel 'voltage0' is used twice" },
      {
        path: [0, 'channels', 2, 'type'],
        message: "scan type 'le:s12/24>>0': storagebits must be 8, 16, 32 or 64",
      },
      { path: [0, 'sampleRateHz'], message: 'sampleRateHz 1000 is above maxSampleRateHz 500' },
      {
        path: [0, 'dma', 'bytesPerSecond'],
        message: 'DMA bandwidth of 1000 bytes/s is below what 4-byte scans at 500 Hz need (2000 bytes/s)',
      },
    ]);
  });

  it('without bytesPerSecond the bus problem is the maximum rate’s (1.6 GB/s against 125 MHz by default)', () => {
    const wide = Array.from({ length: 13 }, (_, i) => ({ id: `voltage${i}`, type: 'le:s64/64>>0' }));
    expect(validateDevices([dac(), { ...dac('w'), channels: wide }])).toEqual([
      {
        path: [1, 'maxSampleRateHz'],
        message:
          'DMA bandwidth of 1600000000 bytes/s is below what 104-byte scans at 125000000 Hz need (13000000000 bytes/s)',
      },
    ]);
  });

  it('an ADC loops back from a DAC of the board only', () => {
    expect(validateDevices([adc({ loopbackFrom: 'd' }), dac()])).toEqual([]);
    expect(validateDevices([adc({ loopbackFrom: 'a' }), dac()])).toEqual([
      { path: [0, 'loopbackFrom'], message: "loopbackFrom 'a' is not a DAC of this board" },
    ]);
  });

  it('an ADC channel wider than 53 significant bits cannot carry a signal; a DAC channel can be that wide', () => {
    const wide = [{ id: 'voltage0', type: 'le:s64/64>>0' }];
    expect(validateDevices([adc({ channels: wide })])).toEqual([
      {
        path: [0, 'channels', 0, 'type'],
        message: "cannot generate this channel's samples: realbits must be an integer in 1..53, got 64",
      },
    ]);
    expect(validateDevices([{ ...dac(), channels: wide }])).toEqual([]);
  });
});

describe('probing (createSimulator)', () => {
  it('probes in list order as iio:device0, 1, ... and wires a loopback ADC to its DAC', () => {
    const sim = createSimulator({ devices: [dac(), adc({ loopbackFrom: 'd' })] });
    expect(sim.devices.map((d) => [d.config.name, d.iio.devName])).toEqual([
      ['d', 'iio:device0'],
      ['a', 'iio:device1'],
    ]);
    expect(sim.device('a').adc).toBeDefined();
    expect(sim.device('d').dac).toBeDefined();
  });

  it('refuses what cannot be built, naming the device', () => {
    const build = (devices: DeviceConfig[]) => () => createSimulator({ devices });
    expect(build([dac(), dac()])).toThrow("device name 'd' is used twice");
    expect(build([adc({ sampleRateHz: 0 })])).toThrow("device 'a': sampleRateHz must be a positive integer");
    expect(build([adc({ channels: [] })])).toThrow("device 'a': at least one channel is needed");
    expect(build([adc({ dma: { bytesPerSecond: 1000 } })])).toThrow(
      "device 'a': DMA bandwidth of 1000 bytes/s is below what 2-byte scans at 125000000 Hz need (250000000 bytes/s)",
    );
    expect(build([adc({ loopbackFrom: 'zz' })])).toThrow(
      "device 'a': loopbackFrom 'zz' is not a DAC of this board",
    );
    expect(build([{ kind: 'gpu', name: 'g' } as unknown as DeviceConfig])).toThrow(
      "unknown device kind 'gpu'",
    );
  });

  it('tolerates what validation merely refuses (a rate above the maximum), as before the registry', () => {
    expect(() => createSimulator({ devices: [adc({ maxSampleRateHz: 500 })] })).not.toThrow();
  });

  it('statistics come from each kind’s driver: DMA counters for converters, the kfifo overflow for dummy', async () => {
    const sim = createSimulator();
    const { stats } = await sim.run();
    expect(Object.keys(stats.devices)).toEqual(['sim-adc', 'sim-dac', 'sim-dummy']);
    expect(stats.devices['sim-adc']).toEqual({
      bytesDone: 0,
      bytesGap: 0,
      scansLost: 0,
      scansLostAtStart: 0,
      bytesAborted: 0,
      bytesFailed: 0,
      bytesCyclic: 0,
      transfers: 0,
      dmaErrors: 0,
    });
    expect(stats.devices['sim-dummy']?.kfifoOverflow).toBe(0);
  });
});
