/**
 * The bench's fuzz row (bench/fuzz-rate.mjs): a child process that runs `iio-sim fuzz --runs RUNS --seed 1`
 * once to warm up and ROUNDS more times, from the built package or the sources, and prints the syscalls of a
 * campaign with the median wall ms.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCampaign } from '../../src/testing/campaign.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USAGE = 'usage: fuzz-rate.mjs [RUNS >= 1] [ROUNDS >= 1] [--from dist|src] [--warm-ms MS >= 0]\n';

/** Runs bench/fuzz-rate.mjs of `root` with `args` under a plain node, as `npm run bench` does. */
function fuzzRate(args: readonly string[], root = ROOT) {
  const r = spawnSync(process.execPath, [join(root, 'bench', 'fuzz-rate.mjs'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A checkout without dist/: the script and the sources, node_modules linked. */
const bare = mkdtempSync(join(tmpdir(), 'fuzz-rate-'));
cpSync(join(ROOT, 'bench', 'fuzz-rate.mjs'), join(bare, 'bench', 'fuzz-rate.mjs'));
symlinkSync(join(ROOT, 'src'), join(bare, 'src'));
symlinkSync(join(ROOT, 'node_modules'), join(bare, 'node_modules'));
symlinkSync(join(ROOT, 'package.json'), join(bare, 'package.json'));
afterAll(() => rmSync(bare, { recursive: true, force: true }));

describe('bench fuzz row', () => {
  it("prints where the code came from, its warm-up campaigns, a campaign's syscalls and the median campaign's wall time as one JSON line", async () => {
    const r = fuzzRate(['2', '3', '--from', 'src', '--warm-ms', '1'], bare);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout) as {
      from: string;
      runs: number;
      warmups: number;
      syscalls: number;
      wallMs: number;
    };
    expect(Object.keys(out)).toEqual(['from', 'runs', 'warmups', 'syscalls', 'wallMs']);
    // A campaign takes longer than 1 ms: exactly one runs before the timed ones.
    expect([out.from, out.runs, out.warmups]).toEqual(['src', 2, 1]);
    expect(out.syscalls).toBe((await runCampaign({ runs: 2, seed: 1 })).syscalls);
    expect(out.wallMs).toBeGreaterThan(0);
  });

  it('times from a cold start with --warm-ms 0: no warm-up campaign', () => {
    const r = fuzzRate(['1', '1', '--from', 'src', '--warm-ms', '0'], bare);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect((JSON.parse(r.stdout) as { warmups: number }).warmups).toBe(0);
  });

  it('refuses to time a package that is not built, saying how to build it (exit 2)', () => {
    for (const args of [[], ['2', '1', '--from', 'dist']])
      expect(fuzzRate(args, bare)).toEqual({
        status: 2,
        stdout: '',
        stderr: 'fuzz-rate.mjs: dist/ is not built: run `npm run build` first, or give --from src\n',
      });
  });

  it('refuses runs, rounds or a source that are not what it takes, with its usage line and exit 2', () => {
    for (const args of [
      ['0'],
      ['1.5'],
      ['2', 'x'],
      ['2', '1', '3'],
      ['--from', 'build'],
      ['2', '--from'],
      ['--warm-ms', '-1'],
      ['--warm-ms', '0.5'],
      ['2', '--warm-ms'],
    ])
      expect(fuzzRate(args, bare)).toEqual({ status: 2, stdout: '', stderr: USAGE });
  });
});
