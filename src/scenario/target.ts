/**
 * Where a scenario's processes run. The interpreter (run.ts) reaches the system only through a
 * {@link ScenarioTarget}: the simulator ({@link simulatorTarget}), or a real Linux kernel (the target of
 * `src/real/diff-target.ts`, used by `iio-sim diff`). The steps, their syscalls and their checks are the same
 * on both; a target says which checks it can make exactly ({@link TargetChecks}) and the interpreter notes
 * those it skips, with the comparison rule that says why (docs/oracle.md, "Comparison rules").
 */
import type { FaultSite } from '../kernel/fault-inject.ts';
import type { DeviceConfig } from '../sim/devices.ts';
import type { SimDevice } from '../sim/drivers.ts';
import type { ProcessBody, ProcessOutcome, RunResult, Simulator, SpawnOptions } from '../sim/simulator.ts';
import { ERRNO, type ErrnoName } from '../uapi/errno.ts';
import type { AbiProfile } from '../uapi/ioctls.ts';
import { SIGKILL } from '../uapi/signal.ts';
import { parseDuration, signalNumber } from './values.ts';

/** One entry of a scenario's `faults` (the schema's form, spelled out: the schema imports the action table). */
export type Fault = { readonly at: number | string } & (
  | { readonly dmaError: { readonly device: string; readonly residue?: number | undefined } }
  | { readonly lateIrq: { readonly device: string; readonly by: number | string } }
  | { readonly kill: { readonly process: string; readonly signal?: string | number | undefined } }
  | { readonly removeDevice: { readonly device: string } }
  | {
      readonly kernelFault: {
        readonly site: FaultSite;
        readonly nth?: number | undefined;
        readonly times?: number | undefined;
        readonly errno?: string | undefined;
      };
    }
);

/** A scenario's run-level expectations (`expect` without `processes`). */
export interface RunExpect {
  /** Scans lost per device, exactly. */
  readonly lost?: Readonly<Record<string, number>> | undefined;
  /** Live kernel objects by kind, exactly. */
  readonly liveObjects?: Readonly<Record<string, number>> | undefined;
  /** Substrings of blocked processes' sleep reasons. */
  readonly blockedReason?: Readonly<Record<string, string>> | undefined;
}

/** How `samples` data checks follow the device's signal across the checks of one process. */
export type SampleMode =
  /** One stream: the first check finds the phase, every later check continues exactly where the last ended. */
  | 'continuous'
  /**
   * Each check is one contiguous run of samples; its first sample comes at or after where the previous check
   * ended (scans lost in between are allowed): what holds when scans are lost in real time.
   */
  | 'ordered';

/** Which checks a target makes; those it does not are skipped with a note naming the comparison rule. */
export interface TargetChecks {
  /** How `samples` checks are chained (see {@link SampleMode}). */
  readonly samples: SampleMode;
  /** `expect.minNs` / `maxNs`: a step's duration in virtual time. */
  readonly durations: boolean;
  /** Data checks of a mapped DMABUF made while the process has no SYNC_START open on it. */
  readonly unsyncedData: boolean;
}

/** A note: an expectation or fault a target skipped, and the comparison rule that says why. */
export interface TargetNote {
  /** The process, or `-` for the run. */
  readonly process: string;
  /** Where: the step, `faults[i]` or `expect.lost`. */
  readonly where: string;
  /** The comparison rule's id (docs/oracle.md, src/real/compare.ts). */
  readonly rule: string;
  readonly text: string;
}

/** What a target's run produced: the process outcomes (and, on the simulator, everything else). */
export interface TargetRun {
  /** When the run ended, ns (virtual on the simulator, real on a kernel). */
  readonly time: number;
  readonly processes: readonly ProcessOutcome[];
}

/** A failure the run-level checks found (see run.ts's StepFailure). */
export interface RunLevelFailure {
  readonly process: string;
  readonly step: string;
  readonly expected: string;
  readonly got: string;
}

/** A system a scenario's processes run on. */
export interface ScenarioTarget<R extends TargetRun = TargetRun> {
  /** How notes name it: `the simulator`, `the real kernel`. */
  readonly name: string;
  /** The ABI profile of its kernel. */
  readonly abi: AbiProfile;
  /** What it checks. */
  readonly checks: TargetChecks;
  /** The board as the simulator describes it (names, channels, scan types, signals), by name or `iio:deviceN`. */
  device(name: string): SimDevice<DeviceConfig>;
  /** Adds a process; it starts when {@link run} does. Returns its pid. */
  spawn(name: string, body: ProcessBody, opts: SpawnOptions): number;
  /** Hears which step of which process starts (for records that name the step of each call). */
  stepStarted?(process: string, where: string): void;
  /** Schedules `faults[index]`; returns a note when the target cannot inject it, else null. */
  fault(f: Fault, index: number, pids: ReadonlyMap<string, number>): TargetNote | null;
  /**
   * Runs the processes until each ended, `untilNs` (the scenario's `until`) passed, or `stop` (asked after
   * each event, where the target can) holds.
   */
  run(untilNs: number, stop?: () => boolean): Promise<R>;
  /** Where the processes stand now, for a run its clock's runaway guard stopped (targets that can tell). */
  resultSoFar?(): R;
  /** The run-level expectations (`lost`, `liveObjects`, `blockedReason`): failures, and notes for those skipped. */
  runExpectations(
    want: RunExpect | undefined,
    result: R,
  ): { failures: RunLevelFailure[]; notes: TargetNote[] };
}

/** The run-level expectations on lost scans, live kernel objects and blocked reasons, on the simulator. */
function simRunExpectFailures(
  want: RunExpect | undefined,
  sim: Simulator,
  result: RunResult,
): RunLevelFailure[] {
  const failures: RunLevelFailure[] = [];
  const at = (process: string, step: string, expected: string, got: string) =>
    failures.push({ process, step, expected, got });
  for (const [dev, lost] of Object.entries(want?.lost ?? {})) {
    const got = result.stats.devices[sim.device(dev).config.name]?.scansLost ?? 0;
    if (got !== lost) at('-', `lost scans of ${dev}`, String(lost), String(got));
  }
  if (want?.liveObjects) {
    const live = Object.fromEntries(
      Object.entries(result.liveObjects).filter(([k]) => k !== 'iio_dma_block(fileio)'),
    );
    const show = (o: Record<string, number>) => JSON.stringify(o);
    if (show(live) !== show(Object.fromEntries(Object.entries(want.liveObjects).sort())))
      at('-', 'live kernel objects', show(want.liveObjects), show(live));
  }
  for (const [name, reason] of Object.entries(want?.blockedReason ?? {})) {
    const p = result.processes.find((x) => x.name === name);
    if (!p?.blockedIn?.reason.includes(reason))
      at(name, 'blocked reason', `…${reason}…`, p?.blockedIn?.reason ?? p?.status ?? 'none');
  }
  return failures;
}

/** The simulator as a scenario target: every check exact, every fault injected at its virtual time. */
export function simulatorTarget(sim: Simulator): ScenarioTarget<RunResult> {
  return {
    name: 'the simulator',
    abi: sim.abi,
    checks: { samples: 'continuous', durations: true, unsyncedData: true },
    device: (name) => sim.device(name),
    spawn: (name, body, opts) => sim.spawn(name, body, opts),
    fault: (f, _index, pids) => {
      const at = parseDuration(f.at)!;
      if ('dmaError' in f)
        sim.at(at, 'fault: dma error', () =>
          sim.device(f.dmaError.device).dma?.injectError(f.dmaError.residue ?? 0),
        );
      else if ('lateIrq' in f)
        sim.at(at, 'fault: late irq', () =>
          sim.device(f.lateIrq.device).dma?.delayNextIrq(parseDuration(f.lateIrq.by)!),
        );
      else if ('kill' in f)
        sim.at(at, 'fault: kill', () =>
          sim.kill(pids.get(f.kill.process)!, signalNumber(f.kill.signal, SIGKILL)),
        );
      else if ('removeDevice' in f)
        sim.at(at, 'fault: remove device', () => sim.removeDevice(f.removeDevice.device));
      else if ('kernelFault' in f) {
        const { site, nth, times, errno } = f.kernelFault;
        // The loader checked the errno (a known name; ENOMEM on allocation sites), so arm() cannot throw.
        const spec = {
          site,
          ...(nth === undefined ? {} : { nth }),
          ...(times === undefined ? {} : { times }),
          ...(errno === undefined ? {} : { errno: ERRNO[errno as ErrnoName] }),
        };
        sim.at(at, 'fault: kernel', () => sim.kernel.faults.arm(spec));
      }
      return null;
    },
    run: (untilNs, stop) => sim.run({ until: untilNs, ...(stop ? { stopWhen: stop } : {}) }),
    resultSoFar: () => sim.result(),
    runExpectations: (want, result) => ({ failures: simRunExpectFailures(want, sim, result), notes: [] }),
  };
}
