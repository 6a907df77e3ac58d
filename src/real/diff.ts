/**
 * `iio-sim diff FILE...`: runs each scenario on the simulator and on a real Linux kernel, records every syscall
 * on both (./diff-record.ts), and prints per process the first call whose result differs, or
 * `agree (N syscalls)`. Differences that depend only on timing are compared by the rules of ./compare.ts
 * (docs/oracle.md, "Comparison rules"); what a side could not check is listed as `not compared`.
 */

import { escapeControl, formatError } from '../scenario/errors.ts';
import { loadScenario } from '../scenario/load.ts';
import { runScenarioOn, type StepFailure, scenarioSimulator, type TargetOutcome } from '../scenario/run.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { TargetNote } from '../scenario/target.ts';
import type { DeviceConfig } from '../sim/devices.ts';
import type { ProcessOutcome } from '../sim/simulator.ts';
import { errnoName, strerror } from '../uapi/errno.ts';
import { type CallDifference, compareProcess, type ProcessComparison, type RuleId } from './compare.ts';
import { type CallRecord, SideLog } from './diff-record.ts';
import { realTarget, recordedSimulatorTarget } from './diff-target.ts';
import { moduleParams, type RealKernel, type RealRunResult } from './runtime.ts';

/** How {@link diffScenario} gets a real kernel for a scenario's board; the diff closes it. */
export type KernelFactory = (devices: DeviceConfig[] | undefined, seed: number) => Promise<RealKernel>;

/** How one process compares. */
export interface ProcessDiff {
  readonly name: string;
  /** Its calls, compared. */
  readonly calls: ProcessComparison;
  readonly sim: ProcessOutcome;
  readonly real: ProcessOutcome;
  /** Set when the outcomes differ (status, signal). */
  readonly outcome: string | undefined;
  /** Steps whose expectation failed, on each side. */
  readonly simFailures: readonly StepFailure[];
  readonly realFailures: readonly StepFailure[];
  /** No call differs, the outcomes agree, and no expectation failed on one side only. */
  readonly agree: boolean;
}

/** The comparison of one scenario. */
export interface ScenarioDiff {
  readonly file: string;
  readonly title: string | undefined;
  /** `agree`, `differ`, or `not-comparable` (a v2 scenario, a board the module cannot express). */
  readonly status: 'agree' | 'differ' | 'not-comparable';
  /** Why it is not comparable. */
  readonly reason?: string;
  readonly processes: readonly ProcessDiff[];
  /** Run-level failures (the `-` process) on each side. */
  readonly runFailures: { readonly sim: readonly StepFailure[]; readonly real: readonly StepFailure[] };
  /** What the real kernel did not check, or did differently, and under which rule. */
  readonly notes: readonly TargetNote[];
  /** Points where the kernel's processes stopped following the simulator's order (a gate timed out). */
  readonly orderBroken: readonly string[];
  /** `uname -r` of the kernel. */
  readonly release: string;
  /** Real seconds the kernel's run took. */
  readonly realSeconds: number;
}

function outcomeDifference(s: ProcessOutcome, r: ProcessOutcome): string | undefined {
  if (s.status !== r.status)
    return `the simulator: ${s.status} (${s.reason}); the kernel: ${r.status} (${r.reason})`;
  if (s.status === 'killed' && s.signal !== r.signal)
    return `killed by signal ${s.signal} on the simulator, ${r.signal} on the kernel`;
  return undefined;
}

function sameFailures(a: readonly StepFailure[], b: readonly StepFailure[]): boolean {
  const key = (f: StepFailure) => `${f.step}\0${f.expected}`;
  return a.map(key).sort().join('\n') === b.map(key).sort().join('\n');
}

/** Why a scenario cannot run on the real kernel, or null. */
export function notComparable(s: Scenario): string | null {
  if ((s.abi ?? 'mainline') !== 'mainline')
    return `a ${s.abi} scenario: only mainline exists on the real kernel`;
  try {
    moduleParams(Array.isArray(s.devices) ? s.devices : undefined, s.seed ?? 1);
  } catch (e) {
    return `its board cannot be expressed for the test module: ${(e as Error).message}`;
  }
  return null;
}

/** Runs `s` on the simulator, then on a kernel from `kernel`, and compares the two runs. */
export async function diffScenario(s: Scenario, file: string, kernel: KernelFactory): Promise<ScenarioDiff> {
  const empty = {
    processes: [],
    runFailures: { sim: [], real: [] },
    notes: [],
    orderBroken: [],
    release: '',
    realSeconds: 0,
  };
  const why = notComparable(s);
  if (why) return { file, title: s.title, status: 'not-comparable', reason: why, ...empty };
  const simLog = new SideLog();
  const sim = scenarioSimulator(s);
  const simOut = await runScenarioOn(s, recordedSimulatorTarget(sim, simLog));
  const k = await kernel(Array.isArray(s.devices) ? s.devices : undefined, s.seed ?? 1);
  const realLog = new SideLog();
  let realOut: TargetOutcome<RealRunResult>;
  const target = realTarget({
    kernel: k,
    board: scenarioSimulator(s),
    simLog,
    simResult: simOut.result,
    log: realLog,
  });
  try {
    realOut = await runScenarioOn(s, target);
  } finally {
    await k.close();
  }
  const processes: ProcessDiff[] = s.processes.map((p) => {
    const calls = compareProcess(simLog.process(p.name), realLog.process(p.name));
    const so = simOut.result.processes.find((x) => x.name === p.name)!;
    const ro = realOut.result.processes.find((x) => x.name === p.name)!;
    const outcome = outcomeDifference(so, ro);
    const simFailures = simOut.failures.filter((f) => f.process === p.name);
    const realFailures = realOut.failures.filter((f) => f.process === p.name);
    const agree =
      calls.first === undefined && outcome === undefined && sameFailures(simFailures, realFailures);
    return { name: p.name, calls, sim: so, real: ro, outcome, simFailures, realFailures, agree };
  });
  const runFailures = {
    sim: simOut.failures.filter((f) => f.process === '-'),
    real: realOut.failures.filter((f) => f.process === '-'),
  };
  const agree = processes.every((p) => p.agree) && sameFailures(runFailures.sim, runFailures.real);
  return {
    file,
    title: s.title,
    status: agree ? 'agree' : 'differ',
    processes,
    runFailures,
    notes: realOut.notes,
    orderBroken: target.sequencer.broken,
    release: realOut.result.release,
    realSeconds: realOut.result.time / 1e9,
  };
}

/** A result as the report shows it: `0`, `-1 EBUSY (Device or resource busy)`, `= 0 {fd=5, ...}`. */
function showResult(c: CallRecord | undefined): string {
  if (!c) return '(no such call)';
  if (c.ret === null) return '? (never returned)';
  const ret =
    c.ret < 0
      ? `-1 ${errnoName(-c.ret) ?? -c.ret} (${strerror(-c.ret)})`
      : c.call === 'mmap'
        ? `0x${c.ret.toString(16)}`
        : String(c.ret);
  const data =
    c.data && c.fdKind !== 'iio-buffer'
      ? ` ${JSON.stringify(Buffer.from(c.data.subarray(0, 64)).toString('latin1'))}`
      : '';
  return `${ret}${c.out ? ` ${c.out}` : ''}${data}`;
}

function differenceLines(d: CallDifference, total: number): string[] {
  const call = d.sim ?? d.real!;
  return [
    `differs at syscall ${d.index + 1} of ${total}${call.step ? `, ${call.step}` : ''}: ${d.what}`,
    `      ${d.sim?.text ?? '(none)'}${d.real && d.sim && d.real.text !== d.sim.text ? `  |  kernel: ${d.real.text}` : ''}`,
    `      simulator: ${showResult(d.sim)}`,
    `      kernel:    ${showResult(d.real)}`,
  ];
}

function rulesText(m: ReadonlyMap<RuleId, number>, prefix: string): string {
  return [...m].map(([id, n]) => `${prefix}${id} ×${n}`).join(', ');
}

/** The report of one scenario, as `iio-sim diff` prints it. */
export function formatDiff(d: ScenarioDiff): string[] {
  const head = `${d.file}${d.title ? `: ${d.title}` : ''}`;
  if (d.status === 'not-comparable') return [`${head}`, `  not comparable: ${d.reason}`];
  const lines = [`${head} (mainline; simulator vs Linux ${d.release}, ${d.realSeconds.toFixed(1)} s real)`];
  for (const p of d.processes) {
    const total = Math.max(p.calls.agreed, p.calls.first ? p.calls.first.index + 1 : 0);
    const used = [rulesText(p.calls.rules, ''), rulesText(p.calls.tolerated, 'tolerated ')]
      .filter(Boolean)
      .join(', ');
    if (p.calls.first) {
      const [first, ...rest] = differenceLines(p.calls.first, Math.max(total, p.calls.agreed));
      lines.push(`  ${p.name}: ${first}`, ...rest);
    } else lines.push(`  ${p.name}: agree (${p.calls.agreed} syscalls${used ? `; ${used}` : ''})`);
    if (p.outcome) lines.push(`    outcome differs: ${p.outcome}`);
    for (const [side, fs] of [
      ['simulator', p.simFailures],
      ['kernel', p.realFailures],
    ] as const)
      for (const f of fs) lines.push(`    ${side}: ${f.step}: expected ${f.expected}, got ${f.got}`);
  }
  for (const [side, fs] of [
    ['simulator', d.runFailures.sim],
    ['kernel', d.runFailures.real],
  ] as const)
    for (const f of fs) lines.push(`  ${side}: ${f.step}: expected ${f.expected}, got ${f.got}`);
  for (const b of d.orderBroken) lines.push(`  order not kept: ${b}`);
  const notes = new Map<string, string[]>();
  for (const n of d.notes) {
    const where = n.process === '-' ? n.where : `${n.process} ${n.where}`;
    const list = notes.get(n.rule) ?? [];
    if (!list.includes(where)) list.push(where);
    notes.set(n.rule, list);
  }
  for (const [rule, wheres] of notes)
    lines.push(
      `  not compared (${rule}): ${wheres.slice(0, 3).join('; ')}${wheres.length > 3 ? `; and ${wheres.length - 3} more` : ''}`,
    );
  lines.push(`  => ${d.status === 'agree' ? 'agree' : 'DIFFER'}`);
  return lines;
}

/** Output streams of {@link diffFiles}. */
export interface DiffIo {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `iio-sim diff FILE...`: loads, runs and compares each file; resolves to the exit status: 0 when every
 * comparable scenario agrees (under the comparison rules), 1 when one differs, 2 when a file cannot be used.
 */
export async function diffFiles(
  files: readonly { name: string; text: string | null }[],
  kernel: KernelFactory,
  io: DiffIo,
): Promise<number> {
  let status = 0;
  let agree = 0;
  let differ = 0;
  let skipped = 0;
  for (const f of files) {
    if (f.text === null) {
      status = 2;
      continue;
    }
    const loaded = loadScenario(f.text, f.name);
    if (!loaded.ok) {
      for (const e of loaded.errors) io.err(formatError(e));
      status = 2;
      continue;
    }
    let d: ScenarioDiff;
    try {
      d = await diffScenario(loaded.scenario, f.name, kernel);
    } catch (e) {
      io.err(
        escapeControl(
          `${f.name}: the differential run failed: ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
      status = Math.max(status, 1);
      differ++;
      continue;
    }
    for (const line of formatDiff(d)) io.out(escapeControl(line));
    if (d.status === 'differ') {
      status = Math.max(status, 1);
      differ++;
    } else if (d.status === 'agree') agree++;
    else skipped++;
  }
  io.out(`diff: ${agree} agree, ${differ} differ, ${skipped} not comparable`);
  return status;
}
