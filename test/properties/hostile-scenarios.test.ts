/**
 * Hostile scenario files, generated: valid scenarios with values at and beyond every limit put in random
 * places (huge, negative, fractional and non-finite numbers, numeric-looking strings, inherited property
 * names, control characters, deep nesting of loops, wrong types), and documents of random keys and values.
 * Each goes through `iio-sim validate` and `iio-sim run` in process (the CLI's entry function with captured
 * output), which must answer 0, 1 or 2; on 2 one located line per problem; never a stack trace, a
 * JavaScript error's text, a control character or a crashed process; and in bounded time.
 * FC_SEED and FC_RUNS widen or reproduce it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli.ts';
import { ACTION_TABLE } from '../../src/scenario/actions/table.ts';

const SEED = Number(process.env.FC_SEED ?? 20261207);
const RUNS = Number(process.env.FC_RUNS ?? 150);

let dir = '';
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iio-sim-hostile-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Numbers at and beyond the limits of docs/limits.md. */
const numbers = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  0.5,
  -3,
  63,
  64,
  65,
  255,
  256,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  1 << 26,
  (1 << 26) + 1,
  1 << 30,
  10_000_000,
  10_000_001,
  1e15,
  1e15 + 1,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  1e300,
  -1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
);

/** Strings that look like numbers, durations, names of the prototype, control sequences, or real names. */
const strings = fc.constantFrom(
  '',
  'toString',
  'constructor',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'NaN',
  '-1',
  '1e999',
  '0x100000000',
  '9007199254740993',
  '1000001s',
  '1000000s',
  '0ns',
  '1.5ms',
  '99999999999999999999ns',
  'x\ny',
  '\u001b[2J\r',
  '\u009b31m',
  'p: PASS',
  'a'.repeat(300),
  'POLLIN',
  'O_RDWR|O_NONBLOCK',
  'SIGKILL',
  'SIGNOPE',
  'ENOENT',
  'EINVAL',
  '$x',
  'n',
  'mm',
  'sim-adc',
  'iio:device0',
  '/dev/null',
  '/dev/iio:device0',
  '/sys/bus/iio/devices/iio:device0/buffer0/enable',
  'dma_buf_sync',
  'DMA_BUF_IOCTL_SYNC',
  'any',
  'fd',
);

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: numbers },
  { weight: 4, arbitrary: strings },
  fc.boolean(),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
);

/** Keys a step's value or a scenario may have, and some it may not. */
const KEYS = [
  'path',
  'flags',
  'as',
  'fd',
  'len',
  'into',
  'data',
  'offset',
  'whence',
  'cmd',
  'arg',
  'request',
  'length',
  'prot',
  'map',
  'fds',
  'events',
  'timeout',
  'process',
  'signal',
  'name',
  'device',
  'channels',
  'buffer',
  'size',
  'dmabuf',
  'bytes_used',
  'phase',
  'dir',
  'in',
  'count',
  'steps',
  'var',
  'on',
  'index',
  'write',
  'restart',
  'to',
  'hex',
  'fill',
  'struct',
  'value',
  'out',
  'int',
  'string',
  'unmapped',
  'samples',
  'table',
  'toString',
  'valueOf',
  'hasOwnProperty',
];
const key = fc.constantFrom(...KEYS);

/** Any value: leaves, lists and mappings of them, a few levels deep. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { maxDepth: 3, depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: leaf },
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v;

const ACTIONS = ACTION_TABLE.map((a) => a.name);

/** A step: an action (or an unknown one) with a value of random keys, maybe a label and an expectation. */
const plainStep = fc
  .record({
    action: fc.constantFrom(...ACTIONS, 'nope', 'toString'),
    arg: fc.oneof(value, fc.dictionary(key, value, { maxKeys: 5 })),
    label: fc.option(strings, { nil: undefined }),
    expect: fc.option(
      fc.oneof(
        value,
        fc.dictionary(fc.constantFrom('ret', 'errno', 'revents', 'data', 'minNs', 'maxNs'), value, {
          maxKeys: 3,
        }),
      ),
      { nil: undefined },
    ),
  })
  .map(({ action, arg, label, expect }) => ({
    [action]: arg,
    ...(label === undefined ? {} : { label }),
    ...(expect === undefined ? {} : { expect }),
  }));

/** Steps, with loops of hostile counts nested a few levels deep. */
const step: fc.Arbitrary<unknown> = fc.letrec<{ step: unknown }>((tie) => ({
  step: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    { weight: 3, arbitrary: plainStep },
    fc
      .record({
        count: fc.oneof(numbers, fc.integer({ min: 1, max: 5 })),
        steps: fc.array(tie('step'), { minLength: 1, maxLength: 3 }),
      })
      .map((loop) => ({ loop })),
  ),
})).step;

/** Valid scenarios to mutate: most mutations still load, so the run is exercised too. */
const BASES: unknown[] = [
  {
    processes: [
      {
        name: 'p',
        steps: [
          { open: { path: '/dev/null', flags: 'O_RDWR', as: 'n' } },
          { write: { fd: 'n', data: 'abc' } },
          {
            poll: { fds: [{ fd: 'n', events: 'POLLIN' }], timeout: 0 },
            expect: { revents: { n: 'POLLIN' } },
          },
          { loop: { count: 3, steps: [{ sleep: '1ms' }, { close: 99, expect: { errno: 'EBADF' } }] } },
          { close: 'n' },
        ],
      },
    ],
  },
  {
    until: '50ms',
    faults: [{ at: '2ms', kill: { process: 'b', signal: 'SIGKILL' } }],
    expect: { processes: { b: 'killed' } },
    processes: [
      {
        name: 'a',
        steps: [
          { memfd_create: { name: 'm', as: 'm' } },
          { ftruncate: { fd: 'm', length: 4096 } },
          { mmap: { fd: 'm', length: 4096, as: 'mm' } },
          {
            loop: {
              count: 4,
              steps: [{ fill: { map: 'mm', data: { fill: 7, len: 16 } } }, { compute: '10us' }],
            },
          },
          { check: { in: 'mm', len: 16 }, expect: { data: { fill: 7 } } },
        ],
      },
      { name: 'b', startAt: '1ms', steps: [{ sleep: '1s' }] },
    ],
  },
  {
    platform: 'ideal',
    processes: [
      {
        name: 'p',
        steps: [
          { buffer_fd: { device: 'sim-adc', as: 'buf', nonblock: true } },
          { heap_alloc: { size: 4096, as: 'd' } },
          { attach: { buffer: 'buf', dmabuf: 'd' } },
          { sigaction: { signal: 'SIGUSR1' } },
          {
            foreach: {
              var: 'x',
              in: ['d'],
              steps: [{ sync: { dmabuf: '$x', phase: 'start', dir: 'read' } }],
            },
          },
        ],
      },
    ],
  },
];

/** Sets `v` at the place `path` leads to (indices taken modulo the sizes met), or adds it as key `k`. */
function mutate(doc: unknown, path: readonly number[], k: string, v: unknown): unknown {
  const copy = structuredClone(doc);
  let node = copy as Record<string, unknown> | unknown[];
  for (const i of path) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const at = keys[i % keys.length]!;
    const next = (node as Record<string, unknown>)[at];
    if (next === null || typeof next !== 'object' || i % 7 === 0) {
      (node as Record<string, unknown>)[at] = v;
      return copy;
    }
    node = next as Record<string, unknown>;
  }
  if (Array.isArray(node)) node.push(v);
  else node[k] = v;
  return copy;
}

/** Steps that load but sit at a limit: huge loops without time, the largest times, C int extremes, raw text. */
const EXTREME_STEPS: unknown[] = [
  { loop: { count: 10_000_000, steps: [{ compute: 0 }] } },
  { loop: { count: 10_000_000, steps: [{ loop: { count: 10_000_000, steps: [{ sleep: '1ns' }] } }] } },
  { loop: { count: 10_000_000, steps: [{ close: 99, expect: { errno: 'EBADF' } }] } },
  { sleep: '1000000s' },
  { compute: 1e15 },
  { close: 2 ** 31 - 1, expect: { errno: 'EBADF' } },
  { poll: { fds: [{ fd: 0, events: 'POLLIN' }], timeout: 2 ** 31 - 1 }, expect: 'any' },
  { poll: { fds: [{ fd: 0, events: 'POLLIN' }], timeout: -(2 ** 31) }, expect: 'any' },
  { open: { path: '/dev/\u001b[2J\nx' }, expect: 'any', label: 'x\np: PASS\u009b' },
  { kill: { process: 'p', signal: 2 ** 31 - 1 }, expect: 'any' },
  { sigaction: { signal: -(2 ** 31) }, expect: 'any' },
  { dup2: { fd: 0, to: 2 ** 31 - 1 }, expect: 'any' },
  { lseek: { fd: 0, offset: Number.MAX_SAFE_INTEGER, whence: 'SEEK_END' }, expect: 'any' },
  { ftruncate: { fd: 0, length: -1 }, expect: 'any' },
  { read: { fd: 0, len: 1 << 20 }, expect: 'any' },
  { write: { fd: 0, data: { fill: 255, len: 1 << 20 } }, expect: 'any' },
  { mmap: { fd: 0, length: 1 << 30, offset: Number.MAX_SAFE_INTEGER }, expect: 'any' },
  { ioctl: { fd: 0, request: 2 ** 32 - 1, arg: { int: 2 ** 32 - 1 } }, expect: 'any' },
  { memfd_create: { name: 'a\nb'.repeat(100), flags: 2 ** 32 - 1 }, expect: 'any' },
  { fcntl: { fd: 0, cmd: 2 ** 31 - 1, arg: 2 ** 32 - 1 }, expect: 'any' },
];

/** A valid scenario with one extreme step put somewhere in its first process. */
const extreme = fc
  .tuple(fc.constantFrom(...BASES), fc.nat(), fc.constantFrom(...EXTREME_STEPS))
  .map(([base, at, extra]) => {
    const doc = structuredClone(base) as { processes: { steps: unknown[] }[] };
    const steps = doc.processes[0]!.steps;
    steps.splice(at % (steps.length + 1), 0, extra);
    return doc;
  });

const mutated = fc
  .tuple(fc.constantFrom(...BASES), fc.array(fc.nat(), { maxLength: 8 }), key, fc.oneof(value, step))
  .map(([base, path, k, v]) => mutate(base, path, k, v));

const randomDoc = fc.record(
  {
    title: fc.option(strings, { nil: undefined }),
    until: fc.option(fc.oneof(numbers, strings), { nil: undefined }),
    seed: fc.option(numbers, { nil: undefined }),
    platform: fc.option(
      fc.oneof(
        strings,
        fc.dictionary(fc.constantFrom('syscallNs', 'wakeLatencyNs', 'copyPsPerByte', 'base'), numbers),
      ),
      { nil: undefined },
    ),
    faults: fc.option(
      fc.array(
        fc.record({
          at: fc.oneof(numbers, strings),
          kill: fc.record({ process: strings, signal: fc.oneof(numbers, strings) }),
        }),
        { maxLength: 2 },
      ),
      { nil: undefined },
    ),
    processes: fc.array(
      fc.record({
        name: fc.oneof(strings, fc.constant('p')),
        startAt: fc.option(fc.oneof(numbers, strings), { nil: undefined }),
        steps: fc.array(step, { minLength: 1, maxLength: 4 }),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  },
  { requiredKeys: ['processes'] },
);

/** The document as YAML or JSON text (YAML writes NaN and infinities as .nan and .inf). */
const text = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: extreme },
      { weight: 3, arbitrary: mutated },
      { weight: 2, arbitrary: randomDoc },
    ),
    fc.boolean(),
  )
  .map(([doc, json]) => (json && JSON.stringify(doc) !== undefined ? JSON.stringify(doc) : stringify(doc)));

async function cli(args: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** What no output line may hold: a stack frame, a JavaScript error's text, a raw control character. */
function assertClean(lines: readonly string[]): void {
  for (const l of lines) {
    expect(l).not.toMatch(/^\s+at /m);
    expect(l).not.toMatch(
      /\b(TypeError|RangeError|ReferenceError|SyntaxError|Error):|Cannot read properties|is not a function|call stack|threw:/,
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must never be printed raw
    expect(l).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  }
}

describe('hostile scenario files', () => {
  it(`${RUNS} generated documents: validate and run answer 0, 1 or 2 in one-line form`, async () => {
    const codes = { refused: 0, pass: 0, fail: 0, stopped: 0 };
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        n += 1;
        const f = join(dir, `h${n}.yaml`);
        writeFileSync(f, t);
        const located = new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: \\S`);
        const v = await cli(['validate', f]);
        expect([0, 2]).toContain(v.code);
        assertClean([...v.out, ...v.err]);
        if (v.code === 2) {
          codes.refused++;
          expect(v.err.length).toBeGreaterThan(0);
          for (const l of v.err) expect(l).toMatch(located);
          return;
        }
        expect(v.out).toEqual([`${f}: ok`]);
        const r = await cli(['run', '--quiet', '--max-steps', '5000', f]);
        expect([0, 1, 2]).toContain(r.code);
        assertClean([...r.out, ...r.err]);
        codes[(['pass', 'fail', 'stopped'] as const)[r.code]!]++;
        if (r.code === 2) {
          expect(r.err).toHaveLength(1);
          expect(r.err[0]).toMatch(located);
        } else if (r.code === 1) {
          expect(r.out.length).toBeGreaterThan(0);
          for (const l of r.out) expect(l.startsWith(`${f}: FAIL: process `)).toBe(true);
        } else expect(r.out).toEqual([`${f}: PASS`]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The mutations of valid scenarios must reach the run, not only the loader.
    expect(codes.pass + codes.fail + codes.stopped).toBeGreaterThan(RUNS / 5);
  });

  it('nesting far beyond the limit (loops in loops, lists in lists) is one located line', async () => {
    const f = join(dir, 'deep.yaml');
    writeFileSync(
      f,
      `processes: [{name: p, steps: [${'{loop: {count: 2, steps: ['.repeat(2000)}{sleep: 1ms}${']}}'.repeat(2000)}]}]\n`,
    );
    const r = await cli(['validate', f]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(
      new RegExp(`^${f}:1:\\d+: nested deeper than 100 levels of mappings and lists$`),
    );
  });
});
