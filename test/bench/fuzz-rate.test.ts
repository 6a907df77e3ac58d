/**
 * The bench's fuzz row (bench/fuzz-rate.ts): a child process that runs `iio-sim fuzz --runs RUNS --seed 1`
 * once to warm up and ROUNDS more times, and prints the syscalls of a campaign with the median wall ms.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../../src/testing/campaign.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs bench/fuzz-rate.ts with `args` in a child, as `npm run bench` does. */
function fuzzRate(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'fuzz-rate.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench fuzz row', () => {
  it("prints the campaign's syscalls and the median campaign's wall time as one JSON line", async () => {
    const r = fuzzRate('2', '3');
    expect([r.status, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as { runs: number; syscalls: number; wallMs: number };
    expect(Object.keys(out)).toEqual(['runs', 'syscalls', 'wallMs']);
    expect(out.runs).toBe(2);
    expect(out.syscalls).toBe((await runCampaign({ runs: 2, seed: 1 })).syscalls);
    expect(out.wallMs).toBeGreaterThan(0);
  });

  it('refuses runs or rounds that are not positive integers, with its usage line and exit 2', () => {
    for (const args of [['0'], ['1.5'], ['2', 'x']])
      expect(fuzzRate(...args)).toEqual({
        status: 2,
        stdout: '',
        stderr: 'usage: fuzz-rate.ts [RUNS >= 1] [ROUNDS >= 1]\n',
      });
  });
});
