/**
 * Names a scenario may use for numbers: flags and commands in kernel spelling, and the uapi structs an
 * ioctl argument can be built from.
 */
import * as dmaBuf from '../uapi/dma-buf.ts';
import * as fcntl from '../uapi/fcntl.ts';
import * as iio from '../uapi/iio.ts';
import { IOCTLS } from '../uapi/ioctls.ts';
import * as mman from '../uapi/mman.ts';
import * as poll from '../uapi/poll.ts';
import type { StructCodec } from '../uapi/struct.ts';
import * as udmabuf from '../uapi/udmabuf.ts';

const FLAG_PREFIXES =
  /^(O_|F_|FD_|SEEK_|MFD_|PROT_|MAP_|POLL|EPOLL|DMA_BUF_SYNC_|IIO_BUFFER_DMABUF_CYCLIC$|UDMABUF_FLAGS_)/;

function collect(...mods: Record<string, unknown>[]): Record<string, number> {
  // No prototype: a name such as `toString` or `constructor` is no flag, whatever looks it up.
  const out: Record<string, number> = Object.create(null);
  for (const m of mods)
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && FLAG_PREFIXES.test(k)) out[k] = v;
  return out;
}

/** Flag and command names with their values (O_RDWR, PROT_READ, MAP_SHARED, POLLIN, F_GETFL, ...). */
export const FLAG_NAMES: Readonly<Record<string, number>> = collect(fcntl, mman, poll, dmaBuf, iio, udmabuf);

/** Structs no ioctl of the table takes that a scenario may still build: an event record. */
const OTHER_STRUCTS = [iio.iio_event_data];

/** The structs an ioctl argument may be built from, by kernel name: those of the ioctl table, then the others. */
export const STRUCTS: Readonly<Record<string, StructCodec<Record<string, unknown>>>> = Object.assign(
  Object.create(null),
  Object.fromEntries(
    [...IOCTLS.flatMap((d) => (d.arg.kind === 'struct' ? [d.arg.codec] : [])), ...OTHER_STRUCTS].map((c) => [
      c.name,
      c as unknown as StructCodec<Record<string, unknown>>,
    ]),
  ),
);

/** The value of a flag or command name, or undefined (only the table's own names: never `toString`). */
export function flagNamed(name: string): number | undefined {
  return Object.hasOwn(FLAG_NAMES, name) ? FLAG_NAMES[name] : undefined;
}

/** The value of a flags expression: a number, a name, `A|B`, hex or decimal text, or a list of those. */
export function flagValue(flags: number | string | readonly string[] | undefined): number {
  if (flags === undefined) return 0;
  if (typeof flags === 'number') return flags;
  const parts = typeof flags === 'string' ? flags.split('|').map((x) => x.trim()) : flags;
  let v = 0;
  for (const p of parts) {
    if (p === '') continue;
    const n = flagNamed(p) ?? (/^(0x[0-9a-f]+|\d+)$/i.test(p) ? Number(p) : Number.NaN);
    if (!Number.isFinite(n)) throw new Error(`unknown flag '${p}'`);
    v = (v | n) >>> 0;
  }
  return v;
}
