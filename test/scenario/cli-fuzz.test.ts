/**
 * `iio-sim fuzz` (the campaign of docs/testing.md), the options of `fuzz --against real` and `diff` (their
 * runs are in test/real/), and the contract checker in `iio-sim run`.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';

async function cli(args: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('iio-sim fuzz', () => {
  it('runs every part of the campaign and ends with the total and no failure', async () => {
    const r = await cli(['fuzz', '--runs', '5', '--seed', '3', '--max-calls', '50']);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toBe('iio-sim fuzz: seed 3, 5 runs per part, up to 50 calls per run');
    const parts = r.out.slice(1, 6).map((l) => l.replace(/\s+\(.*\)$/, '').replace(/\s+/g, ' '));
    expect(parts.map((p) => p.replace(/ [\d,]+ syscalls/, ' N syscalls'))).toEqual([
      'contract mainline LP64 5 runs N syscalls ok',
      'contract mainline ILP32 5 runs N syscalls ok',
      'contract v2 LP64 5 runs N syscalls ok',
      'contract v2 ILP32 5 runs N syscalls ok',
      'syscall fuzzing 5 runs N syscalls ok',
    ]);
    expect(r.out[6]).toMatch(/^total: [\d,]+ syscalls, 0 failures \(/);
  });

  it('--mode contract runs only the model-based parts; the same seed gives the same syscall counts', async () => {
    const a = await cli(['fuzz', '--runs', '3', '--seed', '9', '--mode', 'contract']);
    const b = await cli(['fuzz', '--runs', '3', '--seed', '9', '--mode', 'contract']);
    expect(a.code).toBe(0);
    expect(a.out.filter((l) => l.startsWith('syscall fuzzing'))).toEqual([]);
    const counts = (o: string[]) => o.slice(1, 5).map((l) => /([\d,]+) syscalls/.exec(l)![1]);
    expect(counts(a.out)).toEqual(counts(b.out));
  });

  it.each([
    [['--runs', '0']],
    [['--runs', 'x']],
    [['--seed', '1.5']],
    [['--mode', 'everything']],
    [['--max-calls', '0']],
  ])('refuses %j with status 2 and a one-line reason', async (args) => {
    const r = await cli(['fuzz', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'iio-sim fuzz: --runs and --max-calls take a positive integer, --seed a non-negative one, --mode all, contract or syscalls',
    ]);
  });
});

it.each([[['--path', '1:2']], [['--mode', 'syscalls', '--path', 'x']]])(
  'iio-sim fuzz refuses %j: --path replays a syscall fuzzing failure only',
  async (args) => {
    const r = await cli(['fuzz', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'iio-sim fuzz: --path takes the path of a syscall fuzzing failure (digits and colons) and needs --mode syscalls',
    ]);
  },
);

it('iio-sim fuzz --mode syscalls --path runs just that program', async () => {
  const r = await cli(['fuzz', '--mode', 'syscalls', '--seed', '2', '--path', '3', '--max-calls', '20']);
  expect(r.code).toBe(0);
  expect(r.out[1]).toMatch(/^syscall fuzzing\s+1 runs/);
});

it.each([
  [['--against', 'qemu']],
  [['--against', 'real', '--part', 'x32']],
  [['--against', 'real', '--runs', '0']],
  [['--against', 'real', '--path', '1:2']],
  [['--against', 'real', '--part', 'lp64', '--path', '1:2']],
  [['--against', 'real', '--part', 'lp64', '--path', 'x', '--replay-path', 'AB']],
])('iio-sim fuzz refuses %j: --against real, and a replay needs the part and both paths', async (args) => {
  const r = await cli(['fuzz', ...args]);
  expect(r.code).toBe(2);
  expect(r.err).toEqual([
    'iio-sim fuzz --against real [--runs N] [--seed S] [--max-calls N] [--part lp64|ilp32 --path P --replay-path R]: a replay (--path) needs the part and the replay path of the failure report',
  ]);
});

it('iio-sim diff without a file is a usage error', async () => {
  const r = await cli(['diff']);
  expect(r.code).toBe(2);
  expect(r.err[0]).toBe('iio-sim diff: no scenario file given');
  expect(r.err[1]).toMatch(/^usage: /);
});

describe('iio-sim run: the contract checker', () => {
  it('is on by default: lesson 7 shows its findings in the trace and the summary', async () => {
    const r = await cli(['run', 'scenarios/07-forgetting-sync.yaml']);
    expect(r.code).toBe(0);
    expect(r.out.filter((l) => l.includes('[check]'))).toEqual([
      '0.000000000 [check] hasty[100] cpu-access-outside-sync: load from DMABUF 1 at 0x7ffff7ffb000 (64 bytes) with no DMA_BUF_IOCTL_SYNC START open',
      '0.000000000 [check] hasty[100] cpu-access-while-dma-pending: load from DMABUF 1 at 0x7ffff7ffb000 (64 bytes) while 1 fence of the DMA writing it is pending',
    ]);
    expect(r.out).toContain(
      'contract check: 2 findings (cpu-access-outside-sync ×1, cpu-access-while-dma-pending ×1)',
    );
  });

  it('--no-check turns it off', async () => {
    const r = await cli(['run', 'scenarios/07-forgetting-sync.yaml', '--no-check']);
    expect(r.code).toBe(0);
    expect(r.out.some((l) => l.includes('[check]') || l.startsWith('contract check'))).toBe(false);
  });

  it('a clean lesson reports no findings', async () => {
    const r = await cli(['run', 'scenarios/02-four-dmabufs.yaml']);
    expect(r.out).toContain('contract check: no findings');
  });
});

describe('iio-sim fuzz --path: a replay of exactly one program, or one line and exit 2', () => {
  it('replays the one program at the path (not the shrinks after it)', async () => {
    const r = await cli(['fuzz', '--mode', 'syscalls', '--max-calls', '5', '--path', '3']);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toBe('iio-sim fuzz: seed 1, replaying the program at path 3, up to 5 calls');
    expect(r.out[1]).toMatch(/^syscall fuzzing +1 runs +\d+ syscalls {2}ok {2}\(/);
  });

  it.each([
    [
      ['--path', '5:3', '--runs', '3'],
      'iio-sim fuzz: --path replays the one program at that path: give it without --runs',
    ],
    [['--path', '100000'], 'iio-sim fuzz: --path: the run (its first number) must be below 100000'],
    [
      ['--path', '0:999999', '--max-calls', '5'],
      'iio-sim fuzz: --path 0:999999 names no program of this seed with at most 5 calls',
    ],
    [
      ['--path', '0:0:1:0:0', '--max-calls', '5'],
      'iio-sim fuzz: --path 0:0:1:0:0 names no program of this seed with at most 5 calls',
    ],
  ])('refuses %j', async (args, line) => {
    const r = await cli(['fuzz', '--mode', 'syscalls', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([line]);
    for (const l of [...r.out, ...r.err]) expect(l).not.toMatch(/^\s+at |Error:/);
  });
});
