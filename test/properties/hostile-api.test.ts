/**
 * Hostile input through the process API: every JavaScript value kind (undefined, null, NaN, ±Infinity, -0,
 * fractions, huge and negative integers, BigInt, strings, objects, arrays, symbols, functions) in every argument
 * of every call of the argument table (src/sim/syscall-args.ts). Each call either throws synchronously with a
 * Node-style `ERR_*` code or resolves to a number >= 0 or a known -errno; nothing escapes as an internal
 * TypeError/RangeError, the run never throws, a good call afterwards works, and each case takes bounded time.
 * FC_SEED and FC_RUNS reproduce or widen the campaign.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createSimulator, type Sys } from '../../src/index.ts';
import { type ArgKind, SYSCALL_ARGS, type SysCallName } from '../../src/sim/syscall-args.ts';
import { errnoName, MAP_ANONYMOUS, MAP_PRIVATE, O_NONBLOCK, O_RDWR } from '../../src/uapi/index.ts';

const SEED = Number(process.env.FC_SEED ?? 20261207);
const RUNS = Number(process.env.FC_RUNS ?? 250);

/** `pause` always sleeps until a signal: it takes no argument to be hostile with. */
const CALLS = (Object.keys(SYSCALL_ARGS) as SysCallName[]).filter((n) => n !== 'pause');

/** Stands for the address of an 8 KiB buffer of the process (resolved when the program runs). */
const BUF = Symbol('BUF');

const HOSTILE: readonly unknown[] = [
  undefined,
  null,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0.5,
  1.9,
  -1.5,
  -1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 32 + 3,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64,
  -(2 ** 63),
  -(2 ** 64),
  1e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  3n,
  -1n,
  2n ** 64n,
  '3',
  '',
  'abc',
  '/dev/null',
  '\0',
  {},
  [],
  [1],
  { restart: 1 },
  { fd: 0, events: 1 },
  [{ fd: 1.5, events: 1 }],
  [{ fd: 0, events: 2n }],
  Symbol('s'),
  () => 0,
  true,
  new Uint8Array(2),
];

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.bigInt() },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

/** A value a program would plausibly pass for an argument of `kind`. */
function plausible(kind: ArgKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'int':
    case 'fd':
      return fc.integer({ min: -1, max: 6 });
    case 'bits':
      return fc.constantFrom(0, 1, 2, 3, O_RDWR | O_NONBLOCK, MAP_PRIVATE | MAP_ANONYMOUS, 0xc0046992);
    case 'long':
    case 'ptr':
      return fc.constantFrom(0, BUF);
    case 'size':
      return fc.integer({ min: 0, max: 64 });
    case 'off':
      return fc.integer({ min: -1, max: 8192 });
    case 'nfds':
      return fc.integer({ min: 0, max: 2 });
    case 'ns':
      return fc.integer({ min: 0, max: 1_000_000 });
    case 'path':
      return fc.constantFrom(
        '/dev/null',
        '/dev/iio:device0',
        '/sys/bus/iio/devices/iio:device0/name',
        '/nope',
      );
    case 'name':
      return fc.constantFrom('m', BUF);
    case 'handler':
      return fc.constantFrom(null, { restart: true }, { restart: false });
    case 'pollfds':
      return fc.constantFrom([{ fd: 3, events: 1 }], []);
  }
}

interface Call {
  readonly name: SysCallName;
  readonly args: readonly unknown[];
}

/** One call with each argument hostile or plausible (a coin per argument), sometimes one argument short. */
const call: fc.Arbitrary<Call> = fc.constantFrom(...CALLS).chain((name) =>
  fc
    .tuple(...SYSCALL_ARGS[name].map((spec) => fc.oneof(hostile, plausible(spec.kind))), fc.boolean())
    .map(([...rest]) => {
      const short = rest.pop() as boolean;
      const args = short && rest.length > 0 ? rest.slice(0, -1) : rest;
      return { name, args };
    }),
);

/** What one call did: threw (its code and class), resolved, or rejected. */
type Outcome = { threw: unknown; cls: string } | { ret: unknown } | { rejected: unknown };

function isErrno(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && (v >= 0 || errnoName(-v) !== undefined);
}

async function perform(sys: Sys, c: Call, buf: number): Promise<Outcome> {
  const args = c.args.map((a) => (a === BUF ? buf : a));
  let p: unknown;
  try {
    p = (sys[c.name] as (...a: unknown[]) => unknown)(...args);
  } catch (e) {
    return { threw: (e as { code?: unknown }).code, cls: (e as Error).constructor.name };
  }
  try {
    const ret = await p;
    return { ret: c.name === 'compute' ? 0 : ret };
  } catch (e) {
    return { rejected: e };
  }
}

/** Runs `calls` in a fresh simulator with a few files open; returns the outcomes and the after-check. */
async function runHostile(calls: readonly Call[]) {
  const sim = createSimulator({ platform: 'ideal' });
  const outcomes: Outcome[] = [];
  let good: number | null = null;
  sim.spawn(
    'hostile',
    async (sys) => {
      await sys.open('/dev/null', O_RDWR); // 3
      await sys.memfd_create('m', 0); // 4
      await sys.open('/dev/iio:device0', O_RDWR); // 5
      const buf = sys.mem.alloc(8192);
      for (const c of calls) outcomes.push(await perform(sys, c, buf));
      good = await sys.close(await sys.open('/dev/null', O_RDWR));
    },
    { stdio: true },
  );
  const first = await sim.run({ until: 60e9 });
  // Whatever became of the hostile process (blocked for good, killed by its own kill()), a new one works.
  sim.spawn('after', async (sys) => sys.close(await sys.open('/dev/null', O_RDWR)));
  const second = await sim.run({ until: sim.now + 60e9 });
  return { outcomes, good, first: first.processes[0]!, after: second.processes[1]! };
}

describe('hostile values in every argument of every call', () => {
  test(`${RUNS} programs: an ERR_* throw or a number >= 0 / -errno; the simulator stays usable`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 4 }), async (calls) => {
        const r = await runHostile(calls);
        for (const o of r.outcomes) {
          if ('threw' in o)
            expect(o.threw, JSON.stringify(o)).toMatch(/^ERR_(INVALID_ARG_TYPE|OUT_OF_RANGE)$/);
          else if ('ret' in o) expect(isErrno(o.ret), String(o.ret)).toBe(true);
          else expect.fail(`a call rejected instead of throwing: ${String(o.rejected)}`);
        }
        expect(['exited', 'blocked', 'killed', 'running']).toContain(r.first.status);
        if (r.first.status === 'exited') expect(r.good).toBe(0);
        expect(r.after.status).toBe('exited');
        expect(r.after.value).toBe(0);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test('the table names every argument of every call once, with a known kind', () => {
    for (const [name, specs] of Object.entries(SYSCALL_ARGS)) {
      const names = specs.map((s) => s.name);
      expect(new Set(names).size, name).toBe(names.length);
    }
  });
});
