/**
 * The limits of scenario files and runs (docs/limits.md) through the CLI: each class of hostile input gets
 * one located line and exit 2 (or the kernel's errno, or a FAIL line with exit 1), never a stack trace, a
 * hang or a crash of a process inside the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { DEFAULT_RUN_LIMITS, runScenario, scenarioSimulator } from '../../src/scenario/run.ts';

async function cli(args: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

let dir = '';
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iio-sim-limits-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(text: string): string {
  n += 1;
  const f = join(dir, `l${n}.yaml`);
  writeFileSync(f, text);
  return f;
}

const P = 'processes:\n  - name: p\n    steps:\n';
const MEMFD =
  '      - memfd_create: {name: m, as: m}\n      - ftruncate: {fd: m, length: 4096}\n      - mmap: {fd: m, length: 4096, as: mm}\n';

describe('loops that spend no virtual time are stopped at the step, exit 2', () => {
  it.each([
    [
      'fill',
      `${P}${MEMFD}      - loop:\n          count: 10000000\n          steps:\n            - loop: {count: 10000000, steps: [{fill: {map: mm, data: abc}}]}\n`,
      '10:47',
      'processes.0.steps.3.loop.steps.0.loop.steps.0',
      'steps[3] loop#0.steps[0] loop#9998.steps[0] fill',
      3000,
    ],
    [
      'compute: 0',
      `${P}      - loop: {count: 10000000, steps: [{compute: 0}]}\n`,
      '4:41',
      'processes.0.steps.0.loop.steps.0',
      'steps[0] loop#9999.steps[0] compute',
      0,
    ],
    [
      'a failing close on the ideal platform',
      `platform: ideal\n${P}      - loop: {count: 10000000, steps: [{close: 99, expect: {errno: EBADF}}]}\n`,
      '5:41',
      'processes.0.steps.0.loop.steps.0',
      'steps[0] loop#9999.steps[0] close',
      0,
    ],
  ])('%s', async (_what, text, at, path, where, t) => {
    const f = file(text);
    const r = await cli(['run', '--quiet', f]);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `${f}:${at}: ${path}: process p started 10000 steps without virtual time advancing (at t=${t} ns, in ${where}): a loop whose steps take no virtual time`,
    ]);
  });

  it('the total of steps per run stops a loop that does spend time; --max-steps sets it', async () => {
    const f = file(`${P}      - loop: {count: 10000000, steps: [{sleep: 1ns}]}\n`);
    const r = await cli(['run', '--quiet', '--max-steps', '500', f]);
    expect(r).toEqual({
      code: 2,
      out: [],
      err: [
        `${f}:4:41: processes.0.steps.0.loop.steps.0: the run started 500 steps (process p, in steps[0] loop#499.steps[0] sleep, at t=10479499 ns): the limit of steps per run (iio-sim run --max-steps N raises it)`,
      ],
    });
    expect(DEFAULT_RUN_LIMITS).toEqual({ stepsWithoutTime: 10_000, steps: 250_000, events: 10_000_000 });
  });

  it('--max-steps takes a positive integer', async () => {
    const r = await cli(['run', '--max-steps', '0', file(`${P}      - sleep: 1ms\n`)]);
    expect(r).toEqual({ code: 2, out: [], err: ['iio-sim: --max-steps takes a positive integer'] });
  });

  it('the events limit stops a run whose processes wait while the devices stream', async () => {
    const s = loadScenario(`until: 100s\n${P}      - sleep: 50s\n`, 'x.yaml');
    if (!s.ok) throw new Error('test bug');
    const out = await runScenario(s.scenario, scenarioSimulator(s.scenario), {
      ...DEFAULT_RUN_LIMITS,
      events: 0,
    });
    expect(out.stopped).toEqual({
      process: '-',
      step: 'run',
      path: ['until'],
      message: 'the run took 0 events from the clock: the limit of events per run',
      time: 0,
    });
  });
});

describe('times: at most 10^15 ns, C ints where the kernel takes an int', () => {
  it.each([
    [
      'sleep',
      `${P}      - sleep: 1ms\n      - sleep: 9007199254740991\n`,
      '5:16',
      'processes.0.steps.1.sleep',
      'expected a duration of at most 1000000s (10^15 ns)',
    ],
    [
      'compute',
      `${P}      - compute: 1000001s\n`,
      '4:18',
      'processes.0.steps.0.compute',
      'expected a duration of at most 1000000s (10^15 ns)',
    ],
    [
      'startAt',
      `processes:\n  - name: p\n    startAt: 9007199254740991\n    steps: [{sleep: 1ms}]\n`,
      '3:14',
      'processes.0.startAt',
      'expected a duration of at most 1000000s (10^15 ns)',
    ],
    [
      'until',
      `until: 2000000s\n${P}      - sleep: 1ms\n`,
      '1:8',
      'until',
      'expected a duration of at most 1000000s (10^15 ns)',
    ],
    [
      'poll timeout (ms, a C int)',
      `${P}      - open: {path: /dev/null, as: n}\n      - poll: {fds: [{fd: n, events: POLLIN}], timeout: 9007199254740991}\n`,
      '5:57',
      'processes.0.steps.1.poll.timeout',
      'expected milliseconds (a C int; negative: no timeout) or a duration of at most 1000000s',
    ],
    [
      'fault time',
      `faults: [{at: 9007199254740991, kill: {process: p}}]\n${P}      - sleep: 1ms\n`,
      '1:15',
      'faults.0.at',
      'expected a duration of at most 1000000s (10^15 ns)',
    ],
    [
      'platform cost',
      `platform: {syscallNs: 9007199254740991}\n${P}      - sleep: 1ms\n`,
      '1:23',
      'platform.syscallNs',
      'Too big: expected number to be <=1000000000',
    ],
  ])('%s beyond its limit: one located line, exit 2', async (_what, text, at, path, msg) => {
    const f = file(text);
    const r = await cli(['validate', f]);
    expect(r).toEqual({ code: 2, out: [], err: [`${f}:${at}: ${path}: ${msg}`] });
  });

  it('at the limit, a time past `until` simply never comes: the process is still running', async () => {
    const f = file(`${P}      - sleep: 1ms\n      - sleep: 1000000s\n      - compute: 1000000s\n`);
    const r = await cli(['run', '--quiet', f]);
    expect(r).toEqual({
      code: 1,
      out: [
        `${f}: FAIL: process p, end of run: expected exited, got running (still running at the time limit) (at 10000.000 ms)`,
      ],
      err: [
        `iio-sim run: warning: ${f} stopped at the default limit of 10 s of simulated time with 1 process still running (p[100]): give the scenario an until: or pass --until`,
      ],
    });
  });

  it('startAt and until at 10^15 ns run (nothing overflows)', async () => {
    const f = file(
      `until: 1000000s\nexpect: {processes: {p: running}}\nprocesses:\n  - name: p\n    startAt: 1000000s\n    steps: [{sleep: 1000000s}, {compute: 1000000s}]\n`,
    );
    const r = await cli(['run', '--quiet', f]);
    expect(r).toEqual({ code: 0, out: [`${f}: PASS`], err: [] });
  });
});

describe('names are looked up as own properties only (never toString, constructor...)', () => {
  it.each([
    [
      'open flags',
      `${P}      - open: {path: /dev/null, flags: toString, as: n}\n`,
      '4:40',
      'processes.0.steps.0.open.flags',
      "unknown flag 'toString'",
    ],
    [
      'poll events',
      `${P}      - open: {path: /dev/null, as: n}\n      - poll: {fds: [{fd: n, events: constructor}], timeout: 0}\n`,
      '5:38',
      'processes.0.steps.1.poll.fds.0.events',
      "unknown flag 'constructor'",
    ],
    [
      'revents',
      `${P}      - open: {path: /dev/null, as: n}\n      - poll: {fds: [{fd: n, events: POLLIN}], timeout: 0}\n        expect: {revents: {n: hasOwnProperty}}\n`,
      '6:31',
      'processes.0.steps.1.expect.revents.n',
      "unknown flag 'hasOwnProperty'",
    ],
    [
      'struct value flags',
      `${P}      - open: {path: /dev/null, as: n}\n      - ioctl: {fd: n, request: DMA_BUF_IOCTL_SYNC, arg: {struct: dma_buf_sync, value: {flags: valueOf}}}\n`,
      '5:96',
      'processes.0.steps.1.ioctl.arg.value.flags',
      "unknown name 'valueOf': no earlier step defines it (with as:, out: or into:)",
    ],
    [
      'errno',
      `${P}      - close: 99\n        expect: {errno: ECONSTRUCTOR}\n`,
      '5:25',
      'processes.0.steps.0.expect.errno',
      "unknown errno 'ECONSTRUCTOR'",
    ],
  ])('%s', async (_what, text, at, path, msg) => {
    const f = file(text);
    const r = await cli(['validate', f]);
    expect(r).toEqual({ code: 2, out: [], err: [`${f}:${at}: ${path}: ${msg}`] });
  });

  it('a struct named toString', async () => {
    const f = file(
      `${P}      - open: {path: /dev/null, as: n}\n      - ioctl: {fd: n, request: 1, arg: {struct: toString}}\n`,
    );
    const r = await cli(['validate', f]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(
      new RegExp(
        `^${f}:5:50: processes\\.0\\.steps\\.1\\.ioctl\\.arg\\.struct: unknown struct 'toString'; known: dma_buf_sync, `,
      ),
    );
  });

  it('a process named toString is checked against its expected outcome', async () => {
    const f = file(
      `expect: {processes: {valueOf: exited}}\nprocesses:\n  - name: toString\n    steps: [{open: {path: /nonexistent}, expect: any}, {sleep: 20s}]\n  - name: valueOf\n    steps: [{sleep: 1ms}]\n`,
    );
    const r = await cli(['run', '--quiet', f]);
    expect(r).toEqual({
      code: 1,
      out: [
        `${f}: FAIL: process toString, end of run: expected exited, got running (still running at the time limit) (at 10000.000 ms)`,
      ],
      err: [
        `iio-sim run: warning: ${f} stopped at the default limit of 10 s of simulated time with 1 process still running (toString[100]): give the scenario an until: or pass --until`,
      ],
    });
  });
});

describe('samples tables', () => {
  it.each([
    [
      'more rows than channels',
      '[voltage0]',
      '[[1, 2], [3, 4]]',
      '7:81',
      'table',
      'a table has one row per channel: 1 channel(s) but 2 row(s)',
    ],
    [
      'fewer rows than channels',
      '[voltage0, voltage1]',
      '[[1, 2]]',
      '7:91',
      'table',
      'a table has one row per channel: 2 channel(s) but 1 row(s)',
    ],
  ])('%s: located at the table', async (_what, channels, table, at, where, msg) => {
    const f = file(
      `${P}      - open: {path: /dev/null, as: n}\n      - read: {fd: n, len: 4, into: b}\n      - check: {in: b}\n        expect: {data: {samples: {device: sim-adc, channels: ${channels}, table: ${table}}}}\n`,
    );
    const r = await cli(['validate', f]);
    expect(r).toEqual({
      code: 2,
      out: [],
      err: [`${f}:${at}: processes.0.steps.2.expect.data.samples.${where}: ${msg}`],
    });
  });
});

describe('signals', () => {
  it.each([0, -3, 1e9])('a fault kill with signal %d is refused', async (sig) => {
    const f = file(`faults: [{at: 1ms, kill: {process: p, signal: ${sig}}}]\n${P}      - sleep: 10ms\n`);
    const r = await cli(['validate', f]);
    expect(r).toEqual({
      code: 2,
      out: [],
      err: [`${f}:1:47: faults.0.kill.signal: expected a signal from 1 to 64`],
    });
  });

  it('the kill step passes any C int to kill(2): 0 probes, 99 and -3 get -EINVAL', async () => {
    const f = file(
      'processes:\n  - name: a\n    steps: [{sleep: 10ms}]\n  - name: b\n    steps:\n      - kill: {process: a, signal: 0}\n      - kill: {process: a, signal: 99}\n        expect: {errno: EINVAL}\n      - kill: {process: a, signal: -3}\n        expect: {errno: EINVAL}\n',
    );
    const r = await cli(['run', '--quiet', f]);
    expect(r).toEqual({ code: 0, out: [`${f}: PASS`], err: [] });
  });
});

describe('control characters from the scenario are escaped in the report', () => {
  it('a label cannot forge a PASS line', async () => {
    const f = file(
      `${P}      - open: {path: /nonexistent}\n        label: "x\\n${dir}/forged.yaml: PASS\\e[2K"\n`,
    );
    const r = await cli(['run', '--quiet', f]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${f}: FAIL: process p, steps[0] open (x\\n${dir}/forged.yaml: PASS\\u001b[2K): expected success (>= 0), got -ENOENT (at 0.001 ms)`,
    ]);
  });

  it('titles, paths and names in the trace stay on their line', async () => {
    const f = file(
      `title: "T\\ritle"\n${P}      - open: {path: "/dev/nu\\nll\\e[2J"}\n        expect: any\n      - memfd_create: {name: "a\\u009bb", as: m}\n      - close: m\n`,
    );
    const r = await cli(['run', '--no-check', f]);
    expect(r.code).toBe(0);
    expect(r.out.slice(0, 4)).toEqual([
      `# ${f.split('/').pop()}: T\\ritle (profile mainline, seed 1)`,
      '0.000000000 openat(AT_FDCWD, "/dev/nu\\nll\\u001b[2J", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '0.000001000 memfd_create("a\\u009bb", 0)      = 3',
      '0.000002000 close(3)                    = 0',
    ]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not be printed
    for (const l of r.out) expect(l).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});
