/**
 * The scenario file format, as zod schemas: the system (ABI profile, seed, platform, devices), faults at
 * given times, processes with their steps, and expectations. `scenarios/scenario.schema.json` is generated
 * from these (a test keeps it in sync) so that editors autocomplete scenario files.
 */
import { z } from 'zod';

/** A duration or time: integer nanoseconds, or a string with a unit (`250ns`, `10us`, `1.5ms`, `2s`). */
export const Duration = z.union([
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^\d+(\.\d+)?(ns|us|µs|ms|s)$/, 'expected a duration like 250ns, 10us, 1.5ms or 2s')
    .refine((d) => {
      const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$/.exec(d);
      if (!m) return true;
      const scale = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns' | 'us' | 'µs' | 'ms' | 's'];
      return Number.isSafeInteger(Math.round(Number(m[1]) * scale));
    }, 'expected a duration small enough to count in nanoseconds'),
]);

/** Flags: a number, a name, `A|B`, or a list of names. */
export const Flags = z.union([z.number().int(), z.string(), z.array(z.string())]);

/** A reference to a named fd, mapping or buffer (`$var` inside a foreach), or a literal fd number. */
export const Ref = z.union([z.string().min(1), z.number().int()]);

const ScanType = z.string().regex(/^(le|be):[su]\d+\/\d+(X\d+)?>>\d+$/, 'a scan type like le:s12/16>>0');

const Signal = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ramp'),
    step: z.number().int().optional(),
    offset: z.number().int().optional(),
  }),
  z.strictObject({
    kind: z.literal('sine'),
    amplitude: z.number(),
    frequencyHz: z.number().positive(),
    phaseRad: z.number().optional(),
    offset: z.number().optional(),
  }),
  z.strictObject({
    kind: z.literal('square'),
    high: z.number().int(),
    low: z.number().int(),
    periodSamples: z.number().int().positive(),
    dutyCycle: z.number().min(0).max(1).optional(),
  }),
  z.strictObject({ kind: z.literal('constant'), value: z.number().int() }),
  z.strictObject({
    kind: z.literal('noise'),
    amplitude: z.number().int().nonnegative(),
    seed: z.number().int().optional(),
    offset: z.number().int().optional(),
  }),
  z.strictObject({
    kind: z.literal('samples'),
    values: z.array(z.number().int()).min(1).max(1_000_000),
    repeat: z.boolean().optional(),
  }),
]);

const Channel = z.strictObject({
  id: z.string().regex(/^[a-z]+\d*(_[a-z0-9]+)?$/),
  type: ScanType,
  signal: Signal.optional(),
});

const Dma = z.strictObject({
  maxSegmentSize: z
    .number()
    .int()
    .positive()
    .max(2 ** 31)
    .optional(),
  lengthAlignBytes: z.number().int().positive().max(4096).optional(),
  irqLatencyNs: z.number().int().nonnegative().max(10_000_000_000).optional(),
  bytesPerSecond: z.number().positive().optional(),
});

const Rate = z.number().int().positive().max(1_000_000_000);

/** A device of the simulated board. */
export const Device = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('adc'),
    name: z.string().min(1),
    sampleRateHz: Rate,
    maxSampleRateHz: Rate.optional(),
    channels: z.array(Channel).min(1).max(64),
    dma: Dma.optional(),
    loopbackFrom: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('dac'),
    name: z.string().min(1),
    sampleRateHz: Rate,
    maxSampleRateHz: Rate.optional(),
    channels: z
      .array(Channel.omit({ signal: true }))
      .min(1)
      .max(64),
    dma: Dma.optional(),
  }),
  z.strictObject({
    kind: z.literal('dummy'),
    name: z.string().min(1),
    sampleRateHz: z.number().int().positive().max(1_000_000).optional(),
    maxSampleRateHz: z.number().int().positive().max(1_000_000).optional(),
  }),
]);

const Platform = z.union([
  z.enum(['zcu102', 'pluto', 'laptop', 'ideal']),
  z.strictObject({
    base: z.enum(['zcu102', 'pluto', 'laptop', 'ideal']).optional(),
    syscallNs: z.number().int().nonnegative().optional(),
    copyPsPerByte: z.number().int().nonnegative().optional(),
    wakeLatencyNs: z.number().int().nonnegative().optional(),
    wakeJitterNs: z.number().int().nonnegative().optional(),
    /** false: the CPU sees mapped DMABUFs through caches only DMA_BUF_IOCTL_SYNC maintains. */
    coherentDma: z.boolean().optional(),
  }),
]);

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

/** What a step must return. Without `expect`, any negative return fails the step. */
export const Expect = z.union([z.literal('any'), ExpectObject]);

const Common = {
  /** Shown in failures and traces. */
  label: z.string().optional(),
  expect: Expect.optional(),
};

const IoctlArg = z.union([
  z.null(),
  z.number().int(),
  z.strictObject({ int: z.union([z.number().int(), z.string()]), out: z.string().optional() }),
  z.strictObject({
    struct: z.string(),
    value: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
    /** Bind struct fields after the call: field name -> fd name (e.g. the heap's `fd`). */
    out: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({ string: z.string() }),
  z.strictObject({ unmapped: z.literal(true) }),
]);

const BytesSpec = z.union([
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

const MaxLen = z
  .number()
  .int()
  .nonnegative()
  .max(1 << 28);

/** Every action a step can take, keyed by its name. */
export const ACTIONS = {
  open: z.strictObject({ path: z.string(), flags: Flags.optional(), as: z.string().optional() }),
  close: Ref,
  dup: z.strictObject({ fd: Ref, as: z.string().optional() }),
  dup2: z.strictObject({ fd: Ref, to: z.number().int(), as: z.string().optional() }),
  read: z.strictObject({ fd: Ref, len: MaxLen, into: z.string().optional() }),
  write: z.strictObject({ fd: Ref, data: BytesSpec }),
  pread: z.strictObject({ fd: Ref, len: MaxLen, offset: z.number().int() }),
  lseek: z.strictObject({
    fd: Ref,
    offset: z.number().int(),
    whence: z.union([z.number().int(), z.string()]),
  }),
  fcntl: z.strictObject({
    fd: Ref,
    cmd: z.union([z.number().int(), z.string()]),
    arg: z.union([Flags, z.number()]).optional(),
  }),
  ioctl: z.strictObject({
    fd: Ref,
    request: z.union([z.string(), z.number().int()]),
    arg: IoctlArg.optional(),
    /** Bind the return value as an fd (v2 ALLOC, UDMABUF_CREATE). */
    as: z.string().optional(),
  }),
  mmap: z.strictObject({
    fd: Ref,
    length: z
      .number()
      .int()
      .positive()
      .max(1 << 30),
    prot: Flags.optional(),
    flags: Flags.optional(),
    offset: z.number().int().optional(),
    as: z.string().optional(),
  }),
  munmap: z.strictObject({ map: z.string(), length: z.number().int().positive().optional() }),
  poll: z.strictObject({
    fds: z
      .array(z.strictObject({ fd: Ref, events: Flags }))
      .min(1)
      .max(1024),
    timeout: z.union([z.number().int(), Duration]).optional(),
  }),
  sleep: Duration,
  compute: Duration,
  memfd_create: z.strictObject({ name: z.string(), flags: Flags.optional(), as: z.string().optional() }),
  ftruncate: z.strictObject({ fd: Ref, length: z.number().int() }),
  kill: z.strictObject({ process: z.string(), signal: z.union([z.string(), z.number().int()]).optional() }),
  sigaction: z.strictObject({
    signal: z.union([z.string(), z.number().int()]),
    restart: z.boolean().optional(),
  }),
  /** Reads or writes a sysfs attribute (open, read/write, close). */
  attr: z.strictObject({ path: z.string(), write: z.union([z.string(), z.number()]).optional() }),
  /** Writes `1` (or `0`) to the `_en` files of channels of buffer `buffer` (default 0) of a device. */
  enable_channels: z.strictObject({
    device: z.string(),
    channels: z.array(z.string()).min(1),
    buffer: z.number().int().nonnegative().optional(),
    on: z.boolean().optional(),
  }),
  /** Writes a buffer's `enable` attribute. */
  enable_buffer: z.strictObject({
    device: z.string(),
    buffer: z.number().int().nonnegative().optional(),
    on: z.boolean().optional(),
  }),
  /** Opens `/dev/iio:deviceN` and gets buffer `index`'s fd (IIO_BUFFER_GET_FD_IOCTL), named `as`. */
  buffer_fd: z.strictObject({
    device: z.string(),
    index: z.number().int().optional(),
    as: z.string(),
    chardev: z.string().optional(),
    nonblock: z.boolean().optional(),
  }),
  /** Allocates a DMABUF from the system heap (mainline), optionally maps it. */
  heap_alloc: z.strictObject({
    size: z
      .number()
      .int()
      .positive()
      .max(1 << 30),
    as: z.string(),
    map: z.boolean().optional(),
    /** Name for the heap fd the step opens (or reuses), so that the program can close it. */
    heap: z.string().optional(),
  }),
  /** v2: IIO_BUFFER_DMABUF_ALLOC_IOCTL on a buffer fd, optionally maps it. */
  iio_alloc: z.strictObject({
    buffer: Ref,
    size: z
      .number()
      .int()
      .nonnegative()
      .max(1 << 30),
    as: z.string(),
    map: z.boolean().optional(),
  }),
  attach: z.strictObject({ buffer: Ref, dmabuf: Ref }),
  detach: z.strictObject({ buffer: Ref, dmabuf: Ref }),
  enqueue: z.strictObject({
    buffer: Ref,
    dmabuf: Ref,
    bytes_used: z.number().int().nonnegative(),
    flags: Flags.optional(),
  }),
  /** DMA_BUF_IOCTL_SYNC START or END with READ, WRITE or RW. */
  sync: z.strictObject({
    dmabuf: Ref,
    phase: z.enum(['start', 'end']),
    dir: z.enum(['read', 'write', 'rw']),
  }),
  /** Stores bytes into a mapping (the program's own memory access). */
  fill: z.strictObject({
    map: z.string(),
    data: BytesSpec,
    offset: z.number().int().nonnegative().optional(),
  }),
  /** Checks bytes of a mapping or of a named read buffer (no syscall). */
  check: z.strictObject({
    in: z.string(),
    offset: z.number().int().nonnegative().optional(),
    len: MaxLen.optional(),
  }),
  /** Repeats steps. */
  loop: z.strictObject({
    count: z.number().int().positive().max(10_000_000),
    steps: z.array(z.any()).min(1),
  }),
  /** Repeats steps once per name, with `$var` standing for it. */
  foreach: z.strictObject({
    var: z.string().regex(/^[a-z_][a-z0-9_]*$/i),
    in: z.array(z.string()).min(1),
    steps: z.array(z.any()).min(1),
  }),
} as const;

/** Step action names. */
export type ActionName = keyof typeof ACTIONS;

/** The keys a step may carry besides its action. */
export const COMMON_KEYS = Object.keys(Common);

/** One step, for the JSON schema: exactly one action key plus the common keys. */
export const Step = z.union(
  (Object.keys(ACTIONS) as ActionName[]).map((name) =>
    z.strictObject({ [name]: ACTIONS[name], ...Common }),
  ) as unknown as [z.ZodTypeAny, z.ZodTypeAny, ...z.ZodTypeAny[]],
);

const Process = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'a process name of 1 to 15 letters, digits, _ . or -')
    .refine((n) => !['constructor', 'prototype'].includes(n), 'this name is reserved'),
  compat: z.boolean().optional(),
  /** Start with /dev/null on fds 0, 1 and 2 (default true); false: the first fd opened is 0. */
  stdio: z.boolean().optional(),
  startAt: Duration.optional(),
  steps: z.array(z.any()).min(1),
});

const Fault = z.union([
  z.strictObject({
    at: Duration,
    dmaError: z.strictObject({ device: z.string(), residue: z.number().int().nonnegative().optional() }),
  }),
  z.strictObject({ at: Duration, lateIrq: z.strictObject({ device: z.string(), by: Duration }) }),
  z.strictObject({
    at: Duration,
    kill: z.strictObject({ process: z.string(), signal: z.union([z.string(), z.number().int()]).optional() }),
  }),
  z.strictObject({ at: Duration, removeDevice: z.strictObject({ device: z.string() }) }),
]);

/** Outcome a process must have at the end of the run. */
const Outcome = z.enum(['exited', 'blocked', 'killed', 'crashed', 'running']);

/** A scenario file. */
export const Scenario = z.strictObject({
  title: z.string().optional(),
  description: z.string().optional(),
  abi: z.enum(['mainline', 'v2']).optional(),
  seed: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 32 - 1)
    .optional(),
  platform: Platform.optional(),
  devices: z.union([z.literal('default'), z.array(Device).min(1).max(16)]).optional(),
  /** Stop the run at this virtual time. */
  until: Duration.optional(),
  faults: z.array(Fault).optional(),
  processes: z.array(Process).min(1).max(64),
  expect: z
    .strictObject({
      processes: z.record(z.string(), Outcome).optional(),
      /** Scans lost to overflow/underflow per device, exactly. */
      lost: z.record(z.string(), z.number().int().nonnegative()).optional(),
      /** Blocked processes must wait for this reason (substring). */
      blockedReason: z.record(z.string(), z.string()).optional(),
      /** Kernel objects alive at the end, by kind, exactly (fileio blocks of the devices excluded). */
      liveObjects: z.record(z.string(), z.number().int().nonnegative()).optional(),
    })
    .optional(),
});

/** A parsed scenario. */
export type Scenario = z.infer<typeof Scenario>;
/** A parsed device. */
export type DeviceSpec = z.infer<typeof Device>;

/** The JSON Schema of scenario files, for editors. */
export function scenarioJsonSchema(): unknown {
  const schema = z.toJSONSchema(
    Scenario.extend({
      processes: z.array(Process.extend({ steps: z.array(Step).min(1) })).min(1),
    }),
    { unrepresentable: 'any', reused: 'ref' },
  ) as Record<string, unknown>;
  return { $id: 'https://iio-dmabuf-sim/scenario.schema.json', title: 'iio-dmabuf-sim scenario', ...schema };
}
