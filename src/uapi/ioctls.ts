/**
 * The ioctl table: every ioctl the simulator knows, described once. An entry gives the kernel name, the request
 * number, the ABI profiles whose kernel knows it, the file it is meant for and its argument (codec and direction).
 * Request names and numbers (`./names.ts`), the strace decoder, the structs a scenario may build, the requests the
 * fuzzer and the contract commands send and the user-space ioctl helper are all derived from it. The kernel keeps
 * its own `switch` over the header constants, as the kernel does. Rulebook §1.3, §1.5.
 *
 * The numbers come from the headers (`./iio.ts`, `./iio-v2.ts`, `./dma-buf.ts`, ...), where they are spelled
 * `_IOW('i', 0x94, struct iio_dmabuf)` as in C; {@link defineIoctl} checks that an entry's argument agrees with the
 * direction and size its number encodes.
 *
 * @packageDocumentation
 */

import * as dmaBuf from './dma-buf.ts';
import * as dmaHeap from './dma-heap.ts';
import * as iio from './iio.ts';
import * as v2 from './iio-v2.ts';
import {
  _IOC_DIR,
  _IOC_NONE,
  _IOC_READ,
  _IOC_SIZE,
  _IOC_WRITE,
  FIOASYNC,
  FIOCLEX,
  FIONBIO,
  FIONCLEX,
  FIONREAD,
  FIOQSIZE,
} from './ioctl.ts';
import type { AnyStructCodec } from './struct.ts';
import { SIZEOF_INT } from './struct.ts';
import * as syncFile from './sync-file.ts';
import * as udmabuf from './udmabuf.ts';

/** Every ABI profile, mainline first. */
export const ABI_PROFILES = ['mainline', 'v2'] as const;

/** Which kernel's ioctls apply: Linux 7.3 (`mainline`) or 5.17 plus the 2022 v2 DMABUF series (`v2`). */
export type AbiProfile = (typeof ABI_PROFILES)[number];

/**
 * Which way the argument's memory travels: `in` the kernel reads it (`_IOW`), `out` the kernel writes it
 * (`_IOR`), `inout` both (`_IOWR`).
 */
export type IoctlDir = 'in' | 'out' | 'inout';

/**
 * The file a request is meant for, as the kernel names it: `/dev/iio:deviceN`, `anon_inode:iio:buffer`, a
 * dma-buf, `/dev/dma_heap/<name>`, `/dev/udmabuf`, `anon_inode:sync_file`, or `any` file (the VFS serves the
 * request before the driver sees it).
 */
export type IoctlFile = 'iio:device' | 'iio:buffer' | 'dmabuf' | 'dma_heap' | 'udmabuf' | 'sync_file' | 'any';

/** The argument points to a struct, laid out by `codec` in the caller's ABI. */
export interface IoctlStructArg<C extends AnyStructCodec = AnyStructCodec> {
  readonly kind: 'struct';
  /** Codec of the struct (for a flexible array, of its head). */
  readonly codec: C;
  /** Which way it travels. */
  readonly dir: IoctlDir;
}

/** The argument points to an integer: a C `int`, or an 8-byte `loff_t` when `bytes` is 8. */
export interface IoctlIntArg {
  readonly kind: 'int';
  /** Which way it travels. */
  readonly dir: IoctlDir;
  /** Its size when it is not an `int`. */
  readonly bytes?: 8;
}

/** The argument points to a NUL-terminated string the kernel reads (`DMA_BUF_SET_NAME`). */
export interface IoctlStringArg {
  readonly kind: 'string';
}

/** The request takes no argument: the third ioctl argument is ignored. */
export interface IoctlNoArg {
  readonly kind: 'none';
}

/** What the third ioctl argument is. */
export type IoctlArg = IoctlStructArg | IoctlIntArg | IoctlStringArg | IoctlNoArg;

/** One ioctl of the table. */
export interface IoctlDef<N extends string = string, A extends IoctlArg = IoctlArg> {
  /** Kernel name, e.g. `IIO_BUFFER_DMABUF_ENQUEUE_IOCTL`; a name may stand for another number in another profile. */
  readonly name: N;
  /** The request number: the header constant of the same name. */
  readonly request: number;
  /** The profiles whose kernel knows this request number under this name. */
  readonly profiles: readonly AbiProfile[];
  /** The file it is meant for. */
  readonly file: IoctlFile;
  /** What the third argument is. */
  readonly arg: A;
  /**
   * How strace shows the argument when not as `arg` says: `address`, as a plain pointer (what strace prints for a
   * request it cannot decode).
   */
  readonly strace?: 'address';
}

const DIR_BITS: Readonly<Record<IoctlDir, number>> = {
  in: _IOC_WRITE,
  out: _IOC_READ,
  inout: _IOC_READ | _IOC_WRITE,
};

/** The direction and size bits `arg` implies; a string's size is a pointer's, so it depends on the ABI. */
function encodedDirSize(arg: IoctlArg): [dir: number, size: number | null] {
  switch (arg.kind) {
    case 'struct':
      return [DIR_BITS[arg.dir], arg.codec.size('lp64')];
    case 'int':
      return [DIR_BITS[arg.dir], arg.bytes ?? SIZEOF_INT];
    case 'string':
      return [_IOC_WRITE, null];
    case 'none':
      return [_IOC_NONE, 0];
  }
}

/**
 * Defines one ioctl of the table (the request number comes from its header). Throws a `TypeError` on an entry
 * that contradicts its number: a direction or argument size other than the `_IOC` fields encode. Legacy numbers
 * such as `FIONBIO` (0x5421) encode neither, so nothing is checked for them.
 */
export function defineIoctl<const N extends string, const A extends IoctlArg>(
  def: IoctlDef<N, A>,
): IoctlDef<N, A> {
  const fail = (why: string) => new TypeError(`ioctl ${def.name} (0x${def.request.toString(16)}): ${why}`);
  if (def.profiles.length === 0) throw fail('no profile');
  const dir = _IOC_DIR(def.request);
  if (dir === _IOC_NONE) return def;
  const [wantDir, wantSize] = encodedDirSize(def.arg);
  if (dir !== wantDir) throw fail(`the number encodes direction ${dir}, the argument ${wantDir}`);
  if (wantSize !== null && _IOC_SIZE(def.request) !== wantSize)
    throw fail(`the number encodes size ${_IOC_SIZE(def.request)}, the argument is ${wantSize} bytes`);
  return def;
}

const ALL = ABI_PROFILES;
const MAINLINE = ['mainline'] as const;
const V2 = ['v2'] as const;

/**
 * Every ioctl the simulator knows. Order: those both profiles share, then mainline's own, then v2's. The fuzzer
 * picks requests by position in this list, so any change to it changes the programs a fuzz seed generates.
 */
export const IOCTLS = [
  defineIoctl({
    name: 'FIONREAD',
    request: FIONREAD,
    profiles: ALL,
    file: 'any',
    arg: { kind: 'int', dir: 'out' },
    strace: 'address',
  }),
  defineIoctl({
    name: 'FIONBIO',
    request: FIONBIO,
    profiles: ALL,
    file: 'any',
    arg: { kind: 'int', dir: 'in' },
  }),
  defineIoctl({
    name: 'FIONCLEX',
    request: FIONCLEX,
    profiles: ALL,
    file: 'any',
    arg: { kind: 'none' },
    strace: 'address',
  }),
  defineIoctl({
    name: 'FIOCLEX',
    request: FIOCLEX,
    profiles: ALL,
    file: 'any',
    arg: { kind: 'none' },
    strace: 'address',
  }),
  defineIoctl({
    name: 'FIOASYNC',
    request: FIOASYNC,
    profiles: ALL,
    file: 'any',
    arg: { kind: 'int', dir: 'in' },
  }),
  defineIoctl({
    name: 'FIOQSIZE',
    request: FIOQSIZE,
    profiles: ALL,
    file: 'any',
    arg: { kind: 'int', dir: 'out', bytes: 8 },
    strace: 'address',
  }),
  defineIoctl({
    name: 'IIO_GET_EVENT_FD_IOCTL',
    request: iio.IIO_GET_EVENT_FD_IOCTL,
    profiles: ALL,
    file: 'iio:device',
    arg: { kind: 'int', dir: 'out' },
  }),
  defineIoctl({
    name: 'IIO_BUFFER_GET_FD_IOCTL',
    request: iio.IIO_BUFFER_GET_FD_IOCTL,
    profiles: ALL,
    file: 'iio:device',
    arg: { kind: 'int', dir: 'inout' },
  }),
  defineIoctl({
    name: 'DMA_BUF_IOCTL_SYNC',
    request: dmaBuf.DMA_BUF_IOCTL_SYNC,
    profiles: ALL,
    file: 'dmabuf',
    arg: { kind: 'struct', codec: dmaBuf.dma_buf_sync, dir: 'in' },
  }),
  defineIoctl({
    name: 'DMA_BUF_SET_NAME_A',
    request: dmaBuf.DMA_BUF_SET_NAME_A,
    profiles: ALL,
    file: 'dmabuf',
    arg: { kind: 'string' },
  }),
  defineIoctl({
    name: 'DMA_BUF_SET_NAME_B',
    request: dmaBuf.DMA_BUF_SET_NAME_B,
    profiles: ALL,
    file: 'dmabuf',
    arg: { kind: 'string' },
  }),
  defineIoctl({
    name: 'DMA_HEAP_IOCTL_ALLOC',
    request: dmaHeap.DMA_HEAP_IOCTL_ALLOC,
    profiles: ALL,
    file: 'dma_heap',
    arg: { kind: 'struct', codec: dmaHeap.dma_heap_allocation_data, dir: 'inout' },
  }),
  defineIoctl({
    name: 'UDMABUF_CREATE',
    request: udmabuf.UDMABUF_CREATE,
    profiles: ALL,
    file: 'udmabuf',
    arg: { kind: 'struct', codec: udmabuf.udmabuf_create, dir: 'in' },
  }),
  defineIoctl({
    name: 'UDMABUF_CREATE_LIST',
    request: udmabuf.UDMABUF_CREATE_LIST,
    profiles: ALL,
    file: 'udmabuf',
    arg: { kind: 'struct', codec: udmabuf.udmabuf_create_list, dir: 'in' },
    strace: 'address',
  }),
  defineIoctl({
    name: 'IIO_BUFFER_DMABUF_ATTACH_IOCTL',
    request: iio.IIO_BUFFER_DMABUF_ATTACH_IOCTL,
    profiles: MAINLINE,
    file: 'iio:buffer',
    arg: { kind: 'int', dir: 'in' },
  }),
  defineIoctl({
    name: 'IIO_BUFFER_DMABUF_DETACH_IOCTL',
    request: iio.IIO_BUFFER_DMABUF_DETACH_IOCTL,
    profiles: MAINLINE,
    file: 'iio:buffer',
    arg: { kind: 'int', dir: 'in' },
  }),
  defineIoctl({
    name: 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL',
    request: iio.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    profiles: MAINLINE,
    file: 'iio:buffer',
    arg: { kind: 'struct', codec: iio.iio_dmabuf, dir: 'in' },
  }),
  defineIoctl({
    name: 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE',
    request: dmaBuf.DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
    profiles: MAINLINE,
    file: 'dmabuf',
    arg: { kind: 'struct', codec: dmaBuf.dma_buf_export_sync_file, dir: 'inout' },
  }),
  defineIoctl({
    name: 'DMA_BUF_IOCTL_IMPORT_SYNC_FILE',
    request: dmaBuf.DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
    profiles: MAINLINE,
    file: 'dmabuf',
    arg: { kind: 'struct', codec: dmaBuf.dma_buf_import_sync_file, dir: 'in' },
  }),
  defineIoctl({
    name: 'SYNC_IOC_FILE_INFO',
    request: syncFile.SYNC_IOC_FILE_INFO,
    profiles: MAINLINE,
    file: 'sync_file',
    arg: { kind: 'struct', codec: syncFile.sync_file_info, dir: 'inout' },
  }),
  defineIoctl({
    name: 'IIO_BUFFER_DMABUF_ALLOC_IOCTL',
    request: v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
    profiles: V2,
    file: 'iio:buffer',
    arg: { kind: 'struct', codec: v2.iio_dmabuf_alloc_req, dir: 'in' },
  }),
  defineIoctl({
    name: 'IIO_BUFFER_DMABUF_ENQUEUE_IOCTL',
    request: v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
    profiles: V2,
    file: 'iio:buffer',
    arg: { kind: 'struct', codec: v2.iio_dmabuf, dir: 'in' },
  }),
] as const;

/** An entry of {@link IOCTLS}, with its argument's exact type. */
export type IoctlEntry = (typeof IOCTLS)[number];

/** Every name in {@link IOCTLS}. */
export type IoctlName = IoctlEntry['name'];

interface ProfileIndex {
  readonly list: readonly IoctlEntry[];
  readonly byRequest: ReadonlyMap<number, IoctlEntry>;
  readonly byName: ReadonlyMap<string, IoctlEntry>;
}

/** One profile's view of the table; a number or name defined twice in a profile is a table bug. */
function indexProfile(profile: AbiProfile): ProfileIndex {
  const list = IOCTLS.filter((d) => (d.profiles as readonly AbiProfile[]).includes(profile));
  const byRequest = new Map<number, IoctlEntry>();
  const byName = new Map<string, IoctlEntry>();
  for (const d of list) {
    if (byRequest.has(d.request) || byName.has(d.name))
      throw new TypeError(`ioctl ${d.name} (0x${d.request.toString(16)}) is defined twice in ${profile}`);
    byRequest.set(d.request, d);
    byName.set(d.name, d);
  }
  return { list, byRequest, byName };
}

const INDEX = Object.fromEntries(ABI_PROFILES.map((p) => [p, indexProfile(p)])) as Readonly<
  Record<AbiProfile, ProfileIndex>
>;

/** The ioctls a profile's kernel knows, in table order. */
export function ioctlsOf(profile: AbiProfile): readonly IoctlEntry[] {
  return INDEX[profile].list;
}

/** The ioctl a request number stands for in a profile (all 32 bits must match, rulebook XPROF-1). */
export function ioctlByRequest(request: number, profile: AbiProfile): IoctlEntry | undefined {
  return INDEX[profile].byRequest.get(request >>> 0);
}

/** The ioctl a kernel name stands for in a profile. */
export function ioctlByName(name: string, profile: AbiProfile): IoctlEntry | undefined {
  return INDEX[profile].byName.get(name);
}

/**
 * The entry named `name`, typed: in `profile`, or, without one, the only entry of that name (ENQUEUE has one per
 * profile, so it needs the profile). Throws a `RangeError` when there is no such entry or more than one.
 */
export function ioctlDef<const N extends IoctlName>(
  name: N,
  profile?: AbiProfile,
): Extract<IoctlEntry, { readonly name: N }> {
  const found = IOCTLS.filter(
    (d) =>
      d.name === name && (profile === undefined || (d.profiles as readonly AbiProfile[]).includes(profile)),
  );
  if (found.length !== 1)
    throw new RangeError(
      `ioctl ${name}${profile ? ` in ${profile}` : ''}: ${found.length === 0 ? 'no such entry' : 'one per profile, give the profile'}`,
    );
  return found[0] as Extract<IoctlEntry, { readonly name: N }>;
}
