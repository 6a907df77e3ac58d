/**
 * `iio-sim --help`, `--version` and what `run` adds around a scenario (src/cli/run-options.ts): lessons
 * found by number or name, the `--until/--seed/--abi/--platform` overrides, the warning for a run cut by the
 * default time limit, processes' inherited stdio, and the progress line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/board.ts';
import { HELP_COMMANDS, helpText } from '../../src/cli/help.ts';
import { findScenario, showProgress } from '../../src/cli/run-options.ts';
import { COMMANDS, main, OPTIONS, SCENARIO_DIR, VERSION } from '../../src/cli.ts';
import { createSimulator } from '../../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'iio-sim-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: readonly string[], extra: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), ...extra });
  return { code, out, err };
}

let n = 0;
function scenario(text: string): string {
  const file = join(dir, `s${++n}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe('--help and --version', () => {
  it('--help lists every command of the command table, and exec and kernel', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(HELP_COMMANDS.map((c) => c.name).sort()).toEqual(
      [...Object.keys(COMMANDS), 'exec', 'kernel'].sort(),
    );
    for (const c of HELP_COMMANDS) expect(text).toContain(`\niio-sim ${c.name}`);
    expect((await cli(['run', '-h'])).out.join('\n')).toBe(text);
  });

  it('--help explains every option iio-sim accepts', () => {
    const text = helpText(VERSION);
    for (const [name, o] of Object.entries(OPTIONS)) {
      expect(text, name).toContain(`--${name}`);
      if ('short' in o) expect(text, name).toContain(`-${o.short}`);
    }
  });

  it('--version and -V print the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(SCENARIO_DIR, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await cli(['--version'])).toEqual({ code: 0, out: [`iio-sim ${pkg.version}`], err: [] });
    expect((await cli(['-V'])).out).toEqual([`iio-sim ${pkg.version}`]);
  });
});

describe('run LESSON', () => {
  it.each(['01', '1', '01-first-capture-read', '01-first-capture-read.yaml', 'first', '01-first'])(
    'run %s runs scenarios/01-first-capture-read.yaml',
    async (arg) => {
      const found = findScenario(arg, SCENARIO_DIR);
      expect(found).toEqual({ file: expect.stringMatching(/(^|\/)scenarios\/01-first-capture-read\.yaml$/) });
      if (arg === '01') {
        const r = await cli(['run', '-q', arg]);
        expect(r.code).toBe(0);
        expect(r.out).toEqual(['scenarios/01-first-capture-read.yaml: PASS']);
      }
    },
  );

  it('an unknown lesson is a clear error (exit 2)', async () => {
    expect(await cli(['run', '99'])).toEqual({
      code: 2,
      out: [],
      err: [
        "iio-sim run: no scenario file or bundled lesson '99' (lessons: 01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 12, 13; see iio-sim list)",
      ],
    });
    expect((await cli(['run', 'nonsense'])).err[0]).toMatch(
      /^iio-sim run: no scenario file or bundled lesson 'nonsense'/,
    );
  });

  it('an ambiguous lesson names the candidates (exit 2)', async () => {
    expect(await cli(['run', 'dmabufs'])).toEqual({
      code: 2,
      out: [],
      err: [
        "iio-sim run: 'dmabufs' is ambiguous: it names the lessons 02-four-dmabufs, 03-dmabufs-vs-latency",
      ],
    });
  });

  it('a path that does not exist stays a file error', async () => {
    const r = await cli(['run', join(dir, 'none.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`${join(dir, 'none.yaml')}:1:1: cannot read the file (no such file)`]);
  });
});

const SLEEPER = `
processes:
  - name: sleeper
    steps:
      - sleep: 20s
`;

describe('run overrides', () => {
  it('--seed and --abi override the scenario (header), --platform ideal makes syscalls free', async () => {
    const r = await cli(['run', '01', '--seed', '7', '--abi', 'v2', '--platform', 'ideal']);
    expect(r.out[0]).toBe('# 01-first-capture-read.yaml: First capture with read() (profile v2, seed 7)');
    expect(r.out[1]!.startsWith('0.000000000 openat(')).toBe(true);
    expect(r.out[2]).toMatch(/^0\.000000000 write\(3, "1", 1\) += 1$/);
    const base = await cli(['run', '01']);
    expect(base.out[2]).toMatch(/^0\.000001000 write\(3, "1", 1\) += 1$/);
  });

  it('--until stops the run there: lesson 01 cut at 1 ms fails with its process still running', async () => {
    const r = await cli(['run', '01', '--until', '1ms']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('--- summary at 0.001000000 s of simulated time ---');
    expect(r.out.at(-1)).toBe(
      'scenarios/01-first-capture-read.yaml: FAIL: process capture, end of run: expected exited, got running (still running at the time limit) (at 1.000 ms)',
    );
    // An explicit --until is no default limit: no warning.
    expect(r.err).toEqual([]);
  });

  it.each([
    [
      ['--until', 'soon'],
      "iio-sim run: --until takes a positive duration like 250us, 10ms or 2s (or ns), not 'soon'",
    ],
    [
      ['--until', '0'],
      "iio-sim run: --until takes a positive duration like 250us, 10ms or 2s (or ns), not '0'",
    ],
    [['--seed=-1'], "iio-sim run: --seed takes an integer from 0 to 4294967295, not '-1'"],
    [['--seed', '4294967296'], "iio-sim run: --seed takes an integer from 0 to 4294967295, not '4294967296'"],
    [['--abi', 'v3'], "iio-sim run: --abi takes mainline or v2, not 'v3'"],
    [['--platform', 'pc'], "iio-sim run: --platform takes zcu102, pluto, laptop, ideal, not 'pc'"],
  ])('bad %j is one line, exit 2', async (args, message) => {
    expect(await cli(['run', '01', ...args])).toEqual({ code: 2, out: [], err: [message] });
  });
});

describe('the default time limit', () => {
  it('a run that ends at the default until with processes running warns on stderr', async () => {
    const file = scenario(SLEEPER);
    const r = await cli(['run', '-q', file]);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      `iio-sim run: warning: ${file} stopped at the default limit of 10 s of simulated time with 1 process still running (sleeper[100]): give the scenario an until: or pass --until`,
    ]);
  });

  it('no warning with the scenario own until:, nor when every process ended', async () => {
    const file = scenario(`until: 1s\n${SLEEPER}`);
    const r = await cli(['run', '-q', file]);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([]);
    expect((await cli(['run', '-q', '01'])).err).toEqual([]);
  });
});

describe('stdio: inherit', () => {
  it('writes to fds 1 and 2 go to the run stdout and stderr, line by line; the trace shows them', async () => {
    const file = scenario(`
processes:
  - name: talker
    stdio: inherit
    steps:
      - write: { fd: 1, data: "hello, " }
        expect: { ret: 7 }
      - write: { fd: 1, data: "world\\nsecond" }
      - write: { fd: 2, data: "oops\\n" }
      - read: { fd: 0, len: 16 }
        expect: { ret: 0 }
      - lseek: { fd: 1, offset: 0, whence: SEEK_SET }
        expect: { errno: ESPIPE }
  - name: quiet
    steps:
      - write: { fd: 1, data: "into /dev/null\\n" }
        expect: { ret: 15 }
`);
    const r = await cli(['run', file]);
    expect(r.code).toBe(0);
    expect(r.out.slice(0, 3)).toEqual([
      expect.stringMatching(/^# s\d+\.yaml \(profile mainline, seed 1\)$/),
      'hello, world',
      'second',
    ]);
    expect(r.err).toEqual(['oops']);
    expect(r.out).toContain('[pid   100] 0.000000000 write(1, "hello, ", 7) = 7');
    expect(r.out).toContain('[pid   100] 0.000004018 lseek(1, 0, SEEK_SET) = -1 ESPIPE (Illegal seek)');
    expect(r.out).toContain('contract check: no findings');
    expect(r.out.filter((l) => l.includes('into /dev/null'))).toHaveLength(1);
    const quiet = await cli(['run', '-q', file]);
    expect(quiet.out).toEqual(['hello, world', 'second', `${file}: PASS`]);
  });
});

describe('the progress line', () => {
  it('shows on a terminal after the wall-time threshold and is cleared at the end; never off a terminal', async () => {
    const lines: (string | null)[] = [];
    const run = async (tty: boolean) => {
      const sim = createSimulator();
      const stop = showProgress(
        sim,
        'x.yaml',
        { out: () => {}, err: () => {}, errIsTty: tty, progress: (l) => lines.push(l) },
        0,
      );
      sim.spawn('p', async (sys) => {
        for (let i = 0; i < 20000; i++) await sys.getpid();
        return 0;
      });
      await sim.run();
      stop();
    };
    await run(false);
    expect(lines).toEqual([]);
    await run(true);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[0]).toMatch(/^x\.yaml: \d+\.\d{3} ms simulated, [\d,]+ syscalls, \d+\.\d s$/);
    expect(lines.at(-1)).toBe(null);
  });
});

describe('the summaries of lessons 01 and 02', () => {
  it('lesson 01: the two fileio blocks are named as the device’s, not as a leak', async () => {
    const r = await cli(['run', '01']);
    expect(r.out).toContain(
      'kernel objects owned by the devices (freed with their buffers, not leaked): iio_dma_block(fileio) 2',
    );
    expect(r.out.some((l) => l.startsWith('kernel objects still alive'))).toBe(false);
  });

  it('lesson 02: the 7 scans lost between the enable and the first ENQUEUE are said to be lost at the start', async () => {
    const r = await cli(['run', '02']);
    expect(r.out).toContain('0.000057265 [hw] sim-adc-dma: overflow of 7 scans (56 bytes)');
    expect(r.out).toContain(
      'sim-adc: 524288 bytes in 16 blocks, 7.985 MB/s; lost 7 scans (all at the start: converted or due between the buffer enable and the first queued block), 280 bytes cut by disable',
    );
  });
});
