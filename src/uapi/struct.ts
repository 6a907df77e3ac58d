/**
 * Little-endian codecs for the fixed-layout structs that cross the user/kernel boundary.
 *
 * Two ABIs are modelled: `lp64` (x86_64, arm64: natural alignment, 8-byte pointers) and `ilp32` (i386 as a compat
 * process: 64-bit integers aligned to 4, 4-byte pointers). Rulebook §1.4 and §13.
 *
 * @packageDocumentation
 */

/** The data model of the process that owns a struct: `lp64` (64-bit) or `ilp32` (i386-style compat). */
export type Abi = 'lp64' | 'ilp32';

/** Both ABIs, in a fixed order (handy for table-driven tests and compat comparisons). */
export const ABIS: readonly Abi[] = ['lp64', 'ilp32'];

/** `sizeof(int)` in both ABIs (the argument of GET_FD, GET_EVENT_FD, ATTACH, DETACH). */
export const SIZEOF_INT = 4;

/** `sizeof(void *)` for an ABI: 8 on LP64, 4 on ILP32. */
export function sizeofPointer(abi: Abi): number {
  return abi === 'lp64' ? 8 : 4;
}

/** `sizeof(long)` for an ABI: 8 on LP64, 4 on ILP32. */
export function sizeofLong(abi: Abi): number {
  return abi === 'lp64' ? 8 : 4;
}

/**
 * Integer field types, in kernel `__u32`/`__s64` terms; `ptr` is a user pointer (8 bytes on LP64, 4 on ILP32),
 * decoded as a `number` (exact below 2^53, which covers every user address).
 */
export type ScalarType = 'u8' | 's8' | 'u16' | 's16' | 'u32' | 's32' | 'u64' | 's64' | 'ptr';

/** A fixed `char name[N]` array. */
export type CharArrayType = `char[${number}]`;

/** Any field type a struct codec understands. */
export type FieldType = ScalarType | CharArrayType;

/**
 * How {@link StructCodec.format} prints an integer field: `dec` (default), `hex` (`%#x`, so 0 prints `0`), `ptr`
 * (`NULL` or `0x...`, the default for `ptr` fields; use it for a pointer carried in a `__u64`), or a function
 * (e.g. a flag formatter). Char arrays always print as a quoted C string.
 */
export type FieldFormat = 'dec' | 'hex' | 'ptr' | ((value: number | bigint) => string);

/** One field: `[name, type]` or `[name, type, format]`, in declaration order. */
export type FieldDef =
  | readonly [name: string, type: FieldType]
  | readonly [name: string, type: FieldType, format: FieldFormat];

/** The decoded TypeScript type of a field type: `bigint` for 64-bit integers, `string` for char arrays. */
export type FieldValue<FT extends FieldType> = FT extends 'u64' | 's64'
  ? bigint
  : FT extends CharArrayType
    ? string
    : number;

/** The decoded object type described by a list of field definitions. */
export type StructValue<F extends readonly FieldDef[]> = {
  [D in F[number] as D[0]]: FieldValue<D[1]>;
};

/** What a field of decoded type `V` accepts when encoding. */
export type EncodeFieldInput<V> = V extends bigint
  ? bigint | number
  : V extends string
    ? string | Uint8Array
    : V;

/**
 * Input of {@link StructCodec.encode}: every field optional (missing fields encode as 0), 64-bit fields take a
 * `number` or a `bigint`, char arrays take a string (UTF-8) or raw bytes.
 */
export type EncodeInput<T> = { [K in keyof T]?: EncodeFieldInput<T[K]> | undefined };

/** The decoded type of a codec: `StructOf<typeof iio_dmabuf>`. */
export type StructOf<C> = C extends StructCodec<infer T> ? T : never;

/** Where one field sits in one ABI. */
export interface FieldLayout {
  /** Field name in kernel spelling. */
  readonly name: string;
  /** Field type. */
  readonly type: FieldType;
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** Byte size of the field. */
  readonly size: number;
  /** Alignment of the field in this ABI. */
  readonly align: number;
}

/** Encoder/decoder for one kernel struct in both ABIs. */
export interface StructCodec<T> {
  /** Kernel struct name, e.g. `iio_dmabuf`. */
  readonly name: string;
  /** Field names in declaration order. */
  readonly fieldNames: readonly (keyof T & string)[];
  /** `sizeof(struct name)` in an ABI (rounded up to the struct's alignment). */
  size(abi: Abi): number;
  /** `_Alignof(struct name)` in an ABI. */
  align(abi: Abi): number;
  /** `offsetof(struct name, field)` in an ABI. */
  offsetOf(field: keyof T & string, abi: Abi): number;
  /** Every field's offset, size and alignment in an ABI. */
  layout(abi: Abi): readonly FieldLayout[];
  /** Reads a struct from the first `size(abi)` bytes; throws a `RangeError` if `bytes` is shorter. */
  decode(bytes: Uint8Array, abi: Abi): T;
  /** Builds the `size(abi)` bytes of a struct; missing fields are 0 and integers truncate like a C assignment. */
  encode(value: EncodeInput<T>, abi: Abi): Uint8Array;
  /**
   * {@link StructCodec.encode} into bytes the codecs share, valid until the next encode or decode: for a
   * caller that copies them out at once (into a process's memory), without a new array per struct.
   */
  encodeTransient(value: EncodeInput<T>, abi: Abi): Uint8Array;
  /** strace-like rendering, e.g. `{fd=5, flags=0, bytes_used=32768}`. */
  format(value: T): string;
}

/**
 * A codec of some struct, for code that handles structs without knowing which (the ioctl table, strace):
 * every {@link StructCodec} is one. Decoded values are `unknown`; {@link StructCodec.format} accepts them.
 */
export type AnyStructCodec = Omit<StructCodec<unknown>, 'fieldNames'> & {
  readonly fieldNames: readonly string[];
};

/** Options of {@link defineStruct}. */
export interface StructOptions {
  /**
   * A flexible array member (`struct item list[];`) follows the fixed fields: it adds nothing to the size but its
   * element alignment counts toward the struct's alignment, as in C.
   */
  readonly flexibleArrayOf?: Pick<StructCodec<unknown>, 'align'>;
}

/** `FieldDef` whose names and types fit an explicitly given decoded type `T`. */
export type FieldDefFor<T> = {
  [K in keyof T & string]: readonly [K, FieldTypeFor<T[K]>] | readonly [K, FieldTypeFor<T[K]>, FieldFormat];
}[keyof T & string];

/** Field types that decode to `V`. */
export type FieldTypeFor<V> = V extends bigint
  ? 'u64' | 's64'
  : V extends string
    ? CharArrayType
    : Exclude<ScalarType, 'u64' | 's64'>;

interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly format: FieldFormat;
  /** Char array length, or 0 for integers. */
  readonly chars: number;
}

interface AbiLayout {
  readonly fields: readonly FieldLayout[];
  readonly byName: ReadonlyMap<string, FieldLayout>;
  readonly size: number;
  readonly align: number;
}

const CHAR_ARRAY_RE = /^char\[(\d+)\]$/;

function scalarSizeAlign(type: ScalarType, abi: Abi): [size: number, align: number] {
  switch (type) {
    case 'u8':
    case 's8':
      return [1, 1];
    case 'u16':
    case 's16':
      return [2, 2];
    case 'u32':
    case 's32':
      return [4, 4];
    case 'u64':
    case 's64':
      return [8, abi === 'lp64' ? 8 : 4];
    case 'ptr':
      return abi === 'lp64' ? [8, 8] : [4, 4];
  }
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

function computeLayout(specs: readonly FieldSpec[], abi: Abi, options: StructOptions | undefined): AbiLayout {
  let offset = 0;
  let structAlign = 1;
  const fields: FieldLayout[] = [];
  for (const spec of specs) {
    const [size, align] = spec.chars > 0 ? [spec.chars, 1] : scalarSizeAlign(spec.type as ScalarType, abi);
    offset = alignUp(offset, align);
    fields.push({ name: spec.name, type: spec.type, offset, size, align });
    offset += size;
    structAlign = Math.max(structAlign, align);
  }
  if (options?.flexibleArrayOf) {
    const elemAlign = options.flexibleArrayOf.align(abi);
    offset = alignUp(offset, elemAlign);
    structAlign = Math.max(structAlign, elemAlign);
  }
  return {
    fields,
    byName: new Map(fields.map((f) => [f.name, f])),
    size: alignUp(offset, structAlign),
    align: structAlign,
  };
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function toU64(v: unknown): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt.asUintN(64, BigInt(Math.trunc(v))) : 0n;
  return 0n;
}

/** A u64 field: a safe non-negative number as two u32 halves (no BigInt on the common path), else {@link toU64}. */
function writeU64(view: DataView, o: number, v: unknown): void {
  if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
    const t = Math.trunc(v);
    view.setUint32(o, t >>> 0, true);
    view.setUint32(o + 4, Math.floor(t / 0x1_0000_0000), true);
  } else view.setBigUint64(o, toU64(v), true);
}

/**
 * Where small structs are encoded and decoded: a small Uint8Array lives on V8's heap until something asks
 * for its `.buffer`, and a DataView over it would move it to an ArrayBuffer of its own (a malloc and a
 * sweep per ioctl argument). Encoding and decoding are synchronous, so one scratch serves every codec.
 */
const SCRATCH_BYTES = 256;
const scratch = new Uint8Array(SCRATCH_BYTES);
const scratchView = new DataView(scratch.buffer);
let scratchBusy = false;
/** `scratch.subarray(0, n)` for every n, made once (see {@link StructCodec.encodeTransient}). */
const scratchViews = Array.from({ length: SCRATCH_BYTES + 1 }, (_, n) => scratch.subarray(0, n));

function toU32(v: unknown): number {
  if (typeof v === 'bigint') return Number(BigInt.asUintN(32, v));
  if (typeof v === 'number') return v >>> 0;
  return 0;
}

function readField(view: DataView, bytes: Uint8Array, f: FieldLayout, abi: Abi): number | bigint | string {
  const o = f.offset;
  switch (f.type) {
    case 'u8':
      return view.getUint8(o);
    case 's8':
      return view.getInt8(o);
    case 'u16':
      return view.getUint16(o, true);
    case 's16':
      return view.getInt16(o, true);
    case 'u32':
      return view.getUint32(o, true);
    case 's32':
      return view.getInt32(o, true);
    case 'u64':
      return view.getBigUint64(o, true);
    case 's64':
      return view.getBigInt64(o, true);
    case 'ptr':
      return abi === 'lp64' ? Number(view.getBigUint64(o, true)) : view.getUint32(o, true);
    default: {
      const raw = bytes.subarray(o, o + f.size);
      const nul = raw.indexOf(0);
      return utf8Decoder.decode(nul < 0 ? raw : raw.subarray(0, nul));
    }
  }
}

function writeField(view: DataView, bytes: Uint8Array, f: FieldLayout, v: unknown, abi: Abi): void {
  const o = f.offset;
  switch (f.type) {
    case 'u8':
    case 's8':
      view.setUint8(o, toU32(v) & 0xff);
      return;
    case 'u16':
    case 's16':
      view.setUint16(o, toU32(v) & 0xffff, true);
      return;
    case 'u32':
    case 's32':
      view.setUint32(o, toU32(v), true);
      return;
    case 'u64':
    case 's64':
      writeU64(view, o, v);
      return;
    case 'ptr':
      if (abi === 'lp64') writeU64(view, o, v);
      else view.setUint32(o, toU32(v), true);
      return;
    default: {
      const src = typeof v === 'string' ? utf8Encoder.encode(v) : v instanceof Uint8Array ? v : undefined;
      if (src) bytes.set(src.subarray(0, f.size), o);
    }
  }
}

/**
 * Encodes `value` with layout `l`: into the shared scratch (returned whole) when it is free and large enough,
 * else into a new array of the struct's size.
 */
function encodeInto(l: AbiLayout, value: Record<string, unknown>, abi: Abi): Uint8Array {
  // A getter of `value` may encode another struct: that inner call uses arrays of its own.
  const small = l.size <= SCRATCH_BYTES && !scratchBusy;
  const bytes = small ? scratch.fill(0, 0, l.size) : new Uint8Array(l.size);
  const view = small ? scratchView : new DataView(bytes.buffer);
  if (small) scratchBusy = true;
  try {
    for (const f of l.fields) {
      const v = value[f.name];
      if (v !== undefined) writeField(view, bytes, f, v, abi);
    }
  } finally {
    if (small) scratchBusy = false;
  }
  return bytes;
}

/** C-style quoting of a char array for strace-like output. */
export function quoteCString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\${c.toString(8)}`;
    else out += ch;
  }
  return `${out}"`;
}

function formatField(spec: FieldSpec, v: unknown): string {
  if (spec.chars > 0) return quoteCString(typeof v === 'string' ? v : '');
  const n = typeof v === 'number' || typeof v === 'bigint' ? v : 0;
  if (typeof spec.format === 'function') return spec.format(n);
  switch (spec.format) {
    case 'ptr':
      return n === 0 || n === 0n ? 'NULL' : `0x${n.toString(16)}`;
    case 'hex':
      return n === 0 || n === 0n ? '0' : `0x${n.toString(16)}`;
    default:
      return n.toString();
  }
}

/**
 * Defines a codec for a kernel struct from its fields in declaration order, e.g.
 * `defineStruct('iio_dmabuf', [['fd', 'u32'], ['flags', 'u32'], ['bytes_used', 'u64']])`.
 * The decoded type is inferred from the field list, or given explicitly as `defineStruct<T>(...)`.
 * Throws a `TypeError` on a malformed definition (no fields, a duplicate name, a bad char array length).
 */
export function defineStruct<const F extends readonly FieldDef[]>(
  name: string,
  fields: F,
  options?: StructOptions,
): StructCodec<StructValue<F>>;
/** Explicitly typed form: `defineStruct<MyStruct>('my_struct', [...])`. */
export function defineStruct<T>(
  name: string,
  fields: readonly FieldDefFor<T>[],
  options?: StructOptions,
): StructCodec<T>;
export function defineStruct<T>(
  name: string,
  fields: readonly FieldDef[],
  options?: StructOptions,
): StructCodec<T> {
  if (fields.length === 0) throw new TypeError(`struct ${name}: no fields`);
  const specs: FieldSpec[] = [];
  const seen = new Set<string>();
  for (const def of fields) {
    const [fieldName, type] = def;
    if (seen.has(fieldName)) throw new TypeError(`struct ${name}: duplicate field ${fieldName}`);
    seen.add(fieldName);
    const m = CHAR_ARRAY_RE.exec(type);
    const chars = m ? Number(m[1]) : 0;
    if (m && chars < 1) throw new TypeError(`struct ${name}: ${fieldName} has a zero-length char array`);
    const format: FieldFormat = def[2] ?? (type === 'ptr' ? 'ptr' : 'dec');
    specs.push({ name: fieldName, type, format, chars });
  }
  const layouts: Record<Abi, AbiLayout> = {
    lp64: computeLayout(specs, 'lp64', options),
    ilp32: computeLayout(specs, 'ilp32', options),
  };
  const fieldNames = specs.map((s) => s.name);

  const codec: StructCodec<Record<string, unknown>> = {
    name,
    fieldNames,
    size: (abi) => layouts[abi].size,
    align: (abi) => layouts[abi].align,
    offsetOf(field, abi) {
      const f = layouts[abi].byName.get(field);
      if (!f) throw new RangeError(`struct ${name} has no field ${field}`);
      return f.offset;
    },
    layout: (abi) => layouts[abi].fields,
    decode(bytes, abi) {
      const l = layouts[abi];
      if (bytes.length < l.size) {
        throw new RangeError(`struct ${name}: need ${l.size} bytes, got ${bytes.length}`);
      }
      const small = l.size <= SCRATCH_BYTES && !scratchBusy;
      if (small) scratch.set(bytes.length === l.size ? bytes : bytes.subarray(0, l.size));
      const src = small ? scratch : bytes;
      const view = small ? scratchView : new DataView(bytes.buffer, bytes.byteOffset, l.size);
      const out: Record<string, unknown> = {};
      for (const f of l.fields) out[f.name] = readField(view, src, f, abi);
      return out;
    },
    encode(value, abi) {
      const bytes = encodeInto(layouts[abi], value, abi);
      return bytes === scratch ? scratch.slice(0, layouts[abi].size) : bytes;
    },
    encodeTransient(value, abi) {
      const bytes = encodeInto(layouts[abi], value, abi);
      return bytes === scratch ? scratchViews[layouts[abi].size]! : bytes;
    },
    format(value) {
      return `{${specs.map((s) => `${s.name}=${formatField(s, value[s.name])}`).join(', ')}}`;
    },
  };
  return codec as unknown as StructCodec<T>;
}
