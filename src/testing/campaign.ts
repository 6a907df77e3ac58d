/**
 * The campaign `iio-sim fuzz` runs and the property tests run in small: model-based contract runs for both
 * ABI profiles with LP64 and ILP32 processes, then raw syscall fuzzing. Each part reports its runs and the
 * syscalls its commands made (part i uses seed S + i, so that the parts explore different sequences);
 * the first failure stops the campaign with its seed, its fast-check path, the
 * shrunk sequence and (for contract parts) a scenario file reproducing it.
 */

import type { AbiProfile } from '../uapi/ioctls.ts';
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
