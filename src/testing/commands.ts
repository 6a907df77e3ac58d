/**
 * fast-check commands for model-based tests of the uapi contract: each command makes one syscall in a
 * driven process (or lets time pass), asks the {@link ContractModel} for the result the kernel must give,
 * and fails with the whole readable history when the two differ. After every command the invariants of
 * {@link checkStepInvariants} are checked too.
 */
import fc from 'fast-check';
import { flagValue } from '../scenario/symbols.ts';
import type { Sys } from '../sim/process.ts';
import { errnoName } from '../uapi/errno.ts';
import { F_SETFL, O_NONBLOCK, O_RDWR } from '../uapi/fcntl.ts';
import { type AbiProfile, type IoctlEntry, type IoctlFile, ioctlDef } from '../uapi/ioctls.ts';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/mman.ts';
import { formatPollEvents } from '../uapi/names.ts';
import { writeAttr } from '../user/iio.ts';
import { callIoctl } from '../user/ioctl.ts';
import type { KernelCallResult, KernelSide } from './against-real.ts';
import type { CallOptions, CallResult, DrivenProcess, Driver } from './driver.ts';
import { checkStepInvariants } from './invariants.ts';
import type { ContractModel, FileKind, ModelRequest } from './model.ts';

/**
 * A call that has to wait is interrupted after this much virtual time (the model expects `-EINTR`). One
 * nanosecond: far shorter than any completion (the IRQ latency alone is 2 µs), so the model may treat
 * calls as taking no time, yet the signal comes strictly after the call started (scenario replays).
 */
export const INTERRUPT_AFTER_NS = 1;

/** How a command's call runs: interrupted after {@link INTERRUPT_AFTER_NS}, blocked for good after 1 s. */
const COMMAND_CALL: CallOptions = { interruptAfterNs: INTERRUPT_AFTER_NS, limitNs: 1_000_000_000 };

/** Virtual time one Advance command lets pass: long enough for every transfer the model allows to finish. */
export const ADVANCE_NS = 1_000_000_000;

/** One executed step of a contract run, for reports and reproduction scenarios. */
export interface HistoryEntry {
  /** Virtual time at which the call started, ns. */
  readonly time: number;
  /** The call in strace style, with its result: `close(3) = 0`. */
  readonly text: string;
  /** The same step in scenario form (with `expect` set to what the model requires). */
  readonly step: Record<string, unknown>;
  /** Set when the call had to be interrupted by SIGUSR1 at this time. */
  readonly interruptedAt?: number | undefined;
}

/** What a call of a command is, strace-like and as a scenario step: made only when the history is read. */
type Describe = () => { readonly text: string; readonly step: Record<string, unknown> };

/**
 * The history entry of a call that returned: its text and step are made from the call's {@link Describe}
 * when first read (a failure report, a replay scenario), not on every call of every run.
 */
class CallEntry implements HistoryEntry {
  readonly time: number;
  readonly interruptedAt: number | undefined;
  readonly #describe: Describe;
  readonly #ret: number;
  readonly #expected: number;
  #made: { text: string; step: Record<string, unknown> } | null = null;

  constructor(time: number, describe: Describe, ret: number, expected: number, interrupted: boolean) {
    this.time = time;
    this.interruptedAt = interrupted ? time + INTERRUPT_AFTER_NS : undefined;
    this.#describe = describe;
    this.#ret = ret;
    this.#expected = expected;
  }

  #make(): { text: string; step: Record<string, unknown> } {
    if (this.#made === null) {
      const d = this.#describe();
      this.#made = {
        text: `${d.text} = ${formatRet(this.#ret)}${this.interruptedAt !== undefined ? ' (interrupted by SIGUSR1)' : ''}`,
        step: { ...d.step, expect: expectStep(this.#expected) },
      };
    }
    return this.#made;
  }

  get text(): string {
    return this.#make().text;
  }

  get step(): Record<string, unknown> {
    return this.#make().step;
  }

  /** The entry as a plain object (what JSON.stringify writes). */
  toJSON(): HistoryEntry {
    return {
      time: this.time,
      text: this.text,
      step: this.step,
      ...(this.interruptedAt === undefined ? {} : { interruptedAt: this.interruptedAt }),
    };
  }
}

/** The real system of a contract run: a driver with one driven process. */
export interface ContractSystem {
  readonly driver: Driver;
  readonly proc: DrivenProcess;
  readonly profile: AbiProfile;
  /** Addresses and lengths of the mappings the commands made, in the model's order. */
  readonly maps: { addr: number; len: number; name: string }[];
  readonly history: HistoryEntry[];
  mapCounter: number;
  /** Against the real kernel: every call also runs there, and must give the simulator's results. */
  readonly kernel?: KernelSide | undefined;
}

/** A difference between the simulator and the model, or a broken invariant, with the run's history. */
export class ContractViolation extends Error {
  /** Every step of the run up to the one that failed. */
  readonly history: readonly HistoryEntry[];

  constructor(message: string, history: readonly HistoryEntry[]) {
    super(`${message}\n${formatHistory(history)}`);
    this.name = 'ContractViolation';
    this.history = [...history];
  }
}

/** The history as numbered strace-like lines with their virtual times. */
export function formatHistory(history: readonly HistoryEntry[]): string {
  return history
    .map((h, i) => `  ${String(i + 1).padStart(3)}. [${(h.time / 1e9).toFixed(6)}] ${h.text}`)
    .join('\n');
}

/** A return value the way strace prints it. */
export function formatRet(ret: number): string {
  return ret < 0 ? `-1 ${errnoName(-ret) ?? -ret}` : String(ret);
}

function expectStep(ret: number): Record<string, unknown> {
  return ret < 0 ? { errno: errnoName(-ret) ?? String(ret) } : { ret };
}

/** How a command picks an fd when it runs: one of the open fds of a kind, any open fd, or a closed one. */
export type FdPick =
  | { readonly of: FileKind; readonly i: number }
  | { readonly any: number }
  | { readonly closed: true }
  | { readonly raw: number }
  | { readonly usable: number };

/** Picks preferring fds of `kind`. */
export function fdPick(kind: FileKind, raws: readonly number[] = [-1, 1023]): fc.Arbitrary<FdPick> {
  return fc.oneof(
    { weight: 24, arbitrary: fc.nat(7).map((i) => ({ of: kind, i })) },
    { weight: 3, arbitrary: fc.nat(7).map((i) => ({ any: i })) },
    { weight: 1, arbitrary: fc.constant({ closed: true as const }) },
    { weight: 1, arbitrary: fc.constantFrom(...raws).map((raw) => ({ raw })) },
  );
}

/** The fd `pick` designates now, or null for an `of` pick when no fd of that kind is open (the command is skipped). */
function resolve(m: Readonly<ContractModel>, pick: FdPick, target = -1): number | null {
  if ('usable' in pick) {
    const fds = m.enqueueableFds(target);
    return fds.length === 0 ? null : fds[pick.usable % fds.length]!;
  }
  if ('raw' in pick) return pick.raw;
  // Counted and indexed in place: fast-check asks every command's check() before it runs, so this runs
  // several times per command and an fd list per call was a tenth of a campaign's time.
  if ('closed' in pick) return m.lastFd() + 1;
  const kind = 'of' in pick ? pick.of : undefined;
  const n = m.countFds(kind);
  if (n === 0) return kind === undefined ? 0 : null;
  return m.nthFd(('of' in pick ? pick.i : pick.any) % n, kind);
}

/** Picks for the dma-buf argument of DETACH and ENQUEUE: mostly one the buffer can use. */
function usablePick(): fc.Arbitrary<FdPick> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.nat(7).map((usable) => ({ usable })) },
    { weight: 1, arbitrary: fdPick('dmabuf') },
  );
}

function describePick(p: FdPick): string {
  if ('raw' in p) return String(p.raw);
  if ('closed' in p) return 'a closed fd';
  if ('usable' in p) return `attached/allocated dmabuf #${p.usable}`;
  if ('of' in p) return `${p.of} fd #${p.i}`;
  return `open fd #${p.any}`;
}

/**
 * Against the real kernel: the calls the kernel made for a step must be the simulator's, with the same results
 * (compare.ts); else the run fails with both results in its history.
 */
function checkKernel(
  r: ContractSystem,
  kernel: KernelSide,
  text: string,
  time: number,
  res: KernelCallResult<unknown>,
  sim: CallResult<number>,
): void {
  if (!res.done) {
    r.history.push({ time, text: `${text} = ? on the kernel <${res.blocked}>`, step: {} });
    throw new ContractViolation(`${text} never returned on the kernel (${res.blocked})`, r.history);
  }
  const d = kernel.compare();
  if (!d) return;
  r.history.push({
    time,
    text: `${text} = ${sim.done ? formatRet(sim.value) : '?'} on the simulator; on the kernel: ${d.calls.join('; ') || 'no call'}`,
    step: {},
  });
  throw new ContractViolation(`the kernel differs: ${d.message}`, r.history);
}

/** Against the real kernel, after an advance: every mapping must hold the same bytes on both sides. */
async function checkKernelData(r: ContractSystem, kernel: KernelSide): Promise<void> {
  for (const m of r.maps) {
    const sim = await r.driver.call(r.proc, async (s) => {
      try {
        return s.mem.read(m.addr, m.len);
      } catch {
        return null;
      }
    });
    const simBytes = sim.done ? sim.value : null;
    const kernBytes = await kernel.read(m.addr, m.len);
    if (simBytes === null && kernBytes === null) continue;
    const at = simBytes === null || kernBytes === null ? 0 : simBytes.findIndex((b, i) => b !== kernBytes[i]);
    if (at < 0) continue;
    const show = (b: Uint8Array | null) =>
      b === null ? 'unreadable' : Buffer.from(b.subarray(at, at + 16)).toString('hex');
    r.history.push({
      time: r.driver.sim.now,
      text: `  (mapping ${m.name}: byte ${at}: the simulator ${show(simBytes)}, the kernel ${show(kernBytes)})`,
      step: {},
    });
    throw new ContractViolation(
      `the kernel differs: mapping ${m.name} (${m.len} bytes at 0x${m.addr.toString(16)}) differs from byte ${at} on`,
      r.history,
    );
  }
}

/** Base of every contract command: runs the real call, compares, records history, checks invariants. */
abstract class ContractCommand implements fc.AsyncCommand<ContractModel, ContractSystem> {
  check(_m: Readonly<ContractModel>): boolean {
    return true;
  }

  abstract run(m: ContractModel, r: ContractSystem): Promise<void>;

  abstract toString(): string;

  /**
   * Runs `op` in the driven process, interrupting it if it waits; records the call (`describe`, made only
   * when the history is read) with the result.
   */
  protected async call(
    r: ContractSystem,
    describe: Describe,
    op: (sys: Sys) => Promise<number>,
    expected: number,
    compare: (ret: number) => boolean = (ret) => ret === expected,
  ): Promise<number> {
    const time = r.driver.sim.now;
    const kernel = r.kernel ? await r.kernel.call(op) : null;
    const res = await r.driver.call(r.proc, r.kernel ? r.kernel.onSimulator(op) : op, COMMAND_CALL);
    if (r.kernel && kernel) checkKernel(r, r.kernel, describe().text, time, kernel, res);
    if (!res.done) {
      const { text, step } = describe();
      r.history.push({ time, text: `${text} = ? <${res.blocked}>`, step });
      throw new ContractViolation(
        `${text} never returned (${res.blocked}); the model expects ${formatRet(expected)}`,
        r.history,
      );
    }
    const ret = res.value;
    r.history.push(new CallEntry(time, describe, ret, expected, res.interrupted));
    if (!compare(ret))
      throw new ContractViolation(
        `${describe().text}: the simulator returned ${formatRet(ret)}, the model expects ${formatRet(expected)}`,
        r.history,
      );
    return ret;
  }

  /** Checks the invariants after the step. */
  protected settle(m: ContractModel, r: ContractSystem): void {
    const broken = checkStepInvariants(r.driver.sim, r.proc.pid, m);
    if (broken.length > 0) throw new ContractViolation(`invariant broken: ${broken.join('; ')}`, r.history);
  }
}

/** `open("/dev/iio:deviceN", O_RDWR)`. */
export class OpenChardevCommand extends ContractCommand {
  /** The N of `/dev/iio:deviceN`. */
  readonly dev: number;
  constructor(dev: number) {
    super();
    this.dev = dev;
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const path = `/dev/iio:device${this.dev}`;
    const want = m.openChardev(this.dev);
    await this.call(
      r,
      () => ({ text: `open("${path}", O_RDWR)`, step: { open: { path, flags: 'O_RDWR' } } }),
      (s) => s.open(path, O_RDWR),
      want,
    );
    this.settle(m, r);
  }
  toString(): string {
    return `open(/dev/iio:device${this.dev})`;
  }
}

/** A command on one fd, chosen by a {@link FdPick} when it runs (skipped when the pick finds no fd). */
abstract class FdCommand extends ContractCommand {
  /** How the fd is chosen. */
  readonly pick: FdPick;
  constructor(pick: FdPick) {
    super();
    this.pick = pick;
  }
  override check(m: Readonly<ContractModel>): boolean {
    return resolve(m, this.pick) !== null;
  }
  /** The fd the pick designates in the model's current state (once {@link check} has accepted it). */
  protected fdOf(m: Readonly<ContractModel>): number {
    return resolve(m, this.pick) ?? 0;
  }
}

/** `close(fd)`. */
export class CloseCommand extends FdCommand {
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fdOf(m);
    await this.call(
      r,
      () => ({ text: `close(${fd})`, step: { close: fd } }),
      (s) => s.close(fd),
      m.close(fd),
    );
    this.settle(m, r);
  }
  toString(): string {
    return `close(${describePick(this.pick)})`;
  }
}

/** `dup(fd)`. */
export class DupCommand extends FdCommand {
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fdOf(m);
    await this.call(
      r,
      () => ({ text: `dup(${fd})`, step: { dup: { fd } } }),
      (s) => s.dup(fd),
      m.dup(fd),
    );
    this.settle(m, r);
  }
  toString(): string {
    return `dup(${describePick(this.pick)})`;
  }
}

/** `fcntl(fd, F_SETFL, O_NONBLOCK or 0)`. */
export class NonblockCommand extends FdCommand {
  /** Set (true) or clear O_NONBLOCK. */
  readonly on: boolean;
  constructor(pick: FdPick, on: boolean) {
    super(pick);
    this.on = on;
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fdOf(m);
    const flag = this.on ? 'O_NONBLOCK' : '0';
    await this.call(
      r,
      () => ({
        text: `fcntl(${fd}, F_SETFL, ${flag})`,
        step: { fcntl: { fd, cmd: 'F_SETFL', arg: this.on ? 'O_NONBLOCK' : 0 } },
      }),
      (s) => s.fcntl(fd, F_SETFL, this.on ? O_NONBLOCK : 0),
      m.setNonblock(fd, this.on),
    );
    this.settle(m, r);
  }
  toString(): string {
    return `fcntl(${describePick(this.pick)}, F_SETFL, ${this.on ? 'O_NONBLOCK' : '0'})`;
  }
}

/** How an ioctl command chooses the size-like part of its argument. */
export type SizePick = number | 'size' | 'size+1' | 'size-4' | 'block' | 'block+1';

/** A request's argument values, its picks resolved against the model. */
interface ResolvedArgs {
  readonly fd: number;
  readonly dmabuf: number;
  readonly size: number;
  readonly flags: number;
}

/** An argument in scenario form: an int, or struct fields holding numbers or flag expressions. */
type ScenarioArg = number | Readonly<Record<string, number | string>>;

/** How the contract sends one model request: its ioctl table entry and the argument a program would build. */
interface ModelIoctl {
  readonly def: IoctlEntry;
  /** Which argument value the model takes as `value`. */
  readonly value: 'dmabuf' | 'size';
  /** The argument, in scenario form, so that a replayed history builds the same one. */
  arg(a: ResolvedArgs): ScenarioArg;
}

function enqueueArg(a: ResolvedArgs): ScenarioArg {
  return { fd: a.dmabuf, flags: a.flags, bytes_used: a.size };
}

const MODEL_IOCTLS: Readonly<Record<ModelRequest, ModelIoctl>> = {
  GET_FD: { def: ioctlDef('IIO_BUFFER_GET_FD_IOCTL'), value: 'size', arg: (a) => a.size },
  HEAP_ALLOC: {
    def: ioctlDef('DMA_HEAP_IOCTL_ALLOC'),
    value: 'size',
    arg: (a) => ({ len: a.size, fd_flags: 'O_RDWR|O_CLOEXEC' }),
  },
  ATTACH: {
    def: ioctlDef('IIO_BUFFER_DMABUF_ATTACH_IOCTL', 'mainline'),
    value: 'dmabuf',
    arg: (a) => a.dmabuf,
  },
  DETACH: {
    def: ioctlDef('IIO_BUFFER_DMABUF_DETACH_IOCTL', 'mainline'),
    value: 'dmabuf',
    arg: (a) => a.dmabuf,
  },
  ENQUEUE: { def: ioctlDef('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'mainline'), value: 'dmabuf', arg: enqueueArg },
  V2_ALLOC: {
    def: ioctlDef('IIO_BUFFER_DMABUF_ALLOC_IOCTL', 'v2'),
    value: 'size',
    arg: (a) => ({ size: a.size, resv: 0 }),
  },
  V2_ENQUEUE: { def: ioctlDef('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL', 'v2'), value: 'dmabuf', arg: enqueueArg },
  SYNC: { def: ioctlDef('DMA_BUF_IOCTL_SYNC'), value: 'size', arg: (a) => ({ flags: a.flags }) },
};

/** The model's name for the files the model requests are meant for. */
const FILE_KINDS: Readonly<Partial<Record<IoctlFile, FileKind>>> = {
  'iio:device': 'chardev',
  'iio:buffer': 'buffer',
  dmabuf: 'dmabuf',
  dma_heap: 'heap',
};

/** How histories and reports name a request: its kernel name, and its profile when mainline lacks it. */
function requestLabel(def: IoctlEntry): string {
  const profiles: readonly AbiProfile[] = def.profiles;
  return profiles.includes('mainline') ? def.name : `${def.name}(${profiles.join(',')})`;
}

/**
 * Texts and values the commands compute again and again from a few inputs (every command of a campaign formats
 * its events or resolves its flag names), each computed once.
 */
function memo<K, V>(f: (k: K) => V): (k: K) => V {
  const known = new Map<K, V>();
  return (k) => {
    let v = known.get(k);
    if (v === undefined) {
      v = f(k);
      known.set(k, v);
    }
    return v;
  };
}

const pollEventsText = memo(formatPollEvents);
const flagsValue = memo(flagValue);

/** `[5]` for an int, `{len=4096, fd_flags=O_RDWR|O_CLOEXEC}` for struct fields. */
function formatArg(arg: ScenarioArg): string {
  if (typeof arg === 'number') return `[${arg}]`;
  return `{${Object.entries(arg)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}}`;
}

/** The argument as a scenario step gives it: `{ int: 5 }` or `{ struct: 'iio_dmabuf', value: {...} }`. */
function scenarioArg(def: IoctlEntry, arg: ScenarioArg): Record<string, unknown> {
  if (typeof arg === 'number' || def.arg.kind !== 'struct') return { int: arg };
  return { struct: def.arg.codec.name, value: arg };
}

/** The argument's values, its flag expressions resolved as a scenario resolves them. */
function argValue(arg: ScenarioArg): number | Record<string, number> {
  if (typeof arg === 'number') return arg;
  const out: Record<string, number> = {};
  for (const k in arg) {
    const v = arg[k]!;
    out[k] = typeof v === 'string' ? flagsValue(v) : v;
  }
  return out;
}

/** The fd a call reports through the argument the kernel wrote back: the int itself, or the struct's `fd`. */
function reportedFd(written: unknown): number | undefined {
  if (written === undefined) return undefined;
  return typeof written === 'number' ? written : (written as { fd?: number }).fd;
}

/** The request number of `req` (both profiles' numbers are distinct, XPROF-1). */
export function requestNumber(req: ModelRequest): number {
  return MODEL_IOCTLS[req].def.request;
}

/** The arguments of an {@link IoctlCommand}. */
export interface IoctlArgs {
  /** The fd the ioctl is made on. */
  readonly target: FdPick;
  /** ATTACH, DETACH, ENQUEUE: the dma-buf fd in the argument. */
  readonly dmabuf?: FdPick;
  /** GET_FD: the buffer index; HEAP_ALLOC: len; V2_ALLOC: size; ENQUEUE: bytes_used. */
  readonly size?: SizePick;
  /** ENQUEUE and SYNC flags. */
  readonly flags?: number;
}

/** The number a {@link SizePick} stands for, given the dma-buf fd the argument names. */
function sizeOf(m: Readonly<ContractModel>, pick: SizePick, dmabuf: number): number {
  if (typeof pick === 'number') return pick;
  const size = m.dmabufOf(dmabuf)?.size ?? 4096;
  const block = m.blockSizeOf(dmabuf) ?? size;
  switch (pick) {
    case 'size':
      return size;
    case 'size+1':
      return size + 1;
    case 'size-4':
      return size - 4;
    case 'block':
      return block;
    case 'block+1':
      return block + 1;
  }
}

/** One ioctl of the contract, with its argument built the way a program would. */
export class IoctlCommand extends ContractCommand {
  /** Which ioctl. */
  readonly req: ModelRequest;
  /** How its fd and argument are chosen. */
  readonly args: IoctlArgs;

  constructor(req: ModelRequest, args: IoctlArgs) {
    super();
    this.req = req;
    this.args = args;
  }

  /** The argument values in the model's current state, or null when a pick finds no fd (skipped). */
  #resolve(m: Readonly<ContractModel>): ResolvedArgs | null {
    const fd = resolve(m, this.args.target);
    const dmabuf = this.args.dmabuf ? resolve(m, this.args.dmabuf, fd ?? -1) : 0;
    if (fd === null || dmabuf === null) return null;
    return { fd, dmabuf, size: sizeOf(m, this.args.size ?? 0, dmabuf), flags: this.args.flags ?? 0 };
  }

  override check(m: Readonly<ContractModel>): boolean {
    return this.#resolve(m) !== null;
  }

  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const a = this.#resolve(m)!;
    const spec = MODEL_IOCTLS[this.req];
    const { def } = spec;
    const arg = spec.arg(a);
    const want = m.ioctl(a.fd, this.req, { value: a[spec.value], bytesUsed: a.size, flags: a.flags });
    let out: number | undefined;
    // The closures are arguments, not named constants: tsx (esbuild's keepNames) names each named one with a
    // defineProperty, per command here.
    await this.call(
      r,
      () => ioctlCall(a.fd, def, arg, r.profile),
      async (s: Sys) => {
        const res = await callIoctl(s, a.fd, def, argValue(arg) as never);
        if (res.ret === 0) out = reportedFd(res.out);
        return res.ret;
      },
      want.ret,
    );
    if (want.out !== out) {
      r.history.push({
        time: r.driver.sim.now,
        text: `  (fd written back: ${out}, the model expects ${want.out})`,
        step: {},
      });
      throw new ContractViolation(
        `${ioctlCall(a.fd, def, arg, r.profile).text}: wrote back fd ${out}, the model expects ${want.out}`,
        r.history,
      );
    }
    this.settle(m, r);
  }

  toString(): string {
    const a = this.args;
    const parts = [describePick(a.target)];
    if (a.dmabuf) parts.push(`dmabuf=${describePick(a.dmabuf)}`);
    if (a.size !== undefined) parts.push(`size=${a.size}`);
    if (a.flags !== undefined) parts.push(`flags=${a.flags}`);
    return `ioctl(${requestLabel(MODEL_IOCTLS[this.req].def)}, ${parts.join(', ')})`;
  }
}

/** An ioctl call as the history shows it, and as a scenario step of `profile`. */
function ioctlCall(
  fd: number,
  def: IoctlEntry,
  arg: ScenarioArg,
  profile: AbiProfile,
): { text: string; step: Record<string, unknown> } {
  // Scenario files name the requests of their own profile; the other profile's are given as numbers.
  const request = (def.profiles as readonly AbiProfile[]).includes(profile) ? def.name : def.request;
  return {
    text: `ioctl(${fd}, ${requestLabel(def)}, ${formatArg(arg)})`,
    step: { ioctl: { fd, request, arg: scenarioArg(def, arg) } },
  };
}

/** `poll([{fd, events}], 1, 0)` on a dma-buf, the heap or a closed fd. */
export class PollCommand extends FdCommand {
  /** The requested events. */
  readonly events: number;
  constructor(pick: FdPick, events: number) {
    super(pick);
    this.events = events;
  }
  override check(m: Readonly<ContractModel>): boolean {
    if (!super.check(m)) return false;
    const fd = this.fdOf(m);
    const kind = m.openFds().find((f) => f.fd === fd)?.kind;
    return (kind === undefined || kind === 'dmabuf' || kind === 'heap') && !m.pollWouldHang(fd);
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fdOf(m);
    const want = m.poll(fd, this.events);
    const ev = pollEventsText(this.events);
    let revents = 0;
    const text = `poll([{fd=${fd}, events=${ev}}], 1, 0)`;
    const step = {
      poll: { fds: [{ fd, events: this.events }], timeout: 0 },
    };
    await this.call(
      r,
      () => ({ text, step }),
      async (s) => {
        const entries = [{ fd, events: this.events }] as { fd: number; events: number; revents?: number }[];
        const ret = await s.pollfds(entries, 0);
        revents = entries[0]!.revents ?? 0;
        return ret;
      },
      want === 0 ? 0 : 1,
    );
    const last = r.history[r.history.length - 1]!;
    r.history[r.history.length - 1] = {
      ...last,
      text: `${last.text} ([{fd=${fd}, revents=${pollEventsText(revents)}}])`,
      step: { ...last.step, expect: { ret: want === 0 ? 0 : 1, revents: { [String(fd)]: want } } },
    };
    if (revents !== want)
      throw new ContractViolation(
        `${text}: revents ${formatPollEvents(revents)}, the model expects ${formatPollEvents(want)}`,
        r.history,
      );
    this.settle(m, r);
  }
  toString(): string {
    return `poll(${describePick(this.pick)}, ${formatPollEvents(this.events)})`;
  }
}

/** `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)`. */
export class MmapCommand extends FdCommand {
  /** The length to map. */
  readonly len: SizePick;
  constructor(pick: FdPick, len: SizePick) {
    super(pick);
    this.len = len;
  }
  /** The length the pick asks for, given the size of the dma-buf behind `fd`. */
  #lenOf(m: Readonly<ContractModel>, fd: number): number {
    const size = m.dmabufOf(fd)?.size ?? 4096;
    return typeof this.len === 'number' ? this.len : this.len === 'size+1' ? size + 1 : size;
  }
  override check(m: Readonly<ContractModel>): boolean {
    return super.check(m) && this.#lenOf(m, this.fdOf(m)) > 0;
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fdOf(m);
    const len = this.#lenOf(m, fd);
    const want = m.mmap(fd, len);
    const name = `m${++r.mapCounter}`;
    let addr = -1;
    await this.call(
      r,
      () => ({
        text: `mmap(NULL, ${len}, PROT_READ|PROT_WRITE, MAP_SHARED, ${fd}, 0)`,
        step: { mmap: { fd, length: len, prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED', as: name } },
      }),
      async (s) => {
        addr = await s.mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        return addr;
      },
      want,
      (ret) => (want === 0 ? ret >= 0 : ret === want),
    );
    const last = r.history[r.history.length - 1]!;
    if (want === 0) {
      r.maps.push({ addr, len, name });
      r.history[r.history.length - 1] = { ...last, step: { ...last.step, expect: { ret: 'fd' } } };
    }
    this.settle(m, r);
  }
  toString(): string {
    return `mmap(${describePick(this.pick)}, len=${this.len})`;
  }
}

/** `munmap` of one of the mappings made so far. */
export class MunmapCommand extends ContractCommand {
  /** Which of the current mappings (modulo their number). */
  readonly i: number;
  constructor(i: number) {
    super();
    this.i = i;
  }
  override check(m: Readonly<ContractModel>): boolean {
    return m.mapCount() > 0;
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const index = this.i % m.mapCount();
    const { addr, len, name } = r.maps.splice(index, 1)[0]!;
    const want = m.munmap(index);
    await this.call(
      r,
      () => ({ text: `munmap(0x${addr.toString(16)}, ${len})`, step: { munmap: { map: name } } }),
      (s) => s.munmap(addr, len),
      want,
    );
    this.settle(m, r);
  }
  toString(): string {
    return `munmap(mapping #${this.i})`;
  }
}

/** Writes `1` or `0` to `/sys/bus/iio/devices/iio:deviceN/buffer0/enable` (open, write, close). */
export class EnableCommand extends ContractCommand {
  /** The N of `iio:deviceN`. */
  readonly dev: number;
  /** Write 1 (true) or 0. */
  readonly on: boolean;
  constructor(dev: number, on: boolean) {
    super();
    this.dev = dev;
    this.on = on;
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const path = `/sys/bus/iio/devices/iio:device${this.dev}/buffer0/enable`;
    const want = m.setEnabled(this.dev, this.on);
    await this.call(
      r,
      () => ({
        text: `write("${path}", "${this.on ? 1 : 0}")`,
        step: { enable_buffer: { device: `iio:device${this.dev}`, on: this.on } },
      }),
      (s) => writeAttr(s, path, this.on ? '1' : '0'),
      want,
    );
    this.settle(m, r);
  }
  toString(): string {
    return `enable(iio:device${this.dev}, ${this.on ? 1 : 0})`;
  }
}

/** Lets {@link ADVANCE_NS} of virtual time pass with the process idle. */
export class AdvanceCommand extends ContractCommand {
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const time = r.driver.sim.now;
    const moved = await r.kernel?.advance(ADVANCE_NS);
    await r.driver.advance(ADVANCE_NS);
    m.complete();
    r.history.push({
      time,
      text: `... ${ADVANCE_NS / 1e6} ms pass`,
      step: { sleep: `${ADVANCE_NS / 1e6}ms` },
    });
    if (r.kernel) {
      if (moved !== String(ADVANCE_NS).length)
        throw new ContractViolation(`the kernel's clock did not move: advance_ns gave ${moved}`, r.history);
      await checkKernelData(r, r.kernel);
    }
    this.settle(m, r);
  }
  toString(): string {
    return `advance(${ADVANCE_NS / 1e6} ms)`;
  }
}

const SIZES: SizePick[] = [
  ...['size', 'size', 'size', 'size', 'block', 'block', 4096, 4096, 8192, 'size-4', 12],
  ...[0, 1, 4, 8, 4100, 16384, 65536, 'size+1', 'block+1'],
] as SizePick[];
const ALLOC_SIZES: SizePick[] = [0, 1, 4, 12, 4096, 6000, 8192, 16384, 65536];
const ENQ_FLAGS = [0, 0, 0, 0, 0, 0, 1, 1, 2];
const SYNC_FLAGS = [1, 2, 3, 5, 6, 7, 0, 4, 8];
const POLL_EVENTS = [0x1, 0x4, 0x5, 0x5, 0x2, 0x40, 0];

/** Picks of an ENQUEUE argument: mostly a dma-buf the buffer can use. */
function enqueuePicks(size: fc.Arbitrary<SizePick>): Record<string, fc.Arbitrary<unknown>> {
  return { dmabuf: usablePick(), size, flags: fc.constantFrom(...ENQ_FLAGS) };
}

/**
 * The ioctl commands, each request `weight` times as likely as a plain command and aimed at the file its table
 * entry names. Weighted towards the DMABUF calls of `profile`; the other profile's requests still come (XPROF-2/3).
 */
function ioctlCommands(profile: AbiProfile, size: fc.Arbitrary<SizePick>): fc.Arbitrary<IoctlCommand>[] {
  const mainline = profile === 'mainline';
  const native = (w: number) => (mainline ? w : 1);
  const v2only = (w: number) => (mainline ? 1 : w);
  const mix: [req: ModelRequest, weight: number, picks: Record<string, fc.Arbitrary<unknown>>][] = [
    ['GET_FD', 4, { size: fc.constantFrom<SizePick>(0, 0, 0, 1) }],
    ['HEAP_ALLOC', native(4), { size: fc.constantFrom(...ALLOC_SIZES) }],
    ['ATTACH', native(6), { dmabuf: fdPick('dmabuf') }],
    ['DETACH', native(2), { dmabuf: usablePick() }],
    ['ENQUEUE', native(8), enqueuePicks(size)],
    ['V2_ALLOC', v2only(6), { size: fc.constantFrom(...ALLOC_SIZES) }],
    ['V2_ENQUEUE', v2only(8), enqueuePicks(size)],
    ['SYNC', 3, { flags: fc.constantFrom(...SYNC_FLAGS) }],
  ];
  return mix.flatMap(([req, weight, picks]) => {
    const target = fdPick(FILE_KINDS[MODEL_IOCTLS[req].def.file]!);
    const args = fc.record({ target, ...picks }) as fc.Arbitrary<IoctlArgs>;
    return Array.from({ length: weight }, () => args.map((a) => new IoctlCommand(req, a)));
  });
}

/**
 * Every command of the contract, weighted towards the DMABUF calls of `profile` (the other profile's request
 * numbers are sent too, to check XPROF-2/3).
 */
export function contractCommands(
  profile: AbiProfile,
): fc.Arbitrary<fc.AsyncCommand<ContractModel, ContractSystem>>[] {
  const size = fc.constantFrom(...SIZES);
  const dev = fc.constantFrom(0, 0, 1, 1, 2);
  const times = <T>(n: number, a: fc.Arbitrary<T>): fc.Arbitrary<T>[] => Array.from({ length: n }, () => a);
  return [
    ...times(
      3,
      dev.map((d) => new OpenChardevCommand(d)),
    ),
    fdPick('chardev').map((p) => new CloseCommand(p)),
    fc.oneof(fdPick('dmabuf'), fdPick('buffer')).map((p) => new CloseCommand(p)),
    fdPick('dmabuf').map((p) => new DupCommand(p)),
    fc.tuple(fdPick('buffer'), fc.boolean()).map(([p, on]) => new NonblockCommand(p, on)),
    ...ioctlCommands(profile, size),
    ...times(
      2,
      fc.tuple(fdPick('dmabuf'), fc.constantFrom(...POLL_EVENTS)).map(([p, e]) => new PollCommand(p, e)),
    ),
    fc
      .tuple(fdPick('dmabuf'), fc.constantFrom<SizePick>(4096, 'size', 'size', 'size+1', 1))
      .map(([p, l]) => new MmapCommand(p, l)),
    fc.nat(7).map((i) => new MunmapCommand(i)),
    ...times(
      4,
      fc.tuple(dev, fc.constantFrom(true, true, false)).map(([d, on]) => new EnableCommand(d, on)),
    ),
    ...times(3, fc.constant(new AdvanceCommand())),
  ];
}
