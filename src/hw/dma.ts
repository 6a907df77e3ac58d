/**
 * A DMA controller channel in the manner of the ADI AXI DMAC behind industrialio-buffer-dmaengine: it
 * moves descriptors between memory and a streaming converter at the converter's data rate, reports each
 * completion after an IRQ latency, and can be told to fail a transfer or deliver an IRQ late.
 *
 * The converter side is a {@link StreamPort}: a byte stream paced by a sample clock. Stream byte `b`
 * belongs to scan `floor(b / bytesPerScan)`; a device-to-memory transfer is complete once the scan holding
 * its last byte has been converted; a memory-to-device transfer once that scan has been played.
 */
import type { SimEvent, VirtualClock } from './clock.ts';
import { type Emitter, hasListeners } from './emitter.ts';

/** Transfer direction, as dmaengine spells it. */
export type DmaDirection = 'dev-to-mem' | 'mem-to-dev';

/** The converter a channel streams from (ADC) or to (DAC). */
export interface StreamPort {
  /** Human name for traces. */
  readonly name: string;
  /** True between start and stop of the converter. */
  readonly running: boolean;
  /** Bytes of one scan in the current layout (0 when stopped). */
  readonly bytesPerScan: number;
  /** Time at which scan `k` of the current run is converted (ADC) or has been played (DAC). */
  scanTime(k: number): number;
  /** Scans converted (ADC) or played (DAC) by time `t` in the current run. */
  scansBy(t: number): number;
  /** ADC: writes stream bytes [streamByte, streamByte + length) into `dest` at `destOffset`. */
  fill?(dest: Uint8Array, destOffset: number, streamByte: number, length: number): void;
  /**
   * DAC: from stream byte `streamByte` on, `bytes` are played (over and over when `cyclic`) until
   * {@link StreamPort.endPlay} says where it stopped.
   */
  beginPlay?(bytes: Uint8Array, streamByte: number, cyclic: boolean): void;
  /** DAC: the transfer begun last stopped at stream byte `streamByte` (exclusive). */
  endPlay?(streamByte: number): void;
}

/** How a completed transfer ended, as seen by the completion callback (`dmaengine_result`). */
export interface DmaResult {
  /** `error` when an injected fault hit the transfer; IIO ignores it (DMAQ-6). */
  readonly status: 'complete' | 'error';
  /** Bytes not transferred. */
  readonly residue: number;
}

/**
 * A prepared transfer (`dma_async_tx_descriptor`) over memory vectors (`struct dma_vec`): the transfer
 * runs through the vectors in order, starting at the first byte of the first.
 */
export interface DmaDescriptor {
  readonly id: number;
  readonly vecs: readonly Uint8Array[];
  readonly length: number;
  /** Repeats until terminated or ended by a later descriptor; never completes on its own. */
  readonly cyclic: boolean;
  /** Completion callback, run after the IRQ latency; never for cyclic descriptors. */
  readonly callback: ((result: DmaResult) => void) | null;
  /** Who submitted it, for traces. */
  readonly label: string;
  /** DMA_PREP_LOAD_EOT: this descriptor may end a running cyclic one at its pass boundary (CYC-4). */
  readonly loadEot: boolean;
}

/** Parameters of a channel. */
export interface DmaChannelSpec {
  readonly name: string;
  readonly direction: DmaDirection;
  /** Largest single segment in bytes (`dma_get_max_seg_size`). */
  readonly maxSegmentSize: number;
  /** Length alignment in bytes (bus width); a descriptor whose length is not a multiple is refused. */
  readonly lengthAlignBytes: number;
  /** Delay from the end of a transfer to its completion callback, ns. */
  readonly irqLatencyNs: number;
}

/** Observation events of a DMA channel (never used to drive the model). */
export interface DmaEvents {
  'dma:start': (e: {
    channel: string;
    id: number;
    label: string;
    streamByte: number;
    length: number;
    time: number;
  }) => void;
  'dma:done': (e: {
    channel: string;
    id: number;
    label: string;
    status: 'complete' | 'error';
    residue: number;
    time: number;
    irqAt: number;
  }) => void;
  'dma:irq': (e: { channel: string; id: number; label: string; time: number }) => void;
  'dma:abort': (e: { channel: string; id: number; label: string; bytesDone: number; time: number }) => void;
  'dma:gap': (e: {
    channel: string;
    kind: 'overflow' | 'underflow';
    bytes: number;
    scans: number;
    time: number;
  }) => void;
}

/** Byte and transfer counters of a channel; every stream byte lands in exactly one counter. */
export interface DmaStats {
  /** Transfers completed (callback scheduled), cyclic passes excluded. */
  transfers: number;
  /** Bytes moved by completed transfers (ADC: written to memory; DAC: played). */
  bytesDone: number;
  /** Bytes of transfers that ended with an injected error (not moved). */
  bytesFailed: number;
  /** Bytes moved by transfers that were terminated part way. */
  bytesAborted: number;
  /** Bytes played by cyclic transfers (whole and partial passes). */
  bytesCyclic: number;
  /** Stream bytes that passed while no transfer was active: ADC overflow / DAC underflow. */
  bytesGap: number;
  /** The same gaps counted in scans (a scan partly in a gap counts). */
  scansGap: number;
  /** Of those, scans lost before the first transfer of a converter run (between its start and the first block). */
  scansGapAtStart: number;
  /** Cyclic passes played. */
  cyclicPasses: number;
  /** Completions whose error status was reported. */
  errors: number;
  /** Stream bytes of the converter sessions that ended (from each start to its stop). */
  streamBytes: number;
}

/**
 * The first `length` bytes of `vecs`, copied into one array: what the controller reads from memory. A copy
 * taken at the transfer's start, so that a program storing into a buffer the DMA is reading (which the
 * contract checker reports) cannot change a transfer half-way through and runs stay deterministic.
 */
function gather(vecs: readonly Uint8Array[], length: number): Uint8Array {
  if (vecs.length === 1) return vecs[0]!.slice(0, length);
  const out = new Uint8Array(length);
  let off = 0;
  for (const v of vecs) {
    if (off >= length) break;
    const n = Math.min(v.length, length - off);
    out.set(v.subarray(0, n), off);
    off += n;
  }
  return out;
}

interface Active {
  readonly desc: DmaDescriptor;
  readonly startByte: number;
  endEvent: SimEvent | null;
  fail: { residue: number } | null;
  extraIrqNs: number;
}

/** One DMA channel bound to one converter port. */
export class DmaChannel {
  readonly spec: DmaChannelSpec;
  readonly #clock: VirtualClock;
  readonly #events: Emitter<DmaEvents> | null;
  #port: StreamPort | null = null;
  #queue: DmaDescriptor[] = [];
  #active: Active | null = null;
  /** Completion interrupts not yet delivered (one or two at a time). */
  #irqs: SimEvent[] = [];
  /** Stream byte where the next transfer continues without a gap; null while the port is stopped. */
  #pos: number | null = null;
  #nextId = 1;
  #pendingFault: { residue: number } | null = null;
  #pendingIrqDelay = 0;
  readonly stats: DmaStats = {
    transfers: 0,
    bytesDone: 0,
    bytesFailed: 0,
    bytesAborted: 0,
    bytesCyclic: 0,
    bytesGap: 0,
    scansGap: 0,
    scansGapAtStart: 0,
    cyclicPasses: 0,
    errors: 0,
    streamBytes: 0,
  };

  constructor(clock: VirtualClock, spec: DmaChannelSpec, events: Emitter<DmaEvents> | null = null) {
    this.#clock = clock;
    this.spec = spec;
    this.#events = events;
  }

  /** Whether anyone listens to `name`: tested before a payload is built. */
  #listens(name: keyof DmaEvents): boolean {
    return this.#events !== null && hasListeners(this.#events, name);
  }

  /** Connects the converter. */
  connect(port: StreamPort): void {
    this.#port = port;
  }

  /**
   * Stream bytes of ended sessions that no counter explains (positive) or that were counted twice
   * (negative); 0 when every byte the converter produced or needed is in exactly one counter. Null while
   * the converter runs (the current session is not finished).
   */
  unaccountedBytes(): number | null {
    if (this.#pos !== null) return null;
    const s = this.stats;
    return s.streamBytes - (s.bytesDone + s.bytesFailed + s.bytesAborted + s.bytesCyclic + s.bytesGap);
  }

  /** True while a transfer is running or waiting on this channel. */
  get busy(): boolean {
    return this.#active !== null || this.#queue.length > 0;
  }

  /**
   * Prepares a descriptor (`dmaengine_prep_*`). Returns null, as the controller driver does, for a zero
   * length or one that is not a multiple of the bus width.
   */
  prep(
    memory: Uint8Array | readonly Uint8Array[],
    length: number,
    cyclic: boolean,
    callback: ((result: DmaResult) => void) | null,
    label: string,
    loadEot = true,
  ): DmaDescriptor | null {
    const vecs = memory instanceof Uint8Array ? [memory] : memory;
    const room = vecs.reduce((n, v) => n + v.length, 0);
    if (length <= 0 || length % this.spec.lengthAlignBytes !== 0 || length > room) return null;
    return { id: this.#nextId++, vecs, length, cyclic, callback, label, loadEot };
  }

  /** Queues a prepared descriptor and starts it when the channel is free (`dmaengine_submit` + issue_pending). */
  submit(desc: DmaDescriptor): void {
    this.#queue.push(desc);
    if (this.#active === null) this.#startNext();
    else if (this.#active.desc.cyclic && this.#active.endEvent === null)
      this.#scheduleCyclicPassEnd(this.#active);
  }

  /** Makes the next transfer to complete (the running one, or the next started) fail with `residue` bytes left. */
  injectError(residue = 0): void {
    if (this.#active && !this.#active.desc.cyclic && this.#active.fail === null)
      this.#active.fail = { residue };
    else this.#pendingFault = { residue };
  }

  /** Delays the completion IRQ of the next transfer to complete by `extraNs`. */
  delayNextIrq(extraNs: number): void {
    if (this.#active && !this.#active.desc.cyclic) this.#active.extraIrqNs += extraNs;
    else this.#pendingIrqDelay += extraNs;
  }

  /**
   * Stops the channel (`dmaengine_terminate_sync`): the running transfer is cut where the converter is,
   * queued ones are dropped, and no callback runs afterwards, not even for completions whose IRQ is pending.
   */
  terminateAll(): void {
    this.#abortActive();
    for (const ev of this.#irqs) this.#clock.cancel(ev);
    this.#irqs = [];
    this.#queue = [];
  }

  /** Cuts the running transfer where the converter is now: no completion, the bytes moved so far count as aborted. */
  #abortActive(): void {
    const a = this.#active;
    if (!a) return;
    this.#clock.cancel(a.endEvent);
    const port = this.#port;
    let done = 0;
    if (port?.running && this.#pos !== null) {
      const streamNow = port.scansBy(this.#clock.now) * port.bytesPerScan;
      const progressed = Math.max(0, streamNow - a.startByte);
      done = a.desc.cyclic ? progressed : Math.min(a.desc.length, progressed);
    }
    this.#finish(a, done);
    if (a.desc.cyclic) {
      this.stats.bytesCyclic += done;
      this.stats.cyclicPasses += Math.floor(done / a.desc.length);
    } else {
      this.stats.bytesAborted += done;
    }
    if (this.#listens('dma:abort'))
      this.#events!.emit('dma:abort', {
        channel: this.spec.name,
        id: a.desc.id,
        label: a.desc.label,
        bytesDone: done,
        time: this.#clock.now,
      });
    this.#active = null;
    if (this.#pos !== null) this.#pos = a.startByte + done;
  }

  /** The port started converting: stream byte 0 is now; a waiting transfer starts without a gap. */
  portStarted(): void {
    this.#pos = 0;
    if (this.#active === null) this.#startNext();
  }

  /** The port stopped: counts the gap since the last transfer and forgets the stream position. */
  portStopping(): void {
    const port = this.#port;
    // A transfer running when the converter stops ends there, without completion; queued ones wait.
    if (port && this.#active !== null) this.#abortActive();
    if (port && this.#pos !== null) {
      const streamNow = port.scansBy(this.#clock.now) * port.bytesPerScan;
      this.#countGap(streamNow);
      this.stats.streamBytes += Math.max(streamNow, this.#pos);
    }
    this.#pos = null;
  }

  /** Counts stream bytes that passed with no transfer active, up to stream byte `upTo`. */
  #countGap(upTo: number): void {
    const port = this.#port!;
    const pos = this.#pos!;
    if (upTo <= pos) return;
    const bytes = upTo - pos;
    const scans = Math.ceil(upTo / port.bytesPerScan) - Math.floor(pos / port.bytesPerScan);
    this.stats.bytesGap += bytes;
    this.stats.scansGap += scans;
    if (pos === 0) this.stats.scansGapAtStart += scans;
    if (this.#listens('dma:gap'))
      this.#events!.emit('dma:gap', {
        channel: this.spec.name,
        kind: this.spec.direction === 'dev-to-mem' ? 'overflow' : 'underflow',
        bytes,
        scans,
        time: this.#clock.now,
      });
    this.#pos = upTo;
  }

  /**
   * Starts the next queued descriptor. `chained`: the previous transfer just ended here, so the next one
   * continues at the very next stream byte, even in the middle of a scan.
   */
  #startNext(chained = false): void {
    const port = this.#port;
    const desc = this.#queue[0];
    if (!desc || !port?.running || this.#pos === null) return;
    this.#queue.shift();
    const bpd = port.bytesPerScan;
    // A gap resynchronises on the next whole scan the converter has not produced (or played) yet.
    const streamNow = port.scansBy(this.#clock.now) * bpd;
    const startByte = chained ? this.#pos : Math.max(this.#pos, streamNow);
    this.#countGap(startByte);
    const a: Active = { desc, startByte, endEvent: null, fail: null, extraIrqNs: 0 };
    if (!desc.cyclic) {
      a.fail = this.#pendingFault;
      a.extraIrqNs = this.#pendingIrqDelay;
      this.#pendingFault = null;
      this.#pendingIrqDelay = 0;
    }
    this.#active = a;
    if (this.spec.direction === 'mem-to-dev')
      port.beginPlay?.(gather(desc.vecs, desc.length), startByte, desc.cyclic);
    if (this.#listens('dma:start'))
      this.#events!.emit('dma:start', {
        channel: this.spec.name,
        id: desc.id,
        label: desc.label,
        streamByte: startByte,
        length: desc.length,
        time: this.#clock.now,
      });
    if (desc.cyclic) {
      this.#scheduleCyclicPassEnd(a);
      return;
    }
    const endTime = Math.max(this.#clock.now, port.scanTime(Math.floor((startByte + desc.length - 1) / bpd)));
    a.endEvent = this.#clock.at(
      endTime,
      () => `${this.spec.name}: transfer ${desc.id} ends`,
      () => this.#complete(a),
    );
  }

  /**
   * A cyclic transfer runs pass after pass. While nothing waits behind it, the passes need no events; once a
   * descriptor is queued, the current pass gets an end event so that the channel switches at the pass
   * boundary (every IIO descriptor carries DMA_PREP_LOAD_EOT, rule CYC-4).
   */
  #scheduleCyclicPassEnd(a: Active): void {
    if (!this.#queue[0]?.loadEot) return;
    const port = this.#port!;
    const bpd = port.bytesPerScan;
    const len = a.desc.length;
    const streamNow = port.scansBy(this.#clock.now) * bpd;
    const passes = Math.max(0, Math.floor((streamNow - a.startByte) / len)) + 1;
    const passEnd = a.startByte + passes * len;
    const endTime = Math.max(this.#clock.now, port.scanTime(Math.floor((passEnd - 1) / bpd)));
    a.endEvent = this.#clock.at(
      endTime,
      () => `${this.spec.name}: cyclic ${a.desc.id} pass ends`,
      () => {
        this.#finish(a, passes * len);
        this.stats.cyclicPasses += passes;
        this.stats.bytesCyclic += passes * len;
        this.#active = null;
        this.#pos = passEnd;
        this.#startNext(true);
      },
    );
  }

  /** Moves the data of a transfer that ends after `bytes` bytes of the stream. */
  #finish(a: Active, bytes: number): void {
    const port = this.#port!;
    if (this.spec.direction === 'dev-to-mem') {
      // A cyclic capture overwrites its buffer pass after pass: the memory holds the latest bytes.
      const len = a.desc.length;
      const passStart = a.startByte + Math.max(0, Math.floor((bytes - 1) / len)) * len;
      if (bytes > len) this.#fillRange(passStart - len, a.desc.vecs, 0, len);
      if (bytes > 0) this.#fillRange(passStart, a.desc.vecs, 0, a.startByte + bytes - passStart);
    } else {
      port.endPlay?.(a.startByte + bytes);
    }
  }

  /** Writes stream bytes from `streamByte` into bytes [offset, offset + n) of `vecs` taken end to end. */
  #fillRange(streamByte: number, vecs: readonly Uint8Array[], offset: number, n: number): void {
    const port = this.#port!;
    let base = 0;
    for (const v of vecs) {
      const from = Math.max(offset, base);
      const to = Math.min(offset + n, base + v.length);
      if (from < to) port.fill?.(v, from - base, streamByte + (from - offset), to - from);
      base += v.length;
      if (base >= offset + n) break;
    }
  }

  #complete(a: Active): void {
    const desc = a.desc;
    const residue = a.fail ? Math.min(desc.length, a.fail.residue) : 0;
    const moved = desc.length - residue;
    this.#finish(a, moved);
    this.stats.transfers++;
    this.stats.bytesDone += moved;
    this.stats.bytesFailed += residue;
    if (a.fail) this.stats.errors++;
    const result: DmaResult = { status: a.fail ? 'error' : 'complete', residue };
    const irqAt = this.#clock.now + this.spec.irqLatencyNs + a.extraIrqNs;
    if (this.#listens('dma:done'))
      this.#events!.emit('dma:done', {
        channel: this.spec.name,
        id: desc.id,
        label: desc.label,
        status: result.status,
        residue,
        time: this.#clock.now,
        irqAt,
      });
    const irq = this.#clock.at(
      irqAt,
      () => `${this.spec.name}: irq for transfer ${desc.id}`,
      () => {
        // Their order does not matter (they are only ever cancelled all together): the last fills the gap.
        const irqs = this.#irqs;
        const at = irqs.indexOf(irq);
        if (at >= 0) {
          irqs[at] = irqs[irqs.length - 1]!;
          irqs.length--;
        }
        if (this.#listens('dma:irq'))
          this.#events!.emit('dma:irq', {
            channel: this.spec.name,
            id: desc.id,
            label: desc.label,
            time: this.#clock.now,
          });
        desc.callback?.(result);
      },
    );
    this.#irqs.push(irq);
    this.#active = null;
    this.#pos = a.startByte + desc.length;
    this.#startNext(true);
  }
}
