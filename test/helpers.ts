/**
 * Shared test helpers: run one program on a fresh simulator and get its result back.
 */
import { expect } from 'vitest';
import {
  createSimulator,
  type Simulator,
  type SimulatorOptions,
  type SpawnOptions,
  type Sys,
} from '../src/index.ts';
import type { ProcessOutcome, RunResult } from '../src/sim/simulator.ts';

/** The outcome of {@link runOne}. */
export interface RunOne<R> {
  readonly value: R;
  readonly outcome: ProcessOutcome;
  readonly result: RunResult;
  readonly sim: Simulator;
}

/**
 * Runs `body` as the only process of a new simulator and returns what it returned. Fails the test when the
 * process did not exit normally (crash, kill, blocked), unless `allowAbnormal`.
 */
export async function runOne<R>(
  body: (sys: Sys, sim: Simulator) => Promise<R>,
  options: SimulatorOptions & { spawn?: SpawnOptions; until?: number; allowAbnormal?: boolean } = {},
): Promise<RunOne<R>> {
  const { spawn, until, allowAbnormal, ...simOptions } = options;
  const sim = createSimulator(simOptions);
  // Rule tests count fds from 0: no stdio unless asked for.
  sim.spawn('test', (sys) => body(sys, sim), { stdio: false, ...spawn });
  const result = await sim.run(until === undefined ? {} : { until });
  const outcome = result.processes[0]!;
  if (!allowAbnormal) {
    if (outcome.status === 'crashed') throw outcome.error;
    expect(outcome.status, outcome.reason).toBe('exited');
  }
  return { value: outcome.value as R, outcome, result, sim };
}

/** Bytes of an ASCII string. */
export function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
