/**
 * A syscall fuzzer: arbitrary calls, with random and invalid fds, requests, struct bytes, flags, sizes and
 * addresses, thrown at a simulated system from driven processes. The kernel must answer each with a value
 * or an errno: no exception may escape, and the global invariants must hold after every call and once
 * every process has exited. Programs are fast-check values, so a failure shrinks to a short program.
 */
import fc from 'fast-check';
import type { Sys } from '../sim/process.ts';
import type { Simulator } from '../sim/simulator.ts';
import { errnoName } from '../uapi/errno.ts';
import { ABI_PROFILES, type AbiProfile, IOCTLS } from '../uapi/ioctls.ts';
import { writeAttr } from '../user/iio.ts';
import { type CallOptions, type DrivenProcess, Driver } from './driver.ts';
import { checkQuiescentInvariants, checkSystemInvariants } from './invariants.ts';

/** A user pointer argument: bytes placed in fresh memory, or an address that is not (all) mapped. */
export type FuzzPointer =
  | { readonly bytes: readonly number[] }
  | { readonly addr: 'null' | 'unmapped' | 'kernel' | 'misaligned' };

/** An ioctl argument: a pointer or a plain integer. */
export type FuzzArg = FuzzPointer | { readonly int: number };

/** One fuzzed syscall. */
export type FuzzCall =
  | { readonly sys: 'open'; readonly path: string; readonly flags: number }
  | { readonly sys: 'close' | 'dup'; readonly fd: number }
  | { readonly sys: 'dup2'; readonly fd: number; readonly to: number }
  | { readonly sys: 'dup3'; readonly fd: number; readonly to: number; readonly flags: number }
  | { readonly sys: 'read' | 'write'; readonly fd: number; readonly buf: FuzzPointer; readonly len: number }
  | {
      readonly sys: 'pread' | 'pwrite';
      readonly fd: number;
      readonly buf: FuzzPointer;
      readonly len: number;
      readonly off: number;
    }
  | { readonly sys: 'lseek'; readonly fd: number; readonly off: number; readonly whence: number }
  | { readonly sys: 'fcntl'; readonly fd: number; readonly cmd: number; readonly arg: number }
  | { readonly sys: 'ioctl'; readonly fd: number; readonly req: number; readonly arg: FuzzArg }
  | {
      readonly sys: 'mmap';
      readonly len: number;
      readonly prot: number;
      readonly flags: number;
      readonly fd: number;
      readonly off: number;
    }
  | { readonly sys: 'munmap'; readonly which: number; readonly len: number }
  | {
      readonly sys: 'poll';
      readonly fds: readonly (readonly [number, number])[];
      readonly ptr: FuzzPointer | null;
      readonly nfds: number;
      readonly timeout: number;
    }
  | { readonly sys: 'memfd_create'; readonly flags: number }
  | { readonly sys: 'ftruncate'; readonly fd: number; readonly len: number }
  | { readonly sys: 'sysfs'; readonly path: string; readonly text: string }
  | { readonly sys: 'advance'; readonly ns: number };

/** Paths the fuzzer opens: every node of the default board plus a few that do not exist. */
export function fuzzPaths(sim: Simulator): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const names = sim.kernel.paths.list(dir);
    if (!names) {
      out.push(dir);
      return;
    }
    for (const n of names) walk(`${dir === '/' ? '' : dir}/${n}`);
  };
  walk('/');
  return [...out, '/dev/iio:device9', '/nonexistent', '/sys/bus/iio/devices/iio:device0/buffer0'];
}

const FD = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: -1, max: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(1023, 1024, 2 ** 31 - 1, -100, 2 ** 32 - 1) },
);

const U32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const SIZE = fc.oneof(
  fc.constantFrom(0, 1, 2, 4, 7, 8, 12, 16, 24, 4095, 4096, 4097, 8192, 16384, 65536),
  fc.constantFrom(0x7ffff000, 0x7ffff001, 2 ** 32 - 1, 2 ** 32, 2 ** 48, 2 ** 53 - 1),
  fc.integer({ min: 0, max: 1 << 20 }),
);

const POINTER: fc.Arbitrary<FuzzPointer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 48 }).map((bytes) => ({ bytes })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('null', 'unmapped', 'kernel', 'misaligned')
      .map((addr) => ({ addr }) as FuzzPointer),
  },
);

/** Little-endian bytes of a struct made of `fields` (u32 and u64 values), so that ioctls see plausible input. */
const STRUCT_BYTES: fc.Arbitrary<FuzzPointer> = fc
  .array(
    fc.oneof(
      fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 4096, 16384, 0x80002, 0xffffffff),
      fc.integer({ min: 0, max: 12 }),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((words) => {
    const bytes: number[] = [];
    for (const w of words) for (let i = 0; i < 4; i++) bytes.push((w >>> (8 * i)) & 0xff);
    return { bytes };
  });

/** Every request number of the ioctl table, both profiles', in table order. */
const KNOWN_REQUESTS = [...new Set(IOCTLS.map((d) => d.request))];

function requests(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...KNOWN_REQUESTS) },
    // the same numbers with a wrong size or direction
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...KNOWN_REQUESTS),
          fc.integer({ min: 0, max: 0x3fff }),
          fc.integer({ min: 0, max: 3 }),
        )
        .map(([r, size, dir]) => ((r & 0xffff) | (size << 16) | (dir << 30)) >>> 0),
    },
    { weight: 1, arbitrary: U32 },
  );
}

/** A kind of call and how often it comes, relative to the others. */
type WeightedCall = fc.WeightedArbitrary<FuzzCall>;

/** open, close, dup, dup2, dup3. */
function fdCalls(path: fc.Arbitrary<string>): WeightedCall[] {
  const flags = fc.oneof(fc.constantFrom(0, 1, 2, 3, 0o4000, 0o2000002, 0o4002, 0o100), U32);
  return [
    { weight: 4, arbitrary: fc.record({ sys: fc.constant('open' as const), path, flags }) },
    { weight: 3, arbitrary: fc.record({ sys: fc.constantFrom('close' as const, 'dup' as const), fd: FD }) },
    { weight: 1, arbitrary: fc.record({ sys: fc.constant('dup2' as const), fd: FD, to: FD }) },
    {
      weight: 1,
      arbitrary: fc.record({
        sys: fc.constant('dup3' as const),
        fd: FD,
        to: FD,
        flags: fc.constantFrom(0, 0o2000000, 1),
      }),
    },
  ];
}

/** read, write, pread, pwrite, lseek, fcntl. */
function ioCalls(): WeightedCall[] {
  return [
    {
      weight: 3,
      arbitrary: fc.record({
        sys: fc.constantFrom('read' as const, 'write' as const),
        fd: FD,
        buf: POINTER,
        len: SIZE,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        sys: fc.constantFrom('pread' as const, 'pwrite' as const),
        fd: FD,
        buf: POINTER,
        len: SIZE,
        off: SIZE,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        sys: fc.constant('lseek' as const),
        fd: FD,
        off: fc.integer({ min: -5000, max: 70000 }),
        whence: fc.integer({ min: -1, max: 6 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        sys: fc.constant('fcntl' as const),
        fd: FD,
        cmd: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom(1024, 1030, 1033, 1034)),
        arg: fc.oneof(fc.integer({ min: 0, max: 12 }), U32),
      }),
    },
  ];
}

/** ioctl: mostly a known request with plausible struct bytes. */
function ioctlCalls(): WeightedCall[] {
  return [
    {
      weight: 12,
      arbitrary: fc.record({
        sys: fc.constant('ioctl' as const),
        fd: FD,
        req: requests(),
        arg: fc.oneof(
          { weight: 4, arbitrary: STRUCT_BYTES },
          { weight: 2, arbitrary: POINTER },
          { weight: 1, arbitrary: fc.integer({ min: -1, max: 12 }).map((int) => ({ int })) },
        ),
      }),
    },
  ];
}

/** mmap, munmap, poll, memfd_create, ftruncate. */
function memoryCalls(): WeightedCall[] {
  return [
    {
      weight: 3,
      arbitrary: fc.record({
        sys: fc.constant('mmap' as const),
        len: SIZE,
        prot: fc.integer({ min: 0, max: 15 }),
        flags: fc.oneof(fc.constantFrom(1, 2, 3, 0x21, 0x22, 0x101, 0), U32),
        fd: FD,
        off: fc.oneof(fc.constantFrom(0, 0, 4096, 1), SIZE),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        sys: fc.constant('munmap' as const),
        which: fc.nat(8),
        len: fc.oneof(fc.constant(0), SIZE),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        sys: fc.constant('poll' as const),
        fds: fc.array(fc.tuple(FD, fc.integer({ min: 0, max: 0xffff })), { maxLength: 4 }),
        ptr: fc.option<FuzzPointer>(POINTER, { freq: 8 }),
        nfds: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(2000)),
        timeout: fc.constantFrom(0, 0, 1, 10, -1),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        sys: fc.constant('memfd_create' as const),
        flags: fc.oneof(fc.constantFrom(0, 1, 2, 3, 8), U32),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        sys: fc.constant('ftruncate' as const),
        fd: FD,
        len: fc.oneof(SIZE, fc.constant(-1)),
      }),
    },
  ];
}

/** sysfs attribute writes, and time passing. */
function boardCalls(paths: readonly string[]): WeightedCall[] {
  return [
    {
      weight: 3,
      arbitrary: fc.record({
        sys: fc.constant('sysfs' as const),
        path: fc.constantFrom(...paths.filter((p) => p.startsWith('/sys'))),
        text: fc.constantFrom('1', '0', '1\n', '2', '4096', '-1', '', 'abc', '99999999999', '16'),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        sys: fc.constant('advance' as const),
        ns: fc.constantFrom(0, 1000, 1_000_000, 50_000_000),
      }),
    },
  ];
}

/** Arbitrary fuzzed calls over `paths`. */
export function fuzzCall(paths: readonly string[]): fc.Arbitrary<FuzzCall> {
  return fc.oneof(
    ...fdCalls(fc.constantFrom(...paths)),
    ...ioCalls(),
    ...ioctlCalls(),
    ...memoryCalls(),
    ...boardCalls(paths),
  );
}

/** The call in strace-like text. */
export function formatFuzzCall(c: FuzzCall): string {
  const ptr = (p: FuzzPointer | null) =>
    p === null ? 'pollfds' : 'bytes' in p ? `[${p.bytes.length} bytes]` : `<${p.addr}>`;
  switch (c.sys) {
    case 'open':
      return `open("${c.path}", 0x${c.flags.toString(16)})`;
    case 'close':
    case 'dup':
      return `${c.sys}(${c.fd})`;
    case 'dup2':
      return `dup2(${c.fd}, ${c.to})`;
    case 'dup3':
      return `dup3(${c.fd}, ${c.to}, 0x${c.flags.toString(16)})`;
    case 'read':
    case 'write':
      return `${c.sys}(${c.fd}, ${ptr(c.buf)}, ${c.len})`;
    case 'pread':
    case 'pwrite':
      return `${c.sys}(${c.fd}, ${ptr(c.buf)}, ${c.len}, ${c.off})`;
    case 'lseek':
      return `lseek(${c.fd}, ${c.off}, ${c.whence})`;
    case 'fcntl':
      return `fcntl(${c.fd}, ${c.cmd}, ${c.arg})`;
    case 'ioctl':
      return `ioctl(${c.fd}, 0x${c.req.toString(16)}, ${'int' in c.arg ? c.arg.int : ptr(c.arg)})`;
    case 'mmap':
      return `mmap(NULL, ${c.len}, ${c.prot}, 0x${c.flags.toString(16)}, ${c.fd}, ${c.off})`;
    case 'munmap':
      return `munmap(mapping #${c.which}, ${c.len})`;
    case 'poll':
      return `poll([${c.fds.map(([fd, ev]) => `{${fd}, 0x${ev.toString(16)}}`).join(', ')}] at ${ptr(c.ptr)}, ${c.nfds}, ${c.timeout})`;
    case 'memfd_create':
      return `memfd_create("fuzz", 0x${c.flags.toString(16)})`;
    case 'ftruncate':
      return `ftruncate(${c.fd}, ${c.len})`;
    case 'sysfs':
      return `write("${c.path}", ${JSON.stringify(c.text)})`;
    case 'advance':
      return `... ${c.ns} ns pass`;
  }
}

/** Above this many bytes, a buffer a fuzzed call needs is the process's one large buffer (see {@link place}). */
const LARGE_BUFFER = 16 * 1024;
/** Largest buffer a fuzzed read gets (its length is cut to this much user memory). */
const MAX_BUFFER = 1 << 20;
/**
 * Where a fuzzed call's buffer is: a special address, or `p`'s bytes in a block of at least `min` bytes. A
 * block larger than {@link LARGE_BUFFER} is the process's argument block grown to {@link MAX_BUFFER} bytes
 * (`sys.mem.scratch`: the same one for every large read, as a C program reuses its read buffer, and a new one
 * once a fuzzed munmap took it away); a fresh 1 MiB per call was most of the syscall fuzzer's time, zeroing
 * memory. Smaller ones are new blocks.
 */
function place(sys: Sys, p: FuzzPointer, min = 0): number {
  if ('addr' in p) {
    switch (p.addr) {
      case 'null':
        return 0;
      case 'unmapped':
        return 0x10000;
      case 'kernel':
        return sys.compat ? 0xfffff000 : 2 ** 47 + 4096;
      case 'misaligned': {
        const a = sys.mem.alloc(4096 * 2);
        return a + 4096 * 2 - 3;
      }
    }
  }
  const size = Math.max(1, min, p.bytes.length);
  const a = size > LARGE_BUFFER ? sys.mem.scratch(MAX_BUFFER) : sys.mem.alloc(size);
  sys.mem.write(a, new Uint8Array(p.bytes));
  return a;
}

/** A size as a program of `sys`'s ABI passes it: a 32-bit program's size_t holds the low 32 bits. */
function sizeT(sys: Sys, n: number): number {
  return sys.compat ? n >>> 0 : n;
}

async function perform(sys: Sys, c: FuzzCall, maps: { addr: number; len: number }[]): Promise<number> {
  switch (c.sys) {
    case 'open':
      return sys.open(c.path, c.flags);
    case 'close':
      return sys.close(c.fd);
    case 'dup':
      return sys.dup(c.fd);
    case 'dup2':
      return sys.dup2(c.fd, c.to);
    case 'dup3':
      return sys.dup3(c.fd, c.to, c.flags);
    case 'read':
      return sys.read(c.fd, place(sys, c.buf, Math.min(sizeT(sys, c.len), MAX_BUFFER)), sizeT(sys, c.len));
    case 'write':
      return sys.write(c.fd, place(sys, c.buf), sizeT(sys, c.len));
    case 'pread':
      return sys.pread(
        c.fd,
        place(sys, c.buf, Math.min(sizeT(sys, c.len), MAX_BUFFER)),
        sizeT(sys, c.len),
        c.off,
      );
    case 'pwrite':
      return sys.pwrite(c.fd, place(sys, c.buf), sizeT(sys, c.len), c.off);
    case 'lseek':
      return sys.lseek(c.fd, c.off, c.whence);
    case 'fcntl':
      return sys.fcntl(c.fd, c.cmd, c.arg);
    case 'ioctl':
      return sys.ioctl(c.fd, c.req, 'int' in c.arg ? c.arg.int : place(sys, c.arg, 64));
    case 'mmap': {
      const ret = await sys.mmap(0, sizeT(sys, c.len), c.prot, c.flags, c.fd, c.off);
      if (ret >= 0) maps.push({ addr: ret, len: sizeT(sys, c.len) });
      return ret;
    }
    case 'munmap': {
      const m = maps.length === 0 ? { addr: 0x10000, len: 4096 } : maps.splice(c.which % maps.length, 1)[0]!;
      return sys.munmap(m.addr, sizeT(sys, c.len) || m.len);
    }
    case 'poll': {
      if (c.ptr) return sys.poll(place(sys, c.ptr), c.nfds, c.timeout);
      const entries = c.fds.map(([fd, events]) => ({ fd, events }));
      return sys.pollfds(entries, c.timeout);
    }
    case 'memfd_create':
      return sys.memfd_create('fuzz', c.flags);
    case 'ftruncate':
      return sys.ftruncate(c.fd, c.len);
    case 'sysfs':
      return writeAttr(sys, c.path, c.text);
    case 'advance':
      return 0;
  }
}

/** What went wrong in a fuzzed program. */
export class FuzzFailure extends Error {
  /** The program's calls with their results, up to the failure. */
  readonly log: readonly string[];
  constructor(message: string, log: readonly string[]) {
    super(`${message}\n${log.map((l, i) => `  ${String(i + 1).padStart(3)}. ${l}`).join('\n')}`);
    this.name = 'FuzzFailure';
    this.log = [...log];
  }
}

/** Options of a fuzzed run. */
export interface FuzzOptions {
  readonly abi?: AbiProfile;
  readonly compat?: boolean;
  /** Called with each new simulator before the program runs. */
  readonly prepare?: (sim: Simulator) => void;
}

const CALL: CallOptions = { interruptAfterNs: 1_000_000, limitNs: 100_000_000 };

/**
 * Runs one fuzzed program in a fresh system; throws {@link FuzzFailure} on an exception or a broken
 * invariant. A process that dies (a fatal signal, the XCL-5 oops, a call that never returns) is replaced.
 * Returns the number of syscalls the program made (the driver's own pause and sigaction calls left out).
 */
export async function runFuzzProgram(calls: readonly FuzzCall[], options: FuzzOptions = {}): Promise<number> {
  const driver = new Driver({ abi: options.abi ?? 'mainline' });
  options.prepare?.(driver.sim);
  // The calls and their results, formatted only for a failure report.
  const log: LogEntry[] = [];
  let proc: DrivenProcess = await driver.spawn('fuzz', options.compat ?? false);
  let maps: { addr: number; len: number }[] = [];
  for (const c of calls) {
    try {
      if (c.sys === 'advance') {
        await driver.advance(c.ns);
        log.push(c);
      } else {
        if (!driver.alive(proc)) {
          proc = await driver.spawn('fuzz', options.compat ?? false);
          maps = [];
          log.push('(new process)');
        }
        const m = maps;
        const res = await driver.call(proc, (sys) => perform(sys, c, m), CALL);
        const ret = res.done ? res.value : null;
        log.push(res.done ? { call: c, ret: res.value } : { call: c, blocked: res.blocked });
        if (ret !== null && !(Number.isSafeInteger(ret) && ret >= -4095))
          throw new FuzzFailure(
            `${formatFuzzCall(c)} returned ${ret}, not a value or an errno`,
            logLines(log),
          );
      }
    } catch (e) {
      if (e instanceof FuzzFailure) throw e;
      const text = formatFuzzCall(c);
      log.push(`${text} threw`);
      throw new FuzzFailure(
        `${text} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
        logLines(log),
      );
    }
    const broken = checkSystemInvariants(driver.sim);
    if (broken.length > 0)
      throw new FuzzFailure(`after ${formatFuzzCall(c)}: ${broken.join('; ')}`, logLines(log));
  }
  try {
    await driver.finish();
    await driver.advance(1_000_000_000);
  } catch (e) {
    throw new FuzzFailure(
      `exit threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      logLines(log),
    );
  }
  const broken = checkQuiescentInvariants(driver.sim);
  if (broken.length > 0) throw new FuzzFailure(`after exit: ${broken.join('; ')}`, logLines(log));
  return driver.opSyscalls;
}

/** One line of a fuzzed program's log: a note, time passing, or a call with its result or why it never returned. */
type LogEntry =
  | string
  | FuzzCall
  | { readonly call: FuzzCall; readonly ret: number }
  | { readonly call: FuzzCall; readonly blocked: string };

/** The log as a failure report shows it: `read(3, [4 bytes], 4) = -1 EBADF`. */
function logLines(log: readonly LogEntry[]): string[] {
  return log.map((e) => {
    if (typeof e === 'string') return e;
    if ('sys' in e) return formatFuzzCall(e);
    const text = formatFuzzCall(e.call);
    if ('blocked' in e) return `${text} = ? <${e.blocked}>`;
    return `${text} = ${e.ret < 0 ? `-1 ${errnoName(-e.ret) ?? e.ret}` : e.ret}`;
  });
}

/** Result of a fuzz campaign. */
export interface FuzzReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly runs: number;
  readonly syscalls: number;
  /** The shrunk failing program and what broke. */
  readonly failure?: string;
}

/** Largest run index (the first number of a path) a replay accepts: reaching it generates every program before it. */
export const MAX_REPLAY_RUN = 100_000;

/** A `--path` that names no program of the campaign: malformed, too far, or past the shrinks there are. */
export class FuzzPathError extends Error {}

/** Ends a replay after its one program ran, carrying what that program threw (if anything). */
class ReplayDone extends Error {
  readonly outcome: unknown;
  constructor(outcome: unknown) {
    super('replayed');
    this.outcome = outcome;
  }
}

/** Checks the form of a replay path; throws a {@link FuzzPathError} saying what is wrong. */
export function checkReplayPath(path: string): void {
  if (!/^\d+(:\d+)*$/.test(path))
    throw new FuzzPathError(
      `--path takes numbers separated by colons (as a failure report gives it), not '${path}'`,
    );
  if (Number(path.split(':')[0]) >= MAX_REPLAY_RUN)
    throw new FuzzPathError(`--path: the run (its first number) must be below ${MAX_REPLAY_RUN}`);
}

/**
 * A fuzz campaign: `runs` programs of up to `maxCalls` calls, alternating ABI profiles and LP64/ILP32
 * processes, from `seed`. With `path` (a failure's fast-check path), exactly that one program runs again:
 * the way to replay a fuzzing failure, whose raw pointers and requests no scenario file can express. A
 * path that names no program of this seed and `maxCalls` throws a {@link FuzzPathError}.
 */
export async function fuzzCampaign(
  options: {
    runs?: number;
    seed?: number;
    maxCalls?: number;
    path?: string;
    prepare?: (sim: Simulator) => void;
  } = {},
): Promise<FuzzReport> {
  const seed = options.seed ?? 1;
  const paths = fuzzPaths(new Driver().sim);
  const replay = options.path;
  if (replay !== undefined) checkReplayPath(replay);
  let syscalls = 0;
  let calls = 0;
  const prop = fc.asyncProperty(
    fc.constantFrom(...ABI_PROFILES),
    fc.boolean(),
    fc.array(fuzzCall(paths), { maxLength: options.maxCalls ?? 200, size: 'max' }),
    async (abi, compat, calls_) => {
      calls++;
      const program = runFuzzProgram(calls_, {
        abi,
        compat,
        ...(options.prepare ? { prepare: options.prepare } : {}),
      });
      if (replay === undefined) {
        syscalls += await program;
        return;
      }
      // A replay runs the one program at the path, then stops fast-check (which would go on shrinking).
      let outcome: unknown = null;
      try {
        syscalls += await program;
      } catch (e) {
        outcome = e;
      }
      throw new ReplayDone(outcome);
    },
  );
  let result: Awaited<ReturnType<typeof fc.check<[AbiProfile, boolean, FuzzCall[]]>>>;
  try {
    result = await fc.check(prop, {
      seed,
      ...(replay === undefined
        ? { numRuns: options.runs ?? 100 }
        : { path: replay, numRuns: 1, endOnFailure: true }),
    });
  } catch (e) {
    if (replay === undefined) throw e;
    throw new FuzzPathError(
      `--path ${replay} names no program of this seed with at most ${options.maxCalls ?? 200} calls`,
    );
  }
  if (replay !== undefined && calls === 0)
    throw new FuzzPathError(
      `--path ${replay} names no program of this seed with at most ${options.maxCalls ?? 200} calls`,
    );
  const e = result.errorInstance instanceof ReplayDone ? result.errorInstance.outcome : result.errorInstance;
  if (!result.failed || (result.errorInstance instanceof ReplayDone && e === null))
    return { ok: true, seed, runs: replay === undefined ? result.numRuns : 1, syscalls };
  const [abi, compat] = result.counterexample ?? [];
  return {
    ok: false,
    seed,
    runs: replay === undefined ? result.numRuns : 1,
    syscalls,
    failure: `seed ${seed}, path ${replay ?? result.counterexamplePath}, ${abi} ${compat ? 'ILP32' : 'LP64'}: ${e instanceof Error ? e.message : String(e)}`,
  };
}
