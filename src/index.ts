/**
 * iio-dmabuf-sim: a deterministic full-system simulator of the Linux IIO DMABUF kernel interface.
 *
 * `createSimulator()` builds a simulated board (kernel, IIO devices, DMA, converters) on a virtual clock;
 * programs run as processes with Linux-named syscalls. Constants and struct codecs in kernel spelling are
 * exported from `iio-dmabuf-sim/uapi` (and re-exported here).
 */
export type { ChannelSpec } from './hw/converter.ts';
export type { ScanLayout, ScanType } from './hw/scan.ts';
export type { SignalSpec } from './hw/signal.ts';
export type { AbiProfile } from './kernel/kernel.ts';
export { PLATFORMS, type PlatformName, type PlatformProfile } from './kernel/platform.ts';
export {
  type AdcConfig,
  type ChannelConfig,
  type DacConfig,
  type DeviceConfig,
  type DmaConfig,
  type DummyConfig,
  defaultDevices,
  parseScanType,
} from './sim/devices.ts';
export type { PollEntry, Sys, UserMemory } from './sim/process.ts';
export {
  createSimulator,
  type DeviceStats,
  type ProcessBody,
  type ProcessOutcome,
  type RunOptions,
  type RunResult,
  type RunStats,
  Simulator,
  type SimulatorOptions,
  type SpawnOptions,
} from './sim/simulator.ts';
export {
  AD9361_RATE_HZ,
  ad9361Adc,
  measureThroughput,
  type ThroughputOptions,
  type ThroughputReport,
  type ThroughputResult,
} from './sim/throughput.ts';
export * from './uapi/index.ts';
