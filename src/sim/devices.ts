/**
 * Device configuration of a simulated board: which converters exist, their channels, rates, signals and
 * DMA parameters, and the defaults (sim-adc, sim-dac, sim-dummy). Builds the hardware and probes the drivers.
 */

import type { Scheduler } from '../hw/clock.ts';
import { Adc, type ChannelSpec, Dac } from '../hw/converter.ts';
import { DmaChannel } from '../hw/dma.ts';
import type { ScanType } from '../hw/scan.ts';
import { defaultAdcSignal, type SignalSpec } from '../hw/signal.ts';
import { probeSimConverter } from '../kernel/drivers/sim-converter.ts';
import { probeSimDummy, type SimDummyDevice } from '../kernel/drivers/sim-dummy.ts';
import type { IioDev } from '../kernel/iio/device.ts';
import type { Kernel } from '../kernel/kernel.ts';

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

/** A triggered kfifo device like iio_simple_dummy. */
export interface DummyConfig {
  kind: 'dummy';
  name: string;
  sampleRateHz?: number;
  maxSampleRateHz?: number;
}

/** Any device. */
export type DeviceConfig = AdcConfig | DacConfig | DummyConfig;

/** The default board: iio:device0 sim-adc, iio:device1 sim-dac, iio:device2 sim-dummy. */
export function defaultDevices(): DeviceConfig[] {
  return [
    {
      kind: 'adc',
      name: 'sim-adc',
      sampleRateHz: 1_000_000,
      channels: [0, 1, 2, 3].map((i) => ({
        id: `voltage${i}`,
        type: 'le:s12/16>>0',
        signal: defaultAdcSignal(i),
      })),
    },
    {
      kind: 'dac',
      name: 'sim-dac',
      sampleRateHz: 1_000_000,
      channels: [0, 1].map((i) => ({ id: `voltage${i}`, type: 'le:s16/16>>0' })),
    },
    { kind: 'dummy', name: 'sim-dummy', sampleRateHz: 1000 },
  ];
}

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

/** A probed device with its hardware. */
export interface SimDevice {
  readonly config: DeviceConfig;
  readonly iio: IioDev;
  readonly adc?: Adc;
  readonly dac?: Dac;
  readonly dma?: DmaChannel;
  readonly dummy?: SimDummyDevice;
}

function channelSpecs(cs: readonly ChannelConfig[], adc: boolean): ChannelSpec[] {
  return cs.map((c, i) => ({
    id: c.id,
    type: typeof c.type === 'string' ? parseScanType(c.type) : c.type,
    ...(adc ? { signal: c.signal ?? defaultAdcSignal(i) } : {}),
  }));
}

function scanBytesOf(channels: readonly ChannelSpec[]): number {
  return channels.reduce((sum, c) => sum + c.type.storagebits / 8, 0);
}

/** Builds the hardware of every device and probes its driver, in list order (iio:device0, 1, ...). */
export function buildDevices(
  kernel: Kernel,
  clock: Scheduler,
  devices: readonly DeviceConfig[],
  seed: number,
): SimDevice[] {
  const out: SimDevice[] = [];
  const names = new Set<string>();
  for (const [i, cfg] of devices.entries()) {
    if (names.has(cfg.name)) throw new Error(`device name '${cfg.name}' is used twice`);
    names.add(cfg.name);
    const devSeed = (seed * 31 + i * 0x632be5ab) >>> 0;
    if (cfg.kind === 'dummy') {
      const rate = cfg.sampleRateHz ?? 1000;
      const dummy = probeSimDummy(kernel.iio, {
        name: cfg.name,
        sampleRateHz: rate,
        maxSampleRateHz: cfg.maxSampleRateHz ?? 100_000,
        seed: devSeed,
      });
      out.push({ config: cfg, iio: dummy.dev, dummy });
      continue;
    }
    if (!Number.isSafeInteger(cfg.sampleRateHz) || cfg.sampleRateHz <= 0)
      throw new Error(`device '${cfg.name}': sampleRateHz must be a positive integer`);
    const channels = channelSpecs(cfg.channels, cfg.kind === 'adc');
    if (channels.length === 0) throw new Error(`device '${cfg.name}': at least one channel is needed`);
    const d = cfg.dma ?? {};
    const maxRate = cfg.maxSampleRateHz ?? Math.max(cfg.sampleRateHz, 1_000_000_000 / 8);
    const bandwidth = d.bytesPerSecond ?? 1_600_000_000;
    if (scanBytesOf(channels) * maxRate > bandwidth)
      throw new Error(
        `device '${cfg.name}': ${scanBytesOf(channels) * maxRate} bytes/s at ${maxRate} Hz exceeds the DMA bandwidth of ${bandwidth} bytes/s`,
      );
    const dma = new DmaChannel(
      clock,
      {
        name: `${cfg.name}-dma`,
        direction: cfg.kind === 'adc' ? 'dev-to-mem' : 'mem-to-dev',
        maxSegmentSize: d.maxSegmentSize ?? 16 * 1024 * 1024,
        lengthAlignBytes: d.lengthAlignBytes ?? (cfg.kind === 'adc' ? 8 : 4),
        irqLatencyNs: d.irqLatencyNs ?? 2000,
      },
      kernel.events,
    );
    const conv =
      cfg.kind === 'adc'
        ? new Adc(clock, cfg.name, channels, cfg.sampleRateHz, devSeed)
        : new Dac(clock, cfg.name, channels, cfg.sampleRateHz);
    conv.attachDma(dma);
    const iio = probeSimConverter(kernel.iio, {
      name: cfg.name,
      converter: conv,
      dma,
      direction: cfg.kind === 'adc' ? 'in' : 'out',
      maxSampleRateHz: maxRate,
    });
    out.push(
      cfg.kind === 'adc'
        ? { config: cfg, iio, adc: conv as Adc, dma }
        : { config: cfg, iio, dac: conv as Dac, dma },
    );
  }
  for (const dev of out) {
    if (dev.config.kind !== 'adc' || !dev.config.loopbackFrom) continue;
    const src = out.find((o) => o.config.name === (dev.config as AdcConfig).loopbackFrom);
    if (!src?.dac)
      throw new Error(`device '${dev.config.name}': loopbackFrom '${dev.config.loopbackFrom}' is not a DAC`);
    const dac = src.dac;
    dev.adc!.channels.forEach((_c, i) => {
      if (i < dac.channels.length) dev.adc!.setInput(i, { valueAt: (t) => dac.valueAt(i, t) });
    });
  }
  return out;
}
