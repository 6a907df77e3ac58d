/**
 * The `dummy` device kind: a triggered kfifo device like iio_simple_dummy (fixed channels, a timestamp, an
 * event interface), probed through the sim-dummy kernel driver.
 */
import { z } from 'zod';
import { probeSimDummy } from '../kernel/drivers/sim-dummy.ts';
import { type DeviceProblem, defineDeviceDriver } from './drivers.ts';

/** A triggered kfifo device like iio_simple_dummy. */
export interface DummyConfig {
  kind: 'dummy';
  name: string;
  sampleRateHz?: number;
  maxSampleRateHz?: number;
}

/** `kind: dummy`: sim-dummy, triggered at `sampleRateHz` (default 1 kHz, at most 100 kHz unless raised). */
export const dummyDriver = defineDeviceDriver<DummyConfig>({
  kind: 'dummy',
  schema: z.strictObject({
    kind: z.literal('dummy'),
    name: z.string().min(1),
    sampleRateHz: z.number().int().positive().max(1_000_000).optional(),
    maxSampleRateHz: z.number().int().positive().max(1_000_000).optional(),
  }),
  validate: (cfg) => {
    const problems: DeviceProblem[] = [];
    if (
      cfg.maxSampleRateHz !== undefined &&
      cfg.sampleRateHz !== undefined &&
      cfg.sampleRateHz > cfg.maxSampleRateHz
    )
      problems.push({
        path: ['sampleRateHz'],
        message: `sampleRateHz ${cfg.sampleRateHz} is above maxSampleRateHz ${cfg.maxSampleRateHz}`,
      });
    return problems;
  },
  probe: (cfg, ctx) => {
    const dummy = probeSimDummy(ctx.kernel.iio, {
      name: cfg.name,
      sampleRateHz: cfg.sampleRateHz ?? 1000,
      maxSampleRateHz: cfg.maxSampleRateHz ?? 100_000,
      seed: ctx.seed,
    });
    return { config: cfg, iio: dummy.dev, dummy };
  },
  stats: (dev) => {
    const overflow = dev.dummy!.kfifo.overflow;
    return {
      bytesDone: 0,
      bytesGap: 0,
      scansLost: overflow,
      bytesAborted: 0,
      bytesFailed: 0,
      bytesCyclic: 0,
      transfers: 0,
      dmaErrors: 0,
      kfifoOverflow: overflow,
    };
  },
});
