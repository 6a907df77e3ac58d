/**
 * The interface every device kind of the simulated board implements, in the manner of zen-fs's
 * `DeviceDriver`: the scenario schema of its configuration, the checks a schema cannot express, the probe
 * that builds its hardware and registers its kernel driver, and its statistics. The registry of kinds is
 * `deviceDrivers` in devices.ts; the loader validates and the simulator probes only through it.
 */
import type { z } from 'zod';
import type { VirtualClock } from '../hw/clock.ts';
import type { Adc, Dac } from '../hw/converter.ts';
import type { DmaChannel } from '../hw/dma.ts';
import type { SimDummyDevice } from '../kernel/drivers/sim-dummy.ts';
import type { IioDev } from '../kernel/iio/device.ts';
import type { Kernel } from '../kernel/kernel.ts';

/** What every device configuration has: the kind that picks its driver, and a board-unique name. */
export interface DeviceBase {
  readonly kind: string;
  readonly name: string;
}

/** A probed device with its hardware: the parts its driver built (converter, DMA channel, kfifo device). */
export interface SimDevice<C extends DeviceBase = DeviceBase> {
  readonly config: C;
  readonly iio: IioDev;
  readonly adc?: Adc;
  readonly dac?: Dac;
  readonly dma?: DmaChannel;
  readonly dummy?: SimDummyDevice;
}

/** Data counters of one device. */
export interface DeviceStats {
  /** Bytes moved by completed DMA transfers. */
  readonly bytesDone: number;
  /** Bytes the converter produced (ADC) or needed (DAC) while no transfer was active. */
  readonly bytesGap: number;
  /** ADC overflow / DAC underflow in scans. */
  readonly scansLost: number;
  /** Of those, scans lost at the start of a run: converted (or due) before the first block was transferring. */
  readonly scansLostAtStart?: number;
  readonly bytesAborted: number;
  readonly bytesFailed: number;
  readonly bytesCyclic: number;
  readonly transfers: number;
  readonly dmaErrors: number;
  /** kfifo devices: scans dropped because the fifo was full. */
  readonly kfifoOverflow?: number;
}

/** A configuration problem, at a path inside the device's configuration (`['channels', 0, 'type']`). */
export interface DeviceProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What a probe gets: the kernel to register with, the virtual clock, and the device's own seed. */
export interface ProbeContext {
  readonly kernel: Kernel;
  readonly clock: VirtualClock;
  readonly seed: number;
}

/** One device kind. */
export interface SimDeviceDriver<C extends DeviceBase> {
  /** The `kind` of the configurations it handles. */
  readonly kind: C['kind'];
  /** The scenario form of a configuration: a strict object whose `kind` is the literal {@link kind}. */
  readonly schema: z.ZodObject;
  /**
   * Problems of a schema-valid configuration that no schema can express (duplicate channels, rates above
   * the maximum, a DMA bus too slow). `board` holds every device of the board by name.
   */
  validate(config: C, board: ReadonlyMap<string, DeviceBase>): DeviceProblem[];
  /**
   * Builds the hardware and probes the kernel driver. Throws on what cannot be built at all (a
   * configuration from TypeScript is not schema-checked); tolerates what {@link validate} merely refuses.
   */
  probe(config: C, ctx: ProbeContext): SimDevice<C>;
  /** Wires the device to others once every device is probed (a loopback cable). */
  connect?(device: SimDevice<C>, board: readonly SimDevice[]): void;
  /** The device's counters so far. */
  stats(device: SimDevice<C>): DeviceStats;
}

/** Declares a device driver (an identity that checks the entry against {@link SimDeviceDriver}). */
export function defineDeviceDriver<C extends DeviceBase>(driver: SimDeviceDriver<C>): SimDeviceDriver<C> {
  return driver;
}

/** The error a probe throws for a problem {@link SimDeviceDriver.validate} would also report. */
export function deviceError(name: string, problem: DeviceProblem): Error {
  return new Error(`device '${name}': ${problem.message}`);
}
