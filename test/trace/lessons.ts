/** Runs a bundled lesson as `iio-sim run` does, recording its timeline (shared by the trace tests). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContractChecker } from '../../src/check/checker.ts';
import { SCENARIO_DIR } from '../../src/cli.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { runScenario, scenarioSimulator } from '../../src/scenario/run.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import type { RunResult } from '../../src/sim/simulator.ts';
import { recordTrace } from '../../src/trace/recorder.ts';
import type { TimelineEvent } from '../../src/trace/timeline.ts';

/** A finished run: its timeline record, result and scenario. */
export interface LessonRun {
  readonly events: TimelineEvent[];
  readonly result: RunResult;
  readonly scenario: Scenario;
}

/** Runs scenario text (YAML) with the contract checker, recording the timeline. */
export async function runScenarioText(text: string, name = 'inline.yaml'): Promise<LessonRun> {
  const loaded = loadScenario(text, name);
  if (!loaded.ok) throw new Error(`${name}: ${JSON.stringify(loaded.errors)}`);
  const sim = scenarioSimulator(loaded.scenario);
  const rec = recordTrace(sim.events, sim.abi);
  const checker = new ContractChecker(sim);
  const outcome = await runScenario(loaded.scenario, sim);
  checker.finish(outcome.result);
  checker.detach();
  rec.detach();
  return { events: rec.events, result: outcome.result, scenario: loaded.scenario };
}

/** Runs a bundled lesson by file name (`02-four-dmabufs.yaml`). */
export function runLesson(file: string): Promise<LessonRun> {
  return runScenarioText(readFileSync(join(SCENARIO_DIR, file), 'utf8'), file);
}
