/**
 * The scenario file format, as zod schemas: the system (ABI profile, seed, platform, devices), faults at
 * given times, processes with their steps, and expectations. `scenarios/scenario.schema.json` is generated
 * from these (a test keeps it in sync) so that editors autocomplete scenario files.
 */
import { z } from 'zod';
import { FAULT_SITES, type FaultSite } from '../kernel/fault-inject.ts';
import { DeviceSchema } from '../sim/devices.ts';
import { ACTION_TABLE } from './actions/table.ts';
import { Duration, Expect, FaultSignal } from './values.ts';

const Platform = z.union([
  z.enum(['zcu102', 'pluto', 'laptop', 'ideal']),
  z.strictObject({
    base: z.enum(['zcu102', 'pluto', 'laptop', 'ideal']).optional(),
    syscallNs: z.number().int().nonnegative().max(1e9).optional(),
    copyPsPerByte: z.number().int().nonnegative().max(1e6).optional(),
    uncachedReadPsPerByte: z.number().int().nonnegative().max(1e6).optional(),
    cpuReadPsPerByte: z.number().int().nonnegative().max(1e6).optional(),
    cacheCleanNsPerLine: z.number().int().nonnegative().max(1e9).optional(),
    cacheInvalidateNsPerLine: z.number().int().nonnegative().max(1e9).optional(),
    dmaMapNsPerPage: z.number().int().nonnegative().max(1e9).optional(),
    memoryBytesPerSecond: z.number().int().nonnegative().max(1e15).optional(),
    wakeLatencyNs: z.number().int().nonnegative().max(1e9).optional(),
    wakeJitterNs: z.number().int().nonnegative().max(1e9).optional(),
    /** false: the CPU sees mapped DMABUFs through caches only DMA_BUF_IOCTL_SYNC maintains. */
    coherentDma: z.boolean().optional(),
  }),
]);

const Common = {
  /** Shown in failures and traces. */
  label: z.string().optional(),
  expect: Expect.optional(),
};

/** The keys a step may carry besides its action. */
export const COMMON_KEYS = Object.keys(Common);

/** One step, for the JSON schema: exactly one action key of the action table plus the common keys. */
export const Step = z.union(
  ACTION_TABLE.map((a) => z.strictObject({ [a.name]: a.schema, ...Common })) as unknown as [
    z.ZodTypeAny,
    z.ZodTypeAny,
    ...z.ZodTypeAny[],
  ],
);

const Process = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'a process name of 1 to 15 letters, digits, _ . or -')
    .refine((n) => !['constructor', 'prototype'].includes(n), 'this name is reserved'),
  compat: z.boolean().optional(),
  /**
   * Start with /dev/null on fds 0, 1 and 2 (default true); false: the first fd opened is 0; inherit: writes
   * to fds 1 and 2 go to the run's stdout and stderr.
   */
  stdio: z.union([z.boolean(), z.literal('inherit')]).optional(),
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
    kill: z.strictObject({ process: z.string(), signal: FaultSignal.optional() }),
  }),
  z.strictObject({ at: Duration, removeDevice: z.strictObject({ device: z.string() }) }),
  z.strictObject({
    at: Duration,
    kernelFault: z.strictObject({
      site: z.enum(Object.keys(FAULT_SITES) as [FaultSite, ...FaultSite[]]),
      nth: z.number().int().min(1).max(1e9).optional(),
      times: z.number().int().min(1).max(1e9).optional(),
      errno: z
        .string()
        .regex(/^E[A-Z0-9]+$/)
        .optional(),
    }),
  }),
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
  devices: z.union([z.literal('default'), z.array(DeviceSchema).min(1).max(16)]).optional(),
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
