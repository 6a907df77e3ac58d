/**
 * What the board commands of `iio-sim` (`info`, `capture`, `play`) share: the output streams, the system
 * options (`--devices FILE`, `--abi`, `--seed`, `--platform`) and the simulator they describe, and the
 * directory listing the simulator gives in place of getdents64.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { PLATFORMS, type PlatformName } from '../kernel/platform.ts';
import { type DeviceConfig, DeviceSchema, validateDevices } from '../sim/devices.ts';
import { createSimulator, type Simulator } from '../sim/simulator.ts';
import { ABI_PROFILES, type AbiProfile } from '../uapi/ioctls.ts';

/** Output streams of the CLI, replaceable in tests. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Raw bytes to stdout (`capture` without `-o`); absent: the bytes go to `process.stdout`. */
  outBytes?(bytes: Uint8Array): void;
  /** stderr is a terminal: progress lines are shown (default false). */
  readonly errIsTty?: boolean;
  /** Shows (or with null clears) the one progress line on stderr. */
  progress?(line: string | null): void;
}

/** Options and positionals of one command line. */
export type CliOptions = Record<string, string | boolean | undefined>;

/** The system options of a command line, checked. */
export interface SystemOptions {
  abi?: AbiProfile;
  seed?: number;
  platform?: PlatformName;
}

/**
 * Checks `--abi`, `--seed` and `--platform`: the values, or one error line. `--seed` takes an integer in
 * 0..2^32-1 as a scenario's `seed:` does.
 */
export function systemOptions(opts: CliOptions): SystemOptions | string {
  const out: SystemOptions = {};
  if (opts.abi !== undefined) {
    if (!(ABI_PROFILES as readonly unknown[]).includes(opts.abi))
      return `--abi takes ${ABI_PROFILES.join(' or ')}, not '${String(opts.abi)}'`;
    out.abi = opts.abi as AbiProfile;
  }
  if (opts.seed !== undefined) {
    const s = String(opts.seed);
    const n = Number(s);
    if (!/^\d+$/.test(s) || n > 2 ** 32 - 1)
      return `--seed takes an integer from 0 to 4294967295, not '${s}'`;
    out.seed = n;
  }
  if (opts.platform !== undefined) {
    if (!Object.hasOwn(PLATFORMS, String(opts.platform)))
      return `--platform takes ${Object.keys(PLATFORMS).join(', ')}, not '${String(opts.platform)}'`;
    out.platform = opts.platform as PlatformName;
  }
  return out;
}

const DeviceList = z.array(DeviceSchema).min(1).max(16);

/**
 * Reads a board from `file`: a YAML (or JSON) list of devices as a scenario's `devices:` takes them, or a
 * mapping with a `devices:` key (a scenario file). Returns the devices or one located error line.
 */
export function readDevicesFile(file: string): DeviceConfig[] | string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return `${file}:1:1: cannot read the file (${code === 'ENOENT' ? 'no such file' : (code ?? String(e))})`;
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    return `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  const list =
    value !== null && typeof value === 'object' && !Array.isArray(value) && 'devices' in value
      ? (value as { devices: unknown }).devices
      : value;
  const where = list === value ? '' : 'devices';
  const parsed = DeviceList.safeParse(list);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = [where, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    return `${file}:1:1: ${path ? `${path}: ` : ''}${issue.message} (expected a list of devices as in a scenario's devices:)`;
  }
  const problems = validateDevices(parsed.data);
  if (problems.length > 0) {
    const p = problems[0]!;
    const path = [where, ...p.path.map(String)].filter((x) => x !== '').join('.');
    return `${file}:1:1: ${path}: ${p.message}`;
  }
  return parsed.data;
}

/** Builds the simulator of a board command, or prints why it cannot and returns null. */
export function boardSimulator(command: string, opts: CliOptions, io: CliIo): Simulator | null {
  const sys = systemOptions(opts);
  if (typeof sys === 'string') {
    io.err(`iio-sim ${command}: ${sys}`);
    return null;
  }
  let devices: DeviceConfig[] | undefined;
  if (opts.devices !== undefined) {
    const d = readDevicesFile(String(opts.devices));
    if (typeof d === 'string') {
      io.err(d);
      return null;
    }
    devices = d;
  }
  return createSimulator({
    ...(sys.abi === undefined ? {} : { abi: sys.abi }),
    ...(sys.seed === undefined ? {} : { seed: sys.seed }),
    ...(sys.platform === undefined ? {} : { platform: sys.platform }),
    ...(devices === undefined ? {} : { devices }),
  });
}

/**
 * The names in the sysfs directory `dir`, sorted, or null when it is no directory. The simulator has no
 * getdents64, so a simulated `ls` walks the kernel's path tree through this one helper; every value is
 * still read through open()/read() by the simulated process.
 */
export function listSysfsDir(sim: Simulator, dir: string): string[] | null {
  return sim.kernel.paths.list(dir) ?? null;
}

/** Whether `path` is a directory of the simulated file system (the d_type getdents64 would give). */
export function isSysfsDir(sim: Simulator, path: string): boolean {
  return sim.kernel.paths.list(path) !== undefined;
}
