/**
 * The campaign `iio-sim fuzz` runs and the property tests run in small: model-based contract runs for both
 * ABI profiles with LP64 and ILP32 processes, then raw syscall fuzzing. Each part reports its runs and the
 * syscalls its commands made (part i uses seed S + i, so that the parts explore different sequences);
 * the first failure stops the campaign with its seed, its fast-check path, the
 * shrunk sequence and (for contract parts) a scenario file reproducing it.
 */

import type { AbiProfile } from '../uapi/ioctls.ts';
import type { KernelSide } from './against-real.ts';
import { checkContract } from './contract.ts';
import { fuzzCampaign } from './fuzz.ts';

/** Which parts a campaign runs. */
export type CampaignMode = 'all' | 'contract' | 'syscalls';

/** Options of {@link runCampaign}. */
export interface CampaignOptions {
  readonly runs: number;
  readonly seed: number;
  readonly mode?: CampaignMode;
  /** Longest command sequence or program (default 200). */
  readonly maxCalls?: number;
  /** Mode `syscalls` only: replay the fuzzed program at this fast-check path (from a failure report). */
  readonly path?: string;
  /** Called after each part. */
  readonly onPart?: (part: CampaignPart) => void;
  /**
   * Against the real kernel (`--against real`): the mainline contract parts only, every history also run on a
   * fresh kernel side from this factory (see {@link KernelSide.start}) and compared call for call.
   */
  readonly kernel?: (compat: boolean) => Promise<KernelSide>;
  /** Against the real kernel: only this part (`lp64` or `ilp32`), with `seed` as its own seed (replays). */
  readonly part?: 'lp64' | 'ilp32';
  /** Contract parts: replay the case at `path` with fast-check's replay path of its commands. */
  readonly replayPath?: string;
}

/** The outcome of one part of a campaign. */
export interface CampaignPart {
  readonly name: string;
  readonly runs: number;
  readonly syscalls: number;
  readonly ok: boolean;
  /** Seed, path, what broke and the shrunk sequence. */
  readonly failure?: string;
  /** Contract parts: a scenario file reproducing the failure. */
  readonly scenario?: string;
  /** Against the real kernel: the syscalls the kernel's process made. */
  readonly kernelSyscalls?: number;
}

/** The outcome of a campaign. */
export interface CampaignReport {
  readonly parts: readonly CampaignPart[];
  readonly syscalls: number;
  readonly ok: boolean;
}

const CONTRACT_PARTS: readonly { profile: AbiProfile; compat: boolean }[] = [
  { profile: 'mainline', compat: false },
  { profile: 'mainline', compat: true },
  { profile: 'v2', compat: false },
  { profile: 'v2', compat: true },
];

/** Runs the campaign part by part, stopping at the first failure. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const mode = options.mode ?? 'all';
  const parts: CampaignPart[] = [];
  const done = (p: CampaignPart) => {
    parts.push(p);
    options.onPart?.(p);
    return p.ok;
  };
  if (options.kernel) return againstReal(options, done);
  let ok = true;
  if (mode !== 'syscalls')
    for (const [i, { profile, compat }] of CONTRACT_PARTS.entries()) {
      const r = await checkContract({
        profile,
        compat,
        runs: options.runs,
        seed: options.seed + i,
        ...(options.maxCalls === undefined ? {} : { maxCommands: options.maxCalls }),
      });
      ok = done({
        name: `contract ${profile} ${compat ? 'ILP32' : 'LP64'}`,
        runs: r.runs,
        syscalls: r.syscalls,
        ok: r.ok,
        ...(r.failure ? { failure: r.failure.text, scenario: r.failure.scenario } : {}),
      });
      if (!ok) break;
    }
  if (ok && mode !== 'contract') {
    const r = await fuzzCampaign({
      runs: options.runs,
      seed: options.seed + CONTRACT_PARTS.length,
      ...(options.maxCalls === undefined ? {} : { maxCalls: options.maxCalls }),
      ...(options.path === undefined ? {} : { path: options.path }),
    });
    const path = r.failure ? /path ([\d:]+)/.exec(r.failure)?.[1] : undefined;
    const replay = `iio-sim fuzz --mode syscalls --seed ${options.seed} --max-calls ${options.maxCalls ?? 200} --path ${path}`;
    ok = done({
      name: 'syscall fuzzing',
      runs: r.runs,
      syscalls: r.syscalls,
      ok: r.ok,
      ...(r.failure ? { failure: `${r.failure}\nreplay it with: ${replay}` } : {}),
    });
  }
  return { parts, syscalls: parts.reduce((n, p) => n + p.syscalls, 0), ok };
}

/** The mainline contract parts against the real kernel (the syscall fuzzer and v2 have no kernel to compare). */
async function againstReal(
  options: CampaignOptions,
  done: (p: CampaignPart) => boolean,
): Promise<CampaignReport> {
  const parts: CampaignPart[] = [];
  const which = CONTRACT_PARTS.filter(
    (p) =>
      p.profile === 'mainline' && (options.part === undefined || p.compat === (options.part === 'ilp32')),
  );
  for (const [i, { compat }] of which.entries()) {
    const seed = options.part === undefined ? options.seed + i : options.seed;
    const maxCalls = options.maxCalls ?? 200;
    const r = await checkContract({
      profile: 'mainline',
      compat,
      runs: options.runs,
      seed,
      maxCommands: maxCalls,
      kernel: options.kernel!,
      ...(options.path === undefined ? {} : { path: options.path }),
      ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
    });
    const f = r.failure;
    const replay = f
      ? `iio-sim fuzz --against real --part ${compat ? 'ilp32' : 'lp64'} --seed ${seed} --max-calls ${maxCalls} --path ${f.path} --replay-path '${f.replayPath}'`
      : '';
    const part: CampaignPart = {
      name: `against real: mainline ${compat ? 'ILP32' : 'LP64'}`,
      runs: r.runs,
      syscalls: r.syscalls,
      kernelSyscalls: r.kernelSyscalls,
      ok: r.ok,
      ...(f ? { failure: `${f.text}\nreplay it with: ${replay}`, scenario: f.scenario } : {}),
    };
    parts.push(part);
    if (!done(part)) break;
  }
  return { parts, syscalls: parts.reduce((n, p) => n + p.syscalls, 0), ok: parts.every((p) => p.ok) };
}
