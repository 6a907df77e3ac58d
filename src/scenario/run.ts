/**
 * Runs a loaded scenario: builds the simulator (or takes another {@link ScenarioTarget}), schedules the faults,
 * runs each process's steps through the action table, checks every expectation, and reports failures by
 * process, step, expected and got, with notes for the checks the target skipped.
 */
import { RunawayError } from '../hw/clock.ts';
import type { Sys } from '../sim/process.ts';
import { createSimulator, type RunResult, type Simulator } from '../sim/simulator.ts';
import type { HostStdio } from '../sim/stdio.ts';
import {
  type ActionRun,
  type Mapping,
  type ProcessState,
  type ReadBuffer,
  StepError,
} from './actions/define.ts';
import { actionNamed } from './actions/table.ts';
import { checkData, checkReturn, type SampleCursors, type StepExpect } from './expect.ts';
import type { Scenario } from './schema.ts';
import { type ScenarioTarget, simulatorTarget, type TargetNote, type TargetRun } from './target.ts';
import { type DataCheck, type ExpectObject, parseDuration } from './values.ts';

/** A step that did not do what the scenario expected. */
export interface StepFailure {
  readonly process: string;
  /** Where: `steps[3] (label)` with loop iterations. */
  readonly step: string;
  readonly expected: string;
  readonly got: string;
  readonly time: number;
}

/**
 * A run stopped at a limit of {@link RunLimits} (or by the clock's runaway guard): the scenario, not the
 * system, is at fault, so there is no pass or fail, only this.
 */
export interface RunStop {
  /** The process whose step hit the limit, or `-` for the run. */
  readonly process: string;
  /** Where, as failures name steps (`steps[1] loop#0.steps[0] fill`), or `run`. */
  readonly step: string;
  /** The step's path in the scenario document (`['processes', 0, 'steps', 1, 'loop', 'steps', 0]`). */
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly time: number;
}

/** What running a scenario on a target produced. */
export interface TargetOutcome<R extends TargetRun = TargetRun> {
  readonly failures: readonly StepFailure[];
  readonly result: R;
  /** Checks and faults the target skipped, each under its comparison rule. */
  readonly notes: readonly TargetNote[];
  /** Set when the run stopped at a limit: then `failures` and `result` say nothing about the system. */
  readonly stopped?: RunStop;
}

/**
 * Bounds that keep a run finite whatever the scenario says (docs/limits.md). Steps are counted as they
 * start, a loop's own step once and each step inside it every time.
 */
export interface RunLimits {
  /** Steps one process may start while virtual time stands still (a loop of fill, compute: 0, failing calls on the ideal platform). */
  readonly stepsWithoutTime: number;
  /** Steps all processes together may start in one run. */
  readonly steps: number;
  /** Events the run may take from the clock. */
  readonly events: number;
}

/** The limits of a run unless the caller gives others (`iio-sim run --max-steps`). */
export const DEFAULT_RUN_LIMITS: RunLimits = {
  stepsWithoutTime: 10_000,
  steps: 250_000,
  events: 10_000_000,
};

/** What running a scenario on the simulator produced. */
export interface ScenarioOutcome extends TargetOutcome<RunResult> {
  readonly sim: Simulator;
}

/** Default time limit of a run when the scenario gives none: 10 s of virtual time. */
export const DEFAULT_UNTIL_NS = 10_000_000_000;

/** A step failure carried out of a process. */
class StepFailureError extends Error {
  readonly step: string;
  readonly expected: string;
  readonly got: string;
  constructor(step: string, expected: string, got: string) {
    super(`${step}: expected ${expected}, got ${got}`);
    this.step = step;
    this.expected = expected;
    this.got = got;
  }
}

/** Thrown out of a process's steps when the run stopped: the process ends there, with nothing to report. */
class RunStopped extends Error {}

/** What the processes of one run share to keep it within its limits. */
class Budget {
  readonly limits: RunLimits;
  steps = 0;
  stop: RunStop | null = null;
  /** The step that started last, in any process (a runaway of the clock is reported there). */
  last: { process: string; step: string; path: readonly (string | number)[] } | null = null;

  constructor(limits: RunLimits) {
    this.limits = limits;
  }

  /** Stops the run at `stop` (the first stop wins) and ends the calling process. */
  halt(stop: RunStop): never {
    this.stop ??= stop;
    throw new RunStopped();
  }
}

/** Foreach variables in scope, by name. */
type Vars = ReadonlyMap<string, string>;

/** One process's interpreter: its named fds and what its steps share. */
class Interp implements ProcessState {
  readonly sys: Sys;
  readonly target: ScenarioTarget;
  readonly process: string;
  readonly pids: ReadonlyMap<string, number>;
  readonly notes: TargetNote[];
  readonly fds = new Map<string, number>();
  readonly maps = new Map<string, Mapping>();
  readonly buffers = new Map<string, ReadBuffer>();
  readonly cursors: SampleCursors = new Map();
  readonly cpuAccess = new Set<number>();
  readonly budget: Budget;
  heapFd = -1;
  /** Virtual time when the last step started, and how many steps started since it last moved. */
  #stillAt = -1;
  #stillSteps = 0;

  constructor(
    sys: Sys,
    target: ScenarioTarget,
    process: string,
    pids: ReadonlyMap<string, number>,
    notes: TargetNote[],
    budget: Budget,
  ) {
    this.sys = sys;
    this.target = target;
    this.process = process;
    this.pids = pids;
    this.notes = notes;
    this.budget = budget;
  }

  /** Counts a step against the run's limits; stops the run when it is over one. */
  #count(here: string, path: readonly (string | number)[]): void {
    const b = this.budget;
    if (b.stop) throw new RunStopped();
    b.last = { process: this.process, step: here, path };
    const now = this.sys.now();
    if (now !== this.#stillAt) {
      this.#stillAt = now;
      this.#stillSteps = 0;
    }
    const stop = (message: string) => b.halt({ process: this.process, step: here, path, message, time: now });
    if (++this.#stillSteps > b.limits.stepsWithoutTime)
      stop(
        `process ${this.process} started ${b.limits.stepsWithoutTime} steps without virtual time advancing (at t=${now} ns, in ${here}): a loop whose steps take no virtual time`,
      );
    if (++b.steps > b.limits.steps)
      stop(
        `the run started ${b.limits.steps} steps (process ${this.process}, in ${here}, at t=${now} ns): the limit of steps per run (iio-sim run --max-steps N raises it)`,
      );
  }

  /** A name with `$var` replaced. */
  name(ref: string, vars: Vars): string {
    return ref.startsWith('$') ? (vars.get(ref.slice(1)) ?? ref) : ref;
  }

  fd(ref: unknown, vars: Vars): number {
    if (typeof ref === 'number') return ref;
    // A revents key is always a string: digits stand for the fd number itself.
    if (/^-?\d+$/.test(String(ref))) return Number(ref);
    const name = this.name(String(ref), vars);
    const fd = this.fds.get(name);
    if (fd === undefined)
      throw new StepError(`an fd named '${name}'`, 'none (the step that opens it failed)');
    return fd;
  }

  bind(name: unknown, fd: number, vars: Vars): void {
    if (typeof name === 'string' && fd >= 0) this.fds.set(this.name(name, vars), fd);
  }

  mapping(ref: string, vars: Vars): Mapping {
    const n = this.name(ref, vars);
    const m = this.maps.get(n);
    if (!m) throw new StepError(`a mapping named '${n}'`, 'none');
    return m;
  }

  /**
   * Runs steps in order; a failed expectation ends the process with a {@link StepFailureError}. `path` is
   * where the steps are in the scenario document.
   */
  async run(steps: unknown[], where: string, vars: Vars, path: readonly (string | number)[]): Promise<void> {
    for (const [i, raw] of steps.entries()) {
      const step = raw as Record<string, unknown>;
      const name = Object.keys(step).find((k) => k !== 'label' && k !== 'expect')!;
      const label = typeof step.label === 'string' ? ` (${step.label})` : '';
      const here = `${where}[${i}] ${name}${label}`;
      const stepPath = [...path, i];
      this.#count(here, stepPath);
      this.target.stepStarted?.(this.process, here);
      try {
        await actionNamed(name)!.run(
          step[name],
          new StepRun(this, here, vars, step.expect as StepExpect, this.sys.now(), [...stepPath, name]),
        );
      } catch (e) {
        if (e instanceof StepError) throw new StepFailureError(here, e.expected, e.got);
        throw e;
      }
    }
  }
}

/** The {@link ActionRun} of one step. */
class StepRun implements ActionRun {
  readonly here: string;
  readonly expect: ExpectObject | undefined;
  readonly #interp: Interp;
  readonly #vars: Vars;
  readonly #ex: StepExpect;
  readonly #t0: number;
  /** The path of the step's action value in the scenario document. */
  readonly #path: readonly (string | number)[];

  constructor(
    interp: Interp,
    here: string,
    vars: Vars,
    ex: StepExpect,
    t0: number,
    path: readonly (string | number)[],
  ) {
    this.#interp = interp;
    this.here = here;
    this.#vars = vars;
    this.#ex = ex;
    this.expect = typeof ex === 'object' ? ex : undefined;
    this.#t0 = t0;
    this.#path = path;
  }

  get sys(): Sys {
    return this.#interp.sys;
  }

  get target(): ScenarioTarget {
    return this.#interp.target;
  }

  get state(): ProcessState {
    return this.#interp;
  }

  done(ret: number): void {
    const timed = this.expect?.minNs !== undefined || this.expect?.maxNs !== undefined;
    if (timed && !this.target.checks.durations)
      this.note('virtual-time', "the step's duration (minNs/maxNs) is virtual time");
    checkReturn(ret, this.#ex, this.target.checks.durations ? this.sys.now() - this.#t0 : null);
  }

  note(rule: string, text: string): void {
    this.#interp.notes.push({ process: this.#interp.process, where: this.here, rule, text });
  }

  pidOf(name: string): number {
    return this.#interp.pids.get(name) ?? -1;
  }

  fd(ref: unknown): number {
    return this.#interp.fd(ref, this.#vars);
  }

  fdNamed(ref: string): number | undefined {
    return this.#interp.fds.get(this.name(ref));
  }

  name(ref: string): string {
    return this.#interp.name(ref, this.#vars);
  }

  bind(name: unknown, fd: number): void {
    this.#interp.bind(name, fd, this.#vars);
  }

  mapping(ref: string): Mapping {
    return this.#interp.mapping(ref, this.#vars);
  }

  checkData(bytes: Uint8Array, data: DataCheck | undefined): void {
    const target = this.target;
    checkData(bytes, data, {
      device: (name) => target.device(name),
      cursors: this.#interp.cursors,
      mode: target.checks.samples,
    });
  }

  steps(
    steps: unknown[],
    where: string,
    variable?: { readonly name: string; readonly value: string },
  ): Promise<void> {
    const vars = variable ? new Map(this.#vars).set(variable.name, variable.value) : this.#vars;
    // Nested steps are the action's `steps` (loop, foreach).
    return this.#interp.run(steps, where, vars, [...this.#path, 'steps']);
  }
}

/**
 * Builds the simulator a scenario describes (devices, profile, platform, seed); `host` is where processes
 * with `stdio: inherit` write.
 */
export function scenarioSimulator(s: Scenario, host?: HostStdio): Simulator {
  return createSimulator({
    ...(host === undefined ? {} : { hostStdio: host }),
    abi: s.abi ?? 'mainline',
    seed: s.seed ?? 1,
    ...(s.platform === undefined ? {} : { platform: s.platform as never }),
    ...(Array.isArray(s.devices) ? { devices: s.devices } : {}),
  });
}

/** Spawns every process of the scenario; a failed step is recorded and ends its process. Returns pids by name. */
function spawnProcesses(
  s: Scenario,
  target: ScenarioTarget,
  failures: StepFailure[],
  notes: TargetNote[],
  budget: Budget,
): Map<string, number> {
  const pids = new Map<string, number>();
  for (const [index, p] of s.processes.entries()) {
    const body = async (sys: Sys) => {
      try {
        await new Interp(sys, target, p.name, pids, notes, budget).run(p.steps, 'steps', new Map(), [
          'processes',
          index,
          'steps',
        ]);
      } catch (e) {
        if (e instanceof RunStopped) return 0;
        if (!(e instanceof StepFailureError)) throw e;
        failures.push({ process: p.name, step: e.step, expected: e.expected, got: e.got, time: sys.now() });
      }
      return 0;
    };
    const pid = target.spawn(p.name, body, {
      compat: p.compat ?? false,
      startAt: p.startAt === undefined ? 0 : parseDuration(p.startAt)!,
      stdio: p.stdio ?? true,
    });
    pids.set(p.name, pid);
  }
  return pids;
}

/** Crashed processes, and processes whose outcome is not the expected one (exited by default). */
function outcomeFailures(s: Scenario, result: TargetRun): StepFailure[] {
  const failures: StepFailure[] = [];
  const at = (process: string, step: string, expected: string, got: string, time = result.time) =>
    failures.push({ process, step, expected, got, time });
  for (const proc of result.processes)
    if (proc.status === 'crashed')
      at(proc.name, 'run', 'no crash', proc.reason, proc.exitTime ?? result.time);
  const want = s.expect?.processes;
  for (const [name, status] of Object.entries(want ?? {})) {
    const p = result.processes.find((x) => x.name === name)!;
    if (p.status !== status) at(name, 'end of run', status, `${p.status} (${p.reason})`);
  }
  for (const p of result.processes) {
    if ((want && Object.hasOwn(want, p.name)) || p.status === 'exited' || p.status === 'crashed') continue;
    at(p.name, 'end of run', 'exited', `${p.status} (${p.reason})`);
  }
  return failures;
}

/** The run's stop when the clock's runaway guard fired, at the step that started last. */
function runawayStop(e: RunawayError, budget: Budget): RunStop {
  const at = budget.last ?? { process: '-', step: 'run', path: [] };
  return { ...at, message: `the run stopped: ${e.message}`, time: e.time };
}

/**
 * Runs a scenario on any target: its processes, faults and expectations, within `limits` (a run that
 * reaches one is stopped and reported in `stopped`).
 */
export async function runScenarioOn<R extends TargetRun>(
  s: Scenario,
  target: ScenarioTarget<R>,
  limits: RunLimits = DEFAULT_RUN_LIMITS,
): Promise<TargetOutcome<R>> {
  const failures: StepFailure[] = [];
  const notes: TargetNote[] = [];
  const budget = new Budget(limits);
  const pids = spawnProcesses(s, target as ScenarioTarget, failures, notes, budget);
  for (const [i, f] of (s.faults ?? []).entries()) {
    const note = target.fault(f, i, pids);
    if (note) notes.push(note);
  }
  let events = 0;
  const stopWhen = () => {
    if (++events > limits.events && !budget.stop)
      budget.stop = {
        process: '-',
        step: 'run',
        path: s.until === undefined ? [] : ['until'],
        message: `the run took ${limits.events} events from the clock: the limit of events per run`,
        time: -1,
      };
    return budget.stop !== null;
  };
  let result: R;
  try {
    result = await target.run(s.until === undefined ? DEFAULT_UNTIL_NS : parseDuration(s.until)!, stopWhen);
  } catch (e) {
    if (!(e instanceof RunawayError) || !target.resultSoFar) throw e;
    return { failures: [], notes, result: target.resultSoFar(), stopped: runawayStop(e, budget) };
  }
  const stop = budget.stop as RunStop | null;
  if (stop)
    return { failures: [], notes, result, stopped: stop.time < 0 ? { ...stop, time: result.time } : stop };
  const atEnd = target.runExpectations(s.expect, result);
  failures.push(...outcomeFailures(s, result), ...atEnd.failures.map((f) => ({ ...f, time: result.time })));
  notes.push(...atEnd.notes);
  return { failures, result, notes };
}

/** Runs a scenario on `sim` (from {@link scenarioSimulator}, with tracers attached by the caller). */
export async function runScenario(
  s: Scenario,
  sim: Simulator,
  limits: RunLimits = DEFAULT_RUN_LIMITS,
): Promise<ScenarioOutcome> {
  return { ...(await runScenarioOn(s, simulatorTarget(sim), limits)), sim };
}
