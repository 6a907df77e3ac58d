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
import { encodeScans, readScanField, readScans, type ScanLayout, type ScanType } from './scan.ts';
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

/** Scans generated per step of a block: bounds the per-channel value arrays (4096 x 8 bytes each). */
const CHUNK_SCANS = 4096;
/** Largest copy tile of a periodic stream: periods longer than this are generated block by block. */
const MAX_TILE_BYTES = 4 << 20;
/** A tile holds whole periods and at least this much, so that copies from it are long. */
const MIN_TILE_BYTES = 64 << 10;

/** Most bytes of encoded tiles the process keeps for converters built again ({@link tileCache}). */
const TILE_CACHE_BYTES = 16 << 20;

/**
 * Whole periods of the stream of a run whose every enabled channel repeats, encoded as they are first needed
 * and then copied. `ready` bytes from the start are encoded; beyond the first period they are copies of it.
 */
interface TileBytes {
  readonly bytes: Uint8Array;
  /** Bytes of one period of scans. */
  readonly periodBytes: number;
  ready: number;
}

/** A converter's tile: the layout it was asked for, and the bytes it shares with identical converters. */
interface Tile {
  readonly layout: ScanLayout;
  readonly data: TileBytes;
}

/**
 * Tiles of the converters of this process, by {@link tileKey}: a simulator built again with the same board
 * (every test, fuzz run and bench run does, whatever its seed) copies its stream from the start instead of
 * encoding it again. The bytes are a pure function of the key, so sharing them changes nothing a run produces.
 */
const tileCache = new Map<string, TileBytes>();
let tileCacheBytes = 0;

/** Keeps `t` under `key`, dropping the oldest tiles beyond {@link TILE_CACHE_BYTES}. */
function cacheTile(key: string, t: TileBytes): void {
  for (const [k, old] of tileCache) {
    if (tileCacheBytes + t.bytes.length <= TILE_CACHE_BYTES) break;
    tileCache.delete(k);
    tileCacheBytes -= old.bytes.length;
  }
  if (tileCacheBytes + t.bytes.length > TILE_CACHE_BYTES) return;
  tileCache.set(key, t);
  tileCacheBytes += t.bytes.length;
}

/**
 * What a channel's samples are a function of, for the signal kinds whose spec is a few numbers: the spec, the
 * sample format and the rate (the seed only seeds noise, which never repeats). Null for other kinds.
 */
function signalKey(spec: SignalSpec, type: ScanType, sampleRateHz: number): string | null {
  if (spec.kind === 'samples' || spec.kind === 'noise') return null;
  return JSON.stringify([spec, type.sign, type.realbits, sampleRateHz], exactNumbers);
}

/** JSON replacer keeping the numbers JSON cannot tell apart (NaN, the infinities, -0) distinct. */
function exactNumbers(_key: string, v: unknown): unknown {
  return typeof v === 'number' ? (Object.is(v, -0) ? 'n-0' : `n${v}`) : v;
}

/** The key of a layout's tile, or null when a field's signal has no {@link signalKey}. */
function tileKey(layout: ScanLayout, signalKeys: readonly (string | null)[]): string | null {
  let key = `${layout.bytesPerScan}`;
  for (const f of layout.fields) {
    const k = signalKeys[f.channel];
    if (k == null) return null;
    const t = f.type;
    key += `|${f.channel},${f.offset},${t.sign},${t.realbits},${t.storagebits},${t.shift},${t.endianness},${t.repeat ?? 1},${k}`;
  }
  return key;
}

/** Least common multiple of the periods of a layout's fields, or null when one has none or it is too long. */
function scanPeriod(layout: ScanLayout, signals: readonly SignalGenerator[]): number | null {
  let p = 1;
  for (const f of layout.fields) {
    const q = signals[f.channel]?.period ?? null;
    if (q === null) return null;
    let a = p;
    let b = q;
    while (b !== 0) {
      const r = a % b;
      a = b;
      b = r;
    }
    p = (p / a) * q;
    if (p * layout.bytesPerScan > MAX_TILE_BYTES) return null;
  }
  return p;
}

/** Whether two layouts give the same bytes for the same samples. */
function sameLayout(a: ScanLayout, b: ScanLayout): boolean {
  if (a === b) return true;
  if (a.bytesPerScan !== b.bytesPerScan || a.fields.length !== b.fields.length) return false;
  return a.fields.every((f, i) => {
    const g = b.fields[i]!;
    const t = f.type;
    const u = g.type;
    return (
      f.channel === g.channel &&
      f.offset === g.offset &&
      t.sign === u.sign &&
      t.realbits === u.realbits &&
      t.storagebits === u.storagebits &&
      t.shift === u.shift &&
      t.endianness === u.endianness &&
      (t.repeat ?? 1) === (u.repeat ?? 1)
    );
  });
}

/**
 * A simulated ADC: channel values from deterministic signal generators, or from a loopback input. Blocks are
 * generated a chunk of scans at a time through typed arrays; when every enabled channel's signal repeats,
 * one tile of whole periods is encoded once per layout and the stream is copied from it.
 */
export class Adc extends Converter {
  readonly #signals: SignalGenerator[];
  readonly #inputs: (AdcInput | null)[];
  /** Per-field raw values of one chunk of scans. */
  #values: Float64Array[] = [];
  /** Encoded scans of a chunk, for blocks that start or end inside a scan. */
  #scratch = new Uint8Array(0);
  #tile: Tile | null = null;
  /** Per channel, what its signal's samples depend on ({@link signalKey}). */
  #signalKeys: (string | null)[] | null = null;
  /** The rate the signals were built for. */
  readonly #signalRate: number;

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
        channelSeed(seed, i),
      ),
    );
    this.#inputs = channels.map(() => null);
    this.#signalRate = sampleRateHz;
  }

  /** {@link Adc.#signalKeys}, built when a tile is first looked for (most converters built never capture). */
  #keys(): readonly (string | null)[] {
    this.#signalKeys ??= this.channels.map((ch) =>
      signalKey(ch.signal ?? { kind: 'constant', value: 0 }, ch.type, this.#signalRate),
    );
    return this.#signalKeys;
  }

  /** Wires channel `index` to an external input (a DAC output); null restores its signal generator. */
  setInput(index: number, input: AdcInput | null): void {
    this.#inputs[index] = input;
    this.#tile = null;
  }

  /**
   * The code a direct read (sysfs `in_voltageN_raw`) of channel `channel` sees at time `t`, converter running
   * or not: the loopback input's value at `t` (0 when it is silent), else the signal's sample at index
   * `scansBy({ t0: 0, rate }, t)`, the samples the channel would have converted since boot at the current rate.
   */
  directSample(channel: number, t: number): number {
    const input = this.#inputs[channel];
    if (input) return input.valueAt(t) ?? 0;
    return this.#signals[channel]!.sample(scansBy({ t0: 0, rate: this.sampleRateHz }, t));
  }

  /** Raw code of channel `channel` at scan `n` of the current run. */
  sampleOf = (channel: number, n: number): number => {
    const input = this.#inputs[channel];
    if (input) return input.valueAt(this.scanTime(n)) ?? 0;
    return this.#signals[channel]!.sample(n);
  };

  fill(dest: Uint8Array, destOffset: number, streamByte: number, length: number): void {
    const layout = this.layout!;
    const tile = this.#tileFor(layout);
    if (tile) {
      this.#copyTile(tile, dest, destOffset, streamByte, length);
      return;
    }
    const bpd = layout.bytesPerScan;
    if (bpd === 0) return;
    let first = Math.floor(streamByte / bpd);
    let head = streamByte - first * bpd;
    let done = 0;
    while (done < length) {
      if (head === 0 && length - done >= bpd) {
        const count = Math.min(CHUNK_SCANS, Math.floor((length - done) / bpd));
        this.#encode(dest, destOffset + done, layout, first, count);
        first += count;
        done += count * bpd;
        continue;
      }
      // A partial scan at either end: encode whole scans aside and copy the part asked for.
      const count = Math.min(CHUNK_SCANS, Math.ceil((head + length - done) / bpd));
      if (this.#scratch.length < count * bpd) this.#scratch = new Uint8Array(CHUNK_SCANS * bpd);
      this.#encode(this.#scratch, 0, layout, first, count);
      const n = Math.min(count * bpd - head, length - done);
      dest.set(this.#scratch.subarray(head, head + n), destOffset + done);
      done += n;
      first += Math.floor((head + n) / bpd);
      head = (head + n) % bpd;
    }
  }

  /** Encodes scans [first, first + count) at dest[offset..] (count <= CHUNK_SCANS). */
  #encode(dest: Uint8Array, offset: number, layout: ScanLayout, first: number, count: number): void {
    const fields = layout.fields;
    while (this.#values.length < fields.length) this.#values.push(new Float64Array(CHUNK_SCANS));
    for (let j = 0; j < fields.length; j++) {
      const ch = fields[j]!.channel;
      const out = this.#values[j]!;
      const input = this.#inputs[ch];
      if (input) for (let i = 0; i < count; i++) out[i] = input.valueAt(this.scanTime(first + i)) ?? 0;
      else this.#signals[ch]!.fill(out, first, count);
    }
    encodeScans(dest, offset, layout, count, this.#values);
  }

  /** The tile of the current run when every enabled channel's signal repeats, else null. */
  #tileFor(layout: ScanLayout): Tile | null {
    const t = this.#tile;
    if (t && sameLayout(t.layout, layout)) return t;
    if (layout.fields.some((f) => this.#inputs[f.channel])) return null;
    const period = scanPeriod(layout, this.#signals);
    if (period === null || layout.bytesPerScan === 0) return null;
    const key = tileKey(layout, this.#keys());
    let data = key === null ? undefined : tileCache.get(key);
    if (!data) {
      const periodBytes = period * layout.bytesPerScan;
      const size = Math.max(1, Math.ceil(MIN_TILE_BYTES / periodBytes)) * periodBytes;
      data = { bytes: new Uint8Array(size), periodBytes, ready: 0 };
      if (key !== null) cacheTile(key, data);
    }
    this.#tile = { layout, data };
    return this.#tile;
  }

  /**
   * Copies stream bytes [streamByte, streamByte + length) from the tile, encoding what it lacks first: the
   * first period scan by scan, the rest as copies of it.
   */
  #copyTile(tile: Tile, dest: Uint8Array, destOffset: number, streamByte: number, length: number): void {
    const t = tile.data;
    const size = t.bytes.length;
    let at = streamByte % size;
    let done = 0;
    while (done < length) {
      const n = Math.min(size - at, length - done);
      if (at + n > t.ready) this.#extendTile(tile, at + n);
      dest.set(t.bytes.subarray(at, at + n), destOffset + done);
      done += n;
      at = 0;
    }
  }

  /** Makes the tile's first `upTo` bytes (rounded up to a whole scan) ready. */
  #extendTile(tile: Tile, upTo: number): void {
    const t = tile.data;
    const bpd = tile.layout.bytesPerScan;
    const to = Math.ceil(upTo / bpd) * bpd;
    let b = t.ready;
    for (const end = Math.min(to, t.periodBytes); b < end; ) {
      const count = Math.min(CHUNK_SCANS, (end - b) / bpd);
      this.#encode(t.bytes, b, tile.layout, b / bpd, count);
      b += count * bpd;
    }
    // Past the first period the stream repeats it: each copy's source lies before its destination.
    for (; b < to; ) {
      const k = Math.min(t.periodBytes, to - b);
      t.bytes.copyWithin(b, b - t.periodBytes, b - t.periodBytes + k);
      b += k;
    }
    t.ready = to;
  }
}

/**
 * The seed of channel i's signal (noise without a seed of its own): the device seed's low 32 bits mixed with
 * the channel, and its bits above 32 kept, so that every bit of a 53-bit seed counts.
 */
function channelSeed(seed: number, i: number): number {
  if (seed < 4294967296) return (seed + i * 0x9e3779b1) >>> 0;
  const high = Math.floor(seed / 4294967296);
  return high * 4294967296 + (((seed % 4294967296) + i * 0x9e3779b1) >>> 0);
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
    const fields = run.layout.fields;
    let field = 0;
    while (field < fields.length && fields[field]!.channel !== channel) field++;
    if (field === fields.length) return undefined;
    for (let i = run.segments.length - 1; i >= 0; i--) {
      const seg = run.segments[i]!;
      if (byte < seg.start || byte + bpd > seg.end) continue;
      const rel = (byte - seg.start) % seg.bytes.length;
      if (rel + bpd > seg.bytes.length) return undefined;
      return readScanField(seg.bytes, rel, run.layout, field);
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
