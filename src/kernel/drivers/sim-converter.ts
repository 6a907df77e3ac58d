/**
 * Drivers of the simulated DMA converters, in the manner of ADI's axi-adc/axi-dac drivers with
 * `devm_iio_dmaengine_buffer_setup()`: one IIO device, one DMA-backed buffer, `sampling_frequency`, and
 * the converter started at postenable and stopped at postdisable.
 */
import type { Adc, Dac } from '../../hw/converter.ts';
import type { DmaChannel } from '../../hw/dma.ts';
import { EBUSY, EINVAL } from '../../uapi/errno.ts';
import { IIO_BUFFER_DIRECTION_IN, IIO_BUFFER_DIRECTION_OUT } from '../../uapi/iio.ts';
import { computeScanLayout } from '../iio/buffer.ts';
import { DmaengineBuffer } from '../iio/buffer-dmaengine.ts';
import type { IioBus } from '../iio/core.ts';
import { IioBuffer, type IioDev } from '../iio/device.ts';
import { type IioChanSpec, INDIO_BUFFER_HARDWARE, INDIO_DIRECT_MODE } from '../iio/types.ts';
import { IIO_VAL_FRACTIONAL_LOG2, IIO_VAL_INT } from '../lib/format.ts';

/** DMA buffer length at probe: PAGE_SIZE scans (DMAQ-2). */
const DEFAULT_LENGTH = 4096;

/** Splits a hardware channel id (`voltage0`, `accel_x`) into IIO type, index and modifier. */
export function parseChannelId(id: string): {
  type: string;
  channel: number | null;
  modifier: string | null;
} {
  const m = /^([a-z]+?)(\d+)?(?:_([a-z0-9]+))?$/.exec(id);
  if (!m)
    throw new Error(`bad channel id '${id}': expected a type, an optional index and an optional _modifier`);
  return { type: m[1]!, channel: m[2] === undefined ? null : Number(m[2]), modifier: m[3] ?? null };
}

/** Reference voltage of the simulated ADCs, mV: what `in_<channel>_scale` divides. */
export const SIM_ADC_VREF_MV = 2500;

/**
 * `in_<channel>_scale` of an ADC channel, mV per code: `SIM_ADC_VREF_MV / 2^realbits` for unsigned codes,
 * `SIM_ADC_VREF_MV / 2^(realbits - 1)` for signed (bipolar, ±Vref) ones, shown as IIO_VAL_FRACTIONAL_LOG2
 * the way ad7476-style drivers show theirs (`2500 / 2^11` is `1.220703125`).
 */
function adcScale(chan: IioChanSpec): { type: number; vals: number[] } {
  const t = chan.scanType;
  return { type: IIO_VAL_FRACTIONAL_LOG2, vals: [SIM_ADC_VREF_MV, t.realbits - (t.sign === 's' ? 1 : 0)] };
}

/** Parameters of a DMA converter driver. */
export interface SimConverterProbe {
  readonly name: string;
  readonly converter: Adc | Dac;
  readonly dma: DmaChannel;
  readonly direction: 'in' | 'out';
  /** Highest sample rate `sampling_frequency` accepts. */
  readonly maxSampleRateHz: number;
}

/** Probes a simulated ADC or DAC behind a DMA channel and registers its IIO device. */
export function probeSimConverter(bus: IioBus, p: SimConverterProbe): IioDev {
  const conv = p.converter;
  const output = p.direction === 'out';
  const channels: IioChanSpec[] = conv.channels.map((c, i) => {
    const { type, channel, modifier } = parseChannelId(c.id);
    // Spelled out, not spread: every channel spec of every driver has the same fields in the same order.
    return { type, channel, modifier, channel2: null, output, scanIndex: i, scanType: c.type, hwChannel: i };
  });
  let dev!: IioDev;
  const isActive = () => dev.buffers[0]!.active;
  // The converter's stream shares DRAM with the CPU while it runs.
  bus.services.sched.addMemoryLoad(() => (conv.running ? conv.sampleRateHz * conv.bytesPerScan : 0));
  return bus.register(
    {
      name: p.name,
      channels,
      modes: INDIO_DIRECT_MODE | INDIO_BUFFER_HARDWARE,
      info: {
        sharedAttrs: ['sampling_frequency'],
        separateAttrs() {
          return output ? [] : ['raw', 'scale'];
        },
        readRaw(attr, chan) {
          if (attr === 'sampling_frequency') return { type: IIO_VAL_INT, vals: [conv.sampleRateHz] };
          if (attr === 'scale') return adcScale(chan!);
          // iio_device_claim_direct(): no direct reads while a buffer runs.
          if (dev.currentMode !== 0) return -EBUSY;
          return {
            type: IIO_VAL_INT,
            vals: [(conv as Adc).directSample(chan!.hwChannel, bus.services.clock.now)],
          };
        },
        writeRaw(attr, integer) {
          if (attr !== 'sampling_frequency') return -EINVAL;
          if (isActive()) return -EBUSY;
          if (integer <= 0 || integer > p.maxSampleRateHz) return -EINVAL;
          conv.sampleRateHz = integer;
          return 0;
        },
      },
      setupOps: {
        postenable() {
          conv.start(computeScanLayout(dev, dev.activeScanMask!, false).layout);
          return 0;
        },
        postdisable() {
          conv.stop();
          return 0;
        },
      },
    },
    (d) => {
      dev = d;
      const queue = new DmaengineBuffer(p.dma);
      const buffer = new IioBuffer(
        d,
        0,
        output ? IIO_BUFFER_DIRECTION_OUT : IIO_BUFFER_DIRECTION_IN,
        queue,
        DEFAULT_LENGTH,
        DEFAULT_LENGTH / 2,
      );
      queue.init(buffer);
      d.attachBuffer(buffer);
    },
  );
}
