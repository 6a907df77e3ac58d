import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, SCENARIO_DIR } from '../src/cli.ts';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: `${out.join('\n')}\n`, err: err.join('\n') };
}

const lessons = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('bundled scenarios', () => {
  it('there are at least eight lessons', () => {
    expect(lessons.length).toBeGreaterThanOrEqual(8);
  });

  it.each(lessons)('%s runs and every expectation holds', async (file) => {
    const r = await cli(['run', '--quiet', join(SCENARIO_DIR, file)]);
    expect(r.err).toBe('');
    expect(r.out).toBe(`${join(SCENARIO_DIR, file)}: PASS\n`);
    expect(r.code).toBe(0);
  });
});

/** Lessons whose whole output (strace log, fence lines, summary) is pinned byte for byte. */
const GOLDEN = ['01-first-capture-read.yaml', '06-mainline-bytes-used-and-flags.yaml'];

describe('golden traces', () => {
  it.each(GOLDEN)('%s prints exactly the recorded output', async (file) => {
    // Relative path so the output does not depend on where the repository lives.
    const r = await cli(['run', `scenarios/${file}`]);
    expect(r.code).toBe(0);
    const golden = join(__dirname, 'golden', file.replace(/\.yaml$/, '.txt'));
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, r.out);
    expect(r.out).toBe(readFileSync(golden, 'utf8'));
  });

  it('the same file and seed give byte-identical output twice', async () => {
    const a = await cli(['run', 'scenarios/03-dmabufs-vs-latency.yaml']);
    const b = await cli(['run', 'scenarios/03-dmabufs-vs-latency.yaml']);
    expect(a.out.length).toBeGreaterThan(10_000);
    expect(b.out).toBe(a.out);
  });
});
