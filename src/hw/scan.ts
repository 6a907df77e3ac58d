/**
 * The byte layout of IIO scans: packing raw channel samples into the storage words of a scan and back.
 *
 * A field's storage word is the raw value cut to realbits, sign-extended (`s`) or zero-extended (`u`),
 * shifted left by shift and cut to storagebits, in the field's byte order (`iio_chan_spec.scan_type`). So
 * `le:s12/16>>0` stores -2048 as bytes `00 f8`: the bits above realbits repeat the sign, as DMA ADC cores
 * deliver them with sign extension enabled (e.g. ADI's axi-adc). Decoders mask realbits and sign-extend
 * themselves, so they never depend on those bits (the ABI leaves them unspecified).
 *
 * The layout itself (field offsets, bytes per scan) comes from the kernel model (`iio_compute_scan_bytes()`,
 * rule SCAN-1); this module only consumes it.
 */

/** Byte order of a storage word: `le` or `be`, as shown by `<ch>_type` (rule ATTR-20). */
export type Endianness = 'le' | 'be';

/** A channel's scan type, mirroring `struct iio_scan_type`. */
export interface ScanType {
  /** `s`: two's complement, sign-extended from realbits (in storage and on decode); `u`: unsigned. */
  sign: 's' | 'u';
  /** Significant bits, 1..64. */
  realbits: number;
  /** Bits of the storage word: 8, 16, 32 or 64. */
  storagebits: number;
  /** Left shift of the value inside the storage word, 0..63. */
  shift: number;
  /** Byte order of the storage word. */
  endianness: Endianness;
  /**
   * Elements per scan (default 1). A repeated field spans `storagebits/8 * roundup_pow_of_two(repeat)`
   * bytes; {@link writeScans} puts the sample in each of the `repeat` elements and zeroes the rest,
   * {@link readScans} decodes element 0.
   */
  repeat?: number;
}

/** One enabled channel's place in a scan. */
export interface ScanField {
  /** Index into the device's channel list: the first argument of `sampleOf` in {@link writeScans}. */
  channel: number;
  /** Byte offset of the field within the scan. */
  offset: number;
  /** The channel's scan type. */
  type: ScanType;
}

/** The layout of one scan, as computed by the kernel model (`iio_compute_scan_bytes()`, rule SCAN-1). */
export interface ScanLayout {
  /** Bytes per scan (bytes per datum). */
  bytesPerScan: number;
  /** Enabled channels by ascending scan index. */
  fields: readonly ScanField[];
}

const TWO32 = 4294967296;

function checkType(type: ScanType): void {
  const { storagebits, realbits, shift } = type;
  if (storagebits !== 8 && storagebits !== 16 && storagebits !== 32 && storagebits !== 64) {
    throw new RangeError(`storagebits must be 8, 16, 32 or 64, got ${storagebits}`);
  }
  if (!Number.isInteger(realbits) || realbits < 1 || realbits > 64) {
    throw new RangeError(`realbits must be an integer in 1..64, got ${realbits}`);
  }
  if (!Number.isInteger(shift) || shift < 0 || shift > 63) {
    throw new RangeError(`shift must be an integer in 0..63, got ${shift}`);
  }
  const repeat = type.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new RangeError(`repeat must be a positive integer, got ${repeat}`);
  }
}

/** Element slots of a field: `roundup_pow_of_two(repeat)` when repeat > 1, else 1 (rule SCAN-1). */
function slotsOf(repeat: number): number {
  return repeat > 1 ? 2 ** Math.ceil(Math.log2(repeat)) : 1;
}

/**
 * The storage word of one raw value, as an unsigned bigint (byte order not applied): `raw & mask(realbits)`,
 * sign-extended from realbits when `sign` is `s`, shifted left by shift, masked to storagebits. For
 * `s12/16>>0`: -2048 → 0xf800, 2047 → 0x07ff; for `u12/16>>0`: 0x1234 → 0x0234. Negative raws are taken in
 * two's complement; fractions are truncated and non-finite values encode as 0.
 * @throws RangeError on an invalid scan type.
 */
export function encodeSample(raw: number, type: ScanType): bigint {
  checkType(type);
  const v = Number.isFinite(raw) ? BigInt(Math.trunc(raw)) : 0n;
  const value = type.sign === 's' ? BigInt.asIntN(type.realbits, v) : BigInt.asUintN(type.realbits, v);
  return BigInt.asUintN(type.storagebits, value << BigInt(type.shift));
}

const K_U8 = 0;
const K_LE16 = 1;
const K_BE16 = 2;
const K_LE32 = 3;
const K_BE32 = 4;
const K_LE64 = 5;
const K_BE64 = 6;

interface FieldPlan {
  kind: number;
  channel: number;
  offset: number;
  /** Storage <= 32 bits: mask(realbits) << shift, cut to storagebits (int32); 0 if shift >= storagebits. */
  mask: number;
  /** Storage <= 32 bits: 32 - realbits (0 when realbits >= 32), the shift pair extending from realbits. */
  up: number;
  /** For storagebits <= 32: what the shifted, extended value is cut to: storage mask (s) or `mask` (u). */
  writeMask: number;
  shift: number;
  realbits: number;
  signed: boolean;
  repeat: number;
  elementBytes: number;
}

function fieldPlan(field: ScanField): FieldPlan {
  const { type } = field;
  checkType(type);
  const le = type.endianness === 'le';
  const kind =
    type.storagebits === 8
      ? K_U8
      : type.storagebits === 16
        ? le
          ? K_LE16
          : K_BE16
        : type.storagebits === 32
          ? le
            ? K_LE32
            : K_BE32
          : le
            ? K_LE64
            : K_BE64;
  let mask = 0;
  let writeMask = 0;
  if (type.storagebits <= 32 && type.shift < type.storagebits) {
    const real = type.realbits >= 32 ? -1 : (1 << type.realbits) - 1;
    const storage = type.storagebits === 32 ? -1 : (1 << type.storagebits) - 1;
    mask = (real << type.shift) & storage;
    writeMask = type.sign === 's' ? storage : mask;
  }
  return {
    kind,
    channel: field.channel,
    offset: field.offset,
    mask,
    up: type.realbits >= 32 ? 0 : 32 - type.realbits,
    writeMask,
    shift: type.shift,
    realbits: type.realbits,
    signed: type.sign === 's',
    repeat: type.repeat ?? 1,
    elementBytes: type.storagebits / 8,
  };
}

function planOf(layout: ScanLayout): FieldPlan[] {
  const { bytesPerScan } = layout;
  if (!Number.isSafeInteger(bytesPerScan) || bytesPerScan < 0) {
    throw new RangeError(`bytesPerScan must be a non-negative integer, got ${bytesPerScan}`);
  }
  return layout.fields.map((field) => {
    const plan = fieldPlan(field);
    const { offset } = field;
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      offset + plan.elementBytes * slotsOf(plan.repeat) > bytesPerScan
    ) {
      throw new RangeError(
        `field of channel ${field.channel} at offset ${offset} overflows a ${bytesPerScan}-byte scan`,
      );
    }
    return plan;
  });
}

/** True when the written elements cover every byte of a scan: no padding or unused repeat slot to zero. */
function coversScan(layout: ScanLayout): boolean {
  const covered = new Uint8Array(layout.bytesPerScan);
  for (const { offset, type } of layout.fields) {
    covered.fill(1, offset, offset + (type.storagebits / 8) * (type.repeat ?? 1));
  }
  return covered.every((b) => b === 1);
}

/** A layout compiled once: its field plans, whether it covers its scans, and the 16-bit fast path's tables. */
interface LayoutPlan {
  readonly bps: number;
  readonly fields: readonly FieldPlan[];
  readonly covers: boolean;
  /** Every field a single le16 word: the fast path's offsets, shifts, sign-extension shifts and masks. */
  readonly le16: {
    /** Every field at an even offset, so that a scan at an even address is a run of aligned words. */
    readonly aligned: boolean;
    readonly offsets: Int32Array;
    readonly shifts: Int32Array;
    readonly ups: Int32Array;
    readonly masks: Int32Array;
  } | null;
}

/**
 * Compiled layouts, by layout object: the simulator builds one layout per buffer enable and fills many blocks
 * with it. A layout is treated as immutable once used.
 */
const compiled = new WeakMap<ScanLayout, LayoutPlan>();

/** The compiled form of a layout (checked and compiled on first use). */
function layoutPlan(layout: ScanLayout): LayoutPlan {
  const hit = compiled.get(layout);
  if (hit && hit.bps === layout.bytesPerScan && hit.fields.length === layout.fields.length) return hit;
  const fields = planOf(layout);
  const le16 = fields.every((f) => f.repeat === 1 && f.kind === K_LE16)
    ? {
        aligned: fields.every((f) => f.offset % 2 === 0),
        offsets: Int32Array.from(fields, (f) => f.offset),
        shifts: Int32Array.from(fields, (f) => f.shift),
        ups: Int32Array.from(fields, (f) => f.up),
        masks: Int32Array.from(fields, (f) => f.writeMask),
      }
    : null;
  const plan: LayoutPlan = { bps: layout.bytesPerScan, fields, covers: coversScan(layout), le16 };
  compiled.set(layout, plan);
  return plan;
}

// Scratch words of the 64-bit encoder, so that the hot path allocates nothing.
let wordLo = 0;
let wordHi = 0;

/** Sets wordLo/wordHi to the 64-bit storage word of raw (see {@link encodeSample}). */
function encode64(raw: number, realbits: number, shift: number, signed: boolean): void {
  const v = Number.isFinite(raw) ? Math.trunc(raw) : 0;
  let lo = v | 0;
  let hi = Math.floor(v / TWO32) | 0;
  if (realbits <= 32) {
    const up = 32 - realbits;
    lo = signed ? (lo << up) >> up : (lo << up) >>> up;
    hi = signed ? lo >> 31 : 0;
  } else if (realbits < 64) {
    const up = 64 - realbits;
    hi = signed ? (hi << up) >> up : (hi << up) >>> up;
  }
  if (shift >= 32) {
    hi = lo << (shift - 32);
    lo = 0;
  } else if (shift > 0) {
    hi = (hi << shift) | (lo >>> (32 - shift));
    lo <<= shift;
  }
  wordLo = lo;
  wordHi = hi;
}

function writeField(view: DataView, at: number, f: FieldPlan, raw: number): void {
  switch (f.kind) {
    case K_U8:
      view.setUint8(at, (((raw << f.up) >> f.up) << f.shift) & f.writeMask);
      break;
    case K_LE16:
      view.setUint16(at, (((raw << f.up) >> f.up) << f.shift) & f.writeMask, true);
      break;
    case K_BE16:
      view.setUint16(at, (((raw << f.up) >> f.up) << f.shift) & f.writeMask, false);
      break;
    case K_LE32:
      view.setUint32(at, (((raw << f.up) >> f.up) << f.shift) & f.writeMask, true);
      break;
    case K_BE32:
      view.setUint32(at, (((raw << f.up) >> f.up) << f.shift) & f.writeMask, false);
      break;
    case K_LE64:
      encode64(raw, f.realbits, f.shift, f.signed);
      view.setUint32(at, wordLo, true);
      view.setUint32(at + 4, wordHi, true);
      break;
    default:
      encode64(raw, f.realbits, f.shift, f.signed);
      view.setUint32(at, wordHi, false);
      view.setUint32(at + 4, wordLo, false);
  }
}

/**
 * Fills `count` consecutive scans at `dest[destOffset..]` with samples `firstSample` onwards: field f of
 * scan i holds the storage word of `sampleOf(f.channel, firstSample + i)` (see {@link encodeSample}:
 * `le:s12/16>>0` -2048 → `00 f8`); padding bytes are written as 0. This is what the simulated ADC's DMA
 * writes into each block, so it allocates nothing per sample.
 * @throws RangeError on an invalid layout or if the scans do not fit in dest.
 */
export function writeScans(
  dest: Uint8Array,
  destOffset: number,
  layout: ScanLayout,
  firstSample: number,
  count: number,
  sampleOf: (channel: number, n: number) => number,
): void {
  const lp = layoutPlan(layout);
  const plan = lp.fields;
  const bps = lp.bps;
  const end = checkDest(dest, destOffset, bps, count);
  if (count === 0) return;
  if (!lp.covers) dest.fill(0, destOffset, end);
  if (lp.le16) {
    writeLe16Scans(dest, destOffset, bps, plan, lp.le16, firstSample, count, sampleOf);
    return;
  }
  const view = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
  const nf = plan.length;
  let base = destOffset;
  for (let i = 0; i < count; i++, base += bps) {
    const n = firstSample + i;
    for (let j = 0; j < nf; j++) {
      const f = plan[j]!;
      const raw = sampleOf(f.channel, n);
      if (f.repeat === 1) {
        writeField(view, base + f.offset, f, raw);
      } else {
        for (let e = 0; e < f.repeat; e++) writeField(view, base + f.offset + e * f.elementBytes, f, raw);
      }
    }
  }
}

/** Checks that `count` scans of `bps` bytes fit in dest at destOffset; returns the end offset. */
function checkDest(dest: Uint8Array, destOffset: number, bps: number, count: number): number {
  if (!Number.isSafeInteger(count) || count < 0)
    throw new RangeError(`scan count must be >= 0, got ${count}`);
  const end = destOffset + count * bps;
  if (!Number.isSafeInteger(destOffset) || destOffset < 0 || end > dest.length) {
    throw new RangeError(
      `${count} scans of ${bps} bytes at offset ${destOffset} overflow ${dest.length} bytes`,
    );
  }
  return end;
}

/** writeScans for layouts made only of 16-bit little-endian fields (the common ADC case). */
function writeLe16Scans(
  dest: Uint8Array,
  destOffset: number,
  bps: number,
  plan: readonly FieldPlan[],
  t: NonNullable<LayoutPlan['le16']>,
  firstSample: number,
  count: number,
  sampleOf: (channel: number, n: number) => number,
): void {
  const nf = plan.length;
  const { offsets, shifts, ups, masks } = t;
  // Two byte stores instead of a DataView: no view object per call (the trigger handlers write one scan a call).
  let base = destOffset;
  for (let i = 0; i < count; i++, base += bps) {
    const n = firstSample + i;
    for (let j = 0; j < nf; j++) {
      const up = ups[j]!;
      const w = (((sampleOf(plan[j]!.channel, n) << up) >> up) << shifts[j]!) & masks[j]!;
      const at = base + offsets[j]!;
      dest[at] = w;
      dest[at + 1] = w >>> 8;
    }
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Block form of {@link writeScans}: fills `count` scans at `dest[destOffset..]` from raw values given per
 * field, `values[j][i]` being field j's raw value in scan i (as `sampleOf(field j's channel, first + i)`
 * would give it). The bytes are exactly those writeScans writes; 16-bit little-endian layouts are stored
 * through a typed array with every check made once per block.
 * @throws RangeError on an invalid layout, if the scans do not fit in dest, or a value array is too short.
 */
export function encodeScans(
  dest: Uint8Array,
  destOffset: number,
  layout: ScanLayout,
  count: number,
  values: readonly Float64Array[],
): void {
  const lp = layoutPlan(layout);
  const plan = lp.fields;
  const bps = lp.bps;
  const end = checkDest(dest, destOffset, bps, count);
  if (values.length < plan.length || values.some((v, j) => j < plan.length && v.length < count))
    throw new RangeError(`encodeScans needs ${count} values for each of ${plan.length} fields`);
  if (count === 0) return;
  if (!lp.covers) dest.fill(0, destOffset, end);
  const at = dest.byteOffset + destOffset;
  if (lp.le16?.aligned && LITTLE_ENDIAN_HOST && at % 2 === 0 && bps % 2 === 0) {
    const words = new Uint16Array(dest.buffer, at, (count * bps) / 2);
    const stride = bps / 2;
    const { offsets, shifts, ups, masks } = lp.le16;
    for (let j = 0; j < plan.length; j++) {
      const v = values[j]!;
      const up = ups[j]!;
      const shift = shifts[j]!;
      const mask = masks[j]!;
      for (let i = 0, w = offsets[j]! / 2; i < count; i++, w += stride)
        words[w] = (((v[i]! << up) >> up) << shift) & mask;
    }
    return;
  }
  const view = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
  for (let j = 0; j < plan.length; j++) {
    const f = plan[j]!;
    const v = values[j]!;
    for (let i = 0, base = destOffset + f.offset; i < count; i++, base += bps) {
      if (f.repeat === 1) writeField(view, base, f, v[i]!);
      else for (let e = 0; e < f.repeat; e++) writeField(view, base + e * f.elementBytes, f, v[i]!);
    }
  }
}

function decodeWith(view: DataView, at: number, f: FieldPlan): number {
  let word: number;
  switch (f.kind) {
    case K_U8:
      word = view.getUint8(at);
      break;
    case K_LE16:
      word = view.getUint16(at, true);
      break;
    case K_BE16:
      word = view.getUint16(at, false);
      break;
    case K_LE32:
      word = view.getUint32(at, true);
      break;
    case K_BE32:
      word = view.getUint32(at, false);
      break;
    default:
      return decode64(view.getBigUint64(at, f.kind === K_LE64), f);
  }
  return decodeWord(word, f);
}

/** The value of a storage word of at most 32 bits: shift undone, masked, sign-extended from realbits. */
function decodeWord(word: number, f: FieldPlan): number {
  if (f.mask === 0) return 0;
  const v = (word & f.mask) >>> f.shift;
  if (f.signed && f.realbits < 32) {
    const up = 32 - f.realbits;
    return (v << up) >> up;
  }
  // realbits > 32 in a word of <= 32 bits: the sign bit lies outside the word, so the value is non-negative.
  return f.signed && f.realbits === 32 ? v | 0 : v;
}

function decode64(word: bigint, f: FieldPlan): number {
  const v = BigInt.asUintN(f.realbits, word >> BigInt(f.shift));
  return Number(f.signed ? BigInt.asIntN(f.realbits, v) : v);
}

/**
 * Decodes `count` scans at `src[srcOffset..]`: per scan, per field of the layout (in order), the raw value
 * with the shift undone, masked to realbits and sign-extended from realbits for `s` fields (element 0 of a
 * repeated field). 64-bit values beyond 2^53 come back rounded to the nearest double.
 * @throws RangeError on an invalid layout or if the scans lie outside src.
 */
export function readScans(src: Uint8Array, srcOffset: number, layout: ScanLayout, count: number): number[][] {
  const { fields: plan, bps } = layoutPlan(layout);
  if (!Number.isSafeInteger(count) || count < 0)
    throw new RangeError(`scan count must be >= 0, got ${count}`);
  if (!Number.isSafeInteger(srcOffset) || srcOffset < 0 || srcOffset + count * bps > src.length) {
    throw new RangeError(
      `${count} scans of ${bps} bytes at offset ${srcOffset} overflow ${src.length} bytes`,
    );
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const scans: number[][] = new Array(count);
  const nf = plan.length;
  let base = srcOffset;
  for (let i = 0; i < count; i++, base += bps) {
    const values: number[] = new Array(nf);
    for (let j = 0; j < nf; j++) {
      const f = plan[j]!;
      values[j] = decodeWith(view, base + f.offset, f);
    }
    scans[i] = values;
  }
  return scans;
}

/**
 * Decodes field `field` (an index into `layout.fields`) of the scan at `src[scanOffset..]`: the value
 * {@link readScans} gives for it, without building the scan's array.
 * @throws RangeError on an invalid layout or field index, or if the field lies outside src.
 */
export function readScanField(
  src: Uint8Array,
  scanOffset: number,
  layout: ScanLayout,
  field: number,
): number {
  const f = layoutPlan(layout).fields[field];
  if (!f) throw new RangeError(`no field ${field} in a layout of ${layout.fields.length}`);
  const at = scanOffset + f.offset;
  checkBounds(src, at, f.elementBytes);
  switch (f.kind) {
    case K_U8:
      return decodeWord(src[at]!, f);
    case K_LE16:
      return decodeWord(src[at]! | (src[at + 1]! << 8), f);
    case K_BE16:
      return decodeWord((src[at]! << 8) | src[at + 1]!, f);
    case K_LE32:
      return decodeWord(
        (src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24)) >>> 0,
        f,
      );
    case K_BE32:
      return decodeWord(
        ((src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!) >>> 0,
        f,
      );
    default:
      return decodeWith(new DataView(src.buffer, src.byteOffset, src.byteLength), at, f);
  }
}

/**
 * Decodes one storage word at `src[offset..]`: shift undone, masked to realbits, sign-extended from realbits
 * when `sign` is `s`. 64-bit values beyond 2^53 come back rounded; see {@link decodeFieldBigInt}.
 * @throws RangeError on an invalid scan type or if the word lies outside src.
 */
export function decodeField(src: Uint8Array, offset: number, type: ScanType): number {
  const plan = fieldPlan({ channel: 0, offset: 0, type });
  checkBounds(src, offset, plan.elementBytes);
  return decodeWith(new DataView(src.buffer, src.byteOffset, src.byteLength), offset, plan);
}

function checkBounds(src: Uint8Array, offset: number, bytes: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + bytes > src.length) {
    throw new RangeError(`a ${bytes}-byte field at offset ${offset} overflows ${src.length} bytes`);
  }
}

/**
 * Exact form of {@link decodeField} for any storage width, as a bigint (negative for sign-extended `s`
 * values): the inverse of {@link encodeSample}.
 * @throws RangeError on an invalid scan type or if the word lies outside src.
 */
export function decodeFieldBigInt(src: Uint8Array, offset: number, type: ScanType): bigint {
  checkType(type);
  const bytes = type.storagebits / 8;
  checkBounds(src, offset, bytes);
  let word = 0n;
  for (let i = 0; i < bytes; i++) {
    const b = BigInt(src[offset + (type.endianness === 'le' ? bytes - 1 - i : i)]!);
    word = (word << 8n) | b;
  }
  const v = BigInt.asUintN(type.realbits, word >> BigInt(type.shift));
  return type.sign === 's' ? BigInt.asIntN(type.realbits, v) : v;
}
