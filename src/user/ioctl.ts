/**
 * A user-space ioctl call built from the ioctl table (`uapi/ioctls.ts`): the argument is placed in the program's
 * memory as the entry describes it (an `int`, a struct in the process's ABI, a string), the request number is the
 * entry's, and what the kernel writes back is read out again. Every DMABUF and IIO helper goes through it.
 */
import type { Sys } from '../sim/process.ts';
import type { IoctlArg, IoctlDef, IoctlIntArg, IoctlStringArg, IoctlStructArg } from '../uapi/ioctls.ts';
import type { EncodeInput, StructCodec, StructOf } from '../uapi/struct.ts';

/** What an argument is given as: the struct's fields, the integer, the string, or nothing. */
export type IoctlArgValue<A extends IoctlArg> =
  A extends IoctlStructArg<infer C>
    ? EncodeInput<StructOf<C>>
    : A extends IoctlIntArg
      ? number
      : A extends IoctlStringArg
        ? string
        : undefined;

/** What an argument holds after the call: the decoded struct or the integer. */
export type IoctlArgOut<A extends IoctlArg> =
  A extends IoctlStructArg<infer C> ? StructOf<C> : A extends IoctlIntArg ? number : undefined;

/** The result of {@link callIoctl}. */
export interface IoctlResult<T> {
  /** The raw kernel result: >= 0, or a negative errno. */
  readonly ret: number;
  /** The argument as the kernel left it, for `out` and `inout` arguments of a call that succeeded. */
  readonly out: T | undefined;
}

type AnyStruct = Record<string, unknown>;

/**
 * Places `value` as an argument of kind `arg` in the program's argument block (`sys.mem.scratch`: the
 * same address on every call, as a C program's struct on its stack) and returns the third ioctl argument: its
 * address, or 0 when the request takes none.
 */
export function placeIoctlArg(sys: Sys, arg: IoctlArg, value: unknown): number {
  const mem = sys.mem;
  switch (arg.kind) {
    case 'struct': {
      const codec = arg.codec as StructCodec<AnyStruct>;
      const addr = mem.scratch(codec.size(mem.abi));
      mem.writeStruct(addr, codec, (value ?? {}) as EncodeInput<AnyStruct>);
      return addr;
    }
    case 'int': {
      const addr = mem.scratch(arg.bytes ?? 4);
      if (arg.bytes === 8) {
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setBigInt64(0, BigInt(Number(value ?? 0)), true);
        mem.write(addr, bytes);
      } else mem.writeInt(addr, Number(value ?? 0));
      return addr;
    }
    case 'string': {
      const bytes = new TextEncoder().encode(`${String(value ?? '')}\0`);
      const addr = mem.scratch(bytes.length);
      mem.write(addr, bytes);
      return addr;
    }
    case 'none':
      return 0;
  }
}

/** Reads back an argument of kind `arg` placed at `addr`: the decoded struct or the integer. */
export function readIoctlArg(sys: Sys, arg: IoctlArg, addr: number): unknown {
  switch (arg.kind) {
    case 'struct':
      return sys.mem.readStruct(addr, arg.codec as StructCodec<AnyStruct>);
    case 'int': {
      if (arg.bytes !== 8) return sys.mem.readInt(addr);
      const b = sys.mem.read(addr, 8);
      return Number(new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true));
    }
    default:
      return undefined;
  }
}

/**
 * `ioctl(fd, def.request, &value)`, marshalled as the table entry `def` says, e.g.
 * `callIoctl(sys, heapFd, ioctlDef('DMA_HEAP_IOCTL_ALLOC'), { len: 4096, fd_flags: O_RDWR })`. Resolves to the
 * raw result and, when the call succeeded and the kernel writes the argument back, its new value. The
 * argument lives in the program's argument block, the same for every call: a loop of calls keeps the
 * program's memory flat.
 */
export async function callIoctl<D extends IoctlDef>(
  sys: Sys,
  fd: number,
  def: D,
  value: IoctlArgValue<D['arg']>,
): Promise<IoctlResult<IoctlArgOut<D['arg']>>> {
  const addr = placeIoctlArg(sys, def.arg, value);
  const ret = await sys.ioctl(fd, def.request, addr);
  const writesBack = 'dir' in def.arg && def.arg.dir !== 'in';
  const out = ret >= 0 && writesBack ? readIoctlArg(sys, def.arg, addr) : undefined;
  return { ret, out: out as IoctlArgOut<D['arg']> | undefined };
}

/**
 * `ioctl(fd, def.request, &value)` for a request whose argument the kernel only reads (or that takes none):
 * resolves to the raw result. {@link callIoctl} without its result object and the await around the call, for
 * the calls a capture loop makes per block (SYNC, ENQUEUE). A caller's type error rejects, as from callIoctl.
 */
export function callIoctlIn<D extends IoctlDef>(
  sys: Sys,
  fd: number,
  def: D,
  value: IoctlArgValue<D['arg']>,
): Promise<number> {
  try {
    return sys.ioctl(fd, def.request, placeIoctlArg(sys, def.arg, value));
  } catch (e) {
    return Promise.reject(e);
  }
}
