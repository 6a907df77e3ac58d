/**
 * Streaming converters: an ADC that produces scans at its sample rate from signal generators, and a DAC
 * that plays scans fed by a DMA channel and records what it emitted. Both are {@link StreamPort}s: the DMA
 * channel paces transfers by their sample clock and counts overflow and underflow.
 *
 * Scan k of a run is converted (ADC) or finishes playing (DAC) at `t0 + floor((k + 1) * 1e9 / rate)` ns,
 * where t0 is the time the converter was started (the buffer enable).
 */
import type { VirtualClock } from './clock.ts';
import type { DmaChannel, StreamPort } from './dma.ts';
import { readScans, type ScanLayout, type ScanType, writeScans } from './scan.ts';
import { createSignal, type SignalGenerator, type SignalSpec } from './signal.ts';
import { type SampleClock, scansBy, scanTime } from './timing.ts';

/** A converter channel. */
export interface ChannelSpec {
  /** Channel name without direction prefix, e.g. `voltage0`. */
  readonly id: string;
  /** Scan type (`iio_chan_spec.scan_type`). */
  readonly type: ScanType;
  /** ADC only: what the channel measures. */
  readonly signal?: SignalSpec;
}

/** Common base: sample clock, layout and DMA binding. */
abstract class Converter implements StreamPort {
  readonly name: string;
  readonly channels: readonly ChannelSpec[];
  /** Sample rate in Hz; changed through sysfs `sampling_frequency` while stopped. */
  sampleRateHz: number;
  protected readonly clock: VirtualClock;
  protected sampleClock: SampleClock | null = null;
  protected layout: ScanLayout | null = null;
  protected dma: DmaChannel | null = null;
  /** Scans the converter ran for in all runs so far (ADC: converted; DAC: play slots). */
  scansTotal = 0;

  constructor(clock: VirtualClock, name: string, channels: readonly ChannelSpec[], sampleRateHz: number) {
    this.clock = clock;
    this.name = name;
    this.channels = channels;
    this.sampleRateHz = sampleRateHz;
  }

  /** Binds the DMA channel that streams to or from this converter. */
  attachDma(dma: DmaChannel): void {
    this.dma = dma;
    dma.connect(this);
  }

  get running(): boolean {
    return this.sampleClock !== null;
  }

  get bytesPerScan(): number {
    return this.layout?.bytesPerScan ?? 0;
  }

  /** The layout of the current run, or null when stopped. */
  get currentLayout(): ScanLayout | null {
    return this.layout;
  }

  /** Start time and rate of the current run, or null when stopped. */
  get currentClock(): SampleClock | null {
    return this.sampleClock;
  }

  scanTime(k: number): number {
    return scanTime(this.sampleClock!, k);
  }

  scansBy(t: number): number {
    return this.sampleClock ? scansBy(this.sampleClock, t) : 0;
  }

  /** Starts converting now with the scan layout the driver configured. */
  start(layout: ScanLayout): void {
    if (this.sampleClock) throw new Error(`${this.name}: already running`);
    this.layout = layout;
    this.sampleClock = { t0: this.clock.now, rate: this.sampleRateHz };
    this.onStart();
    this.dma?.portStarted();
  }

  /** Stops converting now. */
  stop(): void {
    if (!this.sampleClock) return;
    this.dma?.portStopping();
    this.scansTotal += this.scansBy(this.clock.now);
    this.onStop();
    this.sampleClock = null;
    this.layout = null;
  }

  protected onStart(): void {}
  protected onStop(): void {}
}

/** Where an ADC channel's samples come from when it is wired to a DAC output (loopback). */
export interface AdcInput {
  /** Raw code present at the input at time `t`, or undefined when the source is silent. */
  valueAt(t: number): number | undefined;
}

/** A simulated ADC: channel values from deterministic signal generators, or from a loopback input. */
export class Adc extends Converter {
  readonly #signals: SignalGenerator[];
  readonly #inputs: (AdcInput | null)[];

  constructor(
    clock: VirtualClock,
    name: string,
    channels: readonly ChannelSpec[],
    sampleRateHz: number,
    seed: number,
  ) {
    super(clock, name, channels, sampleRateHz);
    this.#signals = channels.map((ch, i) =>
      createSignal(
        ch.signal ?? { kind: 'constant', value: 0 },
        { signed: ch.type.sign === 's', realbits: ch.type.realbits },
        sampleRateHz,
        (seed + i * 0x9e3779b1) >>> 0,
      ),
    );
    this.#inputs = channels.map(() => null);
  }

  /** Wires channel `index` to an external input (a DAC output); null restores its signal generator. */
  setInput(index: number, input: AdcInput | null): void {
    this.#inputs[index] = input;
  }

  /** Raw code of channel `channel` at scan `n` of the current run. */
  sampleOf = (channel: number, n: number): number => {
    const input = this.#inputs[channel];
    if (input) return input.valueAt(this.scanTime(n)) ?? 0;
    return this.#signals[channel]!.sample(n);
  };

  fill(dest: Uint8Array, destOffset: number, streamByte: number, length: number): void {
    const layout = this.layout!;
    const bpd = layout.bytesPerScan;
    const first = Math.floor(streamByte / bpd);
    const head = streamByte - first * bpd;
    if (head === 0 && length % bpd === 0) {
      writeScans(dest, destOffset, layout, first, length / bpd, this.sampleOf);
      return;
    }
    const last = Math.floor((streamByte + length - 1) / bpd);
    const tmp = new Uint8Array((last - first + 1) * bpd);
    writeScans(tmp, 0, layout, first, last - first + 1, this.sampleOf);
    dest.set(tmp.subarray(head, head + length), destOffset);
  }
}

/** A stretch of DAC output: `bytes` played from stream byte `start` up to `end` (repeating when cyclic). */
export interface PlayedSegment {
  readonly start: number;
  end: number;
  readonly bytes: Uint8Array;
  readonly cyclic: boolean;
}

/** Everything a DAC emitted in one run. */
export interface DacRun {
  readonly clock: SampleClock;
  readonly layout: ScanLayout;
  readonly segments: PlayedSegment[];
  /** Stream byte at which the run stopped (set at stop). */
  end: number | null;
}

/** A simulated DAC: plays what the DMA channel feeds it and records every segment it played. */
export class Dac extends Converter {
  readonly #runs: DacRun[] = [];
  #current: DacRun | null = null;
  #open: PlayedSegment | null = null;

  /** Runs so far, oldest first (the last one may still be going). */
  get runs(): readonly DacRun[] {
    return this.#runs;
  }

  protected override onStart(): void {
    this.#current = { clock: this.sampleClock!, layout: this.layout!, segments: [], end: null };
    this.#runs.push(this.#current);
  }

  protected override onStop(): void {
    if (this.#current) this.#current.end = this.scansBy(this.clock.now) * this.bytesPerScan;
    this.#current = null;
    this.#open = null;
  }

  beginPlay(bytes: Uint8Array, streamByte: number, cyclic: boolean): void {
    const seg: PlayedSegment = { start: streamByte, end: Number.POSITIVE_INFINITY, bytes, cyclic };
    if (!cyclic) seg.end = streamByte + bytes.length;
    this.#current?.segments.push(seg);
    this.#open = seg;
  }

  endPlay(streamByte: number): void {
    if (this.#open) this.#open.end = streamByte;
    this.#open = null;
  }

  /** Stream byte of the run at time t, and the run; undefined when the DAC was not running then. */
  #locate(t: number): { run: DacRun; scan: number } | undefined {
    for (let i = this.#runs.length - 1; i >= 0; i--) {
      const run = this.#runs[i]!;
      if (t < run.clock.t0) continue;
      const scan = scansBy(run.clock, t);
      const endScan = run.end === null ? Number.POSITIVE_INFINITY : run.end / run.layout.bytesPerScan;
      if (scan >= endScan) return undefined;
      return { run, scan };
    }
    return undefined;
  }

  /**
   * Raw code that channel `channel` outputs at time `t` (the scan being played then), or undefined when the
   * DAC was stopped or starved (underflow) at that time.
   */
  valueAt(channel: number, t: number): number | undefined {
    const at = this.#locate(t);
    if (!at) return undefined;
    const { run, scan } = at;
    const bpd = run.layout.bytesPerScan;
    const byte = scan * bpd;
    const field = run.layout.fields.findIndex((f) => f.channel === channel);
    if (field < 0) return undefined;
    for (let i = run.segments.length - 1; i >= 0; i--) {
      const seg = run.segments[i]!;
      if (byte < seg.start || byte + bpd > seg.end) continue;
      const rel = (byte - seg.start) % seg.bytes.length;
      if (rel + bpd > seg.bytes.length) return undefined;
      return readScans(seg.bytes, rel, run.layout, 1)[0]![field];
    }
    return undefined;
  }

  /**
   * The scans played in run `runIndex` (default: the last), decoded per field, from stream byte 0 to the
   * run's end (or now). Starved scans are null.
   */
  playedScans(runIndex = this.#runs.length - 1, maxScans = 1_000_000): (readonly number[] | null)[] {
    const run = this.#runs[runIndex];
    if (!run) return [];
    const bpd = run.layout.bytesPerScan;
    const endByte = run.end ?? this.scansBy(this.clock.now) * bpd;
    const n = Math.min(maxScans, Math.floor(endByte / bpd));
    const out: (readonly number[] | null)[] = new Array(n).fill(null);
    for (const seg of run.segments) {
      const segEnd = Math.min(seg.end, endByte);
      for (let b = Math.ceil(seg.start / bpd) * bpd; b + bpd <= segEnd && b / bpd < n; b += bpd) {
        const rel = (b - seg.start) % seg.bytes.length;
        if (rel + bpd <= seg.bytes.length) out[b / bpd] = readScans(seg.bytes, rel, run.layout, 1)[0]!;
      }
    }
    return out;
  }
}
