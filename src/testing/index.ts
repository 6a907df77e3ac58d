/**
 * `iio-dmabuf-sim/testing`: property-based testing of the IIO DMABUF contract and of programs that use it.
 *
 * - {@link Driver} runs simulated processes one call at a time, interleaved with the passage of time.
 * - {@link ContractModel} and the fast-check commands of {@link contractCommands} check the simulator
 *   against an independent model of the rules; {@link checkContract} runs a campaign and returns the seed,
 *   the shrunk syscall sequence and a scenario file that reproduces a failure.
 * - {@link fuzzCall}, {@link runFuzzProgram} and {@link fuzzCampaign} throw arbitrary syscalls at it.
 * - The invariant checks ({@link checkSystemInvariants}, {@link checkQuiescentInvariants},
 *   {@link auditDmabufRefs}) and the {@link ContractChecker} work on any simulation, so a user's own
 *   program can be property-tested with them (see docs/testing.md).
 */
export {
  ContractChecker,
  FINDING_KINDS,
  type FindingKind,
} from '../check/checker.ts';
export type { CheckFinding } from '../check/finding.ts';
export type { AbiProfile } from '../uapi/ioctls.ts';
export {
  type CampaignMode,
  type CampaignOptions,
  type CampaignPart,
  type CampaignReport,
  runCampaign,
} from './campaign.ts';
export {
  ADVANCE_NS,
  AdvanceCommand,
  CloseCommand,
  type ContractSystem,
  ContractViolation,
  contractCommands,
  DupCommand,
  EnableCommand,
  type FdPick,
  fdPick,
  formatHistory,
  formatRet,
  type HistoryEntry,
  INTERRUPT_AFTER_NS,
  type IoctlArgs,
  IoctlCommand,
  MmapCommand,
  MunmapCommand,
  NonblockCommand,
  OpenChardevCommand,
  PollCommand,
  requestNumber,
  type SizePick,
} from './commands.ts';
export {
  type ContractOptions,
  type ContractReport,
  checkContract,
  contractProperty,
  historyToScenario,
  runContract,
  SETUP_CHANNELS,
  setupContract,
  teardownContract,
} from './contract.ts';
export { CALL_LIMIT_NS, type CallOptions, type CallResult, type DrivenProcess, Driver } from './driver.ts';
export {
  type FuzzArg,
  type FuzzCall,
  FuzzFailure,
  type FuzzOptions,
  type FuzzPointer,
  type FuzzReport,
  formatFuzzCall,
  fuzzCall,
  fuzzCampaign,
  fuzzPaths,
  runFuzzProgram,
} from './fuzz.ts';
export {
  auditDmabufRefs,
  checkQuiescentInvariants,
  checkStepInvariants,
  checkSystemInvariants,
} from './invariants.ts';
export {
  ContractModel,
  type FileKind,
  MODEL_DEVICES,
  type ModelRequest,
} from './model.ts';
