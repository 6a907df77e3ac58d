/**
 * fast-check commands for model-based tests of the uapi contract: each command makes one syscall in a
 * driven process (or lets time pass), asks the {@link ContractModel} for the result the kernel must give,
 * and fails with the whole readable history when the two differ. After every command the invariants of
 * {@link checkStepInvariants} are checked too.
 */
import fc from 'fast-check';
import type { Sys } from '../sim/process.ts';
import { DMA_BUF_IOCTL_SYNC, dma_buf_sync } from '../uapi/dma-buf.ts';
import { DMA_HEAP_IOCTL_ALLOC, dma_heap_allocation_data } from '../uapi/dma-heap.ts';
import { errnoName } from '../uapi/errno.ts';
import { F_SETFL, O_CLOEXEC, O_NONBLOCK, O_RDWR } from '../uapi/fcntl.ts';
import {
  IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  IIO_BUFFER_DMABUF_DETACH_IOCTL,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  IIO_BUFFER_GET_FD_IOCTL,
  iio_dmabuf,
} from '../uapi/iio.ts';
import * as v2 from '../uapi/iio-v2.ts';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/mman.ts';
import { formatPollEvents } from '../uapi/names.ts';
import { writeAttr } from '../user/iio.ts';
import type { DrivenProcess, Driver } from './driver.ts';
import { checkStepInvariants } from './invariants.ts';
import type { ContractModel, FileKind, ModelProfile, ModelRequest } from './model.ts';

/**
 * A call that has to wait is interrupted after this much virtual time (the model expects `-EINTR`). One
 * nanosecond: far shorter than any completion (the IRQ latency alone is 2 µs), so the model may treat
 * calls as taking no time, yet the signal comes strictly after the call started (scenario replays).
 */
export const INTERRUPT_AFTER_NS = 1;

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
  readonly interruptedAt?: number;
}

/** The real system of a contract run: a driver with one driven process. */
export interface ContractSystem {
  readonly driver: Driver;
  readonly proc: DrivenProcess;
  readonly profile: ModelProfile;
  /** Addresses and lengths of the mappings the commands made, in the model's order. */
  readonly maps: { addr: number; len: number; name: string }[];
  readonly history: HistoryEntry[];
  mapCounter: number;
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
function resolve(m: ContractModel, pick: FdPick, target = -1): number | null {
  if ('usable' in pick) {
    const fds = m.enqueueableFds(target);
    return fds.length === 0 ? null : fds[pick.usable % fds.length]!;
  }
  const open = m.openFds();
  if ('raw' in pick) return pick.raw;
  if ('closed' in pick) return open.length === 0 ? 0 : open[open.length - 1]!.fd + 1;
  const list = 'of' in pick ? open.filter((f) => f.kind === pick.of) : open;
  if (list.length === 0) return 'of' in pick ? null : 0;
  return list[('of' in pick ? pick.i : pick.any) % list.length]!.fd;
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

/** Base of every contract command: runs the real call, compares, records history, checks invariants. */
abstract class ContractCommand implements fc.AsyncCommand<ContractModel, ContractSystem> {
  check(_m: Readonly<ContractModel>): boolean {
    return true;
  }

  abstract run(m: ContractModel, r: ContractSystem): Promise<void>;

  abstract toString(): string;

  /** Runs `op` in the driven process, interrupting it if it waits; records `text` with the result. */
  protected async call(
    r: ContractSystem,
    text: string,
    step: Record<string, unknown>,
    op: (sys: Sys) => Promise<number>,
    expected: number,
    compare: (ret: number) => boolean = (ret) => ret === expected,
  ): Promise<number> {
    const time = r.driver.sim.now;
    const res = await r.driver.call(r.proc, op, {
      interruptAfterNs: INTERRUPT_AFTER_NS,
      limitNs: 1_000_000_000,
    });
    if (!res.done) {
      r.history.push({ time, text: `${text} = ? <${res.blocked}>`, step });
      throw new ContractViolation(
        `${text} never returned (${res.blocked}); the model expects ${formatRet(expected)}`,
        r.history,
      );
    }
    const ret = res.value;
    const entry: HistoryEntry = {
      time,
      text: `${text} = ${formatRet(ret)}${res.interrupted ? ' (interrupted by SIGUSR1)' : ''}`,
      step: { ...step, expect: expectStep(expected) },
      ...(res.interrupted ? { interruptedAt: time + INTERRUPT_AFTER_NS } : {}),
    };
    r.history.push(entry);
    if (!compare(ret))
      throw new ContractViolation(
        `${text}: the simulator returned ${formatRet(ret)}, the model expects ${formatRet(expected)}`,
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
      `open("${path}", O_RDWR)`,
      { open: { path, flags: 'O_RDWR' } },
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
  /** The fd the pick resolved to in the current run. */
  protected fd = 0;
  constructor(pick: FdPick) {
    super();
    this.pick = pick;
  }
  override check(m: Readonly<ContractModel>): boolean {
    const fd = resolve(m as ContractModel, this.pick);
    this.fd = fd ?? 0;
    return fd !== null;
  }
}

/** `close(fd)`. */
export class CloseCommand extends FdCommand {
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fd;
    await this.call(r, `close(${fd})`, { close: fd }, (s) => s.close(fd), m.close(fd));
    this.settle(m, r);
  }
  toString(): string {
    return `close(${describePick(this.pick)})`;
  }
}

/** `dup(fd)`. */
export class DupCommand extends FdCommand {
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fd;
    await this.call(r, `dup(${fd})`, { dup: { fd } }, (s) => s.dup(fd), m.dup(fd));
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
    const fd = this.fd;
    const flag = this.on ? 'O_NONBLOCK' : '0';
    await this.call(
      r,
      `fcntl(${fd}, F_SETFL, ${flag})`,
      { fcntl: { fd, cmd: 'F_SETFL', arg: this.on ? 'O_NONBLOCK' : 0 } },
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

const REQUEST_NAMES: Record<ModelRequest, string> = {
  GET_FD: 'IIO_BUFFER_GET_FD_IOCTL',
  HEAP_ALLOC: 'DMA_HEAP_IOCTL_ALLOC',
  ATTACH: 'IIO_BUFFER_DMABUF_ATTACH_IOCTL',
  DETACH: 'IIO_BUFFER_DMABUF_DETACH_IOCTL',
  ENQUEUE: 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL',
  V2_ALLOC: 'IIO_BUFFER_DMABUF_ALLOC_IOCTL(v2)',
  V2_ENQUEUE: 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL(v2)',
  SYNC: 'DMA_BUF_IOCTL_SYNC',
};

const REQUEST_NUMBERS: Record<ModelRequest, number> = {
  GET_FD: IIO_BUFFER_GET_FD_IOCTL,
  HEAP_ALLOC: DMA_HEAP_IOCTL_ALLOC,
  ATTACH: IIO_BUFFER_DMABUF_ATTACH_IOCTL,
  DETACH: IIO_BUFFER_DMABUF_DETACH_IOCTL,
  ENQUEUE: IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  V2_ALLOC: v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
  V2_ENQUEUE: v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
  SYNC: DMA_BUF_IOCTL_SYNC,
};

/** The request number of `req` (both profiles' numbers are distinct, XPROF-1). */
export function requestNumber(req: ModelRequest): number {
  return REQUEST_NUMBERS[req];
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

/** One ioctl of the contract, with its argument built the way a program would. */
export class IoctlCommand extends ContractCommand {
  /** Which ioctl. */
  readonly req: ModelRequest;
  /** How its fd and argument are chosen. */
  readonly args: IoctlArgs;
  #fd = 0;
  #dmabuf = 0;
  #size = 0;

  constructor(req: ModelRequest, args: IoctlArgs) {
    super();
    this.req = req;
    this.args = args;
  }

  override check(m: Readonly<ContractModel>): boolean {
    const model = m as ContractModel;
    const fd = resolve(model, this.args.target);
    const dmabuf = this.args.dmabuf ? resolve(model, this.args.dmabuf, fd ?? -1) : 0;
    this.#fd = fd ?? 0;
    this.#dmabuf = dmabuf ?? 0;
    this.#size = this.#sizeOf(model);
    return fd !== null && dmabuf !== null;
  }

  #sizeOf(m: ContractModel): number {
    const s = this.args.size ?? 0;
    if (typeof s === 'number') return s;
    const size = m.dmabufOf(this.#dmabuf)?.size ?? 4096;
    const block = m.blockSizeOf(this.#dmabuf) ?? size;
    switch (s) {
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

  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.#fd;
    const dmabuf = this.#dmabuf;
    const size = this.#size;
    const flags = this.args.flags ?? 0;
    const number = REQUEST_NUMBERS[this.req];
    const name = REQUEST_NAMES[this.req];
    // Scenario files name the requests of their own profile; the other profile's are given as numbers.
    const foreign = (r.profile === 'v2') !== (this.req === 'V2_ALLOC' || this.req === 'V2_ENQUEUE');
    const request =
      this.req.startsWith('V2') || ['ATTACH', 'DETACH', 'ENQUEUE'].includes(this.req)
        ? foreign
          ? number
          : name.replace('(v2)', '')
        : name;
    const want = m.ioctl(fd, this.req, {
      value: this.req === 'ATTACH' || this.req === 'DETACH' || this.req.endsWith('ENQUEUE') ? dmabuf : size,
      bytesUsed: size,
      flags,
    });
    let out: number | undefined;
    let text: string;
    let step: Record<string, unknown>;
    let op: (s: Sys) => Promise<number>;
    switch (this.req) {
      case 'GET_FD':
      case 'ATTACH':
      case 'DETACH': {
        const value = this.req === 'GET_FD' ? size : dmabuf;
        text = `ioctl(${fd}, ${name}, [${value}])`;
        step = { ioctl: { fd, request, arg: { int: value } } };
        op = async (s) => {
          const a = s.mem.alloc(4);
          s.mem.writeInt(a, value);
          const ret = await s.ioctl(fd, number, a);
          if (this.req === 'GET_FD' && ret === 0) out = s.mem.readInt(a);
          return ret;
        };
        break;
      }
      case 'HEAP_ALLOC': {
        text = `ioctl(${fd}, ${name}, {len=${size}, fd_flags=O_RDWR|O_CLOEXEC})`;
        step = {
          ioctl: {
            fd,
            request,
            arg: { struct: 'dma_heap_allocation_data', value: { len: size, fd_flags: 'O_RDWR|O_CLOEXEC' } },
          },
        };
        op = async (s) => {
          const a = s.mem.allocStruct(dma_heap_allocation_data, { len: size, fd_flags: O_RDWR | O_CLOEXEC });
          const ret = await s.ioctl(fd, number, a);
          if (ret === 0) out = s.mem.readStruct(a, dma_heap_allocation_data).fd;
          return ret;
        };
        break;
      }
      case 'ENQUEUE':
      case 'V2_ENQUEUE': {
        text = `ioctl(${fd}, ${name}, {fd=${dmabuf}, flags=${flags}, bytes_used=${size}})`;
        step = {
          ioctl: {
            fd,
            request,
            arg: { struct: 'iio_dmabuf', value: { fd: dmabuf, flags, bytes_used: size } },
          },
        };
        op = (s) =>
          s.ioctl(fd, number, s.mem.allocStruct(iio_dmabuf, { fd: dmabuf, flags, bytes_used: size }));
        break;
      }
      case 'V2_ALLOC': {
        text = `ioctl(${fd}, ${name}, {size=${size}, resv=0})`;
        step = { ioctl: { fd, request, arg: { struct: 'iio_dmabuf_alloc_req', value: { size, resv: 0 } } } };
        op = (s) => s.ioctl(fd, number, s.mem.allocStruct(v2.iio_dmabuf_alloc_req, { size, resv: 0 }));
        break;
      }
      case 'SYNC': {
        text = `ioctl(${fd}, ${name}, {flags=${flags}})`;
        step = { ioctl: { fd, request, arg: { struct: 'dma_buf_sync', value: { flags } } } };
        op = (s) => s.ioctl(fd, number, s.mem.allocStruct(dma_buf_sync, { flags }));
        break;
      }
    }
    await this.call(r, text, step, op, want.ret);
    if (want.out !== out) {
      r.history.push({
        time: r.driver.sim.now,
        text: `  (fd written back: ${out}, the model expects ${want.out})`,
        step: {},
      });
      throw new ContractViolation(`${text}: wrote back fd ${out}, the model expects ${want.out}`, r.history);
    }
    this.settle(m, r);
  }

  toString(): string {
    const a = this.args;
    const parts = [describePick(a.target)];
    if (a.dmabuf) parts.push(`dmabuf=${describePick(a.dmabuf)}`);
    if (a.size !== undefined) parts.push(`size=${a.size}`);
    if (a.flags !== undefined) parts.push(`flags=${a.flags}`);
    return `ioctl(${REQUEST_NAMES[this.req]}, ${parts.join(', ')})`;
  }
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
    const model = m as ContractModel;
    if (!super.check(m)) return false;
    const kind = model.openFds().find((f) => f.fd === this.fd)?.kind;
    return (kind === undefined || kind === 'dmabuf' || kind === 'heap') && !model.pollWouldHang(this.fd);
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fd;
    const want = m.poll(fd, this.events);
    const ev = formatPollEvents(this.events);
    let revents = 0;
    const text = `poll([{fd=${fd}, events=${ev}}], 1, 0)`;
    const step = {
      poll: { fds: [{ fd, events: this.events }], timeout: 0 },
    };
    await this.call(
      r,
      text,
      step,
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
      text: `${last.text} ([{fd=${fd}, revents=${formatPollEvents(revents)}}])`,
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
  #len = 0;
  constructor(pick: FdPick, len: SizePick) {
    super(pick);
    this.len = len;
  }
  override check(m: Readonly<ContractModel>): boolean {
    if (!super.check(m)) return false;
    const size = (m as ContractModel).dmabufOf(this.fd)?.size ?? 4096;
    this.#len = typeof this.len === 'number' ? this.len : this.len === 'size+1' ? size + 1 : size;
    return this.#len > 0;
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const fd = this.fd;
    const len = this.#len;
    const want = m.mmap(fd, len);
    const name = `m${++r.mapCounter}`;
    let addr = -1;
    await this.call(
      r,
      `mmap(NULL, ${len}, PROT_READ|PROT_WRITE, MAP_SHARED, ${fd}, 0)`,
      { mmap: { fd, length: len, prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED', as: name } },
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
  #index = 0;
  constructor(i: number) {
    super();
    this.i = i;
  }
  override check(m: Readonly<ContractModel>): boolean {
    const n = (m as ContractModel).mapCount();
    this.#index = n === 0 ? 0 : this.i % n;
    return n > 0;
  }
  async run(m: ContractModel, r: ContractSystem): Promise<void> {
    const { addr, len, name } = r.maps.splice(this.#index, 1)[0]!;
    const want = m.munmap(this.#index);
    await this.call(
      r,
      `munmap(0x${addr.toString(16)}, ${len})`,
      { munmap: { map: name } },
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
      `write("${path}", "${this.on ? 1 : 0}")`,
      { enable_buffer: { device: `iio:device${this.dev}`, on: this.on } },
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
    await r.driver.advance(ADVANCE_NS);
    m.complete();
    r.history.push({
      time,
      text: `... ${ADVANCE_NS / 1e6} ms pass`,
      step: { sleep: `${ADVANCE_NS / 1e6}ms` },
    });
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

/**
 * Every command of the contract, weighted towards the DMABUF calls of `profile` (the other profile's request
 * numbers are sent too, to check XPROF-2/3).
 */
export function contractCommands(
  profile: ModelProfile,
): fc.Arbitrary<fc.AsyncCommand<ContractModel, ContractSystem>>[] {
  const mainline = profile === 'mainline';
  const native = (w: number) => (mainline ? w : 1);
  const v2only = (w: number) => (mainline ? 1 : w);
  const size = fc.constantFrom(...SIZES);
  const dev = fc.constantFrom(0, 0, 1, 1, 2);
  const ioctl = (req: ModelRequest, weight: number, args: fc.Arbitrary<IoctlArgs>) =>
    Array.from({ length: weight }, () => args.map((a) => new IoctlCommand(req, a)));
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
    ...ioctl(
      'GET_FD',
      4,
      fc.record({ target: fdPick('chardev'), size: fc.constantFrom<SizePick>(0, 0, 0, 1) }),
    ),
    ...ioctl(
      'HEAP_ALLOC',
      native(4),
      fc.record({ target: fdPick('heap'), size: fc.constantFrom(...ALLOC_SIZES) }),
    ),
    ...ioctl('ATTACH', native(6), fc.record({ target: fdPick('buffer'), dmabuf: fdPick('dmabuf') })),
    ...ioctl('DETACH', native(2), fc.record({ target: fdPick('buffer'), dmabuf: usablePick() })),
    ...ioctl(
      'ENQUEUE',
      native(8),
      fc.record({
        target: fdPick('buffer'),
        dmabuf: usablePick(),
        size,
        flags: fc.constantFrom(...ENQ_FLAGS),
      }),
    ),
    ...ioctl(
      'V2_ALLOC',
      v2only(6),
      fc.record({ target: fdPick('buffer'), size: fc.constantFrom(...ALLOC_SIZES) }),
    ),
    ...ioctl(
      'V2_ENQUEUE',
      v2only(8),
      fc.record({
        target: fdPick('buffer'),
        dmabuf: usablePick(),
        size,
        flags: fc.constantFrom(...ENQ_FLAGS),
      }),
    ),
    ...ioctl('SYNC', 3, fc.record({ target: fdPick('dmabuf'), flags: fc.constantFrom(...SYNC_FLAGS) })),
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
