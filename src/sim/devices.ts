/**
 * Device configuration of a simulated board: the registry of device kinds (one driver each), the default
 * board (sim-adc, sim-dac, sim-dummy), and the two passes every consumer makes over a board through the
 * registry: validating a configuration (the scenario loader) and probing it (the simulator).
 */
import { z } from 'zod';
import type { VirtualClock } from '../hw/clock.ts';
import { defaultAdcSignal } from '../hw/signal.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { DeviceBase, DeviceProblem, DeviceStats, SimDevice, SimDeviceDriver } from './drivers.ts';
import { adcDriver, dacDriver } from './drivers-converter.ts';
import { dummyDriver } from './drivers-dummy.ts';

// The configuration types of each kind live with its driver; the package entry point takes them from here.
export {
  type AdcConfig,
  type ChannelConfig,
  type DacConfig,
  type DmaConfig,
  parseScanType,
} from './drivers-converter.ts';
export type { DummyConfig } from './drivers-dummy.ts';

/** Every device kind, by its `kind`: adding a kind is one entry here plus its driver module. */
export const deviceDrivers = { adc: adcDriver, dac: dacDriver, dummy: dummyDriver } as const;

type ConfigOf<D> = D extends SimDeviceDriver<infer C> ? C : never;

/** Any device: the configuration of one of the registered kinds. */
export type DeviceConfig = {
  [K in keyof typeof deviceDrivers]: ConfigOf<(typeof deviceDrivers)[K]>;
}[keyof typeof deviceDrivers];

/**
 * The scenario form of a device: one member per registered kind, told apart by `kind`. Typed as the
 * configurations it yields (a strict object adds no key it was not given, so optional fields stay absent).
 */
export const DeviceSchema = z.discriminatedUnion(
  'kind',
  Object.values(deviceDrivers).map((d) => d.schema) as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<DeviceConfig>;

/** The driver of a kind. Throws for a kind no driver handles (a configuration from TypeScript). */
export function driverOf(kind: string): SimDeviceDriver<DeviceBase> {
  if (!Object.hasOwn(deviceDrivers, kind))
    throw new Error(`unknown device kind '${kind}' (known: ${Object.keys(deviceDrivers).join(', ')})`);
  return deviceDrivers[kind as keyof typeof deviceDrivers];
}

/** The default board: iio:device0 sim-adc, iio:device1 sim-dac, iio:device2 sim-dummy. */
export function defaultDevices(): DeviceConfig[] {
  return [
    {
      kind: 'adc',
      name: 'sim-adc',
      sampleRateHz: 1_000_000,
      channels: [0, 1, 2, 3].map((i) => ({
        id: `voltage${i}`,
        type: 'le:s12/16>>0',
        signal: defaultAdcSignal(i),
      })),
    },
    {
      kind: 'dac',
      name: 'sim-dac',
      sampleRateHz: 1_000_000,
      channels: [0, 1].map((i) => ({ id: `voltage${i}`, type: 'le:s16/16>>0' })),
    },
    { kind: 'dummy', name: 'sim-dummy', sampleRateHz: 1000 },
  ];
}

/** The names a board's devices answer to: each configured name and its `iio:deviceN` node. */
export function boardDeviceNames(devices: readonly DeviceBase[]): Set<string> {
  const names = new Set<string>();
  devices.forEach((d, i) => {
    names.add(d.name);
    names.add(`iio:device${i}`);
  });
  return names;
}

/**
 * Problems of a board whose devices passed {@link DeviceSchema}: names used twice, then what each kind's
 * driver finds, with paths from the list (`[1, 'channels', 0, 'type']`). Builds nothing.
 */
export function validateDevices(devices: readonly DeviceConfig[]): DeviceProblem[] {
  const problems: DeviceProblem[] = [];
  const byName = new Map<string, DeviceBase>();
  devices.forEach((d, i) => {
    if (byName.has(d.name))
      problems.push({ path: [i, 'name'], message: `device name '${d.name}' is used twice` });
    byName.set(d.name, d);
  });
  devices.forEach((d, i) => {
    for (const p of driverOf(d.kind).validate(d, byName))
      problems.push({ path: [i, ...p.path], message: p.message });
  });
  return problems;
}

/** Builds the hardware of every device and probes its driver in list order (iio:device0, 1, ...), then wires them. */
export function buildDevices(
  kernel: Kernel,
  clock: VirtualClock,
  devices: readonly DeviceConfig[],
  seed: number,
): SimDevice<DeviceConfig>[] {
  const names = new Set<string>();
  const out = devices.map((cfg, i) => {
    if (names.has(cfg.name)) throw new Error(`device name '${cfg.name}' is used twice`);
    names.add(cfg.name);
    const devSeed = (seed * 31 + i * 0x632be5ab) >>> 0;
    return driverOf(cfg.kind).probe(cfg, { kernel, clock, seed: devSeed }) as SimDevice<DeviceConfig>;
  });
  for (const dev of out) driverOf(dev.config.kind).connect?.(dev, out);
  return out;
}

/** A device's counters, as its driver counts them. */
export function deviceStats(device: SimDevice): DeviceStats {
  return driverOf(device.config.kind).stats(device);
}
