/**
 * The real-kernel oracle (`iio-dmabuf-sim/real`): the simulator's programs, unchanged, on a real Linux kernel
 * through the guest executor (real/guest).
 *
 * @packageDocumentation
 */
export {
  type CallDifference,
  type CallVerdict,
  COMPARISON_RULES,
  type ComparisonRule,
  compareCall,
  compareProcess,
  type ProcessComparison,
} from './compare.ts';
export {
  diffFiles,
  diffScenario,
  formatDiff,
  type KernelFactory,
  notComparable,
  type ProcessDiff,
  type ScenarioDiff,
} from './diff.ts';
export { type CallRecord, type ProcessLog, recordingSys, SideLog } from './diff-record.ts';
export { MirrorMemory } from './memory.ts';
export * as protocol from './protocol.ts';
export {
  createRealKernel,
  type LocalExecutor,
  moduleParams,
  openRealChannel,
  type RealChannel,
  RealKernel,
  type RealKernelOptions,
  type RealModuleOptions,
  type RealRunOptions,
  type RealRunResult,
  type RealRunStats,
  type RealSpawnOptions,
  startLocalExecutor,
} from './runtime.ts';
export { checkSetup, type SetupStatus } from './setup.ts';
export {
  attach,
  bootVm,
  type DetachedOptions,
  QemuMissingError,
  startDetached,
  stop,
  type Vm,
  type VmAttachment,
  VmBootError,
  VmBusyError,
  VmNotRunningError,
  type VmOptions,
} from './vm.ts';
