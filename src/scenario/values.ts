/**
 * The value forms scenario files share (durations, flags, references, byte specs, expectations), as zod
 * schemas, with the parsers that turn them into numbers and bytes. Actions, the schema and the loader all
 * take them from here.
 */
import { z } from 'zod';
import { SIGNAL_NAMES } from '../uapi/signal.ts';
import { flagNamed } from './symbols.ts';

const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$/;

/**
 * Largest duration or time a scenario may give: 10^15 ns (1,000,000 s, about 11.6 days). A time twice as
 * large is still an exact integer of ns (below 2^53), so adding any duration to any time a run reaches
 * stays exact.
 */
export const MAX_TIME_NS = 1e15;

/** Parses a duration to ns, or null. */
export function parseDuration(d: number | string): number | null {
  if (typeof d === 'number') return d;
  const m = DURATION.exec(d);
  if (!m) return null;
  const scale = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns' | 'us' | 'µs' | 'ms' | 's'];
  const v = Math.round(Number(m[1]) * scale);
  return Number.isSafeInteger(v) ? v : null;
}

/** A duration or time: integer nanoseconds, or a string with a unit (`250ns`, `10us`, `1.5ms`, `2s`). */
export const Duration = z.union([
  z.number().int().nonnegative().max(MAX_TIME_NS, 'expected a duration of at most 1000000s (10^15 ns)'),
  z
    .string()
    .regex(/^\d+(\.\d+)?(ns|us|µs|ms|s)$/, 'expected a duration like 250ns, 10us, 1.5ms or 2s')
    // zod runs this check even when the pattern failed: that case is the pattern's message alone.
    .refine((d) => {
      if (!DURATION.test(d)) return true;
      const ns = parseDuration(d);
      return ns !== null && ns <= MAX_TIME_NS;
    }, 'expected a duration of at most 1000000s (10^15 ns)'),
]);

/** A C `int`: what the kernel takes for an fd, a command, a signal or a timeout in ms. */
export const CInt = z
  .number()
  .int()
  .min(-(2 ** 31), 'expected a C int (-2147483648 to 2147483647)')
  .max(2 ** 31 - 1, 'expected a C int (-2147483648 to 2147483647)');

/** A 32-bit flags word or request number, signed or unsigned (-2^31 to 2^32 - 1). */
export const Word32 = z
  .number()
  .int()
  .min(-(2 ** 31), 'expected a 32-bit value (-2147483648 to 4294967295)')
  .max(2 ** 32 - 1, 'expected a 32-bit value (-2147483648 to 4294967295)');

/** Flags: a number, a name, `A|B`, or a list of names. */
export const Flags = z.union([Word32, z.string(), z.array(z.string())]);

/** A reference to a named fd, mapping or buffer (`$var` inside a foreach), or a literal fd number. */
export const Ref = z.union([z.string().min(1), CInt]);

/** A signal by name (`SIGKILL`) or number, as kill(2) takes it: a number may be any C int (the kernel answers -EINVAL). */
export const Signal = z.union([z.string(), CInt]);

/** A signal a fault sends: a name, or a number from 1 to 64. */
export const FaultSignal = z.union([
  z.string(),
  z.number().int().min(1, 'expected a signal from 1 to 64').max(64, 'expected a signal from 1 to 64'),
]);

/** Bytes a step writes: text, `{hex}`, or `len` bytes equal to `fill`. */
export const BytesSpec = z.union([
  z.string(),
  z.strictObject({ hex: z.string().regex(/^([0-9a-fA-F]{2}\s*)*$/, 'hex bytes like "00 f8 07"') }),
  z.strictObject({
    fill: z.number().int().min(0).max(255),
    len: z
      .number()
      .int()
      .nonnegative()
      .max(1 << 26),
  }),
]);

/** A byte count a step reads or checks (at most 256 MiB). */
export const MaxLen = z
  .number()
  .int()
  .nonnegative()
  .max(1 << 28);

/** A data check on bytes a step read or a mapping holds. */
export const DataCheck = z.strictObject({
  /** Samples of a device's channels, decoded with the scan layout of those channels, must follow the signals. */
  samples: z
    .strictObject({
      device: z.string(),
      channels: z.array(z.string()).min(1),
      /** Table of expected scans (one array per channel) repeating with an unknown phase, e.g. a loopback waveform. */
      table: z.array(z.array(z.number().int()).min(1)).optional(),
      /** Scans the check covers (default: all the bytes hold). */
      scans: z.number().int().positive().optional(),
    })
    .optional(),
  /** The bytes start with these: `hex`, `text`, or every byte equal to `fill`. */
  hex: z
    .string()
    .regex(/^([0-9a-fA-F]{2}\s*)*$/)
    .optional(),
  text: z.string().optional(),
  fill: z.number().int().min(0).max(255).optional(),
});

/** A parsed {@link DataCheck}. */
export type DataCheck = z.infer<typeof DataCheck>;

/** The mapping form of {@link Expect}. */
export const ExpectObject = z.strictObject({
  ret: z.union([z.number().int(), z.literal('fd')]).optional(),
  errno: z
    .string()
    .regex(/^E[A-Z0-9]+$/)
    .optional(),
  revents: z.record(z.string(), Flags).optional(),
  data: DataCheck.optional(),
  /** Elapsed virtual time of the step, at least / at most. */
  minNs: Duration.optional(),
  maxNs: Duration.optional(),
});

/** A parsed {@link ExpectObject}. */
export type ExpectObject = z.infer<typeof ExpectObject>;

/** What a step must return. Without `expect`, any negative return fails the step. */
export const Expect = z.union([z.literal('any'), ExpectObject]);

/** The bytes of a {@link BytesSpec}. */
export function bytesOf(spec: z.infer<typeof BytesSpec>): Uint8Array {
  if (typeof spec === 'string') return new TextEncoder().encode(spec);
  if ('hex' in spec)
    return Uint8Array.from(
      (spec.hex.replace(/\s+/g, '').match(/../g) ?? []).map((h) => Number.parseInt(h, 16)),
    );
  return new Uint8Array(spec.len).fill(spec.fill);
}

/** The first name in a flags value that is neither a known flag nor a number, or null. */
export function unknownFlag(flags: unknown): string | null {
  if (typeof flags === 'number' || flags === undefined) return null;
  const names = Array.isArray(flags)
    ? flags
    : String(flags)
        .split('|')
        .map((x) => x.trim());
  for (const n of names) if (flagNamed(n) === undefined && !/^(0x[0-9a-f]+|\d+)$/i.test(n)) return n;
  return null;
}

/** Whether a signal name is known (`SIGKILL`). */
export function signalKnown(name: string): boolean {
  return Object.values(SIGNAL_NAMES).includes(name);
}

/** The number of a signal given by name or number; `dflt` when absent or unknown. */
export function signalNumber(s: string | number | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  if (typeof s === 'number') return s;
  const found = Object.entries(SIGNAL_NAMES).find(([, n]) => n === s);
  return found ? Number(found[0]) : dflt;
}

/** Quotes a key or name for a message: plain names as they are, anything odd as a (shortened) JSON string. */
export function showKey(key: string): string {
  return /^[\w.$:-]{1,64}$/.test(key)
    ? `'${key}'`
    : JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key);
}
