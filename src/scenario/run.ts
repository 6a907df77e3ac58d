/**
 * Runs a loaded scenario: builds the simulator, schedules the faults, turns each process's steps into
 * syscalls, checks every expectation, and reports failures by process, step, expected and got.
 */
import { readScans } from '../hw/scan.ts';
import { computeScanLayout } from '../kernel/iio/buffer.ts';
import { channelName } from '../kernel/iio/types.ts';
import type { PollEntry, Sys } from '../sim/process.ts';
import { createSimulator, type RunResult, type Simulator } from '../sim/simulator.ts';
import { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_WRITE } from '../uapi/dma-buf.ts';
import { ERRNO, errnoName } from '../uapi/errno.ts';
import { F_SETFL, O_NONBLOCK, O_RDONLY, O_RDWR } from '../uapi/fcntl.ts';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/mman.ts';
import { formatPollEvents, ioctlRequestNumber } from '../uapi/names.ts';
import { SIGKILL, SIGNAL_NAMES } from '../uapi/signal.ts';
import {
  allocHeapDmabuf,
  allocIioDmabufV2,
  attachDmabuf,
  detachDmabuf,
  enqueueDmabuf,
  syncDmabuf,
} from '../user/dmabuf.ts';
import { iioSysfsDir, openBuffer, readAttr, writeAttr } from '../user/iio.ts';
import { parseDuration } from './load.ts';
import type { ActionName, Scenario } from './schema.ts';
import { flagValue, STRUCTS } from './symbols.ts';

/** A step that did not do what the scenario expected. */
export interface StepFailure {
  readonly process: string;
  /** Where: `steps[3] (label)` with loop iterations. */
  readonly step: string;
  readonly expected: string;
  readonly got: string;
  readonly time: number;
}

/** What running a scenario produced. */
export interface ScenarioOutcome {
  readonly failures: readonly StepFailure[];
  readonly result: RunResult;
  readonly sim: Simulator;
}

/** Default time limit of a run when the scenario gives none: 10 s of virtual time. */
export const DEFAULT_UNTIL_NS = 10_000_000_000;

class StepError extends Error {
  readonly expected: string;
  readonly got: string;
  constructor(expected: string, got: string) {
    super(`expected ${expected}, got ${got}`);
    this.expected = expected;
    this.got = got;
  }
}

type Step = Record<string, unknown>;
type Expect =
  | 'any'
  | {
      ret?: number | 'fd';
      errno?: string;
      revents?: Record<string, unknown>;
      data?: DataSpec;
      minNs?: number | string;
      maxNs?: number | string;
    }
  | undefined;
interface DataSpec {
  samples?: { device: string; channels: string[]; table?: number[][]; scans?: number };
  hex?: string;
  text?: string;
  fill?: number;
}

function signalNumber(s: string | number | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  if (typeof s === 'number') return s;
  const found = Object.entries(SIGNAL_NAMES).find(([, n]) => n === s);
  return found ? Number(found[0]) : dflt;
}

function showRet(ret: number): string {
  return ret < 0 ? `-${errnoName(-ret) ?? -ret}` : String(ret);
}

function bytesOf(spec: unknown): Uint8Array {
  if (typeof spec === 'string') return new TextEncoder().encode(spec);
  const o = spec as { hex?: string; fill?: number; len?: number };
  if (o.hex !== undefined)
    return Uint8Array.from((o.hex.replace(/\s+/g, '').match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));
  return new Uint8Array(o.len ?? 0).fill(o.fill ?? 0);
}

/** One process's interpreter state. */
class Interp {
  readonly sys: Sys;
  readonly sim: Simulator;
  readonly name: string;
  readonly fds = new Map<string, number>();
  readonly maps = new Map<string, { addr: number; length: number }>();
  readonly bufs = new Map<string, { addr: number; len: number; filled: number }>();
  readonly cursors = new Map<string, number>();
  #heap = -1;

  constructor(sys: Sys, sim: Simulator, name: string) {
    this.sys = sys;
    this.sim = sim;
    this.name = name;
  }

  fd(ref: unknown, vars: Map<string, string>): number {
    if (typeof ref === 'number') return ref;
    // A revents key is always a string: digits stand for the fd number itself.
    if (/^-?\d+$/.test(String(ref))) return Number(ref);
    const name = this.#name(String(ref), vars);
    const fd = this.fds.get(name);
    if (fd === undefined)
      throw new StepError(`an fd named '${name}'`, 'none (the step that opens it failed)');
    return fd;
  }

  #name(ref: string, vars: Map<string, string>): string {
    return ref.startsWith('$') ? (vars.get(ref.slice(1)) ?? ref) : ref;
  }

  bind(name: unknown, fd: number, vars: Map<string, string>): void {
    if (typeof name === 'string' && fd >= 0) this.fds.set(this.#name(name, vars), fd);
  }

  map(ref: string, vars: Map<string, string>): { addr: number; length: number } {
    const n = this.#name(ref, vars);
    const m = this.maps.get(n);
    if (!m) throw new StepError(`a mapping named '${n}'`, 'none');
    return m;
  }

  async run(steps: unknown[], where: string, vars: Map<string, string>): Promise<void> {
    for (const [i, raw] of steps.entries()) {
      const step = raw as Step;
      const action = Object.keys(step).find((k) => k !== 'label' && k !== 'expect') as ActionName;
      const label = typeof step.label === 'string' ? ` (${step.label})` : '';
      const here = `${where}[${i}] ${action}${label}`;
      const t0 = this.sys.now();
      try {
        await this.#step(action, step[action], step.expect as Expect, here, vars, t0);
      } catch (e) {
        if (e instanceof StepError) throw new StepFailureError(here, e.expected, e.got);
        throw e;
      }
    }
  }

  /** Checks a syscall's return against the step's expectation (default: not an error). */
  #checkRet(ret: number, ex: Expect, t0: number): void {
    if (ex === 'any') return;
    if (ex?.errno !== undefined) {
      const want = -(ERRNO as Record<string, number>)[ex.errno]!;
      if (ret !== want) throw new StepError(`-${ex.errno}`, showRet(ret));
    } else if (ex?.ret === 'fd') {
      if (ret < 0) throw new StepError('an fd (>= 0)', showRet(ret));
    } else if (ex?.ret !== undefined) {
      if (ret !== ex.ret) throw new StepError(String(ex.ret), showRet(ret));
    } else if (ret < 0) throw new StepError('success (>= 0)', showRet(ret));
    const dt = this.sys.now() - t0;
    if (ex?.minNs !== undefined && dt < parseDuration(ex.minNs)!)
      throw new StepError(`at least ${ex.minNs}`, `${dt} ns`);
    if (ex?.maxNs !== undefined && dt > parseDuration(ex.maxNs)!)
      throw new StepError(`at most ${ex.maxNs}`, `${dt} ns`);
  }

  #checkData(bytes: Uint8Array, d: DataSpec | undefined): void {
    if (!d) return;
    if (d.text !== undefined) {
      const got = new TextDecoder('latin1').decode(bytes);
      if (got !== d.text) throw new StepError(JSON.stringify(d.text), JSON.stringify(got));
    }
    if (d.hex !== undefined) {
      const want = bytesOf({ hex: d.hex });
      const got = bytes.subarray(0, want.length);
      if (got.length < want.length || got.some((b, i) => b !== want[i]))
        throw new StepError(`bytes ${d.hex}`, Buffer.from(got).toString('hex'));
    }
    if (d.fill !== undefined) {
      const i = bytes.findIndex((b) => b !== d.fill);
      if (i >= 0) throw new StepError(`every byte ${d.fill}`, `byte ${i} is ${bytes[i]}`);
    }
    if (d.samples) this.#checkSamples(bytes, d.samples);
  }

  /** Decodes scans of the given channels and checks them against the device's signals (or a table). */
  #checkSamples(bytes: Uint8Array, s: NonNullable<DataSpec['samples']>): void {
    const dev = this.sim.device(s.device);
    const chans = s.channels.map((name) => {
      const ch = dev.iio.channels.find(
        (c) => channelName(c) === name || channelName(c).replace(/^(in|out)_/, '') === name,
      );
      if (!ch) throw new StepError(`a channel '${name}' of ${s.device}`, 'none');
      return ch;
    });
    const { layout } = computeScanLayout(dev.iio, new Set(chans.map((c) => c.scanIndex)), false);
    const count = Math.min(
      s.scans ?? Number.POSITIVE_INFINITY,
      Math.floor(bytes.length / layout.bytesPerScan),
    );
    if (count === 0) throw new StepError('at least one whole scan', `${bytes.length} bytes`);
    const scans = readScans(bytes, 0, layout, count);
    const order = layout.fields.map((f) => chans.findIndex((c) => c.hwChannel === f.channel));
    const expected = (n: number): number[] =>
      layout.fields.map((f, i) =>
        s.table ? s.table[order[i]!]![n % s.table[order[i]!]!.length]! : dev.adc!.sampleOf(f.channel, n),
      );
    if (!s.table && !dev.adc) throw new StepError(`an ADC named ${s.device}`, 'not an ADC: give a table');
    const key = `${s.device}:${s.channels.join(',')}`;
    let n = this.cursors.get(key);
    const period = s.table ? s.table[0]!.length : 1 << 22;
    if (n === undefined) {
      n = -1;
      for (let k = 0; k < period; k++) {
        const e = expected(k);
        if (e.every((v, i) => v === scans[0]![i])) {
          n = k;
          break;
        }
      }
      if (n < 0)
        throw new StepError(
          `samples of ${s.channels.join(', ')}`,
          `scan [${scans[0]!.join(', ')}] matches no sample index`,
        );
    }
    for (let k = 0; k < count; k++, n++) {
      const e = expected(n);
      if (!e.every((v, i) => v === scans[k]![i]))
        throw new StepError(`scan ${k} = [${e.join(', ')}] (sample ${n})`, `[${scans[k]!.join(', ')}]`);
    }
    this.cursors.set(key, n);
  }

  async #step(
    action: ActionName,
    a: unknown,
    ex: Expect,
    here: string,
    vars: Map<string, string>,
    t0: number,
  ): Promise<void> {
    const sys = this.sys;
    const o = (a ?? {}) as Record<string, unknown>;
    const exObj = typeof ex === 'object' ? ex : undefined;
    const done = (ret: number) => this.#checkRet(ret, ex, t0);
    switch (action) {
      case 'open': {
        const ret = await sys.open(
          String(o.path),
          o.flags === undefined ? O_RDONLY : flagValue(o.flags as string),
        );
        done(ret);
        this.bind(o.as, ret, vars);
        return;
      }
      case 'close': {
        const fd = this.fd(a, vars);
        // The next heap_alloc opens the heap again once the program closed it.
        if (fd === this.#heap) this.#heap = -1;
        return done(await sys.close(fd));
      }
      case 'dup': {
        const ret = await sys.dup(this.fd(o.fd, vars));
        done(ret);
        this.bind(o.as, ret, vars);
        return;
      }
      case 'dup2': {
        const from = this.fd(o.fd, vars);
        const ret = await sys.dup2(from, o.to as number);
        // dup2 onto the heap fd closed it: the next heap_alloc opens the heap again.
        if (ret >= 0 && ret === this.#heap && from !== ret) this.#heap = -1;
        done(ret);
        this.bind(o.as, ret, vars);
        return;
      }
      case 'read':
      case 'pread': {
        const len = o.len as number;
        const key = typeof o.into === 'string' ? this.#name(o.into, vars) : `@${here}`;
        let buf = this.bufs.get(key);
        if (!buf || buf.len < len) {
          buf = { addr: sys.mem.alloc(Math.max(1, len)), len, filled: 0 };
          this.bufs.set(key, buf);
        }
        const ret =
          action === 'read'
            ? await sys.read(this.fd(o.fd, vars), buf.addr, len)
            : await sys.pread(this.fd(o.fd, vars), buf.addr, len, o.offset as number);
        done(ret);
        buf.filled = Math.max(0, ret);
        if (exObj?.data && ret >= 0) this.#checkData(sys.mem.read(buf.addr, ret), exObj.data);
        return;
      }
      case 'write': {
        const bytes = bytesOf(o.data);
        const addr = sys.mem.alloc(Math.max(1, bytes.length));
        sys.mem.write(addr, bytes);
        return done(await sys.write(this.fd(o.fd, vars), addr, bytes.length));
      }
      case 'lseek':
        return done(
          await sys.lseek(
            this.fd(o.fd, vars),
            o.offset as number,
            typeof o.whence === 'string' ? flagValue(o.whence) : (o.whence as number),
          ),
        );
      case 'fcntl':
        return done(
          await sys.fcntl(
            this.fd(o.fd, vars),
            typeof o.cmd === 'string' ? flagValue(o.cmd) : (o.cmd as number),
            o.arg === undefined ? 0 : flagValue(o.arg as string),
          ),
        );
      case 'ioctl':
        return this.#ioctl(o, ex, vars, t0);
      case 'mmap': {
        const length = o.length as number;
        const ret = await sys.mmap(
          0,
          length,
          o.prot === undefined ? PROT_READ | PROT_WRITE : flagValue(o.prot as string),
          o.flags === undefined ? MAP_SHARED : flagValue(o.flags as string),
          this.fd(o.fd, vars),
          (o.offset as number | undefined) ?? 0,
        );
        done(ret);
        if (typeof o.as === 'string' && ret >= 0)
          this.maps.set(this.#name(o.as, vars), { addr: ret, length });
        return;
      }
      case 'munmap': {
        const m = this.map(String(o.map), vars);
        return done(await sys.munmap(m.addr, (o.length as number | undefined) ?? m.length));
      }
      case 'poll': {
        const entries: PollEntry[] = (o.fds as { fd: unknown; events: unknown }[]).map((f) => ({
          fd: this.fd(f.fd, vars),
          events: flagValue(f.events as string),
        }));
        const timeout =
          o.timeout === undefined
            ? -1
            : typeof o.timeout === 'number'
              ? o.timeout
              : Math.round(parseDuration(o.timeout as string)! / 1e6);
        const ret = await sys.pollfds(entries, timeout);
        done(ret);
        for (const [name, want] of Object.entries(exObj?.revents ?? {})) {
          const fd = this.fd(name, vars);
          const got = entries.find((e) => e.fd === fd)?.revents ?? 0;
          const w = flagValue(want as string);
          if (got !== w)
            throw new StepError(`revents of ${name} = ${formatPollEvents(w)}`, formatPollEvents(got));
        }
        return;
      }
      case 'sleep':
        return done(await sys.nanosleep(parseDuration(a as string)!));
      case 'compute':
        await sys.compute(parseDuration(a as string)!);
        return done(0);
      case 'memfd_create': {
        const ret = await sys.memfd_create(String(o.name), flagValue(o.flags as string | undefined));
        done(ret);
        this.bind(o.as, ret, vars);
        return;
      }
      case 'ftruncate':
        return done(await sys.ftruncate(this.fd(o.fd, vars), o.length as number));
      case 'kill': {
        const target = this.sim.result().processes.find((p) => p.name === o.process);
        return done(await sys.kill(target?.pid ?? -1, signalNumber(o.signal as string | undefined, SIGKILL)));
      }
      case 'sigaction':
        return done(
          await sys.sigaction(signalNumber(o.signal as string, 0), { restart: o.restart === true }),
        );
      case 'attr': {
        if (o.write !== undefined) return done(await writeAttr(sys, String(o.path), String(o.write)));
        const text = await readAttr(sys, String(o.path));
        if (typeof text === 'number') return done(text);
        done(text.length);
        this.#checkData(new TextEncoder().encode(text), exObj?.data);
        return;
      }
      case 'enable_channels': {
        const dir = iioSysfsDir(this.sim.device(String(o.device)).iio.devName);
        let ret = 0;
        for (const ch of o.channels as string[]) {
          const r = await writeAttr(
            sys,
            `${dir}/buffer${(o.buffer as number | undefined) ?? 0}/${ch}_en`,
            o.on === false ? '0' : '1',
          );
          if (r < 0) {
            ret = r;
            break;
          }
        }
        return done(ret);
      }
      case 'enable_buffer': {
        const dir = iioSysfsDir(this.sim.device(String(o.device)).iio.devName);
        return done(
          await writeAttr(
            sys,
            `${dir}/buffer${(o.buffer as number | undefined) ?? 0}/enable`,
            o.on === false ? '0' : '1',
          ),
        );
      }
      case 'buffer_fd': {
        const dev = this.sim.device(String(o.device)).iio;
        const r = await openBuffer(sys, dev.id, (o.index as number | undefined) ?? 0, O_RDWR);
        if (typeof r === 'number') return done(r);
        // The buffer fd never inherits the char device's flags (GETFD-7): set O_NONBLOCK on it.
        if (o.nonblock) {
          const ret = await sys.fcntl(r.fd, F_SETFL, O_NONBLOCK);
          if (ret < 0) return done(ret);
        }
        done(0);
        this.bind(o.as, r.fd, vars);
        this.bind(o.chardev, r.chardev, vars);
        return;
      }
      case 'heap_alloc': {
        if (this.#heap < 0) {
          this.#heap = await sys.open('/dev/dma_heap/system', O_RDWR);
          if (this.#heap < 0) return done(this.#heap);
        }
        const d = await allocHeapDmabuf(sys, this.#heap, o.size as number);
        if (typeof d === 'number') return done(d);
        done(0);
        this.bind(o.as, d.fd, vars);
        this.bind(o.heap, this.#heap, vars);
        this.maps.set(this.#name(String(o.as), vars), { addr: d.addr, length: d.size });
        return;
      }
      case 'iio_alloc': {
        const d = await allocIioDmabufV2(sys, this.fd(o.buffer, vars), o.size as number);
        if (typeof d === 'number') return done(d);
        done(0);
        this.bind(o.as, d.fd, vars);
        this.maps.set(this.#name(String(o.as), vars), { addr: d.addr, length: d.size });
        return;
      }
      case 'attach':
        return done(await attachDmabuf(sys, this.fd(o.buffer, vars), this.fd(o.dmabuf, vars)));
      case 'detach':
        return done(await detachDmabuf(sys, this.fd(o.buffer, vars), this.fd(o.dmabuf, vars)));
      case 'enqueue':
        return done(
          await enqueueDmabuf(
            sys,
            this.sim.abi,
            this.fd(o.buffer, vars),
            this.fd(o.dmabuf, vars),
            o.bytes_used as number,
            flagValue(o.flags as string | undefined),
          ),
        );
      case 'sync': {
        const dir = { read: DMA_BUF_SYNC_READ, write: DMA_BUF_SYNC_WRITE, rw: DMA_BUF_SYNC_RW }[
          o.dir as 'read' | 'write' | 'rw'
        ];
        return done(await syncDmabuf(sys, this.fd(o.dmabuf, vars), o.phase as 'start' | 'end', dir));
      }
      case 'fill': {
        const m = this.map(String(o.map), vars);
        const bytes = bytesOf(o.data);
        sys.mem.write(m.addr + ((o.offset as number | undefined) ?? 0), bytes);
        return;
      }
      case 'check': {
        const name = this.#name(String(o.in), vars);
        const m = this.maps.get(name);
        const b = this.bufs.get(name);
        const addr = m?.addr ?? b?.addr;
        if (addr === undefined) throw new StepError(`a mapping or read buffer named '${name}'`, 'none');
        const len = (o.len as number | undefined) ?? m?.length ?? b!.filled;
        this.#checkData(sys.mem.read(addr + ((o.offset as number | undefined) ?? 0), len), exObj?.data);
        return;
      }
      case 'loop':
        for (let k = 0; k < (o.count as number); k++)
          await this.run(o.steps as unknown[], `${here}#${k}.steps`, vars);
        return;
      case 'foreach':
        for (const item of o.in as string[]) {
          const inner = new Map(vars);
          inner.set(String(o.var), item);
          await this.run(o.steps as unknown[], `${here}{${o.var}=${item}}.steps`, inner);
        }
        return;
    }
  }

  async #ioctl(o: Record<string, unknown>, ex: Expect, vars: Map<string, string>, t0: number): Promise<void> {
    const sys = this.sys;
    const request =
      typeof o.request === 'number'
        ? o.request
        : (ioctlRequestNumber(String(o.request), this.sim.abi) as number);
    const arg = o.arg as Record<string, unknown> | number | null | undefined;
    let addr = 0;
    let after: (() => void) | null = null;
    const value = (v: unknown): number | bigint => {
      if (typeof v === 'number') return v;
      const s = String(v);
      if (/^-?\d+$/.test(s)) return BigInt(s);
      const name = this.#name(s, vars);
      if (this.fds.has(name)) return this.fds.get(name)!;
      return flagValue(s);
    };
    if (typeof arg === 'number') addr = arg;
    else if (arg && 'int' in arg) {
      addr = sys.mem.alloc(4);
      sys.mem.writeInt(addr, Number(value(arg.int)));
      if (typeof arg.out === 'string') after = () => this.bind(arg.out, sys.mem.readInt(addr), vars);
    } else if (arg && 'struct' in arg) {
      const codec = STRUCTS[String(arg.struct)]!;
      const fields: Record<string, number | bigint> = {};
      for (const [k, v] of Object.entries((arg.value as Record<string, unknown>) ?? {})) fields[k] = value(v);
      addr = sys.mem.allocStruct(codec, fields as never);
      const out = arg.out as Record<string, string> | undefined;
      if (out)
        after = () => {
          const got = sys.mem.readStruct(addr, codec);
          for (const [field, name] of Object.entries(out)) this.bind(name, Number(got[field]), vars);
        };
    } else if (arg && 'string' in arg) addr = sys.mem.allocString(String(arg.string));
    else if (arg && 'unmapped' in arg) addr = 0x1000;
    const ret = await sys.ioctl(this.fd(o.fd, vars), request, addr);
    this.#checkRet(ret, ex, t0);
    if (ret >= 0) after?.();
    this.bind(o.as, ret, vars);
  }
}

/** A step failure carried out of a process. */
class StepFailureError extends Error {
  readonly step: string;
  readonly expected: string;
  readonly got: string;
  constructor(step: string, expected: string, got: string) {
    super(`${step}: expected ${expected}, got ${got}`);
    this.step = step;
    this.expected = expected;
    this.got = got;
  }
}

/** Builds the simulator a scenario describes (devices, profile, platform, seed). */
export function scenarioSimulator(s: Scenario): Simulator {
  return createSimulator({
    abi: s.abi ?? 'mainline',
    seed: s.seed ?? 1,
    ...(s.platform === undefined ? {} : { platform: s.platform as never }),
    ...(Array.isArray(s.devices) ? { devices: s.devices as never } : {}),
  });
}

/** Runs a scenario on `sim` (from {@link scenarioSimulator}, with tracers attached by the caller). */
export async function runScenario(s: Scenario, sim: Simulator): Promise<ScenarioOutcome> {
  const failures: StepFailure[] = [];
  const pids = new Map<string, number>();
  for (const p of s.processes) {
    const pid = sim.spawn(
      p.name,
      async (sys) => {
        const interp = new Interp(sys, sim, p.name);
        try {
          await interp.run(p.steps, 'steps', new Map());
        } catch (e) {
          if (!(e instanceof StepFailureError)) throw e;
          failures.push({ process: p.name, step: e.step, expected: e.expected, got: e.got, time: sys.now() });
        }
        return 0;
      },
      {
        compat: p.compat ?? false,
        startAt: p.startAt === undefined ? 0 : parseDuration(p.startAt)!,
        stdio: p.stdio ?? true,
      },
    );
    pids.set(p.name, pid);
  }
  for (const f of s.faults ?? []) {
    const at = parseDuration(f.at)!;
    if ('dmaError' in f)
      sim.at(at, 'fault: dma error', () =>
        sim.device(f.dmaError.device).dma?.injectError(f.dmaError.residue ?? 0),
      );
    else if ('lateIrq' in f)
      sim.at(at, 'fault: late irq', () =>
        sim.device(f.lateIrq.device).dma?.delayNextIrq(parseDuration(f.lateIrq.by)!),
      );
    else if ('kill' in f)
      sim.at(at, 'fault: kill', () =>
        sim.kill(pids.get(f.kill.process)!, signalNumber(f.kill.signal, SIGKILL)),
      );
    else if ('removeDevice' in f)
      sim.at(at, 'fault: remove device', () => sim.removeDevice(f.removeDevice.device));
  }
  const result = await sim.run({ until: s.until === undefined ? DEFAULT_UNTIL_NS : parseDuration(s.until)! });
  for (const proc of result.processes) {
    if (proc.status === 'crashed')
      failures.push({
        process: proc.name,
        step: 'run',
        expected: 'no crash',
        got: proc.reason,
        time: proc.exitTime ?? result.time,
      });
  }
  const want = s.expect;
  for (const [name, status] of Object.entries(want?.processes ?? {})) {
    const p = result.processes.find((x) => x.name === name)!;
    if (p.status !== status)
      failures.push({
        process: name,
        step: 'end of run',
        expected: status,
        got: `${p.status} (${p.reason})`,
        time: result.time,
      });
  }
  for (const p of result.processes) {
    if (want?.processes?.[p.name] !== undefined || p.status === 'exited' || p.status === 'crashed') continue;
    failures.push({
      process: p.name,
      step: 'end of run',
      expected: 'exited',
      got: `${p.status} (${p.reason})`,
      time: result.time,
    });
  }
  for (const [dev, lost] of Object.entries(want?.lost ?? {})) {
    const name = sim.device(dev).config.name;
    const got = result.stats.devices[name]?.scansLost ?? 0;
    if (got !== lost)
      failures.push({
        process: '-',
        step: `lost scans of ${dev}`,
        expected: String(lost),
        got: String(got),
        time: result.time,
      });
  }
  if (want?.liveObjects) {
    const live = Object.fromEntries(
      Object.entries(result.liveObjects).filter(([k]) => k !== 'iio_dma_block(fileio)'),
    );
    const show = (o: Record<string, number>) => JSON.stringify(o);
    if (show(live) !== show(Object.fromEntries(Object.entries(want.liveObjects).sort())))
      failures.push({
        process: '-',
        step: 'live kernel objects',
        expected: show(want.liveObjects),
        got: show(live),
        time: result.time,
      });
  }
  for (const [name, reason] of Object.entries(want?.blockedReason ?? {})) {
    const p = result.processes.find((x) => x.name === name);
    if (!p?.blockedIn?.reason.includes(reason))
      failures.push({
        process: name,
        step: 'blocked reason',
        expected: `…${reason}…`,
        got: p?.blockedIn?.reason ?? p?.status ?? 'none',
        time: result.time,
      });
  }
  return { failures, result, sim };
}
