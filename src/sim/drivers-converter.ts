/**
 * The DMA converter kinds of the simulated board, `adc` and `dac`: a converter with its channels, a DMA
 * channel on a bus of given bandwidth, and the sim-converter kernel driver (ADI axi-adc/axi-dac style).
 * An ADC may take its input from a DAC of the board (`loopbackFrom`), as through a loopback cable.
 */
import { z } from 'zod';
import { Adc, type ChannelSpec, Dac } from '../hw/converter.ts';
import { DmaChannel } from '../hw/dma.ts';
import type { ScanType } from '../hw/scan.ts';
import { createSignal, defaultAdcSignal, type SignalSpec } from '../hw/signal.ts';
import { probeSimConverter } from '../kernel/drivers/sim-converter.ts';
import {
  type DeviceProblem,
  type DeviceStats,
  defineDeviceDriver,
  deviceError,
  type ProbeContext,
  type SimDevice,
} from './drivers.ts';

/** DMA controller parameters of a converter. */
export interface DmaConfig {
  /** Largest segment in bytes (default 16 MiB). */
  maxSegmentSize?: number;
  /** Length alignment in bytes, the bus width (default 8 for ADCs, 4 for DACs). */
  lengthAlignBytes?: number;
  /** Completion IRQ latency in ns (default 2000). */
  irqLatencyNs?: number;
  /** Bus bandwidth in bytes/s; must carry the converter's data rate (default 1.6 GB/s). */
  bytesPerSecond?: number;
}

/** A converter channel in configuration form: the scan type as sysfs prints it. */
export interface ChannelConfig {
  /** `voltage0`, `accel_x`... */
  id: string;
  /** Scan type, e.g. `le:s12/16>>0`, or the parsed form. */
  type: string | ScanType;
  /** ADC only: what the channel measures (default: the 12-bit ramp with offset 1024 × index). */
  signal?: SignalSpec;
}

/** A DMA-backed ADC. */
export interface AdcConfig {
  kind: 'adc';
  name: string;
  sampleRateHz: number;
  maxSampleRateHz?: number;
  channels: ChannelConfig[];
  dma?: DmaConfig;
  /** Feed every ADC channel i from channel i of this DAC instead of its signal (loopback cable). */
  loopbackFrom?: string;
}

/** A DMA-backed DAC. */
export interface DacConfig {
  kind: 'dac';
  name: string;
  sampleRateHz: number;
  maxSampleRateHz?: number;
  channels: ChannelConfig[];
  dma?: DmaConfig;
}

/** Bus bandwidth when the configuration gives none: 1.6 GB/s. */
const DEFAULT_BANDWIDTH = 1_600_000_000;
/** Highest `sampling_frequency` when the configuration gives none (at least the initial rate). */
const DEFAULT_MAX_RATE = 1_000_000_000 / 8;

const ScanTypeSchema = z
  .string()
  .regex(/^(le|be):[su]\d+\/\d+(X\d+)?>>\d+$/, 'a scan type like le:s12/16>>0');

const SignalSchema = z.discriminatedUnion('kind', [
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

const ChannelSchema = z.strictObject({
  id: z.string().regex(/^[a-z]+\d*(_[a-z0-9]+)?$/),
  type: ScanTypeSchema,
  signal: SignalSchema.optional(),
});

const DmaSchema = z.strictObject({
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

/** Parses a scan type as sysfs shows it (`le:s12/16>>0`, `be:u16/32X4>>2`), or throws with what is wrong. */
export function parseScanType(text: string): ScanType {
  const m = /^(le|be):([su])(\d+)\/(\d+)(?:X(\d+))?>>(\d+)$/.exec(text);
  if (!m) throw new Error(`scan type '${text}' is not of the form le:s12/16>>0`);
  const t: ScanType = {
    endianness: m[1] as 'le' | 'be',
    sign: m[2] as 's' | 'u',
    realbits: Number(m[3]),
    storagebits: Number(m[4]),
    shift: Number(m[6]),
    ...(m[5] ? { repeat: Number(m[5]) } : {}),
  };
  if (![8, 16, 32, 64].includes(t.storagebits))
    throw new Error(`scan type '${text}': storagebits must be 8, 16, 32 or 64`);
  if (t.realbits < 1 || t.realbits + t.shift > t.storagebits)
    throw new Error(`scan type '${text}': realbits + shift must fit in storagebits`);
  return t;
}

type ConverterConfig = AdcConfig | DacConfig;

function scanTypeOf(c: ChannelConfig): ScanType {
  return typeof c.type === 'string' ? parseScanType(c.type) : c.type;
}

function maxRateOf(cfg: ConverterConfig): number {
  return cfg.maxSampleRateHz ?? Math.max(cfg.sampleRateHz, DEFAULT_MAX_RATE);
}

/** The DMA bus cannot carry `scanBytes`-byte scans at the converter's highest rate. */
function bandwidthProblem(cfg: ConverterConfig, scanBytes: number): DeviceProblem | null {
  const max = maxRateOf(cfg);
  const bandwidth = cfg.dma?.bytesPerSecond ?? DEFAULT_BANDWIDTH;
  if (scanBytes * max <= bandwidth) return null;
  return {
    path: cfg.dma?.bytesPerSecond !== undefined ? ['dma', 'bytesPerSecond'] : ['maxSampleRateHz'],
    message: `DMA bandwidth of ${bandwidth} bytes/s is below what ${scanBytes}-byte scans at ${max} Hz need (${scanBytes * max} bytes/s)`,
  };
}

function loopbackProblem(from: string): DeviceProblem {
  return { path: ['loopbackFrom'], message: `loopbackFrom '${from}' is not a DAC of this board` };
}

/** Channel problems (duplicate ids, bad scan types) and the scan size of the channels that parse. */
function channelProblems(channels: readonly ChannelConfig[]): {
  problems: DeviceProblem[];
  scanBytes: number;
} {
  const problems: DeviceProblem[] = [];
  const ids = new Set<string>();
  let scanBytes = 0;
  channels.forEach((c, j) => {
    if (ids.has(c.id))
      problems.push({ path: ['channels', j, 'id'], message: `channel '${c.id}' is used twice` });
    ids.add(c.id);
    try {
      scanBytes += scanTypeOf(c).storagebits / 8;
    } catch (e) {
      problems.push({ path: ['channels', j, 'type'], message: e instanceof Error ? e.message : String(e) });
    }
  });
  return { problems, scanBytes };
}

/** ADC channels whose signal cannot be generated at their code width (more than 53 significant bits). */
function signalProblems(cfg: AdcConfig): DeviceProblem[] {
  const problems: DeviceProblem[] = [];
  cfg.channels.forEach((c, j) => {
    let type: ScanType;
    try {
      type = scanTypeOf(c);
    } catch {
      return;
    }
    try {
      createSignal(
        c.signal ?? defaultAdcSignal(j),
        { signed: type.sign === 's', realbits: type.realbits },
        cfg.sampleRateHz,
        0,
      );
    } catch (e) {
      problems.push({
        path: ['channels', j, c.signal === undefined ? 'type' : 'signal'],
        message: `cannot generate this channel's samples: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  });
  return problems;
}

function validateConverter(cfg: ConverterConfig): DeviceProblem[] {
  const { problems, scanBytes } = channelProblems(cfg.channels);
  const max = maxRateOf(cfg);
  if (cfg.sampleRateHz > max)
    problems.push({
      path: ['sampleRateHz'],
      message: `sampleRateHz ${cfg.sampleRateHz} is above maxSampleRateHz ${max}`,
    });
  const bandwidth = bandwidthProblem(cfg, scanBytes);
  if (bandwidth) problems.push(bandwidth);
  return problems;
}

/** Builds the converter's channels and DMA channel and probes sim-converter; throws on what cannot be built. */
function probeConverter(cfg: ConverterConfig, ctx: ProbeContext): SimDevice<ConverterConfig> {
  const adc = cfg.kind === 'adc';
  if (!Number.isSafeInteger(cfg.sampleRateHz) || cfg.sampleRateHz <= 0)
    throw new Error(`device '${cfg.name}': sampleRateHz must be a positive integer`);
  const channels: ChannelSpec[] = cfg.channels.map((c, i) => ({
    id: c.id,
    type: scanTypeOf(c),
    ...(adc ? { signal: c.signal ?? defaultAdcSignal(i) } : {}),
  }));
  if (channels.length === 0) throw new Error(`device '${cfg.name}': at least one channel is needed`);
  const tooSlow = bandwidthProblem(
    cfg,
    channels.reduce((sum, c) => sum + c.type.storagebits / 8, 0),
  );
  if (tooSlow) throw deviceError(cfg.name, tooSlow);
  const d = cfg.dma ?? {};
  const dma = new DmaChannel(
    ctx.clock,
    {
      name: `${cfg.name}-dma`,
      direction: adc ? 'dev-to-mem' : 'mem-to-dev',
      maxSegmentSize: d.maxSegmentSize ?? 16 * 1024 * 1024,
      lengthAlignBytes: d.lengthAlignBytes ?? (adc ? 8 : 4),
      irqLatencyNs: d.irqLatencyNs ?? 2000,
    },
    ctx.kernel.events,
  );
  const conv = adc
    ? new Adc(ctx.clock, cfg.name, channels, cfg.sampleRateHz, ctx.seed)
    : new Dac(ctx.clock, cfg.name, channels, cfg.sampleRateHz);
  conv.attachDma(dma);
  const iio = probeSimConverter(ctx.kernel.iio, {
    name: cfg.name,
    converter: conv,
    dma,
    direction: adc ? 'in' : 'out',
    maxSampleRateHz: maxRateOf(cfg),
  });
  return conv instanceof Adc ? { config: cfg, iio, adc: conv, dma } : { config: cfg, iio, dac: conv, dma };
}

/** The DMA channel's counters. */
function dmaStats(dev: SimDevice): DeviceStats {
  const s = dev.dma!.stats;
  return {
    bytesDone: s.bytesDone,
    bytesGap: s.bytesGap,
    scansLost: s.scansGap,
    scansLostAtStart: s.scansGapAtStart,
    bytesAborted: s.bytesAborted,
    bytesFailed: s.bytesFailed,
    bytesCyclic: s.bytesCyclic,
    transfers: s.transfers,
    dmaErrors: s.errors,
  };
}

/** A DAC channel has no signal; its id and type schemas stay those of the ADC channel. */
const DacChannelSchema = ChannelSchema.omit({ signal: true });

/** `kind: adc`: a DMA-backed ADC whose channels carry signals (or a DAC's output). */
export const adcDriver = defineDeviceDriver<AdcConfig>({
  kind: 'adc',
  schema: z.strictObject({
    kind: z.literal('adc'),
    name: z.string().min(1),
    sampleRateHz: Rate,
    maxSampleRateHz: Rate.optional(),
    channels: z.array(ChannelSchema).min(1).max(64),
    dma: DmaSchema.optional(),
    loopbackFrom: z.string().optional(),
  }),
  validate: (cfg, board) => {
    const problems = validateConverter(cfg);
    if (cfg.loopbackFrom !== undefined && board.get(cfg.loopbackFrom)?.kind !== 'dac')
      problems.push(loopbackProblem(cfg.loopbackFrom));
    return [...problems, ...signalProblems(cfg)];
  },
  probe: (cfg, ctx) => probeConverter(cfg, ctx) as SimDevice<AdcConfig>,
  connect: (dev, board) => {
    const from = dev.config.loopbackFrom;
    if (!from) return;
    const dac = board.find((o) => o.config.name === from)?.dac;
    if (!dac) throw deviceError(dev.config.name, loopbackProblem(from));
    dev.adc!.channels.forEach((_c, i) => {
      if (i < dac.channels.length) dev.adc!.setInput(i, { valueAt: (t) => dac.valueAt(i, t) });
    });
  },
  stats: dmaStats,
});

/** `kind: dac`: a DMA-backed DAC, played from user buffers (cyclic or streamed). */
export const dacDriver = defineDeviceDriver<DacConfig>({
  kind: 'dac',
  schema: z.strictObject({
    kind: z.literal('dac'),
    name: z.string().min(1),
    sampleRateHz: Rate,
    maxSampleRateHz: Rate.optional(),
    channels: z.array(DacChannelSchema).min(1).max(64),
    dma: DmaSchema.optional(),
  }),
  validate: (cfg) => validateConverter(cfg),
  probe: (cfg, ctx) => probeConverter(cfg, ctx) as SimDevice<DacConfig>,
  stats: dmaStats,
});
