/**
 * Runs a loaded scenario: builds the simulator, schedules the faults, runs each process's steps through the
 * action table, checks every expectation, and reports failures by process, step, expected and got.
 */
import type { Sys } from '../sim/process.ts';
import { createSimulator, type RunResult, type Simulator } from '../sim/simulator.ts';
import { SIGKILL } from '../uapi/signal.ts';
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
import { type DataCheck, type ExpectObject, parseDuration, signalNumber } from './values.ts';

/** A step that did not do what the scenario expected. */
export interface StepFailure {
  readonly process: string;
  /** Where: `steps[3] (label)` with loop iterations. */
  readonly step: string;
  readonly expected: string;
  readonly got: string;
  readonly time: number;
}

/** What running a scenario produced. */
export interface ScenarioOutcome {
  readonly failures: readonly StepFailure[];
  readonly result: RunResult;
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

/** Foreach variables in scope, by name. */
type Vars = ReadonlyMap<string, string>;

/** One process's interpreter: its named fds and what its steps share. */
class Interp implements ProcessState {
  readonly sys: Sys;
  readonly sim: Simulator;
  readonly fds = new Map<string, number>();
  readonly maps = new Map<string, Mapping>();
  readonly buffers = new Map<string, ReadBuffer>();
  readonly cursors: SampleCursors = new Map();
  heapFd = -1;

  constructor(sys: Sys, sim: Simulator) {
    this.sys = sys;
    this.sim = sim;
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

  /** Runs steps in order; a failed expectation ends the process with a {@link StepFailureError}. */
  async run(steps: unknown[], where: string, vars: Vars): Promise<void> {
    for (const [i, raw] of steps.entries()) {
      const step = raw as Record<string, unknown>;
      const name = Object.keys(step).find((k) => k !== 'label' && k !== 'expect')!;
      const label = typeof step.label === 'string' ? ` (${step.label})` : '';
      const here = `${where}[${i}] ${name}${label}`;
      try {
        await actionNamed(name)!.run(
          step[name],
          new StepRun(this, here, vars, step.expect as StepExpect, this.sys.now()),
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

  constructor(interp: Interp, here: string, vars: Vars, ex: StepExpect, t0: number) {
    this.#interp = interp;
    this.here = here;
    this.#vars = vars;
    this.#ex = ex;
    this.expect = typeof ex === 'object' ? ex : undefined;
    this.#t0 = t0;
  }

  get sys(): Sys {
    return this.#interp.sys;
  }

  get sim(): Simulator {
    return this.#interp.sim;
  }

  get state(): ProcessState {
    return this.#interp;
  }

  done(ret: number): void {
    checkReturn(ret, this.#ex, this.sys.now() - this.#t0);
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
    checkData(bytes, data, this.sim, this.#interp.cursors);
  }

  steps(
    steps: unknown[],
    where: string,
    variable?: { readonly name: string; readonly value: string },
  ): Promise<void> {
    const vars = variable ? new Map(this.#vars).set(variable.name, variable.value) : this.#vars;
    return this.#interp.run(steps, where, vars);
  }
}

/** Builds the simulator a scenario describes (devices, profile, platform, seed). */
export function scenarioSimulator(s: Scenario): Simulator {
  return createSimulator({
    abi: s.abi ?? 'mainline',
    seed: s.seed ?? 1,
    ...(s.platform === undefined ? {} : { platform: s.platform as never }),
    ...(Array.isArray(s.devices) ? { devices: s.devices } : {}),
  });
}

/** Spawns every process of the scenario; a failed step is recorded and ends its process. Returns pids by name. */
function spawnProcesses(s: Scenario, sim: Simulator, failures: StepFailure[]): Map<string, number> {
  const pids = new Map<string, number>();
  for (const p of s.processes) {
    const body = async (sys: Sys) => {
      try {
        await new Interp(sys, sim).run(p.steps, 'steps', new Map());
      } catch (e) {
        if (!(e instanceof StepFailureError)) throw e;
        failures.push({ process: p.name, step: e.step, expected: e.expected, got: e.got, time: sys.now() });
      }
      return 0;
    };
    const pid = sim.spawn(p.name, body, {
      compat: p.compat ?? false,
      startAt: p.startAt === undefined ? 0 : parseDuration(p.startAt)!,
      stdio: p.stdio ?? true,
    });
    pids.set(p.name, pid);
  }
  return pids;
}

/** Schedules the scenario's faults at their times. */
function scheduleFaults(s: Scenario, sim: Simulator, pids: ReadonlyMap<string, number>): void {
  for (const f of s.faults ?? []) {
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
  }
}

/** Crashed processes, and processes whose outcome is not the expected one (exited by default). */
function outcomeFailures(s: Scenario, result: RunResult): StepFailure[] {
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
    if (want?.[p.name] !== undefined || p.status === 'exited' || p.status === 'crashed') continue;
    at(p.name, 'end of run', 'exited', `${p.status} (${p.reason})`);
  }
  return failures;
}

/** The run-level expectations on lost scans, live kernel objects and blocked reasons. */
function runExpectFailures(s: Scenario, sim: Simulator, result: RunResult): StepFailure[] {
  const failures: StepFailure[] = [];
  const at = (process: string, step: string, expected: string, got: string) =>
    failures.push({ process, step, expected, got, time: result.time });
  const want = s.expect;
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

/** Runs a scenario on `sim` (from {@link scenarioSimulator}, with tracers attached by the caller). */
export async function runScenario(s: Scenario, sim: Simulator): Promise<ScenarioOutcome> {
  const failures: StepFailure[] = [];
  const pids = spawnProcesses(s, sim, failures);
  scheduleFaults(s, sim, pids);
  const result = await sim.run({ until: s.until === undefined ? DEFAULT_UNTIL_NS : parseDuration(s.until)! });
  failures.push(...outcomeFailures(s, result), ...runExpectFailures(s, sim, result));
  return { failures, result, sim };
}
