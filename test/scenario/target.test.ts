/**
 * The scenario interpreter on a ScenarioTarget (src/scenario/target.ts): the simulator as a target is what
 * runScenario runs, and a target that cannot check durations, unsynced DMABUF data or exact sample
 * continuity (as the real kernel's, src/real/diff-target.ts) skips those checks with a note naming the
 * comparison rule, and chains `samples` checks by order instead of continuity.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/load.ts';
import { runScenario, runScenarioOn, scenarioSimulator } from '../../src/scenario/run.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { type ScenarioTarget, simulatorTarget, type TargetChecks } from '../../src/scenario/target.ts';

function load(text: string): Scenario {
  const loaded = loadScenario(text, 'inline.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.scenario;
}

/** The simulator, with the checks of another target. */
function withChecks(s: Scenario, checks: TargetChecks): ScenarioTarget {
  return { ...simulatorTarget(scenarioSimulator(s)), checks };
}

const KERNEL_LIKE: TargetChecks = { samples: 'ordered', durations: false, unsyncedData: false };
const ADC4 = '[in_voltage0, in_voltage1, in_voltage2, in_voltage3]';

// Fileio reads with a 10 ms pause: both blocks (2048 scans each) fill and are read back in order, but
// nothing was queued from 6 ms on, so the fourth read does not continue where the third ended.
const GAP = `
platform: ideal
processes:
  - name: p
    steps:
      - enable_channels: { device: sim-adc, channels: ${ADC4} }
      - buffer_fd: { device: sim-adc, as: buf }
      - enable_buffer: { device: sim-adc }
      - read: { fd: buf, len: 16384 }
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4} } } }
      - sleep: 10ms
      - read: { fd: buf, len: 16384 }
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4} } } }
      - read: { fd: buf, len: 16384 }
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4} } } }
      - read: { fd: buf, len: 16384 }
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4} } } }
      - enable_buffer: { device: sim-adc, on: false }
      - close: buf
`;

describe('scenario targets', () => {
  it('the simulator target is what runScenario runs: same failures, no notes', async () => {
    const s = load(GAP);
    const a = await runScenario(s, scenarioSimulator(s));
    const b = await runScenarioOn(s, simulatorTarget(scenarioSimulator(s)));
    expect(b.failures.map((f) => [f.step, f.expected, f.got])).toEqual(
      a.failures.map((f) => [f.step, f.expected, f.got]),
    );
    expect(b.notes).toEqual([]);
  });

  it('continuous samples fail after lost scans; ordered samples (each check one run, in order) hold', async () => {
    const s = load(GAP);
    const continuous = await runScenario(s, scenarioSimulator(s));
    expect(continuous.failures.map((f) => f.step)).toEqual(['steps[7] read']);
    expect(continuous.failures[0]!.expected).toMatch(/^scan 0 = \[.*\] \(sample 6144\)$/);
    const ordered = await runScenarioOn(s, withChecks(s, KERNEL_LIKE));
    expect(ordered.failures).toEqual([]);
  });

  it('ordered samples still require each check to be one run of the signal', async () => {
    const s = load(`
platform: ideal
processes:
  - name: p
    steps:
      - heap_alloc: { size: 4096, as: d }
      - sync: { dmabuf: d, phase: start, dir: read }
      - check: { in: d, len: 64 }
        expect: { data: { samples: { device: sim-adc, channels: ${ADC4} } } }
`);
    // Zeros are sample 0 of the ramp on voltage0 only: the other channels start at 1024, 2048, 3072.
    const out = await runScenarioOn(s, withChecks(s, KERNEL_LIKE));
    expect(out.failures.map((f) => [f.step, f.got])).toEqual([
      ['steps[2] check', 'scan [0, 0, 0, 0] matches no sample index'],
    ]);
  });

  it('a table that repeats a scan within its period: the phase is the one every scan follows', async () => {
    // Scans 1, 3, 1, 2 against the table 1, 2, 1, 3: sample 0 matches the first scan but not the second;
    // sample 2 matches all four.
    const s = load(`
platform: ideal
processes:
  - name: p
    steps:
      - heap_alloc: { size: 4096, as: d }
      - sync: { dmabuf: d, phase: start, dir: rw }
      - fill: { map: d, data: { hex: "0100 0300 0100 0200" } }
      - check: { in: d, len: 8 }
        expect: { data: { samples: { device: sim-adc, channels: [in_voltage0], table: [[1, 2, 1, 3]] } } }
`);
    for (const target of [simulatorTarget(scenarioSimulator(s)), withChecks(s, KERNEL_LIKE)])
      expect((await runScenarioOn(s, target)).failures).toEqual([]);
  });

  it('a target without durations or unsynced data notes the checks it skips, under the rule that says why', async () => {
    const s = load(`
platform: ideal
processes:
  - name: p
    steps:
      - heap_alloc: { size: 4096, as: d }
      - check: { in: d, len: 16 }
        label: a look without SYNC_START
        expect: { data: { fill: 1 } }
      - sleep: 1ms
        expect: { minNs: 2ms }
      - sync: { dmabuf: d, phase: start, dir: read }
      - check: { in: d, len: 16 }
        expect: { data: { fill: 0 } }
`);
    const sim = await runScenario(s, scenarioSimulator(s));
    expect(sim.failures.map((f) => f.step)).toEqual(['steps[1] check (a look without SYNC_START)']);
    const other = await runScenarioOn(s, withChecks(s, KERNEL_LIKE));
    expect(other.failures).toEqual([]);
    expect(other.notes.map((n) => [n.process, n.where, n.rule])).toEqual([
      ['p', 'steps[1] check (a look without SYNC_START)', 'unsynced-access'],
      ['p', 'steps[2] sleep', 'virtual-time'],
    ]);
  });

  it('the target hears each step start, nested steps with their loop iteration', async () => {
    const s = load(`
platform: ideal
processes:
  - name: p
    steps:
      - loop: { count: 2, steps: [{ sleep: 1us }] }
`);
    const heard: string[] = [];
    await runScenarioOn(s, {
      ...simulatorTarget(scenarioSimulator(s)),
      stepStarted: (process, where) => heard.push(`${process}: ${where}`),
    });
    expect(heard).toEqual([
      'p: steps[0] loop',
      'p: steps[0] loop#0.steps[0] sleep',
      'p: steps[0] loop#1.steps[0] sleep',
    ]);
  });
});
