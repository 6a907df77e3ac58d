/**
 * The real-kernel oracle (`iio-dmabuf-sim/real`): the simulator's programs, unchanged, on a real Linux kernel
 * through the guest executor (real/guest).
 *
 * @packageDocumentation
 */
export { MirrorMemory } from './memory.ts';
export * as protocol from './protocol.ts';
export {
  createRealKernel,
  moduleParams,
  RealKernel,
  type RealKernelOptions,
  type RealModuleOptions,
  type RealRunOptions,
  type RealRunResult,
  type RealRunStats,
  type RealSpawnOptions,
} from './runtime.ts';
