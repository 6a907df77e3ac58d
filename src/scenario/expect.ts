/**
 * A step's expectations, checked as it runs: the return value (`ret`, `errno`, default "not an error"), the
 * step's duration, and data (`text`, `hex`, `fill`, or `samples` that must follow a device's signals or a
 * table). A mismatch throws a {@link StepError} with what was expected and what came.
 */
import { readScans, type ScanLayout } from '../hw/scan.ts';
import { computeScanLayout } from '../kernel/iio/buffer.ts';
import { channelName } from '../kernel/iio/types.ts';
import type { DeviceConfig } from '../sim/devices.ts';
import type { SimDevice } from '../sim/drivers.ts';
import { ERRNO, errnoName } from '../uapi/errno.ts';
import { StepError } from './actions/define.ts';
import type { SampleMode } from './target.ts';
import { bytesOf, type DataCheck, type ExpectObject, parseDuration } from './values.ts';

/** A step's `expect`: `'any'`, the mapping form, or nothing. */
export type StepExpect = 'any' | ExpectObject | undefined;

function showRet(ret: number): string {
  return ret < 0 ? `-${errnoName(-ret) ?? -ret}` : String(ret);
}

/**
 * Checks a syscall's return and the step's elapsed time against the expectation (default: not an error);
 * `elapsedNs` null: durations are not checked (a real kernel's time is not the simulator's).
 */
export function checkReturn(ret: number, ex: StepExpect, elapsedNs: number | null): void {
  if (ex === 'any') return;
  if (ex?.errno !== undefined) {
    const want = -(ERRNO as Record<string, number>)[ex.errno]!;
    if (ret !== want) throw new StepError(`-${ex.errno}`, showRet(ret));
  } else if (ex?.ret === 'fd') {
    if (ret < 0) throw new StepError('an fd (>= 0)', showRet(ret));
  } else if (ex?.ret !== undefined) {
    if (ret !== ex.ret) throw new StepError(String(ex.ret), showRet(ret));
  } else if (ret < 0) throw new StepError('success (>= 0)', showRet(ret));
  if (elapsedNs === null) return;
  if (ex?.minNs !== undefined && elapsedNs < parseDuration(ex.minNs)!)
    throw new StepError(`at least ${ex.minNs}`, `${elapsedNs} ns`);
  if (ex?.maxNs !== undefined && elapsedNs > parseDuration(ex.maxNs)!)
    throw new StepError(`at most ${ex.maxNs}`, `${elapsedNs} ns`);
}

/** Where sample checks of one process stand: the next sample index per device and channel list. */
export type SampleCursors = Map<string, number>;

/** What sample checks need: the board, where the process's earlier checks ended, and how checks chain. */
export interface SampleContext {
  device(name: string): SimDevice<DeviceConfig>;
  readonly cursors: SampleCursors;
  readonly mode: SampleMode;
}

/** Checks bytes against a data expectation. */
export function checkData(bytes: Uint8Array, d: DataCheck | undefined, ctx: SampleContext): void {
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
  if (d.samples) checkSamples(bytes, d.samples, ctx);
}

type SamplesCheck = NonNullable<DataCheck['samples']>;

/**
 * Decodes scans of the given channels and checks them against the device's signals (or a table). The
 * first check finds the sample index (phase) of the first scan; in `continuous` mode later ones continue
 * exactly from where it ended, in `ordered` mode each finds its own phase at or after that point.
 */
function checkSamples(bytes: Uint8Array, s: SamplesCheck, ctx: SampleContext): void {
  const dev = ctx.device(s.device);
  const key = `${s.device}:${s.channels.join(',')}`;
  const { chans, layout } = checkedLayout(dev, s, key);
  const count = Math.min(s.scans ?? Number.POSITIVE_INFINITY, Math.floor(bytes.length / layout.bytesPerScan));
  if (count === 0) throw new StepError('at least one whole scan', `${bytes.length} bytes`);
  const scans = readScans(bytes, 0, layout, count);
  const order = layout.fields.map((f) => chans.findIndex((c) => c.hwChannel === f.channel));
  const expected = (n: number): number[] =>
    layout.fields.map((f, i) =>
      s.table ? s.table[order[i]!]![n % s.table[order[i]!]!.length]! : dev.adc!.sampleOf(f.channel, n),
    );
  if (!s.table && !dev.adc) throw new StepError(`an ADC named ${s.device}`, 'not an ADC: give a table');
  const period = s.table ? s.table[0]!.length : 1 << 22;
  const cursor = ctx.cursors.get(key);
  const same = (n: number, k: number) => expected(n).every((v, i) => v === scans[k]![i]);
  /** How many scans from the start follow the signal from sample n on. */
  const run = (n: number) => {
    let k = 0;
    while (k < count && same(n + k, k)) k++;
    return k;
  };
  let start: number;
  if (cursor !== undefined && ctx.mode === 'continuous') start = cursor;
  else {
    // A table may repeat a scan inside its period (a triangle wave): the phase is where every scan follows.
    start = -1;
    let best = -1;
    for (const n of phases(scans[0]!, expected, cursor ?? 0, period, s)) {
      const k = run(n);
      if (k === count) {
        start = n;
        break;
      }
      if (best < 0 || k > run(best)) best = n;
    }
    if (start < 0) start = best;
  }
  const k = run(start);
  if (k < count) {
    const e = expected(start + k);
    throw new StepError(`scan ${k} = [${e.join(', ')}] (sample ${start + k})`, `[${scans[k]!.join(', ')}]`);
  }
  ctx.cursors.set(key, start + count);
}

/** The channels and scan layout a sample check decodes, per device and channel list. */
interface CheckedLayout {
  readonly chans: readonly SimDevice<DeviceConfig>['iio']['channels'][number][];
  readonly layout: ScanLayout;
}

/**
 * Layouts of the sample checks, computed once per device and channel list (a device's channels never
 * change): a check per block would otherwise compile a new layout for every block it checks.
 */
const checkedLayouts = new WeakMap<object, Map<string, CheckedLayout>>();

function checkedLayout(dev: SimDevice<DeviceConfig>, s: SamplesCheck, key: string): CheckedLayout {
  let byKey = checkedLayouts.get(dev.iio);
  const hit = byKey?.get(key);
  if (hit) return hit;
  const chans = s.channels.map((name) => {
    const ch = dev.iio.channels.find(
      (c) => channelName(c) === name || channelName(c).replace(/^(in|out)_/, '') === name,
    );
    if (!ch) throw new StepError(`a channel '${name}' of ${s.device}`, 'none');
    return ch;
  });
  const { layout } = computeScanLayout(dev.iio, new Set(chans.map((c) => c.scanIndex)), false);
  const out = { chans, layout };
  if (!byKey) {
    byKey = new Map();
    checkedLayouts.set(dev.iio, byKey);
  }
  byKey.set(key, out);
  return out;
}

/** Candidate phases tried per check: a table repeats a scan a few times per period, a ramp once per wrap. */
const MAX_PHASES = 64;

/**
 * The sample indexes in `[from, from + period)` whose expected scan is `first`, in order (at most
 * {@link MAX_PHASES}); throws when there is none.
 */
function* phases(
  first: number[],
  expected: (n: number) => number[],
  from: number,
  period: number,
  s: SamplesCheck,
): Generator<number> {
  let found = 0;
  for (let k = from; k < from + period && found < MAX_PHASES; k++) {
    const e = expected(k);
    if (e.every((v, i) => v === first[i])) {
      found++;
      yield k;
    }
  }
  if (found > 0) return;
  throw new StepError(
    `samples of ${s.channels.join(', ')}`,
    `scan [${first.join(', ')}] matches no sample index${from > 0 ? ` from ${from} on` : ''}`,
  );
}
