/**
 * What a simulated DAC played, as raw bytes (src/bridge/played.ts, behind `iio-sim exec --played`): a
 * streamed run (`iio-sim play`'s program) and a cyclic one (scenarios/04-cyclic-dac.yaml).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { playedBytes } from '../../src/bridge/played.ts';
import { playCommand } from '../../src/cli/capture.ts';
import type { Simulator } from '../../src/index.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { runScenario, scenarioSimulator } from '../../src/scenario/run.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'iio-sim-played-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dac(sim: Simulator) {
  return sim.device('sim-dac').dac!;
}

describe('playedBytes', () => {
  it('a streamed run: the input, byte for byte, after the underflow before the first block', async () => {
    const input = Buffer.alloc(3000 * 4);
    for (let i = 0; i < 3000; i++) {
      input.writeInt16LE((i * 11) % 2000, i * 4);
      input.writeInt16LE(-((i * 5) % 2000), i * 4 + 2);
    }
    const file = join(dir, 'in.bin');
    writeFileSync(file, input);
    let sim: Simulator | null = null;
    const errs: string[] = [];
    const io = { out: () => {}, err: (l: string) => errs.push(l), outBytes: () => {} };
    const code = await playCommand([], { input: file, 'buffer-size': '500' }, io, {
      onSimulator: (s) => (sim = s),
    });
    expect(code).toBe(0);
    const before = Number(/after (\d+) scans of underflow/.exec(errs.at(-1)!)?.[1]);
    const p = playedBytes(dac(sim!), sim!.now);
    expect({ before: p.before, gaps: p.gaps, runs: p.runs }).toEqual({ before, gaps: 0, runs: 1 });
    expect(p.scans).toBe(p.bytes.length / 4);
    expect(Buffer.from(p.bytes.subarray(0, input.length)).equals(input)).toBe(true);
  });

  it('a cyclic run: its one period, over and over, from the first scan played', async () => {
    const path = join(ROOT, 'scenarios', '04-cyclic-dac.yaml');
    const loaded = loadScenario(readFileSync(path, 'utf8'), path);
    if (!loaded.ok) throw new Error('scenario does not load');
    const sim = scenarioSimulator(loaded.scenario);
    await runScenario(loaded.scenario, sim);
    const p = playedBytes(dac(sim), sim.now);
    const period = [0, 1000, 2000, 3000, 4000, 3000, 2000, 1000];
    expect(p.runs).toBe(1);
    expect(p.gaps).toBe(0);
    expect(p.scans).toBeGreaterThan(8 * 1024);
    const view = Buffer.from(p.bytes);
    const bad: number[] = [];
    for (let i = 0; i < p.scans; i++) {
      const want = period[i % 8]!;
      if (view.readInt16LE(i * 4) !== want || view.readInt16LE(i * 4 + 2) !== -want) bad.push(i);
    }
    expect(bad).toEqual([]);
  });
});
